/*
 * cmd_plot.h - `fedsilo plot RUNDIR [--out FILE.png] [--size WxH]`: learning
 * curves of a run (RUNDIR/metrics.jsonl) rendered to a PNG with gnuplot.
 *
 * CLI layer; no MPI, no library state.  Returns the process exit status
 * (see cli.h): 0 success, 1 runtime failure (missing run directory or
 * metrics, no rounds, gnuplot missing or failing), 2 usage error.
 */
#ifndef FEDSILO_CMD_PLOT_H
#define FEDSILO_CMD_PLOT_H

int fs_cmd_plot(int argc, char **argv);     /* fedsilo plot RUNDIR          */

#endif

/*
 * cmd_stats.h - `fedsilo stats` (federated descriptive statistics) and
 * `fedsilo ridge` (exact federated ridge regression), both under
 * mpirun/srun with one rank per institution.  See docs/analytics.md.
 * Return the process exit status (0 success, 1 runtime failure, 2 usage).
 */
#ifndef FEDSILO_CMD_STATS_H
#define FEDSILO_CMD_STATS_H

int fs_cmd_stats(int argc, char **argv);   /* fedsilo stats (MPI) */
int fs_cmd_ridge(int argc, char **argv);   /* fedsilo ridge (MPI) */

#endif

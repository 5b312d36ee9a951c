/*
 * progress.h - progress reporting for long phases of the fedsilo CLI
 * (import of 60 000 rows, split, plot rendering, local training rounds).
 *
 * CLI layer only.  Writes to stderr (so a command's summary on stdout stays
 * machine-readable), except `fedsilo train`'s per-round bar, which goes to
 * stdout with the round lines (cli_progress_begin_on).  Two display modes,
 * chosen once per phase from the stream it writes to:
 *
 *   bar    stderr is a terminal: one line redrawn in place ("\r") ten times
 *          a second by a ticker thread, so the elapsed time keeps moving
 *          even while the main thread is blocked inside a library call:
 *            import [#########.........]  1/2  reading images   3.1s  ETA 3.1s
 *   lines  stderr is a file or pipe (Slurm logs, CI): plain lines, one at
 *          each phase change and a heartbeat every FEDSILO_PROGRESS_INTERVAL
 *          seconds, so a log never fills with carriage returns:
 *            fedsilo import: 1/2 (50%) reading images; 3.1s elapsed, ETA 3.1s
 *
 * Nothing at all is printed for a phase that ends within
 * FEDSILO_PROGRESS_DELAY seconds (default 1), so quick commands stay quiet.
 *
 * Under an MPI launcher a rank's stdout is a pseudo-terminal even when
 * mpirun's output is redirected to a file, so there the bar is used only if
 * the launcher's own descriptor is a terminal too (see progress.c).
 *
 * Environment:
 *   FEDSILO_PROGRESS           auto (default) | bar | lines | off
 *   FEDSILO_PROGRESS_INTERVAL  seconds between heartbeat lines (default 10)
 *   FEDSILO_PROGRESS_DELAY     seconds before anything is shown (default 1)
 *
 * Every function is NULL-safe: cli_progress_begin returns NULL when progress
 * is off (or memory is short) and the other calls then do nothing, so a
 * caller never has to test.  Call cli_progress_end before printing an error
 * message, so the message does not land in the middle of a bar.
 */
#ifndef FEDSILO_CLI_PROGRESS_H
#define FEDSILO_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct cli_progress cli_progress;

/*
 * cli_progress_begin - start reporting a phase named `label` (usually the
 * subcommand) of `total` units (0: unknown, shown as elapsed time only);
 * `unit` names them in the display ("rows", NULL for bare counts).
 */
cli_progress *cli_progress_begin(const char *label, uint64_t total, const char *unit);

/*
 * cli_progress_begin_on - the same on another stream (`fedsilo train` draws
 * its local-training bar on stdout, where its round lines go, so the two
 * never interleave mid-line).  The mode is chosen from `out` (a terminal:
 * bar).  transient != 0: the phase is one of many (a round), so the end
 * erases the bar and prints no "done" line.
 */
cli_progress *cli_progress_begin_on(FILE *out, int transient, const char *label, uint64_t total,
                                    const char *unit);

/* cli_progress_set - `done` units are complete (absolute, clamped to total). */
void cli_progress_set(cli_progress *p, uint64_t done);

/*
 * cli_progress_phase - `done` units are complete and the work now in progress
 * is described by the printf-style text (e.g. "writing %s").  In lines mode
 * a phase change prints a line (once the delay has passed).
 */
void cli_progress_phase(cli_progress *p, uint64_t done, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * cli_progress_end - stop the ticker, finish the display (a final 100% bar
 * or a "done in 6.9s" line, only if anything was shown) and free *p.
 * ok == 0 reports "failed after ...".  Sets *p = NULL.
 */
void cli_progress_end(cli_progress **p, int ok);

#endif

/*
 * cli.h - the fedsilo command-line tool: subcommand entry points and the
 * helpers they share.
 *
 * CLI layer: the only code that owns argv, stdout, exit status and the MPI
 * process lifetime.  Each fs_cmd_* receives the arguments after the
 * subcommand name (argv[0] is the subcommand) and returns the process exit
 * status: 0 success, 1 runtime failure (message already printed to stderr
 * as "fedsilo <cmd>: error: ..."), 2 usage error (bad/unknown flag, bad
 * option or configuration), 3 interrupted after a clean checkpoint
 * (walltime signal).  Uses only the public API (<fedsilo.h>).
 */
#ifndef FEDSILO_CLI_H
#define FEDSILO_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <mpi.h>
#include <fedsilo.h>

#define FS_EXIT_OK 0
#define FS_EXIT_FAIL 1
#define FS_EXIT_USAGE 2
#define FS_EXIT_INTERRUPTED 3

int fs_cmd_import(int argc, char **argv);     /* fedsilo import idx|csv ...  (cmd_data.c) */
int fs_cmd_split(int argc, char **argv);      /* fedsilo split ...                        */
int fs_cmd_inspect(int argc, char **argv);    /* fedsilo inspect FILE                     */
int fs_cmd_vfl_split(int argc, char **argv);  /* fedsilo vfl-split (= split --vertical)   */
int fs_cmd_train(int argc, char **argv);      /* fedsilo train (MPI)     (cmd_train.c)    */
int fs_cmd_eval(int argc, char **argv);       /* fedsilo eval                             */
int fs_cmd_predict(int argc, char **argv);    /* fedsilo predict (no MPI)                 */
int fs_cmd_export(int argc, char **argv);     /* fedsilo export (no MPI)                  */
int fs_cmd_keygen(int argc, char **argv);     /* fedsilo keygen          (cmd_keygen.c)   */
int fs_cmd_bench(int argc, char **argv);      /* fedsilo bench secsum (MPI) (cmd_bench.c) */
int fs_cmd_plot(int argc, char **argv);       /* fedsilo plot RUNDIR     (cmd_plot.c)     */
int fs_cmd_dp(int argc, char **argv);         /* fedsilo dp epsilon|calibrate (cmd_dp.c)  */
int fs_cmd_stats(int argc, char **argv);      /* fedsilo stats (MPI)     (cmd_stats.c)    */
int fs_cmd_ridge(int argc, char **argv);      /* fedsilo ridge (MPI)                      */
int fs_cmd_vfl_train(int argc, char **argv);  /* fedsilo vfl-train (MPI) (cmd_vfl.c)      */
int fs_cmd_psi(int argc, char **argv);        /* fedsilo psi (MPI)                        */

/* Print "fedsilo <cmd>: error: <msg>" to stderr; returns FS_EXIT_FAIL. */
int fs_cli_fail(const char *cmd, const char *fmt, ...) FS_PRINTF(2, 3);
/* Print "fedsilo <cmd>: <msg>\nTry 'fedsilo <cmd> --help'."; returns FS_EXIT_USAGE. */
int fs_cli_usage_error(const char *cmd, const char *fmt, ...) FS_PRINTF(2, 3);

/* The exit status of a library outcome: 0, 2 (FS_ERR_ARG), 3 (interrupted), 1. */
int fs_cli_exit_status(fs_err rc);

// ---------------------------------------------------------------- options (cli_opts.c)

/*
 * fs_cli_parse_config - the one option parser of the table-driven commands
 * (train, stats, ridge, vfl-train, psi, dp): `--help`/`-h` anywhere prints
 * usage(stdout) and returns 0; every `--config FILE` is applied first, then
 * every `--key value`, `--key=value` or bare yes/no flag in command-line
 * order; `--quiet` sets *quiet (may be NULL: then it is an unknown option).
 * Arguments start at argv[1].  Returns -1 to go on, or the exit status
 * (0 after help, 2 after a usage error, already printed).
 */
int fs_cli_parse_config(const char *cmd, int argc, char **argv, fs_config *cfg, int *quiet,
                        void (*usage)(FILE *out, const fs_config *cfg));

/* Shared number parsing: the whole string, finite, in range; 0 or -1. */
int fs_cli_parse_u64(const char *s, uint64_t *out);
int fs_cli_parse_long(const char *s, long lo, long hi, long *out);
int fs_cli_parse_double(const char *s, double *out);

/* For getopt_long loops: report the rejected option (c == ':' missing
 * argument, else unknown); returns FS_EXIT_USAGE. */
int fs_cli_bad_option(const char *cmd, int c, char **argv);
/* Reset getopt so each subcommand parses its own vector from the start. */
void fs_cli_getopt_reset(void);

// ---------------------------------------------------------------- MPI lifecycle (cli_mpi.c)

/*
 * One MPI process lifetime of an MPI subcommand: MPI_Init (threads = 1:
 * MPI_THREAD_FUNNELED for train, whose watchdog and progress threads never
 * call MPI; threads = 2: MPI_THREAD_MULTIPLE, for --site-rendezvous, whose
 * deadline thread may unpublish the rendezvous name), the
 * rank-prefixed log handler ("fedsilo[rank R]: level: ..." on stderr,
 * messages below `level` dropped), a private duplicate of MPI_COMM_WORLD
 * with MPI_ERRORS_RETURN for the command's own collectives, and at the end
 * the exit-status mapping: rank 0 prints the agreed error, an interrupted
 * run is reported without "error:", and a broken communicator (FS_ERR_MPI)
 * aborts the job (every rank prints) instead of waiting for peers.
 */
typedef struct {
    const char *cmd;
    int rank, size;
    MPI_Comm comm;     /* private, MPI_ERRORS_RETURN                        */
    fs_config *cfg;    /* the command's configuration (fs_cli_mpi_begin)    */
    fs_opts o;         /* its typed options, for the command's own lines    */
    int quiet;         /* --quiet                                           */
    int site_lead;     /* world rank 0 of one site's job (--site-rendezvous):
                          prints the agreed error for its site, as rank 0 does */
} fs_cli_mpi;

/*
 * fs_cli_watchdog_start - start the --timeout watchdog thread of this
 * process's run (once; timeout <= 0: none): a rank whose run (ctl, which
 * must live until the process ends) records no progress for `timeout`
 * seconds prints "fedsilo CMD: error: rank R: no progress for T s in PHASE"
 * and exits with status 1.  The thread never calls MPI (MPI_THREAD_FUNNELED
 * suffices).  Rank-local, not collective.
 */
void fs_cli_watchdog_start(const fs_cli_mpi *m, fs_run_ctl *ctl, long timeout);

/*
 * fs_cli_watch - a run control for a command's library run (*ctl, kept
 * until the process ends: the watchdog reads it) and its --timeout
 * watchdog (m->o.fed.timeout).  Collective on m->comm (the allocation's
 * outcome is agreed); returns the same code on every rank.
 */
fs_err fs_cli_watch(fs_cli_mpi *m, fs_run_ctl **ctl);

/* Returns 0, or an exit status (already printed) if MPI could not start. */
int fs_cli_mpi_start(fs_cli_mpi *m, const char *cmd, int *argc, char ***argv, int threads,
                     fs_log_level level);

/*
 * fs_cli_mpi_begin - the start of a table-driven MPI command: the
 * configuration of `command` from argv (fs_cli_parse_config; --quiet is an
 * option when quiet_ok), its typed options in m->o, then fs_cli_mpi_start.
 * Option errors, and for every command but train an invalid combination of
 * options (fs_opts_check), are usage errors found identically on every rank
 * (same argv), so every rank exits with status 2 before MPI starts.  Train
 * refuses an invalid combination inside its run instead, agreed on every
 * rank ("rank 0: ..."), with its other start-up errors.
 * Returns -1 to go on, or the exit status (help, usage error, no MPI).
 */
int fs_cli_mpi_begin(fs_cli_mpi *m, const char *cmd, fs_command command, int *argc, char ***argv,
                     int quiet_ok, void (*usage)(FILE *out, const fs_config *cfg), int threads,
                     fs_log_level level);

/*
 * One job per site (cli_site.c, docs/hpc.md "One job per site"): the options
 * --site-rendezvous SERVICE, --site NAME[,NAME...] and --site-timeout SECONDS
 * that every MPI command (train, stats, ridge, vfl-train, psi) takes before
 * its own options are parsed.  rendezvous is NULL when not given.
 */
typedef struct {
    const char *rendezvous;   /* service name on the ompi-server            */
    const char *names;        /* this job's roster names, one per rank      */
    long timeout;             /* seconds until a missing site ends the wait */
} fs_cli_site;

/*
 * fs_cli_site_take - remove the --site-* options from argv (in place) into
 * *s.  Returns -1 to go on, or FS_EXIT_USAGE (printed) for a missing or
 * invalid value, or --site-rendezvous without --site (or the reverse).
 */
int fs_cli_site_take(const char *cmd, int *argc, char **argv, fs_cli_site *s);

/* The --help lines of the --site-* options. */
void fs_cli_site_help(FILE *out);

/*
 * fs_cli_site_join - collective over every rank of every site of the
 * federation: join the other sites' jobs (MPI_Open_port/Publish_name on the
 * site of the roster's first member, MPI_Lookup_name/Comm_connect on the
 * others, MPI_Comm_accept/Intercomm_merge one site at a time), then
 * replace m->comm by the MPI_Comm_split of all of them with key = member
 * index (roster order without `exclude`, a comma-separated list of names),
 * and set m->rank/m->size to it: the same rank order as one job of all
 * members.  A site missing after s->timeout seconds ends every waiting
 * process with status 1 and a message naming it (a thread: MPI has no
 * timeout here).  Returns 0, or the exit status after printing (2: bad
 * --site for this roster; 1: MPI failure or two sites claiming one name).
 */
int fs_cli_site_join(fs_cli_mpi *m, const fs_cli_site *s, const char *roster_path,
                     const char *exclude);

/* Report rc as above, free m->cfg, finalize (or abort), return the exit status. */
int fs_cli_mpi_finish(fs_cli_mpi *m, fs_err rc);

/* `fedsilo schema draft|check` and the schema half of `import csv --schema`
 * (cmd_schema.c; no MPI). */
int fs_cmd_schema(int argc, char **argv);   /* fedsilo schema draft|check ... */
/* Parse a --delimiter argument into *out: FS_EXIT_OK, or FS_EXIT_USAGE
 * after printing the usage error of cmd. */
int fs_cli_delimiter(const char *cmd, const char *arg, char *out);
/* Load the schema at schema_path and import input with it (FS_OK, or the
 * library's error with its message). */
fs_err fs_cli_import_schema(const char *input, const char *schema_path, char delim,
                            fs_dataset **out);
/* Print the one-line summary of a schema import of ds written to path. */
void fs_cli_import_schema_summary(const fs_dataset *ds, const char *path);

#endif

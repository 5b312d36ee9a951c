/*
 * cli.h - subcommand entry points of the fedsilo command-line tool.
 *
 * CLI layer: the only code that owns argv, stdout, exit status and
 * MPI_Init/MPI_Finalize.  Each fs_cmd_* receives the arguments after the
 * subcommand name (argv[0] is the subcommand) and returns the process exit
 * status: 0 success, 1 runtime failure (message already printed to stderr
 * as "fedsilo <cmd>: error: ..."), 2 usage error (bad/unknown flag),
 * 3 interrupted after a clean checkpoint (walltime signal).
 * Subcommands that need MPI call fs_cli_mpi_init()/fs_cli_mpi_finalize().
 * Uses only the public API (<fedsilo.h>).
 */
#ifndef FEDSILO_CLI_H
#define FEDSILO_CLI_H

#include <stdint.h>

#define FS_EXIT_OK 0
#define FS_EXIT_FAIL 1
#define FS_EXIT_USAGE 2
#define FS_EXIT_INTERRUPTED 3

int fs_cmd_import(int argc, char **argv);   /* fedsilo import idx|csv ...  */
int fs_cmd_split(int argc, char **argv);    /* fedsilo split ...           */
int fs_cmd_inspect(int argc, char **argv);  /* fedsilo inspect FILE        */
int fs_cmd_train(int argc, char **argv);    /* fedsilo train (MPI)         */
int fs_cmd_eval(int argc, char **argv);     /* fedsilo eval CKPT DATA      */
int fs_cmd_keygen(int argc, char **argv);   /* fedsilo keygen              */
int fs_cmd_bench(int argc, char **argv);    /* fedsilo bench secsum (MPI)  */

/* Print "fedsilo <cmd>: error: <msg>" to stderr; returns FS_EXIT_FAIL. */
int fs_cli_fail(const char *cmd, const char *fmt, ...);
/* Print "fedsilo <cmd>: <msg>\nTry 'fedsilo <cmd> --help'." ; returns FS_EXIT_USAGE. */
int fs_cli_usage_error(const char *cmd, const char *fmt, ...);

/* getopt_long helpers of the subcommands (fedsilo.c). */
/* Reset getopt so a subcommand parses its own vector from the start. */
void fs_cli_getopt_reset(void);
/* Report the option getopt_long rejected (c == ':' a missing argument,
 * else an unknown flag); returns FS_EXIT_USAGE. */
int fs_cli_bad_option(const char *cmd, int c, char **argv);
/* Parse a non-negative decimal integer (no sign, no trailing text): 0 or -1. */
int fs_cli_parse_u64(const char *s, uint64_t *out);

#endif

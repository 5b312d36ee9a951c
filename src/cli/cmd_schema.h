/*
 * cmd_schema.h - `fedsilo schema draft|check` and the schema half of
 * `fedsilo import csv --schema` (cmd_schema.c).  No MPI.  The fs_cmd_*
 * functions return the process exit status (0 success, 1 runtime failure or
 * a file that does not match, 2 usage).
 */
#ifndef FEDSILO_CMD_SCHEMA_H
#define FEDSILO_CMD_SCHEMA_H

#include <fedsilo.h>

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

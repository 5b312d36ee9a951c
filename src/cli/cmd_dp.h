/*
 * cmd_dp.h - `fedsilo dp`: privacy accounting from the command line.
 *
 * CLI layer.  fs_cmd_dp receives the arguments after "dp" (argv[0] is
 * "dp") and returns the exit status of cli.h (0, 1, 2).
 */
#ifndef FEDSILO_CMD_DP_H
#define FEDSILO_CMD_DP_H

int fs_cmd_dp(int argc, char **argv);   /* fedsilo dp epsilon|calibrate ... */

#endif

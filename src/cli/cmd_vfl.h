/*
 * cmd_vfl.h - vertical federated learning subcommands (cmd_vfl.c):
 *   fedsilo vfl-split   cut a dataset by feature columns into per-rank parts
 *                       (the same as `fedsilo split --vertical`)
 *   fedsilo vfl-train   vertical logistic/linear regression (under mpirun)
 *   fedsilo psi         private set intersection of id files (under mpirun)
 * Each returns the process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef FEDSILO_CMD_VFL_H
#define FEDSILO_CMD_VFL_H

int fs_cmd_vfl_split(int argc, char **argv);
/* The vertical split behind both `vfl-split` and `split --vertical`: cmd
 * ("vfl-split" or "split") names the command in messages and help; a
 * `--vertical` flag in argv is accepted and ignored.  Not collective (no MPI). */
int fs_cmd_split_vertical(const char *cmd, int argc, char **argv);
int fs_cmd_vfl_train(int argc, char **argv);
int fs_cmd_psi(int argc, char **argv);

#endif

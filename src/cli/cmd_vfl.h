/*
 * cmd_vfl.h - vertical federated learning subcommands (cmd_vfl.c):
 *   fedsilo vfl-split   cut a dataset by feature columns into per-rank parts
 *   fedsilo vfl-train   vertical logistic/linear regression (under mpirun)
 *   fedsilo psi         private set intersection of id files (under mpirun)
 * Each returns the process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef FEDSILO_CMD_VFL_H
#define FEDSILO_CMD_VFL_H

int fs_cmd_vfl_split(int argc, char **argv);
int fs_cmd_vfl_train(int argc, char **argv);
int fs_cmd_psi(int argc, char **argv);

#endif

/*
 * cmd_vfl.c - `fedsilo vfl-train` and `fedsilo psi`: vertical federated
 * learning from the command line (docs/vertical.md).  The vertical split
 * (`vfl-split`, `split --vertical`) is in cmd_data.c.
 *
 * Both parse the same argv on every rank with the option table (option
 * errors exit 2 on every rank before MPI starts), make one library call
 * (fs_vfl_run, fs_psi_run) and print on rank 0.
 */
#include <stdio.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"

static int cli_rank;

// ---------------------------------------------------------------- vfl-train

static void train_usage(FILE *out, const fs_config *cfg)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo vfl-train --data 'DIR/part-%%d.h5' [OPTIONS]\n\n"
        "Vertical federated training: rank k reads its feature block from the --data\n"
        "pattern with %%d replaced by k; every part has the same rows in the same order\n"
        "(see 'fedsilo vfl-split' and 'fedsilo psi').  Only the label rank's labels are used.\n"
        "Every feature rank encrypts its rows once under its own Paillier key; the label\n"
        "rank computes each feature rank's encrypted gradient, which only that rank can\n"
        "decrypt (the label rank decrypts nothing).  Partial scores reach the label rank\n"
        "masked so that it learns only their sum (with ONE feature rank: that rank's\n"
        "scores).  Every message between two ranks is sealed with AES-256-GCM under keys\n"
        "from the roster-authenticated key exchange (without a roster: encrypted but NOT\n"
        "authenticated).  Released: each feature rank learns its own gradient X_k^T r per\n"
        "batch, the label rank the total scores; every rank the loss, the test metric and\n"
        "the block sizes.  Details, and what a malicious rank can do: docs/vertical.md.\n\n");
    fs_config_print_help(cfg, out);
    fprintf(out,
        "  --config FILE        INI file of these options (flags override it)\n"
        "  --quiet              only the final line\n"
        "  --help               this text\n");
}

static void print_start(const fs_vfl_run_info *in, void *user)
{
    int quiet = *(const int *)user;
    if (cli_rank != 0 || quiet) return;
    const fs_vfl_opts *o = in->opts;
    printf("fedsilo vfl-train: %d ranks, %zu rows, model %s, labels on rank %d%s, "
           "Paillier %d bits%s; messages AES-256-GCM, %s\n", in->nranks, in->rows,
           o->model == FS_VFL_LOGISTIC ? "logistic" : "linear", o->label_rank,
           in->label_from_roster ? " (roster role = label)" : "", o->paillier_bits,
           o->paillier_bits < FS_PAILLIER_SECURE_BITS ? " (INSECURE test keys)" : "",
           o->roster_path && o->roster_path[0] ? "authenticated (roster)"
                                               : "NOT authenticated (no roster)");
    fflush(stdout);
}

static int vfl_logistic;

static void print_epoch(int epoch, double loss, double metric, void *user)
{
    int quiet = *(const int *)user;
    if (cli_rank != 0 || quiet) return;
    if (metric == metric)
        printf("epoch %d  train_loss %.5f  test_%s %.5f\n", epoch, loss,
               vfl_logistic ? "accuracy" : "rmse", metric);
    else
        printf("epoch %d  train_loss %.5f\n", epoch, loss);
    fflush(stdout);
}

int fs_cmd_vfl_train(int argc, char **argv)
{
    fs_cli_mpi mpi;
    fs_vfl_run_report rep;
    fs_run_ctl *ctl = NULL;
    int status = fs_cli_mpi_begin(&mpi, "vfl-train", FS_CMD_VFL_TRAIN, &argc, &argv, 1, train_usage,
                                  1, FS_LOG_WARN);
    if (status >= 0) return status;
    vfl_logistic = mpi.o.vfl.model == FS_VFL_LOGISTIC;
    cli_rank = mpi.rank;
    fs_err rc = fs_cli_watch(&mpi, &ctl);
    if (rc == FS_OK)
        rc = fs_vfl_run(mpi.comm, mpi.cfg, ctl, print_start, print_epoch, &mpi.quiet, &rep);
    if (rc == FS_OK && cli_rank == 0) {
        printf("paillier: %llu encryptions, %llu decryptions, %llu scalar multiplications; "
               "max per-rank Paillier time %.2f s of %.2f s (keys and upload %.2f s)\n",
               rep.n_encrypt, rep.n_decrypt, rep.n_scalar_mul, rep.paillier_seconds_max,
               rep.rep.seconds, rep.rep.setup_seconds);
        if (rep.rep.test_metric == rep.rep.test_metric)
            printf("final: train_loss %.6f  test_%s %.6f\n", rep.rep.train_loss,
                   vfl_logistic ? "accuracy" : "rmse", rep.rep.test_metric);
        else
            printf("final: train_loss %.6f\n", rep.rep.train_loss);
    }
    return fs_cli_mpi_finish(&mpi, rc);
}

// ---------------------------------------------------------------- psi

static void psi_usage(FILE *out, const fs_config *cfg)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo psi --ids 'DIR/ids-%%d.txt' --out 'DIR/aligned-%%d.csv'\n"
        "                               [--header] AUTH\n"
        "       mpirun -np N fedsilo psi --data 'DIR/site-%%d.h5' --out 'DIR/aligned-%%d.h5' AUTH\n"
        "  AUTH: --roster FILE --identity 'KEYS/site-%%d.key'  |  --insecure-no-auth yes\n\n"
        "Private set intersection of record ids: rank k reads its ids (%%d = k), finds the\n"
        "ids that EVERY rank holds, and writes its part of them in the same order on every\n"
        "rank (sorted by the id bytes): row t of every output names the same id.\n"
        "Released: every rank's number of ids and the intersection, to every rank; an\n"
        "observer of the MPI transport sees the numbers of ids and the intersection's\n"
        "size.  Nothing else for honest-but-curious ranks (DDH on ristretto255): no rank\n"
        "learns whether another particular rank holds one of its ids outside the\n"
        "intersection, nor partial-intersection sizes.  Colluding ranks can learn\n"
        "partial-intersection sizes; a deviating rank can probe ids it adds or shrink\n"
        "the result.\n"
        "See docs/vertical.md.\n\n");
    fs_config_print_help(cfg, out);
    fprintf(out,
        "  --config FILE        INI file of these options (flags override it)\n"
        "  --help               this text\n");
}

int fs_cmd_psi(int argc, char **argv)
{
    fs_cli_mpi mpi;
    fs_psi_run_report rep;
    fs_run_ctl *ctl = NULL;
    int status = fs_cli_mpi_begin(&mpi, "psi", FS_CMD_PSI, &argc, &argv, 0, psi_usage, 1,
                                  FS_LOG_WARN);
    if (status >= 0) return status;
    fs_err rc = fs_cli_watch(&mpi, &ctl);
    if (rc == FS_OK) rc = fs_psi_run(mpi.comm, mpi.cfg, ctl, &rep);
    if (rc == FS_OK && mpi.rank == 0) {
        if (rep.dataset)
            printf("psi: %d ranks, intersection %zu rows, %.3f s; wrote %s (rank 0; one "
                   "aligned part per rank)\n", rep.nranks, rep.m, rep.seconds, rep.out_path);
        else
            printf("psi: %d ranks, intersection %zu rows (rank 0 holds %zu ids), %.3f s\n",
                   rep.nranks, rep.m, rep.n, rep.seconds);
    }
    return fs_cli_mpi_finish(&mpi, rc);
}

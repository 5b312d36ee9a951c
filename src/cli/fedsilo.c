/*
 * fedsilo.c - command-line entry point: dispatches to subcommands.
 *
 * CLI layer: the only place that owns argv, stdout, exit codes and the MPI
 * process lifetime (MPI_Init is called only by the subcommands that run
 * under mpirun/srun: train, bench).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"

int fs_cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fedsilo %s: error: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return FS_EXIT_FAIL;
}

int fs_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fedsilo %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'fedsilo %s --help'.\n", cmd);
    return FS_EXIT_USAGE;
}

/* An unrecoverable library failure (GMP out of memory): one rank must not
 * die quietly while its peers wait in a collective, so abort the job. */
static void fatal_abort(const char *msg)
{
    int up = 0, down = 0;
    fprintf(stderr, "fedsilo: fatal: %s\n", msg);
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down) MPI_Abort(MPI_COMM_WORLD, 1);
    abort();
}

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo COMMAND [OPTIONS]\n"
        "Secure cross-silo federated learning over MPI (version %s).\n\n"
        "Commands:\n"
        "  import idx|csv   convert IDX (MNIST-style) or CSV data to the fedsilo HDF5 layout\n"
        "  split            partition a dataset into per-institution shards (iid, dirichlet, quantity;\n"
        "                   --vertical: by feature columns for vertical FL)\n"
        "  inspect FILE     show shapes, class histogram and attributes of a dataset file\n"
        "  schema draft     draft a consortium schema from an institution's CSV file\n"
        "  schema check     report every mismatch between a CSV file and the schema\n"
        "  train            run the federation (under mpirun or srun: one rank per institution)\n"
        "  eval             evaluate a checkpoint on a dataset file\n"
        "  predict          apply a checkpoint's whole pipeline and model to raw CSV rows\n"
        "  export           write a GBDT checkpoint's trees as an XGBoost JSON model\n"
        "  keygen           create an institution's identity key pair\n"
        "  bench            micro-benchmarks with ratios against baselines\n"
        "  plot RUNDIR      draw the loss/accuracy curves of a run to a PNG (gnuplot)\n"
        "  dp               privacy accounting: epsilon of DP-SGD, calibrate a noise multiplier\n"
        "  stats            federated statistics from secure sums (mpirun)\n"
        "  ridge            exact federated ridge regression in one secure round (mpirun)\n"
        "  vfl-split        cut a dataset by feature columns for vertical FL (= split --vertical)\n"
        "  vfl-train        vertical logistic/linear regression with Paillier (mpirun)\n"
        "  psi              private set intersection of record ids; aligns datasets' rows (mpirun)\n\n"
        "Run 'fedsilo COMMAND --help' for the options of a command; 'man fedsilo' for details.\n",
        fs_version_string());
}

int main(int argc, char **argv)
{
    /* GMP memory hooks (wipe limbs on free) must exist before any mpz_t. */
    fs_crypto_set_fatal_handler(fatal_abort);
    if (fs_crypto_init() != FS_OK) {
        fprintf(stderr, "fedsilo: error: %s\n", fs_errmsg());
        return FS_EXIT_FAIL;
    }
    if (argc < 2) { usage(stderr); return FS_EXIT_USAGE; }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { usage(stdout); return 0; }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("fedsilo %s\n", fs_version_string());
        return 0;
    }
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        { "import", fs_cmd_import }, { "split", fs_cmd_split }, { "inspect", fs_cmd_inspect },
        { "schema", fs_cmd_schema },
        { "train", fs_cmd_train }, { "eval", fs_cmd_eval }, { "predict", fs_cmd_predict },
        { "export", fs_cmd_export }, { "keygen", fs_cmd_keygen },
        { "bench", fs_cmd_bench }, { "plot", fs_cmd_plot }, { "dp", fs_cmd_dp },
        { "stats", fs_cmd_stats }, { "ridge", fs_cmd_ridge },
        { "vfl-split", fs_cmd_vfl_split }, { "vfl-train", fs_cmd_vfl_train }, { "psi", fs_cmd_psi },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "fedsilo: unknown command '%s'\n", cmd);
    usage(stderr);
    return FS_EXIT_USAGE;
}

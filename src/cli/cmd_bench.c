/*
 * cmd_bench.c - `fedsilo bench secsum`: the secure-sum allreduce against a
 * plain MPI_Allreduce of the same float32 vector, measured in the same run.
 *
 * For each size, repetitions alternate plain and secure (interleaved, so
 * both see the same machine state); each timing is the maximum over ranks
 * of one call between barriers; the median is reported with the ratio.
 * Rank 0 also measures the masking engine's keystream rate next to
 * OpenSSL's own AES-128-CTR rate in the same process.  Numbers only: the
 * program never asserts a time.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"

static void bench_usage(FILE *out)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo bench secsum [OPTIONS]\n\n"
        "Time the secure-sum allreduce against MPI_Allreduce of the same float32 vector\n"
        "(interleaved repetitions, median of max-over-ranks), print the ratio, the key\n"
        "setup time and the mask-generation rate next to OpenSSL's AES-128-CTR rate.\n\n"
        "  --sizes LIST       comma-separated vector lengths (default 100000,1000000,10000000)\n"
        "  --ring-bits B      32 or 64 (default 32)\n"
        "  --reps R           repetitions per size (default 7)\n"
        "  --mask-degree K    0 full mesh (default) or k-regular mask graph\n"
        "  --roster FILE      authenticate with a roster (default: unauthenticated bench session)\n"
        "  --identity PATTERN private key path, %%d = rank (with --roster)\n"
        "  --setup-only       only measure the key setup (e.g. with 64 ranks)\n"
        "  --help             this text\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static MPI_Comm bench_comm;

static double max_over_ranks(double t)
{
    double m = t;
    MPI_Allreduce(&t, &m, 1, MPI_DOUBLE, MPI_MAX, bench_comm);
    return m;
}

int fs_cmd_bench(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "secsum") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            bench_usage(stdout);
            return 0;
        }
        return fs_cli_usage_error("bench", "the benchmark is 'secsum' (training throughput: "
                                  "bench/train_throughput in the build tree)");
    }
    char sizes_arg[512] = "100000,1000000,10000000";
    const char *roster = NULL, *identity = NULL;
    long ring = 32, reps = 7, degree = 0;
    int setup_only = 0;
    static const struct option lo[] = {
        { "sizes", required_argument, 0, 's' }, { "ring-bits", required_argument, 0, 'b' },
        { "reps", required_argument, 0, 'r' }, { "mask-degree", required_argument, 0, 'k' },
        { "roster", required_argument, 0, 'R' }, { "identity", required_argument, 0, 'I' },
        { "setup-only", no_argument, 0, 'S' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    argc--; argv++;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's': snprintf(sizes_arg, sizeof sizes_arg, "%s", optarg); break;
        case 'b':
            if (fs_cli_parse_long(optarg, 32, 64, &ring) || (ring != 32 && ring != 64))
                return fs_cli_usage_error("bench", "--ring-bits must be 32 or 64, got '%s'", optarg);
            break;
        case 'r':
            if (fs_cli_parse_long(optarg, 1, 1000, &reps))
                return fs_cli_usage_error("bench", "--reps must be 1..1000, got '%s'", optarg);
            break;
        case 'k':
            if (fs_cli_parse_long(optarg, 0, 1000000, &degree))
                return fs_cli_usage_error("bench", "--mask-degree must be >= 0, got '%s'", optarg);
            break;
        case 'R': roster = optarg; break;
        case 'I': identity = optarg; break;
        case 'S': setup_only = 1; break;
        case 'h': bench_usage(stdout); return 0;
        default: return fs_cli_bad_option("bench", c, argv);
        }
    }

    fs_cli_mpi mpi;
    memset(&mpi, 0, sizeof mpi);
    int status = fs_cli_mpi_start(&mpi, "bench", &argc, &argv, 0, FS_LOG_INFO);
    if (status != 0) return status;
    const int rank = mpi.rank, size = mpi.size;
    bench_comm = mpi.comm;
    fs_secagg *sa = NULL;
    char idpath[4096] = "";
    fs_err rc = identity ? fs_path_expand_rank(idpath, sizeof idpath, identity, rank) : FS_OK;
    fs_secagg_opts o;
    fs_secagg_opts_default(&o, size);
    o.vec.ring_bits = (int)ring;
    o.vec.frac_bits = fs_fixed_suggest((int)ring, size, 1.0);
    o.mask_degree = (int)degree;
    o.roster_path = roster ? roster : "";
    o.identity_path = idpath;
    o.allow_unauthenticated = 1;
    if (!roster) fs_log_set_handler(NULL, NULL, FS_LOG_ERROR); /* bench: no auth warning */
    rc = fs_agree(mpi.comm, rc, NULL);
    if (rc == FS_OK) rc = fs_secagg_create(mpi.comm, &o, &sa);
    if (rc != FS_OK) return fs_cli_mpi_finish(&mpi, rc);
    double setup = max_over_ranks(fs_secagg_setup_seconds(sa));
    double setup_cpu = max_over_ranks(fs_secagg_setup_cpu_seconds(sa));
    if (rank == 0) {
        printf("secsum: N=%d ranks, ring %ld, %d fractional bits, mask graph degree %d, %s\n", size,
               ring, o.vec.frac_bits, fs_secagg_degree(sa),
               roster ? "authenticated (roster)" : "unauthenticated bench session");
        printf("key setup: %.3f s wall, %.3f s CPU per rank (max over ranks; %d DH shared "
               "secrets, %d signature checks per rank)\n", setup, setup_cpu, fs_secagg_degree(sa),
               roster ? size - 1 : 0);
        fflush(stdout);
    }
    uint64_t round = 1;
    for (char *tok = setup_only ? NULL : strtok(sizes_arg, ","); tok; tok = strtok(NULL, ",")) {
        size_t n = (size_t)strtod(tok, NULL);
        if (n == 0) continue;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        double *tp = malloc((size_t)reps * sizeof *tp), *ts = malloc((size_t)reps * sizeof *ts);
        if (!x || !y || !tp || !ts) { status = fs_cli_fail("bench", "out of memory for n=%zu", n); break; }
        uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(rank + 1);
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            x[i] = (float)((double)(s >> 11) * 0x1.0p-53 - 0.5) / (float)size;
        }
        double maxerr = 0;
        for (int r = -1; r < reps; r++) {  /* r = -1 is the warm-up */
            MPI_Barrier(mpi.comm);
            double t0 = fs_now();
            MPI_Allreduce(x, y, (int)n, MPI_FLOAT, MPI_SUM, mpi.comm);
            double t_plain = max_over_ranks(fs_now() - t0);
            float ref0 = y[0], refn = y[n - 1];
            MPI_Barrier(mpi.comm);
            t0 = fs_now();
            rc = fs_secagg_sum_f32(sa, round++, 7, x, y, n, NULL);
            double t_sec = max_over_ranks(fs_now() - t0);
            if (rc != FS_OK) { if (rank == 0) fs_cli_fail("bench", "%s", fs_errmsg()); status = 1; break; }
            double e0 = y[0] - ref0, e1 = y[n - 1] - refn;
            if (e0 < 0) e0 = -e0;
            if (e1 < 0) e1 = -e1;
            if (e0 > maxerr) maxerr = e0;
            if (e1 > maxerr) maxerr = e1;
            if (r >= 0) { tp[r] = t_plain; ts[r] = t_sec; }
        }
        if (status) { free(x); free(y); free(tp); free(ts); break; }
        qsort(tp, (size_t)reps, sizeof *tp, cmp_double);
        qsort(ts, (size_t)reps, sizeof *ts, cmp_double);
        double mp = tp[reps / 2], ms = ts[reps / 2];
        if (rank == 0) {
            printf("d=%-9zu plain MPI_Allreduce %9.3f ms   secure sum %9.3f ms   ratio %.2fx   "
                   "(|secure - plain| <= %.2g on probes)\n", n, 1e3 * mp, 1e3 * ms, ms / mp, maxerr);
            fflush(stdout);
        }
        free(x); free(y); free(tp); free(ts);
    }
    if (status == 0 && rank == 0 && !setup_only) {
        fs_secsum_bench_result br;
        int nb = fs_secagg_degree(sa) > 0 ? fs_secagg_degree(sa) : 1;
        if (fs_secsum_bench_maskgen((int)ring, (size_t)1 << 20, nb, 0.5, &br) == FS_OK) {
            printf("mask generation (%d neighbours, ring %ld, %s kernel): %.2f GB/s keystream+add; "
                   "OpenSSL AES-128-CTR in-process: %.2f GB/s; ratio %.0f%% (target >= 80%%)\n", nb,
                   ring, br.prg_kernel, br.mask_rate / 1e9, br.openssl_rate / 1e9,
                   100.0 * br.mask_rate / br.openssl_rate);
            printf("fused encode+mask: %.2f GB/s keystream; encode alone: %.2f GB/s of input\n",
                   br.total_rate / 1e9, br.encode_rate / 1e9);
        } else {
            fs_cli_fail("bench", "%s", fs_errmsg());
        }
    }
    fs_secagg_destroy(&sa);
    fs_cli_mpi_finish(&mpi, FS_OK);
    return status;
}

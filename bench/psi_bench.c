/*
 * psi_bench.c - speed of the private set intersection, with the baselines
 * measured in the same run:
 *   - libsodium's ristretto255 scalar multiplication, every rank at once
 *     with the same threads as the PSI (the machine's aggregate rate);
 *   - the previous ffdhe2048 protocol (bench/psi_ffdhe.c) on a small size,
 *     right before each run of the new one (the machine is shared, so
 *     its load changes between runs);
 *   - fs_psi_intersect for N ranks x n ids, n/2 of them common.
 * Prints ids/s (N n / wall seconds) and its ratio to the old protocol's,
 * the CPU time per id of both (summed over the ranks: less sensitive to
 * the other jobs on a shared machine than wall time), the cores the job
 * got, the time the CPU work would take on 2 idle cores, and the tag phase
 * against the cost model (N sum_j n_j multiplications and sum_j n_j hashes
 * at the measured aggregate rate).  Never fails on a
 * number; exits non-zero only if a run fails or returns a wrong
 * intersection size.
 *
 * Usage: mpirun -np 3 bench/psi_bench [--sizes 10000,100000,200000]
 *            [--old-size 2000] [--threads T] [--big]
 * --big adds 10^6 ids per rank (opt-in: minutes).  --threads 0 (default)
 * is the library's automatic choice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <mpi.h>
#include <fedsilo.h>
#include <fedsilo/fs_psi.h>
#include "crypto/fs_crypto_impl.h"
#include "psi_ffdhe.h"

static size_t parse_list(const char *s, size_t *out, size_t cap)
{
    size_t n = 0;
    while (s && *s && n < cap) {
        char *end;
        out[n++] = strtoul(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') break;
    }
    return n;
}

/* Rank r's n ids: "c<i>" for i < n/2 (every rank), "r<r>-<i>" otherwise. */
static char **make_ids(int r, size_t n)
{
    char **ids = malloc(n * sizeof *ids), buf[48];
    for (size_t i = 0; i < n; i++) {
        if (i < n / 2) snprintf(buf, sizeof buf, "c%zu", i);
        else snprintf(buf, sizeof buf, "r%d-%zu", r, i);
        ids[i] = strdup(buf);
    }
    return ids;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

static double max_over_ranks(double v)
{
    double m = v;
    MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return m;
}

/* Aggregate multiplications per second, every rank measuring at once. */
static double smult_rate(int threads, double *per_thread_us, double *hash_ratio)
{
    enum { P = 1024 };
    uint8_t s[32], *pts = malloc(P * 32);
    crypto_core_ristretto255_scalar_random(s);
    for (int i = 0; i < P; i++) crypto_core_ristretto255_random(pts + 32 * i);
    size_t bad, done = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime(), dt;
    do {
        if (fs_ristretto_mul(s, pts, P, threads, &bad) != FS_OK) MPI_Abort(MPI_COMM_WORLD, 1);
        done += P;
        dt = MPI_Wtime() - t0;
    } while (dt < 2.0);
    free(pts);
    double rate = (double)done / dt, total = 0;
    /* the hash to the group, one thread: SHA-512 + from_hash */
    uint8_t h[64], e[32];
    size_t nh = 0;
    double t1 = MPI_Wtime(), dh;
    do {
        for (int i = 0; i < 256; i++, nh++) {
            crypto_hash_sha512(h, (const unsigned char *)&nh, sizeof nh);
            crypto_core_ristretto255_from_hash(e, h);
        }
        dh = MPI_Wtime() - t1;
    } while (dh < 1.0);
    double hr = (dh / (double)nh) / (dt / (double)done * threads), hsum = 0;
    MPI_Allreduce(&hr, &hsum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    *hash_ratio = hsum / size;
    MPI_Allreduce(&rate, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    *per_thread_us = 1e6 * dt / (double)done * threads;
    return total;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The old ffdhe2048 protocol on n ids per rank; prints and returns ids/s;
 * *cpu_per_id gets the CPU seconds per id summed over the ranks. */
static double run_old(size_t n, int *status, double *cpu_per_id)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t *idx = NULL, m = 0;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char **ids = make_ids(rank, n);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime(), c0 = cpu_now();
    fs_err rc = psi_ffdhe_intersect(MPI_COMM_WORLD, (const char *const *)ids, n, &idx, &m);
    double mycpu = cpu_now() - c0, cpu = 0;
    double dt = max_over_ranks(MPI_Wtime() - t0);
    MPI_Allreduce(&mycpu, &cpu, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (rc != FS_OK || m != n / 2) *status = 1;
    double rate = (double)size * (double)n / dt;
    *cpu_per_id = cpu / ((double)size * (double)n);
    if (rank == 0)
        printf("old ffdhe2048 (leaks pairwise membership): %d x %zu ids: %.2f s, %.0f ids/s, "
               "CPU %.0f us per id%s\n", size, n, dt, rate, 1e6 * *cpu_per_id,
               rc == FS_OK && m == n / 2 ? "" : "  WRONG RESULT");
    fflush(stdout);
    free(idx);
    free_ids(ids, n);
    return rate;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    fs_log_set_handler(NULL, NULL, FS_LOG_ERROR);
    size_t sizes[16] = { 10000, 100000, 200000 }, nsizes = 3, old_n = 2000;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sizes") && i + 1 < argc) nsizes = parse_list(argv[++i], sizes, 15);
        else if (!strcmp(argv[i], "--old-size") && i + 1 < argc) old_n = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--big")) sizes[nsizes++] = 1000000;
        else {
            if (rank == 0) fprintf(stderr, "usage: mpirun -np N psi_bench [--sizes A,B] "
                                   "[--old-size N] [--threads T] [--big]\n");
            MPI_Finalize();
            return 2;
        }
    }
    if (fs_crypto_init() != FS_OK) MPI_Abort(MPI_COMM_WORLD, 1);
    int status = 0;
    fs_psi_opts o;
    fs_psi_opts_default(&o);
    o.allow_unauthenticated = 1;
    o.threads = threads;

    /* Threads the library picks (run a tiny PSI to read the report). */
    {
        char **ids = make_ids(rank, 8);
        size_t *idx = NULL, m = 0;
        fs_psi_report rep;
        if (fs_psi_intersect(MPI_COMM_WORLD, &o, (const char *const *)ids, 8, &idx, &m, &rep) != FS_OK)
            MPI_Abort(MPI_COMM_WORLD, 1);
        threads = rep.threads;
        free(idx);
        free_ids(ids, 8);
    }
    double us = 0, hratio = 0, agg = smult_rate(threads, &us, &hratio);
    if (rank == 0) {
        printf("psi_bench: %d ranks, %d threads per rank%s, libsodium %s\n", size, threads,
               o.threads ? "" : " (automatic)", sodium_version_string());
        printf("libsodium ristretto255 scalarmult, all ranks at once: %.0f/s in total "
               "(%.1f us per multiplication per thread); hash to the group = %.2f "
               "multiplications\n", agg, us, hratio);
        fflush(stdout);
    }
    for (size_t k = 0; k < nsizes; k++) {
        /* the old protocol right before, on the smaller size (same load) */
        double old_cpu = 0, old_rate = run_old(old_n, &status, &old_cpu);
        size_t n = sizes[k], *idx = NULL, m = 0;
        char **ids = make_ids(rank, n);
        fs_psi_report rep;
        memset(&rep, 0, sizeof rep);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        fs_err rc = fs_psi_intersect(MPI_COMM_WORLD, &o, (const char *const *)ids, n, &idx, &m, &rep);
        double dt = max_over_ranks(MPI_Wtime() - t0);
        /* the machine is shared: average the rate before and after */
        double us2 = 0, hr2 = 0, agg2 = smult_rate(threads, &us2, &hr2), rate = 0.5 * (agg + agg2);
        double tags = max_over_ranks(rep.tag_seconds), match = max_over_ranks(rep.match_seconds);
        double setup = max_over_ranks(rep.setup_seconds), fin = max_over_ranks(rep.finish_seconds);
        double cpu = 0;
        MPI_Allreduce(&rep.cpu_seconds, &cpu, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        agg = agg2;
        if (rc != FS_OK || m != n / 2) status = 1;
        /* model: N sum_j n_j multiplications plus sum_j n_j hashes, at the
         * aggregate rate measured above */
        double L = (double)size * (double)n;
        double model = ((double)size * L + hratio * L) / rate;
        if (rank == 0) {
            printf("new ristretto255: %d x %zu ids (%zu common): %.2f s, %.0f ids/s", size, n,
                   n / 2, dt, L / dt);
            if (old_rate > 0) printf(", %.1fx the old protocol's ids/s", L / dt / old_rate);
            printf("; CPU %.1f s over the ranks = %.2f cores busy on average%s\n", cpu, cpu / dt,
                   rc == FS_OK && m == n / 2 ? "" : "  WRONG RESULT");
            /* load-independent: CPU time per multiplication-equivalent and
             * the wall time it implies with 2 cores fully used */
            double work = (double)size * L + hratio * L;
            printf("  CPU %.0f us per id (%.1fx less than the old protocol), %.1f us per "
                   "multiplication-equivalent (N sum n_j + %.2f sum n_j = %.3g); with 2 idle "
                   "cores that is %.1f s\n", 1e6 * cpu / L, old_cpu / (cpu / L),
                   1e6 * cpu / work, hratio, work, cpu / 2.0);
            printf("  setup %.2f s, tags %.2f s (model %.2f s at %.0f multiplications/s, the mean of "
                   "the rates before and after: %.2fx), match %.2f s (%u rounds x %llu words), "
                   "finish %.2f s; miss bound 2^%.1f\n", setup, tags, model, rate, tags / model,
                   match, rep.rounds, (unsigned long long)rep.table_words, fin, rep.log2_miss);
            fflush(stdout);
        }
        free(idx);
        free_ids(ids, n);
    }
    int any = 0;
    MPI_Allreduce(&status, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any;
}

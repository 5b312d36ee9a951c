/*
 * t_psi.c - fs_psi_intersect under MPI with controlled overlap.
 *
 * Usage: t_psi NIDS COMMON [SEED]
 * Every rank holds NIDS ids in a rank-specific random order: COMMON ids
 * "id-c<k>" shared by all ranks, NIDS/10 ids "id-p<k>" shared by ranks 0
 * and 1 only (not in the all-party intersection when size > 2), and
 * rank-unique ids "id-r<rank>-<k>".  Checks that the returned indices are
 * exactly the common ids, that every rank returns the same ids in the same
 * order, and a duplicate id fails on every rank.  Rank 0 prints the wall
 * time.  Every rank exits with the same status (0 = pass).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include <fedsilo/fs_psi.h>

static int errors;
#define EXPECT(c, ...) do { if (!(c)) { errors++; fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t nids = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    size_t common = argc > 2 ? strtoul(argv[2], NULL, 10) : nids / 3;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    size_t pair = nids / 10;
    if (common + pair > nids) pair = nids - common;
    char **ids = malloc(nids * sizeof *ids);
    for (size_t i = 0; i < nids; i++) {
        char buf[64];
        if (i < common) snprintf(buf, sizeof buf, "id-c%zu", i);
        else if (i < common + pair && rank <= 1) snprintf(buf, sizeof buf, "id-p%zu", i);
        else snprintf(buf, sizeof buf, "id-r%d-%zu", rank, i);
        ids[i] = strdup(buf);
    }
    /* rank-specific order */
    uint64_t s = seed * 1000 + (uint64_t)rank;
    for (size_t i = nids; i > 1; i--) {
        s = mix(s);
        size_t j = s % i;
        char *t = ids[i - 1]; ids[i - 1] = ids[j]; ids[j] = t;
    }
    size_t want = size == 2 ? common + pair : common;
    if (size == 1) want = nids;

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    size_t *idx = NULL, m = 0;
    fs_err rc = fs_psi_intersect(MPI_COMM_WORLD, (const char *const *)ids, nids, &idx, &m);
    double dt = MPI_Wtime() - t0;
    EXPECT(rc == FS_OK, "rank %d: fs_psi_intersect: %s", rank, fs_errmsg());
    EXPECT(m == want, "rank %d: intersection size %zu, expected %zu", rank, m, want);
    uint64_t h = 1469598103934665603ULL;
    for (size_t t = 0; t < m; t++) {
        const char *id = ids[idx[t]];
        int ok = !strncmp(id, "id-c", 4) || (size == 2 && !strncmp(id, "id-p", 4)) || size == 1;
        EXPECT(ok, "rank %d: %s is not in the intersection", rank, id);
        for (const char *c = id; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    /* same sequence on every rank: max(h) == -max(-h) i.e. min == max */
    unsigned long long in[2] = { h, ~h }, out[2];
    MPI_Allreduce(in, out, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    EXPECT(out[0] == h && out[1] == ~h, "rank %d: order differs between ranks", rank);
    if (rank == 0)
        printf("psi: %d ranks, %zu ids per rank, intersection %zu, %.3f s\n", size, nids, m, dt);
    free(idx);

    /* A duplicate id on the last rank fails everywhere with FS_ERR_DATA. */
    if (nids >= 2 && nids <= 2000) {
        char *keep = ids[1];
        if (rank == size - 1) ids[1] = ids[0];
        rc = fs_psi_intersect(MPI_COMM_WORLD, (const char *const *)ids, nids, &idx, &m);
        EXPECT(rc == FS_ERR_DATA && idx == NULL && m == 0, "rank %d: duplicate gave %d", rank, rc);
        ids[1] = keep;
    }
    for (size_t i = 0; i < nids; i++) free(ids[i]);
    free(ids);
    int total = 0;
    MPI_Allreduce(&errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}

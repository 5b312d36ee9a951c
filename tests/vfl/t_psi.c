/*
 * t_psi.c - fs_psi_intersect under MPI with controlled overlap.
 *
 * Usage: t_psi NIDS COMMON [SEED [superset]]
 * Every rank holds NIDS ids in a rank-specific random order: COMMON ids
 * "id-c<k>" shared by all ranks, NIDS/10 ids "id-p<k>" shared by ranks 0
 * and 1 only (in the intersection only when there are 2 ranks), and
 * rank-unique ids "id-r<rank>-<k>".  With "superset", rank 0 also holds
 * every id of every other rank (so the intersection is that of the others).
 * Checks: the returned indices are exactly the ids every rank holds, each
 * once; they are sorted by the id bytes, and the sequence is the same on
 * every rank; the report counts one multiplication per element of every
 * block; for NIDS <= 2000, a repeated id on the last rank fails every rank
 * with FS_ERR_DATA naming that rank.  Rank 0 prints the wall time and the
 * plan.  Every rank exits with the same status (0 = pass).
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

/* The ids of rank r (n of them, before shuffling); strdup'd. */
static size_t make_ids(char **ids, int r, size_t nids, size_t common, size_t pair)
{
    size_t n = 0;
    for (size_t i = 0; i < nids; i++) {
        char buf[64];
        if (i < common) snprintf(buf, sizeof buf, "id-c%zu", i);
        else if (i < common + pair && r <= 1) snprintf(buf, sizeof buf, "id-p%zu", i);
        else snprintf(buf, sizeof buf, "id-r%d-%zu", r, i);
        ids[n++] = strdup(buf);
    }
    return n;
}

static int in_all(const char *id, int size, int superset)
{
    if (size == 1) return 1;
    if (!strncmp(id, "id-c", 4)) return 1;
    if (!strncmp(id, "id-p", 4)) return size == 2;       // ranks 0 and 1 only
    /* id-r<r>-: rank r's own; with superset, rank 0 also has it */
    return superset && size == 2 && strncmp(id, "id-r1-", 6) == 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    fs_log_set_handler(NULL, NULL, FS_LOG_ERROR);    /* no unauthenticated warning */
    size_t nids = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    size_t common = argc > 2 ? strtoul(argv[2], NULL, 10) : nids / 3;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    int superset = argc > 4 && !strcmp(argv[4], "superset");
    size_t pair = nids / 10;
    if (common + pair > nids) pair = nids - common;
    size_t cap = nids * (superset && rank == 0 ? (size_t)size : 1);
    char **ids = malloc((cap ? cap : 1) * sizeof *ids);
    size_t n = make_ids(ids, rank, nids, common, pair);
    if (superset && rank == 0) {
        for (int r = 1; r < size; r++) {
            char **tmp = malloc(nids * sizeof *tmp);
            size_t m = make_ids(tmp, r, nids, common, pair);
            for (size_t i = 0; i < m; i++) {
                int have = 0;       /* common and pair ids are already there */
                if (!strncmp(tmp[i], "id-c", 4) || !strncmp(tmp[i], "id-p", 4)) have = 1;
                if (have) free(tmp[i]); else ids[n++] = tmp[i];
            }
            free(tmp);
        }
    }
    /* rank-specific order */
    uint64_t s = seed * 1000 + (uint64_t)rank;
    for (size_t i = n; i > 1; i--) {
        s = mix(s);
        size_t j = s % i;
        char *t = ids[i - 1]; ids[i - 1] = ids[j]; ids[j] = t;
    }
    size_t want = 0;
    for (size_t i = 0; i < n; i++) want += (size_t)in_all(ids[i], size, superset);

    fs_psi_opts o;
    fs_psi_opts_default(&o);
    o.allow_unauthenticated = 1;
    fs_psi_report rep;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    size_t *idx = NULL, m = 0;
    fs_err rc = fs_psi_intersect(MPI_COMM_WORLD, &o, (const char *const *)ids, n, &idx, &m, &rep);
    double dt = MPI_Wtime() - t0;
    EXPECT(rc == FS_OK, "rank %d: fs_psi_intersect: %s", rank, fs_errmsg());
    EXPECT(m == want, "rank %d: intersection size %zu, expected %zu", rank, m, want);
    uint64_t h = 1469598103934665603ULL;
    char *seen = calloc(n ? n : 1, 1);
    for (size_t t = 0; t < m; t++) {
        EXPECT(idx[t] < n && !seen[idx[t]], "rank %d: index %zu out of range or repeated", rank, t);
        if (idx[t] >= n || seen[idx[t]]) break;
        seen[idx[t]] = 1;
        const char *id = ids[idx[t]];
        EXPECT(in_all(id, size, superset), "rank %d: %s is not in the intersection", rank, id);
        EXPECT(t == 0 || strcmp(ids[idx[t - 1]], id) < 0, "rank %d: entry %zu is out of byte order",
               rank, t);
        for (const char *c = id; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    free(seen);
    /* same sequence on every rank: max(h) == -max(-h) i.e. min == max */
    unsigned long long in[2] = { h, ~h }, out[2];
    MPI_Allreduce(in, out, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    EXPECT(out[0] == h && out[1] == ~h, "rank %d: order differs between ranks", rank);
    /* one multiplication per element of every block passing through here */
    unsigned long long mine = n, total = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rc == FS_OK && size > 1 && nids > 0)
        EXPECT(rep.scalarmults == total, "rank %d: %llu multiplications, expected %llu", rank,
               (unsigned long long)rep.scalarmults, total);
    if (rank == 0)
        printf("psi: %d ranks, %zu ids on rank 0, intersection %zu, %.3f s (setup %.2f, tags %.2f, "
               "match %.2f in %u rounds x %llu words, finish %.2f; %d threads per rank; "
               "miss bound 2^%.1f)\n", size, n, m, dt, rep.setup_seconds, rep.tag_seconds,
               rep.match_seconds, rep.rounds, (unsigned long long)rep.table_words,
               rep.finish_seconds, rep.threads, rep.log2_miss);
    free(idx);

    /* A repeated id on the last rank fails everywhere with FS_ERR_DATA. */
    if (n >= 2 && nids <= 2000) {
        char *keep = ids[1];
        if (rank == size - 1) ids[1] = ids[0];
        rc = fs_psi_intersect(MPI_COMM_WORLD, &o, (const char *const *)ids, n, &idx, &m, NULL);
        char want_msg[64];
        snprintf(want_msg, sizeof want_msg, "rank %d: PSI: repeated id", size - 1);
        EXPECT(rc == FS_ERR_DATA && idx == NULL && m == 0 && strstr(fs_errmsg(), want_msg),
               "rank %d: repeated id gave %d (%s)", rank, rc, fs_errmsg());
        ids[1] = keep;
    }
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    int totalerr = 0;
    MPI_Allreduce(&errors, &totalerr, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return totalerr == 0 ? 0 : 1;
}

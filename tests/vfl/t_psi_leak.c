/*
 * t_psi_leak.c - the pairwise-membership leak reproduced as a test fixture: 3 ranks,
 * rank 0 holds 20 ids, |S0 n S1| = 10, |S0 n S2| = 7, |S0 n S1 n S2| = 3,
 * and |S1 n S2| = 8.  Run under the PMPI recorder tests/vfl/psi_spy.c;
 * tests/vfl/psi_leak.py then plays a curious rank 0 on its records.
 *
 * Usage: t_psi_leak new|old DIR
 *   new  fs_psi_intersect (unauthenticated session; the transport is not
 *        the adversary here, rank 0 is)
 *   old  the previous protocol, bench/psi_ffdhe.c (the positive control:
 *        it must be caught leaking 10 and 7)
 * Rank 0 writes DIR/ids-0.txt (its ids, one per line), DIR/sid.hex (the
 * public session id, new only) and DIR/result.txt (the intersection it
 * got).  Every rank checks that the result is the 3 common ids and exits
 * with the same status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include <fedsilo/fs_psi.h>
#include "psi_ffdhe.h"

static const char *const common[] = { "c0", "c1", "c2" };
static const char *const s0s1[] = { "a0", "a1", "a2", "a3", "a4", "a5", "a6" };
static const char *const s0s2[] = { "b0", "b1", "b2", "b3" };
static const char *const s1s2[] = { "d0", "d1", "d2", "d3", "d4" };

#define ADD(list) for (size_t i = 0; i < sizeof list / sizeof *list; i++) ids[n++] = strdup(list[i])

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    fs_log_set_handler(NULL, NULL, FS_LOG_ERROR);
    if (argc != 3 || size != 3 || (strcmp(argv[1], "new") && strcmp(argv[1], "old"))) {
        if (rank == 0) fprintf(stderr, "usage: mpirun -np 3 t_psi_leak new|old DIR\n");
        MPI_Finalize();
        return 99;
    }
    const int old = !strcmp(argv[1], "old");
    char *ids[64];
    size_t n = 0;
    char buf[32];
    ADD(common);
    if (rank == 0) {
        ADD(s0s1);
        ADD(s0s2);
        for (int i = 0; i < 6; i++) { snprintf(buf, sizeof buf, "u%d", i); ids[n++] = strdup(buf); }
    } else if (rank == 1) {
        ADD(s0s1);
        ADD(s1s2);
        for (int i = 0; i < 10; i++) { snprintf(buf, sizeof buf, "e%d", i); ids[n++] = strdup(buf); }
    } else {
        ADD(s0s2);
        ADD(s1s2);
        for (int i = 0; i < 8; i++) { snprintf(buf, sizeof buf, "f%d", i); ids[n++] = strdup(buf); }
    }
    size_t *idx = NULL, m = 0;
    fs_psi_report rep;
    memset(&rep, 0, sizeof rep);
    fs_err rc;
    if (old) {
        rc = psi_ffdhe_intersect(MPI_COMM_WORLD, (const char *const *)ids, n, &idx, &m);
    } else {
        fs_psi_opts o;
        fs_psi_opts_default(&o);
        o.allow_unauthenticated = 1;
        rc = fs_psi_intersect(MPI_COMM_WORLD, &o, (const char *const *)ids, n, &idx, &m, &rep);
    }
    int bad = rc != FS_OK || m != 3;
    for (size_t t = 0; !bad && t < m; t++) bad = ids[idx[t]][0] != 'c';
    if (bad) fprintf(stderr, "rank %d: rc %d, %zu ids: %s\n", rank, rc, m, fs_errmsg());
    if (rank == 0 && !bad) {
        char path[4096];
        snprintf(path, sizeof path, "%s/ids-0.txt", argv[2]);
        FILE *f = fopen(path, "w");
        for (size_t i = 0; f && i < n; i++) fprintf(f, "%s\n", ids[i]);
        if (f) fclose(f);
        snprintf(path, sizeof path, "%s/result.txt", argv[2]);
        f = fopen(path, "w");
        for (size_t t = 0; f && t < m; t++) fprintf(f, "%s\n", ids[idx[t]]);
        if (f) fclose(f);
        if (!old) {
            snprintf(path, sizeof path, "%s/sid.hex", argv[2]);
            f = fopen(path, "w");
            for (int k = 0; f && k < 32; k++) fprintf(f, "%02x", rep.session_id[k]);
            if (f) { fputc('\n', f); fclose(f); }
        }
        printf("t_psi_leak %s: intersection %zu ids\n", argv[1], m);
    }
    free(idx);
    for (size_t i = 0; i < n; i++) free(ids[i]);
    int any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}

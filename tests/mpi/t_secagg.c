/*
 * t_secagg.c - the pipelined secure sum under MPI (fs_secagg_sum_f32).
 *
 * Invariant: for every length around the pipeline's chunk boundaries (0,
 * 1, one chunk - 1 .. + 1 words, several chunks, a vector past the
 * streaming-decode threshold), both rings and several schedules (the
 * automatic one: one blocking reduction up to 1 MiB, then 256 KiB chunks;
 * 16 KiB chunks one at a time, in place; 20 KiB rounded up to 32 KiB
 * chunks, three in flight, each summed into a separate receive slot; the
 * automatic schedule beyond 8 ranks, 1 MiB chunks, four in flight, in
 * place, over 4 and 16 chunks; one blocking MPI_Allreduce per chunk, 20
 * KiB rounded up to 32 KiB in place, and 16 KiB into a separate receive
 * slot, the schedule for ranks on several nodes), the
 * secure sum is bit for bit the decoded plain integer sum
 * of the same fixed-point encodings (fs_fixed_encode_f32 + MPI_Allreduce
 * on the words), in place (in == out) and out of place.  Failure paths: a
 * rank that reuses a nonce makes every rank return FS_ERR_ARG (no hang:
 * the failing rank completes the chunk sequence with zeros), and the
 * session stays usable; a schedule that differs between ranks is refused
 * on every rank.  Pair keys (fs_secagg_pair_key): both ranks of every pair
 * derive the same key for a label, even when the mask graph is sparse and
 * the pair are not neighbours; other labels, other pairs and other sessions
 * give other keys; bad peers and labels are refused.  fs_secagg_sum_words
 * equals the plain integer sum word for word, and masks that do not cancel
 * (one rank on another round) give FS_ERR_AUTH on every rank.  Under mpirun on one
 * host the session sees one node (fs_secagg_single_node) and plans the
 * nonblocking pipeline unless blocking is forced.  Verdict through
 * mtest.h: every rank exits with the same status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include "mtest.h"

/* Pair keys of one session: agreement with every peer, independence. */
static void check_pair_keys(fs_secagg *sa, int rank, int size, uint8_t prev[32])
{
    uint8_t mine[32], theirs[32], other[32];
    for (int p = 0; p < size; p++) {
        if (p == rank) continue;
        MT_CHECK(fs_secagg_pair_key(sa, p, "test label", mine) == FS_OK, "pair key: %s",
                 fs_errmsg());
        int mrc = MPI_Sendrecv(mine, 32, MPI_BYTE, p, 9, theirs, 32, MPI_BYTE, p, 9,
                               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) mtest_hard("MPI_Sendrecv with rank %d failed", p);
        MT_CHECK(memcmp(mine, theirs, 32) == 0, "pair key with %d differs", p);
        MT_CHECK(fs_secagg_pair_key(sa, p, "test label 2", other) == FS_OK &&
                 memcmp(mine, other, 32), "two labels give the same key with %d", p);
        MT_CHECK(memcmp(mine, prev, 32) != 0, "a key repeats across peers or sessions (%d)", p);
        memcpy(prev, mine, 32);
    }
    MT_CHECK(fs_secagg_pair_key(sa, rank, "test label", mine) == FS_ERR_ARG, "own rank accepted");
    MT_CHECK(fs_secagg_pair_key(sa, size, "test label", mine) == FS_ERR_ARG, "rank N accepted");
    MT_CHECK(fs_secagg_pair_key(sa, (rank + 1) % size, "", mine) == FS_ERR_ARG || size == 1,
             "empty label accepted");
}

/* x[k] in [-1.5, 1.5], some beyond the clip 1 (clipped), rank-dependent */
static void fill(float *x, size_t n, int rank, uint32_t salt)
{
    uint32_t s = 2654435761u * (uint32_t)(rank + 1) ^ salt;
    for (size_t k = 0; k < n; k++) {
        s = s * 1664525u + 1013904223u;
        x[k] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 3.0f;
    }
}

/* Every rank must get FS_ERR_ARG naming the last rank and the reuse, and
 * the next sum must work. */
static void failure_path(fs_secagg *sa, size_t n, uint64_t *round, int rank, int size, int ring)
{
    float *x = calloc(n, sizeof *x), *y = malloc(n * sizeof *y);
    uint64_t r = rank == size - 1 ? 1 : *round;
    fs_err rc = fs_secagg_sum_f32(sa, r, 1, x, y, n, NULL);
    MT_CHECK(rc == FS_ERR_ARG, "rank %d ring %d n %zu: nonce reuse on the last rank gave %d (%s)",
           rank, ring, n, (int)rc, fs_errmsg());
    char want[32];
    snprintf(want, sizeof want, "rank %d: ", size - 1);
    MT_CHECK(strncmp(fs_errmsg(), want, strlen(want)) == 0 && strstr(fs_errmsg(), "reused"),
           "rank %d n %zu: message '%s' does not name rank %d and the reuse", rank, n, fs_errmsg(),
           size - 1);
    (*round)++;
    for (size_t k = 0; k < n; k++) x[k] = 0.25f;
    rc = fs_secagg_sum_f32(sa, (*round)++, 1, x, y, n, NULL);
    MT_CHECK(rc == FS_OK && y[0] == 0.25f * (float)size && y[n - 1] == y[0],
           "rank %d ring %d n %zu: sum after the failure: %d, %g", rank, ring, n, (int)rc, y[0]);
    free(x);
    free(y);
}

int main(int argc, char **argv)
{
    mtest_init(&argc, &argv);
    const int rank = mtest_rank(), size = mtest_size();
    fs_log_set_handler(NULL, NULL, FS_LOG_ERROR);    /* no unauthenticated warning */
    const size_t sizes[] = { 0, 1, 2047, 2048, 2049, 4095, 4096, 4097, 32767, 32768, 32769,
                             65535, 65536, 65537, 1000003, 4194400 };
    const fs_secagg_pipeline sched[] = { { 0, 0, 0, 0 }, { 16384, 1, -1, -1 }, { 20480, 3, 1, -1 },
                                         { 1 << 20, 4, -1, -1 }, { 20480, 0, -1, 1 },
                                         { 16384, 0, 1, 1 } };
    const int nsched = (int)(sizeof sched / sizeof *sched);
    uint64_t round = 1;
    for (int cfg = 0; cfg < 2 * nsched; cfg++) {
        const int ring = cfg % 2 ? 64 : 32, si = cfg / 2;
        fs_secagg_opts o = { { ring, 0, 1.0, FS_FIXED_ROUND_NEAREST }, 0, NULL, NULL, 1, 7 };
        o.vec.frac_bits = fs_fixed_suggest(ring, size, 1.0);
        fs_secagg *sa = NULL;
        if (fs_secagg_create(MPI_COMM_WORLD, &o, &sa) != FS_OK) mtest_hard("%s", fs_errmsg());
        if (fs_secagg_set_pipeline(sa, &sched[si]) != FS_OK) mtest_hard("set_pipeline: %s", fs_errmsg());
        /* mpirun on one host: one node, so the automatic schedule is the
         * nonblocking pipeline; a forced blocking one is planned as such */
        MT_CHECK(fs_secagg_single_node(sa) == 1, "rank %d: ranks of one host not seen as one node",
                 rank);
        fs_secagg_pipeline plan;
        fs_secagg_pipeline_plan(sa, 600000, &plan);
        MT_CHECK(plan.depth > 0 && plan.blocking == (sched[si].blocking > 0) &&
                 (plan.blocking ? plan.depth == 1 && plan.separate == (sched[si].separate > 0)
                                : 1),
                 "rank %d sched %d: plan depth %d blocking %d separate %d", rank, si, plan.depth,
                 plan.blocking, plan.separate);
        const int small_chunks = si == 1 || si == 2 || si >= 4;
        const size_t wb = (size_t)ring / 8;
        for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
            size_t n = sizes[t];
            if (n > 2000000 && (ring == 64 || small_chunks)) continue;   // streaming cases
            if (si > 0 && n > 100000 && n < 2000000 && ring == 64) continue;
            float *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
            float *ref = malloc((n + 1) * sizeof *ref);
            void *w = malloc((n + 1) * wb);
            if (!x || !y || !ref || !w) mtest_hard("out of memory");
            fill(x, n, rank, (uint32_t)(n + (size_t)ring));
            /* reference: encode, plain integer allreduce, decode */
            fs_fixed_stats st0 = { 0, 0 }, st1 = { 0, 0 };
            MT_CHECK(fs_fixed_encode_f32(&o.vec, x, n, w, 0, &st0) == FS_OK, "encode: %s", fs_errmsg());
            MPI_Allreduce(MPI_IN_PLACE, w, (int)n, ring == 32 ? MPI_UINT32_T : MPI_UINT64_T,
                          MPI_SUM, MPI_COMM_WORLD);
            MT_CHECK(fs_fixed_decode_f32(&o.vec, w, n, ref) == FS_OK, "decode: %s", fs_errmsg());
            /* out of place, then in place */
            fs_err rc = fs_secagg_sum_f32(sa, round++, 1, x, y, n, &st1);
            MT_CHECK(rc == FS_OK, "rank %d ring %d sched %d n %zu: %s", rank, ring, si, n, fs_errmsg());
            MT_CHECK(n == 0 || memcmp(y, ref, n * sizeof *y) == 0,
                   "rank %d ring %d sched %d n %zu: secure sum != plain integer sum", rank, ring, si, n);
            MT_CHECK(st1.nclipped == st0.nclipped, "rank %d n %zu: clipped %zu != %zu", rank, n,
                   st1.nclipped, st0.nclipped);
            rc = fs_secagg_sum_f32(sa, round++, 1, x, x, n, NULL);
            MT_CHECK(rc == FS_OK && (n == 0 || memcmp(x, ref, n * sizeof *x) == 0),
                   "rank %d ring %d sched %d n %zu: in-place secure sum differs", rank, ring, si, n);
            free(x); free(y); free(ref); free(w);
        }
        /* failure path: the last rank reuses round 1 (already masked) on a
         * vector of one blocking reduction and on a multi-chunk one */
        failure_path(sa, 1000, &round, rank, size, ring);
        failure_path(sa, 600000, &round, rank, size, ring);
        /* a schedule that differs between ranks is refused everywhere */
        const fs_secagg_pipeline odd = { rank == 0 ? 65536u : 131072u, 2, 0, 0 };
        fs_err rc = fs_secagg_set_pipeline(sa, &odd);
        MT_CHECK(rc == FS_ERR_ARG && strstr(fs_errmsg(), "differs"),
               "rank %d: mismatched pipeline settings gave %d (%s)", rank, (int)rc, fs_errmsg());
        fs_secagg_destroy(&sa);
    }
    /* fs_secagg_sum_words (64-bit ring): the sum equals the plain integer
     * sum word for word; a rank masking with another round makes the masks
     * not cancel, and every rank returns FS_ERR_AUTH (the canary branch,
     * agreed); the session stays usable. */
    {
        fs_secagg_opts o = { { 64, 0, 1.0, FS_FIXED_ROUND_NEAREST }, 0, NULL, NULL, 1, 7 };
        o.vec.frac_bits = fs_fixed_suggest(64, size, 1.0);
        fs_secagg *sa = NULL;
        if (fs_secagg_create(MPI_COMM_WORLD, &o, &sa) != FS_OK) mtest_hard("%s", fs_errmsg());
        enum { NW = 5000 };
        uint64_t *w = malloc((NW + 1) * sizeof *w), *ref = malloc(NW * sizeof *ref);
        if (!w || !ref) mtest_hard("out of memory");
        for (int pass = 0; pass < 3; pass++) {
            for (size_t i = 0; i < NW; i++)
                w[i] = ref[i] = 0x9e3779b97f4a7c15ull * (i + 1) ^ ((uint64_t)rank << 40);
            w[NW] = 0;
            MPI_Allreduce(MPI_IN_PLACE, ref, NW, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
            // pass 1: rank 0 masks with another (fresh) round than the others
            const uint64_t r = pass == 0 ? 100 : pass == 2 ? 200 : rank == 0 ? 151 : 101;
            fs_err rc = fs_secagg_sum_words(sa, r, 9, w, NW, FS_OK);
            if (pass == 1 && size > 1)
                MT_CHECK(rc == FS_ERR_AUTH && strstr(fs_errmsg(), "did not cancel"),
                         "rank %d: mismatched word-sum rounds gave %d (%s)", rank, (int)rc,
                         fs_errmsg());
            else
                MT_CHECK(rc == FS_OK && memcmp(w, ref, NW * sizeof *w) == 0,
                         "rank %d pass %d: secure word sum != plain integer sum (%s)", rank,
                         pass, fs_errmsg());
        }
        free(w); free(ref);
        fs_secagg_destroy(&sa);
    }
    /* Pair keys with a full mesh and with a sparse graph (degree 2: most
     * pairs are not neighbours once size >= 5). */
    uint8_t prev[32] = { 0 };
    for (int degree = 0; degree <= (size >= 5 ? 2 : 0); degree += 2) {
        fs_secagg_opts o = { { 32, 0, 1.0, FS_FIXED_ROUND_NEAREST }, degree, NULL, NULL, 1, 7 };
        o.vec.frac_bits = fs_fixed_suggest(32, size, 1.0);
        fs_secagg *sa = NULL;
        if (fs_secagg_create(MPI_COMM_WORLD, &o, &sa) != FS_OK) mtest_hard("%s", fs_errmsg());
        check_pair_keys(sa, rank, size, prev);
        fs_secagg_destroy(&sa);
    }
    return mtest_finalize();
}

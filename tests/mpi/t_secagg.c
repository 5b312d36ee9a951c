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
 * place, over 4 and 16 chunks), the
 * secure sum is bit for bit the decoded plain integer sum
 * of the same fixed-point encodings (fs_fixed_encode_f32 + MPI_Allreduce
 * on the words), in place (in == out) and out of place.  Failure paths: a
 * rank that reuses a nonce makes every rank return FS_ERR_ARG (no hang:
 * the failing rank completes the chunk sequence with zeros), and the
 * session stays usable; a schedule that differs between ranks is refused
 * on every rank.  Every rank counts its own errors; all exit with the
 * summed status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>

static int errors;
#define EXPECT(c, ...) do { if (!(c)) { errors++; fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

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
    EXPECT(rc == FS_ERR_ARG, "rank %d ring %d n %zu: nonce reuse on the last rank gave %d (%s)",
           rank, ring, n, (int)rc, fs_errmsg());
    char want[32];
    snprintf(want, sizeof want, "rank %d: ", size - 1);
    EXPECT(strncmp(fs_errmsg(), want, strlen(want)) == 0 && strstr(fs_errmsg(), "reused"),
           "rank %d n %zu: message '%s' does not name rank %d and the reuse", rank, n, fs_errmsg(),
           size - 1);
    (*round)++;
    for (size_t k = 0; k < n; k++) x[k] = 0.25f;
    rc = fs_secagg_sum_f32(sa, (*round)++, 1, x, y, n, NULL);
    EXPECT(rc == FS_OK && y[0] == 0.25f * (float)size && y[n - 1] == y[0],
           "rank %d ring %d n %zu: sum after the failure: %d, %g", rank, ring, n, (int)rc, y[0]);
    free(x);
    free(y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    fs_log_set_handler(NULL, NULL, FS_LOG_ERROR);    /* no unauthenticated warning */
    const size_t sizes[] = { 0, 1, 2047, 2048, 2049, 4095, 4096, 4097, 32767, 32768, 32769,
                             65535, 65536, 65537, 1000003, 4194400 };
    const fs_secagg_pipeline sched[] = { { 0, 0, 0 }, { 16384, 1, -1 }, { 20480, 3, 1 },
                                         { 1 << 20, 4, -1 } };
    uint64_t round = 1;
    for (int cfg = 0; cfg < 8; cfg++) {
        const int ring = cfg % 2 ? 64 : 32, si = cfg / 2;
        fs_secagg_opts o = { { ring, 0, 1.0, FS_FIXED_ROUND_NEAREST }, 0, NULL, NULL, 1, 7 };
        o.vec.frac_bits = fs_fixed_suggest(ring, size, 1.0);
        fs_secagg *sa = NULL;
        if (fs_secagg_create(MPI_COMM_WORLD, &o, &sa) != FS_OK) {
            fprintf(stderr, "rank %d: setup: %s\n", rank, fs_errmsg());
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        if (fs_secagg_set_pipeline(sa, &sched[si]) != FS_OK) {
            fprintf(stderr, "rank %d: set_pipeline: %s\n", rank, fs_errmsg());
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        const size_t wb = (size_t)ring / 8;
        for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
            size_t n = sizes[t];
            if (n > 2000000 && (ring == 64 || (si > 0 && si < 3))) continue;   // streaming cases
            if (si > 0 && n > 100000 && n < 2000000 && ring == 64) continue;
            float *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
            float *ref = malloc((n + 1) * sizeof *ref);
            void *w = malloc((n + 1) * wb);
            fill(x, n, rank, (uint32_t)(n + (size_t)ring));
            /* reference: encode, plain integer allreduce, decode */
            fs_fixed_stats st0 = { 0, 0 }, st1 = { 0, 0 };
            EXPECT(fs_fixed_encode_f32(&o.vec, x, n, w, 0, &st0) == FS_OK, "encode");
            MPI_Allreduce(MPI_IN_PLACE, w, (int)n, ring == 32 ? MPI_UINT32_T : MPI_UINT64_T,
                          MPI_SUM, MPI_COMM_WORLD);
            EXPECT(fs_fixed_decode_f32(&o.vec, w, n, ref) == FS_OK, "decode");
            /* out of place, then in place */
            fs_err rc = fs_secagg_sum_f32(sa, round++, 1, x, y, n, &st1);
            EXPECT(rc == FS_OK, "rank %d ring %d sched %d n %zu: %s", rank, ring, si, n, fs_errmsg());
            EXPECT(n == 0 || memcmp(y, ref, n * sizeof *y) == 0,
                   "rank %d ring %d sched %d n %zu: secure sum != plain integer sum", rank, ring, si, n);
            EXPECT(st1.nclipped == st0.nclipped, "rank %d n %zu: clipped %zu != %zu", rank, n,
                   st1.nclipped, st0.nclipped);
            rc = fs_secagg_sum_f32(sa, round++, 1, x, x, n, NULL);
            EXPECT(rc == FS_OK && (n == 0 || memcmp(x, ref, n * sizeof *x) == 0),
                   "rank %d ring %d sched %d n %zu: in-place secure sum differs", rank, ring, si, n);
            free(x); free(y); free(ref); free(w);
        }
        /* failure path: the last rank reuses round 1 (already masked) on a
         * vector of one blocking reduction and on a multi-chunk one */
        failure_path(sa, 1000, &round, rank, size, ring);
        failure_path(sa, 600000, &round, rank, size, ring);
        /* a schedule that differs between ranks is refused everywhere */
        const fs_secagg_pipeline odd = { rank == 0 ? 65536u : 131072u, 2, 0 };
        fs_err rc = fs_secagg_set_pipeline(sa, &odd);
        EXPECT(rc == FS_ERR_ARG && strstr(fs_errmsg(), "differs"),
               "rank %d: mismatched pipeline settings gave %d (%s)", rank, (int)rc, fs_errmsg());
        fs_secagg_destroy(&sa);
    }
    int total = 0;
    MPI_Allreduce(&errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("t_secagg: %d ranks, %s\n", size, total ? "FAILED" : "all checks passed");
    MPI_Finalize();
    return total ? 1 : 0;
}

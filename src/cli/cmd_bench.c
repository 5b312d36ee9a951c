/*
 * cmd_bench.c - `fedsilo bench secsum`: the secure-sum allreduce against
 * the plain ways of moving the same bytes, measured in the same run.
 *
 * For each size, every repetition runs, in turn (interleaved, so all see
 * the same machine state): (a) the naive baseline, one MPI_Allreduce of
 * the float32 vector; (b) the plain integer candidates on the same number
 * of uint32/uint64 words: one blocking MPI_Allreduce, one blocking
 * MPI_Allreduce per 4 or 16 MiB chunk (and per chunk of the secure sum's
 * own schedule when that is blocking), and chunked
 * pipelines of in-place MPI_Iallreduce with several chunk sizes and
 * numbers in flight (always including the secure sum's own schedule) and
 * four with a separate send buffer (another algorithm inside Open MPI);
 * (c) the secure sum.  Each timing is the maximum over ranks of one call
 * between barriers; medians over the repetitions are reported, the best
 * plain is the candidate with the smallest median, and the ratios are to
 * it and to the naive one.  The same with the minimum over the
 * repetitions follows: other programs on the cores only ever add time, so
 * on a shared machine the minimum is the better estimate of each one's own
 * cost.  Then a few more repetitions of the secure sum with profiling on
 * give its time breakdown (encode, keystream, reduce, decode; mean over
 * ranks, median over repetitions) and the masking work (encode +
 * keystream + decode) as a share of the best plain, i.e. the ratio the
 * secure sum would have if none of that work overlapped the reduction:
 * when more ranks share a node than it has cores, their masking work
 * queues for the same cores, so it counts (ranks on the node / cores)
 * times.  Rank 0 also measures
 * the masking engine's keystream rate next to OpenSSL's own AES-128-CTR
 * rate in the same process, and a 40-double statistics sum.  Numbers only:
 * the program never asserts a time.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"

static void bench_usage(FILE *out)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo bench secsum [OPTIONS]\n\n"
        "Time the secure-sum allreduce against the naive MPI_Allreduce of the same float32\n"
        "vector and the fastest of several plain integer allreduces (blocking, and chunked\n"
        "MPI_Iallreduce pipelines), interleaved, median and minimum of max-over-ranks; print\n"
        "both ratios, the secure sum's time breakdown (encode, keystream, reduce, decode) and\n"
        "its masking work as a share of the best plain, the key setup time, the\n"
        "mask-generation rate next to OpenSSL's AES-128-CTR rate, and a 40-double statistics\n"
        "sum.\n\n"
        "  --sizes LIST       comma-separated vector lengths (default 100000,1000000,10000000)\n"
        "  --ring-bits B      32 or 64 (default 32)\n"
        "  --reps R           repetitions per size (default 7)\n"
        "  --mask-degree K    0 full mesh (default) or k-regular mask graph\n"
        "  --pipeline LIST    also time the secure sum with these schedules, KIBxDEPTH[s]\n"
        "                     (chunks of KIB KiB, DEPTH in flight, s: sums into separate\n"
        "                     buffers instead of in place) or KIBxb[s] (one blocking\n"
        "                     MPI_Allreduce per chunk), e.g. 256x2,64x4s,16384xb\n"
        "  --all              print every plain candidate, and CPU time per rank\n"
        "  --plain SET        all (default) or blocking: only the blocking plain candidates\n"
        "                     and the secure sum's own schedule (nonblocking pipelines cost\n"
        "                     seconds each over TCP)\n"
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

static double mean_over_ranks(double t)
{
    double s = t;
    int size;
    MPI_Comm_size(bench_comm, &size);
    MPI_Allreduce(&t, &s, 1, MPI_DOUBLE, MPI_SUM, bench_comm);
    return s / size;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One way of summing the vector.  kind: NAIVE (float MPI_Allreduce),
 * BLOCKING (one MPI_Allreduce of the words), CHUNKED (in-place
 * MPI_Iallreduce of chunk-byte pieces, at most depth in flight; sendbuf:
 * from a separate send buffer instead), BLOCKCHUNK (one in-place blocking
 * MPI_Allreduce per chunk-byte piece), SECURE (fs_secagg_sum_f32; depth 0
 * with blocking: that many blocking chunks, see fs_secagg_pipeline). */
enum { NAIVE, BLOCKING, CHUNKED, BLOCKCHUNK, SECURE };
typedef struct {
    int kind, depth, sendbuf;
    size_t chunk;          /* bytes */
    int blocking;          /* SECURE: fs_secagg_pipeline.blocking */
    double *wall, *cpu;    /* (reps) max over ranks, mean over ranks */
    char name[96];
} candidate;

/* Plain chunked pipeline: the same schedule the secure sum runs, without
 * the masks.  Returns an MPI error code. */
static int chunked_allreduce(const void *send, void *buf, size_t words, size_t wb,
                             MPI_Datatype t, size_t chunk_bytes, int depth, MPI_Request *req)
{
    const size_t cw = chunk_bytes / wb, nchunks = (words + cw - 1) / cw;
    size_t posted = 0, done = 0;
    int mrc = MPI_SUCCESS;
    while (done < nchunks && mrc == MPI_SUCCESS) {
        while (posted < nchunks && posted - done < (size_t)depth && mrc == MPI_SUCCESS) {
            size_t off = posted * cw, m = words - off < cw ? words - off : cw;
            mrc = MPI_Iallreduce(send ? (const unsigned char *)send + off * wb : MPI_IN_PLACE,
                                 (unsigned char *)buf + off * wb, (int)m, t, MPI_SUM,
                                 bench_comm, &req[posted % (size_t)depth]);
            posted++;
        }
        if (mrc == MPI_SUCCESS) mrc = MPI_Wait(&req[done % (size_t)depth], MPI_STATUS_IGNORE);
        done++;
    }
    return mrc;
}

/* Plain blocking chunks: one in-place MPI_Allreduce per chunk.  Returns
 * an MPI error code. */
static int blocking_chunks(void *buf, size_t words, size_t wb, MPI_Datatype t, size_t chunk_bytes)
{
    const size_t cw = chunk_bytes / wb;
    int mrc = MPI_SUCCESS;
    for (size_t off = 0; off < words && mrc == MPI_SUCCESS; off += cw)
        mrc = MPI_Allreduce(MPI_IN_PLACE, (unsigned char *)buf + off * wb,
                            (int)(words - off < cw ? words - off : cw), t, MPI_SUM, bench_comm);
    return mrc;
}

static int have_candidate(const candidate *c, int nc, int kind, size_t chunk, int depth, int sb)
{
    for (int i = 0; i < nc; i++)
        if (c[i].kind == kind && c[i].chunk == chunk && c[i].depth == depth && c[i].sendbuf == sb)
            return 1;
    return 0;
}

#define MAX_CANDIDATES 40
#define MAX_DEPTH 64           /* reductions in flight, at most (--pipeline) */
#define MAX_SCHEDULES 16

/* The candidates for a vector of `bytes` bytes of words; the secure sum's
 * schedule `plan` is always among the plain ones; blocking_only leaves out
 * the other nonblocking pipelines (over TCP each costs seconds); then the
 * secure sum (automatic schedule) and one secure sum per schedule in
 * sched.  Returns the count. */
static int make_candidates(candidate *c, size_t bytes, const fs_secagg_pipeline *plan,
                           const fs_secagg_pipeline *sched, int nsched, int blocking_only)
{
    static const size_t chunks[] = { 64 << 10, 256 << 10, 1 << 20, 4 << 20 };
    static const size_t bchunks[] = { 4 << 20, 16 << 20 };
    static const int depths[] = { 1, 2, 4 };
    int nc = 0;
    c[nc++] = (candidate){ NAIVE, 0, 0, 0, 0, NULL, NULL, "float MPI_Allreduce" };
    c[nc++] = (candidate){ BLOCKING, 0, 0, bytes, 0, NULL, NULL, "one MPI_Allreduce of the words" };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0] && !blocking_only; i++)
        for (size_t j = 0; j < sizeof depths / sizeof depths[0]; j++)
            if (chunks[i] < bytes)
                c[nc++] = (candidate){ CHUNKED, depths[j], 0, chunks[i], 0, NULL, NULL, "" };
    for (size_t i = 1; i < 3 && !blocking_only; i++)
        for (int d = 2; d <= 4; d += 2)
            if (chunks[i] < bytes)
                c[nc++] = (candidate){ CHUNKED, d, 1, chunks[i], 0, NULL, NULL, "" };
    for (size_t i = 0; i < sizeof bchunks / sizeof bchunks[0]; i++)
        if (bchunks[i] < bytes)
            c[nc++] = (candidate){ BLOCKCHUNK, 1, 0, bchunks[i], 1, NULL, NULL, "" };
    if (plan->depth > 0 && !plan->blocking &&
        !have_candidate(c, nc, CHUNKED, plan->chunk_bytes, plan->depth, plan->separate))
        c[nc++] = (candidate){ CHUNKED, plan->depth, plan->separate, plan->chunk_bytes, 0, NULL,
                               NULL, "" };
    if (plan->depth > 0 && plan->blocking &&
        !have_candidate(c, nc, BLOCKCHUNK, plan->chunk_bytes, 1, 0))
        c[nc++] = (candidate){ BLOCKCHUNK, 1, 0, plan->chunk_bytes, 1, NULL, NULL, "" };
    for (int i = 0; i < nc; i++)
        if (c[i].kind == CHUNKED)
            snprintf(c[i].name, sizeof c[i].name, "%zu KiB chunks, %d in flight%s",
                     c[i].chunk >> 10, c[i].depth, c[i].sendbuf ? ", send buffer" : "");
        else if (c[i].kind == BLOCKCHUNK)
            snprintf(c[i].name, sizeof c[i].name, "%zu KiB blocking chunks", c[i].chunk >> 10);
    c[nc++] = (candidate){ SECURE, 0, 0, 0, 0, NULL, NULL, "secure sum" };
    for (int i = 0; i < nsched && nc < MAX_CANDIDATES; i++) {
        const fs_secagg_pipeline *q = &sched[i];
        c[nc] = (candidate){ SECURE, q->depth, q->separate > 0, q->chunk_bytes, q->blocking > 0,
                             NULL, NULL, "" };
        if (q->blocking > 0)
            snprintf(c[nc].name, sizeof c[nc].name, "secure sum, %zu KiB blocking chunks%s",
                     q->chunk_bytes >> 10, q->separate > 0 ? ", separate sums" : "");
        else
            snprintf(c[nc].name, sizeof c[nc].name, "secure sum, %zu KiB chunks, %d in flight%s",
                     q->chunk_bytes >> 10, q->depth, q->separate > 0 ? ", separate sums" : "");
        nc++;
    }
    return nc;
}

/* Buffers of one size: inputs x, outputs y (float); words w and a send
 * buffer s of the plain integer candidates; MPI requests. */
typedef struct {
    size_t n, words, wb;
    MPI_Datatype type;
    float *x, *y;
    void *w, *s;
    MPI_Request *req;
} bench_bufs;

/* Run candidate c once (collective); sets *wall and *cpu of this rank.
 * Returns FS_OK, or the secure sum's error / FS_ERR_MPI. */
static fs_err run_one(fs_secagg *sa, const candidate *c, bench_bufs *b, uint64_t *round,
                      double *wall, double *cpu)
{
    fs_err rc = FS_OK;
    int mrc = MPI_SUCCESS;
    // a secure candidate: its explicit schedule, or (chunk 0) the automatic one
    const fs_secagg_pipeline pl = { c->chunk, c->depth, c->sendbuf ? 1 : -1, c->blocking ? 1 : -1 };
    if (c->kind == SECURE && (rc = fs_secagg_set_pipeline(sa, c->chunk ? &pl : NULL)) != FS_OK)
        return rc;
    MPI_Barrier(bench_comm);
    const double t0 = fs_now(), c0 = cpu_now();
    switch (c->kind) {
    case NAIVE:
        mrc = MPI_Allreduce(b->x, b->y, (int)b->n, MPI_FLOAT, MPI_SUM, bench_comm);
        break;
    case BLOCKING:
        mrc = MPI_Allreduce(MPI_IN_PLACE, b->w, (int)b->words, b->type, MPI_SUM, bench_comm);
        break;
    case CHUNKED:
        mrc = chunked_allreduce(c->sendbuf ? b->s : NULL, b->w, b->words, b->wb, b->type,
                                c->chunk, c->depth, b->req);
        break;
    case BLOCKCHUNK:
        mrc = blocking_chunks(b->w, b->words, b->wb, b->type, c->chunk);
        break;
    default:
        rc = fs_secagg_sum_f32(sa, (*round)++, 7, b->x, b->y, b->n, NULL);
        break;
    }
    *wall = fs_now() - t0;
    *cpu = cpu_now() - c0;
    if (mrc != MPI_SUCCESS) rc = fs_error_set(FS_ERR_MPI, "plain candidate '%s' failed", c->name);
    return rc;
}

/* Cores per rank on rank 0's node: min(1, online CPUs / ranks on the
 * node).  Collective over bench_comm. */
static double cores_per_rank(void)
{
    MPI_Comm node = MPI_COMM_NULL;
    int local = 1;
    if (MPI_Comm_split_type(bench_comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    MPI_Bcast(&local, 1, MPI_INT, 0, bench_comm);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    return local <= cores ? 1.0 : (double)cores / local;
}

/* Breakdown of the secure sum over `reps` profiled calls: mean over ranks
 * of each part, median over calls, printed by rank 0 with the masking work
 * relative to plain_s (the best plain's minimum, seconds); cpr: cores per
 * rank (cores_per_rank). */
static fs_err secure_breakdown(fs_secagg *sa, bench_bufs *b, uint64_t *round, int reps, int rank,
                               double plain_s, double cpr)
{
    fs_err rc = FS_OK;
    double *v = calloc((size_t)6 * (size_t)reps, sizeof *v);
    fs_secagg_profile pr = { 0 };
    if (!v) return fs_error_set(FS_ERR_NOMEM, "out of memory for the breakdown");
    fs_secagg_profile_enable(sa, 1);
    for (int r = 0; r < reps && rc == FS_OK; r++) {
        MPI_Barrier(bench_comm);
        rc = fs_secagg_sum_f32(sa, (*round)++, 7, b->x, b->y, b->n, NULL);
        fs_secagg_last_profile(sa, &pr);
        const double parts[6] = { pr.encode_s, pr.keystream_s, pr.reduce_s, pr.decode_s,
                                  pr.total_s - pr.encode_s - pr.keystream_s - pr.reduce_s -
                                      pr.decode_s, pr.total_s };
        for (int k = 0; k < 6; k++) v[k * reps + r] = mean_over_ranks(parts[k]);
    }
    fs_secagg_profile_enable(sa, 0);
    if (rc == FS_OK && rank == 0) {
        double m[6];
        for (int k = 0; k < 6; k++) m[k] = 1e3 * median(v + k * reps, reps);
        // keystream per rank: one stream of n + 1 words per neighbour
        const double ks = (double)fs_secagg_degree(sa) * (double)(b->n + 1) * (double)b->wb;
        char sched[96];
        if (pr.depth && pr.blocking)
            snprintf(sched, sizeof sched, "%zu blocking MPI_Allreduce calls of %zu KiB",
                     pr.nchunks, pr.chunk_bytes >> 10);
        else if (pr.depth)
            snprintf(sched, sizeof sched, "%zu chunks of %zu KiB, %d in flight%s", pr.nchunks,
                     pr.chunk_bytes >> 10, pr.depth, pr.separate ? ", separate sums" : "");
        else
            snprintf(sched, sizeof sched, "one blocking MPI_Allreduce");
        printf("  breakdown (mean over ranks, median of %d profiled calls): encode %.3f ms, "
               "keystream %.3f ms (%.1f MB per rank, %.1f GB/s), reduce %.3f ms, decode %.3f ms, "
               "other %.3f ms; total %.3f ms; schedule: %s\n", reps, m[0], m[1], ks / 1e6,
               m[1] > 0 ? ks / m[1] / 1e6 : 0.0, m[2], m[3], m[4], m[5], sched);
        const double work = m[0] + m[1] + m[3], queued = work / cpr;
        printf("  masking work (encode + keystream + decode) %.3f ms per rank, %.3f ms with %.2g "
               "cores per rank = %.0f%% of the best plain's minimum: %.2fx if none of it "
               "overlapped the reduction\n", work, queued, cpr, 100.0 * queued / (1e3 * plain_s),
               1.0 + queued / (1e3 * plain_s));
    }
    free(v);
    return rc;
}

/* One size: all candidates interleaved, then the breakdown.  Prints on
 * rank 0.  Returns FS_OK or the first error. */
static fs_err bench_size(fs_secagg *sa, size_t n, int ring, int reps, int all, int blocking_only,
                         const fs_secagg_pipeline *sched, int nsched, uint64_t *round, int rank,
                         int size, double cpr)
{
    fs_err rc = FS_OK;
    candidate c[MAX_CANDIDATES];
    // the plain candidates reduce as many words as the secure sum: the n
    // values, the canary and the flag word
    bench_bufs b = { n, n + 2, (size_t)ring / 8, ring == 32 ? MPI_UINT32_T : MPI_UINT64_T,
                     NULL, NULL, NULL, NULL, NULL };
    fs_secagg_pipeline plan;
    fs_secagg_pipeline_plan(sa, n, &plan);
    int nc = make_candidates(c, b.words * b.wb, &plan, sched, nsched, blocking_only);
    int ok = (b.x = malloc(n * sizeof *b.x)) && (b.y = malloc(n * sizeof *b.y)) &&
             (b.w = calloc(b.words, b.wb)) && (b.s = calloc(b.words, b.wb)) &&
             (b.req = malloc(MAX_DEPTH * sizeof *b.req));
    for (int i = 0; ok && i < nc; i++)
        ok = (c[i].wall = malloc((size_t)reps * sizeof(double))) &&
             (c[i].cpu = malloc((size_t)reps * sizeof(double)));
    if (!ok) { rc = fs_error_set(FS_ERR_NOMEM, "out of memory for n=%zu", n); goto done; }
    uint64_t st = 0x9e3779b97f4a7c15ull * (uint64_t)(rank + 1);
    for (size_t i = 0; i < n; i++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        b.x[i] = (float)((double)(st >> 11) * 0x1.0p-53 - 0.5) / (float)size;
    }
    double maxerr = 0, ref0 = 0, refn = 0;
    for (int r = -1; r < reps && rc == FS_OK; r++) {   /* r = -1 is the warm-up */
        for (int i = 0; i < nc && rc == FS_OK; i++) {
            double wall = 0, cpu = 0;
            rc = run_one(sa, &c[i], &b, round, &wall, &cpu);
            if (rc != FS_OK) break;
            if (c[i].kind == NAIVE) {
                // the naive float sum at two probes, for the accuracy check
                ref0 = b.y[0];
                refn = b.y[n - 1];
            } else if (c[i].kind == SECURE) {
                double e0 = b.y[0] - ref0, e1 = b.y[n - 1] - refn;
                e0 = e0 < 0 ? -e0 : e0;
                e1 = e1 < 0 ? -e1 : e1;
                if (e0 > maxerr) maxerr = e0;
                if (e1 > maxerr) maxerr = e1;
            }
            wall = max_over_ranks(wall);
            cpu = mean_over_ranks(cpu);
            if (r >= 0) { c[i].wall[r] = wall; c[i].cpu[r] = cpu; }
        }
    }
    if (rc != FS_OK) goto done;
    double med[MAX_CANDIDATES], cmed[MAX_CANDIDATES], mn[MAX_CANDIDATES];
    int best = -1, bestmin = -1;
    for (int i = 0; i < nc; i++) {
        med[i] = median(c[i].wall, reps);   // sorts: wall[0] is the minimum
        mn[i] = c[i].wall[0];
        cmed[i] = median(c[i].cpu, reps);
        const int plain = c[i].kind == BLOCKING || c[i].kind == CHUNKED || c[i].kind == BLOCKCHUNK;
        if (plain && (best < 0 || med[i] < med[best])) best = i;
        if (plain && (bestmin < 0 || mn[i] < mn[bestmin])) bestmin = i;
    }
    int naive = 0, sec = 0, same = 1;   // same: the plain twin of the secure schedule
    while (c[sec].kind != SECURE) sec++;
    for (int i = 1; i < sec; i++)
        if (c[i].kind == (plan.blocking ? BLOCKCHUNK : CHUNKED) && c[i].sendbuf == plan.separate &&
            c[i].chunk == plan.chunk_bytes && c[i].depth == plan.depth)
            same = i;
    if (rank == 0) {
        printf("d=%-9zu naive float MPI_Allreduce %9.3f ms   best plain %9.3f ms   secure sum "
               "%9.3f ms   ratio %.2fx best plain, %.2fx naive   (|secure - plain| <= %.2g on "
               "probes)\n", n, 1e3 * med[naive], 1e3 * med[best], 1e3 * med[sec],
               med[sec] / med[best], med[sec] / med[naive], maxerr);
        printf("  best plain: %s; the secure sum's schedule without masks (%s): %.3f ms; "
               "CPU per rank: secure %.3f ms, best plain %.3f ms (%.2fx), same schedule %.3f ms\n",
               c[best].name, c[same].name, 1e3 * med[same], 1e3 * cmed[sec], 1e3 * cmed[best],
               cmed[sec] / cmed[best], 1e3 * cmed[same]);
        printf("  minimum of %d repetitions: naive %.3f ms, best plain %.3f ms (%s), secure sum "
               "%.3f ms, ratio %.2fx best plain, %.2fx naive\n", reps, 1e3 * mn[naive],
               1e3 * mn[bestmin], c[bestmin].name, 1e3 * mn[sec], mn[sec] / mn[bestmin],
               mn[sec] / mn[naive]);
        for (int i = sec + 1; i < nc; i++)
            printf("  %s: %.3f ms, ratio %.2fx best plain (minimum %.3f ms, %.2fx)\n", c[i].name,
                   1e3 * med[i], med[i] / med[best], 1e3 * mn[i], mn[i] / mn[bestmin]);
        for (int i = 0; all && i < nc; i++)
            printf("    %-42s wall %9.3f ms (minimum %9.3f ms)  CPU per rank %9.3f ms  (%.2fx "
                   "best)\n", c[i].name, 1e3 * med[i], 1e3 * mn[i], 1e3 * cmed[i],
                   med[i] / med[best]);
        fflush(stdout);
    }
    rc = fs_secagg_set_pipeline(sa, NULL);      // the breakdown: automatic schedule
    if (rc == FS_OK) rc = secure_breakdown(sa, &b, round, reps < 3 ? 3 : reps, rank, mn[bestmin],
                                                cpr);
    if (rank == 0) fflush(stdout);
done:
    for (int i = 0; i < nc; i++) { free(c[i].wall); free(c[i].cpu); }
    free(b.x); free(b.y); free(b.w); free(b.s); free(b.req);
    return rc;
}

/* A statistics vector of 40 doubles (the size of the per-round metrics):
 * secure (fs_secagg_sum_f64) against a double MPI_Allreduce, interleaved,
 * median of max-over-ranks of 50 calls each. */
static fs_err bench_stats(fs_secagg *sa, uint64_t *round, int rank)
{
    enum { NS = 40, R = 50 };
    double in[NS], out[NS], tp[R], ts[R];
    fs_err rc = FS_OK;
    for (int i = 0; i < NS; i++) in[i] = (double)(rank + i);
    for (int r = -1; r < R && rc == FS_OK; r++) {
        MPI_Barrier(bench_comm);
        double t0 = fs_now();
        MPI_Allreduce(in, out, NS, MPI_DOUBLE, MPI_SUM, bench_comm);
        double t1 = max_over_ranks(fs_now() - t0);
        MPI_Barrier(bench_comm);
        t0 = fs_now();
        rc = fs_secagg_sum_f64(sa, (*round)++, 8, in, out, NS, NULL);
        double t2 = max_over_ranks(fs_now() - t0);
        if (r >= 0) { tp[r] = t1; ts[r] = t2; }
    }
    if (rc == FS_OK && rank == 0)
        printf("statistics sum (%d doubles, 64-bit ring): secure %.1f us, plain double "
               "MPI_Allreduce %.1f us (median of %d)\n", NS, 1e6 * median(ts, R),
               1e6 * median(tp, R), R);
    return rc;
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
    int setup_only = 0, all = 0, nsched = 0, blocking_only = 0;
    fs_secagg_pipeline sched[MAX_SCHEDULES];
    static const struct option lo[] = {
        { "sizes", required_argument, 0, 's' }, { "ring-bits", required_argument, 0, 'b' },
        { "reps", required_argument, 0, 'r' }, { "mask-degree", required_argument, 0, 'k' },
        { "roster", required_argument, 0, 'R' }, { "identity", required_argument, 0, 'I' },
        { "setup-only", no_argument, 0, 'S' }, { "help", no_argument, 0, 'h' },
        { "pipeline", required_argument, 0, 'P' }, { "all", no_argument, 0, 'A' },
        { "plain", required_argument, 0, 'L' }, { 0, 0, 0, 0 } };
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
        case 'A': all = 1; break;
        case 'L':
            if (strcmp(optarg, "all") && strcmp(optarg, "blocking"))
                return fs_cli_usage_error("bench", "--plain must be 'all' or 'blocking', got '%s'",
                                          optarg);
            blocking_only = !strcmp(optarg, "blocking");
            break;
        case 'P':
            for (const char *p = optarg; *p;) {
                char *end = NULL;
                unsigned long kib = strtoul(p, &end, 10), d = 0;
                int sep = -1, blk = -1;
                if (end && end[0] == 'x' && end[1] == 'b') { d = 1; blk = 1; end += 2; }
                else if (end && *end == 'x') d = strtoul(end + 1, &end, 10);
                if (end && *end == 's') { sep = 1; end++; }
                if (!kib || kib > (1ul << 20) || d < 1 || d > MAX_DEPTH || (*end && *end != ',') ||
                    nsched == MAX_SCHEDULES)
                    return fs_cli_usage_error("bench", "--pipeline wants up to %d schedules "
                                              "KIBxDEPTH[s] or KIBxb[s], e.g. 256x2,64x4s,16384xb",
                                              MAX_SCHEDULES);
                sched[nsched++] = (fs_secagg_pipeline){ (size_t)kib << 10, (int)d, sep, blk };
                p = *end ? end + 1 : end;
            }
            break;
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
    const double cpr = cores_per_rank();
    for (char *tok = setup_only || status ? NULL : strtok(sizes_arg, ","); tok;
         tok = strtok(NULL, ",")) {
        size_t n = (size_t)strtod(tok, NULL);
        if (n == 0) continue;
        if (bench_size(sa, n, (int)ring, (int)reps, all, blocking_only, sched, nsched, &round, rank,
                       size, cpr) != FS_OK) {
            if (rank == 0) fs_cli_fail("bench", "%s", fs_errmsg());
            status = 1;
            break;
        }
    }
    if (status == 0 && !setup_only && bench_stats(sa, &round, rank) != FS_OK) {
        if (rank == 0) fs_cli_fail("bench", "%s", fs_errmsg());
        status = 1;
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

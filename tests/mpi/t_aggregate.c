/*
 * t_aggregate.c - the aggregation interface of the round (src/secagg/fs_aggregate.c)
 * under MPI: fs_agg_create / fs_agg_sum_f32 / fs_agg_sum_f64, plain and
 * secure (unauthenticated key setup: no roster needed here).
 *
 *   equality   for integer-valued inputs, plain and secure return the same
 *              sums bit for bit, and both equal the exact sum (each rank
 *              regenerates every rank's input from its seed); f32 vectors
 *              of several pipeline chunks, f64 statistics up to +-2^31.
 *   clipping   a coordinate beyond the clip is clipped and counted in
 *              nclipped by the secure codec; plain clips nothing.
 *   refusal    the f64 statistics codec refuses a value beyond +-2^31 and
 *              NaN: every rank returns FS_ERR_NUMERIC with the message of
 *              the offending rank, nothing is sent, and the session goes on.
 *   freshness  secure mode refuses a (round, vector id) already used, and a
 *              lower round, on every rank (the mask nonce); a new vector id
 *              or round is accepted; float vectors and statistics have
 *              separate nonce spaces (separate keys).  Plain mode has no
 *              nonces and accepts repeats.
 *   ddp        fs_ddp_sum (distributed DP through the secure sum, rings 32
 *              and 64) equals, bit for bit, the decoded mod-2^b sum of every
 *              rank's fs_ddp_encode + fs_ddp_add_noise words, which each rank
 *              recomputes from the ranks' (test-only) noise seeds.
 *
 * Run by tests/mpi/aggregate.sh with 3 ranks under a timeout; verdict
 * through mtest.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_ddp.h"
#include "fs_fl_impl.h"
#include "fs_impl.h"
#include "fs_secagg_impl.h"
#include "mtest.h"

enum { NF = 150000 };  // f32 vector: 3 pipeline chunks of 65536 words

/* Rank r's integer-valued inputs: f32 in [-4, 4] (the clip), f64 in
 * [-2^31, 2^31] (the statistics codec's range) plus the two extremes. */
static void inputs(int r, float *x, double *s, size_t ns)
{
    fs_rng g;
    fs_rng_seed(&g, fs_rng_key(0x61676772 /* "aggr" */, (uint64_t)r, 0, 0));
    for (size_t i = 0; i < NF; i++) x[i] = (float)((int)fs_rng_below(&g, 9) - 4);
    for (size_t i = 0; i < ns; i++)
        s[i] = (double)((int64_t)fs_rng_below(&g, UINT64_C(1) << 32) - (INT64_C(1) << 31));
    s[0] = 2147483648.0;   // +2^31, the largest accepted magnitude
    s[1] = -2147483648.0;
}

static fs_agg *make_agg(const char *mode, const char *ring_bits)
{
    int size = 0;
    fs_agg *agg = NULL;
    fs_agg_opts ao;
    memset(&ao, 0, sizeof ao);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ao.mode = strcmp(mode, "plain") == 0 ? FS_AGG_PLAIN : FS_AGG_SECURE;
    fs_secagg_opts_default(&ao.sa, size);
    ao.sa.vec.ring_bits = atoi(ring_bits);
    ao.sa.vec.clip = 4;           /* the --clip default */
    ao.sa.vec.frac_bits = -1;     /* the largest the headroom rule allows */
    ao.sa.allow_unauthenticated = 1;
    if (fs_agg_create(MPI_COMM_WORLD, &ao, &agg) != FS_OK)  // collective: key setup
        mtest_hard("fs_agg_create(%s): %s", mode, fs_errmsg());
    return agg;
}

/* FS_ERR_NUMERIC on every rank, with the message of rank `bad` naming the
 * problem; then a fresh round works again. */
static void expect_refused(fs_agg *agg, int round, const double *v, size_t n, int bad,
                           const char *what)
{
    double out[4];
    fs_err rc = fs_agg_sum_f64(agg, round, FS_VEC_EVAL, v, out, n);
    char want[32];
    snprintf(want, sizeof want, "rank %d: ", bad);
    MT_CHECK(rc == FS_ERR_NUMERIC, "%s on rank %d gave %d (%s)", what, bad, (int)rc, fs_errmsg());
    MT_CHECK(strncmp(fs_errmsg(), want, strlen(want)) == 0 && strstr(fs_errmsg(), what),
             "message '%s' does not name rank %d and '%s'", fs_errmsg(), bad, what);
    const double one[4] = { 1, 1, 1, 1 };
    rc = fs_agg_sum_f64(agg, round + 1, FS_VEC_EVAL, one, out, 4);
    MT_CHECK(rc == FS_OK && out[3] == mtest_size(), "sum after the refusal: %d, %g", (int)rc,
             out[3]);
}

/*
 * Distributed DP in ring b: every rank builds the plans of all ranks (the
 * noise seed of rank r is r + 1 in its first byte), encodes and noises
 * every rank's update locally and decodes the mod-2^b sum; fs_ddp_sum over
 * the secure sum must give exactly that.  Rank r's update has norm
 * 0.3 (r + 1), so with clip 0.5 rank 0 is kept and the others are clipped.
 */
static void check_ddp(int b)
{
    enum { N_DDP = 1000 };
    const int size = mtest_size(), rank = mtest_rank();
    const uint8_t rseed[32] = { 7 };
    fs_agg *agg = make_agg("secure", b == 32 ? "32" : "64");
    fs_ddp **plans = calloc((size_t)size, sizeof *plans);
    float *u = malloc(N_DDP * sizeof *u), *mine = malloc(N_DDP * sizeof *mine);
    float *want = malloc(N_DDP * sizeof *want), *out = malloc(N_DDP * sizeof *out);
    if (!plans || !u || !mine || !want || !out) mtest_hard("out of memory");
    void *w = NULL, *acc = NULL;
    size_t D = 0;
    for (int r = 0; r < size; r++) {
        uint8_t nseed[32] = { (uint8_t)(r + 1) };
        if (fs_ddp_create(N_DDP, size, size, b, 0.5, 0.5, 1e-9, rseed, nseed, &plans[r]) != FS_OK)
            mtest_hard("ddp plan (ring %d): %s", b, fs_errmsg());
        if (!w) {
            D = fs_ddp_dim(plans[r]);
            w = calloc(D + 1, (size_t)b / 8);
            acc = calloc(D + 1, (size_t)b / 8);
            if (!w || !acc) mtest_hard("out of memory");
        }
        fs_rng g;
        fs_rng_seed(&g, fs_rng_key(0x64647020 /* "ddp " */, (uint64_t)r, (uint64_t)b, 0));
        double n2 = 0;
        for (size_t i = 0; i < N_DDP; i++) {
            u[i] = (float)fs_rng_normal(&g);
            n2 += (double)u[i] * u[i];
        }
        for (size_t i = 0; i < N_DDP; i++) u[i] = (float)(u[i] * 0.3 * (r + 1) / sqrt(n2));
        if (r == rank) memcpy(mine, u, N_DDP * sizeof *u);
        int clipped = -1;
        MT_CHECK(fs_ddp_encode(plans[r], 5, u, w, &clipped) == FS_OK &&
                 fs_ddp_add_noise(plans[r], 5, w) == FS_OK, "ring %d: local steps: %s", b,
                 fs_errmsg());
        MT_CHECK(clipped == (r > 0), "ring %d: rank %d's update clipped = %d", b, r, clipped);
        for (size_t i = 0; i <= D; i++) {
            if (b == 32) ((uint32_t *)acc)[i] += ((uint32_t *)w)[i];
            else ((uint64_t *)acc)[i] += ((uint64_t *)w)[i];
        }
    }
    MT_CHECK(fs_ddp_decode(plans[0], 5, acc, want) == FS_OK, "decode: %s", fs_errmsg());
    /* this rank's own plan (a fresh object: its noise stream is the one the
     * simulation used for this rank), through the secure sum */
    fs_ddp *p = NULL;
    uint8_t nseed[32] = { (uint8_t)(rank + 1) };
    if (fs_ddp_create(N_DDP, size, size, b, 0.5, 0.5, 1e-9, rseed, nseed, &p) != FS_OK)
        mtest_hard("ddp plan: %s", fs_errmsg());
    int clipped = -1;
    fs_err rc = fs_ddp_sum(p, fs_agg_secagg(agg), 5, FS_VEC_UPDATE, mine, out, &clipped);
    MT_CHECK(rc == FS_OK, "ring %d: fs_ddp_sum: %s", b, fs_errmsg());
    MT_CHECK(clipped == (rank > 0), "ring %d: clipped = %d", b, clipped);
    MT_CHECK(memcmp(out, want, N_DDP * sizeof *out) == 0,
             "ring %d: fs_ddp_sum differs from the local encode + noise + sum + decode", b);
    fs_ddp_destroy(&p);
    for (int r = 0; r < size; r++) fs_ddp_destroy(&plans[r]);
    free(plans); free(u); free(mine); free(want); free(out); free(w); free(acc);
    fs_agg_destroy(&agg);
}

int main(int argc, char **argv)
{
    mtest_init(&argc, &argv);
    const int rank = mtest_rank(), size = mtest_size();
    fs_log_set_handler(NULL, NULL, FS_LOG_ERROR);  // no unauthenticated-mode warning
    const size_t NS = 40;
    float *x = malloc(NF * sizeof *x), *xr = malloc(NF * sizeof *xr);
    float *want = calloc(NF, sizeof *want), *got[2] = { malloc(NF * sizeof(float)),
                                                        malloc(NF * sizeof(float)) };
    double s[40], sr[40], swant[40] = { 0 }, sgot[2][40];
    if (!x || !xr || !want || !got[0] || !got[1]) mtest_hard("out of memory");
    for (int r = 0; r < size; r++) {  // the exact sums, from every rank's seed
        inputs(r, xr, sr, NS);
        for (size_t i = 0; i < NF; i++) want[i] += xr[i];   // exact: small integers
        for (size_t i = 0; i < NS; i++) swant[i] += sr[i];  // exact: < 2^53
    }
    inputs(rank, x, s, NS);

    fs_agg *agg[2] = { make_agg("plain", "32"), make_agg("secure", "32") };
    MT_CHECK(strcmp(fs_agg_name(agg[0]), "plain") == 0 && !fs_agg_secagg(agg[0]), "plain mode");
    MT_CHECK(strcmp(fs_agg_name(agg[1]), "secure") == 0 && fs_agg_secagg(agg[1]), "secure mode");
    for (int m = 0; m < 2; m++) {
        size_t nclip = 99;
        fs_err rc = fs_agg_sum_f32(agg[m], 1, FS_VEC_UPDATE, x, got[m], NF, &nclip);
        MT_CHECK(rc == FS_OK && nclip == 0, "%s f32: %d (%s), clipped %zu", fs_agg_name(agg[m]),
                 (int)rc, fs_errmsg(), nclip);
        MT_CHECK(memcmp(got[m], want, NF * sizeof *want) == 0, "%s f32 sum is not exact",
                 fs_agg_name(agg[m]));
        rc = fs_agg_sum_f64(agg[m], 0, FS_VEC_NSAMPLES, s, sgot[m], NS);
        MT_CHECK(rc == FS_OK, "%s f64: %s", fs_agg_name(agg[m]), fs_errmsg());
        MT_CHECK(memcmp(sgot[m], swant, sizeof swant) == 0, "%s f64 sum is not exact (%.17g vs %.17g)",
                 fs_agg_name(agg[m]), sgot[m][0], swant[0]);
    }
    MT_CHECK(memcmp(got[0], got[1], NF * sizeof(float)) == 0, "plain f32 != secure f32");
    MT_CHECK(memcmp(sgot[0], sgot[1], sizeof sgot[0]) == 0, "plain f64 != secure f64");

    /* clipping: every rank puts +-5 beyond the clip 4 at two coordinates;
     * secure clips them to +-4 and counts 2 per rank, plain sums them */
    x[10] = 5.0f;
    x[NF - 1] = -5.0f;
    for (int m = 0; m < 2; m++) {
        size_t nclip = 99;
        fs_err rc = fs_agg_sum_f32(agg[m], 2, FS_VEC_UPDATE, x, got[m], NF, &nclip);
        const float lim = m ? 4.0f : 5.0f;
        MT_CHECK(rc == FS_OK && nclip == (m ? 2u : 0u), "%s: clipped %zu", fs_agg_name(agg[m]),
                 nclip);
        MT_CHECK(got[m][10] == lim * size && got[m][NF - 1] == -lim * size,
                 "%s: clipped coordinates sum to %g, %g", fs_agg_name(agg[m]), got[m][10],
                 got[m][NF - 1]);
    }

    /* refusal of the statistics codec, from one rank at a time */
    fs_agg *sec = agg[1];
    double v[4] = { 1, 2, 3, 4 };
    for (int bad = 0; bad < size; bad++) {
        v[2] = rank == bad ? 2147483648.0 * 1.5 : 3;
        expect_refused(sec, 10 + 4 * bad, v, 4, bad, "beyond +-2^31");
        v[2] = rank == bad ? NAN : 3;
        expect_refused(sec, 12 + 4 * bad, v, 4, bad, "NaN");
    }
    v[2] = 3;
    v[3] = rank == size - 1 ? -INFINITY : 4;
    expect_refused(sec, 30, v, 4, size - 1, "beyond +-2^31");

    /* freshness (secure): the nonce is (round, vector id) per codec */
    double out[4];
    fs_err rc = fs_agg_sum_f32(sec, 2, FS_VEC_UPDATE, x, got[1], NF, NULL);  // used above
    MT_CHECK(rc == FS_ERR_ARG, "a repeated (round 2, update) gave %d", (int)rc);
    MT_CHECK(strstr(fs_errmsg(), "rank 0: ") == fs_errmsg(), "message '%s'", fs_errmsg());
    rc = fs_agg_sum_f32(sec, 1, FS_VEC_UPDATE, x, got[1], NF, NULL);  // a lower round
    MT_CHECK(rc == FS_ERR_ARG, "a lower round gave %d", (int)rc);
    rc = fs_agg_sum_f32(sec, 2, FS_VEC_TRAIN, x, got[1], NF, NULL);  // same round, new id
    MT_CHECK(rc == FS_OK, "a new vector id in round 2: %s", fs_errmsg());
    rc = fs_agg_sum_f32(sec, 3, FS_VEC_UPDATE, x, got[1], NF, NULL);  // next round
    MT_CHECK(rc == FS_OK, "round 3: %s", fs_errmsg());
    rc = fs_agg_sum_f64(sec, 30, FS_VEC_EVAL, v, out, 4);  // refused above: claimed
    MT_CHECK(rc == FS_ERR_ARG, "statistics (round 30, eval) again gave %d", (int)rc);
    rc = fs_agg_sum_f64(sec, 0, FS_VEC_NSAMPLES, s, sgot[1], NS);  // used above
    MT_CHECK(rc == FS_ERR_ARG, "statistics (round 0, nsamples) again gave %d", (int)rc);
    v[3] = 4;
    rc = fs_agg_sum_f64(sec, 3, FS_VEC_UPDATE, v, out, 4);  // f32 used (3, update): other keys
    MT_CHECK(rc == FS_OK && out[0] == size, "statistics at (3, update): %s", fs_errmsg());
    /* plain has no nonces: repeats are summed again */
    rc = fs_agg_sum_f64(agg[0], 0, FS_VEC_NSAMPLES, s, sgot[0], NS);
    MT_CHECK(rc == FS_OK && memcmp(sgot[0], swant, sizeof swant) == 0, "plain repeat: %s",
             fs_errmsg());

    fs_agg_destroy(&agg[0]);
    fs_agg_destroy(&agg[1]);
    MT_CHECK(agg[0] == NULL && agg[1] == NULL, "fs_agg_destroy leaves a pointer");
    free(x); free(xr); free(want); free(got[0]); free(got[1]);
    check_ddp(32);
    check_ddp(64);
    return mtest_finalize();
}

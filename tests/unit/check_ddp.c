/*
 * check_ddp.c - the distributed-DP codec of the aggregation (src/secagg/fs_ddp.c)
 * without MPI: the rank-local steps fs_ddp_encode / fs_ddp_add_noise /
 * fs_ddp_decode, with the secure sum replaced by the plain sum of the ring
 * words of simulated ranks (the masks cancel exactly, so this is what the
 * secure sum returns).
 *
 *   plan      with the sensitivity S = c 2^f + sqrt(d')/2 and H honest
 *             institutions, f is the largest number of fractional bits whose
 *             union bound d' * 2 exp(-(2^(b-1) - N M)^2 / (2 N (z S)^2 / H)),
 *             M = floor(S), is <= max_wrap (recomputed here from the
 *             formula), within the sampler's variance limit; infeasible
 *             plans are refused, and the 64-bit ring gives a plan where the
 *             32-bit one cannot.
 *   exactness clipping is the identity below norm c; rotation, encoding,
 *             the sum of ranks and decoding are exact for dyadic inputs
 *             (d' a power of 4), and within the stated rounding otherwise.
 *   norm      an institution's clipped contribution has L2 norm c before
 *             encoding and at most S = c 2^f + sqrt(d')/2 in ring units after
 *             it, for every input; the worst case (every rotated coordinate
 *             just above a half-integer) exceeds c 2^f, so S, not c 2^f, is
 *             the sensitivity the accountant must use.
 *   noise     with H = N - 1 the share of one rank has mean 0 and variance
 *             (z S)^2 / H, and the H shares a curious institution does not
 *             know decode to noise of std z S / 2^f: the multiplier z
 *             holds against it; checked with z-tests at 4 standard errors
 *             on fixed seeds (deterministic), and the same tests reject a
 *             10% miscalibration and the calibration to all N shares
 *             (positive controls through the same test).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_ddp.h"
#include "fedsilo/fs_dp.h"

#define OK(x) ck_assert_int_eq((x), FS_OK)

static uint8_t ROT_SEED[32] = { 1, 2, 3 };

/* A plan whose noise any H of N shares carry (H = N: all of them). */
static fs_ddp *plan_h(size_t n, int N, int H, int b, double c, double z, const uint8_t *noise_seed)
{
    fs_ddp *p = NULL;
    OK(fs_ddp_create(n, N, H, b, c, z, 1e-9, ROT_SEED, noise_seed, &p));
    return p;
}

static fs_ddp *plan(size_t n, int N, int b, double c, double z, const uint8_t *noise_seed)
{
    return plan_h(n, N, N, b, c, z, noise_seed);
}

/* The sensitivity in ring units, from its definition. */
static double sens_of(double c, int f, size_t D)
{
    return ldexp(c, f) + sqrt((double)D) / 2;
}

/* Ring word i as a signed integer. */
static int64_t word_at(const void *w, int b, size_t i)
{
    return b == 32 ? (int64_t)(int32_t)((const uint32_t *)w)[i] : (int64_t)((const uint64_t *)w)[i];
}

/* a == b elementwise (== rather than memcmp: the sign flips of the
 * rotation may turn a zero into -0). */
static int same_values(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* acc += w mod 2^b over n + 1 words (the canary included). */
static void add_words(void *acc, const void *w, int b, size_t n)
{
    for (size_t i = 0; i <= n; i++) {
        if (b == 32) ((uint32_t *)acc)[i] += ((const uint32_t *)w)[i];
        else ((uint64_t *)acc)[i] += ((const uint64_t *)w)[i];
    }
}

// ----------------------------------------------------------------------------
// plan

/* The union bound of the plan, from its definition: a coordinate of the
 * noiseless sum has |S| <= N M, the noise has variance proxy var. */
static double union_bound(size_t dpad, int N, int b, double M, double var)
{
    const double margin = ldexp(1.0, b - 1) - N * M;
    if (margin <= 0) return 1.0;
    return fmin(1.0, (double)dpad * 2.0 * exp(-margin * margin / (2.0 * var)));
}

START_TEST(test_plan)
{
    static const size_t ns[] = { 10, 7850, 100000 };
    static const int Ns[] = { 1, 2, 4, 16 };
    static const double cs[] = { 0.5, 1.0, 3.7, 1e3 };
    static const double zs[] = { 0.02, 0.5, 2.0, 1e6 };
    static const double ws[] = { 1e-9, 1e-3 };
    int feasible = 0, refused = 0;
    for (int b = 32; b <= 64; b += 32)
        for (size_t a = 0; a < 3; a++)
            for (size_t i = 0; i < 4; i++)
                for (size_t j = 0; j < 4; j++)
                    for (size_t k = 0; k < 4; k++)
                        for (size_t l = 0; l < 2; l++) {
        const size_t n = ns[a];
        const int N = Ns[i];
        const double c = cs[j], z = zs[k], mw = ws[l];
        size_t D = 1;
        while (D < n) D <<= 1;
        fs_ddp *p = NULL;
        const int H = 1 + (int)(k % (size_t)N);  /* 1..N honest */
        fs_err rc = fs_ddp_create(n, N, H, b, c, z, mw, ROT_SEED, NULL, &p);
        /* the noise of f bits: variance (z S)^2 from any H shares, so
         * (z S)^2 / H <= 2^62 each and N (z S)^2 / H in the whole sum */
        #define VAR(f) pow(z * sens_of(c, (f), D), 2.0)
        #define FITS(f) (VAR(f) / H <= 0x1p62)
        #define WRAP(f) union_bound(D, N, b, floor(sens_of(c, (f), D)), N * VAR(f) / H)
        if (rc != FS_OK) {
            ck_assert_int_eq(rc, FS_ERR_ARG);
            ck_assert_ptr_null(p);
            /* refused only if f = 0 is infeasible too */
            ck_assert_msg(!FITS(0) || WRAP(0) > mw,
                          "b %d n %zu N %d c %g z %g: refused (%s) but f = 0 fits", b, n, N, c, z,
                          fs_errmsg());
            if (b == 32 && FITS(0)) ck_assert(strstr(fs_errmsg(), "--ring-bits 64"));
            refused++;
            continue;
        }
        feasible++;
        const int f = fs_ddp_frac_bits(p);
        const double ze = fs_ddp_noise_multiplier(p);
        ck_assert_uint_eq(fs_ddp_dim(p), D);
        ck_assert(f >= 0 && f <= 62);
        /* the multiplier the accountant gets is that of the sampled rational */
        ck_assert_msg(fabs(ze / z - 1) <= 1e-6, "z_eff %.9g for z %g (f %d)", ze, z, f);
        ck_assert(fs_ddp_sensitivity(p) == sens_of(c, f, D));
        ck_assert_int_eq(fs_ddp_min_honest(p), H);
        const double var = pow(ze * sens_of(c, f, D), 2.0) / H;  /* per rank, as sampled */
        ck_assert(var <= 0x1p62);
        const double w = union_bound(D, N, b, floor(sens_of(c, f, D)), N * var);
        ck_assert_msg(w <= mw, "b %d n %zu N %d c %g z %g: f %d gives wrap bound %g > %g", b, n,
                      N, c, z, f, w, mw);
        ck_assert_msg(fabs(fs_ddp_wrap_bound(p) - w) <= 1e-9 * w + 1e-300,
                      "reported wrap bound %g, recomputed %g", fs_ddp_wrap_bound(p), w);
        /* and f is the largest such: f + 1 breaks the bound or the sampler */
        if (f < 62 && FITS(f + 1))
            ck_assert_msg(WRAP(f + 1) > mw,
                          "b %d n %zu N %d c %g z %g: f %d + 1 would fit too", b, n, N, c, z, f);
        fs_ddp_destroy(&p);
        #undef VAR
        #undef FITS
        #undef WRAP
    }
    ck_assert(feasible > 300 && refused > 10);  // the grid exercises both outcomes
}
END_TEST

/* The configuration of tests/cli/ddp.sh's refusal in the 32-bit ring has
 * a plan in the 64-bit ring that the refusal message recommends (the
 * sampler's variance limit, not the wrap bound, sets f there). */
START_TEST(test_ring64)
{
    fs_ddp *p = NULL;
    ck_assert_int_eq(fs_ddp_create(7850, 3, 3, 32, 1e3, 1e6, 1e-9, ROT_SEED, NULL, &p), FS_ERR_ARG);
    ck_assert(strstr(fs_errmsg(), "use --ring-bits 64"));
    p = plan(7850, 3, 64, 1e3, 1e6, NULL);
    ck_assert_int_ge(fs_ddp_frac_bits(p), 0);
    fs_ddp_destroy(&p);
    /* the defaults of tests/cli/ddp.sh in both rings */
    p = plan(7850, 4, 32, 0.5, 0.5, NULL);
    const int f32 = fs_ddp_frac_bits(p);
    fs_ddp_destroy(&p);
    p = plan(7850, 4, 64, 0.5, 0.5, NULL);
    ck_assert_int_gt(fs_ddp_frac_bits(p), f32);
    fs_ddp_destroy(&p);
    /* beyond the sampler in any ring */
    ck_assert_int_eq(fs_ddp_create(100, 4, 4, 64, 1.0, 1e15, 1e-9, ROT_SEED, NULL, &p), FS_ERR_ARG);
    ck_assert(strstr(fs_errmsg(), "too large for the sampler"));
    ck_assert_int_eq(fs_ddp_create(100, 4, 4, 32, 1.0, 0.5, 1.0, ROT_SEED, NULL, &p), FS_ERR_ARG);
    ck_assert_int_eq(fs_ddp_create(0, 4, 4, 32, 1.0, 0.5, 1e-9, ROT_SEED, NULL, &p), FS_ERR_ARG);
    ck_assert_int_eq(fs_ddp_create(10, 4, 4, 48, 1.0, 0.5, 1e-9, ROT_SEED, NULL, &p), FS_ERR_ARG);
    ck_assert_int_eq(fs_ddp_create(10, 4, 4, 32, -1.0, 0.5, 1e-9, ROT_SEED, NULL, &p), FS_ERR_ARG);
    /* H outside 1..N */
    ck_assert_int_eq(fs_ddp_create(10, 4, 0, 32, 1.0, 0.5, 1e-9, ROT_SEED, NULL, &p), FS_ERR_ARG);
    ck_assert_int_eq(fs_ddp_create(10, 4, 5, 32, 1.0, 0.5, 1e-9, ROT_SEED, NULL, &p), FS_ERR_ARG);
    ck_assert(strstr(fs_errmsg(), "--ddp-min-honest 5"));
}
END_TEST

// ----------------------------------------------------------------------------
// exactness without noise

/* u_i = k_i 2^-12, |k_i| <= 4: for d' = 1024 = 4^5 the rotation
 * (+-1 sums of at most 1024 terms, then 1/32) is exact in float and lands
 * on the grid 2^-17 <= 2^-f, so encode, sum and decode are exact too. */
static void dyadic(float *u, size_t n, uint64_t key)
{
    fs_rng r;
    fs_rng_seed(&r, key);
    for (size_t i = 0; i < n; i++) u[i] = ldexpf((float)((int)fs_rng_below(&r, 9) - 4), -12);
}

START_TEST(test_roundtrip_exact)
{
    const size_t n = 1000;
    for (int b = 32; b <= 64; b += 32) {
        fs_ddp *p = plan(n, 3, b, 0.5, 0.5, NULL);
        const size_t D = fs_ddp_dim(p), wb = (size_t)b / 8;
        ck_assert_uint_eq(D, 1024);
        ck_assert_int_ge(fs_ddp_frac_bits(p), 17);
        float *u = malloc(n * sizeof *u), *sum = calloc(n, sizeof *sum), *out = malloc(n * sizeof *out);
        void *w = malloc((D + 1) * wb), *acc = calloc(D + 1, wb);
        ck_assert(u && sum && out && w && acc);
        for (int r = 0; r < 3; r++) {
            int clipped = -1;
            dyadic(u, n, fs_rng_key(1, (uint64_t)b, (uint64_t)r, 0));
            OK(fs_ddp_encode(p, 7, u, w, &clipped));
            ck_assert_int_eq(clipped, 0);  // norm <= 4 sqrt(1000) 2^-12 < c
            ck_assert(word_at(w, b, D) == 0);  // canary
            /* one rank: decode(encode(u)) == u bit for bit */
            OK(fs_ddp_decode(p, 7, w, out));
            ck_assert(same_values(out, u, n));
            add_words(acc, w, b, D);
            for (size_t i = 0; i < n; i++) sum[i] += u[i];  // exact: small dyadics
        }
        /* three ranks: the decoded word sum is the exact sum of the inputs */
        ck_assert(word_at(acc, b, D) == 0);
        OK(fs_ddp_decode(p, 7, acc, out));
        ck_assert(same_values(out, sum, n));
        /* the rotation depends on the round: decoding with another nonce fails */
        OK(fs_ddp_decode(p, 8, acc, out));
        ck_assert(!same_values(out, sum, n));
        free(u); free(sum); free(out); free(w); free(acc);
        fs_ddp_destroy(&p);
    }
}
END_TEST

/* A 32-bit plan for n parameters, 4 ranks, clip c, z = 0.5, with an input
 * and an output vector (n floats) and the ring words (d' + 1). */
typedef struct {
    fs_ddp *p;
    size_t D;
    int f;
    float *u, *out;
    uint32_t *w;
} ring32;

static ring32 ring32_plan(size_t n, double c)
{
    ring32 t;
    t.p = plan(n, 4, 32, c, 0.5, NULL);
    t.D = fs_ddp_dim(t.p);
    t.f = fs_ddp_frac_bits(t.p);
    t.u = malloc(n * sizeof *t.u);
    t.out = malloc(n * sizeof *t.out);
    t.w = malloc((t.D + 1) * sizeof *t.w);
    ck_assert(t.u && t.out && t.w);
    return t;
}

static void ring32_free(ring32 *t)
{
    free(t->u);
    free(t->out);
    free(t->w);
    fs_ddp_destroy(&t->p);
}

/* General float inputs, d' = 2048 (1/sqrt(d') not a power of two): within
 * the rounding of the rotation in float and of the codec, 2^-(f+1). */
START_TEST(test_roundtrip_rounding)
{
    const size_t n = 1500;
    ring32 t = ring32_plan(n, 1.0);
    fs_rng r;
    fs_rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) t.u[i] = (float)(0.02 * fs_rng_normal(&r));  // norm ~0.77
    int clipped = -1;
    OK(fs_ddp_encode(t.p, 1, t.u, t.w, &clipped));
    ck_assert_int_eq(clipped, 0);
    OK(fs_ddp_decode(t.p, 1, t.w, t.out));
    double err = 0;
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs((double)t.out[i] - t.u[i]));
    /* codec: 2^-(f+1) per rotated coordinate, at most sqrt(d') 2^-(f+1) per
     * coordinate after the orthogonal unrotation; float: ~ 24 ulp of 0.1 */
    ck_assert_msg(err <= sqrt((double)t.D) * ldexp(1.0, -(t.f + 1)) + 1e-6, "round trip error %g", err);
    ring32_free(&t);
}
END_TEST

// ----------------------------------------------------------------------------
// clipping and the norm the accountant assumes

START_TEST(test_clip_and_norm)
{
    const size_t n = 3000;
    const double c = 0.75;
    ring32 b = ring32_plan(n, c);
    fs_ddp *const p = b.p;
    float *const u = b.u, *const out = b.out;
    const size_t D = b.D;
    fs_rng r;
    fs_rng_seed(&r, 5);
    for (int t = 0; t < 4; t++) {
        /* norms 0.5 c (kept), 3 c, 40 c (scaled down to c), and a one-hot
         * spike (all of the norm in one coordinate before rotation) */
        double nu = 0;
        for (size_t i = 0; i < n; i++) {
            u[i] = t == 3 ? (i == 17 ? 9.0f : 0.0f) : (float)fs_rng_normal(&r);
            nu += (double)u[i] * u[i];
        }
        const double want = t == 0 ? 0.5 * c : t == 1 ? 3 * c : t == 2 ? 40 * c : 9.0;
        if (t < 3)
            for (size_t i = 0; i < n; i++) u[i] = (float)(u[i] * want / sqrt(nu));
        int clipped = -1;
        OK(fs_ddp_encode(p, (uint64_t)t + 1, u, b.w, &clipped));
        ck_assert_int_eq(clipped, t != 0);
        /* ring units: |round(y 2^f)| <= |y 2^f| + sqrt(d')/2 (triangle
         * inequality), enforced: never above S */
        double n2 = 0;
        for (size_t i = 0; i < D; i++) n2 += pow((double)word_at(b.w, 32, i), 2.0);
        const double sens = fmin(want, c) * ldexp(1.0, b.f);
        ck_assert_msg(sqrt(n2) <= fs_ddp_sensitivity(p), "case %d: integer norm %.9g > S %.9g",
                      t, sqrt(n2), fs_ddp_sensitivity(p));
        ck_assert(sqrt(n2) >= sens * (1 - 1e-6) - sqrt((double)D) / 2);
        /* decoded: norm min(|u|, c), direction kept */
        OK(fs_ddp_decode(p, (uint64_t)t + 1, b.w, out));
        double no = 0, dot = 0;
        for (size_t i = 0; i < n; i++) {
            no += (double)out[i] * out[i];
            dot += (double)out[i] * u[i];
        }
        ck_assert_msg(fabs(sqrt(no) - fmin(want, c)) <= 1e-5 * c, "case %d: norm %.9g", t, sqrt(no));
        ck_assert(dot / (sqrt(no) * want) > 1 - 1e-6);
    }
    /* the multiplier the accountant uses, z_eff, is the aggregate noise std
     * over the sensitivity c: (z_eff c 2^f)^2 = N * per-rank variance, the
     * variance measured in test_noise */
    ring32_free(&b);
}
END_TEST

/* The worst case of the rounding: a clipped update whose rotated
 * coordinates all sit just above a half-integer in ring units, |y_j| 2^f =
 * m + 0.51, rounds every coordinate up by 0.49, so its encoding has norm
 * sqrt(d') (m + 1) > c 2^f when c 2^f / sqrt(d') has a fractional part
 * above 0.51: the old sensitivity c 2^f is exceeded, S = c 2^f +
 * sqrt(d')/2 is not.  A large noise
 * multiplier keeps f small, so that the half-integers are representable
 * in float after the rotation. */
START_TEST(test_sensitivity_worst_case)
{
    const size_t D = 4096;
    const double z = 1e5;
    const double rD = sqrt((double)D);
    /* a clip c whose c 2^f / sqrt(d') has a fractional part >= 0.6, so that
     * m + 1 > c 2^f / sqrt(d') below */
    fs_ddp *p = NULL;
    double c = 1.0, c2f = 0;
    int f = 0;
    for (int j = 0; j < 20; j++, c += 0.05) {
        fs_ddp_destroy(&p);
        p = plan_h(D, 2, 1, 32, c, z, NULL);
        f = fs_ddp_frac_bits(p);
        c2f = ldexp(c, f);
        if (c2f / rD - floor(c2f / rD) >= 0.6) break;
    }
    ck_assert_uint_eq(fs_ddp_dim(p), D);
    ck_assert_msg(c2f / rD > 4 && c2f / rD < 1e5 && c2f / rD - floor(c2f / rD) >= 0.6,
                  "f %d, c %g: the grid is not testable", f, c);
    const double m = floor(c2f / rD - 0.51);
    float *y = malloc(D * sizeof *y);
    uint32_t *w = malloc((D + 1) * sizeof *w);
    ck_assert(y && w);
    fs_rng r;
    fs_rng_seed(&r, 77);
    for (size_t i = 0; i < D; i++)
        y[i] = (float)ldexp((fs_rng_below(&r, 2) ? 1 : -1) * (m + 0.51), -f);
    OK(fs_dp_unrotate_f32(ROT_SEED, 9, y, D));  /* the update whose rotation is y */
    int clipped = -1;
    OK(fs_ddp_encode(p, 9, y, w, &clipped));
    ck_assert_int_eq(clipped, 0);               /* |y| 2^f = sqrt(d') (m + 0.51) <= c 2^f */
    double n2 = 0;
    for (size_t i = 0; i < D; i++) {
        const double e = (double)(int32_t)w[i];
        ck_assert_msg(fabs(e) == m + 1, "coordinate %zu: %g, not +-%g", i, e, m + 1);
        n2 += e * e;
    }
    const double S = fs_ddp_sensitivity(p);
    ck_assert(S == c2f + rD / 2);
    ck_assert_msg(sqrt(n2) > c2f, "norm %.6g does not exceed c 2^f %.6g", sqrt(n2), c2f);
    ck_assert(sqrt(n2) <= S);
    /* the accountant's multiplier is relative to S, from the sampled variance */
    ck_assert(fabs(fs_ddp_noise_multiplier(p) / z - 1) <= 1e-6);
    free(y);
    free(w);
    fs_ddp_destroy(&p);
}
END_TEST

// ----------------------------------------------------------------------------
// noise

/* z statistics of the sample mean and variance of x (n values) against
 * mean 0 and variance var: the standard errors are sqrt(var / n) and
 * var sqrt(2 / n) (Gaussian fourth moment; the discrete Gaussian with
 * sigma >> 1 has the same to far below the test's resolution). */
static void zstats(const double *x, size_t n, double var, double *zmean, double *zvar)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    const double mean = s / (double)n;
    for (size_t i = 0; i < n; i++) s2 += (x[i] - mean) * (x[i] - mean);
    *zmean = mean / sqrt(var / (double)n);
    *zvar = (s2 / (double)(n - 1) / var - 1) / sqrt(2.0 / (double)n);
}

START_TEST(test_noise)
{
    const size_t n = 40000;        // d' = 65536 coordinates per draw
    const int N = 4, b = 32;
    const double c = 0.5, z = 0.5;
    uint8_t nseed[4][32];
    fs_ddp *p[4];
    for (int r = 0; r < N; r++) {
        memset(nseed[r], 0, 32);
        nseed[r][0] = (uint8_t)(0x40 + r);  // one noise seed per rank
        p[r] = plan_h(n, N, N - 1, b, c, z, nseed[r]);  /* the default H = N - 1 */
    }
    const size_t D = fs_ddp_dim(p[0]);
    const int f = fs_ddp_frac_bits(p[0]);
    const double S = fs_ddp_sensitivity(p[0]);
    const double v = pow(z * S, 2.0) / (N - 1);  // calibrated per-rank variance
    float *zero = calloc(n, sizeof *zero), *out = malloc(n * sizeof *out);
    uint32_t *w = malloc((D + 1) * 4), *w2 = malloc((D + 1) * 4), *acc = calloc(D + 1, 4);
    double *x = malloc(D * sizeof *x);
    ck_assert(zero && out && w && w2 && acc && x);
    int clipped;
    /* one rank's share: the words of a zero update are the noise itself */
    OK(fs_ddp_encode(p[0], 3, zero, w, &clipped));
    for (size_t i = 0; i <= D; i++) ck_assert(w[i] == 0);
    OK(fs_ddp_add_noise(p[0], 3, w));
    ck_assert(w[D] == 0);  // the canary is not noised
    for (size_t i = 0; i < D; i++) x[i] = (double)word_at(w, b, i);
    double zm, zv;
    zstats(x, D, v, &zm, &zv);
    ck_assert_msg(fabs(zm) <= 4 && fabs(zv) <= 4, "share: z(mean) %.2f, z(var) %.2f", zm, zv);
    /* positive controls through the same test: 10% too much variance, and
     * the calibration to all N shares, (z S)^2 / N, which leaves a curious
     * institution (it subtracts its own) only (N - 1) / N of the variance */
    zstats(x, D, 1.1 * v, &zm, &zv);
    ck_assert_msg(fabs(zv) > 4, "a 10%% miscalibration passes: z(var) %.2f", zv);
    zstats(x, D, v * (N - 1) / N, &zm, &zv);
    ck_assert(fabs(zv) > 4);
    /* seeded: the same round draws the same noise, another round other noise */
    memset(w2, 0, (D + 1) * 4);
    OK(fs_ddp_add_noise(p[0], 3, w2));
    ck_assert(memcmp(w, w2, (D + 1) * 4) == 0);
    memset(w2, 0, (D + 1) * 4);
    OK(fs_ddp_add_noise(p[0], 4, w2));
    ck_assert(memcmp(w, w2, D * 4) != 0);
    /* the N - 1 shares rank 0 does not know: the decoded, unrotated sum
     * carries noise of std z S / 2^f (~ z c) */
    for (int r = 1; r < N; r++) {
        memset(w, 0, (D + 1) * 4);
        OK(fs_ddp_encode(p[r], 5, zero, w, &clipped));
        OK(fs_ddp_add_noise(p[r], 5, w));
        add_words(acc, w, b, D);
    }
    OK(fs_ddp_decode(p[0], 5, acc, out));
    for (size_t i = 0; i < n; i++) x[i] = out[i];
    const double sd = z * S / ldexp(1.0, f);
    zstats(x, n, sd * sd, &zm, &zv);
    ck_assert_msg(fabs(zm) <= 4 && fabs(zv) <= 4, "honest sum: z(mean) %.2f, z(var) %.2f", zm, zv);
    zstats(x, n, pow(1.1 * sd, 2.0), &zm, &zv);  // 10% more std: rejected
    ck_assert(fabs(zv) > 4);
    /* the accountant's multiplier: the honest shares' std / S */
    ck_assert(fabs(fs_ddp_noise_multiplier(p[0]) / z - 1) <= 1e-6);
    for (int r = 0; r < N; r++) fs_ddp_destroy(&p[r]);
    free(zero); free(out); free(w); free(w2); free(acc); free(x);
}
END_TEST

static Suite *ddp_suite(void)
{
    Suite *s = suite_create("ddp");
    TCase *t = tcase_create("plan");
    tcase_add_test(t, test_plan);
    tcase_add_test(t, test_ring64);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("codec");
    tcase_add_test(e, test_roundtrip_exact);
    tcase_add_test(e, test_roundtrip_rounding);
    tcase_add_test(e, test_clip_and_norm);
    tcase_add_test(e, test_sensitivity_worst_case);
    suite_add_tcase(s, e);
    TCase *z = tcase_create("noise");
    tcase_set_timeout(z, 60);
    tcase_add_test(z, test_noise);
    suite_add_tcase(s, z);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ddp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

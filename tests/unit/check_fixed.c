/*
 * check_fixed.c - unit tests of the fixed-point codec (fs_fixed.h): round
 * trip within 2^-(f+1), clipping and NaN accounting, two's complement,
 * the headroom rule at its exact boundaries for both rings, stochastic
 * rounding (unbiased, deterministic per key) and fs_fixed_suggest.
 * No MPI.  Test data comes from fs_rng streams with fixed keys.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_fixed.h"

static fs_fixed_params P(int b, int f, double c)
{
    fs_fixed_params p = { b, f, c, FS_FIXED_ROUND_NEAREST };
    return p;
}

START_TEST(test_word_bytes)
{
    ck_assert_uint_eq(fs_fixed_word_bytes(32), 4);
    ck_assert_uint_eq(fs_fixed_word_bytes(64), 8);
    ck_assert_uint_eq(fs_fixed_word_bytes(16), 0);
}
END_TEST

/* Encode random x in [-c, c], decode: |decoded - x| <= 2^-(f+1). */
START_TEST(test_round_trip)
{
    static const int cfg[][2] = { { 32, 0 }, { 32, 8 }, { 32, 16 }, { 32, 24 }, { 32, 29 },
                                  { 64, 0 }, { 64, 20 }, { 64, 40 }, { 64, 52 }, { 64, 60 } };
    enum { n = 5000 };
    float *x = malloc(n * sizeof *x);
    double *xd = malloc(n * sizeof *xd), *y = malloc(n * sizeof *y);
    uint64_t *w = malloc(n * sizeof *w);
    fs_rng rng;
    fs_rng_seed(&rng, 11);
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        const double c = 1.5;
        fs_fixed_params p = P(cfg[t][0], cfg[t][1], c);
        fs_fixed_stats st = { 0, 0 };
        ck_assert_int_eq(fs_fixed_check_params(&p), FS_OK);
        for (int k = 0; k < n; k++) {
            x[k] = (float)((2 * fs_rng_uniform(&rng) - 1) * c);
            xd[k] = (2 * fs_rng_uniform(&rng) - 1) * c;
        }
        x[0] = (float)c;
        x[1] = (float)-c;
        x[2] = 0.0f;
        ck_assert_int_eq(fs_fixed_encode_f32(&p, x, n, w, 0, &st), FS_OK);
        ck_assert_int_eq(fs_fixed_decode_f64(&p, w, n, y), FS_OK);
        ck_assert_uint_eq(st.nclipped, 0);
        ck_assert_uint_eq(st.nnan, 0);
        const double tol = ldexp(1.0, -(p.frac_bits + 1));
        for (int k = 0; k < n; k++)
            ck_assert_double_le(fabs(y[k] - (double)x[k]), tol);
        ck_assert_int_eq(fs_fixed_encode_f64(&p, xd, n, w, 0, NULL), FS_OK);
        ck_assert_int_eq(fs_fixed_decode_f64(&p, w, n, y), FS_OK);
        for (int k = 0; k < n; k++)
            ck_assert_double_le(fabs(y[k] - xd[k]), tol);
        // Decoding to float adds at most one float rounding.
        float *yf = malloc(n * sizeof *yf);
        ck_assert_int_eq(fs_fixed_decode_f32(&p, w, n, yf), FS_OK);
        for (int k = 0; k < n; k++)
            ck_assert_double_le(fabs((double)yf[k] - xd[k]), tol + fabs(xd[k]) * 0x1p-23);
        free(yf);
    }
    free(x); free(xd); free(y); free(w);
}
END_TEST

/* Round half to even at f = 1: 0.25 * 2 = 0.5 -> 0, 0.75 * 2 = 1.5 -> 2. */
START_TEST(test_round_half_even)
{
    fs_fixed_params p = P(32, 1, 4.0);
    const double x[] = { 0.25, 0.75, -0.25, -0.75, 1.25 };
    const int32_t want[] = { 0, 2, 0, -2, 2 };
    uint32_t w[5];
    ck_assert_int_eq(fs_fixed_encode_f64(&p, x, 5, w, 0, NULL), FS_OK);
    for (int k = 0; k < 5; k++)
        ck_assert_uint_eq(w[k], (uint32_t)want[k]);
    // The slow (M > 2^51) path of the 64-bit ring rounds the same way.
    fs_fixed_params q = P(64, 1, 0x1p55);
    uint64_t v[5];
    ck_assert_int_eq(fs_fixed_encode_f64(&q, x, 5, v, 0, NULL), FS_OK);
    for (int k = 0; k < 5; k++)
        ck_assert_uint_eq(v[k], (uint64_t)(int64_t)want[k]);
}
END_TEST

/* The vector float paths (AVX2 for 8 values at a time, SSE2 for the next
 * 4, scalar for the rest: n = 8 k + 7 exercises all three) and the scalar
 * double path give identical words. */
START_TEST(test_simd_matches_scalar)
{
    static const int cfg[][2] = { { 32, 0 }, { 32, 5 }, { 32, 20 }, { 32, 28 },
                                  { 64, 0 }, { 64, 20 }, { 64, 29 }, { 64, 40 } };
    enum { n = 4103 };
    float *x = malloc(n * sizeof *x);
    double *xd = malloc(n * sizeof *xd);
    uint64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    fs_rng rng;
    fs_rng_seed(&rng, 5);
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        fs_fixed_params p = P(cfg[t][0], cfg[t][1], 3.0);
        for (int k = 0; k < n; k++) {
            double u = fs_rng_uniform(&rng);
            if (k % 3 == 0) {           // exact ties (j + 1/2) * 2^-f, exact in float
                const int lim = p.frac_bits < 20 ? 3 << p.frac_bits : 3 << 20;
                const int j = (int)(u * 2 * lim) - lim;
                x[k] = (float)ldexp(j + 0.5, -p.frac_bits);
            } else {
                x[k] = (float)((u * 8 - 4));
            }
            xd[k] = x[k];
        }
        x[7] = xd[7] = NAN;
        x[8] = INFINITY; xd[8] = INFINITY;
        x[9] = 3.0f; xd[9] = 3.0;
        x[10] = -3.0f; xd[10] = -3.0;
        fs_fixed_stats sa = { 0, 0 }, sb = { 0, 0 };
        ck_assert_int_eq(fs_fixed_encode_f32(&p, x, n, a, 0, &sa), FS_OK);
        ck_assert_int_eq(fs_fixed_encode_f64(&p, xd, n, b, 0, &sb), FS_OK);
        ck_assert_mem_eq(a, b, n * fs_fixed_word_bytes(p.ring_bits));
        ck_assert_uint_eq(sa.nclipped, sb.nclipped);
        ck_assert_uint_eq(sa.nnan, sb.nnan);
        ck_assert_uint_gt(sa.nclipped, 100);
    }
    free(x); free(xd); free(a); free(b);
}
END_TEST

START_TEST(test_clipping_and_nan)
{
    for (int b = 32; b <= 64; b += 32) {
        fs_fixed_params p = P(b, 10, 1.0);
        const float x[] = { 2.0f, -3.0f, 0.5f, INFINITY, -INFINITY, NAN, 1.0f, -1.0f };
        const double want[] = { 1, -1, 0.5, 1, -1, 0, 1, -1 };
        uint64_t w[8];
        double y[8];
        fs_fixed_stats st = { 0, 0 };
        ck_assert_int_eq(fs_fixed_encode_f32(&p, x, 8, w, 0, &st), FS_OK);
        ck_assert_uint_eq(st.nclipped, 4);
        ck_assert_uint_eq(st.nnan, 1);
        ck_assert_int_eq(fs_fixed_decode_f64(&p, w, 8, y), FS_OK);
        for (int k = 0; k < 8; k++)
            ck_assert_double_eq(y[k], want[k]);
        // Counts accumulate across calls.
        ck_assert_int_eq(fs_fixed_encode_f32(&p, x, 8, w, 0, &st), FS_OK);
        ck_assert_uint_eq(st.nclipped, 8);
        ck_assert_uint_eq(st.nnan, 2);
        // Without stats a NaN is an error (the output is still written).
        ck_assert_int_eq(fs_fixed_encode_f32(&p, x, 8, w, 0, NULL), FS_ERR_NUMERIC);
        ck_assert_ptr_nonnull(strstr(fs_errmsg(), "NaN"));
        ck_assert_int_eq(fs_fixed_encode_f32(&p, x, 5, w, 0, NULL), FS_OK);
    }
}
END_TEST

START_TEST(test_twos_complement)
{
    fs_fixed_params p32 = P(32, 0, 1000), p64 = P(64, 0, 1000);
    const double x[] = { -1, -100, 5, -1000 };
    uint32_t w32[4];
    uint64_t w64[4];
    ck_assert_int_eq(fs_fixed_encode_f64(&p32, x, 4, w32, 0, NULL), FS_OK);
    ck_assert_int_eq(fs_fixed_encode_f64(&p64, x, 4, w64, 0, NULL), FS_OK);
    ck_assert_uint_eq(w32[0], UINT32_C(0xFFFFFFFF));
    ck_assert_uint_eq(w32[1], UINT32_C(0xFFFFFFFF) - 99);
    ck_assert_uint_eq(w32[2], 5);
    ck_assert_uint_eq(w64[0], UINT64_MAX);
    ck_assert_uint_eq(w64[1], UINT64_MAX - 99);
    ck_assert_uint_eq(w64[3], UINT64_MAX - 999);
    // A wrapped sum decodes as signed: (-1) + (-100) + 5 = -96.
    uint32_t s32 = w32[0] + w32[1] + w32[2];
    uint64_t s64 = w64[0] + w64[1] + w64[2];
    double d;
    ck_assert_int_eq(fs_fixed_decode_f64(&p32, &s32, 1, &d), FS_OK);
    ck_assert_double_eq(d, -96);
    ck_assert_int_eq(fs_fixed_decode_f64(&p64, &s64, 1, &d), FS_OK);
    ck_assert_double_eq(d, -96);
    // Extremes of the signed range.
    uint32_t e32[2] = { UINT32_C(0x7FFFFFFF), UINT32_C(0x80000000) };
    double de[2];
    fs_fixed_params q = P(32, 3, 1);
    ck_assert_int_eq(fs_fixed_decode_f64(&q, e32, 2, de), FS_OK);
    ck_assert_double_eq(de[0], ldexp(2147483647.0, -3));
    ck_assert_double_eq(de[1], ldexp(-2147483648.0, -3));
    uint64_t e64[2] = { UINT64_C(0x7FFFFFFFFFFFFFFF), UINT64_C(0x8000000000000000) };
    fs_fixed_params q64 = P(64, 0, 1);
    ck_assert_int_eq(fs_fixed_decode_f64(&q64, e64, 2, de), FS_OK);
    ck_assert_double_eq(de[0], 0x1p63);
    ck_assert_double_eq(de[1], -0x1p63);
}
END_TEST

/* The vectorized float decode of the 32-bit ring equals the double path,
 * (float)(signed(w) * 2^-f), bit for bit: random words, the extremes, and
 * every f from 0 to 127 (above 100 the decoder takes the double path). */
START_TEST(test_decode_f32_matches_double)
{
    enum { N = 4099 };
    uint32_t *w = malloc(N * sizeof *w);
    float *got = malloc(N * sizeof *got);
    double *ref = malloc(N * sizeof *ref);
    fs_rng rng;
    fs_rng_seed(&rng, 99);
    for (size_t k = 0; k < N; k++) w[k] = (uint32_t)fs_rng_u64(&rng);
    w[0] = 0; w[1] = UINT32_C(0x7FFFFFFF); w[2] = UINT32_C(0x80000000); w[3] = 1;
    w[4] = UINT32_C(0xFFFFFFFF); w[5] = UINT32_C(0x01000001);   // 2^24 + 1 rounds
    for (int f = 0; f <= 127; f++) {
        fs_fixed_params p = P(32, f, ldexp(1.0, 30 - f));   // clip * 2^f < 2^31
        ck_assert_int_eq(fs_fixed_decode_f32(&p, w, N, got), FS_OK);
        ck_assert_int_eq(fs_fixed_decode_f64(&p, w, N, ref), FS_OK);
        for (size_t k = 0; k < N; k++) {
            float want = (float)ref[k];
            ck_assert_msg(memcmp(&got[k], &want, sizeof want) == 0,
                          "f=%d word %zu (0x%08x): %a != %a", f, k, (unsigned)w[k], got[k], want);
        }
    }
    free(w); free(got); free(ref);
}
END_TEST

static fs_err headroom(int b, int f, double c, int n, double w)
{
    fs_fixed_params p = P(b, f, c);
    return fs_fixed_check_headroom(&p, n, w);
}

START_TEST(test_headroom_boundaries)
{
    // 32-bit ring, c = 1: N * 2^f < 2^31.
    ck_assert_int_eq(headroom(32, 27, 1, 8, 1), FS_OK);        // 2^30 < 2^31
    ck_assert_int_eq(headroom(32, 28, 1, 8, 1), FS_ERR_ARG);   // 2^31 = 2^31
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "64-bit ring"));
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "at most 27"));
    ck_assert_int_eq(headroom(32, 30, 1, 1, 1), FS_OK);        // 2^30
    ck_assert_int_eq(headroom(32, 31, 1, 1, 1), FS_ERR_ARG);   // one value alone overflows
    ck_assert_int_eq(headroom(32, 29, 1, 3, 1), FS_OK);        // 3 * 2^29 < 2^31
    ck_assert_int_eq(headroom(32, 30, 1, 3, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 27, 1, 4, 2), FS_OK);        // weight 2: 8 * 2^27
    ck_assert_int_eq(headroom(32, 28, 1, 4, 2), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 29, 1, 2, 1.5), FS_OK);      // 3 * 2^29 (non-integer w)
    ck_assert_int_eq(headroom(32, 30, 1, 2, 1.5), FS_ERR_ARG);
    // M = ceil(c * 2^f): 2^31 - 1 fits for N = 1, 2^31 - 0.5 rounds up to 2^31.
    ck_assert_int_eq(headroom(32, 0, 2147483647.0, 1, 1), FS_OK);
    ck_assert_int_eq(headroom(32, 0, 2147483647.5, 1, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 1, 1073741823.5, 1, 1), FS_OK);   // 2^31 - 1 exactly
    // 64-bit ring, c = 1: N * 2^f < 2^63.
    ck_assert_int_eq(headroom(64, 59, 1, 8, 1), FS_OK);
    ck_assert_int_eq(headroom(64, 60, 1, 8, 1), FS_ERR_ARG);
    ck_assert_ptr_null(strstr(fs_errmsg(), "or the 64-bit ring"));
    ck_assert_int_eq(headroom(64, 62, 1, 1, 1), FS_OK);
    ck_assert_int_eq(headroom(64, 63, 1, 1, 1), FS_ERR_ARG);
    // Exact beyond double precision: M = largest double with 3 M < 2^63.
    const double m = 3074457345618258432.0;           // 3 m = 2^63 - 512
    ck_assert_int_eq(headroom(64, 0, m, 3, 1), FS_OK);
    ck_assert_int_eq(headroom(64, 0, m + 512, 3, 1), FS_ERR_ARG);
    // Large N.
    ck_assert_int_eq(headroom(64, 31, 1, 1 << 30, 1), FS_OK);       // 2^61
    ck_assert_int_eq(headroom(64, 33, 1, 1 << 30, 1), FS_ERR_ARG);  // 2^63
}
END_TEST

START_TEST(test_bad_params)
{
    ck_assert_int_eq(headroom(16, 8, 1, 2, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, -1, 1, 2, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 8, 0, 2, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 8, -1, 2, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 8, NAN, 2, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 8, INFINITY, 2, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(64, 5000, 1, 2, 1), FS_ERR_ARG);      // c * 2^f = Inf
    ck_assert_int_eq(headroom(64, 100, 1, 2, 1), FS_ERR_ARG);       // does not fit
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "does not fit"));
    ck_assert_int_eq(headroom(32, 8, 1, 0, 1), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 8, 1, 2, 0.5), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 8, 1, 2, NAN), FS_ERR_ARG);
    ck_assert_int_eq(headroom(32, 0, 0x1p30, 4, 1), FS_ERR_ARG);   // no f fits
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "none fit"));
    ck_assert_int_eq(fs_fixed_check_headroom(NULL, 2, 1), FS_ERR_ARG);
    fs_fixed_params p = P(32, 8, 1);
    p.rounding = (fs_fixed_rounding)7;
    ck_assert_int_eq(fs_fixed_check_params(&p), FS_ERR_ARG);
    float x = 0;
    uint32_t w;
    ck_assert_int_eq(fs_fixed_encode_f32(&p, &x, 1, &w, 0, NULL), FS_ERR_ARG);
}
END_TEST

START_TEST(test_suggest)
{
    ck_assert_int_eq(fs_fixed_suggest(32, 8, 1.0), 27);
    ck_assert_int_eq(fs_fixed_suggest(64, 8, 1.0), 59);
    ck_assert_int_eq(fs_fixed_suggest(32, 1, 1.0), 30);
    ck_assert_int_eq(fs_fixed_suggest(32, 1, 0x1p40), -1);
    ck_assert_int_eq(fs_fixed_suggest(32, 0, 1.0), -1);
    ck_assert_int_eq(fs_fixed_suggest(48, 2, 1.0), -1);
    ck_assert_int_eq(fs_fixed_suggest(32, 2, NAN), -1);
    static const double clips[] = { 1e-6, 0.01, 0.3, 1, 3, 10, 1000, 1e6 };
    static const int ns[] = { 1, 2, 3, 7, 8, 100, 1000, 65536 };
    for (int b = 32; b <= 64; b += 32)
        for (size_t i = 0; i < sizeof clips / sizeof clips[0]; i++)
            for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) {
                int f = fs_fixed_suggest(b, ns[j], clips[i]);
                if (f < 0)
                    continue;
                ck_assert_int_eq(headroom(b, f, clips[i], ns[j], 1), FS_OK);
                ck_assert_int_eq(headroom(b, f + 1, clips[i], ns[j], 1), FS_ERR_ARG);
            }
}
END_TEST

/* Stochastic rounding: E[decode] = x; same key, same words. */
START_TEST(test_stochastic)
{
    enum { n = 200000 };
    fs_fixed_params p = { 32, 4, 1.0, FS_FIXED_ROUND_STOCHASTIC };
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint32_t *w = malloc(n * sizeof *w), *w2 = malloc(n * sizeof *w2);
    const double xs[] = { 0.1, -0.1, 0.37, -0.93, 0.03125 };
    for (size_t t = 0; t < sizeof xs / sizeof xs[0]; t++) {
        for (int k = 0; k < n; k++)
            x[k] = xs[t];
        ck_assert_int_eq(fs_fixed_encode_f64(&p, x, n, w, 42, NULL), FS_OK);
        ck_assert_int_eq(fs_fixed_decode_f64(&p, w, n, y), FS_OK);
        double mean = 0;
        for (int k = 0; k < n; k++) {
            // Each value is one of the two neighbouring grid points.
            ck_assert_double_le(fabs(y[k] - xs[t]), 0x1p-4);
            mean += y[k];
        }
        mean /= n;
        // sd of one value <= 2^-4 / 2, so sd of the mean <= 1.4e-4.
        ck_assert_double_lt(fabs(mean - xs[t]), 7e-4);
        ck_assert_int_eq(fs_fixed_encode_f64(&p, x, n, w2, 42, NULL), FS_OK);
        ck_assert_mem_eq(w, w2, n * sizeof *w);
        ck_assert_int_eq(fs_fixed_encode_f64(&p, x, n, w2, 43, NULL), FS_OK);
        ck_assert_int_ne(memcmp(w, w2, n * sizeof *w), 0);
    }
    // Nearest rounding of 0.1 at f = 4 is biased (0.125); stochastic is not.
    fs_fixed_params q = P(32, 4, 1.0);
    double one = 0.1, yo;
    uint32_t wo;
    ck_assert_int_eq(fs_fixed_encode_f64(&q, &one, 1, &wo, 0, NULL), FS_OK);
    ck_assert_int_eq(fs_fixed_decode_f64(&q, &wo, 1, &yo), FS_OK);
    ck_assert_double_eq(yo, 0.125);
    // Values on the grid are never perturbed.
    double g = 0.25;
    ck_assert_int_eq(fs_fixed_encode_f64(&p, &g, 1, &wo, 7, NULL), FS_OK);
    ck_assert_uint_eq(wo, 4);
    // Rounding keys differ by party, round and vector.
    ck_assert_uint_ne(fs_fixed_rounding_key(1, 0, 5, 0), fs_fixed_rounding_key(1, 1, 5, 0));
    ck_assert_uint_ne(fs_fixed_rounding_key(1, 0, 5, 0), fs_fixed_rounding_key(1, 0, 6, 0));
    ck_assert_uint_ne(fs_fixed_rounding_key(1, 0, 5, 0), fs_fixed_rounding_key(1, 0, 5, 1));
    free(x); free(y); free(w); free(w2);
}
END_TEST

/* Sum of N encodings decodes within N * 2^-(f+1) of the real sum. */
START_TEST(test_sum_precision)
{
    enum { n = 2000, N = 7 };
    fs_rng rng;
    fs_rng_seed(&rng, 99);
    for (int b = 32; b <= 64; b += 32) {
        fs_fixed_params p = P(b, b == 32 ? fs_fixed_suggest(b, N, 2.0) : 40, 2.0);
        ck_assert_int_eq(fs_fixed_check_headroom(&p, N, 1), FS_OK);
        uint64_t w[n], acc[n];
        double x[n], sum[n], y[n];
        uint32_t *w32 = (uint32_t *)w, *a32 = (uint32_t *)acc;
        memset(acc, 0, sizeof acc);
        memset(sum, 0, sizeof sum);
        for (int i = 0; i < N; i++) {
            for (int k = 0; k < n; k++)
                x[k] = (2 * fs_rng_uniform(&rng) - 1) * 2.0;
            x[0] = i % 2 ? -2.0 : 2.0;   // extremes too
            for (int k = 0; k < n; k++)
                sum[k] += x[k];
            ck_assert_int_eq(fs_fixed_encode_f64(&p, x, n, w, 0, NULL), FS_OK);
            for (int k = 0; k < n; k++) {
                if (b == 32)
                    a32[k] += w32[k];
                else
                    acc[k] += w[k];
            }
        }
        ck_assert_int_eq(fs_fixed_decode_f64(&p, acc, n, y), FS_OK);
        for (int k = 0; k < n; k++)
            ck_assert_double_le(fabs(y[k] - sum[k]), N * ldexp(1.0, -(p.frac_bits + 1)) +
                                fabs(sum[k]) * 0x1p-50);
    }
}
END_TEST

static Suite *fixed_suite(void)
{
    Suite *s = suite_create("fixed");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_word_bytes);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_round_half_even);
    tcase_add_test(tc, test_simd_matches_scalar);
    tcase_add_test(tc, test_clipping_and_nan);
    tcase_add_test(tc, test_twos_complement);
    tcase_add_test(tc, test_headroom_boundaries);
    tcase_add_test(tc, test_bad_params);
    tcase_add_test(tc, test_suggest);
    tcase_add_test(tc, test_stochastic);
    tcase_add_test(tc, test_sum_precision);
    tcase_add_test(tc, test_decode_f32_matches_double);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fixed_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nfail = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

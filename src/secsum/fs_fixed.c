/*
 * fs_fixed.c - fixed-point codec between reals and the ring Z_2^b, b = 32
 * or 64 (secsum layer; no MPI, no OpenSSL).  docs/protocol.md, encoding.
 *
 * Secure aggregation needs exact integer arithmetic so that pairwise masks
 * cancel bit for bit (floats would not): reals are clipped to [-c, c],
 * scaled by 2^f, rounded, and stored in two's complement mod 2^b.  Sums of
 * words wrap mod 2^b; as long as the true integer sum stays inside the
 * signed range (the headroom rule, see fs_fixed.h) decoding is exact up to
 * the rounding of each input.
 *
 * Rounding.  NEAREST rounds half to even, the IEEE default: for |s| <=
 * 2^51 we use the classic (s + 1.5*2^52) - 1.5*2^52 identity, which rounds
 * exactly in round-to-nearest mode; beyond 2^51 (64-bit rings with many
 * fractional bits) we call nearbyint().  Float inputs in the common case
 * (c exact as a float, M < 2^31) take bit-identical AVX2 / SSE2 paths.  STOCHASTIC
 * rounding returns floor(s) + [u < s - floor(s)] with u uniform in [0,1),
 * so E[v] = s exactly and |v - s| < 1.
 *
 * Invariant of every encoder: |v| <= M = ceil(c * 2^f), because |s| <=
 * c * 2^f <= M and both rounding modes map a real in [-M, M] into the
 * integers of [-M, M] (M is an integer).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#define FS_FIXED_AVX2 1
#include <immintrin.h>
#else
#define FS_FIXED_AVX2 0
#endif
#include "fs_fixed_impl.h"

#define FS_FIXED_MAGIC 0x1.8p52        /* 1.5 * 2^52: rounding constant   */
#define FS_FIXED_SMALL_MAX 0x1p51      /* magic rounding exact below this */

size_t fs_fixed_word_bytes(int ring_bits)
{
    return ring_bits == 32 ? 4 : ring_bits == 64 ? 8 : 0;
}

double fs_fixed_max_magnitude(const fs_fixed_params *p)
{
    if (!p || !(p->clip > 0) || !isfinite(p->clip) || p->frac_bits < 0 || p->frac_bits > 2000)
        return INFINITY;
    return ceil(ldexp(p->clip, p->frac_bits));
}

fs_err fs_fixed_check_params(const fs_fixed_params *p)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(p, "fixed-point parameters are NULL");
    FS_CHECK_ARG(p->ring_bits == 32 || p->ring_bits == 64,
                 "fixed-point ring width %d is not supported (use 32 or 64)", p->ring_bits);
    FS_CHECK_ARG(p->frac_bits >= 0, "fixed-point fractional bits %d is negative", p->frac_bits);
    FS_CHECK_ARG(isfinite(p->clip) && p->clip > 0,
                 "fixed-point clip %g must be finite and > 0", p->clip);
    FS_CHECK_ARG(p->rounding == FS_FIXED_ROUND_NEAREST || p->rounding == FS_FIXED_ROUND_STOCHASTIC,
                 "unknown fixed-point rounding mode %d", (int)p->rounding);
    double m = fs_fixed_max_magnitude(p);
    FS_CHECK_ARG(m < ldexp(1.0, p->ring_bits - 1),
                 "fixed-point clip %g * 2^%d = %.6g does not fit the signed %d-bit ring "
                 "(limit 2^%d); use fewer fractional bits, a smaller clip or the 64-bit ring",
                 p->clip, p->frac_bits, ldexp(p->clip, p->frac_bits), p->ring_bits,
                 p->ring_bits - 1);
done:
    return rc;
}

/* 1 iff nparties * max_weight * m < 2^(b-1).  Exact (128-bit integers)
 * for integer weights below 2^32; long double otherwise. */
static int headroom_ok(int ring_bits, int nparties, double max_weight, double m)
{
    if (max_weight == floor(max_weight) && max_weight < 0x1p32 && m < 0x1p63) {
        __extension__ typedef unsigned __int128 u128;
        u128 prod = (u128)(uint64_t)nparties * (uint64_t)m * (uint64_t)max_weight;
        return prod < ((u128)1 << (ring_bits - 1));
    }
    long double prod = (long double)nparties * (long double)max_weight * (long double)m;
    return prod < ldexpl(1.0L, ring_bits - 1);
}

int fs_fixed_suggest(int ring_bits, int nparties, double clip)
{
    if ((ring_bits != 32 && ring_bits != 64) || nparties < 1 || !isfinite(clip) || !(clip > 0))
        return -1;
    int best = -1;
    /* M grows with f, so the legal f form a prefix 0..best. */
    for (int f = 0; f <= 2000; f++) {
        fs_fixed_params p = { ring_bits, f, clip, FS_FIXED_ROUND_NEAREST };
        double m = fs_fixed_max_magnitude(&p);
        if (!(m < ldexp(1.0, ring_bits - 1)) || !headroom_ok(ring_bits, nparties, 1.0, m))
            break;
        best = f;
    }
    return best;
}

fs_err fs_fixed_check_headroom(const fs_fixed_params *p, int nparties, double max_weight)
{
    fs_err rc = FS_OK;
    FS_TRY(fs_fixed_check_params(p));
    FS_CHECK_ARG(nparties >= 1, "fixed-point headroom: number of parties %d must be >= 1",
                 nparties);
    FS_CHECK_ARG(isfinite(max_weight) && max_weight >= 1,
                 "fixed-point headroom: max weight %g must be finite and >= 1", max_weight);
    double m = fs_fixed_max_magnitude(p);
    if (!headroom_ok(p->ring_bits, nparties, max_weight, m)) {
        int fmax = fs_fixed_suggest(p->ring_bits, nparties, p->clip * max_weight);
        char hint[64] = "none fit with this clip";
        if (fmax >= 0)
            snprintf(hint, sizeof hint, "at most %d fit", fmax);
        FS_FAIL(FS_ERR_ARG,
                "fixed-point sum can overflow: %d parties x weight %g x ceil(clip %g x 2^%d) "
                "= %.6g >= 2^%d, the signed range of the %d-bit ring; use fewer fractional "
                "bits (%s), a smaller clip%s",
                nparties, max_weight, p->clip, p->frac_bits,
                (double)nparties * max_weight * m, p->ring_bits - 1, p->ring_bits, hint,
                p->ring_bits == 32 ? " or the 64-bit ring" : "");
    }
done:
    return rc;
}

uint64_t fs_fixed_rounding_key(uint64_t seed, int party, uint64_t round, uint32_t vector_id)
{
    /* Domain-separate from other fs_rng streams with a tag in the top word. */
    return fs_rng_key(seed, UINT64_C(0x5352) << 48 | (uint64_t)(uint32_t)party, round,
                      vector_id);
}

fs_err fs_fixed_enc_init(fs_fixed_enc *e, const fs_fixed_params *p)
{
    fs_err rc = FS_OK;
    FS_TRY(fs_fixed_check_params(p));
    e->ring_bits = p->ring_bits;
    e->frac_bits = p->frac_bits;
    e->rounding = p->rounding;
    e->clip = p->clip;
    e->scale = ldexp(1.0, p->frac_bits);
    e->maxmag = fs_fixed_max_magnitude(p);
    e->small = e->maxmag <= FS_FIXED_SMALL_MAX;
    e->simd_f32 = p->rounding == FS_FIXED_ROUND_NEAREST && (double)(float)p->clip == p->clip &&
                  e->maxmag < 0x1p31 && p->frac_bits <= 126;
done:
    return rc;
}

// ---------------------------------------------------------------- kernels

/*
 * One generic loop; the flags are compile-time constants at every call site
 * below, so the always_inline copies specialize into branch-free loops.
 * Shapes: xf or xd (n reals), out (n words of b bits).
 */
static inline __attribute__((always_inline)) void
encode_loop(const fs_fixed_enc *e, const float *xf, const double *xd, size_t n, void *out,
            fs_rng *rng, fs_fixed_stats *st, const int is32, const int isf32,
            const int stochastic, const int small)
{
    const double c = e->clip, s = e->scale;
    uint32_t *o32 = out;
    uint64_t *o64 = out;
    size_t nclip = 0, nnan = 0;
    for (size_t k = 0; k < n; k++) {
        double y = isf32 ? (double)xf[k] : xd[k];
        int bad = (y != y);                     // NaN -> 0
        nnan += (size_t)bad;
        y = bad ? 0.0 : y;
        nclip += (size_t)((y > c) | (y < -c));  // also +-Inf
        y = y > c ? c : y;
        y = y < -c ? -c : y;
        double t = y * s;                       // exact: s is a power of 2
        double r;
        if (stochastic) {
            double fl = floor(t);
            r = fl + (fs_rng_uniform(rng) < t - fl ? 1.0 : 0.0);
        } else if (small) {
            r = (t + FS_FIXED_MAGIC) - FS_FIXED_MAGIC;  // round half even, |t| <= 2^51
        } else {
            r = nearbyint(t);
        }
        // |r| <= M < 2^(b-1): the conversions below are exact.
        if (is32)
            o32[k] = (uint32_t)(int32_t)r;
        else
            o64[k] = (uint64_t)(int64_t)r;
    }
    st->nclipped += nclip;
    st->nnan += nnan;
}

#ifdef __SSE2__
/*
 * SSE2 path for the common case (float inputs, NEAREST, c exact as a
 * float, M < 2^31): encodes the first n - n % 4 values and returns how
 * many.  Bit-identical to encode_loop: for floats x, x > c iff x > (float)c
 * when c is a float; x * 2^f is exact in float (|x * 2^f| <= M < 2^31, and
 * 2^f <= 2^126); cvtps2dq rounds half to even (default MXCSR) like the
 * scalar path; the 64-bit ring sign-extends the 32-bit result.
 */
static size_t encode_f32_sse2(const fs_fixed_enc *e, const float *x, size_t n, void *out,
                              fs_fixed_stats *st)
{
    static const unsigned char popc4[16] = { 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4 };
    const __m128 c = _mm_set1_ps((float)e->clip), negc = _mm_set1_ps(-(float)e->clip);
    const __m128 s = _mm_set1_ps((float)e->scale);
    const size_t nv = n / 4;
    size_t nclip = 0, nnan = 0;
    unsigned char *o = out;
    for (size_t v = 0; v < nv; v++) {
        __m128 y = _mm_loadu_ps(x + 4 * v);
        __m128 bad = _mm_cmpunord_ps(y, y);                 // NaN -> 0
        nnan += popc4[_mm_movemask_ps(bad)];
        y = _mm_andnot_ps(bad, y);
        __m128 over = _mm_or_ps(_mm_cmpgt_ps(y, c), _mm_cmplt_ps(y, negc));
        nclip += popc4[_mm_movemask_ps(over)];
        y = _mm_max_ps(_mm_min_ps(y, c), negc);
        __m128i r = _mm_cvtps_epi32(_mm_mul_ps(y, s));      // round half even
        if (e->ring_bits == 32) {
            _mm_storeu_si128((__m128i *)(void *)(o + 16 * v), r);
        } else {
            __m128i sign = _mm_srai_epi32(r, 31);
            _mm_storeu_si128((__m128i *)(void *)(o + 32 * v), _mm_unpacklo_epi32(r, sign));
            _mm_storeu_si128((__m128i *)(void *)(o + 32 * v + 16), _mm_unpackhi_epi32(r, sign));
        }
    }
    st->nclipped += nclip;
    st->nnan += nnan;
    return 4 * nv;
}
#endif

#if FS_FIXED_AVX2
/*
 * The same on AVX2, 8 values per step: the operations of encode_f32_sse2
 * lane for lane (so bit-identical), with the NaN and clip counts kept in
 * vector lanes (a compare gives -1 per hit) and flushed every 2^20 steps,
 * long before a 32-bit lane could overflow.  About 3x the SSE2 rate.
 */
__attribute__((target("avx2")))
static size_t encode_f32_avx2(const fs_fixed_enc *e, const float *x, size_t n, void *out,
                              fs_fixed_stats *st)
{
    const __m256 c = _mm256_set1_ps((float)e->clip), negc = _mm256_set1_ps(-(float)e->clip);
    const __m256 s = _mm256_set1_ps((float)e->scale);
    const size_t nv = n / 8;
    size_t nclip = 0, nnan = 0;
    unsigned char *o = out;
    for (size_t v0 = 0; v0 < nv;) {
        const size_t v1 = nv - v0 < ((size_t)1 << 20) ? nv : v0 + ((size_t)1 << 20);
        __m256i cnan = _mm256_setzero_si256(), cclip = _mm256_setzero_si256();
        for (size_t v = v0; v < v1; v++) {
            __m256 y = _mm256_loadu_ps(x + 8 * v);
            __m256 bad = _mm256_cmp_ps(y, y, _CMP_UNORD_Q);          // NaN -> 0
            cnan = _mm256_sub_epi32(cnan, _mm256_castps_si256(bad));
            y = _mm256_andnot_ps(bad, y);
            __m256 over = _mm256_or_ps(_mm256_cmp_ps(y, c, _CMP_GT_OQ),
                                       _mm256_cmp_ps(y, negc, _CMP_LT_OQ));
            cclip = _mm256_sub_epi32(cclip, _mm256_castps_si256(over));
            y = _mm256_max_ps(_mm256_min_ps(y, c), negc);
            __m256i r = _mm256_cvtps_epi32(_mm256_mul_ps(y, s));  // round half even
            if (e->ring_bits == 32) {
                _mm256_storeu_si256((__m256i *)(void *)(o + 32 * v), r);
            } else {
                _mm256_storeu_si256((__m256i *)(void *)(o + 64 * v),
                                    _mm256_cvtepi32_epi64(_mm256_castsi256_si128(r)));
                _mm256_storeu_si256((__m256i *)(void *)(o + 64 * v + 32),
                                    _mm256_cvtepi32_epi64(_mm256_extracti128_si256(r, 1)));
            }
        }
        uint32_t ln[8], lc[8];
        _mm256_storeu_si256((__m256i *)(void *)ln, cnan);
        _mm256_storeu_si256((__m256i *)(void *)lc, cclip);
        for (int k = 0; k < 8; k++) { nnan += ln[k]; nclip += lc[k]; }
        v0 = v1;
    }
    st->nclipped += nclip;
    st->nnan += nnan;
    return 8 * nv;
}

static int have_avx2(void)
{
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    return cached;
}
#endif

void fs_fixed_encode_block(const fs_fixed_enc *e, const float *xf, const double *xd, size_t n,
                           void *out, fs_rng *rng, fs_fixed_stats *st)
{
    const int is32 = e->ring_bits == 32, isf32 = xf != NULL;
#if FS_FIXED_AVX2
    if (isf32 && e->simd_f32 && have_avx2()) {
        size_t done = encode_f32_avx2(e, xf, n, out, st);
        xf += done;
        out = (unsigned char *)out + done * fs_fixed_word_bytes(e->ring_bits);
        n -= done;
    }
#endif
#ifdef __SSE2__
    if (isf32 && e->simd_f32) {
        size_t done = encode_f32_sse2(e, xf, n, out, st);
        xf += done;
        out = (unsigned char *)out + done * fs_fixed_word_bytes(e->ring_bits);
        n -= done;
    }
#endif
    if (e->rounding == FS_FIXED_ROUND_STOCHASTIC) {
        if (is32 && isf32)       encode_loop(e, xf, xd, n, out, rng, st, 1, 1, 1, 0);
        else if (is32)           encode_loop(e, xf, xd, n, out, rng, st, 1, 0, 1, 0);
        else if (isf32)          encode_loop(e, xf, xd, n, out, rng, st, 0, 1, 1, 0);
        else                     encode_loop(e, xf, xd, n, out, rng, st, 0, 0, 1, 0);
    } else if (e->small) {
        if (is32 && isf32)       encode_loop(e, xf, xd, n, out, rng, st, 1, 1, 0, 1);
        else if (is32)           encode_loop(e, xf, xd, n, out, rng, st, 1, 0, 0, 1);
        else if (isf32)          encode_loop(e, xf, xd, n, out, rng, st, 0, 1, 0, 1);
        else                     encode_loop(e, xf, xd, n, out, rng, st, 0, 0, 0, 1);
    } else {
        // M > 2^51 only happens in the 64-bit ring.
        if (isf32)               encode_loop(e, xf, xd, n, out, rng, st, 0, 1, 0, 0);
        else                     encode_loop(e, xf, xd, n, out, rng, st, 0, 0, 0, 0);
    }
}

static fs_err encode_any(const fs_fixed_params *p, const float *xf, const double *xd, size_t n,
                         void *out, uint64_t rng_key, fs_fixed_stats *stats)
{
    fs_err rc = FS_OK;
    fs_fixed_enc e;
    fs_fixed_stats local = { 0, 0 };
    fs_rng rng;
    FS_TRY(fs_fixed_enc_init(&e, p));
    FS_CHECK_ARG(n == 0 || ((xf || xd) && out), "fixed-point encode: NULL buffer for %zu values",
                 n);
    fs_rng_seed(&rng, rng_key);
    fs_fixed_encode_block(&e, xf, xd, n, out, &rng, &local);
    if (stats) {
        stats->nclipped += local.nclipped;
        stats->nnan += local.nnan;
    } else if (local.nnan) {
        FS_FAIL(FS_ERR_NUMERIC, "fixed-point encode: %zu of %zu inputs are NaN", local.nnan, n);
    }
done:
    return rc;
}

fs_err fs_fixed_encode_f32(const fs_fixed_params *p, const float *x, size_t n, void *out,
                           uint64_t rng_key, fs_fixed_stats *stats)
{
    return encode_any(p, x, NULL, n, out, rng_key, stats);
}

fs_err fs_fixed_encode_f64(const fs_fixed_params *p, const double *x, size_t n, void *out,
                           uint64_t rng_key, fs_fixed_stats *stats)
{
    return encode_any(p, NULL, x, n, out, rng_key, stats);
}

/* Signed value of a b-bit two's-complement word, without implementation-
 * defined conversions. */
static inline int64_t signed32(uint32_t w)
{
    return (int64_t)(w ^ UINT32_C(0x80000000)) - INT64_C(0x80000000);
}

static inline int64_t signed64(uint64_t w)
{
    return (w >> 63) ? -(int64_t)(~w) - 1 : (int64_t)w;
}

/*
 * out[k] = (float)(int32_t)w[k] * scale, 8 lanes at a time with GCC/Clang
 * vector extensions (-O2 does not vectorize a loop with a remainder), AVX2
 * clone where function multi-versioning exists.  int32_t may alias the
 * uint32_t words; memcpy keeps the loads alignment-safe.
 */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
__attribute__((target_clones("avx2", "default")))
#endif
static void decode32_f32(const void *words, size_t n, float scale, float *out)
{
    typedef int32_t v8i __attribute__((vector_size(32)));
    typedef float v8f __attribute__((vector_size(32)));
    const unsigned char *w = words;
    const size_t nv = n / 8;
    for (size_t v = 0; v < nv; v++) {
        v8i x;
        memcpy(&x, w + 32 * v, 32);
        v8f y = __builtin_convertvector(x, v8f) * scale;
        memcpy(out + 8 * v, &y, 32);
    }
    const int32_t *s32 = words;
    for (size_t k = nv * 8; k < n; k++)
        out[k] = (float)s32[k] * scale;
}

#if FS_FIXED_AVX2
/*
 * The same with non-temporal stores (AVX2): for outputs much larger than
 * the caches the stores then skip reading each output line first.  Same
 * values bit for bit (the same conversion and product).  out is advanced
 * with plain stores to a 32-byte boundary first; returns how many values
 * it wrote (n rounded down past the aligned part).
 */
__attribute__((target("avx2")))
static size_t decode32_f32_stream(const void *words, size_t n, float scale, float *out)
{
    const int32_t *s32 = words;
    size_t k = 0;
    while (k < n && ((uintptr_t)(out + k) & 31) != 0) {
        out[k] = (float)s32[k] * scale;
        k++;
    }
    const __m256 sc = _mm256_set1_ps(scale);
    for (; k + 8 <= n; k += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(s32 + k));
        _mm256_stream_ps(out + k, _mm256_mul_ps(_mm256_cvtepi32_ps(x), sc));
    }
    _mm_sfence();
    return k;
}
#endif

/* Decode without checks (p valid, buffers non-NULL): the body of
 * decode_any and fs_fixed_decode_block.  stream: non-temporal stores on
 * the vectorized float path where the CPU has AVX2. */
static void decode_unchecked(const fs_fixed_params *p, const void *words, size_t n, float *of,
                             double *od, int stream)
{
    const double inv = ldexp(1.0, -p->frac_bits);   // exact power of 2
    const uint32_t *w32 = words;
    const uint64_t *w64 = words;
    if (p->ring_bits == 32 && of && p->frac_bits <= 100) {
        /* Hot path (model vectors), vectorized: int32_t may alias uint32_t
         * words and reads them as two's complement.  Scaling by a power of
         * two commutes with rounding to float while the result stays a
         * normal float (f <= 100: 1 <= |s| < 2^31 gives 2^-100 <= |s 2^-f|),
         * so (float)s * 2^-f equals (float)((double)s * 2^-f) bit for bit. */
        size_t done = 0;
#if FS_FIXED_AVX2
        if (stream && have_avx2()) done = decode32_f32_stream(words, n, (float)inv, of);
#else
        (void)stream;
#endif
        decode32_f32((const int32_t *)words + done, n - done, (float)inv, of + done);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        double v = (p->ring_bits == 32) ? (double)signed32(w32[k]) : (double)signed64(w64[k]);
        if (of)
            of[k] = (float)(v * inv);
        else
            od[k] = v * inv;
    }
}

void fs_fixed_decode_block(const fs_fixed_params *p, const void *words, size_t n, float *out,
                           int stream)
{
    decode_unchecked(p, words, n, out, NULL, stream);
}

static fs_err decode_any(const fs_fixed_params *p, const void *words, size_t n, float *of,
                         double *od)
{
    fs_err rc = FS_OK;
    FS_TRY(fs_fixed_check_params(p));
    FS_CHECK_ARG(n == 0 || (words && (of || od)), "fixed-point decode: NULL buffer for %zu values",
                 n);
    decode_unchecked(p, words, n, of, od, 0);
done:
    return rc;
}

fs_err fs_fixed_decode_f32(const fs_fixed_params *p, const void *words, size_t n, float *out)
{
    return decode_any(p, words, n, out, NULL);
}

fs_err fs_fixed_decode_f64(const fs_fixed_params *p, const void *words, size_t n, double *out)
{
    return decode_any(p, words, n, NULL, out);
}

/*
 * fs_fixed.h - fixed-point codec between real vectors and the ring Z_2^b
 * (b = 32 or 64) in which the secure sum is computed (docs/protocol.md,
 * encoding).
 *
 * Encoding of one real x with parameters (b, f, c):
 *
 *     y = clip(x, -c, c)                  NaN -> 0 (counted in nnan),
 *                                          +-Inf and |x| > c -> +-c (nclipped)
 *     v = round(y * 2^f)                  NEAREST: round half to even
 *                                          STOCHASTIC: floor(y*2^f) + [u < frac],
 *                                          u uniform in [0,1) from a seeded stream
 *     word = v mod 2^b                    two's complement in uint32/uint64
 *
 * Every encoded word satisfies |v| <= M where M = ceil(c * 2^f), "the
 * largest magnitude the encoder can emit".  Words are added with unsigned
 * wrap-around (= arithmetic mod 2^b).  Decoding reads a sum as a signed
 * b-bit integer and multiplies by 2^-f.
 *
 * Headroom rule (checked by fs_fixed_check_headroom): a sum of N parties'
 * contributions, each at most max_weight * M in magnitude, decodes exactly
 * iff it never leaves the signed range, which is guaranteed by
 *
 *     N * max_weight * M < 2^(b-1)           (M = ceil(c * 2^f))
 *
 * which is the headroom rule "N * w * c * 2^f < 2^(b-1)" with c * 2^f
 * rounded up to the integer the encoder can actually produce.
 *
 * Precision bound: for inputs inside [-c, c], each encoded coordinate is
 * within 2^-(f+1) of the input (nearest rounding), so the decoded sum of N
 * parties is within N * 2^-(f+1) of the exact real sum, plus the rounding
 * of the final conversion to float (relative 2^-24) or double (2^-53).
 * Stochastic rounding has error < 2^-f per coordinate but zero mean.
 *
 * All functions here are Not collective.  Every party that contributes to
 * one sum must use identical fs_fixed_params (the caller verifies this
 * across ranks, e.g. with a logically-collective check).
 */
#ifndef FEDSILO_FS_FIXED_H
#define FEDSILO_FS_FIXED_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FS_FIXED_ROUND_NEAREST = 0,   /* round half to even (IEEE default)   */
    FS_FIXED_ROUND_STOCHASTIC = 1 /* unbiased: E[v] = y * 2^f            */
} fs_fixed_rounding;

/* Codec parameters.  Must be identical on every party of a sum. */
typedef struct {
    int ring_bits;              /* b: 32 or 64                            */
    int frac_bits;              /* f >= 0: scale 2^f                      */
    double clip;                /* c > 0, finite: inputs clipped to [-c,c] */
    fs_fixed_rounding rounding;
} fs_fixed_params;

/* Per-call counts filled by the encoders (accumulated, never reset). */
typedef struct {
    size_t nclipped;            /* |x| > c or +-Inf: encoded as +-c       */
    size_t nnan;                /* NaN: encoded as 0.  Callers should fail */
} fs_fixed_stats;

/* fs_fixed_word_bytes - bytes per ring word: 4 for b = 32, 8 for b = 64,
 * 0 for an invalid b. */
FS_EXPORT size_t fs_fixed_word_bytes(int ring_bits);

/*
 * fs_fixed_max_magnitude - M = ceil(c * 2^f), the largest |v| the encoder
 * emits.  Not collective.  Returns +Inf when p is invalid or M overflows a
 * double (callers use it only after fs_fixed_check_params).
 */
FS_EXPORT double fs_fixed_max_magnitude(const fs_fixed_params *p);

/*
 * fs_fixed_check_params - validate one party's parameters alone.
 *
 * Not collective.  Checks b in {32, 64}, f >= 0, c finite and > 0, a known
 * rounding mode, and that one encoded value fits: M < 2^(b-1).
 * returns FS_OK, or FS_ERR_ARG with a message naming the bad value.
 */
FS_EXPORT fs_err fs_fixed_check_params(const fs_fixed_params *p) FS_WARN_UNUSED;

/*
 * fs_fixed_check_headroom - refuse parameters whose sum can wrap.
 *
 * Not collective (call it at configuration time, with the same arguments on
 * every rank).  Accepts iff fs_fixed_check_params accepts, nparties >= 1,
 * max_weight >= 1 is finite, and nparties * max_weight * M < 2^(b-1).
 * max_weight is the factor by which one party's contribution may exceed
 * one encoded value (1 for plain sums; k when a party adds k encodings).
 * returns FS_OK, or FS_ERR_ARG with a message that gives the numbers and
 * suggests fewer fractional bits, a smaller clip or the 64-bit ring.
 */
FS_EXPORT fs_err fs_fixed_check_headroom(const fs_fixed_params *p, int nparties,
                                         double max_weight) FS_WARN_UNUSED;

/*
 * fs_fixed_suggest - the largest frac_bits f for which
 * fs_fixed_check_headroom({ring_bits, f, clip}, nparties, 1) accepts.
 * Not collective.  For weighted sums pass clip * max_weight.
 * returns f >= 0, or -1 if no f works (or an argument is invalid).
 */
FS_EXPORT int fs_fixed_suggest(int ring_bits, int nparties, double clip);

/*
 * fs_fixed_rounding_key - the 64-bit stream key of the stochastic-rounding
 * stream for (seed, party, round, vector_id).  fs_masker uses exactly this
 * key, so a test can reproduce a masker's encoding with fs_fixed_encode_*.
 * Not collective.  NOT cryptographic: the rounding noise hides nothing.
 */
FS_EXPORT uint64_t fs_fixed_rounding_key(uint64_t seed, int party, uint64_t round,
                                         uint32_t vector_id);

/*
 * fs_fixed_encode_f32 / _f64 - encode n reals into ring words.
 *
 * Not collective.
 * in:   p (validated here with fs_fixed_check_params), x (n values,
 *       borrowed), rng_key (seed of the stochastic-rounding stream; ignored
 *       for NEAREST; the same key gives the same words)
 * out:  out (n words of fs_fixed_word_bytes(b) bytes, caller-allocated,
 *       uint32_t or uint64_t aligned), stats (optional; counts added)
 * returns FS_OK (out fully written; NaN and clipped values are only
 * counted), FS_ERR_ARG for invalid parameters, or FS_ERR_NUMERIC when
 * stats is NULL and some x is NaN (out is still fully written).
 */
FS_EXPORT fs_err fs_fixed_encode_f32(const fs_fixed_params *p, const float *x, size_t n,
                                     void *out, uint64_t rng_key,
                                     fs_fixed_stats *stats) FS_WARN_UNUSED;
FS_EXPORT fs_err fs_fixed_encode_f64(const fs_fixed_params *p, const double *x, size_t n,
                                     void *out, uint64_t rng_key,
                                     fs_fixed_stats *stats) FS_WARN_UNUSED;

/*
 * fs_fixed_decode_f32 / _f64 - decode n ring words (typically a sum).
 *
 * Not collective.  out[k] = (signed b-bit value of words[k]) * 2^-f.
 * in:   p, words (n words, borrowed)
 * out:  out (n values, caller-allocated; may not alias words)
 * returns FS_OK or FS_ERR_ARG for invalid parameters.
 */
FS_EXPORT fs_err fs_fixed_decode_f32(const fs_fixed_params *p, const void *words, size_t n,
                                     float *out) FS_WARN_UNUSED;
FS_EXPORT fs_err fs_fixed_decode_f64(const fs_fixed_params *p, const void *words, size_t n,
                                     double *out) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_FIXED_H */

/*
 * fs_fixed_impl.h - internal interface of the fixed-point codec, shared by
 * fs_fixed.c and fs_masker.c (not installed).
 *
 * fs_masker fuses encoding with masking block by block (docs/protocol.md),
 * so it needs the encoder as a kernel that continues one
 * stochastic-rounding stream across blocks.  Encoding a vector in blocks
 * with one fs_rng gives exactly the words of one fs_fixed_encode_* call.
 */
#ifndef FEDSILO_FS_FIXED_IMPL_H
#define FEDSILO_FS_FIXED_IMPL_H

#include "fs_impl.h"
#include "fedsilo/fs_fixed.h"

/* Validated, precomputed encoder state (no secrets). */
typedef struct {
    int ring_bits;              /* b: 32 or 64                        */
    int frac_bits;              /* f                                  */
    fs_fixed_rounding rounding;
    double clip;                /* c                                  */
    double scale;               /* 2^f (exact)                        */
    double maxmag;              /* M = ceil(c * 2^f) < 2^(b-1)       */
    int small;                  /* M <= 2^51: fast exact rounding ok  */
    int simd_f32;               /* float inputs may take the SSE2 path:
                                   NEAREST, c exact in float, M < 2^31 */
} fs_fixed_enc;

/* fs_fixed_enc_init - validate p (fs_fixed_check_params) and fill *e. */
FS_INTERN fs_err fs_fixed_enc_init(fs_fixed_enc *e, const fs_fixed_params *p);

/*
 * fs_fixed_encode_block - encode n values (exactly one of xf, xd non-NULL)
 * into out (n words of b bits).  rng is used only for STOCHASTIC rounding
 * and is advanced by exactly one draw per value.  Counts are added to *st
 * (required).  Cannot fail.
 */
FS_INTERN void fs_fixed_encode_block(const fs_fixed_enc *e, const float *xf,
                                     const double *xd, size_t n, void *out,
                                     fs_rng *rng, fs_fixed_stats *st);

/*
 * fs_fixed_decode_block - fs_fixed_decode_f32 without its checks: p must
 * be valid (fs_fixed_check_params) and the buffers non-NULL for n > 0.
 * stream != 0 writes out with non-temporal stores where the CPU has AVX2
 * (32-bit ring, f <= 100): for outputs far larger than the caches.  Same
 * values bit for bit.  Cannot fail.
 */
FS_INTERN void fs_fixed_decode_block(const fs_fixed_params *p, const void *words, size_t n,
                                     float *out, int stream);

#endif /* FEDSILO_FS_FIXED_IMPL_H */

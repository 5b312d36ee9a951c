/*
 * fs_ddp.h - distributed differential privacy at the aggregation (secagg layer,
 * internal): every institution clips its weighted update to L2 norm c,
 * rotates it with a shared randomized Walsh-Hadamard transform, encodes it
 * in the ring with f fractional bits (L2 norm of the integers at most
 * S = c 2^f + sqrt(d')/2, the sensitivity), adds discrete Gaussian noise
 * of variance (z S)^2 / H, and joins the secure sum: the shares of any H
 * institutions (--ddp-min-honest) together carry noise z S on every
 * coordinate, so the sum stays z-noisy against a coalition of the other
 * N - H, each of whom knows and can subtract its own share (Kairouz, Liu,
 * Steinke 2021).  See docs/privacy.md.
 */
#ifndef FEDSILO_FS_DDP_H
#define FEDSILO_FS_DDP_H

#include <stddef.h>
#include <stdint.h>
#include "fs_impl.h"
#include "fedsilo/fs_secagg.h"

typedef struct fs_ddp fs_ddp;

/*
 * fs_ddp_create - plan and allocate for nparams parameters, N ranks and at
 * least H (1..N) honest ones whose shares alone must carry the noise.
 * Not collective (every rank computes the same plan from the same public
 * inputs).  f is the largest number of fractional bits for which the
 * union-bounded probability that any coordinate of the noisy sum wraps
 * around the ring is <= max_wrap and the per-rank variance fits the
 * sampler (<= 2^62 in ring units); FS_ERR_ARG if none exists (in the
 * 32-bit ring the message suggests the 64-bit ring).  noise_seed (32
 * bytes) or NULL for OS randomness.  rotation_seed (32 bytes): public,
 * shared by all ranks.
 */
FS_INTERN fs_err fs_ddp_create(size_t nparams, int nranks, int min_honest, int ring_bits,
                               double clip, double noise_multiplier, double max_wrap,
                               const uint8_t rotation_seed[32], const uint8_t *noise_seed,
                               fs_ddp **out);
FS_INTERN void fs_ddp_destroy(fs_ddp **p);

/*
 * fs_ddp_sum - collective: out = sum over ranks of clip_c(u) plus the
 * distributed noise (nparams floats; in and out may alias).  *clipped is
 * 1 if this rank's update was scaled down to norm c.
 */
FS_INTERN fs_err fs_ddp_sum(fs_ddp *p, fs_secagg *sa, uint64_t round, uint32_t vector_id,
                            const float *u, float *out, int *clipped);

/*
 * The rank-local steps of fs_ddp_sum, separately (not collective; words
 * holds fs_ddp_dim(p) + 1 ring words of ring_bits):
 *   fs_ddp_encode    clip u (nparams) to L2 norm c (*clipped = 1 if it was
 *                    scaled down), rotate with the nonce round, encode with
 *                    f fractional bits into words[0..dim) with L2 norm of
 *                    the signed words <= S (enforced); words[dim], the
 *                    canary, = 0;
 *   fs_ddp_add_noise add this rank's discrete Gaussian share, variance
 *                    (z S)^2 / H per word, to words[0..dim) mod 2^b
 *                    (seeded mode: the stream of (noise seed, round));
 *   fs_ddp_decode    decode words[0..dim) (a sum over ranks), unrotate, and
 *                    write the first nparams values to out.
 * Without noise, decode(encode(u)) = clip_c(u) up to the rounding of the
 * rotation (2^-(f+1) per rotated coordinate) and exactly for inputs whose
 * rotation is exact in float.
 */
FS_INTERN fs_err fs_ddp_encode(fs_ddp *p, uint64_t round, const float *u, void *words,
                               int *clipped);
FS_INTERN fs_err fs_ddp_add_noise(fs_ddp *p, uint64_t round, void *words);
FS_INTERN fs_err fs_ddp_decode(fs_ddp *p, uint64_t round, const void *words, float *out);

/* The plan: fractional bits, padded dimension, the noise multiplier that
 * the honest shares alone give (sqrt(H v) / S, from the rational variance
 * v actually sampled), the bound on the probability of a modular wrap in
 * one round, the sensitivity S in ring units, and H. */
FS_INTERN int fs_ddp_frac_bits(const fs_ddp *p);
FS_INTERN size_t fs_ddp_dim(const fs_ddp *p);
FS_INTERN double fs_ddp_noise_multiplier(const fs_ddp *p);
FS_INTERN double fs_ddp_wrap_bound(const fs_ddp *p);
FS_INTERN double fs_ddp_sensitivity(const fs_ddp *p);
FS_INTERN int fs_ddp_min_honest(const fs_ddp *p);

#endif

/*
 * fs_ddp.c - distributed DP at the aggregation (see fs_ddp.h).
 *
 * Plan.  After clipping to norm c and an orthogonal rotation, every
 * coordinate of an institution's update has |x_j| <= c, so its encoding
 * has |v_j| <= M = ceil(c 2^f) and the noiseless sum of N encodings has
 * |S_j| <= N M.  The aggregate noise is a sum of N discrete Gaussians of
 * parameter v = (z c 2^f)^2 / N each; a discrete Gaussian is sub-Gaussian
 * with variance proxy its parameter (Canonne, Kamath, Steinke 2020), so the
 * sum has proxy N v = (z c 2^f)^2 and, by the union bound over the d'
 * coordinates,
 *
 *   P(any coordinate wraps) <= d' * 2 exp(-(2^(b-1) - N M)^2 / (2 N v)).
 *
 * f is the largest integer for which this bound, evaluated with the exact
 * M and the exact rational variance that is sampled, is <= max_wrap.  The
 * closed form 2^(b-1) >= c 2^f (N + z sqrt(2 ln(2 d' / max_wrap))) gives
 * the starting point; the sampler's limit v <= 2^62 caps it (which matters
 * only in the 64-bit ring).
 *
 * The variance is sampled exactly as the rational num / 2^k; the noise
 * multiplier reported to the accountant is computed from that rational.
 * The sum of N discrete Gaussians is close to, not exactly, a discrete
 * Gaussian of variance N v; Kairouz et al. 2021 bound the difference,
 * which docs/privacy.md states.
 */
#include <math.h>
#include <string.h>
#include "fs_ddp.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_fixed.h"
#include "fedsilo/fs_crypto.h"

struct fs_ddp {
    size_t n, dpad;           /* parameters, padded power-of-two dimension */
    int N, ring_bits, f;
    double clip, z_eff, wrap;
    uint8_t rot_seed[32];     /* public, shared                            */
    uint8_t noise_seed[32];   /* reproducible-noise base seed (if seeded)  */
    int seeded;
    uint64_t var_num, var_den; /* per-institution variance, exact rational */
    fs_dgauss *g;             /* secret noise stream                       */
    float *rot;               /* (dpad) clipped, rotated update            */
    void *words;              /* (dpad + 1) ring words                     */
    int64_t *noise;           /* (dpad) secret, wiped after use            */
};

/* The per-institution variance v as the exact rational num / 2^k that is
 * sampled (k <= 20 fractional bits, num <= 2^62).  0 if v is too large. */
static int variance_rational(double v, uint64_t *num, int *k)
{
    int e = 20;
    while (e > 0 && v * ldexp(1.0, e) > 0x1p62) e--;
    if (!(v * ldexp(1.0, e) <= 0x1p62)) return 0;
    uint64_t q = (uint64_t)llround(v * ldexp(1.0, e));
    *num = q < 1 ? 1 : q;
    *k = e;
    return 1;
}

/* The union bound of the file header for noiseless magnitude N M and
 * aggregate variance var_total; 1 when the margin is not positive. */
static double wrap_bound(size_t dpad, int N, int b, double M, double var_total)
{
    const double margin = ldexp(1.0, b - 1) - N * M;
    if (!(margin > 0)) return 1.0;
    const double w = (double)dpad * 2.0 * exp(-margin * margin / (2.0 * var_total));
    return w < 1.0 ? w : 1.0;
}

fs_err fs_ddp_create(size_t n, int N, int b, double c, double z, double max_wrap,
                     const uint8_t rseed[32], const uint8_t *noise_seed, fs_ddp **out)
{
    fs_err rc = FS_OK;
    fs_ddp *p = NULL;
    *out = NULL;
    FS_CHECK_ARG(n > 0 && N >= 1 && (b == 32 || b == 64), "ddp: bad sizes");
    FS_CHECK_ARG(c > 0 && isfinite(c), "--ddp-clip must be > 0");
    FS_CHECK_ARG(z > 0 && isfinite(z), "--ddp-noise must be > 0");
    FS_CHECK_ARG(max_wrap > 0 && max_wrap < 1, "--ddp-max-wrap must be in (0, 1)");
    FS_TRY(fs_zalloc(&p, 1, sizeof *p, "distributed DP"));
    p->n = n;
    p->N = N;
    p->ring_bits = b;
    p->clip = c;
    p->dpad = fs_dp_rotation_dim(n);
    memcpy(p->rot_seed, rseed, 32);
    const double t = sqrt(2.0 * log(2.0 * (double)p->dpad / max_wrap));
    const double fwrap = floor(log2(ldexp(1.0, b - 1) / (c * ((double)N + z * t))));
    const double fvar = floor(log2(0x1p31 * sqrt((double)N) / (z * c)));  // v <= 2^62
    if (fwrap >= 0 && !(fvar >= 0))
        FS_FAIL(FS_ERR_ARG, "distributed DP: noise variance (%g c)^2 / %d is too large for the "
                "sampler (at most 2^62 in ring units); lower --ddp-noise or --ddp-clip", z, N);
    int f = fwrap >= 0 ? (int)fmin(fmin(fwrap, fvar), 62) : -1;
    uint64_t num = 0;
    int k = 0;
    double wrap = 1.0;
    for (; f >= 0; f--) {
        if (!variance_rational(pow(z * ldexp(c, f), 2.0) / N, &num, &k)) continue;
        wrap = wrap_bound(p->dpad, N, b, ceil(ldexp(c, f)), (double)N * ldexp((double)num, -k));
        if (wrap <= max_wrap) break;
    }
    if (f < 0)
        FS_FAIL(FS_ERR_ARG, "distributed DP: no fixed-point precision keeps the wrap probability "
                "below %g in a %d-bit ring with %d institutions, clip %g and noise %g; %s",
                max_wrap, b, N, c, z,
                b == 32 ? "use --ring-bits 64" : "lower --ddp-clip or --ddp-noise");
    p->f = f;
    p->z_eff = sqrt(ldexp((double)num, -k) * N) / ldexp(c, f);
    p->wrap = wrap;
    p->var_num = num;
    p->var_den = (uint64_t)1 << k;
    if (noise_seed) {
        /* reproducible mode: the stream of round r is keyed by (seed, r) so a
         * resumed run draws exactly the noise of the uninterrupted one */
        memcpy(p->noise_seed, noise_seed, 32);
        p->seeded = 1;
    } else {
        FS_TRY(fs_dgauss_create(num, p->var_den, NULL, &p->g));
    }
    FS_TRY(fs_alloc(&p->rot, p->dpad, sizeof(float), "rotated update"));
    FS_TRY(fs_alloc(&p->words, p->dpad + 1, (size_t)b / 8, "ring words"));
    FS_TRY(fs_alloc(&p->noise, p->dpad, sizeof(int64_t), "noise"));
    *out = p;
    p = NULL;
done:
    fs_ddp_destroy(&p);
    return rc;
}

void fs_ddp_destroy(fs_ddp **pp)
{
    if (!pp || !*pp) return;
    fs_ddp *p = *pp;
    fs_dgauss_destroy(&p->g);
    fs_secure_zero(p->noise_seed, sizeof p->noise_seed);
    if (p->noise) fs_secure_zero(p->noise, p->dpad * sizeof(int64_t));
    if (p->words) fs_secure_zero(p->words, (p->dpad + 1) * (size_t)p->ring_bits / 8);
    if (p->rot) fs_secure_zero(p->rot, p->dpad * sizeof(float));
    free(p->noise);
    free(p->words);
    free(p->rot);
    free(p);
    *pp = NULL;
}

fs_err fs_ddp_encode(fs_ddp *p, uint64_t round, const float *u, void *words, int *clipped)
{
    fs_err rc = FS_OK;
    const size_t n = p->n, D = p->dpad;
    const fs_fixed_params fp = { p->ring_bits, p->f, p->clip, FS_FIXED_ROUND_NEAREST };
    /* 1. clip the L2 norm to c */
    double norm2 = 0;
    for (size_t i = 0; i < n; i++) norm2 += (double)u[i] * u[i];
    const double norm = sqrt(norm2);
    const float scale = norm > p->clip ? (float)(p->clip / norm) : 1.0f;
    *clipped = norm > p->clip;
    for (size_t i = 0; i < n; i++) p->rot[i] = u[i] * scale;
    /* 2. rotate (shared public signs, nonce = round), 3. encode; canary 0 */
    FS_TRY(fs_dp_rotate_f32(p->rot_seed, round, p->rot, n, D));
    FS_TRY(fs_fixed_encode_f32(&fp, p->rot, D, words, 0, NULL));
    if (p->ring_bits == 32) ((uint32_t *)words)[D] = 0;
    else ((uint64_t *)words)[D] = 0;
done:
    return rc;
}

fs_err fs_ddp_add_noise(fs_ddp *p, uint64_t round, void *words)
{
    fs_err rc = FS_OK;
    const size_t D = p->dpad;
    if (p->seeded) {
        uint8_t rs[40];  /* secret: wiped below */
        memcpy(rs, p->noise_seed, 32);
        for (int i = 0; i < 8; i++) rs[32 + i] = (uint8_t)(round >> (56 - 8 * i));
        uint8_t key[32];
        rc = fs_sha256(rs, sizeof rs, key);
        fs_dgauss_destroy(&p->g);
        if (rc == FS_OK) rc = fs_dgauss_create(p->var_num, p->var_den, key, &p->g);
        fs_secure_zero(rs, sizeof rs);
        fs_secure_zero(key, sizeof key);
        FS_TRY(rc);
    }
    FS_TRY(fs_dgauss_sample(p->g, p->noise, D));
    /* two's complement addition = addition mod 2^b */
    if (p->ring_bits == 32) {
        uint32_t *w = words;
        for (size_t i = 0; i < D; i++) w[i] += (uint32_t)(uint64_t)p->noise[i];
    } else {
        uint64_t *w = words;
        for (size_t i = 0; i < D; i++) w[i] += (uint64_t)p->noise[i];
    }
done:
    fs_secure_zero(p->noise, D * sizeof(int64_t));
    return rc;
}

fs_err fs_ddp_decode(fs_ddp *p, uint64_t round, const void *words, float *out)
{
    fs_err rc = FS_OK;
    const fs_fixed_params fp = { p->ring_bits, p->f, p->clip, FS_FIXED_ROUND_NEAREST };
    FS_TRY(fs_fixed_decode_f32(&fp, words, p->dpad, p->rot));
    FS_TRY(fs_dp_unrotate_f32(p->rot_seed, round, p->rot, p->dpad));
    memcpy(out, p->rot, p->n * sizeof(float));
done:
    return rc;
}

fs_err fs_ddp_sum(fs_ddp *p, fs_secagg *sa, uint64_t round, uint32_t vid, const float *u,
                  float *out, int *clipped)
{
    fs_err rc = FS_OK;
    fs_err local = fs_ddp_encode(p, round, u, p->words, clipped);
    if (local == FS_OK) local = fs_ddp_add_noise(p, round, p->words);
    /* collective: every rank reaches the secure sum (agreeing first) */
    if (local != FS_OK) fs_error_prefix(local, "distributed DP: ");
    FS_TRY(fs_secagg_sum_words(sa, round, vid, p->words, p->dpad, local));
    FS_TRY(fs_ddp_decode(p, round, p->words, out));
done:
    return rc;
}

int fs_ddp_frac_bits(const fs_ddp *p) { return p->f; }
size_t fs_ddp_dim(const fs_ddp *p) { return p->dpad; }
double fs_ddp_noise_multiplier(const fs_ddp *p) { return p->z_eff; }
double fs_ddp_wrap_bound(const fs_ddp *p) { return p->wrap; }

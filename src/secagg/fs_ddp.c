/*
 * fs_ddp.c - distributed DP at the aggregation (see fs_ddp.h).
 *
 * Sensitivity.  Neighbouring federations differ in one institution's
 * data, with the FedAvg weights fixed and public (1/N under DP, so the
 * clipped update u_k = clip_c((w_k - w)/N) is the only thing that changes:
 * zero-out neighbouring).  The institution's contribution to the ring sum
 * is its encoding e = round(2^f R x), x = clip_c(u_k), R orthogonal, and
 * rounding to nearest moves each of the d' coordinates by at most 1/2, so
 * |e|_2 <= c 2^f + sqrt(d')/2 =: S.  The float rotation can exceed |x| by a
 * few ulps, so fs_ddp_encode enforces |e|_2 <= S on the integers it emits
 * (it shrinks x when needed): S is the L2 sensitivity in ring units, by
 * construction.  The accountant gets z_eff = sigma_honest / S.
 *
 * Noise against the adversary that exists.  Every institution knows its own
 * noise share and a coalition of t knows t shares, so only the shares of
 * the honest institutions protect anyone.  With --ddp-min-honest H (at
 * least H of the N institutions do not collude with the attacker) every
 * institution adds a discrete Gaussian of parameter v = (z S)^2 / H: any H
 * shares together have variance (z S)^2, so the sum minus what a coalition
 * of N - H knows still carries noise z S.  The sum of all N shares has
 * variance N v, which is what the wrap bound below must cover.
 *
 * Plan.  |e_j| <= |e|_2 <= S, so the noiseless sum of N encodings has
 * |S_j| <= N M, M = floor(S).  A discrete Gaussian is sub-Gaussian with
 * variance proxy its parameter (Canonne, Kamath, Steinke 2020), so the
 * aggregate noise has proxy N v and, by the union bound over the d'
 * coordinates,
 *
 *   P(any coordinate wraps) <= d' * 2 exp(-(2^(b-1) - N M)^2 / (2 N v)).
 *
 * f is the largest integer for which this bound, evaluated with the exact
 * M and the exact rational variance that is sampled, is <= max_wrap.  The
 * closed form 2^(b-1) >= c 2^f (N + z sqrt(N/H) sqrt(2 ln(2 d' / max_wrap)))
 * (S without its sqrt(d')/2 term, so an upper bound on f) gives the
 * starting point; the sampler's limit v <= 2^62 caps it (which matters only
 * in the 64-bit ring).
 *
 * The variance is sampled exactly as the rational num / 2^k; the noise
 * multiplier reported to the accountant, sqrt(H num / 2^k) / S, is
 * computed from that rational.
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
    int N, H, ring_bits, f;
    double clip, sens, z_eff, wrap; /* sens: S, the L2 sensitivity in ring units */
    uint8_t rot_seed[32];     /* public, shared                            */
    uint8_t noise_seed[32];   /* reproducible-noise base seed (if seeded)  */
    int seeded;
    uint64_t var_num, var_den; /* per-institution variance, exact rational */
    fs_dgauss *g;             /* secret noise stream                       */
    float *rot;               /* (dpad) clipped, rotated update            */
    void *words;              /* (dpad + 1) ring words                     */
    int64_t *noise;           /* (dpad) secret, wiped after use            */
};

/* The union bound of the file header for noiseless magnitude N M and
 * aggregate variance var_total; 1 when the margin is not positive. */
static double wrap_bound(size_t dpad, int N, int b, double M, double var_total)
{
    const double margin = ldexp(1.0, b - 1) - N * M;
    if (!(margin > 0)) return 1.0;
    const double w = (double)dpad * 2.0 * exp(-margin * margin / (2.0 * var_total));
    return w < 1.0 ? w : 1.0;
}

/* S(f) = c 2^f + sqrt(d')/2 (file header). */
static double sensitivity(double c, int f, size_t dpad)
{
    return ldexp(c, f) + 0.5 * sqrt((double)dpad);
}

fs_err fs_ddp_create(size_t n, int N, int H, int b, double c, double z, double max_wrap,
                     const uint8_t rseed[32], const uint8_t *noise_seed, fs_ddp **out)
{
    fs_err rc = FS_OK;
    fs_ddp *p = NULL;
    *out = NULL;
    FS_CHECK_ARG(n > 0 && N >= 1 && (b == 32 || b == 64), "ddp: bad sizes");
    FS_CHECK_ARG(H >= 1 && H <= N, "--ddp-min-honest %d must be between 1 and the %d "
                 "institutions", H, N);
    FS_CHECK_ARG(c > 0 && isfinite(c), "--ddp-clip must be > 0");
    FS_CHECK_ARG(z > 0 && isfinite(z), "--ddp-noise must be > 0");
    FS_CHECK_ARG(max_wrap > 0 && max_wrap < 1, "--ddp-max-wrap must be in (0, 1)");
    FS_TRY(fs_zalloc(&p, 1, sizeof *p, "distributed DP"));
    p->n = n;
    p->N = N;
    p->H = H;
    p->ring_bits = b;
    p->clip = c;
    p->dpad = fs_dp_rotation_dim(n);
    memcpy(p->rot_seed, rseed, 32);
    const double t = sqrt(2.0 * log(2.0 * (double)p->dpad / max_wrap));
    const double fwrap = floor(log2(ldexp(1.0, b - 1) /
                                    (c * ((double)N + z * sqrt((double)N / H) * t))));
    const double fvar = floor(log2(0x1p31 * sqrt((double)H) / (z * c)));  // v <= 2^62
    if (fwrap >= 0 && !(fvar >= 0))
        FS_FAIL(FS_ERR_ARG, "distributed DP: noise variance (%g c)^2 / %d is too large for the "
                "sampler (at most 2^62 in ring units); lower --ddp-noise or --ddp-clip", z, H);
    int f = fwrap >= 0 ? (int)fmin(fmin(fwrap, fvar), 62) : -1;
    uint64_t num = 0;
    int k = 0;
    double wrap = 1.0;
    for (; f >= 0; f--) {
        const double S = sensitivity(c, f, p->dpad);
        if (!fs_dgauss_variance_rational(pow(z * S, 2.0) / H, &num, &k)) continue;
        wrap = wrap_bound(p->dpad, N, b, floor(S), (double)N * ldexp((double)num, -k));
        if (wrap <= max_wrap) break;
    }
    if (f < 0)
        FS_FAIL(FS_ERR_ARG, "distributed DP: no fixed-point precision keeps the wrap probability "
                "below %g in a %d-bit ring with %d institutions, clip %g and noise %g; %s",
                max_wrap, b, N, c, z,
                b == 32 ? "use --ring-bits 64" : "lower --ddp-clip or --ddp-noise");
    p->f = f;
    p->sens = sensitivity(c, f, p->dpad);
    p->z_eff = sqrt(ldexp((double)num, -k) * H) / p->sens;
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
    /* 2. rotate (shared public signs, nonce = round), 3. encode; 4. the
     * integers emitted must have |e|_2 <= S, the sensitivity the accountant
     * uses: shrink x when the float rotation overshot (a few ulps) */
    FS_TRY(fs_dp_rotate_f32(p->rot_seed, round, p->rot, n, D));
    for (int tries = 0;; tries++) {
        FS_TRY(fs_fixed_encode_f32(&fp, p->rot, D, words, 0, NULL));
        double e2 = 0;
        for (size_t i = 0; i < D; i++) {
            const double e = p->ring_bits == 32 ? (double)(int32_t)((uint32_t *)words)[i]
                                                : (double)(int64_t)((uint64_t *)words)[i];
            e2 += e * e;
        }
        if (sqrt(e2) <= p->sens * (1 - 1e-12)) break;
        if (tries == 8)
            FS_FAIL(FS_ERR_NUMERIC, "distributed DP: the encoded update's norm %g exceeds the "
                    "sensitivity %g", sqrt(e2), p->sens);
        const float shrink = (float)(p->sens / sqrt(e2) * (1 - 1e-6));
        for (size_t i = 0; i < D; i++) p->rot[i] *= shrink;
        *clipped = 1;
    }
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
double fs_ddp_sensitivity(const fs_ddp *p) { return p->sens; }
int fs_ddp_min_honest(const fs_ddp *p) { return p->H; }
double fs_ddp_wrap_bound(const fs_ddp *p) { return p->wrap; }

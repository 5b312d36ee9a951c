/*
 * fs_mech.c - the CSPRNG noise stream and the continuous Gaussian and
 * Laplace mechanisms (privacy layer; no MPI, never prints).
 *
 * Noise stream: the AES-128-CTR keystream of fs_prg (src/crypto/fs_prg.c)
 * under a 32-byte key from the OS CSPRNG (fs_random_bytes) or the caller,
 * at nonce (stream_round, stream_id), read through a 4 KiB buffer that is
 * wiped when refilled and on destroy.  Uniform integers below n are drawn
 * by rejection (mask to the bit length of n - 1, retry while >= n), uniform
 * doubles as k 2^-53 with 53 keystream bits, normals by Box-Muller:
 *     z0 = sqrt(-2 ln u1) cos(2 pi u2),  z1 = sqrt(-2 ln u1) sin(2 pi u2),
 * with u1 in (0, 1] (1 - k 2^-53) so that ln u1 is finite.
 *
 * Mechanisms:
 *   analytic Gaussian (Balle & Wang 2018, Theorem 8): the smallest sigma
 *     with Phi(D/(2s) - e s/D) - e^e Phi(-D/(2s) - e s/D) <= delta, found by
 *     bisection on log sigma; the second term is evaluated as
 *     exp(e + log Phi(.)) so that large eps cannot overflow.
 *   classic Gaussian (Dwork & Roth 2014, Thm A.1): sqrt(2 ln(1.25/delta)) D/eps, eps < 1.
 *   Laplace: b = D_1 / eps; x = -b sgn(u) ln(1 - 2|u|), u uniform in (-1/2, 1/2).
 */
#include <math.h>
#include <string.h>

#include "fs_impl.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_prg.h"
#include "fedsilo/fs_dp.h"

#define DP_RNG_BUFBYTES 4096

struct fs_dp_rng {
    fs_prg *prg;                       /* AES-128-CTR keystream (secret key)  */
    size_t pos;                        /* next unread byte of buf             */
    uint8_t buf[DP_RNG_BUFBYTES];      /* secret: keystream, wiped on refill  */
};

size_t fs_dp_seedbytes(void) { return FS_DP_SEEDBYTES; }

fs_err fs_dp_rng_create(const uint8_t *seed, uint64_t stream_round, uint32_t stream_id,
                        fs_dp_rng **out)
{
    fs_err rc = FS_OK;
    fs_dp_rng *r = NULL;
    uint8_t key[FS_PRG_SEEDBYTES];     /* secret: wiped at done: */
    if (out) *out = NULL;
    FS_CHECK_ARG(out, "fs_dp_rng_create: NULL output");
    if (seed) memcpy(key, seed, sizeof key);
    else FS_TRY(fs_random_bytes(key, sizeof key));
    FS_TRY(fs_zalloc(&r, 1, sizeof *r, "DP noise stream"));
    FS_TRY(fs_prg_create(key, &r->prg));
    FS_TRY(fs_prg_set_nonce(r->prg, stream_round, stream_id));
    r->pos = DP_RNG_BUFBYTES;          // empty: the first read refills
    *out = r;
    r = NULL;
done:
    fs_secure_zero(key, sizeof key);
    fs_dp_rng_destroy(&r);
    return rc;
}

void fs_dp_rng_destroy(fs_dp_rng **p)
{
    if (!p || !*p) return;
    fs_prg_destroy(&(*p)->prg);
    fs_secure_zero(*p, sizeof **p);
    free(*p);
    *p = NULL;
}

fs_err fs_dp_rng_bytes(fs_dp_rng *r, void *out, size_t n)
{
    fs_err rc = FS_OK;
    uint8_t *o = out;
    FS_CHECK_ARG(r && (out || n == 0), "fs_dp_rng_bytes: NULL argument");
    while (n > 0) {
        if (r->pos == DP_RNG_BUFBYTES) {
            FS_TRY(fs_prg_generate(r->prg, r->buf, DP_RNG_BUFBYTES));
            r->pos = 0;
        }
        size_t k = DP_RNG_BUFBYTES - r->pos;
        if (k > n) k = n;
        memcpy(o, r->buf + r->pos, k);
        fs_secure_zero(r->buf + r->pos, k);   // each keystream byte is used once
        r->pos += k;
        o += k;
        n -= k;
    }
done:
    return rc;
}

static fs_err rng_u64(fs_dp_rng *r, uint64_t *v)
{
    uint8_t b[8];
    fs_err rc = fs_dp_rng_bytes(r, b, sizeof b);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x = (x << 8) | b[i];
    *v = x;
    return rc;
}

fs_err fs_dp_rng_below(fs_dp_rng *r, uint64_t n, uint64_t *out)
{
    fs_err rc = FS_OK;
    uint64_t v = 0, mask;
    FS_CHECK_ARG(r && out && n >= 1, "fs_dp_rng_below: bad argument");
    if (n == 1) { *out = 0; return FS_OK; }
    // mask = 2^bitlen(n - 1) - 1: each try succeeds with probability > 1/2.
    mask = n - 1;
    mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4;
    mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32;
    do FS_TRY(rng_u64(r, &v)); while ((v & mask) >= n);
    *out = v & mask;
done:
    return rc;
}

fs_err fs_dp_rng_uniform(fs_dp_rng *r, double *out)
{
    fs_err rc = FS_OK;
    uint64_t v = 0;
    FS_CHECK_ARG(r && out, "fs_dp_rng_uniform: NULL argument");
    FS_TRY(rng_u64(r, &v));
    *out = (double)(v >> 11) * 0x1.0p-53;
done:
    return rc;
}

fs_err fs_dp_rng_normal(fs_dp_rng *r, double *out, size_t n)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(r && (out || n == 0), "fs_dp_rng_normal: NULL argument");
    for (size_t i = 0; i < n; i += 2) {
        double u1, u2;
        FS_TRY(fs_dp_rng_uniform(r, &u1));
        FS_TRY(fs_dp_rng_uniform(r, &u2));
        double rad = sqrt(-2.0 * log(1.0 - u1));   // 1 - u1 in (0, 1]
        out[i] = rad * cos(2.0 * M_PI * u2);
        if (i + 1 < n) out[i + 1] = rad * sin(2.0 * M_PI * u2);
    }
done:
    return rc;
}

// ---------------------------------------------------------------- mechanisms

/* log Phi(x) without underflow for very negative x. */
static double log_phi(double x)
{
    if (x > -30.0) return log(0.5 * erfc(-x / M_SQRT2));
    // Mills ratio: Phi(x) ~ phi(x)/|x| (1 - 1/x^2 + 3/x^4 - 15/x^6).
    double x2 = x * x;
    return -0.5 * x2 - log(-x) - 0.5 * log(2.0 * M_PI) +
           log1p(-1.0 / x2 + 3.0 / (x2 * x2) - 15.0 / (x2 * x2 * x2));
}

/* delta(s) of the Gaussian mechanism with std s, sensitivity D, at eps e
 * (Balle & Wang 2018, Theorem 8).  Decreasing in s. */
static double agm_delta(double s, double e, double D)
{
    double a = D / (2.0 * s), b = e * s / D;
    return 0.5 * erfc(-(a - b) / M_SQRT2) - exp(e + log_phi(-a - b));
}

fs_err fs_dp_gaussian_sigma(double eps, double delta, double l2_sensitivity, double *sigma)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(sigma, "fs_dp_gaussian_sigma: NULL output");
    *sigma = NAN;
    FS_CHECK_ARG(isfinite(eps) && eps > 0, "dp: epsilon %g must be a finite number > 0", eps);
    FS_CHECK_ARG(delta > 0 && delta < 1, "dp: delta %g must be in (0, 1)", delta);
    FS_CHECK_ARG(isfinite(l2_sensitivity) && l2_sensitivity > 0,
                 "dp: L2 sensitivity %g must be a finite number > 0", l2_sensitivity);
    // Bracket in units of D: delta(s) -> 1 as s -> 0 and -> 0 as s -> inf.
    double lo = 1.0, hi = 1.0;
    while (agm_delta(lo * l2_sensitivity, eps, l2_sensitivity) <= delta && lo > 1e-300) lo *= 0.5;
    while (agm_delta(hi * l2_sensitivity, eps, l2_sensitivity) > delta) {
        hi *= 2.0;
        FS_CHECK_ARG(hi < 1e300, "dp: no Gaussian noise reaches delta %g at eps %g", delta, eps);
    }
    // Invariant: delta(lo D) > target >= delta(hi D) (or lo is tiny).
    while (hi - lo > 1e-12 * hi) {
        double mid = 0.5 * (lo + hi);
        if (agm_delta(mid * l2_sensitivity, eps, l2_sensitivity) <= delta) hi = mid;
        else lo = mid;
    }
    *sigma = hi * l2_sensitivity;
done:
    return rc;
}

fs_err fs_dp_gaussian_sigma_classic(double eps, double delta, double l2_sensitivity,
                                    double *sigma)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(sigma, "fs_dp_gaussian_sigma_classic: NULL output");
    *sigma = NAN;
    FS_CHECK_ARG(eps > 0 && eps < 1, "dp: the classic Gaussian mechanism needs 0 < eps < 1 "
                 "(got %g); use the analytic one", eps);
    FS_CHECK_ARG(delta > 0 && delta < 1, "dp: delta %g must be in (0, 1)", delta);
    FS_CHECK_ARG(isfinite(l2_sensitivity) && l2_sensitivity > 0,
                 "dp: L2 sensitivity %g must be a finite number > 0", l2_sensitivity);
    *sigma = sqrt(2.0 * log(1.25 / delta)) * l2_sensitivity / eps;
done:
    return rc;
}

fs_err fs_dp_gaussian_add(fs_dp_rng *r, double sigma, double *x, size_t n)
{
    fs_err rc = FS_OK;
    double z[64];
    FS_CHECK_ARG(r && (x || n == 0), "fs_dp_gaussian_add: NULL argument");
    FS_CHECK_ARG(isfinite(sigma) && sigma >= 0, "dp: noise std %g must be finite and >= 0",
                 sigma);
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        FS_TRY(fs_dp_rng_normal(r, z, k));
        for (size_t j = 0; j < k; j++) x[i + j] += sigma * z[j];
    }
done:
    fs_secure_zero(z, sizeof z);
    return rc;
}

fs_err fs_dp_gaussian_add_f32(fs_dp_rng *r, double sigma, float *x, size_t n)
{
    fs_err rc = FS_OK;
    double z[64];
    FS_CHECK_ARG(r && (x || n == 0), "fs_dp_gaussian_add_f32: NULL argument");
    FS_CHECK_ARG(isfinite(sigma) && sigma >= 0, "dp: noise std %g must be finite and >= 0",
                 sigma);
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        FS_TRY(fs_dp_rng_normal(r, z, k));
        for (size_t j = 0; j < k; j++) x[i + j] = (float)((double)x[i + j] + sigma * z[j]);
    }
done:
    fs_secure_zero(z, sizeof z);
    return rc;
}

fs_err fs_dp_laplace_scale(double eps, double l1_sensitivity, double *b)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(b, "fs_dp_laplace_scale: NULL output");
    *b = NAN;
    FS_CHECK_ARG(isfinite(eps) && eps > 0, "dp: epsilon %g must be a finite number > 0", eps);
    FS_CHECK_ARG(isfinite(l1_sensitivity) && l1_sensitivity > 0,
                 "dp: L1 sensitivity %g must be a finite number > 0", l1_sensitivity);
    *b = l1_sensitivity / eps;
done:
    return rc;
}

fs_err fs_dp_laplace_add(fs_dp_rng *r, double b, double *x, size_t n)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(r && (x || n == 0), "fs_dp_laplace_add: NULL argument");
    FS_CHECK_ARG(isfinite(b) && b >= 0, "dp: Laplace scale %g must be finite and >= 0", b);
    for (size_t i = 0; i < n; i++) {
        double u = -0.5;
        while (u == -0.5) {                         // ln(0): redraw (probability 2^-53)
            FS_TRY(fs_dp_rng_uniform(r, &u));
            u -= 0.5;                               // [-1/2, 1/2)
        }
        double mag = -b * log1p(-2.0 * fabs(u));
        x[i] += u < 0 ? -mag : mag;
    }
done:
    return rc;
}

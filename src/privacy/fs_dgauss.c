/*
 * fs_dgauss.c - exact discrete Gaussian and discrete Laplace samplers
 * (privacy layer; GMP, no MPI, never prints).
 *
 * Canonne, Kamath, Steinke 2020, "The Discrete Gaussian for Differential
 * Privacy" (NeurIPS 2020), Section 5:
 *
 *   Algorithm 1, Bernoulli(exp(-gamma)) for rational gamma = num/den >= 0:
 *     gamma <= 1:  K = 1; while Bernoulli(gamma / K) { K++ };  return K odd
 *     gamma > 1:   repeat floor(gamma) times: if !Bernoulli(exp(-1)) return 0;
 *                  return Bernoulli(exp(-(gamma - floor(gamma))))
 *   Algorithm 2, discrete Laplace with scale t/s (P[x] ~ exp(-|x| s/t)):
 *     U uniform in {0..t-1}; reject unless Bernoulli(exp(-U/t));
 *     V = number of successes of Bernoulli(exp(-1)) before the first failure;
 *     X = U + t V;  Y = floor(X / s);  B = Bernoulli(1/2);
 *     reject if B = 1 and Y = 0;  return (1 - 2B) Y
 *   Algorithm 3, discrete Gaussian N_Z(0, sigma^2):
 *     t = floor(sigma) + 1;  repeat: Y = DLap(scale t);
 *     accept Y with probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)).
 *
 * With sigma^2 = n/d the acceptance exponent of Algorithm 3 is the exact
 * rational (|Y| t d - n)^2 / (2 n d t^2), and t = isqrt(floor(n/d)) + 1
 * (floor(sqrt(x)) = isqrt(floor(x)) for real x >= 0).  Every decision is an
 * integer comparison U < num with U uniform in [0, den) drawn by rejection
 * from the AES-CTR noise stream (fs_dp_rng): no floating point is involved.
 * Numbers that fit in 64 bits take a fast path; larger ones use GMP.
 */
#include <gmp.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "fs_impl.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_dp.h"

/* Largest uniform integer bound drawn by rejection, in bytes (the
 * exponent denominators are below 2^200 for 64-bit sigma^2 inputs). */
#define DG_MAXBYTES 128

struct fs_dgauss {
    fs_dp_rng *rng;        /* CSPRNG stream (secret state)                    */
    mpz_t s2n, s2d;        /* sigma^2 = s2n / s2d, both >= 1, reduced         */
    mpz_t t;               /* floor(sigma) + 1                                */
    mpz_t gden;            /* 2 s2n s2d t^2: denominator of Alg. 3 exponent   */
    mpz_t a, gnum;         /* scratch: |Y| t d - n and its square             */
    mpz_t u, dk, f, r;     /* scratch for the Bernoulli samplers              */
    uint64_t t64;          /* t as an integer (t < 2^33)                      */
    int ready;             /* mpz fields initialized                          */
};

// ---------------------------------------------------------------- uniform and Bernoulli

/* u = uniform integer in [0, m), m >= 1, by rejection on bitlen(m) bits. */
static fs_err uniform_below(fs_dgauss *g, mpz_t u, const mpz_t m)
{
    fs_err rc = FS_OK;
    uint8_t buf[DG_MAXBYTES];
    if (mpz_fits_ulong_p(m)) {
        uint64_t v = 0;
        FS_TRY(fs_dp_rng_below(g->rng, (uint64_t)mpz_get_ui(m), &v));
        mpz_set_ui(u, (unsigned long)v);
        return FS_OK;
    }
    size_t nbits = mpz_sizeinbase(m, 2), nbytes = (nbits + 7) / 8;
    if (nbytes > sizeof buf)
        FS_FAIL(FS_ERR_ARG, "dgauss: internal bound of %zu bits is too large", nbits);
    do {
        FS_TRY(fs_dp_rng_bytes(g->rng, buf, nbytes));
        mpz_import(u, nbytes, 1, 1, 1, 0, buf);
        mpz_fdiv_r_2exp(u, u, nbits);
    } while (mpz_cmp(u, m) >= 0);
done:
    fs_secure_zero(buf, sizeof buf);
    return rc;
}

/* *b = Bernoulli(num / den), 0 <= num <= den, den >= 1: [U < num]. */
static fs_err bern_rat(fs_dgauss *g, const mpz_t num, const mpz_t den, int *b)
{
    fs_err rc = uniform_below(g, g->u, den);
    *b = rc == FS_OK && mpz_cmp(g->u, num) < 0;
    return rc;
}

/* *b = Bernoulli(exp(-num/den)) for 0 <= num <= den (Algorithm 1, gamma <= 1). */
static fs_err bern_exp_le1(fs_dgauss *g, const mpz_t num, const mpz_t den, int *b)
{
    fs_err rc = FS_OK;
    unsigned long k = 1;
    for (;;) {
        int a = 0;
        mpz_mul_ui(g->dk, den, k);              // Bernoulli(gamma / k) = num / (den k)
        FS_TRY(bern_rat(g, num, g->dk, &a));
        if (!a) break;
        k++;
    }
    *b = (int)(k & 1);
done:
    return rc;
}

/* *b = Bernoulli(exp(-num/den)), num >= 0, den >= 1 (Algorithm 1).
 * num and den must not alias g->f or g->r. */
static fs_err bern_exp(fs_dgauss *g, const mpz_t num, const mpz_t den, int *b)
{
    fs_err rc = FS_OK;
    mpz_t one;
    mpz_init_set_ui(one, 1);
    *b = 0;
    if (mpz_cmp(num, den) <= 0) {
        FS_TRY(bern_exp_le1(g, num, den, b));
        goto done;
    }
    mpz_fdiv_qr(g->f, g->r, num, den);          // gamma = f + r/den
    // floor(gamma) draws of Bernoulli(exp(-1)); stop at the first 0.  The
    // counter cannot realistically pass ULONG_MAX (each draw stops w.p. 0.63).
    for (unsigned long k = 0; mpz_cmp_ui(g->f, k) > 0; k++) {
        int e = 0;
        FS_TRY(bern_exp_le1(g, one, one, &e));
        if (!e) goto done;
    }
    FS_TRY(bern_exp_le1(g, g->r, den, b));
done:
    mpz_clear(one);
    return rc;
}

// ---------------------------------------------------------------- samplers

/* One draw of the discrete Laplace with scale t/s (Algorithm 2). */
static fs_err dlaplace1(fs_dgauss *g, uint64_t s, uint64_t t, int64_t *out)
{
    fs_err rc = FS_OK;
    mpz_t un, td, one;
    mpz_inits(un, td, one, NULL);
    mpz_set_ui(td, (unsigned long)t);
    mpz_set_ui(one, 1);
    for (;;) {
        uint64_t u = 0, v = 0;
        int d = 0, a = 1, bit = 0;
        uint8_t byte;
        FS_TRY(fs_dp_rng_below(g->rng, t, &u));
        mpz_set_ui(un, (unsigned long)u);
        FS_TRY(bern_exp_le1(g, un, td, &d));    // Bernoulli(exp(-U/t)), U/t < 1
        if (!d) continue;
        while (a) {
            FS_TRY(bern_exp_le1(g, one, one, &a));   // Bernoulli(exp(-1))
            if (a) v++;
        }
        if (v > (UINT64_C(1) << 62) / t)
            FS_FAIL(FS_ERR_ARG, "dlaplace: sample exceeds 2^62");  // probability < e^-(2^29)
        uint64_t x = u + t * v, y = x / s;
        FS_TRY(fs_dp_rng_bytes(g->rng, &byte, 1));
        bit = byte & 1;                          // Bernoulli(1/2)
        if (bit && y == 0) continue;
        *out = bit ? -(int64_t)y : (int64_t)y;
        break;
    }
done:
    mpz_clears(un, td, one, NULL);
    return rc;
}

/* One draw of N_Z(0, s2n / s2d) (Algorithm 3). */
static fs_err dgauss1(fs_dgauss *g, int64_t *out)
{
    fs_err rc = FS_OK;
    for (;;) {
        int64_t y = 0;
        int c = 0;
        FS_TRY(dlaplace1(g, 1, g->t64, &y));
        uint64_t ay = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
        // a = |Y| t d - n;  exponent = a^2 / (2 n d t^2).
        mpz_set_ui(g->a, (unsigned long)ay);
        mpz_mul(g->a, g->a, g->t);
        mpz_mul(g->a, g->a, g->s2d);
        mpz_sub(g->a, g->a, g->s2n);
        mpz_mul(g->gnum, g->a, g->a);
        FS_TRY(bern_exp(g, g->gnum, g->gden, &c));
        if (c) { *out = y; break; }
    }
done:
    return rc;
}

// ---------------------------------------------------------------- public API

int fs_dgauss_variance_rational(double v, uint64_t *num, int *k)
{
    int e = 20;
    if (!(v > 0) || !isfinite(v)) return 0;
    while (e > 0 && v * ldexp(1.0, e) > 0x1p62) e--;
    if (!(v * ldexp(1.0, e) <= 0x1p62)) return 0;
    uint64_t q = (uint64_t)llround(v * ldexp(1.0, e));
    *num = q < 1 ? 1 : q;
    *k = e;
    return 1;
}

fs_err fs_dgauss_create(uint64_t sigma2_num, uint64_t sigma2_den, const uint8_t *seed,
                        fs_dgauss **out)
{
    fs_err rc = FS_OK;
    fs_dgauss *g = NULL;
    if (out) *out = NULL;
    FS_CHECK_ARG(out, "fs_dgauss_create: NULL output");
    FS_CHECK_ARG(sigma2_num >= 1 && sigma2_den >= 1, "dgauss: sigma^2 = %llu/%llu must be a "
                 "positive fraction", (unsigned long long)sigma2_num,
                 (unsigned long long)sigma2_den);
    FS_TRY(fs_crypto_init());                    // GMP memory hooks before any mpz
    FS_TRY(fs_zalloc(&g, 1, sizeof *g, "discrete Gaussian sampler"));
    FS_TRY(fs_dp_rng_create(seed, 0, UINT32_C(0x64676175), &g->rng));   // "dgau"
    mpz_inits(g->s2n, g->s2d, g->t, g->gden, g->a, g->gnum, g->u, g->dk, g->f, g->r, NULL);
    g->ready = 1;
    mpz_set_ui(g->s2n, (unsigned long)sigma2_num);
    mpz_set_ui(g->s2d, (unsigned long)sigma2_den);
    mpz_gcd(g->a, g->s2n, g->s2d);
    mpz_divexact(g->s2n, g->s2n, g->a);
    mpz_divexact(g->s2d, g->s2d, g->a);
    mpz_fdiv_q(g->t, g->s2n, g->s2d);            // floor(sigma^2)
    mpz_sqrt(g->t, g->t);                        // floor(sigma)
    mpz_add_ui(g->t, g->t, 1);
    g->t64 = (uint64_t)mpz_get_ui(g->t);
    mpz_mul(g->gden, g->t, g->t);                // 2 n d t^2
    mpz_mul(g->gden, g->gden, g->s2n);
    mpz_mul(g->gden, g->gden, g->s2d);
    mpz_mul_2exp(g->gden, g->gden, 1);
    *out = g;
    g = NULL;
done:
    fs_dgauss_destroy(&g);
    return rc;
}

fs_err fs_dgauss_create_decimal(const char *sigma2, const uint8_t *seed, fs_dgauss **out)
{
    fs_err rc = FS_OK;
    uint64_t num = 0, den = 1;
    int digits = 0, frac = 0, dot = 0;
    if (out) *out = NULL;
    FS_CHECK_ARG(sigma2 && *sigma2, "dgauss: empty sigma^2");
    for (const char *p = sigma2; *p; p++) {
        if (*p == '.' && !dot) { dot = 1; continue; }
        FS_CHECK_ARG(*p >= '0' && *p <= '9', "dgauss: sigma^2 '%s' is not a plain decimal "
                     "number", sigma2);
        if (num > 0 || *p != '0') digits++;
        FS_CHECK_ARG(digits <= 18 && frac < 18, "dgauss: sigma^2 '%s' has more than 18 "
                     "significant digits", sigma2);
        num = num * 10 + (uint64_t)(*p - '0');
        if (dot) { den *= 10; frac++; }
    }
    FS_CHECK_ARG(num >= 1, "dgauss: sigma^2 '%s' must be > 0", sigma2);
    FS_TRY(fs_dgauss_create(num, den, seed, out));
done:
    return rc;
}

void fs_dgauss_destroy(fs_dgauss **p)
{
    if (!p || !*p) return;
    fs_dgauss *g = *p;
    fs_dp_rng_destroy(&g->rng);
    if (g->ready)
        mpz_clears(g->s2n, g->s2d, g->t, g->gden, g->a, g->gnum, g->u, g->dk, g->f, g->r, NULL);
    free(g);
    *p = NULL;
}

fs_err fs_dgauss_sample(fs_dgauss *g, int64_t *out, size_t n)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(g && (out || n == 0), "fs_dgauss_sample: NULL argument");
    for (size_t i = 0; i < n; i++) FS_TRY(dgauss1(g, &out[i]));
done:
    return rc;
}

fs_err fs_dgauss_sample_dlaplace(fs_dgauss *g, uint64_t s, uint64_t t, int64_t *out, size_t n)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(g && (out || n == 0), "fs_dgauss_sample_dlaplace: NULL argument");
    FS_CHECK_ARG(s >= 1 && t >= 1 && t < (UINT64_C(1) << 62),
                 "dlaplace: scale t/s = %llu/%llu needs s >= 1 and 1 <= t < 2^62",
                 (unsigned long long)t, (unsigned long long)s);
    for (size_t i = 0; i < n; i++) FS_TRY(dlaplace1(g, s, t, &out[i]));
done:
    return rc;
}

fs_err fs_dgauss_bernoulli_exp(fs_dgauss *g, uint64_t num, uint64_t den, int *out)
{
    fs_err rc = FS_OK;
    mpz_t a, b;
    int inited = 0;
    FS_CHECK_ARG(g && out && den >= 1, "fs_dgauss_bernoulli_exp: bad argument");
    mpz_init_set_ui(a, (unsigned long)num);
    mpz_init_set_ui(b, (unsigned long)den);
    inited = 1;
    FS_TRY(bern_exp(g, a, b, out));
done:
    if (inited) mpz_clears(a, b, NULL);
    return rc;
}

/*
 * fs_dp.h - differential privacy layer of libfedsilo: the RDP accountant
 * of the (Poisson-)subsampled Gaussian mechanism, a CSPRNG noise stream,
 * the Gaussian and Laplace mechanisms, the exact discrete Gaussian and
 * discrete Laplace samplers and the randomized Walsh-Hadamard rotation.
 * DP-SGD local training, which uses them, is in the train layer
 * (fs_dpsgd.h).
 *
 * Privacy layer (below train; no MPI).  Every function here is Not
 * collective.  Background, references and validation: docs/privacy.md.
 *
 * Accounting uses the add/remove-one neighbouring relation and Poisson
 * subsampling (Mironov, Talwar, Zhang 2019, "Renyi Differential Privacy of
 * the Sampled Gaussian Mechanism"); the RDP values match Opacus's
 * opacus/accountants/analysis/rdp.py.
 */
#ifndef FEDSILO_FS_DP_H
#define FEDSILO_FS_DP_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- accountant

/* RDP -> (epsilon, delta) conversions. */
typedef enum {
    /* Balle et al. 2020, "Hypothesis testing interpretations and Renyi
     * differential privacy", Theorem 21, as Opacus implements it:
     * eps = rdp - (log delta + log a) / (a - 1) + log((a - 1) / a). */
    FS_DP_CONV_IMPROVED = 0,
    /* Mironov 2017, Proposition 3 (TF-Privacy's classic conversion):
     * eps = rdp - log(delta) / (a - 1).  Never smaller than IMPROVED. */
    FS_DP_CONV_CLASSIC = 1
} fs_dp_conversion;

/* Number of orders in the default list (Opacus RDPAccountant.DEFAULT_ALPHAS:
 * 1.1, 1.2, ..., 10.9 followed by 12, 13, ..., 63). */
#define FS_RDP_DEFAULT_NORDERS 151u

/* fs_rdp_default_orders - the default order list (FS_RDP_DEFAULT_NORDERS
 * doubles, borrowed static array). */
FS_EXPORT const double *fs_rdp_default_orders(void);

/* An RDP accountant: a list of orders a_k > 1 and the composed RDP
 * epsilon_k at each order (the sum over all recorded steps).  Opaque. */
typedef struct fs_rdp fs_rdp;

/*
 * fs_rdp_create - a new accountant with nothing spent.
 *
 * Not collective.  orders (norders values, each finite and > 1, borrowed)
 * or NULL/0 for the default list.  On success *out is owned by the caller
 * (fs_rdp_destroy); on failure *out == NULL.
 * returns FS_OK, FS_ERR_ARG or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_rdp_create(const double *orders, size_t norders, fs_rdp **out)
    FS_WARN_UNUSED;

/* fs_rdp_destroy - free, set *p = NULL; NULL-safe. */
FS_EXPORT void fs_rdp_destroy(fs_rdp **p);

/*
 * fs_rdp_add_step - compose num_steps runs of the sampled Gaussian
 * mechanism with noise multiplier sigma >= 0 (noise std / L2 sensitivity)
 * and Poisson sampling rate q in [0, 1].  RDP adds up, so steps with
 * different (sigma, q) may be mixed freely.  sigma = 0 with q > 0 makes
 * every order infinite (no privacy); q = 0 adds nothing; q = 1 is the
 * plain Gaussian mechanism, a / (2 sigma^2) per step.
 * Not collective.  returns FS_OK or FS_ERR_ARG (accountant unchanged).
 */
FS_EXPORT fs_err fs_rdp_add_step(fs_rdp *a, double sigma, double q, long num_steps)
    FS_WARN_UNUSED;

/*
 * fs_rdp_get_epsilon - the smallest epsilon over the orders such that the
 * composition so far is (epsilon, delta)-DP, by the given conversion.
 * Not collective.  delta in (0, 1).  *eps receives +Inf when no order gives
 * a finite bound (e.g. sigma = 0 was recorded); best_order (may be NULL)
 * receives the minimizing order (NaN when *eps is +Inf).  Nothing spent
 * gives epsilon <= 0 at IMPROVED (as Opacus, not clamped).
 * returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_rdp_get_epsilon(const fs_rdp *a, double delta, fs_dp_conversion conv,
                                    double *eps, double *best_order) FS_WARN_UNUSED;

/* fs_rdp_norders - number of orders. */
FS_EXPORT size_t fs_rdp_norders(const fs_rdp *a);
/* fs_rdp_orders / fs_rdp_values - the orders and the composed RDP values
 * (norders doubles each; borrowed, valid until the next add/destroy). */
FS_EXPORT const double *fs_rdp_orders(const fs_rdp *a);
FS_EXPORT const double *fs_rdp_values(const fs_rdp *a);

/*
 * fs_rdp_serialized_len - doubles needed to serialize a: 1 + 2 * norders.
 * Layout: [norders, orders[0..norders), rdp[0..norders)] (rdp may hold
 * +Inf).  Plain doubles, so a checkpoint can store it as a dataset.
 */
FS_EXPORT size_t fs_rdp_serialized_len(const fs_rdp *a);

/*
 * fs_rdp_serialize - write the layout above into out (len doubles, at
 * least fs_rdp_serialized_len).  Not collective.
 * returns FS_OK or FS_ERR_ARG (out too short).
 */
FS_EXPORT fs_err fs_rdp_serialize(const fs_rdp *a, double *out, size_t len) FS_WARN_UNUSED;

/*
 * fs_rdp_deserialize - rebuild an accountant from a serialized array of
 * len doubles (exactly 1 + 2 * norders; orders > 1, rdp >= 0 or +Inf).
 * Not collective.  On success *out is owned by the caller; on failure
 * *out == NULL.  returns FS_OK, FS_ERR_DATA (malformed) or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_rdp_deserialize(const double *in, size_t len, fs_rdp **out)
    FS_WARN_UNUSED;

/*
 * fs_dp_rdp_sgm - RDP at one order a > 1 of one step of the sampled
 * Gaussian mechanism (Opacus _compute_rdp): 0 for q = 0, +Inf for sigma = 0,
 * a / (2 sigma^2) for q = 1, else log(A_a) / (a - 1) with A_a from the
 * binomial expansion (integer a) or the two-sided erfc series (fractional
 * a) of Mironov, Talwar, Zhang 2019, Section 3.3.
 * Not collective.  returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_dp_rdp_sgm(double q, double sigma, double order, double *rdp)
    FS_WARN_UNUSED;

/*
 * fs_dp_epsilon - epsilon of `steps` steps of the sampled Gaussian
 * mechanism (q, sigma) at delta, default orders, improved conversion:
 * the number Opacus's RDPAccountant reports.  Not collective.
 * returns FS_OK or FS_ERR_ARG (*eps = +Inf when sigma = 0 and q > 0).
 */
FS_EXPORT fs_err fs_dp_epsilon(double q, double sigma, long steps, double delta, double *eps)
    FS_WARN_UNUSED;

/* fs_dp_epsilon_ex - the same with a choice of conversion and the
 * minimizing order (best_order may be NULL). */
FS_EXPORT fs_err fs_dp_epsilon_ex(double q, double sigma, long steps, double delta,
                                  fs_dp_conversion conv, double *eps, double *best_order)
    FS_WARN_UNUSED;

/*
 * fs_dp_calibrate - the smallest noise multiplier sigma (to relative
 * precision 1e-9) with fs_dp_epsilon_ex(q, sigma, steps, delta, conv) <=
 * target_eps.  Epsilon decreases in sigma, so this is a bisection: the
 * bracket starts at [0, 1] and its upper end doubles until the target is
 * met (at most up to sigma = 2^20); then it is halved until
 * (hi - lo) <= 1e-9 * hi.  Returns the upper end, which always meets the
 * target.  Not collective.
 * returns FS_OK, or FS_ERR_ARG (bad argument, or target_eps unreachable
 * below sigma = 2^20, e.g. because target_eps <= 0).
 */
FS_EXPORT fs_err fs_dp_calibrate(double q, long steps, double delta, double target_eps,
                                 double *sigma) FS_WARN_UNUSED;
/* fs_dp_calibrate_ex - fs_dp_calibrate with a choice of conversion. */
FS_EXPORT fs_err fs_dp_calibrate_ex(double q, long steps, double delta, double target_eps,
                                    fs_dp_conversion conv, double *sigma) FS_WARN_UNUSED;

// ---------------------------------------------------------------- noise stream

/*
 * A CSPRNG stream for privacy noise: the AES-128-CTR keystream of fs_prg
 * (FS_PRG_SEEDBYTES-byte key) at nonce (stream_round, stream_id), read
 * through a 4 KiB buffer.  Keyed from the OS CSPRNG (fs_random_bytes) when
 * no seed is given; a caller seed makes the noise reproducible, which is
 * meant for tests and audits only: anyone who knows the seed can subtract
 * the noise.  Opaque.  NOT the deterministic fs_rng streams of the core.
 */
#define FS_DP_SEEDBYTES 32u
typedef struct fs_dp_rng fs_dp_rng;

/* fs_dp_seedbytes - FS_DP_SEEDBYTES. */
FS_EXPORT size_t fs_dp_seedbytes(void);

/*
 * fs_dp_rng_create - open a noise stream.
 * Not collective.  seed (FS_DP_SEEDBYTES bytes, secret, copied) or NULL for
 * a fresh key from the OS CSPRNG.  Different (stream_round, stream_id)
 * under one seed give independent streams.  On success *out is owned by
 * the caller (fs_dp_rng_destroy wipes the key and buffer); on failure
 * *out == NULL.  returns FS_OK, FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dp_rng_create(const uint8_t *seed, uint64_t stream_round,
                                  uint32_t stream_id, fs_dp_rng **out) FS_WARN_UNUSED;

/* fs_dp_rng_destroy - wipe, free, set *p = NULL; NULL-safe. */
FS_EXPORT void fs_dp_rng_destroy(fs_dp_rng **p);

/* fs_dp_rng_bytes - next n keystream bytes into out.  Not collective.
 * returns FS_OK or FS_ERR_CRYPTO. */
FS_EXPORT fs_err fs_dp_rng_bytes(fs_dp_rng *r, void *out, size_t n) FS_WARN_UNUSED;

/* fs_dp_rng_below - uniform integer in [0, n), n >= 1, by rejection
 * sampling (no modulo bias).  returns FS_OK, FS_ERR_ARG or FS_ERR_CRYPTO. */
FS_EXPORT fs_err fs_dp_rng_below(fs_dp_rng *r, uint64_t n, uint64_t *out) FS_WARN_UNUSED;

/* fs_dp_rng_uniform - uniform double k * 2^-53, k uniform in [0, 2^53). */
FS_EXPORT fs_err fs_dp_rng_uniform(fs_dp_rng *r, double *out) FS_WARN_UNUSED;

/* fs_dp_rng_normal - n independent N(0, 1) doubles (Box-Muller transform
 * of uniform doubles from the stream).  returns FS_OK or FS_ERR_CRYPTO. */
FS_EXPORT fs_err fs_dp_rng_normal(fs_dp_rng *r, double *out, size_t n) FS_WARN_UNUSED;

// ---------------------------------------------------------------- mechanisms

/*
 * fs_dp_gaussian_sigma - noise std of the analytic Gaussian mechanism
 * (Balle & Wang 2018, "Improving the Gaussian Mechanism for Differential
 * Privacy", Theorem 8): the smallest sigma with
 *   Phi(D/(2s) - e s/D) - exp(e) Phi(-D/(2s) - e s/D) <= delta,
 * found by bisection to relative precision 1e-12 (D = l2_sensitivity,
 * e = eps).  Valid for every eps > 0 (unlike the classic
 * sqrt(2 ln(1.25/delta)) D / eps, which needs eps < 1 and is never smaller;
 * see fs_dp_gaussian_sigma_classic).  Not collective.
 * returns FS_OK or FS_ERR_ARG (eps <= 0, delta not in (0,1), D <= 0).
 */
FS_EXPORT fs_err fs_dp_gaussian_sigma(double eps, double delta, double l2_sensitivity,
                                      double *sigma) FS_WARN_UNUSED;

/* fs_dp_gaussian_sigma_classic - sqrt(2 ln(1.25/delta)) * D / eps (Dwork &
 * Roth 2014, Theorem A.1; proved for eps < 1 only, so eps >= 1 is
 * FS_ERR_ARG).  Not collective. */
FS_EXPORT fs_err fs_dp_gaussian_sigma_classic(double eps, double delta,
                                              double l2_sensitivity, double *sigma)
    FS_WARN_UNUSED;

/*
 * fs_dp_gaussian_add / fs_dp_gaussian_add_f32 - x[i] += N(0, sigma^2) from
 * the stream r (Box-Muller).  sigma >= 0 finite.
 * fs_dp_laplace_add - x[i] += Laplace(0, b) with b = l1_sensitivity / eps,
 * by inversion of a uniform double from the stream.
 * Not collective.  WARNING: textbook floating-point noise leaks through the
 * low-order bits of the result (Mironov 2012); for releases to untrusted
 * parties prefer the discrete samplers below on integers.
 * returns FS_OK, FS_ERR_ARG or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dp_gaussian_add(fs_dp_rng *r, double sigma, double *x, size_t n)
    FS_WARN_UNUSED;
FS_EXPORT fs_err fs_dp_gaussian_add_f32(fs_dp_rng *r, double sigma, float *x, size_t n)
    FS_WARN_UNUSED;
FS_EXPORT fs_err fs_dp_laplace_add(fs_dp_rng *r, double b, double *x, size_t n)
    FS_WARN_UNUSED;

/* fs_dp_laplace_scale - b = l1_sensitivity / eps (eps > 0, D > 0). */
FS_EXPORT fs_err fs_dp_laplace_scale(double eps, double l1_sensitivity, double *b)
    FS_WARN_UNUSED;

// ---------------------------------------------------------------- discrete samplers

/*
 * Exact discrete Gaussian N_Z(0, sigma^2) (Canonne, Kamath, Steinke 2020,
 * "The Discrete Gaussian for Differential Privacy", Algorithms 1-3):
 * P[X = x] proportional to exp(-x^2 / (2 sigma^2)) on the integers.
 * sigma^2 = num/den is rational and every sampling decision is made with
 * integer (GMP) arithmetic on uniform integers drawn by rejection from the
 * AES-CTR stream: no floating point anywhere.  Opaque.
 */
typedef struct fs_dgauss fs_dgauss;

/*
 * fs_dgauss_create - a sampler for sigma^2 = sigma2_num / sigma2_den
 * (both >= 1).  seed (FS_DP_SEEDBYTES bytes, copied) or NULL for OS
 * randomness.  Not collective.  Calls fs_crypto_init (GMP hooks).
 * On success *out is owned by the caller (fs_dgauss_destroy); on failure
 * *out == NULL.  returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM, FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dgauss_create(uint64_t sigma2_num, uint64_t sigma2_den,
                                  const uint8_t *seed, fs_dgauss **out) FS_WARN_UNUSED;

/*
 * fs_dgauss_create_decimal - the same with sigma^2 given as a decimal
 * string ("2.25", "0.5", "10"; up to 18 significant digits), converted
 * exactly to a fraction.  returns as fs_dgauss_create.
 */
FS_EXPORT fs_err fs_dgauss_create_decimal(const char *sigma2, const uint8_t *seed,
                                          fs_dgauss **out) FS_WARN_UNUSED;

/*
 * fs_dgauss_variance_rational - the variance v > 0 as the rational num / 2^k
 * that a sampler can use exactly: k <= 20 fractional bits, 1 <= num <=
 * 2^62, num / 2^k = v to the nearest 2^-k.  Not collective.  returns 1, or
 * 0 when v is too large (v > 2^62) or not finite.
 */
FS_EXPORT int fs_dgauss_variance_rational(double v, uint64_t *num, int *k);

/* fs_dgauss_destroy - wipe the stream, free, set *p = NULL; NULL-safe. */
FS_EXPORT void fs_dgauss_destroy(fs_dgauss **p);

/* fs_dgauss_sample - n independent draws into out.  Not collective.
 * returns FS_OK or FS_ERR_CRYPTO. */
FS_EXPORT fs_err fs_dgauss_sample(fs_dgauss *g, int64_t *out, size_t n) FS_WARN_UNUSED;

/*
 * fs_dgauss_sample_dlaplace - n exact draws of the discrete Laplace with
 * scale t/s (s, t >= 1 and t < 2^62), P[X = x] proportional to
 * exp(-|x| s / t) (CKS 2020 Algorithm 2), from g's stream.
 * Not collective.  returns FS_OK, FS_ERR_ARG or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dgauss_sample_dlaplace(fs_dgauss *g, uint64_t s, uint64_t t,
                                           int64_t *out, size_t n) FS_WARN_UNUSED;

/*
 * fs_dgauss_bernoulli_exp - one exact draw of Bernoulli(exp(-num/den))
 * (CKS 2020 Algorithm 1), num >= 0, den >= 1.  *out is 0 or 1.
 * Not collective.  returns FS_OK, FS_ERR_ARG or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dgauss_bernoulli_exp(fs_dgauss *g, uint64_t num, uint64_t den, int *out)
    FS_WARN_UNUSED;

// ---------------------------------------------------------------- rotation

/*
 * Randomized Walsh-Hadamard rotation (used before the discrete Gaussian
 * and the modular ring so that no coordinate carries much of the norm):
 *
 *     rotate:    y = H D [x; 0] / sqrt(d')
 *     unrotate:  x = D H y / sqrt(d')     (then keep the first n entries)
 *
 * with d' = fs_dp_rotation_dim(n) (next power of two, zero padding), H the
 * d' x d' Sylvester Hadamard matrix (+-1 entries, H H = d' I) applied by the
 * in-place fast transform in O(d' log d'), and D a diagonal of random signs
 * from the AES-CTR keystream of (seed, nonce): every party that uses the
 * same seed and nonce uses the same D.  The map is orthogonal: it preserves
 * the L2 norm.  Not collective.
 */

/* fs_dp_rotation_dim - smallest power of two >= n (n >= 1), or 0 if that
 * exceeds 2^62. */
FS_EXPORT size_t fs_dp_rotation_dim(size_t n);

/*
 * fs_dp_rotate_f64 / _f32 - buf holds dpad = fs_dp_rotation_dim(n) entries
 * (caller-allocated); its first n are the input x and the rest are
 * overwritten with zeros, then the whole buffer becomes y.
 * fs_dp_unrotate_f64 / _f32 - buf (dpad entries) holds y and becomes
 * D H y / sqrt(d'); the first n entries are x.
 * seed: FS_DP_SEEDBYTES bytes (shared by the parties; borrowed).
 * returns FS_OK, FS_ERR_ARG (n == 0, dpad mismatch) or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dp_rotate_f64(const uint8_t *seed, uint64_t nonce, double *buf, size_t n,
                                  size_t dpad) FS_WARN_UNUSED;
FS_EXPORT fs_err fs_dp_unrotate_f64(const uint8_t *seed, uint64_t nonce, double *buf,
                                    size_t dpad) FS_WARN_UNUSED;
FS_EXPORT fs_err fs_dp_rotate_f32(const uint8_t *seed, uint64_t nonce, float *buf, size_t n,
                                  size_t dpad) FS_WARN_UNUSED;
FS_EXPORT fs_err fs_dp_unrotate_f32(const uint8_t *seed, uint64_t nonce, float *buf,
                                    size_t dpad) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_DP_H */

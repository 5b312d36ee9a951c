/*
 * fs_rdp.c - Renyi-DP accountant of the Poisson-subsampled Gaussian
 * mechanism (privacy layer; no MPI, never prints).
 *
 * A port of Opacus's opacus/accountants/analysis/rdp.py (itself from
 * TF-Privacy's rdp_accountant.py), term for term, so that the numbers
 * agree with Opacus to rounding:
 *
 *   RDP of one step at order a (Mironov, Talwar, Zhang 2019, Section 3.3):
 *     eps(a) = log(A_a) / (a - 1),
 *     integer a:  A_a = sum_{i=0}^{a} C(a,i) q^i (1-q)^(a-i) exp((i^2-i)/(2 s^2))
 *     fractional: A_a = the two half-line integrals around z0 = s^2 log(1/q-1) + 1/2,
 *                 each a series in C(a,i) with erfc tails, summed until both
 *                 terms fall below exp(-30).
 *   Composition: RDP vectors add (heterogeneous steps are fine).
 *   Conversion to (eps, delta) at the best order:
 *     improved (Balle et al. 2020, Thm 21): rdp - (log d + log a)/(a-1) + log((a-1)/a)
 *     classic  (Mironov 2017, Prop. 3):     rdp - log(d)/(a-1)
 *
 * Everything is done in log space with _log_add/_log_sub exactly as Opacus;
 * log(erfc(x)) uses erfc directly while it is representable and the
 * asymptotic series of log_ndtr beyond (as scipy's log_ndtr does).
 */
#include <math.h>
#include <string.h>

#include "fs_impl.h"
#include "fedsilo/fs_dp.h"

struct fs_rdp {
    size_t norders;
    double *orders;   /* (norders) each > 1                     */
    double *rdp;      /* (norders) composed RDP, >= 0 or +Inf    */
};

/* Opacus RDPAccountant.DEFAULT_ALPHAS: [1 + x / 10.0 for x in range(1, 100)]
 * + list(range(12, 64)); the same double expressions, evaluated by the compiler. */
static const double default_orders[FS_RDP_DEFAULT_NORDERS] = {
    1 + 1 / 10.0, 1 + 2 / 10.0, 1 + 3 / 10.0, 1 + 4 / 10.0, 1 + 5 / 10.0, 1 + 6 / 10.0,
    1 + 7 / 10.0, 1 + 8 / 10.0, 1 + 9 / 10.0, 1 + 10 / 10.0, 1 + 11 / 10.0, 1 + 12 / 10.0,
    1 + 13 / 10.0, 1 + 14 / 10.0, 1 + 15 / 10.0, 1 + 16 / 10.0, 1 + 17 / 10.0, 1 + 18 / 10.0,
    1 + 19 / 10.0, 1 + 20 / 10.0, 1 + 21 / 10.0, 1 + 22 / 10.0, 1 + 23 / 10.0, 1 + 24 / 10.0,
    1 + 25 / 10.0, 1 + 26 / 10.0, 1 + 27 / 10.0, 1 + 28 / 10.0, 1 + 29 / 10.0, 1 + 30 / 10.0,
    1 + 31 / 10.0, 1 + 32 / 10.0, 1 + 33 / 10.0, 1 + 34 / 10.0, 1 + 35 / 10.0, 1 + 36 / 10.0,
    1 + 37 / 10.0, 1 + 38 / 10.0, 1 + 39 / 10.0, 1 + 40 / 10.0, 1 + 41 / 10.0, 1 + 42 / 10.0,
    1 + 43 / 10.0, 1 + 44 / 10.0, 1 + 45 / 10.0, 1 + 46 / 10.0, 1 + 47 / 10.0, 1 + 48 / 10.0,
    1 + 49 / 10.0, 1 + 50 / 10.0, 1 + 51 / 10.0, 1 + 52 / 10.0, 1 + 53 / 10.0, 1 + 54 / 10.0,
    1 + 55 / 10.0, 1 + 56 / 10.0, 1 + 57 / 10.0, 1 + 58 / 10.0, 1 + 59 / 10.0, 1 + 60 / 10.0,
    1 + 61 / 10.0, 1 + 62 / 10.0, 1 + 63 / 10.0, 1 + 64 / 10.0, 1 + 65 / 10.0, 1 + 66 / 10.0,
    1 + 67 / 10.0, 1 + 68 / 10.0, 1 + 69 / 10.0, 1 + 70 / 10.0, 1 + 71 / 10.0, 1 + 72 / 10.0,
    1 + 73 / 10.0, 1 + 74 / 10.0, 1 + 75 / 10.0, 1 + 76 / 10.0, 1 + 77 / 10.0, 1 + 78 / 10.0,
    1 + 79 / 10.0, 1 + 80 / 10.0, 1 + 81 / 10.0, 1 + 82 / 10.0, 1 + 83 / 10.0, 1 + 84 / 10.0,
    1 + 85 / 10.0, 1 + 86 / 10.0, 1 + 87 / 10.0, 1 + 88 / 10.0, 1 + 89 / 10.0, 1 + 90 / 10.0,
    1 + 91 / 10.0, 1 + 92 / 10.0, 1 + 93 / 10.0, 1 + 94 / 10.0, 1 + 95 / 10.0, 1 + 96 / 10.0,
    1 + 97 / 10.0, 1 + 98 / 10.0, 1 + 99 / 10.0, 12, 13, 14,
    15, 16, 17, 18, 19, 20,
    21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 31, 32,
    33, 34, 35, 36, 37, 38,
    39, 40, 41, 42, 43, 44,
    45, 46, 47, 48, 49, 50,
    51, 52, 53, 54, 55, 56,
    57, 58, 59, 60, 61, 62,
    63,
};

const double *fs_rdp_default_orders(void) { return default_orders; }

// ---------------------------------------------------------------- log-space math

/* log(exp(x) + exp(y)). */
static double log_add(double x, double y)
{
    double a = fmin(x, y), b = fmax(x, y);
    if (a == -INFINITY) return b;
    return log1p(exp(a - b)) + b;
}

/* log(exp(x) - exp(y)), x >= y (Opacus raises otherwise; we clamp to the
 * same "0" it would reach when rounding makes x marginally smaller). */
static double log_sub(double x, double y)
{
    if (y == -INFINITY) return x;
    if (x <= y) return -INFINITY;
    double d = x - y;
    if (d > 709.0) return x;   // expm1 overflows: Opacus returns logx
    return log(expm1(d)) + y;
}

/*
 * log(Phi(a)) for the standard normal CDF: log(erfc(-a/sqrt2)/2) while
 * erfc is representable with full relative accuracy, the asymptotic
 * expansion of scipy's log_ndtr for a < -20.
 */
static double log_ndtr(double a)
{
    if (a > 6.0) return -0.5 * erfc(a / M_SQRT2);          // log(1 - x) ~ -x
    if (a > -20.0) return log(0.5 * erfc(-a / M_SQRT2));
    double log_lhs = -0.5 * a * a - log(-a) - 0.5 * log(2.0 * M_PI);
    double last = 0.0, rhs = 1.0, numer = 1.0, dfac = 1.0, dcons = 1.0 / (a * a);
    int sign = 1;
    for (int i = 1; fabs(last - rhs) > 2.220446049250313e-16 && i < 100; i++) {
        last = rhs;
        sign = -sign;
        dfac *= dcons;
        numer *= 2.0 * i - 1.0;
        rhs += sign * numer * dfac;
    }
    return log_lhs + log(rhs);
}

/* log(erfc(x)) = log 2 + log_ndtr(-x sqrt 2)  (Opacus _log_erfc). */
static double log_erfc(double x)
{
    return M_LN2 + log_ndtr(-x * M_SQRT2);
}

/* log(A_a) for integer a (Opacus _compute_log_a_for_int_alpha). */
static double log_a_int(double q, double sigma, long alpha)
{
    double log_a = -INFINITY, s2 = sigma * sigma;
    double lq = log(q), l1q = log1p(-q);
    // log C(alpha, i), accumulated exactly as the ratio C(a,i) = C(a,i-1) (a-i+1)/i.
    double lc = 0.0;
    for (long i = 0; i <= alpha; i++) {
        if (i > 0) lc += log((double)(alpha - i + 1)) - log((double)i);
        double log_coef = lc + (double)i * lq + (double)(alpha - i) * l1q;
        double s = log_coef + (double)(i * i - i) / (2.0 * s2);
        log_a = log_add(log_a, s);
    }
    return log_a;
}

/* log(A_a) for fractional a (Opacus _compute_log_a_for_frac_alpha). */
static double log_a_frac(double q, double sigma, double alpha)
{
    double log_a0 = -INFINITY, log_a1 = -INFINITY, s2 = sigma * sigma;
    double z0 = s2 * log(1.0 / q - 1.0) + 0.5;
    double lq = log(q), l1q = log1p(-q);
    double coef = 1.0;   // C(alpha, i), updated by the ratio (alpha - i + 1) / i
    for (long i = 0; i < 100000; i++) {
        if (i > 0) coef *= (alpha - (double)(i - 1)) / (double)i;
        double log_coef = log(fabs(coef));
        double j = alpha - (double)i;
        double log_t0 = log_coef + (double)i * lq + j * l1q;
        double log_t1 = log_coef + j * lq + (double)i * l1q;
        double log_e0 = log(0.5) + log_erfc(((double)i - z0) / (M_SQRT2 * sigma));
        double log_e1 = log(0.5) + log_erfc((z0 - j) / (M_SQRT2 * sigma));
        double log_s0 = log_t0 + ((double)i * (double)i - (double)i) / (2.0 * s2) + log_e0;
        double log_s1 = log_t1 + (j * j - j) / (2.0 * s2) + log_e1;
        if (coef > 0) {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0);
            log_a1 = log_sub(log_a1, log_s1);
        }
        if (fmax(log_s0, log_s1) < -30.0) break;
    }
    return log_add(log_a0, log_a1);
}

fs_err fs_dp_rdp_sgm(double q, double sigma, double order, double *rdp)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(rdp, "fs_dp_rdp_sgm: NULL output");
    *rdp = NAN;
    FS_CHECK_ARG(q >= 0 && q <= 1, "dp: sampling rate %g must be in [0, 1]", q);
    FS_CHECK_ARG(sigma >= 0 && !isnan(sigma), "dp: noise multiplier %g must be >= 0", sigma);
    FS_CHECK_ARG(order > 1 && !isnan(order), "dp: RDP order %g must be > 1", order);
    if (q == 0) *rdp = 0.0;
    else if (sigma == 0) *rdp = INFINITY;
    else if (isinf(sigma)) *rdp = 0.0;
    else if (q == 1.0) *rdp = order / (2.0 * sigma * sigma);
    else if (isinf(order)) *rdp = INFINITY;
    else if (order == floor(order) && order < 1e6)
        *rdp = log_a_int(q, sigma, (long)order) / (order - 1.0);
    else
        *rdp = log_a_frac(q, sigma, order) / (order - 1.0);
done:
    return rc;
}

// ---------------------------------------------------------------- accountant

static fs_err rdp_new(size_t norders, fs_rdp **out)
{
    fs_err rc = FS_OK;
    fs_rdp *a = NULL;
    FS_TRY(fs_zalloc(&a, 1, sizeof *a, "RDP accountant"));
    FS_TRY(fs_zalloc(&a->orders, 2 * norders, sizeof(double), "RDP accountant orders"));
    a->rdp = a->orders + norders;
    a->norders = norders;
    *out = a;
    a = NULL;
done:
    fs_rdp_destroy(&a);
    return rc;
}

fs_err fs_rdp_create(const double *orders, size_t norders, fs_rdp **out)
{
    fs_err rc = FS_OK;
    if (out) *out = NULL;
    FS_CHECK_ARG(out, "fs_rdp_create: NULL output");
    if (!orders || norders == 0) {
        orders = fs_rdp_default_orders();
        norders = FS_RDP_DEFAULT_NORDERS;
    }
    for (size_t k = 0; k < norders; k++)
        FS_CHECK_ARG(isfinite(orders[k]) && orders[k] > 1,
                     "dp: RDP order %g (index %zu) must be finite and > 1", orders[k], k);
    FS_TRY(rdp_new(norders, out));
    memcpy((*out)->orders, orders, norders * sizeof(double));
done:
    return rc;
}

void fs_rdp_destroy(fs_rdp **p)
{
    if (!p || !*p) return;
    free((*p)->orders);
    free(*p);
    *p = NULL;
}

fs_err fs_rdp_add_step(fs_rdp *a, double sigma, double q, long num_steps)
{
    fs_err rc = FS_OK;
    double *add = NULL;
    FS_CHECK_ARG(a, "fs_rdp_add_step: NULL accountant");
    FS_CHECK_ARG(num_steps >= 0, "dp: number of steps %ld must be >= 0", num_steps);
    FS_TRY(fs_alloc(&add, a->norders, sizeof *add, "RDP step"));
    for (size_t k = 0; k < a->norders; k++) {
        FS_TRY(fs_dp_rdp_sgm(q, sigma, a->orders[k], &add[k]));
        add[k] = num_steps == 0 ? 0.0 : add[k] * (double)num_steps;
    }
    for (size_t k = 0; k < a->norders; k++) a->rdp[k] += add[k];
done:
    free(add);
    return rc;
}

/* epsilon at order a from composed RDP r by the chosen conversion. */
static double convert(double a, double r, double delta, fs_dp_conversion conv)
{
    if (conv == FS_DP_CONV_CLASSIC) return r - log(delta) / (a - 1.0);
    return r - (log(delta) + log(a)) / (a - 1.0) + log((a - 1.0) / a);
}

/* The minimizer over the orders (NaN ignored, first minimum wins, as
 * numpy's nanargmin). */
static void best_epsilon(const double *orders, const double *rdp, size_t n, double delta,
                         fs_dp_conversion conv, double *eps, double *order)
{
    double be = NAN, bo = NAN;
    for (size_t k = 0; k < n; k++) {
        double e = convert(orders[k], rdp[k], delta, conv);
        if (isnan(e)) continue;
        if (isnan(be) || e < be) { be = e; bo = orders[k]; }
    }
    if (isnan(be) || isinf(be)) { be = INFINITY; bo = NAN; }
    *eps = be;
    if (order) *order = bo;
}

fs_err fs_rdp_get_epsilon(const fs_rdp *a, double delta, fs_dp_conversion conv, double *eps,
                          double *best_order)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(a && eps, "fs_rdp_get_epsilon: NULL argument");
    FS_CHECK_ARG(delta > 0 && delta < 1, "dp: delta %g must be in (0, 1)", delta);
    FS_CHECK_ARG(conv == FS_DP_CONV_IMPROVED || conv == FS_DP_CONV_CLASSIC,
                 "dp: unknown conversion %d", (int)conv);
    best_epsilon(a->orders, a->rdp, a->norders, delta, conv, eps, best_order);
done:
    return rc;
}

size_t fs_rdp_norders(const fs_rdp *a) { return a ? a->norders : 0; }
const double *fs_rdp_orders(const fs_rdp *a) { return a ? a->orders : NULL; }
const double *fs_rdp_values(const fs_rdp *a) { return a ? a->rdp : NULL; }
size_t fs_rdp_serialized_len(const fs_rdp *a) { return a ? 1 + 2 * a->norders : 0; }

fs_err fs_rdp_serialize(const fs_rdp *a, double *out, size_t len)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(a && out, "fs_rdp_serialize: NULL argument");
    FS_CHECK_ARG(len >= 1 + 2 * a->norders, "dp: serialization buffer of %zu doubles is "
                 "shorter than the %zu needed", len, 1 + 2 * a->norders);
    out[0] = (double)a->norders;
    memcpy(out + 1, a->orders, 2 * a->norders * sizeof(double));
done:
    return rc;
}

fs_err fs_rdp_deserialize(const double *in, size_t len, fs_rdp **out)
{
    fs_err rc = FS_OK;
    if (out) *out = NULL;
    FS_CHECK_ARG(in && out, "fs_rdp_deserialize: NULL argument");
    if (len < 3 || !(in[0] >= 1) || in[0] != floor(in[0]) || in[0] > 1e6 ||
        (size_t)in[0] * 2 + 1 != len)
        FS_FAIL(FS_ERR_DATA, "dp: privacy accountant state is malformed (%zu values; "
                "header %g)", len, len ? in[0] : 0.0);
    size_t n = (size_t)in[0];
    for (size_t k = 0; k < n; k++) {
        double o = in[1 + k], r = in[1 + n + k];
        if (!(isfinite(o) && o > 1) || !(r >= 0))
            FS_FAIL(FS_ERR_DATA, "dp: privacy accountant state is malformed at order %zu "
                    "(order %g, rdp %g)", k, o, r);
    }
    FS_TRY(rdp_new(n, out));
    memcpy((*out)->orders, in + 1, 2 * n * sizeof(double));
done:
    return rc;
}

// ---------------------------------------------------------------- one-shot helpers

fs_err fs_dp_epsilon_ex(double q, double sigma, long steps, double delta, fs_dp_conversion conv,
                        double *eps, double *best_order)
{
    fs_err rc = FS_OK;
    fs_rdp *a = NULL;
    FS_CHECK_ARG(eps, "fs_dp_epsilon: NULL output");
    *eps = NAN;
    FS_TRY(fs_rdp_create(NULL, 0, &a));
    FS_TRY(fs_rdp_add_step(a, sigma, q, steps));
    FS_TRY(fs_rdp_get_epsilon(a, delta, conv, eps, best_order));
done:
    fs_rdp_destroy(&a);
    return rc;
}

fs_err fs_dp_epsilon(double q, double sigma, long steps, double delta, double *eps)
{
    return fs_dp_epsilon_ex(q, sigma, steps, delta, FS_DP_CONV_IMPROVED, eps, NULL);
}

fs_err fs_dp_calibrate_ex(double q, long steps, double delta, double target_eps,
                          fs_dp_conversion conv, double *sigma)
{
    fs_err rc = FS_OK;
    double lo = 0.0, hi = 1.0, e = 0.0;
    FS_CHECK_ARG(sigma, "fs_dp_calibrate: NULL output");
    *sigma = NAN;
    FS_CHECK_ARG(q > 0 && q <= 1, "dp: sampling rate %g must be in (0, 1]", q);
    FS_CHECK_ARG(steps >= 1, "dp: steps %ld must be >= 1", steps);
    FS_CHECK_ARG(delta > 0 && delta < 1, "dp: delta %g must be in (0, 1)", delta);
    FS_CHECK_ARG(isfinite(target_eps) && target_eps > 0, "dp: target epsilon %g must be a "
                 "finite number > 0", target_eps);
    // Grow the bracket: eps(lo = 0) = +Inf > target; find hi with eps(hi) <= target.
    for (;;) {
        FS_TRY(fs_dp_epsilon_ex(q, hi, steps, delta, conv, &e, NULL));
        if (e <= target_eps) break;
        lo = hi;
        hi *= 2.0;
        FS_CHECK_ARG(hi <= 1048576.0, "dp: target epsilon %g is unreachable with a noise "
                     "multiplier below 2^20 (q %g, %ld steps, delta %g)", target_eps, q, steps,
                     delta);
    }
    // Invariant: eps(lo) > target >= eps(hi).
    while (hi - lo > 1e-9 * hi) {
        double mid = 0.5 * (lo + hi);
        FS_TRY(fs_dp_epsilon_ex(q, mid, steps, delta, conv, &e, NULL));
        if (e <= target_eps) hi = mid;
        else lo = mid;
    }
    *sigma = hi;
done:
    return rc;
}

fs_err fs_dp_calibrate(double q, long steps, double delta, double target_eps, double *sigma)
{
    return fs_dp_calibrate_ex(q, steps, delta, target_eps, FS_DP_CONV_IMPROVED, sigma);
}

/*
 * fs_stats.c - federated descriptive statistics in three secure sums
 * (stats program; binds to MPI).
 *
 * Each function follows the same shape: rank-local accumulation of sums
 * over this rank's rows into one double vector, one fs_agree at the phase
 * boundary, one collective sum (fs_secagg_sum_f64, or MPI_Allreduce for
 * the plain comparison), then identical post-processing on every rank.
 * Because the secure sum is bit-exact and independent of the reduction
 * order, every rank derives bit-identical results.  See docs/analytics.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "stats/fs_stats_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_stats.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_fixed.h"
#include "fedsilo/fs_crypto.h"

// ---------------------------------------------------------------- helpers

/*
 * Differential privacy of a release (fs_stats_opts.dp_epsilon > 0).  Each
 * pass is a Gaussian mechanism on a vector of sums whose L2 sensitivity
 * (adding or removing one record) Delta is bounded because every value is
 * clipped to the public range [lo, hi].  The noise lives in the 64-bit ring
 * of the secure sum, drawn with the exact discrete Gaussian sampler (no
 * floating point): each rank encodes its sums with g fractional bits
 * (rounding to nearest, so one record moves the encoding by at most
 * Delta_g = Delta 2^g + sqrt(n)/2 ring units), adds an integer share of
 * variance (z Delta_g)^2 / H, H = max(N - 1, 1), and joins the secure sum.
 * Any H shares carry noise z Delta_g, so the release is z-noisy against
 * one curious institution, which knows and can subtract its own share
 * (the calibration of distributed DP in train, --ddp-min-honest N - 1).  z
 * is the smallest noise multiplier for which the composition of all passes
 * (RDP accountant, q = 1) is (epsilon, delta)-DP; the epsilon reported is
 * that of the smallest multiplier actually sampled.  DP needs the secure
 * sum: with a plain MPI_Allreduce every rank would see the others' shares.
 */
typedef struct {
    int on;
    double z;        /* target noise multiplier of every pass     */
    double z_min;    /* smallest multiplier actually sampled      */
    int nranks;
} dp_release;

/*
 * Rank-local: encode buf (n values) into words (n + 1, canary 0) with the
 * statistics codec's grid 2^-g, lowered until the per-rank variance
 * (z Delta_g)^2 / H fits the sampler, and add this rank's discrete Gaussian
 * share.  *p = the codec used (for decoding); *z_eff = the multiplier of
 * the H honest shares, sqrt(H v) / Delta_g, from the rational v sampled.
 */
static fs_err dp_encode_noise(const dp_release *dp, double sens, const double *buf, size_t n,
                              uint64_t *words, fs_fixed_params *p, double *z_eff)
{
    fs_err rc = FS_OK;
    fs_dgauss *g = NULL;
    int64_t *noise = NULL;
    const int H = dp->nranks > 1 ? dp->nranks - 1 : 1;
    uint64_t num = 0;
    /* one bit below the codec's headroom rule: the noise (std <= 2^31 sqrt(H)
     * ring units, the sampler's limit) then never reaches the wrap */
    int k = 0, f = fs_fixed_suggest(64, dp->nranks, 0x1p31) - 1;
    double sg = 0;
    for (; f >= 0; f--) {
        sg = ldexp(sens, f) + 0.5 * sqrt((double)n);
        if (fs_dgauss_variance_rational(pow(dp->z * sg, 2.0) / H, &num, &k)) break;
    }
    if (f < 0) FS_FAIL(FS_ERR_ARG, "DP statistics: noise %g times the sensitivity %g is too "
                       "large for the sampler; raise --dp-epsilon or narrow --range", dp->z, sens);
    *p = (fs_fixed_params){ 64, f, 0x1p31, FS_FIXED_ROUND_NEAREST };
    *z_eff = sqrt(ldexp((double)num, -k) * H) / sg;
    fs_fixed_stats st = { 0, 0 };
    FS_TRY(fs_fixed_encode_f64(p, buf, n, words, 0, &st));
    if (st.nclipped || st.nnan)
        FS_FAIL(FS_ERR_NUMERIC, "DP statistics: a sum is NaN or beyond +-2^31 on this rank");
    words[n] = 0;
    FS_TRY(fs_alloc(&noise, n, sizeof *noise, "DP noise"));
    FS_TRY(fs_dgauss_create(num, (uint64_t)1 << k, NULL, &g));
    FS_TRY(fs_dgauss_sample(g, noise, n));
    for (size_t i = 0; i < n; i++) words[i] += (uint64_t)noise[i];  /* mod 2^64 */
done:
    if (noise) fs_secure_zero(noise, n * sizeof *noise);
    free(noise);
    fs_dgauss_destroy(&g);
    return rc;
}

/* Collective: out = sum over ranks of buf (n doubles, in place); when DP is
 * on, plus the distributed discrete Gaussian noise of a pass with L2
 * sensitivity `sens`, added in the ring.  The round of the secure sum is
 * (*step)++, so (round, vid) is fresh. */
static fs_err sum_f64_dp(MPI_Comm comm, fs_secagg *sa, uint64_t *step, uint32_t vid, double *buf,
                         size_t n, const char *what, dp_release *dp, double sens)
{
    fs_err rc = FS_OK, local = FS_OK;
    uint64_t *words = NULL;
    if (!dp || !dp->on) return fs_stats_sum(comm, sa, step, vid, buf, n, what, FS_OK);
    fs_fixed_params p;
    double z_eff = 0;
    local = sa ? fs_alloc(&words, n + 1, sizeof *words, "DP statistics words")
               : fs_error_set(FS_ERR_ARG, "DP statistics need --aggregation secure");
    if (local == FS_OK) local = dp_encode_noise(dp, sens, buf, n, words, &p, &z_eff);
    if (local != FS_OK) fs_error_prefix(local, "%s: ", what);
    FS_TRY(fs_agree(comm, local, NULL));
    const uint64_t round = (*step)++;
    rc = fs_secagg_sum_words(sa, round, vid, words, n, FS_OK);
    if (rc != FS_OK) {
        fs_error_prefix(rc, "%s: ", what);
        goto done;
    }
    FS_TRY(fs_fixed_decode_f64(&p, words, n, buf));
    dp->z_min = dp->z_min > 0 ? fmin(dp->z_min, z_eff) : z_eff;  /* same on every rank */
done:
    if (words) fs_secure_zero(words, (n + 1) * sizeof *words);
    free(words);
    return rc;
}

// ---------------------------------------------------------------- statistics

void fs_stats_opts_default(fs_stats_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_cov_features = FS_STATS_MAX_COV_FEATURES;
    o->dp_delta = 1e-5;
}

void fs_stats_free(fs_stats_result **r)
{
    if (!r || !*r) return;
    fs_stats_result *s = *r;
    free(s->mean); free(s->var); free(s->std); free(s->class_counts);
    free(s->hist_lo); free(s->hist_hi); free(s->hist); free(s->underflow); free(s->overflow);
    free(s->cov); free(s->corr);
    free(s->fill); free(s->missing); free(s->category_counts);
    if (s->feature_names) {
        for (size_t j = 0; j < s->d; j++) free(s->feature_names[j]);
        free(s->feature_names);
    }
    free(s);
    *r = NULL;
}

/* Rank-local: allocate the result arrays of s for d features. */
static fs_err stats_alloc(fs_stats_result *s, const fs_dataset *ds, const fs_stats_opts *o)
{
    fs_err rc = FS_OK;
    size_t d = ds->d, bins = (size_t)o->bins;
    FS_TRY(fs_zalloc(&s->mean, d, sizeof(double), "statistics"));
    FS_TRY(fs_zalloc(&s->var, d, sizeof(double), "statistics"));
    FS_TRY(fs_zalloc(&s->std, d, sizeof(double), "statistics"));
    if (ds->task == FS_TASK_CLASSIFICATION)
        FS_TRY(fs_zalloc(&s->class_counts, (size_t)ds->num_classes, sizeof(double), "statistics"));
    if (bins) {
        FS_TRY(fs_zalloc(&s->hist_lo, d, sizeof(double), "histogram"));
        FS_TRY(fs_zalloc(&s->hist_hi, d, sizeof(double), "histogram"));
        FS_TRY(fs_zalloc(&s->hist, d * bins, sizeof(double), "histogram"));
        FS_TRY(fs_zalloc(&s->underflow, d, sizeof(double), "histogram"));
        FS_TRY(fs_zalloc(&s->overflow, d, sizeof(double), "histogram"));
    }
    if (o->covariance) {
        FS_TRY(fs_zalloc(&s->cov, d * d, sizeof(double), "covariance"));
        FS_TRY(fs_zalloc(&s->corr, d * d, sizeof(double), "covariance"));
    }
    if (ds->feature_names) {
        FS_TRY(fs_zalloc(&s->feature_names, d, sizeof(char *), "feature names"));
        for (size_t j = 0; j < d; j++)
            FS_TRY(fs_strdup(&s->feature_names[j], ds->feature_names[j] ? ds->feature_names[j] : ""));
    }
done:
    return rc;
}

fs_err fs_stats_compute(MPI_Comm comm, fs_secagg *sa, const fs_dataset *ds,
                        const fs_stats_opts *o, uint64_t *step, fs_stats_result **out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_stats_result *s = NULL;
    double *vec = NULL;   /* (vlen) per-rank sums, then the global sums */
    const double t0 = fs_now();
    dp_release dp = { 0 };
    *out = NULL;

    /* Logically collective: options and data shape. */
    size_t maxcov = o->max_cov_features ? o->max_cov_features : FS_STATS_MAX_COV_FEATURES;
    const double optv[9] = { o->bins, o->have_range, o->have_range ? o->lo : 0,
                             o->have_range ? o->hi : 0, o->covariance, (double)maxcov,
                             (double)*step, o->dp_epsilon, o->dp_delta };
    static const char *const optn[9] = { "bins", "have_range", "range lo", "range hi",
                                         "covariance", "max_cov_features", "step counter",
                                         "dp epsilon", "dp delta" };
    if (o->bins < 0 || o->bins > FS_STATS_MAX_BINS)
        local = fs_error_set(FS_ERR_ARG, "--bins must be in 0..%d, got %d", FS_STATS_MAX_BINS,
                             o->bins);
    else if (o->have_range && !(isfinite(o->lo) && isfinite(o->hi) && o->lo < o->hi))
        local = fs_error_set(FS_ERR_ARG, "histogram range needs finite lo < hi, got %g:%g", o->lo,
                             o->hi);
    else if (o->dp_epsilon > 0 && !o->have_range)
        local = fs_error_set(FS_ERR_ARG, "DP statistics need a public --range LO:HI: the values "
                             "are clipped to it to bound each record's influence");
    else if (o->dp_epsilon > 0 && o->covariance)
        local = fs_error_set(FS_ERR_ARG, "DP statistics do not support --covariance");
    else if (o->dp_epsilon > 0 && !(o->dp_delta > 0 && o->dp_delta < 1))
        local = fs_error_set(FS_ERR_ARG, "DP statistics need --dp-delta in (0, 1)");
    else if (o->dp_epsilon > 0 && !sa)
        local = fs_error_set(FS_ERR_ARG, "DP statistics need --aggregation secure: with a plain "
                             "sum every institution would see the others' noise shares");
    FS_TRY(fs_stats_check_uniform(comm, local, optv, optn, 9, FS_ERR_ARG));
    const double shape[3] = { (double)ds->d, ds->task, ds->num_classes };
    static const char *const shapen[3] = { "features", "task (0 classification, 1 regression)",
                                           "classes" };
    FS_TRY(fs_stats_check_uniform(comm, FS_OK, shape, shapen, 3, FS_ERR_DATA));
    if (o->covariance && ds->d > maxcov) {
        /* Identical on every rank (d and maxcov were just checked). */
        FS_FAIL(FS_ERR_ARG, "refusing the covariance of %zu features: it needs %zu secure sums "
                "per rank and releases %zu numbers; the limit is %zu "
                "(raise it with --max-covariance-features)", ds->d,
                ds->d * (ds->d + 1) / 2, ds->d * (ds->d + 1) / 2, maxcov);
    }

    const size_t d = ds->d, n = ds->n, bins = (size_t)o->bins;
    /* DP plan: passes 1 and 2 always, pass 3 with histograms */
    if (o->dp_epsilon > 0) {
        const long passes = bins ? 3 : 2;
        dp.on = 1;
        MPI_Comm_size(comm, &dp.nranks);
        local = fs_dp_calibrate(1.0, passes, o->dp_delta, o->dp_epsilon, &dp.z);
        FS_TRY(fs_agree(comm, local, NULL));
    }
    const double clip_lo = dp.on ? o->lo : -INFINITY, clip_hi = dp.on ? o->hi : INFINITY;
    const double B = dp.on ? fmax(fabs(o->lo), fabs(o->hi)) : 0, W = dp.on ? o->hi - o->lo : 0;
    const int is_class = ds->task == FS_TASK_CLASSIFICATION;
    const size_t K = is_class ? (size_t)ds->num_classes : 1;
    const size_t m2 = o->covariance ? d * (d + 1) / 2 : d;
    size_t vlen = 1 + d + K;
    if (1 + m2 > vlen) vlen = 1 + m2;
    if (bins && d * (bins + 2) > vlen) vlen = d * (bins + 2);
    local = fs_zalloc(&s, 1, sizeof *s, "statistics");
    if (local == FS_OK) {
        s->d = d; s->task = ds->task; s->bins = (int)bins;
        s->num_classes = is_class ? ds->num_classes : 0;
        s->target_mean = s->target_std = NAN;
        MPI_Comm_size(comm, &s->nranks);
        local = stats_alloc(s, ds, o);
    }
    if (local == FS_OK) local = fs_zalloc(&vec, vlen, sizeof *vec, "statistics sums");
    FS_TRY(fs_agree(comm, local, NULL));

    /* Pass 1: vec = [n, sum_i x_ij (d), class counts (K) | sum_i y_i].
     * DP: values clipped to [lo, hi], B = max(|lo|, |hi|).  One record adds
     * its count 1, its d features and either 1 to one class count
     * (classification: L2 sensitivity sqrt(2 + d B^2)) or its target,
     * clipped the same way (regression: sqrt(1 + (d + 1) B^2)). */
    vec[0] = (double)n;
    for (size_t i = 0; i < n; i++) {
        const float *x = ds->X + i * d;
        for (size_t j = 0; j < d; j++) vec[1 + j] += fmin(fmax(x[j], clip_lo), clip_hi);
        if (is_class) vec[1 + d + (size_t)ds->y_class[i]] += 1.0;
        else vec[1 + d] += fmin(fmax(ds->y_reg[i], clip_lo), clip_hi);
    }
    FS_TRY(sum_f64_dp(comm, sa, step, VID_STATS_MOMENT1, vec, 1 + d + K, "pass 1 (count, sums)",
                      &dp, is_class ? sqrt(2.0 + (double)d * B * B)
                                    : sqrt(1.0 + (double)(d + 1) * B * B)));
    const double N = dp.on ? fmax(vec[0], 1.0) : vec[0];  /* a noisy count stays >= 1 */
    s->count = vec[0];
    for (size_t j = 0; j < d; j++) {
        s->mean[j] = vec[1 + j] / N;
        if (dp.on) s->mean[j] = fmin(fmax(s->mean[j], o->lo), o->hi);
    }
    if (is_class) memcpy(s->class_counts, vec + 1 + d, K * sizeof *vec);
    else s->target_mean = vec[1 + d] / N;

    /* Pass 2: centered second moments around the global mean (two-pass
     * scheme: no cancellation of sum x^2 - N mean^2).  vec = [sum (y-ybar)^2,
     * sum (x_j - mean_j)^2 (d) or the upper triangle of the centered
     * cross-product matrix (d(d+1)/2)]. */
    memset(vec, 0, vlen * sizeof *vec);
    for (size_t i = 0; i < n; i++) {
        const float *x = ds->X + i * d;
        if (!is_class) {
            double t = fmin(fmax(ds->y_reg[i], clip_lo), clip_hi) - s->target_mean;
            vec[0] += dp.on ? fmin(t * t, W * W) : t * t;
        }
        if (o->covariance) {
            for (size_t j = 0; j < d; j++) {
                double dj = x[j] - s->mean[j];
                double *row = vec + 1 + tri(d, j, j);
                for (size_t k = j; k < d; k++) row[k - j] += dj * (x[k] - s->mean[k]);
            }
        } else {
            /* DP: (clipped x - mean)^2 is bounded by (hi - lo)^2 once the
             * released mean is clamped into [lo, hi] (below) */
            for (size_t j = 0; j < d; j++) {
                double t = fmin(fmax(x[j], clip_lo), clip_hi) - s->mean[j];
                vec[1 + j] += dp.on ? fmin(t * t, W * W) : t * t;
            }
        }
    }
    FS_TRY(sum_f64_dp(comm, sa, step, VID_STATS_MOMENT2, vec, 1 + m2,
                      "pass 2 (sums of squared deviations)", &dp, sqrt(1.0 + (double)d) * W * W));
    const double den = N - 1;   /* unbiased; NaN results for N < 2 */
    if (!is_class) s->target_std = N > 1 ? sqrt(vec[0] / den) : NAN;
    for (size_t j = 0; j < d; j++) {
        double ss = o->covariance ? vec[1 + tri(d, j, j)] : vec[1 + j];
        s->var[j] = N > 1 ? (dp.on ? fmax(ss, 0.0) : ss) / den : NAN;
        s->std[j] = sqrt(s->var[j]);
    }
    if (o->covariance)
        for (size_t j = 0; j < d; j++)
            for (size_t k = j; k < d; k++) {
                double c = N > 1 ? vec[1 + tri(d, j, k)] / den : NAN;
                s->cov[j * d + k] = s->cov[k * d + j] = c;
                double r = (s->var[j] > 0 && s->var[k] > 0) ? c / (s->std[j] * s->std[k]) : NAN;
                if (j == k && s->var[j] > 0) r = 1.0;
                s->corr[j * d + k] = s->corr[k * d + j] = r;
            }

    /* Pass 3: histograms over [lo, hi), bins of equal width, plus underflow
     * (x < lo) and overflow (x >= hi).  The default range mean +- 4 std is
     * derived from the released pass-1/2 statistics only.  Bin index
     * floor((x - lo) / (hi - lo) * bins), capped at bins - 1 against
     * rounding.  vec = per feature [underflow, bins..., overflow]. */
    if (bins) {
        for (size_t j = 0; j < d; j++) {
            double lo = o->lo, hi = o->hi;
            if (!o->have_range) {
                double sd = isfinite(s->std[j]) && s->std[j] > 0 ? s->std[j] : 0.125;
                lo = s->mean[j] - 4 * sd;
                hi = s->mean[j] + 4 * sd;
            }
            s->hist_lo[j] = lo;
            s->hist_hi[j] = hi;
        }
        memset(vec, 0, vlen * sizeof *vec);
        for (size_t i = 0; i < n; i++) {
            const float *x = ds->X + i * d;
            for (size_t j = 0; j < d; j++) {
                double v = x[j], lo = s->hist_lo[j], hi = s->hist_hi[j];
                double *h = vec + j * (bins + 2);
                if (v < lo) h[0] += 1;
                else if (v >= hi) h[bins + 1] += 1;
                else {
                    size_t b = (size_t)floor((v - lo) / (hi - lo) * (double)bins);
                    h[1 + (b < bins ? b : bins - 1)] += 1;
                }
            }
        }
        /* DP: one record adds 1 to one bin of each feature: sensitivity sqrt(d) */
        FS_TRY(sum_f64_dp(comm, sa, step, VID_STATS_HIST, vec, d * (bins + 2),
                          "pass 3 (histograms)", &dp, sqrt((double)d)));
        for (size_t j = 0; j < d; j++) {
            const double *h = vec + j * (bins + 2);
            s->underflow[j] = h[0];
            memcpy(s->hist + j * bins, h + 1, bins * sizeof *h);
            s->overflow[j] = h[bins + 1];
        }
    }
    s->seconds = fs_now() - t0;
    s->dp_epsilon = s->dp_noise = NAN;
    if (dp.on) {
        /* the epsilon actually spent by the calibrated z over the passes */
        FS_TRY(fs_dp_epsilon(1.0, dp.z_min, bins ? 3 : 2, o->dp_delta, &s->dp_epsilon));
        s->dp_noise = dp.z_min;
    }
    *out = s;
    s = NULL;
done:
    free(vec);
    fs_stats_free(&s);
    return rc;
}

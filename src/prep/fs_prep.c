/*
 * fs_prep.c - fitting and applying the preprocessing pipeline (fs_prep.h):
 * imputation values and standardization moments from secure sums.
 *
 * The sums of one fit (all at round 0; vid = the caller's vector_id):
 *   vid+0  [n_k, c_k,j]        rows, non-missing cells per feature
 *   vid+1  [s_k,j]             numeric: sum of x / N_j; one-hot: sum of x
 *   vid+2  level-1 median histograms (256 counts per median feature)
 *   vid+3  level-2 median histograms (256 counts, 256 offset sums)
 *   vid+4  n = sum of n_k                         (standardize)
 *   vid+5  sum of x / n after imputation          (standardize)
 *   vid+6  sum of (x - mean)^2 / n                (standardize)
 * Dividing by the public totals before summing keeps every sum within the
 * statistics codec's +-2^31 (a mean, a variance) for features whose raw
 * sum or sum of squares would not fit (incomes, assets over thousands of
 * rows); counts are integers, summed exactly.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_prep.h"
#include "fedsilo/fs_schema.h"

#define NB FS_PREP_MEDIAN_BINS
#define BINADE_MIN (-60)          /* binades [2^e, 2^(e+1)), e in -60..63 */
#define BINADE_COUNT 124          /* -> 2 * 124 + 1 = 249 level-1 bins    */

struct fs_prep {
    size_t d;
    char *schema;                 /* INI text, or NULL                    */
    char hash[FS_SCHEMA_HASHHEX + 1];
    double *fill;                 /* (d) NaN = no fill; NULL: no imputing */
    double *mean, *scale;         /* (d) or NULL: no standardizing        */
    int nmedian, nmode, nmean;    /* features by fill policy (releases)   */
};

// ---------------------------------------------------------------- median bins

/* Level-1 bin of v for a column: equal bins of [lo, hi] when the schema
 * gives both ends, else the signed binade (see fs_prep.h). */
static int level1_bin(const fs_schema_column *c, double v)
{
    if (c->has_lo && c->has_hi && c->hi > c->lo) {
        double t = floor((v - c->lo) / (c->hi - c->lo) * NB);
        return t < 0 ? 0 : t > NB - 1 ? NB - 1 : (int)t;
    }
    if (v == 0) return BINADE_COUNT;
    int e;
    (void)frexp(fabs(v), &e);       /* |v| = m 2^e, m in [0.5, 1): floor(log2|v|) = e - 1 */
    int k = e - 1 - BINADE_MIN;
    k = k < 0 ? 0 : k > BINADE_COUNT - 1 ? BINADE_COUNT - 1 : k;
    return v > 0 ? BINADE_COUNT + 1 + k : BINADE_COUNT - 1 - k;
}

/* The interval [*a, *b] of level-1 bin i (a == b for the zero bin). */
static void level1_interval(const fs_schema_column *c, int i, double *a, double *b)
{
    if (c->has_lo && c->has_hi && c->hi > c->lo) {
        const double w = (c->hi - c->lo) / NB;
        *a = c->lo + w * i;
        *b = i == NB - 1 ? c->hi : c->lo + w * (i + 1);
        return;
    }
    if (i == BINADE_COUNT) { *a = *b = 0; return; }
    const int k = i > BINADE_COUNT ? i - BINADE_COUNT - 1 : BINADE_COUNT - 1 - i;
    const double lo = ldexp(1.0, k + BINADE_MIN), hi = ldexp(1.0, k + BINADE_MIN + 1);
    if (i > BINADE_COUNT) { *a = lo; *b = hi; }
    else { *a = -hi; *b = -lo; }
}

/* Offset of v in [a, b], in [0, 1]. */
static double offset_in(double v, double a, double b)
{
    if (b <= a) return 0;
    double t = (v - a) / (b - a);
    return t < 0 ? 0 : t > 1 ? 1 : t;
}

static int sub_bin(double t)
{
    int s = (int)floor(t * NB);
    return s < 0 ? 0 : s > NB - 1 ? NB - 1 : s;
}

/* First bin of counts h (len) whose cumulative count exceeds k; *rest = k
 * minus the count before it.  -1 if the total is <= k. */
static int select_bin(const double *h, int len, double k, double *rest)
{
    double cum = 0;
    for (int i = 0; i < len; i++) {
        if (cum + h[i] > k) { *rest = k - cum; return i; }
        cum += h[i];
    }
    return -1;
}

// ---------------------------------------------------------------- fit

/* What one feature's fill is computed from. */
typedef enum { FILL_NONE, FILL_MEAN, FILL_MEDIAN, FILL_CONSTANT, FILL_MODE } fill_kind;

static fill_kind feature_fill(const fs_schema *s, size_t j, double *constant)
{
    const fs_schema_feature *f = fs_schema_feature_at(s, j);
    const fs_schema_column *c = fs_schema_column_at(s, f->column);
    if (f->kind == FS_FEATURE_MISSING) return FILL_NONE;
    if (f->kind != FS_FEATURE_NUMERIC)
        return c->impute == FS_IMPUTE_MODE ? FILL_MODE : FILL_NONE;
    switch (c->impute) {
    case FS_IMPUTE_MEAN: case FS_IMPUTE_INDICATOR: return FILL_MEAN;
    case FS_IMPUTE_MEDIAN: return FILL_MEDIAN;
    case FS_IMPUTE_CONSTANT: *constant = c->impute_value; return FILL_CONSTANT;
    default: return FILL_NONE;
    }
}

/* Collective.  The median fills of the features listed in med (nm):
 * level 1 over the whole line (or range), level 2 inside the level-1 bin
 * [a_m, b_m] that holds the lower middle order statistic. */
static fs_err fit_medians(fs_fed *fed, const fs_dataset *tr, const fs_schema *s, uint32_t vid,
                          const size_t *med, size_t nm, const double *cnt, double *fill)
{
    fs_err rc = FS_OK, local = FS_OK;
    const size_t d = tr->d;
    double *h1 = NULL, *h2 = NULL, *a = NULL, *b = NULL, *k1 = NULL;
    int *bin = NULL;
    local = fs_zalloc(&h1, nm * NB, sizeof *h1, "median histograms");
    if (local == FS_OK) local = fs_zalloc(&h2, nm * 2 * NB, sizeof *h2, "median histograms");
    if (local == FS_OK) local = fs_alloc(&a, nm, sizeof *a, "median bins");
    if (local == FS_OK) local = fs_alloc(&b, nm, sizeof *b, "median bins");
    if (local == FS_OK) local = fs_alloc(&k1, nm, sizeof *k1, "median bins");
    if (local == FS_OK) local = fs_alloc(&bin, nm, sizeof *bin, "median bins");
    FS_TRY(fs_fed_agree(fed, local));
#define COLUMN(m) fs_schema_column_at(s, fs_schema_feature_at(s, med[m])->column)
    for (size_t m = 0; m < nm; m++)
        for (size_t i = 0; i < tr->n; i++) {
            const double v = tr->X[i * d + med[m]];
            if (!isnan(v)) h1[m * NB + (size_t)level1_bin(COLUMN(m), v)] += 1;
        }
    FS_TRY(fs_fed_sum_f64(fed, 0, vid + 2, h1, h1, nm * NB));
    for (size_t m = 0; m < nm; m++) {
        const double k = floor((cnt[med[m]] - 1) / 2);  /* lower middle, 0-based */
        bin[m] = select_bin(h1 + m * NB, NB, k, &k1[m]);
        if (bin[m] < 0) { bin[m] = 0; k1[m] = 0; }  /* not reached: the counts sum to cnt */
        level1_interval(COLUMN(m), bin[m], &a[m], &b[m]);
    }
    for (size_t m = 0; m < nm; m++) {
        double *cm = h2 + m * 2 * NB, *sm = cm + NB;
        for (size_t i = 0; i < tr->n; i++) {
            const double v = tr->X[i * d + med[m]];
            if (isnan(v) || level1_bin(COLUMN(m), v) != bin[m]) continue;
            const double t = offset_in(v, a[m], b[m]);
            cm[sub_bin(t)] += 1;
            sm[sub_bin(t)] += t;
        }
    }
#undef COLUMN
    FS_TRY(fs_fed_sum_f64(fed, 0, vid + 3, h2, h2, nm * 2 * NB));
    for (size_t m = 0; m < nm; m++) {
        const double *cm = h2 + m * 2 * NB, *sm = cm + NB;
        double rest = 0;
        int sb = select_bin(cm, NB, k1[m], &rest);
        if (sb < 0) sb = 0;
        const double t = cm[sb] > 0 ? sm[sb] / cm[sb] : (sb + 0.5) / NB;
        fill[med[m]] = a[m] + (b[m] - a[m]) * t;
    }
done:
    free(h1);
    free(h2);
    free(a);
    free(b);
    free(k1);
    free(bin);
    return rc;
}

/* Collective.  The fill values (p->fill) from the schema's policies. */
static fs_err fit_impute(fs_fed *fed, const fs_dataset *tr, const fs_schema *s, uint32_t vid,
                         fs_prep *p)
{
    fs_err rc = FS_OK, local = FS_OK;
    const size_t d = tr->d;
    double *cnt = NULL, *sum = NULL;   /* (1 + d), (d) */
    size_t *med = NULL, nm = 0;
    fill_kind *kind = NULL;
    local = fs_zalloc(&cnt, d + 1, sizeof *cnt, "imputation counts");
    if (local == FS_OK) local = fs_zalloc(&sum, d, sizeof *sum, "imputation sums");
    if (local == FS_OK) local = fs_alloc(&med, d, sizeof *med, "median features");
    if (local == FS_OK) local = fs_alloc(&kind, d, sizeof *kind, "fill policies");
    FS_TRY(fs_fed_agree(fed, local));
    for (size_t j = 0; j < d; j++) {
        double constant = NAN;
        kind[j] = feature_fill(s, j, &constant);
        p->fill[j] = kind[j] == FILL_CONSTANT ? constant : NAN;
        if (kind[j] == FILL_MEDIAN) med[nm++] = j;
        p->nmedian += kind[j] == FILL_MEDIAN;
        p->nmode += kind[j] == FILL_MODE;
        p->nmean += kind[j] == FILL_MEAN;
    }
    cnt[0] = (double)tr->n;
    for (size_t i = 0; i < tr->n; i++)
        for (size_t j = 0; j < d; j++) cnt[1 + j] += !isnan(tr->X[i * d + j]);
    FS_TRY(fs_fed_sum_f64(fed, 0, vid, cnt, cnt, d + 1));
    const double *N = cnt + 1;
    for (size_t i = 0; i < tr->n; i++)
        for (size_t j = 0; j < d; j++) {
            const double v = tr->X[i * d + j];
            if (isnan(v) || N[j] == 0) continue;
            sum[j] += kind[j] == FILL_MODE ? v : v / N[j];
        }
    FS_TRY(fs_fed_sum_f64(fed, 0, vid + 1, sum, sum, d));
    local = FS_OK;
    for (size_t j = 0; j < d && local == FS_OK; j++)
        if ((kind[j] == FILL_MEAN || kind[j] == FILL_MEDIAN || kind[j] == FILL_MODE) && N[j] == 0)
            local = fs_error_set(FS_ERR_DATA, "cannot impute feature %zu ('%s'): it is missing in "
                                 "every row of every institution", j,
                                 fs_schema_feature_at(s, j)->name);
    FS_TRY(fs_fed_agree(fed, local));
    for (size_t j = 0; j < d; j++)
        if (kind[j] == FILL_MEAN) p->fill[j] = sum[j];
    /* mode: per one-hot block, the largest count; the first on a tie */
    for (size_t c = 0; c < fs_schema_num_columns(s); c++) {
        const fs_schema_column *col = fs_schema_column_at(s, c);
        size_t best = SIZE_MAX;
        for (size_t j = col->first_feature; j < col->first_feature + col->nfeatures; j++) {
            if (kind[j] != FILL_MODE) continue;
            if (best == SIZE_MAX || sum[j] > sum[best]) best = j;
        }
        for (size_t j = col->first_feature; best != SIZE_MAX &&
             j < col->first_feature + col->nfeatures; j++)
            if (kind[j] == FILL_MODE) p->fill[j] = j == best ? 1.0 : 0.0;
    }
    if (nm) FS_TRY(fit_medians(fed, tr, s, vid, med, nm, N, p->fill));
done:
    free(cnt);
    free(sum);
    free(med);
    free(kind);
    return rc;
}

/* Collective.  Standardization moments of the imputed rows (fs_prep.h). */
static fs_err fit_standardize(fs_fed *fed, const fs_dataset *tr, const fs_schema *s, uint32_t vid,
                              fs_prep *p)
{
    fs_err rc = FS_OK, local = FS_OK;
    const size_t d = tr->d;
    double nk = (double)tr->n, n = 0, *acc = NULL;
    local = fs_zalloc(&acc, d, sizeof *acc, "standardization sums");
    FS_TRY(fs_fed_agree(fed, local));
    FS_TRY(fs_fed_sum_f64(fed, 0, vid + 4, &nk, &n, 1));
    /* row i, feature j after imputation */
#define VAL(i, j) (isnan(tr->X[(i) * d + (j)]) && p->fill ? p->fill[j] : (double)tr->X[(i) * d + (j)])
    for (size_t i = 0; i < tr->n; i++)
        for (size_t j = 0; j < d; j++) acc[j] += VAL(i, j) / n;
    FS_TRY(fs_fed_sum_f64(fed, 0, vid + 5, acc, p->mean, d));
    for (size_t j = 0; j < d; j++) acc[j] = 0;
    for (size_t i = 0; i < tr->n; i++)
        for (size_t j = 0; j < d; j++) {
            const double z = VAL(i, j) - p->mean[j];
            acc[j] += z * z / n;
        }
#undef VAL
    FS_TRY(fs_fed_sum_f64(fed, 0, vid + 6, acc, p->scale, d));
    for (size_t j = 0; j < d; j++) {
        const double sd = sqrt(p->scale[j]);
        p->scale[j] = sd > 1e-12 ? sd : 1.0;
        if (s && fs_schema_feature_at(s, j)->kind != FS_FEATURE_NUMERIC) {
            p->mean[j] = 0;   /* one-hot, (other) and missing indicators: not scaled */
            p->scale[j] = 1;
        }
    }
done:
    free(acc);
    return rc;
}

/* Register the fit's sums (vector ids vid..vid+6) in the run's privacy
 * ledger: all exact, hence public.  Identical on every rank. */
static fs_err register_sums(fs_fed *fed, const fs_prep_opts *o)
{
    static const char *const what[7] = {
        "imputation: rows and non-missing cells per feature (sums, round 0)",
        "imputation: feature sums and per-category counts (sums, round 0)",
        "imputation: median histograms, first level (sums, round 0)",
        "imputation: median histograms, second level (sums, round 0)",
        "standardization: training rows n (sum, round 0)",
        "standardization: feature means (sums, round 0)",
        "standardization: feature variances (sums, round 0)" };
    fs_err rc = FS_OK;
    fs_ledger *l = fs_fed_ledger(fed);
    for (uint32_t i = o->impute ? 0 : 4; i < (o->standardize ? 7u : 4u); i++)
        FS_TRY(fs_ledger_register(l, o->vector_id + i, what[i], FS_RELEASE_PUBLIC, "exact sum"));
done:
    return rc;
}

fs_err fs_prep_fit(fs_fed *fed, const fs_dataset *tr, const fs_prep_opts *o, fs_prep **out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_schema *s = NULL;
    fs_prep *p = NULL;
    *out = NULL;
    const size_t d = tr->d;
    local = register_sums(fed, o);
    if (local == FS_OK) local = fs_zalloc(&p, 1, sizeof *p, "pipeline");
    if (local == FS_OK) p->d = d;
    if (local == FS_OK && tr->schema) {
        local = fs_schema_parse(tr->schema, strlen(tr->schema), "the shard's schema", &s);
        if (local == FS_OK) local = fs_strdup(&p->schema, tr->schema);
        if (local == FS_OK) snprintf(p->hash, sizeof p->hash, "%s", fs_schema_hash_hex(s));
        if (local == FS_OK && fs_schema_num_features(s) != d)
            local = fs_error_set(FS_ERR_DATA, "the shard has %zu features, its schema %zu", d,
                                 fs_schema_num_features(s));
    }
    if (local == FS_OK && o->impute) local = fs_alloc(&p->fill, d, sizeof(double), "fill values");
    if (local == FS_OK && o->standardize) {
        local = fs_alloc(&p->mean, d, sizeof(double), "feature means");
        if (local == FS_OK) local = fs_alloc(&p->scale, d, sizeof(double), "feature scales");
    }
    FS_TRY(fs_fed_agree(fed, local));
    if (o->impute) {
        if (s) {
            FS_TRY(fit_impute(fed, tr, s, o->vector_id, p));
        } else {
            for (size_t j = 0; j < d; j++) p->fill[j] = NAN;  /* no schema: no missing cells */
        }
    }
    if (o->standardize) FS_TRY(fit_standardize(fed, tr, s, o->vector_id, p));
    *out = p;
    p = NULL;
done:
    fs_schema_destroy(&s);
    fs_prep_destroy(&p);
    return rc;
}

// ---------------------------------------------------------------- parts, apply

static fs_err copy_vec(double **dst, const double *src, size_t d, const char *what)
{
    if (!src) return FS_OK;
    fs_err rc = fs_alloc(dst, d, sizeof **dst, what);
    if (rc == FS_OK) memcpy(*dst, src, d * sizeof **dst);
    return rc;
}

fs_err fs_prep_create(size_t d, const char *schema, const double *fill, const double *mean,
                      const double *scale, fs_prep **out)
{
    fs_err rc = FS_OK;
    fs_prep *p = NULL;
    fs_schema *s = NULL;
    *out = NULL;
    FS_CHECK_ARG(d > 0 && !mean == !scale, "fs_prep_create: d == 0 or only one of mean/scale");
    FS_TRY(fs_zalloc(&p, 1, sizeof *p, "pipeline"));
    p->d = d;
    if (schema) {
        FS_TRY(fs_schema_parse(schema, strlen(schema), "the pipeline's schema", &s));
        if (fs_schema_num_features(s) != d)
            FS_FAIL(FS_ERR_DATA, "the pipeline has %zu features, its schema %zu", d,
                    fs_schema_num_features(s));
        FS_TRY(fs_strdup(&p->schema, schema));
        snprintf(p->hash, sizeof p->hash, "%s", fs_schema_hash_hex(s));
    }
    FS_TRY(copy_vec(&p->fill, fill, d, "fill values"));
    FS_TRY(copy_vec(&p->mean, mean, d, "feature means"));
    FS_TRY(copy_vec(&p->scale, scale, d, "feature scales"));
    *out = p;
    p = NULL;
done:
    fs_schema_destroy(&s);
    fs_prep_destroy(&p);
    return rc;
}

fs_err fs_prep_apply(const fs_prep *p, fs_dataset *ds, const char *name)
{
    fs_err rc = FS_OK;
    if (ds->d != p->d)
        FS_FAIL(FS_ERR_DATA, "%s has %zu features, the pipeline %zu", name, ds->d, p->d);
    FS_TRY(fs_dataset_check_schema(ds, p->hash, "the pipeline", name));
    if (p->fill) FS_TRY(fs_dataset_impute(ds, p->fill, name));
    if (p->mean) fs_dataset_standardize(ds, p->mean, p->scale);
done:
    return rc;
}

fs_err fs_prep_note_releases(const fs_prep *p, fs_ledger *l)
{
    fs_err rc = FS_OK;
    if (p->fill) {
        FS_TRY(fs_ledger_note_release(l, "imputation: rows and non-missing cells per feature "
                                      "(sums)", "public"));
        if (p->nmean)
            FS_TRY(fs_ledger_note_release(l, "imputation: feature means (sums)", "public"));
        if (p->nmode)
            FS_TRY(fs_ledger_note_release(l, "imputation: per-category counts (sums)", "public"));
        if (p->nmedian)
            FS_TRY(fs_ledger_note_release(l, "imputation: two-level median histograms (sums)",
                                          "public"));
    }
    if (p->mean)
        FS_TRY(fs_ledger_note_release(l, "standardization: feature means and variances (sums)",
                                      "public"));
done:
    return rc;
}

size_t fs_prep_dim(const fs_prep *p) { return p->d; }
const double *fs_prep_fill(const fs_prep *p) { return p->fill; }
const double *fs_prep_mean(const fs_prep *p) { return p->mean; }
const double *fs_prep_scale(const fs_prep *p) { return p->scale; }
const char *fs_prep_schema_text(const fs_prep *p) { return p->schema; }

void fs_prep_destroy(fs_prep **pp)
{
    if (!pp || !*pp) return;
    fs_prep *p = *pp;
    free(p->schema);
    free(p->fill);
    free(p->mean);
    free(p->scale);
    free(p);
    *pp = NULL;
}

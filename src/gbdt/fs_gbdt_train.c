/*
 * fs_gbdt_train.c - one institution's GBDT training engine as a sequence of
 * local steps around global sums (programs layer, no MPI).
 *
 * XGBoost's `hist` tree method (Chen & Guestrin 2016; XGBoost 1.7 semantics)
 * for the loss l(y, m) of the objective.  Boosting round r grows K trees (K
 * classes for multi:*, else 1) from the gradient g_i = dl/dm and hessian
 * h_i = d2l/dm2 of every row i at the current margins m_i:
 *
 *   binary:logistic   p = sigmoid(m), g = p - y, h = max(p (1 - p), 1e-16)
 *   multi:soft*       p = softmax(m), g_k = p_k - [y = k], h_k = max(2 p_k (1 - p_k), 1e-16)
 *   reg:squarederror  g = m - y clipped to +-(label_hi - label_lo), h = 1
 *
 * A node with sums G, H has weight w = -G / (H + lambda) (0 when H <
 * min_child_weight) and score G^2 / (H + lambda); a split into L and R
 * gains loss_chg = score(L) + score(R) - score(node) (float32, as XGBoost),
 * needs H_L, H_R >= min_child_weight, loss_chg > 1e-6, loss_chg >= gamma and
 * H_L, H_R != 0; a leaf's value is eta * w.
 *
 * Exact sums.  Row i enters the histograms as integers:
 *   gq_i = round(g_i 2^f), hq_i = round(h_i 2^f), count 1,
 * with f chosen once from the summed row count N so that
 *   N * max(|g|, |h|) * 2^f < 2^62      (headroom rule; refused if f < 8):
 * every bin, node total and sibling difference of every institution's rows
 * and of all of them together is then an exact int64, and the sum over
 * institutions mod 2^64 (the secure sum's ring) equals the histogram of the
 * pooled rows, whatever the order.  Every institution converts the same
 * integers to the same doubles, takes the same arg max (features in
 * increasing order, forward before backward scan, first maximum wins) and
 * so grows the same tree without any tree being communicated.
 *
 * Per level of a tree: the open nodes come in sibling pairs; the child with
 * the smaller *summed* count (left on a tie) is built from local rows, the
 * other is its parent's summed histogram minus the built one (exact in
 * integers).  One word vector per level holds the histograms of all built
 * nodes:
 *
 *   node  = [C, G, H] totals, then for each sampled feature f its S_f slots
 *   slot  = [count, gq sum, hq sum] of the rows whose value is in bin b of f
 *           (b < B_f), or missing (slot B_f, present when some institution
 *           has a missing value of f: the node total minus the bins)
 *
 * Split search per feature (XGBoost's EnumerateSplit): forward, bins 0..b
 * left and the rest plus missing right (default right); when the feature has
 * missing values in the node, backward, bins b..B-1 right and the rest plus
 * missing left (default left).  A split (f, s) sends a non-missing x left
 * iff bin(x) < s iff x < edge_s.
 *
 * Rows are kept as an index array partitioned in place per node (stable,
 * ascending within every node), so building a node reads only its rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "fs_gbdt_state.h"

// --- Options

void fs_gbdt_opts_default(fs_gbdt_opts *o)
{
    memset(o, 0, sizeof *o);
    o->objective = FS_GBDT_BINARY_LOGISTIC;
    o->num_class = 0;
    o->rounds = 10;
    o->max_depth = 6;
    o->eta = 0.3;
    o->lambda = 1.0;
    o->gamma = 0.0;
    o->min_child_weight = 1.0;
    o->subsample = 1.0;
    o->colsample_bytree = 1.0;
    o->max_bins = 256;
    o->fine_bins = 4096;
    o->base_score = NAN;
    o->label_lo = NAN;
    o->label_hi = NAN;
    o->frac_bits = 0;
    o->early_stopping_rounds = 0;
    o->seed = 0;
}

static const char *const objective_names[] = {
    "binary:logistic", "multi:softprob", "multi:softmax", "reg:squarederror"
};

const char *fs_gbdt_objective_name(fs_gbdt_objective obj)
{
    return (unsigned)obj < 4 ? objective_names[obj] : "unknown";
}

fs_err fs_gbdt_objective_parse(const char *name, fs_gbdt_objective *out)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, objective_names[i]) == 0) {
            *out = (fs_gbdt_objective)i;
            return FS_OK;
        }
    return fs_error_set(FS_ERR_ARG, "unknown GBDT objective '%.40s' (binary:logistic, "
                        "multi:softprob, multi:softmax, reg:squarederror)", name ? name : "");
}

static int is_multi(const fs_gbdt_opts *o)
{
    return o->objective == FS_GBDT_MULTI_SOFTPROB || o->objective == FS_GBDT_MULTI_SOFTMAX;
}

fs_err fs_gbdt_opts_check(const fs_gbdt_opts *o)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG((unsigned)o->objective < 4, "gbdt: unknown objective %d", (int)o->objective);
    if (is_multi(o))
        FS_CHECK_ARG(o->num_class >= 2 && o->num_class <= 10000,
                     "gbdt: num_class %d is out of range 2..10000 for %s", o->num_class,
                     fs_gbdt_objective_name(o->objective));
    FS_CHECK_ARG(o->rounds >= 1 && o->rounds <= 1000000, "gbdt: trees (rounds) %d is out of range "
                 "1..1000000", o->rounds);
    FS_CHECK_ARG((int64_t)o->rounds * fs_gbdt_nout(o) <= (1 << 24),
                 "gbdt: rounds x classes = %lld trees is more than %d",
                 (long long)o->rounds * fs_gbdt_nout(o), 1 << 24);
    FS_CHECK_ARG(o->max_depth >= 1 && o->max_depth <= FS_GBDT_MAX_DEPTH,
                 "gbdt: max_depth %d is out of range 1..%d", o->max_depth, FS_GBDT_MAX_DEPTH);
    FS_CHECK_ARG(o->eta > 0 && o->eta <= 1, "gbdt: eta %g is out of range (0, 1]", o->eta);
    FS_CHECK_ARG(o->lambda >= 0 && isfinite(o->lambda), "gbdt: lambda %g must be >= 0", o->lambda);
    FS_CHECK_ARG(o->gamma >= 0 && isfinite(o->gamma), "gbdt: gamma %g must be >= 0", o->gamma);
    FS_CHECK_ARG(o->min_child_weight >= 0 && isfinite(o->min_child_weight),
                 "gbdt: min_child_weight %g must be >= 0", o->min_child_weight);
    FS_CHECK_ARG(o->subsample > 0 && o->subsample <= 1, "gbdt: subsample %g is out of range (0, 1]",
                 o->subsample);
    FS_CHECK_ARG(o->colsample_bytree > 0 && o->colsample_bytree <= 1,
                 "gbdt: colsample %g is out of range (0, 1]", o->colsample_bytree);
    FS_CHECK_ARG(o->max_bins >= 2 && o->max_bins <= FS_GBDT_MAX_BINS,
                 "gbdt: max_bins %d is out of range 2..%d", o->max_bins, FS_GBDT_MAX_BINS);
    FS_CHECK_ARG(o->fine_bins >= o->max_bins && o->fine_bins <= FS_GBDT_MAX_FINE_BINS,
                 "gbdt: fine_bins %d is out of range max_bins (%d)..%d", o->fine_bins, o->max_bins,
                 FS_GBDT_MAX_FINE_BINS);
    FS_CHECK_ARG(o->frac_bits == 0 ||
                 (o->frac_bits >= FS_GBDT_MIN_FRAC_BITS && o->frac_bits <= FS_GBDT_MAX_FRAC_BITS),
                 "gbdt: frac_bits %d is out of range %d..%d (0 = automatic)", o->frac_bits,
                 FS_GBDT_MIN_FRAC_BITS, FS_GBDT_MAX_FRAC_BITS);
    FS_CHECK_ARG(o->early_stopping_rounds >= 0, "gbdt: early_stopping_rounds %d must be >= 0",
                 o->early_stopping_rounds);
    double bs = fs_gbdt_base_score(o);
    FS_CHECK_ARG(isfinite(bs), "gbdt: base_score must be finite");
    if (o->objective == FS_GBDT_BINARY_LOGISTIC)
        FS_CHECK_ARG(bs > 0 && bs < 1, "gbdt: base_score %g must be in (0, 1) for binary:logistic",
                     bs);
    if (o->objective == FS_GBDT_REG_SQUAREDERROR)
        FS_CHECK_ARG(isfinite(o->label_lo) && isfinite(o->label_hi) && o->label_lo < o->label_hi &&
                     o->label_hi - o->label_lo < 1e15,
                     "gbdt: reg:squarederror needs a public label range lo < hi (the schema's "
                     "label range or --label-range): the gradient bound is hi - lo");
done:
    return rc;
}

/* Options that must equal the model's to continue training it (all but
 * rounds, the target). */
static int same_training(const fs_gbdt_opts *a, const fs_gbdt_opts *b)
{
    int reg = a->objective == FS_GBDT_REG_SQUAREDERROR;
    return a->objective == b->objective && fs_gbdt_nout(a) == fs_gbdt_nout(b) &&
           a->max_depth == b->max_depth && a->eta == b->eta && a->lambda == b->lambda &&
           a->gamma == b->gamma && a->min_child_weight == b->min_child_weight &&
           a->subsample == b->subsample && a->colsample_bytree == b->colsample_bytree &&
           a->max_bins == b->max_bins && a->fine_bins == b->fine_bins &&
           fs_gbdt_base_score(a) == fs_gbdt_base_score(b) && a->frac_bits == b->frac_bits &&
           a->early_stopping_rounds == b->early_stopping_rounds && a->seed == b->seed &&
           (!reg || (a->label_lo == b->label_lo && a->label_hi == b->label_hi));
}

// --- Objectives

static const char *metric_name(const fs_gbdt_opts *o)
{
    if (o->objective == FS_GBDT_REG_SQUAREDERROR) return "rmse";
    return is_multi(o) ? "mlogloss" : "logloss";
}

/* Gradient and hessian of output k of one row with margins mr (K) and
 * label y (class or target). */
static void grad_row(const fs_gbdt *g, const float *mr, double y, int k, double *pg, double *ph,
                     double sum_exp, double mmax)
{
    switch (g->o.objective) {
    case FS_GBDT_BINARY_LOGISTIC: {
        double p = 1.0 / (1.0 + exp(-(double)mr[0]));
        *pg = p - y;
        *ph = fmax(p * (1.0 - p), 1e-16);
        break;
    }
    case FS_GBDT_REG_SQUAREDERROR:
        *pg = (double)mr[0] - y;
        *ph = 1.0;
        break;
    default: {
        double p = exp((double)mr[k] - mmax) / sum_exp;
        *pg = p - (y == (double)k ? 1.0 : 0.0);
        *ph = fmax(2.0 * p * (1.0 - p), 1e-16);
        break;
    }
    }
}

/* Loss of one row (the metric's summand), in [0, g->lmax]. */
static double row_loss(const fs_gbdt *g, const float *mr, double y)
{
    const double eps = 1e-16;
    switch (g->o.objective) {
    case FS_GBDT_BINARY_LOGISTIC: {
        double p = 1.0 / (1.0 + exp(-(double)mr[0]));
        p = fmin(fmax(p, eps), 1.0 - eps);
        return y > 0.5 ? -log(p) : -log(1.0 - p);
    }
    case FS_GBDT_REG_SQUAREDERROR: {
        double e = (double)mr[0] - y;
        return fmin(e * e, g->lmax);
    }
    default: {
        double mmax = mr[0], s = 0;
        for (int k = 1; k < g->K; k++) mmax = fmax(mmax, (double)mr[k]);
        for (int k = 0; k < g->K; k++) s += exp((double)mr[k] - mmax);
        double p = exp((double)mr[(int)y] - mmax) / s;
        return -log(fmax(p, eps));
    }
    }
}

static double label_of(const fs_gbdt *g, const fs_gbdt_data *dt, size_t r)
{
    return g->o.objective == FS_GBDT_REG_SQUAREDERROR ? (double)dt->y_reg[r]
                                                        : (double)dt->y_class[r];
}

/* Fixed-point encoding: round to nearest, clipped to +-bound. */
static inline uint64_t encode(double v, double bound, double scale)
{
    v = fmin(fmax(v, -bound), bound);
    return (uint64_t)(int64_t)llround(v * scale);
}

static inline double decode(uint64_t w, double inv) { return (double)(int64_t)w * inv; }

/* Compute gq, hq of every row and class from the current margins. */
static void compute_gradients(fs_gbdt *g)
{
    size_t n = g->n;
    int K = g->K;
    for (size_t r = 0; r < n; r++) {
        const float *mr = g->margin + r * (size_t)K;
        double y = label_of(g, &g->tr, r), mmax = 0, s = 0;
        if (K > 1) {
            mmax = mr[0];
            for (int k = 1; k < K; k++) mmax = fmax(mmax, (double)mr[k]);
            for (int k = 0; k < K; k++) s += exp((double)mr[k] - mmax);
        }
        for (int k = 0; k < K; k++) {
            double gr, hs;
            grad_row(g, mr, y, k, &gr, &hs, s, mmax);
            if (fabs(gr) > g->gbound) g->clipped++;
            uint64_t *p = g->gh + ((size_t)k * n + r) * 2;
            p[0] = encode(gr, g->gbound, g->gscale);
            p[1] = encode(hs, g->hbound, g->gscale); /* in (0, hbound] */
        }
    }
}

// --- Creation and data checks

/* Check one part's labels and features; rank-local.  Messages name the part
 * and column, never a value or a row (they may be shown to every
 * institution); the row goes to the local log. */
static fs_err check_part(const fs_gbdt_opts *o, const fs_gbdt_data *dt, const char *part)
{
    fs_err rc = FS_OK;
    int K = is_multi(o) ? o->num_class : 2;
    if (dt->n && !dt->X)
        FS_FAIL(FS_ERR_ARG, "gbdt: the %s part has rows but no feature matrix", part);
    if (o->objective == FS_GBDT_REG_SQUAREDERROR) {
        if (dt->n && !dt->y_reg)
            FS_FAIL(FS_ERR_DATA, "gbdt: reg:squarederror needs regression targets in the %s part",
                    part);
        for (size_t r = 0; r < dt->n; r++)
            if (!(dt->y_reg[r] >= o->label_lo && dt->y_reg[r] <= o->label_hi)) {
                fs_log(FS_LOG_ERROR, "gbdt: %s row %zu: target outside the label range", part, r);
                FS_FAIL(FS_ERR_DATA, "gbdt: a target of the %s part is outside the public label "
                        "range [%g, %g]", part, o->label_lo, o->label_hi);
            }
    } else {
        if (dt->n && !dt->y_class)
            FS_FAIL(FS_ERR_DATA, "gbdt: %s needs class labels in the %s part",
                    fs_gbdt_objective_name(o->objective), part);
        for (size_t r = 0; r < dt->n; r++)
            if (dt->y_class[r] < 0 || dt->y_class[r] >= K) {
                fs_log(FS_LOG_ERROR, "gbdt: %s row %zu: label outside 0..%d", part, r, K - 1);
                FS_FAIL(FS_ERR_DATA, "gbdt: a label of the %s part is outside 0..%d", part, K - 1);
            }
    }
    for (size_t i = 0; i < dt->n * dt->d; i++)
        if (isinf(dt->X[i])) {
            fs_log(FS_LOG_ERROR, "gbdt: %s row %zu: feature %zu is infinite", part, i / dt->d,
                   i % dt->d);
            FS_FAIL(FS_ERR_DATA, "gbdt: feature %zu of the %s part has an infinite value (use NaN "
                    "for a missing value)", i % dt->d, part);
        }
done:
    return rc;
}

static fs_err set_scales(fs_gbdt *g);
static fs_err prepare_codes(fs_gbdt *g, const uint16_t *fine_code);
static fs_err start_round(fs_gbdt *g);

fs_err fs_gbdt_create(const fs_gbdt_opts *opts, const fs_gbdt_data *train,
                      const fs_gbdt_data *val, uint32_t silo_id, const fs_gbdt_model *start,
                      fs_gbdt **out)
{
    fs_err rc = FS_OK;
    fs_gbdt *g = NULL;
    static const fs_gbdt_data none = { 0, 0, NULL, NULL, NULL };
    *out = NULL;
    FS_TRY(fs_gbdt_opts_check(opts));
    if (!val) val = &none;
    FS_CHECK_ARG(train && train->d >= 1, "gbdt: the training part must have at least one feature");
    FS_CHECK_ARG(train->n < UINT32_MAX, "gbdt: at most %u rows per institution", UINT32_MAX - 1);
    if (val->n && val->d != train->d)
        FS_FAIL(FS_ERR_DATA, "gbdt: the validation part has %zu features, the training part %zu",
                val->d, train->d);
    FS_TRY(check_part(opts, train, "training"));
    FS_TRY(check_part(opts, val, "validation"));
    FS_TRY(fs_zalloc(&g, 1, sizeof *g, "gbdt engine"));
    g->o = *opts;
    g->silo = silo_id;
    g->tr = *train;
    g->va = *val;
    g->d = train->d;
    g->n = train->n;
    g->nv = val->n;
    g->K = fs_gbdt_nout(opts);
    g->train_metric = NAN;
    g->val_metric = NAN;
    size_t K = (size_t)g->K;
    FS_TRY(fs_alloc(&g->margin, g->n * K, sizeof *g->margin, "gbdt margins"));
    FS_TRY(fs_alloc(&g->vmargin, g->nv * K, sizeof *g->vmargin, "gbdt margins"));
    FS_TRY(fs_alloc(&g->gh, g->n * K * 2, sizeof *g->gh, "gbdt gradients"));
    FS_TRY(fs_alloc(&g->rows, g->n, sizeof *g->rows, "gbdt row index"));
    FS_TRY(fs_alloc(&g->tmp, g->n, sizeof *g->tmp, "gbdt row index"));
    FS_TRY(fs_alloc(&g->feats, g->d, sizeof *g->feats, "gbdt features"));
    FS_TRY(fs_alloc(&g->foff, g->d, sizeof *g->foff, "gbdt features"));
    FS_TRY(fs_alloc(&g->fblock, g->d + 1, sizeof *g->fblock, "gbdt features"));
    FS_TRY(fs_alloc(&g->nslots, g->d, sizeof *g->nslots, "gbdt bins"));
    float base = fs_gbdt_base_margin(opts);
    for (size_t i = 0; i < g->n * K; i++) g->margin[i] = base;
    for (size_t i = 0; i < g->nv * K; i++) g->vmargin[i] = base;
    if (start) {
        if (start->d != g->d)
            FS_FAIL(FS_ERR_ARG, "gbdt: the model to continue has %zu features, the data %zu",
                    start->d, g->d);
        if (!same_training(&start->opts, opts))
            FS_FAIL(FS_ERR_ARG, "gbdt: the options differ from those the model was trained with "
                    "(only the number of trees may change when continuing)");
        FS_TRY(fs_gbdt_model_copy(start, &g->m));
        g->m->opts.rounds = opts->rounds;
        FS_TRY(set_scales(g));
        FS_TRY(prepare_codes(g, NULL));
        /* margins of the trees so far: the same float32 sums as in the
         * uninterrupted run (every row gets one addition per tree, in order) */
        fs_gbdt_model_add_margins(g->m, 0, g->m->ntrees, g->tr.X, g->n, g->margin);
        fs_gbdt_model_add_margins(g->m, 0, g->m->ntrees, g->va.X, g->nv, g->vmargin);
        g->round = g->m->rounds_done;
        g->kind = FS_GBDT_STEP_RESUME;
    } else {
        FS_TRY(fs_gbdt_model_new(opts, g->d, &g->m));
        g->kind = FS_GBDT_STEP_COARSE;
    }
    *out = g;
    g = NULL;
done:
    fs_gbdt_destroy(&g);
    return rc;
}

void fs_gbdt_destroy(fs_gbdt **gp)
{
    if (!gp || !*gp) return;
    fs_gbdt *g = *gp;
    fs_gbdt_model_destroy(&g->m);
    fs_gbdt_grid_free(&g->grid);
    free(g->words);
    free(g->nslots);
    free(g->codes8);
    free(g->codes16);
    free(g->cols8);
    free(g->cols16);
    free(g->gh);
    free(g->margin);
    free(g->vmargin);
    free(g->rows);
    free(g->tmp);
    free(g->feats);
    free(g->foff);
    free(g->fblock);
    free(g->cur);
    free(g->next);
    free(g->slab);
    free(g->slot_used);
    free(g->seg);
    free(g);
    *gp = NULL;
}

/* Room for `need` nodes in both level lists (they are swapped). */
fs_err fs_gbdt_level_reserve(fs_gbdt *g, size_t need)
{
    fs_err rc = FS_OK;
    if (need <= g->cap_level && g->cur) return FS_OK;
    size_t nc = g->cap_level ? g->cap_level : 4;
    while (nc < need) nc *= 2;
    lnode *a = realloc(g->cur, nc * sizeof *a);
    if (a) g->cur = a;
    lnode *b = a ? realloc(g->next, nc * sizeof *b) : NULL;
    if (b) g->next = b;
    if (!a || !b) FS_FAIL(FS_ERR_NOMEM, "gbdt: out of memory for a tree level of %zu nodes", nc);
    g->cap_level = nc;
done:
    return rc;
}

/* words of n entries plus the zero canary slot. */
static fs_err words_reserve(fs_gbdt *g, size_t n)
{
    size_t cap = g->cap_words ? g->cap_words + 1 : 0;
    fs_err rc = fs_gbdt_grow(&g->words, &cap, n + 1, sizeof *g->words, "the sum vector");
    if (rc == FS_OK) g->cap_words = cap - 1;
    g->nwords = n;
    return rc;
}

// --- Fixed-point scales from the summed row counts

/* Largest f <= FS_GBDT_MAX_FRAC_BITS with count * ceil(bound 2^f) < 2^62,
 * or the requested f if it satisfies that; -1 when none >= the minimum. */
static int headroom_bits(uint64_t count, double bound, int want)
{
    int f = want ? want : FS_GBDT_MAX_FRAC_BITS;
    for (; f >= FS_GBDT_MIN_FRAC_BITS; f--) {
        long double q = ceill(ldexpl((long double)bound, f));
        if ((long double)count * q < ldexpl(1.0L, 62)) return f;
        if (want) return -1;
    }
    return -1;
}

/* Public bounds of |g| and of h (the clips of compute_gradients): |p - y|
 * <= 1; p (1 - p) <= 1/4; 2 p (1 - p) <= 1/2; the squared error's h is 1. */
static double grad_bound(const fs_gbdt_opts *o)
{
    return o->objective == FS_GBDT_REG_SQUAREDERROR ? o->label_hi - o->label_lo : 1.0;
}

static double hess_bound(const fs_gbdt_opts *o)
{
    if (o->objective == FS_GBDT_BINARY_LOGISTIC) return 0.25;
    return is_multi(o) ? 0.5 : 1.0;
}

static fs_err set_scales(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = g->m;
    g->gbound = grad_bound(&g->o);
    g->hbound = hess_bound(&g->o);
    g->gscale = ldexp(1.0, m->frac_bits);
    g->ginv = ldexp(1.0, -m->frac_bits);
    g->lmax = g->o.objective == FS_GBDT_REG_SQUAREDERROR ? 4.0 * g->gbound * g->gbound
                                                         : LOGLOSS_MAX;
    g->escale = ldexp(1.0, m->eval_frac_bits);
    g->einv = ldexp(1.0, -m->eval_frac_bits);
    return rc;
}

/* The summed row counts n, nv with gradient scale 2^f: the loss sums' scale
 * follows from max(n, nv). */
static fs_err store_counts(fs_gbdt *g, uint64_t n, uint64_t nv, int f)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = g->m;
    int fe = headroom_bits(n > nv ? n : nv, 1.0, 0);
    if (fe < 0) FS_FAIL(FS_ERR_ARG, "gbdt: too many rows for the loss sums");
    m->total_rows = n;
    m->total_val_rows = nv;
    m->frac_bits = f;
    m->eval_frac_bits = fe;
    FS_TRY(set_scales(g));
done:
    return rc;
}

static fs_err apply_counts(fs_gbdt *g, uint64_t n, uint64_t nv)
{
    fs_err rc = FS_OK;
    if (n == 0) FS_FAIL(FS_ERR_DATA, "gbdt: no institution has training rows");
    if (g->o.early_stopping_rounds > 0 && nv == 0)
        FS_FAIL(FS_ERR_ARG, "gbdt: early stopping needs validation rows, and no institution has "
                "any");
    double gb = g->o.objective == FS_GBDT_REG_SQUAREDERROR ? g->o.label_hi - g->o.label_lo : 1.0;
    double bound = fmax(gb, 1.0); /* hessians are at most 1 */
    int f = headroom_bits(n, bound, g->o.frac_bits);
    if (f < 0)
        FS_FAIL(FS_ERR_ARG, "gbdt: no fixed-point headroom: %llu rows x gradient bound %g x 2^%d "
                "must stay below 2^62 (fewer rows, a narrower label range, or a smaller "
                "frac_bits)", (unsigned long long)n, bound,
                g->o.frac_bits ? g->o.frac_bits : FS_GBDT_MIN_FRAC_BITS);
    FS_TRY(store_counts(g, n, nv, f));
done:
    return rc;
}

// --- Binned rows

/* code of value x of feature f: its bin, B_f when missing; *bad = 1 when
 * x is outside [edge_0, edge_B) or missing where no institution had one. */
static uint32_t code_of(const fs_gbdt_model *m, const uint32_t *ekey, size_t f, float x, int *bad)
{
    uint32_t a = m->bin_ptr[f], B = fs_gbdt_nbins(m, f);
    if (isnan(x)) {
        if (!m->has_missing[f]) *bad = 1;
        return B;
    }
    uint32_t k = fs_gbdt_key(x);
    if (B == 0 || k < ekey[a] || k >= ekey[a + B]) {
        *bad = 1;
        return 0;
    }
    /* number of interior edges 1 .. B-1 with key <= k */
    uint32_t lo = 1, hi = B;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ekey[a + mid] <= k) lo = mid + 1;
        else hi = mid;
    }
    return lo - 1;
}

/* Binned rows: by the fine grid's table (fine_code, fresh run) or by binary
 * search of the edges (a resumed run, which has no grid); both give the
 * number of interior edges <= x. */
static fs_err prepare_codes(fs_gbdt *g, const uint16_t *fine_code)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = g->m;
    uint32_t *ekey = NULL;
    size_t n = g->n, d = g->d, ne = m->bin_ptr[d];
    g->wide = 0;
    for (size_t f = 0; f < d; f++) {
        g->nslots[f] = fs_gbdt_nbins(m, f) + m->has_missing[f];
        if (g->nslots[f] > 256) g->wide = 1;
    }
    FS_TRY(fs_alloc(&ekey, ne ? ne : 1, sizeof *ekey, "gbdt edge keys"));
    for (size_t i = 0; i < ne; i++) ekey[i] = fs_gbdt_key(m->edges[i]);
    if (g->wide) {
        FS_TRY(fs_alloc(&g->codes16, n * d, sizeof *g->codes16, "gbdt binned rows"));
        FS_TRY(fs_alloc(&g->cols16, n * d, sizeof *g->cols16, "gbdt binned columns"));
    } else {
        FS_TRY(fs_alloc(&g->codes8, n * d, sizeof *g->codes8, "gbdt binned rows"));
        FS_TRY(fs_alloc(&g->cols8, n * d, sizeof *g->cols8, "gbdt binned columns"));
    }
    int bad = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t f = 0; f < d; f++) {
            float x = g->tr.X[r * d + f];
            uint32_t c, j;
            if (!fine_code || isnan(x)) {
                c = code_of(m, ekey, f, x, &bad);
            } else if ((j = fs_gbdt_grid_fine(&g->grid, f, fs_gbdt_key(x))) != UINT32_MAX) {
                c = fine_code[g->grid.off[f] + j];
            } else {
                c = 0;
                bad = 1;
            }
            if (g->wide) g->codes16[r * d + f] = g->cols16[f * n + r] = (uint16_t)c;
            else g->codes8[r * d + f] = g->cols8[f * n + r] = (uint8_t)c;
        }
    if (bad)
        FS_FAIL(FS_ERR_DATA, "gbdt: the training rows are not those the model's bins were made "
                "from (a value outside the bins, or a missing value in a feature that had none)");
done:
    free(ekey);
    return rc;
}

// --- The step machine

static fs_err start_round(fs_gbdt *g)
{
    compute_gradients(g);
    g->cls = 0;
    return fs_gbdt_start_tree(g);
}

fs_err fs_gbdt_step_local(fs_gbdt *g, fs_gbdt_step *st)
{
    fs_err rc = FS_OK;
    memset(st, 0, sizeof *st);
    if (g->broken) FS_FAIL(FS_ERR_ARG, "gbdt: the engine stopped after an error");
    if (g->start_pending) {
        FS_TRY(start_round(g));
        g->start_pending = 0;
    }
    st->kind = g->kind;
    switch (g->kind) {
    case FS_GBDT_STEP_COARSE: {
        size_t n = 2 + g->d * FS_GBDT_NBINADES;
        FS_TRY(words_reserve(g, n));
        memset(g->words, 0, (n + 1) * sizeof *g->words);
        g->words[0] = g->n;
        g->words[1] = g->nv;
        fs_gbdt_coarse_add(g->tr.X, g->n, g->d, g->words + 2);
        st->vector_id = FS_GBDT_VID_COARSE;
        break;
    }
    case FS_GBDT_STEP_FINE: {
        size_t n = g->grid.off[g->d];
        FS_TRY(words_reserve(g, n));
        memset(g->words, 0, (n + 1) * sizeof *g->words);
        if (fs_gbdt_fine_add(&g->grid, g->tr.X, g->n, g->words))
            FS_FAIL(FS_ERR_DATA, "gbdt: the summed binade counts miss values of this "
                    "institution (corrupted sum?)");
        st->vector_id = FS_GBDT_VID_FINE;
        break;
    }
    case FS_GBDT_STEP_RESUME:
        FS_TRY(words_reserve(g, 2));
        g->words[0] = g->n;
        g->words[1] = g->nv;
        g->words[2] = 0;
        st->vector_id = FS_GBDT_VID_RESUME;
        break;
    case FS_GBDT_STEP_LEVEL: {
        size_t nb = 0;
        for (size_t i = 0; i < g->ncur; i++) nb += g->cur[i].build;
        FS_TRY(words_reserve(g, nb * g->node_words));
        for (size_t i = 0; i < g->ncur; i++)
            if (g->cur[i].build)
                fs_gbdt_build_hist(g, g->cur + i, g->words + (size_t)g->cur[i].widx * g->node_words);
        /* under DP the row counts are not released: only (gq, hq) carry a
         * row (fs_gbdt_level_sensitivity_for) */
        for (size_t i = 0; g->noisy && i < g->nwords; i += 3) g->words[i] = 0;
        g->words[g->nwords] = 0;
        st->round_id = (uint64_t)(g->round * g->K + g->cls);
        st->vector_id = FS_GBDT_VID_LEVEL + (uint32_t)g->level;
        st->tree = g->round * g->K + g->cls;
        st->level = g->level;
        break;
    }
    case FS_GBDT_STEP_EVAL: {
        FS_TRY(words_reserve(g, 2));
        uint64_t s[2] = { 0, 0 };
        const fs_gbdt_data *parts[2] = { &g->tr, &g->va };
        const float *mg[2] = { g->margin, g->vmargin };
        for (int p = 0; p < 2; p++)
            for (size_t r = 0; r < parts[p]->n; r++)
                s[p] += encode(row_loss(g, mg[p] + r * (size_t)g->K, label_of(g, parts[p], r)) /
                               g->lmax, 1.0, g->escale);
        g->words[0] = s[0];
        g->words[1] = s[1];
        g->words[2] = 0;
        st->round_id = (uint64_t)g->round;
        st->vector_id = FS_GBDT_VID_EVAL;
        break;
    }
    case FS_GBDT_STEP_DONE:
        g->nwords = 0;
        break;
    }
    st->words = g->words;
    st->n = g->nwords;
    g->prepared = 1;
done:
    return rc;
}

/* After the evaluation sum of a round: metrics, early stopping, next round. */
static fs_err apply_eval(fs_gbdt *g)
{
    fs_gbdt_model *m = g->m;
    int rmse = g->o.objective == FS_GBDT_REG_SQUAREDERROR;
    /* total_rows 0: a DP run whose row counts are not released; its loss
     * sums were not summed either (the metrics stay NaN) */
    double tr = m->total_rows ? decode(g->words[0], g->einv) * g->lmax / (double)m->total_rows
                              : NAN;
    g->train_metric = rmse ? sqrt(tr) : tr;
    if (m->total_val_rows) {
        double va = decode(g->words[1], g->einv) * g->lmax / (double)m->total_val_rows;
        g->val_metric = rmse ? sqrt(va) : va;
        if (m->best_round < 0 || g->val_metric < m->best_score) {
            m->best_score = g->val_metric;
            m->best_round = g->round;
        }
    }
    m->rounds_done = g->round + 1;
    if (g->o.early_stopping_rounds > 0 &&
        g->round - m->best_round >= g->o.early_stopping_rounds) {
        m->stopped = 1;
        m->rounds_done = m->best_round + 1;
        fs_gbdt_model_truncate(m, m->rounds_done * g->K);
        g->kind = FS_GBDT_STEP_DONE;
        return FS_OK;
    }
    if (m->rounds_done >= g->o.rounds) {
        g->kind = FS_GBDT_STEP_DONE;
        return FS_OK;
    }
    g->round++;
    g->kind = FS_GBDT_STEP_LEVEL;
    g->start_pending = 1;
    return FS_OK;
}

/* After the fine sum: bin edges, then this institution's binned rows. */
static fs_err apply_fine(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    uint16_t *fine_code = NULL;
    FS_TRY(fs_gbdt_edges_build(&g->grid, g->words, g->o.max_bins, g->m));
    FS_TRY(fs_gbdt_grid_codes(&g->grid, g->m, &fine_code));
    FS_TRY(prepare_codes(g, fine_code));
    fs_gbdt_grid_free(&g->grid);
done:
    free(fine_code);
    return rc;
}

fs_err fs_gbdt_step_apply(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    if (g->broken) FS_FAIL(FS_ERR_ARG, "gbdt: the engine stopped after an error");
    if (!g->prepared && g->kind != FS_GBDT_STEP_DONE)
        FS_FAIL(FS_ERR_ARG, "gbdt: step_apply without a preceding step_local");
    g->prepared = 0;
    switch (g->kind) {
    case FS_GBDT_STEP_COARSE:
        FS_TRY(apply_counts(g, g->words[0], g->words[1]));
        for (size_t f = 0; f < g->d; f++) {
            uint64_t s = 0;
            for (int b = 0; b < FS_GBDT_NBINADES; b++) s += g->words[2 + f * FS_GBDT_NBINADES + b];
            if (s > g->m->total_rows)
                FS_FAIL(FS_ERR_DATA, "gbdt: the summed binade counts of feature %zu exceed the "
                        "row count (corrupted sum?)", f);
        }
        FS_TRY(fs_gbdt_grid_build(&g->grid, g->d, g->words + 2, g->o.fine_bins));
        g->kind = FS_GBDT_STEP_FINE;
        break;
    case FS_GBDT_STEP_FINE:
        FS_TRY(apply_fine(g));
        g->kind = FS_GBDT_STEP_LEVEL;
        g->round = 0;
        FS_TRY(start_round(g));
        break;
    case FS_GBDT_STEP_RESUME:
        if ((g->m->total_rows || !g->noisy) &&
            (g->words[0] != g->m->total_rows || g->words[1] != g->m->total_val_rows))
            FS_FAIL(FS_ERR_DATA, "gbdt: the institutions now hold a different number of rows "
                    "than when the model was saved; cannot continue it");
        if (g->m->stopped || g->m->rounds_done >= g->o.rounds) {
            g->kind = FS_GBDT_STEP_DONE;
            break;
        }
        g->kind = FS_GBDT_STEP_LEVEL;
        FS_TRY(start_round(g));
        break;
    case FS_GBDT_STEP_LEVEL:
        FS_TRY(fs_gbdt_apply_level(g));
        if (g->ncur) break;
        fs_gbdt_finish_tree(g);
        if (++g->cls < g->K) {
            FS_TRY(fs_gbdt_start_tree(g));
            break;
        }
        g->kind = FS_GBDT_STEP_EVAL;
        break;
    case FS_GBDT_STEP_EVAL:
        FS_TRY(apply_eval(g));
        break;
    case FS_GBDT_STEP_DONE:
        break;
    }
done:
    if (rc != FS_OK) g->broken = 1;
    return rc;
}

fs_err fs_gbdt_train_local(fs_gbdt *g, fs_gbdt_sum_fn sum, void *ctx)
{
    fs_err rc = FS_OK;
    for (;;) {
        fs_gbdt_step st;
        FS_TRY(fs_gbdt_step_local(g, &st));
        if (st.kind == FS_GBDT_STEP_DONE) break;
        if (sum) FS_TRY(sum(ctx, st.round_id, st.vector_id, st.words, st.n));
        FS_TRY(fs_gbdt_step_apply(g));
    }
done:
    return rc;
}

void fs_gbdt_get_status(const fs_gbdt *g, fs_gbdt_status *st)
{
    const fs_gbdt_model *m = g->m;
    memset(st, 0, sizeof *st);
    st->rounds_done = m->rounds_done;
    st->num_trees = m->ntrees;
    st->train_metric = g->train_metric;
    st->val_metric = g->val_metric;
    st->best_round = m->best_round;
    st->best_val_metric = m->best_score;
    st->stopped_early = m->stopped;
    st->total_rows = m->total_rows;
    st->total_val_rows = m->total_val_rows;
    st->frac_bits = m->frac_bits;
    st->clipped = g->clipped;
    st->metric_name = metric_name(&g->o);
}

const fs_gbdt_model *fs_gbdt_get_model(const fs_gbdt *g) { return g->m; }

// --- Differential privacy of the level sums

void fs_gbdt_set_noisy(fs_gbdt *g) { g->noisy = 1; }

uint32_t fs_gbdt_sampled_features(const fs_gbdt_opts *o, size_t d)
{
    if (!(o->colsample_bytree < 1.0)) return (uint32_t)d;
    uint32_t k = (uint32_t)(o->colsample_bytree * (double)d);
    return k < 1 ? 1 : k;
}

/*
 * Sensitivity of one level vector to one training row (add/remove).  In a
 * tree, the rows of the sample are partitioned among the nodes of every
 * level, so a row lies in exactly one node of the level; the vector holds
 * the histograms of the built nodes only (a derived sibling is computed
 * after the sum, from released vectors), so the row appears in at most one
 * node's histogram, and in it in the totals slot and in exactly one slot of
 * each of the F sampled features (its bin, or the missing slot).  Each of
 * those 1 + F slots receives (1, gq, hq); under DP the count words are
 * zeroed before the noise (fs_gbdt_set_noisy: the engine then decides on
 * hessian sums only), so only (gq, hq) remain, with gq = round(clip(g, +-gb) 2^f)
 * and hq = round(clip(h, 0, hb) 2^f): rounding to nearest a value of
 * magnitude at most gb 2^f gives an integer of magnitude at most
 * round(gb 2^f) = Gq, likewise Hq, so no rounding term is needed.  The row
 * changes the vector by (gq, hq) in 1 + F slots and by nothing elsewhere:
 *
 *     S^2 = (1 + F) (Gq^2 + Hq^2) >= ||delta||^2,
 *
 * with equality for a row with |g| = gb and h = hb (reachable with the
 * squared error; the logistic losses never reach both bounds at once).  The
 * bound needs the other rows' contributions not to depend on the row: true
 * of their gradients (functions of the public model and their own labels)
 * and of their nodes (public splits), not of row sampling (subsample < 1:
 * one stream drawn in row order, so a row more or less shifts the others'
 * draws), which the DP driver refuses.  K-class objectives grow K
 * trees per round from the same row: K vectors per level, each with this
 * sensitivity, composed by the accountant.
 */
double fs_gbdt_level_sensitivity_for(const fs_gbdt_opts *o, uint32_t nfeat, int frac_bits)
{
    double gq = (double)llround(ldexp(grad_bound(o), frac_bits));
    double hq = (double)llround(ldexp(hess_bound(o), frac_bits));
    return sqrt((1.0 + (double)nfeat) * (gq * gq + hq * hq));
}

double fs_gbdt_level_sensitivity(const fs_gbdt *g)
{
    return fs_gbdt_level_sensitivity_for(&g->o, g->nfeat, g->m->frac_bits);
}

fs_err fs_gbdt_set_public_bins(fs_gbdt *g, const double *lo, const double *hi,
                               const uint32_t *nbins, const uint8_t *has_missing, int frac_bits)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = g->m;
    size_t d = g->d, ne = 0;
    FS_CHECK_ARG(g->kind == FS_GBDT_STEP_COARSE && !g->prepared && !g->broken,
                 "gbdt: public bins are set on a fresh engine, before its first step");
    FS_CHECK_ARG(frac_bits >= FS_GBDT_MIN_FRAC_BITS && frac_bits <= FS_GBDT_MAX_FRAC_BITS,
                 "gbdt: %d fractional bits is outside %d..%d", frac_bits, FS_GBDT_MIN_FRAC_BITS,
                 FS_GBDT_MAX_FRAC_BITS);
    for (size_t f = 0; f < d; f++) {
        FS_CHECK_ARG(nbins[f] >= 1 && nbins[f] <= FS_GBDT_MAX_BINS && isfinite(lo[f]) &&
                     isfinite(hi[f]) && lo[f] < hi[f],
                     "gbdt: feature %zu needs a finite public range lo < hi and 1..%d bins", f,
                     FS_GBDT_MAX_BINS);
        ne += (size_t)nbins[f] + 1;
    }
    float *edges = realloc(m->edges, (ne ? ne : 1) * sizeof *edges);
    if (!edges) FS_FAIL(FS_ERR_NOMEM, "gbdt: out of memory for the bin edges");
    m->edges = edges;
    uint32_t k = 0;
    for (size_t f = 0; f < d; f++) {
        const uint32_t B = nbins[f];
        m->bin_ptr[f] = k;
        edges[k] = -INFINITY;
        for (uint32_t b = 1; b < B; b++) {
            edges[k + b] = (float)(lo[f] + (hi[f] - lo[f]) * (double)b / (double)B);
            if (!(fs_gbdt_key(edges[k + b - 1]) < fs_gbdt_key(edges[k + b])))
                FS_FAIL(FS_ERR_ARG, "gbdt: the public range of feature %zu is too narrow for "
                        "%u distinct float32 bin edges", f, B);
        }
        edges[k + B] = INFINITY;
        m->has_missing[f] = has_missing[f] ? 1 : 0;
        k += B + 1;
    }
    m->bin_ptr[d] = k;
    m->total_rows = 0;
    m->total_val_rows = 0;
    m->frac_bits = frac_bits;
    m->eval_frac_bits = 0;
    FS_TRY(set_scales(g));
    FS_TRY(prepare_codes(g, NULL));
    g->noisy = 1;
    g->kind = FS_GBDT_STEP_LEVEL;
    g->round = 0;
    FS_TRY(start_round(g));
done:
    if (rc != FS_OK) g->broken = 1;
    return rc;
}

fs_err fs_gbdt_set_counts(fs_gbdt *g, uint64_t n, uint64_t nv)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = g->m;
    const double bound = fmax(g->gbound, 1.0);
    FS_CHECK_ARG(n > 0, "gbdt: no institution has training rows");
    FS_CHECK_ARG(headroom_bits(n, bound, m->frac_bits) == m->frac_bits,
                 "gbdt: no fixed-point headroom: %llu rows x gradient bound %g x 2^%d must stay "
                 "below 2^62", (unsigned long long)n, bound, m->frac_bits);
    FS_TRY(store_counts(g, n, nv, m->frac_bits));
done:
    return rc;
}

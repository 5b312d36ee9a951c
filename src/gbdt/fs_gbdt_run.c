/*
 * fs_gbdt_run.c - `fedsilo train --model gbdt`: the GBDT engine's step
 * sequence over the federation core.  Rank k holds n_k training rows.
 *
 *   open      configuration, shard (missing cells as NaN), pre-flight items
 *   options   objective from --objective and the shards' task; for
 *             reg:squarederror the public label range (--label-range or
 *             the schema's) and base score LO + base_score (HI - LO)
 *   engine    fs_gbdt_create on this rank's rows (or continuing the model
 *             of OUT/checkpoint.h5)                           rank-local, agreed
 *   connect   the sum session, 64-bit ring                    collective
 *   steps     W_k = fs_gbdt_step_local                        rank-local
 *             W   = sum_k W_k mod 2^64 (fs_fed_sum_words)     collective
 *             fs_gbdt_step_apply(W)                           identical on all ranks
 *   round end (after each round's EVAL step) the validation and test
 *             metric sums, model-hash check and stop flag, metrics line,
 *             checkpoint (rank 0, durable)
 *
 * Every rank takes every step, also a rank without rows: the step kinds,
 * vector ids and lengths depend only on the sums, so they agree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_impl.h"
#include "fs_json_impl.h"
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_gbdt_fed.h"
#include "fedsilo/fs_schema.h"
#include "gbdt/fs_gbdt_impl.h"

/* Everything one rank holds during a run; freed by run_free. */
typedef struct {
    fs_opts o;
    const fs_config *cfg;
    fs_fed *fed;
    int rank, size;
    fs_dataset *train, *val;  /* this rank's parts (borrowed from fed)      */
    fs_dataset *test;         /* this rank's slice of --test, or NULL       */
    fs_task task;             /* of the shards (regression: reg:squarederror) */
    int K;                    /* classes; 0 for regression                  */
    fs_gbdt_opts go;
    fs_gbdt *g;
    char ckpt_path[4300];
    int last_ckpt;            /* round held by the checkpoint on disk       */
    /* Differential privacy of the level sums (--ddp yes; "DP" block below) */
    int dp;                   /* every level sum carries distributed noise  */
    int release_public;       /* the exact row counts, loss sums and
                                 validation metrics are released (no DP, or
                                 --dp-public-metrics yes)                   */
    int honest;               /* H: the shares of any H institutions carry
                                 the target noise                           */
    int frac_bits;            /* fixed point of the gradients under DP      */
    double sens;              /* L2 sensitivity S of a level vector (ring)  */
    double z_eff;             /* noise multiplier of any H shares (exact)   */
    fs_dgauss *noise;         /* this institution's secret noise stream     */
    const char *dump;         /* FEDSILO_GBDT_DP_DUMP (testing), or NULL    */
} gb_run;

static void run_free(gb_run *st)
{
    fs_gbdt_destroy(&st->g);
    fs_dgauss_destroy(&st->noise);
    fs_dataset_destroy(&st->test);
    fs_fed_close(&st->fed);
}

/*
 * Rank-local: the public label range of a regression run: --label-range,
 * else the range = LO:HI of the label column in the shards' schema (agreed
 * by the SCHEMA pre-flight item), so it is the same on every rank.
 */
static fs_err label_range(const gb_run *st, double *lo, double *hi)
{
    fs_err rc = FS_OK;
    fs_schema *sc = NULL;
    const char *text = st->train->schema;
    if (st->o.gbdt.label_range[0]) return fs_opts_label_range(st->o.gbdt.label_range, lo, hi);
    if (text) FS_TRY(fs_schema_parse(text, strlen(text), "the shards' schema", &sc));
    const long lc = sc ? fs_schema_label_column(sc) : -1;
    const fs_schema_column *col = lc >= 0 ? fs_schema_column_at(sc, (size_t)lc) : NULL;
    if (!col || !col->has_lo || !col->has_hi)
        FS_FAIL(FS_ERR_ARG, "--objective reg:squarederror needs a public range of the target "
                "(it bounds the gradients): give --label-range LO:HI, or import the shards with "
                "a schema whose label column declares range = LO:HI");
    *lo = col->lo;
    *hi = col->hi;
    if (!(*lo < *hi) || !(*hi - *lo < 1e15))
        FS_FAIL(FS_ERR_ARG, "the schema's label range [%g, %g] needs LO < HI and HI - LO below "
                "1e15 for --objective reg:squarederror", *lo, *hi);
done:
    fs_schema_destroy(&sc);
    return rc;
}

/*
 * Rank-local: the objective from --objective and the shards' task, and for
 * reg:squarederror the label range and the initial prediction LO +
 * base_score (HI - LO): a public constant, so no statistic of the targets
 * (such as their mean) is released for it.
 */
static fs_err engine_objective(gb_run *st)
{
    fs_err rc = FS_OK;
    const fs_gbdt_cli_opts *c = &st->o.gbdt;
    fs_gbdt_opts *g = &st->go;
    const int reg = st->task == FS_TASK_REGRESSION;
    if (!strcmp(c->objective, "auto"))
        g->objective = reg ? FS_GBDT_REG_SQUAREDERROR : st->K > 2 ? FS_GBDT_MULTI_SOFTPROB
                                                                  : FS_GBDT_BINARY_LOGISTIC;
    else
        FS_TRY(fs_gbdt_objective_parse(c->objective, &g->objective));
    if (reg != (g->objective == FS_GBDT_REG_SQUAREDERROR))
        FS_FAIL(FS_ERR_ARG, "--objective %s needs %s target; the shards hold a %s target",
                c->objective, reg ? "a class" : "a regression", reg ? "regression" : "class");
    if (g->objective == FS_GBDT_BINARY_LOGISTIC && st->K != 2)
        FS_FAIL(FS_ERR_ARG, "--objective binary:logistic needs 2 classes; the shards have %d "
                "(use multi:softprob)", st->K);
    g->num_class = st->K;
    g->base_score = c->base_score;
    if (reg) {
        FS_TRY(label_range(st, &g->label_lo, &g->label_hi));
        g->base_score = g->label_lo + c->base_score * (g->label_hi - g->label_lo);
    }
done:
    return rc;
}

/* Rank-local: the engine options from [gbdt] (identical on every rank:
 * the configuration hash was agreed). */
static fs_err engine_opts(gb_run *st)
{
    fs_err rc = FS_OK;
    const fs_gbdt_cli_opts *c = &st->o.gbdt;
    fs_gbdt_opts *g = &st->go;
    st->task = st->train->task;
    st->K = st->task == FS_TASK_REGRESSION ? 0 : st->train->num_classes;
    fs_gbdt_opts_default(g);
    FS_TRY(engine_objective(st));
    g->rounds = c->trees;
    g->max_depth = c->max_depth;
    g->eta = c->eta;
    g->lambda = c->lambda;
    g->gamma = c->gamma;
    g->min_child_weight = c->min_child_weight;
    g->subsample = c->subsample;
    g->colsample_bytree = c->colsample;
    g->max_bins = c->max_bins;
    if (g->fine_bins < g->max_bins) g->fine_bins = g->max_bins;
    g->early_stopping_rounds = c->early_stopping_rounds;
    g->seed = st->o.fed.seed;
    FS_TRY(fs_gbdt_opts_check(g));
done:
    return rc;
}

/* Rank-local: rows [n r / N, n (r+1) / N) of the --test file. */
static fs_err load_test_slice(gb_run *st)
{
    fs_err rc = FS_OK;
    fs_dataset *test = NULL;
    size_t *rows = NULL;
    const char *path = st->o.fl.test;
    FS_TRY(fs_dataset_read_ex(path, FS_PART_TRAIN, FS_READ_ALLOW_MISSING, &test));
    if (test->d != st->train->d || test->task != st->train->task ||
        test->num_classes > st->K)
        FS_FAIL(FS_ERR_DATA, "test file %s does not match the shards: %zu features, %d classes "
                "(shards: %zu features, %d classes)", path, test->d, test->num_classes,
                st->train->d, st->K);
    if (st->train->schema_hash && test->schema_hash &&
        strcmp(st->train->schema_hash, test->schema_hash) != 0)
        FS_FAIL(FS_ERR_DATA, "test file %s was imported with another schema than the shards",
                path);
    const size_t lo = test->n * (size_t)st->rank / (size_t)st->size;
    const size_t hi = test->n * (size_t)(st->rank + 1) / (size_t)st->size;
    if (hi > lo) {
        FS_TRY(fs_alloc(&rows, hi - lo, sizeof *rows, "test rows"));
        for (size_t i = lo; i < hi; i++) rows[i - lo] = i;
        FS_TRY(fs_dataset_subset(test, rows, hi - lo, 0, test->d, &st->test));
        st->test->num_classes = st->K;
    }
done:
    free(rows);
    fs_dataset_destroy(&test);
    return rc;
}

/* Rank-local: does checkpoint ck fit this run? */
static fs_err check_fits(const gb_run *st, const fs_checkpoint *ck)
{
    const char *path = st->ckpt_path;
    if (strcmp(ck->model, "gbdt") != 0)
        return fs_error_set(FS_ERR_DATA, "%s holds a %s model, this run trains --model gbdt",
                            path, ck->model);
    if (ck->d != st->train->d || ck->num_classes != st->K)
        return fs_error_set(FS_ERR_DATA, "%s was written for %zu features and %d classes; this "
                            "run has %zu and %d", path, ck->d, ck->num_classes, st->train->d,
                            st->K);
    if (ck->nsilos != st->size)
        return fs_error_set(FS_ERR_DATA, "%s was written by %d institutions, this run has %d",
                            path, ck->nsilos, st->size);
    if (ck->seed != st->o.fed.seed)
        return fs_error_set(FS_ERR_DATA, "%s was written with --seed %llu, this run has %llu",
                            path, (unsigned long long)ck->seed,
                            (unsigned long long)st->o.fed.seed);
    return FS_OK;
}

/*
 * Rank-local: the model to continue (--resume), or *start = NULL; *round =
 * its completed rounds.  Every rank reads the checkpoint (shared file
 * system) and checks it against the run.
 */
static fs_err read_start(gb_run *st, fs_gbdt_model **start, int *round)
{
    fs_err rc = FS_OK;
    fs_checkpoint *ck = NULL;
    const fs_resume_mode mode = st->o.fed.resume;
    *start = NULL;
    *round = 0;
    if (mode == FS_RESUME_NO) return FS_OK;
    if (access(st->ckpt_path, F_OK) != 0) {
        if (mode == FS_RESUME_AUTO) return FS_OK;
        return fs_error_set(FS_ERR_IO, "--resume yes but %s does not exist: %s", st->ckpt_path,
                            strerror(errno));
    }
    FS_TRY(fs_checkpoint_read(st->ckpt_path, &ck));
    FS_TRY(check_fits(st, ck));
    FS_TRY(fs_gbdt_checkpoint_model(ck, st->ckpt_path, start));
    *round = ck->round;
done:
    fs_checkpoint_free(&ck);
    return rc;
}

/* Rank-local: this rank's engine (continuing *start when given). */
static fs_err create_engine(gb_run *st, const fs_gbdt_model *start, int start_round)
{
    fs_err rc = FS_OK;
    const fs_dataset *t = st->train, *v = st->val;
    fs_gbdt_data tr = { t->n, t->d, t->X, t->y_class, t->y_reg };
    fs_gbdt_data va = { v ? v->n : 0, t->d, v ? v->X : NULL, v ? v->y_class : NULL,
                        v ? v->y_reg : NULL };
    rc = fs_gbdt_create(&st->go, &tr, v ? &va : NULL, (uint32_t)st->rank, start, &st->g);
    if (rc == FS_OK && start) {
        fs_gbdt_status gs;
        fs_gbdt_get_status(st->g, &gs);
        if (gs.rounds_done != start_round)
            rc = fs_error_set(FS_ERR_DATA, "%s: the checkpoint's round %d differs from its "
                              "model's %d rounds", st->ckpt_path, start_round, gs.rounds_done);
    }
    if (rc != FS_OK) fs_error_prefix(rc, "%s: ", start ? st->ckpt_path : fs_fed_shard_path(st->fed));
    return rc;
}

// ---------------------------------------------------------------- differential privacy

/*
 * DP of the level sums (--ddp yes with --model gbdt): record-level
 * (epsilon, delta)-DP, neighbouring data sets differing by one training
 * row of one institution, against the other institutions and anyone who
 * sees the sums.
 *
 * Bin edges come from public information only: feature f gets --max-bins
 * equal-width bins over the schema's range of its column (one-hot and
 * missing-indicator features 2 bins over [0, 1]; outer edges -Inf, +Inf),
 * and its missing slot exists when the schema says it may be missing.  The
 * two bin-edge sums (COARSE, FINE) are not made.  A feature without a
 * public range is refused.
 *
 * Every level vector W_k gets this institution's discrete Gaussian share
 * of variance v = (z S)^2 / H, S = fs_gbdt_level_sensitivity (one row moves
 * the vector by at most S in L2, in ring units), H = --ddp-min-honest (0:
 * N - 1).  Any H shares have variance H v = (z S)^2, so what a coalition of
 * the other N - H institutions (which know their own shares) sees still
 * carries noise z S: one Gaussian mechanism of multiplier z per level
 * vector (the sum of discrete Gaussians is close to, not exactly, a
 * discrete Gaussian: Kairouz et al. 2021, as for train --ddp).  The
 * variance is sampled as the exact rational num / 2^k; the multiplier
 * charged is z_eff = sqrt(H num / 2^k) / S.  The ledger's DDP accountant
 * charges each boosting round as K * max_depth such mechanisms (K trees per
 * round, at most max_depth level sums per tree; a tree that stops early is
 * over-charged), before the round's first level sum is sent.
 *
 * Fixed point: f is the largest f <= 20 whose v the sampler takes; the
 * precision 2^-20 is far below the noise (z sqrt(1 + F) in gradient
 * units).  Headroom without a summed row count: every institution checks
 * n_k N 2^f max(gb, 1) < 2^60, so the noiseless sums stay below 2^60 and
 * the noise (standard deviation sqrt(N v) <= 2^31 sqrt(N)) cannot reach
 * the wrap at 2^63 but with negligible probability.
 */
#define DP_MAX_FRAC_BITS 20

/* Rank-local: the public bins of every feature, from the shard's schema. */
static fs_err dp_public_bins(gb_run *st)
{
    fs_err rc = FS_OK;
    fs_schema *sc = NULL;
    const fs_dataset *t = st->train;
    const size_t d = t->d;
    double *lo = NULL, *hi = NULL;
    uint32_t *nb = NULL;
    uint8_t *miss = NULL;
    const char *path = fs_fed_shard_path(st->fed);
    if (!t->schema)
        FS_FAIL(FS_ERR_ARG, "--ddp yes with --model gbdt takes the bin edges from public ranges, "
                "and this shard was not imported with a schema (fedsilo import csv --schema, "
                "with range = LO:HI for every numeric column)");
    FS_TRY(fs_schema_parse(t->schema, strlen(t->schema), path, &sc));
    if (fs_schema_num_features(sc) != d)
        FS_FAIL(FS_ERR_DATA, "its schema has %zu features, the shard %zu",
                fs_schema_num_features(sc), d);
    FS_TRY(fs_alloc(&lo, d, sizeof *lo, "public bins"));
    FS_TRY(fs_alloc(&hi, d, sizeof *hi, "public bins"));
    FS_TRY(fs_alloc(&nb, d, sizeof *nb, "public bins"));
    FS_TRY(fs_alloc(&miss, d, sizeof *miss, "public bins"));
    for (size_t j = 0; j < d; j++) {
        const fs_schema_feature *ft = fs_schema_feature_at(sc, j);
        const fs_schema_column *col = fs_schema_column_at(sc, ft->column);
        miss[j] = (uint8_t)fs_schema_feature_may_be_missing(sc, j);
        if (ft->kind != FS_FEATURE_NUMERIC) {   /* one-hot or indicator: 0 or 1 */
            lo[j] = 0;
            hi[j] = 1;
            nb[j] = 2;
            continue;
        }
        if (!col->has_lo || !col->has_hi)
            FS_FAIL(FS_ERR_ARG, "--ddp yes with --model gbdt: feature '%s' has no public range "
                    "(give its [column %s] in the schema a closed range = LO:HI; the equal-width "
                    "bins under DP are cut from it)", ft->name, col->name);
        lo[j] = col->lo;
        hi[j] = col->hi;
        nb[j] = (uint32_t)st->go.max_bins;
    }
    FS_TRY(fs_gbdt_set_public_bins(st->g, lo, hi, nb, miss, st->frac_bits));
done:
    if (rc != FS_OK) fs_error_prefix(rc, "%s: ", path);
    fs_schema_destroy(&sc);
    free(lo);
    free(hi);
    free(nb);
    free(miss);
    return rc;
}

/* A model whose bins came from public ranges (outer edges +-Inf), i.e. one
 * trained under --ddp yes. */
static int model_has_public_bins(const fs_gbdt_model *m)
{
    for (size_t f = 0; f < m->d; f++)
        if (m->bin_ptr[f + 1] == m->bin_ptr[f] || !isinf(m->edges[m->bin_ptr[f]])) return 0;
    return m->d > 0;
}

/*
 * Rank-local, identical on every rank (public parameters only): the fixed
 * point, the sensitivity, the sampler of this institution's noise shares
 * and the ledger's accountant.  f_model: the fixed point of a resumed
 * model, or 0 (choose it).
 */
static fs_err dp_setup(gb_run *st, int f_model)
{
    fs_err rc = FS_OK;
    const fs_dp_opts *dp = &st->o.dp;
    const uint32_t F = fs_gbdt_sampled_features(&st->go, st->train->d);
    const int H = dp->ddp_min_honest > 0 ? dp->ddp_min_honest : st->size > 1 ? st->size - 1 : 1;
    uint64_t num = 0;
    int k = 0, f = f_model ? f_model : DP_MAX_FRAC_BITS;
    uint8_t seed[FS_SHA256_BYTES];
    if (H > st->size)
        FS_FAIL(FS_ERR_ARG, "--ddp-min-honest %d exceeds the %d institutions", H, st->size);
    for (; f >= FS_GBDT_MIN_FRAC_BITS; f--) {
        st->sens = fs_gbdt_level_sensitivity_for(&st->go, F, f);
        if (fs_dgauss_variance_rational(pow(dp->ddp_noise * st->sens, 2.0) / H, &num, &k)) break;
        if (f_model) f = 0;
    }
    if (f < FS_GBDT_MIN_FRAC_BITS)
        FS_FAIL(FS_ERR_ARG, "--ddp-noise %g times the sensitivity of a level sum (%u sampled "
                "features) is too large for the noise sampler; lower --ddp-noise or sample "
                "fewer features (--colsample)", dp->ddp_noise, F);
    const double gb = st->go.objective == FS_GBDT_REG_SQUAREDERROR
                          ? st->go.label_hi - st->go.label_lo : 1.0;
    if ((double)st->train->n * st->size * ldexp(fmax(gb, 1.0), f) >= 0x1p60)
        FS_FAIL(FS_ERR_ARG, "too many rows for the fixed point of the DP level sums (%d "
                "institutions x this one's rows x 2^%d must stay below 2^60)", st->size, f);
    st->frac_bits = f;
    st->honest = H;
    st->z_eff = sqrt(ldexp((double)num, -k) * H) / st->sens;
    if (dp->dp_seed != 0) {   /* testing only: refused with a roster */
        char lbl[96];
        int len = snprintf(lbl, sizeof lbl, "fedsilo gbdt ddp noise %ld rank %d",
                           (long)dp->dp_seed, fs_fed_member(st->fed, st->rank));
        FS_TRY(fs_sha256(lbl, (size_t)len, seed));
    }
    FS_TRY(fs_dgauss_create(num, (uint64_t)1 << k, dp->dp_seed != 0 ? seed : NULL, &st->noise));
    FS_TRY(fs_ledger_enable(fs_fed_ledger(st->fed), FS_LEDGER_DDP, st->z_eff, 1.0,
                            (long)fs_gbdt_nout(&st->go) * st->go.max_depth));
done:
    fs_secure_zero(seed, sizeof seed);
    return rc;
}

/* Rank-local: DP options that do not fit --model gbdt. */
static fs_err dp_check_opts(const gb_run *st)
{
    if (fs_config_is_set(st->cfg, "ddp_clip") || fs_config_is_set(st->cfg, "ddp_max_wrap"))
        return fs_error_set(FS_ERR_ARG, "--ddp-clip and --ddp-max-wrap do not apply to --model "
                            "gbdt: a row's contribution is bounded by the gradient and hessian "
                            "bounds of the objective, and the fixed point leaves the wrap no room");
    if (st->go.subsample < 1.0)
        return fs_error_set(FS_ERR_ARG, "--subsample with --ddp yes: the row sample is drawn in "
                            "row order from one stream per institution, so one row more or less "
                            "changes which of the other rows are sampled, and the sensitivity "
                            "bound of the level sums would not hold; leave --subsample 1 "
                            "(--colsample is fine)");
    if (st->go.early_stopping_rounds > 0 && !st->o.dp.public_metrics)
        return fs_error_set(FS_ERR_ARG, "--early-stopping-rounds with --ddp yes stops on exact "
                            "validation losses, which DP does not cover: add --dp-public-metrics "
                            "yes to release them as public");
    return FS_OK;
}

/* Rank-local: a checkpoint resumes under the DP settings it was trained
 * with: its bins (public ranges, or quantiles of the data) and whether its
 * row counts were released (--dp-public-metrics yes: the model holds them). */
static fs_err dp_check_resume(const gb_run *st, const fs_gbdt_model *from)
{
    const int dp = model_has_public_bins(from);
    if (dp != st->dp)
        return fs_error_set(FS_ERR_ARG, "%s was trained %s --ddp yes; resume it %s --ddp yes",
                            st->ckpt_path, dp ? "with" : "without", dp ? "with" : "without");
    if (dp && (from->total_rows != 0) != (st->o.dp.public_metrics != 0))
        return fs_error_set(FS_ERR_ARG, "%s was trained with --dp-public-metrics %s; resume it "
                            "with the same", st->ckpt_path, from->total_rows ? "yes" : "no");
    return FS_OK;
}

/* Testing hook (FEDSILO_GBDT_DP_DUMP=DIR): the words of level 0 of every
 * tree, as little-endian uint64, to DIR/<what>-<rank>-<tree>.u64: "exact"
 * is this institution's own vector before its noise, "sum" the noisy sum
 * (rank 0).  Written only under --ddp yes. */
static fs_err dp_dump(const gb_run *st, const fs_gbdt_step *s, const char *what)
{
    char path[4400];
    if (!st->dump || s->kind != FS_GBDT_STEP_LEVEL || s->level != 0) return FS_OK;
    snprintf(path, sizeof path, "%s/%s-%d-%d.u64", st->dump, what, st->rank, s->tree);
    FILE *fp = fopen(path, "wb");
    size_t nw = fp ? fwrite(s->words, sizeof *s->words, s->n, fp) : 0;
    if (!fp || nw != s->n || fclose(fp) != 0)
        return fs_error_set(FS_ERR_IO, "FEDSILO_GBDT_DP_DUMP: cannot write %s", path);
    return FS_OK;
}

/*
 * Rank-local, before the sum of a level vector: charge the round (at its
 * first level: the journal is written before anything of the round is
 * sent) and add this institution's noise share to the words, mod 2^64.
 */
static fs_err dp_noise_level(gb_run *st, fs_gbdt_step *s)
{
    fs_err rc = FS_OK;
    int64_t *z = NULL;
    if (fabs(fs_gbdt_level_sensitivity(st->g) - st->sens) > 0)
        FS_FAIL(FS_ERR_ARG, "gbdt: the sensitivity of tree %d level %d differs from the one "
                "calibrated", s->tree, s->level);
    if (s->level == 0 && s->tree % fs_gbdt_nout(&st->go) == 0)
        FS_TRY(fs_ledger_charge_round(fs_fed_ledger(st->fed)));
    FS_TRY(dp_dump(st, s, "exact"));
    FS_TRY(fs_alloc(&z, s->n ? s->n : 1, sizeof *z, "DP noise"));
    FS_TRY(fs_dgauss_sample(st->noise, z, s->n));
    for (size_t i = 0; i < s->n; i++) s->words[i] += (uint64_t)z[i];
done:
    if (z) fs_secure_zero(z, s->n * sizeof *z);
    free(z);
    return rc;
}

/*
 * Collective, under DP: would the next round take the ledger past
 * --dp-epsilon?  Before any round was charged in this run directory that
 * is an error; later the run stops cleanly with a checkpoint of round
 * `done` (*stop = 1).
 */
static fs_err save_checkpoint(gb_run *st, int round);
static fs_err dp_budget(gb_run *st, int done, int *stop)
{
    fs_err rc = FS_OK;
    fs_ledger *l = fs_fed_ledger(st->fed);
    const double budget = st->o.dp.epsilon;
    double next = 0;
    int exceed = 0;
    *stop = 0;
    FS_TRY(fs_ledger_would_exceed(l, budget, st->o.dp.delta, &exceed, &next));
    if (!exceed) goto done;
    if (fs_ledger_charges(l) == 0)
        FS_FAIL(FS_ERR_ARG, "--dp-epsilon %g is smaller than the epsilon of one boosting round "
                "(%g); raise the budget or --ddp-noise", budget, next);
    if (st->rank == 0)
        fs_log(FS_LOG_INFO, "privacy budget: stopping before round %d, which would reach epsilon "
               "%.4g > --dp-epsilon %g", done + 1, next, budget);
    if (st->last_ckpt != done) {
        FS_TRY(save_checkpoint(st, done));
        st->last_ckpt = done;
    }
    *stop = 1;
done:
    return rc;
}

/*
 * Rank-local: every cross-rank sum of the run, registered in the ledger
 * with its class (fs_fed_sum_* refuses an unregistered vector id).  Without
 * DP all are exact sums, released to every institution: class public.
 * Under DP the level sums are class dp, the bin-edge sums are never made
 * (not registered), the row counts and loss sums are made only when
 * released as public (--dp-public-metrics yes), and the metric sums are
 * post-processing when they hold only the shared --test file's.
 */
static fs_err register_sums(gb_run *st)
{
    fs_err rc = FS_OK;
    fs_ledger *l = fs_fed_ledger(st->fed);
    const fs_release_class P = FS_RELEASE_PUBLIC;
    const char *exact = "exact sum";
    if (st->dp) {
        char mech[200];
        snprintf(mech, sizeof mech, "distributed discrete Gaussian in the ring, record level, "
                 "noise multiplier %.6g from any %d institutions' shares", st->z_eff, st->honest);
        for (int lev = 0; lev < st->go.max_depth; lev++) {
            char name[200];
            snprintf(name, sizeof name, "gbdt: tree level %d of every tree, each built node's "
                     "gradient and hessian sums, in total and per public bin of every sampled "
                     "feature (noisy sums; row counts zeroed)", lev);
            FS_TRY(fs_ledger_register(l, FS_GBDT_VID_LEVEL + (uint32_t)lev, name, FS_RELEASE_DP,
                                      mech));
        }
        if (st->release_public) {
            FS_TRY(fs_ledger_register(l, FS_GBDT_VID_RESUME, "gbdt: training and validation "
                                      "rows (sums)", P, exact));
            FS_TRY(fs_ledger_register(l, FS_GBDT_VID_EVAL, "gbdt: training and validation loss "
                                      "sums (every round)", P, exact));
            FS_TRY(fs_ledger_register(l, FS_GBDT_FED_VID_METRICS, "gbdt: validation and test "
                                      "metric sums (every evaluated round)", P, exact));
        } else {
            FS_TRY(fs_ledger_register(l, FS_GBDT_FED_VID_METRICS, "gbdt: metric sums of the "
                                      "shared --test file (every evaluated round)",
                                      FS_RELEASE_POSTPROC, "the DP trees on public rows"));
        }
        goto done;
    }
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_COARSE, "gbdt: training and validation rows, and "
                              "per feature the pooled count of values per binade (sums)", P,
                              exact));
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_FINE, "gbdt: per feature the pooled count of "
                              "values per fine bin, which give the bin edges (sums)", P, exact));
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_RESUME, "gbdt: training and validation rows of a "
                              "resumed run (sums)", P, exact));
    for (int lev = 0; lev < st->go.max_depth; lev++) {
        char name[200];
        snprintf(name, sizeof name, "gbdt: tree level %d of every tree, each built node's row "
                 "count and gradient and hessian sums, in total and per bin of every sampled "
                 "feature (sums)", lev);
        FS_TRY(fs_ledger_register(l, FS_GBDT_VID_LEVEL + (uint32_t)lev, name, P, exact));
    }
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_EVAL, "gbdt: training and validation loss sums "
                              "(every round)", P, exact));
    FS_TRY(fs_ledger_register(l, FS_GBDT_FED_VID_METRICS, "gbdt: validation and test metric "
                              "sums (every evaluated round)", P, exact));
done:
    return rc;
}

/*
 * Collective, under DP: bind the ledger to this institution's journal
 * (OUT/privacy-ledger-rank<k>.txt), replaying the rounds charged by earlier
 * runs in this directory.  A resumed model of `done` rounds needs at least
 * `done` charged rounds: fewer means the journal was lost or replaced.
 */
static fs_err dp_ledger_open(gb_run *st, int done)
{
    fs_err rc = FS_OK;
    long prior = 0;
    FS_TRY(fs_fed_ledger_open(st->fed, &prior));
    if (prior < done)
        FS_FAIL(FS_ERR_DATA, "the privacy ledger files in %s hold %ld charged rounds, the "
                "checkpoint %d rounds: the budget already spent is unknown (ledger file removed or "
                "replaced?); refusing to continue", st->o.fed.out, prior, done);
    if (st->rank == 0 && prior > 0)
        fs_log(FS_LOG_INFO, "privacy ledger: %ld rounds charged by earlier runs in %s count "
               "towards this run's epsilon", prior, st->o.fed.out);
    if (st->rank == 0)
        fs_log(FS_LOG_INFO, "gbdt distributed DP: noise multiplier %.6g (exact) from the shares "
               "of any %d of the %d institutions (--ddp-min-honest), sensitivity %.6g ring units "
               "per level sum, %d fractional bits, %d level sums charged per round",
               st->z_eff, st->honest, st->size, st->sens, st->frac_bits,
               fs_gbdt_nout(&st->go) * st->go.max_depth);
done:
    return rc;
}

/* Collective, under DP with --dp-public-metrics yes (fresh run): the summed
 * training and validation rows, released as public, for the loss metrics. */
static fs_err dp_public_counts(gb_run *st)
{
    fs_err rc = FS_OK;
    uint64_t w[3] = { st->train->n, st->val ? st->val->n : 0, 0 };
    FS_TRY(fs_fed_sum_words(st->fed, 0, FS_GBDT_VID_RESUME, w, 2, FS_OK));
    FS_TRY(fs_fed_agree(st->fed, fs_gbdt_set_counts(st->g, w[0], w[1])));
done:
    return rc;
}

/* Collective: everything before the first step; *start = rounds done. */
static fs_err setup(gb_run *st, MPI_Comm comm, fs_run_ctl *ctl, int *start)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *from = NULL;
    const fs_err optrc = fs_config_options(st->cfg, &st->o);
    st->o.fed.ring_bits = 64;   /* the words are sums mod 2^64 */
    fs_fed_open_opts fo = { st->cfg, &st->o.fed,
                            FS_FED_READ_TRAIN | FS_FED_READ_VALIDATION | FS_FED_READ_ALLOW_MISSING,
                            FS_PREFLIGHT_CONFIG | FS_PREFLIGHT_SHAPE | FS_PREFLIGHT_OWNER |
                            FS_PREFLIGHT_SCHEMA, 1, ctl, optrc };
    FS_TRY(fs_fed_open(comm, &fo, &st->fed));
    st->rank = fs_fed_rank(st->fed);
    st->size = fs_fed_size(st->fed);
    st->train = fs_fed_train_part(st->fed);
    st->val = fs_fed_validation_part(st->fed);
    fs_err local = fs_fed_run_path(st->fed, "checkpoint.h5", st->ckpt_path, sizeof st->ckpt_path);
    if (local == FS_OK) local = engine_opts(st);
    if (local == FS_OK && st->o.fl.test[0]) local = load_test_slice(st);
    st->dp = st->o.dp.ddp;
    st->release_public = !st->dp || st->o.dp.public_metrics;
    if (local == FS_OK && st->dp) local = dp_check_opts(st);
    if (local == FS_OK) local = read_start(st, &from, start);
    if (local == FS_OK && from) local = dp_check_resume(st, from);
    if (local == FS_OK) local = create_engine(st, from, *start);
    if (local == FS_OK && st->dp) local = dp_setup(st, from ? from->frac_bits : 0);
    if (local == FS_OK && st->dp && from) fs_gbdt_set_noisy(st->g);
    if (local == FS_OK && st->dp && !from) local = dp_public_bins(st);
    if (local == FS_OK) local = register_sums(st);
    FS_TRY(fs_fed_agree(st->fed, local));
    if (st->dp) FS_TRY(dp_ledger_open(st, *start));
    FS_TRY(fs_fed_connect(st->fed));                   /* collective: key setup */
    if (st->dp && st->release_public && !from) FS_TRY(dp_public_counts(st));
    FS_TRY(fs_fed_metrics_restart(st->fed, *start));
    st->last_ckpt = *start;
done:
    fs_gbdt_model_destroy(&from);
    return rc;
}

// ---------------------------------------------------------------- evaluation

/*
 * Collective.  The metrics of the current model on every validation part
 * and test slice: each rank adds the sums of its rows, the vectors are
 * summed through the core and every rank computes the same reports.
 */
static fs_err evaluate(gb_run *st, int round, fs_gbdt_round_info *info)
{
    fs_err rc = FS_OK;
    double *vec = NULL;   /* (2 len): validation sums, then test sums */
    const size_t len = fs_metrics_len(st->task, st->K);
    const fs_gbdt_model *m = fs_gbdt_get_model(st->g);
    fs_err local = fs_zalloc(&vec, 2 * len, sizeof *vec, "evaluation sums");
    if (local == FS_OK && st->release_public)
        local = fs_gbdt_add_metric_sums(m, st->val, st->K, vec);
    if (local == FS_OK) local = fs_gbdt_add_metric_sums(m, st->test, st->K, vec + len);
    if (local != FS_OK) fs_error_prefix(local, "evaluation: ");
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_sum_f64(st->fed, (uint64_t)round, FS_GBDT_FED_VID_METRICS, vec, vec, 2 * len));
    fs_gbdt_metric_report(m, vec, st->task, st->K, &info->val);
    fs_gbdt_metric_report(m, vec + len, st->task, st->K, &info->test);
    info->evaluated = 1;
done:
    free(vec);
    return rc;
}

/* One metrics.jsonl line (docs/formats.md, "GBDT runs"). */
static fs_err metrics_line(const gb_run *st, const fs_gbdt_round_info *in, char **line)
{
    fs_err rc = FS_OK;
    char hash[24];
    json_t *o = json_object();
    int bad = !o;
    *line = NULL;
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)in->model_hash);
    bad |= fs_json_put(o, "round", json_integer(in->round));
    bad |= fs_json_put(o, "trees", json_integer(in->num_trees));
    if (isfinite(in->train_metric))
        bad |= fs_json_put_num(o, "", "train_loss", in->train_metric);
    if (isfinite(in->val_metric)) bad |= fs_json_put_num(o, "", "val_loss", in->val_metric);
    const fs_eval_report *r[2] = { &in->val, &in->test };
    const char *pre[2] = { "val", "test" };
    for (int p = 0; p < 2 && in->evaluated; p++) {
        if (!(r[p]->count > 0)) continue;
        if (p == 1) bad |= fs_json_put_num(o, pre[p], "loss", r[p]->loss);
        if (r[p]->is_regression) {
            bad |= fs_json_put_num(o, pre[p], "rmse", r[p]->rmse);
            bad |= fs_json_put_num(o, pre[p], "mae", r[p]->mae);
            if (isfinite(r[p]->r2)) bad |= fs_json_put_num(o, pre[p], "r2", r[p]->r2);
            continue;
        }
        bad |= fs_json_put_num(o, pre[p], "accuracy", r[p]->accuracy);
        if (isfinite(r[p]->auc)) bad |= fs_json_put_num(o, pre[p], "auc", r[p]->auc);
        if (isfinite(r[p]->macro_f1)) bad |= fs_json_put_num(o, pre[p], "macro_f1", r[p]->macro_f1);
    }
    bad |= fs_json_put(o, "metric", json_string(in->metric_name));
    bad |= fs_json_put(o, "model_hash", json_string(hash));
    bad |= fs_json_put_num(o, "", "seconds", in->seconds);
    if (in->total_rows) bad |= fs_json_put_num(o, "", "samples", (double)in->total_rows);
    if (st->dp) {
        bad |= fs_json_put_num(o, "", "ddp_epsilon", in->ddp_epsilon);
        bad |= fs_json_put_num(o, "", "ddp_delta", st->o.dp.delta);
        bad |= fs_json_put_num(o, "", "ddp_noise_multiplier", st->z_eff);
        if (st->o.dp.dp_seed != 0)
            bad |= fs_json_put(o, "not_private", json_string("--dp-seed: the DP noise is a "
                               "function of a public seed (testing only)"));
    }
    bad |= fs_json_put(o, "aggregation", json_string(fs_fed_aggregation_name(st->fed)));
    if (bad) FS_FAIL(FS_ERR_NOMEM, "out of memory formatting the metrics of round %d", in->round);
    FS_TRY(fs_json_line(o, line));
done:
    json_decref(o);
    return rc;
}

// ---------------------------------------------------------------- checkpoints

/*
 * Collective.  Rank 0 writes OUT/checkpoint.h5: the root attributes and
 * /pipeline of fs_checkpoint_write (no /params), then the /gbdt group, in a
 * temporary file committed (fsync, rename, directory fsync) over the old
 * one; everyone agrees on the result.
 */
static fs_err save_checkpoint(gb_run *st, int round)
{
    fs_err local = FS_OK;
    if (st->rank == 0) {
        const fs_gbdt_model *m = fs_gbdt_get_model(st->g);
        char tmp[4400];
        fs_checkpoint ck;
        memset(&ck, 0, sizeof ck);
        ck.round = round;
        snprintf(ck.model, sizeof ck.model, "gbdt");
        ck.d = st->train->d;
        ck.task = st->task;
        ck.num_classes = st->K;
        ck.config_hash = fs_fed_config_hash(st->fed);
        ck.model_hash = fs_gbdt_model_hash(m);
        ck.seed = st->o.fed.seed;
        ck.nsilos = st->size;
        ck.schema = st->train->schema;
        snprintf(tmp, sizeof tmp, "%s.gbdt.%ld", st->ckpt_path, (long)getpid());
        local = fs_checkpoint_write(&ck, tmp);
        if (local == FS_OK) local = fs_gbdt_model_save(m, tmp, "gbdt");
        if (local == FS_OK) local = fs_file_commit(tmp, st->ckpt_path);
        if (local != FS_OK) {
            unlink(tmp);
            fs_error_prefix(local, "checkpoint not written (previous one kept): ");
        }
    }
    return fs_fed_agree(st->fed, local);
}

/*
 * Collective.  The end of boosting round `round` (1-based): metrics, the
 * model-hash check and stop flag, the metrics line (before the checkpoint:
 * a crash between them leaves a line the resume drops and redoes), the
 * checkpoint when due.
 */
static fs_err round_end(gb_run *st, int round, double t0, double t_start,
                        fs_gbdt_round_info *info, int *stop)
{
    fs_err rc = FS_OK;
    char *line = NULL;
    fs_gbdt_status gs;
    const fs_gbdt_model *m = fs_gbdt_get_model(st->g);
    fs_gbdt_get_status(st->g, &gs);
    memset(info, 0, sizeof *info);
    info->round = round;
    info->rounds = st->go.rounds;
    info->num_trees = fs_gbdt_model_num_trees(m);
    info->metric_name = gs.metric_name;
    info->train_metric = gs.train_metric;
    info->val_metric = gs.val_metric;
    info->total_rows = gs.total_rows;
    info->stopped_early = gs.stopped_early;
    info->ddp_epsilon = NAN;
    if (st->dp)
        FS_TRY(fs_ledger_epsilon(fs_fed_ledger(st->fed), FS_LEDGER_DDP, st->o.dp.delta,
                                 &info->ddp_epsilon));   /* same on every rank */
    const int last = gs.stopped_early || round >= st->go.rounds;
    fs_fed_mark(st->fed, "evaluation", round);
    if (round % st->o.fl.eval_every == 0 || last) FS_TRY(evaluate(st, round, info));
    fs_fed_mark(st->fed, "checkpoint", round);
    info->model_hash = fs_gbdt_model_hash(m);
    FS_TRY(fs_fed_round_end_hash(st->fed, round, info->model_hash, stop));
    const int ckpt = fs_fed_checkpoint_due(st->fed, round, st->go.rounds, *stop) || last;
    info->checkpointed = ckpt;
    info->seconds = fs_now() - t0;
    info->elapsed = fs_now() - t_start;
    fs_err local = metrics_line(st, info, &line);
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_metrics_append(st->fed, line));
    if (ckpt) {
        FS_TRY(save_checkpoint(st, gs.rounds_done));
        st->last_ckpt = gs.rounds_done;
    }
done:
    free(line);
    return rc;
}

/* Collective: one step of the engine: local words, their sum, apply. */
static fs_err run_step(gb_run *st, fs_gbdt_step *s, int round)
{
    fs_err rc = FS_OK;
    fs_err local = fs_gbdt_step_local(st->g, s);
    if (local != FS_OK) fs_error_prefix(local, "%s: ", fs_fed_shard_path(st->fed));
    if (local == FS_OK && s->kind == FS_GBDT_STEP_DONE) goto done;
    fs_fed_mark(st->fed, s->kind == FS_GBDT_STEP_LEVEL ? "secure sum of a tree level's histograms"
                         : "secure sum of the bin or loss counts", round);
    if (st->dp && !st->release_public &&
        (s->kind == FS_GBDT_STEP_EVAL || s->kind == FS_GBDT_STEP_RESUME)) {
        /* the exact row counts and loss sums are not released under DP: no
         * sum; the engine reports the loss metrics as NaN */
        FS_TRY(fs_fed_agree(st->fed, local));
    } else {
        if (local == FS_OK && st->dp && s->kind == FS_GBDT_STEP_LEVEL)
            local = dp_noise_level(st, s);
        FS_TRY(fs_fed_sum_words(st->fed, s->round_id, s->vector_id, s->words, s->n, local));
        if (st->dp) FS_TRY(fs_fed_agree(st->fed, st->rank == 0 ? dp_dump(st, s, "sum") : FS_OK));
    }
    FS_TRY(fs_fed_agree(st->fed, fs_gbdt_step_apply(st->g)));
done:
    return rc;
}

fs_err fs_gbdt_fed_train(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                         fs_gbdt_round_fn on_round, void *user)
{
    fs_err rc = FS_OK;
    gb_run st_, *st = &st_;
    const double t_start = fs_now();
    int start = 0, stop = 0;
    memset(st, 0, sizeof *st);
    st->cfg = cfg;
    FS_TRY(setup(st, comm, ctl, &start));
    st->dump = st->dp ? getenv("FEDSILO_GBDT_DP_DUMP") : NULL;
    if (st->dp && start < st->go.rounds) FS_TRY(dp_budget(st, start, &stop));
    double t0 = fs_now();
    for (; !stop;) {
        fs_gbdt_step s;
        fs_gbdt_status gs;
        fs_gbdt_get_status(st->g, &gs);
        FS_TRY(run_step(st, &s, gs.rounds_done + 1));
        if (s.kind == FS_GBDT_STEP_DONE) break;
        if (s.kind != FS_GBDT_STEP_EVAL) continue;
        const int round = (int)s.round_id + 1;
        fs_gbdt_round_info info;
        FS_TRY(round_end(st, round, t0, t_start, &info, &stop));
        if (on_round) on_round(&info, user);
        t0 = fs_now();
        if (!stop && st->dp && !info.stopped_early && round < st->go.rounds) {
            FS_TRY(dp_budget(st, round, &stop));
            if (stop) break;
        }
        if (stop && !info.stopped_early && round < st->go.rounds)
            FS_FAIL(FS_ERR_INTERRUPTED, "stopped on request after round %d of %d; checkpoint %s "
                    "written; rerun with --resume auto to continue", round, st->go.rounds,
                    st->ckpt_path);
    }
done:
    run_free(st);
    return rc;
}

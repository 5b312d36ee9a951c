/*
 * fs_stats_run.c - the `fedsilo stats` and `fedsilo ridge` runs on the
 * federation core: the shards, the sum session and the run's outputs
 * (stats JSON; ridge checkpoint and JSON), written by rank 0 and agreed.
 * Every quantity that leaves a rank goes through the secure sum (or
 * MPI_Allreduce with --aggregation plain, for comparison only).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "stats/fs_stats_impl.h"
#include "fed/fs_fed_impl.h"
#include "fs_json_impl.h"
#include "fedsilo/fs_fed.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_prep.h"
#include "fedsilo/fs_schema.h"

/*
 * Collective: options from cfg (agreed), the federation with this rank's
 * training part (configuration and schema agreed; missing cells are read
 * only when --impute yes will fill them), and the sum session.
 */
static fs_err open_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl, fs_opts *o,
                       fs_fed **fed)
{
    fs_err rc = FS_OK;
    const fs_err optrc = fs_config_options(cfg, o);
    const unsigned read = FS_FED_READ_TRAIN |
                          (optrc == FS_OK && o->fl.impute ? FS_FED_READ_ALLOW_MISSING : 0);
    fs_fed_open_opts fo = { cfg, &o->fed, read, FS_PREFLIGHT_CONFIG | FS_PREFLIGHT_SCHEMA,
                            0, ctl, optrc };
    FS_TRY(fs_fed_open(comm, &fo, fed));
    FS_TRY(fs_fed_connect(*fed));
done:
    return rc;
}

/*
 * Collective.  --impute yes: fit the fills on the training parts
 * (fs_prep_fit: exact secure sums, registered in the ledger) and fill this
 * rank's rows in place.  *out = the pipeline, or NULL without --impute.
 */
static fs_err impute_rows(fs_fed *fed, const fs_opts *o, fs_prep **out)
{
    fs_err rc = FS_OK;
    const fs_prep_opts po = { 1, 0, VID_PREP };
    *out = NULL;
    if (!o->fl.impute) return FS_OK;
    FS_TRY(fs_prep_fit(fed, fs_fed_train_part(fed), &po, out));
    FS_TRY(fs_fed_agree(fed, fs_prep_apply(*out, fs_fed_train_part(fed), fs_fed_shard_path(fed))));
done:
    return rc;
}

/* Is feature j of s part of a one-hot block (a category or (other))? */
static int is_onehot(const fs_schema *s, size_t j)
{
    const fs_feature_kind k = fs_schema_feature_at(s, j)->kind;
    return k == FS_FEATURE_CATEGORY || k == FS_FEATURE_OTHER;
}

/*
 * Collective.  Shards imported with a schema (uniform: agreed at
 * pre-flight): missing cells per feature and rows per category, one exact
 * sum of [isnan(x_ij) summed over i (d), x_ij summed over the non-missing
 * rows of one-hot features, else 0 (d)], before any imputation.  Not
 * under DP (these counts are exact).  *missing and *cats (d each) are
 * owned by the caller; both NULL when not computed.
 */
static fs_err table_counts(fs_fed *fed, const fs_opts *o, double **missing, double **cats)
{
    fs_err rc = FS_OK, local = FS_OK;
    const fs_dataset *ds = fs_fed_train_part(fed);
    fs_schema *s = NULL;
    double *v = NULL;
    *missing = *cats = NULL;
    if (!ds->schema || o->dp.epsilon > 0) return FS_OK;
    const size_t d = ds->d;
    local = fs_schema_parse(ds->schema, strlen(ds->schema), "the shard's schema", &s);
    if (local == FS_OK) local = fs_zalloc(&v, 2 * d, sizeof *v, "table counts");
    if (local == FS_OK)
        local = fs_ledger_register(fs_fed_ledger(fed), VID_STATS_TABLE, "missing cells per "
                                   "feature and rows per category (sums, round 0)",
                                   FS_RELEASE_PUBLIC, "exact sum");
    FS_TRY(fs_fed_agree(fed, local));
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < d; j++) {
            const double x = ds->X[i * d + j];
            if (isnan(x)) v[j] += 1;
            else if (is_onehot(s, j)) v[d + j] += x;
        }
    FS_TRY(fs_fed_sum_f64(fed, 0, VID_STATS_TABLE, v, v, 2 * d));
    local = fs_alloc(missing, d, sizeof **missing, "table counts");
    if (local == FS_OK) local = fs_alloc(cats, d, sizeof **cats, "table counts");
    FS_TRY(fs_fed_agree(fed, local));
    for (size_t j = 0; j < d; j++) {
        (*missing)[j] = v[j];
        (*cats)[j] = is_onehot(s, j) ? v[d + j] : NAN;
    }
done:
    if (rc != FS_OK) {
        free(*missing);
        free(*cats);
        *missing = *cats = NULL;
    }
    free(v);
    fs_schema_destroy(&s);
    return rc;
}

/* The stats and ridge outputs name the feature j of s, or x<j>. */
static const char *feature_name(const fs_stats_result *s, size_t j, char *buf, size_t cap)
{
    if (s->feature_names && s->feature_names[j] && s->feature_names[j][0]) return s->feature_names[j];
    snprintf(buf, cap, "x%zu", j);
    return buf;
}

static fs_err write_stats_json(const fs_stats_result *s, const char *path, const char *agg)
{
    fs_err rc = FS_OK;
    char nb[32];
    json_t *o = json_object(), *feats = json_array();
    int bad = !o || !feats;
    bad |= fs_json_put(o, "aggregation", json_string(agg));
    bad |= fs_json_put(o, "institutions", json_integer(s->nranks));
    bad |= fs_json_put(o, "count", fs_json_number(s->count));
    if (isfinite(s->dp_epsilon)) {
        bad |= fs_json_put(o, "dp_epsilon", fs_json_number(s->dp_epsilon));
        bad |= fs_json_put(o, "dp_noise_multiplier", fs_json_number(s->dp_noise));
    }
    bad |= fs_json_put(o, "task", json_string(s->task == FS_TASK_REGRESSION ? "regression"
                                                                             : "classification"));
    bad |= fs_json_put(o, "variance_denominator", json_string("n - 1"));
    bad |= fs_json_put(o, "imputed", json_boolean(s->imputed));
    if (s->class_counts) {
        bad |= fs_json_put(o, "class_counts", fs_json_numbers(s->class_counts,
                                                              (size_t)s->num_classes));
    } else {
        json_t *t = json_object();
        bad |= fs_json_put(t, "mean", fs_json_number(s->target_mean));
        bad |= fs_json_put(t, "std", fs_json_number(s->target_std));
        bad |= fs_json_put(o, "target", t);
    }
    for (size_t j = 0; !bad && j < s->d; j++) {
        json_t *f = json_object();
        bad |= fs_json_put(f, "name", fs_json_text(feature_name(s, j, nb, sizeof nb)));
        bad |= fs_json_put(f, "count", fs_json_number(s->count));
        bad |= fs_json_put(f, "mean", fs_json_number(s->mean[j]));
        bad |= fs_json_put(f, "var", fs_json_number(s->var[j]));
        bad |= fs_json_put(f, "std", fs_json_number(s->std[j]));
        if (s->missing) bad |= fs_json_put(f, "missing", fs_json_number(s->missing[j]));
        if (s->category_counts && isfinite(s->category_counts[j]))
            bad |= fs_json_put(f, "category_count", fs_json_number(s->category_counts[j]));
        if (s->fill && !isnan(s->fill[j])) bad |= fs_json_put(f, "fill", fs_json_number(s->fill[j]));
        if (s->bins) {
            bad |= fs_json_put(f, "hist_lo", fs_json_number(s->hist_lo[j]));
            bad |= fs_json_put(f, "hist_hi", fs_json_number(s->hist_hi[j]));
            bad |= fs_json_put(f, "underflow", fs_json_number(s->underflow[j]));
            bad |= fs_json_put(f, "overflow", fs_json_number(s->overflow[j]));
            bad |= fs_json_put(f, "hist", fs_json_numbers(s->hist + j * (size_t)s->bins,
                                                          (size_t)s->bins));
        }
        bad |= !f || json_array_append_new(feats, f) != 0;
    }
    bad |= fs_json_put(o, "features", feats);
    const double *mats[2] = { s->cov, s->corr };
    const char *mname[2] = { "covariance", "correlation" };
    for (int m = 0; m < 2 && !bad; m++) {
        if (!mats[m]) continue;
        json_t *rows = json_array();
        for (size_t j = 0; rows && j < s->d; j++)
            bad |= json_array_append_new(rows, fs_json_numbers(mats[m] + j * s->d, s->d)) != 0;
        bad |= fs_json_put(o, mname[m], rows);
    }
    if (bad) FS_FAIL(FS_ERR_NOMEM, "out of memory writing %s", path);
    FS_TRY(fs_json_write_file(path, o));
done:
    json_decref(o);
    return rc;
}

fs_err fs_stats_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl, fs_stats_result **out)
{
    fs_err rc = FS_OK;
    fs_opts o;
    fs_fed *fed = NULL;
    fs_stats_result *res = NULL;
    fs_prep *prep = NULL;
    double *missing = NULL, *cats = NULL, *fill = NULL;
    uint64_t step = 1;
    *out = NULL;
    FS_TRY(open_run(comm, cfg, ctl, &o, &fed));
    FS_TRY(fs_fed_agree(fed, fs_ledger_note_release(fs_fed_ledger(fed),
                        "counts, sums, squared deviations and histograms (sums)",
                        o.stats.dp_epsilon > 0 ? "Gaussian (record level)" : "public")));
    FS_TRY(table_counts(fed, &o, &missing, &cats));      /* before imputation */
    FS_TRY(impute_rows(fed, &o, &prep));
    FS_TRY(fs_stats_compute(fs_fed_comm(fed), fs_fed_secagg(fed), fs_fed_train_part(fed), &o.stats,
                            &step, &res));
    fs_err local = FS_OK;
    if (prep) {
        local = fs_alloc(&fill, res->d, sizeof *fill, "fill values");
        if (local == FS_OK) memcpy(fill, fs_prep_fill(prep), res->d * sizeof *fill);
    }
    FS_TRY(fs_fed_agree(fed, local));
    res->imputed = prep != NULL;
    res->fill = fill;
    res->missing = missing;
    res->category_counts = cats;
    fill = missing = cats = NULL;
    if (fs_fed_rank(fed) == 0 && o.stats_json[0])
        local = write_stats_json(res, o.stats_json, fs_fed_aggregation_name(fed));
    FS_TRY(fs_fed_agree(fed, local));
    *out = res;
    res = NULL;
done:
    free(fill);
    free(missing);
    free(cats);
    fs_prep_destroy(&prep);
    fs_stats_free(&res);
    fs_fed_close(&fed);
    return rc;
}

// ---------------------------------------------------------------- ridge

static fs_err write_ridge_json(const fs_ridge_result *r, const char *path, const char *agg,
                               const fs_ridge_opts *ro, int nsilos, const double *fill,
                               const fs_eval_report *test, const char *test_path)
{
    fs_err rc = FS_OK;
    json_t *o = json_object();
    int bad = !o;
    bad |= fs_json_put(o, "aggregation", json_string(agg));
    bad |= fs_json_put(o, "institutions", json_integer(nsilos));
    bad |= fs_json_put(o, "lambda", fs_json_number(ro->lambda));
    bad |= fs_json_put(o, "standardize", json_boolean(ro->standardize));
    bad |= fs_json_put(o, "n", fs_json_number(r->n));
    bad |= fs_json_put(o, "w", fs_json_numbers(r->w, r->d));
    bad |= fs_json_put(o, "b", fs_json_number(r->b));
    bad |= fs_json_put(o, "mean", fs_json_numbers(r->mean, r->d));
    bad |= fs_json_put(o, "scale", fs_json_numbers(r->scale, r->d));
    bad |= fs_json_put(o, "imputed", json_boolean(fill != NULL));
    if (fill) bad |= fs_json_put(o, "fill", fs_json_numbers(fill, r->d));
    bad |= fs_json_put(o, "train_rmse", fs_json_number(r->train_rmse));
    bad |= fs_json_put(o, "train_r2", fs_json_number(r->train_r2));
    if (test) {
        json_t *t = json_object();
        bad |= fs_json_put(t, "file", fs_json_text(test_path));
        bad |= fs_json_put(t, "rows", fs_json_number(test->count));
        bad |= fs_json_put(t, "rmse", fs_json_number(test->rmse));
        bad |= fs_json_put(t, "mae", fs_json_number(test->mae));
        bad |= fs_json_put(t, "r2", fs_json_number(test->r2));
        bad |= fs_json_put(o, "test", t);
    }
    if (bad) FS_FAIL(FS_ERR_NOMEM, "out of memory writing %s", path);
    FS_TRY(fs_json_write_file(path, o));
done:
    json_decref(o);
    return rc;
}

/* Rank 0 after the fit: checkpoint, optional test evaluation, JSON. */
static fs_err ridge_outputs(fs_fed *fed, const fs_opts *o, const fs_ridge_result *r,
                            const fs_prep *prep, fs_eval_report *test)
{
    fs_err rc = FS_OK;
    char path[4200];
    fs_checkpoint *ck = NULL;
    const char *outdir = o->fed.out, *tp = o->fl.test;
    FS_TRY(fs_mkdir_p(outdir));
    if (snprintf(path, sizeof path, "%s/checkpoint.h5", outdir) >= (int)sizeof path)
        FS_FAIL(FS_ERR_ARG, "--out path too long");
    FS_TRY(fs_ridge_write_checkpoint(r, fs_fed_size(fed), fs_fed_train_part(fed)->schema,
                                     prep ? fs_prep_fill(prep) : NULL, path));
    if (tp[0]) {
        FS_TRY(fs_checkpoint_read(path, &ck));
        FS_TRY(fs_checkpoint_evaluate(ck, tp, test));
    }
    snprintf(path, sizeof path, "%s/ridge.json", outdir);
    FS_TRY(write_ridge_json(r, path, fs_fed_aggregation_name(fed), &o->ridge, fs_fed_size(fed),
                            prep ? fs_prep_fill(prep) : NULL, tp[0] ? test : NULL, tp));
done:
    fs_checkpoint_free(&ck);
    return rc;
}

fs_err fs_ridge_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl, fs_ridge_result **out,
                    fs_eval_report *test)
{
    fs_err rc = FS_OK;
    fs_opts o;
    fs_fed *fed = NULL;
    fs_ridge_result *res = NULL;
    fs_prep *prep = NULL;
    uint64_t step = 1;
    *out = NULL;
    memset(test, 0, sizeof *test);
    FS_TRY(open_run(comm, cfg, ctl, &o, &fed));
    FS_TRY(fs_fed_agree(fed, fs_ledger_note_release(fs_fed_ledger(fed),
                        "n, X1^T X1, X1^T y, y^T y (one sum)", "public")));
    FS_TRY(impute_rows(fed, &o, &prep));
    FS_TRY(fs_ridge_fit(fs_fed_comm(fed), fs_fed_secagg(fed), fs_fed_train_part(fed), &o.ridge,
                        &step, &res));
    fs_err local = fs_fed_rank(fed) == 0 ? ridge_outputs(fed, &o, res, prep, test) : FS_OK;
    FS_TRY(fs_fed_agree(fed, local));   /* collective: same exit status everywhere */
    *out = res;
    res = NULL;
done:
    fs_prep_destroy(&prep);
    fs_ridge_free(&res);
    fs_fed_close(&fed);
    return rc;
}

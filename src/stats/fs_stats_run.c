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

/*
 * Collective: options from cfg (agreed), the federation with this rank's
 * training part (configuration agreed), and the sum session.
 */
static fs_err open_run(MPI_Comm comm, const fs_config *cfg, fs_opts *o, fs_fed **fed)
{
    fs_err rc = FS_OK;
    fs_fed_open_opts fo = { cfg, &o->fed, FS_FED_READ_TRAIN, FS_PREFLIGHT_CONFIG | FS_PREFLIGHT_SCHEMA,
                            0, NULL,
                            fs_config_options(cfg, o) };
    FS_TRY(fs_fed_open(comm, &fo, fed));
    FS_TRY(fs_fed_connect(*fed));
done:
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

fs_err fs_stats_run(MPI_Comm comm, const fs_config *cfg, fs_stats_result **out)
{
    fs_err rc = FS_OK;
    fs_opts o;
    fs_fed *fed = NULL;
    fs_stats_result *res = NULL;
    uint64_t step = 1;
    *out = NULL;
    FS_TRY(open_run(comm, cfg, &o, &fed));
    FS_TRY(fs_fed_agree(fed, fs_ledger_note_release(fs_fed_ledger(fed),
                        "counts, sums, squared deviations and histograms (sums)",
                        o.stats.dp_epsilon > 0 ? "Gaussian (record level)" : "public")));
    FS_TRY(fs_stats_compute(fs_fed_comm(fed), fs_fed_secagg(fed), fs_fed_train_part(fed), &o.stats,
                            &step, &res));
    fs_err local = FS_OK;
    if (fs_fed_rank(fed) == 0 && o.stats_json[0])
        local = write_stats_json(res, o.stats_json, fs_fed_aggregation_name(fed));
    FS_TRY(fs_fed_agree(fed, local));
    *out = res;
    res = NULL;
done:
    fs_stats_free(&res);
    fs_fed_close(&fed);
    return rc;
}

// ---------------------------------------------------------------- ridge

static fs_err write_ridge_json(const fs_ridge_result *r, const char *path, const char *agg,
                               const fs_ridge_opts *ro, int nsilos, const fs_eval_report *test,
                               const char *test_path)
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
                            fs_eval_report *test)
{
    fs_err rc = FS_OK;
    char path[4200];
    fs_checkpoint *ck = NULL;
    const char *outdir = o->fed.out, *tp = o->fl.test;
    FS_TRY(fs_mkdir_p(outdir));
    if (snprintf(path, sizeof path, "%s/checkpoint.h5", outdir) >= (int)sizeof path)
        FS_FAIL(FS_ERR_ARG, "--out path too long");
    FS_TRY(fs_ridge_write_checkpoint(r, fs_fed_size(fed), path));
    if (tp[0]) {
        FS_TRY(fs_checkpoint_read(path, &ck));
        FS_TRY(fs_checkpoint_evaluate(ck, tp, test));
    }
    snprintf(path, sizeof path, "%s/ridge.json", outdir);
    FS_TRY(write_ridge_json(r, path, fs_fed_aggregation_name(fed), &o->ridge, fs_fed_size(fed),
                            tp[0] ? test : NULL, tp));
done:
    fs_checkpoint_free(&ck);
    return rc;
}

fs_err fs_ridge_run(MPI_Comm comm, const fs_config *cfg, fs_ridge_result **out,
                    fs_eval_report *test)
{
    fs_err rc = FS_OK;
    fs_opts o;
    fs_fed *fed = NULL;
    fs_ridge_result *res = NULL;
    uint64_t step = 1;
    *out = NULL;
    memset(test, 0, sizeof *test);
    FS_TRY(open_run(comm, cfg, &o, &fed));
    FS_TRY(fs_fed_agree(fed, fs_ledger_note_release(fs_fed_ledger(fed),
                        "n, X1^T X1, X1^T y, y^T y (one sum)", "public")));
    FS_TRY(fs_ridge_fit(fs_fed_comm(fed), fs_fed_secagg(fed), fs_fed_train_part(fed), &o.ridge,
                        &step, &res));
    fs_err local = fs_fed_rank(fed) == 0 ? ridge_outputs(fed, &o, res, test) : FS_OK;
    FS_TRY(fs_fed_agree(fed, local));   /* collective: same exit status everywhere */
    *out = res;
    res = NULL;
done:
    fs_ridge_free(&res);
    fs_fed_close(&fed);
    return rc;
}

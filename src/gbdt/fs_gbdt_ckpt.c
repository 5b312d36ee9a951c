/*
 * fs_gbdt_ckpt.c - GBDT checkpoints after training: the model of a
 * checkpoint (its /gbdt group, checked against the root attributes), its
 * evaluation on a dataset file and its predictions through fs_predict_file.
 * Not collective; no MPI.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_gbdt_fed.h"
#include "gbdt/fs_gbdt_impl.h"

fs_err fs_gbdt_checkpoint_model(const fs_checkpoint *ck, const char *path, fs_gbdt_model **out)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = NULL;
    *out = NULL;
    if (strcmp(ck->model, "gbdt") != 0)
        FS_FAIL(FS_ERR_ARG, "%s holds a %s model, not gradient-boosted trees (--model gbdt)",
                path, ck->model);
    FS_TRY(fs_gbdt_model_load(path, "gbdt", &m));
    const int reg = fs_gbdt_model_objective(m) == FS_GBDT_REG_SQUAREDERROR;
    const int K = reg ? 0 : fs_gbdt_model_num_class(m) > 0 ? fs_gbdt_model_num_class(m) : 2;
    const fs_task task = reg ? FS_TASK_REGRESSION : FS_TASK_CLASSIFICATION;
    if (fs_gbdt_model_hash(m) != ck->model_hash || fs_gbdt_model_num_features(m) != ck->d ||
        K != ck->num_classes || task != ck->task)
        FS_FAIL(FS_ERR_DATA, "%s: the /gbdt model does not match the checkpoint's attributes "
                "(model_hash, d, num_classes, task): the checkpoint is corrupt", path);
    *out = m;
    m = NULL;
done:
    fs_gbdt_model_destroy(&m);
    return rc;
}

/*
 * The scores of n rows of X into out: class probabilities (n, K) doubles,
 * P(y = 1) of binary:logistic as (1 - p, p), multi:* the softmax of the
 * margins (also for multi:softmax, whose predictions are the argmax of
 * these); reg:squarederror the predictions (n).
 */
static fs_err class_probabilities(const fs_gbdt_model *m, const float *X, size_t n, size_t d,
                                  double *out)
{
    fs_err rc = FS_OK;
    float *mg = NULL;
    const int K = fs_gbdt_model_num_class(m);
    const int reg = fs_gbdt_model_objective(m) == FS_GBDT_REG_SQUAREDERROR;
    const size_t nout = K > 0 ? (size_t)K : 1;
    FS_TRY(fs_alloc(&mg, n ? n * nout : 1, sizeof *mg, "margins"));
    FS_TRY(fs_gbdt_model_predict(m, X, n, d, 1, mg));
    for (size_t i = 0; i < n && reg; i++) out[i] = mg[i];
    for (size_t i = 0; i < n && !reg; i++)
        fs_class_probs(mg + i * nout, nout, out + i * (nout == 1 ? 2 : nout));
done:
    free(mg);
    return rc;
}

/*
 * fs_gbdt_add_metric_sums for reg:squarederror, in the units of the public
 * label range: predictions and targets as (v - LO) / (HI - LO), so every
 * sum is O(rows) whatever the targets' scale (the statistics codec of the
 * secure sum refuses values beyond 2^31); fs_gbdt_metric_report scales
 * back.  Loss = squared error.
 */
static fs_err add_regression_sums(const fs_gbdt_model *m, const fs_dataset *ds, double *vec)
{
    fs_err rc = FS_OK;
    float *pred = NULL, *y = NULL;
    const size_t n = ds->n;
    const double lo = m->opts.label_lo, w = m->opts.label_hi - m->opts.label_lo;
    double sse = 0;
    FS_TRY(fs_alloc(&pred, n, sizeof *pred, "predictions"));
    FS_TRY(fs_alloc(&y, n, sizeof *y, "scaled targets"));
    FS_TRY(fs_gbdt_model_predict(m, ds->X, n, ds->d, 0, pred));
    for (size_t i = 0; i < n; i++) {
        pred[i] = (float)(((double)pred[i] - lo) / w);
        y[i] = (float)(((double)ds->y_reg[i] - lo) / w);
        const double e = (double)pred[i] - (double)y[i];
        sse += e * e;
    }
    FS_TRY(fs_metrics_add_scores(vec, FS_TASK_REGRESSION, 0, n, pred, 1, NULL, y, sse));
done:
    free(y);
    free(pred);
    return rc;
}

void fs_gbdt_metric_report(const fs_gbdt_model *m, const double *vec, fs_task task, int K,
                           fs_eval_report *out)
{
    fs_metrics_report(vec, task, K, out);
    if (task != FS_TASK_REGRESSION) return;
    const double w = m->opts.label_hi - m->opts.label_lo;   /* R^2 is scale-free */
    out->rmse *= w;
    out->mae *= w;
    out->loss *= w * w;
}

fs_err fs_gbdt_add_metric_sums(const fs_gbdt_model *m, const fs_dataset *ds, int K, double *vec)
{
    fs_err rc = FS_OK;
    double *prob = NULL;
    float *p32 = NULL;
    const size_t n = ds ? ds->n : 0, nk = n * (size_t)K;
    if (n == 0) return FS_OK;
    if (fs_gbdt_model_objective(m) == FS_GBDT_REG_SQUAREDERROR)
        return add_regression_sums(m, ds, vec);
    FS_TRY(fs_alloc(&prob, nk, sizeof *prob, "probabilities"));
    FS_TRY(fs_alloc(&p32, nk, sizeof *p32, "probabilities"));
    FS_TRY(class_probabilities(m, ds->X, n, ds->d, prob));
    double loss = 0;   /* log loss, probabilities clipped at 1e-16 as XGBoost's logloss */
    for (size_t i = 0; i < nk; i++) p32[i] = (float)prob[i];
    for (size_t i = 0; i < n; i++) {
        const double py = prob[i * (size_t)K + (size_t)ds->y_class[i]];
        loss -= log(py < 1e-16 ? 1e-16 : py);
    }
    FS_TRY(fs_metrics_add_scores(vec, FS_TASK_CLASSIFICATION, K, n, p32, (size_t)K, ds->y_class,
                                 NULL, loss));
done:
    free(p32);
    free(prob);
    return rc;
}

fs_err fs_gbdt_checkpoint_evaluate(const fs_checkpoint *ck, const fs_gbdt_model *m,
                                   const char *data_path, fs_eval_report *report)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;
    double *vec = NULL;
    const int K = ck->num_classes;
    FS_TRY(fs_dataset_read_ex(data_path, FS_PART_TRAIN, FS_READ_ALLOW_MISSING, &ds));
    FS_TRY(fs_checkpoint_check_schema(ck, ds, data_path));
    if (ds->d != ck->d || ds->task != ck->task || ds->num_classes > K)
        FS_FAIL(FS_ERR_DATA, "%s does not match the checkpoint: %zu features/%d classes (%s), "
                "model has %zu/%d (%s)", data_path, ds->d, ds->num_classes,
                ds->task == FS_TASK_REGRESSION ? "regression" : "classification", ck->d, K,
                ck->task == FS_TASK_REGRESSION ? "regression" : "classification");
    FS_TRY(fs_zalloc(&vec, fs_metrics_len(ck->task, K), sizeof *vec, "evaluation sums"));
    FS_TRY(fs_gbdt_add_metric_sums(m, ds, K, vec));
    fs_gbdt_metric_report(m, vec, ck->task, K, report);
done:
    free(vec);
    fs_dataset_destroy(&ds);
    return rc;
}

typedef struct { const fs_gbdt_model *m; size_t d; } score_ctx;

/* fs_predict_fn: (n, K) class probabilities, or (n) predicted values. */
static fs_err gbdt_scores(void *ctx, const float *X, size_t n, double *out)
{
    const score_ctx *c = ctx;
    return class_probabilities(c->m, X, n, c->d, out);
}

fs_err fs_gbdt_predict_checkpoint(const fs_checkpoint *ck, const fs_gbdt_model *m,
                                  const fs_predict_opts *o, fs_predict_summary *sum)
{
    fs_err rc = FS_OK;
    fs_prep *p = NULL;
    fs_predict_opts po = *o;
    score_ctx sc = { m, ck->d };
    po.keep_missing = 1;   /* trees take NaN as the missing value */
    FS_TRY(fs_prep_create(ck->d, ck->schema, NULL, NULL, NULL, &p));
    FS_TRY(fs_predict_file(p, ck->task, ck->num_classes, gbdt_scores, &sc, &po, sum));
done:
    fs_prep_destroy(&p);
    return rc;
}

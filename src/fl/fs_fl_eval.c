/*
 * fs_fl_eval.c - evaluation of the global model during FedAvg: each rank's
 * slice of the global test file, the summed metric sums of the validation
 * parts and test slices, and the round's metrics line (docs/formats.md).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fl/fs_fl_impl.h"
#include "fs_json_impl.h"

/* Rank-local: read the test file and keep rows [lo, hi) of this rank. */
fs_err fl_load_test_slice(fl_run *st)
{
    fs_err rc = FS_OK;
    fs_dataset *test = NULL;
    const char *test_path = st->o.fl.test;
    /* missing cells of the test file are imputed with the training pipeline */
    FS_TRY(fs_dataset_read_ex(test_path, FS_PART_TRAIN, st->o.fl.impute ? FS_READ_ALLOW_MISSING : 0,
                              &test));
    if (test->d != st->train->d || test->task != st->train->task ||
        (test->task == FS_TASK_CLASSIFICATION && test->num_classes > st->train->num_classes))
        FS_FAIL(FS_ERR_DATA, "test file %s does not match the shards: %zu features, %d classes "
                "(shards: %zu features, %d classes)", test_path, test->d, test->num_classes,
                st->train->d, st->train->num_classes);
    const size_t n = test->n;
    const size_t lo = n * (size_t)st->rank / (size_t)st->size;
    const size_t hi = n * (size_t)(st->rank + 1) / (size_t)st->size;
    const size_t m = hi - lo;
    if (m > 0) {
        FS_TRY(fs_dataset_create(m, test->d, test->task, st->train->num_classes, &st->test_slice));
        memcpy(st->test_slice->X, test->X + lo * test->d, m * test->d * sizeof(float));
        if (test->y_class)
            memcpy(st->test_slice->y_class, test->y_class + lo, m * sizeof(int32_t));
        else
            memcpy(st->test_slice->y_reg, test->y_reg + lo, m * sizeof(float));
    }
done:
    fs_dataset_destroy(&test);
    return rc;
}

/*
 * Collective.  Evaluate the current global model: each rank adds the
 * metric sums of its validation part and of its slice of the test file;
 * both vectors are summed through the core (securely by default) and every
 * rank computes the same reports from the sums.
 */
fs_err fl_evaluate(fl_run *st, int round, fs_round_metrics *m)
{
    fs_err rc = FS_OK, local = FS_OK;
    double *vec = NULL;  /* (2 * len): validation sums, then test sums */
    const fs_task task = st->train->task;
    const int K = st->train->num_classes;
    const size_t len = fs_metrics_len(task, K);
    local = fs_zalloc(&vec, 2 * len, sizeof *vec, "evaluation sums");
    if (local == FS_OK && st->val) local = fs_metrics_accumulate(st->model, st->val, vec);
    if (local == FS_OK && st->test_slice)
        local = fs_metrics_accumulate(st->model, st->test_slice, vec + len);
    if (local != FS_OK) fs_error_prefix(local, "evaluation: ");
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_sum_f64(st->fed, (uint64_t)round, FS_VEC_EVAL, vec, vec, 2 * len));
    fs_metrics_report(vec, task, K, &m->val);
    fs_metrics_report(vec + len, task, K, &m->test);
    const int reg = task == FS_TASK_REGRESSION;
    m->has_val = m->val.count > 0;
    m->val_count = m->val.count;
    m->val_loss = m->val.loss;
    m->val_accuracy = reg ? m->val.rmse : m->val.accuracy;
    m->has_test = m->test.count > 0;
    m->test_count = m->test.count;
    m->test_loss = m->test.loss;
    m->test_accuracy = reg ? m->test.rmse : m->test.accuracy;
    m->evaluated = 1;
done:
    free(vec);
    return rc;
}

/* pre_name = v (a JSON number; null when not finite). */
static int put_num(json_t *o, const char *pre, const char *name, double v)
{
    char key[64];
    snprintf(key, sizeof key, "%s%s%s", pre, pre[0] ? "_" : "", name);
    return fs_json_put(o, key, fs_json_number(v));
}

/* The keys of one evaluation report, prefixed "val" or "test". */
static int put_report(json_t *o, const char *pre, const fs_eval_report *r)
{
    char key[64];
    int bad = put_num(o, pre, "loss", r->loss);
    if (r->is_regression) {
        bad |= put_num(o, pre, "rmse", r->rmse);
        bad |= put_num(o, pre, "mae", r->mae);
        return bad | put_num(o, pre, "r2", r->r2);
    }
    bad |= put_num(o, pre, "accuracy", r->accuracy);
    if (isfinite(r->macro_f1)) bad |= put_num(o, pre, "macro_f1", r->macro_f1);
    if (isfinite(r->auc)) bad |= put_num(o, pre, "auc", r->auc);
    if (r->has_confusion) {
        json_t *f1 = json_array(), *cm = json_array();
        /* per-class F1 at 6 significant digits, 0 where undefined */
        for (int k = 0; f1 && k < r->num_classes; k++)
            bad |= json_array_append_new(f1, fs_json_number_sig(isfinite(r->f1[k]) ? r->f1[k]
                                                                                    : 0.0, 6));
        for (int i = 0; cm && i < r->num_classes; i++) {
            json_t *row = fs_json_numbers(r->confusion[i], (size_t)r->num_classes);
            bad |= !row || json_array_append_new(cm, row) != 0;
        }
        snprintf(key, sizeof key, "%s_f1", pre);
        bad |= fs_json_put(o, key, f1);
        snprintf(key, sizeof key, "%s_confusion", pre);
        bad |= fs_json_put(o, key, cm);
    }
    return bad;
}

fs_err fl_metrics_line(const fl_run *st, const fs_round_metrics *m, char **line)
{
    fs_err rc = FS_OK;
    json_t *o = json_object();
    int bad = !o;
    *line = NULL;
    bad |= fs_json_put(o, "round", json_integer(m->round));
    bad |= put_num(o, "", "train_loss", m->train_loss);
    if (m->evaluated && m->has_val) bad |= put_report(o, "val", &m->val);
    if (m->evaluated && m->has_test) bad |= put_report(o, "test", &m->test);
    bad |= put_num(o, "", "clipped", m->clipped);
    if (isfinite(m->epsilon)) bad |= put_num(o, "", "epsilon", m->epsilon);
    if (isfinite(m->ddp_epsilon)) {
        bad |= put_num(o, "", "ddp_epsilon", m->ddp_epsilon);
        bad |= put_num(o, "", "ddp_clipped", m->ddp_clipped);
    }
    bad |= put_num(o, "", "seconds", m->seconds);
    bad |= put_num(o, "", "samples", m->total_samples);
    bad |= fs_json_put(o, "aggregation", json_string(fs_fed_aggregation_name(st->fed)));
    if (bad) FS_FAIL(FS_ERR_NOMEM, "out of memory formatting the metrics of round %d", m->round);
    FS_TRY(fs_json_line(o, line));
done:
    json_decref(o);
    return rc;
}

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

/* Rank-local: read the test file (imported with the shards' schema, if
 * they have one) and keep rows [lo, hi) of this rank. */
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
    /* the shards' schema was agreed at pre-flight; the test file must share it */
    FS_TRY(fs_dataset_check_schema(test, st->train->schema_hash, "the training run", test_path));
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
 * the vectors are summed through the core (securely by default) and every
 * rank computes the same reports from the sums.  Without DP both go in one
 * sum (FS_VEC_EVAL).  Under DP the test sums go alone (FS_VEC_TEST,
 * post-processing) and the validation sums only with --dp-public-metrics
 * yes (FS_VEC_EVAL, public).
 */
fs_err fl_evaluate(fl_run *st, int round, fs_round_metrics *m)
{
    fs_err rc = FS_OK, local = FS_OK;
    double *vec = NULL;  /* (2 * len): validation sums, then test sums */
    const fs_task task = st->train->task;
    const int K = st->train->num_classes;
    const size_t len = fs_metrics_len(task, K);
    const int want_val = st->release_public, want_test = !st->dp_on || st->o.fl.test[0];
    local = fs_zalloc(&vec, 2 * len, sizeof *vec, "evaluation sums");
    if (local == FS_OK && st->val && want_val) local = fs_metrics_accumulate(st->model, st->val, vec);
    if (local == FS_OK && st->test_slice)
        local = fs_metrics_accumulate(st->model, st->test_slice, vec + len);
    if (local != FS_OK) fs_error_prefix(local, "evaluation: ");
    FS_TRY(fs_fed_agree(st->fed, local));
    if (!st->dp_on) {
        FS_TRY(fs_fed_sum_f64(st->fed, (uint64_t)round, FS_VEC_EVAL, vec, vec, 2 * len));
    } else {
        if (want_val) FS_TRY(fs_fed_sum_f64(st->fed, (uint64_t)round, FS_VEC_EVAL, vec, vec, len));
        if (want_test)
            FS_TRY(fs_fed_sum_f64(st->fed, (uint64_t)round, FS_VEC_TEST, vec + len, vec + len, len));
    }
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

/*
 * Under DP with --dp-public-metrics yes: the keys of round m's line (and
 * the round-0 releases) that are exact sums, not covered by epsilon, from
 * the classes registered in the ledger, as "k1, k2, ..." in out ("" when
 * none or without DP).
 */
void fl_public_list(const fl_run *st, const fs_round_metrics *m, char *out, size_t cap)
{
    static const struct { uint32_t vid; const char *keys[3]; } map[] = {
        { FS_VEC_NSAMPLES, { "samples" } },
        { FS_VEC_TRAIN, { "train_loss", "clipped", "ddp_clipped" } },
        { FS_VEC_EVAL, { "val_*" } },
        { FS_VEC_PREP, { "impute (round 0)" } },
        { FS_VEC_PREP + 4, { "standardize (round 0)" } } };
    const fs_ledger *l = fs_fed_ledger(st->fed);
    size_t len = 0;
    out[0] = '\0';
    if (!st->dp_on) return;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (fs_ledger_vector_class(l, map[i].vid) != (int)FS_RELEASE_PUBLIC) continue;
        if (map[i].vid == FS_VEC_EVAL && !(m->evaluated && m->has_val)) continue;
        for (int k = 0; k < 3 && map[i].keys[k]; k++) {
            const char *key = map[i].keys[k];
            if (!strcmp(key, "ddp_clipped") && !isfinite(m->ddp_epsilon)) continue;
            int w = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", key);
            if (w > 0 && (size_t)w < cap - len) len += (size_t)w;
        }
    }
}

/* The JSON array of a "k1, k2" list. */
static json_t *list_array(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; arr && *p;) {
        const char *e = strstr(p, ", ");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (json_array_append_new(arr, json_stringn(p, n)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += n + (e ? 2 : 0);
    }
    return arr;
}

fs_err fl_metrics_line(const fl_run *st, const fs_round_metrics *m, char **line)
{
    fs_err rc = FS_OK;
    json_t *o = json_object();
    int bad = !o;
    *line = NULL;
    bad |= fs_json_put(o, "round", json_integer(m->round));
    if (st->release_public) bad |= put_num(o, "", "train_loss", m->train_loss);
    if (m->evaluated && m->has_val) bad |= put_report(o, "val", &m->val);
    if (m->evaluated && m->has_test) bad |= put_report(o, "test", &m->test);
    if (st->release_public) bad |= put_num(o, "", "clipped", m->clipped);
    if (isfinite(m->epsilon)) bad |= put_num(o, "", "epsilon", m->epsilon);
    if (isfinite(m->ddp_epsilon)) {
        bad |= put_num(o, "", "ddp_epsilon", m->ddp_epsilon);
        if (st->release_public) bad |= put_num(o, "", "ddp_clipped", m->ddp_clipped);
    }
    bad |= put_num(o, "", "seconds", m->seconds);
    if (st->release_public) bad |= put_num(o, "", "samples", m->total_samples);
    if (st->dp_on && st->release_public) bad |= fs_json_put(o, "public", list_array(m->public_list));
    if (m->not_private)
        bad |= fs_json_put(o, "not_private", json_string("--dp-seed: the DP noise is a function "
                                                         "of a seed, not private"));
    bad |= fs_json_put(o, "aggregation", json_string(fs_fed_aggregation_name(st->fed)));
    if (bad) FS_FAIL(FS_ERR_NOMEM, "out of memory formatting the metrics of round %d", m->round);
    FS_TRY(fs_json_line(o, line));
done:
    json_decref(o);
    return rc;
}

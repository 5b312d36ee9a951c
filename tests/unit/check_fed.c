/*
 * check_fed.c - unit tests of the federation core's pieces that need no
 * MPI: the privacy ledger (its per-round charge equals the accountant of
 * the whole run, the budget question, serialization and restore, the
 * release list; the registry of summed vectors and the durable journal:
 * replay, torn records, refused records, checkpoint states), the JSON number format, the metrics.jsonl reader (torn
 * and foreign lines), durable publishing and rank-path expansion, and the
 * score-based metric sums (fs_metrics_add_scores) against the model-based
 * ones.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_impl.h"
#include "fs_json_impl.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_fed.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_ledger.h"
#include "fedsilo/fs_metrics.h"
#include "fedsilo/fs_model.h"

#define OK(x) ck_assert_int_eq((x), FS_OK)

static char tmpdir[] = "/tmp/fs-check-fed-XXXXXX";

START_TEST(ledger_matches_accountant)
{
    // Five rounds of 25 DP-SGD steps (sigma 1.1, q 0.04) charged round by
    // round give the epsilon of 125 steps in one go; the DDP accountant
    // (z, q = 1, one step per round) is independent of it.
    fs_ledger *l = NULL;
    OK(fs_ledger_create(&l));
    double e = 0, want = 0, next = 0;
    OK(fs_ledger_epsilon(l, FS_LEDGER_DPSGD, 1e-5, &e));
    ck_assert(isnan(e));
    int exceed = 1;
    OK(fs_ledger_would_exceed(l, 1.0, 1e-5, &exceed, &next));   /* nothing enabled */
    ck_assert_int_eq(exceed, 0);
    OK(fs_ledger_enable(l, FS_LEDGER_DPSGD, 1.1, 0.04, 25));
    ck_assert_int_eq(fs_ledger_enable(l, FS_LEDGER_DPSGD, 1.1, 0.04, 25), FS_ERR_ARG);
    OK(fs_ledger_enable(l, FS_LEDGER_DDP, 2.0, 1.0, 1));
    ck_assert(fs_ledger_enabled(l, FS_LEDGER_DDP));
    for (int r = 1; r <= 5; r++) {
        OK(fs_ledger_would_exceed(l, 1e9, 1e-5, &exceed, &next));
        ck_assert_int_eq(exceed, 0);
        OK(fs_ledger_charge_round(l));
        OK(fs_ledger_epsilon(l, FS_LEDGER_DPSGD, 1e-5, &e));
        OK(fs_dp_epsilon(0.04, 1.1, 25L * r, 1e-5, &want));
        ck_assert_msg(fabs(e - want) <= 1e-12 * want, "round %d: %.17g vs %.17g", r, e, want);
        double ed = 0;
        OK(fs_ledger_epsilon(l, FS_LEDGER_DDP, 1e-5, &ed));
        OK(fs_dp_epsilon(1.0, 2.0, r, 1e-5, &want));
        ck_assert(fabs(ed - want) <= 1e-12 * want);
        ck_assert(next >= e - 1e-12);     /* the question asked before this round */
    }
    // the budget: the next round's epsilon is the larger of the two
    double e6 = 0, d6 = 0;
    OK(fs_dp_epsilon(0.04, 1.1, 150, 1e-5, &e6));
    OK(fs_dp_epsilon(1.0, 2.0, 6, 1e-5, &d6));
    OK(fs_ledger_would_exceed(l, fmin(e6, d6), 1e-5, &exceed, &next));
    ck_assert_int_eq(exceed, 1);
    ck_assert(fabs(next - fmax(e6, d6)) <= 1e-12 * next);
    OK(fs_ledger_would_exceed(l, fmax(e6, d6) * 1.0001, 1e-5, &exceed, &next));
    ck_assert_int_eq(exceed, 0);
    OK(fs_ledger_would_exceed(l, 0, 1e-5, &exceed, &next));    /* 0: no budget */
    ck_assert_int_eq(exceed, 0);
    // serialize / restore into a fresh ledger: the same epsilon
    const double *buf = NULL;
    size_t len = 0;
    OK(fs_ledger_serialize(l, FS_LEDGER_DPSGD, &buf, &len));
    ck_assert(buf && len > 0);
    fs_ledger *m = NULL;
    OK(fs_ledger_create(&m));
    ck_assert_int_eq(fs_ledger_restore(m, FS_LEDGER_DPSGD, buf, len), FS_ERR_ARG);  /* not enabled */
    OK(fs_ledger_enable(m, FS_LEDGER_DPSGD, 1.1, 0.04, 25));
    OK(fs_ledger_restore(m, FS_LEDGER_DPSGD, buf, len));
    double e2 = 0;
    OK(fs_ledger_epsilon(m, FS_LEDGER_DPSGD, 1e-5, &e2));
    OK(fs_ledger_epsilon(l, FS_LEDGER_DPSGD, 1e-5, &e));
    ck_assert(e2 == e);
    OK(fs_ledger_serialize(m, FS_LEDGER_DDP, &buf, &len));
    ck_assert(!buf && len == 0);
    // the release list keeps the first entry of a name, in order
    OK(fs_ledger_note_release(l, "update", "DP-SGD"));
    OK(fs_ledger_note_release(l, "loss sums", "public"));
    OK(fs_ledger_note_release(l, "update", "other"));
    ck_assert_uint_eq(fs_ledger_nreleases(l), 2);
    const char *name, *mech;
    ck_assert_int_eq(fs_ledger_release(l, 0, &name, &mech), 0);
    ck_assert_str_eq(name, "update");
    ck_assert_str_eq(mech, "DP-SGD");
    ck_assert_int_eq(fs_ledger_release(l, 2, &name, &mech), -1);
    fs_ledger_destroy(&l);
    fs_ledger_destroy(&m);
    ck_assert_ptr_null(l);
}
END_TEST

START_TEST(ledger_registry_and_journal)
{
    // The registry: an unregistered vector may not be summed; one quantity,
    // one class.
    fs_ledger *l = NULL, *m = NULL;
    fs_release_class cls = FS_RELEASE_DP;
    OK(fs_ledger_create(&l));
    ck_assert_int_eq(fs_ledger_check_sum(l, 7, NULL), FS_ERR_ARG);
    ck_assert_int_eq(fs_ledger_vector_class(l, 7), -1);
    OK(fs_ledger_register(l, 7, "loss sums", FS_RELEASE_PUBLIC, "exact sum"));
    OK(fs_ledger_register(l, 7, "loss sums", FS_RELEASE_PUBLIC, "exact sum"));  /* no-op */
    ck_assert_int_eq(fs_ledger_register(l, 7, "loss sums", FS_RELEASE_DP, "x"), FS_ERR_ARG);
    ck_assert_int_eq(fs_ledger_register(l, 0, "reserved", FS_RELEASE_DP, "x"), FS_ERR_ARG);
    OK(fs_ledger_check_sum(l, 7, &cls));
    ck_assert_int_eq(cls, FS_RELEASE_PUBLIC);
    ck_assert_int_eq(fs_ledger_check_sum(l, 8, NULL), FS_ERR_ARG);
    ck_assert_uint_eq(fs_ledger_nreleases(l), 1);
    ck_assert_str_eq(fs_release_class_name(fs_ledger_release_class(l, 0)), "public");
    // The journal: three charges survive a restart; a torn last record is
    // cut (its round was never sent); the replayed epsilon is the
    // accountant's; a checkpoint state is checked against the file.
    char path[200];
    long n = -1;
    snprintf(path, sizeof path, "%s/ledger.txt", tmpdir);
    ck_assert_int_eq(fs_ledger_journal_open(l, path, &n), FS_ERR_ARG);  /* no accountant */
    OK(fs_ledger_enable(l, FS_LEDGER_DPSGD, 1.1, 0.05, 20));
    OK(fs_ledger_journal_open(l, path, &n));
    ck_assert_int_eq(n, 0);
    OK(fs_ledger_charge_round(l));
    OK(fs_ledger_charge_round(l));
    const double *buf = NULL;
    size_t len = 0;
    OK(fs_ledger_serialize(l, FS_LEDGER_DPSGD, &buf, &len));
    double *after2 = malloc(len * sizeof *after2);
    ck_assert_ptr_nonnull(after2);
    memcpy(after2, buf, len * sizeof *after2);
    OK(fs_ledger_charge_round(l));
    fs_ledger_destroy(&l);
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fputs("charge 4 dpsgd 1.1 0.0", f);  /* torn: no newline */
    fclose(f);
    OK(fs_ledger_create(&m));
    OK(fs_ledger_enable(m, FS_LEDGER_DPSGD, 1.1, 0.05, 20));
    OK(fs_ledger_journal_open(m, path, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(fs_ledger_charges(m), 3);
    double e = 0, want = 0;
    OK(fs_ledger_epsilon(m, FS_LEDGER_DPSGD, 1e-5, &e));
    OK(fs_dp_epsilon(0.05, 1.1, 60, 1e-5, &want));
    ck_assert_msg(fabs(e - want) <= 1e-12 * want, "replayed %.17g vs %.17g", e, want);
    OK(fs_ledger_verify_prefix(m, FS_LEDGER_DPSGD, 2, after2, len));
    ck_assert_int_eq(fs_ledger_verify_prefix(m, FS_LEDGER_DPSGD, 1, after2, len), FS_ERR_DATA);
    ck_assert_int_eq(fs_ledger_verify_prefix(m, FS_LEDGER_DPSGD, 4, after2, len), FS_ERR_DATA);
    ck_assert_int_eq(fs_ledger_verify_prefix(m, FS_LEDGER_DDP, 2, after2, len), FS_ERR_ARG);
    fs_ledger_destroy(&m);
    // the torn record was cut from the file: 1 header + 3 records
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int lines = 0, c;
    long bytes = 0;
    while ((c = fgetc(f)) != EOF) { bytes++; lines += c == '\n'; }
    fclose(f);
    ck_assert_int_eq(lines, 4);
    ck_assert(bytes > 0);
    // a record for an accountant this run does not use, and garbage: refused
    OK(fs_ledger_create(&m));
    OK(fs_ledger_enable(m, FS_LEDGER_DDP, 2.0, 1.0, 1));
    ck_assert_int_eq(fs_ledger_journal_open(m, path, &n), FS_ERR_DATA);
    fs_ledger_destroy(&m);
    f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fputs("charge 4 dpsgd one 0.05 20\n", f);
    fclose(f);
    OK(fs_ledger_create(&m));
    OK(fs_ledger_enable(m, FS_LEDGER_DPSGD, 1.1, 0.05, 20));
    ck_assert_int_eq(fs_ledger_journal_open(m, path, &n), FS_ERR_DATA);
    fs_ledger_destroy(&m);
    free(after2);
}
END_TEST

START_TEST(json_numbers)
{
    // the metrics-line format: integers exact, reals at 9 digits, NaN null
    json_t *o = json_object();
    ck_assert_int_eq(fs_json_put(o, "a", fs_json_number(1799)), 0);
    ck_assert_int_eq(fs_json_put(o, "b", fs_json_number(1.0 / 3.0)), 0);
    ck_assert_int_eq(fs_json_put(o, "c", fs_json_number(NAN)), 0);
    ck_assert_int_eq(fs_json_put(o, "d", fs_json_number_sig(0.2608695652, 6)), 0);
    ck_assert_int_eq(fs_json_put(o, "e", fs_json_number(-2.5e-7)), 0);
    ck_assert_int_eq(fs_json_put(o, "f", NULL), -1);   /* a failed value is a failure */
    char *line = NULL;
    OK(fs_json_line(o, &line));
    ck_assert_str_eq(line, "{\"a\": 1799, \"b\": 0.333333333, \"c\": null, \"d\": 0.26087, "
                           "\"e\": -2.5e-7}");
    free(line);
    json_decref(o);
}
END_TEST

START_TEST(run_log_reader)
{
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"round\": 1, \"train_loss\": 2.5, \"val_accuracy\": 0.5, \"clipped\": 0, "
          "\"aggregation\": \"secure\"}\n", f);
    fputs("\n", f);                                   /* blank: ignored */
    fputs("not json at all\n", f);                    /* skipped, line 3 */
    fputs("{\"round\": 2, \"train_loss\": null, \"test_rmse\": 0.25, \"val_f1\": [1, 0], "
          "\"aggregation\": \"plain\"}\n", f);
    fputs("{\"train_loss\": 1}\n", f);                /* no round: skipped */
    fputs("{\"round\": 3, \"train_loss\": 1.", f);    /* torn last line: skipped */
    fclose(f);
    fs_run_log *log = NULL;
    OK(fs_run_log_read(path, &log));
    ck_assert_uint_eq(log->n, 2);
    ck_assert_uint_eq(log->skipped, 3);
    ck_assert_uint_eq(log->first_bad_line, 3);
    ck_assert(log->points[0].round == 1 && log->points[0].train_loss == 2.5 &&
              log->points[0].val_metric == 0.5 && isnan(log->points[0].test_metric));
    ck_assert(log->points[1].round == 2 && isnan(log->points[1].train_loss) &&
              log->points[1].test_metric == 0.25);
    ck_assert_int_eq(log->regression, 1);
    ck_assert_str_eq(log->aggregation, "plain");
    fs_run_log_free(&log);
    ck_assert_ptr_null(log);
    ck_assert_int_eq(fs_run_log_read("/nonexistent/m.jsonl", &log), FS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "/nonexistent/m.jsonl"));
}
END_TEST

static fs_err write_abc(FILE *f, void *user) { (void)user; fputs("abc\n", f); return FS_OK; }
static fs_err write_fail(FILE *f, void *user)
{
    (void)user;
    fputs("partial", f);
    return fs_error_set(FS_ERR_DATA, "writer failed");
}

START_TEST(files_and_paths)
{
    char path[256], buf[64], tmp[300];
    snprintf(path, sizeof path, "%s/sub/dir", tmpdir);
    OK(fs_mkdir_p(path));
    OK(fs_mkdir_p(path));   /* existing: fine */
    snprintf(path, sizeof path, "%s/sub/dir/out.txt", tmpdir);
    OK(fs_file_publish(path, write_abc, NULL));
    // a failed writer leaves the old contents and no temporary file
    ck_assert_int_eq(fs_file_publish(path, write_fail, NULL), FS_ERR_DATA);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, "abc\n");
    OK(fs_file_tmp_name(tmp, sizeof tmp, path));
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(fs_mkdir_p(path), FS_ERR_IO);   /* a file, not a directory */
    OK(fs_file_append_line(path, "line"));
    // rank paths: the pattern is never a format string
    OK(fs_path_expand_rank(buf, sizeof buf, "keys/site-%d.key", 12));
    ck_assert_str_eq(buf, "keys/site-12.key");
    OK(fs_path_expand_rank(buf, sizeof buf, "100%s-%n-%d", 3));
    ck_assert_str_eq(buf, "100%s-%n-3");
    OK(fs_path_expand_rank(buf, sizeof buf, "plain.h5", 3));
    ck_assert_str_eq(buf, "plain.h5");
    ck_assert_int_eq(fs_path_expand_rank(buf, 8, "long-name-%d.h5", 3), FS_ERR_ARG);
    ck_assert_str_eq(buf, "");
    OK(fs_path_check_pattern("a/%d.h5", "--data"));
    ck_assert_int_eq(fs_path_check_pattern("a/%s.h5", "--data"), FS_ERR_ARG);
    ck_assert_int_eq(fs_path_check_pattern("a/%d-%d.h5", "--data"), FS_ERR_ARG);
}
END_TEST

START_TEST(metrics_from_scores)
{
    // A logistic model's sums from its own outputs (fs_metrics_accumulate)
    // and from its probabilities (fs_metrics_add_scores, as a tree model
    // would pass them) give the same counts and confusion matrix, and the
    // same AUC to within one score bin.
    enum { N = 200, D = 3 };
    fs_dataset *ds = NULL;
    OK(fs_dataset_create(N, D, FS_TASK_CLASSIFICATION, 2, &ds));
    fs_rng r;
    fs_rng_seed(&r, 4);
    for (size_t i = 0; i < N * D; i++) ds->X[i] = (float)(2 * fs_rng_uniform(&r) - 1);
    for (size_t i = 0; i < N; i++) ds->y_class[i] = ds->X[i * D] + 0.3 * fs_rng_normal(&r) > 0;
    fs_model *m = NULL;
    OK(fs_model_create("logistic", D, FS_TASK_CLASSIFICATION, 2, N, &m));
    fs_model_init(m, 9);
    float *p = fs_model_params(m);
    p[0] = 3.0f;   /* a useful model: weight on feature 0 */
    const size_t len = fs_metrics_len(FS_TASK_CLASSIFICATION, 2);
    double *a = calloc(len, sizeof *a), *b = calloc(len, sizeof *b);
    float *out = malloc(N * sizeof *out);
    ck_assert(a && b && out);
    OK(fs_metrics_accumulate(m, ds, a));
    OK(fs_model_predict(m, ds->X, N, out));
    for (size_t i = 0; i < N; i++) out[i] = (float)(1.0 / (1.0 + exp(-(double)out[i])));
    OK(fs_metrics_add_scores(b, FS_TASK_CLASSIFICATION, 2, N, out, 1, ds->y_class, NULL, a[1]));
    fs_eval_report ra, rb;
    fs_metrics_report(a, FS_TASK_CLASSIFICATION, 2, &ra);
    fs_metrics_report(b, FS_TASK_CLASSIFICATION, 2, &rb);
    ck_assert(ra.count == rb.count && ra.accuracy == rb.accuracy && ra.loss == rb.loss);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) ck_assert(ra.confusion[i][j] == rb.confusion[i][j]);
    ck_assert(ra.accuracy > 0.7);
    ck_assert(fabs(ra.auc - rb.auc) <= 1e-3);
    // regression from predictions: RMSE of known errors; bad shapes refused
    float pred[3] = { 1, 2, 4 }, y[3] = { 1, 1, 1 };
    double *v = calloc(fs_metrics_len(FS_TASK_REGRESSION, 0), sizeof *v);
    ck_assert_ptr_nonnull(v);
    OK(fs_metrics_add_scores(v, FS_TASK_REGRESSION, 0, 3, pred, 1, NULL, y, 10));
    fs_eval_report rr;
    fs_metrics_report(v, FS_TASK_REGRESSION, 0, &rr);
    ck_assert(fabs(rr.rmse - sqrt(10.0 / 3)) < 1e-12 && fabs(rr.mae - 4.0 / 3) < 1e-12);
    ck_assert_int_eq(fs_metrics_add_scores(v, FS_TASK_CLASSIFICATION, 3, 3, pred, 2, ds->y_class,
                                           NULL, 0), FS_ERR_ARG);
    free(a); free(b); free(out); free(v);
    fs_model_destroy(&m);
    fs_dataset_destroy(&ds);
}
END_TEST

int main(void)
{
    if (!mkdtemp(tmpdir)) return 99;
    Suite *s = suite_create("fed");
    TCase *tc = tcase_create("fed");
    tcase_add_test(tc, ledger_matches_accountant);
    tcase_add_test(tc, ledger_registry_and_journal);
    tcase_add_test(tc, json_numbers);
    tcase_add_test(tc, run_log_reader);
    tcase_add_test(tc, files_and_paths);
    tcase_add_test(tc, metrics_from_scores);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 1;
    return nf ? 1 : 0;
}

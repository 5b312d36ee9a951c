/*
 * check_metrics.c - known-answer tests of the evaluation metrics
 * (src/train/fs_metrics.c) against scikit-learn.
 *
 * The metric-sum vectors are built two ways: by fs_metrics_accumulate on
 * tiny models with hand-set weights (a logistic model with logit = x, a
 * 2-output softmax with logits (0, x), a 6-class softmax with W = I so the
 * logits are the features, a linear model with prediction = x), so every
 * score is known exactly; and directly (confusion counts, score
 * histograms).  fs_metrics_report must then give scikit-learn's numbers.
 *
 * The reference values were generated once with Debian's scikit-learn
 * 1.2.1 (/usr/bin/python3) by this snippet and pasted below:
 *
 *   import numpy as np; from sklearn import metrics as M
 *   sig = lambda x: 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))
 *   # binary: logit = x, prediction x > 0
 *   x = np.array([-3, -2, -1.5, -.5, -.5, 0, .25, .25, .75, 1, 1.5, 2.5], np.float32)
 *   y = [0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1]; p = (x > 0).astype(int)
 *   M.accuracy_score(y, p); M.confusion_matrix(y, p)
 *   M.precision_score(y, p, average=None); M.recall_score(y, p, average=None)
 *   M.f1_score(y, p, average=None); M.f1_score(y, p, average="macro")
 *   M.roc_auc_score(y, sig(x)); M.log_loss(y, sig(x))
 *   # 6 classes: row i has logit MC_A[i] at class MC_PRED[i], 0 elsewhere;
 *   # the last row has logits (0, 1, 1, 0, 0, 0): a tie, first argmax = 1
 *   K = 6; Z = np.zeros((13, K), np.float32)
 *   for i in range(12): Z[i, MC_PRED[i]] = MC_A[i]
 *   Z[12, 1] = Z[12, 2] = 1; yl = MC_Y; pl = Z.argmax(1)
 *   P = np.exp(Z - Z.max(1, keepdims=True)); P /= P.sum(1, keepdims=True)
 *   M.accuracy_score(yl, pl); M.confusion_matrix(yl, pl, labels=range(K))
 *   M.f1_score(yl, pl, labels=range(K), average=None, zero_division=0)  # also
 *   #   precision_score, recall_score with the same arguments
 *   M.f1_score(yl, pl, average="macro", zero_division=0)
 *   M.log_loss(yl, P.astype(np.float64), labels=range(K))
 *   # regression, in float64 from the float32 values
 *   xr = [1, 0, 2.5, 3, .5, -2]; yr = [1.5, -.5, 2, 3.25, 0, -1.25]
 *   M.mean_squared_error(yr, xr, squared=False); M.mean_absolute_error(yr, xr)
 *   M.r2_score(yr, xr)
 *   yc = np.full(7, np.float32(3.3)).astype(np.float64)
 *   xc = np.array([3, 3.5, 3.25, 4, 2.5, 3.3, 3.125], np.float32).astype(np.float64)
 *   M.mean_squared_error(yc, xc, squared=False); M.mean_absolute_error(yc, xc)
 *   M.r2_score(yc, xc)                      # 0.0 (force_finite); -inf without
 *   # one class: x = [-1, .5, 2, -.25], y = [1, 1, 1, 1]
 *   M.f1_score(y, p, labels=[0, 1], average=None, zero_division=0); macro; log_loss
 *   M.roc_auc_score(y, sig(x))              # ValueError: only one class
 *   # direct 3x3 confusion counts CM3 expanded to label lists yt, yp
 *   M.precision_score(yt, yp, average=None, zero_division=0)  # recall, f1, macro
 *   # direct histograms: HP/HN bin -> count, score (bin + 0.5) / 1000
 *   M.roc_auc_score(ys, ss)
 *   # at the bin bound: logits .0036 (3 positives), .0004 (2 negatives), bin 500
 *   M.roc_auc_score([1, 1, 1, 0, 0], sig(np.float32([.0036] * 3 + [.0004] * 2)))  # 1.0
 *
 * Differences from scikit-learn, by definition (fs_fl.h): a per-class
 * precision or recall whose denominator is 0 is NaN here (scikit-learn's
 * zero_division case; 1.2 reports 0 with a warning); an F1 of a class that
 * neither occurs nor is predicted is NaN (it is not in the macro average
 * in either); R^2 of a constant target is NaN (r2_score: 0, or 1 for a
 * perfect prediction); AUC is NaN for one-class data (roc_auc_score
 * raises).  The AUC comes from a 1000-bin score histogram, so it equals
 * roc_auc_score only up to the stated bound, tested in test_auc_bound.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fedsilo/fs_metrics.h"
#include "fedsilo/fs_model.h"
#include "fs_impl.h"

enum { M_COUNT, M_LOSS, M_CORRECT, M_SQ, M_ABS, M_SY, M_SY2, M_BASE };  // src/train/fs_metrics.c layout

#define OK(x) ck_assert_int_eq((x), FS_OK)
#define B FS_METRICS_ROC_BINS

/* |got - want| <= tol * max(1, |want|), with the names in the message. */
#define NEAR(got, want, tol)                                                              \
    ck_assert_msg(fabs((double)(got) - (double)(want)) <= (tol) * fmax(1.0, fabs(want)),  \
                  "%s = %.17g, expected %.17g", #got, (double)(got), (double)(want))

/* A model of the given spec whose parameter slab is set to p (np floats). */
static fs_model *model_with(const char *spec, size_t d, fs_task task, int K, const float *p,
                            size_t np)
{
    fs_model *m = NULL;
    OK(fs_model_create(spec, d, task, K, 4, &m));  // max_batch 4: rows span batches
    ck_assert_uint_eq(fs_model_nparams(m), np);
    memcpy(fs_model_params(m), p, np * sizeof *p);
    return m;
}

/* A dataset of rows [lo, hi) of X (d per row) and labels yc or targets yr. */
static fs_dataset *data_of(size_t lo, size_t hi, size_t d, fs_task task, int K, const float *X,
                           const int32_t *yc, const float *yr)
{
    fs_dataset *ds = NULL;
    OK(fs_dataset_create(hi - lo, d, task, K, &ds));
    if (hi > lo) memcpy(ds->X, X + lo * d, (hi - lo) * d * sizeof *X);
    for (size_t i = lo; i < hi; i++) {
        if (yc) ds->y_class[i - lo] = yc[i];
        else ds->y_reg[i - lo] = yr[i];
    }
    return ds;
}

/* The report of model m on all n rows, accumulated in one call, and (in
 * *split) the report of the sum of three vectors accumulated on three
 * parts of the rows: the federated form, which must be the same. */
static void report_of(fs_model *m, size_t n, size_t d, fs_task task, int K, const float *X,
                      const int32_t *yc, const float *yr, fs_eval_report *r, fs_eval_report *split)
{
    const size_t len = fs_metrics_len(task, K);
    double *v = calloc(len, sizeof *v), *w = calloc(len, sizeof *w), *t = calloc(len, sizeof *t);
    ck_assert(v && w && t);
    fs_dataset *ds = data_of(0, n, d, task, K, X, yc, yr);
    OK(fs_metrics_accumulate(m, ds, v));
    fs_dataset_destroy(&ds);
    const size_t cut[4] = { 0, n / 3, n / 3 + 1, n };
    for (int p = 0; p < 3; p++) {
        memset(t, 0, len * sizeof *t);
        ds = data_of(cut[p], cut[p + 1], d, task, K, X, yc, yr);
        OK(fs_metrics_accumulate(m, ds, t));
        fs_dataset_destroy(&ds);
        for (size_t i = 0; i < len; i++) w[i] += t[i];
    }
    /* counts (everything but the loss and error sums) add up exactly */
    for (size_t i = 0; i < len; i++)
        if (i != M_LOSS && i != M_SQ && i != M_ABS && i != M_SY && i != M_SY2)
            ck_assert_msg(v[i] == w[i], "sum %zu: %g whole vs %g split", i, v[i], w[i]);
    fs_metrics_report(v, task, K, r);
    fs_metrics_report(w, task, K, split);
    free(v); free(w); free(t);
}

/* The split report equals the whole one (to the rounding of the sums). */
static void same_report(const fs_eval_report *a, const fs_eval_report *b)
{
    ck_assert(a->count == b->count);
    NEAR(a->loss, b->loss, 1e-12);
    if (a->is_regression) {
        NEAR(a->rmse, b->rmse, 1e-12);
        NEAR(a->mae, b->mae, 1e-12);
        ck_assert(isnan(a->r2) == isnan(b->r2));
        if (!isnan(a->r2)) NEAR(a->r2, b->r2, 1e-12);
        return;
    }
    ck_assert(a->accuracy == b->accuracy);
    ck_assert(memcmp(&a->macro_f1, &b->macro_f1, sizeof(double)) == 0);
    ck_assert(memcmp(&a->auc, &b->auc, sizeof(double)) == 0);
    ck_assert(memcmp(a->confusion, b->confusion, sizeof a->confusion) == 0);
}

// ----------------------------------------------------------------------------
// binary classification

static const float BIN_X[12] = { -3, -2, -1.5f, -0.5f, -0.5f, 0, 0.25f, 0.25f, 0.75f, 1, 1.5f, 2.5f };
static const int32_t BIN_Y[12] = { 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1 };
static const double BIN_ACC = 0.5833333333333334;
static const double BIN_CM[2][2] = { { 3, 2 }, { 3, 4 } };
static const double BIN_PREC[2] = { 0.5, 0.6666666666666666 };
static const double BIN_REC[2] = { 0.6, 0.5714285714285714 };
static const double BIN_F1[2] = { 0.5454545454545454, 0.6153846153846153 };
static const double BIN_MACRO = 0.5804195804195804;
static const double BIN_AUC = 0.7142857142857143;
static const double BIN_LOGLOSS = 0.6167120279321447;

static void check_binary(const fs_eval_report *r)
{
    ck_assert(r->count == 12 && !r->is_regression && r->num_classes == 2 && r->has_confusion);
    NEAR(r->accuracy, BIN_ACC, 1e-15);
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) ck_assert(r->confusion[i][j] == BIN_CM[i][j]);
        NEAR(r->precision[i], BIN_PREC[i], 1e-15);
        NEAR(r->recall[i], BIN_REC[i], 1e-15);
        NEAR(r->f1[i], BIN_F1[i], 1e-15);
    }
    NEAR(r->macro_f1, BIN_MACRO, 1e-15);
    /* Tied scores (x = -0.5 and 0.25, one row of each class) share a bin
     * and count 1/2 both here and in roc_auc_score; no two different
     * scores share a bin (bins 47..924), so the histogram AUC is exact. */
    NEAR(r->auc, BIN_AUC, 1e-15);
    NEAR(r->loss, BIN_LOGLOSS, 1e-6);  // per-row losses are float32
    ck_assert(isnan(r->rmse) && isnan(r->mae) && isnan(r->r2));
}

START_TEST(test_binary)
{
    /* logistic: W = 1, b = 0, so the logit is x and the score sigmoid(x) */
    const float lp[2] = { 1, 0 };
    fs_model *m = model_with("logistic", 1, FS_TASK_CLASSIFICATION, 2, lp, 2);
    fs_eval_report r, s;
    report_of(m, 12, 1, FS_TASK_CLASSIFICATION, 2, BIN_X, BIN_Y, NULL, &r, &s);
    check_binary(&r);
    check_binary(&s);
    same_report(&r, &s);
    fs_model_destroy(&m);
    /* softmax with 2 outputs: W = (0, 1)^T, b = 0, logits (0, x): the same
     * scores (softmax of 2 = sigmoid of the difference), the same argmax
     * (the tie at x = 0 goes to class 0) and the same loss */
    const float sp[4] = { 0, 1, 0, 0 };
    m = model_with("softmax", 1, FS_TASK_CLASSIFICATION, 2, sp, 4);
    report_of(m, 12, 1, FS_TASK_CLASSIFICATION, 2, BIN_X, BIN_Y, NULL, &r, &s);
    check_binary(&r);
    same_report(&r, &s);
    fs_model_destroy(&m);
}
END_TEST

/* One class present: roc_auc_score raises; here AUC is NaN, and the class
 * that is predicted but never occurs has F1 0 and counts in macro F1. */
START_TEST(test_one_class)
{
    const float X[4] = { -1, 0.5f, 2, -0.25f };
    const int32_t Y[4] = { 1, 1, 1, 1 };
    const float lp[2] = { 1, 0 };
    fs_model *m = model_with("logistic", 1, FS_TASK_CLASSIFICATION, 2, lp, 2);
    fs_eval_report r, s;
    report_of(m, 4, 1, FS_TASK_CLASSIFICATION, 2, X, Y, NULL, &r, &s);
    same_report(&r, &s);
    NEAR(r.accuracy, 0.5, 0);
    ck_assert(isnan(r.auc));
    ck_assert(isnan(r.recall[0]));          // class 0 never occurs
    NEAR(r.precision[0], 0.0, 0);           // predicted twice, never right
    NEAR(r.f1[0], 0.0, 0);
    NEAR(r.f1[1], 0.6666666666666666, 1e-15);
    NEAR(r.macro_f1, 0.3333333333333333, 1e-15);
    NEAR(r.loss, 0.6850515256550365, 1e-6);
    fs_model_destroy(&m);
}
END_TEST

// ----------------------------------------------------------------------------
// multi-class

#define MC_K 6
#define MC_N 13
static const int32_t MC_Y[MC_N] = { 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 0, 1, 2 };
static const int MC_PRED[MC_N - 1] = { 0, 0, 1, 1, 2, 2, 2, 0, 0, 2, 4, 4 };
static const float MC_A[MC_N - 1] = { 2, 1, 0.5f, 3, 1.5f, 2.5f, 0.75f, 1.25f, 2, 1, 0.5f, 2 };
static const double MC_ACC = 0.38461538461538464;
static const double MC_CM[MC_K][MC_K] = {
    { 2, 1, 0, 0, 1, 0 }, { 0, 1, 1, 0, 1, 0 }, { 1, 1, 2, 0, 0, 0 },
    { 1, 0, 1, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0 }
};
/* scikit-learn with labels=range(6), zero_division=0 */
static const double MC_PREC[MC_K] = { 0.5, 0.3333333333333333, 0.5, 0.0, 0.0, 0.0 };
static const double MC_REC[MC_K] = { 0.5, 0.3333333333333333, 0.5, 0.0, 0.0, 0.0 };
static const double MC_F1[MC_K] = { 0.5, 0.3333333333333333, 0.5, 0.0, 0.0, 0.0 };
static const double MC_MACRO = 0.26666666666666666;  // over classes 0..4
static const double MC_LOGLOSS = 1.526001982008304;

START_TEST(test_multiclass)
{
    float X[MC_N * MC_K] = { 0 }, W[MC_K * MC_K + MC_K] = { 0 };
    for (int i = 0; i < MC_N - 1; i++) X[i * MC_K + MC_PRED[i]] = MC_A[i];
    X[(MC_N - 1) * MC_K + 1] = X[(MC_N - 1) * MC_K + 2] = 1;  // tie: first argmax, class 1
    for (int k = 0; k < MC_K; k++) W[k * MC_K + k] = 1;       // W = I, b = 0
    fs_model *m = model_with("softmax", MC_K, FS_TASK_CLASSIFICATION, MC_K, W, MC_K * MC_K + MC_K);
    fs_eval_report r, s;
    report_of(m, MC_N, MC_K, FS_TASK_CLASSIFICATION, MC_K, X, MC_Y, NULL, &r, &s);
    same_report(&r, &s);
    ck_assert(r.has_confusion && r.num_classes == MC_K);
    NEAR(r.accuracy, MC_ACC, 1e-15);
    for (int i = 0; i < MC_K; i++)
        for (int j = 0; j < MC_K; j++)
            ck_assert_msg(r.confusion[i][j] == MC_CM[i][j], "confusion[%d][%d]", i, j);
    for (int k = 0; k < 3; k++) {
        NEAR(r.precision[k], MC_PREC[k], 1e-15);
        NEAR(r.recall[k], MC_REC[k], 1e-15);
        NEAR(r.f1[k], MC_F1[k], 1e-15);
    }
    /* class 3 occurs but is never predicted: precision 0/0 */
    ck_assert(isnan(r.precision[3]));
    NEAR(r.recall[3], MC_REC[3], 0);
    NEAR(r.f1[3], MC_F1[3], 0);
    /* class 4 is predicted but never occurs: recall 0/0 */
    NEAR(r.precision[4], MC_PREC[4], 0);
    ck_assert(isnan(r.recall[4]));
    NEAR(r.f1[4], MC_F1[4], 0);
    /* class 5 does neither: undefined, and not in the macro average */
    ck_assert(isnan(r.precision[5]) && isnan(r.recall[5]) && isnan(r.f1[5]));
    NEAR(r.macro_f1, MC_MACRO, 1e-15);
    NEAR(r.loss, MC_LOGLOSS, 1e-6);
    ck_assert(isnan(r.auc));  // AUC is defined for binary tasks only
    fs_model_destroy(&m);
}
END_TEST

/* More classes than FS_METRICS_MAX_CLASSES: only accuracy and loss, no
 * confusion sums in the vector. */
START_TEST(test_many_classes)
{
    enum { K = FS_METRICS_MAX_CLASSES + 1 };
    ck_assert_uint_eq(fs_metrics_len(FS_TASK_CLASSIFICATION, K), M_BASE);
    ck_assert_uint_eq(fs_metrics_len(FS_TASK_CLASSIFICATION, K - 1),
                      M_BASE + (size_t)(K - 1) * (K - 1));
    ck_assert_uint_eq(fs_metrics_len(FS_TASK_CLASSIFICATION, 2), M_BASE + 4 + 2 * B);
    ck_assert_uint_eq(fs_metrics_len(FS_TASK_REGRESSION, 0), M_BASE);
    float X[3 * K] = { 0 }, W[K * K + K] = { 0 };
    const int32_t Y[3] = { 5, 7, 32 };
    X[0 * K + 5] = 1;   // right
    X[1 * K + 8] = 1;   // wrong
    X[2 * K + 32] = 1;  // right
    for (int k = 0; k < K; k++) W[k * K + k] = 1;
    fs_model *m = model_with("softmax", K, FS_TASK_CLASSIFICATION, K, W, K * K + K);
    fs_eval_report r, s;
    report_of(m, 3, K, FS_TASK_CLASSIFICATION, K, X, Y, NULL, &r, &s);
    NEAR(r.accuracy, 2.0 / 3.0, 1e-15);
    ck_assert(!r.has_confusion && isnan(r.macro_f1) && isnan(r.auc));
    /* CE of a one-hot logit 1 among K zeros: log(K - 1 + e) - 1 or log(K - 1 + e) */
    NEAR(r.loss, (2 * (log(K - 1 + M_E) - 1) + log(K - 1 + M_E)) / 3, 1e-6);
    fs_model_destroy(&m);
}
END_TEST

// ----------------------------------------------------------------------------
// directly built sums

/* A 3-class confusion matrix with large counts; class 2 is never
 * predicted right (nor at all). */
START_TEST(test_direct_confusion)
{
    static const double CM3[3][3] = { { 50, 7, 3 }, { 4, 61, 0 }, { 9, 2, 0 } };
    static const double PREC[3] = { 0.7936507936507936, 0.8714285714285714, 0.0 };
    static const double REC[3] = { 0.8333333333333334, 0.9384615384615385, 0.0 };
    static const double F1[3] = { 0.8130081300813008, 0.9037037037037037, 0.0 };
    const size_t len = fs_metrics_len(FS_TASK_CLASSIFICATION, 3);
    double *v = calloc(len, sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            v[M_BASE + 3 * i + j] = CM3[i][j];
            v[M_COUNT] += CM3[i][j];
            if (i == j) v[M_CORRECT] += CM3[i][j];
        }
    v[M_LOSS] = 0.25 * v[M_COUNT];
    fs_eval_report r;
    fs_metrics_report(v, FS_TASK_CLASSIFICATION, 3, &r);
    NEAR(r.accuracy, 0.8161764705882353, 1e-15);
    NEAR(r.loss, 0.25, 1e-15);
    for (int k = 0; k < 3; k++) {
        NEAR(r.precision[k], PREC[k], 1e-15);
        NEAR(r.recall[k], REC[k], 1e-15);
        NEAR(r.f1[k], F1[k], 1e-15);
    }
    NEAR(r.macro_f1, 0.5722372779283348, 1e-15);
    free(v);
}
END_TEST

/* Histograms set directly: every score of a bin is its centre, so equal
 * bins mean equal scores and the histogram AUC is the exact AUC. */
START_TEST(test_direct_histogram)
{
    static const int HP[][2] = { { 100, 3 }, { 500, 5 }, { 501, 2 }, { 900, 7 }, { 999, 1 } };
    static const int HN[][2] = { { 0, 4 }, { 100, 2 }, { 499, 6 }, { 500, 3 }, { 901, 1 } };
    const size_t len = fs_metrics_len(FS_TASK_CLASSIFICATION, 2);
    double *v = calloc(len, sizeof *v);
    ck_assert_ptr_nonnull(v);
    double *hpos = v + M_BASE + 4, *hneg = hpos + B;
    for (int i = 0; i < 5; i++) {
        hpos[HP[i][0]] = HP[i][1];
        hneg[HN[i][0]] = HN[i][1];
        v[M_COUNT] += HP[i][1] + HN[i][1];
    }
    fs_eval_report r;
    fs_metrics_report(v, FS_TASK_CLASSIFICATION, 2, &r);
    NEAR(r.auc, 0.810763888888889, 1e-15);
    /* only negatives: undefined */
    memset(hpos, 0, B * sizeof *hpos);
    fs_metrics_report(v, FS_TASK_CLASSIFICATION, 2, &r);
    ck_assert(isnan(r.auc));
    free(v);
}
END_TEST

// ----------------------------------------------------------------------------
// the error bound of the histogram AUC

/* Score and bin of a logit exactly as fs_metrics_accumulate computes them
 * for a logistic model (the bin is the definition the bound refers to). */
static double score_of(float z) { return 1.0 / (1.0 + exp(-(double)z)); }
static int bin_of(double s)
{
    int b = (int)(s * B);
    return b >= B ? B - 1 : b < 0 ? 0 : b;
}

/* Exact AUC of (logit, label) rows by enumerating all pairs, as
 * roc_auc_score defines it (ties 1/2), and the fraction of pairs whose
 * scores differ but share a bin; then the histogram AUC of fs_metrics. */
static void auc_pair(const float *z, const int32_t *y, size_t n, double *exact, double *frac,
                     double *hist)
{
    double num = 0, same = 0, pairs = 0, *sc = malloc(n * sizeof *sc);
    ck_assert_ptr_nonnull(sc);
    for (size_t i = 0; i < n; i++) sc[i] = score_of(z[i]);
    for (size_t i = 0; i < n; i++) {
        if (y[i] != 1) continue;
        for (size_t j = 0; j < n; j++) {
            if (y[j] != 0) continue;
            const double si = sc[i], sj = sc[j];
            num += si > sj ? 1.0 : si == sj ? 0.5 : 0.0;
            same += si != sj && bin_of(si) == bin_of(sj);
            pairs += 1;
        }
    }
    free(sc);
    *exact = num / pairs;
    *frac = same / pairs;
    const float lp[2] = { 1, 0 };
    fs_model *m = model_with("logistic", 1, FS_TASK_CLASSIFICATION, 2, lp, 2);
    fs_eval_report r, s;
    report_of(m, n, 1, FS_TASK_CLASSIFICATION, 2, z, y, NULL, &r, &s);
    same_report(&r, &s);
    *hist = r.auc;
    fs_model_destroy(&m);
}

START_TEST(test_auc_bound)
{
    double exact, frac, hist;
    /* At the bound: every positive scores 0.5009 and every negative 0.5001,
     * one bin.  roc_auc_score = 1.0; the histogram gives 1/2; the bound is
     * 1/2 * 1 (all pairs differ within a bin): equality. */
    const float zb[5] = { 0.0036f, 0.0036f, 0.0036f, 0.0004f, 0.0004f };
    const int32_t yb[5] = { 1, 1, 1, 0, 0 };
    auc_pair(zb, yb, 5, &exact, &frac, &hist);
    NEAR(exact, 1.0, 0);  // scikit-learn: 1.0
    NEAR(frac, 1.0, 0);
    NEAR(hist, 0.5, 1e-15);
    ck_assert(fabs(hist - exact) <= 0.5 * frac + 1e-15);
    /* Seeded random cases: scores spread over [0, 1] (bound small), and
     * squeezed into a few bins with positives higher within them (bound
     * large and nearly reached). */
    enum { N = 1500 };
    float *z = malloc(N * sizeof *z);
    int32_t *y = malloc(N * sizeof *y);
    ck_assert(z && y);
    fs_rng rng;
    for (int c = 0; c < 3; c++) {
        fs_rng_seed(&rng, fs_rng_key(0x61756362 /* "aucb" */, (uint64_t)c, 0, 0));
        for (size_t i = 0; i < N; i++) {
            y[i] = fs_rng_uniform(&rng) < 0.4;
            double u = fs_rng_uniform(&rng);
            double s = c == 0 ? 0.15 + 0.7 * (0.6 * u + 0.4 * y[i])     // wide
                     : c == 1 ? 0.5 + 0.003 * (0.5 * u + 0.5 * y[i])    // 3 bins
                              : 0.7002 + 0.0006 * (0.6 * u + 0.4 * y[i]);  // bin 700 only
            z[i] = (float)log(s / (1 - s));
        }
        auc_pair(z, y, N, &exact, &frac, &hist);
        const double err = fabs(hist - exact);
        ck_assert_msg(err <= 0.5 * frac + 1e-12, "case %d: |%.12g - %.12g| > %.3g / 2", c, hist,
                      exact, frac);
        if (c == 0) ck_assert_msg(frac < 0.01 && err < 0.005, "case 0: bound %g", frac);
        if (c == 2) ck_assert_msg(err >= 0.8 * 0.5 * frac, "case 2: error %g, bound %g", err,
                                  0.5 * frac);
    }
    free(z);
    free(y);
}
END_TEST

// ----------------------------------------------------------------------------
// regression

START_TEST(test_regression)
{
    const float X[6] = { 1, 0, 2.5f, 3, 0.5f, -2 }, Y[6] = { 1.5f, -0.5f, 2, 3.25f, 0, -1.25f };
    const float lp[2] = { 1, 0 };  // prediction = x
    fs_model *m = model_with("linear", 1, FS_TASK_REGRESSION, 0, lp, 2);
    fs_eval_report r, s;
    report_of(m, 6, 1, FS_TASK_REGRESSION, 0, X, NULL, Y, &r, &s);
    same_report(&r, &s);
    ck_assert(r.is_regression && r.count == 6);
    NEAR(r.rmse, 0.5204164998665332, 1e-15);
    NEAR(r.mae, 0.5, 1e-15);
    NEAR(r.r2, 0.8876080691642652, 1e-14);
    NEAR(r.loss, 0.5204164998665332 * 0.5204164998665332, 1e-15);  // MSE
    ck_assert(isnan(r.accuracy) && isnan(r.macro_f1) && isnan(r.auc));
    fs_model_destroy(&m);
}
END_TEST

/* A constant target: SST is 0 in exact arithmetic, but the uncentered sums
 * of 3.3f leave a residue of about 1e-14, which used to give an R^2 of
 * about -3e12.  Undefined: NaN (r2_score gives 0.0, or 1.0 when perfect). */
START_TEST(test_regression_constant)
{
    const float X[7] = { 3, 3.5f, 3.25f, 4, 2.5f, 3.3f, 3.125f };
    float Y[7];
    for (int i = 0; i < 7; i++) Y[i] = 3.3f;
    const float lp[2] = { 1, 0 };
    fs_model *m = model_with("linear", 1, FS_TASK_REGRESSION, 0, lp, 2);
    fs_eval_report r, s;
    report_of(m, 7, 1, FS_TASK_REGRESSION, 0, X, NULL, Y, &r, &s);
    same_report(&r, &s);
    NEAR(r.rmse, 0.4298047662218037, 1e-14);
    NEAR(r.mae, 0.31785712923322407, 1e-14);
    ck_assert_msg(isnan(r.r2), "R^2 of a constant target is %g", r.r2);
    report_of(m, 7, 1, FS_TASK_REGRESSION, 0, Y, NULL, Y, &r, &s);  // perfect prediction
    ck_assert(isnan(r.r2) && r.rmse == 0 && r.mae == 0);
    /* one row at 3.4: SST = 0.0086 is far above the rounding level of the
     * sums (2 n eps sum y^2 = 2.4e-13), so R^2 is defined again */
    Y[6] = 3.4f;
    report_of(m, 7, 1, FS_TASK_REGRESSION, 0, Y, NULL, Y, &r, &s);
    NEAR(r.r2, 1.0, 0);
    fs_model_destroy(&m);
}
END_TEST

// ----------------------------------------------------------------------------
// empty inputs

START_TEST(test_empty)
{
    static const struct { fs_task task; int K; } cases[] = {
        { FS_TASK_CLASSIFICATION, 2 }, { FS_TASK_CLASSIFICATION, 5 },
        { FS_TASK_CLASSIFICATION, 40 }, { FS_TASK_REGRESSION, 0 }
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const fs_task task = cases[c].task;
        const int K = cases[c].K;
        const size_t len = fs_metrics_len(task, K);
        double *v = calloc(len, sizeof *v);
        ck_assert_ptr_nonnull(v);
        /* accumulate over zero rows (a rank without a validation part) */
        const size_t d = 3, np = task == FS_TASK_REGRESSION ? d + 1 : K == 2 ? d + 1 : K * (d + 1);
        float *p = calloc(np, sizeof *p);
        ck_assert_ptr_nonnull(p);
        const char *spec = task == FS_TASK_REGRESSION ? "linear" : K == 2 ? "logistic" : "softmax";
        fs_model *m = model_with(spec, d, task, K, p, np);
        fs_dataset *ds = NULL;
        OK(fs_dataset_create(0, d, task, K, &ds));
        OK(fs_metrics_accumulate(m, ds, v));
        for (size_t i = 0; i < len; i++) ck_assert(v[i] == 0);
        fs_eval_report r;
        fs_metrics_report(v, task, K, &r);
        ck_assert(r.count == 0 && r.num_classes == K);
        ck_assert(isnan(r.loss) && isnan(r.accuracy) && isnan(r.macro_f1) && isnan(r.auc));
        ck_assert(isnan(r.rmse) && isnan(r.mae) && isnan(r.r2));
        ck_assert(!r.has_confusion);
        fs_dataset_destroy(&ds);
        fs_model_destroy(&m);
        free(p);
        free(v);
    }
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *c = tcase_create("classification");
    tcase_add_test(c, test_binary);
    tcase_add_test(c, test_one_class);
    tcase_add_test(c, test_multiclass);
    tcase_add_test(c, test_many_classes);
    tcase_add_test(c, test_direct_confusion);
    tcase_add_test(c, test_direct_histogram);
    tcase_add_test(c, test_auc_bound);
    suite_add_tcase(s, c);
    TCase *g = tcase_create("regression");
    tcase_add_test(g, test_regression);
    tcase_add_test(g, test_regression_constant);
    suite_add_tcase(s, g);
    TCase *e = tcase_create("empty");
    tcase_add_test(e, test_empty);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

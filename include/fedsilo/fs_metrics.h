/*
 * fs_metrics.h - evaluation metrics from additive sums (train layer; no
 * MPI).  Every metric is a function of sums over rows, so each institution
 * adds the sums of its own rows into a vector, the vectors are summed
 * (securely) like any other statistic, and fs_metrics_report computes the
 * metrics of the pooled data: the numbers a centralized evaluation gives.
 */
#ifndef FEDSILO_FS_METRICS_H
#define FEDSILO_FS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_data.h"
#include "fs_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Evaluation report of a model on data (possibly spread over ranks: every
 * field is derived from sums, so the report of the securely summed sums
 * equals the centralized one).  loss is the mean log loss (classification)
 * or the mean squared error (regression).
 *
 * Classification: accuracy; for 2..FS_METRICS_MAX_CLASSES classes the
 * confusion matrix (row = true class, column = predicted), per-class
 * precision and recall (NaN when the class is never predicted, resp. never
 * occurs: scikit-learn's zero_division case), per-class F1 (0 for a class
 * that occurs or is predicted but has no true positive, as scikit-learn's
 * default; NaN for a class that does neither) and macro F1, the mean F1
 * over the classes that occur or are predicted (scikit-learn's default
 * label set).  More classes: accuracy only (macro_f1 NaN).
 *
 * ROC AUC, binary tasks only (NaN otherwise, and NaN when one class is
 * absent), from a histogram of the positive-class score with
 * FS_METRICS_ROC_BINS equal bins over [0, 1]: a (positive, negative) pair
 * counts 1 if the positive's bin is higher, 1/2 if the bins are equal.  The
 * exact AUC counts 1/2 only for equal scores, so
 *   |auc - exact AUC| <= 1/2 * (fraction of pairs whose scores differ but
 *                               fall in the same bin).
 *
 * Regression: RMSE, MAE, R^2 = 1 - SSE/SST.  R^2 is NaN when the target is
 * constant (SST at the rounding level of the sums), where scikit-learn's
 * r2_score returns 0 (or 1 for a perfect prediction).  Undefined values are
 * NaN, and every metric is NaN when count is 0.
 */
#define FS_METRICS_MAX_CLASSES 32
#define FS_METRICS_ROC_BINS 1000

typedef struct {
    double count;          /* rows evaluated (0: nothing evaluated)          */
    double loss;           /* mean loss                                      */
    int is_regression;
    int num_classes;
    double accuracy;       /* classification                                 */
    double macro_f1;
    double auc;            /* binary classification only, else NaN          */
    double precision[FS_METRICS_MAX_CLASSES], recall[FS_METRICS_MAX_CLASSES],
           f1[FS_METRICS_MAX_CLASSES];
    double confusion[FS_METRICS_MAX_CLASSES][FS_METRICS_MAX_CLASSES];
    int has_confusion;     /* num_classes <= FS_METRICS_MAX_CLASSES          */
    double rmse, mae, r2;  /* regression                                     */
} fs_eval_report;

/*
 * The sum vector.  fs_metrics_len(task, K) doubles of additive sums, laid
 * out as
 *   [0] count [1] loss sum [2] correct [3] squared error [4] absolute error
 *   [5] sum y [6] sum y^2, then K*K confusion counts (2 <= K <= 32), then
 *   for K == 2 the positive and negative score histograms (2 * ROC_BINS).
 * Vectors of different ranks (or data parts) are summed element-wise.
 * Not collective; every function here is pure.
 */
FS_EXPORT size_t fs_metrics_len(fs_task task, int num_classes);

/*
 * fs_metrics_accumulate - add the sums of model m on every row of ds to vec
 * (fs_metrics_len(ds->task, ds->num_classes) doubles, caller-owned).
 * returns FS_OK, FS_ERR_NOMEM, or the model's evaluation error.
 */
FS_EXPORT fs_err fs_metrics_accumulate(fs_model *m, const fs_dataset *ds, double *vec)
    FS_WARN_UNUSED;

/*
 * fs_metrics_add_scores - add the sums of n rows from predictions alone, for
 * models that are not fs_model (trees): classification scores are class
 * probabilities, (n, K) row-major, or for K == 2 with nout == 1 the
 * probability of class 1; regression scores are the predictions (nout 1).
 * The predicted class is the argmax (ties: the lower class; nout == 1: class
 * 1 iff p > 1/2); the ROC histograms bin P(class 1).  loss_sum is the
 * caller's loss over the n rows (added as is).  y_class (classification)
 * or y_reg (regression) holds the n labels.
 * returns FS_OK, or FS_ERR_ARG (nout does not fit the task, label out of
 * range; vec is then unchanged).
 */
FS_EXPORT fs_err fs_metrics_add_scores(double *vec, fs_task task, int num_classes, size_t n,
                                       const float *scores, size_t nout,
                                       const int32_t *y_class, const float *y_reg,
                                       double loss_sum) FS_WARN_UNUSED;

/* fs_metrics_report - the report of a (summed) vector; undefined values NaN. */
FS_EXPORT void fs_metrics_report(const double *vec, fs_task task, int num_classes,
                                 fs_eval_report *out);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_METRICS_H */

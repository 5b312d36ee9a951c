/*
 * fs_metrics.c - evaluation metrics from additive sums (train layer, no MPI).
 *
 * Every metric of fs_eval_report is a function of sums over rows, so each
 * rank adds the sums of its own rows into a vector (fs_metrics_accumulate),
 * the vectors go through the secure sum like any other statistic, and
 * fs_metrics_report computes the metrics of the pooled data: the same
 * numbers a centralized evaluation gives (to the statistics codec's
 * precision), without any rank revealing its own counts.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_metrics.h"

enum { M_COUNT, M_LOSS, M_CORRECT, M_SQ, M_ABS, M_SY, M_SY2, M_BASE };

static int has_conf(fs_task task, int K)
{
    return task == FS_TASK_CLASSIFICATION && K >= 2 && K <= FS_METRICS_MAX_CLASSES;
}

size_t fs_metrics_len(fs_task task, int K)
{
    size_t n = M_BASE;
    if (has_conf(task, K)) n += (size_t)K * (size_t)K;
    if (task == FS_TASK_CLASSIFICATION && K == 2) n += 2 * FS_METRICS_ROC_BINS;
    return n;
}

/* Score of the positive class from the raw outputs of one row. */
static double pos_score(const float *o, size_t nout)
{
    if (nout == 1) return 1.0 / (1.0 + exp(-(double)o[0]));   /* logistic */
    return 1.0 / (1.0 + exp((double)o[0] - (double)o[1]));     /* softmax of 2 */
}

/* One classified row: its confusion cell (when kept) and, for K == 2, the
 * bin of P(class 1) = p1 in the positive or negative score histogram. */
static void add_class_row(double *cm, double *hpos, double *hneg, int K, int conf, int y,
                          int pred, double p1)
{
    if (conf) cm[(size_t)y * K + pred] += 1.0;
    if (K == 2) {
        int bin = (int)(p1 * FS_METRICS_ROC_BINS);
        if (bin >= FS_METRICS_ROC_BINS) bin = FS_METRICS_ROC_BINS - 1;
        if (bin < 0) bin = 0;
        (y == 1 ? hpos : hneg)[bin] += 1.0;
    }
}

fs_err fs_metrics_accumulate(fs_model *m, const fs_dataset *ds, double *vec)
{
    fs_err rc = FS_OK;
    float *out = NULL;  /* (B, nout) raw outputs of one batch */
    fs_eval_sums s = { 0 };
    const int K = ds->num_classes;
    const int cls = ds->task == FS_TASK_CLASSIFICATION, conf = has_conf(ds->task, K);
    const size_t B = fs_model_max_batch(m), nout = fs_model_noutputs(m);
    double *cm = vec + M_BASE;
    double *hpos = cm + (conf ? (size_t)K * K : 0), *hneg = hpos + FS_METRICS_ROC_BINS;

    FS_TRY(fs_model_evaluate(m, ds, &s));
    vec[M_COUNT] += s.count;
    vec[M_LOSS] += s.loss_sum;
    vec[M_CORRECT] += s.correct;
    vec[M_SQ] += s.sq_err;
    vec[M_ABS] += s.abs_err;
    if (!cls) {
        for (size_t i = 0; i < ds->n; i++) {
            vec[M_SY] += ds->y_reg[i];
            vec[M_SY2] += (double)ds->y_reg[i] * ds->y_reg[i];
        }
        goto done;
    }
    if (!conf && K != 2) goto done;
    FS_TRY(fs_alloc(&out, B * nout, sizeof(float), "evaluation outputs"));
    for (size_t start = 0; start < ds->n; start += B) {
        size_t b = ds->n - start < B ? ds->n - start : B;
        FS_TRY(fs_model_predict(m, ds->X + start * ds->d, b, out));
        for (size_t r = 0; r < b; r++) {
            const float *o = out + r * nout;
            const int y = ds->y_class[start + r];
            int pred = 0;
            if (nout == 1) {
                pred = o[0] > 0.0f;
            } else {
                for (size_t c = 1; c < nout; c++) if (o[c] > o[pred]) pred = (int)c;
            }
            add_class_row(cm, hpos, hneg, K, conf, y, pred, K == 2 ? pos_score(o, nout) : 0);
        }
    }
done:
    free(out);
    return rc;
}

fs_err fs_metrics_add_scores(double *vec, fs_task task, int K, size_t n, const float *scores,
                             size_t nout, const int32_t *y_class, const float *y_reg,
                             double loss_sum)
{
    const int cls = task == FS_TASK_CLASSIFICATION, conf = has_conf(task, K);
    if (cls ? !(K >= 2 && y_class && (nout == (size_t)K || (K == 2 && nout == 1)))
            : !(nout == 1 && y_reg))
        return fs_error_set(FS_ERR_ARG, "metrics: %zu scores per row do not fit a %s task with %d "
                            "classes", nout, cls ? "classification" : "regression", K);
    for (size_t i = 0; cls && i < n; i++)
        if (y_class[i] < 0 || y_class[i] >= K)
            return fs_error_set(FS_ERR_ARG, "metrics: row %zu: label %d is out of range [0, %d)",
                                i, (int)y_class[i], K);
    double *cm = vec + M_BASE;
    double *hpos = cm + (conf ? (size_t)K * K : 0), *hneg = hpos + FS_METRICS_ROC_BINS;
    vec[M_COUNT] += (double)n;
    vec[M_LOSS] += loss_sum;
    for (size_t i = 0; i < n; i++) {
        const float *p = scores + i * nout;
        if (!cls) {
            const double e = (double)p[0] - (double)y_reg[i];
            vec[M_SQ] += e * e;
            vec[M_ABS] += fabs(e);
            vec[M_SY] += y_reg[i];
            vec[M_SY2] += (double)y_reg[i] * y_reg[i];
            continue;
        }
        int pred = 0;
        if (nout == 1) {
            pred = p[0] > 0.5f;
        } else {
            for (size_t c = 1; c < nout; c++) if (p[c] > p[pred]) pred = (int)c;
        }
        vec[M_CORRECT] += pred == y_class[i];
        add_class_row(cm, hpos, hneg, K, conf, y_class[i], pred,
                      K == 2 ? (nout == 1 ? (double)p[0] : (double)p[1]) : 0);
    }
    return FS_OK;
}

void fs_metrics_report(const double *vec, fs_task task, int K, fs_eval_report *r)
{
    memset(r, 0, sizeof *r);
    const double n = vec[M_COUNT];
    r->count = n;
    r->is_regression = task == FS_TASK_REGRESSION;
    r->num_classes = K;
    r->loss = r->auc = r->accuracy = r->macro_f1 = r->rmse = r->mae = r->r2 = NAN;
    if (n <= 0) return;
    r->loss = vec[M_LOSS] / n;
    if (r->is_regression) {
        r->rmse = sqrt(vec[M_SQ] / n);
        r->mae = vec[M_ABS] / n;
        /* SST = sum y^2 - (sum y)^2 / n from the uncentered sums.  Both sums
         * carry rounding error up to about n * 2^-53 * sum y^2 each (recursive
         * summation), so an SST below 2 n DBL_EPSILON sum y^2 is rounding
         * noise: a constant target gives such a residue (e.g. 1.4e-14 for
         * seven rows of 3.3f) instead of 0, and 1 - SSE/SST would then be a
         * huge negative number.  R^2 is undefined (NaN) there. */
        const double sst = vec[M_SY2] - vec[M_SY] * vec[M_SY] / n;
        r->r2 = sst > 2.0 * n * DBL_EPSILON * vec[M_SY2] ? 1.0 - vec[M_SQ] / sst : NAN;
        return;
    }
    r->accuracy = vec[M_CORRECT] / n;
    if (has_conf(task, K)) {
        const double *cm = vec + M_BASE;
        double f1sum = 0;
        int nf1 = 0;
        r->has_confusion = 1;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) r->confusion[i][j] = cm[(size_t)i * K + j];
        for (int k = 0; k < K; k++) {
            double tp = cm[(size_t)k * K + k], pred = 0, actual = 0;
            for (int i = 0; i < K; i++) {
                pred += cm[(size_t)i * K + k];
                actual += cm[(size_t)k * K + i];
            }
            r->precision[k] = pred > 0 ? tp / pred : NAN;
            r->recall[k] = actual > 0 ? tp / actual : NAN;
            double p = pred > 0 ? tp / pred : 0, q = actual > 0 ? tp / actual : 0;
            r->f1[k] = (pred > 0 || actual > 0) ? (p + q > 0 ? 2 * p * q / (p + q) : 0) : NAN;
            if (pred > 0 || actual > 0) { f1sum += r->f1[k]; nf1++; }
        }
        r->macro_f1 = nf1 ? f1sum / nf1 : NAN;
    }
    if (K == 2) {
        const double *hpos = vec + M_BASE + (has_conf(task, K) ? 4 : 0);
        const double *hneg = hpos + FS_METRICS_ROC_BINS;
        double P = 0, N = 0, below = 0, auc = 0;
        for (int b = 0; b < FS_METRICS_ROC_BINS; b++) { P += hpos[b]; N += hneg[b]; }
        /* AUC = P(score_pos > score_neg) + 1/2 P(tie within a bin) */
        for (int b = 0; b < FS_METRICS_ROC_BINS; b++) {
            auc += hpos[b] * (below + 0.5 * hneg[b]);
            below += hneg[b];
        }
        r->auc = (P > 0 && N > 0) ? auc / (P * N) : NAN;
    }
}

/*
 * fs_fl.h - the federation: the round loop over MPI, checkpoints, metrics.
 *
 * fl layer.  One MPI job is one federation; rank i is institution i and
 * reads only its own shard.  Each round:
 *
 *   local SGD from the global model w          (fs_sgd_train, per rank)
 *   u_k = (n_k / n) (w_k - w), n = sum_k n_k   (weighted update)
 *   U = sum_k u_k                              (aggregation: collective)
 *   w <- w + server_lr * U                     (FedAvg, McMahan et al. 2017)
 *   metrics: sums of train loss, validation and test sums across ranks
 *   model-hash check across ranks, checkpoint (rank 0, atomic)
 *
 * Every exchange goes through one aggregation function, so the plain
 * baseline and the secure sum are interchangeable.
 */
#ifndef FEDSILO_FS_FL_H
#define FEDSILO_FS_FL_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_config.h"
#include "fs_data.h"

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

/* Metrics of one round (identical on every rank after the round). */
typedef struct {
    int round;             /* 1-based number of the completed round          */
    int rounds;            /* total rounds configured                         */
    double train_loss;     /* mean local training loss over all samples       */
    int has_val;           /* validation parts were present on some ranks     */
    double val_loss, val_accuracy, val_count;
    int has_test;          /* a --test file was given and evaluated          */
    double test_loss, test_accuracy, test_count;
    fs_eval_report val, test;  /* full reports when evaluated                */
    int is_regression;     /* accuracy fields are RMSE when set               */
    double seconds;        /* wall time of this round                         */
    double elapsed;        /* wall time since the start of this process      */
    double total_samples;  /* sum of training rows n over institutions        */
    double clipped;        /* update coordinates clipped by the fixed-point
                              codec this round, summed over institutions     */
    double setup_seconds;  /* key setup time of the secure sum on this rank   */
    double epsilon;        /* DP-SGD: epsilon spent so far at dp_delta (NaN
                              without DP)                                     */
    double ddp_epsilon;    /* distributed DP: institution-level epsilon so far
                              at dp_delta (NaN without it)                    */
    double ddp_clipped;    /* institutions whose update was norm-clipped     */
    int evaluated;         /* eval metrics were computed this round           */
    int checkpointed;      /* checkpoint written this round                   */
} fs_round_metrics;

/* Called on every rank after each round; the CLI prints on rank 0. */
typedef void (*fs_round_fn)(const fs_round_metrics *m, void *user);

/*
 * fs_fl_train - run the federation described by cfg.
 *
 * Collective on comm (duplicated internally, with MPI_ERRORS_RETURN; the
 * caller keeps comm).  Checks that every rank has the same configuration,
 * opens this rank's shard, agrees collectively that feature count, task
 * and class count match (a mismatch names the rank and file), resumes from
 * OUT/checkpoint.h5 if asked, then runs the remaining rounds, writing
 * OUT/metrics.jsonl and OUT/config.ini (rank 0) and checkpoints.
 *
 * Returns the same code on every rank: FS_OK; FS_ERR_INTERRUPTED if
 * fs_fl_request_stop was called on any rank (the current round finished
 * and a checkpoint was written); otherwise an error whose fs_errmsg names
 * the failing rank and file.
 */
FS_EXPORT fs_err fs_fl_train(MPI_Comm comm, const fs_config *cfg, fs_round_fn on_round,
                             void *user) FS_WARN_UNUSED;

/*
 * fs_fl_request_stop - ask the running federation to stop after the
 * current round, with a checkpoint.  Async-signal-safe (sets a
 * sig_atomic_t): call it from a SIGUSR1/SIGTERM handler.  Ranks agree on
 * the request at the end of each round, so one signalled rank suffices.
 */
FS_EXPORT void fs_fl_request_stop(void);

/*
 * fs_fl_progress - for a watchdog thread: seconds since the federation on
 * this rank last completed a step (a collective or a local phase), the
 * name of the phase it is in ("local training", "aggregation", ...) and
 * the 1-based round (0 before the first).  Not collective; thread-safe
 * (lock-free reads of values written by fs_fl_train).  Returns -1 seconds
 * when no federation is running.
 */
FS_EXPORT double fs_fl_progress(const char **phase, int *round);

/*
 * fs_fl_local_progress - for a progress display: local SGD steps done and
 * planned in this rank's current local-training phase (*total is 0 outside
 * that phase, or when the count is not known in advance, as with DP-SGD's
 * Poisson-sampled batches).  Not collective; thread-safe (lock-free reads).
 */
FS_EXPORT void fs_fl_local_progress(long *done, long *total);

/* A checkpoint's contents (see docs/formats.md). */
typedef struct {
    int round;              /* completed rounds                              */
    char model[128];        /* model spec                                    */
    size_t d;               /* features                                      */
    fs_task task;
    int num_classes;
    size_t nparams;
    float *params;          /* (nparams) global model, owned                 */
    uint64_t config_hash;   /* fs_config_hash of the run that wrote it       */
    uint64_t model_hash;    /* fingerprint of params                         */
    uint64_t seed;          /* master seed (RNG streams are keyed by it)     */
    int nsilos;             /* ranks in the federation that wrote it        */
    char server_opt[32];    /* server optimizer ("fedavg", "fedadam", ...)   */
    long server_steps;      /* server optimizer steps taken                  */
    float *server_m;        /* (nparams) first moment / momentum, or NULL    */
    float *server_v;        /* (nparams) second moment, or NULL              */
    double *std_mean;       /* (d) --standardize feature means, or NULL      */
    double *std_scale;      /* (d) --standardize feature std devs, or NULL   */
    double *dp_rdp;         /* serialized RDP accountant of DP-SGD
                               (fs_rdp_serialize), or NULL without it        */
    size_t dp_rdp_len;
    double *ddp_rdp;        /* serialized accountant of distributed DP, or NULL */
    size_t ddp_rdp_len;
} fs_checkpoint;

/*
 * fs_checkpoint_read - load and verify a checkpoint file (layout, sizes,
 * model hash).  Not collective.  Caller owns *out (fs_checkpoint_free).
 * Returns FS_ERR_IO or FS_ERR_DATA with a message naming the file.
 */
FS_EXPORT fs_err fs_checkpoint_read(const char *path, fs_checkpoint **out) FS_WARN_UNUSED;

/* fs_checkpoint_free - NULL-safe; sets *ck = NULL. */
FS_EXPORT void fs_checkpoint_free(fs_checkpoint **ck);

/*
 * fs_checkpoint_evaluate - evaluate a checkpoint's model on every row of a
 * dataset file and fill *report, applying the checkpoint's standardization
 * (if the run used --standardize) to the rows first.  Not collective.
 */
FS_EXPORT fs_err fs_checkpoint_evaluate(const fs_checkpoint *ck, const char *data_path,
                                        fs_eval_report *report) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_FL_H */

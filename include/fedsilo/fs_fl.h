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
#include "fs_metrics.h"
#include "fs_ckpt.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_FL_H */

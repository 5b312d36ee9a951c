/*
 * fs_fl.h - the FedAvg program: the round loop of `fedsilo train`.
 *
 * A program of the federation core (fs_fed.h).  One MPI job is one
 * federation; rank i is institution i and reads only its own shard.  Each
 * round r, from the global model w:
 *
 *   budget       stop (with a checkpoint) before a round that would take a
 *                DP accountant past --dp-epsilon (fs_ledger.h)
 *   local        w_k = LocalSGD(w, shard_k; seed, k, r), or DP-SGD
 *   weigh        u_k = (n_k / n) (w_k - w),  n = sum_k n_k
 *   aggregate    U = sum_k u_k (plain, secure, or distributed DP)
 *   server       w <- w + ServerOpt(U)   (FedAvg: w += server_lr U)
 *   account      training-loss sums; charge the round to the ledger
 *   evaluate     validation parts and slices of the global test file
 *   round end    model-hash check and stop flag, metrics line, checkpoint
 *
 * Every exchange goes through the core's sum session, so the plain
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
#include "fs_fed.h"

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
    char public_list[160]; /* under DP with --dp-public-metrics yes: the
                              released exact sums, not covered by epsilon
                              ("train_loss, clipped, ..."); "" otherwise.
                              Without DP every value here is exact and
                              nothing is covered by an epsilon.  Values
                              not released are NaN (train_loss, clipped,
                              total_samples; has_val = 0)                 */
    int not_private;       /* DP noise from --dp-seed: reproducible by anyone
                              who knows the seed, so no DP guarantee         */
    int checkpointed;      /* checkpoint written this round                   */
    double t_local, t_aggregate, t_evaluate, t_round_end;
                           /* wall seconds of the phases of this round
                              (monotonic clock): local training, aggregation
                              with the server step and accounting,
                              evaluation, round end                         */
} fs_round_metrics;

/* Called on every rank after each round; the CLI prints on rank 0. */
typedef void (*fs_round_fn)(const fs_round_metrics *m, void *user);

/*
 * fs_fl_train - run the FedAvg federation configured by cfg (a train
 * configuration, fs_config_create).
 *
 * Collective on comm (duplicated internally, with MPI_ERRORS_RETURN; the
 * caller keeps comm).  Opens the federation core (options and
 * configuration agreed, OUT/config.ini, this rank's shard, shapes and
 * ownership agreed), sets up the model and the sum session, resumes from
 * OUT/checkpoint.h5 if asked, then runs the remaining rounds, writing
 * OUT/metrics.jsonl (rank 0) and checkpoints.  ctl (may be NULL) receives
 * progress and carries stop requests (fs_run_ctl_request_stop); on_round
 * (may be NULL) is called on every rank after each round.
 *
 * Returns the same code on every rank: FS_OK; FS_ERR_INTERRUPTED if a stop
 * was requested on any rank (the current round finished and a checkpoint
 * was written); otherwise an error whose fs_errmsg names the failing rank
 * and file.
 */
FS_EXPORT fs_err fs_fl_train(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                             fs_round_fn on_round, void *user) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_FL_H */

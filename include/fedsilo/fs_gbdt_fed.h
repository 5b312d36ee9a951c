/*
 * fs_gbdt_fed.h - the federated GBDT program (`fedsilo train --model gbdt`)
 * and the use of its checkpoints (eval, predict, export).
 *
 * A program of the federation core (fs_fed.h) around the GBDT engine
 * (fs_gbdt.h): rank i is institution i and reads only its own shard; every
 * vector of the engine's step sequence (row counts and binade histograms,
 * fine histograms, one histogram vector per tree level, loss sums per
 * round) is summed through fs_fed_sum_words: the secure sum in the 64-bit
 * ring, or an integer MPI_Allreduce of the same words with --aggregation
 * plain.  The sums are exact, so both give the same trees, and the trees
 * equal those of one process holding the pooled rows (docs/gbdt.md).
 *
 * Sums of one run, as (round, vector id); every pair is used once:
 *   (0, FS_GBDT_VID_COARSE), (0, FS_GBDT_VID_FINE) or, resuming,
 *   (0, FS_GBDT_VID_RESUME); per tree t (round * K + class) and level l
 *   (t, FS_GBDT_VID_LEVEL + l); per round r (0-based) (r, FS_GBDT_VID_EVAL);
 *   per evaluated round r (1-based) (r, FS_GBDT_FED_VID_METRICS): the
 *   metric sums (fs_metrics.h) of the validation parts and the test slices.
 *
 * A GBDT checkpoint is a fedsilo checkpoint (fs_ckpt.h) whose model is
 * "gbdt", without /params, with the engine's model in the group /gbdt
 * (fs_gbdt_model_save: bins, trees and the training state a resume needs)
 * and the root attribute model_hash = fs_gbdt_model_hash of it.
 */
#ifndef FEDSILO_FS_GBDT_FED_H
#define FEDSILO_FS_GBDT_FED_H

#include <stdint.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_ckpt.h"
#include "fs_config.h"
#include "fs_fed.h"
#include "fs_gbdt.h"
#include "fs_metrics.h"
#include "fs_prep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Vector id of the metric sums (outside the engine's id range). */
#define FS_GBDT_FED_VID_METRICS (FS_GBDT_VID_BASE + 0x200u)

/* Progress after one boosting round (identical on every rank). */
typedef struct {
    int round;                /* completed rounds (1-based)                       */
    int rounds;               /* --trees                                          */
    int num_trees;            /* trees in the model (multi:*: K per round)        */
    const char *metric_name;  /* "logloss", "mlogloss" or "rmse" (static)         */
    double train_metric;      /* pooled training loss (metric_name); NaN under
                                 --ddp yes without --dp-public-metrics yes          */
    double val_metric;        /* pooled validation loss, NaN without validation rows
                                 (or not released under --ddp yes)                */
    int evaluated;            /* val and test below were computed this round      */
    fs_eval_report val;       /* the validation parts (count 0: none)             */
    fs_eval_report test;      /* the test file (count 0: no --test)               */
    uint64_t model_hash;      /* fs_gbdt_model_hash after the round               */
    uint64_t total_rows;      /* pooled training rows (0: not released under DP)  */
    double ddp_epsilon;       /* --ddp yes: epsilon spent so far at --dp-delta
                                 (the privacy ledger); NaN without DP              */
    int stopped_early;        /* early stopping ended training this round         */
    double seconds;           /* wall time of the round                           */
    double elapsed;           /* wall time since the start of the run             */
    int checkpointed;         /* OUT/checkpoint.h5 written this round             */
} fs_gbdt_round_info;

typedef void (*fs_gbdt_round_fn)(const fs_gbdt_round_info *info, void *user);

/*
 * fs_gbdt_fed_train - run the GBDT federation configured by cfg (a train
 * configuration with model = gbdt).  Collective on comm (duplicated by the
 * core).  Opens the federation (CONFIG, SHAPE, OWNER and SCHEMA pre-flight,
 * the run directory; missing cells are read as NaN), builds the engine on
 * this rank's training and validation parts, connects the sum session
 * (always a 64-bit ring), resumes from OUT/checkpoint.h5 when asked, then
 * runs every step.  After each round: the validation and test metrics
 * (every --eval-every rounds), the model-hash check across ranks and the
 * stop flag (fs_fed_round_end_hash), one OUT/metrics.jsonl line, the
 * checkpoint when due (rank 0, durable), then on_round (may be NULL) on
 * every rank.  ctl (may be NULL) carries progress marks and stop requests.
 * Returns the same code on every rank: FS_OK, FS_ERR_INTERRUPTED (a stop
 * was requested: the round finished and a checkpoint was written), or an
 * error whose message names the failing rank and file.
 */
FS_EXPORT fs_err fs_gbdt_fed_train(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                                   fs_gbdt_round_fn on_round, void *user) FS_WARN_UNUSED;

/*
 * fs_gbdt_checkpoint_model - the GBDT model of checkpoint ck read from
 * path (the file ck was read from): its /gbdt group, checked against the
 * root attributes (model_hash, d, classes).  Not collective.  Caller owns
 * *out (fs_gbdt_model_destroy).  Returns FS_OK, FS_ERR_ARG (ck is not a
 * GBDT checkpoint: the message says which model it holds), FS_ERR_IO,
 * FS_ERR_DATA (corrupt group, hash mismatch; the message names the file).
 */
FS_EXPORT fs_err fs_gbdt_checkpoint_model(const fs_checkpoint *ck, const char *path,
                                          fs_gbdt_model **out) FS_WARN_UNUSED;

/*
 * fs_gbdt_checkpoint_evaluate - fs_checkpoint_evaluate for a GBDT
 * checkpoint: every row of the dataset file data_path (missing cells
 * allowed; a file imported with another schema than the checkpoint's is
 * refused), metrics from m's probabilities.  Not collective.
 */
FS_EXPORT fs_err fs_gbdt_checkpoint_evaluate(const fs_checkpoint *ck, const fs_gbdt_model *m,
                                             const char *data_path, fs_eval_report *report)
    FS_WARN_UNUSED;

/*
 * fs_gbdt_predict_checkpoint - fs_predict_file with the checkpoint's
 * schema and model m (missing cells stay NaN: trees need no imputation).
 * Not collective.  Returns as fs_predict_file.
 */
FS_EXPORT fs_err fs_gbdt_predict_checkpoint(const fs_checkpoint *ck, const fs_gbdt_model *m,
                                            const fs_predict_opts *o, fs_predict_summary *sum)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_GBDT_FED_H */

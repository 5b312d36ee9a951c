/*
 * fs_gbdt.h - gradient-boosted decision trees from sums only: XGBoost's
 * `hist` algorithm (Chen & Guestrin 2016, second order) split into local
 * steps, so that the only thing institutions exchange is a sequence of
 * integer word vectors to be summed (by the secure sum, fs_secagg.h, or by
 * any other exact sum).  See docs/gbdt.md.
 *
 * Usage (one engine per institution; `sum` adds the vectors of every
 * institution, in place, mod 2^64):
 *
 *   fs_gbdt *g;
 *   fs_gbdt_create(&opts, &train, &val, silo_id, NULL, &g);
 *   for (;;) {
 *       fs_gbdt_step st;
 *       fs_gbdt_step_local(g, &st);                 local: words to sum
 *       if (st.kind == FS_GBDT_STEP_DONE) break;
 *       sum(st.round_id, st.vector_id, st.words, st.n);   collective in the driver
 *       fs_gbdt_step_apply(g);                       local: same result everywhere
 *   }
 *   fs_gbdt_model_save(fs_gbdt_get_model(g), "ck.h5", "gbdt");
 *   fs_gbdt_destroy(&g);
 *
 * fs_gbdt_train_local() runs exactly this loop with a callback.  The steps
 * are, in order: the coarse bin pass (row counts and per-feature binade
 * counts), the fine bin pass (fine histograms -> identical bin edges
 * everywhere), then for every boosting round and every class tree one step
 * per tree level (gradient/hessian/count histograms of the nodes to build),
 * then one evaluation step per round (loss sums).  Every value in every
 * vector is an exact integer (counts, or gradients in fixed point with
 * checked headroom), so the sums are exact and independent of the order and
 * grouping of institutions: institutions that hold disjoint parts of a data
 * set obtain bit for bit the model that one institution holding all the rows
 * would obtain, and every institution derives the same trees from the same
 * sums without exchanging them.
 *
 * No MPI in this module.  What the sums reveal (to every institution and to
 * anyone who sees the summed words) is listed in docs/gbdt.md, "What the sums
 * reveal".
 */
#ifndef FEDSILO_FS_GBDT_H
#define FEDSILO_FS_GBDT_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Learning objectives, named as in XGBoost. */
typedef enum {
    FS_GBDT_BINARY_LOGISTIC = 0,  /* binary:logistic: labels 0/1, output P(y = 1)        */
    FS_GBDT_MULTI_SOFTPROB = 1,   /* multi:softprob: labels 0..K-1, output K probabilities */
    FS_GBDT_MULTI_SOFTMAX = 2,    /* multi:softmax: trained like softprob, output the class */
    FS_GBDT_REG_SQUAREDERROR = 3  /* reg:squarederror: real targets in a public range      */
} fs_gbdt_objective;

#define FS_GBDT_MAX_DEPTH 16       /* deepest tree the engine grows                     */
#define FS_GBDT_MAX_BINS 65535     /* most histogram bins per feature (uint16 codes)    */
#define FS_GBDT_MAX_FINE_BINS 65536 /* most fine-grid bins per feature                  */
#define FS_GBDT_MIN_FRAC_BITS 8    /* fewer fractional bits than this: refused          */
#define FS_GBDT_MAX_FRAC_BITS 40   /* more would not add precision                      */

/*
 * Vector ids of the sums (fs_gbdt_step.vector_id): every (round_id,
 * vector_id) pair of one training run is distinct, as fs_secagg_sum_words
 * requires.  A driver that makes sums of its own uses ids outside
 * [FS_GBDT_VID_BASE, FS_GBDT_VID_BASE + 0x200).
 */
#define FS_GBDT_VID_BASE 0x47420000u
#define FS_GBDT_VID_COARSE (FS_GBDT_VID_BASE + 0u)  /* round 0: counts, binade histogram   */
#define FS_GBDT_VID_FINE (FS_GBDT_VID_BASE + 1u)    /* round 0: fine histograms           */
#define FS_GBDT_VID_RESUME (FS_GBDT_VID_BASE + 2u)  /* round 0: row counts of a resumed run */
#define FS_GBDT_VID_EVAL (FS_GBDT_VID_BASE + 3u)    /* round r: loss sums after round r   */
#define FS_GBDT_VID_LEVEL (FS_GBDT_VID_BASE + 0x100u) /* + level; round = tree index     */

/*
 * Options.  Every field must be identical on every institution (the driver
 * compares a hash of them before training).  Defaults are XGBoost 1.7's
 * where XGBoost has the parameter.
 */
typedef struct {
    fs_gbdt_objective objective;  /* default binary:logistic                          */
    int num_class;                /* classes K >= 2 for multi:*; ignored otherwise     */
    int rounds;                   /* boosting rounds (10); multi:* grows K trees each  */
    int max_depth;                /* 1..FS_GBDT_MAX_DEPTH (6)                          */
    double eta;                   /* learning rate, (0, 1] (0.3)                       */
    double lambda;                /* L2 regularization of leaf weights, >= 0 (1)       */
    double gamma;                 /* minimum loss reduction to split, >= 0 (0)         */
    double min_child_weight;      /* minimum hessian sum in a child, >= 0 (1)          */
    double subsample;             /* row sampling rate per tree, (0, 1] (1)            */
    double colsample_bytree;      /* feature sampling rate per tree, (0, 1] (1)        */
    int max_bins;                 /* histogram bins per feature, 2..FS_GBDT_MAX_BINS (256) */
    int fine_bins;                /* fine-grid budget per feature, >= max_bins,
                                     <= FS_GBDT_MAX_FINE_BINS (4096); see docs/gbdt.md */
    double base_score;            /* initial prediction in output space (probability
                                     for binary:logistic, in (0, 1)); NaN = 0.5       */
    double label_lo, label_hi;    /* public label range (reg:squarederror, required:
                                     targets outside it are refused and the gradient
                                     bound is label_hi - label_lo); ignored otherwise */
    int frac_bits;                /* fixed-point fractional bits; 0 = the largest the
                                     headroom rule allows (derived from the summed
                                     row count)                                       */
    int early_stopping_rounds;    /* stop after this many rounds without a better
                                     validation metric; 0 = off (needs validation rows
                                     at some institution)                             */
    uint64_t seed;                /* seed of the row and feature sampling streams (0)  */
} fs_gbdt_opts;

/* fs_gbdt_opts_default - fill o with the defaults above.  Not collective. */
FS_EXPORT void fs_gbdt_opts_default(fs_gbdt_opts *o);

/*
 * fs_gbdt_opts_check - validate o (ranges, and combinations such as a
 * regression without a label range).  Not collective.  Returns FS_OK or
 * FS_ERR_ARG with a message naming the option and its valid range.
 */
FS_EXPORT fs_err fs_gbdt_opts_check(const fs_gbdt_opts *o) FS_WARN_UNUSED;

/* fs_gbdt_objective_name - XGBoost's name ("binary:logistic", ...); static. */
FS_EXPORT const char *fs_gbdt_objective_name(fs_gbdt_objective obj);

/*
 * fs_gbdt_objective_parse - the objective named `name` (XGBoost's names).
 * Not collective.  Returns FS_OK or FS_ERR_ARG (message lists the names).
 */
FS_EXPORT fs_err fs_gbdt_objective_parse(const char *name, fs_gbdt_objective *out) FS_WARN_UNUSED;

/*
 * One institution's rows (borrowed; must stay valid and unchanged for the
 * engine's life).  X is (n, d) row-major float32; NaN marks a missing value,
 * +-Inf is refused.  Labels: y_class (n) in 0..K-1 (0/1 for binary) for
 * classification, y_reg (n) for regression; the other pointer is NULL.
 * n may be 0 (an institution without rows still takes part in every sum).
 */
typedef struct {
    size_t n, d;
    const float *X;
    const int32_t *y_class;
    const float *y_reg;
} fs_gbdt_data;

typedef struct fs_gbdt fs_gbdt;              /* one institution's training engine */
typedef struct fs_gbdt_model fs_gbdt_model;  /* bins and trees                    */

/*
 * fs_gbdt_create - start training on this institution's rows.
 *
 * Not collective (no communication); every institution creates its engine
 * with the same opts and the same d.  train and val (val may be NULL: no
 * validation rows here) are borrowed.  silo_id (this institution's index,
 * e.g. its rank) keys its row-sampling stream (seed, silo_id, tree).  start
 * NULL: a new model; otherwise training continues from a copy of `start`
 * (a model saved by an earlier run with the same opts and data: its bins,
 * fixed-point scale, trees and early-stopping state; the margins are
 * recomputed), and the result is bit-identical to an uninterrupted run.
 * Validates opts and the rows: FS_ERR_ARG (options; d differs from start's),
 * FS_ERR_DATA (a label outside 0..K-1 or outside the public label range, an
 * infinite feature, train and val with different d; the message names the
 * part and the column, never a value or a row, since a driver may show it to
 * every institution; the row goes to this institution's log), FS_ERR_NOMEM.  On success the caller owns
 * *out (fs_gbdt_destroy); *out is NULL on failure.
 */
FS_EXPORT fs_err fs_gbdt_create(const fs_gbdt_opts *opts, const fs_gbdt_data *train,
                                const fs_gbdt_data *val, uint32_t silo_id,
                                const fs_gbdt_model *start, fs_gbdt **out) FS_WARN_UNUSED;

/* fs_gbdt_destroy - free the engine and its model; NULL-safe; *g = NULL. */
FS_EXPORT void fs_gbdt_destroy(fs_gbdt **g);

typedef enum {
    FS_GBDT_STEP_COARSE = 0,  /* row counts and binade histograms                 */
    FS_GBDT_STEP_FINE,        /* fine histograms -> bin edges                      */
    FS_GBDT_STEP_RESUME,      /* row counts of a resumed run (checked against the model) */
    FS_GBDT_STEP_LEVEL,       /* histograms of the nodes of one tree level          */
    FS_GBDT_STEP_EVAL,        /* fixed-point loss sums of the round just finished   */
    FS_GBDT_STEP_DONE         /* training finished: nothing to sum                  */
} fs_gbdt_step_kind;

/* The next vector to sum, filled by fs_gbdt_step_local. */
typedef struct {
    fs_gbdt_step_kind kind;
    uint64_t round_id;    /* 0 for the bin passes, the tree index for levels,
                             the round for evaluations                         */
    uint32_t vector_id;   /* FS_GBDT_VID_*                                     */
    uint64_t *words;      /* borrowed (valid until the next fs_gbdt_step_apply
                             or fs_gbdt_destroy): n + 1 words, words[n] == 0 (the
                             canary slot of fs_secagg_sum_words)               */
    size_t n;             /* words to sum; identical on every institution      */
    int tree;             /* LEVEL: tree index (round * classes + class)        */
    int level;            /* LEVEL: depth of the nodes (0 = root)               */
} fs_gbdt_step;

/*
 * fs_gbdt_step_local - this institution's contribution to the next sum.
 *
 * Not collective (local work only); every institution gets the same kind,
 * round_id, vector_id and n.  The caller replaces words[0..n) by their sum
 * over institutions mod 2^64 (in place; the canary slot is the sum's
 * business) and then calls fs_gbdt_step_apply.  Calling step_local twice
 * without apply returns the same step.  Returns FS_OK (kind DONE when
 * training has finished), FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_gbdt_step_local(fs_gbdt *g, fs_gbdt_step *st) FS_WARN_UNUSED;

/*
 * fs_gbdt_step_apply - consume the summed words of the current step.
 *
 * Not collective, but deterministic: every institution that applies the
 * same sums computes the same bin edges, splits, leaf values and decisions,
 * so the models stay bit-identical.  Returns the same code on every
 * institution given the same sums: FS_OK; FS_ERR_ARG when the summed row
 * count leaves no fixed-point headroom (N * bound * 2^FS_GBDT_MIN_FRAC_BITS
 * >= 2^62), when early stopping is on but no institution has validation
 * rows, or frac_bits is too large for N; FS_ERR_DATA when the sums are
 * inconsistent (a corrupted sum, or a resumed run whose row counts differ
 * from the model's); FS_ERR_NOMEM (local); FS_ERR_ARG without a preceding
 * fs_gbdt_step_local.  After an error the engine is unusable (every later
 * call returns FS_ERR_ARG).
 */
FS_EXPORT fs_err fs_gbdt_step_apply(fs_gbdt *g) FS_WARN_UNUSED;

/*
 * A sum over institutions: replace words[0..n) by their sum mod 2^64, in
 * place (words has n + 1 slots; words[n] is 0).  Collective in the driver.
 * The secure sum is fs_secagg_sum_words on a session whose ring is 64 bits
 * (opts.vec.ring_bits = 64); a 32-bit ring would wrap the sums.
 */
typedef fs_err (*fs_gbdt_sum_fn)(void *ctx, uint64_t round_id, uint32_t vector_id,
                                 uint64_t *words, size_t n);

/*
 * fs_gbdt_train_local - run every step: step_local, sum, step_apply, until
 * DONE.  sum NULL: the identity (a single institution).  Collective exactly
 * when `sum` is.  Returns the first error of a step or of sum.
 */
FS_EXPORT fs_err fs_gbdt_train_local(fs_gbdt *g, fs_gbdt_sum_fn sum, void *ctx) FS_WARN_UNUSED;

/* Training progress, identical on every institution except `clipped`. */
typedef struct {
    int rounds_done;          /* completed boosting rounds                          */
    int num_trees;            /* trees in the model                                 */
    double train_metric;      /* metric over all institutions' training rows after
                                 the last round (logloss, mlogloss or rmse); NaN
                                 before the first round                            */
    double val_metric;        /* the same over all validation rows; NaN when none  */
    int best_round;           /* round with the best val_metric; -1 when none       */
    double best_val_metric;
    int stopped_early;        /* 1 when early stopping ended training              */
    uint64_t total_rows;      /* summed training rows (0 before the first sum)      */
    uint64_t total_val_rows;  /* summed validation rows                            */
    int frac_bits;            /* fixed-point fractional bits of gradients          */
    uint64_t clipped;         /* this institution only: regression gradients clipped
                                 at the public bound so far                         */
    const char *metric_name;  /* "logloss", "mlogloss" or "rmse"; static            */
} fs_gbdt_status;

/* fs_gbdt_get_status - fill *st.  Not collective. */
FS_EXPORT void fs_gbdt_get_status(const fs_gbdt *g, fs_gbdt_status *st);

/*
 * fs_gbdt_get_model - the model being trained (borrowed: valid until
 * fs_gbdt_destroy; changes with every applied step).  After the EVAL step
 * of a round it holds that round's complete trees only (the next round's
 * first tree is begun by the next fs_gbdt_step_local), so it can be saved
 * as a checkpoint to continue from.  After DONE it is the final model
 * (truncated to the best round when early stopping ended it).
 */
FS_EXPORT const fs_gbdt_model *fs_gbdt_get_model(const fs_gbdt *g);

/* fs_gbdt_model_destroy - free a model from fs_gbdt_model_load; NULL-safe. */
FS_EXPORT void fs_gbdt_model_destroy(fs_gbdt_model **m);

/*
 * fs_gbdt_model_hash - 64-bit FNV-1a fingerprint of everything the model
 * file holds (objective, bins, every node field, training state); equal
 * models have equal hashes on every platform.  Not cryptographic.
 */
FS_EXPORT uint64_t fs_gbdt_model_hash(const fs_gbdt_model *m);

FS_EXPORT int fs_gbdt_model_num_trees(const fs_gbdt_model *m);
FS_EXPORT size_t fs_gbdt_model_num_features(const fs_gbdt_model *m);
FS_EXPORT fs_gbdt_objective fs_gbdt_model_objective(const fs_gbdt_model *m);
/* Classes K of multi:* models, 0 otherwise (XGBoost's num_class). */
FS_EXPORT int fs_gbdt_model_num_class(const fs_gbdt_model *m);

/*
 * fs_gbdt_model_predict - predictions for n rows X (n, d) row-major (NaN =
 * missing; d must equal the model's).  margin 1: raw margins, (n, K) for
 * multi:*, else (n).  margin 0: binary:logistic P(y = 1) (n);
 * multi:softprob probabilities (n, K); multi:softmax the class index as a
 * float (n); reg:squarederror the prediction (n).  XGBoost's arithmetic: a
 * value x goes left at a split when x < split_condition in float32, missing
 * values follow default_left, the margin is accumulated in float32 tree by
 * tree.  Not collective.  out is caller-allocated.  Returns FS_OK or
 * FS_ERR_ARG (d mismatch).
 */
FS_EXPORT fs_err fs_gbdt_model_predict(const fs_gbdt_model *m, const float *X, size_t n,
                                       size_t d, int margin, float *out) FS_WARN_UNUSED;

/*
 * fs_gbdt_model_save - write the model as HDF5 group `group` (e.g. "gbdt")
 * of the file at path (created if absent; an existing file is opened for
 * writing and must not hold `group` yet).  Layout: docs/formats.md, "GBDT
 * models".  Not atomic by itself: a checkpoint writer writes a temporary
 * file and renames it.  Not collective.  Returns FS_OK, FS_ERR_ARG (group
 * exists), FS_ERR_IO.
 */
FS_EXPORT fs_err fs_gbdt_model_save(const fs_gbdt_model *m, const char *path,
                                    const char *group) FS_WARN_UNUSED;

/*
 * fs_gbdt_model_load - read group `group` of the HDF5 file at path, check
 * its layout, every index and the stored model hash.  Not collective.  On
 * success the caller owns *out (fs_gbdt_model_destroy); NULL on failure.
 * Returns FS_OK, FS_ERR_IO (unreadable file), FS_ERR_DATA (no such group,
 * not a GBDT model, corrupt or inconsistent arrays, hash mismatch; the
 * message names the file and the problem).
 */
FS_EXPORT fs_err fs_gbdt_model_load(const char *path, const char *group,
                                    fs_gbdt_model **out) FS_WARN_UNUSED;

/*
 * fs_gbdt_export_xgboost_json - write the model in XGBoost's JSON model
 * format (version 1.7) to path, which `xgboost.Booster().load_model(path)`
 * reads; xgboost then predicts what fs_gbdt_model_predict predicts.
 * feature_names: d names (borrowed), or NULL for none.  Not collective.
 * Written to path.tmp.<pid> and renamed over path.  Returns FS_OK,
 * FS_ERR_IO, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_gbdt_export_xgboost_json(const fs_gbdt_model *m,
                                             const char *const *feature_names,
                                             const char *path) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_GBDT_H */

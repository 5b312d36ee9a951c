/*
 * fs_vfl.h - vertical federated learning: logistic and linear regression
 * when every rank holds a different block of features for the same rows
 * (aligned beforehand, e.g. with fs_psi_intersect) and one rank, the label
 * holder L, also holds the labels.  See docs/vertical.md for the protocol,
 * what each party learns per message, its costs and the threat model.
 *
 * Setup: authenticated key setup (fs_secagg_create); every point-to-point
 * message afterwards is sealed with AES-256-GCM under a per-link,
 * per-direction key (fs_secagg_pair_key).  Every feature holder k generates
 * its own Paillier key and sends L its public key and Enc_k(X_k), its
 * fixed-point feature rows packed into slots, once.
 * Per minibatch B (the same rows on every rank, from a shared seed; every
 * batch has at least FS_VFL_BATCH_MARGIN x max_k d_k rows):
 *   1. every feature holder k sends L its partial scores z_k = X_k[B] w_k
 *      plus pairwise masks shared with the other feature holders, which
 *      cancel in the sum: L learns sum_k z_k (with one feature holder: z_k
 *      itself) and adds its own part;
 *   2. L computes the residuals r = sigmoid(z) - y (logistic) or z - y
 *      (linear), updates its own block and the bias in plain, and computes
 *      Enc_k(X_k[B]^T r) from k's upload (fs_paillier_lincomb: |r| as
 *      exponents, one inverse for the negative ones), re-randomized;
 *   3. k decrypts g_k = X_k[B]^T r with its own key and updates
 *      w_k -= lr (g_k / |B| + l2 w_k).
 * L never decrypts anything and nobody decrypts for anybody else: each
 * feature holder decrypts only results computed for itself.
 */
#ifndef FEDSILO_FS_VFL_H
#define FEDSILO_FS_VFL_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_opts.h"
#include "fs_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The run control of fs_fed.h (progress and stop state of a run; C11
 * allows the repeated typedef). */
typedef struct fs_run_ctl fs_run_ctl;

/* fs_vfl_opts (fs_opts.h): the options; identical on every rank except the paths. */

/*
 * Every batch must have at least FS_VFL_BATCH_MARGIN times as many rows as
 * the largest feature holder's block: a feature holder receives its
 * gradient g_k = X_k[B]^T r, d_k linear equations in the |B| residuals of
 * the batch, and with |B| <= d_k it could solve them (and read the labels
 * from the signs of the residuals).  With the margin, d_k equations leave
 * at least 3 d_k dimensions of the residuals undetermined in every batch;
 * this stops exact solving, it does not make the gradients leak-free
 * (docs/vertical.md).
 */
#define FS_VFL_BATCH_MARGIN 4

/* fs_vfl_opts_default - logistic, label rank 0, lr 0.1, l2 0, 10 epochs,
 * batch 64, 2048-bit Paillier, seed 1, no roster, authentication required,
 * no test modes. */
FS_EXPORT void fs_vfl_opts_default(fs_vfl_opts *o);

/* One rank's rows: X is (n, d) row-major float, borrowed.  y (n targets;
 * 0/1 for logistic) is read on the label holder only and may be NULL
 * elsewhere.  d may differ between ranks; n must not. */
typedef struct {
    const float *X;
    const double *y;
    size_t n, d;
} fs_vfl_part;

/* Metrics known after training.  Fields marked (L) are computed by the
 * label holder and broadcast (they are aggregate statistics only). */
typedef struct {
    double train_loss;           /* (L) mean loss of the last epoch         */
    double test_metric;          /* (L) accuracy or RMSE on test; NaN: none */
    double seconds;              /* wall time of training on this rank      */
    double paillier_seconds;     /* time this rank spent in Paillier ops    */
    double setup_seconds;        /* keys and the encrypted upload (wall)    */
    double secagg_setup_seconds;
    uint64_t n_encrypt, n_decrypt, n_scalar_mul; /* this rank's counts      */
} fs_vfl_report;

/* Called by fs_vfl_train on every rank after each epoch (may be NULL). */
typedef void (*fs_vfl_epoch_fn)(int epoch, double train_loss, double test_metric, void *user);

/*
 * fs_vfl_batch_plan - the minibatches of one epoch of fs_vfl_train (public:
 * every rank, and anyone who knows the seed, can compute them).
 *
 * Not collective.  perm (n, caller-allocated) receives the row order of
 * epoch `epoch` (a shuffle seeded by (seed, epoch)); batch t is
 * perm[starts[t] .. starts[t + 1]) for t < *nbatch, with starts
 * caller-allocated for n / batch + 2 entries.  Every batch has at least
 * min(batch, n) rows: the n mod batch rows left over join the last batch.
 * `legacy` (tests only) gives the plan before that rule, with a short tail
 * batch of n mod batch rows.  n >= 1, batch >= 1.
 */
FS_EXPORT void fs_vfl_batch_plan(uint64_t seed, int epoch, size_t n, size_t batch, int legacy,
                                 uint32_t *perm, size_t *starts, size_t *nbatch);

/*
 * fs_vfl_train - train a vertical logistic or linear model.
 *
 * Collective on comm (duplicated internally; the caller keeps comm).
 * in:  opts (identical on every rank), train (this rank's block), test
 *      (this rank's block of the test rows, or NULL/n = 0 everywhere)
 * out: w - caller-allocated train->d + 1 doubles: this rank's weights
 *      (zero-initialized by the call); w[d] is the bias on the label holder
 *      and 0 elsewhere.  rep (may be NULL).
 * After each epoch with test rows, the label holder evaluates (accuracy at
 * threshold 0.5, or RMSE) from the masked partial test scores, and sends
 * the loss and the metric to every rank over the channel.
 * Error messages agreed across ranks name the rank and the kind of problem,
 * never a feature value, score, residual or another site's path (the
 * failing rank logs the detail locally with fs_log).
 * returns the same code on every rank: FS_OK, FS_ERR_ARG (options differ
 * between ranks, bad values, row counts differ, a batch below the margin, a
 * key below 2048 bits without insecure_test_keys), FS_ERR_NUMERIC (a score
 * or residual out of range: diverged), FS_ERR_DATA, FS_ERR_CRYPTO,
 * FS_ERR_AUTH ("message from rank a to rank b failed authentication"),
 * FS_ERR_NOMEM, FS_ERR_MPI.
 */
FS_EXPORT fs_err fs_vfl_train(MPI_Comm comm, const fs_vfl_opts *opts, const fs_vfl_part *train,
                              const fs_vfl_part *test, double *w, fs_vfl_report *rep,
                              fs_vfl_epoch_fn on_epoch, void *user) FS_WARN_UNUSED;

/* What a `fedsilo vfl-train` run set up, for the caller's first message. */
typedef struct {
    int nranks;
    size_t rows;                 /* training rows (the same on every rank)  */
    const fs_vfl_opts *opts;     /* the options in use (label_rank resolved) */
    int label_from_roster;       /* the label rank came from role = label   */
} fs_vfl_run_info;

/* Called on every rank once the parts are loaded, before training. */
typedef void (*fs_vfl_start_fn)(const fs_vfl_run_info *info, void *user);

/* The outcome of a `fedsilo vfl-train` run (rank 0 holds the totals). */
typedef struct {
    fs_vfl_report rep;           /* this rank's report                      */
    unsigned long long n_encrypt, n_decrypt, n_scalar_mul;  /* summed       */
    double paillier_seconds_max; /* largest per-rank Paillier time          */
} fs_vfl_run_report;

/*
 * fs_vfl_run - `fedsilo vfl-train` on the federation core: options from
 * cfg (a vfl-train configuration; agreed), the label rank from the roster's
 * role = label (agreed with --label-rank), this rank's training and test
 * parts (--data / --test patterns), fs_vfl_train on the core's private
 * communicator, and with --out the weights DIR/vfl-weights-<rank>.txt
 * (durable).  Collective on comm.  on_start and on_epoch may be NULL.
 * returns the same code on every rank.  ctl (or NULL) receives the run's
 * progress (the open, every epoch) for a watchdog thread.
 */
FS_EXPORT fs_err fs_vfl_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                            fs_vfl_start_fn on_start,
                            fs_vfl_epoch_fn on_epoch, void *user, fs_vfl_run_report *out)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* FEDSILO_FS_VFL_H */

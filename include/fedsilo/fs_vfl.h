/*
 * fs_vfl.h - vertical federated learning: logistic and linear regression
 * when every rank holds a different block of features for the same rows
 * (aligned beforehand, e.g. with fs_psi_intersect) and one rank, the label
 * holder, also holds the labels.  See docs/vertical.md for the protocol,
 * its costs and the threat model.
 *
 * Per minibatch B (the same rows on every rank, from a shared seed):
 *   1. every rank k computes its partial scores z_k = X_k[B] w_k;
 *   2. secure sum of z_k (fs_secagg_sum_words, 64-bit ring) to which the
 *      label holder L adds a uniform 64-bit mask s per row: every rank
 *      receives z + s mod 2^64, only L can remove s.  So only L learns the
 *      total scores z, and nobody learns another rank's z_k (for two ranks
 *      L can of course compute z - z_L = z_1);
 *   3. L computes the residuals r = sigmoid(z) - y (logistic) or z - y
 *      (linear), updates its own block and the bias in plain, encrypts r
 *      under its Paillier key and broadcasts Enc(r);
 *   4. each feature holder k computes Enc(X_k[B]^T r) homomorphically,
 *      adds a uniform mask m_k in Z_n (fs_paillier_add_mask) and sends it
 *      to L, which decrypts g_k + m_k (uniform: L learns nothing) and
 *      returns it; k removes m_k and updates w_k -= lr (g_k / |B| + l2 w_k).
 *
 * Feature holders learn their own gradient g_k = X_k^T r per batch (as in
 * every gradient-based VFL protocol without gradient masking, a sequence
 * of these can leak information about r); they never see z, r or y.
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

/* fs_vfl_opts (fs_opts.h): the options; identical on every rank except the paths. */

/* fs_vfl_opts_default - logistic, label rank 0, lr 0.1, l2 0, 10 epochs,
 * batch 64, 2048-bit Paillier, seed 1, no roster, authentication required. */
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
    double secagg_setup_seconds;
    uint64_t n_encrypt, n_decrypt, n_scalar_mul; /* this rank's counts      */
} fs_vfl_report;

/* Called by fs_vfl_train on every rank after each epoch (may be NULL). */
typedef void (*fs_vfl_epoch_fn)(int epoch, double train_loss, double test_metric, void *user);

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
 * threshold 0.5, or RMSE) via a masked secure sum of partial test scores.
 * returns the same code on every rank: FS_OK, FS_ERR_ARG (options differ
 * between ranks, bad values, row counts differ), FS_ERR_NUMERIC, FS_ERR_CRYPTO,
 * FS_ERR_AUTH, FS_ERR_NOMEM, FS_ERR_MPI.
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
 * returns the same code on every rank.
 */
FS_EXPORT fs_err fs_vfl_run(MPI_Comm comm, const fs_config *cfg, fs_vfl_start_fn on_start,
                            fs_vfl_epoch_fn on_epoch, void *user, fs_vfl_run_report *out)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* FEDSILO_FS_VFL_H */

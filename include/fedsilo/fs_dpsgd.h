/*
 * fs_dpsgd.h - DP-SGD local training (train layer; no MPI): per-example
 * clipping and Gaussian noise (Abadi et al. 2016) on top of the local SGD
 * of fs_model.h, with the noise stream and accountant of fs_dp.h.
 * Background and validation: docs/privacy.md.
 */
#ifndef FEDSILO_FS_DPSGD_H
#define FEDSILO_FS_DPSGD_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_data.h"
#include "fs_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How DP-SGD forms a batch. */
typedef enum {
    /* Every row joins independently with probability q = batch_size / n
     * (variable batch size): exactly the mechanism the accountant analyses. */
    FS_DPSGD_POISSON = 0,
    /* A uniformly random subset of exactly batch_size rows per step.  The
     * accountant's Poisson analysis is then an approximation (as in
     * Opacus's uniform sampler); see docs/privacy.md. */
    FS_DPSGD_FIXED = 1
} fs_dpsgd_sampling;

/* DP-SGD options (identical on all ranks). */
typedef struct {
    fs_sgd_opts sgd;             /* lr, momentum, weight_decay, batch_size,
                                    local_epochs, local_steps, prox_mu and
                                    prox_anchor (as fs_sgd_train)            */
    double clip_norm;            /* C > 0: per-example L2 clipping bound     */
    double noise_multiplier;     /* sigma >= 0: noise std is sigma * C       */
    fs_dpsgd_sampling sampling;
    double sampling_rate;        /* Poisson only: the inclusion probability q
                                    in (0, 1] of every row, exactly (expected
                                    batch q n may be below one row); 0: q =
                                    batch_size / n                           */
} fs_dpsgd_opts;

/* What one DP-SGD call did; steps and sample_rate feed fs_rdp_add_step. */
typedef struct {
    fs_sgd_stats sgd;            /* loss_sum, samples (rows used), steps     */
    long steps;                  /* noisy steps taken (= sgd.steps)          */
    double sample_rate;          /* q: sampling_rate, or batch_size / n      */
    double noise_multiplier;     /* sigma actually used                      */
    double clipped;              /* per-example gradients that were clipped  */
} fs_dpsgd_stats;

/*
 * fs_dpsgd_train - DP-SGD (Abadi et al. 2016) on ds from the current
 * parameters.  Per step: sample a batch (o->sampling, rate q = batch_size
 * / n), compute every example's gradient separately (one forward/backward
 * of one row each: cost ~ batch_size single-row passes), clip each to L2
 * norm C, sum, add N(0, sigma^2 C^2) to every coordinate, divide by the
 * expected batch size q n (= batch_size), then apply the update rule of
 * fs_sgd_train (g += wd w [+ prox_mu (w - prox_anchor)]; v = mu v + g;
 * w -= lr v; v = 0 at the start).  The FedProx term of o->sgd is added after
 * the noise: it depends on no record, so it costs no privacy.
 * Steps: o->sgd.local_steps if > 0, else ceil(1/q) * local_epochs.
 *
 * Batch membership and noise both come from one CSPRNG stream keyed by
 * noise_seed (FS_DP_SEEDBYTES bytes; NULL = fresh OS randomness) at nonce
 * (round, silo), so with a seed the call is reproducible.  `seed` is kept
 * for symmetry with fs_sgd_train and mixed into nothing secret.
 * Not collective.  Allocates O(nparams) per call (not per step).
 * out: stats (may be NULL).  Feed stats->steps and stats->sample_rate with
 * o->noise_multiplier to fs_rdp_add_step to account for the call.
 * returns FS_OK, FS_ERR_ARG (bad options, batch_size > n), FS_ERR_NOMEM,
 * FS_ERR_CRYPTO, or FS_ERR_NUMERIC (non-finite loss or parameters; the
 * message names silo, round and step).  The gradient slab is zero on return.
 */
FS_EXPORT fs_err fs_dpsgd_train(fs_model *m, const fs_dataset *ds, const fs_dpsgd_opts *o,
                                uint64_t seed, int silo, int round,
                                const uint8_t *noise_seed, fs_dpsgd_stats *stats)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_DPSGD_H */

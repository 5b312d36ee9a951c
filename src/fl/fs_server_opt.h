/*
 * fs_server_opt.h - server optimizers of the federated round (FedAvg program,
 * internal).  The aggregated, weighted mean update of a round is the
 * pseudo-gradient Delta = sum_k (n_k/n)(w_k - w) (it points downhill).
 *
 *   fedavg      w += lr * Delta                       (McMahan et al. 2017)
 *   fedavgm     m = beta * m + Delta;  w += lr * m    (Hsu et al. 2019)
 *   fedadagrad  m = b1 m + (1-b1) Delta;  v = v + Delta^2
 *   fedyogi     m = b1 m + (1-b1) Delta;  v = v - (1-b2) Delta^2 sign(v - Delta^2)
 *   fedadam     m = b1 m + (1-b1) Delta;  v = b2 v + (1-b2) Delta^2
 *               w += lr * m / (sqrt(v) + tau)         (Reddi et al. 2021, Alg. 2)
 *
 * As in Reddi et al.'s Algorithm 2: m starts at 0, v at tau^2, and there
 * is no bias correction.  The state (m, v, steps) is part of the checkpoint.
 * Arithmetic is in float, element by element, in a fixed order: the update
 * is identical on every rank and across resumes.
 */
#ifndef FEDSILO_FS_SERVER_OPT_H
#define FEDSILO_FS_SERVER_OPT_H

#include <stddef.h>
#include "fs_impl.h"

typedef enum {
    FS_SOPT_FEDAVG = 0, FS_SOPT_FEDAVGM, FS_SOPT_FEDADAGRAD, FS_SOPT_FEDYOGI, FS_SOPT_FEDADAM
} fs_sopt_kind;

typedef struct {
    fs_sopt_kind kind;
    double lr, beta1, beta2, tau;  /* beta1 is the momentum of fedavgm */
    size_t n;                      /* parameters                        */
    float *m;                      /* (n) first moment / momentum, or NULL */
    float *v;                      /* (n) second moment, or NULL        */
    long steps;                    /* server steps taken                */
} fs_server_opt;

/* Parse "fedavg" ... "fedadam"; FS_ERR_ARG names the choices. */
FS_INTERN fs_err fs_server_opt_kind(const char *name, fs_sopt_kind *out);

/* Allocate the state for n parameters (m/v as the kind needs). Caller frees
 * with fs_server_opt_destroy.  Not collective. */
FS_INTERN fs_err fs_server_opt_create(fs_sopt_kind kind, double lr, double beta1, double beta2,
                                      double tau, size_t n, fs_server_opt **out);
FS_INTERN void fs_server_opt_destroy(fs_server_opt **o);

/* w += step(delta); updates the state.  Not collective (every rank runs it
 * on the same inputs). */
FS_INTERN void fs_server_opt_step(fs_server_opt *o, float *w, const float *delta);

/* Name of a kind ("fedadam"). */
FS_INTERN const char *fs_server_opt_name(fs_sopt_kind kind);

#endif

/*
 * fs_model.h - models, losses and local SGD (train layer; OpenBLAS, no MPI).
 *
 * Models: "linear" (regression, MSE), "logistic" (binary classification,
 * sigmoid + binary cross-entropy, 1 output), "softmax" (multiclass linear,
 * softmax cross-entropy), "mlp:H1,H2,..." (ReLU hidden layers; softmax CE
 * for classification, MSE with 1 output for regression).
 *
 * All parameters live in one float slab (fs_model_params), in the order
 * W1 (h1 x d, row-major), b1 (h1), W2 (h2 x h1), b2, ..., W_out, b_out.
 * Gradients mirror it (fs_model_grads).  Activations and the minibatch
 * buffer are allocated once at creation for up to max_batch rows: no
 * allocation per step.
 */
#ifndef FEDSILO_FS_MODEL_H
#define FEDSILO_FS_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_data.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_model fs_model;

/*
 * fs_model_create - build a model from a spec string for inputs of d
 * features.  task/num_classes come from the data: "logistic" requires a
 * binary classification task, "softmax" classification, "linear"
 * regression; "mlp" either.  max_batch bounds the minibatch size.
 * Not collective.  Parameters are zero until fs_model_init.  Caller owns
 * *out (fs_model_destroy).  FS_ERR_ARG names the problem with the spec.
 */
FS_EXPORT fs_err fs_model_create(const char *spec, size_t d, fs_task task, int num_classes,
                                 size_t max_batch, fs_model **out) FS_WARN_UNUSED;

/* fs_model_destroy - free; NULL-safe; sets *m = NULL. */
FS_EXPORT void fs_model_destroy(fs_model **m);

/* Number of parameters (slab length). */
FS_EXPORT size_t fs_model_nparams(const fs_model *m);

/* Parameter slab (nparams floats); borrowed, valid until destroy. */
FS_EXPORT float *fs_model_params(fs_model *m);

/* Gradient slab (nparams floats); borrowed, valid until destroy. */
FS_EXPORT float *fs_model_grads(fs_model *m);

/* Canonical spec string ("mlp:256,128"); borrowed. */
FS_EXPORT const char *fs_model_spec(const fs_model *m);

/* Number of outputs of the last layer (1 or num_classes). */
FS_EXPORT size_t fs_model_noutputs(const fs_model *m);

/*
 * fs_model_init - deterministic initialization from seed (He-uniform for
 * layers followed by ReLU, Glorot-uniform for the output layer, zero
 * biases).  Same seed => bit-identical parameters on every rank.
 */
FS_EXPORT void fs_model_init(fs_model *m, uint64_t seed);

/*
 * fs_model_loss_grad - forward and backward on a batch of b rows
 * (b <= max_batch).  X is (b, d) row-major; y_class (classification) or
 * y_reg (regression) holds b labels; the other is NULL.  Overwrites the
 * gradient slab with the gradient of the MEAN loss over the batch and
 * stores the mean loss in *loss.  Not collective.  Returns FS_ERR_NUMERIC
 * if the loss is not finite.
 */
FS_EXPORT fs_err fs_model_loss_grad(fs_model *m, const float *X, const int32_t *y_class,
                                    const float *y_reg, size_t b, double *loss) FS_WARN_UNUSED;

/* Sums over a dataset, for metrics that can be added across institutions. */
typedef struct {
    double count;     /* rows evaluated                                   */
    double loss_sum;  /* sum of per-row loss (CE, BCE or squared error)   */
    double correct;   /* rows classified correctly (classification)       */
    double sq_err;    /* sum of squared errors (regression)               */
    double abs_err;   /* sum of absolute errors (regression)              */
} fs_eval_sums;

/*
 * fs_model_evaluate - forward pass over all rows of ds in batches of at
 * most max_batch; adds into *sums (does not reset it).  Not collective.
 * Does not touch gradients.  Returns FS_ERR_ARG if ds does not match the
 * model (d, task), FS_ERR_NUMERIC on non-finite loss.
 */
FS_EXPORT fs_err fs_model_evaluate(fs_model *m, const fs_dataset *ds,
                                   fs_eval_sums *sums) FS_WARN_UNUSED;

/*
 * fs_model_predict - forward pass on b <= max_batch rows of X (b, d):
 * out (b, noutputs) receives the raw outputs (logits for classification,
 * predictions for regression).  Not collective.  Does not touch gradients.
 * Returns FS_ERR_ARG for b out of range.
 */
FS_EXPORT fs_err fs_model_predict(fs_model *m, const float *X, size_t b, float *out) FS_WARN_UNUSED;

/* Largest batch the model was created for. */
FS_EXPORT size_t fs_model_max_batch(const fs_model *m);

/* Local SGD options (identical on all ranks). */
typedef struct {
    double lr;            /* learning rate > 0                              */
    double momentum;      /* heavy-ball momentum in [0, 1)                  */
    double weight_decay;  /* L2 coefficient >= 0 (added to the gradient)    */
    size_t batch_size;    /* rows per step, 1..max_batch                    */
    int local_epochs;     /* passes over the shard (used when steps == 0)   */
    long local_steps;     /* if > 0: exactly this many steps, reshuffling
                             at each epoch boundary                         */
    double prox_mu;       /* FedProx (Li et al. 2020): if > 0, adds
                             prox_mu * (w - prox_anchor) to the gradient    */
    const float *prox_anchor; /* (nparams) borrowed: the round's global model */
    /* Optional (NULL: none): called after every local step with the number
     * of steps done so far in this call, on the calling thread (progress
     * display, watchdogs).  Must be cheap; it cannot stop training. */
    void (*on_step)(void *user, long steps_done);
    void *on_step_user;
} fs_sgd_opts;

/* Statistics of one local training call. */
typedef struct {
    double loss_sum;      /* sum over steps of (mean batch loss * rows)     */
    double samples;       /* rows processed (counting repeats)              */
    long steps;
} fs_sgd_stats;

/*
 * fs_sgd_train - local SGD on ds starting from the current parameters.
 * The row order of each epoch is a Fisher-Yates shuffle drawn from a
 * stream keyed by (seed, silo, round, epoch), so training is reproducible
 * and independent of anything but those numbers.  The last partial batch
 * of an epoch is used (smaller b).  The momentum buffer is reset to zero at
 * the start of every call (local optimizer state does not persist between
 * rounds, so it need not be checkpointed).  Update per step:
 *   g = grad + wd * w [+ prox_mu * (w - anchor)];  v = momentum * v + g;
 *   w -= lr * v.
 * Not collective.  Returns FS_ERR_NUMERIC (message names silo, round,
 * step) if a loss or parameter becomes non-finite.  On return the gradient
 * slab is all zeros (each step clears it in the fused update pass).
 */
FS_EXPORT fs_err fs_sgd_train(fs_model *m, const fs_dataset *ds, const fs_sgd_opts *o,
                              uint64_t seed, int silo, int round,
                              fs_sgd_stats *stats) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_MODEL_H */

/*
 * fs_train_impl.h - private definitions of the train layer (fs_model.c,
 * fs_sgd.c).  Not installed.
 *
 * A model is a stack of L = nhidden + 1 fully connected layers.  Layer l
 * (0-based) maps dim[l] inputs to dim[l+1] outputs:
 *
 *     Z_{l+1} = A_l W_l^T + b_l        A_0 = X (B, d), W_l (dim[l+1], dim[l])
 *     A_{l+1} = relu(Z_{l+1})          for hidden layers (l + 1 < L)
 *     logits  = Z_L                    (B, nout)
 *
 * followed by the loss head (MSE, sigmoid+BCE or softmax+CE).  Every buffer
 * lives in one 64-byte aligned slab allocated by fs_model_create; the only
 * other allocation is the shuffle permutation of fs_sgd_train, which grows
 * to the largest shard seen and is then reused.
 */
#ifndef FEDSILO_FS_TRAIN_IMPL_H
#define FEDSILO_FS_TRAIN_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "fedsilo/fs_model.h"

#define FS_MODEL_MAX_HIDDEN 16                      /* hidden layers of an mlp */
#define FS_MODEL_MAX_LAYERS (FS_MODEL_MAX_HIDDEN + 1) /* weight layers          */
#define FS_MODEL_MAX_WIDTH 65536                    /* hidden units per layer  */
#define FS_MODEL_SPEC_MAX 160                       /* canonical spec + NUL    */

typedef enum { FS_MODEL_LINEAR, FS_MODEL_LOGISTIC, FS_MODEL_SOFTMAX, FS_MODEL_MLP } fs_model_kind;

/* Loss heads.  MSE is the plain squared error (yhat - y)^2 per row. */
typedef enum { FS_LOSS_MSE, FS_LOSS_BCE, FS_LOSS_CE } fs_loss_kind;

struct fs_model {
    fs_model_kind kind;
    fs_loss_kind loss;
    fs_task task;
    int num_classes;              /* >= 2 for classification, 0 for regression    */
    char spec[FS_MODEL_SPEC_MAX]; /* canonical spec, e.g. "mlp:256,128"           */

    int nlayers;                  /* L: weight layers (hidden + output)           */
    size_t dim[FS_MODEL_MAX_LAYERS + 1]; /* dim[0] = d, ..., dim[L] = nout        */
    size_t max_batch;             /* B_max: rows per forward/backward             */
    size_t nparams;

    /* Views into the slab.  Parameters: W_0, b_0, W_1, b_1, ... (public order). */
    float *params;                        /* (nparams)                            */
    float *grads;                         /* (nparams) mirrors params             */
    float *mom;                           /* (nparams) SGD heavy-ball velocity v  */
    float *W[FS_MODEL_MAX_LAYERS];        /* (dim[l+1], dim[l]) row-major         */
    float *b[FS_MODEL_MAX_LAYERS];        /* (dim[l+1])                           */
    float *dW[FS_MODEL_MAX_LAYERS];       /* (dim[l+1], dim[l]) dLoss/dW_l        */
    float *db[FS_MODEL_MAX_LAYERS];       /* (dim[l+1])         dLoss/db_l        */
    float *act[FS_MODEL_MAX_LAYERS + 1];  /* act[0] = NULL (the input X is passed
                                             in); act[l], 0<l<L: (B_max, dim[l])
                                             post-ReLU; act[L]: (B_max, nout) logits */
    float *dz[FS_MODEL_MAX_LAYERS + 1];   /* dz[l], l>=1: (B_max, dim[l]) dLoss/dZ_l
                                             (pre-activation gradient)           */
    float *xb;                            /* (B_max, d) minibatch gather buffer   */
    int32_t *yb_class;                    /* (B_max) gathered labels              */
    float *yb_reg;                        /* (B_max) gathered targets             */
    void *slab;                           /* owns everything above                */

    uint32_t *perm;                       /* (perm_cap) shuffle order of a shard  */
    size_t perm_cap;
};

/*
 * fs_model_check_data - FS_ERR_ARG (with a message naming `what` and the
 * mismatch) unless ds has the model's d, task and number of classes.
 */
FS_INTERN fs_err fs_model_check_data(const fs_model *m, const fs_dataset *ds, const char *what);

/*
 * fs_model_forward_backward - forward and backward on b rows (1 <= b <=
 * max_batch, labels present for the task: the caller checks) that ADDS the
 * gradient of the mean batch loss into the gradient slab; *loss = mean
 * loss.  fs_model_loss_grad is this after zeroing the slab.  Returns
 * FS_ERR_ARG for an out-of-range label, FS_ERR_NUMERIC for a non-finite
 * loss (then the gradient slab is unchanged).
 */
FS_INTERN fs_err fs_model_forward_backward(fs_model *m, const float *X, const int32_t *y_class,
                                           const float *y_reg, size_t b, double *loss);

#endif /* FEDSILO_FS_TRAIN_IMPL_H */

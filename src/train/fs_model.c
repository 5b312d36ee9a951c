/*
 * fs_model.c - models and losses of the train layer: spec parsing, the
 * one-slab layout, deterministic initialization, forward and backward on
 * OpenBLAS, and evaluation sums.  Train layer: no MPI, never prints.
 *
 * A model is L fully connected layers; layer l maps dim[l] -> dim[l+1]
 * (dim[0] = d, dim[L] = nout).  For a batch of B rows (row-major, like
 * llm.c) the forward pass is
 *
 *     Z_{l+1} = A_l W_l^T + 1 b_l^T    one sgemm (B, in) x (in, out)
 *     A_{l+1} = max(Z_{l+1}, 0)        hidden layers; fused with the bias add
 *     logits  = Z_L                    (B, nout)
 *
 * with A_0 = X.  The loss head, per row i with logits z_i and label y_i:
 *
 *     MSE   loss_i = (z_i - y_i)^2                        dz_i = 2 (z_i - y_i) / B
 *     BCE   loss_i = max(z,0) - z y + log1p(exp(-|z|))    dz_i = (sigmoid(z) - y) / B
 *     CE    loss_i = logsumexp(z_i) - z_i[y_i]            dz_i = (softmax(z_i) - onehot(y_i)) / B
 *
 * MSE is the plain squared error (no 1/2), so for regression the reported
 * loss equals the squared error.  The dz are gradients of the MEAN loss.
 * Backward, for l = L-1 down to 0, with G = dZ_{l+1} (B, out):
 *
 *     dW_l += G^T A_l                  one sgemm (out, B) x (B, in), beta = 1
 *     db_l += column sums of G
 *     dA_l  = G W_l                    one sgemm (B, out) x (out, in); not for
 *                                      l = 0 (the gradient w.r.t. X is unused)
 *     dZ_l  = dA_l * [A_l > 0]         fused with the column sums into db_{l-1}
 *
 * As in llm.c the backward pass ACCUMULATES into the gradient slab and
 * zeroing it is a separate, explicit step: fs_model_loss_grad zeroes first
 * (so its result overwrites), while fs_sgd_train zeroes each gradient inside
 * the update pass that consumes it.  Accumulating also spares OpenBLAS a
 * separate pass that would clear dW before every beta = 0 sgemm.
 *
 * All buffers are carved out of one slab in fs_model_create; forward and
 * backward never allocate.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fs_impl.h"
#include "fs_train_impl.h"

/* Stream domain of fs_model_init ("init"); fs_sgd.c uses another one. */
#define FS_MODEL_INIT_DOMAIN UINT64_C(0x696e6974)

// ----------------------------------------------------------------------------
// layers: outputs first, sizes last

/* out (B, OC) = inp (B, C) weight^T, weight (OC, C) row-major.  Overwrites. */
static void matmul_forward(float *out, const float *inp, const float *weight,
                           size_t B, size_t C, size_t OC)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)B, (blasint)OC, (blasint)C,
                1.0f, inp, (blasint)C, weight, (blasint)C, 0.0f, out, (blasint)OC);
}

/* out (B, OC) += bias (OC) broadcast over rows. */
static void bias_forward(float *restrict out, const float *restrict bias, size_t B, size_t OC)
{
    for (size_t i = 0; i < B; i++) {
        float *o = out + i * OC;
        for (size_t j = 0; j < OC; j++) o[j] += bias[j];
    }
}

/*
 * The elementwise loops over a hidden layer run in blocks of 16 columns
 * plus a tail: a constant trip count is what GCC's default -O2 ("very
 * cheap") vectorizer needs, and these loops would otherwise cost several
 * percent of a step.
 */
#define FS_BLOCK 16

/* o[lo..hi) = relu(o + bias), written as z < 0 ? 0 : z so a NaN propagates
 * (max(NaN, 0) would hide it from the loss check). */
static inline void bias_relu_cols(float *restrict o, const float *restrict bias, size_t lo,
                                  size_t hi)
{
    for (size_t j = lo; j < hi; j++) {
        float z = o[j] + bias[j];
        o[j] = z < 0.0f ? 0.0f : z;
    }
}

/* out (B, OC) = relu(out + bias), in place. */
static void bias_relu_forward(float *restrict out, const float *restrict bias, size_t B, size_t OC)
{
    for (size_t i = 0; i < B; i++) {
        float *o = out + i * OC;
        size_t j = 0;
        for (; j + FS_BLOCK <= OC; j += FS_BLOCK) bias_relu_cols(o, bias, j, j + FS_BLOCK);
        bias_relu_cols(o, bias, j, OC);
    }
}

/* dweight (OC, C) += dout^T (OC, B) inp (B, C).  Accumulates. */
static void matmul_backward_weight(float *dweight, const float *dout, const float *inp,
                                   size_t B, size_t C, size_t OC)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)OC, (blasint)C, (blasint)B,
                1.0f, dout, (blasint)OC, inp, (blasint)C, 1.0f, dweight, (blasint)C);
}

/* dinp (B, C) = dout (B, OC) weight (OC, C).  Overwrites (dinp is scratch). */
static void matmul_backward_input(float *dinp, const float *dout, const float *weight,
                                  size_t B, size_t C, size_t OC)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)B, (blasint)C, (blasint)OC,
                1.0f, dout, (blasint)OC, weight, (blasint)C, 0.0f, dinp, (blasint)C);
}

/* dbias (OC) += column sums of dout (B, OC).  Accumulates. */
static void bias_backward(float *restrict dbias, const float *restrict dout, size_t B, size_t OC)
{
    for (size_t i = 0; i < B; i++) {
        const float *g = dout + i * OC;
        for (size_t j = 0; j < OC; j++) dbias[j] += g[j];
    }
}

/* g[lo..hi) *= [a > 0]; dbias[lo..hi) += g. */
static inline void relu_bias_cols(float *restrict g, float *restrict dbias,
                                  const float *restrict a, size_t lo, size_t hi)
{
    for (size_t j = lo; j < hi; j++) {
        float gj = a[j] > 0.0f ? g[j] : 0.0f;
        g[j] = gj;
        dbias[j] += gj;
    }
}

/*
 * dz (B, C) *= [act > 0] in place (act is the post-ReLU output, so act > 0
 * exactly where the pre-activation was positive), and dbias (C) += column
 * sums of the masked dz.  One pass instead of two.  Accumulates into dbias.
 */
static void relu_bias_backward(float *restrict dz, float *restrict dbias,
                               const float *restrict act, size_t B, size_t C)
{
    for (size_t i = 0; i < B; i++) {
        float *g = dz + i * C;
        const float *a = act + i * C;
        size_t j = 0;
        for (; j + FS_BLOCK <= C; j += FS_BLOCK) relu_bias_cols(g, dbias, a, j, j + FS_BLOCK);
        relu_bias_cols(g, dbias, a, j, C);
    }
}

// ----------------------------------------------------------------------------
// loss heads: per-row loss summed in double; optional gradient and metrics

/*
 * MSE on one output: logits (B).  dlogits (B) = 2 (z - y) / B if non-NULL.
 * Adds count, loss, sq_err, abs_err to s if non-NULL.  Returns sum of loss.
 */
static double mse_head(float *dlogits, const float *logits, const float *y, size_t B,
                       fs_eval_sums *s)
{
    double sum = 0.0, abs_sum = 0.0;
    float scale = 2.0f / (float)B;
    for (size_t i = 0; i < B; i++) {
        float e = logits[i] - y[i];
        sum += (double)e * e;
        abs_sum += fabs((double)e);
        if (dlogits) dlogits[i] = scale * e;
    }
    if (s) { s->count += (double)B; s->loss_sum += sum; s->sq_err += sum; s->abs_err += abs_sum; }
    return sum;
}

/*
 * Sigmoid + BCE on one logit per row, labels in {0, 1}:
 *   loss = max(z, 0) - z y + log1p(exp(-|z|))   (no overflow for any z)
 *   dlogits = (sigmoid(z) - y) / B
 * Predicted class is 1 iff z > 0 (probability > 0.5).
 */
static double bce_head(float *dlogits, const float *logits, const int32_t *y, size_t B,
                       fs_eval_sums *s)
{
    double sum = 0.0, correct = 0.0;
    float inv_b = 1.0f / (float)B;
    for (size_t i = 0; i < B; i++) {
        float z = logits[i], t = (float)y[i];
        float ez = expf(-fabsf(z));                      // in (0, 1]
        sum += (double)(fmaxf(z, 0.0f) - z * t + log1pf(ez));
        if (dlogits) {
            float p = z >= 0.0f ? 1.0f / (1.0f + ez) : ez / (1.0f + ez);
            dlogits[i] = (p - t) * inv_b;
        }
        correct += ((z > 0.0f) == (y[i] == 1));
    }
    if (s) { s->count += (double)B; s->loss_sum += sum; s->correct += correct; }
    return sum;
}

/*
 * Softmax + CE on logits (B, C):
 *   loss_i = log sum_j exp(z_ij - max_i) - (z_iy - max_i)
 *   dlogits (B, C) = (softmax(z_i) - onehot(y_i)) / B
 * Predicted class is the first argmax.  dlogits may alias nothing else.
 */
static double ce_head(float *dlogits, const float *logits, const int32_t *y, size_t B, size_t C,
                      fs_eval_sums *s)
{
    double sum = 0.0, correct = 0.0;
    float inv_b = 1.0f / (float)B;
    for (size_t i = 0; i < B; i++) {
        const float *z = logits + i * C;
        size_t arg = 0;
        for (size_t j = 1; j < C; j++)
            if (z[j] > z[arg]) arg = j;
        float zmax = z[arg], denom = 0.0f;
        for (size_t j = 0; j < C; j++) denom += expf(z[j] - zmax);
        sum += (double)(logf(denom) - (z[y[i]] - zmax));
        if (dlogits) {
            float *g = dlogits + i * C, inv = inv_b / denom;
            for (size_t j = 0; j < C; j++) g[j] = expf(z[j] - zmax) * inv;
            g[y[i]] -= inv_b;
        }
        correct += (arg == (size_t)y[i]);
    }
    if (s) { s->count += (double)B; s->loss_sum += sum; s->correct += correct; }
    return sum;
}

/* FS_ERR_ARG unless every label is in [0, nclasses). */
static fs_err check_labels(const int32_t *y, size_t B, int nclasses)
{
    for (size_t i = 0; i < B; i++)
        if (y[i] < 0 || y[i] >= nclasses)
            return fs_error_set(FS_ERR_ARG, "label %ld of batch row %zu is outside 0..%d",
                                (long)y[i], i, nclasses - 1);
    return FS_OK;
}

// ----------------------------------------------------------------------------
// whole-model passes

/* Forward B rows of X (B, d); leaves post-ReLU activations and logits in act[]. */
static void model_forward(fs_model *m, const float *X, size_t B)
{
    const int L = m->nlayers;
    const float *inp = X;
    for (int l = 0; l < L; l++) {
        float *out = m->act[l + 1];
        matmul_forward(out, inp, m->W[l], B, m->dim[l], m->dim[l + 1]);
        if (l + 1 < L) bias_relu_forward(out, m->b[l], B, m->dim[l + 1]);
        else bias_forward(out, m->b[l], B, m->dim[l + 1]);
        inp = out;
    }
}

/*
 * Run the loss head on the logits act[L] of B rows: returns the summed
 * per-row loss in *loss_sum; writes dz[L] if want_grad; adds metrics to s
 * if non-NULL.  Checks labels first.
 */
static fs_err model_head(fs_model *m, const int32_t *y_class, const float *y_reg, size_t B,
                         int want_grad, fs_eval_sums *s, double *loss_sum)
{
    const int L = m->nlayers;
    float *dlogits = want_grad ? m->dz[L] : NULL;
    const float *logits = m->act[L];
    switch (m->loss) {
    case FS_LOSS_MSE:
        *loss_sum = mse_head(dlogits, logits, y_reg, B, s);
        return FS_OK;
    case FS_LOSS_BCE: {
        fs_err rc = check_labels(y_class, B, 2);
        if (rc != FS_OK) return rc;
        *loss_sum = bce_head(dlogits, logits, y_class, B, s);
        return FS_OK;
    }
    case FS_LOSS_CE: {
        fs_err rc = check_labels(y_class, B, m->num_classes);
        if (rc != FS_OK) return rc;
        *loss_sum = ce_head(dlogits, logits, y_class, B, m->dim[L], s);
        return FS_OK;
    }
    }
    return fs_error_set(FS_ERR_ARG, "model has an unknown loss head");
}

/* Backward from dz[L] (set by the head); accumulates into every gradient. */
static void model_backward(fs_model *m, const float *X, size_t B)
{
    const int L = m->nlayers;
    bias_backward(m->db[L - 1], m->dz[L], B, m->dim[L]);
    for (int l = L - 1; l >= 0; l--) {
        const float *inp = (l == 0) ? X : m->act[l];
        matmul_backward_weight(m->dW[l], m->dz[l + 1], inp, B, m->dim[l], m->dim[l + 1]);
        if (l > 0) {
            matmul_backward_input(m->dz[l], m->dz[l + 1], m->W[l], B, m->dim[l], m->dim[l + 1]);
            relu_bias_backward(m->dz[l], m->db[l - 1], m->act[l], B, m->dim[l]);
        }
    }
}

// ----------------------------------------------------------------------------
// spec parsing and creation

/*
 * Parse spec into kind and hidden sizes (mlp only).  Every error names the
 * spec and the offending part.
 */
static fs_err parse_spec(const char *spec, fs_model_kind *kind, int *nhidden, size_t *hidden)
{
    *nhidden = 0;
    if (strcmp(spec, "linear") == 0) { *kind = FS_MODEL_LINEAR; return FS_OK; }
    if (strcmp(spec, "logistic") == 0) { *kind = FS_MODEL_LOGISTIC; return FS_OK; }
    if (strcmp(spec, "softmax") == 0) { *kind = FS_MODEL_SOFTMAX; return FS_OK; }
    if (strcmp(spec, "mlp") == 0 || strcmp(spec, "mlp:") == 0)
        return fs_error_set(FS_ERR_ARG, "model '%s': give the hidden layer sizes, e.g. mlp:256,128",
                            spec);
    if (strncmp(spec, "mlp:", 4) != 0)
        return fs_error_set(FS_ERR_ARG, "model '%s': unknown model (expected linear, logistic, "
                            "softmax or mlp:H1,H2,...)", spec);
    *kind = FS_MODEL_MLP;
    const char *p = spec + 4;
    for (;;) {
        size_t len = strcspn(p, ",");
        size_t value = 0;
        int ok = len > 0;
        for (size_t i = 0; ok && i < len; i++) {
            if (p[i] < '0' || p[i] > '9') ok = 0;
            else if (value <= FS_MODEL_MAX_WIDTH) value = 10 * value + (size_t)(p[i] - '0');
        }
        if (!ok || value == 0)
            return fs_error_set(FS_ERR_ARG, "model '%s': hidden size '%.*s' is not a positive "
                                "integer", spec, (int)(len > 40 ? 40 : len), p);
        if (value > FS_MODEL_MAX_WIDTH)
            return fs_error_set(FS_ERR_ARG, "model '%s': hidden size '%.*s' is larger than %d",
                                spec, (int)(len > 40 ? 40 : len), p, FS_MODEL_MAX_WIDTH);
        if (*nhidden == FS_MODEL_MAX_HIDDEN)
            return fs_error_set(FS_ERR_ARG, "model '%s': at most %d hidden layers are supported",
                                spec, FS_MODEL_MAX_HIDDEN);
        hidden[(*nhidden)++] = value;
        if (p[len] == '\0') return FS_OK;
        p += len + 1;
    }
}

/* Check the model kind against the task; sets loss and nout. */
static fs_err match_task(const char *spec, fs_model_kind kind, fs_task task, int num_classes,
                         fs_loss_kind *loss, size_t *nout)
{
    const int cls = (task == FS_TASK_CLASSIFICATION);
    if (task != FS_TASK_CLASSIFICATION && task != FS_TASK_REGRESSION)
        return fs_error_set(FS_ERR_ARG, "model '%s': unknown task %d", spec, (int)task);
    if (cls && num_classes < 2)
        return fs_error_set(FS_ERR_ARG, "model '%s': classification needs >= 2 classes, got %d",
                            spec, num_classes);
    switch (kind) {
    case FS_MODEL_LINEAR:
        if (cls)
            return fs_error_set(FS_ERR_ARG, "model 'linear' is for regression but the data is "
                                "classification (use logistic, softmax or mlp)");
        *loss = FS_LOSS_MSE; *nout = 1;
        return FS_OK;
    case FS_MODEL_LOGISTIC:
        if (!cls)
            return fs_error_set(FS_ERR_ARG, "model 'logistic' is for binary classification but "
                                "the data is regression (use linear or mlp)");
        if (num_classes != 2)
            return fs_error_set(FS_ERR_ARG, "model 'logistic' needs exactly 2 classes but the data "
                                "has %d (use softmax or mlp)", num_classes);
        *loss = FS_LOSS_BCE; *nout = 1;
        return FS_OK;
    case FS_MODEL_SOFTMAX:
        if (!cls)
            return fs_error_set(FS_ERR_ARG, "model 'softmax' is for classification but the data "
                                "is regression (use linear or mlp)");
        *loss = FS_LOSS_CE; *nout = (size_t)num_classes;
        return FS_OK;
    case FS_MODEL_MLP:
        *loss = cls ? FS_LOSS_CE : FS_LOSS_MSE;
        *nout = cls ? (size_t)num_classes : 1;
        return FS_OK;
    }
    return fs_error_set(FS_ERR_ARG, "model '%s': unknown kind", spec);
}

/* *off += round_up(n floats, 16) with overflow check; returns 0 on overflow. */
static int slab_take(size_t *off, size_t n)
{
    size_t r = (n + 15) / 16 * 16;
    if (n > SIZE_MAX - 15 || *off > SIZE_MAX - r) return 0;
    *off += r;
    return 1;
}

/* a * b without overflow into *out; returns 0 on overflow. */
static int mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

fs_err fs_model_create(const char *spec, size_t d, fs_task task, int num_classes,
                       size_t max_batch, fs_model **out)
{
    fs_err rc = FS_OK;
    fs_model *m = NULL;
    size_t hidden[FS_MODEL_MAX_HIDDEN];
    int nhidden = 0;
    fs_model_kind kind = FS_MODEL_LINEAR;
    fs_loss_kind loss = FS_LOSS_MSE;
    size_t nout = 1;

    FS_CHECK_ARG(out != NULL, "fs_model_create: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(spec != NULL, "fs_model_create: spec is NULL");
    FS_TRY(parse_spec(spec, &kind, &nhidden, hidden));
    FS_TRY(match_task(spec, kind, task, num_classes, &loss, &nout));
    FS_CHECK_ARG(d >= 1 && d <= INT_MAX, "model '%s': input dimension %zu must be in 1..%d",
                 spec, d, INT_MAX);
    FS_CHECK_ARG(max_batch >= 1 && max_batch <= INT_MAX,
                 "model '%s': max batch %zu must be in 1..%d", spec, max_batch, INT_MAX);

    FS_TRY(fs_zalloc(&m, 1, sizeof *m, "model"));
    m->kind = kind;
    m->loss = loss;
    m->task = task;
    m->num_classes = (task == FS_TASK_CLASSIFICATION) ? num_classes : 0;
    m->max_batch = max_batch;
    m->nlayers = nhidden + 1;
    m->dim[0] = d;
    for (int l = 0; l < nhidden; l++) m->dim[l + 1] = hidden[l];
    m->dim[m->nlayers] = nout;

    if (kind == FS_MODEL_MLP) {
        int n = snprintf(m->spec, sizeof m->spec, "mlp:");
        for (int l = 0; l < nhidden; l++)
            n += snprintf(m->spec + n, sizeof m->spec - (size_t)n, "%s%zu", l ? "," : "", hidden[l]);
    } else {
        snprintf(m->spec, sizeof m->spec, "%s", spec);
    }

    /* Slab layout (floats, each region rounded up to 64 bytes):
     * params | grads | mom | act[1..L] | dz[1..L] | xb | yb_reg | yb_class. */
    const int L = m->nlayers;
    size_t nparams = 0, wsize, asize, off = 0;
    size_t woff[FS_MODEL_MAX_LAYERS], aoff[FS_MODEL_MAX_LAYERS + 1], zoff[FS_MODEL_MAX_LAYERS + 1];
    for (int l = 0; l < L; l++) {
        woff[l] = nparams;
        if (!mul_ok(m->dim[l + 1], m->dim[l], &wsize) || m->dim[l + 1] > SIZE_MAX - nparams ||
            wsize > SIZE_MAX - nparams - m->dim[l + 1])
            FS_FAIL(FS_ERR_ARG, "model '%s': too many parameters", m->spec);
        nparams += wsize + m->dim[l + 1];
    }
    m->nparams = nparams;
    int ok = slab_take(&off, nparams) && slab_take(&off, nparams) && slab_take(&off, nparams);
    for (int l = 1; ok && l <= L; l++) {
        aoff[l] = off;
        ok = mul_ok(max_batch, m->dim[l], &asize) && slab_take(&off, asize);
    }
    for (int l = 1; ok && l <= L; l++) {
        zoff[l] = off;
        ok = mul_ok(max_batch, m->dim[l], &asize) && slab_take(&off, asize);
    }
    size_t xoff = off, yroff = 0, ycoff = 0;
    ok = ok && mul_ok(max_batch, d, &asize) && slab_take(&off, asize);
    yroff = off;
    ok = ok && slab_take(&off, max_batch);
    ycoff = off;
    ok = ok && slab_take(&off, max_batch) && off <= SIZE_MAX / sizeof(float);
    FS_CHECK_ARG(ok, "model '%s' with d=%zu and max batch %zu is too large", m->spec, d, max_batch);

    void *slab = NULL;
    if (posix_memalign(&slab, 64, off * sizeof(float)) != 0)
        FS_FAIL(FS_ERR_NOMEM, "model '%s': cannot allocate %zu bytes", m->spec, off * sizeof(float));
    memset(slab, 0, off * sizeof(float));
    m->slab = slab;
    float *base = slab;
    m->params = base;
    m->grads = base + (nparams + 15) / 16 * 16;
    m->mom = m->grads + (nparams + 15) / 16 * 16;
    for (int l = 0; l < L; l++) {
        size_t bo = woff[l] + m->dim[l + 1] * m->dim[l];
        m->W[l] = m->params + woff[l];
        m->b[l] = m->params + bo;
        m->dW[l] = m->grads + woff[l];
        m->db[l] = m->grads + bo;
    }
    m->act[0] = NULL;
    m->dz[0] = NULL;
    for (int l = 1; l <= L; l++) {
        m->act[l] = base + aoff[l];
        m->dz[l] = base + zoff[l];
    }
    m->xb = base + xoff;
    m->yb_reg = base + yroff;
    m->yb_class = (int32_t *)(void *)(base + ycoff);   // region used only as int32
    *out = m;
    m = NULL;
done:
    fs_model_destroy(&m);
    return rc;
}

void fs_model_destroy(fs_model **pm)
{
    if (!pm || !*pm) return;
    fs_model *m = *pm;
    free(m->slab);
    free(m->perm);
    free(m);
    *pm = NULL;
}

size_t fs_model_nparams(const fs_model *m) { return m ? m->nparams : 0; }
float *fs_model_params(fs_model *m) { return m ? m->params : NULL; }
float *fs_model_grads(fs_model *m) { return m ? m->grads : NULL; }
const char *fs_model_spec(const fs_model *m) { return m ? m->spec : ""; }
size_t fs_model_noutputs(const fs_model *m) { return m ? m->dim[m->nlayers] : 0; }

void fs_model_init(fs_model *m, uint64_t seed)
{
    if (!m) return;
    const int L = m->nlayers;
    for (int l = 0; l < L; l++) {
        double fan_in = (double)m->dim[l], fan_out = (double)m->dim[l + 1];
        // He-uniform before a ReLU, Glorot-uniform for the output layer.
        double limit = (l + 1 < L) ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
        fs_rng r;
        fs_rng_seed(&r, fs_rng_key(seed, FS_MODEL_INIT_DOMAIN, (uint64_t)l, 0));
        size_t n = m->dim[l + 1] * m->dim[l];
        for (size_t i = 0; i < n; i++)
            m->W[l][i] = (float)((2.0 * fs_rng_uniform(&r) - 1.0) * limit);
        memset(m->b[l], 0, m->dim[l + 1] * sizeof(float));
    }
    memset(m->grads, 0, m->nparams * sizeof(float));
}

fs_err fs_model_forward_backward(fs_model *m, const float *X, const int32_t *y_class,
                                 const float *y_reg, size_t b, double *loss)
{
    fs_err rc = FS_OK;
    double sum = 0.0;
    model_forward(m, X, b);
    FS_TRY(model_head(m, y_class, y_reg, b, 1, NULL, &sum));
    *loss = sum / (double)b;
    if (!isfinite(*loss))
        FS_FAIL(FS_ERR_NUMERIC, "model '%s': loss is not finite (%g)", m->spec, *loss);
    model_backward(m, X, b);
done:
    return rc;
}

fs_err fs_model_loss_grad(fs_model *m, const float *X, const int32_t *y_class,
                          const float *y_reg, size_t b, double *loss)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(m && X && loss, "fs_model_loss_grad: NULL argument");
    *loss = 0.0;
    FS_CHECK_ARG(b >= 1 && b <= m->max_batch, "model '%s': batch of %zu rows is outside 1..%zu",
                 m->spec, b, m->max_batch);
    FS_CHECK_ARG(m->task == FS_TASK_CLASSIFICATION ? y_class != NULL : y_reg != NULL,
                 "model '%s': missing %s labels", m->spec,
                 m->task == FS_TASK_CLASSIFICATION ? "class" : "regression");
    memset(m->grads, 0, m->nparams * sizeof(float));
    rc = fs_model_forward_backward(m, X, y_class, y_reg, b, loss);
done:
    return rc;
}

fs_err fs_model_check_data(const fs_model *m, const fs_dataset *ds, const char *what)
{
    if (ds->d != m->dim[0])
        return fs_error_set(FS_ERR_ARG, "%s has %zu features but model '%s' expects %zu",
                            what, ds->d, m->spec, m->dim[0]);
    if (ds->task != m->task)
        return fs_error_set(FS_ERR_ARG, "%s is a %s task but model '%s' was built for %s",
                            what, ds->task == FS_TASK_CLASSIFICATION ? "classification" : "regression",
                            m->spec, m->task == FS_TASK_CLASSIFICATION ? "classification" : "regression");
    if (m->task == FS_TASK_CLASSIFICATION && ds->num_classes != m->num_classes)
        return fs_error_set(FS_ERR_ARG, "%s has %d classes but model '%s' was built for %d",
                            what, ds->num_classes, m->spec, m->num_classes);
    if (ds->n > 0 && (!ds->X || (m->task == FS_TASK_CLASSIFICATION ? !ds->y_class : !ds->y_reg)))
        return fs_error_set(FS_ERR_ARG, "%s has no %s", what, ds->X ? "labels" : "features");
    return FS_OK;
}

fs_err fs_model_evaluate(fs_model *m, const fs_dataset *ds, fs_eval_sums *sums)
{
    fs_err rc = FS_OK;
    fs_eval_sums acc = { 0 };
    FS_CHECK_ARG(m && ds && sums, "fs_model_evaluate: NULL argument");
    FS_TRY(fs_model_check_data(m, ds, "evaluation data"));
    const int cls = (m->task == FS_TASK_CLASSIFICATION);
    for (size_t start = 0; start < ds->n; start += m->max_batch) {
        size_t b = ds->n - start < m->max_batch ? ds->n - start : m->max_batch;
        double sum = 0.0;
        model_forward(m, ds->X + start * ds->d, b);
        rc = model_head(m, cls ? ds->y_class + start : NULL, cls ? NULL : ds->y_reg + start, b, 0,
                        &acc, &sum);
        if (rc != FS_OK) {
            rc = fs_error_prefix(rc, "evaluating rows %zu..%zu: ", start, start + b - 1);
            goto done;
        }
        if (!isfinite(sum))
            FS_FAIL(FS_ERR_NUMERIC, "model '%s': non-finite loss while evaluating rows %zu..%zu",
                    m->spec, start, start + b - 1);
    }
    sums->count += acc.count;
    sums->loss_sum += acc.loss_sum;
    sums->correct += acc.correct;
    sums->sq_err += acc.sq_err;
    sums->abs_err += acc.abs_err;
done:
    return rc;
}

fs_err fs_model_predict(fs_model *m, const float *X, size_t b, float *out)
{
    if (!m || !X || !out || b == 0 || b > m->max_batch)
        return fs_error_set(FS_ERR_ARG, "fs_model_predict: batch of %zu rows (max %zu)", b,
                            m ? m->max_batch : 0);
    model_forward(m, X, b);
    memcpy(out, m->act[m->nlayers], b * m->dim[m->nlayers] * sizeof(float));
    return FS_OK;
}

size_t fs_model_max_batch(const fs_model *m) { return m ? m->max_batch : 0; }

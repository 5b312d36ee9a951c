/*
 * fs_sgd.c - local minibatch SGD with heavy-ball momentum (train layer; no
 * MPI, never prints).  This is what one silo runs between two secure
 * aggregations.
 *
 * For each epoch e the row order is a Fisher-Yates shuffle of 0..n-1 drawn
 * from the stream keyed (seed, silo, round, e) in the "shuf" domain, so the
 * order depends on nothing but those numbers.  Each step gathers the rows
 * of the minibatch contiguously into the model's buffer xb (B, d), runs
 * forward/backward (which adds the gradient of the mean loss into the
 * zeroed gradient slab) and applies
 *
 *     g = grad + wd * w [+ prox_mu * (w - w_anchor)]   (FedProx)
 *     v = momentum * v + g          (v = 0 at the start of every call)
 *     w = w - lr * v
 *     grad = 0                      (ready for the next accumulation)
 *
 * in one pass over the slabs, which also flags non-finite parameters.
 * This pass and the sgemms dominate a step, so it is vectorized as widely as
 * the CPU allows.  Nothing is allocated per step; the permutation buffer
 * grows once to the shard size and is kept in the model.  When the call
 * returns, the gradient slab is zero (every step's gradient was consumed).
 */
#include <math.h>
#include <string.h>

#include "fs_impl.h"
#include "fs_train_impl.h"

/* Stream domain of the epoch shuffles ("shuf"); fs_model_init uses "init". */
#define FS_SGD_SHUFFLE_DOMAIN UINT64_C(0x73687566)

/* Make m->perm hold at least n entries (allocates only when the shard grows). */
static fs_err perm_reserve(fs_model *m, size_t n)
{
    if (m->perm_cap >= n) return FS_OK;
    uint32_t *p = NULL;
    fs_err rc = fs_alloc(&p, n, sizeof *p, "shuffle order");
    if (rc != FS_OK) return rc;
    free(m->perm);
    m->perm = p;
    m->perm_cap = n;
    return FS_OK;
}

/* perm (n) = a uniformly random permutation of 0..n-1 drawn from key. */
static void epoch_order(uint32_t *perm, size_t n, uint64_t key)
{
    fs_rng r;
    fs_rng_seed(&r, key);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    fs_rng_shuffle_u32(&r, perm, n);
}

/*
 * Copy rows rows[0..b) of ds into the model's contiguous batch buffers:
 * xb (b, d) and yb_class or yb_reg (b).
 */
static void gather_batch(fs_model *m, const fs_dataset *ds, const uint32_t *rows, size_t b)
{
    const size_t d = ds->d;
    for (size_t i = 0; i < b; i++)
        memcpy(m->xb + i * d, ds->X + (size_t)rows[i] * d, d * sizeof(float));
    if (ds->task == FS_TASK_CLASSIFICATION)
        for (size_t i = 0; i < b; i++) m->yb_class[i] = ds->y_class[rows[i]];
    else
        for (size_t i = 0; i < b; i++) m->yb_reg[i] = ds->y_reg[rows[i]];
}

/*
 * The update runs in a clone for the widest vector unit present (GCC
 * function multiversioning, resolved once when the library is loaded):
 * it streams 5 floats per parameter, and SSE2 alone leaves it slower than
 * memory.  Elsewhere it is plain portable C.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define FS_SGD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FS_SGD_CLONES
#endif

/*
 * One heavy-ball step on parameters [lo, hi): v = mu v + (g + wd w);
 * w -= lr v; g = 0.  Returns the running non-finite flag (see sgd_update).
 */
static inline uint32_t sgd_update_range(float *restrict w, float *restrict v,
                                        float *restrict g, size_t lo, size_t hi,
                                        float lr, float mu, float wd, uint32_t flag)
{
    for (size_t i = lo; i < hi; i++) {
        float vi = mu * v[i] + (g[i] + wd * w[i]);
        float wi = w[i] - lr * vi;
        uint32_t bits;
        g[i] = 0.0f;
        v[i] = vi;
        w[i] = wi;
        memcpy(&bits, &wi, sizeof bits);
        // The exponent field plus one exponent ulp carries into bit 31
        // exactly when the exponent is all ones (Inf or NaN): no branch.
        flag |= (bits & UINT32_C(0x7f800000)) + UINT32_C(0x00800000);
    }
    return flag;
}

/*
 * sgd_update - the update of every parameter (w, v, g: n floats); leaves
 * g zeroed.  Blocks of 16 have a constant trip count, which lets the cheap
 * -O2 vectorizer handle them; the tail is scalar.  Returns nonzero iff
 * some updated w is Inf or NaN.
 */
FS_SGD_CLONES
static int sgd_update(float *restrict w, float *restrict v, float *restrict g, size_t n,
                      float lr, float mu, float wd)
{
    uint32_t flag = 0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) flag = sgd_update_range(w, v, g, i, i + 16, lr, mu, wd, flag);
    flag = sgd_update_range(w, v, g, i, n, lr, mu, wd, flag);
    return (flag & UINT32_C(0x80000000)) != 0;
}

fs_err fs_sgd_train(fs_model *m, const fs_dataset *ds, const fs_sgd_opts *o, uint64_t seed,
                    int silo, int round, fs_sgd_stats *stats)
{
    fs_err rc = FS_OK;
    fs_sgd_stats st = { 0 };
    long epoch = 0;

    if (stats) memset(stats, 0, sizeof *stats);
    FS_CHECK_ARG(m && ds && o, "fs_sgd_train: NULL argument");
    FS_TRY(fs_model_check_data(m, ds, "training data"));
    FS_CHECK_ARG(ds->n > 0, "its training data has no rows");
    if (ds->n > UINT32_MAX) {
        rc = fs_error_set(FS_ERR_ARG, "its training data has more than %lu rows",
                          (unsigned long)UINT32_MAX);
        fs_error_detail(rc, "silo %d has %zu training rows", silo, ds->n);
        goto done;
    }
    FS_CHECK_ARG(isfinite(o->lr) && o->lr > 0, "sgd: learning rate %g must be a finite number > 0", o->lr);
    FS_CHECK_ARG(o->momentum >= 0 && o->momentum < 1, "sgd: momentum %g must be in [0, 1)",
                 o->momentum);
    FS_CHECK_ARG(isfinite(o->weight_decay) && o->weight_decay >= 0,
                 "sgd: weight decay %g must be >= 0", o->weight_decay);
    FS_CHECK_ARG(o->batch_size >= 1 && o->batch_size <= m->max_batch,
                 "sgd: batch size %zu must be in 1..%zu", o->batch_size, m->max_batch);
    FS_CHECK_ARG(o->local_steps >= 0, "sgd: local steps %ld must be >= 0", o->local_steps);
    FS_CHECK_ARG(o->local_steps > 0 || o->local_epochs >= 1,
                 "sgd: local epochs %d must be >= 1 when local steps is 0", o->local_epochs);
    FS_CHECK_ARG(isfinite(o->prox_mu) && o->prox_mu >= 0 && (o->prox_mu == 0 || o->prox_anchor),
                 "sgd: FedProx mu %g must be >= 0 and needs the global model as anchor", o->prox_mu);
    FS_TRY(perm_reserve(m, ds->n));

    const size_t n = ds->n, bs = o->batch_size;
    const int cls = (ds->task == FS_TASK_CLASSIFICATION);
    const float lr = (float)o->lr, mu = (float)o->momentum, wd = (float)o->weight_decay;
    const float prox = (float)o->prox_mu;
    const uint64_t stream = fs_rng_key(seed, FS_SGD_SHUFFLE_DOMAIN, 0, 0);
    memset(m->mom, 0, m->nparams * sizeof(float));
    memset(m->grads, 0, m->nparams * sizeof(float));   // backward accumulates

    for (epoch = 0; o->local_steps > 0 || epoch < o->local_epochs; epoch++) {
        epoch_order(m->perm, n, fs_rng_key(stream, (uint64_t)(int64_t)silo,
                                           (uint64_t)(int64_t)round, (uint64_t)epoch));
        for (size_t start = 0; start < n; start += bs) {
            size_t b = n - start < bs ? n - start : bs;
            double loss = 0.0;
            gather_batch(m, ds, m->perm + start, b);
            rc = fs_model_forward_backward(m, m->xb, cls ? m->yb_class : NULL,
                                           cls ? NULL : m->yb_reg, b, &loss);
            /* the step count of an epoch-based round is ~ n_k / B: private */
            if (rc == FS_ERR_NUMERIC) {
                rc = fs_error_set(FS_ERR_NUMERIC, "round %d: the loss is not finite during local "
                                  "training; lower the learning rate", round);
                fs_error_detail(rc, "silo %d, local step %ld (epoch %ld)", silo, st.steps, epoch);
                goto done;
            }
            if (rc != FS_OK) {
                rc = fs_error_prefix(rc, "round %d, local training: ", round);
                fs_error_detail(rc, "silo %d, local step %ld", silo, st.steps);
                goto done;
            }
            if (prox > 0.0f) {
                /* FedProx: gradient of (mu/2) ||w - w_anchor||^2 */
                for (size_t i = 0; i < m->nparams; i++)
                    m->grads[i] += prox * (m->params[i] - o->prox_anchor[i]);
            }
            if (sgd_update(m->params, m->mom, m->grads, m->nparams, lr, mu, wd)) {
                rc = fs_error_set(FS_ERR_NUMERIC, "round %d: the parameters became non-finite "
                                  "during local training; lower the learning rate", round);
                fs_error_detail(rc, "silo %d, local step %ld (epoch %ld)", silo, st.steps, epoch);
                goto done;
            }
            st.loss_sum += loss * (double)b;
            st.samples += (double)b;
            st.steps++;
            if (o->on_step) o->on_step(o->on_step_user, st.steps);
            if (o->local_steps > 0 && st.steps == o->local_steps) goto done;
        }
    }
done:
    if (stats) *stats = st;
    return rc;
}

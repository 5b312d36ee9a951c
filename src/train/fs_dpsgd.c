/*
 * fs_dpsgd.c - DP-SGD local training (train layer; uses the privacy layer's
 * public noise stream; no MPI, never prints).
 *
 * Abadi et al. 2016, "Deep Learning with Differential Privacy", Algorithm 1,
 * with Poisson sampling as analysed by the RDP accountant (fs_rdp.c):
 *
 *   for each step:
 *     B = rows sampled with rate q = batch_size / n       (or a fixed-size subset)
 *     for i in B:  g_i = grad of loss(row i)              (one single-row pass)
 *                  acc += g_i * min(1, C / ||g_i||_2)     (per-example clipping)
 *     acc += N(0, sigma^2 C^2 I)                          (Gaussian mechanism)
 *     g = acc / (q n)                                     (expected batch size)
 *     g += wd w [+ mu_prox (w - w_global)]                (FedProx: after the noise)
 *     v = mu v + g;  w -= lr v                            (as fs_sgd_train)
 *
 * The FedProx term (Li et al. 2020) is the gradient of (mu_prox / 2)
 * ||w - w_global||^2: a function of the current and the global model only,
 * never of a record, so adding it after clipping and noising is
 * post-processing and costs no privacy (the accountant is unchanged).
 *
 * Per-example gradients come from fs_model_forward_backward on one row at a
 * time, which is simple and exactly right for every model but costs one
 * small forward/backward per example (no batched GEMM).  The clipped sum is
 * accumulated in double.  Batch membership and noise are drawn from one
 * CSPRNG stream (fs_dp_rng at nonce (round, silo)): privacy amplification
 * by sampling needs the sample to be secret, so the deterministic fs_rng
 * streams are not used here.
 */
#include <math.h>
#include <string.h>

#include "fs_impl.h"
#include "fs_train_impl.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_dpsgd.h"

/* Copy row r of ds into the model's single-row batch buffers. */
static void gather_row(fs_model *m, const fs_dataset *ds, size_t r)
{
    memcpy(m->xb, ds->X + r * ds->d, ds->d * sizeof(float));
    if (ds->task == FS_TASK_CLASSIFICATION) m->yb_class[0] = ds->y_class[r];
    else m->yb_reg[0] = ds->y_reg[r];
}

/*
 * Add the clipped gradient of row r into acc (nparams doubles); *loss gets
 * the row's loss; *clipped is set when the norm exceeded C.
 */
static fs_err add_clipped(fs_model *m, const fs_dataset *ds, size_t r, double C, double *acc,
                          double *loss, int *clipped)
{
    const int cls = ds->task == FS_TASK_CLASSIFICATION;
    const size_t np = m->nparams;
    float *g = m->grads;
    double sq = 0.0, scale;
    memset(g, 0, np * sizeof *g);
    gather_row(m, ds, r);
    fs_err rc = fs_model_forward_backward(m, m->xb, cls ? m->yb_class : NULL,
                                          cls ? NULL : m->yb_reg, 1, loss);
    if (rc != FS_OK) return rc;
    for (size_t j = 0; j < np; j++) sq += (double)g[j] * (double)g[j];
    double norm = sqrt(sq);
    *clipped = norm > C;
    scale = *clipped ? C / norm : 1.0;
    for (size_t j = 0; j < np; j++) acc[j] += scale * (double)g[j];
    return FS_OK;
}

/* idx[0..k) = a uniformly random k-subset of 0..n-1 (partial Fisher-Yates
 * over perm, which holds a permutation of 0..n-1 and stays one). */
static fs_err fixed_subset(fs_dp_rng *rng, uint32_t *perm, size_t n, size_t k)
{
    fs_err rc = FS_OK;
    for (size_t i = 0; i < k; i++) {
        uint64_t j = 0;
        FS_TRY(fs_dp_rng_below(rng, (uint64_t)(n - i), &j));
        uint32_t t = perm[i];
        perm[i] = perm[i + j];
        perm[i + j] = t;
    }
done:
    return rc;
}

fs_err fs_dpsgd_train(fs_model *m, const fs_dataset *ds, const fs_dpsgd_opts *o, uint64_t seed,
                      int silo, int round, const uint8_t *noise_seed, fs_dpsgd_stats *stats)
{
    fs_err rc = FS_OK;
    fs_dpsgd_stats st;
    fs_dp_rng *rng = NULL;
    double *acc = NULL;     /* (nparams) clipped-gradient sum + noise, in double */
    uint32_t *perm = NULL;  /* (n) permutation for fixed-size sampling           */
    long nsteps = 0;
    (void)seed;             // membership and noise come from the CSPRNG stream

    memset(&st, 0, sizeof st);
    if (stats) *stats = st;
    FS_CHECK_ARG(m && ds && o, "fs_dpsgd_train: NULL argument");
    FS_TRY(fs_model_check_data(m, ds, "training data"));
    FS_CHECK_ARG(ds->n > 0 && ds->n <= UINT32_MAX, "silo %d: training data has %zu rows "
                 "(need 1..%lu)", silo, ds->n, (unsigned long)UINT32_MAX);
    const fs_sgd_opts *s = &o->sgd;
    FS_CHECK_ARG(isfinite(s->lr) && s->lr > 0, "dpsgd: learning rate %g must be a finite "
                 "number > 0", s->lr);
    FS_CHECK_ARG(s->momentum >= 0 && s->momentum < 1, "dpsgd: momentum %g must be in [0, 1)",
                 s->momentum);
    FS_CHECK_ARG(isfinite(s->weight_decay) && s->weight_decay >= 0,
                 "dpsgd: weight decay %g must be >= 0", s->weight_decay);
    FS_CHECK_ARG(s->batch_size >= 1 && s->batch_size <= ds->n, "dpsgd: batch size %zu must be "
                 "in 1..%zu (the rows of silo %d)", s->batch_size, ds->n, silo);
    FS_CHECK_ARG(s->local_steps >= 0, "dpsgd: local steps %ld must be >= 0", s->local_steps);
    FS_CHECK_ARG(s->local_steps > 0 || s->local_epochs >= 1,
                 "dpsgd: local epochs %d must be >= 1 when local steps is 0", s->local_epochs);
    FS_CHECK_ARG(isfinite(o->clip_norm) && o->clip_norm > 0,
                 "dpsgd: clipping norm %g must be a finite number > 0", o->clip_norm);
    FS_CHECK_ARG(isfinite(o->noise_multiplier) && o->noise_multiplier >= 0,
                 "dpsgd: noise multiplier %g must be finite and >= 0", o->noise_multiplier);
    FS_CHECK_ARG(isfinite(s->prox_mu) && s->prox_mu >= 0 && (s->prox_mu == 0 || s->prox_anchor),
                 "dpsgd: FedProx mu %g must be >= 0 and needs the global model as anchor",
                 s->prox_mu);
    FS_CHECK_ARG(o->sampling == FS_DPSGD_POISSON || o->sampling == FS_DPSGD_FIXED,
                 "dpsgd: unknown sampling mode %d", (int)o->sampling);

    const size_t n = ds->n, np = m->nparams, bs = s->batch_size;
    FS_CHECK_ARG(o->sampling_rate == 0 || (o->sampling == FS_DPSGD_POISSON &&
                 o->sampling_rate > 0 && o->sampling_rate <= 1),
                 "dpsgd: sampling rate %g must be in (0, 1] and needs Poisson sampling",
                 o->sampling_rate);
    const double q = o->sampling_rate > 0 ? o->sampling_rate : (double)bs / (double)n;
    const double C = o->clip_norm;
    const double noise_std = o->noise_multiplier * C;
    const double inv_b = 1.0 / (q * (double)n);     // 1 / expected batch size
    const double lr = s->lr, mu = s->momentum, wd = s->weight_decay, prox = s->prox_mu;
    if (s->local_steps > 0) nsteps = s->local_steps;
    else nsteps = (long)ceil(1.0 / q) * (long)s->local_epochs;
    st.sample_rate = q;
    st.noise_multiplier = o->noise_multiplier;

    FS_TRY(fs_zalloc(&acc, np, sizeof *acc, "DP-SGD gradient sum"));
    if (o->sampling == FS_DPSGD_FIXED) {
        FS_TRY(fs_alloc(&perm, n, sizeof *perm, "DP-SGD sampling order"));
        for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    }
    FS_TRY(fs_dp_rng_create(noise_seed, (uint64_t)(int64_t)round, (uint32_t)silo, &rng));
    memset(m->mom, 0, np * sizeof(float));

    for (long step = 0; step < nsteps; step++) {
        size_t used = 0;
        double loss_sum = 0.0;
        memset(acc, 0, np * sizeof *acc);
        if (o->sampling == FS_DPSGD_FIXED) FS_TRY(fixed_subset(rng, perm, n, bs));
        for (size_t k = 0; k < (o->sampling == FS_DPSGD_FIXED ? bs : n); k++) {
            size_t r = k;
            if (o->sampling == FS_DPSGD_POISSON) {
                double u = 0.0;
                if (q < 1.0) {
                    FS_TRY(fs_dp_rng_uniform(rng, &u));
                    if (!(u < q)) continue;          // row r is not in this batch
                }
            } else {
                r = perm[k];
            }
            double loss = 0.0;
            int clipped = 0;
            rc = add_clipped(m, ds, r, C, acc, &loss, &clipped);
            if (rc == FS_ERR_NUMERIC)
                FS_FAIL(FS_ERR_NUMERIC, "silo %d, round %d: loss is not finite at DP-SGD step "
                        "%ld; lower the learning rate", silo, round, step);
            if (rc != FS_OK) {
                rc = fs_error_prefix(rc, "silo %d, round %d, DP-SGD step %ld: ", silo, round,
                                     step);
                goto done;
            }
            loss_sum += loss;
            st.clipped += clipped;
            used++;
        }
        if (noise_std > 0) FS_TRY(fs_dp_gaussian_add(rng, noise_std, acc, np));
        // w update, as fs_sgd_train: g = acc / (q n) + wd w [+ prox_mu (w - anchor)];
        // v = mu v + g; w -= lr v.  The proximal gradient depends on no record, so
        // adding it after clipping and noising costs no privacy.
        int bad = 0;
        float *w = m->params, *v = m->mom;
        for (size_t j = 0; j < np; j++) {
            double g = acc[j] * inv_b + wd * (double)w[j];
            if (prox > 0) g += prox * ((double)w[j] - (double)s->prox_anchor[j]);
            float vj = (float)(mu * (double)v[j] + g);
            float wj = (float)((double)w[j] - lr * (double)vj);
            v[j] = vj;
            w[j] = wj;
            bad |= !isfinite(wj);
        }
        if (bad)
            FS_FAIL(FS_ERR_NUMERIC, "silo %d, round %d: parameters became non-finite at DP-SGD "
                    "step %ld; lower the learning rate or the clipping norm", silo, round, step);
        st.sgd.loss_sum += loss_sum;
        st.sgd.samples += (double)used;
        st.sgd.steps++;
        st.steps++;
    }
done:
    if (m) memset(m->grads, 0, m->nparams * sizeof(float));
    if (acc) fs_secure_zero(acc, (m ? m->nparams : 0) * sizeof *acc);
    free(acc);
    free(perm);
    fs_dp_rng_destroy(&rng);
    if (stats) *stats = st;
    return rc;
}

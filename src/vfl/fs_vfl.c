/*
 * fs_vfl.c - vertical logistic and linear regression with a label holder
 * (Paillier-encrypted residuals, masked gradients) and a masked secure sum
 * of partial scores.
 *
 * vfl layer: binds the protocol of fs_vfl.h to MPI.  It follows the
 * gradient-exchange pattern of Hardy et al. 2017 ("Private federated
 * learning on vertically partitioned data via entity resolution and
 * additively homomorphic encryption") with the roles changed: the label
 * holder owns the Paillier key, and the partial scores are combined by the
 * pairwise-masked secure sum instead of a coordinator.
 *
 * Fixed point:
 *   partial scores z_k: 2^FZ in the secure sum's Z_2^64 ring (|z| < 2^38);
 *   residuals r: 2^FR in Z_n;  features x: 2^FX as int64 exponents.
 * Enc(X^T r) then carries scale 2^(FR + FX); with |r| < 2^38, |x| < 2^20 and
 * batches < 2^20 rows the plaintext stays below 2^(38+24+20+16+20) =
 * 2^118, far inside Z_n (n >= 2^511), so no wrap-around occurs.
 *
 * Collectivity: each batch has four phase boundaries, each one fs_agree
 * (or the `local` argument of fs_secagg_sum_words), so a local failure on
 * any rank stops every rank at the same point.
 */
#include <math.h>
#include <string.h>
#include "vfl/fs_vfl_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_paillier.h"
#include "fedsilo/fs_secagg.h"
#include "fedsilo/fs_vfl.h"

#define FZ 24
#define FR 24
#define FX 16
#define TAG_GRAD 7201
#define TAG_BACK 7202
#define VID_TRAIN 1
#define VID_TEST 2

void fs_vfl_opts_default(fs_vfl_opts *o)
{
    memset(o, 0, sizeof *o);
    o->model = FS_VFL_LOGISTIC;
    o->label_rank = 0;
    o->lr = 0.1;
    o->l2 = 0.0;
    o->epochs = 10;
    o->batch_size = 64;
    o->paillier_bits = FS_PAILLIER_DEFAULT_BITS;
    o->seed = 1;
}

typedef struct {
    MPI_Comm comm;
    int rank, size, L;             /* L: the label holder's rank           */
    int is_L;
    fs_secagg *sa;
    fs_paillier_key *key;          /* secret: label holder only            */
    fs_paillier_pub *pub;          /* imported public key (feature holders) */
    const fs_paillier_pub *pk;     /* key in use (borrowed from one above) */
    size_t nb, cb;                 /* bytes of n, of one ciphertext        */
    size_t *dims;                  /* (size) features per rank             */
    size_t maxd;
    uint64_t *words;               /* (rows + 1) secure-sum ring words     */
    uint64_t *smask;               /* (rows) label holder's score masks; secret */
    fs_vfl_report rep;
} vfl_state;

/* Every rank passes h: an allreduce of (h, ~h) with MAX shows any difference. */
static fs_err check_uniform(MPI_Comm comm, uint64_t h, const char *what)
{
    uint64_t in[2] = { h, ~h }, out[2];
    int mrc = MPI_Allreduce(in, out, 2, MPI_UINT64_T, MPI_MAX, comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Allreduce");
    if (out[0] != ~out[1])
        return fs_error_set(FS_ERR_ARG, "vertical training: %s differ between ranks", what);
    return FS_OK;
}

/*
 * Masked secure sum of partial scores over `cnt` rows (row ids idx, or
 * 0..cnt-1 when idx is NULL): every rank contributes X_k[row] w_k (+ bias on
 * the label holder, which also adds a uniform mask s per row).  On the
 * label holder z receives the total scores.  Collective.
 */
static fs_err masked_scores(vfl_state *st, const fs_vfl_part *p, const uint32_t *idx, size_t cnt,
                            const double *w, uint64_t round, uint32_t vid, double *z,
                            fs_err local)
{
    fs_err rc = FS_OK;
    size_t d = p->d;
    for (size_t b = 0; b < cnt && local == FS_OK; b++) {
        size_t row = idx ? idx[b] : b;
        const float *x = p->X + row * d;
        double s = st->is_L ? w[d] : 0.0;
        for (size_t j = 0; j < d; j++) s += (double)x[j] * w[j];
        double q = ldexp(s, FZ);
        if (!isfinite(q) || fabs(q) >= 0x1p62) {
            local = fs_error_set(FS_ERR_NUMERIC, "vertical training: partial score %g out of "
                                 "range (diverged? lower --lr)", s);
            break;
        }
        st->words[b] = (uint64_t)(int64_t)llround(q);
    }
    if (st->is_L && local == FS_OK) {
        /* secret: s uniform in Z_2^64 hides z from the other ranks */
        local = fs_random_bytes(st->smask, cnt * sizeof *st->smask);
        for (size_t b = 0; b < cnt && local == FS_OK; b++) st->words[b] += st->smask[b];
    }
    st->words[cnt] = 0;   /* canary */
    /* collective: agrees `local` first */
    FS_TRY(fs_secagg_sum_words(st->sa, round, vid, st->words, cnt, local));
    if (st->is_L)
        for (size_t b = 0; b < cnt; b++)
            z[b] = ldexp((double)(int64_t)(st->words[b] - st->smask[b]), -FZ);
done:
    if (st->is_L) fs_secure_zero(st->smask, cnt * sizeof *st->smask);
    return rc;
}

static double sigmoid(double z)
{
    return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

/* Test metric on the label holder (accuracy or RMSE), broadcast. */
static fs_err evaluate(vfl_state *st, const fs_vfl_opts *o, const fs_vfl_part *test,
                       const double *w, int epoch, double *z, double *metric)
{
    fs_err rc = FS_OK;
    FS_TRY(masked_scores(st, test, NULL, test->n, w, (uint64_t)epoch, VID_TEST, z, FS_OK));
    double m = 0;
    if (st->is_L) {
        for (size_t i = 0; i < test->n; i++) {
            if (o->model == FS_VFL_LOGISTIC) m += ((z[i] >= 0) == (test->y[i] >= 0.5));
            else m += (z[i] - test->y[i]) * (z[i] - test->y[i]);
        }
        m = o->model == FS_VFL_LOGISTIC ? m / (double)test->n : sqrt(m / (double)test->n);
    }
    FS_TRY(fs_vfl_bcast(&m, sizeof m, st->L, st->comm));   /* collective */
    *metric = m;
done:
    return rc;
}

fs_err fs_vfl_train(MPI_Comm user_comm, const fs_vfl_opts *o, const fs_vfl_part *train,
                    const fs_vfl_part *test, double *w, fs_vfl_report *rep,
                    fs_vfl_epoch_fn on_epoch, void *user)
{
    fs_err rc = FS_OK, local = FS_OK;
    vfl_state S, *st = &S;
    memset(st, 0, sizeof *st);
    st->comm = MPI_COMM_NULL;
    uint32_t *perm = NULL;       /* (n) batch order of the epoch           */
    double *z = NULL, *r = NULL; /* (rows) label holder: scores, residuals; secret */
    int64_t *Xq = NULL;          /* (n, d) fixed-point features, feature holders */
    int64_t *Mb = NULL;          /* (batch, d) rows of Xq for one batch     */
    uint8_t *ctbuf = NULL;       /* (batch) serialized Enc(r)               */
    uint8_t *gbuf = NULL;        /* label holder: (size, maxd) masked gradients; else (d) */
    uint8_t *raw = NULL;         /* (size, maxd) decrypted masked values     */
    uint8_t *gmask = NULL;       /* (d) this rank's masks m_k; secret        */
    fs_paillier_vec *encr = NULL, *gvec = NULL;
    double t_start = fs_now();
    int have_test = test && test->n > 0;
    size_t n = 0, d = 0, B = 0, ntest = 0, rows = 0;

    FS_TRY(fs_vfl_dup(user_comm, &st->comm));
    MPI_Comm_rank(st->comm, &st->rank);
    MPI_Comm_size(st->comm, &st->size);

    /* Phase 0: arguments and uniform options. */
    if (!o || !train || !w || !train->X || train->n == 0 || train->d == 0)
        local = fs_error_set(FS_ERR_ARG, "fs_vfl_train: missing training data or output");
    else if (o->label_rank < 0 || o->label_rank >= st->size)
        local = fs_error_set(FS_ERR_ARG, "vertical training: label rank %d outside 0..%d",
                             o->label_rank, st->size - 1);
    else if (!(o->lr > 0) || !(o->l2 >= 0) || o->epochs < 1 || o->batch_size < 1 ||
             o->paillier_bits < FS_PAILLIER_MIN_BITS || o->batch_size > (1u << 20))
        local = fs_error_set(FS_ERR_ARG, "vertical training: bad lr, l2, epochs, batch size "
                             "(1..2^20) or Paillier size (>= %d)", FS_PAILLIER_MIN_BITS);
    else if (o->label_rank == st->rank && (!train->y || (have_test && !test->y)))
        local = fs_error_set(FS_ERR_ARG, "vertical training: the label holder (rank %d) has "
                             "no labels", st->rank);
    else if (have_test && (!test->X || test->d != train->d))
        local = fs_error_set(FS_ERR_ARG, "vertical training: test block has %zu features, "
                             "training block %zu", test ? test->d : 0, train->d);
    FS_TRY(fs_agree(st->comm, local, NULL));
    {
        uint64_t v[9] = { (uint64_t)o->model, (uint64_t)o->label_rank, 0, 0, (uint64_t)o->epochs,
                          o->batch_size, (uint64_t)o->paillier_bits, o->seed, 0 };
        memcpy(&v[2], &o->lr, 8);
        memcpy(&v[3], &o->l2, 8);
        FS_TRY(check_uniform(st->comm, fs_hash64(FS_HASH64_INIT, v, sizeof v), "options"));
        FS_TRY(check_uniform(st->comm, train->n, "numbers of training rows"));
        FS_TRY(check_uniform(st->comm, have_test ? test->n : 0, "numbers of test rows"));
    }
    st->L = o->label_rank;
    st->is_L = st->rank == st->L;
    n = train->n;
    d = train->d;
    B = o->batch_size < n ? o->batch_size : n;
    ntest = have_test ? test->n : 0;
    rows = B > ntest ? B : ntest;
    memset(w, 0, (d + 1) * sizeof *w);

    /* Dimensions of every block. */
    FS_TRY(fs_alloc(&st->dims, (size_t)st->size, sizeof *st->dims, "block sizes"));
    {
        uint64_t mine = d, *all = NULL;
        FS_TRY(fs_alloc(&all, (size_t)st->size, sizeof *all, "block sizes"));
        int mrc = MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, st->comm);
        for (int k = 0; k < st->size; k++) {
            st->dims[k] = (size_t)all[k];
            if (st->dims[k] > st->maxd) st->maxd = st->dims[k];
        }
        free(all);
        if (mrc != MPI_SUCCESS) FS_TRY(fs_from_mpi(mrc, "MPI_Allgather"));
    }

    /* Secure sum: 64-bit ring (the words are encoded here). */
    {
        fs_secagg_opts so;
        memset(&so, 0, sizeof so);
        so.vec.ring_bits = 64;
        so.vec.clip = 1.0;
        so.vec.frac_bits = fs_fixed_suggest(64, st->size, 1.0);
        so.vec.rounding = FS_FIXED_ROUND_NEAREST;
        so.roster_path = o->roster_path;
        so.identity_path = o->identity_path;
        so.allow_unauthenticated = o->allow_unauthenticated;
        so.rounding_seed = o->seed;
        FS_TRY(fs_secagg_create(st->comm, &so, &st->sa));   /* collective: key setup */
        st->rep.secagg_setup_seconds = fs_secagg_setup_seconds(st->sa);
    }

    /* Paillier key on the label holder; public key to everyone. */
    {
        uint64_t nb = 0;
        uint8_t *pkb = NULL;
        if (st->is_L) {
            local = fs_paillier_keygen(o->paillier_bits, &st->key);
            if (local == FS_OK) {
                st->pk = fs_paillier_key_public(st->key);
                nb = fs_paillier_pub_bytes(st->pk);
            }
        }
        FS_TRY(fs_agree(st->comm, local, NULL));
        FS_TRY(fs_vfl_bcast(&nb, sizeof nb, st->L, st->comm));
        FS_TRY(fs_alloc(&pkb, (size_t)nb, 1, "public key"));
        if (st->is_L) local = fs_paillier_pub_export(st->pk, pkb, (size_t)nb);
        rc = fs_vfl_bcast(pkb, (size_t)nb, st->L, st->comm);
        if (rc == FS_OK && !st->is_L) {
            local = fs_paillier_pub_import(pkb, (size_t)nb, &st->pub);
            st->pk = st->pub;
        }
        free(pkb);
        if (rc != FS_OK) goto done;
        FS_TRY(fs_agree(st->comm, local, NULL));
        st->nb = fs_paillier_pub_bytes(st->pk);
        st->cb = fs_paillier_ct_bytes(st->pk);
    }

    /* Buffers, allocated once. */
    FS_TRY(fs_alloc(&perm, n, sizeof *perm, "batch order"));
    FS_TRY(fs_alloc(&st->words, rows + 1, sizeof *st->words, "score words"));
    FS_TRY(fs_alloc(&st->smask, rows, sizeof *st->smask, "score masks"));
    FS_TRY(fs_alloc(&z, rows, sizeof *z, "scores"));
    FS_TRY(fs_alloc(&r, B, sizeof *r, "residuals"));
    FS_TRY(fs_alloc(&ctbuf, B, st->cb, "encrypted residuals"));
    FS_TRY(fs_alloc(&gbuf, (size_t)st->size * st->maxd, st->cb, "encrypted gradients"));
    FS_TRY(fs_alloc(&raw, (size_t)st->size * st->maxd, st->nb, "masked gradients"));
    FS_TRY(fs_alloc(&gmask, st->maxd, st->nb, "gradient masks"));
    if (st->is_L) {
        FS_TRY(fs_paillier_vec_create_keyed(st->key, B, &encr));
        FS_TRY(fs_paillier_vec_create(st->pk, st->maxd, &gvec));
    } else {
        FS_TRY(fs_paillier_vec_create(st->pk, B, &encr));
        FS_TRY(fs_paillier_vec_create(st->pk, d, &gvec));
        FS_TRY(fs_alloc(&Xq, n, d * sizeof *Xq, "fixed-point features"));
        FS_TRY(fs_alloc(&Mb, B, d * sizeof *Mb, "batch features"));
        for (size_t i = 0; i < n * d && local == FS_OK; i++) {
            double q = ldexp((double)train->X[i], FX);
            if (!isfinite(q) || fabs(q) >= 0x1p36)
                local = fs_error_set(FS_ERR_ARG, "vertical training: feature value %g outside "
                                     "+-2^20 (standardize the features)", (double)train->X[i]);
            else Xq[i] = (int64_t)llround(q);
        }
    }
    FS_TRY(fs_agree(st->comm, local, NULL));

    uint64_t step = 0;
    fs_rng rng;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double loss = 0, metric = NAN;
        for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
        fs_rng_seed(&rng, fs_rng_key(o->seed, 0x7666ULL, (uint64_t)epoch, 0));
        fs_rng_shuffle_u32(&rng, perm, n);   /* same order on every rank */
        for (size_t start = 0; start < n; start += B) {
            size_t cnt = n - start < B ? n - start : B;
            const uint32_t *idx = perm + start;
            double t0;
            /* 1-2: total scores on the label holder (collective). */
            FS_TRY(masked_scores(st, train, idx, cnt, w, ++step, VID_TRAIN, z, local));
            local = FS_OK;
            /* 3: residuals, plain update of the label block, Enc(r). */
            if (st->is_L) {
                for (size_t b = 0; b < cnt; b++) {
                    double y = train->y[idx[b]];
                    if (o->model == FS_VFL_LOGISTIC) {
                        double pz = sigmoid(z[b]);
                        r[b] = pz - y;
                        loss -= y * log(fmax(pz, 1e-15)) + (1 - y) * log(fmax(1 - pz, 1e-15));
                    } else {
                        r[b] = z[b] - y;
                        loss += 0.5 * r[b] * r[b];
                    }
                }
                for (size_t j = 0; j < d; j++) {
                    double g = 0;
                    for (size_t b = 0; b < cnt; b++) g += (double)train->X[idx[b] * d + j] * r[b];
                    w[j] -= o->lr * (g / (double)cnt + o->l2 * w[j]);
                }
                double gb = 0;
                for (size_t b = 0; b < cnt; b++) gb += r[b];
                w[d] -= o->lr * gb / (double)cnt;
                if (st->size > 1) {
                    t0 = fs_now();
                    local = fs_paillier_encrypt_fixed(encr, r, cnt, FR);
                    if (local == FS_OK) local = fs_paillier_vec_export(encr, 0, cnt, ctbuf, cnt * st->cb);
                    st->rep.n_encrypt += cnt;
                    st->rep.paillier_seconds += fs_now() - t0;
                }
                fs_secure_zero(r, cnt * sizeof *r);
            }
            FS_TRY(fs_agree(st->comm, local, NULL));
            if (st->size == 1) continue;
            FS_TRY(fs_vfl_bcast(ctbuf, cnt * st->cb, st->L, st->comm));   /* collective */
            /* 4: Enc(X_k^T r + m_k) on each feature holder. */
            if (!st->is_L) {
                t0 = fs_now();
                for (size_t b = 0; b < cnt; b++) memcpy(Mb + b * d, Xq + (size_t)idx[b] * d, d * sizeof *Mb);
                local = fs_paillier_vec_import(encr, 0, cnt, ctbuf, cnt * st->cb);
                if (local == FS_OK) local = fs_paillier_dot(encr, Mb, cnt, d, gvec);
                for (size_t j = 0; j < d && local == FS_OK; j++)
                    local = fs_paillier_add_mask(gvec, j, gmask + j * st->nb, st->nb);
                if (local == FS_OK) local = fs_paillier_vec_export(gvec, 0, d, gbuf, d * st->cb);
                st->rep.n_scalar_mul += cnt * d;
                st->rep.n_encrypt += d;   /* the masks' fresh randomness */
                st->rep.paillier_seconds += fs_now() - t0;
            }
            FS_TRY(fs_agree(st->comm, local, NULL));
            if (st->is_L) {
                for (int k = 0; k < st->size; k++)
                    if (k != st->L)
                        FS_TRY(fs_vfl_recv(gbuf + (size_t)k * st->maxd * st->cb,
                                           st->dims[k] * st->cb, k, TAG_GRAD, st->comm));
                t0 = fs_now();
                for (int k = 0; k < st->size && local == FS_OK; k++) {
                    if (k == st->L) continue;
                    size_t dk = st->dims[k];
                    local = fs_paillier_vec_import(gvec, 0, dk, gbuf + (size_t)k * st->maxd * st->cb,
                                                   dk * st->cb);
                    for (size_t j = 0; j < dk && local == FS_OK; j++)
                        local = fs_paillier_decrypt_raw(st->key, gvec, j,
                                                        raw + ((size_t)k * st->maxd + j) * st->nb,
                                                        st->nb);
                    st->rep.n_decrypt += dk;
                }
                st->rep.paillier_seconds += fs_now() - t0;
            } else {
                FS_TRY(fs_vfl_send(gbuf, d * st->cb, st->L, TAG_GRAD, st->comm));
            }
            FS_TRY(fs_agree(st->comm, local, NULL));
            /* Return g_k + m_k; the feature holder unmasks and updates. */
            if (st->is_L) {
                for (int k = 0; k < st->size; k++)
                    if (k != st->L)
                        FS_TRY(fs_vfl_send(raw + (size_t)k * st->maxd * st->nb,
                                           st->dims[k] * st->nb, k, TAG_BACK, st->comm));
            } else {
                FS_TRY(fs_vfl_recv(raw, d * st->nb, st->L, TAG_BACK, st->comm));
                for (size_t j = 0; j < d && local == FS_OK; j++) {
                    double g = 0;
                    local = fs_paillier_unmask_fixed(st->pk, raw + j * st->nb, gmask + j * st->nb,
                                                     st->nb, FR + FX, &g);
                    w[j] -= o->lr * (g / (double)cnt + o->l2 * w[j]);
                }
                fs_secure_zero(gmask, d * st->nb);
            }
            /* `local` is agreed by the next masked_scores or below. */
        }
        FS_TRY(fs_agree(st->comm, local, NULL));
        loss /= (double)n;
        FS_TRY(fs_vfl_bcast(&loss, sizeof loss, st->L, st->comm));   /* collective */
        if (have_test) FS_TRY(evaluate(st, o, test, w, epoch, z, &metric));
        st->rep.train_loss = loss;
        st->rep.test_metric = metric;
        if (on_epoch) on_epoch(epoch, loss, metric, user);
    }
    st->rep.seconds = fs_now() - t_start;
    if (rep) *rep = st->rep;
done:
    if (z) { fs_secure_zero(z, rows * sizeof *z); free(z); }
    if (r) { fs_secure_zero(r, B * sizeof *r); free(r); }
    if (gmask) { fs_secure_zero(gmask, st->maxd * st->nb); free(gmask); }
    free(perm); free(Xq); free(Mb); free(ctbuf); free(gbuf); free(raw);
    free(st->words); free(st->smask); free(st->dims);
    fs_paillier_vec_destroy(&encr);
    fs_paillier_vec_destroy(&gvec);
    fs_paillier_key_destroy(&st->key);
    fs_paillier_pub_destroy(&st->pub);
    fs_secagg_destroy(&st->sa);
    if (st->comm != MPI_COMM_NULL) MPI_Comm_free(&st->comm);
    return rc;
}

/*
 * fs_vfl.c - vertical logistic and linear regression with a label holder:
 * feature holders own Paillier keys and upload their encrypted feature rows
 * once; partial scores reach the label holder masked so that only their sum
 * is revealed; the label holder computes each feature holder's encrypted
 * gradient, which only that holder decrypts.  Every point-to-point message
 * is sealed with AES-256-GCM (fs_vfl_chan_*, keys from the authenticated
 * key setup of fs_secagg_create).
 *
 * vfl layer: binds the protocol of fs_vfl.h to MPI.  It follows the
 * gradient-exchange pattern of Hardy et al. 2017 ("Private federated
 * learning on vertically partitioned data via entity resolution and
 * additively homomorphic encryption") with the key roles reversed: the
 * label holder never holds a decryption key, so it cannot be used as a
 * decryption oracle, and no party returns a decrypted value to another.
 *
 * Fixed point:
 *   partial scores z_k: 2^FZ in Z_2^64, each part |round(z_k 2^FZ)| <=
 *     (2^63 - 1) / N, so the sum over N parts never wraps (L4 of the
 *     2026-12 review);
 *   residuals r: 2^FR, |r| < 2^(RB - FR) = 2^16 (refused beyond);
 *   features x: 2^FX, |x| < 2^(XB - FX) = 2^20 (refused beyond).
 * Slots: feature holder k packs its d_k fixed-point features of one row
 * into ceil(d_k / S) ciphertexts of S = floor((|n| - 2) / s) slots of
 * s = RB + XB + ceil(log2 |B|max) + 2 bits each; a batch sum
 * sum_b r_b x_bj then stays below 2^(s - 2) in magnitude per slot (the
 * headroom rule of fs_paillier_encrypt_packed).  The layout depends only on
 * public values (|n|, d_k, the batch sizes).
 *
 * Collectivity: each batch has three phase boundaries (scores computed;
 * scores received and gradients computed; gradients applied), each one
 * fs_agree, so a local failure on any rank stops every rank at the same
 * point.  Every message of a phase is received even after a failure, so
 * no sender is left blocked.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "vfl/fs_vfl_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_core.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_paillier.h"
#include "fedsilo/fs_secagg.h"
#include "fedsilo/fs_secsum.h"
#include "fedsilo/fs_vfl.h"

#define FZ FS_VFL_SCORE_FRAC
#define FR 24
#define FX 16
#define RB 40           /* bits of |residual| in fixed point             */
#define XB 36           /* bits of |feature| in fixed point              */
/* Message tags.  The attack tests' PMPI shim (tests/vfl/mitm.c) knows them. */
#define TAG_HELLO 7210  /* k -> L: d_k, n, layout, Paillier public key  */
#define TAG_UPLOAD 7211 /* k -> L: Enc_k(X_k), UPLOAD_ROWS rows a message */
#define TAG_SCORES 7212 /* k -> L: masked partial scores of one batch   */
#define TAG_GRAD 7213   /* L -> k: Enc_k(X_k[B]^T r), re-randomized      */
#define TAG_RESULT 7214 /* L -> k: loss and test metric of an epoch     */
#define UPLOAD_ROWS 1024
#define VID_TRAIN 1
#define VID_TEST 2
#define HELLO_MAGIC UINT64_C(0x4653564c48454c31)   /* "FSVLHEL1" */
#define HELLO_WORDS 6

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
    int rank, size, L;             /* L: the label holder's rank            */
    int is_L;
    const fs_vfl_opts *o;
    fs_secagg *sa;                 /* key setup (pair keys)                 */
    fs_vfl_chan *ch;
    size_t *dims;                  /* (size) features per rank (public)     */
    size_t *cpr;                   /* (size) ciphertexts per row of rank k  */
    size_t maxd;                   /* largest feature holder's block        */
    int slot_bits;
    size_t ctb;                    /* bytes of one ciphertext               */
    fs_prg **mask_prg;             /* (size) feature holders: pair mask streams; secret */
    fs_paillier_key *key;          /* feature holder: own key; secret       */
    fs_paillier_vec *gvec;         /* feature holder: (cpr) received gradient */
    fs_paillier_pub **pubs;        /* label holder: (size) feature holders' keys */
    fs_paillier_vec **up;          /* label holder: (size) n x cpr[k] uploads */
    fs_paillier_vec **res;         /* label holder: (size) cpr[k] results    */
    uint8_t *msg;                  /* one message buffer for every step      */
    size_t stride;                 /* bytes of the largest gradient message  */
    uint64_t *words;               /* (rows) score words; secret             */
    uint64_t *mask;                /* (rows) feature holder's score mask; secret */
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

static int ceil_log2(size_t v)
{
    int b = 0;
    while (((size_t)1 << b) < v) b++;
    return b;
}

void fs_vfl_batch_plan(uint64_t seed, int epoch, size_t n, size_t batch, int legacy,
                       uint32_t *perm, size_t *starts, size_t *nbatch)
{
    fs_rng rng;
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    fs_rng_seed(&rng, fs_rng_key(seed, 0x7666ULL, (uint64_t)epoch, 0));
    fs_rng_shuffle_u32(&rng, perm, n);   /* same order on every rank */
    size_t B = batch < n ? batch : n;
    size_t nb = legacy ? (n + B - 1) / B : n / B;
    for (size_t t = 0; t < nb; t++) starts[t] = t * B;
    starts[nb] = n;                      /* the n mod B rows join the last batch */
    *nbatch = nb;
}

fs_err fs_vfl_score_word(double s, int parts, uint64_t *out)
{
    double q = ldexp(s, FZ);
    /* A bound below (2^63 - 1) / parts: the margin of 1024 covers the
     * rounding of the double quotient (an error below 512 for any parts). */
    double lim = floor(0x1p63 / (double)(parts < 1 ? 1 : parts)) - 1024.0;
    if (!isfinite(q) || fabs(q) > lim)
        return fs_error_set(FS_ERR_NUMERIC, "vertical training: a partial score is out of "
                            "range (the training diverged? lower --lr)");
    *out = (uint64_t)(int64_t)llround(q);
    return FS_OK;
}

// ---------------------------------------------------------------- setup

/*
 * Feature holders: one AES-CTR mask stream per other feature holder j,
 * keyed by their pair key.  Rank k adds stream (k, j) if k < j and
 * subtracts it if k > j, so the masks cancel in the sum over feature
 * holders: sum_k m_k = 0 mod 2^64.  Not collective.
 */
static fs_err open_mask_streams(vfl_state *st)
{
    fs_err rc = FS_OK;
    uint8_t seed[32];   /* secret: wiped at done: */
    FS_TRY(fs_zalloc(&st->mask_prg, (size_t)st->size, sizeof *st->mask_prg, "mask streams"));
    if (st->is_L || st->o->test_no_score_masks) goto done;
    for (int j = 0; j < st->size; j++) {
        if (j == st->rank || j == st->L) continue;
        FS_TRY(fs_secagg_pair_key(st->sa, j, "fedsilo vfl score mask", seed));
        FS_TRY(fs_prg_create(seed, &st->mask_prg[j]));
        fs_secure_zero(seed, sizeof seed);
    }
done:
    fs_secure_zero(seed, sizeof seed);
    return rc;
}

/* Receive one message of len bytes from every feature holder into
 * buf + k * stride (all of them, even after a failure).  Not collective. */
static fs_err recv_from_holders(vfl_state *st, int tag, uint8_t *buf, size_t stride,
                                const size_t *len)
{
    fs_err rc = FS_OK;
    for (int k = 0; k < st->size; k++) {
        if (k == st->L) continue;
        fs_err r = rc == FS_OK ? fs_vfl_chan_recv(st->ch, k, tag, buf + (size_t)k * stride, len[k])
                               : fs_vfl_chan_skip(st->ch, k, tag, len[k]);
        if (r == FS_ERR_MPI) return r;
        if (rc == FS_OK) rc = r;
    }
    return rc;
}

/*
 * Paillier setup (collective): every feature holder generates its key,
 * sends L its HELLO (magic, d_k, n, ciphertexts per row, slot bits, key
 * bits, public key) and its encrypted rows; L checks the HELLO against the
 * public block sizes and keeps the uploads.
 */
static fs_err paillier_setup(vfl_state *st, const fs_vfl_part *p, size_t maxbatch)
{
    fs_err rc = FS_OK, local = FS_OK;
    const fs_vfl_opts *o = st->o;
    const size_t nb = ((size_t)o->paillier_bits + 7) / 8, pkb = 3 * nb;
    const size_t hello = HELLO_WORDS * 8 + pkb;
    int64_t *row = NULL;             /* (d) one fixed-point row; secret */
    fs_paillier_vec *enc = NULL;     /* feature holder: (n x cpr) own upload */
    size_t *lens = NULL;
    double t0 = fs_now();
    st->slot_bits = RB + XB + ceil_log2(maxbatch) + 2;
    st->ctb = 2 * nb;
    /* Ciphertexts per row: a public function of (|n|, d_k, slot width). */
    int slots = (o->paillier_bits - 2) / st->slot_bits;
    size_t maxcpr = 0;
    FS_TRY(fs_alloc(&st->cpr, (size_t)st->size, sizeof *st->cpr, "layout"));
    FS_TRY(fs_alloc(&lens, (size_t)st->size, sizeof *lens, "layout"));
    for (int k = 0; k < st->size; k++) {
        st->cpr[k] = k == st->L ? 0 : (st->dims[k] + (size_t)slots - 1) / (size_t)slots;
        lens[k] = hello;
        if (st->cpr[k] > maxcpr) maxcpr = st->cpr[k];
    }
    /* One buffer for the key messages (all of them on L), an upload chunk
     * and the gradients of one batch (all of them on L). */
    st->stride = maxcpr * st->ctb;
    size_t need = (size_t)st->size * hello, up = (size_t)UPLOAD_ROWS * maxcpr * st->ctb;
    if (up > need) need = up;
    if ((size_t)st->size * st->stride > need) need = (size_t)st->size * st->stride;
    FS_TRY(fs_alloc(&st->msg, need, 1, "message buffer"));
    if (!st->is_L) {
        local = fs_paillier_keygen(o->paillier_bits, &st->key);
        if (local == FS_OK) {
            uint64_t h[HELLO_WORDS] = { HELLO_MAGIC, p->d, p->n, st->cpr[st->rank],
                                        (uint64_t)st->slot_bits, (uint64_t)o->paillier_bits };
            memcpy(st->msg, h, sizeof h);
            local = fs_paillier_pub_export(fs_paillier_key_public(st->key),
                                           st->msg + sizeof h, pkb);
        }
    }
    FS_TRY(fs_agree(st->comm, local, NULL));
    if (!st->is_L) {
        local = fs_vfl_chan_send(st->ch, st->L, TAG_HELLO, st->msg, hello);
        if (local == FS_ERR_MPI) FS_TRY(local);
    } else {
        FS_TRY(fs_zalloc(&st->pubs, (size_t)st->size, sizeof *st->pubs, "public keys"));
        FS_TRY(fs_zalloc(&st->up, (size_t)st->size, sizeof *st->up, "uploads"));
        FS_TRY(fs_zalloc(&st->res, (size_t)st->size, sizeof *st->res, "gradients"));
        local = recv_from_holders(st, TAG_HELLO, st->msg, hello, lens);
        if (local == FS_ERR_MPI) FS_TRY(local);
        for (int k = 0; k < st->size && local == FS_OK; k++) {
            if (k == st->L) continue;
            uint64_t h[HELLO_WORDS];
            memcpy(h, st->msg + (size_t)k * hello, sizeof h);
            /* Authenticated, so a mismatch means the public block sizes were
             * altered in transit, or k does not follow the protocol. */
            if (h[0] != HELLO_MAGIC || h[1] != st->dims[k] || h[2] != p->n ||
                h[3] != st->cpr[k] || h[4] != (uint64_t)st->slot_bits ||
                h[5] != (uint64_t)o->paillier_bits)
                local = fs_error_set(FS_ERR_AUTH, "the key message of rank %d disagrees with the "
                                     "public block sizes or options", k);
            if (local == FS_OK)
                local = fs_paillier_pub_import(st->msg + (size_t)k * hello + sizeof h, pkb,
                                               &st->pubs[k]);
            if (local == FS_OK && fs_paillier_pub_bits(st->pubs[k]) != o->paillier_bits)
                local = fs_error_set(FS_ERR_DATA, "the Paillier key of rank %d has the wrong size", k);
            if (local == FS_OK) local = fs_paillier_pub_precompute(st->pubs[k]);
            if (local == FS_OK)
                local = fs_paillier_vec_create(st->pubs[k], p->n * st->cpr[k], &st->up[k]);
            if (local == FS_OK) local = fs_paillier_vec_create(st->pubs[k], st->cpr[k], &st->res[k]);
        }
    }
    FS_TRY(fs_agree(st->comm, local, NULL));
    if (st->size == 1) goto done;

    /* Upload: k encrypts its rows (slot j of ciphertext c holds feature
     * c S + j, fixed point 2^FX), then sends them UPLOAD_ROWS at a time. */
    if (!st->is_L) {
        size_t cpr = st->cpr[st->rank], d = p->d;
        local = fs_paillier_vec_create_keyed(st->key, p->n * cpr, &enc);
        if (local == FS_OK) local = fs_alloc(&row, d, sizeof *row, "feature row");
        for (size_t i = 0; i < p->n && local == FS_OK; i++) {
            for (size_t j = 0; j < d && local == FS_OK; j++) {
                double q = ldexp((double)p->X[i * d + j], FX);
                if (!isfinite(q) || fabs(q) >= 0x1p36) {
                    fs_log(FS_LOG_WARN, "vertical training: feature %zu of row %zu is %g, outside "
                           "+-2^20", j, i, (double)p->X[i * d + j]);
                    local = fs_error_set(FS_ERR_DATA, "vertical training: a feature value is "
                                         "outside +-2^20 (standardize the features; the "
                                         "failing rank's log names it)");
                } else {
                    row[j] = (int64_t)llround(q);
                }
            }
            for (size_t c = 0; c < cpr && local == FS_OK; c++) {
                size_t j0 = c * (size_t)slots, cnt = d - j0 < (size_t)slots ? d - j0 : (size_t)slots;
                local = fs_paillier_encrypt_packed(enc, i * cpr + c, row + j0, cnt, st->slot_bits);
            }
            st->rep.n_encrypt += cpr;
        }
        if (row) fs_secure_zero(row, d * sizeof *row);
    }
    FS_TRY(fs_agree(st->comm, local, NULL));
    for (int k = 0; k < st->size; k++) {
        if (k == st->L || (k != st->rank && !st->is_L)) continue;
        size_t cpr = st->cpr[k];
        for (size_t i0 = 0; i0 < p->n; i0 += UPLOAD_ROWS) {
            size_t rows = p->n - i0 < UPLOAD_ROWS ? p->n - i0 : UPLOAD_ROWS;
            size_t len = rows * cpr * st->ctb;
            if (!st->is_L) {
                fs_err r = fs_paillier_vec_export(enc, i0 * cpr, rows * cpr, st->msg, len);
                if (r == FS_OK) r = fs_vfl_chan_send(st->ch, st->L, TAG_UPLOAD, st->msg, len);
                if (r == FS_ERR_MPI) FS_TRY(r);
                if (local == FS_OK) local = r;
            } else {
                fs_err r = local == FS_OK ? fs_vfl_chan_recv(st->ch, k, TAG_UPLOAD, st->msg, len)
                                          : fs_vfl_chan_skip(st->ch, k, TAG_UPLOAD, len);
                if (r == FS_ERR_MPI) FS_TRY(r);
                if (r == FS_OK && local == FS_OK)
                    r = fs_paillier_vec_import(st->up[k], i0 * cpr, rows * cpr, st->msg, len);
                if (local == FS_OK) local = r;
            }
        }
    }
    FS_TRY(fs_agree(st->comm, local, NULL));
    if (!st->is_L) FS_TRY(fs_paillier_vec_create_keyed(st->key, st->cpr[st->rank], &st->gvec));
done:
    st->rep.setup_seconds += fs_now() - t0;
    st->rep.paillier_seconds += fs_now() - t0;
    fs_paillier_vec_destroy(&enc);
    free(row);
    free(lens);
    return rc;
}

// ---------------------------------------------------------------- per batch

/*
 * Partial scores of `cnt` rows (ids idx, or 0..cnt-1 when idx is NULL):
 * every rank computes X_k[row] w_k (+ bias on L); feature holders add their
 * pair masks for (round, vid) and send the words to L, which adds them to
 * its own and obtains the total scores z.  Collective; `local` (the
 * caller's pending status) is agreed first, then the receptions.
 */
static fs_err gather_scores(vfl_state *st, const fs_vfl_part *p, const uint32_t *idx, size_t cnt,
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
        local = fs_vfl_score_word(s, st->size, &st->words[b]);
        if (local != FS_OK)
            fs_log(FS_LOG_WARN, "vertical training: partial score %g of batch row %zu", s, b);
    }
    /* m_k = sum_{j > k} PRG_kj - sum_{j < k} PRG_kj over the other feature
     * holders j: uniform to L unless every other feature holder colludes. */
    for (int j = 0; j < st->size && local == FS_OK; j++) {
        if (!st->mask_prg || !st->mask_prg[j]) continue;
        local = fs_prg_set_nonce(st->mask_prg[j], round, vid);
        if (local == FS_OK) local = fs_prg_generate(st->mask_prg[j], st->mask, cnt * 8);
        for (size_t b = 0; b < cnt && local == FS_OK; b++)
            st->words[b] = st->rank < j ? st->words[b] + st->mask[b] : st->words[b] - st->mask[b];
    }
    fs_secure_zero(st->mask, cnt * sizeof *st->mask);
    FS_TRY(fs_agree(st->comm, local, NULL));   /* collective */
    local = FS_OK;
    if (!st->is_L) {
        local = fs_vfl_chan_send(st->ch, st->L, TAG_SCORES, st->words, cnt * 8);
        if (local == FS_ERR_MPI) FS_TRY(local);
    } else {
        for (int k = 0; k < st->size; k++) {
            if (k == st->L) continue;
            fs_err r = local == FS_OK ? fs_vfl_chan_recv(st->ch, k, TAG_SCORES, st->mask, cnt * 8)
                                      : fs_vfl_chan_skip(st->ch, k, TAG_SCORES, cnt * 8);
            if (r == FS_ERR_MPI) FS_TRY(r);
            for (size_t b = 0; b < cnt && r == FS_OK; b++) st->words[b] += st->mask[b];
            if (local == FS_OK) local = r;
        }
        /* masks cancelled; every part was within (2^63 - 1) / N: no wrap */
        for (size_t b = 0; b < cnt; b++)
            z[b] = ldexp((double)(int64_t)st->words[b], -FZ);
        fs_secure_zero(st->mask, cnt * sizeof *st->mask);
    }
    FS_TRY(fs_agree(st->comm, local, NULL));   /* collective */
done:
    return rc;
}

static double sigmoid(double z)
{
    return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

/*
 * Label holder, one batch: residuals, loss, plain update of its block and
 * the bias, then Enc_k(X_k[B]^T r) for every feature holder, serialized
 * into st->msg at k * stride.  Not collective.
 */
static fs_err label_step(vfl_state *st, const fs_vfl_part *p, double *w, const uint32_t *idx,
                         size_t cnt, const double *z, double *r, int64_t *rq, double *loss,
                         size_t stride)
{
    fs_err rc = FS_OK;
    const fs_vfl_opts *o = st->o;
    size_t d = p->d;
    for (size_t b = 0; b < cnt; b++) {
        double y = p->y[idx[b]];
        if (o->model == FS_VFL_LOGISTIC) {
            double pz = sigmoid(z[b]);
            r[b] = pz - y;
            *loss -= y * log(fmax(pz, 1e-15)) + (1 - y) * log(fmax(1 - pz, 1e-15));
        } else {
            r[b] = z[b] - y;
            *loss += 0.5 * r[b] * r[b];
        }
        double q = ldexp(r[b], FR);
        if (!isfinite(q) || fabs(q) >= 0x1p40) {
            fs_log(FS_LOG_WARN, "vertical training: residual %g of batch row %zu", r[b], b);
            FS_FAIL(FS_ERR_NUMERIC, "vertical training: a residual is out of range (the "
                    "training diverged? lower --lr)");
        }
        rq[b] = (int64_t)llround(q);
    }
    for (size_t j = 0; j < d; j++) {
        double g = 0;
        for (size_t b = 0; b < cnt; b++) g += (double)p->X[idx[b] * d + j] * r[b];
        w[j] -= o->lr * (g / (double)cnt + o->l2 * w[j]);
    }
    double gb = 0;
    for (size_t b = 0; b < cnt; b++) gb += r[b];
    w[d] -= o->lr * gb / (double)cnt;
    double t0 = fs_now();
    for (int k = 0; k < st->size; k++) {
        if (k == st->L) continue;
        size_t cpr = st->cpr[k];
        FS_TRY(fs_paillier_lincomb(st->up[k], cpr, idx, rq, cnt, st->res[k]));
        for (size_t c = 0; c < cpr; c++) FS_TRY(fs_paillier_rerandomize(st->res[k], c));
        FS_TRY(fs_paillier_vec_export(st->res[k], 0, cpr, st->msg + (size_t)k * stride,
                                      cpr * st->ctb));
        st->rep.n_scalar_mul += cnt * cpr;
        st->rep.n_encrypt += cpr;   /* the re-randomizations */
    }
    st->rep.paillier_seconds += fs_now() - t0;
done:
    return rc;
}

/* Feature holder, one batch: decrypt g_k and update w_k.  Not collective. */
static fs_err holder_step(vfl_state *st, const fs_vfl_part *p, double *w, size_t cnt, double *g)
{
    fs_err rc = FS_OK;
    size_t cpr = st->cpr[st->rank], d = p->d;
    int slots = fs_paillier_slots(fs_paillier_key_public(st->key), st->slot_bits);
    double t0 = fs_now();
    FS_TRY(fs_paillier_vec_import(st->gvec, 0, cpr, st->msg, cpr * st->ctb));
    for (size_t c = 0; c < cpr; c++) {
        size_t j0 = c * (size_t)slots, n = d - j0 < (size_t)slots ? d - j0 : (size_t)slots;
        FS_TRY(fs_paillier_decrypt_packed(st->key, st->gvec, c, n, st->slot_bits, FR + FX, g + j0));
    }
    st->rep.n_decrypt += cpr;
    st->rep.paillier_seconds += fs_now() - t0;
    for (size_t j = 0; j < d; j++) w[j] -= st->o->lr * (g[j] / (double)cnt + st->o->l2 * w[j]);
done:
    fs_secure_zero(g, d * sizeof *g);
    return rc;
}

/* L sends (loss, metric) to every feature holder over the channel.  Collective. */
static fs_err share_results(vfl_state *st, double *loss, double *metric)
{
    fs_err rc = FS_OK, local = FS_OK;
    double v[2] = { *loss, *metric };
    for (int k = 0; k < st->size && st->is_L; k++) {
        if (k == st->L) continue;
        fs_err r = fs_vfl_chan_send(st->ch, k, TAG_RESULT, v, sizeof v);
        if (r == FS_ERR_MPI) FS_TRY(r);
        if (local == FS_OK) local = r;
    }
    if (!st->is_L) {
        local = fs_vfl_chan_recv(st->ch, st->L, TAG_RESULT, v, sizeof v);
        if (local == FS_ERR_MPI) FS_TRY(local);
    }
    FS_TRY(fs_agree(st->comm, local, NULL));
    *loss = v[0];
    *metric = v[1];
done:
    return rc;
}

/* Test metric on the label holder (accuracy or RMSE).  Collective. */
static fs_err evaluate(vfl_state *st, const fs_vfl_part *test, const double *w, int epoch,
                       double *z, double *metric)
{
    fs_err rc = FS_OK;
    FS_TRY(gather_scores(st, test, NULL, test->n, w, (uint64_t)epoch, VID_TEST, z, FS_OK));
    double m = 0;
    if (st->is_L) {
        for (size_t i = 0; i < test->n; i++) {
            if (st->o->model == FS_VFL_LOGISTIC) m += ((z[i] >= 0) == (test->y[i] >= 0.5));
            else m += (z[i] - test->y[i]) * (z[i] - test->y[i]);
        }
        m = st->o->model == FS_VFL_LOGISTIC ? m / (double)test->n : sqrt(m / (double)test->n);
    }
    *metric = m;
done:
    return rc;
}

// ---------------------------------------------------------------- training

/* Phase 0 checks of one rank's arguments (rank-local). */
static fs_err check_args(const vfl_state *st, const fs_vfl_opts *o, const fs_vfl_part *train,
                         const fs_vfl_part *test, const double *w, int have_test)
{
    if (!o || !train || !w || !train->X || train->n == 0 || train->d == 0)
        return fs_error_set(FS_ERR_ARG, "fs_vfl_train: missing training data or output");
    if (train->n > UINT32_MAX)
        return fs_error_set(FS_ERR_ARG, "vertical training: more than 2^32 - 1 rows");
    if (o->label_rank < 0 || o->label_rank >= st->size)
        return fs_error_set(FS_ERR_ARG, "vertical training: label rank %d outside 0..%d",
                            o->label_rank, st->size - 1);
    if (!(o->lr > 0) || !(o->l2 >= 0) || o->epochs < 1 || o->batch_size < 1 ||
        o->batch_size > (1u << 20) || o->paillier_bits < FS_PAILLIER_MIN_BITS ||
        o->paillier_bits > FS_PAILLIER_MAX_BITS || o->paillier_bits % 2)
        return fs_error_set(FS_ERR_ARG, "vertical training: bad lr, l2, epochs, batch size "
                            "(1..2^20) or Paillier size (even, %d..%d)", FS_PAILLIER_MIN_BITS,
                            FS_PAILLIER_MAX_BITS);
    if (o->paillier_bits < FS_PAILLIER_SECURE_BITS && !o->insecure_test_keys)
        return fs_error_set(FS_ERR_ARG, "vertical training: Paillier keys below %d bits are for "
                            "tests only (--insecure-test-keys yes)", FS_PAILLIER_SECURE_BITS);
    if (o->label_rank == st->rank && (!train->y || (have_test && !test->y)))
        return fs_error_set(FS_ERR_ARG, "vertical training: the label holder (rank %d) has "
                            "no labels", st->rank);
    if (have_test && (!test->X || test->d != train->d))
        return fs_error_set(FS_ERR_ARG, "vertical training: test block has %zu features, "
                            "training block %zu", test ? test->d : 0, train->d);
    return FS_OK;
}

/* Block sizes of every rank (public metadata), the largest feature
 * holder's block, and the batch-margin rule.  Collective. */
static fs_err exchange_dims(vfl_state *st, const fs_vfl_part *train, size_t minbatch)
{
    fs_err rc = FS_OK;
    uint64_t mine = train->d, *all = NULL;
    FS_TRY(fs_alloc(&st->dims, (size_t)st->size, sizeof *st->dims, "block sizes"));
    FS_TRY(fs_alloc(&all, (size_t)st->size, sizeof *all, "block sizes"));
    int mrc = MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, st->comm);
    if (mrc != MPI_SUCCESS) FS_TRY(fs_from_mpi(mrc, "MPI_Allgather"));
    for (int k = 0; k < st->size; k++) {
        st->dims[k] = (size_t)all[k];
        if (k != st->L && st->dims[k] > st->maxd) st->maxd = st->dims[k];
    }
    /* Every rank evaluates the same public numbers: the error is collective. */
    if (!st->o->test_legacy_batches && minbatch < (size_t)FS_VFL_BATCH_MARGIN * st->maxd)
        FS_FAIL(FS_ERR_ARG, "vertical training: every batch needs at least %d x %zu = %zu rows "
                "(%d times the largest feature holder's block), but the batches have %zu: a "
                "feature holder could solve its gradients for the residuals; raise "
                "--batch-size%s", FS_VFL_BATCH_MARGIN, st->maxd,
                (size_t)FS_VFL_BATCH_MARGIN * st->maxd, FS_VFL_BATCH_MARGIN, minbatch,
                train->n < (size_t)FS_VFL_BATCH_MARGIN * st->maxd ? " (there are too few rows)" : "");
done:
    free(all);
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
    st->o = o;
    uint32_t *perm = NULL;       /* (n) batch order of the epoch            */
    size_t *starts = NULL;       /* (n / B + 2) batch boundaries            */
    double *z = NULL, *r = NULL; /* (rows) label holder: scores, residuals; secret */
    int64_t *rq = NULL;          /* (maxbatch) fixed-point residuals; secret */
    double *g = NULL;            /* (d) feature holder's gradient           */
    double t_start = fs_now();
    int have_test = test && test->n > 0;
    size_t n = 0, B = 0, ntest = 0, rows = 0, maxbatch = 0, stride = 0;

    FS_TRY(fs_vfl_dup(user_comm, &st->comm));
    MPI_Comm_rank(st->comm, &st->rank);
    MPI_Comm_size(st->comm, &st->size);

    /* Phase 0: arguments and uniform options. */
    local = check_args(st, o, train, test, w, have_test);
    FS_TRY(fs_agree(st->comm, local, NULL));
    {
        uint64_t v[13] = { (uint64_t)o->model, (uint64_t)o->label_rank, 0, 0, (uint64_t)o->epochs,
                           o->batch_size, (uint64_t)o->paillier_bits, o->seed,
                           (uint64_t)o->insecure_test_keys, (uint64_t)o->test_plain_channel,
                           (uint64_t)o->test_no_score_masks, (uint64_t)o->test_legacy_batches, 0 };
        memcpy(&v[2], &o->lr, 8);
        memcpy(&v[3], &o->l2, 8);
        FS_TRY(check_uniform(st->comm, fs_hash64(FS_HASH64_INIT, v, sizeof v), "options"));
        FS_TRY(check_uniform(st->comm, train->n, "numbers of training rows"));
        FS_TRY(check_uniform(st->comm, have_test ? test->n : 0, "numbers of test rows"));
    }
    st->L = o->label_rank;
    st->is_L = st->rank == st->L;
    n = train->n;
    B = o->batch_size < n ? o->batch_size : n;
    maxbatch = o->test_legacy_batches ? B : (n / B >= 2 ? B + n % B : n);
    ntest = have_test ? test->n : 0;
    rows = maxbatch > ntest ? maxbatch : ntest;
    memset(w, 0, (train->d + 1) * sizeof *w);
    FS_TRY(exchange_dims(st, train, o->test_legacy_batches ? (n % B ? n % B : B) : (n / B >= 2 ? B : n)));

    /* Key setup (collective), channels and mask streams. */
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
        FS_TRY(fs_secagg_create(st->comm, &so, &st->sa));
        st->rep.secagg_setup_seconds = fs_secagg_setup_seconds(st->sa);
    }
    local = fs_vfl_chan_create(st->comm, st->sa, o->test_plain_channel, &st->ch);
    if (local == FS_OK) local = open_mask_streams(st);
    FS_TRY(fs_agree(st->comm, local, NULL));
    if (st->rank == 0) {
        if (o->test_plain_channel || o->test_no_score_masks || o->test_legacy_batches)
            fs_log(FS_LOG_WARN, "vertical training in a TEST MODE that disables protections:%s%s%s; "
                   "never use it with real data", o->test_plain_channel ? " unsealed messages" : "",
                   o->test_no_score_masks ? " unmasked scores" : "",
                   o->test_legacy_batches ? " short tail batches" : "");
        if (!fs_secagg_authenticated(st->sa))
            fs_log(FS_LOG_WARN, "vertical training WITHOUT authentication (--insecure-no-auth): "
                   "point-to-point messages are encrypted with keys from an unauthenticated key "
                   "exchange, so a man in the middle on the MPI transport could read and alter "
                   "them");
        if (st->size == 2)
            fs_log(FS_LOG_WARN, "vertical training with one feature holder: the label holder "
                   "learns its partial scores X w exactly, and from them, over about d epochs, "
                   "the Gram matrix X X^T of its rows (docs/vertical.md); with two or more "
                   "feature holders it learns only their sum");
    }

    /* Buffers, allocated once. */
    FS_TRY(fs_alloc(&perm, n, sizeof *perm, "batch order"));
    FS_TRY(fs_alloc(&starts, n / B + 2, sizeof *starts, "batch order"));
    FS_TRY(fs_alloc(&st->words, rows, sizeof *st->words, "score words"));
    FS_TRY(fs_alloc(&st->mask, rows, sizeof *st->mask, "score masks"));
    FS_TRY(fs_alloc(&z, rows, sizeof *z, "scores"));
    FS_TRY(fs_alloc(&r, maxbatch, sizeof *r, "residuals"));
    FS_TRY(fs_alloc(&rq, maxbatch, sizeof *rq, "residuals"));
    FS_TRY(fs_alloc(&g, train->d, sizeof *g, "gradient"));

    /* Paillier keys and the encrypted upload (collective). */
    FS_TRY(paillier_setup(st, train, maxbatch));
    stride = st->stride;

    uint64_t step = 0;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double loss = 0, metric = NAN;
        size_t nbatch = 0;
        fs_vfl_batch_plan(o->seed, epoch, n, B, o->test_legacy_batches, perm, starts, &nbatch);
        for (size_t t = 0; t < nbatch; t++) {
            size_t cnt = starts[t + 1] - starts[t];
            const uint32_t *idx = perm + starts[t];
            /* 1: total scores on L (collective; agrees the previous step). */
            FS_TRY(gather_scores(st, train, idx, cnt, w, ++step, VID_TRAIN, z, local));
            local = FS_OK;
            if (st->size == 1) {
                local = label_step(st, train, w, idx, cnt, z, r, rq, &loss, stride);
                fs_secure_zero(r, cnt * sizeof *r);
                continue;
            }
            /* 2: residuals, L's update, Enc_k(X_k[B]^T r) for every k. */
            if (st->is_L) local = label_step(st, train, w, idx, cnt, z, r, rq, &loss, stride);
            if (st->is_L) { fs_secure_zero(r, cnt * sizeof *r); fs_secure_zero(rq, cnt * sizeof *rq); }
            FS_TRY(fs_agree(st->comm, local, NULL));   /* collective */
            /* 3: k decrypts its own gradient and updates its block. */
            for (int k = 0; k < st->size && st->is_L; k++) {
                if (k == st->L) continue;
                fs_err s2 = fs_vfl_chan_send(st->ch, k, TAG_GRAD, st->msg + (size_t)k * stride,
                                             st->cpr[k] * st->ctb);
                if (s2 == FS_ERR_MPI) FS_TRY(s2);
                if (local == FS_OK) local = s2;
            }
            if (!st->is_L) {
                local = fs_vfl_chan_recv(st->ch, st->L, TAG_GRAD, st->msg,
                                         st->cpr[st->rank] * st->ctb);
                if (local == FS_ERR_MPI) FS_TRY(local);
                if (local == FS_OK) local = holder_step(st, train, w, cnt, g);
            }
            /* `local` is agreed by the next gather_scores or below. */
        }
        FS_TRY(fs_agree(st->comm, local, NULL));
        loss /= (double)n;
        if (have_test) FS_TRY(evaluate(st, test, w, epoch, z, &metric));
        if (st->size > 1) FS_TRY(share_results(st, &loss, &metric));
        st->rep.train_loss = loss;
        st->rep.test_metric = metric;
        if (on_epoch) on_epoch(epoch, loss, metric, user);
    }
    st->rep.seconds = fs_now() - t_start;
    if (rep) *rep = st->rep;
done:
    if (z) { fs_secure_zero(z, rows * sizeof *z); free(z); }
    if (r) { fs_secure_zero(r, maxbatch * sizeof *r); free(r); }
    if (rq) { fs_secure_zero(rq, maxbatch * sizeof *rq); free(rq); }
    if (st->mask) fs_secure_zero(st->mask, rows * sizeof *st->mask);
    if (st->words) fs_secure_zero(st->words, rows * sizeof *st->words);
    free(perm); free(starts); free(g); free(st->words); free(st->mask); free(st->msg);
    free(st->dims); free(st->cpr);
    for (int k = 0; k < st->size; k++) {
        if (st->mask_prg) fs_prg_destroy(&st->mask_prg[k]);
        if (st->up) fs_paillier_vec_destroy(&st->up[k]);
        if (st->res) fs_paillier_vec_destroy(&st->res[k]);
        if (st->pubs) fs_paillier_pub_destroy(&st->pubs[k]);
    }
    free(st->mask_prg); free(st->up); free(st->res); free(st->pubs);
    fs_paillier_vec_destroy(&st->gvec);
    fs_paillier_key_destroy(&st->key);
    fs_vfl_chan_destroy(&st->ch);
    fs_secagg_destroy(&st->sa);
    if (st->comm != MPI_COMM_NULL) MPI_Comm_free(&st->comm);
    return rc;
}

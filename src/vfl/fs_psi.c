/*
 * fs_psi.c - N-party private set intersection that releases only the
 * intersection (and the set sizes): deterministic ristretto255 tags built
 * on a ring and never published, membership decided by zero shares summed
 * through the secure sum.  docs/vertical.md has the proof sketch.
 *
 * vfl layer: binds the protocol to MPI.  Phases (each ends with fs_agree):
 *   0. local checks (arguments, repeated ids); the sizes n_j are
 *      allgathered (public);
 *   1. secure-sum session (fs_secagg_create, full mesh): session id sid,
 *      pair keys for the zero shares and for the MACs of ring messages;
 *   2. tags.  Hop 0: rank k computes a_k H(x) for its ids in a secret
 *      order pi_k, H(x) = ristretto255 from_hash(SHA-512("fedsilo psi v2"
 *      || sid || BE64(|x|) || x)).  Hop h = 1..N-1: rank k receives from
 *      k-1 the list of owner k-h, multiplies every element by a_k and (for
 *      h < N-1) shuffles it with a fresh secret permutation; then sends it
 *      to k+1.  After hop N-1 rank k holds T(x) = (a_0 ... a_{N-1}) H(x)
 *      for the ids of owner k+1: it is the "holder" of that block;
 *   3. membership: R rounds of the matcher (fs_psi_match.c): table of B
 *      words, secure sum (fs_secagg_sum_words), zeros mark tags present in
 *      every block;
 *   4. flags: the holder's "in I" bits travel back along the ring (k to
 *      k-1), each hop undoing its permutation, to the owner;
 *   5. result: the owner's flagged ids sorted by their bytes; zero shares
 *      of SHA-256(result), summed along the ring, check that every rank
 *      holds the same result (they catch a false zero slot, altered secure
 *      sums or a deviating rank).
 * Ring, flag and check messages carry BLAKE2b-256 MACs under the pair key
 * of sender and receiver over (sender, receiver, phase, step, count,
 * payload).
 *
 * Secrets (wiped at done:): the scalar a_k, the permutations, the pair
 * keys, the tags (inside the matcher only their digests) and the tables.
 */
#define _GNU_SOURCE   /* qsort_r */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "crypto/fs_crypto_impl.h"
#include "data/fs_data_impl.h"
#include "vfl/fs_psi_impl.h"
#include "vfl/fs_vfl_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_psi.h"
#include "fedsilo/fs_secagg.h"

#define EB FS_RISTRETTO_BYTES
#define MACB 32
#define TAG_RING 7111
#define TAG_FLAGS 7112
#define TAG_CHECK 7113
enum { PHASE_RING = 1, PHASE_FLAGS = 2, PHASE_CHECK = 3 };
static const char HASH_LABEL[] = "fedsilo psi v2";
static const char MSG_LABEL[] = "fedsilo psi v2 msg";

void fs_psi_opts_default(fs_psi_opts *o)
{
    memset(o, 0, sizeof *o);
}

typedef struct {
    MPI_Comm comm;
    int rank, size, threads;
    uint64_t *sizes;            /* (N) public set sizes                      */
    fs_secagg *sa;
    uint8_t scalar[32];         /* secret: a_k                               */
    uint32_t **perm;            /* (N-1) secret: perm[h] for hops 0..N-2     */
    uint8_t *zkeys;             /* (N x 32) secret: zero-share pair keys     */
    uint8_t mac_next[32], mac_prev[32];   /* secret: MAC keys with k+1, k-1  */
    uint8_t *cur, *nxt;         /* (maxn x 32 + MAC) ring buffers            */
    size_t cur_cap;
    uint8_t *fcur, *fnxt;       /* (maxn + MAC) flag buffers                 */
    fs_psi_matcher *match;
    uint64_t *table;            /* (B + 1) secret until summed               */
    uint64_t B;
    uint32_t R;
    double log2_miss;
    uint64_t smults;
} psi_state;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t bsize(const psi_state *st, int owner)
{
    return (size_t)st->sizes[((owner % st->size) + st->size) % st->size];
}

/* Default threads: the node's online CPUs over its ranks, rounded up. */
static int auto_threads(MPI_Comm comm)
{
    MPI_Comm node = MPI_COMM_NULL;
    int local = 1;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) cpus = 1;
    long t = (cpus + local - 1) / local;
    return (int)(t < 1 ? 1 : t > 64 ? 64 : t);
}

/* A barrier that sleeps 100 us between polls instead of spinning (Open
 * MPI's blocking calls poll): put before the collectives that follow long
 * rank-local work, so ranks that finish early leave the cores to the
 * others on an oversubscribed node.  Collective.  FS_OK or FS_ERR_MPI. */
static fs_err wait_others(MPI_Comm comm)
{
    const struct timespec nap = { 0, 100000 };
    MPI_Request req;
    int done = 0, mrc = MPI_Ibarrier(comm, &req);
    while (mrc == MPI_SUCCESS && !done) {
        mrc = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (mrc == MPI_SUCCESS && !done) nanosleep(&nap, NULL);
    }
    return mrc == MPI_SUCCESS ? FS_OK : fs_from_mpi(mrc, "MPI_Ibarrier");
}

/* MAC over (label, sender, receiver, phase, step, count) || payload. */
static fs_err msg_mac(const uint8_t key[32], int sender, int receiver, int phase, int step,
                      const uint8_t *payload, size_t len, uint8_t tag[MACB])
{
    uint8_t hdr[sizeof MSG_LABEL + 24];
    size_t o = sizeof MSG_LABEL;
    memcpy(hdr, MSG_LABEL, sizeof MSG_LABEL);
    const uint32_t w[4] = { (uint32_t)sender, (uint32_t)receiver, (uint32_t)phase, (uint32_t)step };
    for (int k = 0; k < 4; k++, o += 4)
        for (int b = 0; b < 4; b++) hdr[o + b] = (uint8_t)(w[k] >> (24 - 8 * b));
    for (int b = 0; b < 8; b++) hdr[o + b] = (uint8_t)((uint64_t)len >> (56 - 8 * b));
    return fs_blake2b_keyed(tag, MACB, key, 32, hdr, sizeof hdr, payload, len);
}

/*
 * One ring step (collective): MAC and send slen payload bytes of sbuf to
 * `to`, receive rlen payload bytes from `from` into rbuf and check their
 * MAC.  Both buffers have MACB spare bytes after the payload.  Returns the
 * agreed code; an altered message gives FS_ERR_AUTH naming the link.
 */
static fs_err ring_step(psi_state *st, int phase, int step, uint8_t *sbuf, size_t slen, int to,
                        const uint8_t *kto, uint8_t *rbuf, size_t rlen, int from,
                        const uint8_t *kfrom, int tag)
{
    fs_err rc = FS_OK;
    uint8_t want[MACB];
    fs_err local = msg_mac(kto, st->rank, to, phase, step, sbuf, slen, sbuf + slen);
    FS_TRY(fs_agree(st->comm, local, NULL));
    /* collective: every rank performs the same step */
    FS_TRY(fs_vfl_sendrecv(sbuf, slen + MACB, to, rbuf, rlen + MACB, from, tag, st->comm));
    local = msg_mac(kfrom, from, st->rank, phase, step, rbuf, rlen, want);
    if (local == FS_OK && !fs_secure_memeq(want, rbuf + rlen, MACB))
        local = fs_error_set(FS_ERR_AUTH, "rank %d: the PSI message from rank %d to rank %d (%s, "
                             "hop %d) failed authentication: it was altered in transit or the "
                             "two ranks do not share a session", st->rank, from, st->rank,
                             phase == PHASE_RING ? "tag list" : phase == PHASE_FLAGS ? "flags"
                             : "result check", step);
    FS_TRY(fs_agree(st->comm, local, NULL));
done:
    return rc;
}

/* out[i] = in[perm[i]] for n elements of w bytes. */
static void gather(uint8_t *out, const uint8_t *in, const uint32_t *perm, size_t n, size_t w)
{
    for (size_t i = 0; i < n; i++) memcpy(out + i * w, in + (size_t)perm[i] * w, w);
}

/* Phase 2 (collective): hop 0 and the N-1 multiplication hops. */
static fs_err build_tags(psi_state *st, const char *const *ids, size_t n)
{
    fs_err rc = FS_OK, local = FS_OK;
    const int k = st->rank, N = st->size, next = (k + 1) % N, prev = (k + N - 1) % N;
    uint8_t dom[sizeof HASH_LABEL + 32];
    memcpy(dom, HASH_LABEL, sizeof HASH_LABEL);
    memcpy(dom + sizeof HASH_LABEL, fs_secagg_session_id(st->sa), 32);
    /* hop 0: own ids in the secret order pi_k, times a_k */
    local = fs_ristretto_scalar_random(st->scalar);
    if (local == FS_OK) local = fs_random_permutation(st->perm[0], n);
    if (local == FS_OK)
        local = fs_ristretto_hash_mul(dom, sizeof dom, ids, st->perm[0], n, st->scalar, st->cur,
                                      st->threads);
    if (local != FS_OK) fs_error_prefix(local, "rank %d: PSI: ", k);
    FS_TRY(wait_others(st->comm));   /* collective: sleep, do not spin */
    FS_TRY(fs_agree(st->comm, local, NULL));
    st->smults += n;
    for (int h = 1; h < N; h++) {
        const size_t scnt = bsize(st, k - h + 1), rcnt = bsize(st, k - h);
        FS_TRY(ring_step(st, PHASE_RING, h, st->cur, scnt * EB, next, st->mac_next, st->nxt,
                         rcnt * EB, prev, st->mac_prev, TAG_RING));
        size_t bad = SIZE_MAX;
        local = fs_ristretto_mul(st->scalar, st->nxt, rcnt, st->threads, &bad);
        if (local == FS_ERR_DATA)
            local = fs_error_set(FS_ERR_DATA, "rank %d: value %zu of the PSI list from rank %d "
                                 "(hop %d) is not a ristretto255 element: rank %d deviates from "
                                 "the protocol", k, bad, prev, h, prev);
        else if (local != FS_OK)
            fs_error_prefix(local, "rank %d: PSI: ", k);
        if (local == FS_OK && h < N - 1) local = fs_random_permutation(st->perm[h], rcnt);
        FS_TRY(wait_others(st->comm));   /* collective: sleep, do not spin */
        FS_TRY(fs_agree(st->comm, local, NULL));
        st->smults += rcnt;
        if (h < N - 1) {
            gather(st->cur, st->nxt, st->perm[h], rcnt, EB);
        } else {                 // holder: keep the received order
            uint8_t *t = st->cur; st->cur = st->nxt; st->nxt = t;
        }
    }
done:
    return rc;
}

/* Phase 3 (collective): R rounds of the membership test. */
static fs_err match_rounds(psi_state *st)
{
    fs_err rc = FS_OK;
    const size_t nb = bsize(st, st->rank + 1);
    fs_err local = fs_psi_matcher_create(st->size, st->rank, fs_secagg_session_id(st->sa),
                                         st->zkeys, st->cur, nb, st->B, st->R, &st->match);
    fs_secure_zero(st->cur, nb * EB);      // the tags live on only as digests
    if (local == FS_OK) local = fs_alloc(&st->table, (size_t)st->B + 1, sizeof *st->table, "PSI table");
    if (local != FS_OK) fs_error_prefix(local, "rank %d: PSI: ", st->rank);
    FS_TRY(fs_agree(st->comm, local, NULL));
    for (uint32_t t = 1; t <= st->R; t++) {
        local = fs_psi_matcher_table(st->match, t, st->table);
        if (local != FS_OK) fs_error_prefix(local, "rank %d: PSI round %u: ", st->rank, t);
        /* collective: the canary and the local status are agreed inside */
        FS_TRY(fs_secagg_sum_words(st->sa, t, 1, st->table, (size_t)st->B, local));
        fs_psi_matcher_detect(st->match, st->table);
    }
done:
    return rc;
}

/* Phase 4 (collective): flags back to the owners; *own gets n flags in
 * the order of the caller's ids. */
static fs_err send_flags_back(psi_state *st, uint8_t *own)
{
    fs_err rc = FS_OK;
    const int k = st->rank, N = st->size, next = (k + 1) % N, prev = (k + N - 1) % N;
    size_t cnt = bsize(st, k + 1);
    memcpy(st->fcur, fs_psi_matcher_flags(st->match), cnt);
    for (int b = N - 1; b >= 1; b--) {
        /* send flags of block k-b (in the order received at hop b) to k-1;
         * receive those of block k+1-b in the order sent at hop b-1 */
        const size_t rcnt = bsize(st, k + 1 - b);
        FS_TRY(ring_step(st, PHASE_FLAGS, b, st->fcur, cnt, prev, st->mac_prev, st->fnxt, rcnt,
                         next, st->mac_next, TAG_FLAGS));
        const uint32_t *p = st->perm[b - 1];
        for (size_t i = 0; i < rcnt; i++) st->fcur[p[i]] = st->fnxt[i] ? 1 : 0;
        cnt = rcnt;
    }
    memcpy(own, st->fcur, cnt);   // b = 1 undid pi_k: own-id order
done:
    return rc;
}

static int cmp_ids(const void *a, const void *b, void *ids)
{
    const char *const *v = ids;
    return strcmp(v[*(const size_t *)a], v[*(const size_t *)b]);
}

/* SHA-256 of the sorted result, framed (label, sid, every id). */
static fs_err result_digest(const uint8_t sid[32], const char *const *ids, const size_t *idx,
                            size_t m, uint8_t out[32])
{
    fs_err rc = FS_OK;
    fs_sha256_ctx *h = NULL;
    static const char label[] = "fedsilo psi v2 result";
    FS_TRY(fs_sha256_init(&h));
    FS_TRY(fs_sha256_update_framed(h, label, sizeof label));
    FS_TRY(fs_sha256_update_framed(h, sid, 32));
    for (size_t t = 0; t < m; t++) FS_TRY(fs_sha256_update_framed(h, ids[idx[t]], strlen(ids[idx[t]])));
    FS_TRY(fs_sha256_final(h, out));
done:
    fs_sha256_destroy(&h);
    return rc;
}

/*
 * Phase 5 (collective): every rank holds the same result, or FS_ERR_AUTH.
 * Each rank's zero share w_k of its result digest travels the ring with
 * MACs: at step s rank k receives the sum of the shares of ranks k-s ..
 * k-1 and adds its own, so after N-1 steps every rank holds the sum over
 * all ranks, which is 0 iff all digests agree.  The MACs keep an attacker
 * on the transport from forcing a 0.
 */
static fs_err check_result(psi_state *st, const char *const *ids, const size_t *idx, size_t m)
{
    fs_err rc = FS_OK;
    const int k = st->rank, N = st->size, next = (k + 1) % N, prev = (k + N - 1) % N;
    uint8_t d[32], sb[16 + MACB], rb[16 + MACB];
    uint64_t w[2] = { 0, 0 }, acc[2];
    fs_err local = result_digest(fs_secagg_session_id(st->sa), ids, idx, m, d);
    if (local == FS_OK) local = fs_psi_zero_share(st->zkeys, N, k, d, sizeof d, w);
    FS_TRY(fs_agree(st->comm, local, NULL));
    acc[0] = w[0];
    acc[1] = w[1];
    for (int step = 1; step < N; step++) {
        memcpy(sb, acc, 16);
        FS_TRY(ring_step(st, PHASE_CHECK, step, sb, 16, next, st->mac_next, rb, 16, prev,
                         st->mac_prev, TAG_CHECK));
        memcpy(acc, rb, 16);
        acc[0] += w[0];
        acc[1] += w[1];
    }
    local = FS_OK;
    if (acc[0] != 0 || acc[1] != 0)
        local = fs_error_set(FS_ERR_AUTH, "PSI: the ranks' intersections differ, so no rank uses "
                             "its result (a rank deviated from the protocol, the secure sums "
                             "were altered in transit, or with probability below 2^-%d a table "
                             "slot summed to 0 by chance)",
                             (int)(64.0 - log2((double)st->B * (double)st->R + 1.0)));
    FS_TRY(fs_agree(st->comm, local, NULL));
done:
    return rc;
}

static void state_free(psi_state *st)
{
    if (st->perm) {
        for (int h = 0; h + 1 < st->size; h++) {
            if (!st->perm[h]) continue;
            fs_secure_zero(st->perm[h], bsize(st, st->rank - h) * sizeof *st->perm[h]);
            free(st->perm[h]);
        }
        free(st->perm);
    }
    if (st->zkeys) { fs_secure_zero(st->zkeys, (size_t)st->size * 32); free(st->zkeys); }
    if (st->cur) { fs_secure_zero(st->cur, st->cur_cap); free(st->cur); }
    if (st->nxt) { fs_secure_zero(st->nxt, st->cur_cap); free(st->nxt); }
    if (st->table) { fs_secure_zero(st->table, ((size_t)st->B + 1) * sizeof *st->table); free(st->table); }
    free(st->fcur);
    free(st->fnxt);
    fs_psi_matcher_destroy(&st->match);
    fs_secagg_destroy(&st->sa);
    fs_secure_zero(st->scalar, sizeof st->scalar);
    fs_secure_zero(st->mac_next, sizeof st->mac_next);
    fs_secure_zero(st->mac_prev, sizeof st->mac_prev);
    free(st->sizes);
    if (st->comm != MPI_COMM_NULL) MPI_Comm_free(&st->comm);
}

/* Rank-local checks before anything is sent. */
static fs_err check_input(const char *const *ids, size_t n, size_t **idx_out, size_t *m_out,
                          int rank)
{
    if (!idx_out || !m_out || (!ids && n))
        return fs_error_set(FS_ERR_ARG, "rank %d: fs_psi_intersect: NULL argument", rank);
    if (n >= UINT32_MAX)
        return fs_error_set(FS_ERR_ARG, "rank %d: PSI: more than 2^32 - 2 ids", rank);
    for (size_t i = 0; i < n; i++)
        if (!ids[i]) return fs_error_set(FS_ERR_ARG, "rank %d: PSI: id %zu is NULL", rank, i);
    int found = 0;
    size_t a = 0, b = 0;
    fs_err rc = fs_ids_find_repeat((char *const *)ids, n, &found, &a, &b);
    if (rc != FS_OK) return rc;
    /* The message goes to every rank: positions only, never the id. */
    if (found)
        return fs_error_set(FS_ERR_DATA, "rank %d: PSI: repeated id (entries %zu and %zu of the "
                            "id list, 0-based)", rank, a, b);
    return FS_OK;
}

fs_err fs_psi_intersect(MPI_Comm user_comm, const fs_psi_opts *opts, const char *const *ids,
                        size_t n, size_t **idx_out, size_t *m_out, fs_psi_report *report)
{
    fs_err rc = FS_OK, local = FS_OK;
    psi_state st;
    fs_psi_opts def;
    size_t *res = NULL;
    uint8_t *own = NULL;
    const double t0 = fs_now(), c0 = cpu_now();
    double t1 = t0, t2 = t0, t3 = t0;
    memset(&st, 0, sizeof st);
    st.comm = MPI_COMM_NULL;
    if (idx_out) *idx_out = NULL;
    if (m_out) *m_out = 0;
    if (!opts) { fs_psi_opts_default(&def); opts = &def; }
    FS_TRY(fs_vfl_dup(user_comm, &st.comm));
    MPI_Comm_rank(st.comm, &st.rank);
    MPI_Comm_size(st.comm, &st.size);
    const int N = st.size, k = st.rank;

    /* Phase 0: local checks, public sizes. */
    local = check_input(ids, n, idx_out, m_out, k);
    if (local == FS_OK) local = fs_alloc(&st.sizes, (size_t)N, sizeof *st.sizes, "PSI sizes");
    FS_TRY(fs_agree(st.comm, local, NULL));
    {
        uint64_t mine = n;
        int mrc = MPI_Allgather(&mine, 1, MPI_UINT64_T, st.sizes, 1, MPI_UINT64_T, st.comm);
        if (mrc != MPI_SUCCESS) FS_TRY(fs_from_mpi(mrc, "MPI_Allgather (PSI set sizes)"));
    }
    uint64_t nmin = UINT64_MAX, maxn = 0;
    for (int r = 0; r < N; r++) {
        if (st.sizes[r] < nmin) nmin = st.sizes[r];
        if (st.sizes[r] > maxn) maxn = st.sizes[r];
    }
    st.threads = opts->threads > 0 ? opts->threads : auto_threads(st.comm);
    fs_psi_plan(st.sizes, N, &st.B, &st.R, &st.log2_miss);
    local = fs_alloc(&res, n, sizeof *res, "PSI result");
    if (local == FS_OK) local = fs_zalloc(&own, n, 1, "PSI flags");
    FS_TRY(fs_agree(st.comm, local, NULL));

    if (N == 1) {
        memset(own, 1, n);                     // the intersection of one set
    } else if (nmin > 0) {
        /* Phase 1: authenticated session, pair keys. */
        fs_secagg_opts so;
        memset(&so, 0, sizeof so);
        so.vec.ring_bits = 64;
        so.vec.clip = 1.0;
        so.vec.frac_bits = fs_fixed_suggest(64, N, 1.0);
        so.vec.rounding = FS_FIXED_ROUND_NEAREST;
        so.mask_degree = 0;                    // full mesh: a pair key with every rank
        so.roster_path = opts->roster_path;
        so.identity_path = opts->identity_path;
        so.allow_unauthenticated = opts->allow_unauthenticated;
        FS_TRY(fs_secagg_create(st.comm, &so, &st.sa));   /* collective: key setup */
        const int next = (k + 1) % N, prev = (k + N - 1) % N;
        st.cur_cap = (size_t)maxn * EB + MACB;
        local = fs_zalloc(&st.zkeys, (size_t)N, 32, "PSI pair keys");
        for (int l = 0; l < N && local == FS_OK; l++)
            if (l != k) local = fs_secagg_pair_key(st.sa, l, "fedsilo psi v2 zero", st.zkeys + 32 * (size_t)l);
        if (local == FS_OK) local = fs_secagg_pair_key(st.sa, next, "fedsilo psi v2 mac", st.mac_next);
        if (local == FS_OK) local = fs_secagg_pair_key(st.sa, prev, "fedsilo psi v2 mac", st.mac_prev);
        if (local == FS_OK) local = fs_alloc(&st.cur, st.cur_cap, 1, "PSI ring buffer");
        if (local == FS_OK) local = fs_alloc(&st.nxt, st.cur_cap, 1, "PSI ring buffer");
        if (local == FS_OK) local = fs_alloc(&st.fcur, (size_t)maxn + MACB, 1, "PSI flags");
        if (local == FS_OK) local = fs_alloc(&st.fnxt, (size_t)maxn + MACB, 1, "PSI flags");
        if (local == FS_OK) local = fs_zalloc(&st.perm, (size_t)N - 1, sizeof *st.perm, "PSI permutations");
        for (int h = 0; h + 1 < N && local == FS_OK; h++)
            local = fs_alloc(&st.perm[h], bsize(&st, k - h), sizeof *st.perm[h], "PSI permutation");
        if (local != FS_OK) fs_error_prefix(local, "rank %d: PSI: ", k);
        FS_TRY(fs_agree(st.comm, local, NULL));
        t1 = fs_now();
        FS_TRY(build_tags(&st, ids, n));        /* Phase 2 */
        t2 = fs_now();
        FS_TRY(match_rounds(&st));              /* Phase 3 */
        t3 = fs_now();
        FS_TRY(send_flags_back(&st, own));      /* Phase 4 */
    }
    /* Phase 5: own flagged ids, sorted by their bytes; the same everywhere. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (own[i]) res[m++] = i;
    qsort_r(res, m, sizeof *res, cmp_ids, (void *)ids);
    if (st.sa) FS_TRY(check_result(&st, ids, res, m));
    if (report) {
        memset(report, 0, sizeof *report);
        report->seconds = fs_now() - t0;
        report->setup_seconds = st.sa ? t1 - t0 : 0;
        report->tag_seconds = st.sa ? t2 - t1 : 0;
        report->match_seconds = st.sa ? t3 - t2 : 0;
        report->finish_seconds = st.sa ? fs_now() - t3 : 0;
        report->cpu_seconds = cpu_now() - c0;
        report->scalarmults = st.smults;
        report->table_words = st.B;
        report->rounds = st.R;
        report->log2_miss = st.log2_miss;
        report->threads = st.threads;
        if (st.sa) memcpy(report->session_id, fs_secagg_session_id(st.sa), 32);
    }
    *idx_out = res;
    *m_out = m;
    res = NULL;
done:
    if (own) { fs_secure_zero(own, n); free(own); }
    free(res);
    state_free(&st);
    return rc;
}

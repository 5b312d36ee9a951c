/*
 * fs_secagg_mpi.c - MPI binding of the secure sum (secagg layer, the thin
 * part that moves bytes).  Implements docs/protocol.md:
 *
 * Key setup (once per job; Bonawitz et al. 2017, rounds 0-1, with
 * authenticated ephemeral DH instead of a server-relayed exchange):
 *   0. parameters and roster hash compared with rank 0's; own identity key
 *      must equal the roster entry for this rank.
 *   1. nonce_i <- 32 random bytes; allgather.        (freshness: replay of
 *      an old signed DH value fails because the nonces differ)
 *   2. a_i random, A_i = g^a_i mod p; sig_i = Sign_i(ctx || A_i) with
 *      ctx = label || H(nonces) || roster hash || params (incl. N) || i; allgather.
 *   3. every rank verifies every sig_j against the roster key of j and
 *      checks A_j in the order-q subgroup; failures are agreed (FS_ERR_AUTH).
 *   4. sid = SHA-256(label || nonces || (A_j, sig_j)_j || roster hash || params).
 *   5. mask graph G(N, k, sid); for each neighbour j:
 *      Z = A_j^a_i mod p;  s_ij = HKDF(Z, salt = sid, info = label||min||max)
 *      (one seed per codec: "vec" for model vectors, "met" for statistics,
 *      so the two maskers never share a (key, nonce));  for EVERY peer j
 *      (neighbour or not) also prk_ij = HKDF(Z, salt = sid, info = "fedsilo
 *      pair"||min||max), the root of fs_secagg_pair_key;  Z, a_i wiped.
 *
 * Per vector: encode + mask (engine), MPI_Allreduce(MPI_SUM) on uint32 or
 * uint64 in chunks (wrap-around = arithmetic mod 2^b), canary check, decode.
 * Every rank decodes the same words, so the canary verdict is identical on
 * all ranks without another collective.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mpi.h>
#include "fs_mpi_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_secsum.h"
#include "fedsilo/fs_secagg.h"

#define NONCE_BYTES 32
static const char KEYX_LABEL[] = "fedsilo-keyx-v1";
static const char SID_LABEL[] = "fedsilo-session-v1";

/*
 * The statistics codec (docs/protocol.md): 64-bit ring, clip 2^31 (counts
 * and sums of losses per rank), and the largest number of fractional bits
 * the headroom rule allows for N ranks: f = 29 for N <= 4, 20 for N <= 2048,
 * f >= 0 up to N = 2^31.  Integers below 2^31 are exact for any f.
 */
#define METRIC_CLIP 2147483648.0

struct fs_secagg {
    MPI_Comm comm;            /* private duplicate, MPI_ERRORS_RETURN          */
    int rank, size;
    fs_fixed_params vec;      /* codec of float vectors                        */
    fs_fixed_params met;      /* codec of statistics (64-bit ring)             */
    fs_masker *mvec, *mmet;   /* maskers: float vectors / statistics (secret)  */
    fs_maskgraph *graph;
    int degree, authenticated;
    uint8_t sid[32];          /* session id (public)                           */
    uint8_t *pair_prk;        /* (size x 32) secret: HKDF(Z_ij, sid, "fedsilo pair")
                                 for every peer j (zeros at j = rank); wiped  */
    void *words;              /* (cap) ring words of the current vector         */
    size_t cap_bytes;
    double setup_seconds;     /* wall time of the key setup                   */
    double setup_cpu;         /* CPU time of this process during the setup    */
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Parameters that must agree across ranks, in a fixed byte layout. */
typedef struct {
    int32_t ring_bits, frac_bits, rounding, degree, authenticated, nranks;
    double clip;
} wire_params;

static fs_err ensure_words(fs_secagg *sa, size_t bytes)
{
    if (bytes <= sa->cap_bytes) return FS_OK;
    if (sa->words) fs_secure_zero(sa->words, sa->cap_bytes);
    free(sa->words);
    sa->words = NULL;
    sa->cap_bytes = 0;
    fs_err rc = fs_alloc(&sa->words, bytes, 1, "secure-sum buffer");
    if (rc == FS_OK) sa->cap_bytes = bytes;
    return rc;
}

/* Rank-local: load the roster and our identity, check they agree. */
static fs_err load_identity(const fs_secagg_opts *o, int rank, int size, fs_roster **roster,
                            fs_identity **id, uint8_t roster_hash[32])
{
    fs_err rc = FS_OK;
    uint8_t mine[FS_ED25519_PUBBYTES];
    FS_TRY(fs_roster_load(o->roster_path, roster));
    if (fs_roster_count(*roster) != size)
        FS_FAIL(FS_ERR_ARG, "roster %s lists %d institutions but the job has %d ranks",
                o->roster_path, fs_roster_count(*roster), size);
    FS_TRY(fs_roster_hash(*roster, roster_hash));
    if (!o->identity_path || !o->identity_path[0])
        FS_FAIL(FS_ERR_ARG, "a roster is given but no identity key (--identity 'keys/site-%%d.key')");
    FS_TRY(fs_identity_load(o->identity_path, id));
    FS_TRY(fs_identity_public(*id, mine));
    if (!fs_secure_memeq(mine, fs_roster_public_key(*roster, rank), sizeof mine))
        FS_FAIL(FS_ERR_AUTH, "identity key %s does not match the roster entry of '%s' (rank %d) "
                "in %s", o->identity_path, fs_roster_name(*roster, rank), rank, o->roster_path);
done:
    return rc;
}

/* The signed context of rank r: label || H(nonces) || roster hash || params || r || A. */
static size_t keyx_message(uint8_t *msg, const uint8_t nonce_hash[32], const uint8_t rhash[32],
                           const wire_params *wp, int r, const uint8_t *pub, size_t publen)
{
    size_t off = 0;
    memcpy(msg + off, KEYX_LABEL, sizeof KEYX_LABEL); off += sizeof KEYX_LABEL;
    memcpy(msg + off, nonce_hash, 32); off += 32;
    memcpy(msg + off, rhash, 32); off += 32;
    memcpy(msg + off, wp, sizeof *wp); off += sizeof *wp;
    uint8_t rb[4] = { (uint8_t)(r >> 24), (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r };
    memcpy(msg + off, rb, 4); off += 4;
    memcpy(msg + off, pub, publen); off += publen;
    return off;
}

static fs_err derive_seed(const uint8_t *z, size_t zlen, const uint8_t sid[32], const char *label,
                          int i, int j, uint8_t out[32])
{
    uint8_t info[32];
    int lo = i < j ? i : j, hi = i < j ? j : i;
    size_t n = strlen(label);
    memcpy(info, label, n);
    for (int b = 0; b < 4; b++) info[n + b] = (uint8_t)((unsigned)lo >> (24 - 8 * b));
    for (int b = 0; b < 4; b++) info[n + 4 + b] = (uint8_t)((unsigned)hi >> (24 - 8 * b));
    return fs_hkdf_sha256(z, zlen, sid, 32, info, n + 8, out, 32);
}

void fs_secagg_opts_default(fs_secagg_opts *o, int nranks)
{
    memset(o, 0, sizeof *o);
    o->vec.ring_bits = 64;
    o->vec.clip = 1.0;
    o->vec.rounding = FS_FIXED_ROUND_NEAREST;
    o->vec.frac_bits = fs_fixed_suggest(64, nranks, 1.0);
    o->mask_degree = 0;
    o->roster_path = "";
    o->identity_path = "";
    o->allow_unauthenticated = 0;
    o->rounding_seed = 1;
}

fs_err fs_secagg_create(MPI_Comm comm, const fs_secagg_opts *o, fs_secagg **out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_secagg *sa = NULL;
    fs_roster *roster = NULL;
    fs_identity *id = NULL;
    fs_dh_keypair *kp = NULL;
    fs_sha256_ctx *h = NULL;
    uint8_t *nonces = NULL, *blobs = NULL, *msg = NULL;
    uint8_t *seeds_vec = NULL, *seeds_met = NULL;  /* secret: (N x 32), wiped at done: */
    char *is_nbr = NULL;                            /* (N) 1 for mask-graph neighbours */
    uint8_t z[FS_DH_MAXBYTES];                      /* secret: wiped at done: */
    uint8_t roster_hash[32] = { 0 }, nonce_hash[32];
    size_t seeds_bytes = 0;
    *out = NULL;
    const double t0 = fs_now(), c0 = cpu_now();

    FS_TRY(fs_zalloc(&sa, 1, sizeof *sa, "secure-sum context"));
    sa->comm = MPI_COMM_NULL;
    int mrc = MPI_Comm_dup(comm, &sa->comm);
    if (mrc != MPI_SUCCESS) { sa->comm = MPI_COMM_NULL; FS_FAIL(FS_ERR_MPI, "MPI_Comm_dup failed"); }
    MPI_Comm_set_errhandler(sa->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(sa->comm, &sa->rank);
    MPI_Comm_size(sa->comm, &sa->size);
    const int N = sa->size, me = sa->rank;
    sa->vec = o->vec;
    sa->met.ring_bits = 64;
    sa->met.clip = METRIC_CLIP;
    sa->met.rounding = FS_FIXED_ROUND_NEAREST;
    sa->met.frac_bits = fs_fixed_suggest(64, N, METRIC_CLIP);
    const int have_roster = o->roster_path && o->roster_path[0];
    sa->authenticated = have_roster;

    /* 0. local checks: codec headroom, roster and identity */
    local = fs_fixed_check_headroom(&o->vec, N, 1.0);
    if (local == FS_OK && sa->met.frac_bits < 0)
        local = fs_error_set(FS_ERR_ARG, "%d ranks exceed the statistics codec of the secure sum", N);
    if (local == FS_OK && !have_roster && !o->allow_unauthenticated)
        local = fs_error_set(FS_ERR_ARG, "secure aggregation needs a consortium roster "
                             "(--roster FILE with --identity KEY) to authenticate the key exchange; "
                             "to run without authentication pass --insecure-no-auth yes");
    if (local == FS_OK && have_roster)
        local = load_identity(o, me, N, &roster, &id, roster_hash);
    FS_TRY(fs_agree(sa->comm, local, NULL));

    wire_params wp = { o->vec.ring_bits, o->vec.frac_bits, (int32_t)o->vec.rounding,
                       o->mask_degree, have_roster, N, o->vec.clip };
    {
        /* collective: parameters and roster must equal rank 0's */
        struct { wire_params wp; uint8_t rh[32]; } mine, ref;
        memset(&mine, 0, sizeof mine);
        mine.wp = wp;
        memcpy(mine.rh, roster_hash, 32);
        ref = mine;
        mrc = MPI_Bcast(&ref, sizeof ref, MPI_BYTE, 0, sa->comm);
        if (mrc != MPI_SUCCESS) FS_FAIL(fs_from_mpi(mrc, "MPI_Bcast (secure-sum parameters)"), "%s", fs_errmsg());
        local = FS_OK;
        if (memcmp(&mine.wp, &ref.wp, sizeof mine.wp) != 0)
            local = fs_error_set(FS_ERR_ARG, "secure-sum parameters (ring, fractional bits, "
                                 "clip, rounding, mask degree, authentication) differ from rank 0's");
        else if (memcmp(mine.rh, ref.rh, 32) != 0)
            local = fs_error_set(FS_ERR_ARG, "roster %s differs from rank 0's roster",
                                 o->roster_path);
        FS_TRY(fs_agree(sa->comm, local, NULL));
    }
    if (!have_roster && me == 0)
        fs_log(FS_LOG_WARN, "secure aggregation WITHOUT authentication (--insecure-no-auth): "
               "a man in the middle on the MPI transport could impersonate institutions");

    fs_dh_group_id group = have_roster ? fs_roster_dh_group(roster) : FS_DH_FFDHE2048;
    const size_t publen = fs_dh_group_bytes(group);
    const size_t blob = publen + FS_ED25519_SIGBYTES;

    /* 1. fresh nonces, allgathered */
    local = fs_zalloc(&nonces, (size_t)N, NONCE_BYTES, "key-exchange nonces");
    if (local == FS_OK) local = fs_zalloc(&blobs, (size_t)N, blob, "key-exchange messages");
    if (local == FS_OK) local = fs_alloc(&msg, 256 + publen, 1, "key-exchange message");
    if (local == FS_OK) local = fs_random_bytes(nonces + (size_t)me * NONCE_BYTES, NONCE_BYTES);
    FS_TRY(fs_agree(sa->comm, local, NULL));
    mrc = MPI_Allgather(MPI_IN_PLACE, 0, MPI_BYTE, nonces, NONCE_BYTES, MPI_BYTE, sa->comm);
    if (mrc != MPI_SUCCESS) FS_FAIL(fs_from_mpi(mrc, "MPI_Allgather (nonces)"), "%s", fs_errmsg());
    FS_TRY(fs_sha256(nonces, (size_t)N * NONCE_BYTES, nonce_hash));

    /* 2. ephemeral DH key pair, public value signed, allgathered */
    uint8_t *myblob = blobs + (size_t)me * blob;
    local = fs_dh_keypair_generate(group, &kp);
    if (local == FS_OK) local = fs_dh_public_bytes(kp, myblob, publen);
    if (local == FS_OK && have_roster) {
        size_t mlen = keyx_message(msg, nonce_hash, roster_hash, &wp, me, myblob, publen);
        local = fs_identity_sign(id, msg, mlen, myblob + publen);
    }
    if (local != FS_OK) fs_error_prefix(local, "key setup: ");
    FS_TRY(fs_agree(sa->comm, local, NULL));
    if (blob > (size_t)INT32_MAX) FS_FAIL(FS_ERR_ARG, "key-exchange message too large");
    mrc = MPI_Allgather(MPI_IN_PLACE, 0, MPI_BYTE, blobs, (int)blob, MPI_BYTE, sa->comm);
    if (mrc != MPI_SUCCESS) FS_FAIL(fs_from_mpi(mrc, "MPI_Allgather (DH public values)"), "%s", fs_errmsg());

    /* 3. verify every peer: signature under its roster key, group membership */
    local = FS_OK;
    for (int j = 0; j < N && local == FS_OK; j++) {
        if (j == me) continue;
        const uint8_t *bj = blobs + (size_t)j * blob;
        if (have_roster) {
            size_t mlen = keyx_message(msg, nonce_hash, roster_hash, &wp, j, bj, publen);
            local = fs_identity_verify(fs_roster_public_key(roster, j), msg, mlen, bj + publen);
        }
        if (local == FS_OK) local = fs_dh_validate_public(group, bj, publen);
        if (local == FS_ERR_AUTH)
            fs_error_set(FS_ERR_AUTH, "authentication of rank %d%s%s%s failed during key "
                         "setup", j, have_roster ? " ('" : "",
                         have_roster ? fs_roster_name(roster, j) : "", have_roster ? "')" : "");
        else if (local != FS_OK)
            fs_error_prefix(local, "verifying rank %d: ", j);
    }
    FS_TRY(fs_agree(sa->comm, local, NULL));

    /* 4. session id over the whole transcript */
    local = fs_sha256_init(&h);
    if (local == FS_OK) local = fs_sha256_update_framed(h, SID_LABEL, sizeof SID_LABEL);
    if (local == FS_OK) local = fs_sha256_update_framed(h, nonces, (size_t)N * NONCE_BYTES);
    if (local == FS_OK) local = fs_sha256_update_framed(h, blobs, (size_t)N * blob);
    if (local == FS_OK) local = fs_sha256_update_framed(h, roster_hash, 32);
    if (local == FS_OK) local = fs_sha256_update_framed(h, &wp, sizeof wp);
    if (local == FS_OK) local = fs_sha256_final(h, sa->sid);

    /* 5. mask graph and pairwise seeds */
    if (local == FS_OK) local = fs_maskgraph_create(N, o->mask_degree, sa->sid, &sa->graph);
    const int *nbrs = NULL;
    int nn = 0;
    if (local == FS_OK) local = fs_maskgraph_neighbours(sa->graph, me, &nbrs, &nn);
    seeds_bytes = (size_t)N * FS_PRG_SEEDBYTES;
    if (local == FS_OK) local = fs_zalloc(&seeds_vec, (size_t)N, FS_PRG_SEEDBYTES, "mask seeds");
    if (local == FS_OK) local = fs_zalloc(&seeds_met, (size_t)N, FS_PRG_SEEDBYTES, "mask seeds");
    if (local == FS_OK) local = fs_zalloc(&sa->pair_prk, (size_t)N, 32, "pair keys");
    if (local == FS_OK) local = fs_zalloc(&is_nbr, (size_t)N, 1, "mask graph");
    for (int t = 0; t < nn && local == FS_OK; t++) is_nbr[nbrs[t]] = 1;
    /* Every pair, not only mask-graph neighbours, gets a pair key for the
     * authenticated point-to-point channels (fs_secagg_pair_key): one DH per
     * peer, N - 1 in all, as the full mesh needs anyway. */
    for (int j = 0; j < N && local == FS_OK; j++) {
        if (j == me) continue;
        const uint8_t *bj = blobs + (size_t)j * blob;
        local = fs_dh_shared_secret(kp, bj, publen, z, publen);
        if (local == FS_OK)
            local = derive_seed(z, publen, sa->sid, "fedsilo pair", me, j, sa->pair_prk + (size_t)j * 32);
        if (local == FS_OK && is_nbr[j])
            local = derive_seed(z, publen, sa->sid, "fedsilo mask vec", me, j,
                                seeds_vec + (size_t)j * FS_PRG_SEEDBYTES);
        if (local == FS_OK && is_nbr[j])
            local = derive_seed(z, publen, sa->sid, "fedsilo mask met", me, j,
                                seeds_met + (size_t)j * FS_PRG_SEEDBYTES);
        fs_secure_zero(z, sizeof z);
    }
    fs_dh_keypair_destroy(&kp);  /* a_i is no longer needed: wipe it now */
    sa->degree = nn;
    if (local == FS_OK) {
        fs_masker_opts mo = { me, sa->graph, seeds_vec, o->vec, o->rounding_seed };
        local = fs_masker_create(&mo, &sa->mvec);
    }
    if (local == FS_OK) {
        fs_masker_opts mo = { me, sa->graph, seeds_met, sa->met, o->rounding_seed };
        local = fs_masker_create(&mo, &sa->mmet);
    }
    if (local != FS_OK) fs_error_prefix(local, "key setup: ");
    FS_TRY(fs_agree(sa->comm, local, NULL));
    sa->setup_seconds = fs_now() - t0;
    sa->setup_cpu = cpu_now() - c0;
    *out = sa;
    sa = NULL;
done:
    fs_secure_zero(z, sizeof z);
    free(is_nbr);
    if (seeds_vec) { fs_secure_zero(seeds_vec, seeds_bytes); free(seeds_vec); }
    if (seeds_met) { fs_secure_zero(seeds_met, seeds_bytes); free(seeds_met); }
    fs_dh_keypair_destroy(&kp);
    fs_sha256_destroy(&h);
    fs_identity_destroy(&id);
    fs_roster_destroy(&roster);
    free(nonces);
    free(blobs);
    free(msg);
    fs_secagg_destroy(&sa);
    return rc;
}

void fs_secagg_destroy(fs_secagg **p)
{
    if (!p || !*p) return;
    fs_secagg *sa = *p;
    fs_masker_destroy(&sa->mvec);
    fs_masker_destroy(&sa->mmet);
    fs_maskgraph_destroy(&sa->graph);
    if (sa->words) fs_secure_zero(sa->words, sa->cap_bytes);
    free(sa->words);
    if (sa->pair_prk) fs_secure_zero(sa->pair_prk, (size_t)sa->size * 32);
    free(sa->pair_prk);
    if (sa->comm != MPI_COMM_NULL) MPI_Comm_free(&sa->comm);
    fs_secure_zero(sa, sizeof *sa);
    free(sa);
    *p = NULL;
}

/* Collective: allreduce the masked words and check the canary. */
static fs_err reduce_words(fs_secagg *sa, int ring_bits, size_t words)
{
    MPI_Datatype t = ring_bits == 32 ? MPI_UINT32_T : MPI_UINT64_T;
    return fs_mpi_allreduce_chunked(sa->words, words, (size_t)ring_bits / 8, t, sa->comm);
}

static fs_err canary_error(uint64_t round, uint32_t vid)
{
    return fs_error_set(FS_ERR_AUTH, "secure sum failed authentication in round %llu (vector %u): "
                        "the masks did not cancel, so some rank used a wrong key or its "
                        "contribution was altered", (unsigned long long)round, vid);
}

/*
 * Collective: agree on the canary verdict.  Every rank decodes the result
 * of the same allreduce, but an active attacker on the transport could
 * deliver different sums to different ranks; agreeing makes every rank stop
 * together instead of leaving some waiting in the next collective.
 */
static fs_err agree_canary(fs_secagg *sa, fs_err decode_rc, int ok, uint64_t round, uint32_t vid)
{
    fs_err local = decode_rc;
    if (local == FS_ERR_AUTH || (local == FS_OK && !ok)) local = canary_error(round, vid);
    return fs_agree(sa->comm, local, NULL);
}

/*
 * Pipelined secure sum of a float vector.  As soon as PIPE_CHUNK_BYTES of
 * leading words are final (encoded and masked), an MPI_Iallreduce of that
 * chunk starts; between masking blocks MPI_Test drives the outstanding
 * reductions (Open MPI has no progress thread) and decodes each chunk that
 * has arrived, in order, while it is still in cache.  So the AES keystream
 * of chunk k+1, the reduction of chunk k and the decoding of chunk k-1
 * overlap, instead of three full passes over memory.  Every rank posts the
 * same chunk sequence (it depends only on n and the ring).  The canary is
 * the last word of the last chunk; it is checked after everything arrived,
 * and on failure the decoded output is wiped (nothing wrong is returned).
 * Measured with `fedsilo bench secsum` (docs/testing.md, "Benchmarks"): the
 * pipelining took N = 2, 10^7 floats from 1.6-1.8x the plain MPI_Allreduce
 * to 1.22x (1.06-1.13x with the VAES keystream kernel of fs_aesctr.c).
 */
#define PIPE_CHUNK_BYTES ((size_t)256 << 10)
#define PIPE_TEST_EVERY 4             /* masking blocks between MPI_Test calls */

typedef struct {
    fs_secagg *sa;
    MPI_Datatype type;
    size_t wb, chunk_words, n, words; /* n values + 1 canary word            */
    size_t posted, nreq, ndone, calls;
    MPI_Request *req;                 /* (nreq) chunk k = words [k c, (k+1) c) */
    float *out;                       /* decoded values land here            */
    fs_err decode_rc;                 /* first decode error (none expected)  */
    int mpi_rc;                       /* first MPI error, MPI_SUCCESS if none */
    const char *mpi_what;
} pipe_state;

static void pipe_fail(pipe_state *ps, int mrc, const char *what)
{
    if (ps->mpi_rc == MPI_SUCCESS) { ps->mpi_rc = mrc; ps->mpi_what = what; }
}

static void pipe_post(pipe_state *ps, size_t upto)
{
    while (ps->posted < upto && ps->mpi_rc == MPI_SUCCESS) {
        size_t m = upto - ps->posted < ps->chunk_words ? upto - ps->posted : ps->chunk_words;
        /* collective (nonblocking): same chunk sequence on every rank */
        int mrc = MPI_Iallreduce(MPI_IN_PLACE, (unsigned char *)ps->sa->words + ps->posted * ps->wb,
                                 (int)m, ps->type, MPI_SUM, ps->sa->comm, &ps->req[ps->nreq]);
        if (mrc != MPI_SUCCESS) { pipe_fail(ps, mrc, "MPI_Iallreduce"); return; }
        ps->nreq++;
        ps->posted += m;
    }
}

/* Chunk k has arrived: decode its values (not the canary word). */
static void pipe_decode(pipe_state *ps, size_t k)
{
    size_t off = k * ps->chunk_words, len = ps->words - off < ps->chunk_words ? ps->words - off
                                                                                : ps->chunk_words;
    if (off + len > ps->n) len = ps->n - off;       // the canary is not a value
    if (len && ps->decode_rc == FS_OK)
        ps->decode_rc = fs_fixed_decode_f32(&ps->sa->vec,
                                            (unsigned char *)ps->sa->words + off * ps->wb, len,
                                            ps->out + off);
}

/* Complete (wait != 0) or poll the reductions in order, decoding each. */
static void pipe_drain(pipe_state *ps, int wait)
{
    while (ps->ndone < ps->nreq && ps->mpi_rc == MPI_SUCCESS) {
        int flag = 1, mrc;
        if (wait) mrc = MPI_Wait(&ps->req[ps->ndone], MPI_STATUS_IGNORE);
        else mrc = MPI_Test(&ps->req[ps->ndone], &flag, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) { pipe_fail(ps, mrc, wait ? "MPI_Wait" : "MPI_Test"); return; }
        if (!flag) return;
        pipe_decode(ps, ps->ndone++);
    }
}

/* fs_masker_progress_fn: post every full chunk that is final, drive MPI. */
static void pipe_on_block(void *user, size_t words_done)
{
    pipe_state *ps = user;
    if (words_done - ps->posted >= ps->chunk_words)
        pipe_post(ps, ps->posted + (words_done - ps->posted) / ps->chunk_words * ps->chunk_words);
    if (ps->nreq > ps->ndone && ++ps->calls % PIPE_TEST_EVERY == 0) pipe_drain(ps, 0);
}

fs_err fs_secagg_sum_f32(fs_secagg *sa, uint64_t round, uint32_t vid, const float *in,
                         float *out, size_t n, fs_fixed_stats *stats)
{
    fs_err rc = FS_OK;
    const size_t wb = fs_fixed_word_bytes(sa->vec.ring_bits), words = fs_masker_words(n);
    fs_fixed_stats st = { 0, 0 };
    pipe_state ps = { sa, sa->vec.ring_bits == 32 ? MPI_UINT32_T : MPI_UINT64_T, wb,
                      PIPE_CHUNK_BYTES / wb, n, words, 0, 0, 0, 0, NULL, out, FS_OK,
                      MPI_SUCCESS, NULL };
    /* Allocation is the one rank-local step that can fail before anything
     * is sent; agree on it so nobody posts a reduction alone. */
    size_t nchunks = (words + ps.chunk_words - 1) / ps.chunk_words;
    fs_err local = ensure_words(sa, words * wb);
    if (local == FS_OK) local = fs_alloc(&ps.req, nchunks, sizeof *ps.req, "reduction requests");
    FS_TRY(fs_agree(sa->comm, local, NULL));
    local = fs_masker_encode_mask_stream(sa->mvec, round, vid, in, n, sa->words, &st,
                                         pipe_on_block, &ps);
    if (local != FS_OK) {
        /* Past the last posted chunk the buffer may hold unmasked encodings:
         * send zeros instead, so the chunk sequence completes on every rank;
         * the error is agreed below and the sum discarded.  (What arrives
         * is at most the sum of the other ranks' inputs, which this rank
         * could compute from a correct sum anyway: docs/threat-model.md.) */
        fs_secure_zero((unsigned char *)sa->words + ps.posted * wb, (words - ps.posted) * wb);
    }
    pipe_post(&ps, words);
    pipe_drain(&ps, 1);
    if (ps.mpi_rc != MPI_SUCCESS) FS_TRY(fs_from_mpi(ps.mpi_rc, ps.mpi_what));
    FS_TRY(fs_agree(sa->comm, local, NULL));
    /* Every rank holds the same words: the canary verdict is identical. */
    int ok = sa->vec.ring_bits == 32 ? ((const uint32_t *)sa->words)[n] == 0
                                     : ((const uint64_t *)sa->words)[n] == 0;
    if (!ok || ps.decode_rc != FS_OK) memset(out, 0, n * sizeof *out);   // never a wrong sum
    FS_TRY(agree_canary(sa, ps.decode_rc, ok, round, vid));
    if (stats) { stats->nclipped += st.nclipped; stats->nnan += st.nnan; }
done:
    free(ps.req);
    return rc;
}

fs_err fs_secagg_sum_f64(fs_secagg *sa, uint64_t round, uint32_t vid, const double *in,
                         double *out, size_t n, fs_fixed_stats *stats)
{
    fs_err rc = FS_OK;
    const size_t words = fs_masker_words(n);
    fs_fixed_stats st = { 0, 0 };
    int ok = 0;
    fs_err local = ensure_words(sa, words * 8);
    if (local == FS_OK) local = fs_masker_encode_mask_f64(sa->mmet, round, vid, in, n, sa->words, &st);
    /* A statistic must never be silently clipped or zeroed: out of range
     * or NaN is an error on every rank (the masked words are not sent). */
    if (local == FS_OK && (st.nclipped || st.nnan))
        local = fs_error_set(FS_ERR_NUMERIC, "a statistic in round %llu (vector %u) is %s "
                             "and cannot enter the secure sum", (unsigned long long)round,
                             vid, st.nnan ? "NaN" : "beyond +-2^31");
    FS_TRY(fs_agree(sa->comm, local, NULL));
    FS_TRY(reduce_words(sa, 64, words));
    fs_err drc = fs_masker_decode_f64(&sa->met, sa->words, n, out, &ok);
    FS_TRY(agree_canary(sa, drc, ok, round, vid));
    if (stats) { stats->nclipped += st.nclipped; stats->nnan += st.nnan; }
done:
    return rc;
}

fs_err fs_secagg_sum_words(fs_secagg *sa, uint64_t round, uint32_t vid, void *words, size_t n,
                           fs_err local)
{
    fs_err rc = FS_OK;
    const int b = sa->vec.ring_bits;
    if (local == FS_OK) local = fs_masker_mask(sa->mvec, round, vid, words, n);
    FS_TRY(fs_agree(sa->comm, local, NULL));
    FS_TRY(fs_mpi_allreduce_chunked(words, n + 1, (size_t)b / 8,
                                    b == 32 ? MPI_UINT32_T : MPI_UINT64_T, sa->comm));
    const int ok = b == 32 ? ((uint32_t *)words)[n] == 0 : ((uint64_t *)words)[n] == 0;
    FS_TRY(agree_canary(sa, FS_OK, ok, round, vid));
done:
    return rc;
}

fs_err fs_secagg_pair_key(const fs_secagg *sa, int peer, const char *label, uint8_t out[32])
{
    uint8_t info[256 + 8];
    size_t n = label ? strlen(label) : 0;
    if (!sa || !out || !label || n == 0 || n > 256 || peer < 0 || peer >= sa->size ||
        peer == sa->rank)
        return fs_error_set(FS_ERR_ARG, "fs_secagg_pair_key: bad peer %d or label", peer);
    int lo = sa->rank < peer ? sa->rank : peer, hi = sa->rank < peer ? peer : sa->rank;
    memcpy(info, label, n);
    for (int b = 0; b < 4; b++) info[n + b] = (uint8_t)((unsigned)lo >> (24 - 8 * b));
    for (int b = 0; b < 4; b++) info[n + 4 + b] = (uint8_t)((unsigned)hi >> (24 - 8 * b));
    return fs_hkdf_sha256(sa->pair_prk + (size_t)peer * 32, 32, sa->sid, 32, info, n + 8, out, 32);
}

double fs_secagg_setup_seconds(const fs_secagg *sa) { return sa->setup_seconds; }
double fs_secagg_setup_cpu_seconds(const fs_secagg *sa) { return sa->setup_cpu; }
int fs_secagg_authenticated(const fs_secagg *sa) { return sa->authenticated; }
int fs_secagg_degree(const fs_secagg *sa) { return sa->degree; }
const uint8_t *fs_secagg_session_id(const fs_secagg *sa) { return sa->sid; }
const fs_fixed_params *fs_secagg_vec_params(const fs_secagg *sa) { return &sa->vec; }

/*
 * fs_secagg_mpi.c - MPI binding of the secure sum (secagg layer, the thin
 * part that moves bytes).  Implements docs/protocol.md:
 *
 * Key setup (once per job; Bonawitz et al. 2017, rounds 0-1, with
 * authenticated ephemeral DH instead of a server-relayed exchange):
 *   0. parameters and roster hash compared with rank 0's; own identity key
 *      must equal the roster entry for this rank.  A job of a subset of
 *      the roster (member map: rank r is entry members[r]) uses
 *      H(label || roster hash || members) as its roster hash, so the
 *      signatures and the session id bind who is in the job.
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
#include "secsum/fs_fixed_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_secsum.h"
#include "fedsilo/fs_secagg.h"

#define NONCE_BYTES 32
static const char KEYX_LABEL[] = "fedsilo-keyx-v1";
static const char SID_LABEL[] = "fedsilo-session-v1";
static const char MEMBERS_LABEL[] = "fedsilo-members-v1";

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
    int single_node;          /* every rank on one node (agreed at create)     */
    uint8_t sid[32];          /* session id (public)                           */
    uint8_t *pair_prk;        /* (size x 32) secret: HKDF(Z_ij, sid, "fedsilo pair")
                                 for every peer j (zeros at j = rank); wiped  */
    void *words;              /* (cap) ring words of the current vector         */
    size_t cap_bytes;
    MPI_Request *req;         /* (cap_req bytes) requests of the pipeline      */
    size_t cap_req;
    double setup_seconds;     /* wall time of the key setup                   */
    double setup_cpu;         /* CPU time of this process during the setup    */
    fs_secagg_pipeline pipe;  /* fs_secagg_set_pipeline; zeros = automatic    */
    int profile_on;           /* fs_secagg_profile_enable                     */
    fs_secagg_profile last_profile;
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

/* Grow *buf (capacity *cap bytes; old contents wiped) to at least bytes. */
static fs_err ensure_buffer(void **buf, size_t *cap, size_t bytes, const char *what)
{
    if (bytes <= *cap) return FS_OK;
    if (*buf) fs_secure_zero(*buf, *cap);
    free(*buf);
    *buf = NULL;
    *cap = 0;
    fs_err rc = fs_alloc(buf, bytes, 1, what);
    if (rc == FS_OK) *cap = bytes;
    return rc;
}

static fs_err ensure_words(fs_secagg *sa, size_t bytes)
{
    return ensure_buffer(&sa->words, &sa->cap_bytes, bytes, "secure-sum buffer");
}

/* Free the reusable buffers (after an agreed allocation failure, so that
 * every rank's capacities are equal again, and at destroy). */
static void free_buffers(fs_secagg *sa)
{
    if (sa->words) fs_secure_zero(sa->words, sa->cap_bytes);
    free(sa->words);
    free(sa->req);
    sa->words = NULL;
    sa->req = NULL;
    sa->cap_bytes = sa->cap_req = 0;
}

/* The roster entry of rank r (the member map, or r itself). */
static int member_entry(const fs_secagg_opts *o, int r) { return o->members ? o->members[r] : r; }

/*
 * Rank-local: load the roster and our identity, check they agree.  With a
 * member map the job is that subset of the roster (rank r is roster entry
 * members[r]) and the roster hash becomes SHA-256(label || roster hash ||
 * member indices), so every signature and the session id bind the subset.
 */
static fs_err load_identity(const fs_secagg_opts *o, int rank, int size, fs_roster **roster,
                            fs_identity **id, uint8_t roster_hash[32])
{
    fs_err rc = FS_OK;
    uint8_t mine[FS_ED25519_PUBBYTES];
    FS_TRY(fs_roster_load(o->roster_path, roster));
    const int count = fs_roster_count(*roster);
    if (!o->members && count != size)
        FS_FAIL(FS_ERR_ARG, "roster %s lists %d institutions but the job has %d ranks",
                o->roster_path, count, size);
    for (int r = 0; o->members && r < size; r++)
        if (o->members[r] < 0 || o->members[r] >= count || (r && o->members[r] <= o->members[r - 1]))
            FS_FAIL(FS_ERR_ARG, "member map of rank %d is not an increasing list of indices of "
                    "roster %s", r, o->roster_path);
    FS_TRY(fs_roster_hash(*roster, roster_hash));
    if (o->members) {
        fs_sha256_ctx *h = NULL;
        rc = fs_sha256_init(&h);
        if (rc == FS_OK) rc = fs_sha256_update_framed(h, MEMBERS_LABEL, sizeof MEMBERS_LABEL);
        if (rc == FS_OK) rc = fs_sha256_update_framed(h, roster_hash, 32);
        for (int r = 0; r < size && rc == FS_OK; r++) {
            const uint32_t v = (uint32_t)o->members[r];
            const uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                                   (uint8_t)v };
            rc = fs_sha256_update_framed(h, b, 4);
        }
        if (rc == FS_OK) rc = fs_sha256_final(h, roster_hash);
        fs_sha256_destroy(&h);
        if (rc != FS_OK) goto done;
    }
    if (!o->identity_path || !o->identity_path[0])
        FS_FAIL(FS_ERR_ARG, "a roster is given but no identity key (--identity 'keys/site-%%d.key')");
    FS_TRY(fs_identity_load(o->identity_path, id));
    FS_TRY(fs_identity_public(*id, mine));
    const int entry = member_entry(o, rank);
    if (!fs_secure_memeq(mine, fs_roster_public_key(*roster, entry), sizeof mine))
        FS_FAIL(FS_ERR_AUTH, "identity key %s does not match the roster entry of '%s' (rank %d) "
                "in %s", o->identity_path, fs_roster_name(*roster, entry), rank, o->roster_path);
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

/*
 * Collective: sa->single_node = 1 if all ranks share one node.  The
 * shared-memory split gives every rank the communicator of the ranks on its
 * node, so "mine has all N" holds on every rank or on none; the minimum
 * over ranks makes the flag identical everywhere regardless, so the
 * schedules that depend on it (fs_secagg_pipeline_plan) match.
 */
static fs_err detect_single_node(fs_secagg *sa)
{
    fs_err rc = FS_OK;
    MPI_Comm node = MPI_COMM_NULL;
    int local = 0, all = 0;
    int mrc = MPI_Comm_split_type(sa->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    if (mrc == MPI_SUCCESS) mrc = MPI_Comm_size(node, &local);
    if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
    int one = mrc == MPI_SUCCESS && local == sa->size;
    int mrc2 = MPI_Allreduce(&one, &all, 1, MPI_INT, MPI_MIN, sa->comm);
    if (mrc2 != MPI_SUCCESS)
        FS_FAIL(fs_from_mpi(mrc2, "MPI_Allreduce (node layout)"), "%s", fs_errmsg());
    sa->single_node = all;
done:
    return rc;
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
    FS_TRY(detect_single_node(sa));
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
               "a man in the middle on the MPI transport could impersonate institutions, "
               "unmask their inputs and forge the end-of-round model check (its MAC keys come "
               "from this unauthenticated key exchange)");

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
            local = fs_identity_verify(fs_roster_public_key(roster, member_entry(o, j)), msg, mlen,
                                       bj + publen);
        }
        if (local == FS_OK) local = fs_dh_validate_public(group, bj, publen);
        if (local == FS_ERR_AUTH)
            fs_error_set(FS_ERR_AUTH, "authentication of rank %d%s%s%s failed during key "
                         "setup", j, have_roster ? " ('" : "",
                         have_roster ? fs_roster_name(roster, member_entry(o, j)) : "",
                         have_roster ? "')" : "");
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
    free_buffers(sa);
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
 * The outcome of a secure sum from its last two summed words: `failed`,
 * the sum of the flag words (one per rank whose local step failed), and
 * `canary`.  Every rank holds the same sum, so in an honest run every rank
 * takes the same branch without another collective: success, or the
 * agreement that names the failing rank (its local error), or the canary
 * agreement (FS_ERR_AUTH).  If an attacker on the transport delivers
 * different sums to different ranks, only some take a failure branch; the
 * others end by MPI error or the watchdog (docs/threat-model.md).
 */
static fs_err verdict(fs_secagg *sa, fs_err local, uint64_t failed, uint64_t canary,
                      uint64_t round, uint32_t vid)
{
    if (failed == 0 && canary == 0) return FS_OK;
    if (failed != 0) {
        fs_err rc = fs_agree(sa->comm, local, NULL);   // collective: names the failing rank
        if (rc != FS_OK) return rc;
    }
    return agree_canary(sa, FS_OK, 0, round, vid);
}

/*
 * Pipelined secure sum of a float vector.  The words are reduced in chunks
 * with MPI_Iallreduce (in place), at most `depth` chunks in flight: as soon
 * as a chunk's words are final (encoded and masked; the masker reports
 * progress block by block) and a slot is free, its reduction starts;
 * between masking blocks MPI_Test drives the outstanding reductions (Open
 * MPI has no progress thread) and decodes each chunk that has arrived, in
 * order, while it is still in cache.  So the keystream of chunk k+depth,
 * the reduction of chunks k..k+depth-1 and the decoding of chunk k-1
 * overlap instead of being three passes over memory.  Bounding the chunks
 * in flight keeps the reduction's working set in cache: posting every
 * chunk at once, or one blocking MPI_Allreduce of 40 MB, was 2-3x slower
 * than two 256 KiB chunks in flight on the 2-core test machine (docs/
 * testing.md, "Benchmarks").  A vector of at most PIPE_BLOCKING_MAX bytes
 * is masked whole and reduced with one blocking MPI_Allreduce, the fastest
 * plain way for such sizes there.  Beyond PIPE_SMALL_N ranks each
 * reduction has more rounds (about log2 N steps, each waiting for a
 * partner), so fewer, larger chunks with more in flight pay: 1 MiB chunks,
 * 4 in flight, blocking up to 4 MiB (measured at N = 16 and 64).  Ranks
 * on several nodes use blocking reductions instead (PIPE_NET_* below).
 * The schedule is a function of the word count, ring, N, the agreed node
 * layout and the session's pipeline setting only, so every rank posts the
 * same reductions.  The canary and the flag word are the last two
 * words; they are checked after everything arrived (verdict above), and on
 * failure the decoded output is wiped (nothing wrong is returned).  The
 * masked words live in a ring of depth + 1 chunk slots
 * (fs_masker_encode_mask_ring), never in a buffer of the whole vector.
 */
#define PIPE_SMALL_N 8                          /* up to 8 ranks:           */
#define PIPE_CHUNK_BYTES ((size_t)256 << 10)     /*   chunks of 256 KiB,     */
#define PIPE_DEPTH 2                             /*   2 in flight,           */
#define PIPE_BLOCKING_MAX ((size_t)1 << 20)      /*   blocking up to 1 MiB;  */
#define PIPE_CHUNK_BYTES_LARGE ((size_t)1 << 20) /* beyond: 1 MiB chunks,    */
#define PIPE_DEPTH_LARGE 4                       /*   4 in flight,           */
#define PIPE_BLOCKING_MAX_LARGE ((size_t)4 << 20) /*  blocking up to 4 MiB   */
 /* Ranks on more than one node (TCP between hosts): one blocking
 * MPI_Allreduce up to PIPE_NET_BLOCKING_MAX bytes of words, else one
 * blocking MPI_Allreduce per chunk of PIPE_NET_CHUNK_BYTES.  Over TCP
 * libnbc's chunked MPI_Iallreduce pipeline (256 KiB, 2 in flight) took
 * 7-10x the time of one blocking MPI_Allreduce of the words at d = 10^7
 * (N = 4 and 6 on 3 namespace hosts, with and without 5 ms delay;
 * docs/testing.md), while the masking is a few percent of the reduction;
 * 16 MiB blocking chunks were as fast as the whole vector, 4 MiB slower. */
#define PIPE_NET_BLOCKING_MAX ((size_t)64 << 20)
#define PIPE_NET_CHUNK_BYTES ((size_t)16 << 20)
#define PIPE_TEST_EVERY 4             /* masking blocks between MPI_Test calls */
#define PIPE_STREAM_MIN ((size_t)16 << 20)  /* decode larger outputs past the caches */

fs_err fs_secagg_set_pipeline(fs_secagg *sa, const fs_secagg_pipeline *p)
{
    fs_err rc = FS_OK;
    const fs_secagg_pipeline none = { 0, 0, 0, 0 }, *q = p ? p : &none;
    // collective: the schedule must be the same on every rank
    unsigned long long mine[4] = { q->chunk_bytes, (unsigned long long)(q->depth < 0 ? 0 : q->depth),
                                   (unsigned long long)(q->separate + 1),
                                   (unsigned long long)(q->blocking + 1) };
    unsigned long long lo[4], hi[4];
    int mrc = MPI_Allreduce(mine, lo, 4, MPI_UNSIGNED_LONG_LONG, MPI_MIN, sa->comm);
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Allreduce(mine, hi, 4, MPI_UNSIGNED_LONG_LONG, MPI_MAX, sa->comm);
    if (mrc != MPI_SUCCESS) FS_FAIL(fs_from_mpi(mrc, "MPI_Allreduce (pipeline setting)"), "%s", fs_errmsg());
    if (memcmp(lo, hi, sizeof lo) != 0)
        FS_FAIL(FS_ERR_ARG, "secure-sum pipeline setting differs between ranks");
    if (q->depth < 0 || (q->chunk_bytes != 0 && q->chunk_bytes < 64) ||
        q->chunk_bytes > ((size_t)1 << 30) || q->separate < -1 || q->separate > 1 ||
        q->blocking < -1 || q->blocking > 1)
        FS_FAIL(FS_ERR_ARG, "secure-sum pipeline: chunk of %zu bytes (0 = automatic, else "
                "64 B .. 1 GiB), depth %d (>= 0), separate %d or blocking %d (-1, 0, 1) out "
                "of range", q->chunk_bytes, q->depth, q->separate, q->blocking);
    sa->pipe = *q;
done:
    return rc;
}

void fs_secagg_pipeline_plan(const fs_secagg *sa, size_t n, fs_secagg_pipeline *out)
{
    // the reduced words: n values, the canary and the flag word
    const size_t wb = fs_fixed_word_bytes(sa->vec.ring_bits), bytes = (n + 2) * wb;
    const int small = sa->size <= PIPE_SMALL_N;
    // blocking reductions: asked for, or automatic with the ranks on several nodes
    const int automatic = sa->pipe.chunk_bytes == 0 && sa->pipe.depth == 0;
    const int blocking = sa->pipe.blocking ? sa->pipe.blocking > 0
                                           : automatic && !sa->single_node;
    size_t c = sa->pipe.chunk_bytes;
    if (c == 0 && blocking)
        c = bytes <= PIPE_NET_BLOCKING_MAX ? bytes : PIPE_NET_CHUNK_BYTES;
    else if (c == 0)
        c = bytes <= (small ? PIPE_BLOCKING_MAX : PIPE_BLOCKING_MAX_LARGE) ? bytes
            : small ? PIPE_CHUNK_BYTES : PIPE_CHUNK_BYTES_LARGE;
    // A pipelined chunk is whole masking blocks (the ring of
    // fs_masker_encode_mask_ring); one covering the vector is blocking.
    const size_t blk = fs_masker_block_words(sa->mvec) * wb;
    c = c < bytes ? (c + blk - 1) / blk * blk : bytes;
    if (c > bytes) c = bytes;
    out->chunk_bytes = c;
    out->depth = c >= bytes ? 0 : blocking ? 1 : sa->pipe.depth > 0 ? sa->pipe.depth
                                : small ? PIPE_DEPTH : PIPE_DEPTH_LARGE;
    out->blocking = out->depth == 0 || blocking;
    /* Automatic: separate receive slots for N = 2 and 5..8.  Open MPI
     * 4.1's libnbc reduces an in-place chunk over a binomial tree, copying
     * it first when ceil(log2 N) is odd (N = 2, 5..8, ...); with a send
     * buffer it runs the same tree without that copy for N < 4 and
     * reduce-scatter + allgather (bandwidth-optimal, no root bottleneck)
     * for N >= 4.  Measured on 2 cores: separate faster at N = 2 and 8, in
     * place faster at N = 4 and, with 1 MiB chunks, at N = 16
     * (docs/testing.md, "Benchmarks"). */
    const int sep = sa->pipe.separate ? sa->pipe.separate > 0
                                      : small && sa->size != 3 && sa->size != 4;
    out->separate = out->depth > 0 && (blocking ? sa->pipe.separate > 0 : sep);
}

typedef struct {
    fs_secagg *sa;
    MPI_Datatype type;
    size_t wb, chunk_words, n, words; /* n values, the canary, the flag word */
    size_t nchunks;                   /* chunk k = words [k c, (k+1) c)      */
    size_t depth;                     /* reductions in flight at most        */
    int blocking;                     /* each chunk one blocking MPI_Allreduce */
    size_t nslots;                    /* ring: chunk k in slot k mod nslots;
                                         0 = one contiguous buffer           */
    size_t masked;                    /* leading words that are final        */
    size_t posted, ndone, calls;
    size_t zero_from;                 /* chunks from here are sent as zeros  */
    unsigned char *buf;               /* sa->words: the ring or the vector   */
    unsigned char *sums;              /* (depth x chunk) receive ring after
                                         buf, or NULL: summed in place in buf */
    MPI_Request *req;                 /* (depth) ring of outstanding chunks  */
    float *out;                       /* decoded values land here            */
    uint64_t canary, failed;          /* summed words n and n + 1 (see below) */
    int stream_out;                   /* decode with non-temporal stores     */
    int mpi_rc;                       /* first MPI error, MPI_SUCCESS if none */
    const char *mpi_what;
    int profile;                      /* time reduce / decode below          */
    double t_reduce, t_decode;
} pipe_state;

enum { PIPE_POLL, PIPE_ONE, PIPE_ALL };

static void pipe_fail(pipe_state *ps, int mrc, const char *what)
{
    if (ps->mpi_rc == MPI_SUCCESS) { ps->mpi_rc = mrc; ps->mpi_what = what; }
}

static size_t chunk_len(const pipe_state *ps, size_t k)
{
    size_t off = k * ps->chunk_words;
    return ps->words - off < ps->chunk_words ? ps->words - off : ps->chunk_words;
}

/* Where chunk k's masked words live. */
static unsigned char *chunk_at(const pipe_state *ps, size_t k)
{
    const size_t slot = ps->nslots ? k % ps->nslots : k;
    return ps->buf + slot * ps->chunk_words * ps->wb;
}

/* Where chunk k's sum arrives: in place, or in its receive slot. */
static unsigned char *sum_at(const pipe_state *ps, size_t k)
{
    if (!ps->sums) return chunk_at(ps, k);
    return ps->sums + (k % ps->depth) * ps->chunk_words * ps->wb;
}

/* Word i of a buffer of ring words, as a 64-bit value. */
static uint64_t word_at(const unsigned char *w, size_t i, size_t wb)
{
    return wb == 4 ? ((const uint32_t *)(const void *)w)[i] : ((const uint64_t *)(const void *)w)[i];
}

/* Chunk k has arrived: decode its values; the canary (word n) and the
 * flag word (n + 1) are not values and are kept instead. */
static void pipe_decode(pipe_state *ps, size_t k)
{
    const double t0 = ps->profile ? fs_now() : 0;
    const unsigned char *sum = sum_at(ps, k);
    const size_t off = k * ps->chunk_words, len = chunk_len(ps, k);
    const size_t nv = off >= ps->n ? 0 : off + len > ps->n ? ps->n - off : len;
    for (size_t i = ps->n; i < ps->n + 2; i++)
        if (i >= off && i < off + len) {
            if (i == ps->n) ps->canary = word_at(sum, i - off, ps->wb);
            else ps->failed = word_at(sum, i - off, ps->wb);
        }
    if (nv) fs_fixed_decode_block(&ps->sa->vec, sum, nv, ps->out + off, ps->stream_out);
    if (ps->profile) ps->t_decode += fs_now() - t0;
}

/* Before posting chunk k: chunks of a rank that failed are sent as zeros,
 * and the last one carries the flag word, 1 on a rank that failed. */
static void pipe_seal(pipe_state *ps, size_t k, unsigned char *w)
{
    const size_t off = k * ps->chunk_words, flag = ps->n + 1;
    if (k >= ps->zero_from) fs_secure_zero(w, chunk_len(ps, k) * ps->wb);
    if (flag >= off && flag < off + chunk_len(ps, k)) {
        const uint64_t f = ps->zero_from < ps->nchunks;
        if (ps->wb == 4) ((uint32_t *)(void *)w)[flag - off] = (uint32_t)f;
        else ((uint64_t *)(void *)w)[flag - off] = f;
    }
}

/*
 * Post every chunk that is final while fewer than depth are in flight,
 * then complete the oldest reductions in order, decoding each: mode
 * PIPE_POLL tests without waiting, PIPE_ONE waits until at least one chunk
 * arrived (or none is in flight), PIPE_ALL until every chunk arrived;
 * repeats while completions let more chunks go.  Collective in effect:
 * every rank posts the same chunks in the same order.
 */
static void pipe_advance(pipe_state *ps, int mode)
{
    const double t0 = ps->profile ? fs_now() : 0;
    double dec0 = ps->t_decode;
    size_t done0 = ps->ndone;
    while (ps->mpi_rc == MPI_SUCCESS) {
        while (ps->posted < ps->nchunks && ps->posted - ps->ndone < ps->depth &&
               ps->posted * ps->chunk_words + chunk_len(ps, ps->posted) <= ps->masked) {
            const size_t k = ps->posted;
            unsigned char *w = chunk_at(ps, k);
            pipe_seal(ps, k, w);
            if (ps->blocking) {
                // collective: same chunk sequence on every rank; summed now
                int mrc = MPI_Allreduce(ps->sums ? w : MPI_IN_PLACE, sum_at(ps, k),
                                        (int)chunk_len(ps, k), ps->type, MPI_SUM, ps->sa->comm);
                if (mrc != MPI_SUCCESS) { pipe_fail(ps, mrc, "MPI_Allreduce"); break; }
                ps->posted++;
                pipe_decode(ps, ps->ndone++);
                continue;
            }
            // collective (nonblocking): same chunk sequence on every rank
            int mrc = MPI_Iallreduce(ps->sums ? w : MPI_IN_PLACE, sum_at(ps, k),
                                     (int)chunk_len(ps, k), ps->type, MPI_SUM, ps->sa->comm,
                                     &ps->req[k % ps->depth]);
            if (mrc != MPI_SUCCESS) { pipe_fail(ps, mrc, "MPI_Iallreduce"); break; }
            ps->posted++;
        }
        if (ps->ndone == ps->posted || ps->mpi_rc != MPI_SUCCESS) break;
        const int wait = mode == PIPE_ALL || (mode == PIPE_ONE && ps->ndone == done0);
        int flag = 1, mrc;
        MPI_Request *r = &ps->req[ps->ndone % ps->depth];
        if (wait) mrc = MPI_Wait(r, MPI_STATUS_IGNORE);
        else mrc = MPI_Test(r, &flag, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) { pipe_fail(ps, mrc, wait ? "MPI_Wait" : "MPI_Test"); break; }
        if (!flag) break;
        pipe_decode(ps, ps->ndone++);
    }
    if (ps->profile) ps->t_reduce += fs_now() - t0 - (ps->t_decode - dec0);
}

/* fs_masker_progress_fn: note the final prefix, post and drive MPI, and
 * free the ring slot the next block goes to (its old chunk must have been
 * summed and decoded). */
static void pipe_on_block(void *user, size_t words_done)
{
    pipe_state *ps = user;
    const int ready = ps->posted < ps->nchunks && ps->posted - ps->ndone < ps->depth &&
                      ps->posted * ps->chunk_words + chunk_len(ps, ps->posted) <= words_done;
    ps->masked = words_done;
    const size_t next = words_done / ps->chunk_words;   // chunk of the next block
    if (words_done < ps->words && next >= ps->ndone + ps->nslots) {
        while (next >= ps->ndone + ps->nslots && ps->mpi_rc == MPI_SUCCESS)
            pipe_advance(ps, PIPE_ONE);
    } else if (ready || (ps->posted > ps->ndone && ++ps->calls % PIPE_TEST_EVERY == 0)) {
        pipe_advance(ps, PIPE_POLL);
    }
}

fs_err fs_secagg_sum_f32(fs_secagg *sa, uint64_t round, uint32_t vid, const float *in,
                         float *out, size_t n, fs_fixed_stats *stats)
{
    fs_err rc = FS_OK;
    const double t_start = fs_now();
    /* The reduced vector: the n + 1 masked words (values and canary) and a
     * flag word, unmasked, 1 on a rank whose masking failed: the sum tells
     * every rank whether any rank failed without another collective. */
    const size_t wb = fs_fixed_word_bytes(sa->vec.ring_bits), words = fs_masker_words(n) + 1;
    fs_fixed_stats st = { 0, 0 };
    fs_masker_timing mt = { 0, 0 };
    fs_secagg_pipeline plan;
    fs_secagg_pipeline_plan(sa, n, &plan);
    const size_t chunk_bytes = plan.chunk_bytes;
    const int depth = plan.depth;
    pipe_state ps = { 0 };
    ps.sa = sa;
    ps.type = sa->vec.ring_bits == 32 ? MPI_UINT32_T : MPI_UINT64_T;
    ps.wb = wb;
    ps.chunk_words = chunk_bytes / wb;
    ps.n = n;
    ps.words = words;
    ps.nchunks = (words + ps.chunk_words - 1) / ps.chunk_words;
    ps.depth = depth > 0 ? (size_t)depth : 1;
    ps.blocking = plan.blocking;
    ps.nslots = depth > 0 ? ps.depth + 1 : 0;  // depth in flight + the one being masked
    ps.zero_from = ps.nchunks;
    ps.out = out;
    ps.mpi_rc = MPI_SUCCESS;
    ps.profile = sa->profile_on;
    ps.stream_out = depth > 0 && n * sizeof *out >= PIPE_STREAM_MIN && sa->vec.ring_bits == 32 &&
                    sa->vec.frac_bits <= 100;
    // pipelined: nslots send slots (+ depth receive slots); else the vector
    const size_t buf_bytes = depth > 0 ? (ps.nslots + (plan.separate ? ps.depth : 0)) * chunk_bytes
                                       : words * wb;
    fs_err local = FS_OK;
    /* Allocation is the one rank-local step that can fail before anything
     * is sent; agree on it so nobody posts a reduction alone.  The buffers
     * are kept between calls and grow identically on every rank (the same
     * calls with the same n, and an agreed failure frees them everywhere),
     * so every rank takes this branch in the same calls. */
    if (buf_bytes > sa->cap_bytes || ps.depth * sizeof(MPI_Request) > sa->cap_req) {
        local = ensure_words(sa, buf_bytes);
        if (local == FS_OK)
            local = ensure_buffer((void **)&sa->req, &sa->cap_req, ps.depth * sizeof(MPI_Request),
                                  "reduction requests");
        rc = fs_agree(sa->comm, local, NULL);
        if (rc != FS_OK) { free_buffers(sa); goto done; }
    }
    ps.buf = sa->words;
    ps.sums = plan.separate ? ps.buf + ps.nslots * chunk_bytes : NULL;
    ps.req = sa->req;
    fs_masker_set_timing(sa->mvec, sa->profile_on ? &mt : NULL);
    if (depth > 0)
        local = fs_masker_encode_mask_ring(sa->mvec, round, vid, in, n, ps.buf,
                                           ps.nslots * ps.chunk_words, &st, pipe_on_block, &ps);
    else
        local = fs_masker_encode_mask(sa->mvec, round, vid, in, n, ps.buf, &st);
    fs_masker_set_timing(sa->mvec, NULL);
    if (local != FS_OK) {
        /* Unposted chunks may hold unmasked encodings: send zeros instead
         * (and the flag word 1), so the chunk sequence completes on every
         * rank; the error is agreed below and the sum discarded.  (What
         * arrives is at most the sum of the other ranks' inputs, which this
         * rank could compute from a correct sum anyway:
         * docs/threat-model.md.) */
        ps.zero_from = ps.posted;
    }
    ps.masked = words;
    if (depth > 0) {
        pipe_advance(&ps, PIPE_ALL);
    } else {
        // one chunk: a blocking reduction of the whole (small) vector
        const double t0 = sa->profile_on ? fs_now() : 0;
        pipe_seal(&ps, 0, ps.buf);
        int mrc = MPI_Allreduce(MPI_IN_PLACE, ps.buf, (int)words, ps.type, MPI_SUM, sa->comm);
        if (mrc != MPI_SUCCESS) pipe_fail(&ps, mrc, "MPI_Allreduce");
        if (sa->profile_on) ps.t_reduce += fs_now() - t0;
        if (mrc == MPI_SUCCESS) pipe_decode(&ps, 0);
    }
    if (ps.mpi_rc != MPI_SUCCESS) FS_TRY(fs_from_mpi(ps.mpi_rc, ps.mpi_what));
    FS_TRY(verdict(sa, local, ps.failed, ps.canary, round, vid));
    if (stats) { stats->nclipped += st.nclipped; stats->nnan += st.nnan; }
done:
    if (rc != FS_OK) memset(out, 0, n * sizeof *out);   // never a wrong sum
    {
        fs_secagg_profile *pr = &sa->last_profile;
        pr->encode_s = mt.encode_s;
        pr->keystream_s = mt.keystream_s;
        pr->reduce_s = ps.t_reduce;
        pr->decode_s = ps.t_decode;
        pr->total_s = fs_now() - t_start;
        pr->chunk_bytes = chunk_bytes;
        pr->depth = depth;
        pr->separate = plan.separate;
        pr->blocking = plan.blocking;
        pr->nchunks = ps.nchunks;
        pr->valid = sa->profile_on;
    }
    return rc;
}

fs_err fs_secagg_sum_f64(fs_secagg *sa, uint64_t round, uint32_t vid, const double *in,
                         double *out, size_t n, fs_fixed_stats *stats)
{
    fs_err rc = FS_OK;
    const size_t words = fs_masker_words(n) + 1;   // values, canary, flag word (see sum_f32)
    fs_fixed_stats st = { 0, 0 };
    int ok = 0;
    fs_err local = FS_OK;
    if (words * 8 > sa->cap_bytes) {
        // agreed growth, as in fs_secagg_sum_f32
        rc = fs_agree(sa->comm, ensure_words(sa, words * 8), NULL);
        if (rc != FS_OK) { free_buffers(sa); goto done; }
    }
    uint64_t *w = sa->words;
    local = fs_masker_encode_mask_f64(sa->mmet, round, vid, in, n, w, &st);
    /* A statistic must never be silently clipped or zeroed: out of range
     * or NaN is an error on every rank.  Such a rank sends zeros instead
     * of its masked words, and the flag word 1. */
    if (local == FS_OK && (st.nclipped || st.nnan))
        local = fs_error_set(FS_ERR_NUMERIC, "a statistic in round %llu (vector %u) is %s "
                             "and cannot enter the secure sum", (unsigned long long)round,
                             vid, st.nnan ? "NaN" : "beyond +-2^31");
    if (local != FS_OK) fs_secure_zero(w, (words - 1) * 8);
    w[n + 1] = local != FS_OK;
    FS_TRY(reduce_words(sa, 64, words));
    FS_TRY(verdict(sa, local, w[n + 1], w[n], round, vid));
    FS_TRY(fs_masker_decode_f64(&sa->met, w, n, out, &ok));
    if (stats) { stats->nclipped += st.nclipped; stats->nnan += st.nnan; }
done:
    return rc;
}

fs_err fs_secagg_sum_words(fs_secagg *sa, uint64_t round, uint32_t vid, void *words, size_t n,
                           fs_err local)
{
    fs_err rc = FS_OK;
    const int b = sa->vec.ring_bits;
    const double t_start = fs_now();
    fs_masker_timing mt = { 0, 0 };
    double t_reduce = 0;
    fs_masker_set_timing(sa->mvec, sa->profile_on ? &mt : NULL);
    if (local == FS_OK) local = fs_masker_mask(sa->mvec, round, vid, words, n);
    fs_masker_set_timing(sa->mvec, NULL);
    const double t0 = fs_now();
    FS_TRY(fs_agree(sa->comm, local, NULL));
    FS_TRY(fs_mpi_allreduce_chunked(words, n + 1, (size_t)b / 8,
                                    b == 32 ? MPI_UINT32_T : MPI_UINT64_T, sa->comm));
    t_reduce = fs_now() - t0;
    /* Every rank holds the same sum, so in an honest run all take the same
     * branch: success without another collective, or the agreed canary
     * failure (as in verdict above). */
    const int ok = b == 32 ? ((uint32_t *)words)[n] == 0 : ((uint64_t *)words)[n] == 0;
    if (!ok) FS_TRY(agree_canary(sa, FS_OK, ok, round, vid));
done:
    {
        const fs_secagg_profile pr = { mt.encode_s, mt.keystream_s, t_reduce, 0,
                                       fs_now() - t_start, (n + 1) * (size_t)b / 8, 0, 0, 1, 1,
                                       sa->profile_on };
        sa->last_profile = pr;
    }
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
int fs_secagg_single_node(const fs_secagg *sa) { return sa->single_node; }
const uint8_t *fs_secagg_session_id(const fs_secagg *sa) { return sa->sid; }
const fs_fixed_params *fs_secagg_vec_params(const fs_secagg *sa) { return &sa->vec; }

void fs_secagg_profile_enable(fs_secagg *sa, int on) { sa->profile_on = on != 0; }

void fs_secagg_last_profile(const fs_secagg *sa, fs_secagg_profile *out) { *out = sa->last_profile; }

/*
 * fs_mpispy.c - an LD_PRELOAD PMPI library for the secure-sum tests: it
 * records every buffer each rank sends and receives through MPI (point to
 * point, blocking and nonblocking collectives, every datatype), and can
 * tamper with messages like an attacker on the MPI transport.
 *
 * Environment:
 *   FS_SPY_DIR=dir      append records to dir/spy-<world rank>.bin
 *   FS_SPY_TAMPER=mode  one of
 *     allgather:R:J     on rank R, flip the last byte of rank J's block in
 *                       the first MPI_Allgather whose blocks exceed 100
 *                       bytes (the signed DH messages: a forged signature)
 *     allgather-pub:R:J on rank R, replace rank J's DH public value (first
 *                       half of its block) with the value 1 (out of group)
 *     allgather-swap:R:J:K  on rank R, replace rank J's DH public value with
 *                       rank K's (a valid group element: a man in the
 *                       middle without the signing key; only an
 *                       unauthenticated session accepts it, and then the
 *                       pairwise masks of (R, J) differ and the canary
 *                       catches it)
 *
 * Wrapped (the complete list; tests/cli/spy_wrappers.sh checks with nm that
 * fedsilo and libfedsilo call no MPI communication function outside it):
 * Send Ssend Bsend Rsend Isend Issend Recv Irecv Sendrecv Sendrecv_replace
 * Probe Iprobe, Allreduce Iallreduce Reduce Ireduce Reduce_scatter
 * Reduce_scatter_block Scan Exscan, Allgather Iallgather Allgatherv Gather
 * Gatherv Scatter Scatterv Alltoall Alltoallv Bcast Ibcast Barrier Ibarrier,
 * and the completions Wait Waitall Waitany Waitsome Test Testall Testany
 * Testsome.
 *
 * Record layout (little-endian, 40-byte header then the data):
 *   uint32 kind   1 collective result received (allgather(v), gather(v) at
 *                   the root, scatter(v), alltoall(v)), 2 reduction
 *                   contribution (allreduce/iallreduce), 3 reduction result
 *                   (allreduce/iallreduce), 4 bcast buffer (every rank,
 *                   root included), 5 point-to-point sent, 6 point-to-point
 *                   received, 7 contribution to another collective (the
 *                   send buffer of gather/scatter/alltoall/allgather and of
 *                   reduce/reduce_scatter/scan), 8 result of reduce /
 *                   reduce_scatter / scan, 9 a synchronisation (barrier,
 *                   probe: no data), 10 an unknown call (a failure for the
 *                   analyser).
 *   uint32 dtype  0 float, 1 uint32, 2 uint64, 3 double, 4 bytes/other
 *                   (derived or unknown datatypes: raw bytes), 5 int32,
 *                   6 int64
 *   uint64 count  elements (bytes for dtype 4)
 *   uint64 idx    call index (the result of a nonblocking call carries the
 *                   index of its post; it is recorded at completion)
 *   uint32 call   which MPI function (SPY_CALL_* below)
 *   int32  peer   source/destination/root rank in the communicator, -1 if
 *                   none
 *   uint32 tsize  the size of one element of the MPI datatype in bytes
 *   uint32 pad    0
 * Only the recording rank's own view is written: what it sent or
 * contributed and what it received.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo/fs_crypto.h>
#include <fedsilo/fs_secagg.h>

enum {
    SPY_SEND = 1, SPY_SSEND, SPY_BSEND, SPY_RSEND, SPY_ISEND, SPY_ISSEND, SPY_RECV, SPY_IRECV,
    SPY_SENDRECV, SPY_SENDRECV_REPLACE, SPY_PROBE, SPY_IPROBE, SPY_ALLREDUCE, SPY_IALLREDUCE,
    SPY_REDUCE, SPY_IREDUCE, SPY_REDUCE_SCATTER, SPY_REDUCE_SCATTER_BLOCK, SPY_SCAN, SPY_EXSCAN,
    SPY_ALLGATHER, SPY_IALLGATHER, SPY_ALLGATHERV, SPY_GATHER, SPY_GATHERV, SPY_SCATTER,
    SPY_SCATTERV, SPY_ALLTOALL, SPY_ALLTOALLV, SPY_BCAST, SPY_IBCAST, SPY_BARRIER, SPY_IBARRIER
};

static FILE *spy_file;
static uint64_t spy_calls;
static int spy_init_done, tamper_done;

static void spy_open(void)
{
    int up = 0;
    if (spy_init_done) return;
    if (PMPI_Initialized(&up) != MPI_SUCCESS || !up) return;   /* before MPI_Init: not yet */
    spy_init_done = 1;
    const char *dir = getenv("FS_SPY_DIR");
    if (!dir) return;
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char path[4096];
    snprintf(path, sizeof path, "%s/spy-%d.bin", dir, rank);
    spy_file = fopen(path, "ab");
}

static uint32_t dtype_code(MPI_Datatype t)
{
    if (t == MPI_FLOAT) return 0;
    if (t == MPI_UINT32_T || t == MPI_UNSIGNED) return 1;
    if (t == MPI_UINT64_T || t == MPI_UNSIGNED_LONG_LONG ||
        (t == MPI_UNSIGNED_LONG && sizeof(unsigned long) == 8)) return 2;
    if (t == MPI_DOUBLE) return 3;
    if (t == MPI_INT32_T || t == MPI_INT) return 5;
    if (t == MPI_INT64_T || t == MPI_LONG_LONG || (t == MPI_LONG && sizeof(long) == 8)) return 6;
    return 4;
}

/* One record of count elements of type t at buf, tagged with call index idx
 * (the call it belongs to), the MPI function and the peer rank. */
static void spy_record_full(uint32_t kind, MPI_Datatype t, const void *buf, uint64_t count,
                            uint64_t idx, uint32_t call, int32_t peer)
{
    spy_open();
    if (!spy_file) return;
    int size = 1;
    if (t != MPI_DATATYPE_NULL) PMPI_Type_size(t, &size);
    uint32_t dt = dtype_code(t), tsize = (uint32_t)size, pad = 0;
    if (dt == 4) { count *= (uint64_t)size; size = 1; }  /* other types: raw bytes */
    if (!buf) count = 0;
    fwrite(&kind, 4, 1, spy_file);
    fwrite(&dt, 4, 1, spy_file);
    fwrite(&count, 8, 1, spy_file);
    fwrite(&idx, 8, 1, spy_file);
    fwrite(&call, 4, 1, spy_file);
    fwrite(&peer, 4, 1, spy_file);
    fwrite(&tsize, 4, 1, spy_file);
    fwrite(&pad, 4, 1, spy_file);
    if (count) fwrite(buf, (size_t)size, count, spy_file);
    fflush(spy_file);
}

static void spy_rec(uint32_t kind, uint32_t call, MPI_Datatype t, const void *buf, uint64_t count,
                    int peer)
{
    spy_record_full(kind, t, buf, count, spy_calls, call, peer);
}

static size_t type_extent(MPI_Datatype t)
{
    MPI_Aint lb = 0, ext = 1;
    if (t != MPI_DATATYPE_NULL) PMPI_Type_get_extent(t, &lb, &ext);
    return (size_t)ext;
}

static int comm_size(MPI_Comm c) { int n = 1; PMPI_Comm_size(c, &n); return n; }
static int comm_rank(MPI_Comm c) { int r = 0; PMPI_Comm_rank(c, &r); return r; }

/* Elements actually received according to st (count if not determinable). */
static uint64_t got_count(const MPI_Status *st, MPI_Datatype t, int count)
{
    int got = MPI_UNDEFINED;
    if (st && PMPI_Get_count(st, t, &got) == MPI_SUCCESS && got != MPI_UNDEFINED && got >= 0 &&
        got <= count)
        return (uint64_t)got;
    return (uint64_t)(count > 0 ? count : 0);
}

/* Outstanding nonblocking calls whose received data is recorded at
 * completion (Wait/Test families). */
#define SPY_MAXREQ 4096
static struct {
    MPI_Request req; void *buf; int count; MPI_Datatype t; uint64_t idx; uint32_t kind, call;
    int peer;
} pending[SPY_MAXREQ];
static int npending;

static void spy_pending(MPI_Request req, void *buf, int count, MPI_Datatype t, uint32_t kind,
                        uint32_t call, int peer)
{
    if (npending >= SPY_MAXREQ) {             /* would lose a record: say so */
        spy_rec(10, call, MPI_BYTE, NULL, 0, peer);
        return;
    }
    pending[npending].req = req;
    pending[npending].buf = buf;
    pending[npending].count = count;
    pending[npending].t = t;
    pending[npending].idx = spy_calls;        /* the result carries the post's index */
    pending[npending].kind = kind;
    pending[npending].call = call;
    pending[npending].peer = peer;
    npending++;
}

/* After a completion call: record every pending call whose request the MPI
 * library has set to MPI_REQUEST_NULL (done), in the order given; st[i] (or
 * NULL) is request i's status. */
static void spy_completed(const MPI_Request *before, const MPI_Request *after, int n,
                          const MPI_Status *st)
{
    for (int i = 0; i < n; i++) {
        if (before[i] == MPI_REQUEST_NULL || after[i] != MPI_REQUEST_NULL) continue;
        for (int k = 0; k < npending; k++) {
            if (pending[k].req != before[i]) continue;
            uint64_t cnt = (uint64_t)(pending[k].count > 0 ? pending[k].count : 0);
            int peer = pending[k].peer;
            if (pending[k].call == SPY_IRECV && st) {
                cnt = got_count(&st[i], pending[k].t, pending[k].count);
                peer = st[i].MPI_SOURCE;
            }
            if (pending[k].buf)
                spy_record_full(pending[k].kind, pending[k].t, pending[k].buf, cnt, pending[k].idx,
                                pending[k].call, peer);
            pending[k] = pending[--npending];
            break;
        }
    }
}

/* ---- Ground truth and mutations (the secure-sum entry points) ----------
 *
 * The spy also wraps the three exported secure-sum entry points of
 * libfedsilo, fs_secagg_sum_f32 / _f64 / _words (every cross-rank sum of
 * every program goes through one of them: fs_fed_sum_* and the DDP path
 * call them through the PLT, so LD_PRELOAD interposes), and
 * fs_secagg_create (to learn the codecs).  Around each sum it writes, into
 * the same record stream, what this rank holds raw (never sent):
 *   kind 11  the raw input (float or double values as given), idx = round,
 *            call = vector id, peer = ring bits
 *   kind 12  the raw fixed-point words before masking (n words, encoded
 *            with the library's own fs_fixed_encode_* and the codec and
 *            rounding key the masker uses), same idx/call/peer
 *   kind 13  end of the sum (idx = round, call = vector id)
 *   kind 14  a key-exchange secret: every DH shared secret Z
 *            (fs_dh_shared_secret) and every key derived from one
 *            (fs_hkdf_sha256: mask seeds, pair keys), as bytes
 * The MPI records between kind 12 and kind 13 are that sum's reductions.
 * Nothing in the library changes: the production build has no hook.
 *
 * FS_SPY_MUTATE=mode injects one leak into what THIS program sends, so the
 * detector (analyze.py) can be shown to flag it (positive controls); every
 * rank must run with the same mode (the modes keep the sum exact):
 *   raw_float       after each float sum, an MPI_Allgather of the raw input
 *   partial_unmask  in float sums, every 100th coordinate is sent unmasked
 *                   (all ranks drop the mask on the same coordinates, so the
 *                   masks of the others still cancel)
 *   stats_unmasked  in statistics (double) sums, every value sent unmasked
 *   nonce_reuse     a later sum of a vector id reuses the masks of its
 *                   first sum (as if its (key, nonce) were used again)
 *   public_key      masks derived from public values only (round, vector
 *                   id, ranks), pairwise cancelling
 *   sendrecv        after each float sum, the raw input is sent to the next
 *                   rank with MPI_Isend and received with MPI_Recv
 *   secret_leak     after the key setup, an MPI_Allgather of the first key
 *                   this rank derived
 */
static struct {
    int ready, rank, size;
    fs_fixed_params vec, met;
    uint64_t rounding_seed;
    MPI_Comm comm;                 /* the spy's own duplicate, for mutations */
} truth;

static struct {                    /* the sum in progress on this rank      */
    int active, ring, is_f64;
    uint64_t round;
    uint32_t vid;
    size_t n, off;                 /* raw words; words reduced so far        */
    void *words;                   /* n raw words (ring_bits/8 bytes each)   */
    int reuse, reuse_fresh;        /* nonce_reuse: slot of reuse[], first sum */
} cur;

#define SPY_MAXVID 64
static struct { uint32_t vid; int ring; size_t len; uint64_t *mask; } reuse[SPY_MAXVID];
static int nreuse;

static const char *mutation(void)
{
    const char *m = getenv("FS_SPY_MUTATE");
    return m && *m ? m : NULL;
}

static int mutating(const char *mode)
{
    const char *m = mutation();
    return m && strcmp(m, mode) == 0;
}

static void *real_fn(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) f = dlsym(RTLD_DEFAULT, name);
    return f;
}

typedef fs_err (*create_fn)(MPI_Comm, const fs_secagg_opts *, fs_secagg **);
typedef fs_err (*sum32_fn)(fs_secagg *, uint64_t, uint32_t, const float *, float *, size_t,
                           fs_fixed_stats *);
typedef fs_err (*sum64_fn)(fs_secagg *, uint64_t, uint32_t, const double *, double *, size_t,
                           fs_fixed_stats *);
typedef fs_err (*sumw_fn)(fs_secagg *, uint64_t, uint32_t, void *, size_t, fs_err);
typedef fs_err (*enc32_fn)(const fs_fixed_params *, const float *, size_t, void *, uint64_t,
                           fs_fixed_stats *);
typedef fs_err (*enc64_fn)(const fs_fixed_params *, const double *, size_t, void *, uint64_t,
                           fs_fixed_stats *);
typedef uint64_t (*rkey_fn)(uint64_t, int, uint64_t, uint32_t);
typedef int (*suggest_fn)(int, int, double);

static uint8_t first_secret[32];
static int have_secret;

static void record_secret(const uint8_t *b, size_t n)
{
    spy_record_full(14, MPI_BYTE, b, n, spy_calls, 0, -1);
    if (!have_secret && n >= sizeof first_secret) {
        memcpy(first_secret, b, sizeof first_secret);
        have_secret = 1;
    }
}

typedef fs_err (*hkdf_fn)(const uint8_t *, size_t, const uint8_t *, size_t, const uint8_t *,
                          size_t, uint8_t *, size_t);
typedef fs_err (*dh_fn)(const fs_dh_keypair *, const uint8_t *, size_t, uint8_t *, size_t);

fs_err fs_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t outlen)
{
    hkdf_fn real = (hkdf_fn)real_fn("fs_hkdf_sha256");
    if (!real) { spy_rec(10, 0, MPI_BYTE, NULL, 0, -1); return FS_ERR_ARG; }
    fs_err rc = real(ikm, ikm_len, salt, salt_len, info, info_len, out, outlen);
    if (rc == FS_OK) record_secret(out, outlen);
    return rc;
}

fs_err fs_dh_shared_secret(const fs_dh_keypair *kp, const uint8_t *peer_pub, size_t peer_len,
                           uint8_t *out, size_t outlen)
{
    dh_fn real = (dh_fn)real_fn("fs_dh_shared_secret");
    if (!real) { spy_rec(10, 0, MPI_BYTE, NULL, 0, -1); return FS_ERR_ARG; }
    fs_err rc = real(kp, peer_pub, peer_len, out, outlen);
    if (rc == FS_OK) spy_record_full(14, MPI_BYTE, out, outlen, spy_calls, 0, -1);
    return rc;
}

fs_err fs_secagg_create(MPI_Comm comm, const fs_secagg_opts *o, fs_secagg **out)
{
    create_fn real = (create_fn)real_fn("fs_secagg_create");
    suggest_fn suggest = (suggest_fn)real_fn("fs_fixed_suggest");
    if (!real || !suggest) { spy_rec(10, 0, MPI_BYTE, NULL, 0, -1); return FS_ERR_ARG; }
    fs_err rc = real(comm, o, out);
    if (rc == FS_OK && !truth.ready) {
        truth.ready = 1;
        truth.rank = comm_rank(comm);
        truth.size = comm_size(comm);
        truth.vec = o->vec;
        truth.rounding_seed = o->rounding_seed;
        /* the statistics codec of fs_secagg_create: 64-bit ring, clip 2^31, nearest */
        truth.met.ring_bits = 64;
        truth.met.clip = 2147483648.0;
        truth.met.rounding = FS_FIXED_ROUND_NEAREST;
        truth.met.frac_bits = suggest(64, truth.size, truth.met.clip);
        PMPI_Comm_dup(comm, &truth.comm);
        if (mutating("secret_leak") && have_secret) {
            uint8_t *all = malloc(sizeof first_secret * (size_t)truth.size);
            if (all)
                MPI_Allgather(first_secret, (int)sizeof first_secret, MPI_BYTE, all,
                              (int)sizeof first_secret, MPI_BYTE, truth.comm);
            free(all);
        }
    }
    return rc;
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Mask of coordinate p for the pair (i < j) from public values only. */
static uint64_t public_mask(int i, int j, uint64_t round, uint32_t vid, size_t p)
{
    return splitmix(splitmix(splitmix(((uint64_t)i << 32) | (uint64_t)j) ^ round) ^
                    (((uint64_t)vid << 40) ^ (uint64_t)p));
}

static uint64_t word_at(const void *b, int ring, size_t i)
{
    return ring == 32 ? ((const uint32_t *)b)[i] : ((const uint64_t *)b)[i];
}

static void set_word(void *b, int ring, size_t i, uint64_t v)
{
    if (ring == 32) ((uint32_t *)b)[i] = (uint32_t)v;
    else ((uint64_t *)b)[i] = v;
}

/* The mask reuse table entry of vector id vid (created on first use). */
static int reuse_slot(uint32_t vid, int ring, size_t len, int *fresh)
{
    for (int k = 0; k < nreuse; k++)
        if (reuse[k].vid == vid && reuse[k].ring == ring && reuse[k].len == len) {
            *fresh = 0;
            return k;
        }
    if (nreuse >= SPY_MAXVID) return -1;
    reuse[nreuse].mask = calloc(len ? len : 1, sizeof(uint64_t));
    if (!reuse[nreuse].mask) return -1;
    reuse[nreuse].vid = vid;
    reuse[nreuse].ring = ring;
    reuse[nreuse].len = len;
    *fresh = 1;
    return nreuse++;
}

/* A reduction of `count` words of type t inside a secure sum: apply the
 * mutation to the words this rank is about to send (buf, the library's own
 * buffer of masked words), then advance the offset.  Words n and n + 1 are
 * the canary and the flag (raw value 0). */
static void spy_mutate(void *buf, int count, MPI_Datatype t)
{
    if (!cur.active || count <= 0) return;
    int ring = t == MPI_UINT32_T ? 32 : t == MPI_UINT64_T ? 64 : 0;
    if (ring != cur.ring) return;
    const char *m = mutation();
    size_t off = cur.off, len = cur.n + 2;
    cur.off += (size_t)count;
    if (!m || !buf) return;
    uint64_t mod = ring == 32 ? 0xFFFFFFFFULL : ~0ULL;
    for (size_t i = 0; i < (size_t)count && off + i < len; i++) {
        size_t p = off + i;
        uint64_t e = p < cur.n ? word_at(cur.words, ring, p) : 0, w = word_at(buf, ring, i);
        if (strcmp(m, "partial_unmask") == 0 && !cur.is_f64 && p < cur.n && p % 100 == 0) {
            set_word(buf, ring, i, e);
        } else if (strcmp(m, "stats_unmasked") == 0 && cur.is_f64 && p < cur.n) {
            set_word(buf, ring, i, e);
        } else if (strcmp(m, "public_key") == 0) {
            uint64_t v = e;
            for (int j = 0; j < truth.size; j++) {
                if (j == truth.rank) continue;
                uint64_t pm = public_mask(j < truth.rank ? j : truth.rank,
                                          j < truth.rank ? truth.rank : j, cur.round, cur.vid, p);
                v = truth.rank < j ? v + pm : v - pm;
            }
            set_word(buf, ring, i, v & mod);
        } else if (strcmp(m, "nonce_reuse") == 0 && !cur.is_f64 && cur.reuse >= 0) {
            uint64_t *mask = reuse[cur.reuse].mask;
            if (cur.reuse_fresh) mask[p] = (w - e) & mod;        /* first sum: keep its mask */
            else set_word(buf, ring, i, (e + mask[p]) & mod);    /* later: the same mask again */
        }
    }
}

/* Begin a secure sum: record the raw input and its raw words (kinds 11,
 * 12) and make it the sum in progress.  x: n floats (is_f64 = 0), n
 * doubles (is_f64 = 1) or NULL (words given: fs_secagg_sum_words). */
static void sum_begin(uint64_t round, uint32_t vid, int is_f64, const void *x, size_t n,
                      const void *given_words)
{
    const fs_fixed_params *p = is_f64 ? &truth.met : &truth.vec;
    int ring = p->ring_bits;
    size_t wb = (size_t)ring / 8;
    void *words = malloc((n ? n : 1) * wb);
    if (!words || !truth.ready) { spy_rec(10, 0, MPI_BYTE, NULL, 0, -1); free(words); return; }
    if (given_words) {
        memcpy(words, given_words, n * wb);
    } else if (is_f64) {
        enc64_fn enc = (enc64_fn)real_fn("fs_fixed_encode_f64");
        if (!enc || enc(p, x, n, words, 0, &(fs_fixed_stats){0}) != FS_OK)
            spy_rec(10, 0, MPI_BYTE, NULL, 0, -1);
    } else {
        enc32_fn enc = (enc32_fn)real_fn("fs_fixed_encode_f32");
        rkey_fn rkey = (rkey_fn)real_fn("fs_fixed_rounding_key");
        uint64_t key = rkey ? rkey(truth.rounding_seed, truth.rank, round, vid) : 0;
        if (!enc || !rkey || enc(p, x, n, words, key, &(fs_fixed_stats){0}) != FS_OK)
            spy_rec(10, 0, MPI_BYTE, NULL, 0, -1);
    }
    if (x) spy_record_full(11, is_f64 ? MPI_DOUBLE : MPI_FLOAT, x, n, round, vid, ring);
    spy_record_full(12, ring == 32 ? MPI_UINT32_T : MPI_UINT64_T, words, n, round, vid, ring);
    cur.active = 1;
    cur.ring = ring;
    cur.is_f64 = is_f64;
    cur.round = round;
    cur.vid = vid;
    cur.n = n;
    cur.off = 0;
    cur.words = words;
    cur.reuse = -1;
    cur.reuse_fresh = 0;
    if (mutating("nonce_reuse") && !is_f64) cur.reuse = reuse_slot(vid, ring, n + 2, &cur.reuse_fresh);
}

static void sum_end(void)
{
    if (!cur.active) return;
    spy_record_full(13, MPI_BYTE, NULL, 0, cur.round, cur.vid, cur.ring);
    free(cur.words);
    cur.active = 0;
    cur.words = NULL;
}

/* raw_float and sendrecv: send the raw input x (n floats) as well. */
static void leak_raw(const float *x, size_t n)
{
    if (!truth.ready || n > (size_t)INT32_MAX / (size_t)truth.size) return;
    if (mutating("raw_float")) {
        float *all = malloc(n * (size_t)truth.size * sizeof *all);
        if (all) MPI_Allgather(x, (int)n, MPI_FLOAT, all, (int)n, MPI_FLOAT, truth.comm);
        free(all);
    } else if (mutating("sendrecv") && truth.size > 1) {
        float *got = malloc((n ? n : 1) * sizeof *got);
        MPI_Request r;
        if (!got) return;
        MPI_Isend(x, (int)n, MPI_FLOAT, (truth.rank + 1) % truth.size, 77, truth.comm, &r);
        MPI_Recv(got, (int)n, MPI_FLOAT, (truth.rank + truth.size - 1) % truth.size, 77,
                 truth.comm, MPI_STATUS_IGNORE);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
        free(got);
    }
}

fs_err fs_secagg_sum_f32(fs_secagg *sa, uint64_t round, uint32_t vid, const float *in, float *out,
                         size_t n, fs_fixed_stats *st)
{
    sum32_fn real = (sum32_fn)real_fn("fs_secagg_sum_f32");
    if (!real) { spy_rec(10, 0, MPI_BYTE, NULL, 0, -1); return FS_ERR_ARG; }
    float *raw = in == out ? malloc((n ? n : 1) * sizeof *raw) : NULL;
    if (raw) memcpy(raw, in, n * sizeof *raw);
    const float *x = raw ? raw : in;
    sum_begin(round, vid, 0, x, n, NULL);
    fs_err rc = real(sa, round, vid, in, out, n, st);
    sum_end();
    leak_raw(x, n);
    free(raw);
    return rc;
}

fs_err fs_secagg_sum_f64(fs_secagg *sa, uint64_t round, uint32_t vid, const double *in,
                         double *out, size_t n, fs_fixed_stats *st)
{
    sum64_fn real = (sum64_fn)real_fn("fs_secagg_sum_f64");
    if (!real) { spy_rec(10, 0, MPI_BYTE, NULL, 0, -1); return FS_ERR_ARG; }
    sum_begin(round, vid, 1, in, n, NULL);
    fs_err rc = real(sa, round, vid, in, out, n, st);
    sum_end();
    return rc;
}

fs_err fs_secagg_sum_words(fs_secagg *sa, uint64_t round, uint32_t vid, void *words, size_t n,
                           fs_err local)
{
    sumw_fn real = (sumw_fn)real_fn("fs_secagg_sum_words");
    if (!real) { spy_rec(10, 0, MPI_BYTE, NULL, 0, -1); return FS_ERR_ARG; }
    sum_begin(round, vid, 0, NULL, n, words);
    fs_err rc = real(sa, round, vid, words, n, local);
    sum_end();
    return rc;
}

/* Parse FS_SPY_TAMPER; returns 1 if `what` is active on this rank. */
static int tamper_for(const char *what, int *peer, int *peer2)
{
    const char *m = getenv("FS_SPY_TAMPER");
    if (!m || tamper_done) return 0;
    size_t n = strlen(what);
    if (strncmp(m, what, n) != 0 || m[n] != ':') return 0;
    int r = -1, j = -1, k = -1;
    if (sscanf(m + n + 1, "%d:%d:%d", &r, &j, &k) < 1) return 0;
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (peer) *peer = j;
    if (peer2) *peer2 = k;
    return rank == r;
}

int MPI_Allgather(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                  MPI_Datatype rtype, MPI_Comm comm)
{
    int rc = PMPI_Allgather(sbuf, scount, stype, rbuf, rcount, rtype, comm);
    int size = 1, tsize = 1, peer = -1, peer2 = -1;
    PMPI_Comm_size(comm, &size);
    PMPI_Type_size(rtype, &tsize);
    size_t block = (size_t)rcount * (size_t)tsize;
    if (block > 100 && tamper_for("allgather", &peer, NULL) && peer >= 0 && peer < size) {
        ((unsigned char *)rbuf)[(size_t)peer * block + block - 1] ^= 0x01;
        tamper_done = 1;
    } else if (block > 100 && tamper_for("allgather-swap", &peer, &peer2) && peer >= 0 &&
               peer < size && peer2 >= 0 && peer2 < size) {
        unsigned char *b = rbuf;
        memcpy(b + (size_t)peer * block, b + (size_t)peer2 * block, block - 64);
        tamper_done = 1;
    } else if (block > 100 && tamper_for("allgather-pub", &peer, NULL) && peer >= 0 && peer < size) {
        /* DH public value = first (block - 64) bytes: set it to 1 */
        unsigned char *b = (unsigned char *)rbuf + (size_t)peer * block;
        memset(b, 0, block - 64);
        b[block - 64 - 1] = 1;
        tamper_done = 1;
    }
    if (sbuf != MPI_IN_PLACE) spy_rec(7, SPY_ALLGATHER, stype, sbuf, (uint64_t)scount, -1);
    spy_rec(1, SPY_ALLGATHER, rtype, rbuf, (uint64_t)rcount * (uint64_t)size, -1);
    spy_calls++;
    return rc;
}


int MPI_Allreduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op,
                  MPI_Comm comm)
{
    spy_mutate(sbuf == MPI_IN_PLACE ? rbuf : (void *)sbuf, count, t);
    spy_rec(2, SPY_ALLREDUCE, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count, -1);
    int rc = PMPI_Allreduce(sbuf, rbuf, count, t, op, comm);
    spy_rec(3, SPY_ALLREDUCE, t, rbuf, (uint64_t)count, -1);
    spy_calls++;
    return rc;
}

int MPI_Iallreduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op,
                   MPI_Comm comm, MPI_Request *req)
{
    spy_mutate(sbuf == MPI_IN_PLACE ? rbuf : (void *)sbuf, count, t);
    spy_rec(2, SPY_IALLREDUCE, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count, -1);
    int rc = PMPI_Iallreduce(sbuf, rbuf, count, t, op, comm, req);
    if (rc == MPI_SUCCESS) spy_pending(*req, rbuf, count, t, 3, SPY_IALLREDUCE, -1);
    spy_calls++;
    return rc;
}

int MPI_Reduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op, int root,
               MPI_Comm comm)
{
    int me = comm_rank(comm);
    spy_rec(7, SPY_REDUCE, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count, root);
    int rc = PMPI_Reduce(sbuf, rbuf, count, t, op, root, comm);
    if (me == root) spy_rec(8, SPY_REDUCE, t, rbuf, (uint64_t)count, root);
    spy_calls++;
    return rc;
}

int MPI_Ireduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op, int root,
                MPI_Comm comm, MPI_Request *req)
{
    int me = comm_rank(comm);
    spy_rec(7, SPY_IREDUCE, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count, root);
    int rc = PMPI_Ireduce(sbuf, rbuf, count, t, op, root, comm, req);
    if (rc == MPI_SUCCESS && me == root) spy_pending(*req, rbuf, count, t, 8, SPY_IREDUCE, root);
    spy_calls++;
    return rc;
}

int MPI_Reduce_scatter(const void *sbuf, void *rbuf, const int rcounts[], MPI_Datatype t,
                       MPI_Op op, MPI_Comm comm)
{
    int n = comm_size(comm), me = comm_rank(comm);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += (uint64_t)rcounts[i];
    spy_rec(7, SPY_REDUCE_SCATTER, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, total, -1);
    int rc = PMPI_Reduce_scatter(sbuf, rbuf, rcounts, t, op, comm);
    spy_rec(8, SPY_REDUCE_SCATTER, t, rbuf, (uint64_t)rcounts[me], -1);
    spy_calls++;
    return rc;
}

int MPI_Reduce_scatter_block(const void *sbuf, void *rbuf, int rcount, MPI_Datatype t,
                             MPI_Op op, MPI_Comm comm)
{
    int n = comm_size(comm);
    spy_rec(7, SPY_REDUCE_SCATTER_BLOCK, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf,
            (uint64_t)rcount * (uint64_t)n, -1);
    int rc = PMPI_Reduce_scatter_block(sbuf, rbuf, rcount, t, op, comm);
    spy_rec(8, SPY_REDUCE_SCATTER_BLOCK, t, rbuf, (uint64_t)rcount, -1);
    spy_calls++;
    return rc;
}

int MPI_Scan(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op, MPI_Comm comm)
{
    spy_rec(7, SPY_SCAN, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count, -1);
    int rc = PMPI_Scan(sbuf, rbuf, count, t, op, comm);
    spy_rec(8, SPY_SCAN, t, rbuf, (uint64_t)count, -1);
    spy_calls++;
    return rc;
}

int MPI_Exscan(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op, MPI_Comm comm)
{
    spy_rec(7, SPY_EXSCAN, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count, -1);
    int rc = PMPI_Exscan(sbuf, rbuf, count, t, op, comm);
    if (comm_rank(comm) > 0) spy_rec(8, SPY_EXSCAN, t, rbuf, (uint64_t)count, -1);
    spy_calls++;
    return rc;
}

int MPI_Iallgather(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                   MPI_Datatype rtype, MPI_Comm comm, MPI_Request *req)
{
    if (sbuf != MPI_IN_PLACE) spy_rec(7, SPY_IALLGATHER, stype, sbuf, (uint64_t)scount, -1);
    int rc = PMPI_Iallgather(sbuf, scount, stype, rbuf, rcount, rtype, comm, req);
    if (rc == MPI_SUCCESS)
        spy_pending(*req, rbuf, (int)((int64_t)rcount * comm_size(comm)), rtype, 1,
                    SPY_IALLGATHER, -1);
    spy_calls++;
    return rc;
}

/* The blocks of a v-collective's receive buffer: one record per peer. */
static void rec_blocks(uint32_t kind, uint32_t call, const void *buf, const int counts[],
                       const int displs[], MPI_Datatype t, int n)
{
    size_t ext = type_extent(t);
    for (int i = 0; i < n; i++)
        spy_rec(kind, call, t, (const char *)buf + (size_t)displs[i] * ext, (uint64_t)counts[i], i);
}

int MPI_Allgatherv(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf,
                   const int rcounts[], const int displs[], MPI_Datatype rtype, MPI_Comm comm)
{
    if (sbuf != MPI_IN_PLACE) spy_rec(7, SPY_ALLGATHERV, stype, sbuf, (uint64_t)scount, -1);
    int rc = PMPI_Allgatherv(sbuf, scount, stype, rbuf, rcounts, displs, rtype, comm);
    rec_blocks(1, SPY_ALLGATHERV, rbuf, rcounts, displs, rtype, comm_size(comm));
    spy_calls++;
    return rc;
}

int MPI_Gather(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
               MPI_Datatype rtype, int root, MPI_Comm comm)
{
    int me = comm_rank(comm);
    if (sbuf != MPI_IN_PLACE) spy_rec(7, SPY_GATHER, stype, sbuf, (uint64_t)scount, root);
    int rc = PMPI_Gather(sbuf, scount, stype, rbuf, rcount, rtype, root, comm);
    if (me == root)
        spy_rec(1, SPY_GATHER, rtype, rbuf, (uint64_t)rcount * (uint64_t)comm_size(comm), root);
    spy_calls++;
    return rc;
}

int MPI_Gatherv(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, const int rcounts[],
                const int displs[], MPI_Datatype rtype, int root, MPI_Comm comm)
{
    int me = comm_rank(comm);
    if (sbuf != MPI_IN_PLACE) spy_rec(7, SPY_GATHERV, stype, sbuf, (uint64_t)scount, root);
    int rc = PMPI_Gatherv(sbuf, scount, stype, rbuf, rcounts, displs, rtype, root, comm);
    if (me == root) rec_blocks(1, SPY_GATHERV, rbuf, rcounts, displs, rtype, comm_size(comm));
    spy_calls++;
    return rc;
}

int MPI_Scatter(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                MPI_Datatype rtype, int root, MPI_Comm comm)
{
    int me = comm_rank(comm);
    if (me == root)
        spy_rec(7, SPY_SCATTER, stype, sbuf, (uint64_t)scount * (uint64_t)comm_size(comm), root);
    int rc = PMPI_Scatter(sbuf, scount, stype, rbuf, rcount, rtype, root, comm);
    if (rbuf != MPI_IN_PLACE) spy_rec(1, SPY_SCATTER, rtype, rbuf, (uint64_t)rcount, root);
    spy_calls++;
    return rc;
}

int MPI_Scatterv(const void *sbuf, const int scounts[], const int displs[], MPI_Datatype stype,
                 void *rbuf, int rcount, MPI_Datatype rtype, int root, MPI_Comm comm)
{
    int me = comm_rank(comm);
    if (me == root) rec_blocks(7, SPY_SCATTERV, sbuf, scounts, displs, stype, comm_size(comm));
    int rc = PMPI_Scatterv(sbuf, scounts, displs, stype, rbuf, rcount, rtype, root, comm);
    if (rbuf != MPI_IN_PLACE) spy_rec(1, SPY_SCATTERV, rtype, rbuf, (uint64_t)rcount, root);
    spy_calls++;
    return rc;
}

int MPI_Alltoall(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                 MPI_Datatype rtype, MPI_Comm comm)
{
    uint64_t n = (uint64_t)comm_size(comm);
    if (sbuf != MPI_IN_PLACE) spy_rec(7, SPY_ALLTOALL, stype, sbuf, (uint64_t)scount * n, -1);
    int rc = PMPI_Alltoall(sbuf, scount, stype, rbuf, rcount, rtype, comm);
    spy_rec(1, SPY_ALLTOALL, rtype, rbuf, (uint64_t)rcount * n, -1);
    spy_calls++;
    return rc;
}

int MPI_Alltoallv(const void *sbuf, const int scounts[], const int sdispls[], MPI_Datatype stype,
                  void *rbuf, const int rcounts[], const int rdispls[], MPI_Datatype rtype,
                  MPI_Comm comm)
{
    int n = comm_size(comm);
    if (sbuf != MPI_IN_PLACE) rec_blocks(7, SPY_ALLTOALLV, sbuf, scounts, sdispls, stype, n);
    int rc = PMPI_Alltoallv(sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm);
    rec_blocks(1, SPY_ALLTOALLV, rbuf, rcounts, rdispls, rtype, n);
    spy_calls++;
    return rc;
}

int MPI_Bcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm comm)
{
    int rc = PMPI_Bcast(buf, count, t, root, comm);
    spy_rec(4, SPY_BCAST, t, buf, (uint64_t)count, root);
    spy_calls++;
    return rc;
}

int MPI_Ibcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm comm, MPI_Request *req)
{
    if (comm_rank(comm) == root) spy_rec(4, SPY_IBCAST, t, buf, (uint64_t)count, root);
    int rc = PMPI_Ibcast(buf, count, t, root, comm, req);
    if (rc == MPI_SUCCESS && comm_rank(comm) != root)
        spy_pending(*req, buf, count, t, 4, SPY_IBCAST, root);
    spy_calls++;
    return rc;
}

int MPI_Barrier(MPI_Comm comm)
{
    spy_rec(9, SPY_BARRIER, MPI_BYTE, NULL, 0, -1);
    spy_calls++;
    return PMPI_Barrier(comm);
}

int MPI_Ibarrier(MPI_Comm comm, MPI_Request *req)
{
    spy_rec(9, SPY_IBARRIER, MPI_BYTE, NULL, 0, -1);
    spy_calls++;
    return PMPI_Ibarrier(comm, req);
}

/* Point to point: what a rank sends is recorded when it is posted (the
 * buffer must not change before completion), what it receives when the
 * data is there. */
#define SPY_SEND_WRAPPER(NAME, CODE)                                                         \
    int MPI_##NAME(const void *buf, int count, MPI_Datatype t, int dest, int tag, MPI_Comm comm) \
    {                                                                                        \
        spy_rec(5, CODE, t, buf, (uint64_t)count, dest);                                     \
        spy_calls++;                                                                         \
        return PMPI_##NAME(buf, count, t, dest, tag, comm);                                  \
    }
SPY_SEND_WRAPPER(Send, SPY_SEND)
SPY_SEND_WRAPPER(Ssend, SPY_SSEND)
SPY_SEND_WRAPPER(Bsend, SPY_BSEND)
SPY_SEND_WRAPPER(Rsend, SPY_RSEND)

int MPI_Isend(const void *buf, int count, MPI_Datatype t, int dest, int tag, MPI_Comm comm,
              MPI_Request *req)
{
    spy_rec(5, SPY_ISEND, t, buf, (uint64_t)count, dest);
    spy_calls++;
    return PMPI_Isend(buf, count, t, dest, tag, comm, req);
}

int MPI_Issend(const void *buf, int count, MPI_Datatype t, int dest, int tag, MPI_Comm comm,
               MPI_Request *req)
{
    spy_rec(5, SPY_ISSEND, t, buf, (uint64_t)count, dest);
    spy_calls++;
    return PMPI_Issend(buf, count, t, dest, tag, comm, req);
}

int MPI_Recv(void *buf, int count, MPI_Datatype t, int src, int tag, MPI_Comm comm,
             MPI_Status *st)
{
    MPI_Status mine;
    MPI_Status *s = st == MPI_STATUS_IGNORE ? &mine : st;
    int rc = PMPI_Recv(buf, count, t, src, tag, comm, s);
    if (rc == MPI_SUCCESS) spy_rec(6, SPY_RECV, t, buf, got_count(s, t, count), s->MPI_SOURCE);
    spy_calls++;
    return rc;
}

int MPI_Irecv(void *buf, int count, MPI_Datatype t, int src, int tag, MPI_Comm comm,
              MPI_Request *req)
{
    int rc = PMPI_Irecv(buf, count, t, src, tag, comm, req);
    if (rc == MPI_SUCCESS) spy_pending(*req, buf, count, t, 6, SPY_IRECV, src);
    spy_calls++;
    return rc;
}

int MPI_Sendrecv(const void *sbuf, int scount, MPI_Datatype stype, int dest, int stag, void *rbuf,
                 int rcount, MPI_Datatype rtype, int src, int rtag, MPI_Comm comm, MPI_Status *st)
{
    MPI_Status mine;
    MPI_Status *s = st == MPI_STATUS_IGNORE ? &mine : st;
    spy_rec(5, SPY_SENDRECV, stype, sbuf, (uint64_t)scount, dest);
    int rc = PMPI_Sendrecv(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, s);
    if (rc == MPI_SUCCESS)
        spy_rec(6, SPY_SENDRECV, rtype, rbuf, got_count(s, rtype, rcount), s->MPI_SOURCE);
    spy_calls++;
    return rc;
}

int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype t, int dest, int stag, int src,
                         int rtag, MPI_Comm comm, MPI_Status *st)
{
    MPI_Status mine;
    MPI_Status *s = st == MPI_STATUS_IGNORE ? &mine : st;
    spy_rec(5, SPY_SENDRECV_REPLACE, t, buf, (uint64_t)count, dest);
    int rc = PMPI_Sendrecv_replace(buf, count, t, dest, stag, src, rtag, comm, s);
    if (rc == MPI_SUCCESS)
        spy_rec(6, SPY_SENDRECV_REPLACE, t, buf, got_count(s, t, count), s->MPI_SOURCE);
    spy_calls++;
    return rc;
}

int MPI_Probe(int src, int tag, MPI_Comm comm, MPI_Status *st)
{
    spy_rec(9, SPY_PROBE, MPI_BYTE, NULL, 0, src);
    spy_calls++;
    return PMPI_Probe(src, tag, comm, st);
}

int MPI_Iprobe(int src, int tag, MPI_Comm comm, int *flag, MPI_Status *st)
{
    spy_rec(9, SPY_IPROBE, MPI_BYTE, NULL, 0, src);
    spy_calls++;
    return PMPI_Iprobe(src, tag, comm, flag, st);
}

/* Completion calls: each records what the requests it completed received.
 * A status array is always passed to MPI (the caller's or a local one) so
 * that the received count and source are known. */
static MPI_Status *status_buf(MPI_Status *user, int n, MPI_Status **own)
{
    *own = NULL;
    if (user != MPI_STATUSES_IGNORE) return user;
    *own = malloc((size_t)(n > 0 ? n : 1) * sizeof **own);
    return *own ? *own : MPI_STATUSES_IGNORE;
}

static MPI_Request *copy_reqs(const MPI_Request reqs[], int n)
{
    MPI_Request *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    if (b && n > 0) memcpy(b, reqs, (size_t)n * sizeof *b);
    return b;
}

int MPI_Wait(MPI_Request *req, MPI_Status *st)
{
    MPI_Request b = *req;
    MPI_Status mine;
    MPI_Status *s = st == MPI_STATUS_IGNORE ? &mine : st;
    int rc = PMPI_Wait(req, s);
    spy_completed(&b, req, 1, s);
    return rc;
}

int MPI_Test(MPI_Request *req, int *flag, MPI_Status *st)
{
    MPI_Request b = *req;
    MPI_Status mine;
    MPI_Status *s = st == MPI_STATUS_IGNORE ? &mine : st;
    int rc = PMPI_Test(req, flag, s);
    spy_completed(&b, req, 1, s);
    return rc;
}

int MPI_Waitall(int n, MPI_Request reqs[], MPI_Status sts[])
{
    MPI_Request *b = copy_reqs(reqs, n);
    MPI_Status *own, *s = status_buf(sts, n, &own);
    int rc = PMPI_Waitall(n, reqs, s);
    if (b) spy_completed(b, reqs, n, s == MPI_STATUSES_IGNORE ? NULL : s);
    else spy_rec(10, SPY_IRECV, MPI_BYTE, NULL, 0, -1);
    free(b);
    free(own);
    return rc;
}

int MPI_Testall(int n, MPI_Request reqs[], int *flag, MPI_Status sts[])
{
    MPI_Request *b = copy_reqs(reqs, n);
    MPI_Status *own, *s = status_buf(sts, n, &own);
    int rc = PMPI_Testall(n, reqs, flag, s);
    if (b) spy_completed(b, reqs, n, s == MPI_STATUSES_IGNORE ? NULL : s);
    else spy_rec(10, SPY_IRECV, MPI_BYTE, NULL, 0, -1);
    free(b);
    free(own);
    return rc;
}

/* Waitany/Testany/Waitsome/Testsome: the completed request(s) are set to
 * MPI_REQUEST_NULL, so comparing before/after finds them; statuses are
 * indexed by completion order, so they are mapped back to request slots. */
static void spy_completed_some(const MPI_Request *before, const MPI_Request *after, int n,
                               int outcount, const int idx[], const MPI_Status *st)
{
    for (int j = 0; j < outcount; j++) {
        int i = idx[j];
        if (i < 0 || i >= n) continue;
        spy_completed(before + i, after + i, 1, st ? &st[j] : NULL);
    }
}

int MPI_Waitany(int n, MPI_Request reqs[], int *index, MPI_Status *st)
{
    MPI_Request *b = copy_reqs(reqs, n);
    MPI_Status mine;
    MPI_Status *s = st == MPI_STATUS_IGNORE ? &mine : st;
    int rc = PMPI_Waitany(n, reqs, index, s);
    if (b && *index != MPI_UNDEFINED) spy_completed_some(b, reqs, n, 1, index, s);
    free(b);
    return rc;
}

int MPI_Testany(int n, MPI_Request reqs[], int *index, int *flag, MPI_Status *st)
{
    MPI_Request *b = copy_reqs(reqs, n);
    MPI_Status mine;
    MPI_Status *s = st == MPI_STATUS_IGNORE ? &mine : st;
    int rc = PMPI_Testany(n, reqs, index, flag, s);
    if (b && *flag && *index != MPI_UNDEFINED) spy_completed_some(b, reqs, n, 1, index, s);
    free(b);
    return rc;
}

int MPI_Waitsome(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status sts[])
{
    MPI_Request *b = copy_reqs(reqs, n);
    MPI_Status *own, *s = status_buf(sts, n, &own);
    int rc = PMPI_Waitsome(n, reqs, outcount, idx, s);
    if (b && *outcount != MPI_UNDEFINED)
        spy_completed_some(b, reqs, n, *outcount, idx, s == MPI_STATUSES_IGNORE ? NULL : s);
    free(b);
    free(own);
    return rc;
}

int MPI_Testsome(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status sts[])
{
    MPI_Request *b = copy_reqs(reqs, n);
    MPI_Status *own, *s = status_buf(sts, n, &own);
    int rc = PMPI_Testsome(n, reqs, outcount, idx, s);
    if (b && *outcount != MPI_UNDEFINED)
        spy_completed_some(b, reqs, n, *outcount, idx, s == MPI_STATUSES_IGNORE ? NULL : s);
    free(b);
    free(own);
    return rc;
}

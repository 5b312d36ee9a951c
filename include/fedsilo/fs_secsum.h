/*
 * fs_secsum.h - the secure-sum engine: mask graph and masking engine over
 * the AES-CTR mask PRG of fs_prg.h.  Pure functions on buffers; no MPI.
 * The MPI binding (allreduce of the masked words) is fs_secagg.h.
 *
 * Protocol (Bonawitz et al. 2017, pairwise masking; Bell et al. 2020,
 * SecAgg+, for the sparse graph).  Party i holds a 32-byte seed s_ij = s_ji
 * for every neighbour j in the mask graph and sends
 *
 *     y_i = encode(x_i) + sum_{j in N(i)} sgn(i,j) * PRG(s_ij, round, vector)
 *                                                         (mod 2^b)
 *     sgn(i,j) = +1 if i < j, -1 if i > j.
 *
 * Cancellation invariant: sum_i sum_{j in N(i)} sgn(i,j) PRG(s_ij) = 0
 * mod 2^b, because every edge {i,j} contributes PRG(s_ij) - PRG(s_ji) and
 * s_ij = s_ji.  Hence sum_i y_i = sum_i encode(x_i) mod 2^b, bit for bit.
 *
 * Each y_i carries one extra CANARY word (index n) whose true value is 0:
 * after the sum it must be 0; anything else means the masks did not cancel
 * (wrong seed, mismatched round/vector id, or a corrupted contribution).
 *
 * WARNING: a (seed, nonce) pair must never be used twice: two vectors
 * masked with the same keystream reveal their difference.  The nonce is
 * (round, vector_id); fs_masker refuses a round that is not strictly larger
 * than the last round it used for the same vector id.
 */
#ifndef FEDSILO_FS_SECSUM_H
#define FEDSILO_FS_SECSUM_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_fixed.h"
#include "fs_prg.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- mask graph

/*
 * Mask graph: which pairs of parties share a pairwise mask.  Full mesh
 * (degree 0 requested): every pair.  Sparse (degree k, 2 <= k < N): the
 * Harary graph H(k, N) on a random relabelling of the parties: parties are
 * placed on a ring in the order of a permutation derived from the 32-byte
 * session id and each is joined to its floor(k/2) nearest ring neighbours
 * on both sides; for odd k (N must then be even) also to the antipodal
 * party.  The graph is k-regular, and k-connected (Harary 1962): no
 * coalition of fewer than k parties can split the honest parties, so such a
 * coalition learns only the sum of all honest inputs.  In particular it
 * is connected (it contains the ring), so the masks of every component
 * cannot cancel on their own.  The graph is public and deterministic given
 * (N, k, session id), which must match on all parties.  Memory: N x d
 * ints (d = N - 1 for the full mesh).
 */
typedef struct fs_maskgraph fs_maskgraph;

/*
 * fs_maskgraph_create - build the mask graph for nparties >= 1 parties.
 * Not collective (all parties must pass the same arguments).  degree = 0
 * gives the full mesh; otherwise 2 <= degree < nparties, degree * nparties
 * even (degree 1 is accepted only for nparties = 2).  session_id (32
 * bytes, borrowed) seeds the relabelling; ignored for the full mesh.
 * On success *out owns the graph; on failure *out == NULL.
 * returns FS_OK, FS_ERR_ARG or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_maskgraph_create(int nparties, int degree, const uint8_t session_id[32],
                                     fs_maskgraph **out) FS_WARN_UNUSED;

/* fs_maskgraph_destroy - free, set *g = NULL.  NULL-safe. */
FS_EXPORT void fs_maskgraph_destroy(fs_maskgraph **g);

/* fs_maskgraph_nparties - N. */
FS_EXPORT int fs_maskgraph_nparties(const fs_maskgraph *g);

/* fs_maskgraph_degree - neighbours per party: N - 1 (full mesh) or k. */
FS_EXPORT int fs_maskgraph_degree(const fs_maskgraph *g);

/*
 * fs_maskgraph_neighbours - sorted neighbour list of party (0 <= party < N).
 * Not collective.  *nbrs is borrowed: valid until fs_maskgraph_destroy.
 * *count = fs_maskgraph_degree(g).  returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_maskgraph_neighbours(const fs_maskgraph *g, int party, const int **nbrs,
                                         int *count) FS_WARN_UNUSED;

/* fs_maskgraph_has_edge - 1 iff i and j (i != j) share a mask, else 0. */
FS_EXPORT int fs_maskgraph_has_edge(const fs_maskgraph *g, int i, int j);

/* fs_maskgraph_is_connected - 1 iff the graph is connected (BFS; O(N k)).
 * Returns 0 on allocation failure. */
FS_EXPORT int fs_maskgraph_is_connected(const fs_maskgraph *g);

// ---------------------------------------------------------------- masker

/*
 * One party's masking engine.  Holds one AES key schedule per neighbour
 * (secret) and one block of keystream scratch (secret while in use); both
 * are allocated at create and wiped at destroy; the scratch is also wiped
 * after every call.  Memory: O(k) contexts + one block, never O(N * d).
 */
typedef struct fs_masker fs_masker;

/* Masker options.  Pointers are borrowed for the duration of create. */
typedef struct {
    int party;                  /* this party's index, 0 <= party < N     */
    const fs_maskgraph *graph;  /* the agreed mask graph (N parties)      */
    const uint8_t *seeds;       /* (N x 32) bytes; row j = s_ij for j in
                                   N(party); other rows are not read.
                                   Secret: the caller wipes its copy.     */
    fs_fixed_params fixed;      /* codec (ring width b = fixed.ring_bits) */
    uint64_t rounding_seed;     /* stochastic rounding stream seed; the
                                   stream of a call is fs_fixed_rounding_key(
                                   rounding_seed, party, round, vector_id) */
} fs_masker_opts;

/*
 * fs_masker_create - masking engine for one party.
 * Not collective.  Validates the codec and its headroom for N parties with
 * weight 1 (fs_fixed_check_headroom).  On success *out owns the masker; on
 * failure *out == NULL and nothing leaks.
 * returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_masker_create(const fs_masker_opts *opts, fs_masker **out) FS_WARN_UNUSED;

/* fs_masker_destroy - wipe keys and scratch, free, set *p = NULL. NULL-safe. */
FS_EXPORT void fs_masker_destroy(fs_masker **p);

/* fs_masker_words - words per masked vector of n values: n + 1 (canary). */
FS_EXPORT size_t fs_masker_words(size_t n);

/*
 * fs_masker_set_round_floor - refuse every future round < next_round (for
 * any vector id).  Use after restarting from a checkpoint taken at round
 * next_round - 1 with the same seeds.  Not collective.  returns FS_OK.
 */
FS_EXPORT fs_err fs_masker_set_round_floor(fs_masker *m, uint64_t next_round) FS_WARN_UNUSED;

/*
 * fs_masker_encode_mask - encode and mask one vector (fused, block by block).
 *
 * Not collective; all parties of one sum must use the same (round,
 * vector_id, n).
 * out[k] = encode(x[k]) + sum_{j in N(i)} sgn(i,j) PRG(s_ij, round,
 * vector_id)[k] mod 2^b for k < n, and out[n] is the masked canary (true
 * value 0).
 * in:   round, vector_id: the nonce.  round must be strictly larger than
 *       every round previously used with this vector_id by this masker and
 *       >= the round floor.  x (n reals, borrowed).
 * out:  out (n + 1 words of b bits, caller-allocated, aligned for
 *       uint32_t/uint64_t; safe to send), stats (optional, counts added).
 * returns FS_OK; FS_ERR_ARG for nonce reuse (nothing is written and the
 * nonce stays unused) or bad sizes; FS_ERR_NUMERIC when stats is NULL and
 * an input is NaN (out is fully written and the nonce is consumed);
 * FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_masker_encode_mask(fs_masker *m, uint64_t round, uint32_t vector_id,
                                       const float *x, size_t n, void *out,
                                       fs_fixed_stats *stats) FS_WARN_UNUSED;

/*
 * fs_masker_progress_fn - called by fs_masker_encode_mask_stream after each
 * block (FS_MASKER_BLOCK_BYTES of keystream per neighbour) with the number
 * of leading words of out that are final: encoded and fully masked, safe
 * to send.  The count grows to n + 1 (the canary is last).  Runs on the
 * calling thread; must not touch words at or beyond the count.
 */
typedef void (*fs_masker_progress_fn)(void *user, size_t words_done);

/*
 * fs_masker_encode_mask_stream - fs_masker_encode_mask, reporting progress
 * block by block so a caller can start reducing the finished prefix while
 * the rest is being masked (the MPI binding pipelines its allreduce this
 * way).  Same nonce rules, outputs and returns; on an error return the
 * words past the last reported count may hold unmasked encodings and must
 * not be sent.  on_block may be NULL.
 */
FS_EXPORT fs_err fs_masker_encode_mask_stream(fs_masker *m, uint64_t round, uint32_t vector_id,
                                              const float *x, size_t n, void *out,
                                              fs_fixed_stats *stats,
                                              fs_masker_progress_fn on_block,
                                              void *user) FS_WARN_UNUSED;

/*
 * fs_masker_encode_mask_ring - fs_masker_encode_mask_stream writing word k
 * of the masked vector to out[k mod ring_words] instead of out[k]: out is
 * a ring of ring_words words (a multiple of fs_masker_block_words(m)), so
 * a caller that sends chunks as they become final and then reuses their
 * space never needs a buffer of the whole vector.  on_block is required,
 * and before it returns the caller must be done with every word the next
 * block overwrites: positions [words_done, words_done + block) mod
 * ring_words.  Same nonce rules, outputs and returns as
 * fs_masker_encode_mask_stream (FS_ERR_ARG also for a bad ring size).
 */
FS_EXPORT fs_err fs_masker_encode_mask_ring(fs_masker *m, uint64_t round, uint32_t vector_id,
                                            const float *x, size_t n, void *out,
                                            size_t ring_words, fs_fixed_stats *stats,
                                            fs_masker_progress_fn on_block,
                                            void *user) FS_WARN_UNUSED;

/* fs_masker_block_words - words per masking block (16 KiB of words; 0 if m
 * is NULL): the granularity of fs_masker_progress_fn reports. */
FS_EXPORT size_t fs_masker_block_words(const fs_masker *m);

/* Time spent inside the masker, in seconds, accumulated by every masking
 * call while attached with fs_masker_set_timing. */
typedef struct {
    double encode_s;        /* fixed-point encoding into the words          */
    double keystream_s;     /* AES-CTR keystream added into the words       */
} fs_masker_timing;

/*
 * fs_masker_set_timing - attach t (caller-owned; NULL detaches): every
 * later masking call adds its encoding and keystream time to *t, read
 * from the monotonic clock around each block (a few clock reads per 16 KiB
 * block; time in on_block callbacks is not counted).  Off by default.  Not
 * collective.
 */
FS_EXPORT void fs_masker_set_timing(fs_masker *m, fs_masker_timing *t);

/* fs_masker_encode_mask_f64 - the same for double inputs (metrics). */
FS_EXPORT fs_err fs_masker_encode_mask_f64(fs_masker *m, uint64_t round, uint32_t vector_id,
                                           const double *x, size_t n, void *out,
                                           fs_fixed_stats *stats) FS_WARN_UNUSED;

/*
 * fs_masker_mask - add the masks in place to words the caller encoded
 * itself (e.g. exact integer counts).  Same nonce rules as encode_mask.
 * inout: n + 1 words; inout[n] (the canary) must be 0 on entry.
 * The caller must keep every |value| within the headroom it checked.
 * returns FS_OK, FS_ERR_ARG (nonce reuse, canary not 0) or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_masker_mask(fs_masker *m, uint64_t round, uint32_t vector_id, void *inout,
                                size_t n) FS_WARN_UNUSED;

/*
 * fs_masker_unmasked_encode - the plain reference: encode x into out[0..n)
 * and set the canary out[n] = 0, with no masks.  Summing these over all
 * parties gives, bit for bit, the sum of the masked vectors.  To reproduce
 * a masker's stochastic rounding pass fs_fixed_rounding_key(rounding_seed,
 * party, round, vector_id) as rng_key.  Not collective.
 * returns as fs_fixed_encode_f32.
 */
FS_EXPORT fs_err fs_masker_unmasked_encode(const fs_fixed_params *p, const float *x, size_t n,
                                           void *out, uint64_t rng_key,
                                           fs_fixed_stats *stats) FS_WARN_UNUSED;

/*
 * fs_masker_decode - check the canary of a summed vector and decode it.
 * Not collective (every rank decodes the same allreduced words).
 * in:   p, sum (n + 1 words: the mod-2^b sum of all parties' outputs)
 * out:  out (n reals; written only when the canary is 0), canary_ok
 *       (optional: 1 if sum[n] == 0, else 0)
 * returns FS_OK, FS_ERR_ARG, or FS_ERR_AUTH when the canary is not 0 (the
 * masks did not cancel: wrong seed, mismatched nonce or a corrupted
 * contribution).  The canary detects mask mismatch, not a party that
 * submits a well-masked but false input.
 */
FS_EXPORT fs_err fs_masker_decode(const fs_fixed_params *p, const void *sum, size_t n,
                                  float *out, int *canary_ok) FS_WARN_UNUSED;

/* fs_masker_decode_f64 - the same with double output. */
FS_EXPORT fs_err fs_masker_decode_f64(const fs_fixed_params *p, const void *sum, size_t n,
                                      double *out, int *canary_ok) FS_WARN_UNUSED;

// ---------------------------------------------------------------- bench

/* Result of fs_secsum_bench_maskgen.  Rates are taken from the fastest
 * call (robust to load), in bytes of keystream per second (nneighbours *
 * (n + 1) * word bytes per masked vector) except encode_rate. */
typedef struct {
    double mask_rate;      /* fs_masker_mask: keystream + add/sub only     */
    double total_rate;     /* fs_masker_encode_mask: encode fused + masks  */
    double encode_rate;    /* fs_fixed_encode_f32 alone, input bytes/s     */
    double openssl_rate;   /* fs_prg_openssl_rate, best of 1 MiB samples
                              interleaved with the calls above             */
    const char *prg_kernel; /* static string: "vaes-avx512", "vaes-avx2",
                               "aesni" or "openssl"                       */
} fs_secsum_bench_result;

/*
 * fs_secsum_bench_maskgen - measure the engine on one party with
 * nneighbours >= 1 neighbours (full mesh of nneighbours + 1 parties, fixed
 * non-secret seeds), vectors of n >= 1 random floats, for about `seconds`
 * per measured quantity (>= 0.05).  Not collective.  Allocates O(n).
 * returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_secsum_bench_maskgen(int ring_bits, size_t n, int nneighbours,
                                         double seconds, fs_secsum_bench_result *res)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_SECSUM_H */

/*
 * fs_secagg.h - the secure-sum allreduce: authenticated key setup and
 * masked integer MPI_Allreduce (the MPI binding of the masking engine in
 * fs_secsum.h).  See docs/protocol.md for the protocol and its maths and
 * docs/threat-model.md for what it protects.
 *
 * Usage:
 *   fs_secagg *sa;
 *   fs_secagg_create(comm, &opts, &sa);        collective: key setup
 *   fs_secagg_sum_f32(sa, round, vid, x, sum, n, &st);   collective, per vector
 *   fs_secagg_destroy(&sa);                    wipes keys
 *
 * No rank ever receives another rank's vector: each rank's contribution is
 * encoded in Z_2^b and hidden by pairwise AES-CTR masks that cancel only in
 * the sum.  The sum is bit-exact and independent of the reduction order.
 */
#ifndef FEDSILO_FS_SECAGG_H
#define FEDSILO_FS_SECAGG_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_fixed.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_secagg fs_secagg;

/* How a program sums across ranks: the secure sum, or the insecure
 * MPI_Allreduce baseline that exists for comparison only. */
typedef enum { FS_AGG_SECURE = 0, FS_AGG_PLAIN = 1 } fs_agg_mode;

/* Options; must be identical on every rank (checked collectively). */
typedef struct {
    fs_fixed_params vec;         /* codec of float vectors (model updates)  */
    int mask_degree;             /* 0: full mesh; k: k-regular Harary graph */
    const char *roster_path;     /* consortium roster; NULL/"" = none       */
    const char *identity_path;   /* this rank's Ed25519 private key (PEM)   */
    int allow_unauthenticated;   /* without a roster: 1 to run anyway (warns) */
    uint64_t rounding_seed;      /* stochastic-rounding stream seed         */
    const int *members;          /* (nranks) roster index of each rank, in
                                    increasing order: the job is this subset
                                    of the roster (its hash enters the signed
                                    context and the session id); NULL = rank
                                    i is roster entry i, all of them        */
} fs_secagg_opts;

/*
 * fs_secagg_opts_default - o = 64-bit ring, clip 1, nearest rounding, the
 * largest fractional bits the headroom rule allows for nranks parties
 * (fs_fixed_suggest), full-mesh masks, no roster (authentication required
 * unless allow_unauthenticated is set), rounding seed 1.  Set roster_path
 * and identity_path (or allow_unauthenticated) before fs_secagg_create.
 * Not collective.
 */
FS_EXPORT void fs_secagg_opts_default(fs_secagg_opts *o, int nranks);

/*
 * fs_secagg_create - per-job key setup (collective on comm).
 *
 * comm is duplicated (MPI_ERRORS_RETURN); the caller keeps it.  Steps:
 * parameters compared with rank 0's; roster loaded and its hash compared;
 * own identity key checked against the roster; fresh 32-byte nonces
 * allgathered; ephemeral DH key pair (group from the roster, default
 * ffdhe2048) signed over (nonces, roster, parameters, rank, A_i) and
 * allgathered; every signature and group membership verified; session id
 * = SHA-256 of the whole transcript; pairwise seeds
 * s_ij = HKDF-SHA256(g^(a_i a_j), salt = session id, info = label||min||max)
 * for the mask-graph neighbours, and the root of fs_secagg_pair_key for
 * every pair (one DH per peer); DH secrets wiped.  Returns the same code on every rank: FS_OK,
 * FS_ERR_ARG (parameters/roster mismatch, no roster without
 * allow_unauthenticated), FS_ERR_IO (unreadable roster/key),
 * FS_ERR_AUTH (a signature, key or group element did not verify: the
 * message names the rank that failed, never why), FS_ERR_MPI.
 * On success *out is owned by the caller.
 */
FS_EXPORT fs_err fs_secagg_create(MPI_Comm comm, const fs_secagg_opts *opts,
                                  fs_secagg **out) FS_WARN_UNUSED;

/* fs_secagg_destroy - wipe keys, free the duplicated communicator; NULL-safe.
 * Collective on the communicator of fs_secagg_create (MPI_Comm_free is
 * collective): every rank destroys its context, in the same order relative
 * to its other communicator operations. */
FS_EXPORT void fs_secagg_destroy(fs_secagg **sa);

/*
 * fs_secagg_sum_f32 - out = sum over ranks of in (n floats), securely.
 *
 * Collective; every rank passes the same (round, vector_id, n).  in is
 * encoded with opts.vec (values outside [-c, c] are clipped and counted in
 * stats->nclipped, NaN counted in stats->nnan and encoded as 0), masked,
 * summed with MPI_Iallreduce(MPI_SUM) on uint32/uint64 in chunks pipelined
 * with the masking (chunks k..k+depth-1 are reduced while chunk k+depth is
 * being masked and chunk k-1 decoded; fs_secagg_pipeline_plan), or, for a
 * vector of at most 1 MiB of words (4 MiB beyond 8 ranks), with one
 * blocking MPI_Allreduce after masking; when the ranks span several nodes,
 * with blocking MPI_Allreduce calls (fs_secagg_pipeline.blocking); then
 * checked.  (round, vector_id)
 * must be fresh for this session (enforced).  in and out may alias.  Returns the
 * same code on every rank: FS_OK, FS_ERR_AUTH if the canary shows the masks
 * did not cancel (out is then all zeros), FS_ERR_ARG (nonce reuse; the
 * rank sends zeros, nothing unmasked), FS_ERR_NOMEM, FS_ERR_MPI.
 */
FS_EXPORT fs_err fs_secagg_sum_f32(fs_secagg *sa, uint64_t round, uint32_t vector_id,
                                   const float *in, float *out, size_t n,
                                   fs_fixed_stats *stats) FS_WARN_UNUSED;

/*
 * fs_secagg_sum_f64 - the same for small double vectors of statistics
 * (counts, loss sums), with the statistics codec: 64-bit ring, clip 2^31,
 * the largest fractional bits the headroom rule allows for N ranks (30 for
 * N = 2, 3; 29 for N = 4, 5; exact for integers up to 2^31).  A value
 * beyond +-2^31 or NaN is never clipped silently: every rank returns
 * FS_ERR_NUMERIC.
 */
FS_EXPORT fs_err fs_secagg_sum_f64(fs_secagg *sa, uint64_t round, uint32_t vector_id,
                                   const double *in, double *out, size_t n,
                                   fs_fixed_stats *stats) FS_WARN_UNUSED;

/*
 * fs_secagg_sum_words - securely sum words the caller encoded itself (ring
 * of opts.vec.ring_bits; e.g. fixed-point values plus integer noise for
 * distributed DP).  words holds n + 1 ring words: words[n] is the canary
 * and must be 0 on entry.  In place: on return words[0..n) hold the mod-2^b
 * sum over ranks (the caller decodes it).  Collective; same (round,
 * vector_id, n) on every rank; (round, vector_id) fresh for the session.
 * The caller must keep the sum within its own headroom.  `local` is the
 * caller's status of preparing words (encoding, noise): it is agreed
 * across ranks before any data moves, so a rank-local failure stops every
 * rank.  Two collectives: that agreement and one blocking reduction of
 * the n + 1 words; a canary that is not 0 (the same on every rank in an
 * honest run) is agreed before FS_ERR_AUTH is returned.  Returns the same
 * code on every rank: FS_OK, the agreed local error, FS_ERR_AUTH (canary),
 * FS_ERR_ARG, FS_ERR_MPI.
 */
FS_EXPORT fs_err fs_secagg_sum_words(fs_secagg *sa, uint64_t round, uint32_t vector_id,
                                     void *words, size_t n, fs_err local) FS_WARN_UNUSED;

/* The reduction schedule of fs_secagg_sum_f32. */
typedef struct {
    size_t chunk_bytes;     /* words per MPI_Iallreduce, in bytes; 0 = automatic:
                               one blocking reduction up to 1 MiB of words,
                               else 256 KiB chunks; beyond 8 ranks 4 MiB and
                               1 MiB chunks (rounded up to whole
                               16 KiB masking blocks)                       */
    int depth;              /* reductions in flight; 0 = automatic (2; 4
                               beyond 8 ranks)                              */
    int separate;           /* 1: reduce each chunk from its send slot into a
                               separate receive slot (for N >= 4 Open MPI's
                               libnbc then runs reduce-scatter + allgather
                               instead of a binomial tree); -1: in place;
                               0 = automatic: separate for N = 2 and 5..8  */
    int blocking;           /* 1: reduce each chunk with one blocking
                               MPI_Allreduce as soon as it is masked (depth
                               is then 1: masking the next chunk waits for
                               it); -1: nonblocking MPI_Iallreduce pipeline;
                               0 = automatic: blocking when the ranks are
                               on more than one node and chunk_bytes and
                               depth are both automatic (one reduction up
                               to 64 MiB of words, else 16 MiB chunks),
                               nonblocking otherwise                        */
} fs_secagg_pipeline;

/*
 * fs_secagg_set_pipeline - set the schedule (NULL: automatic).  For
 * benchmarks and tuning; the result does not depend on it (sums are
 * exact).  Collective: every rank must pass the same values (checked;
 * FS_ERR_ARG otherwise, and for chunk_bytes in 1..63 or above 1 GiB,
 * depth < 0, separate or blocking outside -1..1), FS_ERR_MPI.
 */
FS_EXPORT fs_err fs_secagg_set_pipeline(fs_secagg *sa,
                                        const fs_secagg_pipeline *p) FS_WARN_UNUSED;

/*
 * fs_secagg_pipeline_plan - the schedule fs_secagg_sum_f32 uses for n
 * values: chunk_bytes per reduction (the whole reduced vector of n + 2
 * words, values, canary and flag word, when it is one blocking reduction;
 * then depth = 0 and blocking = 1), depth, separate = 1 (separate receive
 * slots) or 0 (in place), and blocking = 1 (one blocking MPI_Allreduce per
 * chunk) or 0 (nonblocking pipeline).  Not collective; the same on every
 * rank (the transport is agreed at fs_secagg_create).
 */
FS_EXPORT void fs_secagg_pipeline_plan(const fs_secagg *sa, size_t n, fs_secagg_pipeline *out);

/* Where the time of one fs_secagg_sum_f32 or fs_secagg_sum_words call
 * went on this rank (wall seconds, monotonic clock).  The parts do not
 * overlap; total_s minus their sum is the agreement collectives, buffer
 * set-up and callbacks.  For fs_secagg_sum_words: encode_s is 0 (the
 * caller encodes), keystream_s is the masking, reduce_s the agreement on
 * the caller's status plus the one blocking reduction, decode_s 0. */
typedef struct {
    double encode_s;        /* fixed-point encoding (masker)                 */
    double keystream_s;     /* AES-CTR keystream added into the words        */
    double reduce_s;        /* inside MPI: posting, driving, waiting for the
                               reductions of the masked words                */
    double decode_s;        /* decoding the summed words into floats         */
    double total_s;         /* the whole call                                */
    size_t chunk_bytes;     /* the schedule used (fs_secagg_pipeline_plan)   */
    int depth;
    int separate;
    int blocking;
    size_t nchunks;
    int valid;              /* 1 if profiling was on for that call           */
} fs_secagg_profile;

/* fs_secagg_single_node - 1 if every rank of the session shares one node
 * (MPI_COMM_TYPE_SHARED at fs_secagg_create, agreed), 0 if the ranks span
 * several nodes (then the automatic schedule is the blocking one: chunked
 * nonblocking reductions are many times slower over TCP).  Not collective. */
FS_EXPORT int fs_secagg_single_node(const fs_secagg *sa);

/* fs_secagg_profile_enable - time the parts of every later
 * fs_secagg_sum_f32 and fs_secagg_sum_words call on this rank (on != 0)
 * or not (default; then only total_s and the schedule are recorded).
 * Costs a few clock reads per 16 KiB block.  Not collective. */
FS_EXPORT void fs_secagg_profile_enable(fs_secagg *sa, int on);

/* fs_secagg_last_profile - the profile of the last fs_secagg_sum_f32 or
 * fs_secagg_sum_words call on this rank.  Not collective. */
FS_EXPORT void fs_secagg_last_profile(const fs_secagg *sa, fs_secagg_profile *out);
/*
 * fs_secagg_pair_key - a 32-byte key shared by this rank and `peer` only,
 * for point-to-point protection (e.g. AES-256-GCM channels) bound to this
 * session.
 *
 * Not collective.  out = HKDF-SHA256(prk, salt = session id, info = label
 * || min(rank, peer) || max(rank, peer)) with prk = HKDF(g^(a_rank a_peer),
 * session id, "fedsilo pair" || min || max) from the key setup; prk exists
 * for every pair, whatever the mask graph.  Both ranks of the pair obtain
 * the same key for the same label, so a per-direction key is the pair key
 * of a label that names the direction (e.g. "vfl 2->0"); different labels
 * give independent keys.  With a roster the DH values are signed, so only
 * the two institutions can compute the key; without one
 * (allow_unauthenticated) a man in the middle can share a key with each
 * side and the key protects only against passive observers.
 * in:  label (1..256 bytes of text), peer (0..size-1, not this rank)
 * out: out (32 bytes, secret: the caller wipes it)
 * returns FS_OK, FS_ERR_ARG (peer or label out of range), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_secagg_pair_key(const fs_secagg *sa, int peer, const char *label,
                                    uint8_t out[32]) FS_WARN_UNUSED;

/* Wall time of the key setup on this rank, in seconds. */
FS_EXPORT double fs_secagg_setup_seconds(const fs_secagg *sa);

/* CPU time this process spent in the key setup, in seconds (excludes time
 * blocked waiting for other ranks only insofar as MPI waits do not spin). */
FS_EXPORT double fs_secagg_setup_cpu_seconds(const fs_secagg *sa);

/* 1 if the session was authenticated with a roster, else 0. */
FS_EXPORT int fs_secagg_authenticated(const fs_secagg *sa);

/* Neighbours of this rank in the mask graph. */
FS_EXPORT int fs_secagg_degree(const fs_secagg *sa);

/* The 32-byte session id (public); borrowed. */
FS_EXPORT const uint8_t *fs_secagg_session_id(const fs_secagg *sa);

/* The codec of float vectors in use; borrowed. */
FS_EXPORT const fs_fixed_params *fs_secagg_vec_params(const fs_secagg *sa);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_SECAGG_H */

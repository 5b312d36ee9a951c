/*
 * fs_psi.h - private set intersection of record identifiers across the
 * ranks of a communicator, for aligning the rows of vertical federated
 * learning.  docs/vertical.md has the protocol, the proof sketch and the
 * measured costs.
 *
 * Output to every rank: the ids that EVERY rank holds (the intersection
 * I), as indices into its own id list, in the same order on every rank
 * (sorted by the id bytes).  Released besides I: every rank's number of
 * ids (set sizes), to every rank and to an observer of the MPI transport
 * (who also sees |I|).  Nothing else under DDH in ristretto255 and the
 * PRF security of AES and BLAKE2b, for honest-but-curious ranks: no rank
 * learns, for an id it holds outside I, whether any particular other rank
 * holds it, nor the size of any partial intersection.  Coalitions of two
 * or more ranks can learn sizes of partial intersections (never which
 * ids, beyond what those sizes imply); see docs/vertical.md.
 *
 * Protocol (N ranks, ring i -> i+1):
 *   1. setup: an authenticated secure-sum session (fs_secagg, full mesh)
 *      gives a session id and pair keys; each rank draws a secret scalar
 *      a_i and one secret permutation per ring hop;
 *   2. tags: rank i maps its ids to H(x) = ristretto255 hash of
 *      (label, session id, x), multiplies by a_i, shuffles and sends the
 *      list on; every hop multiplies by its scalar and shuffles again.
 *      After N-1 hops rank i-1 holds the tags T(x) = (a_0...a_{N-1}) H(x)
 *      of rank i's ids, in an order no single rank knows.  Tags are never
 *      sent anywhere;
 *   3. membership: R rounds of a hashed table of B words per holder, each
 *      tag contributing a zero share keyed by the pair keys; the tables go
 *      through the secure sum and a slot sums to 0 exactly when every
 *      holder wrote the same tag there (fs_psi_match.c).  B and R follow
 *      from the public sizes so that P(some id of I is missed) <= 2^-40;
 *   4. flags: each holder sends "in I" bits back along the ring, every hop
 *      undoing its permutation, so each rank learns which of its own ids
 *      are in I;
 *   5. the ranks sort I by id bytes and check, with zero shares of a hash
 *      of I summed along the ring, that they all hold the same I.
 * Every ring message carries a BLAKE2b MAC under the pair key of its two
 * ranks, so a message altered in transit stops every rank (FS_ERR_AUTH,
 * the message names the link); altered secure sums can only remove ids
 * from I on every rank alike or stop every rank at step 5.
 */
#ifndef FEDSILO_FS_PSI_H
#define FEDSILO_FS_PSI_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_config.h"
#include "fs_opts.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The run control of fs_fed.h (progress and stop state of a run; C11
 * allows the repeated typedef). */
typedef struct fs_run_ctl fs_run_ctl;

/* Bytes of one group element on the wire (ristretto255). */
#define FS_PSI_ELEMBYTES 32

/* fs_psi_opts_default - no roster, authentication required, threads 0
 * (fs_psi_opts is in fs_opts.h: the CLI's psi options and these). */
FS_EXPORT void fs_psi_opts_default(fs_psi_opts *o);

/* Measurements of one run on this rank (fs_psi_intersect fills it). */
typedef struct {
    double seconds;              /* wall time of the whole call             */
    double setup_seconds;        /* authenticated key setup                 */
    double tag_seconds;          /* hashing and the N multiplication hops   */
    double match_seconds;        /* membership rounds (secure sums)         */
    double finish_seconds;       /* flags back, sorting, result check       */
    double cpu_seconds;          /* CPU time of this process (all threads)
                                  * during the call: with the sum over ranks
                                  * / seconds, the cores the job got        */
    uint64_t scalarmults;        /* ristretto255 multiplications here       */
    uint64_t table_words;        /* B: words per membership round           */
    uint32_t rounds;             /* R: membership rounds                    */
    double log2_miss;            /* log2 of the bound on P(an id of I is missed) */
    int threads;                 /* threads used for the group operations   */
    uint8_t session_id[32];      /* public id of the job's key setup (zeros
                                  * when nothing was matched: 1 rank or an
                                  * empty set); the hash to the group uses it */
} fs_psi_report;

/*
 * fs_psi_intersect - indices of this rank's ids that every rank holds.
 *
 * Collective on comm (duplicated internally with MPI_ERRORS_RETURN; the
 * caller keeps comm).  ids: n NUL-terminated strings (borrowed; compared
 * as bytes; n may be 0 and may differ between ranks; no id may repeat).
 * opts: NULL means fs_psi_opts_default (which refuses to run without a
 * roster on more than one rank).  report: NULL or filled on success.
 * On success *idx_out (owned by the caller, free()) holds *m_out indices
 * into ids, sorted by the bytes of ids[idx] (strcmp order), so entry t
 * names the same id on every rank; *m_out is the same on every rank.  A
 * single rank gets all its ids, sorted.  On failure *idx_out == NULL and
 * *m_out == 0.
 * returns the same code on every rank: FS_OK, FS_ERR_ARG (NULL argument,
 * NULL id, more than 2^32 - 2 ids, no roster without
 * allow_unauthenticated, roster mismatch), FS_ERR_DATA (a repeated id on
 * some rank: the message names the rank and the two positions, never the
 * id; a received value outside the group), FS_ERR_IO (roster or key file),
 * FS_ERR_AUTH (authentication failed: key setup, an altered message, or
 * the ranks' results differ), FS_ERR_NOMEM, FS_ERR_CRYPTO, FS_ERR_MPI.
 * WARNING: secure against honest-but-curious ranks; a rank that deviates
 * can add ids to probe membership (inherent to any PSI) or drop tags to
 * shrink the result; see docs/vertical.md.
 */
FS_EXPORT fs_err fs_psi_intersect(MPI_Comm comm, const fs_psi_opts *opts,
                                  const char *const *ids, size_t n, size_t **idx_out,
                                  size_t *m_out, fs_psi_report *report) FS_WARN_UNUSED;

/* The outcome of a `fedsilo psi` run on this rank. */
typedef struct {
    int nranks;
    size_t n;                    /* this rank's ids                          */
    size_t m;                    /* the intersection (the same everywhere)   */
    double seconds;              /* wall time of the intersection            */
    int dataset;                 /* 1: --data (aligned datasets written)     */
    char out_path[4096];         /* this rank's output file                  */
} fs_psi_run_report;

/*
 * fs_psi_run - `fedsilo psi` on the federation core: options from cfg (a
 * psi configuration; agreed), this rank's ids (--ids text file or the /ids
 * of the --data dataset; %d = rank), fs_psi_intersect on the core's
 * private communicator, and this rank's output (durable): 'row,id' lines,
 * or the dataset of the common rows in the common order.  Collective on
 * comm.  returns the same code on every rank.  ctl (or NULL) receives the
 * run's progress (the open, the intersection) for a watchdog thread.
 */
FS_EXPORT fs_err fs_psi_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                            fs_psi_run_report *out)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* FEDSILO_FS_PSI_H */

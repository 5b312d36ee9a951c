/*
 * fs_fed.h - the federation core: what every cross-institution program of
 * fedsilo does before, around and after its secure sums, in one object.
 *
 * One communicator is one federation (the ranks of one MPI job, or the
 * separately launched jobs that the CLI joins with --site-rendezvous into
 * one communicator in the same rank order); rank i is institution i of the roster, or
 * with --exclude the i-th of the roster's remaining institutions (the
 * member map, fs_fed_member).  Every program
 * (train, stats, ridge, vfl-train, psi, and later ones) opens one fs_fed
 * and does not repeat any of this:
 *
 *   fs_fed_open       private communicator (MPI_ERRORS_RETURN); pre-flight
 *                     agreement on the configuration hash; the run
 *                     directory with config.ini (rank 0); the members
 *                     (--exclude, --min-institutions); this rank's shard
 *                     from the --data pattern or the roster's data = path,
 *                     the parts the program asks for; pre-flight agreement
 *                     on public shard metadata and on shard ownership
 *   fs_fed_connect    the sum session: secure (key setup) or plain
 *   fs_fed_sum_*      every quantity that leaves a rank
 *   fs_fed_round_end  model-digest comparison, verdict transcript and the
 *                     stop flag, MACed for every peer with the session's
 *                     pair keys (one MPI_Alltoall)
 *   fs_fed_close
 *
 * with progress and stop state per run (fs_run_ctl), the run directory's
 * metrics.jsonl (append, restart at a round, read) and checkpoint policy,
 * and the run's privacy ledger (fs_ledger.h).
 *
 * Collective discipline: every function documented Collective returns the
 * same code on every rank; rank-local failures are agreed (fs_agree) before
 * the next collective, and messages name the failing rank once.
 */
#ifndef FEDSILO_FS_FED_H
#define FEDSILO_FS_FED_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_config.h"
#include "fs_crypto.h"
#include "fs_data.h"
#include "fs_ledger.h"
#include "fs_opts.h"
#include "fs_secagg.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- run control

/*
 * Progress and stop state of one run, shared between the program (which
 * writes it) and the caller's threads and signal handlers (which read it or
 * request a stop).  Create one per run.  fs_fed_open resets the progress
 * stamp but keeps a stop request that arrived before (a SIGTERM during
 * startup is not lost).
 */
typedef struct fs_run_ctl fs_run_ctl;

/* fs_run_ctl_create - idle, no stop requested.  Caller owns *out. */
FS_EXPORT fs_err fs_run_ctl_create(fs_run_ctl **out) FS_WARN_UNUSED;
/* fs_run_ctl_destroy - NULL-safe; sets *c = NULL.  No run may use it any more. */
FS_EXPORT void fs_run_ctl_destroy(fs_run_ctl **c);

/*
 * fs_run_ctl_request_stop - ask the run to stop after the current round,
 * with a checkpoint.  Async-signal-safe (one sig_atomic_t store): call it
 * from a SIGUSR1/SIGTERM handler.  Ranks agree on the request at the end of
 * each round (fs_fed_round_end), so one signalled rank suffices.
 */
FS_EXPORT void fs_run_ctl_request_stop(fs_run_ctl *c);

/*
 * fs_run_ctl_progress - for a watchdog thread: seconds since the run on
 * this rank last completed a step (a collective or a local phase), the name
 * of the phase it is in ("local training", "aggregation", ...) and the
 * 1-based round (0 before the first).  Returns -1 when no run is active.
 * Not collective; thread-safe (lock-free reads).
 */
FS_EXPORT double fs_run_ctl_progress(const fs_run_ctl *c, const char **phase, int *round);

/*
 * fs_run_ctl_local_progress - for a progress display: local steps done and
 * planned in the current local phase (*total is 0 outside it, or when the
 * count is not known in advance).  Not collective; thread-safe.
 */
FS_EXPORT void fs_run_ctl_local_progress(const fs_run_ctl *c, long *done, long *total);

// ---------------------------------------------------------------- the federation

typedef struct fs_fed fs_fed;

/* Parts of this rank's shard that fs_fed_open reads (bit set; 0 = no shard:
 * the program reads its own files from its own rank patterns). */
enum { FS_FED_READ_TRAIN = 1, FS_FED_READ_VALIDATION = 2,
       /* with either part: accept missing cells (NaN) of a shard imported
        * with a schema (fs_dataset_read_ex, FS_READ_ALLOW_MISSING), for a
        * program that imputes them or handles them natively; without it
        * such a shard is refused naming the file and the first feature */
       FS_FED_READ_ALLOW_MISSING = 4 };

/*
 * Pre-flight items (bit set).  Each is agreed across ranks; a mismatch
 * stops every rank with one message naming the rank and the problem, and
 * carries no other institution's private values (only public metadata
 * crosses ranks).  New agreed metadata (a schema hash, a class-name
 * vocabulary) is one more item here.
 *   CONFIG  the configuration hash equals rank 0's (before any data is read)
 *   SHAPE   features, task and classes of the training part equal rank 0's;
 *           the validation part has the training part's features
 *   OWNER   with a roster: this rank does not read another member's shard
 *           (docs/security.md, "Shard ownership")
 *   SCHEMA  the training part's consortium schema (fs_schema.h) has rank
 *           0's canonical hash, or, like rank 0's, none; and its label
 *           vocabulary (the /class_names list, in order) equals rank 0's,
 *           compared by SHA-256 digest.  A mismatch names the institution
 *           (roster name, and the rank) and says "schema differs from rank
 *           0's" or "label vocabulary differs from rank 0's".  Crosses
 *           ranks: rank 0's schema hash (public) and vocabulary digest.
 */
enum { FS_PREFLIGHT_CONFIG = 1, FS_PREFLIGHT_SHAPE = 2, FS_PREFLIGHT_OWNER = 4,
       FS_PREFLIGHT_SCHEMA = 8 };

typedef struct {
    const fs_config *cfg;       /* the configuration (hash, config.ini), or
                                   NULL: no CONFIG item, no config.ini      */
    const fs_fed_opts *fed;     /* borrowed until fs_fed_close              */
    unsigned read;              /* FS_FED_READ_* parts                       */
    unsigned preflight;         /* FS_PREFLIGHT_* items                      */
    int run_dir;                /* 1: rank 0 creates fed->out (mkdir -p, must
                                   be writable) and writes OUT/config.ini   */
    fs_run_ctl *ctl;            /* progress and stop, or NULL                */
    fs_err pending;             /* the caller's rank-local status so far (e.g.
                                   of fs_config_options), agreed first: a
                                   failure stops every rank with its message */
} fs_fed_open_opts;

/*
 * fs_fed_open - open the federation.  Collective on comm (duplicated, with
 * MPI_ERRORS_RETURN; the caller keeps comm).  In order: CONFIG item; run
 * directory; this rank's shard and its parts; OWNER and SHAPE items.
 * On success *out is owned by the caller (fs_fed_close); on failure it is
 * NULL.  Returns the same code on every rank: FS_OK, FS_ERR_ARG (options,
 * configuration mismatch, roster without this rank), FS_ERR_IO and
 * FS_ERR_DATA (shards: the message names the rank and the file), FS_ERR_NOMEM,
 * FS_ERR_MPI.
 */
FS_EXPORT fs_err fs_fed_open(MPI_Comm comm, const fs_fed_open_opts *o, fs_fed **out)
    FS_WARN_UNUSED;

/*
 * fs_fed_connect - the sum session from the fed options: the secure sum
 * (authenticated key setup over the roster, codec ring_bits/frac_bits/clip/
 * rounding, mask graph, rounding seed = seed) or the plain baseline.
 * Collective.  Returns the same code on every rank (fs_secagg_create's).
 */
FS_EXPORT fs_err fs_fed_connect(fs_fed *fed) FS_WARN_UNUSED;

/* fs_fed_close - collective (frees the communicators); NULL-safe; *fed = NULL. */
FS_EXPORT void fs_fed_close(fs_fed **fed);

/* fs_fed_agree - fs_agree on the federation's communicator; the outcome
 * enters the round's verdict transcript (fs_fed_round_end). Collective. */
FS_EXPORT fs_err fs_fed_agree(fs_fed *fed, fs_err local) FS_WARN_UNUSED;

/*
 * fs_fed_sum_f32 / _f64 - out = sum over ranks of in (n values) through the
 * session of fs_fed_connect; see fs_secagg_sum_f32/_f64 for the codecs.
 * (round, vector_id) must be fresh for the session, and vector_id must be
 * registered in the run's privacy ledger (fs_ledger_register), else
 * FS_ERR_ARG on every rank before anything is sent.  *nclipped (f32; may
 * be NULL) = this rank's clipped coordinates.  The call (vector id, round,
 * n, outcome) enters the round's verdict transcript (fs_fed_round_end).
 * Collective.
 */
FS_EXPORT fs_err fs_fed_sum_f32(fs_fed *fed, uint64_t round, uint32_t vector_id,
                                const float *in, float *out, size_t n, size_t *nclipped)
    FS_WARN_UNUSED;
FS_EXPORT fs_err fs_fed_sum_f64(fs_fed *fed, uint64_t round, uint32_t vector_id,
                                const double *in, double *out, size_t n) FS_WARN_UNUSED;

/*
 * fs_fed_round_end - end of a round: the global model must be identical on
 * every rank, every rank must have seen the same sums and verdicts in the
 * round, and a stop request on any rank stops all.  Collective.
 *
 * With a secure-sum session (fs_fed_connect, --aggregation secure): every
 * rank i sends every peer j its model digest D_i (BLAKE2b-256 of the n
 * floats' bytes) and stop flag with a tag under the pair key of (i, j)
 * (fs_secagg_pair_key, label "fedsilo round-end") over the session id, the
 * round, (i, j), this round's verdict transcript (every fs_fed_sum_* and
 * fs_fed_agree since the previous round end: kind, round, vector id,
 * length, outcome), D_i and the flag; one MPI_Alltoall; every rank checks
 * every peer's tag against its own transcript, then D_j against its own
 * digest.  A tag that does not verify is FS_ERR_AUTH ("the round-end
 * message of rank J ('NAME') failed authentication after round R ..."), a
 * verified other digest FS_ERR_DATA ("global models diverged ..."); either
 * is agreed, and a rank that detected it stops even if the agreement is
 * forged (fs_agree).  So if any rank passes, every rank's authentic model
 * and transcript equal its own; a transport that makes models diverge makes
 * every rank fail.  With --insecure-no-auth the pair keys come from an
 * unauthenticated DH: a man in the middle of the key setup holds them and
 * can forge the tags.
 * Without a session (plain aggregation): one unauthenticated MPI_Allreduce
 * MAX of (h, ~h, t, ~t, stop) over the first 8 bytes of the digest and of
 * the transcript (FS_ERR_DATA on a difference); it detects honest bugs
 * only, not an active transport.
 * *stop = 1 if any rank's run control asked to stop.  Either way nothing is
 * checkpointed after a failure.  Resets the transcript for the next round.
 */
FS_EXPORT fs_err fs_fed_round_end(fs_fed *fed, int round, const float *params, size_t n,
                                  int *stop) FS_WARN_UNUSED;

/*
 * fs_fed_round_end_hash - fs_fed_round_end for a model that is not a float
 * vector (trees): h is the caller's fingerprint of its model, and the
 * digest compared and authenticated is BLAKE2b-256 of h (8 bytes, little
 * endian), with the same verdict transcript (fs_fed_sum_words enters it
 * too).  Collective.
 */
FS_EXPORT fs_err fs_fed_round_end_hash(fs_fed *fed, int round, uint64_t h, int *stop)
    FS_WARN_UNUSED;

/*
 * fs_fed_sum_words - words[0..n) = their sum over ranks mod 2^64, in place
 * (words has n + 1 slots, words[n] == 0: the canary of
 * fs_secagg_sum_words).  Secure: fs_secagg_sum_words on the session, whose
 * ring must be 64 bits; plain: an integer MPI_Allreduce of the same words.
 * local = this rank's status of preparing the words, agreed first.
 * (round, vector_id) fresh for the session; vector_id must be registered in
 * the run's ledger (fs_ledger_register), else FS_ERR_ARG on every rank
 * before anything is sent.  Collective; same code on every rank.
 */
FS_EXPORT fs_err fs_fed_sum_words(fs_fed *fed, uint64_t round, uint32_t vector_id,
                                  uint64_t *words, size_t n, fs_err local) FS_WARN_UNUSED;

/*
 * fs_fed_ledger_open - make the run's privacy ledger durable: when an
 * accountant is enabled, each rank binds the ledger to its own journal
 * OUT/privacy-ledger-rank<k>.txt (fs_ledger_journal_open: created, or
 * replayed when an earlier run in the same directory charged rounds, with
 * --resume no as well), and the ranks agree on the number of charged rounds:
 * a rank whose file is one record behind another's (a crash between their
 * appends) charges that round too, so the count only ever goes up; files
 * further apart are FS_ERR_DATA.  *ncharges = the rounds
 * charged by earlier runs.  Without accountants nothing is written and
 * *ncharges = 0.  Call after the accountants are enabled, before the first
 * charge.  Collective; same code on every rank.
 */
FS_EXPORT fs_err fs_fed_ledger_open(fs_fed *fed, long *ncharges) FS_WARN_UNUSED;

/* Accessors (borrowed; valid until fs_fed_close). */
FS_EXPORT MPI_Comm fs_fed_comm(const fs_fed *fed);
FS_EXPORT int fs_fed_rank(const fs_fed *fed);
FS_EXPORT int fs_fed_size(const fs_fed *fed);
FS_EXPORT const fs_fed_opts *fs_fed_options(const fs_fed *fed);
/* This rank's shard path (expanded); "" before it is resolved. */
FS_EXPORT const char *fs_fed_shard_path(const fs_fed *fed);
/* The parts read by fs_fed_open (NULL when not asked for or absent).  The
 * program may modify the rows in place (e.g. standardize them). */
FS_EXPORT fs_dataset *fs_fed_train_part(fs_fed *fed);
FS_EXPORT fs_dataset *fs_fed_validation_part(fs_fed *fed);
/* The roster as loaded on this rank (NULL without one). */
FS_EXPORT const fs_roster *fs_fed_roster(const fs_fed *fed);
/* The secure-sum session (NULL before fs_fed_connect and for plain). */
FS_EXPORT fs_secagg *fs_fed_secagg(fs_fed *fed);
/* "secure" or "plain". */
FS_EXPORT const char *fs_fed_aggregation_name(const fs_fed *fed);
/* Key-setup wall seconds on this rank (0 for plain). */
FS_EXPORT double fs_fed_setup_seconds(const fs_fed *fed);
/* The run's privacy ledger (owned by fed). */
FS_EXPORT fs_ledger *fs_fed_ledger(fs_fed *fed);
/* The configuration hash agreed at open (0 without a configuration). */
FS_EXPORT uint64_t fs_fed_config_hash(const fs_fed *fed);
/*
 * fs_fed_member - the roster index of the institution at MPI rank `rank`
 * (0 <= rank < size): rank itself, or with --exclude the rank-th of the
 * roster's remaining institutions in roster order.  Per-institution
 * streams (local SGD, DP noise) and '%d' in --data/--identity use it, so
 * an institution keeps them when others leave.  Not collective.
 */
FS_EXPORT int fs_fed_member(const fs_fed *fed, int rank);
/* fs_fed_member_name - roster name of the institution at `rank`, or NULL
 * without a (matching) roster.  Borrowed.  Not collective. */
FS_EXPORT const char *fs_fed_member_name(const fs_fed *fed, int rank);

/* fs_fed_mark - record progress: phase name (static string) and round.
 * Not collective; cheap; a no-op without a run control. */
FS_EXPORT void fs_fed_mark(fs_fed *fed, const char *phase, int round);
/* fs_fed_local_progress - set the local-step counters of the run control
 * (total 0: not in a local phase). */
FS_EXPORT void fs_fed_local_progress(fs_fed *fed, long done, long total);

// ---------------------------------------------------------------- run directory

/*
 * fs_fed_run_path - out = OUT/name of the run directory.  returns FS_OK or
 * FS_ERR_ARG (too long).  Not collective.
 */
FS_EXPORT fs_err fs_fed_run_path(const fs_fed *fed, const char *name, char *out, size_t cap)
    FS_WARN_UNUSED;

/*
 * fs_fed_metrics_restart - make OUT/metrics.jsonl hold exactly the lines of
 * rounds 1..keep_round (0: none; lines of an earlier run in the directory
 * are dropped, so no round appears twice), rewritten durably by rank 0.
 * Collective.
 */
FS_EXPORT fs_err fs_fed_metrics_restart(fs_fed *fed, int keep_round) FS_WARN_UNUSED;

/*
 * fs_fed_metrics_append - append one metrics line (a JSON object without
 * newline; see docs/formats.md) to OUT/metrics.jsonl on rank 0, flushed and
 * fsync'd.  Collective (the outcome is agreed).
 */
FS_EXPORT fs_err fs_fed_metrics_append(fs_fed *fed, const char *json_line) FS_WARN_UNUSED;

/*
 * fs_fed_checkpoint_due - the checkpoint policy: 1 if round (1-based) must
 * be checkpointed: every --checkpoint-every rounds, at the last round, and
 * when the run stops.  Not collective (same answer everywhere).
 */
FS_EXPORT int fs_fed_checkpoint_due(const fs_fed *fed, int round, int rounds, int stop);

/* A learning-curve point of metrics.jsonl (NaN: not recorded that round). */
typedef struct {
    double round, train_loss, val_loss, val_metric, test_loss, test_metric, epsilon, ddp_epsilon;
} fs_run_point;

/* metrics.jsonl as read back. */
typedef struct {
    fs_run_point *points;       /* (n) in file order                          */
    size_t n;
    int regression;             /* the metric columns are *_rmse, not accuracy */
    char aggregation[32];       /* of the last round that names it            */
    size_t skipped;             /* lines that are not a JSON object with a
                                   numeric "round" (e.g. a torn last line)   */
    size_t first_bad_line;      /* 1-based line of the first skipped line     */
} fs_run_log;

/*
 * fs_run_log_read - read a metrics.jsonl file (the writer's own reader:
 * jansson, one line per round).  Not collective.  Caller owns *out
 * (fs_run_log_free).  returns FS_OK, FS_ERR_IO (cannot read path) or
 * FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_run_log_read(const char *path, fs_run_log **out) FS_WARN_UNUSED;
/* fs_run_log_free - NULL-safe; sets *log = NULL. */
FS_EXPORT void fs_run_log_free(fs_run_log **log);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_FED_H */

/*
 * fs_ledger.h - the privacy ledger of one run (federation core; no MPI).
 *
 * One object owns every differential-privacy accountant of a run and the
 * list of what the run releases.  Today it holds at most two accountants,
 * each charged once per round with a fixed mechanism:
 *
 *   FS_LEDGER_DPSGD  record-level DP-SGD: per round `steps` steps of the
 *                    Poisson-subsampled Gaussian mechanism (sigma, q);
 *   FS_LEDGER_DDP    institution-level distributed DP: per round one
 *                    Gaussian mechanism on the sum (z, q = 1, 1 step).
 *
 * The accountants are identical on every rank (same public parameters, same
 * rounds), so every rank answers fs_ledger_would_exceed identically and
 * stops at the same round.  Their state travels in the checkpoint
 * (fs_ledger_serialize / fs_ledger_restore: the fs_rdp_serialize vectors,
 * unchanged), so a resumed run reports the epsilon of an uninterrupted one.
 *
 * The release list is the single source of truth for what a run reveals.
 * Every quantity a program sums across ranks through the federation core is
 * registered here, before its first sum, under its vector id with a class
 * (fs_release_class): protected by a DP mechanism charged to this ledger,
 * post-processing of such releases and of data every institution holds, or
 * public (released exactly, not covered by any epsilon).  fs_fed_sum_*
 * refuse a vector id that is not registered (fs_ledger_check_sum), so a new
 * sum cannot be released silently.
 *
 * Durability (the journal): with fs_ledger_journal_open the ledger is bound
 * to an append-only file of charges; fs_ledger_charge_round writes and
 * fsyncs one record per charge before it returns, so a program that charges
 * a round before it sends the round's contribution never releases anything
 * the file does not count.  Reopening the file replays every record, so a
 * restarted run starts from what was actually charged, whatever its
 * checkpoint says; fs_ledger_verify_prefix checks a checkpoint's budget
 * state against the file.
 *
 * Every function here is Not collective.
 */
#ifndef FEDSILO_FS_LEDGER_H
#define FEDSILO_FS_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_ledger fs_ledger;

typedef enum { FS_LEDGER_DPSGD = 0, FS_LEDGER_DDP = 1 } fs_ledger_accountant;
#define FS_LEDGER_NACCOUNTANTS 2

/* fs_ledger_create - an empty ledger (no accountant, no release).  Caller
 * owns *out (fs_ledger_destroy).  returns FS_OK or FS_ERR_NOMEM. */
FS_EXPORT fs_err fs_ledger_create(fs_ledger **out) FS_WARN_UNUSED;

/* fs_ledger_destroy - NULL-safe; sets *l = NULL. */
FS_EXPORT void fs_ledger_destroy(fs_ledger **l);

/*
 * fs_ledger_enable - start accountant `which` with its per-round mechanism:
 * `steps` steps of the Gaussian mechanism with noise multiplier sigma at
 * sampling rate q.  returns FS_OK, FS_ERR_ARG (already enabled, bad
 * parameters) or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_ledger_enable(fs_ledger *l, fs_ledger_accountant which, double sigma, double q,
                                  long steps) FS_WARN_UNUSED;

/* fs_ledger_enabled - 1 if accountant `which` was enabled, else 0. */
FS_EXPORT int fs_ledger_enabled(const fs_ledger *l, fs_ledger_accountant which);

/*
 * fs_ledger_would_exceed - would charging one more round take any enabled
 * accountant past epsilon `budget` at `delta`?  *exceed = 1 if so (never
 * when budget <= 0 or no accountant is enabled); *eps_next (may be NULL)
 * = the largest epsilon after that round (0 without accountants).  The
 * ledger is unchanged.  returns FS_OK or the accountant's error.
 */
FS_EXPORT fs_err fs_ledger_would_exceed(const fs_ledger *l, double budget, double delta,
                                        int *exceed, double *eps_next) FS_WARN_UNUSED;

/*
 * fs_ledger_charge_round - charge one round to every enabled accountant;
 * with a journal, the record is written and fsync'd before this returns
 * (FS_ERR_IO when it cannot be: then nothing is charged in memory either,
 * and the caller must not release the round).
 */
FS_EXPORT fs_err fs_ledger_charge_round(fs_ledger *l) FS_WARN_UNUSED;

/* fs_ledger_epsilon - epsilon spent so far by `which` at delta (improved
 * conversion); NaN when it is not enabled.  returns FS_OK or an error. */
FS_EXPORT fs_err fs_ledger_epsilon(const fs_ledger *l, fs_ledger_accountant which, double delta,
                                   double *eps) FS_WARN_UNUSED;

/*
 * fs_ledger_serialize - the state of accountant `which` as the vector the
 * checkpoint stores (fs_rdp_serialize); *buf is borrowed (valid until the
 * next call on l); *buf = NULL, *len = 0 when it is not enabled.
 */
FS_EXPORT fs_err fs_ledger_serialize(fs_ledger *l, fs_ledger_accountant which,
                                     const double **buf, size_t *len) FS_WARN_UNUSED;

/*
 * fs_ledger_restore - replace the state of the enabled accountant `which`
 * with a serialized one (from a checkpoint).  returns FS_OK, FS_ERR_ARG
 * (not enabled) or FS_ERR_DATA (malformed vector).
 */
FS_EXPORT fs_err fs_ledger_restore(fs_ledger *l, fs_ledger_accountant which, const double *buf,
                                   size_t len) FS_WARN_UNUSED;

/* How a released quantity is protected. */
typedef enum {
    FS_RELEASE_PUBLIC = 0,    /* an exact sum: NOT covered by any epsilon of
                                 this ledger (with two institutions each
                                 learns the other's exact value)            */
    FS_RELEASE_DP = 1,        /* a DP mechanism charged to this ledger      */
    FS_RELEASE_POSTPROC = 2   /* a function of DP-covered releases and of data
                                 every institution holds (e.g. the global
                                 model on the shared --test file): each
                                 institution could compute it alone, so it
                                 reveals nothing more                       */
} fs_release_class;

/* fs_release_class_name - "public", "dp" or "post-processing". */
FS_EXPORT const char *fs_release_class_name(fs_release_class c);

/*
 * fs_ledger_register - register the cross-rank sum with vector id
 * `vector_id` (> 0; the id of fs_fed_sum_*): what it is (`name`, e.g.
 * "training loss sums (every round)"), its class and `mechanism` (e.g.
 * "DP-SGD, record level", "exact sum").  Strings are copied.  Registering an
 * id again with the same class is a no-op; with another class it is
 * FS_ERR_ARG (one quantity, one protection).  Register identically on every
 * rank.  returns FS_OK, FS_ERR_ARG or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_ledger_register(fs_ledger *l, uint32_t vector_id, const char *name,
                                    fs_release_class cls, const char *mechanism) FS_WARN_UNUSED;

/*
 * fs_ledger_check_sum - may vector `vector_id` be summed across ranks?
 * FS_OK when it was registered, else FS_ERR_ARG ("not registered in the
 * privacy ledger": a programming error, caught before anything is sent).
 * *cls (may be NULL) = its class.
 */
FS_EXPORT fs_err fs_ledger_check_sum(const fs_ledger *l, uint32_t vector_id,
                                     fs_release_class *cls) FS_WARN_UNUSED;

/* fs_ledger_vector_class - the class of registered vector `vector_id`, or
 * -1 when it is not registered (no error is set). */
FS_EXPORT int fs_ledger_vector_class(const fs_ledger *l, uint32_t vector_id);

/*
 * fs_ledger_note_release - list a release that does not go through
 * fs_fed_sum_* (e.g. a program summing with fs_secagg_sum_* directly):
 * `name` protected by `mechanism` ("public" for an exact release, which
 * gives class FS_RELEASE_PUBLIC, anything else FS_RELEASE_DP).  A name
 * noted twice keeps its first entry.  returns FS_OK or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_ledger_note_release(fs_ledger *l, const char *name, const char *mechanism)
    FS_WARN_UNUSED;

/* fs_ledger_nreleases / fs_ledger_release - the release list in the order
 * registered or noted; the strings are borrowed (valid while l lives).
 * fs_ledger_release returns 0, or -1 when i is out of range.
 * fs_ledger_release_class - the class of entry i (FS_RELEASE_PUBLIC when i
 * is out of range). */
FS_EXPORT size_t fs_ledger_nreleases(const fs_ledger *l);
FS_EXPORT int fs_ledger_release(const fs_ledger *l, size_t i, const char **name,
                                const char **mechanism);
FS_EXPORT fs_release_class fs_ledger_release_class(const fs_ledger *l, size_t i);

/*
 * fs_ledger_journal_open - bind the ledger to its durable journal at
 * `path` (created if missing, mode 0600), after the accountants are
 * enabled and before the first charge.  Every complete record already in
 * the file is replayed into the accountants (a torn last line, from a
 * crash inside a write, is cut off: its charge was never made durable, so
 * its round was never sent); *ncharges = the records replayed.  From then
 * on fs_ledger_charge_round appends and fsyncs one record per charge.  A
 * record for an accountant this run has not enabled is FS_ERR_DATA (the
 * budget of an earlier run in the same place would be forgotten).
 * Not collective (each institution keeps its own file).  returns FS_OK,
 * FS_ERR_ARG (already open, no accountant), FS_ERR_IO, FS_ERR_DATA (a
 * malformed record, naming the file and line) or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_ledger_journal_open(fs_ledger *l, const char *path, long *ncharges)
    FS_WARN_UNUSED;

/* fs_ledger_charges - rounds charged so far (replayed and new). */
FS_EXPORT long fs_ledger_charges(const fs_ledger *l);

/*
 * fs_ledger_verify_prefix - does the serialized state (buf, len) of
 * accountant `which` (e.g. from a checkpoint) equal the state after the
 * first `k` charges of this ledger?  FS_OK if so; FS_ERR_DATA when it
 * differs or k exceeds the charges (the message says so without values);
 * FS_ERR_ARG when `which` is not enabled.  The ledger is unchanged.
 */
FS_EXPORT fs_err fs_ledger_verify_prefix(const fs_ledger *l, fs_ledger_accountant which, long k,
                                         const double *buf, size_t len) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_LEDGER_H */

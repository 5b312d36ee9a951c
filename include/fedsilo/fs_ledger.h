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
 * The release list names every quantity that leaves a rank and the
 * mechanism that protects it ("public" when it is released exactly).  It
 * is descriptive: the rules that will act on it (charging before a release
 * is decoded, per-release mechanisms) are not implemented here yet.
 *
 * Every function here is Not collective.
 */
#ifndef FEDSILO_FS_LEDGER_H
#define FEDSILO_FS_LEDGER_H

#include <stddef.h>
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

/* fs_ledger_charge_round - charge one round to every enabled accountant. */
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

/*
 * fs_ledger_note_release - record that the run releases `name` (e.g. "model
 * update") protected by `mechanism` (e.g. "DP-SGD, record level", or
 * "public" for an exact release).  Both strings are copied.  A name noted
 * twice keeps its first entry.  returns FS_OK or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_ledger_note_release(fs_ledger *l, const char *name, const char *mechanism)
    FS_WARN_UNUSED;

/* fs_ledger_nreleases / fs_ledger_release - the release list in the order
 * noted; the strings are borrowed (valid while l lives).  fs_ledger_release
 * returns 0, or -1 when i is out of range. */
FS_EXPORT size_t fs_ledger_nreleases(const fs_ledger *l);
FS_EXPORT int fs_ledger_release(const fs_ledger *l, size_t i, const char **name,
                                const char **mechanism);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_LEDGER_H */

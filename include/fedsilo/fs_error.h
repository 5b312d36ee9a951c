/*
 * fs_error.h - the one error type of libfedsilo and its message buffer.
 *
 * Every fallible function returns an fs_err.  On failure the site that
 * detected the problem records one human-readable sentence (naming the
 * file, the rank/institution and the problem where it knows them) in a
 * thread-local buffer, readable with fs_errmsg().  The numeric order of the
 * codes is their severity: fs_agree() reduces them with MAX, so the most
 * severe failure anywhere in a communicator wins.
 */
#ifndef FEDSILO_FS_ERROR_H
#define FEDSILO_FS_ERROR_H

#include <stdarg.h>
#include "fs_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FS_OK = 0,
    FS_ERR_ARG,         /* invalid argument, flag or configuration value    */
    FS_ERR_DATA,        /* malformed or mismatched data (file parses badly) */
    FS_ERR_IO,          /* file system / HDF5 I/O failure                   */
    FS_ERR_NUMERIC,     /* NaN/Inf in a loss or model                       */
    FS_ERR_NOMEM,       /* allocation failed                                */
    FS_ERR_CRYPTO,      /* libcrypto or GMP reported failure                */
    FS_ERR_AUTH,        /* integrity check failed: never says which byte   */
    FS_ERR_INTERRUPTED, /* stopped on request (signal); state is saved      */
    FS_ERR_MPI          /* MPI call failed or the communicator broke        */
} fs_err;

/*
 * fs_strerror - short static name of an error code ("bad argument", ...).
 * Not collective.  Returns a borrowed string valid for the program's life.
 */
FS_EXPORT const char *fs_strerror(fs_err code);

/*
 * fs_errmsg - the message recorded by the most recent failure on this
 * thread ("" when none).  Not collective.  Borrowed; valid until the next
 * fs_error_set on this thread.
 */
FS_EXPORT const char *fs_errmsg(void);

/*
 * fs_error_set - record a failure message (printf-style) and return code.
 * Not collective.  Replaces the previous message.  Never prints.
 */
FS_EXPORT fs_err fs_error_set(fs_err code, const char *fmt, ...) FS_PRINTF(2, 3);

/* fs_error_vset - va_list form of fs_error_set. */
FS_EXPORT fs_err fs_error_vset(fs_err code, const char *fmt, va_list ap);

/*
 * fs_error_prefix - prepend context ("while reading shard x: ") to the
 * current message, keeping the code.  Returns code.  Not collective.
 */
FS_EXPORT fs_err fs_error_prefix(fs_err code, const char *fmt, ...) FS_PRINTF(2, 3);

/*
 * Public message + private detail.  A message that fs_agree distributes is
 * read by every institution, so it may carry only the failing rank, the
 * class of problem and public configuration (option values, the kind of
 * file).  What only the failing institution may see (its row counts, file
 * paths, cell values, scores) goes into the detail:
 *
 *   local = fs_error_set(FS_ERR_DATA, "its shard has too few rows for the "
 *                        "DP-SGD batch (--dp-sampling-rate %g)", q);
 *   fs_error_detail(local, "%zu rows give a batch of %zu", n, b);
 *
 * fs_error_detail - attach a private detail (printf-style) to the current
 * message and return code.  Not collective.  Kept by fs_error_prefix,
 * cleared by fs_error_set and fs_error_clear.  fs_agree logs it on the
 * failing rank only ("rank R: MESSAGE [this institution only: DETAIL]")
 * and never sends it; fs_errdetail returns it ("" when none) for callers
 * that report a failure on the same rank (a single-process command).
 */
FS_EXPORT fs_err fs_error_detail(fs_err code, const char *fmt, ...) FS_PRINTF(2, 3);
FS_EXPORT const char *fs_errdetail(void);

/*
 * fs_error_privatize - make the current message private: it becomes the
 * detail (before any detail it had), and the new public message is fmt.
 * For a boundary where a lower layer's full message (a file path, a row, a
 * cell value) is about to be agreed across institutions.  Returns code.
 * Not collective.
 */
FS_EXPORT fs_err fs_error_privatize(fs_err code, const char *fmt, ...) FS_PRINTF(2, 3);

/* fs_error_clear - reset this thread's message (and detail) to "". */
FS_EXPORT void fs_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_ERROR_H */

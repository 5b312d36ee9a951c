/*
 * fs_file.h - durable file publishing, mkdir -p and rank-path expansion
 * (core layer; no MPI).  Every file libfedsilo writes goes through one of
 * the three publish functions below.  Every function here is Not
 * collective; on failure it records a message naming the file.
 */
#ifndef FEDSILO_FS_FILE_H
#define FEDSILO_FS_FILE_H

#include <stddef.h>
#include <stdio.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a file's contents to f; returns FS_OK or an error with a message. */
typedef fs_err (*fs_file_write_fn)(FILE *f, void *user);

/*
 * fs_file_publish - replace path durably with what write(f, user) writes:
 * PATH.tmp.<pid> is written, flushed, fsync'd, renamed over path, and the
 * directory fsync'd.  On failure path is untouched and the temporary file
 * removed.  returns FS_OK, write's error, FS_ERR_ARG (path too long) or
 * FS_ERR_IO.
 */
FS_EXPORT fs_err fs_file_publish(const char *path, fs_file_write_fn write, void *user)
    FS_WARN_UNUSED;

/*
 * fs_file_commit - publish a complete file that was written under the
 * temporary name tmp (same directory as path; e.g. by HDF5 or gnuplot):
 * fsync tmp, rename it over path, fsync the directory.  On failure tmp is
 * left for the caller to remove.  returns FS_OK or FS_ERR_IO.
 */
FS_EXPORT fs_err fs_file_commit(const char *tmp, const char *path) FS_WARN_UNUSED;

/*
 * fs_file_tmp_name - out = path + ".tmp.<pid>", the temporary name that
 * fs_file_publish uses.  returns FS_OK or FS_ERR_ARG (does not fit cap).
 */
FS_EXPORT fs_err fs_file_tmp_name(char *out, size_t cap, const char *path) FS_WARN_UNUSED;

/*
 * fs_file_append_line - append line and a newline to path (created if
 * missing), flushed and fsync'd before returning.  A crash can leave a
 * partial last line, which readers of line files skip.
 * returns FS_OK or FS_ERR_IO.
 */
FS_EXPORT fs_err fs_file_append_line(const char *path, const char *line) FS_WARN_UNUSED;

/* fs_file_sync_dir - fsync the directory that holds path.  FS_OK or FS_ERR_IO. */
FS_EXPORT fs_err fs_file_sync_dir(const char *path) FS_WARN_UNUSED;

/*
 * fs_mkdir_p - create directory path and its missing parents (mode 0755
 * before the umask).  An existing directory is fine; an existing
 * non-directory is FS_ERR_IO.  returns FS_OK, FS_ERR_ARG (empty or longer
 * than 4095 bytes) or FS_ERR_IO.
 */
FS_EXPORT fs_err fs_mkdir_p(const char *path) FS_WARN_UNUSED;

/*
 * fs_path_check_pattern - FS_OK if pattern has no '%' or exactly one "%d";
 * else FS_ERR_ARG with a message "<what> '<pattern>': the only placeholder
 * allowed is one %d (the rank)".
 */
FS_EXPORT fs_err fs_path_check_pattern(const char *pattern, const char *what) FS_WARN_UNUSED;

/*
 * fs_path_expand_rank - out = pattern with its first "%d" replaced by the
 * decimal rank (no other substitution: pattern is never used as a printf
 * format).  returns FS_OK, or FS_ERR_ARG if the result does not fit cap
 * (out is then "").
 */
FS_EXPORT fs_err fs_path_expand_rank(char *out, size_t cap, const char *pattern, int rank)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_FILE_H */

/*
 * fs_core.h - library-wide services: logging hook, version, secure memory.
 *
 * The library never writes to stdout and never exits.  Diagnostics go
 * through a log handler that the application installs (the CLI prints them
 * to stderr with the rank prefixed); the default handler writes to stderr.
 */
#ifndef FEDSILO_FS_CORE_H
#define FEDSILO_FS_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FS_LOG_DEBUG = 0, FS_LOG_INFO, FS_LOG_WARN, FS_LOG_ERROR } fs_log_level;

/* A log handler receives one complete line (no trailing newline). */
typedef void (*fs_log_fn)(fs_log_level level, const char *line, void *user);

/*
 * fs_log_set_handler - install the process-wide log handler (NULL restores
 * the default stderr handler) and the minimum level that reaches it.
 * Not collective; call before starting threads.
 */
FS_EXPORT void fs_log_set_handler(fs_log_fn fn, void *user, fs_log_level min_level);

/* fs_log - format and emit one line through the handler.  Not collective. */
FS_EXPORT void fs_log(fs_log_level level, const char *fmt, ...) FS_PRINTF(2, 3);

/* fs_version_string - "0.1.0"; borrowed static string. */
FS_EXPORT const char *fs_version_string(void);

/*
 * fs_secure_zero - overwrite n bytes at p with zeros in a way the compiler
 * may not elide.  Use for keys, seeds, shared secrets and masks.
 */
FS_EXPORT void fs_secure_zero(void *p, size_t n);

/*
 * fs_secure_memeq - 1 if the n bytes at a and b are equal, else 0, in time
 * independent of the contents.  WARNING: constant-time equality only; do
 * not use it for ordering.
 */
FS_EXPORT int fs_secure_memeq(const void *a, const void *b, size_t n);

/* fs_now - monotonic time in seconds (CLOCK_MONOTONIC). */
FS_EXPORT double fs_now(void);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_CORE_H */

/*
 * fs_export.h - symbol visibility and attribute macros for libfedsilo.
 *
 * The library is built with -fvisibility=hidden; only declarations marked
 * FS_EXPORT are part of the ABI.  FS_WARN_UNUSED makes the compiler complain
 * when a caller drops an fs_err on the floor.
 */
#ifndef FEDSILO_FS_EXPORT_H
#define FEDSILO_FS_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#  define FS_EXPORT __attribute__((visibility("default")))
#  define FS_INTERN __attribute__((visibility("hidden")))
#  define FS_WARN_UNUSED __attribute__((warn_unused_result))
#  define FS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define FS_EXPORT
#  define FS_INTERN
#  define FS_WARN_UNUSED
#  define FS_PRINTF(a, b)
#endif

#endif /* FEDSILO_FS_EXPORT_H */

/*
 * fs_h5_impl.h - internal HDF5 helpers of the data layer (not installed).
 * Used by fs_dataset.c and by the checkpoint file of the fed layer.  All are
 * Not collective; every message names `path` and the object.
 */
#ifndef FEDSILO_FS_H5_IMPL_H
#define FEDSILO_FS_H5_IMPL_H

#include <stdint.h>
#include <hdf5.h>
#include "fs_impl.h"

/* Saved automatic error handler, restored when a public call returns. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} fs_h5_quiet;

/* Switch HDF5's automatic error printing off / restore it. */
FS_INTERN void fs_h5_quiet_begin(fs_h5_quiet *q);
FS_INTERN void fs_h5_quiet_end(const fs_h5_quiet *q);

/*
 * Record `code` with a message (printf-style) followed by the innermost
 * entry of the current HDF5 error stack.  Call right after the failing HDF5
 * call: the next HDF5 API call clears the stack.  Returns code.
 */
FS_INTERN fs_err fs_h5_fail(fs_err code, const char *fmt, ...) FS_PRINTF(2, 3);

/* FS_FAIL with the HDF5 error stack appended (needs rc and done:). */
#define H5_FAIL(code, ...)                                                 \
    do { rc = fs_h5_fail((code), __VA_ARGS__); goto done; } while (0)

/* numpy-style name of a stored datatype ("float64", "uint8", "string"). */
FS_INTERN void fs_h5_dtype_name(hid_t t, char *buf, size_t cap);
/* Memory type for variable-length UTF-8 C strings; caller closes it. */
FS_INTERN hid_t fs_h5_vlen_utf8_type(void);
/* File access list: default serial driver, locking tolerant of NFS/Lustre. */
FS_INTERN hid_t fs_h5_file_access_plist(void);
/* Close *id with fn if valid; set it to H5I_INVALID_HID. */
FS_INTERN void fs_h5_close_id(hid_t *id, herr_t (*fn)(hid_t));

/* Scalar attributes on obj (path names the file in messages). */
FS_INTERN fs_err fs_h5_write_str_attr(hid_t obj, const char *path, const char *name,
                                      const char *value);
FS_INTERN fs_err fs_h5_write_int_attr(hid_t obj, const char *path, const char *name,
                                      int32_t value);
FS_INTERN fs_err fs_h5_write_u64_attr(hid_t obj, const char *path, const char *name,
                                      uint64_t value);
/* *out owned by the caller; NULL when absent and !required. */
FS_INTERN fs_err fs_h5_read_str_attr(hid_t obj, const char *path, const char *name,
                                     int required, char **out);
/* *found = 0 (value untouched) when absent and !required. */
FS_INTERN fs_err fs_h5_read_int_attr(hid_t obj, const char *path, const char *name,
                                     int required, int *value, int *found);
/* Required; FS_ERR_DATA when absent or not one integer. */
FS_INTERN fs_err fs_h5_read_u64_attr(hid_t obj, const char *path, const char *name,
                                     uint64_t *value);

#endif

/*
 * fs_h5.c - the HDF5 boundary of the library (data layer), shared by the
 * dataset files (fs_dataset.c) and the checkpoints (fed/fs_ckpt.c).
 *
 * HDF5 errors are converted once, here: callers switch the
 * automatic stack printing off for the duration of a public call
 * (fs_h5_quiet_begin/end) and fs_h5_fail appends the innermost HDF5 message
 * to ours, which always names the file and the object.  Strings are
 * variable-length UTF-8 so h5py reads them as str.  Files are published
 * atomically: written under a temporary name, then published with
 * fs_file_commit (fsync, rename, fsync of the directory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fs_impl.h"
#include "fs_h5_impl.h"

void fs_h5_quiet_begin(fs_h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void fs_h5_quiet_end(const fs_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

/* H5Ewalk2 callback: keep the most specific frame (the first one walked upward). */
static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *user)
{
    char *buf = user;
    if (n == 0 && e->desc && e->desc[0]) snprintf(buf, 256, "%s", e->desc);
    return 0;
}

fs_err fs_h5_fail(fs_err code, const char *fmt, ...)
{
    char msg[768], detail[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, detail);
    if (detail[0]) return fs_error_set(code, "%s (HDF5: %s)", msg, detail);
    return fs_error_set(code, "%s", msg);
}

/* Human name of a stored HDF5 datatype in numpy style ("float64", "uint8"). */
void fs_h5_dtype_name(hid_t t, char *buf, size_t cap)
{
    H5T_class_t cls = H5Tget_class(t);
    size_t bits = H5Tget_size(t) * 8;
    switch (cls) {
    case H5T_FLOAT:    snprintf(buf, cap, "float%zu", bits); break;
    case H5T_INTEGER:
        snprintf(buf, cap, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", bits);
        break;
    case H5T_STRING:   snprintf(buf, cap, "string"); break;
    case H5T_COMPOUND: snprintf(buf, cap, "compound"); break;
    case H5T_ENUM:     snprintf(buf, cap, "enum"); break;
    case H5T_ARRAY:    snprintf(buf, cap, "array"); break;
    case H5T_VLEN:     snprintf(buf, cap, "vlen"); break;
    case H5T_OPAQUE:   snprintf(buf, cap, "opaque"); break;
    case H5T_BITFIELD: snprintf(buf, cap, "bitfield"); break;
    case H5T_REFERENCE: snprintf(buf, cap, "reference"); break;
    default:           snprintf(buf, cap, "unknown type"); break;
    }
}

/* A memory type for variable-length UTF-8 C strings; caller closes it. */
hid_t fs_h5_vlen_utf8_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/*
 * File access properties: the default serial (sec2) driver.  File locking
 * stays on, but a file system without flock support (some NFS and Lustre
 * mounts) is not an error.  Caller closes the returned list.
 */
hid_t fs_h5_file_access_plist(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    if (fapl >= 0 && H5Pset_file_locking(fapl, 1, 1) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
#endif
    return fapl;
}

void fs_h5_close_id(hid_t *id, herr_t (*fn)(hid_t))
{
    if (*id >= 0) fn(*id);
    *id = H5I_INVALID_HID;
}

/* Write a scalar vlen UTF-8 string attribute `name` = value on obj. */
fs_err fs_h5_write_str_attr(hid_t obj, const char *path, const char *name, const char *value)
{
    fs_err rc = FS_OK;
    hid_t type = fs_h5_vlen_utf8_type(), space = H5Screate(H5S_SCALAR), attr = H5I_INVALID_HID;
    if (type < 0 || space < 0) FS_FAIL(FS_ERR_IO, "%s: cannot create string type", path);
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, type, &value) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot write attribute %s", path, name);
done:
    fs_h5_close_id(&attr, H5Aclose);
    fs_h5_close_id(&space, H5Sclose);
    fs_h5_close_id(&type, H5Tclose);
    return rc;
}

/* Write a scalar numeric attribute: file type ftype, memory type mtype. */
static fs_err write_num_attr(hid_t obj, const char *path, const char *name, hid_t ftype,
                             hid_t mtype, const void *value)
{
    fs_err rc = FS_OK;
    hid_t space = H5Screate(H5S_SCALAR), attr = H5I_INVALID_HID;
    if (space < 0) FS_FAIL(FS_ERR_IO, "%s: cannot create dataspace", path);
    attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mtype, value) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot write attribute %s", path, name);
done:
    fs_h5_close_id(&attr, H5Aclose);
    fs_h5_close_id(&space, H5Sclose);
    return rc;
}

fs_err fs_h5_write_int_attr(hid_t obj, const char *path, const char *name, int32_t value)
{
    return write_num_attr(obj, path, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &value);
}

fs_err fs_h5_write_u64_attr(hid_t obj, const char *path, const char *name, uint64_t value)
{
    return write_num_attr(obj, path, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

/*
 * Read string attribute `name` of obj into *out (owned by the caller).
 * Accepts variable- and fixed-length strings, scalar or one element.
 * *out stays NULL when the attribute is absent and required is 0.
 */
fs_err fs_h5_read_str_attr(hid_t obj, const char *path, const char *name, int required,
                            char **out)
{
    fs_err rc = FS_OK;
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID,
          space = H5I_INVALID_HID;
    char *vstr = NULL, *fbuf = NULL, tname[32];
    *out = NULL;

    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) H5_FAIL(FS_ERR_IO, "%s: cannot query attribute %s", path, name);
    if (ex == 0) {
        if (required) FS_FAIL(FS_ERR_DATA, "%s: missing root attribute %s", path, name);
        goto done;
    }
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    ftype = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
    if (attr < 0 || ftype < 0 || space < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot open attribute %s", path, name);
    if (H5Tget_class(ftype) != H5T_STRING) {
        fs_h5_dtype_name(ftype, tname, sizeof tname);
        FS_FAIL(FS_ERR_DATA, "%s: attribute %s has dtype %s, expected string", path, name, tname);
    }
    if (H5Sget_simple_extent_npoints(space) != 1)
        FS_FAIL(FS_ERR_DATA, "%s: attribute %s must hold exactly one string", path, name);

    if (H5Tis_variable_str(ftype) > 0) {
        mtype = fs_h5_vlen_utf8_type();
        if (mtype < 0 || H5Aread(attr, mtype, &vstr) < 0)
            H5_FAIL(FS_ERR_IO, "%s: cannot read attribute %s", path, name);
        FS_TRY(fs_strdup(out, vstr ? vstr : ""));
    } else {
        size_t len = H5Tget_size(ftype);
        FS_TRY(fs_zalloc(&fbuf, len + 1, 1, "string attribute"));
        mtype = H5Tcopy(H5T_C_S1);
        if (mtype < 0 || H5Tset_size(mtype, len + 1) < 0 || H5Aread(attr, mtype, fbuf) < 0)
            H5_FAIL(FS_ERR_IO, "%s: cannot read attribute %s", path, name);
        FS_TRY(fs_strdup(out, fbuf));
    }
done:
    if (vstr) H5free_memory(vstr);
    free(fbuf);
    fs_h5_close_id(&mtype, H5Tclose);
    fs_h5_close_id(&space, H5Sclose);
    fs_h5_close_id(&ftype, H5Tclose);
    fs_h5_close_id(&attr, H5Aclose);
    return rc;
}

/*
 * Read one integer attribute `name` of obj as memory type mtype into
 * *value.  Absent: FS_ERR_DATA if required, else *found = 0 and *value is
 * untouched.  Not one integer: FS_ERR_DATA naming the stored dtype.
 */
static fs_err read_num_attr(hid_t obj, const char *path, const char *name, int required,
                            hid_t mtype, void *value, int *found)
{
    fs_err rc = FS_OK;
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char tname[32];
    *found = 0;
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) H5_FAIL(FS_ERR_IO, "%s: cannot query attribute %s", path, name);
    if (ex == 0) {
        if (required) FS_FAIL(FS_ERR_DATA, "%s: missing root attribute %s", path, name);
        goto done;
    }
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    ftype = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
    if (attr < 0 || ftype < 0 || space < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot open attribute %s", path, name);
    if (H5Tget_class(ftype) != H5T_INTEGER) {
        fs_h5_dtype_name(ftype, tname, sizeof tname);
        FS_FAIL(FS_ERR_DATA, "%s: attribute %s has dtype %s, expected an integer", path, name,
                tname);
    }
    if (H5Sget_simple_extent_npoints(space) != 1)
        FS_FAIL(FS_ERR_DATA, "%s: attribute %s must hold exactly one integer", path, name);
    if (H5Aread(attr, mtype, value) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot read attribute %s", path, name);
    *found = 1;
done:
    fs_h5_close_id(&space, H5Sclose);
    fs_h5_close_id(&ftype, H5Tclose);
    fs_h5_close_id(&attr, H5Aclose);
    return rc;
}

fs_err fs_h5_read_int_attr(hid_t obj, const char *path, const char *name, int required,
                           int *value, int *found)
{
    int32_t v = 0;
    fs_err rc = read_num_attr(obj, path, name, required, H5T_NATIVE_INT32, &v, found);
    if (rc == FS_OK && *found) *value = (int)v;
    return rc;
}

fs_err fs_h5_read_u64_attr(hid_t obj, const char *path, const char *name, uint64_t *value)
{
    int found = 0;
    return read_num_attr(obj, path, name, 1, H5T_NATIVE_UINT64, value, &found);
}


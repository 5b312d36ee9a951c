/*
 * fs_dataset.c - data layer: in-memory datasets and their HDF5 files.
 *
 * Sits on the core layer (errors, allocation); no MPI.  Every rank opens only
 * its own shard, so files are read and written with HDF5's default serial
 * (sec2) driver even though the library is the parallel HDF5 build.
 *
 * The on-disk layout (docs/formats.md) is deliberately plain so that h5py
 * and h5dump read it without fedsilo:
 *
 *   /X               float32 [n, d]  contiguous, uncompressed (one H5Dwrite)
 *   /y               int32 [n] (classification) or float32 [n] (regression)
 *   /feature_names   vlen UTF-8 strings [d]   (optional)
 *   /class_names     vlen UTF-8 strings [num_classes]   (optional)
 *   /ids             vlen UTF-8 strings [n]   (optional record ids)
 *   /validation/X, /validation/y              (optional held-out part)
 *   root attributes  fedsilo_format, format_version, task, num_classes,
 *                    provenance, institution, shard_index, num_shards,
 *                    labels_absent, id_column, schema, schema_hash (optional)
 *
 * Files are opened with the default serial (sec2) driver; file locking is
 * kept but tolerated where the file system lacks it.
 *
 * Object modification times are not recorded (H5Pset_obj_track_times off),
 * so writing the same dataset twice gives byte-identical files.
 *
 * HDF5 errors are converted once, at this boundary: automatic
 * stack printing is switched off for the duration of each public call and
 * the innermost HDF5 message is appended to our own, which always names the
 * file and the object.
 *
 * The in-memory half (create, copy, validate, subset, standardize, impute)
 * is in fs_dataset_mem.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>
#include "fs_data_impl.h"
#include "fs_impl.h"
#include "fs_h5_impl.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_schema.h"

#define FORMAT_NAME "fedsilo-dataset"
#define FORMAT_VERSION 1

// ---------------------------------------------------------------- HDF5 boundary

// ---------------------------------------------------------------- writing

/*
 * Create dataset `name` under loc with file type ftype and the given shape,
 * and write buf (memory type mtype) in one H5Dwrite.  dcpl disables time
 * tracking so files are reproducible byte for byte.
 */
static fs_err write_dataset(hid_t loc, const char *path, const char *name, hid_t ftype,
                            hid_t mtype, int rank, const hsize_t *dims, const void *buf)
{
    fs_err rc = FS_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;

    space = H5Screate_simple(rank, dims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot set up dataset %s", path, name);
    dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot create dataset %s", path, name);
    if (H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot write dataset %s", path, name);
done:
    fs_h5_close_id(&dset, H5Dclose);
    fs_h5_close_id(&dcpl, H5Pclose);
    fs_h5_close_id(&space, H5Sclose);
    return rc;
}

/* Write X, y (and feature_names, ids and class_names when with_names) of ds
 * into group loc. */
static fs_err write_part(hid_t loc, const char *path, const fs_dataset *ds, int with_names)
{
    fs_err rc = FS_OK;
    hid_t stype = H5I_INVALID_HID;
    hsize_t xdims[2] = { ds->n, ds->d }, ydims[1] = { ds->n }, ndims[1] = { ds->d };

    FS_TRY(write_dataset(loc, path, "X", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, xdims, ds->X));
    if (ds->task == FS_TASK_CLASSIFICATION)
        FS_TRY(write_dataset(loc, path, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, ydims,
                             ds->y_class));
    else
        FS_TRY(write_dataset(loc, path, "y", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, ydims,
                             ds->y_reg));
    if (with_names && ds->feature_names) {
        for (size_t j = 0; j < ds->d; j++)
            FS_CHECK_ARG(ds->feature_names[j] != NULL, "%s: feature name %zu is NULL", path, j);
        stype = fs_h5_vlen_utf8_type();
        if (stype < 0) FS_FAIL(FS_ERR_IO, "%s: cannot create string type", path);
        FS_TRY(write_dataset(loc, path, "feature_names", stype, stype, 1, ndims,
                             ds->feature_names));
    }
    if (with_names && ds->ids) {
        if (stype < 0) stype = fs_h5_vlen_utf8_type();
        if (stype < 0) FS_FAIL(FS_ERR_IO, "%s: cannot create string type", path);
        FS_TRY(write_dataset(loc, path, "ids", stype, stype, 1, ydims, ds->ids));
    }
    if (with_names && ds->class_names && !ds->labels_absent) {   /* zeros have no classes */
        hsize_t cdims[1] = { (hsize_t)ds->num_classes };
        if (stype < 0) stype = fs_h5_vlen_utf8_type();
        if (stype < 0) FS_FAIL(FS_ERR_IO, "%s: cannot create string type", path);
        FS_TRY(write_dataset(loc, path, "class_names", stype, stype, 1, cdims, ds->class_names));
    }
done:
    fs_h5_close_id(&stype, H5Tclose);
    return rc;
}

fs_err fs_dataset_write(const fs_dataset *ds, const fs_dataset *val, const char *path)
{
    fs_err rc = FS_OK;
    char *tmp = NULL, *vname = NULL;
    hid_t file = H5I_INVALID_HID, root = H5I_INVALID_HID, vgrp = H5I_INVALID_HID,
          gcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    fs_h5_quiet q;
    int quiet = 0, created = 0, fd = -1;

    FS_CHECK_ARG(ds != NULL && path != NULL && path[0] != '\0',
                 "fs_dataset_write: NULL dataset or empty path");
    FS_TRY(fs_dataset_validate(ds, path));
    if (val) {
        FS_CHECK_ARG(val->d == ds->d && val->task == ds->task &&
                         val->num_classes == ds->num_classes,
                     "%s: validation part (d=%zu, %d classes) does not match the training "
                     "part (d=%zu, %d classes)",
                     path, val->d, val->num_classes, ds->d, ds->num_classes);
        if (asprintf(&vname, "%s:/validation", path) < 0) {
            vname = NULL;
            FS_FAIL(FS_ERR_NOMEM, "out of memory");
        }
        FS_TRY(fs_dataset_validate(val, vname));
    }
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        tmp = NULL;
        FS_FAIL(FS_ERR_NOMEM, "out of memory");
    }

    fs_h5_quiet_begin(&q);
    quiet = 1;
    fapl = fs_h5_file_access_plist();
    if (fapl < 0) H5_FAIL(FS_ERR_IO, "%s: cannot set up file access properties", path);
    file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0) H5_FAIL(FS_ERR_IO, "cannot create %s", tmp);
    created = 1;
    root = H5Gopen2(file, "/", H5P_DEFAULT);
    if (root < 0) H5_FAIL(FS_ERR_IO, "%s: cannot open root group", tmp);

    FS_TRY(write_part(root, path, ds, 1));
    FS_TRY(fs_h5_write_str_attr(root, path, "fedsilo_format", FORMAT_NAME));
    FS_TRY(fs_h5_write_int_attr(root, path, "format_version", FORMAT_VERSION));
    FS_TRY(fs_h5_write_str_attr(root, path, "task",
                          ds->task == FS_TASK_CLASSIFICATION ? "classification" : "regression"));
    FS_TRY(fs_h5_write_int_attr(root, path, "num_classes", ds->num_classes));
    FS_TRY(fs_h5_write_str_attr(root, path, "provenance", ds->provenance ? ds->provenance : ""));
    if (ds->institution) FS_TRY(fs_h5_write_str_attr(root, path, "institution", ds->institution));
    if (ds->shard_index >= 0) {
        FS_TRY(fs_h5_write_int_attr(root, path, "shard_index", ds->shard_index));
        FS_TRY(fs_h5_write_int_attr(root, path, "num_shards", ds->num_shards));
    }
    if (ds->labels_absent) FS_TRY(fs_h5_write_int_attr(root, path, "labels_absent", 1));
    if (ds->id_column) FS_TRY(fs_h5_write_str_attr(root, path, "id_column", ds->id_column));
    if (ds->schema) {
        FS_TRY(fs_h5_write_str_attr(root, path, "schema", ds->schema));
        FS_TRY(fs_h5_write_str_attr(root, path, "schema_hash", ds->schema_hash));
    }
    if (val) {
        gcpl = H5Pcreate(H5P_GROUP_CREATE);
        if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0)
            H5_FAIL(FS_ERR_IO, "%s: cannot set up group /validation", path);
        vgrp = H5Gcreate2(file, "/validation", H5P_DEFAULT, gcpl, H5P_DEFAULT);
        if (vgrp < 0)
            H5_FAIL(FS_ERR_IO, "%s: cannot create group /validation", path);
        FS_TRY(write_part(vgrp, path, val, 0));
    }
    fs_h5_close_id(&vgrp, H5Gclose);
    fs_h5_close_id(&root, H5Gclose);
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot flush", tmp);
    herr_t cst = H5Fclose(file);
    file = H5I_INVALID_HID;
    if (cst < 0) H5_FAIL(FS_ERR_IO, "%s: cannot close", tmp);

    FS_TRY(fs_file_commit(tmp, path));
    created = 0;
done:
    if (fd >= 0) close(fd);
    fs_h5_close_id(&vgrp, H5Gclose);
    fs_h5_close_id(&gcpl, H5Pclose);
    fs_h5_close_id(&root, H5Gclose);
    fs_h5_close_id(&file, H5Fclose);
    fs_h5_close_id(&fapl, H5Pclose);
    if (created) unlink(tmp);
    if (quiet) fs_h5_quiet_end(&q);
    free(tmp);
    free(vname);
    return rc;
}

// ---------------------------------------------------------------- reading

/*
 * Open dataset `name` (absolute, e.g. "/validation/X") and check its type
 * class (and byte size when want_size > 0) and rank.  On success *dset is
 * open (caller closes) and dims[0..rank-1] hold the shape.  want_desc is
 * the expected dtype as shown in messages ("float32").
 */
static fs_err open_checked(hid_t file, const char *path, const char *name, H5T_class_t want_cls,
                           size_t want_size, const char *want_desc, int want_rank,
                           hsize_t *dims, hid_t *dset)
{
    fs_err rc = FS_OK;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char tname[32];
    *dset = H5I_INVALID_HID;

    htri_t ex = H5Lexists(file, name, H5P_DEFAULT);
    if (ex < 0) H5_FAIL(FS_ERR_IO, "%s: cannot look up %s", path, name);
    if (ex == 0) FS_FAIL(FS_ERR_DATA, "%s: missing dataset %s", path, name);
    *dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (*dset < 0)
        H5_FAIL(FS_ERR_DATA, "%s: %s is not a readable dataset", path, name);
    type = H5Dget_type(*dset);
    space = H5Dget_space(*dset);
    if (type < 0 || space < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot query dataset %s", path, name);
    if (H5Tget_class(type) != want_cls || (want_size && H5Tget_size(type) != want_size)) {
        fs_h5_dtype_name(type, tname, sizeof tname);
        FS_FAIL(FS_ERR_DATA, "%s: dataset %s has dtype %s, expected %s", path, name, tname,
                want_desc);
    }
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank != want_rank)
        FS_FAIL(FS_ERR_DATA, "%s: dataset %s has rank %d, expected %d", path, name, rank,
                want_rank);
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot query the shape of %s", path, name);
done:
    fs_h5_close_id(&space, H5Sclose);
    fs_h5_close_id(&type, H5Tclose);
    if (rc != FS_OK) fs_h5_close_id(dset, H5Dclose);
    return rc;
}

/* Read an open dataset completely into buf as memory type mtype. */
static fs_err read_all(hid_t dset, const char *path, const char *name, hid_t mtype, void *buf)
{
    if (H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        return fs_h5_fail(FS_ERR_IO, "%s: cannot read dataset %s (file truncated or corrupt?)",
                       path, name);
    return FS_OK;
}

/*
 * Read the 1-D string dataset `name` (variable- or fixed-length strings) of
 * exactly `count` entries into *out (count strdup'ed strings; caller frees
 * them and the array; *out stays NULL on failure).  what ("columns", "rows")
 * names what `count` counts in /X for the size-mismatch message.
 */
static fs_err read_strings(hid_t file, const char *path, const char *name, size_t count,
                           const char *what, char ***out)
{
    fs_err rc = FS_OK;
    hid_t dset = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    hsize_t dims[1];
    char **strs = NULL;     /* (count) our copies */
    char **vstrs = NULL;    /* (count) HDF5-allocated vlen strings */
    char *fixed = NULL;     /* (count, len + 1) fixed-length strings */
    int vlen_read = 0;
    struct stat sb;

    FS_TRY(open_checked(file, path, name, H5T_STRING, 0, "string", 1, dims, &dset));
    if (dims[0] != count)
        FS_FAIL(FS_ERR_DATA, "%s: %s has %llu entries, but /X has %zu %s", path, name,
                (unsigned long long)dims[0], count, what);
    FS_TRY(fs_zalloc(&strs, count ? count : 1, sizeof(char *), name));
    ftype = H5Dget_type(dset);
    if (ftype < 0) H5_FAIL(FS_ERR_IO, "%s: cannot query %s", path, name);
    if (H5Tis_variable_str(ftype) > 0) {
        FS_TRY(fs_zalloc(&vstrs, count ? count : 1, sizeof(char *), name));
        mtype = fs_h5_vlen_utf8_type();
        if (mtype < 0) FS_FAIL(FS_ERR_IO, "%s: cannot create string type", path);
        FS_TRY(read_all(dset, path, name, mtype, vstrs));
        vlen_read = 1;
        for (size_t j = 0; j < count; j++)
            FS_TRY(fs_strdup(&strs[j], vstrs[j] ? vstrs[j] : ""));
    } else {
        size_t len = H5Tget_size(ftype);
        /* A hostile file can declare long strings with no data behind them
         * (the X shape check in fs_dataset_read, applied to the strings). */
        double want = (double)count * (double)(len + 1);
        double have = stat(path, &sb) == 0 ? (double)sb.st_size : 0.0;
        if (want > 64.0 * have + 1048576.0)
            FS_FAIL(FS_ERR_DATA, "%s: %s declares %zu strings of %zu bytes but the file holds "
                    "only %.0f bytes (corrupt or hostile file)", path, name, count, len, have);
        FS_TRY(fs_zalloc(&fixed, count ? count : 1, len + 1, name));
        mtype = H5Tcopy(H5T_C_S1);
        if (mtype < 0 || H5Tset_size(mtype, len + 1) < 0)
            FS_FAIL(FS_ERR_IO, "%s: cannot create string type", path);
        FS_TRY(read_all(dset, path, name, mtype, fixed));
        for (size_t j = 0; j < count; j++)
            FS_TRY(fs_strdup(&strs[j], fixed + j * (len + 1)));
    }
    *out = strs;
    strs = NULL;
done:
    if (vlen_read) {
        for (size_t j = 0; j < count; j++)
            if (vstrs[j]) H5free_memory(vstrs[j]);
    }
    if (strs) {
        for (size_t j = 0; j < count; j++) free(strs[j]);
        free(strs);
    }
    free(vstrs);
    free(fixed);
    fs_h5_close_id(&mtype, H5Tclose);
    fs_h5_close_id(&ftype, H5Tclose);
    fs_h5_close_id(&dset, H5Dclose);
    return rc;
}

fs_err fs_dataset_read(const char *path, fs_part part, fs_dataset **out)
{
    return fs_dataset_read_ex(path, part, 0, out);
}

fs_err fs_dataset_count_missing(const fs_dataset *ds, size_t *per_feature, size_t *total)
{
    size_t all = 0;
    if (!ds || (ds->n * ds->d > 0 && !ds->X))
        return fs_error_set(FS_ERR_ARG, "fs_dataset_count_missing: NULL dataset");
    if (per_feature)
        for (size_t j = 0; j < ds->d; j++) per_feature[j] = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const float *row = ds->X + i * ds->d;
        for (size_t j = 0; j < ds->d; j++)
            if (isnan(row[j])) {
                all++;
                if (per_feature) per_feature[j]++;
            }
    }
    if (total) *total = all;
    return FS_OK;
}

/* Refuse missing values (NaN) for a reader that needs complete rows. */
static fs_err refuse_missing(const fs_dataset *ds, const char *name)
{
    for (size_t k = 0; k < ds->n * ds->d; k++) {
        if (!isnan(ds->X[k])) continue;
        const size_t j = k % ds->d;
        return fs_error_set(FS_ERR_DATA, "%s: feature %zu ('%s') has missing values (NaN, as "
                            "'import csv --schema' stores missing cells) and this reader needs "
                            "complete rows: missing values are not imputed here (train, stats, "
                            "ridge: --impute yes fills them from secure sums)", name, j,
                            ds->feature_names ? ds->feature_names[j] : "?");
    }
    return FS_OK;
}

fs_err fs_dataset_read_ex(const char *path, fs_part part, unsigned flags, fs_dataset **out)
{
    fs_err rc = FS_OK;
    hid_t file = H5I_INVALID_HID, root = H5I_INVALID_HID, xset = H5I_INVALID_HID,
          yset = H5I_INVALID_HID, tset = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    fs_dataset *ds = NULL;
    char *format = NULL, *task = NULL, *vname = NULL;
    fs_h5_quiet q;
    int quiet = 0, found = 0, version = 0, num_classes = 0;
    hsize_t xdims[2], ydims[1], tdims[2];
    struct stat st;
    fs_task t;

    FS_CHECK_ARG(out != NULL, "fs_dataset_read: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(path != NULL, "fs_dataset_read: path is NULL");
    FS_CHECK_ARG((flags & ~FS_READ_ALLOW_MISSING) == 0, "fs_dataset_read: unknown flags 0x%x",
                 flags);
    FS_CHECK_ARG(part == FS_PART_TRAIN || part == FS_PART_VALIDATION,
                 "fs_dataset_read: unknown part %d", (int)part);
    if (stat(path, &st) != 0) FS_FAIL(FS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) FS_FAIL(FS_ERR_IO, "cannot open %s: is a directory", path);

    fs_h5_quiet_begin(&q);
    quiet = 1;
    if (H5Fis_hdf5(path) <= 0)
        FS_FAIL(FS_ERR_IO, "cannot open %s: not an HDF5 file or unreadable", path);
    fapl = fs_h5_file_access_plist();
    if (fapl < 0) H5_FAIL(FS_ERR_IO, "%s: cannot set up file access properties", path);
    file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (file < 0)
        H5_FAIL(FS_ERR_IO, "cannot open %s: not an HDF5 file or unreadable", path);
    root = H5Gopen2(file, "/", H5P_DEFAULT);
    if (root < 0)
        H5_FAIL(FS_ERR_IO, "cannot open %s: root group unreadable", path);

    /* Root attributes: identify the format before looking at datasets. */
    FS_TRY(fs_h5_read_str_attr(root, path, "fedsilo_format", 0, &format));
    if (!format || strcmp(format, FORMAT_NAME) != 0)
        FS_FAIL(FS_ERR_DATA, "%s: not a fedsilo dataset (root attribute fedsilo_format is %s%s%s, "
                "expected '" FORMAT_NAME "')", path, format ? "'" : "",
                format ? format : "missing", format ? "'" : "");
    FS_TRY(fs_h5_read_int_attr(root, path, "format_version", 1, &version, &found));
    if (version != FORMAT_VERSION)
        FS_FAIL(FS_ERR_DATA, "%s: unsupported format_version %d (this fedsilo reads %d)", path,
                version, FORMAT_VERSION);
    FS_TRY(fs_h5_read_str_attr(root, path, "task", 1, &task));
    if (strcmp(task, "classification") == 0) t = FS_TASK_CLASSIFICATION;
    else if (strcmp(task, "regression") == 0) t = FS_TASK_REGRESSION;
    else FS_FAIL(FS_ERR_DATA, "%s: attribute task is '%s', expected 'classification' or "
                 "'regression'", path, task);
    FS_TRY(fs_h5_read_int_attr(root, path, "num_classes", t == FS_TASK_CLASSIFICATION, &num_classes,
                         &found));
    if (t == FS_TASK_CLASSIFICATION && num_classes < 2)
        FS_FAIL(FS_ERR_DATA, "%s: attribute num_classes is %d; classification needs at least 2",
                path, num_classes);
    if (t == FS_TASK_REGRESSION) num_classes = 0;

    const char *xname = "/X", *yname = "/y", *name = path;
    if (part == FS_PART_VALIDATION) {
        htri_t ex = H5Lexists(file, "/validation", H5P_DEFAULT);
        if (ex < 0) H5_FAIL(FS_ERR_IO, "%s: cannot look up /validation", path);
        if (ex == 0) goto done;     /* no validation part: FS_OK, *out == NULL */
        xname = "/validation/X";
        yname = "/validation/y";
        if (asprintf(&vname, "%s:/validation", path) < 0) {
            vname = NULL;
            FS_FAIL(FS_ERR_NOMEM, "out of memory");
        }
        name = vname;
    }

    /* Layout: X float32 [n, d]; y int [n] or float32 [n]. */
    FS_TRY(open_checked(file, path, xname, H5T_FLOAT, 4, "float32", 2, xdims, &xset));
    if (t == FS_TASK_CLASSIFICATION)
        FS_TRY(open_checked(file, path, yname, H5T_INTEGER, 0, "an integer type (int32)", 1,
                            ydims, &yset));
    else
        FS_TRY(open_checked(file, path, yname, H5T_FLOAT, 4, "float32", 1, ydims, &yset));
    if (ydims[0] != xdims[0])
        FS_FAIL(FS_ERR_DATA, "%s: %s has %llu rows but %s has %llu", path, xname,
                (unsigned long long)xdims[0], yname, (unsigned long long)ydims[0]);
    if (part == FS_PART_VALIDATION) {
        FS_TRY(open_checked(file, path, "/X", H5T_FLOAT, 4, "float32", 2, tdims, &tset));
        if (tdims[1] != xdims[1])
            FS_FAIL(FS_ERR_DATA, "%s: /validation/X has %llu columns but /X has %llu", path,
                    (unsigned long long)xdims[1], (unsigned long long)tdims[1]);
    }
    if (xdims[0] > SIZE_MAX || xdims[1] > SIZE_MAX)
        FS_FAIL(FS_ERR_DATA, "%s: %s is too large for this platform", path, xname);

    {
        /* A hostile file can declare a huge shape with no data behind it.
         * Refuse before allocating anything when the declared matrix could
         * not come from this file even at a 64x compression ratio. */
        struct stat sb;
        const double want = (double)xdims[0] * (double)xdims[1] * 4.0;
        const double have = stat(path, &sb) == 0 ? (double)sb.st_size : 0.0;
        if (want > 64.0 * have + 1048576.0)
            FS_FAIL(FS_ERR_DATA, "%s: %s declares %llu x %llu float32 values (%.3g bytes) but the "
                    "file holds only %.0f bytes (corrupt or hostile file)", path, xname,
                    (unsigned long long)xdims[0], (unsigned long long)xdims[1], want, have);
    }
    FS_TRY(fs_dataset_create((size_t)xdims[0], (size_t)xdims[1], t, num_classes, &ds));
    FS_TRY(read_all(xset, path, xname, H5T_NATIVE_FLOAT, ds->X));
    if (t == FS_TASK_CLASSIFICATION)
        FS_TRY(read_all(yset, path, yname, H5T_NATIVE_INT32, ds->y_class));
    else
        FS_TRY(read_all(yset, path, yname, H5T_NATIVE_FLOAT, ds->y_reg));

    htri_t hn = H5Lexists(file, "/feature_names", H5P_DEFAULT);
    if (hn < 0) H5_FAIL(FS_ERR_IO, "%s: cannot look up /feature_names", path);
    if (hn > 0)
        FS_TRY(read_strings(file, path, "/feature_names", ds->d, "columns",
                            &ds->feature_names));
    htri_t hc = H5Lexists(file, "/class_names", H5P_DEFAULT);
    if (hc < 0) H5_FAIL(FS_ERR_IO, "%s: cannot look up /class_names", path);
    if (hc > 0 && t != FS_TASK_CLASSIFICATION)
        FS_FAIL(FS_ERR_DATA, "%s: /class_names in a regression dataset", path);
    if (hc > 0)
        FS_TRY(read_strings(file, path, "/class_names", (size_t)num_classes,
                            "classes (num_classes)", &ds->class_names));
    FS_TRY(fs_h5_read_str_attr(root, path, "id_column", 0, &ds->id_column));
    FS_TRY(fs_h5_read_str_attr(root, path, "schema", 0, &ds->schema));
    FS_TRY(fs_h5_read_str_attr(root, path, "schema_hash", 0, &ds->schema_hash));
    if (part == FS_PART_TRAIN) {
        htri_t hi = H5Lexists(file, "/ids", H5P_DEFAULT);
        if (hi < 0) H5_FAIL(FS_ERR_IO, "%s: cannot look up /ids", path);
        if (hi > 0) FS_TRY(read_strings(file, path, "/ids", ds->n, "rows", &ds->ids));
        FS_TRY(fs_h5_read_int_attr(root, path, "labels_absent", 0, &ds->labels_absent, &found));
        if (!found) ds->labels_absent = 0;
        if (ds->labels_absent != 0 && ds->labels_absent != 1)
            FS_FAIL(FS_ERR_DATA, "%s: attribute labels_absent is %d, expected 0 or 1", path,
                    ds->labels_absent);
    }

    FS_TRY(fs_h5_read_str_attr(root, path, "provenance", 0, &ds->provenance));
    FS_TRY(fs_h5_read_str_attr(root, path, "institution", 0, &ds->institution));
    FS_TRY(fs_h5_read_int_attr(root, path, "shard_index", 0, &ds->shard_index, &found));
    if (!found) ds->shard_index = -1;
    FS_TRY(fs_h5_read_int_attr(root, path, "num_shards", 0, &ds->num_shards, &found));
    if (!found) ds->num_shards = 0;
    if (ds->shard_index >= 0 && ds->shard_index >= ds->num_shards)
        FS_FAIL(FS_ERR_DATA, "%s: shard_index %d is not below num_shards %d", path,
                ds->shard_index, ds->num_shards);

    FS_TRY(fs_dataset_validate(ds, name));
    if (!(flags & FS_READ_ALLOW_MISSING)) FS_TRY(refuse_missing(ds, name));
    *out = ds;
    ds = NULL;
done:
    fs_h5_close_id(&tset, H5Dclose);
    fs_h5_close_id(&yset, H5Dclose);
    fs_h5_close_id(&xset, H5Dclose);
    fs_h5_close_id(&root, H5Gclose);
    fs_h5_close_id(&file, H5Fclose);
    fs_h5_close_id(&fapl, H5Pclose);
    if (quiet) fs_h5_quiet_end(&q);
    fs_dataset_destroy(&ds);
    free(format);
    free(task);
    free(vname);
    return rc;
}

// ---------------------------------------------------------------- inspect

/* Print the class histogram (classification) or target summary (regression). */
static void print_labels(FILE *out, const fs_dataset *ds, const char *indent)
{
    if (ds->task == FS_TASK_CLASSIFICATION) {
        size_t *count = calloc((size_t)ds->num_classes, sizeof *count);
        if (!count) {
            fprintf(out, "%s(class histogram skipped: out of memory)\n", indent);
            return;
        }
        for (size_t i = 0; i < ds->n; i++) count[ds->y_class[i]]++;
        fprintf(out, "%sclass histogram:\n", indent);
        for (int c = 0; c < ds->num_classes; c++) {
            fprintf(out, "%s  class %-4d %10zu  %6.2f%%", indent, c, count[c],
                    100.0 * (double)count[c] / (double)ds->n);
            if (ds->class_names) fprintf(out, "  '%s'", ds->class_names[c]);
            fputc('\n', out);
        }
        free(count);
    } else {
        double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < ds->n; i++) {
            double v = ds->y_reg[i];
            sum += v;
            sq += v * v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        double mean = sum / (double)ds->n, var = sq / (double)ds->n - mean * mean;
        fprintf(out, "%starget:         mean %.6g  std %.6g  min %.6g  max %.6g\n", indent, mean,
                sqrt(var > 0 ? var : 0), lo, hi);
    }
}

/* Print the global min/max/mean over the n*d feature values (NaN, a
 * missing cell, left out). */
static void print_features(FILE *out, const fs_dataset *ds, const char *indent)
{
    double sum = 0;
    float lo = INFINITY, hi = -INFINITY;
    size_t nd = ds->n * ds->d, seen = 0;
    for (size_t k = 0; k < nd; k++) {
        float v = ds->X[k];
        if (isnan(v)) continue;
        seen++;
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (seen == nd)
        fprintf(out, "%sfeatures:       min %.6g  max %.6g  mean %.6g  (over all %zu values)\n",
                indent, (double)lo, (double)hi, sum / (double)nd, nd);
    else
        fprintf(out, "%sfeatures:       min %.6g  max %.6g  mean %.6g  (over the %zu of %zu values "
                "that are not missing)\n", indent, (double)lo, (double)hi,
                seen ? sum / (double)seen : NAN, seen, nd);
}

/* Print the schema line and the missing values per feature. */
static fs_err print_schema(FILE *out, const fs_dataset *ds, const char *path)
{
    fs_err rc = FS_OK;
    fs_schema *sc = NULL;
    size_t *miss = NULL;   /* (d) missing values per feature */
    size_t total = 0;

    if (ds->schema) {
        FS_TRY(fs_schema_parse(ds->schema, strlen(ds->schema), path, &sc));
        fprintf(out, "schema:         %s%s%s%s (%zu columns -> %zu features)\n", ds->schema_hash,
                fs_schema_name(sc) ? " '" : "", fs_schema_name(sc) ? fs_schema_name(sc) : "",
                fs_schema_name(sc) ? "'" : "", fs_schema_num_columns(sc),
                fs_schema_num_features(sc));
    } else {
        fprintf(out, "schema:         (none)\n");
    }
    if (ds->id_column) fprintf(out, "id column:      %s\n", ds->id_column);
    FS_TRY(fs_alloc(&miss, ds->d, sizeof *miss, "missing-value counts"));
    FS_TRY(fs_dataset_count_missing(ds, miss, &total));
    if (total == 0) {
        fprintf(out, "missing values: none\n");
    } else {
        fprintf(out, "missing values: %zu (NaN; to be imputed), per feature:\n", total);
        for (size_t j = 0; j < ds->d; j++)
            if (miss[j])
                fprintf(out, "  %-28s %10zu  %6.2f%%\n",
                        ds->feature_names ? ds->feature_names[j] : "?", miss[j],
                        100.0 * (double)miss[j] / (double)ds->n);
    }
done:
    free(miss);
    fs_schema_destroy(&sc);
    return rc;
}

fs_err fs_dataset_inspect(const char *path, FILE *out)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL, *val = NULL;
    int cls;

    FS_CHECK_ARG(path != NULL && out != NULL, "fs_dataset_inspect: NULL path or stream");
    FS_TRY(fs_dataset_read_ex(path, FS_PART_TRAIN, FS_READ_ALLOW_MISSING, &ds));
    FS_TRY(fs_dataset_read_ex(path, FS_PART_VALIDATION, FS_READ_ALLOW_MISSING, &val));
    cls = ds->task == FS_TASK_CLASSIFICATION;

    fprintf(out, "file:           %s\n", path);
    fprintf(out, "format:         " FORMAT_NAME " version %d\n", FORMAT_VERSION);
    fprintf(out, "task:           %s\n", cls ? "classification" : "regression");
    fprintf(out, "rows (n):       %zu\n", ds->n);
    fprintf(out, "features (d):   %zu\n", ds->d);
    if (cls) fprintf(out, "num_classes:    %d\n", ds->num_classes);
    fprintf(out, "/X:             float32 [%zu, %zu]\n", ds->n, ds->d);
    fprintf(out, "/y:             %s [%zu]\n", cls ? "int32" : "float32", ds->n);
    if (ds->feature_names)
        fprintf(out, "feature_names:  %s .. %s\n", ds->feature_names[0],
                ds->feature_names[ds->d - 1]);
    else
        fprintf(out, "feature_names:  (none)\n");
    if (ds->ids)
        fprintf(out, "/ids:           %zu record ids (string)\n", ds->n);
    fprintf(out, "institution:    %s\n", ds->institution ? ds->institution : "(none)");
    if (ds->shard_index >= 0)
        fprintf(out, "shard:          %d of %d (0-based)\n", ds->shard_index, ds->num_shards);
    else
        fprintf(out, "shard:          (not a shard)\n");
    fprintf(out, "provenance:     %s\n",
            ds->provenance && ds->provenance[0] ? ds->provenance : "(none)");
    FS_TRY(print_schema(out, ds, path));
    print_features(out, ds, "");
    if (ds->labels_absent)
        fprintf(out, "labels:         absent (/y holds zeros; attribute labels_absent = 1)\n");
    else
        print_labels(out, ds, "");
    if (val) {
        fprintf(out, "validation:     /validation/X float32 [%zu, %zu], /validation/y %s [%zu]\n",
                val->n, val->d, cls ? "int32" : "float32", val->n);
        print_labels(out, val, "  ");
    } else {
        fprintf(out, "validation:     (none)\n");
    }
    if (ferror(out)) FS_FAIL(FS_ERR_IO, "cannot write the summary of %s", path);
done:
    fs_dataset_destroy(&val);
    fs_dataset_destroy(&ds);
    return rc;
}

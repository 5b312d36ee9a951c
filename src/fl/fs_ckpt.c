/*
 * fs_ckpt.c - checkpoint files (HDF5, serial driver, written by rank 0).
 *
 * Layout (docs/formats.md, "Checkpoint files"):
 *   /params  float32 [nparams]   global model, slab order of fs_model.h
 *   root attributes: fedsilo_format = "fedsilo-checkpoint", format_version,
 *   round, model, d, task, num_classes, nparams, config_hash, model_hash,
 *   seed, nsilos.
 * Writes are atomic: a temporary file in the same directory is written,
 * flushed, fsync'd and renamed over the target, then the directory is
 * fsync'd.  A crash at any point leaves either the old or the new file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <math.h>
#include <hdf5.h>
#include "fs_fl_impl.h"
#include "fedsilo/fs_model.h"

#define CKPT_FORMAT "fedsilo-checkpoint"
#define CKPT_VERSION 1

uint64_t fs_params_hash(const float *p, size_t n)
{
    return fs_hash64(FS_HASH64_INIT, p, n * sizeof *p);
}

static herr_t put_str_attr(hid_t obj, const char *name, const char *val)
{
    hid_t t = H5Tcopy(H5T_C_S1), s = -1, a = -1;
    herr_t st = -1;
    if (t < 0) return -1;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) goto out;
    if ((s = H5Screate(H5S_SCALAR)) < 0) goto out;
    if ((a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto out;
    st = H5Awrite(a, t, &val);
out:
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    H5Tclose(t);
    return st;
}

static herr_t put_num_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                           const void *val)
{
    hid_t s = H5Screate(H5S_SCALAR), a = -1;
    herr_t st = -1;
    if (s < 0) return -1;
    if ((a = H5Acreate2(obj, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        st = H5Awrite(a, mem_type, val);
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return st;
}

static int get_str_attr(hid_t obj, const char *name, char *buf, size_t cap)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), ft = -1, t = -1;
    int ok = -1;
    if (a < 0) return -1;
    ft = H5Aget_type(a);
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0) {
        char *v = NULL;
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5Tget_cset(ft));  /* HDF5 does not convert UTF-8 <-> ASCII */
        if (H5Aread(a, t, &v) >= 0 && v) {
            snprintf(buf, cap, "%s", v);
            ok = 0;
            H5free_memory(v);
        }
    }
    if (t >= 0) H5Tclose(t);
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return ok;
}

static int get_num_attr(hid_t obj, const char *name, hid_t mem_type, void *val)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    int ok = H5Aread(a, mem_type, val) >= 0 ? 0 : -1;
    H5Aclose(a);
    return ok;
}

static fs_err fsync_path(const char *path, int is_dir)
{
    int fd = open(path, is_dir ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0) return fs_error_set(FS_ERR_IO, "cannot open %s for fsync: %s", path, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0) return fs_error_set(FS_ERR_IO, "fsync of %s failed: %s", path, strerror(e));
    return FS_OK;
}

fs_err fs_checkpoint_write(const fs_checkpoint *ck, const char *path)
{
    fs_err rc = FS_OK;
    char tmp[4096], dir[4096];
    hid_t f = -1, s = -1, d = -1;
    int created = 0;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) FS_FAIL(FS_ERR_IO, "cannot create checkpoint %s: %s", tmp, strerror(errno));
    created = 1;
    hsize_t dims[1] = { ck->nparams };
    if ((s = H5Screate_simple(1, dims, NULL)) < 0) FS_FAIL(FS_ERR_IO, "HDF5 dataspace failed");
    d = H5Dcreate2(f, "params", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ck->params) < 0)
        FS_FAIL(FS_ERR_IO, "cannot write /params to %s (disk full?)", tmp);
    int32_t ver = CKPT_VERSION, round = ck->round, ncls = ck->num_classes, ns = ck->nsilos;
    uint64_t dd = ck->d, np = ck->nparams;
    const char *task = ck->task == FS_TASK_REGRESSION ? "regression" : "classification";
    if (put_str_attr(f, "fedsilo_format", CKPT_FORMAT) < 0 ||
        put_num_attr(f, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT32, &ver) < 0 ||
        put_num_attr(f, "round", H5T_STD_I32LE, H5T_NATIVE_INT32, &round) < 0 ||
        put_str_attr(f, "model", ck->model) < 0 ||
        put_num_attr(f, "d", H5T_STD_U64LE, H5T_NATIVE_UINT64, &dd) < 0 ||
        put_str_attr(f, "task", task) < 0 ||
        put_num_attr(f, "num_classes", H5T_STD_I32LE, H5T_NATIVE_INT32, &ncls) < 0 ||
        put_num_attr(f, "nparams", H5T_STD_U64LE, H5T_NATIVE_UINT64, &np) < 0 ||
        put_num_attr(f, "config_hash", H5T_STD_U64LE, H5T_NATIVE_UINT64, &ck->config_hash) < 0 ||
        put_num_attr(f, "model_hash", H5T_STD_U64LE, H5T_NATIVE_UINT64, &ck->model_hash) < 0 ||
        put_num_attr(f, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &ck->seed) < 0 ||
        put_num_attr(f, "nsilos", H5T_STD_I32LE, H5T_NATIVE_INT32, &ns) < 0)
        FS_FAIL(FS_ERR_IO, "cannot write checkpoint attributes to %s (disk full?)", tmp);
    H5Dclose(d); d = -1;
    H5Sclose(s); s = -1;
    if (H5Fclose(f) < 0) { f = -1; FS_FAIL(FS_ERR_IO, "closing %s failed (disk full?)", tmp); }
    f = -1;
    FS_TRY(fsync_path(tmp, 0));
    if (rename(tmp, path) != 0)
        FS_FAIL(FS_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    created = 0;
    snprintf(dir, sizeof dir, "%s", path);
    FS_TRY(fsync_path(dirname(dir), 1));
done:
    if (d >= 0) H5Dclose(d);
    if (s >= 0) H5Sclose(s);
    if (f >= 0) H5Fclose(f);
    if (created) unlink(tmp);
    return rc;
}

void fs_checkpoint_free(fs_checkpoint **ck)
{
    if (!ck || !*ck) return;
    free((*ck)->params);
    free(*ck);
    *ck = NULL;
}

fs_err fs_checkpoint_read(const char *path, fs_checkpoint **out)
{
    fs_err rc = FS_OK;
    fs_checkpoint *ck = NULL;
    hid_t f = -1, d = -1, s = -1, t = -1;
    char buf[128];
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0)
        FS_FAIL(FS_ERR_IO, "cannot read checkpoint %s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        FS_FAIL(FS_ERR_DATA, "checkpoint %s is not a readable HDF5 file (truncated or corrupt?)", path);
    if (get_str_attr(f, "fedsilo_format", buf, sizeof buf) != 0 || strcmp(buf, CKPT_FORMAT) != 0)
        FS_FAIL(FS_ERR_DATA, "%s is not a fedsilo checkpoint (attribute fedsilo_format missing)", path);
    FS_TRY(fs_zalloc(&ck, 1, sizeof *ck, "checkpoint"));
    int32_t ver = 0, round = 0, ncls = 0, ns = 0;
    uint64_t dd = 0, np = 0;
    char task[32];
    if (get_num_attr(f, "format_version", H5T_NATIVE_INT32, &ver) != 0 || ver != CKPT_VERSION)
        FS_FAIL(FS_ERR_DATA, "%s: unsupported checkpoint format_version %d", path, (int)ver);
    if (get_num_attr(f, "round", H5T_NATIVE_INT32, &round) != 0 || round < 0 ||
        get_str_attr(f, "model", ck->model, sizeof ck->model) != 0 ||
        get_num_attr(f, "d", H5T_NATIVE_UINT64, &dd) != 0 ||
        get_str_attr(f, "task", task, sizeof task) != 0 ||
        get_num_attr(f, "num_classes", H5T_NATIVE_INT32, &ncls) != 0 ||
        get_num_attr(f, "nparams", H5T_NATIVE_UINT64, &np) != 0 ||
        get_num_attr(f, "config_hash", H5T_NATIVE_UINT64, &ck->config_hash) != 0 ||
        get_num_attr(f, "model_hash", H5T_NATIVE_UINT64, &ck->model_hash) != 0 ||
        get_num_attr(f, "seed", H5T_NATIVE_UINT64, &ck->seed) != 0 ||
        get_num_attr(f, "nsilos", H5T_NATIVE_INT32, &ns) != 0)
        FS_FAIL(FS_ERR_DATA, "%s: checkpoint attributes missing or malformed", path);
    ck->round = round;
    ck->d = dd;
    ck->num_classes = ncls;
    ck->nsilos = ns;
    ck->nparams = np;
    if (strcmp(task, "classification") == 0) ck->task = FS_TASK_CLASSIFICATION;
    else if (strcmp(task, "regression") == 0) ck->task = FS_TASK_REGRESSION;
    else FS_FAIL(FS_ERR_DATA, "%s: unknown task '%s'", path, task);
    if ((d = H5Dopen2(f, "params", H5P_DEFAULT)) < 0)
        FS_FAIL(FS_ERR_DATA, "%s: dataset /params missing", path);
    s = H5Dget_space(d);
    t = H5Dget_type(d);
    hsize_t dims[2] = { 0, 0 };
    if (s < 0 || H5Sget_simple_extent_ndims(s) != 1 || H5Sget_simple_extent_dims(s, dims, NULL) != 1 ||
        dims[0] != np || t < 0 || H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 4)
        FS_FAIL(FS_ERR_DATA, "%s: /params must be float32 [%llu]", path, (unsigned long long)np);
    FS_TRY(fs_alloc(&ck->params, np, sizeof(float), "checkpoint parameters"));
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ck->params) < 0)
        FS_FAIL(FS_ERR_DATA, "%s: cannot read /params (truncated file?)", path);
    if (fs_params_hash(ck->params, np) != ck->model_hash)
        FS_FAIL(FS_ERR_DATA, "%s: model hash mismatch: the checkpoint is corrupt", path);
    *out = ck;
    ck = NULL;
done:
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    fs_checkpoint_free(&ck);
    return rc;
}

fs_err fs_checkpoint_evaluate(const fs_checkpoint *ck, const char *data_path, double *loss,
                              double *acc, double *count)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;
    fs_model *m = NULL;
    fs_eval_sums s = { 0 };
    FS_TRY(fs_dataset_read(data_path, FS_PART_TRAIN, &ds));
    if (ds->d != ck->d || ds->task != ck->task ||
        (ck->task == FS_TASK_CLASSIFICATION && ds->num_classes != ck->num_classes))
        FS_FAIL(FS_ERR_DATA, "%s does not match the checkpoint: %zu features/%d classes, "
                "model has %zu/%d", data_path, ds->d, ds->num_classes, ck->d, ck->num_classes);
    FS_TRY(fs_model_create(ck->model, ck->d, ck->task, ck->num_classes, 1024, &m));
    if (fs_model_nparams(m) != ck->nparams)
        FS_FAIL(FS_ERR_DATA, "checkpoint has %zu parameters, model %s needs %zu", ck->nparams,
                ck->model, fs_model_nparams(m));
    memcpy(fs_model_params(m), ck->params, ck->nparams * sizeof(float));
    FS_TRY(fs_model_evaluate(m, ds, &s));
    *count = s.count;
    *loss = s.loss_sum / s.count;
    *acc = ck->task == FS_TASK_REGRESSION ? sqrt(s.sq_err / s.count) : s.correct / s.count;
done:
    fs_model_destroy(&m);
    fs_dataset_destroy(&ds);
    return rc;
}

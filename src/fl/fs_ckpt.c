/*
 * fs_ckpt.c - checkpoint files (HDF5, serial driver, written by rank 0).
 *
 * Layout (docs/formats.md, "Checkpoint files"):
 *   /params  float32 [nparams]   global model, slab order of fs_model.h
 *   /server_m, /server_v  float32 [nparams]  server optimizer state (optional)
 *   /standardize_mean, /standardize_scale  float64 [d]  (--standardize only)
 *   /dp_rdp  float64  serialized RDP accountant (--dp-sgd yes only)
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
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <math.h>
#include <hdf5.h>
#include "fs_fl_impl.h"
#include "data/fs_h5_impl.h"
#include "fedsilo/fs_model.h"

#define CKPT_FORMAT "fedsilo-checkpoint"
#define CKPT_VERSION 1

uint64_t fs_params_hash(const float *p, size_t n)
{
    return fs_hash64(FS_HASH64_INIT, p, n * sizeof *p);
}

fs_err fs_checkpoint_write(const fs_checkpoint *ck, const char *path)
{
    fs_err rc = FS_OK;
    char tmp[4200];
    hid_t f = H5I_INVALID_HID, s = H5I_INVALID_HID, d = H5I_INVALID_HID;
    int created = 0;
    fs_h5_quiet q;
    fs_h5_quiet_begin(&q);
    snprintf(tmp, sizeof tmp, "%.4000s.tmp.%ld", path, (long)getpid());
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) H5_FAIL(FS_ERR_IO, "cannot create checkpoint %s", tmp);
    created = 1;
    hsize_t dims[1] = { ck->nparams };
    if ((s = H5Screate_simple(1, dims, NULL)) < 0) H5_FAIL(FS_ERR_IO, "%s: dataspace", tmp);
    d = H5Dcreate2(f, "params", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ck->params) < 0)
        H5_FAIL(FS_ERR_IO, "cannot write /params to %s (disk full?)", tmp);
    FS_TRY(fs_h5_write_str_attr(f, tmp, "fedsilo_format", CKPT_FORMAT));
    FS_TRY(fs_h5_write_int_attr(f, tmp, "format_version", CKPT_VERSION));
    FS_TRY(fs_h5_write_int_attr(f, tmp, "round", ck->round));
    FS_TRY(fs_h5_write_str_attr(f, tmp, "model", ck->model));
    FS_TRY(fs_h5_write_u64_attr(f, tmp, "d", ck->d));
    FS_TRY(fs_h5_write_str_attr(f, tmp, "task",
                                ck->task == FS_TASK_REGRESSION ? "regression" : "classification"));
    FS_TRY(fs_h5_write_int_attr(f, tmp, "num_classes", ck->num_classes));
    FS_TRY(fs_h5_write_u64_attr(f, tmp, "nparams", ck->nparams));
    FS_TRY(fs_h5_write_u64_attr(f, tmp, "config_hash", ck->config_hash));
    FS_TRY(fs_h5_write_u64_attr(f, tmp, "model_hash", ck->model_hash));
    FS_TRY(fs_h5_write_u64_attr(f, tmp, "seed", ck->seed));
    FS_TRY(fs_h5_write_int_attr(f, tmp, "nsilos", ck->nsilos));
    FS_TRY(fs_h5_write_str_attr(f, tmp, "server_opt", ck->server_opt[0] ? ck->server_opt : "fedavg"));
    FS_TRY(fs_h5_write_u64_attr(f, tmp, "server_steps", (uint64_t)ck->server_steps));
    fs_h5_close_id(&d, H5Dclose);
    if (ck->std_mean && ck->std_scale) {
        const double *sv[2] = { ck->std_mean, ck->std_scale };
        const char *sn[2] = { "standardize_mean", "standardize_scale" };
        hsize_t sd[1] = { ck->d };
        for (int k = 0; k < 2; k++) {
            hid_t ss = H5Screate_simple(1, sd, NULL);
            d = ss >= 0 ? H5Dcreate2(f, sn[k], H5T_IEEE_F64LE, ss, H5P_DEFAULT, H5P_DEFAULT,
                                     H5P_DEFAULT) : H5I_INVALID_HID;
            herr_t wst = d >= 0 ? H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, sv[k]) : -1;
            if (ss >= 0) H5Sclose(ss);
            if (wst < 0) H5_FAIL(FS_ERR_IO, "cannot write /%s to %s (disk full?)", sn[k], tmp);
            fs_h5_close_id(&d, H5Dclose);
        }
    }
    if (ck->dp_rdp) {
        hsize_t rd[1] = { ck->dp_rdp_len };
        hid_t rs = H5Screate_simple(1, rd, NULL);
        d = rs >= 0 ? H5Dcreate2(f, "dp_rdp", H5T_IEEE_F64LE, rs, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT) : H5I_INVALID_HID;
        herr_t wst = d >= 0 ? H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ck->dp_rdp) : -1;
        if (rs >= 0) H5Sclose(rs);
        if (wst < 0) H5_FAIL(FS_ERR_IO, "cannot write /dp_rdp to %s (disk full?)", tmp);
        fs_h5_close_id(&d, H5Dclose);
    }
    const float *state[2] = { ck->server_m, ck->server_v };
    const char *sname[2] = { "server_m", "server_v" };
    for (int k = 0; k < 2; k++) {
        if (!state[k]) continue;
        d = H5Dcreate2(f, sname[k], H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, state[k]) < 0)
            H5_FAIL(FS_ERR_IO, "cannot write /%s to %s (disk full?)", sname[k], tmp);
        fs_h5_close_id(&d, H5Dclose);
    }
    fs_h5_close_id(&s, H5Sclose);
    herr_t cst = H5Fclose(f);
    f = H5I_INVALID_HID;
    if (cst < 0) H5_FAIL(FS_ERR_IO, "closing %s failed (disk full?)", tmp);
    FS_TRY(fs_h5_publish(tmp, path));
    created = 0;
done:
    fs_h5_close_id(&d, H5Dclose);
    fs_h5_close_id(&s, H5Sclose);
    fs_h5_close_id(&f, H5Fclose);
    if (created) unlink(tmp);
    fs_h5_quiet_end(&q);
    return rc;
}

void fs_checkpoint_free(fs_checkpoint **ck)
{
    if (!ck || !*ck) return;
    free((*ck)->server_m);
    free((*ck)->server_v);
    free((*ck)->std_mean);
    free((*ck)->std_scale);
    free((*ck)->dp_rdp);
    free((*ck)->params);
    free(*ck);
    *ck = NULL;
}

fs_err fs_checkpoint_read(const char *path, fs_checkpoint **out)
{
    fs_err rc = FS_OK;
    fs_checkpoint *ck = NULL;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, s = H5I_INVALID_HID, t = H5I_INVALID_HID;
    char *fmt = NULL, *model = NULL, *task = NULL, *sopt = NULL;
    int ver = 0, round = 0, ncls = 0, ns = 0, found = 0;
    uint64_t dd = 0, np = 0;
    fs_h5_quiet q;
    fs_h5_quiet_begin(&q);
    *out = NULL;
    if (access(path, R_OK) != 0)
        FS_FAIL(FS_ERR_IO, "cannot read checkpoint %s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        FS_FAIL(FS_ERR_DATA, "checkpoint %s is not a readable HDF5 file (truncated or corrupt?)", path);
    FS_TRY(fs_h5_read_str_attr(f, path, "fedsilo_format", 0, &fmt));
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0)
        FS_FAIL(FS_ERR_DATA, "%s is not a fedsilo checkpoint (fedsilo_format is not %s)", path,
                CKPT_FORMAT);
    FS_TRY(fs_zalloc(&ck, 1, sizeof *ck, "checkpoint"));
    FS_TRY(fs_h5_read_int_attr(f, path, "format_version", 1, &ver, &found));
    if (ver != CKPT_VERSION)
        FS_FAIL(FS_ERR_DATA, "%s: unsupported checkpoint format_version %d", path, ver);
    FS_TRY(fs_h5_read_int_attr(f, path, "round", 1, &round, &found));
    FS_TRY(fs_h5_read_str_attr(f, path, "model", 1, &model));
    FS_TRY(fs_h5_read_u64_attr(f, path, "d", &dd));
    FS_TRY(fs_h5_read_str_attr(f, path, "task", 1, &task));
    FS_TRY(fs_h5_read_int_attr(f, path, "num_classes", 1, &ncls, &found));
    FS_TRY(fs_h5_read_u64_attr(f, path, "nparams", &np));
    FS_TRY(fs_h5_read_u64_attr(f, path, "config_hash", &ck->config_hash));
    FS_TRY(fs_h5_read_u64_attr(f, path, "model_hash", &ck->model_hash));
    FS_TRY(fs_h5_read_u64_attr(f, path, "seed", &ck->seed));
    FS_TRY(fs_h5_read_int_attr(f, path, "nsilos", 1, &ns, &found));
    if (round < 0 || ns < 1 || dd == 0 || np == 0 || strlen(model) >= sizeof ck->model)
        FS_FAIL(FS_ERR_DATA, "%s: checkpoint attributes out of range", path);
    snprintf(ck->model, sizeof ck->model, "%s", model);
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
        H5_FAIL(FS_ERR_DATA, "%s: cannot read /params (truncated file?)", path);
    if (fs_params_hash(ck->params, np) != ck->model_hash)
        FS_FAIL(FS_ERR_DATA, "%s: model hash mismatch: the checkpoint is corrupt", path);
    /* server optimizer state (absent in plain FedAvg checkpoints) */
    FS_TRY(fs_h5_read_str_attr(f, path, "server_opt", 0, &sopt));
    snprintf(ck->server_opt, sizeof ck->server_opt, "%s", sopt ? sopt : "fedavg");
    if (sopt) {
        uint64_t steps = 0;
        FS_TRY(fs_h5_read_u64_attr(f, path, "server_steps", &steps));
        ck->server_steps = (long)steps;
    }
    float **state[2] = { &ck->server_m, &ck->server_v };
    const char *sname[2] = { "server_m", "server_v" };
    for (int k = 0; k < 2; k++) {
        if (H5Lexists(f, sname[k], H5P_DEFAULT) <= 0) continue;
        fs_h5_close_id(&t, H5Tclose);
        fs_h5_close_id(&s, H5Sclose);
        fs_h5_close_id(&d, H5Dclose);
        d = H5Dopen2(f, sname[k], H5P_DEFAULT);
        s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
        t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
        if (s < 0 || t < 0 || H5Sget_simple_extent_ndims(s) != 1 ||
            H5Sget_simple_extent_dims(s, dims, NULL) != 1 || dims[0] != np ||
            H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 4)
            FS_FAIL(FS_ERR_DATA, "%s: /%s must be float32 [%llu]", path, sname[k],
                    (unsigned long long)np);
        FS_TRY(fs_alloc(state[k], np, sizeof(float), "server optimizer state"));
        if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *state[k]) < 0)
            H5_FAIL(FS_ERR_DATA, "%s: cannot read /%s", path, sname[k]);
    }
    double **sv[2] = { &ck->std_mean, &ck->std_scale };
    const char *sn[2] = { "standardize_mean", "standardize_scale" };
    for (int k = 0; k < 2; k++) {
        if (H5Lexists(f, sn[k], H5P_DEFAULT) <= 0) continue;
        fs_h5_close_id(&t, H5Tclose);
        fs_h5_close_id(&s, H5Sclose);
        fs_h5_close_id(&d, H5Dclose);
        d = H5Dopen2(f, sn[k], H5P_DEFAULT);
        s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
        t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
        if (s < 0 || t < 0 || H5Sget_simple_extent_ndims(s) != 1 ||
            H5Sget_simple_extent_dims(s, dims, NULL) != 1 || dims[0] != dd ||
            H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 8)
            FS_FAIL(FS_ERR_DATA, "%s: /%s must be float64 [%llu]", path, sn[k],
                    (unsigned long long)dd);
        FS_TRY(fs_alloc(sv[k], dd, sizeof(double), "standardization"));
        if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *sv[k]) < 0)
            H5_FAIL(FS_ERR_DATA, "%s: cannot read /%s", path, sn[k]);
    }
    if (H5Lexists(f, "dp_rdp", H5P_DEFAULT) > 0) {
        fs_h5_close_id(&t, H5Tclose);
        fs_h5_close_id(&s, H5Sclose);
        fs_h5_close_id(&d, H5Dclose);
        d = H5Dopen2(f, "dp_rdp", H5P_DEFAULT);
        s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
        t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
        if (s < 0 || t < 0 || H5Sget_simple_extent_ndims(s) != 1 ||
            H5Sget_simple_extent_dims(s, dims, NULL) != 1 || dims[0] < 1 || dims[0] > 100000 ||
            H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 8)
            FS_FAIL(FS_ERR_DATA, "%s: /dp_rdp must be a float64 vector", path);
        ck->dp_rdp_len = dims[0];
        FS_TRY(fs_alloc(&ck->dp_rdp, dims[0], sizeof(double), "privacy accountant"));
        if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ck->dp_rdp) < 0)
            H5_FAIL(FS_ERR_DATA, "%s: cannot read /dp_rdp", path);
    }
    if (!ck->std_mean != !ck->std_scale)
        FS_FAIL(FS_ERR_DATA, "%s: standardize_mean and standardize_scale must both be present", path);
    *out = ck;
    ck = NULL;
done:
    fs_h5_close_id(&t, H5Tclose);
    fs_h5_close_id(&s, H5Sclose);
    fs_h5_close_id(&d, H5Dclose);
    fs_h5_close_id(&f, H5Fclose);
    fs_h5_quiet_end(&q);
    free(fmt);
    free(model);
    free(task);
    free(sopt);
    fs_checkpoint_free(&ck);
    return rc;
}

fs_err fs_checkpoint_evaluate(const fs_checkpoint *ck, const char *data_path,
                              fs_eval_report *report)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;
    fs_model *m = NULL;
    double *vec = NULL;
    FS_TRY(fs_dataset_read(data_path, FS_PART_TRAIN, &ds));
    if (ds->d != ck->d || ds->task != ck->task ||
        (ck->task == FS_TASK_CLASSIFICATION && ds->num_classes > ck->num_classes))
        FS_FAIL(FS_ERR_DATA, "%s does not match the checkpoint: %zu features/%d classes, "
                "model has %zu/%d", data_path, ds->d, ds->num_classes, ck->d, ck->num_classes);
    ds->num_classes = ck->num_classes;
    if (ck->std_mean) fs_standardize_apply(ds, ck->std_mean, ck->std_scale);
    FS_TRY(fs_model_create(ck->model, ck->d, ck->task, ck->num_classes, 1024, &m));
    if (fs_model_nparams(m) != ck->nparams)
        FS_FAIL(FS_ERR_DATA, "checkpoint has %zu parameters, model %s needs %zu", ck->nparams,
                ck->model, fs_model_nparams(m));
    memcpy(fs_model_params(m), ck->params, ck->nparams * sizeof(float));
    const size_t len = fs_metrics_len(ck->task, ck->num_classes);
    FS_TRY(fs_zalloc(&vec, len, sizeof *vec, "evaluation sums"));
    FS_TRY(fs_metrics_accumulate(m, ds, vec));
    fs_metrics_report(vec, ck->task, ck->num_classes, report);
done:
    free(vec);
    fs_model_destroy(&m);
    fs_dataset_destroy(&ds);
    return rc;
}

void fs_standardize_apply(fs_dataset *ds, const double *mean, const double *scale)
{
    for (size_t i = 0; i < ds->n; i++) {
        float *x = ds->X + i * ds->d;
        for (size_t j = 0; j < ds->d; j++) x[j] = (float)(((double)x[j] - mean[j]) / scale[j]);
    }
}

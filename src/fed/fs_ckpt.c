/*
 * fs_ckpt.c - checkpoint files (HDF5, serial driver, written by rank 0).
 *
 * Layout (docs/formats.md, "Checkpoint files"):
 *   /params  float32 [nparams]   global model, slab order of fs_model.h
 *   /server_m, /server_v  float32 [nparams]  server optimizer state (optional)
 *   /standardize_mean, /standardize_scale  float64 [d]  (--standardize only)
 *   /pipeline  group (runs on shards imported with a schema, or --impute):
 *              attributes schema, schema_hash (strings);
 *              /pipeline/impute_fill float64 [d] (--impute only; NaN = no fill)
 *   /dp_rdp  float64  serialized record-level RDP accountant (--dp-sgd yes only)
 *   /ddp_rdp float64  serialized institution-level accountant (--ddp yes only)
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
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_metrics.h"
#include "data/fs_h5_impl.h"
#include "fedsilo/fs_model.h"
#include "fedsilo/fs_schema.h"

#define CKPT_FORMAT "fedsilo-checkpoint"
#define CKPT_VERSION 1

uint64_t fs_params_hash(const float *p, size_t n)
{
    return fs_hash64(FS_HASH64_INIT, p, n * sizeof *p);
}

/* Write a 1-D dataset `name` of len elements (file type ftype) from data. */
static fs_err write_vec(hid_t f, const char *tmp, const char *name, hid_t ftype, hid_t mtype,
                        const void *data, size_t len)
{
    fs_err rc = FS_OK;
    hsize_t dims[1] = { len };
    hid_t s = H5Screate_simple(1, dims, NULL), d = H5I_INVALID_HID;
    if (s >= 0) d = H5Dcreate2(f, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (s < 0 || d < 0 || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        H5_FAIL(FS_ERR_IO, "cannot write /%s to %s (disk full?)", name, tmp);
done:
    fs_h5_close_id(&d, H5Dclose);
    fs_h5_close_id(&s, H5Sclose);
    return rc;
}

/*
 * Read the 1-D float dataset `name` (elements of esize bytes, 4 or 8) into
 * a new buffer *out (caller frees).  want > 0: it must have exactly want
 * elements; want == 0: any length up to 10^9.  Absent and !required: *out
 * stays NULL.
 */
static fs_err read_vec(hid_t f, const char *path, const char *name, size_t esize, size_t want,
                       int required, void **out, size_t *len)
{
    fs_err rc = FS_OK;
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID, t = H5I_INVALID_HID;
    hsize_t dims[2] = { 0, 0 };
    *out = NULL;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) {
        if (required) FS_FAIL(FS_ERR_DATA, "%s: dataset /%s missing", path, name);
        goto done;
    }
    d = H5Dopen2(f, name, H5P_DEFAULT);
    s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    if (s < 0 || t < 0 || H5Sget_simple_extent_ndims(s) != 1 ||
        H5Sget_simple_extent_dims(s, dims, NULL) != 1 || dims[0] < 1 || dims[0] > 1000000000 ||
        (want && dims[0] != want) || H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != esize)
    {
        if (want)
            FS_FAIL(FS_ERR_DATA, "%s: /%s must be float%zu [%zu]", path, name, esize * 8, want);
        FS_FAIL(FS_ERR_DATA, "%s: /%s must be a float%zu vector", path, name, esize * 8);
    }
    FS_TRY(fs_alloc(out, dims[0], esize, name));
    if (H5Dread(d, esize == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                H5P_DEFAULT, *out) < 0)
        H5_FAIL(FS_ERR_DATA, "%s: cannot read /%s (truncated file?)", path, name);
    if (len) *len = dims[0];
done:
    if (rc != FS_OK) { free(*out); *out = NULL; }
    fs_h5_close_id(&t, H5Tclose);
    fs_h5_close_id(&s, H5Sclose);
    fs_h5_close_id(&d, H5Dclose);
    return rc;
}

/* The /pipeline group: the schema (text and hash) and the fill values. */
static fs_err write_pipeline(hid_t f, const char *tmp, const fs_checkpoint *ck)
{
    fs_err rc = FS_OK;
    fs_schema *s = NULL;
    hid_t g = H5Gcreate2(f, "pipeline", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) H5_FAIL(FS_ERR_IO, "cannot create /pipeline in %s", tmp);
    if (ck->schema) {
        FS_TRY(fs_schema_parse(ck->schema, strlen(ck->schema), "the run's schema", &s));
        FS_TRY(fs_h5_write_str_attr(g, tmp, "schema", ck->schema));
        FS_TRY(fs_h5_write_str_attr(g, tmp, "schema_hash", fs_schema_hash_hex(s)));
    }
    if (ck->impute_fill)
        FS_TRY(write_vec(g, tmp, "impute_fill", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ck->impute_fill,
                         ck->d));
done:
    fs_schema_destroy(&s);
    fs_h5_close_id(&g, H5Gclose);
    return rc;
}

fs_err fs_checkpoint_write(const fs_checkpoint *ck, const char *path)
{
    fs_err rc = FS_OK;
    char tmp[4200];
    hid_t f = H5I_INVALID_HID;
    int created = 0;
    fs_h5_quiet q;
    fs_h5_quiet_begin(&q);
    snprintf(tmp, sizeof tmp, "%.4000s.tmp.%ld", path, (long)getpid());
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) H5_FAIL(FS_ERR_IO, "cannot create checkpoint %s", tmp);
    created = 1;
    const hid_t F32 = H5T_IEEE_F32LE, F64 = H5T_IEEE_F64LE;
    const hid_t M32 = H5T_NATIVE_FLOAT, M64 = H5T_NATIVE_DOUBLE;
    FS_TRY(write_vec(f, tmp, "params", F32, M32, ck->params, ck->nparams));
    if (ck->server_m) FS_TRY(write_vec(f, tmp, "server_m", F32, M32, ck->server_m, ck->nparams));
    if (ck->server_v) FS_TRY(write_vec(f, tmp, "server_v", F32, M32, ck->server_v, ck->nparams));
    if (ck->std_mean) FS_TRY(write_vec(f, tmp, "standardize_mean", F64, M64, ck->std_mean, ck->d));
    if (ck->std_scale)
        FS_TRY(write_vec(f, tmp, "standardize_scale", F64, M64, ck->std_scale, ck->d));
    if (ck->schema || ck->impute_fill) FS_TRY(write_pipeline(f, tmp, ck));
    if (ck->dp_rdp) FS_TRY(write_vec(f, tmp, "dp_rdp", F64, M64, ck->dp_rdp, ck->dp_rdp_len));
    if (ck->ddp_rdp) FS_TRY(write_vec(f, tmp, "ddp_rdp", F64, M64, ck->ddp_rdp, ck->ddp_rdp_len));
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
    if (ck->dp_rdp || ck->ddp_rdp)
        FS_TRY(fs_h5_write_int_attr(f, tmp, "ledger_charges", (int)ck->ledger_charges));
    herr_t cst = H5Fclose(f);
    f = H5I_INVALID_HID;
    if (cst < 0) H5_FAIL(FS_ERR_IO, "closing %s failed (disk full?)", tmp);
    FS_TRY(fs_file_commit(tmp, path));
    created = 0;
done:
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
    free((*ck)->impute_fill);
    free((*ck)->schema);
    free((*ck)->dp_rdp);
    free((*ck)->ddp_rdp);
    free((*ck)->params);
    free(*ck);
    *ck = NULL;
}

fs_err fs_checkpoint_read(const char *path, fs_checkpoint **out)
{
    fs_err rc = FS_OK;
    fs_checkpoint *ck = NULL;
    hid_t f = H5I_INVALID_HID;
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
    if (!fmt)
        FS_FAIL(FS_ERR_DATA, "%s is not a fedsilo checkpoint (attribute fedsilo_format missing)", path);
    if (strcmp(fmt, CKPT_FORMAT) != 0)
        FS_FAIL(FS_ERR_DATA, "%s is not a fedsilo checkpoint (fedsilo_format is '%.64s', expected "
                "'%s')", path, fmt, CKPT_FORMAT);
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
    FS_TRY(read_vec(f, path, "params", 4, np, 1, (void **)&ck->params, NULL));
    if (fs_params_hash(ck->params, np) != ck->model_hash)
        FS_FAIL(FS_ERR_DATA, "%s: model hash mismatch: the checkpoint is corrupt", path);
    /* optional state: server optimizer, standardization, privacy accountants */
    FS_TRY(fs_h5_read_str_attr(f, path, "server_opt", 0, &sopt));
    snprintf(ck->server_opt, sizeof ck->server_opt, "%s", sopt ? sopt : "fedavg");
    if (sopt) {
        uint64_t steps = 0;
        FS_TRY(fs_h5_read_u64_attr(f, path, "server_steps", &steps));
        ck->server_steps = (long)steps;
    }
    FS_TRY(read_vec(f, path, "server_m", 4, np, 0, (void **)&ck->server_m, NULL));
    FS_TRY(read_vec(f, path, "server_v", 4, np, 0, (void **)&ck->server_v, NULL));
    FS_TRY(read_vec(f, path, "standardize_mean", 8, dd, 0, (void **)&ck->std_mean, NULL));
    FS_TRY(read_vec(f, path, "standardize_scale", 8, dd, 0, (void **)&ck->std_scale, NULL));
    if (!ck->std_mean != !ck->std_scale)
        FS_FAIL(FS_ERR_DATA, "%s: standardize_mean and standardize_scale must both be present", path);
    if (H5Lexists(f, "pipeline", H5P_DEFAULT) > 0) {
        fs_schema *s = NULL;
        hid_t g = H5Gopen2(f, "pipeline", H5P_DEFAULT);
        if (g < 0) FS_FAIL(FS_ERR_DATA, "%s: /pipeline is not a group", path);
        rc = fs_h5_read_str_attr(g, path, "schema", 0, &ck->schema);
        if (rc == FS_OK)
            rc = read_vec(g, path, "impute_fill", 8, dd, 0, (void **)&ck->impute_fill, NULL);
        if (rc == FS_OK && ck->schema) {
            rc = fs_schema_parse(ck->schema, strlen(ck->schema), path, &s);
            if (rc == FS_OK && fs_schema_num_features(s) != dd)
                rc = fs_error_set(FS_ERR_DATA, "%s: the /pipeline schema has %zu features, the "
                                  "model %llu", path, fs_schema_num_features(s),
                                  (unsigned long long)dd);
        }
        fs_schema_destroy(&s);
        fs_h5_close_id(&g, H5Gclose);
        if (rc != FS_OK) goto done;
    }
    FS_TRY(read_vec(f, path, "dp_rdp", 8, 0, 0, (void **)&ck->dp_rdp, &ck->dp_rdp_len));
    FS_TRY(read_vec(f, path, "ddp_rdp", 8, 0, 0, (void **)&ck->ddp_rdp, &ck->ddp_rdp_len));
    int charges = -1, have = 0;
    FS_TRY(fs_h5_read_int_attr(f, path, "ledger_charges", 0, &charges, &have));
    ck->ledger_charges = have && charges >= 0 ? charges : -1;
    *out = ck;
    ck = NULL;
done:
    fs_h5_close_id(&f, H5Fclose);
    fs_h5_quiet_end(&q);
    free(fmt);
    free(model);
    free(task);
    free(sopt);
    fs_checkpoint_free(&ck);
    return rc;
}

fs_err fs_checkpoint_check_schema(const fs_checkpoint *ck, const fs_dataset *ds, const char *name)
{
    fs_err rc = FS_OK;
    fs_schema *s = NULL;
    if (!ck->schema) return FS_OK;
    FS_TRY(fs_schema_parse(ck->schema, strlen(ck->schema), "the checkpoint's schema", &s));
    FS_TRY(fs_dataset_check_schema(ds, fs_schema_hash_hex(s), "the checkpoint", name));
done:
    fs_schema_destroy(&s);
    return rc;
}

fs_err fs_checkpoint_evaluate(const fs_checkpoint *ck, const char *data_path,
                              fs_eval_report *report)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;
    fs_model *m = NULL;
    double *vec = NULL;
    FS_TRY(fs_dataset_read_ex(data_path, FS_PART_TRAIN, ck->impute_fill ? FS_READ_ALLOW_MISSING : 0,
                              &ds));
    FS_TRY(fs_checkpoint_check_schema(ck, ds, data_path));
    if (ds->d != ck->d || ds->task != ck->task ||
        (ck->task == FS_TASK_CLASSIFICATION && ds->num_classes > ck->num_classes))
        FS_FAIL(FS_ERR_DATA, "%s does not match the checkpoint: %zu features/%d classes, "
                "model has %zu/%d", data_path, ds->d, ds->num_classes, ck->d, ck->num_classes);
    ds->num_classes = ck->num_classes;
    if (ck->impute_fill) FS_TRY(fs_dataset_impute(ds, ck->impute_fill, data_path));
    if (ck->std_mean) fs_dataset_standardize(ds, ck->std_mean, ck->std_scale);
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

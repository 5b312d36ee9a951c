/*
 * fs_gbdt_model.c - GBDT models: bins and trees, prediction with XGBoost's
 * float32 arithmetic, the model fingerprint, and the HDF5 group layout of
 * docs/formats.md ("GBDT models").  Programs layer, no MPI.
 *
 * Prediction of one row x: margin_k = base_margin + sum over the trees t of
 * class k, in tree order, of leaf_t(x), accumulated in float32; at a split
 * (feature f, condition c) a missing x_f follows default_left and otherwise
 * x_f < c (float32) goes left.  Outputs: sigmoid(margin) for
 * binary:logistic, softmax(margins) for multi:softprob, the arg max for
 * multi:softmax, the margin for reg:squarederror (XGBoost 1.7's
 * transforms, in float32).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_gbdt_impl.h"
#include "data/fs_h5_impl.h"

#define GBDT_FORMAT "fedsilo-gbdt"
#define GBDT_VERSION 1

double fs_gbdt_base_score(const fs_gbdt_opts *o)
{
    return isnan(o->base_score) ? 0.5 : o->base_score;
}

float fs_gbdt_base_margin(const fs_gbdt_opts *o)
{
    float bs = (float)fs_gbdt_base_score(o);
    if (o->objective == FS_GBDT_BINARY_LOGISTIC) return -logf(1.0f / bs - 1.0f);
    return bs;
}

fs_err fs_gbdt_model_new(const fs_gbdt_opts *o, size_t d, fs_gbdt_model **out)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = NULL;
    *out = NULL;
    FS_TRY(fs_zalloc(&m, 1, sizeof *m, "gbdt model"));
    m->opts = *o;
    m->nout = fs_gbdt_nout(o);
    m->d = d;
    m->base_margin = fs_gbdt_base_margin(o);
    m->best_round = -1;
    m->best_score = NAN;
    FS_TRY(fs_zalloc(&m->bin_ptr, d + 1, sizeof *m->bin_ptr, "gbdt bin offsets"));
    FS_TRY(fs_zalloc(&m->has_missing, d, 1, "gbdt missing flags"));
    FS_TRY(fs_alloc(&m->edges, 1, sizeof *m->edges, "gbdt bin edges"));
    m->cap_trees = 16;
    FS_TRY(fs_zalloc(&m->tree_ptr, (size_t)m->cap_trees + 1, sizeof *m->tree_ptr, "gbdt trees"));
    FS_TRY(fs_alloc(&m->tree_class, (size_t)m->cap_trees, sizeof *m->tree_class, "gbdt trees"));
    m->cap_nodes = 256;
    FS_TRY(fs_alloc(&m->nodes, m->cap_nodes, sizeof *m->nodes, "gbdt nodes"));
    *out = m;
    m = NULL;
done:
    fs_gbdt_model_destroy(&m);
    return rc;
}

void fs_gbdt_model_destroy(fs_gbdt_model **mp)
{
    if (!mp || !*mp) return;
    fs_gbdt_model *m = *mp;
    free(m->bin_ptr);
    free(m->edges);
    free(m->has_missing);
    free(m->tree_ptr);
    free(m->tree_class);
    free(m->nodes);
    free(m);
    *mp = NULL;
}

/* Copy n elements of size sz from src into a new block *dst (>= 1 element). */
static fs_err dup_block(void *dst, const void *src, size_t n, size_t cap, size_t sz,
                        const char *what)
{
    void **d = dst;
    fs_err rc = fs_alloc(d, cap > n ? cap : (n ? n : 1), sz, what);
    if (rc == FS_OK && n) memcpy(*d, src, n * sz);
    return rc;
}

fs_err fs_gbdt_model_copy(const fs_gbdt_model *src, fs_gbdt_model **out)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *m = NULL;
    *out = NULL;
    FS_TRY(fs_zalloc(&m, 1, sizeof *m, "gbdt model"));
    *m = *src;
    m->bin_ptr = NULL;
    m->edges = NULL;
    m->has_missing = NULL;
    m->tree_ptr = NULL;
    m->tree_class = NULL;
    m->nodes = NULL;
    size_t ne = src->bin_ptr[src->d];
    FS_TRY(dup_block(&m->bin_ptr, src->bin_ptr, src->d + 1, 0, sizeof *m->bin_ptr, "gbdt bins"));
    FS_TRY(dup_block(&m->edges, src->edges, ne, 0, sizeof *m->edges, "gbdt bins"));
    FS_TRY(dup_block(&m->has_missing, src->has_missing, src->d, 0, 1, "gbdt bins"));
    FS_TRY(dup_block(&m->tree_ptr, src->tree_ptr, (size_t)src->ntrees + 1,
                     (size_t)src->cap_trees + 1, sizeof *m->tree_ptr, "gbdt trees"));
    FS_TRY(dup_block(&m->tree_class, src->tree_class, (size_t)src->ntrees,
                     (size_t)src->cap_trees, sizeof *m->tree_class, "gbdt trees"));
    FS_TRY(dup_block(&m->nodes, src->nodes, src->nnodes, src->cap_nodes, sizeof *m->nodes,
                     "gbdt nodes"));
    *out = m;
    m = NULL;
done:
    fs_gbdt_model_destroy(&m);
    return rc;
}

fs_err fs_gbdt_grow(void *p, size_t *cap, size_t need, size_t sz, const char *what)
{
    if (need <= *cap && *(void **)p) return FS_OK;
    size_t nc = *cap ? *cap : 4;
    while (nc < need) nc *= 2;
    void *q = realloc(*(void **)p, nc * sz);
    if (!q) return fs_error_set(FS_ERR_NOMEM, "gbdt: out of memory for %s (%zu x %zu bytes)",
                                what, nc, sz);
    *(void **)p = q;
    *cap = nc;
    return FS_OK;
}

fs_err fs_gbdt_model_begin_tree(fs_gbdt_model *m, int cls)
{
    fs_err rc = FS_OK;
    size_t ct = (size_t)m->cap_trees, ct1 = ct + 1;
    if ((size_t)m->ntrees + 1 > ct) {
        FS_TRY(fs_gbdt_grow(&m->tree_class, &ct, (size_t)m->ntrees + 1, sizeof *m->tree_class,
                            "trees"));
        FS_TRY(fs_gbdt_grow(&m->tree_ptr, &ct1, ct + 1, sizeof *m->tree_ptr, "trees"));
        m->cap_trees = (int)ct;
    }
    m->tree_class[m->ntrees] = cls;
    m->ntrees++;
    m->tree_ptr[m->ntrees] = (uint32_t)m->nnodes;
    fs_gbdt_node root = { .left = -1, .right = -1, .parent = -1 };
    int32_t id;
    FS_TRY(fs_gbdt_model_add_node(m, &root, &id));
done:
    return rc;
}

fs_err fs_gbdt_model_add_node(fs_gbdt_model *m, const fs_gbdt_node *nd, int32_t *id)
{
    fs_err rc = FS_OK;
    if (m->nnodes >= UINT32_MAX - 1) FS_FAIL(FS_ERR_NOMEM, "gbdt: too many tree nodes");
    FS_TRY(fs_gbdt_grow(&m->nodes, &m->cap_nodes, m->nnodes + 1, sizeof *m->nodes, "tree nodes"));
    *id = (int32_t)(m->nnodes - m->tree_ptr[m->ntrees - 1]);
    m->nodes[m->nnodes++] = *nd;
    m->tree_ptr[m->ntrees] = (uint32_t)m->nnodes;
done:
    return rc;
}

void fs_gbdt_model_truncate(fs_gbdt_model *m, int ntrees)
{
    if (ntrees >= m->ntrees) return;
    m->ntrees = ntrees;
    m->nnodes = m->tree_ptr[ntrees];
}

int32_t fs_gbdt_tree_leaf(const fs_gbdt_model *m, int t, const float *x)
{
    const fs_gbdt_node *nd = m->nodes + m->tree_ptr[t];
    int32_t i = 0;
    while (nd[i].left >= 0) {
        float v = x[nd[i].feature];
        if (isnan(v)) i = nd[i].default_left ? nd[i].left : nd[i].right;
        else i = v < nd[i].cond ? nd[i].left : nd[i].right;
    }
    return i;
}

void fs_gbdt_model_add_margins(const fs_gbdt_model *m, int t0, int t1, const float *X,
                               size_t n, float *margins)
{
    int K = m->nout;
    for (size_t r = 0; r < n; r++) {
        const float *x = X + r * m->d;
        float *mr = margins + r * (size_t)K;
        for (int t = t0; t < t1; t++) {
            uint32_t leaf = m->tree_ptr[t] + (uint32_t)fs_gbdt_tree_leaf(m, t, x);
            mr[m->tree_class[t]] += m->nodes[leaf].cond;
        }
    }
}

fs_err fs_gbdt_model_predict(const fs_gbdt_model *m, const float *X, size_t n, size_t d,
                             int margin, float *out)
{
    fs_err rc = FS_OK;
    float *tmp = NULL;
    int K = m->nout;
    fs_gbdt_objective obj = m->opts.objective;
    if (d != m->d)
        FS_FAIL(FS_ERR_ARG, "gbdt predict: the data has %zu features, the model %zu", d, m->d);
    /* softmax outputs one value per row: margins go to a scratch buffer */
    int scratch = !margin && obj == FS_GBDT_MULTI_SOFTMAX;
    float *mg = out;
    if (scratch) FS_TRY(fs_alloc(&tmp, n * (size_t)K, sizeof *tmp, "gbdt margins"));
    if (scratch) mg = tmp;
    for (size_t i = 0; i < n * (size_t)K; i++) mg[i] = m->base_margin;
    fs_gbdt_model_add_margins(m, 0, m->ntrees, X, n, mg);
    if (margin) goto done;
    for (size_t r = 0; r < n; r++) {
        float *v = mg + r * (size_t)K;
        if (obj == FS_GBDT_BINARY_LOGISTIC) {
            out[r] = 1.0f / (1.0f + expf(-v[0]));
        } else if (obj == FS_GBDT_MULTI_SOFTPROB || obj == FS_GBDT_MULTI_SOFTMAX) {
            float wmax = v[0];
            int arg = 0;
            for (int k = 1; k < K; k++)
                if (v[k] > wmax) { wmax = v[k]; arg = k; }
            if (obj == FS_GBDT_MULTI_SOFTMAX) { out[r] = (float)arg; continue; }
            float s = 0.0f;
            for (int k = 0; k < K; k++) s += expf(v[k] - wmax);
            for (int k = 0; k < K; k++) v[k] = expf(v[k] - wmax) / s;
        }
    }
done:
    free(tmp);
    return rc;
}

int fs_gbdt_model_num_trees(const fs_gbdt_model *m) { return m->ntrees; }
size_t fs_gbdt_model_num_features(const fs_gbdt_model *m) { return m->d; }
fs_gbdt_objective fs_gbdt_model_objective(const fs_gbdt_model *m) { return m->opts.objective; }
int fs_gbdt_model_num_class(const fs_gbdt_model *m)
{
    return m->nout > 1 ? m->nout : 0;
}

// --- Fingerprint: every saved field, serialized little-endian

static uint64_t h_u64(uint64_t h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    return fs_hash64(h, b, sizeof b);
}

static uint64_t h_f64(uint64_t h, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return h_u64(h, u);
}

static uint64_t h_f32(uint64_t h, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return h_u64(h, u);
}

uint64_t fs_gbdt_model_hash(const fs_gbdt_model *m)
{
    const fs_gbdt_opts *o = &m->opts;
    uint64_t h = FS_HASH64_INIT;
    h = h_u64(h, (uint64_t)o->objective);
    h = h_u64(h, (uint64_t)m->nout);
    h = h_u64(h, (uint64_t)o->rounds);
    h = h_u64(h, (uint64_t)o->max_depth);
    h = h_u64(h, (uint64_t)o->max_bins);
    h = h_u64(h, (uint64_t)o->fine_bins);
    h = h_u64(h, (uint64_t)o->frac_bits);
    h = h_u64(h, (uint64_t)o->early_stopping_rounds);
    h = h_u64(h, o->seed);
    double dv[] = { o->eta, o->lambda, o->gamma, o->min_child_weight, o->subsample,
                    o->colsample_bytree, fs_gbdt_base_score(o), o->label_lo, o->label_hi,
                    m->best_score };
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) h = h_f64(h, dv[i]);
    h = h_u64(h, m->d);
    h = h_u64(h, m->total_rows);
    h = h_u64(h, m->total_val_rows);
    h = h_u64(h, (uint64_t)m->frac_bits);
    h = h_u64(h, (uint64_t)m->eval_frac_bits);
    h = h_u64(h, (uint64_t)m->rounds_done);
    h = h_u64(h, (uint64_t)(int64_t)m->best_round);
    h = h_u64(h, (uint64_t)m->stopped);
    for (size_t f = 0; f <= m->d; f++) h = h_u64(h, m->bin_ptr[f]);
    for (size_t i = 0; i < m->bin_ptr[m->d]; i++) h = h_f32(h, m->edges[i]);
    for (size_t f = 0; f < m->d; f++) h = h_u64(h, m->has_missing[f]);
    h = h_u64(h, (uint64_t)m->ntrees);
    for (int t = 0; t < m->ntrees; t++) {
        h = h_u64(h, m->tree_ptr[t + 1]);
        h = h_u64(h, (uint64_t)m->tree_class[t]);
    }
    for (size_t i = 0; i < m->nnodes; i++) {
        const fs_gbdt_node *nd = m->nodes + i;
        h = h_u64(h, (uint64_t)(int64_t)nd->left);
        h = h_u64(h, (uint64_t)(int64_t)nd->right);
        h = h_u64(h, (uint64_t)(int64_t)nd->parent);
        h = h_u64(h, (uint64_t)nd->feature);
        h = h_u64(h, (uint64_t)nd->split_bin);
        h = h_f32(h, nd->cond);
        h = h_f32(h, nd->base_weight);
        h = h_f32(h, nd->loss_change);
        h = h_f32(h, nd->sum_hessian);
        h = h_u64(h, nd->default_left);
    }
    return h;
}

// --- HDF5 group (docs/formats.md, "GBDT models")

static fs_err write_arr(hid_t g, const char *path, const char *name, hid_t ftype, hid_t mtype,
                        const void *data, size_t len)
{
    fs_err rc = FS_OK;
    hsize_t dims[1] = { len };
    hid_t s = H5Screate_simple(1, dims, NULL), ds = H5I_INVALID_HID;
    if (s >= 0) ds = H5Dcreate2(g, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (s < 0 || ds < 0 || (len && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        H5_FAIL(FS_ERR_IO, "cannot write %s to %s (disk full?)", name, path);
done:
    fs_h5_close_id(&ds, H5Dclose);
    fs_h5_close_id(&s, H5Sclose);
    return rc;
}

/* Read the 1-D dataset `name` of exactly len elements of class cls and
 * element size sz (stored) into out, converting to mtype. */
static fs_err read_arr(hid_t g, const char *path, const char *gname, const char *name,
                       H5T_class_t cls, size_t sz, hid_t mtype, void *out, size_t len)
{
    fs_err rc = FS_OK;
    hid_t ds = H5I_INVALID_HID, s = H5I_INVALID_HID, t = H5I_INVALID_HID;
    hsize_t dims[1] = { 0 };
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        FS_FAIL(FS_ERR_DATA, "%s: GBDT model /%s has no dataset %s", path, gname, name);
    ds = H5Dopen2(g, name, H5P_DEFAULT);
    s = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    t = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
    if (s < 0 || t < 0 || H5Sget_simple_extent_ndims(s) != 1 ||
        H5Sget_simple_extent_dims(s, dims, NULL) != 1 || dims[0] != len ||
        H5Tget_class(t) != cls || H5Tget_size(t) != sz)
        FS_FAIL(FS_ERR_DATA, "%s: /%s/%s must be a %s%zu vector of %zu elements", path, gname,
                name, cls == H5T_FLOAT ? "float" : "int", sz * 8, len);
    if (len && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        H5_FAIL(FS_ERR_DATA, "%s: cannot read /%s/%s (truncated file?)", path, gname, name);
done:
    fs_h5_close_id(&t, H5Tclose);
    fs_h5_close_id(&s, H5Sclose);
    fs_h5_close_id(&ds, H5Dclose);
    return rc;
}

/* Length of the 1-D dataset `name` (0 when absent or not 1-D). */
static size_t arr_len(hid_t g, const char *name)
{
    hsize_t dims[1] = { 0 };
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0) return 0;
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    hid_t s = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    if (s < 0 || H5Sget_simple_extent_ndims(s) != 1 ||
        H5Sget_simple_extent_dims(s, dims, NULL) != 1)
        dims[0] = 0;
    fs_h5_close_id(&s, H5Sclose);
    fs_h5_close_id(&ds, H5Dclose);
    return (size_t)dims[0];
}

static fs_err write_f64_attr(hid_t g, const char *path, const char *name, double v)
{
    fs_err rc = FS_OK;
    hid_t s = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    if (s >= 0) a = H5Acreate2(g, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    if (s < 0 || a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &v) < 0)
        H5_FAIL(FS_ERR_IO, "%s: cannot write attribute %s", path, name);
done:
    fs_h5_close_id(&a, H5Aclose);
    fs_h5_close_id(&s, H5Sclose);
    return rc;
}

static fs_err read_f64_attr(hid_t g, const char *path, const char *gname, const char *name,
                            double *v)
{
    fs_err rc = FS_OK;
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, s = H5I_INVALID_HID;
    if (H5Aexists(g, name) <= 0)
        FS_FAIL(FS_ERR_DATA, "%s: GBDT model /%s has no attribute %s", path, gname, name);
    a = H5Aopen(g, name, H5P_DEFAULT);
    t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    s = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    if (a < 0 || t < 0 || s < 0 || H5Tget_class(t) != H5T_FLOAT ||
        H5Sget_simple_extent_npoints(s) != 1 || H5Aread(a, H5T_NATIVE_DOUBLE, v) < 0)
        FS_FAIL(FS_ERR_DATA, "%s: attribute %s of /%s must be one float", path, name, gname);
done:
    fs_h5_close_id(&s, H5Sclose);
    fs_h5_close_id(&t, H5Tclose);
    fs_h5_close_id(&a, H5Aclose);
    return rc;
}

/* The per-node arrays, in XGBoost's JSON names: int32 columns, then
 * float32, then the uint8 default_left. */
typedef enum { COL_LEFT, COL_RIGHT, COL_PARENT, COL_FEATURE, COL_BIN, COL_COND, COL_BASE,
               COL_LOSS, COL_HESS, COL_DEFAULT, NCOLS } node_col;
static const char *const col_name[NCOLS] = {
    "left_children", "right_children", "parents", "split_indices", "split_bins",
    "split_conditions", "base_weights", "loss_changes", "sum_hessian", "default_left"
};

/* Field of column c in node nd; its size is col_size(c). */
static void *col_field(fs_gbdt_node *nd, int c)
{
    void *f[NCOLS] = { &nd->left, &nd->right, &nd->parent, &nd->feature, &nd->split_bin,
                       &nd->cond, &nd->base_weight, &nd->loss_change, &nd->sum_hessian,
                       &nd->default_left };
    return f[c];
}

static size_t col_size(int c) { return c == COL_DEFAULT ? 1 : 4; }

/* File and memory types of column c. */
static void col_types(int c, hid_t *ftype, hid_t *mtype, H5T_class_t *cls)
{
    if (c == COL_DEFAULT) {
        *ftype = H5T_STD_U8LE, *mtype = H5T_NATIVE_UINT8, *cls = H5T_INTEGER;
    } else if (c >= COL_COND) {
        *ftype = H5T_IEEE_F32LE, *mtype = H5T_NATIVE_FLOAT, *cls = H5T_FLOAT;
    } else {
        *ftype = H5T_STD_I32LE, *mtype = H5T_NATIVE_INT32, *cls = H5T_INTEGER;
    }
}

fs_err fs_gbdt_model_write_h5(const fs_gbdt_model *m, hid_t loc, const char *path,
                              const char *group)
{
    fs_err rc = FS_OK;
    hid_t g = H5I_INVALID_HID;
    void *col = NULL;
    const fs_gbdt_opts *o = &m->opts;
    size_t nn = m->nnodes;
    if (H5Lexists(loc, group, H5P_DEFAULT) > 0)
        FS_FAIL(FS_ERR_ARG, "%s already holds a group /%s", path, group);
    g = H5Gcreate2(loc, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) H5_FAIL(FS_ERR_IO, "cannot create group /%s in %s", group, path);
    FS_TRY(fs_h5_write_str_attr(g, path, "fedsilo_format", GBDT_FORMAT));
    FS_TRY(fs_h5_write_int_attr(g, path, "format_version", GBDT_VERSION));
    FS_TRY(fs_h5_write_str_attr(g, path, "objective", fs_gbdt_objective_name(o->objective)));
    FS_TRY(fs_h5_write_int_attr(g, path, "num_class", fs_gbdt_model_num_class(m)));
    FS_TRY(fs_h5_write_u64_attr(g, path, "num_feature", m->d));
    FS_TRY(fs_h5_write_int_attr(g, path, "num_trees", m->ntrees));
    const struct { const char *k; int v; } iv[] = {
        { "rounds", o->rounds }, { "max_depth", o->max_depth }, { "max_bins", o->max_bins },
        { "fine_bins", o->fine_bins }, { "frac_bits_option", o->frac_bits },
        { "early_stopping_rounds", o->early_stopping_rounds }, { "frac_bits", m->frac_bits },
        { "eval_frac_bits", m->eval_frac_bits }, { "rounds_done", m->rounds_done },
        { "best_round", m->best_round }, { "stopped", m->stopped },
    };
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        FS_TRY(fs_h5_write_int_attr(g, path, iv[i].k, iv[i].v));
    const struct { const char *k; double v; } dv[] = {
        { "base_score", fs_gbdt_base_score(o) }, { "eta", o->eta }, { "lambda", o->lambda },
        { "gamma", o->gamma }, { "min_child_weight", o->min_child_weight },
        { "subsample", o->subsample }, { "colsample_bytree", o->colsample_bytree },
        { "label_lo", o->label_lo }, { "label_hi", o->label_hi }, { "best_score", m->best_score },
    };
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++)
        FS_TRY(write_f64_attr(g, path, dv[i].k, dv[i].v));
    FS_TRY(fs_h5_write_u64_attr(g, path, "seed", o->seed));
    FS_TRY(fs_h5_write_u64_attr(g, path, "total_rows", m->total_rows));
    FS_TRY(fs_h5_write_u64_attr(g, path, "total_val_rows", m->total_val_rows));
    FS_TRY(fs_h5_write_u64_attr(g, path, "model_hash", fs_gbdt_model_hash(m)));

    const hid_t U32 = H5T_STD_U32LE, I32 = H5T_STD_I32LE, F32 = H5T_IEEE_F32LE, U8 = H5T_STD_U8LE;
    FS_TRY(write_arr(g, path, "bin_ptr", U32, H5T_NATIVE_UINT32, m->bin_ptr, m->d + 1));
    FS_TRY(write_arr(g, path, "bin_edges", F32, H5T_NATIVE_FLOAT, m->edges, m->bin_ptr[m->d]));
    FS_TRY(write_arr(g, path, "has_missing", U8, H5T_NATIVE_UINT8, m->has_missing, m->d));
    FS_TRY(write_arr(g, path, "tree_ptr", U32, H5T_NATIVE_UINT32, m->tree_ptr,
                     (size_t)m->ntrees + 1));
    FS_TRY(write_arr(g, path, "tree_class", I32, H5T_NATIVE_INT32, m->tree_class,
                     (size_t)m->ntrees));
    FS_TRY(fs_alloc(&col, nn ? nn : 1, 4, "gbdt node column"));
    for (int c = 0; c < NCOLS; c++) {
        hid_t ft, mt;
        H5T_class_t cls;
        size_t sz = col_size(c);
        col_types(c, &ft, &mt, &cls);
        for (size_t i = 0; i < nn; i++)
            memcpy((char *)col + i * sz, col_field(m->nodes + i, c), sz);
        FS_TRY(write_arr(g, path, col_name[c], ft, mt, col, nn));
    }
done:
    free(col);
    fs_h5_close_id(&g, H5Gclose);
    return rc;
}

/* Structural checks of a loaded model: every index in range, trees acyclic
 * (children have larger ids than their parent), conditions equal to the
 * bin edges they name.  Returns FS_ERR_DATA naming the first problem. */
static fs_err check_model(const fs_gbdt_model *m, const char *path, const char *gname)
{
    fs_err rc = FS_OK;
    size_t d = m->d;
    if (m->bin_ptr[0] != 0)
        FS_FAIL(FS_ERR_DATA, "%s: /%s/bin_ptr must start at 0", path, gname);
    for (size_t f = 0; f < d; f++) {
        uint32_t a = m->bin_ptr[f], b = m->bin_ptr[f + 1];
        if (b < a || b - a == 1 || b - a - (b > a) > (uint32_t)m->opts.max_bins)
            FS_FAIL(FS_ERR_DATA, "%s: /%s/bin_ptr is inconsistent at feature %zu", path, gname, f);
        for (uint32_t i = a; i + 1 < b; i++)
            if (!(fs_gbdt_key(m->edges[i]) < fs_gbdt_key(m->edges[i + 1])) || isnan(m->edges[i]) ||
                isnan(m->edges[i + 1]))
                FS_FAIL(FS_ERR_DATA, "%s: /%s/bin_edges of feature %zu are not increasing", path,
                        gname, f);
        if (m->has_missing[f] > 1)
            FS_FAIL(FS_ERR_DATA, "%s: /%s/has_missing must be 0 or 1", path, gname);
    }
    if (m->tree_ptr[0] != 0)
        FS_FAIL(FS_ERR_DATA, "%s: /%s/tree_ptr must start at 0", path, gname);
    for (int t = 0; t < m->ntrees; t++) {
        uint32_t a = m->tree_ptr[t], b = m->tree_ptr[t + 1];
        if (b <= a || b > m->nnodes)
            FS_FAIL(FS_ERR_DATA, "%s: /%s/tree_ptr is inconsistent at tree %d", path, gname, t);
        if (m->tree_class[t] < 0 || m->tree_class[t] >= m->nout)
            FS_FAIL(FS_ERR_DATA, "%s: /%s/tree_class of tree %d is out of range", path, gname, t);
        int32_t nn = (int32_t)(b - a);
        const fs_gbdt_node *nd = m->nodes + a;
        if (nd[0].parent != -1)
            FS_FAIL(FS_ERR_DATA, "%s: /%s: the root of tree %d has a parent", path, gname, t);
        for (int32_t i = 0; i < nn; i++) {
            const fs_gbdt_node *x = nd + i;
            int leaf = x->left < 0 && x->right < 0;
            int ok = x->default_left <= 1;
            if (leaf) {
                ok = ok && x->left == -1 && x->right == -1 && isfinite(x->cond);
            } else {
                ok = ok && x->left > i && x->left < nn && x->right > i && x->right < nn &&
                     x->left != x->right && nd[x->left].parent == i && nd[x->right].parent == i &&
                     x->feature >= 0 && (size_t)x->feature < d && x->split_bin >= 0 &&
                     (uint32_t)x->split_bin <= fs_gbdt_nbins(m, (size_t)x->feature) &&
                     fs_gbdt_nbins(m, (size_t)x->feature) > 0;
                if (ok) {
                    float e = m->edges[m->bin_ptr[x->feature] + (uint32_t)x->split_bin];
                    ok = memcmp(&e, &x->cond, sizeof e) == 0;
                }
            }
            if (i > 0 && (x->parent < 0 || x->parent >= i ||
                          (nd[x->parent].left != i && nd[x->parent].right != i)))
                ok = 0;
            if (!ok)
                FS_FAIL(FS_ERR_DATA, "%s: /%s: node %d of tree %d is inconsistent", path, gname,
                        i, t);
        }
    }
    if (m->ntrees != m->rounds_done * m->nout || m->rounds_done > m->opts.rounds ||
        m->best_round >= m->rounds_done || m->best_round < -1)
        FS_FAIL(FS_ERR_DATA, "%s: /%s: num_trees, rounds_done and best_round disagree", path,
                gname);
done:
    return rc;
}

fs_err fs_gbdt_model_read_h5(hid_t loc, const char *path, const char *group, fs_gbdt_model **out)
{
    fs_err rc = FS_OK;
    hid_t g = H5I_INVALID_HID;
    char *fmt = NULL, *objname = NULL;
    fs_gbdt_model *m = NULL;
    void *col = NULL;
    int ver = 0, found = 0, ncls = 0, ntrees = 0;
    uint64_t d = 0, stored_hash = 0;
    fs_gbdt_opts o;
    *out = NULL;
    fs_gbdt_opts_default(&o);
    if (H5Lexists(loc, group, H5P_DEFAULT) <= 0 ||
        (g = H5Gopen2(loc, group, H5P_DEFAULT)) < 0)
        FS_FAIL(FS_ERR_DATA, "%s holds no GBDT model (no group /%s; not a GBDT checkpoint?)", path,
                group);
    FS_TRY(fs_h5_read_str_attr(g, path, "fedsilo_format", 0, &fmt));
    if (!fmt || strcmp(fmt, GBDT_FORMAT) != 0)
        FS_FAIL(FS_ERR_DATA, "%s: group /%s is not a fedsilo GBDT model (fedsilo_format is not "
                "'%s')", path, group, GBDT_FORMAT);
    FS_TRY(fs_h5_read_int_attr(g, path, "format_version", 1, &ver, &found));
    if (ver != GBDT_VERSION)
        FS_FAIL(FS_ERR_DATA, "%s: unsupported GBDT model format_version %d", path, ver);
    FS_TRY(fs_h5_read_str_attr(g, path, "objective", 1, &objname));
    FS_TRY(fs_gbdt_objective_parse(objname, &o.objective) == FS_OK ? FS_OK :
           fs_error_set(FS_ERR_DATA, "%s: /%s: unknown objective '%.40s'", path, group, objname));
    FS_TRY(fs_h5_read_int_attr(g, path, "num_class", 1, &ncls, &found));
    FS_TRY(fs_h5_read_u64_attr(g, path, "num_feature", &d));
    FS_TRY(fs_h5_read_int_attr(g, path, "num_trees", 1, &ntrees, &found));
    o.num_class = ncls;
    int *iv[] = { &o.rounds, &o.max_depth, &o.max_bins, &o.fine_bins, &o.frac_bits,
                  &o.early_stopping_rounds };
    const char *ik[] = { "rounds", "max_depth", "max_bins", "fine_bins", "frac_bits_option",
                         "early_stopping_rounds" };
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        FS_TRY(fs_h5_read_int_attr(g, path, ik[i], 1, iv[i], &found));
    double *dv[] = { &o.base_score, &o.eta, &o.lambda, &o.gamma, &o.min_child_weight,
                     &o.subsample, &o.colsample_bytree, &o.label_lo, &o.label_hi };
    const char *dk[] = { "base_score", "eta", "lambda", "gamma", "min_child_weight", "subsample",
                         "colsample_bytree", "label_lo", "label_hi" };
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++)
        FS_TRY(read_f64_attr(g, path, group, dk[i], dv[i]));
    FS_TRY(fs_h5_read_u64_attr(g, path, "seed", &o.seed));
    if (d < 1 || d > (1u << 24) || ntrees < 0 || ntrees > (1 << 24))
        FS_FAIL(FS_ERR_DATA, "%s: /%s: num_feature or num_trees out of range", path, group);
    if (fs_gbdt_opts_check(&o) != FS_OK)
        FS_FAIL(FS_ERR_DATA, "%s: /%s: stored options are invalid: %s", path, group, fs_errmsg());
    FS_TRY(fs_gbdt_model_new(&o, (size_t)d, &m));
    FS_TRY(fs_h5_read_u64_attr(g, path, "total_rows", &m->total_rows));
    FS_TRY(fs_h5_read_u64_attr(g, path, "total_val_rows", &m->total_val_rows));
    int *mv[] = { &m->frac_bits, &m->eval_frac_bits, &m->rounds_done, &m->best_round,
                  &m->stopped };
    const char *mk[] = { "frac_bits", "eval_frac_bits", "rounds_done", "best_round", "stopped" };
    for (size_t i = 0; i < sizeof mv / sizeof mv[0]; i++)
        FS_TRY(fs_h5_read_int_attr(g, path, mk[i], 1, mv[i], &found));
    FS_TRY(read_f64_attr(g, path, group, "best_score", &m->best_score));
    FS_TRY(fs_h5_read_u64_attr(g, path, "model_hash", &stored_hash));
    /* eval_frac_bits 0 with total_rows 0: a DP model whose row counts were
     * never released (fs_gbdt_set_public_bins) */
    const int no_counts = m->total_rows == 0 && m->eval_frac_bits == 0;
    if (m->frac_bits < FS_GBDT_MIN_FRAC_BITS || m->frac_bits > FS_GBDT_MAX_FRAC_BITS ||
        (!no_counts && (m->eval_frac_bits < FS_GBDT_MIN_FRAC_BITS ||
                        m->eval_frac_bits > FS_GBDT_MAX_FRAC_BITS)) ||
        m->stopped < 0 || m->stopped > 1 || m->rounds_done < 0)
        FS_FAIL(FS_ERR_DATA, "%s: /%s: training state attributes out of range", path, group);

    FS_TRY(read_arr(g, path, group, "bin_ptr", H5T_INTEGER, 4, H5T_NATIVE_UINT32, m->bin_ptr,
                    d + 1));
    size_t ne = arr_len(g, "bin_edges");
    if (ne != m->bin_ptr[d])
        FS_FAIL(FS_ERR_DATA, "%s: /%s/bin_edges must hold bin_ptr[d] = %u edges", path, group,
                m->bin_ptr[d]);
    free(m->edges);
    m->edges = NULL;
    FS_TRY(fs_alloc(&m->edges, ne ? ne : 1, sizeof *m->edges, "gbdt bin edges"));
    FS_TRY(read_arr(g, path, group, "bin_edges", H5T_FLOAT, 4, H5T_NATIVE_FLOAT, m->edges, ne));
    FS_TRY(read_arr(g, path, group, "has_missing", H5T_INTEGER, 1, H5T_NATIVE_UINT8,
                    m->has_missing, d));
    free(m->tree_ptr);
    free(m->tree_class);
    m->tree_ptr = NULL;
    m->tree_class = NULL;
    m->cap_trees = ntrees > 16 ? ntrees : 16;
    FS_TRY(fs_zalloc(&m->tree_ptr, (size_t)m->cap_trees + 1, sizeof *m->tree_ptr, "gbdt trees"));
    FS_TRY(fs_alloc(&m->tree_class, (size_t)m->cap_trees, sizeof *m->tree_class, "gbdt trees"));
    FS_TRY(read_arr(g, path, group, "tree_ptr", H5T_INTEGER, 4, H5T_NATIVE_UINT32, m->tree_ptr,
                    (size_t)ntrees + 1));
    FS_TRY(read_arr(g, path, group, "tree_class", H5T_INTEGER, 4, H5T_NATIVE_INT32,
                    m->tree_class, (size_t)ntrees));
    m->ntrees = ntrees;
    size_t nn = m->tree_ptr[ntrees];
    if (nn > ((size_t)1 << 28))
        FS_FAIL(FS_ERR_DATA, "%s: /%s/tree_ptr is inconsistent", path, group);
    free(m->nodes);
    m->nodes = NULL;
    m->cap_nodes = nn ? nn : 1;
    FS_TRY(fs_zalloc(&m->nodes, m->cap_nodes, sizeof *m->nodes, "gbdt nodes"));
    m->nnodes = nn;
    FS_TRY(fs_alloc(&col, nn ? nn : 1, 4, "gbdt node column"));
    for (int c = 0; c < NCOLS; c++) {
        hid_t ft, mt;
        H5T_class_t cls;
        size_t sz = col_size(c);
        col_types(c, &ft, &mt, &cls);
        FS_TRY(read_arr(g, path, group, col_name[c], cls, sz, mt, col, nn));
        for (size_t i = 0; i < nn; i++)
            memcpy(col_field(m->nodes + i, c), (char *)col + i * sz, sz);
    }
    FS_TRY(check_model(m, path, group));
    if (fs_gbdt_model_hash(m) != stored_hash)
        FS_FAIL(FS_ERR_DATA, "%s: GBDT model /%s fails its hash check (model_hash does not match "
                "the stored trees: corrupt or edited file)", path, group);
    *out = m;
    m = NULL;
done:
    free(col);
    free(fmt);
    free(objname);
    fs_gbdt_model_destroy(&m);
    fs_h5_close_id(&g, H5Gclose);
    return rc;
}

fs_err fs_gbdt_model_save(const fs_gbdt_model *m, const char *path, const char *group)
{
    fs_err rc = FS_OK;
    hid_t f = H5I_INVALID_HID;
    fs_h5_quiet q;
    fs_h5_quiet_begin(&q);
    if (access(path, F_OK) == 0) {
        if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT)) < 0)
            H5_FAIL(FS_ERR_IO, "cannot open %s for writing (not an HDF5 file?)", path);
    } else {
        f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
        if (f < 0) H5_FAIL(FS_ERR_IO, "cannot create %s", path);
    }
    FS_TRY(fs_gbdt_model_write_h5(m, f, path, group));
    herr_t st = H5Fclose(f);
    f = H5I_INVALID_HID;
    if (st < 0) H5_FAIL(FS_ERR_IO, "closing %s failed (disk full?)", path);
done:
    fs_h5_close_id(&f, H5Fclose);
    fs_h5_quiet_end(&q);
    return rc;
}

fs_err fs_gbdt_model_load(const char *path, const char *group, fs_gbdt_model **out)
{
    fs_err rc = FS_OK;
    hid_t f = H5I_INVALID_HID;
    fs_h5_quiet q;
    fs_h5_quiet_begin(&q);
    *out = NULL;
    if (access(path, R_OK) != 0)
        FS_FAIL(FS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        FS_FAIL(FS_ERR_DATA, "%s is not a readable HDF5 file (truncated or corrupt?)", path);
    FS_TRY(fs_gbdt_model_read_h5(f, path, group, out));
done:
    fs_h5_close_id(&f, H5Fclose);
    fs_h5_quiet_end(&q);
    return rc;
}

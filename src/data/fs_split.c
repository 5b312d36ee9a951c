/*
 * fs_split.c - data layer: partition one dataset into per-institution shards
 * (the simulated "silos" of cross-silo federated learning) and write them
 * with a manifest.
 *
 * Methods (the standard non-IID benchmarks, e.g. Hsu et al. 2019 and Li et
 * al., "Federated Learning on Non-IID Data Silos", ICDE 2022):
 *   iid        shuffle all rows and deal them evenly (sizes differ by <= 1);
 *   dirichlet  label skew: for each class c, p_c ~ Dir(alpha) over the
 *              silos and class c's rows are cut in proportions p_c;
 *   quantity   quantity skew: shard sizes ~ min_rows + Dir(alpha) share of
 *              the rest, rows iid.
 * Small alpha means strong skew; alpha -> infinity approaches iid.
 *
 * Every random choice comes from a stream keyed by
 * fs_rng_key(seed, purpose, a, b), so a split is a pure function of
 * (source, opts): no hidden state, byte-reproducible files.  Rows keep their
 * ascending source order inside every shard and validation part.
 *
 * No MPI; the CLI's split subcommand runs it on one process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs_impl.h"
#include "fs_json_impl.h"
#include "fedsilo/fs_data.h"
#include "fs_data_impl.h"

/* Stream purposes (the second word of every fs_rng_key tuple). */
#define PURPOSE_IID       UINT64_C(0x73706c6974494944)   /* "splitIID" */
#define PURPOSE_DIRICHLET UINT64_C(0x73706c6974444952)   /* "splitDIR" */
#define PURPOSE_QUANTITY  UINT64_C(0x73706c6974515459)   /* "splitQTY" */
#define PURPOSE_VAL       UINT64_C(0x73706c697456414c)   /* "splitVAL" */

#define DIRICHLET_TRIES 1000

void fs_split_opts_default(fs_split_opts *o)
{
    if (!o) return;
    o->nsilos = 1;
    o->method = FS_SPLIT_IID;
    o->alpha = 0.5;
    o->seed = 1;
    o->val_fraction = 0.0;
    o->min_rows = 10;
}

static const char *method_name(fs_split_method m)
{
    switch (m) {
    case FS_SPLIT_IID:       return "iid";
    case FS_SPLIT_DIRICHLET: return "dirichlet";
    case FS_SPLIT_QUANTITY:  return "quantity";
    }
    return "unknown";
}

/* asprintf that reports FS_ERR_NOMEM and leaves *out NULL on failure. */
static fs_err xasprintf(char **out, const char *fmt, ...) FS_PRINTF(2, 3);
static fs_err xasprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(out, fmt, ap);
    va_end(ap);
    if (r < 0) {
        *out = NULL;
        return fs_error_set(FS_ERR_NOMEM, "out of memory formatting a string");
    }
    return FS_OK;
}

/* Effective minimum shard size: every shard needs at least one training row. */
static size_t min_rows_of(const fs_split_opts *o) { return o->min_rows ? o->min_rows : 1; }

/* Check src and opts; messages name the offending option as the CLI spells it. */
static fs_err check_split(const fs_dataset *src, const fs_split_opts *o)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(src != NULL && o != NULL, "split: NULL dataset or options");
    FS_TRY(fs_dataset_validate(src, "split source"));
    FS_CHECK_ARG(o->nsilos >= 1, "split: --silos must be >= 1, got %d", o->nsilos);
    FS_CHECK_ARG(o->method == FS_SPLIT_IID || o->method == FS_SPLIT_DIRICHLET ||
                     o->method == FS_SPLIT_QUANTITY,
                 "split: unknown method %d", (int)o->method);
    FS_CHECK_ARG(o->method == FS_SPLIT_IID || (isfinite(o->alpha) && o->alpha > 0),
                 "split: --alpha must be a positive number, got %g", o->alpha);
    FS_CHECK_ARG(o->val_fraction >= 0 && o->val_fraction < 1,
                 "split: --val-fraction must be in [0, 1), got %g", o->val_fraction);
    FS_CHECK_ARG(o->method != FS_SPLIT_DIRICHLET || src->task == FS_TASK_CLASSIFICATION,
                 "split: dirichlet label skew needs a classification dataset; use --method "
                 "quantity or iid for regression");
    FS_CHECK_ARG(src->n <= UINT32_MAX, "split: %zu rows is more than this splitter supports",
                 src->n);
    size_t m = min_rows_of(o);
    FS_CHECK_ARG(m <= src->n / (size_t)o->nsilos,
                 "split: cannot split %zu rows into %d shards of at least %zu rows each", src->n,
                 o->nsilos, m);
done:
    return rc;
}

/* p ~ Dir(alpha) over k silos, as normalized Gamma(alpha, 1) draws. */
static void draw_dirichlet(fs_rng *r, double alpha, int k, double *p)
{
    double s = 0;
    for (int i = 0; i < k; i++) s += (p[i] = fs_rng_gamma(r, alpha));
    if (!(s > 0) || !isfinite(s)) {
        /* Tiny alpha can underflow every draw: the limit is a one-hot vector. */
        for (int i = 0; i < k; i++) p[i] = 0;
        p[fs_rng_below(r, (uint64_t)k)] = 1;
        return;
    }
    for (int i = 0; i < k; i++) p[i] /= s;
}

/* Cut m items into k counts with boundaries round(m * cumsum(p)); sum == m. */
static void cut_counts(const double *p, int k, size_t m, size_t *count)
{
    double cum = 0;
    size_t prev = 0;
    for (int i = 0; i < k; i++) {
        size_t b;
        if (i == k - 1) {
            b = m;
        } else {
            cum += p[i];
            double x = round(cum * (double)m);
            b = x <= 0 ? 0 : (x >= (double)m ? m : (size_t)x);
            if (b < prev) b = prev;
        }
        count[i] = b - prev;
        prev = b;
    }
}

/* Assign rows perm[0..n) to shards in consecutive blocks of size[s]. */
static void deal_blocks(const uint32_t *perm, const size_t *size, int k, int32_t *shard)
{
    size_t at = 0;
    for (int s = 0; s < k; s++)
        for (size_t i = 0; i < size[s]; i++) shard[perm[at++]] = s;
}

/*
 * Dirichlet label skew.  order (n) lists rows grouped by class, class c in
 * order[start[c] .. start[c+1]); work (n) is scratch.  Try t uses streams
 * (seed, DIRICHLET, t, c); the first try where every shard gets >= m rows
 * wins.
 */
static fs_err assign_dirichlet(const fs_dataset *src, const fs_split_opts *o, int32_t *shard)
{
    fs_err rc = FS_OK;
    const int k = o->nsilos, C = src->num_classes;
    const size_t n = src->n, m = min_rows_of(o);
    size_t *start = NULL;    /* (C + 1) class offsets into order */
    uint32_t *order = NULL;  /* (n) row indices grouped by class, ascending inside */
    uint32_t *work = NULL;   /* (n) shuffled copy of order */
    double *p = NULL;        /* (k) Dirichlet proportions */
    size_t *cnt = NULL;      /* (k) rows of one class per shard */
    size_t *tot = NULL;      /* (k) rows per shard in this try */
    size_t *cursor = NULL;   /* (C) next free slot of each class in order */
    size_t smallest = 0;

    FS_TRY(fs_zalloc(&start, (size_t)C + 1, sizeof *start, "class offsets"));
    FS_TRY(fs_alloc(&order, n, sizeof *order, "row order"));
    FS_TRY(fs_alloc(&work, n, sizeof *work, "row order"));
    FS_TRY(fs_alloc(&p, (size_t)k, sizeof *p, "proportions"));
    FS_TRY(fs_alloc(&cnt, (size_t)k, sizeof *cnt, "shard counts"));
    FS_TRY(fs_alloc(&tot, (size_t)k, sizeof *tot, "shard counts"));
    FS_TRY(fs_alloc(&cursor, (size_t)C, sizeof *cursor, "class cursors"));

    /* Counting sort by class: start[c] = number of rows with label < c. */
    for (size_t i = 0; i < n; i++) start[src->y_class[i] + 1]++;
    for (int c = 0; c < C; c++) start[c + 1] += start[c];
    memcpy(cursor, start, (size_t)C * sizeof *cursor);
    for (size_t i = 0; i < n; i++) order[cursor[src->y_class[i]]++] = (uint32_t)i;

    for (int t = 0; t < DIRICHLET_TRIES; t++) {
        memset(tot, 0, (size_t)k * sizeof *tot);
        memcpy(work, order, n * sizeof *work);
        for (int c = 0; c < C; c++) {
            fs_rng r;
            fs_rng_seed(&r, fs_rng_key(o->seed, PURPOSE_DIRICHLET, (uint64_t)t, (uint64_t)c));
            draw_dirichlet(&r, o->alpha, k, p);
            size_t nc = start[c + 1] - start[c];
            fs_rng_shuffle_u32(&r, work + start[c], nc);
            cut_counts(p, k, nc, cnt);
            deal_blocks(work + start[c], cnt, k, shard);
            for (int s = 0; s < k; s++) tot[s] += cnt[s];
        }
        smallest = tot[0];
        for (int s = 1; s < k; s++)
            if (tot[s] < smallest) smallest = tot[s];
        if (smallest >= m) goto done;
    }
    FS_FAIL(FS_ERR_ARG, "split: dirichlet alpha=%g could not give each of the %d shards at least "
            "%zu rows in %d tries (%zu rows, %d classes); raise --alpha, lower --min-rows or use "
            "fewer --silos", o->alpha, k, m, DIRICHLET_TRIES, n, C);
done:
    free(cursor);
    free(tot);
    free(cnt);
    free(p);
    free(work);
    free(order);
    free(start);
    return rc;
}

/* IID (equal sizes) or quantity skew (sizes m + Dir(alpha) share); rows shuffled. */
static fs_err assign_blocks(const fs_dataset *src, const fs_split_opts *o, int32_t *shard)
{
    fs_err rc = FS_OK;
    const int k = o->nsilos;
    const size_t n = src->n, m = min_rows_of(o);
    uint32_t *perm = NULL;  /* (n) permutation of row indices */
    size_t *size = NULL;    /* (k) shard sizes, sum == n */
    double *p = NULL;       /* (k) Dirichlet proportions */
    fs_rng r;

    FS_TRY(fs_alloc(&perm, n, sizeof *perm, "row permutation"));
    FS_TRY(fs_alloc(&size, (size_t)k, sizeof *size, "shard sizes"));
    FS_TRY(fs_alloc(&p, (size_t)k, sizeof *p, "proportions"));
    if (o->method == FS_SPLIT_IID) {
        fs_rng_seed(&r, fs_rng_key(o->seed, PURPOSE_IID, 0, 0));
        for (int s = 0; s < k; s++) size[s] = n / (size_t)k + ((size_t)s < n % (size_t)k);
    } else {
        /* check_split guaranteed n >= k * m, so the remainder is >= 0. */
        fs_rng_seed(&r, fs_rng_key(o->seed, PURPOSE_QUANTITY, 0, 0));
        draw_dirichlet(&r, o->alpha, k, p);
        cut_counts(p, k, n - (size_t)k * m, size);
        for (int s = 0; s < k; s++) size[s] += m;
    }
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    fs_rng_shuffle_u32(&r, perm, n);
    deal_blocks(perm, size, k, shard);
done:
    free(p);
    free(size);
    free(perm);
    return rc;
}

/*
 * Per shard s: shuffle its rows with stream (seed, VAL, s, 0) and mark the
 * first round(val_fraction * n_s) (at most n_s - 1) as validation.
 */
static fs_err assign_validation(size_t n, const fs_split_opts *o, const int32_t *shard,
                                uint8_t *is_val)
{
    fs_err rc = FS_OK;
    uint32_t *rows = NULL;   /* (n) scratch: one shard's rows */

    memset(is_val, 0, n);
    if (o->val_fraction <= 0) goto done;
    FS_TRY(fs_alloc(&rows, n, sizeof *rows, "shard rows"));
    for (int s = 0; s < o->nsilos; s++) {
        size_t ns = 0;
        for (size_t i = 0; i < n; i++)
            if (shard[i] == s) rows[ns++] = (uint32_t)i;
        size_t nval = (size_t)llround(o->val_fraction * (double)ns);
        if (nval >= ns) nval = ns ? ns - 1 : 0;
        fs_rng r;
        fs_rng_seed(&r, fs_rng_key(o->seed, PURPOSE_VAL, (uint64_t)s, 0));
        fs_rng_shuffle_u32(&r, rows, ns);
        for (size_t i = 0; i < nval; i++) is_val[rows[i]] = 1;
    }
done:
    free(rows);
    return rc;
}

fs_err fs_split_assign(const fs_dataset *src, const fs_split_opts *opts, int32_t *shard,
                       uint8_t *is_val)
{
    fs_err rc = FS_OK;
    FS_TRY(check_split(src, opts));
    FS_CHECK_ARG(shard != NULL && is_val != NULL, "split: NULL output arrays");
    if (opts->method == FS_SPLIT_DIRICHLET) FS_TRY(assign_dirichlet(src, opts, shard));
    else FS_TRY(assign_blocks(src, opts, shard));
    FS_TRY(assign_validation(src->n, opts, shard, is_val));
done:
    return rc;
}

// ---------------------------------------------------------------- writing

/* Copy the rows of src with shard == s and is_val == want_val into a new
 * dataset (with their ids for the training part). */
static fs_err extract(const fs_dataset *src, const int32_t *shard, const uint8_t *is_val, int s,
                      int want_val, size_t rows, fs_dataset **out)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;
    const size_t d = src->d;

    FS_TRY(fs_dataset_create(rows, d, src->task, src->num_classes, &ds));
    /* Record ids travel with the training rows (a validation part has none). */
    if (src->ids && !want_val) FS_TRY(fs_zalloc(&ds->ids, rows ? rows : 1, sizeof *ds->ids, "ids"));
    ds->labels_absent = src->labels_absent;
    size_t at = 0;
    for (size_t i = 0; i < src->n; i++) {
        if (shard[i] != s || is_val[i] != want_val) continue;
        memcpy(ds->X + at * d, src->X + i * d, d * sizeof(float));
        if (src->task == FS_TASK_CLASSIFICATION) ds->y_class[at] = src->y_class[i];
        else ds->y_reg[at] = src->y_reg[i];
        if (ds->ids) FS_TRY(fs_strdup(&ds->ids[at], src->ids[i]));
        at++;
    }
    *out = ds;
    ds = NULL;
done:
    fs_dataset_destroy(&ds);
    return rc;
}

/* Counts count[0..k) as a new JSON array (NULL when out of memory). */
static json_t *json_counts(const size_t *count, int k)
{
    json_t *a = json_array();
    for (int c = 0; a && c < k; c++)
        if (json_array_append_new(a, json_integer((json_int_t)count[c])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/*
 * Write outdir/manifest.json durably.  hist is (nsilos, 2, C): training
 * and validation class counts per shard (C = 0 for regression); rows and
 * vrows are (nsilos).
 */
static fs_err write_manifest(const char *outdir, const fs_dataset *src, const fs_split_opts *o,
                             const size_t *rows, const size_t *vrows, const size_t *hist)
{
    fs_err rc = FS_OK;
    char *path = NULL;
    const int C = src->task == FS_TASK_CLASSIFICATION ? src->num_classes : 0;
    json_t *m = json_object(), *shards = json_array();
    int bad = !m || !shards;

    FS_TRY(xasprintf(&path, "%s/manifest.json", outdir));
    bad |= fs_json_put(m, "format", json_string("fedsilo-split"));
    bad |= fs_json_put(m, "version", json_integer(1));
    bad |= fs_json_put(m, "method", json_string(method_name(o->method)));
    bad |= fs_json_put(m, "alpha", o->method == FS_SPLIT_IID ? json_null() : json_real(o->alpha));
    bad |= fs_json_put(m, "seed", o->seed <= (uint64_t)INT64_MAX ? json_integer((json_int_t)o->seed)
                                                                  : json_real((double)o->seed));
    bad |= fs_json_put(m, "nsilos", json_integer(o->nsilos));
    bad |= fs_json_put(m, "val_fraction", json_real(o->val_fraction));
    bad |= fs_json_put(m, "min_rows", json_integer((json_int_t)o->min_rows));
    bad |= fs_json_put(m, "task", json_string(src->task == FS_TASK_CLASSIFICATION ? "classification"
                                                                                   : "regression"));
    bad |= fs_json_put(m, "num_classes", json_integer(src->num_classes));
    bad |= fs_json_put(m, "n", json_integer((json_int_t)src->n));
    bad |= fs_json_put(m, "d", json_integer((json_int_t)src->d));
    bad |= fs_json_put(m, "schema_hash", src->schema_hash ? json_string(src->schema_hash)
                                                           : json_null());
    bad |= fs_json_put(m, "source", fs_json_text(src->provenance));
    for (int s = 0; !bad && s < o->nsilos; s++) {
        char inst[32], file[32];
        json_t *e = json_object();
        snprintf(inst, sizeof inst, "site-%d", s);
        snprintf(file, sizeof file, "site-%d.h5", s);
        bad |= fs_json_put(e, "index", json_integer(s));
        bad |= fs_json_put(e, "institution", json_string(inst));
        bad |= fs_json_put(e, "path", json_string(file));
        bad |= fs_json_put(e, "rows", json_integer((json_int_t)rows[s]));
        bad |= fs_json_put(e, "val_rows", json_integer((json_int_t)vrows[s]));
        bad |= fs_json_put(e, "class_counts", json_counts(hist + (size_t)s * 2 * (size_t)C, C));
        bad |= fs_json_put(e, "val_class_counts",
                           json_counts(hist + ((size_t)s * 2 + 1) * (size_t)C, C));
        bad |= !e || json_array_append_new(shards, e) != 0;
    }
    bad |= fs_json_put(m, "shards", shards);
    shards = NULL;
    if (bad) FS_FAIL(FS_ERR_NOMEM, "out of memory writing %s", path);
    FS_TRY(fs_json_write_file(path, m));
done:
    json_decref(m);
    json_decref(shards);
    free(path);
    return rc;
}

fs_err fs_split_write(const fs_dataset *src, const fs_split_opts *opts, const char *outdir)
{
    fs_err rc = FS_OK;
    int32_t *shard = NULL;   /* (n) shard of each source row */
    uint8_t *is_val = NULL;  /* (n) 1 = validation row of its shard */
    size_t *rows = NULL, *vrows = NULL;   /* (nsilos) training / validation rows */
    size_t *hist = NULL;     /* (nsilos, 2, C) class counts: training, validation */
    fs_dataset *tr = NULL, *va = NULL;
    char *path = NULL;
    struct stat st;
    int C;

    FS_CHECK_ARG(outdir != NULL && outdir[0] != '\0', "split: no output directory");
    FS_TRY(check_split(src, opts));
    C = src->task == FS_TASK_CLASSIFICATION ? src->num_classes : 0;
    FS_TRY(fs_alloc(&shard, src->n, sizeof *shard, "shard assignment"));
    FS_TRY(fs_alloc(&is_val, src->n, sizeof *is_val, "validation flags"));
    FS_TRY(fs_zalloc(&rows, (size_t)opts->nsilos, sizeof *rows, "shard rows"));
    FS_TRY(fs_zalloc(&vrows, (size_t)opts->nsilos, sizeof *vrows, "shard rows"));
    FS_TRY(fs_zalloc(&hist, (size_t)opts->nsilos * 2 * (size_t)C + 1, sizeof *hist,
                     "class histograms"));
    FS_TRY(fs_split_assign(src, opts, shard, is_val));
    for (size_t i = 0; i < src->n; i++) {
        int s = shard[i];
        if (is_val[i]) vrows[s]++;
        else rows[s]++;
        if (C) hist[((size_t)s * 2 + is_val[i]) * (size_t)C + (size_t)src->y_class[i]]++;
    }

    if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
        FS_FAIL(FS_ERR_IO, "cannot create directory %s: %s", outdir, strerror(errno));
    if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode))
        FS_FAIL(FS_ERR_IO, "%s is not a directory", outdir);

    for (int s = 0; s < opts->nsilos; s++) {
        FS_TRY(extract(src, shard, is_val, s, 0, rows[s], &tr));
        if (vrows[s]) FS_TRY(extract(src, shard, is_val, s, 1, vrows[s], &va));
        /* Names, classes and schema travel with every part (the validation
         * part is checked against the schema too before it is written). */
        for (int part = 0; part < 2; part++) {
            fs_dataset *dst = part ? va : tr;
            if (!dst) continue;
            if (src->feature_names)
                FS_TRY(fs_strv_dup(&dst->feature_names, src->feature_names, src->d));
            FS_TRY(fs_dataset_copy_meta(dst, src, 1));
        }
        FS_TRY(xasprintf(&tr->provenance, "%s%ssplit method=%s alpha=%g seed=%llu "
                         "val_fraction=%g shard=%d/%d", src->provenance ? src->provenance : "",
                         src->provenance && src->provenance[0] ? "; " : "",
                         method_name(opts->method), opts->alpha,
                         (unsigned long long)opts->seed, opts->val_fraction, s, opts->nsilos));
        FS_TRY(xasprintf(&tr->institution, "site-%d", s));
        FS_TRY(xasprintf(&path, "%s/site-%d.h5", outdir, s));
        tr->shard_index = s;
        tr->num_shards = opts->nsilos;
        FS_TRY(fs_dataset_write(tr, va, path));
        fs_dataset_destroy(&tr);
        fs_dataset_destroy(&va);
        free(path);
        path = NULL;
    }
    FS_TRY(write_manifest(outdir, src, opts, rows, vrows, hist));
done:
    fs_dataset_destroy(&tr);
    fs_dataset_destroy(&va);
    free(path);
    free(hist);
    free(vrows);
    free(rows);
    free(is_val);
    free(shard);
    return rc;
}

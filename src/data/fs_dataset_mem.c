/*
 * fs_dataset_mem.c - data layer: in-memory datasets (fedsilo/fs_data.h):
 * creation and destruction, string vectors, metadata copies, the validator
 * every reader and importer runs (shapes, labels, ids, class names, the
 * stored schema), row subsets, and the in-place standardization and
 * imputation applied by training, eval and predict.  Their HDF5 files are
 * in fs_dataset.c.  No MPI.
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
#include "fs_data_impl.h"
#include "fs_impl.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_schema.h"

// ---------------------------------------------------------------- in memory

fs_err fs_dataset_create(size_t n, size_t d, fs_task task, int num_classes, fs_dataset **out)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;

    FS_CHECK_ARG(out != NULL, "fs_dataset_create: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(task == FS_TASK_CLASSIFICATION || task == FS_TASK_REGRESSION,
                 "fs_dataset_create: unknown task %d", (int)task);
    FS_CHECK_ARG(task != FS_TASK_CLASSIFICATION || num_classes >= 2,
                 "fs_dataset_create: classification needs num_classes >= 2, got %d",
                 num_classes);
    FS_CHECK_ARG(d == 0 || n <= SIZE_MAX / d, "fs_dataset_create: %zu x %zu overflows", n, d);

    FS_TRY(fs_zalloc(&ds, 1, sizeof *ds, "dataset"));
    ds->n = n;
    ds->d = d;
    ds->task = task;
    ds->num_classes = task == FS_TASK_CLASSIFICATION ? num_classes : 0;
    ds->shard_index = -1;
    ds->num_shards = 0;
    FS_TRY(fs_zalloc(&ds->X, n * d, sizeof(float), "feature matrix X"));
    if (task == FS_TASK_CLASSIFICATION)
        FS_TRY(fs_zalloc(&ds->y_class, n, sizeof(int32_t), "labels y"));
    else
        FS_TRY(fs_zalloc(&ds->y_reg, n, sizeof(float), "targets y"));
    *out = ds;
    ds = NULL;
done:
    fs_dataset_destroy(&ds);
    return rc;
}

void fs_dataset_destroy(fs_dataset **p)
{
    if (!p || !*p) return;
    fs_dataset *ds = *p;
    if (ds->feature_names) {
        for (size_t j = 0; j < ds->d; j++) free(ds->feature_names[j]);
        free(ds->feature_names);
    }
    free(ds->X);
    free(ds->y_class);
    free(ds->y_reg);
    if (ds->ids) {
        for (size_t i = 0; i < ds->n; i++) free(ds->ids[i]);
        free(ds->ids);
    }
    free(ds->provenance);
    free(ds->institution);
    fs_strv_free(ds->class_names, ds->class_names ? (size_t)ds->num_classes : 0);
    free(ds->id_column);
    free(ds->schema);
    free(ds->schema_hash);
    free(ds);
    *p = NULL;
}

fs_err fs_strv_dup(char ***out, char *const *src, size_t n)
{
    fs_err rc = FS_OK;
    char **v = NULL;
    *out = NULL;
    FS_TRY(fs_zalloc(&v, n ? n : 1, sizeof *v, "string list"));
    for (size_t i = 0; i < n; i++) FS_TRY(fs_strdup(&v[i], src[i]));
    *out = v;
    v = NULL;
done:
    fs_strv_free(v, n);
    return rc;
}

void fs_strv_free(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

fs_err fs_dataset_copy_meta(fs_dataset *dst, const fs_dataset *src, int with_schema)
{
    fs_err rc = FS_OK;
    if (src->class_names && src->task == FS_TASK_CLASSIFICATION &&
        dst->num_classes == src->num_classes)
        FS_TRY(fs_strv_dup(&dst->class_names, src->class_names, (size_t)src->num_classes));
    if (src->id_column) FS_TRY(fs_strdup(&dst->id_column, src->id_column));
    if (with_schema && src->schema && src->schema_hash) {
        FS_TRY(fs_strdup(&dst->schema, src->schema));
        FS_TRY(fs_strdup(&dst->schema_hash, src->schema_hash));
    }
done:
    return rc;
}

/* One id and its position, for finding repeats by sorting. */
typedef struct {
    const char *id;
    size_t row;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

fs_err fs_ids_find_repeat(char *const *ids, size_t n, int *found, size_t *first, size_t *second)
{
    fs_err rc = FS_OK;
    id_ref *refs = NULL;   /* (n) sorted by id, then position */
    *found = 0;
    FS_TRY(fs_alloc(&refs, n, sizeof *refs, "id index"));
    for (size_t i = 0; i < n; i++) {
        refs[i].id = ids[i];
        refs[i].row = i;
    }
    qsort(refs, n, sizeof *refs, cmp_id_ref);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(refs[i].id, refs[i - 1].id) == 0) {
            *found = 1;
            *first = refs[i - 1].row;
            *second = refs[i].row;
            break;
        }
    }
done:
    free(refs);
    return rc;
}

/* ids (n, borrowed) are non-empty and pairwise distinct; messages name rows
 * as 0-based indices into /X. */
static fs_err validate_ids(char *const *ids, size_t n, const char *name)
{
    fs_err rc = FS_OK;
    int found = 0;
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ids[i]) FS_FAIL(FS_ERR_ARG, "%s: id of row %zu is NULL", name, i);
        if (!ids[i][0]) FS_FAIL(FS_ERR_DATA, "%s: row %zu: empty id in /ids", name, i);
    }
    FS_TRY(fs_ids_find_repeat(ids, n, &found, &a, &b));
    if (found)
        FS_FAIL(FS_ERR_DATA, "%s: rows %zu and %zu have the same id '%s' in /ids (ids must be "
                "unique)", name, a, b, ids[b]);
done:
    return rc;
}

/*
 * The schema of ds, checked against ds: stored hash, features and names,
 * task, classes.  On success *out owns the parsed schema.
 */
static fs_err check_schema(const fs_dataset *ds, const char *name, fs_schema **out)
{
    fs_err rc = FS_OK;
    fs_schema *sc = NULL;
    char *where = NULL;

    *out = NULL;
    if (!ds->schema_hash)
        FS_FAIL(FS_ERR_DATA, "%s: has a schema but no schema_hash", name);
    if (asprintf(&where, "%s (attribute schema)", name) < 0) {
        where = NULL;
        FS_FAIL(FS_ERR_NOMEM, "out of memory");
    }
    FS_TRY(fs_schema_parse(ds->schema, strlen(ds->schema), where, &sc));
    if (strcmp(fs_schema_hash_hex(sc), ds->schema_hash) != 0)
        FS_FAIL(FS_ERR_DATA, "%s: schema_hash %.16s... does not match its schema (hash %.16s...): "
                "altered after import?", name, ds->schema_hash, fs_schema_hash_hex(sc));
    if (fs_schema_num_features(sc) != ds->d)
        FS_FAIL(FS_ERR_DATA, "%s: %zu features, but its schema encodes %zu", name, ds->d,
                fs_schema_num_features(sc));
    if (!ds->feature_names) FS_FAIL(FS_ERR_DATA, "%s: has a schema but no feature names", name);
    for (size_t j = 0; j < ds->d; j++)
        if (!ds->feature_names[j] ||
            strcmp(ds->feature_names[j], fs_schema_feature_at(sc, j)->name) != 0)
            FS_FAIL(FS_ERR_DATA, "%s: feature %zu is named '%s', but its schema calls it '%s'",
                    name, j, ds->feature_names[j] ? ds->feature_names[j] : "(null)",
                    fs_schema_feature_at(sc, j)->name);
    if (fs_schema_label_column(sc) < 0) {
        if (!ds->labels_absent)
            FS_FAIL(FS_ERR_DATA, "%s: has labels, but its schema has no label column", name);
    } else if (ds->task != fs_schema_task(sc)) {
        FS_FAIL(FS_ERR_DATA, "%s: task is %s, but its schema's label is %s", name,
                ds->task == FS_TASK_CLASSIFICATION ? "classification" : "regression",
                fs_schema_task(sc) == FS_TASK_CLASSIFICATION ? "classification" : "regression");
    } else if (ds->task == FS_TASK_CLASSIFICATION) {
        if (ds->num_classes != fs_schema_num_classes(sc) || !ds->class_names)
            FS_FAIL(FS_ERR_DATA, "%s: %d classes%s, but its schema lists %d", name,
                    ds->num_classes, ds->class_names ? "" : " without names",
                    fs_schema_num_classes(sc));
        for (int k = 0; k < ds->num_classes; k++)
            if (strcmp(ds->class_names[k], fs_schema_class_name(sc, k)) != 0)
                FS_FAIL(FS_ERR_DATA, "%s: class %d is named '%s', but its schema calls it '%s'",
                        name, k, ds->class_names[k], fs_schema_class_name(sc, k));
    }
    *out = sc;
    sc = NULL;
done:
    fs_schema_destroy(&sc);
    free(where);
    return rc;
}

/* class_names (num_classes, when set): non-empty and distinct. */
static fs_err validate_class_names(const fs_dataset *ds, const char *name)
{
    fs_err rc = FS_OK;
    int found = 0;
    size_t a = 0, b = 0;
    if (ds->task != FS_TASK_CLASSIFICATION)
        FS_FAIL(FS_ERR_DATA, "%s: class names on a regression dataset", name);
    for (int k = 0; k < ds->num_classes; k++)
        if (!ds->class_names[k] || !ds->class_names[k][0])
            FS_FAIL(FS_ERR_DATA, "%s: class %d has an empty name", name, k);
    FS_TRY(fs_ids_find_repeat(ds->class_names, (size_t)ds->num_classes, &found, &a, &b));
    if (found)
        FS_FAIL(FS_ERR_DATA, "%s: classes %zu and %zu are both named '%s'", name, a, b,
                ds->class_names[a]);
done:
    return rc;
}

fs_err fs_dataset_validate(const fs_dataset *ds, const char *name)
{
    fs_err rc = FS_OK;
    fs_schema *sc = NULL;
    unsigned char *may_miss = NULL;   /* (d) 1 when the schema lets feature j be NaN */
    if (!name) name = "dataset";

    FS_CHECK_ARG(ds != NULL, "%s: dataset is NULL", name);
    if (ds->n == 0) FS_FAIL(FS_ERR_DATA, "%s: dataset is empty (0 rows)", name);
    if (ds->d == 0) FS_FAIL(FS_ERR_DATA, "%s: dataset has no features (d == 0)", name);
    FS_CHECK_ARG(ds->X != NULL, "%s: feature matrix X is NULL", name);
    if (ds->schema) {
        FS_TRY(check_schema(ds, name, &sc));
        FS_TRY(fs_zalloc(&may_miss, ds->d, 1, "missing-value flags"));
        for (size_t j = 0; j < ds->d; j++)
            may_miss[j] = (unsigned char)fs_schema_feature_may_be_missing(sc, j);
    } else if (ds->schema_hash) {
        FS_FAIL(FS_ERR_DATA, "%s: has a schema_hash but no schema", name);
    }

    /* X is (n, d) row-major; report the first non-finite value that the
     * schema (if any) does not allow as a missing cell. */
    for (size_t i = 0; i < ds->n; i++) {
        const float *row = ds->X + i * ds->d;
        for (size_t j = 0; j < ds->d; j++) {
            if (isfinite(row[j]) || (may_miss && may_miss[j] && isnan(row[j]))) continue;
            const char *fname = ds->feature_names ? ds->feature_names[j] : NULL;
            FS_FAIL(FS_ERR_DATA, "%s: row %zu, column %zu%s%s%s: feature value %s is not finite%s",
                    name, i, j, fname ? " ('" : "", fname ? fname : "", fname ? "')" : "",
                    isnan(row[j]) ? "nan" : (row[j] > 0 ? "inf" : "-inf"),
                    sc && isnan(row[j]) ? " (its schema allows no missing value there)" : "");
        }
    }

    if (ds->task == FS_TASK_CLASSIFICATION) {
        if (ds->num_classes < 2)
            FS_FAIL(FS_ERR_DATA, "%s: num_classes is %d; classification needs at least 2",
                    name, ds->num_classes);
        FS_CHECK_ARG(ds->y_class != NULL, "%s: labels y_class are NULL", name);
        for (size_t i = 0; i < ds->n; i++)
            if (ds->y_class[i] < 0 || ds->y_class[i] >= ds->num_classes)
                FS_FAIL(FS_ERR_DATA, "%s: row %zu: label %d is out of range [0, %d)",
                        name, i, (int)ds->y_class[i], ds->num_classes);
    } else if (ds->task == FS_TASK_REGRESSION) {
        FS_CHECK_ARG(ds->y_reg != NULL, "%s: targets y_reg are NULL", name);
        for (size_t i = 0; i < ds->n; i++)
            if (!isfinite(ds->y_reg[i]))
                FS_FAIL(FS_ERR_DATA, "%s: row %zu: target %g is not finite",
                        name, i, (double)ds->y_reg[i]);
    } else {
        FS_FAIL(FS_ERR_ARG, "%s: unknown task %d", name, (int)ds->task);
    }
    if (ds->ids) FS_TRY(validate_ids(ds->ids, ds->n, name));
    if (ds->class_names) FS_TRY(validate_class_names(ds, name));
done:
    free(may_miss);
    fs_schema_destroy(&sc);
    return rc;
}

fs_err fs_dataset_subset(const fs_dataset *src, const size_t *rows, size_t nr, size_t c0,
                         size_t c1, fs_dataset **out)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;

    FS_CHECK_ARG(out != NULL, "fs_dataset_subset: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(src != NULL && (rows != NULL || nr == 0), "fs_dataset_subset: NULL argument");
    FS_CHECK_ARG(c0 < c1 && c1 <= src->d, "fs_dataset_subset: columns %zu..%zu are not a "
                 "non-empty range of the %zu features", c0, c1, src->d);
    for (size_t i = 0; i < nr; i++)
        FS_CHECK_ARG(rows[i] < src->n, "fs_dataset_subset: row %zu is out of range (%zu rows)",
                     rows[i], src->n);

    FS_TRY(fs_dataset_create(nr, c1 - c0, src->task, src->num_classes, &ds));
    /* X is (nr, c1 - c0): row i is columns [c0, c1) of source row rows[i]. */
    for (size_t i = 0; i < nr; i++) {
        memcpy(ds->X + i * ds->d, src->X + rows[i] * src->d + c0, ds->d * sizeof *ds->X);
        if (src->task == FS_TASK_CLASSIFICATION) ds->y_class[i] = src->y_class[rows[i]];
        else ds->y_reg[i] = src->y_reg[rows[i]];
    }
    if (src->ids) {
        FS_TRY(fs_zalloc(&ds->ids, nr ? nr : 1, sizeof *ds->ids, "ids"));
        for (size_t i = 0; i < nr; i++) FS_TRY(fs_strdup(&ds->ids[i], src->ids[rows[i]]));
    }
    if (src->feature_names) {
        FS_TRY(fs_zalloc(&ds->feature_names, ds->d, sizeof *ds->feature_names, "feature names"));
        for (size_t j = 0; j < ds->d; j++)
            FS_TRY(fs_strdup(&ds->feature_names[j],
                             src->feature_names[c0 + j] ? src->feature_names[c0 + j] : ""));
    }
    if (src->provenance) FS_TRY(fs_strdup(&ds->provenance, src->provenance));
    if (src->institution) FS_TRY(fs_strdup(&ds->institution, src->institution));
    /* The schema describes every feature: it stays only with all of them. */
    FS_TRY(fs_dataset_copy_meta(ds, src, c0 == 0 && c1 == src->d));
    ds->shard_index = src->shard_index;
    ds->num_shards = src->num_shards;
    ds->labels_absent = src->labels_absent;
    *out = ds;
    ds = NULL;
done:
    fs_dataset_destroy(&ds);
    return rc;
}

void fs_dataset_standardize(fs_dataset *ds, const double *mean, const double *scale)
{
    for (size_t i = 0; i < ds->n; i++) {
        float *x = ds->X + i * ds->d;
        for (size_t j = 0; j < ds->d; j++) x[j] = (float)(((double)x[j] - mean[j]) / scale[j]);
    }
}

fs_err fs_dataset_check_schema(const fs_dataset *ds, const char *hash, const char *what,
                               const char *name)
{
    if (!hash || !hash[0]) return FS_OK;
    if (!ds->schema_hash)
        return fs_error_set(FS_ERR_DATA, "%s was imported without a schema, but %s was fitted on "
                            "data imported with schema %.16s...: import it with that schema "
                            "(import csv --schema)", name, what, hash);
    if (strcmp(ds->schema_hash, hash) != 0)
        return fs_error_set(FS_ERR_DATA, "%s was imported with schema %.16s..., but %s was fitted "
                            "on data imported with schema %.16s...: import it with that schema",
                            name, ds->schema_hash, what, hash);
    return FS_OK;
}

fs_err fs_dataset_impute(fs_dataset *ds, const double *fill, const char *name)
{
    for (size_t i = 0; i < ds->n; i++) {
        float *x = ds->X + i * ds->d;
        for (size_t j = 0; j < ds->d; j++) {
            if (!isnan(x[j])) continue;
            if (isnan(fill[j]))
                return fs_error_set(FS_ERR_DATA, "%s: row %zu: feature %zu ('%s') is missing and "
                                    "the pipeline has no fill value for it", name, i + 1, j,
                                    ds->feature_names ? ds->feature_names[j] : "?");
            x[j] = (float)fill[j];
        }
    }
    return FS_OK;
}

/*
 * fs_schema_cell.c - data layer: the consortium schema's canonical hash, its
 * read-only accessors and the encoding of one CSV cell (used by import, check
 * and the dataset validator alike, so they can never disagree).
 *
 *
 * Canonical hash: SHA-256 over, every variable-length field framed with its
 * 8-byte big-endian length (fs_sha256_update_framed), every integer a
 * framed 8-byte big-endian word, every double the framed 8 big-endian bytes
 * of its IEEE-754 bits (-0 is hashed as +0):
 *
 *   "fedsilo-schema-v1" | has_name | name | missing tokens | ncolumns
 *   | per column in section order:
 *       name | kind | has_own_missing [| own missing tokens]
 *       numeric:      impute | impute_value | has_lo | lo | has_hi | hi | clip
 *       categorical:  categories | unknown_other | impute
 *       label:        task | classes | has_lo | lo | has_hi | hi | clip
 *   (a list is its count followed by its items; absent values hash as 0)
 *
 * so the hash depends on the parsed meaning only.  extra_columns is left
 *
 * No MPI.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "fs_data_impl.h"
#include "fs_ini_impl.h"
#include "fedsilo/fs_crypto.h"
#include "fs_schema_impl.h"

// ---------------------------------------------------------------- hash

static fs_err hash_u64(fs_sha256_ctx *h, uint64_t v)
{
    uint8_t b[8];
    for (int k = 0; k < 8; k++) b[k] = (uint8_t)(v >> (56 - 8 * k));
    return fs_sha256_update_framed(h, b, sizeof b);
}

static fs_err hash_double(fs_sha256_ctx *h, double v)
{
    uint64_t u;
    if (v == 0) v = 0;   /* -0 hashes as +0 */
    memcpy(&u, &v, sizeof u);
    return hash_u64(h, u);
}

static fs_err hash_str(fs_sha256_ctx *h, const char *s)
{
    return fs_sha256_update_framed(h, s, strlen(s));
}

static fs_err hash_list(fs_sha256_ctx *h, char *const *v, size_t n)
{
    fs_err rc = FS_OK;
    FS_TRY(hash_u64(h, n));
    for (size_t i = 0; i < n; i++) FS_TRY(hash_str(h, v[i]));
done:
    return rc;
}

static fs_err hash_range(fs_sha256_ctx *h, const fs_schema_column *p)
{
    fs_err rc = FS_OK;
    FS_TRY(hash_u64(h, (uint64_t)p->has_lo));
    FS_TRY(hash_double(h, p->has_lo ? p->lo : 0));
    FS_TRY(hash_u64(h, (uint64_t)p->has_hi));
    FS_TRY(hash_double(h, p->has_hi ? p->hi : 0));
    FS_TRY(hash_u64(h, (uint64_t)p->clip));
done:
    return rc;
}

fs_err fs_schema_compute_hash(fs_schema *s)
{
    fs_err rc = FS_OK;
    fs_sha256_ctx *h = NULL;
    static const char tag[] = "fedsilo-schema-v1";

    FS_TRY(fs_sha256_init(&h));
    FS_TRY(hash_str(h, tag));
    FS_TRY(hash_u64(h, s->title != NULL));
    FS_TRY(hash_str(h, s->title ? s->title : ""));
    FS_TRY(hash_list(h, s->missing, s->nmissing));
    FS_TRY(hash_u64(h, s->ncols));
    for (size_t i = 0; i < s->ncols; i++) {
        const column *c = &s->cols[i];
        const fs_schema_column *p = &c->pub;
        FS_TRY(hash_str(h, c->name));
        FS_TRY(hash_u64(h, (uint64_t)p->kind));
        FS_TRY(hash_u64(h, (uint64_t)c->has_own_missing));
        if (c->has_own_missing) FS_TRY(hash_list(h, c->own_missing, c->nown));
        switch (p->kind) {
        case FS_COLUMN_NUMERIC:
            FS_TRY(hash_u64(h, (uint64_t)p->impute));
            FS_TRY(hash_double(h, p->impute == FS_IMPUTE_CONSTANT ? p->impute_value : 0));
            FS_TRY(hash_range(h, p));
            break;
        case FS_COLUMN_CATEGORICAL:
            FS_TRY(hash_list(h, c->cats, c->ncats));
            FS_TRY(hash_u64(h, (uint64_t)p->unknown_other));
            FS_TRY(hash_u64(h, (uint64_t)p->impute));
            break;
        case FS_COLUMN_LABEL:
            FS_TRY(hash_u64(h, (uint64_t)s->task));
            FS_TRY(hash_list(h, c->cats, c->ncats));
            FS_TRY(hash_range(h, p));
            break;
        default:
            break;
        }
    }
    FS_TRY(fs_sha256_final(h, s->hash));
    for (int k = 0; k < FS_SCHEMA_HASHBYTES; k++)
        snprintf(s->hex + 2 * k, 3, "%02x", s->hash[k]);
done:
    fs_sha256_destroy(&h);
    return rc;
}
// ---------------------------------------------------------------- accessors

const char *fs_schema_text(const fs_schema *s) { return s ? s->text : NULL; }
const char *fs_schema_name(const fs_schema *s) { return s ? s->title : NULL; }

void fs_schema_hash(const fs_schema *s, uint8_t out[FS_SCHEMA_HASHBYTES])
{
    if (s && out) memcpy(out, s->hash, FS_SCHEMA_HASHBYTES);
}

const char *fs_schema_hash_hex(const fs_schema *s) { return s ? s->hex : NULL; }
int fs_schema_extra_columns_ignored(const fs_schema *s) { return s ? s->extra_ignore : 0; }
size_t fs_schema_num_columns(const fs_schema *s) { return s ? s->ncols : 0; }

const fs_schema_column *fs_schema_column_at(const fs_schema *s, size_t i)
{
    return s && i < s->ncols ? &s->cols[i].pub : NULL;
}

long fs_schema_find_column(const fs_schema *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->ncols; i++)
        if (!strcmp(s->cols[i].name, name)) return (long)i;
    return -1;
}

size_t fs_schema_num_features(const fs_schema *s) { return s ? s->nfeat : 0; }

const fs_schema_feature *fs_schema_feature_at(const fs_schema *s, size_t j)
{
    return s && j < s->nfeat ? &s->feats[j] : NULL;
}

int fs_schema_feature_may_be_missing(const fs_schema *s, size_t j)
{
    if (!s || j >= s->nfeat) return 0;
    const fs_schema_feature *f = &s->feats[j];
    const fs_impute imp = s->cols[f->column].pub.impute;
    if (f->kind == FS_FEATURE_NUMERIC) return imp != FS_IMPUTE_NONE;
    if (f->kind == FS_FEATURE_CATEGORY || f->kind == FS_FEATURE_OTHER) return imp == FS_IMPUTE_MODE;
    return 0;
}

long fs_schema_label_column(const fs_schema *s) { return s ? s->label : -1; }
long fs_schema_id_column(const fs_schema *s) { return s ? s->id : -1; }
fs_task fs_schema_task(const fs_schema *s) { return s ? s->task : FS_TASK_CLASSIFICATION; }

int fs_schema_num_classes(const fs_schema *s)
{
    if (!s || s->label < 0 || s->task != FS_TASK_CLASSIFICATION) return 0;
    return (int)s->cols[s->label].ncats;
}

const char *fs_schema_class_name(const fs_schema *s, int k)
{
    if (k < 0 || k >= fs_schema_num_classes(s)) return NULL;
    return s->cols[s->label].cats[k];
}

// ---------------------------------------------------------------- cells

static int is_missing(const column *c, const char *cell)
{
    for (size_t i = 0; i < c->pub.nmissing; i++)
        if (!strcmp(c->pub.missing[i], cell)) return 1;
    return 0;
}

/* Index of cell among c's categories (bsearch on the sorted index), or -1. */
static long find_category(const column *c, const char *cell)
{
    size_t lo = 0, hi = c->ncats;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(cell, c->cats[c->order[mid]]);
        if (cmp == 0) return (long)c->order[mid];
        if (cmp < 0) hi = mid;
        else lo = mid + 1;
    }
    return -1;
}

/* v checked against c's range: FS_CELL_OK (maybe clipped) or OUT_OF_RANGE. */
static fs_cell_status in_range(const column *c, double *v)
{
    const fs_schema_column *p = &c->pub;
    if ((p->has_lo && *v < p->lo) || (p->has_hi && *v > p->hi)) {
        if (!p->clip) return FS_CELL_OUT_OF_RANGE;
        if (p->has_lo && *v < p->lo) *v = p->lo;
        if (p->has_hi && *v > p->hi) *v = p->hi;
    }
    if (fabs(*v) > FLT_MAX) return FS_CELL_OUT_OF_RANGE;
    return FS_CELL_OK;
}

fs_cell_status fs_schema_encode_cell(const fs_schema *s, size_t col, const char *cell, float *x,
                                     double *label)
{
    const column *c = &s->cols[col];
    const fs_schema_column *p = &c->pub;
    double v;

    switch (p->kind) {
    case FS_COLUMN_NUMERIC:
        if (is_missing(c, cell)) {
            if (p->impute == FS_IMPUTE_NONE) return FS_CELL_MISSING_DENIED;
            x[0] = NAN;
            if (p->impute == FS_IMPUTE_INDICATOR) x[1] = 1.0f;
            return FS_CELL_MISSING;
        }
        if (fs_csv_parse_number(cell, &v) != 0) return FS_CELL_NOT_NUMBER;
        if (in_range(c, &v) != FS_CELL_OK) return FS_CELL_OUT_OF_RANGE;
        x[0] = (float)v;
        if (p->impute == FS_IMPUTE_INDICATOR) x[1] = 0.0f;
        return FS_CELL_OK;
    case FS_COLUMN_CATEGORICAL: {
        const size_t nblock = p->nfeatures;   /* categories [+ (other)] [+ _missing] */
        for (size_t k = 0; k < nblock; k++) x[k] = 0.0f;
        if (is_missing(c, cell)) {
            if (p->impute == FS_IMPUTE_NONE) return FS_CELL_MISSING_DENIED;
            if (p->impute == FS_IMPUTE_MODE) {
                for (size_t k = 0; k < nblock; k++) x[k] = NAN;
            } else {
                x[nblock - 1] = 1.0f;   /* NAME_missing */
            }
            return FS_CELL_MISSING;
        }
        long k = find_category(c, cell);
        if (k < 0) {
            if (!p->unknown_other) return FS_CELL_UNKNOWN;
            k = (long)c->ncats;   /* NAME=(other) follows the categories */
        }
        x[k] = 1.0f;
        return FS_CELL_OK;
    }
    case FS_COLUMN_LABEL:
        if (is_missing(c, cell)) return FS_CELL_MISSING_DENIED;
        if (s->task == FS_TASK_REGRESSION) {
            if (fs_csv_parse_number(cell, &v) != 0) return FS_CELL_NOT_NUMBER;
            if (in_range(c, &v) != FS_CELL_OK) return FS_CELL_OUT_OF_RANGE;
            *label = v;
            return FS_CELL_OK;
        }
        {
            long k = find_category(c, cell);
            /* Numeric class names also match numerically ("1.0" is class "1"). */
            if (k < 0 && c->cat_value && fs_csv_parse_number(cell, &v) == 0)
                for (size_t i = 0; i < c->ncats && k < 0; i++)
                    if (c->cat_value[i] == v) k = (long)i;
            if (k < 0) return FS_CELL_UNKNOWN;
            *label = (double)k;
            return FS_CELL_OK;
        }
    default:
        return FS_CELL_OK;
    }
}

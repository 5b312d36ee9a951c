/*
 * fs_schema_import.c - data layer: a CSV table through the consortium schema
 * (fedsilo/fs_schema.h): `import csv --schema` (fs_import_csv_schema) and
 * `schema check` (fs_schema_check).
 *
 * Both run the same two steps over the same code, so a file that checks
 * clean imports, and a file that imports checks clean:
 *
 *   1. map the schema's columns to the header by name (any order), finding
 *      missing, duplicate and extra columns;
 *   2. encode every cell with fs_schema_encode_cell (fs_schema.c).
 *
 * A "sink" decides what a problem does: the importer fails on the first one
 * (its message names file, row, column and value); the checker reports
 * header problems as they come and tallies cell problems by (column,
 * problem, value), printed with counts and first rows at the end.
 *
 * No MPI.
 */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "fs_data_impl.h"

#define CHECK_MAX_VALUES 20    /* distinct values listed per column and problem */

/* One bad cell seen by the checker; value points into the CSV text. */
typedef struct {
    size_t col;               /* schema column */
    fs_cell_status status;
    const char *value;
    size_t rec;               /* CSV record (0 = header) */
} bad_cell;

typedef struct {
    const char *path;         /* the CSV file */
    FILE *report;             /* NULL: fail on the first problem (import) */
    size_t nproblems;
    bad_cell *cells;          /* (ncells) tallied cell problems (check) */
    size_t ncells, cap;
    FILE *skip;               /* import with skipping: bad rows are reported
                                 here and dropped (NULL: fail)          */
    int row_bad;              /* the current row had a bad cell (skip)  */
} sink;

static fs_err problem(sink *k, const char *fmt, ...) FS_PRINTF(2, 3);

/* Import: record the message and fail.  Check: print it and go on. */
static fs_err problem(sink *k, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!k->report) return fs_error_set(FS_ERR_DATA, "%s: %s", k->path, msg);
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f) *c = '?';
    fprintf(k->report, "%s: %s\n", k->path, msg);
    k->nproblems++;
    return FS_OK;
}

/* "[lo, hi]" of a column's range, with open ends as -inf / inf. */
static const char *range_text(const fs_schema_column *c, char *buf, size_t cap)
{
    char lo[32] = "-inf", hi[32] = "inf";
    if (c->has_lo) snprintf(lo, sizeof lo, "%.10g", c->lo);
    if (c->has_hi) snprintf(hi, sizeof hi, "%.10g", c->hi);
    snprintf(buf, cap, "%s%s, %s%s", c->has_lo ? "[" : "(", lo, hi, c->has_hi ? "]" : ")");
    return buf;
}

/* "a, b, c" of a column's categories, cut to fit cap. */
static const char *list_text(const fs_schema_column *c, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->ncategories && used + 8 < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", c->categories[i]);
        if (w < 0 || used + (size_t)w >= cap - 5) {
            snprintf(buf + used, cap - used, ", ...");
            break;
        }
        used += (size_t)w;
    }
    return buf;
}

/* The sentence for one bad cell (without file and row). */
static void cell_message(const fs_schema *s, size_t col, fs_cell_status st, const char *value,
                         char *out, size_t cap)
{
    const fs_schema_column *c = fs_schema_column_at(s, col);
    const int is_label = c->kind == FS_COLUMN_LABEL;
    char q[FS_QUOTE_CAP], list[160], range[80];
    fs_quote_value(value, q);
    switch (st) {
    case FS_CELL_MISSING_DENIED:
        if (is_label) snprintf(out, cap, "missing label ('%s')", q);
        else snprintf(out, cap, "missing value ('%s'), but the schema says impute = none", q);
        break;
    case FS_CELL_NOT_NUMBER:
        snprintf(out, cap, "'%s' is not a number (nor a missing-value token of this column)", q);
        break;
    case FS_CELL_OUT_OF_RANGE:
        if (c->has_lo || c->has_hi)
            snprintf(out, cap, "'%s' is outside the schema's range %s", q,
                     range_text(c, range, sizeof range));
        else
            snprintf(out, cap, "'%s' is out of float32 range", q);
        break;
    case FS_CELL_UNKNOWN:
        if (is_label)
            snprintf(out, cap, "label '%s' is not one of the schema's classes (%s)", q,
                     list_text(c, list, sizeof list));
        else
            snprintf(out, cap, "unknown category '%s' (the schema lists: %s)", q,
                     list_text(c, list, sizeof list));
        break;
    default:
        snprintf(out, cap, "'%s'", q);
        break;
    }
}

/* A bad cell: import fails with file, row, column, value; check tallies it. */
static fs_err cell_problem(sink *k, const fs_schema *s, const fs_csv *csv, size_t rec,
                           size_t col, fs_cell_status st, const char *value)
{
    if (!k->report) {
        char msg[512], rowbuf[FS_CSV_ROW_CAP];
        cell_message(s, col, st, value, msg, sizeof msg);
        if (k->skip) {
            for (char *c = msg; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f) *c = '?';
            if (!k->row_bad)
                fprintf(k->skip, "%s: %s, column '%s': %s (row skipped)\n", k->path,
                        fs_csv_row(csv, rec, rowbuf), fs_schema_column_at(s, col)->name, msg);
            k->row_bad = 1;
            return FS_OK;
        }
        return fs_error_set(FS_ERR_DATA, "%s: %s, column '%s': %s", k->path,
                            fs_csv_row(csv, rec, rowbuf), fs_schema_column_at(s, col)->name, msg);
    }
    if (k->ncells == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 256;
        bad_cell *p = realloc(k->cells, nc * sizeof *p);
        if (!p) return fs_error_set(FS_ERR_NOMEM, "out of memory checking %s", k->path);
        k->cells = p;
        k->cap = nc;
    }
    k->cells[k->ncells++] = (bad_cell){ col, st, value, rec };
    return FS_OK;
}

// ---------------------------------------------------------------- step 1: columns

/*
 * file_col[i] = header index of schema column i, or SIZE_MAX when absent
 * (allowed for kind = ignore only).  Problems: a duplicate header name, a
 * schema column not in the header, a file column not in the schema (unless
 * extra_columns = ignore).
 */
static fs_err map_columns(sink *k, const fs_csv *csv, const fs_schema *s, char delim,
                          unsigned flags, size_t *file_col)
{
    fs_err rc = FS_OK;
    const size_t H = csv->ncols, C = fs_schema_num_columns(s);

    if (!k->report) {
        FS_TRY(fs_csv_check_header(csv, k->path));
    } else {
        for (size_t j = 0; j < H; j++)
            for (size_t i = 0; i < j; i++)
                if (!strcmp(fs_csv_cell(csv, 0, i), fs_csv_cell(csv, 0, j))) {
                    FS_TRY(problem(k, "column '%s' appears more than once in the header "
                                   "(columns %zu and %zu)", fs_csv_cell(csv, 0, j), i + 1, j + 1));
                    break;
                }
    }
    for (size_t i = 0; i < C; i++) {
        const fs_schema_column *c = fs_schema_column_at(s, i);
        file_col[i] = SIZE_MAX;
        for (size_t j = 0; j < H && file_col[i] == SIZE_MAX; j++)
            if (!strcmp(fs_csv_cell(csv, 0, j), c->name)) file_col[i] = j;
        if (c->kind == FS_COLUMN_LABEL && (flags & FS_IMPORT_NO_LABEL)) {
            file_col[i] = SIZE_MAX;   /* not read; a file column of that name is allowed */
            continue;
        }
        if (file_col[i] == SIZE_MAX && c->kind != FS_COLUMN_IGNORE)
            FS_TRY(problem(k, "column '%s' of the schema (line %d, kind = %s) is not in the "
                           "header%s", c->name, c->line,
                           c->kind == FS_COLUMN_NUMERIC ? "numeric"
                           : c->kind == FS_COLUMN_CATEGORICAL ? "categorical"
                           : c->kind == FS_COLUMN_LABEL ? "label" : "id",
                           fs_csv_header_hint(csv, delim)));
    }
    if (fs_schema_extra_columns_ignored(s)) goto done;
    for (size_t j = 0; j < H; j++) {
        const char *h = fs_csv_cell(csv, 0, j);
        if (fs_schema_find_column(s, h) >= 0) continue;
        char q[FS_QUOTE_CAP];
        FS_TRY(problem(k, "column '%s' (column %zu of the file) is not in the schema (add a "
                       "[column %s] section, with kind = ignore to drop it, or set "
                       "extra_columns = ignore)%s", fs_quote_value(h, q), j + 1, q,
                       fs_csv_header_hint(csv, delim)));
    }
done:
    return rc;
}

// ---------------------------------------------------------------- step 2: cells

/*
 * Encode every data row into ds (NULL for a check): X (n, d) row-major,
 * y, following the schema; bad cells go to the sink.
 */
static fs_err encode_rows(sink *k, const fs_csv *csv, const fs_schema *s, const size_t *file_col,
                          fs_dataset *ds, float *scratch, size_t *kept)
{
    fs_err rc = FS_OK;
    const size_t n = csv->nrec - 1, C = fs_schema_num_columns(s), d = fs_schema_num_features(s);
    const long label_col = fs_schema_label_column(s);
    size_t w = 0;   /* rows written: i, or fewer when bad rows are skipped */

    for (size_t i = 0; i < n; i++) {
        float *x = ds ? ds->X + w * d : scratch;
        k->row_bad = 0;
        for (size_t c = 0; c < C; c++) {
            const fs_schema_column *sc = fs_schema_column_at(s, c);
            if (file_col[c] == SIZE_MAX) continue;
            const char *cell = fs_csv_cell(csv, i + 1, file_col[c]);
            double lab = 0;
            fs_cell_status st = fs_schema_encode_cell(s, c, cell, x + sc->first_feature, &lab);
            if (st != FS_CELL_OK && st != FS_CELL_MISSING) {
                FS_TRY(cell_problem(k, s, csv, i + 1, c, st, cell));
                continue;
            }
            if (!ds || (long)c != label_col) continue;
            if (ds->task == FS_TASK_CLASSIFICATION) ds->y_class[w] = (int32_t)lab;
            else ds->y_reg[w] = (float)lab;
        }
        if (k->row_bad) continue;
        if (kept) kept[w] = i + 2;   /* file row: the header is row 1 */
        w++;
    }
    if (ds) ds->n = w;
done:
    return rc;
}

// ---------------------------------------------------------------- import

fs_err fs_import_csv_schema(const char *path, const fs_schema *s, char delimiter, fs_dataset **out)
{
    return fs_import_csv_schema_ex(path, s, delimiter, 0, NULL, out, NULL);
}

fs_err fs_import_csv_schema_ex(const char *path, const fs_schema *s, char delimiter,
                               unsigned flags, FILE *skipped, fs_dataset **out, size_t **rows)
{
    fs_err rc = FS_OK;
    fs_csv csv;
    fs_dataset *ds = NULL;
    size_t *file_col = NULL;   /* (ncols) header index of each schema column */
    size_t *kept = NULL;       /* (n) file rows of the rows kept */
    sink k = { path, NULL, 0, NULL, 0, 0, NULL, 0 };

    memset(&csv, 0, sizeof csv);
    FS_CHECK_ARG(out != NULL, "fs_import_csv_schema: out is NULL");
    *out = NULL;
    if (rows) *rows = NULL;
    FS_CHECK_ARG(path != NULL && s != NULL, "fs_import_csv_schema: NULL path or schema");
    if (delimiter == 0) delimiter = ',';
    FS_TRY(fs_csv_delimiter_check(delimiter));

    FS_TRY(fs_csv_read(path, delimiter, &csv));
    FS_TRY(fs_alloc(&file_col, fs_schema_num_columns(s), sizeof *file_col, "column map"));
    FS_TRY(map_columns(&k, &csv, s, delimiter, flags, file_col));
    const size_t n = csv.nrec - 1, d = fs_schema_num_features(s);
    if (n == 0) FS_FAIL(FS_ERR_DATA, "%s: no data rows after the header", path);

    const long label_col = (flags & FS_IMPORT_NO_LABEL) ? -1 : fs_schema_label_column(s);
    const long id_col = fs_schema_id_column(s);
    const fs_task task = fs_schema_task(s);
    /* Rows read without their labels (predict) still carry the schema's class list, which
     * the dataset validator matches with the schema; y stays class 0, flagged absent.  A
     * schema without a label column (a vertical-FL feature party) has no classes. */
    const int named = task == FS_TASK_CLASSIFICATION && fs_schema_label_column(s) >= 0;
    const int nclass = named ? fs_schema_num_classes(s) : 2;
    FS_TRY(fs_dataset_create(n, d, task, nclass, &ds));
    FS_TRY(fs_alloc(&kept, n, sizeof *kept, "row numbers"));
    k.skip = skipped;
    FS_TRY(encode_rows(&k, &csv, s, file_col, ds, NULL, kept));
    if (ds->n == 0) FS_FAIL(FS_ERR_DATA, "%s: every one of the %zu data rows was skipped", path, n);
    if (id_col >= 0) {
        const size_t j = file_col[id_col];
        FS_TRY(fs_csv_check_ids(&csv, path, j));
        FS_TRY(fs_zalloc(&ds->ids, ds->n, sizeof *ds->ids, "ids"));
        for (size_t i = 0; i < ds->n; i++)
            FS_TRY(fs_strdup(&ds->ids[i], fs_csv_cell(&csv, kept[i] - 1, j)));
        FS_TRY(fs_strdup(&ds->id_column, fs_schema_column_at(s, (size_t)id_col)->name));
    }
    if (label_col < 0) ds->labels_absent = 1;   /* y stays zero-filled */
    if (named) {
        FS_TRY(fs_zalloc(&ds->class_names, (size_t)nclass, sizeof(char *), "class names"));
        for (int c = 0; c < nclass; c++)
            FS_TRY(fs_strdup(&ds->class_names[c], fs_schema_class_name(s, c)));
    }
    FS_TRY(fs_zalloc(&ds->feature_names, d, sizeof(char *), "feature names"));
    for (size_t j = 0; j < d; j++)
        FS_TRY(fs_strdup(&ds->feature_names[j], fs_schema_feature_at(s, j)->name));
    FS_TRY(fs_strdup(&ds->schema, fs_schema_text(s)));
    FS_TRY(fs_strdup(&ds->schema_hash, fs_schema_hash_hex(s)));
    if (asprintf(&ds->provenance, "csv file=%s schema=%s sha256=%.16s... label=%s task=%s",
                 path, fs_schema_name(s) ? fs_schema_name(s) : "(unnamed)", fs_schema_hash_hex(s),
                 label_col >= 0 ? fs_schema_column_at(s, (size_t)label_col)->name
                                : "(none: labels absent, zeros)",
                 task == FS_TASK_CLASSIFICATION ? "classification" : "regression") < 0) {
        ds->provenance = NULL;
        FS_FAIL(FS_ERR_NOMEM, "out of memory");
    }
    FS_TRY(fs_dataset_validate(ds, path));
    *out = ds;
    ds = NULL;
    if (rows) { *rows = kept; kept = NULL; }
done:
    free(kept);
    free(file_col);
    fs_csv_free(&csv);
    fs_dataset_destroy(&ds);
    return rc;
}

// ---------------------------------------------------------------- check

/* Order bad cells by (column, problem, value, row). */
static int cmp_bad(const void *a, const void *b)
{
    const bad_cell *x = a, *y = b;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    if (x->status != y->status) return x->status < y->status ? -1 : 1;
    int c = strcmp(x->value, y->value);
    if (c) return c;
    return (x->rec > y->rec) - (x->rec < y->rec);
}

/* One distinct bad value: count and first record. */
typedef struct {
    const char *value;
    size_t count, first;
} bad_value;

static int cmp_value_count(const void *a, const void *b)
{
    const bad_value *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

/* Print the tallied cell problems, grouped by (column, problem). */
static fs_err report_cells(sink *k, const fs_schema *s, const fs_csv *csv)
{
    fs_err rc = FS_OK;
    bad_value *vals = NULL;   /* distinct values of one (column, problem) group */
    char msg[512], rowbuf[FS_CSV_ROW_CAP];

    if (k->ncells == 0) return FS_OK;
    qsort(k->cells, k->ncells, sizeof *k->cells, cmp_bad);
    FS_TRY(fs_alloc(&vals, k->ncells, sizeof *vals, "check report"));
    for (size_t g = 0; g < k->ncells;) {
        size_t e = g, nv = 0;
        while (e < k->ncells && k->cells[e].col == k->cells[g].col &&
               k->cells[e].status == k->cells[g].status)
            e++;
        for (size_t i = g; i < e; i++) {
            if (nv && !strcmp(vals[nv - 1].value, k->cells[i].value)) {
                vals[nv - 1].count++;
                continue;
            }
            vals[nv++] = (bad_value){ k->cells[i].value, 1, k->cells[i].rec };
        }
        qsort(vals, nv, sizeof *vals, cmp_value_count);
        const char *col = fs_schema_column_at(s, k->cells[g].col)->name;
        for (size_t v = 0; v < nv && v < CHECK_MAX_VALUES; v++) {
            cell_message(s, k->cells[g].col, k->cells[g].status, vals[v].value, msg, sizeof msg);
            if (vals[v].count == 1)
                FS_TRY(problem(k, "column '%s': %s in %s", col, msg,
                               fs_csv_row(csv, vals[v].first, rowbuf)));
            else
                FS_TRY(problem(k, "column '%s': %s in %zu rows (first %s)", col, msg,
                               vals[v].count, fs_csv_row(csv, vals[v].first, rowbuf)));
        }
        if (nv > CHECK_MAX_VALUES) {
            size_t rows = 0;
            for (size_t v = CHECK_MAX_VALUES; v < nv; v++) rows += vals[v].count;
            FS_TRY(problem(k, "column '%s': %zu more distinct values with the same problem, in "
                           "%zu rows", col, nv - CHECK_MAX_VALUES, rows));
        }
        g = e;
    }
done:
    free(vals);
    return rc;
}

fs_err fs_schema_check(const char *path, const fs_schema *s, char delimiter, FILE *report,
                       size_t *nproblems)
{
    fs_err rc = FS_OK;
    fs_csv csv;
    size_t *file_col = NULL;   /* (ncols) header index of each schema column */
    float *row = NULL;         /* (d) scratch encoding of one row */
    sink k = { path, report, 0, NULL, 0, 0, NULL, 0 };

    memset(&csv, 0, sizeof csv);
    FS_CHECK_ARG(path && s && report && nproblems, "fs_schema_check: NULL argument");
    *nproblems = 0;
    if (delimiter == 0) delimiter = ',';
    FS_TRY(fs_csv_delimiter_check(delimiter));
    FS_TRY(fs_csv_read(path, delimiter, &csv));
    FS_TRY(fs_alloc(&file_col, fs_schema_num_columns(s), sizeof *file_col, "column map"));
    FS_TRY(fs_alloc(&row, fs_schema_num_features(s), sizeof *row, "row"));
    FS_TRY(map_columns(&k, &csv, s, delimiter, 0, file_col));
    if (csv.nrec < 2) FS_TRY(problem(&k, "no data rows after the header"));
    FS_TRY(encode_rows(&k, &csv, s, file_col, NULL, row, NULL));
    FS_TRY(report_cells(&k, s, &csv));
    const long id_col = fs_schema_id_column(s);
    if (id_col >= 0 && file_col[id_col] != SIZE_MAX && csv.nrec > 1 &&
        fs_csv_check_ids(&csv, path, file_col[id_col]) != FS_OK) {
        /* The id rules report their first violation (it names row and id). */
        const char *m = fs_errmsg();
        size_t plen = strlen(path);
        if (!strncmp(m, path, plen) && m[plen] == ':' && m[plen + 1] == ' ') m += plen + 2;
        FS_TRY(problem(&k, "%s", m));
    }
    if (k.nproblems == 0)
        fprintf(report, "%s: %zu rows, %zu columns: matches schema %.16s...\n", path,
                csv.nrec - 1, csv.ncols, fs_schema_hash_hex(s));
    else
        fprintf(report, "%s: %zu rows, %zu columns: %zu problem%s (above); the file does not "
                "match schema %.16s...\n", path, csv.nrec - 1, csv.ncols, k.nproblems,
                k.nproblems == 1 ? "" : "s", fs_schema_hash_hex(s));
    if (ferror(report)) FS_FAIL(FS_ERR_IO, "cannot write the check report of %s", path);
    *nproblems = k.nproblems;
done:
    free(k.cells);
    free(row);
    free(file_col);
    fs_csv_free(&csv);
    return rc;
}

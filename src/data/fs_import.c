/*
 * fs_import.c - data layer: importers from interchange formats into an
 * in-memory fs_dataset (which fs_dataset_write then stores as HDF5).
 *
 * IDX (LeCun's MNIST format, also used by Fashion-MNIST): a big-endian
 * header (magic 0x00000803 for idx3 unsigned-byte images [n, rows, cols],
 * 0x00000801 for idx1 unsigned-byte labels [n]) followed by raw bytes.
 * Files are read through zlib's gzopen/gzread, which reads gzipped and
 * plain files transparently.  Pixels are scaled to [0, 1] by /255.
 *
 * CSV (without a schema; fs_schema_import.c reads CSV with one): the file
 * is read by fs_csv_read (RFC 4180 quoting, any delimiter); every column but
 * the label and id columns must be numeric.  See docs/formats.md for the
 * label rules.
 * An optional id column becomes the dataset's record ids (/ids) instead of
 * a feature; without a label column the labels are zeros and marked absent
 * (feature-only parties of vertical federated learning).
 *
 * No MPI; runs on one process (the CLI's import subcommand).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "fs_impl.h"
#include "fs_data_impl.h"
#include "fedsilo/fs_data.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_CHUNK (1u << 20)            /* bytes per gzread call */
#define CSV_MAX_INT_LABEL 65535         /* larger integer labels are mapped */

// ---------------------------------------------------------------- IDX

/* Open path for reading with zlib (gzip or plain).  *out is NULL on failure. */
static fs_err idx_open(const char *path, gzFile *out)
{
    errno = 0;
    *out = gzopen(path, "rb");
    if (!*out)
        return fs_error_set(FS_ERR_IO, "cannot open %s: %s", path,
                            errno ? strerror(errno) : "out of memory");
    gzbuffer(*out, 256u * 1024u);
    return FS_OK;
}

/* Read exactly len bytes of `what` from g into buf, or fail naming path. */
static fs_err idx_read(gzFile g, const char *path, void *buf, size_t len, const char *what)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < len) {
        size_t want = len - got < IDX_CHUNK ? len - got : IDX_CHUNK;
        int r = gzread(g, p + got, (unsigned)want);
        if (r < 0) {
            int zerr = 0;
            const char *zmsg = gzerror(g, &zerr);
            if (zerr == Z_ERRNO)
                return fs_error_set(FS_ERR_IO, "%s: read error: %s", path, strerror(errno));
            return fs_error_set(FS_ERR_DATA, "%s: truncated or corrupt (after %zu of %zu bytes of "
                                "%s): %s", path, got, len, what, zmsg);
        }
        if (r == 0)
            return fs_error_set(FS_ERR_DATA, "%s: truncated: expected %zu bytes of %s, got %zu",
                                path, len, what, got);
        got += (size_t)r;
    }
    return FS_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Read and check the IDX magic, then ndims big-endian dimensions into dims. */
static fs_err idx_header(gzFile g, const char *path, uint32_t magic, const char *kind, int ndims,
                         uint32_t *dims)
{
    fs_err rc = FS_OK;
    unsigned char b[4 * 4];
    FS_TRY(idx_read(g, path, b, 4, "IDX header"));
    if (be32(b) != magic)
        FS_FAIL(FS_ERR_DATA, "%s: bad magic 0x%08x, expected 0x%08x (%s)", path, be32(b), magic,
                kind);
    FS_TRY(idx_read(g, path, b, 4 * (size_t)ndims, "IDX header"));
    for (int k = 0; k < ndims; k++) dims[k] = be32(b + 4 * k);
done:
    return rc;
}

fs_err fs_import_idx(const char *images_path, const char *labels_path, size_t limit,
                     fs_dataset **out)
{
    fs_err rc = FS_OK;
    gzFile gi = NULL, gl = NULL;
    fs_dataset *ds = NULL;
    uint32_t idims[3], ldims[1];
    unsigned char *buf = NULL;   /* (IDX_CHUNK) raw bytes: pixels, then labels */
    size_t n, d, keep;

    FS_CHECK_ARG(out != NULL, "fs_import_idx: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(images_path && labels_path, "fs_import_idx: NULL path");

    FS_TRY(idx_open(images_path, &gi));
    FS_TRY(idx_header(gi, images_path, IDX_MAGIC_IMAGES, "idx3 unsigned-byte images", 3, idims));
    FS_TRY(idx_open(labels_path, &gl));
    FS_TRY(idx_header(gl, labels_path, IDX_MAGIC_LABELS, "idx1 unsigned-byte labels", 1, ldims));
    n = idims[0];
    d = (size_t)idims[1] * idims[2];
    if (d == 0) FS_FAIL(FS_ERR_DATA, "%s: images are %ux%u pixels", images_path, idims[1], idims[2]);
    if (ldims[0] != n)
        FS_FAIL(FS_ERR_DATA, "count mismatch: %s has %zu images but %s has %u labels",
                images_path, n, labels_path, ldims[0]);
    if (n == 0) FS_FAIL(FS_ERR_DATA, "%s: contains no images", images_path);
    keep = (limit > 0 && limit < n) ? limit : n;
    {
        /* The header alone decides the allocation (keep * d floats): refuse
         * a header that promises far more pixels than the file can hold,
         * even gzipped (zlib's maximum ratio is about 1032:1). */
        struct stat sb;
        const double want = (double)keep * (double)d;
        const double have = stat(images_path, &sb) == 0 ? (double)sb.st_size : 0.0;
        if (want > 1100.0 * have + 65536.0)
            FS_FAIL(FS_ERR_DATA, "%s: header declares %zu images of %zu pixels (%.3g bytes) but the "
                    "file has only %.0f bytes (truncated, corrupt or hostile)", images_path, n, d,
                    want, have);
    }

    FS_TRY(fs_dataset_create(keep, d, FS_TASK_CLASSIFICATION, 10, &ds));
    FS_TRY(fs_alloc(&buf, IDX_CHUNK, 1, "IDX read buffer"));

    /* Pixels: keep*d bytes, converted chunk by chunk into X (keep, d) in [0, 1].
     * With a limit only the prefix is read (and needs to be intact). */
    size_t total = keep * d;
    for (size_t off = 0; off < total;) {
        size_t len = total - off < IDX_CHUNK ? total - off : IDX_CHUNK;
        FS_TRY(idx_read(gi, images_path, buf, len, "pixel data"));
        float *x = ds->X + off;
        for (size_t k = 0; k < len; k++) x[k] = (float)buf[k] / 255.0f;
        off += len;
    }

    /* Labels: one byte each; num_classes = max(10, max label + 1). */
    int maxlab = 0;
    for (size_t off = 0; off < keep;) {
        size_t len = keep - off < IDX_CHUNK ? keep - off : IDX_CHUNK;
        FS_TRY(idx_read(gl, labels_path, buf, len, "labels"));
        for (size_t k = 0; k < len; k++) {
            ds->y_class[off + k] = buf[k];
            if (buf[k] > maxlab) maxlab = buf[k];
        }
        off += len;
    }
    if (maxlab + 1 > ds->num_classes) ds->num_classes = maxlab + 1;

    FS_TRY(fs_zalloc(&ds->feature_names, d, sizeof(char *), "feature names"));
    for (size_t j = 0; j < d; j++) {
        if (asprintf(&ds->feature_names[j], "px%zu", j) < 0) {
            ds->feature_names[j] = NULL;
            FS_FAIL(FS_ERR_NOMEM, "out of memory naming features");
        }
    }
    if (asprintf(&ds->provenance, "idx images=%s labels=%s rows=%zu of %zu", images_path,
                 labels_path, keep, n) < 0) {
        ds->provenance = NULL;
        FS_FAIL(FS_ERR_NOMEM, "out of memory");
    }
    FS_TRY(fs_dataset_validate(ds, images_path));
    *out = ds;
    ds = NULL;
done:
    if (gi) gzclose(gi);
    if (gl) gzclose(gl);
    free(buf);
    fs_dataset_destroy(&ds);
    return rc;
}

// ---------------------------------------------------------------- CSV

/* One label cell with its parsed value and source row, for sorting. */
typedef struct {
    const char *s;
    double v;
    size_t row;    /* 0-based data row */
} label_ref;

static int cmp_label_num(const void *a, const void *b)
{
    const label_ref *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

static int cmp_label_str(const void *a, const void *b)
{
    return strcmp(((const label_ref *)a)->s, ((const label_ref *)b)->s);
}

/* The hint after "'x' is not a number" for a cell that is text, not a
 * malformed number: categorical and missing cells need a schema. */
static const char *number_hint(const char *cell)
{
    const unsigned char c = (unsigned char)cell[0];
    if (c == '\0' || !(isdigit(c) || c == '-' || c == '+' || c == '.'))
        return " (text categories and missing cells need a schema: see 'fedsilo schema draft "
               "--help' and 'import csv --schema')";
    return "";
}

/* Set ds->class_names[k] to the decimal k, for k < ds->num_classes. */
static fs_err name_integer_classes(fs_dataset *ds)
{
    fs_err rc = FS_OK;
    FS_TRY(fs_zalloc(&ds->class_names, (size_t)ds->num_classes, sizeof(char *), "class names"));
    for (int k = 0; k < ds->num_classes; k++)
        if (asprintf(&ds->class_names[k], "%d", k) < 0) {
            ds->class_names[k] = NULL;
            FS_FAIL(FS_ERR_NOMEM, "out of memory naming classes");
        }
done:
    return rc;
}

/*
 * Turn the label cells (n, borrowed) into classes.  Integers 0..65535 are
 * used as-is (num_classes = max + 1; class k is named "k"); anything else is
 * mapped to classes 0..K-1 in sorted order (numeric when every label is a
 * number, else byte-wise), class k named by its label text.  The mapping is
 * also appended to *prov (a memstream).
 */
static fs_err csv_class_labels(const char *path, const char *col, const char **labels, size_t n,
                               fs_dataset *ds, FILE *prov)
{
    fs_err rc = FS_OK;
    label_ref *refs = NULL;   /* (n) */
    char **names = NULL;      /* (K) class names, K <= n */
    int all_num = 1, all_int = 1;
    double maxv = 0;

    FS_TRY(fs_alloc(&refs, n, sizeof *refs, "label index"));
    for (size_t i = 0; i < n; i++) {
        refs[i].s = labels[i];
        refs[i].row = i;
        refs[i].v = 0;
        if (fs_csv_parse_number(labels[i], &refs[i].v) != 0) {
            all_num = all_int = 0;
            continue;
        }
        if (refs[i].v < 0 || refs[i].v != floor(refs[i].v) || refs[i].v > CSV_MAX_INT_LABEL)
            all_int = 0;
        if (refs[i].v > maxv) maxv = refs[i].v;
    }

    if (all_int) {
        if (maxv < 1)
            FS_FAIL(FS_ERR_DATA, "%s: label column '%s' has a single class (0); classification "
                    "needs at least 2", path, col);
        ds->num_classes = (int)maxv + 1;
        for (size_t i = 0; i < n; i++) ds->y_class[i] = (int32_t)refs[i].v;
        FS_TRY(name_integer_classes(ds));
        fprintf(prov, " labels=integer classes 0..%d", ds->num_classes - 1);
        goto done;
    }

    qsort(refs, n, sizeof *refs, all_num ? cmp_label_num : cmp_label_str);
    FS_TRY(fs_zalloc(&names, n, sizeof *names, "class names"));
    int k = -1;
    fprintf(prov, " labels=mapped (%s order):", all_num ? "numeric" : "sorted string");
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && (all_num ? refs[i].v == refs[i - 1].v
                                     : strcmp(refs[i].s, refs[i - 1].s) == 0);
        if (!same) {
            if (k == INT32_MAX - 1)
                FS_FAIL(FS_ERR_DATA, "%s: label column '%s' has too many classes", path, col);
            k++;
            FS_TRY(fs_strdup(&names[k], refs[i].s));
            fprintf(prov, "%s %d='%s'", k ? "," : "", k, refs[i].s);
        }
        ds->y_class[refs[i].row] = k;
    }
    if (k + 1 < 2)
        FS_FAIL(FS_ERR_DATA, "%s: label column '%s' has a single class ('%s'); classification "
                "needs at least 2", path, col, refs[0].s);
    ds->num_classes = k + 1;
    ds->class_names = names;
    names = NULL;
done:
    fs_strv_free(names, n);
    free(refs);
    return rc;
}

void fs_csv_opts_default(fs_csv_opts *o)
{
    if (!o) return;
    o->label_column = NULL;
    o->id_column = NULL;
    o->task = FS_TASK_CLASSIFICATION;
    o->delimiter = ',';
}

fs_err fs_import_csv(const char *path, const char *label_column, fs_task task, fs_dataset **out)
{
    fs_csv_opts o;
    fs_csv_opts_default(&o);
    if (!label_column) {
        if (out) *out = NULL;
        return fs_error_set(FS_ERR_ARG, "fs_import_csv: NULL path or label column");
    }
    o.label_column = label_column;
    o.task = task;
    return fs_import_csv_ex(path, &o, out);
}

fs_err fs_import_csv_ex(const char *path, const fs_csv_opts *opts, fs_dataset **out)
{
    fs_err rc = FS_OK;
    fs_csv csv;
    char *provbuf = NULL;
    const char **labels = NULL;   /* (n) label cells (borrowed from csv) */
    size_t provlen = 0, n, nfeat, H;
    size_t label = SIZE_MAX, idcol = SIZE_MAX;   /* column indices; SIZE_MAX = none */
    FILE *prov = NULL;
    fs_dataset *ds = NULL;
    char rowbuf[FS_CSV_ROW_CAP], q[FS_QUOTE_CAP];

    memset(&csv, 0, sizeof csv);
    FS_CHECK_ARG(out != NULL, "fs_import_csv: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(path && opts, "fs_import_csv: NULL path or options");
    const char *label_column = opts->label_column, *id_column = opts->id_column;
    const fs_task task = opts->task;
    const char delim = opts->delimiter ? opts->delimiter : ',';
    FS_CHECK_ARG(label_column || id_column, "fs_import_csv: a label column is required unless "
                 "an id column is given");
    FS_CHECK_ARG(!label_column || !id_column || strcmp(label_column, id_column) != 0,
                 "fs_import_csv: the label column and the id column are both '%s'", label_column);
    FS_CHECK_ARG(task == FS_TASK_CLASSIFICATION || task == FS_TASK_REGRESSION,
                 "fs_import_csv: unknown task %d", (int)task);
    FS_TRY(fs_csv_delimiter_check(delim));

    FS_TRY(fs_csv_read(path, delim, &csv));
    H = csv.ncols;
    FS_TRY(fs_csv_check_header(&csv, path));
    if (label_column) FS_TRY(fs_csv_find_column(&csv, path, delim, label_column, &label));
    if (id_column) FS_TRY(fs_csv_find_column(&csv, path, delim, id_column, &idcol));
    nfeat = H - (label_column ? 1 : 0) - (id_column ? 1 : 0);
    if (nfeat == 0)
        FS_FAIL(FS_ERR_DATA, "%s: the header has only the %s column%s; need at least one feature "
                "column%s", path, label_column && id_column ? "label and id" :
                label_column ? "label" : "id", label_column && id_column ? "s" : "",
                fs_csv_header_hint(&csv, delim));
    n = csv.nrec - 1;
    if (n == 0) FS_FAIL(FS_ERR_DATA, "%s: no data rows after the header", path);

    FS_TRY(fs_dataset_create(n, nfeat, task, 2, &ds));
    if (label_column) FS_TRY(fs_alloc(&labels, n, sizeof *labels, "CSV labels"));

    /* Data row i is record i + 1; X is (n, nfeat). */
    for (size_t i = 0; i < n; i++) {
        float *x = ds->X + i * nfeat;
        for (size_t j = 0, f = 0; j < H; j++) {
            const char *cell = fs_csv_cell(&csv, i + 1, j);
            if (j == label) {
                labels[i] = cell;
                continue;
            }
            if (j == idcol) continue;
            double v;
            if (fs_csv_parse_number(cell, &v) != 0)
                FS_FAIL(FS_ERR_DATA, "%s: %s, column '%s': '%s' is not a number%s", path,
                        fs_csv_row(&csv, i + 1, rowbuf), fs_csv_cell(&csv, 0, j),
                        fs_quote_value(cell, q),
                        number_hint(cell));
            if (fabs(v) > FLT_MAX)
                FS_FAIL(FS_ERR_DATA, "%s: %s, column '%s': '%s' is out of float32 range",
                        path, fs_csv_row(&csv, i + 1, rowbuf), fs_csv_cell(&csv, 0, j),
                        fs_quote_value(cell, q));
            x[f++] = (float)v;
        }
    }
    if (id_column) {
        FS_TRY(fs_csv_check_ids(&csv, path, idcol));
        FS_TRY(fs_zalloc(&ds->ids, n, sizeof *ds->ids, "ids"));
        for (size_t i = 0; i < n; i++) FS_TRY(fs_strdup(&ds->ids[i], fs_csv_cell(&csv, i + 1, idcol)));
        FS_TRY(fs_strdup(&ds->id_column, id_column));
    }

    prov = open_memstream(&provbuf, &provlen);
    if (!prov) FS_FAIL(FS_ERR_NOMEM, "out of memory");
    fprintf(prov, "csv file=%s label=%s task=%s", path,
            label_column ? label_column : "(none: labels absent, zeros)",
            task == FS_TASK_CLASSIFICATION ? "classification" : "regression");
    if (id_column) fprintf(prov, " id=%s", id_column);
    if (!label_column) {
        ds->labels_absent = 1;   /* y stays zero-filled (2 classes for classification) */
    } else if (task == FS_TASK_REGRESSION) {
        for (size_t i = 0; i < n; i++) {
            double v;
            if (fs_csv_parse_number(labels[i], &v) != 0 || fabs(v) > FLT_MAX)
                FS_FAIL(FS_ERR_DATA, "%s: %s, column '%s': '%s' is not a number", path,
                        fs_csv_row(&csv, i + 1, rowbuf), label_column,
                        fs_quote_value(labels[i], q));
            ds->y_reg[i] = (float)v;
        }
    } else {
        FS_TRY(csv_class_labels(path, label_column, labels, n, ds, prov));
    }
    if (fclose(prov) != 0) {
        prov = NULL;
        FS_FAIL(FS_ERR_NOMEM, "out of memory");
    }
    prov = NULL;
    ds->provenance = provbuf;
    provbuf = NULL;

    FS_TRY(fs_zalloc(&ds->feature_names, nfeat, sizeof(char *), "feature names"));
    for (size_t j = 0, f = 0; j < H; j++)
        if (j != label && j != idcol)
            FS_TRY(fs_strdup(&ds->feature_names[f++], fs_csv_cell(&csv, 0, j)));
    FS_TRY(fs_dataset_validate(ds, path));
    *out = ds;
    ds = NULL;
done:
    if (prov) fclose(prov);
    free(provbuf);
    free(labels);
    fs_csv_free(&csv);
    fs_dataset_destroy(&ds);
    return rc;
}

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
 * CSV: one header row, comma separated, cells optionally surrounded by
 * whitespace and/or double quotes ("" inside quotes is a literal quote;
 * cells may not contain newlines).  See docs/formats.md for the label rules.
 * An optional id column becomes the dataset's record ids (/ids) instead of
 * a feature; without a label column the labels are zeros and marked absent
 * (feature-only parties of vertical federated learning).
 *
 * No MPI; runs on one process (the CLI's import subcommand).
 */
#define _GNU_SOURCE
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

/* Read the whole file into a NUL-terminated buffer (caller frees). */
static fs_err slurp(const char *path, char **out, size_t *len)
{
    fs_err rc = FS_OK;
    FILE *f = NULL;
    char *buf = NULL;
    size_t cap = 1 << 16, used = 0;
    *out = NULL;

    f = fopen(path, "rb");
    if (!f) FS_FAIL(FS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    FS_TRY(fs_alloc(&buf, cap, 1, "CSV file buffer"));
    for (;;) {
        if (cap - used < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) FS_FAIL(FS_ERR_NOMEM, "out of memory reading %s", path);
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + used, 1, cap - used - 1, f);
        used += r;
        if (r == 0) break;
    }
    if (ferror(f)) FS_FAIL(FS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    buf[used] = '\0';
    *out = buf;
    *len = used;
    buf = NULL;
done:
    if (f) fclose(f);
    free(buf);
    return rc;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/*
 * Split one line in place into cells (trimmed, unquoted, NUL-terminated).
 * *cells grows as needed (capacity *cap).  Returns FS_OK, or FS_ERR_DATA
 * for malformed quoting, naming path and row.
 */
static fs_err split_cells(char *line, const char *path, size_t row, char ***cells, size_t *ncells,
                          size_t *cap)
{
    fs_err rc = FS_OK;
    char *r = line;
    *ncells = 0;
    for (;;) {
        if (*ncells == *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            char **nc = realloc(*cells, ncap * sizeof *nc);
            if (!nc) FS_FAIL(FS_ERR_NOMEM, "out of memory parsing %s", path);
            *cells = nc;
            *cap = ncap;
        }
        while (is_blank(*r)) r++;
        char *start = r, *w = r;
        if (*r == '"') {
            r++;
            start = w = r;
            for (;;) {
                if (*r == '\0')
                    FS_FAIL(FS_ERR_DATA, "%s: row %zu: unterminated quoted field", path, row);
                if (*r == '"') {
                    if (r[1] == '"') { *w++ = '"'; r += 2; continue; }
                    r++;
                    break;
                }
                *w++ = *r++;
            }
            while (is_blank(*r)) r++;
            if (*r != ',' && *r != '\0')
                FS_FAIL(FS_ERR_DATA, "%s: row %zu: unexpected text after a closing quote", path,
                        row);
        } else {
            while (*r != ',' && *r != '\0') r++;
            w = r;
            while (w > start && is_blank(w[-1])) w--;
        }
        char sep = *r;
        *w = '\0';
        (*cells)[(*ncells)++] = start;
        if (sep == '\0') break;
        r++;   /* past the comma */
    }
done:
    return rc;
}

/* Parse a whole cell as a finite double; 0 on success, -1 otherwise. */
static int parse_number(const char *s, double *v)
{
    char *end;
    if (*s == '\0') return -1;
    errno = 0;
    *v = strtod(s, &end);
    if (*end != '\0' || end == s) return -1;
    if (!isfinite(*v)) return -1;
    return 0;
}

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

/*
 * Turn the label cells (n, borrowed) into classes.  Integers 0..65535 are
 * used as-is (num_classes = max + 1); anything else is mapped to classes
 * 0..K-1 in sorted order (numeric when every label is a number, else
 * byte-wise), and the mapping is appended to *prov (a memstream).
 */
static fs_err csv_class_labels(const char *path, const char *col, char **labels, size_t n,
                               fs_dataset *ds, FILE *prov)
{
    fs_err rc = FS_OK;
    label_ref *refs = NULL;   /* (n) */
    int all_num = 1, all_int = 1;
    double maxv = 0;

    FS_TRY(fs_alloc(&refs, n, sizeof *refs, "label index"));
    for (size_t i = 0; i < n; i++) {
        refs[i].s = labels[i];
        refs[i].row = i;
        refs[i].v = 0;
        if (parse_number(labels[i], &refs[i].v) != 0) {
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
        fprintf(prov, " labels=integer classes 0..%d", ds->num_classes - 1);
        goto done;
    }

    qsort(refs, n, sizeof *refs, all_num ? cmp_label_num : cmp_label_str);
    int k = -1;
    fprintf(prov, " labels=mapped (%s order):", all_num ? "numeric" : "sorted string");
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && (all_num ? refs[i].v == refs[i - 1].v
                                     : strcmp(refs[i].s, refs[i - 1].s) == 0);
        if (!same) {
            if (k == INT32_MAX - 1)
                FS_FAIL(FS_ERR_DATA, "%s: label column '%s' has too many classes", path, col);
            k++;
            fprintf(prov, "%s %d='%s'", k ? "," : "", k, refs[i].s);
        }
        ds->y_class[refs[i].row] = k;
    }
    if (k + 1 < 2)
        FS_FAIL(FS_ERR_DATA, "%s: label column '%s' has a single class ('%s'); classification "
                "needs at least 2", path, col, refs[0].s);
    ds->num_classes = k + 1;
done:
    free(refs);
    return rc;
}

/* Index of the header cell named `want` in header[0..H), or FS_ERR_DATA
 * listing the columns. */
static fs_err find_column(const char *path, char **header, size_t H, const char *want,
                          size_t *col)
{
    for (size_t j = 0; j < H; j++)
        if (strcmp(header[j], want) == 0) {
            *col = j;
            return FS_OK;
        }
    char cols[256] = "";
    size_t used = 0;
    for (size_t j = 0; j < H && used < sizeof cols; j++)
        used += (size_t)snprintf(cols + used, sizeof cols - used, "%s'%s'", j ? ", " : "",
                                 header[j]);
    return fs_error_set(FS_ERR_DATA, "%s: no column named '%s' in the header (columns: %s)", path,
                        want, cols);
}

/*
 * Check the id cells (n, borrowed) of column `col`: non-empty, no comma or
 * control character, no repeats.  Messages use 1-based file rows (header =
 * row 1), like every other CSV message.
 */
static fs_err csv_check_ids(const char *path, const char *col, char **ids, size_t n)
{
    fs_err rc = FS_OK;
    int found = 0;
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ids[i][0])
            FS_FAIL(FS_ERR_DATA, "%s: row %zu, column '%s': empty id", path, i + 2, col);
        for (const unsigned char *c = (const unsigned char *)ids[i]; *c; c++)
            if (*c == ',' || *c < 0x20 || *c == 0x7f)
                FS_FAIL(FS_ERR_DATA, "%s: row %zu, column '%s': id '%s' contains a %s (ids are "
                        "any text without commas or control characters)", path, i + 2, col,
                        ids[i], *c == ',' ? "comma" : "control character");
    }
    FS_TRY(fs_ids_find_repeat(ids, n, &found, &a, &b));
    if (found)
        FS_FAIL(FS_ERR_DATA, "%s: row %zu, column '%s': duplicate id '%s' (first in row %zu)",
                path, b + 2, col, ids[b], a + 2);
done:
    return rc;
}

void fs_csv_opts_default(fs_csv_opts *o)
{
    if (!o) return;
    o->label_column = NULL;
    o->id_column = NULL;
    o->task = FS_TASK_CLASSIFICATION;
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
    char *text = NULL, *provbuf = NULL;
    char **lines = NULL;      /* (nlines) pointers into text, NUL-terminated */
    char **cells = NULL;      /* (ncap) cells of the current line */
    char **header = NULL;     /* (H) header cells (point into text) */
    char **labels = NULL;     /* (n) label cells (point into text) */
    char **idcells = NULL;    /* (n) id cells (point into text) */
    size_t len = 0, nlines = 0, lcap = 0, ncells = 0, ncap = 0, H = 0, n, nfeat;
    size_t label = SIZE_MAX, idcol = SIZE_MAX;   /* column indices; SIZE_MAX = none */
    size_t provlen = 0;
    FILE *prov = NULL;
    fs_dataset *ds = NULL;

    FS_CHECK_ARG(out != NULL, "fs_import_csv: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(path && opts, "fs_import_csv: NULL path or options");
    const char *label_column = opts->label_column, *id_column = opts->id_column;
    const fs_task task = opts->task;
    FS_CHECK_ARG(label_column || id_column, "fs_import_csv: a label column is required unless "
                 "an id column is given");
    FS_CHECK_ARG(!label_column || !id_column || strcmp(label_column, id_column) != 0,
                 "fs_import_csv: the label column and the id column are both '%s'", label_column);
    FS_CHECK_ARG(task == FS_TASK_CLASSIFICATION || task == FS_TASK_REGRESSION,
                 "fs_import_csv: unknown task %d", (int)task);

    FS_TRY(slurp(path, &text, &len));
    if (len != strlen(text)) FS_FAIL(FS_ERR_DATA, "%s: contains a NUL byte (not a text file)", path);

    /* Lines: split at '\n', strip '\r', skip a UTF-8 byte-order mark. */
    char *p = text;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3;
    while (*p) {
        if (nlines == lcap) {
            size_t nc = lcap ? lcap * 2 : 1024;
            char **nl = realloc(lines, nc * sizeof *nl);
            if (!nl) FS_FAIL(FS_ERR_NOMEM, "out of memory parsing %s", path);
            lines = nl;
            lcap = nc;
        }
        lines[nlines++] = p;
        char *e = strchr(p, '\n');
        char *next = e ? e + 1 : p + strlen(p);
        if (e) *e = '\0';
        else e = next;
        if (e > p && e[-1] == '\r') e[-1] = '\0';
        p = next;
    }
    /* Empty (or whitespace-only) lines at the end are ignored. */
    while (nlines > 0) {
        const char *s = lines[nlines - 1];
        while (is_blank(*s)) s++;
        if (*s) break;
        nlines--;
    }
    if (nlines == 0) FS_FAIL(FS_ERR_DATA, "%s: empty file (a header row is required)", path);

    FS_TRY(split_cells(lines[0], path, 1, &cells, &H, &ncap));
    FS_TRY(fs_alloc(&header, H, sizeof *header, "CSV header"));
    memcpy(header, cells, H * sizeof *header);
    /* A repeated name would make the second column of that name silently
     * a feature (e.g. a second label column: label leakage). */
    for (size_t j = 0; j < H; j++)
        for (size_t k = j + 1; k < H; k++)
            if (strcmp(header[j], header[k]) == 0)
                FS_FAIL(FS_ERR_DATA, "%s: column '%s' appears more than once in the header "
                        "(columns %zu and %zu)", path, header[j], j + 1, k + 1);
    if (label_column) FS_TRY(find_column(path, header, H, label_column, &label));
    if (id_column) FS_TRY(find_column(path, header, H, id_column, &idcol));
    nfeat = H - (label_column ? 1 : 0) - (id_column ? 1 : 0);
    if (nfeat == 0)
        FS_FAIL(FS_ERR_DATA, "%s: the header has only the %s column%s; need at least one feature "
                "column", path, label_column && id_column ? "label and id" :
                label_column ? "label" : "id", label_column && id_column ? "s" : "");
    n = nlines - 1;
    if (n == 0) FS_FAIL(FS_ERR_DATA, "%s: no data rows after the header", path);

    FS_TRY(fs_dataset_create(n, nfeat, task, 2, &ds));
    if (label_column) FS_TRY(fs_alloc(&labels, n, sizeof *labels, "CSV labels"));
    if (id_column) FS_TRY(fs_alloc(&idcells, n, sizeof *idcells, "CSV ids"));

    /* Data rows: row r (1-based, header = 1) is lines[r - 1]; X is (n, nfeat). */
    for (size_t i = 0; i < n; i++) {
        size_t row = i + 2;
        const char *s = lines[i + 1];
        while (is_blank(*s)) s++;
        if (*s == '\0') FS_FAIL(FS_ERR_DATA, "%s: row %zu is empty", path, row);
        FS_TRY(split_cells(lines[i + 1], path, row, &cells, &ncells, &ncap));
        if (ncells != H)
            FS_FAIL(FS_ERR_DATA, "%s: row %zu has %zu fields, header has %zu", path, row, ncells,
                    H);
        float *x = ds->X + i * nfeat;
        for (size_t j = 0, f = 0; j < H; j++) {
            if (j == label) {
                labels[i] = cells[j];
                continue;
            }
            if (j == idcol) {
                idcells[i] = cells[j];
                continue;
            }
            double v;
            if (parse_number(cells[j], &v) != 0)
                FS_FAIL(FS_ERR_DATA, "%s: row %zu, column '%s': '%s' is not a number", path, row,
                        header[j], cells[j]);
            if (fabs(v) > FLT_MAX)
                FS_FAIL(FS_ERR_DATA, "%s: row %zu, column '%s': '%s' is out of float32 range",
                        path, row, header[j], cells[j]);
            x[f++] = (float)v;
        }
    }
    if (id_column) {
        FS_TRY(csv_check_ids(path, id_column, idcells, n));
        FS_TRY(fs_zalloc(&ds->ids, n, sizeof *ds->ids, "ids"));
        for (size_t i = 0; i < n; i++) FS_TRY(fs_strdup(&ds->ids[i], idcells[i]));
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
            if (parse_number(labels[i], &v) != 0 || fabs(v) > FLT_MAX)
                FS_FAIL(FS_ERR_DATA, "%s: row %zu, column '%s': '%s' is not a number", path,
                        i + 2, label_column, labels[i]);
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
        if (j != label && j != idcol) FS_TRY(fs_strdup(&ds->feature_names[f++], header[j]));
    FS_TRY(fs_dataset_validate(ds, path));
    *out = ds;
    ds = NULL;
done:
    if (prov) fclose(prov);
    free(provbuf);
    free(idcells);
    free(labels);
    free(header);
    free(cells);
    free(lines);
    free(text);
    fs_dataset_destroy(&ds);
    return rc;
}

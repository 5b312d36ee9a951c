/*
 * fs_csv.c - data layer: the one CSV reader of fedsilo (fs_data_impl.h),
 * used by `import csv` with and without a schema and by `schema draft` and
 * `schema check`.
 *
 * RFC 4180 (Shafranovich 2005) records, read in one pass over the whole file
 * held in memory, unquoting in place (a field never grows when unquoted):
 *
 *   record := field (DELIM field)* (CRLF | LF | EOF)
 *   field  := blanks ( '"' (char | DELIM | CR | LF | '""')* '"' | char* ) blanks
 *
 * Two deliberate differences from the RFC: blanks around a field are
 * dropped (spreadsheets pad cells; a quoted field keeps its inner blanks),
 * and a '"' inside an unquoted field is an ordinary character.  A record
 * made of blanks only is an empty line: ignored at the end of the file, an
 * error before the last record.  Every record must have the header's number
 * of fields.  Rows in messages are 1-based records (header = row 1); the
 * line is added when quoted line breaks make the two differ.
 *
 * No MPI.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fs_data_impl.h"

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

void fs_csv_free(fs_csv *csv)
{
    if (!csv) return;
    free(csv->text);
    free(csv->cells);
    free(csv->line);
    memset(csv, 0, sizeof *csv);
}

/* "row R" or "row R (line L)": record rec (0-based) starting on line. */
static const char *row_name(char *buf, size_t rec, size_t line)
{
    if (line != rec + 1) snprintf(buf, FS_CSV_ROW_CAP, "row %zu (line %zu)", rec + 1, line);
    else snprintf(buf, FS_CSV_ROW_CAP, "row %zu", rec + 1);
    return buf;
}

const char *fs_csv_row(const fs_csv *csv, size_t r, char *buf)
{
    return row_name(buf, r, csv->line && r < csv->nrec ? csv->line[r] : r + 1);
}

/* Growable array of cell pointers and record start lines. */
typedef struct {
    char **cells;
    size_t ncells, cap;
    size_t *line;
    size_t nrec, lcap;
} csv_acc;

static fs_err push_cell(csv_acc *a, char *cell, const char *path)
{
    if (a->ncells == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 1024;
        char **p = realloc(a->cells, nc * sizeof *p);
        if (!p) return fs_error_set(FS_ERR_NOMEM, "out of memory parsing %s", path);
        a->cells = p;
        a->cap = nc;
    }
    a->cells[a->ncells++] = cell;
    return FS_OK;
}

static fs_err push_record(csv_acc *a, size_t line, const char *path)
{
    if (a->nrec == a->lcap) {
        size_t nc = a->lcap ? a->lcap * 2 : 256;
        size_t *p = realloc(a->line, nc * sizeof *p);
        if (!p) return fs_error_set(FS_ERR_NOMEM, "out of memory parsing %s", path);
        a->line = p;
        a->lcap = nc;
    }
    a->line[a->nrec++] = line;
    return FS_OK;
}

fs_err fs_csv_read(const char *path, char delim, fs_csv *csv)
{
    fs_err rc = FS_OK;
    char *text = NULL;
    size_t len = 0, line = 1;
    size_t blank_row = 0;        /* 1-based row of the first empty line, 0 if none */
    csv_acc a;
    char rowbuf[FS_CSV_ROW_CAP];

    memset(&a, 0, sizeof a);
    memset(csv, 0, sizeof *csv);
    if (delim == 0) delim = ',';
    FS_CHECK_ARG(path != NULL, "fs_csv_read: NULL path");
    const int tab_is_blank = delim != '\t';
#define IS_BLANK(c) ((c) == ' ' || ((c) == '\t' && tab_is_blank))

    FS_TRY(slurp(path, &text, &len));
    if (len != strlen(text)) FS_FAIL(FS_ERR_DATA, "%s: contains a NUL byte (not a text file)", path);

    char *r = text;
    if ((unsigned char)r[0] == 0xEF && (unsigned char)r[1] == 0xBB && (unsigned char)r[2] == 0xBF)
        r += 3;
    while (*r) {
        const size_t rec = a.nrec;          /* 0-based index of this record */
        const size_t rec_line = line;
        const size_t first = a.ncells;

        /* An empty line (blanks only): skipped, but only at the end. */
        char *s = r;
        while (IS_BLANK(*s)) s++;
        if (*s == '\r' && (s[1] == '\n' || s[1] == '\0')) s++;
        if (*s == '\n' || *s == '\0') {
            if (!blank_row) blank_row = rec + 1;
            if (*s == '\n') {
                s++;
                line++;
            }
            r = s;
            continue;
        }
        if (blank_row) FS_FAIL(FS_ERR_DATA, "%s: row %zu is empty", path, blank_row);

        for (;;) {
            char sep;
            while (IS_BLANK(*r)) r++;
            if (*r == '"') {
                /* Quoted: unquote in place from the opening quote on. */
                char *w = r, *start = r;
                r++;
                for (;;) {
                    if (*r == '\0')
                        FS_FAIL(FS_ERR_DATA, "%s: %s: unterminated quoted field", path,
                                row_name(rowbuf, rec, rec_line));
                    if (*r == '"') {
                        if (r[1] == '"') {
                            *w++ = '"';
                            r += 2;
                            continue;
                        }
                        r++;
                        break;
                    }
                    if (*r == '\n') line++;
                    *w++ = *r++;
                }
                while (IS_BLANK(*r)) r++;
                if (*r == '\r' && (r[1] == '\n' || r[1] == '\0')) r++;
                if (*r != delim && *r != '\n' && *r != '\0')
                    FS_FAIL(FS_ERR_DATA, "%s: %s: unexpected text after a closing quote", path,
                            row_name(rowbuf, rec, rec_line));
                sep = *r;
                *w = '\0';   /* w < r: the quotes made room */
                FS_TRY(push_cell(&a, start, path));
            } else {
                char *start = r;
                while (*r != delim && *r != '\n' && *r != '\0') r++;
                char *e = r;
                if (*r != delim && e > start && e[-1] == '\r') e--;   /* CRLF */
                while (e > start && IS_BLANK(e[-1])) e--;
                sep = *r;
                *e = '\0';
                FS_TRY(push_cell(&a, start, path));
            }
            if (sep == '\0') break;
            r++;   /* past the delimiter or the line feed */
            if (sep == '\n') {
                line++;
                break;
            }
        }
        const size_t got = a.ncells - first;
        if (rec == 0)
            csv->ncols = got;
        else if (got != csv->ncols)
            FS_FAIL(FS_ERR_DATA, "%s: %s has %zu fields, header has %zu%s", path,
                    row_name(rowbuf, rec, rec_line), got, csv->ncols,
                    csv->ncols == 1 ? " (a one-field header: is the delimiter right? see "
                                      "--delimiter)" : "");
        FS_TRY(push_record(&a, rec_line, path));
    }
#undef IS_BLANK
    if (a.nrec == 0) FS_FAIL(FS_ERR_DATA, "%s: empty file (a header row is required)", path);
    csv->text = text;
    csv->cells = a.cells;
    csv->line = a.line;
    csv->nrec = a.nrec;
    text = NULL;
    a.cells = NULL;
    a.line = NULL;
done:
    if (rc != FS_OK) memset(csv, 0, sizeof *csv);
    free(a.cells);
    free(a.line);
    free(text);
    return rc;
}

// ---------------------------------------------------------------- helpers

const char *fs_csv_header_hint(const fs_csv *csv, char delim)
{
    static _Thread_local char hint[160];
    static const char cands[] = ",;\t|";
    hint[0] = '\0';
    if (delim == 0) delim = ',';
    if (!csv || csv->ncols != 1 || csv->nrec == 0) return hint;
    const char *h = fs_csv_cell(csv, 0, 0);
    for (const char *c = cands; *c; c++) {
        if (*c == delim || !strchr(h, *c)) continue;
        const char *shown = *c == '\t' ? "\\t" : (char[2]){ *c, 0 };
        snprintf(hint, sizeof hint, " (the header is one field containing '%s': is the file "
                 "'%s'-separated? use --delimiter '%s')", shown, shown, shown);
        break;
    }
    return hint;
}

fs_err fs_csv_find_column(const fs_csv *csv, const char *path, char delim, const char *want,
                          size_t *col)
{
    for (size_t j = 0; j < csv->ncols; j++)
        if (strcmp(fs_csv_cell(csv, 0, j), want) == 0) {
            *col = j;
            return FS_OK;
        }
    char cols[256] = "";
    size_t used = 0;
    for (size_t j = 0; j < csv->ncols && used < sizeof cols; j++)
        used += (size_t)snprintf(cols + used, sizeof cols - used, "%s'%s'", j ? ", " : "",
                                 fs_csv_cell(csv, 0, j));
    return fs_error_set(FS_ERR_DATA, "%s: no column named '%s' in the header (columns: %s)%s",
                        path, want, cols, fs_csv_header_hint(csv, delim));
}

fs_err fs_csv_check_header(const fs_csv *csv, const char *path)
{
    fs_err rc = FS_OK;
    char **names = NULL;   /* (ncols) the header cells, for fs_ids_find_repeat */
    int found = 0;
    size_t a = 0, b = 0;
    /* A repeated name would make the second column of that name silently
     * a feature (e.g. a second label column: label leakage). */
    FS_TRY(fs_alloc(&names, csv->ncols, sizeof *names, "CSV header"));
    for (size_t j = 0; j < csv->ncols; j++) names[j] = csv->cells[j];
    FS_TRY(fs_ids_find_repeat(names, csv->ncols, &found, &a, &b));
    if (found)
        FS_FAIL(FS_ERR_DATA, "%s: column '%s' appears more than once in the header (columns %zu "
                "and %zu)", path, names[a], a + 1, b + 1);
done:
    free(names);
    return rc;
}

fs_err fs_csv_check_ids(const fs_csv *csv, const char *path, size_t col)
{
    fs_err rc = FS_OK;
    char **ids = NULL;   /* (n) the id cells, borrowed from csv */
    const size_t n = csv->nrec - 1;
    const char *name = fs_csv_cell(csv, 0, col);
    char rowbuf[FS_CSV_ROW_CAP], rowbuf2[FS_CSV_ROW_CAP], q[FS_QUOTE_CAP];
    int found = 0;
    size_t a = 0, b = 0;

    FS_TRY(fs_alloc(&ids, n, sizeof *ids, "CSV ids"));
    for (size_t i = 0; i < n; i++) {
        ids[i] = csv->cells[(i + 1) * csv->ncols + col];
        if (!ids[i][0])
            FS_FAIL(FS_ERR_DATA, "%s: %s, column '%s': empty id", path,
                    fs_csv_row(csv, i + 1, rowbuf), name);
        for (const unsigned char *c = (const unsigned char *)ids[i]; *c; c++)
            if (*c == ',' || *c < 0x20 || *c == 0x7f)
                FS_FAIL(FS_ERR_DATA, "%s: %s, column '%s': id '%s' contains a %s (ids are "
                        "any text without commas or control characters)", path,
                        fs_csv_row(csv, i + 1, rowbuf), name, fs_quote_value(ids[i], q),
                        *c == ',' ? "comma" : "control character");
    }
    FS_TRY(fs_ids_find_repeat(ids, n, &found, &a, &b));
    if (found)
        FS_FAIL(FS_ERR_DATA, "%s: %s, column '%s': duplicate id '%s' (first in %s)", path,
                fs_csv_row(csv, b + 1, rowbuf), name, fs_quote_value(ids[b], q),
                fs_csv_row(csv, a + 1, rowbuf2));
done:
    free(ids);
    return rc;
}

int fs_csv_parse_number(const char *s, double *v)
{
    char *end;
    if (*s == '\0') return -1;
    errno = 0;
    *v = strtod(s, &end);
    if (*end != '\0' || end == s) return -1;
    if (!isfinite(*v)) return -1;
    return 0;
}

const char *fs_quote_value(const char *s, char *buf)
{
    size_t n = 0;
    const size_t keep = FS_QUOTE_CAP - 12;   /* room for "..." and the NUL */
    for (; s && s[n] && n < keep; n++)
        buf[n] = ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] == 0x7f) ? '?' : s[n];
    if (s && s[n]) {
        /* Do not cut a UTF-8 sequence in half. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
        memcpy(buf + n, "...", 4);
    } else {
        buf[n] = '\0';
    }
    return buf;
}

fs_err fs_csv_delimiter_check(char d)
{
    const unsigned char c = (unsigned char)d;
    if (c == '\t' || (c > 0x20 && c < 0x7f && !isalnum(c) && c != '"')) return FS_OK;
    return fs_error_set(FS_ERR_ARG, "a CSV delimiter must be one punctuation character or a tab "
                        "(not a letter, digit, blank, quote or line break)");
}

fs_err fs_csv_delimiter_parse(const char *s, char *out)
{
    static const struct { const char *name; char c; } named[] = {
        { "comma", ',' }, { "semicolon", ';' }, { "tab", '\t' }, { "\\t", '\t' }, { "pipe", '|' },
    };
    if (!s || !out) return fs_error_set(FS_ERR_ARG, "fs_csv_delimiter_parse: NULL argument");
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcmp(s, named[i].name) == 0) {
            *out = named[i].c;
            return FS_OK;
        }
    if (s[0] && !s[1] && fs_csv_delimiter_check(s[0]) == FS_OK) {
        *out = s[0];
        return FS_OK;
    }
    char q[FS_QUOTE_CAP];
    return fs_error_set(FS_ERR_ARG, "'%s' is not a CSV delimiter (use one punctuation character "
                        "such as ',' ';' '|', or tab, comma, semicolon, pipe)",
                        fs_quote_value(s, q));
}

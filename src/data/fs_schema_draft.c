/*
 * fs_schema_draft.c - data layer: `fedsilo schema draft`, a first schema
 * from one institution's CSV file, for people to review and merge
 * (fedsilo/fs_schema.h, fs_schema_draft).
 *
 * Inference, per column, over the cells that are not missing tokens:
 *   every cell a number          -> numeric (impute = mean)
 *   otherwise, <= max_categories -> categorical, the distinct values sorted
 *   otherwise                    -> ignore (free text or an identifier)
 *   no cell at all               -> ignore
 * The label: text -> classification with the sorted classes; numbers with
 * at most max_numeric_classes distinct values -> classification (numeric
 * order), else regression.  Cells such as "nan", "NULL" or "-" in an
 * otherwise numeric column are taken as missing tokens of that column (its
 * own missing = list).
 *
 * What the draft says about this site's data (observed ranges, missing
 * counts, rare categories) is written only in comments marked "private",
 * for the reviewer: a value seen at one site is that site's data.  The text
 * is parsed back with fs_schema_parse before it is written, so a draft is
 * always a valid schema.
 *
 * No MPI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "fs_data_impl.h"
#include "fedsilo/fs_file.h"
#include "fs_h5_impl.h"

#define RARE_COUNT 5           /* categories seen fewer times are flagged as rare */
#define LIST_LINE 150          /* list items per output line, in bytes, before "+=" */

static const char *const base_missing[] = { "", "NA", "N/A", "NaN", "null", "?" };
#define NBASE (sizeof base_missing / sizeof base_missing[0])
/* Further cells that mean "missing" when they appear in a numeric column. */
static const char *const extra_missing[] = { "nan", "NAN", "na", "n/a", "NULL", "Null", "None",
                                             "none", "-", ".", "#N/A", "missing" };
#define NEXTRA (sizeof extra_missing / sizeof extra_missing[0])

void fs_schema_draft_opts_default(fs_schema_draft_opts *o)
{
    if (!o) return;
    o->label_column = NULL;
    o->id_column = NULL;
    o->delimiter = ',';
    o->max_categories = 50;
    o->max_numeric_classes = 10;
}

static long token_index(const char *const *v, size_t n, const char *cell)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], cell)) return (long)i;
    return -1;
}

/* Bytes of s written as a list item (put_item: quotes doubled inside quotes). */
static size_t item_bytes(const char *s)
{
    size_t n = strlen(s) + 2;
    for (const char *c = s; *c; c++) n += *c == '"';
    return n;
}

/* Can s appear in a schema list item (quoted if need be) on one line? */
static int listable(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) return 0;
        /* libinih cuts a line at " ;" (an inline comment), even in quotes */
        if (*c == ';' && c > (const unsigned char *)s && (c[-1] == ' ' || c[-1] == '\t')) return 0;
    }
    return item_bytes(s) <= LIST_LINE;
}

/* Can s be the NAME of a [column NAME] header? */
static int nameable(const char *s)
{
    if (!s[0] || s[0] == ' ' || s[0] == ';' || !listable(s) || strchr(s, ']') ||
        strlen(s) > 120)
        return 0;
    return s[strlen(s) - 1] != ' ';
}

/* Print item to f as a list item: bare, or in double quotes when it has
 * commas, quotes, outer blanks, a leading ';' or is empty. */
static void put_item(FILE *f, const char *s)
{
    size_t n = strlen(s);
    int quote = n == 0 || strpbrk(s, ",\"") || s[0] == ' ' || s[0] == '\t' || s[0] == ';' ||
                s[n - 1] == ' ' || s[n - 1] == '\t';
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *c = s; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

/* "key = a, b, c" with "key += ..." continuation lines (the INI line limit). */
static void put_list(FILE *f, const char *key, char *const *items, size_t n)
{
    size_t used = 0;
    fprintf(f, "%s =", key);
    for (size_t i = 0; i < n; i++) {
        size_t w = item_bytes(items[i]) + 2;
        if (used > 0 && used + w > LIST_LINE) {
            fprintf(f, "\n%s +=", key);
            used = 0;
        } else if (used > 0) {
            fputc(',', f);
        }
        fputc(' ', f);
        put_item(f, items[i]);
        used += w;
    }
    fputc('\n', f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_num(const void *a, const void *b)
{
    double x = 0, y = 0;
    fs_csv_parse_number(*(char *const *)a, &x);
    fs_csv_parse_number(*(char *const *)b, &y);
    return (x > y) - (x < y);
}

/* What one column looks like. */
typedef struct {
    size_t present;       /* cells that are not missing tokens */
    size_t missing;       /* cells equal to a base missing token */
    size_t extra;         /* cells equal to an extra missing token */
    int all_number;       /* every present cell is a number (extra tokens aside) */
    double lo, hi;        /* range of the numbers */
    char **distinct;      /* (ndistinct) sorted distinct present values (borrowed) */
    size_t *count;        /* (ndistinct) */
    size_t ndistinct;
    size_t seen_extra[NEXTRA];   /* cells equal to each extra token */
} col_stats;

/* Tally column j: missing tokens (counted into seen_base[]), numbers,
 * distinct values; with use_extra the extra tokens are missing too. */
static fs_err scan_column(const fs_csv *csv, size_t j, col_stats *cs, size_t *seen_base,
                          int use_extra)
{
    fs_err rc = FS_OK;
    const size_t n = csv->nrec - 1;
    char **vals = NULL;   /* (present) present cells, borrowed */
    size_t nv = 0;

    memset(cs, 0, sizeof *cs);
    cs->all_number = 1;
    cs->lo = INFINITY;
    cs->hi = -INFINITY;
    FS_TRY(fs_alloc(&vals, n ? n : 1, sizeof *vals, "draft column"));
    for (size_t i = 0; i < n; i++) {
        const char *cell = fs_csv_cell(csv, i + 1, j);
        long t = token_index(base_missing, NBASE, cell);
        if (t >= 0) {
            cs->missing++;
            seen_base[t]++;
            continue;
        }
        t = use_extra ? token_index(extra_missing, NEXTRA, cell) : -1;
        if (t >= 0) {
            cs->extra++;
            cs->seen_extra[t]++;
            continue;
        }
        double v;
        if (fs_csv_parse_number(cell, &v) == 0) {
            if (v < cs->lo) cs->lo = v;
            if (v > cs->hi) cs->hi = v;
        } else {
            cs->all_number = 0;
        }
        vals[nv++] = (char *)cell;
    }
    cs->present = nv;
    qsort(vals, nv, sizeof *vals, cmp_str);
    FS_TRY(fs_alloc(&cs->count, nv ? nv : 1, sizeof *cs->count, "draft column"));
    for (size_t i = 0; i < nv; i++) {
        if (cs->ndistinct && !strcmp(vals[cs->ndistinct - 1], vals[i])) {
            cs->count[cs->ndistinct - 1]++;
            continue;
        }
        vals[cs->ndistinct] = vals[i];
        cs->count[cs->ndistinct++] = 1;
    }
    cs->distinct = vals;
    vals = NULL;
done:
    free(vals);
    return rc;
}

static void free_stats(col_stats *cs)
{
    free(cs->distinct);
    free(cs->count);
    memset(cs, 0, sizeof *cs);
}

/* The comment on what this site holds (private). */
static void put_private(FILE *f, const col_stats *cs, size_t n, int numeric)
{
    fprintf(f, "; private (this site's data, review before sharing): %zu of %zu cells missing",
            cs->missing + cs->extra, n);
    if (numeric && cs->present) fprintf(f, "; observed min %.10g, max %.10g", cs->lo, cs->hi);
    fputc('\n', f);
}

/* The label section; FS_ERR_DATA for a label that cannot make a schema. */
static fs_err put_label(FILE *f, const char *path, const char *name, const col_stats *cs,
                        size_t n, const fs_schema_draft_opts *o)
{
    fs_err rc = FS_OK;
    char q[FS_QUOTE_CAP];
    if (cs->ndistinct == 0)
        FS_FAIL(FS_ERR_DATA, "%s: label column '%s' has no value that is not a missing token",
                path, name);
    if (cs->all_number && cs->ndistinct > o->max_numeric_classes) {
        fprintf(f, "kind = label\ntype = numeric\n");
        fprintf(f, "; regression: %zu distinct numeric labels (more than %zu); for classification "
                "list classes = ... instead of type\n", cs->ndistinct, o->max_numeric_classes);
        fprintf(f, "; range = lo:hi   ; optional valid range of the target\n");
        put_private(f, cs, n, 1);
        goto done;
    }
    if (cs->ndistinct < 2)
        FS_FAIL(FS_ERR_DATA, "%s: label column '%s' has a single value ('%s') in this file: a "
                "schema needs the consortium's classes (at least 2); draft from a file with "
                "more classes, or write [column %s] by hand", path, name,
                fs_quote_value(cs->distinct[0], q), name);
    for (size_t i = 0; i < cs->ndistinct; i++)
        if (!listable(cs->distinct[i]))
            FS_FAIL(FS_ERR_DATA, "%s: label '%s' of column '%s' cannot be written in a schema "
                    "(line break, control character, ' ;' or longer than %d bytes)", path,
                    fs_quote_value(cs->distinct[i], q), name, LIST_LINE);
    char **classes = cs->distinct;
    if (cs->all_number) qsort(classes, cs->ndistinct, sizeof *classes, cmp_num);
    fprintf(f, "kind = label\n");
    fprintf(f, "; classification: %zu distinct %s labels, in %s order.  The order fixes the "
            "class\n; numbers (the first is class 0): every site must use the same list.\n",
            cs->ndistinct, cs->all_number ? "numeric" : "text", cs->all_number ? "numeric"
                                                                                : "sorted");
    if (cs->all_number)
        fprintf(f, "; (%zu or fewer distinct numbers are drafted as classes; for regression "
                "write type = numeric instead)\n", o->max_numeric_classes);
    put_list(f, "classes", classes, cs->ndistinct);
    if (cs->missing + cs->extra)
        fprintf(f, "; private: %zu rows have a missing label here; import refuses them\n",
                cs->missing + cs->extra);
done:
    return rc;
}

/* A feature column's section. */
static void put_feature(FILE *f, const char *name, const col_stats *cs, size_t n,
                        const fs_schema_draft_opts *o)
{
    (void)name;
    if (cs->present == 0) {
        fprintf(f, "kind = ignore\n; every cell of this column is missing here\n");
        return;
    }
    if (cs->all_number) {
        fprintf(f, "kind = numeric\n");
        fprintf(f, "impute = mean          ; mean | median | constant:V | indicator | none\n");
        if (cs->extra) {
            const char *tokens[NBASE + NEXTRA];
            size_t nt = 0;
            for (size_t t = 0; t < NBASE; t++) tokens[nt++] = base_missing[t];
            for (size_t t = 0; t < NEXTRA; t++)
                if (cs->seen_extra[t]) tokens[nt++] = extra_missing[t];
            fprintf(f, "; this column also marks missing cells with other tokens (all its other "
                    "cells are numbers):\n");
            put_list(f, "missing", (char *const *)tokens, nt);
        }
        fprintf(f, "; range = lo:hi        ; optional valid range agreed by the consortium "
                "(public)\n");
        put_private(f, cs, n, 1);
        return;
    }
    int ok = 1;
    for (size_t i = 0; i < cs->ndistinct && ok; i++) ok = listable(cs->distinct[i]);
    if (cs->ndistinct > o->max_categories || !ok) {
        fprintf(f, "kind = ignore\n");
        if (!ok)
            fprintf(f, "; some values cannot be listed in a schema (line breaks, control "
                    "characters, ' ;', or longer than %d bytes)\n", LIST_LINE);
        else
            fprintf(f, "; %zu distinct text values (more than %zu): free text or an identifier? "
                    "kind = id for a record id,\n; or categorical with the consortium's list "
                    "(--max-categories)\n", cs->ndistinct, o->max_categories);
        put_private(f, cs, n, 0);
        return;
    }
    fprintf(f, "kind = categorical\n");
    fprintf(f, "; %zu categories seen here, sorted; the one-hot features follow this order.\n"
            "; Merge the lists of all sites (same order everywhere).\n", cs->ndistinct);
    put_list(f, "categories", cs->distinct, cs->ndistinct);
    fprintf(f, "unknown = error        ; error | other (an extra %s=(other) feature)\n", name);
    fprintf(f, "impute = mode          ; mode | indicator | none\n");
    put_private(f, cs, n, 0);
    size_t nrare = 0;
    for (size_t i = 0; i < cs->ndistinct; i++) nrare += cs->count[i] < RARE_COUNT;
    if (nrare) {
        fprintf(f, "; private: %zu categor%s seen fewer than %d times here (rare values can "
                "identify people;\n; consider merging them before sharing):", nrare,
                nrare == 1 ? "y" : "ies", RARE_COUNT);
        fprintf(f, "\n; private:");
        size_t used = 10, k = 0;
        for (size_t i = 0; i < cs->ndistinct; i++) {
            if (cs->count[i] >= RARE_COUNT) continue;
            if (used + item_bytes(cs->distinct[i]) + 2 > 180) {   /* the INI line limit */
                fprintf(f, "%s ...", k ? "," : "");
                break;
            }
            fputs(k++ ? ", " : " ", f);
            put_item(f, cs->distinct[i]);
            used += item_bytes(cs->distinct[i]) + 2;
        }
        fputc('\n', f);
    }
}

typedef struct { const char *text; size_t len; } text_buf;

static fs_err put_text(FILE *f, void *user)
{
    const text_buf *t = user;
    if (fwrite(t->text, 1, t->len, f) != t->len)
        return fs_error_set(FS_ERR_IO, "cannot write: %s", strerror(errno));
    return FS_OK;
}

/* Write text to path durably (fs_file_publish: temporary file, fsync, rename). */
static fs_err write_text_file(const char *path, const char *text, size_t len)
{
    text_buf t = { text, len };
    return fs_file_publish(path, put_text, &t);
}

fs_err fs_schema_draft(const char *csv_path, const fs_schema_draft_opts *o, const char *out_path)
{
    fs_err rc = FS_OK;
    fs_csv csv;
    col_stats *stats = NULL;      /* (ncols) */
    size_t seen_base[NBASE] = { 0 };
    size_t label = SIZE_MAX, idcol = SIZE_MAX, n = 0, H = 0, unnamed = 0;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = NULL;
    fs_schema *check = NULL;
    char q[FS_QUOTE_CAP];

    memset(&csv, 0, sizeof csv);
    FS_CHECK_ARG(csv_path && o && out_path, "fs_schema_draft: NULL argument");
    FS_CHECK_ARG(o->label_column != NULL, "schema draft: a label column is required");
    FS_CHECK_ARG(!o->id_column || strcmp(o->id_column, o->label_column) != 0,
                 "schema draft: the label column and the id column are both '%s'",
                 o->label_column);
    const char delim = o->delimiter ? o->delimiter : ',';
    FS_TRY(fs_csv_delimiter_check(delim));
    FS_TRY(fs_csv_read(csv_path, delim, &csv));
    H = csv.ncols;
    n = csv.nrec - 1;
    FS_TRY(fs_csv_check_header(&csv, csv_path));
    FS_TRY(fs_csv_find_column(&csv, csv_path, delim, o->label_column, &label));
    if (o->id_column) FS_TRY(fs_csv_find_column(&csv, csv_path, delim, o->id_column, &idcol));
    if (n == 0) FS_FAIL(FS_ERR_DATA, "%s: no data rows after the header", csv_path);
    if (!nameable(o->label_column))
        FS_FAIL(FS_ERR_DATA, "%s: the label column's name '%s' cannot be written in a schema",
                csv_path, fs_quote_value(o->label_column, q));

    /* Extra tokens count as missing only where they make a column numeric. */
    FS_TRY(fs_zalloc(&stats, H, sizeof *stats, "draft columns"));
    for (size_t j = 0; j < H; j++) {
        size_t sb[NBASE] = { 0 };
        FS_TRY(scan_column(&csv, j, &stats[j], sb, 1));
        if (j == label || j == idcol || !stats[j].all_number || stats[j].extra == 0) {
            /* Rescan without the extra tokens: they are values of this column. */
            free_stats(&stats[j]);
            memset(sb, 0, sizeof sb);
            FS_TRY(scan_column(&csv, j, &stats[j], sb, 0));
        }
        for (size_t t = 0; t < NBASE; t++) seen_base[t] += sb[t];
    }

    f = open_memstream(&text, &tlen);
    if (!f) FS_FAIL(FS_ERR_NOMEM, "out of memory");
    fprintf(f, "; Draft consortium schema from one site's file (fedsilo schema draft: %zu rows, "
            "%zu columns).\n", n, H);
    fprintf(f, "; Review it, merge it with the other sites' drafts (category lists, classes), "
            "agree on one\n; file and give every site the same copy, like the roster.  Lines "
            "marked \"private\" describe\n; this site's data: delete them before the file "
            "leaves the site.  Format: docs/formats.md.\n\n");
    fprintf(f, "[schema]\n; name = my-consortium   ; optional: a name for the agreed schema\n");
    put_list(f, "missing", (char *const *)base_missing, NBASE);
    fprintf(f, "; private: missing tokens seen here:");
    {
        size_t k = 0;
        for (size_t t = 0; t < NBASE; t++)
            if (seen_base[t]) {
                fprintf(f, "%s", k++ ? ", " : " ");
                put_item(f, base_missing[t]);
                fprintf(f, " (%zu cells)", seen_base[t]);
            }
        fprintf(f, "%s\n", k ? "" : " none");
    }
    for (size_t j = 0; j < H; j++) unnamed += !nameable(fs_csv_cell(&csv, 0, j));
    if (unnamed) {
        fprintf(f, "; %zu column name%s of the file cannot be written as [column NAME] "
                "(empty, blanks at the ends, ']', ' ;' or too long): dropped\n", unnamed,
                unnamed == 1 ? "" : "s");
        fprintf(f, "extra_columns = ignore\n");
    } else {
        fprintf(f, "extra_columns = error   ; error | ignore (file columns not listed here)\n");
    }

    for (size_t j = 0; j < H; j++) {
        const char *name = fs_csv_cell(&csv, 0, j);
        if (!nameable(name)) continue;
        fprintf(f, "\n[column %s]\n", name);
        if (j == idcol) {
            fprintf(f, "kind = id               ; record ids (unique, non-empty), not a feature\n");
        } else if (j == label) {
            FS_TRY(put_label(f, csv_path, name, &stats[j], n, o));
        } else {
            put_feature(f, name, &stats[j], n, o);
        }
    }
    if (fclose(f) != 0) {
        f = NULL;
        FS_FAIL(FS_ERR_NOMEM, "out of memory");
    }
    f = NULL;

    /* The draft must itself be a valid schema. */
    FS_TRY(fs_schema_parse(text, tlen, out_path, &check));
    FS_TRY(write_text_file(out_path, text, tlen));
done:
    if (f) fclose(f);
    for (size_t j = 0; stats && j < H; j++) free_stats(&stats[j]);
    free(stats);
    free(text);
    fs_schema_destroy(&check);
    fs_csv_free(&csv);
    return rc;
}

/*
 * fs_schema.c - data layer: the consortium schema (fedsilo/fs_schema.h):
 * parsing and validation of the INI file, the encoded feature list, the
 * canonical hash, and the encoding of one CSV cell (used by import, check
 * and the dataset validator alike, so they can never disagree).
 *
 * Parsing is two-pass like the roster's: fs_ini_parse (core) collects
 * section instances and (key, value, line) entries; build_schema validates
 * them in file order and reports the first problem as "schema FILE:LINE:".
 * The canonical hash, the accessors and the encoding of one cell are in
 * fs_schema_cell.c; the parsed representation is in fs_schema_impl.h.
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

#define SCHEMA_MAX_BYTES (16u << 20)     /* a larger schema file is refused */
#define SCHEMA_MAX_FEATURES 1000000u

static const char *const default_missing[] = { "", "NA", "N/A", "NaN", "null", "?" };
#define NDEFAULT_MISSING (sizeof default_missing / sizeof default_missing[0])

// ---------------------------------------------------------------- lists and values

/*
 * Split a list value into items: comma separated, each trimmed; an item in
 * double quotes keeps its blanks and commas ("" is a literal quote) and may
 * be empty.  An empty unquoted item is refused (a stray comma).  Items are
 * appended to *items (*n of them, growing).
 */
static fs_err parse_list(const char *v, const char *path, int line, const char *key,
                         char ***items, size_t *n)
{
    fs_err rc = FS_OK;
    char *buf = NULL;
    const char *r = v;
    size_t cap = *n;

    FS_TRY(fs_alloc(&buf, strlen(v) + 1, 1, "schema list"));
    for (;;) {
        size_t w = 0;
        int quoted = 0;
        while (*r == ' ' || *r == '\t') r++;
        if (*r == '"') {
            quoted = 1;
            r++;
            for (;;) {
                if (*r == '\0') {
                    rc = fs_ini_fail("schema", path, line, "unterminated quote in '%s'", key);
                    goto done;
                }
                if (*r == '"') {
                    if (r[1] == '"') {
                        buf[w++] = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                buf[w++] = *r++;
            }
            while (*r == ' ' || *r == '\t') r++;
            if (*r != ',' && *r != '\0') {
                rc = fs_ini_fail("schema", path, line, "text after a closing quote in '%s'", key);
                goto done;
            }
        } else {
            const char *s = r;
            while (*r != ',' && *r != '\0') r++;
            const char *e = r;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
            memcpy(buf, s, (size_t)(e - s));
            w = (size_t)(e - s);
        }
        buf[w] = '\0';
        if (!quoted && w == 0) {
            rc = fs_ini_fail("schema", path, line, "empty item in '%s' (a stray comma? write \"\" "
                             "for the empty cell)", key);
            goto done;
        }
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **p = realloc(*items, nc * sizeof *p);
            if (!p) FS_FAIL(FS_ERR_NOMEM, "out of memory reading schema %s", path);
            *items = p;
            cap = nc;
        }
        FS_TRY(fs_strdup(&(*items)[*n], buf));
        (*n)++;
        if (*r == '\0') break;
        r++;   /* past the comma */
    }
done:
    free(buf);
    return rc;
}

/* A whole string as a finite double. */
static int parse_double(const char *s, double *v)
{
    return fs_csv_parse_number(s, v);
}

/* "lo:hi" with either end possibly empty (not both). */
static fs_err parse_range(const char *v, const char *path, int line, column *c)
{
    const char *colon = strchr(v, ':');
    char lo[128], hi[128];
    if (!colon || strchr(colon + 1, ':') || (size_t)(colon - v) >= sizeof lo ||
        strlen(colon + 1) >= sizeof hi)
        return fs_ini_fail("schema", path, line, "range '%s' is not lo:hi (either end may be "
                           "empty, e.g. 0: or :100)", v);
    memcpy(lo, v, (size_t)(colon - v));
    lo[colon - v] = '\0';
    snprintf(hi, sizeof hi, "%s", colon + 1);
    for (char *t = lo + strlen(lo); t > lo && isspace((unsigned char)t[-1]);) *--t = '\0';
    const char *l = lo, *h = hi;
    while (isspace((unsigned char)*l)) l++;
    while (isspace((unsigned char)*h)) h++;
    c->pub.has_lo = *l != '\0';
    c->pub.has_hi = *h != '\0';
    if (!c->pub.has_lo && !c->pub.has_hi)
        return fs_ini_fail("schema", path, line, "range ':' has neither end");
    if ((c->pub.has_lo && parse_double(l, &c->pub.lo) != 0) ||
        (c->pub.has_hi && parse_double(h, &c->pub.hi) != 0))
        return fs_ini_fail("schema", path, line, "range '%s': the ends must be finite numbers", v);
    if (c->pub.has_lo && c->pub.has_hi && c->pub.lo > c->pub.hi)
        return fs_ini_fail("schema", path, line, "range '%s' is empty (lo > hi)", v);
    return FS_OK;
}

/* Text without control characters (names, categories, tokens). */
static int printable(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return 0;
    return 1;
}

// ---------------------------------------------------------------- pass 2: build

static const char *kind_name(fs_column_kind k)
{
    switch (k) {
    case FS_COLUMN_NUMERIC:     return "numeric";
    case FS_COLUMN_CATEGORICAL: return "categorical";
    case FS_COLUMN_LABEL:       return "label";
    case FS_COLUMN_ID:          return "id";
    case FS_COLUMN_IGNORE:      return "ignore";
    }
    return "?";
}

/* Which keys each kind accepts (kind itself always). */
static int key_applies(const char *key, fs_column_kind k)
{
    static const char *const numeric[] = { "impute", "range", "out_of_range", "missing", NULL };
    static const char *const categorical[] = { "categories", "unknown", "impute", "missing", NULL };
    static const char *const label[] = { "classes", "type", "range", "out_of_range", "missing",
                                         NULL };
    const char *const *list = k == FS_COLUMN_NUMERIC ? numeric
                            : k == FS_COLUMN_CATEGORICAL ? categorical
                            : k == FS_COLUMN_LABEL ? label : NULL;
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(key, list[i]) == 0) return 1;
    return 0;
}

static int known_column_key(const char *key)
{
    static const char *const all[] = { "kind", "impute", "range", "out_of_range", "missing",
                                       "categories", "unknown", "classes", "type", NULL };
    for (size_t i = 0; all[i]; i++)
        if (strcmp(key, all[i]) == 0) return 1;
    return 0;
}

static int is_list_key(const char *key)
{
    return strcmp(key, "categories") == 0 || strcmp(key, "classes") == 0 ||
           strcmp(key, "missing") == 0;
}

/* "k +" or "k+" (the key of a "k += v" line) -> 1 and the base key in buf. */
static int append_key(const char *key, char *buf, size_t cap)
{
    size_t n = strlen(key);
    if (n < 2 || key[n - 1] != '+') return 0;
    n--;
    while (n > 0 && (key[n - 1] == ' ' || key[n - 1] == '\t')) n--;
    if (n == 0 || n >= cap) return 0;
    memcpy(buf, key, n);
    buf[n] = '\0';
    return 1;
}

/* If sect is "column NAME", return NAME trimmed (in buf); else NULL. */
static const char *column_name(const char *sect, char *buf, size_t cap)
{
    if (strncmp(sect, "column", 6) != 0 || (sect[6] != ' ' && sect[6] != '\t' && sect[6] != '\0'))
        return NULL;
    const char *s = sect + 6;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Index of item in v[0..n) (byte-wise equal), or -1. */
static long find_item(char *const *v, size_t n, const char *item)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], item) == 0) return (long)i;
    return -1;
}

/* Line of each key of one column section, for messages (0 = absent). */
typedef struct {
    int kind, impute, range, out_of_range, missing, categories, unknown, classes, type;
} key_lines;

static int *key_line_slot(key_lines *kl, const char *key)
{
    if (!strcmp(key, "kind")) return &kl->kind;
    if (!strcmp(key, "impute")) return &kl->impute;
    if (!strcmp(key, "range")) return &kl->range;
    if (!strcmp(key, "out_of_range")) return &kl->out_of_range;
    if (!strcmp(key, "missing")) return &kl->missing;
    if (!strcmp(key, "categories")) return &kl->categories;
    if (!strcmp(key, "unknown")) return &kl->unknown;
    if (!strcmp(key, "classes")) return &kl->classes;
    if (!strcmp(key, "type")) return &kl->type;
    return NULL;
}

/* Parse "impute = ..." for column c of kind k. */
static fs_err parse_impute(const char *v, const char *path, int line, column *c)
{
    const int num = c->pub.kind == FS_COLUMN_NUMERIC;
    if (!strcmp(v, "none")) c->pub.impute = FS_IMPUTE_NONE;
    else if (!strcmp(v, "indicator")) c->pub.impute = FS_IMPUTE_INDICATOR;
    else if (num && !strcmp(v, "mean")) c->pub.impute = FS_IMPUTE_MEAN;
    else if (num && !strcmp(v, "median")) c->pub.impute = FS_IMPUTE_MEDIAN;
    else if (!num && !strcmp(v, "mode")) c->pub.impute = FS_IMPUTE_MODE;
    else if (num && !strncmp(v, "constant:", 9)) {
        const char *x = v + 9;
        while (*x == ' ') x++;
        if (parse_double(x, &c->pub.impute_value) != 0)
            return fs_ini_fail("schema", path, line, "impute '%s': the constant must be a finite "
                               "number (impute = constant:0)", v);
        c->pub.impute = FS_IMPUTE_CONSTANT;
    } else if (num) {
        return fs_ini_fail("schema", path, line, "impute '%s' for a numeric column (expected "
                           "mean, median, constant:V, indicator or none)", v);
    } else {
        return fs_ini_fail("schema", path, line, "impute '%s' for a categorical column "
                           "(expected mode, indicator or none)", v);
    }
    return FS_OK;
}

/* Validate one list of names (categories or classes) of column c. */
static fs_err check_names(const char *path, int line, const column *c, char *const *v, size_t n,
                          const char *what, char *const *miss, size_t nmiss)
{
    for (size_t i = 0; i < n; i++) {
        if (!v[i][0])
            return fs_ini_fail("schema", path, line, "empty %s in [column %s]", what, c->name);
        if (!printable(v[i]))
            return fs_ini_fail("schema", path, line, "%s %zu of [column %s] contains a control "
                               "character", what, i + 1, c->name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(v[k], v[i]) == 0)
                return fs_ini_fail("schema", path, line, "%s '%s' is listed twice in [column %s]",
                                   what, v[i], c->name);
        if (find_item(miss, nmiss, v[i]) >= 0)
            return fs_ini_fail("schema", path, line, "%s '%s' of [column %s] is also a "
                               "missing-value token (set missing = ... for this column)", what,
                               v[i], c->name);
    }
    return FS_OK;
}

/* qsort_r comparator: indices into the string array base. */
static int cmp_index(const void *a, const void *b, void *base)
{
    char *const *v = base;
    return strcmp(v[*(const size_t *)a], v[*(const size_t *)b]);
}

/* Sorted index and numeric class values of c (after its list is final). */
static fs_err index_column(column *c)
{
    fs_err rc = FS_OK;
    if (c->ncats == 0) return FS_OK;
    FS_TRY(fs_alloc(&c->order, c->ncats, sizeof *c->order, "category index"));
    for (size_t i = 0; i < c->ncats; i++) c->order[i] = i;
    qsort_r(c->order, c->ncats, sizeof *c->order, cmp_index, c->cats);
    if (c->pub.kind == FS_COLUMN_LABEL) {
        FS_TRY(fs_alloc(&c->cat_value, c->ncats, sizeof *c->cat_value, "class values"));
        for (size_t i = 0; i < c->ncats; i++)
            if (parse_double(c->cats[i], &c->cat_value[i]) != 0) {
                free(c->cat_value);
                c->cat_value = NULL;
                break;
            }
    }
done:
    return rc;
}

/* Check and complete column c after its section was read. */
static fs_err finish_column(fs_schema *s, column *c, const key_lines *kl, const char *path)
{
    fs_err rc = FS_OK;
    fs_schema_column *p = &c->pub;
    char *const *miss = c->has_own_missing ? c->own_missing : s->missing;
    const size_t nmiss = c->has_own_missing ? c->nown : s->nmissing;

    if (kl->out_of_range && !kl->range)
        return fs_ini_fail("schema", path, kl->out_of_range, "out_of_range in [column %s] "
                           "needs a range", c->name);
    switch (p->kind) {
    case FS_COLUMN_CATEGORICAL:
        if (!kl->categories)
            return fs_ini_fail("schema", path, p->line, "categorical [column %s] has no "
                               "categories", c->name);
        FS_TRY(check_names(path, kl->categories, c, c->cats, c->ncats, "category", miss, nmiss));
        break;
    case FS_COLUMN_LABEL:
        if (kl->classes && kl->type)
            return fs_ini_fail("schema", path, kl->type, "label [column %s] has both classes "
                               "(classification) and type (regression)", c->name);
        if (!kl->classes && !kl->type)
            return fs_ini_fail("schema", path, p->line, "label [column %s] needs classes = A, "
                               "B, ... (classification) or type = numeric (regression)", c->name);
        if (kl->classes) {
            if (kl->range)
                return fs_ini_fail("schema", path, kl->range, "range applies to a regression "
                                   "label (type = numeric), not to classes");
            FS_TRY(check_names(path, kl->classes, c, c->cats, c->ncats, "class", miss, nmiss));
            if (c->ncats < 2)
                return fs_ini_fail("schema", path, kl->classes, "label [column %s] lists %zu "
                                   "class; classification needs at least 2", c->name, c->ncats);
            s->task = FS_TASK_CLASSIFICATION;
        } else {
            s->task = FS_TASK_REGRESSION;
        }
        break;
    default:
        break;
    }
    for (size_t i = 0; i < nmiss; i++)
        if (!printable(miss[i]))
            return fs_ini_fail("schema", path, kl->missing, "missing token %zu contains a "
                               "control character", i + 1);
    FS_TRY(index_column(c));
done:
    return rc;
}

/* Apply one "key = value" line to column c; kl records the lines.  The
 * kind is applied first (column_section), whatever the order of the keys. */
static fs_err column_key(column *c, key_lines *kl, const fs_ini_entry *en, const char *key,
                         int append, const char *path)
{
    fs_err rc = FS_OK;
    const char *v = en->value;
    int *slot = key_line_slot(kl, key);

    if (!slot || !known_column_key(key))
        return fs_ini_fail("schema", path, en->line, "unknown key '%s' in [column %s] (expected "
                           "kind, impute, range, out_of_range, missing, categories, unknown, "
                           "classes or type)", key, c->name);
    if (append) {
        if (!is_list_key(key))
            return fs_ini_fail("schema", path, en->line, "'%s +=' : only the lists categories, "
                               "classes and missing can be continued with +=", key);
        if (!*slot)
            return fs_ini_fail("schema", path, en->line, "'%s +=' without a '%s =' line before "
                               "it in [column %s]", key, key, c->name);
    } else if (*slot) {
        return fs_ini_fail("schema", path, en->line, "duplicate key '%s' in [column %s] (first "
                           "at line %d)", key, c->name, *slot);
    }
    if (strcmp(key, "kind") != 0) {
        if (!key_applies(key, c->pub.kind))
            return fs_ini_fail("schema", path, en->line, "key '%s' does not apply to kind = %s "
                               "(in [column %s]; conflicting kinds?)", key,
                               kind_name(c->pub.kind), c->name);
    }
    if (!append) *slot = en->line;
    if (!v[0] && strcmp(key, "missing") != 0)
        return fs_ini_fail("schema", path, en->line, "empty value for '%s' in [column %s]", key,
                           c->name);

    if (!strcmp(key, "kind")) {
        if (!strcmp(v, "numeric")) c->pub.kind = FS_COLUMN_NUMERIC;
        else if (!strcmp(v, "categorical")) c->pub.kind = FS_COLUMN_CATEGORICAL;
        else if (!strcmp(v, "label")) c->pub.kind = FS_COLUMN_LABEL;
        else if (!strcmp(v, "id")) c->pub.kind = FS_COLUMN_ID;
        else if (!strcmp(v, "ignore")) c->pub.kind = FS_COLUMN_IGNORE;
        else
            return fs_ini_fail("schema", path, en->line, "unknown kind '%s' in [column %s] "
                               "(numeric, categorical, label, id or ignore)", v, c->name);
        c->pub.impute = c->pub.kind == FS_COLUMN_NUMERIC ? FS_IMPUTE_MEAN
                      : c->pub.kind == FS_COLUMN_CATEGORICAL ? FS_IMPUTE_MODE : FS_IMPUTE_NONE;
    } else if (!strcmp(key, "impute")) {
        FS_TRY(parse_impute(v, path, en->line, c));
    } else if (!strcmp(key, "range")) {
        FS_TRY(parse_range(v, path, en->line, c));
    } else if (!strcmp(key, "out_of_range")) {
        if (!strcmp(v, "clip")) c->pub.clip = 1;
        else if (!strcmp(v, "error")) c->pub.clip = 0;
        else return fs_ini_fail("schema", path, en->line, "out_of_range '%s' (expected error or "
                                "clip)", v);
    } else if (!strcmp(key, "unknown")) {
        if (!strcmp(v, "other")) c->pub.unknown_other = 1;
        else if (!strcmp(v, "error")) c->pub.unknown_other = 0;
        else return fs_ini_fail("schema", path, en->line, "unknown '%s' (expected error or "
                                "other)", v);
    } else if (!strcmp(key, "type")) {
        if (strcmp(v, "numeric") != 0)
            return fs_ini_fail("schema", path, en->line, "label type '%s' (the only type is "
                               "numeric, for regression; list classes = ... for "
                               "classification)", v);
    } else if (!strcmp(key, "missing")) {
        c->has_own_missing = 1;
        if (v[0]) FS_TRY(parse_list(v, path, en->line, key, &c->own_missing, &c->nown));
    } else {   /* categories, classes */
        FS_TRY(parse_list(v, path, en->line, key, &c->cats, &c->ncats));
    }
done:
    return rc;
}

/* [schema] keys. */
static fs_err schema_key(fs_schema *s, const fs_ini_entry *en, const char *key, int append,
                         int *lines, const char *path)
{
    fs_err rc = FS_OK;
    const char *v = en->value;
    int k = !strcmp(key, "name") ? 0 : !strcmp(key, "missing") ? 1
          : !strcmp(key, "extra_columns") ? 2 : -1;
    if (k < 0)
        return fs_ini_fail("schema", path, en->line, "unknown key '%s' in [schema] (expected "
                           "name, missing, extra_columns)", key);
    if (append && k != 1)
        return fs_ini_fail("schema", path, en->line, "'%s +=': only missing can be continued "
                           "with += in [schema]", key);
    if (append && !lines[k])
        return fs_ini_fail("schema", path, en->line, "'missing +=' without a 'missing =' line "
                           "before it");
    if (!append && lines[k])
        return fs_ini_fail("schema", path, en->line, "duplicate key '%s' in [schema] (first at "
                           "line %d)", key, lines[k]);
    if (!append) lines[k] = en->line;
    if (k == 0) {
        if (!v[0] || !printable(v))
            return fs_ini_fail("schema", path, en->line, "name must be non-empty printable text");
        FS_TRY(fs_strdup(&s->title, v));
    } else if (k == 1) {
        if (!append) {
            fs_strv_free(s->missing, s->nmissing);
            s->missing = NULL;
            s->nmissing = 0;
        }
        if (v[0]) FS_TRY(parse_list(v, path, en->line, key, &s->missing, &s->nmissing));
    } else {
        if (!strcmp(v, "ignore")) s->extra_ignore = 1;
        else if (!strcmp(v, "error")) s->extra_ignore = 0;
        else return fs_ini_fail("schema", path, en->line, "extra_columns '%s' (expected error "
                                "or ignore)", v);
    }
done:
    return rc;
}

/* Append feature (name owned by the schema afterwards). */
static fs_err add_feature(fs_schema *s, size_t *cap, char *name, fs_feature_kind kind, size_t col,
                          size_t cat)
{
    if (s->nfeat == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        fs_schema_feature *f = realloc(s->feats, nc * sizeof *f);
        if (!f) { free(name); return fs_error_set(FS_ERR_NOMEM, "out of memory (schema features)"); }
        s->feats = f;
        char **nm = realloc(s->feat_names, nc * sizeof *nm);
        if (!nm) { free(name); return fs_error_set(FS_ERR_NOMEM, "out of memory (schema features)"); }
        s->feat_names = nm;
        *cap = nc;
    }
    s->feat_names[s->nfeat] = name;
    s->feats[s->nfeat] = (fs_schema_feature){ NULL, kind, col, cat };
    s->nfeat++;
    return FS_OK;
}

static fs_err featuref(fs_schema *s, size_t *cap, fs_feature_kind kind, size_t col, size_t cat,
                       const char *fmt, ...) FS_PRINTF(6, 7);
static fs_err featuref(fs_schema *s, size_t *cap, fs_feature_kind kind, size_t col, size_t cat,
                       const char *fmt, ...)
{
    char *name = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&name, fmt, ap);
    va_end(ap);
    if (r < 0) return fs_error_set(FS_ERR_NOMEM, "out of memory (schema features)");
    return add_feature(s, cap, name, kind, col, cat);
}

/* The encoded features of every column, and their uniqueness. */
static fs_err build_features(fs_schema *s, const char *path)
{
    fs_err rc = FS_OK;
    size_t cap = 0;
    int found = 0;
    size_t a = 0, b = 0;

    for (size_t i = 0; i < s->ncols; i++) {
        column *c = &s->cols[i];
        c->pub.first_feature = s->nfeat;
        if (c->pub.kind == FS_COLUMN_NUMERIC) {
            FS_TRY(featuref(s, &cap, FS_FEATURE_NUMERIC, i, SIZE_MAX, "%s", c->name));
        } else if (c->pub.kind == FS_COLUMN_CATEGORICAL) {
            for (size_t k = 0; k < c->ncats; k++)
                FS_TRY(featuref(s, &cap, FS_FEATURE_CATEGORY, i, k, "%s=%s", c->name, c->cats[k]));
            if (c->pub.unknown_other)
                FS_TRY(featuref(s, &cap, FS_FEATURE_OTHER, i, SIZE_MAX, "%s=(other)", c->name));
        } else {
            continue;
        }
        if (c->pub.impute == FS_IMPUTE_INDICATOR)
            FS_TRY(featuref(s, &cap, FS_FEATURE_MISSING, i, SIZE_MAX, "%s_missing", c->name));
        c->pub.nfeatures = s->nfeat - c->pub.first_feature;
        if (s->nfeat > SCHEMA_MAX_FEATURES)
            FS_FAIL(FS_ERR_DATA, "schema %s: more than %u encoded features", path,
                    SCHEMA_MAX_FEATURES);
    }
    if (s->nfeat == 0)
        FS_TRY(fs_ini_fail("schema", path, 0, "no feature columns (kind = numeric or "
                           "categorical)"));
    for (size_t j = 0; j < s->nfeat; j++) s->feats[j].name = s->feat_names[j];
    FS_TRY(fs_ids_find_repeat(s->feat_names, s->nfeat, &found, &a, &b));
    if (found) {
        const column *ca = &s->cols[s->feats[a].column], *cb = &s->cols[s->feats[b].column];
        FS_TRY(fs_ini_fail("schema", path, cb->pub.line, "[column %s] and [column %s] (line %d) "
                           "both encode to the feature '%s'", cb->name, ca->name, ca->pub.line,
                           s->feat_names[a]));
    }
done:
    return rc;
}

static fs_err build_schema(fs_schema *s, const fs_ini_doc *doc, const char *path)
{
    fs_err rc = FS_OK;
    int schema_line = 0, slines[3] = { 0, 0, 0 };
    key_lines *kls = NULL;    /* (nsects) key lines of each column section */
    char nbuf[256], kbuf[64];

    s->label = s->id = -1;
    s->task = FS_TASK_CLASSIFICATION;
    FS_TRY(fs_zalloc(&s->cols, (size_t)doc->nsects, sizeof *s->cols, "schema columns"));
    FS_TRY(fs_zalloc(&kls, (size_t)doc->nsects, sizeof *kls, "schema columns"));
    FS_TRY(fs_strv_dup(&s->missing, (char *const *)default_missing, NDEFAULT_MISSING));
    s->nmissing = NDEFAULT_MISSING;

    for (int si = 0; si < doc->nsects; si++) {
        const fs_ini_section *sec = &doc->sects[si];
        column *c = NULL;
        key_lines *kl = NULL;
        if (!strcmp(sec->name, "schema")) {
            if (schema_line)
                FS_TRY(fs_ini_fail("schema", path, sec->line, "duplicate [schema] section (first "
                                   "at line %d)", schema_line));
            if (s->ncols)
                FS_TRY(fs_ini_fail("schema", path, sec->line, "[schema] must come before the "
                                   "[column] sections"));
            schema_line = sec->line;
        } else {
            const char *name = column_name(sec->name, nbuf, sizeof nbuf);
            if (!name)
                FS_TRY(fs_ini_fail("schema", path, sec->line, "unknown section [%s] (expected "
                                   "[schema] or [column NAME])", sec->name));
            if (!name[0])
                FS_TRY(fs_ini_fail("schema", path, sec->line, "[column] without a name"));
            if (strlen(name) >= sizeof nbuf - 1 || !printable(name))
                FS_TRY(fs_ini_fail("schema", path, sec->line, "column name too long or with "
                                   "control characters"));
            for (size_t k = 0; k < s->ncols; k++)
                if (!strcmp(s->cols[k].name, name))
                    FS_TRY(fs_ini_fail("schema", path, sec->line, "duplicate [column %s] (first "
                                       "at line %d)", name, s->cols[k].pub.line));
            c = &s->cols[s->ncols];
            kl = &kls[s->ncols];
            s->ncols++;
            FS_TRY(fs_strdup(&c->name, name));
            c->pub.line = sec->line;
        }
        /* Column sections: the kind first (it decides which keys apply). */
        for (int pass = c ? 0 : 1; pass < 2; pass++) {
            if (pass == 1 && c && !kl->kind)
                FS_TRY(fs_ini_fail("schema", path, c->pub.line, "[column %s] has no kind "
                                   "(numeric, categorical, label, id or ignore)", c->name));
            for (int e = 0; e < doc->nents; e++) {
                const fs_ini_entry *en = &doc->ents[e];
                if (en->sect != si) continue;
                int append = append_key(en->key, kbuf, sizeof kbuf);
                const char *key = append ? kbuf : en->key;
                if (c && (pass == 0) != (!append && !strcmp(key, "kind"))) continue;
                if (c) FS_TRY(column_key(c, kl, en, key, append, path));
                else FS_TRY(schema_key(s, en, key, append, slines, path));
            }
        }
        if (c) {
            if (c->pub.kind == FS_COLUMN_LABEL) {
                if (s->label >= 0)
                    FS_TRY(fs_ini_fail("schema", path, c->pub.line, "two label columns: [column "
                                       "%s] and [column %s] (line %d)", c->name,
                                       s->cols[s->label].name, s->cols[s->label].pub.line));
                s->label = (long)(s->ncols - 1);
            }
            if (c->pub.kind == FS_COLUMN_ID) {
                if (s->id >= 0)
                    FS_TRY(fs_ini_fail("schema", path, c->pub.line, "two id columns: [column %s] "
                                       "and [column %s] (line %d)", c->name, s->cols[s->id].name,
                                       s->cols[s->id].pub.line));
                s->id = (long)(s->ncols - 1);
            }
        }
    }
    if (s->ncols == 0) FS_TRY(fs_ini_fail("schema", path, 0, "no [column NAME] sections"));
    {
        /* The default tokens must be usable: printable and distinct. */
        for (size_t i = 0; i < s->nmissing; i++) {
            if (!printable(s->missing[i]))
                FS_TRY(fs_ini_fail("schema", path, slines[1], "missing token %zu contains a "
                                   "control character", i + 1));
            for (size_t k = 0; k < i; k++)
                if (!strcmp(s->missing[i], s->missing[k]))
                    FS_TRY(fs_ini_fail("schema", path, slines[1], "missing token '%s' is listed "
                                       "twice", s->missing[i]));
        }
    }
    for (size_t i = 0; i < s->ncols; i++) FS_TRY(finish_column(s, &s->cols[i], &kls[i], path));
    if (s->label < 0 && s->id < 0)
        FS_TRY(fs_ini_fail("schema", path, 0, "no label column (kind = label) and no id column "
                           "(kind = id, for a feature-only party of vertical FL)"));
    FS_TRY(build_features(s, path));
done:
    free(kls);
    return rc;
}
// ---------------------------------------------------------------- load, parse, destroy

/* The public views of every column (after the lists stopped moving). */
static void publish_views(fs_schema *s)
{
    for (size_t i = 0; i < s->ncols; i++) {
        column *c = &s->cols[i];
        c->pub.name = c->name;
        c->pub.ncategories = c->ncats;
        c->pub.categories = (const char *const *)c->cats;
        c->pub.nmissing = c->has_own_missing ? c->nown : s->nmissing;
        c->pub.missing = (const char *const *)(c->has_own_missing ? c->own_missing : s->missing);
    }
}

fs_err fs_schema_parse(const char *text, size_t len, const char *name, fs_schema **out)
{
    fs_err rc = FS_OK;
    fs_schema *s = NULL;
    fs_ini_doc doc;
    FILE *f = NULL;

    memset(&doc, 0, sizeof doc);
    FS_CHECK_ARG(out != NULL, "fs_schema_parse: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(text != NULL && name != NULL, "fs_schema_parse: NULL text or name");
    if (memchr(text, '\0', len))
        FS_FAIL(FS_ERR_DATA, "schema %s: contains a NUL byte (not a text file)", name);
    FS_TRY(fs_zalloc(&s, 1, sizeof *s, "schema"));
    FS_TRY(fs_alloc(&s->text, len + 1, 1, "schema text"));
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    if (len > 0) {
        f = fmemopen(s->text, len, "r");
        if (!f) FS_FAIL(FS_ERR_NOMEM, "out of memory reading schema %s", name);
        FS_TRY(fs_ini_parse(f, "schema", name, &doc));
    }
    FS_TRY(build_schema(s, &doc, name));
    publish_views(s);
    FS_TRY(fs_schema_compute_hash(s));
    *out = s;
    s = NULL;
done:
    if (f) fclose(f);
    fs_ini_doc_free(&doc);
    fs_schema_destroy(&s);
    return rc;
}

fs_err fs_schema_load(const char *path, fs_schema **out)
{
    fs_err rc = FS_OK;
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;

    FS_CHECK_ARG(out != NULL, "fs_schema_load: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(path != NULL, "fs_schema_load: NULL path");
    f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT) FS_FAIL(FS_ERR_IO, "schema file '%s' does not exist", path);
        FS_FAIL(FS_ERR_IO, "cannot open schema file '%s': %s", path, strerror(errno));
    }
    if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode))
        FS_FAIL(FS_ERR_IO, "cannot read schema file '%s': %s", path,
                S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
    if ((uint64_t)st.st_size > SCHEMA_MAX_BYTES)
        FS_FAIL(FS_ERR_DATA, "schema %s: %lld bytes is larger than the %u MiB a schema may have",
                path, (long long)st.st_size, SCHEMA_MAX_BYTES >> 20);
    FS_TRY(fs_alloc(&buf, (size_t)st.st_size + 1, 1, "schema file"));
    len = fread(buf, 1, (size_t)st.st_size + 1, f);
    if (ferror(f)) FS_FAIL(FS_ERR_IO, "cannot read schema file '%s': %s", path, strerror(errno));
    if (len > (size_t)st.st_size)
        FS_FAIL(FS_ERR_IO, "schema file '%s' grew while it was read", path);
    FS_TRY(fs_schema_parse(buf, len, path, out));
done:
    if (f) fclose(f);
    free(buf);
    return rc;
}

void fs_schema_destroy(fs_schema **p)
{
    if (!p || !*p) return;
    fs_schema *s = *p;
    for (size_t i = 0; s->cols && i < s->ncols; i++) {
        column *c = &s->cols[i];
        free(c->name);
        fs_strv_free(c->cats, c->ncats);
        fs_strv_free(c->own_missing, c->nown);
        free(c->order);
        free(c->cat_value);
    }
    /* Columns allocated but not (yet) counted hold nothing: zalloc'd. */
    free(s->cols);
    fs_strv_free(s->missing, s->nmissing);
    fs_strv_free(s->feat_names, s->nfeat);
    free(s->feats);
    free(s->title);
    free(s->text);
    free(s);
    *p = NULL;
}

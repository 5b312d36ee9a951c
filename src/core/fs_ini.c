/*
 * fs_ini.c - core layer: INI files read with libinih into a flat list of
 * section instances and (section, key, value, line) entries (fs_ini_impl.h).
 *
 * Pass 1 of the two-pass parsers of the roster and the consortium schema:
 * libinih reads the file through our line reader, which counts lines (Debian's
 * libinih passes no line numbers to handlers), skips a UTF-8 byte-order mark,
 * strips indentation (so indented keys are never read as continuation lines),
 * blanks the tail of an over-long line and records each section header with
 * its line.  The handler only collects entries; the caller validates them.
 * Recording section *instances* (not names) is what lets callers detect a
 * repeated section, which libinih would silently merge.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <ini.h>
#include "fs_ini_impl.h"

/* libinih keeps at most 49 characters of a section name (MAX_SECTION). */
#define INI_SECTION_KEPT 49

typedef struct {
    FILE *f;
    int lineno;          /* line of the chunk most recently read */
    int at_line_start;   /* next chunk starts a new line */
    int long_line;       /* first over-long line, 0 if none */
    int err_line;        /* first handler error, 0 if none */
    const char *err_what;
    int oom;
    int capsects, capents;
    fs_ini_doc *doc;
} ini_state;

static int grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 1;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return 0;
    *arr = p;
    *cap = nc;
    return 1;
}

/* line_reader: fgets plus line counting, BOM and indentation stripping, and
 * section recording. */
static char *line_reader(char *str, int num, void *stream)
{
    ini_state *st = stream;
    fs_ini_doc *doc = st->doc;
    char *r = fgets(str, num, st->f);
    int start;
    size_t n;
    if (!r) return NULL;
    start = st->at_line_start;
    n = strlen(str);
    st->at_line_start = n > 0 && str[n - 1] == '\n';
    if (!st->at_line_start && !feof(st->f) && !st->long_line) st->long_line = st->lineno + start;
    if (!start) {
        /* Tail of an over-long line: blank it so libinih ignores it. */
        str[0] = '\0';
        return str;
    }
    st->lineno++;
    char *s = str;
    if (st->lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    while (*s == ' ' || *s == '\t') s++;
    if (s != str) memmove(str, s, strlen(s) + 1);
    if (str[0] == '[') {
        char *close = strchr(str, ']');
        if (close) {
            if (!grow((void **)&doc->sects, &st->capsects, doc->nsects + 1, sizeof *doc->sects)) {
                st->oom = 1;
                return str;
            }
            fs_ini_section *si = &doc->sects[doc->nsects];
            si->name = strndup(str + 1, (size_t)(close - str - 1));
            si->line = st->lineno;
            if (!si->name) st->oom = 1;
            else doc->nsects++;
        }
    }
    return str;
}

static int collect_handler(void *user, const char *section, const char *name, const char *value)
{
    ini_state *st = user;
    fs_ini_doc *doc = st->doc;
    if (st->oom || st->err_line) return 1;
    if (doc->nsects == 0) {
        st->err_line = st->lineno;
        st->err_what = "key outside any section";
        return 1;
    }
    /* libinih truncates section names; over-long names are the caller's to
     * report (it sees the full text in sects). */
    if (strncmp(section, doc->sects[doc->nsects - 1].name, INI_SECTION_KEPT) != 0) {
        st->err_line = st->lineno;
        st->err_what = "malformed section header";
        return 1;
    }
    if (!grow((void **)&doc->ents, &st->capents, doc->nents + 1, sizeof *doc->ents)) {
        st->oom = 1;
        return 0;
    }
    fs_ini_entry *e = &doc->ents[doc->nents];
    e->sect = doc->nsects - 1;
    e->line = st->lineno;
    e->key = strdup(name);
    e->value = strdup(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        st->oom = 1;
        return 0;
    }
    doc->nents++;
    return 1;
}

void fs_ini_doc_free(fs_ini_doc *doc)
{
    if (!doc) return;
    for (int i = 0; i < doc->nsects; i++) free(doc->sects[i].name);
    for (int i = 0; i < doc->nents; i++) {
        free(doc->ents[i].key);
        free(doc->ents[i].value);
    }
    free(doc->sects);
    free(doc->ents);
    memset(doc, 0, sizeof *doc);
}

fs_err fs_ini_fail(const char *kind, const char *path, int line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) return fs_error_set(FS_ERR_DATA, "%s %s:%d: %s", kind, path, line, msg);
    return fs_error_set(FS_ERR_DATA, "%s %s: %s", kind, path, msg);
}

fs_err fs_ini_parse(FILE *f, const char *kind, const char *path, fs_ini_doc *doc)
{
    fs_err rc = FS_OK;
    ini_state st;
    int pr;

    memset(doc, 0, sizeof *doc);
    memset(&st, 0, sizeof st);
    st.f = f;
    st.doc = doc;
    st.at_line_start = 1;
    /* Returns 0, the first line with a syntax error, or -2 on allocation
     * failure (-1, cannot open, does not apply to a stream). */
    pr = ini_parse_stream(line_reader, &st, collect_handler, &st);
    if (ferror(f)) FS_FAIL(FS_ERR_IO, "cannot read %s file '%s'", kind, path);
    if (st.oom || pr == -2) FS_FAIL(FS_ERR_NOMEM, "out of memory reading %s %s", kind, path);
    {
        /* Report the earliest of: over-long line, syntax error, handler error. */
        int line = 0;
        const char *what = NULL;
        if (st.long_line) { line = st.long_line; what = "line is longer than 198 characters"; }
        if (pr > 0 && (!line || pr < line)) {
            line = pr;
            what = "syntax error (expected [section], key = value, or a ; or # comment)";
        }
        if (st.err_line && (!line || st.err_line < line)) { line = st.err_line; what = st.err_what; }
        if (line) FS_TRY(fs_ini_fail(kind, path, line, "%s", what));
    }
done:
    if (rc != FS_OK) fs_ini_doc_free(doc);
    return rc;
}

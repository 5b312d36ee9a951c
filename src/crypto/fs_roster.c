/*
 * fs_roster.c - the consortium roster file: who the institutions are, which
 * MPI rank each one runs as, and the Ed25519 public key that authenticates
 * its ephemeral DH value in the key setup (docs/protocol.md, key setup).
 *
 * Crypto layer, no MPI.  Format (docs/keys.md), INI parsed by libinih:
 *
 *   [consortium]                      ; optional, at most once
 *   name = diabetes-2025
 *   dh_group = ffdhe2048              ; ffdhe2048 (default) | ffdhe3072 | modp2048
 *
 *   [institution "hospital-a"]        ; one per institution
 *   rank = 0                          ; ranks are exactly 0..N-1
 *   public_key = ed25519:BASE64       ; from `fedsilo keygen`
 *   data = /path/to/shard.h5          ; optional
 *   role = label                      ; optional, on at most one institution:
 *                                     ; the label holder of vertical FL
 *
 * Parsing happens in two passes.  libinih reads the file through our line
 * reader (which counts lines, strips indentation, rejects over-long lines
 * and records each section header with its line number) and our handler
 * only collects (section instance, key, value, line) entries.  The second
 * pass validates everything with messages of the form "FILE:LINE: ...".
 * Recording section *instances* (not names) is what lets us detect a
 * repeated section, which libinih would silently merge.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <ini.h>
#include "crypto/fs_crypto_impl.h"

/* libinih's default line buffer (INI_MAX_LINE) is 200 bytes including the
 * newline and NUL, so a line may hold at most 198 characters. */
#define ROSTER_MAX_LINE 198
#define ROSTER_MAX_RANK 1000000

typedef struct {
    char *name;      /* text between '[' and ']' */
    int line;
} section_inst;

typedef struct {
    int sect;        /* index into sections */
    int line;
    char *key, *value;
} entry;

typedef struct {
    FILE *f;
    int lineno;          /* line of the chunk most recently read */
    int at_line_start;   /* next chunk starts a new line */
    int long_line;       /* first over-long line, 0 if none */
    int err_line;        /* first handler error, 0 if none */
    const char *err_what;
    int oom;
    section_inst *sects;
    int nsects, capsects;
    entry *ents;
    int nents, capents;
} parse_state;

typedef struct {
    char *name;
    char *data;                         /* NULL if absent */
    uint8_t pub[FS_ED25519_PUBBYTES];
    int line;                           /* line of the section header */
} member;

struct fs_roster {
    int n;
    member *m;            /* (n), indexed by rank */
    char *consortium;     /* NULL if absent */
    fs_dh_group_id group;
    int label_rank;       /* rank of the institution with role = label, or -1 */
};

int fs_roster_valid_name(const char *name)
{
    size_t n;
    if (!name || !isalnum((unsigned char)name[0])) return 0;
    n = strlen(name);
    if (n > 32) return 0;  /* libinih keeps 49 characters of a section name */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-')) return 0;
    }
    return 1;
}

// ---------------------------------------------------------------- pass 1: collect

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

/* ini_reader: fgets plus line counting, indentation stripping (so indented
 * keys are never read as continuation lines) and section recording. */
static char *roster_reader(char *str, int num, void *stream)
{
    parse_state *st = stream;
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
            if (!grow((void **)&st->sects, &st->capsects, st->nsects + 1, sizeof *st->sects)) {
                st->oom = 1;
                return str;
            }
            section_inst *si = &st->sects[st->nsects];
            si->name = strndup(str + 1, (size_t)(close - str - 1));
            si->line = st->lineno;
            if (!si->name) st->oom = 1;
            else st->nsects++;
        }
    }
    return str;
}

static int roster_handler(void *user, const char *section, const char *name, const char *value)
{
    parse_state *st = user;
    if (st->oom || st->err_line) return 1;
    if (st->nsects == 0) {
        st->err_line = st->lineno;
        st->err_what = "key outside any section";
        return 1;
    }
    /* libinih truncates section names to 49 characters (MAX_SECTION);
     * over-long names are reported by pass 2. */
    if (strncmp(section, st->sects[st->nsects - 1].name, 49) != 0) {
        st->err_line = st->lineno;
        st->err_what = "malformed section header";
        return 1;
    }
    if (!grow((void **)&st->ents, &st->capents, st->nents + 1, sizeof *st->ents)) {
        st->oom = 1;
        return 0;
    }
    entry *e = &st->ents[st->nents];
    e->sect = st->nsects - 1;
    e->line = st->lineno;
    e->key = strdup(name);
    e->value = strdup(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        st->oom = 1;
        return 0;
    }
    st->nents++;
    return 1;
}

static void free_state(parse_state *st)
{
    for (int i = 0; i < st->nsects; i++) free(st->sects[i].name);
    for (int i = 0; i < st->nents; i++) { free(st->ents[i].key); free(st->ents[i].value); }
    free(st->sects);
    free(st->ents);
}

// ---------------------------------------------------------------- pass 2: validate

static fs_err bad(const char *path, int line, const char *fmt, ...) FS_PRINTF(3, 4);

/* Record "PATH:LINE: <message>" (or "PATH: ..." for line 0) as FS_ERR_DATA. */
static fs_err bad(const char *path, int line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) return fs_error_set(FS_ERR_DATA, "roster %s:%d: %s", path, line, msg);
    return fs_error_set(FS_ERR_DATA, "roster %s: %s", path, msg);
}

/* Strict non-negative decimal integer below ROSTER_MAX_RANK. */
static int parse_rank(const char *s, int *out)
{
    long v = 0;
    if (!*s) return 0;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c)) return 0;
        v = v * 10 + (*c - '0');
        if (v >= ROSTER_MAX_RANK) return 0;
    }
    *out = (int)v;
    return 1;
}

/* If s is `institution "NAME"` return a pointer to NAME's first char and
 * its length; otherwise NULL. */
static const char *institution_name(const char *s, size_t *len)
{
    static const char pre[] = "institution \"";
    size_t n = strlen(s);
    if (strncmp(s, pre, sizeof pre - 1) != 0 || n < sizeof pre || s[n - 1] != '"') return NULL;
    *len = n - sizeof pre;  /* minus prefix and closing quote */
    return s + sizeof pre - 1;
}

typedef struct {
    char *name;
    int line;           /* section header */
    int rank, rank_line;
    int has_pub, pub_line;
    uint8_t pub[FS_ED25519_PUBBYTES];
    char *data;
    int role_line;      /* line of `role = label`, 0 if none */
} pending;

static void free_pending(pending *p, int n)
{
    for (int i = 0; p && i < n; i++) { free(p[i].name); free(p[i].data); }
    free(p);
}

/* Validate the collected sections into a roster (pass 2). */
static fs_err build_roster(const char *path, const parse_state *st, fs_roster *r)
{
    fs_err rc = FS_OK;
    pending *inst = NULL;
    int ninst = 0, consortium_line = 0;
    int *by_rank = NULL;

    FS_TRY(fs_zalloc(&inst, (size_t)st->nsects, sizeof *inst, "roster sections"));
    r->group = FS_DH_FFDHE2048;
    r->label_rank = -1;

    for (int s = 0; s < st->nsects; s++) {
        const section_inst *si = &st->sects[s];
        size_t nlen = 0;
        const char *iname = institution_name(si->name, &nlen);
        pending *p = NULL;
        int is_cons = strcmp(si->name, "consortium") == 0;

        if (is_cons) {
            if (consortium_line)
                FS_TRY(bad(path, si->line, "duplicate [consortium] section (first at line %d)",
                           consortium_line));
            consortium_line = si->line;
        } else if (iname) {
            p = &inst[ninst];
            p->name = strndup(iname, nlen);
            if (!p->name) FS_FAIL(FS_ERR_NOMEM, "out of memory reading roster %s", path);
            ninst++;
            p->line = si->line;
            p->rank = -1;
            if (!fs_roster_valid_name(p->name))
                FS_TRY(bad(path, si->line, "invalid institution name \"%s\" (1-32 characters "
                           "from A-Z a-z 0-9 . _ -, starting with a letter or digit)", p->name));
            for (int k = 0; k < ninst - 1; k++)
                if (strcmp(inst[k].name, p->name) == 0)
                    FS_TRY(bad(path, si->line, "duplicate institution \"%s\" (first defined at "
                               "line %d)", p->name, inst[k].line));
        } else {
            FS_TRY(bad(path, si->line, "unknown section [%s] (expected [consortium] or "
                       "[institution \"NAME\"])", si->name));
        }

        for (int e = 0; e < st->nents; e++) {
            const entry *en = &st->ents[e];
            if (en->sect != s) continue;
            /* A key may appear once per section instance. */
            for (int e2 = 0; e2 < e; e2++)
                if (st->ents[e2].sect == s && strcmp(st->ents[e2].key, en->key) == 0)
                    FS_TRY(bad(path, en->line, "duplicate key '%s' in [%s] (first at line %d)",
                               en->key, si->name, st->ents[e2].line));
            if (!en->value[0])
                FS_TRY(bad(path, en->line, "empty value for '%s' in [%s]", en->key, si->name));
            if (is_cons) {
                if (strcmp(en->key, "name") == 0) {
                    FS_TRY(fs_strdup(&r->consortium, en->value));
                } else if (strcmp(en->key, "dh_group") == 0) {
                    if (fs_dh_group_from_name(en->value, &r->group) != FS_OK)
                        FS_TRY(bad(path, en->line, "unknown dh_group '%s' (use ffdhe2048, "
                                   "ffdhe3072 or modp2048)", en->value));
                } else {
                    FS_TRY(bad(path, en->line, "unknown key '%s' in [consortium] (expected name, "
                               "dh_group)", en->key));
                }
            } else if (strcmp(en->key, "rank") == 0) {
                if (!parse_rank(en->value, &p->rank))
                    FS_TRY(bad(path, en->line, "rank '%s' of institution \"%s\" is not a "
                               "non-negative integer", en->value, p->name));
                p->rank_line = en->line;
            } else if (strcmp(en->key, "public_key") == 0) {
                if (fs_pubkey_from_text(en->value, p->pub) != FS_OK)
                    FS_TRY(bad(path, en->line, "bad public_key of institution \"%s\": %s",
                               p->name, fs_errmsg()));
                p->has_pub = 1;
                p->pub_line = en->line;
            } else if (strcmp(en->key, "data") == 0) {
                FS_TRY(fs_strdup(&p->data, en->value));
            } else if (strcmp(en->key, "role") == 0) {
                if (strcmp(en->value, "label") != 0)
                    FS_TRY(bad(path, en->line, "unknown role '%s' of institution \"%s\" (the only "
                               "role is 'label': the label holder of vertical FL)", en->value,
                               p->name));
                for (int k = 0; k < ninst - 1; k++)
                    if (inst[k].role_line)
                        FS_TRY(bad(path, en->line, "institution \"%s\" has role = label, but so "
                                   "has \"%s\" (line %d): exactly one institution may hold the "
                                   "labels", p->name, inst[k].name, inst[k].role_line));
                p->role_line = en->line;
            } else {
                FS_TRY(bad(path, en->line, "unknown key '%s' in [%s] (expected rank, public_key, "
                           "data, role)", en->key, si->name));
            }
        }
        if (p && p->rank < 0)
            FS_TRY(bad(path, p->line, "institution \"%s\" has no rank", p->name));
        if (p && !p->has_pub)
            FS_TRY(bad(path, p->line, "institution \"%s\" has no public_key", p->name));
    }
    if (ninst == 0) FS_TRY(bad(path, 0, "no [institution \"NAME\"] sections"));

    /* Ranks: no duplicates, and with N institutions exactly 0..N-1. */
    FS_TRY(fs_alloc(&by_rank, (size_t)ninst, sizeof *by_rank, "roster rank table"));
    for (int i = 0; i < ninst; i++) by_rank[i] = -1;
    for (int i = 0; i < ninst; i++) {
        for (int k = 0; k < i; k++)
            if (inst[k].rank == inst[i].rank)
                FS_TRY(bad(path, inst[i].rank_line, "rank %d of institution \"%s\" is already "
                           "used by \"%s\" (line %d)", inst[i].rank, inst[i].name, inst[k].name,
                           inst[k].rank_line));
    }
    for (int i = 0; i < ninst; i++) {
        if (inst[i].rank >= ninst) {
            int missing = 0;
            for (int k = 0; k < ninst; k++) if (inst[k].rank < ninst) by_rank[inst[k].rank] = k;
            while (missing < ninst && by_rank[missing] >= 0) missing++;
            FS_TRY(bad(path, inst[i].rank_line, "rank %d of institution \"%s\" is out of range: "
                       "%d institutions need ranks 0..%d exactly (rank %d is missing)",
                       inst[i].rank, inst[i].name, ninst, ninst - 1, missing));
        }
        by_rank[inst[i].rank] = i;
    }
    for (int i = 0; i < ninst; i++)
        for (int k = 0; k < i; k++)
            if (memcmp(inst[k].pub, inst[i].pub, FS_ED25519_PUBBYTES) == 0)
                FS_TRY(bad(path, inst[i].pub_line, "institution \"%s\" has the same public_key "
                           "as \"%s\" (line %d)", inst[i].name, inst[k].name, inst[k].pub_line));

    FS_TRY(fs_zalloc(&r->m, (size_t)ninst, sizeof *r->m, "roster members"));
    r->n = ninst;
    for (int rank = 0; rank < ninst; rank++) {
        pending *p = &inst[by_rank[rank]];
        member *m = &r->m[rank];
        m->name = p->name;
        p->name = NULL;
        m->data = p->data;
        p->data = NULL;
        memcpy(m->pub, p->pub, sizeof m->pub);
        m->line = p->line;
        if (p->role_line) r->label_rank = rank;
    }
done:
    free(by_rank);
    free_pending(inst, ninst);
    return rc;
}

fs_err fs_roster_load(const char *path, fs_roster **out)
{
    fs_err rc = FS_OK;
    parse_state st;
    fs_roster *r = NULL;
    int pr;

    memset(&st, 0, sizeof st);
    *out = NULL;
    if (!path) return fs_error_set(FS_ERR_ARG, "fs_roster_load: NULL path");
    st.f = fopen(path, "re");
    if (!st.f) {
        if (errno == ENOENT) FS_FAIL(FS_ERR_IO, "roster file '%s' does not exist", path);
        FS_FAIL(FS_ERR_IO, "cannot open roster file '%s': %s", path, strerror(errno));
    }
    st.at_line_start = 1;
    /* Returns 0, the first line with a syntax error, or -2 on allocation
     * failure (-1, cannot open, does not apply to a stream). */
    pr = ini_parse_stream(roster_reader, &st, roster_handler, &st);
    if (ferror(st.f)) FS_FAIL(FS_ERR_IO, "cannot read roster file '%s'", path);
    if (st.oom || pr == -2) FS_FAIL(FS_ERR_NOMEM, "out of memory reading roster %s", path);
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
        if (line) FS_TRY(bad(path, line, "%s", what));
    }
    FS_TRY(fs_zalloc(&r, 1, sizeof *r, "roster"));
    FS_TRY(build_roster(path, &st, r));
    *out = r;
    r = NULL;
done:
    if (st.f) fclose(st.f);
    free_state(&st);
    fs_roster_destroy(&r);
    return rc;
}

void fs_roster_destroy(fs_roster **r)
{
    if (!r || !*r) return;
    for (int i = 0; (*r)->m && i < (*r)->n; i++) {
        free((*r)->m[i].name);
        free((*r)->m[i].data);
    }
    free((*r)->m);
    free((*r)->consortium);
    free(*r);
    *r = NULL;
}

// ---------------------------------------------------------------- accessors

int fs_roster_count(const fs_roster *r) { return r ? r->n : 0; }

const char *fs_roster_name(const fs_roster *r, int rank)
{
    return (r && rank >= 0 && rank < r->n) ? r->m[rank].name : NULL;
}

const uint8_t *fs_roster_public_key(const fs_roster *r, int rank)
{
    return (r && rank >= 0 && rank < r->n) ? r->m[rank].pub : NULL;
}

const char *fs_roster_data_path(const fs_roster *r, int rank)
{
    return (r && rank >= 0 && rank < r->n) ? r->m[rank].data : NULL;
}

int fs_roster_find(const fs_roster *r, const char *name)
{
    for (int i = 0; r && name && i < r->n; i++)
        if (strcmp(r->m[i].name, name) == 0) return i;
    return -1;
}

const char *fs_roster_consortium_name(const fs_roster *r) { return r ? r->consortium : NULL; }

fs_dh_group_id fs_roster_dh_group(const fs_roster *r) { return r ? r->group : FS_DH_FFDHE2048; }

int fs_roster_label_rank(const fs_roster *r) { return r ? r->label_rank : -1; }

/*
 * Canonical serialization (every variable-length field framed with its
 * 8-byte big-endian length by fs_sha256_update_framed):
 *   "fedsilo-roster-v1" | has_name (1 byte) | name | group name | N (4 bytes BE)
 *   | for rank 0..N-1: institution name | public key (32 bytes)
 *   [ | "role=label" | label rank (4 bytes BE) ]   only when some institution
 *                                                   has role = label
 * so the hash of a roster without roles is unchanged.  Data paths are site-local (each institution may keep its own copy of the
 * roster with its own paths) and are deliberately not part of the hash.
 */
fs_err fs_roster_hash(const fs_roster *r, uint8_t out[FS_SHA256_BYTES])
{
    fs_err rc = FS_OK;
    fs_sha256_ctx *h = NULL;
    static const char tag[] = "fedsilo-roster-v1";
    const char *gname;
    uint8_t has_name, nbuf[4];

    if (!r || !out) return fs_error_set(FS_ERR_ARG, "fs_roster_hash: NULL argument");
    gname = fs_dh_group_name(r->group);
    has_name = r->consortium != NULL;
    nbuf[0] = (uint8_t)((uint32_t)r->n >> 24);
    nbuf[1] = (uint8_t)((uint32_t)r->n >> 16);
    nbuf[2] = (uint8_t)((uint32_t)r->n >> 8);
    nbuf[3] = (uint8_t)r->n;
    FS_TRY(fs_sha256_init(&h));
    FS_TRY(fs_sha256_update_framed(h, tag, sizeof tag - 1));
    FS_TRY(fs_sha256_update(h, &has_name, 1));
    FS_TRY(fs_sha256_update_framed(h, r->consortium ? r->consortium : "",
                                   r->consortium ? strlen(r->consortium) : 0));
    FS_TRY(fs_sha256_update_framed(h, gname, strlen(gname)));
    FS_TRY(fs_sha256_update(h, nbuf, sizeof nbuf));
    for (int i = 0; i < r->n; i++) {
        FS_TRY(fs_sha256_update_framed(h, r->m[i].name, strlen(r->m[i].name)));
        FS_TRY(fs_sha256_update(h, r->m[i].pub, FS_ED25519_PUBBYTES));
    }
    if (r->label_rank >= 0) {
        static const char role[] = "role=label";
        uint8_t lbuf[4] = { (uint8_t)((uint32_t)r->label_rank >> 24),
                            (uint8_t)((uint32_t)r->label_rank >> 16),
                            (uint8_t)((uint32_t)r->label_rank >> 8), (uint8_t)r->label_rank };
        FS_TRY(fs_sha256_update_framed(h, role, sizeof role - 1));
        FS_TRY(fs_sha256_update(h, lbuf, sizeof lbuf));
    }
    FS_TRY(fs_sha256_final(h, out));
done:
    fs_sha256_destroy(&h);
    return rc;
}

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
 * Parsing happens in two passes.  fs_ini_parse (core layer) collects the
 * section instances and (section instance, key, value, line) entries, with
 * line numbers, indentation stripped and over-long lines refused; the second
 * pass here validates everything with messages of the form "FILE:LINE: ...".
 * Seeing section *instances* (not names) is what lets us detect a repeated
 * section, which libinih would silently merge.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "fs_ini_impl.h"
#include "crypto/fs_crypto_impl.h"

#define ROSTER_MAX_RANK 1000000

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

// ---------------------------------------------------------------- pass 2: validate

/* Record "roster PATH:LINE: <message>" (or "roster PATH: ..." for line 0). */
#define ROSTER_BAD(path, line, ...) fs_ini_fail("roster", (path), (line), __VA_ARGS__)

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
static fs_err build_roster(const char *path, const fs_ini_doc *st, fs_roster *r)
{
    fs_err rc = FS_OK;
    pending *inst = NULL;
    int ninst = 0, consortium_line = 0;
    int *by_rank = NULL;

    FS_TRY(fs_zalloc(&inst, (size_t)st->nsects, sizeof *inst, "roster sections"));
    r->group = FS_DH_FFDHE2048;
    r->label_rank = -1;

    for (int s = 0; s < st->nsects; s++) {
        const fs_ini_section *si = &st->sects[s];
        size_t nlen = 0;
        const char *iname = institution_name(si->name, &nlen);
        pending *p = NULL;
        int is_cons = strcmp(si->name, "consortium") == 0;

        if (is_cons) {
            if (consortium_line)
                FS_TRY(ROSTER_BAD(path, si->line, "duplicate [consortium] section (first at line %d)",
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
                FS_TRY(ROSTER_BAD(path, si->line, "invalid institution name \"%s\" (1-32 characters "
                           "from A-Z a-z 0-9 . _ -, starting with a letter or digit)", p->name));
            for (int k = 0; k < ninst - 1; k++)
                if (strcmp(inst[k].name, p->name) == 0)
                    FS_TRY(ROSTER_BAD(path, si->line, "duplicate institution \"%s\" (first defined at "
                               "line %d)", p->name, inst[k].line));
        } else {
            FS_TRY(ROSTER_BAD(path, si->line, "unknown section [%s] (expected [consortium] or "
                       "[institution \"NAME\"])", si->name));
        }

        for (int e = 0; e < st->nents; e++) {
            const fs_ini_entry *en = &st->ents[e];
            if (en->sect != s) continue;
            /* A key may appear once per section instance. */
            for (int e2 = 0; e2 < e; e2++)
                if (st->ents[e2].sect == s && strcmp(st->ents[e2].key, en->key) == 0)
                    FS_TRY(ROSTER_BAD(path, en->line, "duplicate key '%s' in [%s] (first at line %d)",
                               en->key, si->name, st->ents[e2].line));
            if (!en->value[0])
                FS_TRY(ROSTER_BAD(path, en->line, "empty value for '%s' in [%s]", en->key, si->name));
            if (is_cons) {
                if (strcmp(en->key, "name") == 0) {
                    FS_TRY(fs_strdup(&r->consortium, en->value));
                } else if (strcmp(en->key, "dh_group") == 0) {
                    if (fs_dh_group_from_name(en->value, &r->group) != FS_OK)
                        FS_TRY(ROSTER_BAD(path, en->line, "unknown dh_group '%s' (use ffdhe2048, "
                                   "ffdhe3072 or modp2048)", en->value));
                } else {
                    FS_TRY(ROSTER_BAD(path, en->line, "unknown key '%s' in [consortium] (expected name, "
                               "dh_group)", en->key));
                }
            } else if (strcmp(en->key, "rank") == 0) {
                if (!parse_rank(en->value, &p->rank))
                    FS_TRY(ROSTER_BAD(path, en->line, "rank '%s' of institution \"%s\" is not a "
                               "non-negative integer", en->value, p->name));
                p->rank_line = en->line;
            } else if (strcmp(en->key, "public_key") == 0) {
                if (fs_pubkey_from_text(en->value, p->pub) != FS_OK)
                    FS_TRY(ROSTER_BAD(path, en->line, "bad public_key of institution \"%s\": %s",
                               p->name, fs_errmsg()));
                p->has_pub = 1;
                p->pub_line = en->line;
            } else if (strcmp(en->key, "data") == 0) {
                FS_TRY(fs_strdup(&p->data, en->value));
            } else if (strcmp(en->key, "role") == 0) {
                if (strcmp(en->value, "label") != 0)
                    FS_TRY(ROSTER_BAD(path, en->line, "unknown role '%s' of institution \"%s\" (the only "
                               "role is 'label': the label holder of vertical FL)", en->value,
                               p->name));
                for (int k = 0; k < ninst - 1; k++)
                    if (inst[k].role_line)
                        FS_TRY(ROSTER_BAD(path, en->line, "institution \"%s\" has role = label, but so "
                                   "has \"%s\" (line %d): exactly one institution may hold the "
                                   "labels", p->name, inst[k].name, inst[k].role_line));
                p->role_line = en->line;
            } else {
                FS_TRY(ROSTER_BAD(path, en->line, "unknown key '%s' in [%s] (expected rank, public_key, "
                           "data, role)", en->key, si->name));
            }
        }
        if (p && p->rank < 0)
            FS_TRY(ROSTER_BAD(path, p->line, "institution \"%s\" has no rank", p->name));
        if (p && !p->has_pub)
            FS_TRY(ROSTER_BAD(path, p->line, "institution \"%s\" has no public_key", p->name));
    }
    if (ninst == 0) FS_TRY(ROSTER_BAD(path, 0, "no [institution \"NAME\"] sections"));

    /* Ranks: no duplicates, and with N institutions exactly 0..N-1. */
    FS_TRY(fs_alloc(&by_rank, (size_t)ninst, sizeof *by_rank, "roster rank table"));
    for (int i = 0; i < ninst; i++) by_rank[i] = -1;
    for (int i = 0; i < ninst; i++) {
        for (int k = 0; k < i; k++)
            if (inst[k].rank == inst[i].rank)
                FS_TRY(ROSTER_BAD(path, inst[i].rank_line, "rank %d of institution \"%s\" is already "
                           "used by \"%s\" (line %d)", inst[i].rank, inst[i].name, inst[k].name,
                           inst[k].rank_line));
    }
    for (int i = 0; i < ninst; i++) {
        if (inst[i].rank >= ninst) {
            int missing = 0;
            for (int k = 0; k < ninst; k++) if (inst[k].rank < ninst) by_rank[inst[k].rank] = k;
            while (missing < ninst && by_rank[missing] >= 0) missing++;
            FS_TRY(ROSTER_BAD(path, inst[i].rank_line, "rank %d of institution \"%s\" is out of range: "
                       "%d institutions need ranks 0..%d exactly (rank %d is missing)",
                       inst[i].rank, inst[i].name, ninst, ninst - 1, missing));
        }
        by_rank[inst[i].rank] = i;
    }
    for (int i = 0; i < ninst; i++)
        for (int k = 0; k < i; k++)
            if (memcmp(inst[k].pub, inst[i].pub, FS_ED25519_PUBBYTES) == 0)
                FS_TRY(ROSTER_BAD(path, inst[i].pub_line, "institution \"%s\" has the same public_key "
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
    fs_ini_doc doc;
    fs_roster *r = NULL;
    FILE *f = NULL;

    memset(&doc, 0, sizeof doc);
    *out = NULL;
    if (!path) return fs_error_set(FS_ERR_ARG, "fs_roster_load: NULL path");
    f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT) FS_FAIL(FS_ERR_IO, "roster file '%s' does not exist", path);
        FS_FAIL(FS_ERR_IO, "cannot open roster file '%s': %s", path, strerror(errno));
    }
    FS_TRY(fs_ini_parse(f, "roster", path, &doc));
    FS_TRY(fs_zalloc(&r, 1, sizeof *r, "roster"));
    FS_TRY(build_roster(path, &doc, r));
    *out = r;
    r = NULL;
done:
    if (f) fclose(f);
    fs_ini_doc_free(&doc);
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

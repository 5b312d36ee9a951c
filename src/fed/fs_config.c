/*
 * fs_config.c - the option parser: one configuration per command over the
 * option table of fs_options.c; INI loading (libinih), command-line
 * overrides, the typed fill of fs_opts, dump and fingerprint of the
 * effective configuration (federation core; no MPI).
 *
 * A configuration holds one value slot per table row; only the rows of its
 * command are used.  Values are kept as validated text plus their parsed
 * number, so the dump is exactly what was accepted and the typed fill
 * cannot fail on a value.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>
#include "fs_impl.h"
#include "fed/fs_fed_impl.h"

typedef struct {
    char *text;       /* accepted value as text (owned); NULL: required, unset */
    double num;       /* parsed value for INT/REAL                           */
    char origin[96];  /* "default", "--lr", "run.ini:12"                     */
    int set;
} opt_val;

struct fs_config {
    fs_command cmd;
    opt_val *v;       /* (fs_opt_count) slots, indexed like the table        */
};

static const char *command_name(fs_command cmd)
{
    switch (cmd) {
    case FS_CMD_TRAIN: return "train";
    case FS_CMD_STATS: return "stats";
    case FS_CMD_RIDGE: return "ridge";
    case FS_CMD_VFL_TRAIN: return "vfl-train";
    case FS_CMD_PSI: return "psi";
    case FS_CMD_DP_EPSILON: return "dp epsilon";
    case FS_CMD_DP_CALIBRATE: return "dp calibrate";
    }
    return "?";
}

static int takes(const fs_config *cfg, int k) { return (fs_opt_table[k].cmds & cfg->cmd) != 0; }

/* The row of cfg's command whose key or alias is `key` ('-' = '_'), or -1. */
static int find_opt(const fs_config *cfg, const char *key)
{
    char norm[64];
    size_t i;
    for (i = 0; key[i] && i < sizeof norm - 1; i++) norm[i] = key[i] == '-' ? '_' : key[i];
    norm[i] = '\0';
    if (key[i]) return -1;
    for (int k = 0; k < fs_opt_count; k++) {
        const fs_opt_def *o = &fs_opt_table[k];
        if (takes(cfg, k) && (strcmp(o->key, norm) == 0 || (o->alias && strcmp(o->alias, norm) == 0)))
            return k;
    }
    return -1;
}

/* "--" + s with '_' as '-', into buf. */
static const char *flag_of(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    snprintf(buf, cap, "--");
    for (; s[i] && i + 3 < cap; i++) buf[2 + i] = s[i] == '_' ? '-' : s[i];
    buf[2 + i] = '\0';
    return buf;
}

/* Index of v in "a|b|c" (0-based), or -1. */
static int choice_index(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    for (int i = 0; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return i;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

/* Parse "LO:HI" (finite numbers, LO < HI). */
static int parse_range(const char *v, double *lo, double *hi)
{
    const char *colon = strchr(v, ':');
    char a[64];
    char *end;
    if (!colon || (size_t)(colon - v) >= sizeof a) return -1;
    snprintf(a, sizeof a, "%.*s", (int)(colon - v), v);
    errno = 0;
    *lo = strtod(a, &end);
    if (end == a || *end || errno || !isfinite(*lo)) return -1;
    *hi = strtod(colon + 1, &end);
    if (end == colon + 1 || *end || errno || !isfinite(*hi)) return -1;
    return *lo < *hi ? 0 : -1;
}

/* Validate and store value text for option k. */
static fs_err set_value(fs_config *cfg, int k, const char *value, const char *origin)
{
    const fs_opt_def *o = &fs_opt_table[k];
    double num = 0, lo, hi;
    if (o->kind == FS_OPT_INT || o->kind == FS_OPT_REAL) {
        char *end = NULL;
        errno = 0;
        if (o->kind == FS_OPT_INT) {
            long long ll = strtoll(value, &end, 10);
            num = (double)ll;
        } else {
            num = strtod(value, &end);
        }
        while (end && (*end == ' ' || *end == '\t')) end++;
        if (value[0] == '\0' || !end || *end != '\0' || errno == ERANGE || !isfinite(num))
            return fs_error_set(FS_ERR_ARG, "%s: option '%s' needs %s, got '%s'", origin, o->key,
                                o->kind == FS_OPT_INT ? "an integer" : "a number", value);
        if (num < o->min || num > o->max) {
            if (o->max >= 1e299)
                return fs_error_set(FS_ERR_ARG, "%s: option '%s' must be >= %g, got %s", origin,
                                    o->key, o->min, value);
            return fs_error_set(FS_ERR_ARG, "%s: option '%s' must be in [%g, %g], got %s", origin,
                                o->key, o->min, o->max, value);
        }
    } else if (o->kind == FS_OPT_CHOICE || o->kind == FS_OPT_FLAG) {
        if (choice_index(o->choices, value) < 0)
            return fs_error_set(FS_ERR_ARG, "%s: option '%s' must be one of %s, got '%s'", origin,
                                o->key, o->choices, value);
    } else if (o->field == FS_FIELD_RANGE && value[0] && parse_range(value, &lo, &hi) != 0) {
        return fs_error_set(FS_ERR_ARG, "%s: option '%s' needs LO:HI with numbers LO < HI, got "
                            "'%s'", origin, o->key, value);
    }
    char *copy = NULL;
    fs_err rc = fs_strdup(&copy, value);
    if (rc != FS_OK) return rc;
    free(cfg->v[k].text);
    cfg->v[k].text = copy;
    cfg->v[k].num = num;
    snprintf(cfg->v[k].origin, sizeof cfg->v[k].origin, "%s", origin);
    return FS_OK;
}

fs_err fs_config_create_for(fs_command cmd, fs_config **out)
{
    fs_err rc = FS_OK;
    fs_config *cfg = NULL;
    *out = NULL;
    FS_TRY(fs_zalloc(&cfg, 1, sizeof *cfg, "configuration"));
    FS_TRY(fs_zalloc(&cfg->v, (size_t)fs_opt_count, sizeof *cfg->v, "configuration"));
    cfg->cmd = cmd;
    for (int k = 0; k < fs_opt_count; k++)
        if (takes(cfg, k) && fs_opt_table[k].defval)
            FS_TRY(set_value(cfg, k, fs_opt_table[k].defval, "default"));
    *out = cfg;
    cfg = NULL;
done:
    fs_config_destroy(&cfg);
    return rc;
}

fs_err fs_config_create(fs_config **out) { return fs_config_create_for(FS_CMD_TRAIN, out); }

void fs_config_destroy(fs_config **cfg)
{
    if (!cfg || !*cfg) return;
    for (int k = 0; (*cfg)->v && k < fs_opt_count; k++) free((*cfg)->v[k].text);
    free((*cfg)->v);
    free(*cfg);
    *cfg = NULL;
}

fs_command fs_config_command(const fs_config *cfg) { return cfg->cmd; }

fs_err fs_config_set(fs_config *cfg, const char *key, const char *value, const char *origin)
{
    int k = find_opt(cfg, key);
    if (k < 0)
        return fs_error_set(FS_ERR_ARG, "%s: unknown option '%s' (see fedsilo %s --help)", origin,
                            key, command_name(cfg->cmd));
    fs_err rc = set_value(cfg, k, value, origin);
    if (rc == FS_OK) cfg->v[k].set = 1;
    return rc;
}

int fs_config_is_flag(const fs_config *cfg, const char *key)
{
    int k = find_opt(cfg, key);
    return k < 0 ? -1 : fs_opt_table[k].kind == FS_OPT_FLAG;
}

int fs_config_is_set(const fs_config *cfg, const char *key)
{
    int k = find_opt(cfg, key);
    return k >= 0 && cfg->v[k].set;
}

/*
 * Debian's libinih calls the handler without a line number, so the reader
 * below counts lines: the handler runs right after the reader returned the
 * line holding the key.
 */
typedef struct {
    fs_config *cfg;
    const char *path;
    FILE *f;
    int line;
    fs_err rc;
    int err_line;   /* line of the first handler error */
} ini_ctx;

static char *ini_read_line(char *str, int num, void *stream)
{
    ini_ctx *c = stream;
    char *r = fgets(str, num, c->f);
    if (r) c->line++;
    return r;
}

static int config_ini_handler(void *user, const char *section, const char *name,
                              const char *value)
{
    ini_ctx *c = user;
    char origin[96];
    int lineno = c->line;
    if (c->rc != FS_OK) return 0;
    snprintf(origin, sizeof origin, "%s:%d", c->path, lineno);
    int k = find_opt(c->cfg, name);
    if (k < 0) {
        c->rc = fs_error_set(FS_ERR_ARG, "%s: unknown key '%s' in section [%s]", origin, name,
                             section);
        c->err_line = lineno;
        return 0;
    }
    if (strcmp(section, fs_opt_table[k].section) != 0) {
        c->rc = fs_error_set(FS_ERR_ARG, "%s: key '%s' belongs in section [%s], found in [%s]",
                             origin, name, fs_opt_table[k].section, section);
        c->err_line = lineno;
        return 0;
    }
    c->rc = fs_config_set(c->cfg, name, value, origin);
    if (c->rc != FS_OK) c->err_line = lineno;
    return c->rc == FS_OK;
}

fs_err fs_config_load_ini(fs_config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return fs_error_set(FS_ERR_IO, "cannot read config file %s: %s", path, strerror(errno));
    ini_ctx c = { cfg, path, f, 0, FS_OK, 0 };
    int line = ini_parse_stream(ini_read_line, &c, config_ini_handler, &c);
    fclose(f);
    /* Report whichever error comes first in the file. */
    if (c.rc != FS_OK && (line == 0 || c.err_line <= line)) return c.rc;
    if (line != 0)
        return fs_error_set(FS_ERR_ARG, "%s:%d: syntax error (expected [section] or key = value)",
                            path, line);
    return FS_OK;
}

/* Store slot k of cfg in its typed field of o. */
static void fill_field(const fs_config *cfg, int k, fs_opts *o)
{
    const fs_opt_def *d = &fs_opt_table[k];
    const opt_val *v = &cfg->v[k];
    char *at = (char *)o + d->off;
    if (d->set_off != (size_t)-1 && v->set) *(int *)((char *)o + d->set_off) = 1;
    switch (d->field) {
    case FS_FIELD_STR: *(const char **)at = v->text; break;
    case FS_FIELD_INT: *(int *)at = (int)v->num; break;
    case FS_FIELD_LONG: *(long *)at = (long)v->num; break;
    case FS_FIELD_SIZE: *(size_t *)at = (size_t)v->num; break;
    case FS_FIELD_U64: *(uint64_t *)at = (uint64_t)v->num; break;
    case FS_FIELD_DOUBLE: *(double *)at = v->num; break;
    case FS_FIELD_BOOL: *(int *)at = strcmp(v->text, "yes") == 0; break;
    case FS_FIELD_ENUM: *(int *)at = choice_index(d->choices, v->text); break;
    case FS_FIELD_RANGE: {
        fs_stats_opts *s = (fs_stats_opts *)(void *)at;
        s->have_range = v->text[0] && parse_range(v->text, &s->lo, &s->hi) == 0;
        break;
    }
    }
}

fs_err fs_config_options(const fs_config *cfg, fs_opts *o)
{
    char flag[80];
    memset(o, 0, sizeof *o);
    o->cmd = cfg->cmd;
    /* Program-level defaults of fields that have no row in this command. */
    o->stats.max_cov_features = FS_STATS_MAX_COV_FEATURES;
    o->stats.dp_delta = 1e-5;
    o->fed.data = o->fed.roster = o->fed.identity = o->fed.out = o->fl.test = o->fl.model = "";
    o->psi.ids = o->stats_json = "";
    o->fed.ring_bits = 64;
    o->fed.frac_bits = -1;
    o->fed.clip = 1.0;
    o->fed.seed = 1;
    for (int k = 0; k < fs_opt_count; k++) {
        if (!takes(cfg, k)) continue;
        if (!cfg->v[k].text) continue;   /* required and unset: checked below */
        fill_field(cfg, k, o);
    }
    /* Groups that share values: the statistics release reads the [dp] pair. */
    o->stats.dp_epsilon = cfg->cmd == FS_CMD_STATS ? o->dp.epsilon : 0;
    if (cfg->cmd == FS_CMD_STATS) o->stats.dp_delta = o->dp.delta;
    fs_err rc = fs_opts_check(o, cfg);
    if (rc != FS_OK) return rc;
    for (int k = 0; k < fs_opt_count; k++)
        if (takes(cfg, k) && !cfg->v[k].text)
            return fs_error_set(FS_ERR_ARG, "%s is required",
                                flag_of(fs_opt_table[k].key, flag, sizeof flag));
    return FS_OK;
}

fs_err fs_config_check(const fs_config *cfg)
{
    fs_opts o;
    return fs_config_options(cfg, &o);
}

void fs_config_dump(const fs_config *cfg, FILE *out, int with_origin)
{
    const char *cur = "";
    int first = 1;
    for (int k = 0; k < fs_opt_count; k++) {
        const fs_opt_def *o = &fs_opt_table[k];
        if (!takes(cfg, k) || !cfg->v[k].text) continue;
        if (strcmp(cur, o->section) != 0) {
            fprintf(out, "%s[%s]\n", first ? "" : "\n", o->section);
            cur = o->section;
        }
        first = 0;
        fprintf(out, "%s = %s", o->key, cfg->v[k].text);
        if (with_origin) fprintf(out, "    ; %s", cfg->v[k].origin);
        fputc('\n', out);
    }
}

uint64_t fs_config_hash(const fs_config *cfg)
{
    uint64_t h = FS_HASH64_INIT;
    for (int k = 0; k < fs_opt_count; k++) {
        if (!takes(cfg, k)) continue;
        const char *text = cfg->v[k].text ? cfg->v[k].text : "";
        h = fs_hash64(h, fs_opt_table[k].key, strlen(fs_opt_table[k].key) + 1);
        h = fs_hash64(h, text, strlen(text) + 1);
    }
    return h;
}

void fs_config_print_help(const fs_config *cfg, FILE *out)
{
    const char *cur = "";
    for (int k = 0; k < fs_opt_count; k++) {
        const fs_opt_def *o = &fs_opt_table[k];
        char flag[64], alias[64];
        if (!takes(cfg, k)) continue;
        if (cfg->cmd == FS_CMD_TRAIN && strcmp(cur, o->section) != 0) {
            fprintf(out, "\n  [%s]\n", o->section);
            cur = o->section;
        }
        flag_of(o->key, flag, sizeof flag);
        fprintf(out, "  %-20s %s", flag, o->help);
        if (o->alias) fprintf(out, " (also %s)", flag_of(o->alias, alias, sizeof alias));
        if (o->kind == FS_OPT_FLAG) fprintf(out, " (a bare %s means yes)", flag);
        if (!o->defval) fputs(" (required)", out);
        else if (o->defval[0]) fprintf(out, " (default %s)", o->defval);
        fputc('\n', out);
    }
}

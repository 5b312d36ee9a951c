/*
 * fs_config.c - typed option table, INI loading (libinih), CLI overrides,
 * dump and fingerprint of the effective configuration.  fl layer; no MPI.
 *
 * One static table describes every option; a configuration instance holds
 * one value slot per table entry.  Values are kept as validated text plus
 * their parsed number, so the dump is exactly what was accepted.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>
#include "fs_impl.h"
#include "fedsilo/fs_config.h"

typedef enum { OPT_STR, OPT_INT, OPT_REAL, OPT_CHOICE } opt_kind;

typedef struct {
    const char *section, *key;
    opt_kind kind;
    const char *defval;
    double min, max;          /* inclusive range for INT/REAL               */
    const char *choices;      /* "a|b|c" for CHOICE                         */
    const char *help;
} opt_def;

#define NOLIM -1e300, 1e300

/* The option table.  Keys are unique across sections. */
static const opt_def opts[] = {
    /* [data] */
    { "data", "data", OPT_STR, "", NOLIM, NULL,
      "this rank's shard: a path, with %d replaced by the rank (e.g. shards/site-%d.h5); "
      "empty: the data = path of this rank's institution in the roster" },
    { "data", "test", OPT_STR, "", NOLIM, NULL,
      "optional global test file (fedsilo layout); evaluated every eval round" },
    { "data", "standardize", OPT_CHOICE, "no", NOLIM, "no|yes",
      "yes: standardize features with the global mean/std from secure sums (stored in the "
      "checkpoint; fedsilo eval applies it)" },
    /* [model] */
    { "model", "model", OPT_STR, "mlp:256,128", NOLIM, NULL,
      "linear | logistic | softmax | mlp:H1,H2,... (ReLU hidden layers)" },
    /* [train] local SGD on each institution */
    { "train", "lr", OPT_REAL, "0.02", 1e-12, 1e6, NULL, "local SGD learning rate (> 0)" },
    { "train", "momentum", OPT_REAL, "0.9", 0, 0.999999, NULL, "local SGD momentum in [0, 1)" },
    { "train", "weight_decay", OPT_REAL, "0", 0, 1e6, NULL, "L2 weight decay (>= 0)" },
    { "train", "batch_size", OPT_INT, "64", 1, 1048576, NULL, "minibatch rows" },
    { "train", "local_epochs", OPT_INT, "1", 1, 100000, NULL,
      "local passes over the shard per round (when local_steps is 0)" },
    { "train", "local_steps", OPT_INT, "0", 0, 1e12, NULL,
      "if > 0: exactly this many local SGD steps per round instead of epochs" },
    /* [round] the federation */
    { "round", "rounds", OPT_INT, "20", 1, 1e9, NULL, "total federated rounds" },
    { "round", "algorithm", OPT_CHOICE, "fedavg", NOLIM, "fedavg|fedprox|fedsgd",
      "local algorithm: fedavg (local SGD), fedprox (local SGD + prox_mu/2 ||w - w_global||^2), "
      "fedsgd (one full-batch gradient step per round)" },
    { "round", "prox_mu", OPT_REAL, "0.01", 0, 1e6, NULL, "FedProx proximal coefficient mu" },
    { "round", "server_opt", OPT_CHOICE, "fedavg", NOLIM, "fedavg|fedavgm|fedadagrad|fedyogi|fedadam",
      "server optimizer applied to the aggregated mean update (Reddi et al. 2021)" },
    { "round", "server_lr", OPT_REAL, "1.0", 1e-12, 1e6, NULL,
      "server learning rate (fedavg: w += server_lr * mean update)" },
    { "round", "server_beta1", OPT_REAL, "0.9", 0, 0.999999, NULL,
      "server momentum (fedavgm) / first-moment decay (fedadagrad, fedyogi, fedadam)" },
    { "round", "server_beta2", OPT_REAL, "0.99", 0, 0.999999, NULL,
      "second-moment decay (fedyogi, fedadam)" },
    { "round", "server_tau", OPT_REAL, "0.001", 1e-12, 1e3, NULL,
      "adaptivity tau of fedadagrad/fedyogi/fedadam (v starts at tau^2)" },
    { "round", "eval_every", OPT_INT, "1", 1, 1e9, NULL,
      "evaluate validation/test metrics every k rounds (and at the last)" },
    { "round", "seed", OPT_INT, "1", 0, 4294967295.0, NULL,
      "master seed: shuffling streams are keyed by (seed, institution, round)" },
    { "round", "aggregation", OPT_CHOICE, "secure", NOLIM, "secure|plain",
      "secure: masked fixed-point secure sum (only sums are revealed); plain: MPI_Allreduce "
      "of floats, the insecure baseline" },
    { "round", "timeout", OPT_INT, "900", 0, 1e9, NULL,
      "watchdog: a rank that sees no progress for this many seconds (e.g. a peer or node "
      "died) exits non-zero so the job ends (0: off); must exceed the longest local phase" },
    /* [dp] differential privacy */
    { "dp", "dp_sgd", OPT_CHOICE, "no", NOLIM, "no|yes",
      "yes: record-level DP-SGD in every institution (per-example clipping + Gaussian noise)" },
    { "dp", "dp_clip", OPT_REAL, "1.0", 1e-9, 1e9, NULL, "DP-SGD per-example L2 clipping norm C" },
    { "dp", "dp_noise", OPT_REAL, "1.0", 0, 1e6, NULL,
      "DP-SGD noise multiplier sigma (noise std sigma * C)" },
    { "dp", "dp_sampling_rate", OPT_REAL, "0.01", 1e-9, 1, NULL,
      "DP-SGD sampling rate q; institution k uses batches of floor(q n_k) rows" },
    { "dp", "dp_sampling", OPT_CHOICE, "poisson", NOLIM, "poisson|fixed",
      "DP-SGD batch sampling (the accountant assumes Poisson; fixed is an approximation)" },
    { "dp", "ddp", OPT_CHOICE, "no", NOLIM, "no|yes",
      "yes: distributed DP at the aggregation: each institution clips its update to --ddp-clip, "
      "and adds discrete Gaussian noise in the ring so the secure sum carries noise "
      "--ddp-noise * --ddp-clip (institution-level DP; needs --aggregation secure)" },
    { "dp", "ddp_clip", OPT_REAL, "1.0", 1e-12, 1e9, NULL,
      "distributed DP: L2 clipping norm c of each institution's weighted update" },
    { "dp", "ddp_noise", OPT_REAL, "1.0", 1e-6, 1e6, NULL,
      "distributed DP: noise multiplier z (aggregate noise std z * c per coordinate)" },
    { "dp", "ddp_max_wrap", OPT_REAL, "1e-9", 1e-300, 0.5, NULL,
      "distributed DP: bound on the probability that a coordinate of the noisy sum wraps "
      "around the ring in a round (fixed-point bits are chosen to meet it)" },
    { "dp", "dp_delta", OPT_REAL, "1e-5", 1e-300, 0.5, NULL, "delta of the reported (epsilon, delta)" },
    { "dp", "dp_epsilon", OPT_REAL, "0", 0, 1e9, NULL,
      "privacy budget: training stops before a round that would exceed it (0: no budget)" },
    { "dp", "dp_seed", OPT_INT, "0", 0, 4294967295.0, NULL,
      "0: DP noise from the OS CSPRNG; else a reproducible noise stream (testing only)" },
    /* [secagg] the secure sum */
    { "secagg", "roster", OPT_STR, "", NOLIM, NULL,
      "consortium roster (institution names, ranks, Ed25519 public keys; see docs/keys.md)" },
    { "secagg", "identity", OPT_STR, "", NOLIM, NULL,
      "this institution's private identity key, %d = rank (e.g. keys/site-%d.key)" },
    { "secagg", "insecure_no_auth", OPT_CHOICE, "no", NOLIM, "no|yes",
      "yes: run the secure sum without a roster (unauthenticated key exchange; warns)" },
    { "secagg", "ring_bits", OPT_INT, "32", 32, 64, NULL,
      "ring Z_2^b of the masked sum: 32 or 64" },
    { "secagg", "frac_bits", OPT_INT, "-1", -1, 62, NULL,
      "fixed-point fractional bits f (-1: the largest f the headroom rule allows)" },
    { "secagg", "clip", OPT_REAL, "4", 1e-9, 1e9, NULL,
      "clip c: each weighted update coordinate is clipped to [-c, c] (counted in metrics)" },
    { "secagg", "rounding", OPT_CHOICE, "nearest", NOLIM, "nearest|stochastic",
      "fixed-point rounding of updates" },
    { "secagg", "mask_degree", OPT_INT, "0", 0, 1e6, NULL,
      "0: full-mesh masks; k: k-regular mask graph (SecAgg+ style, for large N)" },
    /* [output] */
    { "output", "out", OPT_STR, "runs/fedsilo", NOLIM, NULL,
      "run directory: metrics.jsonl, config.ini, checkpoint.h5" },
    { "output", "checkpoint_every", OPT_INT, "1", 0, 1e9, NULL,
      "write the checkpoint every k rounds (0: only at the end)" },
    { "output", "resume", OPT_CHOICE, "no", NOLIM, "no|yes|auto",
      "continue from OUT/checkpoint.h5: yes (must exist), auto (if present), no" },
};

#define NOPTS ((int)(sizeof opts / sizeof opts[0]))

typedef struct {
    char *text;       /* accepted value as text (owned)                    */
    double num;       /* parsed value for INT/REAL                         */
    char origin[96];  /* "default", "--lr", "run.ini:12"                   */
    int set;
} opt_val;

struct fs_config {
    opt_val v[NOPTS];
};

static int find_opt(const char *key)
{
    char norm[64];
    size_t i;
    for (i = 0; key[i] && i < sizeof norm - 1; i++) norm[i] = key[i] == '-' ? '_' : key[i];
    norm[i] = '\0';
    for (int k = 0; k < NOPTS; k++)
        if (strcmp(opts[k].key, norm) == 0) return k;
    return -1;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Validate and store value text for option k. */
static fs_err set_value(fs_config *cfg, int k, const char *value, const char *origin)
{
    const opt_def *o = &opts[k];
    double num = 0;
    if (o->kind == OPT_INT || o->kind == OPT_REAL) {
        char *end = NULL;
        errno = 0;
        if (o->kind == OPT_INT) {
            long long ll = strtoll(value, &end, 10);
            num = (double)ll;
        } else {
            num = strtod(value, &end);
        }
        while (end && (*end == ' ' || *end == '\t')) end++;
        if (value[0] == '\0' || !end || *end != '\0' || errno == ERANGE || !isfinite(num))
            return fs_error_set(FS_ERR_ARG, "%s: option '%s' needs %s, got '%s'", origin, o->key,
                                o->kind == OPT_INT ? "an integer" : "a number", value);
        if (num < o->min || num > o->max) {
            if (o->max >= 1e299)
                return fs_error_set(FS_ERR_ARG, "%s: option '%s' must be >= %g, got %s", origin,
                                    o->key, o->min, value);
            return fs_error_set(FS_ERR_ARG, "%s: option '%s' must be in [%g, %g], got %s", origin,
                                o->key, o->min, o->max, value);
        }
    } else if (o->kind == OPT_CHOICE) {
        if (!choice_ok(o->choices, value))
            return fs_error_set(FS_ERR_ARG, "%s: option '%s' must be one of %s, got '%s'", origin,
                                o->key, o->choices, value);
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

fs_err fs_config_create(fs_config **out)
{
    fs_err rc = FS_OK;
    fs_config *cfg = NULL;
    *out = NULL;
    FS_TRY(fs_zalloc(&cfg, 1, sizeof *cfg, "configuration"));
    for (int k = 0; k < NOPTS; k++) FS_TRY(set_value(cfg, k, opts[k].defval, "default"));
    *out = cfg;
    cfg = NULL;
done:
    fs_config_destroy(&cfg);
    return rc;
}

void fs_config_destroy(fs_config **cfg)
{
    if (!cfg || !*cfg) return;
    for (int k = 0; k < NOPTS; k++) free((*cfg)->v[k].text);
    free(*cfg);
    *cfg = NULL;
}

fs_err fs_config_set(fs_config *cfg, const char *key, const char *value, const char *origin)
{
    int k = find_opt(key);
    if (k < 0)
        return fs_error_set(FS_ERR_ARG, "%s: unknown option '%s' (see fedsilo train --help)",
                            origin, key);
    fs_err rc = set_value(cfg, k, value, origin);
    if (rc == FS_OK) cfg->v[k].set = 1;
    return rc;
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
    int k = find_opt(name);
    if (k < 0) {
        c->rc = fs_error_set(FS_ERR_ARG, "%s: unknown key '%s' in section [%s]", origin, name,
                             section);
        c->err_line = lineno;
        return 0;
    }
    if (strcmp(section, opts[k].section) != 0) {
        c->rc = fs_error_set(FS_ERR_ARG, "%s: key '%s' belongs in section [%s], found in [%s]",
                             origin, name, opts[k].section, section);
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

static const opt_val *get(const fs_config *cfg, const char *key, opt_kind kind)
{
    int k = find_opt(key);
    if (k < 0) return NULL;
    if (opts[k].kind != kind && !(kind == OPT_STR && opts[k].kind == OPT_CHOICE)) return NULL;
    return &cfg->v[k];
}

const char *fs_config_str(const fs_config *cfg, const char *key)
{
    const opt_val *v = get(cfg, key, OPT_STR);
    return v ? v->text : NULL;
}

long fs_config_int(const fs_config *cfg, const char *key)
{
    const opt_val *v = get(cfg, key, OPT_INT);
    return v ? (long)v->num : 0;
}

double fs_config_real(const fs_config *cfg, const char *key)
{
    const opt_val *v = get(cfg, key, OPT_REAL);
    return v ? v->num : 0.0;
}

int fs_config_is_set(const fs_config *cfg, const char *key)
{
    int k = find_opt(key);
    return k >= 0 && cfg->v[k].set;
}

fs_err fs_config_check(const fs_config *cfg)
{
    const char *data = fs_config_str(cfg, "data");
    if (!data[0] && !fs_config_str(cfg, "roster")[0])
        return fs_error_set(FS_ERR_ARG, "no data source: give --data 'dir/site-%%d.h5' "
                                        "(or data = ... in [data] of the config file, or a "
                                        "--roster whose institutions have data = paths)");
    const char *pct = strchr(data, '%');
    if (pct && (pct[1] != 'd' || strchr(pct + 2, '%')))
        return fs_error_set(FS_ERR_ARG, "--data '%s': the only placeholder allowed is one %%d "
                                        "(the rank)", data);
    if (strcmp(fs_config_str(cfg, "ddp"), "yes") == 0 &&
        strcmp(fs_config_str(cfg, "aggregation"), "secure") != 0)
        return fs_error_set(FS_ERR_ARG, "--ddp yes needs --aggregation secure: with a plain sum "
                            "each institution's small noise share would not protect its update");
    long rb = fs_config_int(cfg, "ring_bits");
    if (rb != 32 && rb != 64)
        return fs_error_set(FS_ERR_ARG, "--ring-bits must be 32 or 64, got %ld", rb);
    const char *id = fs_config_str(cfg, "identity");
    if (id[0] && (pct = strchr(id, '%')) && (pct[1] != 'd' || strchr(pct + 2, '%')))
        return fs_error_set(FS_ERR_ARG, "--identity '%s': the only placeholder allowed is one %%d", id);
    const char *out = fs_config_str(cfg, "out");
    if (!out || !out[0]) return fs_error_set(FS_ERR_ARG, "--out must not be empty");
    return FS_OK;
}

void fs_config_dump(const fs_config *cfg, FILE *out, int with_origin)
{
    const char *cur = "";
    for (int k = 0; k < NOPTS; k++) {
        if (strcmp(cur, opts[k].section) != 0) {
            fprintf(out, "%s[%s]\n", k ? "\n" : "", opts[k].section);
            cur = opts[k].section;
        }
        fprintf(out, "%s = %s", opts[k].key, cfg->v[k].text);
        if (with_origin) fprintf(out, "    ; %s", cfg->v[k].origin);
        fputc('\n', out);
    }
}

uint64_t fs_config_hash(const fs_config *cfg)
{
    uint64_t h = FS_HASH64_INIT;
    for (int k = 0; k < NOPTS; k++) {
        h = fs_hash64(h, opts[k].key, strlen(opts[k].key) + 1);
        h = fs_hash64(h, cfg->v[k].text, strlen(cfg->v[k].text) + 1);
    }
    return h;
}

int fs_config_noptions(void) { return NOPTS; }

static const char *kind_name(opt_kind k)
{
    switch (k) {
    case OPT_STR: return "string";
    case OPT_INT: return "int";
    case OPT_REAL: return "real";
    case OPT_CHOICE: return "choice";
    }
    return "?";
}

int fs_config_option(int i, const char **section, const char **key, const char **kind,
                     const char **defval, const char **range, const char **help)
{
    static _Thread_local char rbuf[96];
    if (i < 0 || i >= NOPTS) return -1;
    const opt_def *o = &opts[i];
    if (section) *section = o->section;
    if (key) *key = o->key;
    if (kind) *kind = kind_name(o->kind);
    if (defval) *defval = o->defval;
    if (range) {
        if (o->kind == OPT_CHOICE) snprintf(rbuf, sizeof rbuf, "%s", o->choices);
        else if (o->kind == OPT_STR) rbuf[0] = '\0';
        else if (o->max >= 1e299) snprintf(rbuf, sizeof rbuf, ">= %g", o->min);
        else snprintf(rbuf, sizeof rbuf, "[%g, %g]", o->min, o->max);
        *range = rbuf;
    }
    if (help) *help = o->help;
    return 0;
}

void fs_config_print_help(FILE *out)
{
    const char *cur = "";
    for (int k = 0; k < NOPTS; k++) {
        const opt_def *o = &opts[k];
        char flag[64];
        size_t i;
        if (strcmp(cur, o->section) != 0) {
            fprintf(out, "\n  [%s]\n", o->section);
            cur = o->section;
        }
        for (i = 0; o->key[i] && i < sizeof flag - 1; i++) flag[i] = o->key[i] == '_' ? '-' : o->key[i];
        flag[i] = '\0';
        fprintf(out, "  --%-18s %s", flag, o->help);
        if (o->defval[0]) fprintf(out, " (default %s)", o->defval);
        fputc('\n', out);
    }
}

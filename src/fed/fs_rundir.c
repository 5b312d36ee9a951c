/*
 * fs_rundir.c - the run directory of the federation core: OUT/config.ini,
 * OUT/metrics.jsonl (the writer's append and restart, and the reader, all
 * through jansson), and the checkpoint policy.  Every file goes through
 * the durable publish of core (fs_file.h).
 *
 * metrics.jsonl holds one JSON object per line, one line per completed
 * round, in round order; its keys are listed in docs/formats.md.  A crash
 * can leave a torn last line: readers skip lines that are not an object
 * with a numeric "round", and a restart at round k keeps only complete
 * lines of rounds <= k.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fed/fs_fed_impl.h"
#include "fs_json_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_file.h"

fs_err fs_fed_run_path(const fs_fed *fed, const char *name, char *out, size_t cap)
{
    int len = snprintf(out, cap, "%s/%s", fed->out_dir, name);
    if (len < 0 || (size_t)len >= cap)
        return fs_error_set(FS_ERR_ARG, "run directory path too long: %.200s...", fed->out_dir);
    return FS_OK;
}

static fs_err write_config(FILE *f, void *user)
{
    const fs_fed *fed = user;
    fprintf(f, "; effective configuration of this fedsilo run (fedsilo %s, %d institutions)\n",
            fs_version_string(), fed->size);
    fs_config_dump(fed->cfg, f, 1);
    return FS_OK;
}

fs_err fs_rundir_create(fs_fed *fed)
{
    fs_err local = FS_OK;
    char path[4300];
    if (fed->rank == 0) {
        local = fs_mkdir_p(fed->out_dir);
        if (local == FS_OK && access(fed->out_dir, W_OK) != 0)
            local = fs_error_set(FS_ERR_IO, "output directory %s is not writable: %s",
                                 fed->out_dir, strerror(errno));
        if (local == FS_OK && fed->cfg) local = fs_fed_run_path(fed, "config.ini", path, sizeof path);
        if (local == FS_OK && fed->cfg) local = fs_file_publish(path, write_config, fed);
    }
    return fs_agree(fed->comm, local, NULL);  /* collective */
}

int fs_fed_checkpoint_due(const fs_fed *fed, int round, int rounds, int stop)
{
    const long every = fed->o->checkpoint_every;
    return (every > 0 && round % every == 0) || round == rounds || stop;
}

fs_err fs_fed_metrics_append(fs_fed *fed, const char *line)
{
    fs_err local = FS_OK;
    char path[4300];
    if (fed->rank == 0) {
        local = fs_fed_run_path(fed, "metrics.jsonl", path, sizeof path);
        if (local == FS_OK) local = fs_file_append_line(path, line);
    }
    return fs_agree(fed->comm, local, NULL);  /* collective */
}

/* The "round" of one metrics line, or -1 if it is not a JSON object with an
 * integer round (a torn or foreign line). */
static long line_round(const char *line)
{
    json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *r = json_is_object(o) ? json_object_get(o, "round") : NULL;
    long round = json_is_integer(r) ? (long)json_integer_value(r) : -1;
    json_decref(o);
    return round;
}

typedef struct { const char *path; int keep; } trim_job;

/* Copy the lines of rounds 1..keep of the old file (if any) to f. */
static fs_err copy_kept(FILE *f, void *user)
{
    const trim_job *t = user;
    FILE *in = fopen(t->path, "r");
    if (!in) return FS_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) >= 0) {
        long r = line_round(line);
        if (r >= 0 && r <= t->keep && line[len - 1] == '\n') fputs(line, f);
    }
    free(line);
    fclose(in);
    return FS_OK;
}

fs_err fs_fed_metrics_restart(fs_fed *fed, int keep_round)
{
    fs_err local = FS_OK;
    char path[4300];
    if (fed->rank == 0) {
        local = fs_fed_run_path(fed, "metrics.jsonl", path, sizeof path);
        trim_job t = { path, keep_round };
        if (local == FS_OK && access(path, F_OK) == 0)
            local = fs_file_publish(path, copy_kept, &t);
    }
    return fs_agree(fed->comm, local, NULL);  /* collective */
}

// ---------------------------------------------------------------- reader

static double num_or_nan(const json_t *o, const char *key)
{
    double v = NAN;
    (void)fs_json_real_of(o, key, &v);
    return v;
}

/* Parse one line into *p.  Returns 0, or -1 if it is not an object with a
 * finite numeric "round". */
static int parse_point(const char *line, fs_run_point *p, fs_run_log *log)
{
    json_t *o = json_loads(line, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    p->round = num_or_nan(o, "round");
    p->train_loss = num_or_nan(o, "train_loss");
    p->val_loss = num_or_nan(o, "val_loss");
    p->test_loss = num_or_nan(o, "test_loss");
    p->epsilon = num_or_nan(o, "epsilon");
    p->ddp_epsilon = num_or_nan(o, "ddp_epsilon");
    p->val_metric = num_or_nan(o, "val_accuracy");
    p->test_metric = num_or_nan(o, "test_accuracy");
    if (json_object_get(o, "val_rmse") || json_object_get(o, "test_rmse")) {
        log->regression = 1;
        if (json_object_get(o, "val_rmse")) p->val_metric = num_or_nan(o, "val_rmse");
        if (json_object_get(o, "test_rmse")) p->test_metric = num_or_nan(o, "test_rmse");
    }
    const char *agg = json_string_value(json_object_get(o, "aggregation"));
    if (agg) {
        snprintf(log->aggregation, sizeof log->aggregation, "%s", agg);
        for (char *c = log->aggregation; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    }
    json_decref(o);
    return isfinite(p->round) ? 0 : -1;
}

fs_err fs_run_log_read(const char *path, fs_run_log **out)
{
    fs_err rc = FS_OK;
    fs_run_log *log = NULL;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0, lineno = 0, pcap = 0;
    ssize_t len;
    *out = NULL;
    FS_TRY(fs_zalloc(&log, 1, sizeof *log, "metrics log"));
    f = fopen(path, "r");
    if (!f) FS_FAIL(FS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        const char *s = line;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
        if (!*s) continue;
        fs_run_point p;
        if (parse_point(line, &p, log) != 0) {
            if (!log->skipped++) log->first_bad_line = lineno;
            continue;
        }
        if (log->n == pcap) {
            size_t nc = pcap ? 2 * pcap : 64;
            fs_run_point *np = realloc(log->points, nc * sizeof *np);
            if (!np) FS_FAIL(FS_ERR_NOMEM, "out of memory reading %s", path);
            log->points = np;
            pcap = nc;
        }
        log->points[log->n++] = p;
    }
    if (ferror(f)) FS_FAIL(FS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    *out = log;
    log = NULL;
done:
    if (f) fclose(f);
    free(line);
    fs_run_log_free(&log);
    return rc;
}

void fs_run_log_free(fs_run_log **log)
{
    if (!log || !*log) return;
    free((*log)->points);
    free(*log);
    *log = NULL;
}

/*
 * gbdt_bench.c - drive the GBDT engine (fs_gbdt.h) on a data file: train,
 * time, predict, export.  Used by the speed harness bench/gbdt_bench.py, the
 * quality comparison tests/gbdt/quality.py and the export test
 * tests/gbdt/export.sh.  Public API only.
 *
 * The rows of --train are dealt to --parties P simulated institutions, each
 * with its own engine; every step's word vectors are added across the
 * engines in this process (exactly what a secure sum computes), so the
 * result is bit for bit the model one institution holding all rows would
 * train (tests/unit/check_gbdt.c proves it).  --skew A gives party p a
 * label-skewed share: a row of class c goes to party c mod P with
 * probability A, otherwise to a uniformly drawn party.
 *
 * Data files ("FSGB"): 8 bytes "FSGBDAT1", uint64 n, uint64 d (little
 * endian), then float32 X[n][d] (NaN = missing), float32 y[n] (the class as
 * a float, or the target).
 *
 * usage: gbdt_bench --train FILE [--val FILE] [--test FILE]
 *          [--objective NAME] [--num-class K] [--trees T] [--max-depth D] [--eta E]
 *          [--max-bins B] [--fine-bins F] [--lambda L] [--gamma G]
 *          [--min-child-weight W] [--subsample S] [--colsample C] [--seed N]
 *          [--base-score P] [--label-range LO:HI] [--early-stop R]
 *          [--parties P] [--skew A] [--pred FILE] [--margin] [--json FILE] [--h5 FILE]
 *          [--resume-at R] [--names FILE]
 * Prints one JSON object: seconds (training wall time), cpu_seconds (CPU
 * time of the training), bin_seconds, tree_seconds,
 * trees, model_hash, train/val metric, best_round, frac_bits, rows.
 * --pred writes float32 predictions for --test; --margin writes raw
 * margins; --json exports XGBoost JSON (with the feature names of --names,
 * one per line); --h5 saves the model group "gbdt";
 * --resume-at R trains R rounds, saves, reloads and continues (the model
 * hash then equals the uninterrupted run's).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fedsilo/fs_core.h"
#include "fedsilo/fs_gbdt.h"

typedef struct {
    size_t n, d;
    float *X, *y;
    int32_t *yc;
} table;

static void die(const char *msg)
{
    fprintf(stderr, "gbdt_bench: %s\n", msg);
    exit(2);
}

static void fail(fs_err rc, const char *what)
{
    fprintf(stderr, "gbdt_bench: %s: %s (%s)\n", what, fs_errmsg(), fs_strerror(rc));
    exit(1);
}

static void read_table(const char *path, table *t)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint64_t hd[2];
    if (!f) {
        perror(path);
        exit(2);
    }
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "FSGBDAT1", 8) != 0 || fread(hd, 8, 2, f) != 2)
        die("bad data file header");
    t->n = hd[0];
    t->d = hd[1];
    t->X = malloc(t->n * t->d * sizeof *t->X + 1);
    t->y = malloc(t->n * sizeof *t->y + 1);
    t->yc = malloc(t->n * sizeof *t->yc + 1);
    if (!t->X || !t->y || !t->yc) die("out of memory");
    if (fread(t->X, sizeof *t->X, t->n * t->d, f) != t->n * t->d ||
        fread(t->y, sizeof *t->y, t->n, f) != t->n)
        die("truncated data file");
    fclose(f);
    for (size_t i = 0; i < t->n; i++) t->yc[i] = (int32_t)t->y[i];
}

static void table_free(table *t)
{
    free(t->X);
    free(t->y);
    free(t->yc);
}

static fs_gbdt_data as_data(const table *t, int regression)
{
    fs_gbdt_data dt = { t->n, t->d, t->X, regression ? NULL : t->yc, regression ? t->y : NULL };
    return dt;
}

/* rows of t given to party p (deterministic, see the file comment) */
static void deal(const table *t, int P, double skew, int regression, table *parts)
{
    uint64_t s = UINT64_C(0x243f6a8885a308d3);
    int *owner = malloc(t->n * sizeof *owner + 1);
    size_t *cnt = calloc((size_t)P, sizeof *cnt);
    if (!owner || !cnt) die("out of memory");
    for (size_t i = 0; i < t->n; i++) {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        double u = (double)((s * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53;
        int c = regression ? 0 : t->yc[i];
        owner[i] = (!regression && u < skew) ? c % P : (int)(((s >> 7) % (uint64_t)P));
        cnt[owner[i]]++;
    }
    for (int p = 0; p < P; p++) {
        parts[p].n = 0;
        parts[p].d = t->d;
        parts[p].X = malloc(cnt[p] * t->d * sizeof(float) + 1);
        parts[p].y = malloc(cnt[p] * sizeof(float) + 1);
        parts[p].yc = malloc(cnt[p] * sizeof(int32_t) + 1);
        if (!parts[p].X || !parts[p].y || !parts[p].yc) die("out of memory");
    }
    for (size_t i = 0; i < t->n; i++) {
        table *q = parts + owner[i];
        memcpy(q->X + q->n * t->d, t->X + i * t->d, t->d * sizeof(float));
        q->y[q->n] = t->y[i];
        q->yc[q->n] = t->yc[i];
        q->n++;
    }
    free(owner);
    free(cnt);
}

/* Train P engines to the end: step, add the P vectors, apply. */
static double run(fs_gbdt **e, int P, double *bin_seconds)
{
    double t0 = fs_now();
    *bin_seconds = 0;
    for (;;) {
        fs_gbdt_step st[64];
        st[0].kind = FS_GBDT_STEP_DONE;
        fs_err rc;
        for (int p = 0; p < P; p++)
            if ((rc = fs_gbdt_step_local(e[p], &st[p])) != FS_OK) fail(rc, "step");
        if (st[0].kind == FS_GBDT_STEP_DONE) break;
        if (st[0].kind == FS_GBDT_STEP_LEVEL && *bin_seconds == 0) *bin_seconds = fs_now() - t0;
        for (int p = 1; p < P; p++)
            for (size_t i = 0; i < st[0].n; i++) st[0].words[i] += st[p].words[i];
        for (int p = 1; p < P; p++) memcpy(st[p].words, st[0].words, st[0].n * sizeof(uint64_t));
        for (int p = 0; p < P; p++)
            if ((rc = fs_gbdt_step_apply(e[p])) != FS_OK) fail(rc, "apply");
    }
    return fs_now() - t0;
}

int main(int argc, char **argv)
{
    fs_gbdt_opts o;
    fs_gbdt_opts_default(&o);
    const char *trainf = NULL, *valf = NULL, *testf = NULL, *predf = NULL, *jsonf = NULL,
               *h5f = NULL, *namesf = NULL;
    int P = 1, margin = 0, resume_at = 0;
    double skew = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 1;
        if (!strcmp(a, "--margin")) { margin = 1; continue; }
        if (!v) die("missing value after an option");
        if (!strcmp(a, "--train")) trainf = v;
        else if (!strcmp(a, "--val")) valf = v;
        else if (!strcmp(a, "--test")) testf = v;
        else if (!strcmp(a, "--pred")) predf = v;
        else if (!strcmp(a, "--json")) jsonf = v;
        else if (!strcmp(a, "--h5")) h5f = v;
        else if (!strcmp(a, "--names")) namesf = v;
        else if (!strcmp(a, "--objective")) {
            if (fs_gbdt_objective_parse(v, &o.objective) != FS_OK) die(fs_errmsg());
        } else if (!strcmp(a, "--num-class")) o.num_class = atoi(v);
        else if (!strcmp(a, "--trees")) o.rounds = atoi(v);
        else if (!strcmp(a, "--max-depth")) o.max_depth = atoi(v);
        else if (!strcmp(a, "--eta")) o.eta = atof(v);
        else if (!strcmp(a, "--max-bins")) o.max_bins = atoi(v);
        else if (!strcmp(a, "--fine-bins")) o.fine_bins = atoi(v);
        else if (!strcmp(a, "--lambda")) o.lambda = atof(v);
        else if (!strcmp(a, "--gamma")) o.gamma = atof(v);
        else if (!strcmp(a, "--min-child-weight")) o.min_child_weight = atof(v);
        else if (!strcmp(a, "--subsample")) o.subsample = atof(v);
        else if (!strcmp(a, "--colsample")) o.colsample_bytree = atof(v);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--base-score")) o.base_score = atof(v);
        else if (!strcmp(a, "--early-stop")) o.early_stopping_rounds = atoi(v);
        else if (!strcmp(a, "--label-range")) {
            if (sscanf(v, "%lf:%lf", &o.label_lo, &o.label_hi) != 2) die("--label-range LO:HI");
        } else if (!strcmp(a, "--parties")) P = atoi(v);
        else if (!strcmp(a, "--skew")) skew = atof(v);
        else if (!strcmp(a, "--resume-at")) resume_at = atoi(v);
        else used = 0;
        if (!used) die("unknown option (see the comment at the top of bench/gbdt_bench.c)");
        i++;
    }
    if (!trainf) die("--train FILE is required");
    if (P < 1 || P > 64) die("--parties must be 1..64");
    int reg = o.objective == FS_GBDT_REG_SQUAREDERROR;
    table tr, va = { 0 }, te = { 0 };
    read_table(trainf, &tr);
    if (valf) read_table(valf, &va);
    if (testf) read_table(testf, &te);
    table *parts = calloc((size_t)P, sizeof *parts), *vparts = calloc((size_t)P, sizeof *vparts);
    if (!parts || !vparts) die("out of memory");
    if (P == 1) parts[0] = tr;
    else deal(&tr, P, skew, reg, parts);
    if (valf && P == 1) vparts[0] = va;
    else if (valf) deal(&va, P, skew, reg, vparts);

    fs_gbdt *e[64];
    fs_gbdt_data dtr[64], dva[64];
    fs_err rc;
    int target = o.rounds;
    if (resume_at > 0 && resume_at < target) o.rounds = resume_at;
    for (int p = 0; p < P; p++) {
        dtr[p] = as_data(&parts[p], reg);
        dva[p] = as_data(&vparts[p], reg);
        if ((rc = fs_gbdt_create(&o, &dtr[p], valf ? &dva[p] : NULL, (uint32_t)p, NULL, &e[p])))
            fail(rc, "create");
    }
    clock_t c0 = clock();
    double bin_s = 0, secs = run(e, P, &bin_s);
    if (o.rounds != target) {
        /* save, reload, continue on every party */
        char tmp[] = "/tmp/gbdt-bench-XXXXXX";
        int fd = mkstemp(tmp);
        if (fd < 0) die("mkstemp");
        close(fd);
        unlink(tmp);
        if ((rc = fs_gbdt_model_save(fs_gbdt_get_model(e[0]), tmp, "gbdt"))) fail(rc, "save");
        fs_gbdt_model *ck = NULL;
        if ((rc = fs_gbdt_model_load(tmp, "gbdt", &ck))) fail(rc, "load");
        unlink(tmp);
        o.rounds = target;
        for (int p = 0; p < P; p++) {
            fs_gbdt_destroy(&e[p]);
            if ((rc = fs_gbdt_create(&o, &dtr[p], valf ? &dva[p] : NULL, (uint32_t)p, ck, &e[p])))
                fail(rc, "resume");
        }
        fs_gbdt_model_destroy(&ck);
        double b2;
        secs += run(e, P, &b2);
    }
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    const fs_gbdt_model *m = fs_gbdt_get_model(e[0]);
    for (int p = 1; p < P; p++)
        if (fs_gbdt_model_hash(fs_gbdt_get_model(e[p])) != fs_gbdt_model_hash(m))
            die("parties disagree on the model (bug)");
    fs_gbdt_status st;
    fs_gbdt_get_status(e[0], &st);
    if (testf && predf) {
        int K = fs_gbdt_model_num_class(m);
        size_t w = (K && (margin || o.objective == FS_GBDT_MULTI_SOFTPROB)) ? (size_t)K : 1;
        float *pr = malloc(te.n * w * sizeof *pr + 1);
        if (!pr) die("out of memory");
        if ((rc = fs_gbdt_model_predict(m, te.X, te.n, te.d, margin, pr))) fail(rc, "predict");
        FILE *f = fopen(predf, "wb");
        if (!f || fwrite(pr, sizeof *pr, te.n * w, f) != te.n * w || fclose(f) != 0)
            die("cannot write --pred");
        free(pr);
    }
    char **names = NULL;
    if (namesf) {
        FILE *f = fopen(namesf, "r");
        char line[512];
        names = calloc(tr.d, sizeof *names);
        if (!f || !names) die("cannot read --names");
        for (size_t j = 0; j < tr.d; j++) {
            if (!fgets(line, sizeof line, f)) die("--names: fewer names than features");
            line[strcspn(line, "\n")] = 0;
            names[j] = strdup(line);
        }
        fclose(f);
    }
    if (jsonf && (rc = fs_gbdt_export_xgboost_json(m, (const char *const *)names, jsonf)))
        fail(rc, "export");
    if (h5f) {
        unlink(h5f);
        if ((rc = fs_gbdt_model_save(m, h5f, "gbdt"))) fail(rc, "save");
    }
    printf("{\"seconds\": %.3f, \"cpu_seconds\": %.3f, \"bin_seconds\": %.3f, "
           "\"tree_seconds\": %.3f, \"trees\": %d, "
           "\"rounds\": %d, \"model_hash\": \"%016llx\", \"metric\": \"%s\", "
           "\"train_metric\": %.6g, \"val_metric\": %.6g, \"best_round\": %d, "
           "\"stopped_early\": %d, \"frac_bits\": %d, \"rows\": %llu, \"parties\": %d}\n",
           secs, cpu, bin_s, secs - bin_s, st.num_trees, st.rounds_done,
           (unsigned long long)fs_gbdt_model_hash(m), st.metric_name, st.train_metric,
           isnan(st.val_metric) ? -1.0 : st.val_metric, st.best_round, st.stopped_early,
           st.frac_bits, (unsigned long long)st.total_rows, P);
    for (int p = 0; p < P; p++) {
        fs_gbdt_destroy(&e[p]);
        if (P > 1) {
            table_free(&parts[p]);
            if (valf) table_free(&vparts[p]);
        }
    }
    for (size_t j = 0; names && j < tr.d; j++) free(names[j]);
    free(names);
    free(parts);
    free(vparts);
    table_free(&tr);
    table_free(&va);
    table_free(&te);
    return 0;
}

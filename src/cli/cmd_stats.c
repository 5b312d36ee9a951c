/*
 * cmd_stats.c - `fedsilo stats` and `fedsilo ridge`: federated analytics
 * under mpirun/srun (rank i is institution i and reads only its shard).
 *
 * Both commands parse the same argv on every rank (usage errors therefore
 * exit 2 on every rank before MPI starts), read this rank's shard, agree
 * on read errors, open the secure-sum session (fs_stats_secagg_create,
 * with the roster/identity conventions of `fedsilo train`), run the
 * collective library call and print on rank 0.  Everything that leaves a
 * rank goes through the secure sum (or MPI_Allreduce with
 * --aggregation plain, for comparison only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <mpi.h>
#include <fedsilo.h>
#include <fedsilo/fs_stats.h>
#include "cli.h"
#include "cmd_stats.h"

/* Options shared by both commands: where the shards are, how to sum. */
typedef struct {
    const char *data;       /* shard path pattern with %d, or NULL: roster   */
    const char *roster;     /* roster file or NULL                            */
    const char *identity;   /* identity key pattern with %d                   */
    int insecure;           /* --insecure-no-auth yes                         */
    int plain;              /* --aggregation plain                            */
    int quiet;
} fed_opts;

static int cli_rank;

static void log_with_rank(fs_log_level level, const char *line, void *user)
{
    (void)user;
    static const char *names[] = { "debug", "info", "warning", "error" };
    fprintf(stderr, "fedsilo[rank %d]: %s: %s\n", cli_rank, names[level], line);
}

/* Value of option argv[*i] ("--k v" or "--k=v"); NULL if it is not `name`. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t len = strlen(name);
    const char *a = argv[*i];
    *missing = 0;
    if (strncmp(a, name, len) != 0) return NULL;
    if (a[len] == '=') return a + len + 1;
    if (a[len] != '\0') return NULL;
    if (*i + 1 >= argc) { *missing = 1; return NULL; }
    return argv[++*i];
}

/* Parse a federation option at argv[*i]: 1 consumed, 0 not ours, -1 error
 * (already reported with exit status in *status). */
static int parse_fed(const char *cmd, int argc, char **argv, int *i, fed_opts *f, int *status)
{
    static const char *const names[] = { "--data", "--roster", "--identity", "--insecure-no-auth",
                                         "--aggregation" };
    for (int k = 0; k < 5; k++) {
        int missing = 0;
        const char *v = opt_value(argc, argv, i, names[k], &missing);
        if (missing) { *status = fs_cli_usage_error(cmd, "option '%s' needs a value", names[k]); return -1; }
        if (!v) continue;
        switch (k) {
        case 0: f->data = v; break;
        case 1: f->roster = v; break;
        case 2: f->identity = v; break;
        case 3:
            if (strcmp(v, "yes") && strcmp(v, "no")) {
                *status = fs_cli_usage_error(cmd, "--insecure-no-auth must be yes or no, got '%s'", v);
                return -1;
            }
            f->insecure = !strcmp(v, "yes");
            break;
        case 4:
            if (strcmp(v, "secure") && strcmp(v, "plain")) {
                *status = fs_cli_usage_error(cmd, "--aggregation must be secure or plain, got '%s'", v);
                return -1;
            }
            f->plain = !strcmp(v, "plain");
            break;
        }
        return 1;
    }
    if (!strcmp(argv[*i], "--quiet")) { f->quiet = 1; return 1; }
    return 0;
}

static int parse_num(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int exit_status(fs_err rc)
{
    return rc == FS_OK ? FS_EXIT_OK : rc == FS_ERR_ARG ? FS_EXIT_USAGE : FS_EXIT_FAIL;
}

/*
 * Start MPI and the federation: a private communicator with
 * MPI_ERRORS_RETURN, this rank's shard (agreed on), the secure-sum session
 * (unless plain).  Collective.  On failure everything is released.
 */
typedef struct {
    MPI_Comm comm;
    int size;
    char shard[4096];
    fs_dataset *ds;
    fs_secagg *sa;
} fed_state;

static fs_err fed_open(const fed_opts *f, fed_state *st)
{
    fs_err rc = FS_OK, local = FS_OK;
    MPI_Comm_dup(MPI_COMM_WORLD, &st->comm);
    MPI_Comm_set_errhandler(st->comm, MPI_ERRORS_RETURN);
    MPI_Comm_size(st->comm, &st->size);
    if (f->data && f->data[0]) {
        const char *pct = strstr(f->data, "%d");
        if (pct)
            snprintf(st->shard, sizeof st->shard, "%.*s%d%.200s", (int)(pct - f->data), f->data,
                     cli_rank, pct + 2);
        else
            snprintf(st->shard, sizeof st->shard, "%.4000s", f->data);
    } else if (f->roster && f->roster[0]) {
        fs_roster *ros = NULL;
        local = fs_roster_load(f->roster, &ros);
        if (local == FS_OK && !fs_roster_data_path(ros, cli_rank))
            local = fs_error_set(FS_ERR_ARG, "no --data given and the roster %s has no data = path "
                                 "for rank %d", f->roster, cli_rank);
        if (local == FS_OK)
            snprintf(st->shard, sizeof st->shard, "%.4000s", fs_roster_data_path(ros, cli_rank));
        fs_roster_destroy(&ros);
    } else {
        local = fs_error_set(FS_ERR_ARG, "no data: give --data 'DIR/site-%%d.h5' or a --roster "
                             "with data = paths");
    }
    if (local == FS_OK) local = fs_dataset_read(st->shard, FS_PART_TRAIN, &st->ds);
    rc = fs_agree(st->comm, local, NULL);   /* collective: every rank has its shard */
    if (rc == FS_OK && !f->plain)
        rc = fs_stats_secagg_create(st->comm, f->roster, f->identity ? f->identity : "",
                                    f->insecure, &st->sa);
    return rc;
}

static void fed_close(fed_state *st)
{
    fs_secagg_destroy(&st->sa);
    fs_dataset_destroy(&st->ds);
    if (st->comm != MPI_COMM_NULL) MPI_Comm_free(&st->comm);
}

/* Finish MPI; a broken communicator aborts instead of waiting for peers. */
static int fed_finish(const char *cmd, fs_err rc, int status)
{
    fflush(stdout);
    if (rc == FS_ERR_MPI) {
        if (cli_rank != 0) fs_cli_fail(cmd, "%s", fs_errmsg());
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    MPI_Finalize();
    return status;
}

static void fed_usage_common(FILE *out)
{
    fprintf(out,
        "  --data PATTERN       this rank's shard; '%%d' is replaced by the rank\n"
        "                       (default: the data = path of the rank in --roster)\n"
        "  --roster FILE        consortium roster (authenticated key setup)\n"
        "  --identity PATTERN   this rank's identity key (PEM), '%%d' = rank\n"
        "  --insecure-no-auth yes   run the secure sum without a roster (warns)\n"
        "  --aggregation secure|plain   secure sum (default) or MPI_Allreduce (comparison only)\n"
        "  --quiet              print nothing but errors\n");
}

// ---------------------------------------------------------------- JSON

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.17g", v);
    else fputs("null", f);
}

static void json_arr(FILE *f, const double *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) { if (i) fputs(", ", f); json_num(f, v[i]); }
    fputc(']', f);
}

static const char *feature_name(const fs_stats_result *s, size_t j, char *buf, size_t cap)
{
    if (s->feature_names && s->feature_names[j] && s->feature_names[j][0]) return s->feature_names[j];
    snprintf(buf, cap, "x%zu", j);
    return buf;
}

static fs_err write_stats_json(const fs_stats_result *s, const char *path, const char *agg)
{
    FILE *f = fopen(path, "w");
    if (!f) return fs_error_set(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    char nb[32];
    fprintf(f, "{\n  \"aggregation\": \"%s\",\n  \"institutions\": %d,\n  \"count\": ", agg,
            s->nranks);
    json_num(f, s->count);
    if (s->dp_epsilon == s->dp_epsilon) {
        fputs(",\n  \"dp_epsilon\": ", f);
        json_num(f, s->dp_epsilon);
        fputs(",\n  \"dp_noise_multiplier\": ", f);
        json_num(f, s->dp_noise);
    }
    fprintf(f, ",\n  \"task\": \"%s\",\n  \"variance_denominator\": \"n - 1\",\n",
            s->task == FS_TASK_REGRESSION ? "regression" : "classification");
    if (s->class_counts) {
        fputs("  \"class_counts\": ", f);
        json_arr(f, s->class_counts, (size_t)s->num_classes);
        fputs(",\n", f);
    } else {
        fputs("  \"target\": {\"mean\": ", f);
        json_num(f, s->target_mean);
        fputs(", \"std\": ", f);
        json_num(f, s->target_std);
        fputs("},\n", f);
    }
    fputs("  \"features\": [\n", f);
    for (size_t j = 0; j < s->d; j++) {
        fputs("    {\"name\": ", f);
        json_str(f, feature_name(s, j, nb, sizeof nb));
        fputs(", \"count\": ", f); json_num(f, s->count);
        fputs(", \"mean\": ", f); json_num(f, s->mean[j]);
        fputs(", \"var\": ", f); json_num(f, s->var[j]);
        fputs(", \"std\": ", f); json_num(f, s->std[j]);
        if (s->bins) {
            fputs(", \"hist_lo\": ", f); json_num(f, s->hist_lo[j]);
            fputs(", \"hist_hi\": ", f); json_num(f, s->hist_hi[j]);
            fputs(", \"underflow\": ", f); json_num(f, s->underflow[j]);
            fputs(", \"overflow\": ", f); json_num(f, s->overflow[j]);
            fputs(", \"hist\": ", f); json_arr(f, s->hist + j * (size_t)s->bins, (size_t)s->bins);
        }
        fprintf(f, "}%s\n", j + 1 < s->d ? "," : "");
    }
    fputs("  ]", f);
    const double *mats[2] = { s->cov, s->corr };
    const char *mname[2] = { "covariance", "correlation" };
    for (int m = 0; m < 2; m++) {
        if (!mats[m]) continue;
        fprintf(f, ",\n  \"%s\": [\n", mname[m]);
        for (size_t j = 0; j < s->d; j++) {
            fputs("    ", f);
            json_arr(f, mats[m] + j * s->d, s->d);
            fprintf(f, "%s\n", j + 1 < s->d ? "," : "");
        }
        fputs("  ]", f);
    }
    fputs("\n}\n", f);
    if (fclose(f) != 0) return fs_error_set(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return FS_OK;
}

// ---------------------------------------------------------------- stats

static void stats_usage(FILE *out)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo stats --data 'DIR/site-%%d.h5' [OPTIONS]\n\n"
        "Federated descriptive statistics: per-feature count, mean, std (two-pass: secure\n"
        "mean, then secure sum of squared deviations), histograms, class counts and,\n"
        "optionally, covariance and correlation matrices.  Only sums over each\n"
        "institution's rows leave a rank, through the secure sum.  Exact minima and\n"
        "maxima are not offered: they would reveal one institution's extreme record\n"
        "(docs/analytics.md); use histograms with --range instead.\n\n"
        "  --bins B             histogram with B bins per feature (0: none, default)\n"
        "  --range LO:HI        histogram range for every feature (default: mean +- 4 std,\n"
        "                       computed from the released mean and std)\n"
        "  --covariance         also covariance and correlation matrices (d(d+1)/2 sums)\n"
        "  --max-covariance-features N   refuse --covariance above N features (default %u)\n"
        "  --json FILE          write every statistic to FILE (rank 0)\n"
        "  --dp-epsilon E       release (E, delta)-DP statistics: needs --range (values are\n"
        "                       clipped to it); Gaussian noise shared by the institutions\n"
        "  --dp-delta D         delta of the DP release (default 1e-5)\n",
        FS_STATS_MAX_COV_FEATURES);
    fed_usage_common(out);
    fprintf(out, "\nExit status: 0 success, 1 runtime error, 2 bad option.\n");
}

static void sparkline(const double *h, int bins, char *out, size_t cap)
{
    static const char *blocks[8] = { "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
                                     "\u2587", "\u2588" };
    double mx = 0;
    for (int b = 0; b < bins; b++) if (h[b] > mx) mx = h[b];
    size_t len = 0;
    out[0] = '\0';
    for (int b = 0; b < bins && len + 4 < cap; b++) {
        const char *c = " ";
        if (h[b] > 0) {
            int lv = (int)floor(h[b] / mx * 7.999);
            c = blocks[lv < 0 ? 0 : lv > 7 ? 7 : lv];
        }
        len += (size_t)snprintf(out + len, cap - len, "%s", c);
    }
}

static void print_stats(const fs_stats_result *s, const char *agg)
{
    char nb[32], line[4 * FS_STATS_MAX_BINS + 8];
    printf("fedsilo stats: %d institutions, %.0f rows, %zu features, aggregation %s (%.3f s)\n",
           s->nranks, s->count, s->d, agg, s->seconds);
    if (s->dp_epsilon == s->dp_epsilon)
        printf("differentially private release: epsilon %.4g (all passes), noise multiplier "
               "%.4g per pass\n", s->dp_epsilon, s->dp_noise);
    printf("%-24s %10s %14s %14s", "feature", "count", "mean", "std");
    if (s->bins) printf("  histogram [lo, hi) (under/over)");
    printf("\n");
    for (size_t j = 0; j < s->d; j++) {
        printf("%-24.24s %10.0f %14.6g %14.6g", feature_name(s, j, nb, sizeof nb), s->count,
               s->mean[j], s->std[j]);
        if (s->bins) {
            sparkline(s->hist + j * (size_t)s->bins, s->bins, line, sizeof line);
            printf("  %s [%.4g, %.4g) (%.0f/%.0f)", line, s->hist_lo[j], s->hist_hi[j],
                   s->underflow[j], s->overflow[j]);
        }
        printf("\n");
    }
    if (s->class_counts) {
        printf("class counts:");
        for (int k = 0; k < s->num_classes; k++) printf(" %d:%.0f", k, s->class_counts[k]);
        printf("\n");
    } else {
        printf("target: mean %.6g  std %.6g\n", s->target_mean, s->target_std);
    }
    if (s->corr) {
        if (s->d <= 12) {
            printf("correlation:\n");
            for (size_t j = 0; j < s->d; j++) {
                printf("  %-12.12s", feature_name(s, j, nb, sizeof nb));
                for (size_t k = 0; k < s->d; k++) printf(" %6.3f", s->corr[j * s->d + k]);
                printf("\n");
            }
        } else {
            printf("covariance and correlation: %zu x %zu (see --json)\n", s->d, s->d);
        }
    }
}

int fs_cmd_stats(int argc, char **argv)
{
    static const char *cmd = "stats";
    fed_opts f = { 0 };
    fs_stats_opts so;
    const char *json = NULL;
    int status = FS_EXIT_OK;
    fs_stats_opts_default(&so);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { stats_usage(stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        int r = parse_fed(cmd, argc, argv, &i, &f, &status), missing = 0;
        if (r < 0) return status;
        if (r > 0) continue;
        const char *v;
        double x;
        if (!strcmp(argv[i], "--covariance")) { so.covariance = 1; continue; }
        if ((v = opt_value(argc, argv, &i, "--bins", &missing))) {
            if (parse_num(v, &x) || x < 0 || x > FS_STATS_MAX_BINS || x != floor(x))
                return fs_cli_usage_error(cmd, "--bins needs an integer in 0..%d, got '%s'",
                                          FS_STATS_MAX_BINS, v);
            so.bins = (int)x;
        } else if ((v = opt_value(argc, argv, &i, "--range", &missing))) {
            const char *colon = strchr(v, ':');
            char lo[64];
            if (!colon || (size_t)(colon - v) >= sizeof lo)
                return fs_cli_usage_error(cmd, "--range needs LO:HI, got '%s'", v);
            snprintf(lo, sizeof lo, "%.*s", (int)(colon - v), v);
            if (parse_num(lo, &so.lo) || parse_num(colon + 1, &so.hi) || !(so.lo < so.hi))
                return fs_cli_usage_error(cmd, "--range needs numbers LO < HI, got '%s'", v);
            so.have_range = 1;
        } else if ((v = opt_value(argc, argv, &i, "--max-covariance-features", &missing))) {
            if (parse_num(v, &x) || x < 1 || x != floor(x) || x > 1e6)
                return fs_cli_usage_error(cmd, "--max-covariance-features needs an integer >= 1, "
                                          "got '%s'", v);
            so.max_cov_features = (size_t)x;
        } else if ((v = opt_value(argc, argv, &i, "--json", &missing))) {
            json = v;
        } else if ((v = opt_value(argc, argv, &i, "--dp-epsilon", &missing))) {
            if (parse_num(v, &so.dp_epsilon) || !(so.dp_epsilon > 0))
                return fs_cli_usage_error(cmd, "--dp-epsilon needs a number > 0, got '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--dp-delta", &missing))) {
            if (parse_num(v, &so.dp_delta) || !(so.dp_delta > 0 && so.dp_delta < 1))
                return fs_cli_usage_error(cmd, "--dp-delta needs a number in (0, 1), got '%s'", v);
        } else if (missing) {
            return fs_cli_usage_error(cmd, "option '%s' needs a value", argv[i]);
        } else {
            return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (so.have_range && !so.bins && !(so.dp_epsilon > 0))
        return fs_cli_usage_error(cmd, "--range is the histogram range: give --bins too");

    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return fs_cli_fail(cmd, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &cli_rank);
    fs_log_set_handler(log_with_rank, NULL, FS_LOG_WARN);
    fed_state st = { .comm = MPI_COMM_NULL };
    fs_stats_result *res = NULL;
    uint64_t step = 1;
    const char *agg = f.plain ? "plain" : "secure";
    fs_err rc = fed_open(&f, &st);
    if (rc == FS_OK) rc = fs_stats_compute(st.comm, st.sa, st.ds, &so, &step, &res);
    if (rc == FS_OK) {
        fs_err local = FS_OK;
        if (cli_rank == 0) {
            if (!f.quiet) print_stats(res, agg);
            if (json) local = write_stats_json(res, json, agg);
        }
        rc = fs_agree(st.comm, local, NULL);
    }
    status = exit_status(rc);
    if (rc != FS_OK && cli_rank == 0) fs_cli_fail(cmd, "%s", fs_errmsg());
    fs_stats_free(&res);
    fed_close(&st);
    return fed_finish(cmd, rc, status);
}

// ---------------------------------------------------------------- ridge

static void ridge_usage(FILE *out)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo ridge --data 'DIR/site-%%d.h5' --out DIR [OPTIONS]\n\n"
        "Exact federated ridge (or least-squares) regression in one secure round:\n"
        "secure sums of X1^T X1 (X1 = [X, 1]), X1^T y, y^T y and n, then the Cholesky\n"
        "solve of (X1^T X1 + lambda I') w = X1^T y on every rank (no penalty on the\n"
        "intercept).  Writes OUT/checkpoint.h5 (a 'linear' model for 'fedsilo eval')\n"
        "and OUT/ridge.json (coefficients in double, fit and test metrics).\n\n"
        "  --lambda L           L2 penalty >= 0 (default 0: ordinary least squares)\n"
        "  --standardize [yes|no]  penalize standardized coefficients (global mean and\n"
        "                       population std from the same sums); the model still\n"
        "                       takes raw features\n"
        "  --out DIR            output directory (created)\n"
        "  --test FILE          evaluate the fitted model on FILE (rank 0) and print\n"
        "                       RMSE, MAE and R^2\n");
    fed_usage_common(out);
    fprintf(out, "\nExit status: 0 success, 1 runtime error, 2 bad option.\n");
}

static fs_err write_ridge_json(const fs_ridge_result *r, const char *path, const char *agg,
                               double lambda, int standardize, int nsilos,
                               const fs_eval_report *test, const char *test_path)
{
    FILE *f = fopen(path, "w");
    if (!f) return fs_error_set(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"aggregation\": \"%s\",\n  \"institutions\": %d,\n  \"lambda\": ", agg, nsilos);
    json_num(f, lambda);
    fprintf(f, ",\n  \"standardize\": %s,\n  \"n\": ", standardize ? "true" : "false");
    json_num(f, r->n);
    fputs(",\n  \"w\": ", f); json_arr(f, r->w, r->d);
    fputs(",\n  \"b\": ", f); json_num(f, r->b);
    fputs(",\n  \"mean\": ", f); json_arr(f, r->mean, r->d);
    fputs(",\n  \"scale\": ", f); json_arr(f, r->scale, r->d);
    fputs(",\n  \"train_rmse\": ", f); json_num(f, r->train_rmse);
    fputs(",\n  \"train_r2\": ", f); json_num(f, r->train_r2);
    if (test) {
        fputs(",\n  \"test\": {\"file\": ", f); json_str(f, test_path);
        fputs(", \"rows\": ", f); json_num(f, test->count);
        fputs(", \"rmse\": ", f); json_num(f, test->rmse);
        fputs(", \"mae\": ", f); json_num(f, test->mae);
        fputs(", \"r2\": ", f); json_num(f, test->r2);
        fputs("}", f);
    }
    fputs("\n}\n", f);
    if (fclose(f) != 0) return fs_error_set(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return FS_OK;
}

/* Rank 0 after the fit: checkpoint, optional test evaluation, JSON, print. */
static fs_err ridge_outputs(const fs_ridge_result *r, const char *outdir, const char *test,
                            const char *agg, double lambda, int standardize, int nsilos, int quiet)
{
    fs_err rc = FS_OK;
    char path[4200];
    fs_checkpoint *ck = NULL;
    fs_eval_report rep;
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
    {
        rc = fs_error_set(FS_ERR_IO, "cannot create %s: %s", outdir, strerror(errno));
        goto done;
    }
    snprintf(path, sizeof path, "%.4000s/checkpoint.h5", outdir);
    if ((rc = fs_ridge_write_checkpoint(r, nsilos, path)) != FS_OK) goto done;
    if (test) {
        if ((rc = fs_checkpoint_read(path, &ck)) != FS_OK) goto done;
        if ((rc = fs_checkpoint_evaluate(ck, test, &rep)) != FS_OK) goto done;
    }
    if (!quiet) {
        printf("fedsilo ridge: %d institutions, %.0f rows, %zu features, lambda %g%s, aggregation "
               "%s (%.3f s)\n", nsilos, r->n, r->d, lambda, standardize ? " (standardized)" : "",
               agg, r->seconds);
        printf("fit: train_rmse %.6f  train_r2 %.6f  intercept %.6g\n", r->train_rmse, r->train_r2,
               r->b);
        if (test)
            printf("test %s: rows %.0f  rmse %.6f  mae %.6f  r2 %.6f\n", test, rep.count, rep.rmse,
                   rep.mae, rep.r2);
        printf("done: checkpoint %s, coefficients %s/ridge.json\n", path, outdir);
    }
    snprintf(path, sizeof path, "%.4000s/ridge.json", outdir);
    rc = write_ridge_json(r, path, agg, lambda, standardize, nsilos, test ? &rep : NULL, test);
done:
    fs_checkpoint_free(&ck);
    return rc;
}

int fs_cmd_ridge(int argc, char **argv)
{
    static const char *cmd = "ridge";
    fed_opts f = { 0 };
    fs_ridge_opts ro = { 0, 0 };
    const char *outdir = NULL, *test = NULL;
    int status = FS_EXIT_OK;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { ridge_usage(stdout); return 0; }
    for (int i = 1; i < argc; i++) {
        int r = parse_fed(cmd, argc, argv, &i, &f, &status), missing = 0;
        if (r < 0) return status;
        if (r > 0) continue;
        const char *v;
        if (!strcmp(argv[i], "--standardize") || !strncmp(argv[i], "--standardize=", 15)) {
            const char *val = argv[i][13] == '=' ? argv[i] + 14
                              : (i + 1 < argc && (!strcmp(argv[i + 1], "yes") ||
                                                  !strcmp(argv[i + 1], "no"))) ? argv[++i] : "yes";
            if (strcmp(val, "yes") && strcmp(val, "no"))
                return fs_cli_usage_error(cmd, "--standardize takes yes or no, got '%s'", val);
            ro.standardize = !strcmp(val, "yes");
        } else if ((v = opt_value(argc, argv, &i, "--lambda", &missing))) {
            if (parse_num(v, &ro.lambda) || ro.lambda < 0)
                return fs_cli_usage_error(cmd, "--lambda needs a number >= 0, got '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--out", &missing))) {
            outdir = v;
        } else if ((v = opt_value(argc, argv, &i, "--test", &missing))) {
            test = v;
        } else if (missing) {
            return fs_cli_usage_error(cmd, "option '%s' needs a value", argv[i]);
        } else {
            return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!outdir) return fs_cli_usage_error(cmd, "--out DIR is required");

    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return fs_cli_fail(cmd, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &cli_rank);
    fs_log_set_handler(log_with_rank, NULL, FS_LOG_WARN);
    fed_state st = { .comm = MPI_COMM_NULL };
    fs_ridge_result *res = NULL;
    uint64_t step = 1;
    const char *agg = f.plain ? "plain" : "secure";
    fs_err rc = fed_open(&f, &st);
    if (rc == FS_OK) rc = fs_ridge_fit(st.comm, st.sa, st.ds, &ro, &step, &res);
    if (rc == FS_OK) {
        fs_err local = FS_OK;
        if (cli_rank == 0)
            local = ridge_outputs(res, outdir, test, agg, ro.lambda, ro.standardize, st.size, f.quiet);
        rc = fs_agree(st.comm, local, NULL);   /* collective: same exit status everywhere */
    }
    status = exit_status(rc);
    if (rc != FS_OK && cli_rank == 0) fs_cli_fail(cmd, "%s", fs_errmsg());
    fs_ridge_free(&res);
    fed_close(&st);
    return fed_finish(cmd, rc, status);
}

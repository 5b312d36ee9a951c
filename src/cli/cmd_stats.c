/*
 * cmd_stats.c - `fedsilo stats` and `fedsilo ridge`: federated analytics
 * under mpirun/srun (rank i is institution i and reads only its shard).
 *
 * Both commands parse the same argv on every rank with the option table
 * (usage errors therefore exit 2 on every rank before MPI starts), make one
 * library call (fs_stats_run, fs_ridge_run: shards, secure sum, outputs)
 * and print on rank 0.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"

static void fed_usage_common(FILE *out)
{
    fprintf(out,
        "  --config FILE        INI file of these options (flags override it)\n"
        "  --quiet              print nothing but errors\n"
        "  --help               this text\n");
}

// ---------------------------------------------------------------- stats

static void stats_usage(FILE *out, const fs_config *cfg)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo stats --data 'DIR/site-%%d.h5' [OPTIONS]\n\n"
        "Federated descriptive statistics: per-feature count, mean, std (two-pass: secure\n"
        "mean, then secure sum of squared deviations), histograms, class counts and,\n"
        "optionally, covariance and correlation matrices.  Only sums over each\n"
        "institution's rows leave a rank, through the secure sum.  Exact minima and\n"
        "maxima are not offered: they would reveal one institution's extreme record\n"
        "(docs/analytics.md); use histograms with --range instead.\n"
        "On shards imported with a schema it also prints the missing cells per feature\n"
        "and the rows per category (exact secure sums, released to every institution;\n"
        "not with --dp-epsilon): merge rare categories in the schema before training.\n\n");
    fs_config_print_help(cfg, out);
    fed_usage_common(out);
    fprintf(out, "\nExit status: 0 success, 1 runtime error, 2 bad option.\n");
}

static const char *feature_name(const fs_stats_result *s, size_t j, char *buf, size_t cap)
{
    if (s->feature_names && s->feature_names[j] && s->feature_names[j][0]) return s->feature_names[j];
    snprintf(buf, cap, "x%zu", j);
    return buf;
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
    if (s->imputed)
        printf("missing cells filled (--impute yes): count, mean and std describe the imputed "
               "columns; 'missing' counts the cells before filling\n");
    printf("%-24s %10s %14s %14s", "feature", "count", "mean", "std");
    if (s->missing) printf(" %8s", "missing");
    if (s->bins) printf("  histogram [lo, hi) (under/over)");
    printf("\n");
    for (size_t j = 0; j < s->d; j++) {
        printf("%-24.24s %10.0f %14.6g %14.6g", feature_name(s, j, nb, sizeof nb), s->count,
               s->mean[j], s->std[j]);
        if (s->missing) printf(" %8.0f", s->missing[j]);
        if (s->bins) {
            sparkline(s->hist + j * (size_t)s->bins, s->bins, line, sizeof line);
            printf("  %s [%.4g, %.4g) (%.0f/%.0f)", line, s->hist_lo[j], s->hist_hi[j],
                   s->underflow[j], s->overflow[j]);
        }
        printf("\n");
    }
    if (s->category_counts) {
        int any = 0;
        for (size_t j = 0; j < s->d; j++) {
            if (!isfinite(s->category_counts[j])) continue;
            if (!any) printf("category counts (rows with the category, before imputation):\n");
            any = 1;
            printf("  %-30.30s %10.0f\n", feature_name(s, j, nb, sizeof nb), s->category_counts[j]);
        }
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
    fs_cli_mpi mpi;
    fs_stats_result *res = NULL;
    fs_run_ctl *ctl = NULL;
    int status = fs_cli_mpi_begin(&mpi, "stats", FS_CMD_STATS, &argc, &argv, 1, stats_usage, 1,
                                  FS_LOG_WARN);
    if (status >= 0) return status;
    fs_err rc = fs_cli_watch(&mpi, &ctl);
    if (rc == FS_OK) rc = fs_stats_run(mpi.comm, mpi.cfg, ctl, &res);
    if (rc == FS_OK && mpi.rank == 0 && !mpi.quiet)
        print_stats(res, mpi.o.fed.aggregation == FS_AGG_PLAIN ? "plain" : "secure");
    fs_stats_free(&res);
    return fs_cli_mpi_finish(&mpi, rc);
}

// ---------------------------------------------------------------- ridge

static void ridge_usage(FILE *out, const fs_config *cfg)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo ridge --data 'DIR/site-%%d.h5' --out DIR [OPTIONS]\n\n"
        "Exact federated ridge (or least-squares) regression in one secure round:\n"
        "secure sums of X1^T X1 (X1 = [X, 1]), X1^T y, y^T y and n, then the Cholesky\n"
        "solve of (X1^T X1 + lambda I') w = X1^T y on every rank (no penalty on the\n"
        "intercept).  Writes OUT/checkpoint.h5 (a 'linear' model for 'fedsilo eval')\n"
        "and OUT/ridge.json (coefficients in double, fit and test metrics).  With\n"
        "--impute yes the missing cells are filled first (fills stored in the checkpoint,\n"
        "applied by eval and predict).\n\n");
    fs_config_print_help(cfg, out);
    fed_usage_common(out);
    fprintf(out, "\nExit status: 0 success, 1 runtime error, 2 bad option.\n");
}

int fs_cmd_ridge(int argc, char **argv)
{
    fs_cli_mpi mpi;
    fs_ridge_result *r = NULL;
    fs_eval_report rep;
    fs_run_ctl *ctl = NULL;
    int status = fs_cli_mpi_begin(&mpi, "ridge", FS_CMD_RIDGE, &argc, &argv, 1, ridge_usage, 1,
                                  FS_LOG_WARN);
    if (status >= 0) return status;
    const fs_opts o = mpi.o;
    fs_err rc = fs_cli_watch(&mpi, &ctl);
    if (rc == FS_OK) rc = fs_ridge_run(mpi.comm, mpi.cfg, ctl, &r, &rep);
    if (rc == FS_OK && mpi.rank == 0 && !mpi.quiet) {
        const char *agg = o.fed.aggregation == FS_AGG_PLAIN ? "plain" : "secure";
        printf("fedsilo ridge: %d institutions, %.0f rows, %zu features, lambda %g%s, aggregation "
               "%s (%.3f s)\n", mpi.size, r->n, r->d, o.ridge.lambda,
               o.ridge.standardize ? " (standardized)" : "", agg, r->seconds);
        printf("fit: train_rmse %.6f  train_r2 %.6f  intercept %.6g\n", r->train_rmse, r->train_r2,
               r->b);
        if (o.fl.test[0])
            printf("test %s: rows %.0f  rmse %.6f  mae %.6f  r2 %.6f\n", o.fl.test, rep.count,
                   rep.rmse, rep.mae, rep.r2);
        printf("done: checkpoint %s/checkpoint.h5, coefficients %s/ridge.json\n", o.fed.out,
               o.fed.out);
    }
    fs_ridge_free(&r);
    return fs_cli_mpi_finish(&mpi, rc);
}

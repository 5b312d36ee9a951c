/*
 * fs_stats.h - federated analytics: descriptive statistics and exact ridge
 * regression from secure sums (the stats program of the federation core;
 * MPI).
 *
 * Every quantity that leaves a rank is a sum over its rows, and it leaves
 * only through fs_secagg_sum_f64 (the masked 64-bit-ring secure sum): no
 * rank ever sees another rank's rows or per-rank sums, only the totals.
 * Passing sa == NULL uses plain MPI_Allreduce instead, which reveals the
 * per-rank sums to the reduction tree and exists only for comparison.
 * Background, what is released, and measured numbers: docs/analytics.md.
 *
 * Statistics (fs_stats_compute), three secure sums:
 *   pass 1: n, sum_i x_ij, class counts (or sum_i y_i)      -> mean
 *   pass 2: sum_i (x_ij - mean_j)^2 (or the upper triangle of
 *           sum_i (x_i - mean)(x_i - mean)^T), sum_i (y_i - ybar)^2
 *                                                            -> var, std, cov
 *   pass 3: histogram counts over [lo_j, hi_j) with under/overflow
 * Two passes for the variance avoid the cancellation of sum x^2 - n mean^2.
 *
 * Ridge (fs_ridge_fit), one secure sum of
 *   n, X1^T X1 (upper triangle, X1 = [X, 1]), X1^T y, y^T y
 * followed by a Cholesky solve of (X1^T X1 + lambda I') w1 = X1^T y on
 * every rank (I' = identity without the intercept entry).  The solution
 * equals the centralized closed form up to the fixed-point precision of the
 * sums (2^-(f+1) per rank and entry, f = 29 for up to 4 ranks).
 *
 * Numerical contract of the secure sum: every per-rank entry must satisfy
 * |value| < 2^31 (a larger one, or NaN, is FS_ERR_NUMERIC on every rank,
 * never silently clipped).
 */
#ifndef FEDSILO_FS_STATS_H
#define FEDSILO_FS_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_data.h"
#include "fs_secagg.h"
#include "fs_opts.h"
#include "fs_config.h"
#include "fs_metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The run control of fs_fed.h (progress and stop state of a run; C11
 * allows the repeated typedef). */
typedef struct fs_run_ctl fs_run_ctl;

/* fs_stats_opts_default - no histogram, no covariance, default limits. */
FS_EXPORT void fs_stats_opts_default(fs_stats_opts *o);

/*
 * Released statistics (identical on every rank).  Arrays are owned by the
 * result and freed by fs_stats_free.  Variances and covariances use the
 * unbiased (n - 1) denominator (NaN when n < 2).
 */
typedef struct {
    size_t d;                 /* features                                     */
    double count;             /* rows over all ranks (every feature: no
                                 missing values in the fedsilo layout)       */
    int nranks;               /* institutions that contributed                 */
    fs_task task;
    int num_classes;          /* classification: K; regression: 0              */
    double *mean;             /* (d)                                          */
    double *var;              /* (d) sample variance                           */
    double *std;              /* (d) sqrt(var)                                 */
    double *class_counts;     /* (num_classes) or NULL (regression)            */
    double target_mean;       /* regression only, else NaN                     */
    double target_std;        /* regression only (n - 1), else NaN             */
    int bins;                 /* 0 when no histogram                           */
    double *hist_lo, *hist_hi;/* (d) histogram range of each feature           */
    double *hist;             /* (d, bins) counts, row-major                   */
    double *underflow;        /* (d) rows with x < lo                          */
    double *overflow;         /* (d) rows with x >= hi                         */
    double *cov;              /* (d, d) symmetric, or NULL                     */
    double *corr;             /* (d, d) symmetric, or NULL (NaN where a
                                 variance is 0)                                */
    char **feature_names;     /* (d) from rank 0's shard, or NULL              */
    double seconds;           /* wall time of the computation on this rank     */
    double dp_epsilon;        /* DP release: epsilon of all passes together at
                                 dp_delta (from the RDP accountant), else NaN  */
    double dp_noise;          /* DP release: noise multiplier z of each pass   */
    /* Shards imported with a consortium schema (fs_stats_run only; NULL or 0
     * otherwise, and under DP, where these exact sums are not released): */
    int imputed;              /* 1: --impute yes: mean ... cov above describe
                                 the columns after imputation                 */
    double *fill;             /* (d) fill values of --impute (NaN: none), or
                                 NULL                                         */
    double *missing;          /* (d) missing (NaN) cells per feature over all
                                 institutions, counted before imputation       */
    double *category_counts;  /* (d) one-hot features ("Home=rent",
                                 "Home=(other)"): rows with that category (a
                                 missing cell counts in no category); NaN for
                                 numeric and NAME_missing features            */
} fs_stats_result;

/*
 * fs_stats_compute - federated descriptive statistics of the shards ds.
 *
 * Collective on comm (every rank of comm calls it; sa, when not NULL, must
 * have been created on the same group of processes).  Logically collective
 * in o and in the shape of ds: d, task and num_classes must match on
 * every rank (a mismatch is FS_ERR_DATA naming the first bad rank).
 * *step is the nonce counter of the secure sum: each sum uses (*step)++ as
 * its round, so pass the same counter to every analytics call of a
 * session (it must match on every rank).  comm should have
 * MPI_ERRORS_RETURN set.
 *
 * in:  ds (this rank's rows; borrowed), o (borrowed)
 * out: *out, owned by the caller (fs_stats_free); NULL on failure.
 * returns the same code on every rank: FS_OK, FS_ERR_ARG (bad options,
 * covariance with d > max_cov_features: the message says how to raise the
 * limit), FS_ERR_DATA (shape mismatch), FS_ERR_NUMERIC (a per-rank sum
 * beyond +-2^31), FS_ERR_NOMEM, FS_ERR_AUTH, FS_ERR_MPI.
 */
FS_EXPORT fs_err fs_stats_compute(MPI_Comm comm, fs_secagg *sa, const fs_dataset *ds,
                                  const fs_stats_opts *o, uint64_t *step,
                                  fs_stats_result **out) FS_WARN_UNUSED;

/* fs_stats_free - free a result; NULL-safe; sets *r = NULL. */
FS_EXPORT void fs_stats_free(fs_stats_result **r);

/* Fitted model and fit statistics (identical on every rank). */
typedef struct {
    size_t d;
    double n;                 /* training rows over all ranks                  */
    double *w;                /* (d) coefficients on raw features, owned       */
    double b;                 /* intercept                                     */
    double *mean, *scale;     /* (d) standardization used (scale 1 if off)     */
    double train_rmse;        /* from the sums: SSE = y'y - 2 w1'X1'y + w1'A w1 */
    double train_r2;          /* 1 - SSE / SST                                 */
    double seconds;           /* wall time on this rank                        */
} fs_ridge_result;

/*
 * fs_ridge_fit - exact ridge (or, with lambda 0, least-squares) regression
 * in one secure sum, solved by Cholesky on every rank.
 *
 * Collective on comm, as fs_stats_compute (same *step convention).  ds
 * must be a regression dataset with the same d on every rank.
 * out: *out owned by the caller (fs_ridge_free); NULL on failure.
 * returns the same code on every rank: FS_OK, FS_ERR_ARG (lambda < 0,
 * classification data), FS_ERR_DATA (shape mismatch), FS_ERR_NUMERIC
 * (a per-rank sum beyond +-2^31, or the system is not positive definite:
 * too few rows or collinear features with lambda 0; the message suggests
 * --lambda > 0), FS_ERR_NOMEM, FS_ERR_AUTH, FS_ERR_MPI.
 */
FS_EXPORT fs_err fs_ridge_fit(MPI_Comm comm, fs_secagg *sa, const fs_dataset *ds,
                              const fs_ridge_opts *o, uint64_t *step,
                              fs_ridge_result **out) FS_WARN_UNUSED;

/* fs_ridge_free - NULL-safe; sets *r = NULL. */
FS_EXPORT void fs_ridge_free(fs_ridge_result **r);

/*
 * fs_ridge_write_checkpoint - write r as a "linear" model checkpoint
 * (params W (1 x d) then b, float32) to path, atomically, so that
 * `fedsilo eval` and fs_checkpoint_evaluate can use it.  Not collective
 * (call it on one rank).  nsilos is recorded in the file.  schema (the
 * shards' consortium schema, INI text) and fill (d fill values of
 * --impute, NaN = none) may be NULL; when given they are stored in the
 * checkpoint's /pipeline group, so eval and predict fill missing cells
 * the same way.  returns FS_OK, FS_ERR_NOMEM, FS_ERR_IO.
 */
FS_EXPORT fs_err fs_ridge_write_checkpoint(const fs_ridge_result *r, int nsilos,
                                           const char *schema, const double *fill,
                                           const char *path) FS_WARN_UNUSED;

/*
 * fs_stats_run - `fedsilo stats`: open the federation core from cfg (a
 * stats configuration: shards, roster, aggregation), compute the
 * statistics and, with --json, write them to that file (rank 0, durable).
 * On shards imported with a schema it also sums the missing cells per
 * feature and the rows per category (one exact secure sum, before any
 * imputation; not under --dp-epsilon); with --impute yes it fits the
 * fills with fs_prep_fit (exact secure sums), applies them, and the
 * statistics describe the imputed columns.  Collective on comm.  *out
 * (identical on every rank) is owned by the caller (fs_stats_free).
 * Returns the same code on every rank.  ctl (or NULL) receives the run's
 * progress (the open, the key setup, every secure sum) for a watchdog
 * thread (fs_run_ctl_progress); it must outlive the call.
 */
FS_EXPORT fs_err fs_stats_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                              fs_stats_result **out)
    FS_WARN_UNUSED;

/*
 * fs_ridge_run - `fedsilo ridge`: open the federation core from cfg (a
 * ridge configuration), with --impute yes fill missing cells with
 * fs_prep_fit's values (stored in the checkpoint), fit, then on rank 0
 * write OUT/checkpoint.h5 (a "linear" model, with the shards' schema and
 * fills in /pipeline), evaluate it on --test (if given) into *test (count
 * 0 otherwise), and write OUT/ridge.json; the outcome is agreed.
 * Collective on comm.  *out owned by the caller (fs_ridge_free); *test is
 * filled on rank 0 only.  ctl (or NULL): progress for a watchdog, as for
 * fs_stats_run.
 */
FS_EXPORT fs_err fs_ridge_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                              fs_ridge_result **out, fs_eval_report *test) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_STATS_H */

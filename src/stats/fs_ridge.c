/*
 * fs_ridge.c - exact federated ridge regression in one secure sum, solved
 * by Cholesky on every rank, and its "linear" model checkpoint (stats
 * program; binds to MPI).  See fs_stats.h and docs/analytics.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "stats/fs_stats_impl.h"
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_agree.h"

/*
 * In-place Cholesky factorization A = L L^T of a symmetric positive
 * definite p x p matrix (row-major; only the lower triangle is read and L
 * overwrites it), then the solve L L^T x = b in place of b.  Returns -1
 * (A untouched in part) if a pivot is not positive and finite.
 */
static int cholesky_solve(double *A, double *b, size_t p)
{
    for (size_t j = 0; j < p; j++) {
        double s = A[j * p + j];
        for (size_t k = 0; k < j; k++) s -= A[j * p + k] * A[j * p + k];
        if (!(s > 0) || !isfinite(s)) return -1;
        double ljj = sqrt(s);
        A[j * p + j] = ljj;
        for (size_t i = j + 1; i < p; i++) {
            double t = A[i * p + j];
            for (size_t k = 0; k < j; k++) t -= A[i * p + k] * A[j * p + k];
            A[i * p + j] = t / ljj;
        }
    }
    for (size_t i = 0; i < p; i++) {          /* forward: L z = b */
        double t = b[i];
        for (size_t k = 0; k < i; k++) t -= A[i * p + k] * b[k];
        b[i] = t / A[i * p + i];
    }
    for (size_t i = p; i-- > 0;) {            /* backward: L^T x = z */
        double t = b[i];
        for (size_t k = i + 1; k < p; k++) t -= A[k * p + i] * b[k];
        b[i] = t / A[i * p + i];
    }
    return 0;
}

void fs_ridge_free(fs_ridge_result **r)
{
    if (!r || !*r) return;
    free((*r)->w); free((*r)->mean); free((*r)->scale);
    free(*r);
    *r = NULL;
}

fs_err fs_ridge_fit(MPI_Comm comm, fs_secagg *sa, const fs_dataset *ds, const fs_ridge_opts *o,
                    uint64_t *step, fs_ridge_result **out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_ridge_result *r = NULL;
    double *vec = NULL, *M = NULL, *rhs = NULL;
    const double t0 = fs_now();
    *out = NULL;

    const double optv[3] = { o->lambda, o->standardize, (double)*step };
    static const char *const optn[3] = { "lambda", "standardize", "step counter" };
    if (!(o->lambda >= 0) || !isfinite(o->lambda))
        local = fs_error_set(FS_ERR_ARG, "--lambda must be a finite number >= 0, got %g", o->lambda);
    else if (ds->task != FS_TASK_REGRESSION)
        local = fs_error_set(FS_ERR_ARG, "ridge regression needs a regression dataset (import "
                             "with --task regression)");
    FS_TRY(fs_stats_check_uniform(comm, local, optv, optn, 3, FS_ERR_ARG));
    const double shape[1] = { (double)ds->d };
    static const char *const shapen[1] = { "features" };
    FS_TRY(fs_stats_check_uniform(comm, FS_OK, shape, shapen, 1, FS_ERR_DATA));

    /* The augmented design X1 = [X, 1] has p = d + 1 columns; the intercept
     * is column d.  vec = [n, upper triangle of A = X1^T X1 (p(p+1)/2),
     * c = X1^T y (p), y^T y]. */
    const size_t d = ds->d, n = ds->n, p = d + 1, nt = p * (p + 1) / 2;
    const size_t vlen = 1 + nt + p + 1;
    local = fs_zalloc(&r, 1, sizeof *r, "ridge result");
    if (local == FS_OK) local = fs_zalloc(&r->w, d, sizeof(double), "ridge result");
    if (local == FS_OK) local = fs_zalloc(&r->mean, d, sizeof(double), "ridge result");
    if (local == FS_OK) local = fs_zalloc(&r->scale, d, sizeof(double), "ridge result");
    if (local == FS_OK) local = fs_zalloc(&vec, vlen, sizeof *vec, "ridge sums");
    if (local == FS_OK) local = fs_zalloc(&M, p * p, sizeof *M, "ridge system");
    if (local == FS_OK) local = fs_zalloc(&rhs, p, sizeof *rhs, "ridge system");
    FS_TRY(fs_agree(comm, local, NULL));
    r->d = d;

    double *At = vec + 1, *c = vec + 1 + nt;
    vec[0] = (double)n;
    for (size_t i = 0; i < n; i++) {
        const float *x = ds->X + i * d;
        const double y = ds->y_reg[i];
        for (size_t j = 0; j < p; j++) {
            const double xj = j < d ? x[j] : 1.0;
            double *row = At + tri(p, j, j);
            for (size_t k = j; k < d; k++) row[k - j] += xj * x[k];
            row[d - j] += xj;                  /* column d: the intercept's 1 */
            c[j] += xj * y;
        }
        vec[vlen - 1] += y * y;
    }
    /* collective: the one secure round of the protocol */
    FS_TRY(fs_stats_sum(comm, sa, step, VID_RIDGE, vec, vlen, "ridge sufficient statistics", FS_OK));

    const double N = vec[0], yty = vec[vlen - 1], ybar = c[d] / N;
    r->n = N;
#define A(j, k) ((j) <= (k) ? At[tri(p, (j), (k))] : At[tri(p, (k), (j))])
    if (!o->standardize) {
        /* (X1^T X1 + lambda I') w1 = X1^T y, I' without the intercept. */
        for (size_t j = 0; j < p; j++) {
            for (size_t k = 0; k < p; k++) M[j * p + k] = A(j, k);
            if (j < d) M[j * p + j] += o->lambda;
            rhs[j] = c[j];
        }
        if (cholesky_solve(M, rhs, p) != 0)
            FS_FAIL(FS_ERR_NUMERIC, "ridge: X^T X + lambda I is not positive definite (%.0f rows, "
                    "%zu features; collinear or constant features?): use --lambda > 0",
                    N, d);
        for (size_t j = 0; j < d; j++) { r->w[j] = rhs[j]; r->mean[j] = 0; r->scale[j] = 1; }
        r->b = rhs[d];
    } else {
        /* Centered moments from the same sums: C = A_xx - N mu mu^T, population
         * std s_j = sqrt(C_jj / N) (1 for a constant feature).  In standardized
         * coordinates the intercept decouples (= ybar) and
         *   (S^-1 C S^-1 + lambda I) v = S^-1 (c_x - N mu ybar),  w = S^-1 v. */
        for (size_t j = 0; j < d; j++) r->mean[j] = A(j, d) / N;
        for (size_t j = 0; j < d; j++) {
            double v = (A(j, j) - N * r->mean[j] * r->mean[j]) / N;
            r->scale[j] = v > 0 ? sqrt(v) : 1.0;
        }
        for (size_t j = 0; j < d; j++) {
            for (size_t k = 0; k < d; k++)
                M[j * d + k] = (A(j, k) - N * r->mean[j] * r->mean[k]) / (r->scale[j] * r->scale[k]);
            M[j * d + j] += o->lambda;
            rhs[j] = (c[j] - N * r->mean[j] * ybar) / r->scale[j];
        }
        if (cholesky_solve(M, rhs, d) != 0)
            FS_FAIL(FS_ERR_NUMERIC, "ridge: the standardized system is not positive definite "
                    "(%.0f rows, %zu features; collinear features?): use --lambda > 0", N, d);
        r->b = ybar;
        for (size_t j = 0; j < d; j++) {
            r->w[j] = rhs[j] / r->scale[j];
            r->b -= r->mean[j] * r->w[j];
        }
    }
    /* Training fit from the sums alone: SSE = y'y - 2 w1'c + w1' A w1. */
    double wc = 0, wAw = 0;
    for (size_t j = 0; j < p; j++) {
        double wj = j < d ? r->w[j] : r->b;
        wc += wj * c[j];
        for (size_t k = 0; k < p; k++) wAw += wj * A(j, k) * (k < d ? r->w[k] : r->b);
    }
#undef A
    double sse = yty - 2 * wc + wAw, sst = yty - N * ybar * ybar;
    if (sse < 0) sse = 0;
    r->train_rmse = sqrt(sse / N);
    r->train_r2 = sst > 0 ? 1 - sse / sst : NAN;
    r->seconds = fs_now() - t0;
    *out = r;
    r = NULL;
done:
    free(vec);
    free(M);
    free(rhs);
    fs_ridge_free(&r);
    return rc;
}

fs_err fs_ridge_write_checkpoint(const fs_ridge_result *r, int nsilos, const char *schema,
                                 const double *fill, const char *path)
{
    fs_err rc = FS_OK;
    fs_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    FS_TRY(fs_alloc(&ck.params, r->d + 1, sizeof(float), "checkpoint parameters"));
    /* fs_model.h slab order of "linear": W (1 x d), then b. */
    for (size_t j = 0; j < r->d; j++) ck.params[j] = (float)r->w[j];
    ck.params[r->d] = (float)r->b;
    ck.round = 1;
    snprintf(ck.model, sizeof ck.model, "linear");
    ck.d = r->d;
    ck.task = FS_TASK_REGRESSION;
    ck.num_classes = 0;
    ck.nparams = r->d + 1;
    ck.model_hash = fs_params_hash(ck.params, ck.nparams);
    ck.nsilos = nsilos;
    snprintf(ck.server_opt, sizeof ck.server_opt, "closed-form");
    ck.schema = (char *)schema;        /* the writer only reads them */
    ck.impute_fill = (double *)fill;
    FS_TRY(fs_checkpoint_write(&ck, path));
done:
    free(ck.params);
    return rc;
}

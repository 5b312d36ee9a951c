/*
 * train_throughput.c - local training throughput of fedsilo against PyTorch.
 *
 * Trains MLP 784-256-128-10 (softmax CE) with fs_sgd_train, minibatch 64,
 * SGD lr 0.1 momentum 0.9, one BLAS thread, on synthetic data (60000 random
 * rows, 10 classes) or on a fedsilo dataset file (--data FILE.h5).
 *
 * Measurements, all in this process and run:
 *   - the single-thread sgemm peak: the best of three 512^3 sgemm calls,
 *     taken again in every slice below (the machine's speed drifts);
 *   - each sgemm call of one training step, timed alone with the shapes and
 *     orientations fs_model.c uses, and fs_model_loss_grad (forward and
 *     backward) on one batch, in CPU time: so a step splits into sgemm,
 *     the other forward/backward passes (bias+ReLU, softmax, column sums,
 *     zeroing the gradient) and the rest of fs_sgd_train (batch gather,
 *     momentum update, shuffle);
 *   - fedsilo and PyTorch interleaved: bench/torch_mlp.py runs as a
 *     co-process (--serve) with the same model and workload, and the two
 *     alternate in --slices slices (one fedsilo epoch, then torch for as
 *     long), so both see the same machine load; rates are medians over the
 *     slices, per wall-clock second and per CPU second of each process
 *     (the second is less distorted when other programs share the cores).
 * It prints samples/s, the achieved GFLOP/s next to the peak, and
 *
 *     ratio fedsilo/torch: X.XXx wall-clock, Y.YYx per CPU second (target >= 1.5x)
 *
 * It reports numbers only and never fails on a time threshold.  Uses the
 * public API of libfedsilo plus OpenBLAS's cblas.  Torch is found as
 * $PYTHON_TORCH (default /usr/bin/python3) with bench/torch_mlp.py under
 * $FS_SRCDIR or the compiled-in source directory; without torch the ratio
 * is skipped.
 *
 * usage: train_throughput [--data FILE.h5] [--rows N] [--seconds S] [--slices K]
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fedsilo/fs_core.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_model.h"

#ifndef FS_SRCDIR
#define FS_SRCDIR "."
#endif

#define MAX_SLICES 64

/* 60000 x 784 features uniform in [0, 1), labels uniform in 0..9 (xorshift64*). */
static fs_err synthetic(size_t n, fs_dataset **out)
{
    fs_err rc = fs_dataset_create(n, 784, FS_TASK_CLASSIFICATION, 10, out);
    if (rc != FS_OK) return rc;
    uint64_t s = UINT64_C(0x9e3779b97f4a7c15);
    for (size_t i = 0; i < n * 784; i++) {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        (*out)->X[i] = (float)((s * UINT64_C(2685821657736338717)) >> 40) / 16777216.0f;
    }
    for (size_t i = 0; i < n; i++) {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        (*out)->y_class[i] = (int32_t)(((s * UINT64_C(2685821657736338717)) >> 33) % 10);
    }
    return FS_OK;
}

/* CPU seconds of this process (all threads). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ---------------------------------------------------------------- sgemm

/* One row-major sgemm C (M, N) = op(A) op(B) + beta C as fs_model.c calls it. */
typedef struct {
    const char *what;
    int ta, tb;             /* CblasTrans for A / B */
    int M, N, K;
    float beta;
} gemm_call;

/* Seconds of the fastest of `reps` calls (after one warm-up). */
static double time_gemm(const gemm_call *g, float *a, float *b, float *c, int reps)
{
    const int lda = g->ta == CblasTrans ? g->M : g->K, ldb = g->tb == CblasTrans ? g->K : g->N;
    double best = 1e30;
    for (int r = -1; r < reps; r++) {
        double t0 = fs_now();
        cblas_sgemm(CblasRowMajor, (CBLAS_TRANSPOSE)g->ta, (CBLAS_TRANSPOSE)g->tb, g->M, g->N,
                    g->K, 1.0f, a, lda, b, ldb, g->beta, c, g->N);
        double dt = fs_now() - t0;
        if (r >= 0 && dt < best) best = dt;
    }
    return best;
}

enum { PEAK_N = 512 };

/* The single-thread sgemm rate in GFLOP/s: best of 3 PEAK_N^3 calls on
 * the caller's buffers (each >= PEAK_N^2 floats). */
static double sgemm_peak(float *a, float *b, float *c)
{
    gemm_call sq = { "peak", CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N, PEAK_N, 0.0f };
    return 2.0 * PEAK_N * PEAK_N * PEAK_N / time_gemm(&sq, a, b, c, 3) / 1e9;
}

/*
 * The sgemm calls of one training step of an MLP with dims dim[0..L]
 * (fs_model.c: forward Z = A W^T, backward dW += G^T A, dA = G W for
 * l >= 1), timed alone; prints each and returns the summed seconds per
 * step.  The buffers (*a, *b, *c, large enough for the peak too) stay
 * allocated for the per-slice peaks; NULL on allocation failure.
 */
static double gemm_profile(const size_t *dim, int L, int B, float **a, float **b, float **c)
{
    size_t big = (size_t)PEAK_N * PEAK_N;
    for (int l = 0; l < L; l++) {
        size_t need = dim[l] * dim[l + 1];
        if ((size_t)B * dim[l] > need) need = (size_t)B * dim[l];
        if ((size_t)B * dim[l + 1] > need) need = (size_t)B * dim[l + 1];
        if (need > big) big = need;
    }
    *a = malloc(big * sizeof **a);
    *b = malloc(big * sizeof **b);
    *c = malloc(big * sizeof **c);
    if (!*a || !*b || !*c) {
        free(*a); free(*b); free(*c);
        *a = *b = *c = NULL;
        return 0;
    }
    for (size_t i = 0; i < big; i++) {
        (*a)[i] = (float)(i % 7) * 0.1f;
        (*b)[i] = (float)(i % 5) * 0.1f;
        (*c)[i] = 0;
    }
    double total = 0;
    for (int l = 0; l < L; l++) {
        const int in = (int)dim[l], out = (int)dim[l + 1];
        gemm_call calls[3] = {
            { "forward  Z = A W^T ", CblasNoTrans, CblasTrans, B, out, in, 0.0f },
            { "backward dW += G^T A", CblasTrans, CblasNoTrans, out, in, B, 1.0f },
            { "backward dA = G W  ", CblasNoTrans, CblasNoTrans, B, in, out, 0.0f } };
        for (int k = 0; k < (l > 0 ? 3 : 2); k++) {
            double t = time_gemm(&calls[k], *a, *b, *c, 200);
            double gf = 2.0 * calls[k].M * calls[k].N * calls[k].K / t / 1e9;
            printf("  layer %d %s M=%-4d N=%-4d K=%-4d %7.1f us %6.1f GFLOP/s\n", l, calls[k].what,
                   calls[k].M, calls[k].N, calls[k].K, 1e6 * t, gf);
            total += t;
        }
    }
    return total;
}

// ---------------------------------------------------------------- torch co-process

typedef struct {
    pid_t pid;
    FILE *to, *from;
} coproc;

/* Start torch_mlp.py --serve for the same workload; 0 on success (ready),
 * 1 if torch is not installed, -1 on failure. */
static int torch_start(coproc *t, size_t rows, size_t d, int k)
{
    const char *py = getenv("PYTHON_TORCH"), *src = getenv("FS_SRCDIR");
    char cmd[4096], script[4096], line[256];
    if (!py || !*py) py = "/usr/bin/python3";
    if (!src || !*src) src = FS_SRCDIR;
    snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", py);
    if (system(cmd) != 0) return 1;
    snprintf(script, sizeof script, "%s/bench/torch_mlp.py", src);
    char srows[32], sd[32], sk[32];
    snprintf(srows, sizeof srows, "%zu", rows);
    snprintf(sd, sizeof sd, "%zu", d);
    snprintf(sk, sizeof sk, "%d", k);
    int in[2], out[2];
    if (pipe(in) != 0) return -1;
    if (pipe(out) != 0) { close(in[0]); close(in[1]); return -1; }
    fflush(stdout);
    t->pid = fork();
    if (t->pid < 0) return -1;
    if (t->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execl(py, py, script, "--serve", "--rows", srows, "--features", sd, "--classes", sk,
              (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    t->to = fdopen(in[1], "w");
    t->from = fdopen(out[0], "r");
    if (!t->to || !t->from || !fgets(line, sizeof line, t->from) || strncmp(line, "ready", 5))
        return -1;
    return 0;
}

/* One torch slice of `seconds`; returns its samples/s (wall clock) and
 * sets *per_cpu to its samples per CPU second, or returns -1. */
static double torch_slice(coproc *t, double seconds, double *per_cpu)
{
    char line[256];
    double rate = -1;
    fprintf(t->to, "run %g\n", seconds);
    fflush(t->to);
    if (!fgets(line, sizeof line, t->from) ||
        sscanf(line, "torch: %lf samples/s, %lf per CPU second", &rate, per_cpu) != 2)
        rate = -1;
    return rate;
}

/* CPU seconds of one fs_model_loss_grad (forward + backward, gradient
 * zeroed first) on the first B rows of ds: median of 101 calls. */
static double loss_grad_cpu(fs_model *m, const fs_dataset *ds, size_t B)
{
    double t[101], loss = 0;
    for (int r = -1; r < 101; r++) {
        double c0 = cpu_now();
        if (fs_model_loss_grad(m, ds->X, ds->y_class, NULL, B, &loss) != FS_OK) return 0;
        if (r >= 0) t[r] = cpu_now() - c0;
    }
    return median(t, 101);
}

static void torch_stop(coproc *t)
{
    if (t->to) { fprintf(t->to, "quit\n"); fclose(t->to); }
    if (t->from) fclose(t->from);
    if (t->pid > 0) waitpid(t->pid, NULL, 0);
}

// ---------------------------------------------------------------- main

int main(int argc, char **argv)
{
    const char *data = NULL;
    size_t rows = 60000;
    double seconds = 5.0;
    int slices = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc) rows = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--slices") && i + 1 < argc) slices = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--data FILE.h5] [--rows N] [--seconds S] [--slices K]\n",
                    argv[0]);
            return 2;
        }
    }
    if (slices < 1 || slices > MAX_SLICES || !(seconds > 0)) {
        fprintf(stderr, "train_throughput: --slices must be 1..%d and --seconds > 0\n", MAX_SLICES);
        return 2;
    }
    // One thread for us (the library was loaded already, so the variable
    // alone would be too late) and, through the environment, for torch's
    // OpenBLAS, OpenMP and oneDNN as well.
    openblas_set_num_threads(1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    signal(SIGPIPE, SIG_IGN);

    fs_dataset *ds = NULL;
    fs_model *m = NULL;
    fs_err rc = data ? fs_dataset_read(data, FS_PART_TRAIN, &ds) : synthetic(rows, &ds);
    if (rc == FS_OK && ds->task != FS_TASK_CLASSIFICATION)
        rc = fs_error_set(FS_ERR_ARG, "%s is a regression dataset; the bench (and its torch "
                          "twin) train a classifier", data);
    if (rc == FS_OK) rc = fs_model_create("mlp:256,128", ds->d, ds->task, ds->num_classes, 64, &m);
    if (rc != FS_OK) {
        fprintf(stderr, "train_throughput: %s: %s\n", fs_strerror(rc), fs_errmsg());
        fs_dataset_destroy(&ds);
        return 1;
    }
    fs_model_init(m, 1);
    const size_t dim[4] = { ds->d, 256, 128, (size_t)ds->num_classes };
    const int L = 3, B = 64;
    // FLOPs of one sample: forward and dW of every layer, dA of layers >= 1.
    double flops = 0;
    for (int l = 0; l < L; l++) flops += 2.0 * (l > 0 ? 3 : 2) * (double)(dim[l] * dim[l + 1]);
    printf("model mlp:256,128 on %zu x %zu, batch %d, 1 BLAS thread (%s); %.3f MFLOP per "
           "sample in sgemm\n", ds->n, ds->d, B, openblas_get_corename(), flops / 1e6);
    float *ga = NULL, *gb = NULL, *gc = NULL;   // sgemm buffers for the peaks
    double gemm_step = gemm_profile(dim, L, B, &ga, &gb, &gc);
    double fwdbwd = loss_grad_cpu(m, ds, (size_t)B);
    fflush(stdout);

    coproc torch = { -1, NULL, NULL };
    const int have_torch = torch_start(&torch, ds->n, ds->d, ds->num_classes);

    fs_sgd_opts o = { .lr = 0.1, .momentum = 0.9, .weight_decay = 0.0, .batch_size = (size_t)B,
                      .local_epochs = 1, .local_steps = 50 };
    fs_sgd_stats st;
    rc = fs_sgd_train(m, ds, &o, 1, 0, 0, &st);                  // warm-up: 50 steps
    o.local_steps = 0;
    double ours[MAX_SLICES], theirs[MAX_SLICES], peaks[MAX_SLICES], frac[MAX_SLICES];
    double ours_cpu[MAX_SLICES], theirs_cpu[MAX_SLICES];
    int ntorch = 0;
    double samples = 0, elapsed = 0;
    for (int k = 0; rc == FS_OK && k < slices; k++) {
        // one fedsilo slice: whole epochs for about seconds / slices
        double t0 = fs_now(), c0 = cpu_now(), s = 0;
        for (int e = 1; rc == FS_OK && (s == 0 || fs_now() - t0 < seconds / slices); e++) {
            rc = fs_sgd_train(m, ds, &o, 1, 0, 100 * k + e, &st);
            s += st.samples;
        }
        double dt = fs_now() - t0, dc = cpu_now() - c0;
        ours[k] = s / dt;
        ours_cpu[k] = dc > 0 ? s / dc : 0;
        peaks[k] = ga ? sgemm_peak(ga, gb, gc) : 0;
        frac[k] = peaks[k] > 0 ? ours[k] * flops / 1e9 / peaks[k] : 0;
        samples += s;
        elapsed += dt;
        if (have_torch == 0) {
            double pc = 0, r = torch_slice(&torch, dt, &pc);
            if (r > 0) { theirs_cpu[ntorch] = pc; theirs[ntorch++] = r; }
        }
    }
    torch_stop(&torch);
    if (rc != FS_OK) {
        fprintf(stderr, "train_throughput: %s: %s\n", fs_strerror(rc), fs_errmsg());
        fs_model_destroy(&m);
        fs_dataset_destroy(&ds);
        return 1;
    }
    free(ga); free(gb); free(gc);
    double rate = median(ours, slices);
    double rate_cpu = median(ours_cpu, slices);
    double step = B / rate_cpu, peak = median(peaks, slices), share = median(frac, slices);
    printf("sgemm peak, 1 thread (%s): %.1f GFLOP/s (median over the slices of the best of 3 "
           "%dx%dx%d calls, taken right after each fedsilo slice)\n", openblas_get_corename(),
           peak, PEAK_N, PEAK_N, PEAK_N);
    printf("fedsilo: %.0f samples/s, %.0f per CPU second (medians of %d slices; %.0f samples in "
           "%.2f s, last epoch mean loss %.4f)\n", rate, rate_cpu, slices, samples, elapsed,
           st.loss_sum / st.samples);
    printf("fedsilo: %.1f GFLOP/s = %.0f%% of the sgemm peak (median of the per-slice shares, "
           "wall clock)\n", rate * flops / 1e9, 100.0 * share);
    printf("fedsilo step (CPU time): %.1f us = forward+backward %.1f us (its sgemm calls alone "
           "%.1f us, the other passes %.1f us) + batch gather, momentum update, shuffle %.1f us\n",
           1e6 * step, 1e6 * fwdbwd, 1e6 * gemm_step, 1e6 * (fwdbwd - gemm_step),
           1e6 * (step - fwdbwd));
    if (have_torch == 1) {
        printf("torch: not installed (python3-torch), ratio not measured\n");
    } else if (ntorch == 0) {
        printf("torch: baseline failed to run, ratio not measured\n");
    } else {
        double tr = median(theirs, ntorch), tc = median(theirs_cpu, ntorch);
        printf("torch: %.0f samples/s, %.0f per CPU second (medians of %d slices interleaved "
               "with fedsilo's)\n", tr, tc, ntorch);
        printf("ratio fedsilo/torch: %.2fx wall-clock, %.2fx per CPU second (target >= 1.5x)\n",
               rate / tr, tc > 0 ? rate_cpu / tc : 0.0);
    }
    fs_model_destroy(&m);
    fs_dataset_destroy(&ds);
    return 0;
}

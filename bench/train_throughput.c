/*
 * train_throughput.c - local training throughput of fedsilo against PyTorch.
 *
 * Trains MLP 784-256-128-10 (softmax CE) with fs_sgd_train, minibatch 64,
 * SGD lr 0.1 momentum 0.9, one BLAS thread, on synthetic data (60000 random
 * rows, 10 classes) or on a fedsilo dataset file (--data FILE.h5).  After a
 * warm-up it times whole epochs for at least --seconds and prints
 *
 *     fedsilo: N samples/s
 *
 * Then, if $PYTHON_TORCH (default /usr/bin/python3) can import torch, it
 * runs bench/torch_mlp.py (same model and workload; found through
 * $FS_SRCDIR or the compiled-in source directory) and prints
 *
 *     torch: N samples/s
 *     ratio fedsilo/torch: X.XXx (target >= 1.5x)
 *
 * It reports numbers only and never fails on a time threshold.  Uses the
 * public API of libfedsilo plus openblas_set_num_threads.
 *
 * usage: train_throughput [--data FILE.h5] [--rows N] [--seconds S]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedsilo/fs_core.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_model.h"

#ifndef FS_SRCDIR
#define FS_SRCDIR "."
#endif

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

/*
 * Run torch_mlp.py on synthetic data of the same shape (rows x d, k
 * classes); returns its samples/s, 0 if torch is missing, -1 on failure.
 */
static double run_torch(size_t rows, size_t d, int k, double seconds)
{
    const char *py = getenv("PYTHON_TORCH");
    const char *src = getenv("FS_SRCDIR");
    char cmd[4096], line[512];
    if (!py || !*py) py = "/usr/bin/python3";
    if (!src || !*src) src = FS_SRCDIR;

    snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", py);
    if (system(cmd) != 0) return 0.0;
    snprintf(cmd, sizeof cmd, "'%s' '%s/bench/torch_mlp.py' --rows %zu --features %zu "
             "--classes %d --seconds %g", py, src, rows, d, k, seconds);
    FILE *p = popen(cmd, "r");
    if (!p) return -1.0;
    double rate = -1.0;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "torch: %lf samples/s", &rate) == 1) break;
    while (fgets(line, sizeof line, p)) {}
    if (pclose(p) != 0) rate = -1.0;
    return rate;
}

int main(int argc, char **argv)
{
    const char *data = NULL;
    size_t rows = 60000;
    double seconds = 5.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc) rows = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--data FILE.h5] [--rows N] [--seconds S]\n", argv[0]);
            return 2;
        }
    }
    // One thread for us (the library was loaded already, so the variable
    // alone would be too late) and, through the environment, for torch's
    // OpenBLAS, OpenMP and oneDNN as well.
    openblas_set_num_threads(1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);

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

    fs_sgd_opts o = { .lr = 0.1, .momentum = 0.9, .weight_decay = 0.0, .batch_size = 64,
                      .local_epochs = 1, .local_steps = 50 };
    fs_sgd_stats st;
    rc = fs_sgd_train(m, ds, &o, 1, 0, 0, &st);                  // warm-up: 50 steps
    double samples = 0.0, t0 = fs_now(), elapsed = 0.0;
    o.local_steps = 0;
    for (int epoch = 1; rc == FS_OK && elapsed < seconds; epoch++) {
        rc = fs_sgd_train(m, ds, &o, 1, 0, epoch, &st);
        samples += st.samples;
        elapsed = fs_now() - t0;
    }
    if (rc != FS_OK) {
        fprintf(stderr, "train_throughput: %s: %s\n", fs_strerror(rc), fs_errmsg());
        fs_model_destroy(&m);
        fs_dataset_destroy(&ds);
        return 1;
    }
    double ours = samples / elapsed;
    printf("model mlp:256,128 on %zu x %zu, batch 64, 1 BLAS thread (%s)\n", ds->n, ds->d,
           openblas_get_corename());
    printf("fedsilo: %.0f samples/s (%.0f samples in %.2f s, last epoch mean loss %.4f)\n", ours,
           samples, elapsed, st.loss_sum / st.samples);
    fflush(stdout);

    double torch = run_torch(ds->n, ds->d, ds->num_classes, seconds);
    if (torch == 0.0) {
        printf("torch: not installed (python3-torch), ratio not measured\n");
    } else if (torch < 0.0) {
        printf("torch: baseline failed to run, ratio not measured\n");
    } else {
        printf("torch: %.0f samples/s\n", torch);
        printf("ratio fedsilo/torch: %.2fx (target >= 1.5x)\n", ours / torch);
    }
    fs_model_destroy(&m);
    fs_dataset_destroy(&ds);
    return 0;
}

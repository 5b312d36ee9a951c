/*
 * check_model.c - unit tests of the train layer (fs_model.c, fs_sgd.c).
 *
 * No MPI.  Gradients of every model/loss are checked against central finite
 * differences of the returned mean loss; the spec parser, task checks,
 * evaluation sums and the SGD contract (reproducibility, shuffle keying,
 * local_steps, momentum/weight-decay update, non-finite detection) are
 * checked directly.  Datasets are built by hand as plain fs_dataset structs,
 * so these tests depend only on the train and core layers.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedsilo/fs_model.h"
#include "fs_impl.h"
#include "train/fs_train_impl.h"

// ----------------------------------------------------------------------------
// helpers

/* A hand-made dataset: n rows, d features, zero-filled labels. */
static fs_dataset *ds_new(size_t n, size_t d, fs_task task, int num_classes)
{
    fs_dataset *ds = calloc(1, sizeof *ds);
    ck_assert_ptr_nonnull(ds);
    ds->n = n;
    ds->d = d;
    ds->task = task;
    ds->num_classes = task == FS_TASK_CLASSIFICATION ? num_classes : 0;
    ds->X = calloc(n * d + 1, sizeof(float));
    ck_assert_ptr_nonnull(ds->X);
    if (task == FS_TASK_CLASSIFICATION) ds->y_class = calloc(n + 1, sizeof(int32_t));
    else ds->y_reg = calloc(n + 1, sizeof(float));
    ck_assert(ds->y_class || ds->y_reg);
    ds->shard_index = -1;
    return ds;
}

static void ds_free(fs_dataset *ds)
{
    if (!ds) return;
    free(ds->X);
    free(ds->y_class);
    free(ds->y_reg);
    free(ds);
}

/* Uniform float in [lo, hi). */
static float unif(fs_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)fs_rng_uniform(r);
}

/* Features with |x| in [0.5, 1.5] and random sign; random labels/targets. */
static fs_dataset *ds_random(size_t n, size_t d, fs_task task, int num_classes, uint64_t seed)
{
    fs_dataset *ds = ds_new(n, d, task, num_classes);
    fs_rng r;
    fs_rng_seed(&r, seed);
    for (size_t i = 0; i < n * d; i++)
        ds->X[i] = (fs_rng_uniform(&r) < 0.5 ? -1.0f : 1.0f) * unif(&r, 0.5f, 1.5f);
    for (size_t i = 0; i < n; i++) {
        if (task == FS_TASK_CLASSIFICATION) ds->y_class[i] = (int32_t)fs_rng_below(&r, (uint64_t)num_classes);
        else ds->y_reg[i] = unif(&r, -2.0f, 2.0f);
    }
    return ds;
}

static fs_model *model_new(const char *spec, size_t d, fs_task task, int num_classes, size_t max_batch)
{
    fs_model *m = NULL;
    fs_err rc = fs_model_create(spec, d, task, num_classes, max_batch, &m);
    ck_assert_msg(rc == FS_OK, "fs_model_create(%s): %s", spec, fs_errmsg());
    ck_assert_ptr_nonnull(m);
    return m;
}

static double loss_at(fs_model *m, const fs_dataset *ds, size_t b)
{
    double loss = 0.0;
    fs_err rc = fs_model_loss_grad(m, ds->X, ds->y_class, ds->y_reg, b, &loss);
    ck_assert_msg(rc == FS_OK, "fs_model_loss_grad: %s", fs_errmsg());
    return loss;
}

/*
 * Central-difference check of every gradient coordinate of the mean loss
 * on b random rows.  The parameters are jittered first so biases are
 * non-zero and every gradient coordinate is sizeable; hidden units then
 * sit far from the ReLU kink for these fixed seeds.  Returns the number of
 * coordinates that disagree (each printed to stderr).
 */
static int gradcheck(const char *spec, size_t d, fs_task task, int num_classes, size_t b,
                     uint64_t seed)
{
    const float eps = 2e-3f;
    fs_model *m = model_new(spec, d, task, num_classes, b + 3);
    fs_dataset *ds = ds_random(b, d, task, num_classes, seed);
    fs_model_init(m, seed);
    size_t np = fs_model_nparams(m);
    float *w = fs_model_params(m);
    fs_rng r;
    fs_rng_seed(&r, seed ^ 0x5eed);
    for (size_t i = 0; i < np; i++) w[i] += unif(&r, -0.3f, 0.3f);

    (void)loss_at(m, ds, b);
    float *g = malloc(np * sizeof *g);
    ck_assert_ptr_nonnull(g);
    memcpy(g, fs_model_grads(m), np * sizeof *g);

    int nbad = 0;
    double gmax = 0.0;
    for (size_t i = 0; i < np; i++) {
        float w0 = w[i], wp = w0 + eps, wm = w0 - eps;
        w[i] = wp;
        double lp = loss_at(m, ds, b);
        w[i] = wm;
        double lm = loss_at(m, ds, b);
        w[i] = w0;
        double num = (lp - lm) / ((double)wp - (double)wm), ana = g[i];
        double scale = fmax(fabs(num), fabs(ana));
        gmax = fmax(gmax, fabs(ana));
        if (fabs(num - ana) > 1e-3 + 1e-2 * scale) {
            fprintf(stderr, "gradcheck %s: param %zu analytic %.6g numeric %.6g\n", spec, i, ana,
                    num);
            nbad++;
        }
    }
    ck_assert_msg(gmax > 1e-2, "gradcheck %s: gradients are all tiny (%g)", spec, gmax);
    free(g);
    ds_free(ds);
    fs_model_destroy(&m);
    return nbad;
}

// ----------------------------------------------------------------------------
// gradients

START_TEST(test_grad_linear_mse)
{
    ck_assert_int_eq(gradcheck("linear", 5, FS_TASK_REGRESSION, 0, 6, 11), 0);
}
END_TEST

START_TEST(test_grad_logistic_bce)
{
    ck_assert_int_eq(gradcheck("logistic", 5, FS_TASK_CLASSIFICATION, 2, 7, 12), 0);
}
END_TEST

START_TEST(test_grad_softmax_ce)
{
    ck_assert_int_eq(gradcheck("softmax", 6, FS_TASK_CLASSIFICATION, 4, 5, 13), 0);
}
END_TEST

START_TEST(test_grad_mlp_classification)
{
    ck_assert_int_eq(gradcheck("mlp:7,5", 6, FS_TASK_CLASSIFICATION, 4, 5, 14), 0);
}
END_TEST

START_TEST(test_grad_mlp_binary)
{
    ck_assert_int_eq(gradcheck("mlp:9", 4, FS_TASK_CLASSIFICATION, 2, 6, 15), 0);
}
END_TEST

START_TEST(test_grad_mlp_regression)
{
    ck_assert_int_eq(gradcheck("mlp:8,6,4", 5, FS_TASK_REGRESSION, 0, 6, 16), 0);
}
END_TEST

/* The gradient is of the mean: duplicating every row leaves loss and grads unchanged. */
START_TEST(test_grad_is_mean)
{
    fs_model *m = model_new("mlp:5", 3, FS_TASK_CLASSIFICATION, 3, 8);
    fs_model_init(m, 3);
    fs_dataset *ds = ds_random(4, 3, FS_TASK_CLASSIFICATION, 3, 3);
    fs_dataset *d2 = ds_new(8, 3, FS_TASK_CLASSIFICATION, 3);
    memcpy(d2->X, ds->X, 12 * sizeof(float));
    memcpy(d2->X + 12, ds->X, 12 * sizeof(float));
    memcpy(d2->y_class, ds->y_class, 4 * sizeof(int32_t));
    memcpy(d2->y_class + 4, ds->y_class, 4 * sizeof(int32_t));
    size_t np = fs_model_nparams(m);
    double l1 = loss_at(m, ds, 4);
    float *g1 = malloc(np * sizeof *g1);
    memcpy(g1, fs_model_grads(m), np * sizeof *g1);
    double l2 = loss_at(m, d2, 8);
    ck_assert_double_eq_tol(l1, l2, 1e-6);
    for (size_t i = 0; i < np; i++) ck_assert_float_eq_tol(g1[i], fs_model_grads(m)[i], 1e-6f);
    free(g1);
    ds_free(ds);
    ds_free(d2);
    fs_model_destroy(&m);
}
END_TEST

/*
 * The internal backward accumulates (llm.c style) and fs_model_loss_grad
 * overwrites: two internal passes double the gradient, the public call
 * brings it back to one.
 */
START_TEST(test_grad_accumulates)
{
    fs_model *m = model_new("mlp:6", 4, FS_TASK_CLASSIFICATION, 3, 8);
    fs_model_init(m, 4);
    fs_dataset *ds = ds_random(5, 4, FS_TASK_CLASSIFICATION, 3, 4);
    size_t np = fs_model_nparams(m);
    double l1 = loss_at(m, ds, 5), l2 = 0;
    float *g1 = malloc(np * sizeof *g1);
    memcpy(g1, fs_model_grads(m), np * sizeof *g1);
    ck_assert_int_eq(fs_model_forward_backward(m, ds->X, ds->y_class, NULL, 5, &l2), FS_OK);
    ck_assert_double_eq(l1, l2);
    for (size_t i = 0; i < np; i++) ck_assert_float_eq_tol(fs_model_grads(m)[i], 2 * g1[i], 1e-6f);
    ck_assert_double_eq(loss_at(m, ds, 5), l1);
    for (size_t i = 0; i < np; i++) ck_assert_float_eq(fs_model_grads(m)[i], g1[i]);
    free(g1);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

// ----------------------------------------------------------------------------
// spec parser and task checks

START_TEST(test_spec_good)
{
    struct { const char *spec; size_t d; fs_task task; int k; const char *canon; size_t np, nout; } c[] = {
        { "linear", 4, FS_TASK_REGRESSION, 0, "linear", 5, 1 },
        { "logistic", 4, FS_TASK_CLASSIFICATION, 2, "logistic", 5, 1 },
        { "softmax", 4, FS_TASK_CLASSIFICATION, 3, "softmax", 15, 3 },
        { "mlp:7,5", 6, FS_TASK_CLASSIFICATION, 4, "mlp:7,5", 6 * 7 + 7 + 7 * 5 + 5 + 5 * 4 + 4, 4 },
        { "mlp:007,05", 6, FS_TASK_CLASSIFICATION, 4, "mlp:7,5", 113, 4 },
        { "mlp:3", 2, FS_TASK_REGRESSION, 0, "mlp:3", 2 * 3 + 3 + 3 + 1, 1 },
        { "mlp:256,128", 784, FS_TASK_CLASSIFICATION, 10, "mlp:256,128",
          784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, 10 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        fs_model *m = model_new(c[i].spec, c[i].d, c[i].task, c[i].k, 4);
        ck_assert_str_eq(fs_model_spec(m), c[i].canon);
        ck_assert_uint_eq(fs_model_nparams(m), c[i].np);
        ck_assert_uint_eq(fs_model_noutputs(m), c[i].nout);
        ck_assert_ptr_nonnull(fs_model_params(m));
        ck_assert_ptr_nonnull(fs_model_grads(m));
        for (size_t j = 0; j < c[i].np; j++) ck_assert(fs_model_params(m)[j] == 0.0f);
        fs_model_destroy(&m);
        ck_assert_ptr_null(m);
    }
    // 16 hidden layers of the maximum width parse (1 input keeps it small).
    fs_model *m = model_new("mlp:1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,65536", 1, FS_TASK_REGRESSION, 0, 1);
    ck_assert_str_eq(fs_model_spec(m), "mlp:1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,65536");
    fs_model_destroy(&m);
    fs_model_destroy(&m);   // NULL-safe
    fs_model_destroy(NULL);
}
END_TEST

static void expect_bad(const char *spec, size_t d, fs_task task, int k, const char *msg_part)
{
    fs_model *m = (fs_model *)&m;   // must be reset to NULL
    fs_err rc = fs_model_create(spec, d, task, k, 8, &m);
    ck_assert_msg(rc == FS_ERR_ARG, "spec '%s' accepted", spec ? spec : "(null)");
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(fs_errmsg(), msg_part) != NULL, "spec '%s': message '%s' lacks '%s'",
                  spec ? spec : "(null)", fs_errmsg(), msg_part);
}

START_TEST(test_spec_bad)
{
    const fs_task C = FS_TASK_CLASSIFICATION;
    expect_bad("mlp:256,x", 4, C, 3, "model 'mlp:256,x': hidden size 'x' is not a positive integer");
    expect_bad("mlp:0", 4, C, 3, "hidden size '0' is not a positive integer");
    expect_bad("mlp:-3", 4, C, 3, "hidden size '-3' is not a positive integer");
    expect_bad("mlp:+3", 4, C, 3, "hidden size '+3'");
    expect_bad("mlp:3,", 4, C, 3, "hidden size '' is not a positive integer");
    expect_bad("mlp:3,,4", 4, C, 3, "hidden size ''");
    expect_bad("mlp: 3", 4, C, 3, "hidden size ' 3'");
    expect_bad("mlp:12x", 4, C, 3, "hidden size '12x'");
    expect_bad("mlp:65537", 4, C, 3, "larger than 65536");
    expect_bad("mlp:99999999999999999999999", 4, C, 3, "larger than 65536");
    expect_bad("mlp:1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", 4, C, 3, "at most 16 hidden layers");
    expect_bad("mlp:", 4, C, 3, "hidden layer sizes");
    expect_bad("mlp", 4, C, 3, "hidden layer sizes");
    expect_bad("MLP:3", 4, C, 3, "unknown model");
    expect_bad("cnn", 4, C, 3, "unknown model");
    expect_bad("", 4, C, 3, "unknown model");
    expect_bad(" linear", 4, FS_TASK_REGRESSION, 0, "unknown model");
    expect_bad(NULL, 4, C, 3, "spec is NULL");
    expect_bad("softmax", 0, C, 3, "input dimension");
    fs_model *m = NULL;
    ck_assert_int_eq(fs_model_create("softmax", 4, C, 3, 0, &m), FS_ERR_ARG);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_task_mismatch)
{
    const fs_task C = FS_TASK_CLASSIFICATION, R = FS_TASK_REGRESSION;
    expect_bad("logistic", 4, C, 3, "needs exactly 2 classes but the data has 3");
    expect_bad("logistic", 4, R, 0, "is for binary classification");
    expect_bad("linear", 4, C, 2, "is for regression");
    expect_bad("softmax", 4, R, 0, "is for classification");
    expect_bad("mlp:4", 4, C, 1, "classification needs >= 2 classes");

    // Data that does not match a built model is rejected by evaluate and train.
    fs_model *m = model_new("softmax", 4, C, 3, 8);
    fs_eval_sums s = { 0 };
    fs_sgd_opts o = { .lr = 0.1, .batch_size = 4, .local_epochs = 1 };
    fs_dataset *ds = ds_random(10, 5, C, 3, 1);
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "5 features"));
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    ds_free(ds);
    ds = ds_random(10, 4, C, 4, 1);
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "4 classes"));
    ds_free(ds);
    ds = ds_random(10, 4, R, 0, 1);
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "regression"));
    ck_assert_double_eq(s.count, 0.0);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

START_TEST(test_loss_grad_args)
{
    fs_model *m = model_new("softmax", 3, FS_TASK_CLASSIFICATION, 4, 4);
    fs_dataset *ds = ds_random(6, 3, FS_TASK_CLASSIFICATION, 4, 2);
    double loss = 0;
    ck_assert_int_eq(fs_model_loss_grad(m, ds->X, ds->y_class, NULL, 0, &loss), FS_ERR_ARG);
    ck_assert_int_eq(fs_model_loss_grad(m, ds->X, ds->y_class, NULL, 5, &loss), FS_ERR_ARG);
    ck_assert_int_eq(fs_model_loss_grad(m, ds->X, NULL, ds->y_reg, 4, &loss), FS_ERR_ARG);
    ds->y_class[2] = 4;
    ck_assert_int_eq(fs_model_loss_grad(m, ds->X, ds->y_class, NULL, 4, &loss), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "outside 0..3"));
    ds->y_class[2] = -1;
    fs_eval_sums s = { 0 };
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_ERR_ARG);
    ds->y_class[2] = 1;
    ck_assert_int_eq(fs_model_loss_grad(m, ds->X, ds->y_class, NULL, 4, &loss), FS_OK);
    ck_assert(loss > 0);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

// ----------------------------------------------------------------------------
// initialization

START_TEST(test_init)
{
    fs_model *a = model_new("mlp:20,10", 30, FS_TASK_CLASSIFICATION, 5, 4);
    fs_model *b = model_new("mlp:20,10", 30, FS_TASK_CLASSIFICATION, 5, 4);
    size_t np = fs_model_nparams(a);
    fs_model_init(a, 42);
    fs_model_init(b, 42);
    ck_assert_mem_eq(fs_model_params(a), fs_model_params(b), np * sizeof(float));
    fs_model_init(b, 43);
    ck_assert(memcmp(fs_model_params(a), fs_model_params(b), np * sizeof(float)) != 0);

    // Layout W1 (20x30), b1, W2 (10x20), b2, W3 (5x10), b3 and the limits.
    const float *w = fs_model_params(a);
    const size_t off[] = { 0, 600, 620, 820, 830, 880, 885 };
    const double lim[] = { sqrt(6.0 / 30), sqrt(6.0 / 20), sqrt(6.0 / 15) };
    for (int l = 0; l < 3; l++) {
        double maxabs = 0;
        for (size_t i = off[2 * l]; i < off[2 * l + 1]; i++) maxabs = fmax(maxabs, fabs(w[i]));
        ck_assert(maxabs <= lim[l]);
        ck_assert(maxabs > 0.8 * lim[l]);   // actually spread over the range
        for (size_t i = off[2 * l + 1]; i < off[2 * l + 2]; i++) ck_assert(w[i] == 0.0f);
    }
    ck_assert_uint_eq(np, 885);
    fs_model_destroy(&a);
    fs_model_destroy(&b);
}
END_TEST

// ----------------------------------------------------------------------------
// evaluation

START_TEST(test_evaluate_softmax)
{
    fs_model *m = model_new("softmax", 2, FS_TASK_CLASSIFICATION, 3, 3);
    float *w = fs_model_params(m);   // W (3x2) then b (3)
    const float W[9] = { 1, 0, 0, 1, 0, 0, 0, 0, 0.5f };
    memcpy(w, W, sizeof W);
    fs_dataset *ds = ds_new(4, 2, FS_TASK_CLASSIFICATION, 3);
    const float X[8] = { 2, 0, 0, 3, 0.1f, 0.1f, 1, 1 };
    const int32_t y[4] = { 0, 1, 2, 1 };   // predictions 0, 1, 2, 0 (first argmax)
    memcpy(ds->X, X, sizeof X);
    memcpy(ds->y_class, y, sizeof y);
    double expect = 0;
    for (int i = 0; i < 4; i++) {
        double z[3] = { X[2 * i], X[2 * i + 1], 0.5 };
        expect += log(exp(z[0]) + exp(z[1]) + exp(z[2])) - z[y[i]];
    }
    fs_eval_sums s = { .count = 10, .loss_sum = 1, .correct = 2 };   // evaluate adds
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_OK);
    ck_assert_double_eq(s.count, 14);
    ck_assert_double_eq(s.correct, 5);
    ck_assert_double_eq_tol(s.loss_sum, 1 + expect, 1e-5);
    ck_assert_double_eq(s.sq_err, 0);
    ck_assert_double_eq(s.abs_err, 0);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

START_TEST(test_evaluate_logistic)
{
    fs_model *m = model_new("logistic", 1, FS_TASK_CLASSIFICATION, 2, 2);
    fs_model_params(m)[0] = 2.0f;   // W
    fs_model_params(m)[1] = -1.0f;  // b
    fs_dataset *ds = ds_new(5, 1, FS_TASK_CLASSIFICATION, 2);
    const float X[5] = { 0, 1, 2, 0.5f, 60 };     // z = -1, 1, 3, 0, 119
    const int32_t y[5] = { 0, 0, 1, 1, 0 };       // pred 0, 1, 1, 0 (p = 0.5), 1
    memcpy(ds->X, X, sizeof X);
    memcpy(ds->y_class, y, sizeof y);
    double expect = 0;
    for (int i = 0; i < 5; i++) {
        double z = 2.0 * X[i] - 1.0;
        expect += fmax(z, 0) - z * y[i] + log1p(exp(-fabs(z)));   // z = 119, y = 0: 119
    }
    fs_eval_sums s = { 0 };
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_OK);
    ck_assert_double_eq(s.count, 5);
    ck_assert_double_eq(s.correct, 2);
    ck_assert_double_eq_tol(s.loss_sum, expect, 1e-4);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

START_TEST(test_evaluate_linear)
{
    fs_model *m = model_new("linear", 2, FS_TASK_REGRESSION, 0, 2);
    const float W[3] = { 1, -1, 0.5f };
    memcpy(fs_model_params(m), W, sizeof W);
    fs_dataset *ds = ds_new(3, 2, FS_TASK_REGRESSION, 0);
    const float X[6] = { 1, 0, 0, 1, 2, 2 };      // yhat = 1.5, -0.5, 0.5
    const float y[3] = { 1, 0, 0 };               // err = 0.5, -0.5, 0.5
    memcpy(ds->X, X, sizeof X);
    memcpy(ds->y_reg, y, sizeof y);
    fs_eval_sums s = { 0 };
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_OK);
    ck_assert_double_eq(s.count, 3);
    ck_assert_double_eq(s.sq_err, 0.75);
    ck_assert_double_eq(s.abs_err, 1.5);
    ck_assert_double_eq(s.loss_sum, 0.75);        // MSE is the plain squared error
    ck_assert_double_eq(s.correct, 0);
    // The training loss is the mean of the same per-row loss.
    double loss = 0;
    ck_assert_int_eq(fs_model_loss_grad(m, ds->X, NULL, ds->y_reg, 2, &loss), FS_OK);
    ck_assert_double_eq(loss, 0.25);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

START_TEST(test_evaluate_nonfinite)
{
    fs_model *m = model_new("linear", 2, FS_TASK_REGRESSION, 0, 2);
    fs_dataset *ds = ds_random(3, 2, FS_TASK_REGRESSION, 0, 4);
    fs_model_init(m, 1);
    ds->X[3] = NAN;
    fs_eval_sums s = { 0 };
    ck_assert_int_eq(fs_model_evaluate(m, ds, &s), FS_ERR_NUMERIC);
    ck_assert_double_eq(s.count, 0);   // nothing added on failure
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

// ----------------------------------------------------------------------------
// SGD

static fs_sgd_opts sgd_opts(size_t bs, int epochs)
{
    fs_sgd_opts o = { .lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4,
                      .batch_size = bs, .local_epochs = epochs, .local_steps = 0 };
    return o;
}

/* Train a fresh copy of mlp:8 (seed 5 init) and return its parameters (caller frees). */
static float *train_copy(const fs_dataset *ds, const fs_sgd_opts *o, uint64_t seed, int silo,
                         int round, fs_sgd_stats *st)
{
    fs_model *m = model_new("mlp:8", ds->d, ds->task, ds->num_classes, 16);
    fs_model_init(m, 5);
    fs_err rc = fs_sgd_train(m, ds, o, seed, silo, round, st);
    ck_assert_msg(rc == FS_OK, "fs_sgd_train: %s", fs_errmsg());
    size_t np = fs_model_nparams(m);
    float *p = malloc(np * sizeof *p);
    memcpy(p, fs_model_params(m), np * sizeof *p);
    fs_model_destroy(&m);
    return p;
}

START_TEST(test_sgd_reproducible)
{
    fs_dataset *ds = ds_random(100, 6, FS_TASK_CLASSIFICATION, 3, 21);
    fs_sgd_opts o = sgd_opts(16, 2);
    fs_sgd_stats st;
    size_t np = 6 * 8 + 8 + 8 * 3 + 3;
    float *a = train_copy(ds, &o, 7, 1, 3, &st);
    float *b = train_copy(ds, &o, 7, 1, 3, NULL);
    float *c = train_copy(ds, &o, 7, 1, 4, NULL);   // another round: another shuffle
    float *e = train_copy(ds, &o, 7, 2, 3, NULL);   // another silo
    float *f = train_copy(ds, &o, 8, 1, 3, NULL);   // another seed
    ck_assert_mem_eq(a, b, np * sizeof(float));
    ck_assert(memcmp(a, c, np * sizeof(float)) != 0);
    ck_assert(memcmp(a, e, np * sizeof(float)) != 0);
    ck_assert(memcmp(a, f, np * sizeof(float)) != 0);
    ck_assert_int_eq(st.steps, 2 * 7);                  // ceil(100 / 16) per epoch
    ck_assert_double_eq(st.samples, 200);
    ck_assert(st.loss_sum > 0);

    free(a); free(b); free(c); free(e); free(f);
    ds_free(ds);
}
END_TEST

/* on_step sees every step, in order, and changes nothing about training. */
typedef struct { long calls, last; int ordered; } step_log;
static void log_step(void *user, long done)
{
    step_log *l = user;
    if (done != l->last + 1) l->ordered = 0;
    l->last = done;
    l->calls++;
}

START_TEST(test_sgd_on_step)
{
    fs_dataset *ds = ds_random(100, 6, FS_TASK_CLASSIFICATION, 3, 21);
    fs_sgd_opts o = sgd_opts(16, 2);
    size_t np = 6 * 8 + 8 + 8 * 3 + 3;
    step_log l = { 0, 0, 1 };
    float *a = train_copy(ds, &o, 7, 1, 3, NULL);
    o.on_step = log_step;
    o.on_step_user = &l;
    float *b = train_copy(ds, &o, 7, 1, 3, NULL);
    ck_assert_int_eq(l.calls, 2 * 7);                   // 2 epochs of ceil(100 / 16)
    ck_assert_int_eq(l.last, 2 * 7);
    ck_assert(l.ordered);
    ck_assert_mem_eq(a, b, np * sizeof(float));
    free(a); free(b);
    ds_free(ds);
}
END_TEST

START_TEST(test_sgd_local_steps)
{
    fs_dataset *ds = ds_random(10, 3, FS_TASK_REGRESSION, 0, 22);
    fs_sgd_opts o = sgd_opts(4, 1);
    fs_sgd_stats st;
    o.local_steps = 7;      // epochs of 4 + 4 + 2 rows, wrapping into the third epoch
    o.local_epochs = 0;     // ignored when local_steps > 0
    float *a = train_copy(ds, &o, 1, 0, 0, &st);
    ck_assert_int_eq(st.steps, 7);
    ck_assert_double_eq(st.samples, 4 + 4 + 2 + 4 + 4 + 2 + 4);
    free(a);

    // local_steps == steps of 2 epochs gives bit-identical parameters.
    o.local_steps = 6;
    a = train_copy(ds, &o, 1, 0, 0, &st);
    ck_assert_int_eq(st.steps, 6);
    fs_sgd_opts e = sgd_opts(4, 2);
    float *b = train_copy(ds, &e, 1, 0, 0, &st);
    ck_assert_int_eq(st.steps, 6);
    ck_assert_double_eq(st.samples, 20);
    ck_assert_mem_eq(a, b, (3 * 8 + 8 + 8 + 1) * sizeof(float));
    free(a);
    free(b);

    // One step only; batch larger than the shard is a single partial batch.
    o.local_steps = 1;
    o.batch_size = 16;
    a = train_copy(ds, &o, 1, 0, 0, &st);
    ck_assert_int_eq(st.steps, 1);
    ck_assert_double_eq(st.samples, 10);
    free(a);
    ds_free(ds);
}
END_TEST

/* Two full-batch steps match the documented update rule computed by hand. */
START_TEST(test_sgd_update_rule)
{
    const double lr = 0.1, mu = 0.5, wd = 0.01;
    fs_dataset *ds = ds_random(8, 3, FS_TASK_CLASSIFICATION, 2, 23);
    fs_model *m = model_new("logistic", 3, FS_TASK_CLASSIFICATION, 2, 8);
    fs_model *ref = model_new("logistic", 3, FS_TASK_CLASSIFICATION, 2, 8);
    fs_model_init(m, 9);
    fs_model_init(ref, 9);
    const size_t np = 4;
    float *w = fs_model_params(ref), v[4] = { 0 };
    for (int step = 0; step < 2; step++) {
        (void)loss_at(ref, ds, 8);
        const float *g = fs_model_grads(ref);
        for (size_t i = 0; i < np; i++) {
            v[i] = (float)(mu * v[i] + g[i] + wd * w[i]);
            w[i] = (float)(w[i] - lr * v[i]);
        }
    }
    fs_sgd_opts o = { .lr = lr, .momentum = mu, .weight_decay = wd, .batch_size = 8,
                      .local_epochs = 2 };
    fs_sgd_stats st;
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, &st), FS_OK);
    ck_assert_int_eq(st.steps, 2);
    for (size_t i = 0; i < np; i++) ck_assert_float_eq_tol(fs_model_params(m)[i], w[i], 1e-5f);
    ds_free(ds);
    fs_model_destroy(&m);
    fs_model_destroy(&ref);
}
END_TEST

/* Momentum does not leak from one call into the next. */
START_TEST(test_sgd_momentum_reset)
{
    fs_dataset *ds = ds_random(40, 4, FS_TASK_CLASSIFICATION, 3, 24);
    fs_model *a = model_new("softmax", 4, FS_TASK_CLASSIFICATION, 3, 8);
    fs_model *b = model_new("softmax", 4, FS_TASK_CLASSIFICATION, 3, 8);
    fs_model_init(a, 1);
    fs_model_init(b, 1);
    fs_sgd_opts o = sgd_opts(8, 1);
    ck_assert_int_eq(fs_sgd_train(a, ds, &o, 1, 0, 0, NULL), FS_OK);   // warms a's velocity
    memcpy(fs_model_params(b), fs_model_params(a), fs_model_nparams(a) * sizeof(float));
    ck_assert_int_eq(fs_sgd_train(a, ds, &o, 1, 0, 1, NULL), FS_OK);
    ck_assert_int_eq(fs_sgd_train(b, ds, &o, 1, 0, 1, NULL), FS_OK);
    ck_assert_mem_eq(fs_model_params(a), fs_model_params(b), fs_model_nparams(a) * sizeof(float));
    ds_free(ds);
    fs_model_destroy(&a);
    fs_model_destroy(&b);
}
END_TEST

/* Linearly separable data with a margin: training drives loss down and accuracy up. */
static void separable_run(const char *spec, int num_classes)
{
    const size_t n = 400, d = 5;
    const float wstar[5] = { 1.0f, -2.0f, 0.5f, 1.5f, -1.0f };
    fs_dataset *ds = ds_new(n, d, FS_TASK_CLASSIFICATION, num_classes);
    fs_rng r;
    fs_rng_seed(&r, 31);
    for (size_t i = 0; i < n; ) {
        float *x = ds->X + i * d, s = 0;
        for (size_t j = 0; j < d; j++) { x[j] = unif(&r, -1, 1); s += wstar[j] * x[j]; }
        if (fabsf(s) < 0.3f) continue;   // keep a margin
        ds->y_class[i++] = s > 0;
    }
    fs_model *m = model_new(spec, d, FS_TASK_CLASSIFICATION, num_classes, 32);
    fs_model_init(m, 2);
    fs_eval_sums before = { 0 }, after = { 0 };
    ck_assert_int_eq(fs_model_evaluate(m, ds, &before), FS_OK);
    fs_sgd_opts o = { .lr = 0.1, .momentum = 0.9, .batch_size = 16, .local_epochs = 10 };
    fs_sgd_stats st;
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 3, 0, 0, &st), FS_OK);
    ck_assert_int_eq(fs_model_evaluate(m, ds, &after), FS_OK);
    ck_assert_double_eq(after.count, n);
    ck_assert_msg(after.loss_sum < 0.3 * before.loss_sum, "%s: loss %g -> %g", spec,
                  before.loss_sum / n, after.loss_sum / n);
    ck_assert_msg(after.correct >= 0.97 * n, "%s: accuracy %g", spec, after.correct / n);
    ds_free(ds);
    fs_model_destroy(&m);
}

START_TEST(test_sgd_learns)
{
    separable_run("logistic", 2);
    separable_run("softmax", 2);
    separable_run("mlp:16", 2);
    separable_run("mlp:16,8", 2);
}
END_TEST

START_TEST(test_sgd_regression_learns)
{
    const size_t n = 200, d = 3;
    fs_dataset *ds = ds_random(n, d, FS_TASK_REGRESSION, 0, 32);
    for (size_t i = 0; i < n; i++) {
        const float *x = ds->X + i * d;
        ds->y_reg[i] = 0.5f * x[0] - x[1] + 2.0f * x[2] + 0.25f;
    }
    fs_model *m = model_new("linear", d, FS_TASK_REGRESSION, 0, 32);
    fs_model_init(m, 3);
    fs_sgd_opts o = { .lr = 0.05, .momentum = 0.5, .batch_size = 10, .local_epochs = 30 };
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 3, 0, 0, NULL), FS_OK);
    const float *w = fs_model_params(m);
    ck_assert_float_eq_tol(w[0], 0.5f, 1e-3f);
    ck_assert_float_eq_tol(w[1], -1.0f, 1e-3f);
    ck_assert_float_eq_tol(w[2], 2.0f, 1e-3f);
    ck_assert_float_eq_tol(w[3], 0.25f, 1e-3f);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

START_TEST(test_sgd_nonfinite)
{
    fs_dataset *ds = ds_random(50, 4, FS_TASK_REGRESSION, 0, 25);
    for (size_t i = 0; i < 50; i++) ds->y_reg[i] *= 1e3f;
    fs_model *m = model_new("linear", 4, FS_TASK_REGRESSION, 0, 8);
    fs_model_init(m, 1);
    fs_sgd_opts o = { .lr = 1e6, .momentum = 0.9, .batch_size = 8, .local_epochs = 50 };
    fs_sgd_stats st;
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 3, 7, &st), FS_ERR_NUMERIC);
    /* public message: the round; the step (~ n_k / B) only in the detail */
    ck_assert_msg(strstr(fs_errmsg(), "round 7: the ") &&
                  strstr(fs_errmsg(), "during local training") &&
                  !strstr(fs_errmsg(), "step"), "message: %s", fs_errmsg());
    ck_assert_msg(strstr(fs_errdetail(), "silo 3, local step"), "detail: %s", fs_errdetail());
    ck_assert(st.steps > 0 && st.steps < 50 * 7);

    // A NaN feature makes the very first loss non-finite.
    fs_model_init(m, 1);
    for (size_t i = 0; i < 50; i++) ds->X[4 * i] = NAN;
    o.lr = 0.01;
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 2, 5, &st), FS_ERR_NUMERIC);
    ck_assert_msg(strstr(fs_errmsg(), "round 5: the loss is not finite during local training"),
                  "message: %s", fs_errmsg());
    ck_assert_msg(strstr(fs_errdetail(), "silo 2, local step 0 (epoch 0)"), "detail: %s",
                  fs_errdetail());
    ck_assert_int_eq(st.steps, 0);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

START_TEST(test_sgd_bad_opts)
{
    fs_dataset *ds = ds_random(20, 3, FS_TASK_CLASSIFICATION, 3, 26);
    fs_model *m = model_new("softmax", 3, FS_TASK_CLASSIFICATION, 3, 8);
    fs_sgd_opts good = sgd_opts(8, 1), o;
    o = good; o.lr = 0;            ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    o = good; o.lr = NAN;          ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    o = good; o.momentum = 1;      ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    o = good; o.weight_decay = -1; ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    o = good; o.batch_size = 0;    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    o = good; o.batch_size = 9;    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    o = good; o.local_epochs = 0;  ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    o = good; o.local_steps = -1;  ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, NULL), FS_ERR_ARG);
    ds->n = 0;
    ck_assert_int_eq(fs_sgd_train(m, ds, &good, 1, 0, 0, NULL), FS_ERR_ARG);
    ds->n = 20;
    ck_assert_int_eq(fs_sgd_train(m, ds, &good, 1, 0, 0, NULL), FS_OK);
    ds_free(ds);
    fs_model_destroy(&m);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *g = tcase_create("gradients");
    tcase_add_test(g, test_grad_linear_mse);
    tcase_add_test(g, test_grad_logistic_bce);
    tcase_add_test(g, test_grad_softmax_ce);
    tcase_add_test(g, test_grad_mlp_classification);
    tcase_add_test(g, test_grad_mlp_binary);
    tcase_add_test(g, test_grad_mlp_regression);
    tcase_add_test(g, test_grad_is_mean);
    tcase_add_test(g, test_grad_accumulates);
    suite_add_tcase(s, g);

    TCase *c = tcase_create("create");
    tcase_add_test(c, test_spec_good);
    tcase_add_test(c, test_spec_bad);
    tcase_add_test(c, test_task_mismatch);
    tcase_add_test(c, test_loss_grad_args);
    tcase_add_test(c, test_init);
    suite_add_tcase(s, c);

    TCase *e = tcase_create("evaluate");
    tcase_add_test(e, test_evaluate_softmax);
    tcase_add_test(e, test_evaluate_logistic);
    tcase_add_test(e, test_evaluate_linear);
    tcase_add_test(e, test_evaluate_nonfinite);
    suite_add_tcase(s, e);

    TCase *t = tcase_create("sgd");
    tcase_add_test(t, test_sgd_reproducible);
    tcase_add_test(t, test_sgd_local_steps);
    tcase_add_test(t, test_sgd_on_step);
    tcase_add_test(t, test_sgd_update_rule);
    tcase_add_test(t, test_sgd_momentum_reset);
    tcase_add_test(t, test_sgd_learns);
    tcase_add_test(t, test_sgd_regression_learns);
    tcase_add_test(t, test_sgd_nonfinite);
    tcase_add_test(t, test_sgd_bad_opts);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nfailed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nfailed == 0 ? 0 : 1;
}

/*
 * check_server_opt.c - each server optimizer against an update computed by
 * hand (in double, then compared in float) on a 3-parameter problem over
 * two rounds, and FedProx's proximal term in local SGD.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fl/fs_server_opt.h"
#include "fedsilo/fs_model.h"

static const float w0[3] = { 1.0f, -2.0f, 0.5f };
static const float d1[3] = { 0.1f, -0.3f, 0.0f };
static const float d2[3] = { -0.2f, 0.05f, 0.4f };

static void run(fs_sopt_kind k, float out[3])
{
    fs_server_opt *o = NULL;
    ck_assert_int_eq(fs_server_opt_create(k, 0.5, 0.9, 0.99, 0.01, 3, &o), FS_OK);
    memcpy(out, w0, sizeof w0);
    fs_server_opt_step(o, out, d1);
    fs_server_opt_step(o, out, d2);
    ck_assert_int_eq(o->steps, 2);
    fs_server_opt_destroy(&o);
    ck_assert_ptr_null(o);
}

static void expect(const float got[3], const double want[3])
{
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-5 * (1 + fabs(want[i])),
                      "coordinate %d: got %.9g, hand-computed %.9g", i, got[i], want[i]);
}

START_TEST(fedavg)
{
    float w[3];
    run(FS_SOPT_FEDAVG, w);
    double want[3];
    for (int i = 0; i < 3; i++) want[i] = w0[i] + 0.5 * (d1[i] + d2[i]);
    expect(w, want);
}
END_TEST

START_TEST(fedavgm)
{
    float w[3];
    run(FS_SOPT_FEDAVGM, w);
    double want[3];
    for (int i = 0; i < 3; i++) {
        double m1 = d1[i], m2 = 0.9 * m1 + d2[i];
        want[i] = w0[i] + 0.5 * m1 + 0.5 * m2;
    }
    expect(w, want);
}
END_TEST

/* Reddi et al. 2021, Algorithm 2, by hand: v_{-1} = tau^2, m_{-1} = 0. */
static void adaptive(int kind, double want[3])
{
    const double lr = 0.5, b1 = 0.9, b2 = 0.99, tau = 0.01;
    for (int i = 0; i < 3; i++) {
        double w = w0[i], m = 0, v = tau * tau;
        const double ds[2] = { d1[i], d2[i] };
        for (int t = 0; t < 2; t++) {
            double d = ds[t];
            m = b1 * m + (1 - b1) * d;
            if (kind == 0) v = v + d * d;
            else if (kind == 1) v = v - (1 - b2) * d * d * ((v - d * d > 0) - (v - d * d < 0));
            else v = b2 * v + (1 - b2) * d * d;
            w += lr * m / (sqrt(v) + tau);
        }
        want[i] = w;
    }
}

START_TEST(fedadagrad)
{
    float w[3];
    double want[3];
    run(FS_SOPT_FEDADAGRAD, w);
    adaptive(0, want);
    expect(w, want);
}
END_TEST

START_TEST(fedyogi)
{
    float w[3];
    double want[3];
    run(FS_SOPT_FEDYOGI, w);
    adaptive(1, want);
    expect(w, want);
}
END_TEST

START_TEST(fedadam)
{
    float w[3];
    double want[3];
    run(FS_SOPT_FEDADAM, w);
    adaptive(2, want);
    expect(w, want);
    /* coordinate 2 is 0 in the first update but not in the second, so it
     * moves (in round 2 only) */
    ck_assert(w[2] != w0[2]);
}
END_TEST

START_TEST(names)
{
    fs_sopt_kind k;
    ck_assert_int_eq(fs_server_opt_kind("fedyogi", &k), FS_OK);
    ck_assert_int_eq(k, FS_SOPT_FEDYOGI);
    ck_assert_str_eq(fs_server_opt_name(FS_SOPT_FEDADAM), "fedadam");
    ck_assert_int_eq(fs_server_opt_kind("sgd", &k), FS_ERR_ARG);
}
END_TEST

/* FedProx: one full-batch step of linear regression with mu > 0 equals the
 * hand-computed w - lr * (grad + mu (w - anchor)). */
START_TEST(fedprox_term)
{
    fs_dataset *ds = NULL;
    fs_model *m = NULL;
    ck_assert_int_eq(fs_dataset_create(2, 1, FS_TASK_REGRESSION, 0, &ds), FS_OK);
    ds->X[0] = 1.0f; ds->X[1] = 2.0f;
    ds->y_reg[0] = 3.0f; ds->y_reg[1] = 5.0f;
    ck_assert_int_eq(fs_model_create("linear", 1, FS_TASK_REGRESSION, 0, 2, &m), FS_OK);
    float *w = fs_model_params(m);  /* (W, b) */
    w[0] = 0.5f; w[1] = -1.0f;
    const float anchor[2] = { 2.0f, 1.0f };
    /* MSE = mean (w x + b - y)^2: grad_W = mean 2 r x, grad_b = mean 2 r */
    double r0 = 0.5 * 1 - 1 - 3, r1 = 0.5 * 2 - 1 - 5;
    double gW = (2 * r0 * 1 + 2 * r1 * 2) / 2, gb = (2 * r0 + 2 * r1) / 2;
    const double lr = 0.01, mu = 0.3;
    double wantW = 0.5 - lr * (gW + mu * (0.5 - 2.0)), wantb = -1.0 - lr * (gb + mu * (-1.0 - 1.0));
    fs_sgd_opts o = { .lr = lr, .momentum = 0, .weight_decay = 0, .batch_size = 2,
                      .local_epochs = 1, .local_steps = 1, .prox_mu = mu, .prox_anchor = anchor };
    fs_sgd_stats st;
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, &st), FS_OK);
    ck_assert_msg(fabs(w[0] - wantW) < 1e-6 && fabs(w[1] - wantb) < 1e-6,
                  "FedProx step: got (%g, %g), want (%g, %g)", w[0], w[1], wantW, wantb);
    o.prox_anchor = NULL;
    ck_assert_int_eq(fs_sgd_train(m, ds, &o, 1, 0, 0, &st), FS_ERR_ARG);
    fs_model_destroy(&m);
    fs_dataset_destroy(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_opt");
    TCase *tc = tcase_create("server_opt");
    tcase_add_test(tc, fedavg);
    tcase_add_test(tc, fedavgm);
    tcase_add_test(tc, fedadagrad);
    tcase_add_test(tc, fedyogi);
    tcase_add_test(tc, fedadam);
    tcase_add_test(tc, names);
    tcase_add_test(tc, fedprox_term);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}

/*
 * check_vfl.c - pieces of vertical training that need no MPI: the score
 * encoding refuses parts whose sum over N ranks could wrap around in
 * Z_2^64 (each part within (2^63 - 1) / N: the L4 finding of the 2026-12
 * review was a per-part bound of 2^62, whose sum over 3 parts wraps), with
 * a message that carries no value; and the batch plan covers every row once
 * per epoch with no batch below min(batch, n) rows (the tail joins the last
 * batch), while the legacy plan has the short tail of n mod batch rows.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vfl/fs_vfl_impl.h"
#include "fedsilo/fs_vfl.h"

START_TEST(score_sum_cannot_wrap)
{
    uint64_t w[3];
    /* The old bound: three parts just below 2^62 each wrap in the ring. */
    int64_t old = ((int64_t)1 << 62) - 1024;
    uint64_t sum = 3 * (uint64_t)old;
    ck_assert((int64_t)sum < 0);   /* 3 (2^62 - 1024) read as int64: wrapped */
    double s_old = ldexp((double)old, -FS_VFL_SCORE_FRAC);
    ck_assert_int_eq(fs_vfl_score_word(s_old, 3, &w[0]), FS_ERR_NUMERIC);
    ck_assert_ptr_null(strstr(fs_errmsg(), "2.7"));   /* no value: 2.75e11 */
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "out of range"));
    /* The largest accepted parts, of either sign, sum exactly for N = 3. */
    for (int sign = -1; sign <= 1; sign += 2) {
        double lo = 0, hi = ldexp(1.0, 40);
        for (int it = 0; it < 200; it++) {
            double mid = 0.5 * (lo + hi);
            if (fs_vfl_score_word(sign * mid, 3, &w[0]) == FS_OK) lo = mid;
            else hi = mid;
        }
        ck_assert_int_eq(fs_vfl_score_word(sign * lo, 3, &w[0]), FS_OK);
        __int128 exact = 3 * (__int128)(int64_t)w[0];
        uint64_t ring = w[0] + w[0] + w[0];
        ck_assert((__int128)(int64_t)ring == exact);
        ck_assert((double)(exact < 0 ? -exact : exact) >= 0.99 * 0x1p63);   /* not overly tight */
    }
    /* One part alone may use almost the whole ring; parts of mixed sign. */
    ck_assert_int_eq(fs_vfl_score_word(ldexp(1.0, 38) * 1.9, 1, &w[0]), FS_OK);
    ck_assert_int_eq(fs_vfl_score_word(ldexp(1.0, 38) * 1.9, 2, &w[0]), FS_ERR_NUMERIC);
    ck_assert_int_eq(fs_vfl_score_word(-1.25, 3, &w[0]), FS_OK);
    ck_assert_int_eq(fs_vfl_score_word(2.5, 3, &w[1]), FS_OK);
    ck_assert_int_eq((int64_t)(w[0] + w[1]), (int64_t)llround(ldexp(1.25, FS_VFL_SCORE_FRAC)));
    ck_assert_int_eq(fs_vfl_score_word(NAN, 3, &w[0]), FS_ERR_NUMERIC);
    ck_assert_int_eq(fs_vfl_score_word(INFINITY, 3, &w[0]), FS_ERR_NUMERIC);
}
END_TEST

START_TEST(batch_plan)
{
    static const size_t cases[][2] = { { 398, 64 }, { 33, 32 }, { 385, 32 }, { 10, 64 },
                                       { 64, 64 }, { 128, 64 }, { 1, 1 } };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c][0], B = cases[c][1], nb = 0, nb2 = 0;
        uint32_t *perm = malloc(n * sizeof *perm), *perm2 = malloc(n * sizeof *perm2);
        size_t *st = malloc((n / B + 2) * sizeof *st), *st2 = malloc((n / B + 2) * sizeof *st2);
        char *seen = calloc(n, 1);
        for (int legacy = 0; legacy <= 1; legacy++) {
            fs_vfl_batch_plan(7, 3, n, B, legacy, perm, st, &nb);
            memset(seen, 0, n);
            ck_assert_uint_eq(st[0], 0);
            ck_assert_uint_eq(st[nb], n);
            for (size_t t = 0; t < nb; t++) {
                size_t cnt = st[t + 1] - st[t];
                if (!legacy) ck_assert_uint_ge(cnt, B < n ? B : n);
                else if (t + 1 < nb) ck_assert_uint_eq(cnt, B);
                else ck_assert_uint_eq(cnt, n % B ? n % B : (B < n ? B : n));
                for (size_t i = st[t]; i < st[t + 1]; i++) {
                    ck_assert_uint_lt(perm[i], n);
                    ck_assert(!seen[perm[i]]);
                    seen[perm[i]] = 1;
                }
            }
            for (size_t i = 0; i < n; i++) ck_assert(seen[i]);
            /* deterministic in (seed, epoch); another epoch reshuffles */
            fs_vfl_batch_plan(7, 3, n, B, legacy, perm2, st2, &nb2);
            ck_assert_uint_eq(nb, nb2);
            ck_assert_mem_eq(perm, perm2, n * sizeof *perm);
            fs_vfl_batch_plan(7, 4, n, B, legacy, perm2, st2, &nb2);
            if (n > 8) ck_assert(memcmp(perm, perm2, n * sizeof *perm) != 0);
        }
        free(perm); free(perm2); free(st); free(st2); free(seen);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vfl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, score_sum_cannot_wrap);
    tcase_add_test(tc, batch_plan);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

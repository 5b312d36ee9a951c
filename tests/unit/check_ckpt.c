/*
 * check_ckpt.c - checkpoint files: write/read round trip, atomic replace,
 * and rejection of corrupt, truncated, foreign and tampered files with a
 * message naming the file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hdf5.h>
#include "fed/fs_fed_impl.h"

static char dir[] = "/tmp/fs-check-ckpt-XXXXXX";
static char path[256];

static fs_checkpoint make(float *params, size_t n)
{
    fs_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    for (size_t i = 0; i < n; i++) params[i] = (float)i * 0.25f - 3.0f;
    ck.round = 7;
    snprintf(ck.model, sizeof ck.model, "mlp:4");
    ck.d = 3;
    ck.task = FS_TASK_CLASSIFICATION;
    ck.num_classes = 2;
    ck.nparams = n;
    ck.params = params;
    ck.config_hash = 0x1234;
    ck.model_hash = fs_params_hash(params, n);
    ck.seed = 99;
    ck.nsilos = 4;
    return ck;
}

START_TEST(round_trip)
{
    float p[26];
    fs_checkpoint ck = make(p, 26), *r = NULL;
    ck_assert_int_eq(fs_checkpoint_write(&ck, path), FS_OK);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_OK);
    ck_assert_int_eq(r->round, 7);
    ck_assert_str_eq(r->model, "mlp:4");
    ck_assert_uint_eq(r->d, 3);
    ck_assert_int_eq(r->num_classes, 2);
    ck_assert_int_eq(r->nsilos, 4);
    ck_assert_uint_eq(r->seed, 99);
    ck_assert_uint_eq(r->config_hash, 0x1234);
    ck_assert_mem_eq(r->params, p, sizeof p);
    fs_checkpoint_free(&r);
    ck_assert_ptr_null(r);
    /* a second write replaces the file atomically; no temporary is left */
    ck.round = 8;
    ck_assert_int_eq(fs_checkpoint_write(&ck, path), FS_OK);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_OK);
    ck_assert_int_eq(r->round, 8);
    fs_checkpoint_free(&r);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
}
END_TEST

START_TEST(tampered_params)
{
    float p[26];
    fs_checkpoint ck = make(p, 26), *r = NULL;
    ck_assert_int_eq(fs_checkpoint_write(&ck, path), FS_OK);
    /* change one parameter in place with plain HDF5: the hash must catch it */
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "params", H5P_DEFAULT);
    p[5] += 1.0f;
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, p), 0);
    H5Dclose(d);
    H5Fclose(f);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_ERR_DATA);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "model hash mismatch"));
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), path));
}
END_TEST

START_TEST(truncated_and_foreign)
{
    float p[2000];
    fs_checkpoint ck = make(p, 2000), *r = NULL;
    ck_assert_int_eq(fs_checkpoint_write(&ck, path), FS_OK);
    ck_assert_int_eq(truncate(path, 3000), 0);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), path));
    FILE *f = fopen(path, "w");
    fputs("not a checkpoint\n", f);
    fclose(f);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "not a readable HDF5 file"));
    /* an HDF5 file that is not a checkpoint */
    hid_t h = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(h);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "not a fedsilo checkpoint"));
    unlink(path);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "No such file"));
}
END_TEST

START_TEST(unwritable_keeps_previous)
{
    float p[26];
    fs_checkpoint ck = make(p, 26), *r = NULL;
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no-such-dir/checkpoint.h5", dir);
    ck_assert_int_eq(fs_checkpoint_write(&ck, bad), FS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "no-such-dir"));
    ck_assert_int_eq(fs_checkpoint_write(&ck, path), FS_OK);
    ck_assert_int_eq(fs_checkpoint_read(path, &r), FS_OK);
    fs_checkpoint_free(&r);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir)) return 99;
    snprintf(path, sizeof path, "%s/checkpoint.h5", dir);
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, tampered_params);
    tcase_add_test(tc, truncated_and_foreign);
    tcase_add_test(tc, unwritable_keeps_previous);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 99;
    return nf ? 1 : 0;
}

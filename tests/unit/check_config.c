/*
 * check_config.c - unit tests of the option table (fs_config): defaults,
 * typed parsing and ranges, INI files with line-numbered errors, dump and
 * fingerprint.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fedsilo.h>

static char tmpdir[] = "/tmp/fs-check-config-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(defaults_and_set)
{
    fs_config *c = NULL;
    ck_assert_int_eq(fs_config_create(&c), FS_OK);
    ck_assert_str_eq(fs_config_str(c, "model"), "mlp:256,128");
    ck_assert_int_eq(fs_config_int(c, "batch_size"), 64);
    ck_assert(!fs_config_is_set(c, "lr"));
    ck_assert_int_eq(fs_config_set(c, "lr", "0.25", "--lr"), FS_OK);
    ck_assert(fs_config_real(c, "lr") == 0.25);
    ck_assert(fs_config_is_set(c, "lr"));
    ck_assert_int_eq(fs_config_set(c, "local-epochs", "3", "--local-epochs"), FS_OK);
    ck_assert_int_eq(fs_config_int(c, "local_epochs"), 3);
    fs_config_destroy(&c);
    ck_assert_ptr_null(c);
    fs_config_destroy(&c); /* NULL-safe */
}
END_TEST

START_TEST(bad_values)
{
    fs_config *c = NULL;
    ck_assert_int_eq(fs_config_create(&c), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "lr", "-1", "--lr"), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "--lr: option 'lr' must be in"));
    ck_assert_int_eq(fs_config_set(c, "rounds", "2.5", "--rounds"), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "needs an integer"));
    ck_assert_int_eq(fs_config_set(c, "rounds", "", "--rounds"), FS_ERR_ARG);
    ck_assert_int_eq(fs_config_set(c, "lr", "nan", "--lr"), FS_ERR_ARG);
    ck_assert_int_eq(fs_config_set(c, "resume", "maybe", "--resume"), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "one of no|yes|auto"));
    ck_assert_int_eq(fs_config_set(c, "bogus", "1", "--bogus"), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "unknown option 'bogus'"));
    /* a rejected value leaves the previous one */
    ck_assert(fs_config_real(c, "lr") == 0.02);
    ck_assert_int_eq(fs_config_check(c), FS_ERR_ARG); /* no data */
    ck_assert_int_eq(fs_config_set(c, "data", "s/site-%d.h5", "--data"), FS_OK);
    ck_assert_int_eq(fs_config_check(c), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "data", "s/%s.h5", "--data"), FS_OK);
    ck_assert_int_eq(fs_config_check(c), FS_ERR_ARG);
    fs_config_destroy(&c);
}
END_TEST

START_TEST(ini_file)
{
    fs_config *c = NULL;
    ck_assert_int_eq(fs_config_create(&c), FS_OK);
    const char *p = write_file("ok.ini", "; comment\n[train]\nlr = 0.125\nbatch_size=32\n\n"
                                         "[round]\nrounds = 7 ; inline\n[data]\ndata = a/%d.h5\n");
    ck_assert_int_eq(fs_config_load_ini(c, p), FS_OK);
    ck_assert(fs_config_real(c, "lr") == 0.125);
    ck_assert_int_eq(fs_config_int(c, "batch_size"), 32);
    ck_assert_int_eq(fs_config_int(c, "rounds"), 7);
    ck_assert_str_eq(fs_config_str(c, "data"), "a/%d.h5");

    p = write_file("bad1.ini", "[train]\nlr = 0.1\n\nmomentum = 2\n");
    ck_assert_int_eq(fs_config_load_ini(c, p), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "bad1.ini:4: option 'momentum'"));
    p = write_file("bad2.ini", "[train]\nrounds = 3\n");
    ck_assert_int_eq(fs_config_load_ini(c, p), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "bad2.ini:2: key 'rounds' belongs in section [round]"));
    p = write_file("bad3.ini", "[train\nlr = 1\n");
    ck_assert_int_eq(fs_config_load_ini(c, p), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "bad3.ini:1: syntax error"));
    ck_assert_int_eq(fs_config_load_ini(c, "/nonexistent/x.ini"), FS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "/nonexistent/x.ini"));
    fs_config_destroy(&c);
}
END_TEST

START_TEST(dump_and_hash)
{
    fs_config *a = NULL, *b = NULL;
    ck_assert_int_eq(fs_config_create(&a), FS_OK);
    ck_assert_int_eq(fs_config_create(&b), FS_OK);
    ck_assert(fs_config_hash(a) == fs_config_hash(b));
    ck_assert_int_eq(fs_config_set(b, "lr", "0.06", "x"), FS_OK);
    ck_assert(fs_config_hash(a) != fs_config_hash(b));
    ck_assert_int_eq(fs_config_set(a, "lr", "0.06", "other origin"), FS_OK);
    ck_assert(fs_config_hash(a) == fs_config_hash(b));
    /* the dump reloads to the same configuration */
    char path[256];
    snprintf(path, sizeof path, "%s/dump.ini", tmpdir);
    FILE *f = fopen(path, "w");
    fs_config_dump(b, f, 1);
    fclose(f);
    fs_config *c = NULL;
    ck_assert_int_eq(fs_config_create(&c), FS_OK);
    ck_assert_int_eq(fs_config_load_ini(c, path), FS_OK);
    ck_assert(fs_config_hash(c) == fs_config_hash(b));
    ck_assert_int_gt(fs_config_noptions(), 10);
    const char *key = NULL, *range = NULL;
    ck_assert_int_eq(fs_config_option(0, NULL, &key, NULL, NULL, &range, NULL), 0);
    ck_assert_int_eq(fs_config_option(fs_config_noptions(), NULL, &key, NULL, NULL, NULL, NULL), -1);
    fs_config_destroy(&a);
    fs_config_destroy(&b);
    fs_config_destroy(&c);
}
END_TEST

int main(void)
{
    if (!mkdtemp(tmpdir)) return 99;
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_and_set);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, ini_file);
    tcase_add_test(tc, dump_and_hash);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 99;
    return nf ? 1 : 0;
}

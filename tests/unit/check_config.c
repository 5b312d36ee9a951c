/*
 * check_config.c - unit tests of the option table (fs_config): defaults,
 * typed options (fs_config_options), ranges, aliases, per-command tables
 * and combination checks, INI files with line-numbered errors, dump and
 * fingerprint (with the known train hash of the previous table).
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
    fs_opts o;
    ck_assert_int_eq(fs_config_create(&c), FS_OK);
    ck_assert_int_eq(fs_config_command(c), FS_CMD_TRAIN);
    ck_assert_int_eq(fs_config_options(c, &o), FS_ERR_ARG);  /* no data source */
    ck_assert_int_eq(fs_config_set(c, "data", "s/site-%d.h5", "--data"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    ck_assert_str_eq(o.fl.model, "mlp:256,128");
    ck_assert_uint_eq(o.fl.batch_size, 64);
    ck_assert(o.fl.lr == 0.02);
    ck_assert_int_eq(fs_config_set(c, "lr", "0.25", "--lr"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "local-epochs", "3", "--local-epochs"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "server_opt", "fedyogi", "--server-opt"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "resume", "auto", "--resume"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "dp_sgd", "yes", "--dp-sgd"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    ck_assert(o.fl.lr == 0.25);
    ck_assert_int_eq(o.fl.local_epochs, 3);
    ck_assert_int_eq(o.fl.server_opt, FS_SERVER_FEDYOGI);
    ck_assert_int_eq(o.fed.resume, FS_RESUME_AUTO);
    ck_assert_int_eq(o.dp.dp_sgd, 1);
    ck_assert_int_eq(o.fed.ring_bits, 32);
    ck_assert_int_eq(o.fed.aggregation, FS_AGG_SECURE);
    ck_assert_str_eq(o.fed.data, "s/site-%d.h5");
    fs_config_destroy(&c);
    ck_assert_ptr_null(c);
    fs_config_destroy(&c); /* NULL-safe */
}
END_TEST

/* The old flag spellings are aliases of the canonical keys; the dump and the
 * hash use the canonical key, so both spellings give one configuration. */
START_TEST(aliases)
{
    fs_config *a = NULL, *b = NULL, *d = NULL;
    fs_opts o;
    ck_assert_int_eq(fs_config_create(&a), FS_OK);
    ck_assert_int_eq(fs_config_create(&b), FS_OK);
    ck_assert_int_eq(fs_config_set(a, "noise-multiplier", "1.5", "--noise-multiplier"), FS_OK);
    ck_assert_int_eq(fs_config_set(a, "sampling_rate", "0.05", "--sampling-rate"), FS_OK);
    ck_assert_int_eq(fs_config_set(a, "delta", "1e-6", "--delta"), FS_OK);
    ck_assert_int_eq(fs_config_set(b, "dp-noise", "1.5", "--dp-noise"), FS_OK);
    ck_assert_int_eq(fs_config_set(b, "dp-sampling-rate", "0.05", "--dp-sampling-rate"), FS_OK);
    ck_assert_int_eq(fs_config_set(b, "dp-delta", "1e-6", "--dp-delta"), FS_OK);
    ck_assert(fs_config_hash(a) == fs_config_hash(b));
    ck_assert_int_eq(fs_config_set(a, "data", "x", "--data"), FS_OK);
    ck_assert_int_eq(fs_config_options(a, &o), FS_OK);
    ck_assert(o.dp.noise == 1.5 && o.dp.sampling_rate == 0.05 && o.dp.delta == 1e-6);
    /* the same vocabulary in `fedsilo dp epsilon` */
    ck_assert_int_eq(fs_config_create_for(FS_CMD_DP_EPSILON, &d), FS_OK);
    ck_assert_int_eq(fs_config_options(d, &o), FS_ERR_ARG);   /* required: --dp-noise ... */
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "is required"));
    ck_assert_int_eq(fs_config_set(d, "noise-multiplier", "1.1", "x"), FS_OK);
    ck_assert_int_eq(fs_config_set(d, "sampling-rate", "0.01", "x"), FS_OK);
    ck_assert_int_eq(fs_config_set(d, "delta", "1e-5", "x"), FS_OK);
    ck_assert_int_eq(fs_config_set(d, "steps", "100", "x"), FS_OK);
    ck_assert_int_eq(fs_config_set(d, "target-epsilon", "1", "x"), FS_ERR_ARG);  /* calibrate's */
    ck_assert_int_eq(fs_config_options(d, &o), FS_OK);
    ck_assert(o.dp.noise == 1.1 && o.dp.steps == 100);
    fs_config_destroy(&a);
    fs_config_destroy(&b);
    fs_config_destroy(&d);
}
END_TEST

/* The train configuration hash (config.ini, checkpoints, the cross-rank
 * check) depends on every row of the train table: adding an option changes
 * it (here: `impute`, then `dp_public_metrics`, then `ddp_min_honest`, then the
 * `membership` and [gbdt] groups, then [gbdt] label_range); the known answer
 * makes every such change deliberate. */
START_TEST(train_hash_known_answer)
{
    fs_config *c = NULL;
    ck_assert_int_eq(fs_config_create(&c), FS_OK);
    ck_assert(fs_config_hash(c) == UINT64_C(9385175995065828502));
    ck_assert_int_eq(fs_config_set(c, "dp_noise", "1.5", "x"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "data", "a/%d.h5", "x"), FS_OK);
    ck_assert(fs_config_hash(c) == UINT64_C(9952338952522019167));
    fs_config_destroy(&c);
}
END_TEST

/* Invalid combinations are refused in fs_config_options; other commands'
 * tables: defaults equal the library's default functions, bare flags. */
START_TEST(commands)
{
    fs_config *c = NULL;
    fs_opts o;
    ck_assert_int_eq(fs_config_create(&c), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "data", "x", "x"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "ddp", "yes", "x"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "aggregation", "plain", "x"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "--ddp yes needs --aggregation secure"));
    fs_config_destroy(&c);

    ck_assert_int_eq(fs_config_create_for(FS_CMD_VFL_TRAIN, &c), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "data", "p-%d.h5", "x"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    fs_vfl_opts v;
    fs_vfl_opts_default(&v);
    ck_assert(o.vfl.model == v.model && o.vfl.lr == v.lr && o.vfl.l2 == v.l2 &&
              o.vfl.epochs == v.epochs && o.vfl.batch_size == v.batch_size &&
              o.vfl.paillier_bits == v.paillier_bits && o.vfl.seed == v.seed &&
              o.vfl.label_rank == v.label_rank);
    ck_assert_int_eq(o.label_rank_given, 0);
    ck_assert_int_eq(fs_config_set(c, "label-rank", "1", "x"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    ck_assert_int_eq(o.label_rank_given, 1);
    ck_assert_int_eq(fs_config_set(c, "rounds", "3", "x"), FS_ERR_ARG);   /* train's option */
    fs_config_destroy(&c);

    ck_assert_int_eq(fs_config_create_for(FS_CMD_STATS, &c), FS_OK);
    ck_assert_int_eq(fs_config_is_flag(c, "covariance"), 1);
    ck_assert_int_eq(fs_config_is_flag(c, "bins"), 0);
    ck_assert_int_eq(fs_config_is_flag(c, "lr"), -1);
    ck_assert_int_eq(fs_config_set(c, "range", "0:5", "--range"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_ERR_ARG);   /* --range without --bins */
    ck_assert_int_eq(fs_config_set(c, "bins", "8", "--bins"), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "range", "5:0", "--range"), FS_ERR_ARG);
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    fs_stats_opts so;
    fs_stats_opts_default(&so);
    ck_assert(o.stats.max_cov_features == so.max_cov_features && o.stats.dp_delta == so.dp_delta);
    ck_assert(o.stats.have_range && o.stats.lo == 0 && o.stats.hi == 5 && o.stats.bins == 8);
    fs_config_destroy(&c);

    ck_assert_int_eq(fs_config_create_for(FS_CMD_PSI, &c), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "ids", "i-%d.txt", "x"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_ERR_ARG);   /* no --out */
    ck_assert_int_eq(fs_config_set(c, "out", "o-%d.csv", "x"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    ck_assert_int_eq(fs_config_set(c, "data", "d-%d.h5", "x"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_ERR_ARG);   /* both --ids and --data */
    fs_config_destroy(&c);
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
    fs_opts o;
    ck_assert_int_eq(fs_config_set(c, "data", "x", "--data"), FS_OK);
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    ck_assert(o.fl.lr == 0.02);
    ck_assert_int_eq(fs_config_set(c, "data", "", "--data"), FS_OK);
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
    fs_opts o;
    ck_assert_int_eq(fs_config_options(c, &o), FS_OK);
    ck_assert(o.fl.lr == 0.125);
    ck_assert_uint_eq(o.fl.batch_size, 32);
    ck_assert_int_eq(o.fl.rounds, 7);
    ck_assert_str_eq(o.fed.data, "a/%d.h5");

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
    tcase_add_test(tc, aliases);
    tcase_add_test(tc, train_hash_known_answer);
    tcase_add_test(tc, commands);
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

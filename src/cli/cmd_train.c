/*
 * cmd_train.c - `fedsilo train` (the federation, under mpirun/srun) and
 * `fedsilo eval` (a checkpoint on a dataset, single process).
 *
 * Options come from the library's option table (fs_config): a config file
 * given with --config is applied first, then every --key value flag in
 * command-line order.  All ranks parse the same argv and then verify
 * collectively that they run the same effective configuration.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"
#include "progress.h"

/* The run control of this process's run: the signal handler and the
 * watchdog and progress threads reach it here. */
static fs_run_ctl *run_ctl;
static int cli_rank;

static void on_stop_signal(int sig)
{
    (void)sig;
    fs_run_ctl_request_stop(run_ctl);
}

static void train_usage(FILE *out, const fs_config *cfg)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo train [--config FILE] [--KEY VALUE ...]\n"
        "       srun --mpi=pmix fedsilo train [--config FILE] [--KEY VALUE ...]\n\n"
        "Run a federation: MPI rank i is institution i and reads only its own shard.\n"
        "Each round: local SGD -> weighted update -> aggregation -> FedAvg -> evaluation\n"
        "-> checkpoint.  Progress is printed by rank 0, one line per round; metrics go\n"
        "to OUT/metrics.jsonl, the effective configuration to OUT/config.ini.\n"
        "--model gbdt trains gradient-boosted trees instead (options of [gbdt], docs/gbdt.md):\n"
        "each boosting round sums every tree level's gradient/hessian histograms of all\n"
        "institutions (secure sum, 64-bit ring) and every rank takes the same splits; the\n"
        "pooled histograms, counts and bin edges are released to every institution, exact;\n"
        "with --ddp yes the level sums carry distributed DP noise per training row, the bin\n"
        "edges come from the schema's public ranges and no counts are summed (docs/gbdt.md,\n"
        "\"Differential privacy\"); one line per boosting round.\n\n"
        "  --config FILE        INI file with [section] key = value lines (flags override it)\n"
        "  --quiet              no per-round progress lines\n"
        "  --help               this text\n\n"
        "Options (INI key in [section] = flag without the dashes, '-' for '_'):\n");
    fs_config_print_help(cfg, out);
    fprintf(out,
        "\nSignals: SIGUSR1 or SIGTERM makes every rank finish the current round, write the\n"
        "checkpoint and exit with status 3; rerun with --resume auto to continue.\n"
        "Exit status: 0 success, 1 runtime error (message names rank and file),\n"
        "2 bad option or configuration, 3 stopped by signal after a checkpoint.\n");
}

typedef struct { int quiet; } progress_ctx;

/*
 * Local-training bar of rank 0 (issue: long local phases show progress).
 * A thread polls fs_run_ctl_local_progress every 100 ms; while this rank is in
 * local training it keeps a transient cli_progress on stdout (a bar on a
 * terminal; in logs a line only for a phase longer than
 * FEDSILO_PROGRESS_INTERVAL).  print_round ends the bar before printing,
 * under the same mutex, so a round line never lands inside a bar.
 */
static pthread_mutex_t bar_mu = PTHREAD_MUTEX_INITIALIZER;
static cli_progress *bar;
static long bar_rounds;

static void end_bar(void)
{
    pthread_mutex_lock(&bar_mu);
    cli_progress_end(&bar, 1);
    pthread_mutex_unlock(&bar_mu);
}

static void *bar_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = { 0, 100000000L };
        nanosleep(&ts, NULL);
        long done = 0, total = 0;
        int round = 0;
        fs_run_ctl_local_progress(run_ctl, &done, &total);
        fs_run_ctl_progress(run_ctl, NULL, &round);
        pthread_mutex_lock(&bar_mu);
        if (!bar && total > 0) {
            char label[64];
            snprintf(label, sizeof label, "round %d/%ld local", round, bar_rounds);
            bar = cli_progress_begin_on(stdout, 1, label, (uint64_t)total, "steps");
        }
        if (bar && total == 0) cli_progress_end(&bar, 1);
        cli_progress_set(bar, (uint64_t)done);
        pthread_mutex_unlock(&bar_mu);
    }
    return NULL;
}

static void print_round(const fs_round_metrics *m, void *user)
{
    progress_ctx *p = user;
    if (cli_rank != 0 || p->quiet) return;
    end_bar();
    char line[512];
    int len = snprintf(line, sizeof line, "round %d/%d", m->round, m->rounds);
    if (m->train_loss == m->train_loss)  /* NaN: not released (DP) */
        len += snprintf(line + len, sizeof line - len, "  train_loss %.4f", m->train_loss);
    const char *acc = m->is_regression ? "rmse" : "acc";
    if (m->evaluated && m->has_val)
        len += snprintf(line + len, sizeof line - len, "  val_loss %.4f  val_%s %.4f", m->val_loss,
                        acc, m->val_accuracy);
    if (m->evaluated && m->has_test)
        len += snprintf(line + len, sizeof line - len, "  test_loss %.4f  test_%s %.4f",
                        m->test_loss, acc, m->test_accuracy);
    if (m->epsilon == m->epsilon)  /* not NaN: DP-SGD is on */
        len += snprintf(line + len, sizeof line - len, "  eps %.3f", m->epsilon);
    if (m->ddp_epsilon == m->ddp_epsilon)  /* distributed DP is on */
        len += snprintf(line + len, sizeof line - len, "  ddp_eps %.3f", m->ddp_epsilon);
    if (m->public_list[0])  /* released exactly under DP (--dp-public-metrics yes) */
        len += snprintf(line + len, sizeof line - len, "  [public, not in eps: %s]",
                        m->public_list);
    if (m->not_private)
        len += snprintf(line + len, sizeof line - len, "  [NOT PRIVATE: --dp-seed]");
    double eta = m->round > 0 ? m->elapsed / m->round * (m->rounds - m->round) : 0;
    snprintf(line + len, sizeof line - len, "  %.2fs  ETA %.0fs%s", m->seconds, eta,
             m->checkpointed ? "  [ckpt]" : "");
    printf("%s\n", line);
    fflush(stdout);
}

/* The progress line of a GBDT round (rank 0). */
static void print_gbdt_round(const fs_gbdt_round_info *in, void *user)
{
    progress_ctx *p = user;
    if (cli_rank != 0 || p->quiet) return;
    char line[512];
    int len = snprintf(line, sizeof line, "round %d/%d  trees %d", in->round, in->rounds,
                       in->num_trees);
    if (in->train_metric == in->train_metric)
        len += snprintf(line + len, sizeof line - len, "  train_%s %.4f", in->metric_name,
                        in->train_metric);
    if (in->val_metric == in->val_metric)
        len += snprintf(line + len, sizeof line - len, "  val_%s %.4f", in->metric_name,
                        in->val_metric);
    const fs_eval_report *r[2] = { &in->val, &in->test };
    const char *pre[2] = { "val", "test" };
    for (int k = 0; k < 2 && in->evaluated; k++) {
        if (!(r[k]->count > 0)) continue;
        if (r[k]->is_regression) {
            len += snprintf(line + len, sizeof line - len, "  %s_rmse %.4f", pre[k], r[k]->rmse);
            if (r[k]->r2 == r[k]->r2)
                len += snprintf(line + len, sizeof line - len, "  %s_r2 %.4f", pre[k], r[k]->r2);
            continue;
        }
        len += snprintf(line + len, sizeof line - len, "  %s_acc %.4f", pre[k], r[k]->accuracy);
        if (r[k]->auc == r[k]->auc)
            len += snprintf(line + len, sizeof line - len, "  %s_auc %.4f", pre[k], r[k]->auc);
    }
    if (in->ddp_epsilon == in->ddp_epsilon)
        len += snprintf(line + len, sizeof line - len, "  eps %.3g", in->ddp_epsilon);
    double eta = in->round > 0 ? in->elapsed / in->round * (in->rounds - in->round) : 0;
    snprintf(line + len, sizeof line - len, "  %.2fs  ETA %.0fs%s%s", in->seconds,
             in->stopped_early ? 0 : eta, in->checkpointed ? "  [ckpt]" : "",
             in->stopped_early ? "  [early stop]" : "");
    printf("%s\n", line);
    fflush(stdout);
}

int fs_cmd_train(int argc, char **argv)
{
    fs_cli_mpi mpi;
    int status = fs_cli_mpi_begin(&mpi, "train", FS_CMD_TRAIN, &argc, &argv, 1, train_usage, 1,
                                  FS_LOG_INFO);
    if (status >= 0) return status;
    const fs_opts *o = &mpi.o;
    cli_rank = mpi.rank;
    fs_err rc = fs_agree(mpi.comm, fs_run_ctl_create(&run_ctl), NULL);
    if (rc != FS_OK) return fs_cli_mpi_finish(&mpi, rc);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    const int gbdt = !strcmp(o->fl.model, "gbdt");
    if (cli_rank == 0 && !mpi.quiet) {
        printf("fedsilo %s: %d institutions, model %s, %d %s, aggregation %s, data %s\n",
               fs_version_string(), mpi.size, o->fl.model, gbdt ? o->gbdt.trees : o->fl.rounds,
               gbdt ? "boosting rounds" : "rounds",
               o->fed.aggregation == FS_AGG_PLAIN ? "plain" : "secure", o->fed.data);
        fflush(stdout);
    }
    fs_cli_watchdog_start(&mpi, run_ctl, o->fed.timeout);
    progress_ctx pc = { mpi.quiet };
    bar_rounds = o->fl.rounds;
    pthread_t bt;
    if (!gbdt && cli_rank == 0 && !mpi.quiet && pthread_create(&bt, NULL, bar_main, NULL) == 0)
        pthread_detach(bt);
    rc = gbdt ? fs_gbdt_fed_train(mpi.comm, mpi.cfg, run_ctl, print_gbdt_round, &pc)
              : fs_fl_train(mpi.comm, mpi.cfg, run_ctl, print_round, &pc);
    end_bar();
    if (rc == FS_OK && cli_rank == 0 && !mpi.quiet)
        printf("done: checkpoint %s/checkpoint.h5, metrics %s/metrics.jsonl\n", o->fed.out,
               o->fed.out);
    /* The threads may still read run_ctl: it lives until the process ends. */
    return fs_cli_mpi_finish(&mpi, rc);
}

static void eval_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo eval --checkpoint FILE --data FILE.h5\n\n"
        "Evaluate a checkpoint's global model on every row of a dataset file and print\n"
        "rows, mean loss and accuracy (classification) or RMSE (regression).  The run's\n"
        "pipeline is applied first: the fill values of --impute (missing cells of a file\n"
        "imported with the run's schema), then the standardization of --standardize.  A\n"
        "file imported with another schema is refused.\n");
}

static void predict_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo predict --checkpoint FILE --input FILE.csv|FILE.h5 --out PREDS.csv\n"
        "                       [--delimiter D] [--on-error fail|skip]\n\n"
        "Apply a training run's whole pipeline to raw rows, in one process (no MPI): a CSV\n"
        "is encoded with the schema stored in the checkpoint (columns by name, any order;\n"
        "the label column is not needed), missing cells get the run's --impute fill values,\n"
        "features the run's --standardize moments, then the model predicts.  PREDS.csv has\n"
        "one line per input row: row (the file row, header = 1), the id column if the\n"
        "schema has one, prediction (the class name, or the value) and, for\n"
        "classification, p(CLASS) for every class.\n\n"
        "  --delimiter D      field delimiter of the CSV (, ; tab |); default ','\n"
        "  --on-error fail    a row with an unknown category or an invalid value stops\n"
        "                     with exit 1, naming the row, the column and the value (default)\n"
        "  --on-error skip    such rows are left out of PREDS.csv, one message each on stderr\n"
        "A schema column with unknown = other maps unknown categories to NAME=(other) instead.\n");
}

int fs_cmd_predict(int argc, char **argv)
{
    static const char *cmd = "predict";
    const char *ckpt = NULL, *onerr = "fail", *delim = NULL;
    fs_predict_opts po;
    memset(&po, 0, sizeof po);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { predict_usage(stdout); return 0; }
        if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc) ckpt = argv[++i];
        else if (!strcmp(argv[i], "--input") && i + 1 < argc) po.input = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) po.out = argv[++i];
        else if (!strcmp(argv[i], "--delimiter") && i + 1 < argc) delim = argv[++i];
        else if (!strcmp(argv[i], "--on-error") && i + 1 < argc) onerr = argv[++i];
        else return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    if (!ckpt || !po.input || !po.out)
        return fs_cli_usage_error(cmd, "--checkpoint, --input and --out are required");
    if (strcmp(onerr, "fail") != 0 && strcmp(onerr, "skip") != 0)
        return fs_cli_usage_error(cmd, "--on-error: '%s' is not fail or skip", onerr);
    if (delim && fs_csv_delimiter_parse(delim, &po.delimiter) != FS_OK)
        return fs_cli_usage_error(cmd, "--delimiter: %s", fs_errmsg());
    po.skip_bad_rows = !strcmp(onerr, "skip");
    po.skipped = stderr;
    fs_checkpoint *ck = NULL;
    fs_predict_summary sum;
    fs_gbdt_model *gm = NULL;
    if (fs_checkpoint_read(ckpt, &ck) != FS_OK) return fs_cli_fail(cmd, "%s", fs_errmsg());
    fs_err prc = strcmp(ck->model, "gbdt") != 0 ? fs_predict_checkpoint(ck, &po, &sum)
               : fs_gbdt_checkpoint_model(ck, ckpt, &gm);
    if (prc == FS_OK && gm) prc = fs_gbdt_predict_checkpoint(ck, gm, &po, &sum);
    fs_gbdt_model_destroy(&gm);
    if (prc != FS_OK) {
        fs_checkpoint_free(&ck);
        return fs_cli_fail(cmd, "%s", fs_errmsg());
    }
    printf("predicted %zu rows of %s with %s (round %d, model %s) -> %s\n", sum.rows, po.input,
           ckpt, ck->round, ck->model, po.out);
    fs_checkpoint_free(&ck);
    return 0;
}

int fs_cmd_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *data = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { eval_usage(stdout); return 0; }
        if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc) ckpt = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else return fs_cli_usage_error("eval", "unexpected argument '%s'", argv[i]);
    }
    if (!ckpt || !data) return fs_cli_usage_error("eval", "--checkpoint and --data are required");
    fs_checkpoint *ck = NULL;
    fs_eval_report r;
    fs_gbdt_model *gm = NULL;
    if (fs_checkpoint_read(ckpt, &ck) != FS_OK) return fs_cli_fail("eval", "%s", fs_errmsg());
    fs_err erc = strcmp(ck->model, "gbdt") != 0 ? fs_checkpoint_evaluate(ck, data, &r)
               : fs_gbdt_checkpoint_model(ck, ckpt, &gm);
    if (erc == FS_OK && gm) erc = fs_gbdt_checkpoint_evaluate(ck, gm, data, &r);
    fs_gbdt_model_destroy(&gm);
    if (erc != FS_OK) {
        fs_checkpoint_free(&ck);
        return fs_cli_fail("eval", "%s", fs_errmsg());
    }
    printf("checkpoint %s (round %d, model %s) on %s: rows %.0f  loss %.6f", ckpt, ck->round,
           ck->model, data, r.count, r.loss);
    if (r.is_regression) {
        printf("  rmse %.6f  mae %.6f  r2 %.6f\n", r.rmse, r.mae, r.r2);
    } else {
        printf("  accuracy %.6f", r.accuracy);
        if (r.has_confusion) printf("  macro_f1 %.6f", r.macro_f1);
        if (r.num_classes == 2) printf("  auc %.6f", r.auc);
        printf("\n");
        if (r.has_confusion) {
            printf("%-8s %9s %9s %9s\n", "class", "precision", "recall", "f1");
            for (int k = 0; k < r.num_classes; k++)
                printf("%-8d %9.4f %9.4f %9.4f\n", k, r.precision[k], r.recall[k], r.f1[k]);
        }
    }
    fs_checkpoint_free(&ck);
    return 0;
}

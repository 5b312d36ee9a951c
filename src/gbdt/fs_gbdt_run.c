/*
 * fs_gbdt_run.c - `fedsilo train --model gbdt`: the GBDT engine's step
 * sequence over the federation core.  Rank k holds n_k training rows.
 *
 *   open      configuration, shard (missing cells as NaN), pre-flight items
 *   options   objective from --objective and the shards' task; for
 *             reg:squarederror the public label range (--label-range or
 *             the schema's) and base score LO + base_score (HI - LO)
 *   engine    fs_gbdt_create on this rank's rows (or continuing the model
 *             of OUT/checkpoint.h5)                           rank-local, agreed
 *   connect   the sum session, 64-bit ring                    collective
 *   steps     W_k = fs_gbdt_step_local                        rank-local
 *             W   = sum_k W_k mod 2^64 (fs_fed_sum_words)     collective
 *             fs_gbdt_step_apply(W)                           identical on all ranks
 *   round end (after each round's EVAL step) the validation and test
 *             metric sums, model-hash check and stop flag, metrics line,
 *             checkpoint (rank 0, durable)
 *
 * Every rank takes every step, also a rank without rows: the step kinds,
 * vector ids and lengths depend only on the sums, so they agree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_impl.h"
#include "fs_json_impl.h"
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_gbdt_fed.h"
#include "fedsilo/fs_schema.h"
#include "gbdt/fs_gbdt_impl.h"

/* Everything one rank holds during a run; freed by run_free. */
typedef struct {
    fs_opts o;
    const fs_config *cfg;
    fs_fed *fed;
    int rank, size;
    fs_dataset *train, *val;  /* this rank's parts (borrowed from fed)      */
    fs_dataset *test;         /* this rank's slice of --test, or NULL       */
    fs_task task;             /* of the shards (regression: reg:squarederror) */
    int K;                    /* classes; 0 for regression                  */
    fs_gbdt_opts go;
    fs_gbdt *g;
    char ckpt_path[4300];
    int last_ckpt;            /* round held by the checkpoint on disk       */
} gb_run;

static void run_free(gb_run *st)
{
    fs_gbdt_destroy(&st->g);
    fs_dataset_destroy(&st->test);
    fs_fed_close(&st->fed);
}

/*
 * Rank-local: the public label range of a regression run: --label-range,
 * else the range = LO:HI of the label column in the shards' schema (agreed
 * by the SCHEMA pre-flight item), so it is the same on every rank.
 */
static fs_err label_range(const gb_run *st, double *lo, double *hi)
{
    fs_err rc = FS_OK;
    fs_schema *sc = NULL;
    const char *text = st->train->schema;
    if (st->o.gbdt.label_range[0]) return fs_opts_label_range(st->o.gbdt.label_range, lo, hi);
    if (text) FS_TRY(fs_schema_parse(text, strlen(text), "the shards' schema", &sc));
    const long lc = sc ? fs_schema_label_column(sc) : -1;
    const fs_schema_column *col = lc >= 0 ? fs_schema_column_at(sc, (size_t)lc) : NULL;
    if (!col || !col->has_lo || !col->has_hi)
        FS_FAIL(FS_ERR_ARG, "--objective reg:squarederror needs a public range of the target "
                "(it bounds the gradients): give --label-range LO:HI, or import the shards with "
                "a schema whose label column declares range = LO:HI");
    *lo = col->lo;
    *hi = col->hi;
    if (!(*lo < *hi) || !(*hi - *lo < 1e15))
        FS_FAIL(FS_ERR_ARG, "the schema's label range [%g, %g] needs LO < HI and HI - LO below "
                "1e15 for --objective reg:squarederror", *lo, *hi);
done:
    fs_schema_destroy(&sc);
    return rc;
}

/*
 * Rank-local: the objective from --objective and the shards' task, and for
 * reg:squarederror the label range and the initial prediction LO +
 * base_score (HI - LO): a public constant, so no statistic of the targets
 * (such as their mean) is released for it.
 */
static fs_err engine_objective(gb_run *st)
{
    fs_err rc = FS_OK;
    const fs_gbdt_cli_opts *c = &st->o.gbdt;
    fs_gbdt_opts *g = &st->go;
    const int reg = st->task == FS_TASK_REGRESSION;
    if (!strcmp(c->objective, "auto"))
        g->objective = reg ? FS_GBDT_REG_SQUAREDERROR : st->K > 2 ? FS_GBDT_MULTI_SOFTPROB
                                                                  : FS_GBDT_BINARY_LOGISTIC;
    else
        FS_TRY(fs_gbdt_objective_parse(c->objective, &g->objective));
    if (reg != (g->objective == FS_GBDT_REG_SQUAREDERROR))
        FS_FAIL(FS_ERR_ARG, "--objective %s needs %s target; the shards hold a %s target",
                c->objective, reg ? "a class" : "a regression", reg ? "regression" : "class");
    if (g->objective == FS_GBDT_BINARY_LOGISTIC && st->K != 2)
        FS_FAIL(FS_ERR_ARG, "--objective binary:logistic needs 2 classes; the shards have %d "
                "(use multi:softprob)", st->K);
    g->num_class = st->K;
    g->base_score = c->base_score;
    if (reg) {
        FS_TRY(label_range(st, &g->label_lo, &g->label_hi));
        g->base_score = g->label_lo + c->base_score * (g->label_hi - g->label_lo);
    }
done:
    return rc;
}

/* Rank-local: the engine options from [gbdt] (identical on every rank:
 * the configuration hash was agreed). */
static fs_err engine_opts(gb_run *st)
{
    fs_err rc = FS_OK;
    const fs_gbdt_cli_opts *c = &st->o.gbdt;
    fs_gbdt_opts *g = &st->go;
    st->task = st->train->task;
    st->K = st->task == FS_TASK_REGRESSION ? 0 : st->train->num_classes;
    fs_gbdt_opts_default(g);
    FS_TRY(engine_objective(st));
    g->rounds = c->trees;
    g->max_depth = c->max_depth;
    g->eta = c->eta;
    g->lambda = c->lambda;
    g->gamma = c->gamma;
    g->min_child_weight = c->min_child_weight;
    g->subsample = c->subsample;
    g->colsample_bytree = c->colsample;
    g->max_bins = c->max_bins;
    if (g->fine_bins < g->max_bins) g->fine_bins = g->max_bins;
    g->early_stopping_rounds = c->early_stopping_rounds;
    g->seed = st->o.fed.seed;
    FS_TRY(fs_gbdt_opts_check(g));
done:
    return rc;
}

/* Rank-local: rows [n r / N, n (r+1) / N) of the --test file. */
static fs_err load_test_slice(gb_run *st)
{
    fs_err rc = FS_OK;
    fs_dataset *test = NULL;
    size_t *rows = NULL;
    const char *path = st->o.fl.test;
    FS_TRY(fs_dataset_read_ex(path, FS_PART_TRAIN, FS_READ_ALLOW_MISSING, &test));
    if (test->d != st->train->d || test->task != st->train->task ||
        test->num_classes > st->K)
        FS_FAIL(FS_ERR_DATA, "test file %s does not match the shards: %zu features, %d classes "
                "(shards: %zu features, %d classes)", path, test->d, test->num_classes,
                st->train->d, st->K);
    if (st->train->schema_hash && test->schema_hash &&
        strcmp(st->train->schema_hash, test->schema_hash) != 0)
        FS_FAIL(FS_ERR_DATA, "test file %s was imported with another schema than the shards",
                path);
    const size_t lo = test->n * (size_t)st->rank / (size_t)st->size;
    const size_t hi = test->n * (size_t)(st->rank + 1) / (size_t)st->size;
    if (hi > lo) {
        FS_TRY(fs_alloc(&rows, hi - lo, sizeof *rows, "test rows"));
        for (size_t i = lo; i < hi; i++) rows[i - lo] = i;
        FS_TRY(fs_dataset_subset(test, rows, hi - lo, 0, test->d, &st->test));
        st->test->num_classes = st->K;
    }
done:
    free(rows);
    fs_dataset_destroy(&test);
    return rc;
}

/* Rank-local: does checkpoint ck fit this run? */
static fs_err check_fits(const gb_run *st, const fs_checkpoint *ck)
{
    const char *path = st->ckpt_path;
    if (strcmp(ck->model, "gbdt") != 0)
        return fs_error_set(FS_ERR_DATA, "%s holds a %s model, this run trains --model gbdt",
                            path, ck->model);
    if (ck->d != st->train->d || ck->num_classes != st->K)
        return fs_error_set(FS_ERR_DATA, "%s was written for %zu features and %d classes; this "
                            "run has %zu and %d", path, ck->d, ck->num_classes, st->train->d,
                            st->K);
    if (ck->nsilos != st->size)
        return fs_error_set(FS_ERR_DATA, "%s was written by %d institutions, this run has %d",
                            path, ck->nsilos, st->size);
    if (ck->seed != st->o.fed.seed)
        return fs_error_set(FS_ERR_DATA, "%s was written with --seed %llu, this run has %llu",
                            path, (unsigned long long)ck->seed,
                            (unsigned long long)st->o.fed.seed);
    return FS_OK;
}

/*
 * Rank-local: the model to continue (--resume), or *start = NULL; *round =
 * its completed rounds.  Every rank reads the checkpoint (shared file
 * system) and checks it against the run.
 */
static fs_err read_start(gb_run *st, fs_gbdt_model **start, int *round)
{
    fs_err rc = FS_OK;
    fs_checkpoint *ck = NULL;
    const fs_resume_mode mode = st->o.fed.resume;
    *start = NULL;
    *round = 0;
    if (mode == FS_RESUME_NO) return FS_OK;
    if (access(st->ckpt_path, F_OK) != 0) {
        if (mode == FS_RESUME_AUTO) return FS_OK;
        return fs_error_set(FS_ERR_IO, "--resume yes but %s does not exist: %s", st->ckpt_path,
                            strerror(errno));
    }
    FS_TRY(fs_checkpoint_read(st->ckpt_path, &ck));
    FS_TRY(check_fits(st, ck));
    FS_TRY(fs_gbdt_checkpoint_model(ck, st->ckpt_path, start));
    *round = ck->round;
done:
    fs_checkpoint_free(&ck);
    return rc;
}

/* Rank-local: this rank's engine (continuing *start when given). */
static fs_err create_engine(gb_run *st, const fs_gbdt_model *start, int start_round)
{
    fs_err rc = FS_OK;
    const fs_dataset *t = st->train, *v = st->val;
    fs_gbdt_data tr = { t->n, t->d, t->X, t->y_class, t->y_reg };
    fs_gbdt_data va = { v ? v->n : 0, t->d, v ? v->X : NULL, v ? v->y_class : NULL,
                        v ? v->y_reg : NULL };
    rc = fs_gbdt_create(&st->go, &tr, v ? &va : NULL, (uint32_t)st->rank, start, &st->g);
    if (rc == FS_OK && start) {
        fs_gbdt_status gs;
        fs_gbdt_get_status(st->g, &gs);
        if (gs.rounds_done != start_round)
            rc = fs_error_set(FS_ERR_DATA, "%s: the checkpoint's round %d differs from its "
                              "model's %d rounds", st->ckpt_path, start_round, gs.rounds_done);
    }
    if (rc != FS_OK) fs_error_prefix(rc, "%s: ", start ? st->ckpt_path : fs_fed_shard_path(st->fed));
    return rc;
}

/*
 * Rank-local: every cross-rank sum of the run, registered in the ledger
 * with its class (fs_fed_sum_* refuses an unregistered vector id).  All are
 * exact sums, released to every institution: class public.
 */
static fs_err register_sums(gb_run *st)
{
    fs_err rc = FS_OK;
    fs_ledger *l = fs_fed_ledger(st->fed);
    const fs_release_class P = FS_RELEASE_PUBLIC;
    const char *exact = "exact sum";
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_COARSE, "gbdt: training and validation rows, and "
                              "per feature the pooled count of values per binade (sums)", P,
                              exact));
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_FINE, "gbdt: per feature the pooled count of "
                              "values per fine bin, which give the bin edges (sums)", P, exact));
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_RESUME, "gbdt: training and validation rows of a "
                              "resumed run (sums)", P, exact));
    for (int lev = 0; lev < st->go.max_depth; lev++) {
        char name[200];
        snprintf(name, sizeof name, "gbdt: tree level %d of every tree, each built node's row "
                 "count and gradient and hessian sums, in total and per bin of every sampled "
                 "feature (sums)", lev);
        FS_TRY(fs_ledger_register(l, FS_GBDT_VID_LEVEL + (uint32_t)lev, name, P, exact));
    }
    FS_TRY(fs_ledger_register(l, FS_GBDT_VID_EVAL, "gbdt: training and validation loss sums "
                              "(every round)", P, exact));
    FS_TRY(fs_ledger_register(l, FS_GBDT_FED_VID_METRICS, "gbdt: validation and test metric "
                              "sums (every evaluated round)", P, exact));
done:
    return rc;
}

/* Collective: everything before the first step; *start = rounds done. */
static fs_err setup(gb_run *st, MPI_Comm comm, fs_run_ctl *ctl, int *start)
{
    fs_err rc = FS_OK;
    fs_gbdt_model *from = NULL;
    const fs_err optrc = fs_config_options(st->cfg, &st->o);
    st->o.fed.ring_bits = 64;   /* the words are sums mod 2^64 */
    fs_fed_open_opts fo = { st->cfg, &st->o.fed,
                            FS_FED_READ_TRAIN | FS_FED_READ_VALIDATION | FS_FED_READ_ALLOW_MISSING,
                            FS_PREFLIGHT_CONFIG | FS_PREFLIGHT_SHAPE | FS_PREFLIGHT_OWNER |
                            FS_PREFLIGHT_SCHEMA, 1, ctl, optrc };
    FS_TRY(fs_fed_open(comm, &fo, &st->fed));
    st->rank = fs_fed_rank(st->fed);
    st->size = fs_fed_size(st->fed);
    st->train = fs_fed_train_part(st->fed);
    st->val = fs_fed_validation_part(st->fed);
    fs_err local = fs_fed_run_path(st->fed, "checkpoint.h5", st->ckpt_path, sizeof st->ckpt_path);
    if (local == FS_OK) local = engine_opts(st);
    if (local == FS_OK && st->o.fl.test[0]) local = load_test_slice(st);
    if (local == FS_OK) local = read_start(st, &from, start);
    if (local == FS_OK) local = create_engine(st, from, *start);
    if (local == FS_OK) local = register_sums(st);
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_connect(st->fed));                   /* collective: key setup */
    FS_TRY(fs_fed_metrics_restart(st->fed, *start));
    st->last_ckpt = *start;
done:
    fs_gbdt_model_destroy(&from);
    return rc;
}

// ---------------------------------------------------------------- evaluation

/*
 * Collective.  The metrics of the current model on every validation part
 * and test slice: each rank adds the sums of its rows, the vectors are
 * summed through the core and every rank computes the same reports.
 */
static fs_err evaluate(gb_run *st, int round, fs_gbdt_round_info *info)
{
    fs_err rc = FS_OK;
    double *vec = NULL;   /* (2 len): validation sums, then test sums */
    const size_t len = fs_metrics_len(st->task, st->K);
    const fs_gbdt_model *m = fs_gbdt_get_model(st->g);
    fs_err local = fs_zalloc(&vec, 2 * len, sizeof *vec, "evaluation sums");
    if (local == FS_OK) local = fs_gbdt_add_metric_sums(m, st->val, st->K, vec);
    if (local == FS_OK) local = fs_gbdt_add_metric_sums(m, st->test, st->K, vec + len);
    if (local != FS_OK) fs_error_prefix(local, "evaluation: ");
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_sum_f64(st->fed, (uint64_t)round, FS_GBDT_FED_VID_METRICS, vec, vec, 2 * len));
    fs_gbdt_metric_report(m, vec, st->task, st->K, &info->val);
    fs_gbdt_metric_report(m, vec + len, st->task, st->K, &info->test);
    info->evaluated = 1;
done:
    free(vec);
    return rc;
}

/* One metrics.jsonl line (docs/formats.md, "GBDT runs"). */
static fs_err metrics_line(const gb_run *st, const fs_gbdt_round_info *in, char **line)
{
    fs_err rc = FS_OK;
    char hash[24];
    json_t *o = json_object();
    int bad = !o;
    *line = NULL;
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)in->model_hash);
    bad |= fs_json_put(o, "round", json_integer(in->round));
    bad |= fs_json_put(o, "trees", json_integer(in->num_trees));
    bad |= fs_json_put_num(o, "", "train_loss", in->train_metric);
    if (isfinite(in->val_metric)) bad |= fs_json_put_num(o, "", "val_loss", in->val_metric);
    const fs_eval_report *r[2] = { &in->val, &in->test };
    const char *pre[2] = { "val", "test" };
    for (int p = 0; p < 2 && in->evaluated; p++) {
        if (!(r[p]->count > 0)) continue;
        if (p == 1) bad |= fs_json_put_num(o, pre[p], "loss", r[p]->loss);
        if (r[p]->is_regression) {
            bad |= fs_json_put_num(o, pre[p], "rmse", r[p]->rmse);
            bad |= fs_json_put_num(o, pre[p], "mae", r[p]->mae);
            if (isfinite(r[p]->r2)) bad |= fs_json_put_num(o, pre[p], "r2", r[p]->r2);
            continue;
        }
        bad |= fs_json_put_num(o, pre[p], "accuracy", r[p]->accuracy);
        if (isfinite(r[p]->auc)) bad |= fs_json_put_num(o, pre[p], "auc", r[p]->auc);
        if (isfinite(r[p]->macro_f1)) bad |= fs_json_put_num(o, pre[p], "macro_f1", r[p]->macro_f1);
    }
    bad |= fs_json_put(o, "metric", json_string(in->metric_name));
    bad |= fs_json_put(o, "model_hash", json_string(hash));
    bad |= fs_json_put_num(o, "", "seconds", in->seconds);
    bad |= fs_json_put_num(o, "", "samples", (double)in->total_rows);
    bad |= fs_json_put(o, "aggregation", json_string(fs_fed_aggregation_name(st->fed)));
    if (bad) FS_FAIL(FS_ERR_NOMEM, "out of memory formatting the metrics of round %d", in->round);
    FS_TRY(fs_json_line(o, line));
done:
    json_decref(o);
    return rc;
}

// ---------------------------------------------------------------- checkpoints

/*
 * Collective.  Rank 0 writes OUT/checkpoint.h5: the root attributes and
 * /pipeline of fs_checkpoint_write (no /params), then the /gbdt group, in a
 * temporary file committed (fsync, rename, directory fsync) over the old
 * one; everyone agrees on the result.
 */
static fs_err save_checkpoint(gb_run *st, int round)
{
    fs_err local = FS_OK;
    if (st->rank == 0) {
        const fs_gbdt_model *m = fs_gbdt_get_model(st->g);
        char tmp[4400];
        fs_checkpoint ck;
        memset(&ck, 0, sizeof ck);
        ck.round = round;
        snprintf(ck.model, sizeof ck.model, "gbdt");
        ck.d = st->train->d;
        ck.task = st->task;
        ck.num_classes = st->K;
        ck.config_hash = fs_fed_config_hash(st->fed);
        ck.model_hash = fs_gbdt_model_hash(m);
        ck.seed = st->o.fed.seed;
        ck.nsilos = st->size;
        ck.schema = st->train->schema;
        snprintf(tmp, sizeof tmp, "%s.gbdt.%ld", st->ckpt_path, (long)getpid());
        local = fs_checkpoint_write(&ck, tmp);
        if (local == FS_OK) local = fs_gbdt_model_save(m, tmp, "gbdt");
        if (local == FS_OK) local = fs_file_commit(tmp, st->ckpt_path);
        if (local != FS_OK) {
            unlink(tmp);
            fs_error_prefix(local, "checkpoint not written (previous one kept): ");
        }
    }
    return fs_fed_agree(st->fed, local);
}

/*
 * Collective.  The end of boosting round `round` (1-based): metrics, the
 * model-hash check and stop flag, the metrics line (before the checkpoint:
 * a crash between them leaves a line the resume drops and redoes), the
 * checkpoint when due.
 */
static fs_err round_end(gb_run *st, int round, double t0, double t_start,
                        fs_gbdt_round_info *info, int *stop)
{
    fs_err rc = FS_OK;
    char *line = NULL;
    fs_gbdt_status gs;
    const fs_gbdt_model *m = fs_gbdt_get_model(st->g);
    fs_gbdt_get_status(st->g, &gs);
    memset(info, 0, sizeof *info);
    info->round = round;
    info->rounds = st->go.rounds;
    info->num_trees = fs_gbdt_model_num_trees(m);
    info->metric_name = gs.metric_name;
    info->train_metric = gs.train_metric;
    info->val_metric = gs.val_metric;
    info->total_rows = gs.total_rows;
    info->stopped_early = gs.stopped_early;
    const int last = gs.stopped_early || round >= st->go.rounds;
    fs_fed_mark(st->fed, "evaluation", round);
    if (round % st->o.fl.eval_every == 0 || last) FS_TRY(evaluate(st, round, info));
    fs_fed_mark(st->fed, "checkpoint", round);
    info->model_hash = fs_gbdt_model_hash(m);
    FS_TRY(fs_fed_round_end_hash(st->fed, round, info->model_hash, stop));
    const int ckpt = fs_fed_checkpoint_due(st->fed, round, st->go.rounds, *stop) || last;
    info->checkpointed = ckpt;
    info->seconds = fs_now() - t0;
    info->elapsed = fs_now() - t_start;
    fs_err local = metrics_line(st, info, &line);
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_metrics_append(st->fed, line));
    if (ckpt) {
        FS_TRY(save_checkpoint(st, gs.rounds_done));
        st->last_ckpt = gs.rounds_done;
    }
done:
    free(line);
    return rc;
}

/* Collective: one step of the engine: local words, their sum, apply. */
static fs_err run_step(gb_run *st, fs_gbdt_step *s, int round)
{
    fs_err rc = FS_OK;
    fs_err local = fs_gbdt_step_local(st->g, s);
    if (local != FS_OK) fs_error_prefix(local, "%s: ", fs_fed_shard_path(st->fed));
    if (local == FS_OK && s->kind == FS_GBDT_STEP_DONE) goto done;
    fs_fed_mark(st->fed, s->kind == FS_GBDT_STEP_LEVEL ? "secure sum of a tree level's histograms"
                         : "secure sum of the bin or loss counts", round);
    FS_TRY(fs_fed_sum_words(st->fed, s->round_id, s->vector_id, s->words, s->n, local));
    FS_TRY(fs_fed_agree(st->fed, fs_gbdt_step_apply(st->g)));
done:
    return rc;
}

fs_err fs_gbdt_fed_train(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl,
                         fs_gbdt_round_fn on_round, void *user)
{
    fs_err rc = FS_OK;
    gb_run st_, *st = &st_;
    const double t_start = fs_now();
    int start = 0, stop = 0;
    memset(st, 0, sizeof *st);
    st->cfg = cfg;
    FS_TRY(setup(st, comm, ctl, &start));
    double t0 = fs_now();
    for (;;) {
        fs_gbdt_step s;
        fs_gbdt_status gs;
        fs_gbdt_get_status(st->g, &gs);
        FS_TRY(run_step(st, &s, gs.rounds_done + 1));
        if (s.kind == FS_GBDT_STEP_DONE) break;
        if (s.kind != FS_GBDT_STEP_EVAL) continue;
        const int round = (int)s.round_id + 1;
        fs_gbdt_round_info info;
        FS_TRY(round_end(st, round, t0, t_start, &info, &stop));
        if (on_round) on_round(&info, user);
        t0 = fs_now();
        if (stop && !info.stopped_early && round < st->go.rounds)
            FS_FAIL(FS_ERR_INTERRUPTED, "stopped on request after round %d of %d; checkpoint %s "
                    "written; rerun with --resume auto to continue", round, st->go.rounds,
                    st->ckpt_path);
    }
done:
    run_free(st);
    return rc;
}

/*
 * fs_train.c - the FedAvg round loop (McMahan et al. 2017) over the
 * federation core.  Rank k holds n_k training rows.  Each round r, starting
 * from the global model w:
 *
 *   budget   stop, with a checkpoint, before a round that would exceed
 *            --dp-epsilon                                    identical on all ranks
 *   w_k   = LocalSGD(w, shard_k; seed, k, r)                  rank-local
 *   charge: under DP the round is charged to the privacy ledger, durably
 *            (fsync'd journal), before anything of the round is sent
 *   u_k   = p_k (w_k - w),  p_k = n_k / n, n = sum_k n_k      (nparams) floats
 *            (under DP p_k = 1/N, public: fl_fedavg_weight)
 *   U     = sum_k u_k                                         collective: aggregation
 *   w     = w + ServerOpt(U)   (FedAvg: w += server_lr U)     identical on all ranks
 *   account: summed training loss (not released under DP unless
 *            --dp-public-metrics yes); the epsilon spent
 *   evaluate: validation parts and slices of the global test file, summed
 *            (under DP: the test slices only, unless --dp-public-metrics)
 *   round end: cross-rank model-hash check and stop flag, metrics line,
 *            checkpoint (rank 0, durable)
 *
 * Folding 1/n into the weights keeps |U| <= max_k |w_k - w| whatever the
 * sample counts, which is what the fixed-point headroom rule of the secure
 * sum needs (weight 1).
 *
 * Collective discipline: every rank-local phase that can fail (local
 * training, writing a file) is followed by an agreement before the next
 * collective, so all ranks return the same code and rank 0 can print one
 * message naming the failing rank and file.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl/fs_fl_impl.h"

/* The round's start: w_global = w; the metrics record of round r + 1. */
static void begin_round(fl_run *st, int r, fs_round_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->round = r + 1;
    m->rounds = st->o.fl.rounds;
    m->is_regression = st->train->task == FS_TASK_REGRESSION;
    m->total_samples = st->n_total;
    m->setup_seconds = fs_fed_setup_seconds(st->fed);
    fs_fed_mark(st->fed, "local training", m->round);
    memcpy(st->w_global, fs_model_params(st->model), st->nparams * sizeof(float));
}

/*
 * Would the next round take an accountant past --dp-epsilon?  Every rank
 * holds the same ledger, so every rank answers the same.  Before the first
 * round that is a configuration error; later the run stops cleanly, with a
 * checkpoint of the last completed round (*stop_now = 1).
 */
static fs_err budget_exhausted(fl_run *st, int r, int *stop_now)
{
    fs_err rc = FS_OK;
    const double budget = st->o.dp.epsilon;
    double eps_next = 0;
    int exceed = 0;
    *stop_now = 0;
    FS_TRY(fs_ledger_would_exceed(fs_fed_ledger(st->fed), budget, st->o.dp.delta, &exceed,
                                  &eps_next));
    if (!exceed) goto done;
    if (r == 0 && fs_ledger_charges(fs_fed_ledger(st->fed)) > 0)
        FS_FAIL(FS_ERR_ARG, "--dp-epsilon %g: the privacy ledger of %s already holds %ld rounds "
                "charged by earlier runs; one more would reach epsilon %g (use a new --out only "
                "for new data)", budget, st->o.fed.out, fs_ledger_charges(fs_fed_ledger(st->fed)),
                eps_next);
    if (r == 0)
        FS_FAIL(FS_ERR_ARG, "--dp-epsilon %g is smaller than the epsilon of one round (%g); "
                "raise the budget or the noise", budget, eps_next);
    if (st->rank == 0)
        fs_log(FS_LOG_INFO, "privacy budget: stopping before round %d, which would reach "
               "epsilon %.4g > --dp-epsilon %g", r + 1, eps_next, budget);
    if (st->last_ckpt != r) FS_TRY(fl_save_checkpoint(st, r));
    *stop_now = 1;
done:
    return rc;
}

/* E local epochs of SGD (or DP-SGD) from the global model on this rank's
 * shard; rank-local, then agreed (collective). */
static fs_err local_train(fl_run *st, int r, fl_round *lr)
{
    fs_err local = FS_OK;
    const int round = r + 1;
    const uint64_t seed = st->o.fed.seed;
    memset(lr, 0, sizeof *lr);
    if (st->o.dp.dp_sgd) {
        fs_dpsgd_stats dst;
        memset(&dst, 0, sizeof dst);
        local = fs_dpsgd_train(st->model, st->train, &st->dpo, seed, st->member, r,
                               st->dp_seed_p, &dst);
        lr->ss = dst.sgd;
    } else {
        /* planned steps: local_steps, or epochs * ceil(n / batch) */
        const fs_sgd_opts *s = &st->sgd;
        st->local_total = s->local_steps > 0 ? s->local_steps
                        : (long)s->local_epochs * (long)((st->train->n + s->batch_size - 1) /
                                                         s->batch_size);
        fs_fed_local_progress(st->fed, 0, st->local_total);
        local = fs_sgd_train(st->model, st->train, s, seed, st->member, r, &lr->ss);
        fs_fed_local_progress(st->fed, 0, 0);
    }
    if (local != FS_OK) fs_error_prefix(local, "%s: ", fs_fed_shard_path(st->fed));
    /* charged (and on disk) before this rank sends anything of the round */
    if (local == FS_OK) local = fs_ledger_charge_round(fs_fed_ledger(st->fed));
    if (local == FS_OK) local = fl_log_round(st, round);   /* before any sum of the round */
    fs_fed_mark(st->fed, "aggregation (waiting for the other institutions' local training)", round);
    fs_err rc = fs_fed_agree(st->fed, local);
    fs_fed_mark(st->fed, "secure aggregation", round);
    return rc;
}

/* u_k = p_k (w_k - w): this rank's weighted update. */
static void weigh_update(fl_run *st)
{
    const float *w = fs_model_params(st->model);
    const float pk = fl_fedavg_weight(st);
    for (size_t i = 0; i < st->nparams; i++) st->update[i] = pk * (w[i] - st->w_global[i]);
}

/* Collective: U = sum_k u_k, the FedAvg mean update, in place of u_k. */
static fs_err aggregate_update(fl_run *st, int round, fl_round *lr)
{
    fs_err rc = fs_ledger_check_sum(fs_fed_ledger(st->fed), FS_VEC_UPDATE, NULL);
    if (rc != FS_OK) return rc;
    if (st->ddp)  /* clipped, rotated, noised in the ring, securely summed */
        return fs_ddp_sum(st->ddp, fs_fed_secagg(st->fed), (uint64_t)round, FS_VEC_UPDATE,
                          st->update, st->update, &lr->ddp_clipped);
    return fs_fed_sum_f32(st->fed, (uint64_t)round, FS_VEC_UPDATE, st->update, st->update,
                          st->nparams, &lr->nclip);
}

/* w <- w_global + ServerOpt(U): identical arithmetic on every rank. */
static void server_step(fl_run *st)
{
    float *w = fs_model_params(st->model);
    memcpy(w, st->w_global, st->nparams * sizeof(float));
    fs_server_opt_step(st->sopt, w, st->update);
}

/* Collective: the summed training loss and clip counts (when exact sums
 * are released); the epsilon spent, charged before the round's sum. */
static fs_err account(fl_run *st, int round, const fl_round *lr, fs_round_metrics *m)
{
    fs_err rc = FS_OK;
    fs_ledger *l = fs_fed_ledger(st->fed);
    double tl[4] = { lr->ss.loss_sum, lr->ss.samples, (double)lr->nclip, (double)lr->ddp_clipped };
    double tls[4] = { NAN, NAN, NAN, NAN };
    if (st->release_public) FS_TRY(fs_fed_sum_f64(st->fed, (uint64_t)round, FS_VEC_TRAIN, tl, tls, 4));
    m->train_loss = tls[1] > 0 ? tls[0] / tls[1] : NAN;
    m->clipped = tls[2];
    m->ddp_clipped = tls[3];
    FS_TRY(fs_ledger_epsilon(l, FS_LEDGER_DDP, st->o.dp.delta, &m->ddp_epsilon));
    FS_TRY(fs_ledger_epsilon(l, FS_LEDGER_DPSGD, st->o.dp.delta, &m->epsilon));
done:
    return rc;
}

/*
 * Test hook (tests/cli/ledger_crash.sh): FEDSILO_TEST_KILL_AFTER_RELEASE=R
 * kills every rank with SIGKILL right after round R's sum was decoded,
 * before its metrics line and checkpoint: a power cut at the worst moment
 * for the privacy ledger.
 */
static void test_kill_point(int round)
{
    const char *v = getenv("FEDSILO_TEST_KILL_AFTER_RELEASE");
    if (v && atoi(v) == round) raise(SIGKILL);
}

/*
 * Test hook (tests/hpc/slurm_elastic.sh): FEDSILO_TEST_KILL_MEMBER=K:R makes
 * the rank of the institution with roster index K kill itself with SIGKILL
 * at the start of round R, before its local training and before it enters
 * any of round R's secure sums: one institution's node dying mid-run.
 */
static void test_kill_member_point(int member, int round)
{
    const char *v = getenv("FEDSILO_TEST_KILL_MEMBER");
    int k = -1, r = -1;
    if (v && sscanf(v, "%d:%d", &k, &r) == 2 && k == member && r == round) raise(SIGKILL);
}

static int eval_due(const fl_run *st, int round)
{
    return round % st->o.fl.eval_every == 0 || round == st->o.fl.rounds;
}

/*
 * Collective.  The round's end: the global models must agree and a stop
 * request anywhere stops all; then the metrics line, then the checkpoint.
 * The line goes first: a crash between them leaves a line for a round the
 * checkpoint does not hold, which the resume drops and redoes; the reverse
 * order would lose a line.
 */
static fs_err round_end(fl_run *st, int round, fs_round_metrics *m, double t0, double t_start,
                        int *stop)
{
    fs_err rc = FS_OK;
    char *line = NULL;
    fs_fed_mark(st->fed, "checkpoint", round);
    FS_TRY(fs_fed_round_end(st->fed, round, fs_model_params(st->model), st->nparams, stop));
    const int ckpt = fs_fed_checkpoint_due(st->fed, round, st->o.fl.rounds, *stop);
    m->checkpointed = ckpt;
    m->seconds = fs_now() - t0;
    m->elapsed = fs_now() - t_start;
    fl_public_list(st, m, m->public_list, sizeof m->public_list);
    m->not_private = st->dp_on && st->o.dp.dp_seed != 0;
    fs_err local = fl_metrics_line(st, m, &line);
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_metrics_append(st->fed, line));
    if (ckpt) {
        FS_TRY(fl_save_checkpoint(st, round));
        st->last_ckpt = round;
    }
done:
    free(line);
    return rc;
}

/* Collective: everything before the first round. */
static fs_err setup(fl_run *st, MPI_Comm comm, fs_run_ctl *ctl, int *start)
{
    fs_err rc = FS_OK;
    const fs_err optrc = fs_config_options(st->cfg, &st->o);
    /* missing cells are read only when they will be imputed */
    const unsigned read = FS_FED_READ_TRAIN | FS_FED_READ_VALIDATION |
                          (optrc == FS_OK && st->o.fl.impute ? FS_FED_READ_ALLOW_MISSING : 0);
    fs_fed_open_opts fo = { st->cfg, &st->o.fed, read,
                            FS_PREFLIGHT_CONFIG | FS_PREFLIGHT_SHAPE | FS_PREFLIGHT_OWNER |
                            FS_PREFLIGHT_SCHEMA, 1, ctl, optrc };
    FS_TRY(fs_fed_open(comm, &fo, &st->fed));
    st->rank = fs_fed_rank(st->fed);
    st->size = fs_fed_size(st->fed);
    st->member = fs_fed_member(st->fed, st->rank);
    st->train = fs_fed_train_part(st->fed);
    st->val = fs_fed_validation_part(st->fed);
    fs_err local = fs_fed_run_path(st->fed, "checkpoint.h5", st->ckpt_path, sizeof st->ckpt_path);
    if (local == FS_OK) local = fl_members_init(st);   /* the members' names */
    if (local == FS_OK) local = fl_setup_local(st);    /* model, buffers, DP plan, test slice */
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_connect(st->fed));                   /* collective: key setup */
    FS_TRY(fl_setup_ddp(st));
    FS_TRY(fs_fed_agree(st->fed, fl_register_releases(st)));  /* before any sum */
    FS_TRY(fl_resume(st, start));                      /* and the durable ledger */
    st->last_ckpt = *start;
    FS_TRY(fl_count_samples(st));
    FS_TRY(fl_preprocess(st));                         /* --impute, --standardize */
done:
    return rc;
}

fs_err fs_fl_train(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl, fs_round_fn on_round,
                   void *user)
{
    fs_err rc = FS_OK;
    fl_run st_, *st = &st_;
    const double t_start = fs_now();
    int start = 0, stop = 0;
    memset(st, 0, sizeof *st);
    st->cfg = cfg;
    FS_TRY(setup(st, comm, ctl, &start));

    for (int r = start; r < st->o.fl.rounds; r++) {
        const int round = r + 1;  /* 1-based in metrics and checkpoints */
        fs_round_metrics m;
        fl_round lr;
        const double t0 = fs_now();
        int stop_now = 0;
        test_kill_member_point(st->member, round);
        begin_round(st, r, &m);                            /* w_global = w                */
        FS_TRY(budget_exhausted(st, r, &stop_now));        /* the next round's epsilon    */
        if (stop_now) break;
        FS_TRY(local_train(st, r, &lr));                   /* E local epochs on this silo */
        const double t1 = fs_now();
        weigh_update(st);                                  /* u_k = (n_k/n)(w_k - w)      */
        FS_TRY(aggregate_update(st, round, &lr));          /* collective: U = sum_k u_k   */
        server_step(st);                                   /* w = w_global + ServerOpt(U) */
        FS_TRY(account(st, round, &lr, &m));               /* losses; epsilon spent       */
        test_kill_point(round);
        const double t2 = fs_now();
        fs_fed_mark(st->fed, "evaluation", round);
        if (eval_due(st, round)) FS_TRY(fl_evaluate(st, round, &m));   /* collective      */
        const double t3 = fs_now();
        FS_TRY(round_end(st, round, &m, t0, t_start, &stop));  /* hash, metrics, checkpoint */
        m.t_local = t1 - t0;
        m.t_aggregate = t2 - t1;
        m.t_evaluate = t3 - t2;
        m.t_round_end = fs_now() - t3;
        if (on_round) on_round(&m, user);
        if (stop && round < st->o.fl.rounds)
            FS_FAIL(FS_ERR_INTERRUPTED, "stopped on request after round %d of %d; checkpoint %s "
                    "written; rerun with --resume auto to continue", round, st->o.fl.rounds,
                    st->ckpt_path);
    }
done:
    fl_run_free(st);
    return rc;
}

/*
 * fs_fl_setup.c - setting up one FedAvg run on a rank: model and buffers,
 * server optimizer, the DP-SGD and distributed-DP plans (with their
 * accountants in the run's privacy ledger), the global sample count and
 * the preprocessing pipeline (imputation, standardization: fs_prep.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fl/fs_fl_impl.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_dp.h"

/* Steps of local SGD report here (the watchdog and the progress bar). */
static void count_step(void *user, long steps_done)
{
    fl_run *st = user;
    fs_fed_local_progress(st->fed, steps_done, st->local_total);
}

/*
 * Rank-local.  DP-SGD plan: every institution samples at the same rate q
 * for the same number of steps per round, so one accountant, identical on
 * all ranks and revealing no shard size, bounds the privacy loss of every
 * institution's records.  Poisson: every row joins a batch with probability
 * exactly q, however small the shard (the expected batch q n_k may be below
 * one row).  Fixed: subsets of floor(q n_k) rows (true rate <= q); a shard
 * with q n_k < 1 is refused (that refusal tells the others n_k < 1/q).  Needs the model (batch capacity).  With FedProx the options
 * carry the proximal term, which fs_dpsgd_train adds after clipping and
 * noise (it depends on no record).
 */
static fs_err setup_dp(fl_run *st)
{
    fs_err rc = FS_OK;
    const fs_dp_opts *dp = &st->o.dp;
    if (!dp->dp_sgd) return FS_OK;
    const double q = dp->sampling_rate;
    st->dpo.sgd = st->sgd;
    st->dpo.clip_norm = dp->clip;
    st->dpo.noise_multiplier = dp->noise;
    st->dpo.sampling = dp->sampling;
    size_t bk = (size_t)floor(q * (double)st->train->n);
    if (dp->sampling == FS_DPSGD_POISSON) st->dpo.sampling_rate = q;
    else if (bk == 0)
        FS_FAIL(FS_ERR_ARG, "--dp-sampling fixed with --dp-sampling-rate %g gives batches of no "
                "rows on this institution's shard; use --dp-sampling poisson (rate exactly q) or "
                "a larger q", q);
    st->dpo.sgd.batch_size = bk ? bk : 1;
    const long steps = st->sgd.local_steps > 0 ? st->sgd.local_steps
                                               : (long)ceil(1.0 / q) * (long)st->sgd.local_epochs;
    st->dpo.sgd.local_steps = steps;
    st->dpo.sgd.on_step = NULL;
    if (st->dpo.sgd.batch_size > fs_model_max_batch(st->model))
        FS_FAIL(FS_ERR_ARG, "DP-SGD batch of %zu rows (q = %g) exceeds --batch-size %zu; "
                "raise --batch-size", st->dpo.sgd.batch_size, q, fs_model_max_batch(st->model));
    /* identical on every rank: same (sigma, q, steps) everywhere */
    FS_TRY(fs_ledger_enable(fs_fed_ledger(st->fed), FS_LEDGER_DPSGD, dp->noise, q, steps));
    if (dp->dp_seed != 0) {
        /* reproducible noise for tests: SHA-256("fedsilo dp seed <seed> rank <rank>") */
        char lbl[96];
        int len = snprintf(lbl, sizeof lbl, "fedsilo dp seed %ld rank %d", (long)dp->dp_seed,
                           st->rank);
        FS_TRY(fs_sha256(lbl, (size_t)len, st->dp_seed));
        st->dp_seed_p = st->dp_seed;
    }
done:
    return rc;
}

fs_err fl_setup_local(fl_run *st)
{
    fs_err rc = FS_OK;
    const fs_fl_opts *fl = &st->o.fl;
    fs_sgd_opts *sgd = &st->sgd;
    memset(sgd, 0, sizeof *sgd);
    sgd->lr = fl->lr;
    sgd->momentum = fl->momentum;
    sgd->weight_decay = fl->weight_decay;
    sgd->batch_size = fl->batch_size;
    sgd->local_epochs = fl->local_epochs;
    sgd->local_steps = fl->local_steps;
    if (fl->algorithm == FS_ALGO_FEDSGD) {
        /* FedSGD: one gradient step on the whole shard per round */
        sgd->local_steps = 1;
        sgd->batch_size = st->train->n;
        sgd->momentum = 0;
    }
    FS_TRY(fs_model_create(fl->model, st->train->d, st->train->task, st->train->num_classes,
                           sgd->batch_size, &st->model));
    st->nparams = fs_model_nparams(st->model);
    fs_model_init(st->model, st->o.fed.seed);
    FS_TRY(fs_alloc(&st->w_global, st->nparams, sizeof(float), "global model"));
    FS_TRY(fs_alloc(&st->update, st->nparams, sizeof(float), "model update"));
    /* The table's server_opt choices are in fs_sopt_kind order. */
    _Static_assert((int)FS_SERVER_FEDADAM == (int)FS_SOPT_FEDADAM, "server optimizer order");
    FS_TRY(fs_server_opt_create((fs_sopt_kind)fl->server_opt, fl->server_lr, fl->server_beta1,
                                fl->server_beta2, fl->server_tau, st->nparams, &st->sopt));
    if (fl->algorithm == FS_ALGO_FEDPROX) {
        sgd->prox_mu = fl->prox_mu;
        sgd->prox_anchor = st->w_global;
    }
    sgd->on_step = count_step;
    sgd->on_step_user = st;
    FS_TRY(setup_dp(st));
    if (fl->test[0]) FS_TRY(fl_load_test_slice(st));
done:
    return rc;
}

/*
 * Collective.  Distributed-DP plan (fs_ddp.h): the same public plan on
 * every rank (fractional bits, rotation seed from --seed), private noise;
 * its institution-level accountant in the ledger.  H = --ddp-min-honest,
 * 0 meaning N - 1 (one curious institution; 1 when N = 1).
 */
fs_err fl_setup_ddp(fl_run *st)
{
    fs_err local = FS_OK;
    const fs_dp_opts *dp = &st->o.dp;
    if (!dp->ddp) return FS_OK;
    uint8_t rseed[32], nseed[32];  /* nseed: secret, wiped below */
    char lbl[96];
    int len = snprintf(lbl, sizeof lbl, "fedsilo ddp rotation %ld", (long)st->o.fed.seed);
    local = fs_sha256(lbl, (size_t)len, rseed);
    if (local == FS_OK && dp->dp_seed != 0) {
        len = snprintf(lbl, sizeof lbl, "fedsilo ddp noise %ld rank %d", (long)dp->dp_seed,
                       st->rank);
        local = fs_sha256(lbl, (size_t)len, nseed);
    }
    const int H = dp->ddp_min_honest > 0 ? dp->ddp_min_honest : st->size > 1 ? st->size - 1 : 1;
    if (local == FS_OK)
        local = fs_ddp_create(st->nparams, st->size, H, st->o.fed.ring_bits, dp->ddp_clip,
                              dp->ddp_noise, dp->ddp_max_wrap, rseed,
                              dp->dp_seed != 0 ? nseed : NULL, &st->ddp);
    fs_secure_zero(nseed, sizeof nseed);
    /* one Gaussian mechanism on the sum per round: sensitivity S (ring
     * units), noise z_eff S from any H honest shares */
    if (local == FS_OK)
        local = fs_ledger_enable(fs_fed_ledger(st->fed), FS_LEDGER_DDP,
                                 fs_ddp_noise_multiplier(st->ddp), 1.0, 1);
    fs_err rc = fs_fed_agree(st->fed, local);  /* collective */
    if (rc == FS_OK && st->rank == 0)
        fs_log(FS_LOG_INFO, "distributed DP: clip %g, noise multiplier %.6g (exact) from the "
               "shares of any %d of the %d institutions (--ddp-min-honest; epsilon holds against "
               "a coalition of up to %d), sensitivity c 2^f + sqrt(d')/2 = %.6g ring units, %d "
               "fractional bits, rotation to %zu coordinates, P(modular wrap per round) <= %.3g",
               dp->ddp_clip, fs_ddp_noise_multiplier(st->ddp), H, st->size, st->size - H,
               fs_ddp_sensitivity(st->ddp), fs_ddp_frac_bits(st->ddp), fs_ddp_dim(st->ddp),
               fs_ddp_wrap_bound(st->ddp));
    return rc;
}

/* Collective: n = sum of n_k, through the core's sum like every sum; not
 * released under DP unless exact sums are (n is then NaN: the FedAvg
 * weights are public, fl_fedavg_weight). */
fs_err fl_count_samples(fl_run *st)
{
    double nk = (double)st->train->n, ntot = NAN;
    st->n_total = NAN;
    if (!st->release_public) return FS_OK;
    fs_err rc = fs_fed_sum_f64(st->fed, 0, FS_VEC_NSAMPLES, &nk, &ntot, 1);
    st->n_total = ntot;
    return rc;
}

/*
 * The FedAvg weight of this institution's update.  Without DP: n_k / n.
 * Under DP: uniform 1/N, a public weight (n_k / n would depend on every
 * institution's private count, which DP does not cover, and on the
 * record added or removed).  This is the one place that DP weighting
 * (noisy or declared counts) replaces.
 */
float fl_fedavg_weight(const fl_run *st)
{
    if (st->dp_on) return (float)(1.0 / st->size);
    return (float)((double)st->train->n / st->n_total);
}

/*
 * Collective.  The preprocessing pipeline (fs_prep.h): imputation values
 * and standardization moments from secure sums over the training parts
 * (a fresh run; a resumed run has the checkpoint's pipeline, fl_resume,
 * and sums nothing here), applied to this rank's training and validation
 * rows and test slice.  Without --impute, fs_fed_open refused shards with
 * missing cells.
 */
fs_err fl_preprocess(fl_run *st)
{
    fs_err rc = FS_OK;
    const fs_prep_opts po = { st->o.fl.impute, st->o.fl.standardize, FS_VEC_PREP };
    int resumed = 1;   /* the checkpoint's pipeline: its sums were made by an earlier run */
    if (!po.impute && !po.standardize) return FS_OK;
    if (!st->prep) {
        FS_TRY(fs_prep_fit(st->fed, st->train, &po, &st->prep));   /* registers its sums */
        resumed = 0;
    }
    const char *path = fs_fed_shard_path(st->fed);
    fs_err local = resumed ? fs_prep_note_releases(st->prep, fs_fed_ledger(st->fed)) : FS_OK;
    if (local == FS_OK) local = fs_prep_apply(st->prep, st->train, path);
    if (local == FS_OK && st->val) local = fs_prep_apply(st->prep, st->val, path);
    if (local == FS_OK && st->test_slice) local = fs_prep_apply(st->prep, st->test_slice, st->o.fl.test);
    FS_TRY(fs_fed_agree(st->fed, local));
done:
    return rc;
}

/*
 * Register every sum a FedAvg run makes in the run's privacy ledger, with
 * its class, before the first sum (the core refuses unregistered ones).
 * Identical on every rank: it depends only on agreed options.  The update
 * is protected by the DP mechanisms in use (public without DP).  Under DP
 * the exact sums are registered, and so made, only with
 * --dp-public-metrics yes, as public; the test metric sums are
 * post-processing (the DP-covered model on the --test file that every
 * institution reads).  The --impute/--standardize sums are registered by
 * fs_prep_fit (public; refused under DP without the flag by the option
 * check).  Rank-local; FS_OK or FS_ERR_NOMEM.
 */
fs_err fl_register_releases(fl_run *st)
{
    fs_err rc = FS_OK;
    fs_ledger *l = fs_fed_ledger(st->fed);
    const fs_dp_opts *dp = &st->o.dp;
    st->dp_on = dp->dp_sgd || dp->ddp;
    st->release_public = !st->dp_on || dp->public_metrics;
    const char *upd = dp->dp_sgd && dp->ddp ? "DP-SGD (record level) and distributed DP "
                                              "(institution level)"
                    : dp->dp_sgd ? "DP-SGD (record level)"
                    : dp->ddp ? "distributed DP (institution level)" : "exact sum";
    FS_TRY(fs_ledger_register(l, FS_VEC_UPDATE, "weighted model update (sum, every round)",
                              st->dp_on ? FS_RELEASE_DP : FS_RELEASE_PUBLIC, upd));
    if (st->release_public) {
        FS_TRY(fs_ledger_register(l, FS_VEC_NSAMPLES, "training rows n (sum, round 0)",
                                  FS_RELEASE_PUBLIC, "exact sum"));
        FS_TRY(fs_ledger_register(l, FS_VEC_TRAIN, "training loss, rows and clip counts "
                                  "(sums, every round)", FS_RELEASE_PUBLIC, "exact sum"));
        FS_TRY(fs_ledger_register(l, FS_VEC_EVAL, st->dp_on ? "validation metric sums (every "
                                  "evaluated round)" : "validation and test metric sums (every "
                                  "evaluated round)", FS_RELEASE_PUBLIC, "exact sum"));
    }
    if (st->dp_on && st->o.fl.test[0])
        FS_TRY(fs_ledger_register(l, FS_VEC_TEST, "test metric sums on the shared --test file "
                                  "(every evaluated round)", FS_RELEASE_POSTPROC,
                                  "post-processing of the DP-covered model"));
done:
    return rc;
}

void fl_run_free(fl_run *st)
{
    fs_server_opt_destroy(&st->sopt);
    fs_prep_destroy(&st->prep);
    fs_ddp_destroy(&st->ddp);
    fs_model_destroy(&st->model);
    fs_dataset_destroy(&st->test_slice);
    free(st->w_global);
    free(st->update);
    fs_secure_zero(st->dp_seed, sizeof st->dp_seed);
    fs_fed_close(&st->fed);
}

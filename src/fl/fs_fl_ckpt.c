/*
 * fs_fl_ckpt.c - checkpoints of a FedAvg run: writing the global model, the
 * server optimizer state, the standardization and the privacy ledger's
 * accountants with their count of charged rounds (rank 0, durable), and
 * resuming from them bit-identically, the budget from the ledger files.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fl/fs_fl_impl.h"
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_schema.h"

/* Collective.  Rank 0 writes the checkpoint; everyone agrees on the result. */
fs_err fl_save_checkpoint(fl_run *st, int round)
{
    fs_err local = FS_OK;
    if (st->rank == 0) {
        fs_ledger *l = fs_fed_ledger(st->fed);
        const double *dp = NULL, *ddp = NULL;
        fs_checkpoint ck;
        memset(&ck, 0, sizeof ck);
        ck.round = round;
        snprintf(ck.model, sizeof ck.model, "%s", fs_model_spec(st->model));
        ck.d = st->train->d;
        ck.task = st->train->task;
        ck.num_classes = st->train->num_classes;
        ck.nparams = st->nparams;
        ck.params = fs_model_params(st->model);
        ck.config_hash = fs_fed_config_hash(st->fed);
        ck.model_hash = fs_params_hash(ck.params, ck.nparams);
        ck.seed = st->o.fed.seed;
        ck.nsilos = st->size;
        snprintf(ck.server_opt, sizeof ck.server_opt, "%s", fs_server_opt_name(st->sopt->kind));
        ck.server_steps = st->sopt->steps;
        ck.server_m = st->sopt->m;
        ck.server_v = st->sopt->v;
        if (st->prep) {  /* the writer only reads them */
            ck.std_mean = (double *)fs_prep_mean(st->prep);
            ck.std_scale = (double *)fs_prep_scale(st->prep);
            ck.impute_fill = (double *)fs_prep_fill(st->prep);
        }
        ck.schema = st->train->schema;
        local = fs_ledger_serialize(l, FS_LEDGER_DPSGD, &dp, &ck.dp_rdp_len);
        if (local == FS_OK) local = fs_ledger_serialize(l, FS_LEDGER_DDP, &ddp, &ck.ddp_rdp_len);
        ck.ledger_charges = fs_ledger_charges(l);
        ck.dp_rdp = (double *)dp;    /* the writer only reads them */
        ck.ddp_rdp = (double *)ddp;
        if (local == FS_OK) local = fs_checkpoint_write(&ck, st->ckpt_path);
        if (local != FS_OK) fs_error_prefix(local, "checkpoint not written (previous one kept): ");
    }
    return fs_fed_agree(st->fed, local);
}

/*
 * Rank-local: is ck's preprocessing pipeline this run's?  The same steps
 * (--impute, --standardize) and the same schema as this rank's shard
 * (both without one, or the same hash: pre-flight agreed that every shard
 * has the run's schema, so the message names only public hashes).  On
 * resume the stored pipeline is applied, not refitted (fl_resume).
 */
static fs_err check_pipeline(const fl_run *st, const fs_checkpoint *ck)
{
    fs_err rc = FS_OK;
    fs_schema *s = NULL;
    const char *path = st->ckpt_path, *have = st->train->schema_hash;
    if (!st->o.fl.impute != !ck->impute_fill || !st->o.fl.standardize != !ck->std_mean)
        FS_FAIL(FS_ERR_DATA, "%s was written with --impute %s --standardize %s, this run has "
                "--impute %s --standardize %s", path, ck->impute_fill ? "yes" : "no",
                ck->std_mean ? "yes" : "no", st->o.fl.impute ? "yes" : "no",
                st->o.fl.standardize ? "yes" : "no");
    if (ck->schema) FS_TRY(fs_schema_parse(ck->schema, strlen(ck->schema), path, &s));
    const char *want = s ? fs_schema_hash_hex(s) : NULL;
    if (!want != !have || (want && strcmp(want, have) != 0))
        FS_FAIL(FS_ERR_DATA, "%s was fitted on shards imported with %s%.16s%s, this run's shards "
                "were imported with %s%.16s%s: its pipeline (fill values, scaling) does not fit; "
                "start a new --out or re-import with the run's schema", path,
                want ? "schema " : "no schema", want ? want : "", want ? "..." : "",
                have ? "schema " : "no schema", have ? have : "", have ? "..." : "");
done:
    fs_schema_destroy(&s);
    return rc;
}

/* Rank-local: does checkpoint ck fit this run?  FS_OK or FS_ERR_DATA. */
static fs_err check_fits(const fl_run *st, const fs_checkpoint *ck)
{
    const char *path = st->ckpt_path;
    const fs_ledger *l = fs_fed_ledger(st->fed);
    const int dp = fs_ledger_enabled(l, FS_LEDGER_DPSGD), ddp = fs_ledger_enabled(l, FS_LEDGER_DDP);
    const char *sopt = fs_server_opt_name(st->sopt->kind);
    if (ck->nparams != st->nparams || strcmp(ck->model, fs_model_spec(st->model)) != 0 ||
        ck->d != st->train->d)
        return fs_error_set(FS_ERR_DATA, "%s was written for model %s with %zu features; this run "
                            "has %s with %zu", path, ck->model, ck->d, fs_model_spec(st->model),
                            st->train->d);
    if (ck->nsilos != st->size)
        return fs_error_set(FS_ERR_DATA, "%s was written by %d institutions, this run has %d", path,
                            ck->nsilos, st->size);
    if (ck->seed != st->o.fed.seed)
        return fs_error_set(FS_ERR_DATA, "%s was written with --seed %llu, this run has %ld", path,
                            (unsigned long long)ck->seed, (long)st->o.fed.seed);
    if (strcmp(ck->server_opt, sopt) != 0)
        return fs_error_set(FS_ERR_DATA, "%s was written with --server-opt %s, this run has %s",
                            path, ck->server_opt, sopt);
    if ((st->sopt->m && !ck->server_m) || (st->sopt->v && !ck->server_v))
        return fs_error_set(FS_ERR_DATA, "%s lacks the %s server optimizer state", path,
                            ck->server_opt);
    if (!dp != !ck->dp_rdp)
        return fs_error_set(FS_ERR_DATA, "%s was written %s DP-SGD, this run has --dp-sgd %s",
                            path, ck->dp_rdp ? "with" : "without", dp ? "yes" : "no");
    if (!ddp != !ck->ddp_rdp)
        return fs_error_set(FS_ERR_DATA, "%s was written %s distributed DP, this run has --ddp %s",
                            path, ck->ddp_rdp ? "with" : "without", ddp ? "yes" : "no");
    return check_pipeline(st, ck);
}

/*
 * Rank-local: the checkpoint's budget state must be exactly what the first
 * ck->ledger_charges records of this institution's privacy ledger file give
 * (a checkpoint cannot lower the budget spent); the run then continues
 * from the whole file, which also counts rounds released after it.
 */
static fs_err check_budget(const fl_run *st, const fs_checkpoint *ck)
{
    const fs_ledger *l = fs_fed_ledger(st->fed);
    fs_err rc = FS_OK;
    if (!ck->dp_rdp && !ck->ddp_rdp) return FS_OK;
    if (ck->ledger_charges < 0)
        return fs_error_set(FS_ERR_DATA, "%s holds a privacy budget but no count of charged "
                            "rounds (written by an older fedsilo): the budget spent cannot be "
                            "checked against the privacy ledger; start a new --out",
                            st->ckpt_path);
    if (ck->dp_rdp)
        rc = fs_ledger_verify_prefix(l, FS_LEDGER_DPSGD, ck->ledger_charges, ck->dp_rdp,
                                     ck->dp_rdp_len);
    if (rc == FS_OK && ck->ddp_rdp)
        rc = fs_ledger_verify_prefix(l, FS_LEDGER_DDP, ck->ledger_charges, ck->ddp_rdp,
                                     ck->ddp_rdp_len);
    if (rc != FS_OK)
        fs_error_prefix(rc, "%s refused (its privacy budget disagrees with this institution's "
                        "privacy ledger file): ", st->ckpt_path);
    return rc;
}

/*
 * Collective.  Resume: every rank reads the checkpoint (shared file system)
 * and checks it against the run; the model, the server optimizer and the
 * preprocessing pipeline (st->prep: fill values and scaling, not refitted)
 * travel with it.  The privacy spent comes from the durable privacy ledger
 * files (fs_fed_ledger_open): every round charged by an earlier run in this
 * directory, including rounds after the checkpoint and runs with
 * --resume no; the checkpoint's budget state is checked against them.
 * *start = its completed round (0 for a fresh start).  metrics.jsonl is
 * then cut to exactly the rounds up to *start.
 */
fs_err fl_resume(fl_run *st, int *start)
{
    fs_err local = FS_OK, rc = FS_OK;
    fs_checkpoint *ck = NULL;
    const fs_resume_mode mode = st->o.fed.resume;
    long prior = 0;
    *start = 0;
    const int exists = mode != FS_RESUME_NO && access(st->ckpt_path, F_OK) == 0;
    if (mode == FS_RESUME_YES && !exists)
        local = fs_error_set(FS_ERR_IO, "--resume yes but %s does not exist: %s", st->ckpt_path,
                             strerror(errno));
    if (local == FS_OK && exists) local = fs_checkpoint_read(st->ckpt_path, &ck);
    if (local == FS_OK && ck) local = check_fits(st, ck);
    FS_TRY(fs_fed_agree(st->fed, local));
    FS_TRY(fs_fed_ledger_open(st->fed, &prior));  /* collective: the budget already spent */
    if (st->rank == 0 && prior > 0)
        fs_log(FS_LOG_INFO, "privacy ledger: %ld rounds charged by earlier runs in %s count "
               "towards this run's epsilon", prior, st->o.fed.out);
    local = ck ? check_budget(st, ck) : FS_OK;
    /* the pipeline fitted before round 1, kept rather than refitted on
     * shards that may have changed since */
    if (local == FS_OK && ck && (ck->impute_fill || ck->std_mean))
        local = fs_prep_from_checkpoint(ck, &st->prep);
    if (local == FS_OK && ck) {
        memcpy(fs_model_params(st->model), ck->params, st->nparams * sizeof(float));
        if (st->sopt->m) memcpy(st->sopt->m, ck->server_m, st->nparams * sizeof(float));
        if (st->sopt->v) memcpy(st->sopt->v, ck->server_v, st->nparams * sizeof(float));
        st->sopt->steps = ck->server_steps;
        *start = ck->round;
    }
    FS_TRY(fs_fed_agree(st->fed, local));
    rc = fs_fed_metrics_restart(st->fed, *start);
done:
    fs_checkpoint_free(&ck);
    if (rc != FS_OK) *start = 0;
    return rc;
}

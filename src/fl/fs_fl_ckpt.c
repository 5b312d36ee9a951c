/*
 * fs_fl_ckpt.c - checkpoints of a FedAvg run: writing the global model, the
 * server optimizer state, the standardization and the privacy ledger's
 * accountants with their count of charged rounds (rank 0, durable), and
 * resuming from them bit-identically, the budget from the ledger files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fl/fs_fl_impl.h"
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_schema.h"

/*
 * Rank-local.  st->members = this job's institutions in rank order, comma-
 * separated: roster names, or "#k" for rank k without a roster.  Public
 * (the roster and the job), identical on every rank.
 */
fs_err fl_members_init(fl_run *st)
{
    fs_err rc = FS_OK;
    const size_t cap = 1 + 40 * (size_t)st->size;   /* names are <= 32 characters */
    size_t off = 0;
    FS_TRY(fs_alloc(&st->members, cap, 1, "member names"));
    st->members[0] = 0;
    for (int r = 0; r < st->size; r++) {
        const char *name = fs_fed_member_name(st->fed, r);
        int n = name ? snprintf(st->members + off, cap - off, "%s%s", r ? "," : "", name)
                     : snprintf(st->members + off, cap - off, "%s#%d", r ? "," : "", r);
        off += (size_t)n;
    }
    FS_TRY(fs_strdup(&st->history, ""));
done:
    return rc;
}

/* path = OUT/round-log-rank<k>.txt of the institution with roster index k. */
static fs_err round_log_path(const fl_run *st, int k, char *path, size_t cap)
{
    char name[64];
    snprintf(name, sizeof name, "round-log-rank%d.txt", k);
    return fs_fed_run_path(st->fed, name, path, cap);
}

/*
 * Rank-local.  When the run releases exact sums, each institution appends
 * the round to its OUT/round-log-rank<k>.txt (k its roster index), fsync'd,
 * before it contributes to the round's first sum.  A sum decodes only with
 * every member's contribution, so a round missing from one member's log was
 * decoded by no one: the guard of check_members relies on it.  (Under DP
 * the privacy ledger's journal is the durable record instead.)
 */
fs_err fl_log_round(const fl_run *st, int round)
{
    char path[4400], line[32];
    if (!st->release_public) return FS_OK;
    fs_err rc = round_log_path(st, st->member, path, sizeof path);
    snprintf(line, sizeof line, "%d", round);
    if (rc == FS_OK) rc = fs_file_append_line(path, line);
    return rc;
}

/*
 * Rank-local: the highest round whose sums the members `names` (comma-
 * separated roster names) may all have entered, by their round logs; -1 when
 * some member's log cannot be read (a run directory that is not shared).
 */
static int entered_round(const fl_run *st, const char *names)
{
    const fs_roster *ros = fs_fed_roster(st->fed);
    char name[64], path[4400], line[64];
    int lowest = -1;
    for (const char *p = names; *p;) {
        const size_t len = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        p += len + (p[len] == ',');
        const int k = ros ? fs_roster_find(ros, name) : -1;
        FILE *f = NULL;
        if (k < 0 || round_log_path(st, k, path, sizeof path) != FS_OK || !(f = fopen(path, "r")))
            return -1;
        int top = 0;
        while (fgets(line, sizeof line, f)) {
            const int r = atoi(line);   /* a torn last line: a prefix of the round */
            if (r > top) top = r;
        }
        fclose(f);
        if (lowest < 0 || top < lowest) lowest = top;
    }
    return lowest;
}

/* The member names of the last line of a membership history (copied into
 * buf), or NULL when the history is absent, empty or malformed. */
static const char *last_members(const char *history, char *buf, size_t cap)
{
    if (!history) return NULL;
    size_t len = strlen(history);
    while (len && history[len - 1] == '\n') len--;
    size_t b = len;
    while (b && history[b - 1] != '\n') b--;
    const char *sp = memchr(history + b, ' ', len - b);
    if (!sp || (size_t)(history + len - sp) > cap) return NULL;
    snprintf(buf, cap, "%.*s", (int)(history + len - sp - 1), sp + 1);
    return buf;
}

/*
 * Rank-local.  The membership history through `round`: st->history (the
 * rounds before this job) and this job's stretch (resumed round + 1 ..
 * round); a stretch continuing the previous line's members extends it.
 * Caller frees *out.
 */
static fs_err history_through(const fl_run *st, int round, char **out)
{
    const char *h = st->history;
    char prev[8192];
    size_t keep = strlen(h);
    int first = st->resumed + 1;
    const char *pm = last_members(h, prev, sizeof prev);
    if (pm && strcmp(pm, st->members) == 0) {   /* same members: extend the last line */
        while (keep && h[keep - 1] == '\n') keep--;
        while (keep && h[keep - 1] != '\n') keep--;
        first = atoi(h + keep);
    }
    size_t cap = keep + strlen(st->members) + 32;
    fs_err rc = fs_alloc(out, cap, 1, "membership history");
    if (rc == FS_OK)
        snprintf(*out, cap, "%.*s%d-%d %s\n", (int)keep, h, first, round, st->members);
    return rc;
}

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
        local = history_through(st, round, &ck.membership);
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
        if (local == FS_OK) local = fs_ledger_serialize(l, FS_LEDGER_DPSGD, &dp, &ck.dp_rdp_len);
        if (local == FS_OK) local = fs_ledger_serialize(l, FS_LEDGER_DDP, &ddp, &ck.ddp_rdp_len);
        ck.ledger_charges = fs_ledger_charges(l);
        ck.dp_rdp = (double *)dp;    /* the writer only reads them */
        ck.ddp_rdp = (double *)ddp;
        if (local == FS_OK) local = fs_checkpoint_write(&ck, st->ckpt_path);
        if (local != FS_OK) fs_error_prefix(local, "checkpoint not written (previous one kept): ");
        free(ck.membership);
    }
    return fs_fed_agree(st->fed, local);
}

/*
 * Rank-local: may this job continue the checkpoint's membership?  The same
 * members always; other members only with --membership elastic, a
 * checkpoint that names its members, and, when the run releases counts
 * (no DP, or --dp-public-metrics), --public-counts yes: the new sum of the
 * row counts n (and of the validation counts and the realized training
 * samples, released every round) minus the old one is exactly the
 * departed (or joining) institutions' counts.  Inputs and messages are
 * public (roster names) and identical on every rank.
 */
static fs_err check_members(const fl_run *st, const fs_checkpoint *ck)
{
    const char *path = st->ckpt_path;
    char buf[8192];
    const char *was = last_members(ck->membership, buf, sizeof buf);
    if (was ? strcmp(was, st->members) == 0 : ck->nsilos == st->size) return FS_OK;
    if (st->o.fed.membership != FS_MEMBERSHIP_ELASTIC) {
        if (!was)
            return fs_error_set(FS_ERR_DATA, "%s was written by %d institutions, this run has %d",
                                path, ck->nsilos, st->size);
        return fs_error_set(FS_ERR_DATA, "%s was written by the institutions %s, this job has %s; "
                            "--membership elastic continues with other members", path, was,
                            st->members);
    }
    if (!was || was[0] == '#')
        return fs_error_set(FS_ERR_DATA, "%s does not name its institutions (written without a "
                            "roster or by an older fedsilo): --membership elastic cannot tell who "
                            "left", path);
    /* without exact sums (DP) the ledger counts a recomputed round twice */
    const int entered = st->release_public ? entered_round(st, was) : ck->round;
    if (entered >= 0 && entered < ck->round)
        return fs_error_set(FS_ERR_DATA, "the round logs of the institutions %s in %s end before "
                            "the checkpoint's round %d (an older run?): cannot show that no later "
                            "round was decoded", was, st->o.fed.out, ck->round);
    if (entered < 0)
        return fs_error_set(FS_ERR_DATA, "cannot read the round logs (round-log-rank<k>.txt) of "
                            "the institutions %s in %s (is the run directory shared?): cannot "
                            "show that no round after %d was decoded", was, st->o.fed.out,
                            ck->round);
    if (entered > ck->round)
        return fs_error_set(FS_ERR_DATA, "%s holds round %d, but the institutions %s had all "
                            "entered round %d's secure sums when the job stopped: its exact sums "
                            "may have been decoded, and the same round recomputed by %s from the "
                            "same model would reveal the update of the institutions that left or "
                            "joined as the difference; continue with the same members, or run "
                            "under DP (whose ledger charges both releases)", path, ck->round, was,
                            entered, st->members);
    if (st->release_public && !st->o.fed.public_counts)
        return fs_error_set(FS_ERR_ARG, "%s was written by the institutions %s, this job has %s: "
                            "continuing with other members releases the summed row counts of a "
                            "second membership, and the difference from the first is the count of "
                            "the institutions that left or joined; refused unless the consortium "
                            "declares shard sizes public (--public-counts yes)", path, was,
                            st->members);
    return FS_OK;
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
    fs_err rc = FS_OK;
    const char *path = st->ckpt_path;
    const fs_ledger *l = fs_fed_ledger(st->fed);
    const int dp = fs_ledger_enabled(l, FS_LEDGER_DPSGD), ddp = fs_ledger_enabled(l, FS_LEDGER_DDP);
    const char *sopt = fs_server_opt_name(st->sopt->kind);
    if (ck->nparams != st->nparams || strcmp(ck->model, fs_model_spec(st->model)) != 0 ||
        ck->d != st->train->d)
        return fs_error_set(FS_ERR_DATA, "%s was written for model %s with %zu features; this run "
                            "has %s with %zu", path, ck->model, ck->d, fs_model_spec(st->model),
                            st->train->d);
    FS_TRY(check_members(st, ck));
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
    FS_TRY(check_pipeline(st, ck));
done:
    return rc;
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
    if (local == FS_OK && ck && ck->membership) {
        free(st->history);
        st->history = NULL;
        local = fs_strdup(&st->history, ck->membership);
    }
    /* the pipeline fitted before round 1, kept rather than refitted on
     * shards that may have changed since */
    if (local == FS_OK && ck && (ck->impute_fill || ck->std_mean))
        local = fs_prep_from_checkpoint(ck, &st->prep);
    if (local == FS_OK && ck) {
        char buf[8192];
        const char *was = last_members(ck->membership, buf, sizeof buf);
        if (st->rank == 0 && was && strcmp(was, st->members) != 0)
            fs_log(FS_LOG_INFO, "membership change after round %d: %s -> %s (fresh key setup; "
                   "the model, server optimizer and each institution's privacy ledger continue)",
                   ck->round, was, st->members);
        memcpy(fs_model_params(st->model), ck->params, st->nparams * sizeof(float));
        if (st->sopt->m) memcpy(st->sopt->m, ck->server_m, st->nparams * sizeof(float));
        if (st->sopt->v) memcpy(st->sopt->v, ck->server_v, st->nparams * sizeof(float));
        st->sopt->steps = ck->server_steps;
        *start = ck->round;
        st->resumed = ck->round;
    }
    FS_TRY(fs_fed_agree(st->fed, local));
    rc = fs_fed_metrics_restart(st->fed, *start);
done:
    fs_checkpoint_free(&ck);
    if (rc != FS_OK) *start = 0;
    return rc;
}

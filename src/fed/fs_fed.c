/*
 * fs_fed.c - the federation object (see fs_fed.h): private communicator,
 * this rank's shard, the sum session, the end-of-round consistency check,
 * progress and stop state of a run.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_file.h"

// ---------------------------------------------------------------- run control

fs_err fs_run_ctl_create(fs_run_ctl **out)
{
    fs_err rc = fs_zalloc(out, 1, sizeof **out, "run control");
    if (rc == FS_OK) {
        (*out)->progress_ns = -1;
        (*out)->progress_phase = "idle";
    }
    return rc;
}

void fs_run_ctl_destroy(fs_run_ctl **c)
{
    if (!c || !*c) return;
    free(*c);
    *c = NULL;
}

void fs_run_ctl_request_stop(fs_run_ctl *c)
{
    if (c) c->stop = 1;
}

double fs_run_ctl_progress(const fs_run_ctl *c, const char **phase, int *round)
{
    long long ns = c ? c->progress_ns : -1;
    if (phase) *phase = c ? c->progress_phase : "idle";
    if (round) *round = c ? c->progress_round : 0;
    if (ns < 0) return -1.0;
    return fs_now() - (double)ns * 1e-9;
}

void fs_run_ctl_local_progress(const fs_run_ctl *c, long *done, long *total)
{
    long t = c ? c->local_total : 0;
    if (done) *done = t ? c->local_done : 0;
    if (total) *total = t;
}

void fs_fed_mark(fs_fed *fed, const char *phase, int round)
{
    fs_run_ctl *c = fed->ctl;
    if (!c) return;
    c->progress_phase = phase;
    c->progress_round = round;
    c->progress_ns = (long long)(fs_now() * 1e9);
}

void fs_fed_local_progress(fs_fed *fed, long done, long total)
{
    if (!fed->ctl) return;
    fed->ctl->local_done = done;
    fed->ctl->local_total = total;
}

// ---------------------------------------------------------------- open

/*
 * Rank-local: this rank's shard path, from the --data pattern or, without
 * one, from the roster's data = path.  With --data, a roster that does not
 * load is reported later by the key setup (and the ownership check is
 * skipped); without --data the roster is needed here.
 */
static fs_err resolve_shard(fs_fed *fed)
{
    const fs_fed_opts *o = fed->o;
    fs_err local = FS_OK;
    if (!o->data[0] && !o->roster[0])
        return fs_error_set(FS_ERR_ARG, "no data source: give --data 'dir/site-%%d.h5' (or a "
                            "--roster whose institutions have data = paths)");
    if (o->roster[0]) {
        local = fs_roster_load(o->roster, &fed->roster);
        if (local != FS_OK && o->data[0]) local = FS_OK;
    }
    if (o->data[0]) return fs_path_expand_rank(fed->shard_path, sizeof fed->shard_path, o->data,
                                               fed->rank);
    if (local != FS_OK) return local;
    const fs_roster *ros = fed->roster;
    if (fed->rank >= fs_roster_count(ros))
        return fs_error_set(FS_ERR_ARG, "roster %s has no institution with rank %d", o->roster,
                            fed->rank);
    if (!fs_roster_data_path(ros, fed->rank))
        return fs_error_set(FS_ERR_ARG, "no --data given and the roster entry of '%s' (rank %d) "
                            "in %s has no data = path", fs_roster_name(ros, fed->rank), fed->rank,
                            o->roster);
    snprintf(fed->shard_path, sizeof fed->shard_path, "%.3800s",
             fs_roster_data_path(ros, fed->rank));
    return FS_OK;
}

fs_err fs_fed_open(MPI_Comm comm, const fs_fed_open_opts *oo, fs_fed **out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_fed *fed = NULL;
    *out = NULL;
    if (oo->ctl) {
        /* a new run: fresh progress, but a pending stop request stays */
        oo->ctl->local_done = oo->ctl->local_total = 0;
        oo->ctl->progress_round = 0;
        oo->ctl->progress_phase = "startup";
        oo->ctl->progress_ns = (long long)(fs_now() * 1e9);
    }
    /* Before the private communicator exists, an allocation failure can
     * only be agreed on the caller's communicator. */
    local = fs_zalloc(&fed, 1, sizeof *fed, "federation");
    if (local == FS_OK) {
        fed->comm = MPI_COMM_NULL;
        local = fs_ledger_create(&fed->ledger);
    }
    rc = fs_agree(comm, local, NULL);
    if (rc != FS_OK) goto done;
    fed->cfg = oo->cfg;
    fed->o = oo->fed;
    fed->ctl = oo->ctl;
    int mrc = MPI_Comm_dup(comm, &fed->comm);
    if (mrc != MPI_SUCCESS) {
        fed->comm = MPI_COMM_NULL;
        FS_FAIL(FS_ERR_MPI, "MPI_Comm_dup failed");
    }
    MPI_Comm_set_errhandler(fed->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(fed->comm, &fed->rank);
    MPI_Comm_size(fed->comm, &fed->size);

    /* collective: the caller's status (options), then the configuration */
    FS_TRY(fs_agree(fed->comm, oo->pending, NULL));
    if (fed->cfg && (oo->preflight & FS_PREFLIGHT_CONFIG)) FS_TRY(fs_preflight_config(fed));

    /* collective: the run directory (rank 0) */
    if (oo->run_dir) {
        local = strlen(fed->o->out) < 3800 ? FS_OK
              : fs_error_set(FS_ERR_ARG, "--out path is longer than 3800 bytes");
        FS_TRY(fs_agree(fed->comm, local, NULL));
        snprintf(fed->out_dir, sizeof fed->out_dir, "%s", fed->o->out);
        FS_TRY(fs_rundir_create(fed));
    }

    /* rank-local: this institution's shard and the parts asked for */
    local = oo->read ? resolve_shard(fed) : FS_OK;
    const unsigned rflags = (oo->read & FS_FED_READ_ALLOW_MISSING) ? FS_READ_ALLOW_MISSING : 0;
    if (local == FS_OK && (oo->read & FS_FED_READ_TRAIN))
        local = fs_dataset_read_ex(fed->shard_path, FS_PART_TRAIN, rflags, &fed->train);
    if (local == FS_OK && (oo->read & FS_FED_READ_VALIDATION))
        local = fs_dataset_read_ex(fed->shard_path, FS_PART_VALIDATION, rflags, &fed->val);
    FS_TRY(fs_agree(fed->comm, local, NULL));
    FS_TRY(fs_preflight_shards(fed, oo->preflight));
    *out = fed;
    fed = NULL;
done:
    fs_fed_close(&fed);
    return rc;
}

fs_err fs_fed_connect(fs_fed *fed)
{
    fs_err rc = FS_OK, local = FS_OK;
    const fs_fed_opts *o = fed->o;
    char idpath[4096];
    fs_agg_opts ao;
    memset(&ao, 0, sizeof ao);
    fs_fed_mark(fed, "key setup", 0);
    ao.mode = o->aggregation;
    fs_secagg_opts_default(&ao.sa, fed->size);
    ao.sa.vec.ring_bits = o->ring_bits;
    ao.sa.vec.clip = o->clip;
    ao.sa.vec.rounding = o->rounding;
    ao.sa.vec.frac_bits = o->frac_bits;   /* < 0: the largest that fits */
    ao.sa.mask_degree = o->mask_degree;
    ao.sa.roster_path = o->roster;
    ao.sa.allow_unauthenticated = o->insecure_no_auth;
    ao.sa.rounding_seed = o->seed;
    local = fs_path_expand_rank(idpath, sizeof idpath, o->identity, fed->rank);
    ao.sa.identity_path = idpath;
    FS_TRY(fs_agree(fed->comm, local, NULL));
    FS_TRY(fs_agg_create(fed->comm, &ao, &fed->agg));  /* collective: key setup */
done:
    return rc;
}

void fs_fed_close(fs_fed **pf)
{
    if (!pf || !*pf) return;
    fs_fed *fed = *pf;
    fs_agg_destroy(&fed->agg);
    fs_roster_destroy(&fed->roster);
    fs_dataset_destroy(&fed->train);
    fs_dataset_destroy(&fed->val);
    fs_ledger_destroy(&fed->ledger);
    if (fed->comm != MPI_COMM_NULL) MPI_Comm_free(&fed->comm);
    if (fed->ctl) {
        fed->ctl->progress_ns = -1;
        fed->ctl->progress_phase = "idle";
        fed->ctl->local_total = 0;
    }
    free(fed);
    *pf = NULL;
}

// ---------------------------------------------------------------- collectives

fs_err fs_fed_agree(fs_fed *fed, fs_err local) { return fs_agree(fed->comm, local, NULL); }

fs_err fs_fed_sum_f32(fs_fed *fed, uint64_t round, uint32_t vid, const float *in, float *out,
                      size_t n, size_t *nclipped)
{
    if (!fed->agg) return fs_error_set(FS_ERR_ARG, "fs_fed_sum_f32 before fs_fed_connect");
    fs_err rc = fs_ledger_check_sum(fed->ledger, vid, NULL);  /* same on every rank */
    if (rc != FS_OK) return rc;
    return fs_agg_sum_f32(fed->agg, round, vid, in, out, n, nclipped);
}

fs_err fs_fed_sum_f64(fs_fed *fed, uint64_t round, uint32_t vid, const double *in, double *out,
                      size_t n)
{
    if (!fed->agg) return fs_error_set(FS_ERR_ARG, "fs_fed_sum_f64 before fs_fed_connect");
    fs_err rc = fs_ledger_check_sum(fed->ledger, vid, NULL);  /* same on every rank */
    if (rc != FS_OK) return rc;
    return fs_agg_sum_f64(fed->agg, round, vid, in, out, n);
}

fs_err fs_fed_ledger_open(fs_fed *fed, long *ncharges)
{
    fs_err rc = FS_OK, local = FS_OK;
    char path[4200];
    long n = 0;
    *ncharges = 0;
    if (!fs_ledger_enabled(fed->ledger, FS_LEDGER_DPSGD) &&
        !fs_ledger_enabled(fed->ledger, FS_LEDGER_DDP))
        return FS_OK;  /* same on every rank: the accountants are public configuration */
    int len = snprintf(path, sizeof path, "%s/privacy-ledger-rank%d.txt", fed->out_dir, fed->rank);
    local = len > 0 && (size_t)len < sizeof path ? FS_OK
          : fs_error_set(FS_ERR_ARG, "run directory path too long for the privacy ledger");
    if (local == FS_OK) local = fs_mkdir_p(fed->out_dir);  /* a rank without rank 0's disk */
    if (local == FS_OK) local = fs_ledger_journal_open(fed->ledger, path, &n);
    FS_TRY(fs_agree(fed->comm, local, NULL));
    /* Each rank charges before the agreement that precedes a round's sum,
     * so a crash can leave one rank a record ahead of another, for a round
     * that was never summed.  Nothing is ever dropped from a journal (a
     * peer could otherwise make an institution forget rounds that did
     * release its data): a rank behind charges the missing rounds again,
     * which over-counts, never under-counts.  More than one round apart is
     * not a crash: refused. */
    long mm[2] = { -n, n };
    int mrc = MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_LONG, MPI_MAX, fed->comm);
    if (mrc != MPI_SUCCESS) {
        rc = fs_from_mpi(mrc, "MPI_Allreduce (privacy ledger)");
        goto done;
    }
    const long lo = -mm[0], hi = mm[1];
    if (hi - lo > 1)
        FS_FAIL(FS_ERR_DATA, "the institutions' privacy ledger files in %s hold between %ld and "
                "%ld charged rounds: more than a crash can explain (a file was removed or "
                "replaced?); refusing to continue with a budget that cannot be trusted",
                fed->out_dir, lo, hi);  /* the same on every rank: from one allreduce */
    local = FS_OK;
    if (n < hi) {
        fs_log(FS_LOG_WARN, "rank %d: privacy ledger %s holds %ld charged rounds, another "
               "institution's %ld (a crash between their records): the missing round is charged "
               "here too", fed->rank, path, n, hi);
        local = fs_ledger_charge_round(fed->ledger);
    }
    FS_TRY(fs_agree(fed->comm, local, NULL));
    *ncharges = hi;
done:
    return rc;
}

fs_err fs_fed_round_end(fs_fed *fed, int round, const float *params, size_t n, int *stop)
{
    uint64_t h = fs_params_hash(params, n);
    uint64_t v[3] = { h, ~h, (uint64_t)(fed->ctl && fed->ctl->stop) };
    /* collective: MAX of (h, ~h) is (max h, ~min h) */
    int mrc = MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_UINT64_T, MPI_MAX, fed->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Allreduce (model hash)");
    if (v[0] != ~v[1])
        return fs_error_set(FS_ERR_DATA, "global models diverged across ranks after round %d "
                            "(model hashes differ); stopping before writing a checkpoint", round);
    *stop = v[2] != 0;
    return FS_OK;
}

// ---------------------------------------------------------------- accessors

MPI_Comm fs_fed_comm(const fs_fed *fed) { return fed->comm; }
int fs_fed_rank(const fs_fed *fed) { return fed->rank; }
int fs_fed_size(const fs_fed *fed) { return fed->size; }
const fs_fed_opts *fs_fed_options(const fs_fed *fed) { return fed->o; }
const char *fs_fed_shard_path(const fs_fed *fed) { return fed->shard_path; }
fs_dataset *fs_fed_train_part(fs_fed *fed) { return fed->train; }
fs_dataset *fs_fed_validation_part(fs_fed *fed) { return fed->val; }
const fs_roster *fs_fed_roster(const fs_fed *fed) { return fed->roster; }
fs_secagg *fs_fed_secagg(fs_fed *fed) { return fed->agg ? fs_agg_secagg(fed->agg) : NULL; }
double fs_fed_setup_seconds(const fs_fed *fed) { return fed->agg ? fs_agg_setup_seconds(fed->agg) : 0; }
fs_ledger *fs_fed_ledger(fs_fed *fed) { return fed->ledger; }
uint64_t fs_fed_config_hash(const fs_fed *fed) { return fed->config_hash; }

const char *fs_fed_aggregation_name(const fs_fed *fed)
{
    return fed->o->aggregation == FS_AGG_PLAIN ? "plain" : "secure";
}

/*
 * fs_train.c - the federated round loop (fl layer).
 *
 * FedAvg (McMahan et al. 2017) over MPI.  Rank k holds n_k training rows.
 * Each round r, starting from the global model w:
 *
 *   w_k   = LocalSGD(w, shard_k; seed, k, r)        rank-local
 *   u_k   = (n_k / n) (w_k - w),  n = sum_k n_k     (nparams) floats
 *   U     = sum_k u_k                                 collective: aggregation
 *   w     = w + ServerOpt(U)   (FedAvg: w += server_lr U)  identical on all ranks
 *
 * followed by evaluation sums (validation parts and a slice of the global
 * test file per rank, summed across ranks), a cross-rank model-hash check,
 * the checkpoint (rank 0, atomic) and one metrics line.
 *
 * Collective discipline (STYLE.md P5): every rank-local step that can fail
 * (reading a shard, local training, writing a file) is followed by
 * fs_agree before the next collective, so all ranks return the same code
 * and rank 0 can print one message naming the failing rank and file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs_fl_impl.h"
#include "fs_server_opt.h"
#include "secagg/fs_ddp.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_dpsgd.h"
#include "fedsilo/fs_model.h"

static volatile sig_atomic_t stop_requested;

void fs_fl_request_stop(void) { stop_requested = 1; }

/* Progress stamp for watchdogs: monotonic ns of the last completed step,
 * the current phase and round.  Written by fs_fl_train, read by any thread. */
static _Atomic long long progress_ns = -1;
static _Atomic int progress_round;
static const char *_Atomic progress_phase = "idle";

static void mark(const char *phase, int round)
{
    progress_phase = phase;
    progress_round = round;
    progress_ns = (long long)(fs_now() * 1e9);
}

/* Local-training progress: steps done / planned (0: not in local training). */
static _Atomic long local_done, local_total;

static void count_step(void *user, long steps_done)
{
    (void)user;
    local_done = steps_done;
}

void fs_fl_local_progress(long *done, long *total)
{
    long t = local_total;
    if (done) *done = t ? local_done : 0;
    if (total) *total = t;
}

double fs_fl_progress(const char **phase, int *round)
{
    long long ns = progress_ns;
    if (phase) *phase = progress_phase;
    if (round) *round = progress_round;
    if (ns < 0) return -1.0;
    return fs_now() - (double)ns * 1e-9;
}

/* Everything one rank holds during a run; freed at the end of fs_fl_train. */
typedef struct {
    MPI_Comm comm;            /* private duplicate, MPI_ERRORS_RETURN       */
    int rank, size;
    const fs_config *cfg;
    fs_roster *roster;        /* --roster as loaded here, or NULL           */
    char shard_path[4096];
    fs_dataset *train, *val, *test;
    size_t test_lo, test_hi;  /* this rank's slice of the test rows         */
    fs_dataset *test_slice;
    fs_model *model;
    size_t nparams;
    float *w_global;          /* (nparams) global model at round start      */
    float *update;            /* (nparams) u_k, then U after aggregation    */
    fs_agg *agg;
    fs_server_opt *sopt;      /* server optimizer and its state             */
    int use_dp;               /* --dp-sgd yes                               */
    fs_dpsgd_opts dpo;        /* DP-SGD options of this rank                */
    double dp_q;              /* DP-SGD sampling rate (same on all ranks)   */
    long dp_steps;            /* DP-SGD steps per round (same on all ranks) */
    uint8_t dp_seed[32];      /* reproducible-noise seed (--dp-seed)        */
    const uint8_t *dp_seed_p; /* dp_seed or NULL for OS randomness          */
    int use_ddp;              /* --ddp yes                                  */
    fs_rdp *rdp;              /* DP-SGD accountant (identical on all ranks) */
    double *rdp_buf;          /* serialized accountant for the checkpoint   */
    size_t rdp_len;
    fs_ddp *ddp;              /* distributed DP plan and noise stream       */
    fs_rdp *ddp_rdp;          /* its institution-level accountant           */
    double *ddp_buf;
    size_t ddp_len;
    double *std_mean;         /* (d) global feature means (--standardize)   */
    double *std_scale;        /* (d) global feature std devs, 1 if constant */
    double n_total;           /* sum of n_k over ranks                      */
    char out_dir[4096], ckpt_path[4200], metrics_path[4200];
    uint64_t config_hash;
} run_state;

static void run_free(run_state *st)
{
    fs_roster_destroy(&st->roster);
    fs_agg_destroy(&st->agg);
    fs_server_opt_destroy(&st->sopt);
    free(st->std_mean);
    free(st->std_scale);
    fs_rdp_destroy(&st->rdp);
    free(st->rdp_buf);
    fs_ddp_destroy(&st->ddp);
    fs_rdp_destroy(&st->ddp_rdp);
    free(st->ddp_buf);
    fs_model_destroy(&st->model);
    fs_dataset_destroy(&st->train);
    fs_dataset_destroy(&st->val);
    fs_dataset_destroy(&st->test);
    fs_dataset_destroy(&st->test_slice);
    free(st->w_global);
    free(st->update);
    if (st->comm != MPI_COMM_NULL) MPI_Comm_free(&st->comm);
}

/* mkdir -p for the run directory (rank 0). */
static fs_err make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%.4000s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return fs_error_set(FS_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return fs_error_set(FS_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
    if (access(buf, W_OK) != 0)
        return fs_error_set(FS_ERR_IO, "output directory %s is not writable: %s", buf,
                            strerror(errno));
    return FS_OK;
}

/* Rank 0: write OUT/config.ini (effective configuration) atomically. */
static fs_err write_config(const run_state *st)
{
    char path[4300], tmp[4400];
    snprintf(path, sizeof path, "%.3800s/config.ini", st->out_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return fs_error_set(FS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "; effective configuration of this fedsilo run (fedsilo %s, %d institutions)\n",
            fs_version_string(), st->size);
    fs_config_dump(st->cfg, f, 1);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return fs_error_set(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return FS_OK;
}

/*
 * Rank 0 on resume: keep only the metrics lines of rounds <= keep_round, so
 * a resumed run's metrics.jsonl equals the uninterrupted run's.
 */
static fs_err trim_metrics(const char *path, int keep_round)
{
    FILE *in = fopen(path, "r");
    if (!in) return FS_OK;
    char tmp[4400], line[8192];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) { fclose(in); return fs_error_set(FS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno)); }
    while (fgets(line, sizeof line, in)) {
        int r = -1;
        if (sscanf(line, "{\"round\": %d", &r) == 1 && r <= keep_round) fputs(line, out);
    }
    fclose(in);
    if (fclose(out) != 0 || rename(tmp, path) != 0)
        return fs_error_set(FS_ERR_IO, "cannot rewrite %s: %s", path, strerror(errno));
    return FS_OK;
}

static void json_num(FILE *f, const char *key, double v)
{
    if (isfinite(v)) fprintf(f, ", \"%s\": %.9g", key, v);
    else fprintf(f, ", \"%s\": null", key);
}

static void json_report(FILE *f, const char *pre, const fs_eval_report *r)
{
    char key[64];
#define KEY(name) (snprintf(key, sizeof key, "%s_%s", pre, name), key)
    json_num(f, KEY("loss"), r->loss);
    if (r->is_regression) {
        json_num(f, KEY("rmse"), r->rmse);
        json_num(f, KEY("mae"), r->mae);
        json_num(f, KEY("r2"), r->r2);
        return;
    }
    json_num(f, KEY("accuracy"), r->accuracy);
    if (isfinite(r->macro_f1)) json_num(f, KEY("macro_f1"), r->macro_f1);
    if (isfinite(r->auc)) json_num(f, KEY("auc"), r->auc);
    if (r->has_confusion) {
        fprintf(f, ", \"%s_f1\": [", pre);
        for (int k = 0; k < r->num_classes; k++)
            fprintf(f, k ? ", %.6g" : "%.6g", isfinite(r->f1[k]) ? r->f1[k] : 0.0);
        fprintf(f, "], \"%s_confusion\": [", pre);
        for (int i = 0; i < r->num_classes; i++) {
            fputs(i ? ", [" : "[", f);
            for (int j = 0; j < r->num_classes; j++) fprintf(f, j ? ", %.0f" : "%.0f", r->confusion[i][j]);
            fputc(']', f);
        }
        fputc(']', f);
    }
#undef KEY
}

static fs_err append_metrics(const run_state *st, const fs_round_metrics *m)
{
    FILE *f = fopen(st->metrics_path, "a");
    if (!f) return fs_error_set(FS_ERR_IO, "cannot append to %s: %s", st->metrics_path, strerror(errno));
    fprintf(f, "{\"round\": %d", m->round);
    json_num(f, "train_loss", m->train_loss);
    if (m->evaluated && m->has_val) json_report(f, "val", &m->val);
    if (m->evaluated && m->has_test) json_report(f, "test", &m->test);
    json_num(f, "clipped", m->clipped);
    if (isfinite(m->epsilon)) json_num(f, "epsilon", m->epsilon);
    if (isfinite(m->ddp_epsilon)) {
        json_num(f, "ddp_epsilon", m->ddp_epsilon);
        json_num(f, "ddp_clipped", m->ddp_clipped);
    }
    json_num(f, "seconds", m->seconds);
    json_num(f, "samples", m->total_samples);
    fprintf(f, ", \"aggregation\": \"%s\"}\n", fs_agg_name(st->agg));
    if (fclose(f) != 0) return fs_error_set(FS_ERR_IO, "cannot write %s: %s", st->metrics_path, strerror(errno));
    return FS_OK;
}

/*
 * Collective.  Check that every rank runs the same configuration: rank 0's
 * fingerprint is broadcast and compared; a differing rank names itself.
 */
static fs_err check_same_config(run_state *st)
{
    uint64_t h0 = st->config_hash;
    int mrc = MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast (config hash)");
    fs_err local = FS_OK;
    if (h0 != st->config_hash)
        local = fs_error_set(FS_ERR_ARG, "effective configuration differs from rank 0's "
                             "(compare OUT/config.ini with this rank's flags and config file)");
    return fs_agree(st->comm, local, NULL);
}

/*
 * Collective.  Rank 0 broadcasts (d, task, num_classes); every rank compares
 * its shard and names itself and its file on mismatch.
 */
static fs_err check_shards_match(run_state *st)
{
    long meta[3] = { (long)st->train->d, (long)st->train->task, st->train->num_classes };
    long ref[3] = { meta[0], meta[1], meta[2] };
    /* Only public metadata crosses ranks: not rank 0's row count or path. */
    const char *ref_path = "shard";
    int mrc = MPI_Bcast(ref, 3, MPI_LONG, 0, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast (shard metadata)");
    fs_err local = FS_OK;
    static const char *tn[] = { "classification", "regression" };
    if (meta[0] != ref[0])
        local = fs_error_set(FS_ERR_DATA, "shard mismatch: %s has %ld features but "
                             "rank 0's %s has %ld", st->shard_path, meta[0], ref_path, ref[0]);
    else if (meta[1] != ref[1])
        local = fs_error_set(FS_ERR_DATA, "shard mismatch: %s is a %s task but rank 0's "
                             "%s is %s", st->shard_path, tn[meta[1] != 0], ref_path,
                             tn[ref[1] != 0]);
    else if (meta[2] != ref[2])
        local = fs_error_set(FS_ERR_DATA, "shard mismatch: %s has %ld classes but rank "
                             "0's %s has %ld", st->shard_path, meta[2], ref_path, ref[2]);
    else if (st->val && (st->val->d != st->train->d))
        local = fs_error_set(FS_ERR_DATA, "%s: validation part has %zu features, "
                             "training part %zu", st->shard_path, st->val->d, st->train->d);
    return fs_agree(st->comm, local, NULL);
}

/* Not collective.  1 if paths a and b name the same file on this host:
 * equal realpath(3), or the same (device, inode) (a hard link).  0 if
 * either does not resolve here. */
static int same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    struct stat sa, sb;
    if (!realpath(a, ra) || !realpath(b, rb)) return 0;
    if (strcmp(ra, rb) == 0) return 1;
    return stat(ra, &sa) == 0 && stat(rb, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Collective.  node_of[j] (size entries, caller-allocated) receives an id
 * of the shared-memory node of rank j (the lowest rank on that node), the
 * same on every rank.  Returns FS_OK or FS_ERR_MPI (communicator broken).
 */
static fs_err node_map(run_state *st, int *node_of)
{
    MPI_Comm node = MPI_COMM_NULL;
    int leader = st->rank;
    int mrc = MPI_Comm_split_type(st->comm, MPI_COMM_TYPE_SHARED, st->rank, MPI_INFO_NULL, &node);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Comm_split_type (node map)");
    mrc = MPI_Bcast(&leader, 1, MPI_INT, 0, node);  /* node rank 0 = lowest rank of the node */
    MPI_Comm_free(&node);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast (node map)");
    mrc = MPI_Allgather(&leader, 1, MPI_INT, node_of, 1, MPI_INT, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Allgather (node map)");
    return FS_OK;
}

/*
 * Collective.  Shard ownership (docs/security.md, "Shard ownership"): with
 * a roster, rank R is the institution the roster names for rank R, and it
 * must not read another roster member's data.  Refused (FS_ERR_DATA on
 * every rank, the message of the lowest failing rank):
 *   1. the shard's `institution` attribute is the name of a DIFFERENT
 *      roster member (a name that is no roster member is allowed: users
 *      name roster entries freely, fedsilo split writes site-<i>);
 *   2. the shard is the same file (realpath or inode) as the data = path
 *      of another roster member, unless that member runs on another node
 *      and its data = string equals this rank's own data = string (one
 *      site-local path convention on separate file systems, which a rank
 *      cannot tell apart from a shared file).
 * Nothing crosses ranks but the node map (which ranks share a node).
 * Without a roster, or when the roster does not load or does not match the
 * job size (the key setup reports those), only the node map is exchanged.
 */
static fs_err check_shard_owner(run_state *st)
{
    fs_err rc = FS_OK, local = FS_OK;
    int *node_of = NULL;
    if (!fs_config_str(st->cfg, "roster")[0]) return FS_OK;  /* same branch on every rank */
    local = fs_alloc(&node_of, (size_t)st->size, sizeof *node_of, "node map");
    FS_TRY(fs_agree(st->comm, local, NULL));
    FS_TRY(node_map(st, node_of));  /* collective */
    const fs_roster *ros = st->roster;
    if (ros && fs_roster_count(ros) == st->size) {
        const char *roster_path = fs_config_str(st->cfg, "roster");
        const char *me = fs_roster_name(ros, st->rank);
        const char *inst = st->train->institution;
        const char *my_data = fs_roster_data_path(ros, st->rank);
        int owner = inst ? fs_roster_find(ros, inst) : -1;
        if (owner >= 0 && owner != st->rank) {
            local = fs_error_set(FS_ERR_DATA, "%s is the shard of institution '%s' "
                                 "(its institution attribute; rank %d in the roster) but rank %d is "
                                 "'%s' in the roster %s", st->shard_path, inst, owner,
                                 st->rank, me, roster_path);
        }
        for (int j = 0; local == FS_OK && j < st->size; j++) {
            const char *dj = fs_roster_data_path(ros, j);
            if (j == st->rank || !dj || !same_file(st->shard_path, dj)) continue;
            if (node_of[j] != node_of[st->rank] && my_data && strcmp(dj, my_data) == 0) continue;
            local = fs_error_set(FS_ERR_DATA, "%s is the shard of institution '%s' "
                                 "(its data = path %s in the roster) but rank %d is '%s' in the "
                                 "roster %s", st->shard_path, fs_roster_name(ros, j), dj,
                                 st->rank, me, roster_path);
        }
    }
    FS_TRY(fs_agree(st->comm, local, NULL));
done:
    free(node_of);
    return rc;
}

/* Rank-local: read the test file and keep rows [lo, hi) of this rank. */
static fs_err load_test_slice(run_state *st, const char *test_path)
{
    fs_err rc = FS_OK;
    FS_TRY(fs_dataset_read(test_path, FS_PART_TRAIN, &st->test));
    if (st->test->d != st->train->d || st->test->task != st->train->task ||
        (st->test->task == FS_TASK_CLASSIFICATION && st->test->num_classes > st->train->num_classes))
        FS_FAIL(FS_ERR_DATA, "test file %s does not match the shards: %zu features, %d classes "
                "(shards: %zu features, %d classes)", test_path, st->test->d,
                st->test->num_classes, st->train->d, st->train->num_classes);
    size_t n = st->test->n;
    st->test_lo = n * (size_t)st->rank / (size_t)st->size;
    st->test_hi = n * (size_t)(st->rank + 1) / (size_t)st->size;
    size_t m = st->test_hi - st->test_lo;
    if (m > 0) {
        FS_TRY(fs_dataset_create(m, st->test->d, st->test->task, st->train->num_classes,
                                 &st->test_slice));
        memcpy(st->test_slice->X, st->test->X + st->test_lo * st->test->d,
               m * st->test->d * sizeof(float));
        if (st->test->y_class)
            memcpy(st->test_slice->y_class, st->test->y_class + st->test_lo, m * sizeof(int32_t));
        else
            memcpy(st->test_slice->y_reg, st->test->y_reg + st->test_lo, m * sizeof(float));
    }
    fs_dataset_destroy(&st->test);
done:
    return rc;
}

/*
 * Collective.  Evaluate the current global model: each rank adds the
 * metric sums of its validation part and of its slice of the test file;
 * both vectors are summed through the aggregator (securely by default) and
 * every rank computes the same reports from the sums.
 */
static fs_err evaluate(run_state *st, int round, fs_round_metrics *m)
{
    fs_err rc = FS_OK, local = FS_OK;
    double *vec = NULL;  /* (2 * len): validation sums, then test sums */
    const fs_task task = st->train->task;
    const int K = st->train->num_classes;
    const size_t len = fs_metrics_len(task, K);
    local = fs_zalloc(&vec, 2 * len, sizeof *vec, "evaluation sums");
    if (local == FS_OK && st->val) local = fs_metrics_accumulate(st->model, st->val, vec);
    if (local == FS_OK && st->test_slice)
        local = fs_metrics_accumulate(st->model, st->test_slice, vec + len);
    if (local != FS_OK) fs_error_prefix(local, "evaluation: ");
    FS_TRY(fs_agree(st->comm, local, NULL));
    FS_TRY(fs_agg_sum_f64(st->agg, round, FS_VEC_EVAL, vec, vec, 2 * len));
    fs_metrics_report(vec, task, K, &m->val);
    fs_metrics_report(vec + len, task, K, &m->test);
    const int reg = task == FS_TASK_REGRESSION;
    m->has_val = m->val.count > 0;
    m->val_count = m->val.count;
    m->val_loss = m->val.loss;
    m->val_accuracy = reg ? m->val.rmse : m->val.accuracy;
    m->has_test = m->test.count > 0;
    m->test_count = m->test.count;
    m->test_loss = m->test.loss;
    m->test_accuracy = reg ? m->test.rmse : m->test.accuracy;
    m->evaluated = 1;
done:
    free(vec);
    return rc;
}

/*
 * Collective.  Compare the global model across ranks and the stop flag in
 * one allreduce: MAX of (h, ~h) gives (max h, ~min h); they differ iff some
 * rank holds a different model.
 */
static fs_err consistency_and_stop(run_state *st, int round, int *stop)
{
    uint64_t h = fs_params_hash(fs_model_params(st->model), st->nparams);
    uint64_t v[3] = { h, ~h, (uint64_t)stop_requested };
    int mrc = MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_UINT64_T, MPI_MAX, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Allreduce (model hash)");
    if (v[0] != ~v[1])
        return fs_error_set(FS_ERR_DATA, "global models diverged across ranks after round %d "
                            "(model hashes differ); stopping before writing a checkpoint", round);
    *stop = v[2] != 0;
    return FS_OK;
}

/* Collective.  Rank 0 writes the checkpoint; everyone agrees on the result. */
static fs_err save_checkpoint(run_state *st, int round)
{
    fs_err local = FS_OK;
    if (st->rank == 0) {
        fs_checkpoint ck = { 0 };
        ck.round = round;
        snprintf(ck.model, sizeof ck.model, "%s", fs_model_spec(st->model));
        ck.d = st->train->d;
        ck.task = st->train->task;
        ck.num_classes = st->train->num_classes;
        ck.nparams = st->nparams;
        ck.params = fs_model_params(st->model);
        ck.config_hash = st->config_hash;
        ck.model_hash = fs_params_hash(ck.params, ck.nparams);
        ck.seed = (uint64_t)fs_config_int(st->cfg, "seed");
        ck.nsilos = st->size;
        snprintf(ck.server_opt, sizeof ck.server_opt, "%s", fs_server_opt_name(st->sopt->kind));
        ck.server_steps = st->sopt->steps;
        ck.server_m = st->sopt->m;
        ck.server_v = st->sopt->v;
        ck.std_mean = st->std_mean;
        ck.std_scale = st->std_scale;
        if (st->rdp) {
            local = fs_rdp_serialize(st->rdp, st->rdp_buf, st->rdp_len);
            ck.dp_rdp = st->rdp_buf;
            ck.dp_rdp_len = st->rdp_len;
        }
        if (st->ddp_rdp && local == FS_OK) {
            local = fs_rdp_serialize(st->ddp_rdp, st->ddp_buf, st->ddp_len);
            ck.ddp_rdp = st->ddp_buf;
            ck.ddp_rdp_len = st->ddp_len;
        }
        if (local == FS_OK) local = fs_checkpoint_write(&ck, st->ckpt_path);
        if (local != FS_OK) fs_error_prefix(local, "checkpoint not written (previous one kept): ");
    }
    return fs_agree(st->comm, local, NULL);
}

/*
 * Not collective.  Epsilon at `delta` that accountant `a` would report
 * after `steps` more steps of (sigma, q), computed on a copy (through the
 * serialization buffer buf of len doubles), leaving `a` unchanged.
 */
static fs_err next_epsilon(const fs_rdp *a, double *buf, size_t len, double sigma, double q,
                           long steps, double delta, double *eps)
{
    fs_err rc = FS_OK;
    fs_rdp *next = NULL;
    FS_TRY(fs_rdp_serialize(a, buf, len));
    FS_TRY(fs_rdp_deserialize(buf, len, &next));
    FS_TRY(fs_rdp_add_step(next, sigma, q, steps));
    FS_TRY(fs_rdp_get_epsilon(next, delta, FS_DP_CONV_IMPROVED, eps, NULL));
done:
    fs_rdp_destroy(&next);
    return rc;
}

/*
 * Collective.  Federated standardization: the global mean of every feature
 * from a secure sum of per-rank feature sums, then the global variance from
 * a secure sum of squared deviations from that mean (two passes: no
 * cancellation of large sums of squares), std = sqrt(var) or 1 for a
 * constant feature.  Applied to this rank's training and validation rows
 * and test slice.  Only the d means and d variances are revealed.
 */
static fs_err standardize(run_state *st)
{
    fs_err rc = FS_OK;
    const size_t d = st->train->d;
    double *acc = NULL;  /* (d) per-rank sums */
    fs_err local = fs_zalloc(&acc, d, sizeof *acc, "standardization sums");
    if (local == FS_OK) local = fs_alloc(&st->std_mean, d, sizeof(double), "feature means");
    if (local == FS_OK) local = fs_alloc(&st->std_scale, d, sizeof(double), "feature scales");
    FS_TRY(fs_agree(st->comm, local, NULL));
    const fs_dataset *tr = st->train;
    for (size_t i = 0; i < tr->n; i++)
        for (size_t j = 0; j < d; j++) acc[j] += tr->X[i * d + j];
    FS_TRY(fs_agg_sum_f64(st->agg, 0, FS_VEC_STD_MEAN, acc, st->std_mean, d));
    for (size_t j = 0; j < d; j++) { st->std_mean[j] /= st->n_total; acc[j] = 0; }
    for (size_t i = 0; i < tr->n; i++)
        for (size_t j = 0; j < d; j++) {
            double z = tr->X[i * d + j] - st->std_mean[j];
            acc[j] += z * z;
        }
    FS_TRY(fs_agg_sum_f64(st->agg, 0, FS_VEC_STD_VAR, acc, st->std_scale, d));
    for (size_t j = 0; j < d; j++) {
        double sd = sqrt(st->std_scale[j] / st->n_total);
        st->std_scale[j] = sd > 1e-12 ? sd : 1.0;
    }
    fs_dataset_standardize(st->train, st->std_mean, st->std_scale);
    if (st->val) fs_dataset_standardize(st->val, st->std_mean, st->std_scale);
    if (st->test_slice) fs_dataset_standardize(st->test_slice, st->std_mean, st->std_scale);
done:
    free(acc);
    return rc;
}

/*
 * Collective.  Rank 0 makes metrics.jsonl hold exactly the rounds up to
 * `start` (none for a fresh start: lines of an earlier run in the same
 * directory are dropped, so no round appears twice).
 */
static fs_err start_metrics(run_state *st, int start)
{
    fs_err local = FS_OK;
    if (st->rank == 0) {
        local = trim_metrics(st->metrics_path, start);
    }
    return fs_agree(st->comm, local, NULL);
}

/*
 * Collective.  Resume: every rank reads the checkpoint (shared file system)
 * and checks it against the run; returns the completed round in *start.
 */
static fs_err resume(run_state *st, int *start)
{
    fs_err local = FS_OK;
    fs_checkpoint *ck = NULL;
    const char *mode = fs_config_str(st->cfg, "resume");
    *start = 0;
    if (strcmp(mode, "no") == 0) return start_metrics(st, 0);
    int exists = access(st->ckpt_path, F_OK) == 0;
    if (!exists && strcmp(mode, "auto") == 0) return start_metrics(st, 0);
    if (!exists) {
        local = fs_error_set(FS_ERR_IO, "--resume yes but %s does not exist: %s",
                             st->ckpt_path, strerror(errno));
    } else {
        local = fs_checkpoint_read(st->ckpt_path, &ck);
        if (local == FS_OK && (ck->nparams != st->nparams ||
                               strcmp(ck->model, fs_model_spec(st->model)) != 0 ||
                               ck->d != st->train->d))
            local = fs_error_set(FS_ERR_DATA, "%s was written for model %s with %zu features; "
                                 "this run has %s with %zu", st->ckpt_path, ck->model, ck->d,
                                 fs_model_spec(st->model), st->train->d);
        else if (local == FS_OK && ck->nsilos != st->size)
            local = fs_error_set(FS_ERR_DATA, "%s was written by %d institutions, this run has %d",
                                 st->ckpt_path, ck->nsilos, st->size);
        else if (local == FS_OK && ck->seed != (uint64_t)fs_config_int(st->cfg, "seed"))
            local = fs_error_set(FS_ERR_DATA, "%s was written with --seed %llu, this run has %ld",
                                 st->ckpt_path, (unsigned long long)ck->seed,
                                 fs_config_int(st->cfg, "seed"));
        else if (local == FS_OK && strcmp(ck->server_opt, fs_server_opt_name(st->sopt->kind)) != 0)
            local = fs_error_set(FS_ERR_DATA, "%s was written with --server-opt %s, this run has %s",
                                 st->ckpt_path, ck->server_opt, fs_server_opt_name(st->sopt->kind));
        else if (local == FS_OK && ((st->sopt->m && !ck->server_m) || (st->sopt->v && !ck->server_v)))
            local = fs_error_set(FS_ERR_DATA, "%s lacks the %s server optimizer state",
                                 st->ckpt_path, ck->server_opt);
        else if (local == FS_OK && !st->rdp != !ck->dp_rdp)
            local = fs_error_set(FS_ERR_DATA, "%s was written %s DP-SGD, this run has --dp-sgd %s",
                                 st->ckpt_path, ck->dp_rdp ? "with" : "without",
                                 st->rdp ? "yes" : "no");
        else if (local == FS_OK && !st->ddp_rdp != !ck->ddp_rdp)
            local = fs_error_set(FS_ERR_DATA, "%s was written %s distributed DP, this run has "
                                 "--ddp %s", st->ckpt_path, ck->ddp_rdp ? "with" : "without",
                                 st->ddp_rdp ? "yes" : "no");
        if (local == FS_OK && st->rdp) {
            /* the privacy spent so far travels with the model */
            fs_rdp_destroy(&st->rdp);
            local = fs_rdp_deserialize(ck->dp_rdp, ck->dp_rdp_len, &st->rdp);
        }
        if (local == FS_OK && st->ddp_rdp) {
            fs_rdp_destroy(&st->ddp_rdp);
            local = fs_rdp_deserialize(ck->ddp_rdp, ck->ddp_rdp_len, &st->ddp_rdp);
        }
        if (local == FS_OK) {
            memcpy(fs_model_params(st->model), ck->params, st->nparams * sizeof(float));
            if (st->sopt->m) memcpy(st->sopt->m, ck->server_m, st->nparams * sizeof(float));
            if (st->sopt->v) memcpy(st->sopt->v, ck->server_v, st->nparams * sizeof(float));
            st->sopt->steps = ck->server_steps;
            *start = ck->round;
        }
    }
    fs_checkpoint_free(&ck);
    fs_err rc = fs_agree(st->comm, local, NULL);
    if (rc != FS_OK) return rc;
    return start_metrics(st, *start);
}

/*
 * Rank-local.  DP-SGD plan: every institution samples at the same rate q
 * (batches of floor(q n_k) rows, so its true rate is <= q) for the same
 * number of steps per round, so one accountant, identical on all ranks and
 * revealing no shard size, bounds the privacy loss of every institution's
 * records.  Needs the model (batch capacity).
 */
static fs_err setup_dp(run_state *st, const fs_sgd_opts *sgd)
{
    fs_err rc = FS_OK;
    const fs_config *cfg = st->cfg;
    st->use_dp = strcmp(fs_config_str(cfg, "dp_sgd"), "yes") == 0;
    if (!st->use_dp) return FS_OK;
    st->dp_q = fs_config_real(cfg, "dp_sampling_rate");
    st->dpo.sgd = *sgd;
    st->dpo.clip_norm = fs_config_real(cfg, "dp_clip");
    st->dpo.noise_multiplier = fs_config_real(cfg, "dp_noise");
    st->dpo.sampling = strcmp(fs_config_str(cfg, "dp_sampling"), "fixed") == 0 ? FS_DPSGD_FIXED
                                                                              : FS_DPSGD_POISSON;
    size_t bk = (size_t)floor(st->dp_q * (double)st->train->n);
    st->dpo.sgd.batch_size = bk ? bk : 1;
    st->dp_steps = sgd->local_steps > 0 ? sgd->local_steps
                                        : (long)ceil(1.0 / st->dp_q) * (long)sgd->local_epochs;
    st->dpo.sgd.local_steps = st->dp_steps;
    if (st->dpo.sgd.batch_size > fs_model_max_batch(st->model))
        FS_FAIL(FS_ERR_ARG, "DP-SGD batch of %zu rows (q = %g) exceeds --batch-size %zu; "
                "raise --batch-size", st->dpo.sgd.batch_size, st->dp_q,
                fs_model_max_batch(st->model));
    FS_TRY(fs_rdp_create(NULL, 0, &st->rdp));
    st->rdp_len = fs_rdp_serialized_len(st->rdp);
    FS_TRY(fs_alloc(&st->rdp_buf, st->rdp_len, sizeof(double), "accountant state"));
    long ds = fs_config_int(cfg, "dp_seed");
    if (ds != 0) {
        /* reproducible noise for tests: SHA-256("fedsilo dp seed <seed> rank <rank>") */
        char lbl[96];
        int len = snprintf(lbl, sizeof lbl, "fedsilo dp seed %ld rank %d", ds, st->rank);
        FS_TRY(fs_sha256(lbl, (size_t)len, st->dp_seed));
        st->dp_seed_p = st->dp_seed;
    }
done:
    return rc;
}

/*
 * Collective.  Distributed-DP plan (fs_ddp.h): the same public plan on
 * every rank (fractional bits, rotation seed from --seed), private noise.
 */
static fs_err setup_ddp(run_state *st)
{
    fs_err local = FS_OK;
    const fs_config *cfg = st->cfg;
    st->use_ddp = strcmp(fs_config_str(cfg, "ddp"), "yes") == 0;
    if (!st->use_ddp) return FS_OK;
    uint8_t rseed[32], nseed[32];  /* nseed: secret, wiped below */
    char lbl[96];
    int len = snprintf(lbl, sizeof lbl, "fedsilo ddp rotation %ld", fs_config_int(cfg, "seed"));
    local = fs_sha256(lbl, (size_t)len, rseed);
    long dseed = fs_config_int(cfg, "dp_seed");
    if (local == FS_OK && dseed != 0) {
        len = snprintf(lbl, sizeof lbl, "fedsilo ddp noise %ld rank %d", dseed, st->rank);
        local = fs_sha256(lbl, (size_t)len, nseed);
    }
    if (local == FS_OK)
        local = fs_ddp_create(st->nparams, st->size, (int)fs_config_int(cfg, "ring_bits"),
                              fs_config_real(cfg, "ddp_clip"), fs_config_real(cfg, "ddp_noise"),
                              fs_config_real(cfg, "ddp_max_wrap"), rseed,
                              dseed != 0 ? nseed : NULL, &st->ddp);
    fs_secure_zero(nseed, sizeof nseed);
    if (local == FS_OK) local = fs_rdp_create(NULL, 0, &st->ddp_rdp);
    if (local == FS_OK) {
        st->ddp_len = fs_rdp_serialized_len(st->ddp_rdp);
        local = fs_alloc(&st->ddp_buf, st->ddp_len, sizeof(double), "accountant state");
    }
    fs_err rc = fs_agree(st->comm, local, NULL);  /* collective */
    if (rc == FS_OK && st->rank == 0)
        fs_log(FS_LOG_INFO, "distributed DP: clip %g, noise multiplier %.6g (exact), %d fractional "
               "bits, rotation to %zu coordinates, P(modular wrap per round) <= %.3g",
               fs_config_real(cfg, "ddp_clip"), fs_ddp_noise_multiplier(st->ddp),
               fs_ddp_frac_bits(st->ddp), fs_ddp_dim(st->ddp), fs_ddp_wrap_bound(st->ddp));
    return rc;
}

fs_err fs_fl_train(MPI_Comm user_comm, const fs_config *cfg, fs_round_fn on_round, void *user)
{
    fs_err rc = FS_OK, local = FS_OK;
    run_state st_, *st = &st_;
    memset(st, 0, sizeof *st);
    st->comm = MPI_COMM_NULL;
    st->cfg = cfg;
    const double t_start = fs_now();
    double m0_setup = 0;

    mark("startup", 0);
    int mrc = MPI_Comm_dup(user_comm, &st->comm);
    if (mrc != MPI_SUCCESS) { st->comm = MPI_COMM_NULL; FS_FAIL(FS_ERR_MPI, "MPI_Comm_dup failed"); }
    MPI_Comm_set_errhandler(st->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(st->comm, &st->rank);
    MPI_Comm_size(st->comm, &st->size);
    st->config_hash = fs_config_hash(cfg);

    /* collective: configuration valid and identical everywhere */
    local = fs_config_check(cfg);
    FS_TRY(fs_agree(st->comm, local, NULL));
    FS_TRY(check_same_config(st));

    /* rank 0 prepares the run directory */
    local = FS_OK;
    if (strlen(fs_config_str(cfg, "out")) >= 3800 || strlen(fs_config_str(cfg, "data")) >= 3800)
        local = fs_error_set(FS_ERR_ARG, "--out or --data path is longer than 3800 bytes");
    FS_TRY(fs_agree(st->comm, local, NULL));
    snprintf(st->out_dir, sizeof st->out_dir, "%.3800s", fs_config_str(cfg, "out"));
    snprintf(st->ckpt_path, sizeof st->ckpt_path, "%.3800s/checkpoint.h5", st->out_dir);
    snprintf(st->metrics_path, sizeof st->metrics_path, "%.3800s/metrics.jsonl", st->out_dir);
    if (st->rank == 0) {
        local = make_dirs(st->out_dir);
        if (local == FS_OK) local = write_config(st);
    }
    FS_TRY(fs_agree(st->comm, local, NULL));

    /* rank-local: this institution's shard (and its validation part), from
     * the --data pattern or, without one, from the roster's data = path.
     * With --data, a roster that does not load is reported by the key setup
     * as before (and the ownership check below is skipped); without --data
     * the roster is needed here. */
    local = FS_OK;
    if (fs_config_str(cfg, "roster")[0]) {
        local = fs_roster_load(fs_config_str(cfg, "roster"), &st->roster);
        if (local != FS_OK && fs_config_str(cfg, "data")[0]) local = FS_OK;
    }
    if (fs_config_str(cfg, "data")[0]) {
        local = fs_path_expand_rank(st->shard_path, sizeof st->shard_path, fs_config_str(cfg, "data"),
                                    st->rank);
    } else if (local == FS_OK) {
        const fs_roster *ros = st->roster;
        if (st->rank >= fs_roster_count(ros))
            local = fs_error_set(FS_ERR_ARG, "roster %s has no institution with rank %d",
                                 fs_config_str(cfg, "roster"), st->rank);
        else if (!fs_roster_data_path(ros, st->rank))
            local = fs_error_set(FS_ERR_ARG, "no --data given and the roster entry of '%s' "
                                 "(rank %d) in %s has no data = path", fs_roster_name(ros, st->rank),
                                 st->rank, fs_config_str(cfg, "roster"));
        else
            snprintf(st->shard_path, sizeof st->shard_path, "%.3800s",
                     fs_roster_data_path(ros, st->rank));
    }
    if (local == FS_OK) local = fs_dataset_read(st->shard_path, FS_PART_TRAIN, &st->train);
    if (local == FS_OK) local = fs_dataset_read(st->shard_path, FS_PART_VALIDATION, &st->val);
    FS_TRY(fs_agree(st->comm, local, NULL));
    FS_TRY(check_shard_owner(st));
    FS_TRY(check_shards_match(st));

    /* rank-local: model, test slice, buffers */
    fs_sgd_opts sgd = {
        .lr = fs_config_real(cfg, "lr"),
        .momentum = fs_config_real(cfg, "momentum"),
        .weight_decay = fs_config_real(cfg, "weight_decay"),
        .batch_size = (size_t)fs_config_int(cfg, "batch_size"),
        .local_epochs = (int)fs_config_int(cfg, "local_epochs"),
        .local_steps = fs_config_int(cfg, "local_steps"),
    };
    const char *algo = fs_config_str(cfg, "algorithm");
    if (strcmp(algo, "fedsgd") == 0) {
        /* FedSGD: one gradient step on the whole shard per round */
        sgd.local_steps = 1;
        sgd.batch_size = st->train->n;
        sgd.momentum = 0;
    }
    const uint64_t seed = (uint64_t)fs_config_int(cfg, "seed");
    local = fs_model_create(fs_config_str(cfg, "model"), st->train->d, st->train->task,
                            st->train->num_classes, sgd.batch_size, &st->model);
    if (local == FS_OK) {
        st->nparams = fs_model_nparams(st->model);
        fs_model_init(st->model, seed);
        local = fs_alloc(&st->w_global, st->nparams, sizeof(float), "global model");
    }
    if (local == FS_OK) local = fs_alloc(&st->update, st->nparams, sizeof(float), "model update");
    if (local == FS_OK) {
        fs_sopt_kind kind = FS_SOPT_FEDAVG;
        local = fs_server_opt_kind(fs_config_str(cfg, "server_opt"), &kind);
        if (local == FS_OK)
            local = fs_server_opt_create(kind, fs_config_real(cfg, "server_lr"),
                                         fs_config_real(cfg, "server_beta1"),
                                         fs_config_real(cfg, "server_beta2"),
                                         fs_config_real(cfg, "server_tau"), st->nparams, &st->sopt);
    }
    if (local == FS_OK && strcmp(algo, "fedprox") == 0) {
        sgd.prox_mu = fs_config_real(cfg, "prox_mu");
        sgd.prox_anchor = st->w_global;
    }
    if (local == FS_OK) local = setup_dp(st, &sgd);
    if (local == FS_OK && fs_config_str(cfg, "test")[0])
        local = load_test_slice(st, fs_config_str(cfg, "test"));
    FS_TRY(fs_agree(st->comm, local, NULL));

    /* collective: aggregator (the secure sum does its key setup here) */
    mark("key setup", 0);
    local = fs_agg_create(st->comm, cfg, &st->agg);
    FS_TRY(fs_agree(st->comm, local, NULL));

    FS_TRY(setup_ddp(st));

    int start = 0;
    FS_TRY(resume(st, &start));

    m0_setup = fs_agg_setup_seconds(st->agg);
    /* collective: n = sum of n_k, through the aggregator like every sum */
    double nk = (double)st->train->n, ntot = 0;
    FS_TRY(fs_agg_sum_f64(st->agg, 0, FS_VEC_NSAMPLES, &nk, &ntot, 1));
    st->n_total = ntot;
    if (strcmp(fs_config_str(cfg, "standardize"), "yes") == 0) FS_TRY(standardize(st));

    const int rounds = (int)fs_config_int(cfg, "rounds");
    const int eval_every = (int)fs_config_int(cfg, "eval_every");
    const int ckpt_every = (int)fs_config_int(cfg, "checkpoint_every");
    float *w = fs_model_params(st->model);
    int last_ckpt = start;  /* round held by the checkpoint on disk */

    for (int r = start; r < rounds; r++) {
        const int round = r + 1;  /* 1-based in metrics and checkpoints */
        const double t0 = fs_now();
        fs_round_metrics m = { 0 };
        m.round = round;
        m.rounds = rounds;
        m.is_regression = st->train->task == FS_TASK_REGRESSION;
        m.total_samples = st->n_total;
        m.setup_seconds = m0_setup;

        /* rank-local: E local epochs of SGD from the global model */
        mark("local training", round);
        memcpy(st->w_global, w, st->nparams * sizeof(float));
        fs_sgd_stats ss = { 0 };
        /* budget: stop cleanly, with a checkpoint, before a round that would
         * take an active accountant past --dp-epsilon.  Every rank holds the
         * same accountants, so every rank breaks at the same round. */
        const double budget = fs_config_real(cfg, "dp_epsilon");
        if (budget > 0 && (st->use_dp || st->use_ddp)) {
            const double delta = fs_config_real(cfg, "dp_delta");
            double eps_next = 0, e = 0;
            if (st->use_dp) {
                FS_TRY(next_epsilon(st->rdp, st->rdp_buf, st->rdp_len, st->dpo.noise_multiplier, st->dp_q,
                                    st->dp_steps, delta, &e));
                eps_next = e;
            }
            if (st->use_ddp) {
                FS_TRY(next_epsilon(st->ddp_rdp, st->ddp_buf, st->ddp_len,
                                    fs_ddp_noise_multiplier(st->ddp), 1.0, 1, delta, &e));
                if (e > eps_next) eps_next = e;
            }
            if (eps_next > budget) {
                if (r == 0)
                    FS_FAIL(FS_ERR_ARG, "--dp-epsilon %g is smaller than the epsilon of one round "
                            "(%g); raise the budget or the noise", budget, eps_next);
                if (st->rank == 0)
                    fs_log(FS_LOG_INFO, "privacy budget: stopping before round %d, which would "
                           "reach epsilon %.4g > --dp-epsilon %g", round, eps_next, budget);
                if (last_ckpt != r) FS_TRY(save_checkpoint(st, r));
                break;
            }
        }
        if (st->use_dp) {
            fs_dpsgd_stats dst;
            memset(&dst, 0, sizeof dst);
            local = fs_dpsgd_train(st->model, st->train, &st->dpo, seed, st->rank, r, st->dp_seed_p, &dst);
            ss = dst.sgd;
        } else {
            /* planned steps: local_steps, or epochs * ceil(n / batch) */
            local_done = 0;
            local_total = sgd.local_steps > 0 ? sgd.local_steps
                        : (long)sgd.local_epochs *
                              (long)((st->train->n + sgd.batch_size - 1) / sgd.batch_size);
            sgd.on_step = count_step;
            local = fs_sgd_train(st->model, st->train, &sgd, seed, st->rank, r, &ss);
            local_total = 0;
        }
        if (local != FS_OK) fs_error_prefix(local, "%s: ", st->shard_path);
        mark("aggregation (waiting for the other institutions' local training)", round);
        FS_TRY(fs_agree(st->comm, local, NULL));
        mark("secure aggregation", round);

        /* u_k = (n_k / n) (w_k - w); U = sum_k u_k is the FedAvg mean update
         * (collective).  Folding 1/n into the weights keeps |U| <= max|delta|
         * whatever the sample counts, which is what the fixed-point headroom
         * rule of the secure sum needs. */
        const float pk = (float)((double)st->train->n / st->n_total);
        for (size_t i = 0; i < st->nparams; i++) st->update[i] = pk * (w[i] - st->w_global[i]);
        size_t nclip = 0;
        int ddp_clipped = 0;
        if (st->use_ddp) {
            /* collective: clipped, rotated, noised in the ring, securely summed */
            FS_TRY(fs_ddp_sum(st->ddp, fs_agg_secagg(st->agg), (uint64_t)round, FS_VEC_UPDATE,
                              st->update, st->update, &ddp_clipped));
        } else {
            FS_TRY(fs_agg_sum_f32(st->agg, round, FS_VEC_UPDATE, st->update, st->update,
                                  st->nparams, &nclip));
        }

        /* server optimizer step from the round's start: w <- w_global +
         * step(U); identical arithmetic on every rank */
        memcpy(w, st->w_global, st->nparams * sizeof(float));
        fs_server_opt_step(st->sopt, w, st->update);

        double tl[4] = { ss.loss_sum, ss.samples, (double)nclip, (double)ddp_clipped }, tls[4];
        FS_TRY(fs_agg_sum_f64(st->agg, round, FS_VEC_TRAIN, tl, tls, 4));
        m.train_loss = tls[1] > 0 ? tls[0] / tls[1] : NAN;
        m.clipped = tls[2];
        m.ddp_clipped = tls[3];
        m.ddp_epsilon = NAN;
        if (st->use_ddp) {
            /* one Gaussian mechanism on the sum per round: sensitivity c, noise z c */
            FS_TRY(fs_rdp_add_step(st->ddp_rdp, fs_ddp_noise_multiplier(st->ddp), 1.0, 1));
            FS_TRY(fs_rdp_get_epsilon(st->ddp_rdp, fs_config_real(cfg, "dp_delta"),
                                      FS_DP_CONV_IMPROVED, &m.ddp_epsilon, NULL));
        }
        m.epsilon = NAN;
        if (st->use_dp) {
            /* identical on every rank: same (sigma, q, steps) everywhere */
            FS_TRY(fs_rdp_add_step(st->rdp, st->dpo.noise_multiplier, st->dp_q, st->dp_steps));
            FS_TRY(fs_rdp_get_epsilon(st->rdp, fs_config_real(cfg, "dp_delta"),
                                      FS_DP_CONV_IMPROVED, &m.epsilon, NULL));
        }

        mark("evaluation", round);
        if (round % eval_every == 0 || round == rounds) FS_TRY(evaluate(st, round, &m));
        mark("checkpoint", round);

        int stop = 0;
        FS_TRY(consistency_and_stop(st, round, &stop));
        const int ckpt = (ckpt_every > 0 && round % ckpt_every == 0) || round == rounds || stop;
        /* The metrics line goes first, the checkpoint second: a crash between
         * them leaves a line for a round the checkpoint does not hold, which
         * the resume drops and redoes; the reverse order would lose a line. */
        m.checkpointed = ckpt;
        m.seconds = fs_now() - t0;
        m.elapsed = fs_now() - t_start;
        local = FS_OK;
        if (st->rank == 0) {
            local = append_metrics(st, &m);
        }
        FS_TRY(fs_agree(st->comm, local, NULL));
        if (ckpt) {
            FS_TRY(save_checkpoint(st, round));
            last_ckpt = round;
        }
        if (on_round) on_round(&m, user);
        if (stop && round < rounds)
            FS_FAIL(FS_ERR_INTERRUPTED, "stopped on request after round %d of %d; checkpoint %s "
                    "written; rerun with --resume auto to continue", round, rounds, st->ckpt_path);
    }
done:
    run_free(st);
    progress_ns = -1;
    progress_phase = "idle";
    return rc;
}

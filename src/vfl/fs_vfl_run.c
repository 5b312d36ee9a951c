/*
 * fs_vfl_run.c - the `fedsilo vfl-train` and `fedsilo psi` runs on the
 * federation core: options and configuration agreed, this rank's files
 * from its rank patterns, the protocols (fs_vfl.c, fs_psi.c) on the core's
 * private communicator (MPI_ERRORS_RETURN), the outputs written durably
 * and agreed.  See docs/vertical.md.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_fed.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_psi.h"
#include "fedsilo/fs_vfl.h"

/* Collective: the federation without a shard read (the program reads its
 * own files), the options and the configuration agreed first. */
static fs_err open_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl, fs_opts *o,
                       fs_fed **fed)
{
    fs_fed_open_opts fo = { cfg, &o->fed, 0, FS_PREFLIGHT_CONFIG, 0, ctl,
                            fs_config_options(cfg, o) };
    return fs_fed_open(comm, &fo, fed);
}

// ---------------------------------------------------------------- vfl-train

/*
 * The label rank from the roster's `role = label`, if the roster names one.
 * Not collective (the caller agrees on the result).  With no roster,
 * *label_rank is left alone.  When the roster names a label holder,
 * *label_rank becomes its rank and *from_roster 1, unless `given`
 * (--label-rank was passed) and the two differ: FS_ERR_ARG.
 */
static fs_err roster_label_rank(const char *roster_path, int given, int *label_rank,
                                int *from_roster)
{
    fs_roster *r = NULL;
    *from_roster = 0;
    if (!roster_path || !roster_path[0]) return FS_OK;
    fs_err rc = fs_roster_load(roster_path, &r);
    if (rc != FS_OK) return rc;
    int lr = fs_roster_label_rank(r);
    if (lr >= 0 && given && lr != *label_rank)
        rc = fs_error_set(FS_ERR_ARG, "--label-rank %d disagrees with the roster %s, where "
                          "institution \"%s\" (rank %d) has role = label", *label_rank,
                          roster_path, fs_roster_name(r, lr), lr);
    else if (lr >= 0) {
        *label_rank = lr;
        *from_roster = 1;
    }
    fs_roster_destroy(&r);
    return rc;
}

/* Rank-local: read this rank's part (pattern, %d = rank); the label holder
 * converts its labels to double (*y owned by the caller). */
static fs_err load_part(const char *pattern, int rank, int is_label, fs_vfl_model model,
                        fs_dataset **ds, double **y)
{
    fs_err rc = FS_OK;
    char path[4096];
    FS_TRY(fs_path_expand_rank(path, sizeof path, pattern, rank));
    FS_TRY(fs_dataset_read(path, FS_PART_TRAIN, ds));
    if (!is_label) goto done;
    const fs_dataset *d = *ds;
    if (d->labels_absent || (d->provenance && strstr(d->provenance, "labels withheld")))
        FS_FAIL(FS_ERR_DATA, "%s has no labels (attribute labels_absent: imported without "
                "--label, or a vfl-split part of another rank): check --label-rank and the "
                "roster's role = label", path);
    if (model == FS_VFL_LOGISTIC && (d->task != FS_TASK_CLASSIFICATION || d->num_classes != 2))
        FS_FAIL(FS_ERR_DATA, "%s: logistic regression needs 2-class labels", path);
    if (model == FS_VFL_LINEAR && d->task != FS_TASK_REGRESSION)
        FS_FAIL(FS_ERR_DATA, "%s: linear regression needs regression targets", path);
    FS_TRY(fs_alloc(y, d->n, sizeof **y, "labels"));
    for (size_t i = 0; i < d->n; i++)
        (*y)[i] = d->task == FS_TASK_CLASSIFICATION ? (double)d->y_class[i] : (double)d->y_reg[i];
done:
    return rc;
}

typedef struct { int rank; size_t d; int is_label; const double *w; } weights_job;

static fs_err write_weights(FILE *f, void *user)
{
    const weights_job *j = user;
    fprintf(f, "# fedsilo vfl weights: rank %d, %zu features%s\n", j->rank, j->d,
            j->is_label ? ", last line = bias" : "");
    for (size_t k = 0; k < j->d + (j->is_label ? 1 : 0); k++) fprintf(f, "%.17g\n", j->w[k]);
    return FS_OK;
}

/* The epoch callback of fs_vfl_run: every finished epoch is progress for the
 * watchdog (fs_fed_mark), then the caller's callback, if any. */
typedef struct {
    fs_fed *fed;
    fs_vfl_epoch_fn fn;
    void *user;
} epoch_mark;

static void mark_epoch(int epoch, double train_loss, double test_metric, void *user)
{
    epoch_mark *m = user;
    fs_fed_mark(m->fed, "vertical training (Paillier)", epoch);
    if (m->fn) m->fn(epoch, train_loss, test_metric, m->user);
}

fs_err fs_vfl_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl, fs_vfl_start_fn on_start,
                  fs_vfl_epoch_fn on_epoch, void *user, fs_vfl_run_report *out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_opts o;
    fs_fed *fed = NULL;
    fs_dataset *tr = NULL, *te = NULL;
    double *ytr = NULL, *yte = NULL, *w = NULL;
    char idpath[4096] = "";
    int from_roster = 0;
    memset(out, 0, sizeof *out);
    FS_TRY(open_run(comm, cfg, ctl, &o, &fed));
    const int rank = fs_fed_rank(fed);
    fs_vfl_opts *vo = &o.vfl;
    vo->roster_path = o.fed.roster;
    vo->allow_unauthenticated = o.fed.insecure_no_auth;
    local = fs_path_expand_rank(idpath, sizeof idpath, o.fed.identity, rank);
    vo->identity_path = idpath;
    /* The roster may name the label holder (role = label); each rank reads
     * its own copy, and the outcome is agreed before anything depends on it. */
    if (local == FS_OK)
        local = roster_label_rank(vo->roster_path, o.label_rank_given, &vo->label_rank,
                                  &from_roster);
    FS_TRY(fs_fed_agree(fed, local));
    const int is_label = rank == vo->label_rank;
    local = load_part(o.fed.data, rank, is_label, vo->model, &tr, &ytr);
    if (local == FS_OK && o.fl.test[0]) local = load_part(o.fl.test, rank, is_label, vo->model,
                                                          &te, &yte);
    if (local == FS_OK) local = fs_zalloc(&w, tr->d + 1, sizeof *w, "weights");
    FS_TRY(fs_fed_agree(fed, local));
    if (on_start) {
        fs_vfl_run_info info = { fs_fed_size(fed), tr->n, vo, from_roster };
        on_start(&info, user);
    }
    fs_vfl_part ptr = { tr->X, ytr, tr->n, tr->d }, pte = { NULL, NULL, 0, 0 };
    if (te) { pte.X = te->X; pte.y = yte; pte.n = te->n; pte.d = te->d; }
    epoch_mark em = { fed, on_epoch, user };
    fs_fed_mark(fed, "vertical training (Paillier)", 0);
    FS_TRY(fs_vfl_train(fs_fed_comm(fed), vo, &ptr, te ? &pte : NULL, w, &out->rep, mark_epoch,
                        &em));
    if (o.fed.out[0]) {
        char path[4200];
        weights_job j = { rank, tr->d, is_label, w };
        local = fs_mkdir_p(o.fed.out);
        if (local == FS_OK && snprintf(path, sizeof path, "%s/vfl-weights-%d.txt", o.fed.out,
                                       rank) >= (int)sizeof path)
            local = fs_error_set(FS_ERR_ARG, "--out path too long");
        if (local == FS_OK) local = fs_file_publish(path, write_weights, &j);
        FS_TRY(fs_fed_agree(fed, local));
    }
    /* collective: the Paillier work of all ranks, summed on rank 0 */
    unsigned long long cnt[3] = { out->rep.n_encrypt, out->rep.n_decrypt, out->rep.n_scalar_mul },
                       tot[3] = { 0, 0, 0 };
    double pt = out->rep.paillier_seconds;
    FS_TRY(fs_from_mpi(MPI_Reduce(cnt, tot, 3, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0,
                                  fs_fed_comm(fed)), "MPI_Reduce (Paillier counts)"));
    FS_TRY(fs_from_mpi(MPI_Reduce(&pt, &out->paillier_seconds_max, 1, MPI_DOUBLE, MPI_MAX, 0,
                                  fs_fed_comm(fed)), "MPI_Reduce (Paillier time)"));
    out->n_encrypt = tot[0];
    out->n_decrypt = tot[1];
    out->n_scalar_mul = tot[2];
done:
    free(w);
    free(ytr);
    free(yte);
    fs_dataset_destroy(&tr);
    fs_dataset_destroy(&te);
    fs_fed_close(&fed);
    return rc;
}

// ---------------------------------------------------------------- psi

typedef struct { const size_t *idx; size_t m; char **ids; } ids_job;

static fs_err write_id_rows(FILE *f, void *user)
{
    const ids_job *j = user;
    fprintf(f, "row,id\n");
    for (size_t t = 0; t < j->m; t++) fprintf(f, "%zu,%s\n", j->idx[t], j->ids[j->idx[t]]);
    return FS_OK;
}

/* Write the aligned part: rows idx[0..m) of ds, in that order, to path.
 * Not collective. */
static fs_err write_aligned(const fs_dataset *ds, const size_t *idx, size_t m, int nranks,
                            const char *path)
{
    fs_err rc = FS_OK;
    fs_dataset *al = NULL;
    char *prov = NULL;
    FS_TRY(fs_dataset_subset(ds, idx, m, 0, ds->d, &al));
    const char *old = ds->provenance ? ds->provenance : "";
    if (asprintf(&prov, "%s%spsi: %zu of %zu rows in the intersection of %d ranks, in the common "
                 "order", old, old[0] ? "; " : "", m, ds->n, nranks) < 0) {
        prov = NULL;
        FS_FAIL(FS_ERR_NOMEM, "out of memory");
    }
    free(al->provenance);
    al->provenance = prov;
    FS_TRY(fs_dataset_write(al, NULL, path));
done:
    fs_dataset_destroy(&al);
    return rc;
}

fs_err fs_psi_run(MPI_Comm comm, const fs_config *cfg, fs_run_ctl *ctl, fs_psi_run_report *out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_opts o;
    fs_fed *fed = NULL;
    char **ids = NULL;                 /* --ids: (n) ids read from the file */
    fs_dataset *ds = NULL;             /* --data: the dataset; ids are ds->ids */
    size_t n = 0, *idx = NULL, m = 0;
    memset(out, 0, sizeof *out);
    FS_TRY(open_run(comm, cfg, ctl, &o, &fed));
    const int rank = fs_fed_rank(fed), size = fs_fed_size(fed);
    const int by_ids = o.psi.ids[0] != '\0';
    char path[4096], idpath[4096] = "";
    out->nranks = size;
    out->dataset = !by_ids;
    o.psi.roster_path = o.fed.roster;
    o.psi.allow_unauthenticated = o.fed.insecure_no_auth;
    o.psi.identity_path = idpath;
    local = fs_path_expand_rank(idpath, sizeof idpath, o.fed.identity, rank);
    if (local == FS_OK)
        local = fs_path_expand_rank(path, sizeof path, by_ids ? o.psi.ids : o.fed.data, rank);
    if (local == FS_OK)
        local = fs_path_expand_rank(out->out_path, sizeof out->out_path, o.fed.out, rank);
    if (local == FS_OK && by_ids) {
        local = fs_ids_read_text(path, o.psi.header, &ids, &n);
    } else if (local == FS_OK) {
        local = fs_dataset_read(path, FS_PART_TRAIN, &ds);
        if (local == FS_OK && !ds->ids)
            local = fs_error_set(FS_ERR_DATA, "%s has no record ids (/ids): import it with "
                                 "'fedsilo import csv --id-column COLUMN'", path);
        if (local == FS_OK) n = ds->n;
    }
    FS_TRY(fs_fed_agree(fed, local));
    const char *const *keys = (const char *const *)(ds ? ds->ids : ids);
    const double t0 = fs_now();
    fs_fed_mark(fed, "private set intersection", 0);
    FS_TRY(fs_psi_intersect(fs_fed_comm(fed), &o.psi, keys, n, &idx, &m, NULL));
    out->seconds = fs_now() - t0;
    out->n = n;
    out->m = m;
    /* m is the same on every rank, so this error is collective already. */
    if (ds && m == 0)
        FS_FAIL(FS_ERR_DATA, "the intersection of the %d ranks' ids is empty: no aligned dataset "
                "to write", size);
    if (ds) {
        local = write_aligned(ds, idx, m, size, out->out_path);
    } else {
        ids_job j = { idx, m, ids };
        local = fs_file_publish(out->out_path, write_id_rows, &j);
    }
    FS_TRY(fs_fed_agree(fed, local));
done:
    fs_ids_free(ids, n);
    free(idx);
    fs_dataset_destroy(&ds);
    fs_fed_close(&fed);
    return rc;
}

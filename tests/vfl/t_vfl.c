/*
 * t_vfl.c - a driver of fs_vfl_train for the attack tests (E3, E8 and the
 * partial-score spy of the tests/vfl scripts): the same call the CLI makes, plus
 * the TEST-ONLY switches that the CLI cannot set (their positive controls).
 *
 * Usage:
 *   mpirun -np N t_vfl --data 'DIR/part-%d.h5' [--test 'DIR/test-%d.h5']
 *       [--label-rank R] [--model logistic|linear] [--lr X] [--epochs E]
 *       [--batch-size B] [--bits BITS] [--seed S] [--out DIR]
 *       [--roster FILE --identity 'KEY-%d'] [--plain-channel] [--no-score-masks]
 *       [--legacy-batches]
 *     trains (always with insecure_test_keys: the tests use 1024-bit keys),
 *     writes DIR/w-<rank>.txt (weights, "%.17g" a line, the label holder's
 *     bias last) and prints "final: loss L metric M" on rank 0; every rank
 *     prints "t_vfl[rank k]: error: MESSAGE" and exits 1 on failure.
 *   t_vfl --plan N B SEED EPOCHS LEGACY
 *     prints the batch plan, one line per batch: "EPOCH T i1 i2 ..." (no MPI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include <fedsilo/fs_vfl.h>

static int my_rank;

static void log_line(fs_log_level level, const char *line, void *user)
{
    (void)level;
    (void)user;
    fprintf(stderr, "t_vfl[rank %d]: %s\n", my_rank, line);
}

static void expand(char *out, size_t len, const char *pattern, int rank)
{
    const char *pct = strstr(pattern, "%d");
    if (pct) snprintf(out, len, "%.*s%d%s", (int)(pct - pattern), pattern, rank, pct + 2);
    else snprintf(out, len, "%s", pattern);
}

static int print_plan(char **argv)
{
    size_t n = strtoul(argv[0], NULL, 10), b = strtoul(argv[1], NULL, 10), nb = 0;
    uint64_t seed = strtoull(argv[2], NULL, 10);
    int epochs = atoi(argv[3]), legacy = atoi(argv[4]);
    uint32_t *perm = malloc(n * sizeof *perm);
    size_t *starts = malloc((n / b + 2) * sizeof *starts);
    if (!perm || !starts) return 1;
    for (int e = 1; e <= epochs; e++) {
        fs_vfl_batch_plan(seed, e, n, b, legacy, perm, starts, &nb);
        for (size_t t = 0; t < nb; t++) {
            printf("%d %zu", e, t);
            for (size_t i = starts[t]; i < starts[t + 1]; i++) printf(" %u", perm[i]);
            printf("\n");
        }
    }
    free(perm);
    free(starts);
    return 0;
}

/* This rank's block (and the labels as doubles on the label holder). */
static fs_err load(const char *pattern, int is_label, fs_dataset **ds, double **y)
{
    char path[4096];
    expand(path, sizeof path, pattern, my_rank);
    fs_err rc = fs_dataset_read(path, FS_PART_TRAIN, ds);
    if (rc != FS_OK || !is_label) return rc;
    const fs_dataset *d = *ds;
    if (!(*y = malloc(d->n * sizeof **y))) return fs_error_set(FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->n; i++)
        (*y)[i] = d->task == FS_TASK_CLASSIFICATION ? (double)d->y_class[i] : (double)d->y_reg[i];
    return FS_OK;
}

int main(int argc, char **argv)
{
    if (argc == 7 && !strcmp(argv[1], "--plan")) return print_plan(argv + 2);
    fs_vfl_opts o;
    fs_vfl_opts_default(&o);
    o.insecure_test_keys = 1;
    o.paillier_bits = 1024;
    const char *data = NULL, *testp = NULL, *out = NULL, *identity = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--plain-channel")) { o.test_plain_channel = 1; continue; }
        if (!strcmp(a, "--no-score-masks")) { o.test_no_score_masks = 1; continue; }
        if (!strcmp(a, "--legacy-batches")) { o.test_legacy_batches = 1; continue; }
        i++;
        if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--test")) testp = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--roster")) o.roster_path = v;
        else if (!strcmp(a, "--identity")) identity = v;
        else if (!strcmp(a, "--label-rank")) o.label_rank = atoi(v);
        else if (!strcmp(a, "--model")) o.model = strcmp(v, "linear") ? FS_VFL_LOGISTIC : FS_VFL_LINEAR;
        else if (!strcmp(a, "--lr")) o.lr = atof(v);
        else if (!strcmp(a, "--epochs")) o.epochs = atoi(v);
        else if (!strcmp(a, "--batch-size")) o.batch_size = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--bits")) o.paillier_bits = atoi(v);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else { fprintf(stderr, "t_vfl: unknown option %s\n", a); return 2; }
    }
    if (!data) { fprintf(stderr, "t_vfl: --data is required\n"); return 2; }
    o.allow_unauthenticated = !o.roster_path;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    fs_log_set_handler(log_line, NULL, FS_LOG_WARN);
    char idpath[4096] = "";
    if (identity) expand(idpath, sizeof idpath, identity, my_rank);
    o.identity_path = idpath;
    int is_label = my_rank == o.label_rank;
    fs_dataset *tr = NULL, *te = NULL;
    double *ytr = NULL, *yte = NULL, *w = NULL;
    fs_err local = load(data, is_label, &tr, &ytr);
    if (local == FS_OK && testp) local = load(testp, is_label, &te, &yte);
    if (local == FS_OK && !(w = calloc(tr->d + 1, sizeof *w)))
        local = fs_error_set(FS_ERR_NOMEM, "out of memory");
    fs_err rc = fs_agree(MPI_COMM_WORLD, local, NULL);
    fs_vfl_report rep;
    memset(&rep, 0, sizeof rep);
    if (rc == FS_OK) {
        fs_vfl_part ptr = { tr->X, ytr, tr->n, tr->d }, pte = { NULL, NULL, 0, 0 };
        if (te) { pte.X = te->X; pte.y = yte; pte.n = te->n; pte.d = te->d; }
        rc = fs_vfl_train(MPI_COMM_WORLD, &o, &ptr, te ? &pte : NULL, w, &rep, NULL, NULL);
    }
    if (rc == FS_OK && out) {
        char path[4096];
        snprintf(path, sizeof path, "%s/w-%d.txt", out, my_rank);
        FILE *f = fopen(path, "w");
        for (size_t j = 0; f && j < tr->d + (is_label ? 1 : 0); j++) fprintf(f, "%.17g\n", w[j]);
        if (!f || fclose(f) != 0) rc = fs_error_set(FS_ERR_IO, "cannot write %s", path);
    }
    if (rc == FS_OK && my_rank == 0)
        printf("final: loss %.6f metric %.6f\n", rep.train_loss, rep.test_metric);
    if (rc != FS_OK) fprintf(stderr, "t_vfl[rank %d]: error: %s\n", my_rank, fs_errmsg());
    free(w); free(ytr); free(yte);
    fs_dataset_destroy(&tr);
    fs_dataset_destroy(&te);
    if (rc == FS_ERR_MPI) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Finalize();
    return rc == FS_OK ? 0 : 1;
}

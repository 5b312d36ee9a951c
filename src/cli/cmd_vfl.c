/*
 * cmd_vfl.c - `fedsilo vfl-split`, `fedsilo vfl-train` and `fedsilo psi`:
 * vertical federated learning from the command line (docs/vertical.md).
 *
 * CLI layer: owns argv, stdout, the exit status and MPI_Init/MPI_Finalize
 * of the two MPI subcommands.  Option errors are detected identically on
 * every rank (same argv) before MPI starts, so every rank exits with 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <mpi.h>
#include <fedsilo.h>
#include <fedsilo/fs_paillier.h>
#include <fedsilo/fs_psi.h>
#include <fedsilo/fs_vfl.h>
#include "cli.h"
#include "cmd_vfl.h"

static int cli_rank;

static void log_with_rank(fs_log_level level, const char *line, void *user)
{
    (void)user;
    static const char *names[] = { "debug", "info", "warning", "error" };
    fprintf(stderr, "fedsilo[rank %d]: %s: %s\n", cli_rank, names[level], line);
}

/* Expand the first "%d" of pattern with rank (no other conversions). */
static void expand_rank(char *out, size_t len, const char *pattern, int rank)
{
    const char *pct = strstr(pattern, "%d");
    if (pct) snprintf(out, len, "%.*s%d%s", (int)(pct - pattern), pattern, rank, pct + 2);
    else snprintf(out, len, "%s", pattern);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return (mkdir(buf, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

// ---------------------------------------------------------------- vfl-split

static void split_usage(FILE *out, const char *cmd)
{
    int alias = !strcmp(cmd, "vfl-split");
    fprintf(out,
        "Usage: fedsilo %s --input FILE.h5 --parts N --label-rank R --outdir DIR\n"
        "       %*s [--test-fraction F] [--seed S]\n\n"
        "Cut a dataset by feature columns into N contiguous blocks for vertical federated\n"
        "learning: DIR/part-<k>.h5 (training rows) and DIR/test-<k>.h5 (test rows), with\n"
        "the same rows in the same order in every part (record ids, if any, are kept).\n"
        "Only part R keeps the labels; the other parts store zeros, set the attribute\n"
        "labels_absent = 1 and say 'labels withheld' in their provenance.%s\n\n"
        "  --input FILE.h5     dataset written by 'fedsilo import'\n"
        "  --parts N           number of column blocks (institutions)\n"
        "  --label-rank R      part that keeps the labels (0 .. N-1)\n"
        "  --outdir DIR        output directory (created if missing)\n"
        "  --test-fraction F   share of rows held out as test rows (default 0.2; 0 = none)\n"
        "  --seed S            row shuffle before the train/test cut (default 1)\n",
        alias ? "vfl-split" : "split --vertical", alias ? 17 : 24, "",
        alias ? "\n'fedsilo vfl-split' is another name for 'fedsilo split --vertical'." : "");
}

/* Rows rows[0..nr) and columns [c0, c1) of src into a new dataset; the
 * labels only when `labels`, else zeros marked absent. */
static fs_err cut(const fs_dataset *src, const size_t *rows, size_t nr, size_t c0, size_t c1,
                  int labels, int part, int nparts, fs_dataset **out)
{
    fs_dataset *ds = NULL;
    fs_err rc = fs_dataset_subset(src, rows, nr, c0, c1, &ds);
    if (rc != FS_OK) return rc;
    if (!labels) {
        if (ds->y_class) memset(ds->y_class, 0, ds->n * sizeof *ds->y_class);
        if (ds->y_reg) memset(ds->y_reg, 0, ds->n * sizeof *ds->y_reg);
        ds->labels_absent = 1;
    }
    char prov[512];
    snprintf(prov, sizeof prov, "vfl-split part %d of %d: columns %zu..%zu of %s; labels %s", part,
             nparts, c0, c1 - 1, src->provenance ? src->provenance : "(unknown)",
             labels ? "held" : "withheld (zeros)");
    free(ds->provenance);
    ds->provenance = strdup(prov);
    ds->shard_index = part;
    ds->num_shards = nparts;
    if (!ds->provenance) {
        fs_dataset_destroy(&ds);
        return fs_error_set(FS_ERR_NOMEM, "out of memory");
    }
    *out = ds;
    return FS_OK;
}

int fs_cmd_split_vertical(const char *cmd, int argc, char **argv)
{
    const char *input = NULL, *outdir = NULL;
    long parts = 0, label_rank = -1, seed = 1;
    double test_fraction = 0.2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { split_usage(stdout, cmd); return 0; }
        if (!strcmp(a, "--vertical")) continue;
        if (i + 1 >= argc) return fs_cli_usage_error(cmd, "unexpected argument '%s'", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--outdir")) outdir = v;
        else if (!strcmp(a, "--parts")) {
            if (parse_long(v, 1, 1024, &parts)) return fs_cli_usage_error(cmd, "--parts must be 1..1024");
        } else if (!strcmp(a, "--label-rank")) {
            if (parse_long(v, 0, 1023, &label_rank)) return fs_cli_usage_error(cmd, "bad --label-rank '%s'", v);
        } else if (!strcmp(a, "--seed")) {
            if (parse_long(v, 0, 0x7fffffffL, &seed)) return fs_cli_usage_error(cmd, "bad --seed '%s'", v);
        } else if (!strcmp(a, "--test-fraction")) {
            if (parse_double(v, &test_fraction) || test_fraction < 0 || test_fraction >= 1)
                return fs_cli_usage_error(cmd, "--test-fraction must be in [0, 1)");
        } else return fs_cli_usage_error(cmd, "unknown option '%s'", a);
    }
    if (!input || !outdir || parts < 1 || label_rank < 0)
        return fs_cli_usage_error(cmd, "--input, --outdir, --parts and --label-rank are required");
    if (label_rank >= parts)
        return fs_cli_usage_error(cmd, "--label-rank %ld must be below --parts %ld", label_rank, parts);
    fs_dataset *src = NULL;
    if (fs_dataset_read(input, FS_PART_TRAIN, &src) != FS_OK)
        return fs_cli_fail(cmd, "%s", fs_errmsg());
    int status = 0;
    size_t *order = NULL;
    if (src->labels_absent) {
        status = fs_cli_fail(cmd, "%s has no labels (attribute labels_absent): nothing to give "
                             "to --label-rank", input);
        goto out;
    }
    if (src->d < (size_t)parts) {
        status = fs_cli_fail(cmd, "%s has %zu features, fewer than %ld parts", input, src->d, parts);
        goto out;
    }
    if (mkdir_p(outdir) != 0) {
        status = fs_cli_fail(cmd, "cannot create %s: %s", outdir, strerror(errno));
        goto out;
    }
    order = malloc(src->n * sizeof *order);
    if (!order) { status = fs_cli_fail(cmd, "out of memory"); goto out; }
    /* Seeded Fisher-Yates (SplitMix64): a reproducible row order. */
    uint64_t s = (uint64_t)seed * 0x9e3779b97f4a7c15ULL + 0x5851f42d4c957f2dULL;
    for (size_t i = 0; i < src->n; i++) order[i] = i;
    for (size_t i = src->n; i > 1; i--) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        size_t j = (size_t)(z % i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    size_t ntest = (size_t)(test_fraction * (double)src->n + 0.5);   /* no libm in the CLI */
    if (ntest >= src->n) ntest = src->n - 1;
    size_t ntrain = src->n - ntest;
    for (long k = 0; k < parts && status == 0; k++) {
        size_t c0 = src->d * (size_t)k / (size_t)parts, c1 = src->d * (size_t)(k + 1) / (size_t)parts;
        for (int t = 0; t < 2 && status == 0; t++) {
            size_t nr = t == 0 ? ntrain : ntest;
            if (nr == 0) continue;
            fs_dataset *ds = NULL;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s-%ld.h5", outdir, t == 0 ? "part" : "test", k);
            if (cut(src, order + (t == 0 ? 0 : ntrain), nr, c0, c1, k == label_rank, (int)k,
                    (int)parts, &ds) != FS_OK || fs_dataset_write(ds, NULL, path) != FS_OK)
                status = fs_cli_fail(cmd, "%s", fs_errmsg());
            fs_dataset_destroy(&ds);
        }
        if (status == 0)
            printf("part %ld: columns %zu..%zu, %zu train rows, %zu test rows%s\n", k, c0, c1 - 1,
                   ntrain, ntest, k == label_rank ? ", labels" : "");
    }
out:
    free(order);
    fs_dataset_destroy(&src);
    return status;
}

int fs_cmd_vfl_split(int argc, char **argv)
{
    return fs_cmd_split_vertical("vfl-split", argc, argv);
}

// ---------------------------------------------------------------- vfl-train

static void train_usage(FILE *out)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo vfl-train --data 'DIR/part-%%d.h5' [OPTIONS]\n\n"
        "Vertical federated training: rank k reads its feature block from the --data\n"
        "pattern with %%d replaced by k; every part has the same rows in the same order\n"
        "(see 'fedsilo vfl-split' and 'fedsilo psi').  Only the label rank's labels are used.\n"
        "Partial scores are combined by a masked secure sum that only the label rank can\n"
        "open; residuals travel Paillier-encrypted; gradients return masked.\n\n"
        "  --data PATTERN        training part of each rank (required)\n"
        "  --test PATTERN        test part of each rank (same layout; optional)\n"
        "  --label-rank R        rank holding the labels (default: the institution with\n"
        "                        'role = label' in the --roster, else 0; if both are given\n"
        "                        they must agree)\n"
        "  --model M             logistic (default) or linear\n"
        "  --lr X                learning rate (default 0.1)\n"
        "  --l2 X                L2 penalty (default 0)\n"
        "  --epochs N            passes over the data (default 10)\n"
        "  --batch-size N        rows per minibatch (default 64)\n"
        "  --paillier-bits N     Paillier modulus size (default 2048; >= 512 for tests only)\n"
        "  --seed S              batch order seed (default 1)\n"
        "  --out DIR             write DIR/vfl-weights-<rank>.txt\n"
        "  --roster FILE --identity KEY   authenticate the secure sum (KEY may contain %%d)\n"
        "  --insecure-no-auth yes         run the secure sum without a roster\n"
        "  --quiet               only the final line\n");
}

static void print_epoch(int epoch, double loss, double metric, void *user)
{
    const fs_vfl_opts *o = user;
    if (cli_rank != 0) return;
    if (metric == metric)
        printf("epoch %d  train_loss %.5f  test_%s %.5f\n", epoch, loss,
               o->model == FS_VFL_LOGISTIC ? "accuracy" : "rmse", metric);
    else
        printf("epoch %d  train_loss %.5f\n", epoch, loss);
    fflush(stdout);
}

/* Read this rank's part; the label holder converts its labels to double. */
static fs_err load_part(const char *pattern, int rank, int is_label, fs_vfl_model model,
                        fs_dataset **ds, double **y)
{
    char path[4096];
    expand_rank(path, sizeof path, pattern, rank);
    fs_err rc = fs_dataset_read(path, FS_PART_TRAIN, ds);
    if (rc != FS_OK || !is_label) return rc;
    const fs_dataset *d = *ds;
    if (d->labels_absent || (d->provenance && strstr(d->provenance, "labels withheld")))
        return fs_error_set(FS_ERR_DATA, "%s has no labels (attribute labels_absent: imported "
                            "without --label, or a vfl-split part of another rank): check "
                            "--label-rank and the roster's role = label", path);
    if (model == FS_VFL_LOGISTIC && (d->task != FS_TASK_CLASSIFICATION || d->num_classes != 2))
        return fs_error_set(FS_ERR_DATA, "%s: logistic regression needs 2-class labels", path);
    if (model == FS_VFL_LINEAR && d->task != FS_TASK_REGRESSION)
        return fs_error_set(FS_ERR_DATA, "%s: linear regression needs regression targets", path);
    *y = malloc(d->n * sizeof **y);
    if (!*y) return fs_error_set(FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->n; i++)
        (*y)[i] = d->task == FS_TASK_CLASSIFICATION ? (double)d->y_class[i] : (double)d->y_reg[i];
    return FS_OK;
}

/*
 * The label rank from the roster's `role = label`, if the roster names one.
 * Not collective (the caller agrees on the result).  roster_path may be
 * NULL/"" (no roster: *label_rank is left alone).  When the roster names a
 * label holder, *label_rank becomes its rank and *from_roster 1, unless
 * `given` (--label-rank was passed) and the two differ: FS_ERR_ARG.
 * Returns FS_OK, FS_ERR_ARG, or fs_roster_load's error.
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

int fs_cmd_vfl_train(int argc, char **argv)
{
    fs_vfl_opts o;
    fs_vfl_opts_default(&o);
    const char *data = NULL, *testp = NULL, *outdir = NULL, *identity = NULL;
    int quiet = 0, label_rank_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { train_usage(stdout); return 0; }
        if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
        if (i + 1 >= argc) return fs_cli_usage_error("vfl-train", "option '%s' needs a value", a);
        const char *v = argv[++i];
        long lv;
        double dv;
        if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--test")) testp = v;
        else if (!strcmp(a, "--out")) outdir = v;
        else if (!strcmp(a, "--roster")) o.roster_path = v;
        else if (!strcmp(a, "--identity")) identity = v;
        else if (!strcmp(a, "--insecure-no-auth")) {
            if (strcmp(v, "yes") && strcmp(v, "no"))
                return fs_cli_usage_error("vfl-train", "--insecure-no-auth takes yes or no");
            o.allow_unauthenticated = !strcmp(v, "yes");
        } else if (!strcmp(a, "--model")) {
            if (!strcmp(v, "logistic")) o.model = FS_VFL_LOGISTIC;
            else if (!strcmp(v, "linear")) o.model = FS_VFL_LINEAR;
            else return fs_cli_usage_error("vfl-train", "--model must be logistic or linear");
        } else if (!strcmp(a, "--label-rank")) {
            if (parse_long(v, 0, 1 << 20, &lv)) return fs_cli_usage_error("vfl-train", "bad --label-rank '%s'", v);
            o.label_rank = (int)lv;
            label_rank_given = 1;
        } else if (!strcmp(a, "--epochs")) {
            if (parse_long(v, 1, 1000000, &lv)) return fs_cli_usage_error("vfl-train", "bad --epochs '%s'", v);
            o.epochs = (int)lv;
        } else if (!strcmp(a, "--batch-size")) {
            if (parse_long(v, 1, 1 << 20, &lv)) return fs_cli_usage_error("vfl-train", "bad --batch-size '%s'", v);
            o.batch_size = (size_t)lv;
        } else if (!strcmp(a, "--paillier-bits")) {
            if (parse_long(v, FS_PAILLIER_MIN_BITS, 8192, &lv) || lv % 2)
                return fs_cli_usage_error("vfl-train", "--paillier-bits must be even, %d..8192", FS_PAILLIER_MIN_BITS);
            o.paillier_bits = (int)lv;
        } else if (!strcmp(a, "--seed")) {
            if (parse_long(v, 0, 0x7fffffffL, &lv)) return fs_cli_usage_error("vfl-train", "bad --seed '%s'", v);
            o.seed = (uint64_t)lv;
        } else if (!strcmp(a, "--lr")) {
            if (parse_double(v, &dv) || dv <= 0) return fs_cli_usage_error("vfl-train", "--lr must be > 0");
            o.lr = dv;
        } else if (!strcmp(a, "--l2")) {
            if (parse_double(v, &dv) || dv < 0) return fs_cli_usage_error("vfl-train", "--l2 must be >= 0");
            o.l2 = dv;
        } else return fs_cli_usage_error("vfl-train", "unknown option '%s'", a);
    }
    if (!data) return fs_cli_usage_error("vfl-train", "--data PATTERN is required");

    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return fs_cli_fail("vfl-train", "MPI_Init failed");
    int size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &cli_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    fs_log_set_handler(log_with_rank, NULL, FS_LOG_WARN);
    char idpath[4096] = "";
    if (identity) expand_rank(idpath, sizeof idpath, identity, cli_rank);
    o.identity_path = idpath;

    fs_dataset *tr = NULL, *te = NULL;
    double *ytr = NULL, *yte = NULL, *w = NULL;
    fs_vfl_report rep;
    memset(&rep, 0, sizeof rep);
    int from_roster = 0;
    /* The roster may name the label holder (role = label); each rank reads
     * its own copy, and the outcome is agreed before anything depends on it. */
    fs_err local = roster_label_rank(o.roster_path, label_rank_given, &o.label_rank, &from_roster);
    fs_err rc = fs_agree(MPI_COMM_WORLD, local, NULL);   /* collective */
    int is_label = cli_rank == o.label_rank;
    local = FS_OK;
    if (rc == FS_OK) local = load_part(data, cli_rank, is_label, o.model, &tr, &ytr);
    if (rc == FS_OK && local == FS_OK && testp)
        local = load_part(testp, cli_rank, is_label, o.model, &te, &yte);
    if (rc == FS_OK && local == FS_OK && !(w = calloc(tr->d + 1, sizeof *w)))
        local = fs_error_set(FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK) rc = fs_agree(MPI_COMM_WORLD, local, NULL);   /* collective */
    if (rc == FS_OK) {
        if (cli_rank == 0 && !quiet) {
            printf("fedsilo vfl-train: %d ranks, %zu rows, model %s, labels on rank %d%s, "
                   "Paillier %d bits\n", size, tr->n, o.model == FS_VFL_LOGISTIC ? "logistic" : "linear",
                   o.label_rank, from_roster ? " (roster role = label)" : "", o.paillier_bits);
            fflush(stdout);
        }
        fs_vfl_part ptr = { tr->X, ytr, tr->n, tr->d }, pte = { NULL, NULL, 0, 0 };
        if (te) { pte.X = te->X; pte.y = yte; pte.n = te->n; pte.d = te->d; }
        rc = fs_vfl_train(MPI_COMM_WORLD, &o, &ptr, te ? &pte : NULL, w, &rep,
                          quiet ? NULL : print_epoch, &o);
    }
    if (rc == FS_OK && outdir) {
        char path[4096];
        local = FS_OK;
        snprintf(path, sizeof path, "%s/vfl-weights-%d.txt", outdir, cli_rank);
        FILE *f = NULL;
        if (mkdir_p(outdir) != 0 || !(f = fopen(path, "w"))) {
            local = fs_error_set(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        } else {
            fprintf(f, "# fedsilo vfl weights: rank %d, %zu features%s\n", cli_rank, tr->d,
                    is_label ? ", last line = bias" : "");
            for (size_t j = 0; j < tr->d + (is_label ? 1 : 0); j++) fprintf(f, "%.17g\n", w[j]);
            if (fclose(f) != 0) local = fs_error_set(FS_ERR_IO, "cannot write %s", path);
        }
        rc = fs_agree(MPI_COMM_WORLD, local, NULL);
    }
    if (rc == FS_OK) {
        unsigned long long cnt[3] = { rep.n_encrypt, rep.n_decrypt, rep.n_scalar_mul }, tot[3];
        double pt = rep.paillier_seconds, ptmax = 0;
        MPI_Reduce(cnt, tot, 3, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Reduce(&pt, &ptmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (cli_rank == 0) {
            printf("paillier: %llu encryptions, %llu decryptions, %llu scalar multiplications; "
                   "max per-rank Paillier time %.2f s of %.2f s\n", tot[0], tot[1], tot[2], ptmax,
                   rep.seconds);
            if (rep.test_metric == rep.test_metric)
                printf("final: train_loss %.6f  test_%s %.6f\n", rep.train_loss,
                       o.model == FS_VFL_LOGISTIC ? "accuracy" : "rmse", rep.test_metric);
            else
                printf("final: train_loss %.6f\n", rep.train_loss);
        }
    } else if (cli_rank == 0) {
        fs_cli_fail("vfl-train", "%s", fs_errmsg());
    }
    fflush(stdout);
    free(w); free(ytr); free(yte);
    fs_dataset_destroy(&tr);
    fs_dataset_destroy(&te);
    if (rc == FS_ERR_MPI) MPI_Abort(MPI_COMM_WORLD, FS_EXIT_FAIL);
    MPI_Finalize();
    return rc == FS_OK ? FS_EXIT_OK : rc == FS_ERR_ARG ? FS_EXIT_USAGE : FS_EXIT_FAIL;
}

// ---------------------------------------------------------------- psi

static void psi_usage(FILE *out)
{
    fprintf(out,
        "Usage: mpirun -np N fedsilo psi --ids 'DIR/ids-%%d.txt' --out 'DIR/aligned-%%d.csv'\n"
        "                               [--header] AUTH\n"
        "       mpirun -np N fedsilo psi --data 'DIR/site-%%d.h5' --out 'DIR/aligned-%%d.h5' AUTH\n"
        "  AUTH: --roster FILE --identity 'KEYS/site-%%d.key'  |  --insecure-no-auth yes\n\n"
        "Private set intersection of record ids: rank k reads its ids (%%d = k), finds the\n"
        "ids that EVERY rank holds, and writes its part of them in the same order on every\n"
        "rank (sorted by the id bytes): row t of every output names the same id.\n"
        "Released: every rank's number of ids and the intersection, to every rank; an\n"
        "observer of the MPI transport sees the numbers of ids and the intersection's\n"
        "size.  Nothing else for honest-but-curious ranks (DDH on ristretto255): no rank\n"
        "learns whether another particular rank holds one of its ids outside the\n"
        "intersection, nor partial-intersection sizes.  Colluding ranks can learn\n"
        "partial-intersection sizes; a deviating rank can probe ids it adds or shrink\n"
        "the result.\n"
        "See docs/vertical.md.\n\n"
        "  --ids PATTERN   text/CSV id files: one id per line (the first comma-separated\n"
        "                  column; blanks around it ignored; empty lines skipped); --out\n"
        "                  gets 'row,id' lines (row = 0-based data line number)\n"
        "  --header        skip the first line of each id file (--ids only)\n"
        "  --data PATTERN  fedsilo datasets with record ids (the /ids dataset written by\n"
        "                  'fedsilo import csv --id-column'); --out gets a dataset with\n"
        "                  only the common rows, reordered into the common order (features,\n"
        "                  labels, ids, names and attributes kept; /validation dropped)\n"
        "  --out PATTERN   output of rank k (%%d = k)\n"
        "  --roster FILE --identity KEY   authenticate the key setup (KEY may contain %%d)\n"
        "  --insecure-no-auth yes         run without a roster (unauthenticated: a man in\n"
        "                  the middle on the transport could impersonate ranks)\n"
        "  --threads N     threads per rank for the group operations (default: the\n"
        "                  node's CPUs divided by its ranks, rounded up)\n");
}

static int read_ids(const char *path, int header, char ***ids_out, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0, n = 0, ncap = 0;
    char **ids = NULL;
    ssize_t len;
    int first = 1;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (first && header) { first = 0; continue; }
        first = 0;
        char *s = line, *e;
        while (*s == ' ' || *s == '\t') s++;
        e = s + strcspn(s, ",\r\n");
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        *e = 0;
        if (!*s) continue;
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 1024;
            char **t = realloc(ids, ncap * sizeof *ids);
            if (!t) break;
            ids = t;
        }
        ids[n++] = strdup(s);
    }
    free(line);
    fclose(f);
    *ids_out = ids;
    *n_out = n;
    return 0;
}

/* Write the aligned part: rows idx[0..m) of ds, in that order, to path.
 * Not collective. */
static fs_err write_aligned(const fs_dataset *ds, const size_t *idx, size_t m, int nranks,
                            const char *path)
{
    fs_dataset *al = NULL;
    char *prov = NULL;
    fs_err rc = fs_dataset_subset(ds, idx, m, 0, ds->d, &al);
    if (rc != FS_OK) return rc;
    const char *old = ds->provenance ? ds->provenance : "";
    if (asprintf(&prov, "%s%spsi: %zu of %zu rows in the intersection of %d ranks, in the common "
                 "order", old, old[0] ? "; " : "", m, ds->n, nranks) < 0) {
        fs_dataset_destroy(&al);
        return fs_error_set(FS_ERR_NOMEM, "out of memory");
    }
    free(al->provenance);
    al->provenance = prov;
    rc = fs_dataset_write(al, NULL, path);
    fs_dataset_destroy(&al);
    return rc;
}

int fs_cmd_psi(int argc, char **argv)
{
    const char *idp = NULL, *datap = NULL, *outp = NULL, *identity = NULL;
    int header = 0;
    fs_psi_opts po;
    fs_psi_opts_default(&po);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { psi_usage(stdout); return 0; }
        if (!strcmp(a, "--header")) { header = 1; continue; }
        if (i + 1 >= argc) return fs_cli_usage_error("psi", "option '%s' needs a value", a);
        const char *v = argv[++i];
        long lv;
        if (!strcmp(a, "--ids")) idp = v;
        else if (!strcmp(a, "--data")) datap = v;
        else if (!strcmp(a, "--out")) outp = v;
        else if (!strcmp(a, "--roster")) po.roster_path = v;
        else if (!strcmp(a, "--identity")) identity = v;
        else if (!strcmp(a, "--insecure-no-auth")) {
            if (strcmp(v, "yes") && strcmp(v, "no"))
                return fs_cli_usage_error("psi", "--insecure-no-auth takes yes or no");
            po.allow_unauthenticated = !strcmp(v, "yes");
        } else if (!strcmp(a, "--threads")) {
            if (parse_long(v, 1, 64, &lv)) return fs_cli_usage_error("psi", "--threads must be 1..64");
            po.threads = (int)lv;
        } else return fs_cli_usage_error("psi", "unknown option '%s'", a);
    }
    if ((!idp && !datap) || !outp)
        return fs_cli_usage_error("psi", "--out and one of --ids and --data are required");
    if (idp && datap) return fs_cli_usage_error("psi", "give --ids or --data, not both");
    if (datap && header) return fs_cli_usage_error("psi", "--header is for --ids files");
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return fs_cli_fail("psi", "MPI_Init failed");
    int size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &cli_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    fs_log_set_handler(log_with_rank, NULL, FS_LOG_WARN);
    char path[4096], opath[4096], idpath[4096] = "";
    expand_rank(path, sizeof path, idp ? idp : datap, cli_rank);
    expand_rank(opath, sizeof opath, outp, cli_rank);
    if (identity) expand_rank(idpath, sizeof idpath, identity, cli_rank);
    po.identity_path = idpath;
    char **ids = NULL;                 /* --ids: (n) ids read from the file */
    fs_dataset *ds = NULL;             /* --data: the dataset; ids are ds->ids */
    size_t n = 0, *idx = NULL, m = 0;
    fs_err local = FS_OK;
    if (idp) {
        if (read_ids(path, header, &ids, &n) != 0)
            local = fs_error_set(FS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    } else {
        local = fs_dataset_read(path, FS_PART_TRAIN, &ds);
        if (local == FS_OK && !ds->ids)
            local = fs_error_set(FS_ERR_DATA, "%s has no record ids (/ids): import it with "
                                 "'fedsilo import csv --id-column COLUMN'", path);
        if (local == FS_OK) n = ds->n;
    }
    fs_err rc = fs_agree(MPI_COMM_WORLD, local, NULL);   /* collective */
    const char *const *keys = (const char *const *)(ds ? ds->ids : ids);
    double t0 = MPI_Wtime();
    if (rc == FS_OK) rc = fs_psi_intersect(MPI_COMM_WORLD, &po, keys, n, &idx, &m, NULL);
    double dt = MPI_Wtime() - t0;
    /* m is the same on every rank, so this error is collective already. */
    if (rc == FS_OK && ds && m == 0)
        rc = fs_error_set(FS_ERR_DATA, "the intersection of the %d ranks' ids is empty: no "
                          "aligned dataset to write", size);
    if (rc == FS_OK) {
        local = FS_OK;
        if (ds) {
            local = write_aligned(ds, idx, m, size, opath);
        } else {
            FILE *f = fopen(opath, "w");
            if (!f) local = fs_error_set(FS_ERR_IO, "cannot write %s: %s", opath, strerror(errno));
            else {
                fprintf(f, "row,id\n");
                for (size_t t = 0; t < m; t++) fprintf(f, "%zu,%s\n", idx[t], ids[idx[t]]);
                if (fclose(f) != 0) local = fs_error_set(FS_ERR_IO, "cannot write %s", opath);
            }
        }
        rc = fs_agree(MPI_COMM_WORLD, local, NULL);   /* collective */
    }
    if (rc == FS_OK && cli_rank == 0) {
        if (ds)
            printf("psi: %d ranks, intersection %zu rows, %.3f s; wrote %s (rank 0; one "
                   "aligned part per rank)\n", size, m, dt, opath);
        else
            printf("psi: %d ranks, intersection %zu rows (rank 0 holds %zu ids), %.3f s\n", size,
                   m, n, dt);
    } else if (rc != FS_OK && cli_rank == 0) {
        fs_cli_fail("psi", "%s", fs_errmsg());
    }
    for (size_t i = 0; ids && i < n; i++) free(ids[i]);
    free(ids);
    free(idx);
    fs_dataset_destroy(&ds);
    fflush(stdout);
    if (rc == FS_ERR_MPI) MPI_Abort(MPI_COMM_WORLD, FS_EXIT_FAIL);
    MPI_Finalize();
    return rc == FS_OK ? FS_EXIT_OK : rc == FS_ERR_ARG ? FS_EXIT_USAGE : FS_EXIT_FAIL;
}

/*
 * cmd_data.c - the data subcommands of the fedsilo tool: import, split and
 * inspect.
 *
 * CLI layer: parses argv with getopt_long, calls the public data API
 * (fs_import_*, fs_dataset_write, fs_split_write, fs_dataset_inspect),
 * prints one summary to stdout on success and the library's message to
 * stderr on failure.  None of these subcommands use MPI.
 *
 *   fedsilo import idx --images FILE --labels FILE [--limit N] --out FILE.h5
 *   fedsilo import csv --input FILE [--label COLUMN] [--id-column COLUMN]
 *                      [--task classification|regression] [--delimiter C] --out FILE.h5
 *   fedsilo import csv --input FILE --schema SCHEMA.ini [--delimiter C] --out FILE.h5
 *   fedsilo split --input FILE.h5 --silos N [--method iid|dirichlet|quantity]
 *                 [--alpha A] [--seed S] [--val-fraction F] [--min-rows N] --outdir DIR
 *   fedsilo split --vertical ...   (vertical FL; also `fedsilo vfl-split`)
 *   fedsilo inspect FILE.h5
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fedsilo.h>
#include "cli.h"
#include "progress.h"

// ---------------------------------------------------------------- import

static void import_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo import idx --images FILE --labels FILE [--limit N] --out FILE.h5\n"
        "       fedsilo import csv --input FILE --label COLUMN [--id-column COLUMN]\n"
        "                          [--task classification|regression] --out FILE.h5\n"
        "       fedsilo import csv --input FILE --id-column COLUMN --out FILE.h5\n"
        "       fedsilo import csv --input FILE --schema SCHEMA.ini --out FILE.h5\n"
        "Convert a dataset to the fedsilo HDF5 layout (see docs/formats.md).\n\n"
        "idx (MNIST / Fashion-MNIST; gzipped or plain):\n"
        "  --images FILE   idx3-ubyte image file [n, rows, cols]; pixels scaled to [0, 1]\n"
        "  --labels FILE   idx1-ubyte label file [n]\n"
        "  --limit N       keep only the first N rows (default: all)\n"
        "csv (header row required; RFC 4180 quoting):\n"
        "  --input FILE    CSV file; without --schema every column except the label (and\n"
        "                  the id column) must be numeric\n"
        "  --schema FILE   consortium schema (docs/formats.md; draft one with 'fedsilo\n"
        "                  schema draft'): columns matched by name in any order, text\n"
        "                  categories one-hot encoded, missing cells stored as NaN (not\n"
        "                  imputed), labels in the schema's class order; the schema and\n"
        "                  its hash are stored in the file.  The label, id column and task\n"
        "                  come from the schema (no --label/--id-column/--task)\n"
        "  --delimiter C   field delimiter: ',' (default), ';', tab, '|' (or the words\n"
        "                  comma, semicolon, tab, pipe)\n"
        "  --label COLUMN  name of the label/target column (optional with --id-column:\n"
        "                  a feature-only party of vertical FL; labels stored as zeros\n"
        "                  and marked absent)\n"
        "  --id-column COLUMN  record-id column (any text without commas; unique, non-empty)\n"
        "                  stored as the /ids dataset, not a feature; used by 'fedsilo psi --data'\n"
        "  --task T        classification (default) or regression\n"
        "common:\n"
        "  --out FILE.h5   output file (written atomically)\n"
        "  -h, --help      show this help\n");
}

/* Print the one-line import summary for ds written to path. */
static void import_summary(const fs_dataset *ds, const char *path)
{
    if (ds->labels_absent)
        printf("imported %zu rows x %zu features%s, no labels -> %s\n", ds->n, ds->d,
               ds->ids ? " with ids" : "", path);
    else if (ds->task == FS_TASK_CLASSIFICATION)
        printf("imported %zu rows x %zu features, %d classes -> %s\n", ds->n, ds->d,
               ds->num_classes, path);
    else
        printf("imported %zu rows x %zu features, regression -> %s\n", ds->n, ds->d, path);
}

int fs_cmd_import(int argc, char **argv)
{
    static const char *cmd = "import";
    enum { O_IMAGES = 256, O_LABELS, O_LIMIT, O_OUT, O_INPUT, O_LABEL, O_TASK, O_IDCOL, O_SCHEMA,
           O_DELIM };
    static const struct option longopts[] = {
        { "images", required_argument, NULL, O_IMAGES },
        { "labels", required_argument, NULL, O_LABELS },
        { "limit", required_argument, NULL, O_LIMIT },
        { "out", required_argument, NULL, O_OUT },
        { "input", required_argument, NULL, O_INPUT },
        { "label", required_argument, NULL, O_LABEL },
        { "task", required_argument, NULL, O_TASK },
        { "id-column", required_argument, NULL, O_IDCOL },
        { "schema", required_argument, NULL, O_SCHEMA },
        { "delimiter", required_argument, NULL, O_DELIM },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *images = NULL, *labels = NULL, *out = NULL, *input = NULL, *label = NULL,
               *idcol = NULL, *schema = NULL;
    char delim = ',';
    int have_task = 0, have_delim = 0;
    uint64_t limit = 0;
    fs_task task = FS_TASK_CLASSIFICATION;
    fs_dataset *ds = NULL;
    int status = FS_EXIT_OK, c;
    cli_progress *pg = NULL;   /* a bar on a terminal, plain lines in logs */

    if (argc < 2) return fs_cli_usage_error(cmd, "missing format: 'idx' or 'csv'");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        import_usage(stdout);
        return FS_EXIT_OK;
    }
    const char *fmt = argv[1];
    int is_idx = !strcmp(fmt, "idx"), is_csv = !strcmp(fmt, "csv");
    if (!is_idx && !is_csv)
        return fs_cli_usage_error(cmd, "unknown format '%s' (expected 'idx' or 'csv')", fmt);

    argc--;
    argv++;
    fs_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': import_usage(stdout); return FS_EXIT_OK;
        case O_IMAGES: images = optarg; break;
        case O_LABELS: labels = optarg; break;
        case O_OUT: out = optarg; break;
        case O_INPUT: input = optarg; break;
        case O_LABEL: label = optarg; break;
        case O_IDCOL: idcol = optarg; break;
        case O_SCHEMA: schema = optarg; break;
        case O_DELIM:
            if (fs_cli_delimiter(cmd, optarg, &delim) != FS_EXIT_OK) return FS_EXIT_USAGE;
            have_delim = 1;
            break;
        case O_LIMIT:
            if (fs_cli_parse_u64(optarg, &limit) != 0 || limit > SIZE_MAX)
                return fs_cli_usage_error(cmd, "--limit needs a non-negative integer, got '%s'",
                                          optarg);
            break;
        case O_TASK:
            if (!strcmp(optarg, "classification")) task = FS_TASK_CLASSIFICATION;
            else if (!strcmp(optarg, "regression")) task = FS_TASK_REGRESSION;
            else return fs_cli_usage_error(cmd, "--task must be 'classification' or "
                                           "'regression', got '%s'", optarg);
            have_task = 1;
            break;
        default: return fs_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc) return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!out) return fs_cli_usage_error(cmd, "--out FILE.h5 is required");
    if (is_idx) {
        if (input || label || idcol || schema || have_delim)
            return fs_cli_usage_error(cmd, "--input/--label/--id-column/--schema/--delimiter "
                                      "are for 'import csv'");
        if (!images || !labels)
            return fs_cli_usage_error(cmd, "import idx needs --images FILE and --labels FILE");
        pg = cli_progress_begin(cmd, 2, "steps");
        cli_progress_phase(pg, 0, "reading %s", images);
        if (fs_import_idx(images, labels, (size_t)limit, &ds) != FS_OK) goto fail;
    } else {
        if (images || labels || limit)
            return fs_cli_usage_error(cmd, "--images/--labels/--limit are for 'import idx'");
        if (schema) {
            if (!input) return fs_cli_usage_error(cmd, "import csv needs --input FILE");
            if (label || idcol || have_task)
                return fs_cli_usage_error(cmd, "--label, --id-column and --task come from the "
                                          "schema with --schema");
            pg = cli_progress_begin(cmd, 2, "steps");
            cli_progress_phase(pg, 0, "reading %s with schema %s", input, schema);
            if (fs_cli_import_schema(input, schema, delim, &ds) != FS_OK) goto fail;
            goto write;
        }
        if (!input || (!label && !idcol))
            return fs_cli_usage_error(cmd, "import csv needs --input FILE and --label COLUMN "
                                      "(--label may be left out with --id-column)");
        if (label && idcol && !strcmp(label, idcol))
            return fs_cli_usage_error(cmd, "--label and --id-column name the same column '%s'",
                                      label);
        fs_csv_opts co;
        fs_csv_opts_default(&co);
        co.label_column = label;
        co.id_column = idcol;
        co.task = task;
        co.delimiter = delim;
        pg = cli_progress_begin(cmd, 2, "steps");
        cli_progress_phase(pg, 0, "reading %s", input);
        if (fs_import_csv_ex(input, &co, &ds) != FS_OK) goto fail;
    }
write:
    cli_progress_phase(pg, 1, "writing %zu rows to %s", ds->n, out);
    if (fs_dataset_write(ds, NULL, out) != FS_OK) goto fail;
    cli_progress_end(&pg, 1);
    if (schema) fs_cli_import_schema_summary(ds, out);
    else import_summary(ds, out);
    goto done;
fail:
    cli_progress_end(&pg, 0);   /* the error goes on a clean line */
    status = fs_cli_fail(cmd, "%s", fs_errmsg());
done:
    cli_progress_end(&pg, status == FS_EXIT_OK);
    fs_dataset_destroy(&ds);
    return status;
}

// ---------------------------------------------------------------- split --vertical

static void vsplit_usage(FILE *out, const char *cmd)
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

/* The vertical split behind both `vfl-split` and `split --vertical`: cmd
 * names the command in messages and help; `--vertical` is accepted and
 * ignored. */
static int split_vertical(const char *cmd, int argc, char **argv)
{
    const char *input = NULL, *outdir = NULL;
    long parts = 0, label_rank = -1, seed = 1;
    fs_vsplit_opts vo;
    fs_vsplit_opts_default(&vo);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { vsplit_usage(stdout, cmd); return 0; }
        if (!strcmp(a, "--vertical")) continue;
        if (i + 1 >= argc) return fs_cli_usage_error(cmd, "unexpected argument '%s'", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--outdir")) outdir = v;
        else if (!strcmp(a, "--parts")) {
            if (fs_cli_parse_long(v, 1, 1024, &parts)) return fs_cli_usage_error(cmd, "--parts must be 1..1024");
        } else if (!strcmp(a, "--label-rank")) {
            if (fs_cli_parse_long(v, 0, 1023, &label_rank)) return fs_cli_usage_error(cmd, "bad --label-rank '%s'", v);
        } else if (!strcmp(a, "--seed")) {
            if (fs_cli_parse_long(v, 0, 0x7fffffffL, &seed)) return fs_cli_usage_error(cmd, "bad --seed '%s'", v);
        } else if (!strcmp(a, "--test-fraction")) {
            if (fs_cli_parse_double(v, &vo.test_fraction) || vo.test_fraction < 0 || vo.test_fraction >= 1)
                return fs_cli_usage_error(cmd, "--test-fraction must be in [0, 1)");
        } else return fs_cli_usage_error(cmd, "unknown option '%s'", a);
    }
    if (!input || !outdir || parts < 1 || label_rank < 0)
        return fs_cli_usage_error(cmd, "--input, --outdir, --parts and --label-rank are required");
    if (label_rank >= parts)
        return fs_cli_usage_error(cmd, "--label-rank %ld must be below --parts %ld", label_rank, parts);
    vo.parts = (int)parts;
    vo.label_rank = (int)label_rank;
    vo.seed = (uint64_t)seed;
    fs_dataset *src = NULL;
    fs_vsplit_part *info = NULL;
    int status = 0;
    if (fs_dataset_read(input, FS_PART_TRAIN, &src) != FS_OK ||
        !(info = calloc((size_t)parts, sizeof *info)) ||
        fs_split_vertical(src, input, &vo, outdir, info) != FS_OK) {
        status = fs_cli_fail(cmd, "%s", info || !src ? fs_errmsg() : "out of memory");
    } else {
        for (long k = 0; k < parts; k++)
            printf("part %ld: columns %zu..%zu, %zu train rows, %zu test rows%s\n", k, info[k].c0,
                   info[k].c1 - 1, info[k].ntrain, info[k].ntest, k == label_rank ? ", labels" : "");
    }
    free(info);
    fs_dataset_destroy(&src);
    return status;
}

int fs_cmd_vfl_split(int argc, char **argv) { return split_vertical("vfl-split", argc, argv); }

// ---------------------------------------------------------------- split

static void split_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo split --input FILE.h5 --silos N [--method iid|dirichlet|quantity]\n"
        "                     [--alpha A] [--seed S] [--val-fraction F] [--min-rows N]\n"
        "                     --outdir DIR\n"
        "Partition a dataset into N institution shards DIR/site-<i>.h5 plus\n"
        "DIR/manifest.json.  The same input, options and seed give identical shards.\n"
        "Shards keep the feature and class names, the id column and the schema (and\n"
        "its missing cells, as NaN) of the input.\n\n"
        "  --input FILE.h5     dataset written by 'fedsilo import' (training part is split)\n"
        "  --silos N           number of institutions (shards), >= 1\n"
        "  --method M          iid (default): shuffle and deal evenly;\n"
        "                      dirichlet: label skew, per-class proportions ~ Dir(alpha);\n"
        "                      quantity: shard sizes ~ Dir(alpha), labels iid\n"
        "  --alpha A           Dirichlet concentration, > 0 (default 0.5; smaller = more skew)\n"
        "  --seed S            random seed (default 1)\n"
        "  --val-fraction F    fraction of each shard held out as /validation, in [0, 1)\n"
        "                      (default 0)\n"
        "  --min-rows N        minimum rows per shard (default 10)\n"
        "  --outdir DIR        output directory (created if missing)\n"
        "  -h, --help          show this help\n\n"
        "       fedsilo split --vertical --input FILE.h5 --parts N --label-rank R --outdir DIR\n"
        "                     [--test-fraction F] [--seed S]\n"
        "  --vertical          cut by feature columns for vertical FL instead (rows are kept,\n"
        "                      columns dealt to N parts; see 'fedsilo split --vertical --help')\n");
}

int fs_cmd_split(int argc, char **argv)
{
    static const char *cmd = "split";
    enum { O_INPUT = 256, O_SILOS, O_METHOD, O_ALPHA, O_SEED, O_VAL, O_MIN, O_OUTDIR };
    static const struct option longopts[] = {
        { "input", required_argument, NULL, O_INPUT },
        { "silos", required_argument, NULL, O_SILOS },
        { "method", required_argument, NULL, O_METHOD },
        { "alpha", required_argument, NULL, O_ALPHA },
        { "seed", required_argument, NULL, O_SEED },
        { "val-fraction", required_argument, NULL, O_VAL },
        { "min-rows", required_argument, NULL, O_MIN },
        { "outdir", required_argument, NULL, O_OUTDIR },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *methods[] = { "iid", "dirichlet", "quantity" };
    const char *input = NULL, *outdir = NULL;
    fs_split_opts o;
    fs_dataset *ds = NULL;
    int32_t *shard = NULL;
    uint8_t *is_val = NULL;
    size_t *rows = NULL;   /* (nsilos, 2): training and validation rows */
    uint64_t u;
    int status = FS_EXIT_OK, c, have_silos = 0;
    cli_progress *pg = NULL;

    /* Vertical split: one implementation, shared with `fedsilo vfl-split`. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--vertical")) return split_vertical(cmd, argc, argv);

    fs_split_opts_default(&o);
    fs_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': split_usage(stdout); return FS_EXIT_OK;
        case O_INPUT: input = optarg; break;
        case O_OUTDIR: outdir = optarg; break;
        case O_SILOS:
            if (fs_cli_parse_u64(optarg, &u) != 0 || u < 1 || u > INT_MAX)
                return fs_cli_usage_error(cmd, "--silos needs an integer >= 1, got '%s'", optarg);
            o.nsilos = (int)u;
            have_silos = 1;
            break;
        case O_METHOD:
            if (!strcmp(optarg, "iid")) o.method = FS_SPLIT_IID;
            else if (!strcmp(optarg, "dirichlet")) o.method = FS_SPLIT_DIRICHLET;
            else if (!strcmp(optarg, "quantity")) o.method = FS_SPLIT_QUANTITY;
            else return fs_cli_usage_error(cmd, "--method must be iid, dirichlet or quantity, "
                                           "got '%s'", optarg);
            break;
        case O_ALPHA:
            if (fs_cli_parse_double(optarg, &o.alpha) != 0 || o.alpha <= 0)
                return fs_cli_usage_error(cmd, "--alpha needs a number > 0, got '%s'", optarg);
            break;
        case O_SEED:
            if (fs_cli_parse_u64(optarg, &o.seed) != 0)
                return fs_cli_usage_error(cmd, "--seed needs a non-negative integer, got '%s'",
                                          optarg);
            break;
        case O_VAL:
            if (fs_cli_parse_double(optarg, &o.val_fraction) != 0 || o.val_fraction < 0 ||
                o.val_fraction >= 1)
                return fs_cli_usage_error(cmd, "--val-fraction needs a number in [0, 1), got "
                                          "'%s'", optarg);
            break;
        case O_MIN:
            if (fs_cli_parse_u64(optarg, &u) != 0 || u > SIZE_MAX)
                return fs_cli_usage_error(cmd, "--min-rows needs a non-negative integer, got "
                                          "'%s'", optarg);
            o.min_rows = (size_t)u;
            break;
        default: return fs_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc) return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!input) return fs_cli_usage_error(cmd, "--input FILE.h5 is required");
    if (!have_silos) return fs_cli_usage_error(cmd, "--silos N is required");
    if (!outdir) return fs_cli_usage_error(cmd, "--outdir DIR is required");

    pg = cli_progress_begin(cmd, 3, "steps");
    cli_progress_phase(pg, 0, "reading %s", input);
    if (fs_dataset_read_ex(input, FS_PART_TRAIN, FS_READ_ALLOW_MISSING, &ds) != FS_OK) goto fail;
    cli_progress_phase(pg, 1, "writing %d shards of %zu rows to %s", o.nsilos, ds->n, outdir);
    if (fs_split_write(ds, &o, outdir) != FS_OK) goto fail;
    cli_progress_phase(pg, 2, "counting rows per shard");

    /* Per-shard sizes for the summary: the same deterministic assignment. */
    shard = malloc(ds->n * sizeof *shard);
    is_val = malloc(ds->n);
    rows = calloc((size_t)o.nsilos * 2, sizeof *rows);
    if (!shard || !is_val || !rows) {
        cli_progress_end(&pg, 0);
        status = fs_cli_fail(cmd, "out of memory");
        goto done;
    }
    if (fs_split_assign(ds, &o, shard, is_val) != FS_OK) goto fail;
    for (size_t i = 0; i < ds->n; i++) rows[(size_t)shard[i] * 2 + is_val[i]]++;
    cli_progress_end(&pg, 1);
    printf("split %zu rows of %s into %d shards (%s", ds->n, input, o.nsilos,
           methods[o.method]);
    if (o.method != FS_SPLIT_IID) printf(", alpha %g", o.alpha);
    printf(", seed %llu) -> %s/manifest.json\n", (unsigned long long)o.seed, outdir);
    for (int s = 0; s < o.nsilos; s++)
        printf("  %s/site-%d.h5: %zu rows, %zu validation\n", outdir, s, rows[2 * (size_t)s],
               rows[2 * (size_t)s + 1]);
    goto done;
fail:
    cli_progress_end(&pg, 0);   /* the error goes on a clean line */
    status = fs_cli_fail(cmd, "%s", fs_errmsg());
done:
    cli_progress_end(&pg, status == FS_EXIT_OK);
    free(rows);
    free(is_val);
    free(shard);
    fs_dataset_destroy(&ds);
    return status;
}

// ---------------------------------------------------------------- inspect

static void inspect_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo inspect FILE.h5\n"
        "Show the layout, class histogram (or target summary), feature ranges,\n"
        "attributes (schema hash, id column), missing values per feature and\n"
        "validation part of a fedsilo dataset file.\n\n"
        "  -h, --help   show this help\n");
}

int fs_cmd_inspect(int argc, char **argv)
{
    static const char *cmd = "inspect";
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    fs_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': inspect_usage(stdout); return FS_EXIT_OK;
        default: return fs_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc) return fs_cli_usage_error(cmd, "missing FILE.h5");
    if (optind + 1 < argc)
        return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (fs_dataset_inspect(argv[optind], stdout) != FS_OK)
        return fs_cli_fail(cmd, "%s", fs_errmsg());
    if (fflush(stdout) != 0) return fs_cli_fail(cmd, "cannot write to stdout");
    return FS_EXIT_OK;
}

/*
 * cmd_schema.c - the consortium-schema subcommands of the fedsilo tool and
 * the schema path of `import csv` (docs/formats.md, "Consortium schema";
 * docs/tables.md).
 *
 * CLI layer: getopt_long, calls into fedsilo/fs_schema.h, one summary or
 * report on stdout, the library's message on stderr.  No MPI.
 *
 *   fedsilo schema draft --input FILE.csv --label COLUMN [--id-column C]
 *                        [--delimiter C] [--max-categories N]
 *                        [--max-numeric-classes N] --out SCHEMA.ini
 *   fedsilo schema check --input FILE.csv --schema SCHEMA.ini [--delimiter C]
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

int fs_cli_delimiter(const char *cmd, const char *arg, char *out)
{
    if (fs_csv_delimiter_parse(arg, out) != FS_OK)
        return fs_cli_usage_error(cmd, "--delimiter: %s", fs_errmsg());
    return FS_EXIT_OK;
}

fs_err fs_cli_import_schema(const char *input, const char *schema_path, char delim,
                            fs_dataset **out)
{
    fs_schema *s = NULL;
    fs_err rc = fs_schema_load(schema_path, &s);
    if (rc == FS_OK) rc = fs_import_csv_schema(input, s, delim, out);
    fs_schema_destroy(&s);
    return rc;
}

void fs_cli_import_schema_summary(const fs_dataset *ds, const char *path)
{
    size_t missing = 0;
    if (fs_dataset_count_missing(ds, NULL, &missing) != FS_OK) missing = 0;
    printf("imported %zu rows x %zu features", ds->n, ds->d);
    if (ds->labels_absent) printf(", no labels");
    else if (ds->task == FS_TASK_CLASSIFICATION) printf(", %d classes", ds->num_classes);
    else printf(", regression");
    if (ds->ids) printf(", ids from '%s'", ds->id_column ? ds->id_column : "?");
    printf(", %zu missing values in /X (NaN, not imputed) -> %s\n", missing, path);
    printf("schema %s\n", ds->schema_hash ? ds->schema_hash : "?");
}

// ---------------------------------------------------------------- draft

static void draft_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo schema draft --input FILE.csv --label COLUMN [--id-column COLUMN]\n"
        "                            [--delimiter C] [--max-categories N]\n"
        "                            [--max-numeric-classes N] --out SCHEMA.ini\n"
        "Draft a consortium schema from this institution's CSV file, for people to review\n"
        "and merge with the other institutions' drafts (docs/tables.md).  Kinds are\n"
        "inferred: numeric when every cell that is not a missing token is a number,\n"
        "otherwise categorical with the sorted values seen (ignore when there are more\n"
        "than --max-categories); the label's classes are sorted.  Comments explain each\n"
        "choice.  Lines marked 'private' describe this site's data (observed ranges,\n"
        "missing counts, rare categories): delete them before the file leaves the site.\n\n"
        "  --input FILE.csv        this institution's table (header row required)\n"
        "  --label COLUMN          the label/target column\n"
        "  --id-column COLUMN      record-id column (kind = id; vertical FL), optional\n"
        "  --delimiter C           ',' (default), ';', tab, '|' (or comma, semicolon, tab, pipe)\n"
        "  --max-categories N      text columns with more distinct values are drafted as\n"
        "                          ignore (default 50)\n"
        "  --max-numeric-classes N a numeric label with at most N distinct values is drafted\n"
        "                          as classification, otherwise regression (default 10)\n"
        "  --out SCHEMA.ini        the draft (written atomically; a valid schema)\n"
        "  -h, --help              show this help\n");
}

/* Print what a drafted schema holds. */
static void draft_summary(const fs_schema *s, const char *input, const char *out)
{
    size_t count[5] = { 0 };
    for (size_t i = 0; i < fs_schema_num_columns(s); i++)
        count[fs_schema_column_at(s, i)->kind]++;
    printf("drafted %s from %s: %zu columns (%zu numeric, %zu categorical, %zu ignored%s) -> "
           "%zu features", out, input, fs_schema_num_columns(s), count[FS_COLUMN_NUMERIC],
           count[FS_COLUMN_CATEGORICAL], count[FS_COLUMN_IGNORE],
           count[FS_COLUMN_ID] ? ", 1 id" : "", fs_schema_num_features(s));
    if (fs_schema_task(s) == FS_TASK_REGRESSION) printf(", regression label\n");
    else printf(", %d classes\n", fs_schema_num_classes(s));
    printf("review it before sharing: lines marked 'private' describe this site's data\n");
}

static int cmd_draft(int argc, char **argv)
{
    static const char *cmd = "schema draft";
    enum { O_INPUT = 256, O_LABEL, O_IDCOL, O_DELIM, O_MAXCAT, O_MAXCLS, O_OUT };
    static const struct option longopts[] = {
        { "input", required_argument, NULL, O_INPUT },
        { "label", required_argument, NULL, O_LABEL },
        { "id-column", required_argument, NULL, O_IDCOL },
        { "delimiter", required_argument, NULL, O_DELIM },
        { "max-categories", required_argument, NULL, O_MAXCAT },
        { "max-numeric-classes", required_argument, NULL, O_MAXCLS },
        { "out", required_argument, NULL, O_OUT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *input = NULL, *out = NULL;
    fs_schema_draft_opts o;
    fs_schema *s = NULL;
    uint64_t u;
    int c;

    fs_schema_draft_opts_default(&o);
    fs_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': draft_usage(stdout); return FS_EXIT_OK;
        case O_INPUT: input = optarg; break;
        case O_LABEL: o.label_column = optarg; break;
        case O_IDCOL: o.id_column = optarg; break;
        case O_OUT: out = optarg; break;
        case O_DELIM:
            if (fs_cli_delimiter(cmd, optarg, &o.delimiter) != FS_EXIT_OK) return FS_EXIT_USAGE;
            break;
        case O_MAXCAT:
        case O_MAXCLS:
            if (fs_cli_parse_u64(optarg, &u) != 0 || u < 1 || u > 1000000)
                return fs_cli_usage_error(cmd, "--%s needs an integer in [1, 1000000], got '%s'",
                                          c == O_MAXCAT ? "max-categories"
                                                        : "max-numeric-classes", optarg);
            if (c == O_MAXCAT) o.max_categories = (size_t)u;
            else o.max_numeric_classes = (size_t)u;
            break;
        default: return fs_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc) return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!input) return fs_cli_usage_error(cmd, "--input FILE.csv is required");
    if (!o.label_column) return fs_cli_usage_error(cmd, "--label COLUMN is required");
    if (!out) return fs_cli_usage_error(cmd, "--out SCHEMA.ini is required");
    if (o.id_column && !strcmp(o.id_column, o.label_column))
        return fs_cli_usage_error(cmd, "--label and --id-column name the same column '%s'",
                                  o.label_column);
    if (fs_schema_draft(input, &o, out) != FS_OK || fs_schema_load(out, &s) != FS_OK)
        return fs_cli_fail(cmd, "%s", fs_errmsg());
    draft_summary(s, input, out);
    fs_schema_destroy(&s);
    return FS_EXIT_OK;
}

// ---------------------------------------------------------------- check

static void check_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo schema check --input FILE.csv --schema SCHEMA.ini [--delimiter C]\n"
        "Compare a CSV file with the consortium schema and report every mismatch, one\n"
        "line each: missing, extra and duplicate columns; unknown categories, labels\n"
        "outside the classes, non-numeric cells, values out of range and forbidden\n"
        "missing cells, each distinct value with its count and first row.  The report\n"
        "quotes this site's cells: it is for this site's operator.\n"
        "Exit status: 0 the file matches (import csv --schema will accept it), 1 it does\n"
        "not (or cannot be read), 2 usage error.\n\n"
        "  --input FILE.csv     the table to check (header row required)\n"
        "  --schema SCHEMA.ini  the agreed consortium schema\n"
        "  --delimiter C        ',' (default), ';', tab, '|' (or comma, semicolon, tab, pipe)\n"
        "  -h, --help           show this help\n");
}

static int cmd_check(int argc, char **argv)
{
    static const char *cmd = "schema check";
    enum { O_INPUT = 256, O_SCHEMA, O_DELIM };
    static const struct option longopts[] = {
        { "input", required_argument, NULL, O_INPUT },
        { "schema", required_argument, NULL, O_SCHEMA },
        { "delimiter", required_argument, NULL, O_DELIM },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *input = NULL, *schema = NULL;
    char delim = ',';
    fs_schema *s = NULL;
    size_t problems = 0;
    int c, status;

    fs_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': check_usage(stdout); return FS_EXIT_OK;
        case O_INPUT: input = optarg; break;
        case O_SCHEMA: schema = optarg; break;
        case O_DELIM:
            if (fs_cli_delimiter(cmd, optarg, &delim) != FS_EXIT_OK) return FS_EXIT_USAGE;
            break;
        default: return fs_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc) return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!input) return fs_cli_usage_error(cmd, "--input FILE.csv is required");
    if (!schema) return fs_cli_usage_error(cmd, "--schema SCHEMA.ini is required");
    if (fs_schema_load(schema, &s) != FS_OK ||
        fs_schema_check(input, s, delim, stdout, &problems) != FS_OK) {
        fflush(stdout);
        status = fs_cli_fail(cmd, "%s", fs_errmsg());
    } else {
        status = problems ? FS_EXIT_FAIL : FS_EXIT_OK;
    }
    fs_schema_destroy(&s);
    if (fflush(stdout) != 0) return fs_cli_fail(cmd, "cannot write to stdout");
    return status;
}

// ---------------------------------------------------------------- dispatch

static void schema_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo schema draft --input FILE.csv --label COLUMN --out SCHEMA.ini ...\n"
        "       fedsilo schema check --input FILE.csv --schema SCHEMA.ini ...\n"
        "The consortium schema (docs/formats.md) says what every column of the\n"
        "institutions' tables means; 'import csv --schema' encodes a table with it.\n"
        "  draft   draft a schema from this institution's file, to review and merge\n"
        "  check   report every mismatch between a file and the schema\n"
        "Run 'fedsilo schema draft --help' or 'fedsilo schema check --help' for the options.\n");
}

int fs_cmd_schema(int argc, char **argv)
{
    if (argc < 2) {
        schema_usage(stderr);
        return FS_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        schema_usage(stdout);
        return FS_EXIT_OK;
    }
    if (!strcmp(argv[1], "draft")) return cmd_draft(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) return cmd_check(argc - 1, argv + 1);
    return fs_cli_usage_error("schema", "unknown subcommand '%s' (expected draft or check)",
                              argv[1]);
}

/*
 * fs_data.h - datasets: the HDF5 shard layout, importers, partitioners.
 *
 * Data layer.  No MPI inside: each rank reads only its own shard file.  The
 * on-disk layout is documented in docs/formats.md and readable with h5py or
 * h5dump without fedsilo.  In short:
 *
 *   /X            float32 [n, d]   features, row-major
 *   /y            int32 [n] (classification, 0..num_classes-1)
 *                 or float32 [n] (regression)
 *   /feature_names  variable-length strings [d] (optional)
 *   /class_names  variable-length strings [num_classes] (optional): the
 *                 label text of each class (CSV imports)
 *   /ids          variable-length strings [n] (optional): record ids, unique
 *                 and non-empty (vertical FL: the keys of `fedsilo psi`)
 *   /validation/X, /validation/y   optional held-out split, same types
 *   root attributes: fedsilo_format = "fedsilo-dataset", format_version = 1,
 *                    task = "classification" | "regression",
 *                    num_classes (int32), provenance (string),
 *                    institution, shard_index, num_shards (shards only),
 *                    labels_absent (int32 1 when /y holds zeros, not labels),
 *                    id_column (string: the CSV column of /ids),
 *                    schema, schema_hash (strings: the consortium schema the
 *                    file was imported with, fedsilo/fs_schema.h)
 *
 * /X is finite, except in a file that carries a schema: there a missing CSV
 * cell is stored as NaN (never Inf), to be imputed later.
 */
#ifndef FEDSILO_FS_DATA_H
#define FEDSILO_FS_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FS_TASK_CLASSIFICATION = 0, FS_TASK_REGRESSION = 1 } fs_task;

/*
 * An in-memory dataset (one shard or a whole file).  Plain data: the fields
 * are read directly.  All pointers are owned by the dataset and released by
 * fs_dataset_destroy.
 */
typedef struct fs_dataset {
    size_t n;              /* rows                                          */
    size_t d;              /* features per row                              */
    fs_task task;
    int num_classes;       /* >= 2 for classification, 0 for regression     */
    float *X;              /* (n, d) row-major                              */
    int32_t *y_class;      /* (n) labels in [0, num_classes); NULL if regr. */
    float *y_reg;          /* (n) targets; NULL for classification          */
    char **feature_names;  /* (d) strings, or NULL when unnamed             */
    char *provenance;      /* free text: source files, split parameters     */
    char *institution;     /* institution name for shards, or NULL          */
    int shard_index;       /* 0-based shard number, -1 for a whole dataset  */
    int num_shards;        /* number of shards in the split, 0 if none      */
    char **ids;            /* (n) record ids (unique, non-empty), or NULL   */
    int labels_absent;     /* 1: y holds zeros because this party has no
                              labels (vertical FL feature holder), else 0   */
    char **class_names;    /* (num_classes) label text of each class, or
                              NULL (unknown, or regression)                 */
    char *id_column;       /* CSV column the ids came from, or NULL         */
    char *schema;          /* INI text of the consortium schema the data was
                              imported with, or NULL; X may then hold NaN
                              for missing cells (fs_dataset_validate)      */
    char *schema_hash;     /* 64 hex digits of fs_schema_hash(schema), or
                              NULL; set exactly when schema is             */
} fs_dataset;

/* Which part of a file to read. */
typedef enum { FS_PART_TRAIN = 0, FS_PART_VALIDATION = 1 } fs_part;

/*
 * fs_dataset_create - allocate an empty dataset of n rows and d features
 * (X, and y_class or y_reg per task, zero-filled; names NULL).
 * Not collective.  *out is NULL on entry and on failure; on success the
 * caller owns *out.  Returns FS_ERR_ARG for num_classes < 2 with
 * classification, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_dataset_create(size_t n, size_t d, fs_task task, int num_classes,
                                   fs_dataset **out) FS_WARN_UNUSED;

/* fs_dataset_destroy - free everything; NULL-safe; sets *ds = NULL. */
FS_EXPORT void fs_dataset_destroy(fs_dataset **ds);

/*
 * fs_dataset_validate - check values: n > 0, d > 0, every feature finite,
 * labels in range (classification) or finite targets (regression), and,
 * when ds->ids is set, every id non-empty and no id repeated; class_names
 * (when set) non-empty and distinct.  A dataset with a schema must match it:
 * schema_hash is the schema's hash, the features, their names, the task and
 * the classes are the schema's, and NaN (a missing cell) appears only in
 * features whose column may be missing (fs_schema_feature_may_be_missing);
 * Inf never does.  Not collective.  `name` (e.g. the file path) is used in
 * the message, which names the first bad row/column.  Returns FS_OK,
 * FS_ERR_DATA, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_dataset_validate(const fs_dataset *ds, const char *name) FS_WARN_UNUSED;

/*
 * fs_dataset_write - write ds (and optional validation part val, same d,
 * task and classes; may be NULL) to path in the fedsilo layout.  Atomic:
 * writes path.tmp.<pid>, fsyncs, renames over path.  Not collective
 * (serial HDF5 driver).  Returns FS_OK, FS_ERR_ARG, FS_ERR_IO.
 */
FS_EXPORT fs_err fs_dataset_write(const fs_dataset *ds, const fs_dataset *val,
                                  const char *path) FS_WARN_UNUSED;

/*
 * fs_dataset_read - read one part of a fedsilo dataset file, checking the
 * layout (format attribute, dtypes, ranks, shapes, attributes) and the
 * values (fs_dataset_validate).  Not collective.  For FS_PART_VALIDATION a
 * file without a validation group yields FS_OK and *out == NULL.  Every
 * error message names the path and the problem.  Returns FS_OK,
 * FS_ERR_IO (cannot open / not HDF5), FS_ERR_DATA (layout or values).
 */
FS_EXPORT fs_err fs_dataset_read(const char *path, fs_part part, fs_dataset **out) FS_WARN_UNUSED;

/* Flags of fs_dataset_read_ex. */
#define FS_READ_ALLOW_MISSING 1u   /* accept NaN (missing cells) in a file with a schema */

/*
 * fs_dataset_read_ex - fs_dataset_read with flags.  fs_dataset_read (flags
 * 0) refuses a file whose /X holds missing values (NaN, only possible in a
 * file imported with a schema), naming the file and the first such feature:
 * a reader that computes on /X needs complete rows.  With
 * FS_READ_ALLOW_MISSING the NaN cells are returned as they are (split,
 * inspect, and imputation).  Not collective.  Returns as fs_dataset_read.
 */
FS_EXPORT fs_err fs_dataset_read_ex(const char *path, fs_part part, unsigned flags,
                                    fs_dataset **out) FS_WARN_UNUSED;

/*
 * fs_dataset_count_missing - count the missing (NaN) values of ds: per
 * feature into per_feature (d entries, caller-allocated; may be NULL) and in
 * total into *total (may be NULL).  Not collective.  Returns FS_OK, or
 * FS_ERR_ARG for a NULL ds.
 */
FS_EXPORT fs_err fs_dataset_count_missing(const fs_dataset *ds, size_t *per_feature,
                                          size_t *total) FS_WARN_UNUSED;

/*
 * fs_import_idx - read an MNIST/Fashion-MNIST IDX image file (idx3 ubyte,
 * [n, rows, cols]) and label file (idx1 ubyte [n]), gzipped or not, into a
 * classification dataset with d = rows*cols features scaled to [0, 1] and
 * num_classes = 10 (or max label + 1 if larger).  limit > 0 keeps only the
 * first `limit` rows.  Not collective.  Caller owns *out.  Errors name the
 * file and the problem (bad magic, truncated, count mismatch).
 */
FS_EXPORT fs_err fs_import_idx(const char *images_path, const char *labels_path,
                               size_t limit, fs_dataset **out) FS_WARN_UNUSED;

/*
 * fs_import_csv - read a CSV file with a header row (comma separated, RFC
 * 4180 quoting; docs/formats.md).  The column named label_column becomes y;
 * every other column must be numeric and becomes a feature (its header is
 * the feature name).  For classification, labels must be integers 0..K-1
 * (class k is named "k") or arbitrary strings/numbers (mapped to classes in
 * sorted order and named by their text; the mapping is also recorded in
 * provenance); the names are in ds->class_names.  A non-numeric feature cell
 * fails with FS_ERR_DATA naming the file, row (1-based, header = row 1) and
 * column.  Tables with text categories or missing cells need a schema
 * (fs_import_csv_schema, fedsilo/fs_schema.h).  Not collective.  Caller owns
 * *out.
 */
FS_EXPORT fs_err fs_import_csv(const char *path, const char *label_column, fs_task task,
                               fs_dataset **out) FS_WARN_UNUSED;

/* Options of fs_import_csv_ex. */
typedef struct {
    const char *label_column;  /* label/target column; NULL = the file has no
                                  labels (needs id_column): y is stored as
                                  zeros and labels_absent is set            */
    const char *id_column;     /* record-id column; NULL = no ids           */
    fs_task task;              /* FS_TASK_CLASSIFICATION (default) or _REGRESSION */
    char delimiter;            /* field delimiter; ',' (default; 0 also means ',') */
} fs_csv_opts;

/* fs_csv_opts_default - no label column, no id column, classification, ','. */
FS_EXPORT void fs_csv_opts_default(fs_csv_opts *o);

/*
 * fs_import_csv_ex - fs_import_csv with an optional record-id column, an
 * optional label column and a delimiter.  The id column (any text without
 * commas or control characters, stored verbatim after trimming) becomes
 * ds->ids (and its name ds->id_column) and is not a feature.  An empty or repeated id fails with FS_ERR_DATA naming the file,
 * the 1-based file row (header = row 1) and the column (for a repeat, also
 * the row of its first occurrence).  Without a label column (label_column
 * NULL) the dataset gets zero labels (2 classes for classification) and
 * labels_absent = 1, like the feature-only parts of `fedsilo vfl-split`; at
 * least one of label_column and id_column must be given, and they must name
 * different columns.  Not collective.  *out is NULL on failure; on success
 * the caller owns it (fs_dataset_destroy).  Returns FS_OK, FS_ERR_ARG (bad
 * options), FS_ERR_IO (cannot read path), FS_ERR_DATA (file content),
 * FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_import_csv_ex(const char *path, const fs_csv_opts *opts,
                                  fs_dataset **out) FS_WARN_UNUSED;

/*
 * fs_dataset_standardize - X[i][j] = (X[i][j] - mean[j]) / scale[j] on every
 * row of ds (mean, scale: ds->d doubles, borrowed; computed in double,
 * stored as float).  Not collective.
 */
FS_EXPORT void fs_dataset_standardize(fs_dataset *ds, const double *mean, const double *scale);

/*
 * fs_dataset_impute - replace every missing value (NaN) X[i][j] of ds by
 * fill[j] (ds->d doubles, borrowed; NaN = this feature has no fill value).
 * A missing value in a feature without a fill value is FS_ERR_DATA naming
 * `name`, the 1-based row and the feature; ds is then partly filled.  Not
 * collective.  Returns FS_OK or FS_ERR_DATA.
 */
FS_EXPORT fs_err fs_dataset_impute(fs_dataset *ds, const double *fill, const char *name)
    FS_WARN_UNUSED;

/*
 * fs_dataset_check_schema - was ds imported with the schema whose hash is
 * `hash` (64 hex digits; the schema a training run or a checkpoint was
 * fitted on)?  FS_OK when it was, or when hash is NULL or "" (a reference
 * without a schema accepts any file).  Otherwise FS_ERR_DATA naming `name`,
 * `what` (the reference, e.g. "the checkpoint") and the first 16 hex digits
 * of both hashes (public: the schema is); a file imported without a schema
 * is refused too, since its feature order is not the schema's.  Not
 * collective.
 */
FS_EXPORT fs_err fs_dataset_check_schema(const fs_dataset *ds, const char *hash, const char *what,
                                         const char *name) FS_WARN_UNUSED;

/*
 * fs_csv_delimiter_parse - the delimiter named by s: a single character
 * (',' ';' '|' ':' or a tab), or "comma", "semicolon", "tab" or "\t",
 * "pipe".  Letters, digits, blanks, quotes and line breaks cannot
 * delimit.  Not collective.  Returns FS_OK or FS_ERR_ARG (with a message).
 */
FS_EXPORT fs_err fs_csv_delimiter_parse(const char *s, char *out) FS_WARN_UNUSED;

/*
 * fs_dataset_subset - copy rows rows[0..nr) (in that order) and feature
 * columns [c0, c1) of src into a new dataset: features, labels/targets,
 * ids, feature names, class names, the id column name, provenance,
 * institution, shard_index/num_shards and labels_absent, and the schema
 * when every column is kept (c0 = 0, c1 = d: the features still are the
 * schema's); the validation part is not part of an fs_dataset and is not
 * copied.  Not collective.  src and rows are borrowed; on success the
 * caller owns *out (fs_dataset_destroy); *out is NULL on failure.  Returns
 * FS_OK, FS_ERR_ARG (a row index >= src->n, or not c0 < c1 <= src->d),
 * FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_dataset_subset(const fs_dataset *src, const size_t *rows, size_t nr,
                                   size_t c0, size_t c1, fs_dataset **out) FS_WARN_UNUSED;

/* Options of fs_split_vertical. */
typedef struct {
    int parts;                /* column blocks (institutions), >= 1           */
    int label_rank;           /* the part that keeps the labels, 0..parts-1   */
    double test_fraction;     /* rows held out as test rows, [0, 1)           */
    uint64_t seed;            /* row shuffle before the train/test cut        */
} fs_vsplit_opts;

/* fs_vsplit_opts_default - parts 0 and label_rank -1 (must be set), test
 * fraction 0.2, seed 1. */
FS_EXPORT void fs_vsplit_opts_default(fs_vsplit_opts *o);

/* What fs_split_vertical wrote for one part: columns [c0, c1), rows. */
typedef struct { size_t c0, c1, ntrain, ntest; } fs_vsplit_part;

/*
 * fs_split_vertical - cut src by feature columns into o->parts contiguous
 * blocks for vertical FL: outdir/part-<k>.h5 (training rows) and
 * outdir/test-<k>.h5 (test rows; none when the fraction rounds to 0), with
 * the same rows in the same order in every part (record ids kept).  Rows
 * are shuffled with a SplitMix64 Fisher-Yates stream of o->seed before the
 * cut.  Only part o->label_rank keeps the labels; the others store zeros,
 * set labels_absent = 1 and say "labels withheld" in their provenance.
 * outdir is created (mkdir -p).  info (o->parts entries, may be NULL)
 * receives what was written.  `name` names src in messages.  Not
 * collective.  returns FS_OK, FS_ERR_ARG (options), FS_ERR_DATA (no
 * labels, fewer features than parts), FS_ERR_IO, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_split_vertical(const fs_dataset *src, const char *name,
                                   const fs_vsplit_opts *o, const char *outdir,
                                   fs_vsplit_part *info) FS_WARN_UNUSED;

/*
 * fs_ids_read_text - read record ids from a text/CSV file: one id per line,
 * the first comma-separated column, blanks around it trimmed, empty lines
 * skipped; header = 1 skips the first line.  *ids (n strings) is owned by
 * the caller (fs_ids_free).  Not collective.  returns FS_OK, FS_ERR_IO
 * (cannot read path) or FS_ERR_NOMEM (never a silently shortened list).
 */
FS_EXPORT fs_err fs_ids_read_text(const char *path, int header, char ***ids, size_t *n)
    FS_WARN_UNUSED;
/* fs_ids_free - free n ids and the array; NULL-safe. */
FS_EXPORT void fs_ids_free(char **ids, size_t n);

typedef enum { FS_SPLIT_IID = 0, FS_SPLIT_DIRICHLET, FS_SPLIT_QUANTITY } fs_split_method;

typedef struct {
    int nsilos;               /* number of institutions (>= 1)                */
    fs_split_method method;
    double alpha;             /* Dirichlet concentration (> 0)                 */
    uint64_t seed;            /* same seed + same input => same shards         */
    double val_fraction;      /* held-out validation fraction per shard [0,1)  */
    size_t min_rows;          /* minimum rows per shard (default 10)           */
} fs_split_opts;

/* fs_split_opts_default - iid, alpha 0.5, seed 1, no validation, min 10. */
FS_EXPORT void fs_split_opts_default(fs_split_opts *o);

/*
 * fs_split_write - partition src into opts->nsilos shards and write them
 * as outdir/site-<i>.h5 (i = 0..nsilos-1, institution "site-<i>") plus
 * outdir/manifest.json (method, alpha, seed, per-shard rows and class
 * histograms, source provenance).  Deterministic: the same src, opts and
 * seed produce byte-identical shard contents.  Dirichlet: per class,
 * proportions ~ Dir(alpha) over silos; quantity skew: shard sizes ~
 * Dir(alpha), labels iid.  Resamples (bounded) until every shard has
 * min_rows rows, else FS_ERR_ARG with a message.  Shards keep src's
 * feature and class names, id column name and schema (missing cells stay
 * NaN).  Not collective.
 */
FS_EXPORT fs_err fs_split_write(const fs_dataset *src, const fs_split_opts *opts,
                                const char *outdir) FS_WARN_UNUSED;

/*
 * fs_split_assign - compute the partition that fs_split_write would write,
 * without writing anything: shard[i] in [0, nsilos) is the shard of source
 * row i, and is_val[i] is 1 when that row goes to its shard's /validation
 * part (per shard, round(val_fraction * rows), capped at rows - 1, chosen by
 * a seeded shuffle).  min_rows counts a shard's rows before the validation
 * holdout (0 is treated as 1).  Deterministic in (src, opts).
 * Not collective.  shard and is_val are caller-allocated arrays of src->n
 * entries.  Returns FS_OK, FS_ERR_DATA (src fails fs_dataset_validate),
 * FS_ERR_ARG (bad options, dirichlet on regression data, or no partition
 * meets min_rows), FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_split_assign(const fs_dataset *src, const fs_split_opts *opts,
                                 int32_t *shard, uint8_t *is_val) FS_WARN_UNUSED;

/*
 * fs_dataset_inspect - print a human summary of the file at path to `out`:
 * shapes, dtypes, task, classes (with their names), class histogram (or
 * target mean/std), feature-range summary, all attributes, the schema hash
 * and the missing values per feature, validation part.  Not collective.
 */
FS_EXPORT fs_err fs_dataset_inspect(const char *path, FILE *out) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_DATA_H */

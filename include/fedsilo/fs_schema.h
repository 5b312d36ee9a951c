/*
 * fs_schema.h - the consortium schema: what every column of the
 * institutions' tables means, and how a raw CSV row becomes a feature vector.
 *
 * Data layer, no MPI.  The schema is a public INI file agreed out of band
 * (like the roster), one [column NAME] section per column in feature order
 * (docs/formats.md, "Consortium schema"):
 *
 *   [schema]
 *   name = credit-2026                  ; optional
 *   missing = "", NA, N/A, NaN, null, ? ; cells that mean "missing" (default)
 *   extra_columns = error               ; error (default) | ignore
 *
 *   [column Status]
 *   kind = label
 *   classes = good, bad                 ; class 0, class 1
 *
 *   [column Age]
 *   kind = numeric
 *   impute = median                     ; mean (default) | median | constant:V
 *                                       ; | indicator | none
 *   range = 18:100                      ; optional; either end may be empty
 *   out_of_range = error                ; error (default) | clip
 *
 *   [column Home]
 *   kind = categorical
 *   categories = owner, parents, rent   ; one-hot order; continue long lists
 *   categories += other, priv           ; with "+=" lines
 *   unknown = error                     ; error (default) | other
 *   impute = mode                       ; mode (default) | indicator | none
 *
 *   [column patient]
 *   kind = id                           ; record ids (vertical FL)
 *   [column notes]
 *   kind = ignore                       ; read and dropped (may be absent)
 *
 * Encoding (import with fs_import_csv_schema): the features are the numeric
 * and categorical columns in section order.  A numeric column gives one
 * feature NAME (a missing cell is NaN), plus NAME_missing (1 when missing,
 * else 0) with impute = indicator.  A categorical column gives the one-hot
 * block NAME=CATEGORY in the listed order, plus NAME=(other) with
 * unknown = other, plus NAME_missing with impute = indicator; a missing cell
 * is NaN in the whole block with impute = mode (the mode is filled in later),
 * all zeros with indicator.  Imputation itself happens later, from secure
 * sums; import stores only what one row determines.
 *
 * The canonical hash (SHA-256 over a framed serialization of the parsed
 * schema) is what institutions compare: it is unchanged by whitespace,
 * comments, key order inside a section, the spelling of numbers ("0.5",
 * "5e-1") and extra_columns (a site-local import option); it changes with
 * the columns, their order (the feature order), kinds, categories and
 * classes (and their order), missing tokens, ranges and policies.
 */
#ifndef FEDSILO_FS_SCHEMA_H
#define FEDSILO_FS_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "fs_data.h"
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of the canonical hash, and of its hex form without the NUL. */
#define FS_SCHEMA_HASHBYTES 32
#define FS_SCHEMA_HASHHEX 64

typedef struct fs_schema fs_schema;

typedef enum {
    FS_COLUMN_NUMERIC = 0,
    FS_COLUMN_CATEGORICAL,
    FS_COLUMN_LABEL,
    FS_COLUMN_ID,
    FS_COLUMN_IGNORE
} fs_column_kind;

/* What a missing cell becomes (import stores NaN; imputation fills it). */
typedef enum {
    FS_IMPUTE_NONE = 0,     /* a missing cell is an error at import      */
    FS_IMPUTE_MEAN,         /* numeric: global mean                      */
    FS_IMPUTE_MEDIAN,       /* numeric: global median                    */
    FS_IMPUTE_CONSTANT,     /* numeric: impute_value                     */
    FS_IMPUTE_INDICATOR,    /* numeric: mean + NAME_missing column;
                               categorical: all-zero block + NAME_missing */
    FS_IMPUTE_MODE          /* categorical: the most frequent category   */
} fs_impute;

typedef enum {
    FS_FEATURE_NUMERIC = 0, /* the value of a numeric column             */
    FS_FEATURE_CATEGORY,    /* one-hot: the cell is `category`           */
    FS_FEATURE_OTHER,       /* one-hot: a category the schema does not list */
    FS_FEATURE_MISSING      /* 1 when the cell was missing, else 0       */
} fs_feature_kind;

/* One column of the schema (borrowed from the schema; read-only). */
typedef struct {
    const char *name;             /* the CSV header cell                   */
    fs_column_kind kind;
    int line;                     /* line of its [column] header           */
    fs_impute impute;             /* NONE for label, id and ignore         */
    double impute_value;          /* FS_IMPUTE_CONSTANT only               */
    int has_lo, has_hi;           /* valid range [lo, hi]; 0 = open end    */
    double lo, hi;                /* (numeric, regression label)           */
    int clip;                     /* out of range: 1 clip, 0 error         */
    size_t ncategories;           /* categorical: categories; classification
                                     label: classes; else 0                */
    const char *const *categories;/* (ncategories) in schema order         */
    int unknown_other;            /* categorical: unknown -> NAME=(other)  */
    size_t nmissing;              /* tokens that mean "missing" here       */
    const char *const *missing;   /* (nmissing) the column's or [schema]'s */
    size_t first_feature;         /* features [first_feature,              */
    size_t nfeatures;             /*   first_feature + nfeatures); 0 for
                                     label, id and ignore                  */
} fs_schema_column;

/* One encoded feature (a column of /X); borrowed from the schema. */
typedef struct {
    const char *name;             /* "Age", "Home=rent", "Home=(other)",
                                     "Age_missing"                         */
    fs_feature_kind kind;
    size_t column;                /* index of its source column            */
    size_t category;              /* FS_FEATURE_CATEGORY: index into the
                                     column's categories; else SIZE_MAX    */
} fs_schema_feature;

/*
 * fs_schema_load - read and validate the schema file at path.  Not
 * collective.  Every error is FS_ERR_DATA naming the file and, where there
 * is one, the line ("schema s.ini:12: category 'rent' is listed twice in
 * [column Home]"): unknown sections or keys, a key that does not apply to the
 * column's kind (conflicting kinds), a repeated key, column or category, two
 * label or id columns, an empty or duplicate list item, a class listed
 * twice, a category that is also a missing token, bad numbers or ranges,
 * two columns encoding to the same feature name, no feature column, neither
 * a label nor an id column; FS_ERR_IO when the file cannot be read.  On
 * success the caller owns *out (fs_schema_destroy); on failure *out == NULL.
 */
FS_EXPORT fs_err fs_schema_load(const char *path, fs_schema **out) FS_WARN_UNUSED;

/*
 * fs_schema_parse - fs_schema_load on len bytes of text (e.g. the schema
 * attribute of a dataset file); name stands for the file in messages.  The
 * text is copied.  Not collective.  Returns as fs_schema_load.
 */
FS_EXPORT fs_err fs_schema_parse(const char *text, size_t len, const char *name,
                                 fs_schema **out) FS_WARN_UNUSED;

/* fs_schema_destroy - free the schema; NULL-safe; sets *s = NULL. */
FS_EXPORT void fs_schema_destroy(fs_schema **s);

/* fs_schema_text - the INI text it was parsed from (borrowed, NUL-terminated). */
FS_EXPORT const char *fs_schema_text(const fs_schema *s);

/* fs_schema_name - the [schema] name, or NULL when the file gives none. */
FS_EXPORT const char *fs_schema_name(const fs_schema *s);

/* fs_schema_hash - copy the canonical hash (see the top of this header). */
FS_EXPORT void fs_schema_hash(const fs_schema *s, uint8_t out[FS_SCHEMA_HASHBYTES]);

/* fs_schema_hash_hex - the hash as 64 lowercase hex digits (borrowed). */
FS_EXPORT const char *fs_schema_hash_hex(const fs_schema *s);

/* fs_schema_extra_columns_ignored - 1 when extra_columns = ignore. */
FS_EXPORT int fs_schema_extra_columns_ignored(const fs_schema *s);

/* Columns in section order; fs_schema_column_at returns NULL out of range. */
FS_EXPORT size_t fs_schema_num_columns(const fs_schema *s);
FS_EXPORT const fs_schema_column *fs_schema_column_at(const fs_schema *s, size_t i);
/* fs_schema_find_column - index of the column called name, or -1. */
FS_EXPORT long fs_schema_find_column(const fs_schema *s, const char *name);

/* Encoded features in /X order; fs_schema_feature_at returns NULL out of range. */
FS_EXPORT size_t fs_schema_num_features(const fs_schema *s);
FS_EXPORT const fs_schema_feature *fs_schema_feature_at(const fs_schema *s, size_t j);
/* fs_schema_feature_may_be_missing - 1 when feature j may hold NaN in an
 * imported file (numeric with impute != none; one-hot with impute = mode). */
FS_EXPORT int fs_schema_feature_may_be_missing(const fs_schema *s, size_t j);

/* Index of the label column / id column, or -1 when the schema has none. */
FS_EXPORT long fs_schema_label_column(const fs_schema *s);
FS_EXPORT long fs_schema_id_column(const fs_schema *s);
/* Task of the label (classification when the schema has no label). */
FS_EXPORT fs_task fs_schema_task(const fs_schema *s);
/* Classes of a classification label, in schema order (0 otherwise). */
FS_EXPORT int fs_schema_num_classes(const fs_schema *s);
FS_EXPORT const char *fs_schema_class_name(const fs_schema *s, int k);

/*
 * fs_import_csv_schema - read the CSV file at path and encode it with the
 * schema (see the top of this header).  Columns are matched by header name,
 * in any order; a schema column (other than kind = ignore) missing from the
 * header, a header name given twice, and a file column the schema does not
 * name (unless extra_columns = ignore) are errors.  delimiter 0 means ','.
 * The dataset gets the encoded features and their names, y in the schema's
 * class order (or the targets), the ids of the id column, the class names,
 * the id column name, and the schema text and hash.  Every cell error is
 * FS_ERR_DATA naming the file, the row (1-based, header = row 1), the column
 * and the value: an unknown category, a label outside the classes, a missing
 * label or a missing cell where impute = none, a non-numeric cell in a
 * numeric column, a value out of range, malformed quoting, a ragged row.
 * Not collective.  schema is borrowed.  On success the caller owns *out;
 * on failure *out == NULL.  Returns FS_OK, FS_ERR_ARG, FS_ERR_IO,
 * FS_ERR_DATA, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_import_csv_schema(const char *path, const fs_schema *schema, char delimiter,
                                      fs_dataset **out) FS_WARN_UNUSED;

/* Flags of fs_import_csv_schema_ex. */
#define FS_IMPORT_NO_LABEL 1u   /* rows to predict: the label column is not read
                                   (it may be absent); y is zeros, labels_absent */

/*
 * fs_import_csv_schema_ex - fs_import_csv_schema with flags and optional
 * skipping of bad rows.  skipped NULL: the first bad cell fails (as
 * fs_import_csv_schema).  skipped set: a row with a bad cell (unknown
 * category, value out of range, non-numeric cell, ...) is dropped and one
 * line naming the file, the row, the column and the problem is written to
 * skipped; header problems and unreadable CSV still fail, and so does a
 * file whose every row is bad.  rows (may be NULL) receives the 1-based file
 * row (header = row 1) of each row kept, (*out)->n entries; the caller
 * frees it.  Not collective.  Returns as fs_import_csv_schema.
 */
FS_EXPORT fs_err fs_import_csv_schema_ex(const char *path, const fs_schema *schema,
                                         char delimiter, unsigned flags, FILE *skipped,
                                         fs_dataset **out, size_t **rows) FS_WARN_UNUSED;

/*
 * fs_schema_check - compare the CSV file at path with the schema and print
 * every mismatch to report, one line each (not only the first): missing,
 * extra and duplicate columns; per column, the unknown categories, labels
 * outside the classes, non-numeric cells, values out of range and missing
 * cells where impute = none, each distinct value with its count and first
 * row (at most 20 values per column and problem, then a count of the rest);
 * then a summary line.  A file that cannot be parsed as CSV (unterminated
 * quote, ragged row) is an error, not a report.  *nproblems receives the
 * number of report lines that name a problem (0 = the file matches).
 * The report quotes the site's own cells and counts: it is for the site's
 * operator.  Not collective.  Returns FS_OK (whatever *nproblems is),
 * FS_ERR_ARG, FS_ERR_IO, FS_ERR_DATA (not readable as CSV), FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_schema_check(const char *path, const fs_schema *schema, char delimiter,
                                 FILE *report, size_t *nproblems) FS_WARN_UNUSED;

/* Options of fs_schema_draft. */
typedef struct {
    const char *label_column;    /* required: the label column             */
    const char *id_column;       /* optional record-id column, or NULL     */
    char delimiter;              /* ',' (0 also means ',')                 */
    size_t max_categories;       /* a text column with more distinct values
                                    is drafted as ignore (default 50)      */
    size_t max_numeric_classes;  /* a numeric label with at most this many
                                    distinct values is drafted as
                                    classification (default 10)            */
} fs_schema_draft_opts;

/* fs_schema_draft_opts_default - no label (must be set), no id, ',', 50, 10. */
FS_EXPORT void fs_schema_draft_opts_default(fs_schema_draft_opts *o);

/*
 * fs_schema_draft - draft a schema from one institution's CSV file and
 * write it to out_path (atomically), for people to review and merge.  Kinds
 * are inferred (numeric when every non-missing cell is a number; otherwise
 * categorical with the sorted list of the values seen; ignore, with a
 * comment, when there are more than max_categories of them), the label
 * classes are sorted (a numeric label with few distinct values is drafted
 * as classification, otherwise regression; a comment says which), the
 * missing tokens seen are listed.  Comments explain each choice; the ranges
 * observed appear only in comments marked "review before sharing" (they
 * are this site's private data).  The draft is parsed back before it is
 * written, so it is always a valid schema.  Not collective.  Returns FS_OK,
 * FS_ERR_ARG (no label column), FS_ERR_IO, FS_ERR_DATA (unreadable CSV,
 * no such column, a one-class label), FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_schema_draft(const char *csv_path, const fs_schema_draft_opts *o,
                                 const char *out_path) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_SCHEMA_H */

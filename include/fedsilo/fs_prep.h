/*
 * fs_prep.h - the fitted preprocessing pipeline of a federated run: what
 * turns an encoded row (fs_schema.h: numeric values, one-hot blocks, NaN for
 * a missing cell) into the model's input, the same way at every institution
 * and in `fedsilo eval` / `fedsilo predict`:
 *
 *   1. impute:      x_j = fill_j where x_j is NaN        (--impute yes)
 *   2. standardize: x_j = (x_j - mean_j) / scale_j       (--standardize yes)
 *
 * Program layer (over the federation core).  Fitting is collective: every
 * statistic is a secure sum over the institutions (fs_fed_sum_f64), so no
 * institution sees another's rows or per-site statistics; what every
 * institution learns is listed per policy below.  Applying is local.
 *
 * Fill values by the schema's per-column policy (N_j = non-missing cells
 * of feature j summed over institutions):
 *   mean       the global mean: secure sums of the non-missing counts and of
 *              value / N_j.  Released: N_j and the mean.
 *   indicator  numeric: the global mean (as mean) for the value; the
 *              NAME_missing 0/1 column is stored by import.  Categorical: the
 *              block is all zeros plus NAME_missing (nothing to fill).
 *   constant:V V (nothing summed).
 *   median     a two-level secure histogram.  Level 1: counts over 256
 *              equal bins of the schema's range when it gives both ends,
 *              else over the 249 signed binades of the real line (zero,
 *              +-[2^e, 2^(e+1)) for e in -60..63, values beyond clamped to
 *              the outermost binade).  The bin holding the lower middle order
 *              statistic (0-based index floor((N_j - 1) / 2)) is split into
 *              256 equal sub-bins, securely summed as counts and sums of
 *              the values' offsets in the bin; the fill is the mean of the
 *              values in the sub-bin that holds that order statistic.  So the
 *              fill lies in that sub-bin (width: level-1 width / 256); for
 *              integer data with ties it is the exact value.  Released: both
 *              histograms (counts per bin, the offset sums of level 2).
 *   mode       categorical: the category with the largest global count (the
 *              first in schema order on a tie, like scikit-learn's
 *              most_frequent over sorted categories): secure sums of each
 *              one-hot feature over the non-missing rows.  Released: the
 *              per-category counts.  The fill is the one-hot row of the mode.
 * Standardization (after imputation): mean_j and scale_j = population std
 * from a secure sum of x_j / n and then of (x_j - mean_j)^2 / n (two
 * passes), scale 1 for a constant feature.  With a schema only numeric
 * features (the values of numeric columns) are standardized; one-hot,
 * (other) and NAME_missing features keep mean 0, scale 1, as in
 * scikit-learn's ColumnTransformer with StandardScaler on numeric columns.
 * Without a schema every feature is.  Released: n, the means and stds.
 * All releases are exact (no DP noise): fs_prep_fit registers its sums
 * (vector ids vector_id .. vector_id + 6) in the run's privacy ledger as
 * public (fs_ledger_register) before it sums them; a program under DP must
 * decide whether it may release them at all.
 */
#ifndef FEDSILO_FS_PREP_H
#define FEDSILO_FS_PREP_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_data.h"
#include "fs_fed.h"
#include "fs_ledger.h"
#include "fs_ckpt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_prep fs_prep;

/* Sub-bins of the median histogram's levels (see the top of this header). */
#define FS_PREP_MEDIAN_BINS 256

/* Options of fs_prep_fit. */
typedef struct {
    int impute;          /* 1: fill missing cells per the schema's policies  */
    int standardize;     /* 1: standardize (after imputation)                */
    uint32_t vector_id;  /* the sums use (round 0, vector_id + 0..3): ids the
                            caller uses for nothing else                     */
} fs_prep_opts;

/*
 * fs_prep_fit - fit the pipeline on every institution's training part
 * (train: this rank's, with NaN for missing cells when imputing; its schema,
 * if any, was agreed by FS_PREFLIGHT_SCHEMA).  Collective on fed (after
 * fs_fed_connect).  Does not modify train (apply with fs_prep_apply).
 * Errors (the same code on every rank): FS_ERR_DATA when a feature to
 * impute has no value at any institution, or a schema text does not parse;
 * the sums' errors (FS_ERR_NUMERIC: a value beyond the statistics codec's
 * +-2^31).  On success the caller owns *out (fs_prep_destroy); else NULL.
 */
FS_EXPORT fs_err fs_prep_fit(fs_fed *fed, const fs_dataset *train, const fs_prep_opts *o,
                             fs_prep **out) FS_WARN_UNUSED;

/*
 * fs_prep_create - a pipeline from its parts, e.g. as read from a
 * checkpoint: d features; fill (d; NaN = no fill), mean and scale (d) may
 * each be NULL (that step is skipped; mean and scale go together); schema
 * (INI text) may be NULL.  Everything is copied.  Not collective.  Returns
 * FS_OK, FS_ERR_ARG (d == 0, one of mean/scale), FS_ERR_DATA (schema does
 * not parse or has another number of features), FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_prep_create(size_t d, const char *schema, const double *fill,
                                const double *mean, const double *scale, fs_prep **out)
    FS_WARN_UNUSED;

/*
 * fs_prep_apply - impute, then standardize, every row of ds in place.  ds
 * must have the pipeline's d features; when the pipeline has a schema, ds
 * must have been imported with it (fs_dataset_check_schema).  A missing
 * value the pipeline cannot fill is FS_ERR_DATA naming `name`, the row and
 * the feature.  Not collective.
 */
FS_EXPORT fs_err fs_prep_apply(const fs_prep *p, fs_dataset *ds, const char *name) FS_WARN_UNUSED;

/* fs_prep_note_releases - list the releases of a pipeline by name in ledger
 * l (public, exact), for a program that describes a pipeline it did not fit
 * in this run (fs_prep_fit registers its own sums).  Not collective.
 * Returns FS_OK or FS_ERR_NOMEM. */
FS_EXPORT fs_err fs_prep_note_releases(const fs_prep *p, fs_ledger *l) FS_WARN_UNUSED;

/* Accessors (borrowed; NULL when the step is not part of the pipeline). */
FS_EXPORT size_t fs_prep_dim(const fs_prep *p);
FS_EXPORT const double *fs_prep_fill(const fs_prep *p);    /* (d) NaN = none */
FS_EXPORT const double *fs_prep_mean(const fs_prep *p);    /* (d)            */
FS_EXPORT const double *fs_prep_scale(const fs_prep *p);   /* (d)            */
FS_EXPORT const char *fs_prep_schema_text(const fs_prep *p);

/*
 * fs_prep_from_checkpoint - the pipeline a checkpoint stores (its /pipeline
 * schema and fill values, its standardization); a checkpoint without any
 * gives a pipeline that changes nothing.  Not collective.  Caller owns *out.
 * Returns as fs_prep_create.
 */
FS_EXPORT fs_err fs_prep_from_checkpoint(const fs_checkpoint *ck, fs_prep **out) FS_WARN_UNUSED;

// ---------------------------------------------------------------- predict

/*
 * A model's scorer for fs_predict_file: n rows of X (n, d), already through
 * the pipeline, into out: classification (n, num_classes) class
 * probabilities; regression (n) values.  Returns FS_OK or an error.
 */
typedef fs_err (*fs_predict_fn)(void *model, const float *X, size_t n, double *out);

typedef struct {
    const char *input;      /* FILE.csv: raw rows, encoded with the pipeline's
                               schema (the label column, if any, is not read);
                               else a fedsilo dataset file (.h5)            */
    const char *out;        /* the predictions CSV (written atomically)     */
    char delimiter;         /* of the CSV input; 0 = ','                    */
    int skip_bad_rows;      /* 1: a CSV row with a bad cell is dropped and
                               reported to `skipped`; 0: it fails, naming the
                               row, the column and the value                */
    FILE *skipped;          /* where skipped rows are reported              */
} fs_predict_opts;

typedef struct {
    size_t rows;            /* prediction rows written                      */
} fs_predict_summary;

/*
 * fs_predict_file - read o->input, apply pipeline p and write one CSV line
 * per row to o->out: "row" (the 1-based file row of a CSV, header = row 1;
 * the 1-based row of an HDF5 file), the id column (named as in the schema)
 * when the input has ids, "prediction" (the class name, or the value),
 * then for classification one column "p(NAME)" per class with its
 * probability.  Class names: the schema's, else the input file's, else
 * 0..K-1.  Any model plugs in through fn (fs_model checkpoints:
 * fs_predict_checkpoint; other engines call this with their scorer).  A CSV
 * input needs a pipeline with a schema (FS_ERR_DATA otherwise, saying so).
 * Not collective.  Returns FS_OK, FS_ERR_ARG, FS_ERR_IO, FS_ERR_DATA (the
 * message names the file and, for a bad cell, the row, column and value),
 * FS_ERR_NOMEM, or fn's error.
 */
FS_EXPORT fs_err fs_predict_file(const fs_prep *p, fs_task task, int num_classes,
                                 fs_predict_fn fn, void *model, const fs_predict_opts *o,
                                 fs_predict_summary *sum) FS_WARN_UNUSED;

/*
 * fs_predict_checkpoint - fs_predict_file with the pipeline and the model
 * (linear, logistic, softmax, mlp) of a `fedsilo train` checkpoint.  Not
 * collective.  Returns as fs_predict_file.
 */
FS_EXPORT fs_err fs_predict_checkpoint(const fs_checkpoint *ck, const fs_predict_opts *o,
                                       fs_predict_summary *sum) FS_WARN_UNUSED;

/* fs_prep_destroy - NULL-safe; sets *p = NULL. */
FS_EXPORT void fs_prep_destroy(fs_prep **p);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_PREP_H */

/*
 * fs_fl_impl.h - internals of the fl layer: the aggregation interface and
 * checkpoint writing.  Not installed.
 */
#ifndef FEDSILO_FS_FL_IMPL_H
#define FEDSILO_FS_FL_IMPL_H

#include <mpi.h>
#include "fs_mpi_impl.h"
#include "fedsilo/fs_config.h"
#include "fedsilo/fs_fl.h"
#include "fedsilo/fs_model.h"
#include "fedsilo/fs_secagg.h"

/*
 * The aggregator: the single function through which anything leaves a
 * rank.  fs_agg_sum_* returns sum over ranks of `in` in `out` on every
 * rank.  Collective on the aggregator's communicator; every rank returns
 * the same code.  `vector` names the quantity being summed (model update,
 * metric sums); with round it forms the mask nonce of the secure sum, so a
 * (round, vector) pair must be used at most once per job.
 */
typedef struct fs_agg fs_agg;

typedef enum {
    FS_VEC_NSAMPLES = 1,  /* sample counts, once per job at round 0        */
    FS_VEC_UPDATE = 2,    /* weighted model update                         */
    FS_VEC_TRAIN = 3,     /* training loss sums                            */
    FS_VEC_EVAL = 4,      /* validation + test metric sums                 */
    FS_VEC_STD_MEAN = 5,  /* --standardize: feature sums, round 0          */
    FS_VEC_STD_VAR = 6    /* --standardize: centred squares, round 0       */
} fs_vec_id;

/* Collective on comm (which the aggregator borrows; it must outlive it). */
FS_INTERN fs_err fs_agg_create(MPI_Comm comm, const fs_config *cfg, fs_agg **out);
/* Key-setup seconds of the secure sum (0 for plain). */
FS_INTERN double fs_agg_setup_seconds(const fs_agg *agg);
FS_INTERN void fs_agg_destroy(fs_agg **agg);
/* Collective.  *nclipped (may be NULL) receives how many of this rank's
 * coordinates the fixed-point codec clipped (0 for plain). */
FS_INTERN fs_err fs_agg_sum_f32(fs_agg *agg, int round, fs_vec_id vec, const float *in,
                                float *out, size_t n, size_t *nclipped);
FS_INTERN fs_err fs_agg_sum_f64(fs_agg *agg, int round, fs_vec_id vec, const double *in,
                                double *out, size_t n);
/* The secure-sum context of a secure aggregator (NULL for plain); borrowed. */
FS_INTERN fs_secagg *fs_agg_secagg(fs_agg *agg);
/* Name of the aggregation mode ("plain", "secure"). */
FS_INTERN const char *fs_agg_name(const fs_agg *agg);

/*
 * fs_checkpoint_write - write ck to path atomically (path.tmp.<pid>,
 * fsync, rename, fsync of the directory).  Not collective (rank 0 calls
 * it).  On failure the previous file at path is untouched.
 */
FS_INTERN fs_err fs_checkpoint_write(const fs_checkpoint *ck, const char *path);

/*
 * fs_path_expand_rank - copy a path pattern to out, replacing its one
 * optional "%d" by rank (fs_config_check allows at most one placeholder).
 * Truncates to fit cap.  Not collective.
 */
FS_INTERN void fs_path_expand_rank(char *out, size_t cap, const char *pattern, int rank);

/*
 * Evaluation sums (src/fl/fs_metrics.c).  A vector of fs_metrics_len(task,
 * K) doubles holds additive sums; vectors of different ranks are summed
 * (securely) and turned into a report by fs_metrics_report.  Layout:
 *   [0] count [1] loss sum [2] correct [3] squared error [4] absolute error
 *   [5] sum y [6] sum y^2, then K*K confusion counts (K <= 32), then for
 *   K == 2 the positive and negative score histograms (2 * ROC_BINS).
 */
FS_INTERN size_t fs_metrics_len(fs_task task, int num_classes);
/* Adds the sums of model m on all rows of ds to vec.  Not collective. */
FS_INTERN fs_err fs_metrics_accumulate(fs_model *m, const fs_dataset *ds, double *vec);
FS_INTERN void fs_metrics_report(const double *vec, fs_task task, int num_classes,
                                 fs_eval_report *out);

/*
 * fs_standardize_apply - X[i][j] = (X[i][j] - mean[j]) / scale[j] on all
 * rows of ds (d = ds->d).  Not collective.
 */
FS_INTERN void fs_standardize_apply(fs_dataset *ds, const double *mean, const double *scale);

/* Fingerprint of a parameter vector (bit pattern of the floats). */
FS_INTERN uint64_t fs_params_hash(const float *p, size_t n);

#endif

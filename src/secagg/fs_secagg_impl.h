/*
 * fs_secagg_impl.h - internals of the secagg layer (not installed): the
 * aggregation interface through which every quantity leaves a rank, plain
 * or secure, on top of the MPI binding of the secure sum (fs_secagg.h).
 */
#ifndef FEDSILO_FS_SECAGG_IMPL_H
#define FEDSILO_FS_SECAGG_IMPL_H

#include <mpi.h>
#include "fs_mpi_impl.h"
#include "fedsilo/fs_config.h"
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

#endif /* FEDSILO_FS_SECAGG_IMPL_H */

/*
 * fs_secagg_impl.h - internals of the secagg layer (not installed): the
 * aggregation interface through which every quantity leaves a rank, plain
 * or secure, on top of the MPI binding of the secure sum (fs_secagg.h).
 */
#ifndef FEDSILO_FS_SECAGG_IMPL_H
#define FEDSILO_FS_SECAGG_IMPL_H

#include <mpi.h>
#include "fs_mpi_impl.h"
#include "fedsilo/fs_secagg.h"

/*
 * The aggregator: the single interface through which anything leaves a
 * rank.  fs_agg_sum_* returns the sum over ranks of `in` in `out` on every
 * rank: FS_AGG_SECURE is the masked fixed-point secure sum (no rank
 * receives another rank's vector), FS_AGG_PLAIN the measured, insecure
 * MPI_Allreduce baseline.  Collective on the aggregator's communicator;
 * every rank returns the same code.  `vector_id` names the quantity being
 * summed; with `round` it forms the mask nonce of the secure sum, so a
 * (round, vector_id) pair must be used at most once per session.
 */
typedef struct fs_agg fs_agg;

typedef struct {
    fs_agg_mode mode;
    fs_secagg_opts sa;           /* FS_AGG_SECURE: the session; sa.vec.frac_bits
                                    < 0 means the largest the headroom rule
                                    allows for this many ranks (weight 1)    */
} fs_agg_opts;

/*
 * fs_agg_create - collective on comm (borrowed: it must outlive the
 * aggregator; it should have MPI_ERRORS_RETURN).  The secure mode runs the
 * key setup and rank 0 logs its parameters and session id.  returns the
 * same code on every rank (fs_secagg_create's, or FS_ERR_ARG when no
 * fixed-point precision fits).
 */
FS_INTERN fs_err fs_agg_create(MPI_Comm comm, const fs_agg_opts *o, fs_agg **out);
/* Key-setup seconds of the secure sum (0 for plain). */
FS_INTERN double fs_agg_setup_seconds(const fs_agg *agg);
/* Collective (frees the session's communicator); NULL-safe. */
FS_INTERN void fs_agg_destroy(fs_agg **agg);
/* Collective.  *nclipped (may be NULL) receives how many of this rank's
 * coordinates the fixed-point codec clipped (0 for plain). */
FS_INTERN fs_err fs_agg_sum_f32(fs_agg *agg, uint64_t round, uint32_t vector_id,
                                const float *in, float *out, size_t n, size_t *nclipped);
/* Collective: doubles through the statistics codec (exact below 2^31 for
 * integers; out of range is FS_ERR_NUMERIC on every rank). */
FS_INTERN fs_err fs_agg_sum_f64(fs_agg *agg, uint64_t round, uint32_t vector_id,
                                const double *in, double *out, size_t n);
/* The secure-sum context of a secure aggregator (NULL for plain); borrowed. */
FS_INTERN fs_secagg *fs_agg_secagg(fs_agg *agg);
/* Name of the aggregation mode ("plain", "secure"). */
FS_INTERN const char *fs_agg_name(const fs_agg *agg);

#endif /* FEDSILO_FS_SECAGG_IMPL_H */

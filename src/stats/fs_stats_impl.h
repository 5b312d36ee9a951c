/*
 * fs_stats_impl.h - internals shared by the analytics programs (src/stats;
 * not installed): fs_stats.c (descriptive statistics), fs_ridge.c (ridge
 * regression), fs_stats_run.c (the `fedsilo stats` and `ridge` runs on the
 * federation core).
 */
#ifndef FEDSILO_FS_STATS_IMPL_H
#define FEDSILO_FS_STATS_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include "fs_mpi_impl.h"
#include "fedsilo/fs_secagg.h"
#include "fedsilo/fs_stats.h"

/* Vector ids of the secure sums (the nonce is (step, id); step is fresh).
 * The runs' sums through the federation core use round 0: the table
 * counts (VID_STATS_TABLE) and the --impute fit (fs_prep_fit, ids
 * VID_PREP .. VID_PREP + 6). */
enum { VID_STATS_MOMENT1 = 0x5301, VID_STATS_MOMENT2, VID_STATS_HIST, VID_STATS_TABLE,
       VID_RIDGE = 0x5201, VID_PREP = 0x5310 };

/*
 * fs_stats_sum - collective: agree on `local` (this rank's status of
 * preparing buf), then buf = sum over ranks of buf (n doubles, in place):
 * the secure sum when sa is not NULL, else MPI_Allreduce (the plain
 * comparison).  The round of the secure sum is (*step)++, so (round, vid)
 * is fresh.  A failure is prefixed with `what`.
 */
FS_INTERN fs_err fs_stats_sum(MPI_Comm comm, fs_secagg *sa, uint64_t *step, uint32_t vid,
                              double *buf, size_t n, const char *what, fs_err local);

/*
 * fs_stats_check_uniform - collective: every rank compares its k values
 * (k <= 16) with rank 0's (broadcast); a difference is `code` (FS_ERR_DATA
 * for shapes, FS_ERR_ARG for options), named by the first differing rank
 * on every rank.  Agrees on `local` first.
 */
FS_INTERN fs_err fs_stats_check_uniform(MPI_Comm comm, fs_err local, const double *v,
                                        const char *const *names, int k, fs_err code);

/* Index of (j, k), j <= k, in the row-major upper triangle of a p x p matrix. */
static inline size_t tri(size_t p, size_t j, size_t k) { return j * p - j * (j - 1) / 2 + (k - j); }

#endif /* FEDSILO_FS_STATS_IMPL_H */

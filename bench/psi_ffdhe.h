/*
 * psi_ffdhe.h - the previous, leaky ffdhe2048 PSI (bench/psi_ffdhe.c):
 * a reference for benchmarks and leak tests only.
 */
#ifndef FEDSILO_BENCH_PSI_FFDHE_H
#define FEDSILO_BENCH_PSI_FFDHE_H
#include <stddef.h>
#include <mpi.h>
#include "fedsilo/fs_error.h"

/* Bytes of one group element on the wire (ffdhe2048). */
#define PSI_FFDHE_ELEMBYTES 256
/* Tags of the ring hops and of the hop that returns each list to its owner. */
#define PSI_FFDHE_TAG_RING 7101
#define PSI_FFDHE_TAG_BACK 7102

/*
 * psi_ffdhe_intersect - the old protocol: collective on comm; ids (n,
 * borrowed); *idx_out (caller frees) holds the *m_out indices of the ids
 * that every rank holds, in the order of their exponentiated values.
 * Returns the same code on every rank.  LEAKS pairwise membership.
 */
fs_err psi_ffdhe_intersect(MPI_Comm comm, const char *const *ids, size_t n, size_t **idx_out,
                           size_t *m_out);
#endif

/*
 * fs_mpi_impl.h - internal MPI helpers of the core layer (only for files
 * that bind to MPI: fs_agree.c, the secure-sum binding, the federation core
 * and the programs).
 */
#ifndef FEDSILO_FS_MPI_IMPL_H
#define FEDSILO_FS_MPI_IMPL_H

#include <mpi.h>
#include "fs_impl.h"

/*
 * fs_mpi_allreduce_chunked - in-place MPI_Allreduce(MPI_SUM) of `count`
 * elements of `type` (elem_size bytes each) in chunks of at most 2^28
 * elements, so vectors beyond 2^31 elements or bytes work.  Collective on
 * comm; every rank runs the same chunk sequence.  Returns FS_OK or
 * FS_ERR_MPI (message names the call).
 */
FS_INTERN fs_err fs_mpi_allreduce_chunked(void *buf, size_t count, size_t elem_size,
                                          MPI_Datatype type, MPI_Comm comm);

#endif

/*
 * fs_vfl_impl.h - internal MPI transport helpers of the vfl layer (not
 * installed): byte transfers of any size_t length, chunked below INT_MAX
 * (STYLE.md P4), on a communicator that has MPI_ERRORS_RETURN.
 */
#ifndef FEDSILO_FS_VFL_IMPL_H
#define FEDSILO_FS_VFL_IMPL_H
#include <stddef.h>
#include <mpi.h>
#include "fs_impl.h"

/* Largest chunk per MPI call (bytes). */
#define FS_VFL_CHUNK ((size_t)1 << 30)

/* fs_vfl_send / fs_vfl_recv - blocking point-to-point transfer of len bytes
 * (both sides pass the same len) in chunks.  Not collective.
 * returns FS_OK or FS_ERR_MPI. */
FS_INTERN fs_err fs_vfl_send(const void *buf, size_t len, int dest, int tag, MPI_Comm comm);
FS_INTERN fs_err fs_vfl_recv(void *buf, size_t len, int src, int tag, MPI_Comm comm);

/* fs_vfl_sendrecv - send slen bytes to dest while receiving rlen bytes from
 * src (deadlock-free on a ring).  returns FS_OK or FS_ERR_MPI. */
FS_INTERN fs_err fs_vfl_sendrecv(const void *sbuf, size_t slen, int dest, void *rbuf,
                                 size_t rlen, int src, int tag, MPI_Comm comm);

/* fs_vfl_bcast - MPI_Bcast of len bytes from root, chunked.  Collective. */
FS_INTERN fs_err fs_vfl_bcast(void *buf, size_t len, int root, MPI_Comm comm);

/* fs_vfl_dup - MPI_Comm_dup with MPI_ERRORS_RETURN; *out = MPI_COMM_NULL
 * on failure.  Collective. */
FS_INTERN fs_err fs_vfl_dup(MPI_Comm comm, MPI_Comm *out);
#endif

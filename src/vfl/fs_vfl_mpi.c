/*
 * fs_vfl_mpi.c - byte transport of the vfl layer over MPI (point-to-point,
 * ring exchange and broadcast), chunked so that no count passed to MPI
 * exceeds INT_MAX (STYLE.md P4).
 */
#include <limits.h>
#include "vfl/fs_vfl_impl.h"
#include "fedsilo/fs_agree.h"

static int chunk(size_t len, size_t off)
{
    size_t c = len - off;
    return (int)(c > FS_VFL_CHUNK ? FS_VFL_CHUNK : c);
}

fs_err fs_vfl_send(const void *buf, size_t len, int dest, int tag, MPI_Comm comm)
{
    size_t off = 0;
    do {
        int c = chunk(len, off);
        int mrc = MPI_Send((const char *)buf + off, c, MPI_BYTE, dest, tag, comm);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Send");
        off += (size_t)c;
    } while (off < len);
    return FS_OK;
}

fs_err fs_vfl_recv(void *buf, size_t len, int src, int tag, MPI_Comm comm)
{
    size_t off = 0;
    do {
        int c = chunk(len, off);
        int mrc = MPI_Recv((char *)buf + off, c, MPI_BYTE, src, tag, comm, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Recv");
        off += (size_t)c;
    } while (off < len);
    return FS_OK;
}

fs_err fs_vfl_sendrecv(const void *sbuf, size_t slen, int dest, void *rbuf, size_t rlen,
                       int src, int tag, MPI_Comm comm)
{
    size_t so = 0, ro = 0;
    do {
        int sc = so < slen ? chunk(slen, so) : 0, rc = ro < rlen ? chunk(rlen, ro) : 0;
        int mrc = MPI_Sendrecv((const char *)sbuf + so, sc, MPI_BYTE, dest, tag,
                               (char *)rbuf + ro, rc, MPI_BYTE, src, tag, comm,
                               MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Sendrecv");
        so += (size_t)sc;
        ro += (size_t)rc;
    } while (so < slen || ro < rlen);
    return FS_OK;
}

fs_err fs_vfl_bcast(void *buf, size_t len, int root, MPI_Comm comm)
{
    size_t off = 0;
    do {
        int c = chunk(len, off);
        int mrc = MPI_Bcast((char *)buf + off, c, MPI_BYTE, root, comm);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast");
        off += (size_t)c;
    } while (off < len);
    return FS_OK;
}

fs_err fs_vfl_dup(MPI_Comm comm, MPI_Comm *out)
{
    *out = MPI_COMM_NULL;
    int mrc = MPI_Comm_dup(comm, out);
    if (mrc != MPI_SUCCESS) {
        *out = MPI_COMM_NULL;
        return fs_from_mpi(mrc, "MPI_Comm_dup");
    }
    MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN);
    return FS_OK;
}

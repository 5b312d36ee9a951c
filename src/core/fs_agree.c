/*
 * fs_agree.c - collective error agreement (core layer; the only core file
 * that uses MPI): a MAXLOC allreduce of (code, rank), then a broadcast of
 * the worst rank's message, prefixed once with "rank R: ", so that every
 * rank exits with one identical sentence naming the failing rank.  A rank
 * whose own status is a failure never accepts an agreed result below it.
 * A failure's private detail (fs_error_detail) is logged on its own rank
 * and never sent.
 */
#include <stdio.h>
#include <string.h>
#include <mpi.h>
#include "fs_mpi_impl.h"
#include "fedsilo/fs_agree.h"

#define AGREE_MSG_CAP 1024

fs_err fs_from_mpi(int mpi_rc, const char *what)
{
    if (mpi_rc == MPI_SUCCESS) return FS_OK;
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(mpi_rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "code %d", mpi_rc);
    return fs_error_set(FS_ERR_MPI, "%s failed: %s", what, s);
}

fs_err fs_agree(MPI_Comm comm, fs_err local, int *bad_rank)
{
    struct { int code, rank; } in, out;
    int rank = 0;
    if (bad_rank) *bad_rank = -1;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS)
        return fs_error_set(FS_ERR_MPI, "MPI_Comm_rank failed while agreeing on an error");
    /* MAXLOC on (code, rank) picks the most severe code and, among equal
     * codes, the lowest rank (MPI breaks MAXLOC ties toward the smaller
     * index). */
    in.code = (int)local;
    in.rank = rank;
    int mrc = MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MAXLOC, comm);
    if (mrc != MPI_SUCCESS) {
        char prev[AGREE_MSG_CAP];
        snprintf(prev, sizeof prev, "%s", fs_errmsg());
        (void)fs_from_mpi(mrc, "MPI_Allreduce (error agreement)");
        if (local != FS_OK) fs_error_prefix(FS_ERR_MPI, "%s; ", prev);
        return FS_ERR_MPI;
    }
    /* A failing rank's private detail goes to its own log only. */
    if (local != FS_OK && fs_errdetail()[0])
        fs_log(FS_LOG_ERROR, "rank %d: %s [this institution only: %s]", rank,
               fs_errmsg()[0] ? fs_errmsg() : fs_strerror(local), fs_errdetail());
    /* The agreed pair can only be at least this rank's own (code, rank) in
     * MAXLOC order.  Anything lower (e.g. "all OK" while this rank failed)
     * did not come from an honest reduction: the transport altered it.
     * This rank then stops with its own error instead of believing it, so
     * a forged "all OK" cannot make a failing rank continue; as FS_ERR_MPI,
     * because the ranks are out of step (the caller aborts the job rather
     * than wait in MPI_Finalize for peers in another collective). */
    if (local != FS_OK && (out.code < in.code || (out.code == in.code && out.rank > rank))) {
        if (!fs_error_is_agreed() && fs_errmsg()[0])
            fs_error_prefix(local, "rank %d: ", rank);
        else if (!fs_errmsg()[0])
            fs_error_set(local, "rank %d: %s", rank, fs_strerror(local));
        fs_error_prefix(FS_ERR_MPI, "the error agreement returned a result below this rank's "
                        "own failure (altered on the transport?), so the ranks are out of step; ");
        if (bad_rank) *bad_rank = rank;
        return FS_ERR_MPI;
    }
    if (out.code == FS_OK) return FS_OK;
    int worst = out.rank;
    if (bad_rank) *bad_rank = worst;

    /* Share the failing rank's sentence (never its detail). */
    char msg[AGREE_MSG_CAP];
    if (rank == worst) {
        const char *m = fs_errmsg();
        if (fs_error_is_agreed()) snprintf(msg, sizeof msg, "%s", m);
        else snprintf(msg, sizeof msg, "rank %d: %s", worst, m[0] ? m : fs_strerror(local));
    }
    mrc = MPI_Bcast(msg, AGREE_MSG_CAP, MPI_CHAR, worst, comm);
    if (mrc != MPI_SUCCESS) {
        (void)fs_from_mpi(mrc, "MPI_Bcast (error message)");
        return FS_ERR_MPI;
    }
    msg[AGREE_MSG_CAP - 1] = '\0';
    fs_error_set((fs_err)out.code, "%s", msg);
    fs_error_mark_agreed();
    return (fs_err)out.code;
}

fs_err fs_mpi_allreduce_chunked(void *buf, size_t count, size_t elem_size, MPI_Datatype type,
                                MPI_Comm comm)
{
    const size_t chunk = (size_t)1 << 28;  /* elements per call; < INT_MAX */
    unsigned char *p = buf;
    for (size_t off = 0; off < count; off += chunk) {
        size_t m = count - off < chunk ? count - off : chunk;
        /* collective: every rank runs the same chunk sequence */
        int mrc = MPI_Allreduce(MPI_IN_PLACE, p + off * elem_size, (int)m, type, MPI_SUM, comm);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Allreduce");
    }
    return FS_OK;
}

/*
 * fs_agree.h - collective agreement on errors.
 *
 * Rank-local work (reading a shard, local SGD, checking a signature) can fail
 * on one rank only.  Before the next collective call every rank calls
 * fs_agree with its local status; all ranks then return the same code and
 * the same message, so none of them waits forever in a collective that a
 * failed rank will never enter.
 */
#ifndef FEDSILO_FS_AGREE_H
#define FEDSILO_FS_AGREE_H

#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fs_agree - agree on the most severe error across comm.
 *
 * Collective on comm.  Every rank passes its local status; every rank
 * returns the most severe code (numeric MAX), and *bad_rank (may be NULL)
 * receives the lowest rank that reported it (-1 if all are FS_OK).  When the
 * result is not FS_OK, the failing rank's fs_errmsg() is broadcast and
 * becomes the message on every rank, prefixed with "rank R: ".  fs_agree
 * owns that prefix: callers never write the rank into a message that they
 * pass to it.  A message that an earlier fs_agree produced (an agreed error
 * handed on as `local`) keeps its one prefix.  Ranks that did not fail
 * therefore report the same sentence as the rank that did.  The message
 * must carry no private value of the failing institution: such values go
 * into its detail (fs_error_detail), which every failing rank logs locally
 * (fs_log, FS_LOG_ERROR) and which is never broadcast.
 *
 * A failing rank never returns less than its own failure: if the reduced
 * (code, rank) is below its own in MAXLOC order (an "all OK", or a milder
 * code, that an honest reduction cannot produce), it returns FS_ERR_MPI
 * (the ranks are out of step: the caller must abort the job) with its own
 * message, prefixed "the error agreement returned a result below this
 * rank's own failure (altered on the transport?), so the ranks are out of
 * step; ".  The
 * agreement is not authenticated otherwise: an attacker on the transport
 * can still make an honest rank fail, or let a failing rank stop alone
 * (the others then end at their next collective, by MPI error or watchdog).
 *
 * comm should have MPI_ERRORS_RETURN set; if the reduction itself fails,
 * FS_ERR_MPI is returned locally (the communicator is then unusable and
 * the caller must abort the job).
 */
FS_EXPORT fs_err fs_agree(MPI_Comm comm, fs_err local, int *bad_rank) FS_WARN_UNUSED;

/*
 * fs_from_mpi - convert an MPI return code to fs_err, recording the MPI
 * error string and the name of the failing call.  Not collective.
 */
FS_EXPORT fs_err fs_from_mpi(int mpi_rc, const char *what);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_AGREE_H */

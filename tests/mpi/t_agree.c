/*
 * t_agree.c - collective error agreement (fs_agree) under MPI.
 *
 * Cases: all OK -> FS_OK everywhere; one rank fails -> every rank returns
 * its code and its message prefixed "rank R: "; two ranks fail with
 * different codes -> the more severe wins; equal codes -> the lowest rank
 * wins; an agreed message agreed again keeps its one prefix, while a
 * fresh message that merely starts with "rank " gets one; a private detail
 * (fs_error_detail, fs_error_privatize) never reaches the agreed message
 * of any rank, the failing one included.  Verdict through
 * mtest.h: every rank exits with the same status.
 */
#include <stdio.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include "mtest.h"

int main(int argc, char **argv)
{
    mtest_init(&argc, &argv);
    const int rank = mtest_rank(), size = mtest_size();
    int bad;

    fs_err rc = fs_agree(MPI_COMM_WORLD, FS_OK, &bad);
    MT_CHECK(rc == FS_OK && bad == -1, "all-OK agreement returned %d/%d", rc, bad);

    fs_err local = FS_OK;
    if (rank == size - 1) local = fs_error_set(FS_ERR_IO, "cannot open shard-%d.h5", rank);
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    char want[128];
    snprintf(want, sizeof want, "rank %d: cannot open shard-%d.h5", size - 1, size - 1);
    MT_CHECK(rc == FS_ERR_IO && bad == size - 1, "single failure gave %d/%d", rc, bad);
    MT_CHECK(strcmp(fs_errmsg(), want) == 0, "message '%s' != '%s'", fs_errmsg(), want);

    local = FS_OK;
    if (rank == 1) local = fs_error_set(FS_ERR_DATA, "bad data");
    if (rank == 2) local = fs_error_set(FS_ERR_AUTH, "authentication failed");
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    MT_CHECK(rc == FS_ERR_AUTH && bad == 2, "severity order gave %d/%d", rc, bad);
    MT_CHECK(strcmp(fs_errmsg(), "rank 2: authentication failed") == 0, "message '%s'",
             fs_errmsg());

    local = (rank >= 1) ? fs_error_set(FS_ERR_NUMERIC, "NaN loss") : FS_OK;
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    MT_CHECK(rc == FS_ERR_NUMERIC && bad == 1, "tie-break gave %d/%d", rc, bad);
    MT_CHECK(strcmp(fs_errmsg(), "rank 1: NaN loss") == 0, "message '%s'", fs_errmsg());

    /* An agreed error handed on to an outer agreement keeps its one prefix
     * (positive control of the mark: a fresh message gets one). */
    rc = fs_agree(MPI_COMM_WORLD, fs_agree(MPI_COMM_WORLD, rank == size - 1 ? fs_error_set(FS_ERR_IO,
                  "disk full") : FS_OK, NULL), &bad);
    snprintf(want, sizeof want, "rank %d: disk full", size - 1);
    MT_CHECK(rc == FS_ERR_IO && strcmp(fs_errmsg(), want) == 0, "re-agreed msg '%s' != '%s'",
             fs_errmsg(), want);
    local = rank == 0 ? fs_error_set(FS_ERR_IO, "rank %d: disk full", size - 1) : FS_OK;
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    snprintf(want, sizeof want, "rank 0: rank %d: disk full", size - 1);
    MT_CHECK(rc == FS_ERR_IO && strcmp(fs_errmsg(), want) == 0, "fresh msg '%s' != '%s'",
             fs_errmsg(), want);

    /* Public message + private detail: the agreed sentence is the public
     * part on every rank; the detail is set where expected (positive
     * control) and gone after the agreement. */
    local = FS_OK;
    if (rank == size - 1) {
        local = fs_error_set(FS_ERR_DATA, "its shard is malformed");
        fs_error_detail(local, "shard-%d.h5 row 17 value 4242", rank);
        MT_CHECK(strstr(fs_errdetail(), "4242") != NULL, "detail not kept: '%s'", fs_errdetail());
    }
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    snprintf(want, sizeof want, "rank %d: its shard is malformed", size - 1);
    MT_CHECK(rc == FS_ERR_DATA && strcmp(fs_errmsg(), want) == 0, "public msg '%s' != '%s'",
             fs_errmsg(), want);
    MT_CHECK(!strstr(fs_errmsg(), "4242") && fs_errdetail()[0] == '\0',
             "detail leaked: '%s' / '%s'", fs_errmsg(), fs_errdetail());
    local = FS_OK;
    if (rank == 0) {
        local = fs_error_set(FS_ERR_DATA, "/private/site-0.h5: row 9: label 77 out of range");
        local = fs_error_privatize(local, "its training shard is malformed");
        MT_CHECK(strstr(fs_errdetail(), "label 77") != NULL, "privatize lost the message: '%s'",
                 fs_errdetail());
    }
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    MT_CHECK(rc == FS_ERR_DATA &&
             strcmp(fs_errmsg(), "rank 0: its training shard is malformed") == 0,
             "privatized msg '%s'", fs_errmsg());

    return mtest_finalize();
}

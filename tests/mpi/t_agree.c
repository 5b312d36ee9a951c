/*
 * t_agree.c - collective error agreement (fs_agree) under MPI.
 *
 * Cases: all OK -> FS_OK everywhere; one rank fails -> every rank returns
 * its code and its message prefixed "rank R: "; two ranks fail with
 * different codes -> the more severe wins; equal codes -> the lowest rank
 * wins; an agreed message agreed again keeps its one prefix, while a
 * fresh message that merely starts with "rank " gets one.  Every rank counts its own errors; the counts are summed and every
 * rank exits with the same status (0 = pass).
 */
#include <stdio.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>

static int errors;
#define EXPECT(c, ...) do { if (!(c)) { errors++; fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, bad;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

    fs_err rc = fs_agree(MPI_COMM_WORLD, FS_OK, &bad);
    EXPECT(rc == FS_OK && bad == -1, "rank %d: all-OK agreement returned %d/%d", rank, rc, bad);

    fs_err local = FS_OK;
    if (rank == size - 1) local = fs_error_set(FS_ERR_IO, "cannot open shard-%d.h5", rank);
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    char want[128];
    snprintf(want, sizeof want, "rank %d: cannot open shard-%d.h5", size - 1, size - 1);
    EXPECT(rc == FS_ERR_IO && bad == size - 1, "rank %d: single failure gave %d/%d", rank, rc, bad);
    EXPECT(strcmp(fs_errmsg(), want) == 0, "rank %d: message '%s' != '%s'", rank, fs_errmsg(), want);

    local = FS_OK;
    if (rank == 1) local = fs_error_set(FS_ERR_DATA, "bad data");
    if (rank == 2) local = fs_error_set(FS_ERR_AUTH, "authentication failed");
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    EXPECT(rc == FS_ERR_AUTH && bad == 2, "rank %d: severity order gave %d/%d", rank, rc, bad);
    EXPECT(strcmp(fs_errmsg(), "rank 2: authentication failed") == 0, "rank %d: msg '%s'", rank,
           fs_errmsg());

    local = (rank >= 1) ? fs_error_set(FS_ERR_NUMERIC, "NaN loss") : FS_OK;
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    EXPECT(rc == FS_ERR_NUMERIC && bad == 1, "rank %d: tie-break gave %d/%d", rank, rc, bad);
    EXPECT(strcmp(fs_errmsg(), "rank 1: NaN loss") == 0, "rank %d: msg '%s'", rank, fs_errmsg());

    /* An agreed error handed on to an outer agreement keeps its one prefix
     * (positive control of the mark: a fresh message gets one). */
    rc = fs_agree(MPI_COMM_WORLD, fs_agree(MPI_COMM_WORLD, rank == size - 1 ? fs_error_set(FS_ERR_IO,
                  "disk full") : FS_OK, NULL), &bad);
    snprintf(want, sizeof want, "rank %d: disk full", size - 1);
    EXPECT(rc == FS_ERR_IO && strcmp(fs_errmsg(), want) == 0, "rank %d: re-agreed msg '%s' != '%s'",
           rank, fs_errmsg(), want);
    local = rank == 0 ? fs_error_set(FS_ERR_IO, "rank %d: disk full", size - 1) : FS_OK;
    rc = fs_agree(MPI_COMM_WORLD, local, &bad);
    snprintf(want, sizeof want, "rank 0: rank %d: disk full", size - 1);
    EXPECT(rc == FS_ERR_IO && strcmp(fs_errmsg(), want) == 0, "rank %d: fresh msg '%s' != '%s'",
           rank, fs_errmsg(), want);

    int total = 0;
    MPI_Allreduce(&errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("t_agree (%d ranks): %s (%d errors)\n", size, total ? "FAIL" : "PASS", total);
    MPI_Finalize();
    return total ? 1 : 0;
}

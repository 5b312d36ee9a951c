/*
 * t_mtest.c - the positive control of the MPI test harness (mtest.h).
 *
 * Without arguments every check holds.  With "fail R" rank R fails two
 * checks, and "hard R" makes rank R give up during setup.  tests/mpi/mtest.sh
 * runs all three and checks the verdict line and that the job's exit status
 * is 0, 1 and 99: a failure on one rank fails the whole job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mtest.h"

int main(int argc, char **argv)
{
    mtest_init(&argc, &argv);
    const int bad = argc == 3 ? atoi(argv[2]) : -1;
    const int mine = mtest_rank() == bad;
    if (argc == 3 && strcmp(argv[1], "hard") == 0 && mine) mtest_hard("asked to (rank %d)", bad);
    /* MT_CHECK's value is the condition, and only failures are counted */
    const int held = MT_CHECK(1 + 1 == 2, "arithmetic");
    const int failed = MT_CHECK(!(argc == 3 && mine), "planted failure %d of 2", 1);
    MT_CHECK(held == 1 && failed == !mine, "MT_CHECK evaluated to %d, %d", held, failed);
    MT_CHECK(mtest_errors() == (argc == 3 && mine), "mtest_errors() = %d", mtest_errors());
    MT_CHECK(!(argc == 3 && mine), "planted failure %d of 2", 2);
    MPI_Barrier(MPI_COMM_WORLD);  // collectives still work after a failed check
    return mtest_finalize();
}

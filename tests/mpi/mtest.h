/*
 * mtest.h - the harness of fedsilo's MPI test programs (tests/mpi/t_*.c),
 * after MPICH's test/mpi/util/mtest.c (MTest_Init / MTest_Finalize).
 *
 *     int main(int argc, char **argv)
 *     {
 *         mtest_init(&argc, &argv);           // MPI_Init, MPI_ERRORS_RETURN
 *         MT_CHECK(rc == FS_OK, "sum: %s", fs_errmsg());
 *         return mtest_finalize();           // collective verdict
 *     }
 *
 * MT_CHECK(cond, fmt, ...) counts a failed condition on the calling rank and
 * prints "file:line: rank R: cond: message" to stderr; it evaluates to 1 or
 * 0 (the condition), so a test can skip what depends on it.  It never
 * stops the rank: every rank keeps calling the same collectives.
 * mtest_finalize() sums the counts over MPI_COMM_WORLD, prints one line on
 * rank 0 ("NAME (N ranks): PASS", or "FAIL: E errors on K ranks"), calls
 * MPI_Finalize and returns the same status on every rank: 0 pass, 1 fail,
 * 99 if the reduction itself failed.  mtest_hard() is for a test that
 * cannot set itself up: it aborts the job with status 99 (automake's hard
 * error), so no rank waits for it.
 *
 * Header-only, one test program per translation unit.  Not thread-safe.
 */
#ifndef FEDSILO_TESTS_MTEST_H
#define FEDSILO_TESTS_MTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <mpi.h>

static struct {
    int rank, size, errors;
    const char *name;  // the program's base name
} mtest_state = { 0, 1, 0, "mpi test" };

static inline void mtest_init(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &mtest_state.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mtest_state.size);
    if (*argc > 0 && (*argv)[0]) {
        const char *slash = strrchr((*argv)[0], '/');
        mtest_state.name = slash ? slash + 1 : (*argv)[0];
    }
}

static inline int mtest_rank(void) { return mtest_state.rank; }
static inline int mtest_size(void) { return mtest_state.size; }
/* Failed checks on this rank so far. */
static inline int mtest_errors(void) { return mtest_state.errors; }

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline int mtest_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    char msg[1024];  // one write per report, so ranks' lines do not interleave
    va_list ap;
    mtest_state.errors++;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s:%d: rank %d: %s: %s\n", file, line, mtest_state.rank, cond, msg);
    fflush(stderr);
    return 0;
}

#define MT_CHECK(cond, ...) ((cond) ? 1 : mtest_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static inline void mtest_hard(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: rank %d: cannot set up: %s\n", mtest_state.name, mtest_state.rank, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 99);
    for (;;) {}  // MPI_Abort does not return
}

/* Collective on MPI_COMM_WORLD: the verdict, the same on every rank. */
static inline int mtest_finalize(void)
{
    int mine[2] = { mtest_state.errors, mtest_state.errors > 0 }, all[2] = { 0, 0 };
    int status;
    if (MPI_Allreduce(mine, all, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "%s: rank %d: the error count could not be reduced\n", mtest_state.name,
                mtest_state.rank);
        status = 99;
    } else {
        status = all[0] ? 1 : 0;
        if (mtest_state.rank == 0) {
            if (status)
                printf("%s (%d ranks): FAIL: %d errors on %d ranks\n", mtest_state.name,
                       mtest_state.size, all[0], all[1]);
            else
                printf("%s (%d ranks): PASS\n", mtest_state.name, mtest_state.size);
        }
    }
    fflush(stdout);
    MPI_Finalize();
    return status;
}

#endif

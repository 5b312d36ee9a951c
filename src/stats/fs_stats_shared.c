/*
 * fs_stats_shared.c - what the analytics programs share: the sum of a
 * vector of statistics (secure, or the plain comparison) with its nonce
 * counter, and the check that a value is the same on every rank.
 */
#include <stdio.h>
#include <string.h>
#include "stats/fs_stats_impl.h"
#include "fedsilo/fs_agree.h"

fs_err fs_stats_sum(MPI_Comm comm, fs_secagg *sa, uint64_t *step, uint32_t vid, double *buf,
                    size_t n, const char *what, fs_err local)
{
    local = fs_agree(comm, local, NULL);
    if (local != FS_OK) return local;
    uint64_t round = (*step)++;
    fs_err rc = sa ? fs_secagg_sum_f64(sa, round, vid, buf, buf, n, NULL)
                   : fs_mpi_allreduce_chunked(buf, n, sizeof *buf, MPI_DOUBLE, comm);
    if (rc != FS_OK) fs_error_prefix(rc, "%s: ", what);
    return rc;
}

/*
 * Collective: every rank compares its k values with rank 0's (broadcast);
 * a difference is FS_ERR_DATA (shape) or FS_ERR_ARG (options), named by
 * the first differing rank on every rank.  Also agrees on `local` first,
 * so a rank-local failure before this point is reported, not hung on.
 */
fs_err fs_stats_check_uniform(MPI_Comm comm, fs_err local, const double *v, const char *const *names,
                            int k, fs_err code)
{
    fs_err rc = FS_OK;
    double ref[16];
    FS_TRY(fs_agree(comm, local, NULL));
    memcpy(ref, v, (size_t)k * sizeof *v);
    FS_TRY(fs_from_mpi(MPI_Bcast(ref, k, MPI_DOUBLE, 0, comm), "MPI_Bcast (analytics check)"));
    for (int i = 0; i < k; i++)
        if (memcmp(&ref[i], &v[i], sizeof *v) != 0) {
            local = fs_error_set(code, "%s = %g, but rank 0 has %g", names[i], v[i], ref[i]);
            break;
        }
    FS_TRY(fs_agree(comm, local, NULL));
done:
    return rc;
}


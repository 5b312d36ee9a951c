/*
 * secure_sum.c - use libfedsilo's secure-sum allreduce from your own MPI
 * program.
 *
 * Every rank (institution) contributes a vector of floats; fs_secagg_sum_f32
 * returns the element-wise sum over all ranks to every rank, while no rank
 * ever sees another rank's vector (each contribution is encoded in fixed
 * point and hidden by pairwise masks that cancel only in the sum).  The
 * program checks the result against a plain MPI_Allreduce and prints a PASS
 * line on rank 0.
 *
 *   mpirun -np 3 ./secure_sum                          unauthenticated (warns)
 *   mpirun -np 3 ./secure_sum roster.ini 'keys/site-%d.key'    authenticated
 *
 * The second form uses a consortium roster and one identity key per rank,
 * made with `fedsilo keygen` (see docs/keys.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpi.h>
#include <fedsilo.h>

#define N 1000          /* floats per rank */
#define CLIP 4.0        /* every contribution must lie in [-CLIP, CLIP] */

int main(int argc, char **argv)
{
    int rank, size;
    /* GMP hooks first: the library's crypto layer must be initialized before
     * any big integer exists in the process. */
    if (fs_crypto_init() != FS_OK) {
        fprintf(stderr, "secure_sum: %s\n", fs_errmsg());
        return 1;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    /* 1. Codec and key setup: identical options on every rank. */
    fs_secagg_opts opts;
    fs_secagg_opts_default(&opts, size);        /* full mesh: every pair of ranks masks */
    opts.vec.ring_bits = 32;
    opts.vec.clip = CLIP;
    /* The headroom rule: the most fractional bits f for which the sum of
     * `size` values in [-CLIP, CLIP] cannot wrap around in Z_2^32. */
    opts.vec.frac_bits = fs_fixed_suggest(opts.vec.ring_bits, size, CLIP);
    char identity[4096] = "";
    fs_err prc = FS_OK;
    if (argc >= 3) {
        /* "%d" -> rank; the pattern is copied, never used as a printf format */
        prc = fs_path_expand_rank(identity, sizeof identity, argv[2], rank);
        opts.roster_path = argv[1];
        opts.identity_path = identity;
    } else {
        opts.allow_unauthenticated = 1;         /* demo only: no roster */
    }
    fs_secagg *sa = NULL;
    if (prc != FS_OK || opts.vec.frac_bits < 0 ||
        fs_secagg_create(MPI_COMM_WORLD, &opts, &sa) != FS_OK) {
        if (rank == 0) fprintf(stderr, "secure_sum: key setup failed: %s\n", fs_errmsg());
        MPI_Finalize();
        return 1;
    }

    /* 2. This rank's private vector. */
    float *x = malloc(N * sizeof *x), *sum = malloc(N * sizeof *sum);
    double *xd = malloc(N * sizeof *xd), *ref = malloc(N * sizeof *ref);
    if (!x || !sum || !xd || !ref) MPI_Abort(MPI_COMM_WORLD, 1);
    for (int k = 0; k < N; k++) {
        x[k] = (float)(sin(0.01 * k * (rank + 1)) * (rank % 2 ? 1.5 : -0.75) + 0.001 * rank);
        xd[k] = x[k];
    }

    /* 3. The secure sum (collective; (round, vector id) never reused). */
    fs_fixed_stats st = { 0, 0 };
    fs_err rc = fs_secagg_sum_f32(sa, 1, 0, x, sum, N, &st);
    if (rc != FS_OK) {
        if (rank == 0) fprintf(stderr, "secure_sum: %s\n", fs_errmsg());
        fs_secagg_destroy(&sa);
        MPI_Finalize();
        return 1;
    }

    /* 4. Check against the plain (insecure) MPI_Allreduce of the same values,
     * in double.  Bound: each of `size` encodings is within 2^-(f+1) of its
     * input, plus the final rounding of the decoded sum to float. */
    MPI_Allreduce(xd, ref, N, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double maxerr = 0, worst = 0;
    for (int k = 0; k < N; k++) {
        double err = fabs((double)sum[k] - ref[k]);
        double bound = size * ldexp(1.0, -(opts.vec.frac_bits + 1)) + fabs(ref[k]) * 0x1p-23;
        if (err > maxerr) maxerr = err;
        if (err / bound > worst) worst = err / bound;
    }
    int ok = worst <= 1.0 && st.nclipped == 0 && st.nnan == 0, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);

    if (rank == 0) {
        printf("fedsilo %s: secure sum over %d ranks, %d floats each, ring Z_2^%d, "
               "%d fractional bits, %s\n", fs_version_string(), size, N, opts.vec.ring_bits,
               opts.vec.frac_bits, fs_secagg_authenticated(sa) ? "authenticated" : "unauthenticated");
        printf("sum[1], sum[250], sum[500], sum[999] = %.6f %.6f %.6f %.6f\n"
               "MPI_Allreduce of the same vectors     = %.6f %.6f %.6f %.6f\n", sum[1], sum[250],
               sum[500], sum[999], ref[1], ref[250], ref[500], ref[999]);
        printf("%s: max |secure - MPI_Allreduce| = %.3g, %.2f of the fixed-point bound\n",
               all_ok ? "PASS" : "FAIL", maxerr, worst);
    }
    fs_secagg_destroy(&sa);
    free(x);
    free(sum);
    free(xd);
    free(ref);
    MPI_Finalize();
    return all_ok ? 0 : 1;
}

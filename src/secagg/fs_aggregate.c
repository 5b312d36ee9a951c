/*
 * fs_aggregate.c - the aggregation interface of the federated round.
 *
 * Everything that leaves a rank goes through fs_agg_sum_*: "secure" (the
 * default) is the masked fixed-point secure sum (fs_secagg.h): no rank
 * receives another rank's vector, only the sum.  "plain" is the measured
 * baseline, MPI_Allreduce of floats/doubles, which reveals contributions
 * to the reduction tree and exists only for comparison.
 */
#include <stdio.h>
#include <string.h>
#include "secagg/fs_secagg_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_secagg.h"

struct fs_agg {
    MPI_Comm comm;    /* borrowed */
    fs_agg_mode mode;
    fs_secagg *sa;    /* secure mode only */
};

fs_err fs_agg_create(MPI_Comm comm, const fs_agg_opts *opts, fs_agg **out)
{
    fs_err rc = FS_OK;
    fs_agg *agg = NULL;
    *out = NULL;
    fs_err local = fs_zalloc(&agg, 1, sizeof *agg, "aggregator");
    FS_TRY(fs_agree(comm, local, NULL));
    agg->comm = comm;
    agg->mode = opts->mode;
    if (opts->mode == FS_AGG_SECURE) {
        int rank = 0, size = 1;
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &size);
        fs_secagg_opts o = opts->sa;
        /* FedAvg weights n_k/n sum to 1, so the weighted sum is bounded by
         * max |delta| <= c: the headroom rule applies with weight 1. */
        if (o.vec.frac_bits < 0) o.vec.frac_bits = fs_fixed_suggest(o.vec.ring_bits, size, o.vec.clip);
        if (o.vec.frac_bits < 0) {
            local = fs_error_set(FS_ERR_ARG, "no fixed-point precision fits %d institutions with "
                                 "clip %g in a %d-bit ring; use --ring-bits 64 or a smaller --clip",
                                 size, o.vec.clip, o.vec.ring_bits);
            FS_TRY(fs_agree(comm, local, NULL));
        }
        FS_TRY(fs_secagg_create(comm, &o, &agg->sa));  /* collective: key setup */
        if (rank == 0) {
            /* The session id is public (a hash of the key-exchange transcript)
             * and new in every job, resumes included (docs/protocol.md,
             * section 11); its first 8 bytes let operators and tests compare
             * jobs. */
            const uint8_t *sid = fs_secagg_session_id(agg->sa);
            char hex[17];
            for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", sid[i]);
            fs_log(FS_LOG_INFO, "secure sum: ring %d, %d fractional bits, clip %g, %s mask graph "
                   "(degree %d), %s; key setup %.3f s; session %s", o.vec.ring_bits,
                   o.vec.frac_bits, o.vec.clip, o.mask_degree ? "k-regular" : "full-mesh",
                   fs_secagg_degree(agg->sa),
                   fs_secagg_authenticated(agg->sa) ? "authenticated" : "UNAUTHENTICATED",
                   fs_secagg_setup_seconds(agg->sa), hex);
        }
    }
    *out = agg;
    agg = NULL;
done:
    fs_agg_destroy(&agg);
    return rc;
}

void fs_agg_destroy(fs_agg **agg)
{
    if (!agg || !*agg) return;
    fs_secagg_destroy(&(*agg)->sa);
    free(*agg);
    *agg = NULL;
}

fs_secagg *fs_agg_secagg(fs_agg *agg) { return agg->sa; }

const char *fs_agg_name(const fs_agg *agg) { return agg->mode == FS_AGG_PLAIN ? "plain" : "secure"; }

double fs_agg_setup_seconds(const fs_agg *agg)
{
    return agg->sa ? fs_secagg_setup_seconds(agg->sa) : 0.0;
}

fs_err fs_agg_sum_f32(fs_agg *agg, uint64_t round, uint32_t vec, const float *in, float *out,
                      size_t n, size_t *nclipped)
{
    if (nclipped) *nclipped = 0;
    if (agg->mode == FS_AGG_SECURE) {
        fs_fixed_stats st = { 0, 0 };
        fs_err rc = fs_secagg_sum_f32(agg->sa, round, vec, in, out, n, &st);
        if (nclipped) *nclipped = st.nclipped;
        return rc;
    }
    if (out != in) memcpy(out, in, n * sizeof *out);
    return fs_mpi_allreduce_chunked(out, n, sizeof *out, MPI_FLOAT, agg->comm);
}

fs_err fs_agg_sum_f64(fs_agg *agg, uint64_t round, uint32_t vec, const double *in, double *out,
                      size_t n)
{
    if (agg->mode == FS_AGG_SECURE)
        return fs_secagg_sum_f64(agg->sa, round, vec, in, out, n, NULL);
    if (out != in) memcpy(out, in, n * sizeof *out);
    return fs_mpi_allreduce_chunked(out, n, sizeof *out, MPI_DOUBLE, agg->comm);
}

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

typedef enum { AGG_PLAIN = 0, AGG_SECURE = 1 } agg_mode;

struct fs_agg {
    MPI_Comm comm;   /* borrowed */
    agg_mode mode;
    fs_secagg *sa;   /* secure mode only */
};

fs_err fs_agg_create(MPI_Comm comm, const fs_config *cfg, fs_agg **out)
{
    fs_err rc = FS_OK;
    fs_agg *agg = NULL;
    *out = NULL;
    fs_err local = fs_zalloc(&agg, 1, sizeof *agg, "aggregator");
    FS_TRY(fs_agree(comm, local, NULL));
    agg->comm = comm;
    if (strcmp(fs_config_str(cfg, "aggregation"), "plain") == 0) {
        agg->mode = AGG_PLAIN;
    } else {
        int rank = 0, size = 1;
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &size);
        char idpath[4096];
        local = fs_path_expand_rank(idpath, sizeof idpath, fs_config_str(cfg, "identity"), rank);
        FS_TRY(fs_agree(comm, local, NULL));
        fs_secagg_opts o;
        memset(&o, 0, sizeof o);
        o.vec.ring_bits = (int)fs_config_int(cfg, "ring_bits");
        o.vec.clip = fs_config_real(cfg, "clip");
        o.vec.rounding = strcmp(fs_config_str(cfg, "rounding"), "stochastic") == 0
                             ? FS_FIXED_ROUND_STOCHASTIC : FS_FIXED_ROUND_NEAREST;
        long f = fs_config_int(cfg, "frac_bits");
        /* FedAvg weights n_k/n sum to 1, so the weighted sum is bounded by
         * max |delta| <= c: the headroom rule applies with weight 1. */
        if (f < 0) f = fs_fixed_suggest(o.vec.ring_bits, size, o.vec.clip);
        if (f < 0) {
            local = fs_error_set(FS_ERR_ARG, "no fixed-point precision fits %d institutions with "
                                 "clip %g in a %d-bit ring; use --ring-bits 64 or a smaller --clip",
                                 size, o.vec.clip, o.vec.ring_bits);
            FS_TRY(fs_agree(comm, local, NULL));
        }
        o.vec.frac_bits = (int)f;
        o.mask_degree = (int)fs_config_int(cfg, "mask_degree");
        o.roster_path = fs_config_str(cfg, "roster");
        o.identity_path = idpath;
        o.allow_unauthenticated = strcmp(fs_config_str(cfg, "insecure_no_auth"), "yes") == 0;
        o.rounding_seed = (uint64_t)fs_config_int(cfg, "seed");
        FS_TRY(fs_secagg_create(comm, &o, &agg->sa));  /* collective: key setup */
        agg->mode = AGG_SECURE;
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

const char *fs_agg_name(const fs_agg *agg) { return agg->mode == AGG_PLAIN ? "plain" : "secure"; }

double fs_agg_setup_seconds(const fs_agg *agg)
{
    return agg->sa ? fs_secagg_setup_seconds(agg->sa) : 0.0;
}

fs_err fs_agg_sum_f32(fs_agg *agg, int round, fs_vec_id vec, const float *in, float *out,
                      size_t n, size_t *nclipped)
{
    if (nclipped) *nclipped = 0;
    if (agg->mode == AGG_SECURE) {
        fs_fixed_stats st = { 0, 0 };
        fs_err rc = fs_secagg_sum_f32(agg->sa, (uint64_t)round, (uint32_t)vec, in, out, n, &st);
        if (nclipped) *nclipped = st.nclipped;
        return rc;
    }
    if (out != in) memcpy(out, in, n * sizeof *out);
    return fs_mpi_allreduce_chunked(out, n, sizeof *out, MPI_FLOAT, agg->comm);
}

fs_err fs_agg_sum_f64(fs_agg *agg, int round, fs_vec_id vec, const double *in, double *out,
                      size_t n)
{
    if (agg->mode == AGG_SECURE)
        return fs_secagg_sum_f64(agg->sa, (uint64_t)round, (uint32_t)vec, in, out, n, NULL);
    if (out != in) memcpy(out, in, n * sizeof *out);
    return fs_mpi_allreduce_chunked(out, n, sizeof *out, MPI_DOUBLE, agg->comm);
}

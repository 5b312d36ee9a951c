/*
 * fs_secsum_bench.c - engine-side throughput measurements for
 * `fedsilo bench secsum` (secsum layer; no MPI, never prints).
 *
 * The figure of merit is the mask-generation rate in bytes of keystream
 * per second: masking one vector of n values with k neighbours produces
 * k * (n + 1) * (b / 8) keystream bytes.  The target is >= 80% of OpenSSL's
 * own AES-128-CTR rate (fs_prg_openssl_rate), i.e. the zeroing, the
 * add/subtract and the per-block bookkeeping must cost little next to AES.
 * The fused encode_mask rate also includes the fixed-point encoding, a
 * per-value cost that does not scale with k.
 *
 * Every rate is taken from the fastest call, and OpenSSL's rate from the
 * fastest 1 MiB sample interleaved with those calls, so the ratio compares
 * like with like even on a loaded machine.
 * The seeds used here are fixed public test values: nothing is secret.
 */
#include <math.h>
#include <string.h>
#include "fs_impl.h"
#include "crypto/fs_prg_impl.h"
#include "fedsilo/fs_secsum.h"

/* Repeat one kind of work for about `seconds` (>= 3 timed calls after one
 * warm-up call) and return the calls per second of the FASTEST call, which
 * is robust to other load.  kind: 0 = encode only, 1 = mask only, 2 =
 * encode + mask.  After every call, one 1 MiB sample of OpenSSL's own
 * AES-CTR rate updates *ossl_best, so both rates see the same load. */
static fs_err time_loop(int kind, fs_masker *m, const fs_fixed_params *fp, const float *x,
                        size_t n, void *out, uint64_t *round, double seconds, double *calls_ps,
                        double *ossl_best)
{
    fs_err rc = FS_OK;
    fs_fixed_stats st = { 0, 0 };
    double start = fs_now(), best = -1;
    for (long calls = -1;; calls++) {
        double t0 = fs_now();
        if (kind == 0) {
            FS_TRY(fs_fixed_encode_f32(fp, x, n, out, 1, &st));
        } else if (kind == 1) {
            if (fp->ring_bits == 32)
                ((uint32_t *)out)[n] = 0;
            else
                ((uint64_t *)out)[n] = 0;
            FS_TRY(fs_masker_mask(m, (*round)++, 0, out, n));
        } else {
            FS_TRY(fs_masker_encode_mask(m, (*round)++, 0, x, n, out, &st));
        }
        double t1 = fs_now(), ossl = 0;
        if (calls >= 0 && (best < 0 || t1 - t0 < best))
            best = t1 - t0;
        FS_TRY(fs_prg_openssl_rate((size_t)1 << 20, &ossl));
        if (ossl > *ossl_best)
            *ossl_best = ossl;
        if (calls >= 3 && fs_now() - start >= seconds)
            break;
    }
    *calls_ps = best > 0 ? 1.0 / best : 0;
done:
    return rc;
}

fs_err fs_secsum_bench_maskgen(int ring_bits, size_t n, int nneighbours, double seconds,
                               fs_secsum_bench_result *res)
{
    fs_err rc = FS_OK;
    fs_maskgraph *g = NULL;
    fs_masker *m = NULL;
    uint8_t *seeds = NULL;          // (N x 32) fixed public bench seeds
    float *x = NULL;                // (n) inputs in [-1, 1]
    void *out = NULL;               // (n + 1) ring words
    uint64_t round = 0;
    double cps;
    fs_rng rng;
    FS_CHECK_ARG(res, "secsum bench: result is NULL");
    memset(res, 0, sizeof *res);
    FS_CHECK_ARG(ring_bits == 32 || ring_bits == 64, "secsum bench: ring width %d is not 32 "
                 "or 64", ring_bits);
    FS_CHECK_ARG(n >= 1 && n < ((size_t)1 << 32), "secsum bench: vector length %zu out of "
                 "range [1, 2^32)", n);
    FS_CHECK_ARG(nneighbours >= 1 && nneighbours < 65536, "secsum bench: neighbours %d out of "
                 "range [1, 65535]", nneighbours);
    FS_CHECK_ARG(isfinite(seconds) && seconds >= 0.05, "secsum bench: duration %g s is below "
                 "0.05 s", seconds);
    const int N = nneighbours + 1;
    const size_t wb = fs_fixed_word_bytes(ring_bits);
    FS_TRY(fs_maskgraph_create(N, 0, NULL, &g));
    FS_TRY(fs_alloc(&seeds, (size_t)N, FS_PRG_SEEDBYTES, "bench seeds"));
    FS_TRY(fs_alloc(&x, n, sizeof *x, "bench input"));
    FS_TRY(fs_alloc(&out, n + 1, wb, "bench output"));
    fs_rng_seed(&rng, fs_rng_key(0xbe, ring_bits, n, nneighbours));
    for (size_t b = 0; b < (size_t)N * FS_PRG_SEEDBYTES; b++)
        seeds[b] = (uint8_t)fs_rng_u64(&rng);
    for (size_t k = 0; k < n; k++)
        x[k] = (float)(2.0 * fs_rng_uniform(&rng) - 1.0);

    fs_masker_opts mo = { 0 };
    mo.party = 0;
    mo.graph = g;
    mo.seeds = seeds;
    mo.fixed.ring_bits = ring_bits;
    // A typical model-delta codec: clip 1, at most 24 fractional bits.
    mo.fixed.frac_bits = fs_fixed_suggest(ring_bits, N, 1.0);
    if (mo.fixed.frac_bits > 24)
        mo.fixed.frac_bits = 24;
    mo.fixed.clip = 1.0;
    mo.fixed.rounding = FS_FIXED_ROUND_NEAREST;
    FS_TRY(fs_masker_create(&mo, &m));
    {
        fs_prg *probe = NULL;   // which kernel fs_prg_create picks here
        FS_TRY(fs_prg_create(seeds, &probe));
        res->prg_kernel = fs_prg_kernel(probe);
        fs_prg_destroy(&probe);
    }

    const double ks_bytes = (double)nneighbours * (double)(n + 1) * (double)wb;
    FS_TRY(time_loop(0, m, &mo.fixed, x, n, out, &round, seconds, &cps, &res->openssl_rate));
    res->encode_rate = cps * (double)n * sizeof(float);
    FS_TRY(time_loop(1, m, &mo.fixed, x, n, out, &round, seconds, &cps, &res->openssl_rate));
    res->mask_rate = cps * ks_bytes;
    FS_TRY(time_loop(2, m, &mo.fixed, x, n, out, &round, seconds, &cps, &res->openssl_rate));
    res->total_rate = cps * ks_bytes;
done:
    fs_masker_destroy(&m);
    fs_maskgraph_destroy(&g);
    free(seeds);
    free(x);
    free(out);
    return rc;
}

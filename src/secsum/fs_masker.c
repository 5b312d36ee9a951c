/*
 * fs_masker.c - one party's pairwise-masking engine (secsum layer; no MPI).
 * The encode, mask and unmask steps of a round of docs/protocol.md.
 *
 * Protocol: Bonawitz et al. 2017 ("Practical Secure Aggregation for
 * Privacy-Preserving Machine Learning"), pairwise masks only (the
 * cross-silo setting has no dropouts, so no self-masks or secret sharing),
 * over the sparse graphs of SecAgg+ (Bell et al. 2020) when requested.
 * Party i with neighbours N(i) in the mask graph computes, for one vector
 * of n reals and nonce (round, vector_id),
 *
 *     out[k] = encode(x[k]) + sum_{j in N(i)} sgn(i,j) PRG(s_ij)[k]   mod 2^b
 *
 * for k = 0..n, with x[n] := 0 (the canary), sgn(i,j) = +1 if i < j else
 * -1, and PRG(s_ij) the AES-128-CTR keystream of fs_prg.c read as
 * native b-bit words (all parties must share a byte order; a mismatch
 * would show up as a canary failure).  Cancellation invariant:
 *
 *     sum_i sum_{j in N(i)} sgn(i,j) PRG(s_ij) = 0   (mod 2^b)
 *
 * since the graph is symmetric, sgn(i,j) = -sgn(j,i) and s_ij = s_ji, so
 * the allreduced sum equals sum_i encode(x_i) bit for bit, and the canary
 * sums to 0 exactly when every pair used the same seed and nonce.
 *
 * Data flow (no O(N * d) buffers): the vector is processed in blocks of
 * FS_MASKER_BLOCK_BYTES.  For each block we encode into the caller's out
 * buffer, then for each neighbour add or subtract that block of its
 * keystream (fs_prg_apply: fused in registers on AES-NI/VAES CPUs, else through
 * one L1-sized scratch block per generator), so the block stays in L1/L2
 * across all neighbours.  Each neighbour's fs_prg keeps its own stream
 * position across blocks.
 *
 * Secrets: the per-neighbour AES key schedules (inside fs_prg; the seeds
 * themselves are not kept) and any keystream scratch, wiped after every
 * call and at destroy.
 *
 * Nonce discipline: a (seed, nonce) pair must never be reused.  The masker
 * keeps, per vector id, the last round it masked, and refuses any round
 * that is not strictly larger (and any round below the round floor).
 */
#include <string.h>
#include "fs_fixed_impl.h"
#include "crypto/fs_prg_impl.h"
#include "fedsilo/fs_secsum.h"

#define FS_MASKER_BLOCK_BYTES ((size_t)16 << 10)   /* keystream per block */

typedef struct {
    uint32_t vector_id;
    uint64_t last_round;        /* last round masked with this vector id */
} nonce_rec;

struct fs_masker {
    int party;                  /* i, 0 <= i < nparties                   */
    int nparties;               /* N                                      */
    int nnbrs;                  /* |N(i)|                                 */
    int *nbrs;                  /* (nnbrs) sorted neighbour indices        */
    fs_prg **prg;               /* (nnbrs) secret: keystream of s_{i,nbrs[t]} */
    fs_fixed_params fixed;
    fs_fixed_enc enc;
    size_t wbytes;              /* bytes per ring word: 4 or 8            */
    size_t block_words;         /* words per block                         */
    uint64_t rounding_seed;
    nonce_rec *nonces;          /* (nnonces of cap_nonces) used nonces     */
    size_t nnonces, cap_nonces;
    uint64_t round_floor;       /* rounds below this are refused           */
    fs_masker_timing *timing;   /* where to add encode/keystream time, or NULL */
};

fs_err fs_masker_create(const fs_masker_opts *opts, fs_masker **out)
{
    fs_err rc = FS_OK;
    fs_masker *m = NULL;
    const int *nb = NULL;
    int nnb = 0;
    FS_CHECK_ARG(out, "fs_masker_create: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(opts && opts->graph, "fs_masker_create: options or graph is NULL");
    const int N = fs_maskgraph_nparties(opts->graph);
    FS_CHECK_ARG(opts->party >= 0 && opts->party < N,
                 "masker: party %d out of range [0, %d)", opts->party, N);
    FS_TRY(fs_maskgraph_neighbours(opts->graph, opts->party, &nb, &nnb));
    FS_CHECK_ARG(nnb == 0 || opts->seeds, "masker: pairwise seeds are NULL");
    FS_TRY(fs_fixed_check_headroom(&opts->fixed, N, 1.0));

    FS_TRY(fs_zalloc(&m, 1, sizeof *m, "masker"));
    m->party = opts->party;
    m->nparties = N;
    m->fixed = opts->fixed;
    m->rounding_seed = opts->rounding_seed;
    FS_TRY(fs_fixed_enc_init(&m->enc, &opts->fixed));
    m->wbytes = fs_fixed_word_bytes(opts->fixed.ring_bits);
    m->block_words = FS_MASKER_BLOCK_BYTES / m->wbytes;
    FS_TRY(fs_alloc(&m->nbrs, (size_t)nnb, sizeof *m->nbrs, "masker neighbours"));
    FS_TRY(fs_zalloc(&m->prg, (size_t)nnb, sizeof *m->prg, "masker PRGs"));
    for (int t = 0; t < nnb; t++) {
        m->nbrs[t] = nb[t];
        FS_TRY(fs_prg_create(opts->seeds + (size_t)nb[t] * FS_PRG_SEEDBYTES, &m->prg[t]));
        m->nnbrs = t + 1;
    }
    m->cap_nonces = 16;
    FS_TRY(fs_alloc(&m->nonces, m->cap_nonces, sizeof *m->nonces, "masker nonce table"));
    *out = m;
    m = NULL;
done:
    fs_masker_destroy(&m);
    return rc;
}

void fs_masker_destroy(fs_masker **p)
{
    if (!p || !*p)
        return;
    fs_masker *m = *p;
    for (int t = 0; m->prg && t < m->nnbrs; t++)
        fs_prg_destroy(&m->prg[t]);
    free(m->prg);
    free(m->nbrs);
    free(m->nonces);
    fs_secure_zero(m, sizeof *m);
    free(m);
    *p = NULL;
}

size_t fs_masker_words(size_t n) { return n + 1; }

void fs_masker_set_timing(fs_masker *m, fs_masker_timing *t)
{
    if (m)
        m->timing = t;
}

fs_err fs_masker_set_round_floor(fs_masker *m, uint64_t next_round)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(m, "fs_masker_set_round_floor: masker is NULL");
    if (next_round > m->round_floor)
        m->round_floor = next_round;
done:
    return rc;
}

/* Record (round, vector_id) as used, or refuse it if it (or a later round
 * for the same vector id) was used before.  Nothing changes on refusal. */
static fs_err claim_nonce(fs_masker *m, uint64_t round, uint32_t vector_id)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(round >= m->round_floor,
                 "masker: round %llu is below the round floor %llu (restarted from a "
                 "checkpoint?); reusing a mask nonce would leak inputs",
                 (unsigned long long)round, (unsigned long long)m->round_floor);
    for (size_t r = 0; r < m->nnonces; r++) {
        if (m->nonces[r].vector_id != vector_id)
            continue;
        FS_CHECK_ARG(round > m->nonces[r].last_round,
                     "masker: round %llu for vector id %u is not after round %llu, already "
                     "masked; a mask nonce must never be reused",
                     (unsigned long long)round, (unsigned)vector_id,
                     (unsigned long long)m->nonces[r].last_round);
        m->nonces[r].last_round = round;
        goto done;
    }
    if (m->nnonces == m->cap_nonces) {  // first use of a new vector id only
        nonce_rec *grown = realloc(m->nonces, 2 * m->cap_nonces * sizeof *grown);
        if (!grown)
            FS_FAIL(FS_ERR_NOMEM, "masker: out of memory growing the nonce table");
        m->nonces = grown;
        m->cap_nonces *= 2;
    }
    m->nonces[m->nnonces].vector_id = vector_id;
    m->nonces[m->nnonces].last_round = round;
    m->nnonces++;
done:
    return rc;
}

static int canary_is_zero(const void *words, size_t n, int ring_bits)
{
    return ring_bits == 32 ? ((const uint32_t *)words)[n] == 0
                           : ((const uint64_t *)words)[n] == 0;
}

/*
 * The engine.  encode != 0: out = encode(xf or xd) then masks; encode == 0:
 * out already holds n + 1 encoded words (canary 0) and only masks are added.
 */
static fs_err mask_vector(fs_masker *m, uint64_t round, uint32_t vector_id, const float *xf,
                          const double *xd, size_t n, void *out, size_t ring,
                          fs_fixed_stats *stats, int encode, fs_masker_progress_fn on_block,
                          void *cb_user)
{
    fs_err rc = FS_OK;
    fs_fixed_stats st = { 0, 0 };
    fs_rng rng;                     // stochastic rounding stream (not secret)
    int touched = 0;
    FS_CHECK_ARG(m && out, "masker: NULL masker or output buffer");
    FS_CHECK_ARG(!encode || n == 0 || xf || xd, "masker: NULL input for %zu values", n);
    const size_t nwords = n + 1, wb = m->wbytes;
    FS_CHECK_ARG(n < SIZE_MAX / wb - 1 && (uint64_t)nwords * wb <= FS_PRG_MAXBYTES,
                 "masker: %zu values exceed the 64 GiB keystream limit of one nonce; split "
                 "the vector over several vector ids", n);
    FS_CHECK_ARG(encode || canary_is_zero(out, n, m->fixed.ring_bits),
                 "masker: canary word %zu must be 0 before masking", n);
    FS_CHECK_ARG(ring % m->block_words == 0, "masker: ring of %zu words is not a multiple of "
                 "the %zu-word block", ring, m->block_words);
    FS_TRY(claim_nonce(m, round, vector_id));

    for (int t = 0; t < m->nnbrs; t++)
        FS_TRY(fs_prg_set_nonce(m->prg[t], round, vector_id));
    fs_rng_seed(&rng, fs_fixed_rounding_key(m->rounding_seed, m->party, round, vector_id));

    for (size_t off = 0; off < nwords; off += m->block_words) {
        const size_t len = nwords - off < m->block_words ? nwords - off : m->block_words;
        // (len) words of this block; word k lives at k mod ring in a ring
        unsigned char *ob = (unsigned char *)out + (ring ? off % ring : off) * wb;
        const double t0 = m->timing ? fs_now() : 0;
        if (encode) {
            // Values off..off+nx-1 are real inputs; index n is the canary.
            const size_t nx = off + len <= n ? len : n - off;
            fs_fixed_encode_block(&m->enc, xf ? xf + off : NULL, xd ? xd + off : NULL, nx, ob,
                                  &rng, &st);
            if (nx < len)
                memset(ob + nx * wb, 0, wb);
        }
        const double t1 = m->timing ? fs_now() : 0;
        for (int t = 0; t < m->nnbrs; t++) {
            touched = 1;
            // ob += or -= PRG(s_ij)[off .. off+len) (fused; see fs_prg_apply)
            FS_TRY(fs_prg_apply(m->prg[t], ob, len, m->fixed.ring_bits, m->party < m->nbrs[t]));
        }
        if (m->timing) {
            m->timing->encode_s += t1 - t0;
            m->timing->keystream_s += fs_now() - t1;
        }
        if (on_block) on_block(cb_user, off + len);   // words [0, off + len) are final
        // (with a ring, on_block has freed the positions of the next block)
    }
    if (stats) {
        stats->nclipped += st.nclipped;
        stats->nnan += st.nnan;
    } else if (st.nnan) {
        FS_FAIL(FS_ERR_NUMERIC, "masker: %zu of %zu inputs are NaN (encoded as 0)", st.nnan, n);
    }
done:
    for (int t = 0; touched && t < m->nnbrs; t++)
        fs_prg_wipe_scratch(m->prg[t]);
    return rc;
}

fs_err fs_masker_encode_mask(fs_masker *m, uint64_t round, uint32_t vector_id, const float *x,
                             size_t n, void *out, fs_fixed_stats *stats)
{
    return mask_vector(m, round, vector_id, x, NULL, n, out, 0, stats, 1, NULL, NULL);
}

fs_err fs_masker_encode_mask_stream(fs_masker *m, uint64_t round, uint32_t vector_id,
                                    const float *x, size_t n, void *out, fs_fixed_stats *stats,
                                    fs_masker_progress_fn on_block, void *user)
{
    return mask_vector(m, round, vector_id, x, NULL, n, out, 0, stats, 1, on_block, user);
}

fs_err fs_masker_encode_mask_ring(fs_masker *m, uint64_t round, uint32_t vector_id,
                                  const float *x, size_t n, void *out, size_t ring_words,
                                  fs_fixed_stats *stats, fs_masker_progress_fn on_block,
                                  void *user)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(ring_words > 0 && on_block, "masker: a ring needs ring_words > 0 and on_block");
    rc = mask_vector(m, round, vector_id, x, NULL, n, out, ring_words, stats, 1, on_block, user);
done:
    return rc;
}

size_t fs_masker_block_words(const fs_masker *m)
{
    return m ? m->block_words : 0;
}

fs_err fs_masker_encode_mask_f64(fs_masker *m, uint64_t round, uint32_t vector_id,
                                 const double *x, size_t n, void *out, fs_fixed_stats *stats)
{
    return mask_vector(m, round, vector_id, NULL, x, n, out, 0, stats, 1, NULL, NULL);
}

fs_err fs_masker_mask(fs_masker *m, uint64_t round, uint32_t vector_id, void *inout, size_t n)
{
    return mask_vector(m, round, vector_id, NULL, NULL, n, inout, 0, NULL, 0, NULL, NULL);
}

fs_err fs_masker_unmasked_encode(const fs_fixed_params *p, const float *x, size_t n, void *out,
                                 uint64_t rng_key, fs_fixed_stats *stats)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(out, "fs_masker_unmasked_encode: out is NULL");
    FS_TRY(fs_fixed_encode_f32(p, x, n, out, rng_key, stats));
    if (p->ring_bits == 32)
        ((uint32_t *)out)[n] = 0;
    else
        ((uint64_t *)out)[n] = 0;
done:
    return rc;
}

static fs_err decode_any(const fs_fixed_params *p, const void *sum, size_t n, float *of,
                         double *od, int *canary_ok)
{
    fs_err rc = FS_OK;
    if (canary_ok)
        *canary_ok = 0;
    FS_TRY(fs_fixed_check_params(p));
    FS_CHECK_ARG(sum, "fs_masker_decode: sum is NULL");
    if (!canary_is_zero(sum, n, p->ring_bits))
        FS_FAIL(FS_ERR_AUTH, "secure sum: canary check failed: the pairwise masks did not "
                "cancel (wrong pairwise seed, mismatched round or vector id, or a corrupted "
                "contribution)");
    if (canary_ok)
        *canary_ok = 1;
    if (of)
        FS_TRY(fs_fixed_decode_f32(p, sum, n, of));
    else
        FS_TRY(fs_fixed_decode_f64(p, sum, n, od));
done:
    return rc;
}

fs_err fs_masker_decode(const fs_fixed_params *p, const void *sum, size_t n, float *out,
                        int *canary_ok)
{
    return decode_any(p, sum, n, out, NULL, canary_ok);
}

fs_err fs_masker_decode_f64(const fs_fixed_params *p, const void *sum, size_t n, double *out,
                            int *canary_ok)
{
    return decode_any(p, sum, n, NULL, out, canary_ok);
}

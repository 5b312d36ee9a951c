/*
 * fs_gbdt_bins.c - global histogram bin edges from two summed count vectors
 * (programs layer, no MPI).
 *
 * XGBoost's `hist` method cuts every feature at (about) max_bins quantiles
 * of its values.  Institutions may only exchange sums, so the quantiles are
 * read off a pooled *fine histogram*, and the fine histogram needs a grid
 * that every institution knows without seeing anyone's values.  The grid is
 * the float32 number line itself:
 *
 *   key(x)     order-preserving 32-bit key of x (sign flip; -0 -> +0)
 *   binade(x)  key >> 23: the sign and exponent, i.e. the interval
 *              [2^e, 2^(e+1)) or its mirror (512 binades, 0 and the
 *              subnormals in one)
 *
 * Pass 1 (coarse) sums, per feature, the count of values in each binade.
 * Feature f has E_f non-empty binades (pooled), and every one of them is cut
 * into 2^m_f equal sub-bins by the top m_f mantissa bits, with
 * m_f = min(23, floor(log2(fine_bins / E_f))): at most fine_bins fine bins
 * per feature, a relative resolution of 2^-m_f whatever the feature's scale
 * (ages, incomes in the millions, probabilities, standardized values).
 * Pass 2 (fine) sums the count of values in each fine bin.  Every fine-bin
 * boundary is an exactly representable float (its key has zero low bits),
 * so "key(x) < key(edge)" and XGBoost's float comparison "x < edge" agree.
 *
 * Edges (identical everywhere: integer arithmetic on the summed counts):
 * when a feature has at most max_bins non-empty fine bins, every non-empty
 * fine bin is a bin of its own (0/1 columns, small integers and pixel
 * intensities k/255 get exact bins, like XGBoost's distinct-value cuts);
 * otherwise the edges are XGBoost 1.7's cuts of the same counts (prune_cuts
 * below: its WQSummary::SetPrune to max_bins + 1 entries, then AddCutPoint),
 * with the non-empty fine bins as the summary entries.  Edge 0 is the lower
 * boundary of the first non-empty fine bin and edge B_f the upper boundary
 * of the last one.  NaN never counts; the pooled missing count of a feature
 * is the summed row count minus its fine counts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_gbdt_impl.h"

void fs_gbdt_grid_free(fs_gbdt_grid *g)
{
    free(g->rank);
    free(g->binade);
    free(g->mbits);
    free(g->off);
    memset(g, 0, sizeof *g);
}

void fs_gbdt_coarse_add(const float *X, size_t n, size_t d, uint64_t *counts)
{
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        for (size_t f = 0; f < d; f++)
            if (!isnan(x[f])) counts[f * FS_GBDT_NBINADES + (fs_gbdt_key(x[f]) >> 23)]++;
    }
}

fs_err fs_gbdt_grid_build(fs_gbdt_grid *g, size_t d, const uint64_t *counts, int fine_bins)
{
    fs_err rc = FS_OK;
    memset(g, 0, sizeof *g);
    g->d = d;
    FS_TRY(fs_alloc(&g->rank, d * FS_GBDT_NBINADES, sizeof *g->rank, "gbdt binade ranks"));
    FS_TRY(fs_alloc(&g->binade, d * FS_GBDT_NBINADES, sizeof *g->binade, "gbdt binades"));
    FS_TRY(fs_alloc(&g->mbits, d, sizeof *g->mbits, "gbdt fine grid"));
    FS_TRY(fs_alloc(&g->off, d + 1, sizeof *g->off, "gbdt fine offsets"));
    g->off[0] = 0;
    for (size_t f = 0; f < d; f++) {
        const uint64_t *c = counts + f * FS_GBDT_NBINADES;
        int16_t *rk = g->rank + f * FS_GBDT_NBINADES;
        uint16_t *bl = g->binade + f * FS_GBDT_NBINADES;
        int e = 0;
        for (int b = 0; b < FS_GBDT_NBINADES; b++) {
            rk[b] = c[b] ? (int16_t)e : -1;
            if (c[b]) bl[e++] = (uint16_t)b;
        }
        int mb = 0;
        /* largest m with e * 2^m <= fine_bins, at most the 23 mantissa bits */
        while (e > 0 && mb < 23 && ((uint64_t)e << (mb + 1)) <= (uint64_t)fine_bins) mb++;
        g->mbits[f] = (uint8_t)mb;
        g->off[f + 1] = g->off[f] + ((uint32_t)e << mb);
    }
done:
    if (rc != FS_OK) fs_gbdt_grid_free(g);
    return rc;
}

size_t fs_gbdt_fine_add(const fs_gbdt_grid *g, const float *X, size_t n, uint64_t *fine)
{
    size_t d = g->d, bad = 0;
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        for (size_t f = 0; f < d; f++) {
            if (isnan(x[f])) continue;
            /* every value's binade is non-empty when the coarse sum included it */
            uint32_t j = fs_gbdt_grid_fine(g, f, fs_gbdt_key(x[f]));
            if (j == UINT32_MAX) bad++;
            else fine[g->off[f] + j]++;
        }
    }
    return bad;
}

/* Lower-boundary key of fine bin j of feature f. */
static uint32_t fine_lo_key(const fs_gbdt_grid *g, size_t f, uint32_t j)
{
    int mb = g->mbits[f];
    uint32_t binade = g->binade[f * FS_GBDT_NBINADES + (j >> mb)];
    uint32_t sub = j & ((1u << mb) - 1u);
    return (binade << 23) | (sub << (23 - mb));
}

fs_err fs_gbdt_grid_codes(const fs_gbdt_grid *g, const fs_gbdt_model *m, uint16_t **out)
{
    fs_err rc = FS_OK;
    uint16_t *map = NULL;
    *out = NULL;
    FS_TRY(fs_alloc(&map, g->off[g->d] ? g->off[g->d] : 1, sizeof *map, "gbdt fine-bin codes"));
    for (size_t f = 0; f < g->d; f++) {
        uint32_t a = m->bin_ptr[f], B = fs_gbdt_nbins(m, f), e = 1;
        for (uint32_t j = 0; j < g->off[f + 1] - g->off[f]; j++) {
            uint32_t lo = fine_lo_key(g, f, j);
            while (e < B && fs_gbdt_key(m->edges[a + e]) <= lo) e++;
            map[g->off[f] + j] = (uint16_t)(B ? e - 1 : 0);
        }
    }
    *out = map;
done:
    return rc;
}

/*
 * The summary entries (of m > B non-empty fine bins, counts c[e[i]])
 * that XGBoost 1.7 keeps as cuts, into sel[1 .. return): its
 * WQSummary::SetPrune(src, B + 1) on exact ranks (entry i covers ranks
 * [rmin_i, rmax_i) with rmin_i the count before it), then AddCutPoint,
 * which keeps entries 1 .. min(size, B) - 1.  SetPrune spreads the B - 1
 * targets t_k = rmax_0 + k (rmin_{m-1} - rmax_0) / B over the mass between
 * the first and the last entry (so a heavy minimum such as the zeros of an
 * image does not use up bins) and takes the entry whose rank interval is
 * nearest; the comparisons are done exactly, scaled by 2 B.  sel has room
 * for B + 1 entries; returns the number of interior cuts (<= B - 1).
 */
static uint32_t prune_cuts(const uint64_t *c, const uint32_t *e, const uint64_t *rmin,
                           uint32_t m, uint32_t B, uint32_t *sel)
{
    typedef unsigned __int128 u128;
    const u128 begin = rmin[0] + c[e[0]], range = rmin[m - 1] - (rmin[0] + c[e[0]]);
    uint32_t size = 1, i = 1, last = 0;
    sel[0] = 0;
    if (m <= B + 1) {   /* SetPrune copies a summary that fits */
        for (uint32_t q = 1; q < m; q++) sel[q] = q;
        return (m < B ? m : B) - 1;
    }
    for (uint32_t k = 1; k < B; k++) {
        const u128 dx2 = 2 * ((u128)k * range + begin * B);   /* 2 B t_k */
        while (i < m - 1 && dx2 >= (u128)B * (2 * rmin[i + 1] + c[e[i + 1]])) i++;
        if (i == m - 1) break;
        const uint32_t pick = dx2 < (u128)B * (rmin[i] + c[e[i]] + rmin[i + 1]) ? i : i + 1;
        if (pick != last) sel[size++] = last = pick;
    }
    if (last != m - 1) sel[size++] = m - 1;
    return (size < B ? size : B) - 1;
}

fs_err fs_gbdt_edges_build(const fs_gbdt_grid *g, const uint64_t *fine, int max_bins,
                           fs_gbdt_model *m)
{
    fs_err rc = FS_OK;
    size_t d = g->d, cap = 0;
    float *edges = NULL;
    uint32_t *ptr = NULL, *ent = NULL, *sel = NULL, maxnf = 1;
    uint64_t *rmin = NULL;
    uint8_t *miss = NULL;
    for (size_t f = 0; f < d; f++) {
        uint32_t nf = g->off[f + 1] - g->off[f];
        cap += (nf < (uint32_t)max_bins ? nf : (uint32_t)max_bins) + 1;
        if (nf > maxnf) maxnf = nf;
    }
    FS_TRY(fs_alloc(&edges, cap, sizeof *edges, "gbdt bin edges"));
    FS_TRY(fs_alloc(&ent, maxnf, sizeof *ent, "gbdt summary entries"));
    FS_TRY(fs_alloc(&rmin, maxnf, sizeof *rmin, "gbdt summary ranks"));
    FS_TRY(fs_alloc(&sel, (size_t)max_bins + 1, sizeof *sel, "gbdt selected entries"));
    FS_TRY(fs_alloc(&ptr, d + 1, sizeof *ptr, "gbdt bin offsets"));
    FS_TRY(fs_alloc(&miss, d, sizeof *miss, "gbdt missing flags"));
    uint32_t ne = 0;
    for (size_t f = 0; f < d; f++) {
        const uint64_t *c = fine + g->off[f];
        uint32_t nf = g->off[f + 1] - g->off[f], nonempty = 0, first = 0, last = 0;
        uint64_t total = 0;
        ptr[f] = ne;
        for (uint32_t j = 0; j < nf; j++)
            if (c[j]) {
                if (!nonempty) first = j;
                last = j;
                nonempty++;
                total += c[j];
            }
        if (total > m->total_rows)
            FS_FAIL(FS_ERR_DATA, "gbdt: the summed fine histogram of feature %zu counts more "
                    "values than rows (corrupted sum?)", f);
        miss[f] = total < m->total_rows;
        if (!nonempty) continue;
        edges[ne++] = fs_gbdt_key_value(fine_lo_key(g, f, first));
        /* Interior edges: the lower boundaries of the non-empty fine bins
         * after the first (all of them, or XGBoost's pruned cuts). */
        uint32_t me = 0;
        uint64_t cum = 0;
        for (uint32_t j = first; j <= last; j++)
            if (c[j]) {
                ent[me] = j;
                rmin[me++] = cum;
                cum += c[j];
            }
        if (nonempty <= (uint32_t)max_bins) {
            for (uint32_t q = 1; q < me; q++)
                edges[ne++] = fs_gbdt_key_value(fine_lo_key(g, f, ent[q]));
        } else {
            const uint32_t ncut = prune_cuts(c, ent, rmin, me, (uint32_t)max_bins, sel);
            for (uint32_t q = 1; q <= ncut; q++)
                edges[ne++] = fs_gbdt_key_value(fine_lo_key(g, f, ent[sel[q]]));
        }
        /* upper boundary of the last fine bin: the next bin's lower key */
        uint32_t hi = fine_lo_key(g, f, last) + (1u << (23 - g->mbits[f]));
        edges[ne++] = fs_gbdt_key_value(hi);
    }
    ptr[d] = ne;
    free(m->edges);
    free(m->bin_ptr);
    free(m->has_missing);
    m->edges = edges;
    m->bin_ptr = ptr;
    m->has_missing = miss;
    edges = NULL;
    ptr = NULL;
    miss = NULL;
done:
    free(sel);
    free(rmin);
    free(ent);
    free(edges);
    free(ptr);
    free(miss);
    return rc;
}

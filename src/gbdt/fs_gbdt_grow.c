/*
 * fs_gbdt_grow.c - growing one tree of the GBDT engine from summed
 * histograms (programs layer, no MPI): node values and gains (XGBoost's
 * float32 formulas), histogram building from this institution's rows, the
 * split search, the in-place partition of the row index and the sibling
 * subtraction.  The algorithm and the word layout of a level are described
 * at the top of fs_gbdt_train.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "fs_gbdt_state.h"

// --- Growing one tree

/* Value of a child/leaf with summed (G, H): eta * w in float32 (XGBoost). */
static float calc_weight(const fs_gbdt *g, int64_t G, int64_t H)
{
    double gd = (double)G * g->ginv, hd = (double)H * g->ginv;
    if (hd < g->o.min_child_weight || hd <= 0.0) return 0.0f;
    return (float)(-gd / (hd + g->o.lambda));
}

static double calc_gain(const fs_gbdt *g, int64_t G, int64_t H)
{
    double gd = (double)G * g->ginv, hd = (double)H * g->ginv;
    return hd <= 0.0 ? 0.0 : gd * gd / (hd + g->o.lambda);
}

static inline fs_gbdt_node *tree_node(fs_gbdt *g, int32_t id)
{
    return g->m->nodes + g->m->tree_ptr[g->m->ntrees - 1] + id;
}

static fs_err set_segment(fs_gbdt *g, int32_t id, uint32_t b, uint32_t e)
{
    fs_err rc = fs_gbdt_grow(&g->seg, &g->cap_seg, 2 * ((size_t)id + 1), sizeof *g->seg,
                             "node segments");
    if (rc == FS_OK) {
        g->seg[2 * (size_t)id] = b;
        g->seg[2 * (size_t)id + 1] = e;
    }
    return rc;
}

/* New tree: sample rows (stream (seed, silo, tree)) and features (stream
 * (seed, tree): the same on every institution), root node. */
fs_err fs_gbdt_start_tree(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    int tree = g->round * g->K + g->cls;
    FS_TRY(fs_gbdt_model_begin_tree(g->m, g->cls));
    /* rows: sampled ones first, both groups ascending */
    uint32_t ns = 0, nu = 0;
    if (g->o.subsample < 1.0) {
        fs_rng rng;
        fs_rng_seed(&rng, fs_rng_key(g->o.seed, TAG_SUBSAMPLE, g->silo, (uint64_t)tree));
        for (uint32_t r = 0; r < g->n; r++) {
            if (fs_rng_uniform(&rng) < g->o.subsample) g->rows[ns++] = r;
            else g->tmp[nu++] = r;
        }
        memcpy(g->rows + ns, g->tmp, nu * sizeof *g->rows);
    } else {
        for (uint32_t r = 0; r < g->n; r++) g->rows[r] = r;
        ns = (uint32_t)g->n;
    }
    g->nsampled = ns;
    /* features: floor(colsample d) (at least 1) of them, ascending */
    uint32_t d = (uint32_t)g->d, k = d;
    for (uint32_t f = 0; f < d; f++) g->feats[f] = f;
    if (g->o.colsample_bytree < 1.0) {
        k = fs_gbdt_sampled_features(&g->o, d);
        fs_rng rng;
        fs_rng_seed(&rng, fs_rng_key(g->o.seed, TAG_COLSAMPLE, (uint64_t)tree, 0));
        for (uint32_t i = 0; i < k; i++) {
            uint32_t j = i + (uint32_t)fs_rng_below(&rng, d - i), t = g->feats[i];
            g->feats[i] = g->feats[j];
            g->feats[j] = t;
        }
        /* insertion sort of the k chosen (k <= d, once per tree) */
        for (uint32_t i = 1; i < k; i++)
            for (uint32_t j = i; j > 0 && g->feats[j - 1] > g->feats[j]; j--) {
                uint32_t t = g->feats[j];
                g->feats[j] = g->feats[j - 1];
                g->feats[j - 1] = t;
            }
    }
    g->nfeat = k;
    size_t slots = 1, bslots = 0;
    g->nblocks = 0;
    g->fblock[0] = 0;
    for (uint32_t j = 0; j < k; j++) {
        g->foff[j] = (uint32_t)slots;
        slots += g->nslots[g->feats[j]];
        bslots += g->nslots[g->feats[j]];
        if (bslots * 3 * sizeof(uint64_t) >= HIST_BLOCK_BYTES || j + 1 == k) {
            g->fblock[++g->nblocks] = j + 1;
            bslots = 0;
        }
    }
    g->node_words = 3 * slots;
    FS_TRY(fs_gbdt_level_reserve(g, 2));
    g->cur[0] = (lnode){ .node = 0, .begin = 0, .end = ns, .build = 1, .open = 1, .widx = 0,
                         .slot = -1, .pslot = -1, .sib = -1 };
    g->ncur = 1;
    g->level = 0;
    FS_TRY(set_segment(g, 0, 0, ns));
done:
    return rc;
}

/*
 * Histogram of rows[0..nr) into hist (node_words words, zeroed): slot 0 the
 * totals, slot foff[j] + code the bins of sampled feature j.  Features are
 * visited in blocks whose slots fit in L2 (one pass over the rows per
 * block), so wide tables do not miss the cache on every update.  `all`:
 * every feature is sampled (feats[j] = j).  Wrap-around uint64 addition is
 * two's complement int64 addition, so negative gradients sum exactly.
 */
static inline void hist_rows(const fs_gbdt *g, const uint32_t *rows, size_t nr,
                             const uint64_t *gh, uint64_t *hist, int wide, int all)
{
    const uint32_t *feats = g->feats, *foff = g->foff;
    size_t d = g->d;
    uint64_t c = 0, sg = 0, sh = 0;
    for (uint32_t blk = 0; blk < g->nblocks; blk++) {
        uint32_t j0 = g->fblock[blk], j1 = g->fblock[blk + 1];
        for (size_t i = 0; i < nr; i++) {
            uint32_t r = rows[i];
            if (i + HIST_PREFETCH < nr) {
                /* rows of a deep node are scattered: fetch ahead */
                uint32_t rp = rows[i + HIST_PREFETCH], f0 = all ? j0 : feats[j0];
                __builtin_prefetch(gh + 2 * (size_t)rp);
                __builtin_prefetch(wide ? (const void *)(g->codes16 + (size_t)rp * d + f0)
                                        : (const void *)(g->codes8 + (size_t)rp * d + f0));
            }
            const uint8_t *c8 = wide ? NULL : g->codes8 + (size_t)r * d;
            const uint16_t *c16 = wide ? g->codes16 + (size_t)r * d : NULL;
#if defined(__SSE2__)
            /* (gq, hq) added as one 128-bit pair: two read-modify-writes per
             * value instead of three */
            __m128i pair = _mm_loadu_si128((const __m128i *)(gh + 2 * (size_t)r));
            for (uint32_t j = j0; j < j1; j++) {
                uint32_t f = all ? j : feats[j];
                uint64_t *s = hist + 3 * (size_t)(foff[j] + (wide ? c16[f] : c8[f]));
                s[0] += 1;
                _mm_storeu_si128((__m128i *)(s + 1),
                                 _mm_add_epi64(_mm_loadu_si128((const __m128i *)(s + 1)), pair));
            }
#else
            uint64_t gr = gh[2 * (size_t)r], hr = gh[2 * (size_t)r + 1];
            for (uint32_t j = j0; j < j1; j++) {
                uint32_t f = all ? j : feats[j];
                uint64_t *s = hist + 3 * (size_t)(foff[j] + (wide ? c16[f] : c8[f]));
                s[0] += 1;
                s[1] += gr;
                s[2] += hr;
            }
#endif
        }
    }
    for (size_t i = 0; i < nr; i++) {
        uint32_t r = rows[i];
        c++;
        sg += gh[2 * (size_t)r];
        sh += gh[2 * (size_t)r + 1];
    }
    hist[0] = c;
    hist[1] = sg;
    hist[2] = sh;
}

void fs_gbdt_build_hist(const fs_gbdt *g, const lnode *ln, uint64_t *hist)
{
    const uint64_t *gh = g->gh + (size_t)g->cls * g->n * 2;
    const uint32_t *rows = g->rows + ln->begin;
    size_t nr = ln->end - ln->begin;
    int all = g->nfeat == g->d;
    memset(hist, 0, g->node_words * sizeof *hist);
    if (g->wide) {
        if (all) hist_rows(g, rows, nr, gh, hist, 1, 1);
        else hist_rows(g, rows, nr, gh, hist, 1, 0);
    } else {
        if (all) hist_rows(g, rows, nr, gh, hist, 0, 1);
        else hist_rows(g, rows, nr, gh, hist, 0, 0);
    }
}

/* Best split of a node (XGBoost's EnumerateSplit, both directions). */
typedef struct {
    float loss;
    int32_t feature, bin;
    uint8_t default_left;
    uint64_t lc;          /* left child's summed totals */
    int64_t lg, lh;
    int64_t rg, rh;       /* right child's                */
} split_t;

/*
 * Under DP (g->noisy) the node's totals and its feature slots carry
 * independent noise, so "the rest" of a split is not taken as the node
 * total minus the left part (which would add the noise of every slot and
 * of the total into the right child, and make splits on noise): each
 * feature's own slots (bins and missing slot) are the node, G_f, H_f their
 * sums, the right child G_f minus the left, and the backward scan runs
 * only for a feature the schema says may be missing.
 */
static void best_split(const fs_gbdt *g, const lnode *ln, const uint64_t *hist, split_t *best)
{
    const double mcw = g->o.min_child_weight;
    int64_t G = ln->g, H = ln->h;
    const uint64_t C = ln->c;
    float root = (float)calc_gain(g, G, H);
    memset(best, 0, sizeof *best);
    best->feature = -1;
    for (uint32_t j = 0; j < g->nfeat; j++) {
        uint32_t f = g->feats[j], B = fs_gbdt_nbins(g->m, f);
        const uint64_t *s = hist + 3 * (size_t)g->foff[j];
        uint64_t ec = 0;
        int64_t eg = 0, eh = 0;
        if (g->noisy) {
            G = H = 0;
            for (uint32_t b = 0; b < g->nslots[f]; b++) {
                G += (int64_t)s[3 * b + 1];
                H += (int64_t)s[3 * b + 2];
            }
            root = (float)calc_gain(g, G, H);
        }
        /* forward: bins < b + 1 left, the rest and missing right */
        for (uint32_t b = 0; b < B; b++) {
            ec += s[3 * b];
            eg += (int64_t)s[3 * b + 1];
            eh += (int64_t)s[3 * b + 2];
            /* an empty bin repeats the previous candidate: it cannot win */
            if (!s[3 * b]) continue;
            if ((double)eh * g->ginv < mcw || (double)(H - eh) * g->ginv < mcw) continue;
            float loss = ((float)calc_gain(g, eg, eh) + (float)calc_gain(g, G - eg, H - eh)) - root;
            if (loss > best->loss)
                *best = (split_t){ loss, (int32_t)f, (int32_t)b + 1, 0, ec, eg, eh, G - eg,
                                   H - eh };
        }
        if (g->noisy ? !g->m->has_missing[f] : (eg == G && eh == H)) continue;
        /* backward (missing values present): bins >= b right, the rest and
         * missing left */
        ec = 0;
        eg = 0;
        eh = 0;
        for (uint32_t b = B; b-- > 0;) {
            ec += s[3 * b];
            eg += (int64_t)s[3 * b + 1];
            eh += (int64_t)s[3 * b + 2];
            if (!s[3 * b]) continue;
            if ((double)eh * g->ginv < mcw || (double)(H - eh) * g->ginv < mcw) continue;
            float loss = ((float)calc_gain(g, G - eg, H - eh) + (float)calc_gain(g, eg, eh)) - root;
            if (loss > best->loss)
                *best = (split_t){ loss, (int32_t)f, (int32_t)b, 1, C - ec, G - eg, H - eh, eg,
                                   eh };
        }
    }
}

static int split_valid(const fs_gbdt *g, const split_t *s)
{
    return s->feature >= 0 && s->loss > RT_EPS && s->lh != 0 && s->rh != 0 &&
           s->loss >= (float)g->o.gamma;
}

/* Stable in-place partition of the node's rows by the split (branch-free;
 * the rows are ascending, so the column of the split feature is read
 * forward); returns the number of rows that go left. */
static uint32_t partition(fs_gbdt *g, const lnode *ln, const split_t *s)
{
    uint32_t f = (uint32_t)s->feature, sb = (uint32_t)s->bin, nl = 0, nr = 0;
    uint32_t miss = g->m->has_missing[f] ? fs_gbdt_nbins(g->m, f) : UINT32_MAX;
    uint32_t dl = s->default_left, *rows = g->rows + ln->begin, *tmp = g->tmp;
    for (uint32_t i = 0; i < ln->end - ln->begin; i++) {
        uint32_t r = rows[i], c = code_at(g, r, f);
        uint32_t left = c == miss ? dl : (uint32_t)(c < sb);
        rows[nl] = r; /* nl <= i: never overwrites an unread row */
        tmp[nr] = r;
        nl += left;
        nr += 1 - left;
    }
    memcpy(rows + nl, g->tmp, nr * sizeof *rows);
    return nl;
}

/* Histogram of a level node after the sum. */
static uint64_t *node_hist(fs_gbdt *g, const lnode *ln)
{
    return ln->widx >= 0 ? g->words + (size_t)ln->widx * g->node_words
                         : g->slab + (size_t)ln->slot * g->node_words;
}

/* The summed histograms of the level are consistent: built nodes' totals
 * are those their parent's split predicted, and every sampled feature's
 * slots add up to the node's row count. */
static fs_err check_hist(const fs_gbdt *g, const lnode *ln, const uint64_t *h)
{
    fs_err rc = FS_OK;
    if (g->level > 0 && (h[0] != ln->c || h[1] != (uint64_t)ln->g || h[2] != (uint64_t)ln->h))
        FS_FAIL(FS_ERR_DATA, "gbdt: the summed histogram of tree %d level %d disagrees with its "
                "parent's split (corrupted sum?)", g->m->ntrees - 1, g->level);
    for (uint32_t j = 0; j < g->nfeat; j++) {
        const uint64_t *s = h + 3 * (size_t)g->foff[j];
        uint64_t c = 0;
        for (uint32_t b = 0; b < g->nslots[g->feats[j]]; b++) c += s[3 * b];
        if (c != h[0])
            FS_FAIL(FS_ERR_DATA, "gbdt: the summed histogram of tree %d level %d is inconsistent "
                    "(feature %u counts %llu rows of %llu; corrupted sum?)", g->m->ntrees - 1,
                    g->level, g->feats[j], (unsigned long long)c, (unsigned long long)h[0]);
    }
done:
    return rc;
}

/* Split the open nodes of the level, queue their children. */
static fs_err split_level(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    float eta = (float)g->o.eta;
    int last = g->level + 1 >= g->o.max_depth;
    FS_TRY(fs_gbdt_level_reserve(g, 2 * g->ncur));
    g->nnext = 0;
    for (size_t i = 0; i < g->ncur; i++) {
        lnode *ln = g->cur + i;
        ln->retain = 0;
        if (!ln->open) continue;
        split_t s;
        best_split(g, ln, node_hist(g, ln), &s);
        if (!split_valid(g, &s)) continue;
        /* children, as leaves until they split */
        int32_t lid, rid;
        int64_t rg = s.rg, rh = s.rh;   /* ln->g - s.lg, ln->h - s.lh without noise */
        fs_gbdt_node lc = { .left = -1, .right = -1, .parent = ln->node,
                            .sum_hessian = (float)((double)s.lh * g->ginv) };
        fs_gbdt_node rcn = lc;
        rcn.sum_hessian = (float)((double)rh * g->ginv);
        lc.cond = lc.base_weight = calc_weight(g, s.lg, s.lh) * eta;
        rcn.cond = rcn.base_weight = calc_weight(g, rg, rh) * eta;
        FS_TRY(fs_gbdt_model_add_node(g->m, &lc, &lid));
        FS_TRY(fs_gbdt_model_add_node(g->m, &rcn, &rid));
        fs_gbdt_node *p = tree_node(g, ln->node);
        p->left = lid;
        p->right = rid;
        p->feature = s.feature;
        p->split_bin = s.bin;
        p->cond = g->m->edges[g->m->bin_ptr[s.feature] + (uint32_t)s.bin];
        p->default_left = s.default_left;
        p->base_weight = calc_weight(g, ln->g, ln->h);
        p->loss_change = s.loss;
        uint32_t nl = partition(g, ln, &s);
        FS_TRY(set_segment(g, lid, ln->begin, ln->begin + nl));
        FS_TRY(set_segment(g, rid, ln->begin + nl, ln->end));
        if (last) continue;
        lnode *a = g->next + g->nnext, *b = a + 1;
        *a = (lnode){ .node = lid, .begin = ln->begin, .end = ln->begin + nl, .c = s.lc,
                      .g = s.lg, .h = s.lh, .widx = -1, .slot = -1,
                      .sib = (int32_t)g->nnext + 1 };
        *b = (lnode){ .node = rid, .begin = ln->begin + nl, .end = ln->end, .c = ln->c - s.lc,
                      .g = rg, .h = rh, .widx = -1, .slot = -1, .sib = (int32_t)g->nnext };
        /* a node of fewer than 2 rows (summed) cannot split; under DP the
         * counts are not summed, and a node whose H is below 2
         * min_child_weight cannot split either (both children need it) */
        if (g->noisy) {
            const double h2 = 2.0 * g->o.min_child_weight;
            a->open = (double)a->h * g->ginv >= h2 && a->h > 0;
            b->open = (double)b->h * g->ginv >= h2 && b->h > 0;
        } else {
            a->open = a->c >= 2;
            b->open = b->c >= 2;
        }
        if (a->open || b->open) {
            /* build the child with the smaller summed count (under DP: the
             * smaller H); derive the other */
            (g->noisy ? a->h <= b->h : a->c <= b->c) ? (a->build = 1) : (b->build = 1);
            if (g->verify) a->build = b->build = 1;
            ln->retain = 1;
            a->pslot = b->pslot = (int32_t)i; /* level index for now, slot below */
        }
        g->nnext += 2;
    }
done:
    return rc;
}

/* Keep the histograms of the nodes that are parents of the next level in
 * the slab (derived ones already live there; built ones are copied out of
 * the words vector, which the next level reuses). */
static fs_err retain_parents(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    size_t need = 0, W = g->node_words;
    for (size_t i = 0; i < g->ncur; i++) need += g->cur[i].retain;
    /* capacity in words: node_words changes with the sampled features */
    FS_TRY(fs_gbdt_grow(&g->slab, &g->slab_words, need * W, sizeof *g->slab, "kept histograms"));
    FS_TRY(fs_gbdt_grow(&g->slot_used, &g->cap_used, need, 1, "kept histograms"));
    memset(g->slot_used, 0, g->cap_used);
    for (size_t i = 0; i < g->ncur; i++)
        if (g->cur[i].retain && g->cur[i].widx < 0) g->slot_used[g->cur[i].slot] = 1;
    size_t free_slot = 0;
    for (size_t i = 0; i < g->ncur; i++) {
        lnode *ln = g->cur + i;
        if (!ln->retain || ln->widx < 0) continue;
        while (g->slot_used[free_slot]) free_slot++;
        memcpy(g->slab + free_slot * W, g->words + (size_t)ln->widx * W, W * sizeof *g->slab);
        ln->slot = (int32_t)free_slot;
        g->slot_used[free_slot] = 1;
    }
    /* next level: parent slots, and the order of the built histograms */
    int32_t nb = 0;
    for (size_t j = 0; j < g->nnext; j++) {
        lnode *c = g->next + j;
        if (!(c->open || c->build)) continue;
        c->pslot = g->cur[c->pslot].slot;
        if (c->build) c->widx = nb++;
    }
done:
    return rc;
}

/* The tree is complete: margins of this institution's rows. */
void fs_gbdt_finish_tree(fs_gbdt *g)
{
    fs_gbdt_model *m = g->m;
    int t = m->ntrees - 1, K = g->K, k = g->cls;
    const fs_gbdt_node *nd = m->nodes + m->tree_ptr[t];
    uint32_t nn = m->tree_ptr[t + 1] - m->tree_ptr[t];
    for (uint32_t i = 0; i < nn; i++) {
        if (nd[i].left >= 0) continue;
        for (uint32_t q = g->seg[2 * i]; q < g->seg[2 * i + 1]; q++)
            g->margin[(size_t)g->rows[q] * (size_t)K + (size_t)k] += nd[i].cond;
    }
    for (uint32_t q = g->nsampled; q < g->n; q++) {
        uint32_t r = g->rows[q];
        int32_t i = 0;
        while (nd[i].left >= 0) {
            uint32_t f = (uint32_t)nd[i].feature, c = code_at(g, r, f);
            uint32_t miss = m->has_missing[f] ? fs_gbdt_nbins(m, f) : UINT32_MAX;
            int left = c == miss ? nd[i].default_left : c < (uint32_t)nd[i].split_bin;
            i = left ? nd[i].left : nd[i].right;
        }
        g->margin[(size_t)r * (size_t)K + (size_t)k] += nd[i].cond;
    }
    fs_gbdt_model_add_margins(m, t, t + 1, g->va.X, g->nv, g->vmargin);
}

/* Verification mode: both children were built; the subtraction trick's
 * result (parent - smaller) must equal the larger one's summed histogram. */
static fs_err verify_pairs(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    size_t W = g->node_words;
    for (size_t j = 0; g->level > 0 && j + 1 < g->ncur; j += 2) {
        lnode *a = g->cur + j, *b = a + 1;
        if (!a->build || !b->build) continue;
        const lnode *sm = a->c <= b->c ? a : b, *lg = sm == a ? b : a;
        const uint64_t *hp = g->slab + (size_t)a->pslot * W;
        const uint64_t *hs = g->words + (size_t)sm->widx * W;
        const uint64_t *hl = g->words + (size_t)lg->widx * W;
        for (size_t k = 0; k < W; k++)
            if (hp[k] - hs[k] != hl[k])
                FS_FAIL(FS_ERR_DATA, "gbdt: subtraction check failed at tree %d level %d word %zu",
                        g->m->ntrees - 1, g->level, k);
    }
done:
    return rc;
}

void fs_gbdt_set_verify(fs_gbdt *g, int on) { g->verify = on; }

/* After the sum of a level: derive siblings, split, queue the next level. */
fs_err fs_gbdt_apply_level(fs_gbdt *g)
{
    fs_err rc = FS_OK;
    size_t W = g->node_words;
    for (size_t i = 0; i < g->ncur; i++) {
        lnode *ln = g->cur + i;
        if (!ln->build) continue;
        const uint64_t *h = g->words + (size_t)ln->widx * W;
        if (g->level == 0) {
            ln->c = h[0];
            ln->g = (int64_t)h[1];
            ln->h = (int64_t)h[2];
            fs_gbdt_node *root = tree_node(g, 0);
            root->sum_hessian = (float)((double)ln->h * g->ginv);
            root->cond = root->base_weight = calc_weight(g, ln->g, ln->h) * (float)g->o.eta;
        }
        if (!g->noisy) FS_TRY(check_hist(g, ln, h));  /* noisy sums are not consistent */
    }
    if (g->verify) FS_TRY(verify_pairs(g));
    for (size_t i = 0; i < g->ncur; i++) {
        lnode *ln = g->cur + i;
        if (!ln->open || ln->build) continue;
        /* sibling = parent - built child, in the parent's slot (exact) */
        uint64_t *hp = g->slab + (size_t)ln->pslot * W;
        const uint64_t *hs = g->words + (size_t)g->cur[ln->sib].widx * W;
        for (size_t k = 0; k < W; k++) hp[k] -= hs[k];
        ln->slot = ln->pslot;
    }
    FS_TRY(split_level(g));
    FS_TRY(retain_parents(g));
    lnode *t = g->cur;
    g->cur = g->next;
    g->next = t;
    /* drop the pairs with nothing to build (pairs stay whole and adjacent) */
    size_t k = 0;
    for (size_t j = 0; j < g->nnext; j += 2)
        if (g->cur[j].build || g->cur[j + 1].build) {
            g->cur[k++] = g->cur[j];
            g->cur[k++] = g->cur[j + 1];
        }
    /* siblings' indices in the compacted list */
    for (size_t j = 0; j + 1 < k; j += 2) {
        g->cur[j].sib = (int32_t)j + 1;
        g->cur[j + 1].sib = (int32_t)j;
    }
    g->ncur = k;
    g->level++;
done:
    return rc;
}

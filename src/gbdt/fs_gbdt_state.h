/*
 * fs_gbdt_state.h - the training engine's state, shared by the step machine
 * (fs_gbdt_train.c) and tree growth (fs_gbdt_grow.c); private to src/gbdt.
 * The algorithm, the exact-sum rule and the word layout are described at the
 * top of fs_gbdt_train.c.
 */
#ifndef FS_GBDT_STATE_H
#define FS_GBDT_STATE_H

#include <stdint.h>
#include "fs_gbdt_impl.h"

#define TAG_SUBSAMPLE UINT64_C(0x6762647473756273) /* "gbdtsubs" */
#define TAG_COLSAMPLE UINT64_C(0x67626474636f6c73) /* "gbdtcols" */
#define RT_EPS 1e-6f                               /* XGBoost's kRtEps                  */
#define LOGLOSS_MAX 37.0                           /* > -ln(1e-16), the clipped log loss */
#define HIST_BLOCK_BYTES (192u * 1024u)            /* histogram slots built per pass     */
#define HIST_PREFETCH 16                           /* rows fetched ahead                 */

/* A node of the level being grown. */
typedef struct {
    int32_t node;         /* tree-local node id                                  */
    uint32_t begin, end;  /* this institution's rows: rows[begin .. end)         */
    uint64_t c;           /* summed totals: rows, gq sum, hq sum                 */
    int64_t g, h;
    uint8_t build;        /* histogram built from local rows (then summed)       */
    uint8_t open;         /* split candidate                                    */
    uint8_t retain;       /* histogram kept as a parent for the next level       */
    int32_t widx;         /* built: index of its histogram in words, else -1     */
    int32_t slot;         /* derived or retained: slab slot of its histogram     */
    int32_t pslot;        /* slab slot of the parent's histogram (-1: root)      */
    int32_t sib;          /* index of the sibling in the level list (-1: root)   */
} lnode;

struct fs_gbdt {
    fs_gbdt_opts o;
    uint32_t silo;
    fs_gbdt_data tr, va;  /* borrowed                                           */
    size_t d, n, nv;
    int K;                /* trees per round = margins per row                  */
    fs_gbdt_model *m;     /* owned                                              */
    int broken;           /* an apply failed: the engine refuses further steps   */
    int verify;           /* build both children and check parent - built ==
                             sibling word for word (fs_gbdt_set_verify)          */
    int noisy;            /* the level sums carry DP noise (fs_gbdt_set_noisy)    */

    /* Step machine. */
    fs_gbdt_step_kind kind;
    int prepared;         /* step_local filled the words of the current step     */
    int start_pending;    /* the next round's first tree is started by the next
                             step_local, so that between rounds the model holds
                             complete trees only (what a checkpoint saves)      */
    int round, cls, level;
    uint64_t *words;      /* (cap_words + 1) the vector of the current step      */
    size_t nwords, cap_words;
    fs_gbdt_grid grid;    /* fine grid, between the coarse and fine passes       */

    /* Binned rows. */
    uint32_t *nslots;     /* (d) S_f = B_f + has_missing_f                       */
    int wide;             /* codes are uint16 (some S_f > 256), else uint8       */
    uint8_t *codes8;      /* (n, d) bin of each value; B_f for missing           */
    uint16_t *codes16;
    uint8_t *cols8;       /* (d, n) the same, column-major (row partitioning)     */
    uint16_t *cols16;

    /* Fixed point. */
    double gscale, ginv;  /* 2^f and 2^-f                                        */
    double gbound;        /* public bound of |g| (clip)                          */
    double hbound;        /* public bound of h (clip): 1/4, 1/2 or 1             */
    double escale, einv;  /* loss sums: 2^fe, 2^-fe                              */
    double lmax;          /* public bound of a row's loss                         */
    uint64_t *gh;         /* (K, n, 2) gq, hq as two's complement words          */
    float *margin;        /* (n, K) training margins                             */
    float *vmargin;       /* (nv, K) validation margins                          */

    /* The tree being grown. */
    uint32_t *rows, *tmp; /* (n) sampled rows first, partitioned per node        */
    uint32_t nsampled;
    uint32_t *feats;      /* (d) sampled features, ascending (nfeat of them)     */
    uint32_t nfeat;
    uint32_t *foff;       /* (d) slot of sampled feature j's first bin in a node */
    uint32_t *fblock;     /* (nblocks + 1) sampled-feature ranges whose slots fit
                             in L2 together (histogram building order)          */
    uint32_t nblocks;
    size_t node_words;    /* 3 * (1 + sum of S_f over sampled features)          */
    lnode *cur, *next;    /* (cap_level) the level being grown, the next one     */
    size_t ncur, nnext, cap_level;
    uint64_t *slab;       /* (slab_words) summed histograms kept, node_words each */
    size_t slab_words;
    uint8_t *slot_used;   /* (cap_used) one flag per slab slot                   */
    size_t cap_used;
    uint32_t *seg;        /* (cap_seg) begin, end of the rows of every node      */
    size_t cap_seg;

    /* Metrics. */
    double train_metric, val_metric;
    uint64_t clipped;
};


static inline uint32_t code_at(const fs_gbdt *g, uint32_t r, uint32_t f)
{
    size_t i = (size_t)f * g->n + r;
    return g->wide ? g->cols16[i] : g->cols8[i];
}

/* Room for `need` nodes in both level lists (fs_gbdt_train.c). */
fs_err fs_gbdt_level_reserve(fs_gbdt *g, size_t need);

/* Tree growth (fs_gbdt_grow.c), called by the step machine in this order per
 * tree: gbdt_start_tree (root of the next tree, its sampled features), then
 * per level gbdt_build_hist for every built node of the level into the word
 * vector and, after the sum, gbdt_apply_level (sibling subtraction, split
 * search, partition, next level); gbdt_finish_tree adds the leaves' values to
 * the margins.  All are local (no communication); they return FS_OK or an
 * error with a message, leaving g consistent for fs_gbdt_destroy. */
fs_err fs_gbdt_start_tree(fs_gbdt *g);
void fs_gbdt_build_hist(const fs_gbdt *g, const lnode *ln, uint64_t *hist);
fs_err fs_gbdt_apply_level(fs_gbdt *g);
void fs_gbdt_finish_tree(fs_gbdt *g);

#endif

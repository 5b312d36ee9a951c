/*
 * fs_gbdt_impl.h - internals of the GBDT engine (programs layer, no MPI):
 * the model and engine structs and the helpers shared by fs_gbdt_model.c
 * (model, prediction, HDF5), fs_gbdt_bins.c (bin edges from summed
 * histograms), fs_gbdt_train.c (the step machine and tree growth) and
 * fs_gbdt_export.c (XGBoost JSON).  Not installed.
 */
#ifndef FEDSILO_FS_GBDT_IMPL_H
#define FEDSILO_FS_GBDT_IMPL_H

#include <stdint.h>
#include <string.h>
#include <hdf5.h>
#include "fs_impl.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_gbdt.h"
#include "fedsilo/fs_metrics.h"

/*
 * One tree node, in XGBoost's vocabulary (its JSON arrays are these fields).
 * Node ids are local to their tree; the root is 0.
 */
typedef struct {
    int32_t left, right;   /* children, -1 for a leaf                             */
    int32_t parent;        /* -1 for the root                                      */
    int32_t feature;       /* split feature (0 for a leaf)                         */
    int32_t split_bin;     /* a non-missing x goes left iff its bin < split_bin,
                              i.e. iff x < cond; 0 for a leaf                      */
    float cond;            /* split: threshold = edge split_bin of the feature;
                              leaf: the leaf value eta * w                        */
    float base_weight;     /* w = -G / (H + lambda) (unshrunk) of a split node;
                              the leaf value of a leaf (as XGBoost stores it)      */
    float loss_change;     /* gain of the split, 0 for a leaf                      */
    float sum_hessian;     /* H of the node                                        */
    uint8_t default_left;  /* missing values go left                               */
} fs_gbdt_node;

struct fs_gbdt_model {
    fs_gbdt_opts opts;     /* the options it was trained with (rounds = target)    */
    int nout;              /* margins per row: K for multi:*, else 1               */
    size_t d;              /* features                                             */
    float base_margin;     /* initial margin: logit(base_score) for logistic       */
    /* Bin edges.  Feature f has B_f bins and B_f + 1 edges
     * edges[bin_ptr[f] .. bin_ptr[f+1]); B_f = 0 (no edges) when no
     * institution has a value of f.  Bin b holds edge_b <= x < edge_{b+1}.     */
    uint32_t *bin_ptr;     /* (d + 1)                                              */
    float *edges;          /* (bin_ptr[d])                                         */
    uint8_t *has_missing;  /* (d) 1 when some institution has a missing value      */
    /* Trees: nodes of tree t are nodes[tree_ptr[t] .. tree_ptr[t+1]).          */
    int ntrees, cap_trees;
    uint32_t *tree_ptr;    /* (cap_trees + 1)                                      */
    int32_t *tree_class;   /* (cap_trees) output (class) of each tree              */
    fs_gbdt_node *nodes;
    size_t nnodes, cap_nodes;
    /* Training state (public sums and decisions, identical everywhere).       */
    uint64_t total_rows, total_val_rows;
    int frac_bits;         /* gradients and hessians: scale 2^frac_bits            */
    int eval_frac_bits;    /* loss sums: scale 2^eval_frac_bits                    */
    int rounds_done;
    int best_round;        /* -1 without validation rows                           */
    double best_score;     /* best validation metric (NaN when none)               */
    int stopped;           /* 1: early stopping ended training                     */
};

/* Order-preserving key of a finite or infinite float: x < y iff key(x) <
 * key(y), with -0 mapped to +0 (they compare equal). */
static inline uint32_t fs_gbdt_key(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    if (b == 0x80000000u) b = 0;
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

/* The float whose key is k (inverse of fs_gbdt_key away from -0). */
static inline float fs_gbdt_key_value(uint32_t k)
{
    uint32_t b = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* Bins of feature f. */
static inline uint32_t fs_gbdt_nbins(const fs_gbdt_model *m, size_t f)
{
    uint32_t ne = m->bin_ptr[f + 1] - m->bin_ptr[f];
    return ne ? ne - 1 : 0;
}

/* Outputs (margins) per row and trees per round of an objective. */
static inline int fs_gbdt_nout(const fs_gbdt_opts *o)
{
    return (o->objective == FS_GBDT_MULTI_SOFTPROB || o->objective == FS_GBDT_MULTI_SOFTMAX)
               ? o->num_class : 1;
}

/* XGBoost's initial margin for base_score (float arithmetic, as XGBoost). */
FS_INTERN float fs_gbdt_base_margin(const fs_gbdt_opts *o);
/* base_score with NaN replaced by the default 0.5. */
FS_INTERN double fs_gbdt_base_score(const fs_gbdt_opts *o);

/* Grow the buffer *p (elements of sz bytes, capacity *cap elements; NULL
 * allocates) to at least need elements, keeping its contents.  FS_ERR_NOMEM
 * names `what`. */
FS_INTERN fs_err fs_gbdt_grow(void *p, size_t *cap, size_t need, size_t sz, const char *what);

/* New empty model for opts and d features (no bins, no trees).  Caller owns. */
FS_INTERN fs_err fs_gbdt_model_new(const fs_gbdt_opts *o, size_t d, fs_gbdt_model **out);
/* Deep copy. */
FS_INTERN fs_err fs_gbdt_model_copy(const fs_gbdt_model *src, fs_gbdt_model **out);
/* Start tree ntrees (class cls) with a root leaf; returns its first node index. */
FS_INTERN fs_err fs_gbdt_model_begin_tree(fs_gbdt_model *m, int cls);
/* Append a node to the last tree; *id = its tree-local id. */
FS_INTERN fs_err fs_gbdt_model_add_node(fs_gbdt_model *m, const fs_gbdt_node *nd, int32_t *id);
/* Keep only the first ntrees trees. */
FS_INTERN void fs_gbdt_model_truncate(fs_gbdt_model *m, int ntrees);
/* Leaf reached by row x (d floats, NaN = missing) in tree t; tree-local id. */
FS_INTERN int32_t fs_gbdt_tree_leaf(const fs_gbdt_model *m, int t, const float *x);
/* margins (n, nout) += trees [t0, t1) on rows X (n, d), float32, tree order. */
FS_INTERN void fs_gbdt_model_add_margins(const fs_gbdt_model *m, int t0, int t1,
                                         const float *X, size_t n, float *margins);

/* Write / read the model group `group` under loc (path names the file in
 * messages).  Not atomic; the caller owns the file. */
FS_INTERN fs_err fs_gbdt_model_write_h5(const fs_gbdt_model *m, hid_t loc, const char *path,
                                        const char *group);
FS_INTERN fs_err fs_gbdt_model_read_h5(hid_t loc, const char *path, const char *group,
                                       fs_gbdt_model **out);

/* Testing: build both children of every pair and check that the parent's
 * summed histogram minus the smaller child's equals the larger child's,
 * word for word (FS_ERR_DATA otherwise).  Same trees, more work. */
FS_INTERN void fs_gbdt_set_verify(fs_gbdt *g, int on);

// --- Differential privacy of the level sums (fs_gbdt_train.c; used by fs_gbdt_run.c)

/*
 * fs_gbdt_set_noisy - the level sums will carry DP noise: the engine no
 * longer expects them to be consistent (a built node's totals equal to its
 * parent's prediction, every feature's slots adding up to the row count),
 * zeroes the row-count words of its level vectors (they are not released)
 * and decides on hessian sums instead: a node is open when its H >= 2
 * min_child_weight (a split needs both children at min_child_weight) and
 * the child with the smaller H is built.  Call before the first step.  The
 * noisy sums are still identical on every institution, so the trees are.
 */
FS_INTERN void fs_gbdt_set_noisy(fs_gbdt *g);

/*
 * fs_gbdt_set_public_bins - a fresh engine (before its first step) takes its
 * bin edges from public information instead of the two bin-edge sums:
 * feature f gets nbins[f] >= 1 equal-width bins over [lo[f], hi[f]] (interior
 * edges lo + (hi - lo) b / nbins[f], b = 1 .. nbins[f] - 1, as float32; the
 * outer edges are -Inf and +Inf, so a value outside the range falls in the
 * first or last bin), has_missing[f] the public "may be missing" flag, and
 * the fixed-point scale 2^frac_bits (chosen by the caller from public
 * parameters; no summed row count).  The first step is then the first tree
 * level (no COARSE or FINE step), the summed row counts are unknown (0:
 * the loss metrics are NaN unless fs_gbdt_set_counts gives them) and the
 * engine is noisy (fs_gbdt_set_noisy).  Returns FS_OK, FS_ERR_ARG (not a
 * fresh engine; lo >= hi; a range too narrow for its float32 edges, naming
 * the feature index), FS_ERR_DATA (a training value missing where
 * has_missing is 0), FS_ERR_NOMEM.
 */
FS_INTERN fs_err fs_gbdt_set_public_bins(fs_gbdt *g, const double *lo, const double *hi,
                                         const uint32_t *nbins, const uint8_t *has_missing,
                                         int frac_bits);

/*
 * fs_gbdt_set_counts - the summed training and validation row counts, when
 * the driver releases them (under DP only with --dp-public-metrics yes), so
 * that the loss sums can be scaled and reported.  Returns FS_OK or FS_ERR_ARG
 * (no headroom for n rows at the engine's scale).
 */
FS_INTERN fs_err fs_gbdt_set_counts(fs_gbdt *g, uint64_t n, uint64_t nv);

/*
 * fs_gbdt_level_sensitivity - the L2 sensitivity, in ring units, of the
 * current LEVEL step's word vector to adding or removing one training row:
 * sqrt((1 + F) (Gq^2 + Hq^2)) (the count words are zeroed under DP), F the
 * sampled features of the tree, Gq =
 * round(gbound 2^f), Hq = round(hbound 2^f) (derivation at the definition).
 * fs_gbdt_level_sensitivity_for gives the same for F features and f bits
 * before the engine has a tree (the caller's calibration).
 */
FS_INTERN double fs_gbdt_level_sensitivity(const fs_gbdt *g);
FS_INTERN double fs_gbdt_level_sensitivity_for(const fs_gbdt_opts *o, uint32_t nfeat,
                                               int frac_bits);
/* Features sampled per tree for d features: floor(colsample d), at least 1. */
FS_INTERN uint32_t fs_gbdt_sampled_features(const fs_gbdt_opts *o, size_t d);

// --- Bin edges from summed histograms (fs_gbdt_bins.c)

/* Fine grid of the bin passes: a float's binade is key >> 23 (sign and
 * exponent: 512 of them), its fine bin is the binade's rank among the
 * non-empty binades of its feature and the top `m` mantissa bits. */
#define FS_GBDT_NBINADES 512

typedef struct {
    size_t d;
    int16_t *rank;        /* (d, 512) rank of a binade among the feature's
                             non-empty binades, -1 when empty                   */
    uint16_t *binade;     /* (d, 512) the non-empty binades in order           */
    uint8_t *mbits;       /* (d) mantissa bits of the fine grid                 */
    uint32_t *off;        /* (d + 1) offset of each feature's fine bins         */
} fs_gbdt_grid;

FS_INTERN void fs_gbdt_grid_free(fs_gbdt_grid *g);

/* Fine bin (within its feature) of a value with key k, or UINT32_MAX when
 * the summed coarse counts call its binade empty. */
static inline uint32_t fs_gbdt_grid_fine(const fs_gbdt_grid *g, size_t f, uint32_t k)
{
    int mb = g->mbits[f], r = g->rank[f * FS_GBDT_NBINADES + (k >> 23)];
    return r < 0 ? UINT32_MAX : ((uint32_t)r << mb) | ((k & 0x7fffffu) >> (23 - mb));
}

/* Coarse words of rows X (n, d): counts[f * 512 + binade] += 1 per value. */
FS_INTERN void fs_gbdt_coarse_add(const float *X, size_t n, size_t d, uint64_t *counts);
/* Build the fine grid from the summed coarse counts (d, 512) and a budget of
 * fine_bins per feature. */
FS_INTERN fs_err fs_gbdt_grid_build(fs_gbdt_grid *g, size_t d, const uint64_t *counts,
                                    int fine_bins);
/* Fine words of rows X: fine[off[f] + fine bin] += 1 per value.  Returns
 * the number of values whose binade the summed coarse counts call empty
 * (0 unless the coarse sum was corrupted; those values are skipped). */
FS_INTERN size_t fs_gbdt_fine_add(const fs_gbdt_grid *g, const float *X, size_t n, uint64_t *fine);
/* Bin edges of every feature from the summed fine counts, into m (bin_ptr,
 * edges, has_missing given the summed row count m->total_rows). */
FS_INTERN fs_err fs_gbdt_edges_build(const fs_gbdt_grid *g, const uint64_t *fine, int max_bins,
                                     fs_gbdt_model *m);
/* Bin of every fine bin under m's edges (grid->off[d] entries; caller frees):
 * the number of interior edges at or below the fine bin's lower boundary. */
FS_INTERN fs_err fs_gbdt_grid_codes(const fs_gbdt_grid *g, const fs_gbdt_model *m,
                                    uint16_t **out);

/*
 * fs_gbdt_add_metric_sums - add the metric sums (fs_metrics.h, K classes;
 * regression for a reg:squarederror model, K = 0) of model m's class
 * probabilities or predictions on every row of ds (NULL or empty: no
 * change) to vec; the loss is the log loss with probabilities clipped at
 * 1e-16, or the squared error.  Regression sums are in the units of the
 * model's public label range ((v - LO) / (HI - LO)), so that they stay
 * within the statistics codec of the secure sum: read them with
 * fs_gbdt_metric_report.  Not collective (fs_gbdt_ckpt.c).
 */
FS_INTERN fs_err fs_gbdt_add_metric_sums(const fs_gbdt_model *m, const fs_dataset *ds, int K,
                                         double *vec);
/* fs_gbdt_metric_report - fs_metrics_report of (summed) metric sums of m,
 * regression metrics scaled back to the targets' units. */
FS_INTERN void fs_gbdt_metric_report(const fs_gbdt_model *m, const double *vec, fs_task task,
                                     int K, fs_eval_report *out);

#endif /* FEDSILO_FS_GBDT_IMPL_H */

/*
 * fs_opts.h - the typed options of every fedsilo program (federation core;
 * no MPI).
 *
 * The option table (fs_config.h) is the only parser: it reads the INI file
 * and the --key value flags of one command, range-checks every value with
 * its origin, and fills one fs_opts once (fs_config_options).  Programs
 * read fields, never string keys.  Every field of a group is documented
 * with the flag that sets it; strings are borrowed from the fs_config they
 * came from and stay valid until it is destroyed.  Fields of a command's
 * other groups keep their defaults.
 *
 * Adding an option: one row in the table (src/fed/fs_config.c) naming the
 * field below, one line in docs/config.md and docs/fedsilo.1.  Adding a
 * program: a command bit, a group struct here, its rows.
 */
#ifndef FEDSILO_FS_OPTS_H
#define FEDSILO_FS_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_data.h"
#include "fs_dp.h"
#include "fs_dpsgd.h"
#include "fs_fixed.h"
#include "fs_secagg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The commands whose options the table knows (bit set: a row may serve several). */
typedef enum {
    FS_CMD_TRAIN = 1 << 0,       /* fedsilo train                               */
    FS_CMD_STATS = 1 << 1,       /* fedsilo stats                               */
    FS_CMD_RIDGE = 1 << 2,       /* fedsilo ridge                               */
    FS_CMD_VFL_TRAIN = 1 << 3,   /* fedsilo vfl-train                           */
    FS_CMD_PSI = 1 << 4,         /* fedsilo psi                                 */
    FS_CMD_DP_EPSILON = 1 << 5,  /* fedsilo dp epsilon                          */
    FS_CMD_DP_CALIBRATE = 1 << 6 /* fedsilo dp calibrate                        */
} fs_command;

typedef enum { FS_RESUME_NO = 0, FS_RESUME_YES = 1, FS_RESUME_AUTO = 2 } fs_resume_mode;

/* --membership: may a resumed run have other members than the checkpoint's? */
typedef enum { FS_MEMBERSHIP_STRICT = 0, FS_MEMBERSHIP_ELASTIC = 1 } fs_membership_mode;

/* The federation: shards, the sum, the run directory (every MPI program). */
typedef struct {
    const char *data;            /* --data: this rank's shard, "%d" = rank (its
                                    roster index with --exclude); ""
                                    = the roster's data = path of this rank  */
    const char *roster;          /* --roster: consortium roster, "" = none    */
    const char *identity;        /* --identity: private key pattern, "%d" = rank
                                    (roster index with --exclude)            */
    int insecure_no_auth;        /* --insecure-no-auth yes                    */
    fs_agg_mode aggregation;     /* --aggregation secure|plain                */
    int ring_bits;               /* --ring-bits: 32 or 64 (train)             */
    int frac_bits;               /* --frac-bits: -1 = largest the headroom rule
                                    allows (train)                           */
    double clip;                 /* --clip: coordinate clip of updates (train) */
    fs_fixed_rounding rounding;  /* --rounding nearest|stochastic (train)     */
    int mask_degree;             /* --mask-degree: 0 full mesh (train)        */
    uint64_t seed;               /* --seed: master seed of the run            */
    const char *out;             /* --out: run directory (train, ridge; psi and
                                    vfl-train: output pattern / directory)   */
    long checkpoint_every;       /* --checkpoint-every: 0 = only at the end   */
    fs_resume_mode resume;       /* --resume no|yes|auto                      */
    long timeout;                /* --timeout: watchdog seconds, 0 = off      */
    fs_membership_mode membership; /* --membership strict|elastic (train)     */
    const char *exclude;         /* --exclude: comma-separated roster names not
                                    in this job (train); NULL or "" = none   */
    int min_institutions;        /* --min-institutions: elastic or --exclude
                                    jobs refuse fewer members (>= 2)         */
    int public_counts;           /* --public-counts yes: shard sizes are
                                    declared public (a membership change may
                                    then release them)                       */
} fs_fed_opts;

typedef enum { FS_ALGO_FEDAVG = 0, FS_ALGO_FEDPROX = 1, FS_ALGO_FEDSGD = 2 } fs_fl_algorithm;

/* Server optimizers of FedAvg (Reddi et al. 2021); see docs/optimizers.md. */
typedef enum {
    FS_SERVER_FEDAVG = 0, FS_SERVER_FEDAVGM, FS_SERVER_FEDADAGRAD, FS_SERVER_FEDYOGI,
    FS_SERVER_FEDADAM
} fs_fl_server_opt;

/* FedAvg training (fedsilo train). */
typedef struct {
    const char *test;            /* --test: global test file, "" = none (ridge:
                                    the file the fit is evaluated on)        */
    int standardize;             /* --standardize yes                          */
    int impute;                  /* --impute yes: fill missing cells (fs_prep.h) */
    const char *model;           /* --model: linear | logistic | softmax | mlp:H,... */
    double lr;                   /* --lr: local learning rate                 */
    double momentum;             /* --momentum                                 */
    double weight_decay;         /* --weight-decay                             */
    size_t batch_size;           /* --batch-size                               */
    int local_epochs;            /* --local-epochs                             */
    long local_steps;            /* --local-steps: > 0 overrides epochs        */
    int rounds;                  /* --rounds                                   */
    fs_fl_algorithm algorithm;   /* --algorithm fedavg|fedprox|fedsgd          */
    double prox_mu;              /* --prox-mu                                  */
    fs_fl_server_opt server_opt;  /* --server-opt                              */
    double server_lr;            /* --server-lr                                */
    double server_beta1;         /* --server-beta1                             */
    double server_beta2;         /* --server-beta2                             */
    double server_tau;           /* --server-tau                               */
    int eval_every;              /* --eval-every                               */
} fs_fl_opts;

/* Gradient-boosted trees (fedsilo train --model gbdt; [gbdt]; docs/gbdt.md).
 * The seed of the sampling streams is fed.seed. */
typedef struct {
    const char *objective;       /* --objective: auto | binary:logistic |
                                    multi:softprob | multi:softmax |
                                    reg:squarederror                           */
    int trees;                   /* --trees: boosting rounds (multi: K trees each) */
    int max_depth;               /* --max-depth                                */
    double eta;                  /* --eta                                      */
    int max_bins;                /* --max-bins                                 */
    double lambda;               /* --lambda                                   */
    double gamma;                /* --gamma                                    */
    double min_child_weight;     /* --min-child-weight                         */
    double subsample;            /* --subsample                                */
    double colsample;            /* --colsample (per tree)                     */
    double base_score;           /* --base-score                               */
    int early_stopping_rounds;   /* --early-stopping-rounds: 0 = off           */
    const char *label_range;     /* --label-range LO:HI (reg:squarederror); ""
                                    = the schema's range of the label column   */
} fs_gbdt_cli_opts;

/* Differential privacy (train; dp epsilon / calibrate; stats releases). */
typedef struct {
    int dp_sgd;                  /* --dp-sgd yes                               */
    double clip;                 /* --dp-clip: per-example clipping norm C     */
    double noise;                /* --dp-noise (alias --noise-multiplier)      */
    double sampling_rate;        /* --dp-sampling-rate (alias --sampling-rate) */
    fs_dpsgd_sampling sampling;  /* --dp-sampling poisson|fixed                */
    int ddp;                     /* --ddp yes                                  */
    double ddp_clip;             /* --ddp-clip                                 */
    double ddp_noise;            /* --ddp-noise                                */
    double ddp_max_wrap;         /* --ddp-max-wrap                             */
    int ddp_min_honest;          /* --ddp-min-honest H (0: N - 1)              */
    double delta;                /* --dp-delta (alias --delta)                 */
    double epsilon;              /* --dp-epsilon (alias --target-epsilon):
                                    train: the budget (0 = none); stats: the
                                    epsilon of a DP release (0 = exact);
                                    dp calibrate: the target                 */
    uint64_t dp_seed;            /* --dp-seed: 0 = OS randomness (testing only) */
    int public_metrics;          /* --dp-public-metrics yes: under DP also release
                                    the exact sums (counts, training loss,
                                    validation metrics, --standardize/--impute
                                    statistics), listed as public            */
    long steps;                  /* --steps (dp epsilon / calibrate)           */
    fs_dp_conversion conversion; /* --conversion improved|classic              */
} fs_dp_opts;

/* Default refusal limit of fs_stats_opts.max_cov_features. */
#define FS_STATS_MAX_COV_FEATURES 256u
/* Largest number of histogram bins. */
#define FS_STATS_MAX_BINS 1024

/* Options of fs_stats_compute (fedsilo stats); identical on every rank (checked). */
typedef struct {
    int bins;                 /* --bins: histogram bins per feature, 0 = none  */
    int have_range;           /* --range LO:HI given: one histogram range      */
    double lo, hi;            /*    (lo < hi, finite); else mean +- 4 std      */
    int covariance;           /* --covariance: covariance and correlation      */
    size_t max_cov_features;  /* --max-covariance-features (0: the default)    */
    double dp_epsilon;        /* > 0: release (epsilon, dp_delta)-DP statistics:
                                 needs have_range; every value is clipped to
                                 [lo, hi]; no covariance (from --dp-epsilon)  */
    double dp_delta;          /* delta of the DP release (from --dp-delta)     */
} fs_stats_opts;

/* Options of fs_ridge_fit (fedsilo ridge); identical on every rank (checked). */
typedef struct {
    double lambda;            /* --lambda: L2 penalty >= 0 (not on the intercept) */
    int standardize;          /* --standardize: penalize standardized coefficients
                                 (global mean / population std from the same
                                 sums); the returned model still acts on raw
                                 features                                     */
} fs_ridge_opts;

typedef enum { FS_VFL_LOGISTIC = 0, FS_VFL_LINEAR = 1 } fs_vfl_model;

/* Options of fs_vfl_train (fedsilo vfl-train).  All fields except the paths
 * must be identical on every rank (checked collectively). */
typedef struct {
    fs_vfl_model model;          /* --model logistic|linear                  */
    int label_rank;              /* --label-rank: rank holding the labels    */
    double lr;                   /* --lr: learning rate (> 0)                */
    double l2;                   /* --l2: L2 penalty on the weights (>= 0)   */
    int epochs;                  /* --epochs: >= 1                           */
    size_t batch_size;           /* --batch-size: >= 1                       */
    int paillier_bits;           /* --paillier-bits: FS_PAILLIER_MIN_BITS..MAX_BITS,
                                    even; below FS_PAILLIER_SECURE_BITS only
                                    with insecure_test_keys                  */
    uint64_t seed;               /* --seed: batch order                      */
    const char *roster_path;     /* key-setup roster (NULL/"" = none)        */
    const char *identity_path;   /* this rank's identity key                 */
    int allow_unauthenticated;   /* run without a roster (the channels are
                                    then encrypted but not authenticated)   */
    int insecure_test_keys;      /* --insecure-test-keys yes: accept Paillier
                                    keys below 2048 bits                     */
    /* TEST ONLY, for the positive controls of the attack tests; never set
     * in production (no option row: the CLI cannot set them):              */
    int test_plain_channel;      /* point-to-point messages unsealed         */
    int test_no_score_masks;     /* feature holders send raw z_k             */
    int test_legacy_batches;     /* short tail batch, no margin check        */
} fs_vfl_opts;

/* fedsilo psi and the options of fs_psi_intersect (which reads only the
 * last four fields).  The paths may differ between ranks;
 * allow_unauthenticated must not (the secure-sum setup checks it). */
typedef struct {
    const char *ids;             /* --ids: id-file pattern, "" = use --data   */
    int header;                  /* --header: skip the first line of id files */
    int threads;                 /* --threads: threads of this rank for the
                                    group operations; 0 = the node's online
                                    CPUs divided by its ranks, rounded up    */
    const char *roster_path;     /* consortium roster; NULL/"" = none        */
    const char *identity_path;   /* this rank's Ed25519 private key (PEM)    */
    int allow_unauthenticated;   /* without a roster: 1 to run anyway (warns) */
} fs_psi_opts;

/* Everything one command's configuration holds, typed. */
typedef struct {
    fs_command cmd;
    fs_fed_opts fed;
    fs_fl_opts fl;
    fs_gbdt_cli_opts gbdt;
    fs_dp_opts dp;
    fs_stats_opts stats;
    const char *stats_json;      /* --json: stats output file, "" = none      */
    fs_ridge_opts ridge;
    fs_vfl_opts vfl;
    int label_rank_given;        /* --label-rank was set explicitly           */
    fs_psi_opts psi;
} fs_opts;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_OPTS_H */

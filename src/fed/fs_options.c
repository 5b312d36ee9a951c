/*
 * fs_options.c - the option table of every fedsilo command and the one
 * function that refuses invalid combinations (federation core; no MPI).
 *
 * Each row names the commands that accept it, its INI section and key (the
 * flag is "--" + key with '_' as '-'), an optional second spelling (an
 * alias kept for the older flag name), its kind, default (NULL: required),
 * range or choices, the typed field of fs_opts it fills, and its help.
 * Keys are unique among the rows of one command; rows of different
 * commands may share a key when the commands mean different things by it
 * (--lr of train and of vfl-train).  The rows of `fedsilo train` keep the
 * order, keys and defaults that define its config.ini and config hash.
 *
 * Room for later groups: a program adds a command bit (fs_opts.h), its
 * group struct and its rows here (e.g. [gbdt] trees, max_depth, eta,
 * max_bins, lambda, gamma, min_child_weight, subsample, colsample;
 * [schema]; [membership]); nothing else changes.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_paillier.h"

#define NOLIM -1e300, 1e300
#define F(field) offsetof(fs_opts, field)
#define NOSET ((size_t)-1)

enum {
    TRAIN = FS_CMD_TRAIN, STATS = FS_CMD_STATS, RIDGE = FS_CMD_RIDGE, VFL = FS_CMD_VFL_TRAIN,
    PSI = FS_CMD_PSI, DPE = FS_CMD_DP_EPSILON, DPC = FS_CMD_DP_CALIBRATE,
    FEDSUM = STATS | RIDGE   /* analytics: the same federation options */
};

const fs_opt_def fs_opt_table[] = {
    /* [data] */
    { TRAIN, "data", "data", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(fed.data), NOSET,
      "this rank's shard: a path, with %d replaced by the rank (with --exclude: the roster "
      "index) (e.g. shards/site-%d.h5); "
      "empty: the data = path of this rank's institution in the roster" },
    { FEDSUM, "data", "data", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(fed.data), NOSET,
      "this rank's shard; '%d' is replaced by the rank (default: the data = path of the "
      "rank in --roster)" },
    { VFL, "data", "data", NULL, FS_OPT_STR, NULL, NOLIM, NULL, FS_FIELD_STR, F(fed.data), NOSET,
      "training part of each rank, '%d' = rank" },
    { PSI, "data", "data", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(fed.data), NOSET,
      "fedsilo datasets with record ids (the /ids dataset written by 'fedsilo import csv "
      "--id-column'); --out gets a dataset with only the common rows, reordered into the "
      "common order (features, labels, ids, names and attributes kept; /validation dropped)" },
    { PSI, "psi", "ids", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(psi.ids), NOSET,
      "text/CSV id files, '%d' = rank: one id per line (the first comma-separated column; "
      "blanks around it ignored; empty lines skipped); --out gets 'row,id' lines (row = "
      "0-based data line number)" },
    { PSI, "psi", "header", NULL, FS_OPT_FLAG, "no", NOLIM, "no|yes", FS_FIELD_BOOL, F(psi.header),
      NOSET, "skip the first line of each id file (--ids only)" },
    { PSI, "psi", "threads", NULL, FS_OPT_INT, "0", 0, 64, NULL, FS_FIELD_INT, F(psi.threads),
      NOSET, "threads per rank for the group operations (0: the node's CPUs divided by its "
      "ranks, rounded up)" },
    { TRAIN, "data", "test", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(fl.test), NOSET,
      "optional global test file (fedsilo layout); evaluated every eval round" },
    { RIDGE, "data", "test", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(fl.test), NOSET,
      "evaluate the fitted model on this file (rank 0) and print RMSE, MAE and R^2" },
    { VFL, "data", "test", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(fl.test), NOSET,
      "test part of each rank (same layout; optional)" },
    { TRAIN, "data", "standardize", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(fl.standardize), NOSET,
      "yes: standardize features with the global mean/std from secure sums (stored in the "
      "checkpoint; fedsilo eval applies it). With a schema only the numeric columns are "
      "standardized (one-hot and missing-indicator columns are not), after --impute" },
    { TRAIN, "data", "impute", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(fl.impute), NOSET,
      "yes: fill missing cells of shards imported with a schema by the schema's policy "
      "(global mean, median from a two-level secure histogram, mode, constant), computed "
      "from secure sums and stored in the checkpoint (eval and predict apply it); the "
      "counts, means, histograms and category counts are released to every institution. "
      "no: a shard with missing cells is refused" },
    { FEDSUM, "data", "impute", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(fl.impute), NOSET,
      "yes: fill missing cells of shards imported with a schema by the schema's policy, "
      "exactly as train --impute yes (the same secure sums; the counts, means, histograms "
      "and category counts are released to every institution); the results then describe "
      "the imputed columns (ridge: the fills are stored in the checkpoint). no: a shard "
      "with missing cells is refused" },
    /* [model] */
    { TRAIN, "model", "model", NULL, FS_OPT_STR, "mlp:256,128", NOLIM, NULL, FS_FIELD_STR,
      F(fl.model), NOSET, "linear | logistic | softmax | mlp:H1,H2,... (ReLU hidden layers) | "
      "gbdt (gradient-boosted trees, options of [gbdt])" },
    { VFL, "vfl", "model", NULL, FS_OPT_CHOICE, "logistic", NOLIM, "logistic|linear",
      FS_FIELD_ENUM, F(vfl.model), NOSET, "logistic (labels 0/1) or linear regression" },
    /* [train] local SGD on each institution */
    { TRAIN, "train", "lr", NULL, FS_OPT_REAL, "0.02", 1e-12, 1e6, NULL, FS_FIELD_DOUBLE,
      F(fl.lr), NOSET, "local SGD learning rate (> 0)" },
    { TRAIN, "train", "momentum", NULL, FS_OPT_REAL, "0.9", 0, 0.999999, NULL, FS_FIELD_DOUBLE,
      F(fl.momentum), NOSET, "local SGD momentum in [0, 1)" },
    { TRAIN, "train", "weight_decay", NULL, FS_OPT_REAL, "0", 0, 1e6, NULL, FS_FIELD_DOUBLE,
      F(fl.weight_decay), NOSET, "L2 weight decay (>= 0)" },
    { TRAIN, "train", "batch_size", NULL, FS_OPT_INT, "64", 1, 1048576, NULL, FS_FIELD_SIZE,
      F(fl.batch_size), NOSET, "minibatch rows" },
    { TRAIN, "train", "local_epochs", NULL, FS_OPT_INT, "1", 1, 100000, NULL, FS_FIELD_INT,
      F(fl.local_epochs), NOSET, "local passes over the shard per round (when local_steps is 0)" },
    { TRAIN, "train", "local_steps", NULL, FS_OPT_INT, "0", 0, 1e12, NULL, FS_FIELD_LONG,
      F(fl.local_steps), NOSET,
      "if > 0: exactly this many local SGD steps per round instead of epochs" },
    /* [round] the federation */
    { TRAIN, "round", "rounds", NULL, FS_OPT_INT, "20", 1, 1e9, NULL, FS_FIELD_INT, F(fl.rounds),
      NOSET, "total federated rounds" },
    { TRAIN, "round", "algorithm", NULL, FS_OPT_CHOICE, "fedavg", NOLIM, "fedavg|fedprox|fedsgd",
      FS_FIELD_ENUM, F(fl.algorithm), NOSET,
      "local algorithm: fedavg (local SGD), fedprox (local SGD + prox_mu/2 ||w - w_global||^2; "
      "with --dp-sgd the proximal gradient is added after clipping and noise), fedsgd (one "
      "full-batch gradient step per round)" },
    { TRAIN, "round", "prox_mu", NULL, FS_OPT_REAL, "0.01", 0, 1e6, NULL, FS_FIELD_DOUBLE,
      F(fl.prox_mu), NOSET, "FedProx proximal coefficient mu" },
    { TRAIN, "round", "server_opt", NULL, FS_OPT_CHOICE, "fedavg", NOLIM,
      "fedavg|fedavgm|fedadagrad|fedyogi|fedadam", FS_FIELD_ENUM, F(fl.server_opt), NOSET,
      "server optimizer applied to the aggregated mean update (Reddi et al. 2021)" },
    { TRAIN, "round", "server_lr", NULL, FS_OPT_REAL, "1.0", 1e-12, 1e6, NULL, FS_FIELD_DOUBLE,
      F(fl.server_lr), NOSET, "server learning rate (fedavg: w += server_lr * mean update)" },
    { TRAIN, "round", "server_beta1", NULL, FS_OPT_REAL, "0.9", 0, 0.999999, NULL, FS_FIELD_DOUBLE,
      F(fl.server_beta1), NOSET,
      "server momentum (fedavgm) / first-moment decay (fedadagrad, fedyogi, fedadam)" },
    { TRAIN, "round", "server_beta2", NULL, FS_OPT_REAL, "0.99", 0, 0.999999, NULL, FS_FIELD_DOUBLE,
      F(fl.server_beta2), NOSET, "second-moment decay (fedyogi, fedadam)" },
    { TRAIN, "round", "server_tau", NULL, FS_OPT_REAL, "0.001", 1e-12, 1e3, NULL, FS_FIELD_DOUBLE,
      F(fl.server_tau), NOSET, "adaptivity tau of fedadagrad/fedyogi/fedadam (v starts at tau^2)" },
    { TRAIN, "round", "eval_every", NULL, FS_OPT_INT, "1", 1, 1e9, NULL, FS_FIELD_INT,
      F(fl.eval_every), NOSET, "evaluate validation/test metrics every k rounds (and at the last)" },
    { TRAIN, "round", "seed", NULL, FS_OPT_INT, "1", 0, 4294967295.0, NULL, FS_FIELD_U64,
      F(fed.seed), NOSET,
      "master seed: shuffling streams are keyed by (seed, institution, round)" },
    { VFL, "vfl", "seed", NULL, FS_OPT_INT, "1", 0, 2147483647.0, NULL, FS_FIELD_U64, F(vfl.seed),
      NOSET, "batch order seed" },
    { TRAIN, "round", "aggregation", NULL, FS_OPT_CHOICE, "secure", NOLIM, "secure|plain",
      FS_FIELD_ENUM, F(fed.aggregation), NOSET,
      "secure: masked fixed-point secure sum (only sums are revealed); plain: MPI_Allreduce "
      "of floats, the insecure baseline (contributions visible, round-end model check "
      "unauthenticated)" },
    { FEDSUM, "round", "aggregation", NULL, FS_OPT_CHOICE, "secure", NOLIM, "secure|plain",
      FS_FIELD_ENUM, F(fed.aggregation), NOSET,
      "secure sum (default) or MPI_Allreduce (comparison only)" },
    { TRAIN | FEDSUM | PSI, "round", "timeout", NULL, FS_OPT_INT, "900", 0, 1e9, NULL,
      FS_FIELD_LONG,
      F(fed.timeout), NOSET,
      "watchdog: a rank that sees no progress for this many seconds (e.g. a peer or node "
      "died) exits non-zero so the job ends (0: off); must exceed the longest local phase" },
    /* vfl-train marks progress once per epoch only, and the Paillier upload
     * before the first epoch takes hours on millions of rows: off unless set */
    { VFL, "round", "timeout", NULL, FS_OPT_INT, "0", 0, 1e9, NULL, FS_FIELD_LONG,
      F(fed.timeout), NOSET,
      "watchdog: a rank that sees no progress for this many seconds (e.g. a peer, node or "
      "site died) exits non-zero so the job ends (default 0: off); progress is marked when "
      "training starts and after every epoch, so it must exceed the Paillier upload plus one "
      "epoch" },
    /* [gbdt] gradient-boosted trees (--model gbdt; docs/gbdt.md) */
    { TRAIN, "gbdt", "objective", NULL, FS_OPT_CHOICE, "auto", NOLIM,
      "auto|binary:logistic|multi:softprob|multi:softmax|reg:squarederror", FS_FIELD_STR,
      F(gbdt.objective), NOSET,
      "gbdt: loss; auto = binary:logistic for 2 classes, multi:softprob for more, "
      "reg:squarederror for a regression target" },
    { TRAIN, "gbdt", "trees", NULL, FS_OPT_INT, "10", 1, 100000, NULL, FS_FIELD_INT,
      F(gbdt.trees), NOSET, "gbdt: boosting rounds (multi:*: one tree per class each)" },
    { TRAIN, "gbdt", "max_depth", NULL, FS_OPT_INT, "6", 1, 16, NULL,
      FS_FIELD_INT, F(gbdt.max_depth), NOSET, "gbdt: depth of every tree" },
    { TRAIN, "gbdt", "eta", NULL, FS_OPT_REAL, "0.3", 1e-9, 1, NULL, FS_FIELD_DOUBLE,
      F(gbdt.eta), NOSET, "gbdt: learning rate in (0, 1]" },
    { TRAIN, "gbdt", "max_bins", NULL, FS_OPT_INT, "256", 2, 65535, NULL,
      FS_FIELD_INT, F(gbdt.max_bins), NOSET,
      "gbdt: histogram bins per feature (quantile edges of the pooled data; with --ddp yes "
      "equal-width over the schema's public ranges)" },
    { TRAIN, "gbdt", "lambda", NULL, FS_OPT_REAL, "1", 0, 1e9, NULL, FS_FIELD_DOUBLE,
      F(gbdt.lambda), NOSET, "gbdt: L2 regularization of leaf weights" },
    { TRAIN, "gbdt", "gamma", NULL, FS_OPT_REAL, "0", 0, 1e9, NULL, FS_FIELD_DOUBLE,
      F(gbdt.gamma), NOSET, "gbdt: minimum loss reduction to split" },
    { TRAIN, "gbdt", "min_child_weight", NULL, FS_OPT_REAL, "1", 0, 1e9, NULL, FS_FIELD_DOUBLE,
      F(gbdt.min_child_weight), NOSET, "gbdt: minimum hessian sum of a child" },
    { TRAIN, "gbdt", "subsample", NULL, FS_OPT_REAL, "1", 1e-9, 1, NULL, FS_FIELD_DOUBLE,
      F(gbdt.subsample), NOSET, "gbdt: row sampling rate per tree, (0, 1] (streams of --seed)" },
    { TRAIN, "gbdt", "colsample", NULL, FS_OPT_REAL, "1", 1e-9, 1, NULL, FS_FIELD_DOUBLE,
      F(gbdt.colsample), NOSET, "gbdt: feature sampling rate per tree, (0, 1]" },
    { TRAIN, "gbdt", "base_score", NULL, FS_OPT_REAL, "0.5", 1e-9, 0.999999999, NULL,
      FS_FIELD_DOUBLE, F(gbdt.base_score), NOSET,
      "gbdt: initial prediction (binary:logistic: a probability; reg:squarederror: LO + "
      "base_score (HI - LO) of --label-range, the midpoint by default)" },
    { TRAIN, "gbdt", "early_stopping_rounds", NULL, FS_OPT_INT, "0", 0, 100000, NULL,
      FS_FIELD_INT, F(gbdt.early_stopping_rounds), NOSET,
      "gbdt: stop after this many rounds without a lower validation loss (0: off)" },
    /* [gbdt] regression (--objective reg:squarederror; docs/gbdt.md) */
    { TRAIN, "gbdt", "label_range", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR,
      F(gbdt.label_range), NOSET,
      "gbdt regression: LO:HI, the public range of the target (agreed by the consortium, "
      "like the schema; it bounds the gradients; a target outside it is an error); empty: "
      "the schema's declared range of the label column" },
    /* [dp] differential privacy */
    { TRAIN, "dp", "dp_sgd", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(dp.dp_sgd), NOSET,
      "yes: record-level DP-SGD in every institution (per-example clipping + Gaussian noise)" },
    { TRAIN, "dp", "dp_clip", NULL, FS_OPT_REAL, "1.0", 1e-9, 1e9, NULL, FS_FIELD_DOUBLE,
      F(dp.clip), NOSET, "DP-SGD per-example L2 clipping norm C" },
    { TRAIN, "dp", "dp_noise", "noise_multiplier", FS_OPT_REAL, "1.0", 0, 1e6, NULL,
      FS_FIELD_DOUBLE, F(dp.noise), NOSET, "DP-SGD noise multiplier sigma (noise std sigma * C)" },
    { DPE, "dp", "dp_noise", "noise_multiplier", FS_OPT_REAL, NULL, 0, 1e6, NULL, FS_FIELD_DOUBLE,
      F(dp.noise), NOSET, "noise multiplier S (noise std / clipping norm), >= 0" },
    { TRAIN, "dp", "dp_sampling_rate", "sampling_rate", FS_OPT_REAL, "0.01", 1e-9, 1, NULL,
      FS_FIELD_DOUBLE, F(dp.sampling_rate), NOSET,
      "DP-SGD sampling rate q: with Poisson sampling every row joins a batch with probability "
      "exactly q; fixed: batches of floor(q n_k) rows" },
    { DPE | DPC, "dp", "dp_sampling_rate", "sampling_rate", FS_OPT_REAL, NULL, 1e-9, 1, NULL,
      FS_FIELD_DOUBLE, F(dp.sampling_rate), NOSET, "Poisson sampling rate Q in (0, 1]" },
    { DPE | DPC, "dp", "steps", NULL, FS_OPT_INT, NULL, 1, 1e15, NULL, FS_FIELD_LONG, F(dp.steps),
      NOSET, "number of noisy steps T, >= 1" },
    { TRAIN, "dp", "dp_sampling", NULL, FS_OPT_CHOICE, "poisson", NOLIM, "poisson|fixed",
      FS_FIELD_ENUM, F(dp.sampling), NOSET,
      "DP-SGD batch sampling (the accountant assumes Poisson; fixed is an approximation)" },
    { TRAIN, "dp", "ddp", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes", FS_FIELD_BOOL, F(dp.ddp),
      NOSET,
      "yes: distributed DP at the aggregation: each institution clips its update to --ddp-clip, "
      "and adds discrete Gaussian noise in the ring so that the shares of any --ddp-min-honest "
      "institutions carry noise --ddp-noise times the sensitivity (institution-level DP; needs "
      "--aggregation secure). With --model gbdt: record-level DP of every tree-level histogram "
      "sum (bins from the schema's public ranges; docs/gbdt.md)" },
    { TRAIN, "dp", "ddp_clip", NULL, FS_OPT_REAL, "1.0", 1e-12, 1e9, NULL, FS_FIELD_DOUBLE,
      F(dp.ddp_clip), NOSET, "distributed DP: L2 clipping norm c of each institution's weighted update" },
    { TRAIN, "dp", "ddp_noise", NULL, FS_OPT_REAL, "1.0", 1e-6, 1e6, NULL, FS_FIELD_DOUBLE,
      F(dp.ddp_noise), NOSET,
      "distributed DP: noise multiplier z (aggregate noise std z * c per coordinate)" },
    { TRAIN, "dp", "ddp_max_wrap", NULL, FS_OPT_REAL, "1e-9", 1e-300, 0.5, NULL, FS_FIELD_DOUBLE,
      F(dp.ddp_max_wrap), NOSET,
      "distributed DP: bound on the probability that a coordinate of the noisy sum wraps "
      "around the ring in a round (fixed-point bits are chosen to meet it)" },
    { TRAIN, "dp", "ddp_min_honest", NULL, FS_OPT_INT, "0", 0, 1e6, NULL, FS_FIELD_INT,
      F(dp.ddp_min_honest), NOSET,
      "distributed DP: the noise shares of any H institutions alone reach --ddp-noise, so the "
      "reported epsilon holds against a coalition of the other N - H (each knows its own share); "
      "0 (default): N - 1, one curious institution" },
    { TRAIN, "dp", "dp_delta", "delta", FS_OPT_REAL, "1e-5", 1e-300, 0.5, NULL, FS_FIELD_DOUBLE,
      F(dp.delta), NOSET, "delta of the reported (epsilon, delta)" },
    { STATS, "dp", "dp_delta", "delta", FS_OPT_REAL, "1e-5", 1e-300, 0.999999999, NULL,
      FS_FIELD_DOUBLE, F(dp.delta), NOSET, "delta of the DP release (default 1e-5)" },
    { DPE | DPC, "dp", "dp_delta", "delta", FS_OPT_REAL, NULL, 1e-300, 0.999999999, NULL,
      FS_FIELD_DOUBLE, F(dp.delta), NOSET, "delta D in (0, 1), e.g. 1e-5" },
    { TRAIN, "dp", "dp_epsilon", NULL, FS_OPT_REAL, "0", 0, 1e9, NULL, FS_FIELD_DOUBLE,
      F(dp.epsilon), NOSET,
      "privacy budget: training stops before a round that would exceed it (0: no budget)" },
    { STATS, "dp", "dp_epsilon", NULL, FS_OPT_REAL, "0", 0, 1e9, NULL, FS_FIELD_DOUBLE,
      F(dp.epsilon), NOSET,
      "> 0: release (E, delta)-DP statistics: needs --range (values are clipped to it) and "
      "--aggregation secure; discrete Gaussian noise added in the ring, calibrated so that the "
      "shares of any N - 1 institutions carry it" },
    { DPC, "dp", "dp_epsilon", "target_epsilon", FS_OPT_REAL, NULL, 1e-300, 1e9, NULL,
      FS_FIELD_DOUBLE, F(dp.epsilon), NOSET, "target epsilon E, > 0" },
    { DPE | DPC, "dp", "conversion", NULL, FS_OPT_CHOICE, "improved", NOLIM, "improved|classic",
      FS_FIELD_ENUM, F(dp.conversion), NOSET,
      "RDP to (eps, delta) conversion: improved (Balle et al. 2020, as Opacus) or classic "
      "(Mironov 2017, as TF-Privacy's compute_dp_sgd_privacy)" },
    { TRAIN, "dp", "dp_seed", NULL, FS_OPT_INT, "0", 0, 4294967295.0, NULL, FS_FIELD_U64,
      F(dp.dp_seed), NOSET,
      "0: DP noise from the OS CSPRNG; else a reproducible noise stream, not private (testing "
      "only: refused with --roster; metrics say \"not_private\")" },
    { TRAIN, "dp", "dp_public_metrics", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(dp.public_metrics), NOSET,
      "under --dp-sgd/--ddp, no (default): release only what epsilon covers (the model; test "
      "metrics on the shared --test file); yes: also release the exact sums of training rows, "
      "training loss, clip counts, validation metrics and the --standardize/--impute "
      "statistics, listed as \"public\" (not covered by epsilon) in metrics.jsonl" },
    /* [secagg] the secure sum */
    { TRAIN | FEDSUM | VFL | PSI, "secagg", "roster", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR,
      F(fed.roster), NOSET,
      "consortium roster (institution names, ranks, Ed25519 public keys; see docs/keys.md)" },
    { TRAIN | FEDSUM | VFL | PSI, "secagg", "identity", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR,
      F(fed.identity), NOSET,
      "this institution's private identity key, %d = rank (e.g. keys/site-%d.key)" },
    { TRAIN | FEDSUM, "secagg", "insecure_no_auth", NULL, FS_OPT_CHOICE, "no", NOLIM,
      "no|yes", FS_FIELD_BOOL, F(fed.insecure_no_auth), NOSET,
      "yes: run the secure sum without a roster (warns): the key exchange and the round-end "
      "check's keys are unauthenticated, so a man in the middle can read inputs and forge "
      "the check" },
    { VFL, "secagg", "insecure_no_auth", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes",
      FS_FIELD_BOOL, F(fed.insecure_no_auth), NOSET,
      "yes: run without a roster: messages are encrypted but not authenticated (a man in "
      "the middle can read and change them)" },
    { PSI, "secagg", "insecure_no_auth", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes",
      FS_FIELD_BOOL, F(fed.insecure_no_auth), NOSET,
      "yes: run without a roster (unauthenticated: a man in the middle on the transport "
      "could impersonate ranks; warns)" },
    { TRAIN, "secagg", "ring_bits", NULL, FS_OPT_INT, "32", 32, 64, NULL, FS_FIELD_INT,
      F(fed.ring_bits), NOSET, "ring Z_2^b of the masked sum: 32 or 64" },
    { TRAIN, "secagg", "frac_bits", NULL, FS_OPT_INT, "-1", -1, 62, NULL, FS_FIELD_INT,
      F(fed.frac_bits), NOSET,
      "fixed-point fractional bits f (-1: the largest f the headroom rule allows)" },
    { TRAIN, "secagg", "clip", NULL, FS_OPT_REAL, "4", 1e-9, 1e9, NULL, FS_FIELD_DOUBLE,
      F(fed.clip), NOSET,
      "clip c: each weighted update coordinate is clipped to [-c, c] (counted in metrics)" },
    { TRAIN, "secagg", "rounding", NULL, FS_OPT_CHOICE, "nearest", NOLIM, "nearest|stochastic",
      FS_FIELD_ENUM, F(fed.rounding), NOSET, "fixed-point rounding of updates" },
    { TRAIN, "secagg", "mask_degree", NULL, FS_OPT_INT, "0", 0, 1e6, NULL, FS_FIELD_INT,
      F(fed.mask_degree), NOSET,
      "0: full-mesh masks; k: k-regular mask graph (SecAgg+ style, for large N)" },
    /* [output] */
    { TRAIN, "output", "out", NULL, FS_OPT_STR, "runs/fedsilo", NOLIM, NULL, FS_FIELD_STR,
      F(fed.out), NOSET, "run directory: metrics.jsonl, config.ini, checkpoint.h5" },
    { RIDGE, "output", "out", NULL, FS_OPT_STR, NULL, NOLIM, NULL, FS_FIELD_STR, F(fed.out), NOSET,
      "output directory (created): checkpoint.h5 and ridge.json" },
    { VFL, "output", "out", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(fed.out), NOSET,
      "write DIR/vfl-weights-<rank>.txt" },
    { PSI, "output", "out", NULL, FS_OPT_STR, NULL, NOLIM, NULL, FS_FIELD_STR, F(fed.out), NOSET,
      "output of rank k, '%d' = k" },
    { TRAIN, "output", "checkpoint_every", NULL, FS_OPT_INT, "1", 0, 1e9, NULL, FS_FIELD_LONG,
      F(fed.checkpoint_every), NOSET, "write the checkpoint every k rounds (0: only at the end)" },
    { TRAIN, "output", "resume", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes|auto", FS_FIELD_ENUM,
      F(fed.resume), NOSET, "continue from OUT/checkpoint.h5: yes (must exist), auto (if present), "
      "no. The stored --impute/--standardize pipeline is kept, not refitted; a checkpoint "
      "fitted under another schema than the shards' is refused" },
    /* [membership] which roster institutions take part (docs/hpc.md, "Losing an institution") */
    { TRAIN, "membership", "membership", NULL, FS_OPT_CHOICE, "strict", NOLIM, "strict|elastic",
      FS_FIELD_ENUM, F(fed.membership), NOSET,
      "strict: --resume needs the checkpoint's members; elastic: a resumed run may have "
      "other roster members (needs --roster)" },
    { TRAIN, "membership", "exclude", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR,
      F(fed.exclude), NOSET,
      "comma-separated roster names not in this job: ranks are the other institutions in "
      "roster order, %d in --data/--identity is the roster index (needs --roster)" },
    { TRAIN, "membership", "min_institutions", NULL, FS_OPT_INT, "3", 2, 1e6, NULL, FS_FIELD_INT,
      F(fed.min_institutions), NOSET,
      "with --membership elastic or --exclude: refuse a job of fewer institutions (at least 2)" },
    { TRAIN, "membership", "public_counts", NULL, FS_OPT_FLAG, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(fed.public_counts), NOSET,
      "declare shard sizes public: needed to resume with other members, because the change "
      "of the summed row counts reveals the joining or departed institutions' counts" },
    /* [stats] fedsilo stats */
    { STATS, "stats", "bins", NULL, FS_OPT_INT, "0", 0, FS_STATS_MAX_BINS, NULL, FS_FIELD_INT,
      F(stats.bins), NOSET, "histogram with B bins per feature (0: none)" },
    { STATS, "stats", "range", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_RANGE, F(stats),
      NOSET, "LO:HI histogram range for every feature (default: mean +- 4 std, computed "
      "from the released mean and std)" },
    { STATS, "stats", "covariance", NULL, FS_OPT_FLAG, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(stats.covariance), NOSET, "also covariance and correlation matrices (d(d+1)/2 sums)" },
    { STATS, "stats", "max_covariance_features", NULL, FS_OPT_INT, "256", 1, 1e6, NULL,
      FS_FIELD_SIZE, F(stats.max_cov_features), NOSET, "refuse --covariance above N features" },
    { STATS, "stats", "json", NULL, FS_OPT_STR, "", NOLIM, NULL, FS_FIELD_STR, F(stats_json),
      NOSET, "write every statistic to FILE (rank 0)" },
    /* [ridge] fedsilo ridge */
    { RIDGE, "ridge", "lambda", NULL, FS_OPT_REAL, "0", 0, 1e300, NULL, FS_FIELD_DOUBLE,
      F(ridge.lambda), NOSET, "L2 penalty >= 0 (0: ordinary least squares)" },
    { RIDGE, "ridge", "standardize", NULL, FS_OPT_FLAG, "no", NOLIM, "no|yes", FS_FIELD_BOOL,
      F(ridge.standardize), NOSET,
      "penalize standardized coefficients (global mean and population std from the same "
      "sums); the model still takes raw features" },
    /* [vfl] fedsilo vfl-train */
    { VFL, "vfl", "label_rank", NULL, FS_OPT_INT, "0", 0, 1048576, NULL, FS_FIELD_INT,
      F(vfl.label_rank), F(label_rank_given),
      "rank holding the labels (default: the institution with 'role = label' in the "
      "--roster, else 0; if both are given they must agree)" },
    { VFL, "vfl", "lr", NULL, FS_OPT_REAL, "0.1", 1e-300, 1e300, NULL, FS_FIELD_DOUBLE, F(vfl.lr),
      NOSET, "learning rate (> 0)" },
    { VFL, "vfl", "l2", NULL, FS_OPT_REAL, "0", 0, 1e300, NULL, FS_FIELD_DOUBLE, F(vfl.l2), NOSET,
      "L2 penalty (>= 0)" },
    { VFL, "vfl", "epochs", NULL, FS_OPT_INT, "10", 1, 1000000, NULL, FS_FIELD_INT, F(vfl.epochs),
      NOSET, "passes over the data" },
    { VFL, "vfl", "batch_size", NULL, FS_OPT_INT, "64", 1, 1048576, NULL, FS_FIELD_SIZE,
      F(vfl.batch_size), NOSET,
      "rows per minibatch; the rows left over join the last batch, and every batch must "
      "have at least 4x the largest feature rank's number of features" },
    { VFL, "vfl", "paillier_bits", NULL, FS_OPT_INT, "2048", FS_PAILLIER_MIN_BITS,
      FS_PAILLIER_MAX_BITS, NULL, FS_FIELD_INT, F(vfl.paillier_bits), NOSET,
      "Paillier modulus size (even; below 2048 only with --insecure-test-keys yes)" },
    { VFL, "vfl", "insecure_test_keys", NULL, FS_OPT_CHOICE, "no", NOLIM, "no|yes",
      FS_FIELD_BOOL, F(vfl.insecure_test_keys), NOSET,
      "yes: accept Paillier keys below 2048 bits (tests only: about 80-bit security)" },
};

const int fs_opt_count = (int)(sizeof fs_opt_table / sizeof fs_opt_table[0]);

static fs_err check_train(const fs_opts *o)
{
    const fs_fed_opts *f = &o->fed;
    if (!f->data[0] && !f->roster[0])
        return fs_error_set(FS_ERR_ARG, "no data source: give --data 'dir/site-%%d.h5' "
                                        "(or data = ... in [data] of the config file, or a "
                                        "--roster whose institutions have data = paths)");
    fs_err rc = fs_path_check_pattern(f->data, "--data");
    if (rc != FS_OK) return rc;
    if (!strcmp(o->fl.model, "gbdt") && (o->dp.dp_sgd || o->fl.impute || o->fl.standardize))
        return fs_error_set(FS_ERR_ARG, "--model gbdt takes neither --dp-sgd (its DP is --ddp "
                            "yes: noise on the histogram sums) nor --impute or --standardize "
                            "(trees split missing values natively and do not depend on the "
                            "scale of a feature)");
    if (o->dp.ddp && f->aggregation != FS_AGG_SECURE)
        return fs_error_set(FS_ERR_ARG, "--ddp yes needs --aggregation secure: with a plain sum "
                            "each institution's small noise share would not protect its update");
    if (o->dp.dp_seed != 0 && f->roster[0])
        return fs_error_set(FS_ERR_ARG, "--dp-seed makes the DP noise a function of a seed that "
                            "anyone who knows it can subtract (for tests only): refused with a "
                            "--roster; leave it 0 for OS randomness");
    if ((o->dp.dp_sgd || o->dp.ddp) && !o->dp.public_metrics &&
        (o->fl.standardize || o->fl.impute))
        return fs_error_set(FS_ERR_ARG, "--%s yes releases exact sums of the training data "
                            "(feature moments, counts) that differential privacy does not cover: "
                            "pass --dp-public-metrics yes to release them as public, or prepare "
                            "the features with public constants before training",
                            o->fl.standardize ? "standardize" : "impute");
    if (f->ring_bits != 32 && f->ring_bits != 64)
        return fs_error_set(FS_ERR_ARG, "--ring-bits must be 32 or 64, got %d", f->ring_bits);
    rc = fs_path_check_pattern(f->identity, "--identity");
    if (rc != FS_OK) return rc;
    if (!f->out[0]) return fs_error_set(FS_ERR_ARG, "--out must not be empty");
    if ((f->membership == FS_MEMBERSHIP_ELASTIC || f->exclude[0]) && !f->roster[0])
        return fs_error_set(FS_ERR_ARG, "--membership elastic and --exclude name institutions by "
                            "their roster names: give --roster");
    if (strlen(f->out) >= 3800 || strlen(f->data) >= 3800)
        return fs_error_set(FS_ERR_ARG, "--out or --data path is longer than 3800 bytes");
    return FS_OK;
}

fs_err fs_opts_label_range(const char *text, double *lo, double *hi)
{
    char *end = NULL;
    const char *colon = text ? strchr(text, ':') : NULL;
    *lo = *hi = NAN;
    if (!colon)
        return fs_error_set(FS_ERR_ARG, "--label-range must be LO:HI (two numbers), got '%s'",
                            text ? text : "");
    const double a = strtod(text, &end);
    if (end != colon || end == text)
        return fs_error_set(FS_ERR_ARG, "--label-range: LO of '%s' is not a number", text);
    const double b = strtod(colon + 1, &end);
    if (*end || end == colon + 1)
        return fs_error_set(FS_ERR_ARG, "--label-range: HI of '%s' is not a number", text);
    if (!isfinite(a) || !isfinite(b) || !(a < b) || !(b - a < 1e15))
        return fs_error_set(FS_ERR_ARG, "--label-range '%s' needs finite LO < HI with HI - LO "
                            "below 1e15", text);
    *lo = a;
    *hi = b;
    return FS_OK;
}

/* The regression options of --model gbdt. */
static fs_err check_gbdt_regression(const fs_opts *o)
{
    double lo, hi;
    if (!o->gbdt.label_range[0]) return FS_OK;
    if (strcmp(o->fl.model, "gbdt") != 0)
        return fs_error_set(FS_ERR_ARG, "--label-range is an option of --model gbdt");
    return fs_opts_label_range(o->gbdt.label_range, &lo, &hi);
}

static fs_err check_fed_paths(const fs_opts *o)
{
    fs_err rc = fs_path_check_pattern(o->fed.data, "--data");
    if (rc == FS_OK) rc = fs_path_check_pattern(o->fed.identity, "--identity");
    return rc;
}

fs_err fs_opts_check(const fs_opts *o, const fs_config *cfg)
{
    fs_err rc = FS_OK;
    switch (o->cmd) {
    case FS_CMD_TRAIN:
        rc = check_train(o);
        return rc == FS_OK ? check_gbdt_regression(o) : rc;
    case FS_CMD_STATS:
        if (o->stats.have_range && !o->stats.bins && !(o->dp.epsilon > 0))
            return fs_error_set(FS_ERR_ARG, "--range is the histogram range: give --bins too");
        if (o->fl.impute && o->dp.epsilon > 0)
            return fs_error_set(FS_ERR_ARG, "--impute yes with --dp-epsilon: the fill values come "
                                "from exact (not differentially private) sums; impute without DP "
                                "or give complete shards");
        return check_fed_paths(o);
    case FS_CMD_RIDGE:
        if (!fs_config_is_set(cfg, "out"))
            return fs_error_set(FS_ERR_ARG, "--out DIR is required");
        return check_fed_paths(o);
    case FS_CMD_VFL_TRAIN:
        if (!fs_config_is_set(cfg, "data"))
            return fs_error_set(FS_ERR_ARG, "--data PATTERN is required");
        if (o->vfl.paillier_bits % 2)
            return fs_error_set(FS_ERR_ARG, "--paillier-bits must be even, got %d",
                                o->vfl.paillier_bits);
        if (o->vfl.paillier_bits < FS_PAILLIER_SECURE_BITS && !o->vfl.insecure_test_keys)
            return fs_error_set(FS_ERR_ARG, "--paillier-bits %d is below %d: such keys are for "
                                "tests only (add --insecure-test-keys yes)",
                                o->vfl.paillier_bits, FS_PAILLIER_SECURE_BITS);
        rc = check_fed_paths(o);
        if (rc == FS_OK) rc = fs_path_check_pattern(o->fl.test, "--test");
        return rc;
    case FS_CMD_PSI:
        if ((!o->psi.ids[0] && !o->fed.data[0]) || !fs_config_is_set(cfg, "out"))
            return fs_error_set(FS_ERR_ARG, "--out and one of --ids and --data are required");
        if (o->psi.ids[0] && o->fed.data[0])
            return fs_error_set(FS_ERR_ARG, "give --ids or --data, not both");
        if (o->fed.data[0] && o->psi.header)
            return fs_error_set(FS_ERR_ARG, "--header is for --ids files");
        rc = fs_path_check_pattern(o->psi.ids, "--ids");
        if (rc == FS_OK) rc = check_fed_paths(o);
        if (rc == FS_OK) rc = fs_path_check_pattern(o->fed.out, "--out");
        return rc;
    case FS_CMD_DP_EPSILON:
    case FS_CMD_DP_CALIBRATE:
        return FS_OK;   /* every value is range-checked; required ones are checked on fill */
    }
    return fs_error_set(FS_ERR_ARG, "unknown command %d", (int)o->cmd);
}

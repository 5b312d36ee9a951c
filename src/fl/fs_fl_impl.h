/*
 * fs_fl_impl.h - internals of the FedAvg program (src/fl; not installed):
 * the state of one run and its phases, one file per job:
 *
 *   fs_train.c        fs_fl_train: setup, then the round loop of the phases
 *   fs_fl_setup.c     model, buffers, server optimizer, DP-SGD and
 *                     distributed-DP plans, federated standardization
 *   fs_fl_eval.c      the test slice, evaluation sums, the metrics line
 *   fs_fl_ckpt.c      checkpoint writing and resume
 *   fs_server_opt.c   server optimizers
 */
#ifndef FEDSILO_FS_FL_IMPL_H
#define FEDSILO_FS_FL_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "fs_impl.h"
#include "fedsilo/fs_config.h"
#include "fedsilo/fs_dpsgd.h"
#include "fedsilo/fs_fed.h"
#include "fedsilo/fs_fl.h"
#include "fedsilo/fs_metrics.h"
#include "fedsilo/fs_model.h"
#include "fedsilo/fs_prep.h"
#include "fl/fs_server_opt.h"
#include "secagg/fs_ddp.h"

/* Vector ids of FedAvg's sums: with the round they form the secure sum's
 * nonce, so each (round, id) is used once per job. */
typedef enum {
    FS_VEC_NSAMPLES = 1,  /* sample counts, once per job at round 0        */
    FS_VEC_UPDATE = 2,    /* weighted model update                         */
    FS_VEC_TRAIN = 3,     /* training loss sums                            */
    FS_VEC_EVAL = 4,      /* validation + test metric sums                 */
    FS_VEC_PREP = 5,      /* --impute, --standardize: the pipeline's sums,
                             round 0, ids 5..11 (fs_prep_fit)              */
    FS_VEC_TEST = 12      /* under DP: test metric sums alone (the
                             validation sums, FS_VEC_EVAL, only with
                             --dp-public-metrics yes)                      */
} fs_vec_id;

/* Everything one rank holds during a run; freed by fl_run_free. */
typedef struct {
    fs_opts o;                /* typed options (strings borrowed from cfg)  */
    const fs_config *cfg;
    fs_fed *fed;              /* the federation core                        */
    int rank, size;
    fs_dataset *train, *val;  /* this rank's parts (borrowed from fed)      */
    fs_dataset *test_slice;   /* this rank's rows of --test, or NULL        */
    fs_model *model;
    size_t nparams;
    float *w_global;          /* (nparams) global model at round start      */
    float *update;            /* (nparams) u_k, then U after aggregation    */
    fs_server_opt *sopt;      /* server optimizer and its state             */
    fs_sgd_opts sgd;          /* local SGD of this rank                     */
    long local_total;         /* planned local steps of this round          */
    fs_dpsgd_opts dpo;        /* DP-SGD options of this rank (--dp-sgd yes) */
    uint8_t dp_seed[32];      /* reproducible-noise seed (--dp-seed)        */
    const uint8_t *dp_seed_p; /* dp_seed or NULL for OS randomness          */
    fs_ddp *ddp;              /* distributed DP plan and noise stream       */
    fs_prep *prep;            /* --impute / --standardize pipeline, or NULL */
    double n_total;           /* n = sum of n_k over ranks; NaN when it is
                                 not released (DP without public metrics)   */
    int dp_on;                /* --dp-sgd or --ddp                          */
    int release_public;       /* exact sums are released: no DP, or
                                 --dp-public-metrics yes                     */
    char ckpt_path[4300];
    int last_ckpt;            /* round held by the checkpoint on disk       */
} fl_run;

/* Phase outcome of one round's local training and aggregation. */
typedef struct {
    fs_sgd_stats ss;          /* this rank's local training                 */
    size_t nclip;             /* coordinates clipped by the codec, this rank */
    int ddp_clipped;          /* this rank's update was norm-clipped        */
} fl_round;

// setup (fs_fl_setup.c)
FS_INTERN fs_err fl_setup_local(fl_run *st);      /* rank-local: model, buffers, DP plan */
FS_INTERN fs_err fl_setup_ddp(fl_run *st);        /* collective */
FS_INTERN fs_err fl_count_samples(fl_run *st);    /* collective: n */
FS_INTERN fs_err fl_preprocess(fl_run *st);      /* collective: --impute, --standardize */
FS_INTERN fs_err fl_register_releases(fl_run *st); /* rank-local: the ledger's list */
FS_INTERN float fl_fedavg_weight(const fl_run *st);
FS_INTERN void fl_run_free(fl_run *st);

// evaluation (fs_fl_eval.c)
FS_INTERN fs_err fl_load_test_slice(fl_run *st);  /* rank-local */
FS_INTERN fs_err fl_evaluate(fl_run *st, int round, fs_round_metrics *m);   /* collective */
FS_INTERN fs_err fl_metrics_line(const fl_run *st, const fs_round_metrics *m, char **line);
FS_INTERN void fl_public_list(const fl_run *st, const fs_round_metrics *m, char *out, size_t cap);

// checkpoints (fs_fl_ckpt.c)
FS_INTERN fs_err fl_save_checkpoint(fl_run *st, int round);   /* collective */
FS_INTERN fs_err fl_resume(fl_run *st, int *start);          /* collective */

#endif /* FEDSILO_FS_FL_IMPL_H */

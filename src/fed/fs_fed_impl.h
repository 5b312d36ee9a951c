/*
 * fs_fed_impl.h - internals of the federation core (not installed).
 */
#ifndef FEDSILO_FS_FED_IMPL_H
#define FEDSILO_FS_FED_IMPL_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include "fs_impl.h"
#include "fedsilo/fs_ckpt.h"
#include "fedsilo/fs_config.h"
#include "fedsilo/fs_opts.h"
#include "fedsilo/fs_fed.h"
#include "secagg/fs_secagg_impl.h"

/* The progress stamp and stop flag of one run (fs_fed.h).  Written by the
 * run's thread, read by any thread; the stop flag also by a signal handler. */
struct fs_run_ctl {
    volatile sig_atomic_t stop;       /* a stop was requested              */
    _Atomic long long progress_ns;    /* monotonic ns of the last step, -1 idle */
    _Atomic int progress_round;
    const char *_Atomic progress_phase;
    _Atomic long local_done, local_total;
};

struct fs_fed {
    MPI_Comm comm;            /* private duplicate, MPI_ERRORS_RETURN      */
    int rank, size;
    const fs_config *cfg;     /* borrowed, or NULL                         */
    const fs_fed_opts *o;     /* borrowed                                  */
    fs_run_ctl *ctl;          /* borrowed, or NULL                         */
    uint64_t config_hash;
    fs_roster *roster;        /* the roster as loaded here, or NULL        */
    int *members;             /* (size) roster index of each rank          */
    int member_map;           /* 1: the job is a subset of the roster
                                 (--exclude); 0: rank i is entry i        */
    char shard_path[4096];
    fs_dataset *train, *val;  /* the parts asked for (owned)               */
    fs_agg *agg;              /* after fs_fed_connect                      */
    fs_ledger *ledger;
    char out_dir[4096];       /* OUT (run directory or output pattern)     */
    uint8_t verdicts[32];     /* this round's verdict transcript: a BLAKE2b
                                 chain over every fs_fed_sum_* and
                                 fs_fed_agree since the last round end
                                 (kind, round, vector id, length, outcome);
                                 zeros at the start of each round          */
    int verdicts_bad;         /* the chain could not be extended (crypto
                                 failure): the next round end fails        */
};

/* Pre-flight items (src/fed/fs_preflight.c).  Collective. */
FS_INTERN fs_err fs_preflight_config(fs_fed *fed);
FS_INTERN fs_err fs_preflight_shards(fs_fed *fed, unsigned items);

/* Run directory (src/fed/fs_rundir.c): rank 0 creates OUT and writes
 * OUT/config.ini durably.  Collective. */
FS_INTERN fs_err fs_rundir_create(fs_fed *fed);

/*
 * The option table (src/fed/fs_options.c), read by the parser in
 * src/fed/fs_config.c.  Kinds: STR text; INT, REAL numbers in [min, max];
 * CHOICE one of "a|b|c"; FLAG a no|yes choice that the command line may
 * also give bare (--covariance = --covariance yes).  The field says how the
 * value lands in fs_opts at byte offset `off`: STR const char *, INT int,
 * LONG long, SIZE size_t, U64 uint64_t, DOUBLE double, BOOL int 0/1 (no|yes),
 * ENUM int index of the choice, RANGE "LO:HI" into an fs_stats_opts
 * (have_range, lo, hi).  set_off (or (size_t)-1) names an int set to 1 when
 * the option was given explicitly.  defval NULL: required.
 */
typedef enum { FS_OPT_STR, FS_OPT_INT, FS_OPT_REAL, FS_OPT_CHOICE, FS_OPT_FLAG } fs_opt_kind;
typedef enum {
    FS_FIELD_STR, FS_FIELD_INT, FS_FIELD_LONG, FS_FIELD_SIZE, FS_FIELD_U64, FS_FIELD_DOUBLE,
    FS_FIELD_BOOL, FS_FIELD_ENUM, FS_FIELD_RANGE
} fs_opt_field;

typedef struct {
    unsigned cmds;            /* fs_command bits of the commands that take it */
    const char *section, *key;
    const char *alias;        /* older spelling of the key, or NULL          */
    fs_opt_kind kind;
    const char *defval;       /* NULL: required                              */
    double min, max;          /* inclusive range of INT/REAL                 */
    const char *choices;      /* "a|b|c" of CHOICE/FLAG                      */
    fs_opt_field field;
    size_t off, set_off;
    const char *help;
} fs_opt_def;

FS_INTERN extern const fs_opt_def fs_opt_table[];
FS_INTERN extern const int fs_opt_count;

/*
 * fs_opts_label_range - parse --label-range "LO:HI" (finite, LO < HI,
 * HI - LO < 1e15).  Not collective.  Returns FS_OK, or FS_ERR_ARG naming the
 * option (*lo and *hi NaN).
 */
FS_INTERN fs_err fs_opts_label_range(const char *text, double *lo, double *hi) FS_WARN_UNUSED;

/*
 * fs_opts_check - the one place that refuses invalid combinations of a
 * command's options (each value was range-checked when set).  Not
 * collective.  returns FS_OK or FS_ERR_ARG with a message naming the flags.
 */
FS_INTERN fs_err fs_opts_check(const fs_opts *o, const fs_config *cfg);

/* 1 if option `key` of cfg's command was set explicitly (file or flag). */
FS_INTERN int fs_config_is_set(const fs_config *cfg, const char *key);

/*
 * fs_checkpoint_write - write ck to path atomically (path.tmp.<pid>,
 * fsync, rename, fsync of the directory).  Not collective (rank 0 calls
 * it).  On failure the previous file at path is untouched.
 */
FS_INTERN fs_err fs_checkpoint_write(const fs_checkpoint *ck, const char *path);

/* Fingerprint of a parameter vector (bit pattern of the floats). */
FS_INTERN uint64_t fs_params_hash(const float *p, size_t n);

#endif /* FEDSILO_FS_FED_IMPL_H */

/*
 * fs_ckpt.h - the model checkpoint file (federation core; no MPI): the
 * global model, its optimizer and preprocessing state and the privacy
 * ledger of a run, written by rank 0 and read by resume, `fedsilo eval` and
 * the checkpoint tools.  Layout: docs/formats.md, "Checkpoint files".
 */
#ifndef FEDSILO_FS_CKPT_H
#define FEDSILO_FS_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_data.h"
#include "fs_metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A checkpoint's contents (see docs/formats.md). */
typedef struct {
    int round;              /* completed rounds                              */
    char model[128];        /* model spec                                    */
    size_t d;               /* features                                      */
    fs_task task;
    int num_classes;
    size_t nparams;
    float *params;          /* (nparams) global model, owned                 */
    uint64_t config_hash;   /* fs_config_hash of the run that wrote it       */
    uint64_t model_hash;    /* fingerprint of params                         */
    uint64_t seed;          /* master seed (RNG streams are keyed by it)     */
    int nsilos;             /* ranks in the federation that wrote it        */
    char server_opt[32];    /* server optimizer ("fedavg", "fedadam", ...)   */
    long server_steps;      /* server optimizer steps taken                  */
    float *server_m;        /* (nparams) first moment / momentum, or NULL    */
    float *server_v;        /* (nparams) second moment, or NULL              */
    double *std_mean;       /* (d) --standardize feature means, or NULL      */
    double *std_scale;      /* (d) --standardize feature std devs, or NULL   */
    double *impute_fill;    /* (d) --impute fill value per feature (NaN: the
                               feature is never filled), or NULL             */
    char *schema;           /* INI text of the consortium schema the shards
                               were imported with, or NULL                   */
    double *dp_rdp;         /* serialized RDP accountant of DP-SGD
                               (fs_rdp_serialize), or NULL without it        */
    size_t dp_rdp_len;
    double *ddp_rdp;        /* serialized accountant of distributed DP, or NULL */
    size_t ddp_rdp_len;
    long ledger_charges;    /* with an accountant: the rounds charged in the
                               privacy ledger file (fs_ledger_journal_open)
                               that the accountants above hold; -1 when
                               absent (a checkpoint of an older fedsilo)    */
} fs_checkpoint;

/*
 * fs_checkpoint_read - load and verify a checkpoint file (layout, sizes,
 * model hash).  Not collective.  Caller owns *out (fs_checkpoint_free).
 * Returns FS_ERR_IO or FS_ERR_DATA with a message naming the file.
 */
FS_EXPORT fs_err fs_checkpoint_read(const char *path, fs_checkpoint **out) FS_WARN_UNUSED;

/* fs_checkpoint_free - NULL-safe; sets *ck = NULL. */
FS_EXPORT void fs_checkpoint_free(fs_checkpoint **ck);

/*
 * fs_checkpoint_evaluate - evaluate a checkpoint's model on every row of a
 * dataset file and fill *report, applying the checkpoint's pipeline to the
 * rows first: imputation (--impute: missing cells of a file imported with
 * the checkpoint's schema get the stored fill values), then standardization
 * (--standardize).  A file imported with another schema than the
 * checkpoint's (or without one when the checkpoint has one), or with
 * missing cells the checkpoint cannot fill, is FS_ERR_DATA naming the
 * file.  Not collective.
 */
FS_EXPORT fs_err fs_checkpoint_evaluate(const fs_checkpoint *ck, const char *data_path,
                                        fs_eval_report *report) FS_WARN_UNUSED;

/*
 * fs_checkpoint_check_schema - FS_ERR_DATA (naming `name`) when ck carries
 * a schema and ds was imported with another one or without one
 * (fs_dataset_check_schema); FS_OK otherwise.  Not collective.
 */
FS_EXPORT fs_err fs_checkpoint_check_schema(const fs_checkpoint *ck, const fs_dataset *ds,
                                            const char *name) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_CKPT_H */

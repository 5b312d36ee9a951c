/*
 * cmd_export.c - `fedsilo export`: a checkpoint's model in another
 * program's format (one process, no MPI).  Today: the trees of a GBDT
 * checkpoint as XGBoost's JSON model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fedsilo.h>
#include "cli.h"

static void export_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo export --checkpoint FILE --format xgboost --out MODEL.json\n\n"
        "Write the model of a checkpoint in another program's format.\n"
        "  --format xgboost   the trees of a GBDT checkpoint (fedsilo train --model gbdt) in\n"
        "                     XGBoost's JSON model format (version 1.7):\n"
        "                     xgboost.Booster(model_file='MODEL.json') predicts what fedsilo\n"
        "                     predicts; the feature names of the run's schema are kept\n"
        "  --out FILE         the model file (written atomically)\n");
}

/* The schema's feature names when XGBoost accepts all of them ([, ] and <
 * are not allowed in its names), else NULL.  *s keeps them alive. */
static const char **feature_names(const fs_checkpoint *ck, fs_schema **s)
{
    const char **names = NULL;
    if (!ck->schema || fs_schema_parse(ck->schema, strlen(ck->schema), "schema", s) != FS_OK)
        return NULL;
    if (fs_schema_num_features(*s) != ck->d || !(names = calloc(ck->d, sizeof *names)))
        return NULL;
    for (size_t j = 0; j < ck->d; j++) {
        names[j] = fs_schema_feature_at(*s, j)->name;
        if (strpbrk(names[j], "[]<")) {
            free(names);
            return NULL;
        }
    }
    return names;
}

int fs_cmd_export(int argc, char **argv)
{
    static const char *cmd = "export";
    const char *ckpt = NULL, *format = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { export_usage(stdout); return 0; }
        if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc) ckpt = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc) format = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    if (!ckpt || !format || !out)
        return fs_cli_usage_error(cmd, "--checkpoint, --format and --out are required");
    if (strcmp(format, "xgboost") != 0)
        return fs_cli_usage_error(cmd, "--format: '%s' is not a known format (xgboost)", format);
    fs_checkpoint *ck = NULL;
    fs_gbdt_model *m = NULL;
    fs_schema *s = NULL;
    const char **names = NULL;
    fs_err rc = fs_checkpoint_read(ckpt, &ck);
    if (rc == FS_OK) rc = fs_gbdt_checkpoint_model(ck, ckpt, &m);
    if (rc == FS_OK) {
        names = feature_names(ck, &s);
        rc = fs_gbdt_export_xgboost_json(m, names, out);
    }
    if (rc == FS_OK)
        printf("exported %d trees of %s (round %d) as XGBoost JSON -> %s\n",
               fs_gbdt_model_num_trees(m), ckpt, ck->round, out);
    free(names);
    fs_schema_destroy(&s);
    fs_gbdt_model_destroy(&m);
    fs_checkpoint_free(&ck);
    return rc == FS_OK ? 0 : fs_cli_fail(cmd, "%s", fs_errmsg());
}

/*
 * fs_predict.c - `fedsilo predict`: raw rows through a run's whole pipeline
 * (schema encoding, imputation, standardization) and a model's scorer, to
 * a predictions CSV (fs_prep.h).  Not collective; no MPI.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_model.h"
#include "fedsilo/fs_prep.h"
#include "fedsilo/fs_schema.h"

fs_err fs_prep_from_checkpoint(const fs_checkpoint *ck, fs_prep **out)
{
    return fs_prep_create(ck->d, ck->schema, ck->impute_fill, ck->std_mean, ck->std_scale, out);
}

/* 1 if the path ends in ".csv" (any case). */
static int is_csv(const char *path)
{
    const size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".csv") == 0;
}

/* Read the input rows (CSV through the pipeline's schema, or a fedsilo
 * dataset file) and apply the pipeline.  *rows: file rows (CSV) or 1-based
 * row numbers (HDF5). */
static fs_err read_rows(const fs_prep *p, const fs_predict_opts *o, fs_dataset **ds,
                        size_t **rows, size_t *nin)
{
    fs_err rc = FS_OK;
    fs_schema *s = NULL;
    const char *schema = fs_prep_schema_text(p);
    if (is_csv(o->input)) {
        if (!schema)
            FS_FAIL(FS_ERR_DATA, "%s is a CSV file, but the checkpoint has no schema (its run "
                    "trained on shards imported without --schema): give an HDF5 file imported "
                    "like the training shards, or train on shards imported with a schema",
                    o->input);
        FS_TRY(fs_schema_parse(schema, strlen(schema), "the checkpoint's schema", &s));
        FS_TRY(fs_import_csv_schema_ex(o->input, s, o->delimiter, FS_IMPORT_NO_LABEL,
                                       o->skip_bad_rows ? o->skipped : NULL, ds, rows));
        *nin = (*ds)->n;
    } else {
        FS_TRY(fs_dataset_read_ex(o->input, FS_PART_TRAIN,
                                  fs_prep_fill(p) || o->keep_missing ? FS_READ_ALLOW_MISSING
                                                                     : 0, ds));
        FS_TRY(fs_alloc(rows, (*ds)->n, sizeof **rows, "row numbers"));
        for (size_t i = 0; i < (*ds)->n; i++) (*rows)[i] = i + 1;
        *nin = (*ds)->n;
    }
    FS_TRY(fs_prep_apply(p, *ds, o->input));
done:
    fs_schema_destroy(&s);
    return rc;
}

/* Write one CSV field, quoted (RFC 4180) when it needs to be. */
static void put_field(FILE *f, const char *v, int first)
{
    if (!first) fputc(',', f);
    if (!strpbrk(v, ",\"\r\n")) { fputs(v, f); return; }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"') fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

typedef struct {
    const fs_dataset *ds;
    const size_t *rows;
    const double *scores;      /* (n, K) probabilities or (n) values */
    int K;                     /* classes, 0 for regression */
    char **names;              /* (K) class names */
    const char *id_name;
} out_ctx;

static fs_err write_preds(FILE *f, void *user)
{
    const out_ctx *c = user;
    char buf[64];
    put_field(f, "row", 1);
    if (c->ds->ids) put_field(f, c->id_name, 0);
    put_field(f, "prediction", 0);
    for (int k = 0; k < c->K; k++) {
        char *h = NULL;
        if (asprintf(&h, "p(%s)", c->names[k]) < 0) return fs_error_set(FS_ERR_NOMEM, "out of memory");
        put_field(f, h, 0);
        free(h);
    }
    fputc('\n', f);
    for (size_t i = 0; i < c->ds->n; i++) {
        snprintf(buf, sizeof buf, "%zu", c->rows[i]);
        put_field(f, buf, 1);
        if (c->ds->ids) put_field(f, c->ds->ids[i], 0);
        if (c->K == 0) {
            snprintf(buf, sizeof buf, "%.9g", c->scores[i]);
            put_field(f, buf, 0);
        } else {
            const double *pr = c->scores + i * (size_t)c->K;
            int best = 0;
            for (int k = 1; k < c->K; k++) if (pr[k] > pr[best]) best = k;
            put_field(f, c->names[best], 0);
            for (int k = 0; k < c->K; k++) {
                snprintf(buf, sizeof buf, "%.9g", pr[k]);
                put_field(f, buf, 0);
            }
        }
        fputc('\n', f);
    }
    return ferror(f) ? fs_error_set(FS_ERR_IO, "write error") : FS_OK;
}

fs_err fs_predict_file(const fs_prep *p, fs_task task, int num_classes, fs_predict_fn fn,
                       void *model, const fs_predict_opts *o, fs_predict_summary *sum)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;
    size_t *rows = NULL, nin = 0;   /* nin: rows read (after skipping) */
    double *scores = NULL;
    char **names = NULL;
    fs_schema *s = NULL;
    const int K = task == FS_TASK_CLASSIFICATION ? num_classes : 0;
    memset(sum, 0, sizeof *sum);
    FS_CHECK_ARG(o && o->input && o->out && fn, "fs_predict_file: input, out and fn are required");
    FS_TRY(read_rows(p, o, &ds, &rows, &nin));
    if (ds->task != task || (K && ds->num_classes != K))
        FS_FAIL(FS_ERR_DATA, "%s is a %s table with %d classes, the model predicts %s with %d",
                o->input, ds->task == FS_TASK_REGRESSION ? "regression" : "classification",
                ds->num_classes, task == FS_TASK_REGRESSION ? "a value" : "classes", K);
    FS_TRY(fs_alloc(&scores, ds->n * (size_t)(K ? K : 1), sizeof *scores, "predictions"));
    FS_TRY(fn(model, ds->X, ds->n, scores));
    /* class names: the schema's, else the input file's, else the numbers */
    const char *schema = fs_prep_schema_text(p);
    if (schema) FS_TRY(fs_schema_parse(schema, strlen(schema), "the checkpoint's schema", &s));
    if (K) FS_TRY(fs_zalloc(&names, (size_t)K, sizeof *names, "class names"));
    for (int k = 0; k < K; k++) {
        if (s && fs_schema_num_classes(s) == K) FS_TRY(fs_strdup(&names[k], fs_schema_class_name(s, k)));
        else if (ds->class_names) FS_TRY(fs_strdup(&names[k], ds->class_names[k]));
        else if (asprintf(&names[k], "%d", k) < 0) { names[k] = NULL; FS_FAIL(FS_ERR_NOMEM, "out of memory"); }
    }
    out_ctx c = { ds, rows, scores, K, names, ds->id_column ? ds->id_column : "id" };
    FS_TRY(fs_file_publish(o->out, write_preds, &c));
    sum->rows = ds->n;
    (void)nin;
done:
    for (int k = 0; names && k < K; k++) free(names[k]);
    free(names);
    fs_schema_destroy(&s);
    free(scores);
    free(rows);
    fs_dataset_destroy(&ds);
    return rc;
}

// ---------------------------------------------------------------- fs_model checkpoints

/* An fs_model and the shape of its input and scores. */
typedef struct {
    fs_model *m;
    size_t d;
    fs_task task;
    int K;
} model_ctx;

/* fs_predict_fn of an fs_model: probabilities (softmax / logistic) or values. */
static fs_err model_scores(void *user, const float *X, size_t n, double *out)
{
    fs_err rc = FS_OK;
    const model_ctx *mc = user;
    fs_model *m = mc->m;
    const size_t B = fs_model_max_batch(m), nout = fs_model_noutputs(m);
    const size_t width = mc->task == FS_TASK_CLASSIFICATION ? (size_t)mc->K : 1;
    float *o = NULL;
    FS_TRY(fs_alloc(&o, B * nout, sizeof *o, "model outputs"));
    for (size_t start = 0; start < n; start += B) {
        const size_t b = n - start < B ? n - start : B;
        FS_TRY(fs_model_predict(m, X + start * mc->d, b, o));
        for (size_t r = 0; r < b; r++) {
            const float *z = o + r * nout;
            double *pr = out + (start + r) * width;
            if (mc->task == FS_TASK_REGRESSION) pr[0] = z[0];
            else fs_class_probs(z, nout, pr);        /* logistic or softmax */
        }
    }
done:
    free(o);
    return rc;
}

fs_err fs_predict_checkpoint(const fs_checkpoint *ck, const fs_predict_opts *o,
                             fs_predict_summary *sum)
{
    fs_err rc = FS_OK;
    fs_prep *p = NULL;
    fs_model *m = NULL;
    if (!ck->params)
        FS_FAIL(FS_ERR_ARG, "the checkpoint holds a %s model, which fs_predict_checkpoint does "
                "not score (GBDT: fs_gbdt_predict_checkpoint)", ck->model);
    FS_TRY(fs_prep_from_checkpoint(ck, &p));
    FS_TRY(fs_model_create(ck->model, ck->d, ck->task, ck->num_classes, 1024, &m));
    if (fs_model_nparams(m) != ck->nparams)
        FS_FAIL(FS_ERR_DATA, "checkpoint has %zu parameters, model %s needs %zu", ck->nparams,
                ck->model, fs_model_nparams(m));
    memcpy(fs_model_params(m), ck->params, ck->nparams * sizeof(float));
    model_ctx mc = { m, ck->d, ck->task, ck->num_classes };
    FS_TRY(fs_predict_file(p, ck->task, ck->num_classes, model_scores, &mc, o, sum));
done:
    fs_model_destroy(&m);
    fs_prep_destroy(&p);
    return rc;
}

/* seedgen.c - writes the binary seeds of the fuzz corpora with the library
 * itself (tests/fuzz/mkseeds.sh): small valid dataset files and a valid
 * checkpoint.  Usage: seedgen OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fedsilo.h>
#include "fed/fs_fed_impl.h"

static void fill(fs_dataset *ds, int shift)
{
    for (size_t i = 0; i < ds->n * ds->d; i++) ds->X[i] = (float)((int)(i + shift) % 7) * 0.5f - 1.0f;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->y_class) ds->y_class[i] = (int32_t)((i + shift) % (size_t)ds->num_classes);
        else ds->y_reg[i] = (float)i * 0.25f;
    }
}

static void must(fs_err rc)
{
    if (rc != FS_OK) { fprintf(stderr, "seedgen: %s\n", fs_errmsg()); exit(1); }
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: seedgen OUTDIR\n"); return 2; }
    char p[4096];
    fs_dataset *tr = NULL, *va = NULL, *rg = NULL;
    must(fs_dataset_create(6, 3, FS_TASK_CLASSIFICATION, 3, &tr));
    must(fs_dataset_create(2, 3, FS_TASK_CLASSIFICATION, 3, &va));
    must(fs_dataset_create(5, 2, FS_TASK_REGRESSION, 0, &rg));
    fill(tr, 0); fill(va, 1); fill(rg, 2);
    static char n0[] = "age", n1[] = "bmi", n2[] = "px2";
    char *names[] = { n0, n1, n2 };
    tr->feature_names = names;          /* borrowed: reset before destroy */
    tr->provenance = (char *)"seed";
    tr->institution = (char *)"site-0";
    tr->shard_index = 0;
    tr->num_shards = 2;
    snprintf(p, sizeof p, "%s/hdf5/shard-with-validation.h5", argv[1]);
    must(fs_dataset_write(tr, va, p));
    tr->feature_names = NULL; tr->provenance = NULL; tr->institution = NULL;
    tr->shard_index = -1; tr->num_shards = 0;
    snprintf(p, sizeof p, "%s/hdf5/dataset.h5", argv[1]);
    must(fs_dataset_write(tr, NULL, p));
    snprintf(p, sizeof p, "%s/hdf5/regression.h5", argv[1]);
    must(fs_dataset_write(rg, NULL, p));

    /* softmax on d = 4, 3 classes: 4*3 + 3 = 15 parameters */
    float params[15];
    for (int i = 0; i < 15; i++) params[i] = (float)(i - 7) * 0.1f;
    fs_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    ck.round = 2;
    snprintf(ck.model, sizeof ck.model, "softmax");
    ck.d = 4;
    ck.task = FS_TASK_CLASSIFICATION;
    ck.num_classes = 3;
    ck.nparams = 15;
    ck.params = params;
    ck.config_hash = 0x1234;
    ck.model_hash = fs_params_hash(params, 15);
    ck.seed = 1;
    ck.nsilos = 2;
    snprintf(ck.server_opt, sizeof ck.server_opt, "fedavg");
    snprintf(p, sizeof p, "%s/checkpoint/softmax.h5", argv[1]);
    must(fs_checkpoint_write(&ck, p));
    fs_dataset_destroy(&tr);
    fs_dataset_destroy(&va);
    fs_dataset_destroy(&rg);
    return 0;
}

/* fuzz_checkpoint.c - fs_checkpoint_read on arbitrary bytes; an accepted
 * checkpoint must carry a consistent model (nparams, hash) and is evaluated
 * on a small fixed dataset when its shape allows it. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    static char eval_path[256];
    if (!eval_path[0]) {  /* 8 x 4 features, 3 classes, written once */
        fs_dataset *e = NULL;
        if (fs_dataset_create(8, 4, FS_TASK_CLASSIFICATION, 3, &e) != FS_OK) abort();
        for (size_t i = 0; i < 32; i++) e->X[i] = (float)(i % 5) * 0.25f;
        for (size_t i = 0; i < 8; i++) e->y_class[i] = (int32_t)(i % 3);
        snprintf(eval_path, sizeof eval_path, "/tmp/fsfuzz-%ld-eval.h5", (long)getpid());
        if (fs_dataset_write(e, NULL, eval_path) != FS_OK) abort();
        fs_dataset_destroy(&e);
    }
    const char *path = fz_file("checkpoint", ".h5", data, size);
    fs_checkpoint *ck = NULL;
    fs_err rc = fs_checkpoint_read(path, &ck);
    if (rc == FS_OK) {
        if (!ck || (ck->nparams && !ck->params)) abort();
        fs_eval_report rep;
        memset(&rep, 0, sizeof rep);
        if (ck->d == 4) (void)fs_checkpoint_evaluate(ck, eval_path, &rep);
        fs_checkpoint_free(&ck);
    } else if (ck != NULL) {
        abort();
    }
    unlink(path);
    return 0;
}

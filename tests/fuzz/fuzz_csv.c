/* fuzz_csv.c - fs_import_csv on arbitrary bytes, as classification and as
 * regression, label column "label" (the seeds use it) and the first header cell. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (size < 1) return 0;
    /* first byte: task and label choice; the rest is the file */
    const uint8_t mode = data[0];
    const char *path = fz_file("csv", ".csv", data + 1, size - 1);
    char label[64] = "label";
    if (mode & 2) {  /* the first header cell, whatever it is */
        size_t i = 0;
        while (i + 1 < size && i < sizeof label - 1 && data[1 + i] != ',' && data[1 + i] != '\n') {
            label[i] = (char)data[1 + i];
            i++;
        }
        label[i] = '\0';
    }
    fs_dataset *ds = NULL;
    fs_err rc = fs_import_csv(path, label, (mode & 1) ? FS_TASK_REGRESSION : FS_TASK_CLASSIFICATION, &ds);
    if (rc == FS_OK) {
        if (fs_dataset_validate(ds, path) != FS_OK) abort();  /* import promises a valid dataset */
        fs_dataset_destroy(&ds);
    } else if (ds != NULL) {
        abort();  /* *out must be NULL on failure */
    }
    unlink(path);
    return 0;
}

/* fuzz_hdf5.c - fs_dataset_read (HDF5 dataset layout and value validation)
 * on arbitrary bytes, both parts; and fs_dataset_inspect.  Seeds are real
 * fedsilo files (tests/fuzz/mkseeds.sh), so mutations reach the layout checks. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const char *path = fz_file("dataset", ".h5", data, size);
    for (int part = 0; part < 2; part++) {
        fs_dataset *ds = NULL;
        fs_err rc = fs_dataset_read(path, part ? FS_PART_VALIDATION : FS_PART_TRAIN, &ds);
        if (rc == FS_OK && ds) {
            if (fs_dataset_validate(ds, path) != FS_OK) abort();  /* read promises validity */
            fs_dataset_destroy(&ds);
        } else if (rc != FS_OK && ds != NULL) {
            abort();
        }
    }
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        (void)fs_dataset_inspect(path, devnull);
        fclose(devnull);
    }
    unlink(path);
    return 0;
}

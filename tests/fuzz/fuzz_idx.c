/* fuzz_idx.c - fs_import_idx on an arbitrary image file and label file.
 * Input: 2 bytes little-endian n, then n bytes of image file (capped at the
 * input), then the label file.  Plain or gzip (zlib detects the magic). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (size < 3) return 0;
    size_t n = (size_t)data[0] | ((size_t)data[1] << 8), rest = size - 3;
    if (n > rest) n = rest;
    size_t limit = data[2] & 0x0f;   /* --limit 0..15 (0: all rows) */
    const char *img = fz_file("idx-images", NULL, data + 3, n);
    const char *lab = fz_file("idx-labels", NULL, data + 3 + n, rest - n);
    fs_dataset *ds = NULL;
    fs_err rc = fs_import_idx(img, lab, limit, &ds);
    if (rc == FS_OK) {
        if (fs_dataset_validate(ds, img) != FS_OK) abort();
        if (limit && ds->n > limit) abort();
        fs_dataset_destroy(&ds);
    } else if (ds != NULL) {
        abort();
    }
    unlink(img);
    unlink(lab);
    return 0;
}

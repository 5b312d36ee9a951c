/* fuzz_roster.c - fs_roster_load on arbitrary bytes; on success every
 * accessor and the roster hash are exercised (they must be consistent). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const char *path = fz_file("roster", ".ini", data, size);
    fs_roster *r = NULL;
    fs_err rc = fs_roster_load(path, &r);
    if (rc == FS_OK) {
        int n = fs_roster_count(r);
        if (n < 1) abort();
        for (int i = 0; i < n; i++) {
            const char *name = fs_roster_name(r, i);
            if (!name || !fs_roster_valid_name(name) || fs_roster_find(r, name) != i) abort();
            if (!fs_roster_public_key(r, i)) abort();
            (void)fs_roster_data_path(r, i);
        }
        if (fs_roster_name(r, n) != NULL || fs_roster_name(r, -1) != NULL) abort();
        (void)fs_roster_consortium_name(r);
        uint8_t h[FS_SHA256_BYTES];
        if (fs_roster_hash(r, h) != FS_OK) abort();
        fs_roster_destroy(&r);
    } else if (r != NULL) {
        abort();
    }
    unlink(path);
    return 0;
}

/* fuzz_config.c - fs_config_load_ini on arbitrary bytes, then the
 * cross-option check, the dump and the hash on whatever was accepted. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const char *path = fz_file("config", ".ini", data, size);
    fs_config *cfg = NULL;
    if (fs_config_create(&cfg) != FS_OK) abort();
    if (fs_config_load_ini(cfg, path) == FS_OK) {
        (void)fs_config_check(cfg);
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) { fs_config_dump(cfg, devnull, 1); fclose(devnull); }
        (void)fs_config_hash(cfg);
    }
    fs_config_destroy(&cfg);
    unlink(path);
    return 0;
}

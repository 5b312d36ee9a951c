/*
 * fuzz_common.h - shared scaffolding of fedsilo's libFuzzer targets
 * (tests/fuzz/fuzz_*.c, built and run by tests/fuzz/run.sh).
 *
 * Every parser of fedsilo takes a path, so each input is written to a file
 * under /dev/shm (tmpfs: no disk I/O), handed to the public API, and every
 * result is freed so LeakSanitizer sees a leak in the library, not here.
 */
#ifndef FS_FUZZ_COMMON_H
#define FS_FUZZ_COMMON_H
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hdf5.h>
#include <fedsilo.h>

static void fz_quiet_log(fs_log_level level, const char *line, void *user)
{
    (void)level; (void)line; (void)user;
}

/* Once per process: no log output, no HDF5 error stack printing. */
static void fz_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    if (fs_crypto_init() != FS_OK) abort();
    fs_log_set_handler(fz_quiet_log, NULL, FS_LOG_ERROR);
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Write data to /dev/shm/fsfuzz-<pid>-<tag><suffix>; returns the path (static). */
static const char *fz_file(const char *tag, const char *suffix, const uint8_t *data, size_t size)
{
    static char paths[4][256];
    static int next;
    char *path = paths[next++ & 3];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, 256, "%s/fsfuzz-%ld-%s%s", dir, (long)getpid(), tag, suffix ? suffix : "");
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return path;
}
#endif

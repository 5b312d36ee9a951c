/*
 * fs_fed_impl.h - internals of the federation core (not installed).
 */
#ifndef FEDSILO_FS_FED_IMPL_H
#define FEDSILO_FS_FED_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "fs_impl.h"
#include "fedsilo/fs_ckpt.h"

/*
 * fs_checkpoint_write - write ck to path atomically (path.tmp.<pid>,
 * fsync, rename, fsync of the directory).  Not collective (rank 0 calls
 * it).  On failure the previous file at path is untouched.
 */
FS_INTERN fs_err fs_checkpoint_write(const fs_checkpoint *ck, const char *path);

/* Fingerprint of a parameter vector (bit pattern of the floats). */
FS_INTERN uint64_t fs_params_hash(const float *p, size_t n);

#endif /* FEDSILO_FS_FED_IMPL_H */

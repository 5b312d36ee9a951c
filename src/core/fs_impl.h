/*
 * fs_impl.h - internal helpers shared by every libfedsilo source file.
 *
 * Not installed.  Defines the error propagation macros and the
 * allocation wrappers.  Every function that uses FS_TRY/FS_FAIL needs a local
 * `fs_err rc = FS_OK;` and a `done:` label that frees everything.
 */
#ifndef FEDSILO_FS_IMPL_H
#define FEDSILO_FS_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "fedsilo/fs_export.h"
#include "fedsilo/fs_error.h"
#include "fedsilo/fs_core.h"
#include "fedsilo/fs_file.h"

/* Jump to done: with rc set when expr fails. */
#define FS_TRY(expr)                                                       \
    do {                                                                   \
        fs_err fs_try_rc_ = (expr);                                        \
        if (fs_try_rc_ != FS_OK) { rc = fs_try_rc_; goto done; }           \
    } while (0)

/* Record a message, set rc and jump to done:. */
#define FS_FAIL(code, ...)                                                 \
    do { rc = fs_error_set((code), __VA_ARGS__); goto done; } while (0)

/* Fail with FS_ERR_ARG and a message unless cond holds. */
#define FS_CHECK_ARG(cond, ...)                                            \
    do { if (!(cond)) FS_FAIL(FS_ERR_ARG, __VA_ARGS__); } while (0)

/*
 * fs_alloc - malloc(n * size) with overflow check; *out = NULL on entry.
 * Returns FS_ERR_NOMEM (with message naming what) on failure.  The caller
 * owns the block and frees it with free().  n * size == 0 allocates 1 byte
 * so callers never receive NULL on success.
 */
FS_INTERN fs_err fs_alloc(void *out, size_t n, size_t size, const char *what);
/* fs_zalloc - like fs_alloc but zero-filled (calloc). */
FS_INTERN fs_err fs_zalloc(void *out, size_t n, size_t size, const char *what);

/*
 * The "agreed" mark of this thread's message: fs_agree sets it on the
 * sentence it distributes (which already starts "rank R: "), fs_error_set
 * and fs_error_clear reset it, fs_error_prefix keeps it.  fs_agree uses it
 * to name the failing rank exactly once when an agreed error is agreed
 * again by an outer phase.
 */
FS_INTERN void fs_error_mark_agreed(void);
FS_INTERN int fs_error_is_agreed(void);

/* fs_strdup - strdup that reports FS_ERR_NOMEM; caller owns *out. */
FS_INTERN fs_err fs_strdup(char **out, const char *s);

/*
 * Deterministic random streams (core layer; NOT for cryptography).
 *
 * xoshiro256** seeded through SplitMix64 from a 64-bit key.  Streams for
 * shuffling, initialization and partitioning are derived from a tuple such
 * as (seed, institution, round) with fs_rng_key, so any stream can be
 * recreated from the tuple alone: no RNG state needs to be checkpointed.
 * Key material and masks use the crypto layer, never this generator.
 */
typedef struct { uint64_t s[4]; } fs_rng;

/* fs_rng_key - mix up to 4 words into a 64-bit stream key (SplitMix64 chain). */
FS_INTERN uint64_t fs_rng_key(uint64_t a, uint64_t b, uint64_t c, uint64_t d);
FS_INTERN void     fs_rng_seed(fs_rng *r, uint64_t key);
FS_INTERN uint64_t fs_rng_u64(fs_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
FS_INTERN double   fs_rng_uniform(fs_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
FS_INTERN uint64_t fs_rng_below(fs_rng *r, uint64_t n);
/* Standard normal N(0,1) (Marsaglia polar method; no cached spare). */
FS_INTERN double   fs_rng_normal(fs_rng *r);
/* Gamma(shape, 1) for shape > 0 (Marsaglia-Tsang 2000, with boost < 1). */
FS_INTERN double   fs_rng_gamma(fs_rng *r, double shape);
/* In-place Fisher-Yates shuffle of n uint32 indices. */
FS_INTERN void     fs_rng_shuffle_u32(fs_rng *r, uint32_t *a, size_t n);

/*
 * FNV-1a style 64-bit hash (not cryptographic): used to fingerprint configs
 * and models for cross-rank consistency checks.  Chainable via h.
 */
FS_INTERN uint64_t fs_hash64(uint64_t h, const void *p, size_t n);
#define FS_HASH64_INIT UINT64_C(0xcbf29ce484222325)

/*
 * fs_class_probs - class probabilities of one row from its margins z:
 * nout 1 (binary logistic) pr[0..2) = (1 - sigmoid(z), sigmoid(z)); else
 * pr[0..nout) = softmax(z), computed in double with the maximum subtracted.
 */
FS_INTERN void fs_class_probs(const float *z, size_t nout, double *pr);

#endif /* FEDSILO_FS_IMPL_H */

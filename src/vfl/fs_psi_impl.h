/*
 * fs_psi_impl.h - internal interface of the PSI membership test (not
 * installed): the plan of table words and rounds, the holder side that
 * builds each round's table of zero shares and reads the secure sum, and
 * the zero shares of the final result check.  Pure (no MPI): the caller
 * moves the tables through fs_secagg_sum_words, so unit tests run N
 * holders in one process.  src/vfl/fs_psi_match.c has the maths.
 */
#ifndef FEDSILO_FS_PSI_IMPL_H
#define FEDSILO_FS_PSI_IMPL_H
#include <stddef.h>
#include <stdint.h>
#include "fs_impl.h"

/*
 * fs_psi_plan - table words B and rounds R of the membership test for the
 * public set sizes (nranks of them): B = ceil(e L / 2) with L their sum,
 * R such that n_min p^R <= 2^-40 for the per-round miss bound p.
 * *log2_miss gets log2 of that bound (may be NULL).  B = R = 0 when some
 * size is 0 or nranks < 2 (nothing to match).  Not collective, pure.
 */
FS_INTERN void fs_psi_plan(const uint64_t *sizes, int nranks, uint64_t *B, uint32_t *R,
                           double *log2_miss);

typedef struct fs_psi_matcher fs_psi_matcher;

/*
 * fs_psi_matcher_create - the holder side of the membership test for the
 * n tags (n x 32 bytes, borrowed: only their digests are kept) this rank
 * holds.  zkeys: nranks x 32 bytes, row l = the pair key shared with rank
 * l (row `rank` ignored); copied, secret.  sid: the public session id.
 * Not collective.  On success *out is owned by the caller.
 * returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM, FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_psi_matcher_create(int nranks, int rank, const uint8_t sid[32],
                                       const uint8_t *zkeys, const uint8_t *tags, size_t n,
                                       uint64_t B, uint32_t R, fs_psi_matcher **out);

/* fs_psi_matcher_destroy - wipe keys and digests, free; NULL-safe. */
FS_INTERN void fs_psi_matcher_destroy(fs_psi_matcher **m);

/*
 * fs_psi_matcher_table - this holder's table of round t (1-based, fresh
 * per round): B + 1 words written to table (caller-owned), the last one
 * the secure sum's canary (0).  Secret: it holds zero shares and private
 * randomness; only its secure sum over all ranks may leave the rank.
 * returns FS_OK, FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_psi_matcher_table(fs_psi_matcher *m, uint32_t t, uint64_t *table);

/* fs_psi_matcher_detect - after the secure sum of round t's tables: mark
 * every tag written this round whose slot summed to 0, drop it from later
 * rounds; returns how many were marked. */
FS_INTERN size_t fs_psi_matcher_detect(fs_psi_matcher *m, const uint64_t *sum);

/* fs_psi_matcher_flags - (n) 1 for the tags found in every block; borrowed. */
FS_INTERN const uint8_t *fs_psi_matcher_flags(const fs_psi_matcher *m);

/*
 * fs_psi_zero_share - out = sum over l != rank of sgn(rank, l) *
 * BLAKE2b-128(key = zkeys row l, "fedsilo psi v2 result" || msg), as two
 * words: the ranks' shares sum to (0, 0) mod 2^64 iff every rank passed
 * the same msg (except with probability 2^-128).  Not collective.
 */
FS_INTERN fs_err fs_psi_zero_share(const uint8_t *zkeys, int nranks, int rank,
                                   const uint8_t *msg, size_t len, uint64_t out[2]);

#endif /* FEDSILO_FS_PSI_IMPL_H */

/*
 * fs_prg.h - the mask PRG: AES-128-CTR keystreams keyed by 32-byte seeds
 * and addressed by a (round, vector_id) nonce (crypto layer; no MPI).
 * The secure-sum engine (fs_secsum.h) derives its pairwise masks from it;
 * the privacy layer draws its noise streams from it.
 */
#ifndef FEDSILO_FS_PRG_H
#define FEDSILO_FS_PRG_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * AES-128-CTR keystream: a fused VAES (AVX-512 or AVX2) or AES-NI kernel
 * where the CPU has one, else OpenSSL EVP (same keystream bit for bit;
 * environment FEDSILO_PRG = auto | openssl | vaes | vaes-avx512 |
 * vaes-avx2 | aesni forces a choice).  The 32-byte seed is a uniformly
 * random HKDF-SHA256 output (docs/protocol.md, key setup), so its
 * first 16 bytes are used directly as the AES-128 key; bytes 16..31 are
 * unused.  The 16-byte initial counter block for nonce (round, vector_id)
 * is
 *     round (8 bytes, big-endian) || vector_id (4 bytes, big-endian) || 0^32
 * and only the low 32 bits count, so one (round, vector_id) stream holds at
 * most 2^32 blocks = 64 GiB; fs_prg_generate refuses to go further.
 */
#define FS_PRG_SEEDBYTES 32u
#define FS_PRG_MAXBYTES (UINT64_C(1) << 36)   /* 2^32 AES blocks per nonce */

typedef struct fs_prg fs_prg;

/* fs_prg_seedbytes - FS_PRG_SEEDBYTES. */
FS_EXPORT size_t fs_prg_seedbytes(void);

/*
 * fs_prg_create - keystream generator for one 32-byte seed.
 * Not collective.  The seed is copied into the AES key schedule (secret,
 * wiped by fs_prg_destroy); the caller keeps and wipes its own copy.
 * On success *out owns a new generator with no nonce set; on failure
 * *out == NULL.  returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_prg_create(const uint8_t seed[FS_PRG_SEEDBYTES], fs_prg **out)
    FS_WARN_UNUSED;

/* fs_prg_destroy - wipe the key schedule, free, set *p = NULL.  NULL-safe. */
FS_EXPORT void fs_prg_destroy(fs_prg **p);

/*
 * fs_prg_set_nonce - restart the keystream at block 0 of (round, vector_id).
 * Not collective.  Keeps the key schedule (only the IV is re-initialized).
 * The PRG itself does not police reuse; fs_masker does.
 * returns FS_OK, FS_ERR_ARG or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_prg_set_nonce(fs_prg *prg, uint64_t round, uint32_t vector_id)
    FS_WARN_UNUSED;

/*
 * fs_prg_generate - write the next nbytes of the keystream to out.
 * Not collective.  Calls continue the stream: generate(a) then generate(b)
 * equals generate(a + b).  out (nbytes, caller-allocated) is secret mask
 * material: wipe it when consumed.
 * returns FS_OK, FS_ERR_ARG (no nonce set, NULL out, or more than
 * FS_PRG_MAXBYTES in total for this nonce) or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_prg_generate(fs_prg *prg, void *out, size_t nbytes) FS_WARN_UNUSED;

/*
 * fs_prg_openssl_rate - OpenSSL's own AES-128-CTR throughput in this
 * process: in-place EVP_EncryptUpdate over a 16 KiB buffer (L1/L2-resident,
 * like `openssl speed -evp aes-128-ctr`'s largest block), in timed slices
 * of 1 MiB until nbytes (0 = 64 MiB) have been encrypted, after one
 * warm-up slice.  Not collective.  *bytes_per_sec receives the rate of the
 * fastest slice (robust to other load; comparable with the best-call rates
 * of fs_secsum_bench_maskgen).
 * returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_prg_openssl_rate(size_t nbytes, double *bytes_per_sec) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_PRG_H */

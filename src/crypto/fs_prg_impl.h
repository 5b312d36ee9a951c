/*
 * fs_prg_impl.h - internal hooks of the AES-128-CTR mask PRG (src/crypto/fs_prg.c;
 * not installed).  The public API is include/fedsilo/fs_prg.h.
 */
#ifndef FEDSILO_FS_PRG_IMPL_H
#define FEDSILO_FS_PRG_IMPL_H

#include <stdint.h>
#include "fs_impl.h"
#include "fedsilo/fs_prg.h"

/*
 * fs_prg_set_key_iv - replace the key and the full 16-byte initial counter
 * block, bypassing the seed and (round, vector_id) derivation.  For
 * known-answer tests only (NIST SP 800-38A F.5.1).  Not collective.
 * Resets the per-nonce byte count.  returns FS_OK or FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_prg_set_key_iv(fs_prg *prg, const uint8_t key[16], const uint8_t iv[16]);

/* fs_prg_nonce_iv - write the 16-byte initial counter block of (round,
 * vector_id): round (BE64) || vector_id (BE32) || 0 (BE32). */
FS_INTERN void fs_prg_nonce_iv(uint8_t iv[16], uint64_t round, uint32_t vector_id);

/* What fs_aesctr_apply / fs_prg_apply do with each keystream byte range:
 * store it, or add/subtract it word-wise into ring words mod 2^32 or 2^64. */
enum { FS_KS_STORE = 0, FS_KS_ADD32, FS_KS_SUB32, FS_KS_ADD64, FS_KS_SUB64 };

/* An expanded AES-128 encryption key (11 round keys).  Secret: wipe it. */
typedef struct {
    uint8_t rk[11][16];
} fs_aes128_key;

/* The fused keystream kernels of fs_aesctr.c (0 is OpenSSL's EVP, which
 * is not one of them). */
enum { FS_AESCTR_AESNI = 1, FS_AESCTR_VAES_AVX2 = 2, FS_AESCTR_VAES_AVX512 = 3 };

/*
 * fs_aesctr_available - the set of fs_aesctr.c kernels this CPU and OS run,
 * as bits (1u << FS_AESCTR_*); 0 if none (then fs_prg uses OpenSSL).  Not
 * collective; thread-safe after the first call.
 */
FS_INTERN unsigned fs_aesctr_available(void);

/* fs_aesctr_name - "aesni", "vaes-avx2", "vaes-avx512", or "openssl" for
 * any other value; a static string. */
FS_INTERN const char *fs_aesctr_name(int kernel);

/* fs_aes128_expand - FIPS-197 key expansion of key into *ks (caller-owned,
 * secret).  Only valid when fs_aesctr_available() != 0. */
FS_INTERN void fs_aes128_expand(const uint8_t key[16], fs_aes128_key *ks);

/*
 * fs_aesctr_apply - keystream bytes [pos, pos + nbytes) of AES-128-CTR with
 * key ks and initial counter block iv (128-bit big-endian increment, as in
 * NIST SP 800-38A and OpenSSL), applied to out (nbytes, caller-owned) by
 * op (FS_KS_*), with the fs_aesctr.c kernel `kernel` (FS_AESCTR_*; must be
 * in fs_aesctr_available()).  For the word ops, pos and nbytes must be
 * multiples of the word size.  Not collective.
 */
FS_INTERN void fs_aesctr_apply(int kernel, const fs_aes128_key *ks, const uint8_t iv[16],
                               uint64_t pos, void *out, size_t nbytes, int op);

/*
 * fs_prg_apply - continue the keystream like fs_prg_generate, but apply
 * its next nwords * (ring_bits / 8) bytes to the ring words of `words`:
 * words[k] += ks[k] (add != 0) or words[k] -= ks[k], mod 2^ring_bits, with
 * ks read as native words.  Equals fs_prg_generate into a buffer followed
 * by that addition, bit for bit; the fast kernel never stores the
 * keystream, the OpenSSL path stores it in the generator's own scratch
 * block (wiped by fs_prg_wipe_scratch and at destroy).  Not collective.
 * returns FS_OK, FS_ERR_ARG (no nonce, bad ring width, stream position not
 * word-aligned, or beyond FS_PRG_MAXBYTES) or FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_prg_apply(fs_prg *prg, void *words, size_t nwords, int ring_bits, int add);

/* fs_prg_wipe_scratch - wipe the OpenSSL path's keystream scratch block
 * (no-op if it was never used).  Call when a vector's masks are done. */
FS_INTERN void fs_prg_wipe_scratch(fs_prg *prg);

/* fs_prg_kernel - "vaes-avx512", "vaes-avx2", "aesni" or "openssl": which
 * implementation this generator uses (the choice is made at fs_prg_create
 * from the CPU and the FEDSILO_PRG environment variable; see
 * docs/protocol.md). */
FS_INTERN const char *fs_prg_kernel(const fs_prg *prg);

#endif /* FEDSILO_FS_PRG_IMPL_H */

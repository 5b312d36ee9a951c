/*
 * fs_prg.h - internal hooks of the AES-128-CTR mask PRG (src/crypto/fs_prg.c;
 * not installed).  The public API is in include/fedsilo/fs_secsum.h.
 */
#ifndef FEDSILO_FS_PRG_H
#define FEDSILO_FS_PRG_H

#include <stdint.h>
#include "fs_impl.h"
#include "fedsilo/fs_secsum.h"

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

#endif /* FEDSILO_FS_PRG_H */

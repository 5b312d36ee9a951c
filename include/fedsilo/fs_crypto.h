/*
 * fs_crypto.h - crypto layer of libfedsilo: initialization, OS randomness,
 * SHA-256, HKDF-SHA256, AES-256-GCM authenticated encryption, finite-field
 * Diffie-Hellman in standard safe-prime groups, Ed25519 identity keys and
 * the consortium roster file.
 *
 * Crypto layer (no MPI).  Everything here is Not collective: the MPI
 * binding of the secure-sum key setup (allgather of signed DH public
 * values, docs/protocol.md) is built on top of these functions.
 *
 * Standards implemented (details in the .c files):
 *   SHA-256 (FIPS 180-4), HKDF (RFC 5869), AES-GCM (NIST SP 800-38D),
 *   MODP group 14 (RFC 3526), ffdhe2048/ffdhe3072 (RFC 7919), Ed25519
 *   (RFC 8032), PKCS#8 PEM keys.
 *
 * No OpenSSL or GMP type appears in this header: keys are opaque structs,
 * public values and digests are byte arrays.  Secret material held by the
 * opaque types is wiped when they are destroyed.
 */
#ifndef FEDSILO_FS_CRYPTO_H
#define FEDSILO_FS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FS_SHA256_BYTES 32
#define FS_HKDF_SHA256_MAXBYTES (255 * 32)  /* RFC 5869: L <= 255 * HashLen */
#define FS_ED25519_PUBBYTES 32
#define FS_ED25519_SIGBYTES 64
/* "ed25519:" + 44 base64 characters + NUL */
#define FS_PUBKEY_TEXTBYTES 53
/* Largest DH public value / shared secret (ffdhe3072: 384 bytes). */
#define FS_DH_MAXBYTES 384

FS_EXPORT size_t fs_sha256_bytes(void);
FS_EXPORT size_t fs_ed25519_pubbytes(void);
FS_EXPORT size_t fs_ed25519_sigbytes(void);

// ---------------------------------------------------------------- init

/* Called on an unrecoverable failure (GMP out of memory).  Must not return. */
typedef void (*fs_crypto_fatal_fn)(const char *msg);

/*
 * fs_crypto_init - prepare the crypto layer: install GMP memory functions
 * whose free/realloc wipe the released limbs and whose allocation failure
 * calls the fatal handler, and initialize OpenSSL.
 *
 * Not collective.  Idempotent and thread-safe (runs once per process).
 * WARNING: must be called before any GMP integer exists anywhere in the
 * process (GMP would otherwise free blocks that the hooks did not
 * allocate).  Every fs_dh_* function calls it, but an application that uses
 * GMP itself must call it first thing in main().
 * returns FS_OK, or FS_ERR_CRYPTO if OpenSSL fails to initialize.
 */
FS_EXPORT fs_err fs_crypto_init(void) FS_WARN_UNUSED;

/*
 * fs_crypto_set_fatal_handler - set the handler called when the crypto
 * layer cannot continue (GMP allocation failure: GMP has no error return).
 *
 * Not collective; call before starting threads.  NULL restores the default,
 * which writes the message to stderr and raises SIGABRT.  The fedsilo CLI
 * installs a handler that prints the rank and calls MPI_Abort, so one rank
 * never dies quietly while the others wait.  If a handler returns, the
 * process is terminated with SIGABRT anyway.
 */
FS_EXPORT void fs_crypto_set_fatal_handler(fs_crypto_fatal_fn fn);

// ---------------------------------------------------------------- randomness

/*
 * fs_random_bytes - fill buf with n bytes from the OS CSPRNG (OpenSSL
 * RAND_bytes, seeded from getrandom(2)).
 * Not collective.  returns FS_OK or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_random_bytes(void *buf, size_t n) FS_WARN_UNUSED;

// ---------------------------------------------------------------- hashing

/*
 * fs_sha256 - one-shot SHA-256 of n bytes.
 * Not collective.  out receives 32 bytes.  returns FS_OK or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_sha256(const void *data, size_t n, uint8_t out[FS_SHA256_BYTES])
    FS_WARN_UNUSED;

/* Incremental SHA-256 (transcript hashing).  Opaque. */
typedef struct fs_sha256_ctx fs_sha256_ctx;

/*
 * fs_sha256_init - create a fresh incremental SHA-256 context.
 * Not collective.  On success *out is owned by the caller (free with
 * fs_sha256_destroy); on failure *out == NULL.
 * returns FS_OK, FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_sha256_init(fs_sha256_ctx **out) FS_WARN_UNUSED;

/*
 * fs_sha256_update - absorb n bytes.  Not collective.
 * returns FS_OK, FS_ERR_ARG after fs_sha256_final, or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_sha256_update(fs_sha256_ctx *ctx, const void *data, size_t n)
    FS_WARN_UNUSED;

/*
 * fs_sha256_update_framed - absorb the length of the field as 8 bytes
 * big-endian, then the field.  Use it for every variable-length transcript
 * field so that different field splits can never hash alike.
 * Not collective.  returns as fs_sha256_update.
 */
FS_EXPORT fs_err fs_sha256_update_framed(fs_sha256_ctx *ctx, const void *data, size_t n)
    FS_WARN_UNUSED;

/*
 * fs_sha256_final - write the 32-byte digest.  The context cannot be
 * updated afterwards (destroy it).  Not collective.
 * returns FS_OK, FS_ERR_ARG if already finalized, or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_sha256_final(fs_sha256_ctx *ctx, uint8_t out[FS_SHA256_BYTES])
    FS_WARN_UNUSED;

/* fs_sha256_destroy - free the context, set *ctx = NULL; NULL-safe. */
FS_EXPORT void fs_sha256_destroy(fs_sha256_ctx **ctx);

/*
 * fs_hkdf_sha256 - HKDF-SHA256 extract-and-expand (RFC 5869).
 *
 * Not collective.
 * in:  ikm (ikm_len >= 1 bytes, usually secret), salt (may be NULL/0:
 *      RFC 5869 then uses HashLen zero bytes), info (may be NULL/0)
 * out: out (outlen bytes, 1 <= outlen <= 8160, caller-allocated)
 * returns FS_OK, FS_ERR_ARG for bad lengths, or FS_ERR_CRYPTO (message
 * carries the OpenSSL error queue).
 */
FS_EXPORT fs_err fs_hkdf_sha256(const uint8_t *ikm, size_t ikm_len,
                                const uint8_t *salt, size_t salt_len,
                                const uint8_t *info, size_t info_len,
                                uint8_t *out, size_t outlen) FS_WARN_UNUSED;

// ---------------------------------------------------------------- AEAD

#define FS_AEAD_KEYBYTES 32    /* AES-256 key                            */
#define FS_AEAD_NONCEBYTES 12  /* 96-bit GCM nonce                       */
#define FS_AEAD_TAGBYTES 16    /* 128-bit GCM tag, appended              */

/*
 * fs_aead_seal - AES-256-GCM (NIST SP 800-38D): out = Enc(in) || tag, i.e.
 * len + FS_AEAD_TAGBYTES bytes, authenticating aad as well.
 *
 * Not collective.  out (caller-allocated) may equal in.  aad may be NULL
 * when aad_len is 0.  WARNING: never seal two messages with the same
 * (key, nonce); GCM then leaks the XOR of the plaintexts and lets anyone
 * forge tags.  Derive one key per link direction and count messages.
 * returns FS_OK, FS_ERR_ARG (NULL argument, len beyond 2^36 - 32 bytes) or
 * FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_aead_seal(const uint8_t key[FS_AEAD_KEYBYTES],
                              const uint8_t nonce[FS_AEAD_NONCEBYTES], const void *aad,
                              size_t aad_len, const void *in, size_t len, uint8_t *out)
    FS_WARN_UNUSED;

/*
 * fs_aead_open - verify and decrypt len bytes (ciphertext || tag) sealed by
 * fs_aead_seal with the same key, nonce and aad; out receives
 * len - FS_AEAD_TAGBYTES bytes and may equal in.
 *
 * Not collective.  On FS_ERR_AUTH out is zeroed: nothing unauthenticated is
 * returned, and the message says only "authentication failed", never which
 * byte or field differed.
 * returns FS_OK, FS_ERR_AUTH (wrong key, nonce, aad, tag, or any modified
 * or truncated byte), FS_ERR_ARG or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_aead_open(const uint8_t key[FS_AEAD_KEYBYTES],
                              const uint8_t nonce[FS_AEAD_NONCEBYTES], const void *aad,
                              size_t aad_len, const uint8_t *in, size_t len, void *out)
    FS_WARN_UNUSED;

// ---------------------------------------------------------------- Diffie-Hellman

/* Standard safe-prime groups, all with g = 2 and q = (p-1)/2 prime. */
typedef enum {
    FS_DH_FFDHE2048 = 1,   /* RFC 7919 appendix A.1 (default)          */
    FS_DH_FFDHE3072 = 2,   /* RFC 7919 appendix A.2                    */
    FS_DH_MODP2048 = 3     /* RFC 3526 section 3 (MODP group 14)       */
} fs_dh_group_id;

/* fs_dh_group_bytes - bytes of p (256 or 384); 0 for an unknown id. */
FS_EXPORT size_t fs_dh_group_bytes(fs_dh_group_id group);

/* fs_dh_group_name - "ffdhe2048", "ffdhe3072", "modp2048"; NULL if unknown.
 * Borrowed static string. */
FS_EXPORT const char *fs_dh_group_name(fs_dh_group_id group);

/*
 * fs_dh_group_from_name - parse a group name (as fs_dh_group_name prints).
 * Not collective.  returns FS_OK, or FS_ERR_ARG naming the accepted names.
 */
FS_EXPORT fs_err fs_dh_group_from_name(const char *name, fs_dh_group_id *out)
    FS_WARN_UNUSED;

/* An ephemeral DH key pair (secret exponent a, public A = g^a mod p).  Opaque. */
typedef struct fs_dh_keypair fs_dh_keypair;

/*
 * fs_dh_keypair_generate - draw a fresh secret exponent from the OS CSPRNG
 * and compute the public value with constant-time exponentiation.
 *
 * Not collective.  On success *out is owned by the caller (free with
 * fs_dh_keypair_destroy, which wipes the exponent); on failure *out == NULL.
 * returns FS_OK, FS_ERR_ARG (unknown group), FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dh_keypair_generate(fs_dh_group_id group, fs_dh_keypair **out)
    FS_WARN_UNUSED;

/* fs_dh_keypair_group - the group a key pair belongs to. */
FS_EXPORT fs_dh_group_id fs_dh_keypair_group(const fs_dh_keypair *kp);

/*
 * fs_dh_public_bytes - export A as fixed-length big-endian bytes.
 * Not collective.  outlen must equal fs_dh_group_bytes(group).
 * returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_dh_public_bytes(const fs_dh_keypair *kp, uint8_t *out, size_t outlen)
    FS_WARN_UNUSED;

/*
 * fs_dh_validate_public - check that a peer's public value is a member of
 * the prime-order subgroup: 1 < A < p-1 and A^q == 1 (mod p).
 *
 * Not collective.  len must equal fs_dh_group_bytes(group).
 * returns FS_OK; FS_ERR_ARG for a wrong length or unknown group;
 * FS_ERR_AUTH if the value is not a valid group element (the message does
 * not say which check failed).
 */
FS_EXPORT fs_err fs_dh_validate_public(fs_dh_group_id group, const uint8_t *pub, size_t len)
    FS_WARN_UNUSED;

/*
 * fs_dh_shared_secret - Z = A_peer^a mod p as fixed-length big-endian
 * bytes (RFC 7919 section 5.1 / NIST SP 800-56A: keep leading zeros).
 *
 * Not collective.  Validates the peer value first (as
 * fs_dh_validate_public).  peer_len and outlen must equal the group size.
 * out is secret: derive keys from it with fs_hkdf_sha256, then wipe it with
 * fs_secure_zero.  On failure out is zeroed.
 * returns FS_OK, FS_ERR_ARG, FS_ERR_AUTH (invalid peer value), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_dh_shared_secret(const fs_dh_keypair *kp,
                                     const uint8_t *peer_pub, size_t peer_len,
                                     uint8_t *out, size_t outlen) FS_WARN_UNUSED;

/*
 * fs_dh_keypair_destroy - wipe the secret exponent, free, set *kp = NULL.
 * Not collective.  NULL-safe.
 */
FS_EXPORT void fs_dh_keypair_destroy(fs_dh_keypair **kp);

// ---------------------------------------------------------------- identity keys

/* A long-term Ed25519 signing key (private + public).  Opaque. */
typedef struct fs_identity fs_identity;

/*
 * fs_identity_generate - create a fresh Ed25519 key from the OS CSPRNG.
 * Not collective.  On success *out is owned by the caller
 * (fs_identity_destroy); on failure *out == NULL.
 * returns FS_OK or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_identity_generate(fs_identity **out) FS_WARN_UNUSED;

/*
 * fs_identity_save - write the private key as unencrypted PKCS#8 PEM to a
 * new file created with mode 0600.
 *
 * Not collective.  Without force an existing path is never touched
 * (O_CREAT|O_EXCL).  With force the key is written to a temporary 0600 file
 * in the same directory and renamed over path.
 * returns FS_OK, FS_ERR_IO (message names the file), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_identity_save(const fs_identity *id, const char *path, int force)
    FS_WARN_UNUSED;

/*
 * fs_identity_load - read a PKCS#8 PEM Ed25519 private key.
 *
 * Not collective.  Refuses a file whose permissions allow any access by
 * group or others (mode & 077) as ssh does, an encrypted key, and a key
 * of another type.  Every message names the file.
 * On success *out is owned by the caller; on failure *out == NULL.
 * returns FS_OK, FS_ERR_IO (missing/unreadable/too open), FS_ERR_DATA
 * (not a PEM private key, wrong type), FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_identity_load(const char *path, fs_identity **out) FS_WARN_UNUSED;

/* fs_identity_public - copy the 32-byte raw public key.  Not collective. */
FS_EXPORT fs_err fs_identity_public(const fs_identity *id, uint8_t pub[FS_ED25519_PUBBYTES])
    FS_WARN_UNUSED;

/*
 * fs_identity_sign - Ed25519 (pure, RFC 8032) signature of n bytes.
 * Not collective.  sig receives 64 bytes.  returns FS_OK or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_identity_sign(const fs_identity *id, const void *msg, size_t n,
                                  uint8_t sig[FS_ED25519_SIGBYTES]) FS_WARN_UNUSED;

/*
 * fs_identity_verify - verify an Ed25519 signature against a raw public key.
 * Not collective.  returns FS_OK if valid, otherwise FS_ERR_AUTH (the
 * message never says why), or FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_identity_verify(const uint8_t pub[FS_ED25519_PUBBYTES],
                                    const void *msg, size_t n,
                                    const uint8_t sig[FS_ED25519_SIGBYTES]) FS_WARN_UNUSED;

/* fs_identity_destroy - free (OpenSSL wipes the key), set *id = NULL; NULL-safe. */
FS_EXPORT void fs_identity_destroy(fs_identity **id);

/*
 * fs_pubkey_to_text - format a raw public key as "ed25519:<base64>"
 * (44 base64 characters).  Not collective.
 * out must hold FS_PUBKEY_TEXTBYTES.  returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_pubkey_to_text(const uint8_t pub[FS_ED25519_PUBBYTES],
                                   char *out, size_t outlen) FS_WARN_UNUSED;

/*
 * fs_pubkey_from_text - parse "ed25519:<base64>" (canonical base64 of
 * exactly 32 bytes; surrounding blanks are not accepted).  Not collective.
 * returns FS_OK or FS_ERR_DATA with a message quoting at most the prefix.
 */
FS_EXPORT fs_err fs_pubkey_from_text(const char *text, uint8_t pub[FS_ED25519_PUBBYTES])
    FS_WARN_UNUSED;

/*
 * fs_pubkey_save - write the text form plus a newline to a new file (mode
 * 0644; O_EXCL unless force).  Not collective.
 * returns FS_OK or FS_ERR_IO naming the file.
 */
FS_EXPORT fs_err fs_pubkey_save(const uint8_t pub[FS_ED25519_PUBBYTES], const char *path,
                                int force) FS_WARN_UNUSED;

/*
 * fs_pubkey_load - read a file holding one "ed25519:<base64>" line.
 * Not collective.  returns FS_OK, FS_ERR_IO or FS_ERR_DATA naming the file.
 */
FS_EXPORT fs_err fs_pubkey_load(const char *path, uint8_t pub[FS_ED25519_PUBBYTES])
    FS_WARN_UNUSED;

// ---------------------------------------------------------------- roster

/*
 * The consortium roster (docs/keys.md): one [institution "NAME"] section
 * per member with rank, public_key, optional data and optional role (`role =
 * label` on at most one member: the label holder of vertical FL), plus an optional
 * [consortium] section with name and dh_group.  Opaque and immutable.
 */
typedef struct fs_roster fs_roster;

/*
 * fs_roster_load - parse and strictly validate a roster file.
 *
 * Not collective (every rank reads the same file; the caller checks that
 * fs_roster_hash agrees across ranks).  Rejects syntax errors, unknown
 * sections and keys, duplicate keys, duplicate institution names, duplicate
 * ranks, ranks that are not exactly 0..N-1, missing or malformed public
 * keys, duplicate public keys, unknown DH groups, roles other than
 * `label` and more than one label holder; the message names the
 * file and the line or section.
 * On success *out is owned by the caller (fs_roster_destroy); on failure
 * *out == NULL.
 * returns FS_OK, FS_ERR_IO (cannot open), FS_ERR_DATA (invalid content),
 * FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_roster_load(const char *path, fs_roster **out) FS_WARN_UNUSED;

/* fs_roster_destroy - free, set *r = NULL; NULL-safe. */
FS_EXPORT void fs_roster_destroy(fs_roster **r);

/* fs_roster_count - number of institutions N (ranks are 0..N-1). */
FS_EXPORT int fs_roster_count(const fs_roster *r);

/* fs_roster_name - institution name of a rank; borrowed (valid until the
 * roster is destroyed); NULL if rank is out of range. */
FS_EXPORT const char *fs_roster_name(const fs_roster *r, int rank);

/* fs_roster_public_key - 32-byte Ed25519 public key of a rank; borrowed;
 * NULL if rank is out of range. */
FS_EXPORT const uint8_t *fs_roster_public_key(const fs_roster *r, int rank);

/* fs_roster_data_path - data path of a rank as written in the file, or
 * NULL when absent or out of range; borrowed. */
FS_EXPORT const char *fs_roster_data_path(const fs_roster *r, int rank);

/* fs_roster_find - rank of the named institution, or -1. */
FS_EXPORT int fs_roster_find(const fs_roster *r, const char *name);

/* fs_roster_consortium_name - [consortium] name, or NULL; borrowed. */
FS_EXPORT const char *fs_roster_consortium_name(const fs_roster *r);

/* fs_roster_dh_group - [consortium] dh_group (default FS_DH_FFDHE2048). */
FS_EXPORT fs_dh_group_id fs_roster_dh_group(const fs_roster *r);

/*
 * fs_roster_label_rank - rank of the institution whose section says
 * `role = label` (the label holder of vertical federated learning), or -1
 * when no institution has a role (or r is NULL).  fs_roster_load guarantees
 * at most one.  Not collective; the value is part of fs_roster_hash, so
 * ranks whose rosters name different label holders fail to agree.
 */
FS_EXPORT int fs_roster_label_rank(const fs_roster *r);

/*
 * fs_roster_hash - SHA-256 over a canonical serialization of the roster:
 * consortium name, DH group, N, per rank its name and public key, and the
 * label holder's rank when a member has `role = label` (data paths are
 * site-local and excluded).  Independent of section order,
 * whitespace and comments.  Not collective.  returns FS_OK or FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_roster_hash(const fs_roster *r, uint8_t out[FS_SHA256_BYTES])
    FS_WARN_UNUSED;

/*
 * fs_roster_valid_name - 1 if name is a legal institution name: 1 to 32
 * characters from [A-Za-z0-9._-], starting with a letter or digit.
 */
FS_EXPORT int fs_roster_valid_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_CRYPTO_H */

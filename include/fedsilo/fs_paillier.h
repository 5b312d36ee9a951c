/*
 * fs_paillier.h - the Paillier additively homomorphic cryptosystem
 * (Paillier, EUROCRYPT 1999) with g = n + 1, for vertical federated learning.
 *
 * Crypto layer (no MPI).  Everything here is Not collective.
 *
 *   Enc(m; r) = (1 + m n) r^n  mod n^2           r uniform in Z_n^*
 *   Dec(c)    = L(c^lambda mod n^2) mu mod n      L(u) = (u - 1) / n
 *   Enc(a) Enc(b)  = Enc(a + b mod n)              fs_paillier_add
 *   Enc(a)^k       = Enc(k a mod n)                fs_paillier_mul (k signed)
 *
 * Plaintexts are integers mod n.  Signed values use the centred
 * representation: m in [0, n/2) is non-negative, m in [n/2, n) stands for
 * m - n.  Real values are fixed point with `frac_bits` fractional bits
 * (fs_paillier_encrypt_fixed / fs_paillier_decrypt_fixed).
 *
 * Ciphertexts and public keys are serialized as fixed-length big-endian
 * byte strings (2 * |n| bytes per ciphertext), so they can be sent over MPI
 * without framing.  No GMP type appears in this header.
 *
 * WARNING: fs_crypto_init must run before any function here (the GMP memory
 * hooks wipe released limbs, which hold secret key material); the key
 * functions call it themselves, but an application that uses GMP directly
 * must call it first.  Paillier ciphertexts are malleable: this module gives
 * confidentiality against honest-but-curious parties only.
 */
#ifndef FEDSILO_FS_PAILLIER_H
#define FEDSILO_FS_PAILLIER_H

#include <stddef.h>
#include <stdint.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Smallest accepted modulus size in bits (keygen); 2048 is the default. */
#define FS_PAILLIER_MIN_BITS 512
#define FS_PAILLIER_DEFAULT_BITS 2048

/* A public key (n, n^2).  Opaque. */
typedef struct fs_paillier_pub fs_paillier_pub;
/* A key pair: public key plus lambda, mu and the primes.  Opaque; secret. */
typedef struct fs_paillier_key fs_paillier_key;
/* A vector of ciphertexts under one public key.  Opaque. */
typedef struct fs_paillier_vec fs_paillier_vec;

/*
 * fs_paillier_keygen - generate a key pair with an n of exactly `bits` bits.
 *
 * Not collective.  bits must be even and >= FS_PAILLIER_MIN_BITS (use
 * >= 2048 in production).  p and q are bits/2-bit primes drawn from the OS
 * CSPRNG (top two bits set, mpz_nextprime, then 40 Miller-Rabin rounds),
 * p != q and gcd(pq, (p-1)(q-1)) = 1.
 * On success *out is owned by the caller (fs_paillier_key_destroy wipes
 * it); on failure *out == NULL.
 * returns FS_OK, FS_ERR_ARG (bad size), FS_ERR_CRYPTO (CSPRNG failure).
 */
FS_EXPORT fs_err fs_paillier_keygen(int bits, fs_paillier_key **out) FS_WARN_UNUSED;

/* fs_paillier_key_destroy - wipe the secret values, free, set *k = NULL;
 * NULL-safe. */
FS_EXPORT void fs_paillier_key_destroy(fs_paillier_key **k);

/*
 * fs_paillier_key_public - the public half of a key pair.
 * Not collective.  Borrowed: valid until the key pair is destroyed.
 */
FS_EXPORT const fs_paillier_pub *fs_paillier_key_public(const fs_paillier_key *k);

/* fs_paillier_pub_bits - bits of n.  fs_paillier_pub_bytes - bytes of n
 * (ceil(bits / 8)).  fs_paillier_ct_bytes - bytes of one serialized
 * ciphertext (2 * fs_paillier_pub_bytes). */
FS_EXPORT int fs_paillier_pub_bits(const fs_paillier_pub *pk);
FS_EXPORT size_t fs_paillier_pub_bytes(const fs_paillier_pub *pk);
FS_EXPORT size_t fs_paillier_ct_bytes(const fs_paillier_pub *pk);

/*
 * fs_paillier_pub_export - serialize n as fs_paillier_pub_bytes(pk) bytes,
 * big-endian.  Not collective.  len must equal fs_paillier_pub_bytes.
 * returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_paillier_pub_export(const fs_paillier_pub *pk, uint8_t *out, size_t len)
    FS_WARN_UNUSED;

/*
 * fs_paillier_pub_import - parse a serialized public key (n, big-endian).
 * Not collective.  Rejects an even n, an n below FS_PAILLIER_MIN_BITS and a
 * leading zero byte (so the length fixes |n|).  On success *out is owned by
 * the caller (fs_paillier_pub_destroy); on failure *out == NULL.
 * returns FS_OK, FS_ERR_DATA, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_paillier_pub_import(const uint8_t *in, size_t len, fs_paillier_pub **out)
    FS_WARN_UNUSED;

/* fs_paillier_pub_destroy - free an imported public key, set *pk = NULL;
 * NULL-safe.  Never pass the borrowed fs_paillier_key_public pointer. */
FS_EXPORT void fs_paillier_pub_destroy(fs_paillier_pub **pk);

/*
 * fs_paillier_vec_create - a vector of n ciphertexts, all Enc(0) with r = 1
 * (the identity of fs_paillier_add; NOT a valid encryption for sending).
 * Not collective.  pk is borrowed and must outlive the vector.  On success
 * *out is owned by the caller (fs_paillier_vec_destroy).
 * returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_paillier_vec_create(const fs_paillier_pub *pk, size_t n,
                                        fs_paillier_vec **out) FS_WARN_UNUSED;
/* fs_paillier_vec_destroy - free, set *v = NULL; NULL-safe. */
FS_EXPORT void fs_paillier_vec_destroy(fs_paillier_vec **v);
/* fs_paillier_vec_len - number of ciphertexts. */
FS_EXPORT size_t fs_paillier_vec_len(const fs_paillier_vec *v);

/*
 * fs_paillier_encrypt - v[i] = Enc(m) for a signed 64-bit m (reduced mod n),
 * with a fresh r in Z_n^* from the OS CSPRNG.
 * Not collective.  returns FS_OK, FS_ERR_ARG (index), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_encrypt(fs_paillier_vec *v, size_t i, int64_t m) FS_WARN_UNUSED;

/*
 * fs_paillier_encrypt_fixed - v[i] = Enc(round(x * 2^frac_bits)) for each
 * of the n doubles x (i = 0..n-1).  Not collective.
 * returns FS_OK, FS_ERR_ARG (|x| * 2^frac_bits >= 2^62, non-finite x,
 * frac_bits outside 0..60, n > length), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_encrypt_fixed(fs_paillier_vec *v, const double *x, size_t n,
                                           int frac_bits) FS_WARN_UNUSED;

/*
 * fs_paillier_decrypt - decrypt v[i] into a signed value in the centred
 * representation, which must fit int64.
 * Not collective.  The key must match the vector's public key (same n).
 * returns FS_OK, FS_ERR_ARG (index, other key), FS_ERR_DATA (the plaintext
 * does not fit int64: e.g. the wrong key, or an overflowed sum).
 */
FS_EXPORT fs_err fs_paillier_decrypt(const fs_paillier_key *k, const fs_paillier_vec *v,
                                     size_t i, int64_t *m) FS_WARN_UNUSED;

/*
 * fs_paillier_decrypt_fixed - out[i] = Dec(v[i]) / 2^frac_bits for the
 * first n entries, computed from the exact centred plaintext (plaintexts
 * up to |n|/2 bits are accepted; the double conversion rounds).
 * Not collective.  returns FS_OK, FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_paillier_decrypt_fixed(const fs_paillier_key *k, const fs_paillier_vec *v,
                                           size_t n, int frac_bits, double *out) FS_WARN_UNUSED;

/*
 * fs_paillier_add - dst[i] = a[i] * b[j] mod n^2, i.e. Enc(m_a + m_b).
 * Not collective.  dst may be a.  All three share the public key n.
 * returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_paillier_add(fs_paillier_vec *dst, size_t i, const fs_paillier_vec *a,
                                 size_t ia, const fs_paillier_vec *b, size_t ib) FS_WARN_UNUSED;

/*
 * fs_paillier_mul - dst[i] = a[ia]^k mod n^2, i.e. Enc(k m_a); a negative k
 * uses the modular inverse of a[ia] (Enc(-m) = Enc(m)^-1).  dst may be a.
 * Not collective.  The exponent is treated as public (mpz_powm).
 * returns FS_OK, FS_ERR_ARG, FS_ERR_CRYPTO (a[ia] not invertible mod n^2,
 * which reveals a factor of n: never happens for honest ciphertexts).
 */
FS_EXPORT fs_err fs_paillier_mul(fs_paillier_vec *dst, size_t i, const fs_paillier_vec *a,
                                 size_t ia, int64_t k) FS_WARN_UNUSED;

/*
 * fs_paillier_dot - out[j] = Enc(sum_i M[i, j] * m_c[i]) for a plaintext
 * int64 matrix M (rows x cols, row-major) and a ciphertext vector c of
 * `rows` entries (c[0..rows)): the homomorphic X^T r of vertical training.
 * Uses one inverse per ciphertext and one exponentiation per nonzero M
 * entry.  out must have at least cols entries; it is overwritten.
 * Not collective.  returns FS_OK, FS_ERR_ARG, FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_dot(const fs_paillier_vec *c, const int64_t *M, size_t rows,
                                 size_t cols, fs_paillier_vec *out) FS_WARN_UNUSED;

/*
 * fs_paillier_rerandomize - v[i] = v[i] * r^n mod n^2 for a fresh r, so the
 * ciphertext no longer reveals how it was computed.  Not collective.
 * returns FS_OK, FS_ERR_ARG, FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_rerandomize(fs_paillier_vec *v, size_t i) FS_WARN_UNUSED;

/*
 * fs_paillier_vec_export - serialize entries [first, first + count) as
 * count * fs_paillier_ct_bytes bytes (each big-endian, zero-padded).
 * fs_paillier_vec_import - the inverse; rejects values >= n^2.
 * Not collective.  len must equal count * ct_bytes.
 * returns FS_OK, FS_ERR_ARG (range/length), FS_ERR_DATA (import: bad value).
 */
FS_EXPORT fs_err fs_paillier_vec_export(const fs_paillier_vec *v, size_t first, size_t count,
                                        uint8_t *out, size_t len) FS_WARN_UNUSED;
FS_EXPORT fs_err fs_paillier_vec_import(fs_paillier_vec *v, size_t first, size_t count,
                                        const uint8_t *in, size_t len) FS_WARN_UNUSED;

/*
 * fs_paillier_add_mask - v[i] = v[i] * (1 + m n) * s^n mod n^2 =
 * Enc(m_v + m) with m uniform in Z_n and a fresh s: the result is a fresh
 * encryption whose plaintext is perfectly hidden from the key holder.
 * mask_out receives m (fs_paillier_pub_bytes bytes, big-endian).
 * Not collective.  WARNING: mask_out is secret; wipe it after unmasking.
 * returns FS_OK, FS_ERR_ARG, FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_add_mask(fs_paillier_vec *v, size_t i, uint8_t *mask_out,
                                      size_t len) FS_WARN_UNUSED;

/*
 * fs_paillier_decrypt_raw - the plaintext of v[i] as a residue in [0, n),
 * fs_paillier_pub_bytes bytes big-endian (for masked values that are sent
 * back to the party holding the mask).  Not collective.
 * returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_paillier_decrypt_raw(const fs_paillier_key *k, const fs_paillier_vec *v,
                                         size_t i, uint8_t *out, size_t len) FS_WARN_UNUSED;

/*
 * fs_paillier_unmask_fixed - *out = centred((value - mask) mod n) /
 * 2^frac_bits, where value and mask are fs_paillier_pub_bytes-byte
 * residues (from fs_paillier_decrypt_raw and fs_paillier_add_mask).
 * Not collective.  returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_paillier_unmask_fixed(const fs_paillier_pub *pk, const uint8_t *value,
                                          const uint8_t *mask, size_t len, int frac_bits,
                                          double *out) FS_WARN_UNUSED;

/*
 * fs_paillier_vec_create_keyed - like fs_paillier_vec_create, for the key
 * holder: encryptions into this vector use the factorization (CRT on p^2
 * and q^2), about 3x faster.  k is borrowed and must outlive the vector.
 */
FS_EXPORT fs_err fs_paillier_vec_create_keyed(const fs_paillier_key *k, size_t n,
                                              fs_paillier_vec **out) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* FEDSILO_FS_PAILLIER_H */

/*
 * fs_paillier.h - the Paillier additively homomorphic cryptosystem
 * (Paillier, EUROCRYPT 1999) with g = n + 1 and the Damgaard-Jurik-Nielsen
 * randomizer (DJN 2010), for vertical federated learning.
 *
 * Crypto layer (no MPI).  Everything here is Not collective.
 *
 *   Enc(m; x) = (1 + m n) h_s^x  mod n^2    h_s = (-y^2)^n public, x < 2^(|n|/2)
 *   Dec(c)    = L(c^lambda mod n^2) mu mod n      L(u) = (u - 1) / n  (CRT)
 *   Enc(a) Enc(b)  = Enc(a + b mod n)              fs_paillier_add
 *   Enc(a)^k       = Enc(k a mod n)                fs_paillier_mul (k signed)
 *   prod_t Enc(a_t)^(k_t) = Enc(sum_t k_t a_t)     fs_paillier_lincomb
 *
 * Plaintexts are integers mod n.  Signed values use the centred
 * representation: m in [0, n/2] is non-negative, m in (n/2, n) stands for
 * m - n.  Real values are fixed point with `frac_bits` fractional bits
 * (fs_paillier_encrypt_fixed / fs_paillier_decrypt_fixed); several signed
 * values can share one ciphertext in slots of s bits
 * (fs_paillier_encrypt_packed / fs_paillier_decrypt_packed).
 *
 * Encryption by the key owner (a vector made with
 * fs_paillier_vec_create_keyed) uses the factorization and fixed-base
 * tables: about 150 multiplications mod p^2 and mod q^2 at 2048 bits.
 * Anyone else encrypts with one exponentiation of h_s by a |n|/2-bit
 * exponent.  The security argument of the short exponent is in
 * src/vfl/fs_paillier.c (factoring assumption, then DCR).
 *
 * Ciphertexts and public keys are serialized as fixed-length big-endian
 * byte strings (2 |n| bytes per ciphertext, 3 |n| bytes per public key: n
 * then h_s), so they can be sent without framing.  No GMP type appears in
 * this header.
 *
 * WARNING: fs_crypto_init must run before any function here (the GMP memory
 * hooks wipe released limbs, which hold secret key material); the key
 * functions call it themselves, but an application that uses GMP directly
 * must call it first.  Paillier ciphertexts are malleable: whoever holds the
 * public key can compute on them, so integrity must come from the channel
 * (fs_vfl.c sends them inside AES-GCM) and from the protocol.
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

/* Modulus sizes in bits.  Keys below FS_PAILLIER_SECURE_BITS (about 112-bit
 * security, NIST SP 800-57) are for tests only: fs_vfl_train refuses them
 * unless its insecure_test_keys option is set. */
#define FS_PAILLIER_MIN_BITS 1024
#define FS_PAILLIER_SECURE_BITS 2048
#define FS_PAILLIER_DEFAULT_BITS 2048
#define FS_PAILLIER_MAX_BITS 8192

/* A public key (n, n^2).  Opaque. */
typedef struct fs_paillier_pub fs_paillier_pub;
/* A key pair: public key plus lambda, mu and the primes.  Opaque; secret. */
typedef struct fs_paillier_key fs_paillier_key;
/* A vector of ciphertexts under one public key.  Opaque. */
typedef struct fs_paillier_vec fs_paillier_vec;

/*
 * fs_paillier_keygen - generate a key pair with an n of exactly `bits` bits.
 *
 * Not collective.  bits must be even, FS_PAILLIER_MIN_BITS..MAX_BITS (use
 * >= FS_PAILLIER_SECURE_BITS in production).  p and q are bits/2-bit
 * primes drawn from the OS CSPRNG (top two bits set, mpz_nextprime, then 40
 * Miller-Rabin rounds), p != q and gcd(pq, (p-1)(q-1)) = 1; y uniform in
 * Z_n^*, h_s = (-y^2)^n mod n^2; the owner's fixed-base tables of h_s mod
 * p^2 and q^2 are built here (about 2^7 |n| / 14 residues of |n| bits:
 * 9.5 MB at 2048 bits, held until fs_paillier_key_destroy).
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
 * ciphertext (2 * fs_paillier_pub_bytes).  fs_paillier_pub_export_bytes -
 * bytes of a serialized public key (3 * fs_paillier_pub_bytes). */
FS_EXPORT int fs_paillier_pub_bits(const fs_paillier_pub *pk);
FS_EXPORT size_t fs_paillier_pub_bytes(const fs_paillier_pub *pk);
FS_EXPORT size_t fs_paillier_ct_bytes(const fs_paillier_pub *pk);
FS_EXPORT size_t fs_paillier_pub_export_bytes(const fs_paillier_pub *pk);

/*
 * fs_paillier_slots - how many slots of slot_bits bits one plaintext holds
 * for packing: floor((bits(n) - 2) / slot_bits); 0 for a bad width.
 */
FS_EXPORT int fs_paillier_slots(const fs_paillier_pub *pk, int slot_bits);

/*
 * fs_paillier_pub_export - serialize (n, h_s) as
 * fs_paillier_pub_export_bytes(pk) bytes: n in |n| bytes then h_s in 2 |n|
 * bytes, both big-endian.  Not collective.  len must equal
 * fs_paillier_pub_export_bytes.  returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_paillier_pub_export(const fs_paillier_pub *pk, uint8_t *out, size_t len)
    FS_WARN_UNUSED;

/*
 * fs_paillier_pub_import - parse a serialized public key (n || h_s).
 * Not collective.  Rejects a length that is not 3 |n|, an even n, an n
 * outside FS_PAILLIER_MIN_BITS..MAX_BITS, a leading zero byte (so the
 * length fixes |n|) and an h_s that is not a unit mod n^2 other than 1.
 * (Whether h_s really is an n-th residue cannot be checked without the
 * factors; a wrong h_s only hurts the privacy of its own owner.)  On success *out is owned by
 * the caller (fs_paillier_pub_destroy); on failure *out == NULL.
 * returns FS_OK, FS_ERR_DATA, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_paillier_pub_import(const uint8_t *in, size_t len, fs_paillier_pub **out)
    FS_WARN_UNUSED;

/*
 * fs_paillier_pub_precompute - build a fixed-base table of h_s mod n^2 (window
 * 6 bits, exponents of |n|/2 + 256 bits: 6.9 MB at 2048 bits) in an
 * imported public key, so that its re-randomizations and encryptions cost
 * about (|n|/2 + 256) / 6 multiplications instead of an exponentiation.
 * Not collective.  Idempotent; the table lives until the key is destroyed.
 * Never call it on the borrowed fs_paillier_key_public pointer (the owner
 * has its CRT tables already).  returns FS_OK, FS_ERR_ARG, FS_ERR_NOMEM.
 */
FS_EXPORT fs_err fs_paillier_pub_precompute(fs_paillier_pub *pk) FS_WARN_UNUSED;

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
 * with a fresh exponent x from the OS CSPRNG (through the CRT tables when v
 * was created with fs_paillier_vec_create_keyed).
 * Not collective.  returns FS_OK, FS_ERR_ARG (index), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_encrypt(fs_paillier_vec *v, size_t i, int64_t m) FS_WARN_UNUSED;

/*
 * fs_paillier_encrypt_fixed - v[i] = Enc(round(x * 2^frac_bits)) for each
 * of the n doubles x (i = 0..n-1).  Not collective.
 * returns FS_OK, FS_ERR_ARG (|x| * 2^frac_bits >= 2^62, non-finite x,
 * frac_bits outside 0..60, n > length; the message never carries the
 * value), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_encrypt_fixed(fs_paillier_vec *v, const double *x, size_t n,
                                           int frac_bits) FS_WARN_UNUSED;

/*
 * fs_paillier_encrypt_packed - v[i] = Enc(T), T = sum_j vals[j] 2^(s j)
 * (j = 0..count-1, s = slot_bits, signed vals, T reduced mod n).
 * Not collective.  Slot layout: value j occupies bits [s j, s (j + 1)) in
 * two's-complement-like centred digits, so every homomorphic operation acts
 * on each slot independently as long as each slot's value stays within
 * (-2^(s-2), 2^(s-2)); the caller sizes s for the sums it will compute (e.g.
 * |x| < 2^X, |k| < 2^K, at most 2^C terms: s >= X + K + C + 2).
 * returns FS_OK, FS_ERR_ARG (count > fs_paillier_slots, s below 2, a
 * value of 2^(s-1) or more in magnitude), FS_ERR_CRYPTO.
 */
FS_EXPORT fs_err fs_paillier_encrypt_packed(fs_paillier_vec *v, size_t i, const int64_t *vals,
                                            size_t count, int slot_bits) FS_WARN_UNUSED;

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
 * fs_paillier_decrypt_packed - unpack the first count slots of Dec(v[i]):
 * out[j] = v_j / 2^frac_bits, where the centred plaintext is
 * T = sum_j v_j 2^(s j) with every v_j in [-2^(s-1), 2^(s-1)) (exact
 * integers; the double conversion rounds beyond 53 bits).
 * Not collective.  Slots that overflowed their headroom decode to wrong
 * values (nothing can detect that): keep the rule of
 * fs_paillier_encrypt_packed.  returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_paillier_decrypt_packed(const fs_paillier_key *k, const fs_paillier_vec *v,
                                            size_t i, size_t count, int slot_bits, int frac_bits,
                                            double *out) FS_WARN_UNUSED;

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
 * fs_paillier_lincomb - out[j] = prod_t c[rows[t] cols + j]^(k[t]), i.e.
 * Enc(sum_t k[t] m[rows[t], j]) for j = 0..cols-1: c holds a matrix of
 * ciphertexts (row-major, cols per row), rows[0..count) picks rows and
 * k[0..count) are signed plaintext coefficients (the homomorphic
 * X[B]^T r of vertical training, for packed rows of X).
 * Not collective.  Straus's simultaneous exponentiation with |k| as the
 * exponents: per column, one squaring per bit of max |k| and one
 * multiplication per set bit of each |k[t]|, for the positive and the
 * negative coefficients separately, then one modular inverse for the
 * negative product (never n - |k|).  out is overwritten; out must have at
 * least cols entries and share the key.  The result is not re-randomized
 * (see fs_paillier_rerandomize).
 * returns FS_OK, FS_ERR_ARG, FS_ERR_CRYPTO (a ciphertext not invertible mod
 * n^2, which reveals a factor of n: never happens for honest ciphertexts).
 */
FS_EXPORT fs_err fs_paillier_lincomb(const fs_paillier_vec *c, size_t cols, const uint32_t *rows,
                                     const int64_t *k, size_t count, fs_paillier_vec *out)
    FS_WARN_UNUSED;

/*
 * fs_paillier_rerandomize - v[i] = v[i] h_s^x' mod n^2 for a fresh x' of
 * |n|/2 + 256 bits, so that the ciphertext no longer reveals how it was
 * computed, even to the key owner: for any ciphertext of the form
 * (1 + T n) h_s^e with |e| < 2^(|n|/2 + 128) (every linear combination of
 * the owner's fresh encryptions with coefficients below 2^64 over fewer
 * than 2^63 terms) the result is within statistical distance 2^-128 of a
 * fresh encryption of T.  Not collective.
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
 * fs_paillier_vec_create_keyed - like fs_paillier_vec_create, for the key
 * holder: encryptions into this vector use the factorization (CRT on p^2
 * and q^2) and the key's fixed-base tables (bench/paillier_bench measures
 * the gain).  k is borrowed and must outlive the vector.
 */
FS_EXPORT fs_err fs_paillier_vec_create_keyed(const fs_paillier_key *k, size_t n,
                                              fs_paillier_vec **out) FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* FEDSILO_FS_PAILLIER_H */

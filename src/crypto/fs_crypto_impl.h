/*
 * fs_crypto_impl.h - internal interface of the crypto layer (not installed).
 *
 * The OpenSSL error boundary (FS_SSL), the fatal path used
 * by the GMP memory hooks, and FS_INTERN hooks that the unit tests use to
 * reach known-answer vectors (raw Ed25519 keys) and to cross-check the two
 * subgroup-membership methods.
 */
#ifndef FEDSILO_FS_CRYPTO_IMPL_H
#define FEDSILO_FS_CRYPTO_IMPL_H

#include "fs_impl.h"
#include "fedsilo/fs_crypto.h"

/*
 * fs_from_ssl - record "<what> failed: <OpenSSL error queue>" and return
 * FS_ERR_CRYPTO.  Drains (empties) this thread's OpenSSL error queue.
 */
FS_INTERN fs_err fs_from_ssl(const char *what);

/*
 * FS_SSL - wrap a libcrypto call whose documented success value is exactly 1
 * (some verifiers return -1 or 0 on failure: never treat it as a boolean).
 * Needs a local `rc` and a `done:` label.
 */
#define FS_SSL(call) \
    FS_TRY(((call) == 1) ? FS_OK : fs_from_ssl(#call))

/* fs_ssl_clear - discard stale entries of this thread's OpenSSL error queue. */
FS_INTERN void fs_ssl_clear(void);

/*
 * fs_crypto_fatal - call the application's fatal handler with msg; never
 * returns (raises SIGABRT if the handler returns).  Only for states that
 * cannot be reported through fs_err (GMP allocation failure).
 */
FS_INTERN void fs_crypto_fatal(const char *msg) __attribute__((noreturn));

/*
 * fs_crypto_burn_stack - overwrite `bytes` of the stack below the caller.
 * GMP takes its scratch space for mpz_powm_sec with alloca when it is
 * small, which the memory hooks never see; the DH code calls this after
 * every exponentiation with a secret exponent.  Best effort.
 */
FS_INTERN void fs_crypto_burn_stack(size_t bytes);

/*
 * fs_crypto_test_release_hook - unit tests only: fn(p, n) receives every
 * block the GMP hooks release, after wiping and instead of free(); the
 * test checks that the n bytes are zero and then frees p.  NULL restores
 * free().  Not thread-safe.
 */
FS_INTERN void fs_crypto_test_release_hook(void (*fn)(void *p, size_t n));

/*
 * fs_identity_from_raw - build an identity from a raw 32-byte Ed25519
 * private key (RFC 8032 "secret key").  For known-answer tests; production
 * keys come from fs_identity_generate/fs_identity_load.
 */
FS_INTERN fs_err fs_identity_from_raw(const uint8_t seed[32], fs_identity **out);

/* fs_dh_group_prime - export p (fs_dh_group_bytes bytes, big-endian). */
FS_INTERN fs_err fs_dh_group_prime(fs_dh_group_id group, uint8_t *out, size_t outlen);

/*
 * Subgroup membership of a value x with 0 < x < p, two ways (tests check
 * that they agree): 1 if x^q == 1 (mod p), 0 if not, -1 on a bad argument.
 * fs_dh_in_subgroup_powm evaluates x^q mod p explicitly; the production
 * path, fs_dh_in_subgroup_legendre, uses the Legendre symbol.
 */
FS_INTERN int fs_dh_in_subgroup_powm(fs_dh_group_id group, const uint8_t *x, size_t len);
FS_INTERN int fs_dh_in_subgroup_legendre(fs_dh_group_id group, const uint8_t *x, size_t len);

/*
 * fs_random_permutation - perm = a uniformly random permutation of
 * 0..n-1 (Fisher-Yates on CSPRNG words; bias below 2^-32 per draw).
 * Not collective.  perm: n entries, caller-owned; secret if the caller's
 * protocol says so (wipe it).  returns FS_OK, FS_ERR_ARG (n > 2^32 - 1),
 * FS_ERR_NOMEM, FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_random_permutation(uint32_t *perm, size_t n);

/*
 * fs_aes128_ecb - out[k] = AES-128_key(in[k]) for nblocks 16-byte blocks
 * (OpenSSL, AES-NI where available): a pseudo-random permutation used as
 * a PRF on distinct inputs.  in and out may alias.  Not collective.
 * returns FS_OK, FS_ERR_NOMEM or FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_aes128_ecb(const uint8_t key[16], const uint8_t *in, uint8_t *out,
                               size_t nblocks);

// ---------------------------------------------------------------- ristretto255 (libsodium)

#define FS_RISTRETTO_BYTES 32         /* an encoded group element          */
#define FS_RISTRETTO_SCALARBYTES 32   /* a scalar mod l, little-endian     */

/* fs_ristretto_scalar_random - s = uniform scalar in [1, l).  Not
 * collective.  s is secret.  returns FS_OK or FS_ERR_CRYPTO (init). */
FS_INTERN fs_err fs_ristretto_scalar_random(uint8_t s[FS_RISTRETTO_SCALARBYTES]);

/*
 * fs_ristretto_hash_mul - out[i] = s * H(ids[order[i]]) for i < n, where
 * H(x) = from_hash(SHA-512(dom || BE64(strlen(x)) || x)) is RFC 9496's
 * hash to ristretto255 (order NULL: ids[i]).  Split over `threads`
 * threads.  Not collective.  ids and order are borrowed; out holds n x 32
 * bytes (caller-owned).  returns FS_OK, FS_ERR_ARG, FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_ristretto_hash_mul(const uint8_t *dom, size_t domlen,
                                       const char *const *ids, const uint32_t *order, size_t n,
                                       const uint8_t s[FS_RISTRETTO_SCALARBYTES], uint8_t *out,
                                       int threads);

/*
 * fs_ristretto_mul - points[i] = s * points[i] in place, i < n, over
 * `threads` threads.  Not collective.  Every input must decode to a group
 * element whose product is not the identity; otherwise returns
 * FS_ERR_DATA with *bad = the smallest failing index (the other points may
 * or may not have been multiplied).  *bad = SIZE_MAX on success.
 * returns FS_OK, FS_ERR_DATA, FS_ERR_ARG, FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_ristretto_mul(const uint8_t s[FS_RISTRETTO_SCALARBYTES], uint8_t *points,
                                  size_t n, int threads, size_t *bad);

/*
 * fs_blake2b_keyed - out = BLAKE2b(key; a || b) with outlen bytes (16..64;
 * libsodium crypto_generichash), key of 0..64 bytes (0: unkeyed).  A MAC
 * with a secret key, a domain-separated hash with a public one.  Not
 * collective.  returns FS_OK, FS_ERR_ARG or FS_ERR_CRYPTO.
 */
FS_INTERN fs_err fs_blake2b_keyed(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
                                  const void *a, size_t alen, const void *b, size_t blen);

#endif /* FEDSILO_FS_CRYPTO_IMPL_H */

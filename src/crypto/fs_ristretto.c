/*
 * fs_ristretto.c - batched ristretto255 operations (libsodium) for the
 * private set intersection, spread over threads; keyed BLAKE2b.
 *
 * crypto layer, no MPI.  ristretto255 (RFC 9496) is the prime-order group
 * of order l = 2^252 + 27742317777372353535851937790883648493 built on
 * Curve25519: every 32-byte encoding that decodes is a group element, the
 * identity is all zeros, and there is no cofactor to clear, so DDH-based
 * protocols can use it like a prime-order group.  libsodium gives:
 *   crypto_core_ristretto255_from_hash(p, h[64])  (RFC 9496 section 4.3.4:
 *       two Elligator maps and an addition; a random oracle into the group
 *       when h is a hash of the input),
 *   crypto_scalarmult_ristretto255(q, s, p)       (constant time in s;
 *       fails when p does not decode or the result is the identity).
 *
 * Batches are split into contiguous ranges, one per thread (POSIX
 * threads; the calling thread takes the first range).  Every function is
 * thread-compatible: no shared state beyond its arguments.
 */
#include <pthread.h>
#include <string.h>
#include <sodium.h>
#include "crypto/fs_crypto_impl.h"

/* A batch job: run(job, lo, hi) on [lo, hi); the first failing index of
 * each range is kept (SIZE_MAX when none failed). */
typedef struct batch batch;
struct batch {
    int (*run)(const batch *b, size_t lo, size_t hi, size_t *bad);
    const uint8_t *scalar;         /* secret: 32 bytes                   */
    uint8_t *points;               /* (n x 32) in/out                    */
    const char *const *ids;        /* hash_mul: (any) borrowed           */
    const uint32_t *order;         /* hash_mul: (n) index into ids       */
    const uint8_t *dom;            /* hash_mul: domain separation prefix */
    size_t domlen;
};

typedef struct {
    const batch *b;
    size_t lo, hi, bad;
    int fail;
} slice;

static void *slice_main(void *arg)
{
    slice *s = arg;
    s->bad = SIZE_MAX;
    s->fail = s->lo < s->hi ? s->b->run(s->b, s->lo, s->hi, &s->bad) : 0;
    return NULL;
}

/* Run b over [0, n) on `threads` threads (the caller is one of them).
 * returns 0, or 1 with *bad = the smallest failing index; -1 if a thread
 * could not be started (then nothing is guaranteed about the output). */
static int run_batch(const batch *b, size_t n, int threads, size_t *bad)
{
    enum { MAXT = 256 };
    slice sl[MAXT];
    pthread_t tid[MAXT];
    int started[MAXT];
    if (threads < 1) threads = 1;
    if (threads > MAXT) threads = MAXT;
    if ((size_t)threads > n) threads = n ? (int)n : 1;
    for (int t = 0; t < threads; t++) {
        sl[t].b = b;
        sl[t].lo = n * (size_t)t / (size_t)threads;
        sl[t].hi = n * (size_t)(t + 1) / (size_t)threads;
        started[t] = 0;
    }
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, slice_main, &sl[t]) == 0;
    slice_main(&sl[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else slice_main(&sl[t]);        // could not start: run it here
    }
    int fail = 0;
    *bad = SIZE_MAX;
    for (int t = 0; t < threads; t++)
        if (sl[t].fail && sl[t].bad < *bad) { fail = 1; *bad = sl[t].bad; }
    return fail;
}

static int mul_range(const batch *b, size_t lo, size_t hi, size_t *bad)
{
    for (size_t i = lo; i < hi; i++) {
        uint8_t *p = b->points + i * FS_RISTRETTO_BYTES;
        /* In place is safe: libsodium decodes p before it writes q. */
        if (crypto_scalarmult_ristretto255(p, b->scalar, p) != 0) { *bad = i; return 1; }
    }
    return 0;
}

static int hash_mul_range(const batch *b, size_t lo, size_t hi, size_t *bad)
{
    uint8_t h[crypto_hash_sha512_BYTES], len[8];
    crypto_hash_sha512_state st;
    for (size_t i = lo; i < hi; i++) {
        const char *id = b->ids[b->order ? b->order[i] : i];
        uint64_t n = strlen(id);
        for (int k = 0; k < 8; k++) len[k] = (uint8_t)(n >> (56 - 8 * k));
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, b->dom, b->domlen);
        crypto_hash_sha512_update(&st, len, sizeof len);
        crypto_hash_sha512_update(&st, (const unsigned char *)id, n);
        crypto_hash_sha512_final(&st, h);
        uint8_t *p = b->points + i * FS_RISTRETTO_BYTES;
        crypto_core_ristretto255_from_hash(p, h);
        if (crypto_scalarmult_ristretto255(p, b->scalar, p) != 0) {
            *bad = i;
            sodium_memzero(h, sizeof h);
            return 1;
        }
    }
    sodium_memzero(&st, sizeof st);
    sodium_memzero(h, sizeof h);
    return 0;
}

fs_err fs_ristretto_scalar_random(uint8_t s[FS_RISTRETTO_SCALARBYTES])
{
    fs_err irc = fs_crypto_init();
    if (irc != FS_OK) return irc;
    crypto_core_ristretto255_scalar_random(s);   // uniform in [1, l)
    return FS_OK;
}

fs_err fs_ristretto_hash_mul(const uint8_t *dom, size_t domlen, const char *const *ids,
                             const uint32_t *order, size_t n,
                             const uint8_t s[FS_RISTRETTO_SCALARBYTES], uint8_t *out, int threads)
{
    fs_err irc = fs_crypto_init();
    if (irc != FS_OK) return irc;
    if (n == 0) return FS_OK;
    if (!ids || !out || !s || (!dom && domlen))
        return fs_error_set(FS_ERR_ARG, "fs_ristretto_hash_mul: NULL argument");
    batch b = { hash_mul_range, s, out, ids, order, dom, domlen };
    size_t bad;
    int r = run_batch(&b, n, threads, &bad);
    if (r != 0)   /* probability ~2^-252 per id: the hash hit the identity */
        return fs_error_set(FS_ERR_CRYPTO, "ristretto255: hash of id %zu is the identity", bad);
    return FS_OK;
}

fs_err fs_ristretto_mul(const uint8_t s[FS_RISTRETTO_SCALARBYTES], uint8_t *points, size_t n,
                        int threads, size_t *bad)
{
    fs_err irc = fs_crypto_init();
    if (irc != FS_OK) return irc;
    *bad = SIZE_MAX;
    if (n == 0) return FS_OK;
    if (!points || !s) return fs_error_set(FS_ERR_ARG, "fs_ristretto_mul: NULL argument");
    batch b = { mul_range, s, points, NULL, NULL, NULL, 0 };
    if (run_batch(&b, n, threads, bad) != 0)
        return fs_error_set(FS_ERR_DATA, "value %zu is not an encoded ristretto255 group element "
                            "other than the identity", *bad);
    return FS_OK;
}

fs_err fs_blake2b_keyed(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
                        const void *a, size_t alen, const void *b, size_t blen)
{
    fs_err irc = fs_crypto_init();
    if (irc != FS_OK) return irc;
    crypto_generichash_state st;
    if (outlen < crypto_generichash_BYTES_MIN || outlen > crypto_generichash_BYTES_MAX ||
        keylen > crypto_generichash_KEYBYTES_MAX || (!a && alen) || (!b && blen))
        return fs_error_set(FS_ERR_ARG, "fs_blake2b_keyed: bad length or NULL argument");
    if (crypto_generichash_init(&st, key, keylen, outlen) != 0 ||
        crypto_generichash_update(&st, a, alen) != 0 ||
        crypto_generichash_update(&st, b, blen) != 0 ||
        crypto_generichash_final(&st, out, outlen) != 0) {
        sodium_memzero(&st, sizeof st);
        return fs_error_set(FS_ERR_CRYPTO, "BLAKE2b failed");
    }
    sodium_memzero(&st, sizeof st);
    return FS_OK;
}

/*
 * fs_crypto.c - crypto layer basics: initialization (GMP memory hooks that
 * wipe limbs, fatal handler), OS randomness, SHA-256 (FIPS 180-4) and
 * HKDF-SHA256 (RFC 5869).
 *
 * Crypto layer: no MPI, never prints to stdout, never exits.  All OpenSSL
 * calls go through one error boundary: a return value counts as
 * success only when it equals the documented success value (1 unless a
 * comment says otherwise), and on failure the OpenSSL error queue is
 * drained into the fs_errmsg() message.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gmp.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sodium.h>
#include "crypto/fs_crypto_impl.h"

size_t fs_sha256_bytes(void) { return FS_SHA256_BYTES; }
size_t fs_ed25519_pubbytes(void) { return FS_ED25519_PUBBYTES; }
size_t fs_ed25519_sigbytes(void) { return FS_ED25519_SIGBYTES; }

// ---------------------------------------------------------------- OpenSSL errors

fs_err fs_from_ssl(const char *what)
{
    char msg[768];
    size_t used = 0;
    unsigned long e;
    int n = snprintf(msg, sizeof msg, "%s failed", what);
    used = (n > 0 && (size_t)n < sizeof msg) ? (size_t)n : sizeof msg - 1;
    /* Drain the whole queue so stale entries never leak into later messages. */
    while ((e = ERR_get_error()) != 0) {
        if (used + 8 < sizeof msg) {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            n = snprintf(msg + used, sizeof msg - used, "%s%s", used ? ": " : "", buf);
            if (n > 0) used += (size_t)n;
            if (used >= sizeof msg) used = sizeof msg - 1;
        }
    }
    return fs_error_set(FS_ERR_CRYPTO, "%s", msg);
}

void fs_ssl_clear(void) { ERR_clear_error(); }

// ---------------------------------------------------------------- fatal path

static void default_fatal(const char *msg)
{
    /* write(2) only: this may run with the heap exhausted. */
    static const char pre[] = "fedsilo: fatal: ";
    ssize_t ignored = write(STDERR_FILENO, pre, sizeof pre - 1);
    ignored = write(STDERR_FILENO, msg, strlen(msg));
    ignored = write(STDERR_FILENO, "\n", 1);
    (void)ignored;
}

static fs_crypto_fatal_fn fatal_fn = default_fatal;

void fs_crypto_set_fatal_handler(fs_crypto_fatal_fn fn)
{
    fatal_fn = fn ? fn : default_fatal;
}

void fs_crypto_fatal(const char *msg)
{
    fatal_fn(msg);
    /* The handler must not return; if it does (or is the default), stop
     * the process the way abort(3) would. */
    for (;;) raise(SIGABRT);
}

void fs_crypto_burn_stack(size_t bytes)
{
    /* A VLA would be unbounded; burn in fixed 4 KiB frames instead. */
    unsigned char frame[4096];
    fs_secure_zero(frame, sizeof frame);
    if (bytes > sizeof frame) fs_crypto_burn_stack(bytes - sizeof frame);
    /* The volatile read keeps the recursion from becoming a tail call. */
    (void)*(volatile unsigned char *)frame;
}

// ---------------------------------------------------------------- GMP hooks

/*
 * GMP memory functions.  GMP passes the size of every block it frees or
 * reallocates, so the old limbs (which may hold DH exponents, shared
 * secrets or mask material) are wiped before they return to the heap.
 * realloc is done as malloc + copy + wipe + free: glibc's realloc may move
 * the block and leave the old copy unwiped.  GMP cannot handle allocation
 * failure, so it is fatal: the handler aborts the whole job, so that one
 * rank never dies quietly while its peers wait in a collective.
 */
static void release_default(void *p, size_t n) { (void)n; free(p); }

/* Returns a wiped block to the heap; replaceable by the unit tests. */
static void (*release)(void *p, size_t n) = release_default;

void fs_crypto_test_release_hook(void (*fn)(void *p, size_t n))
{
    release = fn ? fn : release_default;
}

static void *gmp_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) fs_crypto_fatal("out of memory inside GMP");
    return p;
}

static void *gmp_realloc(void *old, size_t old_n, size_t new_n)
{
    void *p = malloc(new_n ? new_n : 1);
    if (!p) fs_crypto_fatal("out of memory inside GMP");
    if (old) {
        memcpy(p, old, old_n < new_n ? old_n : new_n);
        fs_secure_zero(old, old_n);
        release(old, old_n);
    }
    return p;
}

static void gmp_free(void *p, size_t n)
{
    if (!p) return;
    fs_secure_zero(p, n);
    release(p, n);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok, sodium_ok;

static void crypto_init_once(void)
{
    mp_set_memory_functions(gmp_alloc, gmp_realloc, gmp_free);
    /* OpenSSL 3 initializes itself on first use; doing it here makes the
     * failure visible at a well-defined point.  Returns 1 on success. */
    init_ok = OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) == 1;
    /* libsodium (ristretto255, BLAKE2b): 0 = initialized now, 1 = already. */
    sodium_ok = sodium_init() >= 0;
}

fs_err fs_crypto_init(void)
{
    if (pthread_once(&init_once, crypto_init_once) != 0)
        return fs_error_set(FS_ERR_CRYPTO, "crypto layer initialization failed (pthread_once)");
    if (!init_ok) return fs_from_ssl("OPENSSL_init_crypto");
    if (!sodium_ok) return fs_error_set(FS_ERR_CRYPTO, "libsodium failed to initialize (sodium_init)");
    return FS_OK;
}

// ---------------------------------------------------------------- randomness

fs_err fs_random_bytes(void *buf, size_t n)
{
    fs_err rc = FS_OK;
    unsigned char *p = buf;
    if (n == 0) return FS_OK;
    if (!buf) return fs_error_set(FS_ERR_ARG, "fs_random_bytes: NULL buffer");
    FS_TRY(fs_crypto_init());
    /* RAND_bytes takes an int count; chunk large requests. */
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        FS_SSL(RAND_bytes(p, chunk));
        p += chunk;
        n -= (size_t)chunk;
    }
done:
    return rc;
}

fs_err fs_random_permutation(uint32_t *perm, size_t n)
{
    fs_err rc = FS_OK;
    uint64_t *r = NULL;      /* secret: the draws determine perm; wiped */
    if (n > UINT32_MAX) return fs_error_set(FS_ERR_ARG, "fs_random_permutation: n > 2^32 - 1");
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    if (n < 2) return FS_OK;
    FS_TRY(fs_alloc(&r, n, sizeof *r, "random permutation"));
    FS_TRY(fs_random_bytes(r, n * sizeof *r));
    /* Fisher-Yates: position i - 1 takes a uniform draw from [0, i); the
     * modulo bias of a 64-bit word is below i / 2^64 <= 2^-32. */
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(r[i - 1] % i);
        uint32_t t = perm[i - 1]; perm[i - 1] = perm[j]; perm[j] = t;
    }
done:
    if (r) { fs_secure_zero(r, n * sizeof *r); free(r); }
    return rc;
}

// ---------------------------------------------------------------- AES-128-ECB

fs_err fs_aes128_ecb(const uint8_t key[16], const uint8_t *in, uint8_t *out, size_t nblocks)
{
    fs_err rc = FS_OK;
    EVP_CIPHER_CTX *c = NULL;
    FS_TRY(fs_crypto_init());
    if (!(c = EVP_CIPHER_CTX_new())) FS_FAIL(FS_ERR_NOMEM, "EVP_CIPHER_CTX_new failed");
    FS_SSL(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL));
    FS_SSL(EVP_CIPHER_CTX_set_padding(c, 0));
    for (size_t off = 0; off < nblocks;) {
        size_t m = nblocks - off > ((size_t)1 << 26) ? (size_t)1 << 26 : nblocks - off;
        int outl = 0;
        FS_SSL(EVP_EncryptUpdate(c, out + off * 16, &outl, in + off * 16, (int)(m * 16)));
        off += m;
    }
done:
    EVP_CIPHER_CTX_free(c);   // wipes the key schedule
    return rc;
}

// ---------------------------------------------------------------- SHA-256

struct fs_sha256_ctx {
    EVP_MD_CTX *md;
    int finalized;
};

fs_err fs_sha256(const void *data, size_t n, uint8_t out[FS_SHA256_BYTES])
{
    fs_err rc = FS_OK;
    unsigned int len = 0;
    if (!data && n) return fs_error_set(FS_ERR_ARG, "fs_sha256: NULL data");
    /* EVP_Digest returns 1 on success. */
    FS_SSL(EVP_Digest(n ? data : "", n, out, &len, EVP_sha256(), NULL));
    if (len != FS_SHA256_BYTES) FS_FAIL(FS_ERR_CRYPTO, "SHA-256 produced %u bytes", len);
done:
    return rc;
}

fs_err fs_sha256_init(fs_sha256_ctx **out)
{
    fs_err rc = FS_OK;
    fs_sha256_ctx *c = NULL;
    *out = NULL;
    FS_TRY(fs_zalloc(&c, 1, sizeof *c, "SHA-256 context"));
    c->md = EVP_MD_CTX_new();
    if (!c->md) FS_FAIL(FS_ERR_NOMEM, "out of memory allocating an EVP_MD_CTX");
    FS_SSL(EVP_DigestInit_ex(c->md, EVP_sha256(), NULL));
    *out = c;
    c = NULL;
done:
    fs_sha256_destroy(&c);
    return rc;
}

fs_err fs_sha256_update(fs_sha256_ctx *ctx, const void *data, size_t n)
{
    fs_err rc = FS_OK;
    if (!ctx || ctx->finalized)
        return fs_error_set(FS_ERR_ARG, "fs_sha256_update: context is NULL or finalized");
    if (n == 0) return FS_OK;
    if (!data) return fs_error_set(FS_ERR_ARG, "fs_sha256_update: NULL data");
    FS_SSL(EVP_DigestUpdate(ctx->md, data, n));
done:
    return rc;
}

fs_err fs_sha256_update_framed(fs_sha256_ctx *ctx, const void *data, size_t n)
{
    fs_err rc = FS_OK;
    uint8_t len[8];
    uint64_t v = (uint64_t)n;
    for (int i = 7; i >= 0; i--) { len[i] = (uint8_t)(v & 0xff); v >>= 8; }
    FS_TRY(fs_sha256_update(ctx, len, sizeof len));
    FS_TRY(fs_sha256_update(ctx, data, n));
done:
    return rc;
}

fs_err fs_sha256_final(fs_sha256_ctx *ctx, uint8_t out[FS_SHA256_BYTES])
{
    fs_err rc = FS_OK;
    unsigned int len = 0;
    if (!ctx || ctx->finalized)
        return fs_error_set(FS_ERR_ARG, "fs_sha256_final: context is NULL or finalized");
    ctx->finalized = 1;
    FS_SSL(EVP_DigestFinal_ex(ctx->md, out, &len));
    if (len != FS_SHA256_BYTES) FS_FAIL(FS_ERR_CRYPTO, "SHA-256 produced %u bytes", len);
done:
    return rc;
}

void fs_sha256_destroy(fs_sha256_ctx **ctx)
{
    if (!ctx || !*ctx) return;
    EVP_MD_CTX_free((*ctx)->md);  /* cleanses the state */
    free(*ctx);
    *ctx = NULL;
}

// ---------------------------------------------------------------- HKDF

/*
 * HKDF-SHA256 (RFC 5869 section 2: PRK = HMAC(salt, IKM), then
 * T(i) = HMAC(PRK, T(i-1) || info || i)) through OpenSSL 3's EVP_KDF "HKDF"
 * in the default EXTRACT_AND_EXPAND mode.  An absent salt is simply not
 * passed: OpenSSL then uses HashLen zero bytes, exactly as RFC 5869 2.2
 * prescribes (test case 3 checks this).
 */
fs_err fs_hkdf_sha256(const uint8_t *ikm, size_t ikm_len,
                      const uint8_t *salt, size_t salt_len,
                      const uint8_t *info, size_t info_len,
                      uint8_t *out, size_t outlen)
{
    fs_err rc = FS_OK;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[5];
    size_t np = 0;
    char digest[] = "SHA256";

    if (!ikm || ikm_len == 0) return fs_error_set(FS_ERR_ARG, "HKDF: empty input key material");
    if (!out || outlen == 0 || outlen > FS_HKDF_SHA256_MAXBYTES)
        return fs_error_set(FS_ERR_ARG, "HKDF: output length %zu not in 1..%d", outlen,
                            FS_HKDF_SHA256_MAXBYTES);
    if ((salt_len && !salt) || (info_len && !info))
        return fs_error_set(FS_ERR_ARG, "HKDF: NULL salt or info with nonzero length");
    FS_TRY(fs_crypto_init());
    fs_ssl_clear();

    kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
    if (!kdf) FS_TRY(fs_from_ssl("EVP_KDF_fetch(HKDF)"));
    kctx = EVP_KDF_CTX_new(kdf);
    if (!kctx) FS_TRY(fs_from_ssl("EVP_KDF_CTX_new"));

    params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len)
        params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                                         salt_len);
    if (info_len)
        params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                         info_len);
    params[np] = OSSL_PARAM_construct_end();

    /* EVP_KDF_derive returns 1 on success and 0 or a negative value on error. */
    FS_SSL(EVP_KDF_derive(kctx, out, outlen, params));
done:
    if (rc != FS_OK && out && outlen <= FS_HKDF_SHA256_MAXBYTES) fs_secure_zero(out, outlen);
    EVP_KDF_CTX_free(kctx);  /* cleanses the PRK and the copied key */
    EVP_KDF_free(kdf);
    return rc;
}

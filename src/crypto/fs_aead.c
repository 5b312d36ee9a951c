/*
 * fs_aead.c - AES-256-GCM authenticated encryption (NIST SP 800-38D) over
 * OpenSSL EVP, for point-to-point messages between institutions.
 *
 * Crypto layer (no MPI).  A sealed message is ciphertext || 16-byte tag.
 * The 96-bit nonce is the caller's: every (key, nonce) pair must be used
 * at most once (GCM loses both confidentiality and integrity otherwise);
 * the callers derive one key per direction of a link and count messages.
 * Lengths beyond INT_MAX are processed in several EVP_*Update calls, which
 * GCM allows (the stream is the same); SP 800-38D caps one message at
 * 2^39 - 256 bits, which is enforced.
 */
#include <limits.h>
#include <string.h>
#include <openssl/evp.h>
#include "crypto/fs_crypto_impl.h"

/* SP 800-38D, section 5.2.1.1: len(P) <= 2^39 - 256 bits. */
#define GCM_MAX_BYTES ((UINT64_C(1) << 36) - 32)

typedef int (*update_fn)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);

/* Feed n bytes through update (aad when out == NULL), in INT_MAX pieces. */
static fs_err feed(EVP_CIPHER_CTX *ctx, update_fn update, uint8_t *out, const uint8_t *in,
                   size_t n, const char *what)
{
    size_t off = 0;
    while (off < n) {
        size_t c = n - off > (size_t)INT_MAX ? (size_t)INT_MAX : n - off;
        int got = 0;
        if (update(ctx, out ? out + off : NULL, &got, in + off, (int)c) != 1 ||
            (out && (size_t)got != c))
            return fs_from_ssl(what);
        off += c;
    }
    return FS_OK;
}

static fs_err check_args(const uint8_t *key, const uint8_t *nonce, const void *aad,
                         size_t aad_len, const void *in, size_t len, const void *out)
{
    if (!key || !nonce || (aad_len && !aad) || (len && !in) || !out)
        return fs_error_set(FS_ERR_ARG, "AEAD: NULL argument");
    if ((uint64_t)len > GCM_MAX_BYTES)
        return fs_error_set(FS_ERR_ARG, "AEAD: message of %zu bytes exceeds the GCM limit", len);
    return FS_OK;
}

fs_err fs_aead_seal(const uint8_t key[FS_AEAD_KEYBYTES], const uint8_t nonce[FS_AEAD_NONCEBYTES],
                    const void *aad, size_t aad_len, const void *in, size_t len, uint8_t *out)
{
    fs_err rc = FS_OK;
    EVP_CIPHER_CTX *ctx = NULL;
    FS_TRY(check_args(key, nonce, aad, aad_len, in, len, out));
    FS_TRY(fs_crypto_init());
    fs_ssl_clear();
    if (!(ctx = EVP_CIPHER_CTX_new())) FS_TRY(fs_from_ssl("EVP_CIPHER_CTX_new"));
    FS_SSL(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce));
    FS_TRY(feed(ctx, EVP_EncryptUpdate, NULL, aad, aad_len, "EVP_EncryptUpdate(aad)"));
    FS_TRY(feed(ctx, EVP_EncryptUpdate, out, in, len, "EVP_EncryptUpdate"));
    int fin = 0;
    FS_SSL(EVP_EncryptFinal_ex(ctx, out + len, &fin));
    FS_SSL(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, FS_AEAD_TAGBYTES, out + len));
done:
    EVP_CIPHER_CTX_free(ctx);   /* cleanses the key schedule */
    return rc;
}

fs_err fs_aead_open(const uint8_t key[FS_AEAD_KEYBYTES], const uint8_t nonce[FS_AEAD_NONCEBYTES],
                    const void *aad, size_t aad_len, const uint8_t *in, size_t len, void *out)
{
    fs_err rc = FS_OK;
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t tag[FS_AEAD_TAGBYTES];
    if (len < FS_AEAD_TAGBYTES) return fs_error_set(FS_ERR_AUTH, "AEAD: authentication failed");
    size_t plen = len - FS_AEAD_TAGBYTES;
    FS_TRY(check_args(key, nonce, aad, aad_len, in, plen, out));
    FS_TRY(fs_crypto_init());
    fs_ssl_clear();
    memcpy(tag, in + plen, sizeof tag);   /* out may alias in */
    if (!(ctx = EVP_CIPHER_CTX_new())) FS_TRY(fs_from_ssl("EVP_CIPHER_CTX_new"));
    FS_SSL(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce));
    FS_TRY(feed(ctx, EVP_DecryptUpdate, NULL, aad, aad_len, "EVP_DecryptUpdate(aad)"));
    FS_TRY(feed(ctx, EVP_DecryptUpdate, out, in, plen, "EVP_DecryptUpdate"));
    FS_SSL(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, FS_AEAD_TAGBYTES, tag));
    int fin = 0;
    if (EVP_DecryptFinal_ex(ctx, (uint8_t *)out + plen, &fin) != 1) {
        fs_ssl_clear();
        fs_secure_zero(out, plen);   /* never hand out unauthenticated plaintext */
        FS_FAIL(FS_ERR_AUTH, "AEAD: authentication failed");
    }
done:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

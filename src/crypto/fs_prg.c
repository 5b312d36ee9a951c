/*
 * fs_prg.c - the mask PRG of the secure sum: AES-128-CTR keystream from a
 * 32-byte pairwise seed (crypto layer; no MPI).  DESIGN.md section 3,
 * round step 2: "AES-CTR(s_ij, nonce = round || vector id)".
 *
 * Key: the seed s_ij is an HKDF-SHA256 output (uniform), so the AES-128
 * key is simply seed[0..15]; seed[16..31] is unused.  Both ends of a pair
 * hold the same seed and therefore produce the same keystream; one adds it
 * and the other subtracts it (fs_masker.c).
 *
 * Nonce: the initial 128-bit counter block is
 *     round (big-endian 64) || vector_id (big-endian 32) || 0 (32 bits)
 * OpenSSL's CTR mode increments the whole block as a big-endian integer;
 * we stop each (round, vector_id) stream after 2^32 blocks (64 GiB), so the
 * increment never carries into the vector id and distinct nonces give
 * disjoint counter ranges, i.e. independent keystreams.
 *
 * Keystream = AES-CTR encryption of zeros, read from a constant zero block
 * (ZERO_BYTES) so no memset is needed: loading zeros from L1 is cheaper
 * than storing them first.  One
 * EVP_CIPHER_CTX per generator holds the key schedule for its lifetime; a
 * new nonce only re-initializes the IV.
 */
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "crypto/fs_prg.h"

#define RATE_BUF  ((size_t)16 << 10)    /* 16 KiB, like `openssl speed`   */
#define RATE_SLICE 64                   /* RATE_BUF calls per timed slice */
#define ZERO_BYTES ((size_t)16 << 10)   /* plaintext block of zeros       */

static const uint8_t zeros[ZERO_BYTES];   /* (ZERO_BYTES) all 0, read only */

/* libcrypto success is exactly 1 (STYLE.md P4, P15.5); needs rc and done:. */
#define PRG_SSL(call, what)                                                \
    do { if ((call) != 1) { rc = ssl_fail(what); goto done; } } while (0)

struct fs_prg {
    EVP_CIPHER_CTX *ctx;    /* secret: AES-128 key schedule + counter state */
    uint64_t used;          /* keystream bytes since the last nonce          */
    int have_nonce;         /* 0 until a nonce (or KAT key/IV) is set        */
};

/* Drain the OpenSSL error queue into the message buffer (STYLE.md P4). */
static fs_err ssl_fail(const char *what)
{
    char buf[256] = "no OpenSSL error queued";
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0)
        last = e;
    if (last)
        ERR_error_string_n(last, buf, sizeof buf);
    return fs_error_set(FS_ERR_CRYPTO, "mask PRG: %s failed: %s", what, buf);
}

size_t fs_prg_seedbytes(void) { return FS_PRG_SEEDBYTES; }

void fs_prg_nonce_iv(uint8_t iv[16], uint64_t round, uint32_t vector_id)
{
    for (int b = 0; b < 8; b++)
        iv[b] = (uint8_t)(round >> (56 - 8 * b));
    for (int b = 0; b < 4; b++)
        iv[8 + b] = (uint8_t)(vector_id >> (24 - 8 * b));
    memset(iv + 12, 0, 4);
}

fs_err fs_prg_create(const uint8_t seed[FS_PRG_SEEDBYTES], fs_prg **out)
{
    fs_err rc = FS_OK;
    fs_prg *prg = NULL;
    FS_CHECK_ARG(out, "fs_prg_create: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(seed, "fs_prg_create: seed is NULL");
    FS_TRY(fs_zalloc(&prg, 1, sizeof *prg, "mask PRG"));
    PRG_SSL((prg->ctx = EVP_CIPHER_CTX_new()) != NULL, "EVP_CIPHER_CTX_new");
    // Key = seed[0..15]; no IV yet (fs_prg_set_nonce sets it).
    PRG_SSL(EVP_EncryptInit_ex(prg->ctx, EVP_aes_128_ctr(), NULL, seed, NULL),
            "EVP_EncryptInit_ex(AES-128-CTR key)");
    *out = prg;
    prg = NULL;
done:
    fs_prg_destroy(&prg);
    return rc;
}

void fs_prg_destroy(fs_prg **p)
{
    if (!p || !*p)
        return;
    // EVP_CIPHER_CTX_free cleanses the provider's key schedule.
    EVP_CIPHER_CTX_free((*p)->ctx);
    fs_secure_zero(*p, sizeof **p);
    free(*p);
    *p = NULL;
}

fs_err fs_prg_set_nonce(fs_prg *prg, uint64_t round, uint32_t vector_id)
{
    fs_err rc = FS_OK;
    uint8_t iv[16];
    FS_CHECK_ARG(prg, "fs_prg_set_nonce: prg is NULL");
    fs_prg_nonce_iv(iv, round, vector_id);
    prg->have_nonce = 0;
    PRG_SSL(EVP_EncryptInit_ex(prg->ctx, NULL, NULL, NULL, iv), "EVP_EncryptInit_ex(IV)");
    prg->used = 0;
    prg->have_nonce = 1;
done:
    return rc;
}

fs_err fs_prg_set_key_iv(fs_prg *prg, const uint8_t key[16], const uint8_t iv[16])
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(prg && key && iv, "fs_prg_set_key_iv: NULL argument");
    prg->have_nonce = 0;
    PRG_SSL(EVP_EncryptInit_ex(prg->ctx, NULL, NULL, key, iv), "EVP_EncryptInit_ex(key, IV)");
    prg->used = 0;
    prg->have_nonce = 1;
done:
    return rc;
}

fs_err fs_prg_generate(fs_prg *prg, void *out, size_t nbytes)
{
    fs_err rc = FS_OK;
    uint8_t *o = out;
    FS_CHECK_ARG(prg, "fs_prg_generate: prg is NULL");
    FS_CHECK_ARG(prg->have_nonce, "fs_prg_generate: no nonce set (call fs_prg_set_nonce)");
    FS_CHECK_ARG(nbytes == 0 || out, "fs_prg_generate: out is NULL");
    FS_CHECK_ARG(nbytes <= FS_PRG_MAXBYTES - prg->used,
                 "mask PRG: %zu more bytes would exceed the 2^32-block (64 GiB) limit of "
                 "one (round, vector id) keystream (%llu bytes already used)",
                 nbytes, (unsigned long long)prg->used);
    while (nbytes > 0) {
        size_t len = nbytes < ZERO_BYTES ? nbytes : ZERO_BYTES;
        int outl = 0;
        PRG_SSL(EVP_EncryptUpdate(prg->ctx, o, &outl, zeros, (int)len), "EVP_EncryptUpdate");
        if ((size_t)outl != len)
            FS_FAIL(FS_ERR_CRYPTO, "mask PRG: EVP_EncryptUpdate returned %d of %zu bytes",
                    outl, len);
        prg->used += len;
        o += len;
        nbytes -= len;
    }
done:
    return rc;
}

fs_err fs_prg_openssl_rate(size_t nbytes, double *bytes_per_sec)
{
    fs_err rc = FS_OK;
    static const uint8_t key[16] = { 0x2b, 0x7e, 0x15, 0x16 }, iv[16] = { 0 };
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t *buf = NULL;            // (RATE_BUF) bytes, public test data
    double best = 0;
    FS_CHECK_ARG(bytes_per_sec, "fs_prg_openssl_rate: bytes_per_sec is NULL");
    *bytes_per_sec = 0;
    if (nbytes == 0)
        nbytes = (size_t)64 << 20;
    FS_TRY(fs_zalloc(&buf, RATE_BUF, 1, "AES-CTR rate buffer"));
    PRG_SSL((ctx = EVP_CIPHER_CTX_new()) != NULL, "EVP_CIPHER_CTX_new");
    PRG_SSL(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, iv), "EVP_EncryptInit_ex");
    // One untimed warm-up slice, then timed slices; the best slice wins,
    // which makes the figure robust to other load on the machine.
    size_t nslices = 1 + (nbytes + RATE_SLICE * RATE_BUF - 1) / (RATE_SLICE * RATE_BUF);
    for (size_t sl = 0; sl < nslices; sl++) {
        double t0 = fs_now();
        for (int r = 0; r < RATE_SLICE; r++) {
            int outl = 0;
            PRG_SSL(EVP_EncryptUpdate(ctx, buf, &outl, buf, (int)RATE_BUF), "EVP_EncryptUpdate");
        }
        double dt = fs_now() - t0;
        if (sl > 0 && dt > 0 && RATE_SLICE * RATE_BUF / dt > best)
            best = RATE_SLICE * RATE_BUF / dt;
    }
    *bytes_per_sec = best;
done:
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    return rc;
}

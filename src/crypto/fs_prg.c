/*
 * fs_prg.c - the mask PRG of the secure sum: AES-128-CTR keystream from a
 * 32-byte pairwise seed (crypto layer; no MPI): the masks of
 * docs/protocol.md are AES-CTR(s_ij, nonce = round || vector id).
 *
 * Key: the seed s_ij is an HKDF-SHA256 output (uniform), so the AES-128
 * key is simply seed[0..15]; seed[16..31] is unused.  Both ends of a pair
 * hold the same seed and therefore produce the same keystream; one adds it
 * and the other subtracts it (fs_masker.c).
 *
 * Nonce: the initial 128-bit counter block is
 *     round (big-endian 64) || vector_id (big-endian 32) || 0 (32 bits)
 * CTR mode increments the whole block as a big-endian integer; we stop
 * each (round, vector_id) stream after 2^32 blocks (64 GiB), so the
 * increment never carries into the vector id and distinct nonces give
 * disjoint counter ranges, i.e. independent keystreams.
 *
 * Several implementations of the same keystream, chosen per generator at
 * fs_prg_create (environment FEDSILO_PRG = auto | openssl | vaes |
 * vaes-avx512 | vaes-avx2 | aesni; auto and vaes take the widest the CPU
 * has):
 *  - "vaes-avx512", "vaes-avx2", "aesni" (fs_aesctr.c): four, two or one
 *    block per AES instruction, keystream added into the ring words
 *    straight from registers (fs_prg_apply);
 *  - "openssl": EVP AES-128-CTR encryption of zeros, read from a constant
 *    zero block (ZERO_BYTES) so no memset is needed; fs_prg_apply stores
 *    the keystream in a scratch block and adds it in a second pass.  One
 *    EVP_CIPHER_CTX per generator holds the key schedule for its
 *    lifetime; a new nonce only re-initializes the IV.
 * Both are checked against each other and against NIST SP 800-38A F.5.1.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "crypto/fs_prg_impl.h"

#define RATE_BUF  ((size_t)16 << 10)    /* 16 KiB, like `openssl speed`   */
#define RATE_SLICE 64                   /* RATE_BUF calls per timed slice */
#define ZERO_BYTES ((size_t)16 << 10)   /* plaintext block of zeros       */
#define SCRATCH_BYTES ZERO_BYTES        /* OpenSSL path's keystream block  */

static const uint8_t zeros[ZERO_BYTES];   /* (ZERO_BYTES) all 0, read only */

/* libcrypto success is exactly 1 (not a boolean); needs rc and done:. */
#define PRG_SSL(call, what)                                                \
    do { if ((call) != 1) { rc = ssl_fail(what); goto done; } } while (0)

struct fs_prg {
    int fast;               /* FS_AESCTR_* kernel of fs_aesctr.c; 0: OpenSSL */
    EVP_CIPHER_CTX *ctx;    /* (openssl) secret: key schedule + counter state */
    fs_aes128_key key;      /* (fast) secret: expanded AES-128 key            */
    uint8_t iv[16];         /* (fast) initial counter block of this nonce     */
    unsigned char *scratch; /* (openssl, SCRATCH_BYTES) secret keystream for
                               fs_prg_apply; NULL until first used            */
    int scratch_dirty;      /* scratch holds keystream not yet wiped          */
    uint64_t used;          /* keystream bytes since the last nonce          */
    int have_nonce;         /* 0 until a nonce (or KAT key/IV) is set        */
};

/* Drain the OpenSSL error queue into the message buffer. */
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

/* The widest kernel in `set` (bits 1u << FS_AESCTR_*), 0 if none. */
static int widest(unsigned set)
{
    for (int k = FS_AESCTR_VAES_AVX512; k >= FS_AESCTR_AESNI; k--)
        if (set & (1u << k))
            return k;
    return 0;
}

/* The kernel FEDSILO_PRG asks for (auto: the widest available, else
 * OpenSSL); FS_ERR_ARG for an unknown name or one this CPU cannot run. */
static fs_err choose_kernel(int *kernel)
{
    fs_err rc = FS_OK;
    const unsigned have = fs_aesctr_available();
    const unsigned vaes = (1u << FS_AESCTR_VAES_AVX2) | (1u << FS_AESCTR_VAES_AVX512);
    const char *impl = getenv("FEDSILO_PRG");
    if (!impl || !*impl || !strcmp(impl, "auto")) {
        *kernel = widest(have);
        goto done;
    }
    if (!strcmp(impl, "openssl")) {
        *kernel = 0;
        goto done;
    }
    *kernel = !strcmp(impl, "vaes") ? widest(have & vaes) : -1;
    for (int k = FS_AESCTR_AESNI; k <= FS_AESCTR_VAES_AVX512; k++)
        if (!strcmp(impl, fs_aesctr_name(k)))
            *kernel = (have & (1u << k)) ? k : 0;
    FS_CHECK_ARG(*kernel >= 0, "mask PRG: FEDSILO_PRG=%s is not one of auto, openssl, vaes, "
                 "vaes-avx512, vaes-avx2, aesni", impl);
    FS_CHECK_ARG(*kernel > 0, "mask PRG: FEDSILO_PRG=%s but this CPU (or OS) lacks the "
                 "instructions (AES-NI and AVX; VAES and AVX2; AVX-512F/BW); use "
                 "FEDSILO_PRG=auto", impl);
done:
    return rc;
}

fs_err fs_prg_create(const uint8_t seed[FS_PRG_SEEDBYTES], fs_prg **out)
{
    fs_err rc = FS_OK;
    fs_prg *prg = NULL;
    FS_CHECK_ARG(out, "fs_prg_create: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(seed, "fs_prg_create: seed is NULL");
    int kernel = 0;
    FS_TRY(choose_kernel(&kernel));
    FS_TRY(fs_zalloc(&prg, 1, sizeof *prg, "mask PRG"));
    prg->fast = kernel;
    if (prg->fast) {
        // Key = seed[0..15]; no IV yet (fs_prg_set_nonce sets it).
        fs_aes128_expand(seed, &prg->key);
    } else {
        PRG_SSL((prg->ctx = EVP_CIPHER_CTX_new()) != NULL, "EVP_CIPHER_CTX_new");
        PRG_SSL(EVP_EncryptInit_ex(prg->ctx, EVP_aes_128_ctr(), NULL, seed, NULL),
                "EVP_EncryptInit_ex(AES-128-CTR key)");
    }
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
    if ((*p)->scratch)
        fs_secure_zero((*p)->scratch, SCRATCH_BYTES);
    free((*p)->scratch);
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
    if (prg->fast)
        memcpy(prg->iv, iv, sizeof iv);
    else
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
    if (prg->fast) {
        fs_aes128_expand(key, &prg->key);
        memcpy(prg->iv, iv, 16);
    } else {
        PRG_SSL(EVP_EncryptInit_ex(prg->ctx, NULL, NULL, key, iv), "EVP_EncryptInit_ex(key, IV)");
    }
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
    if (prg->fast) {
        fs_aesctr_apply(prg->fast, &prg->key, prg->iv, prg->used, out, nbytes, FS_KS_STORE);
        prg->used += nbytes;
        goto done;
    }
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

/*
 * o[k] += ks[k] or o[k] -= ks[k] (mod 2^b) for k < len words (OpenSSL
 * path only).  Written with GCC/Clang vector extensions (32-byte vectors,
 * unaligned-safe memcpy loads) because -O2 does not vectorize loops with
 * a remainder, and cloned for AVX2 where the compiler supports function
 * multi-versioning (ifunc): a scalar loop costs about half as much as the
 * AES itself, the AVX2 loop about a seventh.
 */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
#define FS_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FS_SIMD_CLONES
#endif

typedef uint32_t v8u32 __attribute__((vector_size(32)));
typedef uint64_t v4u64 __attribute__((vector_size(32)));

FS_SIMD_CLONES
static void apply_keystream(void *o, const void *ks, size_t len, int is32, int add)
{
    unsigned char *a = o;
    const unsigned char *k = ks;
    const size_t wb = is32 ? 4 : 8, nvec = len * wb / 32;
    for (size_t v = 0; v < nvec; v++) {
        unsigned char *pa = a + 32 * v;
        const unsigned char *pk = k + 32 * v;
        if (is32) {
            v8u32 x, y;
            memcpy(&x, pa, 32);
            memcpy(&y, pk, 32);
            x = add ? x + y : x - y;
            memcpy(pa, &x, 32);
        } else {
            v4u64 x, y;
            memcpy(&x, pa, 32);
            memcpy(&y, pk, 32);
            x = add ? x + y : x - y;
            memcpy(pa, &x, 32);
        }
    }
    for (size_t w = nvec * 32 / wb; w < len; w++) {
        if (is32)
            ((uint32_t *)o)[w] += add ? ((const uint32_t *)ks)[w] : -((const uint32_t *)ks)[w];
        else
            ((uint64_t *)o)[w] += add ? ((const uint64_t *)ks)[w] : -((const uint64_t *)ks)[w];
    }
}

fs_err fs_prg_apply(fs_prg *prg, void *words, size_t nwords, int ring_bits, int add)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(prg, "fs_prg_apply: prg is NULL");
    FS_CHECK_ARG(ring_bits == 32 || ring_bits == 64, "fs_prg_apply: ring width %d is not 32 "
                 "or 64", ring_bits);
    FS_CHECK_ARG(nwords == 0 || words, "fs_prg_apply: words is NULL");
    FS_CHECK_ARG(prg->have_nonce, "fs_prg_apply: no nonce set (call fs_prg_set_nonce)");
    const size_t wb = (size_t)ring_bits / 8;
    FS_CHECK_ARG(prg->used % wb == 0, "fs_prg_apply: stream position %llu is not a multiple "
                 "of the %zu-byte word", (unsigned long long)prg->used, wb);
    // Checked before any word changes, so a refusal never leaves the
    // vector partly masked.
    FS_CHECK_ARG(nwords <= (FS_PRG_MAXBYTES - prg->used) / wb,
                 "mask PRG: %zu more words would exceed the 2^32-block (64 GiB) limit of one "
                 "(round, vector id) keystream (%llu bytes already used)",
                 nwords, (unsigned long long)prg->used);
    if (prg->fast) {
        const int op = ring_bits == 32 ? (add ? FS_KS_ADD32 : FS_KS_SUB32)
                                       : (add ? FS_KS_ADD64 : FS_KS_SUB64);
        fs_aesctr_apply(prg->fast, &prg->key, prg->iv, prg->used, words, nwords * wb, op);
        prg->used += nwords * wb;
        goto done;
    }
    if (!prg->scratch)
        FS_TRY(fs_zalloc(&prg->scratch, SCRATCH_BYTES, 1, "mask PRG keystream block"));
    for (size_t off = 0; off < nwords;) {
        const size_t len = nwords - off < SCRATCH_BYTES / wb ? nwords - off : SCRATCH_BYTES / wb;
        prg->scratch_dirty = 1;
        // secret: scratch = the next len words of keystream
        FS_TRY(fs_prg_generate(prg, prg->scratch, len * wb));
        apply_keystream((unsigned char *)words + off * wb, prg->scratch, len, ring_bits == 32,
                        add);
        off += len;
    }
done:
    return rc;
}

void fs_prg_wipe_scratch(fs_prg *prg)
{
    if (prg && prg->scratch && prg->scratch_dirty) {
        fs_secure_zero(prg->scratch, SCRATCH_BYTES);
        prg->scratch_dirty = 0;
    }
}

const char *fs_prg_kernel(const fs_prg *prg)
{
    return fs_aesctr_name(prg ? prg->fast : 0);
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

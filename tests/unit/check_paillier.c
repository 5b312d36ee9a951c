/*
 * check_paillier.c - Paillier encryption with the DJN randomizer: key
 * sizes, round trips (zero, negatives, extremes) through the public path
 * and the owner's CRT + fixed-base-table path (a wrong table entry would
 * make the randomizer a non-n-th-residue and break decryption), homomorphic
 * addition and signed scalar multiplication against plain int64 arithmetic
 * over many random values, the homomorphic dot product and the Straus
 * linear combination against exact sums, packed slots (signed values,
 * negative top slot, sums up to the slot headroom) through a linear
 * combination, ciphertext randomization, serialization of keys (n || h_s)
 * and ciphertexts with the malformed-key checks, and decryption under the
 * wrong key.  1024-bit keys except one 2048-bit key generation.
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
    ck_assert_int_eq(fs_paillier_keygen(512, &k), FS_ERR_ARG);   /* below FS_PAILLIER_MIN_BITS */
    ck_assert_uint_eq(fs_paillier_pub_export_bytes(pk), 3 * 128);
    ck_assert_int_eq(fs_paillier_slots(pk, 85), 1022 / 85);
    ck_assert_int_eq(fs_paillier_slots(pk, 1), 0);
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

START_TEST(dot_and_lincomb)
{
    enum { R = 30, C = 4 };
    fs_rng r;
    fs_rng_seed(&r, 7);
    int64_t M[R * C], x[R], want[C] = { 0 };
    fs_paillier_vec *c = NULL, *o = NULL, *cm = NULL;
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
    for (int j = 0; j < C; j++) {
        int64_t m;
        ck_assert_int_eq(fs_paillier_decrypt(key1, o, j, &m), FS_OK);
        ck_assert_int_eq(m, want[j]);
    }
    /* lincomb: the matrix M encrypted row-major (cm[i C + j] = Enc(M[i, j])),
     * coefficients x on a subset of rows in a shuffled order, with zeros,
     * +-1 and 25-bit values of both signs. */
    ck_assert_int_eq(fs_paillier_vec_create_keyed(key1, R * C, &cm), FS_OK);
    for (int i = 0; i < R * C; i++) ck_assert_int_eq(fs_paillier_encrypt(cm, i, M[i]), FS_OK);
    uint32_t rows[R];
    int64_t k[R], want2[C] = { 0 };
    size_t cnt = 0;
    for (int i = R - 1; i >= 0; i -= 2) {
        rows[cnt] = (uint32_t)i;
        k[cnt] = cnt == 0 ? 0 : cnt == 1 ? 1 : cnt == 2 ? -1 : rnd(&r, 25);
        for (int j = 0; j < C; j++) want2[j] += k[cnt] * M[i * C + j];
        cnt++;
    }
    ck_assert_int_eq(fs_paillier_lincomb(cm, C, rows, k, cnt, o), FS_OK);
    for (int j = 0; j < C; j++) {
        int64_t m;
        ck_assert_int_eq(fs_paillier_decrypt(key1, o, j, &m), FS_OK);
        ck_assert_int_eq(m, want2[j]);
    }
    /* all coefficients negative, and the empty combination (Enc(0)) */
    for (size_t t = 0; t < cnt; t++) k[t] = -llabs(k[t]) - 1;
    for (int j = 0; j < C; j++) want2[j] = 0;
    for (size_t t = 0; t < cnt; t++)
        for (int j = 0; j < C; j++) want2[j] += k[t] * M[rows[t] * C + j];
    ck_assert_int_eq(fs_paillier_lincomb(cm, C, rows, k, cnt, o), FS_OK);
    for (int j = 0; j < C; j++) {
        int64_t m;
        ck_assert_int_eq(fs_paillier_decrypt(key1, o, j, &m), FS_OK);
        ck_assert_int_eq(m, want2[j]);
    }
    ck_assert_int_eq(fs_paillier_lincomb(cm, C, rows, k, 0, o), FS_OK);
    int64_t m0 = 1;
    ck_assert_int_eq(fs_paillier_decrypt(key1, o, 0, &m0), FS_OK);
    ck_assert_int_eq(m0, 0);
    rows[0] = R;   /* out of range */
    ck_assert_int_eq(fs_paillier_lincomb(cm, C, rows, k, 1, o), FS_ERR_ARG);
    fs_paillier_vec_destroy(&c);
    fs_paillier_vec_destroy(&o);
    fs_paillier_vec_destroy(&cm);
}
END_TEST

/*
 * Packed slots as vertical training uses them: rows of 6 signed 20-bit
 * values in slots of 85 bits, combined with 25-bit signed coefficients;
 * every decoded slot equals the exact integer sum (below 2^53, so the
 * double is exact).  Then the extremes of the centred digits: a slot of
 * exactly -2^(s-2) + 1 next to +2^(s-2) - 1, and a negative top slot.
 */
START_TEST(packed_slots)
{
    enum { R = 40, D = 6, S = 85 };
    fs_rng r;
    fs_rng_seed(&r, 11);
    const fs_paillier_pub *pk = fs_paillier_key_public(key1);
    fs_paillier_vec *up = NULL, *o = NULL;
    ck_assert_int_eq(fs_paillier_vec_create_keyed(key1, R, &up), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_create(pk, 1, &o), FS_OK);
    int64_t X[R][D], k[R], want[D] = { 0 };
    uint32_t rows[R];
    for (int i = 0; i < R; i++) {
        for (int j = 0; j < D; j++) X[i][j] = rnd(&r, 20);
        ck_assert_int_eq(fs_paillier_encrypt_packed(up, i, X[i], D, S), FS_OK);
        rows[i] = (uint32_t)(R - 1 - i);
        k[i] = rnd(&r, 25);
    }
    for (int t = 0; t < R; t++)
        for (int j = 0; j < D; j++) want[j] += k[t] * X[rows[t]][j];
    ck_assert_int_eq(fs_paillier_lincomb(up, 1, rows, k, R, o), FS_OK);
    ck_assert_int_eq(fs_paillier_rerandomize(o, 0), FS_OK);
    double got[D];
    ck_assert_int_eq(fs_paillier_decrypt_packed(key1, o, 0, D, S, 0, got), FS_OK);
    for (int j = 0; j < D; j++) ck_assert(got[j] == (double)want[j]);
    ck_assert_int_eq(fs_paillier_decrypt_packed(key1, o, 0, D, S, 10, got), FS_OK);
    for (int j = 0; j < D; j++) ck_assert(got[j] == ldexp((double)want[j], -10));
    /* extremes: slot width 40, values +-(2^38 - 1) and a negative top slot */
    int64_t e[25];
    int ns = fs_paillier_slots(pk, 40);
    ck_assert_int_eq(ns, 25);
    for (int j = 0; j < ns; j++) e[j] = (j % 2 ? -1 : 1) * (((int64_t)1 << 38) - 1 - j);
    e[ns - 1] = -5;
    ck_assert_int_eq(fs_paillier_encrypt_packed(up, 0, e, (size_t)ns, 40), FS_OK);
    double ge[25];
    ck_assert_int_eq(fs_paillier_decrypt_packed(key1, up, 0, (size_t)ns, 40, 0, ge), FS_OK);
    for (int j = 0; j < ns; j++) ck_assert(ge[j] == (double)e[j]);
    /* refused: too many slots, a value that does not fit its slot */
    ck_assert_int_eq(fs_paillier_encrypt_packed(up, 0, e, (size_t)ns + 1, 40), FS_ERR_ARG);
    e[0] = (int64_t)1 << 39;
    ck_assert_int_eq(fs_paillier_encrypt_packed(up, 0, e, 1, 40), FS_ERR_ARG);
    fs_paillier_vec_destroy(&up);
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
    uint8_t *buf = malloc(2 * cb), pkb[3 * 128];
    size_t pkl = fs_paillier_pub_export_bytes(pk);
    ck_assert_int_eq(fs_paillier_vec_export(v, 0, 2, buf, 2 * cb), FS_OK);
    ck_assert(memcmp(buf, buf + cb, cb) != 0);          /* same m, different c */
    ck_assert_int_eq(fs_paillier_vec_export(v, 1, 2, buf, 2 * cb), FS_ERR_ARG);
    /* public key and ciphertexts survive a byte round trip */
    ck_assert_int_eq(fs_paillier_pub_export(pk, pkb, nb), FS_ERR_ARG);
    ck_assert_int_eq(fs_paillier_pub_export(pk, pkb, pkl), FS_OK);
    fs_paillier_pub *pk2 = NULL;
    ck_assert_int_eq(fs_paillier_pub_import(pkb, pkl, &pk2), FS_OK);
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
    /* an encryption by the importer (public DJN path) decrypts too */
    ck_assert_int_eq(fs_paillier_encrypt(w, 1, -987654321), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_export(w, 1, 1, buf, cb), FS_OK);
    ck_assert_int_eq(fs_paillier_vec_import(v, 1, 1, buf, cb), FS_OK);
    ck_assert_int_eq(fs_paillier_decrypt(key1, v, 1, &m), FS_OK);
    ck_assert_int_eq(m, -987654321);
    memset(buf, 0xff, cb);                                         /* >= n^2 */
    ck_assert_int_eq(fs_paillier_vec_import(w, 0, 1, buf, cb), FS_ERR_DATA);
    fs_paillier_pub *bad = NULL;
    ck_assert_int_eq(fs_paillier_pub_import(pkb, nb, &bad), FS_ERR_DATA);   /* no h_s */
    ck_assert_int_eq(fs_paillier_pub_import(pkb, pkl - 1, &bad), FS_ERR_DATA);
    uint8_t hs[2 * 128];
    memcpy(hs, pkb + nb, sizeof hs);
    memset(pkb + nb, 0, 2 * nb);
    pkb[pkl - 1] = 1;                                              /* h_s = 1 */
    ck_assert_int_eq(fs_paillier_pub_import(pkb, pkl, &bad), FS_ERR_DATA);
    memset(pkb + nb, 0, 2 * nb);
    memcpy(pkb + 2 * nb, pkb, nb);                                 /* h_s = n: not a unit */
    ck_assert_int_eq(fs_paillier_pub_import(pkb, pkl, &bad), FS_ERR_DATA);
    memset(pkb + nb, 0xff, 2 * nb);                                /* h_s >= n^2 */
    ck_assert_int_eq(fs_paillier_pub_import(pkb, pkl, &bad), FS_ERR_DATA);
    memcpy(pkb + nb, hs, sizeof hs);
    pkb[nb - 1] &= 0xfe;                                           /* even n */
    ck_assert_int_eq(fs_paillier_pub_import(pkb, pkl, &bad), FS_ERR_DATA);
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
    tcase_add_test(tc, dot_and_lincomb);
    tcase_add_test(tc, packed_slots);
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

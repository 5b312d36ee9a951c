/*
 * paillier_bench.c - cost of the Paillier operations used by vertical
 * training, at 2048 bits (or argv[1] bits, argv[2] operations per line):
 * key generation; encryption before (the classic r^n mod n^2 with r uniform
 * in Z_n^*, recomputed here with GMP from the public n: the path fedsilo
 * used until the DJN randomizer) and after (DJN h_s^x with a |n|/2-bit x:
 * by a public-key holder, and by the key owner through the CRT and the
 * fixed-base tables); CRT decryption; homomorphic addition; scalar
 * multiplication one term at a time (mpz_powm per term, as fs_paillier_dot
 * does) and as a batched linear combination (Straus, fs_paillier_lincomb)
 * with 25-bit signed coefficients (a residual with 24 fractional bits);
 * re-randomization with an exponentiation and with the fixed-base table of
 * an imported public key (the label holder's path).  Prints one line per operation and the speed-up of the
 * owner's encryption over the classic one measured in the same run; never
 * fails on a threshold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <gmp.h>
#include <fedsilo/fs_core.h>
#include <fedsilo/fs_crypto.h>
#include <fedsilo/fs_paillier.h>

#define CHECK(x) do { if ((x) != FS_OK) { fprintf(stderr, "paillier_bench: %s\n", fs_errmsg()); return 1; } } while (0)

/* The classic encryption (1 + m n) r^n mod n^2, r uniform mod n (the unit
 * test is skipped: a non-unit has probability about 2^-1023). */
static int classic_encrypt(const mpz_t n, const mpz_t n2, long m, mpz_t c)
{
    uint8_t buf[1024 + 8];
    size_t len = (mpz_sizeinbase(n, 2) + 7) / 8 + 8;
    mpz_t r;
    mpz_init(r);
    if (len > sizeof buf || fs_random_bytes(buf, len) != FS_OK) return -1;
    mpz_import(r, len, 1, 1, 1, 0, buf);
    mpz_mod(r, r, n);
    mpz_powm_sec(r, r, n, n2);
    mpz_mul_si(c, n, m);
    mpz_add_ui(c, c, 1);
    mpz_mul(c, c, r);
    mpz_mod(c, c, n2);
    mpz_clear(r);
    return 0;
}

int main(int argc, char **argv)
{
    int bits = argc > 1 ? atoi(argv[1]) : 2048;
    int n = argc > 2 ? atoi(argv[2]) : 200;
    if (n < 2) n = 2;
    CHECK(fs_crypto_init());
    fs_paillier_key *k = NULL;
    double t0 = fs_now();
    CHECK(fs_paillier_keygen(bits, &k));
    printf("paillier %d bits: keygen (+ tables)        %10.3f ms\n", bits, (fs_now() - t0) * 1e3);
    const fs_paillier_pub *pk = fs_paillier_key_public(k);

    /* before: classic r^n with the public key */
    size_t nb = fs_paillier_pub_bytes(pk);
    uint8_t *pkb = malloc(fs_paillier_pub_export_bytes(pk));
    if (!pkb) return 1;
    CHECK(fs_paillier_pub_export(pk, pkb, fs_paillier_pub_export_bytes(pk)));
    mpz_t mn, mn2, c;
    mpz_inits(mn, mn2, c, NULL);
    mpz_import(mn, nb, 1, 1, 1, 0, pkb);
    mpz_mul(mn2, mn, mn);
    free(pkb);
    t0 = fs_now();
    for (int i = 0; i < n; i++)
        if (classic_encrypt(mn, mn2, i * 1000003L - 77, c) != 0) return 1;
    double classic = (fs_now() - t0) * 1e3 / n;
    mpz_clears(mn, mn2, c, NULL);
    printf("paillier %d bits: encrypt, before (r^n)    %10.3f ms/op\n", bits, classic);

    fs_paillier_vec *v = NULL, *vk = NULL, *s = NULL, *out = NULL;
    CHECK(fs_paillier_vec_create(pk, n, &v));
    CHECK(fs_paillier_vec_create_keyed(k, n, &vk));
    CHECK(fs_paillier_vec_create(pk, n, &s));
    CHECK(fs_paillier_vec_create(pk, 1, &out));
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_encrypt(v, i, i * 1000003LL - 77));
    printf("paillier %d bits: encrypt, DJN public      %10.3f ms/op\n", bits,
           (fs_now() - t0) * 1e3 / n);
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_encrypt(vk, i, i * 1000003LL - 77));
    double owner = (fs_now() - t0) * 1e3 / n;
    printf("paillier %d bits: encrypt, DJN owner (CRT) %10.3f ms/op  (%.1fx faster than before)\n",
           bits, owner, classic / owner);
    int64_t m;
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_decrypt(k, v, i, &m));
    printf("paillier %d bits: decrypt (CRT)            %10.3f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    int reps = 20;
    t0 = fs_now();
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++) CHECK(fs_paillier_add(s, i, v, i, vk, i));
    printf("paillier %d bits: add                      %10.4f ms/op\n", bits,
           (fs_now() - t0) * 1e3 / (n * reps));
    /* 25-bit signed coefficients, half of them negative */
    int64_t *coef = malloc((size_t)n * sizeof *coef);
    uint32_t *rows = malloc((size_t)n * sizeof *rows);
    if (!coef || !rows) return 1;
    for (int i = 0; i < n; i++) {
        coef[i] = (int64_t)((i * 2654435761u) & 0x1ffffff) * (i % 2 ? -1 : 1);
        rows[i] = (uint32_t)i;
    }
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_mul(s, i, v, i, coef[i]));
    printf("paillier %d bits: mul, one term (25-bit)   %10.4f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    t0 = fs_now();
    CHECK(fs_paillier_lincomb(v, 1, rows, coef, (size_t)n, out));
    printf("paillier %d bits: lincomb (25-bit)         %10.4f ms/term (%d terms)\n", bits,
           (fs_now() - t0) * 1e3 / n, n);
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_mul(s, i, v, i, (int64_t)0x7edcba9876543210LL - i));
    printf("paillier %d bits: mul (63-bit k)           %10.4f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    int nr = n < 20 ? n : 20;
    t0 = fs_now();
    for (int i = 0; i < nr; i++) CHECK(fs_paillier_rerandomize(s, i));
    printf("paillier %d bits: rerandomize (powm)       %10.3f ms/op\n", bits, (fs_now() - t0) * 1e3 / nr);
    /* the label holder's path: an imported key with a fixed-base table */
    size_t pkl = fs_paillier_pub_export_bytes(pk);
    uint8_t *pkb2 = malloc(pkl);
    fs_paillier_pub *imp = NULL;
    fs_paillier_vec *vi = NULL;
    if (!pkb2) return 1;
    CHECK(fs_paillier_pub_export(pk, pkb2, pkl));
    CHECK(fs_paillier_pub_import(pkb2, pkl, &imp));
    free(pkb2);
    t0 = fs_now();
    CHECK(fs_paillier_pub_precompute(imp));
    printf("paillier %d bits: public table build       %10.3f ms\n", bits, (fs_now() - t0) * 1e3);
    CHECK(fs_paillier_vec_create(imp, (size_t)nr, &vi));
    t0 = fs_now();
    for (int i = 0; i < nr; i++) CHECK(fs_paillier_rerandomize(vi, i));
    printf("paillier %d bits: rerandomize (table)      %10.3f ms/op\n", bits, (fs_now() - t0) * 1e3 / nr);
    fs_paillier_vec_destroy(&vi);
    fs_paillier_pub_destroy(&imp);
    free(coef);
    free(rows);
    fs_paillier_vec_destroy(&v);
    fs_paillier_vec_destroy(&vk);
    fs_paillier_vec_destroy(&s);
    fs_paillier_vec_destroy(&out);
    fs_paillier_key_destroy(&k);
    return 0;
}

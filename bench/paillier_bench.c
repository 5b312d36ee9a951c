/*
 * paillier_bench.c - cost of the Paillier operations used by vertical
 * training, at 2048 bits (or argv[1] bits): key generation, encryption by a
 * public-key holder and by the key holder (CRT), decryption (CRT),
 * homomorphic addition, and scalar multiplication by a 20-bit and a full
 * 64-bit signed scalar.  Prints one line per operation; never fails on a
 * threshold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <fedsilo/fs_core.h>
#include <fedsilo/fs_crypto.h>
#include <fedsilo/fs_paillier.h>

#define CHECK(x) do { if ((x) != FS_OK) { fprintf(stderr, "paillier_bench: %s\n", fs_errmsg()); return 1; } } while (0)

int main(int argc, char **argv)
{
    int bits = argc > 1 ? atoi(argv[1]) : 2048;
    int n = argc > 2 ? atoi(argv[2]) : 200;
    CHECK(fs_crypto_init());
    fs_paillier_key *k = NULL;
    double t0 = fs_now();
    CHECK(fs_paillier_keygen(bits, &k));
    printf("paillier %d bits: keygen            %10.3f ms\n", bits, (fs_now() - t0) * 1e3);
    const fs_paillier_pub *pk = fs_paillier_key_public(k);
    fs_paillier_vec *v = NULL, *vk = NULL, *s = NULL;
    CHECK(fs_paillier_vec_create(pk, n, &v));
    CHECK(fs_paillier_vec_create_keyed(k, n, &vk));
    CHECK(fs_paillier_vec_create(pk, n, &s));
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_encrypt(v, i, i * 1000003LL - 77));
    printf("paillier %d bits: encrypt (public)  %10.3f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_encrypt(vk, i, i * 1000003LL - 77));
    printf("paillier %d bits: encrypt (CRT)     %10.3f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    int64_t m;
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_decrypt(k, v, i, &m));
    printf("paillier %d bits: decrypt (CRT)     %10.3f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    int reps = 20;
    t0 = fs_now();
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++) CHECK(fs_paillier_add(s, i, v, i, vk, i));
    printf("paillier %d bits: add               %10.4f ms/op\n", bits,
           (fs_now() - t0) * 1e3 / (n * reps));
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_mul(s, i, v, i, -(int64_t)(i * 4099 + 524287)));
    printf("paillier %d bits: mul (20-bit k<0)  %10.4f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    t0 = fs_now();
    for (int i = 0; i < n; i++) CHECK(fs_paillier_mul(s, i, v, i, (int64_t)0x7edcba9876543210LL - i));
    printf("paillier %d bits: mul (63-bit k)    %10.4f ms/op\n", bits, (fs_now() - t0) * 1e3 / n);
    fs_paillier_vec_destroy(&v);
    fs_paillier_vec_destroy(&vk);
    fs_paillier_vec_destroy(&s);
    fs_paillier_key_destroy(&k);
    return 0;
}

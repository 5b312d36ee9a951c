/*
 * check_secsum.c - unit tests of the secure-sum engine through its
 * invariants, with N parties simulated in one process:
 *   - exactness/cancellation: sum of masked vectors == sum of unmasked
 *     encodings, bit for bit, N = 2..9, rings 32/64, full mesh and sparse;
 *   - canary: 0 on success, detected on a wrong seed or nonce;
 *   - privacy smoke test: a masked vector looks uniform;
 *   - nonce discipline: reuse refused;
 *   - mask graph: regular, symmetric, connected, deterministic;
 *   - PRG known answers: NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt), with
 *     each kernel the CPU runs; every fused kernel (aesni, vaes-avx2,
 *     vaes-avx512) == OpenSSL's keystream for random keys, counters
 *     (including 32/64/96-bit carries) and split points; the fused
 *     keystream add == generate + add; parties on different kernels cancel.
 * No MPI.  Test data comes from fs_rng streams with fixed keys.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_impl.h"
#include "crypto/fs_prg_impl.h"
#include "fedsilo/fs_secsum.h"

static void hex(uint8_t *out, const char *h)
{
    for (size_t i = 0; h[2 * i]; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

// ---------------------------------------------------------------- PRG

/* Every FEDSILO_PRG kernel name; index = FS_AESCTR_* (0 = OpenSSL). */
static const char *const KERNELS[] = { "openssl", "aesni", "vaes-avx2", "vaes-avx512" };
#define NKERNELS 4

/* 1 if this CPU runs kernel k (OpenSSL always). */
static int kernel_runs(int k)
{
    return k == 0 || (fs_aesctr_available() & (1u << k)) != 0;
}

START_TEST(test_prg_kat)
{
    // NIST SP 800-38A, F.5.1 CTR-AES128.Encrypt.
    uint8_t key[16], iv[16], pt[64], ct[64], ks[64], got[64];
    hex(key, "2b7e151628aed2a6abf7158809cf4f3c");
    hex(iv, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    hex(pt, "6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51"
            "30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710");
    hex(ct, "874d6191b620e3261bef6864990db6ce" "9806f66b7970fdff8617187bb9fffdff"
            "5ae4df3edbd5d35e5b4f09020db03eab" "1e031dda2fbe03d1792170a0f3009cee");
    uint8_t seed[32] = { 0 };
    fs_prg *prg = NULL;
    if (!kernel_runs(_i))               // _i: kernel KERNELS[_i]
        return;
    setenv("FEDSILO_PRG", KERNELS[_i], 1);
    ck_assert_int_eq(fs_prg_create(seed, &prg), FS_OK);
    unsetenv("FEDSILO_PRG");
    ck_assert_str_eq(fs_prg_kernel(prg), KERNELS[_i]);
    ck_assert_int_eq(fs_prg_set_key_iv(prg, key, iv), FS_OK);
    ck_assert_int_eq(fs_prg_generate(prg, ks, 64), FS_OK);
    for (int b = 0; b < 64; b++)
        got[b] = ks[b] ^ pt[b];
    ck_assert_mem_eq(got, ct, 64);
    // Output block #1 = AES_K(T1).
    uint8_t blk1[16];
    hex(blk1, "ec8cdf7398607cb0f2d21675ea9ea1e4");
    ck_assert_mem_eq(ks, blk1, 16);
    // Generation in odd pieces continues the same stream.
    ck_assert_int_eq(fs_prg_set_key_iv(prg, key, iv), FS_OK);
    ck_assert_int_eq(fs_prg_generate(prg, got, 7), FS_OK);
    ck_assert_int_eq(fs_prg_generate(prg, got + 7, 25), FS_OK);
    ck_assert_int_eq(fs_prg_generate(prg, got + 32, 0), FS_OK);
    ck_assert_int_eq(fs_prg_generate(prg, got + 32, 32), FS_OK);
    ck_assert_mem_eq(got, ks, 64);
    fs_prg_destroy(&prg);
    ck_assert_ptr_null(prg);
    fs_prg_destroy(&prg);
    fs_prg_destroy(NULL);
}
END_TEST

/* A generator of the given kernel (a FEDSILO_PRG value) with key/IV. */
static fs_prg *prg_with(const char *impl, const uint8_t key[16], const uint8_t iv[16])
{
    static const uint8_t seed[32] = { 1 };
    fs_prg *p = NULL;
    setenv("FEDSILO_PRG", impl, 1);
    ck_assert_int_eq(fs_prg_create(seed, &p), FS_OK);
    unsetenv("FEDSILO_PRG");
    ck_assert_int_eq(fs_prg_set_key_iv(p, key, iv), FS_OK);
    return p;
}

/* Random (key, IV): every fourth IV sits just below a 32-, 64- or 96-bit
 * counter carry so the stream crosses it within a few blocks. */
static void random_key_iv(fs_rng *rng, int t, uint8_t key[16], uint8_t iv[16])
{
    for (int b = 0; b < 16; b++) {
        key[b] = (uint8_t)fs_rng_u64(rng);
        iv[b] = (uint8_t)fs_rng_u64(rng);
    }
    if (t % 4 != 3) {
        const int from = 16 - 4 * (t % 4 + 1);  // 12, 8 or 4: 32-, 64-, 96-bit carry
        for (int b = from; b < 16; b++)
            iv[b] = 0xff;
        iv[15] = (uint8_t)(0xff - fs_rng_u64(rng) % 40);
    }
}

START_TEST(test_prg_kernels_agree)
{
    // Every fused kernel the CPU runs must produce OpenSSL's keystream
    // exactly, whatever the split of the stream into calls.
    fs_rng rng;
    fs_rng_seed(&rng, 0x5eed);
    enum { TOTAL = 20000 };
    uint8_t *a = malloc(TOTAL), *b = malloc(TOTAL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    for (int t = 0; t < 64 * (NKERNELS - 1); t++) {
        const int k = 1 + t % (NKERNELS - 1);
        uint8_t key[16], iv[16];
        random_key_iv(&rng, t / (NKERNELS - 1), key, iv);
        if (!kernel_runs(k))
            continue;
        fs_prg *ref = prg_with("openssl", key, iv), *fast = prg_with(KERNELS[k], key, iv);
        ck_assert_int_eq(fs_prg_generate(ref, a, TOTAL), FS_OK);
        for (size_t off = 0; off < TOTAL;) {
            size_t len = (size_t)(fs_rng_u64(&rng) % (t % 2 ? 40 : 3000));
            if (len > TOTAL - off)
                len = TOTAL - off;
            ck_assert_int_eq(fs_prg_generate(fast, b + off, len), FS_OK);
            off += len;
        }
        ck_assert_msg(memcmp(a, b, TOTAL) == 0, "trial %d: %s keystream != OpenSSL's", t,
                      fs_prg_kernel(fast));
        fs_prg_destroy(&ref);
        fs_prg_destroy(&fast);
    }
    free(a);
    free(b);
}
END_TEST

START_TEST(test_prg_apply)
{
    // fs_prg_apply == generate + word-wise add/subtract, for every kernel,
    // both rings, after word-aligned stream prefixes of many lengths.
    fs_rng rng;
    fs_rng_seed(&rng, 0xadd);
    enum { MAXW = 3000 };
    uint64_t *w = malloc(MAXW * 8), *want = malloc(MAXW * 8), *ks = malloc(MAXW * 8);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(ks);
    for (int t = 0; t < 48 * NKERNELS; t++) {
        const int ring = t % 2 ? 64 : 32, add = (t / 2) % 2, kern = (t / 4) % NKERNELS;
        const char *impl = KERNELS[kern];
        if (!kernel_runs(kern))
            continue;
        const size_t wb = (size_t)ring / 8;
        uint8_t key[16], iv[16], skip[64];
        random_key_iv(&rng, t / 8, key, iv);
        fs_prg *g = prg_with("openssl", key, iv), *p = prg_with(impl, key, iv);
        const size_t pre = wb * (size_t)(fs_rng_u64(&rng) % 8);   // 0..7 words
        const size_t nw = (size_t)(fs_rng_u64(&rng) % MAXW);
        ck_assert_int_eq(fs_prg_generate(g, skip, pre), FS_OK);
        ck_assert_int_eq(fs_prg_generate(p, skip, pre), FS_OK);
        ck_assert_int_eq(fs_prg_generate(g, ks, nw * wb), FS_OK);
        for (size_t k = 0; k < nw * wb / 8 + 1; k++)
            w[k] = fs_rng_u64(&rng);
        memcpy(want, w, nw * wb);
        for (size_t k = 0; k < nw; k++) {
            if (ring == 32) {
                uint32_t x = ((uint32_t *)want)[k], y = ((uint32_t *)ks)[k];
                ((uint32_t *)want)[k] = add ? x + y : x - y;
            } else {
                want[k] = add ? want[k] + ks[k] : want[k] - ks[k];
            }
        }
        // Apply in two calls: the stream continues across them.
        const size_t cut = nw ? (size_t)(fs_rng_u64(&rng) % nw) : 0;
        ck_assert_int_eq(fs_prg_apply(p, w, cut, ring, add), FS_OK);
        ck_assert_int_eq(fs_prg_apply(p, (unsigned char *)w + cut * wb, nw - cut, ring, add),
                         FS_OK);
        ck_assert_msg(memcmp(w, want, nw * wb) == 0, "trial %d (%s, ring %d, %s, %zu words "
                      "after %zu bytes) differs", t, fs_prg_kernel(p), ring, add ? "add" : "sub",
                      nw, pre);
        fs_prg_wipe_scratch(p);
        fs_prg_destroy(&g);
        fs_prg_destroy(&p);
    }
    // Refusals, with every kernel, before any word changes: a stream
    // position that is not word-aligned, a bad ring width, more words than
    // the 64 GiB stream holds, no nonce yet.
    for (int k = 0; k < NKERNELS; k++) {
        const char *impl = KERNELS[k];
        if (!kernel_runs(k))
            continue;
        uint8_t key[16] = { 0 }, iv[16] = { 0 }, one;
        static const uint8_t seed[32] = { 3 };
        fs_prg *p = prg_with(impl, key, iv);
        for (int i = 0; i < 8; i++)
            w[i] = 0x1111111111111111ull * (uint64_t)i;
        memcpy(want, w, 64);
        ck_assert_int_eq(fs_prg_generate(p, &one, 1), FS_OK);
        ck_assert_int_eq(fs_prg_apply(p, w, 4, 32, 1), FS_ERR_ARG);
        ck_assert_int_eq(fs_prg_apply(p, w, 4, 16, 1), FS_ERR_ARG);
        ck_assert_int_eq(fs_prg_set_key_iv(p, key, iv), FS_OK);
        ck_assert_int_eq(fs_prg_apply(p, w, (size_t)(FS_PRG_MAXBYTES / 4) + 1, 32, 1), FS_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(fs_errmsg(), "64 GiB"));
        ck_assert_mem_eq(w, want, 64);
        fs_prg_destroy(&p);
        setenv("FEDSILO_PRG", impl, 1);
        ck_assert_int_eq(fs_prg_create(seed, &p), FS_OK);
        unsetenv("FEDSILO_PRG");
        ck_assert_int_eq(fs_prg_apply(p, w, 4, 32, 1), FS_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(fs_errmsg(), "no nonce"));
        ck_assert_mem_eq(w, want, 64);
        fs_prg_destroy(&p);
    }
    free(w);
    free(want);
    free(ks);
}
END_TEST

START_TEST(test_prg_impl_env)
{
    static const uint8_t seed[32] = { 7 };
    fs_prg *p = NULL;
    setenv("FEDSILO_PRG", "aes-ni-please", 1);
    ck_assert_int_eq(fs_prg_create(seed, &p), FS_ERR_ARG);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "FEDSILO_PRG=aes-ni-please"));
    setenv("FEDSILO_PRG", "openssl", 1);
    ck_assert_int_eq(fs_prg_create(seed, &p), FS_OK);
    ck_assert_str_eq(fs_prg_kernel(p), "openssl");
    fs_prg_destroy(&p);
    // Each named kernel: that kernel where the CPU runs it, else a clear
    // refusal.  auto and vaes: the widest (VAES) kernel present.
    int widest = 0, widest_vaes = 0;
    for (int k = 1; k < NKERNELS; k++) {
        setenv("FEDSILO_PRG", KERNELS[k], 1);
        if (kernel_runs(k)) {
            ck_assert_int_eq(fs_prg_create(seed, &p), FS_OK);
            ck_assert_str_eq(fs_prg_kernel(p), KERNELS[k]);
            fs_prg_destroy(&p);
            widest = k;
            widest_vaes = k >= FS_AESCTR_VAES_AVX2 ? k : 0;
        } else {
            ck_assert_int_eq(fs_prg_create(seed, &p), FS_ERR_ARG);
            ck_assert_ptr_nonnull(strstr(fs_errmsg(), "lacks"));
        }
    }
    setenv("FEDSILO_PRG", "vaes", 1);
    if (widest_vaes) {
        ck_assert_int_eq(fs_prg_create(seed, &p), FS_OK);
        ck_assert_str_eq(fs_prg_kernel(p), KERNELS[widest_vaes]);
        fs_prg_destroy(&p);
    } else {
        ck_assert_int_eq(fs_prg_create(seed, &p), FS_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(fs_errmsg(), "lacks"));
    }
    unsetenv("FEDSILO_PRG");
    ck_assert_int_eq(fs_prg_create(seed, &p), FS_OK);
    ck_assert_str_eq(fs_prg_kernel(p), KERNELS[widest]);
    fs_prg_destroy(&p);
}
END_TEST

START_TEST(test_prg_nonce)
{
    uint8_t seed[32], iv[16], a[256], b[256];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i * 7 + 1);
    fs_prg *p = NULL, *q = NULL;
    ck_assert_uint_eq(fs_prg_seedbytes(), 32);
    ck_assert_int_eq(fs_prg_create(seed, &p), FS_OK);
    ck_assert_int_eq(fs_prg_create(seed, &q), FS_OK);
    // No nonce yet: refused.
    ck_assert_int_eq(fs_prg_generate(p, a, 16), FS_ERR_ARG);
    // IV layout: round BE64 || vector BE32 || 0; key = seed[0..15].
    fs_prg_nonce_iv(iv, UINT64_C(0x0102030405060708), 0x0a0b0c0du);
    const uint8_t want[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 0 };
    ck_assert_mem_eq(iv, want, 16);
    ck_assert_int_eq(fs_prg_set_nonce(p, UINT64_C(0x0102030405060708), 0x0a0b0c0du), FS_OK);
    ck_assert_int_eq(fs_prg_set_key_iv(q, seed, iv), FS_OK);
    ck_assert_int_eq(fs_prg_generate(p, a, sizeof a), FS_OK);
    ck_assert_int_eq(fs_prg_generate(q, b, sizeof b), FS_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    // Re-setting the same nonce restarts the stream, even from the middle
    // of a block; other nonces differ.
    ck_assert_int_eq(fs_prg_set_nonce(p, UINT64_C(0x0102030405060708), 0x0a0b0c0du), FS_OK);
    ck_assert_int_eq(fs_prg_generate(p, b, 7), FS_OK);
    ck_assert_int_eq(fs_prg_set_nonce(p, UINT64_C(0x0102030405060708), 0x0a0b0c0du), FS_OK);
    ck_assert_int_eq(fs_prg_generate(p, b, sizeof b), FS_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_int_eq(fs_prg_set_nonce(p, UINT64_C(0x0102030405060709), 0x0a0b0c0du), FS_OK);
    ck_assert_int_eq(fs_prg_generate(p, b, sizeof b), FS_OK);
    ck_assert_int_ne(memcmp(a, b, sizeof a), 0);
    ck_assert_int_eq(fs_prg_set_nonce(p, UINT64_C(0x0102030405060708), 0x0a0b0c0eu), FS_OK);
    ck_assert_int_eq(fs_prg_generate(p, b, sizeof b), FS_OK);
    ck_assert_int_ne(memcmp(a, b, sizeof a), 0);
    // The 2^32-block limit per nonce is enforced before anything is written.
    ck_assert_int_eq(fs_prg_generate(p, b, (size_t)FS_PRG_MAXBYTES + 1), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "64 GiB"));
    fs_prg_destroy(&p);
    fs_prg_destroy(&q);
    uint8_t *nullseed = NULL;
    ck_assert_int_eq(fs_prg_create(nullseed, &p), FS_ERR_ARG);
    ck_assert_ptr_null(p);
}
END_TEST

// ---------------------------------------------------------------- graph

static void check_graph(const fs_maskgraph *g, int n, int k)
{
    ck_assert_int_eq(fs_maskgraph_nparties(g), n);
    ck_assert_int_eq(fs_maskgraph_degree(g), k);
    for (int i = 0; i < n; i++) {
        const int *nb;
        int cnt;
        ck_assert_int_eq(fs_maskgraph_neighbours(g, i, &nb, &cnt), FS_OK);
        ck_assert_int_eq(cnt, k);
        for (int t = 0; t < cnt; t++) {
            ck_assert_int_ge(nb[t], 0);
            ck_assert_int_lt(nb[t], n);
            ck_assert_int_ne(nb[t], i);
            if (t > 0)
                ck_assert_int_lt(nb[t - 1], nb[t]);         // sorted, distinct
            ck_assert_int_eq(fs_maskgraph_has_edge(g, nb[t], i), 1);   // symmetric
        }
    }
    ck_assert_int_eq(fs_maskgraph_is_connected(g), 1);
}

static void session(uint8_t sid[32], uint64_t key)
{
    fs_rng r;
    fs_rng_seed(&r, key);
    for (int b = 0; b < 32; b++)
        sid[b] = (uint8_t)fs_rng_u64(&r);
}

START_TEST(test_graph_full_mesh)
{
    for (int n = 1; n <= 40; n++) {
        fs_maskgraph *g = NULL;
        ck_assert_int_eq(fs_maskgraph_create(n, 0, NULL, &g), FS_OK);
        check_graph(g, n, n - 1);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                ck_assert_int_eq(fs_maskgraph_has_edge(g, i, j), i != j);
        fs_maskgraph_destroy(&g);
        ck_assert_ptr_null(g);
    }
}
END_TEST

START_TEST(test_graph_regular)
{
    static const int ns[] = { 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 31, 64, 100, 257, 1000 };
    static const int ks[] = { 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 14, 20 };
    int built = 0;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
            for (uint64_t s = 0; s < 4; s++) {
                int n = ns[a], k = ks[b];
                uint8_t sid[32];
                session(sid, s * 1000 + (uint64_t)n);
                fs_maskgraph *g = NULL;
                fs_err rc = fs_maskgraph_create(n, k, sid, &g);
                int legal = k < n && (k != 1 || n == 2) && (k % 2 == 0 || n % 2 == 0);
                if (!legal) {
                    ck_assert_int_eq(rc, FS_ERR_ARG);
                    ck_assert_ptr_null(g);
                    continue;
                }
                ck_assert_int_eq(rc, FS_OK);
                check_graph(g, n, k);
                fs_maskgraph_destroy(&g);
                built++;
            }
    ck_assert_int_gt(built, 200);
    fs_maskgraph *g = NULL;
    uint8_t sid[32] = { 0 };
    ck_assert_int_eq(fs_maskgraph_create(0, 0, sid, &g), FS_ERR_ARG);
    ck_assert_int_eq(fs_maskgraph_create(5, -1, sid, &g), FS_ERR_ARG);
    ck_assert_int_eq(fs_maskgraph_create(5, 4, NULL, &g), FS_ERR_ARG);
    ck_assert_ptr_null(g);
}
END_TEST

static int same_graph(const fs_maskgraph *a, const fs_maskgraph *b)
{
    int n = fs_maskgraph_nparties(a);
    for (int i = 0; i < n; i++) {
        const int *na, *nb;
        int ca, cb;
        ck_assert_int_eq(fs_maskgraph_neighbours(a, i, &na, &ca), FS_OK);
        ck_assert_int_eq(fs_maskgraph_neighbours(b, i, &nb, &cb), FS_OK);
        if (ca != cb || memcmp(na, nb, (size_t)ca * sizeof *na))
            return 0;
    }
    return 1;
}

START_TEST(test_graph_session)
{
    uint8_t s1[32], s2[32];
    session(s1, 1);
    session(s2, 1);
    fs_maskgraph *a = NULL, *b = NULL, *c = NULL;
    ck_assert_int_eq(fs_maskgraph_create(100, 4, s1, &a), FS_OK);
    ck_assert_int_eq(fs_maskgraph_create(100, 4, s2, &b), FS_OK);
    ck_assert_int_eq(same_graph(a, b), 1);
    s2[31] ^= 1;            // one bit of the session id
    ck_assert_int_eq(fs_maskgraph_create(100, 4, s2, &c), FS_OK);
    ck_assert_int_eq(same_graph(a, c), 0);
    // Not simply the unpermuted ring 0-1-2-...: neighbours look random.
    int ring = 0;
    for (int i = 0; i < 100; i++)
        ring += fs_maskgraph_has_edge(a, i, (i + 1) % 100);
    ck_assert_int_lt(ring, 20);
    fs_maskgraph_destroy(&a);
    fs_maskgraph_destroy(&b);
    fs_maskgraph_destroy(&c);
    const int *nb;
    int cnt;
    ck_assert_int_eq(fs_maskgraph_neighbours(NULL, 0, &nb, &cnt), FS_ERR_ARG);
    ck_assert_int_eq(fs_maskgraph_create(4, 2, s1, &a), FS_OK);
    ck_assert_int_eq(fs_maskgraph_neighbours(a, 4, &nb, &cnt), FS_ERR_ARG);
    ck_assert_int_eq(fs_maskgraph_neighbours(a, -1, &nb, &cnt), FS_ERR_ARG);
    fs_maskgraph_destroy(&a);
}
END_TEST

// ---------------------------------------------------------------- masker

/* N simulated parties with symmetric seeds: seeds[i] is party i's (N x 32)
 * table, seeds[i][j] == seeds[j][i]. */
typedef struct {
    int n;
    uint8_t *seeds;     // (N x N x 32)
    fs_maskgraph *g;
    fs_masker **m;      // (N)
    uint64_t rseed;     // stochastic rounding seed of every masker
} federation;

static const uint8_t *seed_row(const federation *f, int i)
{
    return f->seeds + (size_t)i * f->n * 32;
}

/* Set by a test: fed_init gives the parties different PRG kernels. */
static int mixed_kernels;

static void fed_init(federation *f, int n, int degree, const fs_fixed_params *fp, uint64_t key)
{
    fs_rng r;
    uint8_t sid[32];
    f->n = n;
    f->seeds = calloc((size_t)n * n, 32);
    f->m = calloc((size_t)n, sizeof *f->m);
    fs_rng_seed(&r, key);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            for (int b = 0; b < 32; b++) {
                uint8_t v = (uint8_t)fs_rng_u64(&r);
                f->seeds[((size_t)i * n + j) * 32 + b] = v;
                f->seeds[((size_t)j * n + i) * 32 + b] = v;
            }
    f->rseed = key + 17;
    session(sid, key ^ 0x5e55);
    f->g = NULL;
    ck_assert_int_eq(fs_maskgraph_create(n, degree, sid, &f->g), FS_OK);
    for (int i = 0; i < n; i++) {
        fs_masker_opts o = { i, f->g, seed_row(f, i), *fp, f->rseed };
        if (mixed_kernels) {
            // Party i on the (i mod count)-th kernel this CPU runs.
            int runs[NKERNELS], count = 0;
            for (int k = 0; k < NKERNELS; k++)
                if (kernel_runs(k))
                    runs[count++] = k;
            setenv("FEDSILO_PRG", KERNELS[runs[i % count]], 1);
        }
        ck_assert_int_eq(fs_masker_create(&o, &f->m[i]), FS_OK);
    }
    if (mixed_kernels)
        unsetenv("FEDSILO_PRG");
}

static void fed_free(federation *f)
{
    for (int i = 0; i < f->n; i++) {
        fs_masker_destroy(&f->m[i]);
        ck_assert_ptr_null(f->m[i]);
    }
    fs_maskgraph_destroy(&f->g);
    free(f->m);
    free(f->seeds);
}

/* acc += w (mod 2^b), nw words. */
static void add_words(void *acc, const void *w, size_t nw, int b)
{
    for (size_t k = 0; k < nw; k++) {
        if (b == 32)
            ((uint32_t *)acc)[k] += ((const uint32_t *)w)[k];
        else
            ((uint64_t *)acc)[k] += ((const uint64_t *)w)[k];
    }
}

/* One secure sum of random vectors over the federation; checks exactness,
 * the canary and the decoded precision.  Returns nothing; asserts. */
static void one_sum(federation *f, const fs_fixed_params *fp, uint64_t round, uint32_t vid,
                    size_t n, fs_rng *rng, int use_f64)
{
    const size_t wb = fs_fixed_word_bytes(fp->ring_bits), nw = n + 1;
    float *x = malloc(n * sizeof *x + 1);
    double *xd = malloc(n * sizeof *xd + 1), *real = calloc(n + 1, sizeof *real);
    void *masked = malloc(nw * wb), *plain = malloc(nw * wb);
    void *sum = calloc(nw, wb), *ref = calloc(nw, wb);
    float *dec = malloc(n * sizeof *dec + 1);
    for (int i = 0; i < f->n; i++) {
        fs_fixed_stats st = { 0, 0 };
        for (size_t k = 0; k < n; k++) {
            xd[k] = (2 * fs_rng_uniform(rng) - 1) * fp->clip;
            x[k] = (float)xd[k];
            real[k] += use_f64 ? xd[k] : (double)x[k];
        }
        if (use_f64)
            ck_assert_int_eq(fs_masker_encode_mask_f64(f->m[i], round, vid, xd, n, masked, &st),
                             FS_OK);
        else
            ck_assert_int_eq(fs_masker_encode_mask(f->m[i], round, vid, x, n, masked, &st),
                             FS_OK);
        ck_assert_uint_eq(st.nnan, 0);
        add_words(sum, masked, nw, fp->ring_bits);
        // The plain reference with the masker's rounding stream.
        fs_fixed_stats st2 = { 0, 0 };
        uint64_t key = fs_fixed_rounding_key(f->rseed, i, round, vid);
        if (use_f64) {
            ck_assert_int_eq(fs_fixed_encode_f64(fp, xd, n, plain, key, &st2), FS_OK);
            memset((char *)plain + n * wb, 0, wb);
        } else {
            ck_assert_int_eq(fs_masker_unmasked_encode(fp, x, n, plain, key, &st2), FS_OK);
        }
        add_words(ref, plain, nw, fp->ring_bits);
    }
    // Exactness: masks cancel bit for bit (canary included).
    ck_assert_mem_eq(sum, ref, nw * wb);
    int ok = -1;
    ck_assert_int_eq(fs_masker_decode(fp, sum, n, dec, &ok), FS_OK);
    ck_assert_int_eq(ok, 1);
    double tol = f->n * ldexp(1.0, -(fp->frac_bits + (fp->rounding == FS_FIXED_ROUND_NEAREST)));
    for (size_t k = 0; k < n; k++)
        ck_assert_double_le(fabs((double)dec[k] - real[k]), tol + fabs(real[k]) * 0x1p-23);
    free(x); free(xd); free(real); free(masked); free(plain); free(sum); free(ref); free(dec);
}

/* Degrees to test for N parties: full mesh, 2 and 4 where legal. */
static int degrees(int n, int out[3])
{
    int c = 0;
    out[c++] = 0;
    if (n > 3)
        out[c++] = 2;
    if (n > 5)
        out[c++] = 4;
    return c;
}

START_TEST(test_cancellation)
{
    static const size_t lens[] = { 1, 4095, 10007 };
    const int b = _i & 1 ? 64 : 32;
    // _i >> 1: 0 = the default PRG kernel, 1 = OpenSSL's (scratch + add),
    // 2 = every party on another kernel (all the CPU runs, in turn).
    if (_i >> 1 == 1)
        setenv("FEDSILO_PRG", "openssl", 1);
    mixed_kernels = _i >> 1 == 2;
    fs_rng rng;
    fs_rng_seed(&rng, 1234 + (uint64_t)b);
    for (int n = 2; n <= 9; n++) {
        int ds[3], nd = degrees(n, ds);
        for (int di = 0; di < nd; di++) {
            fs_fixed_params fp = { b, 0, 1.0, FS_FIXED_ROUND_NEAREST };
            fp.frac_bits = fs_fixed_suggest(b, n, fp.clip);
            if (b == 64)
                fp.frac_bits = 40;  // keep float rounding the dominant error
            federation f;
            fed_init(&f, n, ds[di], &fp, (uint64_t)(n * 100 + di + b));
            uint64_t round = 1;
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
                for (int rep = 0; rep < 2; rep++)
                    one_sum(&f, &fp, round++, (uint32_t)li, lens[li], &rng, 0);
            fed_free(&f);
        }
    }
}
END_TEST

START_TEST(test_cancellation_variants)
{
    fs_rng rng;
    fs_rng_seed(&rng, 77);
    for (int b = 32; b <= 64; b += 32) {
        // Stochastic rounding: the reference replays the rounding stream.
        fs_fixed_params fp = { b, 16, 4.0, FS_FIXED_ROUND_STOCHASTIC };
        federation f;
        fed_init(&f, 6, 3, &fp, 5);
        one_sum(&f, &fp, 0, 0, 9000, &rng, 0);
        one_sum(&f, &fp, 0, 1, 9000, &rng, 0);
        one_sum(&f, &fp, 1, 0, 5000, &rng, 0);
        // Double inputs.
        one_sum(&f, &fp, 2, 0, 5000, &rng, 1);
        fed_free(&f);
        // A single party (no neighbours): the masked vector is the encoding.
        fs_fixed_params fq = { b, 8, 1.0, FS_FIXED_ROUND_NEAREST };
        fed_init(&f, 1, 0, &fq, 6);
        one_sum(&f, &fq, 3, 0, 100, &rng, 0);
        fed_free(&f);
        // An empty vector still carries (and checks) the canary.
        fed_init(&f, 4, 0, &fq, 8);
        one_sum(&f, &fq, 1, 0, 0, &rng, 0);
        fed_free(&f);
    }
}
END_TEST

/* Mask all parties' vectors of one round, sum and decode; returns the
 * decode status and sets *ok.  Party `bad` uses round `bad_round`. */
static fs_err sum_and_decode(federation *f, const fs_fixed_params *fp, uint64_t round, int bad,
                             uint64_t bad_round, size_t n, int *ok)
{
    const size_t wb = fs_fixed_word_bytes(fp->ring_bits), nw = n + 1;
    float *x = calloc(n, sizeof *x), *dec = calloc(n, sizeof *dec);
    void *masked = malloc(nw * wb), *sum = calloc(nw, wb);
    for (size_t k = 0; k < n; k++)
        x[k] = (float)k / (float)n;
    for (int i = 0; i < f->n; i++) {
        ck_assert_int_eq(fs_masker_encode_mask(f->m[i], i == bad ? bad_round : round, 0, x, n,
                                               masked, NULL), FS_OK);
        add_words(sum, masked, nw, fp->ring_bits);
    }
    for (size_t k = 0; k < n; k++)
        dec[k] = -7.0f;
    fs_err rc = fs_masker_decode(fp, sum, n, dec, ok);
    if (rc != FS_OK)
        for (size_t k = 0; k < n; k++)
            ck_assert_float_eq(dec[k], -7.0f);      // untouched on failure
    free(x); free(dec); free(masked); free(sum);
    return rc;
}

START_TEST(test_canary_detects_mismatch)
{
    for (int b = 32; b <= 64; b += 32) {
        fs_fixed_params fp = { b, 12, 1.0, FS_FIXED_ROUND_NEAREST };
        for (int deg = 0; deg <= 2; deg += 2) {
            federation f;
            fed_init(&f, 5, deg, &fp, 9);
            int ok = -1;
            ck_assert_int_eq(sum_and_decode(&f, &fp, 1, -1, 0, 5000, &ok), FS_OK);
            ck_assert_int_eq(ok, 1);
            // One party on the wrong round: masks do not cancel.
            ck_assert_int_eq(sum_and_decode(&f, &fp, 2, 3, 7, 5000, &ok), FS_ERR_AUTH);
            ck_assert_int_eq(ok, 0);
            ck_assert_ptr_nonnull(strstr(fs_errmsg(), "canary"));
            // Party 0 with a wrong seed for its first neighbour.
            const int *nb;
            int cnt;
            ck_assert_int_eq(fs_maskgraph_neighbours(f.g, 0, &nb, &cnt), FS_OK);
            uint8_t *row = malloc((size_t)f.n * 32);
            memcpy(row, seed_row(&f, 0), (size_t)f.n * 32);
            row[(size_t)nb[0] * 32 + 5] ^= 0x10;
            fs_masker_destroy(&f.m[0]);
            fs_masker_opts o = { 0, f.g, row, fp, f.rseed };
            ck_assert_int_eq(fs_masker_create(&o, &f.m[0]), FS_OK);
            free(row);
            ok = -1;
            ck_assert_int_eq(sum_and_decode(&f, &fp, 10, -1, 0, 3, &ok), FS_ERR_AUTH);
            ck_assert_int_eq(ok, 0);
            fed_free(&f);
        }
    }
}
END_TEST

/* Chi-square statistic of the top byte of nw words (256 bins). */
static double chi2_top_byte(const void *w, size_t nw, int b)
{
    double cnt[256] = { 0 };
    for (size_t k = 0; k < nw; k++)
        cnt[b == 32 ? ((const uint32_t *)w)[k] >> 24 : ((const uint64_t *)w)[k] >> 56] += 1;
    double e = (double)nw / 256, chi = 0;
    for (int v = 0; v < 256; v++)
        chi += (cnt[v] - e) * (cnt[v] - e) / e;
    return chi;
}

START_TEST(test_privacy_smoke)
{
    enum { n = 20000 };
    for (int b = 32; b <= 64; b += 32) {
        const size_t wb = fs_fixed_word_bytes(b);
        fs_fixed_params fp = { b, 10, 1.0, FS_FIXED_ROUND_NEAREST };
        for (int deg = 0; deg <= 2; deg += 2) {
            federation f;
            fed_init(&f, 4, deg, &fp, 31);
            float *x = malloc(n * sizeof *x);
            for (int k = 0; k < n; k++)
                x[k] = (float)sin(k * 0.01);
            void *masked = malloc((n + 1) * wb), *plain = malloc((n + 1) * wb);
            for (int i = 0; i < f.n; i++) {
                ck_assert_int_eq(fs_masker_encode_mask(f.m[i], 4, 2, x, n, masked, NULL), FS_OK);
                ck_assert_int_eq(fs_masker_unmasked_encode(&fp, x, n, plain, 0, NULL), FS_OK);
                size_t same = 0, top = 0;
                for (size_t k = 0; k <= n; k++) {
                    uint64_t mw = b == 32 ? ((uint32_t *)masked)[k] : ((uint64_t *)masked)[k];
                    uint64_t pw = b == 32 ? ((uint32_t *)plain)[k] : ((uint64_t *)plain)[k];
                    same += mw == pw;
                    top += (mw >> (b - 1)) & 1;
                }
                ck_assert_uint_le(same, 2);   // expected n / 2^b, i.e. ~0
                // Top bit: mean 0.5, sd 0.0035; allow 5 sd.
                ck_assert_double_lt(fabs((double)top / (n + 1) - 0.5), 0.018);
                // Chi-square, 255 df: mean 255, sd 22.6; allow ~6 sd.
                ck_assert_double_lt(chi2_top_byte(masked, n + 1, b), 400);
                // The test has power: the plain encoding is far from uniform.
                ck_assert_double_gt(chi2_top_byte(plain, n + 1, b), 10000);
            }
            free(x); free(masked); free(plain);
            fed_free(&f);
        }
    }
}
END_TEST

START_TEST(test_nonce_reuse_refused)
{
    fs_fixed_params fp = { 64, 20, 1.0, FS_FIXED_ROUND_NEAREST };
    federation f;
    fed_init(&f, 3, 0, &fp, 3);
    fs_masker *m = f.m[1];
    float x[10] = { 0 };
    uint64_t out[11], keep[11];
    ck_assert_int_eq(fs_masker_encode_mask(m, 5, 0, x, 10, out, NULL), FS_OK);
    memset(out, 0xab, sizeof out);
    memcpy(keep, out, sizeof out);
    ck_assert_int_eq(fs_masker_encode_mask(m, 5, 0, x, 10, out, NULL), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "never be reused"));
    ck_assert_mem_eq(out, keep, sizeof out);        // nothing written
    ck_assert_int_eq(fs_masker_encode_mask(m, 4, 0, x, 10, out, NULL), FS_ERR_ARG);
    ck_assert_int_eq(fs_masker_encode_mask_f64(m, 5, 0, (double[10]){ 0 }, 10, out, NULL),
                     FS_ERR_ARG);
    ck_assert_int_eq(fs_masker_encode_mask(m, 5, 1, x, 10, out, NULL), FS_OK);
    ck_assert_int_eq(fs_masker_encode_mask(m, 6, 0, x, 10, out, NULL), FS_OK);
    // fs_masker_mask shares the nonce table.
    memset(out, 0, sizeof out);
    ck_assert_int_eq(fs_masker_mask(m, 5, 1, out, 10), FS_ERR_ARG);
    ck_assert_int_eq(fs_masker_mask(m, 7, 1, out, 10), FS_OK);
    // Its canary must be 0 on entry.
    ck_assert_int_eq(fs_masker_mask(m, 8, 1, out, 10), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "canary"));
    // Many vector ids (the table grows), each usable once per round.
    for (uint32_t v = 100; v < 200; v++)
        ck_assert_int_eq(fs_masker_encode_mask(m, 1, v, x, 10, out, NULL), FS_OK);
    for (uint32_t v = 100; v < 200; v++)
        ck_assert_int_eq(fs_masker_encode_mask(m, 1, v, x, 10, out, NULL), FS_ERR_ARG);
    // Round floor after a restart.
    ck_assert_int_eq(fs_masker_set_round_floor(m, 10), FS_OK);
    ck_assert_int_eq(fs_masker_encode_mask(m, 9, 2, x, 10, out, NULL), FS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "round floor"));
    ck_assert_int_eq(fs_masker_encode_mask(m, 10, 2, x, 10, out, NULL), FS_OK);
    ck_assert_int_eq(fs_masker_set_round_floor(m, 3), FS_OK);     // never lowers
    ck_assert_int_eq(fs_masker_encode_mask(m, 9, 3, x, 10, out, NULL), FS_ERR_ARG);
    fed_free(&f);
}
END_TEST

/* Progress of fs_masker_encode_mask_stream: strictly increasing counts of
 * at most one 16 KiB block each, ending at n + 1; output identical to
 * fs_masker_encode_mask under the same seeds and nonce. */
typedef struct { size_t calls, last, max_step; int increasing; } progress_log;
static void on_progress(void *user, size_t done)
{
    progress_log *l = user;
    if (done <= l->last) l->increasing = 0;
    if (done - l->last > l->max_step) l->max_step = done - l->last;
    l->last = done;
    l->calls++;
}

START_TEST(test_stream_progress)
{
    for (int b = 32; b <= 64; b += 32) {
        fs_fixed_params fp = { b, 16, 1.0, FS_FIXED_ROUND_NEAREST };
        federation f1, f2;
        fed_init(&f1, 3, 0, &fp, 11);
        fed_init(&f2, 3, 0, &fp, 11);
        const size_t n = 20000, wb = (size_t)b / 8;
        float *x = malloc(n * sizeof *x);
        for (size_t k = 0; k < n; k++) x[k] = (float)k / (float)n - 0.5f;
        void *a = malloc((n + 1) * wb), *c = malloc((n + 1) * wb);
        progress_log l = { 0, 0, 0, 1 };
        ck_assert_int_eq(fs_masker_encode_mask(f1.m[1], 3, 0, x, n, a, NULL), FS_OK);
        ck_assert_int_eq(fs_masker_encode_mask_stream(f2.m[1], 3, 0, x, n, c, NULL, on_progress,
                                                      &l), FS_OK);
        ck_assert_mem_eq(a, c, (n + 1) * wb);
        ck_assert(l.increasing);
        ck_assert_uint_eq(l.last, n + 1);
        ck_assert_uint_eq(l.max_step, (16384 / wb));
        ck_assert_uint_eq(l.calls, (n + 1 + 16384 / wb - 1) / (16384 / wb));
        // a refused nonce reports no progress
        l.calls = 0;
        ck_assert_int_eq(fs_masker_encode_mask_stream(f2.m[1], 3, 0, x, n, c, NULL, on_progress,
                                                      &l), FS_ERR_ARG);
        ck_assert_uint_eq(l.calls, 0);
        // a NULL callback is allowed
        ck_assert_int_eq(fs_masker_encode_mask_stream(f2.m[1], 4, 0, x, n, c, NULL, NULL, NULL),
                         FS_OK);
        free(x); free(a); free(c);
        fed_free(&f1);
        fed_free(&f2);
    }
}
END_TEST

START_TEST(test_masker_args)
{
    fs_fixed_params fp = { 32, 28, 1.0, FS_FIXED_ROUND_NEAREST };
    fs_maskgraph *g = NULL;
    ck_assert_int_eq(fs_maskgraph_create(8, 0, NULL, &g), FS_OK);
    uint8_t *seeds = calloc(8, 32);
    fs_masker *m = NULL;
    // 8 * 2^28 = 2^31: no headroom on the 32-bit ring.
    fs_masker_opts o = { 0, g, seeds, fp, 0 };
    ck_assert_int_eq(fs_masker_create(&o, &m), FS_ERR_ARG);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(fs_errmsg(), "overflow"));
    o.fixed.frac_bits = 27;
    o.party = 8;
    ck_assert_int_eq(fs_masker_create(&o, &m), FS_ERR_ARG);
    o.party = 0;
    o.seeds = NULL;
    ck_assert_int_eq(fs_masker_create(&o, &m), FS_ERR_ARG);
    o.seeds = seeds;
    ck_assert_int_eq(fs_masker_create(&o, &m), FS_OK);
    uint32_t out[4];
    float x[3] = { 0, NAN, 0 };
    ck_assert_int_eq(fs_masker_encode_mask(m, 0, 0, NULL, 3, out, NULL), FS_ERR_ARG);
    ck_assert_int_eq(fs_masker_encode_mask(m, 0, 0, x, 3, NULL, NULL), FS_ERR_ARG);
    // NaN: reported through stats, or as FS_ERR_NUMERIC without stats.
    fs_fixed_stats st = { 0, 0 };
    ck_assert_int_eq(fs_masker_encode_mask(m, 1, 0, x, 3, out, &st), FS_OK);
    ck_assert_uint_eq(st.nnan, 1);
    ck_assert_int_eq(fs_masker_encode_mask(m, 2, 0, x, 3, out, NULL), FS_ERR_NUMERIC);
    ck_assert_uint_eq(fs_masker_words(3), 4);
    fs_masker_destroy(&m);
    fs_masker_destroy(&m);
    fs_masker_destroy(NULL);
    free(seeds);
    fs_maskgraph_destroy(&g);
    // Decode argument checks.
    uint64_t sum[2] = { 0, 0 };
    float d;
    fs_fixed_params bad = { 48, 1, 1, FS_FIXED_ROUND_NEAREST };
    ck_assert_int_eq(fs_masker_decode(&bad, sum, 1, &d, NULL), FS_ERR_ARG);
    ck_assert_int_eq(fs_masker_decode(&fp, NULL, 1, &d, NULL), FS_ERR_ARG);
}
END_TEST

START_TEST(test_bench_smoke)
{
    fs_secsum_bench_result r;
    ck_assert_int_eq(fs_secsum_bench_maskgen(32, 5000, 2, 0.05, &r), FS_OK);
    ck_assert_double_gt(r.mask_rate, 0);
    ck_assert_double_gt(r.total_rate, 0);
    ck_assert_double_gt(r.encode_rate, 0);
    ck_assert_double_gt(r.openssl_rate, 0);
    ck_assert_int_eq(fs_secsum_bench_maskgen(32, 5000, 0, 0.05, &r), FS_ERR_ARG);
    double rate = 0;
    ck_assert_int_eq(fs_prg_openssl_rate(1 << 20, &rate), FS_OK);
    ck_assert_double_gt(rate, 0);
}
END_TEST

static Suite *secsum_suite(void)
{
    Suite *s = suite_create("secsum");
    TCase *prg = tcase_create("prg");
    tcase_add_loop_test(prg, test_prg_kat, 0, NKERNELS);
    tcase_add_test(prg, test_prg_nonce);
    tcase_add_test(prg, test_prg_kernels_agree);
    tcase_add_test(prg, test_prg_apply);
    tcase_add_test(prg, test_prg_impl_env);
    suite_add_tcase(s, prg);
    TCase *graph = tcase_create("maskgraph");
    tcase_add_test(graph, test_graph_full_mesh);
    tcase_add_test(graph, test_graph_regular);
    tcase_add_test(graph, test_graph_session);
    suite_add_tcase(s, graph);
    TCase *mask = tcase_create("masker");
    tcase_set_timeout(mask, 60);
    // _i: bit 0 = 64-bit ring; _i >> 1: default, OpenSSL, mixed PRG kernels
    tcase_add_loop_test(mask, test_cancellation, 0, 6);
    tcase_add_test(mask, test_cancellation_variants);
    tcase_add_test(mask, test_canary_detects_mismatch);
    tcase_add_test(mask, test_privacy_smoke);
    tcase_add_test(mask, test_nonce_reuse_refused);
    tcase_add_test(mask, test_masker_args);
    tcase_add_test(mask, test_stream_progress);
    tcase_add_test(mask, test_bench_smoke);
    suite_add_tcase(s, mask);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(secsum_suite());
    srunner_run_all(sr, CK_NORMAL);
    int nfail = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

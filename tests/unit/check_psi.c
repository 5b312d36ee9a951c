/*
 * check_psi.c - the PSI membership test without MPI (src/vfl/fs_psi_match.c):
 * N holders simulated in one process, their tables summed as the secure
 * sum would (plain uint64 addition: the masks cancel exactly).
 *
 * Invariants: after the planned rounds, every holder has marked exactly
 * the tags that all blocks contain (N = 2..5, with tags shared by only
 * some blocks); a slot where holders wrote different tags never sums to
 * 0; the per-round miss rate stays below the plan's bound p = L / (2B);
 * positive control: one wrong pair key makes every slot fail to cancel,
 * so nothing is marked.  The plan's B and R for the documented sizes, and
 * the result zero share (sums to 0 iff all messages agree).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/fs_crypto_impl.h"
#include "vfl/fs_psi_impl.h"

#define MAXN 5

/* Blocks of a test: block h holds `common` shared tags, tags shared by
 * blocks h and h+1 only (`pair` of them, N >= 3), and `own` unique ones,
 * in a block-specific order.  Tag bytes come from a seeded stream. */
typedef struct {
    int N;
    size_t n[MAXN];
    uint8_t *tags[MAXN];
    int *kind[MAXN];          /* 1 = common tag, 0 = other */
} blocks;

static void tag_bytes(uint8_t out[32], uint64_t id)
{
    fs_rng r;
    fs_rng_seed(&r, fs_rng_key(0x7a67, id, 0, 0));
    for (int k = 0; k < 4; k++) {
        uint64_t v = fs_rng_u64(&r);
        memcpy(out + 8 * k, &v, 8);
    }
}

static void make_blocks(blocks *b, int N, size_t common, size_t pair, size_t own)
{
    b->N = N;
    for (int h = 0; h < N; h++) {
        size_t n = common + (N >= 3 ? 2 * pair : 0) + own, k = 0;
        b->n[h] = n;
        b->tags[h] = malloc(n * 32);
        b->kind[h] = malloc(n * sizeof(int));
        uint64_t *ids = malloc(n * sizeof *ids);
        for (size_t i = 0; i < common; i++) ids[k++] = i;
        if (N >= 3) {
            /* pair tags with block h+1 and with block h-1 */
            for (size_t i = 0; i < pair; i++) ids[k++] = 1000000 + (uint64_t)h * 10000 + i;
            for (size_t i = 0; i < pair; i++)
                ids[k++] = 1000000 + (uint64_t)((h + N - 1) % N) * 10000 + i;
        }
        for (size_t i = 0; i < own; i++) ids[k++] = 2000000 + (uint64_t)h * 100000 + i;
        fs_rng r;
        fs_rng_seed(&r, fs_rng_key(0x5eed, (uint64_t)h, (uint64_t)N, 0));
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)fs_rng_below(&r, i);
            uint64_t t = ids[i - 1]; ids[i - 1] = ids[j]; ids[j] = t;
        }
        for (size_t i = 0; i < n; i++) {
            tag_bytes(b->tags[h] + 32 * i, ids[i]);
            b->kind[h][i] = ids[i] < common;
        }
        free(ids);
    }
}

static void free_blocks(blocks *b)
{
    for (int h = 0; h < b->N; h++) { free(b->tags[h]); free(b->kind[h]); }
}

/* zkeys[h] row l = key of pair (h, l), symmetric, from a seeded stream. */
static void pair_keys(int N, uint8_t zk[MAXN][MAXN * 32])
{
    memset(zk, 0, sizeof(uint8_t[MAXN][MAXN * 32]));
    for (int h = 0; h < N; h++)
        for (int l = h + 1; l < N; l++)
            for (int k = 0; k < 32; k++) {
                uint8_t v = (uint8_t)fs_rng_key((uint64_t)h, (uint64_t)l, (uint64_t)k, 9);
                zk[h][32 * l + k] = v;
                zk[l][32 * h + k] = v;
            }
}

/* Run every planned round; returns the tags marked in round 1 (for the
 * rate check); fails the test if a round's detected counts differ. */
static size_t run_rounds(const blocks *b, uint8_t zk[MAXN][MAXN * 32], fs_psi_matcher **m,
                         uint64_t B, uint32_t R)
{
    uint64_t *tab = malloc((B + 1) * sizeof *tab), *sum = malloc((B + 1) * sizeof *sum);
    size_t first = 0;
    uint8_t sid[32];
    memset(sid, 0x42, sizeof sid);
    for (int h = 0; h < b->N; h++)
        ck_assert_int_eq(fs_psi_matcher_create(b->N, h, sid, zk[h], b->tags[h], b->n[h], B, R,
                                               &m[h]), FS_OK);
    for (uint32_t t = 1; t <= R; t++) {
        memset(sum, 0, (B + 1) * sizeof *sum);
        for (int h = 0; h < b->N; h++) {
            ck_assert_int_eq(fs_psi_matcher_table(m[h], t, tab), FS_OK);
            ck_assert(tab[B] == 0);               /* the canary word */
            for (uint64_t s = 0; s <= B; s++) sum[s] += tab[s];
        }
        size_t found0 = 0;
        for (int h = 0; h < b->N; h++) {
            size_t f = fs_psi_matcher_detect(m[h], sum);
            if (h == 0) found0 = f;
            ck_assert_uint_eq(f, found0);         /* every holder sees the same zeros */
        }
        if (t == 1) first = found0;
    }
    free(tab);
    free(sum);
    return first;
}

START_TEST(test_match_exact)
{
    for (int N = 2; N <= MAXN; N++) {
        blocks b;
        make_blocks(&b, N, 700, 300, 1000);
        uint64_t sizes[MAXN], B;
        uint32_t R;
        double lm;
        for (int h = 0; h < N; h++) sizes[h] = b.n[h];
        fs_psi_plan(sizes, N, &B, &R, &lm);
        ck_assert(lm <= -40.0);
        uint8_t zk[MAXN][MAXN * 32];
        pair_keys(N, zk);
        fs_psi_matcher *m[MAXN] = { 0 };
        size_t first = run_rounds(&b, zk, m, B, R);
        for (int h = 0; h < N; h++) {
            const uint8_t *f = fs_psi_matcher_flags(m[h]);
            size_t marked = 0;
            for (size_t i = 0; i < b.n[h]; i++) {
                ck_assert_int_eq(f[i], b.kind[h][i]);
                marked += f[i];
            }
            ck_assert_uint_eq(marked, 700);
            fs_psi_matcher_destroy(&m[h]);
            ck_assert_ptr_null(m[h]);
        }
        /* Round 1 misses at most p = L / (2B) of the common tags (a bound;
         * 5 binomial standard deviations of slack). */
        double L = 0;
        for (int h = 0; h < N; h++) L += (double)b.n[h];
        double p = L / (2.0 * (double)B), sd = sqrt(700 * p * (1 - p));
        ck_assert_msg((double)(700 - first) <= 700 * p + 5 * sd,
                      "N=%d: round 1 missed %zu of 700 (bound %.1f)", N, 700 - first, 700 * p);
        free_blocks(&b);
    }
}
END_TEST

/* 3 holders with blocks (common, pair, own); `flip` != 0 breaks the pair
 * key of ranks 0 and 2 at rank 2.  Asserts that no tag gets marked. */
static void expect_none_marked(size_t common, size_t pair, size_t own, int flip)
{
    blocks b;
    make_blocks(&b, 3, common, pair, own);
    uint64_t sizes[3] = { b.n[0], b.n[1], b.n[2] }, B;
    uint32_t R;
    fs_psi_plan(sizes, 3, &B, &R, NULL);
    uint8_t zk[MAXN][MAXN * 32];
    pair_keys(3, zk);
    if (flip) zk[2][0] ^= 1;
    fs_psi_matcher *m[3] = { 0 };
    ck_assert_uint_eq(run_rounds(&b, zk, m, B, R), 0);
    for (int h = 0; h < 3; h++) {
        const uint8_t *f = fs_psi_matcher_flags(m[h]);
        for (size_t i = 0; i < b.n[h]; i++) ck_assert_int_eq(f[i], 0);
        fs_psi_matcher_destroy(&m[h]);
    }
    free_blocks(&b);
}

START_TEST(test_match_wrong_key)
{
    /* Positive control: rank 2's key for rank 0 differs from rank 0's key
     * for rank 2, so no slot cancels and nothing may be marked, although
     * 200 tags are in every block. */
    expect_none_marked(200, 50, 100, 1);
}
END_TEST

START_TEST(test_match_disjoint_slots)
{
    /* Holders of disjoint blocks: no slot of any round sums to 0. */
    expect_none_marked(0, 0, 400, 0);
}
END_TEST

START_TEST(test_plan)
{
    /* 3 x 2*10^5: B = ceil(e * 6*10^5 / 2), p <= 1/e, R = 40 rounds. */
    uint64_t s3[3] = { 200000, 200000, 200000 }, B;
    uint32_t R;
    double lm;
    fs_psi_plan(s3, 3, &B, &R, &lm);
    ck_assert_uint_eq(B, (uint64_t)ceil(M_E * 600000.0 / 2.0));
    ck_assert_uint_eq(R, 40);
    ck_assert(lm <= -40.0 && lm > -41.5);
    uint64_t s1m[3] = { 1000000, 1000000, 1000000 };
    fs_psi_plan(s1m, 3, &B, &R, &lm);
    ck_assert_uint_eq(R, 42);
    ck_assert(lm <= -40.0);
    uint64_t z[3] = { 10, 0, 10 };
    fs_psi_plan(z, 3, &B, &R, &lm);
    ck_assert(B == 0 && R == 0);
    fs_psi_plan(s3, 1, &B, &R, NULL);
    ck_assert(B == 0 && R == 0);
    uint64_t tiny[2] = { 1, 1 };
    fs_psi_plan(tiny, 2, &B, &R, &lm);
    ck_assert(B == 16 && R >= 1 && lm <= -40.0);
}
END_TEST

START_TEST(test_zero_share)
{
    uint8_t zk[MAXN][MAXN * 32];
    pair_keys(4, zk);
    uint64_t s[2] = { 0, 0 }, o[2];
    for (int r = 0; r < 4; r++) {
        ck_assert_int_eq(fs_psi_zero_share(zk[r], 4, r, (const uint8_t *)"same", 4, o), FS_OK);
        s[0] += o[0];
        s[1] += o[1];
    }
    ck_assert(s[0] == 0 && s[1] == 0);
    s[0] = s[1] = 0;
    for (int r = 0; r < 4; r++) {
        const char *msg = r == 3 ? "diff" : "same";
        ck_assert_int_eq(fs_psi_zero_share(zk[r], 4, r, (const uint8_t *)msg, 4, o), FS_OK);
        s[0] += o[0];
        s[1] += o[1];
    }
    ck_assert(s[0] != 0 && s[1] != 0);
}
END_TEST

int main(void)
{
    if (fs_crypto_init() != FS_OK) {
        fprintf(stderr, "fs_crypto_init: %s\n", fs_errmsg());
        return 99;
    }
    Suite *s = suite_create("psi");
    TCase *tc = tcase_create("match");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_match_exact);
    tcase_add_test(tc, test_match_wrong_key);
    tcase_add_test(tc, test_match_disjoint_slots);
    tcase_add_test(tc, test_plan);
    tcase_add_test(tc, test_zero_share);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

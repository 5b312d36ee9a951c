/*
 * fs_aesctr.c - AES-128-CTR keystream kernel on VAES + AVX-512 with the
 * secure sum's "add the keystream into the ring words" fused in (crypto
 * layer; no MPI).  Used by fs_prg.c when the CPU has the instructions;
 * otherwise fs_prg.c uses OpenSSL's EVP AES-128-CTR.  Both produce the
 * same keystream, bit for bit (tests/unit/check_secsum.c compares them
 * against OpenSSL for random keys, counters, carries and split points), so
 * parties on different CPUs interoperate.
 *
 * Why not OpenSSL alone: OpenSSL 3.0's AES-CTR uses 128-bit AES-NI, one
 * block per instruction, and only XORs into a buffer.  The masker needs
 * out[k] += ks[k] (mod 2^b), so with OpenSSL it must first store the
 * keystream and then add it in a second pass, which costs about a third
 * of OpenSSL's rate (docs/testing.md, "Benchmarks").  Here vaesenc works
 * on four blocks per instruction and the keystream goes straight from
 * registers into the add, never to memory.
 *
 * Not new cryptography: the AES rounds are the hardware's (FIPS-197 by
 * construction: AESENC/AESENCLAST on 128-bit lanes), the key expansion is
 * Intel's AESKEYGENASSIST recipe, and the CTR counter is the 128-bit
 * big-endian increment of NIST SP 800-38A as OpenSSL does it.  Runs in
 * constant time (no table lookups).
 *
 * Counter: block b of a stream with initial counter block IV is
 * AES_k(IV + b) with IV read as one 128-bit big-endian integer.  The
 * vector loop keeps the low 32 bits in a register lane and the high 96
 * bits fixed, so it is split wherever the low word wraps.
 *
 * Secrets: the expanded key lives in the caller's fs_aes128_key (wiped by
 * the caller); keystream blocks exist only in registers, which are zeroed
 * after every call, and in a 16-byte stack buffer for partial blocks,
 * which is wiped before returning.
 */
#include <string.h>
#include "crypto/fs_prg_impl.h"

#if defined(__x86_64__) && defined(__GNUC__) && \
    (defined(__clang__) || __GNUC__ >= 9)
#define FS_HAVE_VAES_BUILD 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define FS_HAVE_VAES_BUILD 0
#endif

/* Apply n bytes of keystream ks to out according to op (scalar; used for
 * partial blocks only).  For the word ops n and the stream position are
 * multiples of the word size (checked by the caller).  A 32-bit word is
 * handled in the low half of a 64-bit one: this file's kernel only exists
 * on x86-64, which is little-endian, and the carry out of bit 31 lands in
 * the discarded high half, so the result is the sum mod 2^32. */
static void apply_bytes(unsigned char *out, const unsigned char *ks, size_t n, int op)
{
    if (op == FS_KS_STORE) {
        memcpy(out, ks, n);
        return;
    }
    const size_t wb = op == FS_KS_ADD32 || op == FS_KS_SUB32 ? 4 : 8;
    const int add = op == FS_KS_ADD32 || op == FS_KS_ADD64;
    for (size_t i = 0; i + wb <= n; i += wb) {
        uint64_t a = 0, k = 0;
        memcpy(&a, out + i, wb);
        memcpy(&k, ks + i, wb);
        a = add ? a + k : a - k;
        memcpy(out + i, &a, wb);
    }
}

/* ctr = iv + b as 128-bit big-endian integers. */
static void counter_at(const uint8_t iv[16], uint64_t b, uint8_t ctr[16])
{
    unsigned carry = 0;
    for (int i = 15; i >= 0; i--) {
        unsigned s = iv[i] + (unsigned)(b & 0xff) + carry;
        ctr[i] = (uint8_t)s;
        carry = s >> 8;
        b >>= 8;
    }
}

#if FS_HAVE_VAES_BUILD

#define FS_VAES_TARGET __attribute__((target("aes,avx2,avx512f,avx512bw,vaes")))

/* CPUID feature bits (Intel SDM vol. 2A, CPUID) and the XCR0 state bits
 * the OS must enable for AVX-512: SSE, AVX, opmask, ZMM0-15 upper halves,
 * ZMM16-31.  Read directly because compilers disagree on which names
 * __builtin_cpu_supports knows (clang 14 has no "vaes"). */
#define CPUID1_ECX_AES      (1u << 25)
#define CPUID1_ECX_OSXSAVE  (1u << 27)
#define CPUID7_EBX_AVX512F  (1u << 16)
#define CPUID7_EBX_AVX512BW (1u << 30)
#define CPUID7_ECX_VAES     (1u << 9)
#define XCR0_AVX512_STATE   0xe6u

static int detect_fast(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & CPUID1_ECX_AES) || !(c & CPUID1_ECX_OSXSAVE))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & XCR0_AVX512_STATE) != XCR0_AVX512_STATE)
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b & CPUID7_EBX_AVX512F) && (b & CPUID7_EBX_AVX512BW) && (c & CPUID7_ECX_VAES);
}

int fs_aesctr_fast_available(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = detect_fast();
    return cached;
}

/* Zero every vector register: they held round keys and keystream.
 * VZEROALL covers zmm0-15; zmm16-31 need explicit zeroing idioms. */
FS_VAES_TARGET
static void clear_vector_registers(void)
{
    __asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                     "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                     "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                     "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                     "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                     "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                     "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                     "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31"
                     ::: "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
                     "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
    _mm256_zeroall();
}

/* One AES-128 key-expansion step: w[4i..4i+3] from w[4i-4..4i-1] and
 * gen = AESKEYGENASSIST(prev, rcon) (FIPS-197 section 5.2). */
FS_VAES_TARGET
static __m128i expand_step(__m128i key, __m128i gen)
{
    gen = _mm_shuffle_epi32(gen, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, gen);
}

FS_VAES_TARGET
void fs_aes128_expand(const uint8_t key[16], fs_aes128_key *ks)
{
    __m128i k[11];
    k[0] = _mm_loadu_si128((const __m128i *)key);
    // AESKEYGENASSIST takes its round constant as an immediate: unrolled.
    k[1] = expand_step(k[0], _mm_aeskeygenassist_si128(k[0], 0x01));
    k[2] = expand_step(k[1], _mm_aeskeygenassist_si128(k[1], 0x02));
    k[3] = expand_step(k[2], _mm_aeskeygenassist_si128(k[2], 0x04));
    k[4] = expand_step(k[3], _mm_aeskeygenassist_si128(k[3], 0x08));
    k[5] = expand_step(k[4], _mm_aeskeygenassist_si128(k[4], 0x10));
    k[6] = expand_step(k[5], _mm_aeskeygenassist_si128(k[5], 0x20));
    k[7] = expand_step(k[6], _mm_aeskeygenassist_si128(k[6], 0x40));
    k[8] = expand_step(k[7], _mm_aeskeygenassist_si128(k[7], 0x80));
    k[9] = expand_step(k[8], _mm_aeskeygenassist_si128(k[8], 0x1b));
    k[10] = expand_step(k[9], _mm_aeskeygenassist_si128(k[9], 0x36));
    for (int r = 0; r < 11; r++)
        _mm_storeu_si128((__m128i *)ks->rk[r], k[r]);
    fs_secure_zero(k, sizeof k);
    clear_vector_registers();
}

/* Encrypt one counter block (partial blocks at the ends of a call). */
FS_VAES_TARGET
static void encrypt_block(const fs_aes128_key *ks, const uint8_t in[16], uint8_t out[16])
{
    __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in),
                              _mm_loadu_si128((const __m128i *)ks->rk[0]));
    for (int r = 1; r < 10; r++)
        x = _mm_aesenc_si128(x, _mm_loadu_si128((const __m128i *)ks->rk[r]));
    x = _mm_aesenclast_si128(x, _mm_loadu_si128((const __m128i *)ks->rk[10]));
    _mm_storeu_si128((__m128i *)out, x);
}

/* out = op(out, keystream) for one 512-bit vector (four blocks); `mask`
 * selects the bytes that exist (all ones except for the last vector). */
#define APPLY_ZMM(op, ptr, ks, mask)                                                   \
    do {                                                                               \
        __m512i o_;                                                                    \
        if ((op) == FS_KS_STORE) {                                                     \
            o_ = (ks);                                                                 \
        } else {                                                                       \
            o_ = _mm512_maskz_loadu_epi8((mask), (ptr));                               \
            if ((op) == FS_KS_ADD32) o_ = _mm512_add_epi32(o_, (ks));                  \
            else if ((op) == FS_KS_SUB32) o_ = _mm512_sub_epi32(o_, (ks));             \
            else if ((op) == FS_KS_ADD64) o_ = _mm512_add_epi64(o_, (ks));             \
            else o_ = _mm512_sub_epi64(o_, (ks));                                      \
        }                                                                              \
        _mm512_mask_storeu_epi8((ptr), (mask), o_);                                    \
    } while (0)

/* One AES round (k = 1..9) or the last round (k = 10) on x0..x7. */
#define ROUND8(k)                                                                      \
    do {                                                                               \
        x0 = _mm512_aesenc_epi128(x0, rk##k); x1 = _mm512_aesenc_epi128(x1, rk##k);    \
        x2 = _mm512_aesenc_epi128(x2, rk##k); x3 = _mm512_aesenc_epi128(x3, rk##k);    \
        x4 = _mm512_aesenc_epi128(x4, rk##k); x5 = _mm512_aesenc_epi128(x5, rk##k);    \
        x6 = _mm512_aesenc_epi128(x6, rk##k); x7 = _mm512_aesenc_epi128(x7, rk##k);    \
    } while (0)
#define LAST8()                                                                        \
    do {                                                                               \
        x0 = _mm512_aesenclast_epi128(x0, rk10); x1 = _mm512_aesenclast_epi128(x1, rk10); \
        x2 = _mm512_aesenclast_epi128(x2, rk10); x3 = _mm512_aesenclast_epi128(x3, rk10); \
        x4 = _mm512_aesenclast_epi128(x4, rk10); x5 = _mm512_aesenclast_epi128(x5, rk10); \
        x6 = _mm512_aesenclast_epi128(x6, rk10); x7 = _mm512_aesenclast_epi128(x7, rk10); \
    } while (0)
/* x = round-0 whitened next counter vector; advance the counters. */
#define NEXT_CTR(x)                                                                    \
    do {                                                                               \
        (x) = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, bswap), rk0);                  \
        ctr = _mm512_add_epi32(ctr, four);                                             \
    } while (0)
/* All ten rounds on one vector x. */
#define ROUNDS1(x)                                                                     \
    do {                                                                               \
        (x) = _mm512_aesenc_epi128((x), rk1); (x) = _mm512_aesenc_epi128((x), rk2);    \
        (x) = _mm512_aesenc_epi128((x), rk3); (x) = _mm512_aesenc_epi128((x), rk4);    \
        (x) = _mm512_aesenc_epi128((x), rk5); (x) = _mm512_aesenc_epi128((x), rk6);    \
        (x) = _mm512_aesenc_epi128((x), rk7); (x) = _mm512_aesenc_epi128((x), rk8);    \
        (x) = _mm512_aesenc_epi128((x), rk9); (x) = _mm512_aesenclast_epi128((x), rk10); \
    } while (0)

/*
 * nblocks whole blocks starting at counter hi12 || lo (lo + nblocks - 1
 * must not wrap 2^32), applied to out with op.  Eight vectors (32 blocks,
 * 512 bytes) per iteration keep enough independent vaesenc in flight to
 * hide their latency.
 */
static inline __attribute__((always_inline)) FS_VAES_TARGET
void blocks_op(const fs_aes128_key *ks, const uint8_t hi12[12], uint32_t lo,
               unsigned char *out, uint64_t nblocks, const int op)
{
    // Round keys and the eight blocks in flight are named registers (the
    // loops are unrolled by hand: -O2 would keep arrays on the stack).
#define RK(r) _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ks->rk[r]))
    const __m512i rk0 = RK(0), rk1 = RK(1), rk2 = RK(2), rk3 = RK(3), rk4 = RK(4), rk5 = RK(5),
                  rk6 = RK(6), rk7 = RK(7), rk8 = RK(8), rk9 = RK(9), rk10 = RK(10);
#undef RK
    uint8_t first[16];
    memcpy(first, hi12, 12);
    memcpy(first + 12, &lo, 4);     // native (little-endian) low word
    // Lanes hold hi12 || LE32(lo + lane); the shuffle byte-reverses the low
    // word into the big-endian counter block AES expects.
    __m512i ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)first)),
                                   _mm512_set_epi32(3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0));
    const __m512i bswap = _mm512_broadcast_i32x4(
        _mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    const __m512i four = _mm512_broadcast_i32x4(_mm_set_epi32(4, 0, 0, 0));
    const __mmask64 all = ~(__mmask64)0;
    while (nblocks >= 32) {
        __m512i x0, x1, x2, x3, x4, x5, x6, x7;
        NEXT_CTR(x0); NEXT_CTR(x1); NEXT_CTR(x2); NEXT_CTR(x3);
        NEXT_CTR(x4); NEXT_CTR(x5); NEXT_CTR(x6); NEXT_CTR(x7);
        ROUND8(1); ROUND8(2); ROUND8(3); ROUND8(4); ROUND8(5);
        ROUND8(6); ROUND8(7); ROUND8(8); ROUND8(9); LAST8();
        APPLY_ZMM(op, out, x0, all);
        APPLY_ZMM(op, out + 64, x1, all);
        APPLY_ZMM(op, out + 128, x2, all);
        APPLY_ZMM(op, out + 192, x3, all);
        APPLY_ZMM(op, out + 256, x4, all);
        APPLY_ZMM(op, out + 320, x5, all);
        APPLY_ZMM(op, out + 384, x6, all);
        APPLY_ZMM(op, out + 448, x7, all);
        out += 512;
        nblocks -= 32;
    }
    while (nblocks > 0) {
        const uint64_t nb = nblocks < 4 ? nblocks : 4;
        const __mmask64 m = nb == 4 ? all : (((__mmask64)1 << (16 * nb)) - 1);
        __m512i x;
        NEXT_CTR(x);
        ROUNDS1(x);
        APPLY_ZMM(op, out, x, m);
        out += 16 * nb;
        nblocks -= nb;
    }
    fs_secure_zero(first, sizeof first);
}

FS_VAES_TARGET
static void blocks_any(const fs_aes128_key *ks, const uint8_t hi12[12], uint32_t lo,
                       unsigned char *out, uint64_t nblocks, int op)
{
    switch (op) {   // one specialised copy of the loop per operation
    case FS_KS_STORE: blocks_op(ks, hi12, lo, out, nblocks, FS_KS_STORE); break;
    case FS_KS_ADD32: blocks_op(ks, hi12, lo, out, nblocks, FS_KS_ADD32); break;
    case FS_KS_SUB32: blocks_op(ks, hi12, lo, out, nblocks, FS_KS_SUB32); break;
    case FS_KS_ADD64: blocks_op(ks, hi12, lo, out, nblocks, FS_KS_ADD64); break;
    default:          blocks_op(ks, hi12, lo, out, nblocks, FS_KS_SUB64); break;
    }
}

void fs_aesctr_apply(const fs_aes128_key *ks, const uint8_t iv[16], uint64_t pos, void *outv,
                     size_t nbytes, int op)
{
    unsigned char *out = outv;
    uint8_t ctr[16], kb[16];    // kb: secret keystream of one partial block
    while (nbytes > 0) {
        const uint64_t b = pos / 16;
        const size_t off = (size_t)(pos % 16);
        counter_at(iv, b, ctr);
        if (off != 0 || nbytes < 16) {
            const size_t take = nbytes < 16 - off ? nbytes : 16 - off;
            encrypt_block(ks, ctr, kb);
            apply_bytes(out, kb + off, take, op);
            out += take;
            pos += take;
            nbytes -= take;
            continue;
        }
        // Whole blocks up to the next wrap of the low 32-bit counter word.
        const uint32_t lo = (uint32_t)ctr[12] << 24 | (uint32_t)ctr[13] << 16 |
                            (uint32_t)ctr[14] << 8 | ctr[15];
        uint64_t nb = nbytes / 16;
        if (nb > (UINT64_C(1) << 32) - lo)
            nb = (UINT64_C(1) << 32) - lo;
        blocks_any(ks, ctr, lo, out, nb, op);
        out += 16 * nb;
        pos += 16 * nb;
        nbytes -= 16 * nb;
    }
    fs_secure_zero(kb, sizeof kb);
    clear_vector_registers();
}

#else /* !FS_HAVE_VAES_BUILD */

int fs_aesctr_fast_available(void) { return 0; }

void fs_aes128_expand(const uint8_t key[16], fs_aes128_key *ks)
{
    (void)key;
    memset(ks, 0, sizeof *ks);
}

void fs_aesctr_apply(const fs_aes128_key *ks, const uint8_t iv[16], uint64_t pos, void *out,
                     size_t nbytes, int op)
{
    // Never called: fs_prg.c only calls this when fs_aesctr_fast_available().
    (void)ks; (void)iv; (void)pos; (void)out; (void)nbytes; (void)op;
    (void)apply_bytes; (void)counter_at;
}

#endif

/*
 * fs_aesctr.c - AES-128-CTR keystream kernels with the secure sum's "add
 * the keystream into the ring words" fused in (crypto layer; no MPI).
 * Three instantiations of one block loop (fs_aesctr_tmpl.h):
 *
 *   aesni        AES-NI on xmm, one block per instruction   (AES + AVX)
 *   vaes-avx2    VAES on ymm, two blocks per instruction    (+ AVX2, VAES)
 *   vaes-avx512  VAES on zmm, four blocks per instruction   (+ AVX-512F/BW)
 *
 * fs_prg.c uses the widest one the CPU and OS support, else OpenSSL's EVP
 * AES-128-CTR.  All produce the same keystream, bit for bit
 * (tests/unit/check_secsum.c compares each against OpenSSL for random
 * keys, counters, carries and split points), so parties on different CPUs
 * interoperate.
 *
 * Why not OpenSSL alone: OpenSSL 3.0's AES-CTR uses 128-bit AES-NI, one
 * block per instruction, and only XORs into a buffer.  The masker needs
 * out[k] += ks[k] (mod 2^b), so with OpenSSL it must first store the
 * keystream and then add it in a second pass (docs/testing.md,
 * "Benchmarks").  Here the keystream goes straight from registers into the
 * add, never to memory, and VAES runs an AES round on two or four blocks
 * per instruction.
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

#define FS_AESNI_TARGET __attribute__((target("aes,avx")))
#define FS_VAES2_TARGET __attribute__((target("aes,avx2,vaes")))
#define FS_VAES5_TARGET __attribute__((target("aes,avx2,avx512f,avx512bw,vaes")))

/* CPUID feature bits (Intel SDM vol. 2A, CPUID) and the XCR0 state bits
 * the OS must enable: SSE and AVX (YMM upper halves); for AVX-512 also the
 * opmask, ZMM0-15 upper halves and ZMM16-31.  Read directly because
 * compilers disagree on which names __builtin_cpu_supports knows (clang 14
 * has no "vaes"). */
#define CPUID1_ECX_AES      (1u << 25)
#define CPUID1_ECX_OSXSAVE  (1u << 27)
#define CPUID1_ECX_AVX      (1u << 28)
#define CPUID7_EBX_AVX2     (1u << 5)
#define CPUID7_EBX_AVX512F  (1u << 16)
#define CPUID7_EBX_AVX512BW (1u << 30)
#define CPUID7_ECX_VAES     (1u << 9)
#define XCR0_AVX_STATE      0x06u
#define XCR0_AVX512_STATE   0xe6u

static unsigned detect_kernels(void)
{
    unsigned a, b, c, d, set = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & CPUID1_ECX_AES) || !(c & CPUID1_ECX_OSXSAVE) ||
        !(c & CPUID1_ECX_AVX))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & XCR0_AVX_STATE) != XCR0_AVX_STATE)
        return 0;
    set |= 1u << FS_AESCTR_AESNI;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & CPUID7_ECX_VAES) ||
        !(b & CPUID7_EBX_AVX2))
        return set;
    set |= 1u << FS_AESCTR_VAES_AVX2;
    if ((lo & XCR0_AVX512_STATE) == XCR0_AVX512_STATE && (b & CPUID7_EBX_AVX512F) &&
        (b & CPUID7_EBX_AVX512BW))
        set |= 1u << FS_AESCTR_VAES_AVX512;
    return set;
}

unsigned fs_aesctr_available(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = (int)detect_kernels();
    return (unsigned)cached;
}

/* Zero every vector register: they held round keys and keystream.
 * VZEROALL covers ymm0-15; zmm16-31 need explicit zeroing idioms. */
FS_AESNI_TARGET
static void clear_ymm(void)
{
    _mm256_zeroall();
}

FS_VAES5_TARGET
static void clear_zmm(void)
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
FS_AESNI_TARGET
static __m128i expand_step(__m128i key, __m128i gen)
{
    gen = _mm_shuffle_epi32(gen, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, gen);
}

FS_AESNI_TARGET
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
    clear_ymm();
}

/* Encrypt one counter block (partial blocks at the ends of a call). */
FS_AESNI_TARGET
static void encrypt_block(const fs_aes128_key *ks, const uint8_t in[16], uint8_t out[16])
{
    __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in),
                              _mm_loadu_si128((const __m128i *)ks->rk[0]));
    for (int r = 1; r < 10; r++)
        x = _mm_aesenc_si128(x, _mm_loadu_si128((const __m128i *)ks->rk[r]));
    x = _mm_aesenclast_si128(x, _mm_loadu_si128((const __m128i *)ks->rk[10]));
    _mm_storeu_si128((__m128i *)out, x);
}

// ---- the block loop, once per vector width (fs_aesctr_tmpl.h)

#define KSUFFIX aesni
#define KTARGET FS_AESNI_TARGET
#define KBPV 1
#define VEC __m128i
#define VLOADU(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define VSTOREU(p, x) _mm_storeu_si128((__m128i *)(void *)(p), (x))
#define VBCAST(x) (x)
#define VAESENC _mm_aesenc_si128
#define VAESLAST _mm_aesenclast_si128
#define VXOR _mm_xor_si128
#define VADD32 _mm_add_epi32
#define VSUB32 _mm_sub_epi32
#define VADD64 _mm_add_epi64
#define VSUB64 _mm_sub_epi64
#define VSHUF _mm_shuffle_epi8
#include "fs_aesctr_tmpl.h"

#define KSUFFIX vaes_avx2
#define KTARGET FS_VAES2_TARGET
#define KBPV 2
#define VEC __m256i
#define VLOADU(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define VSTOREU(p, x) _mm256_storeu_si256((__m256i *)(void *)(p), (x))
#define VBCAST _mm256_broadcastsi128_si256
#define VAESENC _mm256_aesenc_epi128
#define VAESLAST _mm256_aesenclast_epi128
#define VXOR _mm256_xor_si256
#define VADD32 _mm256_add_epi32
#define VSUB32 _mm256_sub_epi32
#define VADD64 _mm256_add_epi64
#define VSUB64 _mm256_sub_epi64
#define VSHUF _mm256_shuffle_epi8
#include "fs_aesctr_tmpl.h"

#define KSUFFIX vaes_avx512
#define KTARGET FS_VAES5_TARGET
#define KBPV 4
#define VEC __m512i
#define VLOADU(p) _mm512_loadu_si512((const void *)(p))
#define VSTOREU(p, x) _mm512_storeu_si512((void *)(p), (x))
#define VBCAST _mm512_broadcast_i32x4
#define VAESENC _mm512_aesenc_epi128
#define VAESLAST _mm512_aesenclast_epi128
#define VXOR _mm512_xor_si512
#define VADD32 _mm512_add_epi32
#define VSUB32 _mm512_sub_epi32
#define VADD64 _mm512_add_epi64
#define VSUB64 _mm512_sub_epi64
#define VSHUF _mm512_shuffle_epi8
#include "fs_aesctr_tmpl.h"

const char *fs_aesctr_name(int kernel)
{
    switch (kernel) {
    case FS_AESCTR_AESNI: return "aesni";
    case FS_AESCTR_VAES_AVX2: return "vaes-avx2";
    case FS_AESCTR_VAES_AVX512: return "vaes-avx512";
    default: return "openssl";
    }
}

void fs_aesctr_apply(int kernel, const fs_aes128_key *ks, const uint8_t iv[16], uint64_t pos,
                     void *outv, size_t nbytes, int op)
{
    unsigned char *out = outv;
    uint8_t ctr[16], kb[16];    // kb: secret keystream of one partial block
    const size_t vb = kernel == FS_AESCTR_VAES_AVX512 ? 64 : kernel == FS_AESCTR_VAES_AVX2 ? 32
                                                                                           : 16;
    while (nbytes > 0) {
        const uint64_t b = pos / 16;
        const size_t off = (size_t)(pos % 16);
        counter_at(iv, b, ctr);
        if (off != 0 || nbytes < vb) {
            // A partial block, or whole blocks fewer than one vector holds.
            const size_t take = nbytes < 16 - off ? nbytes : 16 - off;
            encrypt_block(ks, ctr, kb);
            apply_bytes(out, kb + off, take, op);
            out += take;
            pos += take;
            nbytes -= take;
            continue;
        }
        // Whole vectors up to the next wrap of the low 32-bit counter word.
        const uint32_t lo = (uint32_t)ctr[12] << 24 | (uint32_t)ctr[13] << 16 |
                            (uint32_t)ctr[14] << 8 | ctr[15];
        uint64_t nb = nbytes / 16;
        if (nb > (UINT64_C(1) << 32) - lo)
            nb = (UINT64_C(1) << 32) - lo;
        if (kernel == FS_AESCTR_VAES_AVX512)
            nb = blocks_vaes_avx512(ks, ctr, lo, out, nb, op);
        else if (kernel == FS_AESCTR_VAES_AVX2)
            nb = blocks_vaes_avx2(ks, ctr, lo, out, nb, op);
        else
            nb = blocks_aesni(ks, ctr, lo, out, nb, op);
        if (nb == 0) {
            // Fewer blocks than one vector before the wrap: one at a time.
            encrypt_block(ks, ctr, kb);
            apply_bytes(out, kb, 16, op);
            nb = 1;
        }
        out += 16 * nb;
        pos += 16 * nb;
        nbytes -= 16 * nb;
    }
    fs_secure_zero(kb, sizeof kb);
    if (kernel == FS_AESCTR_VAES_AVX512)
        clear_zmm();
    else
        clear_ymm();
}

#else /* !FS_HAVE_VAES_BUILD */

unsigned fs_aesctr_available(void) { return 0; }

const char *fs_aesctr_name(int kernel)
{
    (void)kernel;
    return "openssl";
}

void fs_aes128_expand(const uint8_t key[16], fs_aes128_key *ks)
{
    (void)key;
    memset(ks, 0, sizeof *ks);
}

void fs_aesctr_apply(int kernel, const fs_aes128_key *ks, const uint8_t iv[16], uint64_t pos,
                     void *out, size_t nbytes, int op)
{
    // Never called: fs_prg.c only calls this for a kernel in fs_aesctr_available().
    (void)kernel; (void)ks; (void)iv; (void)pos; (void)out; (void)nbytes; (void)op;
    (void)apply_bytes; (void)counter_at;
}

#endif

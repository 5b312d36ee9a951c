/*
 * fs_aesctr_tmpl.h - the AES-128-CTR block loop of fs_aesctr.c, written
 * once and instantiated per vector width (included by fs_aesctr.c only,
 * three times; not a public header).  One vector holds KBPV counter blocks
 * (1 for AES-NI on xmm, 2 for VAES on ymm, 4 for VAES on zmm); a vaesenc
 * runs one AES round on every block of the vector.
 *
 * The including file defines, before each inclusion:
 *   KSUFFIX        name suffix of the instantiated functions
 *   KTARGET        the function attribute enabling the instructions
 *   KBPV           counter blocks per vector
 *   VEC            the vector type
 *   VLOADU(p), VSTOREU(p, x), VBCAST(x128), VAESENC(x, k), VAESLAST(x, k),
 *   VXOR, VADD32, VSUB32, VADD64, VSUB64, VSHUF (byte shuffle within each
 *   128-bit lane)
 * and gets
 *   static uint64_t blocks_<KSUFFIX>(ks, hi12, lo, out, nblocks, op):
 *   applies the keystream of blocks hi12 || (lo + t), t = 0 .. m-1, to out
 *   with op (FS_KS_*), where m = nblocks rounded down to a multiple of
 *   KBPV; returns m.  lo + m - 1 must not wrap 2^32 (the caller splits).
 * The keystream never leaves the registers except through op's store.
 * All the macros above are undefined again at the end of this file.
 */

#define KPASTE2(a, b) a##_##b
#define KPASTE(a, b) KPASTE2(a, b)
#define KFN(name) KPASTE(name, KSUFFIX)

/* out = op(out, ks) for one vector of keystream. */
#define KAPPLY(op, ptr, ks)                                                            \
    do {                                                                               \
        VEC o_ = (ks);                                                                 \
        if ((op) != FS_KS_STORE) {                                                     \
            const VEC w_ = VLOADU(ptr);                                                \
            if ((op) == FS_KS_ADD32) o_ = VADD32(w_, (ks));                            \
            else if ((op) == FS_KS_SUB32) o_ = VSUB32(w_, (ks));                       \
            else if ((op) == FS_KS_ADD64) o_ = VADD64(w_, (ks));                       \
            else o_ = VSUB64(w_, (ks));                                                \
        }                                                                              \
        VSTOREU(ptr, o_);                                                              \
    } while (0)

/* One AES round (k = 1..9) or the last round (k = 10) on x0..x7. */
#define KROUND8(k)                                                                     \
    do {                                                                               \
        x0 = VAESENC(x0, rk##k); x1 = VAESENC(x1, rk##k);                              \
        x2 = VAESENC(x2, rk##k); x3 = VAESENC(x3, rk##k);                              \
        x4 = VAESENC(x4, rk##k); x5 = VAESENC(x5, rk##k);                              \
        x6 = VAESENC(x6, rk##k); x7 = VAESENC(x7, rk##k);                              \
    } while (0)
#define KLAST8()                                                                       \
    do {                                                                               \
        x0 = VAESLAST(x0, rk10); x1 = VAESLAST(x1, rk10);                              \
        x2 = VAESLAST(x2, rk10); x3 = VAESLAST(x3, rk10);                              \
        x4 = VAESLAST(x4, rk10); x5 = VAESLAST(x5, rk10);                              \
        x6 = VAESLAST(x6, rk10); x7 = VAESLAST(x7, rk10);                              \
    } while (0)
/* x = round-0 whitened next counter vector; advance the counters. */
#define KNEXT(x)                                                                       \
    do {                                                                               \
        (x) = VXOR(VSHUF(ctr, bswap), rk0);                                            \
        ctr = VADD32(ctr, step);                                                       \
    } while (0)

static inline __attribute__((always_inline)) KTARGET
uint64_t KFN(blocks_op)(const fs_aes128_key *ks, const uint8_t hi12[12], uint32_t lo,
                        unsigned char *out, uint64_t nblocks, const int op)
{
    // Round keys and the eight vectors in flight (enough independent
    // vaesenc to cover their latency) are named registers: the loops are
    // unrolled by hand, -O2 would keep arrays on the stack.
#define KRK(r) VBCAST(_mm_loadu_si128((const __m128i *)ks->rk[r]))
    const VEC rk0 = KRK(0), rk1 = KRK(1), rk2 = KRK(2), rk3 = KRK(3), rk4 = KRK(4), rk5 = KRK(5),
              rk6 = KRK(6), rk7 = KRK(7), rk8 = KRK(8), rk9 = KRK(9), rk10 = KRK(10);
#undef KRK
    // Lane t of the counter vector holds hi12 || LE32(lo + t); the shuffle
    // byte-reverses the low word into the big-endian block AES expects.
    uint8_t first[16];
    uint32_t lane[4 * KBPV], inc[4 * KBPV];
    memcpy(first, hi12, 12);
    memcpy(first + 12, &lo, 4);     // native (little-endian) low word
    for (int t = 0; t < KBPV; t++) {
        lane[4 * t] = lane[4 * t + 1] = lane[4 * t + 2] = 0;
        inc[4 * t] = inc[4 * t + 1] = inc[4 * t + 2] = 0;
        lane[4 * t + 3] = (uint32_t)t;
        inc[4 * t + 3] = KBPV;
    }
    VEC ctr = VADD32(VBCAST(_mm_loadu_si128((const __m128i *)first)), VLOADU(lane));
    const VEC step = VLOADU(inc);
    const VEC bswap = VBCAST(_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    const uint64_t total = nblocks - nblocks % KBPV;
    const size_t vb = 16 * KBPV;    // bytes per vector
    nblocks = total;
    while (nblocks >= 8 * KBPV) {
        VEC x0, x1, x2, x3, x4, x5, x6, x7;
        KNEXT(x0); KNEXT(x1); KNEXT(x2); KNEXT(x3);
        KNEXT(x4); KNEXT(x5); KNEXT(x6); KNEXT(x7);
        KROUND8(1); KROUND8(2); KROUND8(3); KROUND8(4); KROUND8(5);
        KROUND8(6); KROUND8(7); KROUND8(8); KROUND8(9); KLAST8();
        KAPPLY(op, out, x0);
        KAPPLY(op, out + vb, x1);
        KAPPLY(op, out + 2 * vb, x2);
        KAPPLY(op, out + 3 * vb, x3);
        KAPPLY(op, out + 4 * vb, x4);
        KAPPLY(op, out + 5 * vb, x5);
        KAPPLY(op, out + 6 * vb, x6);
        KAPPLY(op, out + 7 * vb, x7);
        out += 8 * vb;
        nblocks -= 8 * KBPV;
    }
    while (nblocks > 0) {
        VEC x;
        KNEXT(x);
        x = VAESENC(x, rk1); x = VAESENC(x, rk2); x = VAESENC(x, rk3);
        x = VAESENC(x, rk4); x = VAESENC(x, rk5); x = VAESENC(x, rk6);
        x = VAESENC(x, rk7); x = VAESENC(x, rk8); x = VAESENC(x, rk9);
        x = VAESLAST(x, rk10);
        KAPPLY(op, out, x);
        out += vb;
        nblocks -= KBPV;
    }
    fs_secure_zero(first, sizeof first);
    return total;
}

/* One specialised copy of the loop per operation. */
KTARGET
static uint64_t KFN(blocks)(const fs_aes128_key *ks, const uint8_t hi12[12], uint32_t lo,
                            unsigned char *out, uint64_t nblocks, int op)
{
    switch (op) {
    case FS_KS_STORE: return KFN(blocks_op)(ks, hi12, lo, out, nblocks, FS_KS_STORE);
    case FS_KS_ADD32: return KFN(blocks_op)(ks, hi12, lo, out, nblocks, FS_KS_ADD32);
    case FS_KS_SUB32: return KFN(blocks_op)(ks, hi12, lo, out, nblocks, FS_KS_SUB32);
    case FS_KS_ADD64: return KFN(blocks_op)(ks, hi12, lo, out, nblocks, FS_KS_ADD64);
    default:          return KFN(blocks_op)(ks, hi12, lo, out, nblocks, FS_KS_SUB64);
    }
}

#undef KAPPLY
#undef KROUND8
#undef KLAST8
#undef KNEXT
#undef KFN
#undef KPASTE
#undef KPASTE2
#undef KSUFFIX
#undef KTARGET
#undef KBPV
#undef VEC
#undef VLOADU
#undef VSTOREU
#undef VBCAST
#undef VAESENC
#undef VAESLAST
#undef VXOR
#undef VADD32
#undef VSUB32
#undef VADD64
#undef VSUB64
#undef VSHUF

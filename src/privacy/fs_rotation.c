/*
 * fs_rotation.c - randomized Walsh-Hadamard rotation (privacy layer; no
 * MPI, never prints).
 *
 *     rotate:    y = H D [x; 0] / sqrt(d')
 *     unrotate:  x = D H y / sqrt(d')
 *
 * H is the d' x d' Sylvester Hadamard matrix (d' a power of two), applied
 * in place by the iterative butterfly (a, b) -> (a + b, a - b) over log2 d'
 * levels: O(d' log d') additions.  H is symmetric and H H = d' I, so with
 * the random sign diagonal D (D D = I) the two maps are inverse orthogonal
 * transforms.  The signs are the bits of the AES-CTR keystream of the
 * shared seed at nonce (nonce, "rotD"): bit j of the stream is the sign of
 * coordinate j.  Used before distributed-DP noise so that the L-infinity
 * norm of a vector of L2 norm c is about c sqrt(2 log(d') / d') with high
 * probability (Kairouz, Liu, Steinke 2021, "The Distributed Discrete
 * Gaussian Mechanism for Federated Learning with Secure Aggregation"),
 * which keeps modular clipping rare.
 */
#include <math.h>
#include <string.h>

#include "fs_impl.h"
#include "fedsilo/fs_prg.h"
#include "fedsilo/fs_dp.h"

#define ROT_STREAM_ID UINT32_C(0x726f7444)   /* "rotD" */
#define ROT_CHUNK 512                         /* sign bytes per keystream read */

size_t fs_dp_rotation_dim(size_t n)
{
    if (n == 0 || n > ((size_t)1 << 62)) return 0;
    size_t d = 1;
    while (d < n) d <<= 1;
    return d;
}

static fs_err check_dims(const void *seed, const void *buf, size_t n, size_t dpad)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(seed && buf, "rotation: NULL seed or buffer");
    FS_CHECK_ARG(n >= 1 && n <= dpad && fs_dp_rotation_dim(dpad) == dpad,
                 "rotation: padded length %zu must be a power of two >= n = %zu", dpad, n);
done:
    return rc;
}

/* Multiply buf (dpad entries) by the sign diagonal D of (seed, nonce). */
#define DEFINE_SIGNS(NAME, T)                                                          \
    static fs_err NAME(const uint8_t *seed, uint64_t nonce, T *buf, size_t dpad)      \
    {                                                                                  \
        fs_err rc = FS_OK;                                                             \
        fs_prg *prg = NULL;                                                            \
        uint8_t bits[ROT_CHUNK];                                                       \
        FS_TRY(fs_prg_create(seed, &prg));                                             \
        FS_TRY(fs_prg_set_nonce(prg, nonce, ROT_STREAM_ID));                           \
        for (size_t j0 = 0; j0 < dpad; j0 += 8 * (size_t)ROT_CHUNK) {                  \
            size_t nb = (dpad - j0 + 7) / 8;                                           \
            if (nb > ROT_CHUNK) nb = ROT_CHUNK;                                        \
            FS_TRY(fs_prg_generate(prg, bits, nb));                                    \
            for (size_t j = j0; j < dpad && j < j0 + 8 * nb; j++)                      \
                if ((bits[(j - j0) >> 3] >> ((j - j0) & 7)) & 1) buf[j] = -buf[j];     \
        }                                                                              \
    done:                                                                              \
        fs_prg_destroy(&prg);                                                          \
        return rc;                                                                     \
    }

/* In-place unnormalized fast Walsh-Hadamard transform of buf (dpad), then
 * scaling by 1/sqrt(dpad). */
#define DEFINE_FWHT(NAME, T)                                                           \
    static void NAME(T *buf, size_t dpad)                                              \
    {                                                                                  \
        for (size_t h = 1; h < dpad; h <<= 1)                                          \
            for (size_t i = 0; i < dpad; i += 2 * h)                                   \
                for (size_t j = i; j < i + h; j++) {                                   \
                    T a = buf[j], b = buf[j + h];                                      \
                    buf[j] = a + b;                                                    \
                    buf[j + h] = a - b;                                                \
                }                                                                      \
        T s = (T)(1.0 / sqrt((double)dpad));                                           \
        for (size_t j = 0; j < dpad; j++) buf[j] *= s;                                 \
    }

DEFINE_SIGNS(signs_f64, double)
DEFINE_SIGNS(signs_f32, float)
DEFINE_FWHT(fwht_f64, double)
DEFINE_FWHT(fwht_f32, float)

fs_err fs_dp_rotate_f64(const uint8_t *seed, uint64_t nonce, double *buf, size_t n, size_t dpad)
{
    fs_err rc = FS_OK;
    FS_TRY(check_dims(seed, buf, n, dpad));
    memset(buf + n, 0, (dpad - n) * sizeof *buf);
    FS_TRY(signs_f64(seed, nonce, buf, dpad));
    fwht_f64(buf, dpad);
done:
    return rc;
}

fs_err fs_dp_unrotate_f64(const uint8_t *seed, uint64_t nonce, double *buf, size_t dpad)
{
    fs_err rc = FS_OK;
    FS_TRY(check_dims(seed, buf, dpad, dpad));
    fwht_f64(buf, dpad);
    FS_TRY(signs_f64(seed, nonce, buf, dpad));
done:
    return rc;
}

fs_err fs_dp_rotate_f32(const uint8_t *seed, uint64_t nonce, float *buf, size_t n, size_t dpad)
{
    fs_err rc = FS_OK;
    FS_TRY(check_dims(seed, buf, n, dpad));
    memset(buf + n, 0, (dpad - n) * sizeof *buf);
    FS_TRY(signs_f32(seed, nonce, buf, dpad));
    fwht_f32(buf, dpad);
done:
    return rc;
}

fs_err fs_dp_unrotate_f32(const uint8_t *seed, uint64_t nonce, float *buf, size_t dpad)
{
    fs_err rc = FS_OK;
    FS_TRY(check_dims(seed, buf, dpad, dpad));
    fwht_f32(buf, dpad);
    FS_TRY(signs_f32(seed, nonce, buf, dpad));
done:
    return rc;
}

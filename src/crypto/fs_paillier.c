/*
 * fs_paillier.c - Paillier encryption (Paillier 1999) over GMP, g = n + 1.
 *
 * crypto layer (no MPI).  The vertical-learning protocol of fs_vfl.c uses it to
 * let the label holder send encrypted residuals to the feature holders,
 * which aggregate X_k^T r homomorphically.
 *
 * Maths (n = pq, lambda = lcm(p-1, q-1), mu = lambda^-1 mod n):
 *   Enc(m; r) = (1 + m n) r^n mod n^2, because g^m = (1 + n)^m = 1 + m n.
 *   Dec(c)    = L(c^lambda mod n^2) mu mod n with L(u) = (u - 1) / n.
 * Decryption uses the CRT form (Paillier 1999, section 7): m_p =
 * L_p(c^(p-1) mod p^2) h_p mod p with h_p = L_p(g^(p-1) mod p^2)^-1 and
 * likewise for q, then Garner's recombination.  The key holder may also
 * encrypt through the CRT: r^n mod p^2 with the exponent reduced mod
 * p(p-1) = phi(p^2).
 *
 * Secrets: p, q, lambda, mu and the CRT constants; exponentiations with
 * them use mpz_powm_sec.  Their limbs are wiped by the GMP free hook of
 * fs_crypto_init and are cleared (mpz_set_ui 0) before mpz_clear.  The
 * encryption randomness r is secret too (it would reveal m).  Homomorphic
 * scalar multiplication uses mpz_powm: its exponent is the multiplying
 * party's own plaintext, and timing is only observable on its own machine.
 */
#include <math.h>
#include <string.h>
#include <gmp.h>
#include "crypto/fs_crypto_impl.h"
#include "fedsilo/fs_paillier.h"

struct fs_paillier_pub {
    mpz_t n;       /* modulus pq                                  */
    mpz_t n2;      /* n^2                                          */
    mpz_t half;    /* floor(n / 2): centred representation cut     */
    int bits;      /* bits of n                                    */
    size_t nbytes; /* ceil(bits / 8)                               */
};

struct fs_paillier_key {
    fs_paillier_pub pub;
    mpz_t p, q;          /* secret primes                              */
    mpz_t p2, q2;        /* p^2, q^2                                   */
    mpz_t pm1, qm1;      /* p - 1, q - 1 (decryption exponents)        */
    mpz_t hp, hq;        /* CRT decryption constants (see file top)    */
    mpz_t qinv_p;        /* q^-1 mod p (Garner)                        */
    mpz_t q2inv_p2;      /* (q^2)^-1 mod p^2 (CRT encryption)          */
    mpz_t en_p, en_q;    /* n mod p(p-1), n mod q(q-1)                 */
};

struct fs_paillier_vec {
    const fs_paillier_pub *pk;  /* borrowed                            */
    const fs_paillier_key *sk;  /* borrowed; NULL unless keyed          */
    size_t n;
    mpz_t *c;                   /* (n) ciphertexts in Z_{n^2}^*         */
};

static void clear_secret(mpz_t x)
{
    mpz_set_ui(x, 0);
    mpz_clear(x);
}

static void pub_init(fs_paillier_pub *pk)
{
    mpz_inits(pk->n, pk->n2, pk->half, NULL);
    pk->bits = 0;
    pk->nbytes = 0;
}

static void pub_finish(fs_paillier_pub *pk)
{
    mpz_mul(pk->n2, pk->n, pk->n);
    mpz_fdiv_q_2exp(pk->half, pk->n, 1);
    pk->bits = (int)mpz_sizeinbase(pk->n, 2);
    pk->nbytes = ((size_t)pk->bits + 7) / 8;
}

static void pub_clear(fs_paillier_pub *pk)
{
    mpz_clears(pk->n, pk->n2, pk->half, NULL);
}

/* Write x (0 <= x < 256^len) as exactly len big-endian bytes. */
static void export_fixed(const mpz_t x, uint8_t *out, size_t len)
{
    size_t need = (mpz_sizeinbase(x, 2) + 7) / 8, count = 0;
    memset(out, 0, len);
    if (mpz_sgn(x) == 0 || need > len) return;
    mpz_export(out + (len - need), &count, 1, 1, 1, 0, x);
}

/* A uniform value in [0, m) from the CSPRNG (64 extra bits: bias < 2^-64). */
static fs_err random_below(mpz_t out, const mpz_t m)
{
    fs_err rc = FS_OK;
    size_t len = (mpz_sizeinbase(m, 2) + 7) / 8 + 8;
    uint8_t buf[1024 + 8];   /* secret: wiped at done: */
    if (len > sizeof buf) FS_FAIL(FS_ERR_ARG, "paillier: modulus too large");
    FS_TRY(fs_random_bytes(buf, len));
    mpz_import(out, len, 1, 1, 1, 0, buf);
    mpz_mod(out, out, m);
done:
    fs_secure_zero(buf, sizeof buf);
    return rc;
}

/* A uniform r in Z_n^* (rejection on the negligible non-units). */
static fs_err random_unit(mpz_t r, const mpz_t n)
{
    fs_err rc = FS_OK;
    mpz_t g;
    mpz_init(g);
    for (int tries = 0;; tries++) {
        if (tries > 64) FS_FAIL(FS_ERR_CRYPTO, "paillier: cannot draw a unit mod n");
        FS_TRY(random_below(r, n));
        if (mpz_sgn(r) == 0) continue;
        mpz_gcd(g, r, n);
        if (mpz_cmp_ui(g, 1) == 0) break;
    }
done:
    mpz_clear(g);
    return rc;
}

/* A random prime of exactly `bits` bits with the top two bits set, so the
 * product of two has exactly 2 * bits bits. */
static fs_err random_prime(mpz_t p, int bits)
{
    fs_err rc = FS_OK;
    size_t len = ((size_t)bits + 7) / 8;
    uint8_t buf[512];   /* secret: wiped at done: */
    if (len > sizeof buf) FS_FAIL(FS_ERR_ARG, "paillier: prime size %d too large", bits);
    for (;;) {
        FS_TRY(fs_random_bytes(buf, len));
        mpz_import(p, len, 1, 1, 1, 0, buf);
        mpz_fdiv_r_2exp(p, p, (mp_bitcnt_t)bits);
        mpz_setbit(p, (mp_bitcnt_t)bits - 1);
        mpz_setbit(p, (mp_bitcnt_t)bits - 2);
        mpz_nextprime(p, p);
        /* nextprime may step past 2^bits; retry then.  40 Miller-Rabin
         * rounds (after GMP's own Baillie-PSW) give error < 2^-80. */
        if (mpz_sizeinbase(p, 2) == (size_t)bits && mpz_probab_prime_p(p, 40) > 0) break;
    }
done:
    fs_secure_zero(buf, sizeof buf);
    return rc;
}

// ---------------------------------------------------------------- keys

fs_err fs_paillier_keygen(int bits, fs_paillier_key **out)
{
    fs_err rc = FS_OK;
    fs_paillier_key *k = NULL;
    mpz_t t, u;
    int have_tmp = 0;
    if (out) *out = NULL;
    FS_CHECK_ARG(out, "fs_paillier_keygen: out is NULL");
    FS_CHECK_ARG(bits >= FS_PAILLIER_MIN_BITS && bits % 2 == 0 && bits <= 8192,
                 "paillier: key size %d must be even and in [%d, 8192]", bits,
                 FS_PAILLIER_MIN_BITS);
    FS_TRY(fs_crypto_init());
    FS_TRY(fs_zalloc(&k, 1, sizeof *k, "Paillier key"));
    pub_init(&k->pub);
    mpz_inits(k->p, k->q, k->p2, k->q2, k->pm1, k->qm1, k->hp, k->hq, k->qinv_p, k->q2inv_p2,
              k->en_p, k->en_q, NULL);
    mpz_inits(t, u, NULL);
    have_tmp = 1;
    for (;;) {
        FS_TRY(random_prime(k->p, bits / 2));
        FS_TRY(random_prime(k->q, bits / 2));
        if (mpz_cmp(k->p, k->q) == 0) continue;
        mpz_mul(k->pub.n, k->p, k->q);
        if (mpz_sizeinbase(k->pub.n, 2) != (size_t)bits) continue;
        /* gcd(pq, (p-1)(q-1)) = 1 makes g = n+1 and lambda well-defined. */
        mpz_sub_ui(k->pm1, k->p, 1);
        mpz_sub_ui(k->qm1, k->q, 1);
        mpz_mul(t, k->pm1, k->qm1);
        mpz_gcd(u, t, k->pub.n);
        if (mpz_cmp_ui(u, 1) == 0) break;
    }
    pub_finish(&k->pub);
    mpz_mul(k->p2, k->p, k->p);
    mpz_mul(k->q2, k->q, k->q);
    /* h_p = L_p(g^(p-1) mod p^2)^-1 mod p with g = n + 1, L_p(u) = (u-1)/p. */
    mpz_add_ui(u, k->pub.n, 1);
    mpz_powm_sec(t, u, k->pm1, k->p2);
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, k->p);
    if (!mpz_invert(k->hp, t, k->p)) FS_FAIL(FS_ERR_CRYPTO, "paillier: h_p not invertible");
    mpz_powm_sec(t, u, k->qm1, k->q2);
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, k->q);
    if (!mpz_invert(k->hq, t, k->q)) FS_FAIL(FS_ERR_CRYPTO, "paillier: h_q not invertible");
    if (!mpz_invert(k->qinv_p, k->q, k->p)) FS_FAIL(FS_ERR_CRYPTO, "paillier: q not invertible");
    if (!mpz_invert(k->q2inv_p2, k->q2, k->p2))
        FS_FAIL(FS_ERR_CRYPTO, "paillier: q^2 not invertible");
    mpz_mul(t, k->p, k->pm1);
    mpz_mod(k->en_p, k->pub.n, t);
    mpz_mul(t, k->q, k->qm1);
    mpz_mod(k->en_q, k->pub.n, t);
    *out = k;
    k = NULL;
done:
    if (have_tmp) { clear_secret(t); clear_secret(u); }
    fs_paillier_key_destroy(&k);
    fs_crypto_burn_stack(64 * 1024);
    return rc;
}

void fs_paillier_key_destroy(fs_paillier_key **kp)
{
    if (!kp || !*kp) return;
    fs_paillier_key *k = *kp;
    mpz_ptr secrets[] = { k->p, k->q, k->p2, k->q2, k->pm1, k->qm1, k->hp, k->hq, k->qinv_p,
                          k->q2inv_p2, k->en_p, k->en_q };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) clear_secret(secrets[i]);
    pub_clear(&k->pub);
    fs_secure_zero(k, sizeof *k);
    free(k);
    *kp = NULL;
}

const fs_paillier_pub *fs_paillier_key_public(const fs_paillier_key *k)
{
    return k ? &k->pub : NULL;
}

int fs_paillier_pub_bits(const fs_paillier_pub *pk) { return pk ? pk->bits : 0; }
size_t fs_paillier_pub_bytes(const fs_paillier_pub *pk) { return pk ? pk->nbytes : 0; }
size_t fs_paillier_ct_bytes(const fs_paillier_pub *pk) { return pk ? 2 * pk->nbytes : 0; }

fs_err fs_paillier_pub_export(const fs_paillier_pub *pk, uint8_t *out, size_t len)
{
    if (!pk || !out || len != pk->nbytes)
        return fs_error_set(FS_ERR_ARG, "paillier: public key export needs %zu bytes",
                            pk ? pk->nbytes : 0);
    export_fixed(pk->n, out, len);
    return FS_OK;
}

fs_err fs_paillier_pub_import(const uint8_t *in, size_t len, fs_paillier_pub **out)
{
    fs_err rc = FS_OK;
    fs_paillier_pub *pk = NULL;
    if (out) *out = NULL;
    FS_CHECK_ARG(in && out, "fs_paillier_pub_import: NULL argument");
    if (len * 8 < FS_PAILLIER_MIN_BITS || len > 1024 || in[0] == 0 || !(in[len - 1] & 1))
        FS_FAIL(FS_ERR_DATA, "paillier: malformed public key (%zu bytes)", len);
    FS_TRY(fs_crypto_init());
    FS_TRY(fs_zalloc(&pk, 1, sizeof *pk, "Paillier public key"));
    pub_init(pk);
    mpz_import(pk->n, len, 1, 1, 1, 0, in);
    pub_finish(pk);
    *out = pk;
    pk = NULL;
done:
    fs_paillier_pub_destroy(&pk);
    return rc;
}

void fs_paillier_pub_destroy(fs_paillier_pub **pk)
{
    if (!pk || !*pk) return;
    pub_clear(*pk);
    free(*pk);
    *pk = NULL;
}

// ---------------------------------------------------------------- vectors

static fs_err vec_create(const fs_paillier_pub *pk, const fs_paillier_key *sk, size_t n,
                         fs_paillier_vec **out)
{
    fs_err rc = FS_OK;
    fs_paillier_vec *v = NULL;
    if (out) *out = NULL;
    FS_CHECK_ARG(pk && out, "fs_paillier_vec_create: NULL argument");
    FS_TRY(fs_zalloc(&v, 1, sizeof *v, "ciphertext vector"));
    FS_TRY(fs_alloc(&v->c, n ? n : 1, sizeof *v->c, "ciphertext vector"));
    v->pk = pk;
    v->sk = sk;
    for (size_t i = 0; i < n; i++) mpz_init_set_ui(v->c[i], 1);
    v->n = n;
    *out = v;
    v = NULL;
done:
    fs_paillier_vec_destroy(&v);
    return rc;
}

fs_err fs_paillier_vec_create(const fs_paillier_pub *pk, size_t n, fs_paillier_vec **out)
{
    return vec_create(pk, NULL, n, out);
}

fs_err fs_paillier_vec_create_keyed(const fs_paillier_key *k, size_t n, fs_paillier_vec **out)
{
    if (out) *out = NULL;
    if (!k) return fs_error_set(FS_ERR_ARG, "fs_paillier_vec_create_keyed: NULL key");
    return vec_create(&k->pub, k, n, out);
}

void fs_paillier_vec_destroy(fs_paillier_vec **vp)
{
    if (!vp || !*vp) return;
    fs_paillier_vec *v = *vp;
    if (v->c) {
        for (size_t i = 0; i < v->n; i++) mpz_clear(v->c[i]);
        free(v->c);
    }
    free(v);
    *vp = NULL;
}

size_t fs_paillier_vec_len(const fs_paillier_vec *v) { return v ? v->n : 0; }

/* rn = r^n mod n^2 for a fresh r; through the CRT when the key is known. */
static fs_err random_rn(const fs_paillier_vec *v, mpz_t rn)
{
    fs_err rc = FS_OK;
    const fs_paillier_pub *pk = v->pk;
    mpz_t r, xp, xq;   /* secret: cleared at done: */
    mpz_inits(r, xp, xq, NULL);
    FS_TRY(random_unit(r, pk->n));
    if (v->sk) {
        const fs_paillier_key *k = v->sk;
        /* x = r^n mod p^2 and mod q^2 (exponent reduced mod phi), then
         * x = x_q + q^2 ((x_p - x_q) (q^2)^-1 mod p^2). */
        mpz_mod(xp, r, k->p2);
        mpz_powm_sec(xp, xp, k->en_p, k->p2);
        mpz_mod(xq, r, k->q2);
        mpz_powm_sec(xq, xq, k->en_q, k->q2);
        mpz_sub(xp, xp, xq);
        mpz_mul(xp, xp, k->q2inv_p2);
        mpz_mod(xp, xp, k->p2);
        mpz_mul(xp, xp, k->q2);
        mpz_add(rn, xp, xq);
    } else {
        mpz_powm_sec(rn, r, pk->n, pk->n2);
    }
done:
    clear_secret(r);
    clear_secret(xp);
    clear_secret(xq);
    return rc;
}

/* c = (1 + m n) r^n mod n^2 for m already reduced mod n. */
static fs_err encrypt_mpz(const fs_paillier_vec *v, mpz_t c, const mpz_t m)
{
    fs_err rc = FS_OK;
    mpz_t rn;
    mpz_init(rn);
    FS_TRY(random_rn(v, rn));
    mpz_mul(c, m, v->pk->n);
    mpz_add_ui(c, c, 1);
    mpz_mul(c, c, rn);
    mpz_mod(c, c, v->pk->n2);
done:
    clear_secret(rn);
    return rc;
}

fs_err fs_paillier_encrypt(fs_paillier_vec *v, size_t i, int64_t m)
{
    fs_err rc = FS_OK;
    mpz_t mm;
    mpz_init(mm);
    FS_CHECK_ARG(v && i < v->n, "fs_paillier_encrypt: index out of range");
    if (m >= 0) {
        mpz_set_ui(mm, (unsigned long)m);
    } else {
        mpz_set_ui(mm, (unsigned long)(-(m + 1)) + 1UL);
        mpz_neg(mm, mm);
    }
    mpz_mod(mm, mm, v->pk->n);
    FS_TRY(encrypt_mpz(v, v->c[i], mm));
done:
    clear_secret(mm);
    return rc;
}

fs_err fs_paillier_encrypt_fixed(fs_paillier_vec *v, const double *x, size_t n, int frac_bits)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(v && (x || n == 0) && n <= v->n, "fs_paillier_encrypt_fixed: bad arguments");
    FS_CHECK_ARG(frac_bits >= 0 && frac_bits <= 60, "paillier: frac_bits %d outside 0..60",
                 frac_bits);
    for (size_t i = 0; i < n; i++) {
        double s = ldexp(x[i], frac_bits);
        if (!isfinite(s) || fabs(s) >= 0x1p62)
            FS_FAIL(FS_ERR_ARG, "paillier: value %g at %zu outside the fixed-point range", x[i], i);
        FS_TRY(fs_paillier_encrypt(v, i, (int64_t)llround(s)));
    }
done:
    return rc;
}

/* m = Dec(c) in [0, n), by the CRT (see the file top). */
static void decrypt_mpz(const fs_paillier_key *k, const mpz_t c, mpz_t m)
{
    mpz_t mp, mq;   /* secret: cleared below */
    mpz_inits(mp, mq, NULL);
    mpz_mod(mp, c, k->p2);
    mpz_powm_sec(mp, mp, k->pm1, k->p2);
    mpz_sub_ui(mp, mp, 1);
    mpz_divexact(mp, mp, k->p);
    mpz_mul(mp, mp, k->hp);
    mpz_mod(mp, mp, k->p);
    mpz_mod(mq, c, k->q2);
    mpz_powm_sec(mq, mq, k->qm1, k->q2);
    mpz_sub_ui(mq, mq, 1);
    mpz_divexact(mq, mq, k->q);
    mpz_mul(mq, mq, k->hq);
    mpz_mod(mq, mq, k->q);
    /* Garner: m = m_q + q ((m_p - m_q) q^-1 mod p). */
    mpz_sub(mp, mp, mq);
    mpz_mul(mp, mp, k->qinv_p);
    mpz_mod(mp, mp, k->p);
    mpz_mul(mp, mp, k->q);
    mpz_add(m, mp, mq);
    clear_secret(mp);
    clear_secret(mq);
}

static int same_key(const fs_paillier_pub *a, const fs_paillier_pub *b)
{
    return a == b || mpz_cmp(a->n, b->n) == 0;
}

/* Centre m in [0, n) to (-n/2, n/2]. */
static void centre(const fs_paillier_pub *pk, mpz_t m)
{
    if (mpz_cmp(m, pk->half) > 0) mpz_sub(m, m, pk->n);
}

fs_err fs_paillier_decrypt(const fs_paillier_key *k, const fs_paillier_vec *v, size_t i,
                           int64_t *m)
{
    fs_err rc = FS_OK;
    mpz_t x;
    mpz_init(x);
    FS_CHECK_ARG(k && v && m && i < v->n, "fs_paillier_decrypt: bad arguments");
    FS_CHECK_ARG(same_key(&k->pub, v->pk), "paillier: ciphertext is under another key");
    decrypt_mpz(k, v->c[i], x);
    centre(&k->pub, x);
    if (mpz_sizeinbase(x, 2) > 63)
        FS_FAIL(FS_ERR_DATA, "paillier: plaintext does not fit 64 bits (wrong key or overflow)");
    *m = mpz_sgn(x) < 0 ? -(int64_t)mpz_getlimbn(x, 0) : (int64_t)mpz_getlimbn(x, 0);
done:
    clear_secret(x);
    fs_crypto_burn_stack(16 * 1024);
    return rc;
}

fs_err fs_paillier_decrypt_fixed(const fs_paillier_key *k, const fs_paillier_vec *v, size_t n,
                                 int frac_bits, double *out)
{
    fs_err rc = FS_OK;
    mpz_t x;
    mpz_init(x);
    FS_CHECK_ARG(k && v && out && n <= v->n, "fs_paillier_decrypt_fixed: bad arguments");
    FS_CHECK_ARG(same_key(&k->pub, v->pk), "paillier: ciphertext is under another key");
    for (size_t i = 0; i < n; i++) {
        decrypt_mpz(k, v->c[i], x);
        centre(&k->pub, x);
        out[i] = ldexp(mpz_get_d(x), -frac_bits);
    }
done:
    clear_secret(x);
    fs_crypto_burn_stack(16 * 1024);
    return rc;
}

fs_err fs_paillier_add(fs_paillier_vec *dst, size_t i, const fs_paillier_vec *a, size_t ia,
                       const fs_paillier_vec *b, size_t ib)
{
    if (!dst || !a || !b || i >= dst->n || ia >= a->n || ib >= b->n ||
        !same_key(dst->pk, a->pk) || !same_key(dst->pk, b->pk))
        return fs_error_set(FS_ERR_ARG, "fs_paillier_add: bad index or mixed keys");
    mpz_mul(dst->c[i], a->c[ia], b->c[ib]);
    mpz_mod(dst->c[i], dst->c[i], dst->pk->n2);
    return FS_OK;
}

/* out = base^k mod n^2 for a signed k, using the inverse when k < 0. */
static fs_err pow_signed(const fs_paillier_pub *pk, mpz_t out, const mpz_t base, int64_t k)
{
    fs_err rc = FS_OK;
    mpz_t e, b;
    mpz_inits(e, b, NULL);
    uint64_t mag = k < 0 ? (uint64_t)(-(k + 1)) + 1 : (uint64_t)k;
    mpz_set_ui(e, (unsigned long)mag);
    if (k < 0) {
        if (!mpz_invert(b, base, pk->n2))
            FS_FAIL(FS_ERR_CRYPTO, "paillier: ciphertext not invertible mod n^2");
    } else {
        mpz_set(b, base);
    }
    mpz_powm(out, b, e, pk->n2);
done:
    mpz_clears(e, b, NULL);
    return rc;
}

fs_err fs_paillier_mul(fs_paillier_vec *dst, size_t i, const fs_paillier_vec *a, size_t ia,
                       int64_t k)
{
    if (!dst || !a || i >= dst->n || ia >= a->n || !same_key(dst->pk, a->pk))
        return fs_error_set(FS_ERR_ARG, "fs_paillier_mul: bad index or mixed keys");
    return pow_signed(dst->pk, dst->c[i], a->c[ia], k);
}

fs_err fs_paillier_dot(const fs_paillier_vec *c, const int64_t *M, size_t rows, size_t cols,
                       fs_paillier_vec *out)
{
    fs_err rc = FS_OK;
    mpz_t inv, t, e;
    mpz_inits(inv, t, e, NULL);
    FS_CHECK_ARG(c && out && (M || rows * cols == 0) && rows <= c->n && cols <= out->n &&
                 same_key(c->pk, out->pk), "fs_paillier_dot: bad arguments");
    const mpz_t *n2 = (const mpz_t *)&c->pk->n2;
    for (size_t j = 0; j < cols; j++) mpz_set_ui(out->c[j], 1);
    for (size_t i = 0; i < rows; i++) {
        const int64_t *row = M + i * cols;
        int have_inv = 0;
        for (size_t j = 0; j < cols; j++) {
            int64_t k = row[j];
            if (k == 0) continue;
            if (k < 0 && !have_inv) {
                if (!mpz_invert(inv, c->c[i], *n2))
                    FS_FAIL(FS_ERR_CRYPTO, "paillier: ciphertext not invertible mod n^2");
                have_inv = 1;
            }
            uint64_t mag = k < 0 ? (uint64_t)(-(k + 1)) + 1 : (uint64_t)k;
            mpz_set_ui(e, (unsigned long)mag);
            mpz_powm(t, k < 0 ? inv : c->c[i], e, *n2);
            mpz_mul(out->c[j], out->c[j], t);
            mpz_mod(out->c[j], out->c[j], *n2);
        }
    }
done:
    mpz_clears(inv, t, e, NULL);
    return rc;
}

fs_err fs_paillier_rerandomize(fs_paillier_vec *v, size_t i)
{
    fs_err rc = FS_OK;
    mpz_t rn;
    mpz_init(rn);
    FS_CHECK_ARG(v && i < v->n, "fs_paillier_rerandomize: index out of range");
    FS_TRY(random_rn(v, rn));
    mpz_mul(v->c[i], v->c[i], rn);
    mpz_mod(v->c[i], v->c[i], v->pk->n2);
done:
    clear_secret(rn);
    return rc;
}

fs_err fs_paillier_add_mask(fs_paillier_vec *v, size_t i, uint8_t *mask_out, size_t len)
{
    fs_err rc = FS_OK;
    mpz_t m, t;   /* secret: cleared at done: */
    mpz_inits(m, t, NULL);
    FS_CHECK_ARG(v && mask_out && i < v->n && len == v->pk->nbytes,
                 "fs_paillier_add_mask: bad arguments");
    FS_TRY(random_below(m, v->pk->n));
    mpz_mul(t, m, v->pk->n);
    mpz_add_ui(t, t, 1);                  /* (1 + m n) = g^m */
    mpz_mul(v->c[i], v->c[i], t);
    mpz_mod(v->c[i], v->c[i], v->pk->n2);
    FS_TRY(fs_paillier_rerandomize(v, i));
    export_fixed(m, mask_out, len);
done:
    clear_secret(m);
    clear_secret(t);
    return rc;
}

fs_err fs_paillier_decrypt_raw(const fs_paillier_key *k, const fs_paillier_vec *v, size_t i,
                               uint8_t *out, size_t len)
{
    fs_err rc = FS_OK;
    mpz_t x;
    mpz_init(x);
    FS_CHECK_ARG(k && v && out && i < v->n && len == k->pub.nbytes && same_key(&k->pub, v->pk),
                 "fs_paillier_decrypt_raw: bad arguments");
    decrypt_mpz(k, v->c[i], x);
    export_fixed(x, out, len);
done:
    clear_secret(x);
    fs_crypto_burn_stack(16 * 1024);
    return rc;
}

fs_err fs_paillier_unmask_fixed(const fs_paillier_pub *pk, const uint8_t *value,
                                const uint8_t *mask, size_t len, int frac_bits, double *out)
{
    fs_err rc = FS_OK;
    mpz_t a, b;
    mpz_inits(a, b, NULL);
    FS_CHECK_ARG(pk && value && mask && out && len == pk->nbytes,
                 "fs_paillier_unmask_fixed: bad arguments");
    mpz_import(a, len, 1, 1, 1, 0, value);
    mpz_import(b, len, 1, 1, 1, 0, mask);
    mpz_sub(a, a, b);
    mpz_mod(a, a, pk->n);
    centre(pk, a);
    *out = ldexp(mpz_get_d(a), -frac_bits);
done:
    clear_secret(a);
    clear_secret(b);
    return rc;
}

fs_err fs_paillier_vec_export(const fs_paillier_vec *v, size_t first, size_t count,
                              uint8_t *out, size_t len)
{
    if (!v || (!out && count) || first > v->n || count > v->n - first ||
        len != count * 2 * v->pk->nbytes)
        return fs_error_set(FS_ERR_ARG, "fs_paillier_vec_export: bad range or length");
    size_t cb = 2 * v->pk->nbytes;
    for (size_t i = 0; i < count; i++) export_fixed(v->c[first + i], out + i * cb, cb);
    return FS_OK;
}

fs_err fs_paillier_vec_import(fs_paillier_vec *v, size_t first, size_t count, const uint8_t *in,
                              size_t len)
{
    if (!v || (!in && count) || first > v->n || count > v->n - first ||
        len != count * 2 * v->pk->nbytes)
        return fs_error_set(FS_ERR_ARG, "fs_paillier_vec_import: bad range or length");
    size_t cb = 2 * v->pk->nbytes;
    for (size_t i = 0; i < count; i++) {
        mpz_import(v->c[first + i], cb, 1, 1, 1, 0, in + i * cb);
        if (mpz_sgn(v->c[first + i]) == 0 || mpz_cmp(v->c[first + i], v->pk->n2) >= 0) {
            mpz_set_ui(v->c[first + i], 1);
            return fs_error_set(FS_ERR_DATA, "paillier: ciphertext %zu out of range", first + i);
        }
    }
    return FS_OK;
}

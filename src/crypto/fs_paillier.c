/*
 * fs_paillier.c - Paillier encryption (Paillier 1999) over GMP, g = n + 1,
 * with the Damgaard-Jurik-Nielsen randomizer (DJN 2010, s = 1), fixed-base
 * tables and the CRT for the key owner, packed fixed-point slots, and
 * multi-exponentiation for the homomorphic linear combinations of vertical
 * training.
 *
 * crypto layer (no MPI).  In the vertical-learning protocol of fs_vfl.c
 * every feature holder owns a key, encrypts its own feature rows once, and
 * the label holder computes Enc(X[B]^T r) from them with
 * fs_paillier_lincomb.
 *
 * Maths (n = pq, p and q of |n|/2 bits, L(u) = (u - 1) / n):
 *   g^m = (1 + n)^m = 1 + m n  mod n^2.
 *   DJN randomizer: h = -y^2 mod n for a uniform y in Z_n^*, h_s = h^n mod
 *   n^2 (public).  Enc(m; x) = (1 + m n) h_s^x mod n^2 with x uniform in
 *   [0, 2^l), l = ceil(|n| / 2) (1024 bits for a 2048-bit n).  h_s^x is an
 *   n-th residue, so this is an ordinary Paillier ciphertext with the
 *   randomness r = h^x.  Security (the argument of DJN 2010): h_s^x with x
 *   of |n|/2 bits is indistinguishable from a uniform n-th residue if
 *   factoring n is hard (Hastad, Schrift and Shamir 1993: the discrete
 *   logarithm modulo a composite hides |n|/2 bits), and then the scheme is
 *   semantically secure under the decisional composite residuosity
 *   assumption, as Paillier's is.
 *   Dec(c): the CRT form (Paillier 1999, section 7): m_p = L_p(c^(p-1) mod
 *   p^2) h_p mod p with h_p = L_p(g^(p-1) mod p^2)^-1, likewise for q, then
 *   Garner's recombination.
 *   Key owner's encryption: h_s^x mod p^2 and mod q^2 from two fixed-base
 *   tables (window w = TABLE_W bits: x = sum_i d_i 2^(w i), table entry
 *   (i, d) = h_s^(d 2^(w i)); one multiplication per nonzero digit, about
 *   l / w = 147 multiplications mod p^2 and as many mod q^2 at 2048 bits),
 *   then the CRT.  The tables hold ceil(l / w) (2^w - 1) residues each
 *   (9.5 MB for a 2048-bit key).
 *   Re-randomization by a public-key holder: c h_s^x' with x' uniform in
 *   [0, 2^(l + 256)) (from a fixed-base table of h_s mod n^2, window 6, when
 *   fs_paillier_pub_precompute built one).  If c = (1 + T n) h_s^e with |e| < 2^(l + 128) (every
 *   linear combination of the owner's ciphertexts with coefficients below
 *   2^64 over fewer than 2^63 terms), then e + x' is within statistical
 *   distance 2^-128 of x' alone: the result is a fresh encryption of T
 *   whose randomness says nothing about how it was computed, even to the
 *   key owner.
 *
 * Packing: a slot layout of s bits stores v_0..v_(k-1) as the integer
 * T = sum_j v_j 2^(s j) (signed v_j, k s <= |n| - 2); homomorphic additions
 * and scalar multiplications act on every slot at once, and the owner
 * unpacks by centred digits, exact as long as every slot stays within
 * (-2^(s-2), 2^(s-2)) (the caller's headroom rule).
 *
 * Secrets: p, q, the CRT constants, the tables (they are powers of a public
 * value, but mod p^2 and q^2 they reveal the factors), and every
 * encryption exponent x.  Exponentiations with secret exponents use
 * mpz_powm_sec; the fixed-base tables are indexed by digits of the secret
 * x, so their cache footprint depends on x: a timing channel observable
 * only by code on the key owner's own machine.  Homomorphic scalar
 * multiplication uses mpz_powm and a variable number of multiplications:
 * its scalars are the multiplying party's own plaintext.  GMP limbs are
 * wiped by the free hook of fs_crypto_init and cleared before mpz_clear.
 */
#include <math.h>
#include <string.h>
#include <gmp.h>
#include "crypto/fs_crypto_impl.h"
#include "fedsilo/fs_paillier.h"

#define TABLE_W 7          /* fixed-base window of the owner's tables (bits) */
#define PUB_TABLE_W 6      /* window of a public-key holder's table         */
#define RERAND_EXTRA 256   /* extra exponent bits of a re-randomization     */

struct fs_paillier_pub {
    mpz_t n;       /* modulus pq                                  */
    mpz_t n2;      /* n^2                                          */
    mpz_t half;    /* floor(n / 2): centred representation cut     */
    mpz_t hs;      /* h^n mod n^2, h = -y^2 mod n (DJN)            */
    struct fb_table *tab; /* NULL, or h_s mod n^2 for re-randomizations */
    int bits;      /* bits of n                                    */
    int xbits;     /* DJN exponent length ceil(bits / 2)           */
    size_t nbytes; /* ceil(bits / 8)                               */
};

/* Fixed-base table: t[i (2^w - 1) + d - 1] = base^(d 2^(w i)) mod m. */
typedef struct fb_table {
    int w;         /* window bits                                    */
    size_t windows;
    mpz_t *t;      /* secret for the CRT tables (they reveal p and q) */
} fb_table;

struct fs_paillier_key {
    fs_paillier_pub pub;
    mpz_t p, q;          /* secret primes                              */
    mpz_t p2, q2;        /* p^2, q^2                                   */
    mpz_t pm1, qm1;      /* p - 1, q - 1 (decryption exponents)        */
    mpz_t hp, hq;        /* CRT decryption constants (see file top)    */
    mpz_t qinv_p;        /* q^-1 mod p (Garner)                        */
    mpz_t q2inv_p2;      /* (q^2)^-1 mod p^2 (CRT encryption)          */
    fb_table tp, tq;     /* h_s mod p^2 and mod q^2, fixed-base tables */
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
    mpz_inits(pk->n, pk->n2, pk->half, pk->hs, NULL);
    pk->tab = NULL;
    pk->bits = 0;
    pk->xbits = 0;
    pk->nbytes = 0;
}

static void pub_finish(fs_paillier_pub *pk)
{
    mpz_mul(pk->n2, pk->n, pk->n);
    mpz_fdiv_q_2exp(pk->half, pk->n, 1);
    pk->bits = (int)mpz_sizeinbase(pk->n, 2);
    pk->xbits = (pk->bits + 1) / 2;
    pk->nbytes = ((size_t)pk->bits + 7) / 8;
}

static void table_clear(fb_table *tb);

static void pub_clear(fs_paillier_pub *pk)
{
    if (pk->tab) {
        table_clear(pk->tab);
        free(pk->tab);
        pk->tab = NULL;
    }
    mpz_clears(pk->n, pk->n2, pk->half, pk->hs, NULL);
}

/* Write x (0 <= x < 256^len) as exactly len big-endian bytes. */
static void export_fixed(const mpz_t x, uint8_t *out, size_t len)
{
    size_t need = (mpz_sizeinbase(x, 2) + 7) / 8, count = 0;
    memset(out, 0, len);
    if (mpz_sgn(x) == 0 || need > len) return;
    mpz_export(out + (len - need), &count, 1, 1, 1, 0, x);
}

/* out = a uniform integer of `bits` bits, [0, 2^bits), from the CSPRNG. */
static fs_err random_bits(mpz_t out, int bits)
{
    fs_err rc = FS_OK;
    size_t len = ((size_t)bits + 7) / 8;
    uint8_t buf[1024 + 64];   /* secret: wiped at done: */
    if (bits < 1 || len > sizeof buf) FS_FAIL(FS_ERR_ARG, "paillier: %d random bits", bits);
    FS_TRY(fs_random_bytes(buf, len));
    mpz_import(out, len, 1, 1, 1, 0, buf);
    mpz_fdiv_r_2exp(out, out, (mp_bitcnt_t)bits);
done:
    fs_secure_zero(buf, sizeof buf);
    return rc;
}

/* A uniform value in [0, m) (64 extra bits: bias < 2^-64). */
static fs_err random_below(mpz_t out, const mpz_t m)
{
    fs_err rc = random_bits(out, (int)mpz_sizeinbase(m, 2) + 64);
    if (rc == FS_OK) mpz_mod(out, out, m);
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
    for (;;) {
        FS_TRY(random_bits(p, bits));
        mpz_setbit(p, (mp_bitcnt_t)bits - 1);
        mpz_setbit(p, (mp_bitcnt_t)bits - 2);
        mpz_nextprime(p, p);
        /* nextprime may step past 2^bits; retry then.  40 Miller-Rabin
         * rounds (after GMP's own Baillie-PSW) give error < 2^-80. */
        if (mpz_sizeinbase(p, 2) == (size_t)bits && mpz_probab_prime_p(p, 40) > 0) break;
    }
done:
    return rc;
}

// ---------------------------------------------------------------- fixed-base tables

static void table_clear(fb_table *tb)
{
    if (!tb->t) return;
    size_t per = ((size_t)1 << tb->w) - 1;
    for (size_t i = 0; i < tb->windows * per; i++) clear_secret(tb->t[i]);
    free(tb->t);
    tb->t = NULL;
    tb->windows = 0;
}

/* Build the table of base mod m for exponents of `bits` bits, window w. */
static fs_err table_build(fb_table *tb, const mpz_t base, const mpz_t m, int bits, int w)
{
    fs_err rc = FS_OK;
    size_t per = ((size_t)1 << w) - 1, windows = ((size_t)bits + (size_t)w - 1) / (size_t)w;
    mpz_t g;
    mpz_init(g);
    FS_TRY(fs_alloc(&tb->t, windows * per, sizeof *tb->t, "Paillier fixed-base table"));
    for (size_t i = 0; i < windows * per; i++) mpz_init(tb->t[i]);
    tb->windows = windows;
    tb->w = w;
    mpz_mod(g, base, m);   /* g = base^(2^(w i)) */
    for (size_t i = 0; i < windows; i++) {
        mpz_t *row = tb->t + i * per;
        mpz_set(row[0], g);
        for (size_t d = 1; d < per; d++) {
            mpz_mul(row[d], row[d - 1], g);
            mpz_mod(row[d], row[d], m);
        }
        mpz_mul(g, row[per - 1], g);   /* g^(2^w) */
        mpz_mod(g, g, m);
    }
done:
    clear_secret(g);
    return rc;
}

/* out = base^x mod m from the table; x < 2^(w windows). */
static size_t table_bits(const fb_table *tb) { return tb ? tb->windows * (size_t)tb->w : 0; }
static void table_pow(const fb_table *tb, mpz_t out, const mpz_t x, const mpz_t m)
{
    size_t per = ((size_t)1 << tb->w) - 1;
    mpz_set_ui(out, 1);
    for (size_t i = 0; i < tb->windows; i++) {
        unsigned long d = 0;
        for (int b = tb->w - 1; b >= 0; b--)
            d = (d << 1) | (unsigned long)mpz_tstbit(x, (mp_bitcnt_t)(i * (size_t)tb->w + (size_t)b));
        if (!d) continue;
        mpz_mul(out, out, tb->t[i * per + d - 1]);
        mpz_mod(out, out, m);
    }
}

// ---------------------------------------------------------------- keys

/* r = a mod p^2 and b mod q^2 combined: b + q^2 ((a - b) (q^2)^-1 mod p^2). */
static void crt_square(const fs_paillier_key *k, mpz_t r, mpz_t a, const mpz_t b)
{
    mpz_sub(a, a, b);
    mpz_mul(a, a, k->q2inv_p2);
    mpz_mod(a, a, k->p2);
    mpz_mul(a, a, k->q2);
    mpz_add(r, a, b);
}

fs_err fs_paillier_keygen(int bits, fs_paillier_key **out)
{
    fs_err rc = FS_OK;
    fs_paillier_key *k = NULL;
    mpz_t t, u, y;
    int have_tmp = 0;
    if (out) *out = NULL;
    FS_CHECK_ARG(out, "fs_paillier_keygen: out is NULL");
    FS_CHECK_ARG(bits >= FS_PAILLIER_MIN_BITS && bits % 2 == 0 && bits <= FS_PAILLIER_MAX_BITS,
                 "paillier: key size %d must be even and in [%d, %d]", bits,
                 FS_PAILLIER_MIN_BITS, FS_PAILLIER_MAX_BITS);
    FS_TRY(fs_crypto_init());
    FS_TRY(fs_zalloc(&k, 1, sizeof *k, "Paillier key"));
    pub_init(&k->pub);
    mpz_inits(k->p, k->q, k->p2, k->q2, k->pm1, k->qm1, k->hp, k->hq, k->qinv_p, k->q2inv_p2,
              NULL);
    mpz_inits(t, u, y, NULL);
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
    /* DJN: h = -y^2 mod n, h_s = h^n mod n^2 (through the CRT: the exponent
     * n is reduced mod phi(p^2) = p(p-1) and phi(q^2) = q(q-1)). */
    FS_TRY(random_unit(y, k->pub.n));
    mpz_mul(y, y, y);
    mpz_mod(y, y, k->pub.n);
    mpz_sub(y, k->pub.n, y);
    mpz_mul(t, k->p, k->pm1);
    mpz_mod(t, k->pub.n, t);
    mpz_powm_sec(u, y, t, k->p2);
    mpz_mul(t, k->q, k->qm1);
    mpz_mod(t, k->pub.n, t);
    mpz_powm_sec(t, y, t, k->q2);
    crt_square(k, k->pub.hs, u, t);
    FS_TRY(table_build(&k->tp, k->pub.hs, k->p2, k->pub.xbits, TABLE_W));
    FS_TRY(table_build(&k->tq, k->pub.hs, k->q2, k->pub.xbits, TABLE_W));
    *out = k;
    k = NULL;
done:
    if (have_tmp) { clear_secret(t); clear_secret(u); clear_secret(y); }
    fs_paillier_key_destroy(&k);
    fs_crypto_burn_stack(64 * 1024);
    return rc;
}

void fs_paillier_key_destroy(fs_paillier_key **kp)
{
    if (!kp || !*kp) return;
    fs_paillier_key *k = *kp;
    mpz_ptr secrets[] = { k->p, k->q, k->p2, k->q2, k->pm1, k->qm1, k->hp, k->hq, k->qinv_p,
                          k->q2inv_p2 };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) clear_secret(secrets[i]);
    table_clear(&k->tp);
    table_clear(&k->tq);
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
size_t fs_paillier_pub_export_bytes(const fs_paillier_pub *pk) { return pk ? 3 * pk->nbytes : 0; }

fs_err fs_paillier_pub_export(const fs_paillier_pub *pk, uint8_t *out, size_t len)
{
    if (!pk || !out || len != 3 * pk->nbytes)
        return fs_error_set(FS_ERR_ARG, "paillier: public key export needs %zu bytes",
                            pk ? 3 * pk->nbytes : 0);
    export_fixed(pk->n, out, pk->nbytes);
    export_fixed(pk->hs, out + pk->nbytes, 2 * pk->nbytes);
    return FS_OK;
}

fs_err fs_paillier_pub_import(const uint8_t *in, size_t len, fs_paillier_pub **out)
{
    fs_err rc = FS_OK;
    fs_paillier_pub *pk = NULL;
    mpz_t g;
    int have_g = 0;
    if (out) *out = NULL;
    FS_CHECK_ARG(in && out, "fs_paillier_pub_import: NULL argument");
    size_t nb = len / 3;
    if (len % 3 || nb * 8 < FS_PAILLIER_MIN_BITS || nb * 8 > FS_PAILLIER_MAX_BITS || in[0] == 0 ||
        !(in[nb - 1] & 1))
        FS_FAIL(FS_ERR_DATA, "paillier: malformed public key (%zu bytes)", len);
    FS_TRY(fs_crypto_init());
    FS_TRY(fs_zalloc(&pk, 1, sizeof *pk, "Paillier public key"));
    pub_init(pk);
    mpz_init(g);
    have_g = 1;
    mpz_import(pk->n, nb, 1, 1, 1, 0, in);
    mpz_import(pk->hs, 2 * nb, 1, 1, 1, 0, in + nb);
    pub_finish(pk);
    /* h_s must be a unit mod n^2 (a non-unit would reveal a factor). */
    mpz_gcd(g, pk->hs, pk->n);
    if (mpz_cmp_ui(pk->hs, 1) <= 0 || mpz_cmp(pk->hs, pk->n2) >= 0 || mpz_cmp_ui(g, 1) != 0)
        FS_FAIL(FS_ERR_DATA, "paillier: malformed public key (bad randomizer base)");
    *out = pk;
    pk = NULL;
done:
    if (have_g) mpz_clear(g);
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

fs_err fs_paillier_pub_precompute(fs_paillier_pub *pk)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(pk, "fs_paillier_pub_precompute: NULL key");
    if (pk->tab) return FS_OK;
    FS_TRY(fs_zalloc(&pk->tab, 1, sizeof *pk->tab, "Paillier fixed-base table"));
    rc = table_build(pk->tab, pk->hs, pk->n2, pk->xbits + RERAND_EXTRA, PUB_TABLE_W);
    if (rc != FS_OK) {
        table_clear(pk->tab);
        free(pk->tab);
        pk->tab = NULL;
    }
done:
    return rc;
}

int fs_paillier_slots(const fs_paillier_pub *pk, int slot_bits)
{
    if (!pk || slot_bits < 2 || slot_bits > pk->bits) return 0;
    return (pk->bits - 2) / slot_bits;
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

/*
 * rn = h_s^x mod n^2 for a fresh x of `xbits` bits: from the CRT tables
 * when the vector is keyed (xbits <= l), from the public key's table when
 * fs_paillier_pub_precompute built one, else with mpz_powm_sec.
 */
static fs_err random_rn(const fs_paillier_vec *v, mpz_t rn, int xbits)
{
    fs_err rc = FS_OK;
    const fs_paillier_pub *pk = v->pk;
    mpz_t x, ap, aq;   /* secret: cleared at done: */
    mpz_inits(x, ap, aq, NULL);
    FS_TRY(random_bits(x, xbits));
    if (v->sk && (size_t)xbits <= table_bits(&v->sk->tp)) {
        table_pow(&v->sk->tp, ap, x, v->sk->p2);
        table_pow(&v->sk->tq, aq, x, v->sk->q2);
        crt_square(v->sk, rn, ap, aq);
    } else if ((size_t)xbits <= table_bits(pk->tab)) {
        table_pow(pk->tab, rn, x, pk->n2);
    } else {
        mpz_powm_sec(rn, pk->hs, x, pk->n2);
    }
done:
    clear_secret(x);
    clear_secret(ap);
    clear_secret(aq);
    return rc;
}

/* c = (1 + m n) h_s^x mod n^2 for m already reduced mod n. */
static fs_err encrypt_mpz(const fs_paillier_vec *v, mpz_t c, const mpz_t m)
{
    fs_err rc = FS_OK;
    mpz_t rn;
    mpz_init(rn);
    FS_TRY(random_rn(v, rn, v->pk->xbits));
    mpz_mul(c, m, v->pk->n);
    mpz_add_ui(c, c, 1);
    mpz_mul(c, c, rn);
    mpz_mod(c, c, v->pk->n2);
done:
    clear_secret(rn);
    return rc;
}

static void set_i64(mpz_t out, int64_t m)
{
    if (m >= 0) {
        mpz_set_ui(out, (unsigned long)m);
    } else {
        mpz_set_ui(out, (unsigned long)(-(m + 1)) + 1UL);
        mpz_neg(out, out);
    }
}

fs_err fs_paillier_encrypt(fs_paillier_vec *v, size_t i, int64_t m)
{
    fs_err rc = FS_OK;
    mpz_t mm;
    mpz_init(mm);
    FS_CHECK_ARG(v && i < v->n, "fs_paillier_encrypt: index out of range");
    set_i64(mm, m);
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
        /* The value is the caller's plaintext: it never enters the message. */
        if (!isfinite(s) || fabs(s) >= 0x1p62)
            FS_FAIL(FS_ERR_ARG, "paillier: a value outside the fixed-point range");
        FS_TRY(fs_paillier_encrypt(v, i, (int64_t)llround(s)));
    }
done:
    return rc;
}

fs_err fs_paillier_encrypt_packed(fs_paillier_vec *v, size_t i, const int64_t *vals,
                                  size_t count, int slot_bits)
{
    fs_err rc = FS_OK;
    mpz_t t, s;   /* secret (the plaintext): cleared at done: */
    mpz_inits(t, s, NULL);
    FS_CHECK_ARG(v && i < v->n && (vals || count == 0) && slot_bits >= 2 &&
                 count <= (size_t)fs_paillier_slots(v->pk, slot_bits),
                 "fs_paillier_encrypt_packed: bad index, slot width or count");
    for (size_t j = count; j-- > 0;) {
        int64_t a = vals[j];
        uint64_t mag = a < 0 ? (uint64_t)(-(a + 1)) + 1 : (uint64_t)a;
        if (slot_bits < 64 && mag >= ((uint64_t)1 << (slot_bits - 1)))
            FS_FAIL(FS_ERR_ARG, "paillier: a packed value does not fit its slot");
        mpz_mul_2exp(t, t, (mp_bitcnt_t)slot_bits);   /* Horner: T = T 2^s + v_j */
        set_i64(s, a);
        mpz_add(t, t, s);
    }
    mpz_mod(t, t, v->pk->n);
    FS_TRY(encrypt_mpz(v, v->c[i], t));
done:
    clear_secret(t);
    clear_secret(s);
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

fs_err fs_paillier_decrypt_packed(const fs_paillier_key *k, const fs_paillier_vec *v, size_t i,
                                  size_t count, int slot_bits, int frac_bits, double *out)
{
    fs_err rc = FS_OK;
    mpz_t t, d, w;   /* secret (t, d): cleared at done: */
    mpz_inits(t, d, w, NULL);
    FS_CHECK_ARG(k && v && i < v->n && (out || count == 0) && slot_bits >= 2 &&
                 count <= (size_t)fs_paillier_slots(&k->pub, slot_bits) && frac_bits >= 0,
                 "fs_paillier_decrypt_packed: bad arguments");
    FS_CHECK_ARG(same_key(&k->pub, v->pk), "paillier: ciphertext is under another key");
    decrypt_mpz(k, v->c[i], t);
    centre(&k->pub, t);
    mpz_setbit(w, (mp_bitcnt_t)slot_bits);   /* w = 2^s */
    /* Centred digits: d = T mod 2^s in [-2^(s-1), 2^(s-1)), T = (T - d) / 2^s. */
    for (size_t j = 0; j < count; j++) {
        mpz_fdiv_r_2exp(d, t, (mp_bitcnt_t)slot_bits);
        if (mpz_tstbit(d, (mp_bitcnt_t)slot_bits - 1)) mpz_sub(d, d, w);
        out[j] = ldexp(mpz_get_d(d), -frac_bits);
        mpz_sub(t, t, d);
        mpz_fdiv_q_2exp(t, t, (mp_bitcnt_t)slot_bits);
    }
done:
    clear_secret(t);
    clear_secret(d);
    mpz_clear(w);
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

/*
 * Straus's simultaneous exponentiation, one column: acc = prod_t
 * base_t^(mag_t) over the terms of one sign, by scanning the exponent bits
 * from the top (one squaring per bit for the whole batch, one
 * multiplication per set bit of each term).
 */
static void straus(mpz_t acc, const fs_paillier_vec *c, size_t cols, size_t j,
                   const uint32_t *rows, const int64_t *k, size_t count, int negative, int top,
                   const mpz_t n2)
{
    int started = 0;
    mpz_set_ui(acc, 1);
    for (int bit = top; bit >= 0; bit--) {
        if (started) {
            mpz_mul(acc, acc, acc);
            mpz_mod(acc, acc, n2);
        }
        for (size_t t = 0; t < count; t++) {
            int64_t a = k[t];
            if ((a < 0) != negative || a == 0) continue;
            uint64_t mag = a < 0 ? (uint64_t)(-(a + 1)) + 1 : (uint64_t)a;
            if (!((mag >> bit) & 1)) continue;
            mpz_mul(acc, acc, c->c[(size_t)rows[t] * cols + j]);
            mpz_mod(acc, acc, n2);
            started = 1;
        }
    }
}

fs_err fs_paillier_lincomb(const fs_paillier_vec *c, size_t cols, const uint32_t *rows,
                           const int64_t *k, size_t count, fs_paillier_vec *out)
{
    fs_err rc = FS_OK;
    mpz_t pos, neg;
    mpz_inits(pos, neg, NULL);
    FS_CHECK_ARG(c && out && cols > 0 && cols <= out->n && (count == 0 || (rows && k)) &&
                 same_key(c->pk, out->pk), "fs_paillier_lincomb: bad arguments");
    int top = -1, have_neg = 0;
    for (size_t t = 0; t < count; t++) {
        FS_CHECK_ARG(((size_t)rows[t] + 1) * cols <= c->n, "fs_paillier_lincomb: row %u out of "
                     "range", rows[t]);
        uint64_t mag = k[t] < 0 ? (uint64_t)(-(k[t] + 1)) + 1 : (uint64_t)k[t];
        for (int b = 63; b > top; b--)
            if ((mag >> b) & 1) { top = b; break; }
        have_neg |= k[t] < 0;
    }
    const mpz_t *n2 = (const mpz_t *)&c->pk->n2;
    for (size_t j = 0; j < cols; j++) {
        straus(pos, c, cols, j, rows, k, count, 0, top, *n2);
        if (have_neg) {
            straus(neg, c, cols, j, rows, k, count, 1, top, *n2);
            if (!mpz_invert(neg, neg, *n2))   /* one inverse per column */
                FS_FAIL(FS_ERR_CRYPTO, "paillier: ciphertext not invertible mod n^2");
            mpz_mul(pos, pos, neg);
            mpz_mod(pos, pos, *n2);
        }
        mpz_swap(out->c[j], pos);
    }
done:
    mpz_clears(pos, neg, NULL);
    return rc;
}

fs_err fs_paillier_rerandomize(fs_paillier_vec *v, size_t i)
{
    fs_err rc = FS_OK;
    mpz_t rn;
    mpz_init(rn);
    FS_CHECK_ARG(v && i < v->n, "fs_paillier_rerandomize: index out of range");
    FS_TRY(random_rn(v, rn, v->pk->xbits + RERAND_EXTRA));
    mpz_mul(v->c[i], v->c[i], rn);
    mpz_mod(v->c[i], v->c[i], v->pk->n2);
done:
    clear_secret(rn);
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

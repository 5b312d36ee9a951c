/*
 * fs_dh.c - finite-field Diffie-Hellman over GMP in standard safe-prime
 * groups: RFC 3526 section 3 (2048-bit MODP group 14) and RFC 7919
 * appendix A.1/A.2 (ffdhe2048, ffdhe3072).  For every group g = 2, p is a
 * safe prime and q = (p-1)/2 is prime; g = 2 generates the subgroup of
 * order q (the quadratic residues), which is where all public values and
 * shared secrets live.
 *
 * Crypto layer, no MPI.  Used by the per-job key setup of
 * docs/protocol.md: each rank draws an ephemeral a_i, publishes A_i = g^a_i mod p
 * (signed with its identity key), validates every A_j and computes
 * Z_ij = A_j^a_i mod p, from which HKDF derives the pairwise mask seeds.
 *
 * Secrets: exponents use mpz_powm_sec (constant time in the exponent and
 * the base); their limbs are wiped by the GMP free hook installed in
 * fs_crypto_init (mpz_clear hands every limb buffer to that hook);
 * GMP's small alloca scratch is wiped with fs_crypto_burn_stack.
 */
#include <string.h>
#include <gmp.h>
#include "crypto/fs_crypto_impl.h"

/* RFC 3526 section 3, "2048-bit MODP Group" (group 14).  g = 2. */
static const char modp2048_hex[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF";

/* RFC 7919 appendix A.1, ffdhe2048.  g = 2. */
static const char ffdhe2048_hex[] =
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1"
    "D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD6561"
    "2433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE735"
    "30ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB19"
    "0B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD73"
    "3BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF";

/* RFC 7919 appendix A.2, ffdhe3072.  g = 2. */
static const char ffdhe3072_hex[] =
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1"
    "D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD6561"
    "2433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE735"
    "30ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB19"
    "0B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD73"
    "3BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B4238611FCFDCDE355B3B6519035BBC34F4DEF99C0238"
    "61B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C"
    "AEFE130985139270B4130C93BC437944F4FD4452E2D74DD3"
    "64F2E21E71F54BFF5CAE82AB9C9DF69EE86D2BC522363A0D"
    "ABC521979B0DEADA1DBF9A42D5C4484E0ABCD06BFA53DDEF"
    "3C1B20EE3FD59D7C25E41D2B66C62E37FFFFFFFFFFFFFFFF";

/*
 * Secret exponent sizes.  RFC 7919 section 5.2 allows short exponents and
 * appendix A gives the minimum per group: ffdhe2048 (about 103-bit
 * strength) "at least 225 bits", ffdhe3072 (125-bit) "at least 275 bits".
 * We use 2x a generous strength: 256 bits for the 2048-bit groups (MODP
 * group 14 has the same size and structure) and 320 bits for ffdhe3072.
 * Short exponents are safe here because q is prime and large: no
 * small-subgroup structure exists for Pollard-lambda-style attacks to use.
 */
typedef struct {
    fs_dh_group_id id;
    const char *name;
    const char *hex;
    size_t bytes;      /* bytes of p */
    unsigned xbits;    /* bits of the secret exponent */
} group_desc;

static const group_desc groups[] = {
    { FS_DH_FFDHE2048, "ffdhe2048", ffdhe2048_hex, 256, 256 },
    { FS_DH_FFDHE3072, "ffdhe3072", ffdhe3072_hex, 384, 320 },
    { FS_DH_MODP2048, "modp2048", modp2048_hex, 256, 256 },
};

static const group_desc *find_group(fs_dh_group_id id)
{
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (groups[i].id == id) return &groups[i];
    return NULL;
}

struct fs_dh_keypair {
    const group_desc *g;
    mpz_t p;      /* the safe prime */
    mpz_t a;      /* secret: exponent in [2, 2^xbits); limbs wiped by the GMP free hook */
    mpz_t A;      /* public: g^a mod p */
};

/* Load p of a group; p must be mpz_init'ed. */
static fs_err load_prime(const group_desc *g, mpz_t p)
{
    if (mpz_set_str(p, g->hex, 16) != 0)
        return fs_error_set(FS_ERR_CRYPTO, "internal error: bad prime for %s", g->name);
    return FS_OK;
}

/* Export x (0 <= x < 256^len) as exactly len big-endian bytes. */
static void export_fixed(const mpz_t x, uint8_t *out, size_t len)
{
    size_t count = 0;
    size_t need = (mpz_sizeinbase(x, 2) + 7) / 8;
    memset(out, 0, len);
    if (mpz_sgn(x) == 0) return;
    /* caller guarantees need <= len (x < p); left-pad with zeros */
    mpz_export(out + (len - need), &count, 1, 1, 1, 0, x);
}

size_t fs_dh_group_bytes(fs_dh_group_id group)
{
    const group_desc *g = find_group(group);
    return g ? g->bytes : 0;
}

const char *fs_dh_group_name(fs_dh_group_id group)
{
    const group_desc *g = find_group(group);
    return g ? g->name : NULL;
}

fs_err fs_dh_group_from_name(const char *name, fs_dh_group_id *out)
{
    for (size_t i = 0; name && i < sizeof groups / sizeof groups[0]; i++)
        if (strcmp(name, groups[i].name) == 0) { *out = groups[i].id; return FS_OK; }
    return fs_error_set(FS_ERR_ARG, "unknown DH group '%s' (use ffdhe2048, ffdhe3072 or modp2048)",
                        name ? name : "(null)");
}

fs_err fs_dh_group_prime(fs_dh_group_id group, uint8_t *out, size_t outlen)
{
    fs_err rc = FS_OK;
    const group_desc *g = find_group(group);
    mpz_t p;
    if (!g || outlen != g->bytes) return fs_error_set(FS_ERR_ARG, "fs_dh_group_prime: bad group/length");
    FS_TRY(fs_crypto_init());
    mpz_init(p);
    rc = load_prime(g, p);
    if (rc == FS_OK) export_fixed(p, out, outlen);
    mpz_clear(p);
done:
    return rc;
}

// ---------------------------------------------------------------- validation

/*
 * Range check 1 < x < p-1.  Returns 1 if inside, 0 if not.  The caller has
 * already checked the byte length, so x < 256^bytes.
 */
static int in_range(const mpz_t x, const mpz_t p)
{
    mpz_t pm1;
    int ok;
    mpz_init(pm1);
    mpz_sub_ui(pm1, p, 1);
    ok = mpz_cmp_ui(x, 1) > 0 && mpz_cmp(x, pm1) < 0;
    mpz_clear(pm1);
    return ok;
}

/*
 * Subgroup test by Euler's criterion.  Z_p^* is cyclic of order p-1 = 2q,
 * so the subgroup of order q is exactly the set of quadratic residues
 * (index 2), and for 0 < x < p, x^q = x^((p-1)/2) = (x | p) (mod p), the
 * Legendre symbol.  Hence x^q == 1 iff (x | p) == 1.  mpz_legendre uses a
 * binary Jacobi-symbol algorithm, quadratic in the size of p, while the
 * explicit x^q needs a full 2048/3072-bit exponentiation (cubic); about
 * 100x faster.  Its running time depends on x, which is harmless because
 * x is a peer's public value.
 */
static int subgroup_legendre(const mpz_t x, const mpz_t p)
{
    return mpz_legendre(x, p) == 1;
}

/* The same test computed by the definition: x^q mod p == 1. */
static int subgroup_powm(const mpz_t x, const mpz_t p)
{
    mpz_t q, r;
    int ok;
    mpz_inits(q, r, NULL);
    mpz_sub_ui(q, p, 1);
    mpz_fdiv_q_2exp(q, q, 1);
    mpz_powm(r, x, q, p);  /* public base and exponent: the fast variant is fine */
    ok = mpz_cmp_ui(r, 1) == 0;
    mpz_clears(q, r, NULL);
    return ok;
}

/* Common front end of the two FS_INTERN test hooks. */
static int subgroup_hook(fs_dh_group_id group, const uint8_t *x, size_t len, int legendre)
{
    const group_desc *g = find_group(group);
    mpz_t p, v;
    int res;
    if (!g || !x || len != g->bytes || fs_crypto_init() != FS_OK) return -1;
    mpz_inits(p, v, NULL);
    if (load_prime(g, p) != FS_OK) { mpz_clears(p, v, NULL); return -1; }
    mpz_import(v, len, 1, 1, 1, 0, x);
    if (mpz_sgn(v) == 0 || mpz_cmp(v, p) >= 0) res = -1;
    else res = legendre ? subgroup_legendre(v, p) : subgroup_powm(v, p);
    mpz_clears(p, v, NULL);
    return res;
}

int fs_dh_in_subgroup_powm(fs_dh_group_id group, const uint8_t *x, size_t len)
{
    return subgroup_hook(group, x, len, 0);
}

int fs_dh_in_subgroup_legendre(fs_dh_group_id group, const uint8_t *x, size_t len)
{
    return subgroup_hook(group, x, len, 1);
}

/*
 * Import and validate a peer value into v (initialized by the caller):
 * exact length, 1 < v < p-1, v in the order-q subgroup.  A bad value is
 * FS_ERR_AUTH without saying which check failed.
 */
static fs_err import_public(const group_desc *g, const mpz_t p, const uint8_t *pub, size_t len,
                            mpz_t v)
{
    if (!pub || len != g->bytes)
        return fs_error_set(FS_ERR_ARG, "DH public value has %zu bytes, group %s needs %zu", len,
                            g->name, g->bytes);
    mpz_import(v, len, 1, 1, 1, 0, pub);
    if (!in_range(v, p) || !subgroup_legendre(v, p))
        return fs_error_set(FS_ERR_AUTH, "DH public value is not a valid %s group element",
                            g->name);
    return FS_OK;
}

fs_err fs_dh_validate_public(fs_dh_group_id group, const uint8_t *pub, size_t len)
{
    fs_err rc = FS_OK;
    const group_desc *g = find_group(group);
    mpz_t p, v;
    if (!g) return fs_error_set(FS_ERR_ARG, "unknown DH group id %d", (int)group);
    FS_TRY(fs_crypto_init());
    mpz_inits(p, v, NULL);
    rc = load_prime(g, p);
    if (rc == FS_OK) rc = import_public(g, p, pub, len, v);
    mpz_clears(p, v, NULL);
done:
    return rc;
}

// ---------------------------------------------------------------- key pairs

fs_err fs_dh_keypair_generate(fs_dh_group_id group, fs_dh_keypair **out)
{
    fs_err rc = FS_OK;
    const group_desc *g = find_group(group);
    fs_dh_keypair *kp = NULL;
    uint8_t xbuf[FS_DH_MAXBYTES];  /* secret: wiped at done: */
    mpz_t gen;
    int have_gen = 0;

    *out = NULL;
    if (!g) return fs_error_set(FS_ERR_ARG, "unknown DH group id %d", (int)group);
    FS_TRY(fs_crypto_init());
    FS_TRY(fs_zalloc(&kp, 1, sizeof *kp, "DH key pair"));
    kp->g = g;
    mpz_inits(kp->p, kp->a, kp->A, NULL);
    FS_TRY(load_prime(g, kp->p));

    /* a uniform in [2, 2^xbits); 2^xbits << q, so no reduction is needed.
     * Values 0 and 1 (probability 2^-255) are redrawn. */
    do {
        FS_TRY(fs_random_bytes(xbuf, g->xbits / 8));
        mpz_import(kp->a, g->xbits / 8, 1, 1, 1, 0, xbuf);
    } while (mpz_cmp_ui(kp->a, 1) <= 0);

    mpz_init_set_ui(gen, 2);
    have_gen = 1;
    /* Constant-time in a; p is odd as mpz_powm_sec requires. */
    mpz_powm_sec(kp->A, gen, kp->a, kp->p);
    fs_crypto_burn_stack(64 * 1024);
    *out = kp;
    kp = NULL;
done:
    fs_secure_zero(xbuf, sizeof xbuf);
    if (have_gen) mpz_clear(gen);
    fs_dh_keypair_destroy(&kp);
    return rc;
}

fs_dh_group_id fs_dh_keypair_group(const fs_dh_keypair *kp)
{
    return kp ? kp->g->id : (fs_dh_group_id)0;
}

fs_err fs_dh_public_bytes(const fs_dh_keypair *kp, uint8_t *out, size_t outlen)
{
    if (!kp || !out || outlen != kp->g->bytes)
        return fs_error_set(FS_ERR_ARG, "fs_dh_public_bytes: output must be %zu bytes",
                            kp ? kp->g->bytes : (size_t)0);
    export_fixed(kp->A, out, outlen);
    return FS_OK;
}

fs_err fs_dh_shared_secret(const fs_dh_keypair *kp, const uint8_t *peer_pub, size_t peer_len,
                           uint8_t *out, size_t outlen)
{
    fs_err rc = FS_OK;
    mpz_t peer, z;  /* z is secret: limbs wiped by the GMP free hook at done: */
    int have = 0;

    if (!kp || !out || outlen != kp->g->bytes)
        return fs_error_set(FS_ERR_ARG, "fs_dh_shared_secret: output must be %zu bytes",
                            kp ? kp->g->bytes : (size_t)0);
    memset(out, 0, outlen);
    FS_TRY(fs_crypto_init());
    mpz_inits(peer, z, NULL);
    have = 1;
    FS_TRY(import_public(kp->g, kp->p, peer_pub, peer_len, peer));

    /* Z = A_peer^a mod p, constant time in the secret a. */
    mpz_powm_sec(z, peer, kp->a, kp->p);
    fs_crypto_burn_stack(64 * 1024);
    /* Cannot happen for a validated peer value and a in [2, q): Z is in the
     * order-q subgroup and not 1.  Checked anyway as an internal invariant. */
    if (mpz_cmp_ui(z, 1) <= 0)
        FS_FAIL(FS_ERR_CRYPTO, "internal error: degenerate DH shared secret");
    export_fixed(z, out, outlen);
done:
    if (rc != FS_OK) fs_secure_zero(out, outlen);
    if (have) mpz_clears(peer, z, NULL);
    return rc;
}

void fs_dh_keypair_destroy(fs_dh_keypair **kp)
{
    if (!kp || !*kp) return;
    /*
     * mpz_set_ui(a, 0) would only change the size field and leave the
     * limbs intact; the secret is erased by mpz_clear, which passes the limb
     * buffer (with its size) to the wiping free hook of fs_crypto_init.  The
     * struct is zero-allocated and g is set together with mpz_inits (which
     * cannot fail: GMP allocation failure is fatal), so g != NULL means the
     * integers exist.
     */
    if ((*kp)->g) mpz_clears((*kp)->p, (*kp)->a, (*kp)->A, NULL);
    fs_secure_zero(*kp, sizeof **kp);
    free(*kp);
    *kp = NULL;
}

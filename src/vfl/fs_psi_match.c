/*
 * fs_psi_match.c - the membership test of the private set intersection:
 * zero shares of deterministic tags in hashed tables, summed securely
 * (docs/vertical.md, "Private set intersection", steps 3-4).
 *
 * vfl layer, but pure: no MPI (the caller moves the tables through
 * fs_secagg_sum_words), so unit tests run N holders in one process.
 *
 * Holder h holds the tags T of one block (another rank's ids, keyed by
 * every rank).  Round t = 1..R, with a table of B 64-bit words:
 *
 *   d(T)        = BLAKE2b-128(key = sid, "fedsilo psi v2 tag" || T)
 *   (slot, pr)  = AES_{K_t}(d(T)) read as two little-endian words;
 *                 slot = floor(word0 * B / 2^64), priority pr = word1;
 *                 K_t = HKDF(sid, "fedsilo psi v2 slot" || BE32(t)), public
 *   z_h,t(T)    = sum over l != h of sgn(h, l) * word0(AES_{Z_hl,t}(d(T)))
 *                 mod 2^64, Z_hl,t = HKDF(k_hl, sid, "fedsilo psi v2 zero"
 *                 || BE32(t)), k_hl the pair key of h and l (secret to them)
 *
 * sgn(h, l) = +1 if h < l else -1, and Z_hl,t = Z_lh,t, so
 * sum over h of z_h,t(T) = 0: the z are zero shares of T.  Every slot of
 * holder h's table starts as private uniform randomness; each slot that
 * some not yet detected tag maps to gets the zero share of the tag with
 * the highest (priority, digest) among them; the others wait for a later
 * round.  The tables are summed over all holders: a slot sums to 0 when
 * every holder wrote the zero share of the same tag there, and otherwise
 * to a pseudo-random word (a uniform word of some holder, or a PRF value
 * of some pair key that does not cancel).  A holder marks a tag it wrote
 * whose slot summed to 0 as "in every block" and drops it.
 *
 * Miss probability: a tag of the intersection is skipped at holder h in a
 * round only if another of h's n_h tags lands in its slot with a higher
 * priority: probability <= (n_h - 1) / (2B) (+ 2^-64 for equal
 * priorities).  With L = sum of the block sizes, B = ceil(e L / 2) gives p
 * <= 1/e per round, independent across rounds (fresh keys), and R =
 * ceil((40 + log2 n_min) / log2(1/p)) rounds keep P(some common id is
 * never detected) <= n_min p^R <= 2^-40.  A slot that does not cancel is
 * 0 with probability 2^-64: at most R B 2^-64 per job (the final result
 * check of fs_psi.c then fails every rank rather than return it).
 */
#include <math.h>
#include <string.h>
#include "crypto/fs_crypto_impl.h"
#include "vfl/fs_psi_impl.h"

#define NONE UINT32_MAX
static const char TAG_LABEL[] = "fedsilo psi v2 tag";

struct fs_psi_matcher {
    int nranks, rank;
    size_t n;                  /* tags held                                     */
    uint64_t B;                /* table words per round (+1 canary)             */
    uint32_t R;                /* rounds                                        */
    uint8_t sid[32];
    uint8_t *zkey;             /* (nranks x 32) secret: pair keys, own row zero */
    uint8_t *dig;              /* (n x 16) digests d(T) of the held tags        */
    uint8_t *flags;            /* (n) 1 = detected in every block               */
    uint32_t *active;          /* (nactive) tags not yet detected               */
    size_t nactive;
    uint32_t *owner;           /* (B) tag written to each slot this round       */
    uint32_t *placed;          /* (nplaced) tags written this round             */
    uint64_t *pslot;           /* (nplaced) their slots                         */
    size_t nplaced;
    uint8_t *in, *out;         /* (n x 16) AES scratch                          */
    uint64_t *acc;             /* (n) zero shares of the placed tags            */
};

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = (v << 8) | p[k];
    return v;
}

/* AES key of round t under ikm: HKDF(ikm, salt, label || BE32(t))[0..16). */
static fs_err round_key(const uint8_t *ikm, const uint8_t *salt, const char *label, uint32_t t,
                        uint8_t key[16])
{
    uint8_t info[64];
    size_t n = strlen(label);
    memcpy(info, label, n);
    be32(info + n, t);
    return fs_hkdf_sha256(ikm, 32, salt, salt ? 32 : 0, info, n + 4, key, 16);
}

void fs_psi_plan(const uint64_t *sizes, int nranks, uint64_t *B, uint32_t *R, double *log2_miss)
{
    uint64_t L = 0, nmin = UINT64_MAX;
    for (int r = 0; r < nranks; r++) {
        L += sizes[r];
        if (sizes[r] < nmin) nmin = sizes[r];
    }
    *B = 0;
    *R = 0;
    if (log2_miss) *log2_miss = -INFINITY;
    if (nranks < 2 || nmin == 0) return;             // nothing to match
    uint64_t b = (uint64_t)ceil(M_E * (double)L / 2.0);
    if (b < 16) b = 16;
    /* per-round miss bound p = L (1/2 + 2^-64) / B, rounded up */
    double p = (double)L * (0.5 + 0x1p-60) / (double)b;
    double need = 40.0 + log2((double)nmin);
    uint32_t r = (uint32_t)ceil(need / -log2(p));
    *B = b;
    *R = r;
    if (log2_miss) *log2_miss = log2((double)nmin) + (double)r * log2(p);
}

fs_err fs_psi_matcher_create(int nranks, int rank, const uint8_t sid[32], const uint8_t *zkeys,
                             const uint8_t *tags, size_t n, uint64_t B, uint32_t R,
                             fs_psi_matcher **out)
{
    fs_err rc = FS_OK;
    fs_psi_matcher *m = NULL;
    *out = NULL;
    if (nranks < 2 || rank < 0 || rank >= nranks || B < 1 || (n && !tags) || !zkeys ||
        n >= NONE || B > (UINT64_C(1) << 40))
        FS_FAIL(FS_ERR_ARG, "fs_psi_matcher_create: bad argument");
    FS_TRY(fs_zalloc(&m, 1, sizeof *m, "PSI matcher"));
    m->nranks = nranks;
    m->rank = rank;
    m->n = n;
    m->B = B;
    m->R = R;
    memcpy(m->sid, sid, 32);
    FS_TRY(fs_alloc(&m->zkey, (size_t)nranks, 32, "PSI pair keys"));
    memcpy(m->zkey, zkeys, (size_t)nranks * 32);
    FS_TRY(fs_alloc(&m->dig, n, 16, "PSI tag digests"));
    FS_TRY(fs_zalloc(&m->flags, n, 1, "PSI flags"));
    FS_TRY(fs_alloc(&m->active, n, sizeof *m->active, "PSI active tags"));
    FS_TRY(fs_alloc(&m->owner, (size_t)B, sizeof *m->owner, "PSI slot owners"));
    FS_TRY(fs_alloc(&m->placed, n, sizeof *m->placed, "PSI placed tags"));
    FS_TRY(fs_alloc(&m->pslot, n, sizeof *m->pslot, "PSI slots"));
    FS_TRY(fs_alloc(&m->in, n, 16, "PSI scratch"));
    FS_TRY(fs_alloc(&m->out, n, 16, "PSI scratch"));
    FS_TRY(fs_alloc(&m->acc, n, sizeof *m->acc, "PSI zero shares"));
    for (size_t i = 0; i < n; i++) {
        FS_TRY(fs_blake2b_keyed(m->dig + 16 * i, 16, sid, 32, TAG_LABEL, sizeof TAG_LABEL - 1,
                                tags + FS_RISTRETTO_BYTES * i, FS_RISTRETTO_BYTES));
        m->active[i] = (uint32_t)i;
    }
    m->nactive = n;
    *out = m;
    m = NULL;
done:
    fs_psi_matcher_destroy(&m);
    return rc;
}

void fs_psi_matcher_destroy(fs_psi_matcher **p)
{
    if (!p || !*p) return;
    fs_psi_matcher *m = *p;
    if (m->zkey) fs_secure_zero(m->zkey, (size_t)m->nranks * 32);
    if (m->dig) fs_secure_zero(m->dig, m->n * 16);
    if (m->acc) fs_secure_zero(m->acc, m->n * sizeof *m->acc);
    if (m->out) fs_secure_zero(m->out, m->n * 16);
    if (m->in) fs_secure_zero(m->in, m->n * 16);
    free(m->zkey); free(m->dig); free(m->flags); free(m->active); free(m->owner);
    free(m->placed); free(m->pslot); free(m->in); free(m->out); free(m->acc);
    free(m);
    *p = NULL;
}

/* Does tag i beat tag j for a slot?  Higher priority, then larger digest. */
static int beats(const fs_psi_matcher *m, uint32_t i, uint64_t pri, uint32_t j, uint64_t prj)
{
    if (pri != prj) return pri > prj;
    return memcmp(m->dig + 16 * (size_t)i, m->dig + 16 * (size_t)j, 16) > 0;
}

fs_err fs_psi_matcher_table(fs_psi_matcher *m, uint32_t t, uint64_t *table)
{
    fs_err rc = FS_OK;
    uint8_t key[16];             /* secret for the zero keys: wiped at done: */
    uint64_t *prio = (uint64_t *)(void *)m->acc;   // reused: priorities first
    const size_t na = m->nactive;
    /* Private uniform randomness everywhere; the canary word is 0. */
    FS_TRY(fs_random_bytes(table, (size_t)m->B * sizeof *table));
    table[m->B] = 0;
    memset(m->owner, 0xff, (size_t)m->B * sizeof *m->owner);
    /* Slots and priorities of the active tags under the public K_t. */
    for (size_t k = 0; k < na; k++) memcpy(m->in + 16 * k, m->dig + 16 * (size_t)m->active[k], 16);
    FS_TRY(round_key(m->sid, NULL, "fedsilo psi v2 slot", t, key));
    FS_TRY(fs_aes128_ecb(key, m->in, m->out, na));
    for (size_t k = 0; k < na; k++) {
        uint32_t i = m->active[k];
        uint64_t s = (uint64_t)(((unsigned __int128)le64(m->out + 16 * k) * m->B) >> 64);
        uint64_t pr = le64(m->out + 16 * k + 8);
        m->pslot[k] = s;
        prio[k] = pr;
        uint32_t o = m->owner[s];
        /* owner holds the position k' of the current winner in active[] */
        if (o == NONE || beats(m, i, pr, m->active[o], prio[o])) m->owner[s] = (uint32_t)k;
    }
    /* The winners, in active order; their digests go to the zero PRFs. */
    m->nplaced = 0;
    for (size_t k = 0; k < na; k++) {
        if (m->owner[m->pslot[k]] != (uint32_t)k) continue;
        m->pslot[m->nplaced] = m->pslot[k];
        m->placed[m->nplaced] = m->active[k];
        memcpy(m->in + 16 * m->nplaced, m->dig + 16 * (size_t)m->active[k], 16);
        m->nplaced++;
    }
    memset(m->acc, 0, m->nplaced * sizeof *m->acc);
    for (int l = 0; l < m->nranks; l++) {
        if (l == m->rank) continue;
        FS_TRY(round_key(m->zkey + 32 * (size_t)l, m->sid, "fedsilo psi v2 zero", t, key));
        FS_TRY(fs_aes128_ecb(key, m->in, m->out, m->nplaced));
        const int plus = m->rank < l;      // sgn(h, l): the pair's terms cancel
        for (size_t k = 0; k < m->nplaced; k++) {
            uint64_t v = le64(m->out + 16 * k);
            m->acc[k] = plus ? m->acc[k] + v : m->acc[k] - v;
        }
    }
    for (size_t k = 0; k < m->nplaced; k++) table[m->pslot[k]] = m->acc[k];
done:
    fs_secure_zero(key, sizeof key);
    if (m->out) fs_secure_zero(m->out, m->n * 16);
    return rc;
}

size_t fs_psi_matcher_detect(fs_psi_matcher *m, const uint64_t *sum)
{
    size_t found = 0;
    for (size_t k = 0; k < m->nplaced; k++)
        if (sum[m->pslot[k]] == 0) { m->flags[m->placed[k]] = 1; found++; }
    if (found) {
        size_t w = 0;
        for (size_t k = 0; k < m->nactive; k++)
            if (!m->flags[m->active[k]]) m->active[w++] = m->active[k];
        m->nactive = w;
    }
    m->nplaced = 0;
    return found;
}

const uint8_t *fs_psi_matcher_flags(const fs_psi_matcher *m) { return m->flags; }

fs_err fs_psi_zero_share(const uint8_t *zkeys, int nranks, int rank, const uint8_t *msg,
                         size_t len, uint64_t out[2])
{
    static const char label[] = "fedsilo psi v2 result";
    uint8_t h[16];
    out[0] = out[1] = 0;
    for (int l = 0; l < nranks; l++) {
        if (l == rank) continue;
        fs_err rc = fs_blake2b_keyed(h, 16, zkeys + 32 * (size_t)l, 32, label, sizeof label - 1,
                                     msg, len);
        if (rc != FS_OK) return rc;
        uint64_t a = le64(h), b = le64(h + 8);
        if (rank < l) { out[0] += a; out[1] += b; } else { out[0] -= a; out[1] -= b; }
    }
    fs_secure_zero(h, sizeof h);
    return FS_OK;
}

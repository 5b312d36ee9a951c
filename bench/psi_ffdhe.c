/*
 * psi_ffdhe.c - the PREVIOUS private set intersection of fedsilo (before
 * ristretto255), kept outside the library as a reference: the baseline of
 * bench/psi_bench and the positive control of tests/vfl/psi_leak.sh.
 * NOT PRIVATE ENOUGH: every owner broadcasts its fully exponentiated list
 * F(S_j), so each rank learns, for each of its ids, which other ranks hold
 * it.  Never use it on real data.
 *
 * N-party commutative exponentiation (Meadows 1986; Huberman, Franklin and
 * Hogg 1999) in the quadratic-residue subgroup of the RFC 7919 ffdhe2048
 * safe prime:
 *   1. local: hash every own id into the group, apply the secret
 *      permutation pi_i and raise to the secret exponent a_i;
 *   2. ring: N-1 hops; at each hop rank i sends its current list to i+1,
 *      receives the list of i-1, validates every element and raises it to
 *      a_i; one more hop returns each fully exponentiated list to its
 *      owner, still in the owner's order (tag 7102);
 *   3. broadcast: each owner broadcasts its fully exponentiated list; each
 *      rank counts, for every position of its own list, in how many other
 *      lists the value occurs;
 *   4. local: positions found in all N-1 other lists form the
 *      intersection, sorted by value.
 * Links the internal library (libfedsilo_internal.la) for the DH group and
 * the chunked MPI transfers.
 */
#define _GNU_SOURCE   /* qsort_r */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <gmp.h>
#include "crypto/fs_crypto_impl.h"
#include "vfl/fs_vfl_impl.h"
#include "fedsilo/fs_agree.h"
#include "psi_ffdhe.h"

#define EB PSI_FFDHE_ELEMBYTES
#define EXP_BITS 256          /* short exponent, RFC 7919 section 5.2 (>= 225) */
#define TAG_RING PSI_FFDHE_TAG_RING
#define TAG_BACK PSI_FFDHE_TAG_BACK

/* x = (SHA-256(label || ctr || len || id) for ctr = 0..8, i.e. 288 bytes,
 * mod p)^2 mod p.  The 16+ extra bytes make the reduction bias < 2^-128;
 * squaring maps into the QR subgroup (order q). */
static fs_err hash_to_group(const char *id, const mpz_t p, mpz_t x)
{
    fs_err rc = FS_OK;
    static const char label[] = "fedsilo-psi-v1 ffdhe2048";
    size_t idlen = strlen(id), blen = sizeof label + 12 + idlen;
    uint8_t out[9 * FS_SHA256_BYTES];
    uint8_t *buf = NULL;
    FS_TRY(fs_alloc(&buf, blen, 1, "PSI hash input"));
    memcpy(buf, label, sizeof label);
    for (int k = 0; k < 8; k++) buf[sizeof label + 4 + k] = (uint8_t)((uint64_t)idlen >> (56 - 8 * k));
    memcpy(buf + sizeof label + 12, id, idlen);
    for (uint32_t ctr = 0; ctr < 9; ctr++) {
        buf[sizeof label] = (uint8_t)(ctr >> 24);
        buf[sizeof label + 1] = (uint8_t)(ctr >> 16);
        buf[sizeof label + 2] = (uint8_t)(ctr >> 8);
        buf[sizeof label + 3] = (uint8_t)ctr;
        FS_TRY(fs_sha256(buf, blen, out + ctr * FS_SHA256_BYTES));
    }
    mpz_import(x, sizeof out, 1, 1, 1, 0, out);
    mpz_mod(x, x, p);
    mpz_powm_ui(x, x, 2, p);
    if (mpz_cmp_ui(x, 1) <= 0) FS_FAIL(FS_ERR_CRYPTO, "PSI: degenerate hash value");
done:
    free(buf);
    return rc;
}

static void put(uint8_t *out, const mpz_t x)
{
    size_t need = (mpz_sizeinbase(x, 2) + 7) / 8, count = 0;
    memset(out, 0, EB);
    if (need <= EB) mpz_export(out + (EB - need), &count, 1, 1, 1, 0, x);
}

/* Raise every element of list (cnt x EB bytes) to a, in place, after
 * checking that it is a quadratic residue in (1, p-1). */
static fs_err raise_all(uint8_t *list, size_t cnt, const mpz_t a, const mpz_t p)
{
    fs_err rc = FS_OK;
    mpz_t x, pm1;
    mpz_inits(x, pm1, NULL);
    mpz_sub_ui(pm1, p, 1);
    for (size_t i = 0; i < cnt; i++) {
        mpz_import(x, EB, 1, 1, 1, 0, list + i * EB);
        if (mpz_cmp_ui(x, 1) <= 0 || mpz_cmp(x, pm1) >= 0 || mpz_legendre(x, p) != 1)
            FS_FAIL(FS_ERR_DATA, "PSI: received value %zu is not in the group", i);
        mpz_powm_sec(x, x, a, p);
        put(list + i * EB, x);
    }
done:
    mpz_clears(x, pm1, NULL);
    fs_crypto_burn_stack(64 * 1024);
    return rc;
}

static int cmp_elem(const void *a, const void *b) { return memcmp(a, b, EB); }

/* Order positions by the element bytes they index in base (qsort_r). */
static int cmp_pos(const void *a, const void *b, void *base)
{
    const uint8_t *e = base;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    return memcmp(e + i * EB, e + j * EB, EB);
}

fs_err psi_ffdhe_intersect(MPI_Comm user_comm, const char *const *ids, size_t n, size_t **idx_out,
                           size_t *m_out)
{
    fs_err rc = FS_OK, local = FS_OK;
    MPI_Comm comm = MPI_COMM_NULL;
    int rank = 0, size = 1;
    uint8_t *own = NULL, *cur = NULL, *nxt = NULL, *other = NULL, *abuf = NULL;
    uint32_t *perm = NULL;      /* secret: pi_i, wiped at done: */
    uint32_t *hits = NULL;      /* (n) number of other lists holding own[t] */
    size_t *res = NULL, *sizes = NULL;
    mpz_t p, a, x;              /* a is secret */
    mpz_inits(p, a, x, NULL);
    if (idx_out) *idx_out = NULL;
    if (m_out) *m_out = 0;
    FS_TRY(fs_vfl_dup(user_comm, &comm));
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);

    /* Phase 1 (local): p, a_i, pi_i, own list H(x_pi(t))^a_i. */
    {
        fs_err e = FS_OK;
        uint8_t pb[EB];
        if (!idx_out || !m_out || (!ids && n)) { e = fs_error_set(FS_ERR_ARG, "psi_ffdhe_intersect: NULL argument"); goto p1; }
        if (n > UINT32_MAX) { e = fs_error_set(FS_ERR_ARG, "PSI: more than 2^32 ids"); goto p1; }
        for (size_t i = 0; i < n; i++)
            if (!ids[i]) { e = fs_error_set(FS_ERR_ARG, "PSI: id %zu is NULL", i); goto p1; }
        if ((e = fs_dh_group_prime(FS_DH_FFDHE2048, pb, sizeof pb)) != FS_OK) goto p1;
        mpz_import(p, EB, 1, 1, 1, 0, pb);
        abuf = NULL;
        if ((e = fs_alloc(&abuf, EXP_BITS / 8, 1, "PSI exponent")) != FS_OK) goto p1;
        do {
            if ((e = fs_random_bytes(abuf, EXP_BITS / 8)) != FS_OK) goto p1;
            mpz_import(a, EXP_BITS / 8, 1, 1, 1, 0, abuf);
        } while (mpz_sgn(a) == 0);
        if ((e = fs_alloc(&perm, n, sizeof *perm, "PSI permutation")) != FS_OK) goto p1;
        if ((e = fs_alloc(&own, n, EB, "PSI list")) != FS_OK) goto p1;
        if ((e = fs_zalloc(&hits, n, sizeof *hits, "PSI hits")) != FS_OK) goto p1;
        /* Fisher-Yates with CSPRNG words (bias < 2^-32 per draw). */
        for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
        for (size_t i = n; i > 1; i--) {
            uint64_t r;
            if ((e = fs_random_bytes(&r, sizeof r)) != FS_OK) goto p1;
            size_t j = (size_t)(r % i);
            uint32_t t = perm[i - 1]; perm[i - 1] = perm[j]; perm[j] = t;
        }
        for (size_t t = 0; t < n; t++) {
            if ((e = hash_to_group(ids[perm[t]], p, x)) != FS_OK) goto p1;
            mpz_powm_sec(x, x, a, p);
            put(own + t * EB, x);
        }
    p1:
        local = e;
    }
    FS_TRY(fs_agree(comm, local, NULL));   /* collective: phase boundary */

    /* Every rank's list size (public). */
    FS_TRY(fs_alloc(&sizes, (size_t)size, sizeof *sizes, "PSI sizes"));
    {
        uint64_t mine = n, *all = NULL;
        FS_TRY(fs_alloc(&all, (size_t)size, sizeof *all, "PSI sizes"));
        int mrc = MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, comm);
        for (int r = 0; r < size; r++) sizes[r] = (size_t)all[r];
        free(all);
        if (mrc != MPI_SUCCESS) FS_TRY(fs_from_mpi(mrc, "MPI_Allgather"));
    }

    /* Phase 2 (ring): after hop h rank i holds owner (i - h)'s list. */
    {
        size_t maxn = 0;
        for (int r = 0; r < size; r++) if (sizes[r] > maxn) maxn = sizes[r];
        FS_TRY(fs_alloc(&cur, maxn, EB, "PSI ring buffer"));
        FS_TRY(fs_alloc(&nxt, maxn, EB, "PSI ring buffer"));
        if (n) memcpy(cur, own, n * EB);
        int next = (rank + 1) % size, prev = (rank + size - 1) % size;
        for (int h = 1; h < size; h++) {
            size_t scnt = sizes[(rank - (h - 1) + size) % size];
            size_t rcnt = sizes[(rank - h + size) % size];
            /* collective: every rank performs the same hop */
            FS_TRY(fs_vfl_sendrecv(cur, scnt * EB, next, nxt, rcnt * EB, prev, TAG_RING, comm));
            local = raise_all(nxt, rcnt, a, p);
            FS_TRY(fs_agree(comm, local, NULL));
            uint8_t *t = cur; cur = nxt; nxt = t;
        }
        /* Rank i holds owner (i + 1)'s full list; send it home (one hop
         * forward), receive own full list from rank i - 1. */
        if (size > 1) {
            size_t scnt = sizes[(rank + 1) % size];
            FS_TRY(fs_vfl_sendrecv(cur, scnt * EB, next, own, n * EB, prev, TAG_BACK, comm));
        }
    }
    /* Now own[t] = F(x_pi(t)).  Duplicate ids show up as equal values. */
    {
        size_t *pos = NULL;
        local = fs_alloc(&pos, n, sizeof *pos, "PSI positions");
        if (local == FS_OK) {
            for (size_t t = 0; t < n; t++) pos[t] = t;
            qsort_r(pos, n, sizeof *pos, cmp_pos, own);
            for (size_t t = 1; t < n; t++)
                if (!memcmp(own + pos[t] * EB, own + pos[t - 1] * EB, EB)) {
                    /* The message goes to every rank: name the index, never the id. */
                    local = fs_error_set(FS_ERR_DATA, "PSI: duplicate id (index %zu of the "
                                         "id list)", (size_t)perm[pos[t]]);
                    break;
                }
            res = pos;   /* reused below: own positions in value order */
        }
        FS_TRY(fs_agree(comm, local, NULL));
    }

    /* Phase 3 (broadcast): count, per own position, the lists that hold it. */
    {
        size_t maxn = 0;
        for (int r = 0; r < size; r++) if (sizes[r] > maxn) maxn = sizes[r];
        FS_TRY(fs_alloc(&other, maxn, EB, "PSI received list"));
        for (int root = 0; root < size; root++) {
            size_t cnt = sizes[root];
            if (root == rank && cnt) memcpy(other, own, cnt * EB);
            FS_TRY(fs_vfl_bcast(other, cnt * EB, root, comm));   /* collective */
            if (root == rank) continue;
            qsort(other, cnt, EB, cmp_elem);
            for (size_t t = 0; t < n; t++)
                if (cnt && bsearch(own + t * EB, other, cnt, EB, cmp_elem)) hits[t]++;
        }
    }

    /* Phase 4 (local): the intersection in value order, mapped through pi. */
    {
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            size_t t = res[k];
            if (hits[t] == (uint32_t)(size - 1)) res[m++] = perm[t];
        }
        *idx_out = res;
        *m_out = m;
        res = NULL;
    }
done:
    if (perm) { fs_secure_zero(perm, n * sizeof *perm); free(perm); }
    if (abuf) { fs_secure_zero(abuf, EXP_BITS / 8); free(abuf); }
    mpz_set_ui(a, 0);
    mpz_clears(p, a, x, NULL);
    free(own); free(cur); free(nxt); free(other); free(hits); free(res); free(sizes);
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    if (rc != FS_OK && idx_out && *idx_out) { free(*idx_out); *idx_out = NULL; }
    return rc;
}

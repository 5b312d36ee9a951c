/*
 * fs_maskgraph.c - which pairs of parties share a pairwise mask (secsum
 * layer; no MPI).  docs/protocol.md, key setup.
 *
 * Full mesh (Bonawitz et al. 2017): every pair; privacy against any
 * coalition of up to N - 2 parties, but O(N) PRG work per party.
 *
 * Sparse (SecAgg+, Bell et al. 2020): a k-regular graph, k = O(log N).  We
 * use the Harary graph H(k, N) on a pseudo-random relabelling of the
 * parties.  Position p on a ring of N positions holds party perm[p], where
 * perm is a Fisher-Yates shuffle driven by a stream keyed from the 32-byte
 * session id.  Position p is joined to positions p +- 1, ..., p +- k/2
 * (mod N) and, for odd k (N even), to p + N/2.  Why this is what we want:
 *   - k-regular: the k offsets +-1..+-floor(k/2) (and N/2) are distinct
 *     and non-zero mod N because floor(k/2) < N/2, and the offset set is
 *     symmetric (-t is in it whenever t is), so the relation is symmetric
 *     and every vertex has exactly k neighbours;
 *   - connected: for k >= 2 the offsets +-1 contain the Hamiltonian ring;
 *   - k-connected (Harary 1962): deleting fewer than k parties leaves the
 *     rest connected, so a coalition of < k parties learns nothing beyond
 *     the sum of all honest inputs (the masks between honest parties still
 *     tie them into one component).
 * The relabelling makes the neighbourhoods unpredictable before the
 * session id (a transcript hash) is fixed; the graph itself is public, so
 * the non-cryptographic fs_rng stream suffices.
 *
 * Storage: adj is (N x d) ints, row i = sorted neighbours of party i,
 * where d = N - 1 (full mesh) or k.
 */
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_secsum.h"

struct fs_maskgraph {
    int nparties;   /* N >= 1                                          */
    int degree;     /* d: neighbours per party                         */
    int *adj;       /* (N x d) sorted neighbour lists, values in [0,N) */
};

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int b = 7; b >= 0; b--)
        v = v << 8 | p[b];
    return v;
}

fs_err fs_maskgraph_create(int nparties, int degree, const uint8_t session_id[32],
                           fs_maskgraph **out)
{
    fs_err rc = FS_OK;
    fs_maskgraph *g = NULL;
    uint32_t *perm = NULL;          // (N) position -> party
    FS_CHECK_ARG(out, "fs_maskgraph_create: out is NULL");
    *out = NULL;
    FS_CHECK_ARG(nparties >= 1, "mask graph: number of parties %d must be >= 1", nparties);
    FS_CHECK_ARG(degree >= 0 && degree < nparties,
                 "mask graph: degree %d must be 0 (full mesh) or between 2 and N - 1 = %d",
                 degree, nparties - 1);
    FS_CHECK_ARG(degree != 1 || nparties == 2,
                 "mask graph: degree 1 would disconnect %d parties; use degree >= 2", nparties);
    FS_CHECK_ARG(degree % 2 == 0 || nparties % 2 == 0,
                 "mask graph: no %d-regular graph on %d parties exists (degree x parties "
                 "must be even); use an even degree", degree, nparties);
    FS_CHECK_ARG(degree == 0 || session_id, "mask graph: sparse graph needs a session id");

    FS_TRY(fs_zalloc(&g, 1, sizeof *g, "mask graph"));
    g->nparties = nparties;
    g->degree = degree == 0 ? nparties - 1 : degree;
    FS_TRY(fs_alloc(&g->adj, (size_t)nparties, (size_t)g->degree * sizeof(int),
                    "mask graph adjacency"));
    const int d = g->degree;

    if (degree == 0) {
        for (int i = 0; i < nparties; i++) {
            int *row = g->adj + (size_t)i * d, c = 0;
            for (int j = 0; j < nparties; j++)
                if (j != i)
                    row[c++] = j;
        }
    } else {
        fs_rng rng;
        FS_TRY(fs_alloc(&perm, (size_t)nparties, sizeof *perm, "mask graph permutation"));
        for (int p = 0; p < nparties; p++)
            perm[p] = (uint32_t)p;
        fs_rng_seed(&rng, fs_rng_key(load_le64(session_id), load_le64(session_id + 8),
                                     load_le64(session_id + 16), load_le64(session_id + 24)));
        fs_rng_shuffle_u32(&rng, perm, (size_t)nparties);
        const int h = d / 2;
        for (int p = 0; p < nparties; p++) {
            int *row = g->adj + (size_t)perm[p] * d, c = 0;
            for (int t = 1; t <= h; t++) {
                row[c++] = (int)perm[(p + t) % nparties];
                row[c++] = (int)perm[(p - t + nparties) % nparties];
            }
            if (d % 2)  // odd degree, even N: the antipodal position
                row[c++] = (int)perm[(p + nparties / 2) % nparties];
        }
        for (int i = 0; i < nparties; i++)
            qsort(g->adj + (size_t)i * d, (size_t)d, sizeof(int), cmp_int);
    }
    *out = g;
    g = NULL;
done:
    free(perm);
    fs_maskgraph_destroy(&g);
    return rc;
}

void fs_maskgraph_destroy(fs_maskgraph **g)
{
    if (!g || !*g)
        return;
    free((*g)->adj);
    free(*g);
    *g = NULL;
}

int fs_maskgraph_nparties(const fs_maskgraph *g) { return g ? g->nparties : 0; }

int fs_maskgraph_degree(const fs_maskgraph *g) { return g ? g->degree : 0; }

fs_err fs_maskgraph_neighbours(const fs_maskgraph *g, int party, const int **nbrs, int *count)
{
    fs_err rc = FS_OK;
    FS_CHECK_ARG(g && nbrs && count, "fs_maskgraph_neighbours: NULL argument");
    *nbrs = NULL;
    *count = 0;
    FS_CHECK_ARG(party >= 0 && party < g->nparties,
                 "mask graph: party %d out of range [0, %d)", party, g->nparties);
    *nbrs = g->adj + (size_t)party * g->degree;
    *count = g->degree;
done:
    return rc;
}

int fs_maskgraph_has_edge(const fs_maskgraph *g, int i, int j)
{
    if (!g || i < 0 || j < 0 || i >= g->nparties || j >= g->nparties || i == j || !g->degree)
        return 0;
    return bsearch(&j, g->adj + (size_t)i * g->degree, (size_t)g->degree, sizeof(int),
                   cmp_int) != NULL;
}

int fs_maskgraph_is_connected(const fs_maskgraph *g)
{
    if (!g)
        return 0;
    const int n = g->nparties, d = g->degree;
    int *queue = NULL;          // (N) BFS queue of parties
    unsigned char *seen = NULL; // (N) 0/1
    int nseen = 0;
    if (fs_alloc(&queue, (size_t)n, sizeof *queue, "BFS queue") != FS_OK ||
        fs_zalloc(&seen, (size_t)n, 1, "BFS marks") != FS_OK)
        goto done;
    int head = 0, tail = 0;
    queue[tail++] = 0;
    seen[0] = 1;
    nseen = 1;
    while (head < tail) {
        const int *row = g->adj + (size_t)queue[head++] * d;
        for (int t = 0; t < d; t++)
            if (!seen[row[t]]) {
                seen[row[t]] = 1;
                nseen++;
                queue[tail++] = row[t];
            }
    }
done:
    free(queue);
    free(seen);
    return nseen == n;
}

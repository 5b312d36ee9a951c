/*
 * forge.c - an LD_PRELOAD PMPI shim standing in for an active attacker on
 * the MPI transport (the security review's E7), for tests/integrity/
 * roundend.sh.  It makes one rank hold another global model and then tries
 * to hide that from the end-of-round consistency check.
 *
 * Environment:
 *   FS_FORGE_RANK=R   the rank whose received model sums are altered
 *   FS_FORGE_SUM=1    on rank R, add 2^26 to word 0 of every model-vector
 *                     sum it receives: a blocking MPI_Allreduce(MPI_SUM)
 *                     of MPI_UINT32_T/MPI_UINT64_T words (the secure sum of
 *                     a model of at most 1 MiB of words) or of MPI_FLOAT
 *                     (the plain baseline, where 2^-3 is added instead), of
 *                     at least 1000 elements (statistics are shorter).  The
 *                     canary and the flag word are left alone.
 *   FS_FORGE_HASH=1   on every rank, answer the round-end exchange with the
 *                     rank's own model fingerprint:
 *                     - the authenticated round end (MPI_Alltoall of
 *                       72-byte blocks: digest[32], stop, pad[7], tag[32]):
 *                       every received digest is replaced with the
 *                       receiver's own (the tags are kept: the attacker
 *                       cannot compute new ones);
 *                     - the unauthenticated one (MPI_Allreduce MAX of 3 or
 *                       5 MPI_UINT64_T): the result is replaced with the
 *                       rank's own contribution.
 *   FS_FORGE_AGREE=R  on rank R, answer every error agreement (MPI_Allreduce
 *                     MAXLOC of one MPI_2INT) with "all OK" (code 0): a
 *                     forged verdict that must not make a failing rank go on
 *   FS_FORGE_LOG=dir  append one line per action to dir/forge-<rank>.log:
 *                     "sum <count>" for an altered sum; "alltoall
 *                     differs|same peer J" per replaced digest (differs: the
 *                     forgery was needed to hide a divergence);
 *                     "allreduce differs|same" for a replaced hash result;
 *                     "agree <code>" for a replaced agreement (its true code).
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>

#define RE_BYTES 72
#define MIN_MODEL_WORDS 1000

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] == '1';
}

static int world_rank(void)
{
    int r = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

static void forge_log(const char *fmt, const char *what, long a)
{
    const char *dir = getenv("FS_FORGE_LOG");
    if (!dir) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/forge-%d.log", dir, world_rank());
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, fmt, what, a);
    fputc('\n', f);
    fclose(f);
}

int MPI_Allreduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op,
                  MPI_Comm comm)
{
    uint64_t own[5];
    const int hash = env_on("FS_FORGE_HASH") && op == MPI_MAX && t == MPI_UINT64_T &&
                     (count == 3 || count == 5);
    if (hash) memcpy(own, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (size_t)count * 8);
    int rc = PMPI_Allreduce(sbuf, rbuf, count, t, op, comm);
    if (rc != MPI_SUCCESS) return rc;
    if (hash) {
        /* the true result says "diverged" iff max h != ~min h */
        const uint64_t *v = rbuf;
        forge_log("allreduce %s", v[0] != ~v[1] ? "differs" : "same", 0);
        memcpy(rbuf, own, (size_t)count * 8);
        return rc;
    }
    const char *a = getenv("FS_FORGE_AGREE");
    if (a && a[0] && atoi(a) == world_rank() && op == MPI_MAXLOC && t == MPI_2INT && count == 1) {
        int *v = rbuf;
        if (v[0] != 0) forge_log("%s %ld", "agree", (long)v[0]);
        v[0] = 0;
        v[1] = 0;
        return rc;
    }
    const char *r = getenv("FS_FORGE_RANK");
    if (!env_on("FS_FORGE_SUM") || !r || atoi(r) != world_rank() || op != MPI_SUM ||
        count < MIN_MODEL_WORDS)
        return rc;
    if (t == MPI_UINT32_T) ((uint32_t *)rbuf)[0] += (uint32_t)1 << 26;
    else if (t == MPI_UINT64_T) ((uint64_t *)rbuf)[0] += (uint64_t)1 << 26;
    else if (t == MPI_FLOAT) ((float *)rbuf)[0] += 0.125f;
    else return rc;
    forge_log("%s %ld", "sum", (long)count);
    return rc;
}

int MPI_Alltoall(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                 MPI_Datatype rtype, MPI_Comm comm)
{
    int rc = PMPI_Alltoall(sbuf, scount, stype, rbuf, rcount, rtype, comm);
    if (rc != MPI_SUCCESS || !env_on("FS_FORGE_HASH") || sbuf == MPI_IN_PLACE ||
        stype != MPI_BYTE || scount != RE_BYTES || rcount != RE_BYTES)
        return rc;
    int size = 1, me = 0;
    PMPI_Comm_size(comm, &size);
    PMPI_Comm_rank(comm, &me);
    const unsigned char *mine = (const unsigned char *)sbuf + (size_t)me * RE_BYTES;
    for (int j = 0; j < size; j++) {
        if (j == me) continue;
        unsigned char *b = (unsigned char *)rbuf + (size_t)j * RE_BYTES;
        const char *what = memcmp(b, mine, 32) != 0 ? "differs" : "same";
        memcpy(b, mine, 32);
        forge_log("alltoall %s peer %ld", what, (long)j);
    }
    return rc;
}

/*
 * fs_mpispy.c - an LD_PRELOAD PMPI library for the secure-sum tests: it
 * records what every rank sends into and receives from collectives, and can
 * tamper with messages like an attacker on the MPI transport.
 *
 * Environment:
 *   FS_SPY_DIR=dir      append records to dir/spy-<world rank>.bin
 *   FS_SPY_TAMPER=mode  one of
 *     allgather:R:J     on rank R, flip the last byte of rank J's block in
 *                       the first MPI_Allgather whose blocks exceed 100
 *                       bytes (the signed DH messages: a forged signature)
 *     allgather-pub:R:J on rank R, replace rank J's DH public value (first
 *                       half of its block) with the value 1 (out of group)
 *     allgather-swap:R:J:K  on rank R, replace rank J's DH public value with
 *                       rank K's (a valid group element: a man in the
 *                       middle without the signing key; only an
 *                       unauthenticated session accepts it, and then the
 *                       pairwise masks of (R, J) differ and the canary
 *                       catches it)
 *
 * Record layout (little-endian): uint32 kind (1 allgather result, 2
 * allreduce contribution, 3 allreduce result, 4 bcast result; the
 * nonblocking MPI_Iallreduce of the pipelined secure sum records 2 when it
 * is posted and 3, with the same call index, when MPI_Wait/MPI_Test/
 * MPI_Waitall/MPI_Testall completes it), uint32
 * dtype (0 float, 1 uint32, 2 uint64, 3 double, 4 bytes/other), uint64
 * count (bytes for dtype 4), uint64 call index, then count * size bytes.  Only the recording
 * rank's own view is written: what it contributed and what it received.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>

static FILE *spy_file;
static uint64_t spy_calls;
static int spy_init_done, tamper_done;

static void spy_open(void)
{
    if (spy_init_done) return;
    spy_init_done = 1;
    const char *dir = getenv("FS_SPY_DIR");
    if (!dir) return;
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char path[4096];
    snprintf(path, sizeof path, "%s/spy-%d.bin", dir, rank);
    spy_file = fopen(path, "ab");
}

static uint32_t dtype_code(MPI_Datatype t)
{
    if (t == MPI_FLOAT) return 0;
    if (t == MPI_UINT32_T) return 1;
    if (t == MPI_UINT64_T) return 2;
    if (t == MPI_DOUBLE) return 3;
    return 4;
}

/* One record, tagged with call index idx (the collective it belongs to). */
static void spy_record_at(uint32_t kind, MPI_Datatype t, const void *buf, uint64_t count,
                          uint64_t idx)
{
    spy_open();
    if (!spy_file) return;
    int size = 1;
    PMPI_Type_size(t, &size);
    uint32_t dt = dtype_code(t);
    if (dt == 4) { count *= (uint64_t)size; size = 1; }  /* other types: raw bytes */
    fwrite(&kind, 4, 1, spy_file);
    fwrite(&dt, 4, 1, spy_file);
    fwrite(&count, 8, 1, spy_file);
    fwrite(&idx, 8, 1, spy_file);
    fwrite(buf, (size_t)size, count, spy_file);
    fflush(spy_file);
}

static void spy_record(uint32_t kind, MPI_Datatype t, const void *buf, uint64_t count)
{
    spy_record_at(kind, t, buf, count, spy_calls);
}

/* Parse FS_SPY_TAMPER; returns 1 if `what` is active on this rank. */
static int tamper_for(const char *what, int *peer, int *peer2)
{
    const char *m = getenv("FS_SPY_TAMPER");
    if (!m || tamper_done) return 0;
    size_t n = strlen(what);
    if (strncmp(m, what, n) != 0 || m[n] != ':') return 0;
    int r = -1, j = -1, k = -1;
    if (sscanf(m + n + 1, "%d:%d:%d", &r, &j, &k) < 1) return 0;
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (peer) *peer = j;
    if (peer2) *peer2 = k;
    return rank == r;
}

int MPI_Allgather(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                  MPI_Datatype rtype, MPI_Comm comm)
{
    int rc = PMPI_Allgather(sbuf, scount, stype, rbuf, rcount, rtype, comm);
    int size = 1, tsize = 1, peer = -1, peer2 = -1;
    PMPI_Comm_size(comm, &size);
    PMPI_Type_size(rtype, &tsize);
    size_t block = (size_t)rcount * (size_t)tsize;
    if (block > 100 && tamper_for("allgather", &peer, NULL) && peer >= 0 && peer < size) {
        ((unsigned char *)rbuf)[(size_t)peer * block + block - 1] ^= 0x01;
        tamper_done = 1;
    } else if (block > 100 && tamper_for("allgather-swap", &peer, &peer2) && peer >= 0 &&
               peer < size && peer2 >= 0 && peer2 < size) {
        unsigned char *b = rbuf;
        memcpy(b + (size_t)peer * block, b + (size_t)peer2 * block, block - 64);
        tamper_done = 1;
    } else if (block > 100 && tamper_for("allgather-pub", &peer, NULL) && peer >= 0 && peer < size) {
        /* DH public value = first (block - 64) bytes: set it to 1 */
        unsigned char *b = (unsigned char *)rbuf + (size_t)peer * block;
        memset(b, 0, block - 64);
        b[block - 64 - 1] = 1;
        tamper_done = 1;
    }
    spy_record(1, rtype, rbuf, (uint64_t)rcount * (uint64_t)size);
    spy_calls++;
    return rc;
}

int MPI_Allreduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op,
                  MPI_Comm comm)
{
    spy_record(2, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count);
    int rc = PMPI_Allreduce(sbuf, rbuf, count, t, op, comm);
    spy_record(3, t, rbuf, (uint64_t)count);
    spy_calls++;
    return rc;
}

/* Outstanding MPI_Iallreduce calls: the result is recorded at completion. */
#define SPY_MAXREQ 4096
static struct {
    MPI_Request req; void *buf; int count; MPI_Datatype t; uint64_t idx;
} pending[SPY_MAXREQ];
static int npending;

int MPI_Iallreduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op,
                   MPI_Comm comm, MPI_Request *req)
{
    spy_record(2, t, sbuf == MPI_IN_PLACE ? rbuf : sbuf, (uint64_t)count);
    int rc = PMPI_Iallreduce(sbuf, rbuf, count, t, op, comm, req);
    if (rc == MPI_SUCCESS && npending < SPY_MAXREQ) {
        pending[npending].req = *req;
        pending[npending].buf = rbuf;
        pending[npending].count = count;
        pending[npending].t = t;
        pending[npending].idx = spy_calls;     /* the result carries the post's index */
        npending++;
    }
    spy_calls++;
    return rc;
}

/* After a completion call: record every pending reduction whose request
 * the MPI library has set to MPI_REQUEST_NULL (done), in posting order. */
static void spy_completed(const MPI_Request *before, const MPI_Request *after, int n)
{
    for (int i = 0; i < n; i++) {
        if (before[i] == MPI_REQUEST_NULL || after[i] != MPI_REQUEST_NULL) continue;
        for (int k = 0; k < npending; k++) {
            if (pending[k].req != before[i]) continue;
            spy_record_at(3, pending[k].t, pending[k].buf, (uint64_t)pending[k].count,
                          pending[k].idx);
            pending[k] = pending[--npending];
            break;
        }
    }
}

int MPI_Wait(MPI_Request *req, MPI_Status *st)
{
    MPI_Request b = *req;
    int rc = PMPI_Wait(req, st);
    spy_completed(&b, req, 1);
    return rc;
}

int MPI_Test(MPI_Request *req, int *flag, MPI_Status *st)
{
    MPI_Request b = *req;
    int rc = PMPI_Test(req, flag, st);
    spy_completed(&b, req, 1);
    return rc;
}

int MPI_Waitall(int n, MPI_Request reqs[], MPI_Status sts[])
{
    MPI_Request *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    if (b) memcpy(b, reqs, (size_t)n * sizeof *b);
    int rc = PMPI_Waitall(n, reqs, sts);
    if (b) spy_completed(b, reqs, n);
    free(b);
    return rc;
}

int MPI_Testall(int n, MPI_Request reqs[], int *flag, MPI_Status sts[])
{
    MPI_Request *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    if (b) memcpy(b, reqs, (size_t)n * sizeof *b);
    int rc = PMPI_Testall(n, reqs, flag, sts);
    if (b) spy_completed(b, reqs, n);
    free(b);
    return rc;
}

int MPI_Bcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm comm)
{
    int rc = PMPI_Bcast(buf, count, t, root, comm);
    spy_record(4, t, buf, (uint64_t)count);
    spy_calls++;
    return rc;
}

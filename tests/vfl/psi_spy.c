/*
 * psi_spy.c - a minimal LD_PRELOAD PMPI shim for the PSI tests: it records
 * everything one rank sends and receives (point-to-point, broadcasts,
 * allgathers, allreduce results), and can alter one point-to-point message
 * in transit like an attacker on the MPI transport.
 *
 * Environment:
 *   PSI_SPY_DIR=dir     write dir/rank-<world rank>.bin for every rank
 *   PSI_SPY_TAMPER=R:T  on rank R, flip one bit of the first MPI_Sendrecv
 *                       (or MPI_Send) payload with tag T that it sends
 *                       (the 5th byte, so headers and lengths stay valid)
 *   PSI_SPY_ZERO=R      on rank R, set every word of the first MPI_Allreduce
 *                       result of at least 17 64-bit words to 0 (the first
 *                       membership table: rank R then sees every slot as
 *                       common; the canary stays 0)
 *
 * Record (little-endian): uint32 kind ('S' sent, 'R' received, 'B'
 * broadcast result, 'G' allgather result, 'A' allreduce result), int32
 * peer (destination, source or root; -1), int32 tag (-1 for collectives),
 * uint32 element size in bytes, uint64 byte count, then the bytes.
 * Point-to-point receives record the bytes actually received.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>

static FILE *spy_out;
static int spy_ready, tamper_rank = -2, tamper_tag, tamper_done, zero_rank = -2, zero_done;

static void spy_open(void)
{
    if (spy_ready) return;
    spy_ready = 1;
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *t = getenv("PSI_SPY_TAMPER");
    if (!t || sscanf(t, "%d:%d", &tamper_rank, &tamper_tag) != 2 || tamper_rank != rank)
        tamper_rank = -2;
    const char *z = getenv("PSI_SPY_ZERO");
    if (!z || sscanf(z, "%d", &zero_rank) != 1 || zero_rank != rank) zero_rank = -2;
    const char *dir = getenv("PSI_SPY_DIR");
    if (!dir) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/rank-%d.bin", dir, rank);
    spy_out = fopen(path, "wb");
}

static void record(uint32_t kind, int peer, int tag, MPI_Datatype t, const void *buf, int count)
{
    spy_open();
    if (!spy_out || count <= 0) return;
    int esz = 1;
    PMPI_Type_size(t, &esz);
    uint32_t e = (uint32_t)esz;
    int32_t p = peer, g = tag;
    uint64_t nb = (uint64_t)count * (uint64_t)esz;
    fwrite(&kind, 4, 1, spy_out);
    fwrite(&p, 4, 1, spy_out);
    fwrite(&g, 4, 1, spy_out);
    fwrite(&e, 4, 1, spy_out);
    fwrite(&nb, 8, 1, spy_out);
    fwrite(buf, 1, (size_t)nb, spy_out);
    fflush(spy_out);
}

/* The payload to send: a tampered copy when this is the chosen message. */
static const void *maybe_tamper(const void *buf, int count, MPI_Datatype t, int tag, void **copy)
{
    spy_open();
    *copy = NULL;
    int esz = 1;
    PMPI_Type_size(t, &esz);
    size_t nb = (size_t)count * (size_t)esz;
    if (tamper_rank < 0 || tamper_done || tag != tamper_tag || nb < 8) return buf;
    unsigned char *c = malloc(nb);
    if (!c) return buf;
    memcpy(c, buf, nb);
    c[4] ^= 0x01;
    tamper_done = 1;
    *copy = c;
    return c;
}

int MPI_Sendrecv(const void *sbuf, int scount, MPI_Datatype stype, int dest, int stag,
                 void *rbuf, int rcount, MPI_Datatype rtype, int src, int rtag, MPI_Comm comm,
                 MPI_Status *status)
{
    void *copy;
    const void *out = maybe_tamper(sbuf, scount, stype, stag, &copy);
    MPI_Status st;
    int rc = PMPI_Sendrecv(out, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm,
                           &st);
    int got = 0;
    if (rc == MPI_SUCCESS) PMPI_Get_count(&st, rtype, &got);
    if (status != MPI_STATUS_IGNORE) *status = st;
    record('S', dest, stag, stype, out, scount);
    record('R', st.MPI_SOURCE, rtag, rtype, rbuf, got);
    free(copy);
    return rc;
}

int MPI_Send(const void *buf, int count, MPI_Datatype t, int dest, int tag, MPI_Comm comm)
{
    void *copy;
    const void *out = maybe_tamper(buf, count, t, tag, &copy);
    int rc = PMPI_Send(out, count, t, dest, tag, comm);
    record('S', dest, tag, t, out, count);
    free(copy);
    return rc;
}

int MPI_Recv(void *buf, int count, MPI_Datatype t, int src, int tag, MPI_Comm comm,
             MPI_Status *status)
{
    MPI_Status st;
    int rc = PMPI_Recv(buf, count, t, src, tag, comm, &st);
    int got = 0;
    if (rc == MPI_SUCCESS) PMPI_Get_count(&st, t, &got);
    if (status != MPI_STATUS_IGNORE) *status = st;
    record('R', st.MPI_SOURCE, tag, t, buf, got);
    return rc;
}

int MPI_Bcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm comm)
{
    int rc = PMPI_Bcast(buf, count, t, root, comm);
    record('B', root, -1, t, buf, count);
    return rc;
}

int MPI_Allgather(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                  MPI_Datatype rtype, MPI_Comm comm)
{
    int rc = PMPI_Allgather(sbuf, scount, stype, rbuf, rcount, rtype, comm);
    int size = 1;
    PMPI_Comm_size(comm, &size);
    record('G', -1, -1, rtype, rbuf, rcount * size);
    return rc;
}

int MPI_Allreduce(const void *sbuf, void *rbuf, int count, MPI_Datatype t, MPI_Op op,
                  MPI_Comm comm)
{
    int rc = PMPI_Allreduce(sbuf, rbuf, count, t, op, comm);
    spy_open();
    if (zero_rank >= 0 && !zero_done && t == MPI_UINT64_T && count >= 17) {
        memset(rbuf, 0, (size_t)count * 8);
        zero_done = 1;
    }
    record('A', -1, -1, t, rbuf, count);
    return rc;
}

int MPI_Finalize(void)
{
    if (spy_out) fclose(spy_out);
    spy_out = NULL;
    return PMPI_Finalize();
}

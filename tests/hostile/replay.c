/*
 * replay.c - an LD_PRELOAD PMPI library for tests/hostile/run.sh: an attacker
 * on the MPI transport that records a block of an MPI_Allgather in one job
 * and injects bytes (a recorded block, or a crafted value) in a later job.
 *
 * It selects the n-th MPI_Allgather (0-based, counted per process) whose
 * per-rank block is at least FS_REPLAY_MINBLOCK bytes (default 100: the signed
 * DH messages of the secure sum's key setup; 32 selects the nonces).
 *
 * Environment:
 *   FS_REPLAY_RECORD=FILE:J        on rank J, write rank J's block (its own
 *                                  signed DH message) of the selected call to FILE
 *   FS_REPLAY_INJECT=FILE:R:J      on rank R, overwrite the start of rank J's
 *                                  block in the received buffer with the bytes of
 *                                  FILE (at most one block): a replayed message,
 *                                  or an out-of-group DH public value
 *   FS_REPLAY_MINBLOCK=bytes       block-size filter (default 100)
 *   FS_REPLAY_NTH=n                which matching call (default 0)
 *
 * Not part of fedsilo: test scaffolding only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>

static int matching_calls;

static int world_rank(void)
{
    int r = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

/* Split "FILE:a[:b]" (FILE may not contain ':').  Returns the number of ints parsed. */
static int parse_spec(const char *spec, char *file, size_t cap, int *a, int *b)
{
    const char *colon = strchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= cap) return 0;
    memcpy(file, spec, (size_t)(colon - spec));
    file[colon - spec] = '\0';
    return sscanf(colon + 1, "%d:%d", a, b);
}

int MPI_Allgather(const void *sbuf, int scount, MPI_Datatype stype, void *rbuf, int rcount,
                  MPI_Datatype rtype, MPI_Comm comm)
{
    int rc = PMPI_Allgather(sbuf, scount, stype, rbuf, rcount, rtype, comm);
    if (rc != MPI_SUCCESS) return rc;
    int size = 1, tsize = 1;
    PMPI_Comm_size(comm, &size);
    PMPI_Type_size(rtype, &tsize);
    size_t block = (size_t)rcount * (size_t)tsize;
    const char *mb = getenv("FS_REPLAY_MINBLOCK"), *nth = getenv("FS_REPLAY_NTH");
    size_t minblock = mb && *mb ? (size_t)strtoul(mb, NULL, 10) : 100;
    int want = nth && *nth ? atoi(nth) : 0;
    if (block < minblock) return rc;
    if (matching_calls++ != want) return rc;

    char file[4096];
    int r = -1, j = -1;
    const char *rec = getenv("FS_REPLAY_RECORD"), *inj = getenv("FS_REPLAY_INJECT");
    unsigned char *b = rbuf;
    if (rec && parse_spec(rec, file, sizeof file, &j, &r) >= 1 && j == world_rank() && j < size) {
        FILE *f = fopen(file, "wb");
        if (f) {
            fwrite(b + (size_t)j * block, 1, block, f);
            fclose(f);
        }
    }
    if (inj && parse_spec(inj, file, sizeof file, &r, &j) == 2 && r == world_rank() && j >= 0 &&
        j < size) {
        FILE *f = fopen(file, "rb");
        if (f) {
            size_t got = fread(b + (size_t)j * block, 1, block, f);
            fclose(f);
            fprintf(stderr, "replay.c: rank %d: injected %zu bytes into rank %d's block (%zu bytes)\n",
                    r, got, j, block);
        }
    }
    return rc;
}

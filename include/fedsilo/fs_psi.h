/*
 * fs_psi.h - private set intersection of record identifiers across the
 * ranks of a communicator, for aligning the rows of vertical federated
 * learning (docs/vertical.md).
 *
 * Protocol: Diffie-Hellman-based PSI by commutative exponentiation
 * (Meadows 1986; Huberman, Franklin and Hogg 1999), generalized to N
 * parties on a ring.  Group: the order-q subgroup of quadratic residues
 * modulo the RFC 7919 ffdhe2048 safe prime p = 2q + 1.
 *
 *   H(x)  = (SHA-256 expansion of x to |p| + 16 bytes mod p)^2 mod p
 *   rank i draws a secret a_i (256 bits; RFC 7919 section 5.2 short
 *   exponent), shuffles its own ids with a secret permutation and computes
 *   H(x)^a_i; the list then travels N-1 hops around the ring (rank i sends
 *   to i+1), each rank raising every element to its own exponent, until it
 *   holds F(x) = H(x)^(a_0 a_1 ... a_{N-1}).  Every fully exponentiated
 *   list is then broadcast; each rank marks the positions of its own list
 *   that occur in every other list and maps them back through its secret
 *   permutation.
 *
 * What a rank learns (honest-but-curious ranks, DDH in the QR subgroup):
 * the size of every rank's set, which of its own ids are in the all-party
 * intersection, and - because it sees every fully exponentiated list -
 * the size of the intersection of any sub-collection of the sets (for
 * N = 2 that is exactly the intersection's size).  It learns nothing about
 * ids outside the intersection: under DDH the values H(x)^(prod a) of ids
 * it does not hold are indistinguishable from random group elements, and
 * each list is in its owner's secret random order.
 */
#ifndef FEDSILO_FS_PSI_H
#define FEDSILO_FS_PSI_H

#include <stddef.h>
#include <mpi.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of one group element on the wire (ffdhe2048). */
#define FS_PSI_ELEMBYTES 256

/*
 * fs_psi_intersect - indices of this rank's ids that every rank holds.
 *
 * Collective on comm (duplicated internally with MPI_ERRORS_RETURN; the
 * caller keeps comm).  ids: n NUL-terminated strings (borrowed; compared
 * as bytes; n may be 0 and may differ between ranks).
 * On success *idx_out (owned by the caller, free()) holds *m_out indices
 * into ids, in a COMMON order on every rank: sorted by the fully
 * exponentiated value F(x), so row t on every rank refers to the same id.
 * *m_out is the same on every rank.  On failure *idx_out == NULL and
 * *m_out == 0.
 * returns the same code on every rank: FS_OK, FS_ERR_ARG (NULL argument,
 * NULL id), FS_ERR_DATA (duplicate id on some rank: the message names the
 * rank; a received value outside the group), FS_ERR_NOMEM, FS_ERR_CRYPTO,
 * FS_ERR_MPI.
 * WARNING: secure against honest-but-curious ranks only; see the file top
 * for what every rank learns.
 */
FS_EXPORT fs_err fs_psi_intersect(MPI_Comm comm, const char *const *ids, size_t n,
                                  size_t **idx_out, size_t *m_out) FS_WARN_UNUSED;

/* The outcome of a `fedsilo psi` run on this rank. */
typedef struct {
    int nranks;
    size_t n;                    /* this rank's ids                          */
    size_t m;                    /* the intersection (the same everywhere)   */
    double seconds;              /* wall time of the intersection            */
    int dataset;                 /* 1: --data (aligned datasets written)     */
    char out_path[4096];         /* this rank's output file                  */
} fs_psi_run_report;

/*
 * fs_psi_run - `fedsilo psi` on the federation core: options from cfg (a
 * psi configuration; agreed), this rank's ids (--ids text file or the /ids
 * of the --data dataset; %d = rank), fs_psi_intersect on the core's
 * private communicator, and this rank's output (durable): 'row,id' lines,
 * or the dataset of the common rows in the common order.  Collective on
 * comm.  returns the same code on every rank.
 */
FS_EXPORT fs_err fs_psi_run(MPI_Comm comm, const fs_config *cfg, fs_psi_run_report *out)
    FS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* FEDSILO_FS_PSI_H */

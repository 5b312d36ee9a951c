/*
 * fs_vfl_impl.h - internal interface of the vfl layer (not installed): MPI
 * byte transfers of any size_t length, chunked below INT_MAX, on a
 * communicator that has MPI_ERRORS_RETURN; the authenticated point-to-point
 * channel of vertical training; the score encoding (shared with the unit
 * test).
 */
#ifndef FEDSILO_FS_VFL_IMPL_H
#define FEDSILO_FS_VFL_IMPL_H
#include <stddef.h>
#include <mpi.h>
#include "fs_impl.h"
#include "fedsilo/fs_secagg.h"

/* Largest chunk per MPI call (bytes). */
#define FS_VFL_CHUNK ((size_t)1 << 30)

/* fs_vfl_send / fs_vfl_recv - blocking point-to-point transfer of len bytes
 * (both sides pass the same len) in chunks.  Not collective.
 * returns FS_OK or FS_ERR_MPI. */
FS_INTERN fs_err fs_vfl_send(const void *buf, size_t len, int dest, int tag, MPI_Comm comm);
FS_INTERN fs_err fs_vfl_recv(void *buf, size_t len, int src, int tag, MPI_Comm comm);

/* fs_vfl_sendrecv - send slen bytes to dest while receiving rlen bytes from
 * src (deadlock-free on a ring).  returns FS_OK or FS_ERR_MPI. */
FS_INTERN fs_err fs_vfl_sendrecv(const void *sbuf, size_t slen, int dest, void *rbuf,
                                 size_t rlen, int src, int tag, MPI_Comm comm);

/* fs_vfl_bcast - MPI_Bcast of len bytes from root, chunked.  Collective. */
FS_INTERN fs_err fs_vfl_bcast(void *buf, size_t len, int root, MPI_Comm comm);

/* fs_vfl_dup - MPI_Comm_dup with MPI_ERRORS_RETURN; *out = MPI_COMM_NULL
 * on failure.  Collective. */
FS_INTERN fs_err fs_vfl_dup(MPI_Comm comm, MPI_Comm *out);

/*
 * The authenticated channel: every point-to-point message between two ranks
 * is sealed with AES-256-GCM under a key for its direction,
 *   K(a -> b) = fs_secagg_pair_key(sa, peer, "fedsilo vfl channel a->b"),
 * in records of at most FS_VFL_RECORD bytes.  Record number s of the
 * direction (a counter kept by both ends, never sent) gives
 *   nonce = BE32(a) || BE64(s)
 *   aad   = "fedsilo-vfl-v1" || session id || BE32(a) || BE32(b) || BE32(tag)
 *           || BE64(s) || BE64(message length) || BE64(record offset),
 * so a (key, nonce) pair is never reused, and a tampered, truncated,
 * replayed, reordered, misdirected or re-tagged record fails to open: the
 * receiver returns FS_ERR_AUTH "message from rank a to rank b failed
 * authentication" (never which byte).  With `plain` (tests only) records
 * travel unsealed.
 */
#define FS_VFL_RECORD ((size_t)4 << 20)

typedef struct fs_vfl_chan fs_vfl_chan;

/* fs_vfl_chan_create - derive both keys of every link of this rank.  Not
 * collective (the session sa is).  comm is borrowed (the ranks of sa's
 * communicator).  On success *out is owned by the caller. */
FS_INTERN fs_err fs_vfl_chan_create(MPI_Comm comm, const fs_secagg *sa, int plain,
                                    fs_vfl_chan **out);
/* fs_vfl_chan_destroy - wipe the keys, free, set *ch = NULL; NULL-safe. */
FS_INTERN void fs_vfl_chan_destroy(fs_vfl_chan **ch);

/* fs_vfl_chan_send / fs_vfl_chan_recv - one message of len bytes (both
 * ends pass the same len and tag) to / from peer.  Not collective.
 * Both always move every record of the message (a record that cannot be
 * sealed goes out as zeros and fails to open; a record that fails is still
 * received), so the other end never blocks; only FS_ERR_MPI leaves the
 * link in an unknown state.  recv returns FS_OK, FS_ERR_AUTH (see above;
 * buf is then zeroed), FS_ERR_CRYPTO or FS_ERR_MPI; send returns FS_OK,
 * FS_ERR_CRYPTO, FS_ERR_ARG or FS_ERR_MPI.  The caller agrees on errors
 * other than FS_ERR_MPI before the next collective. */
FS_INTERN fs_err fs_vfl_chan_send(fs_vfl_chan *ch, int peer, int tag, const void *buf,
                                  size_t len);
FS_INTERN fs_err fs_vfl_chan_recv(fs_vfl_chan *ch, int peer, int tag, void *buf, size_t len);

/* fs_vfl_chan_skip - take a message of len bytes from peer and discard it
 * unchecked (after an earlier failure, so that the sender is not left
 * blocked and the first error's message stays).  returns FS_OK, FS_ERR_MPI. */
FS_INTERN fs_err fs_vfl_chan_skip(fs_vfl_chan *ch, int peer, int tag, size_t len);

/*
 * fs_vfl_score_word - encode a partial score s as round(s 2^24) in Z_2^64
 * for a sum over `parts` ranks: refuses |round(s 2^24)| > (2^63 - 1) /
 * parts, so that the sum of the parts cannot wrap around in Z_2^64 and
 * decodes exactly (two's complement).  Not collective.
 * returns FS_OK or FS_ERR_NUMERIC (the message carries no value).
 */
FS_INTERN fs_err fs_vfl_score_word(double s, int parts, uint64_t *out);
#define FS_VFL_SCORE_FRAC 24
#endif

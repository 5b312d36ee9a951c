/*
 * fs_vfl_mpi.c - byte transport of the vfl layer over MPI (point-to-point,
 * ring exchange and broadcast), chunked so that no count passed to MPI
 * exceeds INT_MAX, and the authenticated channel of vertical training
 * (AES-256-GCM records keyed per link direction from the authenticated key
 * setup; the record format is in fs_vfl_impl.h).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "vfl/fs_vfl_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_crypto.h"

static int chunk(size_t len, size_t off)
{
    size_t c = len - off;
    return (int)(c > FS_VFL_CHUNK ? FS_VFL_CHUNK : c);
}

fs_err fs_vfl_send(const void *buf, size_t len, int dest, int tag, MPI_Comm comm)
{
    size_t off = 0;
    do {
        int c = chunk(len, off);
        int mrc = MPI_Send((const char *)buf + off, c, MPI_BYTE, dest, tag, comm);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Send");
        off += (size_t)c;
    } while (off < len);
    return FS_OK;
}

fs_err fs_vfl_recv(void *buf, size_t len, int src, int tag, MPI_Comm comm)
{
    size_t off = 0;
    do {
        int c = chunk(len, off);
        int mrc = MPI_Recv((char *)buf + off, c, MPI_BYTE, src, tag, comm, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Recv");
        off += (size_t)c;
    } while (off < len);
    return FS_OK;
}

fs_err fs_vfl_sendrecv(const void *sbuf, size_t slen, int dest, void *rbuf, size_t rlen,
                       int src, int tag, MPI_Comm comm)
{
    size_t so = 0, ro = 0;
    do {
        int sc = so < slen ? chunk(slen, so) : 0, rc = ro < rlen ? chunk(rlen, ro) : 0;
        int mrc = MPI_Sendrecv((const char *)sbuf + so, sc, MPI_BYTE, dest, tag,
                               (char *)rbuf + ro, rc, MPI_BYTE, src, tag, comm,
                               MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Sendrecv");
        so += (size_t)sc;
        ro += (size_t)rc;
    } while (so < slen || ro < rlen);
    return FS_OK;
}

fs_err fs_vfl_bcast(void *buf, size_t len, int root, MPI_Comm comm)
{
    size_t off = 0;
    do {
        int c = chunk(len, off);
        int mrc = MPI_Bcast((char *)buf + off, c, MPI_BYTE, root, comm);
        if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast");
        off += (size_t)c;
    } while (off < len);
    return FS_OK;
}

fs_err fs_vfl_dup(MPI_Comm comm, MPI_Comm *out)
{
    *out = MPI_COMM_NULL;
    int mrc = MPI_Comm_dup(comm, out);
    if (mrc != MPI_SUCCESS) {
        *out = MPI_COMM_NULL;
        return fs_from_mpi(mrc, "MPI_Comm_dup");
    }
    MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN);
    return FS_OK;
}

// ---------------------------------------------------------------- authenticated channel

static const char CHAN_LABEL[] = "fedsilo-vfl-v1";

struct fs_vfl_chan {
    MPI_Comm comm;              /* borrowed                                 */
    int rank, size, plain;
    uint8_t sid[32];            /* session id (public)                     */
    uint8_t *tx, *rx;           /* (size x 32) secret: K(me->p), K(p->me)  */
    uint64_t *tx_seq, *rx_seq;  /* (size) records sealed / opened per link */
    uint8_t *rec;               /* (FS_VFL_RECORD + tag) one sealed record */
};

fs_err fs_vfl_chan_create(MPI_Comm comm, const fs_secagg *sa, int plain, fs_vfl_chan **out)
{
    fs_err rc = FS_OK;
    fs_vfl_chan *ch = NULL;
    char label[64];
    *out = NULL;
    FS_TRY(fs_zalloc(&ch, 1, sizeof *ch, "channel"));
    ch->comm = comm;
    MPI_Comm_rank(comm, &ch->rank);
    MPI_Comm_size(comm, &ch->size);
    ch->plain = plain;
    memcpy(ch->sid, fs_secagg_session_id(sa), 32);
    FS_TRY(fs_zalloc(&ch->tx, (size_t)ch->size, 32, "channel keys"));
    FS_TRY(fs_zalloc(&ch->rx, (size_t)ch->size, 32, "channel keys"));
    FS_TRY(fs_zalloc(&ch->tx_seq, (size_t)ch->size, sizeof *ch->tx_seq, "channel counters"));
    FS_TRY(fs_zalloc(&ch->rx_seq, (size_t)ch->size, sizeof *ch->rx_seq, "channel counters"));
    FS_TRY(fs_alloc(&ch->rec, FS_VFL_RECORD + FS_AEAD_TAGBYTES, 1, "channel record"));
    for (int p = 0; p < ch->size; p++) {
        if (p == ch->rank) continue;
        snprintf(label, sizeof label, "fedsilo vfl channel %d->%d", ch->rank, p);
        FS_TRY(fs_secagg_pair_key(sa, p, label, ch->tx + (size_t)p * 32));
        snprintf(label, sizeof label, "fedsilo vfl channel %d->%d", p, ch->rank);
        FS_TRY(fs_secagg_pair_key(sa, p, label, ch->rx + (size_t)p * 32));
    }
    *out = ch;
    ch = NULL;
done:
    fs_vfl_chan_destroy(&ch);
    return rc;
}

void fs_vfl_chan_destroy(fs_vfl_chan **chp)
{
    if (!chp || !*chp) return;
    fs_vfl_chan *ch = *chp;
    if (ch->tx) fs_secure_zero(ch->tx, (size_t)ch->size * 32);
    if (ch->rx) fs_secure_zero(ch->rx, (size_t)ch->size * 32);
    if (ch->rec) fs_secure_zero(ch->rec, FS_VFL_RECORD + FS_AEAD_TAGBYTES);
    free(ch->tx);
    free(ch->rx);
    free(ch->tx_seq);
    free(ch->rx_seq);
    free(ch->rec);
    free(ch);
    *chp = NULL;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int b = 0; b < 4; b++) p[b] = (uint8_t)(v >> (24 - 8 * b));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int b = 0; b < 8; b++) p[b] = (uint8_t)(v >> (56 - 8 * b));
}

/* Nonce and associated data of record `seq` of the link from -> to. */
static size_t record_context(const fs_vfl_chan *ch, int from, int to, int tag, uint64_t seq,
                             size_t len, size_t off, uint8_t nonce[FS_AEAD_NONCEBYTES],
                             uint8_t *aad)
{
    put32(nonce, (uint32_t)from);
    put64(nonce + 4, seq);
    size_t a = 0;
    memcpy(aad, CHAN_LABEL, sizeof CHAN_LABEL); a += sizeof CHAN_LABEL;
    memcpy(aad + a, ch->sid, 32); a += 32;
    put32(aad + a, (uint32_t)from); a += 4;
    put32(aad + a, (uint32_t)to); a += 4;
    put32(aad + a, (uint32_t)tag); a += 4;
    put64(aad + a, seq); a += 8;
    put64(aad + a, (uint64_t)len); a += 8;
    put64(aad + a, (uint64_t)off); a += 8;
    return a;
}

static fs_err auth_failure(int from, int to)
{
    return fs_error_set(FS_ERR_AUTH, "message from rank %d to rank %d failed authentication",
                        from, to);
}

fs_err fs_vfl_chan_send(fs_vfl_chan *ch, int peer, int tag, const void *buf, size_t len)
{
    fs_err rc = FS_OK;
    uint8_t nonce[FS_AEAD_NONCEBYTES], aad[96];
    FS_CHECK_ARG(peer >= 0 && peer < ch->size && peer != ch->rank && (buf || len == 0),
                 "channel: bad peer %d", peer);
    size_t off = 0;
    do {
        size_t c = len - off > FS_VFL_RECORD ? FS_VFL_RECORD : len - off, wire = c;
        const uint8_t *p = (const uint8_t *)buf + off;
        if (!ch->plain) {
            uint64_t seq = ch->tx_seq[peer]++;
            size_t alen = record_context(ch, ch->rank, peer, tag, seq, len, off, nonce, aad);
            fs_err r = fs_aead_seal(ch->tx + (size_t)peer * 32, nonce, aad, alen, p, c, ch->rec);
            /* On failure a zero record still goes out (it fails to open), so
             * the receiver is never left waiting; the error is agreed later. */
            if (r != FS_OK) memset(ch->rec, 0, c + FS_AEAD_TAGBYTES);
            if (rc == FS_OK) rc = r;
            p = ch->rec;
            wire = c + FS_AEAD_TAGBYTES;
        }
        int mrc = MPI_Send(p, (int)wire, MPI_BYTE, peer, tag, ch->comm);
        if (mrc != MPI_SUCCESS) FS_TRY(fs_from_mpi(mrc, "MPI_Send"));
        off += c;
    } while (off < len);
done:
    return rc;
}

/* Receive a message; with buf == NULL (skip) its records are taken and
 * discarded without a check, leaving the caller's error message alone. */
static fs_err chan_recv(fs_vfl_chan *ch, int peer, int tag, void *buf, size_t len)
{
    fs_err rc = FS_OK;
    uint8_t nonce[FS_AEAD_NONCEBYTES], aad[96];
    FS_CHECK_ARG(peer >= 0 && peer < ch->size && peer != ch->rank, "channel: bad peer %d", peer);
    int skip = buf == NULL;
    /* Every record is received even after one failed, so that the sender
     * never blocks on a record nobody takes (the error is agreed later). */
    size_t off = 0;
    do {
        size_t c = len - off > FS_VFL_RECORD ? FS_VFL_RECORD : len - off;
        size_t wire = ch->plain ? c : c + FS_AEAD_TAGBYTES;
        uint8_t *dst = ch->plain && !skip ? (uint8_t *)buf + off : ch->rec;
        MPI_Status status;
        int mrc = MPI_Recv(dst, (int)wire, MPI_BYTE, peer, tag, ch->comm, &status), got = -1;
        int eclass = MPI_SUCCESS;
        if (mrc == MPI_SUCCESS) MPI_Get_count(&status, MPI_BYTE, &got);
        else MPI_Error_class(mrc, &eclass);
        uint64_t seq = ch->rx_seq[peer]++;
        fs_err r = FS_OK;
        /* A record of the wrong length can only come from tampering: the
         * lengths are fixed by the protocol on both ends. */
        if (eclass != MPI_SUCCESS && eclass != MPI_ERR_TRUNCATE)
            FS_TRY(fs_from_mpi(mrc, "MPI_Recv"));   /* the communicator is unusable */
        if (skip) {
            off += c;
            continue;
        }
        if (eclass == MPI_ERR_TRUNCATE || (size_t)got != wire)
            r = auth_failure(peer, ch->rank);
        else if (!ch->plain && rc == FS_OK) {
            size_t alen = record_context(ch, peer, ch->rank, tag, seq, len, off, nonce, aad);
            r = fs_aead_open(ch->rx + (size_t)peer * 32, nonce, aad, alen, ch->rec, wire,
                             (uint8_t *)buf + off);
            if (r == FS_ERR_AUTH) r = auth_failure(peer, ch->rank);
        }
        if (rc == FS_OK) rc = r;
        off += c;
    } while (off < len);
done:
    if (rc == FS_ERR_AUTH && buf) fs_secure_zero(buf, len);
    return rc;
}

fs_err fs_vfl_chan_recv(fs_vfl_chan *ch, int peer, int tag, void *buf, size_t len)
{
    if (!buf && len) return fs_error_set(FS_ERR_ARG, "channel: NULL buffer");
    return chan_recv(ch, peer, tag, buf ? buf : ch->rec, len);
}

fs_err fs_vfl_chan_skip(fs_vfl_chan *ch, int peer, int tag, size_t len)
{
    return chan_recv(ch, peer, tag, NULL, len);
}

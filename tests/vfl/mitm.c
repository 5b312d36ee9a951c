/*
 * mitm.c - an LD_PRELOAD PMPI library standing in for an attacker on the
 * MPI transport of vertical training (the review's E3 and the tamper,
 * replay and swap cases of tests/vfl/attack.sh), and a logger of what the
 * label holder receives (tests/vfl/scores.sh).  It intercepts MPI_Send and
 * MPI_Recv, which carry every record of fs_vfl.c's channel, and knows the
 * message tags and layouts of src/vfl/fs_vfl.c (keep them in step).
 *
 * Environment (ranks are world ranks):
 *   FS_MITM=tamper:S:D:TAG:K   flip one byte of the K-th (1-based) message
 *                              from S to D with TAG, as it leaves S
 *   FS_MITM=replay:S:D:TAG:K   send the (K-1)-th message from S to D with
 *                              TAG again in place of the K-th (same length)
 *   FS_MITM=swap:D:A:B:TAG:K   at D's K-th reception from A with TAG (A is
 *                              received before B),
 *                              deliver B's message as A's and A's as B's
 *   FS_MITM=keysub:S:D         E3: replace S's Paillier public key in its
 *                              key message to D (the label holder) by the
 *                              attacker's, replace S's encrypted rows by
 *                              Enc_attacker(2^(48 i)) for row i (a one-hot
 *                              slot per row), decrypt every gradient D sends
 *                              back and log the residual of each row it
 *                              reveals, then hand S an encryption of zero
 *                              under S's own key so the job runs on
 *                              undisturbed (needs FS_MITM_BITS, the key
 *                              size; rows < 1021 / 48 = 21 at 1024 bits)
 *   FS_MITM=log:D              log every message D receives with TAG_SCORES
 *   FS_MITM_OUT=FILE           the attacker's log (appended):
 *                              "row I residual R" (keysub) or
 *                              "scores FROM COUNT w0 w1 ..." (log, words in
 *                              hex, as uint64 little-endian)
 *
 * Not part of fedsilo: test scaffolding only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <fedsilo.h>
#include <fedsilo/fs_paillier.h>

#define TAG_HELLO 7210
#define TAG_UPLOAD 7211
#define TAG_SCORES 7212
#define TAG_GRAD 7213
#define HELLO_HDR 48      /* 6 uint64 words before the public key */
#define UPLOAD_ROWS 1024
#define SLOT 48

static int parsed, mode_a, mode_b, mode_c, mode_tag, mode_k;
static char mode[16];
static int sends_seen, recvs_seen;
static unsigned char *last_msg;          /* replay: the previous matching message */
static int last_len;
static unsigned char *stash;             /* swap: A's message for B's reception */
static int stash_len;
static fs_paillier_key *evil;            /* keysub: the attacker's key */
static fs_paillier_pub *victim;          /* keysub: S's real key */
static size_t upload_rows;               /* keysub: rows replaced so far */

static void parse(void)
{
    if (parsed) return;
    parsed = 1;
    const char *m = getenv("FS_MITM");
    if (!m) return;
    const char *colon = strchr(m, ':');
    if (!colon || colon - m >= (long)sizeof mode) return;
    memcpy(mode, m, (size_t)(colon - m));
    mode[colon - m] = 0;
    if (!strcmp(mode, "swap"))
        sscanf(colon + 1, "%d:%d:%d:%d:%d", &mode_a, &mode_b, &mode_c, &mode_tag, &mode_k);
    else
        sscanf(colon + 1, "%d:%d:%d:%d", &mode_a, &mode_b, &mode_tag, &mode_k);
}

static void logf_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_line(const char *fmt, ...)
{
    const char *path = getenv("FS_MITM_OUT");
    if (!path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static int comm_rank(MPI_Comm comm)
{
    int r = 0;
    PMPI_Comm_rank(comm, &r);
    return r;
}

/* keysub, at S: the key message and the upload. */
static void keysub_send(unsigned char *buf, int count, int tag)
{
    int bits = getenv("FS_MITM_BITS") ? atoi(getenv("FS_MITM_BITS")) : 1024;
    if (tag == TAG_HELLO) {
        if (fs_paillier_keygen(bits, &evil) != FS_OK) return;
        const fs_paillier_pub *pk = fs_paillier_key_public(evil);
        size_t pkl = fs_paillier_pub_export_bytes(pk);
        if ((size_t)count < HELLO_HDR + pkl) return;
        /* keep S's real key (readable only if the channel is unsealed) */
        if (fs_paillier_pub_import(buf + HELLO_HDR, pkl, &victim) != FS_OK) victim = NULL;
        if (fs_paillier_pub_export(pk, buf + HELLO_HDR, pkl) != FS_OK) return;
        return;
    }
    if (tag == TAG_UPLOAD && evil) {
        const fs_paillier_pub *pk = fs_paillier_key_public(evil);
        size_t cb = fs_paillier_ct_bytes(pk), rows = (size_t)count / cb;
        fs_paillier_vec *v = NULL;
        if (fs_paillier_vec_create_keyed(evil, rows, &v) != FS_OK) return;
        int64_t one[32] = { 0 };
        for (size_t i = 0; i < rows; i++) {
            size_t row = upload_rows + i, slot = row % 21;
            memset(one, 0, sizeof one);
            one[slot] = 1;
            if (fs_paillier_encrypt_packed(v, i, one, slot + 1, SLOT) != FS_OK) break;
        }
        upload_rows += rows;
        if (fs_paillier_vec_export(v, 0, rows, buf, rows * cb) != FS_OK) memset(buf, 0, rows * cb);
        fs_paillier_vec_destroy(&v);
    }
}

/* keysub, at S: a gradient from D. */
static void keysub_recv(unsigned char *buf, int count)
{
    if (!evil) return;
    const fs_paillier_pub *pk = fs_paillier_key_public(evil);
    size_t cb = fs_paillier_ct_bytes(pk);
    if ((size_t)count != cb) return;
    fs_paillier_vec *v = NULL, *z = NULL;
    double slots[21];
    if (fs_paillier_vec_create(pk, 1, &v) == FS_OK &&
        fs_paillier_vec_import(v, 0, 1, buf, cb) == FS_OK &&
        fs_paillier_decrypt_packed(evil, v, 0, 21, SLOT, 24, slots) == FS_OK) {
        for (int i = 0; i < 21; i++)
            if (slots[i] != 0) logf_line("row %d residual %.9g", i, slots[i]);
    }
    /* S gets Enc(0) under its own key: it decrypts a zero gradient */
    if (victim && fs_paillier_vec_create(victim, 1, &z) == FS_OK &&
        fs_paillier_encrypt(z, 0, 0) == FS_OK &&
        fs_paillier_vec_export(z, 0, 1, buf, (size_t)count) != FS_OK)
        memset(buf, 0, (size_t)count);
    fs_paillier_vec_destroy(&v);
    fs_paillier_vec_destroy(&z);
}

int MPI_Send(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm)
{
    parse();
    int me = comm_rank(comm);
    unsigned char *copy = NULL;
    const void *out = buf;
    int match = (!strcmp(mode, "tamper") || !strcmp(mode, "replay")) && me == mode_a &&
                dest == mode_b && tag == mode_tag && type == MPI_BYTE;
    if (match) {
        sends_seen++;
        copy = malloc(count ? (size_t)count : 1);
        memcpy(copy, buf, (size_t)count);
        if (sends_seen == mode_k && !strcmp(mode, "tamper")) {
            copy[count / 2] ^= 0x20;
            out = copy;
        } else if (sends_seen == mode_k && last_msg && last_len == count) {
            out = last_msg;                    /* replay the previous message */
        }
        if (out == buf || out == copy) {
            free(last_msg);
            last_msg = malloc(count ? (size_t)count : 1);
            memcpy(last_msg, buf, (size_t)count);
            last_len = count;
        }
    } else if (!strcmp(mode, "keysub") && me == mode_a && dest == mode_b && type == MPI_BYTE &&
               (tag == TAG_HELLO || tag == TAG_UPLOAD)) {
        copy = malloc(count ? (size_t)count : 1);
        memcpy(copy, buf, (size_t)count);
        keysub_send(copy, count, tag);
        out = copy;
    }
    int rc = PMPI_Send(out, count, type, dest, tag, comm);
    free(copy);
    return rc;
}

int MPI_Recv(void *buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm,
             MPI_Status *status)
{
    parse();
    int me = comm_rank(comm);
    if (!strcmp(mode, "swap") && me == mode_a && tag == mode_tag && type == MPI_BYTE) {
        if (source == mode_c && stash) {       /* B's reception: A's message */
            /* through a message to itself, so that MPI_Get_count is right */
            int rc = PMPI_Sendrecv(stash, stash_len, MPI_BYTE, me, tag, buf, count, type, me, tag,
                                   comm, status);
            free(stash);
            stash = NULL;
            return rc;
        }
        if (source == mode_b && ++recvs_seen == mode_k) {
            unsigned char *mine = malloc((size_t)count);
            MPI_Status st;
            int rc = PMPI_Recv(mine, count, type, source, tag, comm, &st);   /* A's */
            if (rc != MPI_SUCCESS) { free(mine); return rc; }
            int alen = 0;
            PMPI_Get_count(&st, MPI_BYTE, &alen);
            rc = PMPI_Recv(buf, count, type, mode_c, tag, comm, status);   /* B's, as A's */
            stash = mine;
            stash_len = alen;
            return rc;
        }
    }
    int rc = PMPI_Recv(buf, count, type, source, tag, comm, status);
    if (rc != MPI_SUCCESS) return rc;
    int got = count;
    if (status != MPI_STATUS_IGNORE) PMPI_Get_count(status, MPI_BYTE, &got);
    if (!strcmp(mode, "keysub") && me == mode_a && source == mode_b && tag == TAG_GRAD)
        keysub_recv(buf, got);
    if (!strcmp(mode, "log") && me == mode_a && tag == TAG_SCORES) {
        const char *path = getenv("FS_MITM_OUT");
        FILE *f = path ? fopen(path, "a") : NULL;
        if (f) {
            fprintf(f, "scores %d %d", source, got / 8);
            for (int i = 0; i + 8 <= got; i += 8) {
                unsigned long long w;
                memcpy(&w, (unsigned char *)buf + i, 8);
                fprintf(f, " %llx", w);
            }
            fputc('\n', f);
            fclose(f);
        }
    }
    return rc;
}

/*
 * fs_identity.c - long-term institution identity keys: Ed25519 (RFC 8032,
 * "pure" Ed25519, no pre-hash, no context) through OpenSSL 3 EVP_PKEY.
 *
 * Crypto layer, no MPI.  The private key is stored as unencrypted PKCS#8
 * (RFC 5208/5958) PEM, "-----BEGIN PRIVATE KEY-----", in a file of mode
 * 0600; the public key travels as 32 raw bytes (RFC 8032 section 5.1.5
 * encoding) or as the text "ed25519:<base64>" (RFC 4648 base64, padded)
 * used by the roster file and `fedsilo keygen`.  In the key setup of
 * docs/protocol.md each rank signs its ephemeral DH public value (plus
 * the session context) with this key, and peers verify against the roster.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "crypto/fs_crypto_impl.h"

struct fs_identity {
    EVP_PKEY *pkey;  /* secret: Ed25519 private key; OpenSSL cleanses it on free */
};

#define KEYFILE_MAX (64 * 1024)

// ---------------------------------------------------------------- keys

static fs_err wrap_pkey(EVP_PKEY *pk, fs_identity **out)
{
    fs_err rc = FS_OK;
    fs_identity *id = NULL;
    FS_TRY(fs_zalloc(&id, 1, sizeof *id, "identity key"));
    id->pkey = pk;
    *out = id;
    return FS_OK;
done:
    EVP_PKEY_free(pk);
    return rc;
}

fs_err fs_identity_generate(fs_identity **out)
{
    fs_err rc = FS_OK;
    EVP_PKEY *pk = NULL;
    *out = NULL;
    FS_TRY(fs_crypto_init());
    fs_ssl_clear();
    /* Draws the 32-byte seed from the default DRBG (seeded by getrandom). */
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pk) FS_TRY(fs_from_ssl("Ed25519 key generation"));
    rc = wrap_pkey(pk, out);
done:
    return rc;
}

fs_err fs_identity_from_raw(const uint8_t seed[32], fs_identity **out)
{
    fs_err rc = FS_OK;
    EVP_PKEY *pk = NULL;
    *out = NULL;
    FS_TRY(fs_crypto_init());
    fs_ssl_clear();
    pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!pk) FS_TRY(fs_from_ssl("EVP_PKEY_new_raw_private_key(Ed25519)"));
    rc = wrap_pkey(pk, out);
done:
    return rc;
}

void fs_identity_destroy(fs_identity **id)
{
    if (!id || !*id) return;
    EVP_PKEY_free((*id)->pkey);
    free(*id);
    *id = NULL;
}

fs_err fs_identity_public(const fs_identity *id, uint8_t pub[FS_ED25519_PUBBYTES])
{
    fs_err rc = FS_OK;
    size_t len = FS_ED25519_PUBBYTES;
    if (!id || !pub) return fs_error_set(FS_ERR_ARG, "fs_identity_public: NULL argument");
    FS_SSL(EVP_PKEY_get_raw_public_key(id->pkey, pub, &len));
    if (len != FS_ED25519_PUBBYTES) FS_FAIL(FS_ERR_CRYPTO, "Ed25519 public key has %zu bytes", len);
done:
    return rc;
}

fs_err fs_identity_sign(const fs_identity *id, const void *msg, size_t n,
                        uint8_t sig[FS_ED25519_SIGBYTES])
{
    fs_err rc = FS_OK;
    EVP_MD_CTX *ctx = NULL;
    size_t siglen = FS_ED25519_SIGBYTES;
    if (!id || !sig || (!msg && n)) return fs_error_set(FS_ERR_ARG, "fs_identity_sign: NULL argument");
    fs_ssl_clear();
    ctx = EVP_MD_CTX_new();
    if (!ctx) FS_FAIL(FS_ERR_NOMEM, "out of memory allocating an EVP_MD_CTX");
    /* Ed25519 is one-shot: no digest (NULL), EVP_DigestSign on the whole message. */
    FS_SSL(EVP_DigestSignInit(ctx, NULL, NULL, NULL, id->pkey));
    FS_SSL(EVP_DigestSign(ctx, sig, &siglen, n ? msg : (const void *)"", n));
    if (siglen != FS_ED25519_SIGBYTES) FS_FAIL(FS_ERR_CRYPTO, "Ed25519 signature has %zu bytes", siglen);
done:
    EVP_MD_CTX_free(ctx);
    return rc;
}

fs_err fs_identity_verify(const uint8_t pub[FS_ED25519_PUBBYTES], const void *msg, size_t n,
                          const uint8_t sig[FS_ED25519_SIGBYTES])
{
    fs_err rc = FS_ERR_AUTH;
    EVP_PKEY *pk = NULL;
    EVP_MD_CTX *ctx = NULL;
    if (!pub || !sig || (!msg && n)) return fs_error_set(FS_ERR_ARG, "fs_identity_verify: NULL argument");
    if (fs_crypto_init() != FS_OK) return FS_ERR_CRYPTO;
    ctx = EVP_MD_CTX_new();
    if (!ctx) return fs_error_set(FS_ERR_NOMEM, "out of memory allocating an EVP_MD_CTX");
    /* Any failure below (undecodable point, bad signature, -1 from the
     * provider) is an authentication failure, reported without detail. */
    pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, FS_ED25519_PUBBYTES);
    if (pk && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
        EVP_DigestVerify(ctx, sig, FS_ED25519_SIGBYTES, n ? msg : (const void *)"", n) == 1)
        rc = FS_OK;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    if (rc != FS_OK) {
        ERR_clear_error();
        fs_error_set(FS_ERR_AUTH, "signature verification failed");
    }
    return rc;
}

// ---------------------------------------------------------------- files

/*
 * Write len bytes to a new file of the given mode.  Without force the path
 * must not exist (O_EXCL, and O_NOFOLLOW so a planted symlink is never
 * followed).  With force the data goes to a temporary file in the same
 * directory that is then renamed over path, so a reader never sees a half
 * written key and the final file has exactly `mode`.  Either way the data is
 * fsync'd and so is the directory (the durable publish of core, with the
 * exclusive create and the mode a private key needs).
 */
static fs_err write_new_file(const char *path, const void *data, size_t len, mode_t mode,
                             int force, const char *what)
{
    fs_err rc = FS_OK;
    char *tmp = NULL;
    const char *created = NULL;  /* file we made and must remove on failure */
    int fd = -1;
    const unsigned char *p = data;
    size_t left = len;

    if (force) {
        size_t n = strlen(path) + 16;
        FS_TRY(fs_alloc(&tmp, n, 1, "temporary file name"));
        snprintf(tmp, n, "%s.tmpXXXXXX", path);
        fd = mkostemp(tmp, O_CLOEXEC);  /* created 0600 */
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    }
    if (fd < 0) {
        if (errno == EEXIST && !force)
            FS_FAIL(FS_ERR_IO, "refusing to overwrite existing %s '%s' (use --force)", what, path);
        FS_FAIL(FS_ERR_IO, "cannot create %s '%s': %s", what, force ? tmp : path, strerror(errno));
    }
    created = force ? tmp : path;
    /* The umask may have removed bits from mode. */
    if (fchmod(fd, mode) != 0)
        FS_FAIL(FS_ERR_IO, "cannot set mode %04o on %s '%s': %s", (unsigned)mode, what, created,
                strerror(errno));
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) FS_FAIL(FS_ERR_IO, "cannot write %s '%s': %s", what, created, strerror(errno));
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0)
        FS_FAIL(FS_ERR_IO, "cannot sync %s '%s': %s", what, created, strerror(errno));
    int crc = close(fd);
    fd = -1;
    if (crc != 0) FS_FAIL(FS_ERR_IO, "cannot close %s '%s': %s", what, created, strerror(errno));
    if (force && rename(tmp, path) != 0)
        FS_FAIL(FS_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    created = NULL;  /* committed */
    FS_TRY(fs_file_sync_dir(path));   /* the new name survives a power loss */
done:
    if (fd >= 0) close(fd);
    if (created) (void)unlink(created);
    free(tmp);
    return rc;
}

fs_err fs_identity_save(const fs_identity *id, const char *path, int force)
{
    fs_err rc = FS_OK;
    BIO *mem = NULL;
    char *pem = NULL;  /* secret: inside the secure-memory BIO, cleansed when freed */
    long len;

    if (!id || !path) return fs_error_set(FS_ERR_ARG, "fs_identity_save: NULL argument");
    fs_ssl_clear();
    /* BIO_s_secmem clears its buffer on free (secure heap if enabled). */
    mem = BIO_new(BIO_s_secmem());
    if (!mem) FS_TRY(fs_from_ssl("BIO_new"));
    /* PEM_write_bio_PrivateKey writes PKCS#8; returns 1 on success. */
    FS_SSL(PEM_write_bio_PrivateKey(mem, id->pkey, NULL, NULL, 0, NULL, NULL));
    len = BIO_get_mem_data(mem, &pem);
    if (len <= 0 || !pem) FS_FAIL(FS_ERR_CRYPTO, "PEM encoding of the identity key is empty");
    FS_TRY(write_new_file(path, pem, (size_t)len, 0600, force, "identity key file"));
done:
    BIO_free(mem);
    return rc;
}

/* pem_password_cb that declines: an encrypted key fails instead of prompting. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

/*
 * Read a whole small file (at most KEYFILE_MAX bytes) into a NUL-terminated
 * buffer owned by the caller (*size excludes the NUL).  If private_key, the
 * file must not be accessible by group or others.
 */
static fs_err read_small_file(const char *path, const char *what, int private_key, char **out,
                              size_t *size)
{
    fs_err rc = FS_OK;
    int fd = -1;
    struct stat st;
    char *buf = NULL;
    size_t got = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) FS_FAIL(FS_ERR_IO, "%s '%s' does not exist", what, path);
        FS_FAIL(FS_ERR_IO, "cannot open %s '%s': %s", what, path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) FS_FAIL(FS_ERR_IO, "cannot stat %s '%s': %s", what, path, strerror(errno));
    if (!S_ISREG(st.st_mode)) FS_FAIL(FS_ERR_IO, "%s '%s' is not a regular file", what, path);
    if (private_key && (st.st_mode & 077))
        FS_FAIL(FS_ERR_IO,
                "%s '%s' has permissions %04o; a private key must not be accessible by group "
                "or others (run: chmod 600 '%s')", what, path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_size > KEYFILE_MAX)
        FS_FAIL(FS_ERR_DATA, "%s '%s' is too large (%lld bytes) to be a key file", what, path,
                (long long)st.st_size);
    FS_TRY(fs_alloc(&buf, KEYFILE_MAX + 1, 1, "key file buffer"));
    for (;;) {
        ssize_t r = read(fd, buf + got, KEYFILE_MAX - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) FS_FAIL(FS_ERR_IO, "cannot read %s '%s': %s", what, path, strerror(errno));
        if (r == 0) break;
        got += (size_t)r;
        if (got == KEYFILE_MAX) FS_FAIL(FS_ERR_DATA, "%s '%s' is too large to be a key file", what, path);
    }
    buf[got] = '\0';
    *out = buf;
    *size = got;
    buf = NULL;
done:
    if (fd >= 0) close(fd);
    if (buf) { fs_secure_zero(buf, KEYFILE_MAX + 1); free(buf); }
    return rc;
}

fs_err fs_identity_load(const char *path, fs_identity **out)
{
    fs_err rc = FS_OK;
    char *buf = NULL;  /* secret: PEM text, wiped at done: */
    size_t len = 0;
    BIO *mem = NULL;
    EVP_PKEY *pk = NULL;

    *out = NULL;
    if (!path) return fs_error_set(FS_ERR_ARG, "fs_identity_load: NULL path");
    FS_TRY(fs_crypto_init());
    FS_TRY(read_small_file(path, "identity key file", 1, &buf, &len));
    if (strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        FS_FAIL(FS_ERR_DATA, "identity key file '%s' is encrypted; fedsilo needs an unencrypted "
                "PKCS#8 key protected by file permissions", path);
    fs_ssl_clear();
    mem = BIO_new_mem_buf(buf, (int)len);
    if (!mem) FS_TRY(fs_from_ssl("BIO_new_mem_buf"));
    pk = PEM_read_bio_PrivateKey(mem, NULL, no_password, NULL);
    if (!pk) {
        ERR_clear_error();
        FS_FAIL(FS_ERR_DATA, "identity key file '%s' does not hold a PEM (PKCS#8) private key",
                path);
    }
    if (EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
        const char *t = EVP_PKEY_get0_type_name(pk);
        FS_FAIL(FS_ERR_DATA, "identity key file '%s' holds a %s key; fedsilo identity keys are "
                "Ed25519 (create one with 'fedsilo keygen')", path, t ? t : "non-Ed25519");
    }
    FS_TRY(wrap_pkey(pk, out));
    pk = NULL;
done:
    EVP_PKEY_free(pk);
    BIO_free(mem);
    if (buf) { fs_secure_zero(buf, KEYFILE_MAX + 1); free(buf); }
    return rc;
}

// ---------------------------------------------------------------- public key text

static const char pub_prefix[] = "ed25519:";

fs_err fs_pubkey_to_text(const uint8_t pub[FS_ED25519_PUBBYTES], char *out, size_t outlen)
{
    if (!pub || !out || outlen < FS_PUBKEY_TEXTBYTES)
        return fs_error_set(FS_ERR_ARG, "fs_pubkey_to_text: output needs %d bytes",
                            FS_PUBKEY_TEXTBYTES);
    memcpy(out, pub_prefix, sizeof pub_prefix - 1);
    /* EVP_EncodeBlock returns the encoded length (44 for 32 bytes) and NUL-terminates. */
    if (EVP_EncodeBlock((unsigned char *)out + sizeof pub_prefix - 1, pub,
                        FS_ED25519_PUBBYTES) != 44)
        return fs_error_set(FS_ERR_CRYPTO, "base64 encoding failed");
    return FS_OK;
}

fs_err fs_pubkey_from_text(const char *text, uint8_t pub[FS_ED25519_PUBBYTES])
{
    unsigned char raw[36];
    char again[FS_PUBKEY_TEXTBYTES];
    const char *b64;
    if (!text || !pub) return fs_error_set(FS_ERR_ARG, "fs_pubkey_from_text: NULL argument");
    if (strncmp(text, pub_prefix, sizeof pub_prefix - 1) != 0)
        return fs_error_set(FS_ERR_DATA, "public key must start with 'ed25519:'");
    b64 = text + sizeof pub_prefix - 1;
    if (strlen(b64) != 44)
        return fs_error_set(FS_ERR_DATA, "public key must be 'ed25519:' followed by 44 base64 "
                            "characters (got %zu)", strlen(b64));
    /* 44 characters decode to 33 bytes (the '=' pad counts as a zero byte). */
    if (EVP_DecodeBlock(raw, (const unsigned char *)b64, 44) != 33)
        return fs_error_set(FS_ERR_DATA, "public key is not valid base64");
    /* Accept only the canonical encoding of exactly 32 bytes. */
    if (fs_pubkey_to_text(raw, again, sizeof again) != FS_OK || strcmp(again, text) != 0)
        return fs_error_set(FS_ERR_DATA, "public key is not the canonical base64 of 32 bytes");
    memcpy(pub, raw, FS_ED25519_PUBBYTES);
    return FS_OK;
}

fs_err fs_pubkey_save(const uint8_t pub[FS_ED25519_PUBBYTES], const char *path, int force)
{
    fs_err rc = FS_OK;
    char line[FS_PUBKEY_TEXTBYTES + 1];
    if (!pub || !path) return fs_error_set(FS_ERR_ARG, "fs_pubkey_save: NULL argument");
    FS_TRY(fs_pubkey_to_text(pub, line, sizeof line));
    strcat(line, "\n");
    FS_TRY(write_new_file(path, line, strlen(line), 0644, force, "public key file"));
done:
    return rc;
}

fs_err fs_pubkey_load(const char *path, uint8_t pub[FS_ED25519_PUBBYTES])
{
    fs_err rc = FS_OK;
    char *buf = NULL;
    size_t len = 0;
    if (!path || !pub) return fs_error_set(FS_ERR_ARG, "fs_pubkey_load: NULL argument");
    FS_TRY(read_small_file(path, "public key file", 0, &buf, &len));
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    if (fs_pubkey_from_text(buf, pub) != FS_OK)
        FS_TRY(fs_error_prefix(FS_ERR_DATA, "public key file '%s': ", path));
done:
    free(buf);
    return rc;
}

/*
 * fs_core.c - core layer: error messages, logging, allocation, secure
 * memory helpers, timing and deterministic (non-cryptographic) RNG streams.
 * No MPI, no OpenSSL, no GMP: everything else in the library sits above it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "fs_impl.h"
#include "fedsilo/fs_version.h"

// ---------------------------------------------------------------- errors

#define FS_MSG_CAP 1024
static _Thread_local char fs_msg[FS_MSG_CAP];
/* 1 while fs_msg is a sentence agreed by fs_agree (it names the failing
 * rank already); any new fs_error_set clears it. */
static _Thread_local int fs_msg_agreed;
/* The private detail of the current failure (fs_error_detail): shown only
 * on this rank, never agreed; any new fs_error_set clears it. */
static _Thread_local char fs_msg_detail[FS_MSG_CAP];

const char *fs_strerror(fs_err code)
{
    switch (code) {
    case FS_OK:              return "success";
    case FS_ERR_ARG:         return "invalid argument";
    case FS_ERR_DATA:        return "bad data";
    case FS_ERR_IO:          return "I/O error";
    case FS_ERR_NUMERIC:     return "numerical failure";
    case FS_ERR_NOMEM:       return "out of memory";
    case FS_ERR_CRYPTO:      return "cryptographic library failure";
    case FS_ERR_AUTH:        return "authentication failed";
    case FS_ERR_INTERRUPTED: return "interrupted";
    case FS_ERR_MPI:         return "MPI failure";
    }
    return "unknown error";
}

const char *fs_errmsg(void) { return fs_msg; }

const char *fs_errdetail(void) { return fs_msg_detail; }

void fs_error_clear(void) { fs_msg[0] = '\0'; fs_msg_detail[0] = '\0'; fs_msg_agreed = 0; }

/* Replace terminal control characters (file contents quoted in messages
 * must not reach the user's terminal or logs as escape sequences). */
static void sanitize(char *s)
{
    for (char *c = s; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\n' && *c != '\t') || (unsigned char)*c == 0x7f)
            *c = '?';
}

fs_err fs_error_privatize(fs_err code, const char *fmt, ...)
{
    char old[FS_MSG_CAP], det[FS_MSG_CAP];
    snprintf(old, sizeof old, "%s", fs_msg);
    snprintf(det, sizeof det, "%s", fs_msg_detail);
    va_list ap;
    va_start(ap, fmt);
    fs_error_vset(code, fmt, ap);
    va_end(ap);
    if (det[0]) snprintf(fs_msg_detail, sizeof fs_msg_detail, "%.500s; %.500s", old, det);
    else snprintf(fs_msg_detail, sizeof fs_msg_detail, "%s", old);
    return code;
}

fs_err fs_error_detail(fs_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fs_msg_detail, sizeof fs_msg_detail, fmt, ap);
    va_end(ap);
    sanitize(fs_msg_detail);
    return code;
}

void fs_error_mark_agreed(void) { fs_msg_agreed = 1; }

int fs_error_is_agreed(void) { return fs_msg_agreed; }

fs_err fs_error_vset(fs_err code, const char *fmt, va_list ap)
{
    vsnprintf(fs_msg, sizeof fs_msg, fmt, ap);
    fs_msg_agreed = 0;
    fs_msg_detail[0] = '\0';
    /* Messages quote file contents (keys, cells, names): never let them
     * carry terminal control sequences to the user's terminal or logs. */
    sanitize(fs_msg);
    return code;
}

fs_err fs_error_set(fs_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fs_error_vset(code, fmt, ap);
    va_end(ap);
    return code;
}

fs_err fs_error_prefix(fs_err code, const char *fmt, ...)
{
    char old[FS_MSG_CAP], pre[FS_MSG_CAP];
    va_list ap;
    memcpy(old, fs_msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    snprintf(fs_msg, sizeof fs_msg, "%s%s", pre, old);
    return code;
}

// ---------------------------------------------------------------- logging

static void default_log(fs_log_level level, const char *line, void *user)
{
    (void)user;
    static const char *names[] = { "debug", "info", "warning", "error" };
    fprintf(stderr, "fedsilo: %s: %s\n", names[level], line);
}

static fs_log_fn log_fn = default_log;
static void *log_user;
static fs_log_level log_min = FS_LOG_INFO;

void fs_log_set_handler(fs_log_fn fn, void *user, fs_log_level min_level)
{
    log_fn = fn ? fn : default_log;
    log_user = user;
    log_min = min_level;
}

void fs_log(fs_log_level level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    if (level < log_min) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_fn(level, line, log_user);
}

const char *fs_version_string(void) { return FS_VERSION_STRING; }

// ---------------------------------------------------------------- memory

fs_err fs_alloc(void *out, size_t n, size_t size, const char *what)
{
    void **o = (void **)out;
    *o = NULL;
    if (size != 0 && n > SIZE_MAX / size)
        return fs_error_set(FS_ERR_NOMEM, "size overflow allocating %s (%zu x %zu bytes)",
                            what, n, size);
    size_t bytes = n * size;
    if (bytes == 0) bytes = 1;
    *o = malloc(bytes);
    if (!*o)
        return fs_error_set(FS_ERR_NOMEM, "out of memory allocating %s (%zu bytes)", what, bytes);
    return FS_OK;
}

fs_err fs_zalloc(void *out, size_t n, size_t size, const char *what)
{
    void **o = (void **)out;
    *o = NULL;
    if (size != 0 && n > SIZE_MAX / size)
        return fs_error_set(FS_ERR_NOMEM, "size overflow allocating %s (%zu x %zu bytes)",
                            what, n, size);
    *o = calloc(n ? n : 1, size ? size : 1);
    if (!*o)
        return fs_error_set(FS_ERR_NOMEM, "out of memory allocating %s (%zu x %zu bytes)",
                            what, n, size);
    return FS_OK;
}

fs_err fs_strdup(char **out, const char *s)
{
    *out = strdup(s ? s : "");
    return *out ? FS_OK : fs_error_set(FS_ERR_NOMEM, "out of memory copying a string");
}

void fs_secure_zero(void *p, size_t n)
{
    if (p && n) explicit_bzero(p, n);
}

int fs_secure_memeq(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++) d |= (unsigned char)(x[i] ^ y[i]);
    /* (d - 1) >> 8 is 1 exactly when d == 0, without a branch on d. */
    return (int)((((unsigned)d) - 1u) >> 8) & 1;
}

double fs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---------------------------------------------------------------- RNG

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t fs_rng_key(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t x = UINT64_C(0x6a09e667f3bcc908), k = 0;
    uint64_t w[4] = { a, b, c, d };
    for (int i = 0; i < 4; i++) {
        x ^= w[i];
        k = splitmix64(&x);
        x ^= k;
    }
    return k;
}

void fs_rng_seed(fs_rng *r, uint64_t key)
{
    uint64_t x = key;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fs_rng_u64(fs_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t out = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double fs_rng_uniform(fs_rng *r) { return (double)(fs_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t fs_rng_below(fs_rng *r, uint64_t n)
{
    /* Rejection sampling: accept x < 2^64 - (2^64 mod n) so every residue
     * class has the same number of preimages. */
    uint64_t lim = -n % n;  /* == 2^64 mod n */
    uint64_t x;
    do { x = fs_rng_u64(r); } while (x < lim);
    return x % n;
}

double fs_rng_normal(fs_rng *r)
{
    double u, v, s;
    do {
        u = 2.0 * fs_rng_uniform(r) - 1.0;
        v = 2.0 * fs_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double fs_rng_gamma(fs_rng *r, double shape)
{
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a)  (Marsaglia-Tsang boost). */
        double u;
        do { u = fs_rng_uniform(r); } while (u == 0.0);
        return fs_rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v, u;
        do { x = fs_rng_normal(r); v = 1.0 + c * x; } while (v <= 0.0);
        v = v * v * v;
        u = fs_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

void fs_rng_shuffle_u32(fs_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)fs_rng_below(r, i);
        uint32_t t = a[i - 1]; a[i - 1] = a[j]; a[j] = t;
    }
}

uint64_t fs_hash64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= UINT64_C(0x100000001b3); }
    return h;
}

void fs_class_probs(const float *z, size_t nout, double *pr)
{
    if (nout == 1) {
        pr[1] = 1.0 / (1.0 + exp(-(double)z[0]));
        pr[0] = 1.0 - pr[1];
        return;
    }
    double mx = z[0], tot = 0;
    for (size_t k = 1; k < nout; k++) mx = z[k] > mx ? z[k] : mx;
    for (size_t k = 0; k < nout; k++) tot += (pr[k] = exp((double)z[k] - mx));
    for (size_t k = 0; k < nout; k++) pr[k] /= tot;
}

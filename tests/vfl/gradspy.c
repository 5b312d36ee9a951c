/*
 * gradspy.c - an LD_PRELOAD observer for tests/vfl/tail.sh (the review's
 * E8): it wraps fs_paillier_decrypt_packed, the call with which a feature
 * holder decrypts the gradient g_k = X_k[B]^T r that the protocol hands it,
 * and appends every decrypted value to FS_GRADSPY_OUT as
 *   "grad RANK COUNT g_0 ... g_(COUNT-1)"
 * (RANK from OMPI_COMM_WORLD_RANK).  It changes nothing: an
 * honest-but-curious feature holder that keeps a copy of what it is given.
 *
 * Not part of fedsilo: test scaffolding only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <fedsilo/fs_paillier.h>

typedef fs_err (*decrypt_fn)(const fs_paillier_key *, const fs_paillier_vec *, size_t, size_t,
                             int, int, double *);

fs_err fs_paillier_decrypt_packed(const fs_paillier_key *k, const fs_paillier_vec *v, size_t i,
                                  size_t count, int slot_bits, int frac_bits, double *out)
{
    static decrypt_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "fs_paillier_decrypt_packed");
    if (!real) return FS_ERR_ARG;
    fs_err rc = real(k, v, i, count, slot_bits, frac_bits, out);
    const char *path = getenv("FS_GRADSPY_OUT"), *rank = getenv("OMPI_COMM_WORLD_RANK");
    FILE *f = rc == FS_OK && path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "grad %s %zu", rank ? rank : "?", count);
        for (size_t j = 0; j < count; j++) fprintf(f, " %.17g", out[j]);
        fputc('\n', f);
        fclose(f);
    }
    return rc;
}

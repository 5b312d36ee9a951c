/*
 * fs_server_opt.c - server optimizers (see fs_server_opt.h for the update
 * rules and references).  FedAvg program, no MPI.
 */
#include <math.h>
#include <string.h>
#include "fs_server_opt.h"

static const char *names[] = { "fedavg", "fedavgm", "fedadagrad", "fedyogi", "fedadam" };

const char *fs_server_opt_name(fs_sopt_kind kind)
{
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

fs_err fs_server_opt_kind(const char *name, fs_sopt_kind *out)
{
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) { *out = (fs_sopt_kind)i; return FS_OK; }
    return fs_error_set(FS_ERR_ARG, "unknown server optimizer '%s' (fedavg, fedavgm, fedadagrad, "
                        "fedyogi, fedadam)", name);
}

fs_err fs_server_opt_create(fs_sopt_kind kind, double lr, double beta1, double beta2, double tau,
                            size_t n, fs_server_opt **out)
{
    fs_err rc = FS_OK;
    fs_server_opt *o = NULL;
    *out = NULL;
    FS_TRY(fs_zalloc(&o, 1, sizeof *o, "server optimizer"));
    o->kind = kind;
    o->lr = lr;
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->tau = tau;
    o->n = n;
    if (kind != FS_SOPT_FEDAVG) FS_TRY(fs_zalloc(&o->m, n, sizeof(float), "server momentum"));
    if (kind >= FS_SOPT_FEDADAGRAD) {
        FS_TRY(fs_alloc(&o->v, n, sizeof(float), "server second moment"));
        const float t2 = (float)(tau * tau);  /* v_{-1} = tau^2 (Reddi et al., Alg. 2) */
        for (size_t i = 0; i < n; i++) o->v[i] = t2;
    }
    *out = o;
    o = NULL;
done:
    fs_server_opt_destroy(&o);
    return rc;
}

void fs_server_opt_destroy(fs_server_opt **o)
{
    if (!o || !*o) return;
    free((*o)->m);
    free((*o)->v);
    free(*o);
    *o = NULL;
}

void fs_server_opt_step(fs_server_opt *o, float *w, const float *delta)
{
    const float lr = (float)o->lr, b1 = (float)o->beta1, b2 = (float)o->beta2;
    const float tau = (float)o->tau;
    float *m = o->m, *v = o->v;
    switch (o->kind) {
    case FS_SOPT_FEDAVG:
        for (size_t i = 0; i < o->n; i++) w[i] += lr * delta[i];
        break;
    case FS_SOPT_FEDAVGM:
        for (size_t i = 0; i < o->n; i++) {
            m[i] = b1 * m[i] + delta[i];
            w[i] += lr * m[i];
        }
        break;
    case FS_SOPT_FEDADAGRAD:
    case FS_SOPT_FEDYOGI:
    case FS_SOPT_FEDADAM:
        for (size_t i = 0; i < o->n; i++) {
            const float d = delta[i], d2 = d * d;
            m[i] = b1 * m[i] + (1.0f - b1) * d;
            if (o->kind == FS_SOPT_FEDADAGRAD) {
                v[i] = v[i] + d2;
            } else if (o->kind == FS_SOPT_FEDYOGI) {
                const float diff = v[i] - d2;
                const float sgn = (float)((diff > 0.0f) - (diff < 0.0f));
                v[i] = v[i] - (1.0f - b2) * d2 * sgn;
            } else {
                v[i] = b2 * v[i] + (1.0f - b2) * d2;
            }
            w[i] += lr * m[i] / (sqrtf(v[i]) + tau);
        }
        break;
    }
    o->steps++;
}

/*
 * fs_ledger.c - the privacy ledger of a run (see fs_ledger.h): the RDP
 * accountants of DP-SGD and distributed DP, their per-round mechanisms,
 * and the list of released quantities.
 */
#include <math.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_ledger.h"

typedef struct {
    fs_rdp *rdp;      /* NULL: not enabled                                   */
    double sigma, q;  /* mechanism of one round: `steps` steps of (sigma, q) */
    long steps;
    double *buf;      /* (len) serialization of rdp                          */
    size_t len;
} accountant;

typedef struct { char *name, *mechanism; } release;

struct fs_ledger {
    accountant acc[FS_LEDGER_NACCOUNTANTS];
    release *rel;
    size_t nrel, caprel;
};

fs_err fs_ledger_create(fs_ledger **out)
{
    return fs_zalloc(out, 1, sizeof **out, "privacy ledger");
}

void fs_ledger_destroy(fs_ledger **pl)
{
    if (!pl || !*pl) return;
    fs_ledger *l = *pl;
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) {
        fs_rdp_destroy(&l->acc[i].rdp);
        free(l->acc[i].buf);
    }
    for (size_t i = 0; i < l->nrel; i++) {
        free(l->rel[i].name);
        free(l->rel[i].mechanism);
    }
    free(l->rel);
    free(l);
    *pl = NULL;
}

static fs_err check_which(fs_ledger_accountant which)
{
    if ((unsigned)which >= FS_LEDGER_NACCOUNTANTS)
        return fs_error_set(FS_ERR_ARG, "privacy ledger: unknown accountant %d", (int)which);
    return FS_OK;
}

fs_err fs_ledger_enable(fs_ledger *l, fs_ledger_accountant which, double sigma, double q,
                        long steps)
{
    fs_err rc = FS_OK;
    accountant a;
    memset(&a, 0, sizeof a);
    FS_TRY(check_which(which));
    FS_CHECK_ARG(!l->acc[which].rdp, "privacy ledger: accountant %d is already enabled",
                 (int)which);
    FS_CHECK_ARG(sigma >= 0 && q > 0 && q <= 1 && steps >= 1,
                 "privacy ledger: bad mechanism (sigma %g, q %g, %ld steps)", sigma, q, steps);
    FS_TRY(fs_rdp_create(NULL, 0, &a.rdp));
    a.len = fs_rdp_serialized_len(a.rdp);
    FS_TRY(fs_alloc(&a.buf, a.len, sizeof(double), "accountant state"));
    a.sigma = sigma;
    a.q = q;
    a.steps = steps;
    l->acc[which] = a;
    memset(&a, 0, sizeof a);
done:
    fs_rdp_destroy(&a.rdp);   /* only what this call made, on failure */
    free(a.buf);
    return rc;
}

int fs_ledger_enabled(const fs_ledger *l, fs_ledger_accountant which)
{
    return (unsigned)which < FS_LEDGER_NACCOUNTANTS && l->acc[which].rdp != NULL;
}

/*
 * Epsilon at delta that accountant a would report after one more round,
 * computed on a copy made through its serialization buffer (the buffer is
 * scratch), leaving a unchanged.
 */
static fs_err next_epsilon(const accountant *a, double delta, double *eps)
{
    fs_err rc = FS_OK;
    fs_rdp *next = NULL;
    FS_TRY(fs_rdp_serialize(a->rdp, a->buf, a->len));
    FS_TRY(fs_rdp_deserialize(a->buf, a->len, &next));
    FS_TRY(fs_rdp_add_step(next, a->sigma, a->q, a->steps));
    FS_TRY(fs_rdp_get_epsilon(next, delta, FS_DP_CONV_IMPROVED, eps, NULL));
done:
    fs_rdp_destroy(&next);
    return rc;
}

fs_err fs_ledger_would_exceed(const fs_ledger *l, double budget, double delta, int *exceed,
                              double *eps_next)
{
    fs_err rc = FS_OK;
    double worst = 0;
    *exceed = 0;
    if (eps_next) *eps_next = 0;
    if (!(budget > 0)) return FS_OK;
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) {
        double e = 0;
        if (!l->acc[i].rdp) continue;
        FS_TRY(next_epsilon(&l->acc[i], delta, &e));
        if (e > worst) worst = e;
    }
    *exceed = worst > budget;
    if (eps_next) *eps_next = worst;
done:
    return rc;
}

fs_err fs_ledger_charge_round(fs_ledger *l)
{
    fs_err rc = FS_OK;
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) {
        accountant *a = &l->acc[i];
        if (a->rdp) FS_TRY(fs_rdp_add_step(a->rdp, a->sigma, a->q, a->steps));
    }
done:
    return rc;
}

fs_err fs_ledger_epsilon(const fs_ledger *l, fs_ledger_accountant which, double delta, double *eps)
{
    *eps = NAN;
    fs_err rc = check_which(which);
    if (rc != FS_OK || !l->acc[which].rdp) return rc;
    return fs_rdp_get_epsilon(l->acc[which].rdp, delta, FS_DP_CONV_IMPROVED, eps, NULL);
}

fs_err fs_ledger_serialize(fs_ledger *l, fs_ledger_accountant which, const double **buf,
                           size_t *len)
{
    *buf = NULL;
    *len = 0;
    fs_err rc = check_which(which);
    accountant *a = rc == FS_OK ? &l->acc[which] : NULL;
    if (!a || !a->rdp) return rc;
    rc = fs_rdp_serialize(a->rdp, a->buf, a->len);
    if (rc == FS_OK) {
        *buf = a->buf;
        *len = a->len;
    }
    return rc;
}

fs_err fs_ledger_restore(fs_ledger *l, fs_ledger_accountant which, const double *buf, size_t len)
{
    fs_err rc = FS_OK;
    fs_rdp *r = NULL;
    FS_TRY(check_which(which));
    accountant *a = &l->acc[which];
    FS_CHECK_ARG(a->rdp, "privacy ledger: accountant %d is not enabled", (int)which);
    FS_TRY(fs_rdp_deserialize(buf, len, &r));
    fs_rdp_destroy(&a->rdp);
    a->rdp = r;
    r = NULL;
done:
    fs_rdp_destroy(&r);
    return rc;
}

fs_err fs_ledger_note_release(fs_ledger *l, const char *name, const char *mechanism)
{
    fs_err rc = FS_OK;
    for (size_t i = 0; i < l->nrel; i++)
        if (strcmp(l->rel[i].name, name) == 0) return FS_OK;
    if (l->nrel == l->caprel) {
        size_t cap = l->caprel ? 2 * l->caprel : 8;
        release *r = realloc(l->rel, cap * sizeof *r);
        if (!r) return fs_error_set(FS_ERR_NOMEM, "out of memory in the privacy ledger");
        l->rel = r;
        l->caprel = cap;
    }
    release *e = &l->rel[l->nrel];
    e->name = e->mechanism = NULL;
    FS_TRY(fs_strdup(&e->name, name));
    FS_TRY(fs_strdup(&e->mechanism, mechanism));
    l->nrel++;
done:
    if (rc != FS_OK) {
        free(e->name);
        free(e->mechanism);
    }
    return rc;
}

size_t fs_ledger_nreleases(const fs_ledger *l) { return l->nrel; }

int fs_ledger_release(const fs_ledger *l, size_t i, const char **name, const char **mechanism)
{
    if (i >= l->nrel) return -1;
    if (name) *name = l->rel[i].name;
    if (mechanism) *mechanism = l->rel[i].mechanism;
    return 0;
}

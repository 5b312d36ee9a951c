/*
 * fs_ledger.c - the privacy ledger of a run (see fs_ledger.h): the RDP
 * accountants of DP-SGD and distributed DP, their per-round mechanisms,
 * the registered releases, and the durable journal of charges.
 *
 * Journal format (one text line per charged round, docs/formats.md):
 *   # comment lines
 *   charge K [ACC SIGMA Q STEPS]...      ACC = dpsgd | ddp
 * with SIGMA and Q printed at 17 significant digits, so the replay adds
 * exactly the doubles that were charged and rebuilds the accountants bit
 * for bit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs_impl.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_ledger.h"

typedef struct {
    fs_rdp *rdp;      /* NULL: not enabled                                   */
    double sigma, q;  /* mechanism of one round: `steps` steps of (sigma, q) */
    long steps;
    double *buf;      /* (len) serialization of rdp                          */
    size_t len;
} accountant;

typedef struct {
    char *name, *mechanism;
    uint32_t vid;          /* vector id of fs_fed_sum_*, 0: noted only */
    fs_release_class cls;
} release;

/* One charged round: the mechanism each accountant was charged with. */
typedef struct {
    unsigned mask;                          /* bit i: accountant i charged */
    double sigma[FS_LEDGER_NACCOUNTANTS], q[FS_LEDGER_NACCOUNTANTS];
    long steps[FS_LEDGER_NACCOUNTANTS];
} charge;

struct fs_ledger {
    accountant acc[FS_LEDGER_NACCOUNTANTS];
    release *rel;
    size_t nrel, caprel;
    charge *ch;            /* (nch) every round charged, replayed ones first */
    long nch, capch;
    char *journal;         /* path of the journal file, or NULL             */
};

static const char *const acc_name[FS_LEDGER_NACCOUNTANTS] = { "dpsgd", "ddp" };

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
    free(l->ch);
    free(l->journal);
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

/* Append c to the in-memory list of charges. */
static fs_err push_charge(fs_ledger *l, const charge *c)
{
    if (l->nch == l->capch) {
        long cap = l->capch ? 2 * l->capch : 64;
        charge *n = realloc(l->ch, (size_t)cap * sizeof *n);
        if (!n) return fs_error_set(FS_ERR_NOMEM, "out of memory in the privacy ledger");
        l->ch = n;
        l->capch = cap;
    }
    l->ch[l->nch++] = *c;
    return FS_OK;
}

/* Add charge c to the accountants (each that it names). */
static fs_err apply_charge(accountant *acc, const charge *c)
{
    fs_err rc = FS_OK;
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++)
        if (c->mask & (1u << i)) FS_TRY(fs_rdp_add_step(acc[i].rdp, c->sigma[i], c->q[i], c->steps[i]));
done:
    return rc;
}

/* The journal line of charge number k (1-based). */
static void format_charge(const charge *c, long k, char *line, size_t cap)
{
    int len = snprintf(line, cap, "charge %ld", k);
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++)
        if (c->mask & (1u << i))
            len += snprintf(line + len, cap - (size_t)len, " %s %.17g %.17g %ld", acc_name[i],
                            c->sigma[i], c->q[i], c->steps[i]);
}

fs_err fs_ledger_charge_round(fs_ledger *l)
{
    fs_err rc = FS_OK;
    charge c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) {
        const accountant *a = &l->acc[i];
        if (!a->rdp) continue;
        c.mask |= 1u << i;
        c.sigma[i] = a->sigma;
        c.q[i] = a->q;
        c.steps[i] = a->steps;
    }
    if (!c.mask) return FS_OK;
    if (l->journal) {  /* durable first: a charge the file lacks was never made */
        char line[256];
        format_charge(&c, l->nch + 1, line, sizeof line);
        FS_TRY(fs_file_append_line(l->journal, line));
    }
    FS_TRY(push_charge(l, &c));
    FS_TRY(apply_charge(l->acc, &c));
done:
    return rc;
}

long fs_ledger_charges(const fs_ledger *l) { return l->nch; }

/* Fresh accountants (the orders of a's) holding the first k charges. */
static fs_err replay(const fs_ledger *l, long k, fs_rdp **out)
{
    fs_err rc = FS_OK;
    accountant tmp[FS_LEDGER_NACCOUNTANTS];
    memset(tmp, 0, sizeof tmp);
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++)
        if (l->acc[i].rdp) FS_TRY(fs_rdp_create(NULL, 0, &tmp[i].rdp));
    for (long j = 0; j < k; j++) FS_TRY(apply_charge(tmp, &l->ch[j]));
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) {
        out[i] = tmp[i].rdp;
        tmp[i].rdp = NULL;
    }
done:
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) fs_rdp_destroy(&tmp[i].rdp);
    return rc;
}

/* Parse one journal line into c; 0 on success, -1 when malformed. */
static int parse_charge(char *line, const fs_ledger *l, charge *c, int *unknown)
{
    char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
    memset(c, 0, sizeof *c);
    *unknown = -1;
    if (!tok || strcmp(tok, "charge") != 0 || !strtok_r(NULL, " \t\r\n", &save)) return -1;
    while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
        int i = 0;
        while (i < FS_LEDGER_NACCOUNTANTS && strcmp(tok, acc_name[i]) != 0) i++;
        char *a = strtok_r(NULL, " \t\r\n", &save), *b = strtok_r(NULL, " \t\r\n", &save);
        char *t = strtok_r(NULL, " \t\r\n", &save), *e1, *e2, *e3;
        if (i == FS_LEDGER_NACCOUNTANTS || !a || !b || !t || (c->mask & (1u << i))) return -1;
        c->sigma[i] = strtod(a, &e1);
        c->q[i] = strtod(b, &e2);
        c->steps[i] = strtol(t, &e3, 10);
        if (*e1 || *e2 || *e3 || !(c->sigma[i] >= 0) || !(c->q[i] > 0 && c->q[i] <= 1) ||
            c->steps[i] < 1)
            return -1;
        if (!l->acc[i].rdp) *unknown = i;
        c->mask |= 1u << i;
    }
    return c->mask ? 0 : -1;
}

/* Cut path to its first `len` bytes, durably. */
static fs_err cut_file(const char *path, off_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int bad = fd < 0 || ftruncate(fd, len) != 0 || fsync(fd) != 0;
    if (fd >= 0) close(fd);
    if (bad) return fs_error_set(FS_ERR_IO, "cannot truncate %s: %s", path, strerror(errno));
    return FS_OK;
}

fs_err fs_ledger_journal_open(fs_ledger *l, const char *path, long *ncharges)
{
    fs_err rc = FS_OK;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    off_t good = 0;
    int any = 0;
    *ncharges = 0;
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) any |= l->acc[i].rdp != NULL;
    FS_CHECK_ARG(!l->journal && l->nch == 0 && any,
                 "privacy ledger: the journal must be opened once, after the accountants are "
                 "enabled and before the first charge");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) FS_FAIL(FS_ERR_IO, "cannot open the privacy ledger file %s: %s", path,
                        strerror(errno));
    f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        FS_FAIL(FS_ERR_IO, "cannot read the privacy ledger file %s: %s", path, strerror(errno));
    }
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[n - 1] != '\n') break;  /* torn by a crash inside the write: cut below */
        good += n;
        if (line[0] == '#' || line[0] == '\n') continue;
        charge c;
        int unknown = -1;
        if (parse_charge(line, l, &c, &unknown) != 0)
            FS_FAIL(FS_ERR_DATA, "privacy ledger file %s, line %ld: not a charge record", path,
                    lineno);
        if (unknown >= 0)
            FS_FAIL(FS_ERR_DATA, "privacy ledger file %s, line %ld: an earlier run in this "
                    "directory spent budget with %s, which this run does not use; its budget "
                    "would be forgotten: use the same DP settings or a new --out", path, lineno,
                    unknown == FS_LEDGER_DPSGD ? "DP-SGD" : "distributed DP");
        FS_TRY(push_charge(l, &c));
        FS_TRY(apply_charge(l->acc, &c));
    }
    if (ferror(f)) FS_FAIL(FS_ERR_IO, "cannot read the privacy ledger file %s: %s", path,
                           strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0)
        FS_FAIL(FS_ERR_IO, "cannot stat the privacy ledger file %s: %s", path, strerror(errno));
    if (sb.st_size > good) FS_TRY(cut_file(path, good));
    if (good == 0) {  /* a new file: its header, and the file itself made durable */
        FS_TRY(fs_file_append_line(path, "# fedsilo privacy ledger: one line per charged round, "
                                   "written before the round's sum (charge K [ACC SIGMA Q "
                                   "STEPS]...)"));
        FS_TRY(fs_file_sync_dir(path));
    }
    FS_TRY(fs_strdup(&l->journal, path));
    *ncharges = l->nch;
done:
    free(line);
    if (f) fclose(f);
    return rc;
}

fs_err fs_ledger_verify_prefix(const fs_ledger *l, fs_ledger_accountant which, long k,
                               const double *buf, size_t len)
{
    fs_err rc = FS_OK;
    fs_rdp *st[FS_LEDGER_NACCOUNTANTS] = { NULL };
    double *mine = NULL;
    FS_TRY(check_which(which));
    FS_CHECK_ARG(l->acc[which].rdp, "privacy ledger: accountant %d is not enabled", (int)which);
    if (k < 0 || k > l->nch)
        FS_FAIL(FS_ERR_DATA, "the checkpoint counts %ld charged rounds, the privacy ledger file "
                "only %ld", k, l->nch);
    FS_TRY(replay(l, k, st));
    const size_t n = fs_rdp_serialized_len(st[which]);
    FS_TRY(fs_alloc(&mine, n, sizeof *mine, "accountant state"));
    FS_TRY(fs_rdp_serialize(st[which], mine, n));
    int same = len == n;
    for (size_t i = 0; same && i < n; i++) same = mine[i] == buf[i];
    if (!same)
        FS_FAIL(FS_ERR_DATA, "the checkpoint's %s budget state is not the one its %ld charged "
                "rounds give in the privacy ledger file", which == FS_LEDGER_DPSGD ? "DP-SGD"
                : "distributed-DP", k);
done:
    for (int i = 0; i < FS_LEDGER_NACCOUNTANTS; i++) fs_rdp_destroy(&st[i]);
    free(mine);
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

const char *fs_release_class_name(fs_release_class c)
{
    return c == FS_RELEASE_DP ? "dp" : c == FS_RELEASE_POSTPROC ? "post-processing" : "public";
}

/* Append a release entry (strings copied). */
static fs_err add_release(fs_ledger *l, uint32_t vid, const char *name, fs_release_class cls,
                          const char *mechanism)
{
    fs_err rc = FS_OK;
    if (l->nrel == l->caprel) {
        size_t cap = l->caprel ? 2 * l->caprel : 8;
        release *r = realloc(l->rel, cap * sizeof *r);
        if (!r) return fs_error_set(FS_ERR_NOMEM, "out of memory in the privacy ledger");
        l->rel = r;
        l->caprel = cap;
    }
    release *e = &l->rel[l->nrel];
    e->name = e->mechanism = NULL;
    e->vid = vid;
    e->cls = cls;
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

static const release *find_vid(const fs_ledger *l, uint32_t vid)
{
    for (size_t i = 0; i < l->nrel; i++)
        if (l->rel[i].vid == vid) return &l->rel[i];
    return NULL;
}

fs_err fs_ledger_register(fs_ledger *l, uint32_t vid, const char *name, fs_release_class cls,
                          const char *mechanism)
{
    if (vid == 0) return fs_error_set(FS_ERR_ARG, "privacy ledger: vector id 0 is reserved");
    const release *r = find_vid(l, vid);
    if (r && r->cls != cls)
        return fs_error_set(FS_ERR_ARG, "privacy ledger: vector %u is registered as %s, not %s",
                            (unsigned)vid, fs_release_class_name(r->cls),
                            fs_release_class_name(cls));
    return r ? FS_OK : add_release(l, vid, name, cls, mechanism);
}

fs_err fs_ledger_check_sum(const fs_ledger *l, uint32_t vid, fs_release_class *cls)
{
    const release *r = vid ? find_vid(l, vid) : NULL;
    if (!r)
        return fs_error_set(FS_ERR_ARG, "sum of vector %u refused: it is not registered in the "
                            "privacy ledger (a program must declare how each release is "
                            "protected before it sums it)", (unsigned)vid);
    if (cls) *cls = r->cls;
    return FS_OK;
}

int fs_ledger_vector_class(const fs_ledger *l, uint32_t vid)
{
    const release *r = vid ? find_vid(l, vid) : NULL;
    return r ? (int)r->cls : -1;
}

fs_err fs_ledger_note_release(fs_ledger *l, const char *name, const char *mechanism)
{
    for (size_t i = 0; i < l->nrel; i++)
        if (strcmp(l->rel[i].name, name) == 0) return FS_OK;
    return add_release(l, 0, name, strcmp(mechanism, "public") == 0 ? FS_RELEASE_PUBLIC
                                                                     : FS_RELEASE_DP, mechanism);
}

size_t fs_ledger_nreleases(const fs_ledger *l) { return l->nrel; }

int fs_ledger_release(const fs_ledger *l, size_t i, const char **name, const char **mechanism)
{
    if (i >= l->nrel) return -1;
    if (name) *name = l->rel[i].name;
    if (mechanism) *mechanism = l->rel[i].mechanism;
    return 0;
}

fs_release_class fs_ledger_release_class(const fs_ledger *l, size_t i)
{
    return i < l->nrel ? l->rel[i].cls : FS_RELEASE_PUBLIC;
}

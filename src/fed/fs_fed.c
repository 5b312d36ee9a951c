/*
 * fs_fed.c - the federation object (see fs_fed.h): private communicator,
 * this rank's shard, the sum session, the end-of-round consistency check,
 * progress and stop state of a run.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include "fed/fs_fed_impl.h"
#include "crypto/fs_crypto_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_file.h"

// ---------------------------------------------------------------- run control

fs_err fs_run_ctl_create(fs_run_ctl **out)
{
    fs_err rc = fs_zalloc(out, 1, sizeof **out, "run control");
    if (rc == FS_OK) {
        (*out)->progress_ns = -1;
        (*out)->progress_phase = "idle";
    }
    return rc;
}

void fs_run_ctl_destroy(fs_run_ctl **c)
{
    if (!c || !*c) return;
    free(*c);
    *c = NULL;
}

void fs_run_ctl_request_stop(fs_run_ctl *c)
{
    if (c) c->stop = 1;
}

double fs_run_ctl_progress(const fs_run_ctl *c, const char **phase, int *round)
{
    long long ns = c ? c->progress_ns : -1;
    if (phase) *phase = c ? c->progress_phase : "idle";
    if (round) *round = c ? c->progress_round : 0;
    if (ns < 0) return -1.0;
    return fs_now() - (double)ns * 1e-9;
}

void fs_run_ctl_local_progress(const fs_run_ctl *c, long *done, long *total)
{
    long t = c ? c->local_total : 0;
    if (done) *done = t ? c->local_done : 0;
    if (total) *total = t;
}

void fs_fed_mark(fs_fed *fed, const char *phase, int round)
{
    fs_run_ctl *c = fed->ctl;
    if (!c) return;
    c->progress_phase = phase;
    c->progress_round = round;
    c->progress_ns = (long long)(fs_now() * 1e9);
}

void fs_fed_local_progress(fs_fed *fed, long done, long total)
{
    if (!fed->ctl) return;
    fed->ctl->local_done = done;
    fed->ctl->local_total = total;
}

// ---------------------------------------------------------------- open

/*
 * Rank-local: the job's members.  Without --exclude rank i is roster entry
 * i (or there is no roster).  With --exclude the members are the roster's
 * other institutions in roster order, one per rank.  --membership elastic
 * and --exclude refuse jobs below --min-institutions.  Every input here is
 * public and the same on every rank, so every rank reaches the same verdict.
 */
static fs_err resolve_members(fs_fed *fed)
{
    fs_err rc = FS_OK;
    const fs_fed_opts *o = fed->o;
    const char *ex = o->exclude ? o->exclude : "";
    char name[64];
    int *excluded = NULL;
    FS_TRY(fs_alloc(&fed->members, (size_t)fed->size, sizeof *fed->members, "member map"));
    for (int r = 0; r < fed->size; r++) fed->members[r] = r;
    const int elastic = o->membership == FS_MEMBERSHIP_ELASTIC;
    if (!ex[0] && !elastic) goto done;
    if (!fed->roster) FS_TRY(fs_roster_load(o->roster, &fed->roster));
    const int count = fs_roster_count(fed->roster);
    FS_TRY(fs_zalloc(&excluded, (size_t)count, sizeof *excluded, "member map"));
    int nex = 0;
    for (const char *p = ex; *p;) {
        const size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof name)
            FS_FAIL(FS_ERR_ARG, "--exclude '%.200s': expected comma-separated institution names",
                    ex);
        memcpy(name, p, len);
        name[len] = 0;
        const int e = fs_roster_find(fed->roster, name);
        if (e < 0)
            FS_FAIL(FS_ERR_ARG, "--exclude: '%s' is not an institution of the roster %s", name,
                    o->roster);
        if (!excluded[e]) nex++;
        excluded[e] = 1;
        p += len + (p[len] == ',');
    }
    if (count - nex != fed->size)
        FS_FAIL(FS_ERR_ARG, "the roster %s lists %d institutions and --exclude removes %d, "
                "leaving %d, but the job has %d ranks", o->roster, count, nex, count - nex,
                fed->size);
    for (int e = 0, r = 0; e < count; e++)
        if (!excluded[e]) fed->members[r++] = e;
    fed->member_map = nex > 0;
    if (fed->size < o->min_institutions)
        FS_FAIL(FS_ERR_ARG, "the job has %d institutions, fewer than --min-institutions %d: "
                "with fewer members each sum says more about each of them", fed->size,
                o->min_institutions);
done:
    free(excluded);
    return rc;
}

/*
 * Rank-local: this rank's shard path, from the --data pattern ('%d' = the
 * roster index of this rank's institution) or, without one, from the
 * roster's data = path.  With --data, a roster that does not load is
 * reported later by the key setup (and the ownership check is skipped);
 * without --data the roster is needed here.
 */
static fs_err resolve_shard(fs_fed *fed)
{
    const fs_fed_opts *o = fed->o;
    const int entry = fed->members[fed->rank];
    fs_err local = FS_OK;
    if (!o->data[0] && !o->roster[0])
        return fs_error_set(FS_ERR_ARG, "no data source: give --data 'dir/site-%%d.h5' (or a "
                            "--roster whose institutions have data = paths)");
    if (o->roster[0] && !fed->roster) {
        local = fs_roster_load(o->roster, &fed->roster);
        if (local != FS_OK && o->data[0]) local = FS_OK;
    }
    if (o->data[0]) return fs_path_expand_rank(fed->shard_path, sizeof fed->shard_path, o->data,
                                               entry);
    if (local != FS_OK) return local;
    const fs_roster *ros = fed->roster;
    if (entry >= fs_roster_count(ros))
        return fs_error_set(FS_ERR_ARG, "roster %s has no institution with rank %d", o->roster,
                            entry);
    if (!fs_roster_data_path(ros, entry))
        return fs_error_set(FS_ERR_ARG, "no --data given and the roster entry of '%s' (rank %d) "
                            "in %s has no data = path", fs_roster_name(ros, entry), fed->rank,
                            o->roster);
    snprintf(fed->shard_path, sizeof fed->shard_path, "%.3800s",
             fs_roster_data_path(ros, entry));
    return FS_OK;
}

/*
 * A shard that does not load: the reader's message names the file, and
 * maybe a row, a column and a cell value, so it stays in this rank's log
 * (the detail) and the agreed message gives only the kind of file and the
 * class of problem.
 */
static fs_err shard_error(fs_err code, const char *part)
{
    const char *what = code == FS_ERR_IO ? "could not be read"
                     : code == FS_ERR_NOMEM ? "does not fit in memory"
                     : "is malformed or holds invalid values";
    return fs_error_privatize(code, "its %s shard (the --data file or roster data = path of "
                              "this institution) %s; the detail (file, row, value) is in this "
                              "institution's own log", part, what);
}

fs_err fs_fed_open(MPI_Comm comm, const fs_fed_open_opts *oo, fs_fed **out)
{
    fs_err rc = FS_OK, local = FS_OK;
    fs_fed *fed = NULL;
    *out = NULL;
    if (oo->ctl) {
        /* a new run: fresh progress, but a pending stop request stays */
        oo->ctl->local_done = oo->ctl->local_total = 0;
        oo->ctl->progress_round = 0;
        oo->ctl->progress_phase = "startup";
        oo->ctl->progress_ns = (long long)(fs_now() * 1e9);
    }
    /* Before the private communicator exists, an allocation failure can
     * only be agreed on the caller's communicator. */
    local = fs_zalloc(&fed, 1, sizeof *fed, "federation");
    if (local == FS_OK) {
        fed->comm = MPI_COMM_NULL;
        local = fs_ledger_create(&fed->ledger);
    }
    rc = fs_agree(comm, local, NULL);
    if (rc != FS_OK) goto done;
    fed->cfg = oo->cfg;
    fed->o = oo->fed;
    fed->ctl = oo->ctl;
    int mrc = MPI_Comm_dup(comm, &fed->comm);
    if (mrc != MPI_SUCCESS) {
        fed->comm = MPI_COMM_NULL;
        FS_FAIL(FS_ERR_MPI, "MPI_Comm_dup failed");
    }
    MPI_Comm_set_errhandler(fed->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(fed->comm, &fed->rank);
    MPI_Comm_size(fed->comm, &fed->size);

    /* collective: the caller's status (options), then the configuration */
    FS_TRY(fs_agree(fed->comm, oo->pending, NULL));
    if (fed->cfg && (oo->preflight & FS_PREFLIGHT_CONFIG)) FS_TRY(fs_preflight_config(fed));

    /* collective: the run directory (rank 0) */
    if (oo->run_dir) {
        local = strlen(fed->o->out) < 3800 ? FS_OK
              : fs_error_set(FS_ERR_ARG, "--out path is longer than 3800 bytes");
        FS_TRY(fs_agree(fed->comm, local, NULL));
        snprintf(fed->out_dir, sizeof fed->out_dir, "%s", fed->o->out);
        FS_TRY(fs_rundir_create(fed));
    }

    /* rank-local: the members, this institution's shard and the parts asked for */
    local = resolve_members(fed);
    FS_TRY(fs_agree(fed->comm, local, NULL));
    local = oo->read ? resolve_shard(fed) : FS_OK;
    const unsigned rflags = (oo->read & FS_FED_READ_ALLOW_MISSING) ? FS_READ_ALLOW_MISSING : 0;
    if (local == FS_OK && (oo->read & FS_FED_READ_TRAIN)) {
        local = fs_dataset_read_ex(fed->shard_path, FS_PART_TRAIN, rflags, &fed->train);
        if (local != FS_OK) local = shard_error(local, "training");
    }
    if (local == FS_OK && (oo->read & FS_FED_READ_VALIDATION)) {
        local = fs_dataset_read_ex(fed->shard_path, FS_PART_VALIDATION, rflags, &fed->val);
        if (local != FS_OK) local = shard_error(local, "validation");
    }
    FS_TRY(fs_agree(fed->comm, local, NULL));
    FS_TRY(fs_preflight_shards(fed, oo->preflight));
    *out = fed;
    fed = NULL;
done:
    fs_fed_close(&fed);
    return rc;
}

fs_err fs_fed_connect(fs_fed *fed)
{
    fs_err rc = FS_OK, local = FS_OK;
    const fs_fed_opts *o = fed->o;
    char idpath[4096];
    fs_agg_opts ao;
    memset(&ao, 0, sizeof ao);
    fs_fed_mark(fed, "key setup", 0);
    ao.mode = o->aggregation;
    fs_secagg_opts_default(&ao.sa, fed->size);
    ao.sa.vec.ring_bits = o->ring_bits;
    ao.sa.vec.clip = o->clip;
    ao.sa.vec.rounding = o->rounding;
    ao.sa.vec.frac_bits = o->frac_bits;   /* < 0: the largest that fits */
    ao.sa.mask_degree = o->mask_degree;
    ao.sa.roster_path = o->roster;
    ao.sa.allow_unauthenticated = o->insecure_no_auth;
    ao.sa.rounding_seed = o->seed;
    local = fs_path_expand_rank(idpath, sizeof idpath, o->identity, fed->members[fed->rank]);
    ao.sa.identity_path = idpath;
    ao.sa.members = fed->member_map ? fed->members : NULL;
    FS_TRY(fs_agree(fed->comm, local, NULL));
    FS_TRY(fs_agg_create(fed->comm, &ao, &fed->agg));  /* collective: key setup */
done:
    return rc;
}

void fs_fed_close(fs_fed **pf)
{
    if (!pf || !*pf) return;
    fs_fed *fed = *pf;
    fs_agg_destroy(&fed->agg);
    fs_roster_destroy(&fed->roster);
    free(fed->members);
    fs_dataset_destroy(&fed->train);
    fs_dataset_destroy(&fed->val);
    fs_ledger_destroy(&fed->ledger);
    if (fed->comm != MPI_COMM_NULL) MPI_Comm_free(&fed->comm);
    if (fed->ctl) {
        fed->ctl->progress_ns = -1;
        fed->ctl->progress_phase = "idle";
        fed->ctl->local_total = 0;
    }
    free(fed);
    *pf = NULL;
}

// ---------------------------------------------------------------- collectives

enum { VERDICT_SUM_F32 = 1, VERDICT_SUM_F64 = 2, VERDICT_AGREE = 3, VERDICT_SUM_WORDS = 4 };

/*
 * Extend this round's verdict transcript with one collective's outcome:
 * T <- BLAKE2b-256(T || kind || round || vector id || n || code), fields
 * little-endian.  Every rank runs the same collectives with the same agreed
 * outcomes, so honest ranks hold the same T at the round end, where it
 * enters every round-end tag (a rank told "all OK" while another saw a
 * failure, or that ran other sums, does not verify).
 */
static void note_verdict(fs_fed *fed, uint32_t kind, uint64_t round, uint32_t vid, uint64_t n,
                         fs_err code)
{
    uint8_t rec[28], next[32];
    const uint64_t f[5] = { kind, round, vid, n, (uint64_t)(uint32_t)code };
    const int width[5] = { 4, 8, 4, 8, 4 };
    size_t off = 0;
    for (int k = 0; k < 5; k++)
        for (int b = 0; b < width[k]; b++) rec[off++] = (uint8_t)(f[k] >> (8 * b));
    /* the caller's message (and its agreed mark) survives a crypto failure */
    char keep[2048];
    const int agreed = fs_error_is_agreed();
    snprintf(keep, sizeof keep, "%s", fs_errmsg());
    if (fs_blake2b_keyed(next, sizeof next, NULL, 0, fed->verdicts, sizeof fed->verdicts, rec,
                         sizeof rec) == FS_OK) {
        memcpy(fed->verdicts, next, sizeof next);
        return;
    }
    fed->verdicts_bad = 1;
    if (keep[0]) fs_error_set(code, "%s", keep);
    else fs_error_clear();
    if (agreed) fs_error_mark_agreed();
}

/*
 * Called at the start of every agreement and cross-rank sum of the core:
 * each is progress for the watchdog of a program that marks few phases of
 * its own (stats, ridge, psi), so the progress clock restarts (the phase
 * stays).  Test hook (tests/cli/watchdog.sh): FEDSILO_TEST_STOP_RANK=K makes
 * rank K stop itself with SIGSTOP at its first agreement or sum after the
 * open, as a lost node looks to its peers (the process neither answers nor
 * exits).
 */
static void collective_begin(fs_fed *fed)
{
    if (fed->ctl && fed->ctl->progress_ns >= 0)
        fed->ctl->progress_ns = (long long)(fs_now() * 1e9);
    const char *v = getenv("FEDSILO_TEST_STOP_RANK");
    if (v && *v && atoi(v) == fed->rank) raise(SIGSTOP);
}

fs_err fs_fed_agree(fs_fed *fed, fs_err local)
{
    collective_begin(fed);
    fs_err rc = fs_agree(fed->comm, local, NULL);
    note_verdict(fed, VERDICT_AGREE, 0, 0, 0, rc);
    return rc;
}

fs_err fs_fed_sum_f32(fs_fed *fed, uint64_t round, uint32_t vid, const float *in, float *out,
                      size_t n, size_t *nclipped)
{
    if (!fed->agg) return fs_error_set(FS_ERR_ARG, "fs_fed_sum_f32 before fs_fed_connect");
    collective_begin(fed);
    fs_err rc = fs_ledger_check_sum(fed->ledger, vid, NULL);  /* same on every rank */
    if (rc != FS_OK) return rc;
    rc = fs_agg_sum_f32(fed->agg, round, vid, in, out, n, nclipped);
    note_verdict(fed, VERDICT_SUM_F32, round, vid, n, rc);
    return rc;
}

fs_err fs_fed_sum_f64(fs_fed *fed, uint64_t round, uint32_t vid, const double *in, double *out,
                      size_t n)
{
    if (!fed->agg) return fs_error_set(FS_ERR_ARG, "fs_fed_sum_f64 before fs_fed_connect");
    collective_begin(fed);
    fs_err rc = fs_ledger_check_sum(fed->ledger, vid, NULL);  /* same on every rank */
    if (rc != FS_OK) return rc;
    rc = fs_agg_sum_f64(fed->agg, round, vid, in, out, n);
    note_verdict(fed, VERDICT_SUM_F64, round, vid, n, rc);
    return rc;
}

fs_err fs_fed_sum_words(fs_fed *fed, uint64_t round, uint32_t vid, uint64_t *words, size_t n,
                        fs_err local)
{
    if (!fed->agg) return fs_error_set(FS_ERR_ARG, "fs_fed_sum_words before fs_fed_connect");
    collective_begin(fed);
    fs_err rc = fs_ledger_check_sum(fed->ledger, vid, NULL);  /* same on every rank */
    if (rc != FS_OK) return rc;
    fs_secagg *sa = fs_agg_secagg(fed->agg);
    if (sa) {
        if (fs_secagg_vec_params(sa)->ring_bits != 64)
            local = fs_error_set(FS_ERR_ARG, "fs_fed_sum_words needs a 64-bit ring session");
        rc = fs_secagg_sum_words(sa, round, vid, words, n, local);
    } else {
        rc = fs_agree(fed->comm, local, NULL);   /* plain: integer allreduce, mod 2^64 */
        if (rc == FS_OK && n > (size_t)INT_MAX)
            rc = fs_error_set(FS_ERR_ARG, "fs_fed_sum_words: %zu words", n);  /* same everywhere */
        if (rc == FS_OK) {
            int mrc = MPI_Allreduce(MPI_IN_PLACE, words, (int)n, MPI_UINT64_T, MPI_SUM, fed->comm);
            if (mrc != MPI_SUCCESS) rc = fs_from_mpi(mrc, "MPI_Allreduce (words)");
        }
    }
    note_verdict(fed, VERDICT_SUM_WORDS, round, vid, n, rc);
    return rc;
}

fs_err fs_fed_ledger_open(fs_fed *fed, long *ncharges)
{
    fs_err rc = FS_OK, local = FS_OK;
    char path[4200];
    long n = 0;
    *ncharges = 0;
    if (!fs_ledger_enabled(fed->ledger, FS_LEDGER_DPSGD) &&
        !fs_ledger_enabled(fed->ledger, FS_LEDGER_DDP))
        return FS_OK;  /* same on every rank: the accountants are public configuration */
    /* keyed by the institution (its roster index), not the MPI rank: an
     * institution's budget continues when others leave or it rejoins */
    int len = snprintf(path, sizeof path, "%s/privacy-ledger-rank%d.txt", fed->out_dir,
                       fed->members[fed->rank]);
    local = len > 0 && (size_t)len < sizeof path ? FS_OK
          : fs_error_set(FS_ERR_ARG, "run directory path too long for the privacy ledger");
    if (local == FS_OK) local = fs_mkdir_p(fed->out_dir);  /* a rank without rank 0's disk */
    if (local == FS_OK) local = fs_ledger_journal_open(fed->ledger, path, &n);
    FS_TRY(fs_agree(fed->comm, local, NULL));
    /* Each rank charges before the agreement that precedes a round's sum,
     * so a crash can leave one rank a record ahead of another, for a round
     * that was never summed.  Nothing is ever dropped from a journal (a
     * peer could otherwise make an institution forget rounds that did
     * release its data): a rank behind charges the missing rounds again,
     * which over-counts, never under-counts.  More than one round apart is
     * not a crash: refused. */
    long mm[2] = { -n, n };
    int mrc = MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_LONG, MPI_MAX, fed->comm);
    if (mrc != MPI_SUCCESS) {
        rc = fs_from_mpi(mrc, "MPI_Allreduce (privacy ledger)");
        goto done;
    }
    const long lo = -mm[0], hi = mm[1];
    if (hi - lo > 1 && fed->o->membership == FS_MEMBERSHIP_ELASTIC)
        FS_FAIL(FS_ERR_DATA, "the institutions' privacy ledger files in %s hold between %ld and "
                "%ld charged rounds: an institution rejoining after rounds it missed would have a "
                "budget of its own, but the run's accountants (and its stopping rule) are one per "
                "federation; rejoining under DP is not supported (start a new --out)",
                fed->out_dir, lo, hi);  /* the same on every rank: from one allreduce */
    if (hi - lo > 1)
        FS_FAIL(FS_ERR_DATA, "the institutions' privacy ledger files in %s hold between %ld and "
                "%ld charged rounds: more than a crash can explain (a file was removed or "
                "replaced?); refusing to continue with a budget that cannot be trusted",
                fed->out_dir, lo, hi);  /* the same on every rank: from one allreduce */
    local = FS_OK;
    if (n < hi) {
        fs_log(FS_LOG_WARN, "rank %d: privacy ledger %s holds %ld charged rounds, another "
               "institution's %ld (a crash between their records): the missing round is charged "
               "here too", fed->rank, path, n, hi);
        local = fs_ledger_charge_round(fed->ledger);
    }
    FS_TRY(fs_agree(fed->comm, local, NULL));
    *ncharges = hi;
done:
    return rc;
}

/*
 * The round-end message of rank i to rank j (docs/protocol.md, "Round end"):
 * D_i (32-byte BLAKE2b-256 digest of i's global model) || stop_i (1 byte)
 * || 7 zero bytes || tag_ij, with
 *   tag_ij = BLAKE2b-256(K_ij; RE_LABEL || sid || round || i || j || T_i ||
 *                              D_i || stop_i || zeros)
 * K_ij = fs_secagg_pair_key(sa, j, "fedsilo round-end") (HKDF from the
 * authenticated DH of i and j, bound to the session id), T_i = i's verdict
 * transcript of the round.  The receiver j recomputes the tag with its own
 * T_j, so a tag verifies only if the message is i's, for this session,
 * round and direction, and i saw the same verdicts as j.
 */
#define RE_LABEL "fedsilo round-end v1"
#define RE_BODY 40                 /* digest, stop byte, padding          */
#define RE_BYTES (RE_BODY + 32)    /* + tag                               */

static fs_err round_end_tag(fs_fed *fed, fs_secagg *sa, int from, int to, int round,
                            const uint8_t *body, uint8_t tag[32])
{
    uint8_t key[32], hdr[sizeof RE_LABEL + 32 + 8 + 4 + 4 + 32];
    size_t off = 0;
    memcpy(hdr, RE_LABEL, sizeof RE_LABEL); off += sizeof RE_LABEL;
    memcpy(hdr + off, fs_secagg_session_id(sa), 32); off += 32;
    for (int b = 0; b < 8; b++) hdr[off++] = (uint8_t)((uint64_t)(unsigned)round >> (8 * b));
    for (int b = 0; b < 4; b++) hdr[off++] = (uint8_t)((unsigned)from >> (8 * b));
    for (int b = 0; b < 4; b++) hdr[off++] = (uint8_t)((unsigned)to >> (8 * b));
    memcpy(hdr + off, fed->verdicts, 32); off += 32;
    fs_err rc = fs_secagg_pair_key(sa, from == fed->rank ? to : from, "fedsilo round-end", key);
    if (rc == FS_OK) rc = fs_blake2b_keyed(tag, 32, key, sizeof key, hdr, off, body, RE_BODY);
    fs_secure_zero(key, sizeof key);
    return rc;
}

/* " ('name')" of rank r's roster entry, or "" without a roster. */
static void peer_label(const fs_fed *fed, int r, char *out, size_t cap)
{
    out[0] = '\0';
    const int e = fed->members ? fed->members[r] : r;
    if (fed->roster && e >= 0 && e < fs_roster_count(fed->roster))
        snprintf(out, cap, " ('%s')", fs_roster_name(fed->roster, e));
}

/* Rank-local: check every peer's round-end message (recv, N blocks). */
static fs_err round_end_verify(fs_fed *fed, fs_secagg *sa, int round, const uint8_t *mine,
                               const uint8_t *recv, int *stop)
{
    uint8_t tag[32];
    char who[300];
    for (int j = 0; j < fed->size; j++) {
        if (j == fed->rank) continue;
        const uint8_t *b = recv + (size_t)j * RE_BYTES;
        fs_err rc = round_end_tag(fed, sa, j, fed->rank, round, b, tag);
        if (rc != FS_OK) return rc;
        peer_label(fed, j, who, sizeof who);
        if (!fs_secure_memeq(tag, b + RE_BODY, 32))
            return fs_error_set(FS_ERR_AUTH, "the round-end message of rank %d%s failed "
                                "authentication after round %d: the transport altered it, or "
                                "rank %d holds another global model or saw other sums or verdicts "
                                "this round; stopping before writing a checkpoint", j, who, round,
                                j);
        if (memcmp(b, mine, 32) != 0)
            return fs_error_set(FS_ERR_DATA, "global models diverged across ranks after round %d "
                                "(rank %d%s holds another model); stopping before writing a "
                                "checkpoint", round, j, who);
        *stop |= b[32] != 0;
    }
    return FS_OK;
}

/* Collective: the authenticated round end over the session's pair keys. */
static fs_err round_end_authenticated(fs_fed *fed, fs_secagg *sa, int round,
                                      const uint8_t digest[32], int *stop)
{
    fs_err rc = FS_OK, local = FS_OK;
    uint8_t *send = NULL, *recv = NULL;
    const size_t N = (size_t)fed->size;
    local = fs_zalloc(&send, N, RE_BYTES, "round-end messages");
    if (local == FS_OK) local = fs_zalloc(&recv, N, RE_BYTES, "round-end messages");
    for (int j = 0; j < fed->size && local == FS_OK; j++) {
        uint8_t *b = send + (size_t)j * RE_BYTES;
        memcpy(b, digest, 32);
        b[32] = (uint8_t)(*stop != 0);
        if (j != fed->rank) local = round_end_tag(fed, sa, fed->rank, j, round, b, b + RE_BODY);
    }
    FS_TRY(fs_agree(fed->comm, local, NULL));
    // collective: block j of send goes to rank j, block j of recv comes from it
    int mrc = MPI_Alltoall(send, RE_BYTES, MPI_BYTE, recv, RE_BYTES, MPI_BYTE, fed->comm);
    if (mrc != MPI_SUCCESS)
        FS_FAIL(fs_from_mpi(mrc, "MPI_Alltoall (round end)"), "%s", fs_errmsg());
    local = round_end_verify(fed, sa, round, digest, recv, stop);
    /* each detecting rank says so itself: the agreement below names one */
    if (local != FS_OK) fs_log(FS_LOG_WARN, "rank %d: %s", fed->rank, fs_errmsg());
    FS_TRY(fs_agree(fed->comm, local, NULL));
done:
    free(send);
    free(recv);
    return rc;
}

/* Collective: the unauthenticated round end of a session without pair keys
 * (plain aggregation): MAX of (h, ~h, t, ~t, stop) over the first 8 bytes h
 * of the model digest and t of the verdict transcript; max x and ~min x
 * differ iff some rank holds another value. */
static fs_err round_end_plain(fs_fed *fed, int round, const uint8_t digest[32], int *stop)
{
    uint64_t h = 0, t = 0;
    for (int b = 0; b < 8; b++) {
        h |= (uint64_t)digest[b] << (8 * b);
        t |= (uint64_t)fed->verdicts[b] << (8 * b);
    }
    uint64_t v[5] = { h, ~h, t, ~t, (uint64_t)(*stop != 0) };
    int mrc = MPI_Allreduce(MPI_IN_PLACE, v, 5, MPI_UINT64_T, MPI_MAX, fed->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Allreduce (model hash)");
    if (v[0] != ~v[1])
        return fs_error_set(FS_ERR_DATA, "global models diverged across ranks after round %d "
                            "(model hashes differ); stopping before writing a checkpoint", round);
    if (v[2] != ~v[3])
        return fs_error_set(FS_ERR_DATA, "ranks saw different sums or verdicts in round %d; "
                            "stopping before writing a checkpoint", round);
    *stop = v[4] != 0;
    return FS_OK;
}

/* Collective: the round end of a model with digest `digest` (above). */
static fs_err round_end_digest(fs_fed *fed, int round, const uint8_t digest[32], fs_err local,
                               int *stop)
{
    fs_err rc = FS_OK;
    int st = fed->ctl && fed->ctl->stop;
    if (local == FS_OK && fed->verdicts_bad)
        local = fs_error_set(FS_ERR_CRYPTO, "the verdict transcript of round %d is incomplete",
                             round);
    FS_TRY(fs_agree(fed->comm, local, NULL));
    fs_secagg *sa = fs_fed_secagg(fed);   /* same on every rank: the aggregation mode */
    if (sa) FS_TRY(round_end_authenticated(fed, sa, round, digest, &st));
    else FS_TRY(round_end_plain(fed, round, digest, &st));
    *stop = st;
done:
    memset(fed->verdicts, 0, sizeof fed->verdicts);   /* the next round's transcript */
    fed->verdicts_bad = 0;
    return rc;
}

fs_err fs_fed_round_end(fs_fed *fed, int round, const float *params, size_t n, int *stop)
{
    uint8_t digest[32];
    fs_err local = fs_blake2b_keyed(digest, sizeof digest, NULL, 0, params, n * sizeof *params,
                                    NULL, 0);
    return round_end_digest(fed, round, digest, local, stop);
}

fs_err fs_fed_round_end_hash(fs_fed *fed, int round, uint64_t h, int *stop)
{
    uint8_t le[8], digest[32];
    for (int b = 0; b < 8; b++) le[b] = (uint8_t)(h >> (8 * b));
    fs_err local = fs_blake2b_keyed(digest, sizeof digest, NULL, 0, le, sizeof le, NULL, 0);
    return round_end_digest(fed, round, digest, local, stop);
}

// ---------------------------------------------------------------- accessors

MPI_Comm fs_fed_comm(const fs_fed *fed) { return fed->comm; }
int fs_fed_rank(const fs_fed *fed) { return fed->rank; }
int fs_fed_size(const fs_fed *fed) { return fed->size; }
const fs_fed_opts *fs_fed_options(const fs_fed *fed) { return fed->o; }
const char *fs_fed_shard_path(const fs_fed *fed) { return fed->shard_path; }
fs_dataset *fs_fed_train_part(fs_fed *fed) { return fed->train; }
fs_dataset *fs_fed_validation_part(fs_fed *fed) { return fed->val; }
const fs_roster *fs_fed_roster(const fs_fed *fed) { return fed->roster; }
fs_secagg *fs_fed_secagg(fs_fed *fed) { return fed->agg ? fs_agg_secagg(fed->agg) : NULL; }
double fs_fed_setup_seconds(const fs_fed *fed) { return fed->agg ? fs_agg_setup_seconds(fed->agg) : 0; }
fs_ledger *fs_fed_ledger(fs_fed *fed) { return fed->ledger; }
uint64_t fs_fed_config_hash(const fs_fed *fed) { return fed->config_hash; }
int fs_fed_member(const fs_fed *fed, int rank) { return fed->members[rank]; }

const char *fs_fed_member_name(const fs_fed *fed, int rank)
{
    if (!fed->roster || (!fed->member_map && fs_roster_count(fed->roster) != fed->size))
        return NULL;
    return fs_roster_name(fed->roster, fed->members[rank]);
}

const char *fs_fed_aggregation_name(const fs_fed *fed)
{
    return fed->o->aggregation == FS_AGG_PLAIN ? "plain" : "secure";
}

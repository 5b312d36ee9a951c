/*
 * fs_preflight.c - pre-flight agreement of the federation core (see the
 * FS_PREFLIGHT_* items of fs_fed.h).  Every check is collective, sends
 * only public metadata across ranks (never another institution's row
 * count, path or values), and ends in one fs_agree, so a mismatch stops
 * every rank with one message naming the rank and the problem.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "fed/fs_fed_impl.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_schema.h"

fs_err fs_preflight_config(fs_fed *st)
{
    st->config_hash = fs_config_hash(st->cfg);
    uint64_t h0 = st->config_hash;
    int mrc = MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast (config hash)");
    fs_err local = FS_OK;
    if (h0 != st->config_hash)
        local = fs_error_set(FS_ERR_ARG, "effective configuration differs from rank 0's "
                             "(compare OUT/config.ini with this rank's flags and config file)");
    return fs_agree(st->comm, local, NULL);
}

/*
 * Collective.  The public shape of the training part: rank 0 broadcasts
 * (d, task, num_classes); every rank compares its shard and names itself
 * and its file on mismatch.
 */
static fs_err check_shape(fs_fed *st)
{
    long meta[3] = { (long)st->train->d, (long)st->train->task, st->train->num_classes };
    long ref[3] = { meta[0], meta[1], meta[2] };
    /* Only public metadata crosses ranks: not rank 0's row count or path. */
    const char *ref_path = "shard";
    int mrc = MPI_Bcast(ref, 3, MPI_LONG, 0, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast (shard metadata)");
    fs_err local = FS_OK;
    static const char *tn[] = { "classification", "regression" };
    /* Public: feature and class counts, the task.  This rank's path is
     * its own configuration: in its log only (the detail). */
    if (meta[0] != ref[0])
        local = fs_error_set(FS_ERR_DATA, "shard mismatch: its training shard has %ld features "
                             "but rank 0's %s has %ld", meta[0], ref_path, ref[0]);
    else if (meta[1] != ref[1])
        local = fs_error_set(FS_ERR_DATA, "shard mismatch: its training shard is a %s task but "
                             "rank 0's %s is %s", tn[meta[1] != 0], ref_path, tn[ref[1] != 0]);
    else if (meta[2] != ref[2])
        local = fs_error_set(FS_ERR_DATA, "shard mismatch: its training shard has %ld classes "
                             "but rank 0's %s has %ld", meta[2], ref_path, ref[2]);
    else if (st->val && (st->val->d != st->train->d))
        local = fs_error_set(FS_ERR_DATA, "its shard's validation part has %zu features, the "
                             "training part %zu", st->val->d, st->train->d);
    if (local != FS_OK) fs_error_detail(local, "the shard is %s", st->shard_path);
    return fs_agree(st->comm, local, NULL);
}

/* Not collective.  1 if paths a and b name the same file on this host:
 * equal realpath(3), or the same (device, inode) (a hard link).  0 if
 * either does not resolve here. */
static int same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    struct stat sa, sb;
    if (!realpath(a, ra) || !realpath(b, rb)) return 0;
    if (strcmp(ra, rb) == 0) return 1;
    return stat(ra, &sa) == 0 && stat(rb, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Collective.  node_of[j] (size entries, caller-allocated) receives an id
 * of the shared-memory node of rank j (the lowest rank on that node), the
 * same on every rank.  Returns FS_OK or FS_ERR_MPI (communicator broken).
 */
static fs_err node_map(fs_fed *st, int *node_of)
{
    MPI_Comm node = MPI_COMM_NULL;
    int leader = st->rank;
    int mrc = MPI_Comm_split_type(st->comm, MPI_COMM_TYPE_SHARED, st->rank, MPI_INFO_NULL, &node);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Comm_split_type (node map)");
    mrc = MPI_Bcast(&leader, 1, MPI_INT, 0, node);  /* node rank 0 = lowest rank of the node */
    MPI_Comm_free(&node);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast (node map)");
    mrc = MPI_Allgather(&leader, 1, MPI_INT, node_of, 1, MPI_INT, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Allgather (node map)");
    return FS_OK;
}

/*
 * Collective.  Shard ownership (docs/security.md, "Shard ownership"): with
 * a roster, rank R is the institution the roster names for rank R, and it
 * must not read another roster member's data.  Refused (FS_ERR_DATA on
 * every rank, the message of the lowest failing rank):
 *   1. the shard's `institution` attribute is the name of a DIFFERENT
 *      roster member (a name that is no roster member is allowed: users
 *      name roster entries freely, fedsilo split writes site-<i>);
 *   2. the shard is the same file (realpath or inode) as the data = path
 *      of another roster member, unless that member runs on another node
 *      and its data = string equals this rank's own data = string (one
 *      site-local path convention on separate file systems, which a rank
 *      cannot tell apart from a shared file).
 * Nothing crosses ranks but the node map (which ranks share a node).
 * Without a roster, or when the roster does not load or does not match the
 * job size (the key setup reports those), only the node map is exchanged.
 */
static fs_err check_shard_owner(fs_fed *st)
{
    fs_err rc = FS_OK, local = FS_OK;
    int *node_of = NULL;
    if (!st->o->roster[0]) return FS_OK;  /* same branch on every rank */
    local = fs_alloc(&node_of, (size_t)st->size, sizeof *node_of, "node map");
    FS_TRY(fs_agree(st->comm, local, NULL));
    FS_TRY(node_map(st, node_of));  /* collective */
    const fs_roster *ros = st->roster;
    if (ros && (st->member_map || fs_roster_count(ros) == st->size)) {
        const char *roster_path = st->o->roster;
        const int mine = st->members[st->rank];
        const char *me = fs_roster_name(ros, mine);
        const char *inst = st->train->institution;
        const char *my_data = fs_roster_data_path(ros, mine);
        int owner = inst ? fs_roster_find(ros, inst) : -1;
        if (owner >= 0 && owner != mine) {
            local = fs_error_set(FS_ERR_DATA, "its shard is the shard of institution '%s' "
                                 "(its institution attribute; rank %d in the roster) but rank %d is "
                                 "'%s' in the roster", inst, owner, st->rank, me);
            fs_error_detail(local, "the shard is %s, the roster %s", st->shard_path, roster_path);
        }
        /* every roster entry, members or not: an excluded institution's
         * shard is no more this rank's than a member's */
        for (int e = 0, j = 0; local == FS_OK && e < fs_roster_count(ros); e++) {
            while (j < st->size && st->members[j] < e) j++;
            const int rank_of_e = j < st->size && st->members[j] == e ? j : -1;
            const char *dj = fs_roster_data_path(ros, e);
            if (e == mine || !dj || !same_file(st->shard_path, dj)) continue;
            /* a site-local path convention: the same data = string on another
             * node (or at an institution outside the job, whose node is unknown) */
            const int elsewhere = rank_of_e < 0 || node_of[rank_of_e] != node_of[st->rank];
            if (elsewhere && my_data && strcmp(dj, my_data) == 0) continue;
            local = fs_error_set(FS_ERR_DATA, "its shard is the shard of institution '%s' "
                                 "(its data = path in the roster) but rank %d is '%s' in the "
                                 "roster", fs_roster_name(ros, e), st->rank, me);
            fs_error_detail(local, "the shard %s is the roster's data = %s, roster %s",
                            st->shard_path, dj, roster_path);
        }
    }
    FS_TRY(fs_agree(st->comm, local, NULL));
done:
    free(node_of);
    return rc;
}

/* Not collective.  How messages name this institution: its roster name
 * when a roster of the job's size is loaded, else its rank alone (fs_agree
 * adds the rank). */
static const char *self_name(const fs_fed *st, char *buf, size_t cap)
{
    if (fs_fed_member_name(st, st->rank))
        snprintf(buf, cap, "institution '%s'", fs_fed_member_name(st, st->rank));
    else
        snprintf(buf, cap, "this institution");
    return buf;
}

/* Not collective.  SHA-256 of the class-name list (count, then each name
 * with its length), or all zeros when the shard carries no class names. */
static fs_err vocabulary_digest(const fs_dataset *ds, uint8_t out[32])
{
    memset(out, 0, 32);
    if (!ds->class_names) return FS_OK;
    size_t len = 8;
    for (int k = 0; k < ds->num_classes; k++) len += 8 + strlen(ds->class_names[k]);
    uint8_t *buf = NULL;
    fs_err rc = fs_alloc(&buf, len, 1, "class-name digest");
    if (rc != FS_OK) return rc;
    size_t off = 0;
    uint64_t v = (uint64_t)ds->num_classes;
    memcpy(buf + off, &v, 8);
    off += 8;
    for (int k = 0; k < ds->num_classes; k++) {
        v = strlen(ds->class_names[k]);
        memcpy(buf + off, &v, 8);
        memcpy(buf + off + 8, ds->class_names[k], v);
        off += 8 + v;
    }
    rc = fs_sha256(buf, len, out);
    free(buf);
    return rc;
}

/*
 * Collective.  The schema item: rank 0 broadcasts (has schema, its 64-hex
 * canonical hash, the digest of its class-name list); every rank compares.
 * Only these public values cross ranks: the schema is public by design,
 * and the class names are compared as a SHA-256 digest, never sent.
 * Refused: a shard with a schema when rank 0's has none or the reverse; a
 * different schema hash; a different label vocabulary (class names, their
 * order included: the same labels encoded differently), or class names on
 * one side only.  The validation part was checked against the same file's
 * schema when it was read.
 */
static fs_err check_schema(fs_fed *st)
{
    struct {
        char hash[FS_SCHEMA_HASHHEX + 1];  /* "" without a schema */
        uint8_t vocab[32];
        int has_vocab;
    } me, ref;
    char who[300];
    memset(&me, 0, sizeof me);
    fs_err local = FS_OK;
    if (st->train->schema_hash)
        snprintf(me.hash, sizeof me.hash, "%.64s", st->train->schema_hash);
    me.has_vocab = st->train->class_names != NULL;
    local = vocabulary_digest(st->train, me.vocab);
    fs_err rc = fs_agree(st->comm, local, NULL);
    if (rc != FS_OK) return rc;
    ref = me;
    int mrc = MPI_Bcast(&ref, (int)sizeof ref, MPI_BYTE, 0, st->comm);
    if (mrc != MPI_SUCCESS) return fs_from_mpi(mrc, "MPI_Bcast (schema hash)");
    self_name(st, who, sizeof who);
    if (!me.hash[0] != !ref.hash[0])
        local = fs_error_set(FS_ERR_DATA, "%s: schema differs from rank 0's: this shard was "
                             "imported %s a consortium schema and rank 0's %s; import every "
                             "site's table with the same schema (import csv --schema)", who,
                             me.hash[0] ? "with" : "without", me.hash[0] ? "without" : "with");
    else if (strcmp(me.hash, ref.hash) != 0)
        local = fs_error_set(FS_ERR_DATA, "%s: schema differs from rank 0's (schema hash "
                             "%.16s... here, %.16s... at rank 0): import every site's table "
                             "with the one agreed schema file", who, me.hash, ref.hash);
    else if (me.has_vocab != ref.has_vocab || memcmp(me.vocab, ref.vocab, 32) != 0)
        local = fs_error_set(FS_ERR_DATA, "%s: label vocabulary differs from rank 0's (the "
                             "class names or their order differ, so the same label would get "
                             "different class numbers); import every site's table with one "
                             "schema that lists the classes (import csv --schema)", who);
    return fs_agree(st->comm, local, NULL);
}

fs_err fs_preflight_shards(fs_fed *st, unsigned items)
{
    fs_err rc = FS_OK;
    if ((items & FS_PREFLIGHT_OWNER) && st->train) FS_TRY(check_shard_owner(st));
    if ((items & FS_PREFLIGHT_SHAPE) && st->train) FS_TRY(check_shape(st));
    if ((items & FS_PREFLIGHT_SCHEMA) && st->train) FS_TRY(check_schema(st));
done:
    return rc;
}

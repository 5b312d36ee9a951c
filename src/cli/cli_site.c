/*
 * cli_site.c - one job per site: separately launched mpirun/srun jobs
 * ("sites") join one federation through MPI's dynamic-process interface
 * (see fs_cli_site_join in cli.h and docs/hpc.md, "One job per site").
 *
 * Protocol.  The roster lists the federation's N members (its institutions
 * minus --exclude); each site runs some of them, one per rank of its own
 * MPI_COMM_WORLD (--site NAME[,NAME...] in world-rank order).  The site
 * running the first member in roster order opens a port (world rank 0) and
 * publishes it under the --site-rendezvous service name on the ompi-server
 * every site's mpirun was started with (--ompi-server).  Every other site
 * looks the name up (polling until the deadline) and connects.  The group
 * formed so far repeatedly runs MPI_Comm_accept collectively (root 0: the
 * publisher, which holds the port) and MPI_Intercomm_merge with the next
 * site, whichever arrives first; after every merge all ranks allgather
 * their member indices, so each knows how many members have joined and
 * whether to accept again.  When all N are in, MPI_Comm_split with key =
 * member index orders the ranks exactly like a single `mpirun -np N` job;
 * that communicator replaces the duplicate of MPI_COMM_WORLD.
 *
 * Nothing here authenticates anyone: a rank's claimed name only decides its
 * rank.  The roster hash and the authenticated key setup that follow
 * (Ed25519-signed DH values checked against the roster's key of that rank)
 * are what bind a rank to its institution; a site claiming another's name
 * fails there.
 *
 * Deadline.  MPI_Comm_accept/connect block without a timeout, so a helper
 * thread ends the process with status 1 and a message naming the members
 * that have not joined once --site-timeout seconds have passed; the main
 * thread only updates the shared state.  The one MPI call the helper makes
 * (MPI is initialized with MPI_THREAD_MULTIPLE for --site-rendezvous) is
 * the publisher's MPI_Unpublish_name before it gives up.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"

/* State shared by the joining main thread and the deadline thread. */
typedef struct {
    pthread_mutex_t mu;
    const char *cmd, *service;
    const fs_roster *roster;
    const int *members;      /* member index -> roster index            */
    int nmembers;
    char *joined;            /* joined[k]: member k is in the group     */
    int done;                /* the rendezvous finished (ok or not)     */
    int found;               /* this site looked the port up            */
    int published;           /* this rank published `port` (world rank 0 of
                                the publishing site)                      */
    int unpublish_in_thread; /* MPI_THREAD_MULTIPLE: the deadline thread may
                                unpublish while the main thread blocks     */
    volatile int unpublished;
    char port[MPI_MAX_PORT_NAME];
    int rank;                /* this process's world rank               */
    const char *self;        /* this rank's institution name            */
    long timeout;
    struct timespec start;
} site_wait;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* Remove the stale publication of a publisher that gives up (see below). */
static void *unpublish_main(void *arg)
{
    site_wait *w = arg;
    MPI_Unpublish_name(w->service, MPI_INFO_NULL, w->port);
    w->unpublished = 1;
    return NULL;
}

static void *deadline_main(void *arg)
{
    site_wait *w = arg;
    for (;;) {
        struct timespec ts = { 0, 200000000L };
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&w->mu);
        if (w->done) { pthread_mutex_unlock(&w->mu); return NULL; }
        if (since(&w->start) >= (double)w->timeout) {
            char missing[512] = "";
            size_t len = 0;
            int nmiss = 0;
            /* Without member 0's site this rank cannot know who else is
             * running: name only the publisher. */
            for (int k = 0; k < (w->joined[0] ? w->nmembers : 1); k++) {
                if (w->joined[k]) continue;
                const char *name = fs_roster_name(w->roster, w->members[k]);
                if (len + strlen(name) + 8 < sizeof missing)
                    len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s",
                                            nmiss ? ", " : "", name);
                nmiss++;
            }
            const char *why = "";
            if (!w->joined[0] && w->found)
                why = " (its port was found under that name but the connection did not "
                      "complete: its host unreachable on Open MPI's TCP ports (firewall?), or "
                      "a publication left by an earlier attempt that ended before all sites "
                      "joined (then use a new --site-rendezvous name or restart ompi-server))";
            else if (!w->joined[0])
                why = " (it publishes the port: is that site running, and does every site's "
                      "mpirun use the same --ompi-server?)";
            fprintf(stderr, "fedsilo %s: error: rank %d (%s): site%s %s did not join within "
                    "%ld s via rendezvous '%s'%s; ending this site (--site-timeout %ld)\n",
                    w->cmd, w->rank, w->self, nmiss > 1 ? "s" : "", missing, w->timeout,
                    w->service, why, w->timeout);
            fflush(stderr);
            /* Open MPI's name server keeps a name after its publisher
             * ends, and the next attempt's sites would find the dead
             * port: unpublish it (another thread, at most 2 s, since the
             * main thread holds MPI inside MPI_Comm_accept). */
            pthread_t un;
            if (w->published && w->unpublish_in_thread &&
                pthread_create(&un, NULL, unpublish_main, w) == 0) {
                for (int t = 0; t < 20 && !w->unpublished; t++) {
                    struct timespec ts2 = { 0, 100000000L };
                    nanosleep(&ts2, NULL);
                }
            }
            _exit(FS_EXIT_FAIL);
        }
        pthread_mutex_unlock(&w->mu);
    }
}

/* The members: roster indices not named in the comma-separated `exclude`. */
static int site_members(const char *cmd, const fs_roster *r, const char *exclude, int **out,
                        int *n)
{
    const int count = fs_roster_count(r);
    int *m = calloc((size_t)count, sizeof *m);
    if (!m) return fs_cli_fail(cmd, "out of memory");
    *n = 0;
    for (int i = 0; i < count; i++) {
        const char *name = fs_roster_name(r, i);
        const size_t len = strlen(name);
        int ex = 0;
        for (const char *p = exclude ? exclude : ""; *p && !ex;) {
            const char *c = strchr(p, ',');
            const size_t l = c ? (size_t)(c - p) : strlen(p);
            ex = l == len && !strncmp(p, name, len);
            p = c ? c + 1 : p + l;
        }
        if (!ex) m[(*n)++] = i;
    }
    *out = m;
    return 0;
}

/* Member index of roster name `name`, or -1. */
static int member_of(const fs_roster *r, const int *members, int n, const char *name)
{
    const int idx = fs_roster_find(r, name);
    for (int k = 0; k < n && idx >= 0; k++)
        if (members[k] == idx) return k;
    return -1;
}

/* This rank's name: the rank-th entry of the comma-separated list. */
static int nth_name(const char *list, int rank, char *out, size_t cap, int *count)
{
    int k = 0, found = 0;
    for (const char *p = list;; k++) {
        const char *c = strchr(p, ',');
        const size_t l = c ? (size_t)(c - p) : strlen(p);
        if (k == rank && l < cap) { memcpy(out, p, l); out[l] = 0; found = 1; }
        if (!c) break;
        p = c + 1;
    }
    *count = k + 1;
    return found;
}

static int site_mpi_fail(const char *cmd, int rank, const char *self, int mrc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(mrc, msg, &len);
    return fs_cli_fail(cmd, "rank %d (%s): %s failed while joining the federation: %s", rank,
                       self, what, msg);
}

/*
 * Not collective (world rank 0 of the publishing site): open a port and
 * publish it as `service`.  Open MPI 4.1 overwrites a published name
 * silently and keeps it after its publisher ends, so a name that is
 * already published is refused instead of hijacking another federation's
 * rendezvous.  Returns 0 or FS_EXIT_FAIL (printed).
 */
static int publish_port(const char *cmd, int rank, const char *self, const char *service,
                        char port[MPI_MAX_PORT_NAME])
{
    char old[MPI_MAX_PORT_NAME];
    int mrc = MPI_Open_port(MPI_INFO_NULL, port);
    if (mrc != MPI_SUCCESS) return site_mpi_fail(cmd, rank, self, mrc, "MPI_Open_port");
    if (MPI_Lookup_name(service, MPI_INFO_NULL, old) == MPI_SUCCESS) {
        MPI_Close_port(port);
        return fs_cli_fail(cmd, "rank %d (%s): the rendezvous name '%s' is already published on "
                           "the ompi-server (by another federation, or by an earlier attempt "
                           "that ended before all sites joined): use a new --site-rendezvous "
                           "name on every site, or restart ompi-server", rank, self, service);
    }
    if ((mrc = MPI_Publish_name(service, MPI_INFO_NULL, port)) != MPI_SUCCESS) {
        char msg[MPI_MAX_ERROR_STRING] = "";
        int len = 0;
        MPI_Error_string(mrc, msg, &len);
        MPI_Close_port(port);
        return fs_cli_fail(cmd, "rank %d (%s): cannot publish the rendezvous '%s' (%s): start "
                           "every site's mpirun with --ompi-server URI|file:FILE of one running "
                           "ompi-server", rank, self, service, msg);
    }
    return 0;
}

/*
 * Collective over the group so far: every rank contributes its member index;
 * marks them in w->joined, returns the number joined, or -1 (message printed
 * on every rank) if two ranks claim one member.
 */
static int record_joined(site_wait *w, MPI_Comm group, int key, int *mrc)
{
    int size = 0;
    MPI_Comm_size(group, &size);
    int *keys = malloc((size_t)size * sizeof *keys);
    if (!keys) { *mrc = MPI_ERR_NO_MEM; return -1; }
    *mrc = MPI_Allgather(&key, 1, MPI_INT, keys, 1, MPI_INT, group);
    int n = 0, dup = -1;
    pthread_mutex_lock(&w->mu);
    memset(w->joined, 0, (size_t)w->nmembers);
    for (int j = 0; *mrc == MPI_SUCCESS && j < size; j++) {
        if (w->joined[keys[j]]) dup = keys[j];
        w->joined[keys[j]] = 1;
    }
    for (int k = 0; k < w->nmembers; k++) n += w->joined[k];
    pthread_mutex_unlock(&w->mu);
    free(keys);
    if (*mrc != MPI_SUCCESS) return -1;
    if (dup >= 0) {
        fs_cli_fail(w->cmd, "rank %d (%s): two sites claim institution %s (--site): each roster "
                    "member may run in one site only", w->rank, w->self,
                    fs_roster_name(w->roster, w->members[dup]));
        return -1;
    }
    return n;
}

/* Replace *cur by the merge of *cur with the intercommunicator `inter`. */
static int merge_into(MPI_Comm *cur, MPI_Comm *inter, int high)
{
    MPI_Comm merged = MPI_COMM_NULL;
    int mrc = MPI_Intercomm_merge(*inter, high, &merged);
    MPI_Comm_free(inter);
    if (mrc != MPI_SUCCESS) return mrc;
    MPI_Comm_set_errhandler(merged, MPI_ERRORS_RETURN);
    MPI_Comm_free(cur);
    *cur = merged;
    return MPI_SUCCESS;
}

/*
 * Collective over *cur and the site behind *inter: after an MPI_Comm_connect
 * (high = 1) or MPI_Comm_accept (high = 0) that returned mrc, merge the two
 * groups into *cur and record who is in.  Returns the number of members
 * joined, or -1 after printing (MPI failure, or a name claimed twice).
 */
static int absorb(site_wait *w, int mrc, const char *what, MPI_Comm *cur, MPI_Comm *inter,
                  int high, int key)
{
    if (mrc != MPI_SUCCESS) {
        site_mpi_fail(w->cmd, w->rank, w->self, mrc, what);
        return -1;
    }
    MPI_Comm_set_errhandler(*inter, MPI_ERRORS_RETURN);
    if ((mrc = merge_into(cur, inter, high)) != MPI_SUCCESS) {
        site_mpi_fail(w->cmd, w->rank, w->self, mrc, "MPI_Intercomm_merge");
        return -1;
    }
    int n = record_joined(w, *cur, key, &mrc);
    if (n < 0 && mrc != MPI_SUCCESS) site_mpi_fail(w->cmd, w->rank, w->self, mrc, "MPI_Allgather");
    return n;
}

int fs_cli_site_join(fs_cli_mpi *m, const fs_cli_site *s, const char *roster_path,
                     const char *exclude)
{
    const char *cmd = m->cmd;
    fs_roster *roster = NULL;
    int *members = NULL, nmembers = 0, status = FS_EXIT_USAGE, mrc = MPI_SUCCESS;
    char self[64] = "", port[MPI_MAX_PORT_NAME] = "";
    site_wait w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    MPI_Comm cur = MPI_COMM_NULL, inter = MPI_COMM_NULL;
    int nnames = 0, key = -1, published = 0, started = 0, n = 0, publisher = 0;
    MPI_Comm fed = MPI_COMM_NULL;
    pthread_t th;

    /* Local checks, the same on every rank of this site (same argv). */
    if (!roster_path || !roster_path[0]) {
        fs_cli_usage_error(cmd, "--site-rendezvous needs --roster: the roster names the sites "
                           "and the order of their ranks");
        goto done;
    }
    if (fs_roster_load(roster_path, &roster) != FS_OK) {
        fs_cli_usage_error(cmd, "%s", fs_errmsg());
        goto done;
    }
    if (site_members(cmd, roster, exclude, &members, &nmembers)) { status = FS_EXIT_FAIL; goto done; }
    if (!nth_name(s->names, m->rank, self, sizeof self, &nnames) || nnames != m->size) {
        fs_cli_usage_error(cmd, "--site '%.200s' names %d institution%s but this job has %d "
                           "rank%s: give one roster name per rank, in rank order", s->names,
                           nnames, nnames == 1 ? "" : "s", m->size, m->size == 1 ? "" : "s");
        goto done;
    }
    key = member_of(roster, members, nmembers, self);
    if (key < 0) {
        fs_cli_usage_error(cmd, "--site: '%s' is not a member of the federation (roster %s%s%s)",
                           self, roster_path, exclude && exclude[0] ? ", --exclude " : "",
                           exclude && exclude[0] ? exclude : "");
        goto done;
    }

    status = FS_EXIT_FAIL;
    w.cmd = cmd;
    w.service = s->rendezvous;
    w.roster = roster;
    w.members = members;
    w.nmembers = nmembers;
    w.rank = m->rank;
    w.self = self;
    w.timeout = s->timeout;
    w.joined = calloc((size_t)nmembers, 1);
    if (!w.joined) { fs_cli_fail(cmd, "out of memory"); goto done; }
    clock_gettime(CLOCK_MONOTONIC, &w.start);
    if (pthread_create(&th, NULL, deadline_main, &w) != 0) {
        fs_cli_fail(cmd, "rank %d: cannot start the rendezvous deadline thread", m->rank);
        goto done;
    }
    started = 1;

    /* Errors of name publishing/lookup are reported on MPI_COMM_WORLD. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((mrc = MPI_Comm_dup(MPI_COMM_WORLD, &cur)) != MPI_SUCCESS) goto mpi_fail;
    MPI_Comm_set_errhandler(cur, MPI_ERRORS_RETURN);
    if ((n = record_joined(&w, cur, key, &mrc)) < 0) goto joined_fail;
    /* The publisher is the site with member 0; every rank knows from n's
     * allgather whether member 0 is in its own site. */
    publisher = w.joined[0];
    if (!publisher) {
        /* Connect: world rank 0 looks the port up, polling until it is
         * published (the deadline thread ends a wait that never succeeds). */
        if (m->rank == 0) {
            while (MPI_Lookup_name(s->rendezvous, MPI_INFO_NULL, port) != MPI_SUCCESS) {
                struct timespec ts = { 0, 200000000L };
                nanosleep(&ts, NULL);
            }
            pthread_mutex_lock(&w.mu);
            w.found = 1;
            pthread_mutex_unlock(&w.mu);
        }
        mrc = MPI_Comm_connect(port, MPI_INFO_NULL, 0, cur, &inter);
        if ((n = absorb(&w, mrc, "MPI_Comm_connect", &cur, &inter, 1, key)) < 0) goto done;
    } else {
        /* World rank 0 publishes; the site's other ranks learn the outcome
         * before they enter MPI_Comm_accept with it. */
        int st = m->rank == 0 ? publish_port(cmd, m->rank, self, s->rendezvous, port) : 0;
        published = m->rank == 0 && st == 0;
        int level = MPI_THREAD_SINGLE;
        MPI_Query_thread(&level);
        pthread_mutex_lock(&w.mu);
        memcpy(w.port, port, sizeof w.port);
        w.unpublish_in_thread = level >= MPI_THREAD_MULTIPLE;
        w.published = published;
        pthread_mutex_unlock(&w.mu);
        if (published)
            fs_log(FS_LOG_INFO, "%s: rendezvous '%s' published; waiting for %d more "
                   "institution%s (--site-timeout %ld)", self, s->rendezvous, nmembers - n,
                   nmembers - n == 1 ? "" : "s", s->timeout);
        if ((mrc = MPI_Bcast(&st, 1, MPI_INT, 0, cur)) != MPI_SUCCESS) goto mpi_fail;
        if (st != 0) {
            status = m->rank == 0 ? st : fs_cli_fail(cmd, "rank %d (%s): rank 0 of this site "
                                                     "could not publish the rendezvous '%s'",
                                                     m->rank, self, s->rendezvous);
            goto done;
        }
    }
    /* Accept the remaining sites, one at a time, in arrival order. */
    while (n < nmembers) {
        mrc = MPI_Comm_accept(port, MPI_INFO_NULL, 0, cur, &inter);
        if ((n = absorb(&w, mrc, "MPI_Comm_accept", &cur, &inter, 0, key)) < 0) goto done;
    }
    if (published) {
        pthread_mutex_lock(&w.mu);
        w.published = 0;
        pthread_mutex_unlock(&w.mu);
        MPI_Unpublish_name(s->rendezvous, MPI_INFO_NULL, port);
        MPI_Close_port(port);
        published = 0;
    }
    if ((mrc = MPI_Comm_split(cur, 0, key, &fed)) != MPI_SUCCESS) goto mpi_fail;
    MPI_Comm_set_errhandler(fed, MPI_ERRORS_RETURN);
    MPI_Comm_free(&cur);
    MPI_Comm_free(&m->comm);
    m->comm = fed;
    MPI_Comm_rank(fed, &m->rank);
    MPI_Comm_size(fed, &m->size);
    status = 0;
    goto done;
joined_fail:
    if (mrc == MPI_SUCCESS) goto done;   /* duplicate claim: printed */
mpi_fail:
    status = site_mpi_fail(cmd, m->rank, self, mrc, "MPI");
done:
    if (started) {
        pthread_mutex_lock(&w.mu);
        w.done = 1;   /* the deadline thread returns at its next tick */
        pthread_mutex_unlock(&w.mu);
        pthread_join(th, NULL);
    }
    pthread_mutex_destroy(&w.mu);
    if (published) MPI_Unpublish_name(s->rendezvous, MPI_INFO_NULL, port);
    if (cur != MPI_COMM_NULL) MPI_Comm_free(&cur);
    free(w.joined);
    free(members);
    fs_roster_destroy(&roster);
    return status;
}

int fs_cli_site_take(const char *cmd, int *argc, char **argv, fs_cli_site *s)
{
    static const char *const keys[] = { "--site-rendezvous", "--site", "--site-timeout" };
    const char *val[3] = { NULL, NULL, NULL };
    int out = 1;
    s->rendezvous = s->names = NULL;
    s->timeout = 120;
    for (int i = 1; i < *argc; i++) {
        int k = -1;
        const char *v = NULL;
        for (int j = 0; j < 3 && k < 0; j++) {
            const size_t l = strlen(keys[j]);
            if (!strcmp(argv[i], keys[j])) {
                if (i + 1 >= *argc) return fs_cli_usage_error(cmd, "option '%s' needs a value", keys[j]);
                k = j;
                v = argv[++i];
            } else if (!strncmp(argv[i], keys[j], l) && argv[i][l] == '=') {
                k = j;
                v = argv[i] + l + 1;
            }
        }
        if (k < 0) { argv[out++] = argv[i]; continue; }
        if (!v[0]) return fs_cli_usage_error(cmd, "%s must not be empty", keys[k]);
        val[k] = v;
    }
    argv[out] = NULL;
    *argc = out;
    s->rendezvous = val[0];
    s->names = val[1];
    if (val[2] && fs_cli_parse_long(val[2], 1, 1000000000L, &s->timeout))
        return fs_cli_usage_error(cmd, "--site-timeout must be a whole number of seconds >= 1, "
                                  "got '%s'", val[2]);
    if (!s->rendezvous != !s->names)
        return fs_cli_usage_error(cmd, "--site-rendezvous and --site go together: the service "
                                  "name of the federation and this job's institution name(s)");
    if (val[2] && !s->rendezvous)
        return fs_cli_usage_error(cmd, "--site-timeout is for --site-rendezvous");
    if (s->rendezvous && strlen(s->rendezvous) > 200)
        return fs_cli_usage_error(cmd, "--site-rendezvous: the service name is longer than 200 "
                                  "bytes");
    return -1;
}

void fs_cli_site_help(FILE *out)
{
    fprintf(out,
        "\nOne job per site (docs/hpc.md, \"One job per site\"): each institution starts its own\n"
        "mpirun --ompi-server URI|file:FILE (one ompi-server every site reaches); the jobs join\n"
        "through MPI_Comm_connect/accept and run as one federation in roster order.\n"
        "  --site-rendezvous SERVICE  the federation's service name on the ompi-server (the\n"
        "                       site of the roster's first member publishes its port under it)\n"
        "  --site NAME[,NAME...]  this job's roster institution(s), one per rank in rank order\n"
        "  --site-timeout SEC   a site that has not joined after SEC seconds ends every waiting\n"
        "                       rank with status 1 and a message naming it (default 120)\n");
}

/*
 * cli_mpi.c - the one MPI process lifetime of the fedsilo MPI subcommands
 * (see fs_cli_mpi in cli.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <mpi.h>
#include <fedsilo.h>
#include "cli.h"

static int log_rank;

static void log_with_rank(fs_log_level level, const char *line, void *user)
{
    (void)user;
    static const char *names[] = { "debug", "info", "warning", "error" };
    fprintf(stderr, "fedsilo[rank %d]: %s: %s\n", log_rank, names[level], line);
}

int fs_cli_exit_status(fs_err rc)
{
    switch (rc) {
    case FS_OK: return FS_EXIT_OK;
    case FS_ERR_ARG: return FS_EXIT_USAGE;
    case FS_ERR_INTERRUPTED: return FS_EXIT_INTERRUPTED;
    default: return FS_EXIT_FAIL;
    }
}

int fs_cli_mpi_start(fs_cli_mpi *m, const char *cmd, int *argc, char ***argv, int threads,
                     fs_log_level level)
{
    int provided = 0, rc;
    m->cmd = cmd;
    m->rank = 0;
    m->size = 1;
    m->comm = MPI_COMM_NULL;
    rc = threads ? MPI_Init_thread(argc, argv, threads > 1 ? MPI_THREAD_MULTIPLE
                                                           : MPI_THREAD_FUNNELED, &provided)
                 : MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) return fs_cli_fail(cmd, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    log_rank = m->rank;
    fs_log_set_handler(log_with_rank, NULL, level);
    if (MPI_Comm_dup(MPI_COMM_WORLD, &m->comm) != MPI_SUCCESS) {
        fs_cli_fail(cmd, "rank %d: MPI_Comm_dup failed", m->rank);
        MPI_Abort(MPI_COMM_WORLD, FS_EXIT_FAIL);
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    return 0;
}

int fs_cli_mpi_begin(fs_cli_mpi *m, const char *cmd, fs_command command, int *argc, char ***argv,
                     int quiet_ok, void (*usage)(FILE *out, const fs_config *cfg), int threads,
                     fs_log_level level)
{
    memset(m, 0, sizeof *m);
    m->comm = MPI_COMM_NULL;
    if (fs_config_create_for(command, &m->cfg) != FS_OK) return fs_cli_fail(cmd, "%s", fs_errmsg());
    for (int i = 1; i < *argc; i++)
        if (!strcmp((*argv)[i], "--help") || !strcmp((*argv)[i], "-h")) {
            usage(stdout, m->cfg);
            fs_cli_site_help(stdout);
            fs_config_destroy(&m->cfg);
            return FS_EXIT_OK;
        }
    fs_cli_site site;
    int status = fs_cli_site_take(cmd, argc, *argv, &site);
    if (status >= 0) {
        fs_config_destroy(&m->cfg);
        return status;
    }
    status = fs_cli_parse_config(cmd, *argc, *argv, m->cfg, quiet_ok ? &m->quiet : NULL, usage);
    if (status < 0 && fs_config_options(m->cfg, &m->o) != FS_OK) {
        /* train refuses combinations inside the run (agreed, and recorded
         * with the run's other start-up errors); the other commands before
         * MPI starts, identically on every rank */
        if (command == FS_CMD_TRAIN) fs_error_clear();
        else status = fs_cli_usage_error(cmd, "%s", fs_errmsg());
    }
    if (status < 0) {
        status = fs_cli_mpi_start(m, cmd, argc, argv, site.rendezvous ? 2 : threads, level);
        if (status == 0 && site.rendezvous) {
            m->site_lead = m->rank == 0;   /* world rank, before the join renumbers */
            status = fs_cli_site_join(m, &site, m->o.fed.roster, m->o.fed.exclude);
            log_rank = m->rank;
            if (status == FS_EXIT_USAGE) {   /* refused before connecting to any site */
                MPI_Comm_free(&m->comm);
                MPI_Finalize();
            } else if (status != 0) {
                /* Other sites may be connected and failing too: do not
                 * wait for them in MPI_Finalize. */
                fflush(stdout);
                fflush(stderr);
                _exit(status);
            }
        }
        if (status == 0) return -1;   /* MPI is up: go on */
    }
    fs_config_destroy(&m->cfg);
    return status;
}

int fs_cli_mpi_finish(fs_cli_mpi *m, fs_err rc)
{
    const int status = fs_cli_exit_status(rc);
    const int lead = m->rank == 0 || m->site_lead;
    if (rc == FS_ERR_INTERRUPTED) {
        if (lead) fprintf(stderr, "fedsilo %s: %s\n", m->cmd, fs_errmsg());
    } else if (rc != FS_OK && (lead || rc == FS_ERR_MPI)) {
        fs_cli_fail(m->cmd, "%s", fs_errmsg());
    }
    fflush(stdout);
    if (rc == FS_ERR_MPI) {
        /* The communicator is broken: peers may be gone; do not wait for them. */
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    MPI_Comm_free(&m->comm);
    MPI_Finalize();
    fs_config_destroy(&m->cfg);
    return status;
}

/* The watchdog's state: one run per process, so one watchdog. */
static const char *wd_cmd;
static int wd_rank;
static fs_run_ctl *wd_ctl;
static long wd_timeout;

/*
 * The watchdog thread: if the run makes no progress for wd_timeout seconds
 * (a peer died without the launcher noticing, a node, network or another
 * site's job was lost), print what this rank was waiting for and end the
 * process with status 1; mpirun/srun --kill-on-bad-exit then stop this
 * job's other ranks.  _exit because the main thread is blocked inside MPI.
 * It never calls MPI.
 */
static void *watchdog_main(void *arg)
{
    (void)arg;
    for (;;) {
        sleep(1);
        const char *phase = "";
        int round = 0;
        double idle = fs_run_ctl_progress(wd_ctl, &phase, &round);
        if (idle >= (double)wd_timeout) {
            fprintf(stderr, "fedsilo %s: error: rank %d: no progress for %.0f s in %s (round %d): "
                    "another rank or its node stopped answering; ending this rank (--timeout %ld)\n",
                    wd_cmd, wd_rank, idle, phase, round, wd_timeout);
            fflush(stderr);
            _exit(FS_EXIT_FAIL);
        }
    }
    return NULL;
}

void fs_cli_watchdog_start(const fs_cli_mpi *m, fs_run_ctl *ctl, long timeout)
{
    if (timeout <= 0 || wd_ctl) return;
    wd_cmd = m->cmd;
    wd_rank = m->rank;
    wd_timeout = timeout;
    wd_ctl = ctl;
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog_main, NULL) == 0) pthread_detach(t);
}

fs_err fs_cli_watch(fs_cli_mpi *m, fs_run_ctl **ctl)
{
    fs_err rc = fs_agree(m->comm, fs_run_ctl_create(ctl), NULL);
    if (rc == FS_OK) fs_cli_watchdog_start(m, *ctl, m->o.fed.timeout);
    return rc;
}

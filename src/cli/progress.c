/*
 * progress.c - progress bar (terminal) or periodic plain lines (logs) for
 * long phases of the fedsilo CLI.  See progress.h.
 *
 * A ticker thread wakes every 100 ms: in bar mode it redraws the bar (so
 * the elapsed time moves while the main thread is blocked in a library
 * call); in lines mode it prints a heartbeat line every interval seconds.
 * All state is guarded by one mutex; output goes to one stream (stderr by
 * default).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "progress.h"

enum { MODE_OFF, MODE_BAR, MODE_LINES };

struct cli_progress {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t ticker;
    int have_ticker, stop;
    int mode;
    FILE *out;               /* stderr, or stdout for cli_progress_begin_on */
    int transient;           /* bar erased at the end, no "done" line        */
    char label[64], unit[24], phase[160];
    uint64_t total, done;
    double t0, delay, interval;
    double last_line;        /* lines mode: time of the last line printed   */
    int shown;               /* anything written to out yet                 */
    int phase_reported;      /* lines mode: current phase already printed   */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A non-negative number of seconds from the environment, else dflt. */
static double env_seconds(const char *name, double dflt)
{
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= 0) || v > 1e6) return dflt;
    return v;
}

/*
 * Under mpirun, a rank's stdout is a pseudo-terminal that Open MPI opens
 * whatever mpirun's own stdout is, so isatty() says yes even when the user
 * redirected `mpirun ... > log`.  A rank started by an MPI launcher
 * (OMPI_COMM_WORLD_SIZE / PMI_RANK / PMIX_RANK set) therefore asks where the
 * launcher's (its parent's) same descriptor goes (/proc/PPID/fd/N, Linux):
 * a bar only if that is a terminal too.  Elsewhere (srun's slurmstepd,
 * no /proc) the answer is no, and plain lines are used.
 */
static int launcher_on_terminal(FILE *out)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_RANK") && !getenv("PMIX_RANK")) return 1;
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/%ld/fd/%d", (long)getppid(), fileno(out));
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = '\0';
    return !strncmp(target, "/dev/pts/", 9) || !strncmp(target, "/dev/tty", 8);
}

static int choose_mode(FILE *out)
{
    const char *m = getenv("FEDSILO_PROGRESS");
    if (m && !strcmp(m, "off")) return MODE_OFF;
    if (m && !strcmp(m, "bar")) return MODE_BAR;
    if (m && !strcmp(m, "lines")) return MODE_LINES;
    /* auto (or anything else): a bar only on a terminal that can redraw. */
    const char *term = getenv("TERM");
    if (isatty(fileno(out)) && !(term && !strcmp(term, "dumb")) && launcher_on_terminal(out))
        return MODE_BAR;
    return MODE_LINES;
}

static int term_width(FILE *out)
{
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int w = c ? atoi(c) : 0;
    return w >= 20 && w <= 1000 ? w : 80;
}

/* "3.1s", "4m05s", "1h02m" */
static void fmt_duration(char *buf, size_t n, double s)
{
    if (!(s >= 0)) s = 0;
    if (s < 60) snprintf(buf, n, "%.1fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

/* "27000/60000 rows" or "1/2"; empty when the total is unknown. */
static void fmt_count(const cli_progress *p, char *buf, size_t n)
{
    if (!p->total) { buf[0] = '\0'; return; }
    snprintf(buf, n, "%llu/%llu%s%s", (unsigned long long)p->done, (unsigned long long)p->total,
             p->unit[0] ? " " : "", p->unit);
}

/* "elapsed 3.1s, ETA 3.1s"-style pieces; eta empty when unknown. */
static void fmt_times(const cli_progress *p, double t, char *el, size_t nel, char *eta, size_t neta)
{
    fmt_duration(el, nel, t - p->t0);
    eta[0] = '\0';
    if (p->total && p->done > 0 && p->done < p->total) {
        char d[32];
        fmt_duration(d, sizeof d, (t - p->t0) / (double)p->done * (double)(p->total - p->done));
        snprintf(eta, neta, "ETA %s", d);
    }
}

/* Bar mode, mutex held: redraw the whole line in place. */
static void draw_bar(cli_progress *p, double t, int final)
{
    static const char spin[] = "|/-\\";
    char count[64], el[32], eta[48], head[96], tail[320];
    int width = term_width(p->out);
    fmt_count(p, count, sizeof count);
    fmt_times(p, t, el, sizeof el, eta, sizeof eta);
    snprintf(head, sizeof head, "%s ", p->label);
    snprintf(tail, sizeof tail, " %s%s%s  %s%s%s", count, count[0] ? "  " : "", p->phase, el,
             eta[0] ? "  " : "", eta);
    int barw = width - 1 - (int)strlen(head) - (int)strlen(tail) - 2;
    if (barw > 40) barw = 40;
    fputc('\r', p->out);
    fputs(head, p->out);
    if (barw >= 10) {
        fputc('[', p->out);
        if (p->total) {
            int fill = (int)((double)barw * (double)p->done / (double)p->total);
            for (int i = 0; i < barw; i++) fputc(i < fill ? '#' : '.', p->out);
        } else {
            /* Unknown total: a block sweeping back and forth. */
            int pos = (int)((t - p->t0) * 10) % (2 * barw - 6);
            if (pos > barw - 3) pos = 2 * barw - 6 - pos;
            for (int i = 0; i < barw; i++) fputc(i >= pos && i < pos + 3 ? '#' : '.', p->out);
        }
        fputc(']', p->out);
    } else if (!final) {
        fputc(spin[(int)((t - p->t0) * 10) % 4], p->out);
    }
    /* Truncate the tail to the terminal so the line never wraps. */
    int room = width - 1 - (int)strlen(head) - (barw >= 10 ? barw + 2 : 1);
    if (room > 0) fprintf(p->out, "%.*s", room, tail);
    fputs("\033[K", p->out);
    if (final) fputc('\n', p->out);
    fflush(p->out);
    p->shown = 1;
}

/* Lines mode, mutex held: one self-contained line. */
static void print_line(cli_progress *p, double t)
{
    char count[64], el[32], eta[48];
    fmt_count(p, count, sizeof count);
    fmt_times(p, t, el, sizeof el, eta, sizeof eta);
    fprintf(p->out, "fedsilo %s:", p->label);
    if (count[0])
        fprintf(p->out, " %s (%.0f%%)", count, 100.0 * (double)p->done / (double)p->total);
    if (p->phase[0]) fprintf(p->out, " %s;", p->phase);
    else if (count[0]) fputc(';', p->out);
    fprintf(p->out, " %s elapsed%s%s\n", el, eta[0] ? ", " : "", eta);
    fflush(p->out);
    p->shown = 1;
    p->last_line = t;
    p->phase_reported = 1;
}

/* Mutex held: whatever the mode wants at time t. */
static void tick(cli_progress *p, double t)
{
    if (t - p->t0 < p->delay) return;
    if (p->mode == MODE_BAR) draw_bar(p, t, 0);
    else if (!p->phase_reported || t - p->last_line >= p->interval) print_line(p, t);
}

static void *ticker_main(void *arg)
{
    cli_progress *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        if (!p->stop) tick(p, now_s());
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cli_progress *cli_progress_begin(const char *label, uint64_t total, const char *unit)
{
    return cli_progress_begin_on(stderr, 0, label, total, unit);
}

cli_progress *cli_progress_begin_on(FILE *out, int transient, const char *label, uint64_t total,
                                    const char *unit)
{
    int mode = choose_mode(out);
    if (mode == MODE_OFF) return NULL;
    cli_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->out = out;
    p->transient = transient;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->mode = mode;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->total = total;
    p->t0 = now_s();
    p->delay = env_seconds("FEDSILO_PROGRESS_DELAY", 1.0);
    p->interval = env_seconds("FEDSILO_PROGRESS_INTERVAL", 10.0);
    if (p->interval < 0.1) p->interval = 0.1;
    /* A transient phase (one of many, e.g. every round) prints plain lines
     * only once it has lasted one interval, so short phases add nothing to
     * a log. */
    if (transient && mode == MODE_LINES && p->delay < p->interval) p->delay = p->interval;
    p->last_line = p->t0;
    if (pthread_create(&p->ticker, NULL, ticker_main, p) == 0) p->have_ticker = 1;
    return p;
}

void cli_progress_set(cli_progress *p, uint64_t done)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->done = p->total && done > p->total ? p->total : done;
    if (!p->have_ticker) tick(p, now_s());
    pthread_mutex_unlock(&p->mu);
}

void cli_progress_phase(cli_progress *p, uint64_t done, const char *fmt, ...)
{
    if (!p) return;
    char text[sizeof p->phase];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&p->mu);
    p->done = p->total && done > p->total ? p->total : done;
    if (strcmp(text, p->phase) != 0) {
        memcpy(p->phase, text, sizeof text);
        p->phase_reported = 0;
    }
    /* A phase change shows at once (once past the delay), in both modes. */
    tick(p, now_s());
    pthread_mutex_unlock(&p->mu);
}

void cli_progress_end(cli_progress **pp, int ok)
{
    if (!pp || !*pp) return;
    cli_progress *p = *pp;
    *pp = NULL;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->have_ticker) pthread_join(p->ticker, NULL);
    if (p->shown) {
        double t = now_s();
        char el[32];
        fmt_duration(el, sizeof el, t - p->t0);
        if (p->transient) {
            if (p->mode == MODE_BAR) fputs("\r\033[K", p->out);   /* leave the line clean */
            fflush(p->out);
        } else if (p->mode == MODE_BAR) {
            if (ok) {
                if (p->total) p->done = p->total;
                snprintf(p->phase, sizeof p->phase, "done");
                draw_bar(p, t, 1);
            } else {
                fputs("\r\033[K", p->out);   /* the error message follows on a clean line */
                fflush(p->out);
            }
        } else {
            fprintf(p->out, "fedsilo %s: %s %s\n", p->label, ok ? "done in" : "failed after", el);
            fflush(p->out);
        }
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/*
 * cmd_plot.c - `fedsilo plot`: render the learning curves of a run.
 *
 *   fedsilo plot RUNDIR [--out FILE.png] [--size WxH]
 *
 * Reads RUNDIR/metrics.jsonl with the library's reader (fs_run_log_read,
 * next to its writer), writes the columns to a temporary data file and
 * pipes a script to gnuplot (started with posix_spawnp: no shell), which
 * draws one panel per quantity:
 *   loss      train_loss, val_loss, test_loss
 *   accuracy  val_accuracy, test_accuracy (or val_rmse, test_rmse for a
 *             regression task)
 *   epsilon   the privacy budget spent, when the run records "epsilon"
 *             (DP-SGD, record level) or "ddp_epsilon" (distributed DP)
 * A missing value (a round without evaluation, a null) is left out of its
 * curve.  The image is rendered to FILE.png.tmp.PID and renamed into place,
 * so a failed render never leaves a truncated PNG.  The pngcairo terminal
 * is used when gnuplot has it (anti-aliased), else the libgd png terminal.
 *
 * CLI layer: no MPI, only the C library, gnuplot and stderr/stdout.
 * FEDSILO_GNUPLOT names another gnuplot program (tests, unusual installs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "progress.h"

static const char *cmd = "plot";

extern char **environ;

/* Columns of the data file handed to gnuplot (column k+1 in gnuplot), in
 * the order of the fields of fs_run_point. */
enum { C_ROUND, C_TRAIN_LOSS, C_VAL_LOSS, C_VAL_METRIC, C_TEST_LOSS, C_TEST_METRIC, C_EPSILON,
       C_DDP_EPSILON, NCOL };

/* metrics.jsonl as read by the library, plus which columns have data. */
typedef struct {
    fs_run_log *log;
    int has[NCOL];           /* some row has a finite value in column k   */
} plot_data;

static double col(const fs_run_point *p, int k)
{
    const double v[NCOL] = { p->round, p->train_loss, p->val_loss, p->val_metric, p->test_loss,
                             p->test_metric, p->epsilon, p->ddp_epsilon };
    return v[k];
}

static void plot_usage(FILE *out)
{
    fprintf(out,
        "Usage: fedsilo plot RUNDIR [--out FILE.png] [--size WxH]\n"
        "Draw the learning curves of a run directory written by 'fedsilo train':\n"
        "loss (train, validation, test), accuracy or RMSE (validation, test) and, when\n"
        "the run records it, the privacy budget epsilon, per round, from\n"
        "RUNDIR/metrics.jsonl, into a PNG image rendered by gnuplot.\n\n"
        "  --out FILE.png   output image (default RUNDIR/curves.png; replaced atomically)\n"
        "  --size WxH       image size in pixels (default 1200x800)\n"
        "  -h, --help       show this help\n\n"
        "Needs gnuplot (Debian: apt-get install gnuplot-nox); FEDSILO_GNUPLOT names\n"
        "another gnuplot program.  Rounds without evaluation leave gaps in the\n"
        "validation and test curves, not zeros.\n");
}

// ---------------------------------------------------------------- gnuplot

/* Append s to a gnuplot single-quoted string literal ('' escapes '). */
static void gp_quoted(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', out);
        if (*s != '\n') fputc(*s, out);
    }
    fputc('\'', out);
}

/* Replace control bytes (terminal escapes from gnuplot's log) with '?'. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f) *s = '?';
}

/*
 * Start prog with argv (no shell).  Its stdin is the write end returned in
 * *in_fd (or /dev/null when in_fd is NULL); its stdout and stderr go to the
 * file log (or, when log is NULL, to the read end returned in *out_fd).
 * Returns the child's pid, or -1 (errno set).
 */
static pid_t spawn(const char *prog, char *const argv[], int *in_fd, const char *log, int *out_fd)
{
    int pin[2] = { -1, -1 }, pout[2] = { -1, -1 };
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    if (in_fd && pipe(pin) != 0) return -1;
    if (!log && pipe(pout) != 0) goto fail;
    posix_spawn_file_actions_init(&fa);
    if (in_fd) {
        posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
        posix_spawn_file_actions_addclose(&fa, pin[1]);
    } else {
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    }
    if (log) {
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pout[1], 2);
        posix_spawn_file_actions_addclose(&fa, pout[0]);
    }
    int err = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        errno = err;
        pid = -1;
        goto fail;
    }
    if (in_fd) { close(pin[0]); *in_fd = pin[1]; }
    if (!log) { close(pout[1]); *out_fd = pout[0]; }
    return pid;
fail:
    for (int i = 0; i < 2; i++) {
        if (pin[i] >= 0) close(pin[i]);
        if (pout[i] >= 0) close(pout[i]);
    }
    return -1;
}

/* Wait for pid; 0 if it exited with status 0. */
static int wait_ok(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The gnuplot program: FEDSILO_GNUPLOT or "gnuplot", if it can be run. */
static int find_gnuplot(const char **prog)
{
    const char *p = getenv("FEDSILO_GNUPLOT");
    if (!p || !*p) p = "gnuplot";
    *prog = p;
    if (strchr(p, '/')) return access(p, X_OK) == 0 ? 0 : -1;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char full[4096];
        snprintf(full, sizeof full, "%.*s/%s", (int)len, len ? path : ".", p);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) return 0;
        if (!colon) break;
        path = colon + 1;
    }
    return -1;
}

/* Which PNG terminal this gnuplot has: "pngcairo", "png", or NULL. */
static const char *png_terminal(const char *prog)
{
    char *const argv[] = { (char *)prog, "-e", "set terminal", NULL };
    int fd = -1;
    pid_t pid = spawn(prog, argv, NULL, NULL, &fd);
    if (pid < 0) return NULL;
    FILE *f = fdopen(fd, "r");
    char line[512];
    int cairo = 0, gd = 0;
    while (f && fgets(line, sizeof line, f)) {
        char name[64];
        if (sscanf(line, " %63s", name) != 1) continue;
        if (!strcmp(name, "pngcairo")) cairo = 1;
        if (!strcmp(name, "png")) gd = 1;
    }
    if (f) fclose(f);
    else close(fd);
    if (wait_ok(pid) != 0) return NULL;
    return cairo ? "pngcairo" : gd ? "png" : NULL;
}

/* Create an empty file from a mkstemp template; returns an open FILE* or NULL. */
static FILE *temp_file(char *tmpl, size_t n, const char *suffix_name)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(tmpl, n, "%s/fedsilo-plot-%s.XXXXXX", dir, suffix_name);
    int fd = mkstemp(tmpl);
    if (fd < 0) { tmpl[0] = '\0'; return NULL; }
    FILE *f = fdopen(fd, "w");
    if (!f) { close(fd); unlink(tmpl); tmpl[0] = '\0'; }
    return f;
}

static void write_value(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, " %.9g", v);
    else fputs(" ?", f);
}

static int write_data(FILE *f, const plot_data *pd)
{
    fputs("# round train_loss val_loss val_metric test_loss test_metric epsilon ddp_epsilon\n", f);
    for (size_t i = 0; i < pd->log->n; i++) {
        const fs_run_point *p = &pd->log->points[i];
        fprintf(f, "%.17g", col(p, C_ROUND));
        for (int k = 1; k < NCOL; k++) write_value(f, col(p, k));
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

typedef struct { int col; const char *title; const char *color; } series;

/* One panel: every series whose column has data. */
static void gp_panel(FILE *gp, const char *data, const char *title, const char *ylabel,
                     const char *key, const series *s, int ns, const plot_data *pd)
{
    fprintf(gp, "set title '%s'\nset ylabel '%s'\nset key %s opaque\nplot ", title, ylabel, key);
    int first = 1;
    for (int i = 0; i < ns; i++) {
        if (!pd->has[s[i].col]) continue;
        if (!first) fputs(", \\\n     ", gp);
        gp_quoted(gp, data);
        /* A plain column number: a missing value (?) is skipped, the line goes on. */
        fprintf(gp, " using 1:%d with linespoints lw 2 pt 7 ps %s lc rgb '%s' title '%s'",
                s[i].col + 1, pd->log->n > 60 ? "0.3" : "0.8", s[i].color, s[i].title);
        first = 0;
    }
    fputc('\n', gp);
}

static void gp_script(FILE *gp, const char *term, int w, int h, const char *out,
                      const char *data, const char *rundir, const plot_data *pd)
{
    int has_metric = pd->has[C_VAL_METRIC] || pd->has[C_TEST_METRIC];
    int has_eps = pd->has[C_EPSILON] || pd->has[C_DDP_EPSILON];
    int panels = 1 + has_metric + has_eps;
    int fontsize = h / 70 < 8 ? 8 : h / 70 > 28 ? 28 : h / 70;
    const fs_run_log *log = pd->log;
    double x0 = log->points[0].round, x1 = x0;
    for (size_t i = 1; i < log->n; i++) {
        double x = log->points[i].round;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
    }

    if (!strcmp(term, "pngcairo"))
        fprintf(gp, "set terminal pngcairo size %d,%d noenhanced font 'sans,%d' "
                    "background rgb 'white'\n", w, h, fontsize);
    else
        fprintf(gp, "set terminal png size %d,%d noenhanced\n", w, h);
    fputs("set output ", gp);
    gp_quoted(gp, out);
    fputs("\nset datafile missing '?'\nset grid\nset xlabel 'round'\n", gp);
    /* A little room at both ends so the first and last points are whole. */
    double pad = x1 > x0 ? (x1 - x0) * 0.02 : 1;
    if (pad < 0.5) pad = 0.5;
    fprintf(gp, "set xrange [%.17g:%.17g]\n", x0 - pad, x1 + pad);
    if (x1 - x0 <= 15) fputs("set xtics 1\n", gp);
    /* The same left margin in every panel keeps their x axes aligned. */
    fputs("set format x '%g'\nset mxtics\nset lmargin 10\nset rmargin 3\n", gp);
    /* Title: the run directory, rounds, aggregation. */
    char title[600];
    snprintf(title, sizeof title, "fedsilo run %s: %zu round%s%s%s", rundir, log->n,
             log->n == 1 ? "" : "s",
             log->aggregation[0] ? ", aggregation " : "", log->aggregation);
    fprintf(gp, "set multiplot layout %d,1 title ", panels);
    gp_quoted(gp, title);
    fputc('\n', gp);

    static const series loss[] = {
        { C_TRAIN_LOSS, "train", "#1f77b4" },
        { C_VAL_LOSS, "validation", "#ff7f0e" },
        { C_TEST_LOSS, "test", "#2ca02c" },
    };
    static const series metric[] = {
        { C_VAL_METRIC, "validation", "#ff7f0e" },
        { C_TEST_METRIC, "test", "#2ca02c" },
    };
    static const series eps[] = {
        { C_EPSILON, "record level (DP-SGD)", "#d62728" },
        { C_DDP_EPSILON, "institution level (distributed DP)", "#9467bd" },
    };
    gp_panel(gp, data, "loss", "loss", "top right", loss, 3, pd);
    if (has_metric) {
        const char *name = log->regression ? "RMSE" : "accuracy";
        /* Accuracy rises to the top right, RMSE falls to the bottom right. */
        const char *key = log->regression ? "top right" : "bottom right";
        gp_panel(gp, data, name, name, key, metric, 2, pd);
    }
    if (has_eps) {
        /* Epsilon only grows: room above the curves for the key, at the top left. */
        fputs("set offsets 0, 0, graph 0.3, 0\n", gp);
        gp_panel(gp, data, "privacy budget spent (epsilon)", "epsilon", "top left Left reverse",
                 eps, 2, pd);
    }
    fputs("unset multiplot\nunset output\n", gp);
}

/* Print the first lines of gnuplot's log (its stderr) to ours. */
static void show_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    int k = 0;
    while (k < 8 && fgets(line, sizeof line, f)) {
        if (line[0] == '\n') continue;
        sanitize(line);
        fprintf(stderr, "fedsilo plot: gnuplot: %s%s", line, strchr(line, '\n') ? "" : "\n");
        k++;
    }
    fclose(f);
}

// ---------------------------------------------------------------- command

static int parse_size(const char *s, int *w, int *h)
{
    char x, extra;
    if (sscanf(s, "%d%c%d%c", w, &x, h, &extra) != 3 || (x != 'x' && x != 'X')) return -1;
    return *w >= 200 && *w <= 10000 && *h >= 150 && *h <= 10000 ? 0 : -1;
}

int fs_cmd_plot(int argc, char **argv)
{
    enum { O_OUT = 256, O_SIZE };
    static const struct option longopts[] = {
        { "out", required_argument, NULL, O_OUT },
        { "size", required_argument, NULL, O_SIZE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *out = NULL;
    int w = 1200, h = 800, c;

    fs_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': plot_usage(stdout); return FS_EXIT_OK;
        case O_OUT: out = optarg; break;
        case O_SIZE:
            if (parse_size(optarg, &w, &h) != 0)
                return fs_cli_usage_error(cmd, "--size needs WIDTHxHEIGHT in pixels (200..10000 "
                                          "x 150..10000), e.g. 1200x800; got '%s'", optarg);
            break;
        default: return fs_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind >= argc) return fs_cli_usage_error(cmd, "missing RUNDIR (a directory written by "
                                                  "'fedsilo train --out RUNDIR')");
    if (optind + 1 < argc)
        return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    const char *rundir = argv[optind];

    struct stat st;
    if (stat(rundir, &st) != 0)
        return fs_cli_fail(cmd, "run directory %s: %s", rundir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fs_cli_fail(cmd, "%s is not a directory (give the --out directory of "
                           "'fedsilo train')", rundir);
    char metrics[4200], outbuf[4200];
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", rundir);
    if (access(metrics, R_OK) != 0)
        return fs_cli_fail(cmd, "cannot read %s: %s (has 'fedsilo train' run with --out %s?)",
                           metrics, strerror(errno), rundir);
    if (!out) {
        snprintf(outbuf, sizeof outbuf, "%s/curves.png", rundir);
        out = outbuf;
    }

    /* gnuplot first: no point in parsing when it cannot be drawn. */
    const char *prog;
    if (find_gnuplot(&prog) != 0) {
        if (strchr(prog, '/'))
            return fs_cli_fail(cmd, "gnuplot program %s (FEDSILO_GNUPLOT) cannot be run; unset "
                               "FEDSILO_GNUPLOT or install Debian's gnuplot-nox", prog);
        return fs_cli_fail(cmd, "gnuplot is not installed (no '%s' in PATH); install it with "
                           "'apt-get install gnuplot-nox' (Debian package gnuplot-nox)", prog);
    }
    const char *term = png_terminal(prog);
    if (!term)
        return fs_cli_fail(cmd, "%s has neither the pngcairo nor the png terminal; install "
                           "Debian's gnuplot-nox", prog);

    plot_data pd;
    memset(&pd, 0, sizeof pd);
    cli_progress *pg = cli_progress_begin(cmd, 2, NULL);
    cli_progress_phase(pg, 0, "reading %s", metrics);
    int status = FS_EXIT_OK;
    char data[4200] = "", log[4200] = "", tmpout[4300] = "";
    FILE *df = NULL;
    if (fs_run_log_read(metrics, &pd.log) != FS_OK) {
        cli_progress_end(&pg, 0);
        status = fs_cli_fail(cmd, "%s", fs_errmsg());
        goto done;
    }
    for (size_t i = 0; i < pd.log->n; i++)
        for (int k = 0; k < NCOL; k++)
            if (isfinite(col(&pd.log->points[i], k))) pd.has[k] = 1;
    if (pd.log->n == 0) {
        cli_progress_end(&pg, 0);
        if (pd.log->skipped)
            status = fs_cli_fail(cmd, "%s has no valid rounds (%zu malformed lines, the first at "
                                 "line %zu)", metrics, pd.log->skipped, pd.log->first_bad_line);
        else
            status = fs_cli_fail(cmd, "%s has no rounds yet (the run has not finished its first "
                                 "round)", metrics);
        goto done;
    }

    cli_progress_phase(pg, 1, "rendering with gnuplot (%s)", term);
    FILE *lf = temp_file(log, sizeof log, "log");
    if (lf) fclose(lf);
    df = lf ? temp_file(data, sizeof data, "data") : NULL;
    int wrc = df ? write_data(df, &pd) : -1;
    if (df && fclose(df) != 0) wrc = -1;
    if (wrc != 0) {
        df = NULL;
        cli_progress_end(&pg, 0);
        status = fs_cli_fail(cmd, "cannot write a temporary file in %s: %s",
                             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
        goto done;
    }
    df = NULL;
    /* Create the temporary image ourselves: if gnuplot cannot open its
     * output it would draw to stdout instead. */
    if (fs_file_tmp_name(tmpout, sizeof tmpout, out) != FS_OK) {
        cli_progress_end(&pg, 0);
        status = fs_cli_fail(cmd, "%s", fs_errmsg());
        tmpout[0] = '\0';
        goto done;
    }
    int ofd = open(tmpout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (ofd < 0) {
        cli_progress_end(&pg, 0);
        status = fs_cli_fail(cmd, "cannot write %s: %s", out, strerror(errno));
        tmpout[0] = '\0';
        goto done;
    }
    close(ofd);

    fflush(stdout);
    int gfd = -1;
    char *const gargv[] = { (char *)prog, NULL };
    pid_t gpid = spawn(prog, gargv, &gfd, log, NULL);
    FILE *gp = gpid > 0 ? fdopen(gfd, "w") : NULL;
    if (!gp) {
        if (gpid > 0) { close(gfd); wait_ok(gpid); }
        cli_progress_end(&pg, 0);
        status = fs_cli_fail(cmd, "cannot run %s: %s", prog, strerror(errno));
        goto done;
    }
    /* gnuplot may exit early on an error: a write to its pipe must not kill us. */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    gp_script(gp, term, w, h, tmpout, data, rundir, &pd);
    fclose(gp);
    int gst = wait_ok(gpid);
    sigaction(SIGPIPE, &old, NULL);
    if (gst != 0 || stat(tmpout, &st) != 0 || st.st_size == 0) {
        cli_progress_end(&pg, 0);
        show_log(log);
        status = fs_cli_fail(cmd, "gnuplot (%s) failed to render %s", prog, out);
        goto done;
    }
    if (fs_file_commit(tmpout, out) != FS_OK) {
        cli_progress_end(&pg, 0);
        status = fs_cli_fail(cmd, "%s", fs_errmsg());
        goto done;
    }
    tmpout[0] = '\0';
    cli_progress_end(&pg, 1);

    const fs_run_log *rl = pd.log;
    if (rl->skipped)
        fprintf(stderr, "fedsilo plot: warning: skipped %zu malformed lines of %s (first: line "
                "%zu)\n", rl->skipped, metrics, rl->first_bad_line);
    printf("plotted %zu round%s of %s (loss%s%s) -> %s (%dx%d)\n", rl->n, rl->n == 1 ? "" : "s",
           rundir,
           pd.has[C_VAL_METRIC] || pd.has[C_TEST_METRIC] ? (rl->regression ? ", rmse" : ", accuracy")
                                                         : "",
           pd.has[C_EPSILON] || pd.has[C_DDP_EPSILON] ? ", epsilon" : "", out, w, h);
    /* The last evaluated value of the headline metric, and the best one. */
    int mc = pd.has[C_TEST_METRIC] ? C_TEST_METRIC : pd.has[C_VAL_METRIC] ? C_VAL_METRIC : -1;
    if (mc >= 0) {
        double last = NAN, best = NAN, best_round = 0;
        for (size_t i = 0; i < rl->n; i++) {
            double v = col(&rl->points[i], mc);
            if (!isfinite(v)) continue;
            last = v;
            if (!isfinite(best) || (rl->regression ? v < best : v > best)) {
                best = v;
                best_round = rl->points[i].round;
            }
        }
        printf("%s_%s: last %.4f, best %.4f (round %.0f)\n",
               mc == C_TEST_METRIC ? "test" : "val", rl->regression ? "rmse" : "accuracy", last,
               best, best_round);
    }
    if (fflush(stdout) != 0) status = fs_cli_fail(cmd, "cannot write to stdout");
done:
    cli_progress_end(&pg, status == FS_EXIT_OK);
    if (df) fclose(df);
    if (data[0]) unlink(data);
    if (log[0]) unlink(log);
    if (tmpout[0]) unlink(tmpout);
    fs_run_log_free(&pd.log);
    return status;
}

/*
 * cmd_dp.c - `fedsilo dp epsilon` and `fedsilo dp calibrate`: the RDP
 * accountant of the Poisson-subsampled Gaussian mechanism (DP-SGD) from the
 * command line.  See docs/privacy.md.
 *
 * CLI layer; needs no MPI.  Each subcommand prints one explanation line and
 * then, as the last line, only the number, so scripts can take `tail -n 1`.
 * Uses only the public API (fedsilo/fs_dp.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fedsilo.h>
#include "fedsilo/fs_dp.h"
#include "cli.h"
#include "cmd_dp.h"

static const char usage_dp[] =
    "Usage: fedsilo dp epsilon|calibrate [OPTIONS]\n"
    "\n"
    "Privacy accounting for DP-SGD (Poisson-subsampled Gaussian mechanism,\n"
    "Renyi-DP accountant with the orders and formulas of Opacus).\n"
    "\n"
    "  epsilon     epsilon spent by T steps at a given noise multiplier\n"
    "  calibrate   smallest noise multiplier that meets a target epsilon\n"
    "\n"
    "Run 'fedsilo dp epsilon --help' or 'fedsilo dp calibrate --help'.\n";

static const char usage_eps[] =
    "Usage: fedsilo dp epsilon --sampling-rate Q --noise-multiplier S --steps T\n"
    "                          --delta D [--conversion improved|classic]\n"
    "\n"
    "Print the epsilon of T steps of DP-SGD with Poisson sampling rate Q\n"
    "(batch size / rows) and noise multiplier S (noise std / clipping norm)\n"
    "at the given delta.  The last output line is just the number (inf when\n"
    "S is 0).\n"
    "\n"
    "  --sampling-rate Q      in (0, 1]\n"
    "  --noise-multiplier S   >= 0\n"
    "  --steps T              number of noisy steps, >= 1\n"
    "  --delta D              in (0, 1), e.g. 1e-5\n"
    "  --conversion C         RDP to (eps, delta) conversion: improved (default;\n"
    "                         Balle et al. 2020, as Opacus) or classic\n"
    "                         (Mironov 2017, as TF-Privacy's compute_dp_sgd_privacy)\n"
    "  -h, --help             show this help\n";

static const char usage_cal[] =
    "Usage: fedsilo dp calibrate --sampling-rate Q --steps T --delta D\n"
    "                            --target-epsilon E [--conversion improved|classic]\n"
    "\n"
    "Print the smallest noise multiplier (relative precision 1e-9) for which T\n"
    "steps with Poisson sampling rate Q are (E, D)-DP.  The last output line is\n"
    "just the number.\n"
    "\n"
    "  --sampling-rate Q      in (0, 1]\n"
    "  --steps T              number of noisy steps, >= 1\n"
    "  --delta D              in (0, 1)\n"
    "  --target-epsilon E     > 0\n"
    "  --conversion C         improved (default) or classic\n"
    "  -h, --help             show this help\n";

/* Parse a finite double; 0 on success. */
static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

int fs_cmd_dp(int argc, char **argv)
{
    static const struct option opts[] = {
        { "sampling-rate", required_argument, NULL, 'q' },
        { "noise-multiplier", required_argument, NULL, 's' },
        { "steps", required_argument, NULL, 't' },
        { "delta", required_argument, NULL, 'd' },
        { "target-epsilon", required_argument, NULL, 'e' },
        { "conversion", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    double q = NAN, sigma = NAN, delta = NAN, target = NAN;
    long steps = -1;
    fs_dp_conversion conv = FS_DP_CONV_IMPROVED;
    int c, calibrate;
    const char *cmd;

    if (argc < 2) return fs_cli_usage_error("dp", "missing action: epsilon or calibrate");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_dp, stdout);
        return FS_EXIT_OK;
    }
    if (!strcmp(argv[1], "epsilon")) { calibrate = 0; cmd = "dp epsilon"; }
    else if (!strcmp(argv[1], "calibrate")) { calibrate = 1; cmd = "dp calibrate"; }
    else return fs_cli_usage_error("dp", "unknown action '%s' (expected epsilon or calibrate)",
                                   argv[1]);

    opterr = 0;
    optind = 0;  /* glibc: full reinitialization; parsing starts at argv[1] of the shifted vector */
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(calibrate ? usage_cal : usage_eps, stdout); return FS_EXIT_OK;
        case 'q':
            if (parse_double(optarg, &q) || !(q > 0 && q <= 1))
                return fs_cli_usage_error(cmd, "--sampling-rate needs a number in (0, 1], got '%s'",
                                          optarg);
            break;
        case 's':
            if (calibrate)
                return fs_cli_usage_error(cmd, "--noise-multiplier is an output of calibrate");
            if (parse_double(optarg, &sigma) || sigma < 0)
                return fs_cli_usage_error(cmd, "--noise-multiplier needs a number >= 0, got '%s'",
                                          optarg);
            break;
        case 't':
            if (parse_long(optarg, &steps) || steps < 1)
                return fs_cli_usage_error(cmd, "--steps needs an integer >= 1, got '%s'", optarg);
            break;
        case 'd':
            if (parse_double(optarg, &delta) || !(delta > 0 && delta < 1))
                return fs_cli_usage_error(cmd, "--delta needs a number in (0, 1), got '%s'", optarg);
            break;
        case 'e':
            if (!calibrate)
                return fs_cli_usage_error(cmd, "--target-epsilon belongs to 'fedsilo dp calibrate'");
            if (parse_double(optarg, &target) || !(target > 0))
                return fs_cli_usage_error(cmd, "--target-epsilon needs a number > 0, got '%s'",
                                          optarg);
            break;
        case 'c':
            if (!strcmp(optarg, "improved")) conv = FS_DP_CONV_IMPROVED;
            else if (!strcmp(optarg, "classic")) conv = FS_DP_CONV_CLASSIC;
            else return fs_cli_usage_error(cmd, "--conversion must be improved or classic, got '%s'",
                                           optarg);
            break;
        case ':': return fs_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return fs_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fs_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (isnan(q)) return fs_cli_usage_error(cmd, "--sampling-rate is required");
    if (steps < 1) return fs_cli_usage_error(cmd, "--steps is required");
    if (isnan(delta)) return fs_cli_usage_error(cmd, "--delta is required");
    const char *cname = conv == FS_DP_CONV_CLASSIC ? "classic" : "improved";

    if (!calibrate) {
        double eps = NAN, order = NAN;
        if (isnan(sigma)) return fs_cli_usage_error(cmd, "--noise-multiplier is required");
        fs_err rc = fs_dp_epsilon_ex(q, sigma, steps, delta, conv, &eps, &order);
        if (rc != FS_OK) return fs_cli_fail(cmd, "%s", fs_errmsg());
        if (isinf(eps)) {
            printf("%ld steps at sampling rate %g with noise multiplier %g: no finite epsilon "
                   "(no privacy) at delta %g\n", steps, q, sigma, delta);
            printf("inf\n");
        } else {
            printf("%ld steps at sampling rate %g with noise multiplier %g are (eps, %g)-DP "
                   "(RDP, %s conversion, best order %g); eps =\n", steps, q, sigma, delta, cname,
                   order);
            printf("%.12g\n", eps);
        }
    } else {
        double s = NAN;
        if (isnan(target)) return fs_cli_usage_error(cmd, "--target-epsilon is required");
        fs_err rc = fs_dp_calibrate_ex(q, steps, delta, target, conv, &s);
        if (rc != FS_OK) return fs_cli_fail(cmd, "%s", fs_errmsg());
        printf("smallest noise multiplier for (%g, %g)-DP over %ld steps at sampling rate %g "
               "(RDP, %s conversion):\n", target, delta, steps, q, cname);
        printf("%.12g\n", s);
    }
    return FS_EXIT_OK;
}

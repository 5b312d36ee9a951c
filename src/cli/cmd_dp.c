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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fedsilo.h>
#include "fedsilo/fs_dp.h"
#include "cli.h"

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

static void usage_eps(FILE *out, const fs_config *cfg)
{
    fprintf(out,
        "Usage: fedsilo dp epsilon --dp-sampling-rate Q --dp-noise S --steps T --dp-delta D\n"
        "                          [--conversion improved|classic]\n"
        "\n"
        "Print the epsilon of T steps of DP-SGD with Poisson sampling rate Q\n"
        "(batch size / rows) and noise multiplier S (noise std / clipping norm)\n"
        "at the given delta.  The last output line is just the number (inf when\n"
        "S is 0).  The flags are those of 'fedsilo train'; the older spellings\n"
        "--sampling-rate, --noise-multiplier and --delta are accepted too.\n\n");
    fs_config_print_help(cfg, out);
    fprintf(out, "  -h, --help           show this help\n");
}

static void usage_cal(FILE *out, const fs_config *cfg)
{
    fprintf(out,
        "Usage: fedsilo dp calibrate --dp-sampling-rate Q --steps T --dp-delta D\n"
        "                            --dp-epsilon E [--conversion improved|classic]\n"
        "\n"
        "Print the smallest noise multiplier (relative precision 1e-9) for which T\n"
        "steps with Poisson sampling rate Q are (E, D)-DP.  The last output line is\n"
        "just the number.  --target-epsilon is another spelling of --dp-epsilon.\n\n");
    fs_config_print_help(cfg, out);
    fprintf(out, "  -h, --help           show this help\n");
}

int fs_cmd_dp(int argc, char **argv)
{
    fs_config *cfg = NULL;
    fs_opts o;
    int calibrate, status;
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
    if (fs_config_create_for(calibrate ? FS_CMD_DP_CALIBRATE : FS_CMD_DP_EPSILON, &cfg) != FS_OK)
        return fs_cli_fail(cmd, "%s", fs_errmsg());
    status = fs_cli_parse_config(cmd, argc - 1, argv + 1, cfg, NULL,
                                 calibrate ? usage_cal : usage_eps);
    if (status < 0 && fs_config_options(cfg, &o) != FS_OK)
        status = fs_cli_usage_error(cmd, "%s", fs_errmsg());
    fs_config_destroy(&cfg);
    if (status >= 0) return status;
    const double q = o.dp.sampling_rate, delta = o.dp.delta;
    const long steps = o.dp.steps;
    const fs_dp_conversion conv = o.dp.conversion;
    const char *cname = conv == FS_DP_CONV_CLASSIC ? "classic" : "improved";

    if (!calibrate) {
        double eps = NAN, order = NAN, sigma = o.dp.noise;
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
        double s = NAN, target = o.dp.epsilon;
        fs_err rc = fs_dp_calibrate_ex(q, steps, delta, target, conv, &s);
        if (rc != FS_OK) return fs_cli_fail(cmd, "%s", fs_errmsg());
        printf("smallest noise multiplier for (%g, %g)-DP over %ld steps at sampling rate %g "
               "(RDP, %s conversion):\n", target, delta, steps, q, cname);
        printf("%.12g\n", s);
    }
    return FS_EXIT_OK;
}

/*
 * cli_opts.c - option parsing shared by every subcommand: the table-driven
 * parser over fs_config (the option table of the library is the only
 * parser of values and ranges), and number parsing for the data commands.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fedsilo.h>
#include "cli.h"

int fs_cli_parse_config(const char *cmd, int argc, char **argv, fs_config *cfg, int *quiet,
                        void (*usage)(FILE *out, const fs_config *cfg))
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout, cfg);
            return FS_EXIT_OK;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--config=", 9) || !strcmp(a, "--config")) {
            const char *path = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!path) return fs_cli_usage_error(cmd, "--config needs a file");
            if (fs_config_load_ini(cfg, path) != FS_OK)
                return fs_cli_usage_error(cmd, "%s", fs_errmsg());
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config")) { i++; continue; }
        if (!strncmp(a, "--config=", 9)) continue;
        if (quiet && !strcmp(a, "--quiet")) { *quiet = 1; continue; }
        if (strncmp(a, "--", 2) != 0 || !a[2])
            return fs_cli_usage_error(cmd, "unexpected argument '%s'", a);
        char key[128];
        const char *eq = strchr(a, '=');
        const char *val;
        if (eq) {
            snprintf(key, sizeof key, "%.*s", (int)(eq - a - 2), a + 2);
            val = eq + 1;
        } else {
            snprintf(key, sizeof key, "%s", a + 2);
            if (fs_config_is_flag(cfg, key) == 1) {
                /* a yes/no flag: the next argument is its value only if it is yes or no */
                val = (i + 1 < argc && (!strcmp(argv[i + 1], "yes") || !strcmp(argv[i + 1], "no")))
                          ? argv[++i] : "yes";
            } else {
                if (i + 1 >= argc) return fs_cli_usage_error(cmd, "option '%s' needs a value", a);
                val = argv[++i];
            }
        }
        char origin[160];
        snprintf(origin, sizeof origin, "--%s", key);
        if (fs_config_set(cfg, key, val, origin) != FS_OK)
            return fs_cli_usage_error(cmd, "%s", fs_errmsg());
    }
    return -1;
}

int fs_cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = (uint64_t)v;
    return 0;
}

int fs_cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s) return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int fs_cli_parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s) return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int fs_cli_bad_option(const char *cmd, int c, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':') return fs_cli_usage_error(cmd, "option '%s' needs an argument", arg);
    if (optopt && !(arg[0] == '-' && arg[1] == '-'))
        return fs_cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return fs_cli_usage_error(cmd, "unknown option '%s'", arg);
}

void fs_cli_getopt_reset(void)
{
    optind = 0;   /* glibc: 0 also reinitializes the internal state */
    opterr = 0;   /* we print our own messages */
}

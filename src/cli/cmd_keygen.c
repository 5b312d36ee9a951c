/*
 * cmd_keygen.c - `fedsilo keygen`: create an institution's long-term
 * Ed25519 identity key (RFC 8032) and print its roster section.
 *
 * CLI layer; needs no MPI.  Writes PREFIX.key (PKCS#8 PEM, mode 0600) and
 * PREFIX.pub (one line "ed25519:BASE64"), then prints a ready-to-paste
 * [institution "NAME"] section on stdout; progress goes to stderr so that
 * stdout can be appended to a roster directly.  See docs/keys.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fedsilo.h>
#include <fedsilo/fs_crypto.h>
#include "cli.h"

static const char usage[] =
    "Usage: fedsilo keygen --name NAME --out PREFIX [--rank N] [--data PATH] [--force]\n"
    "\n"
    "Create this institution's long-term Ed25519 identity key.\n"
    "\n"
    "  --name NAME    institution name as it will appear in the roster\n"
    "                 (1-32 characters from A-Z a-z 0-9 . _ -)\n"
    "  --out PREFIX   write PREFIX.key (private key, PEM, mode 0600) and\n"
    "                 PREFIX.pub (public key, one line \"ed25519:BASE64\")\n"
    "  --rank N       MPI rank to print in the roster section (else \"?\")\n"
    "  --data PATH    data shard path to print in the roster section\n"
    "  --force        replace existing PREFIX.key / PREFIX.pub\n"
    "  -h, --help     show this help\n"
    "\n"
    "The roster section for the consortium roster file is printed on stdout.\n"
    "Keep PREFIX.key private; send only PREFIX.pub (or the printed section)\n"
    "to whoever maintains the roster.  See docs/keys.md.\n";

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int fs_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "out", required_argument, NULL, 'o' },
        { "rank", required_argument, NULL, 'r' },
        { "data", required_argument, NULL, 'd' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *name = NULL, *prefix = NULL, *data = NULL;
    long rank = -1;
    int force = 0, c, status = FS_EXIT_FAIL;
    char *keypath = NULL, *pubpath = NULL;
    fs_identity *id = NULL;
    uint8_t pub[FS_ED25519_PUBBYTES];
    char pubtext[FS_PUBKEY_TEXTBYTES];

    opterr = 0;
    optind = 0;  /* glibc: full reinitialization, then parsing starts at argv[1] */
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'o': prefix = optarg; break;
        case 'd': data = optarg; break;
        case 'f': force = 1; break;
        case 'h': fputs(usage, stdout); return FS_EXIT_OK;
        case 'r': {
            char *end;
            errno = 0;
            rank = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || rank < 0 || rank > INT_MAX)
                return fs_cli_usage_error("keygen", "--rank needs a non-negative integer, got '%s'",
                                          optarg);
            break;
        }
        case ':':
            return fs_cli_usage_error("keygen", "option '%s' needs an argument", argv[optind - 1]);
        default:
            return fs_cli_usage_error("keygen", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fs_cli_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
    if (!name) return fs_cli_usage_error("keygen", "--name NAME is required");
    if (!prefix || !*prefix) return fs_cli_usage_error("keygen", "--out PREFIX is required");
    if (!fs_roster_valid_name(name))
        return fs_cli_usage_error("keygen", "invalid --name '%s': use 1-32 characters from "
                                  "A-Z a-z 0-9 . _ - starting with a letter or digit", name);
    if (data && strpbrk(data, "\n;#"))
        return fs_cli_usage_error("keygen", "--data path must not contain newlines, ';' or '#'");

    size_t n = strlen(prefix) + 5;
    keypath = malloc(n);
    pubpath = malloc(n);
    if (!keypath || !pubpath) { status = fs_cli_fail("keygen", "out of memory"); goto done; }
    snprintf(keypath, n, "%s.key", prefix);
    snprintf(pubpath, n, "%s.pub", prefix);
    if (!force && (exists(keypath) || exists(pubpath))) {
        status = fs_cli_fail("keygen", "'%s' already exists; refusing to overwrite an identity "
                             "key (use --force to replace it)", exists(keypath) ? keypath : pubpath);
        goto done;
    }

    if (fs_crypto_init() != FS_OK || fs_identity_generate(&id) != FS_OK ||
        fs_identity_public(id, pub) != FS_OK || fs_pubkey_to_text(pub, pubtext, sizeof pubtext) != FS_OK) {
        status = fs_cli_fail("keygen", "%s", fs_errmsg());
        goto done;
    }
    if (fs_identity_save(id, keypath, force) != FS_OK) {
        status = fs_cli_fail("keygen", "%s", fs_errmsg());
        goto done;
    }
    if (fs_pubkey_save(pub, pubpath, force) != FS_OK) {
        status = fs_cli_fail("keygen", "%s", fs_errmsg());
        /* Do not leave a private key without its public half (new keys only). */
        if (!force) unlink(keypath);
        goto done;
    }

    fprintf(stderr, "fedsilo keygen: wrote %s (private key, mode 0600) and %s\n", keypath, pubpath);
    if (rank < 0)
        printf("; set rank to this institution's MPI rank: ranks are 0..N-1, one per institution\n");
    printf("[institution \"%s\"]\n", name);
    if (rank < 0) printf("rank = ?\n");
    else printf("rank = %ld\n", rank);
    printf("public_key = %s\n", pubtext);
    if (data) printf("data = %s\n", data);
    if (fflush(stdout) != 0) {
        status = fs_cli_fail("keygen", "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = FS_EXIT_OK;
done:
    fs_identity_destroy(&id);
    free(keypath);
    free(pubpath);
    return status;
}

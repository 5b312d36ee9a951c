/*
 * t_progress.c - drive the CLI progress helper (src/cli/progress.c) the way
 * `fedsilo import` would: a phase of TOTAL rows in steps of STEP with
 * SLEEP_MS between steps, a second phase, then end.  tests/ux/progress.sh
 * runs it with stderr on a file (plain lines) and on a pseudo-terminal
 * (bar) and checks what was printed.
 *
 *   t_progress TOTAL STEP SLEEP_MS [fail]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/progress.h"

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: t_progress TOTAL STEP SLEEP_MS [fail]\n");
        return 2;
    }
    unsigned long total = strtoul(argv[1], NULL, 10), step = strtoul(argv[2], NULL, 10);
    long ms = strtol(argv[3], NULL, 10);
    int fail = argc > 4 && !strcmp(argv[4], "fail");
    cli_progress *p = cli_progress_begin("import", total, "rows");
    cli_progress_phase(p, 0, "reading images");
    for (unsigned long done = 0; done < total; done += step) {
        cli_progress_set(p, done);
        sleep_ms(ms);
    }
    cli_progress_phase(p, total, "writing train.h5");
    sleep_ms(ms);
    cli_progress_end(&p, !fail);
    cli_progress_end(&p, 1);          /* NULL-safe: a second end does nothing */
    cli_progress_set(NULL, 1);
    printf("t_progress: %s\n", fail ? "failed" : "finished");
    return fail;
}

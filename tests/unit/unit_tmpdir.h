/*
 * unit_tmpdir.h - the fixture shared by the data-layer unit tests
 * (check_data.c, check_schema.c): every test runs in check's forked child
 * with a fresh mkdtemp directory under $TMPDIR (or /tmp), removed in the
 * teardown; tpath() names files in it; CHECK_ERR asserts an error code and
 * two phrases of the message.  Define UNIT_TMPDIR_NAME (the directory
 * prefix) and include this once, after <check.h> and the fedsilo headers.
 */
#ifndef FEDSILO_UNIT_TMPDIR_H
#define FEDSILO_UNIT_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmpdir[4096];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/" UNIT_TMPDIR_NAME ".XXXXXX",
             base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static void teardown(void) { nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* tmpdir/name in one of 8 rotating static buffers. */
static const char *tpath(const char *name)
{
    static char buf[8][4200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Assert rc == want and that fs_errmsg() contains both a and b. */
#define CHECK_ERR(rc_, want, a, b)                                                   \
    do {                                                                             \
        fs_err r_ = (rc_);                                                           \
        ck_assert_msg(r_ == (want), "rc %d (%s), want %d; msg: %s", (int)r_,         \
                      fs_strerror(r_), (int)(want), fs_errmsg());                    \
        ck_assert_msg(strstr(fs_errmsg(), (a)) != NULL, "message lacks '%s': %s",    \
                      (a), fs_errmsg());                                             \
        ck_assert_msg(strstr(fs_errmsg(), (b)) != NULL, "message lacks '%s': %s",    \
                      (b), fs_errmsg());                                             \
    } while (0)

#endif /* FEDSILO_UNIT_TMPDIR_H */

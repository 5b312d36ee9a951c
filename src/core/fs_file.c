/*
 * fs_file.c - the one home of file publishing, directory creation and
 * rank-path expansion (core layer; no MPI).
 *
 * Durable publish (the rdbSave pattern of Redis): the new contents go to
 * PATH.tmp.<pid> in the same directory, are flushed and fsync'd, renamed
 * over PATH, and the directory is fsync'd, so after a crash PATH holds
 * either the old or the new contents, never a mixture, and a completed
 * publish survives a power loss.  Every file the library writes goes
 * through fs_file_publish, fs_file_commit (files written by HDF5 or another
 * program under a temporary name) or fs_file_append_line (metrics lines).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs_impl.h"
#include "fedsilo/fs_file.h"

fs_err fs_file_sync_dir(const char *path)
{
    fs_err rc = FS_OK;
    char *dir = NULL;
    int fd = -1;

    FS_TRY(fs_strdup(&dir, path));
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) FS_FAIL(FS_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    /* Some file systems cannot fsync a directory; the rename still happened. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        FS_FAIL(FS_ERR_IO, "cannot fsync directory %s: %s", dir, strerror(errno));
done:
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
}

fs_err fs_file_commit(const char *tmp, const char *path)
{
    fs_err rc = FS_OK;
    int fd = open(tmp, O_RDONLY);
    /* Make the bytes durable before the rename publishes them. */
    if (fd < 0) FS_FAIL(FS_ERR_IO, "cannot reopen %s: %s", tmp, strerror(errno));
    if (fsync(fd) != 0) FS_FAIL(FS_ERR_IO, "cannot fsync %s: %s", tmp, strerror(errno));
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0)
        FS_FAIL(FS_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    FS_TRY(fs_file_sync_dir(path));
done:
    if (fd >= 0) close(fd);
    return rc;
}

fs_err fs_file_tmp_name(char *out, size_t cap, const char *path)
{
    int len = snprintf(out, cap, "%s.tmp.%ld", path, (long)getpid());
    if (len < 0 || (size_t)len >= cap)
        return fs_error_set(FS_ERR_ARG, "path too long: %.200s...", path);
    return FS_OK;
}

fs_err fs_file_publish(const char *path, fs_file_write_fn write, void *user)
{
    fs_err rc = FS_OK;
    char tmp[4200];
    FILE *f = NULL;
    int created = 0;
    FS_TRY(fs_file_tmp_name(tmp, sizeof tmp, path));
    f = fopen(tmp, "w");
    if (!f) FS_FAIL(FS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    created = 1;
    FS_TRY(write(f, user));
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
        FS_FAIL(FS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    int cst = fclose(f);
    f = NULL;
    if (cst != 0) FS_FAIL(FS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (rename(tmp, path) != 0)
        FS_FAIL(FS_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    created = 0;
    FS_TRY(fs_file_sync_dir(path));
done:
    if (f) fclose(f);
    if (created) unlink(tmp);
    return rc;
}

fs_err fs_file_append_line(const char *path, const char *line)
{
    FILE *f = fopen(path, "a");
    if (!f) return fs_error_set(FS_ERR_IO, "cannot append to %s: %s", path, strerror(errno));
    int bad = fputs(line, f) < 0 || fputc('\n', f) == EOF || fflush(f) != 0 ||
              fsync(fileno(f)) != 0;
    if (fclose(f) != 0 || bad)
        return fs_error_set(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return FS_OK;
}

fs_err fs_mkdir_p(const char *path)
{
    char buf[4096];
    if (!path || !path[0]) return fs_error_set(FS_ERR_ARG, "empty directory name");
    if (strlen(path) >= sizeof buf)
        return fs_error_set(FS_ERR_ARG, "directory name longer than %zu bytes: %.200s...",
                            sizeof buf - 1, path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return fs_error_set(FS_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return fs_error_set(FS_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return fs_error_set(FS_ERR_IO, "%s is not a directory", buf);
    return FS_OK;
}

fs_err fs_path_check_pattern(const char *pattern, const char *what)
{
    const char *pct = strchr(pattern, '%');
    if (pct && (pct[1] != 'd' || strchr(pct + 2, '%')))
        return fs_error_set(FS_ERR_ARG, "%s '%s': the only placeholder allowed is one %%d "
                            "(the rank)", what, pattern);
    return FS_OK;
}

fs_err fs_path_expand_rank(char *out, size_t cap, const char *pattern, int rank)
{
    /* The pattern is copied byte by byte, never used as a format string. */
    const char *pct = strstr(pattern, "%d");
    size_t pre = pct ? (size_t)(pct - pattern) : strlen(pattern);
    char num[16] = "";
    if (pct) snprintf(num, sizeof num, "%d", rank);
    const char *post = pct ? pct + 2 : "";
    size_t need = pre + strlen(num) + strlen(post);
    if (need >= cap) {
        if (cap) out[0] = '\0';
        return fs_error_set(FS_ERR_ARG, "path longer than %zu bytes: %.200s...", cap - 1,
                            pattern);
    }
    memcpy(out, pattern, pre);
    memcpy(out + pre, num, strlen(num));
    memcpy(out + pre + strlen(num), post, strlen(post) + 1);
    return FS_OK;
}

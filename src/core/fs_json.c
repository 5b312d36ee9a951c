/*
 * fs_json.c - JSON values, lines and files over jansson (see
 * fs_json_impl.h for the number format).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs_json_impl.h"
#include "fedsilo/fs_file.h"

json_t *fs_json_number(double v)
{
    if (!isfinite(v)) return json_null();
    if (v == floor(v) && fabs(v) < 0x1p53) return json_integer((json_int_t)v);
    return json_real(v);
}

json_t *fs_json_number_sig(double v, int digits)
{
    if (!isfinite(v)) return json_null();
    char buf[64];
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    return fs_json_number(strtod(buf, NULL));
}

json_t *fs_json_text(const char *s)
{
    if (!s) s = "";
    json_t *j = json_string(s);
    if (j) return j;
    char *copy = strdup(s);
    if (!copy) return NULL;
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c >= 0x80) *c = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

json_t *fs_json_numbers(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, fs_json_number(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

int fs_json_put(json_t *obj, const char *key, json_t *val)
{
    if (!obj || !val) {
        json_decref(val);
        return -1;
    }
    return json_object_set_new(obj, key, val) == 0 ? 0 : -1;
}

int fs_json_put_num(json_t *obj, const char *pre, const char *name, double v)
{
    char key[64];
    snprintf(key, sizeof key, "%s%s%s", pre, pre[0] ? "_" : "", name);
    return fs_json_put(obj, key, fs_json_number(v));
}

fs_err fs_json_line(const json_t *root, char **out)
{
    *out = json_dumps(root, JSON_REAL_PRECISION(FS_JSON_LINE_DIGITS));
    return *out ? FS_OK : fs_error_set(FS_ERR_NOMEM, "out of memory formatting a JSON line");
}

static fs_err dump_root(FILE *f, void *user)
{
    const json_t *root = user;
    if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(FS_JSON_FILE_DIGITS)) != 0 ||
        fputc('\n', f) == EOF)
        return fs_error_set(FS_ERR_IO, "cannot write JSON (disk full?)");
    return FS_OK;
}

fs_err fs_json_write_file(const char *path, const json_t *root)
{
    fs_err rc = fs_file_publish(path, dump_root, (void *)root);
    if (rc != FS_OK && strstr(fs_errmsg(), path) == NULL) fs_error_prefix(rc, "%s: ", path);
    return rc;
}

int fs_json_real_of(const json_t *obj, const char *key, double *v)
{
    const json_t *x = json_object_get(obj, key);
    if (!json_is_number(x)) return -1;
    *v = json_number_value(x);
    return 0;
}

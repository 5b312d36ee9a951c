/*
 * fs_json_impl.h - the JSON helpers of libfedsilo over jansson (core layer;
 * not installed: jansson types never appear in the public headers).  Every
 * JSON file the library writes or reads goes through these functions and
 * jansson, so there is one number format:
 *   - a finite value that is an integer below 2^53 in magnitude is written
 *     as a JSON integer ("1799", exactly like printf's %.9g or %.17g);
 *   - any other finite value as a JSON real with the document's precision
 *     (9 significant digits for metrics lines, 17 for result files: these
 *     round-trip a double), in jansson's %g spelling;
 *   - NaN and infinities as null.
 */
#ifndef FEDSILO_FS_JSON_IMPL_H
#define FEDSILO_FS_JSON_IMPL_H

#include <stddef.h>
#include <jansson.h>
#include "fs_impl.h"

/* Significant digits of metrics lines and of result files. */
#define FS_JSON_LINE_DIGITS 9
#define FS_JSON_FILE_DIGITS 17

/* A new reference to the JSON value of v (see above); NULL only when out
 * of memory.  fs_json_number_sig first rounds v to `digits` significant
 * decimal digits (as printf's %.*g), for values documented at that
 * precision (per-class F1). */
FS_INTERN json_t *fs_json_number(double v);
FS_INTERN json_t *fs_json_number_sig(double v, int digits);
/* A new JSON string of s (NULL: ""); bytes that are not valid UTF-8 become
 * '?' (JSON text must be UTF-8).  NULL only when out of memory. */
FS_INTERN json_t *fs_json_text(const char *s);
/* A new array of the n values of v. */
FS_INTERN json_t *fs_json_numbers(const double *v, size_t n);

/*
 * fs_json_put - obj[key] = val, stealing val (NULL val, e.g. from a failed
 * allocation, counts as failure).  Returns 0, or -1 on failure (val is
 * released); callers OR the results and report FS_ERR_NOMEM once.
 */
FS_INTERN int fs_json_put(json_t *obj, const char *key, json_t *val);

/*
 * fs_json_put_num - obj["pre_name"] (just "name" when pre is "") = v as a
 * JSON number, null when v is not finite.  Returns as fs_json_put.
 */
FS_INTERN int fs_json_put_num(json_t *obj, const char *pre, const char *name, double v);

/*
 * fs_json_line - *out = root as one line (no newline; ", " and ": "
 * separators, keys in insertion order, FS_JSON_LINE_DIGITS digits), owned
 * by the caller (free).  returns FS_OK or FS_ERR_NOMEM.
 */
FS_INTERN fs_err fs_json_line(const json_t *root, char **out);

/*
 * fs_json_write_file - publish root to path durably (fs_file_publish),
 * indented by 2, FS_JSON_FILE_DIGITS digits, with a final newline.
 * returns FS_OK, FS_ERR_NOMEM or FS_ERR_IO.
 */
FS_INTERN fs_err fs_json_write_file(const char *path, const json_t *root);

/* fs_json_real_of - the number at obj[key] (integer or real) in *v; 0 if it
 * is there and a number, -1 otherwise (*v untouched). */
FS_INTERN int fs_json_real_of(const json_t *obj, const char *key, double *v);

#endif /* FEDSILO_FS_JSON_IMPL_H */

/*
 * fs_config.h - the run configuration: one table of typed options, read
 * from an INI file (libinih) and overridden by command-line flags.
 *
 * Every option has a section (for the INI file), a key, a type, a default,
 * a range and a help line.  The command-line flag is "--" + key with '_'
 * replaced by '-': [train] local_epochs = 2 in the file is --local-epochs 2
 * on the command line.  Keys are unique across sections.  Values are
 * validated when set (range, enum) and as a whole by fs_config_check.
 * The effective configuration is printed in INI form by fs_config_dump and
 * fingerprinted by fs_config_hash, so all ranks can verify they run the
 * same configuration.
 */
#ifndef FEDSILO_FS_CONFIG_H
#define FEDSILO_FS_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "fs_export.h"
#include "fs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_config fs_config;

/*
 * fs_config_create - a configuration holding every default.  Not
 * collective.  Caller owns *out (fs_config_destroy).
 */
FS_EXPORT fs_err fs_config_create(fs_config **out) FS_WARN_UNUSED;

/* fs_config_destroy - free; NULL-safe; sets *cfg = NULL. */
FS_EXPORT void fs_config_destroy(fs_config **cfg);

/*
 * fs_config_set - set option `key` (INI key or flag name without "--";
 * '-' and '_' are equivalent) from text.  `origin` names where the value
 * came from ("run.ini:12", "--lr") for error messages.  Returns FS_ERR_ARG
 * with a message naming origin, key and the allowed range/values for an
 * unknown key or a bad value.  Not collective.
 */
FS_EXPORT fs_err fs_config_set(fs_config *cfg, const char *key, const char *value,
                               const char *origin) FS_WARN_UNUSED;

/*
 * fs_config_load_ini - apply every key of an INI file.  Sections must be the
 * option's section (a key in the wrong section is an error naming both).
 * Errors name the file and line.  Returns FS_OK, FS_ERR_IO (cannot read),
 * FS_ERR_ARG (syntax, unknown key, bad value).  Not collective.
 */
FS_EXPORT fs_err fs_config_load_ini(fs_config *cfg, const char *path) FS_WARN_UNUSED;

/*
 * fs_config_check - cross-option validation (e.g. a data source is given,
 * batch size vs model).  Not collective.  Returns FS_OK or FS_ERR_ARG.
 */
FS_EXPORT fs_err fs_config_check(const fs_config *cfg) FS_WARN_UNUSED;

/* Typed getters; `key` must name an option of that type (else 0/NULL). */
FS_EXPORT const char *fs_config_str(const fs_config *cfg, const char *key);
FS_EXPORT long fs_config_int(const fs_config *cfg, const char *key);
FS_EXPORT double fs_config_real(const fs_config *cfg, const char *key);

/* 1 if the option was set explicitly (file or flag), 0 if default. */
FS_EXPORT int fs_config_is_set(const fs_config *cfg, const char *key);

/*
 * fs_config_dump - write the effective configuration as an INI file to out
 * (every option, grouped by section, with its origin as a comment when
 * with_origin is non-zero).  Not collective.
 */
FS_EXPORT void fs_config_dump(const fs_config *cfg, FILE *out, int with_origin);

/*
 * fs_config_hash - 64-bit fingerprint of every option value (not origins).
 * Equal on two ranks iff they run the same effective configuration (up to
 * hash collisions).  Not collective.
 */
FS_EXPORT uint64_t fs_config_hash(const fs_config *cfg);

/*
 * Option table introspection, for building --help and getopt tables.
 * fs_config_noptions returns the count; fs_config_option fills the
 * borrowed static strings of option i (NULL outputs are skipped) and
 * returns 0, or -1 if i is out of range.  `kind` is one of "string",
 * "int", "real", "choice".
 */
FS_EXPORT int fs_config_noptions(void);
FS_EXPORT int fs_config_option(int i, const char **section, const char **key,
                               const char **kind, const char **defval,
                               const char **range, const char **help);

/* fs_config_print_help - options grouped by section, as flags, to out. */
FS_EXPORT void fs_config_print_help(FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_CONFIG_H */

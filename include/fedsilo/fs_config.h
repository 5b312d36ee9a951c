/*
 * fs_config.h - the configuration of one fedsilo command: one table of
 * typed options, read from an INI file (libinih) and overridden by
 * command-line flags, that fills the typed structs of fs_opts.h once.
 *
 * Every option has a section (for the INI file), a key, a type, a default,
 * a range and a help line.  The command-line flag is "--" + key with '_'
 * replaced by '-': [train] local_epochs = 2 in the file is --local-epochs 2
 * on the command line.  Keys are unique among one command's options; a few
 * options also accept an older spelling (--noise-multiplier for --dp-noise).
 * Values are validated when set (range, enum) and as a whole by
 * fs_config_options.  The effective configuration is printed in INI form by
 * fs_config_dump and fingerprinted by fs_config_hash, so all ranks can
 * verify they run the same configuration.
 */
#ifndef FEDSILO_FS_CONFIG_H
#define FEDSILO_FS_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "fs_export.h"
#include "fs_error.h"
#include "fs_opts.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_config fs_config;

/*
 * fs_config_create_for - the configuration of command cmd holding every
 * default of its rows (required options unset).  Not collective.  Caller
 * owns *out (fs_config_destroy).  fs_config_create is the train command's.
 */
FS_EXPORT fs_err fs_config_create_for(fs_command cmd, fs_config **out) FS_WARN_UNUSED;
FS_EXPORT fs_err fs_config_create(fs_config **out) FS_WARN_UNUSED;

/* fs_config_destroy - free; NULL-safe; sets *cfg = NULL. */
FS_EXPORT void fs_config_destroy(fs_config **cfg);

/* fs_config_command - the command cfg configures. */
FS_EXPORT fs_command fs_config_command(const fs_config *cfg);

/*
 * fs_config_set - set option `key` (INI key, flag name without "--", or the
 * option's older alias; '-' and '_' are equivalent) from text.  `origin`
 * names where the value came from ("run.ini:12", "--lr") for error
 * messages.  Returns FS_ERR_ARG with a message naming origin, key and the
 * allowed range/values for an unknown key or a bad value (the previous
 * value is kept).  Not collective.
 */
FS_EXPORT fs_err fs_config_set(fs_config *cfg, const char *key, const char *value,
                               const char *origin) FS_WARN_UNUSED;

/*
 * fs_config_is_flag - 1 if option `key` is a yes/no flag that a command line
 * may give without a value (meaning yes), 0 if it needs a value, -1 if the
 * command has no such option.  Not collective.
 */
FS_EXPORT int fs_config_is_flag(const fs_config *cfg, const char *key);

/*
 * fs_config_load_ini - apply every key of an INI file.  Sections must be the
 * option's section (a key in the wrong section is an error naming both).
 * Errors name the file and line.  Returns FS_OK, FS_ERR_IO (cannot read),
 * FS_ERR_ARG (syntax, unknown key, bad value).  Not collective.
 */
FS_EXPORT fs_err fs_config_load_ini(fs_config *cfg, const char *path) FS_WARN_UNUSED;

/*
 * fs_config_options - fill *out with the typed options of cfg (fs_opts.h),
 * once, and refuse invalid combinations and missing required options: the
 * one place that does.  Strings in *out are borrowed from cfg.  Not
 * collective.  Returns FS_OK or FS_ERR_ARG with a message naming the flags.
 */
FS_EXPORT fs_err fs_config_options(const fs_config *cfg, fs_opts *out) FS_WARN_UNUSED;

/* fs_config_check - fs_config_options without keeping the result. */
FS_EXPORT fs_err fs_config_check(const fs_config *cfg) FS_WARN_UNUSED;

/*
 * fs_config_dump - write the effective configuration as an INI file to out
 * (every option of the command, grouped by section, with its origin as a
 * comment when with_origin is non-zero).  Not collective.
 */
FS_EXPORT void fs_config_dump(const fs_config *cfg, FILE *out, int with_origin);

/*
 * fs_config_hash - 64-bit fingerprint of every option value of the command
 * (keys and accepted text, not origins).  Equal on two ranks iff they run
 * the same effective configuration (up to hash collisions).  Not collective.
 */
FS_EXPORT uint64_t fs_config_hash(const fs_config *cfg);

/*
 * fs_config_print_help - the command's options as flags, one per line:
 * help, alias, default or "(required)"; train's grouped by INI section.
 */
FS_EXPORT void fs_config_print_help(const fs_config *cfg, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* FEDSILO_FS_CONFIG_H */

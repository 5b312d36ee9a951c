/*
 * fs_ini_impl.h - the INI reader shared by the roster (crypto layer) and the
 * consortium schema (data layer).  Not installed, no MPI.
 *
 * libinih does the tokenizing; fs_ini_parse turns a file into a flat list of
 * section *instances* (so a repeated section is visible, where libinih would
 * merge it) and (section, key, value, line) entries, so that the caller can
 * validate everything in a second pass with "KIND PATH:LINE: ..." messages.
 * Debian's libinih calls handlers without line numbers, so the reader counts
 * lines itself.  Indentation is stripped before libinih sees a line, so an
 * indented key is an ordinary key, never a continuation of the previous value.
 */
#ifndef FEDSILO_FS_INI_IMPL_H
#define FEDSILO_FS_INI_IMPL_H

#include <stdio.h>
#include "fs_impl.h"

/* libinih's line buffer (INI_MAX_LINE) is 200 bytes including the newline
 * and the NUL, so a line may hold at most 198 characters. */
#define FS_INI_MAX_LINE 198

typedef struct {
    char *name;      /* the full text between '[' and the first ']' */
    int line;        /* 1-based line of the header */
} fs_ini_section;

typedef struct {
    int sect;        /* index into fs_ini_doc.sects */
    int line;        /* 1-based line of the key */
    char *key;       /* as libinih returns it: trimmed, may end in '+' for "k += v" */
    char *value;     /* trimmed, inline ';' comment removed */
} fs_ini_entry;

typedef struct {
    fs_ini_section *sects;   /* (nsects) in file order */
    int nsects;
    fs_ini_entry *ents;      /* (nents) in file order */
    int nents;
} fs_ini_doc;

/*
 * fs_ini_parse - read the INI text of stream f (opened by the caller) into
 * *doc.  Not collective.  kind ("roster", "schema") and path name the file
 * in messages ("roster r.ini:7: line is longer than 198 characters").
 * Refused with FS_ERR_DATA: a line longer than FS_INI_MAX_LINE, a syntax
 * error, a key before any section, a malformed section header (the earliest
 * is reported).  A read error is FS_ERR_IO ("cannot read KIND file 'PATH'").
 * On failure *doc is empty; on success the caller frees it with
 * fs_ini_doc_free.  Returns FS_OK, FS_ERR_DATA, FS_ERR_IO, FS_ERR_NOMEM.
 */
FS_INTERN fs_err fs_ini_parse(FILE *f, const char *kind, const char *path, fs_ini_doc *doc);

/* fs_ini_doc_free - free everything in doc and empty it; NULL-safe. */
FS_INTERN void fs_ini_doc_free(fs_ini_doc *doc);

/*
 * fs_ini_fail - record "KIND PATH:LINE: <message>" (or "KIND PATH: ..." for
 * line 0) as FS_ERR_DATA and return FS_ERR_DATA.
 */
FS_INTERN fs_err fs_ini_fail(const char *kind, const char *path, int line, const char *fmt, ...)
    FS_PRINTF(4, 5);

#endif /* FEDSILO_FS_INI_IMPL_H */

/*
 * fs_schema_impl.h - data layer, private to src/data: the parsed consortium
 * schema behind the opaque fs_schema, shared by parsing (fs_schema.c) and
 * the hash, accessors and cell encoding (fs_schema_cell.c).
 */
#ifndef FS_SCHEMA_IMPL_H
#define FS_SCHEMA_IMPL_H

#include <stddef.h>
#include "fedsilo/fs_schema.h"

/* A column and the storage behind its public view. */
typedef struct {
    fs_schema_column pub;     /* borrowed views of the fields below */
    char *name;
    char **cats;              /* (ncats) categories or classes, schema order */
    size_t ncats;
    size_t *order;            /* (ncats) indices of cats in strcmp order */
    double *cat_value;        /* (ncats) numeric value of each class, when all are numbers */
    char **own_missing;       /* (nown) this column's missing tokens, or NULL */
    size_t nown;
    int has_own_missing;
} column;

struct fs_schema {
    char *text;               /* NUL-terminated copy of the INI text */
    char *title;              /* [schema] name, or NULL */
    char **missing;           /* (nmissing) default missing tokens */
    size_t nmissing;
    int extra_ignore;
    column *cols;             /* (ncols) in section order */
    size_t ncols;
    fs_schema_feature *feats; /* (nfeat) in /X order */
    char **feat_names;        /* (nfeat) */
    size_t nfeat;
    long label, id;           /* column indices, -1 = none */
    fs_task task;
    uint8_t hash[FS_SCHEMA_HASHBYTES];
    char hex[FS_SCHEMA_HASHHEX + 1];
};

/* Fills s->hash and s->hex with the canonical hash of the parsed schema
 * (the framing is described at the top of fs_schema_cell.c).  Local; FS_OK,
 * or the error of the SHA-256 layer with its message. */
fs_err fs_schema_compute_hash(fs_schema *s);

#endif

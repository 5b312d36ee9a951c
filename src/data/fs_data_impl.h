/*
 * fs_data_impl.h - helpers shared inside the data layer (src/data/; not
 * installed, no MPI): the CSV reader, the id checks, the copying of a
 * dataset's label and schema metadata.
 */
#ifndef FEDSILO_FS_DATA_IMPL_H
#define FEDSILO_FS_DATA_IMPL_H

#include <stddef.h>
#include "fs_impl.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_schema.h"

/*
 * fs_ids_find_repeat - look for two equal strings among ids (n, borrowed,
 * none NULL).  Sorts an O(n) index (ids itself is untouched).  Not
 * collective.  On return *found is 1 if some id repeats; then *first <
 * *second are the 0-based positions of the first and second occurrence
 * of the smallest repeated id (in strcmp order).
 * returns FS_OK or FS_ERR_NOMEM.
 */
FS_INTERN fs_err fs_ids_find_repeat(char *const *ids, size_t n, int *found, size_t *first,
                                    size_t *second);

// ---------------------------------------------------------------- CSV reader

/*
 * A CSV file read completely into memory (fs_csv.c).  RFC 4180 records: a
 * field in double quotes may hold the delimiter, line breaks and "" (one
 * literal quote).  Unlike RFC 4180, blanks (spaces, and tabs unless the
 * delimiter is a tab) around a field are dropped; inside quotes they are
 * kept.  Lines end in LF or CRLF; a UTF-8 byte-order mark is skipped.
 * Record 0 is the header; every record has exactly ncols fields.
 */
typedef struct {
    char *text;        /* the file; the cells point into it, unquoted in place */
    size_t ncols;      /* fields per record (the header's count) */
    size_t nrec;       /* records, the header included (>= 1) */
    char **cells;      /* (nrec, ncols) NUL-terminated, trimmed */
    size_t *line;      /* (nrec) 1-based line on which each record starts */
} fs_csv;

/*
 * fs_csv_read - read path with delimiter delim (',' when 0) into *csv.
 * Not collective.  Errors (FS_ERR_DATA unless noted) name the file and, as
 * 1-based rows (the header is row 1; "row 7 (line 9)" once quoted line
 * breaks make rows and lines differ): cannot open or read (FS_ERR_IO), a NUL
 * byte, an empty file, an unterminated quoted field, text after a closing
 * quote, an empty line before the last record ("row 3 is empty"; empty lines
 * at the end are ignored), a record with another number of fields than the
 * header ("row 3 has 2 fields, header has 3").  On failure *csv is empty; on
 * success free it with fs_csv_free.
 */
FS_INTERN fs_err fs_csv_read(const char *path, char delim, fs_csv *csv);

/* fs_csv_free - free everything in csv and empty it; NULL-safe. */
FS_INTERN void fs_csv_free(fs_csv *csv);

/* The cell of record r (0 = header), field j; borrowed from csv. */
static inline const char *fs_csv_cell(const fs_csv *csv, size_t r, size_t j)
{
    return csv->cells[r * csv->ncols + j];
}

/* "row R" (R = r + 1), or "row R (line L)" when record r starts on another
 * line; written to buf (capacity FS_CSV_ROW_CAP), returned. */
#define FS_CSV_ROW_CAP 64
FS_INTERN const char *fs_csv_row(const fs_csv *csv, size_t r, char *buf);

/*
 * fs_csv_header_hint - a hint for a header that was probably split with the
 * wrong delimiter: when the file has one column and its header cell holds
 * ';', a tab or '|' (or ',' under another delimiter), " (the header is one
 * field containing ';': is the file ';'-separated? use --delimiter ';')";
 * else "".  Borrowed static text; valid until the next call.
 */
FS_INTERN const char *fs_csv_header_hint(const fs_csv *csv, char delim);

/*
 * fs_csv_find_column - index of the header cell named want in *col, or
 * FS_ERR_DATA "PATH: no column named 'want' in the header (columns: ...)"
 * with the header hint.
 */
FS_INTERN fs_err fs_csv_find_column(const fs_csv *csv, const char *path, char delim,
                                    const char *want, size_t *col);

/*
 * fs_csv_check_header - refuse a header naming a column twice ("column 'a'
 * appears more than once in the header (columns 2 and 5)").
 */
FS_INTERN fs_err fs_csv_check_header(const fs_csv *csv, const char *path);

/*
 * fs_csv_check_ids - the cells of id column col (rows 1..nrec-1): non-empty,
 * no comma or control character, no repeats; messages name file, row and
 * column.  Returns FS_OK, FS_ERR_DATA, FS_ERR_NOMEM.
 */
FS_INTERN fs_err fs_csv_check_ids(const fs_csv *csv, const char *path, size_t col);

/* fs_csv_delimiter_check - FS_OK for a usable delimiter, else FS_ERR_ARG. */
FS_INTERN fs_err fs_csv_delimiter_check(char d);

/* Parse a whole cell as a finite double; 0 on success, -1 otherwise. */
FS_INTERN int fs_csv_parse_number(const char *s, double *v);

/*
 * fs_quote_value - s for a message: at most 60 bytes (then "..."), with
 * control bytes shown as '?'; written to buf (capacity FS_QUOTE_CAP).
 */
#define FS_QUOTE_CAP 72
FS_INTERN const char *fs_quote_value(const char *s, char *buf);

// ---------------------------------------------------------------- schema cells

/* What became of one CSV cell under the schema (fs_schema_encode_cell). */
typedef enum {
    FS_CELL_OK = 0,           /* encoded                                     */
    FS_CELL_MISSING,          /* a missing token, allowed: encoded as missing */
    FS_CELL_MISSING_DENIED,   /* a missing token where impute = none, or a
                                 missing label                               */
    FS_CELL_NOT_NUMBER,       /* numeric column or regression label          */
    FS_CELL_OUT_OF_RANGE,     /* outside the schema's range (out_of_range =
                                 error) or beyond float32                    */
    FS_CELL_UNKNOWN           /* a category or class the schema does not list */
} fs_cell_status;

/*
 * fs_schema_encode_cell - encode cell (the text of column col) following
 * the schema: for a numeric or categorical column into x (the column's
 * nfeatures slots of a row of /X), for the label into *label (the class
 * index, or the target); id and ignore columns give FS_CELL_OK and write
 * nothing.  x is written only when the result is OK or MISSING.  Not
 * collective; pure.
 */
FS_INTERN fs_cell_status fs_schema_encode_cell(const fs_schema *s, size_t col, const char *cell,
                                               float *x, double *label);

// ---------------------------------------------------------------- metadata

/*
 * fs_dataset_copy_meta - copy src's class names and id column name into dst
 * and, when with_schema, its schema text and hash (only valid when dst has
 * src's features).  dst's fields must be NULL.  Returns FS_OK or FS_ERR_NOMEM.
 */
FS_INTERN fs_err fs_dataset_copy_meta(fs_dataset *dst, const fs_dataset *src, int with_schema);

/* fs_strv_dup - copy n strings (caller frees each and the array). */
FS_INTERN fs_err fs_strv_dup(char ***out, char *const *src, size_t n);
/* fs_strv_free - free n strings and the array; NULL-safe. */
FS_INTERN void fs_strv_free(char **v, size_t n);

#endif /* FEDSILO_FS_DATA_IMPL_H */

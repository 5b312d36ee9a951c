/* fuzz_schema.c - the consortium schema parser, the CSV reader and the three
 * schema operations on arbitrary bytes.  Input: a mode byte (bits 0-1 pick
 * the delimiter , ; tab |), a 2-byte little-endian schema length L, L bytes
 * of schema, then the CSV file.  Asserted (abort on violation):
 *   - a parsed schema hashes the same when parsed again, and its accessors
 *     agree with each other (features in blocks of their columns);
 *   - import succeeds exactly when schema check reports no problem, and an
 *     imported dataset validates; *out is NULL on failure;
 *   - a schema drafted from the CSV (label: its first header cell) parses. */
#include "fuzz_common.h"

static void check_schema(const fs_schema *s, const uint8_t *text, size_t len)
{
    fs_schema *again = NULL;
    if (fs_schema_parse((const char *)text, len, "again", &again) != FS_OK) abort();
    if (strcmp(fs_schema_hash_hex(s), fs_schema_hash_hex(again)) != 0) abort();
    fs_schema_destroy(&again);
    if (strlen(fs_schema_hash_hex(s)) != FS_SCHEMA_HASHHEX) abort();
    size_t d = fs_schema_num_features(s), seen = 0;
    if (d == 0) abort();
    for (size_t i = 0; i < fs_schema_num_columns(s); i++) {
        const fs_schema_column *c = fs_schema_column_at(s, i);
        if (!c || !c->name || fs_schema_find_column(s, c->name) != (long)i) abort();
        for (size_t j = c->first_feature; j < c->first_feature + c->nfeatures; j++)
            if (!fs_schema_feature_at(s, j) || fs_schema_feature_at(s, j)->column != i) abort();
        seen += c->nfeatures;
    }
    if (seen != d || fs_schema_feature_at(s, d) != NULL) abort();
    for (int k = 0; k < fs_schema_num_classes(s); k++)
        if (!fs_schema_class_name(s, k)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[4] = { ',', ';', '\t', '|' };
    fz_init();
    if (size < 3) return 0;
    const char delim = delims[data[0] & 3];
    size_t slen = (size_t)data[1] | ((size_t)data[2] << 8);
    if (slen > size - 3) slen = size - 3;
    const uint8_t *stext = data + 3, *ctext = data + 3 + slen;
    const size_t clen = size - 3 - slen;
    const char *csv = fz_file("schema-csv", ".csv", ctext, clen);

    fs_schema *s = NULL;
    if (fs_schema_parse((const char *)stext, slen, "fuzz.ini", &s) == FS_OK) {
        check_schema(s, stext, slen);
        fs_dataset *ds = NULL;
        fs_err irc = fs_import_csv_schema(csv, s, delim, &ds);
        if (irc == FS_OK && fs_dataset_validate(ds, csv) != FS_OK) abort();
        if (irc != FS_OK && ds != NULL) abort();
        fs_dataset_destroy(&ds);
        FILE *devnull = fopen("/dev/null", "w");
        size_t problems = 0;
        fs_err crc = fs_schema_check(csv, s, delim, devnull, &problems);
        fclose(devnull);
        if ((irc == FS_OK) != (crc == FS_OK && problems == 0)) abort();
        fs_schema_destroy(&s);
    } else if (s != NULL) {
        abort();
    }

    /* Draft from the CSV: whatever it accepts must be a valid schema. */
    char label[64] = "label";
    size_t i = 0;
    while (i < clen && i < sizeof label - 1 && ctext[i] != (uint8_t)delim && ctext[i] != '\n' &&
           ctext[i] != '\r' && ctext[i] != '"')
        label[i] = (char)ctext[i], i++;
    if (i > 0) label[i] = '\0';
    fs_schema_draft_opts o;
    fs_schema_draft_opts_default(&o);
    o.label_column = label;
    o.delimiter = delim;
    o.max_categories = 8;
    const char *out = fz_file("schema-draft", ".ini", NULL, 0);
    if (fs_schema_draft(csv, &o, out) == FS_OK) {
        fs_schema *d = NULL;
        if (fs_schema_load(out, &d) != FS_OK) abort();
        fs_dataset *ds = NULL;
        if (fs_import_csv_schema(csv, d, delim, &ds) == FS_OK && fs_dataset_validate(ds, csv))
            abort();
        fs_dataset_destroy(&ds);
        fs_schema_destroy(&d);
    }
    unlink(out);
    unlink(csv);
    return 0;
}

/*
 * check_schema.c - unit tests of the consortium schema and the CSV reader
 * (src/data/fs_schema.c, fs_schema_import.c, fs_schema_draft.c, fs_csv.c)
 * and of the schema metadata of dataset files (fs_dataset.c, fs_split.c).
 *
 * No MPI.  Every test runs in check's forked child with its own mkdtemp
 * directory.  Error tests check the code and key phrases of the message
 * (file, line or row, column, value).
 */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>

#include "fedsilo/fs_data.h"
#include "fedsilo/fs_schema.h"
#include "fs_data_impl.h"

// ----------------------------------------------------------------------------
// fixture and helpers

#define UNIT_TMPDIR_NAME "check_schema"
#include "unit_tmpdir.h"

/* Write text to tmpdir/name; returns the path. */
static const char *put(const char *name, const char *text)
{
    const char *p = tpath(name);
    write_text(p, text);
    return p;
}

/* Parse text as schema "s.ini"; ck-fails with the message on error. */
static fs_schema *parse_ok(const char *text)
{
    fs_schema *s = NULL;
    fs_err rc = fs_schema_parse(text, strlen(text), "s.ini", &s);
    ck_assert_msg(rc == FS_OK, "schema rejected: %s", fs_errmsg());
    return s;
}

/* Parse text and expect FS_ERR_DATA with both phrases in the message. */
static void parse_bad(const char *text, const char *a, const char *b)
{
    fs_schema *s = (fs_schema *)1;
    CHECK_ERR(fs_schema_parse(text, strlen(text), "s.ini", &s), FS_ERR_DATA, a, b);
    ck_assert_ptr_null(s);
}

/* A schema with every kind and policy (used by several tests). */
static const char *full_schema =
    "\xef\xbb\xbf# consortium schema\n"
    "[schema]\n"
    "name = test-consortium\n"
    "missing = \"\", NA, ?       ; tokens\n"
    "\n"
    "[column outcome]\n"
    "kind = label\n"
    "classes = good, bad\n"
    "[column age]\n"
    "  kind = numeric\n"
    "  impute = indicator\n"
    "  range = 0:120\n"
    "  out_of_range = clip\n"
    "[column home]\n"
    "kind = categorical\n"
    "categories = rent, \"own, outright\"\n"
    "categories += mortgage\n"
    "unknown = other\n"
    "[column income]\n"
    "kind = numeric\n"
    "impute = median\n"
    "missing = -\n"
    "[column job]\n"
    "kind = categorical\n"
    "categories = a, b\n"
    "impute = indicator\n"
    "[column pid]\n"
    "kind = id\n"
    "[column notes]\n"
    "kind = ignore\n";

// ----------------------------------------------------------------------------
// parsing

START_TEST(test_parse_full)
{
    fs_schema *s = parse_ok(full_schema);
    ck_assert_str_eq(fs_schema_name(s), "test-consortium");
    ck_assert_uint_eq(fs_schema_num_columns(s), 7);
    ck_assert_int_eq(fs_schema_label_column(s), 0);
    ck_assert_int_eq(fs_schema_id_column(s), 5);
    ck_assert_int_eq(fs_schema_task(s), FS_TASK_CLASSIFICATION);
    ck_assert_int_eq(fs_schema_num_classes(s), 2);
    ck_assert_str_eq(fs_schema_class_name(s, 0), "good");
    ck_assert_str_eq(fs_schema_class_name(s, 1), "bad");
    ck_assert_ptr_null(fs_schema_class_name(s, 2));
    ck_assert_int_eq(fs_schema_find_column(s, "income"), 3);
    ck_assert_int_eq(fs_schema_find_column(s, "nope"), -1);
    ck_assert_int_eq(fs_schema_extra_columns_ignored(s), 0);

    const fs_schema_column *age = fs_schema_column_at(s, 1);
    ck_assert_int_eq(age->kind, FS_COLUMN_NUMERIC);
    ck_assert_int_eq(age->impute, FS_IMPUTE_INDICATOR);
    ck_assert(age->has_lo && age->has_hi && age->lo == 0 && age->hi == 120 && age->clip);
    ck_assert_int_eq(age->line, 9);
    ck_assert_uint_eq(age->nmissing, 3);
    ck_assert_str_eq(age->missing[0], "");
    const fs_schema_column *home = fs_schema_column_at(s, 2);
    ck_assert_uint_eq(home->ncategories, 3);
    ck_assert_str_eq(home->categories[1], "own, outright");
    ck_assert_str_eq(home->categories[2], "mortgage");
    ck_assert_int_eq(home->unknown_other, 1);
    ck_assert_int_eq(home->impute, FS_IMPUTE_MODE);   /* the default */
    const fs_schema_column *inc = fs_schema_column_at(s, 3);
    ck_assert_uint_eq(inc->nmissing, 1);
    ck_assert_str_eq(inc->missing[0], "-");
    ck_assert_int_eq(inc->impute, FS_IMPUTE_MEDIAN);
    ck_assert_ptr_null(fs_schema_column_at(s, 7));

    /* Encoded features, in section order, with their provenance. */
    static const char *names[] = { "age", "age_missing", "home=rent", "home=own, outright",
                                   "home=mortgage", "home=(other)", "income", "job=a", "job=b",
                                   "job_missing" };
    static const fs_feature_kind kinds[] = {
        FS_FEATURE_NUMERIC, FS_FEATURE_MISSING, FS_FEATURE_CATEGORY, FS_FEATURE_CATEGORY,
        FS_FEATURE_CATEGORY, FS_FEATURE_OTHER, FS_FEATURE_NUMERIC, FS_FEATURE_CATEGORY,
        FS_FEATURE_CATEGORY, FS_FEATURE_MISSING };
    static const size_t cols[] = { 1, 1, 2, 2, 2, 2, 3, 4, 4, 4 };
    static const int may_miss[] = { 1, 0, 1, 1, 1, 1, 1, 0, 0, 0 };
    ck_assert_uint_eq(fs_schema_num_features(s), 10);
    for (size_t j = 0; j < 10; j++) {
        const fs_schema_feature *f = fs_schema_feature_at(s, j);
        ck_assert_str_eq(f->name, names[j]);
        ck_assert_int_eq(f->kind, kinds[j]);
        ck_assert_uint_eq(f->column, cols[j]);
        ck_assert_int_eq(fs_schema_feature_may_be_missing(s, j), may_miss[j]);
    }
    ck_assert_uint_eq(fs_schema_feature_at(s, 3)->category, 1);
    ck_assert_uint_eq(fs_schema_feature_at(s, 5)->category, SIZE_MAX);
    ck_assert_uint_eq(home->first_feature, 2);
    ck_assert_uint_eq(home->nfeatures, 4);
    ck_assert_ptr_null(fs_schema_feature_at(s, 10));
    ck_assert_uint_eq(strlen(fs_schema_hash_hex(s)), FS_SCHEMA_HASHHEX);
    ck_assert_str_eq(fs_schema_text(s), full_schema);
    fs_schema_destroy(&s);
    ck_assert_ptr_null(s);
    fs_schema_destroy(&s);   /* NULL-safe */

    /* Regression label with a range; a file with the path in messages. */
    s = parse_ok("[column t]\nkind = label\ntype = numeric\nrange = :5\n[column x]\n"
                 "kind = numeric\nimpute = constant:-1.5\n");
    ck_assert_int_eq(fs_schema_task(s), FS_TASK_REGRESSION);
    ck_assert_int_eq(fs_schema_num_classes(s), 0);
    ck_assert(!fs_schema_column_at(s, 0)->has_lo && fs_schema_column_at(s, 0)->hi == 5);
    ck_assert(fs_schema_column_at(s, 1)->impute_value == -1.5);
    fs_schema_destroy(&s);

    ck_assert_int_eq(fs_schema_load(put("f.ini", full_schema), &s), FS_OK);
    ck_assert_str_eq(fs_schema_text(s), full_schema);
    fs_schema_destroy(&s);
}
END_TEST

/*
 * Known answer: tests/unit/check_schema.c's canonical serialization written
 * independently in Python (hashlib, struct) for the schema below:
 *   u64 = lambda v: struct.pack('>Q', v); framed = lambda b: u64(len(b)) + b
 *   fu64 = lambda v: framed(u64(v)); fstr = lambda s: framed(s.encode())
 *   fdbl = lambda x: framed(struct.pack('>d', 0.0 if x == 0 else x))
 *   flist = lambda v: fu64(len(v)) + b''.join(fstr(s) for s in v)
 *   rng = lambda hl, lo, hh, hi, c: fu64(hl) + fdbl(lo) + fu64(hh) + fdbl(hi) + fu64(c)
 *   m = fstr("fedsilo-schema-v1") + fu64(1) + fstr("kat") + flist(["", "NA", "?"]) + fu64(4)
 *   m += fstr("y") + fu64(2) + fu64(0) + fu64(0) + flist(["no", "yes"]) + rng(0, 0, 0, 0, 0)
 *   m += fstr("age") + fu64(0) + fu64(0) + fu64(3) + fdbl(-0.5) + rng(1, 0, 1, 120, 1)
 *   m += fstr("home") + fu64(1) + fu64(1) + flist(["-"]) + flist(["rent", "own"]) + fu64(1) + fu64(4)
 *   m += fstr("pid") + fu64(3) + fu64(0)
 *   print(hashlib.sha256(m).hexdigest())
 */
START_TEST(test_hash)
{
    static const char *kat =
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n"
        "[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n"
        "[column pid]\nkind = id\n";
    /* The same meaning: comments, blanks, key order, number spelling,
     * quoting, += continuation, extra_columns (site-local). */
    static const char *same =
        "; another site's copy\n[schema]\nextra_columns = ignore\nmissing = \"\",NA , \"?\"\n"
        "name = kat\n\n"
        "[column y]\nclasses = no,yes\nkind = label   ; the label\n"
        "[column age]\n  out_of_range = clip\n  range = 0.0 : 1.2e2\n  impute = constant:-5e-1\n"
        "  kind = numeric\n"
        "[column home]\nimpute = indicator\nunknown = other\ncategories = rent\ncategories += own\n"
        "missing = \"-\"\nkind = categorical\n"
        "[column pid]\nkind = id\n";
    fs_schema *a = parse_ok(kat), *b = parse_ok(same), *c = NULL;
    uint8_t h[FS_SCHEMA_HASHBYTES];
    ck_assert_str_eq(fs_schema_hash_hex(a),
                     "37898f6aef1a6af51a4a399daf16fc135404ef294aa8f965800ae3e0ecb240de");
    ck_assert_str_eq(fs_schema_hash_hex(b), fs_schema_hash_hex(a));
    fs_schema_hash(a, h);
    ck_assert_uint_eq(h[0], 0x37);
    ck_assert_uint_eq(h[31], 0xde);

    /* Each of these changes the meaning, and the hash. */
    static const char *changed[] = {
        /* column order (the feature order) */
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\n"
        "out_of_range = clip\n[column pid]\nkind = id\n",
        /* category order */
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = own, rent\nunknown = other\n"
        "impute = indicator\n[column pid]\nkind = id\n",
        /* class order */
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = yes, no\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n[column pid]\nkind = id\n",
        /* a missing token */
        "[schema]\nname = kat\nmissing = \"\", NA\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n[column pid]\nkind = id\n",
        /* the range, the out-of-range policy, the impute value */
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:121\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n[column pid]\nkind = id\n",
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n[column pid]\nkind = id\n",
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:0.5\nrange = 0:120\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n[column pid]\nkind = id\n",
        /* the unknown policy, the name */
        "[schema]\nname = kat\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\n"
        "impute = indicator\n[column pid]\nkind = id\n",
        "[schema]\nname = kat2\nmissing = \"\", NA, ?\n[column y]\nkind = label\nclasses = no, yes\n"
        "[column age]\nkind = numeric\nimpute = constant:-0.5\nrange = 0:120\nout_of_range = clip\n"
        "[column home]\nkind = categorical\nmissing = -\ncategories = rent, own\nunknown = other\n"
        "impute = indicator\n[column pid]\nkind = id\n",
    };
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        c = parse_ok(changed[i]);
        ck_assert_msg(strcmp(fs_schema_hash_hex(c), fs_schema_hash_hex(a)) != 0,
                      "change %zu kept the hash", i);
        fs_schema_destroy(&c);
    }
    fs_schema_destroy(&a);
    fs_schema_destroy(&b);
}
END_TEST

START_TEST(test_parse_errors)
{
    static const char *lab = "[column y]\nkind = label\nclasses = a, b\n";
    char buf[1024];
#define WITH(extra) (snprintf(buf, sizeof buf, "%s%s", lab, (extra)), buf)
    parse_bad(WITH("[colum x]\nkind = numeric\n"), "s.ini:4:", "unknown section [colum x]");
    parse_bad(WITH("[column x]\nkind = numeric\ncolour = red\n"), "s.ini:6:",
              "unknown key 'colour' in [column x]");
    /* Conflicting kinds: a categorical key on a numeric column, two kinds. */
    parse_bad(WITH("[column x]\nkind = numeric\ncategories = a, b\n"), "s.ini:6:",
              "'categories' does not apply to kind = numeric");
    parse_bad(WITH("[column x]\nkind = numeric\nkind = categorical\n"), "s.ini:6:",
              "duplicate key 'kind' in [column x] (first at line 5)");
    parse_bad(WITH("[column x]\nkind = id\nimpute = mean\n"), "s.ini:6:",
              "does not apply to kind = id");
    parse_bad(WITH("[column x]\nkind = numeric\n[column x]\nkind = numeric\n"), "s.ini:6:",
              "duplicate [column x] (first at line 4)");
    parse_bad(WITH("[column z]\nkind = label\nclasses = c, d\n[column x]\nkind = numeric\n"),
              "s.ini:4:", "two label columns");
    parse_bad(WITH("[column i]\nkind = id\n[column j]\nkind = id\n[column x]\nkind = numeric\n"),
              "s.ini:6:", "two id columns");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories =\n"), "s.ini:6:",
              "empty value for 'categories'");
    parse_bad(WITH("[column x]\nkind = categorical\n"), "s.ini:4:", "has no categories");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories = a, b,\n"), "s.ini:6:",
              "empty item");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories = a, b\ncategories += a\n"),
              "s.ini:6:", "category 'a' is listed twice in [column x]");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories = a, NA\n"), "s.ini:6:",
              "'NA' of [column x] is also a missing-value token");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories = a, \"b\n"), "s.ini:6:",
              "unterminated quote");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories = a, \"b\"c\n"), "s.ini:6:",
              "text after a closing quote");
    parse_bad("[column y]\nkind = label\nclasses = a, b, a\n[column x]\nkind = numeric\n",
              "s.ini:3:", "class 'a' is listed twice");
    parse_bad("[column y]\nkind = label\nclasses = a\n[column x]\nkind = numeric\n", "s.ini:3:",
              "at least 2");
    parse_bad("[column y]\nkind = label\n[column x]\nkind = numeric\n", "s.ini:1:",
              "needs classes");
    parse_bad("[column y]\nkind = label\nclasses = a, b\ntype = numeric\n[column x]\n"
              "kind = numeric\n", "s.ini:4:", "both classes");
    parse_bad("[column y]\nkind = label\ntype = text\n[column x]\nkind = numeric\n", "s.ini:3:",
              "label type 'text'");
    parse_bad(WITH("[column x]\nkind = numeric\nrange = 5:1\n"), "s.ini:6:", "empty (lo > hi)");
    parse_bad(WITH("[column x]\nkind = numeric\nrange = a:1\n"), "s.ini:6:", "finite numbers");
    parse_bad(WITH("[column x]\nkind = numeric\nrange = 1\n"), "s.ini:6:", "is not lo:hi");
    parse_bad(WITH("[column x]\nkind = numeric\nrange = :\n"), "s.ini:6:", "neither end");
    parse_bad(WITH("[column x]\nkind = numeric\nout_of_range = clip\n"), "s.ini:6:",
              "needs a range");
    parse_bad(WITH("[column x]\nkind = numeric\nimpute = mode\n"), "s.ini:6:",
              "impute 'mode' for a numeric column");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories = a\nimpute = mean\n"),
              "s.ini:7:", "impute 'mean' for a categorical column");
    parse_bad(WITH("[column x]\nkind = numeric\nimpute = constant:x\n"), "s.ini:6:",
              "finite number");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories += a\n"), "s.ini:6:",
              "without a 'categories =' line");
    parse_bad(WITH("[column x]\nkind = numeric\nimpute += mean\n"), "s.ini:6:",
              "only the lists");
    parse_bad(WITH("[column x]\nimpute = mean\n"), "s.ini:4:", "[column x] has no kind");
    parse_bad(WITH("[column x]\nkind = text\n"), "s.ini:5:", "unknown kind 'text'");
    parse_bad(WITH("[column x]\nkind = categorical\ncategories = a\nunknown = drop\n"),
              "s.ini:7:", "unknown 'drop'");
    parse_bad(WITH("[column]\nkind = numeric\n"), "s.ini:4:", "without a name");
    parse_bad(WITH("[column x]\nkind = numeric\nimpute = indicator\n[column x_missing]\n"
                   "kind = numeric\n"), "s.ini:7:", "both encode to the feature 'x_missing'");
    parse_bad(lab, "s.ini", "no feature columns");
    parse_bad("[column x]\nkind = numeric\n", "s.ini", "no label column");
    parse_bad("[schema]\nname = x\n", "s.ini", "no [column NAME] sections");
    parse_bad("", "s.ini", "no [column NAME] sections");
    parse_bad(WITH("[schema]\nname = x\n"), "s.ini:4:", "[schema] must come before");
    parse_bad("[schema]\n[schema]\n", "s.ini:2:", "duplicate [schema] section");
    parse_bad("[schema]\ndelimiter = ;\n", "s.ini:2:", "unknown key 'delimiter' in [schema]");
    parse_bad("[schema]\nextra_columns = drop\n", "s.ini:2:", "extra_columns 'drop'");
    parse_bad("[schema]\nmissing = NA, NA\n[column y]\nkind = label\nclasses = a, b\n"
              "[column x]\nkind = numeric\n", "s.ini:2:", "missing token 'NA' is listed twice");
    parse_bad("kind = numeric\n", "s.ini:1:", "key outside any section");
    parse_bad("[column x\nkind = numeric\n", "s.ini:1:", "syntax error");
    parse_bad("[column y]\nkind = label\nclasses = a, b\nno equals sign here\n", "s.ini:4:",
              "syntax error");
    {
        char longl[400];
        memset(longl, 'a', sizeof longl);
        memcpy(longl, "[column y]\nkind = label\nclasses = b, ", 37);
        memcpy(longl + sizeof longl - 2, "\n", 2);
        parse_bad(longl, "s.ini:3:", "longer than 198 characters");
    }
    {
        fs_schema *s = (fs_schema *)1;
        CHECK_ERR(fs_schema_parse("[column x]\0", 11, "nul.ini", &s), FS_ERR_DATA, "nul.ini",
                  "NUL byte");
        ck_assert_ptr_null(s);
        CHECK_ERR(fs_schema_load(tpath("nope.ini"), &s), FS_ERR_IO, "nope.ini", "does not exist");
        CHECK_ERR(fs_schema_load(tmpdir, &s), FS_ERR_IO, "cannot read schema file",
                  "is a directory");
        CHECK_ERR(fs_schema_load(put("bad.ini", "[column x]\nkind = numeric\n"), &s),
                  FS_ERR_DATA, "schema ", "bad.ini: no label column");
    }
#undef WITH
}
END_TEST

// ----------------------------------------------------------------------------
// CSV reader

START_TEST(test_csv_reader)
{
    fs_csv c;
    char row[FS_CSV_ROW_CAP];
    /* Quotes with delimiters, doubled quotes, an embedded CRLF line break,
     * blanks around fields, a BOM, CRLF endings, trailing empty lines. */
    const char *p = put("q.csv", "\xef\xbb\xbf" "a, \"b,c\" ,d\r\n"
                                 "\"say \"\"hi\"\"\", \" keep \" ,3\r\n"
                                 "\"two\r\nlines\",,\"\"\r\n"
                                 "x,y,z\r\n\r\n\n  \n");
    ck_assert_msg(fs_csv_read(p, ',', &c) == FS_OK, "%s", fs_errmsg());
    ck_assert_uint_eq(c.ncols, 3);
    ck_assert_uint_eq(c.nrec, 4);
    ck_assert_str_eq(fs_csv_cell(&c, 0, 1), "b,c");
    ck_assert_str_eq(fs_csv_cell(&c, 1, 0), "say \"hi\"");
    ck_assert_str_eq(fs_csv_cell(&c, 1, 1), " keep ");
    ck_assert_str_eq(fs_csv_cell(&c, 2, 0), "two\r\nlines");
    ck_assert_str_eq(fs_csv_cell(&c, 2, 1), "");
    ck_assert_str_eq(fs_csv_cell(&c, 2, 2), "");
    ck_assert_str_eq(fs_csv_cell(&c, 3, 2), "z");
    ck_assert_str_eq(fs_csv_row(&c, 2, row), "row 3");
    ck_assert_str_eq(fs_csv_row(&c, 3, row), "row 4 (line 5)");
    fs_csv_free(&c);
    fs_csv_free(&c);

    /* ';' (European exports) and tab delimiters; a tab is data, not a blank,
     * when it delimits. */
    p = put("semi.csv", "a;b\n1,5;\"x;y\"\n");
    ck_assert_int_eq(fs_csv_read(p, ';', &c), FS_OK);
    ck_assert_str_eq(fs_csv_cell(&c, 1, 0), "1,5");
    ck_assert_str_eq(fs_csv_cell(&c, 1, 1), "x;y");
    fs_csv_free(&c);
    p = put("tab.csv", "a\tb\tc\n 1 \t\t3\n");
    ck_assert_int_eq(fs_csv_read(p, '\t', &c), FS_OK);
    ck_assert_str_eq(fs_csv_cell(&c, 1, 0), "1");
    ck_assert_str_eq(fs_csv_cell(&c, 1, 1), "");
    ck_assert_str_eq(fs_csv_cell(&c, 1, 2), "3");
    fs_csv_free(&c);

    /* Errors name file and row (and line once they differ). */
    CHECK_ERR(fs_csv_read(put("r.csv", "a,b,c\n1,2,3\n4,5\n"), ',', &c), FS_ERR_DATA, "r.csv",
              "row 3 has 2 fields, header has 3");
    CHECK_ERR(fs_csv_read(put("r2.csv", "a,b\n\"x\ny\",1\n1,2,3\n"), ',', &c), FS_ERR_DATA,
              "r2.csv", "row 3 (line 4) has 3 fields, header has 2");
    CHECK_ERR(fs_csv_read(put("u.csv", "a,b\n1,2\n3,\"open\n4,5\n"), ',', &c), FS_ERR_DATA,
              "u.csv", "row 3: unterminated quoted field");
    CHECK_ERR(fs_csv_read(put("t.csv", "a,b\n\"x\"y,1\n"), ',', &c), FS_ERR_DATA, "t.csv",
              "row 2: unexpected text after a closing quote");
    CHECK_ERR(fs_csv_read(put("e.csv", "a,b\n1,2\n\n3,4\n"), ',', &c), FS_ERR_DATA, "e.csv",
              "row 3 is empty");
    CHECK_ERR(fs_csv_read(put("z.csv", "\n \n"), ',', &c), FS_ERR_DATA, "z.csv", "empty file");
    CHECK_ERR(fs_csv_read(put("one.csv", "a;b;c\n1;2;3\n4,5\n"), ',', &c), FS_ERR_DATA,
              "one.csv", "is the delimiter right");
    {
        FILE *f = fopen(tpath("nul.csv"), "wb");
        ck_assert_ptr_nonnull(f);
        fwrite("a,b\n1,\0\n", 1, 8, f);
        fclose(f);
        CHECK_ERR(fs_csv_read(tpath("nul.csv"), ',', &c), FS_ERR_DATA, "nul.csv", "NUL byte");
    }
    CHECK_ERR(fs_csv_read(tpath("missing.csv"), ',', &c), FS_ERR_IO, "missing.csv",
              "No such file");
    ck_assert_ptr_null(c.cells);

    /* Delimiter names. */
    char d = 0;
    ck_assert_int_eq(fs_csv_delimiter_parse(";", &d), FS_OK);
    ck_assert_int_eq(d, ';');
    ck_assert_int_eq(fs_csv_delimiter_parse("tab", &d), FS_OK);
    ck_assert_int_eq(d, '\t');
    ck_assert_int_eq(fs_csv_delimiter_parse("\\t", &d), FS_OK);
    ck_assert_int_eq(d, '\t');
    ck_assert_int_eq(fs_csv_delimiter_parse("semicolon", &d), FS_OK);
    ck_assert_int_eq(d, ';');
    CHECK_ERR(fs_csv_delimiter_parse("x", &d), FS_ERR_ARG, "'x'", "not a CSV delimiter");
    CHECK_ERR(fs_csv_delimiter_parse("\"", &d), FS_ERR_ARG, "'\"'", "not a CSV delimiter");
    CHECK_ERR(fs_csv_delimiter_parse(";;", &d), FS_ERR_ARG, "';;'", "not a CSV delimiter");

    /* The old importer reads through the same reader: a quoted field with
     * a line break and a ';' file. */
    fs_dataset *ds = NULL;
    fs_csv_opts o;
    fs_csv_opts_default(&o);
    o.label_column = "y";
    o.delimiter = ';';
    ck_assert_int_eq(fs_import_csv_ex(put("old.csv", "\"x\";y\n1.5;\"a\nb\"\n2;c\n"), &o, &ds),
                     FS_OK);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_str_eq(ds->class_names[0], "a\nb");
    ck_assert_str_eq(ds->class_names[1], "c");
    fs_dataset_destroy(&ds);
}
END_TEST

// ----------------------------------------------------------------------------
// import with a schema

/* x[j] equals want[j] (NaN matches NaN). */
static void assert_row(const float *x, const float *want, size_t d, size_t row)
{
    for (size_t j = 0; j < d; j++)
        ck_assert_msg((isnan(x[j]) && isnan(want[j])) || x[j] == want[j],
                      "row %zu, feature %zu: %g, want %g", row, j, (double)x[j], (double)want[j]);
}

START_TEST(test_import_schema)
{
    fs_schema *s = parse_ok(full_schema);
    fs_dataset *ds = NULL, *rd = NULL;
    /* Columns in another order than the schema's; 'notes' (ignore) absent. */
    const char *p = put("site.csv",
        "pid,job,income,home,outcome,age\n"
        "P1,a,1000,rent,good,34\n"
        "P2,b,-,\"own, outright\",bad,NA\n"
        "P3,,2500.5,castle,bad,130\n"
        "P4,a,-,?,good,-3\n");
    ck_assert_msg(fs_import_csv_schema(p, s, ',', &ds) == FS_OK, "%s", fs_errmsg());
    ck_assert_uint_eq(ds->n, 4);
    ck_assert_uint_eq(ds->d, 10);
    const float N = NAN;
    /* age, age_missing, home=rent, =own outright, =mortgage, =(other), income,
     * job=a, job=b, job_missing */
    const float want[4][10] = {
        { 34, 0, 1, 0, 0, 0, 1000, 1, 0, 0 },
        { N, 1, 0, 1, 0, 0, N, 0, 1, 0 },      /* age NA, income '-' (its own token) */
        { 120, 0, 0, 0, 0, 1, 2500.5f, 0, 0, 1 },   /* clipped; castle -> (other); job missing */
        { 0, 0, N, N, N, N, N, 1, 0, 0 },      /* clipped; home '?' -> NaN block (mode) */
    };
    for (size_t i = 0; i < 4; i++) assert_row(ds->X + i * 10, want[i], 10, i);
    /* Labels in the schema's class order: good = 0, bad = 1. */
    ck_assert_int_eq(ds->y_class[0], 0);
    ck_assert_int_eq(ds->y_class[1], 1);
    ck_assert_int_eq(ds->y_class[2], 1);
    ck_assert_int_eq(ds->num_classes, 2);
    ck_assert_str_eq(ds->class_names[0], "good");
    ck_assert_str_eq(ds->feature_names[3], "home=own, outright");
    ck_assert_str_eq(ds->ids[2], "P3");
    ck_assert_str_eq(ds->id_column, "pid");
    ck_assert_str_eq(ds->schema, full_schema);
    ck_assert_str_eq(ds->schema_hash, fs_schema_hash_hex(s));
    size_t miss[10], total = 0;
    ck_assert_int_eq(fs_dataset_count_missing(ds, miss, &total), FS_OK);
    ck_assert_uint_eq(total, 7);
    ck_assert_uint_eq(miss[0], 1);
    ck_assert_uint_eq(miss[6], 2);
    ck_assert_uint_eq(miss[1], 0);

    /* The file keeps the schema: written, read back only when NaN is allowed. */
    const char *h = tpath("site.h5");
    ck_assert_msg(fs_dataset_write(ds, NULL, h) == FS_OK, "%s", fs_errmsg());
    CHECK_ERR(fs_dataset_read(h, FS_PART_TRAIN, &rd), FS_ERR_DATA, "site.h5: feature 0 ('age') "
              "has missing values", "needs complete rows");
    ck_assert_ptr_null(rd);
    ck_assert_int_eq(fs_dataset_read_ex(h, FS_PART_TRAIN, FS_READ_ALLOW_MISSING, &rd), FS_OK);
    for (size_t i = 0; i < 4; i++) assert_row(rd->X + i * 10, want[i], 10, i);
    ck_assert_str_eq(rd->schema, full_schema);
    ck_assert_str_eq(rd->schema_hash, ds->schema_hash);
    ck_assert_str_eq(rd->class_names[1], "bad");
    ck_assert_str_eq(rd->id_column, "pid");
    fs_dataset_destroy(&rd);
    CHECK_ERR(fs_dataset_read_ex(h, FS_PART_TRAIN, 4, &rd), FS_ERR_ARG, "unknown flags", "0x4");

    /* Metadata that contradicts the schema is refused. */
    ds->schema_hash[0] = ds->schema_hash[0] == '0' ? '1' : '0';
    CHECK_ERR(fs_dataset_validate(ds, "tampered"), FS_ERR_DATA, "tampered: schema_hash",
              "does not match its schema");
    ds->schema_hash[0] = fs_schema_hash_hex(s)[0];
    free(ds->feature_names[7]);
    ds->feature_names[7] = strdup("job=c");
    CHECK_ERR(fs_dataset_validate(ds, "renamed"), FS_ERR_DATA, "feature 7 is named 'job=c'",
              "calls it 'job=a'");
    free(ds->feature_names[7]);
    ds->feature_names[7] = strdup("job=a");
    ds->X[1] = NAN;   /* age_missing may not be missing */
    CHECK_ERR(fs_dataset_validate(ds, "nan"), FS_ERR_DATA, "row 0, column 1 ('age_missing')",
              "its schema allows no missing value there");
    ds->X[1] = 0;
    ds->X[0] = INFINITY;
    CHECK_ERR(fs_dataset_validate(ds, "inf"), FS_ERR_DATA, "row 0, column 0", "inf is not finite");
    ds->X[0] = 34;
    ck_assert_int_eq(fs_dataset_validate(ds, "ok"), FS_OK);

    /* A subset keeps the schema only with every column. */
    fs_dataset *sub = NULL;
    size_t rows[2] = { 3, 1 };
    ck_assert_int_eq(fs_dataset_subset(ds, rows, 2, 0, 10, &sub), FS_OK);
    ck_assert_str_eq(sub->schema_hash, ds->schema_hash);
    ck_assert_str_eq(sub->class_names[0], "good");
    fs_dataset_destroy(&sub);
    /* Without the schema a NaN is no longer a missing cell: invalid. */
    ck_assert_int_eq(fs_dataset_subset(ds, rows, 2, 0, 2, &sub), FS_OK);
    ck_assert_ptr_null(sub->schema);
    CHECK_ERR(fs_dataset_validate(sub, "part"), FS_ERR_DATA, "row 1, column 0 ('age')",
              "nan is not finite");
    fs_dataset_destroy(&sub);
    ck_assert_int_eq(fs_dataset_subset(ds, rows, 2, 7, 9, &sub), FS_OK);
    ck_assert_ptr_null(sub->schema);
    ck_assert_ptr_nonnull(sub->class_names);
    fs_dataset_destroy(&sub);
    fs_dataset_destroy(&ds);
    fs_schema_destroy(&s);
}
END_TEST

START_TEST(test_import_schema_errors)
{
    fs_schema *s = parse_ok(
        "[column y]\nkind = label\nclasses = no, yes\n"
        "[column n]\nkind = numeric\nrange = 0:10\nimpute = none\n"
        "[column c]\nkind = categorical\ncategories = red, blue\n"
        "[column note]\nkind = ignore\n");
    fs_dataset *ds = (fs_dataset *)1;
    static const struct { const char *csv, *a, *b; } cases[] = {
        { "y,n,c\nno,1,red\nyes,2,green\n", "row 3, column 'c': unknown category 'green'",
          "the schema lists: red, blue" },
        { "y,n,c\nno,1,red\nmaybe,2,red\n", "row 3, column 'y': label 'maybe' is not one of "
          "the schema's classes (no, yes)", "" },
        { "y,n,c\nNA,1,red\n", "row 2, column 'y': missing label ('NA')", "" },
        { "y,n,c\nno,,red\n", "row 2, column 'n': missing value ('')", "impute = none" },
        { "y,n,c\nno,old,red\n", "row 2, column 'n': 'old' is not a number", "" },
        { "y,n,c\nno,11,red\n", "row 2, column 'n': '11' is outside the schema's range [0, 10]",
          "" },
        { "y,c\nno,red\n", "column 'n' of the schema (line 4, kind = numeric) is not in the header",
          "" },
        { "y,n,c,extra\nno,1,red,x\n", "column 'extra' (column 4 of the file) is not in the "
          "schema", "extra_columns = ignore" },
        { "y,n,c,n\nno,1,red,2\n", "column 'n' appears more than once in the header (columns 2 "
          "and 4)", "" },
        { "y,n,c\nno,1\n", "row 2 has 2 fields, header has 3", "" },
        { "y,n,c\nno,1,\"red\n", "row 2: unterminated quoted field", "" },
        { "y,n,c,note\nno,1,red,\"a\nb\"\nno,x,red,c\n", "row 3 (line 4), column 'n': 'x' is "
          "not a number",
          "" },
        { "y;n;c\nno;1;red\n", "is not in the header", "use --delimiter ';'" },
        { "y,n,c\n", "no data rows after the header", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.csv", i);
        const char *p = put(name, cases[i].csv);
        CHECK_ERR(fs_import_csv_schema(p, s, ',', &ds), FS_ERR_DATA, cases[i].a, cases[i].b);
        ck_assert_msg(strstr(fs_errmsg(), name) != NULL, "no file name: %s", fs_errmsg());
        ck_assert_ptr_null(ds);
    }
    /* Control bytes in a cell never reach the message raw. */
    CHECK_ERR(fs_import_csv_schema(put("esc.csv", "y,n,c\nno,1,\x1b]0;x\x07\n"), s, ',', &ds),
              FS_ERR_DATA, "unknown category '?]0;x?'", "");
    fs_schema_destroy(&s);

    /* extra_columns = ignore; numeric classes match numerically; regression. */
    s = parse_ok("[schema]\nextra_columns = ignore\n[column y]\nkind = label\nclasses = 0, 1\n"
                 "[column x]\nkind = numeric\n");
    ck_assert_msg(fs_import_csv_schema(put("num.csv", "x;junk;y\n1;a;1.0\n2;b;0\n3;c;1\n"), s,
                                       ';', &ds) == FS_OK, "%s", fs_errmsg());
    ck_assert_int_eq(ds->y_class[0], 1);
    ck_assert_int_eq(ds->y_class[1], 0);
    ck_assert_uint_eq(ds->d, 1);
    fs_dataset_destroy(&ds);
    fs_schema_destroy(&s);
    s = parse_ok("[column t]\nkind = label\ntype = numeric\nrange = 0:\n[column x]\n"
                 "kind = numeric\n[column pid]\nkind = id\n");
    ck_assert_int_eq(fs_import_csv_schema(put("reg.csv", "pid,x,t\na,1,2.5\nb,2,0\n"), s, 0, &ds),
                     FS_OK);
    ck_assert_int_eq(ds->task, FS_TASK_REGRESSION);
    ck_assert(ds->y_reg[0] == 2.5f);
    ck_assert_ptr_null(ds->class_names);
    fs_dataset_destroy(&ds);
    CHECK_ERR(fs_import_csv_schema(put("neg.csv", "pid,x,t\na,1,-1\n"), s, 0, &ds), FS_ERR_DATA,
              "row 2, column 't': '-1' is outside the schema's range [0, inf)", "");
    CHECK_ERR(fs_import_csv_schema(put("dupid.csv", "pid,x,t\na,1,1\na,2,2\n"), s, 0, &ds),
              FS_ERR_DATA, "row 3, column 'pid': duplicate id 'a' (first in row 2)", "");
    fs_schema_destroy(&s);

    /* A feature-only party (no label: vertical FL). */
    s = parse_ok("[column pid]\nkind = id\n[column x]\nkind = numeric\n");
    ck_assert_int_eq(fs_import_csv_schema(put("v.csv", "x,pid\n1,a\n2,b\n"), s, 0, &ds), FS_OK);
    ck_assert_int_eq(ds->labels_absent, 1);
    ck_assert_int_eq(fs_dataset_write(ds, NULL, tpath("v.h5")), FS_OK);
    fs_dataset_destroy(&ds);
    fs_schema_destroy(&s);
}
END_TEST

// ----------------------------------------------------------------------------
// check

START_TEST(test_check)
{
    fs_schema *s = parse_ok(
        "[column y]\nkind = label\nclasses = no, yes\n"
        "[column n]\nkind = numeric\nrange = 0:10\n"
        "[column c]\nkind = categorical\ncategories = red, blue\n"
        "[column gone]\nkind = numeric\n");
    char *buf = NULL;
    size_t len = 0, problems = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    const char *p = put("chk.csv",
        "y,n,c,c,extra\n"
        "no,1,green,red,x\n"
        "maybe,x,green,red,x\n"
        "yes,12,purple,red,x\n"
        "NA,3,red,red,x\n"
        "no,4,green,red,x\n");
    ck_assert_int_eq(fs_schema_check(p, s, ',', f, &problems), FS_OK);
    fclose(f);
    /* Every mismatch, one line each, with counts and first rows. */
    static const char *lines[] = {
        "column 'c' appears more than once in the header (columns 3 and 4)",
        "column 'gone' of the schema (line 10, kind = numeric) is not in the header",
        "column 'extra' (column 5 of the file) is not in the schema",
        "column 'y': label 'maybe' is not one of the schema's classes (no, yes) in row 3",
        "column 'y': missing label ('NA') in row 5",
        "column 'n': 'x' is not a number (nor a missing-value token of this column) in row 3",
        "column 'n': '12' is outside the schema's range [0, 10] in row 4",
        "column 'c': unknown category 'green' (the schema lists: red, blue) in 3 rows (first "
        "row 2)",
        "column 'c': unknown category 'purple' (the schema lists: red, blue) in row 4",
        "chk.csv: 5 rows, 5 columns: 9 problems (above)",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        ck_assert_msg(strstr(buf, lines[i]) != NULL, "report lacks '%s':\n%s", lines[i], buf);
    ck_assert_uint_eq(problems, 9);
    free(buf);
    buf = NULL;

    /* A clean file: no problem, and it imports. */
    f = open_memstream(&buf, &len);
    p = put("ok.csv", "gone,c,n,y\n1,red,2,yes\n,blue,NA,no\n");
    ck_assert_int_eq(fs_schema_check(p, s, ',', f, &problems), FS_OK);
    fclose(f);
    ck_assert_uint_eq(problems, 0);
    ck_assert_msg(strstr(buf, "ok.csv: 2 rows, 4 columns: matches schema") != NULL, "%s", buf);
    free(buf);
    fs_dataset *ds = NULL;
    ck_assert_int_eq(fs_import_csv_schema(p, s, ',', &ds), FS_OK);
    fs_dataset_destroy(&ds);

    /* More than 20 distinct bad values: the rest is summarized. */
    char big[4096] = "y,n,c,gone\n";
    for (int i = 0; i < 25; i++) {
        char line[64];
        snprintf(line, sizeof line, "no,1,colour%02d,1\n", i);
        strcat(big, line);
    }
    buf = NULL;
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(fs_schema_check(put("many.csv", big), s, ',', f, &problems), FS_OK);
    fclose(f);
    ck_assert_uint_eq(problems, 21);
    ck_assert_msg(strstr(buf, "5 more distinct values with the same problem, in 5 rows"), "%s", buf);
    free(buf);

    /* An unreadable file is an error, not a report. */
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK_ERR(fs_schema_check(put("rag.csv", "y,n\n1\n"), s, ',', f, &problems), FS_ERR_DATA,
              "rag.csv", "row 2 has 1 fields");
    fclose(f);
    free(buf);
    fs_schema_destroy(&s);
}
END_TEST

// ----------------------------------------------------------------------------
// draft

/* 1 when token is one of column c's missing tokens. */
static int find_column_token(const fs_schema_column *c, const char *token)
{
    for (size_t i = 0; i < c->nmissing; i++)
        if (!strcmp(c->missing[i], token)) return 1;
    return 0;
}

/* Read a whole file into a static buffer. */
static const char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_draft)
{
    fs_schema_draft_opts o;
    fs_schema *s = NULL;
    fs_dataset *ds = NULL;
    fs_schema_draft_opts_default(&o);
    o.label_column = "status";
    o.id_column = "pid";
    o.max_categories = 3;
    const char *csv = put("d.csv",
        "pid,status,age,home,income,comment,empty\n"
        "1,good,30,rent,100,a,NA\n"
        "2,bad,41,\"own, outright\",nan,b,\n"
        "3,good,NA,rent,-,c,?\n"
        "4,good,55,,300,d,NA\n"
        "5,bad,23,mortgage,250,e,NA\n");
    const char *out = tpath("draft.ini");
    ck_assert_msg(fs_schema_draft(csv, &o, out) == FS_OK, "%s", fs_errmsg());
    const char *text = slurp(out);
    ck_assert_int_eq(fs_schema_load(out, &s), FS_OK);
    ck_assert_int_eq(fs_schema_column_at(s, 0)->kind, FS_COLUMN_ID);
    /* Text labels: classification, sorted. */
    ck_assert_int_eq(fs_schema_num_classes(s), 2);
    ck_assert_str_eq(fs_schema_class_name(s, 0), "bad");
    ck_assert_int_eq(fs_schema_column_at(s, 2)->kind, FS_COLUMN_NUMERIC);
    /* Categories sorted, quoted when they hold a comma. */
    const fs_schema_column *home = fs_schema_column_at(s, 3);
    ck_assert_int_eq(home->kind, FS_COLUMN_CATEGORICAL);
    ck_assert_uint_eq(home->ncategories, 3);
    ck_assert_str_eq(home->categories[0], "mortgage");
    ck_assert_str_eq(home->categories[1], "own, outright");
    ck_assert_str_eq(home->categories[2], "rent");
    /* 'nan' and '-' made income numeric: its own missing list. */
    const fs_schema_column *inc = fs_schema_column_at(s, 4);
    ck_assert_int_eq(inc->kind, FS_COLUMN_NUMERIC);
    ck_assert_int_eq(find_column_token(inc, "nan"), 1);
    /* 5 distinct texts > max_categories: ignore; all missing: ignore. */
    ck_assert_int_eq(fs_schema_column_at(s, 5)->kind, FS_COLUMN_IGNORE);
    ck_assert_int_eq(fs_schema_column_at(s, 6)->kind, FS_COLUMN_IGNORE);
    /* Observations only in comments marked private. */
    ck_assert_ptr_nonnull(strstr(text, "; private (this site's data, review before sharing): 1 of "
                                       "5 cells missing; observed min 23, max 55"));
    ck_assert_ptr_nonnull(strstr(text, "seen fewer than 5 times"));
    ck_assert_ptr_null(strstr(text, "\nrange ="));
    /* The draft imports the file it was drafted from. */
    ck_assert_msg(fs_import_csv_schema(csv, s, ',', &ds) == FS_OK, "%s", fs_errmsg());
    ck_assert_uint_eq(ds->d, 1 + 3 + 1);
    fs_dataset_destroy(&ds);
    fs_schema_destroy(&s);

    /* Numeric labels: few values -> classes in numeric order; many -> regression. */
    fs_schema_draft_opts_default(&o);
    o.label_column = "y";
    ck_assert_int_eq(fs_schema_draft(put("n.csv", "x,y\n1,10\n2,9\n3,10\n"), &o, out), FS_OK);
    ck_assert_int_eq(fs_schema_load(out, &s), FS_OK);
    ck_assert_str_eq(fs_schema_class_name(s, 0), "9");
    ck_assert_str_eq(fs_schema_class_name(s, 1), "10");
    fs_schema_destroy(&s);
    o.max_numeric_classes = 2;
    ck_assert_int_eq(fs_schema_draft(put("r.csv", "x,y\n1,0.5\n2,1.5\n3,2.5\n"), &o, out), FS_OK);
    ck_assert_int_eq(fs_schema_load(out, &s), FS_OK);
    ck_assert_int_eq(fs_schema_task(s), FS_TASK_REGRESSION);
    ck_assert_ptr_nonnull(strstr(slurp(out), "regression: 3 distinct numeric labels"));
    fs_schema_destroy(&s);

    /* Errors. */
    CHECK_ERR(fs_schema_draft(put("one.csv", "x,y\n1,a\n2,a\n"), &o, out), FS_ERR_DATA,
              "one.csv", "label column 'y' has a single value ('a')");
    o.label_column = "nope";
    CHECK_ERR(fs_schema_draft(csv, &o, out), FS_ERR_DATA, "d.csv", "no column named 'nope'");
    o.label_column = NULL;
    CHECK_ERR(fs_schema_draft(csv, &o, out), FS_ERR_ARG, "label column", "required");
}
END_TEST

// ----------------------------------------------------------------------------
// old import, split

START_TEST(test_class_names_and_split)
{
    fs_dataset *ds = NULL, *rd = NULL;
    /* Without a schema the class names record the mapping used. */
    ck_assert_int_eq(fs_import_csv(put("w.csv", "x,y\n1,pos\n2,neg\n3,pos\n"), "y",
                                   FS_TASK_CLASSIFICATION, &ds), FS_OK);
    ck_assert_str_eq(ds->class_names[0], "neg");
    ck_assert_str_eq(ds->class_names[1], "pos");
    fs_dataset_destroy(&ds);
    ck_assert_int_eq(fs_import_csv(put("i.csv", "x,y\n1,0\n2,2\n"), "y", FS_TASK_CLASSIFICATION,
                                   &ds), FS_OK);
    ck_assert_int_eq(ds->num_classes, 3);
    ck_assert_str_eq(ds->class_names[2], "2");
    ck_assert_int_eq(fs_dataset_write(ds, NULL, tpath("i.h5")), FS_OK);
    ck_assert_int_eq(fs_dataset_read(tpath("i.h5"), FS_PART_TRAIN, &rd), FS_OK);
    ck_assert_str_eq(rd->class_names[1], "1");
    ck_assert_ptr_null(rd->schema);
    fs_dataset_destroy(&rd);
    free(ds->class_names[2]);
    ds->class_names[2] = strdup("0");
    CHECK_ERR(fs_dataset_validate(ds, "dup"), FS_ERR_DATA, "classes 0 and 2", "named '0'");
    fs_dataset_destroy(&ds);

    /* split keeps the schema, class names and NaN in every shard and part. */
    fs_schema *s = parse_ok("[column y]\nkind = label\nclasses = b, a\n[column x]\n"
                            "kind = numeric\n[column c]\nkind = categorical\ncategories = u, v\n");
    char csv[4096] = "y,x,c\n";
    for (int i = 0; i < 60; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s,%s,%s\n", i % 3 ? "a" : "b", i % 7 ? "1.5" : "NA",
                 i % 5 ? "u" : "");
        strcat(csv, line);
    }
    ck_assert_int_eq(fs_import_csv_schema(put("sp.csv", csv), s, ',', &ds), FS_OK);
    fs_split_opts so;
    fs_split_opts_default(&so);
    so.nsilos = 3;
    so.val_fraction = 0.2;
    so.min_rows = 5;
    ck_assert_msg(fs_split_write(ds, &so, tpath("shards")) == FS_OK, "%s", fs_errmsg());
    size_t total = 0;
    for (int k = 0; k < 3; k++) {
        char name[64];
        size_t m = 0;
        snprintf(name, sizeof name, "shards/site-%d.h5", k);
        for (int part = 0; part < 2; part++) {
            ck_assert_int_eq(fs_dataset_read_ex(tpath(name), part ? FS_PART_VALIDATION
                                                                  : FS_PART_TRAIN,
                                                FS_READ_ALLOW_MISSING, &rd), FS_OK);
            ck_assert_str_eq(rd->schema_hash, fs_schema_hash_hex(s));
            ck_assert_str_eq(rd->class_names[0], "b");
            ck_assert_int_eq(fs_dataset_count_missing(rd, NULL, &m), FS_OK);
            total += m;
            fs_dataset_destroy(&rd);
        }
    }
    size_t all = 0;
    ck_assert_int_eq(fs_dataset_count_missing(ds, NULL, &all), FS_OK);
    ck_assert_uint_eq(total, all);
    ck_assert_uint_eq(all, 9 + 12 * 2);   /* x: rows 0,7,..,56; c: rows 0,5,..,55 (2 features) */
    ck_assert_ptr_nonnull(strstr(slurp(tpath("shards/manifest.json")), fs_schema_hash_hex(s)));
    fs_dataset_destroy(&ds);
    fs_schema_destroy(&s);
}
END_TEST

static Suite *schema_suite(void)
{
    Suite *su = suite_create("schema");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parse_full);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_csv_reader);
    tcase_add_test(tc, test_import_schema);
    tcase_add_test(tc, test_import_schema_errors);
    tcase_add_test(tc, test_check);
    tcase_add_test(tc, test_draft);
    tcase_add_test(tc, test_class_names_and_split);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* our messages carry HDF5's */
    SRunner *sr = srunner_create(schema_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#!/bin/sh
# Raw institutional CSV through the consortium schema, on two real tables:
# R's modeldata::credit_data (4454 rows, 4 categorical columns, 455 missing
# cells) and mlbench::PimaIndiansDiabetes2 (768 rows, 652 missing cells),
# each exported with Rscript and dealt to 4 "institutions" whose files differ
# the way real exports do: shuffled column order, ';' and tab delimiters,
# CRLF, a UTF-8 byte-order mark, every field quoted, missing cells written
# as NA, empty, ?, NaN or null, an extra free-text column with commas and
# quoted line breaks.
#
# The workflow of docs/tables.md: site 0 drafts a schema; `schema check`
# finds the category that site 0 does not have at site 1 (exit 1); a person
# merges the category list and removes the "private" lines; every site
# checks clean and imports.  Then, with python3 + h5py, every site's /X must
# equal a one-hot encoding of the same CSV rows computed independently with
# numpy (categories in sorted order, NaN where a cell is missing, the whole
# one-hot block NaN for a missing category), bit for bit; /y, the feature
# and class names and the schema hash must agree across sites; the missing
# counts must add up to R's is.na counts (455 and 652).  inspect shows the
# hash and the counts; split keeps them.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_rdata
cd "$WORK" || hard "cd $WORK"

Rscript -e 'library(modeldata); data(credit_data)
            write.csv(credit_data, "credit.csv", row.names = FALSE)
            library(mlbench); data(PimaIndiansDiabetes2)
            write.csv(PimaIndiansDiabetes2, "pima.csv", row.names = FALSE)
            cat(sum(is.na(credit_data)), sum(is.na(PimaIndiansDiabetes2)), "\n")' > na.txt \
  || hard "Rscript could not export the tables"
read -r na_credit na_pima < na.txt
[ "$na_credit" = 455 ] && [ "$na_pima" = 652 ] \
  || hard "R's tables changed: $na_credit and $na_pima missing cells (expected 455 and 652)"

# Site variants: SITE.csv plus SITE.delim (the --delimiter argument).
$PY - <<'PY' || hard "cannot write the site variants"
import csv, io, random
def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]
styles = [  # delimiter, line end, missing token(s), quoting, bom, extra column
    (",", "\n", ["NA"], csv.QUOTE_MINIMAL, False, False),
    (";", "\r\n", [""], csv.QUOTE_ALL, True, False),
    ("\t", "\n", ["?"], csv.QUOTE_MINIMAL, False, False),
    (",", "\r\n", ["NaN", "null"], csv.QUOTE_MINIMAL, False, True),
]
for table, label in (("credit", "Status"), ("pima", "diabetes")):
    header, rows = read(table + ".csv")
    rng = random.Random(7)
    rng.shuffle(rows)
    if table == "credit":
        # Site 0 has no Home = ignore (20 rows in all): its draft lacks the
        # category, which the consortium adds when it merges the drafts.
        home = header.index("Home")
        keep = [r for r in rows if r[home] != "ignore"]
        rows = keep[:1100] + [r for r in rows if r[home] == "ignore"] + keep[1100:]
    parts = [rows[k::4] for k in range(4)] if table == "pima" else \
            [rows[:1100]] + [rows[1100:][k::3] for k in range(3)]
    for k, (delim, eol, miss, quoting, bom, extra) in enumerate(styles):
        order = list(range(len(header)))
        if k:
            random.Random(k).shuffle(order)
        out = io.StringIO()
        w = csv.writer(out, delimiter=delim, lineterminator=eol, quoting=quoting)
        w.writerow([header[j] for j in order] + (["internal notes"] if extra else []))
        for i, r in enumerate(parts[k]):
            cells = [(miss[i % len(miss)] if r[j] == "NA" else r[j]) for j in order]
            if extra:
                cells.append("checked, ok" if i % 2 else 'line one\nline "two"')
            w.writerow(cells)
        with open("%s-%d.csv" % (table, k), "w", encoding="utf-8", newline="") as f:
            f.write(("\ufeff" if bom else "") + out.getvalue())
        with open("%s-%d.delim" % (table, k), "w") as f:
            f.write({",": ",", ";": ";", "\t": "tab"}[delim])
PY

for t in credit pima; do
  label=Status; [ $t = pima ] && label=diabetes
  "$FEDSILO" schema draft --input "$t-0.csv" --label $label --out "$t-draft.ini" > draft.txt \
    || { cat draft.txt; fail "$t: schema draft failed"; }
  cat draft.txt
  grep -q '^; private' "$t-draft.ini" || fail "$t: the draft marks nothing private"
  # What must never be shared is only ever in comments.
  grep -qE '^range *=' "$t-draft.ini" && fail "$t: the draft sets an observed range"
done
grep -q '^categories = other, owner, parents, priv, rent$' credit-draft.ini \
  || { cat credit-draft.ini; fail "credit: unexpected Home categories in the draft"; }
grep -q '^classes = bad, good$' credit-draft.ini || fail "credit: classes not sorted"
grep -q '^classes = neg, pos$' pima-draft.ini || fail "pima: classes not sorted"
[ "$(grep -c '^kind = numeric' pima-draft.ini)" = 8 ] || fail "pima: expected 8 numeric columns"

# Site 1 has a category the draft does not know: check reports it, import refuses it.
d1=$(cat credit-1.delim)
"$FEDSILO" schema check --input credit-1.csv --schema credit-draft.ini --delimiter "$d1" > chk.txt
rc=$?
cat chk.txt
[ $rc = 1 ] || fail "schema check with the unmerged draft exited $rc, expected 1"
grep -q "column 'Home': unknown category 'ignore'" chk.txt || fail "check did not name 'ignore'"
"$FEDSILO" import csv --input credit-1.csv --schema credit-draft.ini --delimiter "$d1" \
    --out x.h5 2> imp.txt && fail "import accepted an unknown category"
grep -q "credit-1.csv: row [0-9]*, column 'Home': unknown category 'ignore'" imp.txt \
  || { cat imp.txt; fail "unclear unknown-category error"; }

# The consortium merges the lists and shares the schema without private lines.
$PY - <<'PY' || hard "merge failed"
for t in ("credit", "pima"):
    lines = open(t + "-draft.ini").read().split("\n")
    out = [l for l in lines if not l.startswith("; private") and not l.startswith("; consider")]
    out = [("categories = ignore, other, owner, parents, priv, rent"
            if l == "categories = other, owner, parents, priv, rent" else l) for l in out]
    out = [("name = %s-study" % t) if l.startswith("; name =") else l for l in out]
    open(t + ".ini", "w").write("\n".join(out))
    # site 3 exports an extra column: its local copy ignores extra columns
    open(t + "-site3.ini", "w").write("\n".join(
        [("extra_columns = ignore" if l.startswith("extra_columns") else l) for l in out]))
PY
grep -q '^; private' credit.ini && fail "the shared schema still has private lines"

for t in credit pima; do
  for k in 0 1 2 3; do
    s=$t.ini; [ $k = 3 ] && s=$t-site3.ini
    d=$(cat "$t-$k.delim")
    "$FEDSILO" schema check --input "$t-$k.csv" --schema "$s" --delimiter "$d" > chk.txt \
      || { cat chk.txt; fail "$t site $k: schema check found problems"; }
    "$FEDSILO" import csv --input "$t-$k.csv" --schema "$s" --delimiter "$d" \
        --out "$t-$k.h5" > imp.txt 2>&1 || { cat imp.txt; fail "$t site $k: import failed"; }
    cat imp.txt
  done
done
# Without ignoring it, site 3's extra column is an error naming it.
"$FEDSILO" import csv --input credit-3.csv --schema credit.ini --out x.h5 2> imp.txt \
  && fail "an extra column was accepted"
grep -q "column 'internal notes' (column 15 of the file) is not in the schema" imp.txt \
  || { cat imp.txt; fail "unclear extra-column error"; }

# Every site's matrix equals an independent numpy encoding of its rows.
$PY - "$na_credit" "$na_pima" <<'PY' || fail "encoded files differ from the numpy reference"
import csv, sys, h5py, numpy as np
na_total = {"credit": int(sys.argv[1]), "pima": int(sys.argv[2])}
label = {"credit": "Status", "pima": "diabetes"}
categorical = {"credit": ["Home", "Marital", "Records", "Job"], "pima": []}
missing = {"", "NA", "N/A", "NaN", "null", "?"}
for t in ("credit", "pima"):
    sites = []
    for k in range(4):
        d = open("%s-%d.delim" % (t, k)).read().replace("tab", "\t")
        with open("%s-%d.csv" % (t, k), encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter=d))
        sites.append((rows[0], rows[1:]))
    # The column order of site 0 (R's order) is the schema's.
    cols = [c for c in sites[0][0] if c != label[t]]
    cats = {c: sorted({r[h.index(c)] for h, rs in sites for r in rs} - missing)
            for c in categorical[t]}
    classes = sorted({r[h.index(label[t])] for h, rs in sites for r in rs})
    names = []
    for c in cols:
        names += ["%s=%s" % (c, v) for v in cats[c]] if c in cats else [c]
    hashes, nan_total = set(), 0
    for k, (h, rs) in enumerate(sites):
        X = np.zeros((len(rs), len(names)), dtype=np.float32)
        for i, r in enumerate(rs):
            j = 0
            for c in cols:
                v = r[h.index(c)]
                if c in cats:
                    n = len(cats[c])
                    X[i, j:j + n] = np.nan if v in missing else \
                        np.eye(n, dtype=np.float32)[cats[c].index(v)]
                    j += n
                else:
                    X[i, j] = np.nan if v in missing else np.float32(float(v))
                    j += 1
        y = np.array([classes.index(r[h.index(label[t])]) for r in rs], dtype=np.int32)
        with h5py.File("%s-%d.h5" % (t, k), "r") as f:
            got = f["X"][:]
            assert got.dtype == np.float32 and got.shape == X.shape, (t, k, got.shape, X.shape)
            bad = ~((got == X) | (np.isnan(got) & np.isnan(X)))
            assert not bad.any(), (t, k, "first difference at", np.argwhere(bad)[0])
            assert (f["y"][:] == y).all(), (t, k, "labels")
            assert list(f["feature_names"].asstr()[:]) == names, (t, k, "feature names")
            assert list(f["class_names"].asstr()[:]) == classes, (t, k, "class names")
            hashes.add(f.attrs["schema_hash"])
            sfile = "%s-site3.ini" % t if k == 3 else "%s.ini" % t
            assert f.attrs["schema"] == open(sfile).read(), (t, k, "schema text")
        # Missing cells: one per missing numeric cell, one per missing category.
        nan_total += sum(v in missing for r in rs for c in cols for v in [r[h.index(c)]])
    assert len(hashes) == 1, (t, "schema hashes differ", hashes)
    assert nan_total == na_total[t], (t, nan_total, na_total[t])
    print("%s: 4 sites match the numpy encoding (%d features, %d missing cells, hash %s...)"
          % (t, len(names), nan_total, hashes.pop()[:16]))
PY

# inspect shows the schema hash and the missing values; split keeps both.
hash=$(h5attr credit-1.h5 schema_hash)
"$FEDSILO" inspect credit-1.h5 > insp.txt || fail "inspect failed"
grep -q "^schema:         $hash 'credit-study' (14 columns -> 26 features)" insp.txt \
  || { cat insp.txt; fail "inspect does not show the schema"; }
grep -q "^missing values: [1-9][0-9]* (NaN" insp.txt || fail "inspect does not count missing values"
grep -q "^  Income  *[1-9]" insp.txt || fail "inspect has no per-feature missing count"
grep -q "class 0 .*'bad'" insp.txt || fail "inspect does not name the classes"
"$FEDSILO" split --input credit-1.h5 --silos 2 --val-fraction 0.2 --outdir shards >/dev/null \
  || fail "split of a schema file failed"
[ "$(h5attr shards/site-1.h5 schema_hash)" = "$hash" ] || fail "split lost the schema hash"
grep -q "\"schema_hash\": \"$hash\"" shards/manifest.json || fail "manifest lacks the schema hash"
$PY - <<'PY' || fail "split lost missing values"
import h5py, numpy as np
with h5py.File("credit-1.h5", "r") as f:
    want = int(np.isnan(f["X"][:]).sum())
got = 0
for k in range(2):
    with h5py.File("shards/site-%d.h5" % k, "r") as f:
        got += int(np.isnan(f["X"][:]).sum()) + int(np.isnan(f["validation/X"][:]).sum())
assert got == want, (got, want)
PY
note PASS

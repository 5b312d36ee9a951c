#!/bin/sh
# Tabular pipeline end to end: three institutions' CSVs with string categories,
# empty and NA cells and word labels, imported with one schema; `train --impute
# yes` fills mean / median / mode from secure sums, and the fills equal the
# pooled values; `fedsilo predict` on a raw CSV (columns shuffled, no label)
# gives the same probabilities as on the imported HDF5 rows, and its accuracy
# equals `fedsilo eval`'s on the same rows.
. "${FS_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3
cd "$WORK" || fail "no work directory"
$PY - <<'PYEOF' || fail "could not write the CSVs"
import numpy as np
rng = np.random.default_rng(7)
rows = []
for i in range(600):
    a, b = rng.normal(50, 10), rng.exponential(3.0)
    c = rng.choice(["red", "green", "blue"], p=[.5, .3, .2])
    z = 0.08 * (a - 50) + 0.5 * (b - 3) + (1.0 if c == "red" else -0.5) + rng.normal(0, .5)
    rows.append((i, "NA" if rng.random() < .1 else "%.3f" % a, "" if rng.random() < .1 else "%.3f" % b,
                 "NA" if rng.random() < .1 else c, "yes" if z > 0 else "no"))
for k in range(3):
    with open("site-%d.csv" % k, "w") as f:
        f.write("id,age,dose,colour,outcome\n")
        f.writelines(",".join(map(str, r)) + "\n" for r in rows[k * 200:(k + 1) * 200])
with open("raw.csv", "w") as f:           # site 0's rows, other column order, no label
    f.write("colour,dose,id,age\n")
    f.writelines("%s,%s,%s,%s\n" % (r[3], r[2], r[0], r[1]) for r in rows[:200])
PYEOF
"$FEDSILO" schema draft --input site-0.csv --label outcome --out draft.ini >/dev/null || fail "schema draft"
# The consortium's edits: the row number is not a feature, dose is imputed by its median.
awk '/^\[column / { c = $2 } c == "id]" && /^kind/ { $0 = "kind = ignore" }
     c == "id]" && /^impute/ { next } c == "dose]" && /^impute/ { $0 = "impute = median" } { print }' \
    draft.ini > schema.ini
for k in 0 1 2; do
  "$FEDSILO" import csv --input site-$k.csv --schema schema.ini --out site-$k.h5 >/dev/null \
    || fail "import site $k"
done
run_mpi 3 120 "$FEDSILO" train --data site-%d.h5 --model logistic --rounds 5 --lr 0.1 --impute yes \
    --standardize yes --insecure-no-auth yes --out run > out.txt 2>&1 || { cat out.txt; fail "train --impute yes"; }
$PY - <<'PYEOF' || fail "imputation fills differ from the pooled values"
import h5py, numpy as np
X = np.concatenate([h5py.File("site-%d.h5" % k)["X"][:].astype(np.float64) for k in range(3)])
fill = h5py.File("run/checkpoint.h5")["pipeline/impute_fill"][:]
want = [np.nanmean(X[:, 0]), np.nanmedian(X[:, 1])]
counts = np.nansum(X[:, 2:5], axis=0); mode = np.zeros(3); mode[np.argmax(counts)] = 1
err = max(abs(fill[0] - want[0]), abs(fill[1] - want[1]), np.abs(fill[2:5] - mode).max())
print("fills", fill, "pooled", want, mode, "max error %.3g" % err)
raise SystemExit(0 if err < 1e-6 else 1)
PYEOF
"$FEDSILO" predict --checkpoint run/checkpoint.h5 --input raw.csv --out p.csv >/dev/null || fail "predict CSV"
"$FEDSILO" predict --checkpoint run/checkpoint.h5 --input site-0.h5 --out ph.csv >/dev/null || fail "predict HDF5"
[ "$(wc -l < p.csv)" -eq 201 ] || fail "predict CSV: $(wc -l < p.csv) lines, want 201"
cut -d, -f2- p.csv > a.txt; cut -d, -f2- ph.csv > b.txt
cmp -s a.txt b.txt || fail "predict: raw CSV and imported HDF5 rows give different predictions"
eacc=$("$FEDSILO" eval --checkpoint run/checkpoint.h5 --data site-0.h5 | head -1 | sed 's/.*accuracy \([0-9.]*\).*/\1/')
pacc=$($PY -c 'import csv, sys
p = list(csv.DictReader(open("p.csv"))); y = [r["outcome"] for r in csv.DictReader(open("site-0.csv"))]
print("%.6f" % (sum(a["prediction"] == b for a, b in zip(p, y)) / len(y)))')
note "eval accuracy $eacc, predict accuracy $pacc"
awk -v a="$eacc" -v b="$pacc" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' \
  || fail "predict's accuracy differs from eval's on the same rows"
note PASS

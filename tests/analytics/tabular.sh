#!/bin/sh
# `fedsilo stats` and `fedsilo ridge` on schema-imported shards with missing
# cells, three institutions: the missing cells per feature and the rows per
# category (one exact secure sum) equal the pooled counts exactly; with
# --impute yes the fills (mean, median, mode) are fs_prep's, the statistics
# describe the imputed columns and equal numpy on the pooled rows filled with
# them, ridge's coefficients equal the pooled closed form on those rows, its
# checkpoint stores the fills and eval/predict apply them.  Negative controls:
# missing cells without --impute, --impute with --dp-epsilon.  Complete
# schema shards without --impute get the counts too (missing 0, no fills).
. "${FS_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3
cd "$WORK" || fail "no work directory"
$PY - <<'PYEOF' || fail "could not write the CSVs"
import numpy as np
rng = np.random.default_rng(11)
rows = []
for i in range(540):
    a, b = rng.normal(50, 10), rng.exponential(3.0)
    c = rng.choice(["red", "green", "blue", "violet"], p=[.5, .3, .17, .03])
    y = 0.3 * a + 2.0 * b + {"red": 1.0, "green": -2.0, "blue": 0.5, "violet": 3.0}[c] + rng.normal(0, 1)
    rows.append((i, "NA" if rng.random() < .1 else "%.3f" % a, "" if rng.random() < .1 else "%.3f" % b,
                 "NA" if rng.random() < .1 else c, "%.4f" % y))
for k, part in enumerate([rows[:150], rows[150:300], rows[300:450], rows[450:]]):
    with open(("site-%d.csv" % k) if k < 3 else "test.csv", "w") as f:
        f.write("id,age,dose,colour,y\n")
        f.writelines(",".join(map(str, r)) + "\n" for r in part)
for k in range(3):                        # the complete rows: stats without --impute
    with open("complete-%d.csv" % k, "w") as f:
        f.write("id,age,dose,colour,y\n")
        f.writelines(",".join(map(str, r)) + "\n" for r in rows[k * 150:(k + 1) * 150]
                     if "NA" not in r and "" not in r)
with open("raw.csv", "w") as f:           # the test rows, other column order, no label
    f.write("colour,id,dose,age\n")
    f.writelines("%s,%s,%s,%s\n" % (r[3], r[0], r[2], r[1]) for r in rows[450:])
PYEOF
"$FEDSILO" schema draft --input site-0.csv --label y --out draft.ini >/dev/null || fail "schema draft"
# The consortium's edits: id is not a feature, age gets an indicator, dose its
# median, the rare colour goes to an (other) bucket.
awk '/^\[column / { c = $2 } c == "id]" && /^kind/ { $0 = "kind = ignore" }
     c == "id]" && /^impute/ { next } c == "age]" && /^impute/ { $0 = "impute = indicator" }
     c == "dose]" && /^impute/ { $0 = "impute = median" }
     c == "colour]" && /^categories/ { $0 = "categories = blue, green, red" }
     c == "colour]" && /^unknown/ { $0 = "unknown = other" } { print }' draft.ini > schema.ini
for f in site-0 site-1 site-2 test complete-0 complete-1 complete-2; do
  "$FEDSILO" import csv --input $f.csv --schema schema.ini --out $f.h5 >/dev/null || fail "import $f"
done

# Without --impute the shards are refused, naming the feature.
run_mpi 3 60 "$FEDSILO" stats --data site-%d.h5 --insecure-no-auth yes > no.txt 2>&1 \
  && fail "stats accepted missing cells without --impute"
grep -q "has missing values.*--impute yes" no.txt || { cat no.txt; fail "stats: no clear missing-cell error"; }
run_mpi 3 60 "$FEDSILO" stats --data site-%d.h5 --impute yes --dp-epsilon 1 --range 0:100 \
    --insecure-no-auth yes > dp.txt 2>&1
[ $? -eq 2 ] || { cat dp.txt; fail "stats --impute yes --dp-epsilon: want exit 2"; }
grep -q "not differentially private" dp.txt || { cat dp.txt; fail "stats --impute with DP: no clear error"; }

run_mpi 3 60 "$FEDSILO" stats --data site-%d.h5 --impute yes --json stats.json \
    --insecure-no-auth yes > stats.txt 2>&1 || { cat stats.txt; fail "stats --impute yes"; }
grep -q "colour=(other)" stats.txt || { cat stats.txt; fail "stats: no category counts printed"; }
run_mpi 3 60 "$FEDSILO" stats --data complete-%d.h5 --json complete.json \
    --insecure-no-auth yes > complete.txt 2>&1 || { cat complete.txt; fail "stats on complete shards"; }
run_mpi 3 60 "$FEDSILO" ridge --data site-%d.h5 --impute yes --lambda 1 --test test.h5 --out rr \
    --insecure-no-auth yes > ridge.txt 2>&1 || { cat ridge.txt; fail "ridge --impute yes"; }
"$FEDSILO" eval --checkpoint rr/checkpoint.h5 --data test.h5 > eval.txt 2>&1 || { cat eval.txt; fail "eval"; }
"$FEDSILO" predict --checkpoint rr/checkpoint.h5 --input raw.csv --out p.csv > pred.txt 2>&1 \
  || { cat pred.txt; fail "predict on the raw test CSV"; }
"$FEDSILO" predict --checkpoint rr/checkpoint.h5 --input test.h5 --out ph.csv >/dev/null 2>&1 \
  || fail "predict on the imported test rows"
cut -d, -f2- p.csv > a.txt; cut -d, -f2- ph.csv > b.txt
cmp -s a.txt b.txt || fail "predict: raw CSV and imported rows give different predictions"

$PY - <<'PYEOF' || fail "federated counts/statistics/ridge differ from the pooled ones"
import json, h5py, numpy as np
X = np.concatenate([h5py.File("site-%d.h5" % k)["X"][:].astype(np.float64) for k in range(3)])
y = np.concatenate([h5py.File("site-%d.h5" % k)["y"][:].astype(np.float64) for k in range(3)])
names = [n.decode() if isinstance(n, bytes) else n for n in h5py.File("site-0.h5")["feature_names"][:]]
s = json.load(open("stats.json"))
feats = {f["name"]: f for f in s["features"]}
assert s["imputed"] is True and s["count"] == len(X), (s["imputed"], s["count"])
bad = []
for j, nm in enumerate(names):
    f = feats[nm]
    if f["missing"] != np.isnan(X[:, j]).sum(): bad.append((nm, "missing", f["missing"]))
    onehot = "=" in nm
    if onehot != ("category_count" in f): bad.append((nm, "category_count present", onehot))
    if onehot and f["category_count"] != np.nansum(X[:, j]): bad.append((nm, "count", f["category_count"]))
print("missing", [feats[n]["missing"] for n in names])
print("category counts", {n: feats[n]["category_count"] for n in names if "=" in n})
ia, idose = names.index("age"), names.index("dose")
cols = [j for j, n in enumerate(names) if n.startswith("colour=")]
fill = np.array([feats[n].get("fill", np.nan) for n in names])
# the fills: mean (indicator) exact, median within its level-2 sub-bin, mode
if abs(fill[ia] - np.nanmean(X[:, ia])) > 1e-9 * abs(fill[ia]): bad.append(("age fill", fill[ia]))
med = np.nanmedian(X[:, idose]); width = 2.0 ** np.floor(np.log2(med)) / 256
if abs(fill[idose] - med) > width: bad.append(("dose fill", fill[idose], med, width))
counts = np.nansum(X[:, cols], axis=0)
if not (fill[cols] == (np.arange(len(cols)) == np.argmax(counts))).all(): bad.append(("mode", fill[cols]))
Xi = np.where(np.isnan(X), fill, X)
for j, nm in enumerate(names):
    m, sd = Xi[:, j].mean(), Xi[:, j].std(ddof=1)
    if abs(feats[nm]["mean"] - m) > 1e-7 * max(1, abs(m)) or abs(feats[nm]["std"] - sd) > 1e-6 * max(1, sd):
        bad.append((nm, "mean/std", feats[nm]["mean"], m, feats[nm]["std"], sd))
# ridge on the pooled imputed rows, lambda 1 on the weights, not the intercept
r = json.load(open("rr/ridge.json"))
ck = h5py.File("rr/checkpoint.h5")["pipeline/impute_fill"][:]
if not np.array_equal(np.isnan(ck), np.isnan(fill)) or np.nanmax(np.abs(ck - fill)) > 0:
    bad.append(("checkpoint fills", ck, fill))
A = np.hstack([Xi, np.ones((len(Xi), 1))]); P = np.eye(A.shape[1]); P[-1, -1] = 0
w = np.linalg.solve(A.T @ A + P, A.T @ y)
err = max(np.abs(np.array(r["w"]) - w[:-1]).max(), abs(r["b"] - w[-1]))
print("ridge max |w - pooled| %.3g, test rmse %.4f" % (err, r["test"]["rmse"]))
if err > 1e-5: bad.append(("ridge", err))
# complete shards without --impute: the same category counts, no missing cells, no fills
Xc = np.concatenate([h5py.File("complete-%d.h5" % k)["X"][:].astype(np.float64) for k in range(3)])
c = json.load(open("complete.json"))
if c["imputed"] is not False: bad.append(("complete: imputed", c["imputed"]))
for j, f in enumerate(c["features"]):
    if f["missing"] != 0 or "fill" in f: bad.append(("complete", f["name"], f))
    if "=" in f["name"] and f["category_count"] != Xc[:, j].sum(): bad.append(("complete count", f))
    if abs(f["mean"] - Xc[:, j].mean()) > 1e-7 * max(1, abs(Xc[:, j].mean())): bad.append(("complete mean", f))
for b in bad: print("MISMATCH", b)
raise SystemExit(1 if bad else 0)
PYEOF
trmse=$(grep "^test " ridge.txt | sed -n "s/.* rmse \([0-9.]*\).*/\1/p")
ermse=$(sed -n "s/.* rmse \([0-9.]*\).*/\1/p" eval.txt | head -1)
note "ridge --test rmse $trmse, eval rmse $ermse"
[ -n "$trmse" ] && [ "$trmse" = "$ermse" ] || { cat ridge.txt eval.txt; fail "eval's RMSE differs from ridge --test's"; }
note PASS

#!/bin/sh
# Resume keeps the checkpoint's preprocessing pipeline: after `train --impute
# yes --standardize yes` a shard changes (its rows are re-imported with other
# values); `--resume yes` continues with the stored fills and scaling, bit for
# bit, while a fresh run on the changed shards fits other ones (the positive
# control that the change is visible).  A checkpoint whose pipeline's schema
# differs from the shards', or with other --impute/--standardize settings, is
# refused on resume; a --test file or an eval file
# imported with another schema, or without one, is refused.
. "${FS_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3
cd "$WORK" || fail "no work directory"
$PY - <<'PYEOF' || fail "could not write the CSVs"
import numpy as np
rng = np.random.default_rng(5)
def rows(n, shift):
    out = []
    for i in range(n):
        a, b = rng.normal(50 + shift, 10), rng.exponential(3.0)
        c = rng.choice(["red", "green", "blue"], p=[.5, .3, .2])
        z = 0.08 * (a - 50) + 0.5 * (b - 3) + (1.0 if c == "red" else -0.5) + rng.normal(0, .5)
        out.append(("NA" if rng.random() < .1 else "%.3f" % a, "" if rng.random() < .1 else "%.3f" % b,
                    "NA" if rng.random() < .1 else c, "yes" if z > 0 else "no"))
    return out
def write(name, rs):
    with open(name, "w") as f:
        f.write("age,dose,colour,outcome\n")
        f.writelines(",".join(r) + "\n" for r in rs)
for k in range(3): write("site-%d.csv" % k, rows(120, 0))
write("test.csv", rows(60, 0))
write("changed-1.csv", rows(120, 30))      # site 1 between the runs: older patients
PYEOF
"$FEDSILO" schema draft --input site-0.csv --label outcome --out draft.ini >/dev/null || fail "schema draft"
sed '/^\[column dose\]/,/^\[/ s/^impute = .*/impute = median/' draft.ini > schema.ini
sed '/^\[column dose\]/,/^\[/ s/^impute = .*/impute = mean/' draft.ini > other.ini
for f in site-0 site-1 site-2 test; do
  "$FEDSILO" import csv --input $f.csv --schema schema.ini --out $f.h5 >/dev/null || fail "import $f"
  "$FEDSILO" import csv --input $f.csv --schema other.ini --out other-$f.h5 >/dev/null || fail "import $f (other)"
done
TRAIN="--model logistic --lr 0.1 --impute yes --standardize yes --insecure-no-auth yes"
run_mpi 3 120 "$FEDSILO" train --data site-%d.h5 $TRAIN --rounds 2 --out run > a.txt 2>&1 \
  || { cat a.txt; fail "first run"; }
cp run/checkpoint.h5 first.h5
"$FEDSILO" import csv --input changed-1.csv --schema schema.ini --out site-1.h5 >/dev/null || fail "re-import site 1"
run_mpi 3 120 "$FEDSILO" train --data site-%d.h5 $TRAIN --rounds 4 --resume yes --out run > b.txt 2>&1 \
  || { cat b.txt; fail "resume after the shard changed"; }
run_mpi 3 120 "$FEDSILO" train --data site-%d.h5 $TRAIN --rounds 2 --out fresh > c.txt 2>&1 \
  || { cat c.txt; fail "fresh run on the changed shards"; }
$PY - <<'PYEOF' || fail "resume did not keep the checkpoint's pipeline"
import h5py, numpy as np
def pipe(p):
    f = h5py.File(p)
    return [f["pipeline/impute_fill"][:], f["standardize_mean"][:], f["standardize_scale"][:]], f.attrs["round"]
a, ra = pipe("first.h5"); b, rb = pipe("run/checkpoint.h5"); c, _ = pipe("fresh/checkpoint.h5")
same = all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))
moved = max(np.nanmax(np.abs(x - y)) for x, y in zip(a, c))
print("rounds", ra, rb, "resumed == first:", same, "fresh fit moved by", moved)
raise SystemExit(0 if same and rb == 4 and moved > 1 else 1)
PYEOF

# A checkpoint fitted under another schema: refused (agreed by every rank), exit 1.
run_mpi 3 120 "$FEDSILO" train --data other-site-%d.h5 $TRAIN --rounds 6 --resume yes --out run > d.txt 2>&1
rc=$?
[ $rc -eq 1 ] || { cat d.txt; fail "resume under another schema: exit $rc, want 1"; }
grep -q 'rank 0: run/checkpoint.h5 was fitted on shards imported with schema' d.txt \
  || { cat d.txt; fail "resume under another schema: no clear message"; }
$PY -c 'import h5py, sys; sys.exit(int(h5py.File("run/checkpoint.h5").attrs["round"]) != 4)' \
  || fail "the refused resume changed the checkpoint"

# Other --impute/--standardize settings than the checkpoint's: refused too.
run_mpi 3 120 "$FEDSILO" train --data site-%d.h5 --model logistic --lr 0.1 --impute yes \
    --insecure-no-auth yes --rounds 6 --resume yes --out run > f.txt 2>&1 \
  && fail "resume without --standardize accepted a standardized checkpoint"
grep -q "was written with --impute yes --standardize yes, this run has --impute yes --standardize no" f.txt \
  || { cat f.txt; fail "resume with other pipeline settings: no clear message"; }

# Test and eval files must carry the run's schema.
$PY - <<'PYEOF' || hard "could not write the schema-less test file"
import h5py, numpy as np, shutil
shutil.copy("test.h5", "plain-test.h5")
with h5py.File("plain-test.h5", "r+") as f:
    X = f["X"][:]; X[np.isnan(X)] = 0; f["X"][...] = X
    for k in ("schema", "schema_hash"): del f.attrs[k]
PYEOF
"$FEDSILO" eval --checkpoint run/checkpoint.h5 --data test.h5 > e.txt 2>&1 || { cat e.txt; fail "eval on test.h5"; }
"$FEDSILO" eval --checkpoint run/checkpoint.h5 --data other-test.h5 > e1.txt 2>&1 \
  && fail "eval accepted a file imported with another schema"
grep -q "other-test.h5 was imported with schema .* the checkpoint was fitted" e1.txt || { cat e1.txt; fail "eval: no clear schema message"; }
"$FEDSILO" eval --checkpoint run/checkpoint.h5 --data plain-test.h5 > e2.txt 2>&1 \
  && fail "eval accepted a file imported without the schema"
grep -q "plain-test.h5 was imported without a schema" e2.txt || { cat e2.txt; fail "eval: no clear no-schema message"; }
for t in other-test plain-test; do
  run_mpi 3 120 "$FEDSILO" train --data site-%d.h5 $TRAIN --rounds 1 --test $t.h5 --out t-$t > t.txt 2>&1 \
    && fail "train accepted --test $t.h5"
  grep -q "$t.h5 was imported with.*the training run" t.txt || { cat t.txt; fail "train --test $t.h5: no clear message"; }
done
note PASS

#!/bin/sh
# `fedsilo ridge` equals the centralized closed form.
#
# Data: diabetes (Debian python3-sklearn, 442 rows, 10 raw features), 80/20
# train/test split (seed 42), training part split over 3 ranks.  Reference:
# numpy on the pooled float32 shards in float64, np.linalg.solve of
#   raw:           (X1^T X1 + lambda I') [w; b] = X1^T y,  X1 = [X, 1]
#   standardized:  centered/scaled normal equations (sklearn Ridge on
#                  StandardScaler features), mapped back to raw features.
# Required: ||[w; b]_fed - [w; b]_ref|| / ||[w; b]_ref|| <= 1e-6, secure and
# plain; the measured relative error is printed.  Also: `fedsilo eval` of
# OUT/checkpoint.h5 reproduces the printed test RMSE, and classification
# data is refused with exit status 2.
. "${FS_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3
$PY -c 'import numpy, h5py' 2>/dev/null || hard "need /usr/bin/python3 with numpy and h5py"
$PY "$FS_SRCDIR/scripts/sklearn-csv.py" diabetes --out "$WORK/csv" --seed 42 >/dev/null \
  || hard "converter failed (python3-sklearn data missing?)"
for p in train test; do
  "$FEDSILO" import csv --input "$WORK/csv/$p.csv" --label target --task regression \
      --out "$WORK/$p.h5" >/dev/null || hard "import $p failed"
done
"$FEDSILO" split --input "$WORK/train.h5" --silos 3 --method quantity --alpha 2 --seed 5 \
    --outdir "$WORK/shards" >/dev/null || hard "split failed"

check() {  # check NAME LAMBDA STANDARDIZE(0|1)
  $PY - "$WORK/shards" 3 "$WORK/$1/ridge.json" "$2" "$3" <<'EOF'
import json, sys
import h5py
import numpy as np
shards, nr, js, lam, std = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5] == "1"
X, y = [], []
for r in range(nr):
    with h5py.File(f"{shards}/site-{r}.h5", "r") as f:
        X.append(f["X"][...].astype(np.float64)); y.append(f["y"][...].astype(np.float64))
X, y = np.vstack(X), np.concatenate(y)
n, d = X.shape
if std:
    mu, sd = X.mean(0), X.std(0)
    Z = (X - mu) / sd
    v = np.linalg.solve(Z.T @ Z + lam * np.eye(d), Z.T @ (y - y.mean()))
    w = v / sd
    b = y.mean() - mu @ w
    ref = np.append(w, b)
else:
    X1 = np.hstack([X, np.ones((n, 1))])
    P = lam * np.eye(d + 1); P[d, d] = 0
    ref = np.linalg.solve(X1.T @ X1 + P, X1.T @ y)
s = json.load(open(js))
fed = np.append(s["w"], s["b"])
rel = np.linalg.norm(fed - ref) / np.linalg.norm(ref)
print(f"lambda {lam} standardize {std}: relative error {rel:.3g} vs numpy (n {n}, d {d})")
sys.exit(0 if rel <= 1e-6 and s["n"] == n else 1)
EOF
}

for agg in secure plain; do
  if [ $agg = secure ]; then flags="--insecure-no-auth yes"; else flags="--aggregation plain"; fi
  # shellcheck disable=SC2086
  run_mpi 3 120 "$FEDSILO" ridge --data "$WORK/shards/site-%d.h5" --lambda 0.5 --out "$WORK/raw-$agg" \
      --test "$WORK/test.h5" $flags > "$WORK/raw-$agg.txt" 2>&1 \
    || { cat "$WORK/raw-$agg.txt"; fail "ridge ($agg) exited non-zero"; }
  grep -v warning "$WORK/raw-$agg.txt"
  check "raw-$agg" 0.5 0 || fail "$agg ridge solution differs from numpy"
  # shellcheck disable=SC2086
  run_mpi 3 120 "$FEDSILO" ridge --data "$WORK/shards/site-%d.h5" --lambda 10 --standardize \
      --out "$WORK/std-$agg" $flags > "$WORK/std-$agg.txt" 2>&1 \
    || { cat "$WORK/std-$agg.txt"; fail "ridge --standardize ($agg) exited non-zero"; }
  check "std-$agg" 10 1 || fail "$agg standardized ridge differs from numpy"
done

# Ordinary least squares (lambda 0) through the roster-free secure path.
run_mpi 3 120 "$FEDSILO" ridge --data "$WORK/shards/site-%d.h5" --out "$WORK/ols-secure" \
    --insecure-no-auth yes > /dev/null 2>&1 || fail "ridge --lambda 0 failed"
check ols-secure 0 0 || fail "least squares differs from numpy"

# The checkpoint is a linear model that fedsilo eval reproduces.
"$FEDSILO" eval --checkpoint "$WORK/raw-secure/checkpoint.h5" --data "$WORK/test.h5" > "$WORK/eval.txt" \
  || fail "eval of the ridge checkpoint failed"
a=$(sed -n 's/^test .* rmse \([0-9.]*\) .*/\1/p' "$WORK/raw-secure.txt")
b=$(sed -n 's/.* rmse \([0-9.]*\) .*/\1/p' "$WORK/eval.txt")
note "test rmse: ridge $a, eval $b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "eval rmse $b != ridge test rmse $a"

# Classification data is refused (exit 2) on every rank.
"$FEDSILO" import csv --input "$WORK/csv/train.csv" --label sex --out "$WORK/cls.h5" >/dev/null \
  || hard "import cls failed"
run_mpi 2 60 "$FEDSILO" ridge --data "$WORK/cls.h5" --out "$WORK/cls" --aggregation plain \
    > "$WORK/cls.txt" 2>&1
st=$?
[ $st -eq 2 ] || { cat "$WORK/cls.txt"; fail "ridge on classification data: exit $st, expected 2"; }
grep -q "needs a regression dataset" "$WORK/cls.txt" || fail "no clear message for classification data"
note PASS

#!/bin/sh
# `fedsilo stats` equals the centralized computation on the pooled shards.
#
# Data: the breast-cancer table (Debian python3-sklearn, 569 rows x 30 raw
# features, 2 classes) split over 4 ranks.  Every released statistic is
# compared with numpy on the pooled float32 shards read with h5py:
#   count, class counts, histogram counts (with fedsilo's own bin edges,
#   which are checked against numpy's mean +- 4 std separately): exact;
#   mean, var, std, covariance, correlation: within the fixed-point bound.
# The bound: each rank's sums enter the 64-bit ring with f = 29 fractional
# bits (N = 4 ranks), rounded to nearest, so every global sum is within
# E = N * 2^-(f+1) ~ 3.7e-9 of the exact sum (an ABSOLUTE error).  Hence
#   |d mean| <= E / n,  |d var|, |d cov| <= E / (n - 1),
#   |d std| <= |d var| / (2 std),
#   |d corr_jk| <= |d cov| / (std_j std_k) + |corr_jk| |d var| (1/var_j + 1/var_k) / 2,
# each doubled for safety plus 1e-12 relative for double rounding.  The test
# prints the largest error as a fraction of its bound.  Runs secure
# (authenticated with a roster) and plain; checks the --covariance limit.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_sklearn
$PY "$FS_SRCDIR/scripts/sklearn-csv.py" breast-cancer --out "$WORK/csv" --test-fraction 0 >/dev/null \
  || hard "converter failed"
"$FEDSILO" import csv --input "$WORK/csv/train.csv" --label target --out "$WORK/all.h5" >/dev/null \
  || hard "import failed"
"$FEDSILO" split --input "$WORK/all.h5" --silos 4 --method dirichlet --alpha 1 --seed 3 \
    --outdir "$WORK/shards" >/dev/null || hard "split failed"
make_consortium "$WORK/k" 4

for mode in secure plain; do
  if [ $mode = secure ]; then auth="--roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key"
  else auth="--aggregation plain"; fi
  # shellcheck disable=SC2086
  run_mpi 4 120 "$FEDSILO" stats --data "$WORK/shards/site-%d.h5" --bins 12 --covariance \
      --json "$WORK/$mode.json" $auth > "$WORK/$mode.txt" 2>&1 \
    || { cat "$WORK/$mode.txt"; fail "stats ($mode) exited non-zero"; }
  head -5 "$WORK/$mode.txt"
  grep -q "aggregation $mode" "$WORK/$mode.txt" || fail "$mode: no header line"
  grep -q '^class counts: 0:[0-9]* 1:[0-9]*' "$WORK/$mode.txt" || fail "$mode: no class counts"
  $PY - "$WORK/shards" "$WORK/$mode.json" 4 12 <<'EOF' || fail "$mode: statistics differ from numpy"
import json, sys
import h5py
import numpy as np
shards, js, nr, bins = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
X, y = [], []
for r in range(nr):
    with h5py.File(f"{shards}/site-{r}.h5", "r") as f:
        X.append(f["X"][...].astype(np.float64)); y.append(f["y"][...])
X, y = np.vstack(X), np.concatenate(y)
s = json.load(open(js))
n, d = X.shape
worst = 0.0
def close(name, a, b, atol):
    global worst
    a, b = np.asarray(a, float), np.asarray(b, float)
    tol = 2 * np.asarray(atol, float) + 1e-12 * np.abs(b)
    r = np.max(np.abs(a - b) / tol)
    worst = max(worst, r)
    if not r <= 1:
        sys.exit(f"{name}: error {np.max(np.abs(a - b)):.3g} is {r:.3g} x the bound")
assert s["count"] == n, (s["count"], n)
assert s["class_counts"] == np.bincount(y, minlength=2).tolist(), s["class_counts"]
feats = s["features"]
assert len(feats) == d
E = nr * 2.0 ** -30            # f = 29 for N <= 4
mean, std = X.mean(0), X.std(0, ddof=1)
tm, tv = E / n, E / (n - 1)
close("mean", [f["mean"] for f in feats], mean, tm)
close("var", [f["var"] for f in feats], X.var(0, ddof=1), tv)
close("std", [f["std"] for f in feats], std, tv / (2 * std))
close("hist range", [[f["hist_lo"], f["hist_hi"]] for f in feats],
      np.stack([mean - 4 * std, mean + 4 * std], 1),
      np.stack([tm + 4 * tv / (2 * std)] * 2, 1))
for j, f in enumerate(feats):
    assert f["count"] == n
    lo, hi, x = f["hist_lo"], f["hist_hi"], X[:, j]
    inside = (x >= lo) & (x < hi)
    k = np.minimum(np.floor((x[inside] - lo) / (hi - lo) * bins).astype(int), bins - 1)
    ref = np.bincount(k, minlength=bins)
    if f["hist"] != ref.tolist() or f["underflow"] != int((x < lo).sum()) \
            or f["overflow"] != int((x >= hi).sum()):
        sys.exit(f"feature {j}: histogram {f['hist']} != numpy {ref.tolist()}")
close("covariance", s["covariance"], np.cov(X, rowvar=False), tv)
R = np.corrcoef(X, rowvar=False)
iv = 1 / std ** 2
close("correlation", s["correlation"], R,
      tv / np.outer(std, std) + np.abs(R) * tv / 2 * (iv[:, None] + iv[None, :]))
print(f"numpy agrees: {n} rows, {d} features; counts, class counts and histograms exact; "
      f"largest error {worst:.3g} x its fixed-point bound")
EOF
done

# A given range: every value of the pooled data counted once (under + bins + over = n).
run_mpi 4 120 "$FEDSILO" stats --data "$WORK/shards/site-%d.h5" --bins 4 --range 0:1 \
    --aggregation plain --json "$WORK/range.json" > /dev/null 2>&1 || fail "stats --range failed"
$PY -c "
import json, sys
s = json.load(open('$WORK/range.json'))
for f in s['features']:
    assert f['hist_lo'] == 0 and f['hist_hi'] == 1
    assert f['underflow'] + sum(f['hist']) + f['overflow'] == s['count'], f
" || fail "--range histogram does not account for every row"

# Covariance above the limit is refused on every rank with a clear message, exit 2.
run_mpi 4 120 "$FEDSILO" stats --data "$WORK/shards/site-%d.h5" --covariance \
    --max-covariance-features 10 --aggregation plain > "$WORK/lim.txt" 2>&1
st=$?
cat "$WORK/lim.txt"
[ $st -ne 0 ] || fail "covariance of 30 features with limit 10 succeeded"
grep -q "refusing the covariance of 30 features.*--max-covariance-features" "$WORK/lim.txt" \
  || fail "no clear message for the covariance limit"
# No exact min/max is offered.
"$FEDSILO" stats --min > /dev/null 2>&1 && fail "stats accepted --min"
note PASS

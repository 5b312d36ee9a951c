#!/bin/sh
# edge_mpi.sh - `fedsilo train --model gbdt` at the edges, under mpirun -np 4
# with an authenticated roster (the deployment path), on a synthetic 3-class
# table (600 rows, 6 features, feature 2 constant everywhere) dealt with
# label skew:
#   - multi:softprob trees deeper than the data supports (--max-depth 16):
#     training ends every tree where no node can split, and the model equals
#     the centralized engine's on the pooled rows (identical hash); the
#     constant feature has one bin and is never a split (the XGBoost export's
#     split_indices);
#   - early stopping on the institutions' validation parts (--val-fraction):
#     training stops before --trees, the checkpoint holds the best round's
#     trees (3 per round) and still evaluates.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
PY=/usr/bin/python3
$PY -c 'import h5py, numpy' 2>/dev/null || need "/usr/bin/python3 cannot import h5py and numpy (python3-h5py)"
D="$WORK/d"
mkdir -p "$D"
$PY - "$D" <<'EOS' || hard "synthetic table failed"
import sys, numpy as np
rng = np.random.default_rng(11)
n = 600
X = rng.normal(size=(n, 6))
X[:, 2] = 7.0                                  # constant everywhere
X[:, 5] = rng.integers(0, 4, n)                # small integers
f = X[:, 0] + 0.8 * X[:, 1] * (X[:, 5] > 1) - 0.5 * X[:, 3]
y = np.digitize(f + 0.3 * rng.normal(size=n), [-0.6, 0.6])
with open(sys.argv[1] + "/t.csv", "w") as o:
    o.write("f0,f1,f2,f3,f4,f5,label\n")
    for r, c in zip(X, y):
        o.write(",".join("%.7g" % v for v in r) + ",%d\n" % c)
EOS
"$FEDSILO" import csv --input "$D/t.csv" --label label --out "$D/t.h5" > /dev/null \
  || hard "import failed"
"$FEDSILO" split --input "$D/t.h5" --silos 4 --method dirichlet --alpha 0.5 --seed 2 \
    --outdir "$D/s" > /dev/null || hard "split failed"
"$FEDSILO" split --input "$D/t.h5" --silos 4 --method dirichlet --alpha 0.5 --seed 2 \
    --val-fraction 0.25 --outdir "$D/v" > /dev/null || hard "split with validation failed"
make_consortium "$WORK/k" 4
auth="--roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key --quiet"
hashes() { sed -n 's/.*"model_hash": "\([0-9a-f]*\)".*/\1/p' "$1/metrics.jsonl"; }

# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train --model gbdt --trees 3 --max-depth 16 --seed 1 \
    --data "$D/s/site-%d.h5" $auth --out "$WORK/deep" || fail "deep GBDT run failed"
$PY - "$D" "$D"/s/site-*.h5 <<'EOS' || hard "pooling failed"
import sys, h5py, numpy as np
X = np.concatenate([h5py.File(p, "r")["X"][:] for p in sys.argv[2:]])
y = np.concatenate([h5py.File(p, "r")["y"][:] for p in sys.argv[2:]])
def put(path, X, y):
    with open(path, "wb") as f:
        f.write(b"FSGBDAT1"); f.write(np.array(X.shape, "<u8").tobytes())
        f.write(np.ascontiguousarray(X, "<f4").tobytes()); f.write(np.ascontiguousarray(y, "<f4").tobytes())
put(sys.argv[1] + "/pooled.fsgb", X, y)
EOS
"$FS_BUILDDIR/bench/gbdt_bench" --train "$D/pooled.fsgb" --test "$D/pooled.fsgb" \
    --objective multi:softprob --num-class 3 --trees 3 --max-depth 16 --seed 1 \
    > "$WORK/central.json" || fail "centralized engine failed"
last=$(hashes "$WORK/deep" | tail -1)
grep -q "\"model_hash\": \"$last\"" "$WORK/central.json" \
  || fail "federated model $last differs from the centralized one: $(cat "$WORK/central.json")"
"$FEDSILO" export --checkpoint "$WORK/deep/checkpoint.h5" --format xgboost --out "$WORK/m.json" \
    > /dev/null || fail "export failed"
$PY - "$WORK/m.json" <<'EOS' || fail "the constant feature 2 was used as a split"
import json, sys
trees = json.load(open(sys.argv[1]))["learner"]["gradient_booster"]["model"]["trees"]
used = {s for t in trees for s, l in zip(t["split_indices"], t["left_children"]) if l != -1}
print("features split on:", sorted(used))
sys.exit(2 in used)
EOS

# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train --model gbdt --trees 300 --max-depth 4 --eta 0.5 \
    --early-stopping-rounds 3 --seed 1 --data "$D/v/site-%d.h5" $auth --out "$WORK/es" \
  || fail "early-stopping run failed"
n=$(wc -l < "$WORK/es/metrics.jsonl")
r=$(h5attr "$WORK/es/checkpoint.h5" round)
nt=$(h5attr "$WORK/es/checkpoint.h5" gbdt/num_trees)
note "early stopping: $n rounds run, best round $r, $nt trees kept"
[ "$n" -lt 300 ] && [ "$r" -le $((n - 3)) ] && [ "$nt" = $((3 * r)) ] \
  || fail "early stopping: $n rounds, checkpoint round $r, $nt trees"
"$FEDSILO" eval --checkpoint "$WORK/es/checkpoint.h5" --data "$D/t.h5" > /dev/null \
  || fail "eval of the early-stopped checkpoint failed"
note PASS

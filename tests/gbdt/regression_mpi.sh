#!/bin/sh
# regression_mpi.sh - `fedsilo train --model gbdt --objective reg:squarederror`
# under mpirun -np 4 on sklearn's diabetes (332 training rows sorted by target
# and cut into 4 institutions: target skew), each institution importing its
# own CSV with the consortium schema whose label column declares the public
# range 0:400 (tests/gbdt/regression_mpi.py):
#   - secure == plain: identical model hash after every round and in the
#     checkpoint;
#   - federated == centralized: bench/gbdt_bench on the pooled rows (one
#     process, --label-range 0:400 --base-score 200) gives the same hash;
#   - the label range from --label-range on shards imported without a schema
#     gives the same trees as the schema's declared range;
#   - test RMSE (fedsilo predict) within 1% of xgboost.train(tree_method=
#     'hist', objective='reg:squarederror', base_score=200) with the same
#     trees/depth/eta/bins on the pooled rows; eval prints RMSE and R^2;
#   - fedsilo export --format xgboost: xgboost.Booster loads the file and
#     predicts as fedsilo predict did (relative difference <= 1e-5);
#   - targets 1000 times larger (--label-range 0:400000): the run works (the
#     metric sums are in units of the range) and gives the same test R^2;
#   - a target outside the public range: every rank exits non-zero with one
#     message naming the rank, its shard and the public range, no value;
#   - hostile: no public range at all, a malformed range, a regression
#     objective on class shards and a class objective on regression shards,
#     --label-range without --model gbdt, a CSV target outside the schema's
#     range at import.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_xgboost
H="$FS_SRCDIR/tests/gbdt/regression_mpi.py"
D="$WORK/d"
mkdir -p "$D/shards" "$D/raw"
$PY "$H" data "$D" || hard "diabetes conversion failed"
for i in 0 1 2 3; do
  "$FEDSILO" import csv --input "$D/site-$i.csv" --schema "$D/schema.ini" \
      --out "$D/shards/site-$i.h5" >/dev/null || hard "import of site $i failed"
  "$FEDSILO" import csv --input "$D/site-$i.csv" --label target --task regression \
      --out "$D/raw/site-$i.h5" >/dev/null || hard "import of site $i without schema failed"
done
"$FEDSILO" import csv --input "$D/test.csv" --schema "$D/schema.ini" --out "$D/test.h5" \
    >/dev/null || hard "import of the test rows failed"
T=30; DEP=3; ETA=0.1; B=256
common="--model gbdt --objective reg:squarederror --trees $T --max-depth $DEP --eta $ETA
 --max-bins $B --seed 1 --insecure-no-auth yes"
hashes() { sed -n 's/.*"model_hash": "\([0-9a-f]*\)".*/\1/p' "$1/metrics.jsonl"; }

# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --data "$D/shards/site-%d.h5" --test "$D/test.h5" \
    --checkpoint-every 10 --out "$WORK/sec" > "$WORK/sec.txt" 2>&1 \
  || { cat "$WORK/sec.txt"; fail "secure GBDT regression run failed"; }
grep -q "^round $T/$T  trees $T  train_rmse [0-9.]*  test_rmse [0-9.]*  test_r2 0\.[0-9]*  " \
    "$WORK/sec.txt" || { cat "$WORK/sec.txt"; fail "no progress line with test_rmse and test_r2"; }
grep -q '"test_rmse": .*"test_r2": .*"metric": "rmse"' "$WORK/sec/metrics.jsonl" \
  || fail "metrics.jsonl lacks test_rmse/test_r2: $(tail -1 "$WORK/sec/metrics.jsonl")"
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --data "$D/shards/site-%d.h5" --test "$D/test.h5" \
    --aggregation plain --quiet --out "$WORK/pla" || fail "plain GBDT regression run failed"
[ "$(hashes "$WORK/sec" | wc -l)" = $T ] || fail "expected $T metrics lines"
[ "$(hashes "$WORK/sec")" = "$(hashes "$WORK/pla")" ] || fail "secure and plain trees differ"
hs=$(h5attr "$WORK/sec/checkpoint.h5" model_hash)
[ -n "$hs" ] && [ "$hs" = "$(h5attr "$WORK/pla/checkpoint.h5" model_hash)" ] \
  || fail "secure and plain checkpoints differ"
last=$(hashes "$WORK/sec" | tail -1)

# the same public range from --label-range (shards without a schema)
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --data "$D/raw/site-%d.h5" --label-range 0:400 \
    --aggregation plain --quiet --out "$WORK/raw" || fail "run with --label-range failed"
[ "$(hashes "$WORK/raw" | tail -1)" = "$last" ] \
  || fail "--label-range 0:400 gives other trees than the schema's range 0:400"

# federated == centralized: the engine on the pooled rows, one process
$PY "$FS_SRCDIR/tests/gbdt/train_mpi.py" pool "$D" "$D"/shards/site-*.h5 || hard "pooling failed"
"$FS_BUILDDIR/bench/gbdt_bench" --train "$D/pooled.fsgb" --test "$D/test.fsgb" \
    --objective reg:squarederror --label-range 0:400 --base-score 200 --trees $T \
    --max-depth $DEP --eta $ETA --max-bins $B --seed 1 > "$WORK/central.json" \
  || fail "centralized engine failed"
grep -q "\"model_hash\": \"$last\"" "$WORK/central.json" \
  || fail "federated model $last differs from the centralized one: $(cat "$WORK/central.json")"

# quality against xgboost hist, export, eval
"$FEDSILO" predict --checkpoint "$WORK/sec/checkpoint.h5" --input "$D/test.h5" \
    --out "$WORK/preds.csv" > /dev/null || fail "predict on the regression checkpoint failed"
head -1 "$WORK/preds.csv" | grep -qx 'row,prediction' || fail "predict header: $(head -1 "$WORK/preds.csv")"
$PY "$H" rmse "$D" "$WORK/preds.csv" $T $DEP $ETA $B 200 || fail "test RMSE not within 1% of xgboost"
"$FEDSILO" export --checkpoint "$WORK/sec/checkpoint.h5" --format xgboost --out "$WORK/m.json" \
    > /dev/null || fail "export of the regression checkpoint failed"
grep -q '"reg:squarederror"' "$WORK/m.json" || fail "export: objective not reg:squarederror"
$PY "$H" xgbload "$D" "$WORK/preds.csv" "$WORK/m.json" || fail "exported model predicts otherwise"
"$FEDSILO" eval --checkpoint "$WORK/sec/checkpoint.h5" --data "$D/test.h5" > "$WORK/eval.txt" \
  || fail "eval on the regression checkpoint failed"
grep -q 'model gbdt) on .*: rows 110 .* rmse [0-9.]* .* r2 0\.' "$WORK/eval.txt" \
  || fail "eval output: $(cat "$WORK/eval.txt")"

# targets 1000 times larger (sums of squares beyond 2^31 per institution):
# the metric sums are taken in units of the label range, so the run works
# and its test R^2 is the unscaled run's (up to float32 rounding of the trees)
for i in 0 1 2 3; do
  "$FEDSILO" import csv --input "$D/big/site-$i.csv" --label target --task regression \
      --out "$D/big/site-$i.h5" >/dev/null || hard "import of big site $i failed"
done
"$FEDSILO" import csv --input "$D/big/test.csv" --label target --task regression \
    --out "$D/big/test.h5" >/dev/null || hard "import of the big test rows failed"
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --data "$D/big/site-%d.h5" --test "$D/big/test.h5" \
    --label-range 0:400000 --quiet --out "$WORK/big" > "$WORK/big.txt" 2>&1 \
  || { cat "$WORK/big.txt"; fail "run with targets in thousandths failed"; }
r2() { sed -n 's/.*"test_r2": \([-0-9.e]*\).*/\1/p' "$1/metrics.jsonl" | tail -1; }
note "test R^2: $(r2 "$WORK/sec") (targets), $(r2 "$WORK/big") (targets x 1000)"
awk -v a="$(r2 "$WORK/sec")" -v b="$(r2 "$WORK/big")" 'BEGIN { exit !(b != "" && a - b < 1e-3 && b - a < 1e-3) }' \
  || fail "test R^2 of the scaled targets differs"

# a target outside the public range: sites 2 and 3 hold targets above 200
# shellcheck disable=SC2086
run_mpi 4 60 "$FEDSILO" train $common --data "$D/raw/site-%d.h5" --label-range 0:200 \
    --out "$WORK/bad" > "$WORK/bad.txt" 2>&1 && fail "a target outside --label-range was accepted"
grep -q '^fedsilo train: error: rank 2: .*site-2\.h5: gbdt: a target of the training part is outside the public label range \[0, 200\]$' \
    "$WORK/bad.txt" || { cat "$WORK/bad.txt"; fail "no clear out-of-range message"; }
[ ! -f "$WORK/bad/checkpoint.h5" ] || fail "a checkpoint was written after the range error"

# hostile cases (2 ranks suffice: every refusal is agreed before any sum): exit status and message
expect() {   # expect STATUS PATTERN CMD...: CMD exits STATUS with PATTERN in its output
  st=$1; pat=$2; shift 2
  "$@" > "$WORK/h.txt" 2>&1
  rc=$?
  [ $rc -eq "$st" ] && grep -q -- "$pat" "$WORK/h.txt" \
    || { cat "$WORK/h.txt"; fail "expected exit $st and '$pat', got exit $rc: $*"; }
}
# shellcheck disable=SC2086
expect 2 'needs a public range of the target' run_mpi 2 60 "$FEDSILO" train $common \
    --data "$D/raw/site-%d.h5" --out "$WORK/h1"
# shellcheck disable=SC2086
expect 2 "label-range: HI of '0:x' is not a number" run_mpi 2 60 "$FEDSILO" train $common \
    --data "$D/raw/site-%d.h5" --label-range 0:x --out "$WORK/h2"
expect 2 "needs a class target; the shards hold a regression target" run_mpi 2 60 \
    "$FEDSILO" train --model gbdt --objective multi:softprob --trees 2 --insecure-no-auth yes \
    --data "$D/shards/site-%d.h5" --out "$WORK/h3"
expect 2 "label-range is an option of --model gbdt" "$FEDSILO" train --model linear \
    --data "$D/shards/site-%d.h5" --label-range 0:1 --out "$WORK/h4"
$PY "$FS_SRCDIR/tests/gbdt/train_mpi.py" data "$D" || hard "breast cancer conversion failed"
"$FEDSILO" import csv --input "$D/train.csv" --label label --out "$D/bc.h5" >/dev/null \
  || hard "breast cancer import failed"
"$FEDSILO" split --input "$D/bc.h5" --silos 4 --outdir "$D/bc" >/dev/null || hard "split failed"
expect 2 "needs a regression target; the shards hold a class target" run_mpi 2 60 \
    "$FEDSILO" train --model gbdt --objective reg:squarederror --label-range 0:1 --trees 2 \
    --insecure-no-auth yes --data "$D/bc/site-%d.h5" --out "$WORK/h5"
{ head -1 "$D/site-0.csv"; sed -n 2p "$D/site-0.csv" | sed 's/,[^,]*$/,500/'; } > "$D/big.csv"
expect 1 "target.*500.*range" "$FEDSILO" import csv --input "$D/big.csv" --schema "$D/schema.ini" \
    --out "$D/big.h5"
note PASS

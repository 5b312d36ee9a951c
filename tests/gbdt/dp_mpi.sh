#!/bin/sh
# dp_mpi.sh - `fedsilo train --model gbdt --ddp yes` (record-level distributed DP of the
# tree-level histogram sums) under mpirun -np 3 on a synthetic table imported with a
# schema that gives every numeric column a public range (tests/gbdt/dp_mpi.py gen):
#   1. the noise is there and calibrated: the level-0 sum of every tree minus the sum of
#      the institutions' exact vectors (FEDSILO_GBDT_DP_DUMP, with --dp-seed) has variance
#      N (z S)^2 / H, S^2 = (1 + F)(2^40 + 2^36), for H = N - 1 (default) and H = 1
#      (--ddp-min-honest); the old all-N calibration (total variance (z S)^2) is rejected
#      by the same check; the count words are zeroed;
#   2. ddp_epsilon of every metrics line equals the RDP epsilon of rounds x max_depth
#      Gaussian mechanisms computed independently in python; no exact row count or loss
#      is released without --dp-public-metrics;
#   3. refusals: a numeric column without a public range (named), --aggregation plain, a
#      --dp-epsilon below the epsilon of one round;
#   4. resume continues the budget: 3 rounds, then --resume auto --trees 8 with a
#      --dp-epsilon between the epsilon of 5 and 6 rounds stops after round 5 (the
#      journal holds 5 charges per institution); that checkpoint does not resume without
#      --ddp yes;
#   5. DP regression (reg:squarederror, the schema's public label range): epsilon on every
#      line as in 2, RMSE test metrics.
. "${FS_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3
$PY -c 'import numpy' 2>/dev/null || need "/usr/bin/python3 cannot import numpy (python3-numpy)"
H="$FS_SRCDIR/tests/gbdt/dp_mpi.py"
D="$WORK/d"
mkdir -p "$D"
$PY "$H" gen "$D" || hard "data generation failed"
for p in train test; do
  "$FEDSILO" import csv --input "$D/$p.csv" --schema "$D/schema.ini" --out "$D/$p.h5" \
    > /dev/null || hard "import of $p failed"
done
"$FEDSILO" import csv --input "$D/train.csv" --schema "$D/norange.ini" --out "$D/nr.h5" \
  > /dev/null || hard "import without a range failed"
"$FEDSILO" split --input "$D/train.h5" --silos 3 --method iid --seed 2 --outdir "$D/sh" \
  > /dev/null || hard "split failed"
"$FEDSILO" split --input "$D/nr.h5" --silos 3 --method iid --seed 2 --outdir "$D/nr" \
  > /dev/null || hard "split failed"
# 4 numeric features + 3 one-hot = 7 sampled features; depth 3: 3 level sums per round
common="--model gbdt --max-depth 3 --max-bins 16 --eta 0.3 --insecure-no-auth yes --quiet
 --ddp yes --ddp-noise 2 --dp-seed 7"

# 1 and 2
mkdir -p "$WORK/dump"
# shellcheck disable=SC2086
FEDSILO_GBDT_DP_DUMP="$WORK/dump" run_mpi 3 120 "$FEDSILO" train $common --trees 12 \
    --test "$D/test.h5" --data "$D/sh/site-%d.h5" --out "$WORK/a" 2> "$WORK/a.err" \
  || fail "DP GBDT run failed: $(cat "$WORK/a.err")"
$PY "$H" noise "$WORK/dump" 3 12 2 7 2 || fail "noise check failed"
# --ddp-min-honest 1: every share alone carries the target noise (total variance N (z S)^2)
mkdir -p "$WORK/dump1"
# shellcheck disable=SC2086
FEDSILO_GBDT_DP_DUMP="$WORK/dump1" run_mpi 3 120 "$FEDSILO" train $common --trees 12 \
    --ddp-min-honest 1 --data "$D/sh/site-%d.h5" --out "$WORK/a1" 2> "$WORK/a1.err" \
  || fail "DP GBDT run with --ddp-min-honest 1 failed: $(cat "$WORK/a1.err")"
$PY "$H" noise "$WORK/dump1" 3 12 2 7 1 || fail "noise check (H = 1) failed"
$PY "$H" eps "$WORK/a" 2 3 1e-5 || fail "epsilon check failed"
grep -q '"test_auc"' "$WORK/a/metrics.jsonl" || fail "no test metrics (post-processing)"
grep -q 'gbdt distributed DP: noise multiplier 2 (exact) from the shares of any 2 of the 3' \
  "$WORK/a.err" || fail "no calibration line: $(cat "$WORK/a.err")"

# 3
# shellcheck disable=SC2086
if run_mpi 3 60 "$FEDSILO" train $common --trees 2 --data "$D/nr/site-%d.h5" --out "$WORK/nr" \
     2> "$WORK/nr.err"; then fail "DP without a public range was accepted"; fi
grep -q "feature 'x2' has no public range" "$WORK/nr.err" \
  || fail "no clear refusal without a range: $(cat "$WORK/nr.err")"
# shellcheck disable=SC2086
if run_mpi 3 60 "$FEDSILO" train $common --trees 2 --data "$D/sh/site-%d.h5" \
     --aggregation plain --out "$WORK/pl" 2> "$WORK/pl.err"; then
  fail "DP with plain aggregation was accepted"; fi
grep -q -- "--ddp yes needs --aggregation secure" "$WORK/pl.err" \
  || fail "no clear refusal of plain aggregation: $(cat "$WORK/pl.err")"
# shellcheck disable=SC2086
if run_mpi 3 60 "$FEDSILO" train $common --trees 2 --data "$D/sh/site-%d.h5" --dp-epsilon 0.5 \
     --out "$WORK/b0" 2> "$WORK/b0.err"; then fail "a budget below one round was accepted"; fi
grep -q -- "--dp-epsilon 0.5 is smaller than the epsilon of one boosting round" "$WORK/b0.err" \
  || fail "no clear refusal of a budget below one round: $(cat "$WORK/b0.err")"

# 4
e5=$($PY "$H" epsof 5 2 3 1e-5) && e6=$($PY "$H" epsof 6 2 3 1e-5) || hard "epsof failed"
budget=$($PY -c "print(($e5 + $e6) / 2)")
# shellcheck disable=SC2086
run_mpi 3 120 "$FEDSILO" train $common --trees 3 --data "$D/sh/site-%d.h5" --out "$WORK/r" \
    2> "$WORK/r.err" || fail "first part failed: $(cat "$WORK/r.err")"
# shellcheck disable=SC2086
run_mpi 3 120 "$FEDSILO" train $common --trees 8 --resume auto --dp-epsilon "$budget" \
    --data "$D/sh/site-%d.h5" --out "$WORK/r" 2> "$WORK/r2.err" \
  || fail "resumed part failed: $(cat "$WORK/r2.err")"
grep -q "stopping before round 6" "$WORK/r2.err" || fail "no budget stop: $(cat "$WORK/r2.err")"
[ "$(tail -1 "$WORK/r/metrics.jsonl" | sed 's/.*"round": \([0-9]*\).*/\1/')" = 5 ] \
  || fail "the resumed run did not end at round 5: $(tail -1 "$WORK/r/metrics.jsonl")"
for k in 0 1 2; do
  [ "$(grep -c '^charge ' "$WORK/r/privacy-ledger-rank$k.txt")" = 5 ] \
    || fail "ledger of institution $k: $(cat "$WORK/r/privacy-ledger-rank$k.txt")"
done
$PY "$H" eps "$WORK/r" 2 3 1e-5 || fail "epsilon of the resumed run"
# 5: DP regression: the public label range bounds g = m - y; the run completes with the
# accountant's epsilon on every line and RMSE test metrics (post-processing)
for p in train test; do
  "$FEDSILO" import csv --input "$D/${p}_reg.csv" --schema "$D/schema_reg.ini" \
      --out "$D/${p}_reg.h5" > /dev/null || hard "import of ${p}_reg failed"
done
"$FEDSILO" split --input "$D/train_reg.h5" --silos 3 --method iid --seed 2 --outdir "$D/rg" \
  > /dev/null || hard "split of the regression table failed"
# shellcheck disable=SC2086
run_mpi 3 120 "$FEDSILO" train $common --objective reg:squarederror --trees 4 --lambda 20 \
    --test "$D/test_reg.h5" --data "$D/rg/site-%d.h5" --out "$WORK/reg" 2> "$WORK/reg.err" \
  || fail "DP GBDT regression failed: $(cat "$WORK/reg.err")"
$PY "$H" eps "$WORK/reg" 2 3 1e-5 || fail "epsilon check (regression) failed"
grep -q '"test_rmse"' "$WORK/reg/metrics.jsonl" || fail "no test RMSE under DP regression"
grep -q 'gbdt distributed DP: noise multiplier' "$WORK/reg.err" \
  || fail "no DP calibration line for regression: $(cat "$WORK/reg.err")"
# a DP checkpoint does not continue without DP (its further sums would be exact)
if run_mpi 3 60 "$FEDSILO" train --model gbdt --max-depth 3 --max-bins 16 --insecure-no-auth yes \
     --quiet --trees 8 --resume auto --data "$D/sh/site-%d.h5" --out "$WORK/r" 2> "$WORK/r3.err"
then fail "a DP checkpoint was resumed without --ddp"; fi
grep -q "was trained with --ddp yes; resume it with --ddp yes" "$WORK/r3.err" \
  || fail "no clear refusal of a resume without DP: $(cat "$WORK/r3.err")"
note PASS

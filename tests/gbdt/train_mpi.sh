#!/bin/sh
# train_mpi.sh - `fedsilo train --model gbdt` under mpirun -np 4 on sklearn's
# breast cancer dealt to 4 institutions with label skew (fedsilo split
# --method dirichlet --alpha 0.5):
#   - secure == plain: identical model hash after every round and in the
#     checkpoint (the histograms are exact sums in Z_2^64 either way);
#   - federated == centralized: the same engine on the pooled rows in one
#     process (bench/gbdt_bench) gives the identical model hash;
#   - test ROC AUC (fedsilo predict on the checkpoint) within 0.005 of
#     xgboost.train(tree_method='hist') with the same trees/depth/eta/bins
#     on the pooled rows (tests/gbdt/train_mpi.py runs python3-xgboost);
#   - fedsilo export --format xgboost: xgboost.Booster loads the file and
#     predicts the test rows as fedsilo predict did (max abs diff <= 1e-5);
#   - fedsilo eval on the GBDT checkpoint;
#   - resume: 12 rounds, then --trees 20 --resume auto: rounds 13..20 are
#     bit-identical to the uninterrupted 20 rounds (metrics lines 1..20);
#   - SIGUSR1 to mpirun: the round finishes, the checkpoint is written,
#     exit 3; the resumed run ends bit-identical to an uninterrupted one.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_xgboost
H="$FS_SRCDIR/tests/gbdt/train_mpi.py"
D="$WORK/d"
mkdir -p "$D"
$PY "$H" data "$D" || hard "breast cancer conversion failed"
for p in train test; do
  "$FEDSILO" import csv --input "$D/$p.csv" --label label --out "$D/$p.h5" >/dev/null \
    || hard "import of $p failed"
done
"$FEDSILO" split --input "$D/train.h5" --silos 4 --method dirichlet --alpha 0.5 --seed 7 \
    --outdir "$D/shards" >/dev/null || hard "split failed"
common="--model gbdt --max-depth 3 --eta 0.3 --max-bins 256 --seed 1 --data $D/shards/site-%d.h5
 --test $D/test.h5 --insecure-no-auth yes"
# the model hash of every metrics line, in order
hashes() { sed -n 's/.*"model_hash": "\([0-9a-f]*\)".*/\1/p' "$1/metrics.jsonl"; }

# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --trees 20 --checkpoint-every 5 --out "$WORK/sec" \
    > "$WORK/sec.txt" 2>&1 || { cat "$WORK/sec.txt"; fail "secure GBDT run failed"; }
grep -q '^round 20/20  trees 20  train_logloss .* test_auc ' "$WORK/sec.txt" \
  || { cat "$WORK/sec.txt"; fail "no progress line for round 20 with test_auc"; }
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --trees 20 --aggregation plain --quiet --out "$WORK/pla" \
  || fail "plain GBDT run failed"
[ "$(hashes "$WORK/sec" | wc -l)" = 20 ] || fail "expected 20 metrics lines"
[ "$(hashes "$WORK/sec")" = "$(hashes "$WORK/pla")" ] || fail "secure and plain trees differ"
hs=$(h5attr "$WORK/sec/checkpoint.h5" model_hash)
[ -n "$hs" ] && [ "$hs" = "$(h5attr "$WORK/pla/checkpoint.h5" model_hash)" ] \
  || fail "secure and plain checkpoints differ"
last=$(hashes "$WORK/sec" | tail -1)

# federated == centralized: the engine on the pooled rows, one process
$PY "$H" pool "$D" "$D"/shards/site-*.h5 || hard "pooling failed"
"$FS_BUILDDIR/bench/gbdt_bench" --train "$D/pooled.fsgb" --test "$D/test.fsgb" --trees 20 \
    --max-depth 3 --eta 0.3 --max-bins 256 --seed 1 > "$WORK/central.json" \
  || fail "centralized engine failed"
grep -q "\"model_hash\": \"$last\"" "$WORK/central.json" \
  || fail "federated model $last differs from the centralized one: $(cat "$WORK/central.json")"

# quality against xgboost hist on the pooled rows, through fedsilo predict
"$FEDSILO" predict --checkpoint "$WORK/sec/checkpoint.h5" --input "$D/test.h5" \
    --out "$WORK/preds.csv" > /dev/null || fail "predict on the GBDT checkpoint failed"
$PY "$H" auc "$D" "$WORK/preds.csv" "p(1)" 20 3 0.3 256 || fail "test ROC AUC not within 0.005 of xgboost"
"$FEDSILO" export --checkpoint "$WORK/sec/checkpoint.h5" --format xgboost --out "$WORK/m.json" \
    > /dev/null || fail "export of the GBDT checkpoint failed"
$PY "$H" xgbload "$D" "$WORK/preds.csv" "p(1)" "$WORK/m.json" || fail "exported model predicts otherwise"
"$FEDSILO" eval --checkpoint "$WORK/sec/checkpoint.h5" --data "$D/test.h5" > "$WORK/eval.txt" \
  || fail "eval on the GBDT checkpoint failed"
grep -q 'model gbdt) on .*: rows 149 .* auc 0\.9' "$WORK/eval.txt" \
  || fail "eval output: $(cat "$WORK/eval.txt")"

# resume: 12 rounds, then on to 20 from the checkpoint
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --trees 12 --quiet --out "$WORK/res" \
  || fail "first part failed"
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --trees 20 --resume auto --quiet --out "$WORK/res" \
  || fail "resumed part failed"
# (the model records its target rounds, so the hashes of rounds 1..12 of the
# 12-round part differ from those of the 20-round run; rounds 13..20 must not)
[ "$(hashes "$WORK/res" | wc -l)" = 20 ] || fail "resumed run: expected 20 metrics lines"
[ "$(hashes "$WORK/res" | tail -8)" = "$(hashes "$WORK/sec" | tail -8)" ] || fail "resumed run differs"
[ "$(h5attr "$WORK/res/checkpoint.h5" model_hash)" = "$hs" ] || fail "resumed checkpoint differs"

# SIGUSR1: stop after a round with a checkpoint, exit 3, resume to the end
# shellcheck disable=SC2086
timeout -k 5 120 "$MPIEXEC" $MPIEXEC_FLAGS -np 4 "$FEDSILO" train $common --trees 100000 \
    --checkpoint-every 0 --aggregation plain --out "$WORK/sig" > "$WORK/sig.txt" 2>&1 </dev/null &
pid=$!
i=0
while [ $i -lt 600 ]; do   # wait (<= 60 s) until round 2 is done
  [ -f "$WORK/sig/metrics.jsonl" ] && [ "$(wc -l < "$WORK/sig/metrics.jsonl")" -ge 2 ] && break
  sleep 0.1; i=$((i + 1))
done
mp=$(pgrep -P $pid | head -1)
[ -n "$mp" ] && kill -USR1 "$mp" 2>/dev/null || fail "mpirun already gone"
wait $pid
rc=$?
[ $rc -eq 3 ] || { cat "$WORK/sig.txt"; fail "interrupted run: exit $rc, expected 3"; }
grep -q "stopped on request after round" "$WORK/sig.txt" || fail "no stop message"
r=$(h5attr "$WORK/sig/checkpoint.h5" round)
n=$(wc -l < "$WORK/sig/metrics.jsonl")
note "stopped after round $r (metrics lines: $n)"
[ "$r" = "$n" ] || fail "checkpoint round $r vs metrics lines $n"
t=$((r + 3))
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --trees $t --resume auto --aggregation plain --quiet \
    --out "$WORK/sig" || fail "resume after the signal failed"
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --trees $t --aggregation plain --quiet --out "$WORK/ref" \
  || fail "uninterrupted reference failed"
[ "$(hashes "$WORK/sig" | tail -3)" = "$(hashes "$WORK/ref" | tail -3)" ] &&
  [ "$(hashes "$WORK/sig" | wc -l)" = $t ] || fail "run resumed after the signal differs"
note PASS

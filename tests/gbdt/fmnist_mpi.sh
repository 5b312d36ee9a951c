#!/bin/sh
# fmnist_mpi.sh - Fashion-MNIST softmax trees through `fedsilo train --model
# gbdt --objective multi:softprob` under mpirun -np 4: the first 6000
# training images (fedsilo import idx) dealt to 4 institutions with label
# skew (fedsilo split --method dirichlet --alpha 0.5 --seed 7), 10 rounds
# (100 trees) of depth 4, eta 0.3, 32 bins; `fedsilo eval` on the first 1000
# test images:
#   - test accuracy within 0.005 of xgboost.train(tree_method='hist') with
#     the same settings on the same 6000 rows (stored below);
#   - federated == centralized: bench/gbdt_bench on the pooled rows in one
#     process gives the same model hash.
# The full-size run (60000 rows) is bench/gbdt_fmnist_mpi.sh (make
# bench-gbdt-fmnist), not part of the suite.
#
# XGB_ACC was computed once with xgboost 1.7.4 (python3-xgboost) by
#   cd tests/gbdt && /usr/bin/python3 -c "import gbdt_data as gd
#   X, y, Xt, yt = gd.fashion_mnist(6000, 1000)
#   p = {'objective': 'multi:softprob', 'num_class': 10, 'trees': 10,
#        'max_depth': 4, 'eta': 0.3, 'max_bins': 32}
#   print(gd.accuracy(yt, gd.run_xgboost(X, y, Xt, p)[1].reshape(-1, 10)))"
# which prints 0.832 (832 of the 1000 test images).
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
need_sklearn
XGB_ACC=0.8320
D="$WORK/d"
make_fmnist "$D" 6000 1000 4 dirichlet --alpha 0.5
set -- --model gbdt --objective multi:softprob --trees 10 --max-depth 4 --eta 0.3 --max-bins 32 \
    --seed 1
t0=$(date +%s)
run_mpi 4 300 "$FEDSILO" train "$@" --data "$D/shards/site-%d.h5" --test "$D/test.h5" \
    --checkpoint-every 0 --insecure-no-auth yes --out "$WORK/run" > "$WORK/run.txt" 2>&1 \
  || { cat "$WORK/run.txt"; fail "Fashion-MNIST GBDT run failed"; }
note "training (4 ranks, 100 trees): $(($(date +%s) - t0)) s wall"
grep -q '^round 10/10  trees 100  train_mlogloss .* test_acc ' "$WORK/run.txt" \
  || { cat "$WORK/run.txt"; fail "no progress line for round 10 with test_acc"; }
"$FEDSILO" eval --checkpoint "$WORK/run/checkpoint.h5" --data "$D/test.h5" > "$WORK/eval.txt" \
  || fail "eval on the GBDT checkpoint failed"
acc=$(sed -n 's/.* rows 1000 .* accuracy \([0-9.]*\).*/\1/p' "$WORK/eval.txt")
[ -n "$acc" ] || fail "eval output: $(cat "$WORK/eval.txt")"
note "test accuracy: fedsilo $acc, xgboost hist $XGB_ACC (stored)"
awk -v a="$acc" -v b="$XGB_ACC" 'BEGIN { d = a - b; exit !(d <= 0.005 && d >= -0.005) }' \
  || fail "test accuracy $acc not within 0.005 of xgboost's $XGB_ACC"

# federated == centralized: the engine on the pooled rows, one process
last=$(sed -n 's/.*"model_hash": "\([0-9a-f]*\)".*/\1/p' "$WORK/run/metrics.jsonl" | tail -1)
$PY "$FS_SRCDIR/tests/gbdt/train_mpi.py" pool "$D" "$D"/shards/site-*.h5 || hard "pooling failed"
"$FS_BUILDDIR/bench/gbdt_bench" --train "$D/pooled.fsgb" --objective multi:softprob \
    --num-class 10 --trees 10 --max-depth 4 --eta 0.3 --max-bins 32 --seed 1 \
    > "$WORK/central.json" || fail "centralized engine failed"
grep -q "\"model_hash\": \"$last\"" "$WORK/central.json" \
  || fail "federated model $last differs from the centralized one: $(cat "$WORK/central.json")"
note PASS

#!/bin/sh
# Checkpoint/resume bit-identity: 2 rounds + resume to 4 ends with exactly
# the model (hash and bytes) and metrics of an uninterrupted 4-round run.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
make_fmnist "$WORK/d" 2000 500 3 dirichlet --alpha 0.5
make_consortium "$WORK/k" 3
# Secure aggregation: the resumed job runs a new key exchange (new masks),
# yet the fixed-point sums, hence the model, are bit-identical.
common="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model mlp:32 --lr 0.05 --quiet
 --roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key"
run_mpi 3 300 "$FEDSILO" train $common --rounds 4 --out "$WORK/full" || fail "full run failed"
run_mpi 3 300 "$FEDSILO" train $common --rounds 2 --out "$WORK/part" || fail "first half failed"
[ "$(h5attr "$WORK/part/checkpoint.h5" round)" = 2 ] || fail "partial checkpoint is not at round 2"
run_mpi 3 300 "$FEDSILO" train $common --rounds 4 --out "$WORK/part" --resume yes || fail "resume failed"
a=$(h5attr "$WORK/full/checkpoint.h5" model_hash); b=$(h5attr "$WORK/part/checkpoint.h5" model_hash)
note "model hash full=$a resumed=$b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "resumed model differs from the uninterrupted one"
h5dump -d /params "$WORK/full/checkpoint.h5" | grep -v HDF5 > "$WORK/p1"
h5dump -d /params "$WORK/part/checkpoint.h5" | grep -v HDF5 > "$WORK/p2"
cmp -s "$WORK/p1" "$WORK/p2" || fail "parameter bytes differ"
sed 's/"seconds": [^,]*,//' "$WORK/full/metrics.jsonl" > "$WORK/m1"
sed 's/"seconds": [^,]*,//' "$WORK/part/metrics.jsonl" > "$WORK/m2"
cmp -s "$WORK/m1" "$WORK/m2" || { diff "$WORK/m1" "$WORK/m2"; fail "metrics differ"; }
# The same with FedProx local training and the FedAdam server optimizer: its
# state (m, v) travels in the checkpoint, so the resume is still bit-identical.
opt="--algorithm fedprox --prox-mu 0.05 --server-opt fedadam --server-lr 0.02"
run_mpi 3 300 "$FEDSILO" train $common $opt --rounds 4 --out "$WORK/afull" || fail "fedadam full run failed"
run_mpi 3 300 "$FEDSILO" train $common $opt --rounds 2 --out "$WORK/apart" || fail "fedadam first half failed"
run_mpi 3 300 "$FEDSILO" train $common $opt --rounds 4 --out "$WORK/apart" --resume yes || fail "fedadam resume failed"
a=$(h5attr "$WORK/afull/checkpoint.h5" model_hash); b=$(h5attr "$WORK/apart/checkpoint.h5" model_hash)
note "fedprox+fedadam model hash full=$a resumed=$b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "fedadam resumed model differs"
[ "$(h5attr "$WORK/apart/checkpoint.h5" server_opt)" = fedadam ] || fail "server_opt not recorded"
[ "$a" != "$(h5attr "$WORK/full/checkpoint.h5" model_hash)" ] || fail "fedadam had no effect"
# Resuming with a different server optimizer is refused.
run_mpi 3 60 "$FEDSILO" train $common --rounds 5 --out "$WORK/apart" --resume yes > "$WORK/o.txt" 2>&1 \
  && fail "resume with another server optimizer succeeded"
grep -q "written with --server-opt fedadam, this run has fedavg" "$WORK/o.txt" || { cat "$WORK/o.txt"; fail "unclear optimizer mismatch"; }
# FedSGD with FedYogi runs and learns something.
run_mpi 3 300 "$FEDSILO" train $common --algorithm fedsgd --lr 0.5 --server-opt fedyogi \
    --server-lr 0.05 --rounds 3 --out "$WORK/sgd" || fail "fedsgd run failed"
[ "$(wc -l < "$WORK/sgd/metrics.jsonl")" -eq 3 ] || fail "fedsgd metrics"

# A fresh start in a used run directory drops the old metrics lines (no
# round may appear twice), with --resume auto and no checkpoint as well.
rm -f "$WORK/full/checkpoint.h5"
run_mpi 3 300 "$FEDSILO" train $common --rounds 2 --out "$WORK/full" --resume auto || fail "fresh auto run failed"
[ "$(wc -l < "$WORK/full/metrics.jsonl")" -eq 2 ] || { cat "$WORK/full/metrics.jsonl"; fail "stale metrics lines kept"; }

# --resume yes without a checkpoint is a clear error on every rank.
run_mpi 3 60 "$FEDSILO" train $common --rounds 4 --out "$WORK/none" --resume yes > "$WORK/e.txt" 2>&1 \
  && fail "resume without checkpoint succeeded"
grep -q "does not exist" "$WORK/e.txt" || { cat "$WORK/e.txt"; fail "unclear missing-checkpoint error"; }
note PASS

#!/bin/sh
# Differential privacy end to end: the accountant CLI on Opacus's reference
# case; DP-SGD training reports per-round epsilon equal to the accountant
# for the steps taken; a budget stops training cleanly before it would be
# exceeded; the accountant travels in the checkpoint (resume bit-identical);
# FedProx under DP-SGD applies its proximal term at no privacy cost.
. "${FS_SRCDIR:-.}/tests/lib.sh"
eps=$("$FEDSILO" dp epsilon --sampling-rate 0.04 --noise-multiplier 1.5 --steps 2250 --delta 1e-5 | tail -1)
note "dp epsilon (Opacus reference 7.32911117143): $eps"
awk -v e="$eps" 'BEGIN { d = (e - 7.32911117143) / 7.32911117143; if (d < 0) d = -d; exit !(d <= 1e-6) }' \
  || fail "accountant CLI: $eps != 7.32911117143"
sig=$("$FEDSILO" dp calibrate --sampling-rate 0.04 --steps 2250 --delta 1e-5 --target-epsilon "$eps" | tail -1)
awk -v s="$sig" 'BEGIN { d = s - 1.5; if (d < 0) d = -d; exit !(d <= 1e-6) }' || fail "calibrate gave $sig, not 1.5"
"$FEDSILO" dp epsilon --sampling-rate 2 --noise-multiplier 1 --steps 1 --delta 1e-5 >/dev/null 2>&1
[ $? -eq 2 ] || fail "bad sampling rate not refused with status 2"

need_fmnist
make_fmnist "$WORK/d" 900 200 3 iid
# q = 0.05: 20 steps per round; noise 1.1, clip 1
common="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model softmax --lr 0.1
 --dp-sgd yes --dp-noise 1.1 --dp-clip 1.0 --dp-sampling-rate 0.05 --dp-seed 7 --insecure-no-auth yes
 --quiet"
run_mpi 3 300 "$FEDSILO" train $common --rounds 4 --out "$WORK/full" || fail "DP-SGD run failed"
e4=$(tail -1 "$WORK/full/metrics.jsonl" | sed 's/.*"epsilon": \([0-9.e+-]*\).*/\1/')
ref=$("$FEDSILO" dp epsilon --sampling-rate 0.05 --noise-multiplier 1.1 --steps 80 --delta 1e-5 | tail -1)
note "epsilon after 4 rounds x 20 steps: training $e4, accountant CLI $ref"
awk -v a="$e4" -v b="$ref" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; exit !(d <= 1e-9) }' \
  || fail "training epsilon $e4 != accountant $ref"
# --dp-seed: no DP guarantee, said in every metrics line and refused with a roster
grep -q '"not_private": "--dp-seed' "$WORK/full/metrics.jsonl" || fail "--dp-seed run not tagged not_private"
run_mpi 3 300 "$FEDSILO" train $common --rounds 1 --dp-seed 0 --out "$WORK/os" || fail "DP-SGD, OS noise"
grep -q 'not_private' "$WORK/os/metrics.jsonl" && fail "an OS-noise run tagged not_private"
"$FEDSILO" train --data "$WORK/d/shards/site-%d.h5" --dp-sgd yes --dp-seed 7 --roster /nonexistent \
    --out "$WORK/r" > "$WORK/r.txt" 2>&1
[ $? -eq 2 ] && grep -q -- '--dp-seed makes the DP noise .* refused with a --roster' "$WORK/r.txt" \
  || { cat "$WORK/r.txt"; fail "--dp-seed with a roster not refused"; }
# resume: 2 rounds, then 2 more, bit-identical model and the same epsilon
run_mpi 3 300 "$FEDSILO" train $common --rounds 2 --out "$WORK/part" || fail "DP first half"
run_mpi 3 300 "$FEDSILO" train $common --rounds 4 --out "$WORK/part" --resume yes || fail "DP resume"
[ "$(h5attr "$WORK/full/checkpoint.h5" model_hash)" = "$(h5attr "$WORK/part/checkpoint.h5" model_hash)" ] \
  || fail "DP resume not bit-identical"
cmp -s "$WORK/full/metrics.jsonl" "$WORK/part/metrics.jsonl" 2>/dev/null || {
  sed 's/"seconds": [^,]*,//' "$WORK/full/metrics.jsonl" > "$WORK/m1"
  sed 's/"seconds": [^,]*,//' "$WORK/part/metrics.jsonl" > "$WORK/m2"
  cmp -s "$WORK/m1" "$WORK/m2" || fail "DP metrics (epsilon) differ after resume"; }
# budget: the epsilon of 4 rounds is e4; a budget between round 2 and 3 stops after round 2
e2=$(sed -n 2p "$WORK/full/metrics.jsonl" | sed 's/.*"epsilon": \([0-9.e+-]*\).*/\1/')
e3=$(sed -n 3p "$WORK/full/metrics.jsonl" | sed 's/.*"epsilon": \([0-9.e+-]*\).*/\1/')
budget=$(awk -v a="$e2" -v b="$e3" 'BEGIN { printf "%.6f", (a + b) / 2 }')
run_mpi 3 300 "$FEDSILO" train $common --rounds 10 --dp-epsilon "$budget" --checkpoint-every 5 \
    --out "$WORK/budget" > "$WORK/b.txt" 2>&1 || { cat "$WORK/b.txt"; fail "budgeted run failed"; }
cat "$WORK/b.txt"
grep -q "privacy budget: stopping before round 3" "$WORK/b.txt" || fail "no budget stop message"
[ "$(wc -l < "$WORK/budget/metrics.jsonl")" -eq 2 ] || fail "budgeted run did not stop after round 2"
[ "$(h5attr "$WORK/budget/checkpoint.h5" round)" = 2 ] || fail "budget stop did not checkpoint round 2"
# a budget below one round is refused
run_mpi 3 60 "$FEDSILO" train $common --rounds 3 --dp-epsilon 0.001 --out "$WORK/tiny" > "$WORK/t.txt" 2>&1 \
  && fail "tiny budget accepted"
grep -q "smaller than the epsilon of one round" "$WORK/t.txt" || { cat "$WORK/t.txt"; fail "tiny budget message"; }
# FedProx under DP-SGD: the proximal term is applied (after the noise, so the
# epsilon is unchanged), so the model differs from FedAvg's with the same
# noise stream; mu = 0 is exactly FedAvg (positive control of the comparison).
run_mpi 3 300 "$FEDSILO" train $common --rounds 2 --algorithm fedprox --prox-mu 1 --out "$WORK/prox" \
  || fail "FedProx + DP-SGD run failed"
run_mpi 3 300 "$FEDSILO" train $common --rounds 2 --algorithm fedprox --prox-mu 0 --out "$WORK/prox0" \
  || fail "FedProx (mu 0) + DP-SGD run failed"
hp=$(h5attr "$WORK/prox/checkpoint.h5" model_hash); h0=$(h5attr "$WORK/prox0/checkpoint.h5" model_hash)
run_mpi 3 300 "$FEDSILO" train $common --rounds 2 --out "$WORK/avg2" || fail "FedAvg 2 rounds"
ha=$(h5attr "$WORK/avg2/checkpoint.h5" model_hash)
note "model hash FedAvg $ha, FedProx mu 0 $h0, FedProx mu 1 $hp"
[ "$h0" = "$ha" ] || fail "FedProx with mu 0 differs from FedAvg under DP-SGD"
[ "$hp" != "$ha" ] || fail "FedProx under DP-SGD ignored the proximal term"
ep=$(tail -1 "$WORK/prox/metrics.jsonl" | sed 's/.*"epsilon": \([0-9.e+-]*\).*/\1/')
[ "$ep" = "$e2" ] || fail "FedProx changed the epsilon ($ep, FedAvg $e2)"
note PASS

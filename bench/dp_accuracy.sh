#!/usr/bin/env bash
# dp_accuracy.sh - Fashion-MNIST, 8 institutions, Dirichlet(0.5), secure sum:
# test accuracy at epsilon = 1, 3, 8 (delta = 1e-5) for record-level DP-SGD and
# for institution-level distributed DP (docs/privacy.md).  Noise multipliers
# come from `fedsilo dp calibrate` for the exact number of steps/rounds.
# Usage: bench/dp_accuracy.sh [MODEL]   (default softmax)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd); cd "$top"
model=${1:-softmax}
F=${FEDSILO:-build/fedsilo}
d=${FS_BENCH_DIR:-data/bench-opt}
FEDSILO=$F bench/fmnist8.sh "$d"
export OPENBLAS_NUM_THREADS=1
flags=(--oversubscribe); [ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
q=${FS_DP_Q:-0.02}; steps=${FS_DP_STEPS:-50}; rounds=${FS_DP_ROUNDS:-12}
T=$((steps * rounds))
common=(--data "$d/shards/site-%d.h5" --test "$d/test.h5" --model "$model" --rounds "$rounds"
        --roster "$d/keys/roster.ini" --identity "$d/keys/site-%d.key" --standardize yes --quiet
        --dp-public-metrics yes)  # --standardize releases exact feature moments: public, not in eps
acc() { python3 -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; print('%.4f %s' % (l[-1]['test_accuracy'], l[-1].get(sys.argv[2], 'nan')))" "$1" "$2"; }
echo "model $model; DP-SGD: q=$q, $steps steps/round, $rounds rounds (T=$T), clip 1, lr 0.5, momentum 0"
for eps in 1 3 8; do
  sigma=$("$F" dp calibrate --sampling-rate "$q" --steps "$T" --delta 1e-5 --target-epsilon "$eps" | tail -1)
  start=$(date +%s)
  mpirun "${flags[@]}" -np 8 "$F" train "${common[@]}" --dp-sgd yes --dp-sampling-rate "$q" \
      --local-steps "$steps" --dp-noise "$sigma" --dp-clip 1 --lr 0.5 --momentum 0 --batch-size 1024 \
      --out "$d/dp-$model-$eps" </dev/null
  printf 'record-level  eps %-3s sigma %-8.4f  test accuracy, reported eps: %s  (%ss)\n' "$eps" "$sigma" \
      "$(acc "$d/dp-$model-$eps/metrics.jsonl" epsilon)" $(( $(date +%s) - start ))
done
echo "distributed DP: $rounds rounds, one Gaussian mechanism per round on the sum, clip 0.5"
for eps in 1 3 8; do
  z=$("$F" dp calibrate --sampling-rate 1 --steps "$rounds" --delta 1e-5 --target-epsilon "$eps" | tail -1)
  start=$(date +%s)
  mpirun "${flags[@]}" -np 8 "$F" train "${common[@]}" --ddp yes --ddp-noise "$z" --ddp-clip 0.5 \
      --lr 0.02 --out "$d/ddp-$model-$eps" </dev/null
  printf 'institution   eps %-3s z     %-8.4f  test accuracy, reported eps: %s  (%ss)\n' "$eps" "$z" \
      "$(acc "$d/ddp-$model-$eps/metrics.jsonl" ddp_epsilon)" $(( $(date +%s) - start ))
done

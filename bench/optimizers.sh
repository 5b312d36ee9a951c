#!/usr/bin/env bash
# optimizers.sh - Fashion-MNIST, 8 institutions, Dirichlet(0.5), MLP 256-128,
# authenticated secure aggregation: rounds to 0.85 test accuracy and the best
# accuracy for FedAvg, FedAvgM, FedAdam and FedProx (docs/optimizers.md).
# Usage: bench/optimizers.sh [ROUNDS]   (from the repo root, after scripts/build.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd); cd "$top"
rounds=${1:-40}
F=${FEDSILO:-build/fedsilo}
d=${FS_BENCH_DIR:-data/bench-opt}
FEDSILO=$F bench/fmnist8.sh "$d"
export OPENBLAS_NUM_THREADS=1
flags=(--oversubscribe); [ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
printf '%-28s %-14s %-10s %-10s %s\n' optimizer rounds-to-0.85 best final seconds
only=${FS_BENCH_ONLY:-}
while IFS='|' read -r name opts; do
  [ -z "$only" ] || [[ " $only " == *" $name "* ]] || continue
  out="$d/run-$name"
  start=$(date +%s)
  mpirun "${flags[@]}" -np 8 "$F" train --data "$d/shards/site-%d.h5" --test "$d/test.h5" \
      --model mlp:256,128 --rounds "$rounds" --roster "$d/keys/roster.ini" --identity "$d/keys/site-%d.key" \
      --quiet --out "$out" $opts </dev/null
  secs=$(( $(date +%s) - start ))
  python3 - "$out/metrics.jsonl" "$name" "$secs" <<'PY'
import json, sys
acc = [json.loads(l)["test_accuracy"] for l in open(sys.argv[1])]
r85 = next((i + 1 for i, a in enumerate(acc) if a >= 0.85), None)
print("%-28s %-14s %-10.4f %-10.4f %s" % (sys.argv[2], r85 if r85 else "never", max(acc), acc[-1], sys.argv[3]))
PY
done <<'EOF2'
fedavg|--lr 0.02
fedavgm|--lr 0.02 --server-opt fedavgm --server-lr 1 --server-beta1 0.5
fedadam|--lr 0.02 --server-opt fedadam --server-lr 0.003 --server-tau 0.001
fedprox|--lr 0.02 --algorithm fedprox --prox-mu 0.01
EOF2

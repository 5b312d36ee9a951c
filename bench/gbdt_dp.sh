#!/usr/bin/env bash
# gbdt_dp.sh - the accuracy cost of `train --model gbdt --ddp yes` (record-level distributed
# DP of the tree-level histogram sums, docs/gbdt.md "Differential privacy") on R modeldata's
# credit_data (4454 rows; three quarters dealt to 4 institutions, Dirichlet(0.5) label skew,
# the rest the shared test file): test ROC AUC without DP (quantile bins), without noise on
# public equal-width bins, and at epsilon 1, 3, 10 (delta 1e-5), each the mean of REPS runs
# (fresh noise each).  The schema's ranges stand in for ranges a consortium would agree:
# each numeric column's pooled min and max rounded outward to a power of ten.
# Usage: bench/gbdt_dp.sh [REPS]   (default 3)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd); cd "$top"
F=${FEDSILO:-build/fedsilo}
PY=/usr/bin/python3
reps=${1:-3}
d=${FS_BENCH_DIR:-data/bench-gbdt-dp}
mkdir -p "$d"
export OPENBLAS_NUM_THREADS=1
flags=(--oversubscribe); [ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
Rscript -e 'library(modeldata); data(credit_data)
            write.csv(credit_data, commandArgs(TRUE)[1], row.names = FALSE)' "$d/credit.csv" >/dev/null
$PY tests/gbdt/train_mpi.py credit "$d/credit.csv" "$d"
"$F" schema draft --input "$d/credit.csv" --label Status --out "$d/draft.ini" > /dev/null
$PY - "$d/draft.ini" "$d/schema.ini" <<'PYEOF'
import math, re, sys
out = []
for line in open(sys.argv[1]).read().splitlines():
    m = re.search(r'observed min ([-\d.e+]+), max ([-\d.e+]+)', line)
    if line.startswith('; private'):
        if m:
            lo, hi = float(m.group(1)), float(m.group(2))
            step = 10 ** math.floor(math.log10(max(hi - lo, 1e-9)))
            out += ['range = %g:%g' % (math.floor(lo / step) * step, math.ceil(hi / step) * step),
                    'out_of_range = clip']
        continue
    out.append(line)
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
PYEOF
for p in train test; do
  "$F" import csv --input "$d/$p.csv" --schema "$d/schema.ini" --out "$d/$p.h5" > /dev/null
done
rm -rf "$d/shards"
"$F" split --input "$d/train.h5" --silos 4 --method dirichlet --alpha 0.5 --seed 3 \
    --outdir "$d/shards" > /dev/null
trees=30; depth=2
common=(--model gbdt --data "$d/shards/site-%d.h5" --test "$d/test.h5" --insecure-no-auth yes
        --quiet --trees "$trees" --max-depth "$depth")
dpset=(--max-bins 8 --eta 0.2 --lambda 100 --min-child-weight 50)
auc() { $PY -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])['test_auc'])" "$1"; }
run() {  # run NAME ARGS...: mean test AUC over $reps runs
  local name=$1; shift; local s=0
  for r in $(seq "$reps"); do
    rm -rf "$d/$name"
    mpirun "${flags[@]}" -np 4 "$F" train "${common[@]}" "$@" --out "$d/$name" </dev/null 2>/dev/null
    s=$($PY -c "print($s + $(auc "$d/$name/metrics.jsonl"))")
  done
  $PY -c "print('%.4f' % ($s / $reps))"
}
echo "credit_data, 4 institutions, $trees trees depth $depth; DP settings: ${dpset[*]}"
printf 'no DP, quantile bins (256), eta 0.3                 test AUC %s\n' \
    "$(reps=1 run base --max-bins 256 --eta 0.3)"
printf 'no DP, the DP settings on quantile bins             test AUC %s\n' \
    "$(reps=1 run base2 "${dpset[@]}")"
printf 'DP machinery without noise (z 1e-6, public bins)    test AUC %s\n' \
    "$(reps=1 run z0 "${dpset[@]}" --ddp yes --ddp-noise 0.000001)"
steps=$((trees * depth))
for eps in 10 3 1; do
  z=$("$F" dp calibrate --sampling-rate 1 --steps "$steps" --delta 1e-5 --target-epsilon "$eps" | tail -1)
  printf 'epsilon %-3s (z %-7.4f, %d Gaussian mechanisms)       test AUC %s (mean of %d)\n' \
      "$eps" "$z" "$steps" "$(run "dp$eps" "${dpset[@]}" --ddp yes --ddp-noise "$z")" "$reps"
done

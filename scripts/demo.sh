#!/usr/bin/env bash
# demo.sh - Quick start, command (1): install the Debian packages, build,
# import Fashion-MNIST from Debian's dataset-fashion-mnist, split it over 4
# simulated institutions with Dirichlet(0.5) label skew, and run the
# federation under mpirun, printing one progress line per round and the
# final test accuracy.  Run as root on Debian 12 (apt-get needs root).
#
# Aggregation is fedsilo's default, the authenticated secure sum: the
# script makes one Ed25519 identity key per institution (fedsilo keygen) and
# the consortium roster that lists their public keys.
#
# Environment knobs: FS_DEMO_SILOS (4), FS_DEMO_ROUNDS (20), FS_DEMO_ALPHA
# (0.5), FS_DEMO_MODEL (mlp:256,128), FS_DEMO_OUT (runs/demo).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
silos=${FS_DEMO_SILOS:-4}
rounds=${FS_DEMO_ROUNDS:-20}
alpha=${FS_DEMO_ALPHA:-0.5}
model=${FS_DEMO_MODEL:-mlp:256,128}
out=${FS_DEMO_OUT:-runs/demo}
fm=/usr/share/datasets/fashion-mnist

echo "== 1/5 installing Debian packages (skipped when present)"
scripts/install-deps.sh build data
echo "== 2/5 building"
fedsilo=$(scripts/build.sh)
echo "== 3/5 importing Fashion-MNIST and splitting it over $silos institutions (Dirichlet $alpha)"
mkdir -p data/fmnist
"$fedsilo" import idx --images $fm/train-images-idx3-ubyte.gz --labels $fm/train-labels-idx1-ubyte.gz \
    --out data/fmnist/train.h5
"$fedsilo" import idx --images $fm/t10k-images-idx3-ubyte.gz --labels $fm/t10k-labels-idx1-ubyte.gz \
    --out data/fmnist/test.h5
rm -rf "data/fmnist/shards-$silos"
"$fedsilo" split --input data/fmnist/train.h5 --silos "$silos" --method dirichlet --alpha "$alpha" \
    --seed 1 --val-fraction 0.05 --outdir "data/fmnist/shards-$silos"
echo "== 4/5 identity keys and consortium roster for $silos institutions"
keys="data/fmnist/keys-$silos"
rm -rf "$keys"; mkdir -p "$keys"
{
  printf '[consortium]\nname = fashion-mnist-demo\n\n'
  for ((i = 0; i < silos; i++)); do
    "$fedsilo" keygen --name "site-$i" --rank "$i" --out "$keys/site-$i" 2>/dev/null | grep -v '^;'
    echo
  done
} > "$keys/roster.ini"
echo "wrote $keys/roster.ini and $silos private keys (mode 0600)"
echo "== 5/5 training: mpirun -np $silos fedsilo train (one rank per institution, secure aggregation)"
export OPENBLAS_NUM_THREADS=1
mpiflags=(--oversubscribe)
[ "$(id -u)" = 0 ] && mpiflags+=(--allow-run-as-root)
rm -rf "$out"
mpirun "${mpiflags[@]}" -np "$silos" "$fedsilo" train \
    --data "data/fmnist/shards-$silos/site-%d.h5" --test data/fmnist/test.h5 \
    --model "$model" --rounds "$rounds" --lr 0.02 --momentum 0.9 --batch-size 64 \
    --local-epochs 1 --roster "$keys/roster.ini" --identity "$keys/site-%d.key" --out "$out"
acc=$(tail -1 "$out/metrics.jsonl" | sed -n 's/.*"test_accuracy": \([0-9.]*\).*/\1/p')
echo "final test accuracy: $acc  (metrics: $out/metrics.jsonl, checkpoint: $out/checkpoint.h5)"
if command -v gnuplot >/dev/null 2>&1; then
  "$fedsilo" plot "$out" --out "$out/curves.png" | head -n 1
else
  echo "(gnuplot not installed: 'apt-get install gnuplot-nox', then '$fedsilo plot $out')"
fi

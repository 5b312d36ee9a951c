#!/usr/bin/env bash
# fmnist8.sh DIR - prepare the benchmark federation in DIR (idempotent):
# Fashion-MNIST train/test, 8 institutions with Dirichlet(0.5) label skew
# (seed 1), identity keys and a roster.  Used by optimizers.sh and
# dp_accuracy.sh.  FEDSILO = binary (default build/fedsilo).
set -euo pipefail
d=$1
F=${FEDSILO:-build/fedsilo}
fm=/usr/share/datasets/fashion-mnist
mkdir -p "$d"
[ -f "$d/train.h5" ] || "$F" import idx --images $fm/train-images-idx3-ubyte.gz \
    --labels $fm/train-labels-idx1-ubyte.gz --out "$d/train.h5" >/dev/null
[ -f "$d/test.h5" ] || "$F" import idx --images $fm/t10k-images-idx3-ubyte.gz \
    --labels $fm/t10k-labels-idx1-ubyte.gz --out "$d/test.h5" >/dev/null
[ -f "$d/shards/manifest.json" ] || "$F" split --input "$d/train.h5" --silos 8 --method dirichlet \
    --alpha 0.5 --seed 1 --outdir "$d/shards" >/dev/null
if [ ! -f "$d/keys/roster.ini" ]; then
  mkdir -p "$d/keys"
  { printf '[consortium]\nname = bench\n\n'
    for i in $(seq 0 7); do
      "$F" keygen --name "site-$i" --rank "$i" --out "$d/keys/site-$i" 2>/dev/null | grep -v '^;'
      echo
    done; } > "$d/keys/roster.ini"
fi

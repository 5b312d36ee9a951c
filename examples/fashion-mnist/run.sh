#!/bin/sh
# examples/fashion-mnist/run.sh - a short multiclass federation: four
# institutions with label-skewed (Dirichlet alpha 0.5) slices of
# Fashion-MNIST (Debian package dataset-fashion-mnist) train a softmax
# classifier with secure aggregation.
#
#   examples/fashion-mnist/run.sh            (from the repo root, after the build)
#   FEDSILO=... OUT=dir NTRAIN=12000 NTEST=2000 ROUNDS=10 MODEL=mlp:128 examples/fashion-mnist/run.sh
#
# Steps: fedsilo import idx (first NTRAIN training and NTEST test images)
# -> fedsilo split --method dirichlet --alpha 0.5 (4 institutions, seed 7)
# -> fedsilo stats (secure class counts per consortium: the label skew is
# visible only in the manifest, the consortium sees the pooled counts)
# -> fedsilo train -> fedsilo eval.  Final line: "result: test accuracy A".
set -eu
FEDSILO=${FEDSILO:-build/fedsilo}
OUT=${OUT:-runs/example-fashion-mnist}
FMNIST=${FS_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
NTRAIN=${NTRAIN:-12000}
NTEST=${NTEST:-2000}
ROUNDS=${ROUNDS:-10}
MODEL=${MODEL:-softmax}
NSILOS=4
MPIEXEC=${MPIEXEC:-mpirun}
MPIEXEC_FLAGS=${MPIEXEC_FLAGS---oversubscribe}
export OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
[ -x "$FEDSILO" ] || { echo "run.sh: $FEDSILO not found: build first or set FEDSILO=" >&2; exit 1; }
[ -r "$FMNIST/train-images-idx3-ubyte.gz" ] || {
  echo "run.sh: $FMNIST not found (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
mpi() { np=$1; shift; timeout -k 5 600 "$MPIEXEC" $MPIEXEC_FLAGS -np "$np" "$@" </dev/null; }

rm -rf "$OUT"; mkdir -p "$OUT"
"$FEDSILO" import idx --images "$FMNIST/train-images-idx3-ubyte.gz" \
    --labels "$FMNIST/train-labels-idx1-ubyte.gz" --limit "$NTRAIN" --out "$OUT/train.h5"
"$FEDSILO" import idx --images "$FMNIST/t10k-images-idx3-ubyte.gz" \
    --labels "$FMNIST/t10k-labels-idx1-ubyte.gz" --limit "$NTEST" --out "$OUT/test.h5"
"$FEDSILO" split --input "$OUT/train.h5" --silos $NSILOS --method dirichlet --alpha 0.5 --seed 7 \
    --outdir "$OUT/shards"

echo "== pooled class counts (secure sum) =="
mpi $NSILOS "$FEDSILO" stats --data "$OUT/shards/site-%d.h5" --json "$OUT/stats.json" \
    --insecure-no-auth yes 2>/dev/null > "$OUT/stats.txt"
grep '^class counts' "$OUT/stats.txt"

echo "== federated $MODEL, $NSILOS institutions, $ROUNDS rounds, secure aggregation =="
mpi $NSILOS "$FEDSILO" train --data "$OUT/shards/site-%d.h5" --test "$OUT/test.h5" --model "$MODEL" \
    --rounds "$ROUNDS" --lr 0.05 --momentum 0.9 --batch-size 32 --eval-every 5 \
    --out "$OUT/run" --insecure-no-auth yes 2>/dev/null
"$FEDSILO" eval --checkpoint "$OUT/run/checkpoint.h5" --data "$OUT/test.h5" | tee "$OUT/eval.txt" | head -1
acc=$(head -1 "$OUT/eval.txt" | sed 's/.*accuracy \([0-9.]*\).*/\1/')
echo "result: test accuracy $acc ($MODEL, $NTRAIN training rows over $NSILOS institutions, $ROUNDS rounds)"

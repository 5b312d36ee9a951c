#!/bin/sh
# gbdt_fmnist_mpi.sh - Fashion-MNIST softmax trees through `fedsilo train
# --model gbdt` at full size, against xgboost `hist` in the same run
# (`make bench-gbdt-fmnist`; not part of the test suite: minutes).
#
# usage: bench/gbdt_fmnist_mpi.sh FEDSILO [NTRAIN NTEST ROUNDS DEPTH BINS ETA]
#   defaults 60000 10000 20 6 64 0.3
#
# The first NTRAIN training images (fedsilo import idx) are dealt to 4
# institutions with label skew (fedsilo split --method dirichlet --alpha 0.5
# --seed 7) and trained with `mpirun -np 4 fedsilo train --model gbdt
# --objective multi:softprob` (secure sum, 64-bit ring); `fedsilo eval` gives
# the accuracy on the first NTEST test images.  xgboost.train(tree_method=
# 'hist', nthread=2) trains on the same rows with the same rounds, depth, eta
# and bins.  Prints both accuracies, their difference, both wall times
# (fedsilo: the mpirun, including start-up and binning; xgboost: DMatrix
# construction and training) and their ratio.  Environment: FS_FMNIST_DIR
# (default /usr/share/datasets/fashion-mnist), MPIEXEC, MPIEXEC_FLAGS.
set -eu
FEDSILO=$1
NTR=${2:-60000}; NTE=${3:-10000}; T=${4:-20}; DEP=${5:-6}; B=${6:-64}; ETA=${7:-0.3}
HERE=$(cd "$(dirname "$0")" && pwd)
FM=${FS_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
MPIEXEC=${MPIEXEC:-mpirun}
MPIEXEC_FLAGS=${MPIEXEC_FLAGS---oversubscribe}
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
W=$(mktemp -d "${TMPDIR:-/tmp}/fedsilo-fmnist-gbdt.XXXXXX")
trap 'rm -rf "$W"' EXIT
"$FEDSILO" import idx --images "$FM/train-images-idx3-ubyte.gz" \
    --labels "$FM/train-labels-idx1-ubyte.gz" --limit "$NTR" --out "$W/train.h5" >/dev/null
"$FEDSILO" import idx --images "$FM/t10k-images-idx3-ubyte.gz" \
    --labels "$FM/t10k-labels-idx1-ubyte.gz" --limit "$NTE" --out "$W/test.h5" >/dev/null
"$FEDSILO" split --input "$W/train.h5" --silos 4 --method dirichlet --alpha 0.5 --seed 7 \
    --outdir "$W/shards" | sed 's/^/# /'
t0=$(date +%s.%N)
# shellcheck disable=SC2086
timeout -k 5 7200 "$MPIEXEC" $MPIEXEC_FLAGS -np 4 "$FEDSILO" train --model gbdt \
    --objective multi:softprob --trees "$T" --max-depth "$DEP" --eta "$ETA" --max-bins "$B" \
    --seed 1 --data "$W/shards/site-%d.h5" --test "$W/test.h5" --checkpoint-every 0 \
    --insecure-no-auth yes --quiet --out "$W/run" </dev/null
t1=$(date +%s.%N)
acc=$("$FEDSILO" eval --checkpoint "$W/run/checkpoint.h5" --data "$W/test.h5" |
      sed -n 's/.* accuracy \([0-9.]*\).*/\1/p')
cd "$HERE/../tests/gbdt"
/usr/bin/python3 - "$NTR" "$NTE" "$T" "$DEP" "$B" "$ETA" "$acc" "$t0" "$t1" <<'EOF'
import sys
import gbdt_data as gd
ntr, nte, T, D, B = (int(a) for a in sys.argv[1:6])
eta, acc, t0, t1 = (float(a) for a in sys.argv[6:10])
X, y, Xt, yt = gd.fashion_mnist(ntr, nte)
p = {"objective": "multi:softprob", "num_class": 10, "trees": T, "max_depth": D, "eta": eta,
     "max_bins": B}
secs, px, _ = gd.run_xgboost(X, y, Xt, p, nthread=2)
xacc = gd.accuracy(yt, px.reshape(-1, 10))
print("fashion-mnist %d/%d x 784, %d rounds (%d trees), depth %d, eta %g, %d bins, 4 ranks"
      % (ntr, nte, T, 10 * T, D, eta, B))
print("test accuracy: fedsilo %.4f  xgboost hist %.4f  difference %+.4f" % (acc, xacc, acc - xacc))
print("wall: fedsilo (mpirun -np 4, secure) %.1f s  xgboost (nthread=2) %.1f s  ratio %.2fx"
      % (t1 - t0, secs, (t1 - t0) / secs))
EOF

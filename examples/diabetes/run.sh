#!/bin/sh
# examples/diabetes/run.sh - three clinics fit a regression of diabetes
# progression on 10 baseline variables (442 patients, shipped by Debian's
# python3-sklearn), federated, and compare with the centralized fit.
#
#   examples/diabetes/run.sh                 (from the repo root, after the build)
#   FEDSILO=path/to/fedsilo OUT=dir LAMBDA=1 examples/diabetes/run.sh
#
# 1. fixed-seed 80/20 train/test split (scripts/sklearn-csv.py, seed 42),
#    fedsilo import csv --task regression, fedsilo split into 3 institutions;
# 2. fedsilo ridge: EXACT federated ridge regression in one secure round
#    (secure sums of X^T X, X^T y, y^T y, n; Cholesky solve), standardized,
#    lambda $LAMBDA; its test RMSE/R^2;
# 3. fedsilo train --model linear --standardize yes: iterative FedAvg SGD of
#    the same model, for comparison;
# 4. the centralized scikit-learn Ridge(alpha=lambda) on StandardScaler
#    features of the same split (when /usr/bin/python3 has sklearn).
# Final line: "result: ridge test_rmse R test_r2 Q sgd test_rmse .. test_r2 ..
# central test_rmse .. test_r2 ..".
set -eu
FEDSILO=${FEDSILO:-build/fedsilo}
OUT=${OUT:-runs/example-diabetes}
LAMBDA=${LAMBDA:-1}
ROUNDS=${ROUNDS:-40}
NSILOS=3
MPIEXEC=${MPIEXEC:-mpirun}
MPIEXEC_FLAGS=${MPIEXEC_FLAGS---oversubscribe}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
[ -x "$FEDSILO" ] || { echo "run.sh: $FEDSILO not found: build first or set FEDSILO=" >&2; exit 1; }
mpi() { np=$1; shift; timeout -k 5 600 "$MPIEXEC" $MPIEXEC_FLAGS -np "$np" "$@" </dev/null; }

rm -rf "$OUT"; mkdir -p "$OUT"
/usr/bin/python3 "$SRC/scripts/sklearn-csv.py" diabetes --out "$OUT/csv" --seed 42 --test-fraction 0.2
"$FEDSILO" import csv --input "$OUT/csv/train.csv" --label target --task regression --out "$OUT/train.h5"
"$FEDSILO" import csv --input "$OUT/csv/test.csv" --label target --task regression --out "$OUT/test.h5"
"$FEDSILO" split --input "$OUT/train.h5" --silos $NSILOS --method iid --seed 7 --outdir "$OUT/shards" \
  | head -1

# This example uses the unauthenticated secure sum for brevity; see
# examples/breast-cancer/run.sh for keys and a roster.
echo "== exact federated ridge regression (one secure round) =="
mpi $NSILOS "$FEDSILO" ridge --data "$OUT/shards/site-%d.h5" --lambda "$LAMBDA" --standardize \
    --out "$OUT/ridge" --test "$OUT/test.h5" --insecure-no-auth yes 2>/dev/null | tee "$OUT/ridge.txt"
r_rmse=$(sed -n 's/^test .* rmse \([0-9.]*\) .*/\1/p' "$OUT/ridge.txt")
r_r2=$(sed -n 's/^test .* r2 \(-*[0-9.]*\).*/\1/p' "$OUT/ridge.txt")

echo "== federated linear regression by FedAvg SGD ($ROUNDS rounds) =="
mpi $NSILOS "$FEDSILO" train --data "$OUT/shards/site-%d.h5" --test "$OUT/test.h5" --model linear \
    --standardize yes --rounds "$ROUNDS" --lr 0.01 --momentum 0.9 --batch-size 16 \
    --eval-every "$ROUNDS" --out "$OUT/sgd" --insecure-no-auth yes --quiet 2>/dev/null
"$FEDSILO" eval --checkpoint "$OUT/sgd/checkpoint.h5" --data "$OUT/test.h5" | tee "$OUT/sgd.txt"
s_rmse=$(sed -n 's/.* rmse \([0-9.]*\) .*/\1/p' "$OUT/sgd.txt")
s_r2=$(sed -n 's/.* r2 \(-*[0-9.]*\).*/\1/p' "$OUT/sgd.txt")

c_rmse=n/a; c_r2=n/a
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  set -- $(/usr/bin/python3 - "$OUT/csv" "$LAMBDA" <<'EOF'
import sys
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.preprocessing import StandardScaler
d, lam = sys.argv[1], float(sys.argv[2])
tr = np.loadtxt(d + "/train.csv", delimiter=",", skiprows=1)
te = np.loadtxt(d + "/test.csv", delimiter=",", skiprows=1)
sc = StandardScaler().fit(tr[:, :-1])
m = Ridge(alpha=lam).fit(sc.transform(tr[:, :-1]), tr[:, -1])
p = m.predict(sc.transform(te[:, :-1]))
print("%.6f %.6f" % (mean_squared_error(te[:, -1], p) ** 0.5, r2_score(te[:, -1], p)))
EOF
)
  c_rmse=$1; c_r2=$2
fi
echo "result: ridge test_rmse $r_rmse test_r2 $r_r2 sgd test_rmse $s_rmse test_r2 $s_r2" \
     "central test_rmse $c_rmse test_r2 $c_r2 (sklearn Ridge alpha=$LAMBDA, same split)"

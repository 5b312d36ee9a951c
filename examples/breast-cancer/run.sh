#!/bin/sh
# examples/breast-cancer/run.sh - four hospitals train a logistic regression
# on the Wisconsin breast-cancer data (569 rows, 30 features, shipped by
# Debian's python3-sklearn) with authenticated secure aggregation.
#
#   examples/breast-cancer/run.sh            (from the repo root, after the build)
#   FEDSILO=path/to/fedsilo OUT=dir ROUNDS=40 examples/breast-cancer/run.sh
#
# Steps: fixed-seed 80/20 train/test split (scripts/sklearn-csv.py, seed 42)
# -> fedsilo import csv -> fedsilo split into 4 institutions (iid, seed 7)
# -> keys and roster (fedsilo keygen) -> federated statistics of the shards
# (fedsilo stats) -> fedsilo train --model logistic --standardize yes
# (global mean/std from secure sums) -> fedsilo eval on the test set, and the
# centralized scikit-learn logistic regression on the same split when
# /usr/bin/python3 has sklearn.  Final line: "result: federated accuracy A
# centralized accuracy C" (C is "n/a" without sklearn).
set -eu
FEDSILO=${FEDSILO:-build/fedsilo}
OUT=${OUT:-runs/example-breast-cancer}
ROUNDS=${ROUNDS:-30}
NSILOS=4
MPIEXEC=${MPIEXEC:-mpirun}
MPIEXEC_FLAGS=${MPIEXEC_FLAGS---oversubscribe}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
[ -x "$FEDSILO" ] || { echo "run.sh: $FEDSILO not found: build first or set FEDSILO=" >&2; exit 1; }
mpi() { np=$1; shift; timeout -k 5 600 "$MPIEXEC" $MPIEXEC_FLAGS -np "$np" "$@" </dev/null; }

rm -rf "$OUT"; mkdir -p "$OUT"
/usr/bin/python3 "$SRC/scripts/sklearn-csv.py" breast-cancer --out "$OUT/csv" --seed 42 --test-fraction 0.2
"$FEDSILO" import csv --input "$OUT/csv/train.csv" --label target --out "$OUT/train.h5"
"$FEDSILO" import csv --input "$OUT/csv/test.csv" --label target --out "$OUT/test.h5"
"$FEDSILO" split --input "$OUT/train.h5" --silos $NSILOS --method iid --seed 7 \
    --outdir "$OUT/shards" --min-rows 10 | head -1

# One identity key per institution and the consortium roster (docs/keys.md).
mkdir -p "$OUT/keys"
printf '[consortium]\nname = breast-cancer-example\n\n' > "$OUT/keys/roster.ini"
i=0
while [ $i -lt $NSILOS ]; do
  "$FEDSILO" keygen --name "hospital-$i" --rank $i --out "$OUT/keys/site-$i" 2>/dev/null \
    | grep -v "^;" >> "$OUT/keys/roster.ini"
  echo >> "$OUT/keys/roster.ini"
  i=$((i + 1))
done
SEC="--roster $OUT/keys/roster.ini --identity $OUT/keys/site-%d.key"

echo "== federated statistics (secure sums only) =="
# shellcheck disable=SC2086
mpi $NSILOS "$FEDSILO" stats --data "$OUT/shards/site-%d.h5" --bins 16 --json "$OUT/stats.json" $SEC \
  > "$OUT/stats.txt"
head -8 "$OUT/stats.txt"
echo "   ... (all 30 features in $OUT/stats.json)"

echo "== federated logistic regression, $NSILOS institutions, secure aggregation =="
# shellcheck disable=SC2086
mpi $NSILOS "$FEDSILO" train --data "$OUT/shards/site-%d.h5" --test "$OUT/test.h5" \
    --model logistic --standardize yes --rounds "$ROUNDS" --lr 0.05 --momentum 0.9 \
    --batch-size 16 --local-epochs 1 --eval-every 10 --out "$OUT/run" $SEC
"$FEDSILO" eval --checkpoint "$OUT/run/checkpoint.h5" --data "$OUT/test.h5" | tee "$OUT/eval.txt"
fed=$(head -1 "$OUT/eval.txt" | sed 's/.*accuracy \([0-9.]*\).*/\1/')

central=n/a
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  central=$(/usr/bin/python3 - "$OUT/csv" <<'EOF'
import sys
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
tr = np.loadtxt(d + "/train.csv", delimiter=",", skiprows=1)
te = np.loadtxt(d + "/test.csv", delimiter=",", skiprows=1)
sc = StandardScaler().fit(tr[:, :-1])
clf = LogisticRegression(max_iter=5000).fit(sc.transform(tr[:, :-1]), tr[:, -1])
print("%.6f" % clf.score(sc.transform(te[:, :-1]), te[:, -1]))
EOF
)
fi
echo "result: federated accuracy $fed centralized accuracy $central (sklearn LogisticRegression, same split)"

#!/bin/sh
# The examples run end to end with one command each and meet their
# acceptance numbers (examples/README.md):
#   breast-cancer: federated logistic regression (4 institutions, secure,
#     authenticated, --standardize yes) within 0.01 + one test sample of the
#     centralized scikit-learn LogisticRegression on the same split;
#   diabetes: exact federated ridge test RMSE within 1e-4 relative and R^2
#     within 1e-4 of scikit-learn Ridge on the same split (the checkpoint
#     stores float32 weights); FedAvg SGD linear regression RMSE within 5%;
#   fashion-mnist (small variant: 6000 training rows, 8 rounds): test
#     accuracy above 0.75.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
/usr/bin/python3 -c 'import sklearn, numpy' 2>/dev/null \
  || hard "need /usr/bin/python3 with sklearn (python3-sklearn, scripts/install-deps.sh data)"
export FEDSILO MPIEXEC MPIEXEC_FLAGS

OUT="$WORK/bc" timeout 300 sh "$FS_SRCDIR/examples/breast-cancer/run.sh" > "$WORK/bc.txt" 2>&1 \
  || { cat "$WORK/bc.txt"; fail "examples/breast-cancer/run.sh failed"; }
line=$(grep '^result:' "$WORK/bc.txt") || { cat "$WORK/bc.txt"; fail "breast-cancer: no result line"; }
note "breast-cancer $line"
ntest=$(sed -n 's/^test \([0-9]*\)$/\1/p' "$WORK/bc/csv/split.txt")
echo "$line" | awk -v nt="$ntest" '{ d = $4 - $7; if (d < 0) d = -d; exit !(nt > 0 && d <= 0.01 + 1 / nt + 1e-9) }' \
  || fail "breast-cancer: federated and centralized accuracy differ by more than 0.01 + 1/$ntest"

OUT="$WORK/db" timeout 300 sh "$FS_SRCDIR/examples/diabetes/run.sh" > "$WORK/db.txt" 2>&1 \
  || { cat "$WORK/db.txt"; fail "examples/diabetes/run.sh failed"; }
line=$(grep '^result:' "$WORK/db.txt") || { cat "$WORK/db.txt"; fail "diabetes: no result line"; }
note "diabetes $line"
# result: ridge test_rmse R test_r2 Q sgd test_rmse S test_r2 T central test_rmse C test_r2 D ...
echo "$line" | awk '{ r = $4; q = $6; s = $9; c = $14; dq = $16;
  e1 = (r - c) / c; if (e1 < 0) e1 = -e1; e2 = q - dq; if (e2 < 0) e2 = -e2;
  e3 = (s - c) / c; if (e3 < 0) e3 = -e3;
  exit !(e1 <= 1e-4 && e2 <= 1e-4 && e3 <= 0.05) }' \
  || fail "diabetes: federated metrics not within tolerance of the centralized fit"

OUT="$WORK/fm" NTRAIN=6000 NTEST=1000 ROUNDS=8 timeout 300 sh "$FS_SRCDIR/examples/fashion-mnist/run.sh" \
    > "$WORK/fm.txt" 2>&1 || { cat "$WORK/fm.txt"; fail "examples/fashion-mnist/run.sh failed"; }
line=$(grep '^result:' "$WORK/fm.txt") || { cat "$WORK/fm.txt"; fail "fashion-mnist: no result line"; }
note "fashion-mnist $line"
echo "$line" | awk '{ exit !($4 > 0.75) }' || fail "fashion-mnist: test accuracy not above 0.75"
note PASS

#!/bin/sh
# Vertical federated training end to end (fedsilo vfl-split + vfl-train on
# 3 ranks, labels on rank 1; 2048-bit Paillier for breast cancer, 1024-bit
# test keys for the 40 epochs of diabetes):
#   breast cancer, logistic: test accuracy within 1 point of centralized
#     logistic regression (sklearn, no penalty) on the SAME train/test rows;
#   diabetes, linear: test RMSE within 2% of sklearn LinearRegression.
# The centralized reference reads the very part files that vfl-train reads.
. "${FS_SRCDIR:-.}/tests/lib.sh"
"$FEDSILO" vfl-train --help >/dev/null 2>&1 \
  || hard "fedsilo vfl-train is not dispatched (add it to the table in src/cli/fedsilo.c)"
need_sklearn

# Convert to headered CSVs with standardized features.
$PY - "$SK" "$WORK" <<'PYEOF' || hard "dataset conversion failed"
import gzip, sys, numpy as np
sk, out = sys.argv[1], sys.argv[2]
rows = [l.strip().split(",") for l in open(sk + "/breast_cancer.csv")][1:]
a = np.array([[float(v) for v in r] for r in rows if r and r[0]])
X, y = a[:, :30], a[:, 30].astype(int)
X = (X - X.mean(0)) / X.std(0)
with open(out + "/bc.csv", "w") as f:
    f.write(",".join("f%d" % j for j in range(30)) + ",label\n")
    for xi, yi in zip(X, y): f.write(",".join("%.9g" % v for v in xi) + ",%d\n" % yi)
X = np.loadtxt(gzip.open(sk + "/diabetes_data_raw.csv.gz"))
y = np.loadtxt(gzip.open(sk + "/diabetes_target.csv.gz"))
X = (X - X.mean(0)) / X.std(0)
with open(out + "/diab.csv", "w") as f:
    f.write(",".join("f%d" % j for j in range(10)) + ",target\n")
    for xi, yi in zip(X, y): f.write(",".join("%.9g" % v for v in xi) + ",%.9g\n" % yi)
PYEOF
"$FEDSILO" import csv --input "$WORK/bc.csv" --label label --out "$WORK/bc.h5" >/dev/null \
  || hard "import bc"
"$FEDSILO" import csv --input "$WORK/diab.csv" --label target --task regression \
  --out "$WORK/diab.h5" >/dev/null || hard "import diabetes"
"$FEDSILO" vfl-split --input "$WORK/bc.h5" --parts 3 --label-rank 1 --outdir "$WORK/bc" \
  --test-fraction 0.3 --seed 3 >/dev/null || fail "vfl-split bc"
"$FEDSILO" vfl-split --input "$WORK/diab.h5" --parts 3 --label-rank 1 --outdir "$WORK/diab" \
  --test-fraction 0.25 --seed 5 >/dev/null || fail "vfl-split diabetes"

# vfl-split: column blocks 10+10+10, rows aligned, labels only in part 1.
$PY - "$WORK/bc" <<'PYEOF' || fail "vfl-split layout"
import sys, h5py, numpy as np
d = sys.argv[1]
for name, rows in (("part", 398), ("test", 171)):
    fs = [h5py.File("%s/%s-%d.h5" % (d, name, k), "r") for k in range(3)]
    assert [f["X"].shape for f in fs] == [(rows, 10)] * 3, [f["X"].shape for f in fs]
    ys = [np.array(f["y"]) for f in fs]
    assert not ys[0].any() and not ys[2].any() and ys[1].any()
    prov = [f.attrs["provenance"] for f in fs]
    prov = [p.decode() if isinstance(p, bytes) else str(p) for p in prov]
    assert "withheld" in prov[0] and "labels held" in prov[1], prov
PYEOF

# Centralized references on the same rows (columns concatenated in rank order).
ref() {
  $PY - "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
d, kind = sys.argv[1], sys.argv[2]
def load(name):
    Xs = [np.array(h5py.File("%s/%s-%d.h5" % (d, name, k), "r")["X"]) for k in range(3)]
    y = np.array(h5py.File("%s/%s-1.h5" % (d, name), "r")["y"])
    return np.hstack(Xs).astype(float), y
Xtr, ytr = load("part"); Xte, yte = load("test")
if kind == "logistic":
    from sklearn.linear_model import LogisticRegression
    m = LogisticRegression(C=10.0, max_iter=5000).fit(Xtr, ytr)
    print("%.6f" % (m.predict(Xte) == yte).mean())
else:
    from sklearn.linear_model import LinearRegression
    m = LinearRegression().fit(Xtr, ytr)
    print("%.6f" % np.sqrt(((m.predict(Xte) - yte) ** 2).mean()))
PYEOF
}
bc_ref=$(ref "$WORK/bc" logistic) || hard "sklearn reference (bc)"
diab_ref=$(ref "$WORK/diab" linear) || hard "sklearn reference (diabetes)"

start=$(date +%s)
run_mpi 3 300 "$FEDSILO" vfl-train --data "$WORK/bc/part-%d.h5" --test "$WORK/bc/test-%d.h5" \
  --label-rank 1 --model logistic --lr 0.2 --epochs 15 --batch-size 64 \
  --insecure-no-auth yes --out "$WORK/bc-out" >"$WORK/bc.log" 2>&1 \
  || { cat "$WORK/bc.log"; fail "vfl-train logistic"; }
mid=$(date +%s)
bc_acc=$(sed -n 's/^final:.*test_accuracy \([0-9.]*\).*/\1/p' "$WORK/bc.log")
note "breast cancer: vertical accuracy $bc_acc, centralized $bc_ref ($((mid - start)) s)"
grep '^paillier:' "$WORK/bc.log" | sed "s/^/[$TEST_NAME] bc /"
[ -n "$bc_acc" ] || { cat "$WORK/bc.log"; fail "no final accuracy"; }
$PY -c "import sys; sys.exit(0 if float('$bc_acc') >= float('$bc_ref') - 0.01 else 1)" \
  || fail "accuracy $bc_acc more than 1 point below centralized $bc_ref"
for k in 0 1 2; do [ -s "$WORK/bc-out/vfl-weights-$k.txt" ] || fail "missing weights of rank $k"; done

run_mpi 3 300 "$FEDSILO" vfl-train --data "$WORK/diab/part-%d.h5" --test "$WORK/diab/test-%d.h5" \
  --label-rank 1 --model linear --lr 0.05 --epochs 40 --batch-size 32 \
  --paillier-bits 1024 --insecure-test-keys yes \
  --insecure-no-auth yes >"$WORK/diab.log" 2>&1 \
  || { cat "$WORK/diab.log"; fail "vfl-train linear"; }
end=$(date +%s)
diab_rmse=$(sed -n 's/^final:.*test_rmse \([0-9.]*\).*/\1/p' "$WORK/diab.log")
note "diabetes: vertical RMSE $diab_rmse, centralized $diab_ref ($((end - mid)) s)"
grep '^paillier:' "$WORK/diab.log" | sed "s/^/[$TEST_NAME] diabetes /"
[ -n "$diab_rmse" ] || { cat "$WORK/diab.log"; fail "no final RMSE"; }
$PY -c "import sys; sys.exit(0 if float('$diab_rmse') <= 1.02 * float('$diab_ref') else 1)" \
  || fail "RMSE $diab_rmse more than 2% above centralized $diab_ref"

# A mismatched option on one rank is refused by every rank (exit 2 / 1).
run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/bc/part-%d.h5" --label-rank 5 \
  --paillier-bits 1024 --insecure-test-keys yes --insecure-no-auth yes >"$WORK/bad.log" 2>&1 && fail "label rank 5 of 2 accepted"
grep -q "label rank 5" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "no message for a bad label rank"; }
# The label rank must be the part that vfl-split gave the labels to.
run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/bc/part-%d.h5" --label-rank 0 \
  --paillier-bits 1024 --insecure-test-keys yes --insecure-no-auth yes >"$WORK/nolab.log" 2>&1 && fail "withheld labels accepted"
grep -q "has no labels" "$WORK/nolab.log" || { cat "$WORK/nolab.log"; fail "no message for withheld labels"; }
exit 0

#!/bin/sh
# Vertical FL from per-institution CSVs to a trained model, through the CLI
# only (3 ranks, 1024-bit Paillier to keep the test short):
#   1. breast cancer cut by feature columns into 3 institutions' CSVs with a
#      synthetic patient id column (in a different position in each file);
#      each institution lacks a different random set of patients and lists
#      its rows in its own random order; separate train and test files;
#   2. fedsilo import csv --id-column (only institution 1 has the label);
#   3. fedsilo psi --data ... --out aligned-%d.h5 for train and test: the
#      intersection sizes must be exactly the number of patients that all
#      three hold, and row t must be the same patient on every rank, with
#      features (and labels) equal to the originals, rows sorted by id bytes;
#   4. fedsilo vfl-train with an authenticated roster whose institution 1
#      has role = label (no --label-rank): test accuracy not more than one
#      point below centralized logistic regression on the same rows.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_sklearn

# 1. Per-institution CSVs.  expected.txt: common train and test patients.
$PY - "$SK" "$WORK" <<'PYEOF' || hard "dataset preparation failed"
import sys, numpy as np
sk, out = sys.argv[1], sys.argv[2]
rows = [l.strip().split(",") for l in open(sk + "/breast_cancer.csv")][1:]
a = np.array([[float(v) for v in r] for r in rows if r and r[0]])
X, y = a[:, :30], a[:, 30].astype(int)
X = (X - X.mean(0)) / X.std(0)
X = np.vectorize(lambda v: float("%.9g" % v))(X)     # exactly the values the CSVs hold
n = len(y)
rng = np.random.RandomState(11)
ids = ["pt-%06d" % v for v in rng.choice(1000000, n, replace=False)]
test = np.zeros(n, bool)
test[rng.permutation(n)[: int(0.3 * n)]] = True
blocks = [range(0, 10), range(10, 20), range(20, 30)]
keep = [rng.rand(n) >= 0.10 for _ in range(3)]       # each lacks ~10% of patients
np.save(out + "/orig_X.npy", X.astype(np.float32))
np.save(out + "/orig_y.npy", y)
with open(out + "/orig_ids.txt", "w") as f:
    f.write("\n".join(ids) + "\n")
common = keep[0] & keep[1] & keep[2]
with open(out + "/expected.txt", "w") as f:
    f.write("%d %d\n" % ((common & ~test).sum(), (common & test).sum()))
for k in range(3):
    cols = ["f%d" % j for j in blocks[k]]
    header = ["patient"] + cols if k == 0 else cols + ["patient"]
    if k == 1:                                   # label holder: id in the middle
        header = cols[:5] + ["patient"] + cols[5:] + ["diagnosis"]
    for name, part in (("train", ~test), ("test", test)):
        sel = np.where(keep[k] & part)[0]
        sel = sel[np.random.RandomState(100 + 10 * k + (name == "test")).permutation(len(sel))]
        with open("%s/%s-%d.csv" % (out, name, k), "w") as f:
            f.write(",".join(header) + "\n")
            for i in sel:
                cell = {"patient": ids[i], "diagnosis": str(y[i])}
                for c, j in zip(cols, blocks[k]):
                    cell[c] = "%.9g" % X[i, j]
                f.write(",".join(cell[h] for h in header) + "\n")
PYEOF
read -r want_train want_test < "$WORK/expected.txt"
note "patients held by all three institutions: $want_train train, $want_test test"

# 2. Import: institution 1 holds the labels, 0 and 2 only features.
for part in train test; do
  for k in 0 1 2; do
    lab=""; [ $k -eq 1 ] && lab="--label diagnosis"
    # shellcheck disable=SC2086
    "$FEDSILO" import csv --input "$WORK/$part-$k.csv" --id-column patient $lab \
      --out "$WORK/$part-$k.h5" >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log"; fail "import $part-$k"; }
  done
done
h5dump -d /ids -c 1 "$WORK/train-0.h5" >/dev/null 2>&1 || fail "/ids is not readable by h5dump"
[ "$(h5attr "$WORK/train-0.h5" labels_absent)" = 1 ] || fail "institution 0: labels_absent not set"

# The consortium: a roster that names institution 1 as the label holder
# authenticates both the PSI and the training.
make_consortium "$WORK/keys" 3
awk '{ print } /^rank = 1$/ { print "role = label" }' "$WORK/keys/roster.ini" > "$WORK/roster.ini"
grep -q '^role = label' "$WORK/roster.ini" || hard "could not add the role to the roster"

# 3. PSI on the datasets' ids, aligned HDF5 parts.
for part in train test; do
  start=$(date +%s)
  run_mpi 3 180 "$FEDSILO" psi --data "$WORK/$part-%d.h5" --out "$WORK/aligned-$part-%d.h5" \
    --roster "$WORK/roster.ini" --identity "$WORK/keys/site-%d.key" \
    >"$WORK/psi-$part.log" 2>&1 || { cat "$WORK/psi-$part.log"; fail "psi --data ($part)"; }
  note "$part: $(cat "$WORK/psi-$part.log") [$(($(date +%s) - start)) s wall]"
done
grep -q "intersection $want_train rows" "$WORK/psi-train.log" || fail "train intersection is not $want_train"
grep -q "intersection $want_test rows" "$WORK/psi-test.log" || fail "test intersection is not $want_test"

$PY - "$WORK" <<'PYEOF' || fail "aligned parts do not match the original data"
import sys, h5py, numpy as np
w = sys.argv[1]
X, y = np.load(w + "/orig_X.npy"), np.load(w + "/orig_y.npy")
ids = [l.strip() for l in open(w + "/orig_ids.txt")]
row = {s: i for i, s in enumerate(ids)}
exp = [int(v) for v in open(w + "/expected.txt").read().split()]
for part, m in (("train", exp[0]), ("test", exp[1])):
    fs = [h5py.File("%s/aligned-%s-%d.h5" % (w, part, k), "r") for k in range(3)]
    al = [list(f["ids"].asstr()[:]) for f in fs]
    assert len(al[0]) == m, (part, len(al[0]), m)
    assert al[0] == al[1] == al[2], part + ": row order differs between ranks"
    assert al[0] == sorted(al[0], key=lambda s: s.encode()), part + ": not in id byte order"
    assert len(set(al[0])) == m
    src = np.array([row[s] for s in al[0]])
    for k, f in enumerate(fs):
        assert np.array_equal(f["X"][:], X[src][:, 10 * k: 10 * k + 10]), (part, k, "features")
        names = list(f["feature_names"].asstr()[:])
        assert names == ["f%d" % j for j in range(10 * k, 10 * k + 10)], names
    assert np.array_equal(fs[1]["y"][:], y[src]), part + ": labels"
    assert fs[0].attrs["labels_absent"] == 1 and fs[2].attrs["labels_absent"] == 1
    assert "labels_absent" not in fs[1].attrs
    assert not fs[0]["y"][:].any() and not fs[2]["y"][:].any()
    prov = fs[2].attrs["provenance"]
    assert "psi:" in (prov.decode() if isinstance(prov, bytes) else prov)
PYEOF

# Centralized reference on the same aligned rows (columns in rank order).
bc_ref=$($PY - "$WORK" <<'PYEOF'
import sys, h5py, numpy as np
from sklearn.linear_model import LogisticRegression
w = sys.argv[1]
def load(part):
    fs = [h5py.File("%s/aligned-%s-%d.h5" % (w, part, k), "r") for k in range(3)]
    return np.hstack([f["X"][:] for f in fs]).astype(float), fs[1]["y"][:]
Xtr, ytr = load("train"); Xte, yte = load("test")
m = LogisticRegression(C=10.0, max_iter=5000).fit(Xtr, ytr)
print("%.6f" % (m.predict(Xte) == yte).mean())
PYEOF
) || hard "sklearn reference"

# 4. Train with the roster that names institution 1 as the label holder.
start=$(date +%s)
run_mpi 3 400 "$FEDSILO" vfl-train --data "$WORK/aligned-train-%d.h5" \
  --test "$WORK/aligned-test-%d.h5" --roster "$WORK/roster.ini" --identity "$WORK/keys/site-%d.key" \
  --model logistic --lr 0.2 --epochs 15 --batch-size 64 --paillier-bits 1024 --insecure-test-keys yes \
  >"$WORK/train.log" 2>&1 || { cat "$WORK/train.log"; fail "vfl-train with the roster's label holder"; }
grep -q "labels on rank 1 (roster role = label)" "$WORK/train.log" \
  || { cat "$WORK/train.log"; fail "label rank not taken from the roster"; }
acc=$(sed -n 's/^final:.*test_accuracy \([0-9.]*\).*/\1/p' "$WORK/train.log")
note "vertical accuracy $acc, centralized $bc_ref ($(($(date +%s) - start)) s)"
[ -n "$acc" ] || { cat "$WORK/train.log"; fail "no final accuracy"; }
$PY -c "import sys; sys.exit(0 if float('$acc') >= float('$bc_ref') - 0.01 else 1)" \
  || fail "accuracy $acc more than 1 point below centralized $bc_ref"
exit 0

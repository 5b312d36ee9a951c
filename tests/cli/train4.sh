#!/bin/sh
# A 4-rank federation (default secure aggregation, authenticated with a
# roster) on a small Fashion-MNIST slice: trains, writes one
# metrics line per round, the test accuracy rises well above chance, and
# `fedsilo eval` of the final checkpoint reproduces the last test accuracy.
# The federated metrics are also checked independently of fedsilo's metric
# code (tests/cli/metrics_ref.py): scikit-learn on a numpy forward pass of the
# final checkpoint over the pooled test file and validation parts (accuracy,
# confusion matrix, per-class and macro F1 to the printed digits), and, for a
# binary run (logistic, breast cancer), the ROC AUC within the 1000-bin bound.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
need_sklearn
make_consortium "$WORK/k" 4
make_fmnist "$WORK/d" 4000 1000 4 dirichlet --alpha 0.5 --val-fraction 0.1
run_mpi 4 300 "$FEDSILO" train --data "$WORK/d/shards/site-%d.h5" --test "$WORK/d/test.h5" \
    --model mlp:64 --rounds 4 --lr 0.05 --out "$WORK/run" \
    --roster "$WORK/k/roster.ini" --identity "$WORK/k/site-%d.key" > "$WORK/out.txt" 2>&1 \
  || { cat "$WORK/out.txt"; fail "train exited non-zero"; }
cat "$WORK/out.txt"
[ "$(wc -l < "$WORK/run/metrics.jsonl")" -eq 4 ] || fail "expected 4 metrics lines"
grep -c '^round [1-4]/4' "$WORK/out.txt" | grep -qx 4 || fail "expected 4 progress lines"
acc=$(tail -1 "$WORK/run/metrics.jsonl" | sed 's/.*"test_accuracy": \([0-9.]*\).*/\1/')
note "final test accuracy $acc"
awk -v a="$acc" 'BEGIN { exit !(a > 0.55) }' || fail "test accuracy $acc is not above 0.55"
grep -q '"val_accuracy"' "$WORK/run/metrics.jsonl" || fail "no validation metrics"
grep -q '^model = mlp:64' "$WORK/run/config.ini" || fail "config.ini lacks the effective model"
"$FEDSILO" eval --checkpoint "$WORK/run/checkpoint.h5" --data "$WORK/d/test.h5" > "$WORK/eval.txt" \
  || fail "eval failed"
cat "$WORK/eval.txt"
# The federated metrics come from secure sums of per-rank sums; they must equal
# a centralized evaluation of the same model on the pooled data: by fedsilo's
# own metric code (`eval`, here) and, independently, by scikit-learn (at the end).
eacc=$(head -1 "$WORK/eval.txt" | sed 's/.*accuracy \([0-9.]*\).*/\1/')
ef1=$(head -1 "$WORK/eval.txt" | sed 's/.*macro_f1 \([0-9.]*\).*/\1/')
f1=$(tail -1 "$WORK/run/metrics.jsonl" | sed 's/.*"test_macro_f1": \([0-9.]*\).*/\1/')
awk -v a="$acc" -v b="$eacc" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-6) }' \
  || fail "eval accuracy $eacc != final metrics accuracy $acc"
awk -v a="$f1" -v b="$ef1" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-6) }' \
  || fail "centralized macro F1 $ef1 != federated macro F1 $f1"
tail -1 "$WORK/run/metrics.jsonl" | grep -q '"test_confusion": \[\[' || fail "no confusion matrix in metrics"
# Shards found through the roster (rank -> institution -> data path), no --data.
i=0
while [ $i -lt 4 ]; do
  sed -i "/^\[institution \"site-$i\"\]/a data = $WORK/d/shards/site-$i.h5" "$WORK/k/roster.ini"
  i=$((i + 1))
done
run_mpi 4 300 "$FEDSILO" train --test "$WORK/d/test.h5" --model mlp:64 --rounds 4 --lr 0.05 \
    --out "$WORK/run2" --roster "$WORK/k/roster.ini" --identity "$WORK/k/site-%d.key" --quiet \
  || fail "training with roster data paths failed"
a=$(h5attr "$WORK/run/checkpoint.h5" model_hash); b=$(h5attr "$WORK/run2/checkpoint.h5" model_hash)
[ "$a" = "$b" ] || fail "roster data paths gave a different model ($a vs $b)"
# Shard ownership (docs/security.md): roster names that are no shard's
# institution attribute (site-<i> from fedsilo split) are allowed, and each
# rank reads its own data = path.  The shards are a binary task (breast
# cancer, standardized with the training rows' statistics; logistic model)
# whose ROC AUC is checked against scikit-learn.
$PY - "$SK" "$WORK/bc" <<'EOS' || hard "breast cancer conversion failed"
import os, sys, numpy as np
sk, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
a = np.loadtxt(sk + "/breast_cancer.csv", delimiter=",", skiprows=1)
perm = np.random.RandomState(3).permutation(len(a))
tr, te = a[perm[:400]], a[perm[400:]]
mu, sd = tr[:, :30].mean(0), tr[:, :30].std(0)
for name, part in (("train", tr), ("test", te)):
    with open("%s/%s.csv" % (out, name), "w") as f:
        f.write(",".join("f%d" % j for j in range(30)) + ",label\n")
        for r in part:
            f.write(",".join("%.9g" % v for v in (r[:30] - mu) / sd) + ",%d\n" % r[30])
EOS
for p in train test; do
  "$FEDSILO" import csv --input "$WORK/bc/$p.csv" --label label --out "$WORK/bc/$p.h5" >/dev/null \
    || hard "import of breast cancer $p failed"
done
"$FEDSILO" split --input "$WORK/bc/train.h5" --silos 4 --seed 7 --outdir "$WORK/bc/shards" \
    >/dev/null \
  || hard "split of breast cancer failed"
sed -e 's/^\[institution "site-\([0-9]*\)"\]/[institution "hospital-\1"]/' \
    -e "s|^data = $WORK/d/shards/|data = $WORK/bc/shards/|" "$WORK/k/roster.ini" \
    > "$WORK/k/renamed.ini"
grep -q "^data = $WORK/bc/shards/site-3.h5" "$WORK/k/renamed.ini" \
  || hard "roster data paths not rewritten"
run_mpi 4 120 "$FEDSILO" train --model logistic --rounds 2 --lr 0.05 --test "$WORK/bc/test.h5" \
    --out "$WORK/run3" --roster "$WORK/k/renamed.ini" --identity "$WORK/k/site-%d.key" --quiet \
  || fail "training with roster names that differ from the shards' institution attributes failed"
grep -q '"test_auc"' "$WORK/run3/metrics.jsonl" || fail "no test_auc for the binary task"
# scikit-learn on the pooled data, for both tasks (one process: the import is slow)
$PY "$FS_SRCDIR/tests/cli/metrics_ref.py" "$WORK/run" "$WORK/d/test.h5" "$WORK"/d/shards/site-*.h5 \
    -- "$WORK/run3" "$WORK/bc/test.h5" \
  || fail "federated metrics differ from scikit-learn on the pooled data"
note PASS

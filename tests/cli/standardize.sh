#!/bin/sh
# Federated standardization: the global mean/std computed from secure sums
# equal the centralized ones on the pooled shards; they are stored in the
# checkpoint, and `fedsilo eval` applies them (its accuracy equals the
# federated test accuracy of the last round).
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
make_fmnist "$WORK/d" 1500 400 3 dirichlet --alpha 0.5
run_mpi 3 300 "$FEDSILO" train --data "$WORK/d/shards/site-%d.h5" --test "$WORK/d/test.h5" \
    --model softmax --rounds 3 --lr 0.01 --standardize yes --insecure-no-auth yes \
    --out "$WORK/run" > "$WORK/out.txt" 2>&1 || { cat "$WORK/out.txt"; fail "standardized run failed"; }
/usr/bin/python3 - "$WORK/d/shards" "$WORK/run/checkpoint.h5" <<'PY' || fail "standardization differs from the centralized one"
import sys, glob, h5py, numpy as np
X = np.concatenate([h5py.File(f)["X"][:].astype(np.float64) for f in sorted(glob.glob(sys.argv[1] + "/site-*.h5"))])
ck = h5py.File(sys.argv[2])
mean, scale = ck["standardize_mean"][:], ck["standardize_scale"][:]
sd = X.std(axis=0); sd[sd <= 1e-12] = 1.0
em, es = np.abs(mean - X.mean(axis=0)).max(), np.abs(scale - sd).max()
print("pooled rows %d: max |mean error| %.3g, max |std error| %.3g" % (len(X), em, es))
sys.exit(0 if em < 1e-6 and es < 1e-6 else 1)
PY
acc=$(tail -1 "$WORK/run/metrics.jsonl" | sed 's/.*"test_accuracy": \([0-9.]*\).*/\1/')
"$FEDSILO" eval --checkpoint "$WORK/run/checkpoint.h5" --data "$WORK/d/test.h5" > "$WORK/eval.txt" || fail "eval"
eacc=$(head -1 "$WORK/eval.txt" | sed 's/.*accuracy \([0-9.]*\).*/\1/')
note "federated test accuracy $acc, fedsilo eval $eacc"
[ "$acc" = "$eacc" ] || awk -v a="$acc" -v b="$eacc" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' \
  || fail "eval does not apply the stored standardization"
note PASS

#!/bin/sh
# Tail batches (the 2026-12 review's H5 / E8).  tests/vfl/gradspy.c logs
# the gradient g = X_0[B]^T r that feature holder 0 (11 features) decrypts
# in every batch, changing nothing: an honest-but-curious holder.  From its
# own rows and the public batch plan (t_vfl --plan) it solves g = X_B^T r
# exactly for every batch of at most 11 rows, and reads each label from the
# sign of the residual.
#   positive control, the old plan (t_vfl --legacy-batches, TEST ONLY):
#     50 rows, batch 44, a tail batch of 6 rows every epoch: every label of
#     every tail is recovered;
#   the real plan, same data and batch size: one batch of 50 rows per epoch
#     (the tail joins it), so no batch can be solved: 0 labels;
#   fedsilo vfl-train refuses a batch below 4 x 11 = 44 rows on every rank
#     (exit 2, the message names the rule).
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_sklearn
SPY="$FS_BUILDDIR/tests/vfl/.libs/libgradspy.so"
T_VFL="$FS_BUILDDIR/tests/vfl/t_vfl"
[ -r "$SPY" ] || hard "missing $SPY (make check builds it)"
$PY "$FS_SRCDIR/tests/vfl/bc.py" "$SK" "$WORK/d.csv" 0 10 50 22 || hard "dataset"
"$FEDSILO" import csv --input "$WORK/d.csv" --label label --out "$WORK/d.h5" >/dev/null || hard "import"
"$FEDSILO" vfl-split --input "$WORK/d.h5" --parts 2 --label-rank 1 --outdir "$WORK/p" \
  --test-fraction 0 >/dev/null || hard "split"
EPOCHS=4

# spy NAME LEGACY FLAGS...: train with the observer; its log in
# $WORK/NAME.grad, the batch plan (legacy or not) in $WORK/NAME.plan.
spy() {
  name=$1; legacy=$2; shift 2
  FS_GRADSPY_OUT="$WORK/$name.grad" LD_PRELOAD="$SPY" run_mpi 2 120 -x FS_GRADSPY_OUT -x LD_PRELOAD \
    "$T_VFL" --data "$WORK/p/part-%d.h5" --label-rank 1 --batch-size 44 --epochs $EPOCHS \
    --lr 0.5 "$@" >"$WORK/$name.log" 2>&1 || { cat "$WORK/$name.log"; fail "$name run failed"; }
  "$T_VFL" --plan 50 44 1 $EPOCHS "$legacy" > "$WORK/$name.plan" || hard "plan"
}
# solve NAME: "determined correct" over the batches the holder can solve.
solve() {
  $PY - "$WORK/$1.grad" "$WORK/$1.plan" "$WORK/p/part-0.h5" "$WORK/p/part-1.h5" <<'PYEOF'
import sys, h5py, numpy as np
grads = [np.array([float(v) for v in l.split()[3:]]) for l in open(sys.argv[1]) if l.split()[1] == "0"]
plan = [[int(v) for v in l.split()[2:]] for l in open(sys.argv[2])]
X = np.array(h5py.File(sys.argv[3], "r")["X"]).astype(float)
y = np.array(h5py.File(sys.argv[4], "r")["y"])
assert len(grads) == len(plan), (len(grads), len(plan))
det = ok = 0
for g, rows in zip(grads, plan):
    XB = X[rows]                       # (|B|, d): g = XB^T r
    if len(rows) > XB.shape[1] or np.linalg.matrix_rank(XB) < len(rows): continue
    r = np.linalg.lstsq(XB.T, g, rcond=None)[0]
    det += len(rows)
    ok += sum(1 for i, ri in zip(rows, r) if (1 if ri < 0 else 0) == y[i])
print(det, ok)
PYEOF
}
spy legacy 1 --legacy-batches
set -- $(solve legacy)
note "old plan (tail of 6 rows): $1 residuals determined, $2 labels right"
[ "$1" -eq $((6 * EPOCHS)) ] && [ "$2" -eq "$1" ] || fail "positive control: expected $((6 * EPOCHS)) labels, got $2 of $1"
spy merged 0
set -- $(solve merged)
note "plan with the tail merged: $1 residuals determined, $2 labels right"
[ "$1" -eq 0 ] || fail "a feature holder can still solve $1 residuals"
[ "$(wc -l < "$WORK/merged.grad")" -eq "$EPOCHS" ] || fail "the observer saw $(wc -l < "$WORK/merged.grad") gradients, expected $EPOCHS"

# The margin: batch 20 (batches of 20 and 30 rows) < 4 x 11 is refused by every
# rank before any key exists.
mkdir -p "$WORK/st"
FS_HOSTILE_RANKS="$WORK/st" run_mpi 2 60 --mca orte_abort_on_non_zero_status 0 -x FS_HOSTILE_RANKS sh "$FS_SRCDIR/tests/hostile/rankwrap.sh" \
  "$FEDSILO" vfl-train --data "$WORK/p/part-%d.h5" --label-rank 1 --batch-size 20 \
  --paillier-bits 1024 --insecure-test-keys yes --insecure-no-auth yes >"$WORK/small.log" 2>&1
grep -q "every batch needs at least 4 x 11 = 44 rows" "$WORK/small.log" \
  || { cat "$WORK/small.log"; fail "no margin message"; }
for r in 0 1; do
  [ "$(cat "$WORK/st/rank-$r" 2>/dev/null)" = 2 ] || { cat "$WORK/small.log"; fail "rank $r did not exit 2"; }
done
exit 0

#!/bin/sh
# What the label holder receives of the feature holders' partial scores
# (the 2026-12 review's M5), 3 ranks: labels on rank 1, feature holders 0
# and 2.  tests/vfl/mitm.c (mode log) records every score message rank 1
# receives; the channel is left unsealed (t_vfl --plain-channel, TEST ONLY)
# so that the log shows the plaintext rank 1 gets.  From the final weights
# (--out) and the test rows the test recomputes each holder's encoded test
# scores z_k = round(2^24 X_k w_k) of the last evaluation:
#   with the pairwise masks: neither message equals its sender's z_k (no
#     more than chance agreement), but their sum mod 2^64 is z_0 + z_2 for
#     every row: rank 1 receives the sum only;
#   positive control without masks (t_vfl --no-score-masks, TEST ONLY): the
#     message of each holder is its own z_k.
# With 2 ranks fedsilo warns that the label holder learns the scores exactly.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_sklearn
MITM="$FS_BUILDDIR/tests/vfl/.libs/libvflmitm.so"
T_VFL="$FS_BUILDDIR/tests/vfl/t_vfl"
[ -r "$MITM" ] || hard "missing $MITM (make check builds it)"
$PY "$FS_SRCDIR/tests/vfl/bc.py" "$SK" "$WORK/d.csv" 0 3 0 30 || hard "dataset"
"$FEDSILO" import csv --input "$WORK/d.csv" --label label --out "$WORK/d.h5" >/dev/null || hard "import"
"$FEDSILO" vfl-split --input "$WORK/d.h5" --parts 3 --label-rank 1 --outdir "$WORK/p" \
  --test-fraction 0.3 --seed 2 >/dev/null || hard "split"

# spy NAME FLAGS...: 3-rank training, rank 1's score messages in $WORK/NAME.msg.
spy() {
  name=$1; shift
  mkdir -p "$WORK/$name"
  FS_MITM=log:1 FS_MITM_OUT="$WORK/$name.msg" LD_PRELOAD="$MITM" run_mpi 3 120 -x FS_MITM \
    -x FS_MITM_OUT -x LD_PRELOAD "$T_VFL" --data "$WORK/p/part-%d.h5" --test "$WORK/p/test-%d.h5" \
    --label-rank 1 --batch-size 40 --epochs 2 --lr 0.3 --out "$WORK/$name" --plain-channel "$@" \
    >"$WORK/$name.log" 2>&1 || { cat "$WORK/$name.log"; fail "$name run failed"; }
}
# check NAME: "eq0 eq2 sum" = fractions of test rows where rank 1 received
# z_0 from rank 0, z_2 from rank 2, and z_0 + z_2 as the sum of both.
check() {
  $PY - "$WORK/$1" "$WORK/$1.msg" "$WORK/p" <<'PYEOF'
import sys, h5py, numpy as np
wdir, msgs, parts = sys.argv[1:4]
M = 1 << 64
def z(k):
    X = np.array(h5py.File("%s/test-%d.h5" % (parts, k), "r")["X"])
    w = [float(l) for l in open("%s/w-%d.txt" % (wdir, k))]
    out = []
    for row in X:                      # the library's order: s += (double)x_j * w_j
        s = 0.0
        for j in range(len(row)): s += float(row[j]) * w[j]
        out.append(int(round(s * 2**24)) % M)
    return out
zk = {0: z(0), 2: z(2)}
n = len(zk[0])
last = {}
for line in open(msgs):
    f = line.split()
    if f[0] == "scores" and int(f[2]) == n: last[int(f[1])] = [int(v, 16) for v in f[3:]]
close = lambda a, b: min((a - b) % M, (b - a) % M) <= 2
eq = [sum(close(a, b) for a, b in zip(last[k], zk[k])) / n for k in (0, 2)]
sm = sum(close((a + b) % M, (c + d) % M) for a, b, c, d in zip(last[0], last[2], zk[0], zk[2])) / n
print("%.4f %.4f %.4f" % (eq[0], eq[1], sm))
PYEOF
}
spy masked
set -- $(check masked) || hard "analysis"
note "masked: rank 1 received z_0 on $1, z_2 on $2 of the test rows; their sum on $3"
$PY -c "import sys; sys.exit(0 if $1 < 0.05 and $2 < 0.05 and $3 > 0.99 else 1)" \
  || fail "masked scores: individual $1 / $2 (want < 0.05), sum $3 (want > 0.99)"
spy plain --no-score-masks
set -- $(check plain) || hard "analysis"
note "unmasked (positive control): rank 1 received z_0 on $1, z_2 on $2 of the test rows"
$PY -c "import sys; sys.exit(0 if $1 > 0.99 and $2 > 0.99 else 1)" \
  || fail "the positive control did not see the individual scores ($1, $2)"
grep -q "one feature holder" "$WORK/masked.log" && fail "3 ranks: the one-feature-holder warning appeared"
# 2 ranks: the warning.
"$FEDSILO" vfl-split --input "$WORK/d.h5" --parts 2 --label-rank 1 --outdir "$WORK/p2" \
  --test-fraction 0 >/dev/null || hard "split 2"
run_mpi 2 120 "$FEDSILO" vfl-train --data "$WORK/p2/part-%d.h5" --label-rank 1 --batch-size 64 \
  --epochs 1 --paillier-bits 1024 --insecure-test-keys yes --insecure-no-auth yes \
  >"$WORK/two.log" 2>&1 || { cat "$WORK/two.log"; fail "2-rank run"; }
grep -q "with one feature holder: the label holder learns its partial scores" "$WORK/two.log" \
  || { cat "$WORK/two.log"; fail "no warning for one feature holder"; }
exit 0

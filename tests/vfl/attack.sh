#!/bin/sh
# Vertical training against an attacker on the MPI transport (the 2026-12
# review's H4 / E3), with tests/vfl/mitm.c as the attacker (LD_PRELOAD):
#   E3 positive control: with the channel protection off (t_vfl
#     --plain-channel, a TEST-ONLY switch) the attacker substitutes its own
#     Paillier key and one-hot "features" for feature holder 0's and reads
#     every residual, hence every label, from the gradients the label
#     holder sends back (checked against the label holder's /y);
#   E3 with the real channel (fedsilo vfl-train, roster-authenticated): the
#     same attacker makes every rank exit non-zero with "message from rank 0
#     to rank 1 failed authentication" and its log holds no residual;
#   a byte flipped in a key message, an upload, a score message and a
#   gradient, a replayed score message, and two feature holders' score
#   messages swapped (3 ranks): every rank exits non-zero, the message names
#   the link and never a byte.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_sklearn
MITM="$FS_BUILDDIR/tests/vfl/.libs/libvflmitm.so"
T_VFL="$FS_BUILDDIR/tests/vfl/t_vfl"
WRAP="$FS_SRCDIR/tests/hostile/rankwrap.sh"
[ -r "$MITM" ] || hard "missing $MITM (make check builds it)"

# 16 rows x (2 + 2) features for 2 ranks, 24 rows x (2 + 2 + 2) for 3 ranks,
# standardized breast-cancer rows of both classes; labels on rank 1.
$PY "$FS_SRCDIR/tests/vfl/bc.py" "$SK" "$WORK/two.csv" 0 30 16 4 || hard "dataset two"
$PY "$FS_SRCDIR/tests/vfl/bc.py" "$SK" "$WORK/three.csv" 0 19 24 6 || hard "dataset three"
for s in two three; do
  "$FEDSILO" import csv --input "$WORK/$s.csv" --label label --out "$WORK/$s.h5" >/dev/null || hard "import $s"
done
"$FEDSILO" vfl-split --input "$WORK/two.h5" --parts 2 --label-rank 1 --outdir "$WORK/p2" \
  --test-fraction 0 >/dev/null || hard "split two"
"$FEDSILO" vfl-split --input "$WORK/three.h5" --parts 3 --label-rank 1 --outdir "$WORK/p3" \
  --test-fraction 0 >/dev/null || hard "split three"
make_consortium "$WORK/k2" 2
make_consortium "$WORK/k3" 3

# attack NP MODE LOG CMD...: run CMD on NP ranks with the attacker in MODE;
# rank statuses in $WORK/st-<case>/rank-<r> (mpirun waits for every rank
# instead of killing the others at the first non-zero exit).
n=0
attack() {
  np=$1; mode=$2; log=$3; shift 3
  n=$((n + 1)); st="$WORK/st-$n"; mkdir -p "$st"; rm -f "$WORK/att.log"
  FS_MITM=$mode FS_MITM_OUT="$WORK/att.log" FS_MITM_BITS=1024 FS_HOSTILE_PRELOAD=$MITM \
  FS_HOSTILE_RANKS=$st run_mpi "$np" 120 --mca orte_abort_on_non_zero_status 0 -x FS_MITM -x FS_MITM_OUT -x FS_MITM_BITS \
    -x FS_HOSTILE_PRELOAD -x FS_HOSTILE_RANKS sh "$WRAP" "$@" >"$log" 2>&1
}
# every_rank_failed NP LOG LINK: all NP ranks exited non-zero, LOG names LINK.
every_rank_failed() {
  r=0
  while [ $r -lt "$1" ]; do
    s=$(cat "$st/rank-$r" 2>/dev/null) || { cat "$2"; fail "case $n: no status of rank $r"; }
    [ "$s" -ne 0 ] || { cat "$2"; fail "case $n: rank $r exited 0"; }
    r=$((r + 1))
  done
  grep -q "message from rank $3 failed authentication" "$2" \
    || { cat "$2"; fail "case $n: no 'message from rank $3 failed authentication'"; }
  ! grep -i "failed authentication" "$2" | grep -qi "byte" || fail "case $n: the message names a byte"
}
# recovered: labels the attacker's log gets right (first residual per row).
recovered() {
  $PY - "$WORK/att.log" "$WORK/p2/part-1.h5" <<'PYEOF'
import sys, os, h5py, numpy as np
y = np.array(h5py.File(sys.argv[2], "r")["y"])
guess = {}
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        f = line.split()
        if f[0] == "row" and int(f[1]) not in guess: guess[int(f[1])] = 1 if float(f[3]) < 0 else 0
print(sum(1 for i, g in guess.items() if i < len(y) and g == y[i]), len(guess))
PYEOF
}
KEY2="--roster $WORK/k2/roster.ini --identity $WORK/k2/site-%d.key"
TRAIN2="--data $WORK/p2/part-%d.h5 --label-rank 1 --batch-size 8 --epochs 2"
CLI2="$FEDSILO vfl-train $TRAIN2 --paillier-bits 1024 --insecure-test-keys yes $KEY2"

# E3, positive control: no channel protection, the attacker reads the labels.
# shellcheck disable=SC2086
attack 2 keysub:0:1 "$WORK/e3-plain.log" "$T_VFL" $TRAIN2 $KEY2 --plain-channel
set -- $(recovered)
note "E3 without the channel (test-only): attacker recovered $1 correct labels of $2 rows"
[ "$2" -eq 16 ] && [ "$1" -ge 15 ] || { cat "$WORK/e3-plain.log"; fail "the positive control did not recover the labels ($1 of $2)"; }

# E3 with the real channel: detected, nothing recovered.
# shellcheck disable=SC2086
attack 2 keysub:0:1 "$WORK/e3.log" $CLI2
every_rank_failed 2 "$WORK/e3.log" "0 to rank 1"
set -- $(recovered)
[ "$2" -eq 0 ] || fail "the attacker recovered $2 residuals through the authenticated channel"
note "E3 with the channel: every rank failed authentication, attacker recovered 0 labels"

# Tampered (key message, upload, scores, gradient) and replayed messages.
for c in "tamper:0:1:7210:1 0 to rank 1" "tamper:0:1:7211:1 0 to rank 1" \
         "tamper:0:1:7212:2 0 to rank 1" "tamper:1:0:7213:1 1 to rank 0" \
         "replay:0:1:7212:2 0 to rank 1"; do
  set -- $c
  # shellcheck disable=SC2086
  attack 2 "$1" "$WORK/case.log" $CLI2
  every_rank_failed 2 "$WORK/case.log" "$2 $3 $4 $5"
  note "$1: every rank stopped, link named"
done
# Swapped: the label holder gets rank 2's scores as rank 0's and vice versa.
# shellcheck disable=SC2086
attack 3 swap:1:0:2:7212:2 "$WORK/swap.log" "$FEDSILO" vfl-train --data "$WORK/p3/part-%d.h5" \
  --label-rank 1 --batch-size 8 --epochs 2 --paillier-bits 1024 --insecure-test-keys yes \
  --roster "$WORK/k3/roster.ini" --identity "$WORK/k3/site-%d.key"
every_rank_failed 3 "$WORK/swap.log" "0 to rank 1"
note "swap: every rank stopped, link named"
# Control: the same job without the attacker succeeds.
# shellcheck disable=SC2086
attack 2 none:0:0 "$WORK/ok.log" $CLI2
grep -q '^final:' "$WORK/ok.log" || { cat "$WORK/ok.log"; fail "the job without attacker failed"; }
grep -q 'authenticated (roster)' "$WORK/ok.log" || fail "no 'authenticated (roster)' in the output"
exit 0

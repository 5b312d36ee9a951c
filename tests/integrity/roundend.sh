#!/bin/sh
# The authenticated round end against an active transport (the security
# review's E7).  tests/integrity/forge.c, preloaded into every rank of a
# 2-rank roster-authenticated `fedsilo train`, adds 2^26 to word 0 of the
# model sum that rank 1 receives (so rank 1 holds another global model) and
# answers the round-end exchange with each rank's own model digest.
#   1. tampering only: the (verified) digests differ, every rank stops with
#      "global models diverged" -- the tampering reaches the models;
#   2. tampering + forged round end: every rank stops with an authentication
#      error naming the peer, no checkpoint; the shim's log shows that the
#      digests it replaced differed from the receivers' own (the forgery was
#      needed, and the tags caught it);
#   3. the same attack on the unauthenticated round end of --aggregation
#      plain: the shim's forgery hides the divergence (exit 0) although the
#      true allreduce said "diverged" -- the forger works, and plain is
#      documented as unauthenticated;
#   4. forging without tampering: nothing to hide, the run passes (the shim
#      does not break the exchange by itself);
#   5. tampering + every error agreement of rank 0 answered "all OK": rank 0,
#      which detected the divergence, still stops (fs_agree never returns
#      less than a rank's own failure: FS_ERR_MPI, the job is aborted) and
#      no checkpoint is written.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
make_fmnist "$WORK/d" 400 100 2 iid
make_consortium "$WORK/k" 2
FORGE="$FS_BUILDDIR/tests/integrity/.libs/libfsforge.so"
[ -r "$FORGE" ] || hard "forge library not built"
WRAP="$FS_SRCDIR/tests/hostile/rankwrap.sh"
base="--data $WORK/d/shards/site-%d.h5 --model mlp:32 --lr 0.05 --rounds 2 --local-steps 2"
auth="--roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key"

# run LABEL SUM HASH [train flags...]: every rank's status in $WORK/LABEL.ranks
# (mpirun lets every rank finish instead of killing the rest after the first
# non-zero exit, so each rank's own status is recorded)
run() {
  label=$1; sum=$2; hash=$3; shift 3
  mkdir -p "$WORK/$label.ranks" "$WORK/$label.log"
  FS_FORGE_RANK=1 FS_FORGE_SUM=$sum FS_FORGE_HASH=$hash FS_FORGE_AGREE= FS_FORGE_LOG="$WORK/$label.log" \
  FS_HOSTILE_PRELOAD="$FORGE" FS_HOSTILE_RANKS="$WORK/$label.ranks" \
    timeout -k 5 120 "$MPIEXEC" $MPIEXEC_FLAGS --mca orte_abort_on_non_zero_status 0 -np 2 -x FS_FORGE_RANK -x FS_FORGE_SUM \
      -x FS_FORGE_HASH -x FS_FORGE_AGREE -x FS_FORGE_LOG -x FS_HOSTILE_PRELOAD -x FS_HOSTILE_RANKS \
      sh "$WRAP" "$FEDSILO" train $base "$@" --out "$WORK/$label" > "$WORK/$label.txt" 2>&1 </dev/null
  rc=$?
  cat "$WORK/$label.txt"
  [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$label: timed out"
}
# every_rank LABEL STATUS: both ranks exited with STATUS
every_rank() {
  for r in 0 1; do
    [ "$(cat "$WORK/$1.ranks/rank-$r" 2>/dev/null)" = "$2" ] \
      || fail "$1: rank $r exited $(cat "$WORK/$1.ranks/rank-$r" 2>/dev/null || echo '?'), expected $2"
  done
}

# 1. tampering only
run tamper 1 0 $auth
every_rank tamper 1
grep -q 'rank 0: global models diverged across ranks after round 1 (rank 1 .*site-1.*) holds another model' "$WORK/tamper.txt" \
  || fail "tamper: no divergence message"
[ "$(cat "$WORK/tamper.log/forge-1.log")" = "sum 25452" ] || fail "tamper: the shim did not alter exactly one model sum"
[ ! -e "$WORK/tamper/checkpoint.h5" ] || fail "tamper: a checkpoint was written"

# 2. tampering + forged round end
run forged 1 1 $auth
every_rank forged 1
grep -q "error.*rank 0: the round-end message of rank 1 ('site-1') failed authentication after round 1" "$WORK/forged.txt" \
  || fail "forged: no agreed authentication error"
grep -q "rank 1: the round-end message of rank 0 ('site-0') failed authentication after round 1" "$WORK/forged.txt" \
  || fail "forged: rank 1 did not detect the forgery itself"
grep -qx 'alltoall differs peer 1' "$WORK/forged.log/forge-0.log" || fail "forged: rank 0's digest was not forged"
grep -qx 'alltoall differs peer 0' "$WORK/forged.log/forge-1.log" || fail "forged: rank 1's digest was not forged"
[ ! -e "$WORK/forged/checkpoint.h5" ] || fail "forged: a checkpoint was written"

# 3. the same attack on the unauthenticated round end (plain aggregation)
run plain 1 1 --aggregation plain
every_rank plain 0
[ "$(grep -c 'allreduce differs' "$WORK/plain.log/forge-0.log")" = 2 ] \
  || fail "plain: the true round-end allreduce did not say 'diverged' in both rounds"
[ "$(grep -c '^sum ' "$WORK/plain.log/forge-1.log")" = 2 ] || fail "plain: the float sum was not altered twice"

# 4. forging without tampering
run honest 0 1 $auth
every_rank honest 0
[ "$(grep -c 'alltoall same' "$WORK/honest.log/forge-0.log")" = 2 ] || fail "honest: the shim did not see 2 round ends"
[ -e "$WORK/honest/checkpoint.h5" ] || fail "honest: no checkpoint"
# 5. a forged "all OK" agreement on the detecting rank (rank 0 aborts the
#    job: rank 1 waits in the agreement's Bcast that rank 0 never joins)
mkdir -p "$WORK/agree.ranks" "$WORK/agree.log"
FS_FORGE_RANK=1 FS_FORGE_SUM=1 FS_FORGE_HASH=0 FS_FORGE_AGREE=0 FS_FORGE_LOG="$WORK/agree.log" \
FS_HOSTILE_PRELOAD="$FORGE" FS_HOSTILE_RANKS="$WORK/agree.ranks" \
  timeout -k 5 120 "$MPIEXEC" $MPIEXEC_FLAGS -np 2 -x FS_FORGE_RANK -x FS_FORGE_SUM \
    -x FS_FORGE_HASH -x FS_FORGE_AGREE -x FS_FORGE_LOG -x FS_HOSTILE_PRELOAD -x FS_HOSTILE_RANKS \
    sh "$WRAP" "$FEDSILO" train $base $auth --out "$WORK/agree" > "$WORK/agree.txt" 2>&1 </dev/null
rc=$?
cat "$WORK/agree.txt"
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "agree: exit $rc"
grep -q 'the error agreement returned a result below this rank.s own failure .*out of step; rank 0: global models diverged' \
  "$WORK/agree.txt" || fail "agree: no message about the forged agreement"
grep -q '^agree ' "$WORK/agree.log/forge-0.log" || fail "agree: the shim did not replace a failing verdict"
[ ! -e "$WORK/agree/checkpoint.h5" ] || fail "agree: a checkpoint was written"
note PASS

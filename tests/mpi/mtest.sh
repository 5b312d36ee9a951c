#!/bin/sh
# The MPI test harness (tests/mpi/mtest.h) on 3 ranks: a pass, a failure on
# one rank (every rank exits non-zero, rank 0 reports the count), and a
# setup failure (status 99, automake's hard error).  See t_mtest.c.
. "${FS_SRCDIR:-.}/tests/lib.sh"
t="$FS_BUILDDIR/tests/mpi/t_mtest"
run_mpi 3 60 "$t" > "$WORK/pass.txt" 2>&1 || { cat "$WORK/pass.txt"; fail "passing run failed"; }
grep -qx 't_mtest (3 ranks): PASS' "$WORK/pass.txt" \
  || { cat "$WORK/pass.txt"; fail "no PASS line"; }
run_mpi 3 60 "$t" fail 2 > "$WORK/fail.txt" 2>&1
st=$?
cat "$WORK/fail.txt"
[ $st -eq 1 ] || fail "a failed check on rank 2 exited $st, not 1"
grep -qx 't_mtest (3 ranks): FAIL: 2 errors on 1 ranks' "$WORK/fail.txt" || fail "no FAIL line"
[ "$(grep -c 'rank 2: .*planted failure' "$WORK/fail.txt")" -eq 2 ] \
  || fail "the two failures are not reported with file:line and rank 2"
grep -q 't_mtest.c:[0-9]*: rank 2: ' "$WORK/fail.txt" || fail "no file:line in the failure report"
run_mpi 3 60 "$t" hard 1 > "$WORK/hard.txt" 2>&1
st=$?
[ $st -eq 99 ] || { cat "$WORK/hard.txt"; fail "mtest_hard exited $st, not 99"; }
grep -q 't_mtest: rank 1: cannot set up: asked to (rank 1)' "$WORK/hard.txt" || fail "no setup message"
note PASS

#!/bin/sh
# No pairwise leak: the pairwise-membership reproduction as a test.  3 ranks:
# rank 0 holds 20 ids, |S0 n S1| = 10, |S0 n S2| = 7, |S0 n S1 n S2| = 3
# (tests/vfl/t_psi_leak.c).  Every message rank 0 sends and receives is
# recorded (tests/vfl/psi_spy.c) and tests/vfl/psi_leak.py tries every
# strategy a curious rank 0 has (own hashes and lists against everything
# received, cross-rank equalities, zero words of the secure sums, flag
# counts).  The new protocol must show nothing beyond the intersection; the
# old protocol (bench/psi_ffdhe.c) through the same analysis must be caught
# with 10 and 7 of rank 0's ids linked to ranks 1 and 2; planted values
# and zeros must be caught too (the analysis' own positive controls).
. "${FS_SRCDIR:-.}/tests/lib.sh"
SPY="$FS_BUILDDIR/tests/vfl/.libs/libpsispy.so"
[ -r "$SPY" ] || hard "$SPY not built"
for mode in new old; do
  mkdir -p "$WORK/$mode"
  PSI_SPY_DIR="$WORK/$mode" LD_PRELOAD="$SPY" run_mpi 3 120 -x PSI_SPY_DIR -x LD_PRELOAD \
    "$FS_BUILDDIR/tests/vfl/t_psi_leak" "$mode" "$WORK/$mode" >"$WORK/$mode.log" 2>&1 \
    || { cat "$WORK/$mode.log"; fail "t_psi_leak $mode"; }
done
[ "$(cat "$WORK/new/result.txt")" = "c0
c1
c2" ] || fail "new: the intersection is not c0 c1 c2 in byte order"
[ "$(sort "$WORK/old/result.txt")" = "c0
c1
c2" ] || fail "old: the intersection is not c0 c1 c2"
/usr/bin/python3 "$FS_SRCDIR/tests/vfl/psi_leak.py" new "$WORK/new" --self-test >"$WORK/a-new.txt" 2>&1
st=$?
cat "$WORK/a-new.txt"
[ $st -eq 0 ] || fail "new protocol: the analysis found a leak or its self-test failed (exit $st)"
grep -q '^A\. own-id values found in messages of rank 1: 0, rank 2: 0, allgathers: 0$' "$WORK/a-new.txt" \
  || fail "new protocol: linkage line missing"
grep -q '^D\. .* 3 zero words; |I| = 3' "$WORK/a-new.txt" || fail "new protocol: zero words != |I|"
grep -q '^self-test: A caught, D caught$' "$WORK/a-new.txt" || fail "analysis self-test"
/usr/bin/python3 "$FS_SRCDIR/tests/vfl/psi_leak.py" old "$WORK/old" >"$WORK/a-old.txt" 2>&1
st=$?
cat "$WORK/a-old.txt"
[ $st -eq 3 ] || fail "old protocol: the analysis did not flag the known leak (exit $st)"
grep -q '^A\. own-id values found in messages of rank 1: 10, rank 2: 7, allgathers: 0$' "$WORK/a-old.txt" \
  || fail "old protocol: expected 10 and 7 ids linked to ranks 1 and 2"
note PASS

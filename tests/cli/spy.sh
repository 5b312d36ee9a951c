#!/bin/sh
# Message-spy test (honest runs): an LD_PRELOAD PMPI library
# (tests/spy/fs_mpispy.c) records every buffer of every MPI call each rank
# makes, and around each secure sum what the rank held raw (its input and
# its fixed-point words before masking); tests/spy/analyze.py checks every
# buffer against every other rank's raw values, the masked contributions for
# correlation, subset sums, mask reuse across sums and across two identical
# jobs, and the exactness of every revealed sum (see its docstring).  Runs:
# `fedsilo train` with a pipelined model over 4 ranks (2 rounds, test and
# validation evaluation, --standardize yes), `fedsilo stats` twice, and
# `fedsilo train --model gbdt` (every histogram sum, 64-bit ring words).  The
# positive controls (the same detector flagging injected leaks) are
# tests/cli/spy_controls.sh.  To spy on another program, add a spy_run line.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
. "$FS_SRCDIR/tests/spy/spylib.sh"
spy_setup
# shellcheck disable=SC2086
spy_run "$WORK/train" "" $SPY_TRAIN --out "$WORK/train/run"
grep -q "round 2/2" "$WORK/train/log.txt" || fail "train did not finish 2 rounds"
spy_verdict train "$WORK/train/spy" || { cat "$WORK/train/verdict.txt"; fail "spy flagged the honest train run"; }
# shellcheck disable=SC2086
spy_run "$WORK/stats1" "" $SPY_STATS
# shellcheck disable=SC2086
spy_run "$WORK/stats2" "" $SPY_STATS
spy_verdict stats "$WORK/stats1/spy" "$WORK/stats2/spy" \
  || { cat "$WORK/stats1/verdict.txt"; fail "spy flagged the honest stats runs"; }
# shellcheck disable=SC2086
spy_run "$WORK/gbdt" "" train --data "$WORK/d/shards/site-%d.h5" --test "$WORK/d/test.h5" \
    --model gbdt --trees 3 --max-depth 3 --max-bins 16 --out "$WORK/gbdt/run"
grep -q "round 3/3" "$WORK/gbdt/log.txt" || fail "gbdt did not finish 3 rounds"
spy_verdict gbdt "$WORK/gbdt/spy" || { cat "$WORK/gbdt/verdict.txt"; fail "spy flagged the honest gbdt run"; }
grep -q "secure sums per rank" "$WORK/train/verdict.txt" || fail "no detector summary"
note PASS

#!/bin/sh
# fedsilo train's local-training bar: on a terminal (script(1) gives mpirun a
# pseudo-terminal) rank 0 redraws "round R/N local [###...] k/K steps" in
# place and erases it before each round line; with mpirun's output in a file
# (a Slurm log) there is no bar and no carriage return, although Open MPI
# still hands the rank a pseudo-terminal.  The round lines are the same.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
if ! command -v script >/dev/null 2>&1; then
  [ "${CI:-}" = true ] && hard "script (util-linux) missing in CI"
  echo "skip: script(1) not found"; exit 77
fi
make_fmnist "$WORK/d" 1200 200 2 iid
# 2 x 30000 tiny steps (~0.7 s each here): long enough (> 0.1 s poll) for the bar to be drawn
args="train --data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model mlp:16 --rounds 2 \
  --local-steps 30000 --batch-size 8 --insecure-no-auth yes"
# shellcheck disable=SC2086
FEDSILO_PROGRESS_DELAY=0 TERM=xterm script -qec "stty cols 120 2>/dev/null; \
  timeout -k 5 180 $MPIEXEC $MPIEXEC_FLAGS -np 2 $FEDSILO $args --out $WORK/tty" /dev/null \
  < /dev/null > "$WORK/tty.raw" 2>&1 || { cat "$WORK/tty.raw"; fail "training on a terminal failed"; }
tr '\r' '\n' < "$WORK/tty.raw" | sed 's/\x1b\[K//g' > "$WORK/tty.txt"
grep -q '^round 1/2 local \[#*\.*\] [0-9]*/30000 steps' "$WORK/tty.txt" \
  || { cat "$WORK/tty.txt"; fail "no local-training bar on a terminal"; }
grep -q '^round 2/2 local \[' "$WORK/tty.txt" || fail "no bar in round 2"
# every round line starts on an erased line: "\r ESC[K round r/N  train_loss"
for r in 1 2; do
  grep -q "$(printf '\033')\[Kround $r/2  train_loss" "$WORK/tty.raw" \
    || { cat -A "$WORK/tty.raw" | head -20; fail "round $r line not printed on a cleaned line"; }
done
# the same run with mpirun's output in a file: no bar, same round lines
# shellcheck disable=SC2086
FEDSILO_PROGRESS_DELAY=0 run_mpi 2 180 "$FEDSILO" $args --out "$WORK/file" > "$WORK/file.txt" 2>&1 \
  || { cat "$WORK/file.txt"; fail "training to a file failed"; }
! grep -q "$(printf '\r')" "$WORK/file.txt" || fail "carriage return in a log file"
! grep -q 'local \[' "$WORK/file.txt" || fail "a bar in a log file"
grep '^round' "$WORK/file.txt" | sed 's/  [0-9.]*s  ETA.*//' > "$WORK/a"
grep -a '^round [0-9]/2  ' "$WORK/tty.txt" | sed 's/  [0-9.]*s  ETA.*//' > "$WORK/b"
[ "$(wc -l < "$WORK/a")" = 2 ] && cmp -s "$WORK/a" "$WORK/b" \
  || { diff "$WORK/a" "$WORK/b"; fail "round lines differ between terminal and file"; }
note "bar: $(grep -a 'local \[' "$WORK/tty.txt" | tail -1)"
note PASS

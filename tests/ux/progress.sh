#!/bin/sh
# The CLI progress helper: plain lines when stderr is a file (Slurm logs),
# an in-place bar on a terminal, nothing for quick phases or when turned
# off, and stdout never touched.
. "${FS_SRCDIR:-.}/tests/lib.sh"
T="$FS_BUILDDIR/tests/ux/t_progress"
[ -x "$T" ] || hard "tests/ux/t_progress not built"
unset FEDSILO_PROGRESS FEDSILO_PROGRESS_INTERVAL FEDSILO_PROGRESS_DELAY

# 1. stderr is a file: lines only (no carriage return, no escape), a heartbeat
#    every interval, the phase change, and a final "done in" line.
FEDSILO_PROGRESS_DELAY=0 FEDSILO_PROGRESS_INTERVAL=0.3 "$T" 60000 1000 25 \
  > "$WORK/lines.out" 2> "$WORK/lines.err" || fail "t_progress (lines) failed"
cat "$WORK/lines.err"
[ "$(cat "$WORK/lines.out")" = "t_progress: finished" ] || fail "stdout changed: $(cat "$WORK/lines.out")"
! grep -q "$(printf '\r')" "$WORK/lines.err" || fail "carriage return in plain-line mode"
! grep -q "$(printf '\033')" "$WORK/lines.err" || fail "escape sequence in plain-line mode"
n=$(grep -c '^fedsilo import: [0-9]*/60000 rows ([0-9]*%) reading images; [0-9.]*s elapsed' "$WORK/lines.err")
[ "$n" -ge 2 ] || fail "expected >= 2 heartbeat lines during 1.5 s at 0.3 s intervals, got $n"
grep -q 'ETA [0-9]' "$WORK/lines.err" || fail "no ETA in the progress lines"
grep -q '^fedsilo import: 60000/60000 rows (100%) writing train.h5;' "$WORK/lines.err" \
  || fail "no line for the phase change"
tail -1 "$WORK/lines.err" | grep -q '^fedsilo import: done in [0-9.]*s$' || fail "no final done line"

# 2. a failure says so
FEDSILO_PROGRESS_DELAY=0 "$T" 10 1 20 fail > /dev/null 2> "$WORK/fail.err" && fail "fail mode exited 0"
tail -1 "$WORK/fail.err" | grep -q '^fedsilo import: failed after ' || fail "no 'failed after' line"

# 3. quick phases print nothing (default 1 s delay); FEDSILO_PROGRESS=off never prints
"$T" 100 10 10 > /dev/null 2> "$WORK/quick.err" || fail "quick run failed"
[ ! -s "$WORK/quick.err" ] || { cat "$WORK/quick.err"; fail "a 0.1 s phase printed progress"; }
FEDSILO_PROGRESS=off FEDSILO_PROGRESS_DELAY=0 "$T" 1000 100 30 > /dev/null 2> "$WORK/off.err" \
  || fail "off run failed"
[ ! -s "$WORK/off.err" ] || fail "FEDSILO_PROGRESS=off printed progress"

# 4. on a terminal (script(1) gives a pseudo-terminal): an in-place bar
if command -v script >/dev/null 2>&1; then
  FEDSILO_PROGRESS_DELAY=0 TERM=xterm COLUMNS=100 script -qec "stty cols 100 rows 40 2>/dev/null; '$T' 30000 1000 30" /dev/null \
    < /dev/null > "$WORK/tty.out" 2>&1 || fail "t_progress under script failed"
  tr '\r' '\n' < "$WORK/tty.out" | sed 's/\x1b\[K//g' > "$WORK/tty.txt"
  grep -q "$(printf '\r')" "$WORK/tty.out" || fail "no carriage return: the bar is not redrawn in place"
  grep -q '^import \[#*\.*\] [0-9]*/30000 rows  reading images' "$WORK/tty.txt" \
    || { cat "$WORK/tty.txt"; fail "no progress bar on a terminal"; }
  grep -q '^import \[#\{20,\}\] 30000/30000 rows  done' "$WORK/tty.txt" \
    || { cat "$WORK/tty.txt"; fail "the bar does not end full with 'done'"; }
  ! grep -q '^fedsilo import:' "$WORK/tty.txt" || fail "plain lines on a terminal"
  awk 'length > 99 { exit 1 }' "$WORK/tty.txt" || fail "a bar line is wider than the terminal"
  note "bar: $(grep 'done' "$WORK/tty.txt" | tail -1)"
else
  [ "${CI:-}" = true ] && hard "script (util-linux) missing in CI"
  note "script(1) not found: terminal mode not checked"
fi
note PASS

#!/bin/sh
# Bad flags and configuration values: exit status 2 and one clear message,
# on every rank, before any data moves.
. "${FS_SRCDIR:-.}/tests/lib.sh"
check() {  # check LABEL REGEX ARGS...
  label=$1; re=$2; shift 2
  run_mpi 2 60 "$FEDSILO" train "$@" > "$WORK/$label.txt" 2>&1
  rc=$?
  [ $rc -eq 2 ] || { cat "$WORK/$label.txt"; fail "$label: exit $rc, expected 2"; }
  grep -Eq "$re" "$WORK/$label.txt" || { cat "$WORK/$label.txt"; fail "$label: no /$re/"; }
}
check unknown_flag "unknown option 'no-such-flag'" --data x --no-such-flag 1
check negative_lr "option 'lr' must be in" --data x --lr -0.1
check zero_rounds "option 'rounds' must be in \[1, " --data x --rounds 0
check bad_choice "must be one of secure\|plain" --data x --aggregation foo
check not_a_number "needs a number, got 'fast'" --data x --lr fast
check no_data "no data source" --rounds 3
check two_placeholders "only placeholder allowed" --data 'a%d%d'
printf '[train]\nlr = 0.1\nrounds = 3\n' > "$WORK/bad.ini"
check wrong_section "bad.ini:3: key 'rounds' belongs in section \[round\]" --config "$WORK/bad.ini" --data x
printf '[train]\nthis is not ini\n' > "$WORK/syntax.ini"
check syntax "syntax.ini:2: syntax error" --config "$WORK/syntax.ini" --data x
check missing_config "cannot read config file" --config "$WORK/nope.ini" --data x
"$FEDSILO" train --help | grep -q -- "--local-epochs" || fail "--help does not list options"
# A diverging model (linear regression, lr 1e6) gives a non-finite loss on
# local training: every rank stops and the message names the rank.
printf 'x1,x2,y\n' > "$WORK/reg.csv"
i=0; while [ $i -lt 60 ]; do printf '%d,%d,%d\n' $i $((i * 3 % 7)) $((i * 100)) >> "$WORK/reg.csv"; i=$((i+1)); done
"$FEDSILO" import csv --input "$WORK/reg.csv" --label y --task regression --out "$WORK/reg.h5" >/dev/null \
  || hard "csv import failed"
"$FEDSILO" split --input "$WORK/reg.h5" --silos 2 --outdir "$WORK/regs" >/dev/null || hard "split failed"
run_mpi 2 60 "$FEDSILO" train --data "$WORK/regs/site-%d.h5" --model linear --lr 1e6 --aggregation plain \
    --momentum 0 --batch-size 8 --rounds 3 --out "$WORK/nan" > "$WORK/nan.txt" 2>&1
rc=$?
cat "$WORK/nan.txt"
[ $rc -eq 1 ] || fail "diverging run: exit $rc, expected 1"
grep -Eq "rank [01].*(not finite|NaN|non-finite)" "$WORK/nan.txt" || fail "NaN message does not name the rank"
[ ! -e "$WORK/nan/checkpoint.h5" ] || fail "a diverged model was checkpointed"
# A statistic beyond the secure sum's range (a squared-error sum > 2^31 on
# huge regression targets) is an error on every rank, never clipped silently.
printf 'x1,y\n' > "$WORK/big.csv"
i=0; while [ $i -lt 40 ]; do printf '%d,%d000000\n' $i $((i + 1)) >> "$WORK/big.csv"; i=$((i+1)); done
"$FEDSILO" import csv --input "$WORK/big.csv" --label y --task regression --out "$WORK/big.h5" >/dev/null \
  || hard "csv import failed"
"$FEDSILO" split --input "$WORK/big.h5" --silos 2 --val-fraction 0.25 --outdir "$WORK/bigs" >/dev/null || hard "split failed"
run_mpi 2 60 "$FEDSILO" train --data "$WORK/bigs/site-%d.h5" --model linear --lr 1e-12 \
    --insecure-no-auth yes --rounds 1 --out "$WORK/big" > "$WORK/big.txt" 2>&1
rc=$?
cat "$WORK/big.txt"
[ $rc -eq 1 ] || fail "out-of-range statistic: exit $rc, expected 1"
grep -Eq "rank [01]: a statistic in round 1 .* is beyond \+-2\^31" "$WORK/big.txt" || fail "no range message"
note PASS

#!/bin/sh
# Walltime safety under mpirun: SIGUSR1 to mpirun (forwarded to every rank)
# makes the ranks finish the round, checkpoint and exit with status 3; a
# rerun with --resume auto finishes and ends bit-identical to an
# uninterrupted run.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
make_fmnist "$WORK/d" 1500 300 3 dirichlet --alpha 0.5
make_consortium "$WORK/k" 3
common="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model mlp:24 --rounds 40
 --local-steps 40 --roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key"
run_mpi 3 300 "$FEDSILO" train $common --out "$WORK/ref" --quiet || fail "reference run failed"

timeout -k 5 300 "$MPIEXEC" $MPIEXEC_FLAGS -np 3 "$FEDSILO" train $common --out "$WORK/run" \
    > "$WORK/a.txt" 2>&1 </dev/null &
pid=$!
i=0
while [ $i -lt 600 ]; do   # wait (<= 60 s) until round 3 is done
  [ -f "$WORK/run/metrics.jsonl" ] && [ "$(wc -l < "$WORK/run/metrics.jsonl")" -ge 3 ] && break
  sleep 0.1; i=$((i + 1))
done
mp=$(pgrep -P $pid | head -1)   # the launcher, child of timeout
[ -n "$mp" ] && kill -USR1 "$mp" 2>/dev/null || fail "mpirun already gone"
wait $pid
rc=$?
cat "$WORK/a.txt"
[ $rc -eq 3 ] || fail "interrupted run: exit $rc, expected 3"
grep -q "stopped on request after round" "$WORK/a.txt" || fail "no stop message"
r=$(h5attr "$WORK/run/checkpoint.h5" round)
n=$(wc -l < "$WORK/run/metrics.jsonl")
note "stopped after round $r of 40 (metrics lines: $n)"
[ "$r" = "$n" ] && [ "$r" -lt 40 ] || fail "checkpoint round $r vs metrics $n"
run_mpi 3 300 "$FEDSILO" train $common --out "$WORK/run" --resume auto --quiet || fail "resume failed"
a=$(h5attr "$WORK/ref/checkpoint.h5" model_hash); b=$(h5attr "$WORK/run/checkpoint.h5" model_hash)
note "model hash reference=$a resumed=$b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "resumed model differs from the uninterrupted run"
[ "$(wc -l < "$WORK/run/metrics.jsonl")" -eq 40 ] || fail "metrics.jsonl does not have 40 rounds"
note PASS

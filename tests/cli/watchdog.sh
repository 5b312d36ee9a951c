#!/bin/sh
# A rank that stops answering without exiting (SIGSTOP: what a lost node
# looks like to its peers; the launcher sees no exit) must not hang the
# job: with --timeout 5 every other rank reports what it was waiting for and
# exits non-zero, and the launcher then ends the job.  The checkpoint on disk
# stays valid.  The same for `fedsilo stats` (and through the same watchdog,
# ridge, vfl-train, psi), whose rank 1 stops itself at its first secure sum
# (test hook FEDSILO_TEST_STOP_RANK): without the watchdog the others would
# wait in that sum for ever when the launcher cannot see the loss (one job
# per site).
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
make_fmnist "$WORK/d" 1500 300 3 iid
common="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model mlp:24 --rounds 500
 --local-steps 20 --insecure-no-auth yes --timeout 5"
start=$(date +%s)
timeout -k 5 120 "$MPIEXEC" $MPIEXEC_FLAGS -np 3 "$FEDSILO" train $common --out "$WORK/run" \
    > "$WORK/a.txt" 2>&1 </dev/null &
pid=$!
i=0
while [ $i -lt 600 ]; do
  [ -f "$WORK/run/metrics.jsonl" ] && [ "$(wc -l < "$WORK/run/metrics.jsonl")" -ge 2 ] && break
  sleep 0.1; i=$((i + 1))
done
# rank 1's process of THIS job (tests run in parallel: match our run dir)
victim=""
for p in $(pgrep -f "$WORK/run"); do
  if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
    case "$(cat /proc/$p/comm)" in fedsilo|lt-fedsilo) victim=$p ;; esac
  fi
done
[ -n "$victim" ] || { kill $pid; fail "could not find rank 1"; }
stopped=$(date +%s)
kill -STOP "$victim"
wait $pid
rc=$?
end=$(date +%s)
kill -KILL "$victim" 2>/dev/null
cat "$WORK/a.txt"
note "exit $rc, $((end - stopped)) s after rank 1 stopped (total $((end - start)) s)"
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "job did not end cleanly (exit $rc)"
[ $((end - stopped)) -le 60 ] || fail "job took more than 60 s to end"
grep -Eq "rank [02]: no progress for [0-9]+ s in .*another rank or its node stopped answering" "$WORK/a.txt" \
  || fail "no watchdog message from a surviving rank"
"$FEDSILO" eval --checkpoint "$WORK/run/checkpoint.h5" --data "$WORK/d/test.h5" || fail "checkpoint corrupt"

# stats: rank 1 stops (SIGSTOP) at its first sum; ranks 0 and 2 must end.
start=$(date +%s)
FEDSILO_TEST_STOP_RANK=1 timeout -k 5 60 "$MPIEXEC" $MPIEXEC_FLAGS -np 3 -x FEDSILO_TEST_STOP_RANK \
    "$FEDSILO" stats --data "$WORK/d/shards/site-%d.h5" --insecure-no-auth yes --timeout 3 \
    --json "$WORK/stats.json" > "$WORK/s.txt" 2>&1 </dev/null
rc=$?
end=$(date +%s)
for p in $(pgrep -f "$WORK/stats.json"); do kill -KILL "$p" 2>/dev/null; done
cat "$WORK/s.txt"
note "stats: exit $rc, $((end - start)) s"
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "stats did not end cleanly (exit $rc)"
grep -Eq "fedsilo stats: error: rank [02]: no progress for [0-9]+ s in .*another rank or its node stopped answering" \
    "$WORK/s.txt" || fail "no watchdog message from a surviving stats rank"
note PASS

#!/bin/bash
# HPC tier: walltime and requeue on a real Slurm.  jobs/federation-requeue.sbatch
# is submitted unchanged (3 institutions, secure aggregation) on a private
# single-host cluster, then stopped twice while it trains:
#   1. `scancel --batch -s USR1`: SIGUSR1 to the batch shell only, exactly what
#      `#SBATCH --signal=B:USR1@120` delivers before the time limit.  The trap
#      forwards it to srun, srun to the ranks; fedsilo finishes the round,
#      checkpoints and exits 3; the script requeues the job.
#   2. `scancel -s USR1` (no --batch): the signal goes straight to the step's
#      tasks; same outcome, second requeue.
# After each stop: the job is pending again (Restarts grows), job.txt records
# status 3, the checkpoint is at the last metrics round and readable.  The
# requeue hold (Slurm makes a requeued job eligible ~2 min later) is skipped
# with `scontrol update StartTime=now`.  The third allocation resumes with
# --resume auto and finishes; its model and metrics are bit-identical to an
# uninterrupted run of the same configuration under plain mpirun.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"

SLURM_SHOW_LOGS="$WORK/job.out $WORK/run/job.txt"
. "$FS_SRCDIR/tests/slurm.sh"
t0=$(date +%s)
slurm_up 26000 31999

make_fmnist "$WORK/d" 1200 300 3 dirichlet --alpha 0.5
make_consortium "$WORK/k" 3
ROUNDS=30
export FEDSILO DATA="$WORK/d/shards/site-%d.h5" TEST="$WORK/d/test.h5" \
       ROSTER="$WORK/k/roster.ini" IDENTITY="$WORK/k/site-%d.key" MODEL=mlp:16 ROUNDS \
       EXTRA_ARGS="--local-epochs 2 --quiet" RUN_DIR=$WORK/run
unset CONFIG MAX_RESTARTS
RUN=$RUN_DIR

last_round() { sed -n 's/^{"round": \([0-9]*\).*/\1/p' "$RUN/metrics.jsonl" 2>/dev/null | tail -n 1; }
field() { timeout 10 scontrol -o show job "$jid" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s
wait_for() {
  tmo=$1; what=$2; shift 2
  end=$(( $(date +%s) + tmo ))
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${tmo}s waiting for $what"
    sleep 0.2
  done
}
rounds_at_least() { r=$(last_round); [ "${r:-0}" -ge "$1" ]; }
requeued() { [ "$(field Restarts)" = "$1" ] && [ "$(field JobState)" = PENDING ]; }
running() { [ "$(field JobState)" = RUNNING ]; }
# The previous allocation's step must be gone before the job restarts on the
# same node: its PMIx socket (stepd.slurm.pmix.JOB.0) would make the new step
# fail ("Address already in use").  Real clusters never see this, because a
# requeued job is held ~2 min; the test skips that hold, so it waits here.
steps_gone() {
  for f in "$SLURM_DIR"/spool/n*/*_"$jid".* "$SLURM_DIR"/spool/n*/*pmix."$jid".*; do
    [ -e "$f" ] && return 1
  done
  [ -z "$(timeout 10 sinfo -h -N -t COMPLETING -o %N 2>/dev/null)" ]
}
release() {
  wait_for 60 "the old step of job $jid to end" steps_gone
  # slurmd revokes the killed allocation's credential with 1 s resolution: a
  # restart within the same second is refused ("Job credential revoked").
  sleep 2
  timeout 10 scontrol update JobId="$jid" StartTime=now || fail "cannot release the requeue hold"
}
finished() { grep -q "fedsilo exit status 0 (allocation $1)" "$RUN/job.txt" 2>/dev/null; }

# check_stop ALLOCATION: after a requeue
check_stop() {
  grep -q "fedsilo exit status 3 (allocation $1)" "$RUN/job.txt" || { cat "$RUN/job.txt"; fail "allocation $1 did not end with status 3"; }
  r=$(last_round); c=$(h5attr "$RUN/checkpoint.h5" round)
  [ "$c" = "$r" ] || fail "allocation $1: checkpoint round $c but metrics end at $r"
  [ "$c" -lt "$ROUNDS" ] || fail "allocation $1: the run finished before the signal (make rounds slower)"
  "$FEDSILO" eval --checkpoint "$RUN/checkpoint.h5" --data "$TEST" >/dev/null || fail "checkpoint unreadable"
  grep -q "stopped after the checkpoint of round $c; requeueing" "$RUN/job.txt" || fail "no requeue line for round $c"
  echo "$c"
}

jid=$(cd "$WORK" && timeout 30 sbatch --parsable --export=ALL -O --ntasks=3 -o "$WORK/job.out" \
      "$FS_SRCDIR/jobs/federation-requeue.sbatch" </dev/null) || hard "sbatch failed"
note "job $jid submitted"

# 1. walltime path: USR1 to the batch shell (= --signal=B:USR1@T)
wait_for 60 "2 rounds of allocation 1" rounds_at_least 2
ts=$(date +%s.%N)
timeout 10 scancel --batch --signal=USR1 "$jid" || fail "scancel --batch failed"
wait_for 60 "requeue after the batch-shell USR1" requeued 1
r1=$(check_stop 1) || exit 1
note "batch-shell USR1: stopped after round $r1, status 3, requeued in $(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
grep -q 'batch shell: got SIGUSR1' "$WORK/job.out" || fail "the batch shell's trap did not run"

# 2. USR1 to the step's tasks directly
release
wait_for 60 "allocation 2 to run" running
wait_for 60 "2 more rounds in allocation 2" rounds_at_least $((r1 + 2))
timeout 10 scancel --signal=USR1 "$jid" || fail "scancel -s USR1 failed"
wait_for 60 "requeue after the step USR1" requeued 2
r2=$(check_stop 2) || exit 1
[ "$r2" -gt "$r1" ] || fail "allocation 2 did not resume past round $r1"
note "step USR1: stopped after round $r2, status 3, requeued"

# 3. last allocation: resume to the end
release
wait_for 120 "allocation 3 to finish" finished 3
grep -q "resum" "$WORK/job.out" || note "(no resume message in the log)"
[ "$(last_round)" = "$ROUNDS" ] || fail "final round $(last_round), want $ROUNDS"
[ "$(h5attr "$RUN/checkpoint.h5" round)" = "$ROUNDS" ] || fail "final checkpoint not at round $ROUNDS"
[ "$(grep -c '^== .* allocation ' "$RUN/job.txt")" = 3 ] || fail "expected 3 allocations in job.txt"

# reference: the same configuration, uninterrupted, under plain mpirun
# shellcheck disable=SC2086
run_mpi 3 120 "$FEDSILO" train --data "$DATA" --test "$TEST" --model "$MODEL" --rounds "$ROUNDS" \
  --roster "$ROSTER" --identity "$IDENTITY" $EXTRA_ARGS --out "$WORK/ref" > "$WORK/ref.txt" 2>&1 ||
  { cat "$WORK/ref.txt"; fail "reference run failed"; }
a=$(h5attr "$WORK/ref/checkpoint.h5" model_hash); b=$(h5attr "$RUN/checkpoint.h5" model_hash)
note "model_hash uninterrupted=$a requeued(2 stops)=$b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "requeued model differs from the uninterrupted one"
h5dump -d /params "$WORK/ref/checkpoint.h5" | grep -v '^HDF5' > "$WORK/p1"
h5dump -d /params "$RUN/checkpoint.h5" | grep -v '^HDF5' > "$WORK/p2"
cmp -s "$WORK/p1" "$WORK/p2" || fail "parameter bytes differ"
sed 's/"seconds": [^,]*,//' "$WORK/ref/metrics.jsonl" > "$WORK/m1"
sed 's/"seconds": [^,]*,//' "$RUN/metrics.jsonl" > "$WORK/m2"
cmp -s "$WORK/m1" "$WORK/m2" || { diff "$WORK/m1" "$WORK/m2"; fail "metrics differ"; }
note "PASS in $(( $(date +%s) - t0 )) s"

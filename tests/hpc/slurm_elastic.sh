#!/bin/bash
# HPC tier: losing an institution under Slurm costs one round, not the job,
# and nobody has to act.  jobs/federation-elastic.sbatch is submitted
# unchanged with sbatch on a private single-host cluster: 4 institutions,
# secure aggregation (roster-authenticated), a checkpoint every round.  The
# test hook FEDSILO_TEST_KILL_MEMBER=2:3 makes site-2's rank kill itself with
# SIGKILL at the start of round 3.  Asserts:
#   - the job exits 0 by itself (sbatch --wait): the script identified site-2
#     from the exit records (exit/JOB-R/step-0/site-2: SIGKILL, no signal from the
#     launcher; the others' wrappers got srun's SIGTERM and ended their
#     fedsilo with SIGKILL at once), relaunched once
#     in the same allocation with --exclude site-2 and 3 tasks, and logged
#     the relaunch and the time from the failure to its first round (the
#     first metrics line without site-2: round c+1 = 3);
#   - metrics.jsonl names 4 members in rounds 1..c and 3 after; the
#     checkpoint's membership history is "1-c all four", "c+1-R three";
#   - the final model (model_hash, parameter bytes) and metrics.jsonl (minus
#     timings) equal a reference under plain mpirun with the same memberships
#     per round: 4 institutions for c rounds, resumed by the 3 to round R;
#     a resubmission with the same RUN_DIR keeps site-2 out (RUN_DIR/excluded);
#   - the same job with --min-institutions 4: the relaunch is refused by
#     fedsilo, the job ends with status 2 and a message naming the guard, and
#     the checkpoint is still round c's with the four members only;
#   - with MAX_RELAUNCHES=0 the job names site-2 and ends with status 4;
#     with a bad option (every rank exits 2 by itself, no signal) it is not
#     relaunched and ends with fedsilo's status 2;
#   - SIGUSR1 to the batch shell (the walltime signal) reaches every fedsilo
#     through srun and the wrappers: checkpoint, status 3, and with
#     MAX_RESTARTS=0 no requeue (the requeue itself is the code of
#     federation-requeue.sbatch, tested by slurm_walltime.sh).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
. "$FS_SRCDIR/tests/hpc/membership_lib.sh"

SLURM_SHOW_LOGS="$WORK/ok/job.out $WORK/ok-run/job.txt $WORK/few-run/job.txt $WORK/max-run/job.txt $WORK/bad-run/job.txt $WORK/stop-run/job.txt"
. "$FS_SRCDIR/tests/slurm.sh"
t0=$(date +%s)
slurm_up 14000 19999

R=5
make_fmnist "$WORK/d" 1200 300 4 dirichlet --alpha 0.5
make_consortium "$WORK/k" 4
common="--local-epochs 2 --eval-every 1 --quiet --public-counts yes"
export FEDSILO DATA="$WORK/d/shards/site-%d.h5" TEST="$WORK/d/test.h5" \
       ROSTER="$WORK/k/roster.ini" IDENTITY="$WORK/k/site-%d.key" MODEL=mlp:16 ROUNDS=$R \
       FEDSILO_TEST_KILL_MEMBER=2:3 MAX_RELAUNCHES=2
unset CONFIG EXCLUDE
ALL4='site-0,site-1,site-2,site-3' ALL3='site-0,site-1,site-3'

# five jobs at once (3 virtual nodes): the one that continues, the one whose
# relaunch the --min-institutions guard refuses, one with MAX_RELAUNCHES=0,
# one with a bad option, one stopped by USR1
submit() {  # submit NAME EXTRA_ARGS [MAX_RELAUNCHES [VAR=VALUE...]]
  mkdir -p "$WORK/$1"
  # shellcheck disable=SC2086
  (cd "$WORK/$1" && env RUN_DIR="$WORK/$1-run" EXTRA_ARGS="$common $2" MAX_RELAUNCHES="${3:-2}" ${4:-} timeout -k 5 150 \
     sbatch --wait --export=ALL -O --ntasks=4 -o job.out "$FS_SRCDIR/jobs/federation-elastic.sbatch" \
     </dev/null) > "$WORK/$1.sbatch" 2>&1
}
submit ok "" & p1=$!
submit few "--min-institutions 4" & p2=$!
submit max "" 0 & p3=$!
submit bad "--lr -1" & p4=$!
# the walltime signal (as --signal=B:USR1 sends it) through the task wrappers
submit stop "" 2 "FEDSILO_TEST_KILL_MEMBER= MAX_RESTARTS=0 ROUNDS=60" & p5=$!
until sjid=$(sed -n 's/^Submitted batch job //p' "$WORK/stop.sbatch" 2>/dev/null) && [ -n "$sjid" ] &&
      [ "$(grep -c '"round"' "$WORK/stop-run/metrics.jsonl" 2>/dev/null)" -ge 2 ]; do
  kill -0 $p5 2>/dev/null || break; sleep 0.2
done
timeout 10 scancel --batch --signal=USR1 "$sjid" || note "scancel --batch -s USR1 $sjid failed"
wait $p1; rc1=$?
wait $p2; rc2=$?
wait $p3; rc3=$?
wait $p4; rc4=$?
wait $p5; rc5=$?

# jobid: the Slurm job of the run directory $RUN (exit records are per job)
jobid() { ls "$RUN/exit"; }

# 1. the job that continues without site-2.  Open MPI 4.1.4's TCP wire-up
# race between virtual nodes (see slurm_jobs.sh) is retried once, loudly.
RUN=$WORK/ok-run
if [ "$rc1" != 0 ] && grep -q 'failed to TCP connect' "$WORK/ok/job.out" 2>/dev/null; then
  note "RETRY ok: Open MPI TCP wire-up race (exit $rc1)"
  rm -rf "$RUN"; submit ok ""; rc1=$?
fi
[ "$rc1" = 0 ] || { cat "$WORK/ok.sbatch" "$WORK/ok/job.out" "$RUN/job.txt"; fail "elastic job: sbatch --wait gave $rc1, want 0"; }
grep -q 'signal=KILL launcher_signal=none' "$RUN/exit/$(jobid)/step-0/site-2" || { cat "$RUN/exit/$(jobid)"/step-0/*; fail "no SIGKILL record for site-2"; }
for k in 0 1 3; do   # the survivors: srun's SIGTERM, then their wrappers' SIGKILL (not KillWait's)
  grep -q 'signal=KILL launcher_signal=TERM sent=KILL' "$RUN/exit/$(jobid)/step-0/site-$k" ||
    { cat "$RUN/exit/$(jobid)"/step-0/*; fail "site-$k was not ended by its wrapper after srun's SIGTERM"; }
done
grep -q 'institution site-2 failed (its fedsilo was ended by a signal' "$RUN/job.txt" || fail "job.txt does not name site-2 as failed"
grep -q "relaunch 1 of at most 2: without site-2 (--exclude site-2), 3 institutions" "$RUN/job.txt" ||
  { cat "$RUN/job.txt"; fail "no relaunch line"; }
grep -q "step 1: 3 institutions: $ALL3" "$RUN/job.txt" || fail "step 1 does not run the three others"
[ "$(grep -c '^relaunch [0-9]' "$RUN/job.txt")" = 1 ] || fail "not exactly one relaunch"
grep -q 'fedsilo exit status 0 (step 1)' "$RUN/job.txt" || fail "step 1 did not finish"
line=$(grep '^relaunch 1: round [0-9]*, the first without site-2, completed' "$RUN/job.txt") ||
  { cat "$RUN/job.txt"; fail "no relaunch timing line"; }
c=$(( $(echo "$line" | sed -n 's/^relaunch 1: round \([0-9]*\),.*/\1/p') - 1 ))
dt=$(echo "$line" | sed -n 's/.* completed \([0-9.]*\) s after .*/\1/p')
[ "$c" = 2 ] || fail "the relaunch's first round is $((c + 1)), want 3 (site-2 died at the start of round 3)"
grep -q "membership change after round $c: $ALL4 -> $ALL3" "$RUN/exit/$(jobid)/step-1.out" || fail "no membership change log"

check_membership "$RUN" "$c" "$R" "$ALL4" "$ALL3"

# the reference: the same memberships per round, under mpirun, no kill
unset FEDSILO_TEST_KILL_MEMBER
ref="--data $DATA --test $TEST --model $MODEL --roster $ROSTER --identity $IDENTITY --membership elastic
 --checkpoint-every 1 --resume auto $common --out $WORK/ref"
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $ref --rounds "$c" > "$WORK/ref4.txt" 2>&1 ||
  { cat "$WORK/ref4.txt"; fail "reference rounds 1-$c (4 institutions) failed"; }
# shellcheck disable=SC2086
run_mpi 3 120 "$FEDSILO" train $ref --rounds $R --exclude site-2 > "$WORK/ref3.txt" 2>&1 ||
  { cat "$WORK/ref3.txt"; fail "reference rounds $((c + 1))-$R (3 institutions) failed"; }
h=$(h5attr "$RUN/checkpoint.h5" model_hash); hr=$(h5attr "$WORK/ref/checkpoint.h5" model_hash)
[ -n "$h" ] && [ "$h" = "$hr" ] || fail "model_hash $h of the relaunched job != reference $hr"
cmp -s <(h5dump -d /params "$RUN/checkpoint.h5" | grep -v '^HDF5') \
       <(h5dump -d /params "$WORK/ref/checkpoint.h5" | grep -v '^HDF5') || fail "parameter bytes differ"
cmp -s <(sed 's/"seconds": [^,]*,//' "$RUN/metrics.jsonl") <(sed 's/"seconds": [^,]*,//' "$WORK/ref/metrics.jsonl") ||
  { diff <(sed 's/"seconds": [^,]*,//' "$RUN/metrics.jsonl") <(sed 's/"seconds": [^,]*,//' "$WORK/ref/metrics.jsonl")
    fail "metrics.jsonl differs from the reference's"; }
grep -v '^srun\|^OPENBLAS' "$RUN/job.txt" | sed 's/^/  job.txt: /'; sed 's/^/  /' "$RUN/exit/$(jobid)"/step-0/*
note "site-2 SIGKILLed at the start of round 3; relaunched with 3 from round $c; first new round ${dt}s after the failure; final model_hash $h = reference"

# a resubmission with the same RUN_DIR (one more round) keeps site-2 out:
# RUN_DIR/excluded, written by the relaunch
[ "$(cat "$RUN/excluded")" = site-2 ] || fail "RUN_DIR/excluded is not 'site-2'"
ROUNDS=$((R + 1)) submit ok "" || { cat "$RUN/job.txt"; fail "resubmission failed"; }
grep -q "excluding site-2 (lost earlier in this run directory)" "$RUN/job.txt" || fail "resubmission: no excluded line"
case $(sed -n "$((R + 1))p" "$RUN/metrics.jsonl") in
  *"\"round\": $((R + 1)),"*'"members": ["site-0", "site-1", "site-3"]'*) ;;
  *) fail "resubmission: round $((R + 1)) not trained by the three" ;;
esac

# 2. the relaunch that --min-institutions 4 refuses
RUN=$WORK/few-run
[ "$rc2" = 2 ] || { cat "$WORK/few.sbatch" "$WORK/few/job.out" "$RUN/job.txt"; fail "guarded job: sbatch --wait gave $rc2, want 2"; }
grep -q 'institution site-2 failed' "$RUN/job.txt" || fail "guarded job: site-2 not identified"
grep -q 'fedsilo refused the relaunch without site-2 (status 2): .*fewer than --min-institutions 4' "$RUN/job.txt" ||
  { cat "$RUN/job.txt" "$RUN/exit/$(jobid)/step-1.out"; fail "guarded job: no refusal message naming --min-institutions"; }
[ "$(h5attr "$RUN/checkpoint.h5" round)" = "$c" ] || fail "guarded job: checkpoint not at round $c"
hist=$(h5dump -e -a /membership "$RUN/checkpoint.h5" | sed -n 's/^ *(0): *"\(.*\)"$/\1/p')
[ "$hist" = "1-$c $ALL4\\n" ] || fail "guarded job: membership history '$hist'"
note "--min-institutions 4: relaunch refused, job status 2: $(grep -m1 'refused the relaunch' "$RUN/job.txt")"

# 3. MAX_RELAUNCHES=0: site-2 is identified, nothing is relaunched, status 4
RUN=$WORK/max-run
[ "$rc3" = 4 ] || { cat "$WORK/max.sbatch" "$RUN/job.txt"; fail "MAX_RELAUNCHES=0: sbatch --wait gave $rc3, want 4"; }
grep -q 'institution site-2 failed; not relaunching: MAX_RELAUNCHES=0 reached' "$RUN/job.txt" ||
  { cat "$RUN/job.txt"; fail "MAX_RELAUNCHES=0: no message"; }
! grep -q '^== .* step 1' "$RUN/job.txt" || fail "MAX_RELAUNCHES=0: a step 1 ran"

# 4. a bad option: every rank exits 2 by itself; that is no lost institution
RUN=$WORK/bad-run
[ "$rc4" = 2 ] || { cat "$WORK/bad.sbatch" "$RUN/job.txt"; fail "bad option: sbatch --wait gave $rc4, want 2"; }
grep -q 'fedsilo stopped the federation itself (status 2): .*lr.*; not relaunching' "$RUN/job.txt" ||
  { cat "$RUN/job.txt"; fail "bad option: no 'not relaunching' message naming --lr"; }
grep -q 'status=2 signal=none' "$RUN/exit/$(jobid)"/step-0/* || fail "bad option: no record of fedsilo's status 2"
! grep -q ' signal=[A-Z]' "$RUN/exit/$(jobid)"/step-0/* || fail "bad option: a record shows a signal"
note "MAX_RELAUNCHES=0: status 4, not relaunched; a bad option: status 2, not relaunched"

# 5. USR1 to the batch shell: forwarded to srun and by the wrappers to
# fedsilo, which checkpoints and exits 3; MAX_RESTARTS=0: no requeue, status 3
RUN=$WORK/stop-run
[ "$rc5" = 3 ] || { cat "$WORK/stop.sbatch" "$RUN/job.txt"; fail "USR1: sbatch --wait gave $rc5, want 3"; }
grep -q 'not requeueing: MAX_RESTARTS=0 reached' "$RUN/job.txt" || { cat "$RUN/job.txt"; fail "USR1: no requeue message"; }
[ "$(cat "$RUN/exit/$(jobid)"/step-0/* | grep -c 'status=3 signal=none launcher_signal=USR1 sent=USR1')" = 4 ] ||
  { cat "$RUN/exit/$(jobid)"/step-0/*; fail "USR1: not every task forwarded the signal and ended with 3"; }
c=$(h5attr "$RUN/checkpoint.h5" round)
[ "$c" = "$(grep -c '"round"' "$RUN/metrics.jsonl")" ] && [ "$c" -lt 60 ] || fail "USR1: checkpoint round $c"
note "USR1 to the batch shell: every task stopped after the checkpoint of round $c, status 3, not requeued (MAX_RESTARTS=0)"
note "PASS in $(( $(date +%s) - t0 )) s"

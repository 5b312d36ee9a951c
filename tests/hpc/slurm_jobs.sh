#!/bin/bash
# HPC tier: the three batch scripts of jobs/ on a real Slurm.  A private
# single-host cluster (munged + slurmctld + 3 slurmd virtual nodes, unique
# port and state dir) is started with tests/infra/slurm-up.sh and always torn
# down.  Each script is submitted unchanged with `sbatch --wait` on a small
# secure (roster-authenticated) 3-institution federation, and must:
#   - exit 0 (sbatch --wait returns the job's exit status);
#   - leave a run directory with config.ini (roster in it), metrics.jsonl with
#     every round, a checkpoint at the last round that `fedsilo eval` reads,
#     git.txt (git describe of the source tree), ldd.txt (libmpi, nothing
#     "not found") and job.txt (multi-node: the 3 nodes n[1-3]);
#   - produce the same model (model_hash) as the others: same config, same
#     3 ranks, whatever the launcher layout.
# A job with a bad option must end with fedsilo's status 2.  A task killed
# with kill -9 must end the whole job (srun --kill-on-bad-exit) within 30 s,
# non-zero, with srun naming the dead task.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"

. "$FS_SRCDIR/tests/slurm.sh"
t0=$(date +%s)
slurm_up 20000 25999

make_fmnist "$WORK/d" 1200 300 3 dirichlet --alpha 0.5
make_consortium "$WORK/k" 3
export FEDSILO DATA="$WORK/d/shards/site-%d.h5" TEST="$WORK/d/test.h5" \
       ROSTER="$WORK/k/roster.ini" IDENTITY="$WORK/k/site-%d.key" MODEL=mlp:16 ROUNDS=4
unset RUN_DIR EXTRA_ARGS CONFIG
JOBS=$FS_SRCDIR/jobs

# submit NAME SBATCH-FLAGS...: sbatch --wait in $WORK/NAME (the submit dir).
# Open MPI 4.1.4's TCP BTL (the only safe BTL between virtual nodes that share
# a hostname) rarely loses a wire-up race on loopback under load: "failed to
# TCP connect ... Operation now in progress (115)", then a segfault.  That
# signature, and only it, is retried once, loudly.
submit() {
  name=$1; shift
  for try in 1 2; do
    mkdir -p "$WORK/$name"
    (cd "$WORK/$name" && timeout -k 5 180 sbatch --wait --export=ALL -o job.out "$@" </dev/null) \
      > "$WORK/$name.sbatch" 2>&1
    rc=$?
    [ "$rc" != 0 ] && [ "$try" = 1 ] && grep -q 'failed to TCP connect' "$WORK/$name/job.out" 2>/dev/null || return $rc
    note "RETRY $name: Open MPI TCP wire-up race (exit $rc); log: $(grep -m1 'connect() to' "$WORK/$name/job.out")"
    rm -rf "${WORK:?}/$name" ${RUN_DIR:+"$RUN_DIR"}
  done
}

# check_run NAME DIR: the run directory of a successful job
check_run() {
  name=$1; dir=$2
  [ -s "$dir/config.ini" ] || fail "$name: no config.ini in $dir"
  grep -q "^roster = $ROSTER" "$dir/config.ini" || fail "$name: config.ini has no roster"
  [ "$(grep -c '"round"' "$dir/metrics.jsonl")" = "$ROUNDS" ] || fail "$name: metrics.jsonl lacks rounds"
  [ "$(h5attr "$dir/checkpoint.h5" round)" = "$ROUNDS" ] || fail "$name: checkpoint not at round $ROUNDS"
  "$FEDSILO" eval --checkpoint "$dir/checkpoint.h5" --data "$TEST" >/dev/null \
    || fail "$name: fedsilo eval cannot read the checkpoint"
  grep -q 'libmpi' "$dir/ldd.txt" || fail "$name: ldd.txt does not list libmpi"
  ! grep -q 'not found' "$dir/ldd.txt" || { cat "$dir/ldd.txt"; fail "$name: ldd.txt: library not found"; }
  [ -s "$dir/git.txt" ] || fail "$name: no git.txt"
  if want=$(git -C "$FS_SRCDIR" describe --always --dirty 2>/dev/null); then
    grep -qx "$want" "$dir/git.txt" || { cat "$dir/git.txt"; fail "$name: git.txt is not '$want'"; }
  fi
  grep -q 'fedsilo exit status 0' "$dir/job.txt" || fail "$name: job.txt lacks the exit status"
  h5attr "$dir/checkpoint.h5" model_hash
}

# 1. single node: 3 ranks on one node (6 > 2 declared CPUs would need -O too)
submit single -O --ntasks=3 "$JOBS/federation-single-node.sbatch" ||
  { cat "$WORK/single.sbatch" "$WORK/single/job.out"; fail "single-node job failed"; }
jid=$(sed -n 's/^Submitted batch job //p' "$WORK/single.sbatch")
h1=$(check_run single "$WORK/single/runs/$jid")     # default RUN_DIR=runs/$SLURM_JOB_ID
grep -q "on n[1-3]: 3 tasks" "$WORK/single/runs/$jid/job.txt" || fail "single-node job not on one node"
note "single-node job $jid: ok, model_hash $h1"

# 2. one institution per node
RUN_DIR=$WORK/multi-run submit multi "$JOBS/federation-multi-node.sbatch" ||
  { cat "$WORK/multi.sbatch" "$WORK/multi/job.out"; fail "multi-node job failed"; }
h2=$(check_run multi "$WORK/multi-run")
grep -q 'on n\[1-3\]: 3 tasks' "$WORK/multi-run/job.txt" || { cat "$WORK/multi-run/job.txt"; fail "not one rank per node"; }
note "multi-node job: ok, model_hash $h2"

# 3. requeue-friendly script, no signal: runs to the end once, no requeue
RUN_DIR=$WORK/long-run submit long -O --ntasks=3 "$JOBS/federation-requeue.sbatch" ||
  { cat "$WORK/long.sbatch" "$WORK/long/job.out"; fail "requeue job failed"; }
h3=$(check_run long "$WORK/long-run")
grep -q 'requeueing' "$WORK/long-run/job.txt" && fail "unsignalled job requeued itself"
note "requeue-friendly job: ok, model_hash $h3"

[ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] || fail "models differ: $h1 $h2 $h3"

# 4. a bad option: the job's exit status is fedsilo's 2, and nothing hangs
EXTRA_ARGS="--lr -1" RUN_DIR=$WORK/bad-run submit bad -O --ntasks=3 "$JOBS/federation-single-node.sbatch"
rc=$?
[ "$rc" = 2 ] || { cat "$WORK/bad.sbatch" "$WORK/bad/job.out"; fail "bad option: sbatch --wait gave $rc, want 2"; }
grep -q 'lr' "$WORK/bad/job.out" || fail "bad option: no message naming --lr"
note "bad option: job exit status 2"
# 5. kill -9 of one task: --kill-on-bad-exit ends the step, the job fails.
# The survivors are blocked in a collective; Slurm sends them SIGTERM, then
# SIGKILL after KillWait (5 s on this test cluster, 30 s by default).
# task_pid JOBID PROCID: the fedsilo task of our cluster with that rank
task_pid() {
  for p in /proc/[0-9]*; do
    case "$(readlink "$p/exe" 2>/dev/null)" in */fedsilo|*/lt-fedsilo) ;; *) continue ;; esac
    env=$( { tr '\0' '\n' < "$p/environ"; } 2>/dev/null) || continue
    printf '%s\n' "$env" | grep -qx "SLURM_CONF=$SLURM_CONF" || continue
    printf '%s\n' "$env" | grep -qx "SLURM_JOB_ID=$1" || continue
    printf '%s\n' "$env" | grep -qx "SLURM_PROCID=$2" || continue
    echo "${p#/proc/}"; return 0
  done
  return 1
}
mkdir -p "$WORK/kill"
jid=$(cd "$WORK/kill" && ROUNDS=60 EXTRA_ARGS="--local-epochs 10 --quiet" RUN_DIR=$WORK/kill-run \
      timeout 30 sbatch --parsable --export=ALL -O --ntasks=3 -o job.out \
      "$JOBS/federation-single-node.sbatch" </dev/null) || hard "sbatch failed"
end=$(( $(date +%s) + 60 ))
until [ "$(cat "$WORK/kill-run/metrics.jsonl" 2>/dev/null | grep -c '"round"')" -ge 2 ]; do
  [ "$(date +%s)" -lt "$end" ] || fail "kill job: no progress"; sleep 0.1
done
vpid=$(task_pid "$jid" 1) || fail "kill job: task 1 not found"
kill -9 "$vpid"; tk=$(date +%s.%N)
end=$(( $(date +%s) + 30 ))
until grep -q 'fedsilo exit status' "$WORK/kill-run/job.txt" 2>/dev/null; do
  [ "$(date +%s)" -lt "$end" ] || fail "kill job: still running 30 s after kill -9 of task 1"; sleep 0.1
done
dt=$(awk -v a="$tk" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
st=$(sed -n 's/^fedsilo exit status //p' "$WORK/kill-run/job.txt")
[ "$st" != 0 ] || fail "kill job: srun exited 0"
for r in 0 2; do ! task_pid "$jid" $r >/dev/null || fail "kill job: task $r survived"; done
grep -Eq 'task 1|tasks? [0-9,-]*1' "$WORK/kill/job.out" || { cat "$WORK/kill/job.out"; fail "kill job: srun does not name task 1"; }
note "kill -9 of task 1: job step ended in ${dt}s with status $st ($(grep -m1 'task 1' "$WORK/kill/job.out"))"

note "PASS in $(( $(date +%s) - t0 )) s"

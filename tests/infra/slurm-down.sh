#!/usr/bin/env bash
# tests/infra/slurm-down.sh - stop the cluster of tests/infra/slurm-up.sh and
# delete its directory.  Only pids from $FS_SLURM_DIR's pid files are signalled,
# and only while they still belong to the expected program.  Safe to run twice
# or when nothing is up.  FS_SLURM_KEEP=1 keeps logs and state.
set -uo pipefail
DIR=${FS_SLURM_DIR:-/tmp/fedsilo-slurm}
[ -d "$DIR" ] || exit 0

is_proc() {
  [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
    ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null
}
stop() {   # stop PIDFILE NAME: TERM, up to 10 s, then KILL
  local pid
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  is_proc "$pid" "$2" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do is_proc "$pid" "$2" || return 0; sleep 0.2; done
  echo "slurm-down: $2 ($pid) ignored TERM, sending KILL" >&2
  kill -KILL "$pid" 2>/dev/null
}

# 1. cancel every job so the step daemons and tasks end first
if [ -f "$DIR/slurm.conf" ] && [ -s "$DIR/slurmctld.pid" ] &&
   is_proc "$(cat "$DIR/slurmctld.pid")" slurmctld; then
  export SLURM_CONF=$DIR/slurm.conf
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 75); do
      [ -z "$(timeout 5 squeue -h -t R,CG,PD,RQ,RS -o %i 2>/dev/null)" ] && break; sleep 0.2
    done
  fi
fi
# 2. slurmds, controller, munged
for f in "$DIR"/slurmd-*.pid; do [ -e "$f" ] && stop "$f" slurmd; done
stop "$DIR/slurmctld.pid" slurmctld
stop "$DIR/munge/munged.pid" munged
# 3. report (never kill blindly) a step daemon of ours that survived
for p in /proc/[0-9]*; do
  [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
  if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -q "^SLURM_CONF=$DIR/"; then
    echo "slurm-down: warning: slurmstepd ${p#/proc/} of $DIR still running" >&2
  fi
done
[ "${FS_SLURM_KEEP:-0}" = 1 ] || rm -rf "$DIR"
exit 0

# tests/slurm.sh - shared set-up of the Slurm HPC tests (sourced after
# tests/lib.sh): preconditions, a private cluster under $WORK/slurm that is
# always torn down, and its start on free ports.
#
# After sourcing: SLURM_DIR is set and an EXIT trap stops the cluster; on a
# failure the trap prints $WORK/*/job.out-style logs named in SLURM_SHOW_LOGS
# and the tail of every daemon log.  Call slurm_up FIRST LAST to start it.

[ "$(id -u)" = 0 ] || need "needs root (munged, slurmd)"
for b in sbatch srun scontrol squeue scancel sinfo slurmctld slurmd munged mungekey h5dump; do
  command -v "$b" >/dev/null || need "$b missing (scripts/install-deps.sh slurm)"
done
need_fmnist

SLURM_DIR=$WORK/slurm
SLURM_SHOW_LOGS=${SLURM_SHOW_LOGS:-}
chmod 711 "$WORK"     # munged wants every directory above its socket o+x
slurm_cleanup() {
  st=$?
  if [ "$st" != 0 ] && [ "$st" != 77 ]; then
    for f in $SLURM_SHOW_LOGS; do [ -f "$f" ] && { echo "--- $f ---"; cat "$f"; }; done
    [ -d "$SLURM_DIR/log" ] && { echo "--- slurm logs (test failed) ---"; tail -n 15 "$SLURM_DIR"/log/*.log 2>/dev/null; }
  fi
  FS_SLURM_DIR=$SLURM_DIR timeout 60 bash "$FS_SRCDIR/tests/infra/slurm-down.sh"
  rm -rf "$WORK"
  exit "$st"
}
trap slurm_cleanup EXIT
trap 'exit 99' INT TERM HUP

# slurm_up FIRST LAST: start 3 virtual nodes x 2 CPUs with the controller on
# a port in [FIRST, LAST] (4 consecutive ports: controller + 3 slurmd).  The
# range must lie below the kernel's ephemeral range (32768+), or an outgoing
# connection of a concurrent test can take a port between the free-port check
# and the daemon's bind.  A failed start (a port taken anyway) is torn down
# and retried on the next free block, up to 3 times.
slurm_up() {
  first=$1; last=$2
  port=$((first + ($$ % ((last - first) / 20)) * 20))
  for attempt in 1 2 3; do
    for _ in $(seq 1 20); do
      busy=0
      for p in $(seq "$port" $((port + 3))); do
        ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && busy=1
      done
      [ "$busy" = 0 ] && break
      port=$((port + 20 > last - 3 ? first : port + 20))
    done
    if FS_SLURM_DIR=$SLURM_DIR FS_SLURM_NODES=3 FS_SLURM_CPUS=2 FS_SLURM_PORT=$port \
         timeout 90 bash "$FS_SRCDIR/tests/infra/slurm-up.sh"; then
      . "$SLURM_DIR/env.sh"
      return 0
    fi
    note "slurm-up failed on port $port (attempt $attempt); retrying on another port"
    FS_SLURM_DIR=$SLURM_DIR timeout 60 bash "$FS_SRCDIR/tests/infra/slurm-down.sh"
    port=$((port + 20 > last - 3 ? first : port + 20))
  done
  hard "slurm-up failed 3 times"
}

#!/bin/sh
# rankwrap.sh - run one MPI rank of a hostile case and record its exit status
# in $FS_HOSTILE_RANKS/rank-<world rank>, so tests/hostile/run.sh can check
# that EVERY rank stopped with a non-zero status (not just the one mpirun
# reports).  FS_HOSTILE_PRELOAD, if set, is LD_PRELOADed into this rank only
# (the transport attacker: tests/hostile/replay.c or tests/spy/fs_mpispy.c).
r=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-x}}}
if [ -n "${FS_HOSTILE_PRELOAD:-}" ]; then
  LD_PRELOAD=$FS_HOSTILE_PRELOAD "$@"
else
  "$@"
fi
rc=$?
[ -n "${FS_HOSTILE_RANKS:-}" ] && echo "$rc" > "$FS_HOSTILE_RANKS/rank-$r"
exit $rc

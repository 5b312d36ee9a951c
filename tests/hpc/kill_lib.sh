# tests/hpc/kill_lib.sh - helpers of the kill -9 tests (sourced after
# tests/lib.sh): timing, finding one MPI rank's process, and an exit trap
# that ends the test's own background mpirun ($mpid) and removes $WORK.
mpid=
cleanup() {
  st=$?
  # only our own mpirun (and its ranks, which it kills) may still be running
  if [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null; then kill -TERM "$mpid" 2>/dev/null; sleep 1; kill -KILL "$mpid" 2>/dev/null; fi
  rm -rf "$WORK"
  exit "$st"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
nrounds() { grep -c '"round"' "$1/metrics.jsonl" 2>/dev/null || echo 0; }
# rank_pid MPIRUN_PID TAG RANK: the fedsilo process (a child of our mpirun,
# with our tag in its environment) that has that MPI rank; by then the
# libtool wrapper has exec'd the real binary.
rank_pid() {
  for p in $(pgrep -P "$1"); do
    env=$( { tr '\0' '\n' < "/proc/$p/environ"; } 2>/dev/null) || continue
    printf '%s\n' "$env" | grep -qx "FS_KILL_TAG=$2" || continue
    printf '%s\n' "$env" | grep -qx "OMPI_COMM_WORLD_RANK=$3" || continue
    case "$(readlink "/proc/$p/exe" 2>/dev/null)" in
      */fedsilo|*/lt-fedsilo) echo "$p"; return 0 ;;
    esac
  done
  return 1
}
alive() { [ -d "/proc/$1" ] && ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

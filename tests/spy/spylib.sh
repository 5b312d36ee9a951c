# tests/spy/spylib.sh - shared by tests/cli/spy.sh and tests/cli/spy_controls.sh
# (sourced after tests/lib.sh and tests/keys.sh).
#
# spy_setup: a 4-institution Fashion-MNIST federation and consortium in $WORK.
# spy_run DIR MUTATION CMD...: run "fedsilo CMD..." (train/stats) on 4 ranks
#   with the PMPI spy preloaded, its records in DIR/spy; MUTATION ("" for the
#   honest run) is FS_SPY_MUTATE (tests/spy/fs_mpispy.c): a leak the spy
#   injects into what the program sends.  The secure-sum roster is added.
# spy_verdict NAME DIR [DIR2]: run the detector, print its verdict line as
#   "NAME: spy verdict: ...", and leave the full output in DIR/verdict.txt;
#   returns the detector's exit code (0 = pass).
SPY="$FS_BUILDDIR/tests/spy/.libs/libfsspy.so"
spy_setup() {
  need_fmnist
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || hard "python3-numpy missing (scripts/install-deps.sh data)"
  [ -f "$SPY" ] || hard "spy library $SPY missing"
  make_fmnist "$WORK/d" 1200 300 4 dirichlet --alpha 0.5
  make_consortium "$WORK/k" 4
}
spy_run() {
  out=$1; mut=$2; shift 2
  mkdir -p "$out/spy"
  FS_SPY_DIR="$out/spy" FS_SPY_MUTATE="$mut" LD_PRELOAD="$SPY" run_mpi 4 300 \
      -x FS_SPY_DIR -x FS_SPY_MUTATE -x LD_PRELOAD "$FEDSILO" "$@" \
      --roster "$WORK/k/roster.ini" --identity "$WORK/k/site-%d.key" > "$out/log.txt" 2>&1 \
    || { tail -20 "$out/log.txt"; fail "spied run ($*, mutation '${mut}') failed"; }
}
spy_verdict() {
  name=$1; shift
  /usr/bin/python3 "$FS_SRCDIR/tests/spy/analyze.py" "$1" 4 ${2:+"$2"} > "$1/../verdict.txt" 2>&1
  rc=$?
  echo "$name: $(tail -1 "$1/../verdict.txt")"
  return $rc
}
# The command lines of the spied programs.  The model (mlp:384 on 784
# features, 305 290 parameters = 1.2 MB of 32-bit words) is larger than the
# 1 MiB of words below which a secure sum is one blocking MPI_Allreduce, so
# its sum is pipelined (MPI_Iallreduce chunks completed by MPI_Test/Wait).
# shellcheck disable=SC2034
SPY_TRAIN="train --data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model mlp:384 --rounds 2 --lr 0.05 --standardize yes"
# shellcheck disable=SC2034
SPY_STATS="stats --data $WORK/d/shards/site-%d.h5 --bins 8"

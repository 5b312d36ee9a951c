#!/bin/sh
# Private set intersection through the library (tests/vfl/t_psi.c): the
# result equals the true intersection, sorted by id bytes and the same on
# every rank, with correct indices, for 1, 2, 3 and 5 ranks; an empty
# intersection; one rank holding every id of the others (2 and 3 ranks);
# 3 ranks x 10^4 ids; a repeated id fails every rank.  FS_PSI_BIG=1 adds
# 3 ranks x 2*10^5 ids with 10^5 common (a benchmark-sized bar).
. "${FS_SRCDIR:-.}/tests/lib.sh"
T="$FS_BUILDDIR/tests/vfl/t_psi"
run1() {   # NP ARGS...: run, show rank 0's line
  np=$1; shift
  run_mpi "$np" 300 "$T" "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out"; fail "$np ranks: t_psi $*"; }
  note "$(cat "$WORK/out")"
}
run1 1 200 50
run1 2 1000 300
run1 3 1000 250
run1 5 300 100
run1 3 500 0                      # empty intersection
run1 2 500 100 7 superset         # rank 0 holds every id of rank 1
run1 3 500 100 7 superset
run1 3 10000 4000
if [ "${FS_PSI_BIG:-0}" = 1 ]; then
  run1 3 200000 100000
fi
exit 0

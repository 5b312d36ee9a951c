#!/bin/sh
# Private set intersection on 2 and 3 ranks with 10^3 and 10^4 ids per rank:
# the result equals the true intersection in the same order on every rank
# (see tests/vfl/t_psi.c).  FS_PSI_BIG=1 adds a 10^5-id run (a benchmark).
. "${FS_SRCDIR:-.}/tests/lib.sh"
T="$FS_BUILDDIR/tests/vfl/t_psi"
run_mpi 2 120 "$T" 1000 300 || fail "2 ranks, 1000 ids"
run_mpi 3 120 "$T" 1000 250 || fail "3 ranks, 1000 ids"
run_mpi 2 300 "$T" 10000 2500 || fail "2 ranks, 10000 ids"
run_mpi 3 300 "$T" 10000 4000 || fail "3 ranks, 10000 ids"
if [ "${FS_PSI_BIG:-0}" = 1 ]; then
  run_mpi 3 1800 "$T" 100000 30000 || fail "3 ranks, 100000 ids"
fi
exit 0

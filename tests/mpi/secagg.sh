#!/bin/sh
# The pipelined secure sum under 2, 3 and 5 ranks: see tests/mpi/t_secagg.c.
. "${FS_SRCDIR:-.}/tests/lib.sh"
for np in 2 3 5; do
  run_mpi "$np" 120 "$FS_BUILDDIR/tests/mpi/t_secagg" || fail "t_secagg with $np ranks"
done
note PASS

#!/bin/sh
# fs_agree under 4 and 5 ranks: see tests/mpi/t_agree.c.
. "${FS_SRCDIR:-.}/tests/lib.sh"
run_mpi 4 60 "$FS_BUILDDIR/tests/mpi/t_agree" || fail "t_agree with 4 ranks"
run_mpi 5 60 "$FS_BUILDDIR/tests/mpi/t_agree" || fail "t_agree with 5 ranks"

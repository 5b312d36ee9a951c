#!/bin/sh
# The aggregation interface (plain and secure) under 3 ranks: see
# tests/mpi/t_aggregate.c.
. "${FS_SRCDIR:-.}/tests/lib.sh"
run_mpi 3 120 "$FS_BUILDDIR/tests/mpi/t_aggregate" || fail "t_aggregate with 3 ranks"

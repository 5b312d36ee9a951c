#!/bin/sh
# examples/api: the secure-sum example builds with its own Makefile against
# the installed fedsilo (pkg-config) and, under mpirun -np 3, matches a plain
# MPI_Allreduce within the fixed-point bound, without and with a roster.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
. "$FS_SRCDIR/tests/ux/ux.sh"
ux_install
cp -R "$FS_SRCDIR/examples/api" "$WORK/api" && chmod -R u+w "$WORK/api" || hard "copy examples/api"
rm -f "$WORK/api/secure_sum"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$WORK/api" > "$WORK/make.txt" 2>&1 \
  || { cat "$WORK/make.txt"; fail "examples/api does not build with its Makefile"; }
cd "$WORK/api" || hard "cd"
run_mpi 3 120 ./secure_sum > "$WORK/run.txt" 2>&1 || { cat "$WORK/run.txt"; fail "secure_sum failed"; }
cat "$WORK/run.txt"
grep -q '^PASS: max |secure - MPI_Allreduce|' "$WORK/run.txt" || fail "no PASS line"
grep -q 'over 3 ranks.*unauthenticated' "$WORK/run.txt" || fail "no banner"
# authenticated: roster and identity keys from fedsilo keygen
make_consortium "$WORK/k" 3
run_mpi 3 120 ./secure_sum "$WORK/k/roster.ini" "$WORK/k/site-%d.key" > "$WORK/auth.txt" 2>&1 \
  || { cat "$WORK/auth.txt"; fail "authenticated secure_sum failed"; }
grep -q 'over 3 ranks.*, authenticated' "$WORK/auth.txt" || { cat "$WORK/auth.txt"; fail "not authenticated"; }
grep -q '^PASS' "$WORK/auth.txt" || fail "no PASS line (authenticated)"
note PASS

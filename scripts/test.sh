#!/usr/bin/env bash
# test.sh - Quick start, command (2): the whole test suite.  Installs every
# package the tiers need, builds out of tree in ./build, runs `make check`
# (unit, MPI and CLI tiers), then `make distcheck` (install, VPATH and
# tarball completeness with the unit and MPI-library tests).  Prints the
# automake summary and one closing line "N passed, N failed, N skipped".
# Then the security tier (issue 7): libFuzzer targets for every parser
# (FS_FUZZ_SECONDS each, default 60) and the ASan/UBSan + valgrind run of
# scripts/sanitize.sh; FS_SECURITY=0 skips it outside CI.
# Exit status: 0 only if every test passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/install-deps.sh all || exit 1   # includes the fuzz set (clang, valgrind)
scripts/build.sh >/dev/null || { echo "build failed"; exit 1; }
cd "${FS_BUILD_DIR:-$top/build}"
status=0
make -j2 check > check.out 2>&1 || status=1
# The automake harness writes test output only to the logs: show the per-test
# results here and the failing logs at the end, so CI output explains itself.
grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR):' check.out
grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' check.out
[ $status -ne 0 ] && tail -30 check.out
# Check's own summary lines ("100%: Checks: N, Failures: 0, Errors: 0").
find tests -name 'check_*.log' -exec grep -h '^[0-9]*%: Checks:' {} + 2>/dev/null
pass=$(awk '/^# PASS:/{print $3}' check.out); fail=$(awk '/^# FAIL:/{print $3}' check.out)
err=$(awk '/^# ERROR:/{print $3}' check.out); skip=$(awk '/^# SKIP:/{print $3}' check.out)
fail=$(( ${fail:-0} + ${err:-0} ))
if [ "${CI:-}" = true ] && [ "${skip:-0}" -gt 0 ]; then
  echo "CI: ${skip} test(s) skipped; every tier must run in CI"; status=1
fi
if [ $status -eq 0 ] && [ "${FS_SKIP_DISTCHECK:-}" != 1 ]; then
  unit=$(make -s print-quick-tests)
  if make distcheck TESTS="$unit" > distcheck.out 2>&1; then
    echo "distcheck: OK ($(grep -o 'fedsilo-[0-9.]*\.tar\.gz' distcheck.out | head -1))"
  else
    tail -40 distcheck.out; echo "distcheck: FAILED"; status=1; fail=$((fail + 1))
  fi
fi
if [ $status -eq 0 ] && { [ "${FS_SECURITY:-1}" = 1 ] || [ "${CI:-}" = true ]; }; then
  if "$top"/tests/fuzz/run.sh > fuzz.out 2>&1; then
    echo "fuzz: OK ($(grep -m1 -iE 'targets|total' fuzz.out || echo 'no crash found'))"; pass=$((pass + 1))
  else
    tail -40 fuzz.out; echo "fuzz: FAILED"; status=1; fail=$((fail + 1))
  fi
  if FS_BUILD_DIR="$(pwd)" "$top"/scripts/sanitize.sh > sanitize.out 2>&1; then
    echo "sanitize: OK ($(tail -1 sanitize.out))"; pass=$((pass + 1))
  else
    tail -60 sanitize.out; echo "sanitize: FAILED"; status=1; fail=$((fail + 1))
  fi
fi
# Last before the summary, so a CI page that keeps only the tail still shows
# why: the end of every failing test's log.
for trs in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find . -name '*.trs') 2>/dev/null); do
  echo "==== ${trs%.trs}.log (last 60 lines)"; tail -n 60 "${trs%.trs}.log"
done
echo "${pass:-0} passed, ${fail} failed, ${skip:-0} skipped"
exit $status

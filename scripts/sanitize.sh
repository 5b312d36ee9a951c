#!/usr/bin/env bash
# sanitize.sh - memory-safety checks of fedsilo (issue 7).
#
#   1. an out-of-tree build with ./configure --enable-sanitizers (ASan + UBSan,
#      FS_SANFLAGS) in build-asan/;
#   2. every unit test (tests/unit/check_*) under ASan+UBSan, leak detection ON;
#   3. MPI runs of the sanitized fedsilo (leak detection off: Open MPI's own
#      allocations would drown the output): a 4-rank authenticated secure
#      training run, a resume, eval, a plain run, and the hostile-input corpus
#      (tests/hostile/run.sh), whose error paths are where memory bugs hide;
#   4. every unit test under valgrind (memcheck, CK_FORK=no, --leak-check=full,
#      --error-exitcode=1, suppressions in tests/valgrind.supp) on a build
#      WITHOUT sanitizers ($FS_BUILD_DIR, default build/, if it is one; else a
#      build in build-valgrind/).
# Any sanitizer report (ASan/UBSan/LSan write to log files, so a report is
# never lost in an exit status that a test expected anyway) or valgrind error
# fails its step.  Prints one line per step, then "N passed, N failed".
# Exit status 0 only if every step passed.  About 7 minutes on 2 cores.
#
# Environment: FS_ASAN_DIR (default build-asan), FS_BUILD_DIR (plain build
# for valgrind, default build), FS_SANITIZE_HOSTILE=0 skips the hostile corpus,
# FS_SANITIZE_VALGRIND=0 skips valgrind.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
asan=${FS_ASAN_DIR:-$top/build-asan}
plain=${FS_BUILD_DIR:-$top/build}
jobs=$(nproc 2>/dev/null || echo 2)
logs=$(mktemp -d "${TMPDIR:-/tmp}/fedsilo-sanitize.XXXXXX")
work=$logs/work; mkdir -p "$work"
pass=0; fail=0
t0=$(date +%s)
step() {  # step NAME STATUS [DETAIL]
  if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "PASS  $1${3:+ ($3)}"
  else fail=$((fail + 1)); echo "FAIL  $1${3:+ ($3)}"; fi
}
reports() {  # reports DIR: print sanitizer reports found there; status 1 if any
  local found=0 f
  for f in "$1"/*; do
    [ -s "$f" ] || continue
    # allocator_may_return_null=1 logs a WARNING for a refused huge allocation
    # (the library then reports out of memory): only errors count.
    grep -qE 'ERROR: |runtime error' "$f" || continue
    found=1; echo "---- $f"; head -40 "$f"
  done
  return $found
}
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
       OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl_base_warn_component_unused=0

# ---------------------------------------------------------------- 1. build
cd "$top" || exit 1
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null 2>&1 \
  || { echo "autoreconf failed"; exit 1; }
mkdir -p "$asan" && cd "$asan" || exit 1
build_ok=0
if [ ! -f Makefile ]; then
  "$top/configure" -q --enable-sanitizers CFLAGS="-g -O1" > "$logs/configure.log" 2>&1 || build_ok=1
fi
grep -q 'FS_SANFLAGS = -fsanitize' Makefile 2>/dev/null || build_ok=1
[ $build_ok = 0 ] && { make -j"$jobs" > "$logs/make.log" 2>&1 && make -j"$jobs" check TESTS= \
    >> "$logs/make.log" 2>&1; } || build_ok=1
step "build-asan (./configure --enable-sanitizers, make, check programs)" $build_ok "$asan"
if [ $build_ok != 0 ]; then
  tail -30 "$logs/configure.log" "$logs/make.log" 2>/dev/null
  echo "$pass passed, $fail failed"; exit 1
fi

# ---------------------------------------------------------------- 2. unit tests, ASan+UBSan+LSan
san_env() {  # san_env DIR LEAKS: sanitizer options that log reports to DIR
  mkdir -p "$1"
  # allocator_may_return_null=1: a huge allocation requested by a hostile file
  # must reach fedsilo's own out-of-memory path, as it does without ASan.
  export ASAN_OPTIONS="detect_leaks=$2:log_path=$1/asan:verify_asan_link_order=0:abort_on_error=0:allocator_may_return_null=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$1/ubsan"
  export LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0"
}
unit_tests=$(cd "$asan" && for t in tests/unit/check_*; do
  case $t in *.o|*.log|*.trs) continue ;; esac; [ -x "$t" ] && echo "$t"; done)
(
  san_env "$logs/unit-asan" 1
  export CK_DEFAULT_TIMEOUT=600
  st=0
  mkdir -p "$logs/unit-out"
  for t in $unit_tests; do
    "$asan/$t" > "$logs/unit-out/$(basename "$t").out" 2>&1 || { echo "  $t failed"; st=1; }
  done
  exit $st
)
rc=$?
reports "$logs/unit-asan" > "$logs/unit-reports.txt" 2>&1 || rc=1
[ $rc = 0 ] || { head -80 "$logs/unit-reports.txt"; tail -n 5 "$logs"/unit-out/*.out; }
step "unit tests under ASan+UBSan, leaks on ($(echo $unit_tests | wc -w) suites)" $rc

# ---------------------------------------------------------------- 3. MPI runs, ASan+UBSan (no leaks)
F="$asan/fedsilo"
(
  san_env "$logs/mpi-asan" 0
  set -e
  awk -v out="$work/d.csv" 'BEGIN { srand(3); print "f0,f1,f2,f3,f4,f5,label" > out
    for (i = 0; i < 240; i++) { s = 0; line = ""
      for (j = 0; j < 6; j++) { v = rand() * 2 - 1; s += v; line = line sprintf("%.4f,", v) }
      print line ((s > 0) + (s > 1)) > out } }'
  "$F" import csv --input "$work/d.csv" --label label --out "$work/d.h5" > /dev/null
  "$F" split --input "$work/d.h5" --silos 4 --val-fraction 0.2 --outdir "$work/s" > /dev/null
  printf '[consortium]\nname = asan\n\n' > "$work/roster.ini"
  for i in 0 1 2 3; do
    "$F" keygen --name "site-$i" --rank $i --out "$work/site-$i" 2>/dev/null | grep -v '^;' >> "$work/roster.ini"
  done
  common="--data $work/s/site-%d.h5 --test $work/d.h5 --model mlp:16 --batch-size 16"
  auth="--roster $work/roster.ini --identity $work/site-%d.key"
  mpi="timeout -k 5 300 mpirun --oversubscribe -np 4 -x ASAN_OPTIONS -x UBSAN_OPTIONS -x LSAN_OPTIONS"
  $mpi "$F" train $common $auth --rounds 2 --out "$work/run" --quiet
  $mpi "$F" train $common $auth --rounds 3 --resume auto --out "$work/run" --quiet
  $mpi "$F" train $common --aggregation plain --rounds 1 --out "$work/plain" --quiet
  $mpi "$F" train $common --insecure-no-auth yes --ring-bits 64 --mask-degree 2 --rounds 1 \
      --out "$work/ring64" --quiet 2>/dev/null
  "$F" eval --checkpoint "$work/run/checkpoint.h5" --data "$work/d.h5" > /dev/null
  "$F" inspect "$work/s/site-0.h5" > /dev/null
) > "$logs/mpi.out" 2>&1
rc=$?
reports "$logs/mpi-asan" > "$logs/mpi-reports.txt" 2>&1 || rc=1
[ $rc = 0 ] || { tail -20 "$logs/mpi.out"; head -80 "$logs/mpi-reports.txt"; }
step "MPI training under ASan+UBSan (secure+resume, plain, ring 64, eval, inspect)" $rc

if [ "${FS_SANITIZE_HOSTILE:-1}" = 1 ]; then
  (
    san_env "$logs/hostile-asan" 0
    # Every case that reaches library code (the option-parsing cases end
    # before it and are left out to save time; FS_SANITIZE_HOSTILE_CASES='*' runs all).
    if [ -n "${FS_SANITIZE_HOSTILE_CASES:-}" ]; then
      read -ra hcases <<< "$FS_SANITIZE_HOSTILE_CASES"
    else
      hcases=('h5_*' 'x_*' 'y_*' 'val_*' 'empty_*' 'zero_*' '*_shape' 'nan_*' 'inf_*' 'label_*'
              'regression_*' 'no_format_*' 'checkpoint_as_*' 'format_*' 'task_*' 'num_classes_*'
              'shard_*' '*_mismatch' 'test_file_*' 'roster_*' 'key_*' 'forged_*' 'replayed_*' 'dh_*'
              'out_*' 'full_disk_*' 'resume_*' 'ck_*' 'eval_*' 'csv_*' 'idx_*' 'inspect_*'
              'headroom_*' 'ring_*' 'frac_*' 'mask_*')
    fi
    FS_BUILDDIR=$asan FS_SRCDIR=$top sh "$top/tests/hostile/run.sh" "${hcases[@]}"
  ) > "$logs/hostile.out" 2>&1
  rc=$?
  summary=$(grep '^hostile:' "$logs/hostile.out")
  reports "$logs/hostile-asan" > "$logs/hostile-reports.txt" 2>&1 || rc=1
  [ $rc = 0 ] || { grep -E '^(FAIL|XPASS)' "$logs/hostile.out"; head -80 "$logs/hostile-reports.txt"; }
  step "hostile-input corpus under ASan+UBSan" $rc "${summary#hostile: }"
fi

# ---------------------------------------------------------------- 4. valgrind, unit tests
if [ "${FS_SANITIZE_VALGRIND:-1}" = 1 ]; then
  if ! command -v valgrind >/dev/null 2>&1; then
    step "valgrind" 1 "valgrind not installed (scripts/install-deps.sh fuzz)"
  else
    if ! grep -q '^FS_SANFLAGS = *$' "$plain/Makefile" 2>/dev/null; then
      plain=$top/build-valgrind; mkdir -p "$plain"
      (cd "$plain" && { [ -f Makefile ] || "$top/configure" -q CFLAGS="-g -O1"; } && make -j"$jobs") \
        > "$logs/make-valgrind.log" 2>&1
    fi
    (cd "$plain" && make -j"$jobs" check TESTS=) >> "$logs/make-valgrind.log" 2>&1
    rc=0; n=0
    # CK_FORK=no: every test runs in the valgrind-ed process itself.  The
    # secure-sum test cases "maskgraph" (thousands of graphs) and "masker"
    # (AES-CTR over large vectors) take over 10 minutes under memcheck: for
    # check_secsum only the test case FS_VALGRIND_SECSUM_CASE (default "prg";
    # empty = all) runs here, the rest is covered by step 2.  Suites run $jobs
    # at a time.
    export CK_FORK=no CK_DEFAULT_TIMEOUT=1200
    secsum_case=${FS_VALGRIND_SECSUM_CASE-prg}
    for t in $unit_tests; do [ -x "$plain/$t" ] && echo "$t"; done \
      | xargs -P "$jobs" -I{} sh -c 'case $3 in *check_secsum) [ -n "$5" ] && export CK_RUN_CASE="$5" ;; esac
          valgrind -q --error-exitcode=1 --leak-check=full \
          --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions="$1" \
          "$2/$3" > "$4/valgrind-$(basename "$3").out" 2>&1 || echo "$3" >> "$4/valgrind-failed"' \
          _ "$top/tests/valgrind.supp" "$plain" {} "$logs" "$secsum_case"
    n=$(ls "$logs"/valgrind-check_*.out 2>/dev/null | wc -l)
    if [ -s "$logs/valgrind-failed" ]; then
      rc=1
      for t in $(cat "$logs/valgrind-failed"); do
        echo "  valgrind: $t"
        grep -E '^==[0-9]+==|^[0-9]+%' "$logs/valgrind-$(basename "$t").out" | head -40
      done
    fi
    [ $n -gt 0 ] || rc=1
    step "unit tests under valgrind memcheck ($n suites${secsum_case:+; check_secsum: test case $secsum_case only}, $plain)" $rc
  fi
fi

echo "sanitize: logs in $logs; $(( $(date +%s) - t0 ))s"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/sh
# Rank-local data failures become one collective error: every rank exits
# non-zero within the timeout (no hang) and the message names rank and file.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
make_fmnist "$WORK/d" 1200 200 4 iid
S="$WORK/d/shards"
expect_error() {  # expect_error LABEL REGEX  (runs the 4-rank job on $S)
  start=$(date +%s)
  run_mpi 4 60 "$FEDSILO" train --data "$S/site-%d.h5" --model softmax --rounds 2 \
      --out "$WORK/run-$1" > "$WORK/$1.txt" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  cat "$WORK/$1.txt"
  [ $rc -ne 0 ] || fail "$1: job succeeded"
  [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$1: job hung (timeout)"
  grep -Eq "$2" "$WORK/$1.txt" || fail "$1: message does not match /$2/"
  n=$(grep -c "error" "$WORK/$1.txt")
  [ "$n" -ge 1 ] || fail "$1: no error line"
  note "$1: exit $rc after ${secs}s"
}
# 1. Missing shard on rank 2.
mv "$S/site-2.h5" "$S/site-2.h5.away"
expect_error missing "rank 2: .*site-2\.h5"
mv "$S/site-2.h5.away" "$S/site-2.h5"
# 2. Corrupt (non-HDF5) shard on rank 1.
cp "$S/site-1.h5" "$WORK/site-1.bak"
head -c 3000 /dev/urandom > "$S/site-1.h5"
expect_error corrupt "rank 1: .*site-1\.h5"
# 3. Truncated HDF5 shard on rank 3.
cp "$S/site-3.h5" "$WORK/site-3.bak"
head -c 20000 "$WORK/site-3.bak" > "$S/site-3.h5"
cp "$WORK/site-1.bak" "$S/site-1.h5"
expect_error truncated "rank 3: .*site-3\.h5"
cp "$WORK/site-3.bak" "$S/site-3.h5"
# 4. Feature-count mismatch: rank 2's shard comes from a 5-feature CSV.
printf 'a,b,c,d,e,label\n' > "$WORK/small.csv"
i=0; while [ $i -lt 40 ]; do printf '%d,1,2,3,4,%d\n' $i $((i % 10)) >> "$WORK/small.csv"; i=$((i+1)); done
"$FEDSILO" import csv --input "$WORK/small.csv" --label label --out "$S/site-2.h5" >/dev/null \
  || hard "csv import failed"
expect_error mismatch "rank 2: shard mismatch: its training shard has 5 features but rank 0's shard has 784"
note PASS

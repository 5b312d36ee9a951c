#!/bin/sh
# Agreed error messages carry no private value of the failing institution
# (issue 14, L1).  Every rank's stdout and stderr are kept apart
# (mpirun --output-filename): the agreed message that rank 0 prints names
# the failing rank and the class of problem only, while the private detail
# (row counts, a row index, the shard path) appears in the failing rank's
# own stream -- the positive control that the values are really there to
# leak, found by the same grep.
#   1. DP-SGD batch ~ q n_k: rank 1 has 400 rows, rank 0 100; q = 0.2 gives
#      rank 1 a batch of 80 > --batch-size 64;
#   2. a non-finite feature value in row 5 of rank 1's shard: the reader's
#      message (path, row, column, value) stays in rank 1's log.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
/usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null || hard "python3-h5py missing"
make_fmnist "$WORK/a" 200 50 2 iid
make_fmnist "$WORK/b" 800 50 2 iid
mkdir -p "$WORK/s"
cp "$WORK/a/shards/site-0.h5" "$WORK/s/site-0.h5"
cp "$WORK/b/shards/site-1.h5" "$WORK/s/site-1.h5"

# run LABEL ARGS...: 2-rank train; each rank's output in $WORK/LABEL/1/rank.R
run() {
  label=$1; shift
  run_mpi 2 120 --output-filename "$WORK/$label" "$FEDSILO" train --model mlp:16 --rounds 1 \
      --insecure-no-auth yes --out "$WORK/$label.run" "$@"
  rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$label: exit $rc (expected a clean failure)"
  for r in 0 1; do cat "$WORK/$label/1/rank.$r/stdout" "$WORK/$label/1/rank.$r/stderr" \
      > "$WORK/$label.$r.txt" 2>/dev/null; done
  echo "--- $label, rank 0:"; cat "$WORK/$label.0.txt"
  echo "--- $label, rank 1:"; cat "$WORK/$label.1.txt"
}

# 1. DP-SGD batch size
run batch --data "$WORK/s/site-%d.h5" --dp-sgd yes --dp-sampling-rate 0.2 --batch-size 64
grep -q "error: rank 1: its DP-SGD batch (--dp-sampling-rate 0.2 times its training rows) exceeds --batch-size 64" \
  "$WORK/batch.0.txt" || fail "batch: rank 0 does not print the agreed message"
grep -q "a batch of 80 rows from 400 training rows" "$WORK/batch.1.txt" \
  || fail "batch: the private detail is not in rank 1's own log (positive control)"
! grep -Eq '\b(80|400)\b' "$WORK/batch.0.txt" || fail "batch: rank 1's batch or row count reached rank 0"

# 2. a NaN feature in row 5 of rank 1's shard
mkdir -p "$WORK/n"
cp "$WORK/s/site-0.h5" "$WORK/s/site-1.h5" "$WORK/n/"
/usr/bin/python3 - "$WORK/n/site-1.h5" <<'PY' || hard "cannot edit the shard"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    X = f["X"][:]; X[5, 3] = np.nan; f["X"][...] = X
PY
run nan --data "$WORK/n/site-%d.h5"
grep -q "error: rank 1: its training shard .* is malformed or holds invalid values; the detail (file, row, value) is in this institution's own log" \
  "$WORK/nan.0.txt" || fail "nan: rank 0 does not print the agreed message"
grep -q "this institution only: .*n/site-1.h5: row 5, column 3 .*is not finite" "$WORK/nan.1.txt" \
  || fail "nan: the detail (path, row) is not in rank 1's own log (positive control)"
! grep -Eq 'site-1\.h5|row 5' "$WORK/nan.0.txt" || fail "nan: rank 1's path or row reached rank 0"
note PASS

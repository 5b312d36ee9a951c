#!/bin/sh
# export.sh - GBDT models exported to XGBoost's JSON format load in Debian's
# python3-xgboost 1.7 and give fedsilo's predictions (max abs diff <= 1e-5)
# for every objective, with missing values in the test features
# (tests/gbdt/export.py).
. "${FS_SRCDIR:-.}/tests/lib.sh"
/usr/bin/python3 -c 'import xgboost, numpy' 2>/dev/null ||
  need "/usr/bin/python3 cannot import xgboost (apt-get install python3-xgboost)"
timeout 300 /usr/bin/python3 "$FS_SRCDIR/tests/gbdt/export.py" "$FS_BUILDDIR/bench/gbdt_bench" "$WORK" \
  || fail "the exported models do not predict like fedsilo"

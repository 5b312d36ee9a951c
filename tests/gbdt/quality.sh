#!/bin/sh
# quality.sh - GBDT against centralized xgboost `hist` with the same trees,
# depth, eta and bins, fedsilo's rows dealt to 4 institutions with label
# skew (tests/gbdt/quality.py): on a table of small integers and flags with
# missing cells, where both engines cut at every value, the same predictions
# (relative 1e-5) for every objective; on sklearn's breast cancer and R
# modeldata's credit_data (missing and categorical cells), mean ROC AUC over
# 5 random splits no more than 0.005 below xgboost's.  Fashion-MNIST is
# measured by `quality.py --sets fmnist`, too slow for the suite.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_sklearn
$PY -c 'import xgboost' 2>/dev/null || need "/usr/bin/python3 cannot import xgboost (python3-xgboost)"
sets=exact,breast-cancer
if Rscript -e 'suppressMessages(library(modeldata))' >/dev/null 2>&1; then
  sets=$sets,credit
elif [ "${CI:-}" = true ]; then
  hard "r-cran-modeldata missing in CI"
else
  note "r-cran-modeldata not installed: credit_data skipped"
fi
timeout 600 $PY "$FS_SRCDIR/tests/gbdt/quality.py" "$FS_BUILDDIR/bench/gbdt_bench" "$WORK" --sets "$sets" \
  || fail "fedsilo's GBDT misses the quality target against xgboost"

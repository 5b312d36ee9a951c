#!/bin/sh
# credit_mpi.sh - `fedsilo train --model gbdt` on a table with categorical
# columns and missing cells through the schema importer: R modeldata's
# credit_data (4454 rows, 4 categorical columns one-hot encoded, 455 missing
# cells left missing: trees split them natively), three quarters dealt to 4
# institutions with label skew, under mpirun -np 4:
#   - secure == plain (identical model hash) and federated == centralized
#     (bench/gbdt_bench on the pooled rows gives the identical hash);
#   - fedsilo predict on the raw test CSV (encoded with the checkpoint's
#     schema, missing cells passed to the trees): test ROC AUC within 0.005
#     of xgboost hist with the same trees/depth/eta/bins on the pooled rows;
#   - the XGBoost export (with the schema's feature names) predicts the same.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_rdata
need_xgboost
H="$FS_SRCDIR/tests/gbdt/train_mpi.py"
D="$WORK/d"
mkdir -p "$D"
Rscript -e 'library(modeldata); data(credit_data)
            write.csv(credit_data, commandArgs(TRUE)[1], row.names = FALSE)' "$D/credit.csv" \
    > /dev/null || hard "Rscript could not export credit_data"
$PY "$H" credit "$D/credit.csv" "$D" || hard "split of credit_data failed"
# the consortium's schema: drafted from the table, private lines removed
"$FEDSILO" schema draft --input "$D/credit.csv" --label Status --out "$D/draft.ini" > /dev/null \
  || hard "schema draft failed"
grep -v '^; private' "$D/draft.ini" > "$D/schema.ini"
for p in train test; do
  "$FEDSILO" import csv --input "$D/$p.csv" --schema "$D/schema.ini" --out "$D/$p.h5" > /dev/null \
    || hard "import of $p failed"
done
"$FEDSILO" split --input "$D/train.h5" --silos 4 --method dirichlet --alpha 0.5 --seed 3 \
    --outdir "$D/shards" > /dev/null || hard "split failed"
common="--model gbdt --trees 30 --max-depth 4 --eta 0.3 --max-bins 256 --seed 1
 --data $D/shards/site-%d.h5 --insecure-no-auth yes --quiet"
hashes() { sed -n 's/.*"model_hash": "\([0-9a-f]*\)".*/\1/p' "$1/metrics.jsonl"; }
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --test "$D/test.h5" --out "$WORK/sec" \
  || fail "secure GBDT run failed"
# shellcheck disable=SC2086
run_mpi 4 120 "$FEDSILO" train $common --aggregation plain --out "$WORK/pla" \
  || fail "plain GBDT run failed"
[ "$(hashes "$WORK/sec")" = "$(hashes "$WORK/pla")" ] || fail "secure and plain trees differ"
grep -q '"test_auc"' "$WORK/sec/metrics.jsonl" || fail "no test_auc in the metrics"
$PY "$H" pool "$D" "$D"/shards/site-*.h5 || hard "pooling failed"
"$FS_BUILDDIR/bench/gbdt_bench" --train "$D/pooled.fsgb" --test "$D/test.fsgb" --trees 30 \
    --max-depth 4 --eta 0.3 --max-bins 256 --seed 1 > "$WORK/central.json" \
  || fail "centralized engine failed"
last=$(hashes "$WORK/sec" | tail -1)
grep -q "\"model_hash\": \"$last\"" "$WORK/central.json" \
  || fail "federated model $last differs from the centralized one: $(cat "$WORK/central.json")"
"$FEDSILO" predict --checkpoint "$WORK/sec/checkpoint.h5" --input "$D/test.csv" \
    --out "$WORK/preds.csv" > /dev/null || fail "predict on the raw test CSV failed"
$PY "$H" auc "$D" "$WORK/preds.csv" "p(good)" 30 4 0.3 256 \
  || fail "test ROC AUC not within 0.005 of xgboost"
"$FEDSILO" export --checkpoint "$WORK/sec/checkpoint.h5" --format xgboost --out "$WORK/m.json" \
    > /dev/null || fail "export failed"
grep -q '"Home=rent"' "$WORK/m.json" || fail "the export lacks the schema's feature names"
$PY "$H" xgbload "$D" "$WORK/preds.csv" "p(good)" "$WORK/m.json" \
  || fail "exported model predicts otherwise"
note PASS

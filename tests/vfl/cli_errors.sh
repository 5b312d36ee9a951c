#!/bin/sh
# Vertical FL command-line errors and aliases, each with its exit status and
# message:
#   import csv --id-column: duplicate id, empty id, comma in an id, missing id
#     column, neither --label nor --id-column;
#   psi --data: a dataset without ids;
#   roster: two label holders, an unknown role (vfl-train --roster);
#   vfl-train: --label-rank disagreeing with the roster's role = label (every
#     rank exits 2); a 1024-bit key without --insecure-test-keys (exit 2); a
#     feature beyond +-2^20 and a diverging linear model (every rank exits 1;
#     the agreed message names the rank and the problem, never the value,
#     which only the failing rank's own log shows); the output says that
#     messages are not authenticated without a roster;
#   split --vertical writes exactly what vfl-split writes.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"

# expect STATUS PATTERN LOG CMD...: CMD exits with STATUS, LOG matches PATTERN.
expect() {
  want=$1; pat=$2; log=$3; shift 3
  "$@" >"$log" 2>&1
  got=$?
  [ "$got" -eq "$want" ] || { cat "$log"; fail "exit $got, expected $want: $*"; }
  grep -q -- "$pat" "$log" || { cat "$log"; fail "no '$pat' in the output of: $*"; }
}

printf 'pid,a,b,y\nP1,1,2,0\nP2,3,4,1\nP3,5,6,0\nP2,7,8,1\n' > "$WORK/dup.csv"
expect 1 "dup.csv: row 5, column 'pid': duplicate id 'P2' (first in row 3)" "$WORK/e.log" \
  "$FEDSILO" import csv --input "$WORK/dup.csv" --label y --id-column pid --out "$WORK/o.h5"
[ ! -e "$WORK/o.h5" ] || fail "a file was written despite the duplicate id"
printf 'pid,a\nP1,1\n"",2\n' > "$WORK/empty.csv"
expect 1 "empty.csv: row 3, column 'pid': empty id" "$WORK/e.log" \
  "$FEDSILO" import csv --input "$WORK/empty.csv" --id-column pid --out "$WORK/o.h5"
printf 'pid,a\n"P,1",1\n' > "$WORK/comma.csv"
expect 1 "comma.csv: row 2, column 'pid': id 'P,1' contains a comma" "$WORK/e.log" \
  "$FEDSILO" import csv --input "$WORK/comma.csv" --id-column pid --out "$WORK/o.h5"
expect 1 "dup.csv: no column named 'patient' in the header" "$WORK/e.log" \
  "$FEDSILO" import csv --input "$WORK/dup.csv" --label y --id-column patient --out "$WORK/o.h5"
expect 2 "may be left out with --id-column" "$WORK/e.log" \
  "$FEDSILO" import csv --input "$WORK/dup.csv" --out "$WORK/o.h5"

# Two small aligned parts with ids (rank 1 holds the labels) and one without ids.
printf 'pid,a,b\nP1,1,2\nP2,3,4\nP3,5,6\nP4,7,8\nP5,9,1\nP6,2,3\nP7,4,4\nP8,6,1\n' > "$WORK/f0.csv"
printf 'c,pid,d,y\n1,P1,3,0\n2,P2,1,1\n3,P3,4,0\n4,P4,1,1\n5,P5,5,0\n6,P6,9,1\n7,P7,2,0\n8,P8,6,1\n' \
  > "$WORK/f1.csv"
"$FEDSILO" import csv --input "$WORK/f0.csv" --id-column pid --out "$WORK/part-0.h5" >/dev/null \
  || hard "import f0"
"$FEDSILO" import csv --input "$WORK/f1.csv" --id-column pid --label y --out "$WORK/part-1.h5" \
  >/dev/null || hard "import f1"
cut -d, -f1,3,4 "$WORK/f1.csv" > "$WORK/noid.csv"
"$FEDSILO" import csv --input "$WORK/noid.csv" --label y --out "$WORK/noid-1.h5" >/dev/null \
  || hard "import without ids"
cp "$WORK/part-0.h5" "$WORK/noid-0.h5"
expect 1 "rank 1: .*noid-1.h5 has no record ids" "$WORK/e.log" \
  run_mpi 2 60 "$FEDSILO" psi --data "$WORK/noid-%d.h5" --out "$WORK/al-%d.h5"

make_consortium "$WORK/keys" 2
awk '{ print } /^rank = [01]$/ { print "role = label" }' "$WORK/keys/roster.ini" > "$WORK/two.ini"
expect 1 "exactly one institution may hold the labels" "$WORK/e.log" \
  run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/part-%d.h5" --roster "$WORK/two.ini" \
    --identity "$WORK/keys/site-%d.key" --paillier-bits 1024 --insecure-test-keys yes
awk '{ print } /^rank = 1$/ { print "role = labels" }' "$WORK/keys/roster.ini" > "$WORK/bad.ini"
expect 1 "unknown role 'labels'" "$WORK/e.log" \
  run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/part-%d.h5" --roster "$WORK/bad.ini" \
    --identity "$WORK/keys/site-%d.key" --paillier-bits 1024 --insecure-test-keys yes
awk '{ print } /^rank = 1$/ { print "role = label" }' "$WORK/keys/roster.ini" > "$WORK/one.ini"
expect 2 "label-rank 0 disagrees with the roster .*\"site-1\" (rank 1) has role = label" "$WORK/e.log" \
  run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/part-%d.h5" --roster "$WORK/one.ini" \
    --identity "$WORK/keys/site-%d.key" --paillier-bits 1024 --insecure-test-keys yes --label-rank 0
# Without the roster the label holder must be named: rank 0 has no labels.
expect 1 "part-0.h5 has no labels" "$WORK/e.log" \
  run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/part-%d.h5" --insecure-no-auth yes \
    --paillier-bits 1024 --insecure-test-keys yes

# Keys below 2048 bits only behind the test-only flag.
expect 2 "paillier-bits 1024 is below 2048: such keys are for tests only" "$WORK/e.log" \
  run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/part-%d.h5" --label-rank 1 \
    --insecure-no-auth yes --paillier-bits 1024
expect 0 "messages AES-256-GCM, NOT authenticated (no roster)" "$WORK/e.log" \
  run_mpi 2 60 "$FEDSILO" vfl-train --data "$WORK/part-%d.h5" --label-rank 1 --epochs 1 \
    --insecure-no-auth yes --paillier-bits 1024 --insecure-test-keys yes

# every_rank STATUS LOG CMD...: each rank of CMD (2 ranks) exits with STATUS
# (mpirun waits for every rank instead of killing the others at the first
# non-zero exit, so each rank's own status is seen).
every_rank() {
  want=$1; log=$2; shift 2
  rm -rf "$WORK/st"; mkdir -p "$WORK/st"
  FS_HOSTILE_RANKS="$WORK/st" run_mpi 2 60 --mca orte_abort_on_non_zero_status 0 -x FS_HOSTILE_RANKS \
    sh "$FS_SRCDIR/tests/hostile/rankwrap.sh" "$@" >"$log" 2>&1
  for r in 0 1; do
    [ "$(cat "$WORK/st/rank-$r" 2>/dev/null)" = "$want" ] || { cat "$log"; fail "rank $r did not exit $want: $*"; }
  done
}
# A feature value beyond +-2^20 on the feature holder (rank 0).
sed 's/^P3,5,6$/P3,12345678,6/' "$WORK/f0.csv" > "$WORK/big.csv"
"$FEDSILO" import csv --input "$WORK/big.csv" --id-column pid --out "$WORK/big-0.h5" >/dev/null \
  || hard "import big"
cp "$WORK/part-1.h5" "$WORK/big-1.h5"
every_rank 1 "$WORK/e.log" "$FEDSILO" vfl-train --data "$WORK/big-%d.h5" --label-rank 1 \
  --insecure-no-auth yes --paillier-bits 1024 --insecure-test-keys yes
agreed=$(grep "vfl-train: error:" "$WORK/e.log")
echo "$agreed" | grep -q "rank 0: vertical training: a feature value is outside +-2^20" \
  || { cat "$WORK/e.log"; fail "no agreed message for the feature range"; }
echo "$agreed" | grep -q "1.23457e+07\|12345678" && fail "the agreed message carries the feature value"
grep -q "rank 0\]: .*1.23457e+07" "$WORK/e.log" || { cat "$WORK/e.log"; fail "rank 0's own log lacks the detail"; }
# A diverging linear model: scores or residuals leave their fixed-point range.
printf 'pid,z,t\nP1,1,1e4\nP2,2,-3e4\nP3,1,2e4\nP4,3,5e4\nP5,2,-1e4\nP6,1,4e4\nP7,3,-2e4\nP8,2,3e4\n' \
  > "$WORK/reg.csv"
"$FEDSILO" import csv --input "$WORK/f0.csv" --id-column pid --out "$WORK/reg-0.h5" >/dev/null \
  || hard "import reg-0"
"$FEDSILO" import csv --input "$WORK/reg.csv" --id-column pid --label t --task regression \
  --out "$WORK/reg-1.h5" >/dev/null || hard "import reg-1"
every_rank 1 "$WORK/e.log" "$FEDSILO" vfl-train --data "$WORK/reg-%d.h5" --label-rank 1 \
  --model linear --lr 100 --epochs 50 --insecure-no-auth yes --paillier-bits 1024 \
  --insecure-test-keys yes
agreed=$(grep "vfl-train: error:" "$WORK/e.log")
echo "$agreed" | grep -q "is out of range (the training diverged? lower --lr)" \
  || { cat "$WORK/e.log"; fail "no agreed message for the divergence"; }
echo "$agreed" | grep -q "[0-9]e+\|[0-9]\.[0-9]" && fail "the agreed divergence message carries a value: $agreed"
# A diverging logistic model: the feature holder's partial scores leave the
# range that keeps their sum over the ranks from wrapping around in Z_2^64.
printf 'pid,a,b\nP1,9e5,2\nP2,3,-9e5\nP3,5,6\nP4,7,8\nP5,9e5,1\nP6,2,3\nP7,-9e5,4\nP8,6,1\n' > "$WORK/g0.csv"
"$FEDSILO" import csv --input "$WORK/g0.csv" --id-column pid --out "$WORK/g-0.h5" >/dev/null \
  || hard "import g-0"
cp "$WORK/part-1.h5" "$WORK/g-1.h5"
every_rank 1 "$WORK/e.log" "$FEDSILO" vfl-train --data "$WORK/g-%d.h5" --label-rank 1 --lr 1e6 \
  --epochs 5 --insecure-no-auth yes --paillier-bits 1024 --insecure-test-keys yes
agreed=$(grep "vfl-train: error:" "$WORK/e.log")
echo "$agreed" | grep -q "rank 0: vertical training: a partial score is out of range" \
  || { cat "$WORK/e.log"; fail "no agreed message for the score range"; }
echo "$agreed" | grep -q "[0-9]e+\|[0-9]\.[0-9]" && fail "the agreed score message carries a value: $agreed"

# split --vertical is vfl-split: byte-identical files.
"$FEDSILO" split --vertical --input "$WORK/part-1.h5" --parts 2 --label-rank 0 \
  --outdir "$WORK/sv" --test-fraction 0.25 --seed 4 >"$WORK/sv.log" 2>&1 \
  || { cat "$WORK/sv.log"; fail "split --vertical"; }
"$FEDSILO" vfl-split --input "$WORK/part-1.h5" --parts 2 --label-rank 0 \
  --outdir "$WORK/vs" --test-fraction 0.25 --seed 4 >/dev/null 2>&1 || fail "vfl-split"
for f in part-0 part-1 test-0 test-1; do
  cmp -s "$WORK/sv/$f.h5" "$WORK/vs/$f.h5" || fail "split --vertical and vfl-split differ in $f.h5"
done
[ "$(h5attr "$WORK/sv/part-1.h5" labels_absent)" = 1 ] || fail "part 1 of 2 lacks labels_absent"
h5dump -d /ids "$WORK/sv/part-0.h5" >/dev/null 2>&1 || fail "split --vertical dropped the ids"
expect 2 "fedsilo split: --label-rank 2 must be below --parts 2" "$WORK/e.log" \
  "$FEDSILO" split --vertical --input "$WORK/part-1.h5" --parts 2 --label-rank 2 --outdir "$WORK/x"
exit 0

#!/bin/sh
# Vertical FL command-line errors and aliases, each with its exit status and
# message:
#   import csv --id-column: duplicate id, empty id, comma in an id, missing id
#     column, neither --label nor --id-column;
#   psi --data: a dataset without ids;
#   roster: two label holders, an unknown role (vfl-train --roster);
#   vfl-train: --label-rank disagreeing with the roster's role = label (every
#     rank exits 2);
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

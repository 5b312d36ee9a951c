#!/bin/sh
# fedsilo psi on 3 ranks: id files with a header, blanks, CSV extra columns
# and different orders; every output lists the true intersection, in the
# same order on every rank (sorted by id bytes), with correct row numbers,
# authenticated with a roster.  Without a roster (and without
# --insecure-no-auth yes) every rank refuses with exit 2; a missing id file
# fails every rank with a message naming it; an id file with a repeated id
# fails every rank with a message naming the rank and the two lines (not
# the id), and nothing is written.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
"$FEDSILO" psi --help >/dev/null 2>&1 \
  || hard "fedsilo psi is not dispatched (add it to the table in src/cli/fedsilo.c)"
for k in 0 1 2; do
  {
    echo "patient_id,extra"
    i=0
    while [ $i -lt 300 ]; do
      # common ids: multiples of 3; rank-specific ids otherwise
      if [ $((i % 3)) -eq 0 ]; then echo "  P$i , x"; else echo "R$k-$i,y"; fi
      i=$((i + 1))
    done
    [ $k -lt 2 ] && echo "only01,z"
    echo ""
  } | awk 'NR == 1 { print; next } { a[NR] = $0 } END { srand('"$k"' + 1);
           for (i in a) keys[++m] = i; for (i = m; i > 1; i--) { j = int(rand() * i) + 1;
           t = keys[i]; keys[i] = keys[j]; keys[j] = t } for (i = 1; i <= m; i++) print a[keys[i]] }' \
    > "$WORK/ids-$k.csv"
done
make_consortium "$WORK/keys" 3
run_mpi 3 120 "$FEDSILO" psi --ids "$WORK/ids-%d.csv" --out "$WORK/aligned-%d.csv" --header \
  --roster "$WORK/keys/roster.ini" --identity "$WORK/keys/site-%d.key" \
  >"$WORK/psi.log" 2>&1 || { cat "$WORK/psi.log"; fail "fedsilo psi"; }
cat "$WORK/psi.log"
grep -q "intersection 100 rows" "$WORK/psi.log" || fail "wrong intersection size"
for k in 0 1 2; do
  [ "$(head -1 "$WORK/aligned-$k.csv")" = "row,id" ] || fail "rank $k: no header"
  tail -n +2 "$WORK/aligned-$k.csv" | cut -d, -f2 > "$WORK/ids-only-$k"
  # row numbers point at the right data lines (0-based, header and blank lines excluded)
  tail -n +2 "$WORK/ids-$k.csv" | grep -v '^$' | sed 's/^ *//; s/ *,.*//' > "$WORK/data-$k"
  tail -n +2 "$WORK/aligned-$k.csv" | while IFS=, read -r row id; do
    got=$(sed -n "$((row + 1))p" "$WORK/data-$k")
    [ "$got" = "$id" ] || { echo "rank $k row $row: '$got' != '$id'"; exit 1; }
  done || fail "rank $k: row numbers do not match the id file"
done
cmp -s "$WORK/ids-only-0" "$WORK/ids-only-1" && cmp -s "$WORK/ids-only-0" "$WORK/ids-only-2" \
  || fail "order differs between ranks"
LC_ALL=C sort -c "$WORK/ids-only-0" || fail "the common order is not the byte order of the ids"
i=0; while [ $i -lt 300 ]; do echo "P$i"; i=$((i + 3)); done | LC_ALL=C sort > "$WORK/want"
cmp -s "$WORK/ids-only-0" "$WORK/want" || fail "intersection is not the common ids"
run_mpi 2 60 "$FEDSILO" psi --ids "$WORK/ids-%d.csv" --out "$WORK/y-%d.csv" >"$WORK/noauth.log" 2>&1
st=$?
[ $st -eq 2 ] || { cat "$WORK/noauth.log"; fail "psi without a roster: exit $st, expected 2"; }
grep -q "needs a consortium roster" "$WORK/noauth.log" || { cat "$WORK/noauth.log"; fail "no message about the roster"; }
[ -e "$WORK/y-0.csv" ] && fail "psi without a roster wrote output"
run_mpi 2 60 "$FEDSILO" psi --ids "$WORK/nope-%d.csv" --out "$WORK/x-%d.csv" --insecure-no-auth yes \
  >"$WORK/bad.log" 2>&1 && fail "missing id file accepted"
grep -q "nope-0.csv" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "message does not name the file"; }
for k in 0 1 2; do printf 'u1\nu2\nv%s\n' "$k" > "$WORK/dup-$k.txt"; done
printf 'w7\nu2\n' >> "$WORK/dup-2.txt"       # line 4 (0-based) repeats line 1
run_mpi 3 60 "$FEDSILO" psi --ids "$WORK/dup-%d.txt" --out "$WORK/d-%d.csv" --insecure-no-auth yes \
  >"$WORK/dup.log" 2>&1 && fail "repeated id accepted"
grep -q "rank 2: PSI: repeated id (entries 1 and 4 of the id list, 0-based)" "$WORK/dup.log" \
  || { cat "$WORK/dup.log"; fail "repeated id: message does not name rank 2 and the entries"; }
grep "repeated id" "$WORK/dup.log" | grep -q u2 && { cat "$WORK/dup.log"; fail "repeated id: the message carries the id"; }
for k in 0 1 2; do [ -e "$WORK/d-$k.csv" ] && fail "rank $k wrote output despite the repeated id"; done
exit 0

#!/bin/sh
# Messages altered in transit: a PMPI shim (tests/vfl/psi_spy.c) flips one
# bit of one PSI message: a tag list on the link 0 -> 1, a flag message on
# the link 2 -> 1, a result-check message on the link 1 -> 2.  Every rank must stop with a non-zero status
# within the timeout (the detecting rank agrees the error with the others;
# rank 0 prints it, naming the link), and no output may be written.  An unaltered run under the same shim succeeds (control).
. "${FS_SRCDIR:-.}/tests/lib.sh"
SPY="$FS_BUILDDIR/tests/vfl/.libs/libpsispy.so"
[ -r "$SPY" ] || hard "$SPY not built"
for k in 0 1 2; do
  i=0; while [ $i -lt 40 ]; do echo "id$((i * (k + 1)))"; i=$((i + 1)); done > "$WORK/ids-$k.txt"
done
# each rank records its own exit status
cat > "$WORK/wrap.sh" <<EOS
#!/bin/sh
r=\${OMPI_COMM_WORLD_RANK:-\${PMIX_RANK:-0}}
"\$@"
st=\$?
echo \$st > "$WORK/status.\$r"
exit \$st
EOS
chmod +x "$WORK/wrap.sh"
run_case() {   # NAME TAMPER
  rm -f "$WORK"/status.* "$WORK"/out-*.csv
  PSI_SPY_TAMPER="$2" LD_PRELOAD="$SPY" run_mpi 3 60 -x PSI_SPY_TAMPER -x LD_PRELOAD \
    "$WORK/wrap.sh" "$FEDSILO" psi --ids "$WORK/ids-%d.txt" --out "$WORK/out-%d.csv" \
    --insecure-no-auth yes >"$WORK/$1.log" 2>&1
}
run_case control none:0 || { cat "$WORK/control.log"; fail "control run failed"; }
grep -q "intersection 7 rows" "$WORK/control.log" || { cat "$WORK/control.log"; fail "control: wrong intersection"; }
for c in "ring 0:7111 rank 0 to rank 1" "flags 2:7112 rank 2 to rank 1" \
         "check 1:7113 rank 1 to rank 2"; do
  set -- $c
  name=$1; tamper=$2; shift 2; link="$*"
  run_case "$name" "$tamper" && { cat "$WORK/$name.log"; fail "$name: altered message accepted"; }
  # mpirun may kill the ranks that are still finalizing once one has
  # failed; every rank that got to record a status must have failed
  ls "$WORK"/status.* >/dev/null 2>&1 || fail "$name: no rank recorded an exit status"
  grep -lx 0 "$WORK"/status.* >/dev/null 2>&1 && fail "$name: a rank exited 0"
  grep -q "PSI message from $link .* failed authentication" "$WORK/$name.log" \
    || { cat "$WORK/$name.log"; fail "$name: the message does not name the link $link"; }
  ls "$WORK"/out-*.csv >/dev/null 2>&1 && fail "$name: output written after the failure"
  note "$name: $(grep -m1 'failed authentication' "$WORK/$name.log")"
done
# A secure sum altered in transit on one rank (the first table result of
# rank 1 set to zeros: it marks every tag it holds as common): the ranks'
# results then differ and the final check must stop every rank.
rm -f "$WORK"/status.* "$WORK"/out-*.csv
PSI_SPY_ZERO=1 LD_PRELOAD="$SPY" run_mpi 3 60 -x PSI_SPY_ZERO -x LD_PRELOAD \
  "$WORK/wrap.sh" "$FEDSILO" psi --ids "$WORK/ids-%d.txt" --out "$WORK/out-%d.csv" \
  --insecure-no-auth yes >"$WORK/sum.log" 2>&1 && { cat "$WORK/sum.log"; fail "altered table accepted"; }
grep -lx 0 "$WORK"/status.* >/dev/null 2>&1 && fail "altered table: a rank exited 0"
grep -q "the ranks' intersections differ" "$WORK/sum.log" || { cat "$WORK/sum.log"; fail "altered table: no result-check failure"; }
ls "$WORK"/out-*.csv >/dev/null 2>&1 && fail "altered table: output written"
note "altered table: $(grep -m1 "intersections differ" "$WORK/sum.log")"
note PASS

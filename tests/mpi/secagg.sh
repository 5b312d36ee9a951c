#!/bin/sh
# The pipelined secure sum under 2, 3 and 5 ranks: see tests/mpi/t_secagg.c.
# Then with mixed AES-CTR kernels (even ranks OpenSSL, odd ranks the default,
# VAES where the CPU has it): the masks must still cancel bit for bit.
# Then `fedsilo bench secsum` end to end (numbers are printed, never judged:
# only its accuracy probes and the presence of every line are checked).
. "${FS_SRCDIR:-.}/tests/lib.sh"
for np in 2 3 5; do
  run_mpi "$np" 120 "$FS_BUILDDIR/tests/mpi/t_secagg" || fail "t_secagg with $np ranks"
done

mixed="$WORK/mixed-kernel.sh"
cat > "$mixed" <<EOS
#!/bin/sh
r=\${OMPI_COMM_WORLD_RANK:-\${PMIX_RANK:-0}}
if [ \$((r % 2)) -eq 0 ]; then FEDSILO_PRG=openssl; export FEDSILO_PRG; fi
echo "\${FEDSILO_PRG:-auto}" > "$WORK/kernel.\$r"
exec "\$@"
EOS
chmod +x "$mixed"
run_mpi 3 120 "$mixed" "$FS_BUILDDIR/tests/mpi/t_secagg" || fail "t_secagg with mixed PRG kernels"
[ "$(cat "$WORK/kernel.0" "$WORK/kernel.1" "$WORK/kernel.2")" = "openssl
auto
openssl" ] || fail "the mixed-kernel wrapper did not see ranks 0, 1, 2"

for prg in auto openssl; do
  out="$WORK/bench-$prg.txt"
  FEDSILO_PRG=$prg run_mpi 3 120 "$FEDSILO" bench secsum --sizes 1000,300000 --reps 3 >"$out" 2>&1 \
    || { cat "$out"; fail "bench secsum (FEDSILO_PRG=$prg) failed"; }
  # Probe error = fixed-point rounding (3 ranks x 2^-(f+1), f >= 24) + float32 rounding.
  n=$(awk '/^d=.*ratio .*on probes\)$/ { e = $0; sub(/.*<= /, "", e); sub(/ on probes.*/, "", e);
          if (e + 0 <= 1e-6) ok++ } END { print ok + 0 }' "$out")
  [ "$n" -eq 2 ] || { cat "$out"; fail "bench secsum ($prg): expected 2 ratio lines with probe error <= 1e-6, got $n"; }
  grep -q '^mask generation (2 neighbours, ring 32, .* kernel): .* GB/s' "$out" \
    || { cat "$out"; fail "bench secsum ($prg): no mask generation line"; }
  [ $prg = openssl ] && { grep -q 'openssl kernel' "$out" || fail "FEDSILO_PRG=openssl not honoured"; }
done
FEDSILO_PRG=no-such run_mpi 2 60 "$FEDSILO" bench secsum --sizes 1000 >"$WORK/bad.txt" 2>&1 \
  && fail "FEDSILO_PRG=no-such accepted"
grep -q 'FEDSILO_PRG=no-such is not one of auto, openssl, vaes' "$WORK/bad.txt" \
  || { cat "$WORK/bad.txt"; fail "no clear error for FEDSILO_PRG=no-such"; }
note PASS

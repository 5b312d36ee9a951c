#!/bin/sh
# Message-spy test: an LD_PRELOAD PMPI library records every buffer each rank
# sends into and receives from collectives during a 4-rank training run;
# tests/spy/analyze.py shows none equals or correlates with another rank's
# raw encoded update, and that the secure sum is exact (see its docstring).
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
/usr/bin/python3 -c 'import numpy' 2>/dev/null || hard "python3-numpy missing (scripts/install-deps.sh data)"
make_fmnist "$WORK/d" 1600 400 4 dirichlet --alpha 0.5
make_consortium "$WORK/k" 4
SPY="$FS_BUILDDIR/tests/spy/.libs/libfsspy.so"
base="--data $WORK/d/shards/site-%d.h5 --model mlp:32 --rounds 2 --lr 0.05"
mkdir -p "$WORK/plain" "$WORK/secure"
FS_SPY_DIR="$WORK/plain" LD_PRELOAD="$SPY" timeout -k 5 300 "$MPIEXEC" $MPIEXEC_FLAGS -np 4 \
    -x FS_SPY_DIR -x LD_PRELOAD "$FEDSILO" train $base --aggregation plain --out "$WORK/rp" --quiet \
    </dev/null || fail "plain run failed"
FS_SPY_DIR="$WORK/secure" LD_PRELOAD="$SPY" timeout -k 5 300 "$MPIEXEC" $MPIEXEC_FLAGS -np 4 \
    -x FS_SPY_DIR -x LD_PRELOAD "$FEDSILO" train $base --roster "$WORK/k/roster.ini" \
    --identity "$WORK/k/site-%d.key" --out "$WORK/rs" > "$WORK/s.txt" 2>&1 </dev/null \
  || { cat "$WORK/s.txt"; fail "secure run failed"; }
f=$(sed -n 's/.*secure sum: ring 32, \([0-9]*\) fractional bits.*/\1/p' "$WORK/s.txt")
P=$(h5attr "$WORK/rs/checkpoint.h5" nparams)
note "nparams=$P frac_bits=$f"
/usr/bin/python3 "$FS_SRCDIR/tests/spy/analyze.py" "$WORK/plain" "$WORK/secure" 4 "$P" "$f" \
  || fail "spy analysis"
note PASS

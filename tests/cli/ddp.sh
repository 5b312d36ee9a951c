#!/bin/sh
# Distributed DP at the aggregation: the securely summed update carries
# discrete Gaussian noise calibrated so that the shares of any H
# (--ddp-min-honest) institutions carry std z*c per coordinate (measured on
# a round whose true update is ~0, for H = N - 1 and H = N), epsilon per
# round equals the accountant of a Gaussian mechanism with the reported
# noise multiplier (z relative to the sensitivity c 2^f + sqrt(d')/2), a noise seed makes runs
# reproducible and resumes bit-identical, and unsafe setups are refused.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
make_fmnist "$WORK/d" 900 200 3 iid
base="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model softmax --insecure-no-auth yes --quiet"
# 1. noise level: lr ~ 0 so every update is ~0; the model moves by the noise
# only.  Default --ddp-min-honest N - 1 = 2: each share has variance (z c)^2 / 2
# so the 2 shares a curious institution does not know carry z c, and the sum
# of all 3 carries z c sqrt(3/2); --ddp-min-honest 3 (all honest): z c.
run_mpi 3 300 "$FEDSILO" train $base --lr 1e-12 --rounds 1 --out "$WORK/clean" || fail "reference run"
for h in 0 3; do
  run_mpi 3 300 "$FEDSILO" train $base --lr 1e-12 --rounds 1 --ddp yes --ddp-clip 0.5 --ddp-noise 0.02 \
      --ddp-min-honest $h --out "$WORK/noise$h" > "$WORK/n$h.txt" 2>&1 \
    || { cat "$WORK/n$h.txt"; fail "ddp run (--ddp-min-honest $h) failed"; }
  cat "$WORK/n$h.txt"
  hh=$h; [ "$h" = 0 ] && hh=2
  grep -q "distributed DP: clip 0.5, noise multiplier .* from the shares of any $hh of the 3 institutions" \
      "$WORK/n$h.txt" || fail "no distributed DP banner naming $hh honest institutions"
  /usr/bin/python3 - "$WORK/noise$h/checkpoint.h5" "$WORK/clean/checkpoint.h5" "$hh" <<'PY' \
    || fail "noise level with --ddp-min-honest $h"
import sys, h5py, numpy as np
d = h5py.File(sys.argv[1])["params"][:].astype(np.float64) - h5py.File(sys.argv[2])["params"][:]
want = 0.02 * 0.5 * np.sqrt(3 / int(sys.argv[3]))
print("params %d: noise mean %.3g, std %.4g (want %.4g)" % (len(d), d.mean(), d.std(), want))
sys.exit(0 if abs(d.std() / want - 1) < 0.05 and abs(d.mean()) < 5 * want / np.sqrt(len(d)) else 1)
PY
done
run_mpi 3 60 "$FEDSILO" train $base --ddp yes --ddp-min-honest 4 --out "$WORK/h4" > "$WORK/h4.txt" 2>&1 \
  && fail "--ddp-min-honest 4 with 3 institutions accepted"
grep -q -- "--ddp-min-honest 4 must be between 1 and the 3 institutions" "$WORK/h4.txt" \
  || { cat "$WORK/h4.txt"; fail "no clear --ddp-min-honest refusal"; }
# 2. epsilon: 3 rounds of a Gaussian mechanism with multiplier z = 2
run_mpi 3 300 "$FEDSILO" train $base --rounds 3 --ddp yes --ddp-noise 2 --ddp-clip 1 --dp-seed 5 \
    --out "$WORK/a" > "$WORK/a.txt" 2>&1 || { cat "$WORK/a.txt"; fail "ddp training failed"; }
z=$(sed -n 's/.*noise multiplier \([0-9.e+-]*\) (exact).*/\1/p' "$WORK/a.txt")
e=$(tail -1 "$WORK/a/metrics.jsonl" | sed 's/.*"ddp_epsilon": \([0-9.e+-]*\).*/\1/')
ref=$("$FEDSILO" dp epsilon --sampling-rate 1 --noise-multiplier "$z" --steps 3 --delta 1e-5 | tail -1)
note "z_eff $z: ddp_epsilon $e, accountant $ref"
awk -v a="$e" -v b="$ref" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; exit !(d <= 1e-5) }' \
  || fail "ddp epsilon $e != accountant $ref"
# 3. same noise seed: identical; resume: bit-identical
run_mpi 3 300 "$FEDSILO" train $base --rounds 1 --ddp yes --ddp-noise 2 --ddp-clip 1 --dp-seed 5 \
    --out "$WORK/b" || fail "ddp 1 round"
run_mpi 3 300 "$FEDSILO" train $base --rounds 3 --ddp yes --ddp-noise 2 --ddp-clip 1 --dp-seed 5 \
    --out "$WORK/b" --resume yes || fail "ddp resume"
[ "$(h5attr "$WORK/a/checkpoint.h5" model_hash)" = "$(h5attr "$WORK/b/checkpoint.h5" model_hash)" ] \
  || fail "ddp resume not bit-identical"
run_mpi 3 300 "$FEDSILO" train $base --rounds 1 --ddp yes --ddp-noise 2 --ddp-clip 1 --dp-seed 6 \
    --out "$WORK/c" || fail "ddp other seed"
[ "$(h5attr "$WORK/c/checkpoint.h5" model_hash)" != "$(h5attr "$WORK/b/checkpoint.h5" model_hash)" ] \
  || fail "noise does not depend on the seed"
# 4. refused: plain aggregation; a ring too small for the noise
run_mpi 2 60 "$FEDSILO" train $base --aggregation plain --ddp yes --out "$WORK/x" > "$WORK/x.txt" 2>&1
[ $? -eq 2 ] && grep -q "needs --aggregation secure" "$WORK/x.txt" || { cat "$WORK/x.txt"; fail "plain+ddp"; }
run_mpi 3 60 "$FEDSILO" train $base --ddp yes --ddp-noise 1e6 --ddp-clip 1e3 --out "$WORK/y" > "$WORK/y.txt" 2>&1
[ $? -eq 2 ] && grep -q "use --ring-bits 64" "$WORK/y.txt" || { cat "$WORK/y.txt"; fail "ring too small"; }
note PASS

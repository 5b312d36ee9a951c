#!/bin/sh
# Differentially private statistics: `fedsilo stats --dp-epsilon` spends the
# requested epsilon over its passes, adds discrete Gaussian noise in the ring
# of the calibrated size to the securely summed histograms (any N - 1 = 2 of
# the 3 shares carry std z * sqrt(d), so the whole sum carries
# z * sqrt(d) * sqrt(3/2), measured against the exact release), and refuses
# to run without a public clipping range or with plain aggregation (the
# review's E4: every institution would see the others' shares).
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
make_fmnist "$WORK/d" 1200 100 3 iid
base="--data $WORK/d/shards/site-%d.h5 --insecure-no-auth yes --quiet --range 0:1 --bins 6"
run_mpi 3 120 "$FEDSILO" stats $base --json "$WORK/exact.json" 2>/dev/null || fail "exact stats"
run_mpi 3 120 "$FEDSILO" stats $base --dp-epsilon 2 --dp-delta 1e-5 --json "$WORK/dp.json" 2>/dev/null \
  || fail "DP stats"
/usr/bin/python3 - "$WORK/exact.json" "$WORK/dp.json" <<'PY' || fail "DP release"
import json, sys, math
e, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
eps, z = p["dp_epsilon"], p["dp_noise_multiplier"]
d = len(p["features"])
diff = [a - b for fe, fp in zip(e["features"], p["features"]) for a, b in zip(fe["hist"], fp["hist"])]
sd = math.sqrt(sum(x * x for x in diff) / len(diff))
want = z * math.sqrt(d) * math.sqrt(3 / 2)
print("epsilon %.6f, z %.4f; histogram noise std %.2f (calibrated %.2f) over %d bins" % (eps, z, sd, want, len(diff)))
ok = abs(eps - 2) < 1e-4 and eps <= 2 + 1e-12 and abs(sd / want - 1) < 0.1 and e["count"] == 1200 and p["count"] != 1200
sys.exit(0 if ok else 1)
PY
run_mpi 3 60 "$FEDSILO" stats --data "$WORK/d/shards/site-%d.h5" --insecure-no-auth yes --bins 4 \
    --dp-epsilon 1 > "$WORK/norange.txt" 2>&1
[ $? -eq 2 ] && grep -q "need a public --range" "$WORK/norange.txt" || { cat "$WORK/norange.txt"; fail "no-range refusal"; }
run_mpi 3 60 "$FEDSILO" stats $base --dp-epsilon 1 --aggregation plain > "$WORK/plain.txt" 2>&1 \
  && fail "DP statistics with plain aggregation accepted (E4)"
grep -q "DP statistics need --aggregation secure" "$WORK/plain.txt" || { cat "$WORK/plain.txt"; fail "plain refusal"; }
note PASS

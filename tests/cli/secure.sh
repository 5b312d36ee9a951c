#!/bin/sh
# Secure aggregation end to end: an authenticated 4-rank run; secure vs
# plain after one round within the fixed-point bound; and attacks that must
# stop every rank with the same authentication error: a wrong identity key,
# a forged signature and an out-of-group DH value injected on the transport,
# and, without a roster, a man in the middle (caught by the canary).
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
make_fmnist "$WORK/d" 1600 400 4 dirichlet --alpha 0.5
make_consortium "$WORK/k" 4
SPY="$FS_BUILDDIR/tests/spy/.libs/libfsspy.so"
[ -r "$SPY" ] || hard "spy library not built"
base="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model mlp:32 --lr 0.05"
auth="--roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key"

# 1. authenticated secure run
run_mpi 4 300 "$FEDSILO" train $base $auth --rounds 2 --out "$WORK/sec" > "$WORK/sec.txt" 2>&1 \
  || { cat "$WORK/sec.txt"; fail "authenticated secure run failed"; }
cat "$WORK/sec.txt"
grep -q 'secure sum: ring 32, .*authenticated' "$WORK/sec.txt" || fail "no secure-sum banner"
grep -q '"aggregation": "secure"' "$WORK/sec/metrics.jsonl" || fail "metrics do not say secure"

# 2. one round secure vs plain: |w_secure - w_plain| <= N 2^-(f+1) + float rounding
f=$(sed -n 's/.*secure sum: ring 32, \([0-9]*\) fractional bits.*/\1/p' "$WORK/sec.txt")
run_mpi 4 300 "$FEDSILO" train $base $auth --rounds 1 --out "$WORK/s1" --quiet 2>/dev/null || fail "secure 1 round"
run_mpi 4 300 "$FEDSILO" train $base --aggregation plain --rounds 1 --out "$WORK/p1" --quiet || fail "plain 1 round"
/usr/bin/python3 - "$WORK/s1/checkpoint.h5" "$WORK/p1/checkpoint.h5" "$f" 4 <<'PY' || fail "secure and plain differ beyond the bound"
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1])["params"][:].astype(np.float64)
b = h5py.File(sys.argv[2])["params"][:].astype(np.float64)
f, N = int(sys.argv[3]), int(sys.argv[4])
# the decoded sum is within N*2^-(f+1) of the exact sum of the float updates; the
# plain float allreduce and the final float additions add a few ulps of |w|
bound = N * 2.0 ** -(f + 1) + 8 * 2.0 ** -24 * np.maximum(np.abs(a), np.abs(b))
d = np.abs(a - b)
print("f = %d: max |w_secure - w_plain| = %.3g, bound %.3g" % (f, d.max(), bound.max()))
sys.exit(0 if np.all(d <= bound) else 1)
PY

expect_auth() {  # expect_auth LABEL REGEX [env...] -- run a 1-round job, expect exit 1 + message
  label=$1; re=$2; shift 2
  env "$@" timeout -k 5 60 "$MPIEXEC" $MPIEXEC_FLAGS -np 4 -x FS_SPY_TAMPER -x LD_PRELOAD \
      "$FEDSILO" train $base $auth --rounds 1 --out "$WORK/$label" > "$WORK/$label.txt" 2>&1 </dev/null
  rc=$?
  cat "$WORK/$label.txt"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$label: exit $rc (expected a clean failure)"
  grep -Eq "$re" "$WORK/$label.txt" || fail "$label: no /$re/"
  [ ! -e "$WORK/$label/checkpoint.h5" ] || fail "$label: a checkpoint was written"
}
# 3. rank 2 runs with rank 1's private key
cp "$WORK/k/site-1.key" "$WORK/k/site-2.key"
expect_auth wrongkey "rank 2: identity key .*site-2.key does not match the roster entry of 'site-2'" \
  FS_SPY_TAMPER= LD_PRELOAD=
make_consortium "$WORK/k" 4
# 4. forged signature: rank 0 receives rank 3's DH message with one bit flipped
expect_auth forged "rank 0: authentication of rank 3 \('site-3'\) failed during key setup" \
  FS_SPY_TAMPER=allgather:0:3 LD_PRELOAD="$SPY"
# 5. an out-of-group DH public value (1) substituted for rank 1's on rank 2, in an
#    unauthenticated session so that the group-membership check (not the
#    signature) is what must catch it
auth="--insecure-no-auth yes"
expect_auth badgroup "rank 2: authentication of rank 1 failed during key setup" \
  FS_SPY_TAMPER=allgather-pub:2:1 LD_PRELOAD="$SPY"
# 6. without a roster, a man in the middle swaps rank 3's DH value for rank 0's on
#    rank 1: key setup cannot notice, but the masks of (1, 3) differ and the
#    canary stops every rank at the first secure sum.
expect_auth canary "secure sum failed authentication in round 0 .*masks did not cancel" \
  FS_SPY_TAMPER=allgather-swap:1:3:0 LD_PRELOAD="$SPY"
auth="--roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key"
# 7. no roster and no explicit opt-out: refused (exit 2) before any key is exchanged
run_mpi 2 60 "$FEDSILO" train $base --rounds 1 --out "$WORK/noauth" > "$WORK/noauth.txt" 2>&1
[ $? -eq 2 ] || { cat "$WORK/noauth.txt"; fail "no-roster run was not refused with status 2"; }
grep -q "needs a consortium roster" "$WORK/noauth.txt" || fail "no-roster message unclear"
note PASS

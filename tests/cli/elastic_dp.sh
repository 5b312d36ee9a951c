#!/bin/sh
# Per-institution privacy budgets across a membership change.  Four
# institutions under DP-SGD train 2 rounds; site-2 leaves and the other three
# continue to round 4 (--membership elastic --exclude site-2, no
# --public-counts: under DP no count is released, the FedAvg weights are
# 1/N).  Asserts: each remaining institution's ledger file, keyed by its
# roster index (site-3 is MPI rank 2 now and keeps privacy-ledger-rank3.txt),
# holds 4 charges and site-2's keeps its 2; the epsilon of round 4 is the
# accountant's for 4 rounds (`fedsilo dp epsilon`); no line releases a count;
# metrics name the members.  Then site-2 rejoining (its ledger 2 records
# behind) is refused on every rank, naming the reason, and the checkpoint
# stays as it was.  And the member map is what the key setup checks: with
# --exclude site-2, rank 2 presenting site-2's key instead of site-3's fails
# authentication naming site-3.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
command -v h5dump >/dev/null || need "h5dump missing (hdf5-tools)"
need_fmnist
make_fmnist "$WORK/d" 800 200 4 iid
make_consortium "$WORK/k" 4
common="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model softmax --lr 0.1
 --dp-sgd yes --dp-noise 1.1 --dp-clip 1.0 --dp-sampling-rate 0.05
 --roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key --membership elastic --quiet"
o=$WORK/run
charges() { grep -c '^charge' "$o/privacy-ledger-rank$1.txt"; }

run_mpi 4 120 "$FEDSILO" train $common --rounds 2 --out "$o" > "$WORK/a.txt" 2>&1 ||
  { cat "$WORK/a.txt"; fail "rounds 1-2 with 4 institutions failed"; }
run_mpi 3 120 "$FEDSILO" train $common --rounds 4 --out "$o" --resume auto --exclude site-2 \
  > "$WORK/b.txt" 2>&1 || { cat "$WORK/b.txt"; fail "rounds 3-4 without site-2 failed"; }
for k in 0 1 3; do [ "$(charges $k)" = 4 ] || fail "site-$k: $(charges $k) charges, expected 4"; done
[ "$(charges 2)" = 2 ] || fail "site-2 (absent in rounds 3-4): $(charges 2) charges, expected 2"
[ ! -e "$o/privacy-ledger-rank4.txt" ] || fail "a ledger file keyed by MPI rank appeared"
e=$(tail -1 "$o/metrics.jsonl" | sed -n 's/.*"epsilon": \([0-9.e+-]*\).*/\1/p')
# 4 rounds of ceil(1/q) = 20 steps each
e80=$("$FEDSILO" dp epsilon --sampling-rate 0.05 --noise-multiplier 1.1 --steps 80 --delta 1e-5 | tail -1)
awk -v a="$e" -v b="$e80" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; exit !(d <= 1e-8) }' ||
  fail "epsilon after the change $e != the accountant's for 4 rounds $e80"
grep -q '"samples"\|"train_loss"\|"val_' "$o/metrics.jsonl" && fail "a count or exact sum is released under DP"
sed -n 2p "$o/metrics.jsonl" | grep -q '"members": \["site-0", "site-1", "site-2", "site-3"\]' ||
  fail "round 2 does not name 4 members"
sed -n 3p "$o/metrics.jsonl" | grep -q '"members": \["site-0", "site-1", "site-3"\]' ||
  fail "round 3 does not name 3 members"
note "after the change: ledgers 4/4/2/4 charges by roster index, epsilon $e (4 rounds: $e80)"

h=$(h5attr "$o/checkpoint.h5" model_hash)
run_mpi 4 60 "$FEDSILO" train $common --rounds 5 --out "$o" --resume auto > "$WORK/c.txt" 2>&1 &&
  fail "site-2 rejoined with a ledger 2 rounds behind"
grep -q 'rejoining under DP is not supported' "$WORK/c.txt" || { cat "$WORK/c.txt"; fail "no clear refusal"; }
[ "$(h5attr "$o/checkpoint.h5" model_hash)" = "$h" ] || fail "the refused rejoin changed the checkpoint"
[ "$(charges 2)" = 2 ] || fail "the refused rejoin charged site-2"
note "site-2 rejoining under DP refused"

mkdir "$WORK/bad" && cp "$WORK/k"/site-*.key "$WORK/bad/" && cp "$WORK/k/site-2.key" "$WORK/bad/site-3.key"
run_mpi 3 60 "$FEDSILO" train $common --rounds 1 --out "$WORK/x" --exclude site-2 \
    --identity "$WORK/bad/site-%d.key" > "$WORK/x.txt" 2>&1 && fail "a wrong key was accepted"
grep -q "does not match the roster entry of 'site-3' (rank 2)" "$WORK/x.txt" ||
  { cat "$WORK/x.txt"; fail "the wrong key of rank 2 (site-3) is not named"; }
note "PASS"

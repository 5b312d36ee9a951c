#!/bin/sh
# What a run under differential privacy releases, and a privacy ledger that
# a crash cannot make forget.  Two institutions under DP-SGD (with two, each
# could read the other's exact values from any exact sum):
# - by default metrics.jsonl and the progress line carry only DP-covered and
#   post-processed values (epsilon, the model's metrics on the shared test
#   file): no sample counts, training loss, clipping counts or validation
#   metrics; --standardize (exact moments) is refused;
# - with --dp-public-metrics yes they are released and each is listed as
#   public ("public": [...] in metrics.jsonl, a tag on the progress line);
# - the per-institution ledger file: a kill -9 right after round 3's sum
#   (before its metrics line and checkpoint) leaves 3 charges; the resumed
#   run redoes round 3 and its epsilon counts 5 charges for 4 rounds (the
#   accountant of 100 steps, not 80); ledgers one record apart (a crash
#   between two institutions' appends) are reconciled upwards; two apart,
#   or a checkpoint counting more than the file, are refused on every rank.
. "${FS_SRCDIR:-.}/tests/lib.sh"
need_fmnist
make_fmnist "$WORK/d" 600 200 2 iid --val-fraction 0.2
common="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model softmax --lr 0.1
 --dp-sgd yes --dp-noise 1.1 --dp-clip 1.0 --dp-sampling-rate 0.05 --dp-seed 7 --insecure-no-auth yes"
field() { tail -1 "$1" | sed -n "s/.*\"$2\": \([0-9.e+-]*\).*/\1/p"; }

# 1. default: only DP-covered and post-processed values
run_mpi 2 120 "$FEDSILO" train $common --rounds 2 --out "$WORK/a" > "$WORK/a.txt" 2>&1 \
  || { cat "$WORK/a.txt"; fail "DP-SGD run failed"; }
m=$(tail -1 "$WORK/a/metrics.jsonl")
for k in train_loss samples clipped val_loss val_accuracy public; do
  case $m in *"\"$k\""*) fail "metrics.jsonl releases $k under DP without --dp-public-metrics: $m";; esac
done
case $m in *'"epsilon"'*'"test_accuracy"'*|*'"test_accuracy"'*'"epsilon"'*) ;;
  *) fail "metrics.jsonl lacks epsilon or test metrics: $m";; esac
grep '^round 2/2' "$WORK/a.txt" | grep -q 'train_loss\|val_' && fail "progress line releases exact sums"
# 2. opt in: the same values, each listed as public
run_mpi 2 120 "$FEDSILO" train $common --rounds 2 --dp-public-metrics yes --out "$WORK/b" \
    > "$WORK/b.txt" 2>&1 || { cat "$WORK/b.txt"; fail "--dp-public-metrics yes run failed"; }
m=$(tail -1 "$WORK/b/metrics.jsonl")
for k in train_loss samples clipped val_loss; do
  case $m in *"\"$k\""*) ;; *) fail "opted-in metrics lack $k: $m";; esac
done
case $m in *'"public": ["samples", "train_loss", "clipped", "val_*"]'*) ;;
  *) fail "the public values are not listed: $m";; esac
grep '^round 2/2' "$WORK/b.txt" | grep -q 'public, not in eps: samples, train_loss, clipped, val_\*' \
  || { cat "$WORK/b.txt"; fail "progress line does not tag the public values"; }
[ "$(field "$WORK/a/metrics.jsonl" epsilon)" = "$(field "$WORK/b/metrics.jsonl" epsilon)" ] \
  || fail "the epsilon depends on --dp-public-metrics"
# --standardize under DP: refused by default, public when opted in
run_mpi 2 60 "$FEDSILO" train $common --rounds 1 --standardize yes --out "$WORK/s" > "$WORK/s.txt" 2>&1 \
  && fail "--standardize under DP accepted without --dp-public-metrics"
grep -q 'standardize yes releases exact sums.*--dp-public-metrics yes' "$WORK/s.txt" \
  || { cat "$WORK/s.txt"; fail "no clear --standardize refusal"; }
run_mpi 2 60 "$FEDSILO" train $common --rounds 1 --standardize yes --dp-public-metrics yes \
    --out "$WORK/s2" > "$WORK/s2.txt" 2>&1 || { cat "$WORK/s2.txt"; fail "--standardize opted in failed"; }
grep -q '"public": \[.*"standardize (round 0)"\]' "$WORK/s2/metrics.jsonl" \
  || fail "standardization moments not listed as public"

# 3. the ledger file survives a kill -9 between release and checkpoint
k="$WORK/k"
run_mpi 2 120 "$FEDSILO" train $common --rounds 2 --quiet --out "$k" || fail "first 2 rounds"
[ "$(grep -c '^charge' "$k/privacy-ledger-rank0.txt")" = 2 ] || fail "2 rounds, not 2 charges"
FEDSILO_TEST_KILL_AFTER_RELEASE=3 run_mpi 2 120 -x FEDSILO_TEST_KILL_AFTER_RELEASE "$FEDSILO" train \
    $common --rounds 4 --resume yes --quiet --out "$k" > "$WORK/kill.txt" 2>&1 \
  && fail "the kill hook did not fire"
for r in 0 1; do
  [ "$(grep -c '^charge' "$k/privacy-ledger-rank$r.txt")" = 3 ] || fail "rank $r: round 3 not charged before the kill"
done
[ "$(h5attr "$k/checkpoint.h5" round)" = 2 ] || fail "the kill was not before round 3's checkpoint"
run_mpi 2 120 "$FEDSILO" train $common --rounds 4 --resume yes --out "$k" > "$WORK/res.txt" 2>&1 \
  || { cat "$WORK/res.txt"; fail "resume after the kill"; }
grep -q 'privacy ledger: 3 rounds charged by earlier runs' "$WORK/res.txt" || fail "no ledger replay message"
e=$(field "$k/metrics.jsonl" epsilon)
e100=$("$FEDSILO" dp epsilon --sampling-rate 0.05 --noise-multiplier 1.1 --steps 100 --delta 1e-5 | tail -1)
e80=$("$FEDSILO" dp epsilon --sampling-rate 0.05 --noise-multiplier 1.1 --steps 80 --delta 1e-5 | tail -1)
note "epsilon after the kill and resume: $e (5 charges: $e100; without the replay: $e80)"
awk -v a="$e" -v b="$e100" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; exit !(d <= 1e-8) }' \
  || fail "resumed epsilon $e is not the 5-charge epsilon $e100"
# one record apart (a crash between the two appends): charged upwards
cp -r "$k" "$WORK/k1"
sed -i '/^charge 5/d' "$WORK/k1/privacy-ledger-rank1.txt"
run_mpi 2 120 "$FEDSILO" train $common --rounds 5 --resume yes --out "$WORK/k1" > "$WORK/k1.txt" 2>&1 \
  || { cat "$WORK/k1.txt"; fail "ledgers one record apart not reconciled"; }
grep -q 'rank 1: privacy ledger .* holds 4 charged rounds, another institution.s 5' "$WORK/k1.txt" \
  || fail "no reconciliation warning"
for r in 0 1; do
  [ "$(grep -c '^charge' "$WORK/k1/privacy-ledger-rank$r.txt")" = 6 ] || fail "rank $r: not 6 charges"
done
# two apart (a file replaced): refused on every rank
cp -r "$k" "$WORK/k2"
sed -i '/^charge [45]/d' "$WORK/k2/privacy-ledger-rank1.txt"
run_mpi 2 60 "$FEDSILO" train $common --rounds 5 --resume yes --out "$WORK/k2" > "$WORK/k2.txt" 2>&1 \
  && fail "ledgers two records apart accepted"
grep -q 'privacy ledger files in .* hold between 3 and 5 charged rounds' "$WORK/k2.txt" \
  || { cat "$WORK/k2.txt"; fail "no clear refusal of diverging ledgers"; }
# a checkpoint that counts more than the file (the file emptied): refused
cp -r "$k" "$WORK/k3"
for r in 0 1; do sed -i '/^charge/d' "$WORK/k3/privacy-ledger-rank$r.txt"; done
run_mpi 2 60 "$FEDSILO" train $common --rounds 5 --resume yes --out "$WORK/k3" > "$WORK/k3.txt" 2>&1 \
  && fail "a checkpoint with more budget than the ledger file accepted"
grep -q 'refused (its privacy budget disagrees with this institution.s privacy ledger file)' \
    "$WORK/k3.txt" || { cat "$WORK/k3.txt"; fail "no clear refusal of the checkpoint"; }
note PASS

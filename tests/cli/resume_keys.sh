#!/bin/sh
# Keys are per job (docs/security.md, "Why nonce state is not checkpointed"):
# a resumed job replays round numbers, hence secure-sum nonces (round,
# vector id), but under a fresh authenticated key exchange, so no (key,
# nonce) pair is ever used twice; and no key material is checkpointed.
#
# Three 3-rank jobs under the message spy (tests/spy/fs_mpispy.c):
#   A  rounds 1..3 uninterrupted
#   B  rounds 1..2, checkpoint at round 2
#   C  --resume yes from B's checkpoint: round 3 again
# tests/spy/nonce_reuse.py then shows, for every secure sum two jobs ran with
# the same nonce (round 0 in all three, rounds 1-2 in A and B, round 3 in A
# and C) on every rank: the revealed sums are bit-identical (same unmasked
# inputs) while the masked contributions differ in every word (new keys);
# key-exchange nonces, DH messages and session ids differ between jobs; and
# the checkpoints hold none of those bytes, and only known datasets and
# attributes.  A control run of the analyzer on job A against itself (keys
# reused by construction) must fail, so the check can fail.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
PY=/usr/bin/python3
$PY -c 'import numpy' 2>/dev/null || hard "python3-numpy missing (scripts/install-deps.sh data)"
command -v h5dump >/dev/null 2>&1 || hard "h5dump missing (hdf5-tools)"
make_fmnist "$WORK/d" 600 100 3 iid
make_consortium "$WORK/k" 3
SPY="$FS_BUILDDIR/tests/spy/.libs/libfsspy.so"
[ -r "$SPY" ] || hard "no spy library at $SPY (make check builds it)"
common="--data $WORK/d/shards/site-%d.h5 --test $WORK/d/test.h5 --model mlp:16 --lr 0.05
 --roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key"

# spied JOB ARGS...: one training job with its spy records in WORK/spy-JOB
# and its output in WORK/JOB.txt.
spied() {
  job=$1; shift
  mkdir -p "$WORK/spy-$job"
  FS_SPY_DIR="$WORK/spy-$job" LD_PRELOAD="$SPY" run_mpi 3 300 -x FS_SPY_DIR -x LD_PRELOAD \
      "$FEDSILO" train $common "$@" > "$WORK/$job.txt" 2>&1 || { cat "$WORK/$job.txt"; fail "job $job failed"; }
}
spied A --rounds 3 --out "$WORK/full" --quiet
spied B --rounds 2 --out "$WORK/part" --quiet
[ "$(h5attr "$WORK/part/checkpoint.h5" round)" = 2 ] || fail "job B's checkpoint is not at round 2"
spied C --rounds 3 --out "$WORK/part" --resume yes --quiet
a=$(h5attr "$WORK/full/checkpoint.h5" model_hash); c=$(h5attr "$WORK/part/checkpoint.h5" model_hash)
note "model hash uninterrupted=$a resumed=$c"
[ -n "$a" ] && [ "$a" = "$c" ] || fail "the resumed model differs from the uninterrupted one"

# Session ids (rank 0's "secure sum: ...; session <16 hex>" line): one per job, all distinct.
sids=""
for j in A B C; do
  s=$(sed -n 's/.*secure sum: .*; session \([0-9a-f]\{16\}\)$/\1/p' "$WORK/$j.txt")
  [ -n "$s" ] || { cat "$WORK/$j.txt"; fail "job $j logged no session id"; }
  note "job $j session $s"
  case " $sids " in *" $s "*) fail "job $j reuses session id $s" ;; esac
  sids="$sids $s"
done

# Checkpoints: only known datasets and attributes (no key, seed, nonce or
# session state), and none of the key-exchange bytes (checked below).
allowed=" params server_m server_v standardize_mean standardize_scale dp_rdp ddp_rdp"
allowed="$allowed config_hash d fedsilo_format format_version model model_hash nparams nsilos"
allowed="$allowed num_classes round seed server_opt server_steps task membership "
for ck in "$WORK/full/checkpoint.h5" "$WORK/part/checkpoint.h5"; do
  names=$(h5dump -H "$ck" | sed -n 's/^ *\(DATASET\|ATTRIBUTE\|GROUP\) "\([^"]*\)".*/\2/p' | grep -v '^/$')
  [ -n "$names" ] || fail "cannot list $ck"
  for n in $names; do
    case $allowed in
      *" $n "*) ;;
      *) fail "$ck holds an unexpected object '$n' (key material? extend the allowlist only after review)" ;;
    esac
  done
  if printf '%s\n' $names | grep -Eiq 'key|nonce|sid|session|secret|mask|prg|dh_'; then
    fail "$ck has a key-like object name"
  fi
done
note "checkpoint objects: $(printf '%s ' $names)"

FS_SESSION_IDS="$sids" $PY "$FS_SRCDIR/tests/spy/nonce_reuse.py" 3 "$WORK/spy-A:1" "$WORK/spy-B:1" \
    "$WORK/spy-C:3" -- "$WORK/full/checkpoint.h5" "$WORK/part/checkpoint.h5" > "$WORK/verdict.txt" 2>&1
rc=$?
cat "$WORK/verdict.txt"
[ $rc -eq 0 ] || fail "nonce/key freshness across resumes"
# Control: job A against a copy of itself is what key reuse would look like.
cp -r "$WORK/spy-A" "$WORK/spy-A2"
$PY "$FS_SRCDIR/tests/spy/nonce_reuse.py" 3 "$WORK/spy-A:1" "$WORK/spy-A2:1" > "$WORK/control.txt" 2>&1 \
  && { cat "$WORK/control.txt"; fail "control: the analyzer did not flag reused keys"; }
grep -q 'reused across jobs' "$WORK/control.txt" || { cat "$WORK/control.txt"; fail "control: unexpected verdict"; }
note "control: reuse detected ($(grep -c 'reused across jobs' "$WORK/control.txt") flagged comparisons)"
note PASS

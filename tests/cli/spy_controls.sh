#!/bin/sh
# Positive controls of the message spy: each leak class is injected into
# what the real program sends (FS_SPY_MUTATE in tests/spy/fs_mpispy.c, the
# preloaded test library; libfedsilo itself is unchanged) and must be flagged
# by the same detector (tests/spy/analyze.py) with the right class:
#   raw_float      (a) the raw float update sent as well (MPI_Allgather)
#   stats_unmasked (b) statistics sent unmasked
#   partial_unmask (c) 1% of the coordinates unmasked
#   public_key     (d) masks keyed by public values (two identical jobs)
#   nonce_reuse    (e) a (key, nonce) reused in a later round
#   sendrecv       (f) the raw update over MPI_Isend/MPI_Recv
#   secret_leak    a key derived in the key exchange sent (MPI_Allgather)
# The honest runs pass the same detector in tests/cli/spy.sh.  partial_unmask
# runs the pipelined model of spy.sh (the mutation follows the chunks of
# MPI_Iallreduce); the other controls use mlp:16 to keep the test fast.
# Every mutated run must still finish (the mutations keep the sums exact).
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
. "$FS_SRCDIR/tests/spy/spylib.sh"
spy_setup
train="$(echo "$SPY_TRAIN" | sed 's/mlp:384/mlp:16/')"
# expect NAME CLASS DIR [DIR2]: the detector fails and names CLASS
expect() {
  name=$1; cls=$2; shift 2
  spy_verdict "$name" "$@" && { cat "$1/../verdict.txt"; fail "$name: leak not flagged"; }
  tail -1 "$1/../verdict.txt" | grep -q " $cls:" || { cat "$1/../verdict.txt"; fail "$name: not flagged as $cls"; }
}
for m in raw_float:raw-equal partial_unmask:subset nonce_reuse:nonce-reuse sendrecv:raw-equal; do
  args=$train; [ "${m%%:*}" = partial_unmask ] && args=$SPY_TRAIN
  # shellcheck disable=SC2086
  spy_run "$WORK/${m%%:*}" "${m%%:*}" $args --out "$WORK/${m%%:*}/run"
  expect "${m%%:*}" "${m#*:}" "$WORK/${m%%:*}/spy"
done
# shellcheck disable=SC2086
spy_run "$WORK/stats_unmasked" stats_unmasked $SPY_STATS
expect stats_unmasked subset "$WORK/stats_unmasked/spy"
# shellcheck disable=SC2086
spy_run "$WORK/pk1" public_key $SPY_STATS
# shellcheck disable=SC2086
spy_run "$WORK/pk2" public_key $SPY_STATS
expect public_key public-key "$WORK/pk1/spy" "$WORK/pk2/spy"
# shellcheck disable=SC2086
spy_run "$WORK/secret_leak" secret_leak $SPY_STATS
expect secret_leak secret "$WORK/secret_leak/spy"
note PASS

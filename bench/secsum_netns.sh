#!/bin/bash
# bench/secsum_netns.sh - opt-in benchmark: `fedsilo bench secsum` over TCP
# between simulated hosts (network namespaces, the HPC test tier's set-up:
# tests/infra/netns-cluster.sh), N = 4 and 6 ranks on 3 hosts, on a clean
# network and with DELAY ms (default 5) added to every packet into each
# host.  Prints the naive / best plain / secure lines of each run and keeps
# the full outputs.  Numbers only, nothing is judged.
#
# usage (root, from the source tree):
#   bench/secsum_netns.sh [BUILD_DIR]     BUILD_DIR defaults to ./build
# Environment: FS_NETNS_SUBNET (default 10.78.0, a /24 that exists only in
# the namespaces), FS_BENCH_SIZES (default 100000,1000000,10000000),
# FS_BENCH_REPS (default 5 clean, 3 delayed), FS_BENCH_DELAY_MS (default 5),
# FS_BENCH_OUT (directory for the outputs, default ./secsum-netns-results).
# Namespace names are unique to this run (prefix fsb<pid>-) and removed in a
# trap, but the set-up is heavy: do not run it while other tests use
# network namespaces.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
FEDSILO=$BUILD/fedsilo
INFRA=$SRC/tests/infra
SIZES=${FS_BENCH_SIZES:-100000,1000000,10000000}
DELAY=${FS_BENCH_DELAY_MS:-5}
OUT=${FS_BENCH_OUT:-$PWD/secsum-netns-results}
[ "$(id -u)" = 0 ] || { echo "secsum_netns: needs root (network namespaces)" >&2; exit 2; }
for b in ip iptables python3 unshare mpirun; do
  command -v "$b" >/dev/null || { echo "secsum_netns: $b missing (scripts/install-deps.sh netns)" >&2; exit 2; }
done
[ -x "$FEDSILO" ] || { echo "secsum_netns: no $FEDSILO (build first)" >&2; exit 2; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
TMP=$(mktemp -d /tmp/fedsilo-bench-netns.XXXXXX)
export FS_NETNS_PREFIX=fsb$$- FS_NETNS_DIR=$TMP/ns
export FS_NETNS_SUBNET=${FS_NETNS_SUBNET:-10.78.0} FS_NETNS_SLOTS=2
export FS_NETNS_MAP=$FS_NETNS_DIR/hosts.map
cleanup() {
  st=$?
  timeout 60 bash "$INFRA/netns-cluster.sh" down || true
  rm -rf "$TMP"
  exit "$st"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP
mkdir -p "$OUT"

timeout 30 bash "$INFRA/netns-cluster.sh" up 3
# shellcheck disable=SC2207
FLAGS=($(bash "$INFRA/netns-cluster.sh" flags))
# run NP TAG REPS EXTRA...: one bench run in host 1 across the 3 hosts, ranks
# placed round-robin over the hosts (4 ranks: 2 + 1 + 1; 6 ranks: 2 each).
run() {
  local np=$1 tag=$2 reps=$3; shift 3
  local f="$OUT/N$np-$tag.txt"
  echo "== N=$np on 3 hosts, $tag"
  timeout -k 10 3600 "$INFRA/mpi-rsh-netns" "${FS_NETNS_PREFIX}1" mpirun "${FLAGS[@]}" \
    --map-by node -np "$np" "$FEDSILO" bench secsum --sizes "$SIZES" --reps "$reps" --all "$@" \
    </dev/null >"$f" 2>&1 || { cat "$f"; echo "secsum_netns: run N=$np $tag failed" >&2; return 1; }
  grep -E '^(secsum:|d=|  best plain:|  breakdown|  secure sum,)' "$f" | sed 's/(|secure - plain|.*//'
}

for np in 4 6; do run "$np" clean "${FS_BENCH_REPS:-5}" --pipeline 256x2s; done
for h in 1 2 3; do timeout 30 bash "$INFRA/netns-cluster.sh" impair "$FS_NETNS_SUBNET.$h" "$DELAY" 0; done
# Under delay more reductions in flight may pay: time deeper schedules too,
# and separate receive buffers (reduce-scatter + allgather inside Open MPI).
for np in 4 6; do run "$np" "delay${DELAY}ms" "${FS_BENCH_REPS:-3}" --pipeline 256x2s,256x8,1024x4; done
echo "secsum_netns: full outputs in $OUT"

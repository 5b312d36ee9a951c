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
# FS_BENCH_DELAY_SIZES (default FS_BENCH_SIZES), FS_BENCH_REPS (default 5
# clean, 3 delayed), FS_BENCH_DELAY_REPS, FS_BENCH_DELAY_MS (default 5),
# FS_BENCH_NP (default "4 6"), FS_BENCH_PHASES (default "clean delay"),
# FS_BENCH_PIPELINE / FS_BENCH_DELAY_PIPELINE (the extra secure-sum
# schedules timed next to the automatic one, `bench secsum --pipeline`),
# FS_BENCH_PLAIN (all or blocking, `bench secsum --plain`: the nonblocking
# plain pipelines take seconds each over TCP; default all),
# FS_BENCH_OUT (directory for the outputs, default ./secsum-netns-results).
# Each run's output starts with the date and the load average.
# Namespace names are unique to this run (prefix fsb<pid>-) and removed in a
# trap, but the set-up is heavy: do not run it while other tests use
# network namespaces.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
FEDSILO=$BUILD/fedsilo
INFRA=$SRC/tests/infra
SIZES=${FS_BENCH_SIZES:-100000,1000000,10000000}
DSIZES=${FS_BENCH_DELAY_SIZES:-$SIZES}
NPS=${FS_BENCH_NP:-4 6}
PHASES=${FS_BENCH_PHASES:-clean delay}
# the pre-blocking automatic schedule (256 KiB x 2 on libnbc) and blocking chunks
PIPE=${FS_BENCH_PIPELINE:-256x2s,16384xb,4096xb}
DPIPE=${FS_BENCH_DELAY_PIPELINE:-256x2s,256x8,1024x4,16384xb}
PLAIN=${FS_BENCH_PLAIN:-all}
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
# run NP TAG REPS SIZES EXTRA...: one bench run in host 1 across the 3 hosts,
# ranks placed round-robin over the hosts (4 ranks: 2 + 1 + 1; 6 ranks: 2 each).
run() {
  local np=$1 tag=$2 reps=$3 sizes=$4; shift 4
  local f="$OUT/N$np-$tag.txt"
  echo "== N=$np on 3 hosts, $tag ($(date -u '+%F %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee "$f.head"
  timeout -k 10 3600 "$INFRA/mpi-rsh-netns" "${FS_NETNS_PREFIX}1" mpirun "${FLAGS[@]}" \
    --map-by node -np "$np" "$FEDSILO" bench secsum --sizes "$sizes" --reps "$reps" --all --plain "$PLAIN" "$@" \
    </dev/null >"$f" 2>&1 || { cat "$f"; echo "secsum_netns: run N=$np $tag failed" >&2; return 1; }
  cat "$f.head" "$f" >"$f.tmp" && mv "$f.tmp" "$f" && rm -f "$f.head"
  grep -E '^(secsum:|d=|  best plain:|  minimum|  breakdown|  secure sum,)' "$f" | sed 's/(|secure - plain|.*//'
}

case " $PHASES " in *" clean "*)
  for np in $NPS; do run "$np" clean "${FS_BENCH_REPS:-5}" "$SIZES" --pipeline "$PIPE"; done ;;
esac
case " $PHASES " in *" delay "*)
  for h in 1 2 3; do timeout 30 bash "$INFRA/netns-cluster.sh" impair "$FS_NETNS_SUBNET.$h" "$DELAY" 0; done
  # Under delay more reductions in flight may pay: time deeper schedules too,
  # and separate receive buffers (reduce-scatter + allgather inside Open MPI).
  for np in $NPS; do
    run "$np" "delay${DELAY}ms" "${FS_BENCH_DELAY_REPS:-${FS_BENCH_REPS:-3}}" "$DSIZES" --pipeline "$DPIPE"
  done ;;
esac
echo "secsum_netns: full outputs in $OUT"

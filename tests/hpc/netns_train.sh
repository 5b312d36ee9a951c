#!/bin/bash
# HPC tier: fedsilo across simulated hosts.  tests/infra/netns-cluster.sh
# makes 3 network-namespace "hosts" (own IP on a private /24, own hostname via
# a UTS namespace) joined by a bridge; mpirun starts in host 1 and reaches the
# others through tests/infra/mpi-rsh-netns (its ssh), so ranks talk TCP
# between hosts and shared memory within one.  Checks:
#   1. 6 ranks land on 3 distinct hosts (2 slots each);
#   2. a secure (roster-authenticated) 6-institution run completes;
#   3. with 5 ms delay and 1 % loss on packets into host 2 (netem if the
#      kernel has it, else iptables DROP + NFQUEUE delay line), the same run
#      still completes, its packets really went through the impairment, and
#      the model is bit-identical (model_hash and parameters) to the clean run.
# Namespaces, iptables rules and the delay helper are removed in a trap.
# FS_NETNS_SUBNET (default 10.77.0) picks the private /24; it exists only
# inside the test's namespaces.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"

[ "$(id -u)" = 0 ] || need "needs root (network namespaces)"
for b in ip iptables python3 unshare h5dump; do
  command -v "$b" >/dev/null || need "$b missing (scripts/install-deps.sh netns)"
done
need_fmnist

INFRA=$FS_SRCDIR/tests/infra
export FS_NETNS_PREFIX=fh$$- FS_NETNS_DIR=$WORK/netns FS_NETNS_SUBNET=${FS_NETNS_SUBNET:-10.77.0}
export FS_NETNS_MAP=$FS_NETNS_DIR/hosts.map
P=$FS_NETNS_PREFIX
cleanup() {
  st=$?
  timeout 30 bash "$INFRA/netns-cluster.sh" down
  rm -rf "$WORK"
  exit "$st"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

t0=$(date +%s)
timeout 30 bash "$INFRA/netns-cluster.sh" up 3 || hard "netns-cluster up failed"
# shellcheck disable=SC2207
FLAGS=($(bash "$INFRA/netns-cluster.sh" flags))
# mpirun_ns TIMEOUT ARGS...: mpirun in host 1 across the 3 hosts.  Like ssh,
# the agent joins the arguments with spaces and the shell re-parses them: no
# argument may contain spaces or quotes.
mpirun_ns() {
  tmo=$1; shift
  timeout -k 5 "$tmo" "$INFRA/mpi-rsh-netns" "${P}1" "$MPIEXEC" "${FLAGS[@]}" "$@" </dev/null
}

# 1. placement: 6 ranks, 3 hosts
echo 'echo "rank $OMPI_COMM_WORLD_RANK host $(hostname)"' > "$WORK/where.sh"
mpirun_ns 60 -np 6 sh "$WORK/where.sh" > "$WORK/where.txt" 2>&1 ||
  { cat "$WORK/where.txt"; fail "mpirun across the namespaces failed"; }
nh=$(sed -n 's/^rank [0-9]* host //p' "$WORK/where.txt" | sort -u | wc -l)
[ "$nh" = 3 ] || { cat "$WORK/where.txt"; fail "ranks on $nh hosts, want 3"; }
note "6 ranks on 3 hosts: $(sed -n 's/^rank [0-9]* host //p' "$WORK/where.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"

make_fmnist "$WORK/d" 1200 300 6 dirichlet --alpha 0.5
make_consortium "$WORK/k" 6
args=(train --data "$WORK/d/shards/site-%d.h5" --test "$WORK/d/test.h5" --model mlp:16 --rounds 5
      --roster "$WORK/k/roster.ini" --identity "$WORK/k/site-%d.key")

# 2. clean network
ts=$(date +%s.%N)
mpirun_ns 180 -np 6 "$FEDSILO" "${args[@]}" --out "$WORK/clean" > "$WORK/clean.txt" 2>&1 ||
  { cat "$WORK/clean.txt"; fail "secure run across hosts failed"; }
tc=$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
grep -q 'authenticated' "$WORK/clean.txt" || fail "no authenticated secure sum"
a=$(h5attr "$WORK/clean/checkpoint.h5" model_hash)
[ "$(h5attr "$WORK/clean/checkpoint.h5" round)" = 5 ] || fail "clean run: checkpoint not at round 5"
note "clean: 6 ranks / 3 hosts, 5 rounds in ${tc}s, model_hash $a"

# 3. delay + loss into host 2
timeout 30 bash "$INFRA/netns-cluster.sh" impair "$FS_NETNS_SUBNET.2" 5 1 || hard "impair failed"
ts=$(date +%s.%N)
mpirun_ns 300 -np 6 "$FEDSILO" "${args[@]}" --out "$WORK/bad" > "$WORK/bad.txt" 2>&1 ||
  { cat "$WORK/bad.txt"; fail "run with delay and loss failed"; }
tb=$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
kind=$(cat "$FS_NETNS_DIR/impair-${P}2")
if [ "$kind" = iptables ]; then
  counts=$(ip netns exec "${P}2" iptables -w -L FS_IMPAIR -v -x -n | awk 'NR > 2 {print $3 ":" $1}' | tr '\n' ' ')
  queued=$(ip netns exec "${P}2" iptables -w -L FS_IMPAIR -v -x -n | awk '$3 == "NFQUEUE" {print $1}')
  [ "${queued:-0}" -gt 0 ] || fail "no packet went through the delay line ($counts)"
  note "impairment (iptables, packets: $counts)"
fi
b=$(h5attr "$WORK/bad/checkpoint.h5" model_hash)
note "5 ms delay + 1 % loss into host 2 ($kind): 5 rounds in ${tb}s, model_hash $b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "model differs under delay/loss: $a vs $b"
h5dump -d /params "$WORK/clean/checkpoint.h5" | grep -v '^HDF5' > "$WORK/p1"
h5dump -d /params "$WORK/bad/checkpoint.h5" | grep -v '^HDF5' > "$WORK/p2"
cmp -s "$WORK/p1" "$WORK/p2" || fail "parameter bytes differ"
timeout 30 bash "$INFRA/netns-cluster.sh" clear "$FS_NETNS_SUBNET.2" >/dev/null
note "PASS in $(( $(date +%s) - t0 )) s"

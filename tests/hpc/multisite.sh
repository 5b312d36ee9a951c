#!/bin/bash
# HPC tier: one job per site.  tests/infra/netns-cluster.sh makes 3
# network-namespace "hosts"; an ompi-server runs in host 1, and each site is
# its own `mpirun -np 1` in its own host (no launcher reaches across hosts:
# the jobs meet only through the rendezvous), joined with
# `fedsilo train --site-rendezvous SERVICE --site NAME`.  Checks:
#   1. three sites train to the same model_hash (and parameter bytes) as one
#      `mpirun -np 3` job with the same data, roster and options;
#   2. a site that never arrives: both waiting sites exit 1 with "site site-2
#      did not join within T s via rendezvous ..." (--site-timeout);
#   3. a site killed (kill -9) after joining, in training: the other two exit
#      1 with the watchdog's message (--timeout);
#   4. a site claiming another institution's name (site-2's key presented as
#      site-0) and a site with a forged roster copy (its own key as site-0's)
#      are refused on every site (identity/roster check of the key setup);
#   5. a --site name outside the roster: status 2 and a clear message;
#   6. a publisher that gives up at --site-timeout frees its rendezvous name;
#      the name of one killed after publishing stays on the server and the
#      next publisher refuses it with a clear message.
# Every host has a firewall (iptables INPUT) that accepts TCP only on the
# ports docs/hpc.md tells an HPC center to open, pinned with Open MPI's MCA
# parameters: 20000 (ompi-server), 20010-20099 (oob: mpirun and its
# processes), 20100-20199 (btl tcp); every other TCP connection is reset and
# counted, and the test asserts the count stays 0 and the open ports were used.
# Every site runs in its own directory with --identity keys/site-%d.key and
# --roster keys/roster.ini (relative: each site's own files, the same
# option strings).  Namespaces, the ompi-server and stray jobs are removed in
# a trap.  FS_NETNS_SUBNET (default 10.76.0) picks the private /24.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"

[ "$(id -u)" = 0 ] || need "needs root (network namespaces)"
for b in ip iptables unshare h5dump ompi-server; do
  command -v "$b" >/dev/null || need "$b missing (scripts/install-deps.sh netns)"
done
need_fmnist

INFRA=$FS_SRCDIR/tests/infra
export FS_NETNS_PREFIX=fsm$$- FS_NETNS_DIR=$WORK/netns FS_NETNS_SUBNET=${FS_NETNS_SUBNET:-10.76.0}
export FS_NETNS_MAP=$FS_NETNS_DIR/hosts.map
P=$FS_NETNS_PREFIX
NET=$FS_NETNS_SUBNET
TAG=ms$$            # unique in every site's command line: stray jobs are ours
cleanup() {
  st=$?
  # the agent's chain (ip netns exec, unshare, sh) may fork: find the server
  # by its unique report file, the site jobs by their unique service tag
  for pid in $(pgrep -f -- "--report-uri $WORK/uri" 2>/dev/null); do kill "$pid" 2>/dev/null; done
  for pid in $(pgrep -f -- "--site-rendezvous $TAG" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  [ -n "${SRV:-}" ] && wait "$SRV" 2>/dev/null
  timeout 30 bash "$INFRA/netns-cluster.sh" down
  rm -rf "$WORK"
  exit "$st"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

t0=$(date +%s)
timeout 30 bash "$INFRA/netns-cluster.sh" up 3 >/dev/null || hard "netns-cluster up failed"
for h in 1 2 3; do
  ip netns exec "$P$h" sh -e -c 'iptables -w -A INPUT -i lo -j ACCEPT
    iptables -w -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
    iptables -w -A INPUT -p tcp --dport 20000:20199 -j ACCEPT
    iptables -w -A INPUT -p tcp -j REJECT --reject-with tcp-reset' || hard "iptables in $P$h failed"
done
# fw_count HOST TARGET: packets that hit the INPUT rule with that target (ACCEPT: the port rule)
fw_count() {
  ip netns exec "$P$1" iptables -w -L INPUT -v -x -n |
    awk -v t="$2" '$3 == t && (t != "ACCEPT" || /dpts:/) { s += $1 } END { print s + 0 }'
}

# The rendezvous server, in host 1, reachable at $NET.1.
"$INFRA/mpi-rsh-netns" "${P}1" ompi-server --no-daemonize --report-uri "$WORK/uri" \
    --mca oob_tcp_if_include "$NET.0/24" --mca oob_tcp_static_ipv4_ports 20000 \
    </dev/null >"$WORK/ompi-server.log" 2>&1 &
SRV=$!
for _ in $(seq 1 100); do [ -s "$WORK/uri" ] && break; sleep 0.1; done
[ -s "$WORK/uri" ] || { cat "$WORK/ompi-server.log"; hard "ompi-server did not start"; }
grep -q "$NET.1" "$WORK/uri" || { cat "$WORK/uri"; hard "ompi-server not on $NET.1"; }

make_fmnist "$WORK/d" 600 200 3 dirichlet --alpha 0.5
make_consortium "$WORK/k" 3
# Site directories: s0..s2 hold the real keys; s0-claim holds site-2's key
# under site-0's name; s0-forged a fresh key and a roster copy naming it as
# site-0's.
for i in 0 1 2; do mkdir -p "$WORK/s$i"; ln -s "$WORK/k" "$WORK/s$i/keys"; done
mkdir -p "$WORK/s0-claim/keys" "$WORK/s0-forged/keys"
cp -p "$WORK/k/roster.ini" "$WORK/s0-claim/keys/"
cp -p "$WORK/k/site-2.key" "$WORK/s0-claim/keys/site-0.key"
"$FEDSILO" keygen --name site-0 --out "$WORK/s0-forged/keys/site-0" >/dev/null 2>&1 || hard "keygen"
real=$(cat "$WORK/k/site-0.pub"); fake=$(cat "$WORK/s0-forged/keys/site-0.pub")
sed "s|$real|$fake|" "$WORK/k/roster.ini" > "$WORK/s0-forged/keys/roster.ini"
cmp -s "$WORK/k/roster.ini" "$WORK/s0-forged/keys/roster.ini" && hard "forged roster equals the real one"

args=(train --data "$WORK/d/shards/site-%d.h5" --test "$WORK/d/test.h5" --model mlp:16
      --roster keys/roster.ini --identity keys/site-%d.key --seed 3)
SITE_FLAGS="--mca btl tcp,self --mca btl_tcp_if_include $NET.0/24 --mca oob_tcp_if_include $NET.0/24
  --mca oob_tcp_dynamic_ipv4_ports 20010-20099 --mca btl_tcp_port_min_v4 20100 --mca btl_tcp_port_range_v4 100"
# site HOST DIR NAME SERVICE TMO ARGS...: one site's own mpirun -np 1 in namespace host HOST,
# started in DIR.  The agent joins the words with spaces: no argument may hold spaces.
site() {
  h=$1 dir=$2 name=$3 svc=$4 tmo=$5; shift 5
  timeout -k 5 "$tmo" "$INFRA/mpi-rsh-netns" "${P}$h" cd "$dir" "&&" "$MPIEXEC" $MPIEXEC_FLAGS \
      $SITE_FLAGS --ompi-server "file:$WORK/uri" -np 1 "$FEDSILO" "$@" \
      --site-rendezvous "$svc" --site "$name" </dev/null
}
# elapsed T0: seconds since T0 (date +%s.%N), one decimal
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# 1. three sites == one job
(cd "$WORK/s0" && run_mpi 3 120 "$FEDSILO" "${args[@]}" --rounds 4 --out "$WORK/single" \
    > "$WORK/single.txt" 2>&1) || { cat "$WORK/single.txt"; fail "single-job run failed"; }
ts=$(date +%s.%N)
pids=()
for i in 0 1 2; do
  site $((i + 1)) "$WORK/s$i" "site-$i" "$TAG-a" 120 "${args[@]}" --rounds 4 --out "$WORK/multi" \
      > "$WORK/multi-$i.txt" 2>&1 &
  pids+=($!)
done
rc=0; for i in 0 1 2; do wait "${pids[$i]}" || rc=$?; done
tm=$(elapsed "$ts")
[ $rc = 0 ] || { tail -n 20 "$WORK"/multi-*.txt; fail "three-site run failed (status $rc)"; }
grep -q '3 institutions' "$WORK/multi-0.txt" || fail "site 0 does not report 3 institutions"
grep -q 'authenticated' "$WORK/multi-0.txt" || fail "no authenticated secure sum"
b=$(same_model "$WORK/single/checkpoint.h5" "$WORK/multi/checkpoint.h5" "one job vs three sites") || exit 1
note "three sites in three hosts, 4 rounds in ${tm}s: model_hash $b = one mpirun -np 3"

# 2. site-2 never arrives
ts=$(date +%s.%N)
pids=()
for i in 0 1; do
  site $((i + 1)) "$WORK/s$i" "site-$i" "$TAG-b" 60 "${args[@]}" --rounds 2 --out "$WORK/absent" \
      --site-timeout 2 > "$WORK/absent-$i.txt" 2>&1 &
  pids+=($!)
done
for i in 0 1; do
  wait "${pids[$i]}"; st=$?
  [ $st = 1 ] || { cat "$WORK/absent-$i.txt"; fail "site $i: status $st without site-2, want 1"; }
  grep -q "(site-$i): site site-2 did not join within 2 s via rendezvous '$TAG-b'" \
      "$WORK/absent-$i.txt" || { cat "$WORK/absent-$i.txt"; fail "site $i: no clear message"; }
done
note "site-2 absent: both sites exit 1 after $(elapsed "$ts")s (--site-timeout 2): $(grep -h 'did not join' "$WORK/absent-0.txt" | cut -c1-110)..."

# 3. site-2 killed in training
ts=$(date +%s.%N)
pids=()
for i in 0 1 2; do
  site $((i + 1)) "$WORK/s$i" "site-$i" "$TAG-c" 90 "${args[@]}" --rounds 100000 --checkpoint-every 0 \
      --timeout 5 --out "$WORK/killed" > "$WORK/killed-$i.txt" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 300); do grep -q '^round 3/' "$WORK/killed-0.txt" && break; sleep 0.1; done
grep -q '^round 3/' "$WORK/killed-0.txt" || { tail -n 5 "$WORK"/killed-*.txt; fail "no round 3"; }
victim=$(pgrep -f -- "--site-rendezvous $TAG-c --site site-2" | while read -r p; do
           [ "$(cat "/proc/$p/comm" 2>/dev/null)" = fedsilo ] && echo "$p"; done | head -1)
[ -n "$victim" ] || fail "site-2's fedsilo process not found"
tk=$(date +%s.%N)
kill -9 "$victim"
for i in 0 1 2; do
  wait "${pids[$i]}"; st=$?
  [ $i = 2 ] && continue
  [ $st = 1 ] || { cat "$WORK/killed-$i.txt"; fail "site $i: status $st after site-2 died, want 1"; }
  grep -q "no progress for .* s in .*ending this rank (--timeout 5)" "$WORK/killed-$i.txt" ||
    { cat "$WORK/killed-$i.txt"; fail "site $i: no watchdog message"; }
done
note "site-2 killed in round $(grep -c '^round' "$WORK/killed-0.txt"): sites 0 and 1 exit 1 $(elapsed "$tk")s later (--timeout 5)"

# 4. a false claim of site-0's name, then a forged roster copy
# (one case after the other: two federations at once on the same hosts and
# pinned port ranges have failed in Open MPI's runtime)
for case in claim forged; do
  pids=()
  for i in 0 1 2; do
    dir=$WORK/s$i; [ $i = 0 ] && dir=$WORK/s0-$case
    site $((i + 1)) "$dir" "site-$i" "$TAG-$case" 60 "${args[@]}" --rounds 2 --out "$WORK/$case" \
        --site-timeout 20 > "$WORK/$case-$i.txt" 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2; do
    wait "${pids[$i]}"; st=$?
    [ $st != 0 ] || { cat "$WORK/$case-$i.txt"; fail "$case: site $i accepted the false site-0"; }
  done
  [ -e "$WORK/$case/checkpoint.h5" ] && fail "$case: a checkpoint was written"
  case $case in
    claim) want="identity key keys/site-0.key does not match the roster entry of 'site-0'" ;;
    forged) want="roster keys/roster.ini differs from rank 0's roster" ;;
  esac
  for i in 0 1 2; do
    grep -q "$want" "$WORK/$case-$i.txt" || { cat "$WORK/$case-$i.txt"; fail "$case: site $i: no clear message"; }
  done
  note "$case: refused on all three sites: $want"
done
# 5. usage errors found after MPI_Init
expect2() {   # expect2 PATTERN CMD...
  pat=$1; shift
  "$@" > "$WORK/err.txt" 2>&1; st=$?
  [ $st = 2 ] && grep -q -- "$pat" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "want status 2 and '$pat', got $st"; }
}
expect2 "'nobody' is not a member of the federation" site 1 "$WORK/s0" nobody "$TAG-u" 30 "${args[@]}"
note "usage errors after MPI_Init: status 2 with the message"

# 6. rendezvous names: a publisher that gives up at its --site-timeout
# unpublishes its name (the next attempt publishes it again); that one, killed
# after publishing, leaves it on the server, and the next publisher refuses it.
site 1 "$WORK/s0" site-0 "$TAG-x" 30 "${args[@]}" --site-timeout 1 > "$WORK/x0.txt" 2>&1
grep -q "did not join within 1 s" "$WORK/x0.txt" || { cat "$WORK/x0.txt"; fail "no timeout message"; }
site 1 "$WORK/s0" site-0 "$TAG-x" 30 "${args[@]}" --site-timeout 60 > "$WORK/y0.txt" 2>&1 &
py=$!
for _ in $(seq 1 200); do grep -q "rendezvous '$TAG-x' published" "$WORK/y0.txt" && break; sleep 0.1; done
grep -q "rendezvous '$TAG-x' published" "$WORK/y0.txt" ||
  { cat "$WORK/y0.txt"; fail "the name of a publisher that timed out was not free again"; }
pgrep -f -- "--site-rendezvous $TAG-x" | while read -r p; do
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = fedsilo ] && kill -9 "$p"; done
wait $py
site 1 "$WORK/s0" site-0 "$TAG-x" 30 "${args[@]}" --site-timeout 1 > "$WORK/y1.txt" 2>&1; st=$?
[ $st = 1 ] && grep -q "the rendezvous name '$TAG-x' is already published" "$WORK/y1.txt" ||
  { cat "$WORK/y1.txt"; fail "stale name: want status 1 and 'already published', got $st"; }
note "rendezvous names: freed after a timeout; a killed publisher's name is refused by the next one"
pgrep -f -- "--site-rendezvous $TAG" >/dev/null && fail "a site job outlived its run"
fw=""
for h in 1 2 3; do
  acc=$(fw_count $h ACCEPT); rej=$(fw_count $h REJECT); fw+=" host $h: $acc open-port / $rej other;"
  [ "$acc" -gt 0 ] || fail "host $h: no packet reached the pinned ports ($fw)"
  [ "$rej" = 0 ] || fail "host $h: $rej TCP packets to ports outside 20000-20199 ($fw)"
done
note "firewall (new TCP connections by port):$fw"
note "PASS in $(( $(date +%s) - t0 )) s"

#!/usr/bin/env bash
# tests/infra/netns-cluster.sh - simulate N hosts on one machine with network
# namespaces, for multi-host Open MPI runs of fedsilo in tests.
#
#   netns ${P}sw:  bridge br0 with ports v1..vN           (the "switch")
#   netns ${P}I:   eth0 = $NET.I/24 (+ lo), I = 1..N      (the "hosts")
# Veth pairs are created inside ${P}sw and their peers moved straight into the
# hosts, so the root namespace never sees an interface; all traffic stays in
# $NET.0/24 inside these namespaces.
#
# Commands:
#   up [N]               create the switch and N hosts (default 3); writes
#                        $DIR/hostfile ("$NET.I slots=S") and $DIR/hosts.map
#   down                 stop delay helpers, delete only the namespaces this
#                        script recorded in $DIR/namespaces, remove $DIR
#   flags                mpirun flags (hostfile, rsh agent, TCP interfaces)
#   exec HOST CMD...     run CMD in HOST, like ssh (HOST: IP, name, namespace)
#   impair HOST DELAY_MS LOSS_PCT
#                        delay / drop packets arriving at HOST: tc netem on the
#                        switch port when the kernel has sch_netem, otherwise
#                        iptables in HOST on INPUT: "statistic" DROP for loss and
#                        an NFQUEUE delay line (python3, raw nfnetlink) for delay
#   clear HOST           remove HOST's impairment
#   status               namespaces, addresses, impairments
# Typical use:
#   tests/infra/netns-cluster.sh up 3
#   export FS_NETNS_MAP=$FS_NETNS_DIR/hosts.map
#   tests/infra/mpi-rsh-netns ${P}1 mpirun $(tests/infra/netns-cluster.sh flags) -np 6 prog
#   tests/infra/netns-cluster.sh down
#
# Environment (defaults in brackets):
#   FS_NETNS_PREFIX [fsh]               namespace names ${P}1..${P}N, ${P}sw
#   FS_NETNS_SUBNET [10.77.0]           /24 used only inside the namespaces
#   FS_NETNS_DIR    [/tmp/fedsilo-netns] hostfile, hosts.map, pid files, logs
#   FS_NETNS_SLOTS  [2]                 MPI slots per host
# Pitfalls handled: one UTS namespace per host (in mpi-rsh-netns); no sch_netem
# in many CI kernels (iptables fallback); the fallback acts on INPUT, because
# holding the sender's own packets on OUTPUT trips TCP Small Queues and cuts
# throughput ~100x.  Root only; needs iproute2, and iptables + python3 to impair.
set -euo pipefail

P=${FS_NETNS_PREFIX:-fsh}
NET=${FS_NETNS_SUBNET:-10.77.0}
DIR=${FS_NETNS_DIR:-/tmp/fedsilo-netns}
SLOTS=${FS_NETNS_SLOTS:-2}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RSH=$HERE/mpi-rsh-netns
SW=${P}sw

die() { echo "netns-cluster: $*" >&2; exit 1; }
is_delayer() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -q "$DIR/nfq_delay.py"; }
ns_exists() { [ -e "/run/netns/$1" ]; }
nhosts() { if [ -s "$DIR/nhosts" ]; then cat "$DIR/nhosts"; else echo 0; fi; }
host_ns() {
  local ns
  ns=$(awk -v h="$1" '$1 == h { print $2; exit }' "$DIR/hosts.map" 2>/dev/null || true)
  [ -n "$ns" ] || die "unknown host '$1'"
  echo "$ns"
}

flags() {
  local f="--hostfile $DIR/hostfile --mca plm_rsh_agent $RSH"
  f+=" --mca btl self,vader,tcp --mca btl_tcp_if_include $NET.0/24 --mca oob_tcp_if_include $NET.0/24"
  echo "$f"
}

cmd_up() {
  local n=${1:-3} i
  [ "$(id -u)" = 0 ] || die "must run as root"
  command -v ip >/dev/null || die "ip (iproute2) missing: scripts/install-deps.sh netns"
  [ "$(nhosts)" -eq 0 ] || die "already up in $DIR; run down first"
  for i in sw $(seq 1 "$n"); do ns_exists "$P$i" && die "namespace $P$i exists but is not ours"; done
  mkdir -p "$DIR"
  : >"$DIR/namespaces"            # record first, so down removes partial setups
  echo "$SW" >>"$DIR/namespaces"; ip netns add "$SW"
  ip -n "$SW" link set lo up
  ip -n "$SW" link add br0 type bridge
  ip -n "$SW" link set br0 up
  : >"$DIR/hosts.map"; : >"$DIR/hostfile"
  for i in $(seq 1 "$n"); do
    echo "$P$i" >>"$DIR/namespaces"; ip netns add "$P$i"
    ip -n "$SW" link add "v$i" type veth peer name eth0 netns "$P$i"
    ip -n "$SW" link set "v$i" master br0 up
    ip -n "$P$i" link set lo up
    ip -n "$P$i" addr add "$NET.$i/24" dev eth0
    ip -n "$P$i" link set eth0 up
    printf '%s %s\n%s %s\n' "$NET.$i" "$P$i" "$P$i" "$P$i" >>"$DIR/hosts.map"
    echo "$NET.$i slots=$SLOTS" >>"$DIR/hostfile"
  done
  echo "$n" >"$DIR/nhosts"
  if command -v ping >/dev/null; then     # bridge ports forward at once (no STP)
    for _ in $(seq 1 50); do
      ip netns exec "${P}1" ping -c1 -W1 "$NET.$n" >/dev/null 2>&1 && break; sleep 0.1
    done
  fi
  echo "netns-cluster: $n hosts ${P}1..${P}$n on $NET.0/24; export FS_NETNS_MAP=$DIR/hosts.map"
}

cmd_down() {
  local f pid ns
  for f in "$DIR"/nfq-*.pid; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    if is_delayer "$pid"; then kill "$pid" 2>/dev/null || true; fi
  done
  if [ -s "$DIR/namespaces" ]; then
    for ns in $(tac "$DIR/namespaces"); do
      if ns_exists "$ns"; then ip netns delete "$ns" || true; fi
    done
  fi
  rm -rf "$DIR"
}

cmd_impair() {
  local host=${1:?host} delay=${2:-5} loss=${3:-0} ns i prob
  ns=$(host_ns "$host"); i=${ns#"$P"}
  cmd_clear "$host" >/dev/null
  if ip netns exec "$SW" tc qdisc replace dev "v$i" root netem delay "${delay}ms" loss "${loss}%" 2>/dev/null; then
    echo netem >"$DIR/impair-$ns"
    echo "netns-cluster: netem delay ${delay}ms loss ${loss}% on packets into $ns"
    return 0
  fi
  command -v iptables >/dev/null || die "no sch_netem and no iptables: scripts/install-deps.sh netns"
  ip netns exec "$ns" iptables -w -N FS_IMPAIR
  echo iptables >"$DIR/impair-$ns"     # recorded before rules, so clear always runs
  ip netns exec "$ns" iptables -w -I INPUT 1 -i eth0 -j FS_IMPAIR
  if awk -v l="$loss" 'BEGIN{exit !(l > 0)}'; then
    prob=$(awk -v l="$loss" 'BEGIN{printf "%.6f", l/100}')
    ip netns exec "$ns" iptables -w -A FS_IMPAIR -m statistic --mode random --probability "$prob" -j DROP
  fi
  if awk -v d="$delay" 'BEGIN{exit !(d > 0)}'; then
    command -v python3 >/dev/null || die "python3 missing (delay line)"
    write_delayer
    # ip netns exec execs in place: $! is the python3 process itself.
    ip netns exec "$ns" python3 "$DIR/nfq_delay.py" 0 "$delay" </dev/null >"$DIR/nfq-$ns.log" 2>&1 &
    echo $! >"$DIR/nfq-$ns.pid"
    for _ in $(seq 1 50); do grep -q ready "$DIR/nfq-$ns.log" 2>/dev/null && break; sleep 0.1; done
    grep -q ready "$DIR/nfq-$ns.log" || { cat "$DIR/nfq-$ns.log" >&2; die "delay line did not start"; }
    # --queue-bypass: packets pass if the delay line dies (fail open).
    ip netns exec "$ns" iptables -w -A FS_IMPAIR -j NFQUEUE --queue-num 0 --queue-bypass
  fi
  echo "netns-cluster: iptables (no sch_netem): loss ${loss}% + delay ${delay}ms on packets into $ns"
}

cmd_clear() {
  local host=${1:?host} ns i pid
  ns=$(host_ns "$host"); i=${ns#"$P"}
  ip netns exec "$SW" tc qdisc del dev "v$i" root 2>/dev/null || true
  if ip netns exec "$ns" iptables -w -L FS_IMPAIR -n >/dev/null 2>&1; then
    ip netns exec "$ns" iptables -w -D INPUT -i eth0 -j FS_IMPAIR 2>/dev/null || true
    ip netns exec "$ns" iptables -w -F FS_IMPAIR
    ip netns exec "$ns" iptables -w -X FS_IMPAIR
  fi
  if [ -s "$DIR/nfq-$ns.pid" ]; then
    pid=$(cat "$DIR/nfq-$ns.pid")
    if is_delayer "$pid"; then kill "$pid" 2>/dev/null || true; fi
    rm -f "$DIR/nfq-$ns.pid"
  fi
  rm -f "$DIR/impair-$ns"
  echo "netns-cluster: cleared $ns"
}

# NFQUEUE delay line: bind queue 0, copy metadata only, accept every packet
# DELAY ms after it arrived (FIFO, batch verdicts, fail-open, GSO).
write_delayer() {
  cat >"$DIR/nfq_delay.py" <<'PYEOF'
import collections, os, select, signal, socket, struct, sys, time
qnum, delay = int(sys.argv[1]), float(sys.argv[2]) / 1000.0
NETLINK_NETFILTER, SUBSYS_QUEUE = 12, 3
MSG_PACKET, MSG_CONFIG, MSG_VERDICT_BATCH = 0, 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 1, 4, 2
CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN, CFG_MASK, CFG_FLAGS = 1, 2, 3, 4, 5
F_FAIL_OPEN, F_GSO, PACKET_HDR, VERDICT_HDR, NF_ACCEPT = 1, 4, 1, 2, 1
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
try:
    sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)          # SO_RCVBUFFORCE
except OSError:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
sock.bind((0, 0))
seq = 0
def attr(t, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, t) + data + b"\0" * (-n % 4)
def send(mtype, attrs, flags=NLM_F_REQUEST):
    global seq
    seq += 1
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(qnum)) + b"".join(attrs)
    sock.send(struct.pack("=IHHII", 16 + len(body), (SUBSYS_QUEUE << 8) | mtype, flags, seq, 0) + body)
def config(attrs):
    send(MSG_CONFIG, attrs, NLM_F_REQUEST | NLM_F_ACK)
    data = sock.recv(65536)
    if struct.unpack_from("=H", data, 4)[0] == NLMSG_ERROR:
        err = struct.unpack_from("=i", data, 16)[0]
        if err:
            sys.exit("nfq_delay: config failed: " + os.strerror(-err))
config([attr(CFG_CMD, struct.pack("=BBH", 1, 0, 0))])          # BIND
config([attr(CFG_PARAMS, struct.pack("!IB", 0, 1))])           # COPY_META
config([attr(CFG_QUEUE_MAXLEN, struct.pack("!I", 65536))])
config([attr(CFG_MASK, struct.pack("!I", F_FAIL_OPEN | F_GSO)),
        attr(CFG_FLAGS, struct.pack("!I", F_FAIL_OPEN | F_GSO))])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
pending = collections.deque()
print("nfq_delay: queue %d delay %.1f ms ready" % (qnum, delay * 1e3), flush=True)
while True:
    timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
    if select.select([sock], [], [], timeout)[0]:
        try:
            data = sock.recv(1 << 20)
        except OSError:                                          # ENOBUFS
            data = b""
        off, now = 0, time.monotonic()
        while off + 16 <= len(data):
            ln, typ = struct.unpack_from("=IH", data, off)
            if ln < 16:
                break
            if typ == (SUBSYS_QUEUE << 8) | MSG_PACKET:
                a = off + 20
                while a + 4 <= off + ln:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype & 0x7fff == PACKET_HDR:
                        pending.append((now + delay, struct.unpack_from("!I", data, a + 4)[0]))
                        break
                    a += (alen + 3) & ~3
            off += (ln + 3) & ~3
    now, last = time.monotonic(), None
    while pending and pending[0][0] <= now:
        last = pending.popleft()[1]
    if last is not None:                                         # accept ids <= last
        send(MSG_VERDICT_BATCH, [attr(VERDICT_HDR, struct.pack("!II", NF_ACCEPT, last))])
PYEOF
}

cmd_status() {
  local ns
  echo "hosts: $(nhosts)  dir: $DIR"
  [ -s "$DIR/namespaces" ] || return 0
  for ns in $(cat "$DIR/namespaces"); do
    printf '%-10s ' "$ns"; ip -n "$ns" -br addr show 2>/dev/null | grep -v '^lo' | tr '\n' ' '
    if [ -e "$DIR/impair-$ns" ]; then printf ' [impaired: %s]' "$(cat "$DIR/impair-$ns")"; fi
    echo
  done
}

case "${1:-}" in
  up)       shift; cmd_up "$@" ;;
  down)     cmd_down ;;
  flags)    flags ;;
  hostfile) echo "$DIR/hostfile" ;;
  exec)     shift; FS_NETNS_MAP=$DIR/hosts.map exec "$RSH" "$@" ;;
  impair)   shift; cmd_impair "$@" ;;
  clear)    shift; cmd_clear "$@" ;;
  status)   cmd_status ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2 ;;
esac

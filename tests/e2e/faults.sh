#!/bin/sh
# Goal: faults on a real two-host topology in network namespaces.
#
#   ns A ("host A"): app (plclient, python) -> peerlock A, forward :6000
#   ns B ("host B"): peerlock B on 10.201.0.2:4001 -> legacy (echod) on
#                    127.0.0.1:6379 in B
#   one veth pair between them (10.201.0.1 <-> 10.201.0.2)
#
# Proves: only B's encrypted port is reachable across the link; a marker
# string sent through the tunnel never crosses the link in clear (tcpdump
# on the veth), while the same capture on B's plaintext side finds it;
# under netem loss 5%, delay and reordering 100 MiB (8 MiB with
# E2E_QUICK) arrive byte for byte; killing peerlock B mid-transfer
# closes A's side within seconds (the app sees EOF or a reset, A logs a
# close line, A holds no socket afterwards); a restarted B accepts new
# tunnels at once; a dead legacy service closes the tunnel with a reason.
# Needs root and `ip netns`; skips (77) otherwise.  The netem part needs
# the kernel's sch_netem and the capture part needs tcpdump: each is
# skipped with a note when missing.
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces"

NA="plfA$$" NB="plfB$$" VA="plfa$$" VB="plfb$$"
WAN_A=10.201.0.1 WAN_B=10.201.0.2
if [ -n "${E2E_QUICK:-}" ]; then BIG=8M; else BIG=100M; fi

netns_pair

# start_in NAME NS: peerlock NAME in namespace NS (PID_NAME is peerlock).
start_in() {
	n0=$(ready_count "$1")
	bg "$1" ip netns exec "$2" "$PEERLOCK" run -c "$T/$1.conf"
	for _ in $(seq 200); do
		[ "$(ready_count "$1")" -gt "$n0" ] && return 0
		sleep 0.05
	done
	echo "peerlock $1 did not start:"; cat "$T/$1.log"; return 1
}

# start_legacy: the legacy echo service on 127.0.0.1:6379 in B.
start_legacy() {
	bg legacy ip netns exec "$NB" "$TOOLS/echod" --port 6379 \
	    --count-file "$T/legacy.count"
	for _ in $(seq 100); do
		ns_connect "$NB" 127.0.0.1 6379 >/dev/null && return 0
		sleep 0.05
	done
	return 1
}

keygen A; keygen B
cat >"$T/B.conf" <<CONF
[peerlock]
identity = $T/B.key
listen = /ip4/0.0.0.0/tcp/4001
handshake_timeout = 5s
log_level = debug
[expose.legacy]
peers = $ID_A
target = 127.0.0.1:6379
CONF
cat >"$T/A.conf" <<CONF
[peerlock]
identity = $T/A.key
connect_timeout = 5s
handshake_timeout = 10s
[forward.legacy]
listen = 127.0.0.1:6000
peer = /ip4/$WAN_B/tcp/4001/p2p/$ID_B
CONF
start_legacy || { fail "legacy (echod) did not start"; pl_finish; }
start_in B "$NB" || exit 1
start_in A "$NA" || exit 1

# --- what crosses the link --------------------------------------------------
check "from A, B's encrypted port $WAN_B:4001 is reachable" \
    ns_connect "$NA" "$WAN_B" 4001
check_not "from A, the legacy port $WAN_B:6379 is not reachable" \
    ns_connect "$NA" "$WAN_B" 6379
check "app on A: 4 MiB via A => B => legacy, unchanged" \
    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 6000 --bytes 4M --timeout 30

# --- the marker never crosses the link in clear ----------------------------
MARKER="PEERLOCK-CLEARTEXT-MARKER-$$-$(date +%s)"
if command -v tcpdump >/dev/null 2>&1; then
	bg capwan ip netns exec "$NA" tcpdump -i "$VA" -U -s 0 -w "$T/wan.pcap" tcp
	bg caplo ip netns exec "$NB" tcpdump -i lo -U -s 0 -w "$T/lo.pcap" tcp port 6379
	sleep 1
	check "app sends the marker 200 times through the tunnel, gets it back" \
	    in_ns "$NA" python3 - "$MARKER" <<'PY'
import socket, sys
m = (sys.argv[1] + "\n").encode()
s = socket.create_connection(("127.0.0.1", 6000), 10)
s.settimeout(10)
want = m * 200
s.sendall(want)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
sys.exit(0 if got == want else 1)
PY
	sleep 1
	kill "$PID_capwan" "$PID_caplo" 2>/dev/null
	wait "$PID_capwan" "$PID_caplo" 2>/dev/null
	# count_in FILE: occurrences of the marker in a capture file
	count_in() {
		python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(sys.argv[2].encode()))' "$1" "$MARKER"
	}
	wan=$(count_in "$T/wan.pcap"); lo=$(count_in "$T/lo.pcap")
	echo "marker seen: $wan times on the veth, $lo times on B's loopback"
	# 200 markers each way: at least that many bytes on the link
	check "capture on the veth saw the tunnel's packets" \
	    test "$(stat -c %s "$T/wan.pcap")" -gt $((400 * ${#MARKER}))
	check "the marker never appears in clear on the link" test "$wan" -eq 0
	check "control: the marker appears on B's plaintext side" test "$lo" -ge 100
else
	echo "note: tcpdump not installed: cleartext capture not tested" \
	    "(contrib/install-deps.sh installs it)"
fi

# --- netem: loss, delay, reordering ----------------------------------------
if in_ns "$NA" tc qdisc add dev "$VA" root netem loss 5% delay 20ms 10ms \
    reorder 25% 50% 2>"$T/netem.err"; then
	in_ns "$NB" tc qdisc add dev "$VB" root netem loss 5% delay 20ms 10ms \
	    reorder 25% 50%
	check "netem (loss 5%, delay, reorder): $BIG arrive byte for byte" \
	    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 6000 --bytes "$BIG" \
	    --seed netem --timeout 600
	in_ns "$NA" tc qdisc del dev "$VA" root
	in_ns "$NB" tc qdisc del dev "$VB" root
else
	echo "note: netem unavailable: 'tc qdisc add ... netem' failed:" \
	    "$(cat "$T/netem.err") (the kernel needs sch_netem);" \
	    "delay and reordering are not tested"
	# Loss alone, without netem: drop 5% of the packets arriving on
	# each end of the link.
	if in_ns "$NA" iptables -A INPUT -i "$VA" -m statistic \
	    --mode random --probability 0.05 -j DROP 2>"$T/ipt.err"; then
		in_ns "$NB" iptables -A INPUT -i "$VB" -m statistic \
		    --mode random --probability 0.05 -j DROP
		check "5% loss (iptables statistic): $BIG arrive byte for byte" \
		    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 6000 \
		    --bytes "$BIG" --seed loss --timeout 600
		drops=$(in_ns "$NB" iptables -L INPUT -v -x -n | awk '/DROP/ {print $1}')
		echo "packets dropped on B's side: $drops"
		check "the loss rule did drop packets" test "${drops:-0}" -gt 0
		in_ns "$NA" iptables -F INPUT
		in_ns "$NB" iptables -F INPUT
	else
		echo "note: iptables statistic failed too: $(cat "$T/ipt.err");" \
		    "lossy-link transfer not tested"
	fi
fi

# --- kill the remote peerlock mid-transfer ----------------------------------
# established_A: TCP connections peerlock A holds (app side and link)
established_A() {
	in_ns "$NA" ss -Htn state established "( sport = :6000 or dport = :4001 )" |
	    wc -l
}
log_mark A
in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 6000 --bytes 4G --timeout 60 \
    >"$T/killed.out" 2>&1 &
app=$!
logged B "relaying" >/dev/null; sleep 1
kill -9 "$PID_B"
t0=$(date +%s)
wait "$app"
rc=$?
dt=$(( $(date +%s) - t0 ))
echo "app: $(cat "$T/killed.out") (exit $rc after ${dt}s)"
check "app sees EOF or a reset (closed early), not success" test "$rc" -eq 3
check "... within 10 s of the kill" test "$dt" -le 10
check "A logs one close line for the tunnel, with a reason" \
    logged_after A "closed route=forward.legacy .*reason="
sleep 0.5
check "A holds no connection afterwards (no half-open leak)" \
    test "$(established_A)" -eq 0

# --- a restarted peer accepts new tunnels at once ---------------------------
start_in B "$NB" || exit 1
check "restarted B: the first new tunnel works (1 MiB)" \
    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 6000 --bytes 1M --timeout 10

# --- a dead target -----------------------------------------------------------
kill "$PID_legacy"; wait "$PID_legacy" 2>/dev/null
log_mark B
t0=$(date +%s)
in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 6000 --bytes 10 --timeout 20 \
    >"$T/dead.out" 2>&1
rc=$?
dt=$(( $(date +%s) - t0 ))
check "dead target: the app is closed early (exit 3), not hung" test "$rc" -eq 3
check "... within 5 s" test "$dt" -le 5
check "dead target: B closes the tunnel with a reason" \
    logged_after B "closed route=expose.legacy .*reason=target_failed"
sleep 0.5
check "A holds no connection after the dead-target tunnel" \
    test "$(established_A)" -eq 0
pl_finish

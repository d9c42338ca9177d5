#!/bin/sh
# Goal: a peer lost in a network partition is noticed (issue 13.6).  Two
# hosts in network namespaces joined by a veth pair; iptables drops
# everything between them while idle tunnels are open, with
# idle_timeout = 0.  Raw mode with tcp_keepalive = on (idle 1s,
# interval 1s, count 2): both ends close the tunnel within 10 s, each
# with one close line naming the TCP keepalive.  The same with
# tcp_keepalive = off: still open after those 10 s, and once the network
# heals it carries data again.  A fourth pair, with keepalive on, is busy
# echoing when the cut comes: data in flight gets no keepalive probes,
# and TCP_USER_TIMEOUT (set to the keepalive's total) ends it as fast.  Node mode with tcp_keepalive = off: the
# session's yamux pings tear it down within the ping timeout (20 s,
# pings every 2 s while a stream is open) on both ends.
# Needs root, `ip netns` and iptables; skips (77) otherwise.
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed"
command -v iptables >/dev/null 2>&1 || skip "iptables not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces"

# Read by lib.sh's netns_pair and netns_cleanup.
# shellcheck disable=SC2034
NA="plkA$$" NB="plkB$$" VA="plka$$" VB="plkb$$" WAN_A=10.203.0.1
WAN_B=10.203.0.2
# the node-mode pair's own address on B, partitioned on its own
WAN_N=10.203.0.3
netns_pair
ip -n "$NB" addr add "$WAN_N/24" dev "$VB" ||
    { echo "FAIL: cannot add $WAN_N"; exit 1; }
in_ns "$NB" iptables -L INPUT >/dev/null 2>"$T/ipt.err" ||
    skip "iptables in a namespace failed: $(cat "$T/ipt.err")"

KA="tcp_keepalive_idle=1s tcp_keepalive_interval=1s tcp_keepalive_count=2"
P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port)
PE=$(free_port)
F1=$(free_port); F2=$(free_port); F3=$(free_port); F4=$(free_port)
bg echo in_ns "$NB" "$TOOLS/echod" --port "$PE"

# pair NAME FWD_PORT LISTEN_PORT ADDR KEEPALIVE [protocol] (globals k_*:
# lib.sh's helpers use _n, _f, _p): peerlock
# B$NAME in ns B listening on ADDR:LISTEN_PORT, A$NAME in ns A
# forwarding 127.0.0.1:FWD_PORT to it; both with tcp_keepalive =
# KEEPALIVE and the short timers, idle_timeout = 0.
pair() {
	k_n=$1 k_f=$2 k_p=$3 k_addr=$4 k_ka=$5 k_proto=${6:-}
	keygen "A$k_n"; keygen "B$k_n"
	# shellcheck disable=SC2086
	conf_node "B$k_n" "listen=/ip4/$k_addr/tcp/$k_p" "tcp_keepalive=$k_ka" \
	    $KA idle_timeout=0 log_level=debug
	eval "k_ida=\$ID_A$k_n k_idb=\$ID_B$k_n"
	{
		printf '\n[expose.echo]\npeers = %s\n' "$k_ida"
		[ -n "$k_proto" ] && echo "protocol = $k_proto"
		echo "target = 127.0.0.1:$PE"
	} >>"$T/B$k_n.conf"
	# shellcheck disable=SC2086
	conf_node "A$k_n" "tcp_keepalive=$k_ka" $KA idle_timeout=0 \
	    log_level=debug
	{
		printf '\n[forward.echo]\nlisten = 127.0.0.1:%s\n' "$k_f"
		echo "peer = /ip4/$k_addr/tcp/$k_p/p2p/$k_idb"
		[ -n "$k_proto" ] && echo "protocol = $k_proto"
	} >>"$T/A$k_n.conf"
	bg "B$k_n" in_ns "$NB" "$PEERLOCK" run -c "$T/B$k_n.conf"
	logged_re "B$k_n" "$PL_READY" || { fail "B$k_n did not start"; pl_finish; }
	bg "A$k_n" in_ns "$NA" "$PEERLOCK" run -c "$T/A$k_n.conf"
	logged_re "A$k_n" "$PL_READY" || { fail "A$k_n did not start"; pl_finish; }
}
pair 1 "$F1" "$P1" "$WAN_B" on
pair 2 "$F2" "$P2" "$WAN_B" off
pair 3 "$F3" "$P3" "$WAN_N" off /x/echo
pair 4 "$F4" "$P4" "$WAN_B" on

# One idle tunnel each: the client echoes 1 KiB, holds 16 s, then echoes
# 64 KiB (only tunnel 2 is expected to live that long).
for n in 1 2 3; do
	eval "f=\$F$n"
	in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 "$f" --bytes 1024 \
	    >"$T/first$n.out" 2>&1 ||
	    fail "tunnel $n: first echo: $(cat "$T/first$n.out")"
	in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 "$f" --bytes 65536 --hold 16 \
	    --timeout 10 >"$T/cli$n.out" 2>&1 &
	eval "CLI$n=\$!"
done
# and a busy one: pair 4 echoes without pause, so the partition finds
# data in flight both ways, where keepalive probes are not sent
in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 "$F4" --bytes 64G --timeout 60 \
    >"$T/cli4.out" 2>&1 &
CLI4=$!
# relaying: the first tunnel's line, then the held one's, on both ends.
# The dialer relays once it sent the handshake's last message; cutting
# the path before the listener got it would leave that message in
# retransmission, where the kernel sends no keepalive probes.
up=0
for _ in $(seq 100); do
	up=1
	for s in A1 A2 B1 B2; do
		[ "$(grep -c ' relaying' "$T/$s.log")" -ge 2 ] || up=0
	done
	for s in A4 B4; do
		[ "$(grep -c ' relaying' "$T/$s.log")" -ge 1 ] || up=0
	done
	[ "$up" -eq 1 ] && break
	sleep 0.05
done
check "the held raw tunnels are up (A1, A2, B1, B2 relaying), and the busy one (A4, B4)" \
    test "$up" -eq 1
# the ACKs of the handshake's last segments arrive before the cut
sleep 0.5
check "node mode: A3 holds a session with B3" logged A3 "session with $ID_B3"
for n in 1 2 3 4; do log_mark "A$n"; log_mark "B$n"; done

# --- the partition --------------------------------------------------------
in_ns "$NA" iptables -A INPUT -s "$WAN_B" -j DROP
in_ns "$NA" iptables -A INPUT -s "$WAN_N" -j DROP
in_ns "$NB" iptables -A INPUT -s "$WAN_A" -j DROP
start=$(date +%s)

# wait_closes SECONDS PATTERN NAME...: poll every NAME's log (lines
# after the mark) for PATTERN until all matched or SECONDS passed since
# the partition; sets SEC_NAME to the seconds it took (unset: never).
wait_closes() {
	_lim=$1 _pat=$2
	shift 2
	while :; do
		_left=0
		for _s in "$@"; do
			eval "_got=\${SEC_$_s:-}"
			[ -n "$_got" ] && continue
			if since "$_s" | grep -q -- "$_pat"; then
				eval "SEC_$_s=$(($(date +%s) - start))"
			else
				_left=1
			fi
		done
		[ "$_left" -eq 0 ] && return 0
		[ "$(($(date +%s) - start))" -ge "$_lim" ] && return 1
		sleep 0.1
	done
}

# closed_within WHAT NAMING SIDE...: a check per SIDE that wait_closes
# saw its close line (SEC_SIDE set), in "WHAT: SIDE closed ..." words.
closed_within() {
	_what=$1 _naming=$2
	shift 2
	for _s in "$@"; do
		eval "_sec=\${SEC_$_s:-}"
		if [ -n "$_sec" ]; then
			pass "$_what: $_s closed the tunnel ${_sec} s into the partition, naming $_naming"
		else
			fail "$_what: $_s did not close the tunnel within 10 s naming $_naming"
		fi
	done
}

KAR="reason=io_error: tcp keepalive: peer unreachable (2 probes unanswered"
wait_closes 10 "closed route=.*$KAR" A1 B1
closed_within "keepalive on" "the keepalive" A1 B1
for side in A1 B1; do
	check "keepalive on: $side logged exactly one close line" \
	    test "$(count_after "$side" ' closed route=')" -eq 1
done
# the busy pair: TCP_USER_TIMEOUT (the keepalive's 3 s) ends it alike
# (retransmissions, or window probes when the peer's window was shut)
RTR="reason=io_error: tcp: peer unreachable ([0-9]* \(retransmissions\|zero-window probes\) unanswered"
wait_closes 10 "closed route=.*$RTR" A4 B4
closed_within "keepalive on, data in flight" \
    "the retransmissions or window probes" A4 B4
wait "$CLI4"
check "keepalive on, data in flight: A4 reset the app's connection (client exit 3)" \
    test "$?" -eq 3
# the same 10 s for the pair without keepalive
while [ "$(($(date +%s) - start))" -lt 10 ]; do sleep 0.2; done
for side in A2 B2; do
	check "keepalive off: $side still holds the tunnel 10 s into the partition" \
	    test "$(count_after "$side" ' closed route=')" -eq 0
done
check "keepalive off: the client is still connected" kill -0 "$CLI2"

# --- heal the raw pair's path (the node pair's address stays cut) ---------
in_ns "$NA" iptables -D INPUT -s "$WAN_B" -j DROP
in_ns "$NB" iptables -D INPUT -s "$WAN_A" -j DROP
in_ns "$NB" iptables -A INPUT -s "$WAN_A" -d "$WAN_N" -j DROP
wait "$CLI2"
rc=$?
check "keepalive off: after the partition heals, the idle tunnel echoes 64 KiB (exit $rc: $(cat "$T/cli2.out"))" \
    test "$rc" -eq 0
check "keepalive off: A2 then ends it with reason=done" \
    logged_after A2 "closed route=forward.echo .*reason=done"
wait "$CLI1"
check "keepalive on: A1 reset the app's connection (client exit 3)" \
    test "$?" -eq 3

# --- node mode: the yamux pings ------------------------------------------
# the next ping goes out within 15 s (2 s while streams are open and the
# timer was armed with one open), then 20 s without an answer
PR="reason=idle_timeout: yamux: no answer to our ping for 20000 ms"
wait_closes 45 "closed route=.*$PR" A3 B3
for side in A3 B3; do
	eval "s=\${SEC_$side:-}"
	if [ -n "$s" ]; then
		pass "node mode, keepalive off: $side closed the session ${s} s into the partition (ping timeout)"
		check "node mode: $side's session took at most 15 + 20 s, plus 5 s of timer slack ($s)" \
		    test "$s" -le 40
	else
		fail "node mode: $side did not close the session within 45 s"
	fi
done
check "node mode: A3's stream closed with the session" \
    logged_after A3 "stream [0-9]* closed route=forward.echo .*session="
pl_finish

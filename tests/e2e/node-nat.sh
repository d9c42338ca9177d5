#!/bin/sh
# Goal: node mode reaches a service behind NAT.  Two hosts in network
# namespaces joined by a veth pair: the hub (ns A) has a public listener;
# the exposing host (ns B) accepts no inbound TCP connection at all
# (iptables drops every SYN to it), like a host behind NAT.  B keeps a
# session to the hub with [connect.hub]; the hub's forward names B by
# /p2p/ID alone and reaches B's expose over that session.  Also: B's
# session comes back after the hub restarts (reconnect with backoff).
# Needs root, `ip netns` and iptables; skips (77) otherwise.
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed"
command -v iptables >/dev/null 2>&1 || skip "iptables not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces"

# Read by lib.sh's netns_pair and netns_cleanup.
# shellcheck disable=SC2034
NA="plnA$$" NB="plnB$$" VA="plna$$" VB="plnb$$" WAN_A=10.202.0.1
WAN_B=10.202.0.2
netns_pair

keygen A; keygen B
in_ns "$NB" iptables -A INPUT -i "$VB" -p tcp --syn -j DROP 2>"$T/ipt.err" ||
    skip "iptables in a namespace failed: $(cat "$T/ipt.err")"
PA=$(free_port); FN=$(free_port); PE=$(free_port)
# echod inside B: the service behind NAT
bg echo in_ns "$NB" "$TOOLS/echod" --port "$PE"
conf_node A "listen=/ip4/$WAN_A/tcp/$PA" security=noise
cat >>"$T/A.conf" <<EOC

[forward.nat]
listen = 127.0.0.1:$FN
peer = /p2p/$ID_B
protocol = /x/echo
EOC
conf_node B security=noise
conf_connect B hub "/ip4/$WAN_A/tcp/$PA/p2p/$ID_A"
conf_expose_node B echo "$ID_A" /x/echo "$PE"

bg A in_ns "$NA" "$PEERLOCK" run -c "$T/A.conf"
logged A "peerlock .* ready" || { fail "hub did not start"; pl_finish; }
check_not "B accepts no inbound TCP (NAT): A cannot reach B's echo port" \
    ns_connect "$NA" "$WAN_B" "$PE"
bg B in_ns "$NB" "$PEERLOCK" run -c "$T/B.conf"
check "B dials out and holds a session with the hub" \
    logged B "session with $ID_A"
check "the hub reaches the service behind NAT over B's session" \
    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 "$FN" --bytes 1048576
check "hub: the stream went to B over its session" \
    logged A "stream [0-9]* closed route=forward.nat .*peer=$ID_B proto=/x/echo up=1048576 down=1048576 .*reason=done"

# the hub restarts: B's [connect] dials again
pkill -f "run -c $T/A.conf"
for _ in $(seq 100); do
	pgrep -f "run -c $T/A.conf" >/dev/null || break
	sleep 0.05
done
bg A2 in_ns "$NA" "$PEERLOCK" run -c "$T/A.conf"
logged A2 "peerlock .* ready" || { fail "hub did not restart"; pl_finish; }
ok=1
for _ in $(seq 100); do
	grep -q "session with $ID_B" "$T/A2.log" && { ok=0; break; }
	sleep 0.1
done
check "after the hub restarts, B's session is back within 10 s" test "$ok" -eq 0
check "and the service behind NAT is reachable again" \
    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 "$FN" --bytes 65536
pl_finish

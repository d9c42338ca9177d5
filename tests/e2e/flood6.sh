#!/bin/sh
# Goal: IPv6 sources count per /64 for the per-source limits.  In a
# network namespace whose loopback carries fd00::1, fd00::2, fd00::3
# (one /64) and fd00:0:0:1::5 (the next /64), idle connections from
# fd00::2 and fd00::3 share one max_handshakes_per_ip budget, while
# fd00:0:0:1::5 has its own.  Needs root and `ip netns`; skips (77)
# otherwise.  (iptable_key itself is unit-tested in test_iptable.)
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root to create a network namespace"
NS="pl-f6-$$"
ip netns add "$NS" 2>"$T/netns.err" ||
    skip "ip netns add not permitted here: $(cat "$T/netns.err")"
cleanup6() {
	pl_cleanup
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p"; done
	ip netns del "$NS" 2>/dev/null
}
trap cleanup6 EXIT
trap 'exit 1' INT TERM
ip -n "$NS" link set lo up &&
    ip -n "$NS" -6 addr add fd00::1/64 dev lo nodad &&
    ip -n "$NS" -6 addr add fd00::2/64 dev lo nodad &&
    ip -n "$NS" -6 addr add fd00::3/64 dev lo nodad &&
    ip -n "$NS" -6 addr add fd00:0:0:1::5/64 dev lo nodad ||
    skip "cannot add IPv6 addresses to the namespace's loopback"

keygen A; keygen B
PB=4001
conf_node B "listen=/ip6/fd00::1/tcp/$PB" handshake_timeout=30s \
    max_handshakes_per_ip=3
conf_expose B echo "$ID_A" 9
PEERLOCK_WRAPPER="ip netns exec $NS" start_peerlock B || exit 1

IDLEFLOOD_HOST=fd00::1 ip netns exec "$NS" python3 \
    "${top_srcdir:?}/tests/tools/idleflood.py" "$PB" 2 fd00::2:2 fd00::3:2 \
    fd00:0:0:1::5:3 >"$T/f6.out" 2>&1
closed() { awk -v s="$1" '$1 == s { print $3 }' "$T/f6.out"; }
check "fd00::2 and fd00::3 share one /64 budget: 4th connection refused" \
    test "$(closed fd00::2)" = 0 -a "$(closed fd00::3)" = 1
check "fd00:0:0:1::5 (the next /64) has its own budget" \
    test "$(closed fd00:0:0:1::5)" = 0
check "refusal logged for the /64's second address" \
    logged B "limit: max_handshakes_per_ip (3) reached, refusing connection from fd00::3"
pl_finish

#!/bin/sh
# Goal: the topology of docker/compose.yml, with real processes in network
# namespaces instead of containers, started by the same entry point
# (docker/entrypoint.sh) from the same config files (docker/examples/a.conf
# and b.conf) as the compose example:
#
#   ns A ("host A"): app (plclient) -> peerlock A, forward on :6379
#   ns B ("host B"): peerlock B, encrypted listener :4001 -> legacy (echod)
#                    on 127.0.0.1:6379
#   one veth pair between them ("wan", 10.200.0.1 <-> 10.200.0.2, inside
#   namespaces this script creates; nothing touches the host's network).
#
# Service names resolve as in compose through /etc/netns/NS/hosts, which
# `ip netns exec` mounts over /etc/hosts: peerlock-b -> B's wan address in
# A, legacy -> 127.0.0.1 in B.  Proves: the tunnel carries bytes unchanged
# and both ends log the authenticated peer; only B's encrypted port is
# reachable from A (the legacy port is not); the entry point renders
# ${PEER_A}/${PEER_B}, creates a missing identity and refuses an unset
# variable.  Needs root and `ip netns`; skips (77) otherwise.
. "$(dirname "$0")/lib.sh"

ENTRY="$top_srcdir/docker/entrypoint.sh"
EXAMPLES="$top_srcdir/docker/examples"

skip() {
	echo "SKIP: $*"
	exit 77
}

command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces"

# Read by lib.sh's netns_pair and netns_cleanup.
# shellcheck disable=SC2034
NA="plA$$" NB="plB$$" VA="plwa$$" VB="plwb$$" WAN_A=10.200.0.1
WAN_B=10.200.0.2

netns_pair
set -e
mkdir -p "/etc/netns/$NA" "/etc/netns/$NB"
printf '127.0.0.1 localhost\n%s peerlock-b\n' "$WAN_B" >"/etc/netns/$NA/hosts"
printf '127.0.0.1 localhost legacy\n' >"/etc/netns/$NB/hosts"
# No name servers: the names above come from the hosts files only.
: >"/etc/netns/$NA/resolv.conf"
: >"/etc/netns/$NB/resolv.conf"
set +e

# entry NAME NS CMD [VAR=VALUE...]: entry point command CMD of host NAME
# (a or b) in namespace NS, configured as compose.yml does.
entry() {
	n=$1 ns=$2 cmd=$3
	shift 3
	ip netns exec "$ns" env PEERLOCK_BIN="$PEERLOCK" \
	    PEERLOCK_CONFIG="$EXAMPLES/$n.conf" \
	    PEERLOCK_RENDERED="$T/$n.rendered.conf" \
	    PEERLOCK_IDENTITY="$T/$n/identity.key" "$@" sh "$ENTRY" "$cmd"
}

# start_host NAME NS VAR=VALUE...: entry point "run" in the background.
# No shell function in between: ip, env, sh and peerlock exec each other,
# so PID_NAME is peerlock's PID (as PID 1 is in the container).
start_host() {
	n=$1 ns=$2
	shift 2
	bg "$n" ip netns exec "$ns" env PEERLOCK_BIN="$PEERLOCK" \
	    PEERLOCK_CONFIG="$EXAMPLES/$n.conf" \
	    PEERLOCK_RENDERED="$T/$n.rendered.conf" \
	    PEERLOCK_IDENTITY="$T/$n/identity.key" "$@" sh "$ENTRY" run
	for _ in $(seq 200); do
		is_ready "$n" && return 0
		kill -0 "$(eval echo \$PID_"$n")" 2>/dev/null || break
		sleep 0.05
	done
	echo "peerlock $n did not start:"; cat "$T/$n.log"; return 1
}

# --- identities: created by the entry point, IDs exchanged like compose ---
ID_A=$(entry a "$NA" identity 2>"$T/ida.err")
ID_B=$(entry b "$NB" identity 2>"$T/idb.err")
case $ID_A in 12D3KooW*) pass "entry point created identity A: $ID_A" ;;
*) fail "entry point identity A: $ID_A $(cat "$T/ida.err")" ;; esac
case $ID_B in 12D3KooW*) pass "entry point created identity B: $ID_B" ;;
*) fail "entry point identity B: $ID_B $(cat "$T/idb.err")" ;; esac
check "created identity is mode 0600" \
    test "$(stat -c %a "$T/a/identity.key")" = 600
check "identity is kept, not regenerated, on the next start" \
    test "$(entry a "$NA" identity 2>/dev/null)" = "$ID_A"
entry a "$NA" render >"$T/unset.out" 2>&1
check "an unset \${PEER_B} refuses to render, naming file and line" \
    grep -q 'a.conf:[0-9]*: ${PEER_B} is not set' "$T/unset.out"

# --- the admin endpoint, when this build has it ---------------------------
ADMIN=""
cat >"$T/admin-probe.conf" <<CONF
[peerlock]
identity = $T/a/identity.key
admin = 127.0.0.1:9090
[forward.x]
listen = 127.0.0.1:1
peer = /ip4/127.0.0.1/tcp/1/p2p/$ID_B
CONF
if "$PEERLOCK" check -c "$T/admin-probe.conf" >/dev/null 2>&1; then
	ADMIN=127.0.0.1:9090
else
	echo "note: this peerlock has no 'admin' key yet: /healthz not tested"
fi

# --- host B: legacy service and peerlock B --------------------------------
bg legacy ip netns exec "$NB" "$TOOLS/echod" --port 6379 --count-file "$T/legacy.count"
for _ in $(seq 100); do ns_connect "$NB" 127.0.0.1 6379 >/dev/null && break
	sleep 0.05; done
ns_connect "$NB" 127.0.0.1 6379 || { fail "legacy (echod) did not start"
	pl_finish; }
start_host b "$NB" PEER_A="$ID_A" PEERLOCK_ADMIN="$ADMIN" || exit 1
start_host a "$NA" PEER_B="$ID_B" PEERLOCK_ADMIN="$ADMIN" || exit 1
check "rendered b.conf admits exactly peer A" \
    grep -q "^peers = $ID_A\$" "$T/b.rendered.conf"
check "rendered a.conf dials peerlock-b with B's peer id" \
    grep -q "^peer = /dns4/peerlock-b/tcp/4001/p2p/$ID_B\$" \
    "$T/a.rendered.conf"
check "rendered identity is the PEERLOCK_IDENTITY override" \
    grep -q "^identity = $T/a/identity.key\$" "$T/a.rendered.conf"

# --- what crosses the wan -------------------------------------------------
check "legacy service is up on host B (127.0.0.1:6379 in B)" \
    ns_connect "$NB" 127.0.0.1 6379
check "from A, B's encrypted port $WAN_B:4001 is reachable" \
    ns_connect "$NA" "$WAN_B" 4001
check_not "from A, B's plaintext port $WAN_B:6379 is not reachable" \
    ns_connect "$NA" "$WAN_B" 6379
check_not "from A, nothing answers on 127.0.0.1:4001 (B's listener is in B)" \
    ns_connect "$NA" 127.0.0.1 4001

# --- the tunnel ------------------------------------------------------------
before=$(accepted legacy)
for n in 1 65536 4194304; do
	check "app on A: $n bytes via peerlock A => B => legacy, unchanged" \
	    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 6379 --bytes "$n" \
	    --seed "$n" --timeout 30
done
check "legacy saw the tunnelled connections" \
    test "$(accepted legacy)" -gt "$before"
check "A logs the route, B's peer id and /noise" \
    logged a "closed route=forward.legacy .*peer=$ID_B proto=/noise .*reason=done"
check "B logs the authenticated peer A on expose.legacy" \
    logged b "closed route=expose.legacy .*peer=$ID_A proto=/noise"

# A stranger on host A (valid libp2p key, not in b.conf) is refused by B.
"$PEERLOCK" keygen -o "$T/c.key" >/dev/null
cat >"$T/c.conf" <<CONF
[peerlock]
identity = $T/c.key
[forward.legacy]
listen = 127.0.0.1:16379
peer = /ip4/$WAN_B/tcp/4001/p2p/$ID_B
CONF
bg c ip netns exec "$NA" "$PEERLOCK" run -c "$T/c.conf"
logged_re c "$PL_READY"
before=$(accepted legacy)
check_not "an unlisted peer on A gets nothing through B" \
    in_ns "$NA" "$TOOLS/plclient" 127.0.0.1 16379 --bytes 10 --timeout 5
check "B refuses it with not_allowed" logged b "reason=not_allowed"
check "legacy saw no connection from the refused peer" \
    test "$(accepted legacy)" = "$before"

if [ -n "$ADMIN" ]; then
	check "peerlock-health: A's /healthz is 200" \
	    in_ns "$NA" "$top_srcdir/docker/peerlock-health" "$ADMIN"
	check "peerlock-health: B's /healthz is 200" \
	    in_ns "$NB" env PEERLOCK_RENDERED="$T/b.rendered.conf" \
	    "$top_srcdir/docker/peerlock-health"
	check_not "peerlock-health fails where nothing listens" \
	    in_ns "$NA" "$top_srcdir/docker/peerlock-health" 127.0.0.1:1
fi

# --- a stop is clean --------------------------------------------------------
kill -TERM "$PID_a"
for _ in $(seq 100); do kill -0 "$PID_a" 2>/dev/null || break; sleep 0.05; done
check "SIGTERM to A (exec'd by the entry point) stops it" \
    logged a "peerlock stopped"
pl_finish

#!/bin/sh
# Goal: the forwarding side sees when the remote refuses it.  A remote
# peerlock that ends a tunnel right after the handshake, before any data
# (its expose does not allow us, or its target is down), is logged and
# counted on the forward as reason=remote_closed_early, over /noise and
# /tls/1.0.0 alike, whether the app speaks first or waits for the server.
# Each forward's remote peer has a reachability record in /metrics and
# /connections: up after a tunnel authenticated it, down with the last
# error after a refusal or a failed dial, unknown before any tunnel.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

keygen A; keygen B; keygen C
start_echod echo
PB=$(free_port); DEAD=$(free_port); NOBODY=$(free_port); AA=$(free_port)
FN=$(free_port); FT=$(free_port); FDN=$(free_port); FDT=$(free_port)
FOK=$(free_port); FGONE=$(free_port); FIDLE=$(free_port)
AC=$(free_port); FCN=$(free_port); FCT=$(free_port)

# B lets A reach the echo service and C reach a target that is down.
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "security=noise tls"
conf_expose B echo "$ID_A" "$PORT_echo"
conf_expose B dead "$ID_C" "$DEAD"
# A is allowed; B does not know D, whose forwards are refused.
keygen D
conf_node D "admin=127.0.0.1:$AA"
conf_forward D noise "$FN" "$PB" "$ID_B" security=noise
conf_forward D tls "$FT" "$PB" "$ID_B" security=tls
conf_forward D gone "$FGONE" "$NOBODY" "$ID_B"
conf_forward D idle "$FIDLE" "$PB" "$ID_B"
conf_node C "admin=127.0.0.1:$AC"
conf_forward C noise "$FCN" "$PB" "$ID_B" security=noise
conf_forward C tls "$FCT" "$PB" "$ID_B" security=tls
AO=$(free_port)
conf_node A "admin=127.0.0.1:$AO"
conf_forward A ok "$FOK" "$PB" "$ID_B"
start_peerlock B || exit 1
start_peerlock D || exit 1
start_peerlock C || exit 1
start_peerlock A || exit 1

# ask PORT MODE: connect, then (MODE=talk) send a line, or (MODE=wait)
# send nothing; print what came back before the close as "got=N".
ask() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
if sys.argv[2] == "talk":
    s.sendall(b"SELECT 1;\n")
s.settimeout(5)
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except (socket.timeout, ConnectionResetError):
    pass
print("got=%d" % len(got))
PY
}
metric() {
	curl -s "http://127.0.0.1:$1/metrics" |
	    awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "absent" }'
}
# other_reason NAME ROUTE: NAME logged a close of forward.ROUTE since its
# mark with done, io_error or protocol_error.
other_reason() {
	since "$1" | grep "route=forward.$2 " |
	    grep -Eq 'reason=(done|io_error|protocol_error)'
}
peers() { curl -s "http://127.0.0.1:$1/connections"; }
# peer_field PORT ROUTE FIELD: a field of ROUTE's entry in "peers".
peer_field() {
	peers "$1" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["route"] == sys.argv[1]:
        print(p[sys.argv[2]])' "$2" "$3"
}

check "before any tunnel: peer_up absent, state unknown" sh -c \
    "test \"\$(curl -s http://127.0.0.1:$AA/metrics | grep -c '^peerlock_peer_up{route=\"forward.idle\"}')\" = 0"
check "/connections lists the forward's peer as unknown" \
    test "$(peer_field "$AA" forward.idle state)" = unknown

# --- refused by the remote's allowlist --------------------------------
for p in noise tls; do
	eval port=\$F$(echo "$p" | cut -c1 | tr nt NT)
	for mode in talk wait; do
		log_mark D; log_mark B
		check "$p, app ${mode}s: the app gets nothing" \
		    test "$(ask "$port" $mode)" = got=0
		check "$p, app ${mode}s: B refuses D (not_allowed)" \
		    logged_after B "reason=not_allowed: peer-id check: $ID_D"
		check "$p, app ${mode}s: D logs remote_closed_early" \
		    logged_after D "closed route=forward.$p .*peer=$ID_B .*reason=remote_closed_early: remote peer ended the tunnel before sending any data"
		sleep 0.3
		check_not "$p, app ${mode}s: D does not call it done or io_error" \
		    other_reason D "$p"
	done
	check "$p: counted as remote_closed_early in D's metrics" test \
	    "$(metric "$AA" "peerlock_connections_closed_total{route=\"forward.$p\",reason=\"remote_closed_early\"}")" = 2
	check "$p: peer_up is 0 after the refusal" \
	    test "$(metric "$AA" "peerlock_peer_up{route=\"forward.$p\"}")" = 0
	check "$p: /connections says down" \
	    test "$(peer_field "$AA" "forward.$p" state)" = down
	check "$p: /connections has the last error" \
	    test "$(peer_field "$AA" "forward.$p" last_error | cut -d: -f1)" = remote_closed_early
	check "$p: the handshake itself succeeded (last_handshake set)" \
	    test "$(peer_field "$AA" "forward.$p" last_handshake)" != None
done

# --- allowed, but the remote's target is down -------------------------
for p in noise tls; do
	eval port=\$FC$(echo "$p" | cut -c1 | tr nt NT)
	log_mark C; log_mark B
	check "$p, target down: the app gets nothing" \
	    test "$(ask "$port" talk)" = got=0
	check "$p, target down: B logs target_failed" \
	    logged_after B "reason=target_failed"
	check "$p, target down: C logs remote_closed_early" \
	    logged_after C "closed route=forward.$p .*reason=remote_closed_early"
	check "$p, target down: counted on C" test \
	    "$(metric "$AC" "peerlock_connections_closed_total{route=\"forward.$p\",reason=\"remote_closed_early\"}")" = 1
done

# --- a remote that cannot be reached at all ----------------------------
ask "$FGONE" talk >/dev/null
check "unreachable remote: peer_up 0" \
    test "$(metric "$AA" "peerlock_peer_up{route=\"forward.gone\"}")" = 0
gone_dial() {
	peer_field "$AA" forward.gone last_error |
	    grep -q "^connect_failed: .*dialing /ip4/127.0.0.1/tcp/$NOBODY" &&
	    test "$(peer_field "$AA" forward.gone last_handshake)" = None
}
check "unreachable remote: last error is the failed dial, no handshake" \
    gone_dial
check "unreachable remote: last error time is set" awk -v v="$(metric "$AA" "peerlock_peer_last_error_timestamp_seconds{route=\"forward.gone\"}")" \
    'BEGIN { exit !(v > 1000000000) }'

# --- the healthy tunnel still says done and up -------------------------
check "allowed tunnel echoes" "$TOOLS/plclient" 127.0.0.1 "$FOK" --bytes 1000
check "allowed tunnel is done on A" \
    logged A "closed route=forward.ok .*peer=$ID_B .*up=1000 down=1000 .*reason=done"
check_not "no remote_closed_early for a tunnel that carried data" \
    grep -q "remote_closed_early" "$T/A.log"
check "allowed tunnel: peer_up 1" \
    test "$(metric "$AO" "peerlock_peer_up{route=\"forward.ok\"}")" = 1
check "allowed tunnel: /connections says up, with B's peer id" sh -c \
    "test \"\$(curl -s http://127.0.0.1:$AO/connections | python3 -c 'import json,sys; p=json.load(sys.stdin)[\"peers\"][0]; print(p[\"state\"], p[\"peer\"], p[\"last_handshake\"] is not None)')\" = 'up $ID_B True'"
check "healthz stays 200 (liveness of peerlock itself)" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AA/healthz")" = 200

pl_finish

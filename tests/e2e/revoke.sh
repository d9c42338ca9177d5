#!/bin/sh
# Goal: revoking a peer cuts its tunnels.  A reload that removes a peer
# from every expose closes that peer's live tunnels at once with reason
# `revoked` (both sockets reset), says how many in the reload line and
# counts them; the tunnels of peers still allowed keep flowing through
# the reload, and the revoked peer cannot open a new one.
. "$(dirname "$0")/lib.sh"

keygen A; keygen B; keygen C
start_echod echo
PB=$(free_port); FA=$(free_port); FC=$(free_port); AB=$(free_port)

conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "admin=127.0.0.1:$AB"
conf_expose B echo "$ID_A $ID_C" "$PORT_echo"
conf_node A
conf_forward A echo "$FA" "$PB" "$ID_B"
conf_node C
conf_forward C echo "$FC" "$PB" "$ID_B"
start_peerlock B || exit 1
start_peerlock A || exit 1
start_peerlock C || exit 1

# pinger NAME PORT: a pooled connection: one line every 0.1 s, each
# echoed back, until $T/stop exists (30 s at most); $T/NAME.res gets
# "ok N" or "broken N: why" (N pings answered).
pinger() {
	python3 - "$2" "$T/stop" >"$T/$1.res" 2>&1 <<'PY' &
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(3)
end, n = time.time() + 30, 0
try:
    while time.time() < end and not os.path.exists(sys.argv[2]):
        msg = b"ping %d\n" % n
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(4096)
            if not b:
                raise OSError("EOF")
            got += b
        if got != msg:
            raise OSError("bad echo")
        n += 1
        time.sleep(0.1)
    print("ok %d" % n)
except OSError as e:
    print("broken %d: %s" % (n, e))
PY
	eval "PING_$1=$!"
}
metric() {
	curl -s "http://127.0.0.1:$AB/metrics" |
	    awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

relaying() {
	curl -s "http://127.0.0.1:$AB/connections" | grep -c '"phase":"relaying"'
}
pinger a1 "$FA"; pinger a2 "$FA"; pinger c1 "$FC"; pinger c2 "$FC"
for _ in $(seq 200); do [ "$(relaying)" = 4 ] && break; sleep 0.05; done
sleep 0.5
check "four pooled tunnels are up on B" test "$(relaying)" = 4

# Reload B without C.
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "admin=127.0.0.1:$AB"
conf_expose B echo "$ID_A" "$PORT_echo"
log_mark B
t0=$(date +%s.%N)
kill -HUP "$PID_B"
check "reload line says 2 revoked" \
    logged_after B "reload: .*2 live tunnel(s) keep their settings, 2 revoked"
check "C's two tunnels closed as revoked, with the peer named" \
    test "$(count_after B "reason=revoked: peer-id check: $ID_C is no longer allowed by any expose")" = 2
check_not "A's tunnels were not touched" \
    sh -c "since_b() { tail -n +$((MARK_B + 1)) '$T/B.log'; }; since_b | grep 'peer=$ID_A' | grep -q 'reason=revoked'"
wait "$PING_c1" "$PING_c2"
t1=$(date +%s.%N)
check "C's apps see their connections broken" sh -c \
    "grep -q '^broken' '$T/c1.res' && grep -q '^broken' '$T/c2.res'"
check "... at once (under 2 s after the reload, not at the end)" \
    awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 2) }'
check "C sees the reset as io_error, not a clean done" \
    logged C "closed route=forward.echo .*reason=io_error"
sleep 1
touch "$T/stop"
wait "$PING_a1" "$PING_a2"
check "A's pooled tunnels kept working through the reload" sh -c \
    "grep -q '^ok' '$T/a1.res' && grep -q '^ok' '$T/a2.res'"
check "revoked tunnels counted" \
    test "$(metric 'peerlock_connections_closed_total{route="expose.echo",reason="revoked"}')" = 2
check_not "a new tunnel from C is refused" \
    "$TOOLS/plclient" 127.0.0.1 "$FC" --bytes 10 --timeout 5
check "... with not_allowed" logged B "reason=not_allowed: peer-id check: $ID_C"
check "A still gets new tunnels" "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 1000
cat "$T"/*.res

pl_finish

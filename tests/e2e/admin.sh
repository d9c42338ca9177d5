#!/bin/sh
# Goal: the admin listener answers /healthz, /metrics and /connections
# over real HTTP (curl), and every counter moves when its event happens:
# a tunnel (established, closed, bytes, handshake histogram, open gauge),
# each handshake failure class we can provoke (peer id mismatch, not
# allowed, timeout, garbage, no common protocol), a limit refusal and a
# reload (ok and failed).  `quiet` demotes close lines of the named
# classes below info while the metrics still count them; /healthz says
# 503 while draining.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

keygen A; keygen B; keygen C
start_echod echo
PB=$(free_port); FA=$(free_port); FW=$(free_port); FT=$(free_port)
FC=$(free_port); AA=$(free_port); AB=$(free_port)
cat >"$T/B.conf" <<CONF
[peerlock]
identity = $T/B.key
listen = /ip4/127.0.0.1/tcp/$PB
admin = 127.0.0.1:$AB
handshake_timeout = 1s
max_handshakes_per_ip = 3
quiet = closed_early handshake_timeout
  bad_message

[expose.echo]
peers = $ID_A
target = 127.0.0.1:$PORT_echo
CONF
conf_node A "admin=127.0.0.1:$AA" shutdown_timeout=20s
conf_forward A echo "$FA" "$PB" "$ID_B"
conf_forward A wrong "$FW" "$PB" "$ID_C"
conf_forward A tls "$FT" "$PB" "$ID_B" security=tls
conf_node C log_format=json
conf_forward C echo "$FC" "$PB" "$ID_B"
start_peerlock B || exit 1
start_peerlock A || exit 1
start_peerlock C || exit 1

# metric PORT 'name{labels}': the value, 0 when the series is absent.
metric() {
	curl -s "http://127.0.0.1:$1/metrics" |
	    awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}
# moved DESC PORT SERIES BEFORE [MIN]: the series grew by at least MIN (1).
moved() {
	_v=0
	for _ in $(seq 40); do
		_v=$(metric "$2" "$3")
		awk -v a="$_v" -v b="$4" -v m="${5:-1}" \
		    'BEGIN { exit !(a - b >= m) }' && break
		sleep 0.1
	done
	check "$1 ($3: $4 -> $_v)" awk -v a="$_v" -v b="$4" -v m="${5:-1}" \
	    'BEGIN { exit !(a - b >= m) }'
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

check "/healthz is 200 while serving" test "$(code "http://127.0.0.1:$AB/healthz")" = 200
check "unknown path is 404" test "$(code "http://127.0.0.1:$AB/nope")" = 404
check "POST is refused (405)" test "$(code -X POST "http://127.0.0.1:$AB/metrics")" = 405
curl -s "http://127.0.0.1:$AB/metrics" >"$T/metrics.txt"
check "/metrics is Prometheus text with HELP/TYPE lines" \
    grep -q '^# TYPE peerlock_handshake_duration_seconds histogram' "$T/metrics.txt"
check "/metrics content type" sh -c "curl -sI 'http://127.0.0.1:$AB/metrics' | grep -qi 'content-type: text/plain; version=0.0.4'"
check "every sample line is 'name{labels} number'" sh -c \
    "grep -v '^#' '$T/metrics.txt' | grep -Evq '^[a-z_]+(\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\})? [0-9.e+-]+\$' && exit 1 || exit 0"

# --- a tunnel ---------------------------------------------------------
S_EST_A='peerlock_connections_total{route="forward.echo",protocol="/noise"}'
S_EST_B='peerlock_connections_total{route="expose.echo",protocol="/noise"}'
S_DONE='peerlock_connections_closed_total{route="forward.echo",reason="done"}'
S_UP='peerlock_bytes_total{route="forward.echo",direction="up"}'
S_DOWN='peerlock_bytes_total{route="forward.echo",direction="down"}'
S_HS='peerlock_handshake_duration_seconds_count{protocol="/noise"}'
S_HSB='peerlock_handshake_duration_seconds_bucket{protocol="/noise",le="+Inf"}'
S_OPEN='peerlock_connections_open{route="forward.echo",protocol="/noise"}'
e0=$(metric "$AA" "$S_EST_A"); eb0=$(metric "$AB" "$S_EST_B")
d0=$(metric "$AA" "$S_DONE"); u0=$(metric "$AA" "$S_UP")
w0=$(metric "$AA" "$S_DOWN"); h0=$(metric "$AA" "$S_HS")
hb0=$(metric "$AA" "$S_HSB")
check "a tunnel carries 64 KiB" "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 65536
moved "tunnels established (forward side)" "$AA" "$S_EST_A" "$e0"
moved "tunnels established (expose side)" "$AB" "$S_EST_B" "$eb0"
moved "closed with reason done" "$AA" "$S_DONE" "$d0"
moved "bytes up" "$AA" "$S_UP" "$u0" 65536
moved "bytes down" "$AA" "$S_DOWN" "$w0" 65536
moved "handshake histogram count" "$AA" "$S_HS" "$h0"
moved "handshake histogram +Inf bucket" "$AA" "$S_HSB" "$hb0"

# a live tunnel: open gauge, live bytes and /connections
"$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 1000 --hold 3 >"$T/hold.out" 2>&1 &
hold=$!
sleep 1
moved "open gauge counts the live tunnel" "$AA" "$S_OPEN" 0
curl -s "http://127.0.0.1:$AA/connections" >"$T/conns.json"
check "/connections lists the live tunnel with route, peer, protocol" \
    python3 - "$T/conns.json" "$ID_B" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = [x for x in d["connections"] if x["route"] == "forward.echo"]
assert len(c) == 1, d
c = c[0]
assert c["peer"] == sys.argv[2] and c["protocol"] == "/noise", c
assert c["phase"] == "relaying" and c["age"] >= 0.5, c
assert isinstance(c["up"], int) and isinstance(c["down"], int), c
assert c["from"].startswith("127.0.0.1:") and c["inbound"] is False, c
PY
curl -s "http://127.0.0.1:$AB/connections" >"$T/connsb.json"
check "/connections on the expose side names the peer" \
    python3 -c "import json,sys; d=json.load(open('$T/connsb.json')); assert any(x['route']=='expose.echo' and x['peer']=='$ID_A' and x['inbound'] for x in d['connections']), d"
wait "$hold"
check "held tunnel finished" grep -q '^ok' "$T/hold.out"
check "open gauge back to 0" test "$(metric "$AA" "$S_OPEN")" = 0

# --- handshake failures -------------------------------------------------
F='peerlock_handshake_failures_total'
m0=$(metric "$AA" "$F{reason=\"peer_id_mismatch\"}")
"$TOOLS/plclient" 127.0.0.1 "$FW" --bytes 10 --timeout 5 >/dev/null 2>&1
moved "peer id mismatch counted" "$AA" "$F{reason=\"peer_id_mismatch\"}" "$m0"
check "peer id mismatch still logged at warn" logged A "WARN conn .* route=forward.wrong .*peer id mismatch"

n0=$(metric "$AA" "$F{reason=\"no_common_protocol\"}")
nb0=$(metric "$AB" "$F{reason=\"no_common_protocol\"}")
"$TOOLS/plclient" 127.0.0.1 "$FT" --bytes 10 --timeout 5 >/dev/null 2>&1
moved "no common protocol counted (dialer)" "$AA" "$F{reason=\"no_common_protocol\"}" "$n0"
moved "no common protocol counted (listener)" "$AB" "$F{reason=\"no_common_protocol\"}" "$nb0"

a0=$(metric "$AB" "$F{reason=\"not_allowed\"}")
"$TOOLS/plclient" 127.0.0.1 "$FC" --bytes 10 --timeout 5 >/dev/null 2>&1
moved "not allowed counted" "$AB" "$F{reason=\"not_allowed\"}" "$a0"
check "not_allowed is not quiet: logged" logged B "reason=not_allowed"
check "log_format = json: C's close line is a JSON object" sh -c \
    "grep '\"msg\":\"conn .* closed' '$T/C.log' | head -1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); assert d[\"level\"] in (\"warn\",\"info\")'"

g0=$(metric "$AB" "$F{reason=\"bad_message\"}")
rawsend "$PB" "$(printf 'GET / HTTP/1.1\r\n\r\n' | od -An -tx1 | tr -d ' \n')" 2 >/dev/null
moved "garbage counted as bad_message" "$AB" "$F{reason=\"bad_message\"}" "$g0"
check_not "quiet: the bad_message close line is not logged at info" \
    sh -c "grep 'reason=handshake_failed: multistream' '$T/B.log' |
    grep -vq 'no common security protocol'"

# tls_verify: a /tls/1.0.0 listener shown a certificate whose libp2p
# extension is signed by another key (tests/tools/plpeer, as in hostile.sh)
keygen D; keygen S
PD=$(free_port); AD=$(free_port)
conf_node D "listen=/ip4/127.0.0.1/tcp/$PD" "admin=127.0.0.1:$AD" \
    security=tls
conf_expose D echo "$ID_A" "$PORT_echo"
start_peerlock D || exit 1
v0=$(metric "$AD" "$F{reason=\"tls_verify\"}")
"$TOOLS/plpeer" tls "$PD" --key "$T/A.key" --signer "$T/S.key" \
    --mode foreign-sig --hold 5 >/dev/null 2>&1
moved "bad TLS certificate counted as tls_verify" "$AD" \
    "$F{reason=\"tls_verify\"}" "$v0"

# four silent connections from one address: 3 admitted and timed out
# (handshake_timeout = 1s), the 4th refused at max_handshakes_per_ip
t0=$(metric "$AB" "$F{reason=\"handshake_timeout\"}")
r0=$(metric "$AB" 'peerlock_refused_total{limit="max_handshakes_per_ip"}')
python3 - "$PB" <<'PY'
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(4)]
time.sleep(1.8)
PY
moved "handshake timeouts counted" "$AB" "$F{reason=\"handshake_timeout\"}" "$t0" 3
moved "refusal at max_handshakes_per_ip counted" "$AB" 'peerlock_refused_total{limit="max_handshakes_per_ip"}' "$r0"
check_not "quiet: handshake_timeout close lines not logged at info" \
    grep -q 'reason=handshake_timeout' "$T/B.log"
check "quiet classes still closed: closed_total by reason" \
    test "$(metric "$AB" 'peerlock_connections_closed_total{route="inbound",reason="handshake_timeout"}')" -ge 3

# --- reloads ------------------------------------------------------------
ok0=$(metric "$AB" 'peerlock_reloads_total{result="ok"}')
kill -HUP "$PID_B"
moved "reload ok counted" "$AB" 'peerlock_reloads_total{result="ok"}' "$ok0"
cp "$T/B.conf" "$T/B.conf.good"
echo "bogus = 1" >>"$T/B.conf"
bad0=$(metric "$AB" 'peerlock_reloads_total{result="failed"}')
kill -HUP "$PID_B"
moved "failed reload counted" "$AB" 'peerlock_reloads_total{result="failed"}' "$bad0"
check "failed reload logged with file:line" logged B "reload: .*B.conf:[0-9]*: unknown key 'bogus'"
cp "$T/B.conf.good" "$T/B.conf"
check "still serving after the failed reload" "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 4096

# --- draining -------------------------------------------------------------
"$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 1000 --hold 3 >"$T/drain.out" 2>&1 &
hold=$!
sleep 0.7
kill -TERM "$PID_A"
sleep 0.5
check "/healthz is 503 while draining" test "$(code "http://127.0.0.1:$AA/healthz")" = 503
check "/healthz body says draining" sh -c "curl -s 'http://127.0.0.1:$AA/healthz' | grep -qx draining"
check "draining gauge is 1" test "$(metric "$AA" peerlock_draining)" = 1
wait "$hold"
check "the tunnel open at SIGTERM finished" grep -q '^ok' "$T/drain.out"
check "A stopped after the drain" logged A "peerlock stopped"
pl_finish

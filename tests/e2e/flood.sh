#!/bin/sh
# Goal: a distributed idle flood cannot lock honest peers out.  Idle
# connections from many loopback addresses, each under the per-IP limits,
# fill max_handshakes; an honest peer's tunnel still works within two
# seconds because the oldest pending connection is shed for it (silent
# ones before ones that sent bytes), one close line and one metric count
# per shed connection.  A reload that raises max_connections resizes the
# per-IP table, so new addresses are still held to the per-IP limits.
# Remote peers cannot take the capacity local forwards need: inbound
# connections stop at max_connections - local_reserve.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

keygen A; keygen B
start_echod echo
PB=$(free_port); FA=$(free_port); AB=$(free_port)
bconf() {
	conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "admin=127.0.0.1:$AB" \
	    handshake_timeout=30s max_handshakes_per_ip=4 \
	    max_connections_per_ip=8 "$@"
	conf_expose B echo "$ID_A" "$PORT_echo"
}
bconf max_handshakes=20 max_connections=40
conf_node A
conf_forward A echo "$FA" "$PB" "$ID_B"
start_peerlock B || exit 1
start_peerlock A || exit 1

metric() {
	curl -s "http://127.0.0.1:$AB/metrics" |
	    awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}
# flood NAME HOLD SPEC...: tests/tools/idleflood.py (to port $FPORT, or
# B's listener) in the background,
# output in $T/NAME.flood; returns once every connection is open.
flood() {
	_n=$1; shift
	python3 "${top_srcdir:?}/tests/tools/idleflood.py" "${FPORT:-$PB}" "$@" \
	    >"$T/$_n.flood" 2>&1 &
	eval "FL_$_n=$!"
	for _ in $(seq 200); do
		grep -q '^ready' "$T/$_n.flood" && return 0
		sleep 0.05
	done
	echo "flood $_n did not start:"; cat "$T/$_n.flood"; return 1
}
# closed NAME SRC: how many of SRC's connections the server ended.
closed() { awk -v s="$2" '$1 == s { print $3 }' "$T/$1.flood"; }
# honest DESC: a 64 KiB tunnel through A to B completes within 2 s.
honest() {
	_t0=$(date +%s%N)
	"$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 65536 --timeout 5 \
	    >"$T/honest.out" 2>&1
	_rc=$?
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	check "$1 (${_ms} ms)" test "$_rc" -eq 0 -a "$_ms" -lt 2000
}
# pending N: wait until B has N unauthenticated inbound connections.
pending() {
	for _ in $(seq 100); do
		[ "$(curl -s "http://127.0.0.1:$AB/connections" |
		    grep -c '"phase":"handshaking"')" -eq "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- silent flood from 5 addresses fills max_handshakes (20) ------------
s0=$(metric 'peerlock_handshakes_shed_total{state="silent"}')
flood one 5 127.0.0.10:4 127.0.0.11:4 127.0.0.12:4 127.0.0.13:4 \
    127.0.0.14:4 || exit 1
check "the flood holds all 20 handshake slots" pending 20
honest "honest tunnel works while silent connections fill max_handshakes"
# the first tunnel's slot is free again once it authenticated
honest "and a second one"
wait "$FL_one"
check "exactly one connection was shed, the oldest (127.0.0.10)" \
    test "$(closed one 127.0.0.10)" = 1 -a "$(closed one 127.0.0.11)" = 0 \
    -a "$(closed one 127.0.0.14)" = 0
check "one close line for the shed connection, with the reason" \
    test "$(grep -c 'from=127.0.0.10:.*reason=shed: limit: max_handshakes (20) reached: shed the oldest unauthenticated connection to admit a new one (it had sent nothing after' "$T/B.log")" -eq 1
check "shed connection counted (silent)" \
    test "$(metric 'peerlock_handshakes_shed_total{state="silent"}')" -eq $((s0 + 1))
check "no newcomer was refused at max_handshakes" \
    test "$(metric 'peerlock_refused_total{limit="max_handshakes"}')" -eq 0
check "the flood's slots came back" pending 0

# --- older connections that sent bytes outlive newer silent ones --------
flood two 5 127.0.0.20:4:talk 127.0.0.21:4:talk 127.0.0.22:4:talk \
    127.0.0.30:4 127.0.0.31:4 || exit 1
check "talkers and silent ones hold all 20 slots" pending 20
honest "honest tunnel works past talkers and silent connections"
wait "$FL_two"
check "the oldest silent connection was shed, no talker" \
    test "$(closed two 127.0.0.30)" = 1 -a "$(closed two 127.0.0.20)" = 0 \
    -a "$(closed two 127.0.0.21)" = 0 -a "$(closed two 127.0.0.22)" = 0
check "the talkers' slots came back" pending 0

# --- only talkers: the oldest of them goes ------------------------------
p0=$(metric 'peerlock_handshakes_shed_total{state="partial"}')
flood three 4 127.0.0.40:4:talk 127.0.0.41:4:talk 127.0.0.42:4:talk \
    127.0.0.43:4:talk 127.0.0.44:4:talk || exit 1
check "20 half-spoken handshakes hold all slots" pending 20
honest "honest tunnel works past 20 stalled handshakes"
wait "$FL_three"
check "the oldest stalled handshake was shed (127.0.0.40)" \
    test "$(closed three 127.0.0.40)" = 1 -a "$(closed three 127.0.0.44)" = 0
check "its close line says the handshake was unfinished" \
    logged B "from=127.0.0.40:.*reason=shed: .*(handshake unfinished after"
check "counted (partial)" \
    test "$(metric 'peerlock_handshakes_shed_total{state="partial"}')" -eq $((p0 + 1))
check "slots back again" pending 0

# --- a reload that raises max_connections resizes the per-IP table ------
bconf max_handshakes=200 max_connections=200
kill -HUP "$PID_B"
check "B reloaded with max_connections = 200" logged B "reload: .* loaded"
# 60 new sources (more than the 40 the table was sized for), then one more
# source over its own limit: max_handshakes_per_ip (4) still holds for it
specs=""
for i in $(seq 1 60); do specs="$specs 127.0.1.$i:1"; done
# shellcheck disable=SC2086
flood four 2 $specs 127.0.2.1:6 || exit 1
wait "$FL_four"
check "after the reload the 61st source is still held to its per-IP limit (2 of 6 refused)" \
    test "$(closed four 127.0.2.1)" = 2
check "and the 60 single connections were not touched" \
    test "$(awk '$1 ~ /^127\.0\.1\./ { s += $3 } END { print s + 0 }' "$T/four.flood")" = 0
check "refusal logged for that source" \
    logged B "limit: max_handshakes_per_ip (4) reached, refusing connection from 127.0.2.1"
honest "honest tunnel after the reload"

# --- local_reserve: inbound connections leave room for local forwards ---
# C: max_connections = 6 with 2 reserved for its forward to D
keygen C; keygen D
PC=$(free_port); PD=$(free_port); FC=$(free_port)
conf_node D "listen=/ip4/127.0.0.1/tcp/$PD"
conf_expose D echo "$ID_C" "$PORT_echo"
conf_node C "listen=/ip4/127.0.0.1/tcp/$PC" handshake_timeout=30s \
    max_connections=6 local_reserve=2
conf_forward C out "$FC" "$PD" "$ID_D"
start_peerlock D || exit 1
start_peerlock C || exit 1
FPORT=$PC flood five 3 127.0.0.50:2 127.0.0.51:2 127.0.0.52:2 || exit 1
check "C's forward works while remote peers hold all they may" \
    "$TOOLS/plclient" 127.0.0.1 "$FC" --bytes 65536 --timeout 5
# two tunnels at once through the forward: both reserved slots in use
# (once C has closed the first one: the app has its echo a moment
# before C's conn is gone)
logged C "closed route=forward.out" >/dev/null
"$TOOLS/plclient" 127.0.0.1 "$FC" --bytes 1000 --hold 2 --timeout 5 \
    >"$T/held.out" 2>&1 &
held=$!
check "and a second one alongside a held tunnel" \
    "$TOOLS/plclient" 127.0.0.1 "$FC" --bytes 65536 --timeout 5
wait "$held"
wait "$FL_five"
check "inbound stopped at max_connections - local_reserve (2 of 6 refused)" \
    test "$(awk '{ s += $3 } END { print s }' "$T/five.flood")" = 2
check "refusal logged with the reserve" \
    logged C "limit: local_reserve (2) reached, refusing connection from 127.0.0.52"
pl_finish

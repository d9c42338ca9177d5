#!/bin/sh
# Goal: node mode between two real peerlocks.  Every tunnel is a yamux
# stream on one session per peer, routed by its protocol: two services
# of one peer by protocol, data unchanged in both directions, half-close
# per stream, an unknown protocol refused with a reason on both sides, a
# dead target resetting only its stream, 200 concurrent tunnels over one
# connection, a peer behind "NAT" (no listener) reached over the session
# it dialed out through [connect], a killed remote closing its streams
# with a reason and the forward dialing again, SIGTERM draining.
. "$(dirname "$0")/lib.sh"

# E2E_QUICK=1 (contrib/valgrind.sh): small transfers, 20 tunnels, and no
# SIGKILL (a killed process writes no valgrind summary).
BIG=104857600 MID=10485760 NCONC=200
[ -n "${E2E_QUICK:-}" ] && BIG=4194304 MID=1048576 NCONC=20

# RSS is measured below: under ASan, keep its quarantine small.
ASAN_OPTIONS="quarantine_size_mb=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export ASAN_OPTIONS
keygen A; keygen B; keygen C
start_echod echo
start_echod other
start_echod slow --mode slow --slow-rate 1
PB=$(free_port); PA=$(free_port); FE=$(free_port); FO=$(free_port)
FN=$(free_port); FD=$(free_port); FNAT=$(free_port); DEAD=$(free_port)
FS=$(free_port); ADM=$(free_port)

conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" security=noise
conf_expose_node B echo "$ID_A" /x/echo "$PORT_echo"
conf_expose_node B other "$ID_A" /x/other "$PORT_other"
conf_expose_node B dead "$ID_A" /x/dead "$DEAD"
conf_expose_node B slow "$ID_A" /x/slow "$PORT_slow"
conf_node A "listen=/ip4/127.0.0.1/tcp/$PA" security=noise \
    "admin=127.0.0.1:$ADM"
conf_forward A echo "$FE" "$PB" "$ID_B" protocol=/x/echo
conf_forward A other "$FO" "$PB" "$ID_B" protocol=/x/other
conf_forward A nope "$FN" "$PB" "$ID_B" protocol=/x/nope
conf_forward A dead "$FD" "$PB" "$ID_B" protocol=/x/dead
conf_forward A slow "$FS" "$PB" "$ID_B" protocol=/x/slow
# C has no listener: it is reached over the session it dials to A.
cat >>"$T/A.conf" <<EOC

[forward.nat]
listen = 127.0.0.1:$FNAT
peer = /p2p/$ID_C
protocol = /x/echo
EOC
conf_node C security=noise
conf_connect C hub "/ip4/127.0.0.1/tcp/$PA/p2p/$ID_A"
conf_expose_node C echo "$ID_A" /x/echo "$PORT_echo"
check "check accepts the node-mode configs" \
    sh -c "'$PEERLOCK' check -c '$T/A.conf' && '$PEERLOCK' check -c '$T/B.conf' && '$PEERLOCK' check -c '$T/C.conf'" 
start_peerlock B || exit 1
start_peerlock A || exit 1

# --- streams by protocol -------------------------------------------------
for n in 1 65536 "$MID"; do
	check "/x/echo: $n bytes through A=>B unchanged" \
	    "$TOOLS/plclient" 127.0.0.1 "$FE" --bytes "$n" --seed "$n"
done
before=$(accepted other)
check "/x/other: routed to the other service" \
    "$TOOLS/plclient" 127.0.0.1 "$FO" --bytes 4096
check "/x/other reached the second target" \
    test "$(accepted other)" -gt "$before"
check "half-close per stream: FIN out, whole 4 MiB echo back" \
    "$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 4194304 --half-close
check "stream close line: route, peer, protocol, bytes" \
    logged A "stream [0-9]* closed route=forward.echo .*peer=$ID_B proto=/x/echo up=1 down=1 .*reason=done"
check "B: stream close line with the expose route" \
    logged B "stream [0-9]* closed route=expose.echo .*peer=$ID_A proto=/x/echo"
check "one session carries every tunnel" \
    test "$(grep -c "session with $ID_B" "$T/A.log")" -eq 1

# --- refusals ------------------------------------------------------------
check_not "unknown protocol: the app gets no echo" \
    "$TOOLS/plclient" 127.0.0.1 "$FN" --bytes 10 --timeout 5
check "A: refused with protocol_refused naming the protocol" \
    logged A "route=forward.nope .*reason=protocol_refused: multistream: .*/x/nope"
check_not "dead target: the app gets no echo" \
    "$TOOLS/plclient" 127.0.0.1 "$FD" --bytes 10 --timeout 5
check "B: target_failed for the dead target" \
    logged B "route=expose.dead .*reason=target_failed"
check "A: the stream was reset by B" \
    logged A "route=forward.dead .*reason=reset"
check "the session survived: echo still works" \
    "$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 100000

# --- a slow reader on one stream, 100 MiB at full speed on another --------
a0=$(rss_kb "$PID_A"); b0=$(rss_kb "$PID_B")
"$TOOLS/plclient" 127.0.0.1 "$FS" --bytes 1073741824 --no-echo \
    --timeout 10 >/dev/null 2>&1 &
slow=$!
sleep 0.5
"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes "$BIG" --seed 3 \
    --timeout 60 >"$T/fast.out" 2>&1 &
fast=$!
max_a=0; max_b=0
while kill -0 "$fast" 2>/dev/null; do
	a=$(rss_kb "$PID_A"); b=$(rss_kb "$PID_B")
	[ "$a" -gt "$max_a" ] && max_a=$a
	[ "$b" -gt "$max_b" ] && max_b=$b
	sleep 0.1
done
check "$BIG bytes on /x/echo beside a stalled /x/slow stream" wait "$fast"
wait "$slow"
echo "slow reader: RSS A ${a0} -> max ${max_a} KiB, B ${b0} -> max ${max_b} KiB"
check "slow reader: forwarding peerlock grows < 8 MiB" \
    test $((max_a - a0)) -lt 8192
check "slow reader: exposing peerlock grows < 8 MiB" \
    test $((max_b - b0)) -lt 8192
# the slow target goes away: its stream is reset, nothing else
kill "$PID_slow"
check "the stalled stream ends when its target goes" \
    logged A "route=forward.slow .*reason=reset"

# --- 200 concurrent tunnels over one connection --------------------------
pids=""
for i in $(seq "$NCONC"); do
	"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 65536 --seed "$i" \
	    --timeout 60 >"$T/c$i.out" 2>&1 &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
check "$NCONC concurrent tunnels, every checksum right ($bad failed)" \
    test "$bad" -eq 0
check "still one session after $NCONC tunnels" \
    test "$(grep -c "session with $ID_B" "$T/A.log")" -eq 1

# --- what an operator sees ----------------------------------------------
"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 1048576 --hold 3 \
    --timeout 30 >"$T/held.out" 2>&1 &
held=$!
sleep 1
curl -s "http://127.0.0.1:$ADM/metrics" >"$T/metrics.txt"
curl -s "http://127.0.0.1:$ADM/connections" >"$T/connections.json"
check "metrics: one session open with B" \
    grep -q "^peerlock_sessions_open{peer=\"$ID_B\"} 1" "$T/metrics.txt"
check "metrics: the held stream is open on forward.echo" \
    grep -q '^peerlock_streams_open{route="forward.echo",protocol="/x/echo"} 1' "$T/metrics.txt"
check "metrics: stream open latency observed" \
    grep -q '^peerlock_stream_open_seconds_count [1-9]' "$T/metrics.txt"
check "metrics: stream closes counted by route and reason" \
    grep -q '^peerlock_connections_closed_total{route="forward.echo",reason="done"} [1-9]' "$T/metrics.txt"
check "/connections: the session lists its streams" \
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = [c for c in d["connections"] if c["phase"] == "session"]
assert len(s) == 1 and any(x["route"] == "forward.echo" for x in s[0]["streams"]), d
' "$T/connections.json"
wait "$held"

# --- NAT: C dials out, A reaches C's expose over that session ------------
check_not "before C is up: no session, the app is refused" \
    "$TOOLS/plclient" 127.0.0.1 "$FNAT" --bytes 10 --timeout 5
check "A: no_session named for the forward without an address" \
    logged A "route=forward.nat .*reason=no_session"
start_peerlock C || exit 1
check "C: session to the hub is up" logged C "session with $ID_A"
check "A reaches C's expose over C's own session" \
    "$TOOLS/plclient" 127.0.0.1 "$FNAT" --bytes 65536

# --- a killed remote ------------------------------------------------------
if [ -z "${E2E_QUICK:-}" ]; then
"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 104857600 --timeout 60 \
    >"$T/long.out" 2>&1 &
long=$!
sleep 0.5
kill -9 "$PID_B"
wait "$PID_B" 2>/dev/null
check_not "the tunnel in flight fails" wait "$long"
check "A closes the session with a reason" \
    logged A "route=session .*peer=$ID_B .*reason=\(io_error\|closed_early\|protocol_error\)"
check "its streams are closed with the session's reason" \
    logged A "route=forward.echo .*reason=session_closed"
cp "$T/B.conf" "$T/B2.conf"
start_peerlock B2 || exit 1
check "after B restarts, the forward dials a new session" \
    "$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 65536
fi

# --- SIGTERM: Go Away and drain -------------------------------------------
"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes "$MID" --timeout 60 \
    >"$T/drain.out" 2>&1 &
drain=$!
sleep 0.3
kill -TERM "$PID_A"
check "a tunnel in flight finishes during the drain" wait "$drain"
check "A stopped" logged A "stopped"

pl_finish

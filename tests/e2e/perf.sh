#!/bin/sh
# Goal: the libp2p perf protocol (/perf/1.0.0) between two peerlocks.
# B serves it with perf = on to the peers its node-mode exposes admit
# (A, H); `peerlock perf` from A measures it and gets exactly the bytes
# asked for, both ways, with one close line on B.  Refusals are clear:
# perf = off (B0) and a peer only a forward names (C) get protocol_refused;
# a request over perf_max_bytes is reset before any byte and B logs
# why.  A malformed request (the stream ends after 3 of 8 bytes) closes
# only that stream: the same session then echoes on another stream.  A
# client that asks for 1 TiB with a huge window and never reads costs B
# less than RSS_BOUND KiB: sending follows the encrypted output's marks.
. "$(dirname "$0")/lib.sh"

RSS_BOUND=8192	# KiB
keygen A; keygen B; keygen B0; keygen C; keygen H
start_echod echo
PB=$(free_port); PB0=$(free_port); FC=$(free_port); PCX=$(free_port)

conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "security=noise tls" perf=on \
    perf_max_bytes=1024GiB
cat >>"$T/B.conf" <<EOC

[expose.echo]
peers = $ID_A $ID_H
protocol = /x/echo
target = 127.0.0.1:$PORT_echo

[forward.toc]
listen = 127.0.0.1:$FC
peer = /ip4/127.0.0.1/tcp/$PCX/p2p/$ID_C
protocol = /x/echo
EOC
# B0: the same without perf (default off)
conf_node B0 "listen=/ip4/127.0.0.1/tcp/$PB0" security=noise
conf_expose_node B0 echo "$ID_A" /x/echo "$PORT_echo"
start_peerlock B || exit 1
start_peerlock B0 || exit 1

# perf A KEY PORT PEER ARGS...: run peerlock perf; stdout in $T/perf.out,
# stderr in $T/perf.err, exit status in $prc.
perf() {
	_k=$1 _p=$2 _id=$3
	shift 3
	"$PEERLOCK" perf -k "$T/$_k.key" -t 60s "$@" \
	    "/ip4/127.0.0.1/tcp/$_p/p2p/$_id" >"$T/perf.out" 2>"$T/perf.err"
	prc=$?
}
# json KEY: the number KEY of the JSON result line.
json() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	    "$T/perf.out" "$1"
}

# --- a measurement: exact counts, one close line --------------------------
perf A "$PB" "$ID_B" -u 3M -d 5M
check "perf A -> B: exit 0 (got $prc: $(cat "$T/perf.err"))" test "$prc" -eq 0
check "perf: uploadBytes 3145728" test "$(json uploadBytes)" = 3145728
check "perf: downloadBytes 5242880" test "$(json downloadBytes)" = 5242880
check "perf: type final, timeSeconds > 0" python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
sys.exit(0 if r["type"]=="final" and r["timeSeconds"]>0 and
    r["uploadSeconds"]+r["downloadSeconds"]<=r["timeSeconds"]+1e-3 and
    r["downloadBitsPerSecond"]>0 else 1)' "$T/perf.out"
check "perf: a human line on stderr" grep -q \
    "^perf $ID_B: upload 3145728 B in .* download 5242880 B in" "$T/perf.err"
# up: what B sent; down: the request (8) and the upload
check "B logs the perf stream: up=5242880 down=3145736 reason=done" logged_re B \
    "stream [0-9]+ closed route=perf .*peer=$ID_A proto=/perf/1.0.0 up=5242880 down=3145736 .*reason=done"
perf A "$PB" "$ID_B" -u 0 -d 0
check "perf 0/0: exit 0, zero bytes" test "$prc" -eq 0 -a \
    "$(json downloadBytes)" = 0 -a "$(json uploadBytes)" = 0
perf A "$PB" "$ID_B" -u 1 -d 65537 -s tls
check "perf over /tls/1.0.0: exit 0, exact counts" test "$prc" -eq 0 -a \
    "$(json downloadBytes)" = 65537 -a "$(json uploadBytes)" = 1
perf A "$PB0" "$ID_B0" -u 1 -d 1 -s tls
check "B0 speaks only noise: perf over tls fails, naming the handshake" \
    grep -q "handshake_failed" "$T/perf.err"

# --- refusals --------------------------------------------------------------
perf A "$PB0" "$ID_B0" -u 1M -d 1M
check "perf = off: exit 1" test "$prc" -eq 1
check "perf = off: protocol_refused" grep -q "protocol_refused" "$T/perf.err"
check_not "perf = off: B0 logs no perf stream" grep -q "route=perf" \
    "$T/B0.log"

perf C "$PB" "$ID_B" -u 1M -d 1M
check "a peer only a forward names: exit 1" test "$prc" -eq 1
check "a peer only a forward names: protocol_refused" grep -q \
    "protocol_refused" "$T/perf.err"

perf A "$PB" "$ID_B" -u 0 -d 1025G
check "over perf_max_bytes: exit 1" test "$prc" -eq 1
check "over perf_max_bytes: the client sees a reset before any byte" \
    grep -q "reset.*before any download" "$T/perf.err"
check "over perf_max_bytes: B says why" logged B \
    "reason=protocol_error: perf: the peer asked for 1100585369600 bytes, more than perf_max_bytes (1099511627776)"

# --- a malformed request closes only its stream ----------------------------
"$TOOLS/plyamux" "$PB" --key "$T/H.key" --expect "$ID_B" --mode perf-short \
    --proto /x/echo --hold 10 >"$T/short.out" 2>&1
check "malformed request: the session then echoes on another stream" \
    grep -q "echo=1" "$T/short.out"
check "malformed request: B names it" logged B \
    "peer=$ID_H proto=/perf/1.0.0 up=0 down=3 .*reason=protocol_error: perf: the stream ended after 3 of the 8 request bytes"
check_not "malformed request: H's session was not closed for it" grep -Eq \
    "conn [0-9]+ closed .*peer=$ID_H .*protocol_error" "$T/B.log"

# --- a client that never reads: B's memory stays bounded ------------------
rss0=$(rss_kb "$PID_B")
"$TOOLS/plyamux" "$PB" --key "$T/H.key" --expect "$ID_B" --mode perf-stall \
    --seconds 3 --hold 2 >"$T/stall.out" 2>&1 &
st=$!
max=$rss0
for _ in $(seq 30); do
	r=$(rss_kb "$PID_B"); [ "$r" -gt "$max" ] && max=$r; sleep 0.1
done
wait $st
check "perf stall: B's RSS grew $((max - rss0)) KiB (< $RSS_BOUND)" \
    test $((max - rss0)) -lt $RSS_BOUND
check "perf stall: B sent something, then stopped (logged at the end)" \
    logged_re B "peer=$ID_H proto=/perf/1.0.0 up=[1-9][0-9]* down=8 "

# --- after all that, B still measures -------------------------------------
perf A "$PB" "$ID_B" -u 64M -d 64M
check "perf 64 MiB each way still exact" test "$prc" -eq 0 -a \
    "$(json downloadBytes)" = 67108864 -a "$(json uploadBytes)" = 67108864
cat "$T/perf.err"
pl_finish

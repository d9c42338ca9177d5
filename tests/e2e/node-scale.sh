#!/bin/sh
# Goal: node mode holds 10,000 concurrent tunnels to one peer over one
# encrypted connection (raw mode would need 20,000 descriptors per proxy),
# each proven by an echo, and the memory per idle stream stays within its
# design number (docs/node-mode.md).  NODE_SCALE_N changes the count.
. "$(dirname "$0")/lib.sh"

N=${NODE_SCALE_N:-10000}
# RSS is measured: under ASan, keep its quarantine small.
ASAN_OPTIONS="quarantine_size_mb=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export ASAN_OPTIONS
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" -lt $((N + 500)) ]; then
	echo "SKIP: ulimit -n $(ulimit -n) is below $((N + 500))"
	exit 77
fi
keygen A; keygen B
start_echod echo
PB=$(free_port); FE=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" security=noise \
    max_connections=$((N + 100)) max_connections_per_ip=$((N + 100))
conf_expose_node B echo "$ID_A" /x/echo "$PORT_echo"
conf_node A security=noise max_connections=$((N + 100))
conf_forward A echo "$FE" "$PB" "$ID_B" protocol=/x/echo
start_peerlock B || exit 1
start_peerlock A || exit 1

check "a first tunnel opens the session" \
    "$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 1000
sleep 0.5
a0=$(rss_kb "$PID_A"); b0=$(rss_kb "$PID_B")

mkfifo "$T/hold.in"
python3 "$top_srcdir/tests/tools/holdconns.py" 127.0.0.1 "$FE" "$N" 64 300 \
    <"$T/hold.in" >"$T/hold.out" 2>&1 &
hold=$!
exec 9>"$T/hold.in"
for _ in $(seq 3000); do
	grep -q ready "$T/hold.out" && break
	kill -0 "$hold" 2>/dev/null || break
	sleep 0.1
done
read -r _ ok bad <"$T/hold.out"
check "$N concurrent tunnels echoed ($ok ok, $bad failed)" \
    test "${ok:-0}" -eq "$N" -a "${bad:-1}" -eq 0
sleep 0.5
a1=$(rss_kb "$PID_A"); b1=$(rss_kb "$PID_B")
per_a=$(( (a1 - a0) * 1024 / N )); per_b=$(( (b1 - b0) * 1024 / N ))
echo "memory: A $a0 -> $a1 kB, B $b0 -> $b1 kB for $N idle streams:" \
    "$per_a B per stream (forward side), $per_b B (expose side)"
# The design number is about 2 KB per idle stream and side; ASan's
# redzones and shadow memory multiply it, so an ASan build gets 16 KiB.
bound=4096
ldd "$PEERLOCK" 2>/dev/null | grep -q libasan && bound=16384
check "forward side: at most $bound B per idle stream ($per_a B)" \
    test "$per_a" -le "$bound"
check "expose side: at most $bound B per idle stream ($per_b B)" \
    test "$per_b" -le "$bound"
check "one session carried them all" \
    test "$(grep -c "session with $ID_B" "$T/A.log")" -eq 1
check "B holds them as streams of one session" \
    test "$(grep -c "session with $ID_A" "$T/B.log")" -eq 1
exec 9>&-
wait "$hold"
check "the tunnels close cleanly when the app lets go" \
    logged A "stream $((N + 1)) closed route=forward.echo .*reason=done"
pl_finish

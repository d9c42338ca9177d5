#!/bin/sh
# Goal: threads = 2 (docs/threads.md).  Two real peerlocks with two event
# loops each: the kernel spreads connections over both loops of each
# (SO_REUSEPORT), /metrics sums the loops (the per-loop counters add up
# to the totals) and /connections lists the tunnels of both; a reload
# reaches every loop (a forward added by the reload serves on both, a
# peer removed by it is refused on both); node mode works (streams over
# one session; a forward reaches a peer with no address whose session
# was accepted on loop 1, through the hand-off); SIGTERM drains both
# loops and every transfer in flight completes.
. "$(dirname "$0")/lib.sh"

N=64
keygen A; keygen B; keygen C
start_echod echo
PA=$(free_port); PB=$(free_port); FE=$(free_port); FN=$(free_port)
FNEW=$(free_port); FC=$(free_port); AA=$(free_port); AB=$(free_port)
FT=$(free_port)

conf_b() {	# conf_b PEERS (of both exposes)
	conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" threads=2 \
	    "admin=127.0.0.1:$AB" "security=noise tls"
	conf_expose B echo "$1" "$PORT_echo"
	cat >>"$T/B.conf" <<EOC

[expose.node]
peers = $1
protocol = /x/echo
target = 127.0.0.1:$PORT_echo

[forward.nat]
listen = 127.0.0.1:$FC
peer = /p2p/$ID_C
protocol = /x/echo
EOC
}
conf_a() {	# conf_a [extra forward port]
	conf_node A "listen=/ip4/127.0.0.1/tcp/$PA" threads=2 \
	    "admin=127.0.0.1:$AA"
	conf_forward A echo "$FE" "$PB" "$ID_B"
	conf_forward A node "$FN" "$PB" "$ID_B" protocol=/x/echo
	conf_forward A tls "$FT" "$PB" "$ID_B" security=tls
	[ -n "${1:-}" ] && conf_forward A new "$1" "$PB" "$ID_B"
	return 0
}
conf_b "$ID_A"
conf_a
check "check accepts threads = 2" "$PEERLOCK" check -c "$T/B.conf"
start_peerlock B || exit 1
start_peerlock A || exit 1
check "B logs its two event loops" logged B "threads: 2 event loops"

# metric NAME SELECTOR-REGEX ADMIN-PORT: the sum of the matching series
metric() {
	curl -s "http://127.0.0.1:$3/metrics" | awk -v n="$1" -v re="$2" \
	    '$1 ~ "^" n "(\\{|$)" && $1 ~ re {s += $2} END {print s + 0}'
}
# loopn NAME LOOP ADMIN-PORT: peerlock_NAME{loop="LOOP"}
loopn() { metric "peerlock_$1" "loop=\"$2\"" "$3"; }

# --- connections spread over both loops ----------------------------------
ok=0
for i in $(seq $N); do
	"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 1000 --seed "$i" \
	    --timeout 20 >/dev/null 2>&1 && ok=$((ok + 1))
done
check "$N tunnels through A=>B echo ($ok)" test "$ok" -eq "$N"
b0=$(loopn loop_connections_total 0 "$AB")
b1=$(loopn loop_connections_total 1 "$AB")
a0=$(loopn loop_connections_total 0 "$AA")
a1=$(loopn loop_connections_total 1 "$AA")
echo "accepted per loop: A $a0 + $a1, B $b0 + $b1"
check "B: both loops accepted connections ($b0, $b1)" \
    test "$b0" -gt 0 -a "$b1" -gt 0
check "A: both loops accepted app connections ($a0, $a1)" \
    test "$a0" -gt 0 -a "$a1" -gt 0
check "B: the loops' sum is $N" test $((b0 + b1)) -eq "$N"
tot=$(metric peerlock_connections_total 'route="expose.echo"' "$AB")
check "B: peerlock_connections_total for expose.echo sums to $N ($tot)" \
    test "$tot" -eq "$N"
by=$(metric peerlock_bytes_total 'route="expose.echo".*direction="up"' "$AB")
check "B: bytes of both loops summed ($by = $N x 1000)" \
    test "$by" -eq $((N * 1000))
check "peerlock_loops is 2" test "$(metric peerlock_loops . "$AB")" -eq 2
# 4 clients at once: both loops make TLS sessions concurrently (each loop
# has its own certificate and context cache)
for j in 1 2 3 4; do
	(for i in $(seq 16); do
		"$TOOLS/plclient" 127.0.0.1 "$FT" --bytes 100000 --seed "$i" \
		    --timeout 20 >/dev/null 2>&1 && echo ok
	done) >"$T/tls$j.out" &
	eval "W$j=\$!"
done
wait "$W1" "$W2" "$W3" "$W4"
ok=$(cat "$T"/tls*.out | grep -c ok)
tls=$(metric peerlock_connections_total 'route="expose.echo",protocol="/tls/1.0.0"' "$AB")
check "64 /tls/1.0.0 tunnels, 4 at once, over both loops ($ok echoed, $tls counted)" \
    test "$ok" -eq 64 -a "$tls" -eq 64

# --- /connections and the open gauge cover both loops ---------------------
for i in $(seq 8); do
	"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 100 --hold 4 \
	    --timeout 20 >"$T/hold$i.out" 2>&1 &
	eval "H$i=\$!"
done
sleep 1.5
open=$(metric peerlock_connections_open 'route="expose.echo"' "$AB")
listed=$(curl -s "http://127.0.0.1:$AB/connections" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for c in d["connections"] if c["route"] == "expose.echo"))')
st=$(curl -s "http://127.0.0.1:$AB/status")
sopen=$(echo "$st" | awk '$1 == "expose.echo" {print $5; exit}')
srows=$(echo "$st" | awk '$2 == "expose.echo" && $6 == "relaying"' | wc -l)
check "B: 8 held tunnels in the open gauge ($open)" test "$open" -eq 8
check "B: /status counts the 8 of both loops (open $sopen, rows $srows)" \
    test "$sopen" = 8 -a "$srows" -eq 8
check "B: /connections lists the 8 of both loops ($listed)" \
    test "$listed" -eq 8
for i in $(seq 8); do check "held tunnel $i echoed" wait "$(eval echo \$H$i)"; done

# --- node mode: streams over one session ---------------------------------
ok=0
for i in $(seq 32); do
	"$TOOLS/plclient" 127.0.0.1 "$FN" --bytes 65536 --seed "$i" \
	    --timeout 20 >/dev/null 2>&1 && ok=$((ok + 1))
done
check "node mode: 32 streams through A=>B ($ok)" test "$ok" -eq 32
check "node mode: A opened one session to B for them" \
    test "$(grep -c "session with $ID_B" "$T/A.log")" -eq 1

# --- node mode: a peer with no address, its session on loop 1 -------------
conf_node C security=noise
conf_connect C hub "/ip4/127.0.0.1/tcp/$PB/p2p/$ID_B"
conf_expose_node C echo "$ID_B" /x/echo "$PORT_echo"
landed=""
for try in $(seq 12); do
	before=$(loopn loop_connections_total 1 "$AB")
	bg "C$try" "$PEERLOCK" run -c "$T/C.conf"
	for _ in $(seq 100); do
		grep -q "session with $ID_B" "$T/C$try.log" 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.2
	if [ "$(loopn loop_connections_total 1 "$AB")" -gt "$before" ]; then
		landed=$try
		break
	fi
	kill "$(eval echo \$PID_C$try)"; wait "$(eval echo \$PID_C$try)" 2>/dev/null
	sleep 0.3
done
check "C's session was accepted on B's loop 1 (try ${landed:-none})" \
    test -n "$landed"
h0=$(loopn loop_handoffs_total 1 "$AB")
ok=0
for i in $(seq 10); do
	"$TOOLS/plclient" 127.0.0.1 "$FC" --bytes 4096 --seed "$i" \
	    --timeout 20 >/dev/null 2>&1 && ok=$((ok + 1))
done
h1=$(loopn loop_handoffs_total 1 "$AB")
check "B forward.nat reaches C over C's session on loop 1 ($ok/10)" \
    test "$ok" -eq 10
check "B: those app connections were handed to loop 1 ($h0 -> $h1)" \
    test $((h1 - h0)) -eq 10
check_not "B: no app connection refused for want of a session" \
    grep -q "no live session with the peer" "$T/B.log"
[ -n "$landed" ] && kill "$(eval echo \$PID_C$landed)"

# --- reload reaches every loop -------------------------------------------
conf_a "$FNEW"
kill -HUP "$PID_A"
check "A: reload applied on both loops" logged_re A "loop 1: reload: .* loaded"
wait_port "$FNEW" 5
a0=$(loopn loop_connections_total 0 "$AA"); a1=$(loopn loop_connections_total 1 "$AA")
ok=0
for i in $(seq 32); do
	"$TOOLS/plclient" 127.0.0.1 "$FNEW" --bytes 100 \
	    --timeout 20 >/dev/null 2>&1 && ok=$((ok + 1))
done
n0=$(loopn loop_connections_total 0 "$AA"); n1=$(loopn loop_connections_total 1 "$AA")
check "A: forward.new added by the reload works (32/$ok)" test "$ok" -eq 32
check "A: forward.new served by both loops (+$((n0 - a0)), +$((n1 - a1)))" \
    test "$n0" -gt "$a0" -a "$n1" -gt "$a1"
check "A: peerlock_reloads_total ok = 1" \
    test "$(metric peerlock_reloads_total 'result="ok"' "$AA")" -eq 1

# --- SIGTERM drains every loop -------------------------------------------
for i in $(seq 8); do
	"$TOOLS/plclient" 127.0.0.1 "$FNEW" --bytes 2000000 --seed "$i" \
	    --hold 2 --timeout 30 >"$T/drain$i.out" 2>&1 &
	eval "D$i=\$!"
done
sleep 1
d0=$(loopn loop_connections_total 0 "$AA"); d1=$(loopn loop_connections_total 1 "$AA")
echo "A per loop before SIGTERM: $d0, $d1"
kill -TERM "$PID_A"
for i in $(seq 8); do
	check "transfer $i across SIGTERM completes" wait "$(eval echo \$D$i)"
done
for _ in $(seq 100); do kill -0 "$PID_A" 2>/dev/null || break; sleep 0.1; done
check_not "A exited after draining" sh -c "kill -0 $PID_A 2>/dev/null"
wait "$PID_A"; rc=$?
check "A exit status 0 ($rc)" test "$rc" -eq 0
check "A: 'peerlock stopped' is the last line" \
    sh -c "tail -n 1 '$T/A.log' | grep -q 'peerlock stopped'"

# --- a peer removed by a reload is refused on every loop -----------------
cp "$T/A.conf" "$T/A2.conf"
start_peerlock A2 || exit 1
conf_b "$ID_C"
kill -HUP "$PID_B"
check "B: reload applied on both loops" logged_re B "loop 1: reload: .* loaded"
sleep 0.3
b0=$(loopn loop_connections_total 0 "$AB"); b1=$(loopn loop_connections_total 1 "$AB")
na0=$(metric peerlock_handshake_failures_total 'reason="not_allowed"' "$AB")
ok=0
for i in $(seq 32); do
	"$TOOLS/plclient" 127.0.0.1 "$FE" --bytes 100 \
	    --timeout 5 >/dev/null 2>&1 && ok=$((ok + 1))
done
n0=$(loopn loop_connections_total 0 "$AB"); n1=$(loopn loop_connections_total 1 "$AB")
na1=$(metric peerlock_handshake_failures_total 'reason="not_allowed"' "$AB")
check "B: A, removed by the reload, gets no tunnel ($ok of 32 echoed)" \
    test "$ok" -eq 0
check "B: refused on both loops (+$((n0 - b0)), +$((n1 - b1)))" \
    test "$n0" -gt "$b0" -a "$n1" -gt "$b1"
check "B: 32 not_allowed handshake failures summed ($na0 -> $na1)" \
    test $((na1 - na0)) -eq 32

pl_finish

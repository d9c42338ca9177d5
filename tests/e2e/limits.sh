#!/bin/sh
# Goal: a flood of half-open handshakes from one source cannot starve
# others: per-IP handshake limits refuse the excess at once (the global
# one sheds the oldest pending handshake instead),
# count it, and log it at most once a second, while an honest tunnel from
# another address keeps flowing; slots are given back when the flood ends.
. "$(dirname "$0")/lib.sh"

keygen A; keygen B
start_echod echo
PB=$(free_port); FA=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" handshake_timeout=4s \
    max_handshakes=20 max_handshakes_per_ip=3 max_connections_per_ip=50
conf_expose B echo "$ID_A" "$PORT_echo"
conf_node A
conf_forward A echo "$FA" "$PB" "$ID_B"
start_peerlock B || exit 1
start_peerlock A || exit 1

# flood SRC N [HOLD]: open N silent connections from SRC; print how many
# the server closed within 1 s (refused) and keep the rest open HOLD s.
flood() {
	python3 - "$1" "$2" "$PB" "${3:-2}" <<'PY'
import socket, sys, time
src, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold = float(sys.argv[4])
socks = []
for _ in range(n):
    s = socket.socket(); s.bind((src, 0)); s.connect(("127.0.0.1", port))
    socks.append(s)
# refusals are immediate; poll up to 3 s so a loaded machine still counts
# them, but stop early once the count has been stable for half a second
for s in socks:
    s.setblocking(False)
closed, done, stable, end = 0, set(), 0.0, time.time() + 3
while time.time() < end and stable < 0.5:
    before = len(done)
    for i, s in enumerate(socks):
        if i in done:
            continue
        try:
            if s.recv(1) == b"": done.add(i)
        except BlockingIOError:
            pass
        except ConnectionResetError:
            done.add(i)
    stable = stable + 0.05 if len(done) == before and done else 0.0
    time.sleep(0.05)
print(len(done), flush=True)
time.sleep(hold)
PY
}

flood 127.0.0.2 10 6 >"$T/flood1.out" &
fl=$!
sleep 0.5
check "honest tunnel from another address works during the flood" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 1048576
sleep 1
check "7 of 10 half-open handshakes from one IP refused at once" \
    test "$(cat "$T/flood1.out")" = 7
check "refusal logged with the limit name and value" \
    logged B "limit: max_handshakes_per_ip (3) reached, refusing connection from 127.0.0.2"
check "refusals are rate-limited: one log line per second, with a count" \
    test "$(grep -c 'limit: max_handshakes_per_ip' "$T/B.log")" -le 2
wait "$fl"
check "the 3 admitted silent connections ended by handshake_timeout" \
    test "$(grep -c 'from=127.0.0.2.*reason=handshake_timeout' "$T/B.log")" -eq 3

# five sources at once, 5 connections each: every source is limited
# separately (3 pass, 2 refused), 15 pending stay under max_handshakes
fls=""
for i in 3 4 5 6 7; do
	flood "127.0.0.$i" 5 >"$T/flood$i.out" &
	fls="$fls $!"
done
for p in $fls; do wait "$p"; done
total=0
for i in 3 4 5 6 7; do total=$((total + $(cat "$T/flood$i.out"))); done
check "per-IP limit applies to each source separately (10 refused)" \
    test "$total" -eq 10
# the global cap: 7 sources x 3 = 21 pending > max_handshakes = 20; the
# newcomer is admitted and the oldest pending one shed (flood.sh has more)
fls=""
for i in 10 11 12 13 14 15 16; do
	flood "127.0.0.$i" 3 >"$T/gflood$i.out" &
	fls="$fls $!"
	sleep 0.1
done
for p in $fls; do wait "$p"; done
total=0
for i in 10 11 12 13 14 15 16; do
	total=$((total + $(cat "$T/gflood$i.out")))
done
check "global max_handshakes: the 21st pending handshake costs one slot" \
    test "$total" -eq 1
check "shed logged with the limit" \
    logged B "reason=shed: limit: max_handshakes (20) reached"
sleep 4.5	# earlier handshakes time out and give their slots back
check "slots return after the flood: a new tunnel works" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 65536
pl_finish

#!/bin/sh
# Goal: SIGHUP reloads config and identity under load.  Transfers running
# through the old config finish with correct data; new connections use
# the new config (new expose, new allowlist, new identity); a listener
# whose address is unchanged keeps its socket (no connection refused
# during reloads), a removed one closes, a new one opens; a broken config
# keeps the old one running and says why.
. "$(dirname "$0")/lib.sh"

keygen A; keygen A2; keygen B
start_echod echo
start_echod echo2
PB=$(free_port); FA=$(free_port); FOLD=$(free_port); FNEW=$(free_port)
AB=$(free_port)
conf_b() {	# conf_b PEERS [extra expose]
	cat >"$T/B.conf" <<CONF
[peerlock]
identity = $T/B.key
listen = /ip4/127.0.0.1/tcp/$PB
admin = 127.0.0.1:$AB

[expose.echo]
peers = $1
target = 127.0.0.1:$PORT_echo
${2:-}
CONF
}
conf_a() {	# conf_a KEY FORWARD-NAME PORT
	cat >"$T/A.conf" <<CONF
[peerlock]
identity = $T/$1.key
[forward.echo]
listen = 127.0.0.1:$FA
peer = /ip4/127.0.0.1/tcp/$PB/p2p/$ID_B
[forward.$2]
listen = 127.0.0.1:$3
peer = /ip4/127.0.0.1/tcp/$PB/p2p/$ID_B
CONF
}
conf_b "$ID_A"
conf_a A old "$FOLD"
start_peerlock B || exit 1
start_peerlock A || exit 1

# connect every 20 ms to A's forward.echo for SECS; print refused count
prober() {
	python3 - "$FA" "$1" <<'PY'
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
end, refused, ok = time.time() + secs, 0, 0
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), 1); s.close(); ok += 1
    except OSError:
        refused += 1
    time.sleep(0.02)
print(refused, ok)
PY
}

# transfers under way while both sides reload
i=0
for spec in "--bytes 1G" "--bytes 512M --half-close" "--bytes 8M --hold 3" \
    "--bytes 4M --seed 7 --hold 2"; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	"$TOOLS/plclient" 127.0.0.1 "$FA" $spec --timeout 120 >"$T/x$i.out" 2>&1 &
	eval "X$i=\$!"
done
prober 4 >"$T/probe.out" &
probe=$!
sleep 0.8
live=$(curl -s "http://127.0.0.1:$AB/metrics" | awk \
    '$1 ~ /^peerlock_connections_open\{route="expose.echo"/ {s += $2} END {print s+0}')
check "4 transfers are live when the reload happens ($live)" test "$live" -ge 4

# B: a new allowlist (A2 too) and a new expose; A: new identity A2,
# forward.old removed, forward.new added
conf_b "$ID_A $ID_A2" "[expose.two]
peers = *
target = 127.0.0.1:$PORT_echo2"
kill -HUP "$PID_B"
check "B reloaded" logged B "reload: .* loaded (0 forward(s), 2 expose(s)"
conf_a A2 new "$FNEW"
kill -HUP "$PID_A"
check "A reloaded with its new identity" logged A "reload: peer id changed from $ID_A to $ID_A2"
check "A's removed listener closed" logged A "closed listener /ip4/127.0.0.1/tcp/$FOLD (old)"
check "A's new listener opened" logged A "listening on /ip4/127.0.0.1/tcp/$FNEW (new)"
check_not "A's unchanged listener was not rebound" \
    sh -c "grep -c 'listening on /ip4/127.0.0.1/tcp/$FA ' '$T/A.log' | grep -qv '^1\$'"

for n in 1 2 3 4; do
	eval "wait \$X$n"
	check "transfer $n running across the reloads finished intact" \
	    grep -q '^ok' "$T/x$n.out"
done
wait "$probe"
check "no connection refused on the kept listener during reloads ($(cat "$T/probe.out"))" \
    test "$(cut -d' ' -f1 "$T/probe.out")" = 0
check "the 4 transfers kept the old identity (B saw A, full byte counts)" \
    test "$(grep -c "route=expose.echo .*peer=$ID_A proto=/noise up=\(1073741824\|536870912\|8388608\|4194304\) .*reason=done" "$T/B.log")" -eq 4

check "a new tunnel works after the reload" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 1M
check "new tunnels use A's new identity" logged B "route=expose.echo .*peer=$ID_A2 .*reason=done"
check "the new forward works" "$TOOLS/plclient" 127.0.0.1 "$FNEW" --bytes 64K
check_not "the removed forward's port is closed" \
    "$TOOLS/plclient" 127.0.0.1 "$FOLD" --bytes 1 --timeout 3

# B's allowlist shrinks: A2 moves to the new '*' expose (echo2)
conf_b "$ID_A" "[expose.two]
peers = *
target = 127.0.0.1:$PORT_echo2"
n2=$(accepted echo2)
kill -HUP "$PID_B"
sleep 0.3
check "routing follows the new allowlist" "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 4K
check "A2 now reaches the '*' expose's target" test "$(accepted echo2)" -gt "$n2"

# broken configs are refused, the running one stays
cp "$T/A.conf" "$T/A.good"
printf '[peerlock]\nidentity = %s\n[forward.x]\nlisten = 127.0.0.1:%s\n' \
    "$T/A.key" "$FA" >"$T/A.conf"
kill -HUP "$PID_A"
check "broken config: the reason is logged" logged A "reload: .*A.conf:3: forward.x needs peer; keeping the running configuration"
cp "$T/A.good" "$T/A.conf"
sed -i "s|identity = .*|identity = $T/missing.key|" "$T/A.conf"
kill -HUP "$PID_A"
check "missing identity: the reason is logged" logged A "reload: .*missing.key.*keeping the running configuration"
busy=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$busy)); s.listen(); time.sleep(8)" &
wait_port "$busy" || fail "could not occupy port $busy"
cp "$T/A.good" "$T/A.conf"
sed -i "s|:$FNEW|:$busy|" "$T/A.conf"
kill -HUP "$PID_A"
check "unbindable new listener: reload refused" logged A "reload failed; keeping the running configuration"
check "after failed reloads the old config still serves" \
    "$TOOLS/plclient" 127.0.0.1 "$FNEW" --bytes 64K
check "and the old identity" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 64K
check "A is still running" kill -0 "$PID_A"
pl_finish

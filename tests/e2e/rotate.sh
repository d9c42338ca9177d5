#!/bin/sh
# Goal: the remote's identity key can be rotated without a single failed
# connection (docs/operations.md, "Rotating a key").  A forward accepts a
# set of peer IDs (peer_ids), so the next key is staged before the remote
# switches: (1) the forward accepts the current and the next ID, (2) the
# remote reloads with the new key, (3) the forward drops the old ID.  Two
# client loops connect through the forward all along, over /noise and
# /tls/1.0.0; every connection must echo its bytes.  Then the same switch
# without staging: the forward refuses the unknown key (the outage the
# procedure avoids).
. "$(dirname "$0")/lib.sh"

keygen B; keygen A
start_echod echo
PB=$(free_port); FN=$(free_port); FT=$(free_port)
ID_B1=$ID_B

# expose_conf KEY: B's config with identity KEY.
expose_conf() {
	cat >"$T/B.conf" <<CONF
[peerlock]
identity = $1
listen = /ip4/127.0.0.1/tcp/$PB
security = noise tls

[expose.echo]
peers = $ID_A
target = 127.0.0.1:$PORT_echo
CONF
}
# forward_conf PEER_LINE [PEER_IDS]: A's config, both forwards to B.
forward_conf() {
	{
		echo "[peerlock]"
		echo "identity = $T/A.key"
		for p in noise tls; do
			[ $p = noise ] && port=$FN || port=$FT
			printf '\n[forward.%s]\nlisten = 127.0.0.1:%s\n' $p $port
			echo "peer = /ip4/127.0.0.1/tcp/$PB$1"
			echo "security = $p"
			[ -n "${2:-}" ] && echo "peer_ids = $2"
		done
	} >"$T/A.conf"
}
# reload NAME PATTERN: SIGHUP NAME, wait for PATTERN in its log.
reload() {
	log_mark "$1"
	eval "kill -HUP \$PID_$1"
	logged_after "$1" "$2"
}

expose_conf "$T/B.key"
forward_conf "/p2p/$ID_B1"
start_peerlock B || exit 1
start_peerlock A || exit 1

# loop NAME PORT: connect, send 200 bytes, read the echo, close, until
# $T/stop exists; $T/NAME.res gets "ok N fail M" and each failure.
loop() {
	python3 - "$2" "$T/stop" >"$T/$1.res" 2>&1 <<'PY' &
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
ok = fail = 0
while not os.path.exists(stop):
    msg = os.urandom(200)
    try:
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.settimeout(5)
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(4096)
            if not b:
                break
            got += b
        s.close()
        if got == msg:
            ok += 1
        else:
            fail += 1
            print("failure: got %d of %d bytes" % (len(got), len(msg)))
    except OSError as e:
        fail += 1
        print("failure: %s" % e)
    time.sleep(0.01)
print("ok %d fail %d" % (ok, fail))
PY
	eval "LOOP_$1=$!"
}
loop noise "$FN"; loop tls "$FT"
sleep 1

# 1. stage the next key on the forward
keygen B2
forward_conf "/p2p/$ID_B1" "$ID_B1 $ID_B2"
check "1. the forward accepts the current and the next ID" \
    reload A "reload: .*loaded"
sleep 1
# 2. the remote switches to the new key
expose_conf "$T/B2.key"
check "2. the remote reloads with its new key" \
    reload B "peer id changed from $ID_B1 to $ID_B2"
sleep 1
# 3. the forward drops the old ID
forward_conf "/p2p/$ID_B2"
check "3. the forward accepts only the new ID" reload A "reload: .*loaded"
sleep 1
touch "$T/stop"
wait "$LOOP_noise" "$LOOP_tls"
cat "$T/noise.res" "$T/tls.res"
for p in noise tls; do
	check "$p: zero failed connections during the rotation" \
	    grep -q "^ok [0-9]* fail 0\$" "$T/$p.res"
	check "$p: the loop kept connecting (>= 50 connections)" \
	    awk '/^ok/ { exit !($2 >= 50) }' "$T/$p.res"
	check "$p: tunnels reached the old key" \
	    logged A "route=forward.$p .*peer=$ID_B1 .*reason=done"
	check "$p: tunnels reached the new key" \
	    logged A "route=forward.$p .*peer=$ID_B2 .*reason=done"
done
check_not "no handshake failure on the forward" \
    grep -q "reason=handshake_failed" "$T/A.log"

# Without staging: the remote switches again, the forward knows only B2.
keygen B3
expose_conf "$T/B3.key"
reload B "peer id changed from $ID_B2 to $ID_B3"
check_not "unstaged switch: connections fail" \
    "$TOOLS/plclient" 127.0.0.1 "$FN" --bytes 10 --timeout 5
check "... with the mismatch named" \
    logged A "peer id mismatch: expected $ID_B2, remote is $ID_B3"
forward_conf "" "$ID_B2 $ID_B3"
reload A "reload: .*loaded"
check "peer without /p2p/ and peer_ids = old new: works again" \
    "$TOOLS/plclient" 127.0.0.1 "$FN" --bytes 10 --timeout 5
keygen B4
expose_conf "$T/B4.key"
reload B "peer id changed from $ID_B3 to $ID_B4"
check_not "a key outside peer_ids is refused" \
    "$TOOLS/plclient" 127.0.0.1 "$FT" --bytes 10 --timeout 5
check "... naming every accepted ID" \
    logged A "peer id mismatch: expected $ID_B2 or $ID_B3, remote is $ID_B4"

pl_finish

#!/bin/sh
# Goal: an expose with proxy_protocol = v2 hands the legacy target the
# PROXY protocol v2 header before any data: signature, PROXY command,
# TCP over IPv4 with the remote peer's address and port as source and
# our encrypted listener as destination, and TLV 0xE0 carrying the
# authenticated peer ID as base58 text.  Exposes without the key send no
# header.  The target here is a python server that validates the header
# and then echoes.
. "$(dirname "$0")/lib.sh"

keygen A; keygen B
PB=$(free_port); FA=$(free_port); FP=$(free_port); PT=$(free_port)
FN=$(free_port)
python3 - "$PT" "$T/pp.out" >"$T/ppd.log" 2>&1 <<'PY' &
import socket, struct, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
SIG = b"\r\n\r\n\x00\r\nQUIT\n"

def recvn(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError("short header")
        b += x
    return b

def serve(c):
    try:
        h = recvn(c, 16)
        if h[:12] != SIG:
            raise ValueError("bad signature %r" % h[:12])
        ver, fam, ln = h[12], h[13], struct.unpack("!H", h[14:16])[0]
        body = recvn(c, ln)
        if ver != 0x21 or fam != 0x11:
            raise ValueError("ver/cmd %#x fam %#x" % (ver, fam))
        src, dst = socket.inet_ntoa(body[0:4]), socket.inet_ntoa(body[4:8])
        sp, dp = struct.unpack("!HH", body[8:12])
        tlvs, i = {}, 12
        while i < ln:
            t, l = body[i], struct.unpack("!H", body[i + 1:i + 3])[0]
            tlvs[t] = body[i + 3:i + 3 + l]
            i += 3 + l
        if i != ln:
            raise ValueError("TLV overrun")
        with open(out, "a") as f:
            f.write("ok %s %d %s %d %s\n" % (src, sp, dst, dp,
                tlvs.get(0xE0, b"-").decode()))
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except Exception as e:
        with open(out, "a") as f:
            f.write("bad %s\n" % e)
    c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
PIDS="$PIDS $!"
start_echod echo
cat >"$T/B.conf" <<CONF
[peerlock]
identity = $T/B.key
listen = /ip4/127.0.0.1/tcp/$PB
[expose.legacy]
peers = $ID_A
target = 127.0.0.1:$PT
proxy_protocol = v2
[expose.plain]
peers = *
target = 127.0.0.1:$PORT_echo
[expose.legacynode]
peers = $ID_A
protocol = /x/legacy
target = 127.0.0.1:$PT
proxy_protocol = v2
CONF
cat >"$T/A.conf" <<CONF
[peerlock]
identity = $T/A.key
[forward.legacy]
listen = 127.0.0.1:$FP
peer = /ip4/127.0.0.1/tcp/$PB/p2p/$ID_B
[forward.legacynode]
listen = 127.0.0.1:$FN
peer = /ip4/127.0.0.1/tcp/$PB/p2p/$ID_B
protocol = /x/legacy
CONF
start_peerlock B || exit 1
start_peerlock A || exit 1
wait_port "$PT" || { echo "python target did not start"; exit 1; }
sleep 0.2
: >"$T/pp.out"		# forget wait_port's probe connection

check "data flows through the PROXY v2 target (1 MiB echoed)" \
    "$TOOLS/plclient" 127.0.0.1 "$FP" --bytes 1M
sleep 0.3
check "the target parsed a valid header" grep -q '^ok ' "$T/pp.out"
check_not "no header was rejected" grep -q '^bad' "$T/pp.out"
# shellcheck disable=SC2046
set -- $(grep '^ok ' "$T/pp.out" | head -1) - - - - - -
check "source is A's address and port as B accepted it" \
    grep -q "route=expose.legacy from=$2:$3 " "$T/B.log"
check "destination is B's encrypted listener ($4:$5)" \
    test "$4:$5" = "127.0.0.1:$PB"
check "TLV 0xE0 carries A's peer ID ($6)" test "$6" = "$ID_A"

# node mode: each stream of the session gets its own header, ahead of
# the bytes the peer sent while the target was being connected
: >"$T/pp.out"
check "node mode: data flows through the PROXY v2 target (2 streams)" \
    sh -c "'$TOOLS/plclient' 127.0.0.1 $FN --bytes 1M &&
        '$TOOLS/plclient' 127.0.0.1 $FN --bytes 64K"
sleep 0.3
check "node mode: the target parsed two valid headers" \
    test "$(grep -c '^ok ' "$T/pp.out")" -eq 2
check_not "node mode: no header was rejected" grep -q '^bad' "$T/pp.out"
# shellcheck disable=SC2046
set -- $(grep '^ok ' "$T/pp.out" | head -1) - - - - - -
check "node mode: source is A's end of the session ($2:$3)" \
    grep -q "route=expose.legacynode from=$2:$3 " "$T/B.log"
check "node mode: destination is B's encrypted listener ($4:$5)" \
    test "$4:$5" = "127.0.0.1:$PB"
check "node mode: TLV 0xE0 carries A's peer ID ($6)" test "$6" = "$ID_A"

# a peer routed to an expose without proxy_protocol gets raw bytes
keygen C
FC=$(free_port)
cat >"$T/C.conf" <<CONF
[peerlock]
identity = $T/C.key
[forward.plain]
listen = 127.0.0.1:$FC
peer = /ip4/127.0.0.1/tcp/$PB/p2p/$ID_B
CONF
start_peerlock C || exit 1
check "an expose without proxy_protocol sends no header (echo intact)" \
    "$TOOLS/plclient" 127.0.0.1 "$FC" --bytes 64K
pl_finish

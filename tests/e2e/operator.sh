#!/bin/sh
# Goal: what an operator trying peerlock for the first time runs into
# (issue 14), each with real processes:
#  - the harness itself: a peerlock whose bind fails ("Address already
#    in use") does not count as started;
#  - listen conflicts (two forwards on one address, admin on a forward's
#    address) fail `check` and `run` with file:line of both; a port taken
#    by another process names the config line at run time;
#  - a plaintext forward on 0.0.0.0 is refused with the reason, unless
#    the forward says unsafe_listen = yes;
#  - a relative identity path is found next to the config file when
#    peerlock runs in / (as under systemd);
#  - IPv6 addresses are logged as [addr]:port;
#  - the version is the release's (configure.ac) plus the git revision,
#    in `peerlock version`, the ready line and peerlock_build_info, and
#    both name the ChaCha20-Poly1305 implementation of Noise frames;
#  - log_format = json: every line one JSON object, the close line's
#    route, from, peer, proto, up, down, dur and reason as members;
#  - a second SIGTERM closes the tunnels saying so (not "shutdown_timeout
#    expired"), and "peerlock stopped" is the last line;
#  - the routes are logged at start, and `peerlock status` shows routes,
#    peers with their reachability, and live tunnels;
#  - `peerlock demo` shows its configs, the real ports, the ciphertext on
#    the wire and a refused peer.
. "$(dirname "$0")/lib.sh"

keygen A; keygen B; keygen H; keygen J

# --- the harness: a failed bind is not a start ---------------------------
start_echod busy
conf_node H
conf_forward H x "$PORT_busy" "$(free_port)" "$ID_B"
check_not "start_peerlock fails when the forward's port is taken" \
    start_peerlock H
check "... and the log names the config line and why" \
    logged H "H.conf:5: listen /ip4/127.0.0.1/tcp/$PORT_busy (x): Address already in use"

# --- listen conflicts: check and run refuse, naming both lines -------------
P1=$(free_port)
conf_node K
conf_forward K a "$P1" "$(free_port)" "$ID_B"
conf_forward K b "$P1" "$(free_port)" "$ID_B"
check_not "check refuses two forwards on one address" \
    "$PEERLOCK" check -c "$T/K.conf"
"$PEERLOCK" check -c "$T/K.conf" >"$T/K.check" 2>&1
check "... naming both lines" grep -q "K.conf:9: \[forward.b\] listen \
/ip4/127.0.0.1/tcp/$P1 conflicts with \[forward.a\] listen \
/ip4/127.0.0.1/tcp/$P1 at $T/K.conf:5" "$T/K.check"
"$PEERLOCK" run -c "$T/K.conf" >"$T/K.run" 2>&1
check "run refuses it before binding anything (exit 1)" test $? -eq 1
check "... with the same message" grep -q "K.conf:9: \[forward.b\]" \
    "$T/K.run"
conf_node L "admin=127.0.0.1:$P1"
conf_forward L a "$P1" "$(free_port)" "$ID_B"
"$PEERLOCK" check -c "$T/L.conf" >"$T/L.check" 2>&1
check "check refuses admin on a forward's address, naming both lines" \
    grep -q "L.conf:6: \[forward.a\] listen .* conflicts with \
\[peerlock\] admin /ip4/127.0.0.1/tcp/$P1 at $T/L.conf:3" "$T/L.check"
conf_node M "listen=/ip4/0.0.0.0/tcp/$P1"
conf_forward M a "$P1" "$(free_port)" "$ID_B"
check_not "check refuses a forward on a port the wildcard listener takes" \
    "$PEERLOCK" check -c "$T/M.conf"

# --- a plaintext forward off loopback --------------------------------------
P2=$(free_port)
conf_node U
printf '[forward.pub]\nlisten = 0.0.0.0:%s\npeer = %s\n' "$P2" \
    "/ip4/127.0.0.1/tcp/$(free_port)/p2p/$ID_B" >>"$T/U.conf"
"$PEERLOCK" check -c "$T/U.conf" >"$T/U.check" 2>&1
check "check refuses a plaintext forward on 0.0.0.0 (exit 1)" test $? -eq 1
check "... and explains why and what to do" grep -q "U.conf:4: \
\[forward.pub\] listen 0.0.0.0:$P2 is not loopback: anyone who reaches it \
gets a plaintext tunnel to the peer as this host.*unsafe_listen = yes" \
    "$T/U.check"
keygen U
echo "unsafe_listen = yes" >>"$T/U.conf"
check "with unsafe_listen = yes it starts" start_peerlock U
check "... and listens on 0.0.0.0" logged U "listening on /ip4/0.0.0.0/tcp/$P2"

# --- a relative identity path, started from / -------------------------------
mkdir -p "$T/r/keys"
"$PEERLOCK" keygen -o "$T/r/keys/id.key" >/dev/null
printf '[peerlock]\nidentity = keys/id.key\n[forward.x]\nlisten = %s\npeer = %s\n' \
    "127.0.0.1:$(free_port)" "/ip4/127.0.0.1/tcp/$(free_port)/p2p/$ID_B" \
    >"$T/r/R.conf"
check "check, run in /, finds keys/id.key next to the config" \
    sh -c 'cd / && exec "$0" check -c "$1"' "$PEERLOCK" "$T/r/R.conf"
bg R sh -c 'cd / && exec "$0" run -c "$1"' "$PEERLOCK" "$T/r/R.conf"
check "... and so does run" logged_re R "$PL_READY"

# --- a tunnel from an IPv6 app: [addr]:port in the logs ---------------------
# send_to HOST PORT TEXT: connect, send TEXT, half-close, print the answer.
send_to() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
s.sendall(sys.argv[3].encode())
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.decode())
PY
}
start_echod echo
PB=$(free_port); F6=$(free_port); AB=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "admin=127.0.0.1:$AB"
conf_expose B echo "$ID_A $ID_J" "$PORT_echo"
conf_node A
printf '\n[forward.v6]\nlisten = [::1]:%s\npeer = %s\n' "$F6" \
    "/ip4/127.0.0.1/tcp/$PB/p2p/$ID_B" >>"$T/A.conf"
start_peerlock B || exit 1
start_peerlock A || exit 1
if ip -6 addr show dev lo 2>/dev/null | grep -q "::1"; then
	check "an app on ::1 gets its bytes echoed through the tunnel" \
	    test "$(send_to ::1 "$F6" hello6)" = hello6
	check "A logs from=[::1]:PORT, brackets around the address" \
	    logged_re A "conn [0-9]+ closed route=forward.v6 from=\[::1\]:[0-9]+ "
	check "B still logs IPv4 as addr:port" \
	    logged_re B "closed route=expose.echo from=127.0.0.1:[0-9]+ "
else
	echo "note: no ::1 on lo here: IPv6 log format not tested"
fi

# --- log_format = json: fields, not a msg string -----------------------------
FJ=$(free_port); FD=$(free_port); AJ=$(free_port)
conf_node J log_format=json "admin=127.0.0.1:$AJ"
conf_forward J echo "$FJ" "$PB" "$ID_B"
conf_forward J dead "$FD" "$(free_port)" "$ID_B"
start_peerlock J || exit 1
check "a tunnel through the JSON-logging node echoes" \
    test "$(send_to 127.0.0.1 "$FJ" json-bytes)" = json-bytes
logged J '"msg":"conn [0-9]* closed"' >/dev/null
check "every line of J's log is one JSON object; the close line has the fields" \
    python3 - "$T/J.log" "$ID_B" <<'PY'
import json, sys
closes = []
for line in open(sys.argv[1]):
    o = json.loads(line)                        # raises on a bad line
    assert {"ts", "level", "msg"} <= set(o), o
    if o["msg"].endswith(" closed"):
        closes.append(o)
assert len(closes) == 1, closes
c = closes[0]
assert c["msg"] == "conn %d closed" % c["conn"], c
assert c["route"] == "forward.echo", c
assert c["from"].startswith("127.0.0.1:"), c
assert c["peer"] == sys.argv[2], c
assert c["proto"] == "/noise", c
assert c["up"] == 10 and c["down"] == 10, c      # numbers, not text
assert isinstance(c["dur"], float) and c["dur"] >= 0, c
assert c["reason"] == "done" and "detail" not in c, c
PY

# --- routes at start, and peerlock status ------------------------------------
check "B logs its expose route: who may reach which target" \
    logged B "route expose.echo peers=$ID_A,$ID_J target=127.0.0.1:$PORT_echo$"
check "J logs each forward's route as JSON fields" python3 - "$T/J.log" \
    "$ID_B" "$FJ" "$PB" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
r = [o for o in r if o["msg"] == "route forward.echo"]
assert len(r) == 1, r
o = r[0]
assert o["listen"] == "127.0.0.1:" + sys.argv[3], o
assert o["peer"] == sys.argv[2], o
assert o["at"] == "/ip4/127.0.0.1/tcp/" + sys.argv[4], o
assert o["security"] == "noise", o
PY
send_to 127.0.0.1 "$FD" x >/dev/null 2>&1
logged J '"route":"forward.dead"' >/dev/null
"$PEERLOCK" status -c "$T/J.conf" >"$T/J.status" 2>&1
check "peerlock status -c J.conf answers" test $? -eq 0
check "... with J's version, state and peer id" grep -q \
    "^peerlock .*: serving, peer id $ID_J$" "$T/J.status"
check "... forward.echo reachable (1 tunnel established)" grep -Eq \
    "^forward.echo +127.0.0.1:$FJ +12D3KooW.*@127.0.0.1:$PB +noise +0 +1 +0  reachable$" \
    "$T/J.status"
check "... forward.dead unreachable, with the reason" grep -Eq \
    "^forward.dead .* +0 +0 +1  unreachable \(connect_failed\)$" "$T/J.status"
check "... the peers table gives B's full peer id and reachability" \
    grep -Eq "^$ID_B +forward.echo +0  reachable$" "$T/J.status"
"$PEERLOCK" status -a "127.0.0.1:$AB" >"$T/B.status" 2>&1
check "peerlock status -a ADDR works too; B lists A and J as admitted" \
    sh -c 'grep -Eq "^$1 +expose.echo +0  may connect to us$" "$3" &&
    grep -Eq "^$2 +expose.echo" "$3"' sh "$ID_A" "$ID_J" "$T/B.status"
check "... and B's expose route with its counts" grep -Eq \
    "^expose.echo +2 peers +127.0.0.1:$PORT_echo +- +0 +[0-9]+ +0  " "$T/B.status"
"$PEERLOCK" status -c "$T/A.conf" >"$T/A.status" 2>&1
check_not "status on a config without admin fails" test $? -eq 0
check "... and says admin is needed" grep -q "no 'admin' in \[peerlock\]" \
    "$T/A.status"
check_not "status where nothing listens fails" \
    "$PEERLOCK" status -a "127.0.0.1:$(free_port)"

# --- a second SIGTERM while draining ---------------------------------------
FS=$(free_port)
conf_node S shutdown_timeout=60s
conf_forward S echo "$FS" "$PB" "$ID_B"
keygen S
# B must admit S: a reload with S added
sed -i "s/^peers = .*/peers = $ID_A $ID_J $ID_S/" "$T/B.conf"
log_mark B
kill -HUP "$PID_B"
logged_after B "reload: .* loaded" || fail "B reloaded with S admitted"
start_peerlock S || exit 1
# hold: one tunnel that stays open (echoed once, then idle)
python3 - "$FS" "$T/hold.up" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"x")
assert s.recv(1) == b"x"
open(sys.argv[2], "w").write("up\n")
time.sleep(30)
PY
HOLD=$!
for _ in $(seq 100); do [ -s "$T/hold.up" ] && break; sleep 0.05; done
check "a tunnel through S is up" test -s "$T/hold.up"
"$PEERLOCK" status -a "127.0.0.1:$AB" >"$T/B2.status" 2>&1
check "status lists the live tunnel on B: route, peer, proto, phase" \
    grep -Eq "^[0-9]+ +expose.echo +12D3KooW[^ ]*\.\.\.[^ ]+ +/noise +127.0.0.1:[0-9]+ +relaying " \
    "$T/B2.status"
kill -TERM "$PID_S"
check "first SIGTERM: S drains" logged S "draining (up to 60000 ms)"
kill -TERM "$PID_S"
for _ in $(seq 100); do kill -0 "$PID_S" 2>/dev/null || break; sleep 0.05; done
check_not "second SIGTERM: S exits at once" kill -0 "$PID_S"
check "the close line gives the real reason" \
    grep -q "closed route=forward.echo .* reason=shutdown: second signal$" \
    "$T/S.log"
check_not "... not shutdown_timeout expired (it had not)" \
    grep -q "shutdown_timeout expired" "$T/S.log"
check "'peerlock stopped' is the last line" \
    sh -c 'tail -n 1 "$1" | grep -q "peerlock stopped$"' sh "$T/S.log"
check "the second signal is logged before the close line" \
    sh -c 'grep -n "again: closing 1 tunnel(s) now\|closed route=forward.echo" "$1" |
    head -n 1 | grep -q again' sh "$T/S.log"
kill "$HOLD" 2>/dev/null

# --- the version ------------------------------------------------------------
REL=$(sed -n 's/^AC_INIT(\[peerlock\], \[\([^]]*\)\].*/\1/p' \
    "$top_srcdir/configure.ac")
# The revision this binary was built with (the build tree's revision.h):
# commits made since the build must not fail the test.
REV=$(sed -n 's/^#define PEERLOCK_REVISION "\(.*\)"$/\1/p' \
    "$top_builddir/revision.h")
VER="$REL"
[ -n "$REV" ] && VER="$REL (git $REV)"
if [ -e "$top_srcdir/.git" ] && command -v git >/dev/null; then
	check "built from git: the revision names a commit of this tree" \
	    git -C "$top_srcdir" cat-file -e "${REV%-dirty}^{commit}"
fi
check "peerlock version prints the release ($REL) and revision" \
    test "$("$PEERLOCK" version | head -n 1)" = "peerlock $VER"
check "... not dev" test "$REL" != dev
# The second line names the ChaCha20-Poly1305 of Noise frames (aead.h):
# chosen at startup, or set by PEERLOCK_AEAD.
AEAD=$("$PEERLOCK" version | sed -n 's/^noise transport: ChaCha20-Poly1305 by \([a-z]*\) (.*)$/\1/p')
check "... and the Noise AEAD in use ($AEAD)" \
    test "$AEAD" = libsodium -o "$AEAD" = wolfcrypt
check "... which PEERLOCK_AEAD=sodium sets" sh -c \
    "PEERLOCK_AEAD=sodium '$PEERLOCK' version | grep -q '^noise transport: ChaCha20-Poly1305 by libsodium ('"
check_not "... and an unknown PEERLOCK_AEAD is refused" \
    env PEERLOCK_AEAD=rot13 "$PEERLOCK" version
check "the ready line carries it" logged B "peerlock $VER ready"
check "the startup names the AEAD" \
    logged B "noise transport: ChaCha20-Poly1305 by $AEAD ("
if command -v curl >/dev/null; then
	curl -s "http://127.0.0.1:$AB/metrics" >"$T/metrics.txt"
	check "the metrics carry peerlock_build_info with its labels" \
	    grep -qx "peerlock_build_info{version=\"$REL\",revision=\"${REV:-}\",aead=\"$AEAD\"} 1" \
	    "$T/metrics.txt"
fi

# --- the demo ---------------------------------------------------------------
"$PEERLOCK" demo >"$T/demo.out" 2>"$T/demo.err"
check "peerlock demo succeeds" test $? -eq 0
check "... prints B's config with the expose" grep -q "^    \[expose.echo\]$" \
    "$T/demo.out"
check "... logs real ports, never tcp/0" sh -c \
    'grep -q "listening on /ip4/127.0.0.1/tcp/[1-9]" "$1" &&
    ! grep -q "listening on .*/tcp/0 " "$1"' sh "$T/demo.err"
check "... shows the wire: multistream in clear, then bytes in hex" grep -Eq \
    "^ +0  13 2f 6d 75 6c 74 69 73 74 72 65 61 6d" "$T/demo.out"
check "... and that the app's text is not on it" \
    grep -q "the app's text on the wire  no" "$T/demo.out"
check "... and a refused peer, with B's reason in the log" sh -c \
    'grep -q "peer C, not in B.s peers    refused" "$1" &&
    grep -q "\[B\] conn .* reason=not_allowed: peer-id check" "$2"' \
    sh "$T/demo.out" "$T/demo.err"
check "... in one screen (at most 60 lines, both streams)" \
    test "$(cat "$T/demo.out" "$T/demo.err" | wc -l)" -le 60

pl_finish

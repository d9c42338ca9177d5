#!/bin/sh
# Goal: the admin endpoint cannot be held open or crowded out.  A request
# that dribbles a byte every 2 s is closed 10 s after its connection, not
# kept alive by each byte; 50 concurrent connections never get more than
# 16 held open (the rest are closed at once), /metrics answers again
# afterwards and counts them, and each kind of refusal is logged once,
# not once per connection.  `peerlock check` warns (and still succeeds)
# when admin is bound beyond loopback, naming file:line, and not when it
# is on 127.0.0.1.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

keygen A
start_echod echo
FA=$(free_port); AA=$(free_port)
conf_node A "admin=127.0.0.1:$AA"
conf_forward A echo "$FA" "$(free_port)" "$ID_A"
start_peerlock A || exit 1

metric() {
	curl -s "http://127.0.0.1:$AA/metrics" |
	    awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

check "/metrics answers" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AA/metrics")" = 200
check "HEAD /healthz answers without a body" sh -c \
    "curl -sI 'http://127.0.0.1:$AA/healthz' | grep -q '^HTTP/1.1 200'"

# --- a dribbling client is closed at the deadline ------------------------
python3 - "$AA" >"$T/dribble.out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
got, i = b"", 0
s.settimeout(2)
while time.time() - t0 < 30:
    try:
        s.send(req[i:i + 1])
        i += 1
    except OSError:
        break
    try:
        b = s.recv(4096)
        if not b:
            break
        got += b
    except socket.timeout:
        pass
    except OSError:
        break
print("%.1f %d" % (time.time() - t0, len(got)))
PY
read -r secs got <"$T/dribble.out"
check "a dribbling request (a byte every 2 s) is closed at the 10 s deadline (${secs}s)" \
    awk -v t="$secs" 'BEGIN { exit !(t >= 9 && t <= 13) }'
check "and got no answer" test "$got" = 0
check "the deadline is logged" \
    logged A "admin: request from 127.0.0.1 not answered 10 s after its connection: closing it"
check "and counted" \
    test "$(metric 'peerlock_admin_refused_total{reason="deadline"}')" -ge 1

# --- 50 concurrent connections: at most 16 held --------------------------
python3 - "$AA" >"$T/crowd.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
for s in socks:
    s.setblocking(False)
closed = set()
end = time.time() + 2
while time.time() < end:
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed.add(i)
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
    time.sleep(0.05)
print(50 - len(closed), flush=True)
# the held ones end at their deadline too
end = time.time() + 12
while time.time() < end and len(closed) < 50:
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed.add(i)
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
    time.sleep(0.1)
print(50 - len(closed), flush=True)
PY
held=$(sed -n 1p "$T/crowd.out"); left=$(sed -n 2p "$T/crowd.out")
check "of 50 concurrent connections at most 16 are held ($held)" \
    test "$held" -le 16 -a "$held" -ge 1
check "the held ones are closed at their deadline too ($left left)" \
    test "$left" = 0
check "/metrics answers afterwards" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AA/metrics")" = 200
check "the refusals are counted ($(metric 'peerlock_admin_refused_total{reason="max_connections"}'))" \
    test "$(metric 'peerlock_admin_refused_total{reason="max_connections"}')" -ge 34
check "the cap refusal is logged once, not once per connection" \
    test "$(grep -c 'admin: 16 connections open (the cap)' "$T/A.log")" -eq 1
check "so is the deadline" \
    test "$(grep -c 'not answered 10 s after its connection' "$T/A.log")" -eq 1
check "the tunnel side is unaffected: peerlock status works" \
    "$PEERLOCK" status -c "$T/A.conf" >/dev/null

# --- check warns about admin beyond loopback -----------------------------
conf_node W "admin=0.0.0.0:$(free_port)"
keygen W
conf_forward W echo "$(free_port)" "$(free_port)" "$ID_A"
"$PEERLOCK" check -c "$T/W.conf" >"$T/checkw.out" 2>"$T/checkw.err"
rc=$?
check "check succeeds despite the warning (rc $rc)" test "$rc" -eq 0
check "check warns, naming file:line and why" \
    grep -q "^peerlock: warning: $T/W.conf:3: admin = 0.0.0.0:[0-9]* is reachable from other hosts, and the admin endpoint has no authentication" "$T/checkw.err"
"$PEERLOCK" check -c "$T/A.conf" >"$T/checka.out" 2>"$T/checka.err"
check "no warning for admin = 127.0.0.1" test ! -s "$T/checka.err"
check "check of the loopback config succeeds" grep -q ": ok:" "$T/checka.out"
pl_finish

#!/bin/sh
# Goal: systemd integration without systemd.  A python launcher plays the
# service manager: it binds the listening sockets, passes them as fds 3+
# with LISTEN_FDS/LISTEN_PID, listens on a NOTIFY_SOCKET datagram socket
# and execs peerlock.  peerlock must adopt the socket whose address
# equals its listen address (and not bind it again), warn about one that
# matches nothing, and send READY=1, RELOADING=1 then READY=1 on SIGHUP,
# and STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"

keygen A; keygen B
start_echod echo
PB=$(free_port); FA=$(free_port); PX=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB"
conf_expose B echo "$ID_A" "$PORT_echo"
conf_node A
conf_forward A echo "$FA" "$PB" "$ID_B"
cat >"$T/launch.py" <<'PY'
import os, socket, sys
tdir, peerlock, conf = sys.argv[1], sys.argv[2], sys.argv[3]
ports = [int(p) for p in sys.argv[4:]]
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
npath = os.path.join(tdir, "notify.sock")
notify.bind(npath)
socks = []
for p in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p)); s.listen(128)
    socks.append(s)
pid = os.fork()
if pid == 0:
    for i, s in enumerate(socks):
        os.dup2(s.fileno(), 3 + i)      # dup2 clears FD_CLOEXEC
    env = dict(os.environ, LISTEN_FDS=str(len(socks)),
               LISTEN_PID=str(os.getpid()), NOTIFY_SOCKET=npath)
    os.execve(peerlock, [peerlock, "run", "-c", conf], env)
with open(os.path.join(tdir, "child.pid"), "w") as f:
    f.write("%d\n" % pid)
for s in socks:
    s.close()
notify.settimeout(0.2)
with open(os.path.join(tdir, "notify.log"), "a", buffering=1) as log:
    while True:
        try:
            msg = notify.recv(4096).decode()
            log.write(msg.replace("\n", " ") + "\n")
        except socket.timeout:
            pass
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
PY
bg B python3 "$T/launch.py" "$T" "$PEERLOCK" "$T/B.conf" "$PB" "$PX"
for _ in $(seq 100); do grep -q READY=1 "$T/notify.log" 2>/dev/null && break; sleep 0.05; done
CPID=$(cat "$T/child.pid")
check "READY=1 sent once listening" grep -qx 'READY=1' "$T/notify.log"
check "the passed socket was adopted for the listen address" \
    logged B "listening on /ip4/127.0.0.1/tcp/$PB (encrypted, socket from the service manager)"
check "a passed socket matching no listen address is reported" \
    logged B "socket activation: passed socket (fd 4) matches no listen address"
start_peerlock A || exit 1
check "a tunnel through the adopted socket works" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 256K
kill -HUP "$CPID"
for _ in $(seq 100); do [ "$(grep -c READY=1 "$T/notify.log")" -ge 2 ] && break; sleep 0.05; done
check "SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1" \
    sh -c "grep -n . '$T/notify.log' | tr '\n' ' ' | grep -q '1:READY=1 2:RELOADING=1 MONOTONIC_USEC=[0-9]* 3:READY=1'"
check "the adopted socket is kept across the reload" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 64K
kill -TERM "$CPID"
for _ in $(seq 100); do grep -q STOPPING=1 "$T/notify.log" && break; sleep 0.05; done
check "SIGTERM: STOPPING=1" grep -qx 'STOPPING=1' "$T/notify.log"
check "stopped" logged B "peerlock stopped"
pl_finish

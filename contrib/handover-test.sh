#!/bin/sh
# handover-test.sh - upgrading a running peerlock without refusing a
# connection (docs/operations.md, "Upgrading a running instance"), tested
# with real processes on loopback and no systemd:
#
#   client ─plain─▶ A [forward] ─/noise─▶ B listen (handed over) ─▶ echo
#
# A stand-in for systemd's peerlock.socket binds B's encrypted listener
# once and passes it to each generation of B as fd 3 with LISTEN_FDS=1 and
# LISTEN_PID, as systemd does.  While clients keep opening tunnels through
# A (one every 50 ms) and one long tunnel is streaming:
#
#   restart   what `systemctl restart peerlock` does with the socket unit:
#             SIGTERM the old B, wait until it has drained and exited,
#             start the new B on the same socket.
#   overlap   a hand-over with no gap: start the new B on the same socket,
#             then SIGTERM the old one (both accept from one queue until
#             the old one stops).
#
# Checks per mode: no connection refused; every tunnel echoes its bytes
# except those the old B had accepted but not finished the handshake of
# when SIGTERM came (its drain keeps established tunnels only; each must
# match one "reason=shutdown" in its log); the long tunnel across the
# hand-over completes intact; the old B exits 0 after logging its drain;
# the new B adopted the socket.  B runs with max_handshakes_per_ip raised:
# in restart mode every connection queued during the drain arrives at
# once, from one address here (docs/operations.md).
#
#   contrib/handover-test.sh [PEERLOCK_BINARY]   (default build/peerlock)
#   PL_THREADS=2 contrib/handover-test.sh         (B with two event loops)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${PEERLOCK:-$top/build/peerlock}}
if [ ! -x "$bin" ]; then
	echo "handover-test: no peerlock binary at $bin (build first)" >&2
	echo "handover: 0 passed, 1 failed"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/handover-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
exec python3 - "$bin" "$tmp" "$top/tests/tools/free_port.py" <<'PY'
import os, signal, socket, subprocess, sys, threading, time

binary, tmp, free_port = sys.argv[1:]
npass = nfail = 0


def ok(msg):
    global npass
    npass += 1
    print("PASS: " + msg, flush=True)


def bad(msg):
    global nfail
    nfail += 1
    print("FAIL: " + msg, flush=True)


def port():
    return int(subprocess.check_output([sys.executable, free_port]))


def keygen(name):
    path = os.path.join(tmp, name + ".key")
    pid = subprocess.check_output([binary, "keygen", "-o", path],
                                  text=True).split()[-1]
    return path, pid


def echo_server(ls):
    def serve(c):
        with c:
            while True:
                b = c.recv(65536)
                if not b:
                    return
                c.sendall(b)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


pa, pb = port(), port()
# The service manager's socket: bound once, kept for the whole test, at
# fd 3 before anything else can take that number.
held = socket.create_server(("127.0.0.1", pb), backlog=1024)
if held.fileno() != 3:
    os.dup2(held.fileno(), 3)
os.set_inheritable(3, True)
ka, ida = keygen("a")
kb, idb = keygen("b")
es = socket.create_server(("127.0.0.1", 0))
pe = es.getsockname()[1]
threading.Thread(target=echo_server, args=(es,), daemon=True).start()

with open(os.path.join(tmp, "b.conf"), "w") as f:
    # PL_THREADS=N: B runs N event loops, each accepting from the passed
    # socket (docs/threads.md)
    f.write("[peerlock]\nidentity = %s\nlisten = /ip4/127.0.0.1/tcp/%d\n"
            "shutdown_timeout = 20s\nmax_handshakes_per_ip = 1024\n"
            "max_handshakes = 1024\n%s[expose.echo]\npeers = %s\n"
            "target = 127.0.0.1:%d\n" % (kb, pb,
            "threads = %s\n" % os.environ["PL_THREADS"]
            if os.environ.get("PL_THREADS") else "", ida, pe))
with open(os.path.join(tmp, "a.conf"), "w") as f:
    f.write("[peerlock]\nidentity = %s\nhandshake_timeout = 15s\n"
            "[forward.echo]\nlisten = 127.0.0.1:%d\n"
            "peer = /ip4/127.0.0.1/tcp/%d/p2p/%s\n" % (ka, pa, pb, idb))


def start_b(gen):
    log = open(os.path.join(tmp, "b%d.log" % gen), "w")
    return subprocess.Popen(
        ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" run -c "$1"',
         binary, os.path.join(tmp, "b.conf")],
        stdout=log, stderr=subprocess.STDOUT, pass_fds=(3,)), log


def wait_listen(p):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", p), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


a = subprocess.Popen([binary, "run", "-c", os.path.join(tmp, "a.conf")],
                     stdout=open(os.path.join(tmp, "a.log"), "w"),
                     stderr=subprocess.STDOUT, pass_fds=())


def tunnel(results, i):
    """One short tunnel through A: 32 bytes out, the same 32 back."""
    t0 = time.monotonic()
    msg = os.urandom(32)
    try:
        with socket.create_connection(("127.0.0.1", pa), timeout=30) as c:
            c.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = c.recv(64)
                if not b:
                    break
                got += b
        results[i] = ("ok" if got == msg else "short %d" % len(got),
                      time.monotonic() - t0)
    except OSError as e:
        results[i] = ("error %s" % e, time.monotonic() - t0)


def long_tunnel(out, seconds):
    """A tunnel that streams for SECONDS across the hand-over."""
    data = os.urandom(16384 * 40)
    got = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", pa), timeout=30) as c:
            def reader():
                while len(got) < len(data):
                    b = c.recv(65536)
                    if not b:
                        return
                    got.extend(b)
            r = threading.Thread(target=reader)
            r.start()
            step = len(data) // 40
            for k in range(40):
                c.sendall(data[k * step:(k + 1) * step])
                time.sleep(seconds / 40)
            r.join(30)
    except OSError as e:
        out.append("error %s" % e)
        return
    out.append("ok" if bytes(got) == data else "corrupt %d/%d" %
               (len(got), len(data)))


def run_mode(mode, gen):
    old, oldlog = procs[-1]
    results = {}
    stop = threading.Event()

    def load():
        i = 0
        ts = []
        while not stop.is_set():
            t = threading.Thread(target=tunnel, args=(results, i))
            t.start()
            ts.append(t)
            i += 1
            time.sleep(0.05)
        for t in ts:
            t.join(40)

    lt_out = []
    lt = threading.Thread(target=long_tunnel, args=(lt_out, 3.0))
    lt.start()
    lg = threading.Thread(target=load)
    lg.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    if mode == "restart":
        old.send_signal(signal.SIGTERM)
        rc = old.wait(30)
        new = start_b(gen)
    else:
        new = start_b(gen)
        time.sleep(0.5)
        old.send_signal(signal.SIGTERM)
        rc = old.wait(30)
    gap = time.monotonic() - t0
    procs.append(new)
    time.sleep(1.5)
    stop.set()
    lg.join(60)
    lt.join(60)
    oldlog.close()
    fails = {i: r for i, r in results.items() if r[0] != "ok"}
    worst = max((r[1] for r in results.values()), default=0)
    olog = open(oldlog.name).read()
    # Connections the old B had accepted but not finished the handshake
    # of when SIGTERM came: the drain keeps established tunnels only.
    cut = olog.count("reason=shutdown")
    refused = [r for r in fails.values() if "refused" in r[0].lower()]
    if results and not refused and len(fails) == cut:
        ok("%s: %d tunnels during the hand-over, none refused, %d echoed, "
           "%d cut mid-handshake by the old B's drain "
           "(slowest %.2f s; old B exited after %.2f s)"
           % (mode, len(results), len(results) - len(fails), cut, worst,
              gap))
    else:
        bad("%s: %d of %d tunnels failed (%d mid-handshake at SIGTERM): %s"
            % (mode, len(fails), len(results), cut,
               sorted(set(r[0] for r in fails.values()))[:3]))
    if lt_out == ["ok"]:
        ok("%s: the long tunnel across the hand-over arrived intact" % mode)
    else:
        bad("%s: long tunnel: %s" % (mode, lt_out))
    if rc == 0 and "shutdown: waiting" in olog and "still open" not in olog:
        ok("%s: old B drained and exited 0" % mode)
    else:
        bad("%s: old B exit %s, log tail: %s" % (mode, rc, olog[-400:]))
    time.sleep(0.2)
    nlog = open(procs[-1][1].name).read()
    if "socket from the service manager" in nlog:
        ok("%s: new B adopted the passed socket" % mode)
    else:
        bad("%s: new B did not adopt the socket: %s" % (mode, nlog[-400:]))
    nt = int(os.environ.get("PL_THREADS") or 1)
    if nt > 1:
        shared = [k for k in range(1, nt) if "loop %d: listening on" % k
                  in nlog and "socket from the service manager" in
                  nlog.split("loop %d: listening on" % k, 1)[1]
                  .split("\n", 1)[0]]
        if len(shared) == nt - 1:
            ok("%s: every loop of the new B accepts from the passed "
               "socket (a duplicate each)" % mode)
        else:
            bad("%s: loops %s of %d did not adopt the socket" %
                (mode, shared, nt))


procs = [start_b(0)]
try:
    if not wait_listen(pa):
        bad("A never listened")
    else:
        # A first tunnel proves the chain before any hand-over.
        r = {}
        tunnel(r, 0)
        if r[0][0] == "ok":
            ok("tunnel client -> A -> B -> echo works")
        else:
            bad("first tunnel: %s" % (r[0],))
        run_mode("restart", 1)
        run_mode("overlap", 2)
finally:
    for p, _ in procs:
        if p.poll() is None:
            p.kill()
    a.send_signal(signal.SIGTERM)
    try:
        a.wait(30)
    except subprocess.TimeoutExpired:
        a.kill()
print("handover: %d passed, %d failed" % (npass, nfail))
sys.exit(0 if nfail == 0 and npass > 0 else 1)
PY

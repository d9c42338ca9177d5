#!/usr/bin/env python3
"""holdconns.py - open N TCP connections to HOST:PORT, prove each one with a
1-byte echo, then hold them all open.

Prints "ready OK FAILED" once every connection has echoed or failed (at
most INFLIGHT being set up at a time, each within TIMEOUT seconds), then
waits for a line or EOF on stdin and closes everything.  Used by the
node-mode scale test (10,000 tunnels over one session).

usage: holdconns.py HOST PORT N [INFLIGHT] [TIMEOUT]
"""
import selectors
import socket
import sys
import time


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    inflight = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    sel = selectors.DefaultSelector()
    held, pending, failed, started = [], {}, 0, 0
    deadline = time.monotonic() + timeout
    while (started < n or pending) and time.monotonic() < deadline:
        while started < n and len(pending) < inflight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((host, port))
            except BlockingIOError:
                pass
            except OSError:
                failed += 1
                s.close()
                started += 1
                continue
            pending[s] = "connecting"
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            if pending[s] == "connecting":
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    sel.unregister(s)
                    del pending[s]
                    s.close()
                    failed += 1
                    continue
                s.send(b"x")
                pending[s] = "echo"
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                b = s.recv(1)
            except OSError:
                b = b""
            sel.unregister(s)
            del pending[s]
            if b == b"x":
                held.append(s)
            else:
                s.close()
                failed += 1
    failed += len(pending) + (n - started)
    print("ready %d %d" % (len(held), failed), flush=True)
    sys.stdin.readline()
    for s in held:
        s.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""idleflood.py - hold many idle or half-spoken TCP connections to a port
from chosen loopback source addresses, and say which the server closed.

usage: idleflood.py PORT HOLD SPEC...
  SPEC is SRC:N (N connections from source address SRC that send nothing)
  or SRC:N:talk (each sends the first bytes of a multistream header and
  then stalls).  Connections are opened in the order given, 20 ms apart
  per source, so that earlier specs are older.  The server is 127.0.0.1,
  or $IDLEFLOOD_HOST (an IPv6 address for IPv6 sources).

Prints "ready" once every connection is open, then watches them for HOLD
seconds and prints
one line per source: "SRC OPENED CLOSED", CLOSED being how many the server
ended (FIN or reset).  Used by tests/e2e/flood.sh.
"""
import os
import socket
import sys
import time

PARTIAL = b"\x13/multistream/1"  # a header cut short: the peer waits


def main():
    port, hold = int(sys.argv[1]), float(sys.argv[2])
    host = os.environ.get("IDLEFLOOD_HOST", "127.0.0.1")
    conns = []  # (src, sock)
    for spec in sys.argv[3:]:
        talk = spec.endswith(":talk")
        if talk:
            spec = spec[:-len(":talk")]
        src, n = spec.rsplit(":", 1)
        n = int(n)
        fam = socket.AF_INET6 if ":" in src else socket.AF_INET
        for _ in range(n):
            s = socket.socket(fam)
            s.bind((src, 0))
            s.connect((host, port))
            if talk:
                s.sendall(PARTIAL)
            s.setblocking(False)
            conns.append((src, s))
        time.sleep(0.02)
    print("ready", flush=True)
    closed = set()
    end = time.time() + hold
    while time.time() < end:
        for i, (_, s) in enumerate(conns):
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
    order, opened, ended = [], {}, {}
    for i, (src, _) in enumerate(conns):
        if src not in opened:
            order.append(src)
            opened[src], ended[src] = 0, 0
        opened[src] += 1
        ended[src] += i in closed
    for src in order:
        print(src, opened[src], ended[src], flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""free_port.py - print a TCP port on 127.0.0.1 that was free a moment ago.

It is taken below the kernel's ephemeral range, so that no outgoing
connection of a concurrently running test (make -j check) can grab it
before the process under test listens on it.  Used by tests/e2e/lib.sh
and tests/interop/interop.sh.
"""
import random, socket
lo = 32768
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo = int(f.read().split()[0])
except (OSError, ValueError):
    pass
base = 10000 if lo > 11000 else 1024
for _ in range(200):
    port = random.randrange(base, max(lo, base + 1000))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port")

#!/usr/bin/env python3
"""dnsd.py ADDR NAME=IP|NAME=silent ... : a tiny authoritative DNS server
over UDP port 53 on ADDR for the e2e tests (tests/e2e/dns.sh).

A query for a listed NAME (type A) is answered with IP; NAME=silent is
never answered (an unreachable resolver, as far as the client can tell);
other types of a listed name get an empty NOERROR answer, unknown names
NXDOMAIN.  Every query is logged on stdout as "query NAME TYPE".
"""
import socket
import struct
import sys


def parse_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def main():
    addr = sys.argv[1]
    table = dict(kv.split("=", 1) for kv in sys.argv[2:])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    print("dnsd: listening on %s:53" % addr, flush=True)
    while True:
        msg, peer = s.recvfrom(512)
        if len(msg) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        name, off = parse_name(msg, 12)
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
        question = msg[12:off + 4]
        print("query %s %d" % (name, qtype), flush=True)
        ans = table.get(name)
        if ans == "silent":
            continue
        rd = flags & 0x0100
        if ans is None:
            hdr = struct.pack("!HHHHHH", qid, 0x8183 | rd, 1, 0, 0, 0)
            s.sendto(hdr + question, peer)
            continue
        body = b""
        an = 0
        if qtype == 1:
            body = struct.pack("!HHHLH", 0xC00C, 1, 1, 5, 4) + \
                socket.inet_aton(ans)
            an = 1
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | rd, 1, an, 0, 0)
        s.sendto(hdr + question + body, peer)


if __name__ == "__main__":
    main()

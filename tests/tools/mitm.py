#!/usr/bin/env python3
"""mitm.py - a tampering relay between two real peerlocks (tests only).

usage: mitm.py PORT UPSTREAM_PORT MODE DIR [FRAME]

Listens on 127.0.0.1:PORT and relays every
connection to 127.0.0.1:UPSTREAM_PORT.  Both directions pass unchanged
through multistream-select (the 28 bytes of header and "/noise" each way;
both peerlocks must speak /noise only) and the Noise handshake (msg 1 and
3 dialer->listener, msg 2 back), counted by their 2-byte length prefixes.
Then, in direction DIR ("up" = dialer->listener, "down" = the reverse),
transport frame number FRAME (0-based, default 0) is treated by MODE:

  flip-ct   flip a bit in the middle of the ciphertext
  flip-tag  flip a bit in the last byte (the tag)
  flip-len  flip the lowest bit of the length prefix
  replay    send the frame twice
  reorder   hold it back and send it after the next frame
  none      relay unchanged (control)

Everything after that passes unchanged.  One line per action on stdout.
"""
import socket
import sys
import threading

MSS_BYTES = 28
HANDSHAKE_FRAMES = {"up": 2, "down": 1}


def relay(src, dst, direction, mode, target, tag):
    """Copy src to dst, tampering with one transport frame."""
    buf = b""
    skip = MSS_BYTES
    hs_left = HANDSHAKE_FRAMES[direction]
    frame = 0
    held = None
    parsing = direction == DIR and mode != "none"
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if not parsing:
                dst.sendall(data)
                continue
            buf += data
            out = b""
            if skip:
                k = min(skip, len(buf))
                out += buf[:k]
                buf = buf[k:]
                skip -= k
            while parsing and len(buf) >= 2:
                n = 2 + (buf[0] << 8 | buf[1])
                if len(buf) < n:
                    break
                f, buf = buf[:n], buf[n:]
                if hs_left:
                    hs_left -= 1
                    out += f
                    continue
                if held is not None:
                    # reorder: the next frame first, then the held one
                    out += f + held
                    print("%s: reordered frames %d and %d" %
                          (tag, frame - 1, frame), flush=True)
                    held = None
                    parsing = False
                    break
                if frame == target:
                    f = tamper(f, mode, tag, frame)
                    if mode == "reorder":
                        held = f
                        frame += 1
                        continue
                    out += f
                    parsing = False
                    break
                out += f
                frame += 1
            if not parsing:
                out += buf
                buf = b""
            dst.sendall(out)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def tamper(f, mode, tag, frame):
    """Return frame f as mode spoils it (reorder: unchanged, held)."""
    b = bytearray(f)
    if mode == "flip-ct":
        b[2 + (len(b) - 2) // 2] ^= 0x10
    elif mode == "flip-tag":
        b[-1] ^= 0x01
    elif mode == "flip-len":
        b[1] ^= 0x01
    elif mode == "replay":
        b = b + b
    elif mode != "reorder":
        raise SystemExit("mitm: unknown mode " + mode)
    print("%s: %s on transport frame %d (%d bytes)" %
          (tag, mode, frame, len(f)), flush=True)
    return bytes(b)


def serve(conn, up_port, mode, target, num):
    """Relay one accepted connection both ways."""
    try:
        up = socket.create_connection(("127.0.0.1", up_port), 5)
        up.settimeout(None)
    except OSError as e:
        print("conn %d: upstream: %s" % (num, e), flush=True)
        conn.close()
        return
    tag = "conn %d %s" % (num, DIR)
    t = threading.Thread(target=relay,
                         args=(up, conn, "down", mode, target, tag))
    t.daemon = True
    t.start()
    relay(conn, up, "up", mode, target, tag)
    t.join()
    conn.close()
    up.close()


def main():
    global DIR
    port, up_port, mode, DIR = sys.argv[1:5]
    target = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(16)
    print("mitm: listening on %s, %s in direction %s" % (port, mode, DIR),
          flush=True)
    num = 0
    while True:
        c, _ = ls.accept()
        num += 1
        t = threading.Thread(target=serve,
                             args=(c, int(up_port), mode, target, num))
        t.daemon = True
        t.start()


DIR = "up"
if __name__ == "__main__":
    main()

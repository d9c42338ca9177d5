"""pypeer - a minimal py-libp2p peer for peerlock's interop tests.

It speaks exactly what peerlock speaks on a raw TCP socket: one round of
multistream-select 1.0.0 for the security protocol, then /noise or
/tls/1.0.0, then raw bytes inside the secure channel.  No muxer, no host.
All three come from py-libp2p itself, at the level its own
TransportUpgrader uses them: a trio TCP stream wrapped in
libp2p.io.trio.TrioTCPStream and libp2p.network.connection.raw_connection.
RawConnection, then libp2p.security.security_multistream.SecurityMultistream
holding one transport (libp2p.security.noise.transport.Transport or
libp2p.security.tls.transport.TLSTransport), whose secure_inbound /
secure_outbound negotiate the protocol and run the handshake.
node-dial and node-listen (pynode.py) are node mode instead: a full
py-libp2p host with yamux, identify, ping and /x/echo.

  pypeer.py keygen --type ed25519|secp256k1|rsa --out FILE
  pypeer.py id --key FILE
  pypeer.py listen --key FILE [--port N] [--port-file F]
                   [--security noise|tls] [--expect-peer ID]
  pypeer.py dial --key FILE [--host H] --port N --peer ID
                 [--security noise|tls] --bytes N [--seed S] [--timeout SEC]
  pypeer.py node-dial / node-listen   (node mode, see pynode.py)
  pypeer.py perf-client / perf-server (/perf/1.0.0, see pyperf.py)

Key files hold the libp2p PrivateKey protobuf (py-libp2p's serialize()).
dial prints `ok bytes=N sha256=HEX remote=ID proto=P` on stdout and exits 0
when the echo matched; 3 when the remote authenticated as another peer than
--peer; 2 when the TCP connect failed; 1 on any other error.  py-libp2p's
secure sessions have no half-close (close() closes the TCP connection), so
dial reads exactly N bytes of echo, then closes; listen echoes until the
remote closes.  Diagnostics go to stderr as `pypeer[PID]: ...`.
"""

import hashlib
import logging
import os
import sys

import trio

from libp2p.crypto.ed25519 import create_new_key_pair as new_ed25519
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.rsa import create_new_key_pair as new_rsa
from libp2p.crypto.secp256k1 import create_new_key_pair as new_secp256k1
from libp2p.crypto.serialization import deserialize_private_key
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519
from libp2p.io.trio import TrioTCPStream
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.peer.id import ID
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.security.security_multistream import SecurityMultistream
from libp2p.security.tls.transport import PROTOCOL_ID as TLS_ID
from libp2p.security.tls.transport import TLSTransport

HANDSHAKE_S = 10
CHUNK = 64 * 1024
# SecureSession.read(n) with n given waits for exactly n bytes (it loops
# until it has them); read() with no n returns one decrypted message, or
# what TLS has, which is what an echo needs.
EXIT_FAIL = 1
EXIT_CONNECT = 2
EXIT_PEER_MISMATCH = 3
KEYGEN = {
    "ed25519": new_ed25519,
    "secp256k1": new_secp256k1,
    "rsa": lambda: new_rsa(2048),
}


def say(msg):
    sys.stderr.write(f"pypeer[{os.getpid()}]: {msg}\n")
    sys.stderr.flush()


def die(msg, code=EXIT_FAIL):
    say(msg)
    sys.stdout.flush()
    os._exit(code)


class Fail(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


def parse_args(argv, flags=()):
    out = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            die(f"unexpected argument: {a}", 64)
        name = a[2:]
        if name in flags:
            out[name] = True
        else:
            if i + 1 >= len(argv):
                die(f"missing value for {a}", 64)
            i += 1
            out[name] = argv[i]
        i += 1
    return out


def need(args, name):
    if name not in args:
        die(f"--{name} is required", 64)
    return args[name]


def num(args, name, dflt=None):
    v = args.get(name, dflt)
    if v is None:
        die(f"--{name} is required", 64)
    try:
        n = int(v)
    except ValueError:
        die(f"--{name}: bad number {v}", 64)
    if n < 0:
        die(f"--{name}: bad number {v}", 64)
    return n


def load_key(path):
    try:
        with open(path, "rb") as f:
            priv = deserialize_private_key(f.read())
    except Exception as e:  # any decoding failure ends the command
        die(f"cannot load key {path}: {type(e).__name__}: {e}")
    return KeyPair(priv, priv.get_public_key())


def peer_id(kp):
    return ID.from_pubkey(kp.public_key)


def cmd_keygen(argv):
    args = parse_args(argv)
    t = need(args, "type")
    if t not in KEYGEN:
        die(f"unknown --type {t} (ed25519|secp256k1|rsa)", 64)
    kp = KEYGEN[t]()
    out = need(args, "out")
    tmp = out + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(kp.private_key.serialize())
    os.replace(tmp, out)
    print(peer_id(kp).to_base58())


def cmd_id(argv):
    args = parse_args(argv)
    print(peer_id(load_key(need(args, "key"))).to_base58())


def security_mux(security, kp):
    """py-libp2p's security multistream with one transport."""
    if security == "noise":
        t = NoiseTransport(kp, noise_privkey=new_x25519().private_key)
        return NOISE_ID, SecurityMultistream({NOISE_ID: t})
    if security == "tls":
        return TLS_ID, SecurityMultistream({TLS_ID: TLSTransport(kp)})
    die(f"unknown --security {security} (noise|tls)", 64)


def test_data(n, seed):
    """N deterministic bytes: SHA-256 in counter mode over sha256(seed)."""
    key = hashlib.sha256(f"pypeer:{seed}".encode()).digest()
    out = bytearray()
    ctr = 0
    while len(out) < n:
        out += hashlib.sha256(key + ctr.to_bytes(8, "big")).digest()
        ctr += 1
    return bytes(out[:n])


def is_mismatch(err):
    """py-libp2p's wrong-peer errors: noise PeerIDMismatchesPubkey, tls
    ValueError('Peer ID mismatch ...'), possibly wrapped."""
    while err is not None:
        if isinstance(err, BaseExceptionGroup):
            return any(is_mismatch(e) for e in err.exceptions)
        if type(err).__name__ == "PeerIDMismatchesPubkey":
            return True
        if "mismatch" in str(err).lower():
            return True
        err = err.__cause__ or err.__context__
    return False


def err_text(err):
    parts = []
    while err is not None and len(parts) < 4:
        if isinstance(err, BaseExceptionGroup) and err.exceptions:
            err = err.exceptions[0]
            continue
        parts.append(f"{type(err).__name__}: {err}")
        err = err.__cause__ or err.__context__
    return " <- ".join(parts)


def write_port_file(path, port):
    """Publish the bound port in path atomically (None: no file)."""
    if path is None:
        return
    with open(path + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.replace(path + ".tmp", path)


async def send_and_receive(send, recv):
    """Run send() and recv() together; a Fail from either is raised as is,
    a deadline's cancellation passes through, anything else is a Fail."""
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            nursery.start_soon(recv)
    except BaseExceptionGroup as eg:
        fails = eg.subgroup(lambda e: isinstance(e, Fail))
        if fails is not None:
            first = fails
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first
        if eg.split(trio.Cancelled)[1] is None:
            raise  # only cancellations: the --timeout deadline's scope
        raise Fail(EXIT_FAIL, f"transfer: {err_text(eg)}")


def check_echo(data, got, h):
    """Fail unless the got bytes hashed into h are data; return its sha256."""
    n = len(data)
    sent = hashlib.sha256(data).hexdigest()
    if got != n or h.hexdigest() != sent:
        raise Fail(EXIT_FAIL, f"echo mismatch: sent {n} bytes sha256={sent}, "
                   f"received {got} bytes sha256={h.hexdigest()}")
    return sent


async def dial(args, kp, expect):
    host = args.get("host", "127.0.0.1")
    port = num(args, "port")
    n = num(args, "bytes")
    seed = args.get("seed", "1")
    proto, mux = security_mux(args.get("security", "noise"), kp)
    data = test_data(n, seed)
    try:
        stream = await trio.open_tcp_stream(host, port)
    except OSError as e:
        raise Fail(EXIT_CONNECT, f"connect {host}:{port}: {e}")
    raw = RawConnection(TrioTCPStream(stream), initiator=True)
    try:
        with trio.fail_after(HANDSHAKE_S):
            conn = await mux.secure_outbound(raw, expect)
    except trio.TooSlowError:
        raise Fail(EXIT_FAIL, f"{proto} handshake timeout")
    except Exception as e:
        code = EXIT_PEER_MISMATCH if is_mismatch(e) else EXIT_FAIL
        raise Fail(code, f"{proto} handshake: {err_text(e)}")
    remote = conn.get_remote_peer()
    if remote != expect:
        raise Fail(EXIT_PEER_MISMATCH,
                   f"unexpected remote peer {remote} (expected {expect})")
    say(f"{proto} remote peer {remote}")

    h = hashlib.sha256()
    got = 0

    async def send():
        for i in range(0, n, CHUNK):
            await conn.write(data[i:i + CHUNK])

    async def recv():
        nonlocal got
        while got < n:
            try:
                b = await conn.read()
            except Exception as e:
                raise Fail(EXIT_FAIL, f"closed early: after {got} of {n} "
                           f"bytes: {err_text(e)}")
            if not b:
                raise Fail(EXIT_FAIL, f"closed early: EOF after {got} of "
                           f"{n} bytes")
            h.update(b)
            got += len(b)

    await send_and_receive(send, recv)
    try:
        await conn.close()
    except Exception:
        pass  # the verdict is in
    sent = check_echo(data, got, h)
    return f"ok bytes={n} sha256={sent} remote={remote} proto={proto}"


def cmd_dial(argv):
    args = parse_args(argv)
    kp = load_key(need(args, "key"))
    try:
        expect = ID.from_base58(need(args, "peer"))
    except Exception as e:
        die(f"bad --peer: {e}", 64)
    limit = num(args, "timeout", 60)

    async def main():
        with trio.move_on_after(limit) as scope:
            return await dial(args, kp, expect)
        if scope.cancelled_caught:
            raise Fail(EXIT_FAIL, f"timeout after {limit}s")

    try:
        line = trio.run(main)
    except Fail as f:
        tag = " (peer mismatch)" if f.code == EXIT_PEER_MISMATCH else ""
        die(f"error{tag}: {f}", f.code)
    except Exception as e:
        die(f"error: {err_text(e)}")
    print(line, flush=True)
    os._exit(0)


async def serve(stream, kp, security, expect):
    try:
        who = "%s:%d" % stream.socket.getpeername()[:2]
    except OSError:
        who = "?"
    proto, mux = security_mux(security, kp)
    raw = RawConnection(TrioTCPStream(stream), initiator=False)
    try:
        with trio.fail_after(HANDSHAKE_S):
            conn = await mux.secure_inbound(raw)
    except trio.TooSlowError:
        say(f"{who}: error: {proto} handshake timeout")
        await stream.aclose()
        return
    except Exception as e:
        say(f"{who}: error: {proto} handshake: {err_text(e)}")
        await stream.aclose()
        return
    remote = conn.get_remote_peer()
    if expect is not None and remote != expect:
        say(f"{who}: error (peer mismatch): unexpected remote peer {remote} "
            f"(expected {expect})")
        await stream.aclose()
        return
    say(f"{who}: {proto} remote peer {remote}")
    total = 0
    while True:
        try:
            b = await conn.read()
        except Exception as e:
            # py-libp2p reports the remote's close as an error on read
            say(f"{who}: read ended after {total} bytes: {err_text(e)}")
            break
        if not b:
            break
        total += len(b)
        try:
            await conn.write(b)
        except Exception as e:
            say(f"{who}: error: write: {err_text(e)}")
            break
    try:
        await conn.close()
    except Exception:
        pass
    say(f"{who}: echoed {total} bytes, closed")


def cmd_listen(argv):
    args = parse_args(argv)
    kp = load_key(need(args, "key"))
    port = num(args, "port", 0)
    security = args.get("security", "noise")
    proto, _ = security_mux(security, kp)
    expect = None
    if "expect-peer" in args:
        try:
            expect = ID.from_base58(args["expect-peer"])
        except Exception as e:
            die(f"bad --expect-peer: {e}", 64)
    port_file = args.get("port-file")

    async def main():
        listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
        bound = listeners[0].socket.getsockname()[1]
        say(f"listening on 127.0.0.1:{bound} as {peer_id(kp)} ({proto})")
        write_port_file(port_file, bound)

        async def handler(stream):
            await serve(stream, kp, security, expect)

        await trio.serve_listeners(handler, listeners)

    trio.run(main)


def main():
    # py-libp2p logs handshake failures itself at ERROR; keep stderr ours.
    # PYPEER_DEBUG=1 shows py-libp2p's own debug log.
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("PYPEER_DEBUG") else
        logging.CRITICAL)
    if len(sys.argv) < 2:
        die("usage: pypeer.py keygen|id|listen|dial|node-dial|node-listen ...",
            64)
    cmd, rest = sys.argv[1], sys.argv[2:]
    cmds = {"keygen": cmd_keygen, "id": cmd_id, "listen": cmd_listen,
            "dial": cmd_dial}
    if cmd in ("node-dial", "node-listen"):
        import pynode  # the host stack: imported only for node mode
        cmds = {"node-dial": pynode.cmd_node_dial,
                "node-listen": pynode.cmd_node_listen}
    if cmd in ("perf-client", "perf-server"):
        import pyperf  # py-libp2p's PerfService (see pyperf.py)
        cmds = {"perf-client": pyperf.cmd_perf_client,
                "perf-server": pyperf.cmd_perf_server}
    if cmd not in cmds:
        die(f"unknown command {cmd} (keygen|id|listen|dial|node-dial|"
            "node-listen|perf-client|perf-server)", 64)
    cmds[cmd](rest)


if __name__ == "__main__":
    main()

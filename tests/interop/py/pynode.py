"""pynode - node mode of pypeer.py: a full py-libp2p host.

libp2p.new_host with TCP only, one security transport (noise or tls, the
`sec_opt` map holding just that one), yamux as the only muxer (`muxer_opt`
{"/yamux/1.0.0": Yamux}), and BasicHost's default protocols (identify,
identify push, ping), plus one application protocol, /x/echo.  For
peerlock's node mode; raw-mode peerlock cannot answer it.

  pypeer.py node-dial --key FILE [--host H] --port N --peer ID
                      [--security noise|tls] --bytes N [--seed S]
                      [--timeout SEC]
  pypeer.py node-listen --key FILE [--port N] [--port-file F]
                        [--security noise|tls] [--max-time SEC]

node-dial connects to /ip4/H/tcp/N/p2p/ID, asks the remote for identify
(/ipfs/id/1.0.0, read with py-libp2p's own identify message code), pings it
once with py-libp2p's PingService, opens /x/echo, sends N bytes, closes its
write side (yamux FIN) and reads the echo to EOF.  One line on stdout:
  ok bytes=N sha256=HEX remote=ID proto=P muxer=/yamux/1.0.0 agent=A
     protocols=P1,P2,... ping_ms=N ms=N
exit 0; 3 when the remote proved another peer ID, 2 when the TCP connect
failed, 1 otherwise.

node-listen prints `listening peer=ID addr=MULTIADDR`, then one line per
event: `connected`, `identify` (what the remote answered to our identify
request, made once per connection), `stream` (one per /x/echo stream,
`ok` or `error`) and `closed`.  It runs until killed or --max-time (900 s).
"""

import hashlib
import os
import sys
import threading
import time

import multiaddr
import trio

from libp2p import new_host
from libp2p.abc import INotifee
from libp2p.custom_types import TProtocol
from libp2p.host.ping import PingService
from libp2p.identity.identify.identify import ID as IDENTIFY_ID
from libp2p.identity.identify.pb.identify_pb2 import Identify
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.utils.varint import read_length_prefixed_protobuf

import pypeer
from pypeer import (CHUNK, EXIT_CONNECT, EXIT_FAIL, EXIT_PEER_MISMATCH, Fail,
                    check_echo, die, err_text, load_key, need, num,
                    parse_args, say, send_and_receive, test_data,
                    write_port_file)

ECHO = TProtocol("/x/echo")


def causes(err, seen=None):
    """Every exception reachable from err: causes, contexts, the members of
    exception groups and of py-libp2p's MultiError (.errors)."""
    seen = set() if seen is None else seen
    todo = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(getattr(e, "exceptions", ()) or ())
        todo.extend(getattr(e, "errors", ()) or ())
        todo.append(e.__cause__)
        todo.append(e.__context__)


def dial_mismatch(err):
    """The dial failed because the remote proved another peer ID: noise's
    PeerIDMismatchesPubkey or tls's ValueError('Peer ID mismatch ...'),
    however deep py-libp2p's swarm wrapped it."""
    return any(type(e).__name__ == "PeerIDMismatchesPubkey" or
               "mismatch" in str(e).lower() for e in causes(err))


def word(s):
    """Words in our output lines carry no blanks."""
    s = "_".join(str(s).split())
    return s or "-"


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def watchdog(seconds, what):
    """Whatever trio does, the process ends after `seconds`."""
    def fire():
        time.sleep(seconds)
        die(f"error: {what}: hard timeout after {seconds}s")
    threading.Thread(target=fire, daemon=True).start()


def make_host(kp, security):
    """A py-libp2p host with one security transport and yamux only."""
    if security == "noise":
        sec = {pypeer.NOISE_ID: pypeer.NoiseTransport(
            kp, noise_privkey=pypeer.new_x25519().private_key)}
        proto = pypeer.NOISE_ID
    elif security == "tls":
        sec = {pypeer.TLS_ID: pypeer.TLSTransport(kp)}
        proto = pypeer.TLS_ID
    else:
        die(f"unknown --security {security} (noise|tls)", 64)
    host = new_host(key_pair=kp, sec_opt=sec,
                    muxer_opt={TProtocol(YAMUX_ID): Yamux})
    return proto, host


async def identify(host, peer):
    """Our own identify request (what BasicHost does in the background):
    returns the decoded Identify message."""
    stream = await host.new_stream(peer, [IDENTIFY_ID])
    try:
        with trio.fail_after(10):
            data = await read_length_prefixed_protobuf(
                stream, use_varint_format=True)
        msg = Identify()
        msg.ParseFromString(data)
        return msg
    finally:
        try:
            await stream.close()
        except Exception:
            pass


async def node_dial(args, kp, want):
    host_s = args.get("host", "127.0.0.1")
    port = num(args, "port")
    n = num(args, "bytes")
    seed = args.get("seed", "1")
    proto, host = make_host(kp, args.get("security", "noise"))
    data = test_data(n, seed)
    addr = multiaddr.Multiaddr(f"/ip4/{host_s}/tcp/{port}/p2p/{want}")
    t0 = time.monotonic()
    async with host.run(listen_addrs=[]):
        try:
            await host.connect(info_from_p2p_addr(addr))
        except Exception as e:
            if dial_mismatch(e):
                raise Fail(EXIT_PEER_MISMATCH, f"dial {addr}: {err_text(e)}")
            if any("refused" in str(c).lower() for c in causes(e)):
                raise Fail(EXIT_CONNECT, f"dial {addr}: {err_text(e)}")
            raise Fail(EXIT_FAIL, f"dial {addr}: {err_text(e)}")
        conns = host.get_network().get_connections(want)
        if not conns:
            raise Fail(EXIT_FAIL, f"connected, but no connection to {want}")
        remote = conns[0].muxed_conn.peer_id
        if remote != want:
            raise Fail(EXIT_PEER_MISMATCH,
                       f"unexpected remote peer {remote} (expected {want})")
        say(f"connected to {remote} over {proto} + {YAMUX_ID} in "
            f"{int((time.monotonic() - t0) * 1000)} ms")
        try:
            info = await identify(host, want)
        except Exception as e:
            raise Fail(EXIT_FAIL, f"identify: {err_text(e)}")
        protos = ",".join(info.protocols) or "-"
        say(f"identify from {want}: agent {info.agent_version} protocols "
            f"{protos}")
        try:
            rtt = (await PingService(host).ping(want, 1))[0]
        except Exception as e:
            raise Fail(EXIT_FAIL, f"ping: {err_text(e)}")
        say(f"ping {want}: {rtt} ms")
        try:
            stream = await host.new_stream(want, [ECHO])
        except Exception as e:
            raise Fail(EXIT_FAIL, f"open {ECHO}: {err_text(e)}")
        h = hashlib.sha256()
        got = 0

        async def send():
            for i in range(0, n, CHUNK):
                await stream.write(data[i:i + CHUNK])
            await stream.close_write()

        async def recv():
            nonlocal got
            while True:
                try:
                    b = await stream.read(CHUNK)
                except StreamEOF:
                    return
                except Exception as e:
                    raise Fail(EXIT_FAIL, f"read after {got} of {n} bytes: "
                               f"{err_text(e)}")
                if not b:
                    return
                h.update(b)
                got += len(b)

        await send_and_receive(send, recv)
        sent = check_echo(data, got, h)
        try:
            await stream.close()
        except Exception:
            pass
        ms = int((time.monotonic() - t0) * 1000)
        return (f"ok bytes={n} sha256={sent} remote={want} proto={proto} "
                f"muxer={YAMUX_ID} agent={word(info.agent_version)} "
                f"protocols={protos} ping_ms={rtt} ms={ms}")


def cmd_node_dial(argv):
    args = parse_args(argv)
    kp = load_key(need(args, "key"))
    try:
        want = ID.from_base58(need(args, "peer"))
    except Exception as e:
        die(f"bad --peer: {e}", 64)
    limit = num(args, "timeout", 60)
    watchdog(limit + 5, "node-dial")

    async def main():
        with trio.move_on_after(limit) as scope:
            return await node_dial(args, kp, want)
        if scope.cancelled_caught:
            raise Fail(EXIT_FAIL, f"timeout after {limit}s")

    try:
        line = trio.run(main)
    except Fail as f:
        tag = " (peer mismatch)" if f.code == EXIT_PEER_MISMATCH else ""
        die(f"error{tag}: {f}", f.code)
    except BaseException as e:  # noqa: BLE001 - any other end is a failure
        code = EXIT_PEER_MISMATCH if dial_mismatch(e) else EXIT_FAIL
        die(f"error: {err_text(e)}", code)
    print(line, flush=True)
    os._exit(0)


async def echo(stream):
    """Echo one /x/echo stream until the remote's FIN, then close ours."""
    peer = stream.muxed_conn.peer_id
    t0 = time.monotonic()
    total = 0
    try:
        while True:
            try:
                b = await stream.read(CHUNK)
            except StreamEOF:
                break
            if not b:
                break
            total += len(b)
            await stream.write(b)
        await stream.close_write()
    except Exception as e:
        emit(f"stream remote={peer} proto={ECHO} error "
             f"{word(f'after {total} bytes: {err_text(e)}')}")
        try:
            await stream.reset()
        except Exception:
            pass
        return
    emit(f"stream remote={peer} proto={ECHO} ok bytes={total} "
         f"ms={int((time.monotonic() - t0) * 1000)}")


class QuietEvents(INotifee):
    """A notifee that ignores every event; subclasses pick theirs."""

    async def opened_stream(self, network, stream):
        pass

    async def closed_stream(self, network, stream):
        pass

    async def connected(self, network, conn):
        pass

    async def disconnected(self, network, conn):
        pass

    async def listen(self, network, multiaddr):
        pass

    async def listen_close(self, network, multiaddr):
        pass


def bound_tcp(host):
    """The first TCP listen address of host and its port, or (None, None)."""
    for a in host.get_addrs():
        try:
            return a, int(a.value_for_protocol("tcp"))
        except Exception:
            continue
    return None, None


class Events(QuietEvents):
    """Logs connections; asks each new connection's peer for identify."""

    def __init__(self, host, proto, nursery):
        self.host = host
        self.proto = proto
        self.nursery = nursery

    async def connected(self, network, conn):
        peer = conn.muxed_conn.peer_id
        emit(f"connected remote={peer} proto={self.proto} muxer={YAMUX_ID}")
        self.nursery.start_soon(self.ask_identify, peer)

    async def ask_identify(self, peer):
        # the connection must be up for streams (BasicHost waits the same)
        await trio.sleep(0.2)
        try:
            info = await identify(self.host, peer)
        except Exception as e:
            emit(f"identify-error remote={peer} {word(err_text(e))}")
            return
        emit(f"identify remote={peer} agent={word(info.agent_version)} "
             f"protocol_version={word(info.protocol_version)} "
             f"protocols={','.join(info.protocols) or '-'}")

    async def disconnected(self, network, conn):
        emit(f"closed remote={conn.muxed_conn.peer_id}")


def cmd_node_listen(argv):
    args = parse_args(argv)
    kp = load_key(need(args, "key"))
    port = num(args, "port", 0)
    security = args.get("security", "noise")
    port_file = args.get("port-file")
    max_time = num(args, "max-time", 900)
    watchdog(max_time, "node-listen")
    proto, host = make_host(kp, security)
    me = pypeer.peer_id(kp)

    async def main():
        at = multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{port}")
        async with host.run(listen_addrs=[at]):
            async with trio.open_nursery() as nursery:
                host.get_network().register_notifee(
                    Events(host, proto, nursery))
                host.set_stream_handler(ECHO, echo)
                a, bound = bound_tcp(host)
                if bound is None:
                    die("listen: no TCP address")
                emit(f"listening peer={me} addr={a} proto={proto} "
                     f"muxer={YAMUX_ID}")
                write_port_file(port_file, bound)
                await trio.sleep_forever()

    trio.run(main)

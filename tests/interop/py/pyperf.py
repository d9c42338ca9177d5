"""pyperf - perf mode of pypeer.py: py-libp2p's own /perf/1.0.0
implementation (libp2p.perf.PerfService) on a full py-libp2p host (tcp,
noise or tls, yamux; pynode.make_host).  For peerlock's perf server and
`peerlock perf` client.

  pypeer.py perf-client --key FILE [--host H] --port N --peer ID
                        [--security noise|tls] --upload N --download N
                        [--timeout SEC]
  pypeer.py perf-server --key FILE [--port N] [--port-file F]
                        [--security noise|tls] [--max-time SEC]

perf-client runs PerfService.measure_performance to /ip4/H/tcp/N/p2p/ID
and prints its final output as one JSON line,
  {"type":"final","timeSeconds":T,"uploadBytes":U,"downloadBytes":D}
exit 0 (PerfService itself raises unless exactly D bytes came back); 1
otherwise.

perf-server serves /perf/1.0.0 with PerfService and prints `listening
peer=ID port=N`, then `connected peer=ID` and `closed peer=ID` lines, until
killed or --max-time (900 s).
"""

import json
import os

import multiaddr
import trio

from libp2p.perf import PerfService

import pypeer
from pynode import QuietEvents, bound_tcp, emit, make_host, watchdog
from pypeer import EXIT_FAIL, Fail, die, err_text, load_key, need, num, \
    parse_args, write_port_file


def cmd_perf_client(argv):
    args = parse_args(argv)
    kp = load_key(need(args, "key"))
    host_ip = args.get("host", "127.0.0.1")
    port = num(args, "port", None)
    peer = need(args, "peer")
    up = num(args, "upload", None)
    down = num(args, "download", None)
    limit = num(args, "timeout", 120)
    watchdog(limit + 5, "perf-client")
    _, host = make_host(kp, args.get("security", "noise"))
    ma = multiaddr.Multiaddr(f"/ip4/{host_ip}/tcp/{port}/p2p/{peer}")

    async def main():
        with trio.move_on_after(limit) as scope:
            async with host.run(listen_addrs=[]):
                svc = PerfService(host)
                await svc.start()
                final = None
                async for out in svc.measure_performance(ma, up, down):
                    if out["type"] == "final":
                        final = out
                return final
        if scope.cancelled_caught:
            raise Fail(EXIT_FAIL, f"timeout after {limit}s")

    try:
        final = trio.run(main)
    except Fail as f:
        die(f"error: {f}", f.code)
    except BaseException as e:  # noqa: BLE001 - any other end is a failure
        die(f"error: {err_text(e)}", EXIT_FAIL)
    if final is None:
        die("error: no final output", EXIT_FAIL)
    print(json.dumps({"type": "final",
                      "timeSeconds": final["time_seconds"],
                      "uploadBytes": final["upload_bytes"],
                      "downloadBytes": final["download_bytes"]}),
          flush=True)
    os._exit(0)


class Events(QuietEvents):
    """Connection events as lines on stdout."""

    async def connected(self, network, conn):
        emit(f"connected peer={conn.muxed_conn.peer_id}")

    async def disconnected(self, network, conn):
        emit(f"closed peer={conn.muxed_conn.peer_id}")


def cmd_perf_server(argv):
    args = parse_args(argv)
    kp = load_key(need(args, "key"))
    port = num(args, "port", 0)
    port_file = args.get("port-file")
    max_time = num(args, "max-time", 900)
    watchdog(max_time, "perf-server")
    _, host = make_host(kp, args.get("security", "noise"))
    me = pypeer.peer_id(kp)

    async def main():
        at = multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{port}")
        async with host.run(listen_addrs=[at]):
            host.get_network().register_notifee(Events())
            svc = PerfService(host)
            await svc.start()
            _, bound = bound_tcp(host)
            if bound is None:
                die("listen: no TCP address")
            emit(f"listening peer={me} port={bound}")
            write_port_file(port_file, bound)
            await trio.sleep_forever()

    trio.run(main)

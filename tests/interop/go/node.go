package main

// Node mode: a full go-libp2p host (TCP only, the chosen security
// transport, yamux, identify and ping as go-libp2p runs them by default),
// and one application protocol, /x/echo: every byte of a stream is echoed
// until the remote closes its write side, then the echo side is closed.
// These commands are for peerlock's node mode; raw-mode peerlock cannot
// answer them.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// echoProto is the application protocol of node mode.
const echoProto = protocol.ID("/x/echo")

// newHost builds a go-libp2p host with only what node mode needs.
func newHost(sk crypto.PrivKey, secName string, listen []string) (host.Host, error) {
	opts := []libp2p.Option{
		libp2p.Identity(sk),
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(true),
		libp2p.UserAgent("peerlock-interop-gopeer"),
	}
	switch secName {
	case "noise":
		opts = append(opts, libp2p.Security(noise.ID, noise.New))
	case "tls":
		opts = append(opts, libp2p.Security(libp2ptls.ID, libp2ptls.New))
	default:
		return nil, fmt.Errorf("unknown security %q (noise, tls)", secName)
	}
	if len(listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		opts = append(opts, libp2p.ListenAddrStrings(listen...))
	}
	return libp2p.New(opts...)
}

// tcpMultiaddr turns HOST:PORT into /ip4|ip6/HOST/tcp/PORT.
func tcpMultiaddr(hostport string) (ma.Multiaddr, error) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	if _, err := strconv.Atoi(p); err != nil {
		return nil, fmt.Errorf("bad port in %q", hostport)
	}
	ip := net.ParseIP(h)
	switch {
	case ip == nil:
		return ma.NewMultiaddr("/dns/" + h + "/tcp/" + p)
	case ip.To4() != nil:
		return ma.NewMultiaddr("/ip4/" + h + "/tcp/" + p)
	default:
		return ma.NewMultiaddr("/ip6/" + h + "/tcp/" + p)
	}
}

func cmdNodeDial(args []string) int {
	fs := flag.NewFlagSet("node-dial", flag.ExitOnError)
	df := addDialFlags(fs, "security protocol: noise or tls", 60)
	n := fs.Int64("bytes", 1024, "bytes to send on /x/echo and expect back")
	seed := fs.String("seed", "1", "seed of the byte stream")
	doPing := fs.Bool("ping", true, "ping the remote (/ipfs/ping/1.0.0) first")
	doIdentify := fs.Bool("identify", true, "require identify to complete")
	fs.Parse(args)
	if !df.ok() || *n < 0 || fs.NArg() != 0 {
		usage()
	}
	watchdog("node-dial", df.duration()+5*time.Second)
	res := map[string]any{"cmd": "node-dial", "addr": *df.addr, "bytes": *n}
	code := nodeDial(res, df, *n, *seed, *doPing, *doIdentify)
	emit(res)
	return code
}

func nodeDial(res map[string]any, df dialFlags, n int64, seed string, doPing, doIdentify bool) int {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), df.duration())
	defer cancel()
	var sub event.Subscription
	h, want, code := dialNode(ctx, res, "node-dial", df,
		func(h host.Host) error {
			// before the connection: identify may end at once
			var err error
			sub, err = h.EventBus().Subscribe([]any{
				new(event.EvtPeerIdentificationCompleted),
				new(event.EvtPeerIdentificationFailed)})
			return err
		})
	if code != exitOK {
		return code
	}
	defer h.Close()
	defer sub.Close()
	res["connect_ms"] = time.Since(t0).Milliseconds()

	if doIdentify {
		if f := waitIdentify(ctx, sub, want, res); f != nil {
			failJSON(res, f)
			return f.code
		}
	}
	if doPing {
		r := <-ping.Ping(ctx, h, want)
		if r.Error != nil {
			failJSON(res, fail(exitFail, "ping", "%v", r.Error))
			return exitFail
		}
		res["ping_us"] = r.RTT.Microseconds()
	}

	s, err := h.NewStream(ctx, want, echoProto)
	if err != nil {
		failJSON(res, fail(exitFail, "stream", "open %s: %v", echoProto, err))
		return exitFail
	}
	defer s.Close()
	deadline, _ := ctx.Deadline()
	s.SetDeadline(deadline)
	sum, f := sendVerify(s, s.CloseWrite, n, seed)
	if f != nil {
		failJSON(res, f)
		return f.code
	}
	res["ok"] = true
	res["sha256"] = sum
	res["ms"] = time.Since(t0).Milliseconds()
	return exitOK
}

// dialNode loads the identity, builds a host (no listen address) and
// connects it to --peer at --addr: go-libp2p's security transport checks
// that the remote proves that peer ID.  prepare, if not nil, runs on the
// host before it dials.  On success res has the remote's ID, security and
// muxer; otherwise the exit status is returned and res (or stderr, for
// usage errors) says why.
func dialNode(ctx context.Context, res map[string]any, cmd string, df dialFlags,
	prepare func(host.Host) error) (host.Host, peer.ID, int) {
	sk, self, err := df.idf.load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: %v\n", cmd, err)
		return nil, "", exitUsage
	}
	res["local_peer"] = self.String()
	res["key_type"] = keyTypeName(sk)
	want, err := peer.Decode(*df.peer)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: --peer: %v\n", cmd, err)
		return nil, "", exitUsage
	}
	maddr, err := tcpMultiaddr(*df.addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: --addr: %v\n", cmd, err)
		return nil, "", exitUsage
	}
	h, err := newHost(sk, *df.sec, nil)
	if err != nil {
		failJSON(res, fail(exitFail, "host", "%v", err))
		return nil, "", exitFail
	}
	f := func() *failure {
		if prepare != nil {
			if err := prepare(h); err != nil {
				return fail(exitFail, "host", "%v", err)
			}
		}
		if err := h.Connect(ctx, peer.AddrInfo{ID: want, Addrs: []ma.Multiaddr{maddr}}); err != nil {
			f := handshakeFailure(err)
			if f.code != exitMismatch {
				f.stage = "connect"
			}
			return f
		}
		conns := h.Network().ConnsToPeer(want)
		if len(conns) == 0 {
			return fail(exitFail, "connect", "connected, but no connection to %s", want)
		}
		st := conns[0].ConnState()
		res["remote_peer"] = conns[0].RemotePeer().String()
		res["sec"] = string(st.Security)
		res["muxer"] = string(st.StreamMultiplexer)
		if conns[0].RemotePeer() != want {
			// the security transport checks this; never trust it silently
			return fail(exitMismatch, "peer", "expected %s, remote is %s", want, conns[0].RemotePeer())
		}
		return nil
	}()
	if f != nil {
		failJSON(res, f)
		h.Close()
		return nil, "", f.code
	}
	return h, want, exitOK
}

// listenNode loads the identity and builds a host listening on --addr;
// it returns the host, its identity and the bound TCP port, or, with a
// nil host, the exit status (the reason went to stderr).
func listenNode(cmd string, lf listenFlags) (host.Host, crypto.PrivKey, peer.ID, int, int) {
	sk, self, err := lf.idf.load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: %v\n", cmd, err)
		return nil, nil, "", 0, exitUsage
	}
	maddr, err := tcpMultiaddr(*lf.addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: --addr: %v\n", cmd, err)
		return nil, nil, "", 0, exitUsage
	}
	h, err := newHost(sk, *lf.sec, []string{maddr.String()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: %v\n", cmd, err)
		return nil, nil, "", 0, exitFail
	}
	port := 0
	for _, a := range h.Network().ListenAddresses() {
		if v, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			port, _ = strconv.Atoi(v)
		}
	}
	return h, sk, self, port, exitOK
}

// waitIdentify waits for go-libp2p's identify round with peer p to end.
func waitIdentify(ctx context.Context, sub event.Subscription, p peer.ID, res map[string]any) *failure {
	for {
		select {
		case <-ctx.Done():
			return fail(exitFail, "identify", "no identify result: %v", ctx.Err())
		case e, ok := <-sub.Out():
			if !ok {
				return fail(exitFail, "identify", "event bus closed")
			}
			switch ev := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				if ev.Peer != p {
					continue
				}
				res["identify"] = map[string]any{
					"agent": ev.AgentVersion, "protocol_version": ev.ProtocolVersion,
					"protocols": ev.Protocols, "listen_addrs": fmt.Sprint(ev.ListenAddrs),
					"observed_addr": fmt.Sprint(ev.ObservedAddr)}
				return nil
			case event.EvtPeerIdentificationFailed:
				if ev.Peer != p {
					continue
				}
				return fail(exitFail, "identify", "%v", ev.Reason)
			}
		}
	}
}

func cmdNodeListen(args []string) int {
	fs := flag.NewFlagSet("node-listen", flag.ExitOnError)
	lf := addListenFlags(fs, "security protocol: noise or tls", "seconds allowed per stream", 60, 900)
	count := fs.Int("count", 0, "exit after this many /x/echo streams (0: never)")
	fs.Parse(args)
	if fs.NArg() != 0 || *count < 0 {
		usage()
	}
	h, sk, self, port, code := listenNode("node-listen", lf)
	if h == nil {
		return code
	}
	defer h.Close()

	t := newTally(*count)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			st := c.ConnState()
			t.log(map[string]any{"event": "connected", "remote_peer": c.RemotePeer().String(),
				"from": c.RemoteMultiaddr().String(), "sec": string(st.Security),
				"muxer": string(st.StreamMultiplexer)})
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			t.log(map[string]any{"event": "disconnected", "remote_peer": c.RemotePeer().String()})
		},
	})
	per := lf.perConn()
	h.SetStreamHandler(echoProto, func(s network.Stream) {
		t0 := time.Now()
		res := map[string]any{"event": "stream", "proto": string(echoProto),
			"remote_peer": s.Conn().RemotePeer().String()}
		s.SetDeadline(time.Now().Add(per))
		m, err := io.CopyBuffer(s, s, make([]byte, chunk))
		res["bytes"] = m
		if err == nil {
			err = s.CloseWrite()
		}
		if err != nil {
			st := "transfer"
			if isTimeout(err) {
				st = "timeout"
			}
			failJSON(res, fail(exitClosed, st, "after %d echoed bytes: %v", m, err))
			s.Reset()
		} else {
			res["ok"] = true
			res["ms"] = time.Since(t0).Milliseconds()
			s.Close()
		}
		t.result(res)
	})

	t.log(map[string]any{"event": "listening", "peer": self.String(),
		"key_type": keyTypeName(sk), "addrs": fmt.Sprint(h.Network().ListenAddresses()),
		"port": port, "protocols": h.Mux().Protocols()})
	if !lf.writePort("node-listen", port) {
		return exitFail
	}
	t.giveUpAfter(lf, "streams")
	<-t.done
	// Let the dialer read the last echoed bytes and close: closing the
	// host at once would reset a connection whose yamux frames are still
	// on their way.
	for i := 0; i < 50 && len(h.Network().Conns()) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	return t.status()
}

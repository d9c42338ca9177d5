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
	"sync"
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
	secName := fs.String("sec", "noise", "security protocol: noise or tls")
	idf := addIdentityFlags(fs)
	addr := fs.String("addr", "", "HOST:PORT to dial")
	peerStr := fs.String("peer", "", "expected remote peer ID")
	n := fs.Int64("bytes", 1024, "bytes to send on /x/echo and expect back")
	seed := fs.String("seed", "1", "seed of the byte stream")
	doPing := fs.Bool("ping", true, "ping the remote (/ipfs/ping/1.0.0) first")
	doIdentify := fs.Bool("identify", true, "require identify to complete")
	timeout := fs.Float64("timeout", 60, "seconds for the whole run")
	fs.Parse(args)
	if *addr == "" || *peerStr == "" || *n < 0 || fs.NArg() != 0 {
		usage()
	}
	d := time.Duration(*timeout * float64(time.Second))
	watchdog("node-dial", d+5*time.Second)
	res := map[string]any{"cmd": "node-dial", "addr": *addr, "bytes": *n}
	code := nodeDial(res, idf, *secName, *addr, *peerStr, *n, *seed, *doPing, *doIdentify, d)
	emit(res)
	return code
}

func nodeDial(res map[string]any, idf identityFlags, secName, addr, peerStr string,
	n int64, seed string, doPing, doIdentify bool, d time.Duration) int {
	t0 := time.Now()
	sk, self, err := idf.load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer node-dial: %v\n", err)
		return exitUsage
	}
	res["local_peer"] = self.String()
	res["key_type"] = keyTypeName(sk)
	want, err := peer.Decode(peerStr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer node-dial: --peer: %v\n", err)
		return exitUsage
	}
	maddr, err := tcpMultiaddr(addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer node-dial: --addr: %v\n", err)
		return exitUsage
	}
	h, err := newHost(sk, secName, nil)
	if err != nil {
		failJSON(res, fail(exitFail, "host", "%v", err))
		return exitFail
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()

	sub, err := h.EventBus().Subscribe([]any{
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtPeerIdentificationFailed)})
	if err != nil {
		failJSON(res, fail(exitFail, "host", "%v", err))
		return exitFail
	}
	defer sub.Close()

	if err := h.Connect(ctx, peer.AddrInfo{ID: want, Addrs: []ma.Multiaddr{maddr}}); err != nil {
		f := handshakeFailure(err)
		if f.code != exitMismatch {
			f.stage = "connect"
		}
		failJSON(res, f)
		return f.code
	}
	conns := h.Network().ConnsToPeer(want)
	if len(conns) == 0 {
		failJSON(res, fail(exitFail, "connect", "connected, but no connection to %s", want))
		return exitFail
	}
	st := conns[0].ConnState()
	res["remote_peer"] = conns[0].RemotePeer().String()
	res["sec"] = string(st.Security)
	res["muxer"] = string(st.StreamMultiplexer)
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
	secName := fs.String("sec", "noise", "security protocol: noise or tls")
	idf := addIdentityFlags(fs)
	addr := fs.String("addr", "127.0.0.1:0", "HOST:PORT to listen on (port 0: any)")
	portFile := fs.String("port-file", "", "write the bound port here (atomically)")
	count := fs.Int("count", 0, "exit after this many /x/echo streams (0: never)")
	timeout := fs.Float64("timeout", 60, "seconds allowed per stream")
	maxTime := fs.Float64("max-time", 900, "seconds before the listener gives up (hard timeout)")
	fs.Parse(args)
	if fs.NArg() != 0 || *count < 0 {
		usage()
	}
	sk, self, err := idf.load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer node-listen: %v\n", err)
		return exitUsage
	}
	maddr, err := tcpMultiaddr(*addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer node-listen: --addr: %v\n", err)
		return exitUsage
	}
	h, err := newHost(sk, *secName, []string{maddr.String()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer node-listen: %v\n", err)
		return exitFail
	}
	defer h.Close()

	var mu sync.Mutex // serialises emit and the counters
	handled, failed := 0, 0
	done := make(chan struct{})
	logf := func(v map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		emit(v)
	}
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			st := c.ConnState()
			logf(map[string]any{"event": "connected", "remote_peer": c.RemotePeer().String(),
				"from": c.RemoteMultiaddr().String(), "sec": string(st.Security),
				"muxer": string(st.StreamMultiplexer)})
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			logf(map[string]any{"event": "disconnected", "remote_peer": c.RemotePeer().String()})
		},
	})
	per := time.Duration(*timeout * float64(time.Second))
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
		mu.Lock()
		defer mu.Unlock()
		emit(res)
		handled++
		if res["ok"] != true {
			failed++
		}
		if *count > 0 && handled == *count {
			close(done)
		}
	})

	var port int
	for _, a := range h.Network().ListenAddresses() {
		if v, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			port, _ = strconv.Atoi(v)
		}
	}
	logf(map[string]any{"event": "listening", "peer": self.String(),
		"key_type": keyTypeName(sk), "addrs": fmt.Sprint(h.Network().ListenAddresses()),
		"port": port, "protocols": h.Mux().Protocols()})
	if *portFile != "" {
		if err := writeAtomic(*portFile, fmt.Sprintf("%d\n", port)); err != nil {
			fmt.Fprintf(os.Stderr, "gopeer node-listen: %v\n", err)
			return exitFail
		}
	}
	time.AfterFunc(time.Duration(*maxTime*float64(time.Second)), func() {
		mu.Lock()
		emit(map[string]any{"event": "exit", "ok": false, "stage": "timeout",
			"error": fmt.Sprintf("max-time %gs reached after %d streams", *maxTime, handled)})
		os.Exit(exitFail)
	})
	<-done
	// Let the dialer read the last echoed bytes and close: closing the
	// host at once would reset a connection whose yamux frames are still
	// on their way.
	for i := 0; i < 50 && len(h.Network().Conns()) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

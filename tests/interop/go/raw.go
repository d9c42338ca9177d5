package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/sec"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	mss "github.com/multiformats/go-multistream"
)

// securityTransports builds go-libp2p's own security transports for a
// comma-separated list of names (noise, tls), in that order, with no
// muxers (so noise sends no muxer extension and TLS offers only the
// "libp2p" ALPN token).
func securityTransports(names string, sk crypto.PrivKey) ([]sec.SecureTransport, error) {
	var out []sec.SecureTransport
	for _, n := range strings.Split(names, ",") {
		var st sec.SecureTransport
		var err error
		switch n {
		case "noise":
			st, err = noise.New(noise.ID, sk, nil)
		case "tls":
			st, err = libp2ptls.New(libp2ptls.ID, sk, nil)
		default:
			return nil, fmt.Errorf("unknown security %q (noise, tls)", n)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func ids(sts []sec.SecureTransport) []protocol.ID {
	var out []protocol.ID
	for _, st := range sts {
		out = append(out, st.ID())
	}
	return out
}

// handshakeFailure classifies an error of SecureOutbound/SecureInbound.
func handshakeFailure(err error) *failure {
	var mm sec.ErrPeerIDMismatch
	if errors.As(err, &mm) {
		return &failure{code: exitMismatch, stage: "peer", err: err}
	}
	if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return &failure{code: exitFail, stage: "timeout", err: err}
	}
	return &failure{code: exitFail, stage: "handshake", err: err}
}

// failJSON adds a failure's fields to a result.
func failJSON(res map[string]any, f *failure) {
	res["ok"] = false
	res["stage"] = f.stage
	res["error"] = f.err.Error()
}

func cmdDial(args []string) int {
	fs := flag.NewFlagSet("dial", flag.ExitOnError)
	df := addDialFlags(fs, "security protocol: noise or tls (or noise,tls: propose in order)", 60)
	n := fs.Int64("bytes", 1024, "bytes to send and expect back")
	seed := fs.String("seed", "1", "seed of the byte stream")
	fs.Parse(args)
	if !df.ok() || *n < 0 || fs.NArg() != 0 {
		usage()
	}
	watchdog("dial", df.duration()+5*time.Second)

	res := map[string]any{"cmd": "dial", "addr": *df.addr, "bytes": *n}
	code := dial(res, df, *n, *seed)
	emit(res)
	return code
}

func dial(res map[string]any, df dialFlags, n int64, seed string) int {
	t0 := time.Now()
	sk, self, err := df.idf.load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer dial: %v\n", err)
		return exitUsage
	}
	res["local_peer"] = self.String()
	res["key_type"] = keyTypeName(sk)
	want, err := peer.Decode(*df.peer)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer dial: --peer: %v\n", err)
		return exitUsage
	}
	sts, err := securityTransports(*df.sec, sk)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer dial: %v\n", err)
		return exitUsage
	}

	ctx, cancel := context.WithTimeout(context.Background(), df.duration())
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", *df.addr)
	if err != nil {
		failJSON(res, fail(exitConnect, "connect", "%v", err))
		return exitConnect
	}
	raw := c.(*net.TCPConn)
	defer raw.Close()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)

	// multistream-select, as go-libp2p's upgrader does it for an
	// outbound connection (upgrader.go negotiateSecurity: SelectOneOf).
	proto, err := mss.SelectOneOf(ids(sts), raw)
	if err != nil {
		f := fail(exitFail, "multistream", "%v", err)
		if isTimeout(err) {
			f.stage = "timeout"
		}
		failJSON(res, f)
		return f.code
	}
	res["sec"] = string(proto)
	var st sec.SecureTransport
	for _, s := range sts {
		if s.ID() == proto {
			st = s
		}
	}
	sconn, err := st.SecureOutbound(ctx, raw, want)
	if err != nil {
		f := handshakeFailure(err)
		failJSON(res, f)
		return f.code
	}
	defer sconn.Close()
	res["remote_peer"] = sconn.RemotePeer().String()
	if sconn.RemotePeer() != want {
		// SecureOutbound checks this itself; never trust that silently.
		f := fail(exitMismatch, "peer", "expected %s, remote is %s", want, sconn.RemotePeer())
		failJSON(res, f)
		return f.code
	}
	sconn.SetDeadline(deadline)
	th := time.Now()
	res["handshake_ms"] = th.Sub(t0).Milliseconds()

	sum, f := sendAndVerify(sconn, raw, n, seed)
	if f != nil {
		failJSON(res, f)
		return f.code
	}
	res["ok"] = true
	res["sha256"] = sum
	res["ms"] = time.Since(t0).Milliseconds()
	return exitOK
}

func cmdListen(args []string) int {
	fs := flag.NewFlagSet("listen", flag.ExitOnError)
	lf := addListenFlags(fs, "security protocols accepted: noise, tls or noise,tls",
		"seconds allowed per connection", 60, 900)
	expect := fs.String("expect-peer", "", "accept only this remote peer ID")
	count := fs.Int("count", 0, "exit after this many connections (0: never)")
	fs.Parse(args)
	if fs.NArg() != 0 || *count < 0 {
		usage()
	}
	sk, self, err := lf.idf.load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer listen: %v\n", err)
		return exitUsage
	}
	var want peer.ID
	if *expect != "" {
		if want, err = peer.Decode(*expect); err != nil {
			fmt.Fprintf(os.Stderr, "gopeer listen: --expect-peer: %v\n", err)
			return exitUsage
		}
	}
	sts, err := securityTransports(*lf.sec, sk)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer listen: %v\n", err)
		return exitUsage
	}
	// go-libp2p's upgrader answers inbound connections with a
	// MultistreamMuxer holding one handler per security transport.
	msm := mss.NewMultistreamMuxer[protocol.ID]()
	byID := map[protocol.ID]sec.SecureTransport{}
	for _, st := range sts {
		msm.AddHandler(st.ID(), nil)
		byID[st.ID()] = st
	}

	l, err := net.Listen("tcp", *lf.addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer listen: %v\n", err)
		return exitFail
	}
	port := l.Addr().(*net.TCPAddr).Port
	emit(map[string]any{"event": "listening", "addr": l.Addr().String(),
		"port": port, "peer": self.String(), "key_type": keyTypeName(sk),
		"sec": ids(sts)})
	if !lf.writePort("listen", port) {
		return exitFail
	}

	t := newTally(*count)
	t.giveUpAfter(lf, "connections")
	per := lf.perConn()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				fmt.Fprintf(os.Stderr, "gopeer listen: accept: %v\n", err)
				t.exit(map[string]any{"event": "exit", "ok": false, "stage": "accept", "error": err.Error()})
			}
			go func() {
				t.result(serveRaw(c.(*net.TCPConn), msm, byID, want, per))
			}()
		}
	}()
	<-t.done
	return t.status()
}

// serveRaw secures one inbound connection and echoes everything until the
// remote ends its stream, then ends ours the same way.
func serveRaw(raw *net.TCPConn, msm *mss.MultistreamMuxer[protocol.ID],
	byID map[protocol.ID]sec.SecureTransport, want peer.ID, per time.Duration) map[string]any {
	t0 := time.Now()
	res := map[string]any{"event": "conn", "from": raw.RemoteAddr().String()}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), per)
	defer cancel()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)

	proto, _, err := msm.Negotiate(raw)
	if err != nil {
		failJSON(res, fail(exitFail, "multistream", "%v", err))
		return res
	}
	res["sec"] = string(proto)
	sconn, err := byID[proto].SecureInbound(ctx, raw, want)
	if err != nil {
		failJSON(res, handshakeFailure(err))
		return res
	}
	defer sconn.Close()
	res["remote_peer"] = sconn.RemotePeer().String()
	res["remote_key_type"] = sconn.RemotePublicKey().Type().String()
	if want != "" && sconn.RemotePeer() != want {
		failJSON(res, fail(exitMismatch, "peer", "expected %s, remote is %s", want, sconn.RemotePeer()))
		return res
	}
	sconn.SetDeadline(deadline)
	n, err := io.CopyBuffer(sconn, sconn, make([]byte, chunk))
	res["bytes"] = n
	if err != nil {
		st := "transfer"
		if isTimeout(err) {
			st = "timeout"
		}
		failJSON(res, fail(exitClosed, st, "after %d echoed bytes: %v", n, err))
		return res
	}
	if err := closeWrite(sconn, raw); err != nil {
		failJSON(res, fail(exitClosed, "transfer", "half-close after %d bytes: %v", n, err))
		return res
	}
	// Give the remote a moment to close its side, so that nothing is
	// left unread when we close (which would reset the connection).
	raw.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, raw)
	res["ok"] = true
	res["ms"] = time.Since(t0).Milliseconds()
	return res
}

func writeAtomic(path, s string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

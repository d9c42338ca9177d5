package main

// Perf: /perf/1.0.0 (libp2p/specs perf/perf.md) on a full go-libp2p host
// (the node-mode host of node.go: tcp, noise or tls, yamux).  go-libp2p
// v0.52.0 ships no perf package, so the protocol handler is written here
// from the spec:
//
//	client: opens a /perf/1.0.0 stream, writes the number of bytes it
//	        wants back as a u64 big-endian, then the bytes it uploads,
//	        then closes its write side, and reads until the end of the
//	        stream.
//	server: reads the u64, then everything until the client's end of
//	        stream, then writes that many bytes and closes its side.
//
//	gopeer perf-server --sec noise|tls (--key FILE | --key-type T)
//	                   [--addr HOST:PORT] [--port-file F] [--timeout SEC]
//	                   [--max-time SEC]
//	gopeer perf-client --sec noise|tls (--key FILE | --key-type T)
//	                   --addr HOST:PORT --peer ID --upload N --download N
//	                   [--timeout SEC]
//
// perf-server prints `listening peer=ID port=N`, then per stream
// `run peer=ID sent=N received=N` (received: upload bytes after the
// 8-byte request) or `error peer=ID ...`.  perf-client dials with the
// expected peer ID (go-libp2p's security transport refuses another: exit
// 3) and prints one JSON line,
//
//	{"type":"final","timeSeconds":T,"uploadBytes":U,"downloadBytes":D,
//	 "uploadSeconds":T1,"downloadSeconds":T2,...}
//
// with the bytes it really wrote and read; exit 0 only when they are
// exactly --upload and --download, 1 otherwise.

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

const perfProto = protocol.ID("/perf/1.0.0")

// perfZeros is what both sides send: the spec leaves the content open.
var perfZeros = make([]byte, chunk)

// writeN writes n bytes of zeros to w.
func writeN(w io.Writer, n uint64) (uint64, error) {
	var done uint64
	for done < n {
		m := min(n-done, uint64(len(perfZeros)))
		k, err := w.Write(perfZeros[:m])
		done += uint64(k)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// drain reads r to its end and counts the bytes.
func drain(r io.Reader) (uint64, error) {
	buf := make([]byte, chunk)
	var got uint64
	for {
		k, err := r.Read(buf)
		got += uint64(k)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

func cmdPerfServer(args []string) int {
	fs := flag.NewFlagSet("perf-server", flag.ExitOnError)
	lf := addListenFlags(fs, "security protocol: noise or tls", "seconds allowed per perf stream", 600, 1800)
	fs.Parse(args)
	if fs.NArg() != 0 {
		usage()
	}
	h, _, self, port, code := listenNode("perf-server", lf)
	if h == nil {
		return code
	}
	defer h.Close()
	var mu sync.Mutex // one line at a time on stdout
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	per := lf.perConn()
	h.SetStreamHandler(perfProto, func(s network.Stream) {
		remote := s.Conn().RemotePeer()
		s.SetDeadline(time.Now().Add(per))
		var req [8]byte
		if _, err := io.ReadFull(s, req[:]); err != nil {
			say("error peer=%s stage=request error=%q", remote, err.Error())
			s.Reset()
			return
		}
		want := binary.BigEndian.Uint64(req[:])
		got, err := drain(s)
		if err != nil {
			say("error peer=%s stage=upload received=%d error=%q", remote, got, err.Error())
			s.Reset()
			return
		}
		sent, err := writeN(s, want)
		if err == nil {
			err = s.CloseWrite()
		}
		if err != nil {
			say("error peer=%s stage=download sent=%d of=%d error=%q", remote, sent, want, err.Error())
			s.Reset()
			return
		}
		s.Close()
		say("run peer=%s sent=%d received=%d", remote, sent, got)
	})
	say("listening peer=%s port=%d", self, port)
	if !lf.writePort("perf-server", port) {
		return exitFail
	}
	time.Sleep(lf.maxDuration())
	mu.Lock()
	fmt.Fprintf(os.Stderr, "gopeer perf-server: max-time %gs reached\n", *lf.maxTime)
	return exitFail
}

func cmdPerfClient(args []string) int {
	fs := flag.NewFlagSet("perf-client", flag.ExitOnError)
	df := addDialFlags(fs, "security protocol: noise or tls", 600)
	up := fs.Uint64("upload", 0, "bytes to upload")
	down := fs.Uint64("download", 0, "bytes to download")
	fs.Parse(args)
	if !df.ok() || fs.NArg() != 0 {
		usage()
	}
	watchdog("perf-client", df.duration()+5*time.Second)
	res := map[string]any{"type": "final", "uploadBytes": uint64(0), "downloadBytes": uint64(0)}
	code := perfClient(res, df, *up, *down)
	emit(res)
	if code != exitOK {
		fmt.Fprintf(os.Stderr, "gopeer perf-client: %v: %v\n", res["stage"], res["error"])
	}
	return code
}

func perfClient(res map[string]any, df dialFlags, up, down uint64) int {
	ctx, cancel := context.WithTimeout(context.Background(), df.duration())
	defer cancel()
	h, want, code := dialNode(ctx, res, "perf-client", df, nil)
	if code != exitOK {
		return code
	}
	defer h.Close()
	s, err := h.NewStream(ctx, want, perfProto)
	if err != nil {
		failJSON(res, fail(exitFail, "stream", "open %s: %v", perfProto, err))
		return exitFail
	}
	defer s.Close()
	deadline, _ := ctx.Deadline()
	s.SetDeadline(deadline)

	t0 := time.Now()
	var req [8]byte
	binary.BigEndian.PutUint64(req[:], down)
	_, err = s.Write(req[:])
	var sent uint64
	if err == nil {
		sent, err = writeN(s, up)
	}
	if err == nil {
		err = s.CloseWrite()
	}
	res["uploadBytes"] = sent
	if err != nil {
		failJSON(res, fail(exitClosed, "upload", "after %d of %d bytes: %v", sent, up, err))
		return exitClosed
	}
	t1 := time.Now()
	got, err := drain(s)
	t2 := time.Now()
	res["downloadBytes"] = got
	res["timeSeconds"] = t2.Sub(t0).Seconds()
	res["uploadSeconds"] = t1.Sub(t0).Seconds()
	res["downloadSeconds"] = t2.Sub(t1).Seconds()
	if err != nil {
		st := "download"
		if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
			st = "timeout"
		}
		failJSON(res, fail(exitClosed, st, "after %d of %d bytes: %v", got, down, err))
		return exitClosed
	}
	if got != down {
		failJSON(res, fail(exitFail, "verify", "downloaded %d bytes, asked for %d", got, down))
		return exitFail
	}
	res["ok"] = true
	return exitOK
}

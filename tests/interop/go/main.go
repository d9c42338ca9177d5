// gopeer - the go-libp2p peer of peerlock's interop matrix
// (tests/interop/matrix.sh, tests/interop/cells-go.sh).
//
// Raw mode speaks exactly what peerlock speaks on a bare TCP connection:
// one multistream-select 1.0.0 round for the security protocol
// (go-multistream, as go-libp2p's upgrader does it), then go-libp2p's own
// /noise (p2p/security/noise) or /tls/1.0.0 (p2p/security/tls) transport
// through SecureOutbound/SecureInbound, then raw bytes with no muxer.
//
//	gopeer keygen --type ed25519|secp256k1|ecdsa|rsa --out FILE
//	gopeer id --key FILE
//	gopeer dial --sec noise|tls (--key FILE | --key-type T) --addr HOST:PORT
//	            --peer ID --bytes N [--seed S] [--timeout SEC]
//	gopeer listen --sec noise|tls (--key FILE | --key-type T) [--addr HOST:PORT]
//	              [--port-file F] [--expect-peer ID] [--count K] [--timeout SEC]
//	gopeer node-dial / node-listen   (node mode: full host, see node.go)
//	gopeer perf-client / perf-server (/perf/1.0.0 on that host, perf.go)
//
// keygen and id print the peer ID alone on stdout.  dial prints one JSON
// line on stdout; listen prints one JSON line per connection (and one
// "listening" line first).  Diagnostics go to stderr.
//
// Exit status: 0 only on verified success; 1 any other failure (timeout,
// data mismatch, handshake error); 2 connect failed; 3 the remote proved
// another peer ID than the expected one; 4 the remote closed or reset
// before the whole echo arrived; 64 usage.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

const (
	exitOK       = 0
	exitFail     = 1
	exitConnect  = 2
	exitMismatch = 3
	exitClosed   = 4
	exitUsage    = 64
)

// failure is an error with the exit status and the stage it happened in.
type failure struct {
	code  int
	stage string // connect, multistream, handshake, peer, transfer, verify, timeout
	err   error
}

func (f *failure) Error() string { return f.stage + ": " + f.err.Error() }

func fail(code int, stage string, format string, args ...any) *failure {
	return &failure{code: code, stage: stage, err: fmt.Errorf(format, args...)}
}

// emit prints one JSON object on one line of stdout.
func emit(v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer: json: %v\n", err)
		return
	}
	os.Stdout.Write(append(b, '\n'))
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  gopeer keygen --type ed25519|secp256k1|ecdsa|rsa --out FILE
  gopeer id --key FILE
  gopeer dial --sec noise|tls (--key FILE | --key-type T) --addr HOST:PORT
              --peer ID --bytes N [--seed S] [--timeout SEC]
  gopeer listen --sec noise|tls (--key FILE | --key-type T) [--addr HOST:PORT]
                [--port-file F] [--expect-peer ID] [--count K] [--timeout SEC]
  gopeer node-listen --sec noise|tls (--key FILE | --key-type T) [--addr HOST:PORT]
                [--port-file F] [--count K] [--timeout SEC]
  gopeer node-dial --sec noise|tls (--key FILE | --key-type T) --addr HOST:PORT
              --peer ID --bytes N [--seed S] [--timeout SEC]
  gopeer perf-server --sec noise|tls (--key FILE | --key-type T) [--addr HOST:PORT]
                [--port-file F] [--timeout SEC] [--max-time SEC]
  gopeer perf-client --sec noise|tls (--key FILE | --key-type T) --addr HOST:PORT
              --peer ID --upload N --download N [--timeout SEC]
`)
	os.Exit(exitUsage)
}

// watchdog ends the process if the command has not finished in time, so
// that no stuck goroutine (a read without deadline inside a library) can
// keep a test waiting: the hard timeout.
func watchdog(cmd string, d time.Duration) {
	time.AfterFunc(d, func() {
		emit(map[string]any{"cmd": cmd, "ok": false, "stage": "timeout",
			"error": fmt.Sprintf("hard timeout after %s", d)})
		os.Exit(exitFail)
	})
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var code int
	switch os.Args[1] {
	case "keygen":
		code = cmdKeygen(os.Args[2:])
	case "id":
		code = cmdID(os.Args[2:])
	case "dial":
		code = cmdDial(os.Args[2:])
	case "listen":
		code = cmdListen(os.Args[2:])
	case "node-dial":
		code = cmdNodeDial(os.Args[2:])
	case "node-listen":
		code = cmdNodeListen(os.Args[2:])
	case "perf-server":
		code = cmdPerfServer(os.Args[2:])
	case "perf-client":
		code = cmdPerfClient(os.Args[2:])
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "gopeer: unknown command %q\n", os.Args[1])
		usage()
	}
	os.Exit(code)
}

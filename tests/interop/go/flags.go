package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

// dialFlags are the flags of every command that dials: the security
// protocol, the identity, the address, the peer ID it must prove, and the
// time allowed for the whole run.
type dialFlags struct {
	sec, addr, peer *string
	idf             identityFlags
	timeout         *float64
}

func addDialFlags(fs *flag.FlagSet, secHelp string, timeout float64) dialFlags {
	return dialFlags{
		sec:     fs.String("sec", "noise", secHelp),
		idf:     addIdentityFlags(fs),
		addr:    fs.String("addr", "", "HOST:PORT to dial"),
		peer:    fs.String("peer", "", "expected remote peer ID"),
		timeout: fs.Float64("timeout", timeout, "seconds for the whole run"),
	}
}

// ok says whether the flags that have no default were given.
func (f dialFlags) ok() bool { return *f.addr != "" && *f.peer != "" }

func (f dialFlags) duration() time.Duration {
	return time.Duration(*f.timeout * float64(time.Second))
}

// listenFlags are the flags of every command that listens.
type listenFlags struct {
	sec, addr, portFile *string
	idf                 identityFlags
	timeout, maxTime    *float64
}

func addListenFlags(fs *flag.FlagSet, secHelp, timeoutHelp string, timeout, maxTime float64) listenFlags {
	return listenFlags{
		sec:      fs.String("sec", "noise", secHelp),
		idf:      addIdentityFlags(fs),
		addr:     fs.String("addr", "127.0.0.1:0", "HOST:PORT to listen on (port 0: any)"),
		portFile: fs.String("port-file", "", "write the bound port here (atomically)"),
		timeout:  fs.Float64("timeout", timeout, timeoutHelp),
		maxTime:  fs.Float64("max-time", maxTime, "seconds before the listener gives up (hard timeout)"),
	}
}

func (f listenFlags) perConn() time.Duration {
	return time.Duration(*f.timeout * float64(time.Second))
}

func (f listenFlags) maxDuration() time.Duration {
	return time.Duration(*f.maxTime * float64(time.Second))
}

// writePort writes the bound port to --port-file, if one was given; false
// (and the reason on stderr) if that failed.
func (f listenFlags) writePort(cmd string, port int) bool {
	if *f.portFile == "" {
		return true
	}
	if err := writeAtomic(*f.portFile, fmt.Sprintf("%d\n", port)); err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: %v\n", cmd, err)
		return false
	}
	return true
}

// tally is a listener's stdout and its count of results: one JSON line at
// a time, how many results and how many failed, and done closed after
// count results (0: never).
type tally struct {
	mu              sync.Mutex
	handled, failed int
	count           int
	done            chan struct{}
}

func newTally(count int) *tally {
	return &tally{count: count, done: make(chan struct{})}
}

// log prints one line.
func (t *tally) log(v map[string]any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	emit(v)
}

// result prints one result and counts it.
func (t *tally) result(res map[string]any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	emit(res)
	t.handled++
	if res["ok"] != true {
		t.failed++
	}
	if t.count > 0 && t.handled == t.count {
		close(t.done)
	}
}

// exit prints a last line and ends the process (exit 1).
func (t *tally) exit(v map[string]any) {
	t.mu.Lock()
	emit(v)
	os.Exit(exitFail)
}

// giveUpAfter ends the process after --max-time, naming how many
// results (of the kind what) it had.
func (t *tally) giveUpAfter(lf listenFlags, what string) {
	time.AfterFunc(lf.maxDuration(), func() {
		t.mu.Lock()
		emit(map[string]any{"event": "exit", "ok": false, "stage": "timeout",
			"error": fmt.Sprintf("max-time %gs reached after %d %s", *lf.maxTime, t.handled, what)})
		os.Exit(exitFail)
	})
}

// status is the exit status once done: 1 if any result failed.  It keeps
// the lock, so that nothing is printed after it.
func (t *tally) status() int {
	t.mu.Lock()
	if t.failed > 0 {
		return exitFail
	}
	return exitOK
}

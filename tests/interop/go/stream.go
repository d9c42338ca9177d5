package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
)

const chunk = 64 * 1024

// source is the deterministic byte stream a dialer sends: the AES-256-CTR
// keystream (zero IV) under the key sha256("gopeer:" || seed).
type source struct {
	ctr   cipher.Stream
	zeros [chunk]byte
}

func newSource(seed string) *source {
	k := sha256.Sum256([]byte("gopeer:" + seed))
	b, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err)
	}
	return &source{ctr: cipher.NewCTR(b, make([]byte, aes.BlockSize))}
}

// next fills p with the next len(p) bytes of the stream.
func (s *source) next(p []byte) {
	for len(p) > 0 {
		n := min(len(p), chunk)
		s.ctr.XORKeyStream(p[:n], s.zeros[:n])
		p = p[n:]
	}
}

// halfCloser is what a secured connection offers to end its write side:
// tls.Conn's CloseWrite sends close_notify (and leaves the TCP stream
// open), noise has none (the end of the stream is the TCP FIN).
type halfCloser interface{ CloseWrite() error }

// closeWrite ends the write side of a secured connection over raw: the
// security protocol's own end of stream if it has one, then a TCP FIN.
func closeWrite(sconn net.Conn, raw *net.TCPConn) error {
	if hc, ok := sconn.(halfCloser); ok {
		if err := hc.CloseWrite(); err != nil {
			return fmt.Errorf("close_notify: %w", err)
		}
	}
	return raw.CloseWrite()
}

// sendAndVerify writes n bytes of the seed's stream to sconn, half-closes,
// and checks that the same n bytes come back followed by the end of the
// stream.  It returns the sha256 of what was sent (and received).
func sendAndVerify(sconn net.Conn, raw *net.TCPConn, n int64, seed string) (string, *failure) {
	return sendVerify(sconn, func() error { return closeWrite(sconn, raw) }, n, seed)
}

// sendVerify is sendAndVerify on any stream, half-closed by closeW.
func sendVerify(sconn io.ReadWriter, closeW func() error, n int64, seed string) (string, *failure) {
	werr := make(chan error, 1)
	go func() {
		src := newSource(seed)
		buf := make([]byte, chunk)
		for left := n; left > 0; {
			m := min(left, chunk)
			src.next(buf[:m])
			if _, err := sconn.Write(buf[:m]); err != nil {
				werr <- fmt.Errorf("write after %d bytes: %w", n-left, err)
				return
			}
			left -= m
		}
		werr <- closeW()
	}()

	want := newSource(seed)
	var h hash.Hash = sha256.New()
	buf := make([]byte, chunk)
	exp := make([]byte, chunk)
	var got int64
	for {
		m, err := sconn.Read(buf)
		if m > 0 {
			if got+int64(m) > n {
				return "", fail(exitFail, "verify", "echo longer than the %d bytes sent", n)
			}
			want.next(exp[:m])
			if !bytes.Equal(buf[:m], exp[:m]) {
				return "", fail(exitFail, "verify", "echo differs from what was sent within bytes %d..%d", got, got+int64(m))
			}
			h.Write(buf[:m])
			got += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if isTimeout(err) {
				return "", fail(exitFail, "timeout", "after %d of %d echoed bytes: %v", got, n, err)
			}
			return "", fail(exitClosed, "transfer", "after %d of %d echoed bytes: %v", got, n, err)
		}
	}
	if got != n {
		return "", fail(exitClosed, "transfer", "end of stream after %d of %d echoed bytes", got, n)
	}
	if err := <-werr; err != nil {
		return "", fail(exitClosed, "transfer", "%v", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

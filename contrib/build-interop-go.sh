#!/bin/sh
# build-interop-go.sh - build the Go peers of the interop matrix:
# tests/interop/go (gopeer: go-libp2p's noise and tls upgrades on raw
# TCP, a full host for node mode, and a /perf/1.0.0 client and server on
# that host) for tests/interop/cells-go.sh.
#   contrib/build-interop-go.sh               install Go if missing, build
#   contrib/build-interop-go.sh --no-install  build only if Go is usable
# Everything lands outside the clone, under $PEERLOCK_INTEROP_CACHE
# (default /var/cache/peerlock-interop):
#   go/mod/        GOMODCACHE (module downloads, checked against go.sum)
#   go/build/      GOCACHE (compiled packages)
#   go/path/       GOPATH
#   bin/gopeer     the binary the cells run
#   gopeer.stamp   hash of go.mod, go.sum, the .go sources and `go version`
# A second run with an unchanged peer and toolchain is a no-op (stamp
# match, no go command run at all).  Prints the binary's path on the last
# line of stdout; exit 0 on success, 1 when the build fails, 77 when no
# usable Go is there (missing, or older than go-libp2p needs).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${PEERLOCK_INTEROP_CACHE:-/var/cache/peerlock-interop}
GOMIN=1.26	# the go directive of go-libp2p v0.52.0's go.mod
install=1
[ "${1:-}" = "--no-install" ] && install=0

say() { echo "build-interop-go: $*" >&2; }

. "$here/contrib/go-toolchain.sh"
go_toolchain "$GOMIN" "go-libp2p v0.52.0"
mkdir -p "$cache/bin"

# build_go NAME SRCDIR [PKG]: build the main package PKG (default: the
# module's root) of the module in SRCDIR as bin/NAME, unless
# NAME.stamp says the same sources were built with the same go.
build_go() {
	name=$1 src=$2 pkg=${3:-.}
	bin="$cache/bin/$name"
	stamp="$cache/$name.stamp"
	want=$( (cd "$src" && cat go.mod go.sum && find . -name '*.go' |
	    LC_ALL=C sort | xargs cat && go env GOVERSION) | sha256sum |
	    cut -d' ' -f1)
	if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		say "$name up to date ($want)"
		return 0
	fi
	# One go build at a time per cache (make check may start two
	# matrices; other Go peers share GOCACHE): lock, then look again.
	exec 9>"$cache/go.lock"
	flock 9
	if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		say "$name up to date ($want), built meanwhile"
		exec 9>&-
		return 0
	fi
	say "go build in $src (go $gv)"
	t0=$(date +%s)
	(cd "$src" && go build -o "$bin.tmp" "$pkg") >&2
	mv "$bin.tmp" "$bin"
	echo "$want" >"$stamp"
	exec 9>&-
	say "built $bin in $(($(date +%s) - t0)) s"
}

build_go gopeer "$here/tests/interop/go"
# Kubo goes here, the same way: its own module directory with a pinned
# go.mod/go.sum (tests/interop/kubo, requiring github.com/ipfs/kubo at one
# exact version), built by
#   build_go ipfs "$here/tests/interop/kubo" github.com/ipfs/kubo/cmd/ipfs
# into bin/ipfs with its own stamp, sharing GOMODCACHE and GOCACHE.

echo "$cache/bin/gopeer"

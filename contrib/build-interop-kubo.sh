#!/bin/sh
# build-interop-kubo.sh - build the pinned Kubo (go-ipfs) release that
# tests/interop/cells-kubo.sh runs against peerlock's node mode.
#   contrib/build-interop-kubo.sh               install Go if missing, build
#   contrib/build-interop-kubo.sh --no-install  build only if Go is usable
# The pin is tests/interop/kubo/go.mod and go.sum (a module whose only
# tool is github.com/ipfs/kubo/cmd/ipfs at $KUBO_VERSION, with Kubo's own
# exclude block, so the build list is exactly the release's); modules come
# from the Go module proxy, checked against that go.sum.  Everything lands outside
# the clone, under $PEERLOCK_INTEROP_CACHE (default
# /var/cache/peerlock-interop), sharing the Go caches of
# contrib/build-interop-go.sh:
#   go/mod/        GOMODCACHE
#   go/build/      GOCACHE
#   go/path/       GOPATH
#   kubo/ipfs      the binary the cells run
#   kubo/stamp     hash of go.mod, go.sum and `go version` of that binary
# A second run with an unchanged pin and toolchain is a no-op (no go
# command run at all).  Prints the binary's path on the last line of
# stdout; exit 0 on success, 1 when the build fails, 77 when no usable Go
# is there (missing, or older than Kubo needs).
set -eu

KUBO_VERSION=v0.43.0	# must match tests/interop/kubo/go.mod (checked)
GOMIN=1.26.5		# the go directive of Kubo v0.43.0's go.mod

here=$(cd "$(dirname "$0")/.." && pwd)
mod="$here/tests/interop/kubo"
cache=${PEERLOCK_INTEROP_CACHE:-/var/cache/peerlock-interop}
install=1
[ "${1:-}" = "--no-install" ] && install=0

say() { echo "build-interop-kubo: $*" >&2; }

. "$here/contrib/go-toolchain.sh"
go_toolchain "$GOMIN" "Kubo $KUBO_VERSION"
mkdir -p "$cache/kubo"
bin="$cache/kubo/ipfs"
stamp="$cache/kubo/stamp"
if ! grep -q "github.com/ipfs/kubo $KUBO_VERSION" "$mod/go.mod"; then
	say "$mod/go.mod does not pin github.com/ipfs/kubo $KUBO_VERSION"
	exit 1
fi
want=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -d' ' -f1)
want="$KUBO_VERSION go$gv $want"

if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	say "ipfs $KUBO_VERSION up to date"
	echo "$bin"
	exit 0
fi

# One Go build at a time per cache (the go cells build there too).
exec 9>"$cache/go.lock"
flock 9
# Someone else may have built it while we waited for the lock.
if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "$bin"
	exit 0
fi
say "go build github.com/ipfs/kubo/cmd/ipfs $KUBO_VERSION (go $gv)" \
    "in $mod; minutes when cold"
t0=$(date +%s)
rm -f "$stamp"
(cd "$mod" && go build -o "$bin.tmp" github.com/ipfs/kubo/cmd/ipfs) >&2
mv "$bin.tmp" "$bin"
got=$("$bin" version --number 2>/dev/null || true)
if [ "v$got" != "$KUBO_VERSION" ]; then
	say "built $bin reports version '$got', want $KUBO_VERSION"
	exit 1
fi
echo "$want" >"$stamp"
say "built $bin ($KUBO_VERSION) in $(($(date +%s) - t0)) s"
echo "$bin"

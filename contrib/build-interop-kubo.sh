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

# ver_ge A B: version A >= version B (dotted numbers).
ver_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}

# The official tarball's place first, then Debian's golang only if there
# is no go at all.
[ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"
if [ $install -eq 1 ] && ! command -v go >/dev/null 2>&1; then
	say "go not found: apt-get install golang"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	    golang ca-certificates >/dev/null
fi
if ! command -v go >/dev/null 2>&1; then
	say "go not found (contrib/install-deps.sh --interop installs it)"
	exit 77
fi
# Never let go fetch another toolchain: a too old go fails here, clearly.
export GOTOOLCHAIN=local
gv=$(go env GOVERSION | sed 's/^go//')
if ! ver_ge "$gv" "$GOMIN"; then
	say "go $gv is older than $GOMIN, which Kubo $KUBO_VERSION needs" \
	    "(Debian 12's golang is 1.19: install Go $GOMIN or newer into" \
	    "/usr/local/go)"
	exit 77
fi

mkdir -p "$cache/kubo" "$cache/go"
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" \
    GOPATH="$cache/go/path" GOFLAGS="-mod=readonly -trimpath"
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

#!/bin/sh
# build-bench-ghostunnel.sh - build the pinned ghostunnel release that
# contrib/bench/run.sh compares against (system ghostunnel-pair).
#   contrib/build-bench-ghostunnel.sh               install Go if missing, build
#   contrib/build-bench-ghostunnel.sh --no-install  build only if Go is usable
# The pin is contrib/bench/ghostunnel/go.mod and go.sum (a module whose only
# tool is github.com/ghostunnel/ghostunnel at $GHOSTUNNEL_VERSION, so the
# build list is the release's own); modules come from the Go module proxy
# (GOPROXY as configured on the machine), checked against that go.sum.
# Everything lands outside the clone, under $PEERLOCK_INTEROP_CACHE (default
# /var/cache/peerlock-interop), sharing the Go caches of
# contrib/build-interop-go.sh and build-interop-kubo.sh:
#   go/mod/                      GOMODCACHE
#   go/build/                    GOCACHE
#   go/path/                     GOPATH
#   ghostunnel/VERSION/ghostunnel  the binary run.sh runs
#   ghostunnel/VERSION/stamp       hash of go.mod, go.sum and `go version`
# A second run with an unchanged pin and toolchain is a no-op (no go
# command run at all).  Prints the binary's path on the last line of
# stdout; exit 0 on success, 1 when the build fails, 77 when no usable Go
# is there (missing, or older than ghostunnel needs).
set -eu

GHOSTUNNEL_VERSION=v1.8.4	# must match contrib/bench/ghostunnel/go.mod (checked)
GOMIN=1.24	# the go directive of that module (`tool` needs 1.24)

here=$(cd "$(dirname "$0")/.." && pwd)
mod="$here/contrib/bench/ghostunnel"
cache=${PEERLOCK_INTEROP_CACHE:-/var/cache/peerlock-interop}
install=1
[ "${1:-}" = "--no-install" ] && install=0

say() { echo "build-bench-ghostunnel: $*" >&2; }

. "$here/contrib/go-toolchain.sh"
go_toolchain "$GOMIN" "ghostunnel $GHOSTUNNEL_VERSION"
dir="$cache/ghostunnel/$GHOSTUNNEL_VERSION"
mkdir -p "$dir"
bin="$dir/ghostunnel"
stamp="$dir/stamp"
if ! grep -q "github.com/ghostunnel/ghostunnel $GHOSTUNNEL_VERSION" \
    "$mod/go.mod"; then
	say "$mod/go.mod does not pin github.com/ghostunnel/ghostunnel" \
	    "$GHOSTUNNEL_VERSION"
	exit 1
fi
want=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -d' ' -f1)
want="$GHOSTUNNEL_VERSION go$gv $want"

if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	say "ghostunnel $GHOSTUNNEL_VERSION up to date"
	echo "$bin"
	exit 0
fi

# One Go build at a time per cache (the interop builds use it too).
exec 9>"$cache/go.lock"
flock 9
# Someone else may have built it while we waited for the lock.
if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "$bin"
	exit 0
fi
say "go build github.com/ghostunnel/ghostunnel $GHOSTUNNEL_VERSION" \
    "(go $gv) in $mod; minutes when cold"
t0=$(date +%s)
rm -f "$stamp"
(cd "$mod" && go build -o "$bin.tmp" github.com/ghostunnel/ghostunnel) >&2
mv "$bin.tmp" "$bin"
# The module version is stamped into the binary by the go command.
got=$(go version -m "$bin" |
    awk '$1 == "mod" && $2 == "github.com/ghostunnel/ghostunnel" { print $3 }')
if [ "$got" != "$GHOSTUNNEL_VERSION" ]; then
	say "built $bin reports module version '$got', want $GHOSTUNNEL_VERSION"
	exit 1
fi
echo "$want" >"$stamp"
say "built $bin ($GHOSTUNNEL_VERSION) in $(($(date +%s) - t0)) s"
echo "$bin"

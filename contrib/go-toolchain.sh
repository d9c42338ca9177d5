# shellcheck shell=sh disable=SC2154
# go-toolchain.sh - sourced by the scripts that build Go programs outside
# the clone (build-interop-go.sh, build-interop-kubo.sh,
# build-bench-ghostunnel.sh): find a usable go and point its caches at
# $cache/go.  The caller defines say(), $install (1: apt-get install
# Debian's golang when there is no go) and $cache.
#
# go_toolchain GOMIN WHAT: go >= GOMIN on PATH (/usr/local/go first), the
# toolchain pinned to it (GOTOOLCHAIN=local), $gv its version, GOMODCACHE,
# GOCACHE and GOPATH under $cache/go; exits 77, saying why, when there is
# no go or it is older than GOMIN, which WHAT needs.

# ver_ge A B: version A >= version B (dotted numbers).
ver_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}

go_toolchain() {
	# The official tarball's place first (it is where the machine
	# images put Go), then Debian's golang only if there is no go.
	[ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"
	if [ "$install" -eq 1 ] && ! command -v go >/dev/null 2>&1; then
		say "go not found: apt-get install golang"
		SUDO=""
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		    golang ca-certificates >/dev/null
	fi
	if ! command -v go >/dev/null 2>&1; then
		say "go not found (contrib/install-deps.sh --interop installs" \
		    "Debian's golang)"
		exit 77
	fi
	# Never let go fetch another toolchain: a too old go fails here.
	export GOTOOLCHAIN=local
	gv=$(go env GOVERSION | sed 's/^go//')
	if ! ver_ge "$gv" "$1"; then
		say "go $gv is older than $1, which $2 needs (Debian 12's" \
		    "golang is 1.19: install Go $1 or newer from go.dev into" \
		    "/usr/local/go)"
		exit 77
	fi
	mkdir -p "$cache/go"
	export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" \
	    GOPATH="$cache/go/path" GOFLAGS="-mod=readonly -trimpath"
}

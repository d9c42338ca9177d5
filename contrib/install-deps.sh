#!/bin/sh
# install-deps.sh - install everything peerlock needs to build and test on
# Debian 12, as root.  Safe to re-run: only missing packages are fetched.
#   contrib/install-deps.sh          build + unit/e2e test dependencies
#   contrib/install-deps.sh --interop  also the npm packages for js interop
#                                      and the go/rust/py interop peers
#   contrib/install-deps.sh --lint     also the tools of contrib/lint-docker.sh
set -eu

PKGS="build-essential autoconf automake libtool pkg-config
libevent-dev libsodium-dev libprotobuf-c-dev protobuf-c-compiler
libwolfssl-dev check libinih-dev libjansson-dev
ca-certificates python3 procps psmisc iproute2 netcat-openbsd curl
valgrind tcpdump iptables util-linux"

# apt_need PKG...: install the packages that are not installed yet.
apt_need() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "install-deps: apt-get install$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing \
	    >/dev/null
}

# shellcheck disable=SC2086
apt_need $PKGS

here=$(cd "$(dirname "$0")/.." && pwd)

# Debian's libwolfssl 5.5.4 aborts on the critical libp2p extension sent
# by js/rust peers (docs/tls.md): build a private static one from Debian's
# source package (a few minutes, once) unless the system's is fine or
# PEERLOCK_WOLFSSL=system.  configure picks it up by itself.
if [ "${PEERLOCK_WOLFSSL:-}" != system ] &&
    ! grep -q "define WOLFSSL_NO_ASN_STRICT" \
    /usr/include/wolfssl/options.h 2>/dev/null; then
	"$here/contrib/build-wolfssl.sh"
fi

# tlslite-ng + pyca/cryptography venv for tests/e2e/tls-conformance.sh,
# under /var/cache/peerlock-interop (a no-op when unchanged; the test
# builds it itself when missing and skips only if that fails).
"$here/contrib/build-tlsprobe-py.sh" >/dev/null ||
    echo "install-deps: tlsprobe venv not built (tls-conformance.sh will say why)"

if [ "${1:-}" = "--interop" ]; then
	if ! command -v node >/dev/null 2>&1; then
		echo "install-deps: node not found; installing Debian nodejs/npm"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
	fi
	if [ ! -d "$here/tests/interop/node_modules" ] ||
	    [ "$here/tests/interop/package-lock.json" -nt "$here/tests/interop/node_modules" ]; then
		echo "install-deps: npm ci in tests/interop"
		(cd "$here/tests/interop" && npm ci --no-audit --no-fund --loglevel=error)
		touch "$here/tests/interop/node_modules"
	fi
	# Go (Debian's golang only if no go is there) and gopeer, cached under
	# /var/cache/peerlock-interop: a no-op when nothing changed.  Without
	# a usable Go the go cells of the matrix skip, a failed build fails them.
	"$here/contrib/build-interop-go.sh" >/dev/null ||
	    echo "install-deps: gopeer not built (tests/interop/cells-go.sh will say why)"
	# rust-libp2p and py-libp2p peers for cells-rust.sh / cells-py.sh,
	# built under /var/cache/peerlock-interop (no-ops when unchanged).  A
	# missing toolchain (rustc >= 1.88, CPython 3.11) only makes those
	# cells SKIP, so it does not stop the rest of the install.
	"$here/contrib/build-interop-rust.sh" >/dev/null ||
	    echo "install-deps: rust interop peer not built (see above)"
	"$here/contrib/build-interop-py.sh" >/dev/null ||
	    echo "install-deps: py interop peer not built (see above)"
	"$here/contrib/build-interop-kubo.sh" >/dev/null ||
	    echo "install-deps: Kubo not built (tests/interop/cells-kubo.sh will say why)"
fi

if [ "${1:-}" = "--lint" ]; then
	apt_need shellcheck python3-yaml groff-base
fi

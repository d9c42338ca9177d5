#!/bin/sh
# build-interop-py.sh - install py-libp2p (tests/interop/py/requirements.txt,
# every package pinned with its sha256) into a venv for
# tests/interop/cells-py.sh.
#   contrib/build-interop-py.sh               install missing packages, build
#   contrib/build-interop-py.sh --no-install  only if python3 and venv work
# The venv lives outside the clone: $PEERLOCK_INTEROP_CACHE/py-venv (default
# /var/cache/peerlock-interop/py-venv), with a stamp (py-venv/.stamp: hash
# of requirements.txt and the interpreter's version) so that a second run
# with unchanged requirements is a no-op.
# Debian packages: python3-venv, python3-dev, libgmp-dev and build-essential
# (fastecdsa, a py-libp2p dependency, has no wheel and links GMP).
# Prints the venv's python on the last line of stdout; exit 0 on success.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
req="$here/tests/interop/py/requirements.txt"
cache=${PEERLOCK_INTEROP_CACHE:-/var/cache/peerlock-interop}
venv="$cache/py-venv"
PYTHON=${PYTHON:-python3}
install=1
[ "${1:-}" = "--no-install" ] && install=0

say() { echo "build-interop-py: $*" >&2; }

# apt_need PKG...: install the Debian packages that are not installed yet.
apt_need() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "apt-get install$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing \
	    >/dev/null
}

if [ $install -eq 1 ] && command -v dpkg-query >/dev/null 2>&1; then
	apt_need python3 python3-venv python3-dev libgmp-dev build-essential
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
	say "$PYTHON not found"
	exit 1
fi
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$pyver" != 3.11 ]; then
	# py-libp2p needs >= 3.10, but the hashes in requirements.txt are
	# those of the CPython 3.11 wheels.
	say "$PYTHON is $pyver; the pinned wheels are CPython 3.11's" \
	    "(set PYTHON=python3.11)"
	exit 1
fi

want=$( (cat "$req"; "$PYTHON" -VV; uname -m) | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$venv/.stamp" ] &&
    [ "$(cat "$venv/.stamp")" = "$want" ]; then
	say "py-venv up to date ($want)"
	echo "$venv/bin/python"
	exit 0
fi

t0=$(date +%s)
mkdir -p "$cache"
# The stamp is written last: an interrupted install is redone from scratch.
rm -rf "$venv"
"$PYTHON" -m venv "$venv"
say "pip install --require-hashes -r $req into $venv"
# --no-deps: the file is the complete closure; --require-hashes: every
# downloaded file must match its pinned sha256.
"$venv/bin/pip" install --quiet --no-deps --require-hashes -r "$req" >&2
"$venv/bin/python" -c 'import libp2p.security.noise.transport
import libp2p.security.tls.transport' >&2
echo "$want" >"$venv/.stamp"
say "installed in $(($(date +%s) - t0)) s"
echo "$venv/bin/python"

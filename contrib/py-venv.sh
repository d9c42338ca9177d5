#!/bin/sh
# py-venv.sh - build a pinned Python venv outside the clone, the one way
# both Python venvs of the project are made (build-interop-py.sh for
# py-libp2p, build-tlsprobe-py.sh for the TLS conformance probes).
#
#   contrib/py-venv.sh [--no-install] NAME REQ CHECK PIPOPTS [APT_PKG...]
#
# NAME     the venv: $PEERLOCK_INTEROP_CACHE/NAME (default cache
#          /var/cache/peerlock-interop)
# REQ      a requirements file that is the complete closure, every file
#          pinned with its sha256 (pip --no-deps --require-hashes)
# CHECK    Python code run in the venv after the install (imports)
# PIPOPTS  extra pip install options ("" for none, e.g. --only-binary=:all:)
# APT_PKG  Debian packages installed first when missing (not with
#          --no-install)
# A stamp (hash of REQ, the interpreter and the machine) makes a second
# run a no-op; it is written last, so an interrupted install is redone,
# and one builder at a time holds NAME.lock (make -j check).  The pinned
# wheels are CPython 3.11's.  Prints the venv's python on the last line
# of stdout; exit 0 on success.
set -eu

install=1
[ "${1:-}" = "--no-install" ] && { install=0; shift; }
[ $# -ge 4 ] || { echo "usage: py-venv.sh [--no-install] NAME REQ CHECK PIPOPTS [APT_PKG...]" >&2; exit 64; }
name=$1 req=$2 check=$3 pipopts=$4
shift 4
cache=${PEERLOCK_INTEROP_CACHE:-/var/cache/peerlock-interop}
venv="$cache/$name"
PYTHON=${PYTHON:-python3}

say() { echo "py-venv ($name): $*" >&2; }

if [ $install -eq 1 ] && [ $# -gt 0 ] &&
    command -v dpkg-query >/dev/null 2>&1; then
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "apt-get install$missing"
		SUDO=""
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		$SUDO apt-get update -qq
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		    $missing >/dev/null
	fi
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
	say "$PYTHON not found"
	exit 1
fi
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$pyver" != 3.11 ]; then
	say "$PYTHON is $pyver; the pinned wheels are CPython 3.11's" \
	    "(set PYTHON=python3.11)"
	exit 1
fi

want=$( (cat "$req"; "$PYTHON" -VV; uname -m) | sha256sum | cut -d' ' -f1)
uptodate() {
	[ -x "$venv/bin/python" ] && [ -f "$venv/.stamp" ] &&
	    [ "$(cat "$venv/.stamp")" = "$want" ]
}
if uptodate; then
	echo "$venv/bin/python"
	exit 0
fi
t0=$(date +%s)
mkdir -p "$cache"
exec 9>"$cache/$name.lock"
command -v flock >/dev/null 2>&1 && flock 9
if uptodate; then
	echo "$venv/bin/python"
	exit 0
fi
rm -rf "$venv"
"$PYTHON" -m venv "$venv"
say "pip install --require-hashes -r $req into $venv"
# shellcheck disable=SC2086
"$venv/bin/pip" install --quiet --no-deps $pipopts --require-hashes \
    -r "$req" >&2
"$venv/bin/python" -c "$check" >&2
echo "$want" >"$venv/.stamp"
say "installed in $(($(date +%s) - t0)) s"
echo "$venv/bin/python"

#!/bin/sh
# build-tlsprobe-py.sh - install tlslite-ng and pyca/cryptography
# (tests/tools/tlsprobe-requirements.txt, every file pinned with its
# sha256) into a small venv for tests/e2e/tls-conformance.sh, the RFC 8446
# conformance probes (docs/tls.md "Conformance probes").
#   contrib/build-tlsprobe-py.sh               install missing packages, build
#   contrib/build-tlsprobe-py.sh --no-install  no apt-get (python3 and venv
#                                              must be there)
# The venv lives outside the clone: $PEERLOCK_INTEROP_CACHE/tlsprobe-venv
# (default /var/cache/peerlock-interop/tlsprobe-venv), with a stamp (hash
# of the requirements and the interpreter) so that a second run with
# unchanged requirements is a no-op.  Only wheels, nothing is compiled.
# Debian packages: python3-venv.
# Prints the venv's python on the last line of stdout; exit 0 on success.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
req="$here/tests/tools/tlsprobe-requirements.txt"
cache=${PEERLOCK_INTEROP_CACHE:-/var/cache/peerlock-interop}
venv="$cache/tlsprobe-venv"
PYTHON=${PYTHON:-python3}
install=1
[ "${1:-}" = "--no-install" ] && install=0

say() { echo "build-tlsprobe-py: $*" >&2; }

if [ $install -eq 1 ] && command -v dpkg-query >/dev/null 2>&1 &&
    ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null |
    grep -q "ok installed"; then
	say "apt-get install python3-venv"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	    python3-venv >/dev/null
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
	say "$PYTHON not found"
	exit 1
fi
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$pyver" != 3.11 ]; then
	# cffi's pinned wheel is CPython 3.11's
	say "$PYTHON is $pyver; the pinned wheels are CPython 3.11's" \
	    "(set PYTHON=python3.11)"
	exit 1
fi

want=$( (cat "$req"; "$PYTHON" -VV; uname -m) | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$venv/.stamp" ] &&
    [ "$(cat "$venv/.stamp")" = "$want" ]; then
	echo "$venv/bin/python"
	exit 0
fi

t0=$(date +%s)
mkdir -p "$cache"
# One builder at a time (make -j check); the stamp is written last, so an
# interrupted install is redone from scratch.
exec 9>"$cache/tlsprobe-venv.lock"
command -v flock >/dev/null 2>&1 && flock 9
if [ -x "$venv/bin/python" ] && [ -f "$venv/.stamp" ] &&
    [ "$(cat "$venv/.stamp")" = "$want" ]; then
	echo "$venv/bin/python"
	exit 0
fi
rm -rf "$venv"
"$PYTHON" -m venv "$venv"
say "pip install --require-hashes -r $req into $venv"
# --no-deps: the file is the complete closure; --require-hashes: every
# downloaded file must match its pinned sha256; wheels only
"$venv/bin/pip" install --quiet --no-deps --only-binary=:all: \
    --require-hashes -r "$req" >&2
"$venv/bin/python" -c 'import tlslite.api, cryptography.x509' >&2
echo "$want" >"$venv/.stamp"
say "installed in $(($(date +%s) - t0)) s"
echo "$venv/bin/python"

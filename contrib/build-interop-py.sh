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
# The work is contrib/py-venv.sh's.
# Prints the venv's python on the last line of stdout; exit 0 on success.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
opt=""
[ "${1:-}" = "--no-install" ] && opt=--no-install
# shellcheck disable=SC2086
exec "$here/contrib/py-venv.sh" $opt py-venv \
    "$here/tests/interop/py/requirements.txt" \
    'import libp2p.security.noise.transport
import libp2p.security.tls.transport' "" \
    python3 python3-venv python3-dev libgmp-dev build-essential

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
# Debian packages: python3-venv.  The work is contrib/py-venv.sh's.
# Prints the venv's python on the last line of stdout; exit 0 on success.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
opt=""
[ "${1:-}" = "--no-install" ] && opt=--no-install
# shellcheck disable=SC2086
exec "$here/contrib/py-venv.sh" $opt tlsprobe-venv \
    "$here/tests/tools/tlsprobe-requirements.txt" \
    'import tlslite.api, cryptography.x509' --only-binary=:all: python3-venv

#!/bin/sh
# cells-py.sh - interop cells against py-libp2p (pypeer.py, tests/interop/py).
# Raw mode: py-libp2p's own SecurityMultistream with its noise or TLS
# transport on a bare TCP connection, then echo.  Node mode (pynode.py): a
# full py-libp2p host (tcp, noise or tls, yamux, identify, ping) opening and
# serving /x/echo.  Perf (pyperf.py): py-libp2p's PerfService as the
# client of peerlock's perf server and as the server of `peerlock perf`.
# Prints one line per cell:
#   CELL py noise|tls impl->peerlock|peerlock->impl raw|node|perf TYPE PASS|FAIL|SKIP DETAIL
# and exits 0 (tests/interop/lib-cells.sh has the details).
# Gets PEERLOCK, top_srcdir and top_builddir like interop.sh.  PYPEER_PYTHON
# names a python with py-libp2p; otherwise contrib/build-interop-py.sh
# --no-install provides the venv (a no-op when unchanged) and every cell
# is SKIP if it cannot.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
IMPL=py
IMPL_TYPES="ed25519 secp256k1 rsa"
# py-libp2p 0.8.1 has ECDSA keys (libp2p/crypto/ecc.py) but no ECDSA entry
# in its key deserializers (libp2p/crypto/serialization.py), so it cannot
# load an ECDSA key file nor verify an ECDSA peer: docs/interop.md.
IMPL_SKIP_TYPES="ecdsa:py-libp2p_0.8.1_has_no_ECDSA_key_deserializer"
# shellcheck source=tests/interop/lib-cells.sh
. "$here/lib-cells.sh"

if [ -z "${PYPEER_PYTHON:-}" ]; then
	PYPEER_PYTHON=$("$top_srcdir/contrib/build-interop-py.sh" --no-install |
	    tail -n 1) || PYPEER_PYTHON=""
fi
if [ -z "$PYPEER_PYTHON" ] || [ ! -x "$PYPEER_PYTHON" ]; then
	skip_all "py-libp2p venv missing (contrib/build-interop-py.sh: needs CPython 3.11)"
fi
PYPEER="$here/py/pypeer.py"

peer_keygen() {
	"$PYPEER_PYTHON" "$PYPEER" keygen --type "$1" --out "$2"
}

peer_listen() {
	"$PYPEER_PYTHON" "$PYPEER" listen --key "$1" --port 0 --port-file "$2" \
	    --security "$4" --expect-peer "$5" 2>"$3" &
}

peer_node_listen() {
	"$PYPEER_PYTHON" "$PYPEER" node-listen --key "$1" --port 0 \
	    --port-file "$2" --security "$5" >"$3" 2>"$4" &
}

peer_node_dial() {
	timeout "$T" "$PYPEER_PYTHON" "$PYPEER" node-dial --key "$1" \
	    --host 127.0.0.1 --port "$2" --peer "$3" --bytes "$4" \
	    --seed "$4$3" --security "$5" --timeout 80
}

peer_perf_server() {
	"$PYPEER_PYTHON" "$PYPEER" perf-server --key "$1" --port 0 \
	    --port-file "$2" --security "$5" >"$3" 2>"$4" &
}

peer_perf_client() {
	timeout "$T" "$PYPEER_PYTHON" "$PYPEER" perf-client --key "$1" \
	    --host 127.0.0.1 --port "$2" --peer "$3" --upload "$4" \
	    --download "$5" --security "$6" --timeout 80
}

peer_dial() {
	timeout "$T" "$PYPEER_PYTHON" "$PYPEER" dial --key "$1" --host 127.0.0.1 \
	    --port "$2" --peer "$3" --bytes "$4" --seed "$4$3" --security "$5" \
	    --timeout 80
}

cells_main

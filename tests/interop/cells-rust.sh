#!/bin/sh
# cells-rust.sh - interop cells against rust-libp2p (rspeer,
# tests/interop/rust).  Raw mode: multistream-select + libp2p-noise /
# libp2p-tls on a bare TCP connection, then echo.  Node mode (node.rs): a
# full Swarm (tcp, noise or tls, yamux, identify, ping, libp2p-stream's
# /x/echo).  Perf (perf.rs): rust-libp2p's libp2p-perf crate (0.3.0, on
# its libp2p 0.53 swarm) as the client of peerlock's perf server and as
# the server of `peerlock perf`.  Prints one line per cell:
#   CELL rust noise|tls impl->peerlock|peerlock->impl raw|node|perf TYPE PASS|FAIL|SKIP DETAIL
# and exits 0 (tests/interop/lib-cells.sh has the details).
# Gets PEERLOCK, top_srcdir and top_builddir like interop.sh.  RSPEER names
# a prebuilt rspeer; otherwise contrib/build-interop-rust.sh --no-install
# builds it (a no-op when unchanged) and every cell is SKIP if it cannot.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
IMPL=rust
IMPL_TYPES="ed25519 secp256k1 ecdsa rsa"
# libp2p-stream 0.5.0-alpha hands inbound streams to the application through
# a channel of one slot and resets any stream that arrives while the slot
# is full (src/shared.rs:63 and :85-88; docs/interop.md): streams that
# peerlock opens at the same instant are mostly reset.  The forward's
# tunnels therefore run one after the other (still over one session).
IMPL_NODE_CONCURRENT=1
# shellcheck source=tests/interop/lib-cells.sh
. "$here/lib-cells.sh"

if [ -z "${RSPEER:-}" ]; then
	RSPEER=$("$top_srcdir/contrib/build-interop-rust.sh" --no-install |
	    tail -n 1) || RSPEER=""
fi
if [ -z "$RSPEER" ] || [ ! -x "$RSPEER" ]; then
	skip_all "rspeer not built (contrib/build-interop-rust.sh: needs cargo >= 1.88)"
fi
command -v openssl >/dev/null 2>&1 ||
    skip_all "openssl not found (makes the RSA keys; contrib/build-interop-rust.sh)"

peer_keygen() {
	if [ "$1" = rsa ]; then
		# rust-libp2p cannot generate RSA keys: openssl makes a PKCS#1
		# RSAPrivateKey, which rspeer wraps in the PrivateKey protobuf.
		openssl genrsa 2048 2>/dev/null |
		    openssl rsa -traditional -outform DER -out "$2.pkcs1" \
		    2>/dev/null || return 1
		"$RSPEER" keygen --type rsa --pkcs1 "$2.pkcs1" --out "$2"
	else
		"$RSPEER" keygen --type "$1" --out "$2"
	fi
}

peer_listen() {
	"$RSPEER" listen --key "$1" --port 0 --port-file "$2" --security "$4" \
	    --expect-peer "$5" 2>"$3" &
}

peer_node_listen() {
	"$RSPEER" node-listen --key "$1" --port 0 --port-file "$2" \
	    --security "$5" >"$3" 2>"$4" &
}

peer_node_dial() {
	timeout "$T" "$RSPEER" node-dial --key "$1" --host 127.0.0.1 \
	    --port "$2" --peer "$3" --bytes "$4" --seed "$4$3" --security "$5" \
	    --timeout 80
}

peer_perf_server() {
	"$RSPEER" perf-server --key "$1" --port 0 --port-file "$2" \
	    --security "$5" >"$3" 2>"$4" &
}

peer_perf_client() {
	timeout "$T" "$RSPEER" perf-client --key "$1" --host 127.0.0.1 \
	    --port "$2" --peer "$3" --upload "$4" --download "$5" \
	    --security "$6" --timeout 80
}

peer_dial() {
	timeout "$T" "$RSPEER" dial --key "$1" --host 127.0.0.1 --port "$2" \
	    --peer "$3" --bytes "$4" --seed "$4$3" --security "$5" --timeout 80
}

cells_main

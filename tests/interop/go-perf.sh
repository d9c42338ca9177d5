#!/bin/sh
# go-perf.sh - the go-libp2p perf cells, run by cells-go.sh (not named
# cells-*.sh: matrix.sh counts them as part of cells-go.sh's go cells).
# gopeer's perf-client / perf-server (tests/interop/go/perf.go: /perf/1.0.0
# written from the spec on a go-libp2p v0.52.0 host, tcp + noise|tls +
# yamux) against peerlock's perf server (`perf = on`) and `peerlock perf`,
# with lib-cells.sh's perf_pair (which has the checks).  Prints
#   CELL go noise|tls go->peerlock|peerlock->go perf ed25519 PASS|FAIL|SKIP DETAIL
# and exits 0.  GOPEER names the gopeer binary (cells-go.sh built it);
# CELLS_SECURITY, CELLS_WRONG_PEER and KEEP_TMP work as in lib-cells.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
IMPL=go
IMPL_TYPES=""		# the raw cells are cells-go.sh's own
CELLS_MODES=perf
# shellcheck source=tests/interop/lib-cells.sh
. "$here/lib-cells.sh"
# cells-go.sh's direction names
dir_in() { echo "go->peerlock"; }
dir_out() { echo "peerlock->go"; }

peer_keygen() {
	"$GOPEER" keygen --type "$1" --out "$2"
}

peer_perf_server() {
	"$GOPEER" perf-server --sec "$5" --key "$1" --port-file "$2" \
	    >"$3" 2>"$4" &
}

peer_perf_client() {
	timeout "$T" "$GOPEER" perf-client --sec "$6" --key "$1" \
	    --addr "127.0.0.1:$2" --peer "$3" --upload "$4" --download "$5" \
	    --timeout 80
}

[ -x "${GOPEER:-}" ] || skip_all "no gopeer (GOPEER=${GOPEER:-unset})"
cells_main

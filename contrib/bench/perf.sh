#!/bin/sh
# perf.sh - libp2p perf (/perf/1.0.0) throughput over loopback, one
# session each: peerlock <-> peerlock, and peerlock against rust-libp2p's
# libp2p-perf and py-libp2p's PerfService in both roles, plus each
# implementation against itself as the baseline.  docs/benchmarks.md
# ("The libp2p perf protocol") has the figures and how to read them.
#
#   contrib/bench/perf.sh [--size BYTES] [--py-size BYTES] [--runs N]
#                         [--security noise|tls]
#
# Default: 1 GiB up and 1 GiB down per run (py: 256 MiB, it is slow),
# 3 runs, noise.  Uses $PEERLOCK (default ./build/peerlock; build it
# without --enable-debug for figures), rspeer from
# contrib/build-interop-rust.sh and the py venv from
# contrib/build-interop-py.sh (a pair whose peer is missing is skipped).
# Prints one line per run:
#   PAIR client->server up_Mbit/s down_Mbit/s total_s
# where the rates are the client's own upload and download times where it
# reports them (peerlock, rust), else (py) both directions over the total.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
: "${PEERLOCK:=$top/build/peerlock}"
SIZE=$((1 << 30))
PYSIZE=$((256 << 20))
RUNS=3
SEC=noise
while [ $# -gt 0 ]; do
	case $1 in
	--size) SIZE=$2; shift ;;
	--py-size) PYSIZE=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--security) SEC=$2; shift ;;
	*) echo "usage: $0 [--size B] [--py-size B] [--runs N] [--security S]" >&2
	   exit 2 ;;
	esac
	shift
done

w=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-perf-bench.XXXXXX")
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$w"' EXIT
trap 'exit 1' INT TERM

RSPEER=${RSPEER:-$("$top/contrib/build-interop-rust.sh" --no-install 2>/dev/null | tail -n 1)}
PYTHON=${PYPEER_PYTHON:-$("$top/contrib/build-interop-py.sh" --no-install 2>/dev/null | tail -n 1)}
PYPEER="$top/tests/interop/py/pypeer.py"
[ -x "${RSPEER:-}" ] || RSPEER=""
[ -x "${PYTHON:-}" ] || PYTHON=""

port() { python3 "$top/tests/tools/free_port.py"; }
waitfile() {
	for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.1; done
	return 1
}

# row PAIR FILE: the result line of a JSON output.
row() {
	tail -n 1 "$2" | python3 -c 'import json,sys
r = json.loads(sys.stdin.read())
t = r["timeSeconds"]
if "uploadSeconds" in r:
    u = r["uploadBytes"] * 8 / r["uploadSeconds"] / 1e6 if r["uploadSeconds"] else 0
    d = r["downloadBytes"] * 8 / r["downloadSeconds"] / 1e6 if r["downloadSeconds"] else 0
else:
    u = d = (r["uploadBytes"] + r["downloadBytes"]) * 8 / t / 1e6
print("%-26s %8.0f %8.0f %8.2f" % (sys.argv[1], u, d, t))' "$1" ||
	    echo "$1 FAILED: $(tail -n 2 "$2" "$2.err" 2>/dev/null | tr '\n' ' ')"
}

"$PEERLOCK" keygen -o "$w/pl.key" >/dev/null
"$PEERLOCK" keygen -o "$w/cli.key" >/dev/null
PLID=$("$PEERLOCK" id "$w/pl.key")
peers=$("$PEERLOCK" id "$w/cli.key")
if [ -n "$RSPEER" ]; then
	peers="$peers $("$RSPEER" keygen --type ed25519 --out "$w/rs.key")"
	"$RSPEER" keygen --type ed25519 --out "$w/rss.key" >/dev/null
fi
if [ -n "$PYTHON" ]; then
	peers="$peers $("$PYTHON" "$PYPEER" keygen --type ed25519 --out "$w/py.key")"
	"$PYTHON" "$PYPEER" keygen --type ed25519 --out "$w/pys.key" >/dev/null
fi
PL=$(port)
cat >"$w/pl.conf" <<EOF
[peerlock]
identity = $w/pl.key
listen = /ip4/127.0.0.1/tcp/$PL
security = $SEC
perf = on
log_level = warn
[expose.bench]
peers = $peers
protocol = /x/bench
target = 127.0.0.1:9
EOF
"$PEERLOCK" run -c "$w/pl.conf" 2>"$w/pl.log" &
pids="$pids $!"
sleep 0.5

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $SEC, $SIZE B each way ($PYSIZE for py)"
echo "# pair                        up_Mb/s  down_Mb/s  total_s"
if [ -n "$RSPEER" ]; then
	"$RSPEER" perf-server --key "$w/rss.key" --port-file "$w/rs.port" \
	    --security "$SEC" >"$w/rs.srv" 2>&1 &
	pids="$pids $!"
	waitfile "$w/rs.port"
	RSID=$("$RSPEER" id --key "$w/rss.key" 2>/dev/null || "$RSPEER" id "$w/rss.key")
fi
if [ -n "$PYTHON" ]; then
	"$PYTHON" "$PYPEER" perf-server --key "$w/pys.key" \
	    --port-file "$w/py.port" --security "$SEC" >"$w/py.srv" 2>&1 &
	pids="$pids $!"
	waitfile "$w/py.port"
	PYID=$("$PYTHON" "$PYPEER" id --key "$w/pys.key")
fi
for i in $(seq "$RUNS"); do
	"$PEERLOCK" perf -k "$w/cli.key" -s "$SEC" -u "$SIZE" -d "$SIZE" \
	    "/ip4/127.0.0.1/tcp/$PL/p2p/$PLID" >"$w/o" 2>"$w/o.err"
	row "peerlock->peerlock" "$w/o"
	if [ -n "$RSPEER" ]; then
		"$RSPEER" perf-client --key "$w/rs.key" --port "$PL" \
		    --peer "$PLID" --upload "$SIZE" --download "$SIZE" \
		    --security "$SEC" --timeout 600 >"$w/o" 2>"$w/o.err"
		row "rust->peerlock" "$w/o"
		"$PEERLOCK" perf -k "$w/cli.key" -s "$SEC" -u "$SIZE" \
		    -d "$SIZE" -t 600s \
		    "/ip4/127.0.0.1/tcp/$(cat "$w/rs.port")/p2p/$RSID" \
		    >"$w/o" 2>"$w/o.err"
		row "peerlock->rust" "$w/o"
		"$RSPEER" perf-client --key "$w/rs.key" \
		    --port "$(cat "$w/rs.port")" --peer "$RSID" \
		    --upload "$SIZE" --download "$SIZE" --security "$SEC" \
		    --timeout 600 >"$w/o" 2>"$w/o.err"
		row "rust->rust" "$w/o"
	fi
	if [ -n "$PYTHON" ]; then
		"$PYTHON" "$PYPEER" perf-client --key "$w/py.key" --port "$PL" \
		    --peer "$PLID" --upload "$PYSIZE" --download "$PYSIZE" \
		    --security "$SEC" --timeout 600 >"$w/o" 2>"$w/o.err"
		row "py->peerlock" "$w/o"
		"$PEERLOCK" perf -k "$w/cli.key" -s "$SEC" -u "$PYSIZE" \
		    -d "$PYSIZE" -t 600s \
		    "/ip4/127.0.0.1/tcp/$(cat "$w/py.port")/p2p/$PYID" \
		    >"$w/o" 2>"$w/o.err"
		row "peerlock->py" "$w/o"
		"$PYTHON" "$PYPEER" perf-client --key "$w/py.key" \
		    --port "$(cat "$w/py.port")" --peer "$PYID" \
		    --upload "$PYSIZE" --download "$PYSIZE" --security "$SEC" \
		    --timeout 600 >"$w/o" 2>"$w/o.err"
		row "py->py" "$w/o"
	fi
done

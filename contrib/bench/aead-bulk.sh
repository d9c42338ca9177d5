#!/usr/bin/env bash
# aead-bulk.sh - bulk through one peerlock /noise pair on loopback, for
# a few peerlock variants side by side: MB/s and the CPU seconds per GB
# of each side (A seals, B opens) and of the pair.  Made to compare
# ChaCha20-Poly1305 implementations (PEERLOCK_AEAD, src/aead.h) and
# binaries before and after a change; docs/benchmarks.md, "Noise
# frames with wolfCrypt's ChaCha20-Poly1305".
#
#   contrib/bench/aead-bulk.sh [--runs N] [--bytes N] [--out FILE]
#                              LABEL=BINARY[:AEAD] ...
#
#   LABEL=BINARY[:AEAD]  a variant: the peerlock binary and, optionally,
#                        PEERLOCK_AEAD for both of its processes
#                        (auto, sodium or wolfcrypt)
#   --runs N    rounds (default 7); each round runs every variant once,
#               in turn, so a change of load on the machine hits all
#   --bytes N   bytes per transfer (default 10^9)
#   --security noise|tls
#               the pair's security protocol (default noise; with tls the
#               AEAD is AES-GCM and PEERLOCK_AEAD does not apply)
#   --out FILE  raw results as CSV (default: a temporary file, printed)
#
# Each transfer gets a fresh pair.  CPU is utime + stime of each
# peerlock from /proc/PID/stat before and after the transfer.  Prints
# the median of every figure per variant, the median over rounds of each
# variant's figure divided by the first variant's in the same round, and
# the load average at each transfer.  Needs plbench (built here with make) and a C toolchain.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
PLB=$here/plbench
RUNS=7
BYTES=1000000000
SEC=noise
PROTO=""
OUT=""
VARIANTS=()

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=${2:?}; shift ;;
	--bytes) BYTES=${2:?}; shift ;;
	--security) SEC=${2:?}; shift ;;
	--protocol) PROTO="protocol = ${2:?}"; shift ;;
	--out) OUT=${2:?}; shift ;;
	-h|--help) usage ;;
	*=*) VARIANTS+=("$1") ;;
	*) echo "aead-bulk.sh: unknown argument $1" >&2; usage ;;
	esac
	shift
done
[ ${#VARIANTS[@]} -gt 0 ] || usage

make -s -C "$here" >/dev/null || { echo "aead-bulk.sh: cannot build plbench" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aead-bulk.XXXXXX")
[ -n "$OUT" ] || OUT=$WORK/raw.csv
PIDS=""

cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP port on 127.0.0.1 (asked of the kernel).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# utime + stime of PID in clock ticks (fields 14 and 15 of its stat).
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

SINK=$(free_port)
"$PLB" sink -p "$SINK" >"$WORK/sink.log" 2>&1 &
PIDS="$PIDS $!"
"$PLB" probe -p "$SINK" -k sink -t 5 || { echo "aead-bulk.sh: no sink" >&2; exit 1; }

echo "run,variant,MBps,A_s_per_GB,B_s_per_GB,pair_s_per_GB,load1" >"$OUT"
hz=$(getconf CLK_TCK)

# One transfer through a fresh pair of variant $1 (LABEL=BIN[:AEAD]).
one() {
	local run=$1 label=${2%%=*} spec=${2#*=} bin aead in mid a b ta tb \
	    mbps ta2 tb2 i
	bin=${spec%%:*}
	aead=""
	[ "$spec" != "$bin" ] && aead=${spec#*:}
	[ -f "$WORK/A.key" ] || {
		"$bin" keygen -o "$WORK/A.key" >"$WORK/A.id" 2>/dev/null &&
		"$bin" keygen -o "$WORK/B.key" >"$WORK/B.id" 2>/dev/null
	} || { echo "aead-bulk.sh: $bin keygen failed" >&2; exit 1; }
	in=$(free_port)
	mid=$(free_port)
	cat >"$WORK/A.conf" <<EOF
[peerlock]
identity = $WORK/A.key
security = $SEC
[forward.bench]
listen = 127.0.0.1:$in
peer = /ip4/127.0.0.1/tcp/$mid/p2p/$(tail -n 1 "$WORK/B.id")
$PROTO
EOF
	cat >"$WORK/B.conf" <<EOF
[peerlock]
identity = $WORK/B.key
listen = /ip4/127.0.0.1/tcp/$mid
security = $SEC
[expose.bench]
peers = $(tail -n 1 "$WORK/A.id")
target = 127.0.0.1:$SINK
$PROTO
EOF
	PEERLOCK_AEAD=$aead "$bin" run -c "$WORK/B.conf" >"$WORK/B.log" 2>&1 &
	b=$!
	PEERLOCK_AEAD=$aead "$bin" run -c "$WORK/A.conf" >"$WORK/A.log" 2>&1 &
	a=$!
	PIDS="$PIDS $a $b"
	for i in $(seq 20); do
		"$PLB" probe -p "$in" -k sink -t 1 2>/dev/null && break
		sleep 0.2
	done
	ta=$(ticks "$a")
	tb=$(ticks "$b")
	mbps=$("$PLB" bulk -p "$in" -c 1 -s "$BYTES" 2>>"$WORK/bulk.err" |
	    awk '$1 == "result" { print $2 }')
	ta2=$(ticks "$a")
	tb2=$(ticks "$b")
	kill "$a" "$b" 2>/dev/null
	wait "$a" "$b" 2>/dev/null
	grep -h "ChaCha20-Poly1305 by" "$WORK/A.log" | head -n 1 |
	    sed "s/^/  $label: /" >&2
	awk -v r="$run" -v l="$label" -v m="${mbps:-NA}" -v a="$((ta2 - ta))" \
	    -v b="$((tb2 - tb))" -v hz="$hz" -v n="$BYTES" \
	    -v ld="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
		g = n / 1e9
		printf "%s,%s,%s,%.3f,%.3f,%.3f,%s\n", r, l, m, a / hz / g,
		    b / hz / g, (a + b) / hz / g, ld }' >>"$OUT"
	tail -n 1 "$OUT" >&2
}

for run in $(seq 1 "$RUNS"); do
	for v in "${VARIANTS[@]}"; do
		one "$run" "$v"
	done
done

echo "# medians over $RUNS runs of $BYTES bytes; load average (1 min) $(awk -F, 'NR > 1 { print $7 }' "$OUT" | sort -n | sed -n '1p;$p' | paste -sd- ) during the runs"
printf '%-12s %8s %10s %10s %10s\n' variant MB/s "A s/GB" "B s/GB" "pair s/GB"
for v in "${VARIANTS[@]}"; do
	awk -F, -v l="${v%%=*}" '
	function med(col,   a, n, i, j, t) {
		n = 0
		for (i = 1; i <= NR; i++)
			if (lab[i] == l && val[i, col] != "NA")
				a[++n] = val[i, col] + 0
		for (i = 2; i <= n; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		if (n == 0) return "NA"
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	NR > 1 { lab[NR] = $2; for (c = 3; c <= 6; c++) val[NR, c] = $c }
	END { printf "%-12s %8.1f %10.2f %10.2f %10.2f\n", l, med(3), med(4),
	    med(5), med(6) }' "$OUT"
done
# Same-round ratios to the first variant: less sensitive to the load
# changing between rounds than the ratio of two medians.
first=${VARIANTS[0]%%=*}
echo "# median over rounds of (variant / $first) in the same round"
printf '%-12s %8s %10s %10s %10s\n' variant MB/s "A s/GB" "B s/GB" "pair s/GB"
for v in "${VARIANTS[@]:1}"; do
	awk -F, -v l="${v%%=*}" -v f="$first" '
	function med(col,   a, n, r, i, j, t) {
		n = 0
		for (r in seen)
			if ((r, l, col) in val && (r, f, col) in val &&
			    val[r, f, col] + 0 > 0)
				a[++n] = val[r, l, col] / val[r, f, col]
		for (i = 2; i <= n; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		if (n == 0) return "NA"
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	NR > 1 {
		seen[$1] = 1
		for (c = 3; c <= 6; c++) if ($c != "NA") val[$1, $2, c] = $c
	}
	END { printf "%-12s %8.3f %10.3f %10.3f %10.3f\n", l, med(3), med(4),
	    med(5), med(6) }' "$OUT"
done
[ "$OUT" = "$WORK/raw.csv" ] && cat "$OUT"
exit 0

#!/bin/sh
# Goal: inlined muxer negotiation (secchan_set_muxers) agrees with the
# real js-libp2p encrypters (@chainsafe/libp2p-noise: NoiseExtensions
# stream_muxers; @libp2p/tls: ALPN) in both roles, over /noise and
# /tls/1.0.0.  Our side is tests/tools/plpeer `upgrade` (an honest secchan
# upgrade that prints what was agreed); the js side is jspeer.mjs with
# --muxers.  For each protocol:
#   A. js dials with /yamux/1.0.0, we listen with it: both agree on it;
#   B. we dial with /yamux/1.0.0, js listens with it: both agree on it;
#   C. js dials without muxers: we agree on none and saw no offer;
#   D. we dial without muxers to js with yamux: none on both sides (we
#      see js's offer over Noise; a TLS client only sees the choice);
#   E. js dials with yamux, we listen without muxers: none on both sides,
#      and we saw js's offer.
# Exit 77 (skip) only when node or tests/interop/node_modules is missing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
JSPEER="$top_srcdir/tests/interop/jspeer.mjs"
PLPEER="$top_builddir/tests/tools/plpeer"
Y=/yamux/1.0.0

if ! command -v node >/dev/null 2>&1; then
	echo "SKIP: node not found (install with contrib/install-deps.sh --interop)"
	exit 77
fi
if [ ! -d "$top_srcdir/tests/interop/node_modules" ]; then
	echo "SKIP: $top_srcdir/tests/interop/node_modules missing" \
	    "(run contrib/install-deps.sh --interop, or npm ci there)"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-muxer.XXXXXX")
pids=""
failed=0
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	if [ $failed -ne 0 ] || [ -n "${KEEP_TMP:-}" ]; then
		echo "interop-muxer: work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'failed=1; exit 1' INT TERM HUP

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }

# show FILE...: print files after a failure, indented.
show() {
	for f in "$@"; do
		echo "--- $f:"
		sed 's/^/    /' "$f" 2>/dev/null
	done
}

# wait_file FILE: up to 10 s for FILE to be non-empty.
wait_file() {
	i=0
	while [ $i -lt 600 ] && [ ! -s "$1" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$1" ]
}

# muxarg LIST: the --muxers option for LIST ("" for none).
muxarg() {
	[ -n "$1" ] && printf -- '--muxers %s' "$1"
}

if ! node "$JSPEER" keygen --type ed25519 --out "$work/js.key" \
    >"$work/js.id" ||
    ! node "$JSPEER" keygen --type ed25519 --out "$work/pl.key" \
    >"$work/pl.id"; then
	fail "keygen"
	exit 1
fi
JSID=$(cat "$work/js.id")
PLID=$(cat "$work/pl.id")

# js_dials SEC CASE JS_MUXERS PL_MUXERS WANT_PL WANT_JS: js dials plpeer;
# WANT_PL is plpeer's "muxer=M peer_offered=N", WANT_JS js's "muxer M".
js_dials() {
	sec=$1 c=$2 d="$work/$1-$2"
	mkdir -p "$d"
	# shellcheck disable=SC2046
	"$PLPEER" upgrade 0 --key "$work/pl.key" --mode "listen-$sec" \
	    --port-file "$d/port" --hold 5 $(muxarg "$4") \
	    >"$d/pl.out" 2>"$d/pl.err" &
	pp=$!
	pids="$pids $pp"
	if ! wait_file "$d/port"; then
		fail "[$sec] $c: plpeer did not listen"
		return
	fi
	# shellcheck disable=SC2046
	timeout 30 node "$JSPEER" dial --key "$work/js.key" \
	    --port "$(cat "$d/port")" --peer "$PLID" --security "$sec" \
	    --bytes 0 $(muxarg "$3") >"$d/js.out" 2>"$d/js.err"
	jrc=$?
	wait "$pp"
	prc=$?
	if [ $jrc -eq 0 ] && [ $prc -eq 0 ] &&
	    grep -q "ready proto=$sec peer=$JSID $5\$" "$d/pl.out" &&
	    { [ -z "$6" ] || grep -q "jspeer\[[0-9]*\]: $6\$" "$d/js.err"; }; then
		pass "[$sec] $c: js dials ($3) / we listen ($4): ours $5${6:+, js $6}"
	else
		fail "[$sec] $c: js dials ($3) / we listen ($4): want ours" \
		    "'$5' js '$6' (js rc $jrc, plpeer rc $prc)"
		show "$d/pl.out" "$d/pl.err" "$d/js.out" "$d/js.err"
	fi
}

# we_dial SEC CASE JS_MUXERS PL_MUXERS WANT_PL WANT_JS: plpeer dials js.
we_dial() {
	sec=$1 c=$2 d="$work/$1-$2"
	mkdir -p "$d"
	# shellcheck disable=SC2046
	node "$JSPEER" listen --key "$work/js.key" --port 0 \
	    --port-file "$d/port" --security "$sec" $(muxarg "$3") \
	    >"$d/js.out" 2>"$d/js.err" &
	jp=$!
	pids="$pids $jp"
	if ! wait_file "$d/port"; then
		fail "[$sec] $c: jspeer did not listen"
		return
	fi
	# shellcheck disable=SC2046
	timeout 30 "$PLPEER" upgrade "$(cat "$d/port")" --key "$work/pl.key" \
	    --mode "dial-$sec" --expect "$JSID" --hold 5 $(muxarg "$4") \
	    >"$d/pl.out" 2>"$d/pl.err"
	prc=$?
	# the js listener logs its verdict once the handshake is through
	i=0
	while [ -n "$6" ] && [ $i -lt 50 ] &&
	    ! grep -q ": $6\$" "$d/js.err"; do
		sleep 0.1
		i=$((i + 1))
	done
	kill "$jp" 2>/dev/null
	wait "$jp" 2>/dev/null
	if [ $prc -eq 0 ] &&
	    grep -q "ready proto=$sec peer=$JSID $5\$" "$d/pl.out" &&
	    { [ -z "$6" ] || grep -q ": $6\$" "$d/js.err"; }; then
		pass "[$sec] $c: we dial ($4) / js listens ($3): ours $5${6:+, js $6}"
	else
		fail "[$sec] $c: we dial ($4) / js listens ($3): want ours" \
		    "'$5' js '$6' (plpeer rc $prc)"
		show "$d/pl.out" "$d/pl.err" "$d/js.out" "$d/js.err"
	fi
}

for sec in noise tls; do
	# a TLS client learns only the server's choice, not its offer
	[ "$sec" = noise ] && seen=1 || seen=0
	js_dials "$sec" A "$Y" "$Y" "muxer=$Y peer_offered=1" "muxer $Y"
	we_dial "$sec" B "$Y" "$Y" "muxer=$Y peer_offered=1" "muxer $Y"
	js_dials "$sec" C "" "$Y" "muxer=none peer_offered=0" ""
	we_dial "$sec" D "$Y" "" "muxer=none peer_offered=$seen" "muxer none"
	js_dials "$sec" E "$Y" "" "muxer=none peer_offered=1" "muxer none"
done
exit $failed

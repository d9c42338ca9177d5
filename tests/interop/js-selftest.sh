#!/bin/sh
# js-selftest.sh - prove jspeer.mjs against itself (js <-> js), so that a
# failure in interop.sh can be blamed on peerlock and not on the js tool.
# Not part of `make check`.  Needs node and `npm ci` in tests/interop.
#   tests/interop/js-selftest.sh            noise and tls
#   SECURITY=noise tests/interop/js-selftest.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
JSPEER="$here/jspeer.mjs"
SECURITIES=${SECURITY:-"noise tls"}
TYPES="ed25519 secp256k1 rsa"
SIZES="0 1 65536 1048576 10485760"

command -v node >/dev/null 2>&1 || { echo "SKIP: node not found"; exit 77; }
[ -d "$here/node_modules" ] ||
    { echo "SKIP: run 'npm ci' in $here first"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/js-selftest.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }

# wait_file FILE: wait up to 10 s for FILE to be non-empty.
wait_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

for t in $TYPES; do
	id=$(node "$JSPEER" keygen --type "$t" --out "$work/$t.key") ||
	    { fail "keygen $t"; continue; }
	echo "$id" >"$work/$t.id"
	mode=$(stat -c %a "$work/$t.key")
	[ "$mode" = 600 ] && pass "keygen $t: $id, mode 600" ||
	    fail "keygen $t: key file mode $mode"
done

for sec in $SECURITIES; do
	for lt in $TYPES; do
		[ -s "$work/$lt.id" ] || continue
		lid=$(cat "$work/$lt.id")
		log="$work/listen-$sec-$lt.log"
		pf="$work/port-$sec-$lt"
		node "$JSPEER" listen --key "$work/$lt.key" --port 0 \
		    --port-file "$pf" --security "$sec" 2>"$log" &
		lpid=$!
		pids="$pids $lpid"
		if ! wait_file "$pf"; then
			fail "$sec listener ($lt) did not start"; cat "$log"
			continue
		fi
		port=$(cat "$pf")
		# every dialer key type against this listener, all sizes
		for dt in $TYPES; do
			for n in $SIZES; do
				out=$(node "$JSPEER" dial --key "$work/$dt.key" \
				    --port "$port" --peer "$lid" --security "$sec" \
				    --bytes "$n" --seed "$dt$n" 2>&1)
				case "$out" in
				*"ok bytes=$n "*) pass "$sec $dt -> $lt $n bytes" ;;
				*) fail "$sec $dt -> $lt $n bytes: $out" ;;
				esac
			done
			out=$(node "$JSPEER" dial --key "$work/$dt.key" \
			    --port "$port" --peer "$lid" --security "$sec" \
			    --bytes 300000 --half-close 2>&1)
			case "$out" in
			*"ok bytes=300000 "*) pass "$sec $dt -> $lt half-close" ;;
			*) fail "$sec $dt -> $lt half-close: $out" ;;
			esac
		done
		# wrong expected peer: every other key type's ID must be refused
		for wt in $TYPES; do
			[ "$wt" = "$lt" ] && continue
			wid=$(cat "$work/$wt.id")
			out=$(node "$JSPEER" dial --key "$work/$wt.key" \
			    --port "$port" --peer "$wid" --security "$sec" \
			    --bytes 10 2>&1)
			rc=$?
			if [ $rc -eq 3 ]; then
				pass "$sec dial $lt listener expecting $wt ID: peer mismatch"
			else
				fail "$sec dial $lt listener expecting $wt ID: exit $rc (want 3): $out"
			fi
		done
		kill "$lpid" 2>/dev/null
		wait "$lpid" 2>/dev/null
		[ $failed -eq 0 ] || { echo "--- listener log:"; cat "$log"; }
	done

	# --expect-peer on the listener side: only that peer may connect
	lid=$(cat "$work/ed25519.id")
	pf="$work/port-$sec-expect"
	log="$work/listen-$sec-expect.log"
	node "$JSPEER" listen --key "$work/ed25519.key" --port 0 \
	    --port-file "$pf" --security "$sec" \
	    --expect-peer "$(cat "$work/rsa.id")" 2>"$log" &
	lpid=$!
	pids="$pids $lpid"
	if wait_file "$pf"; then
		port=$(cat "$pf")
		node "$JSPEER" dial --key "$work/rsa.key" --port "$port" \
		    --peer "$lid" --security "$sec" --bytes 1000 >/dev/null 2>&1 &&
		    pass "$sec --expect-peer admits the expected peer" ||
		    fail "$sec --expect-peer refused the expected peer"
		out=$(node "$JSPEER" dial --key "$work/secp256k1.key" \
		    --port "$port" --peer "$lid" --security "$sec" \
		    --bytes 1000 --timeout 20 2>&1)
		rc=$?
		[ $rc -eq 1 ] &&
		    pass "$sec --expect-peer refuses another peer" ||
		    fail "$sec --expect-peer and another peer: exit $rc: $out"
	else
		fail "$sec expect-peer listener did not start"
	fi
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
done

[ $failed -eq 0 ] && echo "js-selftest: all passed" ||
    echo "js-selftest: FAILED"
exit $failed

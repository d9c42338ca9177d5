#!/bin/sh
# interop.sh - peerlock against the real js-libp2p (tests/interop/jspeer.mjs:
# @chainsafe/libp2p-noise or @libp2p/tls over multistream-select on raw TCP).
# Run by `make check` with PEERLOCK, top_srcdir and top_builddir set.
#   SECURITY=noise (default) or SECURITY=tls selects the security protocol.
#   KEEP_TMP=1 keeps the work directory (it is always kept on failure).
# For each js key type (ed25519 secp256k1 rsa):
#   c. a js key file is read by `peerlock id` as the same peer ID, and a
#      peerlock key file is read by js as the same peer ID;
#   a. js dialer -> peerlock expose -> echod, 1 B / 64 KiB / 1 MiB;
#   b. plclient -> peerlock forward -> js listener (echo), same sizes and
#      once with --half-close;
#   d. wrong expected peer IDs fail on both sides, and an expose refuses a
#      js peer that is not in its peers list.
# Exit 77 (skip) only when node or tests/interop/node_modules is missing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${PEERLOCK:=$top_builddir/peerlock}"
SECURITY=${SECURITY:-noise}
JSPEER="$top_srcdir/tests/interop/jspeer.mjs"
ECHOD="$top_builddir/tests/tools/echod"
PLCLIENT="$top_builddir/tests/tools/plclient"
TYPES="ed25519 secp256k1 rsa"
SIZES="1 65536 1048576"
T=60	# seconds allowed for one client run

if ! command -v node >/dev/null 2>&1; then
	echo "SKIP: node not found (install with contrib/install-deps.sh --interop)"
	exit 77
fi
if [ ! -d "$top_srcdir/tests/interop/node_modules" ]; then
	echo "SKIP: $top_srcdir/tests/interop/node_modules missing" \
	    "(run contrib/install-deps.sh --interop, or npm ci there)"
	exit 77
fi
case "$SECURITY" in
noise | tls) ;;
*) echo "FAIL: SECURITY must be noise or tls, not '$SECURITY'"; exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-interop.XXXXXX")
pids=""
failed=0
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	if [ $failed -ne 0 ] || [ -n "${KEEP_TMP:-}" ]; then
		echo "interop: work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'failed=1; exit 1' INT TERM HUP

pass() { echo "PASS: [$SECURITY] $*"; }
fail() { echo "FAIL: [$SECURITY] $*"; failed=1; }

# show_log TITLE FILE: print a log file, indented, after a failure.
show_log() {
	echo "--- $1 ($2):"
	sed 's/^/    /' "$2" 2>/dev/null
	echo "--- end of $1"
}

# free_port, wait_listen, wait_file: 60 s each (node starts slowly on a
# loaded machine).
WAIT_LISTEN_TENTHS=600 WAIT_FILE_TENTHS=600
# shellcheck source=tests/interop/lib-wait.sh
. "$here/lib-wait.sh"

# js_listen KEY PORTFILE LOG [ARGS...]: start a js echo listener; sets lpid.
js_listen() {
	_key=$1 _pf=$2 _log=$3
	shift 3
	node "$JSPEER" listen --key "$_key" --port 0 --port-file "$_pf" \
	    --security "$SECURITY" "$@" 2>"$_log" &
	lpid=$!
	pids="$pids $lpid"
}

# js_dial KEY PORT PEERID BYTES [ARGS...]: dial and check the echo; the
# output goes to $out, the exit status is the dialer's.
js_dial() {
	_key=$1 _port=$2 _peer=$3 _n=$4
	shift 4
	out=$(timeout $T node "$JSPEER" dial --key "$_key" --host 127.0.0.1 \
	    --port "$_port" --peer "$_peer" --security "$SECURITY" \
	    --bytes "$_n" --seed "$_n$_peer" "$@" 2>&1)
}

# start_peerlock: write $d/peerlock.conf with fresh ports and start
# `peerlock run`; sets plpid, PLPORT, FWDPORT, BADFWDPORT.  A port can
# still be taken between free_port and peerlock's bind, so if peerlock
# dies before it listens, try again with other ports (3 attempts).
start_peerlock() {
	for _attempt in 1 2 3; do
		PLPORT=$(free_port) && FWDPORT=$(free_port) &&
		    BADFWDPORT=$(free_port) || return 1
		cat >"$d/peerlock.conf" <<EOF
[peerlock]
identity = $work/pl.key
listen   = /ip4/127.0.0.1/tcp/$PLPORT
security = $SECURITY
handshake_timeout = 10s

[forward.js]
listen = 127.0.0.1:$FWDPORT
peer   = /ip4/127.0.0.1/tcp/$JSPORT/p2p/$JSID

[forward.impostor]
listen = 127.0.0.1:$BADFWDPORT
peer   = /ip4/127.0.0.1/tcp/$JSPORT/p2p/$BADID

[expose.echo]
peers  = $JSID
target = 127.0.0.1:$ECHOPORT
EOF
		"$PEERLOCK" run -c "$d/peerlock.conf" 2>"$d/peerlock.log" &
		plpid=$!
		pids="$pids $plpid"
		if wait_listen "$PLPORT" "$plpid" &&
		    wait_listen "$FWDPORT" "$plpid" &&
		    wait_listen "$BADFWDPORT" "$plpid"; then
			return 0
		fi
		kill -0 "$plpid" 2>/dev/null && return 1	# alive, not listening
		wait "$plpid" 2>/dev/null
		cp "$d/peerlock.log" "$d/peerlock.log.$_attempt"
	done
	return 1
}

# js_closed: the last js_dial failed because the remote closed or reset
# the connection (not a refused connect, a hang or an echo mismatch).
js_closed() {
	case "$out" in
	*ECONNREFUSED* | *timeout* | *mismatch* | *"ok bytes"*) return 1 ;;
	*EOF* | *closed* | *ECONNRESET* | *EPIPE* | *reset* | *"close event"*) return 0 ;;
	esac
	return 1
}

for tool in "$PEERLOCK" "$ECHOD" "$PLCLIENT"; do
	if [ ! -x "$tool" ]; then
		fail "missing executable $tool (build first)"
		exit 1
	fi
done

# --- preflight: jspeer against itself --------------------------------------
# A failure here is the js tool's or js-libp2p's, not peerlock's.
node "$JSPEER" keygen --type ed25519 --out "$work/pre.key" >"$work/pre.id" ||
    { fail "jspeer keygen does not work"; exit 1; }
js_listen "$work/pre.key" "$work/pre.port" "$work/pre.log"
if wait_file "$work/pre.port" "$lpid" &&
    js_dial "$work/pre.key" "$(cat "$work/pre.port")" "$(cat "$work/pre.id")" \
    4096 && case "$out" in *"ok bytes=4096 "*) true ;; *) false ;; esac; then
	pass "preflight: js <-> js over $SECURITY works"
else
	if [ "$SECURITY" = tls ]; then
		echo "SKIP: @libp2p/tls does not work js <-> js here: $out"
		show_log "js listener" "$work/pre.log"
		exit 77
	fi
	fail "preflight: js <-> js over $SECURITY: $out"
	show_log "js listener" "$work/pre.log"
	exit 1
fi
kill "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null

# --- peerlock identity ------------------------------------------------------
if PLID=$("$PEERLOCK" keygen -o "$work/pl.key" 2>"$work/pl-keygen.err") &&
    [ -n "$PLID" ]; then
	pass "peerlock keygen: $PLID"
else
	fail "peerlock keygen -o failed"
	show_log "peerlock keygen stderr" "$work/pl-keygen.err"
	exit 1
fi
jsid=$(node "$JSPEER" id --key "$work/pl.key" 2>&1)
[ "$jsid" = "$PLID" ] &&
    pass "js reads peerlock's key file as $PLID" ||
    fail "js reads peerlock's key file as '$jsid', peerlock said '$PLID'"
plid2=$("$PEERLOCK" id "$work/pl.key" 2>&1)
[ "$plid2" = "$PLID" ] &&
    pass "peerlock id agrees with peerlock keygen" ||
    fail "peerlock id says '$plid2', keygen said '$PLID'"

# --- echo server behind the expose -----------------------------------------
"$ECHOD" --port 0 --port-file "$work/echo.port" 2>"$work/echod.log" &
echopid=$!
pids="$pids $echopid"
if ! wait_file "$work/echo.port" "$echopid"; then
	fail "echod did not start"
	show_log "echod" "$work/echod.log"
	exit 1
fi
ECHOPORT=$(cat "$work/echo.port")

for t in $TYPES; do
	d="$work/$t"
	mkdir -p "$d"

	# js keys: the peer under test and an impostor of the same type
	if ! JSID=$(node "$JSPEER" keygen --type "$t" --out "$d/js.key") ||
	    ! BADID=$(node "$JSPEER" keygen --type "$t" --out "$d/bad.key"); then
		fail "$t: jspeer keygen"
		continue
	fi

	# c. key file interop
	got=$("$PEERLOCK" id "$d/js.key" 2>&1)
	[ "$got" = "$JSID" ] &&
	    pass "$t: peerlock id reads the js key file as $JSID" ||
	    fail "$t: peerlock id printed '$got', js printed '$JSID'"

	# js listener for the forward direction; it only admits peerlock
	js_listen "$d/js.key" "$d/js.port" "$d/js.log" --expect-peer "$PLID"
	jslpid=$lpid
	if ! wait_file "$d/js.port" "$jslpid"; then
		fail "$t: js listener did not start"
		show_log "js listener" "$d/js.log"
		continue
	fi
	JSPORT=$(cat "$d/js.port")

	if ! start_peerlock; then
		fail "$t: peerlock run did not come up (ports $PLPORT $FWDPORT $BADFWDPORT)"
		show_log "peerlock stderr" "$d/peerlock.log"
		kill "$jslpid" 2>/dev/null
		continue
	fi
	tfail=$failed
	failed=0

	# a. js dialer -> peerlock expose -> echod
	expose_ok=1
	forward_ok=1
	for n in $SIZES; do
		if js_dial "$d/js.key" "$PLPORT" "$PLID" "$n" &&
		    case "$out" in *"ok bytes=$n "*) true ;; *) false ;; esac; then
			pass "$t: js dial -> peerlock expose, $n bytes echoed"
		else
			fail "$t: js dial -> peerlock expose, $n bytes: $out"
			expose_ok=0
		fi
	done

	# b. plclient -> peerlock forward -> js listener
	for n in $SIZES; do
		if out=$(timeout $T "$PLCLIENT" 127.0.0.1 "$FWDPORT" \
		    --bytes "$n" 2>&1); then
			pass "$t: peerlock forward -> js listen, $n bytes echoed"
		else
			fail "$t: peerlock forward -> js listen, $n bytes: $out"
			forward_ok=0
		fi
	done
	if out=$(timeout $T "$PLCLIENT" 127.0.0.1 "$FWDPORT" \
	    --bytes 1048576 --half-close 2>&1); then
		pass "$t: peerlock forward -> js listen, half-close, 1048576 bytes"
	else
		fail "$t: peerlock forward -> js listen, half-close: $out"
		forward_ok=0
	fi
	grep -q "remote peer $PLID\$" "$d/js.log" &&
	    pass "$t: js listener authenticated peerlock as $PLID" ||
	    fail "$t: js listener never saw remote peer $PLID"

	# d. negative cases.  Each must fail for the right reason, and the
	# refusals count only if the same path worked for the right peer:
	# jspeer exits 3 when the remote proved another identity, 1 on other
	# errors; plclient exits 3 on EOF/reset before the echo (2: connect
	# failed, 1: timeout or bad data).
	js_dial "$d/js.key" "$PLPORT" "$BADID" 100
	rc=$?
	if [ $rc -eq 3 ]; then
		pass "$t: js dial expecting the wrong peer ID fails: peer mismatch"
	else
		fail "$t: js dial expecting the wrong peer ID: exit $rc (want 3): $out"
	fi
	js_dial "$d/bad.key" "$PLPORT" "$PLID" 100
	rc=$?
	if [ $expose_ok -ne 1 ]; then
		fail "$t: expose ACL untestable, the allowed peer failed too"
	elif [ $rc -eq 1 ] && js_closed; then
		pass "$t: expose refuses a js peer not in its peers list" \
		    "($(echo "$out" | tail -n 1))"
	else
		fail "$t: expose and a js peer not in its peers list: exit $rc: $out"
	fi
	out=$(timeout $T "$PLCLIENT" 127.0.0.1 "$BADFWDPORT" --bytes 100 \
	    --timeout 30 2>&1)
	rc=$?
	if [ $forward_ok -ne 1 ]; then
		fail "$t: wrong /p2p/ ID untestable, the right one failed too"
	elif [ $rc -eq 3 ]; then
		pass "$t: forward to a wrong /p2p/ ID closes the client"
	else
		fail "$t: forward to a wrong /p2p/ ID: plclient exit $rc: $out"
	fi
	if kill -0 "$plpid" 2>/dev/null; then
		pass "$t: peerlock still running after the negative cases"
	else
		fail "$t: peerlock exited during the test"
	fi

	if [ $failed -ne 0 ]; then
		show_log "peerlock stderr" "$d/peerlock.log"
		show_log "js listener" "$d/js.log"
	fi
	[ $tfail -ne 0 ] && failed=1
	kill "$plpid" "$jslpid" 2>/dev/null
	wait "$plpid" "$jslpid" 2>/dev/null
done

if [ $failed -ne 0 ]; then
	show_log "echod" "$work/echod.log"
	echo "interop [$SECURITY]: FAILED"
	exit 1
fi
echo "interop [$SECURITY]: all passed"
exit 0

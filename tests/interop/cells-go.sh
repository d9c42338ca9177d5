#!/bin/sh
# shellcheck disable=SC2154,SC2153,SC2086 # variables set by eval; pid lists split on purpose
# cells-go.sh - the go-libp2p cells of the interop matrix (matrix.sh).
# gopeer (tests/interop/go: go-libp2p v0.52.0's own /noise and /tls/1.0.0
# transports over multistream-select on raw TCP, no muxer) against
# peerlock, built by contrib/build-interop-go.sh outside the clone.
#
# Prints one line per cell on stdout, nothing else:
#   CELL go <sec> <dir> raw <keytype> PASS|FAIL|SKIP <detail>
# <dir> is go->peerlock (gopeer dial -> peerlock expose -> echod) or
# peerlock->go (plclient -> peerlock forward -> gopeer listen, echo).
# Also `CELL go <sec> <dir> node ed25519 ...` (full go-libp2p hosts, yamux)
# and `CELL go <sec> <dir> perf ed25519 ...`: /perf/1.0.0 both ways
# (gopeer perf-client -> peerlock perf server, `peerlock perf` -> gopeer
# perf-server), run by go-perf.sh with lib-cells.sh's perf_pair, which has
# those cells' checks; CELLS_WRONG_PEER=1 makes them fail on purpose.
# <keytype> is go's identity key type; peerlock's own identity is ed25519,
# except in the cells written T/pl-T, where both sides use key type T.
# Diagnostics and, after a failure, the logs go to stderr.
#
# A cell passes only if all of its checks do:
#   go->peerlock  1 B and 1 MiB echoed with matching sha256; gopeer
#                 expecting another peer ID refuses peerlock (exit 3,
#                 go-libp2p's ErrPeerIDMismatch); a go peer of the same key
#                 type that is not in the expose's peers gets no echo.
#   peerlock->go  plclient 1 B, 1 MiB, 1 MiB with half-close through the
#                 forward; gopeer (--expect-peer) logged peerlock's ID as
#                 the authenticated remote; a forward to /p2p/<another ID>
#                 closes the client (plclient exit 3).
# Exit 0 when no cell failed, 1 otherwise (skipped cells are not failures).
# KEEP_TMP=1 keeps the work directory (it is always kept after a failure).
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${PEERLOCK:=$top_builddir/peerlock}"
ECHOD="$top_builddir/tests/tools/echod"
PLCLIENT="$top_builddir/tests/tools/plclient"
SECS="noise tls"
GO_TYPES="ed25519 secp256k1 ecdsa rsa"
PL_TYPES="secp256k1 ecdsa rsa"	# peerlock identities besides ed25519
SIZES="1 1048576"
T=60	# seconds allowed for one client run

failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-cells-go.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	if [ $failed -ne 0 ] || [ -n "${KEEP_TMP:-}" ]; then
		echo "cells-go: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'failed=1; exit 1' INT TERM HUP

# mode_cell MODE SEC DIR KEYTYPE RESULT DETAIL...: one cell line.
mode_cell() {
	_m=$1 _s=$2 _d=$3 _k=$4 _r=$5
	shift 5
	echo "CELL go $_s $_d $_m $_k $_r $*"
	[ "$_r" = FAIL ] && failed=1
	return 0
}

# cell SEC DIR KEYTYPE RESULT DETAIL...: a raw-mode cell.
cell() { mode_cell raw "$@"; }

# every_cell RESULT DETAIL: the same result for every cell (no toolchain).
every_cell() {
	for s in $SECS; do
		for k in $GO_TYPES; do
			cell "$s" "go->peerlock" "$k" "$1" "$2"
			cell "$s" "peerlock->go" "$k" "$1" "$2"
		done
		for k in $PL_TYPES; do
			cell "$s" "go->peerlock" "$k/pl-$k" "$1" "$2"
			cell "$s" "peerlock->go" "$k/pl-$k" "$1" "$2"
		done
		for m in node perf; do
			mode_cell $m "$s" "go->peerlock" ed25519 "$1" "$2"
			mode_cell $m "$s" "peerlock->go" ed25519 "$1" "$2"
		done
	done
}

show_log() {
	{
		echo "--- $1 ($2):"
		sed 's/^/    /' "$2" 2>/dev/null
		echo "--- end of $1"
	} >&2
}

# free_port, wait_listen, wait_file (10 s each)
# shellcheck source=tests/interop/lib-wait.sh
. "$here/lib-wait.sh"

# json_field NAME: the string or number NAME of the JSON line in $out.
json_field() {
	echo "$out" | tail -n 1 | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# --- tools -----------------------------------------------------------------
for tool in "$PEERLOCK" "$ECHOD" "$PLCLIENT"; do
	if [ ! -x "$tool" ]; then
		echo "cells-go: missing executable $tool (build first)" >&2
		every_cell FAIL "missing $tool"
		exit 1
	fi
done
GOPEER=$("$top_srcdir/contrib/build-interop-go.sh" --no-install \
    2>"$work/build.log" | tail -n 1)
rc=$?
# The pipeline's status is tail's: look at what the build left.
if [ -z "$GOPEER" ] || [ ! -x "$GOPEER" ]; then
	if grep -q "go not found\|is older than" "$work/build.log"; then
		every_cell SKIP "no usable go: $(tail -n 1 "$work/build.log")"
		exit 0
	fi
	show_log "gopeer build" "$work/build.log"
	every_cell FAIL "gopeer build failed (contrib/build-interop-go.sh)"
	exit 1
fi
: "$rc"
cat "$work/build.log" >&2

# --- keys ------------------------------------------------------------------
# go keys: for each type the peer under test and an impostor; peerlock
# keys: ed25519 and each of PL_TYPES.  Every key file must give the same
# peer ID to both implementations.
keys_ok=1
for k in $GO_TYPES; do
	for who in go bad; do
		f="$work/$who-$k.key"
		if ! id=$("$GOPEER" keygen --type "$k" --out "$f" 2>>"$work/keys.log"); then
			keys_ok=0
			continue
		fi
		eval "ID_${who}_$k=\$id"
		plid=$("$PEERLOCK" id "$f" 2>&1)
		if [ "$plid" != "$id" ]; then
			echo "cells-go: peerlock id reads go's $k key as '$plid', go says $id" >&2
			keys_ok=0
		fi
	done
done
for k in ed25519 $PL_TYPES; do
	f="$work/pl-$k.key"
	if ! id=$("$PEERLOCK" keygen -t "$k" -o "$f" 2>>"$work/keys.log"); then
		keys_ok=0
		continue
	fi
	eval "PLID_$k=\$id"
	goid=$("$GOPEER" id --key "$f" 2>&1)
	if [ "$goid" != "$id" ]; then
		echo "cells-go: go reads peerlock's $k key as '$goid', peerlock says $id" >&2
		keys_ok=0
	fi
done
if [ $keys_ok -ne 1 ]; then
	show_log "keygen" "$work/keys.log"
	every_cell FAIL "key files: peerlock and go disagree or keygen failed"
	exit 1
fi

# --- echo server behind the expose -----------------------------------------
"$ECHOD" --port 0 --port-file "$work/echo.port" 2>"$work/echod.log" &
echopid=$!
pids="$pids $echopid"
if ! wait_file "$work/echo.port" "$echopid"; then
	show_log "echod" "$work/echod.log"
	every_cell FAIL "echod did not start"
	exit 1
fi
ECHOPORT=$(cat "$work/echo.port")

# start_peerlock DIR SEC PLKEY GOTYPES: write DIR/peerlock.conf (an expose
# for the go peers of GOTYPES, a forward to each go listener and one to
# each with the impostor's ID) and start peerlock; sets plpid and PLPORT.
# Retries with fresh ports when peerlock dies before it listens.
start_peerlock() {
	_d=$1 _s=$2 _key=$3 _types=$4
	for _attempt in 1 2 3; do
		PLPORT=$(free_port) || return 1
		_peers=""
		_ports=""
		{
			echo "[peerlock]"
			echo "identity = $_key"
			echo "listen = /ip4/127.0.0.1/tcp/$PLPORT"
			echo "security = $_s"
			echo "handshake_timeout = 10s"
			for _k in $_types; do
				eval "_id=\$ID_go_$_k _bad=\$ID_bad_$_k _gp=\$GOPORT_$_k"
				_f=$(free_port) && _b=$(free_port) || return 1
				eval "FWD_$_k=$_f BADFWD_$_k=$_b"
				_ports="$_ports $_f $_b"
				_peers="$_peers
	$_id"
				echo "[forward.go_$_k]"
				echo "listen = 127.0.0.1:$_f"
				echo "peer = /ip4/127.0.0.1/tcp/$_gp/p2p/$_id"
				echo "[forward.bad_$_k]"
				echo "listen = 127.0.0.1:$_b"
				echo "peer = /ip4/127.0.0.1/tcp/$_gp/p2p/$_bad"
			done
			echo "[expose.echo]"
			echo "peers =$_peers"	# one per indented line
			echo "target = 127.0.0.1:$ECHOPORT"
		} >"$_d/peerlock.conf"
		"$PEERLOCK" run -c "$_d/peerlock.conf" 2>"$_d/peerlock.log" &
		plpid=$!
		pids="$pids $plpid"
		_up=1
		for _p in $PLPORT $_ports; do
			wait_listen "$_p" "$plpid" || { _up=0; break; }
		done
		[ $_up -eq 1 ] && return 0
		kill -0 "$plpid" 2>/dev/null && return 1	# alive, not listening
		wait "$plpid" 2>/dev/null
		cp "$_d/peerlock.log" "$_d/peerlock.log.$_attempt"
	done
	return 1
}

# go_dial KEYFILE PEERID BYTES: gopeer dial to peerlock; output in $out,
# exit status gopeer's.
go_dial() {
	out=$(timeout $((T + 10)) "$GOPEER" dial --sec "$sec" --key "$1" \
	    --addr "127.0.0.1:$PLPORT" --peer "$2" --bytes "$3" \
	    --seed "$3$2" --timeout $T 2>&1)
}

# why_cell DIR LABEL DETAIL: the raw cell of $sec: PASS with DETAIL when
# $_why (the failed checks, each after "; ") is empty, else FAIL with it.
why_cell() {
	if [ -z "$_why" ]; then
		cell "$sec" "$1" "$2" PASS "$3"
	else
		cell "$sec" "$1" "$2" FAIL "${_why#; }"
	fi
}

# cell_go_to_pl KEYTYPE LABEL: the go->peerlock cell.
cell_go_to_pl() {
	_k=$1 _label=$2 _why=""
	eval "_wrong=\$ID_bad_$plt"	# of peerlock's key type, not peerlock's
	for n in $SIZES; do
		if ! go_dial "$work/go-$_k.key" "$PLID" "$n" ||
		    [ "$(json_field ok)" != true ] ||
		    [ "$(json_field bytes)" != "$n" ]; then
			_why="$_why; $n B: $(echo "$out" | tail -n 1)"
		fi
	done
	go_dial "$work/go-$_k.key" "$_wrong" 100
	_rc=$?
	[ $_rc -eq 3 ] && [ "$(json_field stage)" = peer ] ||
	    _why="$_why; wrong peer ID: exit $_rc (want 3): $(echo "$out" | tail -n 1)"
	go_dial "$work/bad-$_k.key" "$PLID" 100
	_rc=$?
	case "$_rc:$(json_field stage)" in
	4:transfer | 1:handshake) ;;
	*) _why="$_why; go peer not in peers: exit $_rc (want 4 or 1, no echo): $(echo "$out" | tail -n 1)" ;;
	esac
	why_cell "go->peerlock" "$_label" \
	    "echo 1B,1MiB; go refuses a wrong ID; expose refuses an unlisted go peer"
}

# cell_pl_to_go KEYTYPE LABEL: the peerlock->go cell.
cell_pl_to_go() {
	_k=$1 _label=$2 _why=""
	eval "_fwd=\$FWD_$_k _bad=\$BADFWD_$_k"
	for n in $SIZES; do
		out=$(timeout $((T + 10)) "$PLCLIENT" 127.0.0.1 "$_fwd" \
		    --bytes "$n" --timeout $T 2>&1) ||
		    _why="$_why; $n B: $out"
	done
	out=$(timeout $((T + 10)) "$PLCLIENT" 127.0.0.1 "$_fwd" \
	    --bytes 1048576 --half-close --timeout $T 2>&1) ||
	    _why="$_why; half-close 1 MiB: $out"
	grep -q "\"ok\":true,\"remote_key_type\":\"[A-Za-z0-9]*\",\"remote_peer\":\"$PLID\"" \
	    "$d/go-$_k.out" ||
	    _why="$_why; gopeer never logged an echo for remote peer $PLID"
	out=$(timeout $((T + 10)) "$PLCLIENT" 127.0.0.1 "$_bad" --bytes 100 \
	    --timeout 30 2>&1)
	_rc=$?
	[ $_rc -eq 3 ] ||
	    _why="$_why; forward to a wrong /p2p/ ID: plclient exit $_rc (want 3): $out"
	why_cell "peerlock->go" "$_label" \
	    "echo 1B,1MiB,half-close; go saw peerlock's ID; wrong /p2p/ refused"
}

# run_config SEC PLTYPE GOTYPES: one peerlock (identity of PLTYPE) and
# one go listener per type in GOTYPES; both cells for each go type.
run_config() {
	sec=$1 plt=$2 types=$3
	d="$work/$sec-pl-$plt"
	mkdir -p "$d"
	eval "PLID=\$PLID_$plt"
	cfg_pids=""
	for k in $types; do
		"$GOPEER" listen --sec "$sec" --key "$work/go-$k.key" \
		    --port-file "$d/go-$k.port" --expect-peer "$PLID" \
		    --timeout $T >"$d/go-$k.out" 2>"$d/go-$k.err" &
		p=$!
		pids="$pids $p"
		cfg_pids="$cfg_pids $p"
		if ! wait_file "$d/go-$k.port" "$p"; then
			show_log "gopeer listen $k" "$d/go-$k.err"
			for kk in $types; do
				lbl=$kk
				[ "$plt" = ed25519 ] || lbl="$kk/pl-$plt"
				cell "$sec" "go->peerlock" "$lbl" FAIL "gopeer listen ($k) did not start"
				cell "$sec" "peerlock->go" "$lbl" FAIL "gopeer listen ($k) did not start"
			done
			kill $cfg_pids 2>/dev/null
			return
		fi
		eval "GOPORT_$k=\$(cat \"\$d/go-\$k.port\")"
	done
	if ! start_peerlock "$d" "$sec" "$work/pl-$plt.key" "$types"; then
		show_log "peerlock" "$d/peerlock.log"
		for k in $types; do
			lbl=$k
			[ "$plt" = ed25519 ] || lbl="$k/pl-$plt"
			cell "$sec" "go->peerlock" "$lbl" FAIL "peerlock run did not come up"
			cell "$sec" "peerlock->go" "$lbl" FAIL "peerlock run did not come up"
		done
		kill $cfg_pids 2>/dev/null
		return
	fi
	cfg_pids="$cfg_pids $plpid"
	was=$failed
	failed=0
	for k in $types; do
		lbl=$k
		[ "$plt" = ed25519 ] || lbl="$k/pl-$plt"
		cell_go_to_pl "$k" "$lbl"
		cell_pl_to_go "$k" "$lbl"
	done
	kill -0 "$plpid" 2>/dev/null || {
		echo "cells-go: peerlock ($sec, $plt) exited during the cells" >&2
		failed=1
	}
	if [ $failed -ne 0 ]; then
		show_log "peerlock ($sec, identity $plt)" "$d/peerlock.log"
		for k in $types; do
			show_log "gopeer listen ($sec, $k)" "$d/go-$k.out"
			show_log "gopeer listen stderr ($sec, $k)" "$d/go-$k.err"
		done
	fi
	[ $was -ne 0 ] && failed=1
	kill $cfg_pids 2>/dev/null
	for p in $cfg_pids; do wait "$p" 2>/dev/null; done
}

# --- node mode: full go-libp2p hosts (yamux, identify, ping) ----------------
# node_cell SEC DIR RESULT DETAIL...
node_cell() {
	_s=$1 _d=$2
	shift 2
	mode_cell node "$_s" "$_d" ed25519 "$@"
}

# node_config SEC: a go node serving /x/echo and a peerlock with a
# node-mode expose for the go peer and a node-mode forward to the go node;
# go dials peerlock's expose (1 MiB, ping, identify), and 4 concurrent
# 1 MiB tunnels go through peerlock's forward over one session.
node_config() {
	sec=$1
	d="$work/node-$sec"
	mkdir -p "$d"
	PLID=$PLID_ed25519
	"$GOPEER" node-listen --sec "$sec" --key "$work/go-ed25519.key" \
	    --port-file "$d/gn.port" --timeout $T >"$d/gn.out" 2>"$d/gn.err" &
	gnpid=$!
	pids="$pids $gnpid"
	if ! wait_file "$d/gn.port" "$gnpid"; then
		show_log "gopeer node-listen" "$d/gn.err"
		node_cell "$sec" "go->peerlock" FAIL "gopeer node-listen did not start"
		node_cell "$sec" "peerlock->go" FAIL "gopeer node-listen did not start"
		return
	fi
	PLPORT=$(free_port) && NFWD=$(free_port) || return
	cat >"$d/peerlock.conf" <<EOC
[peerlock]
identity = $work/pl-ed25519.key
listen = /ip4/127.0.0.1/tcp/$PLPORT
security = $sec

[expose.echo]
peers = $ID_go_ed25519
protocol = /x/echo
target = 127.0.0.1:$ECHOPORT

[forward.gonode]
listen = 127.0.0.1:$NFWD
peer = /ip4/127.0.0.1/tcp/$(cat "$d/gn.port")/p2p/$ID_go_ed25519
protocol = /x/echo
EOC
	"$PEERLOCK" run -c "$d/peerlock.conf" 2>"$d/peerlock.log" &
	plpid=$!
	pids="$pids $plpid"
	if ! wait_listen "$PLPORT" "$plpid" || ! wait_listen "$NFWD" "$plpid"; then
		show_log "peerlock (node, $sec)" "$d/peerlock.log"
		node_cell "$sec" "go->peerlock" FAIL "peerlock run did not come up"
		node_cell "$sec" "peerlock->go" FAIL "peerlock run did not come up"
		return
	fi
	out=$(timeout $((T + 10)) "$GOPEER" node-dial --sec "$sec" \
	    --key "$work/go-ed25519.key" --addr "127.0.0.1:$PLPORT" \
	    --peer "$PLID" --bytes 1048576 --timeout $T 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ "$(json_field ok)" = true ] &&
	    [ "$(json_field muxer)" = /yamux/1.0.0 ] &&
	    echo "$out" | grep -q '"agent":"peerlock/'; then
		node_cell "$sec" "go->peerlock" PASS \
		    "yamux,identify(peerlock/),ping,1MiB /x/echo"
	else
		node_cell "$sec" "go->peerlock" FAIL "exit $rc: $(echo "$out" | tail -n 1)"
		show_log "peerlock (node, $sec)" "$d/peerlock.log"
	fi
	_why=""
	_cp=""
	# the go dialer above used the same identity: count sessions from here
	_n0=$(grep -c "session with $ID_go_ed25519" "$d/peerlock.log")
	for i in 1 2 3 4; do
		"$PLCLIENT" 127.0.0.1 "$NFWD" --bytes 1048576 --seed "$i" \
		    --timeout $T >"$d/c$i.out" 2>&1 &
		_cp="$_cp $!"
	done
	for p in $_cp; do
		wait "$p" || _why="$_why; tunnel failed"
	done
	_n=$(($(grep -c "session with $ID_go_ed25519" "$d/peerlock.log") - _n0))
	[ "$_n" -eq 1 ] || _why="$_why; $_n sessions to the go node, want 1"
	[ "$(grep -c '"event":"stream".*"ok":true' "$d/gn.out")" -ge 4 ] ||
	    _why="$_why; the go node did not echo 4 streams"
	if [ -z "$_why" ]; then
		node_cell "$sec" "peerlock->go" PASS \
		    "4x1MiB /x/echo tunnels on one session"
	else
		node_cell "$sec" "peerlock->go" FAIL "${_why#; }"
		show_log "peerlock (node, $sec)" "$d/peerlock.log"
		show_log "gopeer node-listen" "$d/gn.out"
	fi
	kill "$plpid" "$gnpid" 2>/dev/null
	wait "$plpid" "$gnpid" 2>/dev/null
}

for sec in $SECS; do
	run_config "$sec" ed25519 "$GO_TYPES"
	for k in $PL_TYPES; do
		run_config "$sec" "$k" "$k"
	done
	node_config "$sec"
done

# --- perf: /perf/1.0.0 both ways (go-perf.sh, lib-cells.sh's perf_pair) ----
top_srcdir=$top_srcdir top_builddir=$top_builddir PEERLOCK=$PEERLOCK \
    GOPEER=$GOPEER sh "$here/go-perf.sh" >"$work/perf.cells"
cat "$work/perf.cells"
grep -q '^CELL [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* FAIL' "$work/perf.cells" &&
    failed=1
[ $failed -eq 0 ]

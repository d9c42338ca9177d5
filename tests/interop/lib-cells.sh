# lib-cells.sh - the raw-mode interop cells shared by cells-rust.sh and
# cells-py.sh (sourced, not run; not named cells-*.sh so that matrix.sh does
# not take it for an implementation).
#
# The sourcing script sets IMPL (rust|py), IMPL_TYPES (the key types the
# implementation supports) and defines:
#   peer_keygen TYPE FILE          write a key file, print its peer ID
#   peer_listen KEY PORTFILE LOG SEC EXPECT_ID   start an echo listener in
#                                  the background (its pid in $!)
#   peer_dial KEY PORT PEER_ID BYTES SEC   dial, echo BYTES; exit 0 ok,
#                                  3 peer mismatch, other: failure
# and optionally IMPL_SKIP_TYPES ("type:reason ..." printed as SKIP cells).
# For the node-mode cells it also defines
#   peer_node_listen KEY PORTFILE OUT ERR SEC   start a full node serving
#                                  /x/echo in the background (pid in $!;
#                                  event lines on OUT)
#   peer_node_dial KEY PORT PEER_ID BYTES SEC   a full node dials peerlock,
#                                  identify, ping, BYTES on /x/echo; the
#                                  `ok ...` line on stdout; exit 0 ok,
#                                  3 peer mismatch, other: failure
# and may set IMPL_NODE_SECS (default "noise tls") and IMPL_NODE_CONCURRENT
# (how many forward tunnels run at once, default 4).
# For the perf cells (/perf/1.0.0 with the implementation's own perf code):
#   peer_perf_server KEY PORTFILE OUT ERR SEC   serve perf in the
#                                  background (pid in $!; `run peer=ID
#                                  sent=N received=N` lines on OUT if the
#                                  implementation reports its runs)
#   peer_perf_client KEY PORT PEER_ID UP DOWN SEC   upload UP and
#                                  download DOWN bytes; one JSON line
#                                  ("uploadBytes", "downloadBytes") on
#                                  stdout; exit 0 ok
# and may set IMPL_PERF_SECS (default "noise tls").
# Then it calls cells_main.
#
# For each security protocol (noise, tls) and key type, one `peerlock run`
# (Ed25519 identity) with an expose (peers = the impl's ID, target echod) and
# two forwards (to the impl listener's real /p2p/ ID, and to a wrong one).
# Two cells:
#   impl->peerlock    the impl dials the expose expecting peerlock's ID and
#                     gets 1 B and 1 MiB echoed (sha256 compared by the
#                     peer); it must also fail with exit 3 when it expects
#                     another ID.
#   peerlock->impl    plclient -> forward -> impl listener (which only
#                     admits peerlock's ID): 1 B and 1 MiB echoed; the
#                     listener must log peerlock's ID as its remote; the
#                     forward to a wrong /p2p/ ID must close the client.
# Node mode (node_pair, per security protocol, Ed25519 on both sides): one
# `peerlock run` with a node-mode expose (protocol = /x/echo, peers = the
# impl dialer's ID, target echod) and two node-mode forwards (to the impl
# node's listener, and to the same address with an impostor's /p2p/ ID).
#   impl->peerlock    the impl node dials the expose: yamux, identify (the
#                     agent peerlock sent starts with peerlock/ and its
#                     protocols list /x/echo), one ping, 1 MiB echoed on
#                     /x/echo with a half-close, sha256 compared; the same
#                     dial expecting another ID exits 3; an impl node that
#                     is not in the expose's peers gets no echo.
#   peerlock->impl    4 concurrent plclient 1 MiB tunnels (one at a time
#                     with IMPL_NODE_CONCURRENT=1), then 1 MiB with
#                     half-close, through the forward to the impl node's
#                     /x/echo, all over one session; the impl node logged
#                     5 echoed streams from peerlock's ID and identify from
#                     peerlock (agent peerlock/); the impostor forward
#                     closes its client (plclient exit 3).
# Perf (perf_pair, per security protocol, Ed25519): one `peerlock run` with
# perf = on and a node-mode expose admitting the impl client's ID.
#   impl->peerlock    the impl's perf client uploads PERF_UP and downloads
#                     PERF_DOWN bytes (odd sizes); its JSON must report both
#                     and peerlock's close line must say route=perf
#                     up=PERF_DOWN down=PERF_UP+8 reason=done.
#   peerlock->impl    `peerlock perf` against the impl's perf server: exit
#                     0, JSON uploadBytes/downloadBytes exact, timeSeconds
#                     > 0; the impl server's run line, where it prints one,
#                     says sent=PERF_DOWN received=PERF_UP.
# stdout gets only `CELL <impl> <sec> <dir> raw|node|perf <type> PASS|FAIL|SKIP
# <detail>` lines; everything else goes to stderr.  Exit 0.
#
# CELLS_WRONG_PEER=1 (self-check): the peers are told wrong IDs for the
# positive cases (the impl dials expecting an impostor's ID, the forward
# points at the impostor's /p2p/ ID): every cell must then FAIL.
# CELLS_SECURITY / CELLS_TYPES / CELLS_MODES ("raw", "node") restrict the
# matrix; KEEP_TMP=1 keeps logs.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${PEERLOCK:=$top_builddir/peerlock}"
ECHOD="$top_builddir/tests/tools/echod"
PLCLIENT="$top_builddir/tests/tools/plclient"
SIZES="1 1048576"
T=90	# seconds allowed for one client run (python starts slowly on a busy machine)
keep=""

log() { echo "cells-$IMPL: $*" >&2; }

# cell SEC DIR TYPE VERDICT DETAIL...: print one result line.  The detail
# is squeezed to one line of at most 160 characters without spaces.
# MODE (raw, or node in node_pair) is the mode column.
MODE=raw
cell() {
	_d=$(printf '%s' "${5:--}" | tr '\n\t ' '   ' | sed 's/  */_/g' |
	    cut -c1-160)
	echo "CELL $IMPL $1 $2 $MODE $3 $4 ${_d:--}"
	[ "$4" = FAIL ] && keep=1
	return 0
}

# has_perf: the sourcing script defined the perf hooks.
has_perf() {
	command -v peer_perf_client >/dev/null 2>&1 &&
	    command -v peer_perf_server >/dev/null 2>&1
}

# has_node: the sourcing script defined the node-mode hooks.
has_node() {
	command -v peer_node_dial >/dev/null 2>&1 &&
	    command -v peer_node_listen >/dev/null 2>&1
}

# mode_on MODE: MODE (raw, node, perf) is in CELLS_MODES (default: all).
mode_on() {
	case " ${CELLS_MODES:-raw node perf} " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# The direction column is literal: the implementation is the impl column.
dir_in() { echo "impl->peerlock"; }
dir_out() { echo "peerlock->impl"; }

# skip_all REASON: every cell SKIP (tool or toolchain missing).
skip_all() {
	for _s in ${CELLS_SECURITY:-noise tls}; do
		for _t in $IMPL_TYPES $(skip_types); do
			cell "$_s" "$(dir_in)" "$_t" SKIP "$1"
			cell "$_s" "$(dir_out)" "$_t" SKIP "$1"
		done
	done
	if has_node; then
		MODE=node
		for _s in ${CELLS_SECURITY:-${IMPL_NODE_SECS:-noise tls}}; do
			cell "$_s" "$(dir_in)" ed25519 SKIP "$1"
			cell "$_s" "$(dir_out)" ed25519 SKIP "$1"
		done
	fi
	if has_perf; then
		MODE=perf
		for _s in ${CELLS_SECURITY:-${IMPL_PERF_SECS:-noise tls}}; do
			cell "$_s" "$(dir_in)" ed25519 SKIP "$1"
			cell "$_s" "$(dir_out)" ed25519 SKIP "$1"
		done
	fi
	exit 0
}

skip_types() {
	for _e in ${IMPL_SKIP_TYPES:-}; do echo "${_e%%:*}"; done
}

# wait_file's default is 60 s: a python peer takes a while to import
# py-libp2p (lib-wait.sh has free_port, wait_listen and wait_file).
WAIT_FILE_TENTHS=600
# shellcheck source=tests/interop/lib-wait.sh
. "$top_srcdir/tests/interop/lib-wait.sh"

# start_peerlock DIR SEC IMPLID IMPLPORT BADID EXPOSE_PEER [PROTO]: write
# DIR/peerlock.conf with fresh ports and start `peerlock run`; sets plpid,
# PLPORT, FWDPORT, BADFWDPORT.  Retries with other ports (3 attempts) if a
# port was taken between free_port and peerlock's bind.  With PROTO, the
# forwards and the expose are node-mode routes of that protocol.
start_peerlock() {
	_proto=""
	[ -n "${7:-}" ] && _proto="protocol = $7"
	for _attempt in 1 2 3; do
		PLPORT=$(free_port) && FWDPORT=$(free_port) &&
		    BADFWDPORT=$(free_port) || return 1
		cat >"$1/peerlock.conf" <<EOF
[peerlock]
identity = $work/pl.key
listen   = /ip4/127.0.0.1/tcp/$PLPORT
security = $2
handshake_timeout = 10s

[forward.impl]
listen = 127.0.0.1:$FWDPORT
peer   = /ip4/127.0.0.1/tcp/$4/p2p/$3
$_proto

[forward.impostor]
listen = 127.0.0.1:$BADFWDPORT
peer   = /ip4/127.0.0.1/tcp/$4/p2p/$5
$_proto

[expose.echo]
peers  = $6
target = 127.0.0.1:$ECHOPORT
$_proto
EOF
		"$PEERLOCK" run -c "$1/peerlock.conf" 2>"$1/peerlock.log" &
		plpid=$!
		if wait_listen "$PLPORT" "$plpid" &&
		    wait_listen "$FWDPORT" "$plpid" &&
		    wait_listen "$BADFWDPORT" "$plpid"; then
			return 0
		fi
		kill -0 "$plpid" 2>/dev/null && return 1
		wait "$plpid" 2>/dev/null
	done
	return 1
}

# last_line TEXT: the last non-empty line (for details).
last_line() {
	printf '%s\n' "$1" | sed '/^$/d' | tail -n 1
}

# fail_pair MESSAGE: both cells of the pair being run ($_sec, $_t, $_din,
# $_dout) FAIL with MESSAGE.
fail_pair() {
	cell "$_sec" "$_din" "$_t" FAIL "$1"
	cell "$_sec" "$_dout" "$_t" FAIL "$1"
}

# keygen_ids NAME...: an impl key $d/NAME.key of type $_t for each NAME,
# its peer ID in ID_NAME; if one fails, both cells FAIL and 1 is returned.
keygen_ids() {
	: >"$d/keygen.log"
	for _n in "$@"; do
		if ! _id=$(peer_keygen "$_t" "$d/$_n.key" 2>>"$d/keygen.log") ||
		    [ -z "$_id" ]; then
			fail_pair "$IMPL keygen --type $_t failed: $(last_line "$(cat "$d/keygen.log")")"
			return 1
		fi
		eval "ID_$_n=\$_id"
	done
}

# run_pair SEC TYPE: both cells for one security protocol and key type.
run_pair() {
	_sec=$1 _t=$2
	_din=$(dir_in) _dout=$(dir_out)
	d="$work/$_sec-$_t"
	mkdir -p "$d"
	keygen_ids impl bad || return
	IMPLID=$ID_impl BADID=$ID_bad
	# The IDs the peers are told for the positive cases.
	want_pl=$PLID want_impl=$IMPLID
	if [ -n "${CELLS_WRONG_PEER:-}" ]; then
		want_pl=$BADPLID want_impl=$BADID
	fi

	peer_listen "$d/impl.key" "$d/impl.port" "$d/impl.log" "$_sec" "$PLID"
	lpid=$!
	if ! wait_file "$d/impl.port" "$lpid"; then
		fail_pair "$IMPL listener did not start: $(last_line "$(cat "$d/impl.log")")"
		kill "$lpid" 2>/dev/null
		return
	fi
	IMPLPORT=$(cat "$d/impl.port")
	if ! start_peerlock "$d" "$_sec" "$want_impl" "$IMPLPORT" "$BADID" \
	    "$IMPLID"; then
		fail_pair "peerlock run did not come up: $(last_line "$(cat "$d/peerlock.log")")"
		kill "$lpid" "$plpid" 2>/dev/null
		return
	fi

	# <impl> -> peerlock expose -> echod
	_v=PASS _m=""
	for n in $SIZES; do
		out=$(peer_dial "$d/impl.key" "$PLPORT" "$want_pl" "$n" "$_sec" 2>&1)
		rc=$?
		echo "$out" >>"$d/dial.log"
		case "$rc:$out" in
		0:*"ok bytes=$n "*) _m="$_m${_m:+,}$n" ;;
		*) _v=FAIL _m="dial_${n}B:exit$rc:$(last_line "$out")"; break ;;
		esac
	done
	if [ $_v = PASS ]; then
		out=$(peer_dial "$d/impl.key" "$PLPORT" "$BADPLID" 100 "$_sec" 2>&1)
		rc=$?
		echo "$out" >>"$d/dial.log"
		if [ $rc -eq 3 ]; then
			_m="echo_${_m}B,wrong-ID-refused"
		else
			_v=FAIL _m="dial_expecting_wrong_ID:exit$rc(want3):$(last_line "$out")"
		fi
	fi
	cell "$_sec" "$_din" "$_t" $_v "$_m"
	[ $_v = PASS ] || log "$_sec $_t $_din: see $d"

	# plclient -> peerlock forward -> <impl> listener
	_v=PASS _m=""
	for n in $SIZES; do
		if out=$(timeout $T "$PLCLIENT" 127.0.0.1 "$FWDPORT" \
		    --bytes "$n" --timeout 80 2>&1); then
			_m="$_m${_m:+,}$n"
		else
			_v=FAIL _m="plclient_${n}B:exit$?:$(last_line "$out")"
			break
		fi
	done
	if [ $_v = PASS ] && ! grep -q "remote peer $PLID\$" "$d/impl.log"; then
		_v=FAIL _m="$IMPL listener never logged remote peer $PLID"
	fi
	if [ $_v = PASS ]; then
		out=$(timeout $T "$PLCLIENT" 127.0.0.1 "$BADFWDPORT" --bytes 100 \
		    --timeout 30 2>&1)
		rc=$?
		if [ $rc -eq 3 ]; then
			_m="echo_${_m}B,wrong-ID-refused"
		else
			_v=FAIL _m="forward_to_wrong_ID:plclient_exit$rc(want3):$(last_line "$out")"
		fi
	fi
	if [ $_v = PASS ] && ! kill -0 "$plpid" 2>/dev/null; then
		_v=FAIL _m="peerlock exited during the cell"
	fi
	cell "$_sec" "$_dout" "$_t" $_v "$_m"
	[ $_v = PASS ] || log "$_sec $_t $_dout: see $d"

	kill "$plpid" "$lpid" 2>/dev/null
	wait "$plpid" "$lpid" 2>/dev/null
}

# node_pair SEC: both node-mode cells for one security protocol (Ed25519
# identities everywhere; the key types are the raw cells' business).
node_pair() {
	_sec=$1 _t=ed25519
	MODE=node
	_din=$(dir_in) _dout=$(dir_out)
	d="$work/node-$_sec"
	mkdir -p "$d"
	# the dialer, the listener, and a node that no route names
	if ! keygen_ids dial listen bad; then
		MODE=raw
		return
	fi
	want_pl=$PLID want_node=$ID_listen
	if [ -n "${CELLS_WRONG_PEER:-}" ]; then
		want_pl=$BADPLID want_node=$BADPLID
	fi

	peer_node_listen "$d/listen.key" "$d/node.port" "$d/node.out" \
	    "$d/node.err" "$_sec"
	lpid=$!
	if ! wait_file "$d/node.port" "$lpid"; then
		fail_pair "$IMPL node-listen did not start: $(last_line "$(cat "$d/node.err")")"
		kill "$lpid" 2>/dev/null
		MODE=raw
		return
	fi
	NODEPORT=$(cat "$d/node.port")
	# forward.impl -> the node (its real ID), forward.impostor -> the same
	# address with peerlock's impostor ID; the expose admits the dialer.
	if ! start_peerlock "$d" "$_sec" "$want_node" "$NODEPORT" "$BADPLID" \
	    "$ID_dial" /x/echo; then
		fail_pair "peerlock run did not come up: $(last_line "$(cat "$d/peerlock.log")")"
		kill "$lpid" "$plpid" 2>/dev/null
		MODE=raw
		return
	fi

	# <impl> node -> peerlock node-mode expose -> echod
	_v=PASS _m=""
	out=$(peer_node_dial "$d/dial.key" "$PLPORT" "$want_pl" 1048576 "$_sec" \
	    2>>"$d/dial.log")
	rc=$?
	echo "$out" >>"$d/dial.log"
	case "$rc:$out" in
	0:"ok bytes=1048576 "*) ;;
	*) _v=FAIL _m="node-dial_1MiB:exit$rc:$(last_line "$(tail -n 3 "$d/dial.log")")" ;;
	esac
	if [ $_v = PASS ]; then
		case "$out" in
		*" muxer=/yamux/1.0.0 "*) ;;
		*) _v=FAIL _m="no_yamux:$out" ;;
		esac
	fi
	if [ $_v = PASS ]; then
		case "$out" in
		*" agent=peerlock/"*" protocols="*/x/echo*) ;;
		*) _v=FAIL _m="identify_from_peerlock_lacks_agent_peerlock/_or_/x/echo:$out" ;;
		esac
	fi
	if [ $_v = PASS ]; then
		out=$(peer_node_dial "$d/dial.key" "$PLPORT" "$BADPLID" 100 \
		    "$_sec" 2>>"$d/dial.log")
		rc=$?
		[ $rc -eq 3 ] ||
		    _v=FAIL _m="node-dial_expecting_wrong_ID:exit$rc(want3):$(last_line "$(tail -n 3 "$d/dial.log")")"
	fi
	if [ $_v = PASS ]; then
		out=$(peer_node_dial "$d/bad.key" "$PLPORT" "$PLID" 100 \
		    "$_sec" 2>>"$d/dial.log")
		rc=$?
		# TLS 1.3: the client is done before the server has read its
		# certificate, so the dialer may see the close before peerlock logs.
		if [ $rc -eq 0 ]; then
			_v=FAIL _m="a_node_not_in_peers_got_an_echo:$out"
		elif ! wait_grep "peer=$ID_bad .*reason=not_allowed" "$d/peerlock.log"; then
			_v=FAIL _m="a_node_not_in_peers:exit$rc,but_peerlock_logged_no_not_allowed_for_it"
		fi
	fi
	[ $_v = PASS ] &&
	    _m="yamux,identify(peerlock/,/x/echo),ping,1MiB_/x/echo_half-close,wrong-ID-refused,unlisted-peer-refused"
	cell "$_sec" "$_din" "$_t" $_v "$_m"
	[ $_v = PASS ] || log "$_sec node $_din: see $d"

	# plclient -> peerlock node-mode forward -> <impl> node's /x/echo
	_v=PASS _m=""
	# 4 tunnels, IMPL_NODE_CONCURRENT (default 4) at a time
	_cp="" _par=${IMPL_NODE_CONCURRENT:-4}
	for i in 1 2 3 4; do
		timeout $T "$PLCLIENT" 127.0.0.1 "$FWDPORT" --bytes 1048576 \
		    --seed "n$i" --timeout 80 >"$d/c$i.out" 2>&1 &
		_cp="$_cp $i:$!"
		[ $((i % _par)) -eq 0 ] || [ $i -eq 4 ] || continue
		for p in $_cp; do
			wait "${p#*:}" && continue
			[ $_v = PASS ] &&
			    _m="tunnel_${p%%:*}:$(last_line "$(cat "$d/c${p%%:*}.out")")"
			_v=FAIL
		done
		_cp=""
	done
	if [ $_v = PASS ] && ! out=$(timeout $T "$PLCLIENT" 127.0.0.1 "$FWDPORT" \
	    --bytes 1048576 --half-close --timeout 80 2>&1); then
		_v=FAIL _m="half-close_1MiB:$(last_line "$out")"
	fi
	if [ $_v = PASS ]; then
		# the node logs a stream after its last write: give the last
		# line a moment to land (up to 5 s)
		_i=0
		while _n=$(grep -c "^stream remote=$PLID proto=/x/echo ok bytes=1048576 " \
		    "$d/node.out"); [ "$_n" -lt 5 ] && [ $_i -lt 50 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		[ "$_n" -ge 5 ] ||
		    _v=FAIL _m="the_${IMPL}_node_logged_${_n}_echoed_1MiB_streams_from_peerlock,want_5"
	fi
	if [ $_v = PASS ]; then
		_n=$(grep -c "session with $ID_listen" "$d/peerlock.log")
		[ "$_n" -eq 1 ] || _v=FAIL _m="${_n}_sessions_to_the_${IMPL}_node,want_1"
	fi
	if [ $_v = PASS ]; then
		# identify runs in the background of the node: give it a moment
		wait_grep "^identify remote=$PLID agent=peerlock/" "$d/node.out" ||
		    _v=FAIL _m="the_${IMPL}_node_never_got_identify_(agent_peerlock/)_from_peerlock"
	fi
	if [ $_v = PASS ]; then
		out=$(timeout $T "$PLCLIENT" 127.0.0.1 "$BADFWDPORT" --bytes 100 \
		    --timeout 30 2>&1)
		rc=$?
		[ $rc -eq 3 ] ||
		    _v=FAIL _m="forward_to_wrong_ID:plclient_exit$rc(want3):$(last_line "$out")"
	fi
	if [ $_v = PASS ] && ! kill -0 "$plpid" 2>/dev/null; then
		_v=FAIL _m="peerlock exited during the cell"
	fi
	_c=concurrent
	[ "$_par" -eq 1 ] && _c=sequential
	[ $_v = PASS ] &&
	    _m="4x1MiB_${_c}+1MiB_half-close_on_one_session,${IMPL}_got_identify(peerlock/),wrong-ID-refused"
	cell "$_sec" "$_dout" "$_t" $_v "$_m"
	[ $_v = PASS ] || log "$_sec node $_dout: see $d"

	kill "$plpid" "$lpid" 2>/dev/null
	wait "$plpid" "$lpid" 2>/dev/null
	MODE=raw
}

PERF_UP=1048583	# 1 MiB + 7: no chunk size divides it
PERF_DOWN=3145739	# 3 MiB + 11

# json_num FILE KEY: the number KEY of the JSON object on FILE's last line.
json_num() {
	tail -n 1 "$1" | python3 -c 'import json,sys
try:
    print(int(json.loads(sys.stdin.read())[sys.argv[1]]))
except Exception:
    print("none")' "$2"
}

# perf_pair SEC: the two perf cells of one security protocol.
perf_pair() {
	_sec=$1 _t=ed25519
	MODE=perf
	_din=$(dir_in) _dout=$(dir_out)
	d="$work/perf-$_sec"
	mkdir -p "$d"
	if ! keygen_ids cli srv; then
		MODE=raw
		return
	fi
	want_pl=$PLID want_srv=$ID_srv
	if [ -n "${CELLS_WRONG_PEER:-}" ]; then
		want_pl=$BADPLID want_srv=$BADPLID
	fi

	# <impl> perf client -> peerlock (perf = on)
	_v=PASS _m=""
	PLPORT=$(free_port)
	cat >"$d/peerlock.conf" <<EOC
[peerlock]
identity = $work/pl.key
listen   = /ip4/127.0.0.1/tcp/$PLPORT
security = $_sec
perf     = on

[expose.echo]
peers    = $ID_cli
protocol = /x/echo
target   = 127.0.0.1:$ECHOPORT
EOC
	"$PEERLOCK" run -c "$d/peerlock.conf" 2>"$d/peerlock.log" &
	plpid=$!
	if ! wait_listen "$PLPORT" "$plpid"; then
		_v=FAIL _m="peerlock run did not come up: $(last_line "$(cat "$d/peerlock.log")")"
	fi
	if [ $_v = PASS ]; then
		peer_perf_client "$d/cli.key" "$PLPORT" "$want_pl" "$PERF_UP" \
		    "$PERF_DOWN" "$_sec" >"$d/cli.out" 2>"$d/cli.err"
		rc=$?
		up=$(json_num "$d/cli.out" uploadBytes)
		down=$(json_num "$d/cli.out" downloadBytes)
		if [ $rc -ne 0 ]; then
			_v=FAIL _m="perf-client:exit$rc:$(last_line "$(tail -n 3 "$d/cli.err")")"
		elif [ "$up:$down" != "$PERF_UP:$PERF_DOWN" ]; then
			_v=FAIL _m="perf-client_reports_up=${up}_down=$down"
		fi
	fi
	if [ $_v = PASS ]; then
		wait_grep "route=perf .*peer=$ID_cli proto=/perf/1.0.0 up=$PERF_DOWN down=$((PERF_UP + 8)) .*reason=done" \
		    "$d/peerlock.log" ||
		    _v=FAIL _m="no_close_line_route=perf_up=${PERF_DOWN}_down=$((PERF_UP + 8))_done:$(grep -m 1 'route=perf' "$d/peerlock.log")"
	fi
	[ $_v = PASS ] && _m="exact_counts,peerlock_close_line_ok:$(tail -n 1 "$d/cli.out")"
	cell "$_sec" "$_din" "$_t" $_v "$_m"
	kill "$plpid" 2>/dev/null
	wait "$plpid" 2>/dev/null

	# peerlock perf -> <impl> perf server
	_v=PASS _m=""
	peer_perf_server "$d/srv.key" "$d/srv.port" "$d/srv.out" "$d/srv.err" \
	    "$_sec"
	lpid=$!
	if ! wait_file "$d/srv.port" "$lpid"; then
		_v=FAIL _m="$IMPL perf-server did not start: $(last_line "$(cat "$d/srv.err")")"
	fi
	if [ $_v = PASS ]; then
		timeout "$T" "$PEERLOCK" perf -k "$work/pl.key" -s "$_sec" \
		    -u "$PERF_UP" -d "$PERF_DOWN" -t 80s \
		    "/ip4/127.0.0.1/tcp/$(cat "$d/srv.port")/p2p/$want_srv" \
		    >"$d/perf.out" 2>"$d/perf.err"
		rc=$?
		up=$(json_num "$d/perf.out" uploadBytes)
		down=$(json_num "$d/perf.out" downloadBytes)
		if [ $rc -ne 0 ]; then
			_v=FAIL _m="peerlock_perf:exit$rc:$(last_line "$(cat "$d/perf.err")")"
		elif [ "$up:$down" != "$PERF_UP:$PERF_DOWN" ]; then
			_v=FAIL _m="peerlock_perf_reports_up=${up}_down=$down"
		elif ! tail -n 1 "$d/perf.out" | python3 -c 'import json,sys
sys.exit(0 if json.loads(sys.stdin.read())["timeSeconds"] > 0 else 1)'; then
			_v=FAIL _m="timeSeconds_not_positive"
		fi
	fi
	if [ $_v = PASS ] && grep -q "^run " "$d/srv.out"; then
		wait_grep "^run peer=$PLID sent=$PERF_DOWN received=$PERF_UP\$" \
		    "$d/srv.out" ||
		    _v=FAIL _m="${IMPL}_server_run_line:$(grep -m 1 '^run ' "$d/srv.out")"
	fi
	[ $_v = PASS ] && _m="exact_counts:$(tail -n 1 "$d/perf.err")"
	cell "$_sec" "$_dout" "$_t" $_v "$_m"
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	lpid="" plpid=""
	MODE=raw
}

cells_main() {
	for tool in "$PEERLOCK" "$ECHOD" "$PLCLIENT"; do
		[ -x "$tool" ] || skip_all "missing $tool (build peerlock first)"
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-cells-$IMPL.XXXXXX")
	echopid=""
	lpid="" plpid=""
	trap 'kill $echopid $lpid $plpid 2>/dev/null; [ -n "${KEEP_TMP:-}" ] || [ -n "$keep" ] || rm -rf "$work"' EXIT
	trap 'exit 1' INT TERM HUP
	if ! PLID=$("$PEERLOCK" keygen -o "$work/pl.key" 2>"$work/keygen.err") ||
	    ! BADPLID=$("$PEERLOCK" keygen -o "$work/badpl.key" 2>>"$work/keygen.err"); then
		keep=1
		skip_all "peerlock keygen failed: $(last_line "$(cat "$work/keygen.err")")"
	fi
	"$ECHOD" --port 0 --port-file "$work/echo.port" 2>"$work/echod.log" &
	echopid=$!
	if ! wait_file "$work/echo.port" "$echopid" 100; then
		keep=1
		skip_all "echod did not start"
	fi
	ECHOPORT=$(cat "$work/echo.port")
	mode_on raw || IMPL_TYPES="" IMPL_SKIP_TYPES="" CELLS_TYPES=""
	for sec in ${CELLS_SECURITY:-noise tls}; do
		for t in ${CELLS_TYPES:-$IMPL_TYPES}; do
			run_pair "$sec" "$t"
		done
		for e in ${IMPL_SKIP_TYPES:-}; do
			cell "$sec" "$(dir_in)" "${e%%:*}" SKIP "${e#*:}"
			cell "$sec" "$(dir_out)" "${e%%:*}" SKIP "${e#*:}"
		done
	done
	if mode_on node && has_node; then
		for sec in ${CELLS_SECURITY:-${IMPL_NODE_SECS:-noise tls}}; do
			node_pair "$sec"
		done
	fi
	if mode_on perf && has_perf; then
		for sec in ${CELLS_SECURITY:-${IMPL_PERF_SECS:-noise tls}}; do
			perf_pair "$sec"
		done
	fi
	[ -n "$keep" ] && log "work directory kept: $work"
	exit 0
}

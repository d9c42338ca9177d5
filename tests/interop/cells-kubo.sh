#!/bin/sh
# cells-kubo.sh - the Kubo cells of the interop matrix: peerlock's node mode
# against a real Kubo daemon's `ipfs p2p` (libp2p stream mounting), the
# release pinned by tests/interop/kubo/go.mod and built by
# contrib/build-interop-kubo.sh outside the clone.
#
# Prints one line per cell on stdout, nothing else:
#   CELL kubo <sec> <dir> node <keytype> PASS|FAIL|SKIP <detail>
# <sec> is the security protocol the cell expects to be agreed (and checks
# in peerlock's log), <keytype> Kubo's identity key type (ed25519, Kubo's
# default).  Three configurations, each with both directions:
#   tls    Kubo's default Swarm.Transports (TLS before Noise, yamux),
#          peerlock security = tls noise
#   noise  Kubo with Noise only, peerlock security = tls noise
#   noise  Kubo's default (TLS first), peerlock security = noise: Kubo
#          dialing must fall back from /tls/1.0.0 to /noise
# Directions (each its own peerlock process, so that no cell rides on a
# session the other direction dialed):
#   kubo->peerlock  `ipfs p2p forward /x/echo` to peerlock's address, into
#                   a peerlock [expose.echo] (peers = Kubo's ID, protocol
#                   /x/echo, target echod): 8 concurrent plclient runs of
#                   1 MiB with distinct seeds (checked byte by byte), one
#                   Kubo session logged by peerlock over <sec>; a Kubo
#                   forward to the right address but another /p2p/ ID
#                   gets no echo.
#   peerlock->kubo  a peerlock [forward.k] (protocol /x/echo, peer Kubo's
#                   address) into `ipfs p2p listen /x/echo` (echod): 8
#                   concurrent 1 MiB runs, one session over <sec>; a
#                   forward to Kubo's address with another /p2p/ ID gets
#                   no echo.
# Kubo has no half-close on p2p tunnels: plclient runs without it.
# Diagnostics and, after a failure, the logs go to stderr.  Exit 0 always
# (the cells carry the verdict).  KEEP_TMP=1 keeps the work directory (it
# is always kept after a failure).
# Self-check of the checks: CELLS_KUBO_BREAK=peers puts another peer ID
# into the expose's peers and the forward's /p2p/ (every cell must FAIL).
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${PEERLOCK:=$top_builddir/peerlock}"
ECHOD="$top_builddir/tests/tools/echod"
PLCLIENT="$top_builddir/tests/tools/plclient"
N=8		# concurrent tunnels per direction
BYTES=1048576	# per tunnel
T=60		# seconds allowed for one client run
KEYTYPE=ed25519

failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-cells-kubo.XXXXXX")
pids=""
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	if [ "$failed" -ne 0 ] || [ -n "${KEEP_TMP:-}" ]; then
		echo "cells-kubo: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'failed=1; exit 1' INT TERM HUP

# cell SEC DIR RESULT DETAIL...
cell() {
	_s=$1 _d=$2 _r=$3
	shift 3
	echo "CELL kubo $_s $_d node $KEYTYPE $_r $*"
	[ "$_r" = FAIL ] && failed=1
	return 0
}

# CONFIGS: <cell sec>:<kubo security>:<peerlock security, _ for blank>.
CONFIGS="tls:default:tls_noise noise:default:noise noise:noise-only:tls_noise"

every_cell() {
	for c in $CONFIGS; do
		cell "${c%%:*}" "kubo->peerlock" "$1" "$2"
		cell "${c%%:*}" "peerlock->kubo" "$1" "$2"
	done
}

show_log() {
	{
		echo "--- $1 ($2):"
		tail -n 60 "$2" 2>/dev/null | sed 's/^/    /'
		echo "--- end of $1"
	} >&2
}

free_port() {
	python3 "$top_srcdir/tests/tools/free_port.py"
}

# wait_grep FILE PATTERN PID [TENTHS]: wait (default 30 s) for PATTERN in
# FILE, giving up if PID died.
wait_grep() {
	_i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		[ $_i -ge "${4:-300}" ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
}

# --- tools -----------------------------------------------------------------
for tool in "$PEERLOCK" "$ECHOD" "$PLCLIENT"; do
	if [ ! -x "$tool" ]; then
		echo "cells-kubo: missing executable $tool (build first)" >&2
		every_cell FAIL "missing $tool"
		exit 0
	fi
done
IPFS=$("$top_srcdir/contrib/build-interop-kubo.sh" --no-install \
    2>"$work/build.log" | tail -n 1)
if [ -z "$IPFS" ] || [ ! -x "$IPFS" ]; then
	if grep -q "go not found\|is older than" "$work/build.log"; then
		every_cell SKIP "no usable go: $(tail -n 1 "$work/build.log")"
		exit 0
	fi
	show_log "kubo build" "$work/build.log"
	every_cell FAIL "kubo build failed (contrib/build-interop-kubo.sh)"
	exit 0
fi
cat "$work/build.log" >&2
KUBO_VERSION=$("$IPFS" version --number 2>/dev/null)

"$ECHOD" --port 0 --port-file "$work/echo.port" 2>"$work/echod.log" &
echopid=$!
pids="$pids $echopid"
if ! wait_grep "$work/echo.port" . "$echopid" 100; then
	show_log "echod" "$work/echod.log"
	every_cell FAIL "echod did not start"
	exit 0
fi
ECHOPORT=$(cat "$work/echo.port")
# An ID nobody has: the wrong /p2p/ of the negative checks.
OTHERID=$("$PEERLOCK" keygen -o "$work/other.key")

# kubo_start NAME SECURITY: a throwaway repo $work/NAME (ed25519 identity,
# test profile: loopback only, no bootstrap, no routing, no MDNS, no
# relay, no AutoNAT, no AutoConf fetches, no telemetry), TCP only; SECURITY "default"
# keeps Kubo's order (TLS, then Noise), "noise-only" disables TLS.  Sets
# KUBOID, KUBOPORT, kpid, and IPFS_PATH for the `ipfs p2p` commands.
kubo_start() {
	_n=$1 _sec=$2
	IPFS_PATH="$work/$_n"
	export IPFS_PATH
	"$IPFS" init --profile=test >"$work/$_n.init.log" 2>&1 ||
	    return 1
	KUBOID=$("$IPFS" config Identity.PeerID) || return 1
	KUBOPORT=$(free_port) && _api=$(free_port) || return 1
	{
		"$IPFS" config --json Addresses.Swarm \
		    "[\"/ip4/127.0.0.1/tcp/$KUBOPORT\"]" &&
		"$IPFS" config Addresses.API "/ip4/127.0.0.1/tcp/$_api" &&
		"$IPFS" config --json Addresses.Gateway '[]' &&
		"$IPFS" config --json Addresses.Announce '[]' &&
		"$IPFS" config --json Bootstrap '[]' &&
		"$IPFS" config --json AutoConf.Enabled false &&
		"$IPFS" config Routing.Type none &&
		"$IPFS" config --json Discovery.MDNS.Enabled false &&
		"$IPFS" config --json Swarm.RelayClient.Enabled false &&
		"$IPFS" config --json Swarm.RelayService.Enabled false &&
		"$IPFS" config --json Swarm.DisableNatPortMap true &&
		"$IPFS" config AutoNAT.ServiceMode disabled &&
		"$IPFS" config --json AutoTLS.Enabled false &&
		"$IPFS" config --json Swarm.Transports.Network.QUIC false &&
		"$IPFS" config --json Swarm.Transports.Network.WebTransport false &&
		"$IPFS" config --json Swarm.Transports.Network.WebRTCDirect false &&
		"$IPFS" config --json Swarm.Transports.Network.Websocket false &&
		"$IPFS" config --json Experimental.Libp2pStreamMounting true
	} >>"$work/$_n.init.log" 2>&1 || return 1
	if [ "$_sec" = noise-only ]; then
		"$IPFS" config --json Swarm.Transports.Security.TLS false \
		    >>"$work/$_n.init.log" 2>&1 || return 1
	fi
	# GOLOG_LOG_LEVEL: Kubo's libp2p logs, for the log shown on failure.
	GOLOG_LOG_LEVEL="${KUBO_LOG_LEVEL:-error,p2p-mount=debug,net/identify=debug}" \
	    IPFS_TELEMETRY=off timeout 600 "$IPFS" daemon --enable-gc=false \
	    >"$work/$_n.daemon.log" 2>&1 &
	kpid=$!
	pids="$pids $kpid"
	wait_grep "$work/$_n.daemon.log" "Daemon is ready" "$kpid" 600
}

# pl_start NAME SECURITY: peerlock with $work/NAME.conf's sections after a
# [peerlock] one; sets plpid, PLPORT and PLID.
pl_start() {
	_n=$1 _sec=$2
	PLID=$("$PEERLOCK" keygen -o "$work/$_n.key") || return 1
	PLPORT=$(free_port) || return 1
	{
		echo "[peerlock]"
		echo "identity = $work/$_n.key"
		echo "listen = /ip4/127.0.0.1/tcp/$PLPORT"
		echo "security = $(echo "$_sec" | tr _ ' ')"
		echo "handshake_timeout = 10s"
		cat "$work/$_n.sections"
	} >"$work/$_n.conf"
	"$PEERLOCK" run -c "$work/$_n.conf" >"$work/$_n.log" 2>&1 &
	plpid=$!
	pids="$pids $plpid"
	wait_grep "$work/$_n.log" "ready" "$plpid" 100
}

# tunnels PORT TAG: N concurrent plclient runs of BYTES through
# 127.0.0.1:PORT; sets bad (how many failed) and leaves their output in
# $work/TAG.*.out.
tunnels() {
	_ps=""
	for _i in $(seq $N); do
		timeout $((T + 10)) "$PLCLIENT" 127.0.0.1 "$1" --bytes $BYTES \
		    --seed "$2-$_i" --timeout $T >"$work/$2.$_i.out" 2>&1 &
		_ps="$_ps $!"
	done
	bad=0
	for _p in $_ps; do wait "$_p" || bad=$((bad + 1)); done
}

# sessions LOG: the sessions with Kubo peerlock logged, and over what.
sessions() {
	grep "session with $KUBOID over" "$1" | sed 's/.* over \([^ ]*\) .*/\1/'
}

want_proto() {
	case $1 in tls) echo /tls/1.0.0 ;; noise) echo /noise ;; esac
}

# cell_kubo_to_pl SEC TAG: Kubo's p2p forward into a peerlock expose.
cell_kubo_to_pl() {
	_s=$1 _t=$2 _why=""
	_peers=$KUBOID
	[ "${CELLS_KUBO_BREAK:-}" = peers ] && _peers=$OTHERID
	printf '[expose.echo]\npeers = %s\nprotocol = /x/echo\ntarget = 127.0.0.1:%s\n' \
	    "$_peers" "$ECHOPORT" >"$work/$_t-e.sections"
	if ! pl_start "$_t-e" "$plsec"; then
		show_log "peerlock $_t-e" "$work/$_t-e.log"
		cell "$_s" "kubo->peerlock" FAIL "peerlock run did not come up"
		return
	fi
	_fw=$(free_port) && _bfw=$(free_port) || return 1
	_to=$PLID
	[ "${CELLS_KUBO_BREAK:-}" = peers ] && _to=$OTHERID
	"$IPFS" p2p close --all >/dev/null 2>&1
	if ! "$IPFS" p2p forward /x/echo "/ip4/127.0.0.1/tcp/$_fw" \
	    "/ip4/127.0.0.1/tcp/$PLPORT/p2p/$_to" >"$work/$_t-e.p2p" 2>&1 ||
	    ! "$IPFS" p2p forward /x/echo "/ip4/127.0.0.1/tcp/$_bfw" \
	    "/ip4/127.0.0.1/tcp/$PLPORT/p2p/$OTHERID" >>"$work/$_t-e.p2p" 2>&1; then
		show_log "ipfs p2p forward" "$work/$_t-e.p2p"
		cell "$_s" "kubo->peerlock" FAIL "ipfs p2p forward refused"
		kill "$plpid" 2>/dev/null
		return
	fi
	tunnels "$_fw" "$_t-e"
	[ $bad -eq 0 ] || _why="$_why; $bad of $N tunnels failed: $(cat "$work/$_t-e".*.out | grep -v '^ok' | head -n 1)"
	_got=$(sessions "$work/$_t-e.log" | sort | uniq -c | sed 's/^ *//' |
	    tr '\n' ' ')
	[ "$_got" = "1 $(want_proto "$_s") " ] ||
	    _why="$_why; sessions with Kubo: '$_got', want '1 $(want_proto "$_s")'"
	_out=$(timeout $((T + 10)) "$PLCLIENT" 127.0.0.1 "$_bfw" --bytes 100 \
	    --timeout 20 2>&1) &&
	    _why="$_why; a Kubo forward to another /p2p/ ID echoed: $_out"
	kill -0 "$plpid" 2>/dev/null || _why="$_why; peerlock exited"
	"$IPFS" p2p close --all >/dev/null 2>&1
	kill "$plpid" 2>/dev/null
	wait "$plpid" 2>/dev/null
	if [ -z "$_why" ]; then
		cell "$_s" "kubo->peerlock" PASS \
		    "kubo $KUBO_VERSION $ksec, peerlock $(echo "$plsec" | tr _ ,): $N x 1MiB echoed; another /p2p/ ID refused"
	else
		cell "$_s" "kubo->peerlock" FAIL "${_why#; }"
		show_log "peerlock ($_t expose)" "$work/$_t-e.log"
		show_log "kubo daemon" "$work/$kname.daemon.log"
	fi
}

# cell_pl_to_kubo SEC TAG: a peerlock forward into Kubo's p2p listen.
cell_pl_to_kubo() {
	_s=$1 _t=$2 _why=""
	_fw=$(free_port) && _bfw=$(free_port) || return 1
	_to=$KUBOID
	[ "${CELLS_KUBO_BREAK:-}" = peers ] && _to=$OTHERID
	printf '[forward.k]\nlisten = 127.0.0.1:%s\npeer = /ip4/127.0.0.1/tcp/%s/p2p/%s\nprotocol = /x/echo\n' \
	    "$_fw" "$KUBOPORT" "$_to" >"$work/$_t-f.sections"
	printf '[forward.bad]\nlisten = 127.0.0.1:%s\npeer = /ip4/127.0.0.1/tcp/%s/p2p/%s\nprotocol = /x/echo\n' \
	    "$_bfw" "$KUBOPORT" "$OTHERID" >>"$work/$_t-f.sections"
	"$IPFS" p2p close --all >/dev/null 2>&1
	if ! "$IPFS" p2p listen /x/echo "/ip4/127.0.0.1/tcp/$ECHOPORT" \
	    >"$work/$_t-f.p2p" 2>&1; then
		show_log "ipfs p2p listen" "$work/$_t-f.p2p"
		cell "$_s" "peerlock->kubo" FAIL "ipfs p2p listen refused"
		return
	fi
	if ! pl_start "$_t-f" "$plsec"; then
		show_log "peerlock $_t-f" "$work/$_t-f.log"
		cell "$_s" "peerlock->kubo" FAIL "peerlock run did not come up"
		return
	fi
	tunnels "$_fw" "$_t-f"
	[ $bad -eq 0 ] || _why="$_why; $bad of $N tunnels failed: $(cat "$work/$_t-f".*.out | grep -v '^ok' | head -n 1)"
	_got=$(sessions "$work/$_t-f.log" | sort | uniq -c | sed 's/^ *//' |
	    tr '\n' ' ')
	[ "$_got" = "1 $(want_proto "$_s") " ] ||
	    _why="$_why; sessions with Kubo: '$_got', want '1 $(want_proto "$_s")'"
	_out=$(timeout $((T + 10)) "$PLCLIENT" 127.0.0.1 "$_bfw" --bytes 100 \
	    --timeout 20 2>&1) &&
	    _why="$_why; a forward to another /p2p/ ID echoed: $_out"
	kill -0 "$plpid" 2>/dev/null || _why="$_why; peerlock exited"
	"$IPFS" p2p close --all >/dev/null 2>&1
	kill "$plpid" 2>/dev/null
	wait "$plpid" 2>/dev/null
	if [ -z "$_why" ]; then
		cell "$_s" "peerlock->kubo" PASS \
		    "kubo $KUBO_VERSION $ksec, peerlock $(echo "$plsec" | tr _ ,): $N x 1MiB echoed; another /p2p/ ID refused"
	else
		cell "$_s" "peerlock->kubo" FAIL "${_why#; }"
		show_log "peerlock ($_t forward)" "$work/$_t-f.log"
		show_log "kubo daemon" "$work/$kname.daemon.log"
	fi
}

kname=""
cfg=0
for c in $CONFIGS; do
	cfg=$((cfg + 1))
	s=${c%%:*} plsec=${c##*:} ksec=${c#*:}
	ksec=${ksec%:*}
	if [ "kubo-$ksec" != "$kname" ]; then
		[ -n "$kname" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
		kname="kubo-$ksec"
		if ! kubo_start "$kname" "$ksec"; then
			show_log "ipfs init/config" "$work/$kname.init.log"
			show_log "ipfs daemon" "$work/$kname.daemon.log"
			cell "$s" "kubo->peerlock" FAIL "kubo daemon did not come up"
			cell "$s" "peerlock->kubo" FAIL "kubo daemon did not come up"
			kname=""
			continue
		fi
	fi
	cell_kubo_to_pl "$s" "c$cfg"
	cell_pl_to_kubo "$s" "c$cfg"
done
[ -n "$kname" ] && kill "$kpid" 2>/dev/null
exit 0

# lib.sh - shared helpers for the end-to-end scripts (sourced, not run).
# Real peerlock processes, real loopback sockets.  Every check prints
# "PASS: ..." or "FAIL: ..."; pl_finish prints "N passed, M failed".

set -u
: "${PEERLOCK:=${top_builddir:-.}/peerlock}"
: "${top_builddir:=$(cd "$(dirname "$PEERLOCK")" && pwd)}"
TOOLS="$top_builddir/tests/tools"
T=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-e2e.XXXXXX")
PIDS=""
NPASS=0
NFAIL=0

pl_cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	# Under a wrapper (valgrind) exiting takes longer: give the processes
	# time to write their reports before the SIGKILL below.
	if [ -n "${PEERLOCK_WRAPPER:-}" ]; then
		for _ in $(seq 150); do
			alive=""
			for p in $PIDS; do
				kill -0 "$p" 2>/dev/null && alive=1
			done
			[ -z "$alive" ] && break
			sleep 0.1
		done
	fi
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$NFAIL" -eq 0 ] && [ -z "${KEEP_TMP:-}" ]; then rm -rf "$T"; else
		echo "logs kept in $T"; fi
}
trap pl_cleanup EXIT INT TERM

pass() { NPASS=$((NPASS + 1)); echo "PASS: $*"; }
fail() { NFAIL=$((NFAIL + 1)); echo "FAIL: $*"; }
# check DESC CMD...: pass if CMD succeeds
check() { d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# check_not DESC CMD...: pass if CMD fails
check_not() { d=$1; shift; if "$@"; then fail "$d"; else pass "$d"; fi; }

pl_finish() {
	echo "$NPASS passed, $NFAIL failed"
	if [ "$NFAIL" -ne 0 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $f (last 40 lines)"; tail -n 40 "$f"
		done
		exit 1
	fi
	exit 0
}

# free_port: print a loopback TCP port that was free a moment ago, below
# the ephemeral range (tests/tools/free_port.py: no concurrent test can
# take it for an outgoing connection).
free_port() {
	python3 "${top_srcdir:?}/tests/tools/free_port.py"
}

# wait_port PORT [SECONDS]: wait until 127.0.0.1:PORT accepts.
wait_port() {
	python3 - "$1" "${2:-10}" <<'PY'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# bg NAME CMD...: run CMD in the background, log in $T/NAME.log.
bg() {
	n=$1; shift
	"$@" >>"$T/$n.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$n=$!"
}

# start_echod NAME [args]: echo server on a fresh port; sets PORT_NAME.
start_echod() {
	n=$1; shift
	bg "$n" "$TOOLS/echod" --port 0 --port-file "$T/$n.port" \
	    --count-file "$T/$n.count" "$@"
	for _ in $(seq 100); do [ -s "$T/$n.port" ] && break; sleep 0.05; done
	eval "PORT_$n=$(cat "$T/$n.port")"
}

# accepted NAME: connections the echod NAME has accepted so far.
accepted() { cat "$T/$1.count" 2>/dev/null || echo 0; }

# keygen NAME: identity in $T/NAME.key; sets ID_NAME.
keygen() {
	eval "ID_$1=$("$PEERLOCK" keygen -o "$T/$1.key" ${2:+-t "$2"})"
}

# netns_pair: network namespaces $NA and $NB joined by the veth pair
# $VA/$VB with $WAN_A/24 and $WAN_B/24, loopback up; the script is
# skipped where namespaces are not permitted.  On exit they are removed,
# with anything still running inside and their /etc/netns files.
netns_pair() {
	trap netns_cleanup EXIT
	trap 'exit 1' INT TERM
	ip netns add "$NA" 2>"$T/netns.err" ||
	    skip "ip netns add not permitted here: $(cat "$T/netns.err")"
	ip netns add "$NB" ||
	    skip "ip netns add not permitted (second namespace)"
	ip link add "$VA" type veth peer name "$VB" &&
	    ip link set "$VA" netns "$NA" &&
	    ip link set "$VB" netns "$NB" &&
	    ip -n "$NA" addr add "$WAN_A/24" dev "$VA" &&
	    ip -n "$NB" addr add "$WAN_B/24" dev "$VB" &&
	    ip -n "$NA" link set lo up && ip -n "$NB" link set lo up &&
	    ip -n "$NA" link set "$VA" up && ip -n "$NB" link set "$VB" up ||
	    { echo "FAIL: cannot set up the veth pair"; exit 1; }
}

# netns_cleanup: pl_cleanup, then netns_pair's namespaces go.
netns_cleanup() {
	pl_cleanup
	for ns in "$NA" "$NB"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
	done
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "/etc/netns/$NA" "/etc/netns/$NB"
}

# in_ns NS CMD...: run CMD in network namespace NS (faults.sh,
# netns-topology.sh).
in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# ns_connect NS HOST PORT: exit 0 if a TCP connection from NS succeeds.
ns_connect() {
	in_ns "$1" python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close()
except OSError as e:
    print("connect %s:%s: %s" % (sys.argv[1], sys.argv[2], e)); sys.exit(1)
' "$2" "$3"
}

# Config builders for the loopback scripts; each writes $T/NAME.conf.
# conf_node NAME [KEY=VALUE ...]: a new file with NAME's [peerlock]
# section: identity $T/NAME.key, then "KEY = VALUE" per argument.
# PL_THREADS=N in the environment adds "threads = N" (unless the
# arguments set threads): a script built on conf_node then runs with N
# event loops per peerlock (docs/threads.md).
conf_node() {
	_n=$1
	shift
	{
		echo "[peerlock]"
		echo "identity = $T/$_n.key"
		case " $* " in
		*" threads="*) ;;
		*) [ -n "${PL_THREADS:-}" ] && echo "threads = $PL_THREADS" ;;
		esac
		conf_kv "$@"
	} >"$T/$_n.conf"
}

# conf_kv [KEY=VALUE ...]: print "KEY = VALUE" lines.
conf_kv() {
	for _kv in "$@"; do
		echo "${_kv%%=*} = ${_kv#*=}"
	done
}

# conf_expose NAME ROUTE PEER_ID TARGET_PORT: add [expose.ROUTE] letting
# PEER_ID reach 127.0.0.1:TARGET_PORT.
conf_expose() {
	printf '\n[expose.%s]\npeers = %s\ntarget = 127.0.0.1:%s\n' \
	    "$2" "$3" "$4" >>"$T/$1.conf"
}

# conf_expose_node NAME ROUTE PEERS PROTOCOL TARGET_PORT: add a node-mode
# [expose.ROUTE] letting PEERS (space-separated IDs) open PROTOCOL streams
# to 127.0.0.1:TARGET_PORT.
conf_expose_node() {
	printf '\n[expose.%s]\npeers = %s\nprotocol = %s\ntarget = 127.0.0.1:%s\n' \
	    "$2" "$3" "$4" "$5" >>"$T/$1.conf"
}

# conf_connect NAME ROUTE PEER_ADDR: add [connect.ROUTE] keeping a session
# to the multiaddr PEER_ADDR.
conf_connect() {
	printf '\n[connect.%s]\npeer = %s\n' "$2" "$3" >>"$T/$1.conf"
}

# conf_forward NAME ROUTE LISTEN_PORT PEER_PORT PEER_ID [KEY=VALUE ...]:
# add [forward.ROUTE] from 127.0.0.1:LISTEN_PORT to PEER_ID at
# 127.0.0.1:PEER_PORT, then the extra keys.
conf_forward() {
	_f=$1 _r=$2 _l=$3 _p=$4 _id=$5
	shift 5
	{
		printf '\n[forward.%s]\nlisten = 127.0.0.1:%s\n' "$_r" "$_l"
		echo "peer = /ip4/127.0.0.1/tcp/$_p/p2p/$_id"
		conf_kv "$@"
	} >>"$T/$_f.conf"
}

# PL_READY: the line peerlock logs once every listener is bound
# ("peerlock 0.1.0 (git 1a2b3c4) ready", text or JSON).  Not a bare
# "ready": that also matches "Address already in use".
PL_READY='peerlock [^ "]+ (\([^)]*\) )?ready'

# is_ready NAME: NAME's log has the ready line.
is_ready() { grep -Eq -- "$PL_READY" "$T/$1.log" 2>/dev/null; }

# ready_count NAME: how many ready lines NAME's log has (restarts).
ready_count() { cat "$T/$1.log" 2>/dev/null | grep -Ec -- "$PL_READY"; }

# start_peerlock NAME: run $T/NAME.conf, wait for its listeners.
# PEERLOCK_WRAPPER (e.g. "valgrind --error-exitcode=99") is prepended
# to the command: the wrapper must exec peerlock in the same process.
start_peerlock() {
	bg "$1" ${PEERLOCK_WRAPPER:-} "$PEERLOCK" run -c "$T/$1.conf"
	for _ in $(seq "${PEERLOCK_START_TRIES:-200}"); do
		is_ready "$1" && return 0
		kill -0 "$(eval echo \$PID_$1)" 2>/dev/null || break
		sleep 0.05
	done
	echo "peerlock $1 did not start:"; cat "$T/$1.log"; return 1
}

# logged NAME PATTERN: the log of NAME matches PATTERN (eventually).
logged() {
	for _ in $(seq 100); do
		grep -q -- "$2" "$T/$1.log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# logged_re NAME ERE: as logged, with an extended regular expression.
logged_re() {
	for _ in $(seq 100); do
		grep -Eq -- "$2" "$T/$1.log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# rss_kb PID: resident set size in KiB.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# rawsend PORT HEX [HOLD_SECONDS]: send raw bytes, hold, print what came
# back as hex; exits 0 when the peer closed the connection.
rawsend() {
	python3 - "$@" <<'PY'
import socket, sys, time
port, data = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
hold = float(sys.argv[3]) if len(sys.argv) > 3 else 5
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(data)
s.settimeout(hold)
got, closed = b"", False
try:
    while True:
        b = s.recv(65536)
        if not b:
            closed = True
            break
        got += b
except socket.timeout:
    pass
except ConnectionResetError:
    closed = True
print(got.hex())
sys.exit(0 if closed else 1)
PY
}

# log_mark NAME: remember the length of NAME's log (see since, *_after).
log_mark() {
	eval "MARK_$1=$(cat "$T/$1.log" 2>/dev/null | wc -l)"
}

# since NAME: the lines NAME logged after its last log_mark.
since() {
	eval "m=\${MARK_$1:-0}"
	tail -n +"$((m + 1))" "$T/$1.log" 2>/dev/null
}

# logged_after NAME PATTERN: eventually a line after the mark matches.
logged_after() {
	for _ in $(seq 100); do
		since "$1" | grep -q -- "$2" && return 0
		sleep 0.05
	done
	return 1
}

# count_after NAME PATTERN: lines after the mark that match PATTERN.
count_after() { since "$1" | grep -c -- "$2"; }

# start_impair NAME TARGET_PORT [plimpair options]: an impairment relay
# (tests/tools/plimpair) from a fresh loopback port to
# 127.0.0.1:TARGET_PORT; sets PORT_NAME from its READY line.
start_impair() {
	_n=$1 _t=$2
	shift 2
	bg "$_n" "$TOOLS/plimpair" --target "127.0.0.1:$_t" "$@"
	for _ in $(seq 100); do
		grep -q '^READY ' "$T/$_n.log" 2>/dev/null && break
		sleep 0.05
	done
	eval "PORT_$_n=$(awk '/^READY /{print $2; exit}' "$T/$_n.log")"
}

#!/usr/bin/env bash
# run.sh - peerlock's benchmark: peerlock against the sidecars people would
# use instead, on loopback, with one load tool and one set of sink/echo
# servers.  See docs/benchmarks.md for what each figure means.
#
#   contrib/bench/run.sh [--quick] [--runs N] [--systems "LIST"] [--out DIR]
#                        [--keep] [--build] [--apps|--no-apps] [--rtt "MS..."]
#
#   --quick     smoke test: 1 run, 64 MB bulk, 2 s connection rate,
#               2000 ping-pongs, idle levels 0/100/1000, 5 s pgbench,
#               50,000 redis requests, 32 MB bulk at each RTT
#   --runs N    runs per workload (default 5); the table shows medians
#   --systems   subset of: direct socat-pair stunnel-pair haproxy-pair
#               ghostunnel-pair spiped-pair peerlock-noise peerlock-tls
#               peerlock-node
#               (peerlock-node: node mode over /noise, every tunnel a
#               yamux stream of one session; "new conns" are new tunnels
#               over the live session)
#   --apps      real clients through each system (default on): pgbench
#               (TPC-B and select-only, 8 clients) against a throwaway
#               PostgreSQL, redis-benchmark (SET, GET, 8 clients) against
#               a throwaway redis-server; --no-apps skips them
#   --rtt LIST  added round-trip times in ms (default "0 10 50"; "" skips):
#               for each, bulk over one tunnel and the time to the first
#               byte of a new tunnel, with tests/tools/plimpair (latency
#               relay) on the encrypted leg when the RTT is above 0
#   --out DIR   results directory (default contrib/bench/results)
#   --keep      keep the scratch directory (configs, keys, logs)
#   --build     first build an optimised peerlock into build-bench/ (plain
#               configure, -O2) and benchmark that one
#
# Environment: PEERLOCK (binary, default ./build/peerlock from the repo top),
# PEERLOCK_TLS=0 (skip peerlock-tls), PEERLOCK_EXTRA (lines added to each
# peerlock's [peerlock] section, default: max_connections,
# max_connections_per_ip, max_handshakes, max_handshakes_per_ip all set to
# the largest idle level + 1000),
# BENCH_BASE_PORT (default 20000), BENCH_BULK_BYTES, BENCH_CONN_SECS,
# BENCH_PP_ROUNDS, BENCH_MEM_LEVELS ("0 1000 10000"), BENCH_PG_SECS (20),
# BENCH_PG_SCALE (10), BENCH_REDIS_N (200000), BENCH_RTT_BYTES (200 MB),
# BENCH_FIRSTBYTE_N (20 new tunnels per RTT), PLIMPAIR (the relay binary,
# default tests/tools/plimpair next to PEERLOCK's build, then build/),
# GHOSTUNNEL (binary; default: contrib/build-bench-ghostunnel.sh builds
# the pinned release into /var/cache/peerlock-interop).
#
# Writes OUT/results.md, OUT/results.csv, OUT/chart.png and OUT/raw.csv.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

ALL_SYSTEMS="direct socat-pair stunnel-pair haproxy-pair ghostunnel-pair spiped-pair peerlock-noise peerlock-tls peerlock-node"
SYSTEMS=$ALL_SYSTEMS
RUNS=5
QUICK=0
APPS=1
RTTS="0 10 50"
KEEP=0
BUILD=0
OUT=$here/results
PLB=$here/plbench
PEERLOCK=${PEERLOCK:-$top/build/peerlock}
BASE_PORT=${BENCH_BASE_PORT:-20000}

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; RUNS=1 ;;
	--runs) RUNS=${2:?}; shift ;;
	--systems) SYSTEMS=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	--build) BUILD=1 ;;
	--apps) APPS=1 ;;
	--no-apps) APPS=0 ;;
	--rtt) RTTS=${2?}; shift ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown argument $1" >&2; usage ;;
	esac
	shift
done
for s in $SYSTEMS; do
	case " $ALL_SYSTEMS " in
	*" $s "*) ;;
	*) echo "run.sh: unknown system $s" >&2; exit 2 ;;
	esac
done
NRTT=0
for r in $RTTS; do
	case $r in
	*[!0-9]*) echo "run.sh: --rtt takes whole milliseconds, not $r" >&2
		exit 2 ;;
	esac
	NRTT=$((NRTT + 1))
done
if [ "$NRTT" -gt 10 ]; then
	echo "run.sh: at most 10 --rtt values" >&2
	exit 2
fi

if [ "$QUICK" = 1 ]; then
	BULK_BYTES=${BENCH_BULK_BYTES:-64000000}
	CONN_SECS=${BENCH_CONN_SECS:-2}
	PP_ROUNDS=${BENCH_PP_ROUNDS:-2000}
	MEM_LEVELS=${BENCH_MEM_LEVELS:-"0 100 1000"}
	PG_SECS=${BENCH_PG_SECS:-5}
	REDIS_N=${BENCH_REDIS_N:-50000}
	RTT_BYTES=${BENCH_RTT_BYTES:-32000000}
	FB_N=${BENCH_FIRSTBYTE_N:-10}
else
	BULK_BYTES=${BENCH_BULK_BYTES:-1000000000}
	CONN_SECS=${BENCH_CONN_SECS:-10}
	PP_ROUNDS=${BENCH_PP_ROUNDS:-20000}
	MEM_LEVELS=${BENCH_MEM_LEVELS:-"0 1000 10000"}
	PG_SECS=${BENCH_PG_SECS:-20}
	REDIS_N=${BENCH_REDIS_N:-200000}
	RTT_BYTES=${BENCH_RTT_BYTES:-200000000}
	FB_N=${BENCH_FIRSTBYTE_N:-20}
fi
PG_SCALE=${BENCH_PG_SCALE:-10}
MEM_MAX=0
for l in $MEM_LEVELS; do [ "$l" -gt "$MEM_MAX" ] && MEM_MAX=$l; done
# Every load comes from 127.0.0.1: lift the per-IP and handshake limits
# (defaults 256/32/256) so the connection-rate and idle workloads measure
# peerlock, not its abuse limits.
PL_LIM=$((MEM_MAX + 1000))
PEERLOCK_EXTRA=${PEERLOCK_EXTRA-"max_connections = $PL_LIM
max_connections_per_ip = $PL_LIM
max_handshakes = $PL_LIM
max_handshakes_per_ip = $PL_LIM"}

log() { printf '%s\n' "run.sh: $*" >&2; }

# --------------------------------------------------------------- setup

# Install what is missing from Debian (as root), or say what is missing.
# The server packages (haproxy, postgresql, redis-server) are installed
# without starting their system services: a policy-rc.d that refuses every
# start is in place during apt-get unless one is there already, and the
# services are stopped and disabled afterwards in case one started anyway.
# The benchmark runs its own throwaway instances.
install_deps() {
	local missing="" p svc prc=/usr/sbin/policy-rc.d ours=0
	for p in stunnel4 haproxy spiped socat gnuplot-nox openssl make gcc \
	    pkg-config libsodium-dev procps util-linux postgresql \
	    postgresql-contrib redis-server redis-tools; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	# gnuplot (any flavour) will do for the chart.
	case "$missing" in *gnuplot-nox*)
		command -v gnuplot >/dev/null &&
		    missing=${missing/ gnuplot-nox/} ;;
	esac
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		log "apt-get install$missing"
		if [ ! -e "$prc" ]; then
			printf '#!/bin/sh\n# run.sh: no service starts\nexit 101\n' \
			    >"$prc" && chmod 755 "$prc" && ours=1
		fi
		apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --no-install-recommends $missing >/dev/null ||
		    log "apt-get failed; systems lacking tools become n/a"
		[ "$ours" = 1 ] && rm -f "$prc"
		for svc in haproxy postgresql redis-server; do
			case "$missing" in *" $svc"*) ;; *) continue ;; esac
			if command -v systemctl >/dev/null &&
			    [ -d /run/systemd/system ]; then
				systemctl disable --now "$svc" >/dev/null 2>&1
			elif [ -x "/etc/init.d/$svc" ]; then
				"/etc/init.d/$svc" stop >/dev/null 2>&1
			fi
		done
	else
		log "missing packages:$missing (run as root to install);" \
		    "affected systems become n/a"
	fi
}

# Raise the open-file limit for the 10,000-tunnel memory level.
raise_nofile() {
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
	NOFILE=$(ulimit -n)
	[ "$NOFILE" = unlimited ] && NOFILE=1048576
	if [ "$NOFILE" -lt 65536 ]; then
		log "ulimit -n is $NOFILE (hard limit; 65536 wanted): idle" \
		    "levels above $(( (NOFILE - 100) / 2 )) tunnels are n/a"
	fi
}

WORK=""
ALL_PIDS=""
RELAY=""
declare -A PNAME

# Stop the given processes (and their children: socat forks) by pid.
stop_pids() {
	local p i st
	for p in "$@"; do
		pkill -TERM -P "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in "$@"; do
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		{ wait "$p"; } 2>/dev/null
		st=$?
		# 143 = our SIGTERM, 137 = our SIGKILL; anything by signal else
		# (a crash while stopping) is worth a note.
		if [ "$st" -gt 128 ] && [ "$st" -ne 143 ] && [ "$st" -ne 137 ]
		then
			note "${PNAME[$p]:-pid $p} died of signal" \
			    "$((st - 128)) while being stopped (after measuring)"
		fi
	done
	for p in "$@"; do
		ALL_PIDS=$(printf '%s\n' $ALL_PIDS | grep -vx "$p" | tr '\n' ' ')
	done
	return 0
}

# On exit: stop everything we started, remove the scratch directory.
# The throwaway PostgreSQL is stopped by its postmaster's pid (a fast
# shutdown), which runuser does not always pass a signal on to.
cleanup() {
	local pm
	if [ -n "$WORK" ] && [ -f "$WORK/pg/data/postmaster.pid" ]; then
		pm=$(head -n 1 "$WORK/pg/data/postmaster.pid")
		[ -n "$pm" ] && kill -INT "$pm" 2>/dev/null
		sleep 1
	fi
	[ -n "$ALL_PIDS" ] && stop_pids $ALL_PIDS
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then log "kept $WORK"
		else rm -rf "$WORK"; fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn NAME CMD...: start CMD in the background, log to WORK/logs/NAME.log;
# sets SPAWNED to its pid.
spawn() {
	local name=$1
	shift
	"$@" >"$WORK/logs/$name.log" 2>&1 </dev/null &
	SPAWNED=$!
	PNAME[$SPAWNED]=$name
	ALL_PIDS="$ALL_PIDS $SPAWNED"
}

# ------------------------------------------------------------- systems
#
# up_SYSTEM TAG TARGET ENTRY MID DIAL: start a proxy pair that accepts
# plaintext on ENTRY, carries it over MID and delivers it to TARGET.  Side B
# listens on MID, side A connects to DIAL (MID itself, or the latency relay
# in front of MID).  Sets PAIR (the pids of side A and side B).  Returns
# non-zero if it cannot start.

up_direct() { PAIR=""; }

up_socat-pair() {
	local tag=$1 tgt=$2 in=$3 mid=$4 dial=$5 a
	spawn "$tag-A" socat -t 5 \
	    "TCP-LISTEN:$in,bind=127.0.0.1,fork,reuseaddr,backlog=4096,nodelay" \
	    "TCP:127.0.0.1:$dial,nodelay"
	a=$SPAWNED
	spawn "$tag-B" socat -t 5 \
	    "TCP-LISTEN:$mid,bind=127.0.0.1,fork,reuseaddr,backlog=4096,nodelay" \
	    "TCP:127.0.0.1:$tgt,nodelay"
	PAIR="$a $SPAWNED"
}

STUNNEL=""

# Two self-signed P-256 certificates, each side pins the other's (the
# TLS sidecars: stunnel, haproxy, ghostunnel).  The subjectAltName is for
# ghostunnel (Go checks names only there); X.pem is certificate and key in
# one file for haproxy.
tls_certs() {
	local s
	for s in A B; do
		openssl req -x509 -newkey ec \
		    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		    -subj "/CN=bench-$s" \
		    -addext "subjectAltName=DNS:bench-$s,IP:127.0.0.1" \
		    -keyout "$WORK/st/$s.key" \
		    -out "$WORK/st/$s.crt" >/dev/null 2>&1 || return 1
		cat "$WORK/st/$s.crt" "$WORK/st/$s.key" >"$WORK/st/$s.pem"
	done
}

# Write one stunnel configuration: FILE SIDE CLIENT ACCEPT CONNECT PEER.
stunnel_conf() {
	cat >"$1" <<EOF
foreground = yes
pid =
syslog = no
debug = warning
[bench]
client = $3
accept = 127.0.0.1:$4
connect = 127.0.0.1:$5
cert = $WORK/st/$2.crt
key = $WORK/st/$2.key
CAfile = $WORK/st/$6.crt
verifyPeer = yes
sslVersionMin = TLSv1.3
sessionResume = no
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
EOF
}

up_stunnel-pair() {
	local tag=$1 tgt=$2 in=$3 mid=$4 dial=$5 a
	[ -n "$STUNNEL" ] || { NA_REASON="stunnel4 not installed"; return 1; }
	stunnel_conf "$WORK/st/$tag-A.conf" A yes "$in" "$dial" B
	stunnel_conf "$WORK/st/$tag-B.conf" B no "$mid" "$tgt" A
	spawn "$tag-A" "$STUNNEL" "$WORK/st/$tag-A.conf"
	a=$SPAWNED
	spawn "$tag-B" "$STUNNEL" "$WORK/st/$tag-B.conf"
	PAIR="$a $SPAWNED"
}

HAPROXY=""

# Write one haproxy configuration: FILE SIDE(A|B) ACCEPT CONNECT PEER.
# TCP mode; A accepts plaintext and connects with TLS, B accepts TLS and
# connects in plaintext.  TLS 1.3 only, both sides present their
# certificate and verify the peer's against it (pinned, as stunnel),
# no session reuse on A (every connection a full handshake).  Threads:
# haproxy's default (one per core).
haproxy_conf() {
	local bind srv
	if [ "$2" = A ]; then
		bind="bind 127.0.0.1:$3"
		srv="server b 127.0.0.1:$4 ssl crt $WORK/st/A.pem ca-file $WORK/st/$5.crt verify required ssl-min-ver TLSv1.3 no-ssl-reuse"
	else
		bind="bind 127.0.0.1:$3 ssl crt $WORK/st/B.pem ca-file $WORK/st/$5.crt verify required ssl-min-ver TLSv1.3"
		srv="server t 127.0.0.1:$4"
	fi
	cat >"$1" <<EOF
global
	maxconn $((PL_LIM + 100))
	log stderr format raw local0 warning
defaults
	mode tcp
	log global
	timeout connect 10s
	timeout client 1h
	timeout server 1h
listen bench
	$bind
	$srv
EOF
}

up_haproxy-pair() {
	local tag=$1 tgt=$2 in=$3 mid=$4 dial=$5 a
	[ -n "$HAPROXY" ] || { NA_REASON="haproxy not installed"; return 1; }
	haproxy_conf "$WORK/st/$tag-A.cfg" A "$in" "$dial" B
	haproxy_conf "$WORK/st/$tag-B.cfg" B "$mid" "$tgt" A
	spawn "$tag-A" "$HAPROXY" -db -f "$WORK/st/$tag-A.cfg"
	a=$SPAWNED
	spawn "$tag-B" "$HAPROXY" -db -f "$WORK/st/$tag-B.cfg"
	PAIR="$a $SPAWNED"
}

GHOSTUNNEL=${GHOSTUNNEL:-}
GT_NA="ghostunnel not built"

# ghostunnel: A is "client" mode (plaintext in, TLS out, verifies B's name
# bench-B against B's certificate), B is "server" mode (allows only the
# client certificate named bench-A).  Go's crypto/tls, TLS 1.3 between the
# two; every connection a full handshake.
up_ghostunnel-pair() {
	local tag=$1 tgt=$2 in=$3 mid=$4 dial=$5 a
	[ -n "$GHOSTUNNEL" ] || { NA_REASON=$GT_NA; return 1; }
	spawn "$tag-A" "$GHOSTUNNEL" client --listen "127.0.0.1:$in" \
	    --target "127.0.0.1:$dial" --cert "$WORK/st/A.crt" \
	    --key "$WORK/st/A.key" --cacert "$WORK/st/B.crt" \
	    --override-server-name bench-B --verify-dns bench-B --quiet=all
	a=$SPAWNED
	spawn "$tag-B" "$GHOSTUNNEL" server --listen "127.0.0.1:$mid" \
	    --target "127.0.0.1:$tgt" --cert "$WORK/st/B.crt" \
	    --key "$WORK/st/B.key" --cacert "$WORK/st/A.crt" \
	    --allow-dns bench-A --quiet=all
	PAIR="$a $SPAWNED"
}

up_spiped-pair() {
	local tag=$1 tgt=$2 in=$3 mid=$4 dial=$5 a
	spawn "$tag-A" spiped -e -F -n 0 -s "[127.0.0.1]:$in" \
	    -t "[127.0.0.1]:$dial" -k "$WORK/spiped.key"
	a=$SPAWNED
	spawn "$tag-B" spiped -d -F -n 0 -s "[127.0.0.1]:$mid" \
	    -t "[127.0.0.1]:$tgt" -k "$WORK/spiped.key"
	PAIR="$a $SPAWNED"
}

PL_A_ID=""
PL_B_ID=""
PL_NA=""

# --build: an optimised peerlock in build-bench/ (not the -O0 debug build).
build_peerlock() {
	local b=$top/build-bench
	log "building an optimised peerlock in $b"
	if [ "$(id -u)" -eq 0 ] && [ -x "$top/contrib/install-deps.sh" ]; then
		"$top/contrib/install-deps.sh" || log "install-deps.sh failed"
	fi
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi) ||
	    return 1
	mkdir -p "$b" &&
	    (cd "$b" && "$top/configure" >configure.out 2>&1 &&
	    make -j2 >make.out 2>&1) || {
		log "peerlock build failed, see $b/configure.out, $b/make.out"
		return 1
	}
	PEERLOCK=$b/peerlock
}

# A note if PEERLOCK comes from a debug or sanitizer build.
check_build_flags() {
	local log
	log=$(dirname "$PEERLOCK")/config.log
	[ -f "$log" ] || return 0
	if grep -q -e '--enable-debug' -e '--enable-asan' \
	    -e '--enable-fuzzing' "$log"; then
		note "$PEERLOCK is a debug/sanitizer build (-O0 or ASan):" \
		    "its figures understate peerlock; use --build or set PEERLOCK"
	fi
}

# Two identities for every peerlock pair; fails if peerlock cannot keygen.
peerlock_keys() {
	[ -x "$PEERLOCK" ] || { NA_REASON="no peerlock binary at $PEERLOCK"
		return 1; }
	PL_A_ID=$("$PEERLOCK" keygen -o "$WORK/pl/A.key" 2>>"$WORK/logs/keygen.log" |
	    tail -n 1 | tr -d '[:space:]')
	PL_B_ID=$("$PEERLOCK" keygen -o "$WORK/pl/B.key" 2>>"$WORK/logs/keygen.log" |
	    tail -n 1 | tr -d '[:space:]')
	if [ -z "$PL_A_ID" ] || [ -z "$PL_B_ID" ]; then
		NA_REASON="peerlock keygen failed"
		return 1
	fi
}

# up_peerlock SECURITY TAG TARGET ENTRY MID DIAL [PROTOCOL]
# With PROTOCOL: node mode (protocol = PROTOCOL on both routes).
up_peerlock() {
	local sec=$1 tag=$2 tgt=$3 in=$4 mid=$5 dial=$6 a
	local proto=${7:+protocol = $7}
	[ -n "$PL_A_ID" ] || { NA_REASON=$PL_NA; return 1; }
	cat >"$WORK/pl/$tag-A.conf" <<EOF
[peerlock]
identity = $WORK/pl/A.key
security = $sec
$PEERLOCK_EXTRA

[forward.bench]
listen = 127.0.0.1:$in
peer = /ip4/127.0.0.1/tcp/$dial/p2p/$PL_B_ID
$proto
EOF
	cat >"$WORK/pl/$tag-B.conf" <<EOF
[peerlock]
identity = $WORK/pl/B.key
listen = /ip4/127.0.0.1/tcp/$mid
security = $sec
$PEERLOCK_EXTRA

[expose.bench]
peers = $PL_A_ID
target = 127.0.0.1:$tgt
$proto
EOF
	spawn "$tag-B" "$PEERLOCK" run -c "$WORK/pl/$tag-B.conf"
	a=$SPAWNED
	spawn "$tag-A" "$PEERLOCK" run -c "$WORK/pl/$tag-A.conf"
	PAIR="$SPAWNED $a"
}
up_peerlock-noise() { up_peerlock noise "$@"; }
up_peerlock-node() { up_peerlock noise "$@" /x/bench; }
up_peerlock-tls() {
	[ "${PEERLOCK_TLS:-1}" != 0 ] || return 1
	up_peerlock tls "$@"
}

# Ports: distinct per run, system and pair so nothing waits on old sockets,
# all below the ephemeral range (32768): 10 runs of 1200 ports, 120 per
# system (index 1..9), 4 per pair (entry, middle, relay).
# Slots: 0 sink, 1 echo, 2 memory, 3 pg, 4 redis, 5..14 one per RTT value;
# a retry without PEERLOCK_EXTRA uses SLOT + 15.
# pair_ports RUN SYSINDEX SLOT(0..29) -> sets P_IN P_MID P_RELAY
pair_ports() {
	local b=$((BASE_PORT + ((($1 - 1) % 10) * 1200) + $2 * 120 + $3 * 4))
	P_IN=$b
	P_MID=$((b + 1))
	P_RELAY=$((b + 2))
}

# One end-to-end probe of KIND through ENTRY: plbench's for sink and echo,
# the real clients' own for pg and redis.
probe_once() {
	case $1 in
	pg) "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$ENTRY" -t 2 ;;
	redis) [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$ENTRY" ping \
	    2>/dev/null)" = PONG ] ;;
	*) "$PLB" probe -p "$ENTRY" -k "$1" -t 1 ;;
	esac
}

# Probe ENTRY end to end until it works, PROBE_SECS pass, or a process of
# PAIR exits.
probe_pair() {
	local i p
	for i in $(seq 1 "$PROBE_SECS"); do
		for p in $PAIR $RELAY; do
			kill -0 "$p" 2>/dev/null || return 1
		done
		probe_once "$1" 2>>"$WORK/logs/probe.log" && return 0
		sleep 0.2
	done
	return 1
}

# start_relay LISTEN TARGET RTT_MS: the latency relay (plimpair) from
# LISTEN to TARGET, RTT_MS / 2 each way.  Sets RELAY (its pid).  The
# relay's buffer is raised to 64 MiB per direction so that the relay
# itself carries far more than any proxy here at 50 ms.
start_relay() {
	spawn "relay-$1" "$PLIMPAIR" --port "$1" --target "127.0.0.1:$2" \
	    --delay "$(($3 / 2))" --max-buffer 64Mi
	RELAY=$SPAWNED
}

# start_pair SYSTEM TAG KIND(sink|echo|pg|redis) RUN SYSINDEX SLOT [RTT]:
# start and probe end to end.  Sets PAIR, ENTRY and RELAY (the latency
# relay's pid when RTT > 0: on the encrypted leg, between A and B; for
# direct, between the client and the server).  Non-zero (and NA_REASON)
# on failure.
start_pair() {
	local sys=$1 tag=$2 kind=$3 run=$4 idx=$5 slot=$6 rtt=${7:-0} tgt p
	local extra dial
	case $kind in
	sink) tgt=$SINK_PORT ;;
	echo) tgt=$ECHO_PORT ;;
	pg) tgt=$PG_PORT ;;
	redis) tgt=$REDIS_PORT ;;
	esac
	RELAY=""
	pair_ports "$run" "$idx" "$slot"
	if [ "$sys" = direct ]; then
		PAIR=""
		ENTRY=$tgt
		[ "$rtt" -gt 0 ] || return 0
		start_relay "$P_RELAY" "$tgt" "$rtt"
		ENTRY=$P_RELAY
		probe_pair "$kind" && return 0
		NA_REASON="the latency relay did not carry a $kind probe"
		stop_pids $RELAY
		RELAY=""
		return 1
	fi
	ENTRY=$P_IN
	dial=$P_MID
	if [ "$rtt" -gt 0 ]; then
		start_relay "$P_RELAY" "$P_MID" "$rtt"
		dial=$P_RELAY
	fi
	if ! "up_$sys" "$tag" "$tgt" "$P_IN" "$P_MID" "$dial"; then
		NA_REASON=${NA_REASON:-"$sys prerequisites missing"}
		stop_pids $RELAY
		RELAY=""
		return 1
	fi
	if probe_pair "$kind"; then
		return 0
	fi
	NA_REASON="$sys did not carry a $kind probe end to end"
	case $sys in peerlock*)
		if [ -n "$PEERLOCK_EXTRA" ]; then
			# Perhaps it rejects the extra setting: once without.
			stop_pids $PAIR $RELAY
			RELAY=""
			extra=$PEERLOCK_EXTRA
			PEERLOCK_EXTRA=""
			pair_ports "$run" "$idx" $((slot + 15))
			ENTRY=$P_IN
			dial=$P_MID
			if [ "$rtt" -gt 0 ]; then
				start_relay "$P_RELAY" "$P_MID" "$rtt"
				dial=$P_RELAY
			fi
			if "up_$sys" "$tag" "$tgt" "$P_IN" "$P_MID" "$dial" &&
			    probe_pair "$kind"; then
				note "peerlock rejected '$extra'" \
				    "(PEERLOCK_EXTRA); ran without it"
				return 0
			fi
			PEERLOCK_EXTRA=$extra
		fi ;;
	esac
	stop_pids $PAIR $RELAY
	PAIR=""
	RELAY=""
	p=$(cat "$WORK/logs/$tag-B.log" "$WORK/logs/$tag-A.log" 2>/dev/null |
	    grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-120)
	[ -n "$p" ] && NA_REASON="$NA_REASON (last log line: $p)"
	NA_REASON="$NA_REASON; logs in $OUT/logs"
	keep_logs "$tag"
	return 1
}

# ------------------------------------------------------------ measuring

RAW=""
NOTES=""

# record RUN SYSTEM METRIC VALUE
record() { printf '%s,%s,%s,%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }

# note TEXT: a line for the results' notes section (once).
note() {
	local t="$*"
	case "$NOTES" in *"- $t"*) return 0 ;; esac
	NOTES="$NOTES- $t
"
	log "$t"
}

# The "result" line of a plbench client run, or nothing.
plb_result() { "$PLB" "$@" 2>>"$WORK/logs/plbench.err" | awk '$1 == "result" { $1 = ""; print substr($0, 2) }'; }

# A Go binary's main module version and toolchain ("v1.8.4, go1.26.8"),
# from the build information the go command stamps into it.
go_version_of() {
	PATH=/usr/local/go/bin:$PATH go version -m "$1" 2>/dev/null | awk '
	    NR == 1 { g = $2 }
	    $1 == "dep" && $2 ~ /ghostunnel$/ { v = $3 }
	    $1 == "mod" && $2 ~ /ghostunnel$/ { v = $3 }
	    END { printf "%s, %s\n", v ? v : "?", g ? g : "?" }'
}

# VmRSS (kB) summed over the given pids.
rss_kb() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] || return 1
		t=$((t + v))
	done
	echo "$t"
}

# Keep the proxies' logs of TAG in OUT/logs for a failure report.
keep_logs() {
	local p
	mkdir -p "$OUT/logs"
	for p in A B; do
		cp "$WORK/logs/$1-$p.log" "$OUT/logs/" 2>/dev/null
	done
	cp "$WORK/logs/plbench.err" "$OUT/logs/" 2>/dev/null
	return 0
}

# measure RUN SYSTEM TAG METRIC[,METRIC2] PLBENCH-ARGS...: run one
# workload, record its result (or NA and a note).
measure() {
	local run=$1 sys=$2 tag=$3 m=$4 v
	shift 4
	v=$(plb_result "$@")
	if [ -z "$v" ]; then
		note "$sys: '$1' failed in run $run (logs in $OUT/logs)"
		keep_logs "$tag"
		v="NA NA"
	fi
	record "$run" "$sys" "${m%%,*}" "${v%% *}"
	case $m in *,*) record "$run" "$sys" "${m#*,}" "${v##* }" ;; esac
}

# CPU time (user + system, children included: socat forks) of the
# given processes so far, in clock ticks.  Field 2 of /proc/PID/stat
# (the name) may hold spaces: count fields after its ')'.
cpu_ticks() {
	local p t=0 rest
	for p in "$@"; do
		rest=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + $(echo "$rest" | awk '{ print $12 + $13 + $14 + $15 }')))
	done
	echo "$t"
}

# Busy CPU time of the whole machine so far (every core: user, nice,
# system, irq, softirq, steal), in clock ticks: the client, the servers,
# the kernel's loopback work and the pair together.
host_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# CPU seconds per GB between tick counts A and B for BYTES bytes.
per_gb() {
	awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" -v n="$3" \
	    'BEGIN { printf "%.3f", (b - a) / hz / (n / 1e9) }'
}

# Throughput, connection rate and latency workloads of one system.
run_traffic() {
	local run=$1 sys=$2 idx=$3 sink_in echo_in pairs="" r="run $1: $2:" t0 h0 c
	NA_REASON=""
	if ! start_pair "$sys" "$sys-sink" sink "$run" "$idx" 0; then
		return 1
	fi
	sink_in=$ENTRY
	pairs=$PAIR
	if ! start_pair "$sys" "$sys-echo" echo "$run" "$idx" 1; then
		stop_pids $pairs
		return 1
	fi
	echo_in=$ENTRY
	pairs="$pairs $PAIR"

	# CPU per GB of the pair (what a proxy costs whatever the cores) and
	# of the whole machine (with the load tool, the sink and the kernel:
	# on 2 cores, MB/s can be no more than 2 s / this per GB)
	for c in 1 8; do
		log "$r bulk, $c connection(s), $BULK_BYTES bytes in all"
		t0=$(cpu_ticks $pairs)
		h0=$(host_ticks)
		measure "$run" "$sys" "$sys-sink" "bulk${c}_MBps" \
		    bulk -p "$sink_in" -c "$c" -s "$BULK_BYTES"
		record "$run" "$sys" "bulk${c}_host_cpu_s_per_GB" \
		    "$(per_gb "$h0" "$(host_ticks)" "$BULK_BYTES")"
		[ -n "${pairs// /}" ] && record "$run" "$sys" \
		    "bulk${c}_cpu_s_per_GB" \
		    "$(per_gb "$t0" "$(cpu_ticks $pairs)" "$BULK_BYTES")"
	done
	sleep 1
	log "$r new connections, 1 client, $CONN_SECS s"
	measure "$run" "$sys" "$sys-echo" conn1_per_s \
	    connrate -p "$echo_in" -c 1 -t "$CONN_SECS"
	sleep 1
	log "$r new connections, 8 clients, $CONN_SECS s"
	measure "$run" "$sys" "$sys-echo" conn8_per_s \
	    connrate -p "$echo_in" -c 8 -t "$CONN_SECS"
	sleep 1
	log "$r $PP_ROUNDS 64-byte ping-pongs"
	measure "$run" "$sys" "$sys-echo" pp_p50_us,pp_p99_us \
	    pingpong -p "$echo_in" -n "$PP_ROUNDS" -w 200
	stop_pids $pairs
	return 0
}

# Memory: RSS of both sides of a fresh echo pair at each idle level.
run_memory() {
	local run=$1 sys=$2 idx=$3 l line n rss base="" top_l=0 top_rss=""
	local ifd ofd ipid
	case $sys in
	direct) return 0 ;;
	socat-pair)
		note "socat-pair memory is n/a: socat forks a process per" \
		    "connection"
		return 0 ;;
	esac
	NA_REASON=""
	start_pair "$sys" "$sys-mem" echo "$run" "$idx" 2 || return 1
	sleep 0.5
	rm -f "$WORK/idle.in" "$WORK/idle.out"
	mkfifo "$WORK/idle.in" "$WORK/idle.out"
	"$PLB" idle -p "$ENTRY" -n 0 -b 64 -t 300 <"$WORK/idle.in" \
	    >"$WORK/idle.out" 2>>"$WORK/logs/plbench.err" &
	ipid=$!
	ALL_PIDS="$ALL_PIDS $ipid"
	exec {ifd}>"$WORK/idle.in" {ofd}<"$WORK/idle.out"
	read -r -t 30 -u "$ofd" line		# "ready 0 failed 0"
	for l in $MEM_LEVELS; do
		if [ $((2 * l + 100)) -gt "$NOFILE" ]; then
			note "idle level $l needs ulimit -n >= $((2 * l + 100))" \
			    "(a proxy holds 2 fds per tunnel); have $NOFILE"
			record "$run" "$sys" "mem${l}_kB" NA
			continue
		fi
		if [ "$l" -gt 0 ]; then
			log "run $run: $sys: $l idle tunnels"
			echo "$l" >&"$ifd"
			line=""
			read -r -t 600 -u "$ofd" line
			n=$(echo "$line" | awk '{ print $2 }')
			if [ "${n:-0}" -lt "$l" ]; then
				note "$sys held only ${n:-0} of $l idle tunnels"
				record "$run" "$sys" "mem${l}_kB" NA
				continue
			fi
			sleep 0.5
		fi
		rss=$(rss_kb $PAIR) || rss=NA
		record "$run" "$sys" "mem${l}_kB" "$rss"
		# Each side too (raw.csv only): A = client side, B = server.
		record "$run" "$sys" "mem${l}_A_kB" \
		    "$(rss_kb ${PAIR%% *} || echo NA)"
		record "$run" "$sys" "mem${l}_B_kB" \
		    "$(rss_kb ${PAIR##* } || echo NA)"
		[ "$l" = 0 ] && base=$rss
		if [ "$l" -gt 0 ] && [ "$rss" != NA ]; then
			top_l=$l
			top_rss=$rss
		fi
	done
	exec {ifd}>&- {ofd}<&-
	stop_pids "$ipid"
	# Let the proxies finish closing the tunnels before they are stopped
	# (stunnel 5.68 can crash when stopped in the middle of that).
	sleep 2
	if [ -n "$base" ] && [ "$base" != NA ] && [ "$top_l" -gt 0 ]; then
		record "$run" "$sys" bytes_per_tunnel \
		    $(( (top_rss - base) * 1024 / top_l ))
	else
		record "$run" "$sys" bytes_per_tunnel NA
	fi
	stop_pids $PAIR
}

# Real clients: pgbench and redis-benchmark through a fresh pair each.
run_apps() {
	local run=$1 sys=$2 idx=$3 r="run $1: $2:" v w x
	if [ -n "$PG_PORT" ]; then
		NA_REASON=""
		if start_pair "$sys" "$sys-pg" pg "$run" "$idx" 3; then
			for w in tpcb select; do
				log "$r pgbench $w, 8 clients, $PG_SECS s"
				# shellcheck disable=SC2046
				v=$("$PG_BIN/pgbench" -h 127.0.0.1 -p "$ENTRY" \
				    -U bench -c 8 -j 2 -T "$PG_SECS" \
				    $([ $w = select ] && echo -S) postgres \
				    2>>"$WORK/logs/pgbench.err" |
				    awk '$1 == "tps" && $2 == "=" { print $3; exit }')
				if [ -z "$v" ]; then
					note "$sys: pgbench $w failed in run $run" \
					    "(logs in $OUT/logs)"
					keep_logs "$sys-pg"
					cp "$WORK/logs/pgbench.err" "$OUT/logs/" \
					    2>/dev/null
					v=NA
				fi
				record "$run" "$sys" "pg_${w}_tps" "$v"
			done
			stop_pids $PAIR
		else
			note "$sys pgbench is n/a: $NA_REASON"
		fi
	fi
	if [ -n "$REDIS_PORT" ]; then
		NA_REASON=""
		if start_pair "$sys" "$sys-redis" redis "$run" "$idx" 4; then
			log "$r redis-benchmark SET and GET, 8 clients," \
			    "$REDIS_N requests each"
			v=$(redis-benchmark -h 127.0.0.1 -p "$ENTRY" -c 8 \
			    -n "$REDIS_N" -t set,get --csv \
			    2>>"$WORK/logs/redis-benchmark.err" | tr -d '\r')
			for w in SET GET; do
				x=$(echo "$v" | awk -F'"' -v t="$w" \
				    '$2 == t { print $4; exit }')
				if [ -z "$x" ]; then
					note "$sys: redis-benchmark $w failed in" \
					    "run $run (logs in $OUT/logs)"
					keep_logs "$sys-redis"
					x=NA
				fi
				record "$run" "$sys" \
				    "redis_$(echo $w | tr A-Z a-z)_rps" "$x"
			done
			stop_pids $PAIR
		else
			note "$sys redis-benchmark is n/a: $NA_REASON"
		fi
	fi
	return 0
}

# Added round-trip time: for each value, a fresh pair to the sink with the
# latency relay on its encrypted leg (none at 0 ms); bulk over one tunnel,
# then FB_N new tunnels one after another, each timed from connect to the
# first byte back (for peerlock-node: new streams over the live session,
# which the probe opened).
run_rtt() {
	local run=$1 sys=$2 idx=$3 k=0 rtt
	for rtt in $RTTS; do
		k=$((k + 1))
		if [ "$rtt" -gt 0 ] && [ -z "$PLIMPAIR" ]; then
			continue
		fi
		NA_REASON=""
		if ! start_pair "$sys" "$sys-rtt$rtt" sink "$run" "$idx" \
		    $((4 + k)) "$rtt"; then
			note "$sys at $rtt ms RTT is n/a: $NA_REASON"
			continue
		fi
		log "run $run: $sys: $rtt ms RTT: bulk, 1 connection," \
		    "$RTT_BYTES bytes"
		measure "$run" "$sys" "$sys-rtt$rtt" "rtt${rtt}_bulk1_MBps" \
		    bulk -p "$ENTRY" -c 1 -s "$RTT_BYTES"
		log "run $run: $sys: $rtt ms RTT: first byte of $FB_N new tunnels"
		measure "$run" "$sys" "$sys-rtt$rtt" "rtt${rtt}_firstbyte_ms" \
		    firstbyte -p "$ENTRY" -n "$FB_N" -k sink -t 10
		stop_pids $PAIR $RELAY
		RELAY=""
	done
	return 0
}

# ---------------------------------------------------------------- report

METRICS=""

# Metric list, units and direction, in table order.
metric_info() {
	local l
	METRICS="bulk1_MBps bulk1_cpu_s_per_GB bulk1_host_cpu_s_per_GB bulk8_MBps bulk8_cpu_s_per_GB bulk8_host_cpu_s_per_GB conn1_per_s conn8_per_s pp_p50_us pp_p99_us"
	for l in $MEM_LEVELS; do METRICS="$METRICS mem${l}_kB"; done
	METRICS="$METRICS bytes_per_tunnel"
	[ "$APPS" = 1 ] && METRICS="$METRICS pg_tpcb_tps pg_select_tps redis_set_rps redis_get_rps"
	for l in $RTTS; do METRICS="$METRICS rtt${l}_bulk1_MBps"; done
	for l in $RTTS; do METRICS="$METRICS rtt${l}_firstbyte_ms"; done
}

# Human label of a metric.
metric_label() {
	case $1 in
	bulk1_MBps) echo "Bulk, 1 conn (MB/s, higher is better)" ;;
	bulk1_cpu_s_per_GB) echo "Bulk, 1 conn: CPU of the pair per GB (s, lower is better)" ;;
	bulk1_host_cpu_s_per_GB) echo "Bulk, 1 conn: CPU of the whole machine per GB (s, lower is better)" ;;
	bulk8_MBps) echo "Bulk, 8 conns (MB/s, higher is better)" ;;
	bulk8_cpu_s_per_GB) echo "Bulk, 8 conns: CPU of the pair per GB (s, lower is better)" ;;
	bulk8_host_cpu_s_per_GB) echo "Bulk, 8 conns: CPU of the whole machine per GB (s, lower is better)" ;;
	conn1_per_s) echo "New conns/s, 1 client (higher is better)" ;;
	conn8_per_s) echo "New conns/s, 8 clients (higher is better)" ;;
	pp_p50_us) echo "64 B ping-pong p50 (µs, lower is better)" ;;
	pp_p99_us) echo "64 B ping-pong p99 (µs, lower is better)" ;;
	mem*_kB) echo "RSS of the pair, ${1#mem}" | sed 's/_kB$/ idle tunnels (kB)/' ;;
	bytes_per_tunnel) echo "Bytes per idle tunnel (pair, lower is better)" ;;
	pg_tpcb_tps) echo "pgbench TPC-B, 8 clients (TPS, higher is better)" ;;
	pg_select_tps) echo "pgbench select-only, 8 clients (TPS, higher is better)" ;;
	redis_set_rps) echo "redis-benchmark SET, 8 clients (req/s, higher is better)" ;;
	redis_get_rps) echo "redis-benchmark GET, 8 clients (req/s, higher is better)" ;;
	rtt*_bulk1_MBps) l=${1#rtt}; echo "Bulk, 1 conn, ${l%%_*} ms RTT (MB/s, higher is better)" ;;
	rtt*_firstbyte_ms) l=${1#rtt}; echo "First byte of a new tunnel, ${l%%_*} ms RTT (ms, lower is better)" ;;
	esac
}

# Write summary.csv (system,metric,median,n), ratios.csv (system,metric,
# median over runs of the ratio to the better of stunnel-pair and
# haproxy-pair in the same run: the higher figure for throughput and
# rates, the lower for times, CPU and memory) and noderaw.csv (metric,
# median over runs of peerlock-node / peerlock-noise) from raw.csv.
summarise() {
	awk -F, '
	function median(s,   a, n, t, i, j) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) {	# insertion sort, n is small
			t = a[i] + 0
			for (j = i - 1; j >= 1 && a[j] + 0 > t; j--)
				a[j + 1] = a[j]
			a[j + 1] = t
		}
		if (n == 0) return "NA"
		if (n % 2) return a[(n + 1) / 2]
		return (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$4 != "NA" && $4 != "" {
		v[$2 "," $3] = v[$2 "," $3] " " $4; c[$2 "," $3]++
		val[$1 "," $2 "," $3] = $4; runs[$1] = 1
	}
	END {
		for (k in v) printf "%s,%s,%d\n", k, median(v[k]), c[k] > "summary.csv"
		for (k in val) {
			split(k, p, ",")
			if (p[2] !~ /^peerlock/) continue
			low = p[3] ~ /(_us|_ms|_kB|_per_GB|bytes_per_tunnel)$/
			s = p[1] ",stunnel-pair," p[3]
			h = p[1] ",haproxy-pair," p[3]
			ref = ""
			if ((s in val) && val[s] + 0 > 0) ref = val[s] + 0
			if ((h in val) && val[h] + 0 > 0 && (ref == "" ||
			    (low && val[h] + 0 < ref) ||
			    (!low && val[h] + 0 > ref)))
				ref = val[h] + 0
			if (ref != "")
				r[p[2] "," p[3]] = r[p[2] "," p[3]] " " val[k] / ref
			n = p[1] ",peerlock-noise," p[3]
			if (p[2] == "peerlock-node" && (n in val) && val[n] + 0 > 0)
				nr[p[3]] = nr[p[3]] " " val[k] / val[n]
		}
		for (k in r) printf "%s,%s\n", k, median(r[k]) > "ratios.csv"
		for (k in nr) printf "%s,%s\n", k, median(nr[k]) > "noderaw.csv"
	}' "$RAW"
	touch summary.csv ratios.csv noderaw.csv
}

# Print a number nicely: integers as is, else 1 decimal (2 below 10).
fmt() { awk -v x="$1" 'BEGIN { if (x == "" || x == "NA") print "n/a"; else if (x == int(x) || x >= 100) printf "%.0f\n", x; else if (x < 10) printf "%.2f\n", x; else printf "%.1f\n", x }'; }

# The median of SYSTEM METRIC from summary.csv, or empty.
get_med() { awk -F, -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' summary.csv; }
# The median ratio to the better of stunnel and haproxy, or empty.
get_ratio() { awk -F, -v s="$1" -v m="$2" '$1 == s && $2 == m { printf "%.2f", $3 }' ratios.csv; }
# The median ratio peerlock-node / peerlock-noise of METRIC, or empty.
get_noderaw() { awk -F, -v m="$1" '$1 == m { printf "%.0f", 100 * $2 }' noderaw.csv; }

# Machine and software description for the report.
machine_info() {
	local cpu os mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- CPU: ${cpu:-unknown}, $(nproc) logical cores" \
	    "(AES-NI: $(grep -qw aes /proc/cpuinfo && echo yes || echo no))"
	echo "- Memory: $mem; OS: ${os:-unknown}; kernel $(uname -r)"
	echo "- peerlock: $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')" \
	    "($PEERLOCK)"
	echo "- stunnel: $(${STUNNEL:-false} -version 2>&1 | awk '/^stunnel/ { print $2; exit }')," \
	    "$(openssl version 2>/dev/null | awk '{ print $1, $2 }');" \
	    "haproxy $(${HAPROXY:-false} -v 2>/dev/null | awk '/version/ { print $3; exit }');" \
	    "ghostunnel $([ -n "$GHOSTUNNEL" ] && go_version_of "$GHOSTUNNEL");" \
	    "spiped $(spiped -v 2>&1 | awk '{ print $2 }');" \
	    "socat $(socat -V 2>/dev/null | awk '/socat version/ { print $3; exit }')"
	if [ "$APPS" = 1 ]; then
		echo "- Real clients: PostgreSQL $("$PG_BIN/postgres" -V 2>/dev/null | awk '{ print $3 }')" \
		    "(throwaway cluster, fsync/synchronous_commit/full_page_writes off)," \
		    "pgbench scale $PG_SCALE, $PG_SECS s per workload;" \
		    "redis $(redis-server -v 2>/dev/null | awk '{ print $3 }' | sed 's/^v=//')" \
		    "(no persistence), redis-benchmark -c 8 -n $REDIS_N"
	fi
	if [ -n "$RTTS" ]; then
		echo "- Added RTT: $RTTS ms (${PLIMPAIR:-no relay binary: values above 0 skipped});" \
		    "bulk $RTT_BYTES bytes over one tunnel, first byte of $FB_N new tunnels (median)"
	fi
	echo "- Load average (1 min) at start / end: $LOAD_START /" \
	    "$(cut -d' ' -f1 /proc/loadavg) (anything above 0 is other work" \
	    "competing for the same cores)"
	echo "- Runs per figure: $RUNS (median shown); bulk $BULK_BYTES bytes;" \
	    "connection rate ${CONN_SECS} s; $PP_ROUNDS ping-pongs;" \
	    "idle levels: $MEM_LEVELS; ulimit -n $NOFILE"
}

# Write results.md and results.csv; print the table.
report() {
	local s m v r cells hdr sep csvh nl=""
	summarise
	hdr="| Workload |"
	sep="|---|"
	csvh="metric"
	for s in $SYSTEMS; do
		hdr="$hdr $s |"
		sep="$sep---:|"
		csvh="$csvh,$s"
	done
	for s in $SYSTEMS; do
		case $s in peerlock*) csvh="$csvh,$s/best-of-stunnel-haproxy" ;; esac
	done
	{
		echo "# peerlock benchmark results"
		echo
		[ "$QUICK" = 1 ] && echo "**Smoke run (--quick): small sizes, one run; not a measurement.**" && echo
		machine_info
		echo
		echo "Raw single-core AEAD speed (libsodium, 64 KiB buffers):" \
		    "ChaCha20-Poly1305 $CRYPTO_CHACHA MB/s, AES-256-GCM $CRYPTO_AES MB/s."
		echo
		echo "Median of $RUNS run(s). Peerlock cells show (×N) = median over" \
		    "runs of peerlock / the better of stunnel-pair and haproxy-pair" \
		    "measured in the same run (the higher figure for throughput and" \
		    "rates, the lower one for times, CPU and memory)."
		echo
		echo "$hdr"
		echo "$sep"
		for m in $METRICS; do
			cells="| $(metric_label "$m") |"
			for s in $SYSTEMS; do
				v=$(fmt "$(get_med "$s" "$m")")
				r=$(get_ratio "$s" "$m")
				[ -n "$r" ] && v="$v (×$r)"
				cells="$cells $v |"
			done
			echo "$cells"
		done
		for m in $RTTS; do
			[ "$m" -gt 0 ] || continue
			v=$(get_noderaw "rtt${m}_bulk1_MBps")
			[ -n "$v" ] || continue
			[ -n "$nl" ] || { echo; nl=1; }
			echo "Node mode at $m ms RTT: bulk over one tunnel $v % of" \
			    "peerlock-noise's (median of same-run ratios; target at" \
			    "50 ms: >= 80 %)."
		done
		if [ -n "$NOTES" ]; then
			echo
			echo "Notes:"
			echo
			printf '%s' "$NOTES"
		fi
	} >results.md
	{
		echo "$csvh"
		for m in $METRICS; do
			cells=$m
			for s in $SYSTEMS; do
				cells="$cells,$(get_med "$s" "$m")"
			done
			for s in $SYSTEMS; do
				case $s in peerlock*)
					cells="$cells,$(get_ratio "$s" "$m")" ;;
				esac
			done
			echo "$cells"
		done
		echo "crypto_chacha20poly1305_MBps,$CRYPTO_CHACHA"
		echo "crypto_aes256gcm_MBps,$CRYPTO_AES"
	} >results.csv
}

# chart.png: eight panels of clustered bars, one cluster per proxy; the
# direct figures (no proxy) go in the panel titles as the ceiling.  The
# real-client and RTT panels say "not measured" when --no-apps or --rtt ""
# left them out.
chart() {
	local s m v d1="" d2="" d3="" d4="" d5="" d6="" nsys=0 col
	local pl1="" pl2="" t
	command -v gnuplot >/dev/null || { note "gnuplot missing: no chart"; return; }
	: >chart.dat
	for s in $SYSTEMS; do
		[ "$s" = direct ] && [ "$SYSTEMS" != direct ] && continue
		nsys=$((nsys + 1))
		printf '%s' "$s" >>chart.dat
		# columns 2-8, 9-12 (apps), then bulk and first byte per RTT
		for m in bulk1_MBps bulk8_MBps conn1_per_s conn8_per_s \
		    pp_p50_us pp_p99_us "mem${MEM_MAX}_kB" pg_tpcb_tps \
		    pg_select_tps redis_set_rps redis_get_rps; do
			v=$(get_med "$s" "$m")
			printf ' %s' "${v:-NaN}" >>chart.dat
		done
		for m in $RTTS; do
			v=$(get_med "$s" "rtt${m}_bulk1_MBps")
			printf ' %s' "${v:-NaN}" >>chart.dat
		done
		for m in $RTTS; do
			v=$(get_med "$s" "rtt${m}_firstbyte_ms")
			printf ' %s' "${v:-NaN}" >>chart.dat
		done
		echo >>chart.dat
	done
	case " $SYSTEMS " in *" direct "*)
		d1="\\ndirect (no proxy): $(fmt "$(get_med direct bulk1_MBps)") / $(fmt "$(get_med direct bulk8_MBps)")"
		d2="\\ndirect (no proxy): $(fmt "$(get_med direct conn1_per_s)") / $(fmt "$(get_med direct conn8_per_s)")"
		d3="\\ndirect (no proxy): $(fmt "$(get_med direct pp_p50_us)") / $(fmt "$(get_med direct pp_p99_us)")"
		if [ -n "$(get_med direct pg_tpcb_tps)" ]; then
			d4="\\ndirect (no proxy): $(fmt "$(get_med direct pg_tpcb_tps)") / $(fmt "$(get_med direct pg_select_tps)")"
		fi
		if [ -n "$(get_med direct redis_set_rps)" ]; then
			d5="\\ndirect (no proxy): $(fmt "$(get_med direct redis_set_rps)") / $(fmt "$(get_med direct redis_get_rps)")"
		fi
		for m in $RTTS; do
			d6="$d6${d6:+ / }$(fmt "$(get_med direct "rtt${m}_bulk1_MBps")")"
		done
		d6="\\ndirect (through the relay above 0 ms): $d6 MB/s at ${RTTS// / \/ } ms"
		;;
	esac
	# The RTT panels' plot commands: one bar per RTT value.
	col=13
	for m in $RTTS; do
		if [ -z "$pl1" ]; then
			pl1="plot \"chart.dat\" using $col:xtic(1) title \"$m ms\""
		else
			pl1="$pl1, \"\" using $col title \"$m ms\""
		fi
		col=$((col + 1))
	done
	for m in $RTTS; do
		if [ -z "$pl2" ]; then
			pl2="plot \"chart.dat\" using $col:xtic(1) title \"$m ms\""
		else
			pl2="$pl2, \"\" using $col title \"$m ms\""
		fi
		col=$((col + 1))
	done
	# "n/a" over the systems without figures in column COL.
	na() { awk -v c="$1" '$c == "NaN" { printf "set label \"n/a\" at %d, graph 0.04 center\n", NR - 1 }' chart.dat; }
	# A panel whose columns FROM..TO are all NaN: "not measured".
	empty() { awk -v a="$1" -v b="$2" '{ for (i = a; i <= b; i++) if ($i != "NaN") f = 1 } END { exit f }' chart.dat; }
	nodata() {
		echo "set label 1 \"$1\" at graph 0.5, graph 0.5 center"
		echo 'unset key; set yrange [0:1]; plot "chart.dat" using (0):xtic(1) notitle'
		echo 'unset label; set key top right; set yrange [0:*]'
	}
	t="peerlock benchmark, median of $RUNS run(s)$( [ "$QUICK" = 1 ] && echo ' (smoke run: not a measurement)')"
	gnuplot <<EOF 2>>"$WORK/logs/gnuplot.log" || note "gnuplot failed: no chart"
set terminal pngcairo size 1600,2000 font "sans,10"
set output "chart.png"
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics scale 0 rotate by -20
set xrange [-0.6:$nsys - 0.4]
set grid ytics
set key top right
set yrange [0:*]
set multiplot layout 4,2 title "$t"
set title "Bulk throughput, MB/s (higher is better)$d1"
$(na 2)
plot "chart.dat" using 2:xtic(1) title "1 conn", "" using 3 title "8 conns"
unset label
set title "New connections per second (higher is better)$d2"
$(na 4)
plot "chart.dat" using 4:xtic(1) title "1 client", "" using 5 title "8 clients"
unset label
set title "64-byte ping-pong latency, µs, log scale (lower is better)$d3"
set logscale y
set yrange [1:*]
$(na 6)
plot "chart.dat" using 6:xtic(1) title "p50", "" using 7 title "p99"
unset label
unset logscale y
set yrange [0:*]
set title "RSS of the proxy pair at $MEM_MAX idle tunnels, MiB (lower is better)"
$(if ! empty 8 8; then
	na 8
	echo "plot \"chart.dat\" using (\$8/1024):xtic(1) title \"RSS\""
else
	nodata "no data"
fi)
unset label
set title "pgbench, 8 clients, transactions/s (higher is better)$d4"
$(if ! empty 9 10; then
	na 9
	echo "plot \"chart.dat\" using 9:xtic(1) title \"TPC-B\", \"\" using 10 title \"select-only\""
else
	nodata "not measured (--no-apps or no PostgreSQL)"
fi)
unset label
set title "redis-benchmark, 8 clients, requests/s (higher is better)$d5"
$(if ! empty 11 12; then
	na 11
	echo "plot \"chart.dat\" using 11:xtic(1) title \"SET\", \"\" using 12 title \"GET\""
else
	nodata "not measured (--no-apps or no redis)"
fi)
unset label
set title "Bulk over one tunnel at added RTT, MB/s (higher is better)$d6"
$(if [ -n "$RTTS" ] && ! empty 13 $((12 + NRTT)); then
	na 13
	echo "$pl1"
else
	nodata "not measured (--rtt \\\"\\\")"
fi)
unset label
set title "Time to the first byte of a new tunnel at added RTT, ms, log scale (lower is better)"
$(if [ -n "$RTTS" ] && ! empty $((13 + NRTT)) $((12 + 2 * NRTT)); then
	echo "set logscale y"
	echo "set yrange [0.01:*]"
	na $((13 + NRTT))
	echo "$pl2"
else
	nodata "not measured (--rtt \\\"\\\")"
fi)
unset multiplot
EOF
}

# ------------------------------------------------------ servers, tools

# The pinned ghostunnel: $GHOSTUNNEL if set, else built (or found in its
# cache) by contrib/build-bench-ghostunnel.sh; GT_NA says why not.
find_ghostunnel() {
	local b rc=0
	[ -n "$GHOSTUNNEL" ] && return 0
	log "ghostunnel: contrib/build-bench-ghostunnel.sh (minutes when cold)"
	b=$("$top/contrib/build-bench-ghostunnel.sh" \
	    2>>"$WORK/logs/ghostunnel-build.log" | tail -n 1) || rc=$?
	if [ "$rc" = 0 ] && [ -x "$b" ]; then
		GHOSTUNNEL=$b
	else
		GT_NA="ghostunnel not built (contrib/build-bench-ghostunnel.sh"
		GT_NA="$GT_NA exit $rc: $(tail -n 1 \
		    "$WORK/logs/ghostunnel-build.log" | cut -c1-160))"
	fi
}

# The latency relay (tests/tools/plimpair): $PLIMPAIR, else next to
# PEERLOCK's build, else build/; made with make when the build tree knows
# it but has not built it.  Empty PLIMPAIR: the RTT values above 0 are
# skipped (with a note).
find_plimpair() {
	local d
	[ -n "$RTTS" ] || return 0
	if [ -z "${PLIMPAIR:-}" ]; then
		for d in "$(dirname "$PEERLOCK")" "$top/build"; do
			if [ ! -x "$d/tests/tools/plimpair" ] &&
			    [ -f "$d/Makefile" ] &&
			    grep -q '^tests_tools_plimpair' "$d/Makefile"; then
				make -s -C "$d" tests/tools/plimpair \
				    >/dev/null 2>&1
			fi
			if [ -x "$d/tests/tools/plimpair" ]; then
				PLIMPAIR=$d/tests/tools/plimpair
				break
			fi
		done
	fi
	if [ -z "${PLIMPAIR:-}" ] || [ ! -x "$PLIMPAIR" ]; then
		PLIMPAIR=""
		case " $RTTS " in *" "[1-9]*)
			note "no latency relay (tests/tools/plimpair; set PLIMPAIR" \
			    "or build it: make tests/tools/plimpair in the build" \
			    "tree): the RTT values above 0 ms are skipped" ;;
		esac
	fi
}

# as_pg CMD...: run CMD as the owner of the throwaway cluster (postgres
# refuses to run as root: as root, Debian's postgres system user).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# A throwaway PostgreSQL cluster in WORK/pg on 127.0.0.1:PORT, trust
# authentication, superuser "bench", no durability (fsync, synchronous
# commit and full-page writes off: the benchmark compares tunnels, not
# disks), pgbench tables at scale PG_SCALE.  Sets PG_PORT and PG_BIN.
start_postgres() {
	local port=$1 d
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V |
	    tail -n 1)
	if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
		NA_REASON="PostgreSQL not installed (Debian postgresql)"
		return 1
	fi
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		NA_REASON="no postgres user to run the cluster as"
		return 1
	fi
	d=$WORK/pg
	mkdir -p "$d"
	# The cluster's owner must reach WORK (mktemp makes it 0700).
	chmod 711 "$WORK"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$d"
	log "PostgreSQL: initdb, pgbench -i -s $PG_SCALE"
	as_pg "$PG_BIN/initdb" -D "$d/data" -U bench --auth=trust \
	    -E UTF8 --locale=C >"$WORK/logs/initdb.log" 2>&1 || {
		NA_REASON="initdb failed (see $OUT/logs/initdb.log)"
		mkdir -p "$OUT/logs"; cp "$WORK/logs/initdb.log" "$OUT/logs/"
		return 1
	}
	set -- "$PG_BIN/postgres" -D "$d/data" -p "$port" \
	    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$d" \
	    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
	    -c max_connections=100 -c shared_buffers=256MB
	if [ "$(id -u)" -eq 0 ]; then
		spawn postgres runuser -u postgres -- "$@"
	else
		spawn postgres "$@"
	fi
	PG_PORT=$port
	ENTRY=$port
	for _ in $(seq 1 50); do
		probe_once pg && break
		sleep 0.2
	done
	if ! probe_once pg ||
	    ! "$PG_BIN/pgbench" -i -q -s "$PG_SCALE" -h 127.0.0.1 \
	    -p "$port" -U bench postgres >"$WORK/logs/pgbench-init.log" 2>&1
	then
		NA_REASON="PostgreSQL did not start or pgbench -i failed"
		mkdir -p "$OUT/logs"
		cp "$WORK/logs/postgres.log" "$WORK/logs/pgbench-init.log" \
		    "$OUT/logs/" 2>/dev/null
		PG_PORT=""
		return 1
	fi
}

# A throwaway redis-server on 127.0.0.1:PORT, no persistence.  Sets
# REDIS_PORT.
start_redis() {
	local port=$1
	if ! command -v redis-server >/dev/null ||
	    ! command -v redis-benchmark >/dev/null; then
		NA_REASON="redis-server or redis-benchmark not installed"
		return 1
	fi
	mkdir -p "$WORK/redis"
	spawn redis redis-server --port "$port" --bind 127.0.0.1 \
	    --save "" --appendonly no --protected-mode no \
	    --dir "$WORK/redis" --maxclients 1000
	ENTRY=$port
	for _ in $(seq 1 50); do
		probe_once redis && { REDIS_PORT=$port; return 0; }
		sleep 0.2
	done
	NA_REASON="redis-server did not answer PING"
	return 1
}

# ------------------------------------------------------------------ main

main() {
	local run s idx out_abs v
	LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
	install_deps
	raise_nofile
	make -s -C "$here" >/dev/null || { log "cannot build plbench"; exit 1; }
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/plbench.XXXXXX")
	mkdir -p "$WORK/logs" "$WORK/st" "$WORK/pl" "$OUT"
	out_abs=$(cd "$OUT" && pwd)
	OUT=$out_abs
	RAW=$OUT/raw.csv
	echo "run,system,metric,value" >"$RAW"
	rm -f "$OUT/summary.csv" "$OUT/ratios.csv" "$OUT/chart.png"
	rm -rf "$OUT/logs"
	metric_info
	PROBE_SECS=10

	# Prerequisites per system; missing ones are reported as n/a.
	STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
	HAPROXY=$(command -v haproxy || true)
	tls_certs || { STUNNEL=""; HAPROXY=""; GHOSTUNNEL=""
		GT_NA="openssl could not make the certificates"; }
	case " $SYSTEMS " in *" ghostunnel-pair "*)
		find_ghostunnel ;;
	esac
	dd if=/dev/urandom of="$WORK/spiped.key" bs=32 count=1 2>/dev/null
	case " $SYSTEMS " in *" peerlock"*)
		if [ "$BUILD" = 1 ]; then
			build_peerlock || note "peerlock --build failed"
		fi
		check_build_flags
		NA_REASON=""
		peerlock_keys || PL_NA=$NA_REASON ;;
	esac

	SINK_PORT=$((BASE_PORT - 2))
	ECHO_PORT=$((BASE_PORT - 1))
	spawn sink "$PLB" sink -p "$SINK_PORT"
	spawn echo "$PLB" echo -p "$ECHO_PORT"
	"$PLB" probe -p "$SINK_PORT" -k sink -t 5 &&
	    "$PLB" probe -p "$ECHO_PORT" -k echo -t 5 ||
	    { log "sink/echo servers did not start"; exit 1; }
	PG_PORT=""
	REDIS_PORT=""
	if [ "$APPS" = 1 ]; then
		start_postgres $((BASE_PORT - 3)) ||
		    note "pgbench rows are n/a: $NA_REASON"
		start_redis $((BASE_PORT - 4)) ||
		    note "redis-benchmark rows are n/a: $NA_REASON"
	fi
	find_plimpair

	log "raw AEAD speed (libsodium, one core)"
	v=$("$PLB" crypto -t 1)
	CRYPTO_CHACHA=$(echo "$v" | awk -F= '/chacha20/ { print $2 }')
	CRYPTO_AES=$(echo "$v" | awk -F= '/aes256gcm/ { print $2 }')
	log "ChaCha20-Poly1305 $CRYPTO_CHACHA MB/s, AES-256-GCM $CRYPTO_AES MB/s"

	for run in $(seq 1 "$RUNS"); do
		idx=0
		for s in $SYSTEMS; do
			idx=$((idx + 1))
			if ! run_traffic "$run" "$s" "$idx"; then
				note "$s is n/a: $NA_REASON"
				continue
			fi
			run_memory "$run" "$s" "$idx" ||
			    note "$s memory is n/a: $NA_REASON"
			[ "$APPS" = 1 ] && run_apps "$run" "$s" "$idx"
			run_rtt "$run" "$s" "$idx"
		done
	done

	cd "$OUT" || exit 1
	report
	chart
	# Notes may have grown while charting.
	report
	rm -f summary.csv ratios.csv noderaw.csv chart.dat
	cat results.md
	log "wrote $OUT/results.md results.csv chart.png raw.csv"
}

main

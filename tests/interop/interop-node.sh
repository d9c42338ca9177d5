#!/bin/sh
# interop-node.sh - node mode against a full js-libp2p node
# (tests/interop/jsnode.mjs: libp2p + tcp + noise or tls + yamux + identify
# + ping), in both directions, over noise and tls (SECURITY="noise tls", the default):
#   a. js opens 20 concurrent streams of 1 MiB into a peerlock expose
#      (/x/echo), pings peerlock (/ipfs/ping/1.0.0), learns peerlock's agent
#      and protocols by identify, and has an unknown protocol refused;
#   b. a peerlock forward reaches the js node's /x/echo handler with 8
#      tunnels at once, all over one TCP connection.
# Exit 77 (skip) only when node or tests/interop/node_modules is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${PEERLOCK:=$top_builddir/peerlock}"
export top_srcdir top_builddir PEERLOCK
SECURITY=${SECURITY:-noise tls}
JSNODE="$top_srcdir/tests/interop/jsnode.mjs"
JSPEER="$top_srcdir/tests/interop/jspeer.mjs"
command -v node >/dev/null 2>&1 || { echo "SKIP: node not found"; exit 77; }
[ -d "$top_srcdir/tests/interop/node_modules/libp2p" ] ||
    { echo "SKIP: js-libp2p not installed (contrib/install-deps.sh --interop)"; exit 77; }
. "$top_srcdir/tests/e2e/lib.sh"

for sec in $SECURITY; do
	keygen "P$sec"
	node "$JSPEER" keygen --type ed25519 --out "$T/js$sec.key" 2>/dev/null
	jsid=$(node "$JSPEER" id --key "$T/js$sec.key" 2>/dev/null)
	pid_var="ID_P$sec"; plid=$(eval echo "\$$pid_var")
	start_echod "echo$sec"
	eval "echo_port=\$PORT_echo$sec"
	PL=$(free_port); FW=$(free_port)

	# a. js -> peerlock expose
	conf_node "P$sec" "listen=/ip4/127.0.0.1/tcp/$PL" "security=$sec"
	cat >>"$T/P$sec.conf" <<EOC

[expose.echo]
peers = $jsid
protocol = /x/echo
target = 127.0.0.1:$echo_port
EOC
	start_peerlock "P$sec" || exit 1
	out=$(timeout 120 node "$JSNODE" dial --key "$T/js$sec.key" \
	    --addr "/ip4/127.0.0.1/tcp/$PL/p2p/$plid" --security "$sec" \
	    --streams 20 --bytes 1048576 --ping --identify --refused /x/nope \
	    2>"$T/jsdial$sec.log")
	rc=$?
	echo "js dial: $out"
	check "[$sec] js node: 20 concurrent 1 MiB streams into a peerlock expose" \
	    sh -c "echo '$out' | grep -q '\"streams_ok\":20'"
	check "[$sec] js node pings peerlock (/ipfs/ping/1.0.0)" \
	    sh -c "echo '$out' | grep -q '\"ping_ms\":'"
	check "[$sec] js identify sees agent peerlock/ and /x/echo" \
	    sh -c "echo '$out' | grep -q '\"agent\":\"peerlock/' && echo '$out' | grep -q '\"/x/echo\"'"
	check "[$sec] an unknown protocol is refused" \
	    sh -c "echo '$out' | grep -q '\"refused\":\"refused'"
	check "[$sec] js dial exit status 0" test "$rc" -eq 0
	check "[$sec] peerlock: one session from the js node" \
	    test "$(grep -c "session with $jsid" "$T/P$sec.log")" -eq 1

	# b. peerlock forward -> js node
	bg "jsserve$sec" node "$JSNODE" serve --key "$T/js$sec.key" \
	    --port-file "$T/js$sec.port" --security "$sec"
	for _ in $(seq 600); do [ -s "$T/js$sec.port" ] && break; sleep 0.1; done
	jsport=$(cat "$T/js$sec.port")
	conf_node "F$sec" "security=$sec"
	cp "$T/P$sec.key" "$T/F$sec.key"
	conf_forward "F$sec" echo "$FW" "$jsport" "$jsid" protocol=/x/echo
	start_peerlock "F$sec" || exit 1
	pids=""
	for i in $(seq 8); do
		"$TOOLS/plclient" 127.0.0.1 "$FW" --bytes 1048576 --seed "$i" \
		    --timeout 60 >"$T/f$sec$i.out" 2>&1 &
		pids="$pids $!"
	done
	bad=0
	for p in $pids; do wait "$p" || bad=$((bad + 1)); done
	check "[$sec] peerlock forward -> js /x/echo: 8 tunnels at once ($bad failed)" \
	    test "$bad" -eq 0
	check "[$sec] the 8 tunnels shared one connection" \
	    test "$(grep -c "session with $jsid" "$T/F$sec.log")" -eq 1
done
pl_finish

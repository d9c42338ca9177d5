#!/bin/sh
# Goal: peerlock resolves names as the system does (getaddrinfo:
# nsswitch.conf order, resolv.conf search domains, name servers asked in
# order), and a resolver failure is its own close reason (dns_failed,
# detail "dns: NAME: ..."), not connect_timeout or connect_failed.
#
# Everything runs in a private network namespace whose /etc/resolv.conf,
# /etc/hosts and /etc/nsswitch.conf are the test's (ip netns exec binds
# /etc/netns/NS/*), with two tiny DNS servers (tests/tools/dnsd.py) on
# 127.0.0.53 and 127.0.0.54 inside it; nothing leaves the namespace.
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for ip netns"
command -v ip >/dev/null || skip "no ip(8)"
NS="pl-dns-$$"
ip netns add "$NS" 2>"$T/netns.err" ||
    skip "ip netns add not permitted here: $(cat "$T/netns.err")"
cleanup_ns() {
	pl_cleanup
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p"; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "/etc/netns/$NS"
}
trap cleanup_ns EXIT
trap 'exit 1' INT TERM
ip -n "$NS" link set lo up
mkdir -p "/etc/netns/$NS"
# The first server answers; the second gives wrong answers: glibc asks
# them in order, libevent's evdns rotated between them.  The search
# domain makes "db" mean db.svc.test.
cat >"/etc/netns/$NS/resolv.conf" <<EOF
nameserver 127.0.0.53
nameserver 127.0.0.54
search svc.test
options ndots:1 timeout:1 attempts:1
EOF
# DNS before files: /etc/hosts has a wrong entry for both.test.
printf 'hosts: dns files\n' >"/etc/netns/$NS/nsswitch.conf"
printf '127.0.0.1 localhost\n127.0.0.97 both.test\n' >"/etc/netns/$NS/hosts"

run() { ip netns exec "$NS" "$@"; }
bg dns1 run python3 "$top_srcdir/tests/tools/dnsd.py" 127.0.0.53 \
    db.svc.test=127.0.0.1 rr.test=127.0.0.1 both.test=127.0.0.1 \
    slow.test=silent
bg dns2 run python3 "$top_srcdir/tests/tools/dnsd.py" 127.0.0.54 \
    db.svc.test=127.0.0.98 rr.test=127.0.0.98 both.test=127.0.0.98 \
    slow.test=silent
logged dns1 "listening" && logged dns2 "listening" ||
    { echo "FAIL: dnsd did not start"; cat "$T"/dns*.log; exit 1; }

keygen A; keygen B
bg echo run "$TOOLS/echod" --port 0 --port-file "$T/echo.port"
for _ in $(seq 100); do [ -s "$T/echo.port" ] && break; sleep 0.05; done
PORT_echo=$(cat "$T/echo.port")
PB=$(free_port); AA=$(free_port)
F1=$(free_port); F2=$(free_port); F3=$(free_port); F4=$(free_port)
F5=$(free_port); F6=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB"
conf_expose B echo "$ID_A" "$PORT_echo"
conf_node A "admin=127.0.0.1:$AA" connect_timeout=1500ms
fwd() {
	printf '\n[forward.%s]\nlisten = 127.0.0.1:%s\npeer = %s/tcp/%s/p2p/%s\n' \
	    "$1" "$2" "$3" "$PB" "$ID_B" >>"$T/A.conf"
}
fwd search "$F1" /dns4/db
fwd order "$F2" /dns4/rr.test
fwd nsswitch "$F3" /dns/both.test
fwd nxdomain "$F4" /dns4/nope.test
fwd noanswer "$F5" /dns4/slow.test
fwd localhost "$F6" /dns/localhost
bg B run "$PEERLOCK" run -c "$T/B.conf"
bg A run "$PEERLOCK" run -c "$T/A.conf"
logged B ready && logged A ready || { echo "FAIL: peerlocks did not start"; exit 1; }

client() { run "$TOOLS/plclient" 127.0.0.1 "$1" --bytes "${2:-100}" --timeout 5 >/dev/null; }
check "search domain: /dns4/db resolves as db.svc.test" client "$F1"
check "... the server saw db.svc.test" logged dns1 "query db.svc.test 1"
okc=0
for i in $(seq 12); do client "$F2" && okc=$((okc + 1)); done
check "name servers asked in order: 12 of 12 connections reach the first server's answer ($okc)" \
    test "$okc" = 12
check_not "the second server was never needed" grep -q "query rr.test" "$T/dns2.log"
check "nsswitch 'hosts: dns files': DNS answer wins over /etc/hosts" client "$F3"
check "/dns/localhost resolves (files)" client "$F6"

check_not "unknown name: no tunnel" client "$F4"
check "unknown name: dns_failed with the resolver's reason" \
    logged A "closed route=forward.nxdomain .*reason=dns_failed: dns: nope.test: "
t0=$(date +%s.%N)
check_not "silent resolver: no tunnel" client "$F5"
check "silent resolver: dns_failed, not connect_timeout" \
    logged A "closed route=forward.noanswer .*reason=dns_failed: dns: slow.test: "
check_not "no connect_timeout or connect_failed for a DNS failure" \
    grep -Eq "route=forward.(nxdomain|noanswer) .*reason=connect_(timeout|failed)" "$T/A.log"
metric() {
	run curl -s "http://127.0.0.1:$AA/metrics" |
	    awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}
check "counted as dns_failed" test \
    "$(metric 'peerlock_connections_closed_total{route="forward.nxdomain",reason="dns_failed"}')" = 1
check "peer reachability: down with the dns error" sh -c \
    "ip netns exec $NS curl -s http://127.0.0.1:$AA/connections | grep -q '\"last_error\":\"dns_failed: dns: slow.test: '"
check "tunnels over resolved names carried data" \
    logged A "closed route=forward.search .*up=100 down=100 .*reason=done"

pl_finish

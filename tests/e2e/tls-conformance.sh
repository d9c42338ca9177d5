#!/bin/sh
# Goal: a real `peerlock run` listening with security = tls answers every
# RFC 8446 record-layer, KeyUpdate and alert corner the way the RFC (and
# tlsfuzzer's scripts of the same name, docs/tls.md "Conformance probes")
# expects: the exact fatal alert, decrypted by an independent TLS 1.3
# client (tests/tools/tlsprobe.py on tlslite-ng), then the end of the
# connection; exactly one close line per probe with the right reason; and
# the process still serving an honest tunnel afterwards.
# Skipped (77) only when the probe's venv cannot be built
# (contrib/build-tlsprobe-py.sh: tlslite-ng and cryptography from PyPI),
# or when wolfSSL, not peerlock, keeps the records (stock libwolfssl).
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
# The expected alerts and reasons are those of peerlock's own record
# layer (src/tlsrec.c, tls.c); a wolfSSL without HAVE_SECRET_CALLBACK
# (Debian's stock build) keeps the records itself (docs/tls.md).
"$PEERLOCK" version -v | grep -q "own TLS record layer no" &&
    skip "this wolfSSL keeps the TLS records (no HAVE_SECRET_CALLBACK):" \
	"the probes check peerlock's own record layer;" \
	"build with contrib/build-wolfssl.sh"
PY=${TLSPROBE_PYTHON:-}
if [ -z "$PY" ]; then
	PY=$("$top_srcdir/contrib/build-tlsprobe-py.sh" --no-install \
	    2>"$T/venv.err" |
	    tail -n 1) || PY=""
	[ -n "$PY" ] && [ -x "$PY" ] ||
	    skip "tlsprobe venv not available: $(tail -n 3 "$T/venv.err")"
fi
PROBE="$top_srcdir/tests/tools/tlsprobe.py"

keygen B
ID_P=$("$PY" "$PROBE" gen-id "$T/P.id") || { echo "FAIL: gen-id"; exit 1; }
start_echod echo
PB=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" security=tls \
    handshake_timeout=5s
conf_expose B echo "$ID_P" "$PORT_echo"
start_peerlock B || exit 1

# Each probe is one connection; tlsprobe.py checks what comes back on it,
# then B's log (exactly one close line for it, with the reason the probe
# table in tlsprobe.py names) and that B is still alive, printing PASS
# or FAIL lines (docs/tls.md "Conformance probes" lists them).
# run_probes [--suite NAME] [PROBE...]
run_probes() {
	"$PY" "$PROBE" run --port "$PB" --id "$T/P.id" --peer "$ID_B" \
	    --log "$T/B.log" --pid "$PID_B" "$@" >"$T/probe.out" 2>&1
	while IFS= read -r line; do
		case $line in
		PASS:*) pass "${line#PASS: }" ;;
		*) fail "${line#FAIL: }" ;;
		esac
	done <"$T/probe.out"
}

n_all=$("$PY" "$PROBE" list | wc -l)
run_probes
check "all $n_all probes ran, each with its one close line" \
    test "$(grep -c '^PASS: .*: one close line' "$T/probe.out")" -eq "$n_all"
# the harness and a KeyUpdate round under the other two suites
for s in chacha20-poly1305 aes256gcm; do
	run_probes --suite "$s" sanity ku-requested close-notify-with-finished
done
# after all that, B still carries an honest tunnel
run_probes sanity
check "peerlock B is still running" kill -0 "$PID_B"
pl_finish

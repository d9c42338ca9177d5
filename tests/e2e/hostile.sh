#!/bin/sh
# Goal: hostile peers against real peerlocks.  Every case ends with one
# logged reason and a closed connection, nothing reaches a target before
# authentication, and an honest tunnel keeps transferring with intact
# checksums the whole time:
#  - garbage, an oversized varint or a huge length prefix before and
#    during multistream-select (after a valid header), a huge Noise
#    length prefix;
#  - Noise msg 2 / msg 3 with a flipped bit (tag, encrypted static key,
#    ephemeral key), the wrong length, truncated, stalled halfway, or
#    never sent (tests/tools/plpeer: a real libp2p upgrade that spoils its
#    own message), both against a listener and against a dialer;
#  - slowloris: one byte per second in multistream and in the handshake;
#  - tampered transport frames between two real peerlocks (a flipped bit
#    in the ciphertext, the length or the tag; a replayed or reordered
#    frame; tests/tools/mitm.py), in both directions;
#  - /tls/1.0.0: no client certificate, a certificate claiming an
#    allowlisted peer but signed by another key, no libp2p extension,
#    expired, a corrupt key, an unknown critical extension, and a valid
#    certificate of a peer that is not allowlisted;
#  - an authenticated TLS peer flooding KeyUpdate requests without reading
#    (B's RSS bound), and one sending an all-zero record (the alert
#    reaches it before the close).
# The wrong peer ID and an authenticated but unlisted peer over /noise
# are in transfer.sh (and tls.sh for TLS); a flood of half-open
# handshakes in limits.sh.  E2E_QUICK=1 uses small honest transfers
# (contrib/valgrind.sh).
. "$(dirname "$0")/lib.sh"

# handshake_timeout, seconds; under valgrind (E2E_QUICK) an honest
# handshake beside the KeyUpdate and frame floods can take over 3 s
if [ -n "${E2E_QUICK:-}" ]; then HS=8; else HS=3; fi
if [ -n "${E2E_QUICK:-}" ]; then HONEST=1M; else HONEST=4M; fi

keygen A; keygen B; keygen D; keygen H; keygen X; keygen S; keygen K
start_echod echo
start_echod tgt		# what hostile peers would reach
start_echod ksink --mode sink	# K's: data reaches it, nothing comes back
start_echod mt		# behind the MITM path
PB=$(free_port); FA=$(free_port)

conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" "security=noise tls" \
    "handshake_timeout=${HS}s"
conf_expose B echo "$ID_A" "$PORT_echo"
conf_expose B hostile "$ID_H" "$PORT_tgt"
conf_expose B kflood "$ID_K" "$PORT_ksink"
conf_expose B mt "$ID_D" "$PORT_mt"
conf_node A security=noise "handshake_timeout=${HS}s"
conf_forward A echo "$FA" "$PB" "$ID_B"
# A also dials hostile listeners (plpeer listen), one forward per mode.
LMODES="flip-tag flip-body flip-e short pad trunc stall stop"
for m in $LMODES; do
	v=$(echo "$m" | tr - _)
	eval "LF_$v=$(free_port) LP_$v=$(free_port)"
	eval "lf=\$LF_$v lp=\$LP_$v"
	conf_forward A "l_$v" "$lf" "$lp" "$ID_H"
done
# D reaches B only through a tampering relay, one per mode/direction.
conf_node D security=noise
MCASES="none_up flip-ct_up flip-len_up flip-tag_up replay_up reorder_up
flip-ct_down flip-len_down flip-tag_down replay_down reorder_down"
for c in $MCASES; do
	v=$(echo "$c" | tr - _)
	eval "MF_$v=$(free_port) MP_$v=$(free_port)"
	eval "mf=\$MF_$v mp=\$MP_$v"
	conf_forward D "m_$v" "$mf" "$mp" "$ID_B"
	bg "mitm_$v" python3 "$top_srcdir/tests/tools/mitm.py" "$mp" "$PB" \
	    "${c%_*}" "${c##*_}" 2
done
# B's RSS is measured under the KeyUpdate flood: under ASan, keep the
# quarantine of freed memory small (it would count as growth).
ASAN_OPTIONS="quarantine_size_mb=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export ASAN_OPTIONS
start_peerlock B || exit 1
start_peerlock A || exit 1
start_peerlock D || exit 1

# --- an honest tunnel that keeps flowing ----------------------------------
# Transfers of $HONEST bytes back to back, each checked byte for byte,
# until $T/stop exists; one result line per transfer.
(
	i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		if "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes "$HONEST" \
		    --seed "$i" --timeout 120 >"$T/honest.last" 2>&1; then
			echo "ok $i"
		else
			echo "FAIL $i $(cat "$T/honest.last")"
		fi
		sleep 0.3
	done >"$T/honest.out"
) &
honest=$!
for _ in $(seq 200); do [ -s "$T/honest.out" ] && break; sleep 0.1; done
check "honest tunnel is flowing before the hostile cases" \
    grep -q "^ok 1" "$T/honest.out"

# one_reason NAME PATTERN: exactly one connection of NAME closed since the
# mark with a non-honest route, and its reason matches PATTERN.
one_reason() {
	logged_after "$1" "closed route=.* reason=" >/dev/null
	sleep 0.2
	n=$(since "$1" | grep "closed route=" | grep -vc "route=forward.echo\|route=expose.echo")
	since "$1" | grep "closed route=" | grep -v "route=forward.echo\|route=expose.echo" |
	    grep -q -- "$2" && [ "$n" -eq 1 ]
}

# raw DESC HEX PATTERN [HOLD]: send HEX to B; B must close the connection
# and log one reason matching PATTERN.
raw() {
	log_mark B
	check "$1: connection closed" rawsend "$PB" "$2" "${4:-6}"
	check "$1: one reason logged: $3" one_reason B "$3"
}

hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
HDR=132f6d756c746973747265616d2f312e302e300a	# /multistream/1.0.0
PROP=072f6e6f6973650a				# /noise
tgt0=$(accepted tgt)

# --- multistream: before and during ---------------------------------------
# (plain garbage instead of the header is in transfer.sh)
raw "huge length prefix before the header (varint 16383)" \
    "ff7f$(hexof /multistream/1.0.0)" "reason=handshake_failed: multistream"
raw "oversized varint during multistream (after a valid header)" \
    "${HDR}ffffffffffffffffff01" "reason=handshake_failed: multistream"
raw "huge length prefix during multistream (after a valid header)" \
    "${HDR}ff7f$(hexof /noise)" "reason=handshake_failed: multistream"
# ('G' reads as a 71-byte message: send more than that)
raw "garbage during multistream (after a valid header)" \
    "${HDR}$(hexof 'GET /index.html HTTP/1.1
Host: example.com
User-Agent: hostile/1.0
Accept: */*

')" "reason=handshake_failed: multistream: message of 71 bytes lacks"
raw "a proposal without its newline (after a valid header)" \
    "${HDR}07$(hexof /noisex)" "reason=handshake_failed: multistream"
raw "an unknown protocol, then silence" \
    "${HDR}0c$(hexof /nope/1.0.0)0a" "reason=handshake_timeout" $((HS + 3))
# Noise message 1 declared 65535 bytes long (the maximum) and sent in
# full: its payload is far over the 4 KiB cap.  (Too long for argv.)
log_mark B
check "huge Noise length prefix (65535-byte message 1): closed" \
    python3 - "$PB" "${HDR}${PROP}" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(bytes.fromhex(sys.argv[2]) + b"\xff\xff" + b"\xee" * 65535)
s.settimeout(5)
try:
    while s.recv(65536):
        pass
except ConnectionResetError:
    pass
PY
check "huge Noise length prefix: one reason logged" one_reason B \
    "reason=handshake_failed: noise: handshake message 1 (65535 bytes) rejected"
raw "Noise message 1 of length 0" "${HDR}${PROP}0000" \
    "reason=handshake_failed: noise"

# --- slowloris: one byte per second ----------------------------------------
# slow HEX: send HEX one byte per second; exit 0 if B closed the
# connection before the bytes ran out; prints the seconds it took.
slow() {
	python3 - "$PB" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
t0 = time.time()
try:
    for b in bytes.fromhex(sys.argv[2]):
        s.sendall(bytes([b]))
        s.settimeout(1)
        try:
            if s.recv(4096) == b"" :
                raise ConnectionResetError
        except socket.timeout:
            pass
except (ConnectionResetError, BrokenPipeError):
    print("closed after %.1fs" % (time.time() - t0))
    sys.exit(0)
print("still open after %.1fs" % (time.time() - t0))
sys.exit(1)
PY
}
log_mark B
check "slowloris in multistream (1 byte/s) is closed" slow "${HDR}${PROP}"
check "slowloris in multistream: closed by handshake_timeout" \
    one_reason B "reason=handshake_timeout"
log_mark B
check "slowloris in the handshake (1 byte/s of msg 1) is closed" \
    slow "${HDR}${PROP}0020$(python3 -c 'print("11"*32)')"
check "slowloris in the handshake: closed by handshake_timeout" \
    one_reason B "reason=handshake_timeout"

# --- Noise: a real dialer spoils msg 3 --------------------------------------
# (plpeer's key H is allowlisted for expose.hostile: an unspoiled msg 3
# would reach the target.)
for m in flip-tag flip-body flip-e short pad trunc stall stop; do
	case $m in
	stall|stop) want="reason=handshake_timeout" hold=$((HS + 3)) ;;
	trunc) want="reason=closed_early: remote closed the connection during the handshake (truncated message)" hold=5 ;;
	short) want="reason=handshake_failed: noise: handshake message 3 (16 bytes) rejected" hold=5 ;;
	*) want="reason=handshake_failed: noise: handshake message 3 ([0-9]* bytes) rejected: wrong length or failed authentication" hold=5 ;;
	esac
	log_mark B
	check "msg 3 $m: B closes the connection" \
	    "$TOOLS/plpeer" dial "$PB" --key "$T/H.key" --expect "$ID_B" \
	    --mode "$m" --hold "$hold"
	check "msg 3 $m: one reason: $want" one_reason B "$want"
done
check "no spoiled msg 3 reached the target" test "$(accepted tgt)" = "$tgt0"
log_mark B
"$TOOLS/plpeer" dial "$PB" --key "$T/H.key" --expect "$ID_B" \
    --mode honest --hold 1 >"$T/control.out" 2>&1
check "control: an unspoiled msg 3 from H is accepted (B keeps it open)" \
    grep -q "honest: still open" "$T/control.out"
check "control: and B connected H to its target" \
    test "$(accepted tgt)" -eq "$((tgt0 + 1))"

# --- Noise: a real listener spoils msg 2 ------------------------------------
for m in $LMODES; do
	v=$(echo "$m" | tr - _)
	eval "lf=\$LF_$v lp=\$LP_$v"
	case $m in
	stall|stop) want="reason=handshake_timeout" ;;
	trunc) want="reason=closed_early: remote closed the connection during the handshake (truncated message)" ;;
	short) want="reason=handshake_failed: noise: handshake message 2 (16 bytes) rejected" ;;
	*) want="reason=handshake_failed: noise: handshake message 2 ([0-9]* bytes) rejected: wrong length or failed authentication" ;;
	esac
	log_mark A
	rm -f "$T/l_$v.port"
	"$TOOLS/plpeer" listen "$lp" --key "$T/H.key" --mode "$m" \
	    --port-file "$T/l_$v.port" --hold $((HS + 3)) >"$T/l_$v.out" 2>&1 &
	lpid=$!
	for _ in $(seq 100); do [ -s "$T/l_$v.port" ] && break; sleep 0.05; done
	check_not "msg 2 $m: the app behind A gets nothing" \
	    "$TOOLS/plclient" 127.0.0.1 "$lf" --bytes 10 --timeout $((HS + 3))
	check "msg 2 $m: A closes the connection to the spoiling listener" \
	    wait "$lpid"
	check "msg 2 $m: A sent nothing after the spoiled msg 2" \
	    grep -q "peer closed .*, 0 bytes received" "$T/l_$v.out"
	check "msg 2 $m: one reason: $want" one_reason A "$want"
done

# --- tampered transport frames (MITM between D and B) ----------------------
mt0=$(accepted mt)
log_mark B
check "control: an unchanged relay carries 1 MiB from D through B" \
    "$TOOLS/plclient" 127.0.0.1 "$MF_none_up" --bytes 1M --timeout 30
check "control: B logged a clean close" \
    one_reason B "route=expose.mt .*reason=done"
AUTHFAIL="reason=protocol_error: noise: transport frame failed authentication (tampered, replayed or reordered)"
for c in $MCASES; do
	[ "$c" = none_up ] && continue
	v=$(echo "$c" | tr - _)
	eval "mf=\$MF_$v"
	case $c in *_up) who=B ;; *) who=D ;; esac
	log_mark "$who"
	log_mark "mitm_$v"
	check_not "$c: the app's transfer fails" \
	    "$TOOLS/plclient" 127.0.0.1 "$mf" --bytes 1M --timeout 20
	check "$c: the relay did it" logged_after "mitm_$v" "${c%_*} on transport frame 2\|reordered frames 2 and 3"
	check "$c: $who closes with: $AUTHFAIL" one_reason "$who" "$AUTHFAIL"
done
check "every MITM tunnel reached the target only after authentication" \
    test "$(accepted mt)" -eq "$((mt0 + 11))"

# --- /tls/1.0.0: bad client certificates ------------------------------------
# no certificate at all: python's TLS 1.3 client offers none
log_mark B
python3 - "$PB" >"$T/nocert.out" 2>&1 <<'PY'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
hello = b"\x13/multistream/1.0.0\n\x0b/tls/1.0.0\n"
s.sendall(hello)
got = b""
while len(got) < len(hello):
    got += s.recv(len(hello) - len(got))
assert got == hello, got
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.set_alpn_protocols(["libp2p"])
t = ctx.wrap_socket(s)
t.settimeout(5)
try:
    d = t.recv(100)
    print("closed" if d == b"" else "data")
    sys.exit(0 if d == b"" else 1)
except (ssl.SSLError, ConnectionResetError, OSError) as e:
    print("closed:", e)
    sys.exit(0)
PY
check "tls without a client certificate: closed" test $? -eq 0
check "tls without a client certificate: one reason logged" \
    one_reason B "reason=handshake_failed: tls"
for m in foreign-sig no-ext expired corrupt-key extra-crit valid; do
	case $m in
	foreign-sig) k=A want="tls: certificate extension signature invalid" ;;
	valid) k=X want="reason=not_allowed: peer-id check: $ID_X" ;;
	*) k=A want="reason=handshake_failed: tls: " ;;
	esac
	log_mark B
	check "tls cert $m (as $k): B closes the connection" \
	    "$TOOLS/plpeer" tls "$PB" --key "$T/$k.key" --signer "$T/S.key" \
	    --mode "$m" --hold 5
	check "tls cert $m: one reason: $want" one_reason B "$want"
done
check "no bad certificate reached any target" \
    test "$(accepted tgt)" -eq "$((tgt0 + 1))"

# --- an authenticated TLS peer that misbehaves (issue 13) ------------------
# KeyUpdate(update_requested) records, a byte of data after every 31 (so
# under the in-a-row cap) to a sink, and never a read: our answers are
# coalesced and, while the encrypted output is above its mark, held back
# in tls.c (one answer for any number of requests), so
# B's memory stays bounded (before: about 75 MiB per 3 million records).
rss0=$(rss_kb "$PID_B"); rssmax=$rss0
"$TOOLS/plpeer" tls "$PB" --key "$T/K.key" --mode ku-flood --hold 20 \
    >"$T/kuflood.out" 2>&1 &
kf=$!
while kill -0 "$kf" 2>/dev/null; do
	r=$(rss_kb "$PID_B"); [ "$r" -gt "$rssmax" ] && rssmax=$r
	sleep 0.2
done
wait "$kf"
cat "$T/kuflood.out"
kun=$(sed -n 's/^plpeer ku-flood: \([0-9]*\) KeyUpdate requests$/\1/p' \
    "$T/kuflood.out")
check "ku-flood: the flood ran (${kun:-0} requests)" test "${kun:-0}" -ge 1000
# 2 MiB in a plain build (0.9-1.1 MiB measured; 3 MiB without the fix);
# ASan's redzones and shadow memory multiply every allocation: 8 MiB there.
kubound=2048
ldd "$PEERLOCK" 2>/dev/null | grep -q libasan && kubound=8192
check "ku-flood: B's RSS grew under $kubound KiB ($rss0 -> $rssmax KiB)" \
    test "$((rssmax - rss0))" -lt "$kubound"
# A wolfSSL without HAVE_SECRET_CALLBACK (Debian's stock build) keeps
# the records itself: it answers every request, so instead of sharing
# answers B cuts the flooder off once TLS_WOLF_OUTPUT_MAX bytes of them
# wait in tls.c (tls.h); and plpeer, linked to the same library, cannot
# seal a record of its own choosing for zero-record.
# Whether B's queue reaches that bound within the 20 s depends on how
# much the kernel's socket buffers absorb first (test_tls asserts the
# cut-off itself); the RSS bound above is what must hold either way.
if "$PEERLOCK" version -v | grep -q "own TLS record layer no"; then
	if grep -q "tls: over [0-9]* bytes of our answers queued" "$T/B.log"
	then
		echo "ku-flood (wolfSSL records): B cut the flooder off"
	else
		echo "ku-flood (wolfSSL records): B's answers fit in the socket" \
		    "buffers for the 20 s: not cut off"
	fi
	echo "SKIP: zero-record: this wolfSSL lacks HAVE_SECRET_CALLBACK," \
	    "so plpeer cannot seal an all-zero record (and B's records are" \
	    "wolfSSL's, not tlsrec's): run against contrib/build-wolfssl.sh"
else
	check "zero-record: B sends unexpected_message before closing" \
	    "$TOOLS/plpeer" tls "$PB" --key "$T/H.key" --mode zero-record \
	    --hold 5
fi

# --- the honest tunnel ------------------------------------------------------
touch "$T/stop"
wait "$honest"
n=$(grep -c "^ok" "$T/honest.out")
echo "honest tunnel: $n transfers of $HONEST during the hostile cases"
check "honest tunnel: every transfer checked byte for byte" \
    test "$(grep -c FAIL "$T/honest.out")" -eq 0
check "honest tunnel: several transfers ran during the cases" test "$n" -ge 2
check "no honest tunnel was closed with an error" \
    test "$(grep "route=expose.echo" "$T/B.log" | grep -vc "reason=done")" -eq 0
pl_finish

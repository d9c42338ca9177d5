#!/bin/sh
# Goal: two real peerlocks carry any TCP stream over /tls/1.0.0 unchanged
# (1 B, 64 KiB, 100 MiB, checked byte for byte), pass half-close through
# (close_notify, then FIN), reject the wrong peer before the target sees
# anything, treat a FIN without close_notify as a truncation, and
# negotiate noise/tls by preference with fallback in all 16 combinations
# of both sides' security lists.
. "$(dirname "$0")/lib.sh"

keygen A; keygen B; keygen C
start_echod echo
start_echod sink --mode sink
PB=$(free_port); FA=$(free_port); FW=$(free_port); FS=$(free_port)

conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" security=tls \
    handshake_timeout=2s
conf_expose B echo "$ID_A" "$PORT_echo"
conf_expose B sink "$ID_C" "$PORT_sink"
conf_node A security=tls
conf_forward A echo "$FA" "$PB" "$ID_B"
conf_forward A wrongpeer "$FW" "$PB" "$ID_C"
conf_node C security=tls
conf_forward C sink "$FS" "$PB" "$ID_B"
start_peerlock B || exit 1
start_peerlock A || exit 1
start_peerlock C || exit 1

# --- data integrity ------------------------------------------------------
for n in 1 65536 104857600; do
	check "tls: echo $n bytes through A=>B unchanged" \
	    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes "$n" --seed "$n"
done
check "tls half-close: client FIN, still receives the whole 4 MiB echo" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 4194304 --half-close
check "A's close line says proto=/tls/1.0.0" \
    logged A "closed route=forward.echo .*peer=$ID_B proto=/tls/1.0.0 up=1 down=1 .*reason=done"
check "B's close line names A and proto=/tls/1.0.0" \
    logged B "route=expose.echo .*peer=$ID_A proto=/tls/1.0.0 .*reason=done"
check "half-closed tunnel ended cleanly on both sides" \
    logged B "proto=/tls/1.0.0 up=4194304 down=4194304 .*reason=done"

# --- authentication ------------------------------------------------------
before=$(accepted echo)
check_not "tls: wrong expected peer id: client gets no echo" \
    "$TOOLS/plclient" 127.0.0.1 "$FW" --bytes 10 --timeout 5
check "tls: wrong peer id logged with Noise's wording" \
    logged A "reason=handshake_failed: peer id mismatch: expected $ID_C, remote is $ID_B"
check "target saw no connection from the rejected tunnel" \
    test "$(accepted echo)" = "$before"

# --- truncation: FIN without close_notify ---------------------------------
# C streams 1 GiB into a sink through B (several seconds here) and dies
# (SIGKILL) half a second after the sink accepted: B reads a FIN with no
# close_notify, must call it a truncation and reset the target side.
"$TOOLS/plclient" 127.0.0.1 "$FS" --bytes 1073741824 --no-echo \
    --timeout 20 >/dev/null 2>&1 &
trunc=$!
for _ in $(seq 100); do [ "$(accepted sink)" -ge 1 ] && break; sleep 0.05; done
sleep 0.5
kill -9 "$PID_C"
check "FIN without close_notify is logged as a truncation by B" \
    logged B "route=expose.sink .*reason=protocol_error: tls: connection closed without close_notify (truncated stream)"
wait "$trunc" 2>/dev/null

# --- preference and fallback: A's list x B's list ------------------------
LISTS="noise tls noise_tls tls_noise"
words() { echo "$1" | tr _ ' '; }
# first entry of A's list that B also lists, or "none"
pick() {
	for p in $(words "$1"); do
		case " $(words "$2") " in *" $p "*) echo "$p"; return;; esac
	done
	echo none
}
cat >"$T/M.conf" <<CONF
[peerlock]
identity = $T/A.key
CONF
for lb in $LISTS; do
	start_echod "t_$lb"
	eval "PM_$lb=$(free_port)"
	eval "pm=\$PM_$lb; tp=\$PORT_t_$lb"
	cat >"$T/L_$lb.conf" <<CONF
[peerlock]
identity = $T/B.key
listen = /ip4/127.0.0.1/tcp/$pm
security = $(words "$lb")
[expose.echo]
peers = $ID_A
target = 127.0.0.1:$tp
CONF
	for la in $LISTS; do
		eval "FM_${la}__$lb=$(free_port)"
		eval "fp=\$FM_${la}__$lb"
		cat >>"$T/M.conf" <<CONF
[forward.${la}_to_$lb]
listen = 127.0.0.1:$fp
peer = /ip4/127.0.0.1/tcp/$pm/p2p/$ID_B
security = $(words "$la")
CONF
	done
	start_peerlock "L_$lb" || exit 1
done
start_peerlock M || exit 1
for la in $LISTS; do
	for lb in $LISTS; do
		eval "fp=\$FM_${la}__$lb"
		want=$(pick "$la" "$lb")
		case=$(printf 'A [%s] x B [%s]' "$(words "$la")" "$(words "$lb")")
		before=$(accepted "t_$lb")
		if [ "$want" = none ]; then
			check_not "$case: no common protocol, client gets nothing" \
			    "$TOOLS/plclient" 127.0.0.1 "$fp" --bytes 10 --timeout 5
			check "$case: dialer names the refused protocols" \
			    logged M "route=forward.${la}_to_$lb .*reason=handshake_failed: multistream: peer refused all of /$(words "$la" | sed 's/tls/tls\/1.0.0/')"
			check "$case: listener says no common security protocol" \
			    logged "L_$lb" "no common security protocol: we refused every proposal of the dialer and accept only /$(words "$lb" | sed 's/tls/tls\/1.0.0/')"
			check "$case: no connection at the target" \
			    test "$(accepted "t_$lb")" = "$before"
		else
			id=/noise; [ "$want" = tls ] && id=/tls/1.0.0
			check "$case: echo through, negotiated $id" \
			    "$TOOLS/plclient" 127.0.0.1 "$fp" --bytes 1000 --seed 3
			check "$case: dialer close line proto=$id" \
			    logged M "route=forward.${la}_to_$lb .*proto=$id up=1000 down=1000 .*reason=done"
		fi
	done
done
for lb in $LISTS; do
	want=0
	for la in $LISTS; do [ "$(pick "$la" "$lb")" = none ] || want=$((want + 1)); done
	check "B [$(words "$lb")]: target saw exactly the $want allowed tunnels" \
	    test "$(accepted "t_$lb")" = "$want"
	n=$(grep -c "route=expose.echo .*reason=done" "$T/L_$lb.log")
	check "B [$(words "$lb")]: $want clean close lines" test "$n" = "$want"
done

pl_finish

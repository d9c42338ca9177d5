#!/bin/sh
# Goal: Noise frames are the same bytes whichever ChaCha20-Poly1305 seals
# them (src/aead.h): a peerlock forced to libsodium and one forced to
# wolfCrypt (PEERLOCK_AEAD) carry streams both ways unchanged (each side
# opens what the other sealed), across frame boundaries (1 byte, one full
# frame of 65,519, one byte more, 16 MiB), and each logs the
# implementation it uses.  Skipped when this build has no wolfCrypt
# ChaCha20-Poly1305 (a wolfSSL without it).
. "$(dirname "$0")/lib.sh"

if ! PEERLOCK_AEAD=wolfcrypt "$PEERLOCK" version >/dev/null 2>&1; then
	echo "SKIP: this build's wolfSSL has no ChaCha20-Poly1305"
	exit 77
fi

keygen A; keygen B
start_echod echo
PB=$(free_port); FA=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" security=noise
conf_expose B echo "$ID_A" "$PORT_echo"
conf_node A security=noise
conf_forward A echo "$FA" "$PB" "$ID_B"
PEERLOCK_AEAD=sodium
export PEERLOCK_AEAD
start_peerlock B || exit 1
PEERLOCK_AEAD=wolfcrypt
start_peerlock A || exit 1
unset PEERLOCK_AEAD

check "B seals and opens with libsodium" \
    logged B "noise transport: ChaCha20-Poly1305 by libsodium (.*), set by PEERLOCK_AEAD"
check "A seals and opens with wolfCrypt" \
    logged A "noise transport: ChaCha20-Poly1305 by wolfcrypt (.*), set by PEERLOCK_AEAD"
for n in 1 65519 65520 16777216; do
	check "echo $n bytes: A (wolfCrypt) => B (libsodium) => A, unchanged" \
	    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes "$n" --seed "$n"
done
check "the tunnels closed cleanly on both sides" \
    logged B "route=expose.echo .*proto=/noise up=16777216 down=16777216 .*reason=done"
check_not "no frame failed authentication" \
    grep -q "failed authentication" "$T/A.log" "$T/B.log"

pl_finish

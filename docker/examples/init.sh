#!/bin/sh
# init.sh - first run of docker/compose.yml: create each sidecar's identity
# in its volume (the entry point's "identity" command: keygen if missing,
# then print the peer ID) and write the IDs to docker/.env, which compose
# reads for ${PEER_A} and ${PEER_B}.  Safe to re-run: existing identities
# are kept, so the IDs do not change.
set -eu
cd "$(dirname "$0")/.."
compose() { docker compose -f compose.yml "$@"; }
compose build peerlock-a
a=$(compose run --rm --no-deps -T peerlock-a identity)
b=$(compose run --rm --no-deps -T peerlock-b identity)
printf 'PEER_A=%s\nPEER_B=%s\n' "$a" "$b" >.env
echo "peerlock-a is $a"
echo "peerlock-b is $b"
echo "wrote $(pwd)/.env; now: docker compose -f docker/compose.yml up"

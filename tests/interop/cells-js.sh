#!/bin/sh
# cells-js.sh - the js-libp2p cells of the interop matrix (matrix.sh).
# Runs tests/interop/interop.sh once per security protocol and turns its
# PASS:/FAIL: lines into cells, one per security x direction x js key type:
#   CELL js <sec> <dir> raw <keytype> PASS|FAIL|SKIP <detail>
# <dir> is js->peerlock (jspeer dial -> peerlock expose -> echod: the
# echoes, jspeer expecting a wrong ID, the expose ACL) or peerlock->js
# (plclient -> peerlock forward -> jspeer listen: the echoes, half-close,
# js seeing peerlock's ID, the forward to a wrong /p2p/ ID).  The key file
# checks and "peerlock still running" count for both directions, and a
# failure that names no key type (preflight, keygen, echod) for every
# cell of that protocol.  js-libp2p has no ECDSA identities: no ecdsa cell.
# interop.sh's whole output goes to stderr (the test log).
set -u

here=$(cd "$(dirname "$0")" && pwd)
TYPES="ed25519 secp256k1 rsa"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-cells-js.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0

# checks FILE SEC TYPE DIR: the check lines (PASS:/FAIL:) of one cell.
checks() {
	_p="^\(PASS\|FAIL\): \[$2\] $3: "
	_both="peerlock id reads\|peerlock still running\|peerlock exited\|jspeer keygen\|js listener did not start\|peerlock run did not"
	case $4 in
	js-\>peerlock) _dir="js dial\|expose" ;;
	*) _dir="peerlock forward\|js listener\|forward to a wrong\|wrong /p2p/" ;;
	esac
	grep "$_p\($_both\|$_dir\)" "$1"
	# failures that name no key type: every cell
	grep "^FAIL: \[$2\] " "$1" | grep -v "^FAIL: \[$2\] \(ed25519\|secp256k1\|rsa\): "
}

for sec in noise tls; do
	out="$tmp/$sec.out"
	SECURITY=$sec sh "$here/interop.sh" >"$out" 2>&1
	rc=$?
	sed "s/^/interop.sh [$sec]: /" "$out" >&2
	for t in $TYPES; do
		for dir in "js->peerlock" "peerlock->js"; do
			if [ $rc -eq 77 ]; then
				echo "CELL js $sec $dir raw $t SKIP $(grep -m 1 '^SKIP' "$out")"
				continue
			fi
			checks "$out" "$sec" "$t" "$dir" >"$tmp/cell"
			npass=$(grep -c '^PASS' "$tmp/cell")
			nfail=$(grep -c '^FAIL' "$tmp/cell")
			if [ "$nfail" -gt 0 ]; then
				echo "CELL js $sec $dir raw $t FAIL $nfail of $((npass + nfail)) checks failed: $(grep -m 1 '^FAIL' "$tmp/cell" | sed 's/^FAIL: \[[a-z]*\] //')"
				failed=1
			elif [ "$npass" -eq 0 ]; then
				echo "CELL js $sec $dir raw $t FAIL no check ran (interop.sh exit $rc)"
				failed=1
			elif [ $rc -ne 0 ]; then
				echo "CELL js $sec $dir raw $t FAIL interop.sh exit $rc"
				failed=1
			else
				echo "CELL js $sec $dir raw $t PASS $npass checks of interop.sh"
			fi
		done
	done
done
[ $failed -eq 0 ]

#!/bin/sh
# interop-kubo.sh - tests/interop/cells-kubo.sh on its own (make check runs
# it through matrix.sh)
# (peerlock's node mode against a real Kubo's `ipfs p2p`, both directions,
# TLS and Noise): prints PASS:/FAIL: per cell and "N passed, N failed".
# Exit 0 when every cell passed, 1 on any failed cell (or none at all),
# 77 (skip) when every cell skipped (no usable Go to build Kubo).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${PEERLOCK:=$top_builddir/peerlock}"
export top_srcdir top_builddir PEERLOCK

out=$(sh "$here/cells-kubo.sh")
np=0 nf=0 ns=0
while IFS= read -r line; do
	set -f
	# shellcheck disable=SC2086
	set -- $line
	set +f
	if [ $# -lt 7 ] || [ "$1" != CELL ]; then
		echo "FAIL: not a cell: $line"
		nf=$((nf + 1))
		continue
	fi
	r=$7
	desc="$2 $3 $4 $5 $6"
	shift 7
	case $r in
	PASS) np=$((np + 1)); echo "PASS: $desc: $*" ;;
	SKIP) ns=$((ns + 1)); echo "SKIP: $desc: $*" ;;
	*) nf=$((nf + 1)); echo "FAIL: $desc: $*" ;;
	esac
done <<EOF
$out
EOF
if [ $np -eq 0 ] && [ $nf -eq 0 ] && [ $ns -gt 0 ]; then
	echo "$np passed, $nf failed, $ns skipped"
	exit 77
fi
[ $np -gt 0 ] || nf=$((nf + 1))
echo "$np passed, $nf failed"
[ $nf -eq 0 ]

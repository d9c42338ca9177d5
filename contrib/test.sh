#!/bin/sh
# test.sh - install dependencies, build peerlock, run the whole test suite
# (unit, end-to-end, js-libp2p interop).  Usage: contrib/test.sh [configure args]
# Extra configure arguments pass through, e.g. --enable-asan.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
contrib/install-deps.sh --interop
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
build=${PEERLOCK_BUILD_DIR:-$top/build}
mkdir -p "$build"
cd "$build"
"$top/configure" --enable-debug "$@" >/dev/null
make -j"$(nproc)" >/dev/null
if ! make -j"$(nproc)" check; then
	for f in $(find . -name '*.log' -path '*tests*'); do
		grep -q '^:test-result: \(FAIL\|ERROR\)' "${f%.log}.trs" \
		    2>/dev/null && {
			echo "===== $f"; tail -n 60 "$f"; }
	done
	exit 1
fi

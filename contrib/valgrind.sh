#!/bin/sh
# valgrind.sh - one valgrind pass over end-to-end scenarios: every
# peerlock they start runs under memcheck (--leak-check=full, definite
# leaks are errors); fails on any error in any peerlock, or if a peerlock
# did not exit cleanly enough to write its summary.
#
#   contrib/valgrind.sh [SCENARIO.sh ...]   default: hostile.sh secrets.sh node.sh
#
# Uses $PEERLOCK_BUILD_DIR, else build/ (contrib/test.sh's plain build)
# unless it was configured with sanitizers (they cannot run under
# valgrind), else build-valgrind/; builds there if needed.  The scenarios run with E2E_QUICK=1 (small transfers) and
# PEERLOCK_WRAPPER (tests/e2e/lib.sh's start_peerlock).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PEERLOCK_BUILD_DIR:-$top/build}
if [ -z "${PEERLOCK_BUILD_DIR:-}" ] &&
    grep -q -- "--enable-asan" "$build/config.status" 2>/dev/null; then
	build=$top/build-valgrind
fi
command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind.sh: valgrind not installed (contrib/install-deps.sh)"
	exit 1
}
if [ ! -x "$build/peerlock" ] || [ ! -x "$build/tests/tools/plpeer" ]; then
	cd "$top"
	[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
	mkdir -p "$build"
	cd "$build"
	"$top/configure" --enable-debug >/dev/null
	make -j"$(nproc)" >/dev/null
	make -j"$(nproc)" tests/tools/echod tests/tools/plclient \
	    tests/tools/plpeer >/dev/null
fi
[ $# -gt 0 ] || set -- hostile.sh secrets.sh node.sh

vg=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-valgrind.XXXXXX")
PEERLOCK_WRAPPER="valgrind --leak-check=full \
--errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 \
--log-file=$vg/vg.%p.log"
export PEERLOCK_WRAPPER
E2E_QUICK=1 PEERLOCK_START_TRIES=1200
export E2E_QUICK PEERLOCK_START_TRIES
top_srcdir=$top top_builddir=$build PEERLOCK=$build/peerlock
export top_srcdir top_builddir PEERLOCK

rc=0
for s in "$@"; do
	echo "=== valgrind: tests/e2e/$s"
	if ! sh "$top/tests/e2e/$s" >"$vg/$s.out" 2>&1; then
		echo "valgrind.sh: $s failed under valgrind:"
		tail -n 60 "$vg/$s.out"
		rc=1
	fi
	grep -E "passed, .* failed" "$vg/$s.out" || true
done

n=0
for f in "$vg"/vg.*.log; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	# the summary is written at exit: its absence means a crash or
	# SIGKILL, i.e. no leak check
	if ! grep -q "ERROR SUMMARY: 0 errors from 0 contexts" "$f"; then
		echo "valgrind.sh: errors (or no clean exit) in $f:"
		cat "$f"
		rc=1
	fi
done
echo "valgrind.sh: $n peerlock processes checked"
[ "$n" -gt 0 ] || { echo "valgrind.sh: no peerlock ran under valgrind"; rc=1; }
[ "$rc" -eq 0 ] && rm -rf "$vg" || echo "valgrind.sh: logs in $vg"
exit "$rc"

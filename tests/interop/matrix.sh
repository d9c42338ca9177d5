#!/bin/sh
# matrix.sh - the interop matrix: peerlock against other libp2p
# implementations.  Runs every tests/interop/cells-<impl>.sh, collects the
# lines they print on stdout,
#   CELL <impl> <sec> <dir> <mode> <keytype> PASS|FAIL|SKIP <detail...>
# and prints them as a table, then, last, exactly one line
#   N passed, N failed            (", N skipped" follows when cells skipped)
# Run by `make check` with PEERLOCK, top_srcdir and top_builddir set.
#   MATRIX_IMPLS="go js"  runs only those cells-<impl>.sh.
# Exit 0 when no cell failed and at least one passed; 77 (automake's skip)
# when every cell skipped; 1 otherwise.  A cells script that exits non-zero
# without printing a FAIL cell, prints no cell at all, or prints a line
# that is not a well-formed cell counts as a failed cell of its own.
# The cells scripts' stderr (their diagnostics and logs) passes through.
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${PEERLOCK:=$top_builddir/peerlock}"
export top_srcdir top_builddir PEERLOCK

tmp=$(mktemp -d "${TMPDIR:-/tmp}/peerlock-matrix.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
all="$tmp/cells"
: >"$all"

ran=0
for script in "$here"/cells-*.sh; do
	[ -f "$script" ] || continue
	impl=$(basename "$script" .sh)
	impl=${impl#cells-}
	if [ -n "${MATRIX_IMPLS:-}" ]; then
		case " $MATRIX_IMPLS " in *" $impl "*) ;; *) continue ;; esac
	fi
	ran=$((ran + 1))
	echo "matrix: cells-$impl.sh" >&2
	t0=$(date +%s)
	sh "$script" >"$tmp/$impl.out"
	rc=$?
	echo "matrix: cells-$impl.sh exit $rc after $(($(date +%s) - t0)) s" >&2
	n=0
	nfail=0
	while IFS= read -r line; do
		set -f	# split on blanks, no globbing of a detail's '*'
		# shellcheck disable=SC2086
		set -- $line
		set +f
		if [ $# -ge 7 ] && [ "$1" = CELL ]; then
			case $7 in
			PASS | SKIP) ;;
			FAIL) nfail=$((nfail + 1)) ;;
			*) set -- CELL "$impl" - - - - FAIL "malformed: $line" ;;
			esac
		else
			set -- CELL "$impl" - - - - FAIL "not a cell: $line"
			nfail=$((nfail + 1))
		fi
		echo "$*" >>"$all"
		n=$((n + 1))
	done <"$tmp/$impl.out"
	if [ $n -eq 0 ]; then
		echo "CELL $impl - - - - FAIL cells-$impl.sh printed no cell (exit $rc)" >>"$all"
	elif [ $rc -ne 0 ] && [ $nfail -eq 0 ]; then
		echo "CELL $impl - - - - FAIL cells-$impl.sh exited $rc with no failed cell" >>"$all"
	fi
done
if [ $ran -eq 0 ]; then
	echo "CELL - - - - - FAIL no cells-*.sh to run${MATRIX_IMPLS:+ (MATRIX_IMPLS=$MATRIX_IMPLS)}" >>"$all"
fi

# The table: fixed columns, then the detail.
awk 'BEGIN {
	fmt = "%-6s %-6s %-14s %-5s %-22s %-6s %s\n"
	printf fmt, "impl", "sec", "direction", "mode", "key type", "result", "detail"
}
{
	d = ""
	for (i = 8; i <= NF; i++) d = d (i > 8 ? " " : "") $i
	printf fmt, $2, $3, $4, $5, $6, $7, d
}' "$all"

passed=$(grep -c '^CELL [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* PASS' "$all")
failed=$(grep -c '^CELL [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* FAIL' "$all")
skipped=$(grep -c '^CELL [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* SKIP' "$all")
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 77
exit 0

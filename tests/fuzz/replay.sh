#!/bin/sh
# Goal: every committed fuzz corpus input (tests/fuzz/corpus/TARGET/*)
# runs through its harness in the ordinary `make check`, so an input that
# once crashed a harness fails the test run, not only contrib/fuzz.sh.
# The harnesses link tests/fuzz/replay.c's main() here (libFuzzer's in a
# --enable-fuzzing build, which replays file arguments the same way).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
fail=0 total=0
for c in "$top_srcdir"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$c" .c); t=${t#fuzz_}
	bin="$top_builddir/tests/fuzz/fuzz_$t"
	dir="$top_srcdir/tests/fuzz/corpus/$t"
	if [ ! -d "$dir" ]; then
		echo "SKIP: $t: no corpus"
		continue
	fi
	if [ ! -x "$bin" ]; then
		echo "FAIL: $t: $bin not built"; fail=1; continue
	fi
	n=$(find "$dir" -type f | wc -l)
	total=$((total + n))
	if out=$("$bin" "$dir" 2>&1); then
		# a harness that cannot run on this build says why
		if skip=$(echo "$out" | grep -m 1 "^SKIP: "); then
			echo "SKIP: $t: ${skip#SKIP: }"
			total=$((total - n))
			continue
		fi
		echo "PASS: $t: $n corpus inputs"
	else
		echo "FAIL: $t: a corpus input broke the harness:"
		echo "$out" | tail -20
		fail=1
	fi
done
echo "replayed $total corpus inputs"
exit $fail

#!/bin/sh
# fuzz.sh - build the libFuzzer harnesses (tests/fuzz) with clang in
# build-fuzz/ and run each one for a bounded time on a COPY of its seed
# corpus (the committed corpus never grows here).  Prints a table of
# target, executions, executions per second and result; exits non-zero
# if any harness crashed, leaked or timed out, naming the input file.
#   contrib/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
# Environment: PEERLOCK_FUZZ_BUILD_DIR (default build-fuzz),
# PEERLOCK_FUZZ_TARGETS (default: every tests/fuzz/fuzz_*.c),
# PEERLOCK_FUZZ_SEED (default 1; 0 = a random seed per run).  The fixed
# default makes a CI run reproducible: it explores the same inputs in the
# same order as the run that was checked before committing, as far as
# its time allows.  Longer soaks should use other seeds.
set -eu
secs=${1:-60}
seed=${PEERLOCK_FUZZ_SEED:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: clang not found; apt-get install clang"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang \
	    >/dev/null
fi
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
build=${PEERLOCK_FUZZ_BUILD_DIR:-$top/build-fuzz}
mkdir -p "$build"
cd "$build"
"$top/configure" --enable-fuzzing CC=clang >/dev/null
make -j"$(nproc)" >/dev/null

targets=${PEERLOCK_FUZZ_TARGETS:-$(cd "$top/tests/fuzz" &&
    ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
run="$build/fuzz-run"
rm -rf "$run"
mkdir -p "$run"
# UBSan findings must stop the run like ASan's; leaks are checked too.
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS ASAN_OPTIONS

failed=0
results="$run/results"
printf '%-18s %12s %10s  %s\n' target executions exec/s result >"$results"
for t in $targets; do
	bin="$build/tests/fuzz/fuzz_$t"
	corpus="$run/$t/corpus"
	mkdir -p "$corpus" "$run/$t/artifacts"
	if [ -d "$top/tests/fuzz/corpus/$t" ]; then
		cp "$top/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || :
	fi
	log="$run/$t/log"
	echo "fuzz: $t for ${secs}s"
	rc=0
	"$bin" -seed="$seed" -max_total_time="$secs" -rss_limit_mb=2048 \
	    -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$run/$t/artifacts/" \
	    "$corpus" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	crash=$(ls "$run/$t/artifacts" 2>/dev/null | head -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$crash" ]; then
		result=ok
	else
		failed=1
		result="FAILED (exit $rc)"
		[ -n "$crash" ] && result="$result: $run/$t/artifacts/$crash"
		echo "===== $t: $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*contract broken)' \
		    "$log" | head -n 5 || :
		grep -E '^ +#[0-9]+ ' "$log" | head -n 15 || :
	fi
	printf '%-18s %12s %10s  %s\n' "$t" "${execs:-?}" "${rate:-?}" \
	    "$result" >>"$results"
done
echo
cat "$results"
exit "$failed"

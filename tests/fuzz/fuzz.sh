#!/bin/bash
# Run the libFuzzer targets built by tests/fuzz/module.mk, one after the other.
# Usage: tests/fuzz/fuzz.sh check FUZZ_DIR TARGET=RUNS...   (make check-fuzz)
#        tests/fuzz/fuzz.sh run FUZZ_DIR SECONDS TARGET...   (make fuzz)
# check: each target from its seeds (tests/fuzz/seeds/<target>) into an empty scratch corpus,
#        -seed=1 and a fixed number of runs, so that a run is repeatable; at most 60 s each.
# run:   each target for SECONDS, growing FUZZ_DIR/corpus/<target> from the seeds.
# Both use tests/fuzz/<target>.dict when there is one.
# A crash, a leak, UB or a broken invariant fails the target: its output is shown with the
# reproducer libFuzzer saved (under FUZZ_DIR/artifacts/<target>/) and how to replay it.  The last
# line is "fuzz: N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 check FUZZ_DIR TARGET=RUNS... | run FUZZ_DIR SECONDS TARGET..." >&2; exit 2; }
[ $# -ge 3 ] || usage
mode=$1 dir=$2
shift 2
case $mode in
check) ;;
run) secs=$1; shift ;;
*) usage ;;
esac
[ $# -gt 0 ] || usage
# Leaks inside system libraries (libslurm's hostlist) are not ours: tests/lsan.supp.  Each such
# leak makes libFuzzer scan the heap for leaks; a smaller ASan quarantine makes that scan faster
# (fuzz_imagecast_wire: 1500 instead of 950 exec/s), and the inputs are small.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$HERE/../lsan.supp:print_suppressions=0}
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

T_SUITE=fuzz
# shellcheck source=../lib/testlib.sh
. "$HERE/../lib/testlib.sh"
for arg in "$@"; do
	t=${arg%%=*}
	bin=$dir/$t seeds=$HERE/seeds/$t art=$dir/artifacts/$t log=$dir/log/$t.$mode.log
	[ -x "$bin" ] || { t_ko "$t (not built)" "$bin is not built"; continue; }
	[ -d "$seeds" ] || { t_ko "$t (no seeds)" "no seeds in $seeds"; continue; }
	mkdir -p "$art" "$dir/log"
	# An input that takes over 10 s is a failure too (a hang, or a parser an input can stall).
	if [ "$mode" = check ]; then
		corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$t.XXXXXX") || exit 1
		# Repeatable: no re-reading of the corpus directory (timed, every second) and no
		# values from comparisons (they include addresses, which ASLR changes).
		opts=(-seed=1 "-runs=${arg#*=}" -max_total_time=60 -timeout=10 -reload=0 -use_cmp=0)
	else
		corpus=$dir/corpus/$t
		mkdir -p "$corpus"
		opts=("-max_total_time=$secs" -timeout=10)
	fi
	[ -f "$HERE/$t.dict" ] && opts+=("-dict=$HERE/$t.dict")
	echo "fuzz: $t ($mode${secs:+, $secs s})"
	start=$(date +%s)
	"$bin" "${opts[@]}" -print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$seeds" \
		>"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	[ "$mode" = check ] && rm -rf "$corpus"
	# The last status line: "#N  DONE  cov: C ft: F corp: U/S ... exec/s: E ..."
	st=$(grep -E '^#[0-9]+' "$log" | tail -1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$st")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$st")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$st")
	if [ $rc -eq 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
		t_ok "$t: ${runs:-?} runs in $took s (${eps:-?} exec/s), cov ${cov:-?} edges, ft ${ft:-?}, corpus ${corp:-?}"
	else
		repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		tail -n 60 "$log" >&2
		echo "fuzz: $t FAILED (exit $rc); full output in $log" >&2
		if [ -n "$repro" ]; then
			echo "fuzz: $t reproducer: $repro" >&2
			echo "fuzz: replay it with: $bin $repro" >&2
		fi
		t_ko "$t (exit $rc${repro:+, reproducer $repro})" "full output in $log"
	fi
done
t_summary

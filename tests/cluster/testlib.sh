# shellcheck shell=bash
# testlib.sh — a minimal test framework for the project's cluster tests (bash). Source it, then:
#
#   t_begin "srun reaches every node"          # starts a test (and ends the previous one)
#   t_run_ok cluster run -- srun -N4 hostname  # must exit 0; sets T_OUT T_ERR T_RC
#   t_eq "node1 node2" "$(echo $T_OUT)"        # EXPECTED ACTUAL [WHAT]
#   t_match '^node[1-4]$' "$T_OUT"             # REGEX (grep -E, any line) STRING [WHAT]
#   t_run_fails cluster run -- srun --bogus    # must exit non-zero
#   t_fail "reason"                            # explicit failure; t_need CMD|PATH... fails if missing
#   t_summary                                  # prints "<suite>: N passed, N failed"; exit 1 if any failed
#
# Rules:
#   - Do not use `set -e` in test scripts: a failed assertion records the failure and returns 1, so
#     a test can stop early with `t_run_ok ... || return` inside a function, or carry on.
#   - Nothing is ever skipped. A test that cannot run because something is missing fails, loudly.
#   - Commands run under `timeout $T_TIMEOUT` (default 120 s) so a hung srun fails instead of hanging CI.
#   - On the first failure of a test the log files listed in T_LOGS (array) are tailed (T_LOG_LINES,
#     default 40), and a function t_on_fail, if the script defines one, is called for more context.
#
# Knobs: T_SUITE (name on the summary line, default "cluster"), T_TIMEOUT, T_LOGS, T_LOG_LINES, T_VERBOSE=1
# (print every command's output even on success).

T_SUITE=${T_SUITE:-cluster}
T_TIMEOUT=${T_TIMEOUT:-120}
T_LOG_LINES=${T_LOG_LINES:-40}
T_VERBOSE=${T_VERBOSE:-0}
[ -n "${T_LOGS+set}" ] || T_LOGS=()
T_PASSED=0
T_FAILED=0
T_FAILED_NAMES=()
T_NAME=""
T_CUR_FAILED=0
T_OUT="" T_ERR="" T_RC=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/testlib.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT

_t_red() { if [ -t 1 ]; then printf '\033[31m%s\033[0m' "$*"; else printf '%s' "$*"; fi; }
_t_green() { if [ -t 1 ]; then printf '\033[32m%s\033[0m' "$*"; else printf '%s' "$*"; fi; }

# Indent a block of text for the failure report, keeping at most $2 (default 60) last lines.
_t_block() {
	local label=$1 text=$2 max=${3:-60} n
	n=$(printf '%s' "$text" | grep -c '' || true)
	if [ "$n" -eq 0 ]; then
		printf '    %s: (empty)\n' "$label"
		return
	fi
	if [ "$n" -gt "$max" ]; then printf '    %s: (last %d of %d lines)\n' "$label" "$max" "$n"; else
		printf '    %s:\n' "$label"
	fi
	printf '%s\n' "$text" | tail -n "$max" | sed 's/^/      | /'
}

# Close the current test: count it as passed unless an assertion failed.
_t_end() {
	[ -n "$T_NAME" ] || return 0
	if [ "$T_CUR_FAILED" = 0 ]; then
		T_PASSED=$((T_PASSED + 1))
		printf '%s %s\n' "$(_t_green PASS)" "$T_NAME"
	else
		T_FAILED=$((T_FAILED + 1))
		T_FAILED_NAMES+=("$T_NAME")
		printf '%s %s\n' "$(_t_red FAIL)" "$T_NAME"
	fi
	T_NAME=""
}

t_begin() {
	_t_end
	T_NAME=$1
	T_CUR_FAILED=0
	T_JOB_OUT=""
	T_T0=${EPOCHREALTIME/./}
	printf -- '--- %s\n' "$T_NAME"
}

# Seconds since t_begin (two decimals), for tests that report timings.
t_elapsed() {
	local now=${EPOCHREALTIME/./}
	printf '%d.%02d' $(((now - T_T0) / 1000000)) $((((now - T_T0) / 10000) % 100))
}

# Record a failure of the current test with a message; on its first failure show the context.
t_fail() {
	[ -n "$T_NAME" ] || t_begin "(outside any test)"
	printf '    %s %s\n' "$(_t_red 'not ok:')" "$*"
	if [ "$T_CUR_FAILED" = 0 ]; then
		T_CUR_FAILED=1
		local f
		# The test's own context first (its job's output, T_JOB_OUT): the log tails are long.
		[ -n "$T_JOB_OUT" ] && [ -f "$T_JOB_OUT" ] &&
			_t_block "job output $T_JOB_OUT" "$(tail -n 40 "$T_JOB_OUT")" 40
		if declare -F t_on_fail >/dev/null; then t_on_fail; fi
		for f in "${T_LOGS[@]}"; do
			[ -n "$f" ] || continue
			if [ -f "$f" ]; then _t_block "tail of $f" "$(tail -n "$T_LOG_LINES" "$f")" "$T_LOG_LINES"; else
				printf '    (log %s does not exist)\n' "$f"
			fi
		done
	fi
	return 1
}

# _t_run_fn FUNCTION ARGS...: run a shell function in a subshell of its own process group, killed
# (TERM, then KILL 5 s later) with the whole group after T_TIMEOUT s; exit status 124 then, as
# timeout(1) gives.  `timeout` cannot run a shell function, and a function such as as_user wraps
# srun, which is exactly what can hang.
_t_run_fn() {
	local rc=0 pid wd
	rm -f "$T_TMP/timedout"
	set -m
	("$@") >"$T_TMP/out" 2>"$T_TMP/err" </dev/null &
	pid=$!
	(
		trap 'exit 0' TERM
		sleep "$T_TIMEOUT" &
		wait $!
		touch "$T_TMP/timedout"
		kill -TERM -- "-$pid" 2>/dev/null
		sleep 5 &
		wait $!
		kill -KILL -- "-$pid" 2>/dev/null
	) >/dev/null 2>&1 </dev/null &
	wd=$!
	set +m
	wait "$pid" || rc=$?
	kill -TERM -- "-$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	[ -e "$T_TMP/timedout" ] && rc=124
	return "$rc"
}

# Run a command, capturing stdout, stderr and the exit status into T_OUT, T_ERR, T_RC.
# Every command, shell functions included, is bounded by T_TIMEOUT seconds.
t_run() {
	local rc=0
	if declare -F "$1" >/dev/null; then
		_t_run_fn "$@" || rc=$?
	else
		timeout -k 5 "$T_TIMEOUT" "$@" >"$T_TMP/out" 2>"$T_TMP/err" </dev/null || rc=$?
	fi
	T_OUT=$(cat "$T_TMP/out") T_ERR=$(cat "$T_TMP/err") T_RC=$rc
	T_CMD=$(printf '%q ' "$@")
	if [ "$T_VERBOSE" = 1 ]; then
		printf '    $ %s-> rc %d\n' "$T_CMD" "$T_RC"
		_t_block stdout "$T_OUT"
		_t_block stderr "$T_ERR"
	fi
	return 0
}

_t_report_cmd() {
	printf '    command: %s\n    exit status: %d%s\n' "$T_CMD" "$T_RC" \
		"$([ "$T_RC" = 124 ] && echo " (timed out after ${T_TIMEOUT}s)")"
	_t_block stdout "$T_OUT"
	_t_block stderr "$T_ERR"
}

t_run_ok() {
	t_run "$@"
	[ "$T_RC" = 0 ] && return 0
	_t_report_cmd
	t_fail "command failed (expected exit status 0)"
}

t_run_fails() {
	t_run "$@"
	[ "$T_RC" != 0 ] && [ "$T_RC" != 124 ] && return 0
	_t_report_cmd
	if [ "$T_RC" = 124 ]; then t_fail "command timed out (expected it to fail)"; else
		t_fail "command succeeded (expected a non-zero exit status)"
	fi
}

t_eq() {
	local expected=$1 actual=$2 what=${3:-value}
	[ "$expected" = "$actual" ] && return 0
	_t_block "expected $what" "$expected"
	_t_block "actual $what" "$actual"
	t_fail "$what differs"
}

# REGEX is an extended regular expression matched against each line of STRING (grep -E).
t_match() {
	local re=$1 str=$2 what=${3:-output}
	printf '%s\n' "$str" | grep -qE -- "$re" && return 0
	_t_block "$what" "$str"
	t_fail "$what does not match /$re/"
}

t_nomatch() {
	local re=$1 str=$2 what=${3:-output}
	printf '%s\n' "$str" | grep -qE -- "$re" || return 0
	_t_block "$what" "$str"
	t_fail "$what matches /$re/ (it must not)"
}

# Each argument is a command name or an absolute path that must exist; a missing one fails the test.
t_need() {
	local x missing=""
	for x in "$@"; do
		case $x in
		/*) [ -e "$x" ] || missing+=" $x" ;;
		*) command -v "$x" >/dev/null || missing+=" $x" ;;
		esac
	done
	[ -z "$missing" ] && return 0
	t_fail "cannot run: missing$missing"
}

# Poll a command until it succeeds or TIMEOUT seconds pass: t_wait_for 10 test -f /x
t_wait_for() {
	local timeout=$1 k
	shift
	for ((k = 0; k < timeout * 10; k++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	t_fail "timed out after ${timeout}s waiting for: $(printf '%q ' "$@")"
}

# Final line, exactly "<suite>: N passed, N failed"; exit status 1 if anything failed (or nothing ran).
t_summary() {
	_t_end
	local n
	if [ "$T_FAILED" -gt 0 ]; then
		echo "failed tests:"
		for n in "${T_FAILED_NAMES[@]}"; do echo "  - $n"; done
	fi
	if [ $((T_PASSED + T_FAILED)) = 0 ]; then
		echo "no tests ran"
		T_FAILED=1
	fi
	echo "$T_SUITE: $T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" = 0 ] && exit 0
	exit 1
}

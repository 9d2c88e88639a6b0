# shellcheck shell=bash
# testlib.sh — the test framework of every shell suite in tests/ (bash). Source it, then either
# write tests of several assertions:
#
#   t_begin "srun reaches every node"          # starts a test (and ends the previous one)
#   t_run_ok cluster run -- srun -N4 hostname  # must exit 0; sets T_OUT T_ERR T_RC
#   t_eq "node1 node2" "$(echo $T_OUT)"        # EXPECTED ACTUAL [WHAT]
#   t_match '^node[1-4]$' "$T_OUT"             # REGEX (grep -E, any line) STRING [WHAT]; t_nomatch
#   t_run_fails cluster run -- srun --bogus    # must exit non-zero
#   t_fail "reason"                            # explicit failure; t_need CMD|PATH... fails if missing
#   t_test FUNCTION [NAME]                     # t_begin NAME, run FUNCTION; fails if it returns non-zero
#
# or tests of one line each (each is a test of its own, and ends any test t_begin started):
#
#   t_ok "boot to ready (12.3 s)"              # a test that passed
#   t_ko "bad cwd -> 126" "got 1" ...          # a test that failed; each further argument a line of detail
#   t_same "echo hello" hello "$(X echo hello)"   # NAME EXPECTED ACTUAL: passes when they are equal
#   t_check "the tap is gone" test ! -e /sys/class/net/xv1   # NAME CMD...: passes when CMD exits 0
#   t_fatal "must run as root"                 # a failed test, then the end of the suite
#
# and end with
#
#   t_summary                                  # ends the suite (see "The end of a suite")
#
# Rules:
#   - Do not use `set -e` in test scripts: a failed assertion records the failure and returns 1, so
#     a test can stop early with `t_run_ok ... || return` inside a function, or carry on.
#   - Nothing is ever skipped. A test that cannot run because something is missing fails, loudly.
#   - Commands run by t_run* and t_check run under `timeout $T_TIMEOUT` (default 120 s) so a hung
#     srun fails instead of hanging CI.
#   - On the first failure of a test the log files listed in T_LOGS (array) are tailed (T_LOG_LINES,
#     default 40), and a function t_on_fail, if the script defines one, is called for more context.
#   - A command bash cannot find (a typo, a helper that was renamed) is a failed test, even when
#     the script carries on: a missing `ko` must not turn a failure into a pass.
#
# The end of a suite: t_summary, falling off the end of the script, `exit N` and t_fatal all end it
# the same way: the commands given to t_at_exit run (the last given first; they may still record
# failures), then the last line is printed, exactly "<suite>: N passed, N failed", and the exit
# status is 1 if anything failed, if nothing ran, or if the script exited non-zero before
# t_summary (that counts as a failed test when nothing else failed).  Do not replace the EXIT
# trap: give t_at_exit the cleanup instead.
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
T_OUT="" T_ERR="" T_RC=0 T_CMD="" T_JOB_OUT=""
T_T0=${EPOCHREALTIME/./} T_TIMED=0 T_ONE=0
T_AT_EXIT=()
T_ENDED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/testlib.XXXXXX")
trap _t_exit EXIT

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

# Close the current test: count it as passed unless an assertion failed; a test t_begin started
# shows how long it took.
_t_end() {
	[ -n "$T_NAME" ] || return 0
	local took=""
	[ "$T_TIMED" = 1 ] && took=" ($(t_elapsed) s)"
	if [ "$T_CUR_FAILED" = 0 ]; then
		T_PASSED=$((T_PASSED + 1))
		printf '%s %s%s\n' "$(_t_green PASS)" "$T_NAME" "$took"
	else
		T_FAILED=$((T_FAILED + 1))
		T_FAILED_NAMES+=("$T_NAME")
		[ "$T_ONE" = 1 ] || printf '%s %s%s\n' "$(_t_red FAIL)" "$T_NAME" "$took"
	fi
	T_NAME="" T_TIMED=0 T_ONE=0
}

t_begin() {
	_t_end
	T_NAME=$1
	T_CUR_FAILED=0
	T_JOB_OUT=""
	T_T0=${EPOCHREALTIME/./} T_TIMED=1
	printf -- '--- %s\n' "$T_NAME"
}

# Seconds since t_begin (two decimals), for tests that report timings.
t_elapsed() {
	local now=${EPOCHREALTIME/./}
	printf '%d.%02d' $(((now - T_T0) / 1000000)) $((((now - T_T0) / 10000) % 100))
}

# Record a failure of the current test with a message (lines after its first are shown indented);
# on its first failure show the context.
t_fail() {
	[ -n "$T_NAME" ] || t_begin "(outside any test)"
	local msg="$*"
	[ -z "$msg" ] || printf '    %s %s\n' "$(_t_red 'not ok:')" "${msg%%$'\n'*}"
	[ "$msg" = "${msg#*$'\n'}" ] || printf '%s\n' "${msg#*$'\n'}" | sed 's/^/      | /'
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

# t_test FUNCTION [NAME]: FUNCTION as a test named NAME (default: FUNCTION); it fails when an
# assertion in it failed or when it returns non-zero.
t_test() {
	local rc=0
	t_begin "${2:-$1}"
	"$1" || rc=$?
	[ "$rc" = 0 ] || [ "$T_CUR_FAILED" = 1 ] || t_fail "$1 returned $rc"
	_t_end
	return "$rc"
}

# ---- one-line tests: each call is a test of its own (it ends the test t_begin started, if any).
# t_ok and t_ko return 0, so that `CHECK && t_ok NAME || t_ko NAME` (and `CHECK && t_ko NAME ||
# t_ok NAME`) is an if-then-else.

# A one-line test NAME that fails: its FAIL line first, then the details, the t_fail that follows.
_t_one_failing() {
	_t_end
	T_NAME=$1 T_CUR_FAILED=0 T_JOB_OUT="" T_ONE=1
	printf '%s %s\n' "$(_t_red FAIL)" "$T_NAME"
}

# t_ok NAME: a test that passed.
t_ok() {
	_t_end
	T_PASSED=$((T_PASSED + 1))
	printf '%s %s\n' "$(_t_green PASS)" "$1"
}

# t_ko NAME [WHY [DETAIL...]]: a test that failed, why, and further lines of detail.
t_ko() {
	_t_one_failing "$1"
	shift
	t_fail "$(printf '%s\n' "$@")"
	_t_end
	return 0
}

# t_same NAME EXPECTED ACTUAL: passes when ACTUAL is EXPECTED (the strings); returns 1 if not.
t_same() {
	if [ "$2" == "$3" ]; then
		t_ok "$1"
		return 0
	fi
	_t_one_failing "$1"
	_t_block expected "$2"
	_t_block actual "$3"
	t_fail "not what was expected"
	_t_end
	return 1
}

# t_check NAME CMD...: passes when CMD (run by t_run: bounded by T_TIMEOUT, output captured in
# T_OUT and T_ERR and shown on failure) exits 0; returns 1 if not.
t_check() {
	local name=$1
	shift
	t_run "$@"
	if [ "$T_RC" = 0 ]; then
		t_ok "$name"
		return 0
	fi
	_t_one_failing "$name"
	_t_report_cmd
	t_fail "command failed (expected exit status 0)"
	_t_end
	return 1
}

# t_fatal MSG...: a failed test (as t_ko), then the end of the suite: nothing else can run.
t_fatal() {
	t_ko "$@"
	exit 1
}

# t_at_exit CMD: run CMD (a string, eval'd) when the suite ends, before the summary line.
t_at_exit() { T_AT_EXIT+=("$1"); }

# End the suite here; the EXIT trap (_t_exit) prints the summary and sets the exit status.
t_summary() {
	local foreign
	_t_end
	T_ENDED=1
	foreign=$(trap -p EXIT)
	case $foreign in *_t_exit*) exit 0 ;; esac
	# The suite replaced the EXIT trap (use t_at_exit): keep its command as a cleanup and end
	# here, so that the summary line and the exit status still tell the truth.
	foreign=${foreign#"trap -- '"}
	[ -n "$foreign" ] && T_AT_EXIT+=("${foreign%"' EXIT"}")
	_t_exit
}

# The EXIT trap: the t_at_exit commands, then the final line, exactly "<suite>: N passed, N
# failed"; exit status 1 if anything failed, nothing ran, or the script exited non-zero early.
_t_exit() {
	local rc=$? i n
	trap - EXIT
	_t_end
	for ((i = ${#T_AT_EXIT[@]} - 1; i >= 0; i--)); do eval "${T_AT_EXIT[i]}"; done
	_t_end
	if [ -s "$T_TMP/not-found" ]; then
		while IFS= read -r n; do t_ko "command not found: $n" "bash could not run it: a typo, or a helper that no longer exists?"; done <"$T_TMP/not-found"
	fi
	if [ "$T_ENDED" = 0 ] && [ "$rc" != 0 ] && [ "$T_FAILED" = 0 ]; then
		t_ko "the suite exited with status $rc before its end"
	fi
	if [ "$T_FAILED" -gt 0 ]; then
		echo "failed tests:"
		for n in "${T_FAILED_NAMES[@]}"; do echo "  - $n"; done
	fi
	if [ $((T_PASSED + T_FAILED)) = 0 ]; then
		echo "no tests ran"
		T_FAILED=1
	fi
	rm -rf "$T_TMP"
	echo "$T_SUITE: $T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" = 0 ] && exit 0
	exit 1
}

# bash calls this for a command it cannot find, in the suite and in its subshells: record it in
# T_TMP (a subshell's counters are lost) for the summary to count as a failure.
command_not_found_handle() {
	printf '%s: %s: command not found\n' "$0" "$1" >&2
	[ -d "$T_TMP" ] && printf '%s\n' "$1" >>"$T_TMP/not-found"
	return 127
}

# xv_tap_name JOB NAME: a VM's interface on the node's bridge, as vm/tapname.c names it: "xv",
# the job id in base 36, then "_NAME" for names of up to 5 characters, else "." and 5 base-36
# digits of the name's FNV-1a hash.
xv_tap_name() {
	local j=$1 name=$2 d=0123456789abcdefghijklmnopqrstuvwxyz out="" h=2166136261 i c
	while :; do out=${d:j % 36:1}$out; j=$((j / 36)); [ "$j" = 0 ] && break; done
	if [ ${#name} -le 5 ]; then
		echo "xv${out}_$name"
		return
	fi
	for ((i = 0; i < ${#name}; i++)); do
		printf -v c '%d' "'${name:i:1}"
		h=$((((h ^ c) * 16777619) & 0xffffffff))
	done
	out="xv$out."
	for ((i = 0; i < 5; i++)); do out=$out${d:h % 36:1}; h=$((h / 36)); done
	echo "$out"
}

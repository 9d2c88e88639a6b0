#!/bin/bash
# agent-host.sh - xenvm-agent and xenvm-exec on the host, no VM: the protocol end to end.
# Usage: tests/vm/agent-host.sh AGENT XENVM_EXEC   (both normally the ASan+UBSan builds)
# Runs as root (uid/gid switching).  Last line: "vm-agent: N passed, N failed"; exit 1 on failure.
set -u
AGENT=$(readlink -f "${1:?agent}")
EXEC=$(readlink -f "${2:?xenvm-exec}")
HERE=$(cd "$(dirname "$0")" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
W=$(mktemp -d /tmp/xvg-agent.XXXXXX)
chmod 755 "$W"
SOCK=$W/agent.sock
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1${2:+: $2}"; }
check() { # check NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then ok "$1"; else ko "$1" "expected [$2] got [$3]"; fi
}
X() { "$EXEC" --socket "$SOCK" "$@"; }

[ "$(id -u)" = 0 ] || { echo "agent-host: must run as root (uid/gid tests)"; echo "vm-agent: 0 passed, 1 failed"; exit 1; }
for t in python3 setpriv sha256sum; do
	command -v $t >/dev/null || { echo "agent-host: missing $t"; echo "vm-agent: 0 passed, 1 failed"; exit 1; }
done

"$AGENT" --listen "$SOCK" 2> "$W/agent.log" &
APID=$!
cleanup() {
	kill "$APID" 2>/dev/null
	wait "$APID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
chmod 666 "$SOCK" # access control is the VM supervisor's job; here any uid may test

check "echo hello" "hello" "$(X -- echo hello)"

# exit codes 0..255, in batches to bound the time
bad=
for i in $(seq 0 255); do
	X -- sh -c "exit $i"
	rc=$?
	[ $rc = $i ] || bad="$bad $i:$rc"
done
check "exit codes 0..255" "" "$bad"

X -- sh -c 'kill -KILL $$'; check "death by SIGKILL -> 137" 137 $?
X -- sh -c 'kill -SEGV $$'; check "death by SIGSEGV -> 139" 139 $?
X -- nonexistent-command-xyz 2> "$W/err"; rc=$?
check "missing command -> 127" 127 $rc
grep -q "No such file" "$W/err" && ok "missing command message" || ko "missing command message" "$(cat "$W/err")"
printf '#!/bin/sh\n' > "$W/noexec"; chmod 644 "$W/noexec"
X -- "$W/noexec" 2>/dev/null; check "not executable -> 126" 126 $?
X --cwd /nonexistent-dir -- true 2> "$W/err"; rc=$?
check "bad cwd -> 126" 126 $rc

# argv: spaces, quotes, empty strings, non-ASCII and non-UTF-8 bytes
exp=$(printf '[%s]' "a b" '"q"' "it's" "" $'\xc3\xa9t\xc3\xa9' $'\xff\xfe' '*' '$HOME')
got=$(X -- sh -c 'for a; do printf "[%s]" "$a"; done' sh "a b" '"q"' "it's" "" $'\xc3\xa9t\xc3\xa9' $'\xff\xfe' '*' '$HOME')
check "argv preserved byte for byte" "$exp" "$got"

check "environment passed" "bar baz=1" "$(FOO='bar baz=1' X -- printenv FOO)"
check "XENVM_EXEC_* not passed" "" "$(XENVM_EXEC_SECRET=1 X -- printenv XENVM_EXEC_SECRET)"
mkdir -p "$W/bin"; printf '#!/bin/sh\necho found-in-path\n' > "$W/bin/myprog"; chmod 755 "$W/bin/myprog"
check "PATH search uses the task's PATH" "found-in-path" "$(PATH=$W/bin:/usr/bin:/bin X -- myprog)"
check "cwd inherited" "/usr/share" "$(cd /usr/share && X -- pwd)"
check "--cwd" "/var" "$(X --cwd /var -- pwd)"

# credentials: a non-root caller runs as itself, with its groups
got=$(setpriv --reuid 65534 --regid 65534 --groups 100,4 "$EXEC" --socket "$SOCK" -- sh -c 'echo $(id -u) $(id -g) $(id -G)')
check "uid/gid/groups of the caller" "65534 65534 65534 4 100" "$got"
got=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$SOCK" -- sh -c 'cat /etc/shadow >/dev/null 2>&1 && echo readable || echo denied')
check "non-root caller cannot read /etc/shadow" "denied" "$got"

# stdout and stderr stay apart; stdin EOF is delivered
X -- sh -c 'echo out; echo err >&2' > "$W/o" 2> "$W/e"
check "stdout separate" "out" "$(cat "$W/o")"
check "stderr separate" "err" "$(cat "$W/e")"
check "stdin EOF" "0" "$(X -- wc -c < /dev/null | tr -d ' ')"

# 100 MB through stdin -> stdout
head -c 100000000 /dev/urandom > "$W/big"
want=$(sha256sum < "$W/big" | cut -d' ' -f1)
t0=$(date +%s.%N)
got=$(X -- cat < "$W/big" | sha256sum | cut -d' ' -f1)
t1=$(date +%s.%N)
check "100 MB stdin->stdout sha256" "$want" "$got"
echo "     (100 MB round trip in $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s)"
rm -f "$W/big"

# a reader that goes away: the guest process gets SIGPIPE, as locally
got=$(timeout 20 "$EXEC" --socket "$SOCK" -- yes | head -1; echo "rc=${PIPESTATUS[0]}")
check "closed stdout -> SIGPIPE in the guest" "y rc=141" "$(echo $got)"

# SIGTERM sent to xenvm-exec reaches the guest process
# (xenvm-exec itself in the background, not a subshell, so that $! is its pid)
"$EXEC" --socket "$SOCK" -- sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done' > "$W/t" &
xp=$!
for _ in $(seq 100); do grep -q ready "$W/t" 2>/dev/null && break; sleep 0.05; done
kill -TERM $xp
( sleep 20; kill -KILL $xp 2>/dev/null ) & # never hang the suite
wd=$!
wait $xp; rc=$?
{ kill $wd && wait $wd; } 2>/dev/null
check "SIGTERM forwarded (trap ran, exit 7)" "ready got-term 7" "$(echo $(cat "$W/t") $rc)"

# SIGKILL of xenvm-exec (cannot be forwarded): the agent kills the guest process group
timeout -s KILL 60 "$EXEC" --socket "$SOCK" -- sh -c 'sleep 1000 & sleep 1001' &
xp=$!
for _ in $(seq 100); do pgrep -f 'sleep 1001' >/dev/null && break; sleep 0.05; done
pkill -KILL -P $xp; wait $xp 2>/dev/null
for _ in $(seq 50); do pgrep -f 'sleep 100[01]' >/dev/null || break; sleep 0.1; done
pgrep -f 'sleep 100[01]' >/dev/null && ko "client killed -> guest group killed" || ok "client killed -> guest group killed"

# 50 concurrent execs
pids=
for i in $(seq 50); do
	timeout -s KILL 120 "$EXEC" --socket "$SOCK" -- sh -c "sleep 0.3; echo n$i" > "$W/c.$i" &
	pids="$pids $!"
done
wait $pids
bad=
for i in $(seq 50); do [ "$(cat "$W/c.$i")" = "n$i" ] || bad="$bad $i"; done
check "50 concurrent execs" "" "$bad"

# extra fd relay (PMI_FD of srun --mpi=pmi2): a socketpair both ways, same fd number in the guest
got=$(python3 "$HERE/relay-fd-client.py" "$EXEC" "$SOCK" 2>&1)
check "PMI_FD relay (socketpair, fd 11, both ways)" "got:cmd=init pmi_version=1 fd11=socket" "$got"

# garbage on the socket does not hurt the agent
printf 'this is not a frame at all, just garbage bytes\xff\xff\xff\xff' | timeout 5 python3 -c '
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.close()' "$SOCK"
check "agent survives garbage" "still here" "$(X -- echo still here)"

kill -TERM $APID; wait $APID; rc=$?
check "agent exits cleanly on SIGTERM (ASan: no leak)" 0 $rc
grep -E "ERROR: (Address|Leak)Sanitizer|runtime error" "$W/agent.log" && ko "agent sanitizer report" || ok "agent sanitizer clean"

echo "vm-agent: $pass passed, $fail failed"
[ $fail -eq 0 ]

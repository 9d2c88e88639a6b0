#!/bin/bash
# agent-host.sh - xenvm-agent and xenvm-exec on the host, no VM: the protocol end to end.
# Usage: tests/vm/agent-host.sh AGENT XENVM_EXEC VMDHOST   (all normally the ASan+UBSan builds)
# VMDHOST (tests/vm/vmdhost.c) runs vmd with the agent in place of a VM: commands from the guest.
# Runs as root (uid/gid switching).  Last line: "vm-agent: N passed, N failed"; exit 1 on failure.
set -u
AGENT=$(readlink -f "${1:?agent}")
EXEC=$(readlink -f "${2:?xenvm-exec}")
VMDHOST=$(readlink -f "${3:?vmdhost}")
HERE=$(cd "$(dirname "$0")" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
W=$(mktemp -d /tmp/xvg-agent.XXXXXX)
chmod 755 "$W"
SOCK=$W/agent.sock
T_SUITE=vm-agent
# shellcheck source=../lib/testlib.sh
. "$HERE/../lib/testlib.sh"
X() { "$EXEC" --socket "$SOCK" "$@"; }

[ "$(id -u)" = 0 ] || t_fatal "agent-host: must run as root (uid/gid tests)"
for t in python3 /usr/bin/python3 setpriv sha256sum script bash; do
	command -v $t >/dev/null || t_fatal "agent-host: missing $t"
done

"$AGENT" --listen "$SOCK" 2> "$W/agent.log" &
APID=$!
VPID=
cleanup() {
	kill "$APID" $VPID 2>/dev/null
	wait "$APID" $VPID 2>/dev/null
	rm -rf "$W" /tmp/xenvm-batch-83977.*
}
t_at_exit cleanup
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
chmod 666 "$SOCK" # access control is the VM supervisor's job; here any uid may test

t_same "echo hello" "hello" "$(X -- echo hello)"

# exit codes 0..255, in batches to bound the time
bad=
for i in $(seq 0 255); do
	X -- sh -c "exit $i"
	rc=$?
	[ $rc = $i ] || bad="$bad $i:$rc"
done
t_same "exit codes 0..255" "" "$bad"

X -- sh -c 'kill -KILL $$'; t_same "death by SIGKILL -> 137 in a shell" 137 $?
X -- sh -c 'kill -SEGV $$'; t_same "death by SIGSEGV -> 139 in a shell" 139 $?
# Death by signal stays one: xenvm-exec itself dies by the signal (what slurmstepd reports as
# "Killed" / "Segmentation fault" and ExitCode 0:N), without a core of its own; exit 137 stays 137.
# (python's returncode: -N for death by signal N)
ends() { # ends ARGV...: how xenvm-exec ended, "signal N" or "exit N"
	(cd "$W/cores" && python3 -c '
import subprocess, sys
r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL)
print("signal %d" % -r.returncode if r.returncode < 0 else "exit %d" % r.returncode)' "$EXEC" --socket "$SOCK" -- "$@")
}
mkdir -p "$W/cores" && chmod 777 "$W/cores"
t_same "death by SIGKILL: xenvm-exec dies by SIGKILL" "signal 9" "$(ends sh -c 'kill -KILL $$')"
t_same "death by SIGSEGV: xenvm-exec dies by SIGSEGV" "signal 11" "$(ends sh -c 'kill -SEGV $$')"
t_same "death by SIGINT: xenvm-exec dies by SIGINT" "signal 2" "$(ends sh -c 'kill -INT $$')"
t_same "death by SIGTERM: xenvm-exec dies by SIGTERM" "signal 15" "$(ends sh -c 'kill -TERM $$')"
t_same "exit 137 stays an exit" "exit 137" "$(ends sh -c 'exit 137')"
t_same "SIGSEGV with core limit unlimited: no core file from xenvm-exec" "signal 11 " \
	"$(ulimit -c unlimited; ends sh -c 'ulimit -c 0; kill -SEGV $$') $(ls "$W/cores")"
X -- nonexistent-command-xyz 2> "$W/err"; rc=$?
t_same "missing command -> 127" 127 $rc
grep -q "No such file" "$W/err" && t_ok "missing command message" || t_ko "missing command message" "$(cat "$W/err")"
printf '#!/bin/sh\n' > "$W/noexec"; chmod 644 "$W/noexec"
X -- "$W/noexec" 2>/dev/null; t_same "not executable -> 126" 126 $?
X --cwd /nonexistent-dir -- true 2> "$W/err"; rc=$?
t_same "bad cwd -> 126" 126 $rc

# As a Slurm task (XENVM_EXEC_ARGV0, slurmstepd's way of running us), a failed exec is reported
# as slurmstepd 22.05 reports its own execve failures: its message, errno as the exit status
# (measured natively: ENOENT 2, EACCES 13 for a file without x and for a directory, ENOEXEC 8).
mkdir -p "$W/task/adir" "$W/task/bin"
cp /bin/true "$W/task/notexec" && chmod 644 "$W/task/notexec"
printf '#!/nonexistent/interp\n' > "$W/task/badinterp" && chmod 755 "$W/task/badinterp"
printf 'not a program\n' > "$W/task/noformat" && chmod 755 "$W/task/noformat"
printf '#!/bin/sh\necho in-path "$@"\n' > "$W/task/bin/inpath" && chmod 755 "$W/task/bin/inpath"
T() { (cd "$W/task" && PATH=$W/task/bin:/usr/bin:/bin XENVM_SOCKET=$SOCK SLURMD_NODENAME=node7 \
	XENVM_EXEC_ARGV0=$1 timeout -s KILL 30 "$EXEC" "${@:2}" 2>&1; echo "rc=$?"); }
t_same "task: ./missing" "slurmstepd-node7: error: execve(): $W/task/./missing: No such file or directory rc=2" "$(echo $(T ./missing))"
t_same "task: name not in PATH" "slurmstepd-node7: error: execve(): missing-xyz: No such file or directory rc=2" "$(echo $(T missing-xyz))"
t_same "task: absolute, missing" "slurmstepd-node7: error: execve(): /no/such/prog: No such file or directory rc=2" "$(echo $(T /no/such/prog))"
t_same "task: not executable" "slurmstepd-node7: error: execve(): $W/task/./notexec: Permission denied rc=13" "$(echo $(T ./notexec))"
t_same "task: a directory" "slurmstepd-node7: error: execve(): $W/task/./adir: Permission denied rc=13" "$(echo $(T ./adir))"
t_same "task: a directory in the cwd, bare name" "slurmstepd-node7: error: execve(): adir: Permission denied rc=13" "$(echo $(T adir))"
t_same "task: bad interpreter" "slurmstepd-node7: error: execve(): bad interpreter(/nonexistent/interp): No such file or directory rc=2" "$(echo $(T ./badinterp))"
t_same "task: not a program (no shell fallback)" "slurmstepd-node7: error: execve(): $W/task/./noformat: Exec format error rc=8" "$(echo $(T ./noformat))"
t_same "task: found in the task's PATH, runs with its args" "in-path a b rc=0" "$(echo $(T inpath a b))"

# ---------------------------------------------------------------- terminals
# stdin and stdout on a terminal (srun --pty gives the task slurmstepd's pty): the command gets
# a pty of its own as its controlling terminal, with the terminal's size; no stray NUL byte.
out=$(script -qec "stty rows 33 cols 77; $EXEC --socket $SOCK -- sh -c 'tty; stty size; ps -o tty= -p \$\$ | grep -c pts'" /dev/null < /dev/null | tr -d '\r')
t_same "pty: tty, size, controlling terminal" "$(printf '/dev/pts/x\n33 77\n1')" "$(sed 's|^/dev/pts/[0-9]*$|/dev/pts/x|' <<<"$out")"
out=$(script -qec "$EXEC --socket $SOCK -- sh -c 'tty; cat'" /dev/null < /dev/null | od -An -c | tr -s ' ')
[[ $out != *'\0'* && $out != *'^ @'* ]] && t_ok "pty: a pending end of file is not a NUL byte (and ends cat)" || t_ko "pty: NUL byte" "$out"
t_same "pty: not on pipes" "not a tty" "$(X -- tty < /dev/null)"
t_same "pty: --no-pty" "not a tty" "$(script -qec "$EXEC --socket $SOCK --no-pty -- tty" /dev/null < /dev/null | tr -d '\r')"
# An interactive bash through xenvm-exec, driven through a real terminal: as bash on the terminal.
python3 "$HERE/pty-drive.py" --timeout 20 -- "$EXEC" --socket "$SOCK" -- bash --norc -i > "$W/pty.out" 2>&1
got=$(sed -n '/^transcript:/q;p' "$W/pty.out" | sed 's|^tty: /dev/pts/[0-9]*$|tty: /dev/pts/N|' | tr '\n' ';')
t_same "pty: bash -i: prompt, tty, size, SIGWINCH, job control, Ctrl-C, Ctrl-Z, line editing, exit" \
	"prompt: yes;tty: /dev/pts/N;size: 30 90;resized: 40 100;monitor: on;ctrl-c: yes;ctrl-c status: 130;ctrl-z: yes;jobs: Stopped;fg: yes;fg ctrl-c: yes;line editing: hello-edited;echoed: 1;exit status: 3;nul bytes: 0;job control warning: no;" "$got"
modes() { # stty -g lines of stdin: how many, how many distinct
	local m
	m=$(grep -E '^[0-9a-f]+(:[0-9a-f]+)+$')
	echo "$(grep -c . <<<"$m") $(sort -u <<<"$m" | grep -c .)"
}
out=$(script -qec "stty -g; $EXEC --socket $SOCK -- true; stty -g" /dev/null < /dev/null | tr -d '\r')
t_same "pty: the terminal's modes are restored after raw mode (2 lines, 1 distinct)" "2 1" "$(modes <<<"$out")"
out=$(script -qec "stty -g; $EXEC --socket $SOCK -- sh -c 'kill -KILL \$\$'; stty -g" /dev/null < /dev/null | tr -d '\r')
t_same "pty: ... also when the command dies by a signal" "2 1" "$(modes <<<"$out")"

# argv: spaces, quotes, empty strings, non-ASCII and non-UTF-8 bytes
exp=$(printf '[%s]' "a b" '"q"' "it's" "" $'\xc3\xa9t\xc3\xa9' $'\xff\xfe' '*' '$HOME')
got=$(X -- sh -c 'for a; do printf "[%s]" "$a"; done' sh "a b" '"q"' "it's" "" $'\xc3\xa9t\xc3\xa9' $'\xff\xfe' '*' '$HOME')
t_same "argv preserved byte for byte" "$exp" "$got"

t_same "environment passed" "bar baz=1" "$(FOO='bar baz=1' X -- printenv FOO)"
t_same "XENVM_EXEC_* not passed" "" "$(XENVM_EXEC_SECRET=1 X -- printenv XENVM_EXEC_SECRET)"
mkdir -p "$W/bin"; printf '#!/bin/sh\necho found-in-path\n' > "$W/bin/myprog"; chmod 755 "$W/bin/myprog"
t_same "PATH search uses the task's PATH" "found-in-path" "$(PATH=$W/bin:/usr/bin:/bin X -- myprog)"
t_same "cwd inherited" "/usr/share" "$(cd /usr/share && X -- pwd)"
t_same "--cwd" "/var" "$(X --cwd /var -- pwd)"

# credentials: a non-root caller runs as itself, with its groups
got=$(setpriv --reuid 65534 --regid 65534 --groups 100,4 "$EXEC" --socket "$SOCK" -- sh -c 'echo $(id -u) $(id -g) $(id -G)')
t_same "uid/gid/groups of the caller" "65534 65534 65534 4 100" "$got"
got=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$SOCK" -- sh -c 'cat /etc/shadow >/dev/null 2>&1 && echo readable || echo denied')
t_same "non-root caller cannot read /etc/shadow" "denied" "$got"

# stdout and stderr stay apart; stdin EOF is delivered
X -- sh -c 'echo out; echo err >&2' > "$W/o" 2> "$W/e"
t_same "stdout separate" "out" "$(cat "$W/o")"
t_same "stderr separate" "err" "$(cat "$W/e")"
t_same "stdin EOF" "0" "$(X -- wc -c < /dev/null | tr -d ' ')"

# 100 MB through stdin -> stdout
head -c 100000000 /dev/urandom > "$W/big"
want=$(sha256sum < "$W/big" | cut -d' ' -f1)
t0=$(date +%s.%N)
got=$(X -- cat < "$W/big" | sha256sum | cut -d' ' -f1)
t1=$(date +%s.%N)
t_same "100 MB stdin->stdout sha256" "$want" "$got"
echo "     (100 MB round trip in $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s)"
rm -f "$W/big"

# a reader that goes away: the guest process gets SIGPIPE, as locally
got=$(timeout 20 "$EXEC" --socket "$SOCK" -- yes | head -1; echo "rc=${PIPESTATUS[0]}")
t_same "closed stdout -> SIGPIPE in the guest" "y rc=141" "$(echo $got)"

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
t_same "SIGTERM forwarded (trap ran, exit 7)" "ready got-term 7" "$(echo $(cat "$W/t") $rc)"

# Suspend and resume as slurmstepd does them: SIGTSTP, SIGSTOP (which stops only xenvm-exec),
# later SIGCONT.  The guest process must be stopped while suspended and run again after.
pstate() { # pstate PATTERN: the state letter of the process matching PATTERN
	local p
	p=$(pgrep -f "$1" | head -1)
	[ -n "$p" ] && awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null
}
waitstate() { # waitstate PATTERN LETTER: wait up to 5 s for that state; print the last seen
	local s
	for _ in $(seq 50); do
		s=$(pstate "$1")
		[ "$s" = "$2" ] && break
		sleep 0.1
	done
	echo "$s"
}
timeout -s KILL 60 "$EXEC" --socket "$SOCK" -- sh -c 'echo ready; exec sleep 1003' > "$W/s" &
xp=$!
for _ in $(seq 100); do pgrep -f '^sleep 1003' >/dev/null && break; sleep 0.05; done
xe=$(pgrep -P $xp -f "$EXEC" | head -1)
[ -n "$xe" ] || xe=$xp
t_same "guest process runs before the suspend" "S" "$(waitstate '^sleep 1003' S)"
kill -TSTP "$xe"; sleep 0.2; kill -STOP "$xe"
t_same "suspend (SIGTSTP, SIGSTOP) stops the guest process" "T" "$(waitstate '^sleep 1003' T)"
kill -CONT "$xe"
t_same "resume (SIGCONT) lets it run again" "S" "$(waitstate '^sleep 1003' S)"
kill -TERM "$xe"; wait $xp; rc=$?
t_same "suspended and resumed exec still ends on SIGTERM (143)" 143 $rc

# SIGKILL of xenvm-exec (cannot be forwarded): the agent kills the guest process group
timeout -s KILL 60 "$EXEC" --socket "$SOCK" -- sh -c 'sleep 1000 & sleep 1001' &
xp=$!
for _ in $(seq 100); do pgrep -f 'sleep 1001' >/dev/null && break; sleep 0.05; done
pkill -KILL -P $xp; wait $xp 2>/dev/null
for _ in $(seq 50); do pgrep -f 'sleep 100[01]' >/dev/null || break; sleep 0.1; done
pgrep -f 'sleep 100[01]' >/dev/null && t_ko "client killed -> guest group killed" || t_ok "client killed -> guest group killed"

# 50 concurrent execs
pids=
for i in $(seq 50); do
	timeout -s KILL 120 "$EXEC" --socket "$SOCK" -- sh -c "sleep 0.3; echo n$i" > "$W/c.$i" &
	pids="$pids $!"
done
wait $pids
bad=
for i in $(seq 50); do [ "$(cat "$W/c.$i")" = "n$i" ] || bad="$bad $i"; done
t_same "50 concurrent execs" "" "$bad"

# extra fd relay (PMI_FD of srun --mpi=pmi2): a socketpair both ways, same fd number in the guest
got=$(python3 "$HERE/relay-fd-client.py" "$EXEC" "$SOCK" 2>&1)
t_same "PMI_FD relay (socketpair, fd 11, both ways)" "got:cmd=init pmi_version=1 fd11=socket" "$got"

# garbage on the socket does not hurt the agent
printf 'this is not a frame at all, just garbage bytes\xff\xff\xff\xff' | timeout 5 python3 -c '
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.close()' "$SOCK"
t_same "agent survives garbage" "still here" "$(X -- echo still here)"

# ---------------------------------------------------------------- the batch step
# XENVM_EXEC_BATCH=1: argv[0] is the script on the host; it is copied to the "guest" (here the
# same machine: /tmp/xenvm-batch-<job>.XXXXXX/slurm_script) and run there as the user.
printf '#!/bin/sh\necho "batch $# [$1] [$2] $(id -u) ${0##*/}"; exit 5\n' > "$W/script.sh"
B() { (cd "$W" && XENVM_SOCKET=$SOCK XENVM_EXEC_BATCH=1 SLURM_JOB_ID=83977 XENVM_EXEC_ARGV0=$1 \
	timeout -s KILL 30 setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" "${@:2}"); }
out=$(B "$W/script.sh" x "y z" 2>&1); rc=$?
t_same "batch: script runs with its args, exit code relayed" "batch 2 [x] [y z] 65534 slurm_script rc=5" "$out rc=$rc"
t_same "batch: copy is private to the user (dir 700, file 700)" "65534 700 65534 700" \
	"$(stat -c '%u %a' /tmp/xenvm-batch-83977.* /tmp/xenvm-batch-83977.*/slurm_script 2>&1 | tr '\n' ' ' | sed 's/ $//')"
out=$(B "$W/no-such-script" 2>&1); rc=$?
[ $rc = 127 ] && echo "$out" | grep -q "batch script $W/no-such-script: No such file or directory" &&
	t_ok "batch: missing script -> 127 and a clear message" || t_ko "batch: missing script" "rc=$rc $out"
chmod 600 "$W/script.sh"
out=$(B "$W/script.sh" 2>&1); rc=$?
[ $rc = 126 ] && echo "$out" | grep -q "batch script $W/script.sh: Permission denied" &&
	t_ok "batch: unreadable script -> 126 and a clear message" || t_ko "batch: unreadable script" "rc=$rc $out"
rm -rf /tmp/xenvm-batch-83977.*

# ---------------------------------------------------------------- commands from the guest
# vmdhost: vmd with this agent as "the guest" (its host socket $HSOCK for shims) and the agent
# again as vmd's host-side helper, running commands as uid 65534 (the job's user).
HSOCK=$W/host.sock
CSOCK=$W/ctl.sock
"$VMDHOST" "$CSOCK" "$HSOCK" 65534 65534 "$AGENT" "$AGENT" 2> "$W/vmd.log" &
VPID=$!
for _ in $(seq 100); do [ -S "$HSOCK" ] && [ -S "$CSOCK" ] && break; sleep 0.05; done
# The fake srun the host finds on the request's PATH; the shim (xenvm-exec named srun) is called
# by its path so that the host, sharing this filesystem, finds the fake and not the shim again.
FB=$W/fakebin SH=$W/shim
mkdir -p "$FB" "$SH" && ln -s "$EXEC" "$SH/srun"
cat > "$FB/srun" <<'EOF2'
#!/bin/sh
# fd 3 is vmd's link to its helper: it must not leak (checked before $(...) opens a pipe there)
if [ -e /proc/self/fd/3 ]; then fd3=open; else fd3=closed; fi
printf 'argv:'; for a; do printf '[%s]' "$a"; done; echo
echo "uid=$(id -u) gid=$(id -g) cwd=$(pwd) foo=${XV_FOO-unset} pmi=${PMI_FD-unset} ld=${LD_XV-unset} xenvm=${XENVM_XV-unset} fd3=$fd3"
case "$1" in
stdin) read -r l; echo "in=$l" ;;
term) trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.05; done ;;
sleep) sleep "$2"; echo "done $3" ;;
esac
exit 7
EOF2
chmod 755 "$FB/srun"
G() { (cd "$W" && PATH=$FB:/usr/bin:/bin XENVM_HOST_SOCKET=$HSOCK timeout -s KILL 30 "$@"); }
out=$(G env XV_FOO='x y' PMI_FD=11 LD_XV=1 XENVM_XV=1 "$SH/srun" a "b c"; echo "rc=$?")
t_same "srun in the guest: argv, job uid (caller was root), cwd, env; LD_/PMI_/XENVM_ dropped; no fd leak; rc" \
	"argv:[a][b c] uid=65534 gid=65534 cwd=$W foo=x y pmi=unset ld=unset xenvm=unset fd3=closed rc=7" "$(echo $out)"
out=$(G setpriv --reuid 4242 --regid 4242 --clear-groups "$SH/srun" x 2>&1 | sed -n 2p)
t_same "srun from another guest uid: still the job's user" "uid=65534" "${out%% *}"
t_same "srun: stdin reaches the host command" "in=hello from the guest" \
	"$(echo 'hello from the guest' | G "$SH/srun" stdin | grep '^in=')"
G "$SH/srun" sleep 1 A > "$W/s1" & p1=$!
G "$SH/srun" sleep 1 B > "$W/s2" & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
t_same "two concurrent srun shims" "done A 7 done B 7" "$(grep done "$W/s1") $r1 $(grep done "$W/s2") $r2"
out=$(G "$EXEC" --socket "$HSOCK" -- bash -c id 2>&1); rc=$?
[ $rc = 126 ] && echo "$out" | grep -q "'bash' refused: commands from the VM may only be srun" &&
	t_ok "a command not in the allow-list is refused with a clear message" || t_ko "allow-list" "rc=$rc $out"
out=$(G "$EXEC" --socket "$HSOCK" -- /usr/local/bin/srun x 2>&1 | head -1)
t_same "guest path of srun: the host's PATH finds it" "argv:[x]" "$out"
out=$(G "$EXEC" --socket "$HSOCK" --cwd /no/such/dir -- srun x 2>&1); rc=$?
[ $rc = 126 ] && echo "$out" | grep -q "chdir: /no/such/dir: No such file or directory" &&
	t_ok "cwd missing on the host: clear error" || t_ko "cwd missing on the host" "rc=$rc $out"
out=$(cd "$W" && XENVM_HOST_SOCKET=$W/nope "$SH/srun" x 2>&1); rc=$?
[ $rc = 255 ] && echo "$out" | grep -q "^srun: cannot reach the host" &&
	t_ok "host unreachable: 255 and a message" || t_ko "host unreachable" "rc=$rc $out"
(cd "$W" && PATH=$FB:/usr/bin:/bin XENVM_HOST_SOCKET=$HSOCK exec "$SH/srun" term > "$W/t") &
xp=$!
for _ in $(seq 100); do grep -q ready "$W/t" 2>/dev/null && break; sleep 0.05; done
kill -TERM $xp
( sleep 20; kill -KILL $xp 2>/dev/null ) &
wd=$!
wait $xp; rc=$?
{ kill $wd && wait $wd; } 2>/dev/null
t_same "SIGTERM to the guest shim reaches the host command" "got-term rc=9" "$(grep got-term "$W/t") rc=$rc"
(cd "$W" && PATH=$FB:/usr/bin:/bin XENVM_HOST_SOCKET=$HSOCK exec "$SH/srun" sleep 1002 K > /dev/null) &
xp=$!
for _ in $(seq 100); do pgrep -f 'sleep 1002' >/dev/null && break; sleep 0.05; done
started=$(pgrep -f 'sleep 1002' >/dev/null && echo yes)
kill -KILL $xp; wait $xp 2>/dev/null
for _ in $(seq 50); do pgrep -f 'sleep 1002' >/dev/null || break; sleep 0.1; done
left=$(pgrep -f 'sleep 1002' >/dev/null && echo yes)
t_same "shim killed -> host command killed (started: yes, left: none)" "yes none" "$started ${left:-none}"
# ---------------------------------------------------------------- socket floods (issue 13)
# The job's user floods vmd's control socket and a guest process the agent's host-command
# socket, both at once: one thread each whatever comes, descriptors within the bounds (vmd.c
# VMD_MAX_CLIENTS 1024 / VMD_MAX_PER_PEER 64, relay.c RELAY_MAX_SHIMS 256 / RELAY_MAX_PER_PEER
# 64), the excess refused at once with the reason, idle connections closed after 10 s, and the
# job's own commands still served.  The figures are printed (no timed assertion).
GPID=$(pgrep -P "$VPID" -f -- "--host-socket $HSOCK")
nfd() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
nthr() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
# five execs of the job's kind (host -> guest through vmd), wall time in ms
exec5() {
	local t0=$(date +%s%N) i
	for i in 1 2 3 4 5; do "$EXEC" --socket "$CSOCK" -- true || return 1; done
	echo $((($(date +%s%N) - t0) / 1000000))
}
# (the system's python: a root-only one in PATH, e.g. pyenv's shims, is not for uid 65534)
FLOOD() { setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 "$HERE/flood.py" "$@"; }
base_ms=$(exec5)
base="vmd $(nthr "$VPID") threads $(nfd "$VPID") fds, guest agent $(nthr "$GPID") threads $(nfd "$GPID") fds"
# vmd: 12 processes x 150 (64 each served, the rest refused); the guest: 3 x 150 likewise
FLOOD "$CSOCK" 12 150 12 > "$W/flood-vmd" &
fa=$!
(cd "$W" && FLOOD "$HSOCK" 3 150 12 > "$W/flood-guest") &
fb=$!
for _ in $(seq 300); do
	[ "$(grep -c holding "$W/flood-vmd" "$W/flood-guest" | awk -F: '{s += $2} END {print s}')" = 2 ] && break
	sleep 0.1
done
during="vmd $(nthr "$VPID") threads $(nfd "$VPID") fds, guest agent $(nthr "$GPID") threads $(nfd "$GPID") fds"
vfd=$(nfd "$VPID") gfd=$(nfd "$GPID") vthr=$(nthr "$VPID") gthr=$(nthr "$GPID")
flood_ms=$(exec5)
out=$(G "$SH/srun" during-flood 2>&1 | head -1)
wait $fa $fb
fv() { sed -n "s/^$2 //p" "$W/flood-$1"; }
echo "    flood figures: before: $base; during: $during"
echo "    flood figures: 5 execs ${base_ms} ms without, ${flood_ms} ms during the flood: ratio $(awk -v a="$flood_ms" -v b="$base_ms" 'BEGIN {printf "%.2f", a / (b ? b : 1)}')"
echo "    flood figures: vmd served $(fv vmd ok), refused $(fv vmd refused), closed idle $(fv vmd closed-idle); guest agent served $(fv guest ok), refused $(fv guest refused), closed idle $(fv guest closed-idle)"
t_same "vmd flood: 64 served per process (12 x 64), the rest refused, none left unanswered" \
	"768 1032 0 0 0" "$(fv vmd ok) $(fv vmd refused) $(fv vmd closed) $(fv vmd failed) $(fv vmd noanswer)"
t_check "vmd: the refusal says why ($(fv vmd reason))" grep -Eq "^reason refused: too many connections to the VM's supervisor from process [0-9]+ \(64 open\)$" "$W/flood-vmd"
t_same "vmd flood: every idle connection closed after 10 s" 768 "$(fv vmd closed-idle)"
t_check "vmd flood: one thread ($vthr), descriptors within 1024 + 64 ($vfd)" test "$vthr" = 1 -a "$vfd" -le 1088
t_same "guest flood: 64 served per process (3 x 64), the rest refused" "192 258 0 0" \
	"$(fv guest ok) $(fv guest refused) $(fv guest failed) $(fv guest noanswer)"
t_check "guest agent: the refusal says why ($(fv guest reason))" grep -Eq "^reason refused: too many connections to the guest's host-command socket from process [0-9]+ \(64 open\)$" "$W/flood-guest"
t_same "guest flood: every idle connection closed after 10 s" 192 "$(fv guest closed-idle)"
t_check "guest flood: one agent thread ($gthr), descriptors within 256 + 64 ($gfd)" test "$gthr" = 1 -a "$gfd" -le 320
t_check "the job's execs ran during the flood" test -n "$flood_ms"
t_same "srun from the guest ran during the flood" "argv:[during-flood]" "$out"
# The totals: 20 x 60 to vmd (1024 at most), 5 x 60 to the guest (256 at most), from processes
# under the per-process bound.
FLOOD "$CSOCK" 20 60 3 > "$W/flood-vmd"
(cd "$W" && FLOOD "$HSOCK" 5 60 3 > "$W/flood-guest")
t_same "vmd: 1024 connections at most, the rest refused" "1024 176" "$(fv vmd ok) $(fv vmd refused)"
t_same "vmd: the refusal says why" "refused: too many connections to the VM's supervisor (1024 open)" "$(fv vmd reason)"
t_same "guest agent: 256 connections at most, the rest refused" "256 44" "$(fv guest ok) $(fv guest refused)"
t_same "guest agent: the refusal says why" "refused: too many connections to the guest's host-command socket (256 open)" "$(fv guest reason)"
out=$("$EXEC" --socket "$CSOCK" -- echo after 2>&1)
t_same "vmd serves after the floods" after "$out"
# Another user (the socket's mode stops them on a node; here it is 0666): closed without a word,
# not logged once each.
setpriv --reuid 4242 --regid 4242 --clear-groups /usr/bin/python3 "$HERE/flood.py" "$CSOCK" 2 500 0 > "$W/flood-vmd"
t_same "another uid: 1000 connections closed at once, none served" "0 1000" "$(fv vmd ok) $(fv vmd closed)"
t_check "refusals logged at most once a minute ($(grep -c 'control socket: refused' "$W/vmd.log") lines)" \
	test "$(grep -c 'control socket: refused' "$W/vmd.log")" -le 2
t_check "guest refusals logged at most once a minute" test "$(grep -c 'host socket: ' "$W/vmd.log")" -le 2

kill -TERM $VPID; wait $VPID; rc=$?
VPID=
t_same "vmd exits cleanly on SIGTERM (ASan: no leak)" 0 $rc
grep -E "ERROR: (Address|Leak)Sanitizer|runtime error" "$W/vmd.log" && t_ko "vmd/agents sanitizer report" || t_ok "vmd, guest agent and helper sanitizer clean"

# A job's VM nobody claims (its Prolog killed with slurmd before it recorded the VM) ends by
# itself after its deadline; a claimed one stays (xvm_spec.claim_s, here 1.5 s).
for claim in no yes; do
	rm -f "$W/c.sock.claimed"
	[ $claim = yes ] && : > "$W/c.sock.claimed"
	VMDHOST_CLAIM_MS=1500 "$VMDHOST" "$W/c.sock" "$W/c-host.sock" 65534 65534 "$AGENT" "" 2> "$W/claim.log" &
	CPID=$!
	for _ in $(seq 60); do kill -0 $CPID 2>/dev/null || break; sleep 0.1; done
	if kill -0 $CPID 2>/dev/null; then alive=alive; kill -TERM $CPID; else alive=gone; fi
	wait $CPID; rc=$?
	if [ $claim = no ]; then
		t_same "an unclaimed VM ends after its deadline (rc 0)" "gone 0" "$alive $rc"
		t_check "unclaimed: the reason is logged" grep -q "VM ends: unclaimed: no Prolog recorded this VM within 1 s of its boot ($W/c.sock.claimed is missing)" "$W/claim.log"
	else
		t_same "a claimed VM stays past the deadline" "alive 0" "$alive $rc"
	fi
done

# The VM goes away under a running exec (here: its agent is killed): the right reason, 255.
"$AGENT" --listen "$W/lost.sock" 2> "$W/lost-agent.log" &
LPID=$!
for _ in $(seq 50); do [ -S "$W/lost.sock" ] && break; sleep 0.1; done
( sleep 1; kill -KILL $LPID ) &
out=$(timeout 30 "$EXEC" --socket "$W/lost.sock" -- sleep 100 2>&1 < /dev/null); rc=$?
wait $LPID 2>/dev/null
t_same "VM lost under an exec: reason and 255" \
	"xenvm-exec: lost the connection to the VM's agent: the VM stopped (its supervisor closed the connection) rc=255" "$out rc=$rc"

kill -TERM $APID; wait $APID; rc=$?
t_same "agent exits cleanly on SIGTERM (ASan: no leak)" 0 $rc
grep -E "ERROR: (Address|Leak)Sanitizer|runtime error" "$W/agent.log" && t_ko "agent sanitizer report" || t_ok "agent sanitizer clean"

t_summary

#!/bin/bash
# run.sh - the VM suite: boot ttylinux-mpi under QEMU/TCG through the qemu driver and run
# commands in it with xenvm-exec.  Fails (never skips) when something it needs is missing.
# Usage: tests/vm/run.sh VMCTL XENVM_EXEC IMAGE_DIR AGENT
#   AGENT: the host's xenvm-agent, vmd's helper for commands from the guest (srun in the VM)
# Uses bridge xvgbr0 (10.83.0.0/24, no route out) and job ids 8300x; removes all it creates.
# Last line: "vm: N passed, N failed"; exit 1 on any failure.
set -u
VMCTL=$(readlink -f "${1:?vmctl}")
EXEC=$(readlink -f "${2:?xenvm-exec}")
IMG=$(readlink -f "${3:?image dir}")
export VMCTL_HOST_AGENT=$(readlink -f "${4:?xenvm-agent}")
HERE=$(cd "$(dirname "$0")" && pwd)
BR=xvgbr0
J=83001
T_SUITE=vm
# shellcheck source=../lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
now() { date +%s.%N; }
el() { echo "$2 - $1" | bc; }

for t in qemu-system-x86_64 setpriv python3 ip sha256sum bc cpio busybox; do
	command -v $t >/dev/null || t_fatal "prerequisite $t"
done
[ "$(id -u)" = 0 ] || t_fatal "must run as root (bridge, taps, uid switching)"
export VMCTL_ROOTDISK=$IMG/rootdisk.sqfs
for f in vmlinuz initrd.zst rootdisk.sqfs; do [ -r "$IMG/$f" ] || t_fatal "image file $IMG/$f (make image)"; done

W=$(mktemp -d /tmp/xvg-vm.XXXXXX)
chmod 755 "$W"
cleanup() {
	# keep the consoles of the last run for diagnosis
	rm -rf /tmp/xvg-vm-last && mkdir -p /tmp/xvg-vm-last
	for d in "$W"/st*; do [ -f "$d/console.log" ] && cp "$d/console.log" "/tmp/xvg-vm-last/${d##*/}.console.log"; done
	for d in "$W"/st*; do [ -d "$d" ] && "$VMCTL" destroy "$d" 2>/dev/null; done
	for j in $J $((J + 1)) $((J + 2)) $((J + 3)) $((J + 4)) $((J + 5)); do "$VMCTL" kill $j 2>/dev/null; done
	ip link del xvgup0 2>/dev/null
	ip link del $BR 2>/dev/null
	rm -rf "$W"
}
t_at_exit cleanup
ip link add $BR type bridge && ip addr add 10.83.0.1/24 dev $BR && ip link set $BR up ||
	t_fatal "create bridge $BR"
# An uplink as on a node (the bridge holds the node's address and takes its lowest port's MAC;
# the address is not set by hand, as on a node whose network config does not pin it).
UPLINK_MAC=fa:16:00:00:00:01
ip link add xvgup0 type veth peer name xvgup1 && ip link set xvgup0 address $UPLINK_MAC &&
	ip link set xvgup0 master $BR up && ip link set xvgup1 up || t_fatal "uplink on $BR"
brmac() { cat /sys/class/net/$BR/address; }
t_same "the bridge has the uplink's MAC" "$UPLINK_MAC" "$(brmac)"
mkdir -p "$W/share" && chown 65534:65534 "$W/share"

# ---------------------------------------------------------------- a good VM, owned by nobody
ST=$W/st1
mkdir -p "$ST"
t0=$(now)
VMCTL_SHARE=$W/share "$VMCTL" boot "$ST" "$IMG/vmlinuz" "$IMG/initrd.zst" $J 65534 65534 $BR 10.83.0.10/24 ||
	t_fatal "boot"
if "$VMCTL" wait "$ST" 120; then
	t_ok "boot to ready ($(el $t0 $(now)) s)"
else
	t_ko "boot to ready"; cat "$ST/console.log" | tail -20; t_summary
fi
S=$ST/agent.sock
t_same "control socket owned by the job user, 0600" "65534 600" "$(stat -c '%u %a' "$S")"
# The tap's host side: the guest's MAC (from 10.83.0.10) with 0xfe first, above any uplink's,
# so that the bridge, and the node address it holds, keep their MAC while VMs come and go.
t_same "tap's host-side MAC: fe + the guest's" "fe:54:00:53:00:0a" "$(cat "/sys/class/net/$(xv_tap_name "$J" vm0)/address" 2>&1)"
t_same "a VM joining the bridge leaves its MAC alone" "$UPLINK_MAC" "$(brmac)"
U() { setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$S" --cwd /tmp "$@"; }

t0=$(now)
t_same "echo hello" "hello" "$(U -- echo hello)"
echo "     (exec round trip incl. xenvm-exec start: $(el $t0 $(now)) s)"
t0=$(now)
for i in $(seq 20); do U -- true; done
echo "     (20 x true: $(el $t0 $(now)) s)"
bad=
for i in $(seq 0 255); do U -- sh -c "exit $i"; r=$?; [ $r = $i ] || bad="$bad $i:$r"; done
t_same "exit codes 0..255" "" "$bad"
U -- sh -c 'kill -KILL $$'; t_same "death by SIGKILL -> 137" 137 $?
U -- sh -c 'kill -SEGV $$'; t_same "death by SIGSEGV -> 139" 139 $?
U -- no-such-cmd 2>/dev/null; t_same "missing command -> 127" 127 $?
t_same "guest kernel (the image's, images.yaml)" "$(sed -n 's/^ *kernel: "\(.*\)"$/\1/p' "$IMG/../images.yaml" | head -1)" "$(U -- uname -r)"
t_same "uid/gid in the guest" "65534 65534" "$(U -- sh -c 'echo $(id -u) $(id -g)')"
t_same "env passed" "a b" "$(FOO='a b' U -- sh -c 'echo "$FOO"')"
t_same "cwd" "/proc" "$(setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$S" --cwd /proc -- pwd)"
exp=$(printf '[%s]' "a b" '"q"' "" $'\xc3\xa9' $'\xff')
t_same "argv byte for byte" "$exp" "$(U -- sh -c 'for a; do printf "[%s]" "$a"; done' sh "a b" '"q"' "" $'\xc3\xa9' $'\xff')"
U --root -- id -u 2> "$W/err"; rc=$?
[ $rc != 0 ] && grep -q "root" "$W/err" && t_ok "root refused (not granted)" || t_ko "root refused" "rc=$rc $(cat "$W/err")"

# SIGTERM reaches the guest process
setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$S" --cwd /tmp -- \
	sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' > "$W/t" &
xp=$!
for _ in $(seq 200); do grep -q ready "$W/t" 2>/dev/null && break; sleep 0.05; done
kill -TERM $xp
( sleep 30; kill -KILL $xp 2>/dev/null ) & wd=$!
wait $xp; rc=$?
{ kill $wd && wait $wd; } 2>/dev/null
t_same "SIGTERM forwarded" "ready got-term 7" "$(echo $(cat "$W/t") $rc)"

# 100 MB stdin -> stdout
head -c 100000000 /dev/urandom > "$W/big"
want=$(sha256sum < "$W/big" | cut -d' ' -f1)
t0=$(now)
got=$(U -- cat < "$W/big" | sha256sum | cut -d' ' -f1)
t=$(el $t0 $(now))
t_same "100 MB stdin->stdout sha256" "$want" "$got"
echo "     (100 MB through the VM and back in $t s: $(echo "scale=1; 200 / $t" | bc) MB/s both ways)"
t0=$(now)
U -- dd if=/dev/zero bs=65536 count=1526 2>/dev/null | wc -c > "$W/n"
t=$(el $t0 $(now))
t_same "100 MB stdout" "100007936" "$(cat "$W/n" | tr -d ' ')"
echo "     (stdout relay: $(echo "scale=1; 100 / $t" | bc) MB/s)"
rm -f "$W/big"

# 50 concurrent execs
pids=
t0=$(now)
for i in $(seq 50); do
	timeout -s KILL 300 setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$S" --cwd /tmp -- sh -c "sleep 1; echo n$i" > "$W/c.$i" 2>&1 &
	pids="$pids $!"
done
wait $pids
bad=
for i in $(seq 50); do [ "$(cat "$W/c.$i")" = "n$i" ] || bad="$bad $i"; done
t_same "50 concurrent execs ($(el $t0 $(now)) s)" "" "$bad"

# PMI_FD relay into the guest (busybox sh reads fd 11)
got=$(cd /tmp && RELAY_SH=sh python3 "$HERE/relay-fd-client.py" "$EXEC" "$S" 2>&1 | sed 's/--cwd.*//')
t_same "PMI_FD relay (socketpair fd 11 both ways)" "got:cmd=init pmi_version=1 fd11=socket" "$got"

# another uid is refused: by the socket's mode, and by SO_PEERCRED if the mode were wrong
setpriv --reuid 4242 --regid 4242 --clear-groups "$EXEC" --socket "$S" -- true 2> "$W/err"; rc=$?
[ $rc = 255 ] && grep -q "Permission denied" "$W/err" && t_ok "other uid refused (mode 0600)" || t_ko "other uid refused (mode)" "rc=$rc $(cat "$W/err")"
chmod 666 "$S"
setpriv --reuid 4242 --regid 4242 --clear-groups "$EXEC" --socket "$S" -- true 2> "$W/err"; rc=$?
chmod 600 "$S"
[ $rc = 255 ] && t_ok "other uid refused (peer credentials)" || t_ko "other uid refused (peer credentials)" "rc=$rc $(cat "$W/err")"

# network and 9p
busybox ping -c1 -W5 10.83.0.10 >/dev/null && t_ok "guest reachable on $BR" || t_ko "guest reachable on $BR"
U --cwd "$W/share" -- sh -c 'echo from-guest > out.txt'
t_same "9p share read-write at the same path" "from-guest 65534" "$(cat "$W/share/out.txt" 2>/dev/null) $(stat -c %u "$W/share/out.txt" 2>/dev/null)"
U -- sh -c 'grep -E "^(MemTotal|MemAvailable)" /proc/meminfo' | awk '{print $2}' | tr '\n' ' ' > "$W/mem"
read -r mt ma < "$W/mem"
echo "     (guest memory used, MemTotal-MemAvailable: $(((mt - ma) / 1024)) MB of $((mt / 1024)) MB)"

# ---------------------------------------------------------------- commands from the guest
# A fake srun in a host directory that the guest does not have: the guest's PATH finds the shim in
# /usr/local/bin, the host (same PATH, from the request) finds the fake.
FB=$W/fakebin
mkdir -p "$FB"
cat > "$FB/srun" <<'EOF2'
#!/bin/sh
printf 'argv:'; for a; do printf '[%s]' "$a"; done; echo
echo "uid=$(id -u) gid=$(id -g) cwd=$(pwd) foo=${XV_FOO-unset} pmi=${PMI_FD-unset} host=$(uname -r)"
case "$1" in
stdin) read -r l; echo "in=$l" ;;
term) trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.05; done ;;
sleep) sleep "$2"; echo "done $3" ;;
esac
exit 7
EOF2
chmod 755 "$FB/srun"
GP=$FB:/usr/local/bin:/usr/bin:/bin
HK=$(uname -r)
out=$(PATH=$GP XV_FOO='x y' PMI_FD=11 U -- sh -c 'srun a "b c"; echo rc=$?' 2>&1)
t_same "srun in the VM runs on the host as the job user, rc relayed" \
	"argv:[a][b c] uid=65534 gid=65534 cwd=/tmp foo=x y pmi=unset host=$HK rc=7" "$(echo $out)"
t_same "srun in the VM with a PATH without /usr/local/bin" "argv:[p]" \
	"$(PATH=$FB:/usr/bin:/bin U -- sh -c 'srun p' 2>&1 | head -1)"
out=$(PATH=$GP "$EXEC" --socket "$S" --root --cwd /tmp -- sh -c 'echo guest-uid=$(id -u); srun x' 2>&1)
t_same "srun by root in the VM: still the job user on the host" "guest-uid=0 argv:[x] uid=65534" \
	"$(echo $out | cut -d' ' -f1-3)"
t_same "srun in the VM: stdin reaches the host command" "in=hello" \
	"$(echo hello | PATH=$GP U -- sh -c 'srun stdin' | grep '^in=')"
out=$(PATH=$GP U -- sh -c 'srun sleep 1 A > a.out & srun sleep 1 B > b.out & wait; grep -h done a.out b.out' 2>&1)
t_same "two concurrent srun in the VM" "done A done B" "$(echo $out)"
out=$(PATH=$GP U -- sh -c 'xenvm-exec --socket /run/xenvm/host.sock -- bash -c id; echo rc=$?' 2>&1)
echo "$out" | grep -q "'bash' refused: commands from the VM may only be srun" && echo "$out" | grep -q "rc=126" &&
	t_ok "a command not in the allow-list is refused (direct request)" || t_ko "allow-list in the VM" "$out"
PATH=$GP setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$S" --cwd /tmp -- \
	sh -c 'exec srun term' > "$W/t" &
xp=$!
for _ in $(seq 300); do grep -q ready "$W/t" 2>/dev/null && break; sleep 0.05; done
kill -TERM $xp
( sleep 30; kill -KILL $xp 2>/dev/null ) & wd=$!
wait $xp; rc=$?
{ kill $wd && wait $wd; } 2>/dev/null
t_same "SIGTERM to srun in the VM reaches the host command" "ready got-term 9" "$(echo $(grep -v -e '^argv' -e '^uid' "$W/t") $rc)"

# ---------------------------------------------------------------- the batch step
printf '#!/bin/sh\necho "batch $# [$1] [$2] $(id -u) $(uname -r) ${0##*/}"; exit 5\n' > "$W/job.sh"
printf '#!/bin/bash\necho "bash ${BASH_VERSION%%%%.*} $((6 * 7)) $(uname -r)"\n' > "$W/job.bash"
GK=$(U -- uname -r)
Bt() { (cd /tmp && XENVM_SOCKET=$S XENVM_EXEC_BATCH=1 SLURM_JOB_ID=$J XENVM_EXEC_ARGV0=$1 \
	setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" "${@:2}"); }
out=$(Bt "$W/job.sh" x "y z" 2>&1); rc=$?
t_same "batch script runs in the VM with its args and exit code" "batch 2 [x] [y z] 65534 $GK slurm_script rc=5" "$out rc=$rc"
t_same "#!/bin/bash batch script in the VM" "bash 5 42 $GK" "$(Bt "$W/job.bash" 2>&1)"
out=$(Bt "$W/no-such.sh" 2>&1); rc=$?
[ $rc = 127 ] && echo "$out" | grep -q "batch script $W/no-such.sh: No such file or directory" &&
	t_ok "batch: missing script -> clear error" || t_ko "batch: missing script" "rc=$rc $out"

# list by job (crash recovery) sees it
t_same "list-by-job finds the VM" "xenvm-job$J-vm0" "$("$VMCTL" list $J | cut -d' ' -f1)"

t0=$(now)
"$VMCTL" shutdown "$ST" 20 && t_ok "shutdown ($(el $t0 $(now)) s)" || t_ko "shutdown"
nothing_left() { # JOB STATEDIR
	local left=
	[ -n "$("$VMCTL" list $1)" ] && left="$left process"
	[ -e "$2/agent.sock" ] && left="$left socket"
	[ -e "$2/.qemu-agent.sock" ] && left="$left qemu-socket"
	ip link show "$(xv_tap_name "$1" vm0)" >/dev/null 2>&1 && left="$left tap"
	pgrep -f "xenvm-job$1-" >/dev/null && left="$left qemu"
	echo "$left"
}
t_same "after shutdown nothing left" "" "$(nothing_left $J "$ST")"

# ---------------------------------------------------------------- root in the guest, contained
# (issue 14) A job allowed root in its guest (uid 4301), shares: its home, another user's
# (4302) directory, a directory of root's.  Its guest root tries, on every share, what a root
# on the host could; every attempt fails, and on the host nothing root-owned, set-id or
# device-typed appears.  Plain numeric ids: QEMU's -runas takes uid:gid.
JU=4301 OU=4302
X=$W/esc
mkdir -p "$X/home/locked" "$X/other" "$X/rootdir" "$X/outside" && chmod 755 "$X" "$X"/*
chown $JU:$JU "$X/home"; chown $OU:$OU "$X/other"
for d in home other rootdir; do
	echo "secret-of-$OU" > "$X/$d/secret"; chown $OU:$OU "$X/$d/secret"; chmod 600 "$X/$d/secret"
done
echo "outside-the-shares" > "$X/outside/target"; chmod 644 "$X/outside/target"
ln -s "$X/outside/target" "$X/home/link"; chown -h $JU:$JU "$X/home/link"
ST=$W/st6; mkdir -p "$ST"
before=$(find "$X" -user 0 | sort)
VMCTL_ALLOW_ROOT=1 VMCTL_SHARE=$X/home:$X/other:$X/rootdir "$VMCTL" boot "$ST" "$IMG/vmlinuz" "$IMG/initrd.zst" $((J + 5)) $JU $JU ||
	t_fatal "boot the root-allowed VM"
"$VMCTL" wait "$ST" 120 || t_fatal "root-allowed VM ready: $(tail -5 "$ST/console.log")"
R() { setpriv --reuid $JU --regid $JU --clear-groups "$EXEC" --socket "$ST/agent.sock" --root --cwd / -- sh -c "$1" 2>&1; }
t_same "guest root granted" "0" "$(R 'id -u')"
qpid=$(pgrep -f "xenvm-job$((J + 5))-vm0")
t_same "QEMU runs as the job's user" "$JU $JU" "$(echo $(ps -o uid=,gid= -p "$qpid"))"
t_same "QEMU under the set-id filter" "2" "$(awk '/^Seccomp:/ {print $2}' /proc/$qpid/status)"
t_same "console.log: root's, 0600 + the user's read ACL" "0 640" "$(stat -c '%u %a' "$ST/console.log")"
setpriv --reuid $OU --regid $OU --clear-groups cat "$ST/console.log" >/dev/null 2>&1 &&
	t_ko "console.log unreadable by another user" || t_ok "console.log unreadable by another user"
setpriv --reuid $JU --regid $JU --clear-groups cat "$ST/console.log" >/dev/null 2>&1 &&
	t_ok "console.log readable by the job's user" || t_ko "console.log readable by the job's user"
# A file root writes in the user's home is the user's.
out=$(R "echo by-root > $X/home/rootfile && echo ok")
t_same "guest root writes in the user's home" "ok $JU:$JU" "$out $(stat -c %u:%g "$X/home/rootfile" 2>&1)"
for d in home other rootdir; do
	P=$X/$d
	t_same "$d: another user's 0600 file unreadable" "denied" "$(R "cat $P/secret >/dev/null 2>&1 && echo read || echo denied")"
	t_same "$d: locked dir not writable" "denied" "$(R "{ echo x > ${P}$([ $d = home ] && echo /locked)/new; } 2>/dev/null && echo wrote || echo denied")"
	t_same "$d: chown to root refused" "denied" "$(R "chown 0:0 $P/secret $X/home/rootfile 2>/dev/null && echo chowned || echo denied")"
	t_same "$d: setuid-root binary refused" "denied" "$(R "{ cp /bin/busybox $P/suid && chown 0:0 $P/suid; chmod 4755 $P/suid && echo setuid || { chmod 4755 $X/home/rootfile && echo setuid; } || echo denied; } 2>/dev/null")"
	t_same "$d: setgid refused" "denied" "$(R "chmod 2755 $X/home/rootfile 2>/dev/null && echo setgid || echo denied")"
	t_same "$d: device nodes refused" "denied denied" "$(R "for t in 'c 1 3' 'b 8 0'; do mknod $P/dev\$RANDOM \$t 2>/dev/null && echo made || echo denied; done" | tr '\n' ' ' | sed 's/ $//')"
done
t_same "a symlink out of the share leads nowhere outside" "denied" "$(R "cat $X/home/link 2>/dev/null | grep -q outside-the-shares && echo followed || echo denied")"
# the cgroup: QEMU in it, its memory counted, the limit = VM memory (256 MiB) + 64 MiB
cg=$(dirname "$(grep -lx "$qpid" /sys/fs/cgroup/xenvm.slice/job$((J + 5))/vm0.*/cgroup.procs \
	/sys/fs/cgroup/memory/xenvm.slice/job$((J + 5))/vm0.*/cgroup.procs 2>/dev/null | head -1)")
[ "$cg" != . ] && t_ok "QEMU in the VM's cgroup ($cg)" || t_ko "QEMU in the VM's cgroup" "$(cat /proc/$qpid/cgroup)"
lim=$(cat "$cg/memory.max" 2>/dev/null || cat "$cg/memory.limit_in_bytes" 2>/dev/null)
use=$(cat "$cg/memory.current" 2>/dev/null || cat "$cg/memory.usage_in_bytes" 2>/dev/null)
t_same "VM cgroup limit: VM memory + overhead" "$(((256 + 64) << 20))" "$lim"
[ "${use:-0}" -gt $((64 << 20)) ] && t_ok "VM memory counted in its cgroup ($((use >> 20)) MiB)" ||
	t_ko "VM memory counted in its cgroup" "usage ${use:-none}"
"$VMCTL" shutdown "$ST" 20 || t_ko "shutdown the root-allowed VM"
t_same "nothing new owned by root on the host" "$before" "$(find "$X" -user 0 | sort)"
t_same "nothing set-id on the host" "" "$(find "$X" -perm /6000)"
t_same "no device node on the host" "" "$(find "$X" -type b -o -type c)"
t_same "the VM's cgroup removed with it" "" "$(ls -d /sys/fs/cgroup/xenvm.slice/job$((J + 5)) /sys/fs/cgroup/memory/xenvm.slice/job$((J + 5)) 2>/dev/null)"

# ---------------------------------------------------------------- destroy, and kill by job
ST=$W/st2; mkdir -p "$ST"
"$VMCTL" boot "$ST" "$IMG/vmlinuz" "$IMG/initrd.zst" $((J + 1)) 0 0 $BR 10.83.0.11/24 && sleep 1 &&
	"$VMCTL" destroy "$ST" && t_ok "destroy while booting" || t_ko "destroy while booting"
t_same "after destroy nothing left" "" "$(nothing_left $((J + 1)) "$ST")"
ST=$W/st3; mkdir -p "$ST"
"$VMCTL" boot "$ST" "$IMG/vmlinuz" "$IMG/initrd.zst" $((J + 2)) 0 0 && sleep 1 &&
	"$VMCTL" kill $((J + 2)) && t_ok "kill by job id (recovery without state)" || t_ko "kill by job id"
sleep 0.5
t_same "after kill-by-job nothing left" "" "$(nothing_left $((J + 2)) "$ST")"

# ---------------------------------------------------------------- bad input
ST=$W/st4; mkdir -p "$ST"
out=$("$VMCTL" boot "$ST" "$W/no-such-kernel" "$IMG/initrd.zst" $((J + 3)) 0 0 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "kernel .*No such file" && t_ok "missing kernel: clear error at once" ||
	t_ko "missing kernel" "rc=$rc $out"
t_same "missing kernel: nothing left" "" "$(nothing_left $((J + 3)) "$ST")$(ls "$ST" | grep -v -E '^(status|console.log|vmd.log)$')"

head -c 3000000 /dev/urandom > "$W/corrupt.zst"
"$VMCTL" boot "$ST" "$IMG/vmlinuz" "$W/corrupt.zst" $((J + 3)) 0 0
t0=$(now)
out=$("$VMCTL" wait "$ST" 60 2>&1); rc=$?
t=$(el $t0 $(now))
[ $rc != 0 ] && [ "$(echo "$t < 60" | bc)" = 1 ] && t_ok "corrupt initrd: error in $t s" || t_ko "corrupt initrd" "rc=$rc after $t s: $out"
echo "     ($out)" | cut -c1-300
"$VMCTL" destroy "$ST"
t_same "corrupt initrd: nothing left" "" "$(nothing_left $((J + 3)) "$ST")"

# a guest that never gets ready: /init sleeps forever
mkdir -p "$W/hang/bin"
cp /bin/busybox "$W/hang/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox sleep 100000\n' > "$W/hang/init"
chmod 755 "$W/hang/init"
(cd "$W/hang" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/hang.gz"
ST=$W/st5; mkdir -p "$ST"
"$VMCTL" boot "$ST" "$IMG/vmlinuz" "$W/hang.gz" $((J + 4)) 0 0
t0=$(now)
out=$("$VMCTL" wait "$ST" 25 2>&1); rc=$?
t=$(el $t0 $(now))
[ $rc != 0 ] && echo "$out" | grep -q "did not become ready in 25 s" && t_ok "never-ready guest: timeout error after $t s" ||
	t_ko "never-ready guest" "rc=$rc: $out"
"$VMCTL" destroy "$ST"
t_same "never-ready guest: nothing left after destroy" "" "$(nothing_left $((J + 4)) "$ST")"

t_summary

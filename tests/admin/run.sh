#!/bin/bash
# run.sh - the `xenvm` admin command end to end: real QEMU/TCG boots of ttylinux-mpi through
# `xenvm boot`, then list, exec, status, destroy, and bad input with the exit codes of xenvm(8).
# Fails (never skips) when something it needs is missing.
# Usage: tests/admin/run.sh XENVM XENVM_EXEC IMAGES_DIR      (IMAGES_DIR holds images.yaml)
# Uses bridge xvabr0 (10.85.0.0/24, no route out) and a private state_dir/cache under a temp
# directory: it never touches tests/vm's xvgbr0, /run/xenvm, or another suite's VMs.
# Last line: "admin: N passed, N failed"; exit 1 on any failure.
set -u
XENVM=$(readlink -f "${1:?xenvm}")
EXEC=$(readlink -f "${2:?xenvm-exec}")
IMAGES=$(readlink -f "${3:?images dir}")
BR=xvabr0
T_SUITE=admin
# shellcheck source=../lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
# check_rc NAME WANT_RC WANT_MSG_REGEX: the last command's rc and stderr (in $W/err)
check_rc() {
	if [ "$RC" = "$2" ] && grep -qE -- "$3" "$W/err"; then t_ok "$1 (exit $RC)"
	else t_ko "$1" "expected exit $2 and /$3/, got exit $RC: $(cat "$W/err")"; fi
}

for t in qemu-system-x86_64 ip pgrep valgrind sha256sum; do
	command -v $t >/dev/null || t_fatal "prerequisite $t"
done
[ "$(id -u)" = 0 ] || t_fatal "must run as root (bridge, taps)"
for f in images.yaml ttylinux-mpi/vmlinuz ttylinux-mpi/initrd.zst ttylinux-mpi/rootdisk.sqfs; do
	[ -r "$IMAGES/$f" ] || t_fatal "image file $IMAGES/$f (make image)"
done
[ -x "$XENVM" ] && [ -x "$EXEC" ] || t_fatal "programs $XENVM $EXEC"

W=$(mktemp -d /tmp/xva-test.XXXXXX)
chmod 755 "$W"
cat > "$W/xenvm.yaml" <<EOF
state_dir: $W/state
catalog: $IMAGES/images.yaml
cache:
  dir: $W/cache
  max_size: 1G
imagecast:
  store: $IMAGES
timeouts:
  ready: 120s
EOF
export XENVM_EXEC=$EXEC
X() { "$XENVM" -c "$W/xenvm.yaml" "$@"; }
cleanup() {
	# this suite's VMs only: those under its own state_dir (destroy kills by exact VM name)
	for id in $(X list 2>/dev/null | awk 'NR > 1 && $2 >= 4294901761 && $5 != "orphan" { print $1 }'); do
		X destroy "$id" >/dev/null 2>&1
	done
	ip link del $BR 2>/dev/null
	rm -rf "$W"
}
t_at_exit cleanup
ip link add $BR type bridge && ip addr add 10.85.0.1/24 dev $BR && ip link set $BR up ||
	t_fatal "create bridge $BR"
qemu_cmdline() { tr '\0' ' ' < "/proc/$(pgrep -f -- "-name $1," | head -1)/cmdline" 2>/dev/null; }
# nothing_left JOB NAME: no process, socket, tap or state directory of the VM
nothing_left() {
	local left= tap
	tap=$(xv_tap_name "$1" "$2")
	pgrep -f -- "xenvm-job$1-" >/dev/null && left="$left process"
	[ -e "$W/state/job/$1/$2/agent.sock" ] && left="$left socket"
	[ -e "$W/state/job/$1/$2/.qemu-agent.sock" ] && left="$left qemu-socket"
	ip link show "$tap" >/dev/null 2>&1 && left="$left tap"
	[ -e "$W/state/job/$1" ] && left="$left state-dir"
	echo "$left"
}

# status_sums: the "VMs: N (M ready), X of guest memory" line agrees with the table below it
# (other suites' VMs may run on this node at the same time: `xenvm list` is node-wide).
status_sums() {
	awk 'NR == 1 { n = $2; r = substr($3, 2); m = $5; next }
	     NF >= 9 && $2 ~ /^[0-9]+$/ { rows++; rd += $5 == "ready"
	               if ($5 != "stopped" && $5 != "failed" && $7 != "-") {
	                       v = $7; u = substr(v, length(v)); v = substr(v, 1, length(v) - 1)
	                       mem += u == "G" ? v * 1024 : v } }
	     END { exit !(rows == n && rd == r && (mem >= 1024 ? mem / 1024 "G" : mem "M") == m) }' "$W/status"
}

# ---------------------------------------------------------------- boot, list, exec, status
t0=$(date +%s.%N)
ID=$(X boot --image ttylinux-mpi --name t1 --bridge $BR --ip 10.85.0.10/24 2> "$W/err"); RC=$?
t_same "boot --name t1 prints its ID" "0 t1" "$RC $ID"
[ "$RC" = 0 ] || { cat "$W/err"; t_summary; }
echo "     (boot to ready: $(echo "$(date +%s.%N) - $t0" | bc) s)"
J=$(ls "$W/state/job" | head -1)
[ "$J" -ge 4294901761 ] && [ "$J" -le 4294967293 ] && t_ok "admin job id $J in the admin range" ||
	t_ko "admin job id" "$J"
line=$(X list | awk '$1 == "t1"')
t_same "list shows t1: job, driver, state, memory, vcpus, image" \
	"t1 $J t1 qemu/tcg ready 256M 1 ttylinux-mpi" "$(echo "$line" | awk '{print $1, $2, $3, $4, $5, $7, $8, $9}')"
[[ "$(echo "$line" | awk '{print $6}')" =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] && t_ok "list shows uptime" ||
	t_ko "list uptime" "$line"
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	t_ko "this suite expects a host without vmx/svm (auto must then pick TCG)"
else
	[[ "$(qemu_cmdline "xenvm-job$J-t1")" == *"-accel tcg"* ]] && t_ok "auto accel chose TCG (no vmx/svm)" ||
		t_ko "accel" "$(qemu_cmdline "xenvm-job$J-t1")"
fi
ip link show master $BR 2>/dev/null | grep -q "$(xv_tap_name "$J" t1)" && t_ok "tap $(xv_tap_name "$J" t1) on $BR" || t_ko "tap on $BR"
want=$(sed -n 's/^ *kernel: "\(.*\)"$/\1/p' "$IMAGES/images.yaml" | head -1)
t_same "exec t1 -- uname -r prints the guest kernel" "$want" "$(X exec t1 -- uname -r)"
X exec t1 -- sh -c 'exit 7'; t_same "exec returns the command's status" 7 $?
t_same "exec by full name" "ok" "$(X exec "xenvm-job$J-t1" -- echo ok)"
t_same "exec by job id" "ok" "$(X exec "$J" -- echo ok)"
t_same "exec by JOB/VM, --cwd" "/proc" "$(X exec --cwd /proc "$J/t1" -- pwd)"
t_same "exec relays stdin" "abc" "$(echo abc | X exec t1 -- cat)"
X status > "$W/status" 2> "$W/err"; RC=$?
t_same "status exits 0" 0 "$RC"
status_sums && t_ok "status counts the VMs and their memory" || t_ko "status VMs" "$(cat "$W/status")"
awk '$1 == "t1" && $2 == '"$J"' && $7 == "256M" && $6 ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/ { f = 1 } END { exit !f }' "$W/status" &&
	t_ok "status shows t1 with job, uptime and memory" || t_ko "status t1" "$(cat "$W/status")"
grep -q "^image cache $W/cache: " "$W/status" && t_ok "status shows the image cache" || t_ko "status cache" "$(cat "$W/status")"
grep -qE "^IB VFs: (no IB|[0-9]+ )" "$W/status" && t_ok "status shows the IB VF pool" || t_ko "status IB" "$(cat "$W/status")"
grep -q "^qemu accelerator (vm.accel auto): tcg" "$W/status" && t_ok "status shows the accelerator" ||
	t_ko "status accel" "$(cat "$W/status")"

# ---------------------------------------------------------------- a second VM from the cache
# imagecast publishes an image as <cache.dir>/images/<digest hex>/<role>; the digest is sha256
# of "<role> <sha256> <size>\n" for kernel, initrd, rootdisk (images.yaml(5)).
HEX=$(for r in kernel initrd rootdisk; do
	sed -n "s/^ *$r: {path: [^,]*, sha256: \([0-9a-f]*\), size: \([0-9]*\)}.*/$r \1 \2/p" "$IMAGES/images.yaml" | head -1
done | sha256sum | cut -d' ' -f1)
C=$W/cache/images/$HEX
mkdir -p "$C" "$W/cache/pins/$HEX" "$W/cache/partial"
for r in kernel:vmlinuz initrd:initrd.zst rootdisk:rootdisk.sqfs; do
	cp "$IMAGES/ttylinux-mpi/${r#*:}" "$C/${r%%:*}"
done
ID2=$(X boot --image ttylinux-mpi --mem 320M --vcpus 2 2> "$W/err"); RC=$?
t_same "boot without --name gets a derived ID" "0 admin2" "$RC $ID2"
J2=$(X list | awk '$1 == "admin2" { print $2 }')
cmd=$(qemu_cmdline "xenvm-job$J2-admin2")
[[ "$cmd" == *"-initrd $C/initrd"* && "$cmd" == *"file=$C/rootdisk,"* ]] &&
	t_ok "image files taken from the cache's verified copy" || t_ko "cache files" "$cmd"
[[ "$cmd" == *"-m 320M"* && "$cmd" == *"-smp 2"* ]] && t_ok "--mem 320M --vcpus 2 reach QEMU" ||
	t_ko "mem/vcpus" "$cmd"
t_same "list shows both VMs" "t1 256M 1|admin2 320M 2" \
	"$(X list | awk '$1 == "t1" || $1 == "admin2" { printf "%s%s %s %s", n++ ? "|" : "", $1, $7, $8 }')"
X status > "$W/status"
status_sums && t_ok "status sums running guest memory" || t_ko "status VMs" "$(cat "$W/status")"
grep -qE "^  cached ttylinux-mpi +sha256:${HEX:0:12} " "$W/status" &&
	grep -qE "^image cache $W/cache: 1 image\(s\), " "$W/status" && t_ok "status lists the cached image" ||
	t_ko "status cache" "$(grep cache "$W/status")"
X boot --image ttylinux-mpi --name t1 > /dev/null 2> "$W/err"; RC=$?
check_rc "a second VM named t1 is refused" 2 "admin VM called 't1' already exists"

# ---------------------------------------------------------------- destroy leaves nothing
X destroy t1 2> "$W/err"; RC=$?
check_rc "destroy t1" 0 "destroyed"
t_same "after destroy t1 nothing left" "" "$(nothing_left $J t1)"
t_same "list no longer shows t1" "admin2" "$(X list | awk '$1 == "t1" || $1 == "admin2" { print $1 }')"
X destroy "xenvm-job$J2-admin2" 2> "$W/err"; RC=$?
check_rc "destroy by full name" 0 "destroyed"
t_same "after destroy admin2 nothing left" "" "$(nothing_left $J2 admin2)"
X destroy t1 2> "$W/err"; RC=$?
check_rc "destroy of a gone VM: not found" 4 "no VM 't1' on this node"

# ---------------------------------------------------------------- bad input
X boot --image ttylinux-mp 2> "$W/err"; RC=$?
check_rc "unknown image names it and suggests" 4 "unknown image 'ttylinux-mp' in $IMAGES/images.yaml \(did you mean ttylinux-mpi\?\)"
X exec nosuch -- true 2> "$W/err"; RC=$?
check_rc "exec on an unknown VM id" 255 "no VM 'nosuch' on this node"
X destroy nosuch 2> "$W/err"; RC=$?
check_rc "destroy of an unknown VM id" 4 "no VM 'nosuch' on this node"
X boot --image ttylinux-mpi --mem 12Q 2> "$W/err"; RC=$?
check_rc "bad --mem syntax" 2 "--mem '12Q' is not a size"
X boot --image ttylinux-mpi --mem 64G 2> "$W/err"; RC=$?
check_rc "--mem above the image's max" 2 "--mem 64G is outside 64M..4G"
X boot --image ttylinux-mpi --vcpus 0 2> "$W/err"; RC=$?
check_rc "bad --vcpus" 2 "--vcpus '0': expected 1..16"
X boot --image ttylinux-mpi --name 'a b' 2> "$W/err"; RC=$?
check_rc "bad --name" 2 "--name 'a b'"
X boot --image ttylinux-mpi --driver xen 2> "$W/err"; RC=$?
# This host is not Xen's dom0 (the xen driver itself runs in tests/xen's nested nodes).
check_rc "--driver xen outside dom0 fails clearly" 5 "driver xen cannot run here: not Xen's control domain"
X boot --image ttylinux-mpi --driver vbox 2> "$W/err"; RC=$?
check_rc "unknown --driver" 2 "unknown driver 'vbox'"
X frobnicate 2> "$W/err"; RC=$?
check_rc "unknown command" 2 "unknown command 'frobnicate'"
"$XENVM" -c "$W/missing.yaml" list 2> "$W/err"; RC=$?
check_rc "missing -c file names it" 3 "$W/missing.yaml"
printf 'state_dir: %s/state\nbogus_key: 1\n' "$W" > "$W/bad.yaml"
"$XENVM" -c "$W/bad.yaml" list 2> "$W/err"; RC=$?
check_rc "bad xenvm.yaml names file:line and key" 3 "$W/bad.yaml:2:.*bogus_key"
# a store without the files: the file is named
sed "s|store: $IMAGES|store: $W/nowhere|; s|dir: $W/cache|dir: $W/nocache|" "$W/xenvm.yaml" > "$W/nostore.yaml"
"$XENVM" -c "$W/nostore.yaml" boot --image ttylinux-mpi 2> "$W/err"; RC=$?
check_rc "missing image file is named" 4 "kernel file $W/nowhere/ttylinux-mpi/vmlinuz: No such file"
# a guest that cannot boot: a clear error within the timeout, nothing left behind
mkdir -p "$W/bad/b"
head -c 100000 /dev/urandom > "$W/bad/b/initrd"
cp "$IMAGES/ttylinux-mpi/vmlinuz" "$W/bad/b/kernel"
{
	echo "images:"
	echo "  broken:"
	echo "    files:"
	echo "      kernel: {path: b/kernel, sha256: $(sha256sum < "$W/bad/b/kernel" | cut -d' ' -f1), size: $(stat -c %s "$W/bad/b/kernel")}"
	echo "      initrd: {path: b/initrd, sha256: $(sha256sum < "$W/bad/b/initrd" | cut -d' ' -f1), size: 100000}"
	echo "    cmdline: \"console=ttyS0 panic=-1\""
	echo "    memory: {default: 128M}"
} > "$W/bad/images.yaml"
sed "s|catalog: .*|catalog: $W/bad/images.yaml|; s|store: $IMAGES|store: $W/bad|" "$W/xenvm.yaml" > "$W/broken.yaml"
t0=$(date +%s)
"$XENVM" -c "$W/broken.yaml" boot --image broken --name br --timeout 60 2> "$W/err"; RC=$?
el=$(($(date +%s) - t0))
check_rc "a guest that cannot boot fails with its console's reason" 1 "VM br \(image broken\): .*Kernel panic"; sed "s/^/     /" "$W/err"
[ $el -le 62 ] && t_ok "... within the timeout (${el} s)" || t_ko "boot failure time" "$el s"
t_same "... and leaves nothing" "" "$(ls "$W/state/job" | grep -v '^\.'; pgrep -f -- '-name xenvm-job[0-9]*-br,')"

# ---------------------------------------------------------------- memory checking
vg() { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$@"; }
vg "$XENVM" -c "$W/xenvm.yaml" status > /dev/null 2> "$W/vg"; RC=$?
t_same "valgrind: status clean" 0 "$RC"
vg "$XENVM" -c "$W/xenvm.yaml" boot --image ttylinux-mp > /dev/null 2> "$W/vg"; RC=$?
t_same "valgrind: unknown image clean" 4 "$RC"
vg "$XENVM" -c "$W/xenvm.yaml" boot --image ttylinux-mpi --mem 1Q > /dev/null 2> "$W/vg"; RC=$?
t_same "valgrind: bad --mem clean" 2 "$RC"
vg "$XENVM" -c "$W/xenvm.yaml" destroy nosuch > /dev/null 2> "$W/vg"; RC=$?
t_same "valgrind: unknown VM clean" 4 "$RC"
t_summary

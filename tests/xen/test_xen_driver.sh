#!/bin/bash
# test_xen_driver.sh - the xen driver (xen/xl_domain.h) for real: boots one Xen node
# (tests/xen/xen-node) with the project's binaries and the ttylinux-mpi image in dom0, and from
# dom0 creates, checks and stops PV and PVH domains through the driver (xenvm-xl-test), then
# feeds it bad input.  A missing prerequisite is a failure, never a skip.
# Last line: "xen: N passed, N failed"; exit status 0 only when nothing failed.

# t_ok and t_ko always succeed, so `CHECK && t_ok ... || t_ko ...` is an if-then-else here.
# shellcheck disable=SC2015
set -uo pipefail

T_SUITE=xen
JOB=9001
# shellcheck source=tests/xen/testlib.sh
. "$(dirname "$0")/testlib.sh"
x() { xn 1 "$@"; }

prereqs

# ---------------------------------------------------------------- the Xen node
WORK=$(mktemp -d /tmp/xvx-test.XXXXXX)
OV=$WORK/overlay
overlay "$OV"
mkdir -p "$OV/images/bad"
# Bad images: a ramdisk that is no initramfs at all, and a zstd stream cut short (half of it: a
# fixed 1 MiB was the whole 0.99 MB initrd of the image with the project's kernel, which booted).
yes 'not an initramfs' | head -c 65536 >"$OV/images/bad/garbage.img"
head -c $(($(stat -c %s "$IMG/initrd.zst") / 2)) "$IMG/initrd.zst" >"$OV/images/bad/truncated.zst"

t=$EPOCHREALTIME
STARTED=1
"$XN" up --overlay "$OV" --share "$IMG" || t_fatal "xen-node up"
echo "timing: Xen node boot (image build + boot to dom0 ready): $(secs "$t") s"
x xl info | grep -q 'xen_version *: 4.17' && t_ok "Xen 4.17 running, dom0 toolstack up" ||
	t_ko "xl info in dom0"

# ---------------------------------------------------------------- PV, with a vif on xenbr0
NAME=xenvm-job$JOB-n1
out=$(x xenvm-xl-test create --name "$NAME" --kernel $K --ramdisk $R "${DISK[@]}" --memory 256 \
	--cmdline "console=hvc0 xenvm.ip=10.84.0.101/24 xenvm.hostname=n1" \
	--bridge xenbr0 --mac 52:54:00:84:01:01 --vif-script /etc/xen/scripts/vif-xvx 2>&1)
if [[ "$out" =~ domid=([0-9]+)\ create_ms=([0-9]+)\ running_ms=([0-9]+) ]]; then
	domid=${BASH_REMATCH[1]}
	t_ok "PV domain $NAME created and running (domid $domid)"
	echo "timing: PV create-to-running through the driver: ${BASH_REMATCH[3]} ms" \
		"(domain build ${BASH_REMATCH[2]} ms)"
else
	domid=
	t_ko "PV create: $out"
fi
x xl list | grep -qE "^$NAME +[0-9]+ +256 +1 +[rb]" && t_ok "xl list shows $NAME running, 256 MiB" ||
	t_ko "xl list does not show $NAME running"
[ -n "$domid" ] && x ls /sys/class/net/xenbr0/brif | grep -qx "vif$domid.0" &&
	t_ok "vif$domid.0 joined xenbr0 (vif-xvx hotplug)" || t_ko "vif not on xenbr0"
t=$EPOCHREALTIME
wait_console 1 "$NAME" 'Hypervisor detected: Xen PV' 60 && t_ok "PV console: kernel says Xen PV" ||
	t_ko "PV console: no 'Hypervisor detected: Xen PV'"
wait_console 1 "$NAME" 'xenvm-init: .*starting agent on .*\(status: ok\)' 120 &&
	t_ok "PV console: ttylinux-mpi init reached the agent with status ok" || t_ko "PV guest init"
wait_console 1 "$NAME" 'xenvm-init: .*root disk /dev/xvda on /usr' 1 &&
	wait_console 1 "$NAME" 'xenvm-init: .*eth0 10.84.0.101/24 up' 1 &&
	t_ok "PV console: root disk xvda mounted on /usr, eth0 configured" || t_ko "PV guest disk/net"
x losetup -a | grep -q /share/rootdisk.sqfs && t_ok "block-xvx bound the root disk to a loop device" ||
	t_ko "no loop device for the root disk"
echo "timing: PV running to guest network up: $(secs "$t") s"
pinged=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	ip netns exec "${XVX_NETNS:-xvxen}" busybox ping -c1 -W2 10.84.0.101 >/dev/null 2>&1 && {
		pinged=1
		break
	}
	sleep 1
done
[ "$pinged" = 1 ] && t_ok "domU 10.84.0.101 answers ping from the node's L2 (xvxbr0)" ||
	t_ko "domU does not answer ping"
x xenvm-xl-test list "xenvm-job$JOB-" | grep -q " $NAME" && t_ok "list by job prefix finds $NAME" ||
	t_ko "list xenvm-job$JOB- misses $NAME"
[ -z "$(x xenvm-xl-test list "xenvm-job${JOB}0-")" ] && t_ok "list by another job's prefix is empty" ||
	t_ko "list xenvm-job${JOB}0- is not empty"
out=$(x xenvm-xl-test create --name "$NAME" --kernel $K --ramdisk $R 2>&1)
[[ "$out" == *"a domain of that name exists"* ]] && t_ok "duplicate name refused: $out" ||
	t_ko "duplicate name: $out"
out=$(x xenvm-xl-test stop "$NAME" --grace-ms 2000 2>&1) && t_ok "stop $NAME: $out" ||
	t_ko "stop $NAME: $out"
only_dom0 1 && t_ok "after stop, xl list shows only Domain-0" || t_ko "domains left after stop"
[ -z "$(x losetup -a)" ] && t_ok "the root disk's loop device was released" || t_ko "loop device left"

# ---------------------------------------------------------------- PVH
NAME=xenvm-job$JOB-n2
out=$(x xenvm-xl-test create --pvh --nested-tcg --name "$NAME" --kernel $K --ramdisk $R \
	"${DISK[@]}" --memory 256 --cmdline "console=hvc0 xenvm.hostname=n2" 2>&1)
if [[ "$out" =~ domid=([0-9]+)\ create_ms=([0-9]+)\ running_ms=([0-9]+) ]]; then
	t_ok "PVH domain $NAME created and running (domid ${BASH_REMATCH[1]})"
	echo "timing: PVH create-to-running through the driver: ${BASH_REMATCH[3]} ms"
else
	t_ko "PVH create: $out"
fi
wait_console 1 "$NAME" 'Booting kernel on Xen PVH' 60 && t_ok "PVH console: kernel says Xen PVH" ||
	t_ko "PVH console: no 'Booting kernel on Xen PVH'"
wait_console 1 "$NAME" 'xenvm-init: .*starting agent on .*\(status: ok\)' 120 &&
	t_ok "PVH console: ttylinux-mpi init reached the agent with status ok (root disk mounted)" ||
	t_ko "PVH guest init"
out=$(x xenvm-xl-test stop "$NAME" --grace-ms 2000 2>&1) && t_ok "stop $NAME: $out" ||
	t_ko "stop $NAME: $out"
only_dom0 1 && t_ok "after stop, xl list shows only Domain-0" || t_ko "domains left after PVH stop"

# ---------------------------------------------------------------- bad input
out=$(x xenvm-xl-test create --name "xenvm-job$JOB-bad1" --kernel /share/none --ramdisk $R 2>&1)
rc=$?
[ $rc = 1 ] && [[ "$out" == *"kernel /share/none: No such file or directory"* ]] &&
	t_ok "missing kernel: $out" || t_ko "missing kernel (rc $rc): $out"
out=$(x xenvm-xl-test create --name "xenvm-job$JOB-bad2" --kernel $K \
	--ramdisk /images/bad/garbage.img 2>&1)
rc=$?
[ $rc = 1 ] && [[ "$out" == *"not an initramfs"* ]] && t_ok "garbage initrd: $out" ||
	t_ko "garbage initrd (rc $rc): $out"
out=$(x xenvm-xl-test create --name "xenvm-job$JOB-bad4" --kernel $K --ramdisk $R \
	--disk /share/nodisk 2>&1)
rc=$?
[ $rc = 1 ] && [[ "$out" == *"disk /share/nodisk: No such file or directory"* ]] &&
	t_ok "missing disk: $out" || t_ko "missing disk (rc $rc): $out"
# A vif that cannot join its bridge: libxl fails the create and must leave nothing behind.
out=$(x xenvm-xl-test create --name "xenvm-job$JOB-bad5" --kernel $K --ramdisk $R --memory 128 \
	--bridge nosuchbr --vif-script /etc/xen/scripts/vif-xvx 2>&1)
rc=$?
[ $rc = 1 ] && [[ "$out" == *"vif-xvx"* ]] && t_ok "vif on a missing bridge: $out" ||
	t_ko "vif on a missing bridge (rc $rc): $out"
only_dom0 1 && t_ok "no domain left by refused input" || t_ko "domain left by refused input"
# A stream cut short passes every check dom0 can make cheaply: the guest kernel finds it, and
# the domain crashes; the driver reports the crash and stop removes it.
NAME=xenvm-job$JOB-bad3
out=$(x xenvm-xl-test create --name "$NAME" --kernel $K --ramdisk /images/bad/truncated.zst \
	--memory 128 2>&1) || true
crashed=0
for _ in $(seq 1 60); do
	x xenvm-xl-test list "$NAME" | grep -q crashed && {
		crashed=1
		break
	}
	sleep 1
done
[ "$crashed" = 1 ] && wait_console 1 "$NAME" 'Initramfs unpacking failed' 5 &&
	t_ok "truncated initrd: guest kernel reports 'Initramfs unpacking failed', domain crashed" ||
	t_ko "truncated initrd: no crash seen ($out)"
out=$(x xenvm-xl-test stop "$NAME" --grace-ms 1000 2>&1) && t_ok "stop crashed $NAME: $out" ||
	t_ko "stop crashed $NAME: $out"
only_dom0 1 && t_ok "after the bad inputs, xl list shows only Domain-0" || t_ko "domains left"

# ---------------------------------------------------------------- teardown leaves nothing
STARTED=0
"$XN" down || t_ko "xen-node down"
check_nothing_left

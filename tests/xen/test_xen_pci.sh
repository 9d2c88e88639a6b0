#!/bin/bash
# test_xen_pci.sh - PCI passthrough through the xen VM driver (xen/driver.c -> xen/xl_create.c,
# xen/xl_pci.c, xen/xl_stop.c) for real: one Xen node (tests/xen/xen-node --iommu --pci-dev
# e1000: q35 with QEMU's emulated VT-d, which Xen needs for any passthrough, and an emulated
# e1000 NIC standing in for the IB VF), dom0 with xen-pciback and e1000 loaded, and in it
# ttylinux-mpi booted as a PV domU by tests/xen/xvmctl with spec.pci_bdf set:
#   - Xen runs with I/O virtualisation (hvm_directio), the e1000 is bound to e1000 in dom0;
#   - boot: the device leaves e1000 for pciback, `xl pci-list` lists it, the PCI backend is
#     connected (the guest's pcifront), the guest sees 8086:100e, its agent reaches "ready";
#   - a second VM given the same device fails with a message naming it and leaves no domain;
#   - shutdown and kill_info (the crash recovery path) give it back to e1000 in dom0;
#   - a device that does not exist and a malformed address are refused, naming them;
#   - the figures: create and ready time with and without the device.
# A missing prerequisite is a failure, never a skip.
# Last line: "xen-pci: N passed, N failed"; exit status 0 only when nothing failed.

# t_ok and t_ko always succeed, so `CHECK && t_ok ... || t_ko ...` is an if-then-else here.
# shellcheck disable=SC2015
set -uo pipefail

T_SUITE=xen-pci
JOB=9301
# shellcheck source=tests/xen/testlib.sh
. "$(dirname "$0")/testlib.sh"
x() { xn 1 "$@"; }
IMG=${XVX_IMAGE:-$B/images/ttylinux-mpi}
[ -s "$IMG/initrd.zst" ] || IMG=$ROOT/build/images/ttylinux-mpi
XVMCTL=$B/tests/xen/xvmctl
EXEC=$B/exec/xenvm-exec
KVER=${XVX_KVER:-$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sed 's|.*/vmlinuz-||' | sort -V | tail -1)}
echo "host load at start: $(uptime)"

# ---------------------------------------------------------------- prerequisites
[ "$(id -u)" = 0 ] || t_fatal "must run as root"
for f in /boot/xen-4.17-amd64.gz /usr/lib/xen-4.17/bin/xl; do
	[ -e "$f" ] || t_fatal "missing $f (apt-get install xen-hypervisor-4.17-amd64 xen-utils-4.17)"
done
command -v qemu-system-x86_64 >/dev/null || t_fatal "missing qemu-system-x86_64"
for f in "$XVMCTL" "$EXEC"; do
	[ -x "$f" ] || t_fatal "missing $f (make check-xen-pci builds it)"
done
for f in vmlinuz initrd.zst rootdisk.sqfs; do
	[ -s "$IMG/$f" ] || t_fatal "ttylinux-mpi image incomplete: no $IMG/$f (make image)"
done
# dom0's side: pciback to hold the device, and a driver of its own for it to be given back to.
MODS=()
for m in xen-pciback e1000; do
	# Neither has dependencies (the insmod in dom0 below relies on that).
	mapfile -t f < <(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}')
	[ ${#f[@]} = 1 ] || t_fatal "kernel $KVER: no $m module, or it has dependencies (${f[*]})"
	MODS+=("${f[0]}")
done
"$XN" status | grep -q 'no Xen nodes up' || t_fatal "Xen nodes already up (xen-node down first)"
t_ok "prerequisites"

# ---------------------------------------------------------------- dom0's files
WORK=$(mktemp -d /tmp/xvx-pci.XXXXXX)
OV=$WORK/overlay
mkdir -p "$OV/usr/local/sbin" "$OV/etc/xen/scripts" "$OV/images" "$OV/mods-pci"
cp "$XVMCTL" "$EXEC" "$OV/usr/local/sbin/"
cp "$ROOT/tests/xen/vif-xvx" "$OV/etc/xen/scripts/vif-bridge"
cp "$ROOT/tests/xen/block-xvx" "$OV/etc/xen/scripts/block"
cp "$IMG/initrd.zst" "$OV/images/initrd.zst"
# In the overlay, not in mkdom0's base: only this suite's dom0 loads them.
cp "${MODS[@]}" "$OV/mods-pci/"

t=$EPOCHREALTIME
STARTED=1
"$XN" up --overlay "$OV" --share "$IMG" --iommu --pci-dev e1000 || t_fatal "xen-node up"
echo "timing: Xen node boot (q35 + intel-iommu; image build + boot to dom0 ready): $(secs "$t") s"

# shellcheck disable=SC2016 # expanded by sh in dom0
x sh -c 'for m in /mods-pci/*.ko; do [ "$m" = /mods-pci/e1000.ko ] || insmod "$m" || exit 1; done
	insmod /mods-pci/e1000.ko' || t_fatal "insmod xen-pciback, e1000 in dom0"
caps=$(x xl info | awk -F': ' '/^virt_caps/ {print $2}')
[[ " $caps " == *" hvm_directio "* ]] && t_ok "Xen: I/O virtualisation on (virt_caps: $caps)" ||
	t_ko "no hvm_directio in virt_caps ($caps): $(x sh -c 'xl dmesg | grep -iE "iommu|vt-d|I/O virt"' | tr '\n' '|')"
# shellcheck disable=SC2016
BDF=$(x sh -c 'for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor):$(cat $d/device)" = 0x8086:0x100e ] && basename $d; done' | head -1)
[ -n "$BDF" ] || t_fatal "no e1000 (8086:100e) in dom0's PCI devices"
drv() { x sh -c "basename \$(readlink /sys/bus/pci/devices/$BDF/driver) 2>/dev/null"; }
[ "$(drv)" = e1000 ] && t_ok "dom0: the e1000 is $BDF, bound to e1000" || t_fatal "$BDF driver: $(drv)"

K=/share/vmlinuz
INITRD=/images/initrd.zst
E=(env XENVM_XEN_NESTED_TCG=1 XVMCTL_ROOTDISK=/share/rootdisk.sqfs XVMCTL_TIMEOUT=120)
ST=/run/xvt
NAME=xenvm-job$JOB-vm0
x mkdir -p $ST/pv $ST/p2 $ST/k $ST/np $ST/bad
# given_back WHAT: the device is back on e1000 and no longer assignable, only Domain-0 is left.
given_back() {
	local d
	d=$(drv)
	if [ "$d" = e1000 ] && ! x xl pci-assignable-list | grep -q "$BDF" && only_dom0 1; then
		t_ok "$1: $BDF given back to e1000, only Domain-0 left"
	else
		t_ko "$1: $BDF on '$d', assignable: $(x xl pci-assignable-list | tr '\n' ' ')"
	fi
}

# ---------------------------------------------------------------- the device in a PV domU
out=$(x "${E[@]}" XVMCTL_PCI="$BDF" xvmctl boot $ST/pv $K $INITRD $JOB 0 0 2>&1)
if [[ "$out" =~ boot_ms=([0-9]+)\ ready_ms=([0-9]+) ]]; then
	t_ok "xvmctl boot with XVMCTL_PCI=$BDF: ready ($out)"
	pci_boot=${BASH_REMATCH[1]} pci_ready=${BASH_REMATCH[2]}
else
	t_ko "xvmctl boot with $BDF: $out"
	pci_boot='' pci_ready=''
fi
[ "$(drv)" = pciback ] && t_ok "dom0: $BDF moved to pciback" || t_ko "$BDF driver while in use: $(drv)"
x xl pci-list "$NAME" | grep -q " $BDF\$" && t_ok "xl pci-list $NAME: $BDF" ||
	t_ko "xl pci-list: $(x xl pci-list "$NAME" 2>&1 | tr '\n' '|')"
domid=$(x xl domid "$NAME")
st=$(x xenstore-read "/local/domain/0/backend/pci/$domid/0/state" 2>&1)
[ "$st" = 4 ] && t_ok "PCI backend of domain $domid connected (state 4: the guest's pcifront)" ||
	t_ko "PCI backend state: $st"
# shellcheck disable=SC2016
seen=$(x xenvm-exec --socket $ST/pv/agent.sock -- sh -c \
	'for d in /sys/bus/pci/devices/*; do echo "$(cat $d/vendor):$(cat $d/device)"; done' 2>&1)
[[ "$seen" == *0x8086:0x100e* ]] && t_ok "the guest sees the device (8086:100e) through pcifront" ||
	t_ko "guest's PCI devices: $seen"

out=$(x "${E[@]}" XVMCTL_MEM=128 XVMCTL_NAME=vm1 XVMCTL_PCI="$BDF" xvmctl boot $ST/p2 $K $INITRD $JOB 0 0 2>&1)
rc=$?
names=$(x xl list | awk 'NR > 1 {print $1}' | tr '\n' ' ')
[ $rc != 0 ] && [[ "$out" == *"PCI device $BDF is in use by another domain"* ]] &&
	[ "$names" = "Domain-0 $NAME " ] &&
	t_ok "a second VM given $BDF fails, naming it, and leaves no domain: $out" ||
	t_ko "second VM with $BDF (rc $rc, domains: $names): $out"
x xl pci-list "$NAME" | grep -q " $BDF\$" && t_ok "the first VM keeps $BDF" || t_ko "first VM lost $BDF"

out=$(x xvmctl shutdown $ST/pv 20 2>&1) && t_ok "shutdown ($out)" || t_ko "shutdown: $out"
given_back "after shutdown"

# kill_info: what the Epilog's crash recovery does with a job's VMs found by name.
out=$(x "${E[@]}" XVMCTL_PCI="$BDF" xvmctl boot $ST/k $K $INITRD $((JOB + 1)) 0 0 2>&1) ||
	t_ko "boot for the kill test: $out"
out=$(x xvmctl kill $((JOB + 1)) 2>&1) && t_ok "kill_info (crash recovery)" || t_ko "kill: $out"
given_back "after kill_info"

# ---------------------------------------------------------------- refused
out=$(x env XVMCTL_PCI=0000:00:1e.7 xvmctl boot $ST/bad $K $INITRD $JOB 0 0 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" == *"0000:00:1e.7"* ]] && only_dom0 1 &&
	t_ok "a device that does not exist is refused, naming it: $out" || t_ko "missing device (rc $rc): $out"
out=$(x env XVMCTL_PCI=00:04.0 xvmctl boot $ST/bad $K $INITRD $JOB 0 0 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" == *"'00:04.0': expected dddd:bb:dd.f"* ]] && only_dom0 1 &&
	t_ok "a malformed address is refused: $out" || t_ko "malformed address (rc $rc): $out"

# ---------------------------------------------------------------- figures
out=$(x "${E[@]}" xvmctl boot $ST/np $K $INITRD $((JOB + 2)) 0 0 2>&1)
if [[ "$out" =~ boot_ms=([0-9]+)\ ready_ms=([0-9]+) ]]; then
	t_ok "xvmctl boot without a device ($out)"
	echo "timing: boot (create..unpause) ${pci_boot:-?} ms with $BDF, ${BASH_REMATCH[1]} ms without;" \
		"ready ${pci_ready:-?} ms with, ${BASH_REMATCH[2]} ms without"
else
	t_ko "boot without a device: $out"
fi
x xvmctl destroy $ST/np >/dev/null 2>&1

"$XN" down || t_ko "xen-node down"
STARTED=0
check_nothing_left

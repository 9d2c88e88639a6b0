#!/bin/bash
# run.sh - the guest kernel suite (make check-guest-kernel):
#   1. the project's kernel config (guest/kernel) holds every option the guest needs
#      (required.txt), and check-config.sh fails, naming it, for each one taken away: a later
#      edit cannot drop virtio-9p or any other silently;
#   2. in a VM booted from the image (QEMU/TCG, qemu driver, whichever kernel the image has):
#      the kernel is the image's, the project's kernel loads no module at boot, the VF driver
#      (mlx5_core, mlx5_ib) and Soft-RoCE (rdma_rxe) load from the root disk (by their list,
#      and by modprobe), and a module the image lacks gives a clear error.
# Usage: tests/guestkernel/run.sh VMCTL XENVM_EXEC IMAGE_DIR KERNEL_DIR
#   KERNEL_DIR: guest/kernel/build.sh's result (its config)
# Job ids 8500x, no network.  Last line "guest-kernel: N passed, N failed"; exit 1 on any
# failure.  Never skips.
T_SUITE=guest-kernel
# shellcheck source=../lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
VMCTL=$(readlink -f "${1:?vmctl}")
EXEC=$(readlink -f "${2:?xenvm-exec}")
IMG=$(readlink -f "${3:?image dir}")
KDIR=$(readlink -f "${4:?kernel dir}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$ROOT/guest/kernel/check-config.sh
REQ=$ROOT/guest/kernel/required.txt
J=85001

[ "$(id -u)" = 0 ] || t_fatal "must run as root (VM exec as root)"
command -v qemu-system-x86_64 >/dev/null || t_fatal "prerequisite qemu-system-x86_64"
[ -r "$KDIR/config" ] || t_fatal "kernel config $KDIR/config (guest/kernel/build.sh)"
for f in vmlinuz initrd.zst rootdisk.sqfs; do
	[ -r "$IMG/$f" ] || t_fatal "image file $IMG/$f (make image)"
done
W=$(mktemp -d /tmp/xvk-test.XXXXXX)
cleanup() {
	rm -rf /tmp/xvk-test-last && mkdir -p /tmp/xvk-test-last
	[ -f "$W/st/console.log" ] && cp "$W/st/console.log" /tmp/xvk-test-last/
	if [ -d "$W/st" ]; then "$VMCTL" destroy "$W/st" 2>/dev/null; fi
	"$VMCTL" kill $J 2>/dev/null
	return 0 # cleanup: what is already gone is fine
	rm -rf "$W"
}
t_at_exit cleanup

# ---------------------------------------------------------------- 1. the config
if out=$(bash "$CHECK" "$KDIR/config" 2>&1); then
	t_ok "$KDIR/config holds all $(grep -c '^CONFIG_' "$REQ") options of required.txt"
else
	t_ko "config holds required.txt" "$out"
fi
# Each required option taken away (its line dropped, as an edit or a Kconfig dependency would)
# must fail the check by name.
missed=
for o in $(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=.*/\1/p' "$REQ"); do
	grep -v -E "^$o=" "$KDIR/config" >"$W/config"
	if out=$(bash "$CHECK" "$W/config" 2>&1); then
		missed="$missed $o"
	else
		[[ "$out" == *"check-config: $o: the guest needs"* ]] || missed="$missed $o(message:$out)"
	fi
done
t_same "each required option dropped fails the check, naming it" "" "$missed"
out=$(sed 's/^CONFIG_NET_9P_VIRTIO=y/# CONFIG_NET_9P_VIRTIO is not set/' "$KDIR/config" >"$W/config"; bash "$CHECK" "$W/config" 2>&1) &&
	t_ko "virtio-9p turned off fails the check" "passed" ||
	t_same "virtio-9p turned off: the message" \
		"check-config: CONFIG_NET_9P_VIRTIO: the guest needs y (required.txt:  home/work shares (qemu)), $W/config has: # CONFIG_NET_9P_VIRTIO is not set" \
		"$(head -1 <<<"$out")"

# ---------------------------------------------------------------- 2. in a VM
KVER=$(sed -n 's/^ *kernel: "\(.*\)"$/\1/p' "$IMG/../images.yaml" | head -1)
[ -n "$KVER" ] || t_fatal "kernel release in $IMG/../images.yaml"
export VMCTL_ROOTDISK=$IMG/rootdisk.sqfs
mkdir -p "$W/st"
t0=$(date +%s.%N)
"$VMCTL" boot "$W/st" "$IMG/vmlinuz" "$IMG/initrd.zst" $J 65534 65534 || t_fatal "boot"
if "$VMCTL" wait "$W/st" 120; then
	t_ok "boot to ready ($(echo "$(date +%s.%N) - $t0" | bc) s)"
else
	t_fatal "boot to ready" "$(tail -20 "$W/st/console.log")"
fi
R() { "$EXEC" --socket "$W/st/agent.sock" --root --cwd / -- "$@"; }
t_same "the guest runs the image's kernel" "$KVER" "$(R uname -r 2>&1)"
case "$KVER" in
*-xenvm)
	# Everything every guest needs is built in: the initramfs has no module to load or free.
	t_same "no module loaded at boot (all built in)" "" "$(R cat /proc/modules 2>&1)"
	t_same "the initramfs carries no module list" "0" "$(R sh -c 'wc -l </etc/modules.load' 2>&1)"
	;;
esac
t_same "no rdma_rxe or mlx5 loaded without xenvm.rxe / xenvm.ib" "" \
	"$(R sh -c 'ls /sys/module | grep -E "^(rdma_rxe|mlx5_core|mlx5_ib)$"' 2>&1)"

# The VF driver, as /init loads it for xenvm.ib=vf: its list from the root disk.
vf=$(R sh -c 'd=/usr/lib/modules/$(uname -r); while read -r m; do insmod $d/$m || echo "insmod $m failed"; done <$d/vf-modules.load' 2>&1)
t_same "vf-modules.load loads without error" "" "$(sed '/File exists/d' <<<"$vf")"
t_same "mlx5_core and mlx5_ib loaded (VF driver)" "mlx5_core mlx5_ib" \
	"$(R sh -c 'for m in mlx5_core mlx5_ib; do [ -d /sys/module/$m ] && printf "%s " $m; done' 2>&1 | sed 's/ $//')"
# Soft-RoCE by name through modprobe (modules.dep on the root disk, /lib/modules -> /usr/lib/modules),
# as the kernel's own request_module would.
out=$(R modprobe rdma_rxe 2>&1) && t_ok "modprobe rdma_rxe" || t_ko "modprobe rdma_rxe" "$out"
t_same "rdma_rxe and ib_uverbs loaded" "rdma_rxe ib_uverbs" \
	"$(R sh -c 'for m in rdma_rxe ib_uverbs; do [ -d /sys/module/$m ] && printf "%s " $m; done; true' 2>&1 | sed 's/ $//')"
out=$(R sh -c 'modprobe crc32_generic && grep -c "^driver *: crc32-generic" /proc/crypto' 2>&1)
t_same "crc32_generic (rxe's ICRC) loads and registers crc32" "1" "$out"
# A module the image does not have: a non-zero exit and a message naming it.
rc=0; out=$(R modprobe xfs 2>&1) || rc=$?
[ $rc != 0 ] && [[ "$out" == *xfs* ]] && [[ "$out" == *"not found"* ]] &&
	t_ok "a module not in the image: clear error ($out)" || t_ko "a module not in the image" "rc=$rc: $out"
rc=0; out=$(R insmod /tmp/nosuch.ko 2>&1) || rc=$?
[ $rc != 0 ] && [[ "$out" == *nosuch.ko* ]] &&
	t_ok "insmod of a missing file: clear error ($out)" || t_ko "insmod of a missing file" "rc=$rc: $out"
"$VMCTL" shutdown "$W/st" 20 && t_ok "shutdown" || t_ko "shutdown"
t_summary

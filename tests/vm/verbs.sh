#!/bin/bash
# verbs.sh - the guest's verbs readiness check (guest/ibcheck, /init): with xenvm.rxe=1 the guest
# brings up Soft-RoCE on eth0, libibverbs sees rxe0 with port 1 ACTIVE, and the agent's hello
# carries the report to the host (<state_dir>/guest.info); with xenvm.rxe=1 and no NIC to put
# rxe on, the VM is not ready and its status names the reason.  Two such VMs on one bridge: an
# RC ping-pong between them works the moment both are ready (their MACs, hence link-local GIDs,
# come from their addresses, with no DAD wait).  Also the check itself on this
# host, which has no RDMA at all (its kernel has no RDMA netlink, see shared notes).
# Usage: tests/vm/verbs.sh VMCTL XENVM_EXEC IMAGE_DIR AGENT IBCHECK   (root; QEMU/TCG)
# Uses bridge xvibr0 (10.84.0.0/24, no route out) and job ids 8400x; removes all it creates.
# Last line: "vm-verbs: N passed, N failed"; exit 1 on any failure.  Never skips.
set -u
VMCTL=$(readlink -f "${1:?vmctl}")
EXEC=$(readlink -f "${2:?xenvm-exec}")
IMG=$(readlink -f "${3:?image dir}")
export VMCTL_HOST_AGENT=$(readlink -f "${4:?xenvm-agent}")
IBCHECK=$(readlink -f "${5:?xenvm-ibcheck}")
BR=xvibr0
J=84001
T_SUITE=vm-verbs
# shellcheck source=../lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"

for t in qemu-system-x86_64 setpriv ip; do
	command -v $t >/dev/null || t_fatal "prerequisite $t"
done
[ "$(id -u)" = 0 ] || t_fatal "must run as root (bridge, taps)"
export VMCTL_ROOTDISK=$IMG/rootdisk.sqfs
for f in vmlinuz initrd.zst rootdisk.sqfs; do [ -r "$IMG/$f" ] || t_fatal "image file $IMG/$f (make image)"; done

W=$(mktemp -d /tmp/xvg-verbs.XXXXXX)
chmod 755 "$W"
cleanup() {
	rm -rf /tmp/xvg-verbs-last && mkdir -p /tmp/xvg-verbs-last
	for d in "$W"/st*; do [ -f "$d/console.log" ] && cp "$d/console.log" "/tmp/xvg-verbs-last/${d##*/}.console.log"; done
	for d in "$W"/st*; do [ -d "$d" ] && "$VMCTL" destroy "$d" 2>/dev/null; done
	for j in $J $((J + 1)) $((J + 2)); do "$VMCTL" kill $j 2>/dev/null; done
	ip link del $BR 2>/dev/null
	rm -rf "$W"
}
t_at_exit cleanup

# ------------------------------------------------ the check on this host: no RDMA, a clear "no"
out=$("$IBCHECK" --wait 0 2>&1); rc=$?
[ $rc = 1 ] && [ "${out#verbs: }" != "$out" ] && t_ok "host without RDMA: not ready, exit 1 ($out)" ||
	t_ko "host without RDMA" "rc=$rc: $out"
"$IBCHECK" --wait x >/dev/null 2>&1; t_same "bad --wait: usage error" 2 $?

ip link add $BR type bridge && ip addr add 10.84.0.1/24 dev $BR && ip link set $BR up ||
	t_fatal "create bridge $BR"

# ------------------------------------------------ rxe requested and brought up: ready, reported
# Two VMs at once (st3 is the peer of the RC ping-pong below, as another node's VM would be).
ST=$W/st1 ST3=$W/st3
mkdir -p "$ST" "$ST3"
VMCTL_CMDLINE=xenvm.rxe=1 "$VMCTL" boot "$ST" "$IMG/vmlinuz" "$IMG/initrd.zst" $J 65534 65534 $BR 10.84.0.10/24 ||
	t_fatal "boot with xenvm.rxe=1"
VMCTL_CMDLINE=xenvm.rxe=1 "$VMCTL" boot "$ST3" "$IMG/vmlinuz" "$IMG/initrd.zst" $((J + 2)) 65534 65534 $BR 10.84.0.11/24 ||
	t_fatal "boot a second VM with xenvm.rxe=1"
if "$VMCTL" wait "$ST" 120; then t_ok "xenvm.rxe=1: ready"; else t_ko "xenvm.rxe=1: ready" "$(tail -5 "$ST/console.log")"; t_summary; fi
if "$VMCTL" wait "$ST3" 120; then t_ok "second VM: ready"; else t_ko "second VM: ready" "$(tail -5 "$ST3/console.log")"; t_summary; fi
t_same "status file says ready" "ready" "$(cat "$ST/status")"
info=$(cat "$ST/guest.info" 2>/dev/null)
case "$info" in
"ib=rxe0 port=1 state=ACTIVE link=Ethernet node_guid="*" gid_index="[0-9]*" gid=fe80::"*" ipv4_gid=::ffff:10.84.0.10")
	t_ok "guest.info: $info" ;;
*) t_ko "guest.info reports rxe0, port 1 ACTIVE, the link-local and the IPv4 RoCE v2 GIDs" "[$info]" ;;
esac
grep -q "xenvm-init: .*verbs ready: ib=rxe0" "$ST/console.log" && t_ok "console: verbs ready line" ||
	t_ko "console: verbs ready line" "$(grep xenvm-init "$ST/console.log" | tail -3)"
U() { setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$ST/agent.sock" --cwd /tmp "$@"; }
# the job's user sees the same: ibv_devinfo (libibverbs) and the check itself
got=$(U -- ibv_devinfo -d rxe0 2>&1 | sed -n 's/^[[:space:]]*state:[[:space:]]*\([A-Z_]*\).*/\1/p')
t_same "ibv_devinfo in the guest as the job user: PORT_ACTIVE" "PORT_ACTIVE" "$got"
t_same "ibv_rc_pingpong is in the image" "/usr/bin/ibv_rc_pingpong" "$(U -- sh -c 'command -v ibv_rc_pingpong')"
gi=${info#*gid_index=} gi=${gi%% *}
t_same "/etc/ucx/ucx.conf: the reported GID index for UCX" "UCX_IB_GID_INDEX=$gi" "$(U -- grep -v '^#' /etc/ucx/ucx.conf)"

# "Ready" must mean an RC connection can be made at once.  RoCE v2's move to RTR routes from the
# GID's IPv6 address, which DAD kept tentative for 1-2 s after ready (RTR then failed: seen in
# CI).  The MAC, hence that address, comes from the unique IPv4 address (vm/mac.c).
U3() { setpriv --reuid 65534 --regid 65534 --clear-groups "$EXEC" --socket "$ST3/agent.sock" --cwd /tmp "$@"; }
# The VF path's pieces are in the image but cost a VM without a VF nothing.
t_same "no VF driver loaded without xenvm.ib=vf" "0" "$(U -- sh -c 'ls /sys/module | grep -c "^mlx5"')"
t_same "the VF's verbs provider (mlx5) is in the image" "driver mlx5 /usr/lib/x86_64-linux-gnu/libibverbs/libmlx5-rdmav34.so" \
	"$(U -- sh -c 'echo $(cat /etc/libibverbs.d/mlx5.driver) $(ls /usr/lib/x86_64-linux-gnu/libibverbs/libmlx5-rdmav34.so)')"
# The initramfs's module files are freed after loading; /lib/modules then points to the root
# disk's (Soft-RoCE, the VF driver: loaded from there on demand).
t_same "initramfs modules freed after loading" "/usr/lib/modules" "$(U -- readlink /lib/modules)"
t_same "the NIC's MAC comes from the guest address 10.84.0.10" "52:54:00:54:00:0a" "$(U -- cat /sys/class/net/eth0/address)"
t_same "the second VM's from 10.84.0.11" "52:54:00:54:00:0b" "$(U3 -- cat /sys/class/net/eth0/address)"
a6=$(U -- ip -6 addr show dev eth0 2>&1)
case "$a6" in
*"inet6 fe80::5054:ff:fe54:a/64 scope link"*tentative*) t_ko "eth0's link-local address is usable at ready" "$a6" ;;
*"inet6 fe80::5054:ff:fe54:a/64 scope link"*) t_ok "eth0's link-local address is usable at ready (no DAD wait)" ;;
*) t_ko "eth0's link-local address is usable at ready" "$a6" ;;
esac
U -- ibv_rc_pingpong -d rxe0 -g "$gi" -n 200 >"$W/srv.out" 2>&1 &
srv=$!
for i in $(seq 100); do   # until the server listens (TCP); its one attempt at RTR must work
	U3 -- ibv_rc_pingpong -d rxe0 -g "$gi" -n 200 10.84.0.10 >"$W/cli.out" 2>&1 && break
	sleep 0.1
done
wait $srv; rc=$?
[ $rc = 0 ] && grep -q "^200 iters in" "$W/srv.out" && grep -q "^200 iters in" "$W/cli.out" &&
	t_ok "ibv_rc_pingpong right after ready: $(grep usec/iter "$W/srv.out")" ||
	t_ko "ibv_rc_pingpong right after ready" "server rc=$rc: $(tr '\n' ' ' <"$W/srv.out"); client: $(tr '\n' ' ' <"$W/cli.out")"
"$VMCTL" destroy "$ST"
"$VMCTL" destroy "$ST3"

# ------------------------------------------------ rxe requested but cannot be brought up: not ready
# No bridge, so no eth0 for rxe0: `rdma link add` fails, and the libibverbs check says why
# (the status file holds the agent's status text as the guest sent it).
# boot_not_ready DIR JOBID CMDLINE WHAT PATTERN: boot a VM (no NIC) with the kernel command line
# CMDLINE; it must not get ready, and its status must match the glob PATTERN.  The driver's
# error is left in $out.
boot_not_ready() {
	local rc st
	mkdir -p "$1"
	VMCTL_CMDLINE=$3 "$VMCTL" boot "$1" "$IMG/vmlinuz" "$IMG/initrd.zst" "$2" 0 0 || t_fatal "boot: $4"
	out=$("$VMCTL" wait "$1" 120 2>&1); rc=$?
	[ $rc != 0 ] && t_ok "$4: not ready (rc=$rc)" || t_ko "$4: not ready" "rc=0"
	st=$(cat "$1/status")
	# shellcheck disable=SC2254 # $5 is a pattern
	case "$st" in
	$5) t_ok "status names the reason: ${st:0:160}" ;;
	*) t_ko "status names the reason" "[$st]" ;;
	esac
}
ST=$W/st2
boot_not_ready "$ST" $((J + 1)) xenvm.rxe=1 "xenvm.rxe=1 without a NIC" \
	"verbs: no RDMA device rxe0 (libibverbs lists 0) after * s (Soft-RoCE was requested: xenvm.rxe=1)*"
echo "$out" | grep -q "Soft-RoCE was requested" && t_ok "the driver's error carries it too" || t_ko "the driver's error carries it too" "$out"
[ -e "$ST/guest.info" ] && t_ko "no guest.info when not ready" || t_ok "no guest.info when not ready"
grep -q "rdma link add rxe0 type rxe netdev eth0 failed" "$ST/console.log" && t_ok "console: the rdma failure is logged" ||
	t_ko "console: the rdma failure is logged" "$(grep xenvm-init "$ST/console.log" | tail -4)"
"$VMCTL" destroy "$ST"

# ------------------------------------------------ a VF announced (xenvm.ib=vf) but none present
# What a VM sees when the host's passthrough did not give it a device: the VF driver (mlx5_ib,
# from the root disk) loads, libibverbs lists no device, the VM is not ready and says why.
# (A real VF cannot exist on these machines: no HCA; xenib's fixture tests cover the host side.)
ST=$W/st4
boot_not_ready "$ST" $((J + 3)) xenvm.ib=vf "xenvm.ib=vf without a VF" \
	"verbs: no RDMA device (libibverbs lists none) after * s (an IB VF was passed through: xenvm.ib=vf)*"
grep -q "xenvm-init: .*VF driver loaded (mlx5_ib)" "$ST/console.log" && t_ok "console: the VF driver was loaded from the root disk" ||
	t_ko "console: the VF driver was loaded from the root disk" "$(grep xenvm-init "$ST/console.log" | tail -4)"
"$VMCTL" destroy "$ST"
t_summary

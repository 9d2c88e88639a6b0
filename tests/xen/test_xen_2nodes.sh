#!/bin/bash
# test_xen_2nodes.sh - two Xen nodes on one L2: a PV domU on each, created through the xen
# driver in each dom0, ping each other across the nodes (domU vif -> xenbr0 -> dom0 NIC -> tap
# -> xvxbr0 -> the other node).  Last line: "xen-2nodes: N passed, N failed".

# t_ok and t_ko always succeed, so `CHECK && t_ok ... || t_ko ...` is an if-then-else here.
# shellcheck disable=SC2015
set -uo pipefail
T_SUITE=xen-2nodes
JOB=9002
# shellcheck source=tests/xen/testlib.sh
. "$(dirname "$0")/testlib.sh"

prereqs
WORK=$(mktemp -d /tmp/xvx-test.XXXXXX)
overlay "$WORK/overlay"
t=$EPOCHREALTIME
STARTED=1
"$XN" up -n 2 --overlay "$WORK/overlay" --share "$IMG" || t_fatal "xen-node up -n 2"
echo "timing: 2 Xen nodes boot: $(secs "$t") s"

# Both domUs are created at once, one per node (each node is its own QEMU).
t=$EPOCHREALTIME
for n in 1 2; do
	xn "$n" xenvm-xl-test create --name "xenvm-job$JOB-n$n" \
		--kernel $K --ramdisk $R "${DISK[@]}" --memory 256 --bridge xenbr0 --mac "52:54:00:84:02:0$n" \
		--vif-script /etc/xen/scripts/vif-xvx \
		--cmdline "console=hvc0 xenvm.ip=10.84.0.20$n/24 xenvm.hostname=n$n" \
		>"$WORK/create$n" 2>&1 &
done
wait
for n in 1 2; do
	grep -q '^domid=' "$WORK/create$n" && t_ok "node $n: $(cat "$WORK/create$n")" ||
		t_ko "node $n create: $(cat "$WORK/create$n")"
done
for n in 1 2; do
	wait_console "$n" "xenvm-job$JOB-n$n" 'xenvm-init: .*starting agent on .*\(status: ok\)' 180 &&
		wait_console "$n" "xenvm-job$JOB-n$n" 'xenvm-init: .*eth0 10.84.0.20[12]/24 up' 1 &&
		t_ok "node $n: domU booted (root disk, eth0 up, status ok)" ||
		t_ko "node $n: domU init did not complete"
done
echo "timing: both domUs created and networked: $(secs "$t") s"

# From each dom0 to the domU on the other node: vif -> xenbr0 -> NIC -> tap -> xvxbr0 and back
# through the other node.  (domU to domU needs a way to run ping in a domU: the guest agent.)
for n in 1 2; do
	ip=10.84.0.20$((3 - n))
	# shellcheck disable=SC2016 # expanded by sh in dom0
	xn "$n" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do
		ping -c1 -W2 "$0" >/dev/null && exit 0; sleep 1; done; exit 1' "$ip" &&
		t_ok "dom0 of node $n reaches the domU $ip on the other node" ||
		t_ko "dom0 of node $n cannot reach $ip"
done
ip netns exec "${XVX_NETNS:-xvxen}" busybox ping -c1 -W2 10.84.0.201 >/dev/null &&
	ip netns exec "${XVX_NETNS:-xvxen}" busybox ping -c1 -W2 10.84.0.202 >/dev/null &&
	t_ok "both domUs answer on the shared L2 (xvxbr0)" || t_ko "domUs not reachable from xvxbr0"

for n in 1 2; do
	xn "$n" xenvm-xl-test stop "xenvm-job$JOB-n$n" --grace-ms 1000 >/dev/null &&
		only_dom0 "$n" && t_ok "node $n: stopped, only Domain-0 left" ||
		t_ko "node $n: stop"
done
STARTED=0
"$XN" down || t_ko "xen-node down"
check_nothing_left

#!/bin/bash
# netpin.sh - node/netpin.c for real on a bridge, with network namespaces as the VMs: what a
# guest with root can try on the node's L2 (another MAC, another address, ARP for it, the
# node's own services, another job's VMs) is dropped; the job's own VMs still talk (IPv4 and
# the IPv6 link-local addresses RoCE v2 uses); a listed service is reachable; removal is
# idempotent and gives the node back.  Prints "netpin: N passed, N failed".
#
# Usage: tests/node/netpin.sh NETPINCTL     (root; needs nft, ip, busybox)
T_SUITE=netpin
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
CTL=$(realpath "$1")
P=xvnp
HOST=${P}-node
OUI=52:54:00

t_need nft ip busybox "$CTL"

cleanup() {
	local n
	# Deleting a namespace leaves its processes running: the node's services go first.
	for n in "$HOST" "$P-a" "$P-b" "$P-c"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
# (testlib's EXIT trap prints the summary and sets the exit status: do not replace it)
t_at_exit cleanup

in_host() { ip netns exec "$HOST" "$@"; }
in_vm() { local v=$1; shift; ip netns exec "$P-$v" "$@"; }

# A "VM" v: namespace P-v with eth0 (MAC from its address, as vm/mac.c) on the node's bridge
# through tap t-v.  $2: address.
add_vm() {
	local v=$1 ip=$2 mac
	mac=$(printf '%s:%02x:%02x:%02x' $OUI $(echo "$ip" | awk -F. '{print $2, $3, $4}'))
	ip netns add "$P-$v"
	ip link add "t-$v" netns "$HOST" type veth peer name eth0 netns "$P-$v"
	in_host ip link set "t-$v" master br0 up
	in_vm "$v" ip link set eth0 address "$mac"
	in_vm "$v" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
	in_vm "$v" ip link set lo up
	in_vm "$v" ip link set eth0 up
	in_vm "$v" ip addr add "$ip/16" dev eth0
}

ll_of() { # the EUI-64 link-local address of VM $1's eth0
	in_vm "$1" ip -6 -o addr show dev eth0 scope link | awk '{print $4}' | cut -d/ -f1
}

reach() { # VM, host:port: a TCP connect within 3 s; a dropped SYN fails with 1, not timeout's
	# 124, which testlib reads as the whole command having timed out
	in_vm "$1" timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${2%:*}" "${2#*:}" 2>/dev/null ||
		return 1
}

setup() {
	cleanup
	ip netns add "$HOST"
	in_host ip link set lo up
	in_host ip link add br0 type bridge
	in_host ip link set br0 up
	in_host ip addr add 10.77.0.1/16 dev br0
	add_vm a 10.77.1.2 # job 5 on this node
	add_vm b 10.77.2.2 # job 5's VM "on another node"
	add_vm c 10.77.3.2 # job 6
	# The node's own services (slurmd's port, another) answer every connection.
	for port in 6818 8000; do
		# No inherited descriptors: a caller's lock (flock) must not outlive the suite.
		in_host sh -c "busybox nc -ll -p $port -e /bin/true </dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- &"
	done
	sleep 0.5
}

t_begin "setup: a bridge, three namespaces as VMs of two jobs, services on the node"
setup
t_run_ok in_vm a busybox ping -c1 -W2 10.77.3.2
t_run_ok reach a 10.77.0.1:6818
t_run_ok in_vm c busybox ping -c1 -W2 10.77.1.2

t_begin "pinning rejects what is not an interface, a MAC prefix or a job with VMs"
t_run_fails "$CTL" script 5 'bad tap!' $OUI 10.77.1.2 10.77.1.2
t_match "tap name 'bad tap!' is not an interface name" "$T_ERR"
t_run_fails "$CTL" script 5 t-a 52:54 10.77.1.2 10.77.1.2
t_match "'52:54' is not a MAC prefix" "$T_ERR"

t_begin "pin job 5's two VMs and job 6's"
t_run_ok in_host "$CTL" apply 5 t-a $OUI 10.77.1.2 10.77.1.2,10.77.2.2 10.77.0.1/32:tcp:8000
t_run_ok in_host "$CTL" apply 5 t-b $OUI 10.77.2.2 10.77.1.2,10.77.2.2
t_run_ok in_host "$CTL" apply 6 t-c $OUI 10.77.3.2 10.77.3.2
t_run_ok in_host nft list tables bridge
t_match "^table bridge xenvm_job5$" "$T_OUT"
t_match "^table bridge xenvm_job6$" "$T_OUT"
# Pinning a tap again replaces its rules (a Prolog that runs twice).
t_run_ok in_host "$CTL" apply 5 t-a $OUI 10.77.1.2 10.77.1.2,10.77.2.2 10.77.0.1/32:tcp:8000
t_run_ok in_host sh -c "nft list chain bridge xenvm_job5 \$(nft list table bridge xenvm_job5 | sed -n 's/^\tchain \(from_t_a_[0-9a-f]*\) {/\1/p') | grep -c drop"
t_eq 6 "$T_OUT" "drop rules in t-a's chain after pinning it twice"

t_begin "the job's own VMs reach each other over IPv4 and IPv6 link-local"
t_run_ok in_vm a busybox ping -c1 -W2 10.77.2.2
t_run_ok in_vm b busybox ping -c1 -W2 10.77.1.2
t_run_ok in_vm a busybox ping -6 -c1 -W2 "$(ll_of b)%eth0"

t_begin "another job's VM is unreachable both ways, IPv4 and IPv6"
t_run_fails in_vm a busybox ping -c1 -W2 10.77.3.2
t_run_fails in_vm c busybox ping -c1 -W2 10.77.1.2
t_run_fails in_vm c busybox ping -6 -c1 -W2 "$(ll_of a)%eth0"

t_begin "the node's services are unreachable from a pinned VM, a listed one is reachable"
t_run_fails reach a 10.77.0.1:6818
t_run_fails reach c 10.77.0.1:6818
t_run_ok reach a 10.77.0.1:8000
t_run_fails reach b 10.77.0.1:8000

t_begin "a guest root's spoofing: another source address, another MAC, ARP for a peer's address"
in_vm a ip addr add 10.77.2.99/16 dev eth0
t_run_fails in_vm a busybox ping -c1 -W2 -I 10.77.2.99 10.77.2.2
in_vm a ip addr del 10.77.2.99/16 dev eth0
# Taking the peer's address outright: b must not learn a's MAC for it, nor get its pings.
in_vm a ip addr add 10.77.3.2/16 dev eth0
t_run_fails in_vm a busybox ping -c1 -W2 -I 10.77.3.2 10.77.2.2
in_vm a ip addr del 10.77.3.2/16 dev eth0
in_vm a ip link set eth0 address 52:54:00:4d:09:09
in_vm b ip neigh flush dev eth0
t_run_fails in_vm a busybox ping -c1 -W2 10.77.2.2
in_vm a ip link set eth0 address 52:54:00:4d:01:02
in_vm a ip neigh flush dev eth0
in_vm b ip neigh flush dev eth0
t_run_ok in_vm a busybox ping -c1 -W2 10.77.2.2

t_begin "removing job 5's pin gives the node back; removing again is fine"
t_run_ok in_host "$CTL" remove 5
t_run_ok in_host "$CTL" remove 5
t_run_ok in_host nft list tables bridge
t_nomatch "xenvm_job5" "$T_OUT"
t_match "xenvm_job6" "$T_OUT"
t_run_ok reach a 10.77.0.1:6818
t_run_ok in_host "$CTL" remove 6
t_run_ok in_vm a busybox ping -c1 -W2 10.77.3.2

t_summary

# shellcheck shell=bash
# testlib.sh - what the Xen suites share on top of tests/lib/testlib.sh: running commands in a
# node's dom0, waiting on a domU's console, the prerequisites, and stopping the nodes the suite
# started when it ends.  Source it after setting T_SUITE (the summary's name).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/testlib.sh
. "$ROOT/tests/lib/testlib.sh"
B=${B:-$ROOT/build}
XN=$ROOT/tests/xen/xen-node
IMG=$B/images/ttylinux-mpi
XL_TEST=$B/xen/xenvm-xl-test
XEN_T0=$EPOCHREALTIME
STARTED=0
WORK=

secs() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN {printf "%.1f", b - a}'; }

# At the end of the suite, before its summary: stop the nodes if this suite started them.
xen_finish() {
	if [ "$STARTED" = 1 ]; then
		"$XN" down || t_ko "xen-node down"
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	echo "suite wall time: $(secs "$XEN_T0") s"
}
t_at_exit xen_finish

# xn NODE CMD...: run CMD in NODE's dom0.
xn() {
	local node=$1
	shift
	"$XN" exec -t 300 "$node" -- "$@"
}

# wait_console NODE NAME REGEX SECONDS: wait until domain NAME's console log matches REGEX.
wait_console() {
	# shellcheck disable=SC2016 # expanded by sh in dom0
	xn "$1" sh -c 'i=0; while [ $i -lt $(($3 * 5)) ]; do
		grep -aqE "$2" "/var/log/xen/console/guest-$1.log" 2>/dev/null && exit 0
		sleep 0.2; i=$((i + 1)); done; exit 1' _ "$2" "$3" "$4"
}

# only_dom0 NODE: true when xl list in NODE's dom0 shows Domain-0 and nothing else.
only_dom0() {
	local names
	names=$(xn "$1" xl list | awk 'NR > 1 {print $1}' | tr '\n' ' ')
	[ "$names" = "Domain-0 " ] || {
		echo "  xl list: $names"
		return 1
	}
}

# prereqs: root, Xen, QEMU, the driver CLI and the image (built when missing).
prereqs() {
	local f
	[ "$(id -u)" = 0 ] || t_fatal "must run as root"
	for f in /boot/xen-4.17-amd64.gz /usr/lib/xen-4.17/bin/xl; do
		[ -e "$f" ] || t_fatal "missing $f (apt-get install xen-hypervisor-4.17-amd64 xen-utils-4.17)"
	done
	command -v qemu-system-x86_64 >/dev/null || t_fatal "missing qemu-system-x86_64"
	make -C "$ROOT" --no-print-directory "$XL_TEST" >/dev/null || t_fatal "cannot build $XL_TEST"
	for f in vmlinuz initrd.zst rootdisk.sqfs; do
		if [ ! -s "$IMG/$f" ]; then
			make -C "$ROOT" --no-print-directory image >/dev/null || t_fatal "make image failed"
			break
		fi
	done
	for f in vmlinuz initrd.zst rootdisk.sqfs; do
		[ -s "$IMG/$f" ] || t_fatal "ttylinux-mpi image incomplete: no $IMG/$f"
	done
	"$XN" status | grep -q 'no Xen nodes up' || t_fatal "Xen nodes already up (xen-node down first)"
	t_ok "prerequisites"
}

# overlay DIR: stage the driver CLI for dom0 under DIR.  The image itself reaches dom0 through
# `xen-node up --share "$IMG"` (read-only virtio-9p at /share): in the initramfs its 80 MB
# (vmlinux included) would cost ~6 s of node boot; over 9p dom0 reads it in ~1 s.
overlay() {
	mkdir -p "$1/usr/local/sbin"
	cp "$XL_TEST" "$1/usr/local/sbin/"
}

# The image in dom0, and the options that give a domU its root disk.
# shellcheck disable=SC2034 # used by the suites that source this file
K=/share/vmlinuz
# shellcheck disable=SC2034
R=/share/initrd.zst
# shellcheck disable=SC2034
DISK=(--disk /share/rootdisk.sqfs --disk-script /etc/xen/scripts/block-xvx)

# check_nothing_left: after `xen-node down`, no QEMU, namespace or state may remain.
check_nothing_left() {
	local left=""
	ip netns list | grep -qw "^${XVX_NETNS:-xvxen}" && left+=" netns"
	[ -e "${XVX_STATE:-/run/xvxen}" ] && left+=" state-dir"
	pgrep -f 'qemu-system-x86_64.*xvxspool' >/dev/null && left+=" qemu"
	if [ -z "$left" ]; then
		t_ok "xen-node down left no QEMU, namespace or state"
	else
		t_ko "left behind:$left"
	fi
}

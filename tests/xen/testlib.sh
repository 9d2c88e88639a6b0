# shellcheck shell=bash
# testlib.sh - what the Xen suites share: counters, the summary line, running commands in a
# node's dom0, waiting on a domU's console.  Source it after setting SUITE (the summary's name).
# ok() and bad() always succeed, so `CHECK && ok ... || bad ...` is an if-then-else in the suites.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-$ROOT/build}
XN=$ROOT/tests/xen/xen-node
IMG=$B/images/ttylinux-mpi
XL_TEST=$B/xen/xenvm-xl-test
PASS=0
FAIL=0
T_SUITE=$EPOCHREALTIME
STARTED=0
WORK=

ok() {
	echo "ok: $*"
	PASS=$((PASS + 1))
}
bad() {
	echo "FAIL: $*"
	FAIL=$((FAIL + 1))
}
secs() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN {printf "%.1f", b - a}'; }

# finish: stop the nodes if this suite started them, print the summary; status 0 if all passed.
finish() {
	if [ "$STARTED" = 1 ]; then
		"$XN" down || bad "xen-node down"
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	echo "suite wall time: $(secs "$T_SUITE") s"
	echo "$SUITE: $PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}
trap 'finish; exit $?' EXIT

# fatal MSG: a prerequisite or a node is missing; nothing else can be tested.
fatal() {
	bad "$*"
	exit 1
}

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
	[ "$(id -u)" = 0 ] || fatal "must run as root"
	for f in /boot/xen-4.17-amd64.gz /usr/lib/xen-4.17/bin/xl; do
		[ -e "$f" ] || fatal "missing $f (apt-get install xen-hypervisor-4.17-amd64 xen-utils-4.17)"
	done
	command -v qemu-system-x86_64 >/dev/null || fatal "missing qemu-system-x86_64"
	make -C "$ROOT" --no-print-directory "$XL_TEST" >/dev/null || fatal "cannot build $XL_TEST"
	for f in vmlinuz initrd.zst rootdisk.sqfs; do
		if [ ! -s "$IMG/$f" ]; then
			make -C "$ROOT" --no-print-directory image >/dev/null || fatal "make image failed"
			break
		fi
	done
	for f in vmlinuz initrd.zst rootdisk.sqfs; do
		[ -s "$IMG/$f" ] || fatal "ttylinux-mpi image incomplete: no $IMG/$f"
	done
	"$XN" status | grep -q 'no Xen nodes up' || fatal "Xen nodes already up (xen-node down first)"
	ok "prerequisites"
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
		ok "xen-node down left no QEMU, namespace or state"
	else
		bad "left behind:$left"
	fi
}

#!/bin/bash
# xen-boot.sh - DomU create-to-running, boot-to-init and stop times on a Xen node (nested under
# QEMU/TCG, so absolute figures are not real hardware's): through the xen driver
# (xenvm-xl-test) vs `xl create` of the same kernel+initrd, with the image's bzImage and with
# its uncompressed vmlinux (what a driver-side kernel cache would hand libxenlight).
# Prints a table; never fails on timing.  BENCH_REPS=N repeats each case (default 1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
XN=$ROOT/tests/xen/xen-node
IMG=$B/images/ttylinux-mpi
REPS=${BENCH_REPS:-1}
WORK=$(mktemp -d /tmp/xvx-bench.XXXXXX)
STARTED=0
cleanup() {
	[ "$STARTED" = 1 ] && "$XN" down
	rm -rf "$WORK"
}
trap cleanup EXIT

make -C "$ROOT" --no-print-directory "$B/xen/xenvm-xl-test" >/dev/null
if [ ! -s "$IMG/vmlinuz" ] || [ ! -s "$IMG/initrd.zst" ]; then
	make -C "$ROOT" --no-print-directory image
fi
OV=$WORK/overlay
mkdir -p "$OV/usr/local/sbin" "$WORK/share"
cp "$B/xen/xenvm-xl-test" "$OV/usr/local/sbin/"
# The kernel forms under names the driver does not pair up (no "vmlinuz.vmlinux"), so each case
# boots the form it names.  dom0 reads them over the node's read-only 9p share (/share).
cp "$IMG/vmlinuz" "$IMG/initrd.zst" "$WORK/share/"
if [ -s "$IMG/vmlinuz.vmlinux" ]; then
	cp "$IMG/vmlinuz.vmlinux" "$WORK/share/vmlinux"
else
	off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$IMG/vmlinuz" | head -n1 | cut -d: -f1)
	tail -c +"$((off + 1))" "$IMG/vmlinuz" | xz -dc >"$WORK/share/vmlinux" 2>/dev/null || true
fi

# The measuring side runs in dom0, timed by dom0's own clock (no exec round trip in the figures).
cat >"$OV/usr/local/sbin/xvx-bench" <<'EOS'
#!/bin/sh
# xvx-bench METHOD KERNEL NAME: one create -> running -> "init started" -> stop cycle.
# Prints: create_to_running_ms create_to_init_ms stop_ms
M=$1 K=$2 N=$3
R=/share/initrd.zst
ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
LOG=/var/log/xen/console/guest-$N.log
rm -f "$LOG"
t0=$(ms)
if [ "$M" = driver ]; then
	xenvm-xl-test create --name "$N" --kernel "$K" --ramdisk $R --memory 256 \
		--cmdline console=hvc0 >/dev/null || exit 1
else
	printf 'name="%s"\ntype="pv"\nkernel="%s"\nramdisk="%s"\nextra="console=hvc0"\nmemory=256\nvcpus=1\n' \
		"$N" "$K" "$R" >/tmp/$N.cfg
	xl create -q -e /tmp/$N.cfg >/dev/null 2>&1 || exit 1
fi
t1=$(ms)
while ! grep -aq 'xenvm-init: .*init started' "$LOG" 2>/dev/null; do sleep 0.1; done
t2=$(ms)
if [ "$M" = driver ]; then
	xenvm-xl-test stop "$N" --grace-ms 0 >/dev/null
else
	xl destroy "$N"
	while xl domid "$N" >/dev/null 2>&1; do sleep 0.02; done
fi
t3=$(ms)
echo "$((t1 - t0)) $((t2 - t0)) $((t3 - t2))"
EOS
chmod +x "$OV/usr/local/sbin/xvx-bench"

STARTED=1
"$XN" up --overlay "$OV" --share "$WORK/share" | tail -1
printf '%-8s %-8s %20s %18s %10s\n' method kernel create-to-running-ms create-to-init-ms stop-ms
i=0
for k in vmlinuz vmlinux; do
	for m in driver xl; do
		for _ in $(seq 1 "$REPS"); do
			i=$((i + 1))
			read -r a b c < <("$XN" exec -t 600 1 -- xvx-bench "$m" "/share/$k" "bench$i")
			printf '%-8s %-8s %20s %18s %10s\n' "$m" "$k" "$a" "$b" "$c"
		done
	done
done

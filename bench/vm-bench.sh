#!/bin/bash
# vm-bench.sh - the VM figures of issues 3 and 17, in one run (QEMU/TCG on this host), for one or
# more images (e.g. the same ttylinux-mpi with the project's kernel and with Debian's):
#   boot-to-ready through the qemu driver vs the raw QEMU boot of the same kernel+initrd+disk
#   (to the agent's hello) on the driver's machine type (pc) and on microvm, shutdown time, exec
#   round trip (`true`), stdout relay throughput, guest idle memory (MemTotal - MemAvailable),
#   image size; then the paper's Table 3 beside each image's figures.
# Usage: bench/vm-bench.sh VMCTL XENVM_EXEC REPS LABEL=IMAGE_DIR [LABEL=IMAGE_DIR ...]
# Prints figures only: it fails when a VM does not boot, never on timing.
set -euo pipefail
VMCTL=$(readlink -f "${1:?usage: vm-bench.sh VMCTL XENVM_EXEC REPS LABEL=IMAGE_DIR...}")
EXEC=$(readlink -f "${2:?xenvm-exec}")
REPS=${3:?reps}
shift 3
[ $# -gt 0 ] || { echo "vm-bench: no LABEL=IMAGE_DIR given" >&2; exit 2; }
W=$(mktemp -d /tmp/xvg-bench.XXXXXX)
QP=
cleanup() {
	[ -n "$QP" ] && kill "$QP" 2>/dev/null || true
	"$VMCTL" destroy "$W/st" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
t() { date +%s.%N; }
mean() { echo "scale=2; ($1) / $REPS" | bc; }
# The paper's Table 3 (ttylinux DomU, Xen 3.0, as quoted in issue 17).  Its shutdown figure is
# not quoted there, so it is not printed rather than guessed.
PAPER_START=5.3 PAPER_SHUTDOWN=- PAPER_MEM=23.6 PAPER_SIZE="~30"

# raw_boot MACHINE K I R: QEMU started by hand with the same files, to the agent's hello
# (within 60 s; returns 1 when the guest never says hello).
raw_boot() {
	local m=$1 k=$2 i=$3 r=$4 dev_ser dev_blk rc=0
	case "$m" in
	pc) dev_ser=virtio-serial-pci dev_blk=virtio-blk-pci ;;
	microvm) dev_ser=virtio-serial-device dev_blk=virtio-blk-device ;;
	esac
	rm -f "$W/raw.sock"
	qemu-system-x86_64 -M "$m" -accel tcg -m 256M -smp 1 -nodefaults -no-user-config -display none \
		-no-reboot -kernel "$k.vmlinux" -initrd "$i" -append "quiet panic=-1 console=ttyS0" \
		-serial null -chardev socket,id=ag,path="$W/raw.sock",server=on,wait=off \
		-device $dev_ser -device virtserialport,chardev=ag,name=org.xenvm.agent \
		-drive file="$r",if=none,id=rd,format=raw,readonly=on -device $dev_blk,drive=rd &
	QP=$!
	python3 -c '
import socket, sys, time
for i in range(3000):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError: time.sleep(0.01)
else: sys.exit("no agent socket")
s.settimeout(60)
try:
    if not s.recv(64): sys.exit("no hello")
except OSError as e: sys.exit("no hello: %s" % e)' "$W/raw.sock" || rc=1
	kill "$QP"
	wait "$QP" 2>/dev/null || true
	QP=
	return "$rc"
}

declare -A F
labels=()
for arg in "$@"; do
	L=${arg%%=*} IMG=$(readlink -f "${arg#*=}")
	labels+=("$L")
	K=$IMG/vmlinuz I=$IMG/initrd.zst R=$IMG/rootdisk.sqfs
	for f in "$K" "$I" "$R"; do [ -r "$f" ] || { echo "vm-bench: missing $f" >&2; exit 1; }; done
	export VMCTL_ROOTDISK=$R
	rm -rf "$W/st"
	mkdir -p "$W/st"
	# warm the derived vmlinux and the page cache once
	"$VMCTL" boot "$W/st" "$K" "$I" 83090 0 0 && "$VMCTL" wait "$W/st" 120 && "$VMCTL" destroy "$W/st"
	raw_sum=0 mvm_sum=0 drv_sum=0 sd_sum=0
	for r in $(seq "$REPS"); do
		t0=$(t); raw_boot pc "$K" "$I" "$R"; t1=$(t)
		if raw_boot microvm "$K" "$I" "$R"; then t1m=$(t); else t1m=; fi
		t2=$(t)
		"$VMCTL" boot "$W/st" "$K" "$I" 83090 0 0 && "$VMCTL" wait "$W/st" 120
		t3=$(t)
		if [ "$r" = "$REPS" ]; then
			S=$W/st/agent.sock
			t4=$(t); for _ in $(seq 50); do "$EXEC" --socket "$S" --cwd / -- true; done; t5=$(t)
			t6=$(t); "$EXEC" --socket "$S" --cwd / -- dd if=/dev/zero bs=65536 count=3200 2>/dev/null | wc -c >/dev/null; t7=$(t)
			mem=$("$EXEC" --socket "$S" --cwd / -- sh -c 'sleep 2; awk "/^MemTotal/{t=\$2} /^MemAvailable/{a=\$2} END{printf \"%.1f\", (t-a)/1024}" /proc/meminfo')
			kver=$("$EXEC" --socket "$S" --cwd / -- uname -r)
		fi
		t8=$(t); "$VMCTL" shutdown "$W/st" 20; t9=$(t)
		raw_sum=$(echo "$raw_sum + $t1 - $t0" | bc)
		if [ -n "$t1m" ] && [ "$mvm_sum" != x ]; then mvm_sum=$(echo "$mvm_sum + $t1m - $t1" | bc); else mvm_sum=x; fi
		drv_sum=$(echo "$drv_sum + $t3 - $t2" | bc); sd_sum=$(echo "$sd_sum + $t9 - $t8" | bc)
	done
	raw=$(mean "$raw_sum") drv=$(mean "$drv_sum") sd=$(mean "$sd_sum")
	if [ "$mvm_sum" = x ]; then mvm="no-hello"; else mvm=$(mean "$mvm_sum"); fi
	read -r ks is rs < <(stat -c %s "$K" "$I" "$R" | paste -sd' ')
	size=$((ks + is + rs))
	echo "[$L] kernel $kver"
	echo "[$L] boot-to-ready: driver $drv s, raw qemu pc $raw s (ratio $(echo "scale=3; $drv / $raw" | bc)), raw qemu microvm $mvm s (mean of $REPS)"
	echo "[$L] shutdown: $sd s"
	echo "[$L] exec round trip (true, incl. xenvm-exec start): $(echo "scale=1; ($t5 - $t4) * 1000 / 50" | bc) ms"
	echo "[$L] stdout relay: $(echo "scale=1; 200 / ($t7 - $t6)" | bc) MiB/s"
	echo "[$L] guest idle memory (MemTotal-MemAvailable): $mem MiB"
	echo "[$L] image: $size bytes (vmlinuz $ks, initrd.zst $is, rootdisk.sqfs $rs)"
	F[$L.drv]=$drv F[$L.raw]=$raw F[$L.mvm]=$mvm F[$L.sd]=$sd F[$L.mem]=$mem
	F[$L.size]=$(echo "scale=1; $size / 1000000" | bc)
	F[$L.parts]="$(echo "scale=1; $ks / 1000000" | bc)/$(echo "scale=1; $is / 1000000" | bc)/$(echo "scale=1; $rs / 1000000" | bc)"
done

echo
echo "Table 3 of the paper (ttylinux DomU, Xen 3.0) beside ttylinux-mpi here (QEMU/TCG, 256 MiB guest, mean of $REPS):"
row() { # row TITLE PAPER KEY
	printf '  %-38s %8s' "$1" "$2"
	for L in "${labels[@]}"; do printf ' %14s' "${F[$L.$3]}"; done
	echo
}
printf '  %-38s %8s' "" paper
for L in "${labels[@]}"; do printf ' %14s' "$L"; done
echo
row "start to ready, qemu driver (s)" "$PAPER_START" drv
row "  raw qemu pc, same files (s)" - raw
row "  raw qemu microvm, same files (s)" - mvm
row "shutdown (s)" "$PAPER_SHUTDOWN" sd
row "extra memory at idle (MiB)" "$PAPER_MEM" mem
row "image size (MB)" "$PAPER_SIZE" size
row "  kernel/initrd/rootdisk (MB)" - parts
echo "Goals (issue 17): image <= 12 MB, idle memory <= 16 MiB, boot to ready under TCG <= 1.5 s."

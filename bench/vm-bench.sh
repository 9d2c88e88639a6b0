#!/bin/bash
# vm-bench.sh - issue 3's VM figures, in one run (QEMU/TCG on this host):
#   boot-to-ready through the qemu driver vs the raw QEMU boot of the same kernel+initrd+disk
#   (to the agent's hello), shutdown time, exec round trip (`true`), stdout relay throughput,
#   guest idle memory (MemTotal - MemAvailable), image size.
# Usage: bench/vm-bench.sh VMCTL XENVM_EXEC IMAGE_DIR [REPS]
set -eu
VMCTL=$(readlink -f "$1"); EXEC=$(readlink -f "$2"); IMG=$(readlink -f "$3"); REPS=${4:-3}
W=$(mktemp -d /tmp/xvg-bench.XXXXXX)
trap '"$VMCTL" destroy "$W/st" 2>/dev/null; rm -rf "$W"' EXIT
K=$IMG/vmlinuz I=$IMG/initrd.zst R=$IMG/rootdisk.sqfs
export VMCTL_ROOTDISK=$R
t() { date +%s.%N; }
mkdir -p "$W/st"
# warm the derived vmlinux and the page cache once
"$VMCTL" boot "$W/st" "$K" "$I" 83090 0 0 && "$VMCTL" wait "$W/st" 120 && "$VMCTL" destroy "$W/st"
raw_sum=0 drv_sum=0 sd_sum=0
for r in $(seq "$REPS"); do
	rm -f "$W/raw.sock"
	t0=$(t)
	qemu-system-x86_64 -M pc -accel tcg -m 256M -smp 1 -nodefaults -no-user-config -display none \
		-no-reboot -kernel "$K.vmlinux" -initrd "$I" -append "quiet panic=-1 console=ttyS0" \
		-serial null -chardev socket,id=ag,path="$W/raw.sock",server=on,wait=off \
		-device virtio-serial-pci -device virtserialport,chardev=ag,name=org.xenvm.agent \
		-drive file="$R",if=none,id=rd,format=raw,readonly=on -device virtio-blk-pci,drive=rd &
	qp=$!
	python3 -c '
import socket, sys, time
for i in range(3000):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError: time.sleep(0.01)
s.settimeout(120); s.recv(64)' "$W/raw.sock"
	t1=$(t)
	kill $qp; wait $qp 2>/dev/null || true
	t2=$(t)
	"$VMCTL" boot "$W/st" "$K" "$I" 83090 0 0 && "$VMCTL" wait "$W/st" 120
	t3=$(t)
	if [ "$r" = "$REPS" ]; then
		S=$W/st/agent.sock
		t4=$(t); for _ in $(seq 50); do "$EXEC" --socket "$S" --cwd / -- true; done; t5=$(t)
		t6=$(t); "$EXEC" --socket "$S" --cwd / -- dd if=/dev/zero bs=65536 count=3200 2>/dev/null | wc -c >/dev/null; t7=$(t)
		mem=$("$EXEC" --socket "$S" --cwd / -- sh -c 'sleep 2; awk "/^MemTotal/{t=\$2} /^MemAvailable/{a=\$2} END{print int((t-a)/1024)}" /proc/meminfo')
	fi
	t8=$(t); "$VMCTL" shutdown "$W/st" 20; t9=$(t)
	raw_sum=$(echo "$raw_sum + $t1 - $t0" | bc); drv_sum=$(echo "$drv_sum + $t3 - $t2" | bc)
	sd_sum=$(echo "$sd_sum + $t9 - $t8" | bc)
done
raw=$(echo "scale=2; $raw_sum / $REPS" | bc); drv=$(echo "scale=2; $drv_sum / $REPS" | bc)
echo "boot-to-ready: driver $drv s, raw qemu $raw s, ratio $(echo "scale=3; $drv / $raw" | bc) (mean of $REPS)"
echo "shutdown: $(echo "scale=2; $sd_sum / $REPS" | bc) s"
echo "exec round trip (true, incl. xenvm-exec start): $(echo "scale=1; ($t5 - $t4) * 1000 / 50" | bc) ms"
echo "stdout relay: $(echo "scale=1; 200 / ($t7 - $t6)" | bc) MiB/s"
echo "guest idle memory (MemTotal-MemAvailable): $mem MiB"
echo "image: $(stat -c %s "$K" "$I" "$R" | paste -sd+ | bc) bytes ($(stat -c '%n %s' "$K" "$I" "$R" | sed "s|$IMG/||" | paste -sd,))"

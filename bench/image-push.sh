#!/bin/bash
# image-push.sh - `xenvm image push` throughput against `cp` of the same files, in one run
# (issue 15).  Each repetition makes fresh random files (kernel 8 MiB, initrd 32 MiB, root disk
# SIZE_MB), then, alternating the order: `cp` of the three into a directory on the store's file
# system, `cp` followed by `sync` of the copies (the push fsyncs every blob), and the push into
# a fresh store through a running xenvm-imaged (the client streams, the manager hashes and
# fsyncs every file, then writes manifest, tag and catalog).  Prints MB/s and the push/cp
# ratios; never judges them.
# Usage: bench/image-push.sh BUILD_DIR [SIZE_MB] [REPS]      (root: the manager's socket)
set -euo pipefail
B=$(cd "${1:?usage: image-push.sh BUILD_DIR [SIZE_MB] [REPS]}" && pwd)
SIZE_MB=${2:-256}
REPS=${3:-3}
W=$(mktemp -d /var/tmp/xv-push-bench.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
	rm -rf "$W"
}
trap cleanup EXIT
t() { date +%s.%N; }
mbs() { echo "scale=1; $1 / 1048576 / ($2)" | bc; }

cat > "$W/xenvm.yaml" <<YAML
catalog: $W/store/catalog.yaml
imagecast:
  store: $W/store
image_store:
  socket: $W/imaged.sock
YAML
export XENVM_SCONTROL=/bin/true
start() {
	rm -rf "$W/store" "$W/imaged.sock"
	"$B/imgstore/xenvm-imaged" -c "$W/xenvm.yaml" >>"$W/imaged.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do [ -S "$W/imaged.sock" ] && return 0; sleep 0.1; done
	echo "image-push: the manager did not start: $(cat "$W/imaged.log")" >&2
	exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

run_cp() {
	rm -rf "$W/cp" && mkdir "$W/cp"
	local t0 t1
	t0=$(t)
	cp "$W/k" "$W/i" "$W/r" "$W/cp/"
	t1=$(t)
	echo "$t1 - $t0" | bc
}
run_cp_sync() {
	rm -rf "$W/cp" && mkdir "$W/cp"
	local t0 t1
	t0=$(t)
	cp "$W/k" "$W/i" "$W/r" "$W/cp/"
	sync "$W/cp/k" "$W/cp/i" "$W/cp/r" "$W/cp"
	t1=$(t)
	echo "$t1 - $t0" | bc
}
run_push() {
	local t0 t1
	start
	t0=$(t)
	"$B/admin/xenvm" -c "$W/xenvm.yaml" image push bench --kernel "$W/k" --initrd "$W/i" \
		--rootdisk "$W/r" >/dev/null
	t1=$(t)
	stop
	echo "$t1 - $t0" | bc
}

bytes=$(((8 + 32 + SIZE_MB) * 1048576))
s_cp=0 s_sync=0 s_push=0
printf 'image-push: %d MiB per push (kernel 8, initrd 32, root disk %d), %d repetitions, store on %s\n' \
	$((bytes / 1048576)) "$SIZE_MB" "$REPS" "$(df --output=source "$W" | tail -1)"
printf '%-4s %12s %12s %12s\n' rep "cp MB/s" "cp+sync MB/s" "push MB/s"
for rep in $(seq "$REPS"); do
	head -c 8M /dev/urandom >"$W/k"
	head -c 32M /dev/urandom >"$W/i"
	head -c "${SIZE_MB}M" /dev/urandom >"$W/r"
	sync
	# alternate the order so that cache and load effects fall on both alike
	if [ $((rep % 2)) = 1 ]; then
		a=$(run_cp) b=$(run_cp_sync) c=$(run_push)
	else
		c=$(run_push) b=$(run_cp_sync) a=$(run_cp)
	fi
	printf '%-4s %12s %12s %12s\n' "$rep" "$(mbs $bytes "$a")" "$(mbs $bytes "$b")" "$(mbs $bytes "$c")"
	s_cp=$(echo "$s_cp + $a" | bc) s_sync=$(echo "$s_sync + $b" | bc) s_push=$(echo "$s_push + $c" | bc)
done
printf '%-4s %12s %12s %12s\n' all "$(mbs $((bytes * REPS)) "$s_cp")" \
	"$(mbs $((bytes * REPS)) "$s_sync")" "$(mbs $((bytes * REPS)) "$s_push")"
printf 'push time / cp time: %s; push time / (cp + sync) time: %s\n' \
	"$(echo "scale=2; $s_push / $s_cp" | bc)" "$(echo "scale=2; $s_push / $s_sync" | bc)"

#!/bin/bash
# verbs-bench.sh - latency and bandwidth between two VMs of one job (the ICS'06 paper's Fig. 7/8
# shape), on a real 2-node test cluster whose VMs get Soft-RoCE (ib.fallback: rxe; these
# machines have no HCA, so no VF): in one run, in the same two ready VMs,
#   1. verbs: ibv_rc_pingpong (RC send/recv over rxe0, GID index 0: the link-local RoCE v2 GID
#      the guest reports) for sizes 1 B .. 1 MiB;
#   2. MPI over TCP: examples/mpi-pingpong.c with UCX_TLS=tcp,self, the same sizes;
#   3. MPI over verbs: the same program with UCX_TLS=rc_verbs,ud_verbs,self (the GID index from
#      the image's /etc/ucx/ucx.conf; bounded by a timeout, reported as failed if UCX cannot wire
#      up).
# Prints a table (one-way latency in us, bandwidth in MB/s, verbs/TCP ratios) and a last line
# "bench-verbs: ...".  rxe is a software path (the guest kernel builds RoCE frames over its virtio
# NIC, all emulated by TCG): these figures say nothing of an HCA's VF, which the SR-IOV
# literature puts within ~2% of native.  Never fails on a timing.
#
# Usage: bench/verbs-bench.sh   (root; needs `make` and `make image`)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=../tests/cluster/vmcluster.sh
source "$repo/tests/cluster/vmcluster.sh"
export XENVM_CLUSTER_DIR=$repo/build/cluster-bench-verbs
BASE=$XENVM_CLUSTER_DIR
CL=$repo/tests/cluster/cluster
U=xvuser
H=$(getent passwd "$U" | cut -d: -f6)
SIZES="1 4 16 64 256 1024 4096 16384 65536 262144 1048576"
ITERS=${VERBS_BENCH_ITERS:-20}

mkdir -p "$BASE"
vmcluster_config "$BASE" xvbv 10.81.9 2 rxe
id=
cleanup() {
	[ -n "$id" ] && "$CL" run -- scancel "$id" >/dev/null 2>&1
	"$CL" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$CL" up >/dev/null 2>&1 || "$CL" up
run() { "$CL" run --user "$U" --chdir "$H" -- "$@"; }

cp "$repo/examples/mpi-pingpong.c" "$H/mpi-pingpong.c" && chown "$U:" "$H/mpi-pingpong.c"
run mpicc.mpich -O2 -o mpi-pingpong mpi-pingpong.c

# A 2-node VM job that holds its VMs; the measurements are steps in it (srun --overlap).
id=$(run sbatch -N2 --vm-image=ttylinux-mpi -o /dev/null --wrap 'sleep 1800' | awk '{print $NF}')
for ((k = 0; k < 3000; k++)); do
	[ "$("$CL" run -- squeue -h -j "$id" -o %T)" = RUNNING ] &&
		run srun --jobid="$id" --overlap -N2 true >/dev/null 2>&1 && break
	sleep 0.1
done
[ "$k" -lt 3000 ] || { echo "bench-verbs: job $id's VMs never became ready" >&2; exit 1; }
step() { run srun --jobid="$id" --overlap "$@"; }

# 1. verbs: one ibv_rc_pingpong server (rank 0, node1) and client (rank 1, node2) per size.
declare -A VLAT VBW MLAT MBW RLAT RBW
for s in $SIZES; do
	# shellcheck disable=SC2016  # expanded in the guests
	out=$(timeout 300 "$CL" run --user "$U" --chdir "$H" -- srun --jobid="$id" --overlap -N2 -n2 \
		bash -c '
		if [ "$SLURM_PROCID" = 0 ]; then exec ibv_rc_pingpong -d rxe0 -g 0 -s '"$s"' -n '"$ITERS"'; fi
		for i in $(seq 100); do
			ibv_rc_pingpong -d rxe0 -g 0 -s '"$s"' -n '"$ITERS"' node1 2>/dev/null && exit 0
			sleep 0.2
		done
		exit 1' 2>&1) || { echo "bench-verbs: ibv_rc_pingpong -s $s failed: $out" >&2; exit 1; }
	# "N iters in T seconds = U usec/iter": one iteration is a round trip.
	u=$(sed -n 's/.* = \([0-9.]*\) usec\/iter$/\1/p' <<<"$out" | head -1)
	VLAT[$s]=$(awk -v u="$u" 'BEGIN {printf "%.1f", u / 2}')
	VBW[$s]=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", s / (u / 2)}')
done

# 2. and 3. MPI, over TCP and over verbs, same program and sizes.
mpi_run() { # UCX_TLS -> sets the arrays named by $2 (lat) and $3 (bw), or returns 1
	local tls=$1 out n v
	local -n lat=$2 bw=$3
	out=$(timeout 180 "$CL" run --user "$U" --chdir "$H" -- env UCX_TLS="$tls" UCX_NET_DEVICES=all \
		srun --jobid="$id" --overlap -N2 -n2 --mpi=pmi2 ./mpi-pingpong "$ITERS" 1048576 2>&1) || {
		MPI_ERR[$tls]=$(grep -m1 -iE "error|timeout|abort" <<<"$out" | cut -c1-160)
		[ -n "${MPI_ERR[$tls]}" ] || MPI_ERR[$tls]="no error line (killed after 180 s or exited non-zero)"
		return 1
	}
	grep -qx "pingpong ok" <<<"$out" || { MPI_ERR[$tls]="messages damaged"; return 1; }
	while read -r n v; do lat[$n]=$v; done < <(sed -n 's/^lat \([0-9]*\) \([0-9.]*\)$/\1 \2/p' <<<"$out")
	while read -r n v; do bw[$n]=$v; done < <(sed -n 's/^bw \([0-9]*\) \([0-9.]*\)$/\1 \2/p' <<<"$out")
}
declare -A MPI_ERR
mpi_run tcp,self MLAT MBW || { echo "bench-verbs: MPI over TCP failed: ${MPI_ERR[tcp,self]}" >&2; exit 1; }
rc_ok=1
mpi_run rc_verbs,ud_verbs,self RLAT RBW || rc_ok=0

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b}'; }
printf '%-8s | %-20s | %-20s | %-20s | %-11s | %s\n' bytes "verbs (rc_pingpong)" "MPI over TCP" \
	"MPI over verbs" "verbs/TCP" "MPI verbs/TCP"
printf '%-8s | %-20s | %-20s | %-20s | %-11s | %s\n' "" "us, MB/s" "us, MB/s (UCX tcp)" "us, MB/s (UCX rc)" \
	"latency" "latency"
for s in $SIZES; do
	if [ "$rc_ok" = 1 ]; then r="${RLAT[$s]}, ${RBW[$s]}"; else r="failed"; fi
	printf '%-8s | %-20s | %-20s | %-20s | %-11s | %s\n' "$s" "${VLAT[$s]}, ${VBW[$s]}" \
		"${MLAT[$s]}, ${MBW[$s]}" "$r" "$(ratio "${VLAT[$s]}" "${MLAT[$s]}")" \
		"$(ratio "${RLAT[$s]:-}" "${MLAT[$s]}")"
done
[ "$rc_ok" = 1 ] || echo "MPI over verbs (UCX_TLS=rc_verbs,ud_verbs) failed: ${MPI_ERR[rc_verbs,ud_verbs,self]}"
echo "(rxe over TCG-emulated virtio: a software path, not an HCA's VF; load at end: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "bench-verbs: 1 B latency verbs ${VLAT[1]} us vs MPI/TCP ${MLAT[1]} us" \
	"(ratio $(ratio "${VLAT[1]}" "${MLAT[1]}"));" \
	"1 MiB bandwidth verbs ${VBW[1048576]} MB/s vs MPI/TCP ${MBW[1048576]} MB/s;" \
	"MPI over verbs: $([ "$rc_ok" = 1 ] && echo "1 B ${RLAT[1]} us (ratio to MPI/TCP $(ratio "${RLAT[1]}" "${MLAT[1]}")), 1 MiB ${RBW[1048576]} MB/s" || echo failed)"

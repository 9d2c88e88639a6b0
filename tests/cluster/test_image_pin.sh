#!/bin/bash
# The image manager on a real cluster (issue 15): slurmctld, one slurmd, imagecastd, real VMs,
# and xenvm-imaged in the controller's network namespace (where `scontrol` reaches slurmctld for
# the jobs' pins).  The catalog is the manager's (store/catalog.yaml), imagecast's store is its
# store.  Versions differ by a marker file appended to the project's initrd (/xenvm-marker in
# the guest), so the job's output says which version it booted.
#   - a job pinned to v1 is held; the admin pushes v2 under the same tag; released, the job runs
#     v1 (the Prolog boots the pinned version with its own attributes: its cmdline, seen in the
#     guest's /proc/cmdline); the next job runs v2; the GC
#     keeps v1 while the job is queued and while it runs, and removes it once it has ended
#   - xvuser pushes an image and runs a job on it; xvuser2 can neither see nor use it until it is
#     shared, then can; xvuser2 can never remove or re-tag it
# (Refusals of pushes -- quota, size, own kernel, sha256, a version that does not boot -- are in
# check-imgstore, on the host: they need no cluster.)
# Prints "image-pin: N passed, N failed".
#
# Usage: tests/cluster/test_image_pin.sh   (root; builds nothing: run `make all image` first)
T_SUITE=image-pin
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

export XENVM_CLUSTER_DIR=${XENVM_CLUSTER_DIR:-$repo/build/cluster-ip}
BASE=$XENVM_CLUSTER_DIR
CL=$here/cluster
NS=xvip
U=xvuser U2=xvuser2
ETC=$BASE/etc
IMG=$repo/build/images/ttylinux-mpi
STORE=$BASE/store
W=$BASE/work
LOG=$BASE/log/slurmctld.log
T_LOGS=("$LOG" "$BASE/log/slurmd-node1.log" "$W/imaged.log")
IPID=

# shellcheck source=vmcluster.sh
source "$here/vmcluster.sh"

cleanup() {
	if [ -n "$IPID" ]; then
		kill "$IPID" 2>/dev/null
		wait "$IPID" 2>/dev/null
	fi
	"$CL" down >/dev/null 2>&1
}
t_at_exit cleanup

# The project's initrd with /xenvm-marker holding $1 (one more cpio archive inside the same
# zstd stream: the kernel unpacks concatenated archives).
marked_initrd() {
	local d=$W/marker.$1
	mkdir -p "$d" && echo "$1" >"$d/xenvm-marker" || return 1
	{
		zstd -dc "$IMG/initrd.zst" || return 1
		(cd "$d" && echo xenvm-marker | cpio -o -H newc --quiet -R 0:0)
	} | zstd -q -3 >"$W/initrd.$1" && chmod 644 "$W/initrd.$1"
}

setup() {
	mkdir -p "$ETC" "$W" && chmod 755 "$BASE" "$W" || return 1
	vmcluster_config "$BASE" "$NS" 10.81.4 1 || return 1
	# the manager's catalog and store; user images allowed, collected as soon as free
	sed -i -e "s|^catalog: .*|catalog: $STORE/catalog.yaml|" \
		-e "s|^  store: .*|  store: $STORE|" "$ETC/xenvm.yaml"
	cat >>"$ETC/xenvm.yaml" <<-YAML
		image_store:
		  socket: $W/imaged.sock
		  user_images: true
		  retention: 0
	YAML
	# each version's own cmdline (xenvm_pin=...): the Prolog must boot the pinned one's
	for v in v1 v2 mine; do
		printf 'cmdline: "console=ttyS0 console=hvc0 quiet panic=-1 xenvm_pin=%s"\nmemory: {default: 256M, max: 1G}\nvcpus: {default: 1, max: 2}\nattributes: {os: debian-12, ib: true}\n' "$v" >"$W/attrs.$v.yaml"
		chmod 644 "$W/attrs.$v.yaml"
	done
	marked_initrd v1 && marked_initrd v2 && marked_initrd mine || return 1
	# a first start creates the store and its (empty) catalog for slurmctld's first load
	rm -rf "$STORE"
	timeout 3 "$repo/build/imgstore/xenvm-imaged" -c "$ETC/xenvm.yaml" >>"$W/imaged.log" 2>&1
	[ -f "$STORE/catalog.yaml" ] || return 1
	"$CL" up
}

# The manager in the controller's network namespace (nsenter execs it: $! is its pid), with the
# cluster's client environment for scontrol.
start_manager() {
	rm -f "$W/imaged.sock"
	SLURM_CONF=$BASE/etc/slurm.conf PATH=$BASE/bin:$PATH \
		nsenter --net="/run/netns/${NS}ctl" "$repo/build/imgstore/xenvm-imaged" \
		-c "$ETC/xenvm.yaml" >>"$W/imaged.log" 2>&1 &
	IPID=$!
	t_wait_for 10 test -S "$W/imaged.sock"
}

X() { "$repo/build/admin/xenvm" -c "$ETC/xenvm.yaml" image "$@"; }
# `xenvm image job` asks scontrol itself: from the controller's namespace
XC() { "$CL" run -- "$repo/build/admin/xenvm" -c "$ETC/xenvm.yaml" image "$@"; }
XU() { local u=$1; shift; runuser -u "$u" -- "$repo/build/admin/xenvm" -c "$ETC/xenvm.yaml" image "$@"; }
as_user() { "$CL" run --user "$U" -- "$@"; }
as_user2() { "$CL" run --user "$U2" -- "$@"; }
ctl() { "$CL" run -- "$@"; }
jobid_of() { sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$1"; }
digest_of() { sed -n 's/.* sha256:\([0-9a-f]*\) .*/\1/p' <<<"$1"; }
state_of() { ctl scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }

wait_job() {
	local id=$1 st="" k
	for ((k = 0; k < 1800; k++)); do
		st=$(state_of "$id")
		case $st in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
		sleep 0.1
	done
	echo "$st"
}

# Wait until job_submit sees ref at digest $2: a held job is pinned to it (then cancelled).
wait_catalog() { # user ref hex
	local k id out
	for ((k = 0; k < 30; k++)); do
		out=$("$CL" run --user "$1" -- sbatch -H -N1 --vm-image="$2" --wrap true 2>/dev/null)
		id=$(jobid_of "$out")
		if [ -n "$id" ]; then
			out=$(XC job "$id" 2>/dev/null)
			ctl scancel "$id"
			grep -q "sha256:$3" <<<"$out" && return 0
		fi
		sleep 1
	done
	return 1
}

# ------------------------------------------------------------------------------------------
t_begin "cluster up, the manager in the controller's namespace, v1 pushed by the admin"
t_need "$repo/build/plugins/job_submit_vmimage.so" "$repo/build/prolog/xenvm-prolog" \
	"$repo/build/imgstore/xenvm-imaged" "$IMG/initrd.zst" || { t_summary; exit 1; }
t_run_ok setup || { t_summary; exit 1; }
# not through t_run (a subshell): IPID is the cleanup's
start_manager || { t_summary; exit 1; }
t_run_ok X push ttylinux-mpi --kernel "$IMG/vmlinuz" --initrd "$W/initrd.v1" \
	--rootdisk "$IMG/rootdisk.sqfs" --attributes "$W/attrs.v1.yaml"
V1=$(digest_of "$T_OUT")
t_match '^[0-9a-f]{64}$' "$V1" "v1's digest"
t_run_ok wait_catalog "$U" ttylinux-mpi "$V1"

t_begin "a job pinned to v1 is held; the admin pushes v2 under the same tag; the GC keeps v1"
out1=/home/$U/pin-v1.out out2=/home/$U/pin-v2.out
rm -f "$out1" "$out2"
t_run_ok as_user sbatch -H -N1 --vm-image=ttylinux-mpi -o "$out1" \
	--wrap 'cat /xenvm-marker; tr " " "\n" </proc/cmdline | grep xenvm_pin; echo "digest=$XENVM_VM_DIGEST"; sleep 20'
J1=$(jobid_of "$T_OUT")
t_run_ok XC job "$J1"
t_match "sha256:$V1" "$T_OUT" "the held job's pin"
t_run_ok X push ttylinux-mpi --kernel "$IMG/vmlinuz" --initrd "$W/initrd.v2" \
	--rootdisk "$IMG/rootdisk.sqfs" --attributes "$W/attrs.v2.yaml"
V2=$(digest_of "$T_OUT")
t_match '^[0-9a-f]{64}$' "$V2" "v2's digest"
t_run_ok wait_catalog "$U" ttylinux-mpi "$V2"
t_run_ok X gc
t_match "kept version sha256:$V1: a job is pinned" "$T_OUT" "gc while the job is queued"
t_run_ok test -f "$STORE/versions/site/$V1.yaml"

t_begin "released, the job runs v1; the GC keeps v1 while it runs"
t_run_ok ctl scontrol release "$J1"
for ((k = 0; k < 1800; k++)); do
	[ "$(state_of "$J1")" = RUNNING ] && grep -q . "$out1" 2>/dev/null && break
	sleep 0.1
done
t_eq RUNNING "$(state_of "$J1")" "job $J1's state"
t_run_ok X gc
t_match "kept version sha256:$V1: a job is pinned" "$T_OUT" "gc while the job runs"
t_eq COMPLETED "$(wait_job "$J1")" "job $J1's end"
t_match "^v1$" "$(cat "$out1")" "the guest's marker"
t_match "digest=sha256:$V1" "$(cat "$out1")" "the VM's digest"
t_match "^xenvm_pin=v1$" "$(cat "$out1")" "v1's own cmdline (not the tag's v2 attributes)"

t_begin "the next job runs v2"
t_run_ok as_user sbatch -N1 --vm-image=ttylinux-mpi -o "$out2" \
	--wrap 'cat /xenvm-marker; tr " " "\n" </proc/cmdline | grep xenvm_pin; echo "digest=$XENVM_VM_DIGEST"'
t_eq COMPLETED "$(wait_job "$(jobid_of "$T_OUT")")" "job state"
t_match "^v2$" "$(cat "$out2")" "the guest's marker"
t_match "^xenvm_pin=v2$" "$(cat "$out2")" "v2's cmdline"

t_begin "the pinned job ended: the GC removes v1, keeps v2"
t_run_ok X gc
t_match "removed version sha256:$V1" "$T_OUT"
t_run_fails test -f "$STORE/versions/site/$V1.yaml"
t_run_ok test -f "$STORE/versions/site/$V2.yaml"

t_begin "xvuser pushes an image (the project's, marker changed) and runs a job on it"
t_run_ok XU "$U" push "$U/mine" --kernel "$IMG/vmlinuz" --initrd "$W/initrd.mine" \
	--rootdisk "$IMG/rootdisk.sqfs" --attributes "$W/attrs.mine.yaml"
VU=$(digest_of "$T_OUT")
t_run_ok wait_catalog "$U" "$U/mine" "$VU"
outu=/home/$U/mine.out
rm -f "$outu"
t_run_ok as_user sbatch -N1 --vm-image="$U/mine" -o "$outu" --wrap 'cat /xenvm-marker'
t_eq COMPLETED "$(wait_job "$(jobid_of "$T_OUT")")" "job state"
t_match "^mine$" "$(cat "$outu")" "the guest's marker"

t_begin "xvuser2 can neither see nor use it, nor remove or re-tag it"
t_run_ok XU "$U2" list
t_nomatch "mine" "$T_OUT" "xvuser2's list"
t_run_fails XU "$U2" show "$U/mine"
t_run_fails as_user2 sbatch -N1 --vm-image="$U/mine" --wrap true
t_match "xenvm: .*$U/mine" "$T_ERR" "the refusal names the image"
t_run_fails XU "$U2" rm "$U/mine"
t_run_fails XU "$U2" tag "$U/mine" "$U/mine:evil"
t_run_fails XU "$U2" tag "$U/mine" "$U2/stolen"

t_begin "shared with xvuser2: it sees and uses it, and still cannot remove or re-tag it"
t_run_ok XU "$U" share "$U/mine" "$U2"
t_run_ok XU "$U2" show "$U/mine"
t_run_ok wait_catalog "$U2" "$U/mine" "$VU"
outu2=/home/$U2/mine.out
rm -f "$outu2"
t_run_ok as_user2 sbatch -N1 --vm-image="$U/mine" -o "$outu2" --wrap 'cat /xenvm-marker'
t_eq COMPLETED "$(wait_job "$(jobid_of "$T_OUT")")" "job state"
t_match "^mine$" "$(cat "$outu2")" "the guest's marker"
t_run_fails XU "$U2" rm "$U/mine"
t_run_fails XU "$U2" tag "$U/mine" "$U/mine:evil"
t_match "^digest: sha256:$VU" "$(X show "$U/mine")" "the tag is unchanged"

t_begin "the cluster goes down cleanly"
t_run_ok "$CL" down
t_summary

#!/bin/bash
# The request path on a real cluster: sbatch/srun --vm-image -> spank_xenvm.so -> slurmctld's
# job_submit/vmimage (catalog, digest pin, features, memory) -> xenvm-prolog on every node ->
# xenvm-epilog.  Jobs run as an ordinary user.  Prints "request-path: N passed, N failed".
#
# Usage: tests/cluster/test_request_path.sh   (root; builds nothing: run `make` first)
T_SUITE=request-path
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

# Own names, so this suite can run beside other cluster suites.
export XENVM_CLUSTER_DIR=${XENVM_CLUSTER_DIR:-$repo/build/cluster-rp}
BASE=$XENVM_CLUSTER_DIR
CL=$here/cluster
U=xvuser
ETC=$BASE/etc
T_LOGS=("$BASE/log/slurmctld.log" "$BASE/log/slurmd-node1.log")

# shellcheck source=vmcluster.sh
source "$here/vmcluster.sh"

# The catalog is the real image's (jobs boot real VMs), with test limits and a restricted entry.
# The digest job_submit must pin, computed here independently of lib/catalog.c (images.yaml(5)):
# sha256 over "role sha256 size" lines of the image's files.
digest_of_catalog() {
	awk '/^  ttylinux-mpi:/ { on = 1; next } /^  [^ ]/ { on = 0 }
	     on && /(kernel|initrd|rootdisk): \{/ {
		role = $1; sub(":", "", role)
		match($0, /sha256: [0-9a-f]+/); sha = substr($0, RSTART + 8, RLENGTH - 8)
		match($0, /size: [0-9]+/); size = substr($0, RSTART + 6, RLENGTH - 6)
		printf "%s %s %s\n", role, sha, size
	     }' "$1" | sha256sum | cut -d' ' -f1
}

write_catalog() { # $1: rootdisk file (absolute)
	local sha size
	sha=$(sha256sum "$1" | cut -d' ' -f1) size=$(stat -c %s "$1")
	sed -e 's/^    memory: .*/    memory: {default: 256M, max: 1G}/' \
		-e 's/^    vcpus: .*/    vcpus: {default: 1, max: 2}/' \
		-e "s|^      rootdisk: .*|      rootdisk: {path: $1, sha256: $sha, size: $size}|" \
		"$repo/build/images/images.yaml" >"$ETC/images.yaml.new"
	cat >>"$ETC/images.yaml.new" <<YAML
  restricted:
    files:
      kernel: {path: r/vmlinuz, sha256: 1111111111111111111111111111111111111111111111111111111111111111, size: 1}
      initrd: {path: r/initrd, sha256: 2222222222222222222222222222222222222222222222222222222222222222, size: 1}
    allow: {users: [nobody-we-know], groups: [nogroup-we-know]}
YAML
	mv "$ETC/images.yaml.new" "$ETC/images.yaml"
}

setup() {
	mkdir -p "$ETC" "$BASE/store"
	vmcluster_config "$BASE" xvrp 10.81.2 4 || return 1
	# Two versions of the root disk: squashfs ignores bytes past its end, so both boot.
	cp "$repo/build/images/ttylinux-mpi/rootdisk.sqfs" "$BASE/store/rootdisk1.sqfs"
	cp "$BASE/store/rootdisk1.sqfs" "$BASE/store/rootdisk2.sqfs"
	head -c 4096 /dev/zero >>"$BASE/store/rootdisk2.sqfs"
	write_catalog "$BASE/store/rootdisk2.sqfs"
	echo "sha256:$(digest_of_catalog "$ETC/images.yaml")" >"$BASE/digest2"
	write_catalog "$BASE/store/rootdisk1.sqfs"
	echo "sha256:$(digest_of_catalog "$ETC/images.yaml")" >"$BASE/digest1"
	"$CL" up
}

# What each task's VM says about itself (task_init's XENVM_VM_* and the user), one line per task.
SHOW='echo "image=$XENVM_VM_IMAGE digest=$XENVM_VM_DIGEST node=$XENVM_VM_NODE user=$(id -u) mem=$XENVM_VM_MEM nnodes=$SLURM_NNODES"'

as_user() { "$CL" run --user "$U" -- "$@"; }
ctl() { "$CL" run -- "$@"; }

# Wait until job $1 has ended; echo its state.
wait_job() {
	local id=$1 st="" k
	for ((k = 0; k < 600; k++)); do
		st=$(ctl scontrol show job "$id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
		case $st in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
		sleep 0.1
	done
	echo "$st"
}

jobid_of() { sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$1"; }

no_drained_nodes() {
	t_run_ok ctl sinfo -h -N -o '%N %t' || return
	t_nomatch 'drain|drng|down|fail' "$T_OUT" "node states"
}

no_state_left() { # $1: job id
	local n
	for n in 1 2 3 4; do
		t_run "$CL" exec "node$n" -- test -e "/run/xenvm/job/$1"
		[ "$T_RC" != 0 ] || t_fail "node$n still has /run/xenvm/job/$1 after the Epilog"
	done
}

# Jobs of the user that exist as submitted (pending or running): a completing job is an
# earlier test's, whose Epilog is still stopping its VMs.
user_jobs() { ctl squeue -h -u "$U" -t PENDING,RUNNING,SUSPENDED -o %i | awk 'NF { n++ } END { print n + 0 }'; }

# ------------------------------------------------------------------------------------------
t_begin "cluster comes up with the plugins, Prolog and Epilog"
t_need "$repo/build/plugins/spank_xenvm.so" "$repo/build/plugins/job_submit_vmimage.so" \
	"$repo/build/prolog/xenvm-prolog" "$repo/build/epilog/xenvm-epilog" || { t_summary; exit 1; }
t_run_ok setup || { t_summary; exit 1; }
# setup ran in a subshell (t_run bounds it by T_TIMEOUT): the digests come back in files
DIGEST=$(cat "$BASE/digest1") DIGEST2=$(cat "$BASE/digest2")

t_begin "srun --help lists the --vm-* options"
t_run_ok ctl srun --help
for o in '--vm-image=NAME' '--vm-mem=SIZE' '--vm-vcpus=N' '--vm-root' '--vm-verbose'; do
	t_match -- "$o" "$T_OUT" "srun --help"
done

t_begin "sbatch --vm-image as an ordinary user: every node's VM runs the pinned image"
out=/home/$U/rp-batch.out
rm -f "$out"
t_run_ok as_user sbatch -N4 --vm-image=ttylinux-mpi -o "$out" --wrap "srun sh -c '$SHOW'"
id=$(jobid_of "$T_OUT")
t_eq COMPLETED "$(wait_job "$id")" "job state"
t_eq 4 "$(grep -c "image=ttylinux-mpi " "$out")" "VMs of the image"
t_eq 4 "$(grep -c "digest=$DIGEST " "$out")" "VMs of the pinned digest"
t_eq "node1 node2 node3 node4" "$(sed -n 's/.* node=\([^ ]*\) .*/\1/p' "$out" | sort | xargs)" "nodes"
t_eq 4 "$(grep -c " user=$(id -u $U) " "$out")" "tasks as the job's user"
t_eq 4 "$(grep -c " mem=268435456 " "$out")" "VM memory pinned from the image default"
t_run_ok ctl scontrol show job "$id"
t_match 'Features=xenvm( |$)' "$T_OUT" "job's features"
t_match 'MinMemoryNode=320M' "$T_OUT" "per-node memory (256M VM + 64M overhead)"
no_state_left "$id"

t_begin "srun --vm-image as an ordinary user, 2 nodes"
t_run_ok as_user srun -N2 --vm-image=ttylinux-mpi --vm-mem=512M sh -c "$SHOW"
t_eq 2 "$(grep -c 'image=ttylinux-mpi ' <<<"$T_OUT")" "tasks in VMs of the image"
t_eq 2 "$(grep -c ' mem=536870912 ' <<<"$T_OUT")" "VMs with --vm-mem=512M"
t_eq 2 "$(grep -c ' nnodes=2$' <<<"$T_OUT")" "tasks of a 2-node job"

t_begin "XENVM_IMAGE=... sbatch (no option) works the same"
out=/home/$U/rp-env.out
rm -f "$out"
t_run_ok as_user env XENVM_IMAGE=ttylinux-mpi sbatch -N2 -o "$out" --wrap "srun sh -c '$SHOW'"
id=$(jobid_of "$T_OUT")
t_eq COMPLETED "$(wait_job "$id")" "job state"
t_eq 2 "$(grep -c "digest=$DIGEST " "$out")" "VMs of the pinned digest"

t_begin "a job with no SPANK request (as from slurmrestd) is read from its environment"
# A client config without plugstack stands in for slurmrestd, which runs no SPANK plugin.
# (/usr/bin/sbatch, not the bin/ wrapper, which would reset SLURM_CONF.)
sed "s|^PlugStackConfig=.*|PlugStackConfig=$ETC/plugstack.empty|" "$ETC/slurm.conf" >"$ETC/slurm.norest.conf"
: >"$ETC/plugstack.empty"
chmod 644 "$ETC/slurm.norest.conf" "$ETC/plugstack.empty"
out=/home/$U/rp-rest.out
rm -f "$out"
t_run_ok as_user env SLURM_CONF="$ETC/slurm.norest.conf" XENVM_IMAGE=ttylinux-mpi /usr/bin/sbatch -N1 \
	-o "$out" --wrap "$SHOW"
id=$(jobid_of "$T_OUT")
t_eq COMPLETED "$(wait_job "$id")" "job state"
t_match "digest=$DIGEST " "$(cat "$out")" "the batch script's VM"

before=$(user_jobs)
t_begin "an unknown image is refused with close names, and no job is created"
t_run_fails as_user sbatch -N1 --vm-image=ttylinux-mpl --wrap true
t_match "xenvm: unknown VM image 'ttylinux-mpl'; did you mean: ttylinux-mpi\?" "$T_ERR" "sbatch stderr"
t_run_fails as_user srun -N1 --vm-image=nonesuch-image-zz true
t_match "unknown VM image 'nonesuch-image-zz'" "$T_ERR" "srun stderr"
t_eq "$before" "$(user_jobs)" "the user's job count"

t_begin "a forbidden image is refused with the rule that excludes the user"
t_run_fails as_user sbatch -N1 --vm-image=restricted --wrap true
t_match "xenvm: image 'restricted' is restricted to" "$T_ERR" "sbatch stderr"
t_match "$U" "$T_ERR" "sbatch stderr names the user"

t_begin "bad option syntax is reported at the prompt with the option named"
t_run_fails as_user sbatch -N1 --vm-image=ttylinux-mpi --vm-mem=lots --wrap true
t_match "xenvm: --vm-mem: 'lots' is not a memory size" "$T_ERR" "sbatch stderr"
t_run_fails as_user srun -N1 --vm-image=ttylinux-mpi --vm-vcpus=0 true
t_match "xenvm: --vm-vcpus: '0' is not a vCPU count" "$T_ERR" "srun stderr"
t_run_fails as_user sbatch -N1 --vm-image='../etc' --wrap true
t_match "xenvm: --vm-image: invalid image name '../etc'" "$T_ERR" "sbatch stderr"
t_run_fails as_user sbatch -N1 --vm-mem=1G --wrap true
t_match "xenvm: --vm-mem needs --vm-image=NAME" "$T_ERR" "sbatch stderr"
t_run_fails as_user env XENVM_IMAGE='bad name' sbatch -N1 --wrap true
t_match "xenvm: XENVM_IMAGE: invalid image name 'bad name'" "$T_ERR" "sbatch stderr"

t_begin "an option given twice: the same value is fine, a different value is an error"
t_run_ok as_user srun -N1 --vm-image=ttylinux-mpi --vm-image=ttylinux-mpi true
t_run_fails as_user srun -N1 --vm-image=ttylinux-mpi --vm-image=other true
t_match "xenvm: --vm-image was given twice with different values" "$T_ERR" "srun stderr"
t_run_fails as_user sbatch -N1 --vm-image=ttylinux-mpi --vm-mem=512M --vm-mem=1G --wrap true
t_match "xenvm: --vm-mem was given twice with different values" "$T_ERR" "sbatch stderr"

t_begin "over-limit memory, vCPUs and root are each refused with their own message"
t_run_fails as_user sbatch -N1 --vm-image=ttylinux-mpi --vm-mem=4G --wrap true
t_match "xenvm: --vm-mem=4G is more than image 'ttylinux-mpi' allows \(1G\)" "$T_ERR" "sbatch stderr"
t_run_fails as_user sbatch -N1 --vm-image=ttylinux-mpi --vm-vcpus=3 --wrap true
t_match "xenvm: --vm-vcpus=3 is more than image 'ttylinux-mpi' allows \(2\)" "$T_ERR" "sbatch stderr"
t_run_fails as_user sbatch -N1 --vm-image=ttylinux-mpi --vm-root --wrap true
t_match "xenvm: --vm-root: image 'ttylinux-mpi' does not allow root in the guest" "$T_ERR" "sbatch stderr"
t_run_fails as_user sbatch -N1 --mem=100M --vm-image=ttylinux-mpi --wrap true
t_match "asks for 100M per node but its VM needs 320M" "$T_ERR" "sbatch stderr"

t_begin "rejections created no job and drained no node"
t_eq "$before" "$(user_jobs)" "the user's job count"
no_drained_nodes

t_begin "the digest is pinned at submit: a job released after the image changed does not run the new one"
out=/home/$U/rp-pin.out
rm -f "$out"
t_run_ok as_user sbatch -H -N1 -w node3 --vm-image=ttylinux-mpi -o "$out" --wrap "$SHOW"
id=$(jobid_of "$T_OUT")
lines_before=$(wc -l <"$BASE/log/slurmctld.log")
write_catalog "$BASE/store/rootdisk2.sqfs"
t_run_ok ctl scontrol release "$id"
wait_job "$id" >/dev/null
# node3 cached the old image in the first test: the job runs what it was submitted with.
t_match "digest=$DIGEST " "$(cat "$out")" "the held job's VM"
out2=/home/$U/rp-pin2.out
rm -f "$out2"
# job_submit's reload thread looks at the file once a second: submit once it has the new one.
t_wait_for 10 sh -c "tail -n +$((lines_before + 1)) '$BASE/log/slurmctld.log' | grep -q 'images.yaml: [0-9]* images, loaded'" ||
	t_fail "slurmctld did not load the changed catalog within 10 s"
t_run_ok as_user sbatch -N1 --vm-image=ttylinux-mpi -o "$out2" --wrap "$SHOW"
t_eq COMPLETED "$(wait_job "$(jobid_of "$T_OUT")")" "job state"
t_match "digest=$DIGEST2 " "$(cat "$out2")" "a job submitted after the change"

t_begin "a catalog broken while slurmctld runs: the last good one stays, the error is logged"
lines_before=$(wc -l <"$BASE/log/slurmctld.log")
printf 'images:\n  ttylinux-mpi: {files: [unclosed\n' >"$ETC/images.yaml"
out=/home/$U/rp-broken.out
rm -f "$out"
t_run_ok as_user sbatch -N1 --vm-image=ttylinux-mpi -o "$out" --wrap "$SHOW"
id=$(jobid_of "$T_OUT")
# Accepted against slurmctld's last good copy; the node cannot read the file either, so the job
# fails with the file and line for the user, and no node drains for the site's typo.
t_eq FAILED "$(wait_job "$id")" "job state"
t_match "the site's image catalog cannot be read: $ETC/images.yaml:[0-9]+:[0-9]+" "$(cat "$out")" "reason in the job's output"
t_run_fails as_user sbatch -N1 --vm-image=ttylinux-mpl --wrap true
t_match "did you mean: ttylinux-mpi" "$T_ERR" "sbatch stderr (validated against the last good catalog)"
# slurmctld's reload thread looks at the file once a second: its error may come after the jobs
log_has_error() { tail -n +"$lines_before" "$BASE/log/slurmctld.log" | grep -Eq "$1"; }
t_wait_for 15 log_has_error "job_submit/vmimage: $ETC/images.yaml:[0-9]+:[0-9]+: "
t_match "job_submit/vmimage: $ETC/images.yaml:[0-9]+:[0-9]+: " \
	"$(tail -n +"$lines_before" "$BASE/log/slurmctld.log")" "slurmctld log"
write_catalog "$BASE/store/rootdisk1.sqfs"

t_begin "an unknown plugstack.conf argument is an error naming it"
printf 'required %s config=%s bogus=1\n' "$repo/build/plugins/spank_xenvm.so" "$ETC/xenvm.yaml" >"$ETC/plugstack.bad"
sed "s|^PlugStackConfig=.*|PlugStackConfig=$ETC/plugstack.bad|" "$ETC/slurm.conf" >"$ETC/slurm.badargs.conf"
chmod 644 "$ETC/plugstack.bad" "$ETC/slurm.badargs.conf"
t_run_fails as_user env SLURM_CONF="$ETC/slurm.badargs.conf" /usr/bin/srun -N1 --vm-image=ttylinux-mpi true
t_match "xenvm: plugstack.conf: unknown argument 'bogus=1'" "$T_ERR" "srun stderr"

t_begin "after all of it no node is drained and no job state is left"
no_drained_nodes
for n in 1 2 3 4; do
	t_run_ok "$CL" exec "node$n" -- sh -c 'ls -A /run/xenvm/job 2>/dev/null | wc -l'
	t_eq 0 "$T_OUT" "job state directories on node$n"
done

t_begin "a broken xenvm.yaml: plain jobs run and end on every node without a drain"
# A job that asked for no VM must not depend on the VM configuration (Prolog and Epilog).
cp "$ETC/xenvm.yaml" "$BASE/xenvm.yaml.good"
printf 'driver: [qemu\nstate_dir: {\n' >"$ETC/xenvm.yaml"
t_run_ok as_user srun -N4 hostname
t_eq "node1 node2 node3 node4" "$(sort <<<"$T_OUT" | xargs)" "hostnames of a plain job"
for k in $(seq 300); do
	[ "$(ctl squeue -h -u "$U" | grep -c .)" = 0 ] && break
	sleep 0.1
done
t_eq 0 "$(ctl squeue -h -u "$U" | grep -c .)" "jobs of $U left (the Epilogs have ended)"
no_drained_nodes
# The Epilog run by hand as slurmd runs it: nothing left succeeds; a leftover state dir fails.
EP="$repo/build/epilog/xenvm-epilog"
t_run_ok "$CL" exec node1 -- env -i SLURM_JOB_ID=999991 XENVM_CONFIG="$ETC/xenvm.yaml" "$EP"
t_match "job 999991 asked for no VM and left nothing on this node" "$T_ERR" "Epilog's stderr"
t_run_fails "$CL" exec node1 -- sh -c "mkdir -p /run/xenvm/job/999992 &&
	env -i SLURM_JOB_ID=999992 XENVM_CONFIG='$ETC/xenvm.yaml' '$EP'; rc=\$?; rmdir /run/xenvm/job/999992; exit \$rc"
t_match "/run/xenvm/job/999992 is left on this node" "$T_ERR" "Epilog's stderr with a leftover"
mv "$BASE/xenvm.yaml.good" "$ETC/xenvm.yaml"

t_begin "xenvm check gives the Prolog's verdict; a drained node's reason reaches the job's user"
XV="$repo/build/admin/xenvm"
t_run_ok "$XV" check -c "$ETC/xenvm.yaml" --catalog "$ETC/images.yaml"
t_match "^ok: $ETC/xenvm.yaml" "$T_OUT" "verdict on the cluster's own config"
sed 's|^\(  *subnet:\).*|\1 10.181.0.0/30|' "$ETC/xenvm.yaml" >"$BASE/xenvm.bad.yaml"
t_match "subnet: 10.181.0.0/30" "$(cat "$BASE/xenvm.bad.yaml")" "the broken config has the /30"
t_run "$XV" check -c "$BASE/xenvm.bad.yaml" --catalog "$ETC/images.yaml"
t_eq 3 "$T_RC" "xenvm check's exit status for a node-draining xenvm.yaml"
t_match "network.subnet: '10.181.0.0/30'.*Slurm drains the node|network.subnet: '10.181.0.0/30'" "$T_OUT" "xenvm check names the key"
cp "$ETC/xenvm.yaml" "$BASE/xenvm.yaml.good"
cp "$BASE/xenvm.bad.yaml" "$ETC/xenvm.yaml"
t_run_ok as_user sbatch -N1 -w node3 --vm-image=ttylinux-mpi --wrap true
jid=$(jobid_of "$T_OUT")
comment=""
for k in $(seq 300); do
	comment=$(ctl scontrol show job "$jid" | sed -n 's/^ *Comment=//p')
	[ -n "$comment" ] && [ "$comment" != "(null)" ] && break
	sleep 0.1
done
t_match "^xenvm: node node3 is drained: .*network.subnet: '10.181.0.0/30'" "$comment" "the job's Comment"
t_run_ok ctl sinfo -h -n node3 -o %t
t_match "drain" "$T_OUT" "node3 is drained by the Prolog"
mv "$BASE/xenvm.yaml.good" "$ETC/xenvm.yaml"
ctl scancel "$jid"
t_run_ok ctl scontrol update NodeName=node3 State=RESUME
for k in $(seq 100); do
	ctl sinfo -h -n node3 -o %t | grep -q idle && break
	sleep 0.1
done
no_drained_nodes

t_begin "without job_submit/vmimage the job fails with the reason and no node drains"
# slurmctld without the plugin pins no digest: a site misconfiguration that must not drain nodes.
sed -i '/^CLUSTER_JOB_SUBMIT=/d' "$BASE/cluster.env"
t_run_ok "$CL" up
t_run_fails as_user srun -N2 --vm-image=ttylinux-mpi true
t_match "xenvm: VM for job [0-9]+ on node[12]: the job's image digest was not pinned at submit: slurmctld must run JobSubmitPlugins=vmimage" "$T_ERR" "srun stderr"
no_drained_nodes
t_run_ok as_user srun -N4 true
t_eq "" "$T_OUT" "output of a job without a VM"

t_begin "the cluster goes down cleanly"
t_run_ok "$CL" down
t_summary

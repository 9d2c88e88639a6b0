#!/bin/bash
# The whole job inside VMs (issue 6), on a real 4-node cluster: imagecastd on every node, the
# Prolog fetches the image and boots a QEMU/TCG VM per node, tasks run in the VMs through
# xenvm-exec, the Epilog tears everything down.  Jobs run as ordinary users.
# Prints "vm-job: N passed, N failed".
#
# Usage: tests/cluster/test_vm_job.sh   (root; needs `make` and `make image` first)
T_SUITE=vm-job
T_TIMEOUT=${T_TIMEOUT:-240}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=vmcluster.sh
source "$here/vmcluster.sh"

export XENVM_CLUSTER_DIR=${XENVM_CLUSTER_DIR:-$repo/build/cluster-vm}
BASE=$XENVM_CLUSTER_DIR
CL=$here/cluster
NS=xvvm
U=xvuser
U2=xvuser2
EXEC=$repo/build/exec/xenvm-exec
T_LOGS=("$BASE/log/slurmctld.log" "$BASE/log/slurmd-node1.log" "$BASE/log/slurmd-node2.log")

t_on_fail() {
	local f
	for f in "$BASE"/nodes/node*/run-xenvm/job/*/vm0/console.log; do
		[ -f "$f" ] && { echo "    == $f"; tail -5 "$f" | sed 's/^/      | /'; }
	done
	grep -h "xenvm" "$BASE"/log/slurmd-node1.log 2>/dev/null | tail -10 | sed 's/^/      | /'
	return 0
}

as_user() { "$CL" run --user "$1" --chdir "$(getent passwd "$1" | cut -d: -f6)" -- "${@:2}"; }
home_of() { getent passwd "$1" | cut -d: -f6; }

# A job's VM's interface on the node (vm/tapname.h): "xv" + the job id in base 36 + "_vm0".
tap_of() {
	local j=$1 d=0123456789abcdefghijklmnopqrstuvwxyz out=""
	while :; do out=${d:j % 36:1}$out; j=$((j / 36)); [ "$j" = 0 ] && break; done
	echo "xv${out}_vm0"
}

# A job's traces on a node, for the "nothing left" checks: VM processes (by name), its state
# directory, its tap device and its guest address claim.  Prints them; empty when clean.
traces() { # job node
	local j=$1 n=$2 d=$BASE/nodes/$2/run-xenvm
	pgrep -af "xenvm-job$j-" | sed '/pgrep/d'
	[ -e "$d/job/$j" ] && echo "state dir $d/job/$j"
	ip -n "${NS}node${n#node}" -o link show 2>/dev/null | sed -n "s/.*\($(tap_of "$j")\).*/\1/p"
	ip netns exec "${NS}node${n#node}" nft list tables bridge 2>/dev/null | sed -n "/^table bridge xenvm_job$j\$/p"
	for f in "$d"/addr/*; do [ "$(cat "$f" 2>/dev/null)" = "$j" ] && echo "$f"; done
	return 0 # the output is the verdict: empty when clean
}

# Wait (up to 60 s) until job $1 left no trace on nodes $2...; fails with what is left.
wait_clean() {
	local j=$1 k left n
	shift
	for ((k = 0; k < 600; k++)); do
		left=""
		for n in "$@"; do left+=$(traces "$j" "$n"); done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	t_fail "job $j left traces: $left"
}

# The newest job slurmctld knows.
last_job() { "$CL" run -- scontrol show jobs | sed -n 's/^JobId=\([0-9]*\).*/\1/p' | sort -n | tail -1; }

# A job's state and exit code from slurmctld ("COMPLETED 0:0").
job_state() { "$CL" run -- scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p; s/.* ExitCode=\([0-9:]*\).*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }

wait_job_end() { # id -> waits (up to T_TIMEOUT) until the job left the queue
	local k
	for ((k = 0; k < T_TIMEOUT * 10; k++)); do
		case $(job_state "$1") in COMPLETED* | FAILED* | CANCELLED* | TIMEOUT* | NODE_FAIL* | OUT_OF_MEMORY*) return 0 ;; esac
		sleep 0.1
	done
	t_fail "job $1 did not end within ${T_TIMEOUT}s"
}

# A broken image: the real kernel with an initrd whose /init prints a line and powers off, so the
# VM boots but its agent never says ready.  Appended to the cluster's catalog as "broken".
add_broken_image() {
	local d=$BASE/broken sha size
	rm -rf "$d" && mkdir -p "$d/root/bin"
	cp /bin/busybox "$d/root/bin/busybox"
	printf '#!/bin/busybox sh\n/bin/busybox echo "broken-image: this initrd has no agent"\n/bin/busybox poweroff -f\n' >"$d/root/init"
	chmod 755 "$d/root/init"
	(cd "$d/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$d/initrd.gz")
	sha=$(sha256sum "$d/initrd.gz" | cut -d' ' -f1) size=$(stat -c %s "$d/initrd.gz")
	# Same kernel as ttylinux-mpi (copy its line), our initrd.
	awk -v sha="$sha" -v size="$size" -v path="$d/initrd.gz" '
		/^  ttylinux-mpi:/ { in_img = 1 }
		in_img && /kernel: \{/ { kernel = $0 }
		{ print }
		END {
			print "  broken:"
			print "    description: boots, never gets ready (tests)"
			print "    files:"
			print kernel
			printf "      initrd: {path: %s, sha256: %s, size: %s}\n", path, sha, size
			print "    memory: {default: 128M, max: 1G}"
		}' "$BASE/etc/images.yaml" >"$BASE/etc/images.yaml.new"
	mv "$BASE/etc/images.yaml.new" "$BASE/etc/images.yaml"
}

setup() {
	t_begin "setup: 4-node cluster with imagecastd, VMs through the qemu driver"
	t_need "$repo/build/images/images.yaml" "$EXEC" "$repo/build/prolog/xenvm-prolog" mpicc.mpich || return 1
	mkdir -p "$BASE"
	vmcluster_config "$BASE" "$NS" 10.81.6 4 || { t_fail "vmcluster_config"; return 1; }
	add_broken_image
	# Root in the guest for --vm-root (test_root_guest); the site's scratch for the share tests.
	sed -i 's/^    root_allowed: false$/    root_allowed: true/' "$BASE/etc/images.yaml"
	printf 'shares:\n  allowed: [%s]\n' "$BASE/scratch" >>"$BASE/etc/xenvm.yaml"
	# VMJOB_PIN=off: without the network pin, to see test_root_guest fail (it must be able to)
	[ "${VMJOB_PIN:-on}" = off ] && sed -i 's/^  bridge: xenvmbr0$/&\n  pin: false/' "$BASE/etc/xenvm.yaml"
	rm -rf "$BASE/scratch" && mkdir -p "$BASE/scratch/$U" "$BASE/scratch/$U2" && chmod 755 "$BASE/scratch"
	chown "$U:" "$BASE/scratch/$U" && chown "$U2:" "$BASE/scratch/$U2" && chmod 755 "$BASE/scratch/$U2"
	echo from-the-host >"$BASE/scratch/$U/in.txt"
	t_run_ok "$CL" up || return 1
	# Built on the "login node" by the user, in their home, as users do.
	cp "$repo/examples/mpi-hello.c" "$(home_of $U)/mpi-hello.c" && chown "$U:" "$(home_of $U)/mpi-hello.c"
	t_run_ok as_user "$U" mpicc.mpich -O2 -o mpi-hello mpi-hello.c
}

test_mpi_srun() {
	t_begin "srun -N2 -n4 --mpi=pmi2 --vm-image: MPI ranks in VMs on 2 nodes, result file in the workdir"
	rm -f "$(home_of $U)/mpi-result.txt"
	t_run_ok as_user "$U" srun -N2 -n4 --mpi=pmi2 --vm-image=ttylinux-mpi --vm-verbose ./mpi-hello mpi-result.txt || return
	t_eq 4 "$(grep -c 'in a VM: yes' <<<"$T_OUT")" "ranks reporting a VM"
	t_nomatch "kernel $(uname -r)," "$T_OUT" "no rank on the host kernel"
	t_match '^allreduce ok: 4 of 4 ranks$' "$T_OUT"
	t_match '^xenvm: node1: image ttylinux-mpi: .* ready in [0-9.]+ s at 10\.181\.' "$T_ERR" "--vm-verbose report"
	t_match '^ranks=4 sum=4 kernel=[^ ]+ hypervisor=qemu$' "$(cat "$(home_of $U)/mpi-result.txt" 2>&1)" "result file"
	t_eq "$U" "$(stat -c %U "$(home_of $U)/mpi-result.txt" 2>&1)" "result file owner"
}

test_exit_code() {
	t_begin "a task's exit status 3 reaches srun and slurmctld"
	t_run_fails as_user "$U" srun -N1 --vm-image=ttylinux-mpi sh -c 'echo in-vm $(uname -r); exit 3'
	t_eq 3 "$T_RC" "srun exit status"
	t_match "^in-vm " "$T_OUT"
	local id
	id=$(last_job)
	t_match ' 3:0$' "$(job_state "$id")" "scontrol ExitCode of job $id"
}

test_cancel() {
	t_begin "scancel mid-run: the guest process gets SIGTERM, the Epilog leaves no VM, process, tap, address or state"
	local h id k out=$T_TMP/cancel.out
	h=$(home_of $U)
	rm -f "$h"/term.*
	# shellcheck disable=SC2016  # expanded in the guest
	timeout 200 "$CL" run --user "$U" --chdir "$h" -- srun -N2 --vm-image=ttylinux-mpi sh -c \
		'trap "echo TERM >$HOME/term.\$SLURM_NODEID; exit 0" TERM; echo started; while :; do sleep 1; done' \
		>"$out" 2>&1 &
	for ((k = 0; k < 1500; k++)); do [ "$(grep -c started "$out")" = 2 ] && break; sleep 0.1; done
	[ "$(grep -c started "$out")" = 2 ] || { t_fail "tasks did not start: $(cat "$out")"; return; }
	id=$("$CL" run -- squeue -h -u "$U" -o %i | head -1)
	t_run_ok "$CL" run -- scancel "$id"
	wait
	wait_job_end "$id"
	for ((k = 0; k < 100; k++)); do [ -f "$h/term.0" ] && [ -f "$h/term.1" ] && break; sleep 0.1; done
	t_eq "TERM TERM" "$(cat "$h/term.0" "$h/term.1" 2>&1 | tr '\n' ' ' | sed 's/ $//')" "SIGTERM seen in both guests"
	wait_clean "$id" node1 node2
	t_match "^idle$" "$("$CL" run -- sinfo -h -n node1 -o %T)" "node1 still in service"
}

test_broken_image() {
	t_begin "an image that boots but never gets ready: the job fails with the reason, no node drains, the next job runs"
	t_run_fails as_user "$U" srun -N2 --vm-image=broken true
	t_match "^xenvm: VM for job [0-9]+ on node[12]: " "$T_ERR" "reason shown to the user"
	t_match "broken-image: this initrd has no agent" "$T_ERR" "console tail in the reason"
	# (the Epilog may still be at work: "completing" for a moment, never "drained")
	local k st
	for ((k = 0; k < 100; k++)); do
		st=$("$CL" run -- sinfo -h -N -n node[1-2] -o %T | tr '\n' ' ' | sed 's/ $//')
		case $st in *completing*) ;; *) break ;; esac
		sleep 0.1
	done
	t_eq "idle idle" "$st" "nodes still idle"
	t_run_ok as_user "$U" srun -N2 --vm-image=ttylinux-mpi uname -r
	t_nomatch "^$(uname -r)\$" "$T_OUT"
}

test_other_user() {
	t_begin "user B cannot reach user A's VM on the same node"
	local h id k out=$T_TMP/other.out
	h=$(home_of $U)
	timeout 200 "$CL" run --user "$U" --chdir "$h" -- srun -N1 -w node1 --vm-image=ttylinux-mpi sh -c 'echo up; sleep 60' >"$out" 2>&1 &
	for ((k = 0; k < 1500; k++)); do grep -q up "$out" && break; sleep 0.1; done
	id=$("$CL" run -- squeue -h -u "$U" -o %i | head -1)
	[ -n "$id" ] || { t_fail "A's job did not start: $(cat "$out")"; return; }
	t_run_fails "$CL" exec --user "$U2" node1 -- "$EXEC" --socket "/run/xenvm/job/$id/vm0/agent.sock" -- id
	t_match "Permission denied|not allowed|refused" "$T_ERR" "B refused at the socket"
	t_run_fails "$CL" run --user "$U2" -- srun --jobid="$id" --overlap true
	t_run_ok "$CL" exec --user "$U" node1 -- "$EXEC" --socket "/run/xenvm/job/$id/vm0/agent.sock" -- sh -c 'echo $(id -u) $(id -un)'
	t_eq "$(id -u "$U") $U" "$T_OUT" "A reaches it, as A (uid and name)"
	"$CL" run -- scancel "$id"
	wait
	wait_clean "$id" node1
}

test_cache_reuse() {
	t_begin "back-to-back jobs reuse the cached image (no bytes fetched the second time)"
	t_run_ok as_user "$U" srun -N2 --vm-image=ttylinux-mpi --vm-verbose true || return
	t_eq 2 "$(grep -c ': image ttylinux-mpi: cache hit in' <<<"$T_ERR")" "cache hits on both nodes"
}

test_crash_recovery() {
	t_begin "the Epilog finds a job's VM by name after its state directory was lost"
	local id k out=$T_TMP/crash.out
	timeout 200 "$CL" run --user "$U" -- srun -N1 -w node2 --vm-image=ttylinux-mpi sh -c 'echo up; sleep 60' >"$out" 2>&1 &
	for ((k = 0; k < 1500; k++)); do grep -q up "$out" && break; sleep 0.1; done
	id=$("$CL" run -- squeue -h -u "$U" -o %i | head -1)
	[ -n "$id" ] || { t_fail "job did not start: $(cat "$out")"; return; }
	t_match "xenvm-job$id-vm0" "$(pgrep -af "xenvm-job$id-")" "VM running"
	rm -rf "$BASE/nodes/node2/run-xenvm/job/$id"
	"$CL" run -- scancel "$id"
	wait
	wait_clean "$id" node2
	t_match "^idle$" "$("$CL" run -- sinfo -h -n node2 -o %T)" "node2 still in service"
}

test_step_vm() {
	t_begin "srun --vm-image as a step of an allocation without a VM; the Epilog removes its VMs"
	local out id
	out=$(home_of $U)/step-vm.out
	rm -f "$out"
	T_JOB_OUT=$out
	t_run_ok as_user "$U" sbatch -N2 -o "$out" --wrap \
		'srun --vm-image=ttylinux-mpi --vm-verbose sh -c "echo step1 \$(uname -r)"; srun --vm-image=ttylinux-mpi sh -c "echo step2 \$(uname -r)"; srun sh -c "echo host \$(uname -r)"'
	id=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$T_OUT")
	wait_job_end "$id"
	t_match "^COMPLETED" "$(job_state "$id")" "job state"
	t_eq 2 "$(grep -c "^step1 " "$out")" "first VM step's tasks"
	t_nomatch "^step[12] $(uname -r)\$" "$(cat "$out")" "VM steps ran on the guest kernel"
	t_eq 2 "$(grep -c "^step2 " "$out")" "second VM step (reuses the VMs)"
	t_eq 2 "$(grep -c "^host $(uname -r)\$" "$out")" "the plain step runs on the host"
	t_match "^xenvm: node[12]: image ttylinux-mpi: " "$(cat "$out")" "--vm-verbose on the step"
	wait_clean "$id" node1 node2
}

test_demo_job() {
	t_begin "the demo job: sbatch examples/mpi-hello.sh on 4 nodes, script and ranks in VMs, srun from the guest"
	local h out id
	h=$(home_of $U) out=$h/demo-job.out
	cp "$repo/examples/mpi-hello.sh" "$h/mpi-hello.sh" && chown "$U:" "$h/mpi-hello.sh"
	rm -f "$out"
	T_JOB_OUT=$out
	t_run_ok as_user "$U" sbatch -o "$out" mpi-hello.sh || return
	id=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$T_OUT")
	wait_job_end "$id"
	t_match "^COMPLETED 0:0$" "$(job_state "$id")" "job state"
	t_match "^batch script on node1, kernel " "$(cat "$out")" "the batch script ran in node1's VM"
	t_nomatch "^batch script on node1, kernel $(uname -r)\$" "$(cat "$out")" "not on the host kernel"
	t_eq 4 "$(grep -c "^rank [0-3] of 4 on node[1-4]: kernel .*, hypervisor qemu, in a VM: yes$" "$out")" "ranks in VMs"
	t_eq "node1 node2 node3 node4" "$(sed -n 's/^rank [0-3] of 4 on \(node[1-4]\):.*/\1/p' "$out" | sort | xargs)" "one rank per node"
	t_match "^allreduce ok: 4 of 4 ranks$" "$(cat "$out")"
	t_eq "node1 node2 node3 node4" "$(sed -n 's/^xenvm: \(node[1-4]\): image ttylinux-mpi: .*/\1/p' "$out" | sort | xargs)" "--vm-verbose: each node once"
	wait_clean "$id" node1 node2 node3 node4
}

test_batch_2x2() {
	t_begin "2 nodes x 2 tasks from a batch script in the VM; the script's own exit status"
	local h out id
	h=$(home_of $U) out=$h/batch-2x2.out
	rm -f "$out"
	T_JOB_OUT=$out
	t_run_ok as_user "$U" sbatch -N2 --ntasks-per-node=2 --vm-image=ttylinux-mpi -o "$out" \
		--wrap 'srun --mpi=pmi2 ./mpi-hello; srun -n1 sh -c "exit 5"; echo "inner srun said $?"; exit 4' || return
	id=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$T_OUT")
	wait_job_end "$id"
	t_eq 4 "$(grep -c "in a VM: yes$" "$out")" "ranks in VMs"
	t_eq 2 "$(grep -c "^rank [0-3] of 4 on node1:" "$out")" "two ranks on node1"
	t_match "^allreduce ok: 4 of 4 ranks$" "$(cat "$out")"
	t_match "^inner srun said 5$" "$(cat "$out")" "srun's exit status inside the guest"
	t_match "^FAILED 4:0$" "$(job_state "$id")" "the script's exit status reaches slurmctld"
}

test_hydra() {
	t_begin "mpiexec (hydra, slurm bootstrap) from a batch script inside the VM"
	local h out id
	h=$(home_of $U) out=$h/hydra.out
	rm -f "$out"
	T_JOB_OUT=$out
	t_run_ok as_user "$U" sbatch -N2 --vm-image=ttylinux-mpi -o "$out" \
		--wrap 'mpiexec -bootstrap slurm -n 2 ./mpi-hello; echo "mpiexec said $?"' || return
	id=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$T_OUT")
	wait_job_end "$id"
	t_match "^COMPLETED 0:0$" "$(job_state "$id")" "job state"
	t_eq "node1 node2" "$(sed -n 's/^rank [01] of 2 on \(node[12]\): .*in a VM: yes$/\1/p' "$out" | sort | xargs)" "ranks in both VMs"
	t_match "^allreduce ok: 2 of 2 ranks$" "$(cat "$out")"
	t_match "^mpiexec said 0$" "$(cat "$out")"
}

# ------------------------------------------------------------------------ native vs in a VM
# Issue 13: the same command natively and in a VM must look the same to the user: what srun
# prints on stderr (job and step ids aside; sorted, since srun's and the task's lines race),
# srun's exit status, and slurmctld's ExitCode of the job.  Each row of the issue is one test.

# Canonical stderr of srun: ids replaced by N, lines sorted, the scheduler's waiting notes (a
# previous job's Epilog may still hold the node) left out.
canon_err() {
	grep -v -e 'queued and waiting for resources$' -e 'has been allocated resources$' <<<"$1" |
		sed -E 's/(StepId|JobId|job|step)([= ])[0-9]+(\.[0-9]+)?/\1\2N/g' | sort
}

# vs_native WHAT ARGS...: run `srun -N1 -w node1 ARGS` natively, then with --vm-image; compare.
vs_native() {
	local what=$1 nerr nrc nexit id
	shift
	t_run as_user "$U" srun -N1 -w node1 "$@"
	nerr=$(canon_err "$T_ERR") nrc=$T_RC
	id=$(last_job)
	wait_job_end "$id"
	nexit=$(job_state "$id")
	t_run as_user "$U" srun -N1 -w node1 --vm-image=ttylinux-mpi "$@"
	id=$(last_job)
	wait_job_end "$id" # COMPLETING while its Epilog stops the VM
	t_eq "$nerr" "$(canon_err "$T_ERR")" "$what: srun's stderr (native vs VM)"
	t_eq "$nrc" "$T_RC" "$what: srun's exit status (native vs VM)"
	t_eq "$nexit" "$(job_state "$id")" "$what: job state and ExitCode (native vs VM)"
	T_NATIVE_ERR=$nerr T_NATIVE_EXIT=$nexit
}

test_signal_kill() {
	t_begin "a task killed by SIGKILL: 'Killed', as natively"
	vs_native "SIGKILL" sh -c 'kill -KILL $$'
	t_match "^srun: error: node1: task 0: Killed$" "$T_NATIVE_ERR" "native reference"
	t_match " 0:9$" "$T_NATIVE_EXIT" "native ExitCode"
}

test_signal_segv() {
	t_begin "a task killed by SIGSEGV: 'Segmentation fault', as natively"
	vs_native "SIGSEGV" sh -c 'kill -SEGV $$'
	t_match "^srun: error: node1: task 0: Segmentation fault" "$T_NATIVE_ERR" "native reference"
	t_match " 0:11$" "$T_NATIVE_EXIT" "native ExitCode"
}

test_batch_signal() {
	t_begin "a batch script killed by SIGKILL: ExitCode 0:9, as natively"
	local n v ids=()
	for v in "" "--vm-image=ttylinux-mpi"; do
		# shellcheck disable=SC2086  # $v: no option natively
		t_run_ok as_user "$U" sbatch -N1 -w node1 $v -o /dev/null --wrap 'kill -KILL $$' || return
		ids+=("$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$T_OUT")")
	done
	for n in "${ids[@]}"; do wait_job_end "$n"; done
	t_eq "FAILED 0:9" "$(job_state "${ids[0]}")" "native reference"
	t_eq "$(job_state "${ids[0]}")" "$(job_state "${ids[1]}")" "job state and ExitCode (native vs VM)"
}

test_exec_errors() {
	t_begin "exec errors (missing, not executable, a directory) as slurmstepd reports them natively"
	local h
	h=$(home_of $U)
	cp /bin/true "$h/notexec" && chmod 644 "$h/notexec" && mkdir -p "$h/adir" && chown "$U:" "$h/notexec" "$h/adir"
	rm -f "$h/no-such-prog"
	vs_native "missing ./prog" ./no-such-prog
	t_match "^slurmstepd-node1: error: execve\(\): $h/./no-such-prog: No such file or directory$" "$T_NATIVE_ERR" "native reference"
	t_match "^srun: error: node1: task 0: Exited with exit code 2$" "$T_NATIVE_ERR" "native reference"
	vs_native "not in PATH" no-such-prog-xyz
	vs_native "not executable" ./notexec
	t_match "Exited with exit code 13$" "$T_NATIVE_ERR" "native reference"
	vs_native "a directory" ./adir
}

# pty_drive CMD...: CMD (as $U, PS1 and TERM set) on a real terminal driven by pty-drive.py as a
# user types.  PTY_FINDINGS: its findings but the kernel (tty number as N); PTY_KERNEL: the
# kernel the shell ran on.
pty_drive() {
	local all
	t_run python3 "$repo/tests/vm/pty-drive.py" --timeout 150 --kernel -- "$CL" run --user "$U" -- \
		env 'PS1=PROMPT$ ' TERM=xterm "$@"
	all=$(sed -n '/^transcript:/q;p' <<<"$T_OUT" | sed 's|^tty: /dev/pts/[0-9]*$|tty: /dev/pts/N|')
	PTY_FINDINGS=$(grep -v '^kernel: ' <<<"$all")
	PTY_KERNEL=$(sed -n 's/^kernel: //p' <<<"$all")
}

# The native reference, once: `srun --pty bash -i` on the host.
pty_native() {
	[ -n "${PTY_NATIVE:-}" ] && return 0
	pty_drive srun --pty -N1 -w node1 bash --norc -i
	t_eq "prompt: yes" "$(head -1 <<<"$PTY_FINDINGS")" "native reference runs" ||
		printf '%s\n' "$T_OUT" "$T_ERR" | tail -20 | sed 's/^/      | /'
	t_eq "$(uname -r)" "$PTY_KERNEL" "the native reference runs on the host"
	PTY_NATIVE=$PTY_FINDINGS
}

# pty_vs_native WHAT: the last pty_drive's findings against the native reference, in a VM.
pty_vs_native() {
	t_eq "$PTY_NATIVE" "$PTY_FINDINGS" "$1: prompt, tty, stty size, resize, job control, Ctrl-C, Ctrl-Z, line editing, echo, exit status (native vs VM)"
	t_eq "tty: /dev/pts/N" "$(grep '^tty:' <<<"$PTY_FINDINGS")" "$1: the task is on a terminal"
	t_match . "$PTY_KERNEL" "$1: the shell answered uname -r" && t_nomatch "^$(uname -r)\$" "$PTY_KERNEL" "$1: in the VM (guest kernel $PTY_KERNEL)"
	[ "$PTY_NATIVE" = "$PTY_FINDINGS" ] || printf '%s\n' "$T_OUT" | sed -n '/^transcript:/,$p' | tail -30 | sed 's/^/      | /'
}

test_pty() {
	t_begin "srun --pty bash -i: an ordinary interactive shell in the VM, as natively (real terminal)"
	pty_native
	pty_drive srun --pty -N1 -w node1 --vm-image=ttylinux-mpi bash --norc -i
	pty_vs_native "srun --pty"
}

test_pty_salloc() {
	t_begin "salloc --vm-image, then srun --pty bash in the allocation: an interactive shell in the VM, as natively"
	local id
	pty_native
	pty_drive salloc -N1 -w node1 --vm-image=ttylinux-mpi srun --pty bash --norc -i
	pty_vs_native "salloc + srun --pty"
	id=$(last_job)
	wait_job_end "$id"
	wait_clean "$id" node1
}

test_pty_attach() {
	t_begin "srun --jobid=J --overlap --pty bash: attached to a running job, in its VM, as natively"
	local id nid k out=$T_TMP/attach.out nout=$T_TMP/attach-native.out
	pty_native
	# natively: a running job on node2, a shell attached to it
	timeout 300 "$CL" run --user "$U" -- srun -N1 -w node2 sh -c 'echo up; sleep 250' >"$nout" 2>&1 &
	for ((k = 0; k < 600; k++)); do grep -q up "$nout" && break; sleep 0.1; done
	nid=$("$CL" run -- squeue -h -u "$U" -o %i | head -1)
	[ -n "$nid" ] || { t_fail "the native job did not start: $(cat "$nout")"; return; }
	pty_drive srun --jobid="$nid" --overlap --pty bash --norc -i
	t_eq "$PTY_NATIVE" "$PTY_FINDINGS" "natively, attached as with srun --pty"
	"$CL" run -- scancel "$nid"
	# in a VM: a running VM job on node2, a shell attached to it lands in its VM
	timeout 300 "$CL" run --user "$U" -- srun -N1 -w node2 --vm-image=ttylinux-mpi sh -c 'echo up; sleep 250' >"$out" 2>&1 &
	for ((k = 0; k < 1500; k++)); do grep -q up "$out" && break; sleep 0.1; done
	id=$("$CL" run -- squeue -h -u "$U" -o %i -t R | sort -n | tail -1)
	[ -n "$id" ] && [ "$id" != "$nid" ] || { t_fail "the VM job did not start: $(cat "$out")"; return; }
	pty_drive srun --jobid="$id" --overlap --pty bash --norc -i
	pty_vs_native "srun --jobid --overlap --pty"
	t_match "^up$" "$(cat "$out")" "the job's own task still runs"
	"$CL" run -- scancel "$id"
	wait
	wait_job_end "$id"
	wait_clean "$id" node2
}

# ------------------------------------------------------------------------ orphaned Prolog
# slurmd killed while its Prolog waits for the guest: the Prolog notices (prolog/orphan.c),
# becomes the Epilog, and the VM and the job's state on the node go; slurmd restarted, the node
# takes VM jobs again.  How long slurmctld then keeps the job is slurmctld's (not asserted).
test_orphan_prolog() {
	t_begin "slurmd killed during the boot: the orphaned Prolog removes the VM and its state; slurmd restarted, the node works"
	local id k out=$T_TMP/orphan.out st="" left bg
	timeout 300 "$CL" run --user "$U" -- srun -N1 -w node3 --vm-image=ttylinux-mpi true >"$out" 2>&1 &
	bg=$!
	# the VM is up and the Prolog waits for its agent
	for ((k = 0; k < 1500; k++)); do
		id=$("$CL" run -- squeue -h -u "$U" -o %i | head -1)
		[ -n "$id" ] && pgrep -f "xenvm-job$id-vm0" >/dev/null &&
			st=$(cat "$BASE/nodes/node3/run-xenvm/job/$id/vm0/status" 2>/dev/null) && [ "$st" = booting ] && break
		sleep 0.1
	done
	t_eq booting "$st" "the Prolog waits for the guest of job $id" || return
	t_run_ok kill -KILL "$(cat "$BASE/run/slurmd-node3.pid")"
	wait_clean "$id" node3
	for ((k = 0; k < 300; k++)); do
		left=$(pgrep -af "$repo/build/(prolog/xenvm-prolog|epilog/xenvm-epilog)" | sed '/pgrep/d')
		[ -z "$left" ] && break
		sleep 0.1
	done
	t_eq "" "$left" "no Prolog or Epilog left running"
	# (srun waits as long as slurmctld keeps the job: not ours to shorten)
	"$CL" run -- scancel "$id"
	kill "$bg" 2>/dev/null
	wait "$bg"
	t_run_ok "$CL" up
	t_run_ok as_user "$U" srun -N1 -w node3 --vm-image=ttylinux-mpi uname -r
	t_nomatch "^$(uname -r)\$" "$T_OUT" "a VM job runs on node3 again"
	# (its Epilog may still be stopping the VM: "completing" for a moment, then idle)
	for ((k = 0; k < 100; k++)); do
		st=$("$CL" run -- sinfo -h -n node3 -o %T)
		[ "$st" = completing ] || break
		sleep 0.1
	done
	t_eq idle "$st" "node3 in service"
}

test_vm_lost() {
	t_begin "QEMU killed under a running task: the reason is right (no stale errno), exit 255"
	local id k out=$T_TMP/lost.out
	timeout 200 "$CL" run --user "$U" -- srun -N1 -w node2 --vm-image=ttylinux-mpi sh -c 'echo up; sleep 100' >"$out" 2>&1 &
	for ((k = 0; k < 1500; k++)); do grep -q up "$out" && break; sleep 0.1; done
	id=$("$CL" run -- squeue -h -u "$U" -o %i | head -1)
	[ -n "$id" ] || { t_fail "job did not start: $(cat "$out")"; return; }
	t_match . "$(pgrep -f "process=xvq-$id-vm0")" "the VM's QEMU found" && pkill -KILL -f "process=xvq-$id-vm0"
	wait
	t_match "^xenvm-exec: lost the connection to the VM's agent: the VM stopped \(its supervisor closed the connection\)$" "$(cat "$out")" "reason"
	t_nomatch "non-socket" "$(cat "$out")" "no stale errno"
	t_match "^srun: error: node2: task 0: Exited with exit code 255$" "$(cat "$out")" "exit status"
	wait_job_end "$id"
	wait_clean "$id" node2
}

test_share_refused() {
	t_begin "--chdir=/, /etc, another user's directory: refused with the reason at task launch, the task fails"
	local d
	for d in / /etc; do
		t_run_fails "$CL" run --user "$U" --chdir / -- srun -N1 --chdir="$d" --vm-image=ttylinux-mpi pwd
		t_match "^xenvm: node[0-9]+: warning: working directory $d is not shared with the VM: it is (the root|a system) directory" "$T_ERR" "--chdir=$d: the reason"
		t_match "the task's working directory $d is not shared with the VM" "$T_ERR" "--chdir=$d: the task fails"
	done
	t_run_fails as_user "$U" srun -N1 --chdir="$BASE/scratch/$U2" --vm-image=ttylinux-mpi pwd
	t_match "warning: working directory $BASE/scratch/$U2 is not shared with the VM: it belongs to uid $(id -u "$U2") and is not writable by uid $(id -u "$U")" "$T_ERR" "another user's directory"
	t_run_fails as_user "$U" srun -N1 --vm-image=ttylinux-mpi --vm-mounts=data true
	t_match "--vm-mounts: 'data' is not an absolute path" "$T_ERR" "a syntax error names the option"
}

test_vm_mounts() {
	t_begin "--vm-mounts: an allowed directory at its DST, read-only; a forbidden one refused with the reason"
	t_run_ok as_user "$U" srun -N1 --vm-image=ttylinux-mpi --vm-mounts="$BASE/scratch/$U:/data:ro,/etc" \
		sh -c 'cat /data/in.txt; touch /data/new 2>/dev/null && echo wrote || echo read-only'
	t_match "^from-the-host$" "$T_OUT" "the share at /data"
	t_match "^read-only$" "$T_OUT" ":ro is read-only in the guest"
	t_eq "" "$(ls "$BASE/scratch/$U/new" 2>/dev/null)" "nothing written on the host"
	t_match "warning: --vm-mounts /etc is not shared with the VM: it is a system directory \(/etc\)" "$T_ERR" "forbidden mount refused"
}

test_root_guest() {
	t_begin "root in the guest: pinned to its MAC and address, cannot reach slurmd, imagecastd or another job's VM; the job's VMs still reach each other"
	local h id id2 k out=$T_TMP/root.out out2=$T_TMP/other-job.out node1 vm2 other tap
	h=$(home_of $U)
	node1=$(ip -n "${NS}node1" -4 -o addr show dev xenvmbr0 | awk '{print $4}' | cut -d/ -f1)
	# another job's VM on node2, to be out of reach
	timeout 250 "$CL" run --user "$U2" --chdir "$(home_of $U2)" -- srun -N1 -w node2 --vm-image=ttylinux-mpi sh -c 'echo up $XENVM_VM_IP; sleep 120' >"$out2" 2>&1 &
	for ((k = 0; k < 1500; k++)); do grep -qs "^up " "$out2" && break; sleep 0.1; done
	other=$(sed -n 's/^up //p' "$out2")
	id2=$("$CL" run -- squeue -h -u "$U2" -o %i | head -1)
	[ -n "$other" ] || { t_fail "the other job did not start: $(cat "$out2")"; return; }
	timeout 250 "$CL" run --user "$U" --chdir "$h" -- srun -N2 --vm-root --export=ALL,XENVM_EXEC_ROOT=1 --vm-image=ttylinux-mpi sh -c 'echo up $SLURM_NODEID $XENVM_VM_IP $(id -u); sleep 150' >"$out" 2>&1 &
	for ((k = 0; k < 1500; k++)); do [ "$(grep -c "^up " "$out")" = 2 ] && break; sleep 0.1; done
	[ "$(grep -c "^up " "$out")" = 2 ] || { t_fail "tasks did not start: $(cat "$out")"; return; }
	id=$("$CL" run -- squeue -h -u "$U" -o %i | head -1)
	vm2=$(sed -n 's/^up 1 \([0-9.]*\) .*/\1/p' "$out")
	t_match "^up 0 [0-9.]+ 0$" "$(cat "$out")" "root in the guest"
	tap=$(tap_of "$id")
	t_match "iifname \"$tap\"" "$(ip netns exec "${NS}node1" nft list table bridge "xenvm_job$id" 2>&1)" "node1 pins $tap"
	rx() { "$CL" exec --user "$U" node1 -- env XENVM_EXEC_ROOT=1 "$EXEC" --root --socket "/run/xenvm/job/$id/vm0/agent.sock" -- "$@"; }
	t_run_ok rx sh -c "ping -c 2 -W 2 $vm2 >/dev/null && echo reached"
	t_eq reached "$T_OUT" "the job's other VM, from its own address"
	t_run_ok rx sh -c "ping -c 2 -W 2 $other >/dev/null && echo reached || echo blocked"
	t_eq blocked "$T_OUT" "another job's VM"
	# The node, from an address in its own subnet (a TCP connect within 3 s; slurmd and imagecastd
	# listen there, so without the pin both say "open", VMJOB_PIN=off).  From the guest's own
	# address the test network cannot tell: the node has no route back to the guests' subnet.
	t_run_ok rx sh -c "ip addr add ${node1%.*}.250/24 dev eth0; for p in 6818 7420; do timeout 5 nc -w 3 $node1 \$p </dev/null >/dev/null 2>&1 && echo open || echo closed; done; ip addr del ${node1%.*}.250/24 dev eth0"
	t_eq "closed closed" "$(echo $T_OUT)" "slurmd and imagecastd on node1 from a spoofed address"
	# Another VM's address and MAC: nothing leaves, and the real owner is not disturbed.
	t_run_ok rx sh -c "ip link set eth0 down; ip link set eth0 address 52:54:00:aa:bb:cc; ip link set eth0 up; ping -c 2 -W 2 $vm2 >/dev/null && echo reached || echo blocked"
	t_eq blocked "$T_OUT" "a forged MAC is dropped"
	"$CL" run -- scancel "$id" "$id2"
	wait
	wait_clean "$id" node1 node2
	# MPI across a root job's pinned VMs
	t_run_ok as_user "$U" srun -N2 -n2 --mpi=pmi2 --vm-root --vm-image=ttylinux-mpi ./mpi-hello
	t_match '^allreduce ok: 2 of 2 ranks$' "$T_OUT" "MPI across the root job's VMs"
	t_eq "" "$(ip netns exec "${NS}node1" nft list tables bridge 2>&1 | grep "xenvm_job$id\$")" "the pin is gone after the Epilog"
}

# VM_JOB_TESTS="test_pty test_vm_lost" (or VMJOB_ONLY=..., e.g. with VMJOB_PIN=off): only those
# tests (after setup), for working on them.
only=${VM_JOB_TESTS:-${VMJOB_ONLY:-}}
if [ -n "$only" ]; then
	setup && for t in $only; do "$t"; done
else setup && {
	test_share_refused
	test_vm_mounts
	test_root_guest
	test_demo_job
	test_hydra
	test_batch_2x2
	test_step_vm
	test_mpi_srun
	test_exit_code
	test_signal_kill
	test_signal_segv
	test_batch_signal
	test_exec_errors
	test_pty
	test_pty_salloc
	test_pty_attach
	test_vm_lost
	test_cancel
	test_broken_image
	test_other_user
	test_cache_reuse
	test_crash_recovery
	test_orphan_prolog
}; fi
t_begin "teardown: cluster down leaves nothing"
t_run_ok "$CL" down
t_summary

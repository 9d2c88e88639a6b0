#!/bin/bash
# test_xen_slurm.sh - Slurm on Xen nodes (issue 4): 2 Xen nodes (tests/xen/xen-slurm) whose dom0s
# run munged, imagecastd and slurmd with the project's plugin, Prolog and Epilog and the `xen`
# driver; slurmctld and munged on this host.  As an ordinary user:
#  - sbatch -N2 --vm-image=ttylinux-mpi examples/mpi-hello.sh: the image goes from xnode1 (which
#    reads the store) to xnode2 by imagecastd, each dom0 boots a DomU through libxenlight, the
#    batch script and `srun --mpi=pmi2` ranks run in the DomUs (the user's home reaches them over
#    Xen 9pfs) and report /sys/hypervisor/guest_type, the job exits 0, after the Epilog `xl list`
#    in each dom0 shows only Domain-0;
#  - scancel mid-run: the tasks in both DomUs get SIGTERM, the Epilog leaves only Domain-0;
#  - root in the guest, contained (issue 14): the 9pfs backend QEMU runs as the user in each
#    dom0; a --vm-root job's guest root fails every escape on the home share, and from it
#    the network pin stops spoofing and the node's services while the job's VMs still talk;
#  - an image that boots but never gets ready: the job fails with the reason, no node drains.
# A missing prerequisite is a failure, never a skip.
# Last line: "xen-slurm: N passed, N failed"; exit status 0 only when nothing failed.

# t_ok and t_ko always succeed, so `CHECK && t_ok ... || t_ko ...` is an if-then-else here.
# shellcheck disable=SC2015
set -uo pipefail

T_SUITE=xen-slurm
# shellcheck source=tests/xen/testlib.sh
. "$(dirname "$0")/testlib.sh"
XS=$ROOT/tests/xen/xen-slurm
export XVS_BASE=${XVS_BASE:-$B/xen-slurm}
U=xvuser
JOB_TIMEOUT=${XVS_JOB_TIMEOUT:-600}
echo "host load at start: $(uptime)"

# The harness, not xen-node alone, is what this suite starts and stops.
UP=0
stop_all() {
	local p
	# sruns still in the background (a suite stopped halfway)
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	if [ "$UP" = 1 ]; then
		UP=0
		"$XS" down >/dev/null 2>&1 || t_ko "xen-slurm down"
	fi
}
t_at_exit stop_all

run() { "$XS" run "$@"; }
as_user() { "$XS" run --user "$U" -- "$@"; }
home_of() { getent passwd "$1" | cut -d: -f6; }
job_state() {
	run scontrol show job "$1" 2>/dev/null |
		sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p; s/.* ExitCode=\([0-9:]*\).*/\1/p' | xargs
}
# wait_job_end ID: until the job left RUNNING/PENDING/COMPLETING (JOB_TIMEOUT s); 0 when it did.
wait_job_end() {
	local k
	for ((k = 0; k < JOB_TIMEOUT; k++)); do
		case $(job_state "$1") in COMPLETED* | FAILED* | CANCELLED* | TIMEOUT* | NODE_FAIL* | OUT_OF_MEMORY*) return 0 ;; esac
		sleep 1
	done
	return 1
}
# clean_after JOB: every dom0 shows only Domain-0 (waits up to 90 s for the Epilogs), the job's
# state directory and device models are gone, both nodes are idle.
clean_after() {
	local j=$1 i k left
	for ((k = 0; k < 90; k++)); do
		left=""
		for i in 1 2; do
			only_dom0 "$i" >/dev/null 2>&1 || left+=" xnode$i:domain"
			# shellcheck disable=SC2016 # expanded in dom0
			xn "$i" sh -c 'test -e /run/xenvm/job/'"$j"' && echo state
				for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done | grep -E "^(xen-qemu|ld-linux|xenvm-vmd)"' |
				grep -q . && left+=" xnode$i:state/process"
		done
		[ -z "$left" ] && [ "$(run sinfo -h -N -o %T | sort -u | xargs)" = idle ] && break
		sleep 1
	done
	[ -z "$left" ] && t_ok "job $j: only Domain-0 in each dom0 (xl list), no state or device model left, nodes idle" ||
		t_ko "job $j left:$left; sinfo: $(run sinfo -h -N -o '%N %T' | xargs)"
}
console_tails() {
	local i
	for i in 1 2; do
		echo "  -- xnode$i slurmd.log (tail):"
		"$XS" log "$i" 2>/dev/null | grep -v 'debug:' | tail -8 | sed 's/^/  | /'
	done
}

# check_backends JOB: in each dom0 the 9pfs backend QEMU of the job's DomU (libxenlight's
# device model for the PV domain, image/device-model-pid in xenstore) runs as the job's user, with -runas, under the set-id filter, and
# /dev/xen/evtchn is still root's 0600 outside its mount namespace.
check_backends() {
	local i out want
	want="$(id -u $U) $(id -u $U) $(id -u $U) $(id -u $U) runas seccomp=2 evtchn=0:600"
	for i in 1 2; do
		# shellcheck disable=SC2016 # expanded in dom0
		out=$(xn "$i" sh -c 'for d in $(xenstore-list /local/domain); do
				p=$(xenstore-read /local/domain/$d/image/device-model-pid 2>/dev/null) ||
					p=$(xenstore-read /local/domain/$d/image/qdisk-backend-pid 2>/dev/null) || continue
				n=$(xenstore-read /local/domain/$d/name)
				case $n in xenvm-job'"$1"'-*) ;; *) continue ;; esac
				echo $(awk "/^Uid:/ {print \$2, \$3, \$4, \$5}" /proc/$p/status) \
					$(tr "\0" "\n" </proc/$p/cmdline | grep -qx -- -runas && echo runas) \
					seccomp=$(awk "/^Seccomp:/ {print \$2}" /proc/$p/status) \
					evtchn=$(stat -c %u:%a /dev/xen/evtchn)
			done' 2>&1)
		[ "$out" = "$want" ] &&
			t_ok "xnode$i: job $1's 9pfs backend QEMU runs as $U (uid, -runas, set-id filter; /dev/xen/evtchn still root's 0600)" ||
			{
				t_ko "xnode$i: job $1's 9pfs backend: [$out], want [$want]"
				xn "$i" sh -c 'tail -n 5 /var/log/xen/qemu-dm-*.log' 2>&1 | sed 's/^/  | /'
			}
	done
}

# ---------------------------------------------------------------- prerequisites
[ "$(id -u)" = 0 ] || t_fatal "must run as root"
for f in /boot/xen-4.17-amd64.gz /usr/lib/xen-4.17/bin/xl /usr/libexec/xen-qemu-system-i386; do
	[ -e "$f" ] || t_fatal "missing $f (scripts/install-deps: xen-hypervisor-4.17-amd64 xen-utils-4.17 qemu-system-xen)"
done
for t in qemu-system-x86_64 slurmctld slurmd munged mpicc.mpich cpio gzip; do
	command -v $t >/dev/null || t_fatal "missing $t (scripts/install-deps)"
done
for f in "$B/plugins/spank_xenvm.so" "$B/plugins/job_submit_vmimage.so" "$B/prolog/xenvm-prolog" \
	"$B/epilog/xenvm-epilog" "$B/exec/xenvm-exec" "$B/guest/xenvm-agent" \
	"$B/imagecast/imagecastd" "$B/images/images.yaml"; do
	[ -e "$f" ] || t_fatal "missing $f (make && make image)"
done
nm -D "$B/prolog/xenvm-prolog" 2>/dev/null | grep -c libxl_ctx_alloc >/dev/null ||
	t_fatal "$B/prolog/xenvm-prolog is built without the xen driver (libxenlight missing at build time?)"
"$XN" status | grep -q 'no Xen nodes up' || t_fatal "Xen nodes already up (xen-node down first)"
t_ok "prerequisites"

# A broken image: the real kernel with an initrd whose /init prints a line and powers off, so
# the DomU boots but its agent never says ready.
WORK=$(mktemp -d /tmp/xvx-slurm.XXXXXX)
mkdir -p "$WORK/extra/broken" "$WORK/root/bin"
cp /bin/busybox "$WORK/root/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox echo "broken-image: this initrd has no agent"\n/bin/busybox poweroff -f\n' >"$WORK/root/init"
chmod 755 "$WORK/root/init"
(cd "$WORK/root" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) >"$WORK/extra/broken/initrd.gz"
cp "$B/images/ttylinux-mpi/vmlinuz" "$WORK/extra/broken/vmlinuz"
sha() { sha256sum <"$1" | cut -c1-64; }
cat >"$WORK/extra/images.yaml" <<EOF
  broken:
    description: "boots, never gets ready (tests)"
    files:
      kernel: {path: broken/vmlinuz, sha256: $(sha "$WORK/extra/broken/vmlinuz"), size: $(stat -c %s "$WORK/extra/broken/vmlinuz")}
      initrd: {path: broken/initrd.gz, sha256: $(sha "$WORK/extra/broken/initrd.gz"), size: $(stat -c %s "$WORK/extra/broken/initrd.gz")}
    cmdline: "console=hvc0 quiet panic=-1 xen_blkfront.feature_persistent=0"
    memory: {default: 128M, max: 1G}
    features: [xenvm]
EOF
export XVS_EXTRA_IMAGES=$WORK/extra

# ---------------------------------------------------------------- the cluster
t=$EPOCHREALTIME
UP=1
if ! "$XS" up -n 2; then
	UP=0
	t_fatal "xen-slurm up -n 2"
fi
echo "timing: 2 Xen nodes with slurmd, cold up to idle: $(secs "$t") s"
[ "$(run sinfo -h -N -o '%N %T' | xargs)" = "xnode1 idle xnode2 idle" ] &&
	t_ok "sinfo: xnode1 and xnode2 (the dom0s) idle" || t_ko "sinfo: $(run sinfo -h -N -o '%N %T' | xargs)"
for i in 1 2; do
	# shellcheck disable=SC2016 # expanded in dom0
	out=$(xn "$i" sh -c 'echo $(hostname) $(cat /sys/hypervisor/type) $(cat /proc/xen/capabilities) \
		$(cat /proc/$(cat /run/slurmd.pid)/comm)' 2>&1)
	[ "$out" = "xnode$i xen control_d slurmd" ] &&
		t_ok "xnode$i: slurmd runs in Xen's dom0 (hostname, /sys/hypervisor/type, control_d)" ||
		t_ko "xnode$i dom0: $out"
done

h=$(home_of $U)
cp "$ROOT/examples/mpi-hello.c" "$ROOT/examples/mpi-hello.sh" "$h/" && chown "$U:" "$h"/mpi-hello.*
out=$(as_user mpicc.mpich -O2 -o mpi-hello mpi-hello.c 2>&1) && t_ok "mpicc as $U in its home" ||
	t_ko "mpicc: $out"

# ---------------------------------------------------------------- the MPI job
rm -f "$h/xen-mpi.out"
t=$EPOCHREALTIME
out=$(as_user sbatch -N2 --vm-image=ttylinux-mpi -o xen-mpi.out mpi-hello.sh 2>&1)
id=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$out")
if [ -n "$id" ] && wait_job_end "$id"; then
	echo "timing: sbatch -N2 mpi-hello.sh, submit to end: $(secs "$t") s"
	st=$(job_state "$id")
	[ "$st" = "COMPLETED 0:0" ] && t_ok "job $id: COMPLETED, exit code 0:0" || t_ko "job $id: $st"
else
	t_ko "job did not run or end within $JOB_TIMEOUT s: $out (state: $(job_state "${id:-0}"))"
	console_tails
fi
o=$(cat "$h/xen-mpi.out" 2>&1)
echo "$o" | sed 's/^/  | /'
[ "$(stat -c %U "$h/xen-mpi.out" 2>&1)" = "$U" ] && t_ok "the job's output file is $U's (home over 9p into dom0)" ||
	t_ko "output file owner: $(stat -c %U "$h/xen-mpi.out" 2>&1)"
grep -qE "^batch script on xnode1, kernel " <<<"$o" && ! grep -qx "batch script on xnode1, kernel $(uname -r)" <<<"$o" &&
	t_ok "the batch script ran in xnode1's DomU (the guest's kernel)" || t_ko "batch script line"
n=$(grep -cE "^rank [01] of 2 on xnode[12]: kernel [^ ]+, hypervisor xen/(PV|PVH), in a VM: yes$" <<<"$o")
nodes=$(sed -n 's/^rank [01] of 2 on \(xnode[12]\):.*/\1/p' <<<"$o" | sort | xargs)
[ "$n" = 2 ] && [ "$nodes" = "xnode1 xnode2" ] &&
	t_ok "srun --mpi=pmi2: one rank in each node's DomU, guest_type $(sed -n 's/.*hypervisor xen\/\([A-Z]*\),.*/\1/p' <<<"$o" | sort -u | xargs)" ||
	t_ko "ranks in DomUs: $n lines, nodes '$nodes'"
grep -qx "allreduce ok: 2 of 2 ranks" <<<"$o" && t_ok "MPI_Allreduce across the two DomUs" || t_ko "allreduce"
grep -qE "^xenvm: xnode2: image ttylinux-mpi: [0-9.]+ MiB fetched in [0-9.]+ s; xen VM booted and ready in [0-9.]+ s at 10\.184\." <<<"$o" &&
	t_ok "xnode2 fetched the image (--vm-verbose) and booted a xen VM" || t_ko "xnode2's --vm-verbose line"
grep -qE "^xenvm: xnode1: image ttylinux-mpi: .*; xen VM booted and ready in" <<<"$o" &&
	t_ok "xnode1 booted a xen VM (--vm-verbose)" || t_ko "xnode1's --vm-verbose line"
# Who sent xnode2 its bytes: imagecastd's log on xnode2 names its parent in the tree.
log2=$(cat "${XVX_STATE:-/run/xvxen}/node2/spool/log/imagecastd.log" 2>&1)
grep -qE "published in .* [0-9]+ bytes over the network from xnode1" <<<"$log2" && t_ok "xnode2's imagecastd received from xnode1 (broadcast between the dom0s)" ||
	t_ko "imagecastd on xnode2: $(tail -5 <<<"$log2" | tr '\n' '|')"
for v in $(sed -n 's/^xenvm: \(xnode[12]\): .* ready in \([0-9.]*\) s .*/\1=\2/p' <<<"$o"); do
	echo "figure: Prolog boot to ready through Slurm, first job (image fetched, vmlinux derived), ${v%=*}: ${v#*=} s"
done
[ -n "${id:-}" ] && clean_after "$id"
# The xen driver derived the uncompressed kernel beside the cached bzImage, once per node
# (vm/kernel.c): the next boots skip libxenlight's decompression.
for n in xnode1 xnode2; do
	d=$("$XS" exec $n -- sh -c 'for f in /var/cache/xenvm/images/*/kernel.vmlinux; do head -c 4 "$f" | od -An -c | tr -d " "; done' 2>&1)
	[ "$d" = "177ELF" ] && t_ok "$n: the xen driver derived kernel.vmlinux (an ELF) in the image's cache directory" ||
		t_ko "$n: derived kernel: [$d]"
done

# ---------------------------------------------------------------- scancel mid-run
rm -f "$h"/term.*
# shellcheck disable=SC2016 # expanded in the guest
timeout "$JOB_TIMEOUT" "$XS" run --user "$U" -- srun -N2 --vm-image=ttylinux-mpi --vm-verbose sh -c \
	'trap "echo TERM >$HOME/term.\$SLURM_NODEID; exit 0" TERM; echo started; while :; do sleep 1; done' \
	>"$WORK/cancel.out" 2>&1 &
for ((k = 0; k < JOB_TIMEOUT; k++)); do
	[ "$(grep -c '^started$' "$WORK/cancel.out")" = 2 ] && break
	sleep 1
done
id=$(run squeue -h -u "$U" -o %i | head -1)
if [ "$(grep -c '^started$' "$WORK/cancel.out")" = 2 ] && [ -n "$id" ]; then
	t_ok "job $id: tasks started in both DomUs"
	for v in $(sed -n 's/^xenvm: \(xnode[12]\): .* ready in \([0-9.]*\) s .*/\1=\2/p' "$WORK/cancel.out"); do
		echo "figure: Prolog boot to ready through Slurm, second job (cache hit, vmlinux there), ${v%=*}: ${v#*=} s"
	done
	check_backends "$id"
	run scancel "$id"
	wait
	wait_job_end "$id" && t_ok "job $id ended after scancel: $(job_state "$id")" || t_ko "job $id did not end"
	for ((k = 0; k < 30; k++)); do [ -f "$h/term.0" ] && [ -f "$h/term.1" ] && break; sleep 1; done
	[ "$(cat "$h/term.0" "$h/term.1" 2>&1 | xargs)" = "TERM TERM" ] &&
		t_ok "SIGTERM reached the task in both DomUs (files written into the home over 9pfs)" ||
		t_ko "SIGTERM in the guests: $(cat "$h/term.0" "$h/term.1" 2>&1 | xargs)"
	clean_after "$id"
else
	t_ko "scancel: tasks did not start: $(tr '\n' '|' <"$WORK/cancel.out")"
	console_tails
	wait
fi

# ---------------------------------------------------------------- root in the guest, contained
# (issue 14) --vm-root on the xen driver: the guest's root tries, on the home share, what a
# root on the host could; each attempt fails, nothing root-owned, set-id or device-typed
# appears on the host; from the root guest on xnode1: the job's other VM is reached, another
# job's VM is not, slurmd and imagecastd on the node are not (from a spoofed address in the
# nodes' subnet), a forged MAC gets nothing through (nftables pin on the vif, in dom0).
E=$h/esc
rm -rf "$E" && mkdir -p "$E/locked" && chown "$U:" "$E" && chmod 755 "$E" "$E/locked"
echo "secret-of-xvuser2" >"$E/secret" && chown xvuser2: "$E/secret" && chmod 600 "$E/secret"
echo "outside-the-share" >/etc/xvx-outside-target
ln -s /etc/xvx-outside-target "$E/link" && chown -h "$U:" "$E/link"
cat >"$E/attempts.sh" <<'EOS'
E=$1
r() { if eval "$2" >/dev/null 2>&1; then echo "$1: DONE"; else echo "$1: denied"; fi; }
echo "id=$(id -u)"
echo by-root >"$E/rootfile" && echo "wrote rootfile"
r read-other "cat $E/secret"
r write-locked "echo x >$E/locked/new"
r chown-root "chown 0:0 $E/rootfile"
r chown-other "chown 0:0 $E/secret"
r setuid "cp /bin/busybox $E/suid && chmod 4755 $E/suid"
r setuid-own "chmod 4755 $E/rootfile"
r setgid "chmod 2755 $E/rootfile"
r mknod-c "mknod $E/devc c 1 3"
r mknod-b "mknod $E/devb b 8 0"
r symlink-out "grep -q outside-the-share $E/link"
EOS
chown "$U:" "$E/attempts.sh"
before=$(find "$E" -user 0 | sort)
# another job's VM on xnode2, to be out of reach
timeout "$JOB_TIMEOUT" "$XS" run --user "$U" -- srun -N1 -w xnode2 --vm-image=ttylinux-mpi sh -c \
	'echo other-up $XENVM_VM_IP; sleep 300' >"$WORK/other.out" 2>&1 &
opid=$!
for ((k = 0; k < JOB_TIMEOUT; k++)); do
	grep -q "^other-up " "$WORK/other.out" && break
	kill -0 $opid 2>/dev/null || break # srun failed
	sleep 1
done
other=$(sed -n 's/^other-up //p' "$WORK/other.out")
id2=$(run squeue -h -u "$U" -o %i | head -1)
# shellcheck disable=SC2016 # expanded in the guest
timeout "$JOB_TIMEOUT" "$XS" run --user "$U" -- srun -N2 --vm-root --export=ALL,XENVM_EXEC_ROOT=1 \
	--vm-image=ttylinux-mpi sh -c 'echo up $SLURM_NODEID $XENVM_VM_IP $(id -u); sleep 300' >"$WORK/root.out" 2>&1 &
rpid=$!
for ((k = 0; k < JOB_TIMEOUT; k++)); do
	[ "$(grep -c "^up " "$WORK/root.out")" = 2 ] && break
	kill -0 $rpid 2>/dev/null || break # srun failed
	sleep 1
done
id=$(run squeue -h -u "$U" -o %i --sort=-i | head -1)
if [ -n "$other" ] && [ "$(grep -c "^up " "$WORK/root.out")" = 2 ] && [ "$id" != "$id2" ]; then
	t_ok "a --vm-root job ($id, both DomUs) beside another job ($id2, on xnode2)"
	grep -qE "^up 0 [0-9.]+ 0$" "$WORK/root.out" && t_ok "root in the guest (uid 0 in xnode1's DomU)" ||
		t_ko "root in the guest: $(tr '\n' '|' <"$WORK/root.out")"
	check_backends "$id"
	vm2=$(sed -n 's/^up 1 \([0-9.]*\) .*/\1/p' "$WORK/root.out")
	# A command as root in the job's DomU on xnode1, through its agent socket in dom0.
	rx() { xn 1 env XENVM_EXEC_ROOT=1 "$B/exec/xenvm-exec" --root --socket "/run/xenvm/job/$id/vm0/agent.sock" -- "$@"; }
	out=$(rx sh "$E/attempts.sh" "$E" 2>&1)
	echo "$out" | sed 's/^/  | /'
	grep -qx "id=0" <<<"$out" && grep -qx "wrote rootfile" <<<"$out" &&
		t_ok "guest root writes a file in the user's home" || t_ko "guest root's write: $(tr '\n' '|' <<<"$out")"
	[ "$(stat -c %U "$E/rootfile" 2>&1)" = "$U" ] && t_ok "the file guest root wrote is $U's on the host" ||
		t_ko "rootfile owner: $(stat -c %U "$E/rootfile" 2>&1)"
	for a in read-other write-locked chown-root chown-other setuid setuid-own setgid mknod-c mknod-b symlink-out; do
		grep -qx "$a: denied" <<<"$out" && t_ok "guest root on the share: $a fails" ||
			t_ko "guest root on the share: $a: $(grep "^$a:" <<<"$out")"
	done
	t_eq_host() { [ "$2" = "$3" ] && t_ok "$1" || t_ko "$1: [$3], want [$2]"; }
	t_eq_host "on the host: nothing new owned by root" "$before" "$(find "$E" -user 0 | sort)"
	t_eq_host "on the host: nothing set-id" "" "$(find "$E" -perm /6000)"
	t_eq_host "on the host: no device node" "" "$(find "$E" -type b -o -type c)"
	t_eq_host "on the host: another user's file unchanged" "secret-of-xvuser2 xvuser2 600" \
		"$(cat "$E/secret") $(stat -c '%U %a' "$E/secret")"
	# The network, from the root guest on xnode1.
	tbl=$(xn 1 nft list table bridge "xenvm_job$id" 2>&1)
	grep -q "iifname \"$(xv_tap_name "$id" vm0)\"" <<<"$tbl" &&
		t_ok "xnode1's dom0 pins the DomU's vif (nftables bridge table xenvm_job$id)" ||
		t_ko "pin table on xnode1: $(head -5 <<<"$tbl" | tr '\n' '|')"
	out=$(rx sh -c "ping -c 2 -W 3 $vm2 >/dev/null && echo reached || echo blocked" 2>&1)
	[ "$out" = reached ] && t_ok "the job's other VM ($vm2) reached from the root guest" || t_ko "job's other VM: $out"
	out=$(rx sh -c "ping -c 2 -W 3 $other >/dev/null && echo reached || echo blocked" 2>&1)
	[ "$out" = blocked ] && t_ok "another job's VM ($other) out of reach" || t_ko "another job's VM: $out"
	# dom0's slurmd and imagecastd, the controller's slurmctld, from an address in the nodes'
	# subnet (without the pin each answers there); munged listens on local sockets only.
	out=$(rx sh -c "ip addr add 10.84.0.250/24 dev eth0; for t in 10.84.0.1:6818 10.84.0.1:7420 10.84.0.254:6817; do timeout 5 nc -w 3 \${t%:*} \${t#*:} </dev/null >/dev/null 2>&1 && echo open || echo closed; done; ip addr del 10.84.0.250/24 dev eth0" 2>&1 | xargs)
	[ "$out" = "closed closed closed" ] &&
		t_ok "from a spoofed address: slurmd and imagecastd in xnode1's dom0, slurmctld on the controller unreachable" ||
		t_ko "slurmd/imagecastd/slurmctld from a spoofed address: $out"
	out=$(rx sh -c "ip link set eth0 down; ip link set eth0 address 00:16:3e:aa:bb:cc; ip link set eth0 up; ping -c 2 -W 3 $vm2 >/dev/null && echo reached || echo blocked" 2>&1)
	[ "$out" = blocked ] && t_ok "a forged MAC gets nothing through" || t_ko "forged MAC: $out"
	run scancel "$id" "$id2"
	wait
	wait_job_end "$id"
	wait_job_end "$id2"
	clean_after "$id"
	clean_after "$id2"
	[ -z "$(xn 1 nft list tables bridge 2>&1 | grep "xenvm_job$id\$")" ] &&
		t_ok "the pin is gone after the Epilog" || t_ko "pin left: $(xn 1 nft list tables bridge 2>&1 | xargs)"
else
	t_ko "root job: other job '$other' ($id2), root job $id: $(tr '\n' '|' <"$WORK/root.out") $(tr '\n' '|' <"$WORK/other.out")"
	console_tails
	run scancel "$id" "$id2"
	wait
fi
rm -f /etc/xvx-outside-target

# ---------------------------------------------------------------- a dom0 without xenvm-xen-dm
# xnode2's libxenlight QEMU execs QEMU directly, as before the wrapper: its 9pfs backend runs
# as root, so a --vm-root job is refused there with the reason, as the job's fault (the node
# stays up); then the wrapper is put back.
QX=/usr/libexec/xen-qemu-system-i386
SP2=${XVX_STATE:-/run/xvxen}/node2/spool
printf '#!/bin/sh\nexec /share/qemu-xen/lib/ld-linux-x86-64.so.2 --library-path /share/qemu-xen/lib /share/qemu-xen/xen-qemu-system-i386 "$@"\n' >"$SP2/qemu-direct"
xn 2 sh -c "cp $QX /spool/qemu-wrapped && cp /spool/qemu-direct $QX && chmod 755 $QX" ||
	t_ko "xnode2: could not put the direct QEMU in place"
out=$(timeout "$JOB_TIMEOUT" "$XS" run --user "$U" -- srun -N1 -w xnode2 --vm-root --vm-image=ttylinux-mpi true 2>&1)
rc=$?
[ $rc != 0 ] && grep -q "9pfs backend (dom0 QEMU) runs as uid 0, not as the job's user $(id -u $U)" <<<"$out" &&
	t_ok "without xenvm-xen-dm: --vm-root refused with the reason (rc $rc)" ||
	t_ko "without xenvm-xen-dm, --vm-root (rc $rc): $(tr '\n' '|' <<<"$out")"
id=$(run scontrol show jobs 2>/dev/null | sed -n 's/^JobId=\([0-9]*\).*/\1/p' | sort -n | tail -1)
[ -n "$id" ] && clean_after "$id"
xn 2 sh -c "cp /spool/qemu-wrapped $QX && chmod 755 $QX" || t_ko "xnode2: could not put the wrapper back"

# ---------------------------------------------------------------- a broken image
t=$EPOCHREALTIME
out=$(timeout "$JOB_TIMEOUT" "$XS" run --user "$U" -- srun -N2 --vm-image=broken true 2>&1)
rc=$?
echo "timing: broken image, srun to failure: $(secs "$t") s"
[ $rc != 0 ] && grep -qE "^xenvm: VM for job [0-9]+ on xnode[12]: " <<<"$out" &&
	grep -q "broken-image: this initrd has no agent" <<<"$out" &&
	t_ok "broken image: srun fails (rc $rc) with the reason and the guest's console line" ||
	t_ko "broken image (rc $rc): $(tr '\n' '|' <<<"$out")"
id=$(run scontrol show jobs 2>/dev/null | sed -n 's/^JobId=\([0-9]*\).*/\1/p' | sort -n | tail -1)
[ -n "$id" ] && clean_after "$id"
[ "$(run sinfo -h -N -o '%N %T' | xargs)" = "xnode1 idle xnode2 idle" ] &&
	t_ok "no node drained by the broken image" || t_ko "nodes after the broken image: $(run sinfo -h -N -o '%N %T' | xargs)"

# ---------------------------------------------------------------- teardown
UP=0
"$XS" down && t_ok "xen-slurm down" || t_ko "xen-slurm down"
check_nothing_left
[ -e "$XVS_BASE/run/slurmctld.pid" ] && t_ko "slurmctld pid file left" ||
	t_ok "slurmctld and munged stopped"
echo "host load at end: $(uptime)"

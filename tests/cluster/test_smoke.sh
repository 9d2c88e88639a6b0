#!/bin/bash
# test_smoke.sh — the cluster harness's own test: a cold `cluster up`, jobs as root and as an
# ordinary user, per-node local disk and /run/xenvm, idempotent `up`, and a `down` that leaves no
# process, namespace or mount behind. Needs root. Prints timings of `up` and of the first srun.
#
# Usage: tests/cluster/test_smoke.sh [--plugins] [-n N]
#   --plugins   also load the project's plugins from CLUSTER_PLUGIN_DIR (default <repo>/build/plugins):
#               spank_xenvm.so via plugstack and JobSubmitPlugins=vmimage, unless cluster.env or the
#               environment already configure them; the .so files must exist (missing = FAIL).
#               Without it the project's knobs are blanked, so a leftover cluster.env cannot interfere.
#   -n N        number of nodes (default 4, at least 2)
# Honours XENVM_CLUSTER_DIR like `cluster` does.
# No `set -e`: testlib records failures and carries on (see tests/lib/testlib.sh).

# Commands in single quotes are meant to expand on the nodes, not here.
# shellcheck disable=SC2016
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CLUSTER=$HERE/cluster
export XENVM_CLUSTER_DIR=${XENVM_CLUSTER_DIR:-$REPO/build/cluster}
BASE=$XENVM_CLUSTER_DIR
PLUGINS=0
N=4
while [ $# -gt 0 ]; do
	case $1 in
	--plugins) PLUGINS=1; shift ;;
	-n) N=$2; shift 2 ;;
	*) echo "usage: $0 [--plugins] [-n N]" >&2; exit 2 ;;
	esac
done

# shellcheck source-path=SCRIPTDIR source=../lib/testlib.sh
source "$HERE/../lib/testlib.sh"
T_LOGS=("$BASE/log/slurmctld.log")
for ((i = 1; i <= N; i++)); do T_LOGS+=("$BASE/log/slurmd-node$i.log"); done
T_LOG_LINES=15
t_on_fail() { "$CLUSTER" status 2>&1 | sed 's/^/    status | /' || true; }

# Sorted output lines, space-separated.
lines() { printf '%s\n' "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
expect_nodes() { local i s=""; for ((i = 1; i <= $1; i++)); do s+="node$i "; done; echo "${s% }"; }

[ "$(id -u)" = 0 ] || { echo "test_smoke.sh: must run as root" >&2; exit 1; }
[ "$N" -ge 2 ] || { echo "test_smoke.sh: -n must be at least 2" >&2; exit 1; }

# ---------------------------------------------------------------- configuration
if [ "$PLUGINS" = 1 ]; then
	eval "$("$CLUSTER" env | grep -E '^CLUSTER_(PLUGIN_DIR|PLUGSTACK|JOB_SUBMIT)=')"
	[ -n "$CLUSTER_PLUGSTACK" ] || export CLUSTER_PLUGSTACK="required $CLUSTER_PLUGIN_DIR/spank_xenvm.so"
	[ -n "$CLUSTER_JOB_SUBMIT" ] || export CLUSTER_JOB_SUBMIT=vmimage
else
	# The environment wins over cluster.env: blank every project-specific knob.
	export CLUSTER_PLUGSTACK="" CLUSTER_JOB_SUBMIT="" CLUSTER_PROLOG="" CLUSTER_EPILOG="" \
		CLUSTER_ENV="" CLUSTER_FEATURES="" CLUSTER_EXTRA_CONF=/dev/null CLUSTER_PLUGIN_DIR=/nonexistent
fi
export CLUSTER_NODES=$N
# Namespace names as the harness resolves them (environment, cluster.env, defaults).
eval "$("$CLUSTER" env | grep -E '^CLUSTER_(CTL_NS|NODE_NS)=')"
# shellcheck disable=SC2153  # set by the eval above
OUR_NS="^(${CLUSTER_CTL_NS}|${CLUSTER_NODE_NS}[0-9]+)\$"

# ---------------------------------------------------------------- tests
t_begin "prerequisites"
t_need slurmctld slurmd slurmstepd munged nsenter unshare setpriv ip
if [ "$PLUGINS" = 1 ]; then
	t_need "$CLUSTER_PLUGIN_DIR/spank_xenvm.so" "$CLUSTER_PLUGIN_DIR/job_submit_vmimage.so"
fi

# Whatever state it was in: start cold, so that the timing of `up` means something.
t_run_ok "$CLUSTER" down

t_begin "cold cluster up (-n $N)"
t_run_ok "$CLUSTER" up -n "$N"
UP_TIME=$(t_elapsed)
echo "    timing: cluster up (cold, $N nodes) ${UP_TIME}s"

t_begin "first srun -N$N hostname as root"
t_run_ok "$CLUSTER" run -- srun -N"$N" hostname
SRUN_TIME=$(t_elapsed)
echo "    timing: first srun -N$N hostname ${SRUN_TIME}s"
t_eq "$(expect_nodes "$N")" "$(lines "$T_OUT")" "hostnames"

t_begin "srun -N$N as xvuser runs as xvuser on every node"
t_run_ok "$CLUSTER" run --user xvuser -- srun -N"$N" sh -c 'echo $(hostname) $(id -un)'
t_eq "$(for ((i = 1; i <= N; i++)); do printf 'node%d xvuser\n' "$i"; done | tr '\n' ' ' | sed 's/ $//')" \
	"$(lines "$T_OUT")" "host and user"

t_begin "client wrappers in \$BASE/bin work for root from the root namespace"
# The previous test's job may still be completing on a node (its Epilog): idle comes after.
for ((k = 0; k < 100; k++)); do
	[ "$("$BASE/bin/sinfo" -h -o '%D %T' 2>/dev/null)" = "$N idle" ] && break
	sleep 0.1
done
t_run_ok "$BASE/bin/sinfo" -h -o '%D %T'
t_eq "$N idle" "$T_OUT" "sinfo"

# Submit `srun hostname` on 2 nodes as $1 in directory $2, wait for completion, check the output file.
sbatch_as() {
	local user=$1 dir=$2 runas=() id state k
	[ "$user" = root ] || runas=(--user "$user")
	t_run_ok "$CLUSTER" run "${runas[@]}" --chdir "$dir" -- sbatch --parsable -N2 --wrap 'srun hostname' || return
	id=$T_OUT
	t_match '^[0-9]+$' "$id" "job id" || return
	for ((k = 0; k < 300; k++)); do
		state=$("$CLUSTER" run -- scontrol show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
		case $state in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL) break ;; esac
		sleep 0.1
	done
	echo "    timing: sbatch as $user: submit to $state in $(t_elapsed)s"
	t_eq COMPLETED "$state" "job $id state" || return
	local out=$dir/slurm-$id.out
	t_need "$out" || return
	t_eq "$user" "$(stat -c %U "$out")" "owner of $out"
	t_match '^node[0-9]+ node[0-9]+$' "$(lines "$(cat "$out")")" "$out"
	t_eq 2 "$(sort -u "$out" | wc -l)" "distinct nodes in $out"
}

t_begin "sbatch -N2 --wrap 'srun hostname' as xvuser, output in its home"
sbatch_as xvuser "$(getent passwd xvuser | cut -d: -f6)"

t_begin "sbatch -N2 --wrap 'srun hostname' as root"
mkdir -p "$BASE/out/smoke"
sbatch_as root "$BASE/out/smoke"

t_begin "each node has its own local dir and /run/xenvm"
rm -f /run/xenvm/smoke-marker
for ((i = 1; i <= N; i++)); do
	t_run_ok "$CLUSTER" exec "node$i" -- sh -c \
		'hostname >"$XENVM_CLUSTER_DIR/local/smoke-marker" && hostname >/run/xenvm/smoke-marker && hostname'
	t_eq "node$i" "$T_OUT" "hostname seen by cluster exec node$i"
done
for ((i = 1; i <= N; i++)); do
	t_eq "node$i" "$(cat "$BASE/nodes/node$i/local/smoke-marker" 2>&1)" "nodes/node$i/local/smoke-marker"
	t_eq "node$i" "$(cat "$BASE/nodes/node$i/run-xenvm/smoke-marker" 2>&1)" "nodes/node$i/run-xenvm/smoke-marker"
done
[ ! -e /run/xenvm/smoke-marker ] || t_fail "/run/xenvm of the root namespace got a marker: the bind mounts leak"
[ ! -e "$BASE/local/smoke-marker" ] || t_fail "$BASE/local of the root namespace got a marker: the bind mounts leak"
# Job tasks (started by slurmd, not by `cluster exec`) must see the same per-node view.
t_run_ok "$CLUSTER" run --user xvuser -- srun -N"$N" sh -c \
	'echo $(hostname) $(cat $XENVM_CLUSTER_DIR/local/smoke-marker) $(cat /run/xenvm/smoke-marker)'
t_eq "$(for ((i = 1; i <= N; i++)); do printf 'node%d node%d node%d\n' "$i" "$i" "$i"; done | tr '\n' ' ' | sed 's/ $//')" \
	"$(lines "$T_OUT")" "hostname, local marker, /run/xenvm marker as seen by each task"

if [ "$PLUGINS" = 1 ]; then
	t_begin "project plugins loaded: srun --help lists --vm-image"
	t_run_ok "$CLUSTER" run -- srun --help
	t_match '--vm-image' "$T_OUT" "srun --help"
	t_begin "project plugins loaded: a plain job (no --vm-image) still runs"
	t_run_ok "$CLUSTER" run --user xvuser -- srun -N"$N" true
fi

t_begin "nodes resolve each other by name through their own /etc/hosts"
NET=$("$CLUSTER" env | sed -n 's/^CLUSTER_NET=//p')
for ((i = 1; i <= N; i++)); do
	t_run_ok "$CLUSTER" exec "node$i" -- getent hosts "node$((i % N + 1))"
	t_match "^$(echo "$NET" | sed 's/\./\\./g')\.$((10 + i % N + 1)) +node$((i % N + 1))\$" "$T_OUT" "node$i resolving node$((i % N + 1))"
done
t_run "$CLUSTER" exec node1 -- getent hosts node$((N + 1))
[ "$T_RC" != 0 ] || t_fail "node$((N + 1)) resolves although the cluster has $N nodes"
t_nomatch "node1" "$(cat /etc/hosts)" "the machine's own /etc/hosts"

t_begin "up again is a no-op (same daemons) and fast"
before=$(cat "$BASE/run/slurmctld.pid" "$BASE"/run/slurmd-node*.pid 2>/dev/null | tr '\n' ' ')
t_run_ok "$CLUSTER" up -n "$N"
after=$(cat "$BASE/run/slurmctld.pid" "$BASE"/run/slurmd-node*.pid 2>/dev/null | tr '\n' ' ')
t_eq "$before" "$after" "daemon PIDs"
echo "    timing: second up $(t_elapsed)s"

t_begin "status and wait-idle"
t_run_ok "$CLUSTER" status
t_run_ok "$CLUSTER" wait-idle 10

t_begin "non-root users cannot use the wrappers from the root namespace, and are told why"
t_run_fails runuser -u xvuser -- "$BASE/bin/sinfo"
t_match 'cluster run --user' "$T_ERR" "stderr"

t_begin "down with a job running leaves no process, namespace or mount behind"
t_run_ok "$CLUSTER" run --user xvuser2 -- sbatch --parsable -N"$N" --wrap 'srun sleep 300'
jobid=$T_OUT
t_wait_for 20 sh -c "'$CLUSTER' run -- squeue -h -j '$jobid' -o %T | grep -qx RUNNING" &&
	t_wait_for 20 sh -c "'$CLUSTER' exec node1 -- pgrep -u xvuser2 -x sleep"
# Everything that must be gone afterwards: processes in our network namespaces, the holders' mount
# namespaces, munged and the daemons of the PID files.
netns_ino=() mntns_ino=() pids=()
for ns in $(ip netns list | awk '{print $1}' | grep -E "$OUR_NS"); do
	netns_ino+=("$(stat -L -c %i "/run/netns/$ns")")
	mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns")
done
for f in "$BASE"/run/holder-node*.pid; do mntns_ino+=("$(stat -L -c %i "/proc/$(cat "$f")/ns/mnt")"); done
pids+=("$(cat "$BASE/munge/munged.pid")")
echo "    ${#pids[@]} processes, ${#netns_ino[@]} network and ${#mntns_ino[@]} mount namespaces before down"
[ "${#pids[@]}" -gt $((2 * N + 2)) ] || t_fail "expected slurmstepd and job tasks to be running, found only ${#pids[@]} processes"
t0=${EPOCHREALTIME/./}
t_run_ok "$CLUSTER" down
t1=${EPOCHREALTIME/./}
echo "    timing: down (with a running job) $(((t1 - t0) / 1000)) ms"
survivors=""
for p in "${pids[@]}"; do
	st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
	[ "$st" = Z ] || survivors+=" $p($(cat "/proc/$p/comm"))"
done
for d in /proc/[0-9]*; do
	[ "$(awk '{print $3}' "$d/stat" 2>/dev/null)" = Z ] && continue
	ino=$(stat -L -c %i "$d/ns/net" 2>/dev/null) || continue
	mino=$(stat -L -c %i "$d/ns/mnt" 2>/dev/null) || continue
	for x in "${netns_ino[@]}" "${mntns_ino[@]}"; do
		if [ "$ino" = "$x" ] || [ "$mino" = "$x" ]; then survivors+=" ${d#/proc/}($(cat "$d/comm" 2>/dev/null))"; fi
	done
done
t_eq "" "$survivors" "processes left after down"
t_eq "" "$(ip netns list | awk '{print $1}' | grep -E "$OUR_NS")" "network namespaces left"
t_eq "" "$(awk -v b="$BASE" -v c="/run/netns/$CLUSTER_CTL_NS" -v n="/run/netns/$CLUSTER_NODE_NS" \
	'index($2, b) == 1 || index($2, c) == 1 || index($2, n) == 1 || $2 == "/run/xenvm"' /proc/mounts)" "mounts left"

t_summary

# shellcheck shell=bash
# Helpers for tests/cluster/cluster: configuration, logging, process and namespace bookkeeping.
# Sourced, never run. Everything here assumes `set -euo pipefail` in the caller.

CLUSTER_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER_REPO=$(cd "$CLUSTER_SRC_DIR/../.." && pwd)

# ---------------------------------------------------------------- messages
# Elapsed time since the command started, in seconds with two decimals (bash 5 EPOCHREALTIME).
_T0=${EPOCHREALTIME/./}
elapsed() { local now=${EPOCHREALTIME/./}; printf '%d.%02d' $(((now - _T0) / 1000000)) $((((now - _T0) / 10000) % 100)); }
say() { printf '[cluster %6ss] %s\n' "$(elapsed)" "$*" >&2; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

# Print the last lines of a log file, framed, to stderr (used whenever a daemon does not come up).
log_tail() {
	local f=$1 n=${2:-30}
	if [ -f "$f" ]; then
		printf -- '----- last %d lines of %s -----\n' "$n" "$f" >&2
		tail -n "$n" "$f" >&2
		printf -- '----- end of %s -----\n' "$f" >&2
	else
		printf -- '----- %s does not exist -----\n' "$f" >&2
	fi
}

# ---------------------------------------------------------------- configuration
# Knobs, lowest to highest precedence: defaults below < $BASE/cluster.env (a bash fragment of
# assignments) < variables already in the environment. The resolved values that name things on the
# host (namespaces, bridge, subnet, node count) are saved in $BASE/run/cluster.state by `up`, so that
# down/run/exec/status find what is really there even when called with a different environment.
load_config() {
	BASE=${XENVM_CLUSTER_DIR:-$CLUSTER_REPO/build/cluster}
	case $BASE in /*) ;; *) die "XENVM_CLUSTER_DIR must be an absolute path (got '$BASE')" ;; esac
	BASE=${BASE%/}
	# cluster.env may refer to these.
	export XENVM_CLUSTER_DIR=$BASE CLUSTER_REPO

	if [ -f "$BASE/cluster.env" ]; then
		# The environment wins over the file: remember what the caller set, source, put it back.
		local -A from_env=()
		local v
		for v in $(compgen -v CLUSTER_); do from_env[$v]=${!v}; done
		# shellcheck source=/dev/null
		source "$BASE/cluster.env" || die "cannot read $BASE/cluster.env"
		for v in "${!from_env[@]}"; do printf -v "$v" '%s' "${from_env[$v]}"; done
	fi

	CLUSTER_NODES=${CLUSTER_NODES:-4}
	CLUSTER_CTL_NS=${CLUSTER_CTL_NS:-xvctl}
	CLUSTER_NODE_NS=${CLUSTER_NODE_NS:-xvnode}
	CLUSTER_BRIDGE=${CLUSTER_BRIDGE:-xvbr0}
	CLUSTER_NODE_BRIDGE=${CLUSTER_NODE_BRIDGE:-}
	CLUSTER_NET=${CLUSTER_NET:-10.81.0}
	CLUSTER_CPUS=${CLUSTER_CPUS:-2}
	CLUSTER_REAL_MEMORY=${CLUSTER_REAL_MEMORY:-2000}
	CLUSTER_FEATURES=${CLUSTER_FEATURES:-}
	CLUSTER_PLUGIN_DIR=${CLUSTER_PLUGIN_DIR:-$CLUSTER_REPO/build/plugins}
	CLUSTER_PLUGSTACK=${CLUSTER_PLUGSTACK:-}
	CLUSTER_JOB_SUBMIT=${CLUSTER_JOB_SUBMIT:-}
	CLUSTER_PROLOG=${CLUSTER_PROLOG:-}
	CLUSTER_EPILOG=${CLUSTER_EPILOG:-}
	CLUSTER_PROLOG_FLAGS=${CLUSTER_PROLOG_FLAGS:-Alloc}
	CLUSTER_SCHED_PARAMS=${CLUSTER_SCHED_PARAMS:-batch_sched_delay=0}
	CLUSTER_ENV=${CLUSTER_ENV:-}
	CLUSTER_EXTRA_CONF=${CLUSTER_EXTRA_CONF:-$BASE/slurm.extra.conf}
	CLUSTER_SLURMCTLD_DEBUG=${CLUSTER_SLURMCTLD_DEBUG:-info}
	CLUSTER_SLURMD_DEBUG=${CLUSTER_SLURMD_DEBUG:-info}
	CLUSTER_UP_TIMEOUT=${CLUSTER_UP_TIMEOUT:-60}
	CLUSTER_USERS=${CLUSTER_USERS:-xvuser xvuser2}
	CLUSTER_KEEP_STATE=${CLUSTER_KEEP_STATE:-0}
	CLUSTER_NODE_DAEMON=${CLUSTER_NODE_DAEMON:-}
	CLUSTER_NODE_DAEMON_READY=${CLUSTER_NODE_DAEMON_READY:-}

	# The saved state (if any) overrides the naming knobs for everything except `up`.
	if [ "${1:-}" != up ] && [ -f "$BASE/run/cluster.state" ]; then
		# shellcheck source=/dev/null
		source "$BASE/run/cluster.state"
	fi
	derive_names
}

# Paths and names that follow from the knobs (used by the sourcing script).
# shellcheck disable=SC2034
derive_names() {
	SLURM_CONF=$BASE/etc/slurm.conf
	MUNGE_DIR=$BASE/munge
	MUNGE_SOCK=$MUNGE_DIR/munge.socket
	RUN=$BASE/run
	LOGD=$BASE/log
	CTL_IP=$CLUSTER_NET.1
	CTL_NETNS=/run/netns/$CLUSTER_CTL_NS
	OWNER_TAG=xenvm-cluster:$BASE
}

save_state() {
	# Written before anything is created, so that `down` can clean up after a half-finished `up`.
	cat >"$RUN/cluster.state.new" <<-EOF
		# written by tests/cluster/cluster up; read by down/run/exec/status/wait-idle
		CLUSTER_NODES=$CLUSTER_NODES
		CLUSTER_CTL_NS=$CLUSTER_CTL_NS
		CLUSTER_NODE_NS=$CLUSTER_NODE_NS
		CLUSTER_BRIDGE=$CLUSTER_BRIDGE
		CLUSTER_NODE_BRIDGE=$CLUSTER_NODE_BRIDGE
		CLUSTER_NET=$CLUSTER_NET
		CLUSTER_USERS='$CLUSTER_USERS'
		CLUSTER_ENV='$CLUSTER_ENV'
	EOF
	mv "$RUN/cluster.state.new" "$RUN/cluster.state"
}

node_ip() { echo "$CLUSTER_NET.$((10 + $1))"; }
# eth0's MAC in node namespace $1: the node bridge is given it, as a node's network config pins
# a bridge's address, so that VMs' taps joining and leaving never change the MAC behind the
# node's IP address (peers' ARP caches would point at the old one for ~30 s).
node_mac() { ip -n "$1" -o link show eth0 | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p'; }

# Features of node i: CLUSTER_FEATURES_node<i> if set (even empty), else CLUSTER_FEATURES.
node_features() {
	local var=CLUSTER_FEATURES_node$1
	if [ -n "${!var+set}" ]; then echo "${!var}"; else echo "$CLUSTER_FEATURES"; fi
}

# "node3" or "3" -> 3
node_index() {
	local n=${1#node}
	if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ]; then die "not a node name: '$1' (use nodeN or N)"; fi
	echo "$n"
}

# ---------------------------------------------------------------- processes
# A PID file names a live process.
alive() { [ -s "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

pid_of() { cat "$1" 2>/dev/null || true; }

# Live, non-zombie PIDs whose network namespace is the named one (what `ip netns pids` does,
# minus zombies: an exited process reparented to PID 1 is not ours to worry about).
ns_pids() {
	local ns=$1 p
	[ -e "/run/netns/$ns" ] || return 0
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		[ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
		[ -d "/proc/$p" ] && echo "$p"
	done
}

# Our network namespaces that exist now (nodes first, then the controller).
our_netns() {
	ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^(${CLUSTER_CTL_NS}|${CLUSTER_NODE_NS}[0-9]+)\$" | sort -r || true
}

# Send TERM to the given PIDs, wait up to $2 deciseconds, then KILL what is left.
terminate() {
	local pids=$1 wait=${2:-30} p i left
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086  # word splitting of the PID list is intended
	kill -TERM $pids 2>/dev/null || true
	for ((i = 0; i < wait; i++)); do
		left=
		for p in $pids; do
			kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && left+=" $p"
		done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null || true
}

# Kill every process in the given network namespaces except the PIDs in $2 (node namespace
# holders): TERM, up to 1 s grace (slurmstepd ignores TERM, so no more), then KILL. Repeats because
# slurmd may fork a new slurmstepd while we are at it.
kill_ns_procs() {
	local nss=$1 keep=${2:-} pids p ns round
	for round in 1 2 3 4 5 6 7 8 9 10; do
		pids=
		for ns in $nss; do
			for p in $(ns_pids "$ns"); do
				[[ " $keep " == *" $p "* ]] || pids+=" $p"
			done
		done
		[ -z "$pids" ] && return 0
		if [ "$round" = 1 ]; then terminate "$pids" 10; else
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
			sleep 0.1
		fi
	done
	die "processes in netns $nss survive SIGKILL: $pids"
}

# ---------------------------------------------------------------- running things in namespaces
# Is the controller netns there?
ctl_up() { [ -e "$CTL_NETNS" ]; }

# A client command inside the controller netns, as root, with the cluster's SLURM_CONF.
in_ctl() { nsenter --net="$CTL_NETNS" -- env SLURM_CONF="$SLURM_CONF" "$@"; }

# PID of node i's namespace holder (a `sleep infinity` that owns its UTS and mount namespaces).
holder_pid() {
	local f=$RUN/holder-node$1.pid
	alive "$f" || return 1
	cat "$f"
}

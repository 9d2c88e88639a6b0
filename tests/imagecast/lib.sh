# lib.sh - helpers for imagecast's integration tests and benchmark (sourced, bash).
#
# A "cluster" is N network namespaces icn1..icnN (10.82.0.K/24) joined by the bridge icbr0 in a
# hub namespace ichub, so that nothing in the root namespace changes.  One imagecastd per node, each
# with its own xenvm.yaml and cache under $T/nK; one munged (key A) for everyone, and a second
# munged (key B) for the wrong-key test.  Everything started here is stopped by PID in ic_teardown.

IC_PFX=icn
IC_HUB=ichub
IC_BR=icbr0
IC_NET=10.82.0
IC_PORT=7420

die() { echo "imagecast-tests: FATAL: $*" >&2; exit 1; }

# Missing prerequisites fail loudly: these tests never skip.
ic_require() {
	[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, munged)"
	for c in ip tc munged munge unmunge python3 sha256sum cmp flock; do
		command -v "$c" >/dev/null || die "missing prerequisite: $c"
	done
	[ -x "$ICB/imagecastd" ] && [ -x "$ICB/imagecast" ] || die "build $ICB/imagecastd and imagecast first"
}

# ic_munged NAME: start a munged with its own key and socket under $T/munge-NAME.
ic_munged() {
	local d=$T/munge-$1
	mkdir -p "$d" && chmod 700 "$d"
	dd if=/dev/urandom of="$d/key" bs=1024 count=1 status=none && chmod 600 "$d/key"
	# 9>&-: a daemon that outlives a killed run must not keep the run's lock (fd 9) held.
	munged --force --key-file="$d/key" --socket="$d/sock" --pid-file="$d/pid" \
		--log-file="$d/log" --seed-file="$d/seed" 9>&- || die "munged $1 did not start"
	for _ in $(seq 50); do [ -S "$d/sock" ] && break; sleep 0.1; done
	munge -n -S "$d/sock" | unmunge -S "$d/sock" >/dev/null || die "munged $1 does not work"
}

# ic_net N: namespaces icn1..icnN on a bridge in ichub.
ic_net() {
	local n=$1 k
	IC_N=$n
	ip netns add $IC_HUB || die "cannot create namespace $IC_HUB"
	ip -n $IC_HUB link add $IC_BR type bridge
	ip -n $IC_HUB link set $IC_BR up
	ip -n $IC_HUB link set lo up
	for k in $(seq 1 "$n"); do
		ip netns add $IC_PFX$k || die "cannot create namespace $IC_PFX$k"
		ip -n $IC_HUB link add h$k type veth peer name eth0 netns $IC_PFX$k
		ip -n $IC_HUB link set h$k master $IC_BR up
		ip -n $IC_PFX$k addr add $IC_NET.$k/24 dev eth0
		ip -n $IC_PFX$k link set eth0 up
		ip -n $IC_PFX$k link set lo up
	done
}

# ic_shape RATE: shape every node's link in both directions (node egress and hub egress).
# The bucket (256 KiB, 10 ms at 200 Mbit/s) must hold a whole GSO packet: a smaller one makes tbf
# segment every packet in software, and on 2 CPUs emulating 16 nodes that, not the link, becomes
# the bottleneck (chain N=8, 30 MiB: 2.98 s with 32 KiB, 1.44 s with 256 KiB).
ic_shape() {
	local k
	for k in $(seq 1 "$IC_N"); do
		ip netns exec $IC_PFX$k tc qdisc replace dev eth0 root tbf rate "$1" burst "${IC_TBF_BURST:-256kb}" latency "${IC_TBF_LATENCY:-10ms}"
		ip netns exec $IC_HUB tc qdisc replace dev h$k root tbf rate "$1" burst "${IC_TBF_BURST:-256kb}" latency "${IC_TBF_LATENCY:-10ms}"
	done
}

ic_unshape() {
	local k
	for k in $(seq 1 "$IC_N"); do
		ip netns exec $IC_PFX$k tc qdisc del dev eth0 root 2>/dev/null
		ip netns exec $IC_HUB tc qdisc del dev h$k root 2>/dev/null
	done
	return 0
}

# ic_conf K [extra yaml]: write node K's xenvm.yaml.
ic_conf() {
	local k=$1 d=$T/n$1
	mkdir -p "$d/run" && chmod 755 "$d" && chmod 700 "$d/run"
	cat > "$d/xenvm.yaml" <<YAML
log_level: info
catalog: $T/images.yaml
cache:
  dir: ${IC_CACHE_DIR[$k]:-$d/cache}
  max_size: ${IC_CACHE_MAX:-20G}
imagecast:
  store: $T/store
  port: $IC_PORT
  socket: $d/run/imagecast.sock
  chunk_size: ${IC_CHUNK:-1M}
munge:
  socket: $T/munge-a/sock
timeouts:
  fetch: ${IC_FETCH_TIMEOUT:-120s}
YAML
}

# ic_start K: start node K's daemon (in its namespace), wait until it answers.
ic_start() {
	local k=$1 d=$T/n$1
	[ -f "$d/xenvm.yaml" ] || ic_conf "$k"
	ip netns exec $IC_PFX$k "$ICB/imagecastd" -f "$d/xenvm.yaml" -n $IC_NET.$k \
		--stall-timeout "${IC_STALL:-3}" ${IC_DAEMON_ARGS:-} >>"$d/log" 2>&1 9>&- &
	echo $! > "$d/pid"
	disown $! # stopped by PID in ic_stop; no job-control notice when it is killed
	for _ in $(seq 100); do
		[ -S "$d/run/imagecast.sock" ] && ic_cli "$k" list >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$d/pid")" 2>/dev/null || break
		sleep 0.05
	done
	cat "$d/log" >&2
	die "imagecastd on node $k did not start"
}

# ic_stop K [SIGNAL]: stop node K's daemon by its PID.
ic_stop() {
	local d=$T/n$1 pid
	[ -f "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	wait "$pid" 2>/dev/null
	rm -f "$d/pid"
}

# ic_fetch K NAME DIGEST NODES [ARGS...]: fetch on node K; output in $T/out.K; returns its status.
ic_fetch() {
	local k=$1 name=$2 digest=$3 nodes=$4
	shift 4
	ic_cli "$k" fetch "$name" --digest "$digest" --nodes "$nodes" "${IMG_FILES[@]}" "$@" \
		>"$T/out.$k" 2>&1
}

# ic_fetch_many "K..." NAME DIGEST NODES [ARGS...]: fetch on several nodes at once, as the
# Prologs of one job do.  Returns the number of failures; outputs in $T/out.K.
ic_fetch_many() {
	local ks=$1 k pids=() bad=0
	shift
	for k in $ks; do
		ic_fetch "$k" "$@" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
	return $bad
}

# ic_wait_bytes K MIN TIMEOUT: wait until node K's transfer in flight holds MIN bytes.
ic_wait_bytes() {
	local k=$1 min=$2 end=$(($(date +%s) + $3)) have
	while [ "$(date +%s)" -lt "$end" ]; do
		have=$(ip netns exec $IC_PFX$k python3 - "$T/n$k/run/imagecast.sock" <<'PY' 2>/dev/null
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack('!IBBHI', 0x49435354, 2, 12, 0, 6) + b'status')
h = s.recv(12, socket.MSG_WAITALL); n = struct.unpack('!I', h[8:])[0]
b = b''
while len(b) < n: b += s.recv(n - len(b))
for l in b.decode().splitlines():
    if l.startswith('transfer '): print(l.split()[3]); break
PY
)
		[ -n "$have" ] && [ "$have" -ge "$min" ] && return 0
		sleep 0.1
	done
	return 1
}


# ic_cli K ARGS...: run the imagecast CLI on node K.
ic_cli() {
	local k=$1
	shift
	ip netns exec $IC_PFX$k "$ICB/imagecast" -f "$T/n$k/xenvm.yaml" "$@"
}

# ic_image NAME SIZE_MB: a generated image in the store; sets IMG_FILES (--file args) and IMG_DIGEST.
ic_image() {
	local name=$1 mb=$2 role sz f lines=""
	mkdir -p "$T/store/$name"
	IMG_FILES=()
	for role in kernel initrd rootdisk; do
		case $role in
		kernel) sz=$((mb * 1024 * 1024 / 10)) ;;
		initrd) sz=$((mb * 1024 * 1024 / 5)) ;;
		rootdisk) sz=$((mb * 1024 * 1024 - mb * 1024 * 1024 / 10 - mb * 1024 * 1024 / 5)) ;;
		esac
		f=$T/store/$name/$role
		[ -f "$f" ] || head -c "$sz" /dev/urandom > "$f"
		ic_add_file "$name" $role "$name/$role"
	done
	ic_digest
}

# ic_add_file NAME ROLE RELPATH: append a --file argument for an existing store file.
ic_add_file() {
	local f=$T/store/$3 sha sz
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	sz=$(stat -c %s "$f")
	IMG_FILES+=(--file "$2=$3:$sha:$sz")
}

# ic_digest: IMG_DIGEST from IMG_FILES, as the catalog derives it.
ic_digest() {
	local a lines=""
	for a in "${IMG_FILES[@]}"; do
		[ "$a" = --file ] && continue
		local role=${a%%=*} rest=${a#*=}
		local sz=${rest##*:} sha=${rest%:*}
		sha=${sha##*:}
		lines+="$role $sha $sz"$'\n'
	done
	IMG_DIGEST=sha256:$(printf '%s' "$lines" | sha256sum | cut -d' ' -f1)
}

# ic_verify K NAME DIGEST: every file of the cached image equals the store's, byte for byte.
ic_verify() {
	local k=$1 name=$2 dir=$T/n$1/cache/images/${3#sha256:} role
	for role in kernel initrd rootdisk; do
		cmp -s "$dir/$role" "$T/store/$name/$role" || { echo "node $k: $role differs" >&2; return 1; }
	done
}

ic_nodes() { echo "$IC_NET.[1-$1]"; }

# ic_damage FILE OFFSET: change the byte at OFFSET in place (size kept). It writes the byte's
# complement: a fixed byte would equal the random one already there 1 time in 256, and the test
# that expects a damaged file would then see an intact one.
ic_damage() {
	local b
	b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
	[ -n "$b" ] || { echo "ic_damage: $1 has no byte at offset $2" >&2; return 1; }
	printf "\\$(printf %03o $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

ic_teardown() {
	local k
	for k in $(seq 1 "${IC_N:-0}"); do ic_stop "$k" KILL; done
	for m in a b; do
		[ -f "$T/munge-$m/pid" ] && kill "$(cat "$T/munge-$m/pid")" 2>/dev/null
	done
	for k in $(seq 1 "${IC_N:-0}"); do ip netns del $IC_PFX$k 2>/dev/null; done
	ip netns del $IC_HUB 2>/dev/null
	for k in $(seq 1 "${IC_N:-0}"); do
		mountpoint -q "$T/n$k/small" 2>/dev/null && umount "$T/n$k/small"
	done
	[ -n "${T:-}" ] && [ -d "$T" ] && [ -z "${IC_KEEP:-}" ] && rm -rf "$T"
	return 0
}

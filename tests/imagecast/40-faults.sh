# 40-faults.sh - faults injected mid-broadcast, with the outcome checked.

# Start a shaped 8-node broadcast of NAME in the background; FETCH_PIDS[k] are the fetches.
start_shaped_broadcast() {
	local name=$1 mb=$2 shape=$3 k
	ic_image "$name" "$mb"
	ic_shape 100mbit
	FETCH_PIDS=()
	for k in $(seq 1 8); do
		ic_fetch "$k" "$name" "$IMG_DIGEST" "$(ic_nodes 8)" --shape "$shape" &
		FETCH_PIDS[$k]=$!
	done
}

# Every node but SKIP finished and holds the exact bytes.
survivors_ok() {
	local name=$1 skip=$2 k
	for k in $(seq 1 8); do
		[ "$k" = "$skip" ] && continue
		wait "${FETCH_PIDS[$k]}" || { cat "$T/out.$k"; t_fail "node $k did not finish"; return 1; }
		ic_verify "$k" "$name" "$IMG_DIGEST" || return 1
	done
}

test_peer_dies_children_reattach() {
	start_shaped_broadcast die 30 pipelined-binomial
	# Node 2 (rank 1) feeds nodes 4, 6 and 8; kill it once it is well into the image.
	ic_wait_bytes 2 $((6 * 1024 * 1024)) 30 || t_fail "node 2 made no progress" || return 1
	ic_stop 2 KILL
	survivors_ok die 2 || return 1
	wait "${FETCH_PIDS[2]}" && t_fail "node 2's fetch succeeded although its daemon died"
	grep -h "re-attaching" "$T/n4/log" "$T/n6/log" | head -2
	grep -q "image die: source 10.82.0.2: .*re-attaching" "$T/n4/log" || t_fail "node 4 did not re-attach" || return 1
	ic_start 2
	# Restarted, node 2 completes from the chunks it kept (resume).
	ic_fetch 2 die "$IMG_DIGEST" "$(ic_nodes 8)" || { cat "$T/out.2"; return 1; }
	ic_verify 2 die "$IMG_DIGEST" || return 1
	grep -q "image die: [1-9][0-9]* bytes resumed" "$T/n2/log" || t_fail "node 2 did not resume"
}
IC_TESTS+=(test_peer_dies_children_reattach)

test_peer_stalls_children_reattach() {
	local pid
	start_shaped_broadcast stall 30 pipelined-chain
	ic_wait_bytes 3 $((4 * 1024 * 1024)) 30 || t_fail "node 3 made no progress" || return 1
	pid=$(cat "$T/n3/pid")
	kill -STOP "$pid"
	survivors_ok stall 3
	local rc=$?
	kill -CONT "$pid"
	wait "${FETCH_PIDS[3]}"
	[ $rc = 0 ] || return 1
	grep -Eq "image stall: source 10.82.0.3: .*(stalled|timed out)" "$T/n4/log" || t_fail "node 4 did not see the stall"
}
IC_TESTS+=(test_peer_stalls_children_reattach)

test_restart_resumes() {
	local pid
	ic_image resume 30
	ic_shape 50mbit
	ic_fetch 6 resume "$IMG_DIGEST" "10.82.0.1,10.82.0.6" & pid=$!
	ic_wait_bytes 6 $((5 * 1024 * 1024)) 30 || t_fail "no progress" || return 1
	ic_cli 6 status | grep "^transfer resume" || t_fail "status does not show the transfer" || return 1
	ic_stop 6 KILL
	wait $pid && t_fail "fetch survived its daemon" && return 1
	ic_unshape
	ic_start 6
	ic_fetch 6 resume "$IMG_DIGEST" "10.82.0.1,10.82.0.6" || { cat "$T/out.6"; return 1; }
	ic_verify 6 resume "$IMG_DIGEST" || return 1
	grep "image resume: " "$T/n6/log" | grep resumed
	grep -q "image resume: [1-9][0-9]* bytes resumed" "$T/n6/log" || t_fail "did not resume"
}
IC_TESTS+=(test_restart_resumes)

test_disk_full_clean_error() {
	local small=$T/n7/small out
	ic_stop 7
	mkdir -p "$small"
	mount -t tmpfs -o size=16m,mode=0700 ictest "$small" || t_fail "cannot mount tmpfs" || return 1
	IC_CACHE_DIR[7]=$small/cache
	ic_conf 7
	ic_start 7
	ic_image full 30
	out=$(ic_cli 7 fetch full --digest "$IMG_DIGEST" --nodes 10.82.0.1,10.82.0.7 "${IMG_FILES[@]}" 2>&1) &&
		t_fail "a 30 MiB image fit in 16 MiB" && return 1
	echo "  $(echo "$out" | tail -1)"
	echo "$out" | grep -q "image full (sha256:.*) on node 10.82.0.7: .*No space left on device" ||
		t_fail "unclear error: $out" || return 1
	[ -z "$(ls -A "$small/cache/partial")" ] || t_fail "partial data left behind" || return 1
	ic_cli 7 list >/dev/null || t_fail "cache unusable after the failure" || return 1
	# A small image still fits: the cache stayed consistent.
	ic_image fits 4
	ic_fetch 7 fits "$IMG_DIGEST" 10.82.0.1,10.82.0.7 || { cat "$T/out.7"; return 1; }
	ic_stop 7
	umount "$small"
	unset 'IC_CACHE_DIR[7]'
	ic_conf 7
	ic_start 7
}
IC_TESTS+=(test_disk_full_clean_error)

test_image_missing_from_store() {
	local out
	IMG_FILES=(--file "kernel=nowhere/vmlinuz:$(printf 'a%.0s' $(seq 64)):1000")
	ic_digest
	out=$(ic_cli 3 fetch ghost --digest "$IMG_DIGEST" --nodes "$(ic_nodes 3)" "${IMG_FILES[@]}" 2>&1) &&
		t_fail "fetched a missing image" && return 1
	echo "  $out"
	echo "$out" | grep -q "image ghost (sha256:.*) on node 10.82.0.1: .*kernel .*/store/nowhere/vmlinuz: No such file" ||
		t_fail "error does not name image, node and file"
}
IC_TESTS+=(test_image_missing_from_store)

test_digest_mismatch() {
	local out good
	ic_image mism 2
	good=$IMG_DIGEST
	# The store's file changed after the catalog was written.
	cp "$T/store/mism/initrd" "$T/store/mism/initrd.orig"
	ic_damage "$T/store/mism/initrd" 5 || return 1
	out=$(ic_cli 2 fetch mism --digest "$good" --nodes "$(ic_nodes 2)" "${IMG_FILES[@]}" 2>&1) &&
		t_fail "fetched a modified image" && return 1
	echo "  $out"
	echo "$out" | grep -q "image mism (sha256:.*) on node 10.82.0.1: .*initrd .* has sha256 .*, not the catalog's" ||
		t_fail "unclear: $out" || return 1
	mv "$T/store/mism/initrd.orig" "$T/store/mism/initrd"
	# A digest that the files do not give.
	out=$(ic_cli 2 fetch mism --digest "sha256:$(printf '0%.0s' $(seq 64))" --nodes "$(ic_nodes 2)" "${IMG_FILES[@]}" 2>&1) &&
		t_fail "fetched with a wrong digest" && return 1
	echo "  $out"
	echo "$out" | grep -q "image mism: files give digest" || t_fail "unclear: $out"
}
IC_TESTS+=(test_digest_mismatch)

# A corrupt copy upstream: the chunk fails its sha256 and comes from another source instead.
test_bad_chunk_refetched_elsewhere() {
	local dir
	ic_image badc 6
	ic_fetch_many "1 2" badc "$IMG_DIGEST" "10.82.0.1,10.82.0.2" || { cat "$T"/out.*; return 1; }
	# Damage node 2's cached rootdisk (bypassing imagecastd, as a failing disk would).
	dir=$T/n2/cache/images/${IMG_DIGEST#sha256:}
	ic_damage "$dir/rootdisk" 1000 || return 1
	# In a binomial tree of 4, node 4 (rank 3) pulls from node 2 (rank 1).
	ic_fetch 4 badc "$IMG_DIGEST" "$(ic_nodes 4)" || { cat "$T/out.4"; t_fail "fetch on node 4"; return 1; }
	ic_verify 4 badc "$IMG_DIGEST" || return 1
	grep "image badc: source 10.82.0.2" "$T/n4/log" | head -1
	grep -q "image badc: source 10.82.0.2: .*fails its sha256; re-attaching to 10.82.0.1" "$T/n4/log" ||
		t_fail "node 4 did not reject node 2's chunk"
}
IC_TESTS+=(test_bad_chunk_refetched_elsewhere)

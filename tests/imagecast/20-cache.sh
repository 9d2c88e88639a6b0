# 20-cache.sh - cache behaviour: hits, shared transfers, status/list, leases, evict, verify, delta.

test_cache_hit_fast() {
	local t0 t1 ms best=999999 i inside
	ic_image hit 8
	ic_fetch_many "1 2" hit "$IMG_DIGEST" "$(ic_nodes 2)" || { cat "$T"/out.*; return 1; }
	# Best of 5: the machine is shared, and one slow start says nothing about the cache.
	for i in 1 2 3 4 5; do
		t0=$(date +%s%N)
		ic_fetch 2 hit "$IMG_DIGEST" "$(ic_nodes 2)" || { cat "$T/out.2"; t_fail "cache hit failed"; return 1; }
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		[ "$ms" -lt "$best" ] && best=$ms
	done
	inside=$(sed -n 's/.*ready in \([0-9.]*\)s.*/\1/p' "$T/out.2")
	echo "  cache hit: ${best} ms best of 5 (CLI start, ip netns exec, config load); daemon ${inside}s"
	[ "$best" -le 50 ] || t_fail "cache hit took $best ms (> 50)"
}
IC_TESTS+=(test_cache_hit_fast)

test_two_fetches_share_one_transfer() {
	ic_image share 12
	ic_shape 200mbit
	# Two Prologs on node 3 ask at once (nodes 1 and 3 are the job).
	ic_fetch 3 share "$IMG_DIGEST" "10.82.0.1,10.82.0.3" & p1=$!
	ic_cli 3 fetch share --digest "$IMG_DIGEST" --nodes "10.82.0.1,10.82.0.3" "${IMG_FILES[@]}" \
		>"$T/out.3b" 2>&1 & p2=$!
	wait $p1 || { cat "$T/out.3"; t_fail "first fetch failed"; return 1; }
	wait $p2 || { cat "$T/out.3b"; t_fail "second fetch failed"; return 1; }
	[ "$(grep -c "image share (.*transfer started" "$T/n3/log")" = 1 ] ||
		t_fail "node 3 started more than one transfer" || return 1
	[ "$(grep -c "image share (.*published" "$T/n3/log")" = 1 ] || t_fail "published twice"
}
IC_TESTS+=(test_two_fetches_share_one_transfer)

test_status_list_pin_evict_verify() {
	local dir out
	ic_image adm 4
	ic_fetch 2 adm "$IMG_DIGEST" "$(ic_nodes 2)" --pin job.7 || { cat "$T/out.2"; return 1; }
	out=$(ic_cli 2 status) || return 1
	echo "$out" | grep -q "^node 10.82.0.2, cache" || t_fail "status: no node line" || return 1
	echo "$out" | grep -q "^adm .* 1 cached" || { echo "$out"; t_fail "status: adm not listed with its lease"; return 1; }
	# A leased image is not evicted.
	out=$(ic_cli 2 evict "$IMG_DIGEST" 2>&1) && t_fail "evicted a leased image" && return 1
	echo "$out" | grep -q "in use" || { echo "$out"; t_fail "no 'in use' message"; return 1; }
	ic_cli 2 verify "$IMG_DIGEST" >/dev/null || t_fail "verify of a good image failed" || return 1
	# A damaged cached file is reported by name.
	dir=$T/n2/cache/images/${IMG_DIGEST#sha256:}
	ic_damage "$dir/initrd" 100 || return 1
	out=$(ic_cli 2 verify "$IMG_DIGEST" 2>&1) && t_fail "verify missed a damaged file" && return 1
	echo "$out" | grep -q "initrd does not match" || { echo "$out"; t_fail "verify: no file named"; return 1; }
	ic_cli 2 unpin "$IMG_DIGEST" job.7 >/dev/null || t_fail "unpin" || return 1
	ic_cli 2 evict "$IMG_DIGEST" >/dev/null || t_fail "evict" || return 1
	[ ! -e "$dir" ] || t_fail "evicted image still there" || return 1
	ic_cli 2 list | grep -q "^adm " && t_fail "evicted image still listed"
	return 0
}
IC_TESTS+=(test_status_list_pin_evict_verify)

# The root keeps the manifest it computed from the store and reuses it while the store files are
# unchanged; a file changed behind its back (even with size and mtime kept) is hashed again.
test_store_manifest_cached() {
	local entry ino out f
	ic_image smc 6
	ic_fetch 1 smc "$IMG_DIGEST" "$IC_NET.1,$IC_NET.2" || { cat "$T/out.1"; return 1; }
	entry=$(ls "$T/n1/cache/store-manifests/${IMG_DIGEST#sha256:}".* 2>/dev/null)
	[ -f "$entry" ] || t_fail "the root kept no manifest of the store image" || return 1
	grep -q "^key rootdisk " "$entry" || t_fail "no key line for rootdisk in $entry" || return 1
	ino=$(stat -c %i "$entry")
	ic_cli 1 evict "$IMG_DIGEST" >/dev/null || t_fail "evict" || return 1
	ic_fetch_many "1 2" smc "$IMG_DIGEST" "$IC_NET.1,$IC_NET.2" || { cat "$T"/out.*; return 1; }
	ic_verify 2 smc "$IMG_DIGEST" || return 1
	[ "$(stat -c %i "$entry")" = "$ino" ] || t_fail "the cached manifest was computed again" || return 1
	# One byte changed in the store, size and mtime restored: only ctime tells.
	f=$T/store/smc/rootdisk
	touch -r "$f" "$T/smc.ref"
	ic_damage "$f" 4096 || return 1
	touch -r "$T/smc.ref" "$f"
	ic_cli 1 evict "$IMG_DIGEST" >/dev/null || t_fail "evict" || return 1
	ic_cli 2 evict "$IMG_DIGEST" >/dev/null || t_fail "evict" || return 1
	ic_fetch 1 smc "$IMG_DIGEST" "$IC_NET.1" && t_fail "a changed store file was accepted" && return 1
	out=$(cat "$T/out.1")
	echo "  $out" | tail -1
	echo "$out" | grep -q "rootdisk .* not the catalog's" || t_fail "unclear error: $out" || return 1
	[ ! -e "$entry" ] || t_fail "the stale cached manifest was kept"
}
IC_TESTS+=(test_store_manifest_cached)

# A newer version of a cached image: only the chunks that changed cross the network.
test_delta_moves_only_changed_chunks() {
	local net chunk=$((1024 * 1024)) v2=$T/store/dv2
	ic_image dv1 30
	ic_fetch_many "1 2" dv1 "$IMG_DIGEST" "$(ic_nodes 2)" || { cat "$T"/out.*; return 1; }
	# v2: the same files with 1% of the rootdisk's 4 KiB blocks rewritten in place, clustered the
	# way a package update rewrites a file system (here: within one 1 MiB chunk).
	mkdir -p "$v2"
	cp "$T/store/dv1/kernel" "$T/store/dv1/initrd" "$T/store/dv1/rootdisk" "$v2/"
	head -c $((21 * 4096)) /dev/urandom | dd of="$v2/rootdisk" bs=4096 seek=1000 conv=notrunc status=none
	IMG_FILES=()
	for r in kernel initrd rootdisk; do ic_add_file dv2 $r dv2/$r; done
	ic_digest
	ic_fetch_many "1 2" dv2 "$IMG_DIGEST" "$(ic_nodes 2)" || { cat "$T"/out.*; return 1; }
	cmp -s "$v2/rootdisk" "$T/n2/cache/images/${IMG_DIGEST#sha256:}/rootdisk" || t_fail "v2 differs" || return 1
	net=$(sed -n 's/.*(\([0-9]*\) bytes over the network).*/\1/p' "$T/out.2")
	echo "  delta: $net bytes moved of $((30 * chunk)) ($(awk -v a="$net" -v b=$((30 * chunk)) 'BEGIN{printf "%.1f", 100*a/b}')%)"
	[ -n "$net" ] && [ "$net" -le $((2 * chunk)) ] || t_fail "delta moved $net bytes"
}
IC_TESTS+=(test_delta_moves_only_changed_chunks)

# The Prolog's way: files and digest from the catalog named in xenvm.yaml, a lease for the job.
test_fetch_from_catalog() {
	local k a role rest sha sz pids=() out
	ic_image cat1 6
	{
		echo "images:"
		echo "  cat1:"
		echo "    files:"
		for a in "${IMG_FILES[@]}"; do
			[ "$a" = --file ] && continue
			role=${a%%=*} rest=${a#*=}
			sz=${rest##*:} sha=${rest%:*}
			sha=${sha##*:}
			echo "      $role: {path: cat1/$role, sha256: $sha, size: $sz}"
		done
	} > "$T/images.yaml"
	for k in 1 2 3; do
		ic_cli "$k" fetch cat1 --nodes "$(ic_nodes 3)" --pin job.99 >"$T/out.$k" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { cat "$T"/out.*; t_fail "catalog fetch failed"; return 1; }; done
	for k in 1 2 3; do
		ic_verify "$k" cat1 "$IMG_DIGEST" || return 1
		[ "$(tail -1 "$T/out.$k")" = "$T/n$k/cache/images/${IMG_DIGEST#sha256:}" ] ||
			t_fail "node $k: last line is not the image directory" || return 1
		[ -e "$T/n$k/cache/pins/${IMG_DIGEST#sha256:}/job.99" ] || t_fail "node $k: no lease" || return 1
	done
	out=$(ic_cli 1 fetch nosuch --nodes "$(ic_nodes 3)" 2>&1) && t_fail "fetched an unknown image" && return 1
	echo "$out" | grep -q "image nosuch is not in $T/images.yaml" || t_fail "unclear: $out"
}
IC_TESTS+=(test_fetch_from_catalog)

# Like munged: a cache or socket directory that others could tamper with stops the daemon.
test_loose_permissions_refused() {
	local loose=$T/loose out
	mkdir -p "$loose/cache" "$loose/run"
	chmod 0777 "$loose/cache"
	chmod 0700 "$loose/run"
	out=$(ip netns exec ${IC_PFX}8 "$ICB/imagecastd" -f "$T/n8/xenvm.yaml" -n x -p 7999 \
		-C "$loose/cache" -S "$loose/run/s.sock" 2>&1) && t_fail "started on a 0777 cache" && return 1
	echo "  $out"
	echo "$out" | grep -q "cache: $loose/cache has loose permissions 0777" || t_fail "unclear: $out" || return 1
	chmod 0700 "$loose/cache"
	chmod 0777 "$loose/run"
	out=$(ip netns exec ${IC_PFX}8 "$ICB/imagecastd" -f "$T/n8/xenvm.yaml" -n x -p 7999 \
		-C "$loose/cache" -S "$loose/run/s.sock" 2>&1) && t_fail "started with a 0777 socket directory" && return 1
	echo "$out" | grep -q "socket directory: $loose/run has loose permissions" || t_fail "unclear: $out"
}
IC_TESTS+=(test_loose_permissions_refused)

test_sighup_reload() {
	local conf=$T/n8/xenvm.yaml pid
	pid=$(cat "$T/n8/pid")
	cp "$conf" "$conf.good"
	echo "bogus_key: 1" >> "$conf"
	kill -HUP "$pid"
	sleep 0.3
	grep -q "SIGHUP: .*bogus_key.*keeping the running configuration" "$T/n8/log" ||
		{ tail -3 "$T/n8/log"; t_fail "bad file not reported"; return 1; }
	mv "$conf.good" "$conf"
	kill -HUP "$pid"
	sleep 0.3
	grep -q "SIGHUP: reloaded $conf" "$T/n8/log" || t_fail "no reload" || return 1
	ic_cli 8 list >/dev/null || t_fail "daemon unusable after SIGHUP"
}
IC_TESTS+=(test_sighup_reload)

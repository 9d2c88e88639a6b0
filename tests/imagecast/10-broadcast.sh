# 10-broadcast.sh - broadcasts that work: every shape to 8 nodes, every byte checked; the CLI's
# standalone broadcast mode.

# Every node's copy equals the store's, and the image is listed as cached.
check_all() {
	local name=$1 digest=$2 n=$3 k
	for k in $(seq 1 "$n"); do
		ic_verify "$k" "$name" "$digest" || return 1
		grep -q "images/${digest#sha256:}\$" "$T/out.$k" || t_fail "node $k: no image path printed"
	done
}

test_broadcast_8_pipelined_binomial() {
	ic_image b8 30
	ic_fetch_many "1 2 3 4 5 6 7 8" b8 "$IMG_DIGEST" "$(ic_nodes 8)" --shape pipelined-binomial ||
		{ cat "$T"/out.*; t_fail "a fetch failed"; return 1; }
	check_all b8 "$IMG_DIGEST" 8 || return 1
	ic_cli 5 list | grep -q "^b8 .* cached" || t_fail "list does not show b8"
}
IC_TESTS+=(test_broadcast_8_pipelined_binomial)

test_broadcast_8_chain() {
	ic_image c8 12
	ic_fetch_many "1 2 3 4 5 6 7 8" c8 "$IMG_DIGEST" "$(ic_nodes 8)" --shape pipelined-chain ||
		{ cat "$T"/out.*; t_fail "a fetch failed"; return 1; }
	check_all c8 "$IMG_DIGEST" 8 || return 1
	# In a chain node 5 pulls from node 4.
	grep -q "c8 .*from 10.82.0.4" "$T/n5/log" || t_fail "node 5 did not pull from node 4"
}
IC_TESTS+=(test_broadcast_8_chain)

test_broadcast_8_whole_file_binomial() {
	ic_image w8 12
	ic_fetch_many "1 2 3 4 5 6 7 8" w8 "$IMG_DIGEST" "$(ic_nodes 8)" --shape binomial ||
		{ cat "$T"/out.*; t_fail "a fetch failed"; return 1; }
	check_all w8 "$IMG_DIGEST" 8 || return 1
	# Rank 7's parent is rank 3 (7 - 4); it forwards only once it holds the whole image.
	grep -q "w8 .*from 10.82.0.4" "$T/n8/log" || t_fail "node 8 did not pull from node 4" || return 1
	awk '/image w8 .*published/ {p=1} /w8.*transfer started, rank 7/ {s=1} END {exit !(p && s)}' "$T/n4/log" "$T/n8/log"
}
IC_TESTS+=(test_broadcast_8_whole_file_binomial)

# A child may ask before its parent's own Prolog did: the parent joins on the first request.
test_parent_joins_on_request() {
	ic_image late 6
	ic_fetch 4 late "$IMG_DIGEST" "$(ic_nodes 4)" --shape pipelined-binomial ||
		{ cat "$T/out.4"; t_fail "fetch on node 4"; return 1; }
	# In a binomial tree of 4 (0 -> 1 -> 3, 0 -> 2) node 4's ancestors are nodes 2 and 1: they
	# joined on its request; node 3 is nobody's ancestor here and was not asked.
	ic_verify 4 late "$IMG_DIGEST" && ic_verify 2 late "$IMG_DIGEST" && ic_verify 1 late "$IMG_DIGEST" ||
		return 1
	[ ! -d "$T/n3/cache/images/${IMG_DIGEST#sha256:}" ] || t_fail "node 3 fetched although nobody asked it"
}
IC_TESTS+=(test_parent_joins_on_request)

# Two-tree: a node asks its second-tree parent for chunks without asking it for the manifest, so
# that request must start the parent's transfer too, or the node re-attaches to an ancestor.
test_second_tree_parent_joins_on_chunks() {
	local d
	ic_image late2 6
	ic_fetch 8 late2 "$IMG_DIGEST" "$(ic_nodes 8)" --shape two-tree ||
		{ cat "$T/out.8"; t_fail "fetch on node 8"; return 1; }
	ic_verify 8 late2 "$IMG_DIGEST" || return 1
	# Rank 7: first-tree ancestors ranks 6, 4, 0 (nodes 7, 5, 1); second-tree parent rank 1
	# (node 2), which only node 8's GET_CHUNKS can have started.
	grep -q "image late2 (.*transfer started, rank 1 of 8" "$T/n2/log" ||
		t_fail "node 2 was not started by node 8's chunk request" || return 1
	grep "image late2: .*re-attaching" "$T/n8/log" && t_fail "node 8 had to re-attach" && return 1
	d=$T/n2/cache/images/${IMG_DIGEST#sha256:}
	[ -d "$d" ] || t_fail "node 2 did not finish its own copy"
}
IC_TESTS+=(test_second_tree_parent_joins_on_chunks)

test_cli_broadcast_files() {
	local f1=$T/store/bc-a f2=$T/store/bc-b out d
	head -c 3000000 /dev/urandom > "$f1"
	head -c 100 /dev/urandom > "$f2"
	out=$(ic_cli 1 broadcast "$f1" "$f2" --to "$(ic_nodes 6)" --name bc 2>&1) ||
		{ echo "$out"; t_fail "broadcast failed"; return 1; }
	echo "$out" | tail -1
	d=$(echo "$out" | awk '/^broadcast/ {print $3}')
	for k in 1 2 3 4 5 6; do
		cmp -s "$f1" "$T/n$k/cache/images/${d#sha256:}/bc-a" &&
			cmp -s "$f2" "$T/n$k/cache/images/${d#sha256:}/bc-b" || t_fail "node $k differs" || return 1
	done
}
IC_TESTS+=(test_cli_broadcast_files)

test_broadcast_8_two_tree() {
	ic_image t8 12
	ic_fetch_many "1 2 3 4 5 6 7 8" t8 "$IMG_DIGEST" "$(ic_nodes 8)" --shape two-tree ||
		{ cat "$T"/out.*; t_fail "a fetch failed"; return 1; }
	check_all t8 "$IMG_DIGEST" 8 || return 1
	# Both trees carried data: every non-root node pulled from two sources.
	grep -q "image t8 .*transfer started, rank 3 of 8, shape two-tree" "$T/n4/log" || t_fail "no two-tree transfer on node 4"
}
IC_TESTS+=(test_broadcast_8_two_tree)

# 30-auth.sh - only munge-authenticated root (or allowed) peers speak to imagecastd; the protocol
# version is checked.

# ic_raw K HOST VERSION TYPE PAYLOAD: send one raw frame from node K, print the reply's text.
ic_raw() {
	ip netns exec $IC_PFX$1 python3 - "$2" "$IC_PORT" "$3" "$4" "$5" <<'PY'
import socket, struct, sys
host, port, ver, typ, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
s = socket.create_connection((host, port), timeout=5)
s.sendall(struct.pack('!IBBHI', 0x49435354, ver, typ, 0, len(payload)) + payload)
h = s.recv(12, socket.MSG_WAITALL)
if len(h) < 12:
    print("closed"); sys.exit(0)
n = struct.unpack('!I', h[8:])[0]
b = b''
while len(b) < n:
    c = s.recv(n - len(b))
    if not c: break
    b += c
print("type=%d %s" % (h[5], b.decode(errors='replace')))
PY
}

test_authenticated_peer_accepted() {
	ic_cli 2 ping 10.82.0.1 | grep -q authenticated || t_fail "root with the right key was refused"
}
IC_TESTS+=(test_authenticated_peer_accepted)

test_unauthenticated_peer_refused() {
	local out
	# GET_MANIFEST (type 4) without HELLO first.
	out=$(ic_raw 2 10.82.0.1 2 4 "name x")
	echo "  $out"
	echo "$out" | grep -q "^type=3 authentication required" || t_fail "no refusal: $out" || return 1
	grep -q "unauthenticated GET_MANIFEST refused" "$T/n1/log" || t_fail "not logged"
}
IC_TESTS+=(test_unauthenticated_peer_refused)

test_wrong_munge_key_refused() {
	local out
	out=$(ic_cli 2 -m "$T/munge-b/sock" ping 10.82.0.1 2>&1) && t_fail "accepted a foreign key" && return 1
	echo "  $out"
	echo "$out" | grep -q "munge credential refused" || t_fail "unclear message: $out"
}
IC_TESTS+=(test_wrong_munge_key_refused)

test_unprivileged_user_refused() {
	local out
	out=$(ip netns exec ${IC_PFX}2 setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$ICB/imagecast" -m "$T/munge-a/sock" ping 10.82.0.1 2>&1) &&
		t_fail "accepted uid 65534" && return 1
	echo "  $out"
	echo "$out" | grep -q "uid 65534 may not talk" || t_fail "unclear message: $out"
}
IC_TESTS+=(test_unprivileged_user_refused)

test_unknown_protocol_version_refused() {
	local out
	out=$(ic_raw 2 10.82.0.1 9 1 "hello")
	echo "  $out"
	echo "$out" | grep -q "^type=3 unsupported protocol version 9; this node speaks 2" ||
		t_fail "no clear version error: $out"
}
IC_TESTS+=(test_unknown_protocol_version_refused)

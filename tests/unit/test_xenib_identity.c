/*
 * test_xenib_identity.c - VF GUIDs and link policy: derivation, the mlx5 vendor sysfs route on a
 * fixture tree, and the rtnetlink route's message byte for byte.
 *
 * The sysfs side runs on tests/xenib/fixture.c's tree (laid out like a ConnectX-5 node's /sys;
 * no HCA is available here).  The rtnetlink request cannot reach a VF here either, so its bytes
 * are checked against the kernel's uapi layout (linux/if_link.h: struct ifla_vf_guid is
 * {__u32 vf; __u64 guid;}, 16 bytes with 4 of padding) and the real socket path is exercised
 * against `lo`, which the kernel answers with an error because it is not an IPoIB device.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/atomic_file.h"
#include "tests/xenib/fixture.h"
#include "xenib/guid.h"
#include "xenib/identity.h"
#include "lib/log.h"
#include "xenib/vfnl.h"
#include "xenib/xenib.h"

/* ------------------------------------------------------------------ GUIDs */

static void test_fnv1a64_vectors(void **state)
{
	(void)state;
	/* the published FNV-1a 64-bit test vectors */
	assert_true(xenib_fnv1a64("") == UINT64_C(0xcbf29ce484222325));
	assert_true(xenib_fnv1a64("a") == UINT64_C(0xaf63dc4c8601ec8c));
	assert_true(xenib_fnv1a64("foobar") == UINT64_C(0x85944171f73967e8));
}

static void test_guid_layout(void **state)
{
	uint64_t h = xenib_fnv1a64("node01") >> 25, g;

	(void)state;
	g = xenib_guid(0x0200, "node01", 0, XENIB_NODE_GUID);
	assert_true(g == (UINT64_C(0x0200) << 48 | h << 9));
	assert_true(xenib_guid(0x0200, "node01", 0, XENIB_PORT_GUID) == (g | 1));
	assert_true(xenib_guid(0x0200, "node01", 255, XENIB_PORT_GUID) == (g | 255u << 1 | 1));
	assert_true(xenib_guid(0xfffe, "node01", 3, XENIB_NODE_GUID) >> 48 == 0xfffe);
	/* pinned: a change of the derivation renames every VF on every cluster */
	assert_true(g == UINT64_C(0x0200e6f978c22000));
	/* deterministic, and distinct across nodes, slots and kinds */
	assert_true(xenib_guid(0x0200, "node01", 5, XENIB_NODE_GUID) ==
	            xenib_guid(0x0200, "node01", 5, XENIB_NODE_GUID));
	assert_true(xenib_guid(0x0200, "node02", 5, XENIB_NODE_GUID) !=
	            xenib_guid(0x0200, "node01", 5, XENIB_NODE_GUID));
	/* every (slot, kind) of one node is a different GUID */
	for (unsigned a = 0; a < 512; a++)
		for (unsigned b = a + 1; b < 512; b++)
			assert_true(xenib_guid(0x0200, "n", a / 2, a % 2) !=
			            xenib_guid(0x0200, "n", b / 2, b % 2));
	/* bad input is 0, never a usable GUID */
	errno = 0;
	assert_true(xenib_guid(0x0200, "node01", 256, XENIB_NODE_GUID) == 0);
	assert_int_equal(errno, EINVAL);
	assert_true(xenib_guid(0, "node01", 1, XENIB_NODE_GUID) == 0);
	assert_true(xenib_guid(0xffff, "node01", 1, XENIB_NODE_GUID) == 0);
	assert_true(xenib_guid(0x0200, "", 1, XENIB_NODE_GUID) == 0);
	assert_true(xenib_guid(0x0200, NULL, 1, XENIB_NODE_GUID) == 0);
}

static void test_guid_format(void **state)
{
	char buf[32];

	(void)state;
	xenib_guid_colon(UINT64_C(0x0200fb0b3e5ccc01), buf, sizeof(buf));
	assert_string_equal(buf, "02:00:fb:0b:3e:5c:cc:01");
	xenib_guid_hex(UINT64_C(0x0200fb0b3e5ccc01), buf, sizeof(buf));
	assert_string_equal(buf, "0x0200fb0b3e5ccc01");
	xenib_guid_hex(1, buf, sizeof(buf));
	assert_string_equal(buf, "0x0000000000000001");
}

/* ------------------------------------------------------------------ rtnetlink message */

static void test_uapi_layout(void **state)
{
	(void)state;
	/* what the bytes below assume of linux/if_link.h and linux/rtnetlink.h */
	assert_int_equal(sizeof(struct ifla_vf_guid), 16);
	assert_int_equal(offsetof(struct ifla_vf_guid, guid), 8);
	assert_int_equal(sizeof(struct ifla_vf_link_state), 8);
	assert_int_equal(RTM_SETLINK, 19);
	assert_int_equal(IFLA_VFINFO_LIST, 22);
	assert_int_equal(IFLA_VF_INFO, 1);
	assert_int_equal(IFLA_VF_LINK_STATE, 5);
	assert_int_equal(IFLA_VF_IB_NODE_GUID, 10);
	assert_int_equal(IFLA_VF_IB_PORT_GUID, 11);
	assert_int_equal(IFLA_VF_LINK_STATE_AUTO, XENIB_POLICY_FOLLOW);
	assert_int_equal(IFLA_VF_LINK_STATE_DISABLE, XENIB_POLICY_DOWN);
}

/* `ip link set ib0 vf 3 node_guid ... port_guid ... state auto`, written out by hand. */
static const unsigned char expect_set[] = {
    /* struct nlmsghdr: len 92, RTM_SETLINK, NLM_F_REQUEST|NLM_F_ACK, seq, pid 0 */
    0x5c, 0x00, 0x00, 0x00, 0x13, 0x00, 0x05, 0x00, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00,
    /* struct ifinfomsg: AF_UNSPEC, pad, type 0, ifindex 7, flags 0, change 0 */
    0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* IFLA_VFINFO_LIST (22), 60 bytes */
    0x3c, 0x00, 0x16, 0x00,
    /* IFLA_VF_INFO (1), 56 bytes */
    0x38, 0x00, 0x01, 0x00,
    /* IFLA_VF_IB_NODE_GUID (10): struct ifla_vf_guid { vf 3, 4 bytes pad, guid } */
    0x14, 0x00, 0x0a, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0xee, 0xdd, 0xcc,
    0xbb, 0xaa, 0x00, 0x02,
    /* IFLA_VF_IB_PORT_GUID (11) */
    0x14, 0x00, 0x0b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xee, 0xdd, 0xcc,
    0xbb, 0xaa, 0x00, 0x02,
    /* IFLA_VF_LINK_STATE (5): struct ifla_vf_link_state { vf 3, IFLA_VF_LINK_STATE_AUTO } */
    0x0c, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void test_netlink_bytes(void **state)
{
	unsigned char buf[XENIB_NL_MSG_MAX];
	uint64_t node = UINT64_C(0x0200aabbccddee06), port = UINT64_C(0x0200aabbccddee07);
	struct xenib_nl_vf req = {.ifindex = 7,
	                          .vf = 3,
	                          .node_guid = &node,
	                          .port_guid = &port,
	                          .policy = XENIB_POLICY_FOLLOW};
	size_t len;

	(void)state;
	memset(buf, 0xa5, sizeof(buf)); /* any byte the builder forgets shows up */
	len = xenib_nl_build_vf(buf, sizeof(buf), 0x11223344, &req);
	assert_int_equal(len, sizeof(expect_set));
	assert_memory_equal(buf, expect_set, sizeof(expect_set));

	/* policy Down alone: the release message */
	req.node_guid = req.port_guid = NULL;
	req.policy = XENIB_POLICY_DOWN;
	len = xenib_nl_build_vf(buf, sizeof(buf), 1, &req);
	assert_int_equal(len, 32 + 4 + 4 + 12);
	assert_int_equal(buf[32], 20); /* VFINFO_LIST length */
	assert_int_equal(buf[40 + 2], IFLA_VF_LINK_STATE);
	assert_int_equal(buf[40 + 8], IFLA_VF_LINK_STATE_DISABLE);

	/* too small a buffer, nothing to set, no device */
	assert_int_equal(xenib_nl_build_vf(buf, 60, 1,
	                                   &(struct xenib_nl_vf){.ifindex = 7,
	                                                         .node_guid = &node,
	                                                         .port_guid = &port,
	                                                         .policy = 0}),
	                 0);
	assert_int_equal(errno, ENOBUFS);
	req.policy = XENIB_POLICY_KEEP;
	assert_int_equal(xenib_nl_build_vf(buf, sizeof(buf), 1, &req), 0);
	assert_int_equal(errno, EINVAL);
	req.policy = XENIB_POLICY_DOWN;
	req.ifindex = 0;
	assert_int_equal(xenib_nl_build_vf(buf, sizeof(buf), 1, &req), 0);
	assert_int_equal(errno, EINVAL);
}

/* The real socket: the kernel refuses VF GUIDs on `lo`; the answer must come back as an error. */
static void test_netlink_kernel_refuses_lo(void **state)
{
	uint64_t node = 0x0200000000000002, port = 0x0200000000000003;
	struct xenib_nl_vf req = {.ifindex = 1,
	                          .vf = 0,
	                          .node_guid = &node,
	                          .port_guid = &port,
	                          .policy = XENIB_POLICY_KEEP};
	struct xerr err = {{0}};
	char expect[256];

	(void)state;
	assert_int_equal(xenib_nl_set_vf(NULL, "lo", &req, &err), -1);
	assert_true(errno != 0);
	snprintf(expect, sizeof(expect), "lo (ifindex 1): RTM_SETLINK vf 0: %s", strerror(errno));
	assert_string_equal(err.msg, expect);
}

/* ------------------------------------------------------------------ both routes on a fixture */

struct capture {
	unsigned char msg[4][XENIB_NL_MSG_MAX];
	size_t len[4];
	int n;
	int fail_at; /* message number that fails with EOPNOTSUPP, -1 none */
};

static int capture_send(void *ctx, const void *msg, size_t len, struct xerr *err)
{
	struct capture *c = ctx;

	if (c->n >= 4 || len > XENIB_NL_MSG_MAX) {
		errno = E2BIG;
		return xerr_set(err, "too many messages");
	}
	memcpy(c->msg[c->n], msg, len);
	c->len[c->n] = len;
	if (c->n++ == c->fail_at) {
		errno = EOPNOTSUPP;
		return xerr_set(err, "%s", strerror(errno));
	}
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	xlog_init("test", XLOG_ERROR);
	return f ? 0 : -1;
}

static int teardown(void **state)
{
	fixture_destroy(*state);
	free(*state);
	return 0;
}

static void discover(struct fixture *f, struct xenib_topology *t)
{
	struct xenib_params p = {.root = f->root, .state_dir = f->state_dir, .node = "n1"};
	struct xerr err = {{0}};

	assert_int_equal(xenib_discover(&p, t, &err), 0);
	assert_int_equal(t->n_pfs, 1);
}

#define SRIOV "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/sriov/"

static void assert_file(const struct fixture *f, const char *rel, const char *want)
{
	char *s = fixture_read(f, rel);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_vendor_route(void **state)
{
	struct fixture *f = *state;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	struct capture c = {.fail_at = -1};
	struct xenib_nl_ops ops = {.send = capture_send, .ctx = &c};

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 4), 0);
	discover(f, &t);
	assert_int_equal(xenib_identity_set(f->root, &ops, &t.pfs[0], &t.vfs[2],
	                                    UINT64_C(0x0200aabbccddee04),
	                                    UINT64_C(0x0200aabbccddee05), &err),
	                 0);
	assert_file(f, SRIOV "2/node", "02:00:aa:bb:cc:dd:ee:04");
	assert_file(f, SRIOV "2/port", "02:00:aa:bb:cc:dd:ee:05");
	assert_file(f, SRIOV "2/policy", "Follow");
	assert_file(f, SRIOV "1/policy", "Down\n"); /* the neighbours untouched */
	assert_int_equal(c.n, 0);                   /* the vendor files win over rtnetlink */

	assert_int_equal(xenib_identity_reset(f->root, &ops, &t.pfs[0], &t.vfs[2], &err), 0);
	assert_file(f, SRIOV "2/policy", "Down");
	assert_file(f, SRIOV "2/node", "00:00:00:00:00:00:00:00");
	assert_file(f, SRIOV "2/port", "00:00:00:00:00:00:00:00");
	xenib_topology_free(&t);
}

static void test_netlink_route(void **state)
{
	struct fixture *f = *state;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	struct capture c = {.fail_at = -1};
	struct xenib_nl_ops ops = {.send = capture_send, .ctx = &c};
	unsigned char want[XENIB_NL_MSG_MAX];
	uint64_t node = UINT64_C(0x0200aabbccddee06), port = UINT64_C(0x0200aabbccddee07);
	struct xenib_nl_vf req = {.ifindex = FIXTURE_IFINDEX,
	                          .vf = 3,
	                          .node_guid = &node,
	                          .port_guid = &port,
	                          .policy = XENIB_POLICY_FOLLOW};
	size_t len;

	assert_int_equal(fixture_build(f, FIXTURE_NETLINK, 4), 0);
	discover(f, &t);
	assert_int_equal(xenib_identity_set(f->root, &ops, &t.pfs[0], &t.vfs[3], node, port, &err),
	                 0);
	assert_int_equal(c.n, 1);
	/* the same request as expect_set but for the sequence number (a time stamp) */
	len = xenib_nl_build_vf(want, sizeof(want), 0, &req);
	assert_int_equal(c.len[0], len);
	assert_memory_equal(c.msg[0], want, 8);
	assert_memory_equal(c.msg[0] + 12, want + 12, len - 12);
	assert_memory_equal(c.msg[0] + 16, expect_set + 16, sizeof(expect_set) - 16);

	/* release: Down, then GUIDs cleared; a driver refusing the clear is not an error */
	c.n = 0;
	c.fail_at = 1;
	assert_int_equal(xenib_identity_reset(f->root, &ops, &t.pfs[0], &t.vfs[3], &err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.msg[0][40 + 2], IFLA_VF_LINK_STATE);
	assert_int_equal(c.msg[0][40 + 8], IFLA_VF_LINK_STATE_DISABLE);
	assert_int_equal(c.msg[1][40 + 2], IFLA_VF_IB_NODE_GUID);

	/* Down refused: the release fails, naming the netdev */
	c.n = 0;
	c.fail_at = 0;
	assert_int_equal(xenib_identity_reset(f->root, &ops, &t.pfs[0], &t.vfs[3], &err), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_string_equal(err.msg, "ib0 (ifindex 7): RTM_SETLINK vf 3: Operation not supported");
	xenib_topology_free(&t);
}

/* Neither route: an upstream driver without an IPoIB netdev. */
static void test_no_route(void **state)
{
	struct fixture *f = *state;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	char path[PATH_MAX];

	assert_int_equal(fixture_build(f, FIXTURE_NETLINK, 1), 0);
	snprintf(path, sizeof(path), "%s/net", f->pf_dir);
	assert_int_equal(xenvm_remove_tree(path), 0);
	discover(f, &t);
	assert_int_equal(t.pfs[0].ifindex, 0);
	assert_int_equal(xenib_identity_set(f->root, NULL, &t.pfs[0], &t.vfs[0], 1, 2, &err), -1);
	assert_int_equal(errno, ENODEV);
	assert_string_equal(err.msg, "mlx5_0: cannot set VF GUIDs: no device/sriov/ (mlx5 vendor "
	                             "driver) and no IPoIB netdev under device/net/ (rtnetlink)");
	xenib_topology_free(&t);
}

/* A vendor file that is not writable: the error names it. */
static void test_vendor_write_fails(void **state)
{
	struct fixture *f = *state;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	char path[PATH_MAX], expect[PATH_MAX + 64];

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 2), 0);
	discover(f, &t);
	snprintf(path, sizeof(path), "%s/sriov/1/port", f->pf_dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(xenib_identity_set(f->root, NULL, &t.pfs[0], &t.vfs[1], 1, 2, &err), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(expect, sizeof(expect),
	         "%s/sys/class/infiniband/mlx5_0/device/sriov/1/port: cannot write "
	         "'00:00:00:00:00:00:00:02': No such file or directory",
	         f->root);
	assert_string_equal(err.msg, expect);
	xenib_topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fnv1a64_vectors),
	    cmocka_unit_test(test_guid_layout),
	    cmocka_unit_test(test_guid_format),
	    cmocka_unit_test(test_uapi_layout),
	    cmocka_unit_test(test_netlink_bytes),
	    cmocka_unit_test(test_netlink_kernel_refuses_lo),
	    cmocka_unit_test_setup_teardown(test_vendor_route, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_netlink_route, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_route, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vendor_write_fails, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

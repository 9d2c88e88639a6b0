/*
 * test_guest_rdmadev.c - a container VM's RDMA set-up helper (guest/rdmadev): the netlink
 * request `rdma link add` sends, and the readiness check against a fake /sys, /dev and
 * /proc/net/if_inet6 laid out as Linux 6.1 shows an rxe0 on eth0 (ifindex 2) and an mlx5 VF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/netlink.h>
#include <rdma/rdma_netlink.h>

#include "guest/rdmadev/rdmadev.h"

/* ---- the netlink request ---- */

/* The string attribute of type t in the request, or NULL. */
static const char *attr_str(const char *buf, size_t len, uint16_t t)
{
	size_t off = NLMSG_HDRLEN;

	while (off + NLA_HDRLEN <= len) {
		struct nlattr a;

		memcpy(&a, buf + off, sizeof(a));
		assert_true(a.nla_len >= NLA_HDRLEN && off + a.nla_len <= len);
		if (a.nla_type == t) {
			assert_int_equal(buf[off + a.nla_len - 1], '\0');
			return buf + off + NLA_HDRLEN;
		}
		off += NLA_ALIGN(a.nla_len);
	}
	return NULL;
}

static void newlink_request(void **s)
{
	char buf[256];
	struct nlmsghdr h;
	ssize_t n;

	(void)s;
	n = rd_newlink_msg(buf, sizeof(buf), 7, "rxe0", "rxe", "eth0");
	assert_true(n > (ssize_t)NLMSG_HDRLEN);
	assert_int_equal(n % 4, 0);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.nlmsg_len, n);
	assert_int_equal(h.nlmsg_type, (RDMA_NL_NLDEV << 10) + RDMA_NLDEV_CMD_NEWLINK);
	assert_int_equal(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(h.nlmsg_seq, 7);
	assert_string_equal(attr_str(buf, (size_t)n, RDMA_NLDEV_ATTR_DEV_NAME), "rxe0");
	assert_string_equal(attr_str(buf, (size_t)n, RDMA_NLDEV_ATTR_LINK_TYPE), "rxe");
	assert_string_equal(attr_str(buf, (size_t)n, RDMA_NLDEV_ATTR_NDEV_NAME), "eth0");
}

static void newlink_refuses_bad_names(void **s)
{
	char buf[256], longname[80];

	(void)s;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const char *bad[][3] = {{"", "rxe", "eth0"},
	                        {"rxe0", "rxe", ""},
	                        {NULL, "rxe", "eth0"},
	                        {"rxe0", NULL, "eth0"},
	                        {"rxe0", "rxe", NULL},
	                        {"rx/e0", "rxe", "eth0"},
	                        {"rxe0", "rxe", "../eth0"},
	                        {longname, "rxe", "eth0"},
	                        {"rxe0", "rxe", "eth0eth0eth0eth0"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(
		    rd_newlink_msg(buf, sizeof(buf), 1, bad[i][0], bad[i][1], bad[i][2]), -1);
		assert_int_equal(errno, EINVAL);
	}
	/* 15 characters is IFNAMSIZ's most */
	assert_true(rd_newlink_msg(buf, sizeof(buf), 1, "rxe0", "rxe", "eth0eth0eth0eth") > 0);
	errno = 0;
	assert_int_equal(rd_newlink_msg(buf, 40, 1, "rxe0", "rxe", "eth0"), -1);
	assert_int_equal(errno, ENOSPC);
}

/* ---- the readiness check ---- */

static char root[64];
static char sys_[128], dev_[128], inet6_[128];

static void put(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *text, const char *fmt, ...)
{
	char path[512], cmd[600];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "w");
	if (!f) { /* its directory first */
		snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
		assert_int_equal(system(cmd), 0);
		f = fopen(path, "w");
	}
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define PORT "%s/class/infiniband/rxe0/ports/1"
#define LL_GID "fe80:0000:0000:0000:5054:00ff:fe4c:0a3d\n"
#define V4_GID "0000:0000:0000:0000:0000:ffff:0a65:0b02\n"
#define IF6_LINE(flags) "fe80000000000000505400fffe4c0a3d 02 40 20 " flags "     eth0\n"

/* rxe0 on eth0 as the kernel shows it once up: GID 0 link-local, 1 IPv4-mapped, 2.. unused. */
static int setup_rxe(void **s)
{
	(void)s;
	snprintf(root, sizeof(root), "/tmp/test-rdmadev.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(sys_, sizeof(sys_), "%s/sys", root);
	snprintf(dev_, sizeof(dev_), "%s/dev", root);
	snprintf(inet6_, sizeof(inet6_), "%s/if_inet6", root);
	put("5054:00ff:fe4c:0a3d\n", "%s/class/infiniband/rxe0/node_guid", sys_);
	put("4: ACTIVE\n", PORT "/state", sys_);
	put("Ethernet\n", PORT "/link_layer", sys_);
	put("0x0\n", PORT "/lid", sys_);
	put(LL_GID, PORT "/gids/0", sys_);
	put(V4_GID, PORT "/gids/1", sys_);
	/* rxe's table: 1024 entries, the unused ones zero (300 here) */
	for (int i = 2; i < 300; i++)
		put("0000:0000:0000:0000:0000:0000:0000:0000\n", PORT "/gids/%d", sys_, i);
	put("RoCE v2\n", PORT "/gid_attrs/types/0", sys_);
	put("RoCE v2\n", PORT "/gid_attrs/types/1", sys_);
	put("eth0\n", PORT "/gid_attrs/ndevs/0", sys_);
	put("eth0\n", PORT "/gid_attrs/ndevs/1", sys_);
	put("2\n", "%s/class/net/eth0/ifindex", sys_);
	put("rxe0\n", "%s/class/infiniband_verbs/uverbs0/ibdev", sys_);
	put("", "%s/infiniband/uverbs0", dev_);
	put(IF6_LINE("80"), "%s", inet6_);
	return 0;
}

static int teardown(void **s)
{
	char cmd[128];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static int check(const char *want, char *report, char *why)
{
	const struct rd_paths p = {.sys = sys_, .dev = dev_, .if_inet6 = inet6_};

	report[0] = why[0] = '\0';
	return rd_check_once(&p, want, report, RD_REPORT_MAX, why, 400);
}

static void rxe_ready(void **s)
{
	char report[RD_REPORT_MAX], why[400];

	(void)s;
	assert_int_equal(check("rxe0", report, why), 0);
	assert_string_equal(report, "ib=rxe0 port=1 state=ACTIVE link=Ethernet "
	                            "node_guid=5054:00ff:fe4c:0a3d gid_index=0 "
	                            "gid=fe80::5054:ff:fe4c:a3d ipv4_gid=::ffff:10.101.11.2");
	/* no name: the first device */
	assert_int_equal(check(NULL, report, why), 0);
}

/* Each thing the check waits for, taken away from a ready device, is named. */
static void rxe_not_yet(void **s)
{
	char report[RD_REPORT_MAX], why[400], path[512];

	(void)s;
	assert_int_equal(check("mlx5_0", report, why), 1);
	assert_string_equal(why, "no RDMA device mlx5_0 (sysfs lists 1, e.g. rxe0)");
	assert_string_equal(report, "");

	put(IF6_LINE("c0"), "%s", inet6_);
	assert_int_equal(check("rxe0", report, why), 1);
	assert_string_equal(why,
	                    "rxe0 port 1: GID fe80::5054:ff:fe4c:a3d is tentative on ifindex 2 "
	                    "(IPv6 duplicate address detection), so RoCE v2 connections cannot "
	                    "use it");
	put("", "%s", inet6_);
	assert_int_equal(check("rxe0", report, why), 1);
	assert_non_null(strstr(why, "is absent on ifindex 2"));

	put("IB/RoCE v1\n", PORT "/gid_attrs/types/0", sys_);
	assert_int_equal(check("rxe0", report, why), 1);
	assert_string_equal(why, "rxe0 port 1: no link-local RoCE v2 GID");

	snprintf(path, sizeof(path), PORT "/gid_attrs/types/1", sys_);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(check("rxe0", report, why), 1);
	assert_string_equal(why, "rxe0 port 1: no RoCE v2 IPv4 GID (is the NIC's address set?)");

	put("1: DOWN\n", PORT "/state", sys_);
	assert_int_equal(check("rxe0", report, why), 1);
	assert_string_equal(why, "rxe0 port 1 is DOWN, not ACTIVE");

	snprintf(path, sizeof(path), "%s/infiniband/uverbs0", dev_);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(check("rxe0", report, why), 1);
	snprintf(path, sizeof(path), "rxe0: no %s/infiniband/uverbs0 (No such file or directory)",
	         dev_);
	assert_string_equal(why, path);

	put("mlx5_0\n", "%s/class/infiniband_verbs/uverbs0/ibdev", sys_);
	assert_int_equal(check(NULL, report, why), 1);
	assert_string_equal(why, "rxe0: no uverbs device (ib_uverbs not loaded?)");
	assert_string_equal(report, "");
}

/*
 * GIDs are taken by index, lowest first, however far into the table (sysfs lists gids/ in hash
 * order; a first version read 256 listed entries and missed index 1 on a real rxe0).
 */
static void gid_far_in_table(void **s)
{
	char report[RD_REPORT_MAX], why[400], path[512];

	(void)s;
	put("0000:0000:0000:0000:0000:0000:0000:0000\n", PORT "/gids/1", sys_);
	snprintf(path, sizeof(path), PORT "/gid_attrs/types/1", sys_);
	assert_int_equal(unlink(path), 0);
	put(V4_GID, PORT "/gids/299", sys_);
	put("RoCE v2\n", PORT "/gid_attrs/types/299", sys_);
	put("0000:0000:0000:0000:0000:ffff:0a65:0b09\n", PORT "/gids/298", sys_);
	put("IB/RoCE v1\n", PORT "/gid_attrs/types/298", sys_);
	put(LL_GID, PORT "/gids/297", sys_);
	put("RoCE v2\n", PORT "/gid_attrs/types/297", sys_);
	assert_int_equal(check("rxe0", report, why), 0);
	assert_string_equal(report, "ib=rxe0 port=1 state=ACTIVE link=Ethernet "
	                            "node_guid=5054:00ff:fe4c:0a3d gid_index=0 "
	                            "gid=fe80::5054:ff:fe4c:a3d ipv4_gid=::ffff:10.101.11.2");
}

/* A VF's InfiniBand port: GID 0 and the LID (sysfs writes it in hex). */
static void ib_port_ready(void **s)
{
	char report[RD_REPORT_MAX], why[400];

	(void)s;
	put("InfiniBand\n", PORT "/link_layer", sys_);
	put("0x1a\n", PORT "/lid", sys_);
	assert_int_equal(check("rxe0", report, why), 0);
	assert_string_equal(report, "ib=rxe0 port=1 state=ACTIVE link=InfiniBand "
	                            "node_guid=5054:00ff:fe4c:0a3d gid_index=0 lid=26");
}

/* No RDMA device at all (no module loaded): no /sys/class/infiniband. */
static void nothing(void **s)
{
	char report[RD_REPORT_MAX], why[400];
	const struct rd_paths p = {.sys = "/nonexistent", .dev = "/nonexistent", .if_inet6 = "/x"};

	(void)s;
	assert_int_equal(rd_check_once(&p, NULL, report, sizeof(report), why, sizeof(why)), 1);
	assert_string_equal(why, "no RDMA device (sysfs lists none)");
	assert_int_equal(rd_check_once(&p, "rxe0", report, sizeof(report), why, sizeof(why)), 1);
	assert_string_equal(why, "no RDMA device rxe0 (sysfs lists 0)");
}

/* The agent's main hands over by name; bad command lines are usage errors (2). */
static void program(void **s)
{
	char a0[] = "/lib/xenvm/xenvm-rdmadev", add[] = "add", check_[] = "check", x[] = "rxe0",
	     wait[] = "--wait", bad[] = "-5", extra[] = "extra";
	char *v1[] = {a0, add, x, NULL}, *v2[] = {a0, check_, wait, bad, NULL},
	     *v3[] = {a0, check_, extra, NULL}, *v4[] = {a0, NULL};

	(void)s;
	assert_string_equal(xvm_rdmadev_basename(a0), "xenvm-rdmadev");
	assert_string_equal(xvm_rdmadev_basename("xenvm-rdmadev"), "xenvm-rdmadev");
	assert_string_equal(xvm_rdmadev_basename("/sbin/xenvm-agent"), "xenvm-agent");
	assert_string_equal(xvm_rdmadev_basename(NULL), "");
	assert_int_equal(xvm_rdmadev_main(3, v1), 2);
	assert_int_equal(xvm_rdmadev_main(4, v2), 2);
	assert_int_equal(xvm_rdmadev_main(3, v3), 2);
	assert_int_equal(xvm_rdmadev_main(1, v4), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(newlink_request),
	    cmocka_unit_test(newlink_refuses_bad_names),
	    cmocka_unit_test_setup_teardown(rxe_ready, setup_rxe, teardown),
	    cmocka_unit_test_setup_teardown(rxe_not_yet, setup_rxe, teardown),
	    cmocka_unit_test_setup_teardown(ib_port_ready, setup_rxe, teardown),
	    cmocka_unit_test_setup_teardown(gid_far_in_table, setup_rxe, teardown),
	    cmocka_unit_test(nothing),
	    cmocka_unit_test(program),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

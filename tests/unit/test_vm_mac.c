/*
 * test_vm_mac.c - the guest NIC's MAC (vm/mac.c): unique across the nodes of a job.
 *
 * The job's VMs on different nodes have the same job id and name, so the MAC must come from
 * the (unique) guest address; the old QEMU rule (job id and the vmd's pid byte) gave two nodes'
 * VMs one MAC in 1 job of 256, and then ARP and RoCE's link-local GIDs collided.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vm/mac.h"

static void from_the_address(void **st)
{
	struct xvm_spec s = {.name = "vm0", .job_id = 12, .ip_cidr = "10.181.12.3/16"};
	char mac[XVM_MAC_LEN];

	(void)st;
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 777, mac, sizeof(mac)), 0);
	assert_string_equal(mac, "52:54:00:b5:0c:03");
	/* the salt plays no part when there is an address: every node derives the same rule */
	assert_int_equal(xvm_guest_mac(&s, "00:16:3e", 0, mac, sizeof(mac)), 0);
	assert_string_equal(mac, "00:16:3e:b5:0c:03");
	s.ip_cidr = "10.0.0.255"; /* no prefix length */
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 1, mac, sizeof(mac)), 0);
	assert_string_equal(mac, "52:54:00:00:00:ff");
}

static void same_job_two_nodes_differ(void **st)
{
	/* what the Prolog gives two nodes of one job: same job, same name, own addresses */
	struct xvm_spec a = {.name = "vm0", .job_id = 2, .ip_cidr = "10.181.11.3/16"};
	struct xvm_spec b = {.name = "vm0", .job_id = 2, .ip_cidr = "10.181.12.3/16"};
	char ma[XVM_MAC_LEN], mb[XVM_MAC_LEN];

	(void)st;
	/* the same salt, as two nodes' vmds with equal pid bytes had */
	assert_int_equal(xvm_guest_mac(&a, "52:54:00", 4242, ma, sizeof(ma)), 0);
	assert_int_equal(xvm_guest_mac(&b, "52:54:00", 4242, mb, sizeof(mb)), 0);
	assert_string_not_equal(ma, mb);
}

static void without_an_address(void **st)
{
	struct xvm_spec s = {.name = "vm0", .job_id = 0x1234};
	char m1[XVM_MAC_LEN], m2[XVM_MAC_LEN];

	(void)st;
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 0, m1, sizeof(m1)), 0);
	assert_int_equal(strncmp(m1, "52:54:00:12:34:", 15), 0);
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 1, m2, sizeof(m2)), 0);
	assert_string_not_equal(m1, m2); /* the salt separates nodes */
	/* not an IPv4 address, or a byte out of range: the fallback, not garbage */
	s.ip_cidr = "fe80::1/64";
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 0, m2, sizeof(m2)), 0);
	assert_string_equal(m1, m2);
	s.ip_cidr = "10.300.0.1/8";
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 0, m2, sizeof(m2)), 0);
	assert_string_equal(m1, m2);
	/* the 4th byte's top bit is cleared: the upper half of Xen's OUI is not for guests */
	s.job_id = 0xff01;
	assert_int_equal(xvm_guest_mac(&s, "00:16:3e", 0, m1, sizeof(m1)), 0);
	assert_int_equal(strncmp(m1, "00:16:3e:7f:01:", 15), 0);
}

static void bad_arguments(void **st)
{
	struct xvm_spec s = {.name = "vm0", .job_id = 1, .ip_cidr = "10.0.0.1/8"};
	char mac[XVM_MAC_LEN];

	(void)st;
	errno = 0;
	assert_int_equal(xvm_guest_mac(NULL, "52:54:00", 0, mac, sizeof(mac)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xvm_guest_mac(&s, NULL, 0, mac, sizeof(mac)), -1);
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 0, NULL, sizeof(mac)), -1);
	assert_int_equal(xvm_guest_mac(&s, "52:54:00", 0, mac, XVM_MAC_LEN - 1), -1);
	assert_int_equal(xvm_guest_mac(&s, "52:54", 0, mac, sizeof(mac)), -1);
	assert_int_equal(xvm_guest_mac(&s, "52:54:0g", 0, mac, sizeof(mac)), -1);
	assert_int_equal(xvm_guest_mac(&s, "52-54-00", 0, mac, sizeof(mac)), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(from_the_address),
	    cmocka_unit_test(same_job_two_nodes_differ),
	    cmocka_unit_test(without_an_address),
	    cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

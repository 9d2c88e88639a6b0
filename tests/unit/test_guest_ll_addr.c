/*
 * test_guest_ll_addr.c - the guest's check that a RoCE GID's IPv6 address is usable
 * (guest/ibcheck/ll_addr.c), against /proc/net/if_inet6 text as Linux 6.1 writes it.
 *
 * The lines below were taken from a ttylinux-mpi guest (eth0 index 2, MAC 52:54:00:4c:0a:3d)
 * right after its link came up (flags 0x40: tentative, 0x80: permanent, 0x08: dadfailed,
 * 0x04: optimistic), with the other fields as the kernel prints them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guest/ibcheck/ll_addr.h"

/* fe80::5054:ff:fe4c:a3d */
static const unsigned char LL[16] = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                                     0x50, 0x54, 0x00, 0xff, 0xfe, 0x4c, 0x0a, 0x3d};

#define LO "00000000000000000000000000000001 01 80 10 80       lo\n"

static int state_of(const char *text, unsigned ifindex)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int st;

	assert_non_null(f);
	st = ll_addr_state(f, LL, ifindex);
	fclose(f);
	return st;
}

static void tentative_until_dad_ends(void **s)
{
	(void)s;
	assert_int_equal(state_of(LO "fe80000000000000505400fffe4c0a3d 02 40 20 c0     eth0\n", 2),
	                 LL_ADDR_TENTATIVE);
	assert_int_equal(state_of(LO "fe80000000000000505400fffe4c0a3d 02 40 20 80     eth0\n", 2),
	                 LL_ADDR_USABLE);
}

static void optimistic_still_waits(void **s)
{
	(void)s;
	assert_int_equal(state_of("fe80000000000000505400fffe4c0a3d 02 40 20 c4     eth0\n", 2),
	                 LL_ADDR_TENTATIVE);
}

static void dad_failed(void **s)
{
	(void)s;
	assert_int_equal(state_of("fe80000000000000505400fffe4c0a3d 02 40 20 88     eth0\n", 2),
	                 LL_ADDR_DADFAILED);
	assert_string_equal(ll_addr_state_name(LL_ADDR_DADFAILED), "dadfailed");
}

static void absent_or_elsewhere(void **s)
{
	(void)s;
	/* no line at all: the link is not up yet */
	assert_int_equal(state_of(LO, 2), LL_ADDR_ABSENT);
	assert_int_equal(state_of("", 2), LL_ADDR_ABSENT);
	/* the same address on another interface is not this GID's */
	assert_int_equal(state_of("fe80000000000000505400fffe4c0a3d 03 40 20 80     eth1\n", 2),
	                 LL_ADDR_ABSENT);
	/* ifindex 0 (the GID entry names no net device): any interface */
	assert_int_equal(state_of("fe80000000000000505400fffe4c0a3d 03 40 20 80     eth1\n", 0),
	                 LL_ADDR_USABLE);
	/* another address of eth0 */
	assert_int_equal(state_of("fe80000000000000505400fffe4c0a3e 02 40 20 80     eth0\n", 2),
	                 LL_ADDR_ABSENT);
}

static void malformed_lines_skipped(void **s)
{
	(void)s;
	/* short address, non-hex digit, missing fields, garbage: skipped, then the good one */
	static const char text[] = "fe80000000000000505400fffe4c0a3 02 40 20 80 eth0\n"
	                           "fe80000000000000505400fffe4c0a3g 02 40 20 80 eth0\n"
	                           "fe80000000000000505400fffe4c0a3d 02 40\n"
	                           "garbage\n"
	                           "fe80000000000000505400fffe4c0a3d 02 40 20 80     eth0\n";
	assert_int_equal(state_of(text, 2), LL_ADDR_USABLE);
}

static void bad_arguments(void **s)
{
	(void)s;
	errno = 0;
	assert_int_equal(ll_addr_state(NULL, LL, 2), -1);
	assert_int_equal(errno, EINVAL);
	FILE *f = fmemopen((void *)LO, strlen(LO), "r");
	assert_non_null(f);
	errno = 0;
	assert_int_equal(ll_addr_state(f, NULL, 2), -1);
	assert_int_equal(errno, EINVAL);
	fclose(f);
	assert_string_equal(ll_addr_state_name(42), "?");
}

static void read_error(void **s)
{
	(void)s;
	/* a write-only stream: fgets fails and sets the error indicator */
	FILE *f = fopen("/dev/null", "w");
	assert_non_null(f);
	errno = 0;
	assert_int_equal(ll_addr_state(f, LL, 2), -1);
	assert_int_equal(errno, EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tentative_until_dad_ends),
	    cmocka_unit_test(optimistic_still_waits),
	    cmocka_unit_test(dad_failed),
	    cmocka_unit_test(absent_or_elsewhere),
	    cmocka_unit_test(malformed_lines_skipped),
	    cmocka_unit_test(bad_arguments),
	    cmocka_unit_test(read_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

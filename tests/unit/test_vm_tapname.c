/*
 * test_vm_tapname.c - the VM's interface name (vm/tapname.c): at most 15 characters, and two
 * VMs on a node never share one.  The old rule ("xv%u%s" cut at 15 characters) gave job
 * 1234567890's vm0 and vm01 both "xv1234567890vm0".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vm/tapname.h"

static void short_names(void **st)
{
	char b[XVM_TAP_NAME_LEN];

	(void)st;
	assert_int_equal(xvm_tap_name(12345, "vm0", b, sizeof(b)), 0);
	assert_string_equal(b, "xv9ix_vm0");
	assert_int_equal(xvm_tap_name(UINT32_MAX, "vm0", b, sizeof(b)), 0);
	assert_string_equal(b, "xv1z141z3_vm0");
	assert_int_equal(xvm_tap_name(0, "abcde", b, sizeof(b)), 0);
	assert_string_equal(b, "xv0_abcde");
}

static void long_names_hashed(void **st)
{
	char a[XVM_TAP_NAME_LEN], b[XVM_TAP_NAME_LEN];

	(void)st;
	assert_int_equal(xvm_tap_name(UINT32_MAX, "abcdefghijklmnop", a, sizeof(a)), 0);
	assert_int_equal(strlen(a), 15);
	assert_non_null(strchr(a, '.'));
	assert_int_equal(xvm_tap_name(UINT32_MAX, "abcdefghijklmnoq", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(xvm_tap_name(1234567890, "vm0", a, sizeof(a)), 0);
	assert_int_equal(xvm_tap_name(1234567890, "vm01", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
}

/* Every job id of a sample and names vm0..vm99: no two alike, all within 15 characters. */
static void unique(void **st)
{
	static char seen[2000][XVM_TAP_NAME_LEN];
	static const uint32_t jobs[] = {
	    1,         35,         36,         1234567,        12345678,
	    123456789, 1234567891, 1234567892, UINT32_MAX - 1, UINT32_MAX};
	size_t n = 0;
	char name[16];

	(void)st;
	for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++)
		for (int v = 0; v < 100; v++) {
			snprintf(name, sizeof(name), "vm%d", v);
			assert_int_equal(xvm_tap_name(jobs[j], name, seen[n], XVM_TAP_NAME_LEN), 0);
			assert_true(strlen(seen[n]) <= 15);
			for (size_t k = 0; k < n; k++)
				assert_string_not_equal(seen[k], seen[n]);
			n++;
		}
}

static void bad(void **st)
{
	char b[XVM_TAP_NAME_LEN];

	(void)st;
	errno = 0;
	assert_int_equal(xvm_tap_name(1, "", b, sizeof(b)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xvm_tap_name(1, NULL, b, sizeof(b)), -1);
	assert_int_equal(xvm_tap_name(1, "a.b", b, sizeof(b)), -1);
	assert_int_equal(xvm_tap_name(1, "abcdefghijklmnopq", b, sizeof(b)), -1);
	assert_int_equal(xvm_tap_name(1, "vm0", b, 15), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(short_names),
	    cmocka_unit_test(long_names_hashed),
	    cmocka_unit_test(unique),
	    cmocka_unit_test(bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

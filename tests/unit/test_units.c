/* test_units.c - sizes and durations (lib/units.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/units.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)
#define PiB (UINT64_C(1) << 50)

static void size_ok(const char *s, uint64_t want)
{
	uint64_t got = 12345;

	if (xenvm_parse_size(s, &got) != 0)
		fail_msg("xenvm_parse_size(\"%s\") failed: %s", s, strerror(errno));
	if (got != want)
		fail_msg("xenvm_parse_size(\"%s\") = %llu, want %llu", s, (unsigned long long)got,
		         (unsigned long long)want);
}

static void size_bad(const char *s, int want_errno)
{
	uint64_t got = 12345;

	errno = 0;
	if (xenvm_parse_size(s, &got) != -1)
		fail_msg("xenvm_parse_size(\"%s\") accepted (= %llu)", s, (unsigned long long)got);
	if (errno != want_errno)
		fail_msg("xenvm_parse_size(\"%s\"): errno %d, want %d", s, errno, want_errno);
	assert_int_equal(got, 12345); /* untouched */
}

static void test_size_valid(void **state)
{
	(void)state;
	size_ok("0", 0);
	size_ok("4096", 4096);
	size_ok("1B", 1);
	size_ok("512M", 512 * MiB);
	size_ok("512m", 512 * MiB);
	size_ok("2G", 2 * GiB);
	size_ok("2GB", 2 * GiB);
	size_ok("2GiB", 2 * GiB);
	size_ok("64K", 64 * KiB);
	size_ok("1T", TiB);
	size_ok("3P", 3 * PiB);
	size_ok("1.5G", GiB + GiB / 2);
	size_ok("0.5K", 512);
	size_ok("1.25M", MiB + MiB / 4);
	size_ok("1.0", 1);
	size_ok("007", 7);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("15P", 15 * PiB);
}

static void test_size_invalid(void **state)
{
	(void)state;
	size_bad("", EINVAL);
	size_bad("M", EINVAL);
	size_bad("-1", EINVAL);
	size_bad("+1", EINVAL);
	size_bad(" 1", EINVAL);
	size_bad("1 ", EINVAL);
	size_bad("9Q", EINVAL);
	size_bad("1.1K", EINVAL); /* 1126.4 bytes */
	size_bad("1.5", EINVAL);  /* 1.5 bytes */
	size_bad("1.", EINVAL);
	size_bad(".5G", EINVAL);
	size_bad("1.G", EINVAL);
	size_bad("1GG", EINVAL);
	size_bad("1iB", EINVAL);
	size_bad("1Gi", EINVAL);
	size_bad("1Gb", EINVAL);
	size_bad("0x10", EINVAL);
	size_bad("1.0000000000000000000G", EINVAL); /* more than 18 fraction digits */
	size_bad("18446744073709551616", ERANGE);
	size_bad("99999999999999999999999M", ERANGE);
	size_bad("16384P", ERANGE);
	size_bad("16383.9999P", EINVAL);              /* not a whole number of bytes */
	size_bad("99999999999999999999999Q", EINVAL); /* syntax wins over overflow */
	errno = 0;
	assert_int_equal(xenvm_parse_size(NULL, &(uint64_t){0}), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(xenvm_parse_size("1", NULL), -1);
	assert_int_equal(errno, EINVAL);
}

static void dur_ok(const char *s, uint32_t want)
{
	uint32_t got = 777;

	if (xenvm_parse_duration(s, &got) != 0)
		fail_msg("xenvm_parse_duration(\"%s\") failed: %s", s, strerror(errno));
	if (got != want)
		fail_msg("xenvm_parse_duration(\"%s\") = %u, want %u", s, got, want);
}

static void dur_bad(const char *s, int want_errno)
{
	uint32_t got = 777;

	errno = 0;
	if (xenvm_parse_duration(s, &got) != -1)
		fail_msg("xenvm_parse_duration(\"%s\") accepted (= %u)", s, got);
	if (errno != want_errno)
		fail_msg("xenvm_parse_duration(\"%s\"): errno %d, want %d", s, errno, want_errno);
	assert_int_equal(got, 777);
}

static void test_duration(void **state)
{
	(void)state;
	dur_ok("0", 0);
	dur_ok("90", 90);
	dur_ok("60s", 60);
	dur_ok("2m", 120);
	dur_ok("1h", 3600);
	dur_ok("2d", 172800);
	dur_ok("4294967295", UINT32_MAX);
	dur_ok("4294967295s", UINT32_MAX);
	dur_bad("", EINVAL);
	dur_bad("s", EINVAL);
	dur_bad("-5", EINVAL);
	dur_bad("5x", EINVAL);
	dur_bad("1.5h", EINVAL);
	dur_bad("1h30m", EINVAL);
	dur_bad("10 s", EINVAL);
	dur_bad("5S", EINVAL);
	dur_bad("4294967296", ERANGE);
	dur_ok("71582788m", 4294967280u);
	dur_bad("71582789m", ERANGE);
	dur_bad("49711d", ERANGE);
	dur_bad("99999999999999999999999", ERANGE);
	dur_bad("99999999999999999999999x", EINVAL);
	errno = 0;
	assert_int_equal(xenvm_parse_duration(NULL, &(uint32_t){0}), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xenvm_parse_duration("1", NULL), -1);
}

static void fmt_is(uint64_t bytes, const char *want)
{
	char buf[32];
	uint64_t back = 0;

	assert_ptr_equal(xenvm_format_size(bytes, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
	/* the output always parses back to the same number */
	assert_int_equal(xenvm_parse_size(buf, &back), 0);
	assert_true(back == bytes);
}

static void test_format_size(void **state)
{
	char small[4];

	(void)state;
	fmt_is(0, "0");
	fmt_is(1000, "1000");
	fmt_is(1024, "1K");
	fmt_is(1536, "1.5K");
	fmt_is(1025, "1025");
	fmt_is(64 * KiB, "64K");
	fmt_is(512 * MiB, "512M");
	fmt_is(GiB + GiB / 2, "1.5G");
	fmt_is(GiB + MiB, "1025M");
	fmt_is(20 * GiB, "20G");
	fmt_is(4 * TiB, "4T");
	fmt_is(2 * PiB, "2P");
	fmt_is(UINT64_MAX, "18446744073709551615");
	/* truncated like snprintf, always terminated */
	assert_ptr_equal(xenvm_format_size(512 * MiB, small, sizeof(small)), small);
	assert_string_equal(small, "512");
	errno = 0;
	assert_null(xenvm_format_size(1, NULL, 10));
	assert_int_equal(errno, EINVAL);
	assert_null(xenvm_format_size(1, small, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size_valid),
	    cmocka_unit_test(test_size_invalid),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_format_size),
	};

	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}

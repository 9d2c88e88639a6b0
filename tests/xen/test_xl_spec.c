/* test_xl_spec.c - the checks the xen driver makes before touching Xen (xen/xl_spec.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "xen/xl_domain.h"

struct files {
	char dir[64];
	char kernel[96];
	char cpio[96];
	char zstd[96];
	char garbage[96];
	char empty[96];
};

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_xl_spec.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinuz", f->dir);
	snprintf(f->cpio, sizeof(f->cpio), "%s/initrd.cpio", f->dir);
	snprintf(f->zstd, sizeof(f->zstd), "%s/initrd.zst", f->dir);
	snprintf(f->garbage, sizeof(f->garbage), "%s/garbage", f->dir);
	snprintf(f->empty, sizeof(f->empty), "%s/empty", f->dir);
	write_file(f->kernel, "MZ kernel", 9);
	write_file(f->cpio, "070701000000", 12);
	write_file(f->zstd, "\x28\xb5\x2f\xfd\x00\x00", 6);
	write_file(f->garbage, "not an initramfs", 16);
	write_file(f->empty, "", 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct files *f = *state;

	unlink(f->kernel);
	unlink(f->cpio);
	unlink(f->zstd);
	unlink(f->garbage);
	unlink(f->empty);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct xl_domain_spec good(const struct files *f)
{
	struct xl_domain_spec s = {
	    .name = "xenvm-job42-n1",
	    .type = XL_DOMAIN_PV,
	    .kernel = f->kernel,
	    .ramdisk = f->zstd,
	    .memory_mib = 256,
	    .vcpus = 1,
	};
	return s;
}

/* spec_bad: the check fails with errno want and a message containing needle. */
static void spec_bad(const struct xl_domain_spec *s, int want, const char *needle)
{
	struct xerr err = {""};

	errno = 0;
	assert_int_equal(xl_domain_spec_check(s, &err), -1);
	if (errno != want)
		fail_msg("errno %d (%s), want %d; message: %s", errno, strerror(errno), want,
		         err.msg);
	if (!strstr(err.msg, needle))
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_good_specs(void **state)
{
	const struct files *f = *state;
	struct xl_domain_spec s = good(f);
	struct xerr err = {""};

	assert_int_equal(xl_domain_spec_check(&s, &err), 0);
	s.ramdisk = f->cpio;
	s.type = XL_DOMAIN_PVH;
	s.bridge = "xenbr0";
	s.mac = "52:54:00:84:01:01";
	assert_int_equal(xl_domain_spec_check(&s, &err), 0);
	s.ramdisk = NULL;
	assert_int_equal(xl_domain_spec_check(&s, &err), 0);
}

static void test_files(void **state)
{
	const struct files *f = *state;
	struct xl_domain_spec s = good(f);

	s.kernel = "/nonexistent/vmlinuz";
	spec_bad(&s, ENOENT, "kernel /nonexistent/vmlinuz: No such file or directory");
	s.kernel = f->dir;
	spec_bad(&s, EINVAL, "not a non-empty regular file");
	s = good(f);
	s.ramdisk = f->garbage;
	spec_bad(&s, ENOEXEC, "not an initramfs");
	s.ramdisk = f->empty;
	spec_bad(&s, EINVAL, "not a non-empty regular file");
	s.ramdisk = "/nonexistent/initrd";
	spec_bad(&s, ENOENT, "ramdisk /nonexistent/initrd");
	s = good(f);
	s.kernel = NULL;
	spec_bad(&s, EINVAL, "no kernel");
	s = good(f);
	s.disk = "/nonexistent/rootdisk.sqfs";
	spec_bad(&s, ENOENT, "disk /nonexistent/rootdisk.sqfs: No such file or directory");
	s.disk = f->cpio;
	assert_int_equal(xl_domain_spec_check(&s, NULL), 0);
}

static void test_fields(void **state)
{
	const struct files *f = *state;
	struct xl_domain_spec s = good(f);

	spec_bad(NULL, EINVAL, "no domain spec");
	s.name = "bad name";
	spec_bad(&s, EINVAL, "domain name");
	s.name = "";
	spec_bad(&s, EINVAL, "domain name");
	s = good(f);
	s.type = (enum xl_domain_type)7;
	spec_bad(&s, EINVAL, "unknown domain type");
	s = good(f);
	s.memory_mib = 8;
	spec_bad(&s, EINVAL, "memory 8 MiB");
	s = good(f);
	s.vcpus = 0;
	spec_bad(&s, EINVAL, "vcpus 0");
	s = good(f);
	s.bridge = "xenbr0";
	s.mac = "01:00:5e:00:00:01"; /* multicast */
	spec_bad(&s, EINVAL, "not a unicast");
	s.mac = "52:54:00:84:01";
	spec_bad(&s, EINVAL, "not a unicast");
	s.mac = "52:54:00:84:01:01:02";
	spec_bad(&s, EINVAL, "not a unicast");
	s.bridge = NULL;
	s.mac = "52:54:00:84:01:01";
	spec_bad(&s, EINVAL, "without a bridge");
}

/* 9pfs shares: absolute paths without commas (libxenlight's device string), each with a tag. */
static void test_p9(void **state)
{
	const struct files *f = *state;
	struct xl_domain_spec s = good(f);
	const char *paths[9] = {"/home/u", "/work"}, *tags[9] = {"xs0", "xs1"};

	s.p9_paths = paths;
	s.p9_tags = tags;
	s.n_p9 = 2;
	assert_int_equal(xl_domain_spec_check(&s, NULL), 0);
	paths[1] = "work";
	spec_bad(&s, EINVAL, "9pfs share 1: needs an absolute path");
	paths[1] = "/a,b";
	spec_bad(&s, EINVAL, "9pfs share 1: needs an absolute path without commas");
	paths[1] = "/work";
	tags[0] = "";
	spec_bad(&s, EINVAL, "9pfs share 0");
	tags[0] = "xs0";
	s.n_p9 = 9;
	spec_bad(&s, EINVAL, "9 9pfs shares (at most 8");
	s.n_p9 = 1;
	s.p9_tags = NULL;
	spec_bad(&s, EINVAL, "each with a path and a tag");
}

static void test_names(void **state)
{
	char buf[32];

	assert_int_equal(xl_domain_name(buf, sizeof(buf), 42, "n1"), 0);
	assert_string_equal(buf, "xenvm-job42-n1");
	assert_int_equal(xl_domain_name(buf, sizeof(buf), 4294967295u, "node-7.a_b"), 0);
	assert_string_equal(buf, "xenvm-job4294967295-node-7.a_b");
	errno = 0;
	assert_int_equal(xl_domain_name(buf, sizeof(buf), 1, "a/b"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xl_domain_name(buf, sizeof(buf), 1, ""), -1);
	assert_int_equal(xl_domain_name(buf, sizeof(buf), 1, NULL), -1);
	errno = 0;
	assert_int_equal(xl_domain_name(buf, 15, 123456, "n1"), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good_specs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_p9, setup, teardown),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

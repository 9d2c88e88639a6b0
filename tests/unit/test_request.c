/* test_request.c - the VM request as sbatch, slurmctld and the Prolog read it (lib/request.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/imageref.h"
#include "lib/request.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void image_names(void **state)
{
	char out[XENVM_IMAGE_NAME_MAX + 1] = "";
	char longname[80];
	struct xerr err;

	assert_int_equal(xenvm_parse_image_name("--vm-image", "ttylinux-mpi", out, &err), 0);
	assert_string_equal(out, "ttylinux-mpi");
	assert_int_equal(xenvm_parse_image_name("--vm-image", "a.b_c-1", out, &err), 0);

	assert_int_equal(xenvm_parse_image_name("--vm-image", "", out, &err), -1);
	assert_string_equal(err.msg,
	                    "--vm-image: an image name is required (e.g. --vm-image=ttylinux-mpi)");
	assert_int_equal(xenvm_parse_image_name("--vm-image", "-x", out, &err), -1);
	assert_string_equal(err.msg,
	                    "--vm-image: invalid image name '-x': use letters, digits and "
	                    "'.', '_', '-' (not first), as NAME, NAME:TAG or USER/NAME[:TAG]");
	assert_int_equal(xenvm_parse_image_name("XENVM_IMAGE", "a/../b", out, &err), -1);
	assert_non_null(strstr(err.msg, "XENVM_IMAGE: invalid image name 'a/../b'"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(xenvm_parse_image_name("--vm-image", longname, out, &err), -1);
	assert_string_equal(err.msg,
	                    "--vm-image: image name is 79 characters long; at most 64 are allowed");
	assert_string_equal(out, "a.b_c-1"); /* untouched on failure */
}

static void mem_vcpus_flags(void **state)
{
	uint64_t mem = 0;
	uint32_t n = 0;
	bool b = false;
	struct xerr err;

	assert_int_equal(xenvm_parse_mem("--vm-mem", "2G", &mem, &err), 0);
	assert_int_equal(mem, 2ULL << 30);
	assert_int_equal(xenvm_parse_mem("--vm-mem", "lots", &mem, &err), -1);
	assert_string_equal(err.msg, "--vm-mem: 'lots' is not a memory size (use e.g. 512M or 2G)");
	assert_int_equal(xenvm_parse_mem("--vm-mem", "1M", &mem, &err), -1);
	assert_string_equal(err.msg, "--vm-mem: 1M is too small; a VM needs at least 16M");
	assert_int_equal(mem, 2ULL << 30);

	assert_int_equal(xenvm_parse_vcpus("--vm-vcpus", "4", &n, &err), 0);
	assert_int_equal(n, 4);
	const char *bad[] = {"0", "-1", "+2", "4x", "", "513", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xenvm_parse_vcpus("--vm-vcpus", bad[i], &n, &err), -1);
		assert_non_null(
		    strstr(err.msg, "is not a vCPU count (a whole number from 1 to 512)"));
	}
	assert_int_equal(n, 4);

	assert_int_equal(xenvm_parse_flag("XENVM_ROOT", "", &b, &err), 0);
	assert_true(b);
	assert_int_equal(xenvm_parse_flag("XENVM_ROOT", "no", &b, &err), 0);
	assert_false(b);
	assert_int_equal(xenvm_parse_flag("XENVM_ROOT", "maybe", &b, &err), -1);
	assert_string_equal(err.msg, "XENVM_ROOT: 'maybe' is not a yes/no value (use 1 or 0)");
}

static void digests(void **state)
{
	char out[XENVM_DIGEST_LEN + 1];
	struct xerr err;

	assert_int_equal(xenvm_parse_digest("d", DIGEST, out, &err), 0);
	assert_string_equal(out, DIGEST);
	assert_int_equal(xenvm_parse_digest("d", "sha256:ABC", out, &err), -1);
	assert_string_equal(err.msg,
	                    "d: 'sha256:ABC' is not an image digest (sha256:<64 hex digits>)");
	/* uppercase hex is not canonical and must not pin a different-looking digest */
	char upper[] = DIGEST;
	upper[10] = 'A';
	assert_int_equal(xenvm_parse_digest("d", upper, out, &err), -1);
	assert_int_equal(xenvm_parse_digest("d", "md5:0123", out, &err), -1);
}

/* --vm-mounts: pyxis's SRC[:DST[:ro]] syntax; errors name the option. */
static void mounts(void **state)
{
	struct xenvm_mount m[XENVM_MOUNTS_MAX];
	char buf[XENVM_MOUNTS_LEN], big[XENVM_MOUNTS_LEN + 10];
	static const struct {
		const char *in, *msg;
	} bad[] = {
	    {"data", "--vm-mounts: 'data' is not an absolute path"},
	    {"/a:b", "--vm-mounts: 'b' is not an absolute path"},
	    {"/a:/b:rx", "--vm-mounts: 'rx' in /a: expected ro or rw"},
	    {"/a/../etc", "--vm-mounts: '/a/../etc' is not an absolute path"},
	    {"/a b", "--vm-mounts: '/a b' is not an absolute path"},
	    {"/a:/", "--vm-mounts: /a: cannot mount over the guest's /"},
	    {"", "--vm-mounts: empty"},
	    {",", "--vm-mounts: empty"},
	    {"/1,/2,/3,/4,/5,/6,/7,/8,/9", "--vm-mounts: more than 8 mounts"},
	};
	struct xerr err;
	size_t n = 99;

	(void)state;
	assert_int_equal(
	    xenvm_parse_mounts("--vm-mounts", "/scratch/u,/data:/in:ro,/x:/y:rw", buf, m, &n, &err),
	    0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].src, "/scratch/u");
	assert_string_equal(m[0].dst, "/scratch/u");
	assert_false(m[0].ro);
	assert_string_equal(m[1].src, "/data");
	assert_string_equal(m[1].dst, "/in");
	assert_true(m[1].ro);
	assert_string_equal(m[2].dst, "/y");
	assert_false(m[2].ro);
	assert_int_equal(xenvm_parse_mounts("--vm-mounts", "/a..b/..c", buf, m, &n, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xenvm_parse_mounts("--vm-mounts", bad[i].in, buf, m, &n, &err),
		                 -1);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: got '%s', want '%s'", bad[i].in, err.msg, bad[i].msg);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(xenvm_parse_mounts("XENVM_MOUNTS", big, buf, m, &n, &err), -1);
	assert_non_null(strstr(err.msg, "XENVM_MOUNTS: expected SRC[:DST[:ro]]"));
}

static void mounts_from_env(void **state)
{
	char *v[] = {"XENVM_IMAGE=a", "XENVM_MOUNTS=/scratch:/s:ro"};
	char *bad[] = {"XENVM_IMAGE=a", "XENVM_MOUNTS=scratch"};
	char *orphan[] = {"XENVM_MOUNTS=/scratch"};
	struct xenvm_envv e = {v, 2}, eb = {bad, 2}, eo = {orphan, 1};
	struct xenvm_request r;
	struct xerr err;

	(void)state;
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &e, &xenvm_source_env, &err), 1);
	assert_string_equal(r.mounts, "/scratch:/s:ro");
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &eb, &xenvm_source_env, &err), -1);
	assert_non_null(strstr(err.msg, "XENVM_MOUNTS: 'scratch' is not an absolute path"));
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &eo, &xenvm_source_env, &err), -1);
	assert_string_equal(
	    err.msg, "XENVM_MOUNTS needs XENVM_IMAGE or XENVM_REQUIRE: it sizes or configures the "
	             "job's VM");
}

static void from_env_array(void **state)
{
	char *v[] = {"XENVM_IMAGE=old", "XENVM_IMAGE=ttylinux-mpi", "XENVM_MEM=1G", "XENVM_VCPUS=2",
	             "XENVM_ROOT=1",    "XENVM_DIGEST=" DIGEST,     "OTHER=x"};
	struct xenvm_envv e = {v, 7};
	struct xenvm_request r;
	struct xerr err;

	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &e, &xenvm_source_env, &err), 1);
	assert_string_equal(r.image, "ttylinux-mpi"); /* last assignment wins */
	assert_int_equal(r.mem_bytes, 1ULL << 30);
	assert_int_equal(r.vcpus, 2);
	assert_true(r.root);
	assert_false(r.verbose);
	assert_string_equal(r.digest, DIGEST);

	char *none[] = {"XENVM_IMAGEX=a", "PATH=/bin"};
	struct xenvm_envv e2 = {none, 2};
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &e2, &xenvm_source_env, &err), 0);
	assert_string_equal(r.image, "");

	char *orphan[] = {"XENVM_MEM=1G"};
	struct xenvm_envv e3 = {orphan, 1};
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &e3, &xenvm_source_env, &err), -1);
	assert_string_equal(
	    err.msg, "XENVM_MEM needs XENVM_IMAGE or XENVM_REQUIRE: it sizes or configures the "
	             "job's VM");

	char *badmem[] = {"XENVM_IMAGE=x", "XENVM_MEM=2Q"};
	struct xenvm_envv e4 = {badmem, 2};
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &e4, &xenvm_source_env, &err), -1);
	assert_string_equal(err.msg, "XENVM_MEM: '2Q' is not a memory size (use e.g. 512M or 2G)");
}

static void from_process_env_with_prefix(void **state)
{
	struct xenvm_request r;
	struct xerr err;

	setenv("SPANK_XENVM_IMAGE", "img", 1);
	setenv("SPANK_XENVM_VERBOSE", "1", 1);
	setenv("SPANK_XENVM_DIGEST", "sha256:nothex", 1);
	assert_int_equal(xenvm_request_from_env(&r, "SPANK_", xenvm_getenv_process, NULL,
	                                        &xenvm_source_spank, &err),
	                 -1);
	assert_string_equal(err.msg, "SPANK_XENVM_DIGEST: 'sha256:nothex' is not an image digest "
	                             "(sha256:<64 hex digits>)");
	unsetenv("SPANK_XENVM_DIGEST");
	assert_int_equal(xenvm_request_from_env(&r, "SPANK_", xenvm_getenv_process, NULL,
	                                        &xenvm_source_spank, &err),
	                 1);
	assert_string_equal(r.image, "img");
	assert_true(r.verbose);
	assert_string_equal(r.digest, "");
	unsetenv("SPANK_XENVM_IMAGE");
	unsetenv("SPANK_XENVM_VERBOSE");
	assert_int_equal(
	    xenvm_request_from_env(NULL, "", xenvm_getenv_process, NULL, &xenvm_source_env, &err),
	    -1);
}

/* [NS/]NAME[:TAG] references: what --vm-image, the catalog and imagecast accept. */
static void image_refs(void **state)
{
	struct xenvm_image_ref r;
	char longname[XENVM_IMAGE_REF_MAX + 2];

	(void)state;
	assert_int_equal(xenvm_image_ref_parse("alice/lammps:v2", &r), 0);
	assert_string_equal(r.ns, "alice");
	assert_string_equal(r.name, "lammps");
	assert_string_equal(r.tag, "v2");
	assert_int_equal(xenvm_image_ref_parse("ttylinux-mpi", &r), 0);
	assert_string_equal(r.ns, "");
	assert_string_equal(r.tag, "");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const char *bad[] = {"",       "/x",      "x:",  ":x", "a/b/c",  "../x",
	                     "x:../y", "Alice/x", "x y", "-x", longname, NULL};
	for (int i = 0; bad[i]; i++) {
		errno = 0;
		assert_int_equal(xenvm_image_ref_parse(bad[i], &r), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_false(xenvm_image_ref_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(image_names),
	    cmocka_unit_test(mem_vcpus_flags),
	    cmocka_unit_test(digests),
	    cmocka_unit_test(mounts),
	    cmocka_unit_test(mounts_from_env),
	    cmocka_unit_test(from_env_array),
	    cmocka_unit_test(from_process_env_with_prefix),
	    cmocka_unit_test(image_refs),
	};
	return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}

/*
 * test_require.c - --vm-require: the grammar (lib/require.c), version order (lib/version.c) and
 * choosing an image (lib/catalog_match.c): versions, booleans, site attributes, ties, priority,
 * families, and no match with near misses.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/catalog_match.h"
#include "lib/request.h"
#include "lib/require.h"
#include "lib/version.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FILES                                                                                      \
	"    files:\n"                                                                             \
	"      kernel: {path: k, sha256: " SHA ", size: 1}\n"                                      \
	"      initrd: {path: i, sha256: " SHA ", size: 1}\n"

/* Debian and Alma images (deb13 is not for the test's user), and the fam family of famos. */
static const char catalog_yaml[] =
    "images:\n"
    "  deb11:\n" FILES "    attributes: {os: debian, os_version: 11, kernel: 5.10.0-30-amd64,\n"
    "                 mpi: mpich, mpi_version: 3.4.1, ib: true, libraries: [ucx-1.10, rxe]}\n"
    "  deb12:\n" FILES "    attributes: {os: debian-12, kernel: 6.1.0-28-amd64,\n"
    "                 mpi: 'mpich-4.0.2 ch4:ucx', ib: true, gpu: false, cuda: 12.2}\n"
    "  deb12b:\n" FILES "    attributes: {os: debian, os_version: 12, kernel: 6.1.0-28-amd64,\n"
    "                 mpi: openmpi, mpi_version: 4.1.4, ib: false, site: lab}\n"
    "  deb13:\n" FILES "    attributes: {os: debian, os_version: 13, kernel: 6.12.0, mpi: mpich,\n"
    "                 mpi_version: 4.2.0, ib: true}\n"
    "    allow: {users: [somebody-else-entirely]}\n"
    "  alma9:\n" FILES "    attributes: {os: almalinux, os_version: 9.4, mpi: mpich, ib: true}\n"
    "  fam-c:\n" FILES "    attributes: {os: famos, os_version: 12}\n"
    "  fam-b:\n" FILES "    attributes: {os: famos, os_version: 12, tier: gold}\n"
    "    priority: 5\n"
    "  fam-a:\n" FILES "    attributes: {os: famos, os_version: 12}\n"
    "  fam:\n" FILES "    attributes: {os: debian, os_version: 12.1}\n"
    "  family2:\n" FILES "    attributes: {os: debian, os_version: 14}\n";

static char tmpdir[] = "/tmp/xenvm-test-require-XXXXXX";
static struct xenvm_catalog *cat;
static struct xenvm_requester me;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	char path[PATH_MAX];
	struct xerr err;
	FILE *f;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/images.yaml", tmpdir);
	f = fopen(path, "w");
	if (!f || fputs(catalog_yaml, f) < 0 || fclose(f) != 0)
		return -1;
	if (xenvm_catalog_load(path, &cat, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	me = (struct xenvm_requester){.uid = getuid(), .gid = getgid()};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xenvm_catalog_put(cat);
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ grammar */

static void parses(const char *s, const char *canon)
{
	struct xenvm_requirements r;
	struct xerr err = {""};
	char buf[XENVM_REQUIRE_MAX_LEN + 1];

	if (xenvm_require_parse("--vm-require", s, &r, &err) < 0)
		fail_msg("'%s': %s", s, err.msg);
	assert_string_equal(xenvm_require_format(&r, buf, sizeof(buf)), canon);
}

static void refused(const char *s, const char *want)
{
	struct xenvm_requirements r = {.n = 99};
	struct xerr err = {""};

	if (xenvm_require_parse("--vm-require", s, &r, &err) == 0)
		fail_msg("'%s' parsed, expected \"%s\"", s, want);
	assert_int_equal(r.n, 99); /* untouched */
	if (strcmp(err.msg, want) != 0)
		fail_msg("'%s':\ngot  \"%s\"\nwant \"%s\"", s, err.msg, want);
}

static void test_grammar(void **state)
{
	struct xenvm_requirements r;
	struct xerr err;
	char big[XENVM_REQUIRE_MAX_LEN + 8];

	(void)state;
	parses("os=debian,os_version>=12,mpi=mpich,ib", "os=debian,os_version>=12,mpi=mpich,ib");
	assert_int_equal(xenvm_require_parse("x", "os=debian, !ib ,kernel<6.2", &r, &err), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.t[1].op, XENVM_REQ_FALSE);
	assert_string_equal(r.t[1].key, "ib");
	assert_int_equal(r.t[2].op, XENVM_REQ_LT);
	assert_string_equal(r.t[2].value, "6.2");
	parses("a!=b,c>1,d<=2.0~rc1,e>=1:2,ib=false,libraries=ucx", "a!=b,c>1,d<=2.0~rc1,e>=1:2,"
	                                                            "ib=false,libraries=ucx");
	refused("", "--vm-require: requirements are needed (e.g. "
	            "--vm-require='os=debian,os_version>=12')");
	refused("os=debian,,ib", "--vm-require: an empty term (two commas, or a comma at an end)");
	refused("os=debian,", "--vm-require: an empty term (two commas, or a comma at an end)");
	refused("OS=debian", "--vm-require: 'OS=debian': an attribute name starts with a lowercase "
	                     "letter");
	refused("os==debian", "--vm-require: 'os==debian': no value after '='");
	refused("os=deb ian", "--vm-require: 'os=deb ian': a value is letters, digits and . _ + ~ "
	                      ": - (found ' ')");
	refused("os~debian", "--vm-require: 'os~debian': expected =, !=, >=, <=, > or < after 'os' "
	                     "(names are lowercase letters, digits and '_')");
	refused("os=", "--vm-require: 'os=': no value after '='");
	refused("!os=debian", "--vm-require: '!os=debian': '!' negates a bare name (write !os, or "
	                      "os!=VALUE)");
	refused("os>=12", "--vm-require: 'os>=12': os is a name, compared with = or != only");
	refused("ib=yes", "--vm-require: 'ib=yes': ib is true or false: write ib, !ib or "
	                  "ib=true|false");
	refused("ib>1",
	        "--vm-require: 'ib>1': ib is true or false: write ib, !ib or ib=true|false");
	refused("libraries>=1", "--vm-require: 'libraries>=1': libraries is a list: write "
	                        "libraries=NAME or libraries!=NAME");
	refused("os_version>=bookworm", "--vm-require: 'os_version>=bookworm': os_version is a "
	                                "version: 'bookworm' does not start with a digit");
	refused("cuda>=x12", "--vm-require: 'cuda>=x12': >= compares versions: 'x12' does not "
	                     "start with a digit");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, "--vm-require: 1031 characters long; at most 1024 are allowed");
	refused("a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a",
	        "--vm-require: more than 32 terms");
	refused("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", "--vm-require: "
	                                               "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1': an "
	                                               "attribute name has at most 32 characters");
}

/* The request model carries it: XENVM_REQUIRE alone asks for a VM. */
static void test_request_env(void **state)
{
	char *env[] = {"XENVM_REQUIRE=os=debian, ib", "XENVM_MEM=1G"};
	struct xenvm_envv e = {env, 2};
	char *bad[] = {"XENVM_REQUIRE=os>=1"};
	struct xenvm_envv eb = {bad, 1};
	struct xenvm_request r;
	struct xerr err;

	(void)state;
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &e, &xenvm_source_env, &err), 1);
	assert_string_equal(r.image, "");
	assert_string_equal(r.require, "os=debian,ib");
	assert_int_equal(
	    xenvm_request_from_env(&r, "", xenvm_getenv_array, &eb, &xenvm_source_env, &err), -1);
	assert_string_equal(err.msg, "XENVM_REQUIRE: 'os>=1': os is a name, compared with = or "
	                             "!= only");
}

/* ------------------------------------------------------------------ versions */

static void test_versions(void **state)
{
	(void)state;
	assert_true(xenvm_version_cmp("12", "9") > 0);
	assert_true(xenvm_version_cmp("1.10", "1.9") > 0);
	assert_int_equal(xenvm_version_cmp("1.010", "1.10"), 0);
	assert_true(xenvm_version_cmp("12", "12.1") < 0);
	assert_true(xenvm_version_cmp("6.1.0-28-amd64", "6.1") > 0);
	assert_true(xenvm_version_cmp("6.1.0-28-amd64", "6.1.0-9-amd64") > 0);
	assert_true(xenvm_version_cmp("1.0~rc1", "1.0") < 0);
	assert_true(xenvm_version_cmp("1.0a", "1.0") > 0);
	assert_true(xenvm_version_cmp("1.0", "1.0+b1") < 0);
	assert_true(xenvm_version_cmp(NULL, "0") < 0);
	assert_int_equal(xenvm_version_cmp("4.0.2", "4.0.2"), 0);
}

/* ------------------------------------------------------------------ matching */

static bool permit(const struct xenvm_image *img, void *ctx)
{
	return xenvm_image_permits(img, ctx, NULL) == 0;
}

static bool permit_all(const struct xenvm_image *img, void *ctx)
{
	(void)img, (void)ctx;
	return true;
}

/* The name of the match, or "-" (with the near misses in *near). */
static const char *pick(const char *req, const char *family, xenvm_permit_fn fn,
                        struct xenvm_near_miss *near, size_t *n_near)
{
	struct xenvm_requirements r;
	struct xerr err;
	const struct xenvm_image *img = NULL;
	struct xenvm_near_miss scratch[XENVM_NEAR_MISS_MAX];
	size_t n = 0;
	int rc;

	if (xenvm_require_parse("t", req, &r, &err) < 0)
		fail_msg("%s", err.msg);
	rc = xenvm_catalog_match(cat, &r, family, fn ? fn : permit, &me, &img,
	                         near ? near : scratch, n_near ? n_near : &n);
	assert_int_not_equal(rc, -1);
	return rc == 1 ? img->name : "-";
}

static void test_match_versions(void **state)
{
	(void)state;
	/* deb13 is the newest debian but not for this user: deb12 and deb12b tie on os_version
	 * and kernel, and the name decides */
	assert_string_equal(pick("os=debian", NULL, NULL, NULL, NULL), "family2");
	assert_string_equal(pick("os=debian,os_version<=12.1", NULL, NULL, NULL, NULL), "fam");
	assert_string_equal(pick("os=debian,os_version<13,kernel>=6", NULL, NULL, NULL, NULL),
	                    "deb12");
	assert_string_equal(
	    pick("os=debian,os_version>=12,os_version<13,mpi=mpich", NULL, NULL, NULL, NULL),
	    "deb12");
	/* the legacy "debian-12" and "mpich-4.0.2 ch4:ucx" split into family and version */
	assert_string_equal(
	    pick("os=debian,os_version=12,mpi=mpich,mpi_version>=4", NULL, NULL, NULL, NULL),
	    "deb12");
	assert_string_equal(pick("kernel<6", NULL, NULL, NULL, NULL), "deb11");
	/* versions compare as versions: 9.4 < 11 */
	assert_string_equal(pick("os_version>9.4,os_version<12", NULL, NULL, NULL, NULL), "deb11");
	/* the newest of the key the requirement names comes first: mpi_version */
	assert_string_equal(pick("mpi=mpich,mpi_version>=3", NULL, permit_all, NULL, NULL),
	                    "deb13");
	assert_string_equal(pick("mpi=mpich,mpi_version>=3", NULL, NULL, NULL, NULL), "deb12");
}

static void test_match_bools_and_site(void **state)
{
	(void)state;
	assert_string_equal(pick("os=debian,os_version=12,!ib", NULL, NULL, NULL, NULL), "deb12b");
	assert_string_equal(pick("os_version=12,ib=false,mpi", NULL, NULL, NULL, NULL), "deb12b");
	/* site attributes: a version (cuda: 12.2), a boolean (gpu: false), a string (site: lab) */
	assert_string_equal(pick("cuda>=12", NULL, NULL, NULL, NULL), "deb12");
	assert_string_equal(pick("cuda=12.2.0", NULL, NULL, NULL, NULL), "-");
	assert_string_equal(pick("!gpu,cuda", NULL, NULL, NULL, NULL), "deb12");
	assert_string_equal(pick("gpu", NULL, NULL, NULL, NULL), "-");
	assert_string_equal(pick("site=lab", NULL, NULL, NULL, NULL), "deb12b");
	assert_string_equal(pick("site>=1", NULL, NULL, NULL, NULL), "-");
	/* != holds where the attribute is absent */
	assert_string_equal(pick("site!=lab,os_version=12,ib", NULL, NULL, NULL, NULL), "deb12");
	/* lists: NAME or NAME-VERSION */
	assert_string_equal(pick("libraries=ucx", NULL, NULL, NULL, NULL), "deb11");
	assert_string_equal(pick("libraries=rxe,libraries!=ucx", NULL, NULL, NULL, NULL), "-");
}

static void test_match_ties_priority_family(void **state)
{
	(void)state;
	/* fam-b's priority wins over equals; without it, fam-a and fam-c tie and the name
	 * decides (not file order: fam-c comes first in the file) */
	assert_string_equal(pick("os=famos", NULL, NULL, NULL, NULL), "fam-b");
	assert_string_equal(pick("os=famos,!tier", NULL, NULL, NULL, NULL), "fam-a");
	/* family: the name itself, NAME-* (NAME:* too), never a mere prefix */
	assert_string_equal(pick("os=debian", "fam", NULL, NULL, NULL), "fam");
	assert_string_equal(pick("os_version>=12", "fam", NULL, NULL, NULL), "fam-b");
	assert_string_equal(pick("os_version>=13", "fam", NULL, NULL, NULL), "-");
	assert_true(xenvm_image_in_family("fam:2", "fam"));
	assert_false(xenvm_image_in_family("family2", "fam"));
	/* the same requirement again comes from the memo, with the same answer */
	for (int i = 0; i < 3; i++)
		assert_string_equal(
		    pick("os=debian,os_version<13,kernel>=6", NULL, NULL, NULL, NULL), "deb12");
}

static void test_near_misses_order(void **state)
{
	struct xenvm_near_miss near[XENVM_NEAR_MISS_MAX];
	size_t n = 0;

	(void)state;
	assert_string_equal(pick("os=debian,os_version>=13,mpi=mpich,ib", NULL, NULL, near, &n),
	                    "-");
	assert_int_equal(n, 3);
	/* fewest misses first; among equals, the rule (newest os_version first) */
	assert_int_equal(near[0].n_missed, 1);
	assert_string_equal(near[0].img->name, "deb12");
	assert_string_equal(near[0].missed, "os_version>=13 (has 12)");
	assert_int_equal(near[1].n_missed, 1);
	assert_string_equal(near[1].img->name, "deb11");
	assert_string_equal(near[1].missed, "os_version>=13 (has 11)");
	assert_int_equal(near[2].n_missed, 2);
	assert_string_equal(near[2].img->name, "family2");
	/* nothing in the family: no near misses */
	assert_string_equal(pick("os=debian", "nosuch", NULL, near, &n), "-");
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grammar),
	    cmocka_unit_test(test_request_env),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_match_versions),
	    cmocka_unit_test(test_match_bools_and_site),
	    cmocka_unit_test(test_match_ties_priority_family),
	    cmocka_unit_test(test_near_misses_order),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

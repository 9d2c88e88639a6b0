/*
 * test_catalog.c - images.yaml (lib/catalog.c, catalog_digest.c, catalog_find.c): every field,
 * digests, lookups, suggestions and every error message.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "lib/catalog.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

/* printf 'kernel 9f2c...b2a 5242880\ninitrd 1b2a...809 20971520\n' | sha256sum */
#define TTYLINUX_DIGEST "sha256:6cc943f819b68801f32516240ec668f354e2ea8902dab5e8a38adec4c6f86f3d"
/* printf 'kernel 0..01 7340032\ninitrd 0..02 31457280\nrootdisk 0..03 1073741824\n' | sha256sum */
#define MINIMAL_DIGEST "sha256:06b4de5b48440698904849de29aedc6005093f14fa193fe06c69ddb3f425ac58"

#define SHA_A "9f2c1a5e0b3d4c6f8a7e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a"
#define SHA_B "1b2a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"

/* A valid image body (6 lines, indented for "images: NAME:"), to build error cases on. */
#define FILES                                                                                      \
	"    files:\n"                                                                             \
	"      kernel: {path: k, sha256: " SHA_A ", size: 5242880}\n"                              \
	"      initrd: {path: i, sha256: " SHA_B ", size: 20971520}\n"
#define IMG(extra) "images:\n  img:\n" FILES extra

static char tmpdir[] = "/tmp/xenvm-test-catalog-XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *write_yaml(const char *text)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/images.yaml", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static struct xenvm_catalog *load_ok(const char *path)
{
	struct xenvm_catalog *cat = NULL;
	struct xerr err = {""};

	if (xenvm_catalog_load(path, &cat, &err) != 0)
		fail_msg("load failed: %s", err.msg);
	assert_non_null(cat);
	return cat;
}

static void load_fails(const char *path, const char *want)
{
	struct xenvm_catalog *cat = (struct xenvm_catalog *)0x1;
	struct xerr err = {""};
	size_t plen = strlen(path);

	errno = 0;
	if (xenvm_catalog_load(path, &cat, &err) != -1)
		fail_msg("loaded, expected \"%s\"", want);
	assert_ptr_equal(cat, (struct xenvm_catalog *)0x1);
	assert_int_not_equal(errno, 0);
	if (strncmp(err.msg, path, plen) != 0 || strcmp(err.msg + plen, want) != 0)
		fail_msg("got  \"%s\"\nwant \"%s%s\"", err.msg, path, want);
}

/* ------------------------------------------------------------------ valid files */

static void test_full_file(void **state)
{
	struct xenvm_catalog *cat = load_ok(XENVM_SRCDIR "/tests/unit/fixtures/images-full.yaml");
	const struct xenvm_image *t, *m;

	(void)state;
	assert_string_equal(cat->path, XENVM_SRCDIR "/tests/unit/fixtures/images-full.yaml");
	assert_int_equal(cat->n_images, 2);
	t = &cat->images[0];
	m = &cat->images[1];
	assert_ptr_equal(xenvm_catalog_find(cat, "ttylinux-mpi"), t);
	assert_ptr_equal(xenvm_catalog_find(cat, "minimal.img_2"), m);

	assert_string_equal(t->name, "ttylinux-mpi");
	assert_string_equal(t->description, "ttylinux with MPICH over UCX");
	assert_string_equal(t->kernel.path, "ttylinux-mpi/vmlinuz");
	assert_string_equal(t->kernel.sha256, SHA_A);
	assert_true(t->kernel.size == 5242880);
	assert_string_equal(t->initrd.path, "ttylinux-mpi/initrd.img");
	assert_string_equal(t->initrd.sha256, SHA_B);
	assert_true(t->initrd.size == 20971520);
	assert_null(t->rootdisk.path);
	assert_string_equal(t->rootdisk.sha256, "");
	assert_true(t->rootdisk.size == 0);
	assert_string_equal(t->cmdline, "quiet loglevel=3");
	assert_int_equal(t->guest_type, XENVM_GUEST_PV);
	assert_string_equal(t->digest, TTYLINUX_DIGEST);
	assert_string_equal(t->attributes.os, "ttylinux 2024.1");
	assert_string_equal(t->attributes.kernel_version, "6.1.0-18-amd64");
	/* "mpich-4.0.2 ch4:ucx" from before mpi_version: family and version split */
	assert_string_equal(t->attributes.mpi, "mpich");
	assert_string_equal(t->attributes.mpi_version, "4.0.2");
	assert_true(t->attributes.ib);
	assert_int_equal(t->attributes.n_libraries, 2);
	assert_string_equal(t->attributes.libraries[0], "ucx-1.13");
	assert_string_equal(t->attributes.libraries[1], "libibverbs-44");
	assert_true(t->limits.default_bytes == 512 * MiB);
	assert_true(t->limits.max_bytes == 4 * GiB);
	assert_int_equal(t->limits.vcpus_default, 2);
	assert_int_equal(t->limits.vcpus_max, 64);
	assert_int_equal(t->n_features, 2);
	assert_string_equal(t->features[0], "xenvm");
	assert_string_equal(t->features[1], "ib");
	assert_int_equal(t->allow.n_users, 2);
	assert_string_equal(t->allow.users[0], "alice");
	assert_string_equal(t->allow.users[1], "bob");
	assert_int_equal(t->allow.n_groups, 1);
	assert_string_equal(t->allow.groups[0], "hpc");
	assert_int_equal(t->allow.n_accounts, 1);
	assert_string_equal(t->allow.accounts[0], "physics");
	assert_int_equal(t->allow.n_partitions, 2);
	assert_string_equal(t->allow.partitions[0], "gpu");
	assert_string_equal(t->allow.partitions[1], "debug");
	assert_true(t->allow_root);

	/* the second image leaves out everything optional: the defaults */
	assert_string_equal(m->name, "minimal.img_2");
	assert_null(m->description);
	assert_string_equal(m->kernel.path, "/abs/vmlinuz");
	assert_string_equal(m->rootdisk.path, "m/root.qcow2");
	assert_string_equal(m->rootdisk.sha256,
	                    "0000000000000000000000000000000000000000000000000000000000000003");
	assert_true(m->rootdisk.size == GiB);
	assert_null(m->cmdline);
	assert_int_equal(m->guest_type, XENVM_GUEST_PVH);
	assert_string_equal(m->digest, MINIMAL_DIGEST);
	assert_null(m->attributes.os);
	assert_null(m->attributes.kernel_version);
	assert_null(m->attributes.mpi);
	assert_false(m->attributes.ib);
	assert_null(m->attributes.libraries);
	assert_int_equal(m->attributes.n_libraries, 0);
	assert_true(m->limits.default_bytes == 0);
	assert_true(m->limits.max_bytes == UINT64_MAX);
	assert_int_equal(m->limits.vcpus_default, 1);
	assert_int_equal(m->limits.vcpus_max, 512);
	assert_null(m->features);
	assert_int_equal(m->n_features, 0);
	assert_int_equal(
	    m->allow.n_users + m->allow.n_groups + m->allow.n_accounts + m->allow.n_partitions, 0);
	assert_false(m->allow_root);
	xenvm_catalog_free(cat);
}

static void test_empty_catalogs(void **state)
{
	static const char *const texts[] = {"", "# nothing yet\n", "---\n", "images:\n",
	                                    "images: {}\n"};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct xenvm_catalog *cat = load_ok(write_yaml(texts[i]));
		const char *out[2];

		assert_int_equal(cat->n_images, 0);
		errno = 0;
		assert_null(xenvm_catalog_find(cat, "anything"));
		assert_int_equal(errno, ENOENT);
		assert_int_equal(xenvm_catalog_suggest(cat, "anything", out, 2), 0);
		xenvm_catalog_free(cat);
	}
}

/* The digest covers roles, hashes and sizes, not paths, cmdline or other attributes. */
static void test_digest(void **state)
{
	struct xenvm_catalog *cat;
	const struct xenvm_image *a, *b, *c, *d, *e;

	(void)state;
	cat = load_ok(
	    write_yaml("images:\n"
	               "  a:\n" FILES "  b:\n"
	               "    cmdline: other\n"
	               "    memory: {default: 1G}\n"
	               "    files:\n"
	               "      initrd: {path: elsewhere/i, sha256: " SHA_B ", size: 20971520}\n"
	               "      kernel: {path: elsewhere/k, sha256: " SHA_A ", size: 5242880}\n"
	               "  c:\n"
	               "    files:\n"
	               "      kernel: {path: k, sha256: " SHA_A ", size: 5242881}\n"
	               "      initrd: {path: i, sha256: " SHA_B ", size: 20971520}\n"
	               "  d:\n"
	               "    files:\n"
	               "      kernel: {path: k, sha256: " SHA_B ", size: 5242880}\n"
	               "      initrd: {path: i, sha256: " SHA_A ", size: 20971520}\n"
	               "  e:\n" FILES "      rootdisk: {path: r, sha256: " SHA_A ", size: 1}\n"));
	a = xenvm_catalog_find(cat, "a");
	b = xenvm_catalog_find(cat, "b");
	c = xenvm_catalog_find(cat, "c");
	d = xenvm_catalog_find(cat, "d");
	e = xenvm_catalog_find(cat, "e");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_non_null(e);
	assert_string_equal(a->digest, TTYLINUX_DIGEST);
	assert_string_equal(b->digest, TTYLINUX_DIGEST); /* moved files, same content */
	assert_int_equal(strlen(c->digest), XENVM_DIGEST_LEN);
	assert_string_not_equal(c->digest, TTYLINUX_DIGEST); /* size */
	assert_string_not_equal(d->digest, TTYLINUX_DIGEST); /* hashes swapped between roles */
	assert_string_not_equal(e->digest, TTYLINUX_DIGEST); /* rootdisk added */
	assert_string_not_equal(c->digest, d->digest);
	xenvm_catalog_free(cat);
}

static void test_example_file(void **state)
{
	struct xenvm_catalog *cat = load_ok(XENVM_SRCDIR "/etc/images.yaml.example");
	const struct xenvm_image *img;

	(void)state;
	assert_int_equal(cat->n_images, 2);
	img = xenvm_catalog_find(cat, "ttylinux-mpi");
	assert_non_null(img);
	assert_string_equal(img->digest, TTYLINUX_DIGEST);
	img = xenvm_catalog_find(cat, "debian-hpc");
	assert_non_null(img);
	assert_string_equal(img->digest, MINIMAL_DIGEST);
	assert_int_equal(img->guest_type, XENVM_GUEST_PV);
	assert_true(img->allow_root);
	xenvm_catalog_free(cat);
}

static void test_bad_args(void **state)
{
	struct xenvm_catalog *cat = NULL;
	struct xerr err = {""};
	const char *out[1];

	(void)state;
	errno = 0;
	assert_int_equal(xenvm_catalog_load(NULL, &cat, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "xenvm_catalog_load: invalid argument");
	errno = 0;
	assert_int_equal(xenvm_catalog_load("/x", NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(xenvm_catalog_find(NULL, "x"));
	assert_int_equal(errno, EINVAL);
	cat = load_ok(write_yaml(IMG("")));
	errno = 0;
	assert_null(xenvm_catalog_find(cat, NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xenvm_catalog_suggest(NULL, "img", out, 1), 0);
	assert_int_equal(xenvm_catalog_suggest(cat, NULL, out, 1), 0);
	assert_int_equal(xenvm_catalog_suggest(cat, "img", NULL, 1), 0);
	assert_int_equal(xenvm_catalog_suggest(cat, "", out, 1), 0);
	assert_int_equal(xenvm_catalog_suggest(cat, "img", out, 0), 0);
	xenvm_catalog_free(cat);
	xenvm_catalog_free(NULL);
}

static void test_missing_file(void **state)
{
	char path[PATH_MAX], want[PATH_MAX + 64];
	struct xenvm_catalog *cat = NULL;
	struct xerr err = {""};

	(void)state;
	snprintf(path, sizeof(path), "%s/nope.yaml", tmpdir);
	errno = 0;
	assert_int_equal(xenvm_catalog_load(path, &cat, &err), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err.msg, want);
	assert_null(cat);
}

/* ------------------------------------------------------------------ find and suggest */

/* 1,000 images: every one is found, near misses are not, and lookups are fast. */
static void test_find_many(void **state)
{
	const size_t n = 1000, lookups = 1000000;
	char *text, name[32], miss[40];
	size_t len = 0, cap = n * 256;
	struct xenvm_catalog *cat;
	struct timespec t0, t1;
	double per_lookup_ns;
	size_t hits = 0;

	(void)state;
	text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "images:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
		                        "  img-%zu:\n    files:\n"
		                        "      kernel: {path: k, sha256: " SHA_A ", size: %zu}\n"
		                        "      initrd: {path: i, sha256: " SHA_B ", size: 1}\n",
		                        i, i + 1);
	assert_true(len < cap);
	cat = load_ok(write_yaml(text));
	free(text);
	assert_int_equal(cat->n_images, n);
	assert_true(cat->index_size >= 2 * n);
	assert_true((cat->index_size & (cat->index_size - 1)) == 0);
	for (size_t i = 0; i < n; i++) {
		const struct xenvm_image *img;

		snprintf(name, sizeof(name), "img-%zu", i);
		img = xenvm_catalog_find(cat, name);
		assert_non_null(img);
		assert_ptr_equal(img, &cat->images[i]);
		assert_true(img->kernel.size == i + 1);
		snprintf(miss, sizeof(miss), "img-%zux", i);
		assert_null(xenvm_catalog_find(cat, miss));
	}
	assert_null(xenvm_catalog_find(cat, "img-1000"));
	assert_null(xenvm_catalog_find(cat, ""));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < lookups; i++) {
		snprintf(name, sizeof(name), "img-%zu", (i * 7919) % (n + 100));
		hits += xenvm_catalog_find(cat, name) != NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	per_lookup_ns =
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
	    (double)lookups;
	assert_true(hits > lookups * 9 / 10);
	/* generous even under ASan: the budget is 20 us per job */
	if (per_lookup_ns > 5000)
		fail_msg("find takes %.0f ns per lookup", per_lookup_ns);
	xenvm_catalog_free(cat);
}

static void suggests(const struct xenvm_catalog *cat, const char *name, size_t max,
                     const char *const *want)
{
	const char *out[8] = {NULL};
	size_t n = xenvm_catalog_suggest(cat, name, out, max), w = 0;

	while (want[w])
		w++;
	for (size_t i = 0; i < n && i < w; i++)
		if (strcmp(out[i], want[i]) != 0)
			fail_msg("suggest(%s)[%zu] = %s, want %s", name, i, out[i], want[i]);
	if (n != w)
		fail_msg("suggest(%s) gave %zu names (first %s), want %zu", name, n,
		         n ? out[0] : "-", w);
}

static void test_suggest(void **state)
{
	struct xenvm_catalog *cat;

	(void)state;
	cat = load_ok(write_yaml("images:\n"
	                         "  ttylinux-mpi:\n" FILES "  ttylinux:\n" FILES
	                         "  debian-hpc:\n" FILES "  debian-hpc-gpu:\n" FILES
	                         "  centos7:\n" FILES "  node-b:\n" FILES "  node-a:\n" FILES));
	/* edit distance first, nearest first */
	suggests(cat, "ttylinux-mp", 8, (const char *const[]){"ttylinux-mpi", "ttylinux", NULL});
	suggests(cat, "ttylinx", 8, (const char *const[]){"ttylinux", NULL});
	/* case does not count */
	suggests(cat, "CentOS7", 8, (const char *const[]){"centos7", NULL});
	/* then prefixes, the closer in length first */
	suggests(cat, "debian", 8, (const char *const[]){"debian-hpc", "debian-hpc-gpu", NULL});
	/* then substrings */
	suggests(cat, "hpc", 8, (const char *const[]){"debian-hpc", "debian-hpc-gpu", NULL});
	/* ties keep file order */
	suggests(cat, "node-c", 8, (const char *const[]){"node-b", "node-a", NULL});
	/* max is respected, keeping the best */
	suggests(cat, "ttylinux-mp", 1, (const char *const[]){"ttylinux-mpi", NULL});
	suggests(cat, "node-a", 1, (const char *const[]){"node-a", NULL});
	/* nothing close */
	suggests(cat, "zzzzzzzz", 8, (const char *const[]){NULL});
	suggests(cat, "x", 8, (const char *const[]){NULL}); /* no substring of 1 or 2 */
	suggests(cat, "7", 8, (const char *const[]){NULL});
	suggests(cat, "ntos", 8, (const char *const[]){"centos7", NULL}); /* substring */
	/* a transposition counts 1 */
	suggests(cat, "ttyilnux", 8, (const char *const[]){"ttylinux", NULL});
	/* a very long name is no problem */
	{
		char longname[300];

		memset(longname, 'q', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		suggests(cat, longname, 8, (const char *const[]){NULL});
	}
	xenvm_catalog_free(cat);
}

/* ------------------------------------------------------------------ one test per message */

struct err_case {
	const char *name;
	const char *yaml;
	const char *want;
};

static const struct err_case err_cases[] = {
    {"syntax", "images:\n  a: [\n",
     ":3:1: did not find expected node content (while parsing a "
     "flow node at 3:1)"},
    {"root unknown key", "imagez: {}\n",
     ":1:1: imagez: unknown key (did you mean 'images'? valid keys: images)"},
    {"root is a list", "- a\n", ":1:1: expected a mapping, found a list"},
    {"images is a list", "images: [a]\n", ":1:9: images: expected a mapping, found a list"},
    {"images is a string", "images: a\n", ":1:9: images: expected a mapping, found 'a'"},
    {"image name starts with '-'", "images:\n  -bad: {}\n",
     ":2:3: images.-bad: '-bad' is not a valid image name (1-64 letters, digits, '.', '_' or "
     "'-', starting with a letter or digit)"},
    {"image name with a space", "images:\n  'a b': {}\n",
     ":2:3: images.a b: 'a b' is not a valid image name (1-64 letters, digits, '.', '_' or "
     "'-', starting with a letter or digit)"},
    {"image name too long",
     "images:\n  a1234567890123456789012345678901234567890123456789012345678901234: {}\n",
     ":2:3: images.a1234567890123456789012345678901234567890123456789012345678901234: "
     "'a1234567890123456789012345678901234567890123456789012345678901234' is not a valid image "
     "name (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)"},
    {"duplicate image", "images:\n  a:\n" FILES "  b:\n" FILES "  a:\n" FILES,
     ":10:3: images.a: duplicate key (first defined at 2:3)"},
    {"image is a scalar", "images:\n  a: 5\n", ":2:6: images.a: expected a mapping, found '5'"},
    {"image is empty", "images:\n  a:\n  b: {}\n",
     ":2:5: images.a: expected a mapping, found an empty value"},
    {"image unknown key", IMG("    memroy: {}\n"),
     ":6:5: images.img.memroy: unknown key (did you mean 'memory'? valid keys: description, "
     "files, cmdline, xen, attributes, memory, vcpus, features, allow, root_allowed, "
     "priority)"},
    {"image duplicate key", IMG("    cmdline: a\n    cmdline: b\n"),
     ":7:5: images.img.cmdline: duplicate key (first defined at 6:5)"},
    {"no files", "images:\n  img:\n    cmdline: x\n",
     ":3:5: images.img: missing required key 'files'"},
    {"files is a list", "images:\n  img:\n    files: []\n",
     ":3:12: images.img.files: expected a mapping, found a list"},
    {"no kernel",
     "images:\n  img:\n    files:\n      initrd: {path: i, sha256: " SHA_B ", size: 1}\n",
     ":4:7: images.img.files: missing required key 'kernel'"},
    {"no initrd",
     "images:\n  img:\n    files:\n      kernel: {path: i, sha256: " SHA_B ", size: 1}\n",
     ":4:7: images.img.files: missing required key 'initrd'"},
    {"files unknown key", IMG("      kernal: {}\n"),
     ":6:7: images.img.files.kernal: unknown key (did you mean 'kernel'? valid keys: kernel, "
     "initrd, rootdisk)"},
    {"file unknown key", IMG("      rootdisk: {path: r, sha256: " SHA_A ", size: 1, mode: 1}\n"),
     ":6:110: images.img.files.rootdisk.mode: unknown key (valid keys: path, sha256, size)"},
    {"file without path", IMG("      rootdisk: {sha256: " SHA_A ", size: 1}\n"),
     ":6:17: images.img.files.rootdisk: missing required key 'path'"},
    {"file without sha256", IMG("      rootdisk: {path: r, size: 1}\n"),
     ":6:17: images.img.files.rootdisk: missing required key 'sha256'"},
    {"file without size", IMG("      rootdisk: {path: r, sha256: " SHA_A "}\n"),
     ":6:17: images.img.files.rootdisk: missing required key 'size'"},
    {"file path empty", IMG("      rootdisk: {path: '', sha256: " SHA_A ", size: 1}\n"),
     ":6:24: images.img.files.rootdisk.path: must not be empty"},
    {"file path with ..", IMG("      rootdisk: {path: a/../../b, sha256: " SHA_A ", size: 1}\n"),
     ":6:24: images.img.files.rootdisk.path: 'a/../../b' must not contain '..'"},
    {"file path is a list", IMG("      rootdisk: {path: [r], sha256: " SHA_A ", size: 1}\n"),
     ":6:24: images.img.files.rootdisk.path: expected a string, found a list"},
    {"sha256 uppercase",
     IMG("      rootdisk: {path: r, sha256: "
         "9F2C1A5E0B3D4C6F8A7E1D2C3B4A5F6E7D8C9B0A1F2E3D4C5B6A7F8E9D0C1B2A, size: 1}\n"),
     ":6:35: images.img.files.rootdisk.sha256: "
     "'9F2C1A5E0B3D4C6F8A7E1D2C3B4A5F6E7D8C9B0A1F2E3D4C5B6A7F8E9D0C1B2A' is not a sha256 "
     "digest (64 lowercase hex digits)"},
    {"sha256 too short", IMG("      rootdisk: {path: r, sha256: abc, size: 1}\n"),
     ":6:35: images.img.files.rootdisk.sha256: 'abc' is not a sha256 digest (64 lowercase hex "
     "digits)"},
    {"sha256 too long", IMG("      rootdisk: {path: r, sha256: " SHA_A "0, size: 1}\n"),
     ":6:35: images.img.files.rootdisk.sha256: '" SHA_A
     "0' is not a sha256 digest (64 lowercase hex digits)"},
    {"size zero", IMG("      rootdisk: {path: r, sha256: " SHA_A ", size: 0}\n"),
     ":6:107: images.img.files.rootdisk.size: '0' is too small (at least 1)"},
    {"size not a number", IMG("      rootdisk: {path: r, sha256: " SHA_A ", size: 1G}\n"),
     ":6:107: images.img.files.rootdisk.size: '1G' is not an integer"},
    {"guest_type", IMG("    xen: {guest_type: hvm}\n"),
     ":6:23: images.img.xen.guest_type: 'hvm' is not one of pvh, pv"},
    {"xen unknown key", IMG("    xen: {type: pv}\n"),
     ":6:11: images.img.xen.type: unknown key (valid keys: guest_type)"},
    {"attributes key close to a known one", IMG("    attributes: {os_verison: 12}\n"),
     ":6:18: images.img.attributes.os_verison: unknown attribute; did you mean 'os_version'? "
     "(other names are site attributes, but this one is too close to a known one)"},
    {"attributes site key not a name", IMG("    attributes: {Distro: x}\n"),
     ":6:18: images.img.attributes.Distro: an attribute's name is 1-32 lowercase letters, "
     "digits or '_', starting with a letter"},
    {"attributes site value a list", IMG("    attributes: {distro: [x]}\n"),
     ":6:26: images.img.attributes.distro: a site attribute is a string, a version or "
     "true/false; found a list"},
    {"attributes os_version not a version", IMG("    attributes: {os_version: bookworm}\n"),
     ":6:30: images.img.attributes.os_version: 'bookworm' is not a version (a digit, then "
     "letters, digits, '.', '+', '~', '-' or '_')"},
    {"priority out of range", IMG("    priority: 1000001\n"),
     ":6:15: images.img.priority: '1000001' is out of range (0..1000000)"},
    {"ib not a boolean", IMG("    attributes: {ib: maybe}\n"),
     ":6:22: images.img.attributes.ib: 'maybe' is not a boolean (use true or false)"},
    {"ib yes is not YAML 1.2", IMG("    attributes: {ib: yes}\n"),
     ":6:22: images.img.attributes.ib: 'yes' is not a boolean (use true or false)"},
    {"ib is a list", IMG("    attributes: {ib: [true]}\n"),
     ":6:22: images.img.attributes.ib: expected true or false, found a list"},
    {"libraries is a string", IMG("    attributes: {libraries: ucx}\n"),
     ":6:29: images.img.attributes.libraries: expected a list of strings, found 'ucx' (write "
     "[a, b])"},
    {"os is a mapping", IMG("    attributes: {os: {name: x}}\n"),
     ":6:22: images.img.attributes.os: expected a string, found a mapping"},
    {"memory.max not a size", IMG("    memory: {default: 512M, max: 9Q}\n"),
     ":6:34: images.img.memory.max: '9Q' is not a size (use e.g. 512M, 2G)"},
    {"memory.default too small", IMG("    memory: {default: 1K}\n"),
     ":6:23: images.img.memory.default: '1K' is too small (at least 1M)"},
    {"memory default > max", IMG("    memory:\n      default: 8G\n      max: 4G\n"),
     ":7:16: images.img.memory: default 8G is larger than max 4G"},
    {"memory unknown key", IMG("    memory: {min: 1G}\n"),
     ":6:14: images.img.memory.min: unknown key (valid keys: default, max)"},
    {"vcpus default zero", IMG("    vcpus: {default: 0}\n"),
     ":6:22: images.img.vcpus.default: '0' is out of range (1..512)"},
    {"vcpus max too large", IMG("    vcpus: {max: 513}\n"),
     ":6:18: images.img.vcpus.max: '513' is out of range (1..512)"},
    {"vcpus default > max", IMG("    vcpus: {default: 8, max: 4}\n"),
     ":6:22: images.img.vcpus: default 8 is larger than max 4"},
    {"image unknown key, close to a valid one", IMG("    vcpus: {max: 4}\n    vcpus2: 1\n"),
     ":7:5: images.img.vcpus2: unknown key (did you mean 'vcpus'? valid keys: description, "
     "files, cmdline, xen, attributes, memory, vcpus, features, allow, root_allowed, "
     "priority)"},
    {"features is a string", IMG("    features: xenvm\n"),
     ":6:15: images.img.features: expected a list of strings, found 'xenvm' (write [a, b])"},
    {"feature with &", IMG("    features: [xenvm, 'ib&gpu']\n"),
     ":6:23: images.img.features[1]: 'ib&gpu' is not a node feature name (no spaces, quotes "
     "or any of & | , : * ! [ ] ( ))"},
    {"feature with a space", IMG("    features: ['a b']\n"),
     ":6:16: images.img.features[0]: 'a b' is not a node feature name (no spaces, quotes or "
     "any of & | , : * ! [ ] ( ))"},
    {"allow unknown key", IMG("    allow: {uesrs: [a]}\n"),
     ":6:13: images.img.allow.uesrs: unknown key (did you mean 'users'? valid keys: users, "
     "groups, accounts, partitions)"},
    {"allow.groups not a list", IMG("    allow: {groups: {a: 1}}\n"),
     ":6:21: images.img.allow.groups: expected a list of strings, found a mapping"},
    {"allow.users empty name", IMG("    allow: {users: [a, '']}\n"),
     ":6:24: images.img.allow.users[1]: must not be empty"},
    {"root_allowed not a boolean", IMG("    root_allowed: 1\n"),
     ":6:19: images.img.root_allowed: '1' is not a boolean (use true or false)"},
    {"description is a list", IMG("    description: [a]\n"),
     ":6:18: images.img.description: expected a string, found a list"},
    {"cmdline with a newline", IMG("    cmdline: \"quiet\\ninit=/bin/sh\"\n"),
     ":6:14: images.img.cmdline: byte 6 is 0x0a: only printable ASCII (no newline, tab or "
     "control character) on a kernel command line"},
    {"cmdline with a tab", IMG("    cmdline: \"a\\tb\"\n"),
     ":6:14: images.img.cmdline: byte 2 is 0x09: only printable ASCII (no newline, tab or "
     "control character) on a kernel command line"},
    {"cmdline not ASCII", IMG("    cmdline: \"a\xc3\xa9\"\n"),
     ":6:14: images.img.cmdline: byte 2 is 0xc3: only printable ASCII (no newline, tab or "
     "control character) on a kernel command line"},
    {"error in the second image", "images:\n  a:\n" FILES "  b:\n" FILES "    vcpus: {max: x}\n",
     ":10:18: images.b.vcpus.max: 'x' is not an integer"},
};

/* images.yaml with a cmdline of n bytes of c (plain scalar) on line 6, column 14. */
static const char *write_cmdline(size_t n, char c)
{
	static const char head[] = IMG("    cmdline: ");
	size_t hl = strlen(head);
	char *text = malloc(hl + n + 2);
	const char *path;

	assert_non_null(text);
	memcpy(text, head, hl);
	memset(text + hl, c, n);
	memcpy(text + hl + n, "\n", 2);
	path = write_yaml(text);
	free(text);
	return path;
}

/* The longest cmdline an image may have is accepted as it is. */
static void test_cmdline_max(void **state)
{
	struct xenvm_catalog *cat;
	const struct xenvm_image *img;

	(void)state;
	cat = load_ok(write_cmdline(XENVM_CMDLINE_MAX, 'a'));
	img = xenvm_catalog_find(cat, "img");
	assert_non_null(img);
	assert_int_equal(strlen(img->cmdline), XENVM_CMDLINE_MAX);
	xenvm_catalog_free(cat);
}

/* 5,000 bytes (past the qemu driver's old 4,200-byte slot): a file:line error, not a boot. */
static void test_cmdline_5000(void **state)
{
	(void)state;
	load_fails(write_cmdline(5000, 'a'),
	           ":6:14: images.img.cmdline: 5000 bytes: a kernel command line of an image has "
	           "at most 1024 (Linux takes 2047 with what the drivers add)");
	load_fails(write_cmdline(XENVM_CMDLINE_MAX + 1, 'a'),
	           ":6:14: images.img.cmdline: 1025 bytes: a kernel command line of an image has "
	           "at most 1024 (Linux takes 2047 with what the drivers add)");
}

/* 10 MB (which made vmd segfault): the same error, at once. */
static void test_cmdline_10mb(void **state)
{
	(void)state;
	load_fails(write_cmdline(10u << 20, 'x'),
	           ":6:14: images.img.cmdline: 10485760 bytes: a kernel command line of an image "
	           "has at most 1024 (Linux takes 2047 with what the drivers add)");
}

static void run_err_case(void **state)
{
	const struct err_case *c = *state;

	load_fails(write_yaml(c->yaml), c->want);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_full_file),    cmocka_unit_test(test_empty_catalogs),
	    cmocka_unit_test(test_digest),       cmocka_unit_test(test_example_file),
	    cmocka_unit_test(test_bad_args),     cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_find_many),    cmocka_unit_test(test_suggest),
	    cmocka_unit_test(test_cmdline_max),  cmocka_unit_test(test_cmdline_5000),
	    cmocka_unit_test(test_cmdline_10mb),
	};
	size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
	size_t n_err = sizeof(err_cases) / sizeof(err_cases[0]);
	struct CMUnitTest *tests = calloc(n_fixed + n_err, sizeof(*tests));
	int rc;

	if (!tests)
		return 1;
	memcpy(tests, fixed, sizeof(fixed));
	for (size_t i = 0; i < n_err; i++) {
		tests[n_fixed + i].name = err_cases[i].name;
		tests[n_fixed + i].test_func = run_err_case;
		tests[n_fixed + i].initial_state = (void *)&err_cases[i];
	}
	rc =
	    _cmocka_run_group_tests("catalog", tests, n_fixed + n_err, group_setup, group_teardown);
	free(tests);
	return rc;
}

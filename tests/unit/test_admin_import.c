/*
 * test_admin_import.c - the container import's pure parts: SOURCE transports and default names
 * (admin/image_source.c), the facts of a root file system and their YAML (admin/image_inspect.c),
 * with a fixture tree whose symlinks point out of the root (they must resolve inside it); the
 * layers' owners (admin/image_owners.c: umoci's xattr, mksquashfs's pseudo file) and the import
 * cache's trim (admin/image_cache.c: least recently used first, kept entries, temporaries).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin/image_cache.h"
#include "admin/image_import.h"
#include "admin/image_inspect.h"
#include "admin/image_owners.h"
#include "admin/image_source.h"

static void sources(void **st)
{
	struct xa_source s;
	struct xerr err = {""};

	(void)st;
	assert_int_equal(xa_source_parse("docker://reg:5000/alice/LAMMPS:2024.1", &s, &err), 0);
	assert_int_equal(s.transport, XA_T_DOCKER);
	assert_string_equal(s.name, "lammps");
	assert_string_equal(s.tag, "2024.1");
	assert_int_equal(xa_source_parse("docker://reg:5000/alice/x", &s, &err), 0);
	assert_string_equal(s.tag, "latest");
	assert_int_equal(xa_source_parse("docker://r/a/b@sha256:00", &s, &err), 0);
	assert_string_equal(s.name, "b");
	assert_string_equal(s.tag, "latest");
	assert_int_equal(xa_source_parse("oci:/home/a/layout:v2", &s, &err), 0);
	assert_int_equal(s.transport, XA_T_OCI);
	assert_string_equal(s.name, "layout");
	assert_string_equal(s.tag, "v2");
	assert_int_equal(xa_source_parse("docker-archive:/tmp/mpich.tar", &s, &err), 0);
	assert_int_equal(s.transport, XA_T_DOCKER_ARCHIVE);
	assert_string_equal(s.name, "mpich");
	assert_int_equal(xa_source_parse("oci-archive:img.oci.tar", &s, &err), 0);
	assert_int_equal(s.transport, XA_T_OCI_ARCHIVE);
	assert_string_equal(s.name, "img");
	assert_int_equal(xa_source_parse("ftp://x/y", &s, &err), -1);
	assert_non_null(strstr(err.msg, "unknown transport 'ftp'"));
	assert_int_equal(xa_source_parse("docker://", &s, &err), -1);
	assert_true(image_import_is_container_source("docker://x"));
	assert_true(image_import_is_container_source("ftp://x"));
	assert_false(image_import_is_container_source("/etc/images.yaml"));
	assert_false(image_import_is_container_source("images.yaml"));
}

static void versions(void **st)
{
	char v[XA_FACT_MAX];

	(void)st;
	xa_upstream_version("1:2.36-9+deb12u7", v, sizeof(v));
	assert_string_equal(v, "2.36");
	xa_upstream_version("4.0.2-3", v, sizeof(v));
	assert_string_equal(v, "4.0.2");
	xa_upstream_version("44.0", v, sizeof(v));
	assert_string_equal(v, "44.0");
	xa_upstream_version("1.2 $(x)-1", v, sizeof(v));
	assert_string_equal(v, "1.2x");
}

static void put(const char *root, const char *rel, const char *text)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mk(const char *root, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void lnk(const char *root, const char *target, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void facts(void **st)
{
	char root[] = "/tmp/test_admin_import.XXXXXX", yaml[2048], cmd[4200];
	struct xa_image_facts f;
	struct xerr err = {""};

	(void)st;
	assert_non_null(mkdtemp(root));
	/* a merged-/usr tree: /bin -> usr/bin, absolute symlinks that must resolve in the root */
	mk(root, "usr");
	mk(root, "usr/bin");
	mk(root, "usr/lib");
	mk(root, "usr/lib/x86_64-linux-gnu");
	mk(root, "usr/lib/x86_64-linux-gnu/libibverbs");
	mk(root, "etc");
	mk(root, "var");
	mk(root, "var/lib");
	mk(root, "var/lib/dpkg");
	lnk(root, "usr/bin", "bin");
	put(root, "usr/bin/dash", "#!x\n");
	assert_int_equal(chmod(strcat(strcpy(cmd, root), "/usr/bin/dash"), 0755), 0);
	lnk(root, "/usr/bin/dash", "usr/bin/sh");
	put(root, "usr/lib/os-release", "PRETTY_NAME=\"D\"\nID=debian\nVERSION_ID=\"12\"\n");
	/* ../../.. climbs no higher than the root */
	lnk(root, "../../../../../usr/lib/os-release", "etc/os-release");
	put(root, "usr/lib/x86_64-linux-gnu/libmpich.so.12", "");
	put(root, "usr/lib/x86_64-linux-gnu/libc.so.6", "");
	put(root, "usr/lib/x86_64-linux-gnu/libibverbs.so.1", "");
	put(root, "usr/lib/x86_64-linux-gnu/libibverbs/libmlx5-rdmav34.so", "");
	put(root, "usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so", "");
	put(root, "usr/lib/x86_64-linux-gnu/libibverbs/README", "");
	put(root, "var/lib/dpkg/status",
	    "Package: libmpich12\nStatus: deinstall ok config-files\nVersion: 3.0-1\n\n"
	    "Package: libmpich12\nStatus: install ok installed\nVersion: 4.0.2-3\n\n"
	    "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u7\n\n"
	    "Package: libibverbs1\nStatus: install ok installed\nVersion: 44.0-2\n");
	assert_int_equal(xa_inspect_rootfs(root, &f, &err), 0);
	assert_true(f.has_sh);
	assert_string_equal(f.os, "debian");
	assert_string_equal(f.os_version, "12");
	assert_string_equal(f.mpi, "mpich");
	assert_string_equal(f.mpi_version, "4.0.2");
	assert_string_equal(f.glibc, "2.36");
	assert_string_equal(f.ibverbs, "44.0");
	assert_int_equal(f.n_providers, 2);
	assert_string_equal(f.providers[0], "mlx5");
	assert_string_equal(f.providers[1], "rxe");
	assert_int_equal(xa_facts_yaml(&f, yaml, sizeof(yaml)), 0);
	assert_non_null(strstr(yaml, "  os: \"debian\"\n"));
	assert_non_null(strstr(yaml, "  mpi_version: \"4.0.2\"\n"));
	assert_non_null(strstr(yaml, "  ib: false\n"));
	assert_non_null(strstr(yaml, "libraries: [libibverbs-44.0, mlx5, rxe, glibc-2.36]"));

	/* /bin/sh pointing out of the root (to the host's /bin/sh) is not the image's shell */
	snprintf(cmd, sizeof(cmd), "%s/usr/bin/sh", root);
	assert_int_equal(unlink(cmd), 0);
	lnk(root, "../../../../../../bin/busybox", "usr/bin/sh");
	assert_int_equal(xa_inspect_rootfs(root, &f, &err), 0);
	assert_false(f.has_sh);
	/* an os-release symlinked to the host's absolute path reads the image's, here none */
	snprintf(cmd, sizeof(cmd), "%s/etc/os-release", root);
	assert_int_equal(unlink(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/usr/lib/os-release", root);
	assert_int_equal(unlink(cmd), 0);
	lnk(root, "/etc/os-release", "etc/os-release");
	assert_int_equal(xa_inspect_rootfs(root, &f, &err), 0);
	assert_string_equal(f.os, "");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(xa_inspect_rootfs("/nonexistent/x", &f, &err), -1);
}

static void owner_xattr(void **st)
{
	static const struct {
		const char *hex; /* the xattr's bytes */
		int rc;
		uint32_t uid, gid;
	} cases[] = {
	    {"", 0, 0, 0},                   /* root: fields left out */
	    {"08e80710e807", 0, 1000, 1000}, /* what umoci writes for 1000:1000 */
	    {"08011001", 0, 1, 1},           /* daemon */
	    {"1005", 0, 0, 5},               /* gid only */
	    {"08feffffff0f1005", 0, 4294967294u, 5},
	    {"08ffffffff0f", 0, 0, 0},              /* NoopID: the unpacking user's, i.e. root */
	    {"08051a0378797a1007", 0, 5, 7},        /* an unknown length-delimited field skipped */
	    {"0805250102030410 07", 0, 5, 7},       /* an unknown fixed32 (spaces ignored below) */
	    {"0880808080 10", -1, 0, 0},            /* uid > 32 bits */
	    {"08", -1, 0, 0},                       /* truncated varint */
	    {"0a0101", -1, 0, 0},                   /* uid as bytes */
	    {"1a05ab", -1, 0, 0},                   /* length past the end */
	    {"0b", -1, 0, 0},                       /* group wire type */
	    {"00", -1, 0, 0},                       /* field 0 */
	    {"08ffffffffffffffffffff01", -1, 0, 0}, /* an 11-byte varint */
	    {"090102030405060708", -1, 0, 0},       /* uid as fixed64: not a uid */
	};

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char b[64];
		size_t n = 0;
		uint32_t uid = 99, gid = 99;
		int rc;

		for (const char *h = cases[i].hex; *h;) {
			unsigned v;

			if (*h == ' ') {
				h++;
				continue;
			}
			assert_int_equal(sscanf(h, "%2x", &v), 1);
			b[n++] = (unsigned char)v;
			h += 2;
		}
		rc = xa_rootless_owner(b, n, &uid, &gid);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(uid, cases[i].uid);
			assert_int_equal(gid, cases[i].gid);
		}
	}
}

static void pseudo_names(void **st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)st;
	assert_int_equal(xa_pseudo_name("usr/bin/ls", f), 0);
	fputc('|', f);
	assert_int_equal(xa_pseudo_name("a b\tc\"d\\e\rf", f), 0);
	fputc('|', f);
	assert_int_equal(xa_pseudo_name("h\xffi", f), 0);
	assert_int_equal(xa_pseudo_name("x\ny", f), -1);
	fclose(f);
	assert_string_equal(buf, "usr/bin/ls|a\\ b\\\tc\\\"d\\\\e\\\rf|h\xffi");
	free(buf);
}

static void setowner(const char *root, const char *rel, const char *val, size_t n)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(lsetxattr(p, "user.rootlesscontainers", val, n, 0), 0);
}

static void write_owners(void **st)
{
	char root[] = "/tmp/test_admin_owners.XXXXXX", out[200], cmd[4200], *text = NULL;
	struct xa_owners o;
	struct xerr err = {""};
	size_t len = 0;
	FILE *f;

	(void)st;
	assert_non_null(mkdtemp(root));
	mk(root, "home");
	mk(root, "home/alice");
	put(root, "home/alice/f", "x");
	put(root, "srv daemon", "x");
	put(root, "plain", "x");
	lnk(root, "plain", "link");
	snprintf(cmd, sizeof(cmd), "%s/plain", root);
	assert_int_equal(chmod(cmd, 04755), 0);
	setowner(root, "home/alice", "\x08\xe8\x07\x10\xe8\x07", 6);
	setowner(root, "home/alice/f", "\x08\xe8\x07\x10\xe8\x07", 6);
	setowner(root, "srv daemon", "\x08\x01\x10\x01", 4);
	setowner(root, ".", "\x10\x02", 2);
	snprintf(out, sizeof(out), "%s.owners", root);
	assert_int_equal(xa_write_owners(root, out, &o, &err), 0);
	assert_int_equal(o.root_uid, 0);
	assert_int_equal(o.root_gid, 2);
	assert_int_equal(o.entries, 6);
	assert_int_equal(o.not_root, 3);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_true(getdelim(&text, &len, '\0', f) > 0);
	fclose(f);
	assert_non_null(strstr(text, "home/alice m 755 1000 1000\n"));
	assert_non_null(strstr(text, "home/alice/f m 644 1000 1000\n"));
	assert_non_null(strstr(text, "srv\\ daemon m 644 1 1\n"));
	assert_non_null(strstr(text, "plain m 4755 0 0\n"));
	assert_non_null(strstr(text, "link m 777 0 0\n"));
	free(text);
	/* an xattr that does not parse: refused, the path named */
	setowner(root, "home/alice/f", "\x08", 1);
	assert_int_equal(xa_write_owners(root, out, &o, &err), -1);
	assert_non_null(strstr(err.msg, "/home/alice/f: the user.rootlesscontainers xattr"));
	setowner(root, "home/alice/f", "", 0);
	/* a name with a newline: refused, the name shown escaped */
	put(root, "bad\nname", "x");
	assert_int_equal(xa_write_owners(root, out, &o, &err), -1);
	assert_non_null(strstr(err.msg, "bad\\x0aname: a file name with a newline"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, out);
	assert_int_equal(system(cmd), 0);
}

/* A file of n bytes at root/rel, last used `age` seconds ago. */
static void aged(const char *root, const char *rel, size_t n, int age)
{
	char p[4096];
	struct timespec t[2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc('x', f);
	fclose(f);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
}

static bool there(const char *root, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return access(p, F_OK) == 0;
}

#define H(c)                                                                                       \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
	    c c c c c c c c c c c c c c c c c c c
static void cache_trim(void **st)
{
	char root[] = "/tmp/test_admin_cache.XXXXXX", cmd[4200];
	struct xa_cache c = {.lock_fd = -1}, other = {.lock_fd = -1};
	struct xerr err = {""};
	const char *keep[] = {"rootdisk " H("b"), NULL};
	uint64_t left = 0;
	bool busy = true;

	(void)st;
	assert_non_null(mkdtemp(root));
	assert_int_equal(xa_cache_open(&c, root, &err), 0);
	mk(root, "rootdisk");
	mk(root, "unpack.99999");
	aged(root, "unpack.99999/x", 10, 0); /* a killed import's unpack */
	mk(root, "used");
	aged(root, "used/src-gone", 0, 0);                   /* a stamp of no tag */
	aged(root, "rootdisk/" H("e") ".sqfs.tmp.7", 10, 0); /* its half root disk */
	aged(root, "rootdisk/" H("f") ".yaml", 10, 0);       /* a .yaml without its .sqfs */
	aged(root, "rootdisk/" H("a") ".sqfs", 1000, 400);   /* the oldest */
	aged(root, "rootdisk/" H("a") ".yaml", 10, 400);
	aged(root, "rootdisk/" H("b") ".sqfs", 1000, 300); /* older, but kept (in use) */
	aged(root, "rootdisk/" H("b") ".yaml", 10, 300);
	aged(root, "vm-" H("c") ".raw", 1000, 200);
	aged(root, "rootdisk/" H("d") ".sqfs", 1000, 100); /* the newest */
	aged(root, "rootdisk/" H("d") ".yaml", 10, 100);
	/* another import holds the cache: nothing done */
	assert_int_equal(xa_cache_open(&other, root, &err), 0);
	assert_int_equal(xa_cache_trim(&c, 2100, keep, false, &busy, &left, &err), 0);
	assert_true(busy);
	assert_true(there(root, "rootdisk/" H("a") ".sqfs"));
	assert_true(there(root, "unpack.99999"));
	xa_cache_close(&other);
	xa_cache_close(&c);
	/* 4 entries of ~1 KB: trimmed to 2.1 KB removes a, skips b (kept), removes c */
	assert_int_equal(xa_cache_open(&c, root, &err), 0);
	assert_int_equal(xa_cache_trim(&c, 2100, keep, false, &busy, &left, &err), 2);
	assert_false(busy);
	assert_true(left <= 2100);
	assert_false(there(root, "rootdisk/" H("a") ".sqfs"));
	assert_false(there(root, "rootdisk/" H("a") ".yaml"));
	assert_true(there(root, "rootdisk/" H("b") ".sqfs"));
	assert_false(there(root, "vm-" H("c") ".raw"));
	assert_true(there(root, "rootdisk/" H("d") ".sqfs"));
	assert_true(there(root, "rootdisk/" H("d") ".yaml"));
	assert_false(there(root, "unpack.99999"));
	assert_false(there(root, "rootdisk/" H("e") ".sqfs.tmp.7"));
	assert_false(there(root, "rootdisk/" H("f") ".yaml"));
	assert_false(there(root, "used/src-gone"));
	/* a touched entry is the newest: b (untouched) goes before d */
	xa_cache_close(&c);
	assert_int_equal(xa_cache_open(&c, root, &err), 0);
	xa_cache_touch(&c, "rootdisk/" H("b") ".sqfs");
	assert_int_equal(xa_cache_trim(&c, 1100, NULL, false, &busy, &left, &err), 1);
	assert_true(there(root, "rootdisk/" H("b") ".sqfs"));
	assert_false(there(root, "rootdisk/" H("d") ".sqfs"));
	/* 0: everything */
	xa_cache_close(&c);
	assert_int_equal(xa_cache_open(&c, root, &err), 0);
	assert_int_equal(xa_cache_trim(&c, 0, NULL, false, &busy, &left, &err), 1);
	assert_false(there(root, "rootdisk/" H("b") ".sqfs"));
	xa_cache_close(&c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sources),      cmocka_unit_test(versions),
	    cmocka_unit_test(facts),        cmocka_unit_test(owner_xattr),
	    cmocka_unit_test(pseudo_names), cmocka_unit_test(write_owners),
	    cmocka_unit_test(cache_trim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_admin_import.c - the container import's pure parts: SOURCE transports and default names
 * (admin/image_source.c), the facts of a root file system and their YAML (admin/image_inspect.c),
 * with a fixture tree whose symlinks point out of the root (they must resolve inside it).
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
#include <unistd.h>

#include <cmocka.h>

#include "admin/image_import.h"
#include "admin/image_inspect.h"
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
	assert_non_null(strstr(yaml, "  ib: true\n"));
	assert_non_null(strstr(yaml, "libraries: [libibverbs-44.0, mlx5, rxe, glibc-2.36]"));
	/* verbs need libibverbs and its rxe or mlx5 provider (the devices a VM can get) */
	snprintf(cmd, sizeof(cmd), "%s/usr/lib/x86_64-linux-gnu/libibverbs/libmlx5-rdmav34.so",
	         root);
	assert_int_equal(unlink(cmd), 0);
	assert_int_equal(xa_inspect_rootfs(root, &f, &err), 0);
	assert_true(xa_facts_verbs(&f));
	snprintf(cmd, sizeof(cmd), "%s/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so",
	         root);
	assert_int_equal(unlink(cmd), 0);
	put(root, "usr/lib/x86_64-linux-gnu/libibverbs/libefa-rdmav34.so", "");
	assert_int_equal(xa_inspect_rootfs(root, &f, &err), 0);
	assert_int_equal(f.n_providers, 1);
	assert_false(xa_facts_verbs(&f));
	assert_int_equal(xa_facts_yaml(&f, yaml, sizeof(yaml)), 0);
	assert_non_null(strstr(yaml, "  ib: false\n"));
	put(root, "usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so", "");
	snprintf(cmd, sizeof(cmd), "%s/usr/lib/x86_64-linux-gnu/libibverbs.so.1", root);
	assert_int_equal(unlink(cmd), 0);
	assert_int_equal(xa_inspect_rootfs(root, &f, &err), 0);
	assert_false(xa_facts_verbs(&f));

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sources),
	    cmocka_unit_test(versions),
	    cmocka_unit_test(facts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

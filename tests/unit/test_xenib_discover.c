/*
 * test_xenib_discover.c - libxenib discovery and VF enabling against a sysfs fixture tree.
 *
 * Real HCAs are not available here: tests/xenib/fixture.c builds a tree laid out like a
 * ConnectX-5 node's /sys from the kernel's documented layout (sysfs-class-infiniband,
 * sysfs-bus-pci) and the mlx5 vendor files, and libxenib reads it through its root prefix -
 * the same code that reads "/" on a real node.  The unwritable-file cases are real: a read-only
 * bind mount (EROFS) and an unprivileged uid (EACCES), each in a child process.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/xenib/fixture.h"
#include "lib/log.h"
#include "xenib/xenib.h"

/* What libxenib logs, one per line: the trail of sysfs writes (debug level) and info and up. */
static char logbuf[16384];

static void capture(enum xlog_level level, const char *msg)
{
	size_t used = strlen(logbuf);

	if (level == XLOG_VERBOSE)
		return; /* "mlx5_9: not an SR-IOV InfiniBand PF, skipped" and the like */
	snprintf(logbuf + used, sizeof(logbuf) - used, "%s\n", msg);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	logbuf[0] = '\0';
	xlog_init("test", XLOG_DEBUG);
	xlog_set_sink(capture);
	return f ? 0 : -1;
}

static int teardown(void **state)
{
	fixture_destroy(*state);
	free(*state);
	xlog_set_sink(NULL);
	return 0;
}

static struct xenib_params params(const struct fixture *f)
{
	struct xenib_params p = {
	    .root = f->root, .state_dir = f->state_dir, .guid_prefix = 0x0200, .node = "node01"};
	return p;
}

/* err.msg with the fixture root replaced by "<root>", for exact comparisons. */
static const char *rel(const struct fixture *f, const char *msg)
{
	static char out[2048];
	const char *at = strstr(msg, f->root);

	if (!at)
		return msg;
	snprintf(out, sizeof(out), "%.*s<root>%s", (int)(at - msg), msg, at + strlen(f->root));
	return out;
}

static void test_discover_vendor(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 8), 0);
	p = params(f);
	assert_int_equal(xenib_discover(&p, &t, &err), 0);
	/* mlx5_9 (Ethernet) and the VFs' own IB devices mlx5_1..8 are not PFs of the pool */
	assert_int_equal(t.n_pfs, 1);
	assert_string_equal(t.pfs[0].name, "mlx5_0");
	assert_string_equal(t.pfs[0].bdf, "0000:3b:00.0");
	assert_int_equal(t.pfs[0].totalvfs, 8);
	assert_int_equal(t.pfs[0].numvfs, 8);
	assert_true(t.pfs[0].vendor_sriov);
	assert_string_equal(t.pfs[0].netdev, "ib0");
	assert_int_equal(t.pfs[0].ifindex, FIXTURE_IFINDEX);
	assert_int_equal(t.n_vfs, 8);
	for (unsigned i = 0; i < 8; i++) {
		char bdf[16], ib[16];

		fixture_vf_bdf(i, bdf, sizeof(bdf));
		snprintf(ib, sizeof(ib), "mlx5_%u", i + 1);
		assert_int_equal(t.vfs[i].slot, i);
		assert_int_equal(t.vfs[i].vf, i);
		assert_int_equal(t.vfs[i].pf, 0);
		assert_string_equal(t.vfs[i].bdf, bdf);
		assert_string_equal(t.vfs[i].ibdev, ib);
		assert_string_equal(t.vfs[i].driver, "mlx5_core");
	}
	assert_string_equal(t.vfs[0].bdf, "0000:3b:00.1");
	assert_string_equal(t.vfs[7].bdf, "0000:3b:01.0"); /* devfn 8: device 1, function 0 */
	xenib_topology_free(&t);

	/* ib.vfs_per_device takes the first N */
	p.vfs_per_device = 3;
	assert_int_equal(xenib_discover(&p, &t, &err), 0);
	assert_int_equal(t.n_vfs, 3);
	assert_string_equal(t.vfs[2].bdf, "0000:3b:00.3");
	xenib_topology_free(&t);
}

static void test_discover_netlink_variant(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	char *dev[] = {"mlx5_0", NULL};

	assert_int_equal(fixture_build(f, FIXTURE_NETLINK, 2), 0);
	p = params(f);
	p.devices = dev;
	p.n_devices = 1;
	assert_int_equal(xenib_discover(&p, &t, &err), 0);
	assert_int_equal(t.n_pfs, 1);
	assert_false(t.pfs[0].vendor_sriov);
	assert_int_equal(t.pfs[0].ifindex, FIXTURE_IFINDEX);
	assert_int_equal(t.n_vfs, 2);
	xenib_topology_free(&t);
}

/* A VF given to a VM is bound to vfio-pci: no infiniband/ dir, another driver. */
static void test_discover_vf_passed_through(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	char path[PATH_MAX];

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 2), 0);
	snprintf(path, sizeof(path), "%s/../0000:3b:00.2/driver", f->pf_dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("../../../../bus/pci/drivers/vfio-pci", path), 0);
	snprintf(path, sizeof(path), "%s/../0000:3b:00.2/infiniband/mlx5_2/ports/1/state",
	         f->pf_dir);
	assert_int_equal(unlink(path), 0);
	p = params(f);
	assert_int_equal(xenib_discover(&p, &t, &err), 0);
	assert_string_equal(t.vfs[1].driver, "vfio-pci");
	assert_string_equal(t.vfs[0].driver, "mlx5_core");
	xenib_topology_free(&t);
}

static void test_discover_errors(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	char *missing[] = {"mlx5_77", NULL}, *roce[] = {"mlx5_9", NULL}, *vf[] = {"mlx5_1", NULL};
	char path[PATH_MAX];

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 8), 0);
	p = params(f);
	p.n_devices = 1;

	p.devices = missing;
	assert_int_equal(xenib_discover(&p, &t, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(rel(f, err.msg),
	                    "<root>/sys/class/infiniband/mlx5_77: IB device missing");

	p.devices = roce;
	assert_int_equal(xenib_discover(&p, &t, &err), -1);
	assert_int_equal(errno, EMEDIUMTYPE);
	assert_string_equal(rel(f, err.msg),
	                    "<root>/sys/class/infiniband/mlx5_9/ports/1/link_layer: "
	                    "link layer is 'Ethernet', not InfiniBand");

	p.devices = vf;
	assert_int_equal(xenib_discover(&p, &t, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(rel(f, err.msg), "<root>/sys/class/infiniband/mlx5_1/device/physfn: "
	                                     "mlx5_1 is itself a virtual function, not a PF");

	/* the kernel creates virtfn0..numvfs-1: a hole is a broken tree, not fewer VFs */
	snprintf(path, sizeof(path), "%s/virtfn3", f->pf_dir);
	assert_int_equal(unlink(path), 0);
	p.devices = NULL;
	p.n_devices = 0;
	assert_int_equal(xenib_discover(&p, &t, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(rel(f, err.msg),
	                    "<root>/sys/class/infiniband/mlx5_0/device/virtfn3: No "
	                    "such file or directory (sriov_numvfs is 8)");

	/* garbage in a sysfs number */
	assert_int_equal(fixture_write(f,
	                               "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/"
	                               "sriov_totalvfs",
	                               "eight\n"),
	                 0);
	assert_int_equal(xenib_discover(&p, &t, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(rel(f, err.msg), "<root>/sys/class/infiniband/mlx5_0/device/"
	                                     "sriov_totalvfs: 'eight' is not a number");

	assert_int_equal(xenib_discover(NULL, &t, &err), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_no_sriov(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xenib_topology t = {0};
	struct xerr err = {{0}};
	char *dev[] = {"mlx5_0", NULL};

	assert_int_equal(fixture_build(f, FIXTURE_NO_SRIOV, 0), 0);
	p = params(f);
	/* not listed: simply not part of the pool */
	assert_int_equal(xenib_discover(&p, &t, &err), 0);
	assert_int_equal(t.n_pfs, 0);
	assert_int_equal(t.n_vfs, 0);
	xenib_topology_free(&t);
	/* listed: the site expected VFs from it */
	p.devices = dev;
	p.n_devices = 1;
	assert_int_equal(xenib_discover(&p, &t, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(rel(f, err.msg),
	                    "<root>/sys/class/infiniband/mlx5_0/device/sriov_totalvfs: missing: "
	                    "mlx5_0 has no SR-IOV (not capable, or disabled in firmware)");
	/* and enable says the same about every device */
	p.devices = NULL;
	p.n_devices = 0;
	assert_int_equal(xenib_enable(&p, 4, NULL, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(rel(f, err.msg), "<root>/sys/class/infiniband: no InfiniBand device "
	                                     "with SR-IOV (no device/sriov_totalvfs)");
}

/* A root without any IB stack: an empty pool, not an error. */
static void test_no_ib_at_all(void **state)
{
	struct xenib_params p = {.root = "/nonexistent-xenib-root", .state_dir = "/tmp"};
	struct xenib_topology t = {0};
	struct xerr err = {{0}};

	(void)state;
	assert_int_equal(xenib_discover(&p, &t, &err), 0);
	assert_int_equal(t.n_pfs, 0);
	xenib_topology_free(&t);
}

static void test_enable(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xerr err = {{0}};
	unsigned changed = 99;
	char *s, expect[2048];
	const char *numvfs = "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/sriov_numvfs";

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 0), 0);
	p = params(f);
	/* from 0: one write */
	logbuf[0] = '\0';
	assert_int_equal(xenib_enable(&p, 8, &changed, &err), 0);
	assert_int_equal(changed, 1);
	s = fixture_read(f, numvfs);
	assert_string_equal(s, "8");
	free(s);
	snprintf(expect, sizeof(expect),
	         "%s/sys/class/infiniband/mlx5_0/device/sriov_numvfs <- '8'\n"
	         "mlx5_0: 8 VFs enabled (was 0)\n",
	         f->root);
	assert_string_equal(logbuf, expect);

	/* from 4 to 8: through 0, as the kernel requires */
	assert_int_equal(fixture_set_numvfs(f, 4), 0);
	logbuf[0] = '\0';
	assert_int_equal(xenib_enable(&p, 8, &changed, &err), 0);
	assert_int_equal(changed, 1);
	snprintf(expect, sizeof(expect),
	         "%s/sys/class/infiniband/mlx5_0/device/sriov_numvfs <- '0'\n"
	         "%s/sys/class/infiniband/mlx5_0/device/sriov_numvfs <- '8'\n"
	         "mlx5_0: 8 VFs enabled (was 4)\n",
	         f->root, f->root);
	assert_string_equal(logbuf, expect);

	/* already there: nothing written */
	assert_int_equal(fixture_set_numvfs(f, 8), 0);
	logbuf[0] = '\0';
	assert_int_equal(xenib_enable(&p, 8, &changed, &err), 0);
	assert_int_equal(changed, 0);
	assert_string_equal(logbuf, "");

	/* more than the device has */
	assert_int_equal(xenib_enable(&p, 9, &changed, &err), -1);
	assert_int_equal(errno, ERANGE);
	assert_string_equal(rel(f, err.msg),
	                    "<root>/sys/class/infiniband/mlx5_0/device/"
	                    "sriov_totalvfs: mlx5_0 supports at most 8 VFs, 9 asked");

	assert_int_equal(xenib_enable(&p, 0, &changed, &err), -1);
	assert_int_equal(errno, EINVAL);
}

/* Never pull VFs out from under running VMs. */
static void test_enable_busy(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xerr err = {{0}};
	char *s;

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 4), 0);
	assert_int_equal(
	    fixture_write(f, "/run/xenvm/xenib/pool.state",
	                  "xenib-pool 1\n0000:3b:00.2 assigned 42 0 0 1700000000 job42-vm\n"),
	    0);
	p = params(f);
	assert_int_equal(xenib_enable(&p, 8, NULL, &err), -1);
	assert_int_equal(errno, EBUSY);
	assert_string_equal(rel(f, err.msg),
	                    "<root>/sys/class/infiniband/mlx5_0/device/sriov_numvfs: "
	                    "not changed from 4 to 8: 1 of mlx5_0's VFs are leased "
	                    "or assigned (release them first)");
	s = fixture_read(f, "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/sriov_numvfs");
	assert_string_equal(s, "4\n");
	free(s);
}

/* Run fn in a child; return its errno (or -1 when it could not set up) and copy its message. */
typedef int (*child_fn)(struct fixture *f, struct xerr *err);

static int in_child(struct fixture *f, child_fn fn, char *msg, size_t len)
{
	int pfd[2], status = 0;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct xerr err = {{0}};
		int rc = fn(f, &err);

		close(pfd[0]);
		if (write(pfd[1], err.msg, strlen(err.msg)) < 0)
			_exit(126);
		_exit(rc == -2 ? 125 : rc == 0 ? 0 : errno & 0x7f);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, len - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == 125 ? -1 : WEXITSTATUS(status);
}

/* Make the PF's PCI directory a read-only bind mount in a private mount namespace, enable. */
static int enable_read_only(struct fixture *f, struct xerr *err)
{
	struct xenib_params p = params(f);

	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(f->pf_dir, f->pf_dir, "none", MS_BIND, NULL) < 0 ||
	    mount("none", f->pf_dir, "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		xerr_set(err, "cannot set up a read-only bind mount: %s", strerror(errno));
		return -2;
	}
	return xenib_enable(&p, 8, NULL, err);
}

static void test_enable_read_only_fs(void **state)
{
	struct fixture *f = *state;
	char msg[1024];
	int e;

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 0), 0);
	e = in_child(f, enable_read_only, msg, sizeof(msg));
	if (e < 0) {
		/* CI runs as root with namespaces: a missing capability is a failure, not a skip */
		fail_msg("cannot run this check here: %s", msg);
	}
	assert_int_equal(e, EROFS);
	assert_string_equal(rel(f, msg), "<root>/sys/class/infiniband/mlx5_0/device/sriov_numvfs: "
	                                 "cannot write '8': Read-only file system");
}

/* Drop to nobody (root-owned 0644 sysfs files are then unwritable), enable. */
static int enable_unprivileged(struct fixture *f, struct xerr *err)
{
	struct xenib_params p = params(f);
	char state_dir[PATH_MAX];

	/* a state dir nobody may use, so the pool lock is not what fails */
	snprintf(state_dir, sizeof(state_dir), "%s/tmp-nobody", f->root);
	if (mkdir(state_dir, 0777) < 0 || chmod(state_dir, 0777) < 0 ||
	    setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0) {
		xerr_set(err, "cannot become nobody: %s", strerror(errno));
		return -2;
	}
	p.state_dir = state_dir;
	return xenib_enable(&p, 8, NULL, err);
}

static void test_enable_permission_denied(void **state)
{
	struct fixture *f = *state;
	char msg[1024];
	int e;

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 0), 0);
	e = in_child(f, enable_unprivileged, msg, sizeof(msg));
	if (e < 0) {
		/* CI runs as root with namespaces: a missing capability is a failure, not a skip */
		fail_msg("cannot run this check here: %s", msg);
	}
	assert_int_equal(e, EACCES);
	assert_string_equal(rel(f, msg), "<root>/sys/class/infiniband/mlx5_0/device/sriov_numvfs: "
	                                 "cannot write '8': Permission denied");
}

/* The attribute replaced by a directory: what a write to a wrong path meets. */
static void test_enable_not_a_file(void **state)
{
	struct fixture *f = *state;
	struct xenib_params p;
	struct xerr err = {{0}};
	char path[PATH_MAX];

	assert_int_equal(fixture_build(f, FIXTURE_VENDOR, 0), 0);
	snprintf(path, sizeof(path), "%s/sriov_numvfs", f->pf_dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	p = params(f);
	assert_int_equal(xenib_enable(&p, 8, NULL, &err), -1);
	assert_string_equal(rel(f, err.msg),
	                    "<root>/sys/class/infiniband/mlx5_0/device/sriov_numvfs: "
	                    "cannot read: Is a directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_discover_vendor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discover_netlink_variant, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discover_vf_passed_through, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discover_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_sriov, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_ib_at_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable_read_only_fs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable_permission_denied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable_not_a_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

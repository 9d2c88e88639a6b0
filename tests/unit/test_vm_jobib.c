/*
 * test_vm_jobib.c - what the Prolog gives a job's VM for verbs (node/jobib.c): a VF from the
 * pool, Soft-RoCE or nothing as ib.fallback says, the fault class when there is no VF, commit,
 * vfio-pci attach for the qemu driver, release (twice), recovery of a finished job's VF, and the
 * qemu driver's -device argument.
 *
 * No HCA exists on the development machine: the pool runs on tests/xenib/fixture.c's tree laid
 * out like a ConnectX-5 node's /sys, reached through $XENVM_SYSFS_ROOT exactly as the Prolog
 * reaches "/" on a real node.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/atomic_file.h"
#include "lib/config.h"
#include "tests/xenib/fixture.h"
#include "lib/jobstate.h"
#include "lib/log.h"
#include "node/jobib.h"
#include "vm/qemu_pci.h"
#include "xenib/xenib.h"

#define VF0DIR "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.1"

struct t {
	struct fixture f;
	struct xenvm_config *cfg;
};

static struct t *make(void **state, enum fixture_kind kind, unsigned vfs)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(fixture_build(&t->f, kind, vfs), 0);
	t->cfg = xenvm_config_defaults();
	assert_non_null(t->cfg);
	free(t->cfg->state_dir);
	t->cfg->state_dir = strdup(t->f.state_dir);
	free(t->cfg->path);
	t->cfg->path = strdup("/etc/xenvm/xenvm.yaml");
	assert_int_equal(setenv("XENVM_SYSFS_ROOT", t->f.root, 1), 0);
	*state = t;
	return t;
}

static int teardown(void **state)
{
	struct t *t = *state;

	if (t) {
		xenvm_config_free(t->cfg);
		fixture_destroy(&t->f);
		free(t);
	}
	unsetenv("XENVM_SYSFS_ROOT");
	return 0;
}

/* The job runs here: its state directory exists (what xenib_recover looks for). */
static void job_alive(struct t *t, uint32_t jobid)
{
	char dir[PATH_MAX];

	assert_int_equal(xenvm_job_dir(t->cfg->state_dir, jobid, dir, sizeof(dir)), 0);
	assert_int_equal(xenvm_mkdir_p(dir, 0755), 0);
}

static void job_gone(struct t *t, uint32_t jobid)
{
	assert_int_equal(xenvm_job_remove(t->cfg->state_dir, jobid), 0);
}

static void test_vf_then_fallback(void **state)
{
	struct t *t = make(state, FIXTURE_VENDOR, 2);
	struct xvm_job_ib ib;
	struct xerr err = {{0}};
	unsigned n = 99;
	char *s;

	for (uint32_t j = 1; j <= 4; j++)
		job_alive(t, j);
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 1, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_true(ib.vf);
	assert_false(ib.rxe);
	assert_string_equal(ib.bdf, "0000:3b:00.1");
	assert_string_equal(ib.pf, "mlx5_0");
	assert_int_equal(xvm_job_ib_commit(t->cfg, "node1", 1, "vm0", &ib, &err), 0);
	s = fixture_read(&t->f, "/run/xenvm/xenib/pool.state");
	assert_non_null(s);
	assert_non_null(strstr(s, "assigned"));
	free(s);

	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 2, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_string_equal(ib.bdf, "0000:3b:00.2");
	assert_int_equal(xvm_job_ib_commit(t->cfg, "node1", 2, "vm0", &ib, &err), 0);

	/* both VFs in use: ib.fallback decides */
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 3, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_false(ib.vf);
	assert_true(ib.rxe); /* the default: rxe */
	assert_string_equal(ib.why, "every InfiniBand VF of this node is in use");
	assert_int_equal(xvm_job_ib_commit(t->cfg, "node1", 3, "vm0", &ib, &err), 0); /* no-op */

	t->cfg->ib.fallback = XENVM_IB_FALLBACK_TCP;
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 3, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_false(ib.vf);
	assert_false(ib.rxe);

	/* none: the job fails with the reason; it is not the node's fault (no drain) */
	t->cfg->ib.fallback = XENVM_IB_FALLBACK_NONE;
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 3, "vm0", true, &ib, &err),
	                 XVM_FAULT_JOB);
	assert_int_equal(errno, ENOSPC);
	assert_string_equal(
	    err.msg, "node node1: every InfiniBand VF of this node is in use, and the site does "
	             "not allow a fallback (/etc/xenvm/xenvm.yaml: ib.fallback: none)");

	/* an image without verbs takes no VF whatever the policy */
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 3, "vm0", false, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_false(ib.vf);
	assert_false(ib.rxe);

	/* job 1 ends: its VF goes back to the host driver and to the pool; twice is harmless */
	assert_int_equal(xvm_job_ib_release(t->cfg, "node1", 1, &n, &err), 0);
	assert_int_equal(n, 1);
	s = fixture_read(&t->f, VF0DIR "/driver_override");
	assert_string_equal(s, "\n");
	free(s);
	assert_int_equal(xvm_job_ib_release(t->cfg, "node1", 1, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 3, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_true(ib.vf);
	assert_string_equal(ib.bdf, "0000:3b:00.1");
	assert_int_equal(xvm_job_ib_commit(t->cfg, "node1", 3, "vm0", &ib, &err), 0);

	/* job 2 vanished without an Epilog (its state is gone): the next Prolog recovers its VF */
	job_gone(t, 2);
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 4, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_true(ib.vf);
	assert_string_equal(ib.bdf, "0000:3b:00.2");
}

static void test_no_ib_node(void **state)
{
	struct t *t = make(state, FIXTURE_NO_SRIOV, 0);
	struct xvm_job_ib ib;
	struct xerr err = {{0}};
	unsigned n = 99;

	job_alive(t, 7);
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 7, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_false(ib.vf);
	assert_true(ib.rxe);
	assert_string_equal(ib.why, "this node has no SR-IOV InfiniBand VF");
	t->cfg->ib.fallback = XENVM_IB_FALLBACK_NONE;
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 7, "vm0", true, &ib, &err),
	                 XVM_FAULT_JOB);
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(err.msg, "this node has no SR-IOV InfiniBand VF"));
	/* the Epilog on a node without IB has nothing to do and succeeds */
	assert_int_equal(xvm_job_ib_release(t->cfg, "node1", 7, &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_broken_pool_is_node_fault(void **state)
{
	struct t *t = make(state, FIXTURE_VENDOR, 2);
	struct xvm_job_ib ib;
	struct xerr err = {{0}};

	job_alive(t, 1);
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 1, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	assert_int_equal(fixture_write(&t->f, "/run/xenvm/xenib/pool.state", "garbage\n"), 0);
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 2, "vm0", true, &ib, &err),
	                 XVM_FAULT_NODE);
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(err.msg, "pool.state"));
	/* ... and an Epilog cannot pretend it released anything */
	assert_int_equal(xvm_job_ib_release(t->cfg, "node1", 1, NULL, &err), -1);

	/* a listed device that is missing: the site's configuration names the file */
	{
		char *dev[] = {"mlx5_7", NULL};

		assert_int_equal(fixture_write(&t->f, "/run/xenvm/xenib/pool.state", ""), 0);
		t->cfg->ib.devices = NULL; /* borrowed below, not freed by the config */
		t->cfg->ib.devices = dev;
		t->cfg->ib.n_devices = 1;
		assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 2, "vm0", true, &ib, &err),
		                 XVM_FAULT_NODE);
		assert_non_null(strstr(err.msg, "IB VF pool (/etc/xenvm/xenvm.yaml: ib.devices)"));
		t->cfg->ib.devices = NULL;
		t->cfg->ib.n_devices = 0;
	}
}

static void test_attach_vfio(void **state)
{
	struct t *t = make(state, FIXTURE_VENDOR, 2);
	struct xvm_job_ib ib;
	struct xerr err = {{0}};
	char rel[64], *s;

	job_alive(t, 1);
	assert_int_equal(xvm_job_ib_reserve(t->cfg, "node1", 1, "vm0", true, &ib, &err),
	                 XVM_FAULT_NONE);
	/* qemu: bound to vfio-pci through sysfs; the fixture cannot bind, so the check says so */
	assert_int_equal(xvm_job_ib_attach(t->cfg, &ib, &err), -1);
	assert_int_equal(errno, EBUSY);
	s = fixture_read(&t->f, VF0DIR "/driver_override");
	assert_string_equal(s, "vfio-pci");
	free(s);
	/* the kernel did bind it and made its group's node: attach succeeds */
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s" VF0DIR "/driver", t->f.root);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(symlink("../../../../bus/pci/drivers/vfio-pci", path), 0);
	}
	snprintf(rel, sizeof(rel), "/dev/vfio/%s", fixture_iommu_group("0000:3b:00.1"));
	assert_int_equal(fixture_write(&t->f, rel, ""), 0);
	assert_int_equal(xvm_job_ib_attach(t->cfg, &ib, &err), 0);
	/* xen: libxl makes it assignable itself (xen/xl_pci.c); nothing happens here */
	t->cfg->driver = XENVM_DRIVER_XEN;
	assert_int_equal(xvm_job_ib_attach(t->cfg, &ib, &err), 0);
}

static void test_qemu_device_arg(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(xvm_qemu_pci_arg("0000:3b:00.1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "vfio-pci,host=0000:3b:00.1");
	assert_int_equal(xvm_qemu_pci_arg("0000:3b:01.0", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "vfio-pci,host=0000:3b:01.0");
	/* nothing can smuggle another QEMU property in */
	assert_int_equal(xvm_qemu_pci_arg("0000:3b:00.1,romfile=/x", buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xvm_qemu_pci_arg("00:3b:00.1:0", buf, sizeof(buf)), -1);
	assert_int_equal(xvm_qemu_pci_arg(NULL, buf, sizeof(buf)), -1);
	assert_int_equal(xvm_qemu_pci_arg("0000:3b:00.1", buf, 10), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_vf_then_fallback, teardown),
	    cmocka_unit_test_teardown(test_no_ib_node, teardown),
	    cmocka_unit_test_teardown(test_broken_pool_is_node_fault, teardown),
	    cmocka_unit_test_teardown(test_attach_vfio, teardown),
	    cmocka_unit_test(test_qemu_device_arg),
	};

	xlog_init("test", XLOG_ERROR);
	return cmocka_run_group_tests_name("vm_jobib", tests, NULL, NULL);
}

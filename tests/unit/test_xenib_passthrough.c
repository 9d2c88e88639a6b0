/*
 * test_xenib_passthrough.c - handing a VF to vfio-pci (the qemu driver's passthrough) and back
 * to the host, through sysfs: driver_override, the current driver's unbind, drivers_probe.
 *
 * No HCA, no IOMMU and no vfio-pci exist on the development machine, so this runs on
 * tests/xenib/fixture.c's tree laid out like a ConnectX-5 node's /sys (sysfs-bus-pci's
 * driver_override, drivers_probe, drivers/<name>/unbind, iommu_group).  The fixture cannot react
 * to a write: the tests check every write the kernel would act on (file and exact value), then
 * play the kernel's part (re-link `driver`, create /dev/vfio/<group>) where the next step needs it.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/atomic_file.h"
#include "tests/xenib/fixture.h"
#include "xenib/xenib.h"

#define VFDIR "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.1"
#define BDF "0000:3b:00.1"

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fixture_build(f, FIXTURE_VENDOR, 2) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_destroy(*state);
	free(*state);
	return 0;
}

/* The content of <root>/<rel>, for assert_string_equal (a static copy, "" when missing). */
static const char *rd(struct fixture *f, const char *rel)
{
	static char buf[256];
	char *s = fixture_read(f, rel);

	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	free(s);
	return buf;
}

/* Play the kernel: VF 0 is now bound to `driver`. */
static void kernel_binds(struct fixture *f, const char *driver)
{
	char path[PATH_MAX], target[128];

	snprintf(path, sizeof(path), "%s" VFDIR "/driver", f->root);
	snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(target, path), 0);
}

static void test_bind_vfio(void **state)
{
	struct fixture *f = *state;
	struct xerr err = {{0}};
	char drv[64], rel[128];

	assert_int_equal(xenib_pci_driver(f->root, BDF, drv, sizeof(drv), &err), 0);
	assert_string_equal(drv, "mlx5_core");
	assert_int_equal(xenib_pci_bind(f->root, BDF, "vfio-pci", &err), 0);
	/* exactly what the kernel acts on, in each file */
	assert_string_equal(rd(f, VFDIR "/driver_override"), "vfio-pci");
	assert_string_equal(rd(f, "/sys/bus/pci/drivers/mlx5_core/unbind"), BDF);
	assert_string_equal(rd(f, "/sys/bus/pci/drivers_probe"), BDF);
	/* the other VF is untouched: the override is per function */
	assert_string_equal(
	    rd(f, "/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.2/driver_override"), "(null)\n");

	/* the kernel has not bound it yet: the check says who holds it */
	assert_int_equal(xenib_pci_check_bound(f->root, BDF, "vfio-pci", &err), -1);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(err.msg, "VF 0000:3b:00.1 is bound to mlx5_core, not vfio-pci"));

	/* bound, but /dev/vfio/<group> is missing */
	kernel_binds(f, "vfio-pci");
	assert_int_equal(xenib_pci_check_bound(f->root, BDF, "vfio-pci", &err), -1);
	assert_int_equal(errno, ENODEV);
	snprintf(rel, sizeof(rel), "/dev/vfio/%s", fixture_iommu_group(BDF));
	assert_non_null(strstr(err.msg, rel));
	assert_int_equal(fixture_write(f, rel, ""), 0);
	assert_int_equal(xenib_pci_check_bound(f->root, BDF, "vfio-pci", &err), 0);

	/* a second bind (a retried Prolog step) writes nothing */
	assert_int_equal(fixture_write(f, "/sys/bus/pci/drivers_probe", ""), 0);
	assert_int_equal(xenib_pci_bind(f->root, BDF, "vfio-pci", &err), 0);
	assert_string_equal(rd(f, "/sys/bus/pci/drivers_probe"), "");
}

static void test_return_to_host(void **state)
{
	struct fixture *f = *state;
	struct xerr err = {{0}};

	assert_int_equal(xenib_pci_bind(f->root, BDF, "vfio-pci", &err), 0);
	kernel_binds(f, "vfio-pci");
	assert_int_equal(fixture_write(f, "/sys/bus/pci/drivers_probe", ""), 0);
	assert_int_equal(xenib_pci_return(f->root, BDF, &err), 0);
	assert_string_equal(rd(f, VFDIR "/driver_override"), "\n"); /* cleared */
	assert_string_equal(rd(f, "/sys/bus/pci/drivers/vfio-pci/unbind"), BDF);
	assert_string_equal(rd(f, "/sys/bus/pci/drivers_probe"), BDF);

	/* back with mlx5_core: a second return (the Epilog run twice) only clears the override */
	kernel_binds(f, "mlx5_core");
	assert_int_equal(fixture_write(f, "/sys/bus/pci/drivers_probe", ""), 0);
	assert_int_equal(fixture_write(f, "/sys/bus/pci/drivers/mlx5_core/unbind", ""), 0);
	assert_int_equal(xenib_pci_return(f->root, BDF, &err), 0);
	assert_string_equal(rd(f, "/sys/bus/pci/drivers_probe"), "");
	assert_string_equal(rd(f, "/sys/bus/pci/drivers/mlx5_core/unbind"), "");

	/* a VF that no longer exists (SR-IOV disabled since) is nothing to return */
	assert_int_equal(fixture_set_numvfs(f, 0), 0);
	assert_int_equal(xenib_pci_return(f->root, BDF, &err), 0);
}

static void test_bad_inputs(void **state)
{
	struct fixture *f = *state;
	struct xerr err = {{0}};
	char path[PATH_MAX];

	/* malformed addresses never reach a path (or a QEMU option) */
	const char *bad[] = {"",
	                     "3b:00.1",
	                     "0000:3b:00.8",
	                     "0000:3B:00.1",
	                     "0000:3b:00.1,x=1",
	                     "0000:3b:20.1",
	                     "../../../etc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xenib_pci_bind(f->root, bad[i], "vfio-pci", &err), -1);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(err.msg, "expected dddd:bb:dd.f"));
	}
	assert_int_equal(xenib_pci_bind(f->root, BDF, "../x", &err), -1);
	assert_int_equal(errno, EINVAL);

	/* no such function */
	assert_int_equal(xenib_pci_bind(f->root, "0000:3b:00.7", "vfio-pci", &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, "/sys/bus/pci/devices/0000:3b:00.7: no such PCI function"));

	/* vfio-pci not loaded: nothing is written */
	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/vfio-pci", f->root);
	assert_int_equal(xenvm_remove_tree(path), 0);
	assert_int_equal(xenib_pci_bind(f->root, BDF, "vfio-pci", &err), -1);
	assert_int_equal(errno, ENXIO);
	assert_non_null(strstr(err.msg, "PCI driver vfio-pci is not loaded (modprobe vfio-pci)"));
	assert_string_equal(rd(f, VFDIR "/driver_override"), "(null)\n");

	/* bound to vfio-pci but no IOMMU group: the admin must enable the IOMMU */
	kernel_binds(f, "vfio-pci");
	snprintf(path, sizeof(path), "%s" VFDIR "/iommu_group", f->root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(xenib_pci_check_bound(f->root, BDF, "vfio-pci", &err), -1);
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(err.msg, "has no IOMMU group: enable the IOMMU"));

	/* an unwritable driver_override (EACCES/EROFS come back with the file's name) */
	snprintf(path, sizeof(path), "%s" VFDIR "/driver_override", f->root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(xenib_pci_return(f->root, BDF, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, "driver_override"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bind_vfio, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_return_to_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
	};

	return cmocka_run_group_tests_name("xenib_passthrough", tests, NULL, NULL);
}

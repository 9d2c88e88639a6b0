/*
 * test_xl_pci.c - the libxl domain config the xen driver builds for a passed-through IB VF
 * (xen/xl_pci.c): the address parsed into libxl_device_pci, the device appended to pcidevs with
 * the settings a VF needs, passthrough enabled, and malformed addresses refused.
 *
 * Checked on the generated libxl_domain_config, not on a running Xen: the nested-Xen harness's
 * QEMU node has no SR-IOV device and no IOMMU emulation wired for xen-pciback here, so nothing can
 * be assigned for real (see xenib/README.md).  libxl's config types need no Xen to be built,
 * initialised and disposed; the dispose at the end runs under ASan, so the ownership is checked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "xl_pci.h"

static void test_parse(void **state)
{
	libxl_device_pci pci;
	struct xerr err = {{0}};

	(void)state;
	libxl_device_pci_init(&pci);
	assert_int_equal(xl_pci_from_bdf(&pci, "0000:3b:01.7", &err), 0);
	assert_int_equal(pci.domain, 0);
	assert_int_equal(pci.bus, 0x3b);
	assert_int_equal(pci.dev, 1);
	assert_int_equal(pci.func, 7);
	assert_int_equal(xl_pci_from_bdf(&pci, "00a1:ff:1f.0", &err), 0);
	assert_int_equal(pci.domain, 0xa1);
	assert_int_equal(pci.bus, 0xff);
	assert_int_equal(pci.dev, 0x1f);
	const char *bad[] = {"",
	                     "3b:00.1",
	                     "0000:3b:00.8",
	                     "0000:3b:20.0",
	                     "0000:3B:00.1",
	                     "0000-3b-00.1",
	                     "0000:3b:00.1 "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xl_pci_from_bdf(&pci, bad[i], &err), -1);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(err.msg, "expected dddd:bb:dd.f"));
	}
	libxl_device_pci_dispose(&pci);
}

static void test_config(void **state)
{
	libxl_domain_config dc;
	struct xerr err = {{0}};

	(void)state;
	libxl_domain_config_init(&dc);
	assert_int_equal(dc.num_pcidevs, 0);
	assert_int_equal(xl_pci_config_add(&dc, "0000:3b:00.1", &err), 0);
	assert_int_equal(xl_pci_config_add(&dc, "0000:3b:00.2", &err), 0);
	assert_int_equal(dc.num_pcidevs, 2);
	assert_int_equal(dc.pcidevs[0].bus, 0x3b);
	assert_int_equal(dc.pcidevs[0].dev, 0);
	assert_int_equal(dc.pcidevs[0].func, 1);
	assert_int_equal(dc.pcidevs[1].func, 2);
	assert_false(dc.pcidevs[0].permissive);
	assert_false(dc.pcidevs[0].msitranslate);
	assert_false(dc.pcidevs[0].power_mgmt);
	assert_false(dc.pcidevs[0].seize);
	assert_int_equal(dc.c_info.passthrough, LIBXL_PASSTHROUGH_ENABLED);
	/* a bad address adds nothing */
	assert_int_equal(xl_pci_config_add(&dc, "0000:3b:00.1,x", &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dc.num_pcidevs, 2);
	libxl_domain_config_dispose(&dc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests_name("xl_pci", tests, NULL, NULL);
}

/*
 * test_xl_pci.c - the libxl domain config the xen driver builds for a passed-through IB VF
 * (xen/xl_pci.c): the address parsed into libxl_device_pci, the device appended to pcidevs with
 * the settings a VF needs, passthrough enabled, and malformed addresses refused.
 *
 * Checked on the generated libxl_domain_config, without Xen: libxl's config types need none to
 * be built, initialised and disposed, and xl_domain_config_build() needs no context; the
 * disposes run under ASan, so the ownership is checked.  The device assigned for real (an
 * emulated e1000 behind QEMU's VT-d in a nested Xen node) is tests/xen/test_xen_pci.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "xen/xl_pci.h"

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
#ifdef LIBXL_HAVE_DEVICE_PCI_SEIZE
	assert_false(dc.pcidevs[0].seize);
#endif
	assert_int_equal(dc.c_info.passthrough, LIBXL_PASSTHROUGH_ENABLED);
	/* a bad address adds nothing */
	assert_int_equal(xl_pci_config_add(&dc, "0000:3b:00.1,x", &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(dc.num_pcidevs, 2);
	libxl_domain_config_dispose(&dc);
}

static void test_to_bdf(void **state)
{
	libxl_device_pci pci;
	char buf[XL_PCI_BDF_LEN], small[XL_PCI_BDF_LEN - 1];
	struct xerr err = {{0}};
	const char *addr[] = {"0000:3b:00.1", "00a1:ff:1f.7", "0000:00:04.0"};

	(void)state;
	libxl_device_pci_init(&pci);
	/* What xl_domain_stop reads back from libxl must be what assignable_remove parses. */
	for (size_t i = 0; i < sizeof(addr) / sizeof(addr[0]); i++) {
		assert_int_equal(xl_pci_from_bdf(&pci, addr[i], &err), 0);
		assert_int_equal(xl_pci_to_bdf(&pci, buf, sizeof(buf)), 0);
		assert_string_equal(buf, addr[i]);
	}
	assert_int_equal(xl_pci_to_bdf(&pci, small, sizeof(small)), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(xl_pci_to_bdf(NULL, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
	libxl_device_pci_dispose(&pci);
}

/* A spec as xen/driver.c builds it; the files need not exist (the config builder reads none). */
static struct xl_domain_spec spec_of(const char *bdf)
{
	struct xl_domain_spec s = {
	    .name = "xenvm-job42-vm0",
	    .type = XL_DOMAIN_PV,
	    .kernel = "/nonexistent/vmlinuz",
	    .ramdisk = "/nonexistent/initrd",
	    .cmdline = "console=hvc0",
	    .memory_mib = 256,
	    .vcpus = 3,
	    .bridge = "xenbr0",
	    .mac = "00:16:3e:00:00:65",
	    .pci_bdf = bdf,
	};
	return s;
}

/* The whole domain config xl_domain_create hands libxenlight, with and without a VF. */
static void test_domain_config(void **state)
{
	struct xl_domain_spec s = spec_of("0000:3b:00.1");
	libxl_domain_config dc;
	struct xerr err = {{0}};

	(void)state;
	libxl_domain_config_init(&dc);
	assert_int_equal(xl_domain_config_build(&s, &dc, &err), 0);
	assert_string_equal(dc.c_info.name, "xenvm-job42-vm0");
	assert_int_equal(dc.c_info.type, LIBXL_DOMAIN_TYPE_PV);
	assert_int_equal(dc.b_info.max_memkb, 256 * 1024);
	assert_int_equal(dc.b_info.max_vcpus, 3);
	assert_int_equal(libxl_bitmap_count_set(&dc.b_info.avail_vcpus), 3);
	assert_int_equal(dc.num_nics, 1);
	assert_int_equal(dc.nics[0].mac[5], 0x65);
	assert_int_equal(dc.num_pcidevs, 1);
	assert_int_equal(dc.pcidevs[0].domain, 0);
	assert_int_equal(dc.pcidevs[0].bus, 0x3b);
	assert_int_equal(dc.pcidevs[0].dev, 0);
	assert_int_equal(dc.pcidevs[0].func, 1);
	assert_false(dc.pcidevs[0].permissive);
	assert_int_equal(dc.c_info.passthrough, LIBXL_PASSTHROUGH_ENABLED);
	libxl_domain_config_dispose(&dc);

	/* No VF: no PCI device, and passthrough left to libxl's default (off without devices). */
	s = spec_of(NULL);
	libxl_domain_config_init(&dc);
	assert_int_equal(xl_domain_config_build(&s, &dc, &err), 0);
	assert_int_equal(dc.num_pcidevs, 0);
	assert_null(dc.pcidevs);
	assert_int_equal(dc.c_info.passthrough, LIBXL_PASSTHROUGH_DEFAULT);
	libxl_domain_config_dispose(&dc);

	/* A malformed address fails the build, naming the domain and the address. */
	s = spec_of("3b:00.1");
	libxl_domain_config_init(&dc);
	assert_int_equal(xl_domain_config_build(&s, &dc, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err.msg, "xenvm-job42-vm0"));
	assert_non_null(strstr(err.msg, "'3b:00.1'"));
	assert_int_equal(dc.num_pcidevs, 0);
	libxl_domain_config_dispose(&dc); /* what was built before the failure is freed (ASan) */

	assert_int_equal(xl_domain_config_build(NULL, &dc, &err), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_to_bdf),
	    cmocka_unit_test(test_domain_config),
	};

	return cmocka_run_group_tests_name("xl_pci", tests, NULL, NULL);
}

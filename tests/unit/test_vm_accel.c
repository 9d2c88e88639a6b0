/*
 * test_vm_accel.c - the qemu driver's KVM-or-TCG decision (vm/accel.c, accel_probe.c).
 *
 * The decision logic runs against injected host facts (cpuinfo text, /dev/kvm, boot id, probe
 * result) and counts what it asked for: the probe must only run where hardware KVM is
 * plausible, and only once per boot when cached.  Then the real host: `auto` must pick TCG where
 * the CPU has no vmx/svm (this machine), and the probe payload itself must boot under TCG.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/atomic_file.h"
#include "vm/accel.h"

#define CPU_VMX "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\nvmx flags\t: ept vpid\n"
#define CPU_SVM "processor\t: 0\nflags\t\t: fpu svm lm\n"
#define CPU_NONE "processor\t: 0\nflags\t\t: fpu vme hypervisor lm\nvmx flags\t: ept vpid\n"

struct fake {
	const char *cpuinfo;
	bool kvm_opens;
	const char *boot_id;
	int probe_result;
	int n_cpuinfo, n_kvm, n_probe;
};

static int fake_cpuinfo(char *buf, size_t len, void *arg)
{
	struct fake *f = arg;

	f->n_cpuinfo++;
	if (!f->cpuinfo) {
		errno = ENOENT;
		return -1;
	}
	snprintf(buf, len, "%s", f->cpuinfo);
	return 0;
}

static bool fake_kvm(void *arg)
{
	struct fake *f = arg;

	f->n_kvm++;
	return f->kvm_opens;
}

static int fake_boot_id(char *buf, size_t len, void *arg)
{
	struct fake *f = arg;

	snprintf(buf, len, "%s", f->boot_id);
	return 0;
}

static int fake_probe(unsigned timeout_ms, void *arg)
{
	struct fake *f = arg;

	f->n_probe++;
	return f->probe_result;
}

static struct xvm_accel_ops ops_of(struct fake *f)
{
	struct xvm_accel_ops o = {fake_cpuinfo, fake_kvm, fake_boot_id, fake_probe, f};

	return o;
}

/* A fresh cache directory per test (removed by the caller). */
static char *tmpdir(void)
{
	char tmpl[] = "/tmp/test_vm_accel.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void test_parse(void **state)
{
	enum xvm_accel_mode m = XVM_ACCEL_TCG;

	assert_int_equal(xvm_accel_parse(NULL, &m), 0);
	assert_int_equal(m, XVM_ACCEL_AUTO);
	assert_int_equal(xvm_accel_parse("kvm", &m), 0);
	assert_int_equal(m, XVM_ACCEL_KVM);
	assert_int_equal(xvm_accel_parse("tcg", &m), 0);
	assert_int_equal(m, XVM_ACCEL_TCG);
	assert_int_equal(xvm_accel_parse("auto", &m), 0);
	assert_int_equal(m, XVM_ACCEL_AUTO);
	errno = 0;
	assert_int_equal(xvm_accel_parse("hvf", &m), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xvm_accel_parse("auto", NULL), -1);
	assert_string_equal(xvm_accel_mode_name(XVM_ACCEL_KVM), "kvm");
}

static void test_cpuinfo_flags(void **state)
{
	assert_true(xvm_cpuinfo_has_virt(CPU_VMX));
	assert_true(xvm_cpuinfo_has_virt(CPU_SVM));
	/* only "vmx flags" (a sub-feature list) and look-alike words: no */
	assert_false(xvm_cpuinfo_has_virt(CPU_NONE));
	assert_false(xvm_cpuinfo_has_virt("flags\t: vmxe svm_lock xsvm\n"));
	assert_false(xvm_cpuinfo_has_virt(""));
	assert_false(xvm_cpuinfo_has_virt("model name\t: vmx svm\n"));
	/* last word of the last line, no newline */
	assert_true(xvm_cpuinfo_has_virt("flags\t\t: fpu svm"));
}

static void test_forced_modes_never_probe(void **state)
{
	struct fake f = {.cpuinfo = CPU_NONE, .boot_id = "b1", .probe_result = 1};
	struct xvm_accel_ops o = ops_of(&f);
	struct xvm_accel_choice c;

	assert_int_equal(xvm_accel_choose(XVM_ACCEL_TCG, NULL, &o, &c, NULL), 0);
	assert_false(c.kvm);
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_KVM, NULL, &o, &c, NULL), 0);
	assert_true(c.kvm); /* forced even without vmx/svm: the admin said so */
	assert_int_equal(f.n_cpuinfo + f.n_kvm + f.n_probe, 0);
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, NULL, &o, NULL, NULL), -1);
}

static void test_auto_without_vmx_is_tcg_unprobed(void **state)
{
	struct fake f = {
	    .cpuinfo = CPU_NONE, .kvm_opens = true, .boot_id = "b1", .probe_result = 1};
	struct xvm_accel_ops o = ops_of(&f);
	struct xvm_accel_choice c;

	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, NULL, &o, &c, NULL), 0);
	assert_false(c.kvm);
	assert_non_null(strstr(c.why, "no vmx/svm"));
	/* /dev/kvm exists and "works" here, but is never trusted without the CPU flags */
	assert_int_equal(f.n_kvm, 0);
	assert_int_equal(f.n_probe, 0);

	f.cpuinfo = NULL; /* unreadable cpuinfo: TCG */
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, NULL, &o, &c, NULL), 0);
	assert_false(c.kvm);
	assert_int_equal(f.n_probe, 0);
}

static void test_auto_vmx_without_dev_kvm_is_tcg(void **state)
{
	struct fake f = {
	    .cpuinfo = CPU_SVM, .kvm_opens = false, .boot_id = "b1", .probe_result = 1};
	struct xvm_accel_ops o = ops_of(&f);
	struct xvm_accel_choice c;

	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, NULL, &o, &c, NULL), 0);
	assert_false(c.kvm);
	assert_int_equal(f.n_kvm, 1);
	assert_int_equal(f.n_probe, 0);
}

static void test_auto_probe_decides_and_is_cached(void **state)
{
	char *dir = tmpdir();
	struct fake f = {.cpuinfo = CPU_VMX, .kvm_opens = true, .boot_id = "b1", .probe_result = 1};
	struct xvm_accel_ops o = ops_of(&f);
	struct xvm_accel_choice c;

	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, dir, &o, &c, NULL), 0);
	assert_true(c.kvm);
	assert_true(c.probed);
	assert_int_equal(f.n_probe, 1);
	/* same boot: from the cache, even if the probe would now say otherwise */
	f.probe_result = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, dir, &o, &c, NULL), 0);
		assert_true(c.kvm);
		assert_false(c.probed);
	}
	assert_int_equal(f.n_probe, 1);
	/* the host rebooted: probe again, and remember the new verdict */
	f.boot_id = "b2";
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, dir, &o, &c, NULL), 0);
	assert_false(c.kvm);
	assert_true(c.probed);
	assert_non_null(strstr(c.why, "did not run"));
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, dir, &o, &c, NULL), 0);
	assert_false(c.kvm);
	assert_int_equal(f.n_probe, 2);
	assert_int_equal(xenvm_remove_tree(dir), 0);
	free(dir);
}

static void test_damaged_cache_reprobes(void **state)
{
	char *dir = tmpdir(), file[4200];
	struct fake f = {.cpuinfo = CPU_VMX, .kvm_opens = true, .boot_id = "b1", .probe_result = 0};
	struct xvm_accel_ops o = ops_of(&f);
	struct xvm_accel_choice c;
	static const char junk[] = "boot_id=b1\nkvm_probe=7\n";

	snprintf(file, sizeof(file), "%s/%s", dir, XVM_ACCEL_CACHE_FILE);
	assert_int_equal(
	    xenvm_write_file_atomic(file, junk, sizeof(junk) - 1, 0644, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, dir, &o, &c, NULL), 0);
	assert_false(c.kvm);
	assert_int_equal(f.n_probe, 1);
	assert_int_equal(xenvm_remove_tree(dir), 0);
	free(dir);
}

static void test_no_cache_dir_probes_each_time(void **state)
{
	struct fake f = {.cpuinfo = CPU_VMX, .kvm_opens = true, .boot_id = "b1", .probe_result = 1};
	struct xvm_accel_ops o = ops_of(&f);
	struct xvm_accel_choice c;

	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, NULL, &o, &c, NULL), 0);
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, "", &o, &c, NULL), 0);
	assert_true(c.kvm);
	assert_int_equal(f.n_probe, 2);
	/* an unwritable cache only costs re-probing */
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, "/nonexistent/xenvm", &o, &c, NULL), 0);
	assert_true(c.kvm);
	assert_int_equal(f.n_probe, 3);
}

static void test_configure(void **state)
{
	char longdir[5000];

	assert_int_equal(xvm_accel_configured_mode(), XVM_ACCEL_AUTO);
	assert_int_equal(xvm_accel_configure(XVM_ACCEL_TCG, "/run/xenvm", NULL), 0);
	assert_int_equal(xvm_accel_configured_mode(), XVM_ACCEL_TCG);
	assert_string_equal(xvm_accel_configured_cache_dir(), "/run/xenvm");
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(xvm_accel_configure(XVM_ACCEL_KVM, longdir, NULL), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(xvm_accel_configured_mode(), XVM_ACCEL_TCG); /* unchanged */
	assert_int_equal(xvm_accel_configure(XVM_ACCEL_AUTO, NULL, NULL), 0);
	assert_string_equal(xvm_accel_configured_cache_dir(), "");
}

/* This host, for real: no vmx/svm (PVM behind /dev/kvm) must mean TCG without a probe. */
static void test_host_auto(void **state)
{
	static char cpuinfo[65536];
	FILE *f = fopen("/proc/cpuinfo", "re");
	size_t n;
	struct xvm_accel_choice c;

	assert_non_null(f);
	n = fread(cpuinfo, 1, sizeof(cpuinfo) - 1, f);
	fclose(f);
	cpuinfo[n] = '\0';
	assert_int_equal(xvm_accel_choose(XVM_ACCEL_AUTO, NULL, NULL, &c, NULL), 0);
	print_message("host: %s\n", c.why);
	if (!xvm_cpuinfo_has_virt(cpuinfo)) {
		assert_false(c.kvm);
		assert_false(c.probed);
	}
}

/* The payload itself boots (under TCG), so a KVM failure is KVM's, not the payload's. */
static void test_probe_payload_boots_under_tcg(void **state)
{
	struct xerr e = {""};
	int r = xvm_accel_probe_guest("qemu-system-x86_64", "tcg", 20000, &e);

	print_message("tcg: %s\n", e.msg);
	assert_int_equal(r, 1);
}

/* Under -accel kvm on a host without vmx/svm the probe must give up within its timeout. */
static void test_probe_kvm_times_out_without_vmx(void **state)
{
	static char cpuinfo[65536];
	FILE *f = fopen("/proc/cpuinfo", "re");
	struct timespec t0, t1;
	struct xerr e = {""};
	size_t n;
	int r;

	assert_non_null(f);
	n = fread(cpuinfo, 1, sizeof(cpuinfo) - 1, f);
	fclose(f);
	cpuinfo[n] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = xvm_accel_probe_guest("qemu-system-x86_64", "kvm", XVM_ACCEL_PROBE_TIMEOUT_MS, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("kvm: %s\n", e.msg);
	assert_true(r == 0 || r == 1);
	assert_true(t1.tv_sec - t0.tv_sec <= XVM_ACCEL_PROBE_TIMEOUT_MS / 1000 + 2);
	if (!xvm_cpuinfo_has_virt(cpuinfo))
		assert_int_equal(r, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_cpuinfo_flags),
	    cmocka_unit_test(test_forced_modes_never_probe),
	    cmocka_unit_test(test_auto_without_vmx_is_tcg_unprobed),
	    cmocka_unit_test(test_auto_vmx_without_dev_kvm_is_tcg),
	    cmocka_unit_test(test_auto_probe_decides_and_is_cached),
	    cmocka_unit_test(test_damaged_cache_reprobes),
	    cmocka_unit_test(test_no_cache_dir_probes_each_time),
	    cmocka_unit_test(test_configure),
	    cmocka_unit_test(test_host_auto),
	    cmocka_unit_test(test_probe_payload_boots_under_tcg),
	    cmocka_unit_test(test_probe_kvm_times_out_without_vmx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

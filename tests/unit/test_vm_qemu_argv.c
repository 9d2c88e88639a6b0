/*
 * test_vm_qemu_argv.c - QEMU's argv and the guest kernel's command line (vm/qemu_argv.c,
 * vm/guest_cmdline.c), and what the qemu driver's boot() refuses before it forks: a kernel
 * command line over Linux's limit (which used to overflow a 4,200-byte slot in the root
 * supervisor) and a vm.qemu_binary that does not exist.
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
#include <unistd.h>

#include <cmocka.h>

#include "vm/guest_cmdline.h"
#include "vm/qemu_argv.h"

static char tmpdir[] = "/tmp/xenvm-test-qemu-argv-XXXXXX";
static char kernel[PATH_MAX], initrd[PATH_MAX];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	FILE *f;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/kernel", tmpdir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", tmpdir);
	f = fopen(kernel, "w");
	if (!f || fclose(f) != 0)
		return -1;
	f = fopen(initrd, "w");
	return f && fclose(f) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static struct xvm_spec spec(void)
{
	struct xvm_spec s = {.name = "vm0",
	                     .job_id = 42,
	                     .uid = 1000,
	                     .gid = 1000,
	                     .kernel = kernel,
	                     .initrd = initrd,
	                     .cmdline = "rw",
	                     .mem_bytes = 512ull << 20,
	                     .vcpus = 2,
	                     .state_dir = tmpdir,
	                     .ip_cidr = "10.83.0.10/24",
	                     .gateway = "10.83.0.1",
	                     .hostname = "node1"};
	return s;
}

static struct xvm_qemu_args args(const struct xvm_spec *s)
{
	struct xvm_qemu_args a = {.spec = s,
	                          .accel = "tcg",
	                          .kernel = "/img/kernel.vmlinux",
	                          .console = "/run/vm0/console.log",
	                          .agent_sock = "/run/vm0/.qemu-agent.sock",
	                          .tapfd = -1,
	                          .mac = NULL};
	return a;
}

/* The argument after `opt` (the first occurrence), or NULL. */
static const char *after(const struct xvm_argv *v, const char *opt)
{
	for (size_t i = 0; i + 1 < v->n; i++)
		if (strcmp(v->v[i], opt) == 0)
			return v->v[i + 1];
	return NULL;
}

static char *repeat(size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void whole_argv(void **st)
{
	struct xvm_spec s = spec();
	struct xvm_qemu_args a = args(&s);
	struct xvm_argv v = {0};
	struct xerr err = {""};

	(void)st;
	s.rootdisk = "/img/rootdisk";
	s.shares[0] = (struct xvm_share){"/home/alice", "/home/alice", false};
	s.n_shares = 1;
	a.tapfd = 7;
	a.mac = "52:54:00:53:00:0a";
	if (xvm_qemu_argv(&a, &v, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(v.v[0], "qemu-system-x86_64");
	assert_null(v.v[v.n]);
	assert_string_equal(after(&v, "-name"), "xenvm-job42-vm0,process=xvq-42-vm0");
	assert_string_equal(after(&v, "-m"), "512M");
	assert_string_equal(after(&v, "-smp"), "2");
	assert_string_equal(after(&v, "-kernel"), "/img/kernel.vmlinux");
	assert_string_equal(after(&v, "-append"),
	                    "rw quiet panic=-1 console=ttyS0 xenvm.hostname=node1 "
	                    "xenvm.ip=10.83.0.10/24 xenvm.gw=10.83.0.1 xenvm.9p=xs0@/home/alice");
	assert_string_equal(after(&v, "-serial"), "file:/run/vm0/console.log");
	assert_string_equal(after(&v, "-drive"),
	                    "file=/img/rootdisk,if=none,id=rd,format=raw,readonly=on");
	assert_string_equal(after(&v, "-netdev"), "tap,id=n0,fd=7");
	/* the guest's root is the job's user on the host (issue 14): QEMU drops to it, and a
	 * share's chown to another owner is not an error (the file stays the user's) */
	assert_string_equal(after(&v, "-runas"), "1000:1000");
	assert_string_equal(after(&v, "-fsdev"),
	                    "local,id=fs0,path=/home/alice,security_model=none");
	xvm_argv_free(&v);
	assert_null(v.v);
	/* --vm-mounts SRC:DST:ro: QEMU refuses the guest's writes, whatever its root does */
	s.shares[0].readonly = true;
	if (xvm_qemu_argv(&a, &v, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(after(&v, "-fsdev"),
	                    "local,id=fs0,path=/home/alice,security_model=none,readonly=on");
	xvm_argv_free(&v);
}

/* Root's VM has no -runas: QEMU 7.2 fails "Dropping privileges" to uid 0 (seen in check-vm). */
static void root_vm_no_runas(void **st)
{
	struct xvm_spec s = spec();
	struct xvm_qemu_args a = args(&s);
	struct xvm_argv v = {0};
	struct xerr err = {""};

	(void)st;
	s.uid = 0;
	s.gid = 0;
	assert_int_equal(xvm_qemu_argv(&a, &v, &err), 0);
	assert_null(after(&v, "-runas"));
	xvm_argv_free(&v);
}

/* vm.qemu_binary becomes argv[0] (execvp: a path, or a name in PATH). */
static void configured_binary(void **st)
{
	struct xvm_spec s = spec();
	struct xvm_qemu_args a = args(&s);
	struct xvm_argv v = {0};
	struct xerr err = {""};

	(void)st;
	s.qemu_binary = "/opt/qemu/bin/qemu-system-x86_64";
	assert_int_equal(xvm_qemu_argv(&a, &v, &err), 0);
	assert_string_equal(v.v[0], "/opt/qemu/bin/qemu-system-x86_64");
	xvm_argv_free(&v);
}

/* A ',' in a path would start another QEMU property: it is doubled (QEMU's escape). */
static void commas_escaped(void **st)
{
	struct xvm_spec s = spec();
	struct xvm_qemu_args a = args(&s);
	struct xvm_argv v = {0};
	struct xerr err = {""};

	(void)st;
	s.rootdisk = "/img/a,readonly=off,file=/etc/shadow";
	s.shares[0] = (struct xvm_share){"/srv/x,security_model=passthrough", "/srv/x", false};
	s.n_shares = 1;
	assert_int_equal(xvm_qemu_argv(&a, &v, &err), 0);
	assert_string_equal(after(&v, "-drive"), "file=/img/a,,readonly=off,,file=/etc/shadow,"
	                                         "if=none,id=rd,format=raw,readonly=on");
	assert_string_equal(after(&v, "-fsdev"),
	                    "local,id=fs0,path=/srv/x,,security_model=passthrough,"
	                    "security_model=none");
	xvm_argv_free(&v);
}

/* The longest line Linux takes (2047 bytes) is passed; one byte more is E2BIG, with why. */
static void cmdline_limit(void **st)
{
	struct xvm_spec s = spec();
	struct xerr err = {""};
	char *line, *img;
	size_t fixed;

	(void)st;
	s.cmdline = "";
	line = xvm_guest_cmdline(&s, "console=ttyS0", &err);
	assert_non_null(line);
	fixed = strlen(line);
	free(line);
	img = repeat(XVM_CMDLINE_MAX - 1 - fixed, 'a');
	s.cmdline = img;
	line = xvm_guest_cmdline(&s, "console=ttyS0", &err);
	if (!line)
		fail_msg("%s", err.msg);
	assert_int_equal(strlen(line), XVM_CMDLINE_MAX - 1);
	free(line);
	free(img);
	img = repeat(XVM_CMDLINE_MAX - fixed, 'a');
	s.cmdline = img;
	errno = 0;
	assert_null(xvm_guest_cmdline(&s, "console=ttyS0", &err));
	assert_int_equal(errno, E2BIG);
	assert_non_null(strstr(err.msg, "would be 2048 bytes, Linux takes at most 2047"));
	free(img);
}

/* 4,150 bytes (an empty failure reason before) and 10 MB (vmd's segfault): E2BIG, named. */
static void cmdline_too_long(void **st)
{
	static const size_t sizes[] = {4150, 10u << 20};

	(void)st;
	for (size_t i = 0; i < 2; i++) {
		struct xvm_spec s = spec();
		struct xvm_qemu_args a = args(&s);
		struct xvm_argv v = {0};
		struct xerr err = {""};
		char want[128], *img = repeat(sizes[i], 'x');

		s.cmdline = img;
		errno = 0;
		assert_int_equal(xvm_qemu_argv(&a, &v, &err), -1);
		assert_int_equal(errno, E2BIG);
		snprintf(want, sizeof(want), "(the image's cmdline is %zu of them)", sizes[i]);
		assert_non_null(strstr(err.msg, want));
		assert_non_null(strstr(err.msg, "Linux takes at most 2047"));
		assert_null(v.v);
		xvm_argv_free(&v);
		free(img);
	}
}

/* What the host adds must stay one parameter each: no space, comma or control character. */
static void words_checked(void **st)
{
	struct xerr err = {""};
	struct xvm_spec s;

	(void)st;
	s = spec();
	s.shares[0] = (struct xvm_share){"/home/a b", "/home/a init=/bin/sh", false};
	s.n_shares = 1;
	errno = 0;
	assert_null(xvm_guest_cmdline(&s, "console=ttyS0", &err));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "shared directory '/home/a init=/bin/sh' has a space, comma "
	                             "or control character: it cannot go on the guest kernel's "
	                             "command line");
	s = spec();
	s.hostname = "n1\nx";
	assert_null(xvm_guest_cmdline(&s, "console=ttyS0", &err));
	assert_int_equal(errno, EINVAL);
	s = spec();
	s.cmdline = "quiet\ninit=/bin/sh";
	assert_null(xvm_guest_cmdline(&s, "console=ttyS0", &err));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "the image's kernel command line has a control character "
	                             "(byte 6 is 0x0a)");
}

static void bad_spec(void **st)
{
	struct xvm_spec s = spec();
	struct xvm_qemu_args a = args(&s);
	struct xvm_argv v = {0};
	struct xerr err = {""};

	(void)st;
	s.n_shares = XVM_MAX_SHARES + 1;
	for (size_t i = 0; i < s.n_shares && i < XVM_MAX_SHARES; i++)
		s.shares[i] = (struct xvm_share){"/a", "/a", false};
	assert_int_equal(xvm_qemu_argv(&a, &v, &err), -1);
	assert_int_equal(errno, EINVAL);
	s = spec();
	s.pci_bdf = "0000:3b:00.1,x=y";
	assert_int_equal(xvm_qemu_argv(&a, &v, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "VF PCI address '0000:3b:00.1,x=y': expected dddd:bb:dd.f");
	s = spec();
	a.tapfd = 3; /* a NIC needs its MAC */
	assert_int_equal(xvm_qemu_argv(&a, &v, &err), -1);
	assert_int_equal(errno, EINVAL);
	xvm_argv_free(&v);
}

/* boot() refuses a missing vm.qemu_binary at once, naming the path and the option. */
static void boot_missing_binary(void **st)
{
	struct xvm_spec s = spec();
	struct xvm *vm = (struct xvm *)0x1;
	struct xerr err = {""};

	(void)st;
	s.qemu_binary = "/nonexistent/bin/qemu-system-x86_64";
	errno = 0;
	assert_int_equal(xvm_driver_qemu.boot(&s, &vm, &err), -1);
	assert_null(vm);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err.msg, "QEMU binary /nonexistent/bin/qemu-system-x86_64 (xenvm.yaml "
	                             "vm.qemu_binary): No such file or directory");
	s.qemu_binary = "no-such-qemu-xenvm";
	assert_int_equal(xvm_driver_qemu.boot(&s, &vm, &err), -1);
	assert_string_equal(err.msg, "QEMU binary no-such-qemu-xenvm (xenvm.yaml "
	                             "vm.qemu_binary) not found in PATH");
}

/* boot() refuses a command line over Linux's limit before it forks (E2BIG: the job's fault). */
static void boot_cmdline_too_long(void **st)
{
	struct xvm_spec s = spec();
	struct xvm *vm = (struct xvm *)0x1;
	struct xerr err = {""};
	char *img = repeat(4150, 'x'), status[PATH_MAX];

	(void)st;
	s.qemu_binary = "/bin/true";
	s.cmdline = img;
	errno = 0;
	assert_int_equal(xvm_driver_qemu.boot(&s, &vm, &err), -1);
	assert_null(vm);
	assert_int_equal(errno, E2BIG);
	assert_non_null(strstr(err.msg, "(the image's cmdline is 4150 of them)"));
	/* nothing started: no control socket, no status */
	snprintf(status, sizeof(status), "%s/status", tmpdir);
	assert_int_equal(access(status, F_OK), -1);
	free(img);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(whole_argv),          cmocka_unit_test(root_vm_no_runas),
	    cmocka_unit_test(configured_binary),   cmocka_unit_test(commas_escaped),
	    cmocka_unit_test(cmdline_limit),       cmocka_unit_test(cmdline_too_long),
	    cmocka_unit_test(words_checked),       cmocka_unit_test(bad_spec),
	    cmocka_unit_test(boot_missing_binary), cmocka_unit_test(boot_cmdline_too_long),
	};

	return cmocka_run_group_tests_name("vm_qemu_argv", tests, group_setup, group_teardown);
}

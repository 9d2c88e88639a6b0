/*
 * test_vm_nosuid.c - the seccomp filter QEMU runs under (vm/nosuid.c): every way to give a
 * file a setuid/setgid bit or make a device node is EPERM, what QEMU needs still works.  Each
 * case runs in a child (the filter cannot be removed once installed).
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
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/nosuid.h"

static char dir[] = "/tmp/xenvm-test-nosuid-XXXXXX";

/* The child's checks; its exit status is the number of the first that failed (0: all held). */
static int child(void)
{
	char f[128], g[128], h[128], n[128];
	struct stat st;
	int fd;

	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(g, sizeof(g), "%s/g", dir);
	snprintf(h, sizeof(h), "%s/h", dir);
	snprintf(n, sizeof(n), "%s/fifo", dir);
	if (xvm_nosuid_filter() < 0)
		return 1;
	fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0755); /* a plain mode: allowed */
	if (fd < 0)
		return 2;
	if (fchmod(fd, 04755) == 0 || errno != EPERM)
		return 3;
	if (fchmod(fd, 0700) < 0)
		return 4;
	close(fd);
	if (chmod(f, 04755) == 0 || errno != EPERM || chmod(f, 02755) == 0 || errno != EPERM)
		return 5;
	if (fchmodat(AT_FDCWD, f, 06755, 0) == 0 || errno != EPERM)
		return 6;
	if (open(g, O_WRONLY | O_CREAT | O_CLOEXEC, 04755) >= 0 || errno != EPERM)
		return 7;
	if (syscall(SYS_openat, AT_FDCWD, g, O_WRONLY | O_CREAT | O_CLOEXEC, 02755) >= 0 ||
	    errno != EPERM)
		return 8;
	if (creat(h, 04700) >= 0 || errno != EPERM)
		return 9;
	if (mknod(h, S_IFCHR | 0600, makedev(1, 3)) == 0 || errno != EPERM)
		return 10;
	if (mknodat(AT_FDCWD, h, S_IFBLK | 0600, makedev(8, 0)) == 0 || errno != EPERM)
		return 11;
	if (mknod(h, S_IFREG | 04755, 0) == 0 || errno != EPERM)
		return 12;
	if (mknod(n, S_IFIFO | 0600, 0) < 0) /* a FIFO is no device */
		return 13;
	if (syscall(SYS_openat2, AT_FDCWD, g, NULL, 0) >= 0 || errno != ENOSYS)
		return 14;
	if (stat(f, &st) < 0 || (st.st_mode & 07777) != 0700 || access(g, F_OK) == 0)
		return 15;
	return 0;
}

static void filter_refuses_setid_and_devices(void **state)
{
	pid_t pid;
	int status = 0;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Without the filter the same calls succeed (as root: a device node too), so the test can fail. */
static void without_filter_the_bits_stick(void **state)
{
	char f[128];
	struct stat st;
	int fd;

	(void)state;
	snprintf(f, sizeof(f), "%s/plain", dir);
	fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0700);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 04755), 0);
	close(fd);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(filter_refuses_setid_and_devices),
	    cmocka_unit_test(without_filter_the_bits_stick),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

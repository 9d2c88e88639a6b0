/*
 * test_xl_dmuser.c - the note that tells xenvm-xen-dm whom the 9pfs backend QEMU runs as
 * (xen/xl_dmuser.c): written and read back, and every note the wrapper must not honour refused
 * (another mode, uid 0, garbage, a name that is a path).  The wrapper and QEMU as the user in
 * dom0 are tests/xen/test_xen_slurm.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "xen/xl_dmuser.h"

struct t {
	char dir[64];
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_xl_dmuser.XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

/* Write FILE in the test directory with CONTENT and MODE. */
static void put(const struct t *t, const char *name, const char *content, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_round_trip(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	struct stat st;
	char path[256];
	uid_t uid = 0;
	gid_t gid = 0;

	assert_int_equal(xl_dmuser_write_in(t->dir, "xenvm-job7-vm0", 1002, 1003, &err), 0);
	snprintf(path, sizeof(path), "%s/xenvm-job7-vm0", t->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(xl_dmuser_read_in(t->dir, "xenvm-job7-vm0", &uid, &gid, &err), 1);
	assert_int_equal(uid, 1002);
	assert_int_equal(gid, 1003);
	/* a second write replaces the first (a crash left one) */
	assert_int_equal(xl_dmuser_write_in(t->dir, "xenvm-job7-vm0", 1004, 1004, &err), 0);
	assert_int_equal(xl_dmuser_read_in(t->dir, "xenvm-job7-vm0", &uid, &gid, &err), 1);
	assert_int_equal(uid, 1004);
	xl_dmuser_remove_in(t->dir, "xenvm-job7-vm0");
	assert_int_equal(xl_dmuser_read_in(t->dir, "xenvm-job7-vm0", &uid, &gid, &err), 0);
}

static void test_refused(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	uid_t uid = 77;
	gid_t gid = 77;

	/* no note: not a xenvm domain, or root's VM */
	assert_int_equal(xl_dmuser_read_in(t->dir, "other", &uid, &gid, &err), 0);
	/* a name that is a path is never looked up, nor written */
	assert_int_equal(xl_dmuser_read_in(t->dir, "../etc", &uid, &gid, &err), 0);
	assert_int_equal(xl_dmuser_read_in(t->dir, "", &uid, &gid, &err), 0);
	assert_int_equal(xl_dmuser_write_in(t->dir, "a/b", 1002, 1002, &err), -1);
	assert_int_equal(errno, EINVAL);
	/* readable or writable by others: not root's own */
	put(t, "loose", "1002 1002\n", 0644);
	assert_int_equal(xl_dmuser_read_in(t->dir, "loose", &uid, &gid, &err), -1);
	assert_non_null(strstr(err.msg, "not root's 0600 file"));
	/* root, garbage, trailing bytes, out of range */
	const char *bad[] = {"0 0\n",         "1002\n", "x y\n",          "1002 1002",
	                     "1002 1002 5\n", "-1 5\n", "4294967295 1\n", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(t, "bad", bad[i], 0600);
		err.msg[0] = '\0';
		assert_int_equal(xl_dmuser_read_in(t->dir, "bad", &uid, &gid, &err), -1);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(uid, 77); /* untouched on a refusal */
	/* a symlink is not followed */
	put(t, "real", "1002 1002\n", 0600);
	char from[256], to[256];
	snprintf(from, sizeof(from), "%s/real", t->dir);
	snprintf(to, sizeof(to), "%s/link", t->dir);
	assert_int_equal(symlink(from, to), 0);
	assert_int_equal(xl_dmuser_read_in(t->dir, "link", &uid, &gid, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

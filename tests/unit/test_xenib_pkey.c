/*
 * test_xenib_pkey.c - job partitions in an OpenSM partitions file (xenib/pkey_opensm.c):
 * the exact text produced, idempotence, the site's own lines kept byte for byte, concurrent
 * editors, and the SIGHUP that makes OpenSM reread the file.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/atomic_file.h"
#include "xenib/pkey.h"

struct t {
	char dir[256];
	char file[PATH_MAX];
	char pid_file[PATH_MAX];
	struct xenib_opensm o;
};

static const char site[] = "# site partitions\n"
                           "Default=0x7fff, ipoib : ALL=full ;\n"
                           "storage=0x0010, ipoib : 0x0002c90300001111=full,\n"
                           "    0x0002c90300002222=full ;\n";

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/xenib-pkey.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->file, sizeof(t->file), "%s/partitions.conf", t->dir);
	snprintf(t->pid_file, sizeof(t->pid_file), "%s/opensm.pid", t->dir);
	t->o.partitions = t->file;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	xenvm_remove_tree(t->dir);
	free(t);
	return 0;
}

static void put(const char *path, const char *text)
{
	assert_int_equal(
	    xenvm_write_file_atomic(path, text, strlen(text), 0644, (uid_t)-1, (gid_t)-1), 0);
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	if (getdelim(&buf, &cap, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static void assert_text(const char *path, const char *want)
{
	char *s = slurp(path);

	assert_string_equal(s, want);
	free(s);
}

static const uint64_t g2[] = {UINT64_C(0x0200e6f978c22001), UINT64_C(0x0200e6f978c22003)};

static void test_line(void **state)
{
	char *l = xenib_opensm_line(42, "node01", 0x0123, g2, 2);

	(void)state;
	assert_string_equal(l, "xenvm_job_42_node01=0x0123, ipoib : 0x0200e6f978c22001=full, "
	                       "0x0200e6f978c22003=full ;\n");
	free(l);
	assert_null(xenib_opensm_line(42, "node01", 0, g2, 2));
	assert_int_equal(errno, EINVAL);
	assert_null(xenib_opensm_line(42, "node01", 0x8000, g2, 2));
	assert_null(xenib_opensm_line(42, "node01", 1, g2, 0));
	assert_null(xenib_opensm_line(0, "node01", 1, g2, 1));
}

static void test_add_remove(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	struct stat st;
	char want[2048];

	put(t->file, site);
	assert_int_equal(chmod(t->file, 0640), 0);
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 42, "node01", 0x0123, g2, 2, &err), 0);
	snprintf(want, sizeof(want),
	         "%sxenvm_job_42_node01=0x0123, ipoib : 0x0200e6f978c22001=full, "
	         "0x0200e6f978c22003=full ;\n",
	         site);
	assert_text(t->file, want);
	assert_int_equal(stat(t->file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640); /* the site's mode is kept */

	/* again, with other GUIDs: still one line for the job, now the new one */
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 42, "node01", 0x0123, g2 + 1, 1, &err), 0);
	snprintf(want, sizeof(want),
	         "%sxenvm_job_42_node01=0x0123, ipoib : 0x0200e6f978c22003=full ;\n", site);
	assert_text(t->file, want);

	/* job 4 is not job 42, and job 420 is not job 42 */
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 4, "node01", 0x0124, g2, 1, &err), 0);
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 420, "node01", 0x0125, g2, 1, &err), 0);
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 42, "node01", &err), 0);
	snprintf(want, sizeof(want),
	         "%sxenvm_job_4_node01=0x0124, ipoib : 0x0200e6f978c22001=full ;\n"
	         "xenvm_job_420_node01=0x0125, ipoib : 0x0200e6f978c22001=full ;\n",
	         site);
	assert_text(t->file, want);
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 4, "node01", &err), 0);
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 420, "node01", &err), 0);
	assert_text(t->file, site); /* byte for byte what the site wrote */

	/* two nodes of one job: a line each; one node's Epilog leaves the other's */
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 43, "node01", 0x0123, g2, 1, &err), 0);
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 43, "node02", 0x0123, g2 + 1, 1, &err), 0);
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 43, "node01", &err), 0);
	snprintf(want, sizeof(want),
	         "%sxenvm_job_43_node02=0x0123, ipoib : 0x0200e6f978c22003=full ;\n", site);
	assert_text(t->file, want);
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 43, "node02", &err), 0);
	assert_text(t->file, site);
	/* a node name that cannot be part of a partition name */
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 43, "node 1", &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(xenib_opensm_line(43, "a=b", 1, g2, 1));
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 420, "node01", &err),
	                 0); /* the Epilog, twice */
	assert_text(t->file, site);
}

static void test_missing_and_unterminated(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};

	/* no file yet: created with just the job */
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 5, "node01", 0x0001, g2, 1, &err), 0);
	assert_text(t->file, "xenvm_job_5_node01=0x0001, ipoib : 0x0200e6f978c22001=full ;\n");
	/* removing from a missing file is nothing to do */
	assert_int_equal(unlink(t->file), 0);
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 5, "node01", &err), 0);
	assert_int_equal(access(t->file, F_OK), -1);
	/* a site file whose last line has no newline: ours starts on its own line */
	put(t->file, "Default=0x7fff : ALL=full ;");
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 6, "node01", 0x0002, g2, 1, &err), 0);
	assert_text(t->file, "Default=0x7fff : ALL=full ;\n"
	                     "xenvm_job_6_node01=0x0002, ipoib : 0x0200e6f978c22001=full ;\n");
}

static void test_errors(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	struct xenib_opensm rel = {.partitions = "partitions.conf"};
	char want[PATH_MAX + 64];

	assert_int_equal(xenib_pkey_opensm.add(&t->o, 7, "node01", 0, g2, 1, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "job 7 node node01: invalid partition (pkey 0x0000, 1 GUIDs)");
	assert_int_equal(xenib_pkey_opensm.add(&rel, 7, "node01", 1, g2, 1, &err), -1);
	assert_string_equal(err.msg, "OpenSM partitions file: not an absolute path");
	/* the file is a directory */
	assert_int_equal(mkdir(t->file, 0755), 0);
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 7, "node01", 1, g2, 1, &err), -1);
	snprintf(want, sizeof(want), "%s: Is a directory", t->file);
	assert_string_equal(err.msg, want);
	/* its directory does not exist: no lock file */
	snprintf(t->file, sizeof(t->file), "%s/nodir/partitions.conf", t->dir);
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 7, "node01", &err), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "%s.lock: cannot open lock file: No such file or directory",
	         t->file);
	assert_string_equal(err.msg, want);
}

static int hup_fd = -1;

/* One byte per SIGHUP on the report pipe (write(2) is async-signal-safe). */
static void on_hup(int sig)
{
	(void)sig;
	if (write(hup_fd, "H", 1) != 1)
		_exit(3);
}

/* A stand-in OpenSM: reports every SIGHUP it gets on a pipe until killed. */
static pid_t fake_opensm(int *report)
{
	int pfd[2], ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		hup_fd = pfd[1];
		signal(SIGHUP, on_hup);
		if (write(ready[1], "R", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*report = pfd[0];
	return pid;
}

/* Did a SIGHUP report arrive within `ms`?  (One report is consumed.) */
static bool got_hup(int report, int ms)
{
	struct pollfd p = {.fd = report, .events = POLLIN};
	char c;

	return poll(&p, 1, ms) == 1 && read(report, &c, 1) == 1;
}

static void test_hup(void **state)
{
	struct t *t = *state;
	struct xerr err = {{0}};
	char pidtext[32], want[PATH_MAX + 64];
	int report = -1, status = 0;
	pid_t pid = fake_opensm(&report);

	snprintf(pidtext, sizeof(pidtext), "%d\n", (int)pid);
	put(t->pid_file, pidtext);
	t->o.pid_file = t->pid_file;
	put(t->file, site);
	/* each change is followed by exactly one HUP; an edit that changes nothing sends none */
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 8, "node01", 0x0008, g2, 2, &err), 0);
	assert_true(got_hup(report, 5000));
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 8, "node01", 0x0008, g2, 2, &err), 0);
	assert_false(got_hup(report, 200));
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 8, "node01", &err), 0);
	assert_true(got_hup(report, 5000));
	assert_int_equal(xenib_pkey_opensm.remove(&t->o, 8, "node01", &err), 0);
	assert_false(got_hup(report, 200));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(report);

	/* no OpenSM pid file: the edit stands, the error says why OpenSM was not told */
	assert_int_equal(unlink(t->pid_file), 0);
	assert_int_equal(xenib_pkey_opensm.add(&t->o, 9, "node01", 0x0009, g2, 1, &err), -1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", t->pid_file);
	assert_string_equal(err.msg, want);
	snprintf(want, sizeof(want),
	         "%sxenvm_job_9_node01=0x0009, ipoib : 0x0200e6f978c22001=full ;\n", site);
	assert_text(t->file, want);
}

/* 16 Prologs add their jobs at once, then 16 Epilogs remove them at once. */
static void race(struct t *t, bool add)
{
	enum { N = 16 };
	pid_t pids[N];

	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct xerr err = {{0}};
			uint64_t g = UINT64_C(0x0200000000000000) + (uint64_t)i;
			uint32_t job = 100 + (uint32_t)i;

			_exit(
			    (add ? xenib_pkey_opensm.add(&t->o, job, "node01", 0x0100, &g, 1, &err)
			         : xenib_pkey_opensm.remove(&t->o, job, "node01", &err)) == 0
			        ? 0
			        : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		int status = 0;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

static void test_concurrent_edits(void **state)
{
	struct t *t = *state;
	char *s;

	put(t->file, site);
	race(t, true);
	s = slurp(t->file);
	assert_int_equal(strncmp(s, site, strlen(site)), 0);
	for (int i = 0; i < 16; i++) {
		char line[128];
		const char *at;

		snprintf(line, sizeof(line),
		         "xenvm_job_%d_node01=0x0100, ipoib : 0x02000000000000%02x=full ;\n",
		         100 + i, i);
		at = strstr(s, line);
		assert_non_null(at);
		assert_null(strstr(at + 1, line)); /* exactly once */
	}
	assert_int_equal(strlen(s),
	                 strlen(site) + 16 * strlen("xenvm_job_100_node01=0x0100, ipoib : "
	                                            "0x0200000000000000=full ;\n"));
	free(s);
	race(t, false);
	assert_text(t->file, site);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line),
	    cmocka_unit_test_setup_teardown(test_add_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_and_unterminated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_edits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_node_sharepolicy.c - node/sharepolicy.c: which directories a job's VM may get, table-
 * driven over a temporary tree with owners and modes set (the test runs as root, as the Prolog
 * does - which is why the policy cannot ask access(2)).
 */
#include <errno.h>
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

#include "node/sharepolicy.h"

#define U 4001  /* the job's user */
#define G 4001  /* their primary group */
#define G2 4002 /* a supplementary group */
#define OTHER 4009

static char root[64]; /* short: the paths built from it cannot be cut */

static void mk(const char *rel, uid_t uid, gid_t gid, mode_t mode)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chown(p, uid, gid), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **st)
{
	char p[PATH_MAX];

	(void)st;
	snprintf(root, sizeof(root), "/tmp/xvm-sharepolicy.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	chmod(root, 0755);
	mk("home", 0, 0, 0755);
	mk("home/u", U, G, 0700);
	mk("home/u/proj", U, G, 0755);
	mk("home/other", OTHER, OTHER, 0755);
	mk("home/other/open", OTHER, OTHER, 0777);
	mk("scratch", 0, 0, 01777);
	mk("scratch/pub", 0, 0, 01777);
	mk("scratch/grp", OTHER, G2, 02775);
	mk("scratch/grp-ro", OTHER, G2, 0755);
	mk("scratch/other", OTHER, OTHER, 0755);
	mk("scratch/state", 0, 0, 0755);
	mk("scratch/state/job", 0, 0, 0755);
	mk("notallowed", U, G, 0755);
	snprintf(p, sizeof(p), "%s/home/u/link-to-other", root);
	assert_int_equal(symlink("../other", p), 0);
	snprintf(p, sizeof(p), "%s/home/u/file", root);
	fclose(fopen(p, "w"));
	return 0;
}

static int teardown(void **st)
{
	char cmd[PATH_MAX + 16];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void table(void **st)
{
	static const gid_t groups[] = {G2};
	static const struct {
		const char *path; /* relative to root, or absolute when it starts with '/' */
		enum xvm_share_kind kind;
		int err; /* 0: shared */
		const char *why;
	} cases[] = {
	    {"home/u", XVM_SHARE_USER, 0, NULL},
	    {"home/u/proj", XVM_SHARE_USER, 0, NULL},
	    {"scratch/grp", XVM_SHARE_USER, 0, NULL}, /* group-writable, user in group */
	    {"scratch/pub", XVM_SHARE_USER, 0, NULL}, /* world-writable */
	    /* above the node's state directory: sharing it would carry the state along */
	    {"scratch", XVM_SHARE_USER, EPERM, "holds or is below the node's"},
	    {"home/other/open", XVM_SHARE_USER, EPERM, "not under a directory the site allows"},
	    {"home/u/link-to-other", XVM_SHARE_USER, EPERM, "not under a directory"},
	    {"scratch/grp-ro", XVM_SHARE_USER, EACCES, "is not writable by uid 4001"},
	    {"scratch/other", XVM_SHARE_USER, EACCES, "belongs to uid 4009"},
	    {"notallowed", XVM_SHARE_USER, EPERM, "not under a directory the site allows"},
	    {"notallowed", XVM_SHARE_SITE, 0, NULL},
	    {"scratch/state/job", XVM_SHARE_USER, EPERM, "the node's"},
	    {"scratch/state", XVM_SHARE_SITE, EPERM, "the node's"},
	    {"missing", XVM_SHARE_USER, ENOENT, "No such file"},
	    {"home/u/file", XVM_SHARE_USER, ENOTDIR, "not a directory"},
	    {"/", XVM_SHARE_USER, EPERM, "it is the root directory"},
	    {"/", XVM_SHARE_SITE, EPERM, "it is the root directory"},
	    {"/etc", XVM_SHARE_USER, EPERM, "it is a system directory (/etc)"},
	    {"/etc/ssl", XVM_SHARE_SITE, EPERM, "system directory (/etc)"},
	    {"/proc", XVM_SHARE_SITE, EPERM, "system directory (/proc)"},
	    {"/sys", XVM_SHARE_USER, EPERM, "system directory"},
	    {"/dev", XVM_SHARE_USER, EPERM, "system directory"},
	    {"/run", XVM_SHARE_USER, EPERM, "system directory"},
	    {"/usr", XVM_SHARE_SITE, EPERM, "system directory"},
	    {"/var/tmp", XVM_SHARE_SITE, EPERM, "system directory (/var)"},
	    {"/boot", XVM_SHARE_SITE, EPERM, "system directory"},
	    {"relative", XVM_SHARE_USER, EINVAL, "not an absolute path"},
	};
	char home[PATH_MAX], scratch[PATH_MAX], state[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	const char *allowed[] = {home, scratch};
	const char *never[] = {state, "/nonexistent/cache"};
	struct xvm_share_policy pol = {allowed, 2, never, 2};
	struct xvm_share_who who = {U, G, groups, 1};
	struct xerr why;

	(void)st;
	if (geteuid() != 0)
		fail_msg("test_node_sharepolicy needs root (it sets owners)");
	snprintf(home, sizeof(home), "%s/home/u", root);
	snprintf(scratch, sizeof(scratch), "%s/scratch", root);
	snprintf(state, sizeof(state), "%s/scratch/state", root);
	/* the site allows /scratch: scratch/state is the node's, below an allowed root */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		if (cases[i].path[0] == '/' || !strcmp(cases[i].path, "relative"))
			snprintf(path, sizeof(path), "%s", cases[i].path);
		else
			snprintf(path, sizeof(path), "%s/%s", root, cases[i].path);
		errno = 0;
		why.msg[0] = '\0';
		rc = xvm_share_check(&pol, &who, cases[i].kind, path, real, &why);
		if (cases[i].err == 0) {
			if (rc != 0)
				fail_msg("%s: refused: %s", cases[i].path, why.msg);
			continue;
		}
		if (rc != -1 || errno != cases[i].err || !strstr(why.msg, cases[i].why))
			fail_msg("%s (%s): rc %d errno %d why '%s'; want errno %d and '%s'",
			         cases[i].path, cases[i].kind == XVM_SHARE_SITE ? "site" : "user",
			         rc, errno, why.msg, cases[i].err, cases[i].why);
	}
	/* Not in the group: the group-writable directory is refused. */
	who.n_groups = 0;
	snprintf(path, sizeof(path), "%s/scratch/grp", root);
	assert_int_equal(xvm_share_check(&pol, &who, XVM_SHARE_USER, path, real, &why), -1);
	assert_int_equal(errno, EACCES);
	/* No allowed root at all: the reason says so. */
	pol.n_allowed = 0;
	snprintf(path, sizeof(path), "%s/home/u", root);
	assert_int_equal(xvm_share_check(&pol, &who, XVM_SHARE_USER, path, real, &why), -1);
	assert_non_null(strstr(why.msg, "(none)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

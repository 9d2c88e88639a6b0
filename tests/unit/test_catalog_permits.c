/*
 * test_catalog_permits.c - xenvm_image_permits() (lib/catalog_permits.c), with the uid, gid and
 * names of whoever runs the tests (no users or groups are created).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/catalog.h"

#define NO_USER "xenvm-no-such-user"
#define NO_GROUP "xenvm-no-such-group"

static char me[256], mygroup[256], myuid[32], mygid[32];

static int group_setup(void **state)
{
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = getgrgid(getgid());

	(void)state;
	if (!pw || !gr) {
		fprintf(stderr, "the uid/gid running the tests needs a passwd and group entry\n");
		return -1;
	}
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	snprintf(mygroup, sizeof(mygroup), "%s", gr->gr_name);
	snprintf(myuid, sizeof(myuid), "%u", (unsigned)getuid());
	snprintf(mygid, sizeof(mygid), "%u", (unsigned)getgid());
	return 0;
}

/* An image with the given allow lists (NULL-terminated arrays, NULL for none). */
static struct xenvm_image image(char **users, char **groups, char **accounts, char **partitions)
{
	struct xenvm_image img;
	size_t n;

	memset(&img, 0, sizeof(img));
	img.name = "img";
#define SET(list, field)                                                                           \
	for (n = 0; list && list[n]; n++)                                                          \
		;                                                                                  \
	img.allow.field = list;                                                                    \
	img.allow.n_##field = n
	SET(users, users);
	SET(groups, groups);
	SET(accounts, accounts);
	SET(partitions, partitions);
#undef SET
	return img;
}

static struct xenvm_requester self(const char *account, const char *partition)
{
	return (struct xenvm_requester){.uid = getuid(),
	                                .gid = getgid(),
	                                .user = NULL,
	                                .account = account,
	                                .partition = partition};
}

static void permits(const struct xenvm_image *img, const struct xenvm_requester *who)
{
	struct xerr err = {""};

	if (xenvm_image_permits(img, who, &err) != 0)
		fail_msg("refused: %s", err.msg);
}

static void refuses(const struct xenvm_image *img, const struct xenvm_requester *who,
                    const char *want)
{
	struct xerr err = {""};

	errno = 0;
	if (xenvm_image_permits(img, who, &err) != -1)
		fail_msg("permitted, want \"%s\"", want);
	assert_int_equal(errno, EACCES);
	assert_string_equal(err.msg, want);
}

static void test_open_image(void **state)
{
	struct xenvm_image img = image(NULL, NULL, NULL, NULL);
	struct xenvm_requester who = self(NULL, NULL);

	(void)state;
	permits(&img, &who);
	who.uid = 4000000123u; /* not even a known user */
	permits(&img, &who);
}

static void test_users(void **state)
{
	char *mine[] = {"alice", me, NULL}, *by_uid[] = {myuid, NULL}, *others[] = {NO_USER, NULL};
	struct xenvm_image img = image(mine, NULL, NULL, NULL);
	struct xenvm_requester who = self(NULL, NULL);
	char want[1024];

	(void)state;
	permits(&img, &who); /* name looked up from the uid */
	who.user = me;
	permits(&img, &who); /* name given */
	img = image(by_uid, NULL, NULL, NULL);
	who.user = NULL;
	permits(&img, &who); /* numeric uid in the list */
	img = image(others, NULL, NULL, NULL);
	snprintf(want, sizeof(want),
	         "image 'img' is restricted to users " NO_USER "; user %s (uid %s) is in none of "
	         "them",
	         me, myuid);
	refuses(&img, &who, want);
	/* a given name is believed over the uid's */
	who.user = NO_USER;
	permits(&img, &who);
}

static void test_groups(void **state)
{
	char *users[] = {"alice", "bob", NULL}, *nogroup[] = {NO_GROUP, NULL},
	     *mine[] = {NO_GROUP, mygroup, NULL}, *by_gid[] = {mygid, NULL};
	struct xenvm_image img = image(users, nogroup, NULL, NULL);
	struct xenvm_requester who = self(NULL, NULL);
	char want[1024];

	(void)state;
	snprintf(want, sizeof(want),
	         "image 'img' is restricted to users alice,bob and groups " NO_GROUP
	         "; user %s (uid %s) is in none of them",
	         me, myuid);
	refuses(&img, &who, want);
	img = image(users, mine, NULL, NULL);
	permits(&img, &who);
	img = image(NULL, by_gid, NULL, NULL);
	permits(&img, &who);
	/* the job's gid counts even when it is not the user's primary group */
	img = image(NULL, by_gid, NULL, NULL);
	who.uid = 4000000123u; /* no passwd entry: groups are just the gid */
	who.gid = getgid();
	if (!getpwuid(who.uid))
		permits(&img, &who);
}

static void test_accounts_partitions(void **state)
{
	char *accounts[] = {"physics", "chem", NULL}, *parts[] = {"gpu", NULL};
	struct xenvm_image img = image(NULL, NULL, accounts, NULL);
	struct xenvm_requester who = self("chem", NULL);
	char want[1024];

	(void)state;
	permits(&img, &who);
	who.account = "bio";
	snprintf(
	    want, sizeof(want),
	    "image 'img' is restricted to accounts physics,chem; user %s (uid %s, account bio) "
	    "is in none of them",
	    me, myuid);
	refuses(&img, &who, want);
	who.account = NULL;
	snprintf(want, sizeof(want),
	         "image 'img' is restricted to accounts physics,chem; user %s (uid %s, account "
	         "(none)) is in none of them",
	         me, myuid);
	refuses(&img, &who, want);

	img = image(NULL, NULL, NULL, parts);
	who = self(NULL, "gpu");
	permits(&img, &who);
	who.partition = "debug,gpu"; /* submitted to several: any allowed one will do */
	permits(&img, &who);
	who.partition = "gpu,debug";
	permits(&img, &who);
	who.partition = "gpux,xgpu,gp,";
	snprintf(want, sizeof(want),
	         "image 'img' is restricted to partitions gpu; user %s (uid %s, partition "
	         "gpux,xgpu,gp,) is in none of them",
	         me, myuid);
	refuses(&img, &who, want);
	who.partition = NULL;
	snprintf(want, sizeof(want),
	         "image 'img' is restricted to partitions gpu; user %s (uid %s, partition (none)) "
	         "is in none of them",
	         me, myuid);
	refuses(&img, &who, want);
}

static void test_all_rules(void **state)
{
	char *users[] = {NO_USER, NULL}, *groups[] = {NO_GROUP, NULL}, *accounts[] = {"a1", NULL},
	     *parts[] = {"p1", "p2", NULL};
	struct xenvm_image img = image(users, groups, accounts, parts);
	struct xenvm_requester who = self("a2", "p3");
	char want[1024];

	(void)state;
	snprintf(
	    want, sizeof(want),
	    "image 'img' is restricted to users " NO_USER ", groups " NO_GROUP
	    ", accounts a1 and partitions p1,p2; user %s (uid %s, account a2, partition p3) is "
	    "in none of them",
	    me, myuid);
	refuses(&img, &who, want);
	/* any one list admits */
	who.partition = "p2";
	permits(&img, &who);
	who = self("a1", "p3");
	permits(&img, &who);
}

static void test_unknown_uid(void **state)
{
	char *users[] = {"alice", NULL};
	struct xenvm_image img = image(users, NULL, NULL, NULL);
	struct xenvm_requester who = self(NULL, NULL);

	(void)state;
	/* an id no account has (searched, so the test never depends on the machine's users) */
	for (who.uid = 4000000123u; getpwuid(who.uid); who.uid++)
		;
	char want[160];
	snprintf(
	    want, sizeof(want),
	    "image 'img' is restricted to users alice; uid %u (no user name) is in none of them",
	    (unsigned)who.uid);
	refuses(&img, &who, want);
}

static void test_bad_args(void **state)
{
	struct xenvm_image img = image(NULL, NULL, NULL, NULL);
	struct xenvm_requester who = self(NULL, NULL);
	struct xerr err = {""};

	(void)state;
	errno = 0;
	assert_int_equal(xenvm_image_permits(NULL, &who, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "xenvm_image_permits: invalid argument");
	errno = 0;
	assert_int_equal(xenvm_image_permits(&img, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_image), cmocka_unit_test(test_users),
	    cmocka_unit_test(test_groups),     cmocka_unit_test(test_accounts_partitions),
	    cmocka_unit_test(test_all_rules),  cmocka_unit_test(test_unknown_uid),
	    cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests_name("catalog_permits", tests, group_setup, NULL);
}

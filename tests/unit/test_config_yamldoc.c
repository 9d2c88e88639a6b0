/*
 * test_config_yamldoc.c - the generic YAML layer under both parsers (lib/yamldoc.c,
 * lib/yamldoc_get.c) and the edit distance behind "did you mean" (lib/editdist.c), tested
 * directly: return conventions, ranges and flags the two file formats do not exercise, and
 * message formatting limits.
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
#include <unistd.h>

#include <cmocka.h>

#include "lib/editdist.h"
#include "lib/yamldoc.h"

static char tmpdir[] = "/tmp/xenvm-test-yamldoc-XXXXXX";
static char path[PATH_MAX];

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/doc.yaml", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(tmpdir);
}

/* Load text into d; returns the root mapping. */
static yaml_node_t *load(struct ydoc *d, const char *text)
{
	struct xerr err = {""};
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	*d = (struct ydoc)YDOC_INIT;
	if (ydoc_load(d, path, &err) != 0)
		fail_msg("%s", err.msg);
	return ydoc_root(d);
}

/* err.msg is "<path><want>". */
static void msg_is(const struct xerr *err, const char *want)
{
	size_t plen = strlen(path);

	if (strncmp(err->msg, path, plen) != 0 || strcmp(err->msg + plen, want) != 0)
		fail_msg("got  \"%s\"\nwant \"%s%s\"", err->msg, path, want);
}

static void test_return_convention(void **state)
{
	struct ydoc d;
	yaml_node_t *root = load(&d, "a: x\nb: ~\nc: ''\nn: 5\n");
	struct xerr err = {""};
	char *s = NULL;
	uint64_t n = 99;

	(void)state;
	assert_int_equal(ydoc_check_map(&d, root, NULL, NULL, &err), 0);
	assert_int_equal(ydoc_get_str(&d, root, NULL, "a", 0, &s, &err), 1);
	assert_string_equal(s, "x");
	/* absent and null: 0, value untouched */
	assert_int_equal(ydoc_get_str(&d, root, NULL, "zz", 0, &s, &err), 0);
	assert_int_equal(ydoc_get_str(&d, root, NULL, "b", 0, &s, &err), 0);
	assert_string_equal(s, "x");
	/* a quoted empty string is a value, not null */
	assert_int_equal(ydoc_get_str(&d, root, NULL, "c", 0, &s, &err), 1);
	assert_string_equal(s, ""); /* and the old value was freed (LeakSanitizer) */
	/* an absent section (NULL map) reads as absent */
	assert_int_equal(ydoc_get_uint(&d, NULL, NULL, "n", 0, 10, 0, &n, &err), 0);
	assert_int_equal(n, 99);
	assert_int_equal(ydoc_get_uint(&d, root, NULL, "n", 0, 10, 0, &n, &err), 1);
	assert_int_equal(n, 5);
	/* bad arguments */
	errno = 0;
	assert_int_equal(ydoc_get_str(&d, root, NULL, NULL, 0, &s, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "yamldoc: invalid argument");
	assert_int_equal(ydoc_get_str(NULL, root, NULL, "a", 0, &s, &err), -1);
	assert_int_equal(ydoc_get_uint(&d, root, NULL, "n", 0, 10, 0, NULL, &err), -1);
	assert_int_equal(ydoc_get_enum(&d, root, NULL, "a", NULL, &(int){0}, &err), -1);
	assert_int_equal(ydoc_get_strlist(&d, root, NULL, "a", 0, &(char **){NULL}, NULL, &err),
	                 -1);
	assert_int_equal(ydoc_check_map(NULL, root, NULL, NULL, &err), -1);
	assert_int_equal(ydoc_node_str(NULL, root, NULL, 0, &s, &err), -1);
	errno = 0;
	assert_int_equal(ydoc_load(NULL, path, &err), -1);
	assert_int_equal(errno, EINVAL);
	free(s);
	ydoc_free(&d);
	ydoc_free(&d); /* twice is harmless */
	ydoc_free(NULL);
}

static void test_ranges(void **state)
{
	static const char *const names[] = {"one", "two", NULL};
	struct ydoc d;
	yaml_node_t *root =
	    load(&d, "d: 11s\nh: 0x0f\nH: 0xFFFFFFFFFFFFFFFF\nbig: 0x1FFFFFFFFFFFFFFFF\n"
	             "e: two\nz: 0\n");
	struct xerr err = {""};
	uint64_t u = 0;
	uint32_t dur = 0;
	int e = -1;

	(void)state;
	assert_int_equal(ydoc_get_duration(&d, root, NULL, "d", 5, 10, &dur, &err), -1);
	msg_is(&err, ":1:4: d: '11s' is out of range (5s..10s)");
	assert_int_equal(ydoc_get_duration(&d, root, NULL, "d", 5, 11, &dur, &err), 1);
	assert_int_equal(dur, 11);
	assert_int_equal(ydoc_get_uint(&d, root, NULL, "h", 0x10, UINT64_MAX, YDOC_HEX, &u, &err),
	                 -1);
	msg_is(&err, ":2:4: h: '0x0f' is too small (at least 0x0010)");
	assert_int_equal(ydoc_get_uint(&d, root, NULL, "h", 0, UINT64_MAX, YDOC_HEX, &u, &err), 1);
	assert_int_equal(u, 15);
	assert_int_equal(ydoc_get_uint(&d, root, NULL, "H", 0, UINT64_MAX, YDOC_HEX, &u, &err), 1);
	assert_true(u == UINT64_MAX);
	assert_int_equal(ydoc_get_uint(&d, root, NULL, "big", 0, UINT64_MAX, YDOC_HEX, &u, &err),
	                 -1);
	msg_is(&err, ":4:6: big: '0x1FFFFFFFFFFFFFFFF' is out of range "
	             "(0x0000..0xffffffffffffffff)");
	assert_int_equal(ydoc_get_uint(&d, root, NULL, "z", 1, UINT64_MAX, 0, &u, &err), -1);
	msg_is(&err, ":6:4: z: '0' is too small (at least 1)");
	assert_int_equal(ydoc_get_size(&d, root, NULL, "z", 0, 0, &u, &err), 1);
	assert_int_equal(u, 0);
	assert_int_equal(ydoc_get_enum(&d, root, NULL, "e", names, &e, &err), 1);
	assert_int_equal(e, 1);
	ydoc_free(&d);
}

static void test_lists(void **state)
{
	struct ydoc d;
	yaml_node_t *root = load(&d, "l: [a, b, c]\nm: []\nn:\n  - x\n  - [y]\n");
	struct xerr err = {""};
	char **v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(ydoc_get_strlist(&d, root, NULL, "l", 0, &v, &n, &err), 1);
	assert_int_equal(n, 3);
	assert_string_equal(v[2], "c");
	assert_null(v[3]);
	/* replacing a list frees the old one; an empty list is NULL, 0 */
	assert_int_equal(ydoc_get_strlist(&d, root, NULL, "m", 0, &v, &n, &err), 1);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(ydoc_get_strlist(&d, root, NULL, "l", 0, &v, &n, &err), 1);
	/* a bad item leaves the previous list in place */
	assert_int_equal(ydoc_get_strlist(&d, root, NULL, "n", 0, &v, &n, &err), -1);
	msg_is(&err, ":5:5: n[1]: expected a string, found a list");
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "a");
	ydoc_strv_free(v, n);
	ydoc_strv_free(NULL, 3);
	ydoc_free(&d);
}

/* Key paths through lists and mappings; messages without a node; a NULL err. */
static void test_paths(void **state)
{
	struct ydoc d;
	yaml_node_t *root = load(&d, "a:\n  b: 1\n");
	const struct ypath *a = YPATH_KEY(NULL, "a");
	const struct ypath item = {.up = a, .key = NULL, .index = 7};
	const struct ypath *leaf = YPATH_KEY(&item, "c");
	struct xerr err = {""};

	(void)state;
	assert_int_equal(ydoc_error(&d, &err, root, leaf, "bad %d", 42), -1);
	assert_int_equal(errno, EINVAL);
	msg_is(&err, ":1:1: a[7].c: bad 42");
	assert_int_equal(ydoc_error(&d, &err, NULL, NULL, "no position"), -1);
	msg_is(&err, ": no position");
	assert_int_equal(ydoc_error(&d, NULL, root, leaf, "nowhere"), -1);
	ydoc_free(&d);
}

/* Duplicates among many keys (the sorted path) report the earliest duplicate. */
static void test_many_keys(void **state)
{
	char *text = malloc(64 * 1024);
	size_t len = 0;
	struct ydoc d;
	yaml_node_t *root;
	struct xerr err = {""};

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 500; i++)
		len += (size_t)snprintf(text + len, 64 * 1024 - len, "k%d: %d\n", i, i);
	/* line 501 repeats k400 (line 401); line 502 repeats k3 (line 4) */
	len += (size_t)snprintf(text + len, 64 * 1024 - len, "k400: x\nk3: y\nk3: z\n");
	root = load(&d, text);
	free(text);
	assert_int_equal(ydoc_check_map(&d, root, NULL, NULL, &err), -1);
	msg_is(&err, ":501:1: k400: duplicate key (first defined at 401:1)");
	ydoc_free(&d);
}

static void test_quote(void **state)
{
	char buf[YDOC_QUOTE_LEN], small[6], longer[200];

	(void)state;
	assert_string_equal(ydoc_quote("a\tb\x7f", buf, sizeof(buf)), "'a?b?'");
	assert_string_equal(ydoc_quote(NULL, buf, sizeof(buf)), "''");
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ydoc_quote(longer, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 1 + 80 + 3 + 1);
	assert_string_equal(buf + 81, "...'");
	/* never overruns a small buffer */
	assert_string_equal(ydoc_quote("abcdefgh", small, sizeof(small)), "'abcd");
	assert_string_equal(ydoc_quote("x", small, 0), "");
	assert_string_equal(ydoc_join((const char *const[]){"a", "b", NULL}, small, sizeof(small)),
	                    "a, b");
	assert_string_equal(
	    ydoc_join((const char *const[]){"abc", "def", NULL}, small, sizeof(small)), "abc, ");
}

static void test_edit_distance(void **state)
{
	char longb[XENVM_EDIT_MAX_LEN + 2];

	(void)state;
	assert_int_equal(xenvm_edit_distance("kitten", "sitting", 5), 3);
	assert_int_equal(xenvm_edit_distance("kitten", "sitting", 2), 3); /* bound + 1 */
	assert_int_equal(xenvm_edit_distance("", "abc", 5), 3);
	assert_int_equal(xenvm_edit_distance("abc", "", 5), 3);
	assert_int_equal(xenvm_edit_distance("users", "uesrs", 3), 1); /* transposition */
	assert_int_equal(xenvm_edit_distance("ab", "ba", 3), 1);
	assert_int_equal(xenvm_edit_distance("CentOS", "centos", 3), 0);
	assert_int_equal(xenvm_edit_distance("abcdefgh", "ab", 2), 3); /* length alone */
	assert_int_equal(xenvm_edit_distance("same", "same", 0), 0);
	assert_int_equal(xenvm_edit_distance("same", "sane", 0), 1);
	errno = 0;
	assert_true(xenvm_edit_distance(NULL, "a", 1) == (size_t)-1);
	assert_int_equal(errno, EINVAL);
	memset(longb, 'b', sizeof(longb) - 1);
	longb[sizeof(longb) - 1] = '\0';
	errno = 0;
	assert_true(xenvm_edit_distance("a", longb, 1) == (size_t)-1);
	assert_int_equal(errno, EINVAL);
	/* a long a is fine */
	assert_int_equal(xenvm_edit_distance(longb, "bb", 1), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_return_convention),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_many_keys),
	    cmocka_unit_test(test_quote),
	    cmocka_unit_test(test_edit_distance),
	};

	return cmocka_run_group_tests_name("yamldoc", tests, group_setup, group_teardown);
}

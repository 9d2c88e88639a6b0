/*
 * test_catalog_cache.c - the self-reloading catalog (lib/catalog_cache.c): reload on change,
 * last good copy kept on a bad file, each failure reported once.
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

#include "lib/catalog.h"

#define SHA_A "9f2c1a5e0b3d4c6f8a7e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a"
#define IMAGE(name)                                                                                \
	"  " name ":\n    files:\n"                                                                \
	"      kernel: {path: k, sha256: " SHA_A ", size: 1}\n"                                    \
	"      initrd: {path: i, sha256: " SHA_A ", size: 2}\n"

static char tmpdir[] = "/tmp/xenvm-test-cache-XXXXXX";
static char path[PATH_MAX];

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/images.yaml", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(tmpdir);
}

/* Replace the file the way an editor or a config manager does: write aside, rename over. */
static void write_catalog(const char *text)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

/* Rewrite in place (same inode). */
static void overwrite_catalog(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static const struct xenvm_catalog *get(struct xenvm_catalog_cache *cc, bool want_failed,
                                       struct xerr *err)
{
	bool failed = !want_failed;
	const struct xenvm_catalog *cat;

	err->msg[0] = '\0';
	cat = xenvm_catalog_cache_get(cc, &failed, err);
	if (failed != want_failed)
		fail_msg("reload_failed is %d, want %d (%s)", failed, want_failed, err->msg);
	if (!want_failed)
		assert_string_equal(err->msg, ""); /* nothing reported */
	return cat;
}

static void test_reload_cycle(void **state)
{
	struct xenvm_catalog_cache cc;
	const struct xenvm_catalog *cat;
	struct xerr err;
	char want[PATH_MAX + 128];

	(void)state;
	unlink(path);
	assert_int_equal(xenvm_catalog_cache_init(&cc, path), 0);

	/* no file yet: no catalog, the failure reported once */
	assert_null(get(&cc, true, &err));
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err.msg, want);
	errno = 0;
	assert_null(get(&cc, false, &err));
	assert_int_equal(errno, ENOENT);

	/* a good file */
	write_catalog("images:\n" IMAGE("first"));
	cat = get(&cc, false, &err);
	assert_non_null(cat);
	assert_int_equal(cat->n_images, 1);
	assert_non_null(xenvm_catalog_find(cat, "first"));
	assert_ptr_equal(get(&cc, false, &err), cat); /* unchanged: not reloaded */
	assert_ptr_equal(get(&cc, false, &err), cat);

	/* broken: the old catalog stays, the failure is reported once */
	write_catalog("images:\n  first: [\n");
	assert_ptr_equal(get(&cc, true, &err), cat);
	snprintf(want, sizeof(want), "%s:3:1: ", path);
	assert_memory_equal(err.msg, want, strlen(want));
	assert_ptr_equal(get(&cc, false, &err), cat);
	assert_ptr_equal(get(&cc, false, &err), cat);
	assert_non_null(xenvm_catalog_find(cat, "first"));

	/* broken differently (valid YAML, bad content, rewritten in place): reported again */
	overwrite_catalog("images:\n  first: 1\n");
	assert_ptr_equal(get(&cc, true, &err), cat);
	snprintf(want, sizeof(want), "%s:2:10: images.first: expected a mapping, found '1'", path);
	assert_string_equal(err.msg, want);
	assert_ptr_equal(get(&cc, false, &err), cat);

	/* fixed: the new catalog */
	write_catalog("images:\n" IMAGE("first") IMAGE("second"));
	cat = get(&cc, false, &err);
	assert_non_null(cat);
	assert_int_equal(cat->n_images, 2);
	assert_non_null(xenvm_catalog_find(cat, "second"));
	assert_ptr_equal(get(&cc, false, &err), cat);

	/* removed: the last good catalog stays, reported once */
	assert_int_equal(unlink(path), 0);
	assert_ptr_equal(get(&cc, true, &err), cat);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err.msg, want);
	assert_ptr_equal(get(&cc, false, &err), cat);

	/* back, with a third image */
	write_catalog("images:\n" IMAGE("third"));
	cat = get(&cc, false, &err);
	assert_int_equal(cat->n_images, 1);
	assert_non_null(xenvm_catalog_find(cat, "third"));
	assert_null(xenvm_catalog_find(cat, "first"));

	xenvm_catalog_cache_fini(&cc);
	assert_null(cc.path);
	assert_null(cc.current);
	xenvm_catalog_cache_fini(&cc); /* twice is harmless */
}

/* Callers may pass NULL for reload_failed and reload_err. */
static void test_null_outputs(void **state)
{
	struct xenvm_catalog_cache cc;

	(void)state;
	write_catalog("images:\n" IMAGE("a"));
	assert_int_equal(xenvm_catalog_cache_init(&cc, path), 0);
	assert_non_null(xenvm_catalog_cache_get(&cc, NULL, NULL));
	write_catalog("images: [\n");
	assert_non_null(xenvm_catalog_cache_get(&cc, NULL, NULL));
	xenvm_catalog_cache_fini(&cc);
}

static void test_bad_args(void **state)
{
	struct xenvm_catalog_cache cc;
	bool failed = true;

	(void)state;
	errno = 0;
	assert_int_equal(xenvm_catalog_cache_init(NULL, path), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(xenvm_catalog_cache_init(&cc, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xenvm_catalog_cache_init(&cc, ""), -1);
	errno = 0;
	assert_null(xenvm_catalog_cache_get(NULL, &failed, NULL));
	assert_int_equal(errno, EINVAL);
	assert_false(failed);
	xenvm_catalog_cache_fini(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reload_cycle),
	    cmocka_unit_test(test_null_outputs),
	    cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests_name("catalog_cache", tests, group_setup, group_teardown);
}

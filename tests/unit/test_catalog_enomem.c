/*
 * test_catalog_enomem.c - every allocation in the xenvm.yaml and images.yaml code paths is made to
 * fail in turn: each load must then fail cleanly (-1, errno ENOMEM, a message) and, because the
 * tests run under LeakSanitizer, free everything it had allocated.
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup, which redirects the
 * calls made from libxenvm.a (and this file); allocations inside libyaml, libcrypto and libc
 * themselves are not counted.
 */
#include <errno.h>
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
#include "lib/config.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long countdown = -1; /* allocations left before one fails; -1: never fail */
static long injected;

static bool should_fail(void)
{
	if (countdown < 0)
		return false;
	if (countdown-- == 0) {
		injected++;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

/* Run op() with the k-th allocation failing, for k = 0, 1, ... until op() needs no more. */
static void fail_each_allocation(int (*op)(struct xerr *err), const char *what)
{
	long k;

	for (k = 0; k < 100000; k++) {
		struct xerr err = {""};
		long before = injected;
		int rc;

		countdown = k;
		errno = 0;
		rc = op(&err);
		countdown = -1;
		if (injected == before) { /* ran to the end without an injected failure */
			if (rc != 0)
				fail_msg("%s: failed without an injected failure: %s", what,
				         err.msg);
			break;
		}
		if (rc != -1)
			fail_msg("%s: allocation %ld failed but the call succeeded", what, k);
		if (errno != ENOMEM)
			fail_msg("%s: allocation %ld: errno %d (%s), want ENOMEM", what, k, errno,
			         err.msg);
		if (!err.msg[0])
			fail_msg("%s: allocation %ld: no message", what, k);
	}
	if (k < 5)
		fail_msg("%s: only %ld allocations: is the wrapping in place?", what, k);
	print_message("%s: each of %ld allocations failed in turn\n", what, k);
}

static int load_config(struct xerr *err)
{
	struct xenvm_config *c = NULL;

	if (xenvm_config_load(XENVM_SRCDIR "/tests/unit/fixtures/xenvm-full.yaml", false, &c, err) <
	    0)
		return -1;
	xenvm_config_free(c);
	return 0;
}

static int load_config_missing(struct xerr *err)
{
	struct xenvm_config *c = NULL;

	if (xenvm_config_load("/nonexistent/xenvm.yaml", true, &c, err) < 0)
		return -1;
	xenvm_config_free(c);
	return 0;
}

static int load_config_bad(struct xerr *err)
{
	struct xenvm_config *c = NULL;

	/* a file with an error: the only acceptable outcomes are that error, or ENOMEM */
	if (xenvm_config_load(XENVM_SRCDIR "/tests/unit/fixtures/xenvm-bad.yaml", false, &c, err) <
	    0) {
		if (errno == ENOMEM)
			return -1;
		assert_non_null(strstr(err->msg, "mounts[1]: 'relative' is not an absolute path"));
		return 0;
	}
	xenvm_config_free(c);
	fail_msg("xenvm-bad.yaml loaded");
	return 0;
}

static int load_catalog(struct xerr *err)
{
	struct xenvm_catalog *cat = NULL;
	const char *out[4];

	if (xenvm_catalog_load(XENVM_SRCDIR "/tests/unit/fixtures/images-full.yaml", &cat, err) < 0)
		return -1;
	assert_non_null(xenvm_catalog_find(cat, "ttylinux-mpi"));
	if (xenvm_catalog_suggest(cat, "ttylinux", out, 4) == 0 && errno == ENOMEM) {
		xenvm_catalog_free(cat);
		errno = ENOMEM;
		return xerr_set(err, "suggest: out of memory");
	}
	xenvm_catalog_free(cat);
	return 0;
}

static int load_example_catalog(struct xerr *err)
{
	struct xenvm_catalog *cat = NULL;

	if (xenvm_catalog_load(XENVM_SRCDIR "/etc/images.yaml.example", &cat, err) < 0)
		return -1;
	xenvm_catalog_free(cat);
	return 0;
}

static int cache_cycle(struct xerr *err)
{
	struct xenvm_catalog_cache cc;
	bool failed = false;

	if (xenvm_catalog_cache_init(&cc, XENVM_SRCDIR "/tests/unit/fixtures/images-full.yaml") <
	    0) {
		errno = ENOMEM;
		return xerr_set(err, "cache_init: out of memory");
	}
	if (!xenvm_catalog_cache_get(&cc, &failed, err)) {
		xenvm_catalog_cache_fini(&cc);
		errno = ENOMEM;
		return -1;
	}
	xenvm_catalog_cache_fini(&cc);
	return 0;
}

static int permits(struct xerr *err)
{
	char *users[] = {"xenvm-no-such-user", NULL}, *groups[] = {"xenvm-no-such-group", NULL};
	struct xenvm_image img;
	struct xenvm_requester who = {.uid = getuid(), .gid = getgid()};

	memset(&img, 0, sizeof(img));
	img.name = "img";
	img.allow.users = users;
	img.allow.n_users = 1;
	img.allow.groups = groups;
	img.allow.n_groups = 1;
	if (xenvm_image_permits(&img, &who, err) == 0)
		fail_msg("permitted");
	if (errno == EACCES)
		return 0;
	return -1;
}

static void test_config(void **state)
{
	(void)state;
	fail_each_allocation(load_config, "config load");
	fail_each_allocation(load_config_missing, "config defaults");
	fail_each_allocation(load_config_bad, "config with an error");
}

static void test_catalog(void **state)
{
	(void)state;
	fail_each_allocation(load_catalog, "catalog load");
	fail_each_allocation(load_example_catalog, "example catalog");
}

static void test_cache(void **state)
{
	(void)state;
	fail_each_allocation(cache_cycle, "catalog cache");
}

static void test_permits(void **state)
{
	long k;

	(void)state;
	/* permits() allocates little (NSS buffers): fail each and expect ENOMEM or a refusal */
	for (k = 0; k < 50; k++) {
		struct xerr err = {""};
		int rc;

		countdown = k;
		errno = 0;
		rc = permits(&err);
		countdown = -1;
		assert_true(rc == 0 || errno == ENOMEM);
		assert_true(err.msg[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_catalog),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_permits),
	};

	return cmocka_run_group_tests_name("catalog_enomem", tests, NULL, NULL);
}

/*
 * test_catalog_live.c - the catalog never stalls its readers (issue 15): bounded loading (a FIFO
 * at the path, deep nesting, too many nodes, too large, too slow, cancelled) and the reload
 * thread (lib/catalog_live.c): last good copy kept, references outliving a swap, and readers
 * served while a load is under way.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/catalog.h"
#include "lib/catalog_live.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char tmpdir[] = "/tmp/xenvm-test-live-XXXXXX";
static char path[PATH_MAX];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/images.yaml", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A catalog of n images named img-0..; written beside and renamed in, as an admin would. */
static void write_images(size_t n)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fprintf(f, "images:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f,
		        "  img-%zu:\n    files:\n      kernel: {path: k, sha256: " SHA
		        ", size: 1}\n"
		        "      initrd: {path: i, sha256: " SHA ", size: 1}\n"
		        "    attributes: {os: debian, os_version: 12, ib: true}\n",
		        i);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void write_text(const char *text)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A load that would block forever fails the test by SIGALRM instead of hanging it. */
static void test_fifo_never_blocks(void **state)
{
	struct xenvm_catalog *cat = NULL;
	struct xerr err;
	char want[PATH_MAX + 64];

	(void)state;
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_int_equal(xenvm_catalog_load(path, &cat, &err), -1);
	alarm(0);
	assert_int_equal(errno, EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	assert_string_equal(err.msg, want);
	unlink(path);
}

static void test_deep_nesting(void **state)
{
	struct xenvm_catalog *cat = NULL;
	struct xerr err;
	char text[400] = "images:\n  x: ", want[PATH_MAX + 64];

	(void)state;
	for (int i = 0; i < 100; i++)
		strcat(text, "[");
	strcat(text, "\n");
	write_text(text);
	assert_int_equal(xenvm_catalog_load(path, &cat, &err), -1);
	assert_int_equal(errno, EINVAL);
	/* images' mapping is the first level, so the 64th '[' (column 68) is the 65th */
	snprintf(want, sizeof(want), "%s:2:68: nested deeper than 64 levels: refused", path);
	assert_string_equal(err.msg, want);
}

static void test_too_many_nodes(void **state)
{
	struct xenvm_catalog *cat = NULL;
	struct xerr err;
	FILE *f;

	(void)state;
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("images: [", f);
	for (int i = 0; i < 2000001; i++)
		fputs("a,", f);
	fputs("a]\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(xenvm_catalog_load(path, &cat, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err.msg, ": more than 2000000 YAML nodes: refused"));
}

static void test_size_time_cancel(void **state)
{
	struct xenvm_catalog_limits lim = XENVM_CATALOG_LIMITS_DEFAULT;
	struct xenvm_catalog *cat = NULL;
	struct xerr err;
	atomic_bool cancel;
	char want[PATH_MAX + 64];

	(void)state;
	write_images(2000);
	lim.max_bytes = 1000;
	assert_int_equal(xenvm_catalog_load_limited(path, &lim, &cat, &err), -1);
	assert_int_equal(errno, EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1000 bytes: refused", path);
	assert_string_equal(err.msg, want);

	lim = (struct xenvm_catalog_limits)XENVM_CATALOG_LIMITS_DEFAULT;
	lim.max_ms = 1;
	assert_int_equal(xenvm_catalog_load_limited(path, &lim, &cat, &err), -1);
	assert_int_equal(errno, ETIMEDOUT);

	atomic_init(&cancel, true);
	lim = (struct xenvm_catalog_limits)XENVM_CATALOG_LIMITS_DEFAULT;
	lim.cancel = &cancel;
	assert_int_equal(xenvm_catalog_load_limited(path, &lim, &cat, &err), -1);
	assert_int_equal(errno, ECANCELED);

	lim.cancel = NULL;
	assert_int_equal(xenvm_catalog_load_limited(path, &lim, &cat, &err), 0);
	assert_int_equal(cat->n_images, 2000);
	xenvm_catalog_put(cat);
}

/* Wait until the thread has made `attempts` load attempts; false after 60 s. */
static bool wait_attempts(struct xenvm_catalog_live *lv, uint64_t attempts)
{
	for (int i = 0; i < 6000; i++) {
		struct xenvm_catalog_live_stats s = xenvm_catalog_live_stats(lv);

		if (s.attempts >= attempts && !s.loading)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_live_last_good(void **state)
{
	struct xenvm_catalog_live_opts o = {.path = path,
	                                    .limits = XENVM_CATALOG_LIMITS_DEFAULT,
	                                    .poll_ms = 60000,
	                                    .start_wait_ms = 30000};
	struct xenvm_catalog_live *lv = NULL;
	struct xenvm_catalog *a, *b;
	struct xerr err;

	(void)state;
	write_images(1);
	assert_int_equal(xenvm_catalog_live_start(&o, &lv, &err), 0);
	a = xenvm_catalog_live_get(lv, NULL);
	assert_non_null(a);
	assert_int_equal(a->n_images, 1);

	/* a FIFO, then a syntax error: the last good copy stays */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	xenvm_catalog_live_poke(lv);
	assert_true(wait_attempts(lv, 2));
	write_text("images: [unclosed\n");
	xenvm_catalog_live_poke(lv);
	assert_true(wait_attempts(lv, 3));
	assert_int_equal(xenvm_catalog_live_stats(lv).failures, 2);
	b = xenvm_catalog_live_get(lv, NULL);
	assert_ptr_equal(a, b);
	xenvm_catalog_put(b);

	/* a good file replaces it; the reference taken before still reads the old one */
	write_images(3);
	xenvm_catalog_live_poke(lv);
	assert_true(wait_attempts(lv, 4));
	b = xenvm_catalog_live_get(lv, NULL);
	assert_int_equal(b->n_images, 3);
	assert_string_equal(a->images[0].name, "img-0");
	xenvm_catalog_put(a); /* the last reference: freed here (ASan would see a leak or reuse) */
	xenvm_catalog_put(b);
	xenvm_catalog_live_stop(lv);
}

/* Readers are served from the old catalog while a slow load runs. */
static void test_live_readers_never_wait(void **state)
{
	struct xenvm_catalog_live_opts o = {.path = path,
	                                    .limits = XENVM_CATALOG_LIMITS_DEFAULT,
	                                    .poll_ms = 60000,
	                                    .start_wait_ms = 30000};
	struct xenvm_catalog_live *lv = NULL;
	struct xenvm_catalog *c;
	struct xerr err;
	bool loading = false, seen_loading = false;
	double worst = 0;

	(void)state;
	write_images(1);
	assert_int_equal(xenvm_catalog_live_start(&o, &lv, &err), 0);
	write_images(30000);
	xenvm_catalog_live_poke(lv);
	for (int i = 0; i < 3000000 && !seen_loading; i++) {
		double t0 = now(), dt;

		c = xenvm_catalog_live_get(lv, &loading);
		dt = now() - t0;
		assert_non_null(c);
		if (loading) {
			/* got a catalog while the new one is still being parsed: the old one */
			assert_int_equal(c->n_images, 1);
			seen_loading = true;
		}
		if (dt > worst)
			worst = dt;
		xenvm_catalog_put(c);
	}
	assert_true(seen_loading);
	assert_true(wait_attempts(lv, 2));
	c = xenvm_catalog_live_get(lv, NULL);
	assert_int_equal(c->n_images, 30000);
	xenvm_catalog_put(c);
	printf("live: load of 30000 images %.0f ms; worst get() while loading %.1f us; swap held "
	       "the lock %.1f us\n",
	       xenvm_catalog_live_stats(lv).last_load_us / 1e3, worst * 1e6,
	       xenvm_catalog_live_stats(lv).max_swap_ns / 1e3);
	xenvm_catalog_live_stop(lv);
}

/* stop() during a load cancels it instead of waiting for the whole parse. */
static void test_live_stop_cancels(void **state)
{
	struct xenvm_catalog_live_opts o = {.path = path,
	                                    .limits = XENVM_CATALOG_LIMITS_DEFAULT,
	                                    .poll_ms = 60000,
	                                    .start_wait_ms = 0};
	struct xenvm_catalog_live *lv = NULL;
	struct xerr err;
	double t0;

	(void)state;
	write_images(30000);
	assert_int_equal(xenvm_catalog_live_start(&o, &lv, &err), 0);
	for (int i = 0; i < 1000 && !xenvm_catalog_live_stats(lv).loading; i++)
		usleep(1000);
	t0 = now();
	xenvm_catalog_live_stop(lv);
	printf("live: stop during a load took %.0f ms\n", (now() - t0) * 1e3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_never_blocks),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_too_many_nodes),
	    cmocka_unit_test(test_size_time_cancel),
	    cmocka_unit_test(test_live_last_good),
	    cmocka_unit_test(test_live_readers_never_wait),
	    cmocka_unit_test(test_live_stop_cancels),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

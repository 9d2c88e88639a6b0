/*
 * test_imagecast_store.c - the cache: directory checks, atomic publish, resume, delta, LRU with
 * leases.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "imagecast/store.h"

#define CB IC_CHUNK_MIN

static char top[64], cache[128];

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/ic-store.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(cache, sizeof(cache), "%s/cache", top);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd);
}

/* An image of one file "rootdisk" of nchunks chunks; chunk c is filled with byte (seed + c). */
static struct ic_manifest *image(unsigned nchunks, unsigned seed, int changed, uint8_t **data)
{
	struct ic_file f;
	struct ic_manifest *m = NULL;
	struct ic_sha_mid mid;
	struct xerr err;
	char digest[IC_DIGEST_LEN + 1];
	uint8_t *buf = malloc((size_t)nchunks * CB);

	assert_non_null(buf);
	for (unsigned c = 0; c < nchunks; c++)
		memset(buf + (size_t)c * CB, (int)(seed + c), CB);
	if (changed >= 0)
		buf[(size_t)changed * CB + 17] ^= 0xff;
	memset(&f, 0, sizeof(f));
	strcpy(f.role, "rootdisk");
	f.path = "img/rootdisk";
	f.size = (uint64_t)nchunks * CB;
	assert_int_equal(ic_sha256(buf, f.size, f.sha), 0);
	assert_int_equal(ic_digest_of(&f, 1, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, CB, &f, 1, &m, &err), 0);
	for (unsigned c = 0; c < nchunks; c++)
		assert_int_equal(ic_sha256(buf + (size_t)c * CB, CB, m->chunks[c]), 0);
	/* The midstates, as the root computes them (the last one is the file's sha256). */
	ic_sha_mid_init(&mid);
	for (unsigned c = 0; c + 1 < nchunks; c++) {
		assert_int_equal(ic_sha_mid_update(&mid, buf + (size_t)c * CB, CB), 0);
		ic_sha_mid_pack(&mid, m->mids[c]);
	}
	memcpy(m->mids[nchunks - 1], f.sha, IC_SHA_LEN);
	*data = buf;
	return m;
}

/* Write the chunks [from, to) of data into the partial copy. */
static void write_chunks(const struct ic_manifest *m, int *fds, const uint8_t *data, unsigned from,
                         unsigned to)
{
	for (unsigned c = from; c < to && c < m->nchunks; c++)
		assert_int_equal(pwrite(fds[0], data + (size_t)c * CB, CB, (off_t)c * CB), CB);
}

static void close_fds(const struct ic_manifest *m, int *fds)
{
	for (size_t i = 0; i < m->nfiles; i++)
		close(fds[i]);
}

/* Fetch-and-publish in one go; returns the publish result. */
static int put_image(struct ic_store *s, const struct ic_manifest *m, const uint8_t *data)
{
	int fds[IC_MAX_FILES], rc;
	bool have[64];
	struct xerr err;

	assert_int_equal(ic_store_partial_open(s, m, fds, have, NULL, NULL, &err), 0);
	write_chunks(m, fds, data, 0, m->nchunks);
	rc = ic_store_publish(s, m, fds, NULL, &err);
	close_fds(m, fds);
	return rc;
}

static void test_check_dir(void **state)
{
	struct xerr err;
	char loose[160];

	(void)state;
	assert_int_equal(ic_check_dir(cache, false, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(ic_check_dir(cache, true, &err), 0);
	snprintf(loose, sizeof(loose), "%s/loose", top);
	assert_int_equal(mkdir(loose, 0700), 0);
	assert_int_equal(chmod(loose, 0777), 0);
	assert_int_equal(ic_check_dir(loose, false, &err), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err.msg, "loose permissions"));
	/* A safe directory below a loose one is not safe either. */
	strcat(loose, "/inner");
	assert_int_equal(mkdir(loose, 0700), 0);
	assert_int_equal(ic_check_dir(loose, false, &err), -1);
	assert_non_null(strstr(err.msg, "ancestor"));
}

static void test_publish_atomic(void **state)
{
	struct ic_store s;
	struct ic_manifest *m, *found = NULL;
	struct xerr err;
	uint8_t *data;
	int fds[IC_MAX_FILES];
	bool have[8];
	char path[512];
	struct stat st;

	(void)state;
	assert_int_equal(ic_store_open(&s, cache, 0, &err), 0);
	m = image(4, 10, -1, &data);
	assert_int_equal(ic_store_partial_open(&s, m, fds, have, NULL, NULL, &err), 0);
	write_chunks(m, fds, data, 0, 4);
	/* Not visible until published. */
	assert_int_equal(ic_store_lookup(&s, m->digest, NULL, &err), 0);
	assert_int_equal(ic_store_publish(&s, m, fds, NULL, &err), 0);
	close_fds(m, fds);
	assert_int_equal(ic_store_lookup(&s, m->digest, &found, &err), 1);
	assert_int_equal(found->nchunks, 4);
	ic_manifest_free(found);
	assert_int_equal(ic_store_path(&s, "partial", m->digest, NULL, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(ic_store_verify(&s, m->digest, &err), 0);
	ic_manifest_free(m);
	free(data);

	/* Wrong bytes never publish. */
	m = image(2, 50, -1, &data);
	assert_int_equal(ic_store_partial_open(&s, m, fds, have, NULL, NULL, &err), 0);
	write_chunks(m, fds, data, 0, 1); /* chunk 1 stays zero */
	assert_int_equal(ic_store_publish(&s, m, fds, NULL, &err), -1);
	assert_int_equal(errno, EBADMSG);
	close_fds(m, fds);
	assert_int_equal(ic_store_lookup(&s, m->digest, NULL, &err), 0);
	assert_int_equal(ic_store_partial_remove(&s, m->digest), 0);
	ic_manifest_free(m);
	free(data);
	ic_store_close(&s);
}

static void test_resume_and_delta(void **state)
{
	struct ic_store s;
	struct ic_manifest *m, *v2;
	struct xerr err;
	uint8_t *data, *data2;
	int fds[IC_MAX_FILES];
	bool have[16];
	uint64_t resumed = 0, seeded = 0;

	(void)state;
	assert_int_equal(ic_store_open(&s, cache, 0, &err), 0);
	m = image(8, 1, -1, &data);
	assert_int_equal(ic_store_partial_open(&s, m, fds, have, &resumed, &seeded, &err), 0);
	assert_int_equal(resumed, 0);
	write_chunks(m, fds, data, 0, 3);
	close_fds(m, fds); /* "the daemon died" */
	assert_int_equal(ic_store_partial_open(&s, m, fds, have, &resumed, &seeded, &err), 0);
	assert_int_equal(resumed, 3 * CB);
	assert_true(have[0] && have[1] && have[2] && !have[3]);
	write_chunks(m, fds, data, 3, 8);
	assert_int_equal(ic_store_publish(&s, m, fds, NULL, &err), 0);
	close_fds(m, fds);

	/* v2 differs in one chunk: the other seven come from v1. */
	v2 = image(8, 1, 5, &data2);
	assert_int_equal(ic_store_partial_open(&s, v2, fds, have, &resumed, &seeded, &err), 0);
	assert_int_equal(seeded, 7 * CB);
	assert_false(have[5]);
	write_chunks(v2, fds, data2, 5, 6);
	assert_int_equal(ic_store_publish(&s, v2, fds, NULL, &err), 0);
	close_fds(v2, fds);
	assert_int_equal(ic_store_verify(&s, v2->digest, &err), 0);
	ic_manifest_free(m);
	ic_manifest_free(v2);
	free(data);
	free(data2);
	ic_store_close(&s);
}

static void test_lru_and_pins(void **state)
{
	struct ic_store s;
	struct ic_manifest *m[3];
	struct xerr err;
	uint8_t *data[3];
	struct ic_store_entry *v = NULL;
	char path[512];
	struct timespec old[2];

	(void)state;
	/* Room for two 4-chunk images. */
	assert_int_equal(ic_store_open(&s, cache, 8 * CB, &err), 0);
	for (int i = 0; i < 3; i++)
		m[i] = image(4, (unsigned)(40 * i + 3), -1, &data[i]);
	assert_int_equal(put_image(&s, m[0], data[0]), 0);
	assert_int_equal(put_image(&s, m[1], data[1]), 0);
	/* m[0] used long ago, m[1] recently. */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 3600;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	assert_int_equal(ic_store_path(&s, "images", m[0]->digest, "manifest", path, sizeof(path)),
	                 0);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_int_equal(ic_store_list(&s, &v), 2);
	assert_string_equal(v[0].digest, m[0]->digest);
	free(v);

	/* A lease protects m[0]: m[1] goes instead, although it is more recent. */
	assert_int_equal(ic_store_pin(&s, m[0]->digest, "job.42"), 0);
	assert_int_equal(ic_store_pins(&s, m[0]->digest), 1);
	assert_int_equal(ic_store_evict(&s, m[0]->digest, &err), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(ic_store_make_room(&s, m[2]->total_bytes, m[2]->digest, &err), 0);
	assert_int_equal(ic_store_lookup(&s, m[0]->digest, NULL, &err), 1);
	assert_int_equal(ic_store_lookup(&s, m[1]->digest, NULL, &err), 0);
	assert_int_equal(put_image(&s, m[2], data[2]), 0);

	/* Both remaining images pinned: no room, a clear error, nothing evicted. */
	assert_int_equal(ic_store_pin(&s, m[2]->digest, "job.43"), 0);
	assert_int_equal(ic_store_make_room(&s, 4 * CB, NULL, &err), -1);
	assert_int_equal(errno, ENOSPC);
	assert_non_null(strstr(err.msg, "is full"));
	assert_int_equal(ic_store_used(&s), 8 * CB);

	/* Unpinned, the least recently used goes first. */
	assert_int_equal(ic_store_unpin(&s, m[0]->digest, "job.42"), 0);
	assert_int_equal(ic_store_make_room(&s, 4 * CB, NULL, &err), 0);
	assert_int_equal(ic_store_lookup(&s, m[0]->digest, NULL, &err), 0);
	assert_int_equal(ic_store_lookup(&s, m[2]->digest, NULL, &err), 1);
	assert_int_equal(ic_store_pin(&s, m[2]->digest, "../bad"), -1);
	for (int i = 0; i < 3; i++) {
		ic_manifest_free(m[i]);
		free(data[i]);
	}
	ic_store_close(&s);
}

/*
 * What a VM driver keeps in an image's directory (the qemu driver's derived kernel) counts
 * against cache.max_size, and goes with the image.
 */
static void test_derived_files_count(void **state)
{
	struct ic_store s;
	struct ic_manifest *m[2];
	struct ic_store_entry *v = NULL;
	struct xerr err;
	uint8_t *data[2];
	char path[512];
	static uint8_t extra[3 * CB];
	int fd;

	(void)state;
	/* Room for two 4-chunk images, and no more. */
	assert_int_equal(ic_store_open(&s, cache, 8 * CB, &err), 0);
	for (int i = 0; i < 2; i++)
		m[i] = image(4, (unsigned)(50 * i + 7), -1, &data[i]);
	assert_int_equal(put_image(&s, m[0], data[0]), 0);
	assert_int_equal(ic_store_used(&s), 4 * CB);
	assert_int_equal(
	    ic_store_path(&s, "images", m[0]->digest, "kernel.vmlinux", path, sizeof(path)), 0);
	memset(extra, 0x5a, sizeof(extra));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, extra, sizeof(extra)), sizeof(extra));
	assert_int_equal(fsync(fd), 0);
	close(fd);
	assert_int_equal(ic_store_list(&s, &v), 1);
	assert_int_equal(v[0].bytes, 4 * CB);
	assert_int_equal(v[0].disk_bytes, 7 * CB);
	free(v);
	assert_int_equal(ic_store_used(&s), 7 * CB);
	/* 7 + 4 chunks do not fit in 8: the first image and its derived file make room. */
	assert_int_equal(ic_store_make_room(&s, m[1]->total_bytes, m[1]->digest, &err), 0);
	assert_int_equal(ic_store_lookup(&s, m[0]->digest, NULL, &err), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(put_image(&s, m[1], data[1]), 0);
	assert_int_equal(ic_store_used(&s), 4 * CB);
	for (int i = 0; i < 2; i++) {
		ic_manifest_free(m[i]);
		free(data[i]);
	}
	ic_store_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_check_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_derived_files_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_publish_atomic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resume_and_delta, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lru_and_pins, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

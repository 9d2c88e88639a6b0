/*
 * test_imgstore_chunk.c - chunked blobs (imgstore/chunk.h, lib/blob.h): a root disk pushed twice
 * with a small change stores only the changed chunk; both read back byte for byte through the
 * one reader imagecast uses; a corrupted chunk is caught by the deep fsck (and only the version
 * that uses it goes); the GC removes a dead version's own chunks and keeps shared ones; orphan
 * chunks go at open; a hostile index (a name out of the store, a cut file, a wrong count) is
 * refused by the reader and removed by fsck; a refused push costs no chunk; killed after every
 * durable step of a chunked push, the store reopens consistent; a whole root disk of a store made
 * before chunking stays whole and reads as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "imgstore/chunk.h"
#include "imgstore/server.h"
#include "lib/blob.h"

#define DISK (8u << 20) /* 8 chunks */
#define CHANGED_AT ((3u << 20) + 12345u)

static char dir[48];
static const char kernel[] = "kernel bytes", initrd[] = "initrd one";
static unsigned char *disk1, *disk2;

static void sha_hex(const void *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* Push ref with the given root disk through the real push path (a file stands for the socket). */
static int push(struct imgs_store *st, const char *ref, const unsigned char *disk, bool lie,
                char *out_hex, struct xerr *err)
{
	struct xenvm_config *cfg = xenvm_config_defaults();
	struct imgs_client c = {.uid = 0, .user = "root", .admin = true};
	struct imgs_req r = {.op = "push", .nargs = 1};
	char path[128];
	FILE *f, *out = fopen("/dev/null", "w");
	int fd, rc;

	snprintf(r.args[0], sizeof(r.args[0]), "%s", ref);
	r.files[0] = (struct imgs_file){true, strlen(kernel), ""};
	r.files[1] = (struct imgs_file){true, strlen(initrd), ""};
	r.files[2] = (struct imgs_file){true, DISK, ""};
	sha_hex(kernel, strlen(kernel), r.files[0].sha256);
	sha_hex(initrd, strlen(initrd), r.files[1].sha256);
	sha_hex(disk, DISK, r.files[2].sha256);
	if (lie) /* a push whose root disk is not what it declared */
		r.files[2].sha256[0] = r.files[2].sha256[0] == '0' ? '1' : '0';
	if (out_hex)
		strcpy(out_hex, r.files[2].sha256);
	r.attrs_len = strlen("description: x\n");
	snprintf(path, sizeof(path), "%s.body", dir);
	f = fopen(path, "w");
	fprintf(f, "description: x\n%s%s", kernel, initrd);
	assert_int_equal(fwrite(disk, 1, DISK, f), DISK);
	fclose(f);
	fd = open(path, O_RDONLY);
	rc = imgs_push(cfg, st, fd, &c, &r, out, err);
	close(fd);
	unlink(path);
	fclose(out);
	xenvm_config_free(cfg);
	return rc;
}

/* Files in <dir>/<sub> and their bytes. */
static size_t count_files(const char *sub, uint64_t *bytes)
{
	char path[512];
	struct dirent *e;
	DIR *dh;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	dh = opendir(path);
	assert_non_null(dh);
	if (bytes)
		*bytes = 0;
	while ((e = readdir(dh))) {
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, e->d_name);
		assert_int_equal(lstat(path, &sb), 0);
		if (bytes)
			*bytes += (uint64_t)sb.st_size;
		n++;
	}
	closedir(dh);
	return n;
}

/* The blob hex read through lib/blob.h equals data, at offsets across chunk borders. */
static void check_reads(const char *hex, const unsigned char *data)
{
	static const uint64_t offs[] = {0,        1, (1u << 20) - 7, 3u << 20, CHANGED_AT - 100,
	                                DISK - 10};
	char rel[128];
	struct xenvm_blob *b = NULL;
	struct xerr err = {""};
	unsigned char *buf = malloc(DISK);

	snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
	assert_int_equal(xenvm_blob_open(dir, rel, &b, &err), 0);
	assert_true(xenvm_blob_chunked(b));
	assert_int_equal(xenvm_blob_size(b), DISK);
	assert_int_equal(xenvm_blob_pread(b, buf, DISK, 0), DISK);
	assert_memory_equal(buf, data, DISK);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		size_t want = DISK - offs[i] < 3000000 ? DISK - offs[i] : 3000000;

		assert_int_equal(xenvm_blob_pread(b, buf, 3000000, offs[i]), want);
		assert_memory_equal(buf, data + offs[i], want);
	}
	assert_int_equal(xenvm_blob_pread(b, buf, 10, DISK), 0);
	xenvm_blob_close(b);
	free(buf);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/imgs-chunk.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s.body", dir, dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_second_push_stores_the_changed_chunk(void **state)
{
	struct imgs_store st;
	struct xerr err = {""};
	char h1[IMGS_HEX_LEN + 1], h2[IMGS_HEX_LEN + 1], path[256];
	uint64_t b1, b2;

	(void)state;
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(push(&st, "disk:v1", disk1, false, h1, &err), 0);
	assert_int_equal(count_files("chunks/sha256", &b1), DISK >> 20);
	assert_int_equal(b1, DISK);
	assert_int_equal(push(&st, "disk:v2", disk2, false, h2, &err), 0);
	assert_int_equal(count_files("chunks/sha256", &b2), (DISK >> 20) + 1);
	assert_int_equal(b2 - b1, 1u << 20); /* one byte changed: one chunk more */
	assert_true(imgs_blob_exists(&st, h1));
	/* no whole copy: the root disk is only in chunks */
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, h2);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(count_files("chunked/sha256", NULL), 2);
	check_reads(h1, disk1);
	check_reads(h2, disk2);
	/* the copy a boot check makes */
	snprintf(path, sizeof(path), "%s/tmp/copy", dir);
	assert_int_equal(imgs_blob_copy(&st, h2, path, &err), 0);
	{
		FILE *f = fopen(path, "r");
		unsigned char *buf = malloc(DISK);

		assert_int_equal(fread(buf, 1, DISK, f), DISK);
		assert_memory_equal(buf, disk2, DISK);
		fclose(f);
		free(buf);
	}
	unlink(path);
	/* a deep fsck of a sound store repairs nothing */
	assert_int_equal(imgs_fsck_deep(&st, true, NULL, &err), 0);
	imgs_close(&st);
}

static void test_fsck_catches_a_corrupted_chunk(void **state)
{
	struct imgs_store st;
	struct xerr err = {""};
	struct xenvm_blob_index idx;
	struct imgs_ns site = {""};
	char h1[IMGS_HEX_LEN + 1], h2[IMGS_HEX_LEN + 1], path[256], v[IMGS_HEX_LEN + 1];
	uint32_t bad = CHANGED_AT >> 20;
	FILE *f;

	(void)state;
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(push(&st, "disk:v1", disk1, false, h1, &err), 0);
	assert_int_equal(push(&st, "disk:v2", disk2, false, h2, &err), 0);
	/* flip a byte in v2's own chunk, size kept */
	assert_int_equal(xenvm_blob_index_load(dir, h2, &idx, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/chunks/sha256/%s", dir, idx.chunks[bad]);
	xenvm_blob_index_free(&idx);
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 100, SEEK_SET);
	fputc(disk2[(bad << 20) + 100] ^ 0xff, f);
	fclose(f);
	/* the check at open sees sizes only; the deep one reads every chunk */
	assert_int_equal(imgs_fsck(&st, NULL, &err), 0);
	assert_true(imgs_fsck_deep(&st, true, NULL, &err) >= 3); /* blob, version, tags */
	assert_false(imgs_blob_exists(&st, h2));
	assert_int_equal(imgs_tag_get(&st, &site, "disk", "v2", v, &err), 0);
	assert_int_equal(access(path, F_OK), -1); /* the bad chunk went: a re-push repairs */
	assert_int_equal(imgs_tag_get(&st, &site, "disk", "v1", v, &err), 1);
	check_reads(h1, disk1);
	assert_int_equal(push(&st, "disk:v2", disk2, false, h2, &err), 0);
	check_reads(h2, disk2);
	assert_int_equal(imgs_fsck_deep(&st, true, NULL, &err), 0);
	imgs_close(&st);
}

static void test_gc_removes_orphans_keeps_shared(void **state)
{
	struct imgs_store st;
	struct xerr err = {""};
	struct imgs_ns site = {""};
	char h1[IMGS_HEX_LEN + 1], h2[IMGS_HEX_LEN + 1], path[256];

	(void)state;
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(push(&st, "disk:v1", disk1, false, h1, &err), 0);
	assert_int_equal(push(&st, "disk:v2", disk2, false, h2, &err), 0);
	assert_int_equal(imgs_tag_remove(&st, &site, "disk", "v1", "t", &err), 1);
	assert_int_equal(imgs_gc(&st, NULL, 0, 0, time(NULL) + 10, NULL, &err), 1);
	assert_false(imgs_blob_exists(&st, h1));
	assert_int_equal(count_files("chunks/sha256", NULL), DISK >> 20); /* v1's own one went */
	check_reads(h2, disk2);
	imgs_close(&st);
	/* a chunk no index names (a push killed before its index) goes at open */
	snprintf(path, sizeof(path), "%s/chunks/sha256/%064d", dir, 7);
	assert_int_equal(system(strcat(strcpy((char[300]){0}, "echo x > "), path)), 0);
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(count_files("chunks/sha256", NULL), DISK >> 20);
	check_reads(h2, disk2);
	imgs_close(&st);
}

static void test_hostile_index(void **state)
{
	static const char *const bad[] = {
	    "xenvm-chunked 1\nsize 10\nsha256 %s\nchunk 1048576\n../../../../../../etc/passwd\n",
	    "xenvm-chunked 1\nsize 10\nsha256 %s\nchunk 1048576\n"
	    "/0000000000000000000000000000000000000000000000000000000000000\n",
	    "xenvm-chunked 1\nsize 3000000\nsha256 %s\nchunk 1048576\n"
	    "0000000000000000000000000000000000000000000000000000000000000000\n",
	    "xenvm-chunked 1\nsize 10\nsha256 %s\nchunk 0\n",
	    "xenvm-chunked 1\nsize 10\nsha256 %s\nchunk 1048576\n"
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "xenvm-chunked 2\n",
	};
	struct xenvm_blob *b = NULL;
	struct xerr err = {""};
	struct imgs_store st;
	char hex[IMGS_HEX_LEN + 1], path[256], rel[128];

	(void)state;
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	imgs_close(&st);
	memset(hex, 'a', IMGS_HEX_LEN);
	hex[IMGS_HEX_LEN] = '\0';
	snprintf(path, sizeof(path), "%s/chunked/sha256/%s", dir, hex);
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");

		/* the index names itself: "%s" stands for its hex */
		const char *at = strstr(bad[i], "%s");

		if (at)
			fprintf(f, "%.*s%s%s", (int)(at - bad[i]), bad[i], hex, at + 2);
		else
			fputs(bad[i], f);
		fclose(f);
		assert_int_equal(xenvm_blob_open(dir, rel, &b, &err), -1);
		assert_null(b);
		assert_non_null(strstr(err.msg, path));
		assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
		assert_int_equal(access(path, F_OK), -1); /* fsck removed it */
		imgs_close(&st);
	}
	/* an index naming another file than its name */
	{
		FILE *f = fopen(path, "w");

		fprintf(f, "xenvm-chunked 1\nsize 1\nsha256 %064d\nchunk 1048576\n%064d\n", 1, 2);
		fclose(f);
		assert_int_equal(xenvm_blob_open(dir, rel, &b, &err), -1);
		assert_non_null(strstr(err.msg, "not its name"));
	}
	/* only blobs/sha256/<hex> may resolve to an index */
	assert_int_equal(xenvm_blob_open(dir, "blobs/sha256/../x", &b, &err), -1);
	assert_int_equal(xenvm_blob_open(dir, "chunked/sha256/x", &b, &err), -1);
}

/* A store made before chunking: its whole root disk stays whole, is read as it is, passes fsck. */
static void test_old_whole_blob_stays(void **state)
{
	struct imgs_store st;
	struct xerr err = {""};
	struct xenvm_blob *b = NULL;
	char h1[IMGS_HEX_LEN + 1], path[256], rel[128];
	unsigned char *buf = malloc(DISK);
	FILE *f;

	(void)state;
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	sha_hex(disk1, DISK, h1);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, h1);
	f = fopen(path, "w");
	assert_int_equal(fwrite(disk1, 1, DISK, f), DISK);
	fclose(f);
	assert_int_equal(push(&st, "disk:v1", disk1, false, NULL, &err), 0);
	assert_int_equal(count_files("chunks/sha256", NULL), 0);
	assert_int_equal(count_files("chunked/sha256", NULL), 0);
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", h1);
	assert_int_equal(xenvm_blob_open(dir, rel, &b, &err), 0);
	assert_false(xenvm_blob_chunked(b));
	assert_int_equal(xenvm_blob_size(b), DISK);
	assert_int_equal(xenvm_blob_pread(b, buf, DISK, 0), DISK);
	assert_memory_equal(buf, disk1, DISK);
	xenvm_blob_close(b);
	assert_int_equal(imgs_fsck_deep(&st, true, NULL, &err), 0);
	/* a new file next to it is chunked */
	assert_int_equal(push(&st, "disk:v2", disk2, false, NULL, &err), 0);
	assert_int_equal(count_files("chunks/sha256", NULL), DISK >> 20);
	free(buf);
	imgs_close(&st);
}

static void test_refused_push_costs_no_chunk(void **state)
{
	struct imgs_store st;
	struct xerr err = {""};

	(void)state;
	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(push(&st, "disk:v1", disk1, false, NULL, &err), 0);
	assert_int_equal(push(&st, "disk:v2", disk2, true, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not"));
	assert_int_equal(count_files("chunks/sha256", NULL), DISK >> 20);
	assert_int_equal(count_files("chunked/sha256", NULL), 1);
	assert_int_equal(count_files("tmp", NULL), 0);
	imgs_close(&st);
}

/* After a reopen: every index sound and named by a version, every chunk named, tmp/ empty. */
static void check_consistent(void)
{
	struct imgs_store st;
	struct imgs_version_info *v = NULL;
	struct xerr err = {""};
	size_t nv = 0;

	assert_int_equal(imgs_open(dir, &st, NULL, &err), 0);
	assert_int_equal(imgs_versions(&st, &v, &nv, &err), 0);
	for (size_t i = 0; i < nv; i++)
		for (int r = 0; r < IMGS_ROLES; r++)
			if (v[i].files[r].present)
				assert_true(imgs_blob_exists(&st, v[i].files[r].sha256));
	assert_int_equal(count_files("chunked/sha256", NULL), nv ? 1 : 0);
	assert_int_equal(count_files("chunks/sha256", NULL), nv ? DISK >> 20 : 0);
	assert_int_equal(count_files("tmp", NULL), 0);
	assert_int_equal(imgs_fsck_deep(&st, true, NULL, &err), 0);
	free(v);
	imgs_close(&st);
}

static void op_push(void)
{
	struct imgs_store st;
	struct xerr err = {""};

	if (imgs_open(dir, &st, NULL, &err) < 0 ||
	    push(&st, "disk:v1", disk1, false, NULL, &err) < 0)
		_exit(2);
	imgs_close(&st);
}

static void test_killed_mid_push(void **state)
{
	int step, crashed = 0;

	(void)state;
	for (step = 1; step < 40; step++) {
		pid_t pid;
		int status;

		teardown(state);
		setup(state);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			imgs_fault_after = step;
			op_push();
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			break;
		assert_int_equal(WEXITSTATUS(status), IMGS_FAULT_EXIT);
		crashed++;
		check_consistent();
	}
	/* 8 chunks, the index, 2 blobs, manifest, tag, catalog */
	assert_true(crashed >= 13);
	assert_true(step < 40);
	check_consistent();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_second_push_stores_the_changed_chunk, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_fsck_catches_a_corrupted_chunk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gc_removes_orphans_keeps_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_push_costs_no_chunk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_old_whole_blob_stays, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_killed_mid_push, setup, teardown),
	};
	uint32_t x = 12345;
	int rc;

	disk1 = malloc(DISK);
	disk2 = malloc(DISK);
	for (size_t i = 0; i < DISK; i++) {
		x = x * 1103515245u + 12345u;
		disk1[i] = (unsigned char)(x >> 16);
	}
	memcpy(disk2, disk1, DISK);
	disk2[CHANGED_AT] ^= 0x5a;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(disk1);
	free(disk2);
	return rc;
}

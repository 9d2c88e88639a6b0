/*
 * test_imagecast_manifest.c - chunk layout, the catalog digest, hashing from a store, text form,
 * midstate checks of single chunks, the cache of store manifests.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "imagecast/manifest.h"
#include "imagecast/mcache.h"

static char store[64];

static int make_store(void **state)
{
	(void)state;
	snprintf(store, sizeof(store), "/tmp/ic-manifest.XXXXXX");
	return mkdtemp(store) ? 0 : -1;
}

static int remove_store(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", store);
	return system(cmd);
}

/* Write `size` bytes of a pattern into store/name and describe it in f. */
static void put_file(struct ic_file *f, const char *role, const char *name, size_t size,
                     unsigned seed)
{
	char path[256];
	uint8_t *buf = malloc(size ? size : 1);
	FILE *fp;

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 31 + seed + i / 977);
	snprintf(path, sizeof(path), "%s/%s", store, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, size, fp), size);
	fclose(fp);
	memset(f, 0, sizeof(*f));
	snprintf(f->role, sizeof(f->role), "%s", role);
	f->path = (char *)name;
	f->size = size;
	assert_int_equal(ic_sha256(buf, size, f->sha), 0);
	free(buf);
}

/* The digest is the catalog's: sha256 over "<role> <sha256> <size>\n" lines. */
static void test_digest_formula(void **state)
{
	struct ic_file f[2];
	char line[512], hex[IC_SHA_HEX + 1], hex2[IC_SHA_HEX + 1], want[IC_DIGEST_LEN + 1];
	char got[IC_DIGEST_LEN + 1];
	uint8_t sha[IC_SHA_LEN];

	(void)state;
	memset(f, 0, sizeof(f));
	strcpy(f[0].role, "kernel");
	strcpy(f[1].role, "initrd");
	f[0].size = 123;
	f[1].size = 0;
	memset(f[0].sha, 0xab, IC_SHA_LEN);
	memset(f[1].sha, 0x01, IC_SHA_LEN);
	snprintf(line, sizeof(line), "kernel %s 123\ninitrd %s 0\n", ic_sha_to_hex(f[0].sha, hex),
	         ic_sha_to_hex(f[1].sha, hex2));
	assert_int_equal(ic_sha256(line, strlen(line), sha), 0);
	snprintf(want, sizeof(want), "sha256:%s", ic_sha_to_hex(sha, hex));
	assert_int_equal(ic_digest_of(f, 2, got), 0);
	assert_string_equal(got, want);
	assert_int_equal(ic_digest_of(f, 0, got), -1);
}

static void test_layout(void **state)
{
	struct ic_file f[4];
	struct ic_manifest *m = NULL;
	struct xerr err;
	char digest[IC_DIGEST_LEN + 1];
	const uint64_t cb = IC_CHUNK_MIN;
	size_t fi;
	uint64_t off;
	uint32_t len;

	(void)state;
	memset(f, 0, sizeof(f));
	const char *roles[] = {"kernel", "initrd", "rootdisk", "extra"};
	const uint64_t sizes[] = {0, 1, cb, 2 * cb + 5};

	for (int i = 0; i < 4; i++) {
		strcpy(f[i].role, roles[i]);
		f[i].path = (char *)roles[i];
		f[i].size = sizes[i];
	}
	assert_int_equal(ic_digest_of(f, 4, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, cb, f, 4, &m, &err), 0);
	assert_int_equal(m->nchunks, 0 + 1 + 1 + 3);
	assert_int_equal(m->total_bytes, 3 * cb + 6);
	assert_int_equal(m->files[3].first_chunk, 2);
	assert_int_equal(ic_manifest_chunk(m, 0, &fi, &off, &len), 0);
	assert_int_equal(fi, 1);
	assert_int_equal(len, 1);
	assert_int_equal(ic_manifest_chunk(m, 4, &fi, &off, &len), 0);
	assert_int_equal(fi, 3);
	assert_int_equal(off, 2 * cb);
	assert_int_equal(len, 5);
	assert_int_equal(ic_manifest_chunk(m, 5, &fi, &off, &len), -1);
	assert_int_equal(errno, ERANGE);
	ic_manifest_free(m);

	/* The files must give the requested digest. */
	digest[10] = digest[10] == 'a' ? 'b' : 'a';
	assert_int_equal(ic_manifest_new("img", digest, cb, f, 4, &m, &err), -1);
	assert_non_null(strstr(err.msg, "not the requested"));
	/* Chunk size bounds, duplicate roles, names. */
	assert_int_equal(ic_digest_of(f, 4, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, 1000, f, 4, &m, &err), -1);
	assert_int_equal(ic_manifest_new("../x", digest, cb, f, 4, &m, &err), -1);
	strcpy(f[1].role, "kernel");
	assert_int_equal(ic_manifest_new("img", digest, cb, f, 4, &m, &err), -1);

	/* A size whose round-up overflowed 64 bits was a file of 0 chunks (tests/fuzz). */
	strcpy(f[1].role, "initrd");
	f[3].size = UINT64_MAX;
	assert_int_equal(ic_digest_of(f, 4, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, cb, f, 4, &m, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err.msg, "too many chunks"));
	assert_null(m);
}

/*
 * The chunk table is sized by the sizes the file lines claim: a manifest from a peer must not make
 * the parser allocate more than its chunk lines fill.  (tests/fuzz/fuzz_imagecast_wire: a
 * 200-byte manifest claiming a 32 TiB file had it calloc twice 16 GiB before it found no chunk
 * line for them.)
 */
static void test_claimed_sizes(void **state)
{
	struct ic_file f;
	struct ic_manifest *m = NULL;
	struct xerr err;
	char digest[IC_DIGEST_LEN + 1], hex[IC_SHA_HEX + 1], text[512];
	const char *sizes[] = {"35184372088832", "18446744073709551615", "-1"};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&f, 0, sizeof(f));
		strcpy(f.role, "kernel");
		f.size = strtoull(sizes[i], NULL, 10);
		memset(f.sha, 0x5a, sizeof(f.sha));
		assert_int_equal(ic_digest_of(&f, 1, digest), 0);
		snprintf(text, sizeof(text),
		         "imagecast-manifest 2\nname img\ndigest %s\nchunk_bytes 65536\n"
		         "file kernel %s %s k\nchunk %s %s\n",
		         digest, sizes[i], ic_sha_to_hex(f.sha, hex), hex, hex);
		assert_int_equal(ic_manifest_parse(text, strlen(text), &m, &err), -1);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(err.msg, "chunks, the text has 1 chunk lines"));
		assert_null(m);
	}
	assert_non_null(strstr(err.msg, "the files need 281474976710656 chunks"));
}

static void test_hash_store_and_text(void **state)
{
	struct ic_file f[3];
	struct ic_manifest *m = NULL, *back = NULL;
	struct xerr err;
	char digest[IC_DIGEST_LEN + 1], *text = NULL;
	long len;
	uint8_t sha[IC_SHA_LEN];

	(void)state;
	put_file(&f[0], "kernel", "k", 100000, 1);
	put_file(&f[1], "initrd", "i", 3 * IC_CHUNK_MIN, 2);
	put_file(&f[2], "rootdisk", "r", 7, 3);
	assert_int_equal(ic_digest_of(f, 3, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, IC_CHUNK_MIN, f, 3, &m, &err), 0);
	assert_int_equal(ic_manifest_hash_store(m, store, &err), 0);
	/* chunk 1 is the second 64 KiB of the kernel... no: the tail of the kernel */
	{
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/k", store);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(ic_sha256_fd_range(fd, IC_CHUNK_MIN, 100000 - IC_CHUNK_MIN, sha),
		                 0);
		close(fd);
		assert_memory_equal(sha, m->chunks[1], IC_SHA_LEN);
	}
	len = ic_manifest_format(m, &text);
	assert_true(len > 0);
	assert_int_equal(ic_manifest_parse(text, (size_t)len, &back, &err), 0);
	assert_int_equal(back->nchunks, m->nchunks);
	assert_memory_equal(back->chunks, m->chunks, (size_t)m->nchunks * IC_SHA_LEN);
	assert_string_equal(back->files[2].path, "r");
	ic_manifest_free(back);

	/* A tampered file line no longer gives the digest. */
	text[strstr(text, "file kernel 100000 ") - text + 19] ^= 1;
	assert_int_equal(ic_manifest_parse(text, (size_t)len, &back, &err), -1);
	free(text);
	assert_int_equal(ic_manifest_parse("garbage\n", 8, &back, &err), -1);
	assert_non_null(strstr(err.msg, "not an imagecast manifest"));
	ic_manifest_free(m);

	/* Store content that differs from the catalog: named in the error. */
	f[2].sha[0] ^= 1;
	assert_int_equal(ic_digest_of(f, 3, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, IC_CHUNK_MIN, f, 3, &m, &err), 0);
	assert_int_equal(ic_manifest_hash_store(m, store, &err), -1);
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(err.msg, "image img: rootdisk"));
	ic_manifest_free(m);

	/* A file missing from the store. */
	f[2].sha[0] ^= 1;
	f[2].path = "missing";
	assert_int_equal(ic_digest_of(f, 3, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, IC_CHUNK_MIN, f, 3, &m, &err), 0);
	assert_int_equal(ic_manifest_hash_store(m, store, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, "missing"));
	ic_manifest_free(m);
}

/* Read chunk idx of m from the store into buf; returns its length. */
static uint32_t read_chunk(const struct ic_manifest *m, uint32_t idx, uint8_t *buf)
{
	char path[256];
	size_t fi;
	uint64_t off;
	uint32_t len;
	int fd;

	assert_int_equal(ic_manifest_chunk(m, idx, &fi, &off, &len), 0);
	snprintf(path, sizeof(path), "%s/%s", store, m->files[fi].path);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
	return len;
}

static void test_midstates(void **state)
{
	struct ic_file f[2];
	struct ic_manifest *m = NULL, *back = NULL;
	struct xerr err;
	char digest[IC_DIGEST_LEN + 1], *text = NULL, *p;
	uint8_t *buf = malloc(IC_CHUNK_MIN);
	uint8_t(*mids)[IC_SHA_LEN];
	long len;

	(void)state;
	assert_non_null(buf);
	put_file(&f[0], "kernel", "k", 3 * IC_CHUNK_MIN + 100, 4);
	put_file(&f[1], "initrd", "i", 2 * IC_CHUNK_MIN, 5);
	assert_int_equal(ic_digest_of(f, 2, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, IC_CHUNK_MIN, f, 2, &m, &err), 0);
	assert_int_equal(ic_manifest_hash_store(m, store, &err), 0);
	assert_non_null(m->mids);
	/* Every chunk passes alone, in any order; the last of a file ends in its sha256. */
	for (uint32_t c = m->nchunks; c-- > 0;) {
		uint32_t n = read_chunk(m, c, buf);

		assert_int_equal(ic_manifest_check_chunk(m, c, buf, n), 0);
	}
	assert_memory_equal(m->mids[3], f[0].sha, IC_SHA_LEN);
	/* One flipped byte fails, in the middle and in the last chunk of a file. */
	for (uint32_t c = 1; c <= 3; c += 2) {
		uint32_t n = read_chunk(m, c, buf);

		buf[n / 2] ^= 1;
		assert_int_equal(ic_manifest_check_chunk(m, c, buf, n), -1);
		assert_int_equal(errno, EBADMSG);
	}
	/* A chunk checked from a wrong midstate fails too. */
	(void)read_chunk(m, 2, buf);
	m->mids[1][0] ^= 1;
	assert_int_equal(ic_manifest_check_chunk(m, 2, buf, IC_CHUNK_MIN), -1);
	m->mids[1][0] ^= 1;
	assert_int_equal(ic_manifest_check_chunk(m, 2, buf, 100), -1);
	assert_int_equal(errno, ERANGE);

	/* Version 2 text round trip; a chain that does not end in the file's sha256 is refused. */
	len = ic_manifest_format(m, &text);
	assert_true(len > 0);
	assert_non_null(strstr(text, "imagecast-manifest 2\n"));
	assert_int_equal(ic_manifest_parse(text, (size_t)len, &back, &err), 0);
	assert_memory_equal(back->mids, m->mids, (size_t)m->nchunks * IC_SHA_LEN);
	ic_manifest_free(back);
	p = strstr(text, "chunk ");
	for (int i = 0; i < 3; i++)
		p = strstr(p + 1, "chunk ");
	p[6 + IC_SHA_HEX + 1] = p[6 + IC_SHA_HEX + 1] == '0' ? '1' : '0'; /* kernel's last */
	assert_int_equal(ic_manifest_parse(text, (size_t)len, &back, &err), -1);
	assert_non_null(strstr(err.msg, "midstates of kernel"));
	free(text);

	/* Version 1 text (no midstates) still parses; chunks are then checked by their sha256. */
	mids = m->mids;
	m->mids = NULL;
	len = ic_manifest_format(m, &text);
	m->mids = mids;
	assert_non_null(strstr(text, "imagecast-manifest 1\n"));
	assert_int_equal(ic_manifest_parse(text, (size_t)len, &back, &err), 0);
	assert_null(back->mids);
	(void)read_chunk(back, 4, buf);
	assert_int_equal(ic_manifest_check_chunk(back, 4, buf, IC_CHUNK_MIN), 0);
	buf[0] ^= 1;
	assert_int_equal(ic_manifest_check_chunk(back, 4, buf, IC_CHUNK_MIN), -1);
	ic_manifest_free(back);
	free(text);
	ic_manifest_free(m);
	free(buf);
}

static void test_mcache(void **state)
{
	struct ic_file f[1];
	struct ic_manifest *m = NULL, *m2 = NULL;
	struct ic_store s;
	struct xerr err;
	struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
	char digest[IC_DIGEST_LEN + 1], dir[128], path[256], *key = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/cache", store);
	assert_int_equal(mkdir(dir, 0700), 0);
	memset(&s, 0, sizeof(s));
	s.dir = dir;
	put_file(&f[0], "rootdisk", "r", 3 * IC_CHUNK_MIN + 5, 6);
	assert_int_equal(ic_digest_of(f, 1, digest), 0);
	assert_int_equal(ic_manifest_new("img", digest, IC_CHUNK_MIN, f, 1, &m, &err), 0);
	assert_int_equal(ic_manifest_new("img", digest, IC_CHUNK_MIN, f, 1, &m2, &err), 0);
	/* Nothing cached yet. */
	assert_int_equal(ic_mcache_load(&s, m2, store), 0);
	assert_true(ic_mcache_key(m, store, &key) > 0);
	assert_int_equal(ic_manifest_hash_store(m, store, &err), 0);
	assert_int_equal(ic_mcache_save(&s, m, key), 0);
	free(key);
	/* A hit fills the chunk hashes and midstates. */
	assert_int_equal(ic_mcache_load(&s, m2, store), 1);
	assert_memory_equal(m2->chunks, m->chunks, (size_t)m->nchunks * IC_SHA_LEN);
	assert_memory_equal(m2->mids, m->mids, (size_t)m->nchunks * IC_SHA_LEN);
	/* Another chunk size is another entry. */
	ic_manifest_free(m2);
	assert_int_equal(ic_manifest_new("img", digest, 2 * IC_CHUNK_MIN, f, 1, &m2, &err), 0);
	assert_int_equal(ic_mcache_load(&s, m2, store), 0);
	ic_manifest_free(m2);
	/* A file touched since (mtime, and so ctime) makes the entry stale: a miss, removed. */
	snprintf(path, sizeof(path), "%s/r", store);
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	assert_int_equal(ic_manifest_new("img", digest, IC_CHUNK_MIN, f, 1, &m2, &err), 0);
	assert_int_equal(ic_mcache_load(&s, m2, store), 0);
	snprintf(path, sizeof(path), "%s/store-manifests/%s.%u", dir, digest + 7, IC_CHUNK_MIN);
	assert_int_equal(access(path, F_OK), -1);
	/* A missing store file is a miss, not an error (hashing names it). */
	assert_true(ic_mcache_key(m, store, &key) > 0);
	assert_int_equal(ic_mcache_save(&s, m, key), 0);
	free(key);
	snprintf(path, sizeof(path), "%s/r", store);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(ic_mcache_load(&s, m2, store), 0);
	assert_int_equal(ic_mcache_drop(&s, digest, IC_CHUNK_MIN), 0);
	ic_manifest_free(m2);
	ic_manifest_free(m);
}

static void test_validators(void **state)
{
	(void)state;
	assert_int_equal(ic_valid_path("a/b/c.img"), 0);
	assert_int_equal(ic_valid_path("/abs/ok..name"), 0);
	assert_int_equal(ic_valid_path("../etc/shadow"), -1);
	assert_int_equal(ic_valid_path("a/../b"), -1);
	assert_int_equal(ic_valid_path("a/.."), -1);
	assert_int_equal(ic_valid_path("with space"), -1);
	assert_int_equal(ic_valid_path(""), -1);
	assert_int_equal(ic_valid_role("kernel"), 0);
	assert_int_equal(ic_valid_role("a/b"), -1);
	assert_int_equal(ic_valid_role(".hidden"), -1);
	assert_int_equal(ic_valid_digest("sha256:0123"), -1);
	assert_int_equal(ic_valid_name("ttylinux-mpi_1.0"), 0);
	assert_int_equal(ic_valid_name("-x"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digest_formula),
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_claimed_sizes),
	    cmocka_unit_test_setup_teardown(test_hash_store_and_text, make_store, remove_store),
	    cmocka_unit_test_setup_teardown(test_midstates, make_store, remove_store),
	    cmocka_unit_test_setup_teardown(test_mcache, make_store, remove_store),
	    cmocka_unit_test(test_validators),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* chunk.c - chunked blobs: receive, check, sweep, copy (see chunk.h). */
#include "chunk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

uint64_t imgs_chunk_min = 4ull << 20;

static int sha256_hex(const void *buf, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	imgs_sha256_hex(md, hex);
	return 0;
}

static void chunk_path(const struct imgs_store *st, const char *hex, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" XENVM_BLOB_CHUNK_DIR "/%s", st->dir, hex);
}

static void index_path(const struct imgs_store *st, const char *hex, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" XENVM_BLOB_CHUNKED_DIR "/%s", st->dir, hex);
}

bool imgs_chunked_exists(const struct imgs_store *st, const char *hex)
{
	char path[IMGS_PATH_MAX];
	struct stat sb;

	index_path(st, hex, path, sizeof(path));
	return lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A chunk of exactly len bytes is in the store. */
static bool chunk_present(const struct imgs_store *st, const char *hex, uint32_t len)
{
	char path[IMGS_PATH_MAX];
	struct stat sb;

	chunk_path(st, hex, path, sizeof(path));
	return lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == len;
}

/* Write data to <store>/tmp, fsync, rename to dst.  0, or -1 with err. */
static int publish(const struct imgs_store *st, const void *data, size_t len, const char *dst,
                   struct xerr *err)
{
	char tmp[IMGS_PATH_MAX];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/tmp/chunk.XXXXXX", st->dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return xerr_set(err, "%s: %s", tmp, strerror(errno));
	if (imgs_write_all(fd, data, len) < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0 ||
	    rename(tmp, dst) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return xerr_errno(err, e, "%s: %s", dst, strerror(e));
	}
	close(fd);
	return 0;
}

/* Read exactly len bytes.  0, or -1 with err. */
static int read_exact(int fd, char *buf, size_t len, uint64_t done, uint64_t size, struct xerr *err)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return xerr_set(err, "the file ended after %llu of %llu bytes%s%s",
			                (unsigned long long)(done + got), (unsigned long long)size,
			                n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		got += (size_t)n;
	}
	return 0;
}

int imgs_chunked_receive(struct imgs_store *st, int fd, uint64_t size, const char *want_hex,
                         bool *created, uint64_t *added, struct xerr *err)
{
	char path[IMGS_PATH_MAX], got[IMGS_HEX_LEN + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t nchunks = (size + IMGS_CHUNK_BYTES - 1) / IMGS_CHUNK_BYTES, done = 0;
	char(*names)[IMGS_HEX_LEN + 1] = NULL;
	bool *mine = NULL;
	EVP_MD_CTX *ctx = NULL;
	char *buf = NULL, *text = NULL;
	size_t tlen = 0;
	int rc = -1;

	*created = false;
	*added = 0;
	if (!imgs_hex_valid(want_hex))
		return xerr_set(err, "'%.80s' is not a sha256", want_hex);
	if (size == 0 || nchunks > UINT32_MAX)
		return xerr_set(err, "%" PRIu64 " bytes cannot be chunked", size);
	names = calloc((size_t)nchunks, sizeof(*names));
	mine = calloc((size_t)nchunks, sizeof(*mine));
	buf = malloc(IMGS_CHUNK_BYTES);
	ctx = EVP_MD_CTX_new();
	if (!names || !mine || !buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		xerr_set(err, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < nchunks; i++) {
		size_t len =
		    size - done < IMGS_CHUNK_BYTES ? (size_t)(size - done) : IMGS_CHUNK_BYTES;

		if (read_exact(fd, buf, len, done, size, err) < 0)
			goto out;
		if (EVP_DigestUpdate(ctx, buf, len) != 1 || sha256_hex(buf, len, names[i]) < 0) {
			xerr_set(err, "sha256 failed");
			goto out;
		}
		done += len;
		if (chunk_present(st, names[i], (uint32_t)len))
			continue;
		chunk_path(st, names[i], path, sizeof(path));
		if (publish(st, buf, len, path, err) < 0)
			goto out;
		mine[i] = true;
		*added += len;
		imgs_step();
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		xerr_set(err, "sha256 failed");
		goto out;
	}
	imgs_sha256_hex(md, got);
	if (strcmp(got, want_hex) != 0) {
		xerr_set(err, "its content has sha256 %s, not %s as the push said", got, want_hex);
		goto out;
	}
	chunk_path(st, want_hex, path, sizeof(path));
	if (*added && imgs_fsync_dir(path) < 0) {
		xerr_set(err, "%s: fsync of its directory: %s", path, strerror(errno));
		goto out;
	}
	if (imgs_chunked_exists(st, want_hex)) {
		rc = 0; /* the same file is there already (its missing chunks were written again) */
		goto out;
	}
	tlen = 128 + (size_t)nchunks * (IMGS_HEX_LEN + 1);
	text = malloc(tlen);
	if (!text) {
		xerr_set(err, "out of memory");
		goto out;
	}
	{
		size_t at = (size_t)snprintf(
		    text, tlen, "xenvm-chunked 1\nsize %" PRIu64 "\nsha256 %s\nchunk %u\n", size,
		    want_hex, IMGS_CHUNK_BYTES);

		for (uint64_t i = 0; i < nchunks; i++) {
			memcpy(text + at, names[i], IMGS_HEX_LEN);
			text[at + IMGS_HEX_LEN] = '\n';
			at += IMGS_HEX_LEN + 1;
		}
		tlen = at;
	}
	index_path(st, want_hex, path, sizeof(path));
	if (publish(st, text, tlen, path, err) < 0)
		goto out;
	if (imgs_fsync_dir(path) < 0) {
		xerr_set(err, "%s: fsync of its directory: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	*created = true;
	imgs_step();
	rc = 0;
out:
	if (rc < 0 && names) {
		/* what this call wrote goes again: a refused push costs no disk */
		for (uint64_t i = 0; i < nchunks; i++)
			if (mine[i]) {
				chunk_path(st, names[i], path, sizeof(path));
				(void)unlink(path);
			}
		*added = 0;
	}
	EVP_MD_CTX_free(ctx);
	free(text);
	free(buf);
	free(mine);
	free(names);
	return rc;
}

int imgs_chunked_check(const struct imgs_store *st, const char *hex, bool deep, struct xerr *err)
{
	struct xenvm_blob_index idx;
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char path[IMGS_PATH_MAX], got[IMGS_HEX_LEN + 1];
	char *buf = NULL;
	int rc = -1;

	if (xenvm_blob_index_load(st->dir, hex, &idx, NULL, err) < 0)
		return -1;
	if (deep && (!(buf = malloc(idx.chunk_bytes)) || !(ctx = EVP_MD_CTX_new()) ||
	             EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)) {
		xerr_set(err, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < idx.nchunks; i++) {
		uint32_t len = xenvm_blob_chunk_len(&idx, i);
		int fd;

		chunk_path(st, idx.chunks[i], path, sizeof(path));
		if (!chunk_present(st, idx.chunks[i], len)) {
			xerr_errno(err, ENOENT, "chunk %u (%s) is missing or not %u bytes", i,
			           idx.chunks[i], len);
			goto out;
		}
		if (!deep)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || read_exact(fd, buf, len, 0, len, err) < 0) {
			if (fd >= 0)
				close(fd);
			xerr_errno(err, EIO, "chunk %u (%s): cannot be read", i, idx.chunks[i]);
			goto out;
		}
		close(fd);
		if (sha256_hex(buf, len, got) < 0 || EVP_DigestUpdate(ctx, buf, len) != 1) {
			xerr_set(err, "sha256 failed");
			goto out;
		}
		if (strcmp(got, idx.chunks[i]) != 0) {
			xerr_errno(err, EBADMSG, "chunk %u (%s) has sha256 %s: corrupted", i,
			           idx.chunks[i], got);
			goto out;
		}
	}
	if (deep) {
		if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
			xerr_set(err, "sha256 failed");
			goto out;
		}
		imgs_sha256_hex(md, got);
		if (strcmp(got, hex) != 0) {
			xerr_errno(err, EBADMSG, "its chunks give sha256 %s, not its name", got);
			goto out;
		}
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	xenvm_blob_index_free(&idx);
	return rc;
}

int imgs_chunked_remove(struct imgs_store *st, const char *hex, struct xerr *err)
{
	char path[IMGS_PATH_MAX];

	if (!imgs_hex_valid(hex))
		return xerr_set(err, "'%.80s' is not a sha256", hex);
	index_path(st, hex, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	(void)imgs_fsync_dir(path);
	imgs_step();
	return 0;
}

int imgs_chunks_check_all(struct imgs_store *st, bool deep, void (*report)(const char *),
                          struct xerr *err)
{
	char dir[IMGS_PATH_MAX], line[1400];
	struct dirent *e;
	DIR *dh;
	int removed = 0;

	snprintf(dir, sizeof(dir), "%s/" XENVM_BLOB_CHUNKED_DIR, st->dir);
	dh = opendir(dir);
	if (!dh)
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dh))) {
		struct xerr cerr = {""};

		if (e->d_name[0] == '.' || (imgs_hex_valid(e->d_name) &&
		                            imgs_chunked_check(st, e->d_name, deep, &cerr) == 0))
			continue;
		if (!imgs_hex_valid(e->d_name)) {
			snprintf(cerr.msg, sizeof(cerr.msg), "not a sha256 name");
		} else if (deep && errno == EBADMSG && strncmp(cerr.msg, "chunk ", 6) == 0) {
			/* a corrupted chunk goes too, so that pushing the file again repairs it */
			char bad[IMGS_HEX_LEN + 1], path[IMGS_PATH_MAX];
			const char *p = strchr(cerr.msg, '(');

			if (p && sscanf(p + 1, "%64[0-9a-f]", bad) == 1 && imgs_hex_valid(bad)) {
				chunk_path(st, bad, path, sizeof(path));
				(void)unlink(path);
			}
		}
		snprintf(line, sizeof(line), "removed chunked blob %.64s: %s", e->d_name, cerr.msg);
		if (report)
			report(line);
		if (unlinkat(dirfd(dh), e->d_name, 0) < 0 && errno != ENOENT) {
			int e2 = errno;

			closedir(dh);
			return xerr_set(err, "%s/%.64s: %s", dir, e->d_name, strerror(e2));
		}
		removed++;
	}
	closedir(dh);
	if (removed)
		(void)imgs_fsync_dir(dir);
	return removed;
}

static int cmp_hex(const void *a, const void *b)
{
	return memcmp(a, b, IMGS_HEX_LEN);
}

/* The chunk names of every index, sorted, into *out (free()), *n.  0 or -1. */
static int named_chunks(const struct imgs_store *st, char (**out)[IMGS_HEX_LEN + 1], size_t *n,
                        struct xerr *err)
{
	char dir[IMGS_PATH_MAX];
	char(*v)[IMGS_HEX_LEN + 1] = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *dh;

	*n = 0;
	snprintf(dir, sizeof(dir), "%s/" XENVM_BLOB_CHUNKED_DIR, st->dir);
	dh = opendir(dir);
	if (!dh)
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dh))) {
		struct xenvm_blob_index idx;
		struct xerr ierr;

		if (!imgs_hex_valid(e->d_name))
			continue;
		/* An index that does not load names nothing: imgs_chunks_check_all judges it. */
		if (xenvm_blob_index_load(st->dir, e->d_name, &idx, NULL, &ierr) < 0) {
			if (errno == ENOMEM) {
				closedir(dh);
				free(v);
				return xerr_set(err, "out of memory");
			}
			continue;
		}
		if (*n + idx.nchunks > cap) {
			size_t nc = (cap ? cap * 2 : 1024) + idx.nchunks;
			void *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				xenvm_blob_index_free(&idx);
				closedir(dh);
				free(v);
				return xerr_set(err, "out of memory");
			}
			v = nv;
			cap = nc;
		}
		memcpy(v + *n, idx.chunks, idx.nchunks * sizeof(*v));
		*n += idx.nchunks;
		xenvm_blob_index_free(&idx);
	}
	closedir(dh);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_hex);
	*out = v;
	return 0;
}

int imgs_chunks_sweep(struct imgs_store *st, void (*report)(const char *), struct xerr *err)
{
	char dir[IMGS_PATH_MAX], path[IMGS_PATH_MAX + 300], line[400];
	char(*named)[IMGS_HEX_LEN + 1] = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *dh;
	int removed = 0;

	if (named_chunks(st, &named, &n, err) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/" XENVM_BLOB_CHUNK_DIR, st->dir);
	dh = opendir(dir);
	if (!dh) {
		free(named);
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	}
	while ((e = readdir(dh))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (imgs_hex_valid(e->d_name) && n &&
		     bsearch(e->d_name, named, n, sizeof(*named), cmp_hex)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) < 0 && errno != ENOENT) {
			closedir(dh);
			free(named);
			return xerr_set(err, "%s: %s", path, strerror(errno));
		}
		removed++;
	}
	closedir(dh);
	free(named);
	if (removed) {
		(void)imgs_fsync_dir(path);
		snprintf(line, sizeof(line), "removed %d chunk(s) no chunked blob names", removed);
		if (report)
			report(line);
		imgs_step();
	}
	return removed;
}

int imgs_blob_copy(const struct imgs_store *st, const char *hex, const char *dst, struct xerr *err)
{
	enum { BUF = 1 << 20 };
	char rel[IMGS_HEX_LEN + 32];
	struct xenvm_blob *b = NULL;
	char *buf = NULL;
	uint64_t off = 0, size;
	int out = -1, rc = -1;

	snprintf(rel, sizeof(rel), XENVM_BLOB_DIR "/%s", hex);
	if (!imgs_hex_valid(hex) || xenvm_blob_open(st->dir, rel, &b, err) < 0)
		return -1;
	size = xenvm_blob_size(b);
	buf = malloc(BUF);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (!buf || out < 0) {
		xerr_set(err, "%s: %s", dst, buf ? strerror(errno) : "out of memory");
		goto out;
	}
	while (off < size) {
		ssize_t n = xenvm_blob_pread(b, buf, BUF, off);

		if (n <= 0 || imgs_write_all(out, buf, (size_t)n) < 0) {
			xerr_set(err, "copying %s to %s: %s", rel, dst,
			         n == 0 ? "short read" : strerror(errno));
			goto out;
		}
		off += (uint64_t)n;
	}
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (rc < 0 && out >= 0)
		unlink(dst);
	free(buf);
	xenvm_blob_close(b);
	return rc;
}

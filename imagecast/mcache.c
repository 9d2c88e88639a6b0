/*
 * mcache.c - cached manifests of image-store files (see mcache.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcache.h"
#include "lib/blob.h"
#include "lib/small_file.h"

#define IC_MCACHE_DIR "store-manifests"
#define IC_MCACHE_MAGIC "imagecast-mcache 1\n"
#define IC_MCACHE_SEP "--\n"
#define IC_MCACHE_MAX (64 << 20)

/* "<cache>/store-manifests/<hex>.<chunk bytes>" into buf.  Returns 0 or -1 (ENAMETOOLONG). */
static int entry_path(const struct ic_store *s, const char *digest, uint64_t chunk_bytes, char *buf,
                      size_t len)
{
	int n;

	if (!s || !s->dir || ic_valid_digest(digest) < 0) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, len, "%s/%s/%s.%" PRIu64, s->dir, IC_MCACHE_DIR, digest + 7, chunk_bytes);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

long ic_mcache_key(const struct ic_manifest *m, const char *store, char **out)
{
	char path[PATH_MAX], *buf = NULL;
	size_t size = 0;
	FILE *f;
	int e = 0;

	if (!m || !store || !out) {
		errno = EINVAL;
		return -1;
	}
	f = open_memstream(&buf, &size);
	if (!f)
		return -1;
	for (size_t i = 0; i < m->nfiles && !e; i++) {
		const struct ic_file *fl = &m->files[i];
		struct stat st = {0};

		if (fl->path[0] == '/')
			snprintf(path, sizeof(path), "%s", fl->path);
		else if (snprintf(path, sizeof(path), "%s/%s", store, fl->path) >=
		         (int)sizeof(path))
			e = ENAMETOOLONG;
		/* a chunked file's key is its index's stat: index and chunks never change */
		if (!e) {
			struct xenvm_blob *b = NULL;

			if (xenvm_blob_open(store, fl->path, &b, NULL) < 0)
				e = errno;
			else
				st = *xenvm_blob_stat(b);
			xenvm_blob_close(b);
		}
		if (!e)
			fprintf(f, "key %s %ju %ju %jd %jd.%09ld %jd.%09ld %s\n", fl->role,
			        (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
			        (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			        (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, path);
	}
	if (fclose(f) != 0 && !e)
		e = ENOMEM;
	if (e) {
		free(buf);
		errno = e;
		return -1;
	}
	*out = buf;
	return (long)size;
}

/* Does the cached manifest describe exactly m's files (role, size, sha256, path, layout)? */
static int same_files(const struct ic_manifest *a, const struct ic_manifest *b)
{
	if (strcmp(a->digest, b->digest) != 0 || a->chunk_bytes != b->chunk_bytes ||
	    a->nfiles != b->nfiles || a->nchunks != b->nchunks)
		return 0;
	for (size_t i = 0; i < a->nfiles; i++)
		if (strcmp(a->files[i].role, b->files[i].role) != 0 ||
		    a->files[i].size != b->files[i].size ||
		    memcmp(a->files[i].sha, b->files[i].sha, IC_SHA_LEN) != 0 ||
		    strcmp(a->files[i].path, b->files[i].path) != 0)
			return 0;
	return 1;
}

int ic_mcache_load(const struct ic_store *s, struct ic_manifest *m, const char *store)
{
	char path[PATH_MAX], *text = NULL, *key = NULL, *sep;
	struct ic_manifest *cached = NULL;
	long len, klen;
	int rc = -1, e;

	if (!m || entry_path(s, m->digest, m->chunk_bytes, path, sizeof(path)) < 0)
		return -1;
	len = xenvm_read_small_file(path, IC_MCACHE_MAX, &text);
	if (len < 0) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	/* A file that cannot be stat'ed now is for hashing to report; it is a miss here. */
	klen = ic_mcache_key(m, store, &key);
	if (klen < 0) {
		rc = 0;
		goto out;
	}
	sep = strstr(text, "\n" IC_MCACHE_SEP);
	rc = 0;
	if (strncmp(text, IC_MCACHE_MAGIC, strlen(IC_MCACHE_MAGIC)) != 0 || !sep)
		goto stale;
	sep++; /* the key lines end with their newline */
	if ((size_t)(sep - text) != strlen(IC_MCACHE_MAGIC) + (size_t)klen ||
	    memcmp(text + strlen(IC_MCACHE_MAGIC), key, (size_t)klen) != 0)
		goto stale;
	sep += strlen(IC_MCACHE_SEP);
	if (ic_manifest_parse(sep, (size_t)(text + len - sep), &cached, NULL) < 0 ||
	    !same_files(cached, m) || (m->mids && !cached->mids))
		goto stale;
	memcpy(m->chunks, cached->chunks, (size_t)m->nchunks * IC_SHA_LEN);
	if (m->mids)
		memcpy(m->mids, cached->mids, (size_t)m->nchunks * IC_SHA_LEN);
	rc = 1;
	goto out;
stale:
	/* The files changed since (or the entry is torn): hash again and replace it. */
	(void)unlink(path);
out:
	e = errno;
	ic_manifest_free(cached);
	free(key);
	free(text);
	errno = e;
	return rc;
}

int ic_mcache_save(const struct ic_store *s, const struct ic_manifest *m, const char *key)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], *text = NULL;
	FILE *f = NULL;
	bool made = false; /* tmp exists and must go on failure */
	long len;
	int fd = -1, rc = -1, e;

	if (!m || !key || entry_path(s, m->digest, m->chunk_bytes, path, sizeof(path)) < 0)
		return -1;
	/* Both fit when path (entry_path: the same directory and more) fits in as much. */
	if (snprintf(tmp, sizeof(tmp), "%s/%s", s->dir, IC_MCACHE_DIR) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Made here, not at start: a cache that never served as a root needs none.  0700, like
	 * the rest of the cache (whose checks it inherits). */
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -1;
	len = ic_manifest_format(m, &text);
	if (len < 0)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		goto out;
	made = true;
	f = fdopen(fd, "w");
	if (!f)
		goto out;
	fd = -1;
	fputs(IC_MCACHE_MAGIC, f);
	fputs(key, f);
	fputs(IC_MCACHE_SEP, f);
	fwrite(text, 1, (size_t)len, f);
	e = ferror(f);
	if (fclose(f) != 0 || e) {
		f = NULL;
		if (e)
			errno = EIO;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) < 0)
		goto out;
	made = false;
	rc = 0;
out:
	e = errno;
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlink(tmp);
	free(text);
	errno = e;
	return rc;
}

int ic_mcache_drop(const struct ic_store *s, const char *digest, uint64_t chunk_bytes)
{
	char path[PATH_MAX];

	if (entry_path(s, digest, chunk_bytes, path, sizeof(path)) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

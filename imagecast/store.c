/*
 * store.c - the node's content-addressed image cache: check, resume, delta, publish, LRU.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "store.h"
#include "lib/small_file.h"

/* A manifest lists chunks: a large image has a long one, never this long. */
#define IC_STORE_MANIFEST_MAX (64 << 20)

static const char *const subdirs[] = {"images", "partial", "pins", "trash"};

int ic_check_dir(const char *path, bool create, struct xerr *err)
{
	char real[PATH_MAX], *slash;
	struct stat st;

	if (!path || !*path) {
		return xerr_errno(err, EINVAL, "no directory given");
	}
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT || !create)
			return xerr_set(err, "%s: %s", path, strerror(errno));
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return xerr_set(err, "cannot create %s: %s", path, strerror(errno));
		if (lstat(path, &st) < 0)
			return xerr_set(err, "%s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		return xerr_errno(err, ENOTDIR, "%s is not a directory", path);
	}
	if (st.st_uid != geteuid()) {
		return xerr_errno(err, EPERM, "%s is owned by uid %u, not %u", path,
		                  (unsigned)st.st_uid, (unsigned)geteuid());
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		errno = EPERM;
		return xerr_set(err,
		                "%s has loose permissions %04o: it must not be writable by "
		                "group or others",
		                path, (unsigned)(st.st_mode & 07777));
	}
	/* Whoever can rename an ancestor can swap the whole tree: check up to '/'. */
	if (!realpath(path, real))
		return xerr_set(err, "%s: %s", path, strerror(errno));
	while ((slash = strrchr(real, '/')) != NULL) {
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(real, &st) < 0)
			return xerr_set(err, "%s: %s", real, strerror(errno));
		if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))) {
			errno = EPERM;
			return xerr_set(err,
			                "%s (an ancestor of %s) is owned by uid %u with mode %04o: "
			                "another user could replace it",
			                real, path, (unsigned)st.st_uid,
			                (unsigned)(st.st_mode & 07777));
		}
		if (strcmp(real, "/") == 0)
			break;
	}
	return 0;
}

int ic_store_open(struct ic_store *s, const char *dir, uint64_t max_bytes, struct xerr *err)
{
	char path[PATH_MAX];

	if (!s || !dir) {
		return xerr_errno(err, EINVAL, "no cache directory");
	}
	memset(s, 0, sizeof(*s));
	if (ic_check_dir(dir, true, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		/* A cut path would check another directory than the one used. */
		if (snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]) >= (int)sizeof(path)) {
			return xerr_errno(err, ENAMETOOLONG, "cache directory %s: path too long",
			                  dir);
		}
		if (ic_check_dir(path, true, err) < 0)
			return -1;
	}
	s->dir = strdup(dir);
	if (!s->dir) {
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	s->max_bytes = max_bytes;
	return 0;
}

void ic_store_close(struct ic_store *s)
{
	if (!s)
		return;
	free(s->dir);
	s->dir = NULL;
}

int ic_store_path(const struct ic_store *s, const char *sub, const char *digest, const char *leaf,
                  char *buf, size_t len)
{
	int n;

	if (!s || !s->dir || !sub || !buf || ic_valid_digest(digest) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (leaf)
		n = snprintf(buf, len, "%s/%s/%s/%s", s->dir, sub, digest + 7, leaf);
	else
		n = snprintf(buf, len, "%s/%s/%s", s->dir, sub, digest + 7);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Write a small file atomically (temporary + fsync + rename).  Returns 0 or -1 with errno. */
static int write_small(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	size_t done = 0;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf; a missing path is success.  Returns 0 or -1 with errno. */
static int rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int ic_store_lookup(const struct ic_store *s, const char *digest, struct ic_manifest **m,
                    struct xerr *err)
{
	char path[PATH_MAX], *text = NULL;
	struct ic_manifest *parsed = NULL;
	long len;

	if (m)
		*m = NULL;
	if (ic_store_path(s, "images", digest, "manifest", path, sizeof(path)) < 0)
		return xerr_set(err, "invalid digest '%s'", digest ? digest : "(null)");
	len = xenvm_read_small_file(path, IC_STORE_MANIFEST_MAX, &text);
	if (len < 0) {
		if (errno == ENOENT)
			return 0;
		return xerr_set(err, "%s: %s", path, strerror(errno));
	}
	if (ic_manifest_parse(text, (size_t)len, &parsed, err) < 0) {
		free(text);
		return -1;
	}
	free(text);
	if (strcmp(parsed->digest, digest) != 0) {
		ic_manifest_free(parsed);
		return xerr_errno(err, EINVAL, "%s names digest %s", path, digest);
	}
	if (m)
		*m = parsed;
	else
		ic_manifest_free(parsed);
	return 1;
}

int ic_store_touch(const struct ic_store *s, const char *digest)
{
	char path[PATH_MAX];

	if (ic_store_path(s, "images", digest, "manifest", path, sizeof(path)) < 0)
		return -1;
	return utimensat(AT_FDCWD, path, NULL, 0);
}

/* One chunk known to the cache, for the delta lookup. */
struct known_chunk {
	uint8_t sha[IC_SHA_LEN];
	uint32_t image; /* index into the manifests array */
	uint32_t chunk;
};

static int known_cmp(const void *a, const void *b)
{
	return memcmp(((const struct known_chunk *)a)->sha, ((const struct known_chunk *)b)->sha,
	              IC_SHA_LEN);
}

/*
 * Copy every chunk of m that is missing (have[c] false) and that a published image holds.
 * The copied data is hashed again: a corrupt cache must not leak into a new image.
 * Returns the bytes copied, or -1 with errno (ENOSPC, EIO...).
 */
static long long seed_from_cache(const struct ic_store *s, const struct ic_manifest *m, int *fds,
                                 bool *have)
{
	struct ic_manifest **mans = NULL;
	struct known_chunk *known = NULL;
	size_t nmans = 0, nknown = 0, cap = 0;
	uint8_t *buf = NULL;
	long long copied = 0, rc = -1;
	char path[PATH_MAX];
	DIR *d = NULL;
	struct dirent *de;
	int saved = 0;

	snprintf(path, sizeof(path), "%s/images", s->dir);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char digest[IC_DIGEST_LEN + 1];
		struct ic_manifest *pm = NULL, **grown;

		if (!ic_is_sha_hex(de->d_name))
			continue;
		snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
		if (strcmp(digest, m->digest) == 0 || ic_store_lookup(s, digest, &pm, NULL) != 1)
			continue;
		grown = realloc(mans, (nmans + 1) * sizeof(*mans));
		if (!grown) {
			ic_manifest_free(pm);
			goto out;
		}
		mans = grown;
		mans[nmans++] = pm;
		for (uint32_t c = 0; c < pm->nchunks; c++) {
			if (nknown == cap) {
				struct known_chunk *k;

				cap = cap ? cap * 2 : 256;
				k = realloc(known, cap * sizeof(*known));
				if (!k)
					goto out;
				known = k;
			}
			memcpy(known[nknown].sha, pm->chunks[c], IC_SHA_LEN);
			known[nknown].image = (uint32_t)(nmans - 1);
			known[nknown].chunk = c;
			nknown++;
		}
	}
	if (nknown == 0) {
		rc = 0;
		goto out;
	}
	qsort(known, nknown, sizeof(*known), known_cmp);
	buf = malloc(m->chunk_bytes);
	if (!buf)
		goto out;
	for (uint32_t c = 0; c < m->nchunks; c++) {
		struct known_chunk key, *k;
		const struct ic_manifest *pm;
		size_t fi, pfi;
		uint64_t off, poff;
		uint32_t len, plen;
		uint8_t sha[IC_SHA_LEN];
		int fd;
		ssize_t n;

		if (have[c])
			continue;
		memcpy(key.sha, m->chunks[c], IC_SHA_LEN);
		k = bsearch(&key, known, nknown, sizeof(*known), known_cmp);
		if (!k)
			continue;
		pm = mans[k->image];
		if (ic_manifest_chunk(m, c, &fi, &off, &len) < 0 ||
		    ic_manifest_chunk(pm, k->chunk, &pfi, &poff, &plen) < 0 || plen != len)
			continue;
		if (ic_store_path(s, "images", pm->digest, pm->files[pfi].role, path,
		                  sizeof(path)) < 0)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* evicted meanwhile: the chunk will come over the network */
		n = pread(fd, buf, len, (off_t)poff);
		close(fd);
		if (n != (ssize_t)len || ic_sha256(buf, len, sha) < 0 ||
		    memcmp(sha, m->chunks[c], IC_SHA_LEN) != 0)
			continue;
		if (pwrite(fds[fi], buf, len, (off_t)off) != (ssize_t)len) {
			if (errno == 0)
				errno = EIO;
			goto out;
		}
		have[c] = true;
		copied += len;
	}
	rc = copied;
out:
	saved = errno;
	if (d)
		closedir(d);
	for (size_t i = 0; i < nmans; i++)
		ic_manifest_free(mans[i]);
	free(mans);
	free(known);
	free(buf);
	errno = saved;
	return rc;
}

int ic_store_partial_open(const struct ic_store *s, const struct ic_manifest *m, int *fds,
                          bool *have, uint64_t *resumed, uint64_t *seeded, struct xerr *err)
{
	char dir[PATH_MAX], path[PATH_MAX], *want = NULL, *old = NULL;
	bool resume = false;
	long wlen, olen;
	long long seed;
	uint64_t got = 0;
	int rc = -1;

	if (!s || !m || !fds || !have) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	for (size_t i = 0; i < m->nfiles; i++)
		fds[i] = -1;
	for (uint32_t c = 0; c < m->nchunks; c++)
		have[c] = false;
	if (ic_store_path(s, "partial", m->digest, NULL, dir, sizeof(dir)) < 0 ||
	    ic_store_path(s, "partial", m->digest, "manifest", path, sizeof(path)) < 0)
		return xerr_set(err, "image %s: bad digest", m->name);
	wlen = ic_manifest_format(m, &want);
	if (wlen < 0)
		return xerr_set(err, "out of memory");
	/* A partial copy survives a daemon restart; reuse it only if it is for the same layout. */
	olen = xenvm_read_small_file(path, IC_STORE_MANIFEST_MAX, &old);
	if (olen == wlen && memcmp(old, want, (size_t)wlen) == 0)
		resume = true;
	free(old);
	if (!resume) {
		if (rm_tree(dir) < 0) {
			xerr_set(err, "cannot remove stale %s: %s", dir, strerror(errno));
			goto out;
		}
		if (mkdir(dir, 0755) < 0) {
			xerr_set(err, "cannot create %s: %s", dir, strerror(errno));
			goto out;
		}
		if (write_small(path, want, (size_t)wlen) < 0) {
			xerr_set(err, "cannot write %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct ic_file *f = &m->files[i];
		struct stat st;

		if (ic_store_path(s, "partial", m->digest, f->role, path, sizeof(path)) < 0) {
			xerr_set(err, "image %s: path too long", m->name);
			goto fail;
		}
		fds[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fds[i] < 0 || fstat(fds[i], &st) < 0) {
			xerr_set(err, "cannot open %s: %s", path, strerror(errno));
			goto fail;
		}
		/* Reserve the space now so that a full disk fails the fetch before any transfer. */
		if (f->size > 0 && (uint64_t)st.st_size < f->size) {
			int e = posix_fallocate(fds[i], 0, (off_t)f->size);

			if (e == EOPNOTSUPP || e == EINVAL)
				e = ftruncate(fds[i], (off_t)f->size) < 0 ? errno : 0;
			if (e) {
				errno = e;
				xerr_set(err, "cannot allocate %" PRIu64 " bytes for %s: %s",
				         f->size, path, strerror(e));
				goto fail;
			}
		}
	}
	if (resume) {
		for (uint32_t c = 0; c < m->nchunks; c++) {
			size_t fi;
			uint64_t off;
			uint32_t len;
			uint8_t sha[IC_SHA_LEN];

			if (ic_manifest_chunk(m, c, &fi, &off, &len) == 0 &&
			    ic_sha256_fd_range(fds[fi], off, len, sha) == 0 &&
			    memcmp(sha, m->chunks[c], IC_SHA_LEN) == 0) {
				have[c] = true;
				got += len;
			}
		}
	}
	if (resumed)
		*resumed = got;
	seed = seed_from_cache(s, m, fds, have);
	if (seed < 0) {
		xerr_set(err, "image %s: copying chunks from the cache: %s", m->name,
		         strerror(errno));
		goto fail;
	}
	if (seeded)
		*seeded = (uint64_t)seed;
	rc = 0;
	goto out;
fail : {
	int saved = errno;

	for (size_t i = 0; i < m->nfiles; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	rm_tree(dir);
	errno = saved;
}
out:
	free(want);
	return rc;
}

int ic_store_partial_remove(const struct ic_store *s, const char *digest)
{
	char dir[PATH_MAX];

	if (ic_store_path(s, "partial", digest, NULL, dir, sizeof(dir)) < 0)
		return -1;
	return rm_tree(dir);
}

int ic_store_publish(const struct ic_store *s, const struct ic_manifest *m, int *fds,
                     const bool *verified, struct xerr *err)
{
	char from[PATH_MAX], to[PATH_MAX], images[PATH_MAX], hex[IC_SHA_HEX + 1];

	if (!s || !m || !fds) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct ic_file *f = &m->files[i];
		uint8_t sha[IC_SHA_LEN];

		if (!(verified && verified[i])) {
			if (ic_sha256_fd_range(fds[i], 0, f->size, sha) < 0)
				return xerr_set(err, "image %s: reading %s: %s", m->name, f->role,
				                strerror(errno));
			if (memcmp(sha, f->sha, IC_SHA_LEN) != 0) {
				return xerr_errno(err, EBADMSG,
				                  "image %s: %s has sha256 %s, expected %s",
				                  m->name, f->role, ic_sha_to_hex(sha, hex),
				                  ic_sha_to_hex(f->sha, from));
			}
		}
		if (fdatasync(fds[i]) < 0)
			return xerr_set(err, "image %s: syncing %s: %s", m->name, f->role,
			                strerror(errno));
	}
	if (ic_store_path(s, "partial", m->digest, NULL, from, sizeof(from)) < 0 ||
	    ic_store_path(s, "images", m->digest, NULL, to, sizeof(to)) < 0)
		return xerr_set(err, "image %s: path too long", m->name);
	if (fsync_dir(from) < 0)
		return xerr_set(err, "syncing %s: %s", from, strerror(errno));
	if (rename(from, to) < 0) {
		/* Someone published the same bytes first; ours are redundant. */
		if (errno == EEXIST || errno == ENOTEMPTY) {
			rm_tree(from);
			return 0;
		}
		return xerr_set(err, "publishing %s as %s: %s", from, to, strerror(errno));
	}
	snprintf(images, sizeof(images), "%s/images", s->dir);
	if (fsync_dir(images) < 0)
		return xerr_set(err, "syncing %s: %s", images, strerror(errno));
	return 0;
}

static int valid_holder(const char *h)
{
	if (!h || !*h || *h == '.' || strlen(h) > 128)
		return -1;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return -1;
	return 0;
}

int ic_store_pin(const struct ic_store *s, const char *digest, const char *holder)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int fd;

	if (valid_holder(holder) < 0 ||
	    ic_store_path(s, "pins", digest, NULL, dir, sizeof(dir)) < 0 ||
	    ic_store_path(s, "pins", digest, holder, path, sizeof(path)) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int ic_store_unpin(const struct ic_store *s, const char *digest, const char *holder)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (valid_holder(holder) < 0 ||
	    ic_store_path(s, "pins", digest, NULL, dir, sizeof(dir)) < 0 ||
	    ic_store_path(s, "pins", digest, holder, path, sizeof(path)) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (unlink(path) < 0)
		return -1;
	(void)rmdir(dir); /* fails harmlessly while other leases remain */
	return 0;
}

int ic_store_pins(const struct ic_store *s, const char *digest)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (ic_store_path(s, "pins", digest, NULL, dir, sizeof(dir)) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int ic_store_evict(const struct ic_store *s, const char *digest, struct xerr *err)
{
	static unsigned long seq;
	char from[PATH_MAX], to[PATH_MAX];
	int pins = ic_store_pins(s, digest);

	if (pins < 0)
		return xerr_set(err, "image %s: cannot read its leases: %s", digest,
		                strerror(errno));
	if (pins > 0) {
		return xerr_errno(err, EBUSY, "image %s is in use (%d lease%s)", digest, pins,
		                  pins == 1 ? "" : "s");
	}
	if (ic_store_path(s, "images", digest, NULL, from, sizeof(from)) < 0 ||
	    snprintf(to, sizeof(to), "%s/trash/%s.%ld.%lu", s->dir, digest + 7, (long)getpid(),
	             __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED)) >= (int)sizeof(to))
		return xerr_set(err, "image %s: path too long", digest);
	/* Rename first: the image vanishes at once; readers that have files open keep them. */
	if (rename(from, to) < 0)
		return xerr_set(err, "image %s: %s", digest,
		                errno == ENOENT ? "not in the cache" : strerror(errno));
	if (rm_tree(to) < 0)
		xwarn("cannot remove %s: %s", to, strerror(errno));
	return 0;
}

int ic_store_verify(const struct ic_store *s, const char *digest, struct xerr *err)
{
	struct ic_manifest *m = NULL;
	char path[PATH_MAX], hex[IC_SHA_HEX + 1];
	int rc = -1, fd = -1, found;

	found = ic_store_lookup(s, digest, &m, err);
	if (found < 0)
		return -1;
	if (found == 0) {
		return xerr_errno(err, ENOENT, "image %s is not in the cache", digest);
	}
	for (size_t i = 0; i < m->nfiles; i++) {
		uint8_t sha[IC_SHA_LEN];
		struct stat st;

		if (ic_store_path(s, "images", digest, m->files[i].role, path, sizeof(path)) < 0)
			goto out;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			xerr_set(err, "image %s (%s): %s: %s", m->name, digest, path,
			         strerror(errno));
			goto out;
		}
		if ((uint64_t)st.st_size != m->files[i].size ||
		    ic_sha256_fd_range(fd, 0, m->files[i].size, sha) < 0 ||
		    memcmp(sha, m->files[i].sha, IC_SHA_LEN) != 0) {
			errno = EBADMSG;
			xerr_set(err, "image %s (%s): %s does not match its sha256 %s", m->name,
			         digest, path, ic_sha_to_hex(m->files[i].sha, hex));
			goto out;
		}
		close(fd);
		fd = -1;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	ic_manifest_free(m);
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct ic_store_entry *x = a, *y = b;

	return x->last_use < y->last_use ? -1 : x->last_use > y->last_use;
}

/*
 * The disk space (allocated blocks) of the regular files in directory path that are neither the
 * image's files (m's roles, counted by their size) nor its manifest; 0 when it cannot be read.
 * The cache's bound must count what an image's directory really holds: a VM driver keeps
 * derived files beside the image (the qemu driver's uncompressed kernel: 30 MB of disk for a
 * 23 MB image), and those go when the image is evicted.
 */
static uint64_t dir_extra_bytes(const char *path, const struct ic_manifest *m)
{
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d = opendir(path);

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		bool own = strcmp(de->d_name, "manifest") == 0;

		for (size_t i = 0; i < m->nfiles && !own; i++)
			own = strcmp(de->d_name, m->files[i].role) == 0;
		if (!own && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

/* Append the entries of one subdirectory (images or partial). */
static int list_sub(const struct ic_store *s, const char *sub, struct ic_store_entry **v, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", s->dir, sub);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct ic_store_entry *e, *grown;
		struct ic_manifest *m = NULL;
		char *text = NULL;
		struct stat st;
		long len;

		if (!ic_is_sha_hex(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/%.64s/manifest", s->dir, sub, de->d_name) >=
		    (int)sizeof(path))
			continue; /* cannot be named, so cannot be served either */
		len = xenvm_read_small_file(path, IC_STORE_MANIFEST_MAX, &text);
		if (len < 0 || stat(path, &st) < 0 ||
		    ic_manifest_parse(text, (size_t)len, &m, NULL) < 0) {
			free(text);
			continue; /* being created or removed right now */
		}
		free(text);
		grown = realloc(*v, (*n + 1) * sizeof(**v));
		if (!grown) {
			ic_manifest_free(m);
			closedir(d);
			return -1;
		}
		*v = grown;
		e = &(*v)[(*n)++];
		memset(e, 0, sizeof(*e));
		snprintf(e->digest, sizeof(e->digest), "%s", m->digest);
		snprintf(e->name, sizeof(e->name), "%s", m->name);
		e->bytes = m->total_bytes;
		/* Shorter than the manifest's path just read. */
		snprintf(path, sizeof(path), "%s/%s/%.64s", s->dir, sub, de->d_name);
		e->disk_bytes = e->bytes + dir_extra_bytes(path, m);
		e->last_use = st.st_mtime;
		e->partial = strcmp(sub, "partial") == 0;
		e->pins = ic_store_pins(s, m->digest);
		ic_manifest_free(m);
	}
	closedir(d);
	return 0;
}

long ic_store_list(const struct ic_store *s, struct ic_store_entry **out)
{
	struct ic_store_entry *v = NULL;
	size_t n = 0;

	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	if (list_sub(s, "images", &v, &n) < 0 || list_sub(s, "partial", &v, &n) < 0) {
		int saved = errno;

		free(v);
		errno = saved;
		return -1;
	}
	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	return (long)n;
}

long long ic_store_used(const struct ic_store *s)
{
	struct ic_store_entry *v = NULL;
	long n = ic_store_list(s, &v);
	long long used = 0;

	if (n < 0)
		return -1;
	for (long i = 0; i < n; i++)
		used += (long long)v[i].disk_bytes;
	free(v);
	return used;
}

int ic_store_make_room(const struct ic_store *s, uint64_t need, const char *keep, struct xerr *err)
{
	struct ic_store_entry *v = NULL;
	long long used = 0;
	long n;
	int rc = -1;

	if (!s) {
		return xerr_errno(err, EINVAL, "internal error: no store");
	}
	if (s->max_bytes == 0)
		return 0; /* unbounded */
	n = ic_store_list(s, &v);
	if (n < 0)
		return xerr_set(err, "listing the cache %s: %s", s->dir, strerror(errno));
	for (long i = 0; i < n; i++)
		if (!keep || strcmp(v[i].digest, keep) != 0 || !v[i].partial)
			used += (long long)v[i].disk_bytes;
	/* Least recently used first; skip what a job holds and partial copies in flight. */
	for (long i = 0; i < n && (uint64_t)used + need > s->max_bytes; i++) {
		if (v[i].partial || v[i].pins > 0 || (keep && strcmp(v[i].digest, keep) == 0))
			continue;
		if (ic_store_evict(s, v[i].digest, NULL) == 0) {
			xinfo("evicted image %s (%s, %" PRIu64 " bytes on disk) to make room",
			      v[i].name, v[i].digest, v[i].disk_bytes);
			used -= (long long)v[i].disk_bytes;
		}
	}
	if ((uint64_t)used + need > s->max_bytes) {
		errno = ENOSPC;
		xerr_set(err,
		         "cache %s is full: %lld bytes held by images in use or in transfer, "
		         "%" PRIu64 " more needed, cache.max_size is %" PRIu64,
		         s->dir, used, need, s->max_bytes);
		goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

/* store.c - the store's layout, names, blobs, versions and the lock (see store.h). */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "chunk.h"
#include "lib/atomic_file.h"
#include "manifest.h"
#include "util.h"

const char *const imgs_roles[IMGS_ROLES] = {"kernel", "initrd", "rootdisk"};
int imgs_fault_after;
static int steps_done;

void imgs_step(void)
{
	if (imgs_fault_after > 0 && ++steps_done >= imgs_fault_after)
		_exit(IMGS_FAULT_EXIT);
}

bool imgs_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > IMGS_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	/* the temporaries of atomic writes beside tags are "<tag>.tmp.XXXXXX" */
	return strstr(s, ".tmp.") == NULL;
}

bool imgs_user_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > IMGS_USER_MAX || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

bool imgs_hex_valid(const char *s)
{
	if (!s || strlen(s) != IMGS_HEX_LEN)
		return false;
	for (size_t i = 0; i < IMGS_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

const char *imgs_ns_dir(const struct imgs_ns *ns, char *buf, size_t len)
{
	if (ns->user[0])
		snprintf(buf, len, "user/%s", ns->user);
	else
		snprintf(buf, len, "site");
	return buf;
}

const char *imgs_ns_prefix(const struct imgs_ns *ns, char *buf, size_t len)
{
	if (ns->user[0])
		snprintf(buf, len, "%s/", ns->user);
	else
		snprintf(buf, len, "%s", "");
	return buf;
}

/* ------------------------------------------------------------------ open */

static const char *const layout[] = {XENVM_BLOB_DIR,
                                     XENVM_BLOB_CHUNKED_DIR,
                                     XENVM_BLOB_CHUNK_DIR,
                                     "versions/site",
                                     "versions/user",
                                     "tags/site",
                                     "tags/user",
                                     "history/site",
                                     "history/user",
                                     "shares/user",
                                     "tmp"};

int imgs_open(const char *dir, struct imgs_store *st, void (*report)(const char *line),
              struct xerr *err)
{
	char path[IMGS_PATH_MAX];

	st->dir = NULL;
	st->lockfd = -1;
	if (!dir || dir[0] != '/')
		return xerr_set(err, "image store '%s': not an absolute path", dir ? dir : "");
	for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, layout[i]);
		if (xenvm_mkdir_p(path, 0755) < 0)
			return xerr_set(err, "image store %s: cannot create %s: %s", dir, path,
			                strerror(errno));
	}
	st->dir = strdup(dir);
	if (!st->dir)
		return xerr_set(err, "out of memory");
	snprintf(path, sizeof(path), "%s/.lock", dir);
	st->lockfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lockfd < 0 || flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		xerr_set(err, "image store %s: %s", dir,
		         e == EWOULDBLOCK ? "another process owns it (its .lock is held)"
		                          : strerror(e));
		imgs_close(st);
		errno = e;
		return -1;
	}
	if (imgs_fsck(st, report, err) < 0) {
		imgs_close(st);
		return -1;
	}
	return 0;
}

void imgs_close(struct imgs_store *st)
{
	if (st->lockfd >= 0)
		close(st->lockfd);
	st->lockfd = -1;
	free(st->dir);
	st->dir = NULL;
}

/* ------------------------------------------------------------------ blobs */

bool imgs_blob_exists(const struct imgs_store *st, const char *hex)
{
	char path[IMGS_PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", st->dir, hex);
	return (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode)) || imgs_chunked_exists(st, hex);
}

/* A whole-file blob (not chunked) exists. */
static bool whole_exists(const struct imgs_store *st, const char *hex)
{
	char path[IMGS_PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", st->dir, hex);
	return lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int imgs_blob_receive(struct imgs_store *st, int fd, uint64_t size, const char *want_hex,
                      bool *created, uint64_t *added, struct xerr *err)
{
	enum { BUF = 1 << 20 };
	char tmp[IMGS_PATH_MAX], path[IMGS_PATH_MAX], got[IMGS_HEX_LEN + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	char *buf = NULL;
	uint64_t done = 0;
	int out = -1, rc = -1;

	*created = false;
	*added = 0;
	if (!imgs_hex_valid(want_hex))
		return xerr_set(err, "'%.80s' is not a sha256", want_hex);
	/* A large file is chunked, unless a whole copy of it is there already (older stores). */
	if (size > imgs_chunk_min && !whole_exists(st, want_hex))
		return imgs_chunked_receive(st, fd, size, want_hex, created, added, err);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", st->dir, want_hex);
	snprintf(tmp, sizeof(tmp), "%s/tmp/blob.XXXXXX", st->dir);
	buf = malloc(BUF);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		xerr_set(err, "out of memory");
		goto out;
	}
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0) {
		xerr_set(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (done < size) {
		size_t want = size - done < BUF ? (size_t)(size - done) : BUF;
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xerr_set(err, "the file ended after %llu of %llu bytes%s%s",
			         (unsigned long long)done, (unsigned long long)size,
			         n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1 ||
		    imgs_write_all(out, buf, (size_t)n) < 0) {
			xerr_set(err, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		done += (uint64_t)n;
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
	if (imgs_blob_exists(st, want_hex)) {
		rc = 0; /* the same content is there already: nothing to publish */
		goto out;
	}
	if (fchmod(out, 0644) < 0 || fsync(out) < 0 || rename(tmp, path) < 0) {
		xerr_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (imgs_fsync_dir(path) < 0) {
		xerr_set(err, "%s: fsync of its directory: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	*created = true;
	*added = size;
	imgs_step();
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (tmp[0] && out >= 0)
		unlink(tmp);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

int imgs_blob_remove(struct imgs_store *st, const char *hex, struct xerr *err)
{
	char path[IMGS_PATH_MAX];

	if (!imgs_hex_valid(hex))
		return xerr_set(err, "'%.80s' is not a sha256", hex);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", st->dir, hex);
	if (unlink(path) < 0 && errno != ENOENT)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	imgs_step();
	return imgs_chunked_exists(st, hex) ? imgs_chunked_remove(st, hex, err) : 0;
}

/* ------------------------------------------------------------------ versions */

char *imgs_version_path(const struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                        char *buf, size_t len)
{
	char d[64];
	int n = snprintf(buf, len, "%s/versions/%s/%s.yaml", st->dir, imgs_ns_dir(ns, d, sizeof(d)),
	                 hex);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

int imgs_version_write(struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                       const char *text, struct xerr *err)
{
	char path[IMGS_PATH_MAX];

	if (!imgs_version_path(st, ns, hex, path, sizeof(path)))
		return xerr_set(err, "version path too long");
	if (ns->user[0]) {
		char dir[IMGS_PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/versions/user/%s", st->dir, ns->user);
		if (xenvm_mkdir_p(dir, 0755) < 0)
			return xerr_set(err, "%s: %s", dir, strerror(errno));
	}
	if (xenvm_write_file_atomic(path, text, strlen(text), 0644, (uid_t)-1, (gid_t)-1) < 0)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	imgs_step();
	return 0;
}

int imgs_version_remove(struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                        struct xerr *err)
{
	char path[IMGS_PATH_MAX];

	if (!imgs_version_path(st, ns, hex, path, sizeof(path)))
		return xerr_set(err, "version path too long");
	if (unlink(path) < 0 && errno != ENOENT)
		return xerr_set(err, "%s: %s", path, strerror(errno));
	(void)imgs_fsync_dir(path);
	imgs_step();
	return 0;
}

void imgs_version_touch(struct imgs_store *st, const struct imgs_ns *ns, const char *hex)
{
	char path[IMGS_PATH_MAX];

	if (imgs_version_path(st, ns, hex, path, sizeof(path)))
		(void)utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
}

/* "file <role> <size> <sha256>" lines are not in the manifest: read the YAML's files by hand. */
int imgs_version_info(const struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                      struct imgs_version_info *vi, struct xerr *err)
{
	char path[IMGS_PATH_MAX];
	struct imgs_manifest m;
	struct stat sb;

	memset(vi, 0, sizeof(*vi));
	if (!imgs_version_path(st, ns, hex, path, sizeof(path)))
		return xerr_set(err, "version path too long");
	if (imgs_manifest_read(path, &m, err) < 0)
		return -1;
	if (lstat(path, &sb) == 0)
		vi->mtime = (long long)sb.st_mtime;
	vi->ns = *ns;
	snprintf(vi->hex, sizeof(vi->hex), "%s", hex);
	snprintf(vi->owner, sizeof(vi->owner), "%s", m.owner);
	snprintf(vi->pushed_as, sizeof(vi->pushed_as), "%s", m.pushed_as);
	vi->created = m.created;
	for (int r = 0; r < IMGS_ROLES; r++) {
		vi->files[r] = m.files[r];
		vi->bytes += m.files[r].present ? m.files[r].size : 0;
	}
	if (strcmp(m.digest_hex, hex) != 0) {
		return xerr_errno(err, EINVAL, "%s: its files give digest sha256:%s, not its name",
		                  path, m.digest_hex);
	}
	return 0;
}

/* Append one version of namespace ns found as <dir>/<hex>.yaml. */
static int add_versions_in(const struct imgs_store *st, const struct imgs_ns *ns,
                           struct imgs_version_info **v, size_t *n, size_t *cap, struct xerr *err)
{
	char dir[IMGS_PATH_MAX], d[64];
	struct dirent *e;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/versions/%s", st->dir, imgs_ns_dir(ns, d, sizeof(d)));
	dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0 : xerr_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dh))) {
		char hex[IMGS_HEX_LEN + 1];
		size_t len = strlen(e->d_name);
		struct xerr ignored;

		if (len != IMGS_HEX_LEN + 5 || strcmp(e->d_name + IMGS_HEX_LEN, ".yaml") != 0)
			continue;
		memcpy(hex, e->d_name, IMGS_HEX_LEN);
		hex[IMGS_HEX_LEN] = '\0';
		if (!imgs_hex_valid(hex))
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct imgs_version_info *nv = realloc(*v, nc * sizeof(**v));

			if (!nv) {
				closedir(dh);
				return xerr_set(err, "out of memory");
			}
			*v = nv;
			*cap = nc;
		}
		/* An unreadable manifest is fsck's business; listings skip it. */
		if (imgs_version_info(st, ns, hex, &(*v)[*n], &ignored) == 0)
			(*n)++;
	}
	closedir(dh);
	return 0;
}

int imgs_each_ns(const struct imgs_store *st, const char *kind, imgs_ns_fn fn, void *ctx,
                 struct xerr *err)
{
	struct imgs_ns site = {""};
	char dir[IMGS_PATH_MAX];
	struct dirent *e;
	DIR *dh;
	int rc = -1;

	if (fn(st, &site, ctx, err) < 0)
		return -1;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s/user", st->dir, kind) >= sizeof(dir))
		return xerr_errno(err, ENAMETOOLONG, "%s/%s/user: name too long", st->dir, kind);
	dh = opendir(dir);
	if (!dh)
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dh))) {
		struct imgs_ns ns;

		if (!imgs_user_valid(e->d_name))
			continue;
		snprintf(ns.user, sizeof(ns.user), "%.32s", e->d_name);
		if (fn(st, &ns, ctx, err) < 0)
			goto out;
	}
	rc = 0;
out:
	closedir(dh);
	return rc;
}

struct versions_acc {
	struct imgs_version_info *v;
	size_t *n, cap;
};

static int versions_of_ns(const struct imgs_store *st, const struct imgs_ns *ns, void *ctx,
                          struct xerr *err)
{
	struct versions_acc *a = ctx;

	return add_versions_in(st, ns, &a->v, a->n, &a->cap, err);
}

int imgs_versions(const struct imgs_store *st, struct imgs_version_info **out, size_t *n,
                  struct xerr *err)
{
	struct versions_acc a = {NULL, n, 0};

	*n = 0;
	if (imgs_each_ns(st, "versions", versions_of_ns, &a, err) < 0) {
		free(a.v);
		*n = 0;
		return -1;
	}
	*out = a.v;
	return 0;
}

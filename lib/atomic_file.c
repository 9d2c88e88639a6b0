/* atomic_file.c - see atomic_file.h. */
#include "atomic_file.h"
#include "reader_acl.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, rc;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return errno = ENAMETOOLONG, -1;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* xenvm_write_file_atomic, and with reader != -1 xenvm_write_file_atomic_reader. */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                        gid_t gid, uid_t reader, gid_t reader_gid)
{
	char tmp[PATH_MAX];
	int fd = -1, rc = -1, saved;

	if (!path || (!data && len)) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0)
		goto out;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		goto out;
	if (reader != (uid_t)-1 && xenvm_grant_reader(fd, reader, reader_gid) < 0)
		goto out;
	if (fsync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out;
	tmp[0] = '\0';
	rc = fsync_parent(path);
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	errno = saved;
	return rc;
}

int xenvm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                            gid_t gid)
{
	return write_atomic(path, data, len, mode, uid, gid, (uid_t)-1, (gid_t)-1);
}

int xenvm_write_file_atomic_reader(const char *path, const void *data, size_t len, uid_t reader,
                                   gid_t reader_gid)
{
	return write_atomic(path, data, len, 0600, (uid_t)-1, (gid_t)-1, reader, reader_gid);
}

int xenvm_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len;

	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	len = strlen(path);
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -1;
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static int remove_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(fpath) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(fpath) < 0 && errno != ENOENT ? -1 : 0;
}

int xenvm_remove_tree(const char *path)
{
	struct stat st;

	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	/* FTW_PHYS: never follow a symlink a job's user may have planted; FTW_MOUNT: stay on it. */
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

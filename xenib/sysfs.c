/* sysfs.c - see sysfs.h. */
#include "sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

/* Returns 0, or -1 with errno ENAMETOOLONG/EINVAL and err filled. */
int xenib_path(char *buf, size_t len, const char *root, struct xerr *err, const char *fmt, ...)
{
	va_list ap;
	size_t rlen;
	int n;

	if (!buf || !len || !fmt || fmt[0] != '/') {
		return xerr_errno(err, EINVAL, "xenib_path: invalid argument");
	}
	if (!root || strcmp(root, "/") == 0)
		root = "";
	rlen = strlen(root);
	/* "/tmp/fix/" + "/sys" would still work, but keep the paths admins read tidy */
	while (rlen > 0 && root[rlen - 1] == '/')
		rlen--;
	if (rlen >= len) {
		return xerr_errno(err, ENAMETOOLONG, "%.200s...: path too long", root);
	}
	memcpy(buf, root, rlen);
	va_start(ap, fmt);
	n = vsnprintf(buf + rlen, len - rlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - rlen) {
		errno = ENAMETOOLONG;
		buf[len - 1] = '\0';
		return xerr_set(err, "%.200s...: path too long", buf);
	}
	return 0;
}

/* Returns 0, or -1 with errno (open/read's, EFBIG) and err naming the path. */
int xenib_sysfs_read(const char *path, char *buf, size_t len, struct xerr *err)
{
	size_t used = 0;
	int fd = -1, rc = -1, saved;

	if (!path || !buf || len < 2) {
		return xerr_errno(err, EINVAL, "xenib_sysfs_read: invalid argument");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		xerr_set(err, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, len - 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			xerr_set(err, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used == len - 1) {
			errno = EFBIG;
			xerr_set(err, "%s: longer than %zu bytes", path, len - 2);
			goto out;
		}
	}
	buf[used] = '\0';
	while (used > 0 && (buf[used - 1] == '\n' || buf[used - 1] == ' '))
		buf[--used] = '\0';
	rc = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return rc;
}

/* Returns 0, or -1 with errno (EINVAL for content that is not a decimal u32). */
int xenib_sysfs_read_u32(const char *path, uint32_t *out, struct xerr *err)
{
	char buf[32], *end = NULL;
	unsigned long long v;

	if (!out) {
		return xerr_errno(err, EINVAL, "xenib_sysfs_read_u32: invalid argument");
	}
	if (xenib_sysfs_read(path, buf, sizeof(buf), err) < 0)
		return -1;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || errno || *end || v > UINT32_MAX) {
		return xerr_errno(err, EINVAL, "%s: '%s' is not a number", path, buf);
	}
	*out = (uint32_t)v;
	return 0;
}

/* Returns 0, or -1 with errno and err "<path>: cannot write '<value>': <reason>". */
int xenib_sysfs_write(const char *path, const char *value, struct xerr *err)
{
	size_t len;
	ssize_t n;
	int fd = -1, rc = -1, saved;

	if (!path || !value) {
		return xerr_errno(err, EINVAL, "xenib_sysfs_write: invalid argument");
	}
	len = strlen(value);
	/* no O_CREAT: a missing attribute means a missing device or feature, never a new file */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		goto fail;
	/* sysfs store methods see one write: never split it */
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		goto fail;
	if ((size_t)n != len) {
		errno = EIO;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	/* the trail of every write at debug level: what an admin (and the tests) read back */
	xdebug("%s <- '%s'", path, value);
	rc = 0;
	goto out;
fail:
	xerr_set(err, "%s: cannot write '%s': %s", path, value, strerror(errno));
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return rc;
}

/* Returns 0, or -1 with errno (readlink's, ENAMETOOLONG) and err naming the path. */
int xenib_link_basename(const char *path, char *buf, size_t len, struct xerr *err)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	if (!path || !buf || !len) {
		return xerr_errno(err, EINVAL, "xenib_link_basename: invalid argument");
	}
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return xerr_set(err, "%s: cannot read link: %s", path, strerror(errno));
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base || strlen(base) >= len) {
		return xerr_errno(err, ENAMETOOLONG, "%s: unexpected link target '%s'", path,
		                  target);
	}
	strcpy(buf, base);
	return 0;
}

/*
 * xl_dmuser.c - see xl_dmuser.h.
 */
#include "xen/xl_dmuser.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xenstore.h>

static int note_path(const char *dir, const char *name, char *buf, size_t len)
{
	/* A domain name the driver made (xl_domain_name); never a path of its own. */
	if (!name || !name[0] || strchr(name, '/') || name[0] == '.')
		return -1;
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return -1;
	return 0;
}

int xl_dmuser_write(const char *name, uid_t uid, gid_t gid, struct xerr *err)
{
	if (mkdir("/run/xenvm", 0755) == -1 && errno != EEXIST)
		return xerr_set(err, "/run/xenvm: %s", strerror(errno));
	if (mkdir(XL_DMUSER_DIR, 0700) == -1 && errno != EEXIST)
		return xerr_set(err, "%s: %s", XL_DMUSER_DIR, strerror(errno));
	return xl_dmuser_write_in(XL_DMUSER_DIR, name, uid, gid, err);
}

int xl_dmuser_write_in(const char *dir, const char *name, uid_t uid, gid_t gid, struct xerr *err)
{
	char path[512], tmp[600], line[64];
	int fd = -1, n, ret = -1, saved = 0;

	if (note_path(dir, name, path, sizeof(path)) == -1)
		return xerr_errno(err, EINVAL, "%s: not a domain name for %s", name, dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		saved = errno;
		xerr_set(err, "%s: %s", tmp, strerror(saved));
		goto out;
	}
	n = snprintf(line, sizeof(line), "%u %u\n", (unsigned)uid, (unsigned)gid);
	if (write(fd, line, (size_t)n) != n || fsync(fd) == -1) {
		saved = errno ? errno : EIO;
		xerr_set(err, "%s: %s", tmp, strerror(saved));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		saved = errno;
		xerr_set(err, "%s: %s", path, strerror(saved));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret) {
		unlink(tmp);
		errno = saved;
	}
	return ret;
}

int xl_dmuser_read(const char *name, uid_t *uid, gid_t *gid, struct xerr *err)
{
	return xl_dmuser_read_in(XL_DMUSER_DIR, name, uid, gid, err);
}

int xl_dmuser_read_in(const char *dir, const char *name, uid_t *uid, gid_t *gid, struct xerr *err)
{
	char path[512], line[64] = "";
	unsigned long u, g;
	struct stat st;
	ssize_t n;
	char *end;
	int fd, ret = -1;

	if (note_path(dir, name, path, sizeof(path)) == -1)
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : xerr_set(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077)) {
		xerr_errno(err, EPERM, "%s: not root's 0600 file", path);
		goto out;
	}
	n = read(fd, line, sizeof(line) - 1);
	if (n <= 0) {
		xerr_errno(err, EINVAL, "%s: empty", path);
		goto out;
	}
	line[n] = '\0';
	errno = 0;
	u = strtoul(line, &end, 10);
	if (errno || end == line || *end != ' ') {
		xerr_errno(err, EINVAL, "%s: no uid", path);
		goto out;
	}
	g = strtoul(end + 1, &end, 10);
	if (errno || *end != '\n' || u == 0 || u > 0xfffffffeul || g > 0xfffffffeul) {
		xerr_errno(err, EINVAL, "%s: not 'UID GID' of a user other than root", path);
		goto out;
	}
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	ret = 1;
out:
	close(fd);
	return ret;
}

void xl_dmuser_remove(const char *name)
{
	xl_dmuser_remove_in(XL_DMUSER_DIR, name);
}

void xl_dmuser_remove_in(const char *dir, const char *name)
{
	char path[512];

	if (note_path(dir, name, path, sizeof(path)) == 0)
		unlink(path);
}

int xl_dm_backend_uid(uint32_t domid, uid_t *uid, struct xerr *err)
{
	static const char *const keys[] = {"device-model-pid", "qdisk-backend-pid"};
	char key[128], proc[64], line[256];
	struct xs_handle *xs;
	unsigned int len = 0;
	unsigned long pid, r = 0, e = 0, s = 0, f = 0;
	char *v = NULL, *end;
	FILE *fp = NULL;
	int ret = -1, found = 0;

	xs = xs_open(XS_OPEN_READONLY);
	if (!xs)
		return xerr_set(err, "xenstore: %s", strerror(errno));
	/* libxenlight 4.17 starts it as the PV domain's device model (device-model-pid); the
	 * older qdisk-only backend has its own key. */
	for (size_t i = 0; !v && i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(key, sizeof(key), "/local/domain/%u/image/%s", (unsigned)domid, keys[i]);
		v = xs_read(xs, XBT_NULL, key, &len);
	}
	if (!v) {
		xerr_errno(err, ENOENT,
		           "domain %u has no device model (image/%s or %s in xenstore)",
		           (unsigned)domid, keys[0], keys[1]);
		goto out;
	}
	pid = strtoul(v, &end, 10);
	if (end == v || *end || pid < 2) {
		xerr_errno(err, EINVAL, "%s: '%s' is not a pid", key, v);
		goto out;
	}
	snprintf(proc, sizeof(proc), "/proc/%lu/status", pid);
	fp = fopen(proc, "re");
	if (!fp) {
		xerr_set(err, "domain %u's 9pfs backend %lu: %s", (unsigned)domid, pid,
		         strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "Uid: %lu %lu %lu %lu", &r, &e, &s, &f) == 4) {
			found = 1;
			break;
		}
	}
	if (!found) {
		xerr_errno(err, EINVAL, "%s: no Uid line", proc);
		goto out;
	}
	*uid = (r == e && e == s && s == f) ? (uid_t)r : 0;
	ret = 0;
out:
	if (fp)
		fclose(fp);
	free(v);
	xs_close(xs);
	return ret;
}

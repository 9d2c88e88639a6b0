/* image_owners.c - see image_owners.h. */
#include "image_owners.h"

#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#define ROOTLESS_XATTR "user.rootlesscontainers"

/* One varint at *p (at most 10 bytes, as protobuf writes them).  0, or -1. */
static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (*p >= end)
			return -1;
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return 0;
	}
	return -1;
}

int xa_rootless_owner(const unsigned char *buf, size_t len, uint32_t *uid, uint32_t *gid)
{
	const unsigned char *p = buf, *end = buf + len;

	*uid = *gid = 0;
	while (p < end) {
		uint64_t key, v;

		if (varint(&p, end, &key) < 0 || (key >> 3) == 0)
			return -1;
		switch (key & 7) {
		case 0: /* varint: uid (1), gid (2), or a field of a later version */
			if (varint(&p, end, &v) < 0)
				return -1;
			if ((key >> 3) == 1 || (key >> 3) == 2) {
				if (v > UINT32_MAX)
					return -1;
				*((key >> 3) == 1 ? uid : gid) = (uint32_t)v;
			}
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 2:
			if (varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
				return -1;
			p += v;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		default:
			return -1;
		}
		if ((key >> 3) <= 2 && (key & 7) != 0)
			return -1; /* uid or gid not as a varint */
	}
	/* NoopID (2^32 - 1): "unchanged", i.e. the unpacking user's, which is the root's here */
	if (*uid == UINT32_MAX)
		*uid = 0;
	if (*gid == UINT32_MAX)
		*gid = 0;
	return 0;
}

int xa_pseudo_name(const char *path, FILE *out)
{
	if (strchr(path, '\n')) {
		errno = EINVAL;
		return -1;
	}
	for (const char *c = path; *c; c++) {
		if (strchr(" \t\r\v\f\"\\", *c))
			putc('\\', out);
		putc(*c, out);
	}
	return 0;
}

/* A path for a message: control bytes as \xNN, cut at len. */
static const char *shown(const char *path, char *buf, size_t len)
{
	size_t j = 0;

	for (const unsigned char *c = (const unsigned char *)path; *c && j + 5 < len; c++)
		j += (size_t)(*c < 0x20 || *c == 0x7f ? snprintf(buf + j, len - j, "\\x%02x", *c)
		                                      : snprintf(buf + j, len - j, "%c", *c));
	buf[j] = '\0';
	return buf;
}

/* nftw has no user pointer: the walk's state, one walk at a time. */
static struct {
	FILE *out;
	size_t skip; /* strlen(rootfs) */
	struct xa_owners *o;
	struct xerr *err;
} walk;

static int owner_of(const char *path, uint32_t *uid, uint32_t *gid)
{
	unsigned char buf[256];
	char show[600];
	ssize_t n = lgetxattr(path, ROOTLESS_XATTR, buf, sizeof(buf));

	*uid = *gid = 0;
	if (n < 0 && (errno == ENODATA || errno == ENOTSUP))
		return 0; /* root's (no owner recorded; symlinks cannot carry user xattrs) */
	if (n < 0 && errno != ERANGE)
		return xerr_set(walk.err, "%s: %s: %s", shown(path, show, sizeof(show)),
		                ROOTLESS_XATTR, strerror(errno));
	if (n < 0 || xa_rootless_owner(buf, (size_t)n, uid, gid) < 0)
		return xerr_set(walk.err,
		                "%s: the %s xattr (the layer's owner, as umoci --rootless keeps "
		                "it) does not parse",
		                shown(path, show, sizeof(show)), ROOTLESS_XATTR);
	return 0;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	uint32_t uid, gid;
	char show[600];

	if (flag == FTW_NS || flag == FTW_DNR) {
		xerr_set(walk.err, "%s: cannot %s it", shown(path, show, sizeof(show)),
		         flag == FTW_NS ? "stat" : "read");
		return 1;
	}
	if (owner_of(path, &uid, &gid) < 0)
		return 1;
	if (f->level == 0) {
		walk.o->root_uid = uid;
		walk.o->root_gid = gid;
		return 0;
	}
	if (xa_pseudo_name(path + walk.skip + 1, walk.out) < 0) {
		xerr_set(walk.err,
		         "%s: a file name with a newline (the root disk's owner list cannot name "
		         "it): the image is refused",
		         shown(path, show, sizeof(show)));
		return 1;
	}
	fprintf(walk.out, " m %o %u %u\n", (unsigned)(st->st_mode & 07777), uid, gid);
	walk.o->entries++;
	if (uid || gid)
		walk.o->not_root++;
	return 0;
}

int xa_write_owners(const char *rootfs, const char *out, struct xa_owners *o, struct xerr *err)
{
	int rc;

	memset(o, 0, sizeof(*o));
	walk.out = fopen(out, "w");
	if (!walk.out)
		return xerr_set(err, "%s: %s", out, strerror(errno));
	walk.skip = strlen(rootfs);
	walk.o = o;
	walk.err = err;
	err->msg[0] = '\0';
	rc = nftw(rootfs, visit, 64, FTW_PHYS | FTW_MOUNT);
	if (rc < 0 && !err->msg[0])
		xerr_set(err, "%s: %s", rootfs, strerror(errno));
	if (fclose(walk.out) != 0 && rc == 0) {
		rc = -1;
		xerr_set(err, "%s: %s", out, strerror(errno));
	}
	walk.out = NULL;
	return rc == 0 ? 0 : -1;
}

/*
 * xl_spec.c - checking a domain spec before any Xen call, and naming domains.
 *
 * Checks that can be made in dom0 are made here, so that a bad image fails with a message that
 * names the file and the fault instead of libxenlight's generic "domain build failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xl_domain.h"

int xl_domain_name(char *buf, size_t len, uint32_t jobid, const char *node)
{
	int n;

	if (!buf || !node || !*node ||
	    strspn(node, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789_.-") != strlen(node)) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, len, "xenvm-job%u-%s", jobid, node);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Open path as a readable regular file.  Returns the fd, or -1 with errno and err set. */
static int open_regular(const char *what, const char *path, struct xerr *err)
{
	struct stat st;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		xerr_set(err, "%s %s: %s", what, path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		xerr_set(err, "%s %s: not a non-empty regular file", what, path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Whether the first bytes of a ramdisk are a format the Linux initramfs unpacker takes: a newc
 * cpio archive or one of the compressions it is commonly built with. */
static int looks_like_initramfs(const unsigned char *b, size_t n)
{
	static const struct {
		const char *magic;
		size_t len;
	} magics[] = {
	    {"070701", 6},                   /* cpio newc */
	    {"070702", 6},                   /* cpio newc with CRC */
	    {"\x1f\x8b", 2},                 /* gzip */
	    {"\x28\xb5\x2f\xfd", 4},         /* zstd */
	    {"\xfd\x37\x7a\x58\x5a\x00", 6}, /* xz */
	    {"\x02\x21\x4c\x18", 4},         /* lz4 legacy */
	    {"BZh", 3},                      /* bzip2 */
	    {"\x5d\x00\x00", 3},             /* lzma */
	    {"\x89LZO", 4},                  /* lzo */
	};
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].len && memcmp(b, magics[i].magic, magics[i].len) == 0)
			return 1;
	return 0;
}

static int check_ramdisk(const char *path, struct xerr *err)
{
	unsigned char head[8];
	ssize_t n;
	int fd, ret = -1;

	fd = open_regular("ramdisk", path, err);
	if (fd < 0)
		goto out;
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0) {
		xerr_set(err, "ramdisk %s: %s", path, strerror(errno));
		goto out;
	}
	if (!looks_like_initramfs(head, (size_t)n)) {
		xerr_set(err, "ramdisk %s: not an initramfs (neither cpio nor a compressed stream)",
		         path);
		errno = ENOEXEC;
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return ret;
}

static int check_mac(const char *mac)
{
	unsigned int b[6];
	char tail;

	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
	           &tail) != 6 ||
	    strlen(mac) != 17)
		return -1;
	/* A multicast address would not be delivered to the guest as unicast. */
	return (b[0] & 1) ? -1 : 0;
}

int xl_domain_spec_check(const struct xl_domain_spec *spec, struct xerr *err)
{
	int fd;

	errno = EINVAL;
	if (!spec)
		return xerr_set(err, "no domain spec");
	if (!spec->name || !*spec->name || strlen(spec->name) > 64 ||
	    strspn(spec->name,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
	        strlen(spec->name))
		return xerr_set(err, "domain name '%s': 1..64 of [A-Za-z0-9_.-]",
		                spec->name ? spec->name : "");
	if (spec->type != XL_DOMAIN_PV && spec->type != XL_DOMAIN_PVH)
		return xerr_set(err, "%s: unknown domain type %d", spec->name, (int)spec->type);
	if (spec->memory_mib < 16 || spec->memory_mib > 1048576)
		return xerr_set(err, "%s: memory %u MiB out of 16..1048576", spec->name,
		                spec->memory_mib);
	if (spec->vcpus < 1 || spec->vcpus > 128)
		return xerr_set(err, "%s: vcpus %u out of 1..128", spec->name, spec->vcpus);
	if (spec->mac && check_mac(spec->mac) == -1)
		return xerr_set(err, "%s: MAC '%s' is not a unicast xx:xx:xx:xx:xx:xx", spec->name,
		                spec->mac);
	if (spec->mac && !spec->bridge)
		return xerr_set(err, "%s: a MAC without a bridge", spec->name);
	if (!spec->kernel)
		return xerr_set(err, "%s: no kernel", spec->name);
	fd = open_regular("kernel", spec->kernel, err);
	if (fd < 0)
		return -1;
	close(fd);
	if (spec->ramdisk && check_ramdisk(spec->ramdisk, err) == -1)
		return -1;
	if (spec->n_p9 > XL_DOMAIN_MAX_P9 || (spec->n_p9 && (!spec->p9_paths || !spec->p9_tags)))
		return xerr_set(err, "%s: %zu 9pfs shares (at most %d, each with a path and a tag)",
		                spec->name, spec->n_p9, XL_DOMAIN_MAX_P9);
	for (size_t i = 0; i < spec->n_p9; i++)
		if (!spec->p9_paths[i] || spec->p9_paths[i][0] != '/' || !spec->p9_tags[i] ||
		    !spec->p9_tags[i][0] || strchr(spec->p9_paths[i], ','))
			return xerr_set(err,
			                "%s: 9pfs share %zu: needs an absolute path without "
			                "commas and a tag",
			                spec->name, i);
	if (spec->disk) {
		fd = open_regular("disk", spec->disk, err);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

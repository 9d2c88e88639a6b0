/*
 * kernel.c - an uncompressed vmlinux derived from a bzImage, for the drivers (see kernel.h).
 */
#include "vm/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KERNEL_MAX (64 << 20)         /* a bzImage larger than this is not one */
#define ELF_MAX ((uint64_t)512 << 20) /* nor is a payload larger than this */
#define OUT_CHUNK (1 << 20)           /* decoder output buffer */
#define PAGE 4096                     /* hole granularity */

/* Read all of the file at path into *buf (free()) and *size.  0, or -1 with errno. */
static int read_all(const char *path, uint8_t **buf, size_t *size)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd, rc = -1, saved = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		saved = errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > KERNEL_MAX) {
		saved = st.st_size <= 0 ? ENOEXEC : EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size);
	if (!b) {
		saved = ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			saved = r < 0 ? errno : EIO; /* shrank while we read it */
			goto out;
		}
		got += (size_t)r;
	}
	*buf = b;
	*size = got;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	if (rc < 0)
		errno = saved;
	return rc;
}

/* Write len bytes, all of them.  0, or -1 with errno. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write len bytes at the file offset, leaving a hole for each page of zeros.  0, or -1. */
static int write_sparse(int fd, const uint8_t *p, size_t len)
{
	static const uint8_t zero[PAGE];

	for (size_t off = 0; off < len; off += PAGE) {
		size_t n = len - off < PAGE ? len - off : PAGE;

		if (n == PAGE && memcmp(p + off, zero, PAGE) == 0) {
			if (lseek(fd, PAGE, SEEK_CUR) < 0)
				return -1;
		} else if (write_all(fd, p + off, n) < 0) {
			return -1;
		}
	}
	return 0;
}

/* The errno for a liblzma return code. */
static int lzma_errno(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR:
	case LZMA_MEMLIMIT_ERROR:
		return ENOMEM;
	case LZMA_FORMAT_ERROR:
	case LZMA_OPTIONS_ERROR:
	case LZMA_DATA_ERROR:
	case LZMA_BUF_ERROR:
		return EBADMSG;
	default:
		return EIO;
	}
}

int xvm_kernel_extract_elf(const char *kernel, const char *out)
{
	static const uint8_t magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
	lzma_stream strm = LZMA_STREAM_INIT;
	uint8_t *img = NULL, *obuf = NULL, *p;
	uint8_t head[4] = {0};
	uint64_t total = 0;
	size_t size = 0;
	bool strm_up = false;
	int fd = -1, rc = -1, saved = 0;
	lzma_ret r;

	if (!kernel || !out) {
		errno = EINVAL;
		return -1;
	}
	if (read_all(kernel, &img, &size) < 0)
		return -1;
	p = memmem(img, size, magic, sizeof(magic));
	if (!p) {
		saved = ENOEXEC;
		goto out;
	}
	obuf = malloc(OUT_CHUNK);
	if (!obuf) {
		saved = ENOMEM;
		goto out;
	}
	r = lzma_stream_decoder(&strm, UINT64_MAX, 0);
	if (r != LZMA_OK) {
		saved = lzma_errno(r);
		goto out;
	}
	strm_up = true;
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		saved = errno;
		goto out;
	}
	/* The decompressor's trailing bytes follow the stream: decoding stops at its end. */
	strm.next_in = p;
	strm.avail_in = size - (size_t)(p - img);
	do {
		size_t n;

		strm.next_out = obuf;
		strm.avail_out = OUT_CHUNK;
		r = lzma_code(&strm, LZMA_FINISH);
		if (r != LZMA_OK && r != LZMA_STREAM_END) {
			saved = lzma_errno(r);
			goto out;
		}
		n = OUT_CHUNK - strm.avail_out;
		if (total < sizeof(head))
			memcpy(head + total, obuf,
			       n < sizeof(head) - total ? n : sizeof(head) - total);
		total += n;
		if (total > ELF_MAX) {
			saved = EFBIG;
			goto out;
		}
		if (write_sparse(fd, obuf, n) < 0) {
			saved = errno;
			goto out;
		}
	} while (r != LZMA_STREAM_END);
	if (memcmp(head,
	           "\x7f"
	           "ELF",
	           4) != 0) {
		saved = ENOEXEC;
		goto out;
	}
	/* A hole at the end has no size until the file is given it. */
	if (ftruncate(fd, (off_t)total) < 0 || fsync(fd) < 0) {
		saved = errno;
		goto out;
	}
	rc = 0;
out:
	if (strm_up)
		lzma_end(&strm);
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	if (rc < 0 && fd >= 0)
		unlink(out);
	free(obuf);
	free(img);
	if (rc < 0)
		errno = saved;
	return rc;
}

int xvm_kernel_boot_path(const char *kernel, char *out, size_t len)
{
	char derived[4096], tmp[4200];
	struct stat ks, ds;

	if (!kernel || !out) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(out, len, "%s", kernel) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (snprintf(derived, sizeof(derived), "%s.vmlinux", kernel) >= (int)sizeof(derived) ||
	    strlen(derived) >= len || stat(kernel, &ks) < 0)
		return 0;
	if (stat(derived, &ds) == 0 && ds.st_mtime >= ks.st_mtime) {
		snprintf(out, len, "%s", derived);
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", derived, (int)getpid());
	if (xvm_kernel_extract_elf(kernel, tmp) < 0)
		return 0;
	if (rename(tmp, derived) < 0) {
		unlink(tmp);
		return 0;
	}
	snprintf(out, len, "%s", derived);
	return 1;
}

/* blob.c - a store file, whole or chunked, read by its catalog path (see blob.h). */
#include "blob.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/small_file.h"

/* Chunks asked for ahead of the one read (4 MiB: a few of imagecast's reads ahead). */
#define BLOB_AHEAD 4

struct xenvm_blob {
	int fd;                      /* the whole file, or -1 when chunked */
	struct stat st;              /* of the file or the index */
	struct xenvm_blob_index idx; /* chunked only */
	char chunkdir[PATH_MAX];     /* <store>/chunks/sha256 */
	int cfd;                     /* the chunk last read, kept open */
	uint32_t cidx;
};

bool xenvm_blob_hex_valid(const char *s)
{
	if (!s || strlen(s) != XENVM_BLOB_HEX)
		return false;
	for (size_t i = 0; i < XENVM_BLOB_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void xenvm_blob_index_free(struct xenvm_blob_index *idx)
{
	free(idx->chunks);
	memset(idx, 0, sizeof(*idx));
}

uint32_t xenvm_blob_chunk_len(const struct xenvm_blob_index *idx, uint32_t i)
{
	uint64_t off = (uint64_t)i * idx->chunk_bytes;

	return idx->size - off < idx->chunk_bytes ? (uint32_t)(idx->size - off) : idx->chunk_bytes;
}

/* The next line of text (without its newline) into line; false at the end or if too long. */
static bool next_line(const char **p, const char *end, char *line, size_t len)
{
	const char *nl;
	size_t n;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl)
		return false; /* every line ends in a newline: a cut index is refused */
	n = (size_t)(nl - *p);
	if (n >= len)
		return false;
	memcpy(line, *p, n);
	line[n] = '\0';
	*p = nl + 1;
	return true;
}

int xenvm_blob_index_parse(const char *text, size_t len, const char *what,
                           struct xenvm_blob_index *idx, struct xerr *err)
{
	const char *p = text, *end = text + len;
	char line[128], hex[XENVM_BLOB_HEX + 2];
	unsigned long long size, cb;
	uint64_t want;
	int used = 0;

	memset(idx, 0, sizeof(*idx));
	if (!next_line(&p, end, line, sizeof(line)) || strcmp(line, "xenvm-chunked 1") != 0)
		return xerr_errno(err, EBADMSG, "%s: not a chunked index (no 'xenvm-chunked 1')",
		                  what);
	if (!next_line(&p, end, line, sizeof(line)) ||
	    sscanf(line, "size %llu%n", &size, &used) != 1 || line[used] != '\0' ||
	    !next_line(&p, end, line, sizeof(line)) ||
	    sscanf(line, "sha256 %65s%n", hex, &used) != 1 || line[used] != '\0' ||
	    !xenvm_blob_hex_valid(hex) || !next_line(&p, end, line, sizeof(line)) ||
	    sscanf(line, "chunk %llu%n", &cb, &used) != 1 || line[used] != '\0' || cb == 0 ||
	    cb > (1u << 30))
		return xerr_errno(err, EBADMSG, "%s: bad header (size, sha256, chunk)", what);
	want = (size + cb - 1) / cb;
	if (want == 0 || want > UINT32_MAX || (uint64_t)(end - p) != want * (XENVM_BLOB_HEX + 1))
		return xerr_errno(err, EBADMSG,
		                  "%s: %llu bytes in chunks of %llu need %" PRIu64
		                  " chunk lines of 65 bytes",
		                  what, size, cb, want);
	idx->chunks = calloc((size_t)want, sizeof(*idx->chunks));
	if (!idx->chunks)
		return xerr_errno(err, ENOMEM, "out of memory");
	idx->size = size;
	idx->chunk_bytes = (uint32_t)cb;
	idx->nchunks = (uint32_t)want;
	memcpy(idx->sha256, hex, sizeof(idx->sha256));
	for (uint32_t i = 0; i < idx->nchunks; i++) {
		if (!next_line(&p, end, line, sizeof(line)) || !xenvm_blob_hex_valid(line)) {
			xenvm_blob_index_free(idx);
			return xerr_errno(err, EBADMSG, "%s: chunk %u is not a sha256", what, i);
		}
		memcpy(idx->chunks[i], line, XENVM_BLOB_HEX + 1);
	}
	return 0;
}

int xenvm_blob_index_load(const char *store, const char *hex, struct xenvm_blob_index *idx,
                          struct stat *st, struct xerr *err)
{
	char path[PATH_MAX], *text = NULL;
	ssize_t n;
	int rc;

	memset(idx, 0, sizeof(*idx));
	if (!xenvm_blob_hex_valid(hex))
		return xerr_errno(err, EINVAL, "'%.80s' is not a sha256", hex);
	if (snprintf(path, sizeof(path), "%s/" XENVM_BLOB_CHUNKED_DIR "/%s", store, hex) >=
	    (int)sizeof(path))
		return xerr_errno(err, ENAMETOOLONG, "%s: path too long", store);
	n = xenvm_read_small_file(path, XENVM_BLOB_INDEX_MAX, &text);
	if (n < 0)
		return xerr_errno(err, errno, "%s: %s", path, strerror(errno));
	if (st && lstat(path, st) < 0) {
		int e = errno;

		free(text);
		return xerr_errno(err, e, "%s: %s", path, strerror(e));
	}
	rc = xenvm_blob_index_parse(text, (size_t)n, path, idx, err);
	free(text);
	if (rc == 0 && strcmp(idx->sha256, hex) != 0) {
		xenvm_blob_index_free(idx);
		return xerr_errno(err, EBADMSG, "%s: it describes sha256 %.64s, not its name", path,
		                  idx->sha256);
	}
	return rc;
}

/* "blobs/sha256/<hex>" -> hex; NULL for any other path. */
static const char *blob_hex_of(const char *path)
{
	static const char pre[] = XENVM_BLOB_DIR "/";

	if (strncmp(path, pre, sizeof(pre) - 1) != 0 ||
	    !xenvm_blob_hex_valid(path + sizeof(pre) - 1))
		return NULL;
	return path + sizeof(pre) - 1;
}

int xenvm_blob_open(const char *store, const char *path, struct xenvm_blob **out, struct xerr *err)
{
	char full[PATH_MAX];
	struct xenvm_blob *b;
	const char *hex;
	int n;

	*out = NULL;
	if (path[0] == '/')
		n = snprintf(full, sizeof(full), "%s", path);
	else
		n = snprintf(full, sizeof(full), "%s/%s", store, path);
	if (n < 0 || (size_t)n >= sizeof(full))
		return xerr_errno(err, ENAMETOOLONG, "%s/%s: path too long", store, path);
	b = calloc(1, sizeof(*b));
	if (!b)
		return xerr_errno(err, ENOMEM, "out of memory");
	b->cfd = -1;
	b->fd = open(full, O_RDONLY | O_CLOEXEC);
	if (b->fd >= 0) {
		if (fstat(b->fd, &b->st) < 0) {
			int e = errno;

			xenvm_blob_close(b);
			return xerr_errno(err, e, "%s: %s", full, strerror(e));
		}
		*out = b;
		return 0;
	}
	if (errno != ENOENT || path[0] == '/' || !(hex = blob_hex_of(path))) {
		int e = errno;

		xenvm_blob_close(b);
		return xerr_errno(err, e, "%s: %s", full, strerror(e));
	}
	if (snprintf(b->chunkdir, sizeof(b->chunkdir), "%s/" XENVM_BLOB_CHUNK_DIR, store) >=
	    (int)sizeof(b->chunkdir)) {
		xenvm_blob_close(b);
		return xerr_errno(err, ENAMETOOLONG, "%s: path too long", store);
	}
	if (xenvm_blob_index_load(store, hex, &b->idx, &b->st, err) < 0) {
		int e = errno;

		xenvm_blob_close(b);
		if (e == ENOENT) /* neither form: name the path the caller gave */
			return xerr_errno(err, ENOENT, "%s: %s", full, strerror(ENOENT));
		errno = e;
		return -1;
	}
	*out = b;
	return 0;
}

uint64_t xenvm_blob_size(const struct xenvm_blob *b)
{
	return b->fd >= 0 ? (uint64_t)b->st.st_size : b->idx.size;
}

bool xenvm_blob_chunked(const struct xenvm_blob *b)
{
	return b->fd < 0;
}

const struct stat *xenvm_blob_stat(const struct xenvm_blob *b)
{
	return &b->st;
}

/* Make b->cfd chunk i's file, checked for its length.  0, or -1 with errno. */
static int chunk_open(struct xenvm_blob *b, uint32_t i)
{
	char path[PATH_MAX + 80];
	struct stat st;
	bool first;
	int fd;

	if (b->cfd >= 0 && b->cidx == i)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", b->chunkdir, b->idx.chunks[i]);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != xenvm_blob_chunk_len(&b->idx, i)) {
		close(fd);
		errno = EIO;
		return -1;
	}
	first = b->cfd < 0 || i != b->cidx + 1; /* not a sequential step: nothing asked ahead */
	if (first)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
	if (b->cfd >= 0)
		close(b->cfd);
	b->cfd = fd;
	b->cidx = i;
	/*
	 * Readahead does not cross files: ask for the chunks ahead now, so that a sequential reader
	 * (imagecast's root) finds them in the page cache, as in one file (bench-chunkstore).
	 */
	for (uint32_t k = first ? i + 1 : i + BLOB_AHEAD; k <= i + BLOB_AHEAD && k < b->idx.nchunks;
	     k++) {
		snprintf(path, sizeof(path), "%s/%s", b->chunkdir, b->idx.chunks[k]);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
			close(fd);
		}
	}
	return 0;
}

ssize_t xenvm_blob_pread(struct xenvm_blob *b, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (b->fd >= 0)
		return pread(b->fd, buf, len, (off_t)off);
	if (off >= b->idx.size)
		return 0;
	if (len > b->idx.size - off)
		len = (size_t)(b->idx.size - off);
	while (done < len) {
		uint64_t at = off + done;
		uint32_t i = (uint32_t)(at / b->idx.chunk_bytes);
		uint32_t in = (uint32_t)(at % b->idx.chunk_bytes);
		size_t want = xenvm_blob_chunk_len(&b->idx, i) - in;
		ssize_t n;

		if (want > len - done)
			want = len - done;
		if (chunk_open(b, i) < 0)
			return -1;
		n = pread(b->cfd, (char *)buf + done, want, (off_t)in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* shorter than fstat said: changed under us */
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void xenvm_blob_close(struct xenvm_blob *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->cfd >= 0)
		close(b->cfd);
	xenvm_blob_index_free(&b->idx);
	free(b);
}

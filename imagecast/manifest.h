/*
 * manifest.h - what an image is made of: its files (role, path, size, sha256), the chunks they are
 * cut into and each chunk's sha256, and the image digest.
 *
 * Chunks are fixed-size (chunk_bytes) and never span two files, so a chunk is (file, offset, len)
 * and can be sent with sendfile(2) straight from the cached file.  Chunk indexes run over the files
 * in manifest order.  The digest is the catalog's: "sha256:" + sha256 over one line
 * "<role> <sha256> <size>\n" per file, in manifest order (kernel, initrd, rootdisk for catalog
 * images), so a manifest proves nothing by itself: it is checked against the digest the job pinned.
 *
 * Each chunk also has its "midstate" (sha.h): the SHA-256 chaining value of its file after the
 * chunk, or for a file's last chunk the file's sha256.  A chunk is checked by compressing it from
 * the previous midstate (sha.h), which both proves it and advances the check of the whole file:
 * a file whose chunks all passed needs no second read before it is published.  The chunk's own
 * sha256 stays: it is what the delta looks chunks up by in other images.  Midstates need
 * chunk_bytes to be a multiple of 64; without them (version 1 text, or another chunk size) chunks
 * are checked by their sha256 and files re-read at publish.
 *
 * Text form (one line each, fields separated by one space, no field contains white space):
 *   imagecast-manifest 2                    (1: chunk lines without the midstate)
 *   name <image name>
 *   digest sha256:<hex>
 *   chunk_bytes <n>
 *   file <role> <size> <sha256> <path>      (one per file, in order)
 *   chunk <sha256> <midstate hex>           (one per chunk, in order)
 */
#ifndef IC_MANIFEST_H
#define IC_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "sha.h"

#define IC_MAX_FILES 16
#define IC_ROLE_MAX 32
#define IC_NAME_MAX 64
#define IC_DIGEST_LEN (7 + IC_SHA_HEX) /* "sha256:" + hex */
#define IC_CHUNK_MIN (64u << 10)
#define IC_CHUNK_MAX (64u << 20)

struct ic_file {
	char role[IC_ROLE_MAX]; /* [a-z0-9._-]+: the file's name in the cache */
	char *path;             /* in the store: relative to it, or absolute */
	uint64_t size;
	uint8_t sha[IC_SHA_LEN];
	uint32_t first_chunk; /* derived from chunk_bytes and the sizes */
	uint32_t nchunks;
};

struct ic_manifest {
	char name[IC_NAME_MAX + 1];
	char digest[IC_DIGEST_LEN + 1];
	uint64_t chunk_bytes;
	struct ic_file files[IC_MAX_FILES];
	size_t nfiles;
	uint64_t total_bytes;
	uint32_t nchunks;
	uint8_t (*chunks)[IC_SHA_LEN]; /* nchunks hashes; all zero until computed or parsed */
	uint8_t (*mids)[IC_SHA_LEN];   /* nchunks midstates, or NULL (see above) */
};

/* Checks shared with the fetch request: 0 if valid, else -1 with errno EINVAL. */
int ic_valid_name(const char *s);
int ic_valid_role(const char *s);
int ic_valid_path(const char *s); /* no white space, no ".." component, not empty */
/* "sha256:<64 lower-case hex>"? */
int ic_valid_digest(const char *s);

/*
 * The digest of files[0..n) into out[IC_DIGEST_LEN + 1].  Returns 0, or -1 with errno
 * EINVAL/ENOMEM.
 */
int ic_digest_of(const struct ic_file *files, size_t n, char out[IC_DIGEST_LEN + 1]);

/*
 * A manifest for `files` (copied; paths duplicated) with its chunk layout but no chunk hashes.
 * The files' digest must equal `digest`.  Returns 0 and *out (free with ic_manifest_free), or -1
 * with err filled (errno EINVAL for bad input, ENOMEM).
 */
int ic_manifest_new(const char *name, const char *digest, uint64_t chunk_bytes,
                    const struct ic_file *files, size_t nfiles, struct ic_manifest **out,
                    struct xerr *err);

/*
 * Read every file from the store (paths relative to `store`, unless absolute), hash its chunks
 * (and midstates) into the manifest and check each file's size and sha256.  Returns 0, or -1 with
 * err naming the image, the file and what is wrong (errno ENOENT, EIO or EBADMSG for a size or
 * sha256 mismatch).
 */
int ic_manifest_hash_store(struct ic_manifest *m, const char *store, struct xerr *err);

/*
 * Check len bytes of data as chunk idx: against its midstates when m has them (the last chunk of a
 * file against the file's sha256), else against its sha256.  Returns 0 when they match, or -1
 * with errno EBADMSG (ERANGE for a bad index or length, ENOMEM).
 */
int ic_manifest_check_chunk(const struct ic_manifest *m, uint32_t idx, const void *data,
                            size_t len);

/* Where chunk idx lives.  Returns 0, or -1 with errno ERANGE. */
int ic_manifest_chunk(const struct ic_manifest *m, uint32_t idx, size_t *file, uint64_t *off,
                      uint32_t *len);

/* Text form, NUL-terminated, into *out (free()).  Returns its length, or -1 with errno ENOMEM. */
long ic_manifest_format(const struct ic_manifest *m, char **out);

/*
 * Parse the text form (len bytes, need not be NUL-terminated) and check that the files' digest is
 * the stated one and the chunk count matches.  Returns 0 and *out, or -1 with err (errno EINVAL).
 */
int ic_manifest_parse(const char *text, size_t len, struct ic_manifest **out, struct xerr *err);

/* Free (NULL is ignored). */
void ic_manifest_free(struct ic_manifest *m);

#endif

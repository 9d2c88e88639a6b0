/*
 * blob.h - read a file of the image store by its path in the catalog, whole or chunked
 * (imgstore/README.md, "Chunked blobs"; xenvm-imaged(8), STORE LAYOUT).
 *
 * The store keeps a large file as an index plus chunks, each chunk by its sha256 once:
 *
 *   <store>/blobs/sha256/<hex>      a whole file (small files; every blob of an older store)
 *   <store>/chunked/sha256/<hex>    the index of a chunked file whose sha256 is <hex>
 *   <store>/chunks/sha256/<chunk>   one chunk, named by the sha256 of its bytes
 *
 * Catalogs and manifests keep naming `blobs/sha256/<hex>`; xenvm_blob_open() hides which of the
 * two a file is, so that imagecast's root (which lives beside imgstore/, not above it) and the
 * manager read it the same way.  The index is text:
 *
 *   xenvm-chunked 1
 *   size <bytes>
 *   sha256 <hex of the whole file>
 *   chunk <bytes a chunk, the last one shorter>
 *   <hex of chunk 0>
 *   ...
 *
 * Only 64-hex names become paths, so an index cannot name a file outside chunks/.
 */
#ifndef XENVM_BLOB_H
#define XENVM_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lib/error.h"

#define XENVM_BLOB_DIR "blobs/sha256"
#define XENVM_BLOB_CHUNKED_DIR "chunked/sha256"
#define XENVM_BLOB_CHUNK_DIR "chunks/sha256"
#define XENVM_BLOB_HEX 64
/* An index of more is refused: 16 MiB of lines is 16 TiB of file at 64 KiB chunks. */
#define XENVM_BLOB_INDEX_MAX (16u << 20)

struct xenvm_blob_index {
	uint64_t size;
	char sha256[XENVM_BLOB_HEX + 1];
	uint32_t chunk_bytes;
	uint32_t nchunks;
	char (*chunks)[XENVM_BLOB_HEX + 1];
};

/* 64 lowercase hex digits. */
bool xenvm_blob_hex_valid(const char *s);

/*
 * Parse an index (text of len bytes; what: its path, for messages).  Checks the header, that the
 * chunk count is what size and chunk give, and that every name is 64 lowercase hex.  Returns 0,
 * or -1 with err (errno EBADMSG) and idx empty.
 */
int xenvm_blob_index_parse(const char *text, size_t len, const char *what,
                           struct xenvm_blob_index *idx, struct xerr *err);
/* Read and parse <store>/chunked/sha256/<hex>.  0, or -1 with err (errno ENOENT when absent). */
int xenvm_blob_index_load(const char *store, const char *hex, struct xenvm_blob_index *idx,
                          struct stat *st, struct xerr *err);
void xenvm_blob_index_free(struct xenvm_blob_index *idx);
/* The length of chunk i. */
uint32_t xenvm_blob_chunk_len(const struct xenvm_blob_index *idx, uint32_t i);

struct xenvm_blob;

/*
 * Open the file `path` names for reading: relative to store unless absolute, as in a catalog.
 * A regular file at the path is read as it is (old stores, site catalogs); when there is none and
 * the path is `blobs/sha256/<hex>`, the chunked index of <hex> is read instead.  Returns 0 with
 * *out (xenvm_blob_close), or -1 with err naming the path and errno set.
 */
int xenvm_blob_open(const char *store, const char *path, struct xenvm_blob **out, struct xerr *err);
/* The file's size. */
uint64_t xenvm_blob_size(const struct xenvm_blob *b);
/* True when the file is chunked. */
bool xenvm_blob_chunked(const struct xenvm_blob *b);
/*
 * stat of the file, or of its index when chunked (both never change in place: the key imagecast
 * keeps its hashes under).
 */
const struct stat *xenvm_blob_stat(const struct xenvm_blob *b);
/*
 * Like pread(2): up to len bytes at off (fewer only at the end of the file).  A chunk missing
 * or of the wrong size is EIO; the bytes are not hashed here (the caller checks them).
 * Returns the count, or -1 with errno.
 */
ssize_t xenvm_blob_pread(struct xenvm_blob *b, void *buf, size_t len, uint64_t off);
void xenvm_blob_close(struct xenvm_blob *b);

#endif

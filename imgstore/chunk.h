/*
 * chunk.h - chunked blobs: a large file stored as an index and 1 MiB chunks, each chunk by its
 * sha256 once in the store (lib/blob.h has the layout and the reader; imgstore/README.md why).
 *
 * Write order, as for whole blobs: chunks (each a temporary, fsync'ed, renamed), their
 * directory fsync'ed, then the index (temporary, fsync, rename, directory fsync).  So an index
 * never names a missing chunk; a killed push leaves at most temporaries and chunks no index
 * names, which imgs_fsck() removes.  A blob's identity is still the sha256 of the whole file.
 */
#ifndef IMGS_CHUNK_H
#define IMGS_CHUNK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/blob.h"
#include "store.h"

#define IMGS_CHUNK_BYTES (1u << 20)
/*
 * Files larger than this are chunked (4 MiB: a kernel or initrd stays one file; a root disk is
 * chunked).  A variable so that tests can lower it.
 */
extern uint64_t imgs_chunk_min;

/*
 * Read exactly `size` bytes from fd into chunks; publish the index of want_hex when the whole
 * stream's sha256 is want_hex.  *created: this call wrote the index; *added: bytes of chunks it
 * wrote (chunks already in the store are not written again).  On failure the chunks this call
 * wrote are removed again.  0, or -1 with err.
 */
int imgs_chunked_receive(struct imgs_store *st, int fd, uint64_t size, const char *want_hex,
                         bool *created, uint64_t *added, struct xerr *err);

/* True when <store>/chunked/sha256/<hex> exists. */
bool imgs_chunked_exists(const struct imgs_store *st, const char *hex);

/*
 * Check the chunked blob hex: its index parses and names itself, and every chunk is a regular
 * file of its length; deep: every chunk's sha256 is its name and the chunks' concatenation has
 * the index's sha256.  0, or -1 with err naming the chunk.
 */
int imgs_chunked_check(const struct imgs_store *st, const char *hex, bool deep, struct xerr *err);

/* Remove the index of hex (its chunks go at the next chunk sweep).  0 or -1. */
int imgs_chunked_remove(struct imgs_store *st, const char *hex, struct xerr *err);

/*
 * Remove indices that fail imgs_chunked_check (deep as asked), then chunks no index names.
 * Returns the number of removals, or -1 with err.
 */
int imgs_chunks_check_all(struct imgs_store *st, bool deep, void (*report)(const char *),
                          struct xerr *err);
int imgs_chunks_sweep(struct imgs_store *st, void (*report)(const char *), struct xerr *err);

/* Copy blob hex (whole or chunked) to a new file dst (mode 0644).  0, or -1 with err. */
int imgs_blob_copy(const struct imgs_store *st, const char *hex, const char *dst, struct xerr *err);

#endif

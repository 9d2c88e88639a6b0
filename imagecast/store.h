/*
 * store.h - the node's image cache (cache.dir in xenvm.yaml).
 *
 *   <dir>/images/<hex>/manifest       a published image: its manifest ...
 *   <dir>/images/<hex>/<role>         ... and its files, named by role (kernel, initrd, rootdisk)
 *   <dir>/partial/<hex>/              the same layout while chunks arrive (never read by users)
 *   <dir>/pins/<hex>/<holder>         leases: an image with any pin is never evicted
 *   <dir>/trash/                      evicted images on their way out
 *
 * <hex> is the image digest without "sha256:".  An image appears under images/ only by rename(2)
 * of its partial directory after every file was checked against its sha256 and synced, so a
 * reader never sees a partial image.  Chunks are content-addressed through the manifests: a chunk
 * that any published image holds is copied locally instead of being transferred (delta).
 * The size bound (cache.max_size) counts published and partial bytes; the least recently used
 * unpinned images go first (last use = the manifest's mtime, touched on every fetch).
 */
#ifndef IC_STORE_H
#define IC_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/error.h"
#include "manifest.h"

struct ic_store {
	char *dir;
	uint64_t max_bytes;
};

/*
 * Check that `path` is a directory owned by the effective uid and writable by no one else, and
 * that no ancestor can be replaced by another user (owned by root or us, and not group/other
 * writable unless sticky), as munged does.  With `create`, a missing directory is made 0700.
 * Returns 0, or -1 with err filled (errno EPERM for loose permissions, or from stat/mkdir).
 */
int ic_check_dir(const char *path, bool create, struct xerr *err);

/* Open (creating the layout) and check the cache.  Returns 0, or -1 with err filled. */
int ic_store_open(struct ic_store *s, const char *dir, uint64_t max_bytes, struct xerr *err);
void ic_store_close(struct ic_store *s);

/* Write "<dir>/<sub>/<hex of digest>[/<leaf>]" into buf.  Returns 0, or -1 with ENAMETOOLONG. */
int ic_store_path(const struct ic_store *s, const char *sub, const char *digest, const char *leaf,
                  char *buf, size_t len);

/*
 * Is the image published?  Returns 1 and *m (if m is not NULL; free with ic_manifest_free) when it
 * is, 0 when it is not, -1 with err filled when its manifest cannot be read.
 */
int ic_store_lookup(const struct ic_store *s, const char *digest, struct ic_manifest **m,
                    struct xerr *err);

/* Mark the image used now (LRU).  Returns 0, or -1 with errno from utimensat. */
int ic_store_touch(const struct ic_store *s, const char *digest);

/*
 * Start or resume the partial copy of m: create partial/<hex>/ with the manifest and the files at
 * full size (space reserved with fallocate so that a full disk fails here, not mid-transfer), and
 * open them into fds[m->nfiles] (O_RDWR).  If a partial copy with the same manifest survives from
 * an earlier run, every chunk in it is checked and have[c] set for the good ones (resume).
 * Then chunks still missing are looked up in the published images (delta) and copied.
 * *resumed and *seeded (may be NULL) get the bytes found in the partial copy and the cache.
 * Returns 0, or -1 with err filled (errno ENOSPC when the disk is full; the partial copy is then
 * removed).
 */
int ic_store_partial_open(const struct ic_store *s, const struct ic_manifest *m, int *fds,
                          bool *have, uint64_t *resumed, uint64_t *seeded, struct xerr *err);

/* Remove the partial copy of `digest`, if any.  Returns 0, or -1 with errno. */
int ic_store_partial_remove(const struct ic_store *s, const char *digest);

/*
 * Publish the partial copy: check every file against its sha256 unless verified[i] is true (the
 * caller hashed it as it arrived), fsync, rename into images/.  Returns 0, or -1 with err naming
 * the file that is wrong (errno EBADMSG) or the failing call.
 */
int ic_store_publish(const struct ic_store *s, const struct ic_manifest *m, int *fds,
                     const bool *verified, struct xerr *err);

/*
 * Make room for `need` more bytes by evicting the least recently used unpinned images, never the
 * one named `keep` (may be NULL).  Returns 0, or -1 with err (errno ENOSPC) when pinned images
 * fill the cache.
 */
int ic_store_make_room(const struct ic_store *s, uint64_t need, const char *keep, struct xerr *err);

/* Add or remove the lease `holder` ([A-Za-z0-9._-]+) on an image.  Returns 0, or -1 with errno. */
int ic_store_pin(const struct ic_store *s, const char *digest, const char *holder);
int ic_store_unpin(const struct ic_store *s, const char *digest, const char *holder);
/* Number of leases on the image (0 when none), or -1 with errno. */
int ic_store_pins(const struct ic_store *s, const char *digest);

/* Evict one published image.  Returns 0, or -1 with err (EBUSY if pinned, ENOENT if absent). */
int ic_store_evict(const struct ic_store *s, const char *digest, struct xerr *err);

/* Re-check every file of a published image.  Returns 0, or -1 with err naming the bad file. */
int ic_store_verify(const struct ic_store *s, const char *digest, struct xerr *err);

struct ic_store_entry {
	char digest[IC_DIGEST_LEN + 1];
	char name[IC_NAME_MAX + 1];
	uint64_t bytes;      /* the image's files, as its manifest says */
	uint64_t disk_bytes; /* bytes and the other files in its directory (dir_extra_bytes) */
	time_t last_use;
	int pins;
	bool partial; /* a partial copy, not a published image */
};

/*
 * The published images and partial copies, least recently used first.  Returns the count and
 * *out (free()), or -1 with errno.
 */
long ic_store_list(const struct ic_store *s, struct ic_store_entry **out);

/* Disk bytes used by published images and partial copies (disk_bytes), or -1 with errno. */
long long ic_store_used(const struct ic_store *s);

#endif

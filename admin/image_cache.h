/*
 * image_cache.h - the user's import cache, bounded (issue 16; xenvm-image(1) "THE IMPORT CACHE").
 *
 * <cache>/oci/            one OCI layout (skopeo's copies; tags src-<hash of SOURCE>), blobs
 *                         shared between tags
 * <cache>/used/<tag>      the tag's last use (mtime)
 * <cache>/rootdisk/<config>.{sqfs,yaml}   root disks by image config (the .sqfs is the commit
 *                         point: written aside and renamed last, removed first; its mtime is its
 *                         last use)
 * <cache>/vm-<sha256>.raw qcow2 root disks converted (image_import_vm.c; mtime = last use)
 * <cache>/lock            imports hold it shared while they use the cache; trimming holds it
 *                         exclusively, so it never removes what a running import uses, and
 *                         removes the temporaries killed imports left (unpack.*, *.tmp*,
 *                         skopeo's oci-put-blob*, blobs no tag names).
 */
#ifndef XENVM_ADMIN_IMAGE_CACHE_H
#define XENVM_ADMIN_IMAGE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/error.h"

struct xa_cache {
	char dir[2048];
	int lock_fd;
};

/* mkdir -p dir (0700), the shared lock taken (waits while a trim runs).  0, or -1 with err. */
int xa_cache_open(struct xa_cache *c, const char *dir, struct xerr *err);
void xa_cache_close(struct xa_cache *c);

/* An entry used now: rel is "used/<tag>" (created), "rootdisk/<hex>.sqfs" or "vm-<hex>.raw". */
void xa_cache_touch(struct xa_cache *c, const char *rel);

/*
 * Remove least recently used entries until the cache holds at most max bytes, never one named
 * in keep (NULL-terminated, entries as "ref <tag>", "rootdisk <hex>", "raw <file name>").
 * Returns the number removed, 0 and nothing done when another import holds the cache (*busy
 * set), or -1 with err.  The shared lock is gone afterwards: the last call before close.
 * log: each removal on stderr.
 */
int xa_cache_trim(struct xa_cache *c, uint64_t max, const char *const *keep, bool log, bool *busy,
                  uint64_t *left, struct xerr *err);

/* The default cache directory: $XDG_CACHE_HOME/xenvm/import or ~/.cache/xenvm/import. */
int xa_cache_default_dir(char *buf, size_t len);

/* `xenvm image cache prune [--cache DIR] [--max SIZE]`: argv[0] is "cache".  An xa_exit. */
int image_cache_cmd(const struct xenvm_config *cfg, int argc, char **argv);

#endif

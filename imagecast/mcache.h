/*
 * mcache.h - manifests of image-store files, remembered in the node's cache so that the root of a
 * broadcast need not hash the whole store before its children can start.
 *
 * The store is admin-managed and changes rarely, so a manifest computed once (every file checked
 * against the catalog's sha256) stays valid while the files do.  An entry is keyed by what any
 * change to a file alters: device, inode, size, mtime and ctime (ctime cannot be set back by
 * touch(1) or utimensat(2)), for every file of the image.  It lives in
 * <cache.dir>/store-manifests/<hex of the digest>.<chunk bytes>: the cache directory is checked
 * at start (root-owned, not writable by others) and is writable even when the store is not.
 *
 * A hit is verified lazily, as the bytes are read: the root checks every chunk it reads from the
 * store against the cached chunk hash and every file against the catalog's sha256 before it
 * publishes, as it does for a freshly hashed manifest; a mismatch drops the entry.
 */
#ifndef IC_MCACHE_H
#define IC_MCACHE_H

#include "manifest.h"
#include "store.h"

/*
 * The key of m's files as they are now in `store` (one line per file), into *out (free()).
 * Returns its length, or -1 with errno from stat(2) (the file is missing: no entry can match)
 * or ENOMEM.
 */
long ic_mcache_key(const struct ic_manifest *m, const char *store, char **out);

/*
 * Fill m->chunks from the entry for m's digest and chunk size when its key equals the files'
 * key now and its manifest lists the same files.  Returns 1 on a hit, 0 on a miss (no entry, or
 * a stale one, which is removed), -1 with errno on an error reading it (the caller treats it as
 * a miss).
 */
int ic_mcache_load(const struct ic_store *s, struct ic_manifest *m, const char *store);

/*
 * Remember m, whose chunk hashes were computed from files whose key was `key` (taken before they
 * were read, so that a change during the read makes the entry stale).  Written atomically (temp
 * file + rename; a torn entry after a crash fails to parse and is a miss).  Returns 0, or -1 with
 * errno.
 */
int ic_mcache_save(const struct ic_store *s, const struct ic_manifest *m, const char *key);

/* Remove the entry for (digest, chunk_bytes), if any.  Returns 0, or -1 with errno. */
int ic_mcache_drop(const struct ic_store *s, const char *digest, uint64_t chunk_bytes);

#endif

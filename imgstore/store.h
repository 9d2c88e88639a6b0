/*
 * store.h - the content-addressed image store (imgstore/README.md, xenvm-imaged(8)).
 *
 *   <store>/blobs/sha256/<hex>                   a file (kernel, initrd, root disk) by content
 *   <store>/chunked/sha256/<hex>                 or, for a file > 4 MiB, its index of chunks
 *   <store>/chunks/sha256/<chunk>                a 1 MiB chunk by content (chunk.h, lib/blob.h)
 *   <store>/versions/site/<hex>.yaml             a site version: its manifest
 *   <store>/versions/user/<user>/<hex>.yaml      a user's version
 *   <store>/tags/site/<name>/<tag>               "sha256:<hex>\n": the version a tag points at
 *   <store>/tags/user/<user>/<name>/<tag>
 *   <store>/history/<ns...>/<name>               one line per tag change (append-only)
 *   <store>/shares/user/<user>/<name>            users a user image is shared with, one a line
 *   <store>/catalog.yaml                         images.yaml(5) generated from tags and versions
 *   <store>/tmp/                                 files being written; emptied at open
 *
 * <hex> is the version's digest (images.yaml(5), DIGEST) without "sha256:"; blobs are named by the
 * sha256 of their content.  A manifest is a one-image images.yaml whose image is called
 * "version", after three comment lines (owner, creation time, the reference it was pushed as):
 * the catalog parser validates it, and imagecast and the Prolog read an old version by digest
 * from it (lib/image_version.h) after its tag moved.
 *
 * Every write is a temporary file, fsync'ed, renamed, and the directory fsync'ed, in an order
 * that leaves the store consistent at every step: blobs, then the manifest, then the tag, then
 * the catalog; collection the other way round.  imgs_open() runs imgs_fsck(), which removes what
 * a killed writer left (temporary files, blobs no manifest names, tags naming a missing version)
 * and rewrites the catalog.  One process owns a store at a time (flock on <store>/.lock).
 *
 * Names are checked before they become path components (imgs_name_valid, imgs_user_valid); the
 * store opens nothing through a symlink (O_NOFOLLOW on every file it opens).
 */
#ifndef IMGS_STORE_H
#define IMGS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/error.h"

#define IMGS_HEX_LEN 64
#define IMGS_NAME_MAX 40 /* an image name or tag in the store: [a-z0-9][a-z0-9._-]{0,39} */
#define IMGS_USER_MAX 32
#define IMGS_ROLES 3

extern const char *const imgs_roles[IMGS_ROLES]; /* kernel, initrd, rootdisk */

/* A namespace: the site's (user "") or a user's. */
struct imgs_ns {
	char user[IMGS_USER_MAX + 1];
};

/* One file of a version. */
struct imgs_file {
	bool present;
	uint64_t size;
	char sha256[IMGS_HEX_LEN + 1];
};

/* A version's manifest header (the comment lines) and its files. */
struct imgs_version_info {
	struct imgs_ns ns;
	char hex[IMGS_HEX_LEN + 1];
	char owner[IMGS_USER_MAX + 1];
	char pushed_as[128];
	long long created;
	long long mtime; /* last time a tag left it (or its creation): retention counts from here */
	struct imgs_file files[IMGS_ROLES];
	uint64_t bytes;
};

/* One tag. */
struct imgs_tag {
	struct imgs_ns ns;
	char name[IMGS_NAME_MAX + 1];
	char tag[IMGS_NAME_MAX + 1];
	char hex[IMGS_HEX_LEN + 1];
};

struct imgs_store {
	char *dir;
	int lockfd;
};

/*
 * Fault injection for the crash tests: when > 0, the writer _exit()s with IMGS_FAULT_EXIT
 * after that many durable steps (a blob, a manifest, a tag, a catalog, a removal...), as if
 * killed there.  Only tests set it, in a forked child.
 */
extern int imgs_fault_after;
#define IMGS_FAULT_EXIT 77
/* Count one durable step; exits when imgs_fault_after is reached. */
void imgs_step(void);

/* Names that may become path components.  True when valid. */
bool imgs_name_valid(const char *s); /* image names and tags */
bool imgs_user_valid(const char *s); /* user names (namespaces) */
bool imgs_hex_valid(const char *s);  /* 64 lowercase hex digits */

/*
 * Create the layout under dir if needed, take the store's lock (fails with EWOULDBLOCK when
 * another process owns it) and run imgs_fsck().  Returns 0, or -1 with err filled.
 * report (may be NULL) gets one line per repair.
 */
int imgs_open(const char *dir, struct imgs_store *st, void (*report)(const char *line),
              struct xerr *err);
void imgs_close(struct imgs_store *st);

/*
 * Read exactly `size` bytes from fd into a new blob, hashing as it goes; the blob is published
 * only when its sha256 equals want_hex.  Files over imgs_chunk_min are chunked (chunk.h).
 * *created is set when this call added the blob (it did not exist); *added to the bytes it
 * wrote (for a chunked file, its new chunks only).  Returns 0, or -1 with err filled (short
 * stream, mismatch, I/O); nothing is left behind on failure.
 */
int imgs_blob_receive(struct imgs_store *st, int fd, uint64_t size, const char *want_hex,
                      bool *created, uint64_t *added, struct xerr *err);
/*
 * Remove a blob, whole or the index of a chunked one (no error when absent); chunks go at the
 * next imgs_chunks_sweep.  Returns 0 or -1 with err.
 */
int imgs_blob_remove(struct imgs_store *st, const char *hex, struct xerr *err);
/* True when the blob exists, whole or chunked. */
bool imgs_blob_exists(const struct imgs_store *st, const char *hex);

/* "<dir>/versions/site/<hex>.yaml" etc. into buf.  Returns buf, or NULL (ENAMETOOLONG). */
char *imgs_version_path(const struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                        char *buf, size_t len);
/* Publish a manifest text atomically.  Returns 0 or -1 with err. */
int imgs_version_write(struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                       const char *text, struct xerr *err);
/* Read a manifest's header and files.  Returns 0, or -1 with err (errno ENOENT when absent). */
int imgs_version_info(const struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                      struct imgs_version_info *vi, struct xerr *err);
int imgs_version_remove(struct imgs_store *st, const struct imgs_ns *ns, const char *hex,
                        struct xerr *err);
/* Mark "a tag left this version now" (its retention starts).  Errors are ignored. */
void imgs_version_touch(struct imgs_store *st, const struct imgs_ns *ns, const char *hex);
/* What imgs_each_ns calls per namespace: 0, or -1 with err to stop. */
typedef int (*imgs_ns_fn)(const struct imgs_store *st, const struct imgs_ns *ns, void *ctx,
                          struct xerr *err);
/*
 * fn for the site's namespace, then for each user's under <store>/<kind>/user/ ("versions",
 * "tags").  Returns 0, or -1 with err (fn's, or the directory's).
 */
int imgs_each_ns(const struct imgs_store *st, const char *kind, imgs_ns_fn fn, void *ctx,
                 struct xerr *err);
/* Every version, in no particular order; *out (free()) gets *n entries.  Returns 0 or -1. */
int imgs_versions(const struct imgs_store *st, struct imgs_version_info **out, size_t *n,
                  struct xerr *err);

/* The tag's version into hex.  Returns 1 found, 0 no such tag, -1 error. */
int imgs_tag_get(const struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                 const char *tag, char hex[IMGS_HEX_LEN + 1], struct xerr *err);
/* Point a tag at a version (the version's manifest must exist); logs it in the history. */
int imgs_tag_set(struct imgs_store *st, const struct imgs_ns *ns, const char *name, const char *tag,
                 const char *hex, const char *by, struct xerr *err);
/* Remove a tag.  Returns 1 removed, 0 no such tag, -1 error. */
int imgs_tag_remove(struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                    const char *tag, const char *by, struct xerr *err);
/* Every tag, sorted by namespace, name, tag; *out (free()).  Returns 0 or -1. */
int imgs_tags(const struct imgs_store *st, struct imgs_tag **out, size_t *n, struct xerr *err);
/* The history of a name: its log lines, oldest first, into *text (free()).  0 or -1. */
int imgs_history(const struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                 char **text, struct xerr *err);

/* The users a user image is shared with: NULL-terminated *users (free each and the array). */
int imgs_shares_get(const struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                    char ***users, size_t *n, struct xerr *err);
/* Add (add true) or remove a user in the share list.  Returns 0 or -1. */
int imgs_shares_update(struct imgs_store *st, const struct imgs_ns *ns, const char *name,
                       const char *user, bool add, struct xerr *err);

/* Regenerate <store>/catalog.yaml from tags, versions and shares (catalog_gen.c). */
int imgs_catalog_write(struct imgs_store *st, struct xerr *err);

/*
 * Repair what a killed writer left (see the top of this file) and rewrite the catalog.
 * Returns the number of repairs, or -1 with err.
 */
int imgs_fsck(struct imgs_store *st, void (*report)(const char *line), struct xerr *err);
/*
 * imgs_fsck, and with deep every chunked blob read whole: each chunk's sha256 against its name
 * and the file's against the index (the `fsck` request; imgs_open checks the structure only:
 * indices parse, chunks exist with their sizes).
 */
int imgs_fsck_deep(struct imgs_store *st, bool deep, void (*report)(const char *line),
                   struct xerr *err);

/*
 * Collect versions no tag of their namespace points at, that no live job pins (live: n_live
 * digest hex strings) and whose retention has passed (mtime + retention_s <= now), then blobs
 * no manifest names.  Returns the number of versions removed, or -1 with err.
 */
int imgs_gc(struct imgs_store *st, const char *const *live, size_t n_live, uint32_t retention_s,
            time_t now, void (*report)(const char *line), struct xerr *err);

/* "site" or "user/<user>" for paths; "" or "<user>/" for references. */
const char *imgs_ns_dir(const struct imgs_ns *ns, char *buf, size_t len);
const char *imgs_ns_prefix(const struct imgs_ns *ns, char *buf, size_t len);

#endif

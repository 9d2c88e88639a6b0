/*
 * manifest.h - a version's manifest: a one-image images.yaml (the image is called "version")
 * after three comment lines:
 *
 *   # xenvm image version: owner <user|root>, created <unix time>, pushed as <reference>
 *   images:
 *     version:
 *       files:
 *         kernel: {path: blobs/sha256/<hex>, sha256: <hex>, size: <n>}
 *         ...
 *       <the attributes given at push: description, cmdline, memory, vcpus, features, ...>
 *
 * Paths are relative to the store, which is imagecast.store, so the catalog's rules apply to it
 * unchanged and the catalog parser validates the attributes (the schema of images.yaml(5)).
 */
#ifndef IMGS_MANIFEST_H
#define IMGS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/catalog.h"
#include "store.h"

#define IMGS_ATTRS_MAX (64 * 1024) /* bytes of attribute YAML a push may carry */

struct imgs_manifest {
	char owner[IMGS_USER_MAX + 1];
	char pushed_as[128];
	long long created;
	struct imgs_file files[IMGS_ROLES];
	char digest_hex[IMGS_HEX_LEN + 1];
};

/*
 * Build a manifest's text from the pushed attributes (YAML mapping text, may be empty), the
 * files and the header.  Refuses the keys `files` and, unless allow_ok, `allow`.  *text (free())
 * is valid YAML but not yet validated: see imgs_manifest_check().  Returns 0 or -1 with err.
 */
int imgs_manifest_build(const char *attrs, size_t attrs_len, const struct imgs_file *files,
                        bool allow_ok, const char *owner, const char *pushed_as, long long created,
                        char **text, struct xerr *err);

/*
 * Validate a manifest's text with the catalog's parser (written to tmpdir/check.XXXXXX, removed
 * again).  Returns 0 with *cat holding the one image "version" (xenvm_catalog_free), or -1 with
 * err naming the attribute ("attributes: memory.max: ...").
 */
int imgs_manifest_check(const char *tmpdir, const char *text, struct xenvm_catalog **cat,
                        struct xerr *err);

/* Read a published manifest.  Returns 0, or -1 with err (errno ENOENT when absent). */
int imgs_manifest_read(const char *path, struct imgs_manifest *m, struct xerr *err);

#endif

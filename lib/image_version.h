/*
 * image_version.h - an image store version by digest (imgstore/README.md): after a tag moved,
 * the catalog names the new version, while a job pinned at submit asks for the old digest.  The
 * store keeps every version's manifest as <store>/versions/site/<hex>.yaml or
 * <store>/versions/user/<user>/<hex>.yaml, a one-image images.yaml; imagecast and the Prolog read
 * the pinned version from there.
 */
#ifndef XENVM_IMAGE_VERSION_H
#define XENVM_IMAGE_VERSION_H

#include "catalog.h"
#include "error.h"

/*
 * Load the manifest of version `digest` ("sha256:<hex>") from the store at `store` into *out (a
 * catalog of one image, whose digest was checked against `digest`; xenvm_catalog_free()).
 * Returns 1 found, 0 no such version, -1 with err (a manifest that does not parse or whose files
 * give another digest).
 */
int xenvm_image_version_load(const char *store, const char *digest, struct xenvm_catalog **out,
                             struct xerr *err);

/*
 * The image a job pinned at submit, as the Prolog boots it: `name`'s entry in cat (may be NULL)
 * while its digest is still `digest`, else the store's version `digest` (the tag moved or was
 * removed since the submit), so the VM gets the pinned version's attributes (cmdline, memory,
 * vCPUs, ib, root_allowed...) and not the tag's current ones.  The version's image is renamed
 * `name` for messages (so xenvm_catalog_find() on *ver finds nothing: use *img).
 * Returns 0 with *img in cat, or in *ver (a new catalog, xenvm_catalog_free() it after *img's
 * last use; NULL when cat's entry was used); 1 with *img = cat's entry when the tag moved and
 * `store` is not the image manager's (a site on images.yaml alone keeps no old version's
 * attributes: the VM gets the entry's current ones and the pinned files, which imagecast fetches
 * by digest or refuses); -1 with err: errno ENOENT when neither has the digest in a manager's
 * store, or xenvm_image_version_load()'s error.
 */
int xenvm_image_for_pin(const struct xenvm_catalog *cat, const char *store, const char *name,
                        const char *digest, struct xenvm_catalog **ver,
                        const struct xenvm_image **img, struct xerr *err);

#endif

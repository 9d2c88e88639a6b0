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

#endif

/*
 * catalog_priv.h - what the catalog's files share among themselves (internal to libxenvm).
 */
#ifndef XENVM_CATALOG_PRIV_H
#define XENVM_CATALOG_PRIV_H

#include <stdint.h>

#include "catalog.h"

/* Longest image name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
#define XENVM_IMAGE_NAME_MAX 64

/* FNV-1a, 64-bit, over a NUL-terminated string. */
uint64_t xenvm_catalog_hash(const char *s);

/*
 * Build cat->index over cat->images (open addressing, linear probing, load factor <= 1/2).
 * Returns 0, or -1 with errno ENOMEM, or EEXIST if two images have the same name.
 */
int xenvm_catalog_index_build(struct xenvm_catalog *cat);

/*
 * Compute img->digest from its files (see images.yaml(5)).  Returns 0, or -1 with errno ENOMEM
 * (or EIO if OpenSSL fails).
 */
int xenvm_image_digest(struct xenvm_image *img);

/* The memo of --vm-require results (catalog_match.c): new (NULL, errno ENOMEM) and free. */
struct xenvm_catalog_memo *xenvm_catalog_memo_new(void);
void xenvm_catalog_memo_free(struct xenvm_catalog_memo *m);

#endif

/*
 * image_base.h - the site image a container import boots on (`--base`): its files read from the
 * image store as the user, whole or chunked (lib/blob.h), and its kernel modules for the
 * container's root disk.
 */
#ifndef XA_IMAGE_BASE_H
#define XA_IMAGE_BASE_H

#include "lib/catalog.h"
#include "lib/config.h"
#include "lib/error.h"

/*
 * Open a file of the store (f as the catalog names it; relative paths under store) for reading:
 * the file itself when it is one, else (a chunked blob) a copy in an unlinked temporary file of
 * tmpdir.  The size must be f->size.  Returns the descriptor (O_CLOEXEC, at offset 0), or -1
 * with err naming the path.
 */
int xa_store_file_open(const char *store, const struct xenvm_image_file *f, const char *tmpdir,
                       struct xerr *err);

/*
 * The base image's kernel modules for a container VM: the directory lib/modules of its root disk
 * (Soft-RoCE and the VF driver with their load lists, guest/mkimage.sh) extracted by unsquashfs
 * into dest (which must not exist), working in workdir.  A container VM has the container's root
 * disk, not the site's, and loads them from there (/.xenvm/modules, guest/rootfs/init): they
 * match the base's kernel, which the import pushes with the container.  Returns 0, 1 when the
 * base has no root disk or it has no lib/modules (nothing extracted), or -1 with err.
 */
int xa_base_modules(const char *store, const struct xenvm_image *base, const char *workdir,
                    const char *dest, struct xerr *err);

#endif

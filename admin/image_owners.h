/*
 * image_owners.h - the owners of an unpacked container root, for its root disk (issue 16).
 *
 * `umoci unpack --rootless` cannot chown: every file is the importing user's, and the layer's
 * owner is kept in the user.rootlesscontainers xattr (a protobuf Resource {uint32 uid = 1;
 * uint32 gid = 2;}; absent means root, as are fields left out).  mksquashfs (4.5) takes the
 * owners from a pseudo file of "PATH m MODE UID GID" lines, one for every entry, and the root
 * directory's from -root-uid/-root-gid.
 */
#ifndef XENVM_ADMIN_IMAGE_OWNERS_H
#define XENVM_ADMIN_IMAGE_OWNERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/error.h"

/* The xattr's value -> uid, gid.  0, or -1 when it is not such a protobuf message. */
int xa_rootless_owner(const unsigned char *buf, size_t len, uint32_t *uid, uint32_t *gid);

/*
 * PATH as mksquashfs's pseudo file reads a file name: blanks, '"' and '\' escaped by a '\'.
 * -1 (EINVAL) for a name with a newline, which the format cannot hold.
 */
int xa_pseudo_name(const char *path, FILE *out);

struct xa_owners {
	uint32_t root_uid, root_gid; /* the root directory's owner */
	size_t entries;              /* lines written */
	size_t not_root;             /* entries not owned by 0:0 */
};

/*
 * Walk rootfs (not following symlinks, not leaving its file system) and write the pseudo file
 * `out`.  -1 with err naming the path for an xattr that does not parse, a name with a
 * newline, or an I/O error.
 */
int xa_write_owners(const char *rootfs, const char *out, struct xa_owners *o, struct xerr *err);

#endif

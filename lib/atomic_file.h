/*
 * atomic_file.h - write a file so that readers see the old content or the new, never a part.
 *
 * The data goes to a temporary file in the same directory, is fsync'ed, then renamed over the
 * target, and the directory is fsync'ed so the rename survives a crash.
 */
#ifndef XENVM_ATOMIC_FILE_H
#define XENVM_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace `path` with `len` bytes of `data`, mode `mode`; when uid/gid are not (uid_t)-1 /
 * (gid_t)-1 the file is chowned before it becomes visible.  Returns 0, or -1 with errno set
 * (no temporary file is left behind on failure).
 */
int xenvm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                            gid_t gid);

/*
 * As xenvm_write_file_atomic, for a file only root and one user may read: root's, mode 0600
 * plus an ACL entry user:<reader>:r (reader_acl.h: 0640 with group reader_gid where the file
 * system has no ACLs), set before the file becomes visible.  0, or -1 with errno.
 */
int xenvm_write_file_atomic_reader(const char *path, const void *data, size_t len, uid_t reader,
                                   gid_t reader_gid);

/*
 * mkdir -p with `mode` for every directory created; existing directories are left alone.
 * Returns 0, or -1 with errno set.
 */
int xenvm_mkdir_p(const char *path, mode_t mode);

/*
 * Remove `path` and everything under it without following symlinks out of it.  A missing path
 * is success (so callers such as the Epilog can run twice).  Returns 0, or -1 with errno set.
 */
int xenvm_remove_tree(const char *path);

#endif

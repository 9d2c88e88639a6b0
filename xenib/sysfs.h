/*
 * sysfs.h - small sysfs attribute reads and writes under a root prefix (libxenib internal).
 *
 * Every path the library touches is "<root>/sys/...": "/" on a real node, a fixture tree in the
 * tests.  Every error message starts with the full path of the file at fault.
 */
#ifndef XENIB_SYSFS_H
#define XENIB_SYSFS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/*
 * "<root><fmt...>" into buf (fmt starts with '/'; a NULL, "" or "/" root adds nothing).
 * Returns 0, or -1 with errno ENAMETOOLONG (err names the start of the path) or EINVAL.
 */
int xenib_path(char *buf, size_t len, const char *root, struct xerr *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Read a small attribute into buf (NUL-terminated, trailing newline removed).  Returns 0, or -1
 * with errno from open/read (ENOENT for a missing file), or EFBIG when it does not fit.
 */
int xenib_sysfs_read(const char *path, char *buf, size_t len, struct xerr *err);

/* Read a decimal attribute (sriov_totalvfs, ifindex).  0, or -1 with errno (EINVAL: not a number).
 */
int xenib_sysfs_read_u32(const char *path, uint32_t *out, struct xerr *err);

/*
 * Write `value` to an existing attribute in one write(2), as sysfs expects; the file is never
 * created.  Returns 0, or -1 with errno (ENOENT, EACCES, EROFS, EISDIR, what the driver's store
 * method returned, ...) and err "<path>: cannot write '<value>': <reason>".
 */
int xenib_sysfs_write(const char *path, const char *value, struct xerr *err);

/*
 * The last component of a symlink's target (virtfn0 -> ../0000:3b:00.1 gives "0000:3b:00.1").
 * Returns 0, or -1 with errno (ENOENT, EINVAL: not a symlink, ENAMETOOLONG).
 */
int xenib_link_basename(const char *path, char *buf, size_t len, struct xerr *err);

#endif

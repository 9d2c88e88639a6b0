/*
 * small_file.h - read a whole small regular file (a manifest, a record, a policy) into memory.
 */
#ifndef XENVM_SMALL_FILE_H
#define XENVM_SMALL_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Read `path` whole into a NUL-terminated buffer (*out, free()).  `max` bounds the size that is
 * accepted (a state file is never megabytes: a larger one is refused, not read).  Only a regular
 * file is opened for reading, and a final symlink is not followed, so a FIFO or a device put at
 * the path cannot block or feed the caller.
 *
 * Returns the number of bytes read, or -1 with errno: open(2)'s and read(2)'s, ELOOP (a
 * symlink), EINVAL (not a regular file), EFBIG (larger than max), ENOMEM.  *out is untouched
 * on failure.
 */
ssize_t xenvm_read_small_file(const char *path, size_t max, char **out);

#endif

/* util.h - small I/O helpers of the image store and its daemon. */
#ifndef IMGS_UTIL_H
#define IMGS_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#define IMGS_PATH_MAX 4096

/* write() all of buf, retrying short writes and EINTR.  Returns 0, or -1 with errno. */
int imgs_write_all(int fd, const void *buf, size_t len);
/* fsync the directory holding `path`.  Returns 0, or -1 with errno. */
int imgs_fsync_dir(const char *path);

/* The 64 lowercase hex digits of a 32-byte sha256 digest md, and a NUL, into out. */
void imgs_sha256_hex(const unsigned char *md, char *out);

#endif

/* lock.c - see lock.h. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Returns the locked descriptor, or -1 with errno and err. */
int xenib_lock(const char *path, struct xerr *err)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	int fd, saved;

	if (!path) {
		return xerr_errno(err, EINVAL, "xenib_lock: invalid argument");
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return xerr_set(err, "%s: cannot open lock file: %s", path, strerror(errno));
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0) {
		if (errno == EINTR)
			continue;
		saved = errno;
		xerr_set(err, "%s: cannot lock: %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void xenib_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last descriptor of an OFD lock releases it */
}

/*
 * small_file.c - read a whole small regular file; see small_file.h.
 */
#include "lib/small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t xenvm_read_small_file(const char *path, size_t max, char **out)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t rc = -1;
	int e;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	/* A file that shrinks while read gives what it had; one that grows, its first st_size
	 * bytes. */
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	buf = NULL;
	rc = (ssize_t)got;
out:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return rc;
}

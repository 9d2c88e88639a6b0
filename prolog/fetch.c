/* fetch.c - see fetch.h. */
#include "fetch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/run.h"

int fetch_daemon_check(const struct xenvm_config *cfg, struct xerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc = -1;

	if (strlen(cfg->imagecast.socket) >= sizeof(sa.sun_path))
		return xerr_errno(err, ENAMETOOLONG, "imagecast.socket %s: path too long",
		                  cfg->imagecast.socket);
	strcpy(sa.sun_path, cfg->imagecast.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xerr_set(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		xerr_set(err, "imagecastd is not answering on %s: %s (is it running on this node?)",
		         cfg->imagecast.socket, strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* "... (12345 bytes over the network)" in imagecast's summary line, or -1. */
static int64_t bytes_from_summary(const char *text)
{
	const char *p = strstr(text, " bytes over the network)");
	const char *q;

	if (!p)
		return -1;
	q = p;
	while (q > text && q[-1] >= '0' && q[-1] <= '9')
		q--;
	if (q == p || q == text || q[-1] != '(')
		return -1;
	return strtoll(q, NULL, 10);
}

int fetch_image(const struct xenvm_config *cfg, const char *imagecast_path, const char *name,
                const char *digest, const char *nodelist, uint32_t jobid, struct fetch_result *res,
                struct xerr *err)
{
	char pin[32], line[4096], msg[512];
	char *argv[16];
	struct xenvm_run_result *r = NULL;
	struct timespec t0, t1;
	int n = 0, rc = -1;

	r = malloc(sizeof(*r));
	if (!r)
		return xerr_errno(err, ENOMEM, "out of memory");
	snprintf(pin, sizeof(pin), "job.%" PRIu32, jobid);
	argv[n++] = (char *)imagecast_path;
	argv[n++] = "-f";
	argv[n++] = cfg->path;
	argv[n++] = "fetch";
	argv[n++] = (char *)name;
	argv[n++] = "--nodes";
	argv[n++] = (char *)nodelist;
	argv[n++] = "--digest";
	argv[n++] = (char *)digest;
	argv[n++] = "--pin";
	argv[n++] = pin;
	argv[n] = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (xenvm_run(argv, NULL, cfg->timeouts.fetch_s * 1000u, r) < 0) {
		xerr_set(err, "cannot run %s: %s", imagecast_path, strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->ms = (uint32_t)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	xenvm_last_line(r->err, msg, sizeof(msg));
	if (r->timed_out) {
		errno = ETIMEDOUT;
		xerr_set(err, "image %s was not fetched within timeouts.fetch (%u s)%s%s", name,
		         cfg->timeouts.fetch_s, msg[0] ? ": " : "", msg);
		goto out;
	}
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		errno = strstr(r->err, strerror(ENOSPC)) ? ENOSPC : EIO;
		xerr_set(err, "%s", msg[0] ? msg : "imagecast fetch failed without a message");
		goto out;
	}
	xenvm_last_line(r->out, line, sizeof(line));
	if (line[0] != '/' || access(line, R_OK | X_OK) < 0) {
		errno = EIO;
		xerr_set(err, "imagecast fetch printed no usable image directory ('%.200s')", line);
		goto out;
	}
	snprintf(res->dir, sizeof(res->dir), "%s", line);
	res->bytes = bytes_from_summary(r->err);
	rc = 0;
out:
	free(r);
	return rc;
}

/* remote.c - see remote.h. */
#include "remote.h"

#include <errno.h>
#include <munge.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

int imgs_hostport(const char *s, char *host, size_t hlen, char *port, size_t plen, struct xerr *err)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char *end;
	unsigned long p;

	if (!colon || (size_t)(colon - s) >= hlen || strlen(colon + 1) >= plen)
		return xerr_errno(err, EINVAL, "'%.80s': expected HOST:PORT", s ? s : "");
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || !colon[1] || p < 1 || p > 65535)
		return xerr_errno(err, EINVAL, "'%.80s': port is not 1..65535", s);
	snprintf(host, hlen, "%.*s", (int)(colon - s), s);
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

/* getaddrinfo for host:port; *res (freeaddrinfo).  0 or -1 with err. */
static int resolve(const char *hostport, bool passive, struct addrinfo **res, struct xerr *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
	char host[256], port[16];
	int k;

	if (imgs_hostport(hostport, host, sizeof(host), port, sizeof(port), err) < 0)
		return -1;
	k = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
	if (k != 0)
		return xerr_errno(err, EHOSTUNREACH, "%s: %s", hostport, gai_strerror(k));
	return 0;
}

int imgs_tcp_listen(const char *hostport, struct xerr *err)
{
	struct addrinfo *res = NULL, *a;
	int fd = -1, one = 1, e = 0;

	if (resolve(hostport, true, &res, err) < 0)
		return -1;
	for (a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return xerr_errno(err, e, "listen on %s: %s", hostport, strerror(e));
	return fd;
}

static munge_ctx_t ctx_new(const char *munge_socket, struct xerr *err)
{
	munge_ctx_t ctx = munge_ctx_create();

	if (!ctx) {
		xerr_errno(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (munge_socket && munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket) != EMUNGE_SUCCESS) {
		xerr_errno(err, EINVAL, "munge socket %s: %s", munge_socket,
		           munge_ctx_strerror(ctx));
		munge_ctx_destroy(ctx);
		return NULL;
	}
	return ctx;
}

int imgs_tcp_connect(const char *hostport, const char *munge_socket, struct xerr *err)
{
	struct addrinfo *res = NULL, *a;
	munge_ctx_t ctx;
	munge_err_t me;
	char *cred = NULL;
	int fd = -1, e = 0;

	ctx = ctx_new(munge_socket, err);
	if (!ctx)
		return -1;
	me = munge_encode(&cred, ctx, IMGS_MUNGE_PAYLOAD, (int)strlen(IMGS_MUNGE_PAYLOAD));
	if (me != EMUNGE_SUCCESS) {
		xerr_errno(err, EACCES, "cannot get a munge credential: %s",
		           munge_ctx_strerror(ctx));
		goto out;
	}
	if (resolve(hostport, false, &res, err) < 0)
		goto out;
	for (a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (fd < 0) {
		xerr_errno(err, e, "cannot reach the image manager at %s: %s", hostport,
		           strerror(e));
		goto out;
	}
	if (imgs_write_all(fd, "munge ", 6) < 0 || imgs_write_all(fd, cred, strlen(cred)) < 0 ||
	    imgs_write_all(fd, "\n", 1) < 0) {
		xerr_errno(err, errno, "%s: %s", hostport, strerror(errno));
		close(fd);
		fd = -1;
	}
out:
	if (res)
		freeaddrinfo(res);
	free(cred);
	munge_ctx_destroy(ctx);
	return fd;
}

int imgs_munge_accept(int fd, const char *munge_socket, uid_t *uid, gid_t *gid, struct xerr *err)
{
	char line[IMGS_MUNGE_LINE_MAX + 1];
	size_t n = 0;
	munge_ctx_t ctx = NULL;
	munge_err_t me;
	void *data = NULL;
	int dlen = 0, rc = -1;

	while (n < IMGS_MUNGE_LINE_MAX) {
		ssize_t k = read(fd, line + n, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return xerr_errno(err, EPROTO, "no munge line before the request");
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	if (n == IMGS_MUNGE_LINE_MAX || strncmp(line, "munge ", 6) != 0)
		return xerr_errno(err, EPROTO,
		                  "expected 'munge <credential>' first (image_store.listen "
		                  "takes munge-authenticated clients only)");
	ctx = ctx_new(munge_socket, err);
	if (!ctx)
		return -1;
	me = munge_decode(line + 6, ctx, &data, &dlen, uid, gid);
	if (me != EMUNGE_SUCCESS) {
		xerr_errno(err, EACCES, "munge credential refused: %s", munge_ctx_strerror(ctx));
		goto out;
	}
	if (dlen != (int)strlen(IMGS_MUNGE_PAYLOAD) ||
	    memcmp(data, IMGS_MUNGE_PAYLOAD, dlen) != 0) {
		xerr_errno(err, EACCES, "munge credential refused: not made for the image manager");
		goto out;
	}
	rc = 0;
out:
	free(data);
	munge_ctx_destroy(ctx);
	return rc;
}

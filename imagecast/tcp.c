/*
 * tcp.c - the stream-socket transport: TCP between nodes, and the daemon's local Unix socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "transport.h"

/* Socket buffers large enough for a 4 MiB chunk in flight on a fast link. */
#define IC_SOCKBUF (4 << 20)

static int s_send(struct ic_conn *c, const void *buf, size_t len, int more)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int s_recv(struct ic_conn *c, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = recv(c->fd, p, len, MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static long s_recv_nb(struct ic_conn *c, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(c->fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EWOULDBLOCK)
		errno = EAGAIN;
	return (long)n;
}

static int s_send_file(struct ic_conn *c, int fd, uint64_t off, size_t len)
{
	off_t o = (off_t)off;

	while (len > 0) {
		ssize_t n = sendfile(c->fd, fd, &o, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		if (n == 0) {
			errno = EIO; /* the file is shorter than the manifest says */
			return -1;
		}
		len -= (size_t)n;
	}
	return 0;
}

static int s_set_timeout(struct ic_conn *c, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return 0;
}

static void s_close(struct ic_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

const struct ic_transport ic_tcp_transport = {
    .name = "tcp",
    .send = s_send,
    .recv = s_recv,
    .recv_nb = s_recv_nb,
    .send_file = s_send_file,
    .set_timeout = s_set_timeout,
    .close = s_close,
};

struct ic_conn *ic_conn_wrap(int fd, const char *peer)
{
	struct ic_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	c->t = &ic_tcp_transport;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "?");
	return c;
}

static void tune(int fd)
{
	int one = 1, sz = IC_SOCKBUF;

	/* Frames are written whole (header with MSG_MORE); Nagle would only add latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

int ic_tcp_connect(const char *host, uint16_t port, int timeout_ms, struct ic_conn **out,
                   struct xerr *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char portstr[8], peer[64];
	int fd = -1, gai, e = ECONNREFUSED;

	if (!host || !out) {
		return xerr_errno(err, EINVAL, "internal error: no host");
	}
	*out = NULL;
	snprintf(portstr, sizeof(portstr), "%u", port);
	gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		return xerr_errno(err, EHOSTUNREACH, "%s: %s", host, gai_strerror(gai));
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof(e);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		tune(fd);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			e = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			e = ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e != 0)
			goto next;
		if (fcntl(fd, F_SETFL, 0) < 0) {
			e = errno;
			goto next;
		}
		break;
	next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = e;
		return xerr_set(err, "cannot connect to %s port %u: %s", host, port, strerror(e));
	}
	snprintf(peer, sizeof(peer), "%s:%u", host, port);
	*out = ic_conn_wrap(fd, peer);
	if (!*out)
		return xerr_set(err, "out of memory");
	return 0;
}

int ic_tcp_listen(uint16_t port, struct xerr *err)
{
	struct sockaddr_in6 a6 = {
	    .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
	struct sockaddr_in a4 = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
	int one = 1, zero = 0, fd;

	/* Dual-stack when IPv6 exists; plain IPv4 otherwise. */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0)
			goto bound;
		close(fd);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xerr_set(err, "socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return xerr_set(err, "cannot bind port %u: %s", port, strerror(e));
	}
bound:
	if (listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return xerr_set(err, "listen on port %u: %s", port, strerror(e));
	}
	return fd;
}

int ic_unix_listen(const char *path, struct xerr *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, e;

	if (!path || strlen(path) >= sizeof(a.sun_path)) {
		return xerr_errno(err, ENAMETOOLONG, "socket path too long: %s",
		                  path ? path : "(null)");
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xerr_set(err, "socket: %s", strerror(errno));
	/* A stale socket from a crashed daemon; the directory check made sure it is ours. */
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 64) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return xerr_set(err, "cannot listen on %s: %s", path, strerror(e));
	}
	return fd;
}

int ic_unix_connect(const char *path, struct ic_conn **out, struct xerr *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, e;

	if (!path || !out || strlen(path) >= sizeof(a.sun_path)) {
		return xerr_errno(err, EINVAL, "bad socket path");
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xerr_set(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return xerr_set(err, "cannot reach imagecastd at %s: %s", path, strerror(e));
	}
	*out = ic_conn_wrap(fd, "local");
	if (!*out)
		return xerr_set(err, "out of memory");
	return 0;
}

int ic_accept(int lfd, struct ic_conn **out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "local", peer[64];
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], host, sizeof(host));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		tune(fd);
	} else if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		tune(fd);
	}
	snprintf(peer, sizeof(peer), "%s", host);
	*out = ic_conn_wrap(fd, peer);
	return *out ? 0 : -1;
}

/*
 * transport.h - the byte streams imagecast speaks over, behind a small table of operations so that
 * an RDMA (verbs) transport can sit next to TCP: a connection moves whole buffers and file ranges,
 * and nothing above this layer touches a socket.
 */
#ifndef IC_TRANSPORT_H
#define IC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct ic_conn;

struct ic_transport {
	const char *name;
	/* Send all len bytes; `more` hints that another send follows at once.  0, or -1 + errno. */
	int (*send)(struct ic_conn *c, const void *buf, size_t len, int more);
	/* Receive exactly len bytes.  0, or -1 with errno (ECONNRESET on EOF, EAGAIN on timeout).
	 */
	int (*recv)(struct ic_conn *c, void *buf, size_t len);
	/*
	 * Receive what has arrived, at most len bytes, without waiting (the handshake stage polls
	 * many connections from one thread).  Returns the bytes read, 0 at EOF, or -1 with errno
	 * (EAGAIN: nothing yet).
	 */
	long (*recv_nb)(struct ic_conn *c, void *buf, size_t len);
	/* Send len bytes of fd from off, zero-copy where possible.  0, or -1 with errno. */
	int (*send_file)(struct ic_conn *c, int fd, uint64_t off, size_t len);
	/* Fail sends and receives that make no progress for ms milliseconds (0: never).  0 or -1.
	 */
	int (*set_timeout)(struct ic_conn *c, int ms);
	/* Close and free (NULL is ignored). */
	void (*close)(struct ic_conn *c);
};

struct ic_conn {
	const struct ic_transport *t;
	int fd;
	char peer[64]; /* "10.0.0.2:7420", "local" */
};

/* Stream sockets (TCP, and the daemon's Unix socket). */
extern const struct ic_transport ic_tcp_transport;

/*
 * Connect to host:port (name or address) within timeout_ms.  Returns 0 and *out, or -1 with err
 * naming the host (errno ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH...).
 */
int ic_tcp_connect(const char *host, uint16_t port, int timeout_ms, struct ic_conn **out,
                   struct xerr *err);
/* Listen on every address, port `port`.  Returns the socket, or -1 with err. */
int ic_tcp_listen(uint16_t port, struct xerr *err);
/* Listen on a Unix socket at path, mode 0600 (local clients are root).  Returns fd or -1 + err. */
int ic_unix_listen(const char *path, struct xerr *err);
/* Connect to the daemon's Unix socket.  Returns 0 and *out, or -1 with err. */
int ic_unix_connect(const char *path, struct ic_conn **out, struct xerr *err);
/* Accept one connection on a listening socket.  Returns 0 and *out, or -1 with errno. */
int ic_accept(int lfd, struct ic_conn **out);
/* Wrap a connected stream socket.  Returns NULL with errno ENOMEM (fd is then closed). */
struct ic_conn *ic_conn_wrap(int fd, const char *peer);

static inline void ic_conn_close(struct ic_conn *c)
{
	if (c)
		c->t->close(c);
}

#endif

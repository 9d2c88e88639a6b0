/*
 * proto.c - framing, buffering and the EXEC encoding of the xenvm agent protocol (see proto.h).
 */
#include "vm/proto.h"

#include "lib/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* EXEC payload tags: u16 tag, u32 length, value. */
enum {
	TAG_ARG = 1,
	TAG_ENV = 2,
	TAG_CWD = 3,
	TAG_UID = 4,
	TAG_GID = 5,
	TAG_GROUP = 6,
	TAG_FLAGS = 7,
	TAG_RELAY = 8,
	TAG_TTY = 9, /* struct xvp_tty: 10 u32 then XVP_TTY_NCC bytes */
};
#define TTY_LEN (10 * 4 + XVP_TTY_NCC)
#define XVP_MAX_GROUPS 65536u
#define XVP_READ_CHUNK (128u << 10)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

int xvp_buf_reserve(struct xvp_buf *b, size_t more)
{
	uint8_t *nb;
	size_t need, ncap;

	/* Compact first: consumed bytes at the front are reusable. */
	if (b->off > 0 && b->off + b->len + more > b->cap) {
		memmove(b->buf, b->buf + b->off, b->len);
		b->off = 0;
	}
	need = b->off + b->len + more;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(b->buf, ncap);
	if (!nb) {
		errno = ENOMEM;
		return -1;
	}
	b->buf = nb;
	b->cap = ncap;
	return 0;
}

void xvp_buf_free(struct xvp_buf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* Append bytes; 0 or -1 (ENOMEM). */
static int buf_put(struct xvp_buf *b, const void *p, size_t n)
{
	if (xvp_buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->buf + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

void xvp_conn_init(struct xvp_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
}

void xvp_conn_fini(struct xvp_conn *c)
{
	xvp_buf_free(&c->in);
	xvp_buf_free(&c->out);
}

int xvp_send(struct xvp_conn *c, uint16_t type, uint32_t chan, uint16_t stream, const void *payload,
             size_t len)
{
	uint8_t hdr[XVP_HDR_LEN];

	if (len > XVP_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	put32(hdr, (uint32_t)len);
	put16(hdr + 4, type);
	put16(hdr + 6, stream);
	put32(hdr + 8, chan);
	if (xvp_buf_reserve(&c->out, sizeof(hdr) + len) < 0)
		return -1;
	/* cannot fail after the reserve above */
	buf_put(&c->out, hdr, sizeof(hdr));
	buf_put(&c->out, payload, len);
	return 0;
}

int xvp_send_u32(struct xvp_conn *c, uint16_t type, uint32_t chan, uint16_t stream, uint32_t v)
{
	uint8_t p[4];

	put32(p, v);
	return xvp_send(c, type, chan, stream, p, sizeof(p));
}

int xvp_send_u32x2(struct xvp_conn *c, uint16_t type, uint32_t chan, uint32_t a, uint32_t b)
{
	uint8_t p[8];

	put32(p, a);
	put32(p + 4, b);
	return xvp_send(c, type, chan, 0, p, sizeof(p));
}

int xvp_send_error(struct xvp_conn *c, uint32_t chan, int err, const char *text)
{
	uint8_t p[4 + 512];
	size_t n = text ? strlen(text) : 0;

	if (n > 512)
		n = 512;
	put32(p, (uint32_t)err);
	if (n)
		memcpy(p + 4, text, n);
	return xvp_send(c, XVP_ERROR, chan, 0, p, 4 + n);
}

int xvp_send_hello(struct xvp_conn *c, const char *status)
{
	uint8_t p[8 + 512];
	size_t n = status ? strlen(status) : 0;

	if (n > 512)
		n = 512;
	put32(p, XVP_VERSION);
	put32(p + 4, 0);
	if (n)
		memcpy(p + 8, status, n);
	return xvp_send(c, XVP_HELLO, 0, 0, p, 8 + n);
}

void xvp_refusal_log(struct xvp_refusals *r, const char *what, const char *why)
{
	static const char prefix[] = "refused: ";
	struct timespec ts;
	long long now;

	r->count++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (r->logged_ms && now - r->logged_ms < 60000)
		return;
	if (strncmp(why, prefix, sizeof(prefix) - 1) == 0)
		why += sizeof(prefix) - 1;
	xwarn("%s: refused %s (%lu refused since the last report)", what, why, r->count);
	r->logged_ms = now;
	r->count = 0;
}

void xvp_refuse(int fd, const char *why, const char *what, struct xvp_refusals *r)
{
	struct xvp_conn conn;

	xvp_conn_init(&conn, fd);
	if (xvp_send_hello(&conn, why) == 0)
		xvp_conn_flush(&conn);
	xvp_conn_fini(&conn);
	close(fd);
	xvp_refusal_log(r, what, why);
}

size_t xvp_conn_pending(const struct xvp_conn *c)
{
	return c->out.len;
}

int xvp_conn_flush(struct xvp_conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = write(c->fd, c->out.buf + c->out.off, c->out.len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out.off += (size_t)n;
		c->out.len -= (size_t)n;
	}
	c->out.off = 0;
	return 0;
}

int xvp_conn_flush_all(struct xvp_conn *c)
{
	while (c->out.len > 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};

		if (xvp_conn_flush(c) < 0)
			return -1;
		if (c->out.len == 0)
			break;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

ssize_t xvp_conn_fill(struct xvp_conn *c)
{
	ssize_t n;

	if (xvp_buf_reserve(&c->in, XVP_READ_CHUNK) < 0)
		return -1;
	do {
		n = read(c->fd, c->in.buf + c->in.off + c->in.len, XVP_READ_CHUNK);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		c->in.len += (size_t)n;
	return n;
}

int xvp_conn_next(struct xvp_conn *c, struct xvp_frame *f)
{
	const uint8_t *h;
	uint32_t len;

	if (c->in.len < XVP_HDR_LEN)
		return 0;
	h = c->in.buf + c->in.off;
	len = get32(h);
	if (len > XVP_MAX_PAYLOAD) {
		errno = EPROTO;
		return -1;
	}
	if (c->in.len < XVP_HDR_LEN + (size_t)len)
		return 0;
	f->len = len;
	f->type = get16(h + 4);
	f->stream = get16(h + 6);
	f->chan = get32(h + 8);
	f->payload = h + XVP_HDR_LEN;
	/*
	 * Consume now: the bytes stay where they are until the next xvp_conn_fill() (which may
	 * compact or grow the buffer), so f->payload is valid until then.
	 */
	c->in.off += XVP_HDR_LEN + len;
	c->in.len -= XVP_HDR_LEN + len;
	if (c->in.len == 0)
		c->in.off = 0;
	return 1;
}

int xvp_get_u32(const struct xvp_frame *f, size_t index, uint32_t *v)
{
	if (f->len < (index + 1) * 4) {
		errno = EPROTO;
		return -1;
	}
	*v = get32(f->payload + index * 4);
	return 0;
}

int xvp_parse_hello(const struct xvp_frame *f, uint32_t *version, char *status, size_t len)
{
	size_t n;

	if (f->type != XVP_HELLO || f->len < 8 || len == 0) {
		errno = EPROTO;
		return -1;
	}
	*version = get32(f->payload);
	n = f->len - 8;
	if (n > len - 1)
		n = len - 1;
	memcpy(status, f->payload + 8, n);
	status[n] = '\0';
	if (*version != XVP_VERSION) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	return 0;
}

/* Append one TLV; 0 or -1 (ENOMEM, EMSGSIZE). */
static int tlv_put(struct xvp_buf *b, uint16_t tag, const void *v, size_t n)
{
	uint8_t h[6];

	if (n > XVP_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	put16(h, tag);
	put32(h + 2, (uint32_t)n);
	if (buf_put(b, h, sizeof(h)) < 0 || buf_put(b, v, n) < 0)
		return -1;
	return 0;
}

static int tlv_put32(struct xvp_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t p[4];

	put32(p, v);
	return tlv_put(b, tag, p, sizeof(p));
}

/* The TTY field's bytes. */
static void tty_put(uint8_t *p, const struct xvp_tty *t)
{
	const uint32_t v[10] = {t->rows,  t->cols,  t->xpixel, t->ypixel, t->iflag,
	                        t->oflag, t->cflag, t->lflag,  t->ispeed, t->ospeed};

	for (size_t i = 0; i < 10; i++)
		put32(p + 4 * i, v[i]);
	memcpy(p + 40, t->cc, XVP_TTY_NCC);
}

static void tty_get(const uint8_t *p, struct xvp_tty *t)
{
	uint32_t *v[10] = {&t->rows,  &t->cols,  &t->xpixel, &t->ypixel, &t->iflag,
	                   &t->oflag, &t->cflag, &t->lflag,  &t->ispeed, &t->ospeed};

	for (size_t i = 0; i < 10; i++)
		*v[i] = get32(p + 4 * i);
	memcpy(t->cc, p + 40, XVP_TTY_NCC);
}

int xvp_send_exit(struct xvp_conn *c, uint32_t chan, int wstatus)
{
	uint8_t p[12];

	/* kind and code first: what agents before the status field sent, in the same places */
	if (WIFSIGNALED(wstatus)) {
		put32(p, XVP_SIGNALED);
		put32(p + 4, (uint32_t)WTERMSIG(wstatus));
	} else {
		put32(p, XVP_EXITED);
		put32(p + 4, (uint32_t)WEXITSTATUS(wstatus));
	}
	put32(p + 8, (uint32_t)wstatus);
	return xvp_send(c, XVP_EXIT, chan, 0, p, sizeof(p));
}

int xvp_exit_status(const struct xvp_frame *f, int *wstatus)
{
	uint32_t kind, code, st;

	if (xvp_get_u32(f, 0, &kind) < 0 || xvp_get_u32(f, 1, &code) < 0)
		return -1;
	if (xvp_get_u32(f, 2, &st) == 0) {
		/* only an exit or a death by signal ends an exec: anything else is malformed */
		if (!WIFEXITED((int)st) && !WIFSIGNALED((int)st))
			goto proto;
		*wstatus = (int)st;
		return 0;
	}
	if (kind == XVP_SIGNALED && code > 0 && code < 128)
		*wstatus = (int)code; /* the kernel's encoding of a death by signal, no core */
	else if (kind == XVP_EXITED)
		*wstatus = (int)((code & 255) << 8);
	else
		goto proto;
	return 0;
proto:
	errno = EPROTO;
	return -1;
}

int xvp_send_winsize(struct xvp_conn *c, uint32_t chan, const struct xvp_tty *t)
{
	uint8_t p[16];

	put32(p, t->rows);
	put32(p + 4, t->cols);
	put32(p + 8, t->xpixel);
	put32(p + 12, t->ypixel);
	return xvp_send(c, XVP_WINSIZE, chan, 0, p, sizeof(p));
}

int xvp_parse_winsize(const struct xvp_frame *f, struct xvp_tty *t)
{
	if (f->type != XVP_WINSIZE || f->len < 16) {
		errno = EPROTO;
		return -1;
	}
	t->rows = get32(f->payload);
	t->cols = get32(f->payload + 4);
	t->xpixel = get32(f->payload + 8);
	t->ypixel = get32(f->payload + 12);
	return 0;
}

int xvp_exec_encode(const struct xvp_exec *x, struct xvp_buf *out)
{
	size_t i;

	for (i = 0; i < x->argc; i++)
		if (tlv_put(out, TAG_ARG, x->argv[i], strlen(x->argv[i])) < 0)
			return -1;
	for (i = 0; i < x->envc; i++)
		if (tlv_put(out, TAG_ENV, x->envp[i], strlen(x->envp[i])) < 0)
			return -1;
	if (x->cwd && tlv_put(out, TAG_CWD, x->cwd, strlen(x->cwd)) < 0)
		return -1;
	if (tlv_put32(out, TAG_UID, x->uid) < 0 || tlv_put32(out, TAG_GID, x->gid) < 0 ||
	    tlv_put32(out, TAG_FLAGS, x->flags) < 0)
		return -1;
	for (i = 0; i < x->ngroups; i++)
		if (tlv_put32(out, TAG_GROUP, x->groups[i]) < 0)
			return -1;
	for (i = 0; i < x->nrelay && i < XVP_MAX_RELAY; i++)
		if (tlv_put32(out, TAG_RELAY, (uint32_t)x->relay_fds[i]) < 0)
			return -1;
	if (x->pty) {
		uint8_t t[TTY_LEN];

		tty_put(t, &x->tty);
		if (tlv_put(out, TAG_TTY, t, sizeof(t)) < 0)
			return -1;
	}
	if (out->len > XVP_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* Append a copy of a wire string to a NULL-terminated vector; 0 or -1 (ENOMEM, EPROTO). */
static int vec_add(char ***vec, size_t *n, const uint8_t *v, uint32_t len)
{
	char **nv, *s;

	if (memchr(v, '\0', len)) {
		errno = EPROTO; /* cannot be passed to execve unchanged */
		return -1;
	}
	s = strndup((const char *)v, len);
	if (!s)
		return -1;
	nv = realloc(*vec, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		errno = ENOMEM;
		return -1;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*vec = nv;
	return 0;
}

int xvp_exec_decode(const uint8_t *p, size_t len, struct xvp_exec *x)
{
	size_t pos = 0;
	int saved;

	memset(x, 0, sizeof(*x));
	while (pos < len) {
		uint16_t tag;
		uint32_t n, v = 0;
		const uint8_t *val;

		if (len - pos < 6)
			goto proto;
		tag = get16(p + pos);
		n = get32(p + pos + 2);
		pos += 6;
		if (n > len - pos)
			goto proto;
		val = p + pos;
		pos += n;
		if (tag >= TAG_UID && tag <= TAG_RELAY) {
			if (n != 4)
				goto proto;
			v = get32(val);
		}
		switch (tag) {
		case TAG_ARG:
			if (vec_add(&x->argv, &x->argc, val, n) < 0)
				goto fail;
			break;
		case TAG_ENV:
			if (!memchr(val, '=', n))
				goto proto;
			if (vec_add(&x->envp, &x->envc, val, n) < 0)
				goto fail;
			break;
		case TAG_CWD:
			if (x->cwd || memchr(val, '\0', n))
				goto proto;
			x->cwd = strndup((const char *)val, n);
			if (!x->cwd)
				goto fail;
			break;
		case TAG_UID:
			x->uid = v;
			break;
		case TAG_GID:
			x->gid = v;
			break;
		case TAG_FLAGS:
			x->flags = v;
			break;
		case TAG_GROUP: {
			uint32_t *ng;

			if (x->ngroups >= XVP_MAX_GROUPS)
				goto proto;
			ng = realloc(x->groups, (x->ngroups + 1) * sizeof(*ng));
			if (!ng)
				goto fail;
			x->groups = ng;
			x->groups[x->ngroups++] = v;
			break;
		}
		case TAG_RELAY:
			if (x->nrelay >= XVP_MAX_RELAY || v > 1023 || v <= 2)
				goto proto;
			x->relay_fds[x->nrelay++] = (int)v;
			break;
		case TAG_TTY:
			if (x->pty || n != TTY_LEN)
				goto proto;
			tty_get(val, &x->tty);
			x->pty = true;
			break;
		default:
			break; /* unknown tags are skipped: a newer host may add optional fields */
		}
	}
	if (x->argc == 0 || !x->cwd)
		goto proto;
	if (!x->envp) {
		x->envp = calloc(1, sizeof(*x->envp));
		if (!x->envp)
			goto fail;
	}
	return 0;
proto:
	errno = EPROTO;
fail:
	saved = errno;
	xvp_exec_free(x);
	errno = saved;
	return -1;
}

void xvp_exec_free(struct xvp_exec *x)
{
	size_t i;

	for (i = 0; i < x->argc; i++)
		free(x->argv[i]);
	for (i = 0; i < x->envc; i++)
		free(x->envp[i]);
	free(x->argv);
	free(x->envp);
	free(x->cwd);
	free(x->groups);
	memset(x, 0, sizeof(*x));
}

const char *xvp_type_name(uint16_t type)
{
	static const char *const names[] = {
	    [XVP_HELLO] = "HELLO",   [XVP_EXEC] = "EXEC",         [XVP_STARTED] = "STARTED",
	    [XVP_DATA] = "DATA",     [XVP_EOF] = "EOF",           [XVP_CREDIT] = "CREDIT",
	    [XVP_SIGNAL] = "SIGNAL", [XVP_EXIT] = "EXIT",         [XVP_ERROR] = "ERROR",
	    [XVP_CLOSE] = "CLOSE",   [XVP_SHUTDOWN] = "SHUTDOWN", [XVP_WINSIZE] = "WINSIZE",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "?";
}

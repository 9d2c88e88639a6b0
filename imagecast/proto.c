/*
 * proto.c - framing for the imagecast wire protocol (see proto.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const char *const names[IC_FRAME_TYPE_MAX] = {
    [IC_HELLO] = "HELLO",       [IC_WELCOME] = "WELCOME",
    [IC_ERROR] = "ERROR",       [IC_GET_MANIFEST] = "GET_MANIFEST",
    [IC_MANIFEST] = "MANIFEST", [IC_GET_CHUNKS] = "GET_CHUNKS",
    [IC_CHUNK] = "CHUNK",       [IC_END] = "END",
    [IC_FETCH] = "FETCH",       [IC_PROGRESS] = "PROGRESS",
    [IC_DONE] = "DONE",         [IC_COMMAND] = "COMMAND",
    [IC_REPLY] = "REPLY",
};

const char *ic_frame_name(unsigned type)
{
	return type < IC_FRAME_TYPE_MAX && names[type] ? names[type] : "unknown";
}

void ic_hdr_pack(uint8_t out[IC_FRAME_HDR], unsigned version, unsigned type, uint32_t length)
{
	uint32_t magic = htonl(IC_PROTO_MAGIC), len = htonl(length);

	memcpy(out, &magic, 4);
	out[4] = (uint8_t)version;
	out[5] = (uint8_t)type;
	out[6] = 0;
	out[7] = 0;
	memcpy(out + 8, &len, 4);
}

int ic_hdr_unpack(const uint8_t in[IC_FRAME_HDR], unsigned *type, uint32_t *length,
                  struct xerr *err)
{
	uint32_t magic, len;

	memcpy(&magic, in, 4);
	memcpy(&len, in + 8, 4);
	if (ntohl(magic) != IC_PROTO_MAGIC) {
		return xerr_errno(err, EPROTO, "not an imagecast peer (bad magic 0x%08x)",
		                  ntohl(magic));
	}
	if (in[4] != IC_PROTO_VERSION) {
		return xerr_errno(err, EPROTO,
		                  "unsupported protocol version %u; this node speaks %u", in[4],
		                  IC_PROTO_VERSION);
	}
	if (in[5] == 0 || in[5] >= IC_FRAME_TYPE_MAX) {
		return xerr_errno(err, EPROTO, "unknown frame type %u", in[5]);
	}
	if (ntohl(len) > IC_FRAME_MAX) {
		return xerr_errno(err, EPROTO, "frame of %u bytes exceeds the limit %u", ntohl(len),
		                  IC_FRAME_MAX);
	}
	*type = in[5];
	*length = ntohl(len);
	return 0;
}

int ic_send(struct ic_conn *c, unsigned type, const void *payload, size_t len)
{
	uint8_t hdr[IC_FRAME_HDR];

	if (!c || len > IC_FRAME_MAX || (!payload && len)) {
		errno = EINVAL;
		return -1;
	}
	ic_hdr_pack(hdr, IC_PROTO_VERSION, type, (uint32_t)len);
	if (c->t->send(c, hdr, sizeof(hdr), len > 0) < 0)
		return -1;
	return len ? c->t->send(c, payload, len, 0) : 0;
}

void ic_send_error(struct ic_conn *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	(void)ic_send(c, IC_ERROR, msg, strlen(msg));
}

int ic_send_chunk(struct ic_conn *c, uint32_t index, int fd, uint64_t off, uint32_t len)
{
	uint8_t hdr[IC_FRAME_HDR + 4];
	uint32_t idx = htonl(index);

	if (!c || fd < 0) {
		errno = EINVAL;
		return -1;
	}
	ic_hdr_pack(hdr, IC_PROTO_VERSION, IC_CHUNK, len + 4);
	memcpy(hdr + IC_FRAME_HDR, &idx, 4);
	if (c->t->send(c, hdr, sizeof(hdr), 1) < 0)
		return -1;
	return c->t->send_file(c, fd, off, len);
}

int ic_recv_hdr(struct ic_conn *c, unsigned *type, uint32_t *length, struct xerr *err)
{
	uint8_t hdr[IC_FRAME_HDR];

	if (!c || !type || !length) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	if (c->t->recv(c, hdr, sizeof(hdr)) < 0) {
		int e = errno;

		xerr_set(err, "%s: %s", c->peer,
		         e == ECONNRESET ? "connection closed" : strerror(e));
		errno = e;
		return -1;
	}
	if (ic_hdr_unpack(hdr, type, length, err) < 0) {
		uint32_t magic;

		memcpy(&magic, hdr, sizeof(magic));
		/* Tell a peer of another version why we hang up, in a frame it can parse. */
		if (hdr[4] != IC_PROTO_VERSION && ntohl(magic) == IC_PROTO_MAGIC)
			ic_send_error(c, "unsupported protocol version %u; this node speaks %u",
			              hdr[4], IC_PROTO_VERSION);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int ic_recv(struct ic_conn *c, unsigned *type, char **payload, uint32_t *len, uint32_t max,
            struct xerr *err)
{
	uint32_t n;
	char *buf;

	if (!payload) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	*payload = NULL;
	if (ic_recv_hdr(c, type, &n, err) < 0)
		return -1;
	if (n > max) {
		return xerr_errno(err, EPROTO, "%s: %s frame of %u bytes is too large", c->peer,
		                  ic_frame_name(*type), n);
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	if (n && c->t->recv(c, buf, n) < 0) {
		int e = errno;

		free(buf);
		errno = e;
		return xerr_set(err, "%s: %s", c->peer,
		                e == ECONNRESET ? "connection closed" : strerror(e));
	}
	buf[n] = '\0';
	if (*type == IC_ERROR) {
		xerr_set(err, "%s", buf);
		free(buf);
		errno = EREMOTEIO;
		return -1;
	}
	*payload = buf;
	if (len)
		*len = n;
	return 0;
}

int ic_recv_expect(struct ic_conn *c, unsigned want, char **payload, uint32_t *len, uint32_t max,
                   struct xerr *err)
{
	unsigned type;

	if (ic_recv(c, &type, payload, len, max, err) < 0)
		return -1;
	if (type != want) {
		free(*payload);
		*payload = NULL;
		return xerr_errno(err, EPROTO, "%s: expected %s, got %s", c->peer,
		                  ic_frame_name(want), ic_frame_name(type));
	}
	return 0;
}

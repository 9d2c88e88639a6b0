/*
 * proto.h - the imagecast wire protocol, version 2 (2: manifests carry midstates, manifest.h).
 *
 * Every message is a frame: a 12-byte header in network byte order, then `length` payload bytes.
 *   u32 magic   0x49435354 ("ICST")
 *   u8  version IC_PROTO_VERSION; a receiver answers any other version with an ERROR frame
 *               ("unsupported protocol version N; this node speaks 2") and closes
 *   u8  type    enum ic_frame_type
 *   u16 flags   0 (reserved)
 *   u32 length  payload bytes (at most IC_FRAME_MAX)
 * Control payloads are text ("key value\n" lines); CHUNK's payload is a u32 chunk index followed
 * by the chunk's bytes, sent with sendfile(2) from the cache.
 *
 * A TCP session opens with HELLO (a munge credential) and WELCOME; see auth.h.  Then:
 *   GET_MANIFEST <fetch request> -> MANIFEST <manifest text> | ERROR
 *   GET_CHUNKS  <digest, wanted chunks, mode> [--\n <fetch request>] -> CHUNK ... END | ERROR
 *               (the fetch request starts the peer's transfer if nothing has yet, as GET_MANIFEST
 *               does; v2)
 *   FETCH <fetch request> -> PROGRESS ... DONE | ERROR      (also on the local socket)
 *   COMMAND <verb args> -> REPLY | ERROR                    (local socket only)
 */
#ifndef IC_PROTO_H
#define IC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "transport.h"

#define IC_PROTO_MAGIC 0x49435354u
#define IC_PROTO_VERSION 2
#define IC_FRAME_HDR 12
#define IC_CHUNKS_SPEC_SEP "--\n" /* a line of its own in GET_CHUNKS before the fetch request */
#define IC_FRAME_MAX ((64u << 20) + 64u) /* the largest chunk plus its index */

enum ic_frame_type {
	IC_HELLO = 1,
	IC_WELCOME,
	IC_ERROR,
	IC_GET_MANIFEST,
	IC_MANIFEST,
	IC_GET_CHUNKS,
	IC_CHUNK,
	IC_END,
	IC_FETCH,
	IC_PROGRESS,
	IC_DONE,
	IC_COMMAND,
	IC_REPLY,
	IC_FRAME_TYPE_MAX,
};

/* The frame type's name for messages ("HELLO"), or "unknown". */
const char *ic_frame_name(unsigned type);

/* Pack/unpack a header.  ic_hdr_unpack returns 0, or -1 with err and errno EPROTO. */
void ic_hdr_pack(uint8_t out[IC_FRAME_HDR], unsigned version, unsigned type, uint32_t length);
int ic_hdr_unpack(const uint8_t in[IC_FRAME_HDR], unsigned *type, uint32_t *length,
                  struct xerr *err);

/* Send one frame.  Returns 0, or -1 with errno from the transport. */
int ic_send(struct ic_conn *c, unsigned type, const void *payload, size_t len);
/* Send an ERROR frame with a formatted message (best effort; errors ignored). */
void ic_send_error(struct ic_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Send a CHUNK frame whose data is `len` bytes of `fd` at `off` (zero-copy).  Returns 0 or -1.
 */
int ic_send_chunk(struct ic_conn *c, uint32_t index, int fd, uint64_t off, uint32_t len);

/*
 * Receive a frame header.  A bad magic or version is answered (version: with an ERROR frame) and
 * fails with errno EPROTO and err saying so.  Returns 0, or -1 with err (transport errno kept).
 */
int ic_recv_hdr(struct ic_conn *c, unsigned *type, uint32_t *length, struct xerr *err);

/*
 * Receive a whole frame of at most `max` payload bytes into a new NUL-terminated buffer *payload
 * (free()).  An ERROR frame fails with errno EREMOTEIO and its text in err.  Returns 0, or -1.
 */
int ic_recv(struct ic_conn *c, unsigned *type, char **payload, uint32_t *len, uint32_t max,
            struct xerr *err);

/* Receive a frame that must be of type `want`; anything else is an error.  Returns 0 or -1. */
int ic_recv_expect(struct ic_conn *c, unsigned want, char **payload, uint32_t *len, uint32_t max,
                   struct xerr *err);

#endif

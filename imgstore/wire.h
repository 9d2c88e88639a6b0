/*
 * wire.h - the image manager's protocol on its Unix socket (xenvm-imaged(8), PROTOCOL).
 *
 * The client sends a header of "key value" lines ended by an empty line:
 *   xenvm-image 1                       first line, the protocol version
 *   op <list|show|push|tag|rm|gc|history|share|unshare|fsck>
 *   arg <text>                          0 to 4 arguments, in order
 *   all 1                               list: every namespace (admins)
 *   file <role> <size> <sha256>         push: one per file, in role order
 *   attrs <length>                      push: bytes of attribute YAML
 * then, for a push, the attribute YAML and each file's bytes, in that order.  The manager answers
 * "ok\n" and a text body, or "error <message>\n", and closes.  Who the client is comes from
 * SO_PEERCRED, never from the header.
 */
#ifndef IMGS_WIRE_H
#define IMGS_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "store.h"

#define IMGS_WIRE_MAGIC "xenvm-image 1"
#define IMGS_WIRE_HEADER_MAX 8192
#define IMGS_WIRE_ARGS 4
#define IMGS_WIRE_ARG_MAX 160

struct imgs_req {
	char op[16];
	char args[IMGS_WIRE_ARGS][IMGS_WIRE_ARG_MAX];
	int nargs;
	bool all;
	struct imgs_file files[IMGS_ROLES];
	uint64_t attrs_len;
};

/* The header's text into buf (len bytes).  Returns its length, or -1 (ENOSPC). */
int imgs_req_format(const struct imgs_req *r, char *buf, size_t len);
/* Read and parse a header from fd (byte by byte: the body follows).  0, or -1 with err. */
int imgs_req_read(int fd, struct imgs_req *r, struct xerr *err);

#endif

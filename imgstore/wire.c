/* wire.c - see wire.h. */
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int imgs_req_format(const struct imgs_req *r, char *buf, size_t len)
{
	size_t n = 0;
	int k;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		k = snprintf(buf + n, len - n, __VA_ARGS__);                                       \
		if (k < 0 || (size_t)k >= len - n)                                                 \
			goto full;                                                                 \
		n += (size_t)k;                                                                    \
	} while (0)
	PUT("%s\nop %s\n", IMGS_WIRE_MAGIC, r->op);
	for (int i = 0; i < r->nargs; i++)
		PUT("arg %s\n", r->args[i]);
	if (r->all)
		PUT("all 1\n");
	for (int i = 0; i < IMGS_ROLES; i++)
		if (r->files[i].present)
			PUT("file %s %" PRIu64 " %s\n", imgs_roles[i], r->files[i].size,
			    r->files[i].sha256);
	if (r->attrs_len)
		PUT("attrs %" PRIu64 "\n", r->attrs_len);
	PUT("\n");
#undef PUT
	return (int)n;
full:
	errno = ENOSPC;
	return -1;
}

/* One header line into line (NUL-ended, no newline).  Returns its length, or -1 with err. */
static int read_line(int fd, char *line, size_t len, size_t *total, struct xerr *err)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t k = read(fd, &c, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return xerr_set(err, "request: connection closed in the header");
		if (++*total > IMGS_WIRE_HEADER_MAX)
			return xerr_set(err, "request: header longer than %d bytes",
			                IMGS_WIRE_HEADER_MAX);
		if (c == '\n')
			break;
		if (c == '\0' || n + 1 >= len)
			return xerr_set(err, "request: bad header line");
		line[n++] = c;
	}
	line[n] = '\0';
	return (int)n;
}

int imgs_req_read(int fd, struct imgs_req *r, struct xerr *err)
{
	char line[512];
	size_t total = 0;
	int n;

	memset(r, 0, sizeof(*r));
	if (read_line(fd, line, sizeof(line), &total, err) < 0)
		return -1;
	if (strcmp(line, IMGS_WIRE_MAGIC) != 0)
		return xerr_set(err, "request: not the xenvm-image protocol version 1");
	while ((n = read_line(fd, line, sizeof(line), &total, err)) > 0) {
		char role[16], sha[80];
		uint64_t size;

		if (strncmp(line, "op ", 3) == 0 && strlen(line + 3) < sizeof(r->op)) {
			strcpy(r->op, line + 3);
		} else if (strncmp(line, "arg ", 4) == 0 && r->nargs < IMGS_WIRE_ARGS &&
		           strlen(line + 4) < IMGS_WIRE_ARG_MAX) {
			strcpy(r->args[r->nargs++], line + 4);
		} else if (strcmp(line, "all 1") == 0) {
			r->all = true;
		} else if (sscanf(line, "attrs %" SCNu64, &r->attrs_len) == 1) {
			continue;
		} else if (sscanf(line, "file %15s %" SCNu64 " %79s", role, &size, sha) == 3) {
			int i;

			for (i = 0; i < IMGS_ROLES && strcmp(imgs_roles[i], role) != 0; i++)
				;
			if (i == IMGS_ROLES || r->files[i].present || !imgs_hex_valid(sha) ||
			    size == 0)
				return xerr_set(err, "request: bad file line '%.80s'", line);
			r->files[i].present = true;
			r->files[i].size = size;
			strcpy(r->files[i].sha256, sha);
		} else {
			return xerr_set(err, "request: unknown header line '%.80s'", line);
		}
	}
	if (n < 0)
		return -1;
	if (!r->op[0])
		return xerr_set(err, "request: no op");
	return 0;
}

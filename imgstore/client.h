/*
 * client.h - talking to the image manager (wire.h) from `xenvm image` and the tests.
 */
#ifndef IMGS_CLIENT_H
#define IMGS_CLIENT_H

#include <stdio.h>

#include "wire.h"

/* A push's inputs: the attribute YAML and, for each role in r->files, an open file to stream. */
struct imgs_push_body {
	const char *attrs;
	int fds[IMGS_ROLES];
};

/*
 * Connect to the manager's socket, send r (and, for a push, body), copy the answer's text to out.
 * Returns 0 when the manager said ok, -1 with err (the manager's message, or why it could not be
 * reached).
 */
int imgs_call(const char *socket_path, const struct imgs_req *r, const struct imgs_push_body *body,
              FILE *out, struct xerr *err);
/*
 * imgs_call, where socket_path may also be "HOST:PORT" (not starting with '/'): the manager's
 * image_store.listen, reached over TCP with a munge credential from munge_socket (NULL:
 * libmunge's default; remote.h).
 */
int imgs_call_via(const char *socket_path, const char *munge_socket, const struct imgs_req *r,
                  const struct imgs_push_body *body, FILE *out, struct xerr *err);

/* size and sha256 (hex) of an open file, read from its start; the offset is put back to 0. */
int imgs_hash_fd(int fd, uint64_t *size, char *hex, struct xerr *err);

#endif

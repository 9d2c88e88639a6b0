/*
 * server.h - one request of the image manager: read it, check who may do it, do it, answer
 * (wire.h).  The manager serves one request at a time, so store writes never interleave.
 */
#ifndef IMGS_SERVER_H
#define IMGS_SERVER_H

#include <stdio.h>

#include "lib/config.h"
#include "policy.h"
#include "store.h"
#include "wire.h"

/*
 * Serve the request on connection fd from client c.  The answer is written to fd.  Returns 0
 * when the request succeeded, -1 when it was refused or failed (the client was told why).
 */
int imgs_serve(const struct xenvm_config *cfg, struct imgs_store *st, int fd,
               const struct imgs_client *c);

/* A reference from a request: [USER/]NAME[:TAG] into ns, name, tag (tag "" when none given).
 * Returns 0, or -1 with err. */
int imgs_parse_ref(const char *s, struct imgs_ns *ns, char *name, char *tag, struct xerr *err);

/* push (push.c): body is the rest of the connection.  Writes the answer's text to out. */
int imgs_push(const struct xenvm_config *cfg, struct imgs_store *st, int fd,
              const struct imgs_client *c, const struct imgs_req *r, FILE *out, struct xerr *err);

#endif

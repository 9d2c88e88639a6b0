/*
 * serve.h - one connection to imagecastd: a peer (TCP, munge-authenticated) or a local client
 * (the Unix socket, root only).  One request per connection.
 */
#ifndef IC_SERVE_H
#define IC_SERVE_H

#include <stdbool.h>

#include "icd.h"
#include "transport.h"

/*
 * Handle the connection's request and close it (always; c is freed).  A TCP peer has been
 * authenticated already (the accept thread's handshake stage, handshake.h).
 */
void serve_conn(struct icd *d, struct ic_conn *c, bool local);

#endif

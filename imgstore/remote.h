/*
 * remote.h - the image manager over TCP for login nodes (image_store.listen), authenticated by
 * munge: the client's first line is "munge <credential>\n", a credential its munged encoded with
 * the payload IMGS_MUNGE_PAYLOAD; the manager decodes it with its own munged (same key: the
 * cluster's) and takes the uid and gid munge vouches for, as SO_PEERCRED gives them on the Unix
 * socket.  munged's replay cache refuses a credential seen twice and its TTL bounds its life; the
 * payload keeps a credential made for another service (imagecast's HELLO) from being accepted.
 * Nothing of the request is read before the credential is checked.
 */
#ifndef IMGS_REMOTE_H
#define IMGS_REMOTE_H

#include <sys/types.h>

#include "lib/error.h"

#define IMGS_MUNGE_PAYLOAD "xenvm-image 1"
#define IMGS_MUNGE_LINE_MAX 4096 /* the first line, "munge " and a credential */

/* "HOST:PORT" (HOST may be empty: every address) into host and port.  0, or -1 with err. */
int imgs_hostport(const char *s, char *host, size_t hlen, char *port, size_t plen,
                  struct xerr *err);

/* Listen on "HOST:PORT".  The socket, or -1 with err. */
int imgs_tcp_listen(const char *hostport, struct xerr *err);

/*
 * Connect to "HOST:PORT" and send the munge line (munge_socket NULL: libmunge's default).
 * The connected socket, or -1 with err.
 */
int imgs_tcp_connect(const char *hostport, const char *munge_socket, struct xerr *err);

/*
 * Read the munge line from fd (byte by byte: the request follows it) and decode it.  0 with the
 * uid and gid, or -1 with err (errno EACCES: refused; EPROTO: no munge line).
 */
int imgs_munge_accept(int fd, const char *munge_socket, uid_t *uid, gid_t *gid, struct xerr *err);

#endif

/*
 * auth.h - munge authentication of imagecast sessions.
 *
 * The connecting side sends HELLO whose payload is a munge credential (encoded by its munged)
 * carrying "imagecast <version> <node>"; the accepting side decodes it with its own munged, so both
 * must share the munge key, and accepts only uid 0 or a configured user (SlurmUser).  munged's own
 * replay cache rejects a credential seen twice, and its TTL bounds how long one is good.  The
 * answer is WELCOME (payload: the accepting node's name) or ERROR with the reason.  Nothing else is
 * read from a connection before it is authenticated.
 */
#ifndef IC_AUTH_H
#define IC_AUTH_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"
#include "transport.h"

/* The largest HELLO payload (a munge credential) a node reads. */
#define IC_HELLO_MAX 4096

struct ic_auth {
	const char *munge_socket; /* NULL: libmunge's default */
	const uid_t *allowed;     /* uids accepted besides 0 */
	size_t n_allowed;
	const char *node; /* our node name, sent in HELLO and WELCOME */
};

/* Authenticate to the peer.  Returns 0, or -1 with err (errno EACCES when refused). */
int ic_auth_connect(struct ic_conn *c, const struct ic_auth *a, struct xerr *err);

/*
 * Authenticate the peer that connected; answers WELCOME or ERROR.  Returns 0 and the peer's uid
 * in *uid (may be NULL), or -1 with err (errno EACCES when refused, EPROTO on a bad first frame).
 */
int ic_auth_accept(struct ic_conn *c, const struct ic_auth *a, uid_t *uid, struct xerr *err);

/*
 * The second half of ic_auth_accept, for a HELLO already read (the daemon reads it without
 * blocking, imagecastd.c): decode cred and answer WELCOME or ERROR.  Returns 0 and the uid, or -1
 * with err (errno EACCES when refused).
 */
int ic_auth_check(struct ic_conn *c, const struct ic_auth *a, const char *cred, uid_t *uid,
                  struct xerr *err);

/* The ERROR text for a first frame of `type` that is not HELLO (thread-local buffer). */
const char *ic_auth_need_hello(unsigned type);

/*
 * Resolve user names (or numeric uids) to uids into *out (free()).  Returns 0, or -1 with err
 * naming the unknown user (errno ENOENT).
 */
int ic_auth_uids(char *const *names, size_t n, uid_t **out, struct xerr *err);

#endif

/*
 * auth.c - munge credentials on HELLO (see auth.h).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <munge.h>

#include "auth.h"
#include "proto.h"

/* A munge context on the configured socket.  Returns NULL with err filled. */
static munge_ctx_t ctx_new(const struct ic_auth *a, struct xerr *err)
{
	munge_ctx_t ctx = munge_ctx_create();

	if (!ctx) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		return NULL;
	}
	if (a->munge_socket &&
	    munge_ctx_set(ctx, MUNGE_OPT_SOCKET, a->munge_socket) != EMUNGE_SUCCESS) {
		xerr_set(err, "munge socket %s: %s", a->munge_socket, munge_ctx_strerror(ctx));
		munge_ctx_destroy(ctx);
		errno = EINVAL;
		return NULL;
	}
	return ctx;
}

int ic_auth_connect(struct ic_conn *c, const struct ic_auth *a, struct xerr *err)
{
	munge_ctx_t ctx = NULL;
	char payload[256], *cred = NULL, *reply = NULL;
	munge_err_t me;
	int rc = -1;

	if (!c || !a) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	ctx = ctx_new(a, err);
	if (!ctx)
		return -1;
	snprintf(payload, sizeof(payload), "imagecast %d %s", IC_PROTO_VERSION,
	         a->node ? a->node : "?");
	me = munge_encode(&cred, ctx, payload, (int)strlen(payload));
	if (me != EMUNGE_SUCCESS) {
		errno = EACCES;
		xerr_set(err, "cannot get a munge credential: %s", munge_ctx_strerror(ctx));
		goto out;
	}
	if (ic_send(c, IC_HELLO, cred, strlen(cred)) < 0) {
		xerr_set(err, "%s: %s", c->peer, strerror(errno));
		goto out;
	}
	if (ic_recv_expect(c, IC_WELCOME, &reply, NULL, IC_HELLO_MAX, err) < 0) {
		if (errno == EREMOTEIO)
			errno = EACCES;
		goto out;
	}
	rc = 0;
out:
	free(cred);
	free(reply);
	munge_ctx_destroy(ctx);
	return rc;
}

int ic_auth_check(struct ic_conn *c, const struct ic_auth *a, const char *cred, uid_t *uid,
                  struct xerr *err)
{
	munge_ctx_t ctx = NULL;
	void *data = NULL;
	int dlen = 0, rc = -1;
	uid_t u;
	gid_t g;
	munge_err_t me;

	if (!c || !a || !cred) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	ctx = ctx_new(a, err);
	if (!ctx)
		goto out;
	me = munge_decode(cred, ctx, &data, &dlen, &u, &g);
	if (me != EMUNGE_SUCCESS) {
		ic_send_error(c, "munge credential refused by %s: %s", a->node ? a->node : "peer",
		              munge_ctx_strerror(ctx));
		errno = EACCES;
		xerr_set(err, "%s: munge credential refused: %s", c->peer, munge_ctx_strerror(ctx));
		goto out;
	}
	if (dlen < 10 || strncmp(data, "imagecast ", 10) != 0) {
		ic_send_error(c, "munge credential is not for imagecast");
		errno = EACCES;
		xerr_set(err, "%s: munge credential is not for imagecast", c->peer);
		goto out;
	}
	if (u != 0) {
		size_t i;

		for (i = 0; i < a->n_allowed && a->allowed[i] != u; i++)
			;
		if (i == a->n_allowed) {
			ic_send_error(c,
			              "uid %u may not talk to imagecastd on %s (root or "
			              "imagecast.allowed_users only)",
			              (unsigned)u, a->node ? a->node : "?");
			errno = EACCES;
			xerr_set(err, "%s: uid %u refused", c->peer, (unsigned)u);
			goto out;
		}
	}
	if (ic_send(c, IC_WELCOME, a->node ? a->node : "", a->node ? strlen(a->node) : 0) < 0) {
		xerr_set(err, "%s: %s", c->peer, strerror(errno));
		goto out;
	}
	if (uid)
		*uid = u;
	rc = 0;
out:
	free(data);
	if (ctx)
		munge_ctx_destroy(ctx);
	return rc;
}

int ic_auth_accept(struct ic_conn *c, const struct ic_auth *a, uid_t *uid, struct xerr *err)
{
	char *cred = NULL;
	unsigned type;
	int rc = -1;

	if (!c || !a) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	if (ic_recv(c, &type, &cred, NULL, IC_HELLO_MAX, err) < 0)
		return -1;
	if (type != IC_HELLO) {
		ic_send_error(c, "%s", ic_auth_need_hello(type));
		errno = EPROTO;
		xerr_set(err, "%s: unauthenticated %s refused", c->peer, ic_frame_name(type));
		goto out;
	}
	rc = ic_auth_check(c, a, cred, uid, err);
out:
	free(cred);
	return rc;
}

const char *ic_auth_need_hello(unsigned type)
{
	static const char *const fmt = "authentication required: the first frame must be HELLO "
	                               "with a munge credential, not ";
	static __thread char msg[160];

	snprintf(msg, sizeof(msg), "%s%s", fmt, ic_frame_name(type));
	return msg;
}

int ic_auth_uids(char *const *names, size_t n, uid_t **out, struct xerr *err)
{
	uid_t *v;

	if (!out || (n && !names)) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct passwd *pw = getpwnam(names[i]);
		char *end;
		unsigned long u;

		if (pw) {
			v[i] = pw->pw_uid;
			continue;
		}
		errno = 0;
		u = strtoul(names[i], &end, 10);
		if (errno || end == names[i] || *end) {
			free(v);
			return xerr_errno(err, ENOENT, "imagecast.allowed_users: unknown user '%s'",
			                  names[i]);
		}
		v[i] = (uid_t)u;
	}
	*out = v;
	return 0;
}

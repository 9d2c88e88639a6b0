/*
 * handshake.c - connections between accept(2) and a whole HELLO (see handshake.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "auth.h"
#include "handshake.h"
#include "lib/log.h"

/* A refusal's ERROR frame is small and the socket fresh: this only bounds a pathological peer. */
#define IC_HS_SEND_MS 200

int ic_hs_init(struct ic_hs *h, struct ic_admit *admit, const char *node, double timeout,
               ic_hs_ready_fn ready, void *arg)
{
	if (!h || !admit || !ready || !(timeout > 0)) {
		errno = EINVAL;
		return -1;
	}
	memset(h, 0, sizeof(*h));
	h->v = calloc(admit->max_total, sizeof(*h->v));
	if (!h->v) {
		errno = ENOMEM;
		return -1;
	}
	h->admit = admit;
	h->node = node ? node : "?";
	h->timeout = timeout;
	h->ready = ready;
	h->arg = arg;
	return 0;
}

/* Log one event of `kind` about addr, at most once a minute per peer (admit.h). */
static void log_limited(struct ic_hs *h, const char *kind, const char *addr, double now,
                        const char *what)
{
	long skipped = ic_admit_should_log(h->admit, kind, addr, now);

	if (skipped < 0)
		return;
	if (skipped > 0)
		xwarn("%s: %s (%ld more like it in the last minute not logged)", addr, what,
		      skipped);
	else
		xwarn("%s: %s", addr, what);
}

/*
 * Answer ERROR and close.  The peer may have sent bytes we did not read: closing over them
 * would send a reset that can destroy the ERROR before the peer reads it, so they are drained
 * after our FIN.
 */
static void refuse(struct ic_conn *c, const char *msg)
{
	char sink[4096];

	c->t->set_timeout(c, IC_HS_SEND_MS);
	(void)ic_send(c, IC_ERROR, msg, strlen(msg));
	(void)shutdown(c->fd, SHUT_WR);
	for (int i = 0; i < 16 && c->t->recv_nb(c, sink, sizeof(sink)) > 0; i++)
		;
	ic_conn_close(c);
}

/* Take entry i out of the stage (the last one moves into its place). */
static void drop(struct ic_hs *h, size_t i)
{
	h->v[i] = h->v[--h->n];
	memset(&h->v[h->n], 0, sizeof(h->v[h->n]));
}

/* Refuse entry i with msg, give back its slot and take it out of the stage. */
static void close_entry(struct ic_hs *h, size_t i, const char *msg)
{
	struct ic_hs_conn *e = &h->v[i];
	char addr[IC_ADDR_MAX];

	snprintf(addr, sizeof(addr), "%s", e->c->peer);
	if (msg)
		refuse(e->c, msg);
	else
		ic_conn_close(e->c);
	free(e->payload);
	ic_admit_release(h->admit, addr);
	drop(h, i);
}

void ic_hs_destroy(struct ic_hs *h)
{
	if (!h || !h->v)
		return;
	while (h->n)
		close_entry(h, h->n - 1, NULL);
	free(h->v);
	h->v = NULL;
}

void ic_hs_add(struct ic_hs *h, struct ic_conn *c, double now)
{
	enum ic_admit_verdict v = ic_admit_take(h->admit, c->peer);
	char msg[256], what[320];
	int n;

	if (v == IC_ADMIT_OK) {
		h->v[h->n].c = c;
		h->v[h->n].deadline = now + h->timeout;
		h->n++;
		return;
	}
	if (v == IC_ADMIT_TOTAL)
		n = snprintf(
		    msg, sizeof(msg),
		    "imagecastd on %s: too many connections (max-connections %u); try again "
		    "later",
		    h->node, h->admit->max_total);
	else
		n = snprintf(
		    msg, sizeof(msg),
		    "imagecastd on %s: too many connections from %s (max-per-peer %u); try "
		    "again later",
		    h->node, c->peer, h->admit->max_per_peer);
	if (n < 0 || (size_t)n >= sizeof(msg))
		snprintf(msg, sizeof(msg), "imagecastd: too many connections; try again later");
	snprintf(what, sizeof(what), "connection refused: %s", msg);
	log_limited(h, "limit", c->peer, now, what);
	refuse(c, msg);
}

size_t ic_hs_pollfds(const struct ic_hs *h, struct pollfd *p)
{
	for (size_t i = 0; i < h->n; i++) {
		p[i].fd = h->v[i].c->fd;
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	return h->n;
}

int ic_hs_wait_ms(const struct ic_hs *h, double now)
{
	double first = -1;

	for (size_t i = 0; i < h->n; i++)
		if (first < 0 || h->v[i].deadline < first)
			first = h->v[i].deadline;
	if (first < 0)
		return -1;
	/* Round up: waking a millisecond early would only poll again. */
	return first <= now ? 0 : (int)((first - now) * 1000) + 1;
}

/*
 * Read what entry i's peer sent.  Returns 1 when its HELLO is whole, 0 when more is to come, or
 * -1 when it was closed (refused or gone; the entry is then out of the stage).
 */
static int feed(struct ic_hs *h, size_t i, double now)
{
	struct ic_hs_conn *e = &h->v[i];
	struct xerr err;
	char what[1100];
	unsigned type;
	long r;

	for (;;) {
		if (e->got < IC_FRAME_HDR) {
			r = e->c->t->recv_nb(e->c, e->hdr + e->got, IC_FRAME_HDR - e->got);
		} else {
			if (e->got - IC_FRAME_HDR == e->len)
				return 1;
			r = e->c->t->recv_nb(e->c, e->payload + (e->got - IC_FRAME_HDR),
			                     e->len - (e->got - IC_FRAME_HDR));
		}
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0) {
			close_entry(h, i, NULL); /* the peer left, or its socket failed */
			return -1;
		}
		e->got += (uint32_t)r;
		if (e->got != IC_FRAME_HDR)
			continue;
		/* The header is in: refuse anything but a HELLO of a credential's size. */
		if (ic_hdr_unpack(e->hdr, &type, &e->len, &err) < 0) {
			snprintf(what, sizeof(what), "refused: %s", err.msg);
			log_limited(h, "frame", e->c->peer, now, what);
			close_entry(h, i, err.msg);
			return -1;
		}
		if (type != IC_HELLO) {
			snprintf(what, sizeof(what), "unauthenticated %s refused",
			         ic_frame_name(type));
			log_limited(h, "frame", e->c->peer, now, what);
			close_entry(h, i, ic_auth_need_hello(type));
			return -1;
		}
		if (e->len > IC_HELLO_MAX) {
			snprintf(what, sizeof(what), "HELLO of %u bytes refused (at most %u)",
			         e->len, IC_HELLO_MAX);
			log_limited(h, "frame", e->c->peer, now, what);
			close_entry(h, i, what);
			return -1;
		}
		e->payload = malloc((size_t)e->len + 1);
		if (!e->payload) {
			close_entry(h, i, "out of memory");
			return -1;
		}
	}
}

void ic_hs_run(struct ic_hs *h, const struct pollfd *p, size_t np, double now)
{
	char msg[256];

	/* Backwards: an entry taken out is replaced by the last one, which was already seen. */
	for (size_t i = (np < h->n ? np : h->n); i-- > 0;) {
		struct ic_hs_conn *e = &h->v[i];

		if (p[i].fd != e->c->fd)
			continue; /* not what was polled: nothing to read for it yet */
		if (p[i].revents && feed(h, i, now) == 1) {
			struct ic_conn *c = e->c;
			char *cred = e->payload;

			cred[e->len] = '\0';
			drop(h, i);
			h->ready(h->arg, c, cred); /* takes c, cred and the slot */
		}
	}
	for (size_t i = h->n; i-- > 0;) {
		if (now < h->v[i].deadline)
			continue;
		snprintf(msg, sizeof(msg),
		         "imagecastd on %s: no authentication within %g s (handshake-timeout); "
		         "closing",
		         h->node, h->timeout);
		log_limited(h, "timeout", h->v[i].c->peer, now,
		            "closed: no HELLO within the handshake timeout");
		close_entry(h, i, msg);
	}
}

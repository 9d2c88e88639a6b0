/*
 * handshake.h - the first stage of a TCP connection to imagecastd, run by the accept thread: a
 * slot (admit.h) or an ERROR naming the limit at once, then the HELLO frame read without blocking
 * under one deadline from accept(2).  Only a complete HELLO leaves this stage, handed to a callback
 * that authenticates it (and starts a thread for the request); so an unauthenticated connection
 * costs a descriptor and a few bytes here, never a thread, and never longer than the deadline.
 */
#ifndef IC_HANDSHAKE_H
#define IC_HANDSHAKE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "admit.h"
#include "proto.h"
#include "transport.h"

/*
 * A connection whose HELLO frame arrived whole: cred is its payload (NUL-terminated; the callee
 * frees it).  The callee owns c, and the slot taken for addr (a copy of c->peer), which it gives
 * back with ic_admit_release when c is closed.
 */
typedef void (*ic_hs_ready_fn)(void *arg, struct ic_conn *c, char *cred);

struct ic_hs_conn {
	struct ic_conn *c;
	double deadline;
	uint8_t hdr[IC_FRAME_HDR];
	uint32_t got; /* bytes read: header, then payload */
	uint32_t len; /* payload bytes, once the header is in */
	char *payload;
};

struct ic_hs {
	struct ic_admit *admit;
	const char *node; /* named in the ERROR texts */
	double timeout;   /* seconds from accept to a whole HELLO */
	ic_hs_ready_fn ready;
	void *arg;
	struct ic_hs_conn *v; /* admit->max_total entries: every one holds a slot */
	size_t n;
};

/* Returns 0, or -1 with errno EINVAL or ENOMEM. */
int ic_hs_init(struct ic_hs *h, struct ic_admit *admit, const char *node, double timeout,
               ic_hs_ready_fn ready, void *arg);
/* Close every connection still in the stage, giving back its slot. */
void ic_hs_destroy(struct ic_hs *h);

/*
 * A connection just accepted at `now` (monotonic seconds): kept in the stage, or refused at once
 * with an ERROR frame naming the limit and closed (logged once a minute per peer).  Takes c.
 */
void ic_hs_add(struct ic_hs *h, struct ic_conn *c, double now);

/* Fill p with one entry per connection in the stage (h->n, in order).  Returns h->n. */
size_t ic_hs_pollfds(const struct ic_hs *h, struct pollfd *p);

/* Milliseconds from now until the nearest deadline, for poll(2); -1 when the stage is empty. */
int ic_hs_wait_ms(const struct ic_hs *h, double now);

/*
 * After poll(2) on what ic_hs_pollfds gave (np entries, nothing added since): read what arrived,
 * hand whole HELLOs to the callback, refuse bad first frames, and close connections past their
 * deadline with an ERROR.
 */
void ic_hs_run(struct ic_hs *h, const struct pollfd *p, size_t np, double now);

#endif

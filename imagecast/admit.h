/*
 * admit.h - admission of TCP connections to imagecastd: a bound on connections in total and per
 * peer address, and a log that says the same thing about one peer at most once a minute.
 *
 * Every TCP connection holds a slot from accept(2) until it is closed, authenticated or not, so
 * the slots bound the daemon's descriptors and threads whatever unauthenticated peers do.  The
 * local Unix socket is root's only (mode 0600) and takes no slot.  Thread-safe: slots are taken
 * by the accept thread and given back by the request threads.
 */
#ifndef IC_ADMIT_H
#define IC_ADMIT_H

#include <pthread.h>
#include <stddef.h>

#define IC_ADDR_MAX 64          /* an address as text (struct ic_conn's peer) */
#define IC_ADMIT_LOG_SLOTS 64   /* peers remembered by the rate-limited log */
#define IC_ADMIT_LOG_EVERY 60.0 /* seconds between two messages of a kind about one peer */

enum ic_admit_verdict {
	IC_ADMIT_OK = 0,
	IC_ADMIT_TOTAL, /* max_total connections are open */
	IC_ADMIT_PEER,  /* max_per_peer connections from this address are open */
};

struct ic_admit_peer {
	char addr[IC_ADDR_MAX];
	unsigned n; /* 0: a free entry */
};

struct ic_admit_log {
	char key[IC_ADDR_MAX + 16]; /* "kind addr"; "" is a free entry */
	double last;                /* when it was last logged */
	unsigned suppressed;        /* events since then that were not */
};

struct ic_admit {
	pthread_mutex_t mu;
	unsigned max_total, max_per_peer;
	unsigned total;
	struct ic_admit_peer *peers; /* max_total entries: no more addresses can hold a slot */
	struct ic_admit_log logs[IC_ADMIT_LOG_SLOTS];
	struct ic_admit_log overflow; /* every peer beyond the table, one message a minute */
};

/* Limits of at least 1.  Returns 0, or -1 with errno EINVAL or ENOMEM. */
int ic_admit_init(struct ic_admit *a, unsigned max_total, unsigned max_per_peer);
void ic_admit_destroy(struct ic_admit *a);

/* Take a slot for a connection from addr.  Returns IC_ADMIT_OK, or the limit that refuses it. */
enum ic_admit_verdict ic_admit_take(struct ic_admit *a, const char *addr);
/* Give back a slot taken for addr (a slot that was never taken is ignored). */
void ic_admit_release(struct ic_admit *a, const char *addr);
/* Slots held: by addr, or in total when addr is NULL. */
unsigned ic_admit_count(struct ic_admit *a, const char *addr);

/*
 * Whether an event of `kind` ("limit", "timeout"...) about addr should be logged at `now`
 * (monotonic seconds): the first one of a minute is.  Returns the number of events of that kind
 * about that peer not logged since its last message (0 or more) when it should be, or -1 when it
 * should not.  Peers beyond the table's IC_ADMIT_LOG_SLOTS share one message a minute.
 */
long ic_admit_should_log(struct ic_admit *a, const char *kind, const char *addr, double now);

#endif

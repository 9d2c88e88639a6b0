/*
 * admit.c - connection slots and the rate-limited log (see admit.h).
 *
 * Linear scans: the peer table has max_total entries (256 by default) and is searched once per
 * accept and once per close, far below the cost of the accept itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"

int ic_admit_init(struct ic_admit *a, unsigned max_total, unsigned max_per_peer)
{
	if (!a || max_total == 0 || max_per_peer == 0) {
		errno = EINVAL;
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->peers = calloc(max_total, sizeof(*a->peers));
	if (!a->peers) {
		errno = ENOMEM;
		return -1;
	}
	a->max_total = max_total;
	a->max_per_peer = max_per_peer;
	pthread_mutex_init(&a->mu, NULL);
	return 0;
}

void ic_admit_destroy(struct ic_admit *a)
{
	if (!a || !a->peers)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a->peers);
	a->peers = NULL;
}

/* The entry of addr, or NULL.  Call with a->mu held. */
static struct ic_admit_peer *find(struct ic_admit *a, const char *addr)
{
	for (unsigned i = 0; i < a->max_total; i++)
		if (a->peers[i].n && strcmp(a->peers[i].addr, addr) == 0)
			return &a->peers[i];
	return NULL;
}

enum ic_admit_verdict ic_admit_take(struct ic_admit *a, const char *addr)
{
	enum ic_admit_verdict v = IC_ADMIT_OK;
	struct ic_admit_peer *p;

	pthread_mutex_lock(&a->mu);
	p = find(a, addr);
	if (a->total >= a->max_total) {
		v = IC_ADMIT_TOTAL;
		goto out;
	}
	if (p && p->n >= a->max_per_peer) {
		v = IC_ADMIT_PEER;
		goto out;
	}
	if (!p) {
		/* total < max_total, so fewer than max_total entries are in use: one is free. */
		for (unsigned i = 0; !p && i < a->max_total; i++)
			if (a->peers[i].n == 0)
				p = &a->peers[i];
		snprintf(p->addr, sizeof(p->addr), "%s", addr);
	}
	p->n++;
	a->total++;
out:
	pthread_mutex_unlock(&a->mu);
	return v;
}

void ic_admit_release(struct ic_admit *a, const char *addr)
{
	struct ic_admit_peer *p;

	pthread_mutex_lock(&a->mu);
	p = find(a, addr);
	if (p) {
		p->n--;
		a->total--;
	}
	pthread_mutex_unlock(&a->mu);
}

unsigned ic_admit_count(struct ic_admit *a, const char *addr)
{
	struct ic_admit_peer *p;
	unsigned n;

	pthread_mutex_lock(&a->mu);
	if (!addr) {
		n = a->total;
	} else {
		p = find(a, addr);
		n = p ? p->n : 0;
	}
	pthread_mutex_unlock(&a->mu);
	return n;
}

/* Decide for one log entry; a fresh entry (last < 0) logs at once. */
static long decide(struct ic_admit_log *l, double now)
{
	long n;

	if (l->last >= 0 && now - l->last < IC_ADMIT_LOG_EVERY) {
		l->suppressed++;
		return -1;
	}
	n = (long)l->suppressed;
	l->last = now;
	l->suppressed = 0;
	return n;
}

long ic_admit_should_log(struct ic_admit *a, const char *kind, const char *addr, double now)
{
	struct ic_admit_log *l = NULL, *stale = NULL;
	char key[sizeof(l->key)];
	long rc;
	int n = snprintf(key, sizeof(key), "%s %s", kind, addr);

	/* A key cut short could merge two peers' messages: log it rather than hide one. */
	if (n < 0 || (size_t)n >= sizeof(key))
		return 0;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < IC_ADMIT_LOG_SLOTS && !l; i++) {
		struct ic_admit_log *e = &a->logs[i];

		if (e->key[0] && strcmp(e->key, key) == 0)
			l = e;
		else if (!stale && (!e->key[0] || now - e->last >= IC_ADMIT_LOG_EVERY))
			stale =
			    e; /* free, or quiet for a minute: its next message would log anyway */
	}
	if (!l && stale) {
		l = stale;
		memcpy(l->key, key, sizeof(key));
		l->last = -1;
		l->suppressed = 0;
	}
	if (!l) {
		/* Many peers at once: one message a minute for all of them, not one per address. */
		l = &a->overflow;
		if (!l->key[0]) {
			snprintf(l->key, sizeof(l->key), "*");
			l->last = -1;
		}
	}
	rc = decide(l, now);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

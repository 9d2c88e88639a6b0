/*
 * xfer.h - one image transfer into this node's cache, shared by every requester of the image.
 *
 * A transfer exists per digest while anyone needs it: the local Prologs that asked for the image
 * and the children in the tree that pull chunks from us.  Its thread obtains the manifest (from the
 * store on the root, from the parent elsewhere), resumes what an earlier run left, copies what the
 * cache already holds (delta), pulls the rest chunk by chunk from the parent (re-attaching to
 * another source when the parent dies or stalls), verifies and publishes.  Chunks are served to
 * our children as soon as they are written, which is what pipelines the broadcast.
 */
#ifndef IC_XFER_H
#define IC_XFER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "icd.h"
#include "manifest.h"
#include "spec.h"

enum xfer_state {
	XF_STARTING = 0, /* no manifest yet */
	XF_RUNNING,      /* manifest known, chunks arriving */
	XF_DONE,         /* published */
	XF_FAILED,
};

struct xfer {
	struct xfer *next; /* icd.xfers, under icd.lock */
	int refs;          /* under icd.lock */
	struct icd *d;
	struct ic_spec spec;
	long rank;

	pthread_mutex_t mu; /* protects everything below */
	pthread_cond_t cv;  /* signalled on every chunk and state change */
	enum xfer_state state;
	struct ic_manifest *m;
	bool *have;
	bool *checked; /* chunks checked against the midstates (so their files need no re-read) */
	int fds[IC_MAX_FILES];
	uint64_t bytes_have, bytes_net, bytes_resumed, bytes_seeded;
	char source[128];
	char err[1024];
	double started, finished;
	double first_byte, last_byte; /* for the log: pipeline fill and drain */
	double t_manifest, t_open;    /* for the log: manifest known, partial copy open */
};

/*
 * The transfer for spec->digest: the running one (its spec is kept; only the first requester's
 * counts), or a new one started from *spec.  Takes a reference (drop with xfer_put).
 * Returns 0 and *out, or -1 with err (errno EINVAL when this node is not in the node list).
 */
int xfer_get(struct icd *d, const struct ic_spec *spec, struct xfer **out, struct xerr *err);

/* The running transfer for a digest with a reference taken, or NULL. */
struct xfer *xfer_find(struct icd *d, const char *digest);

/* Drop a reference; the last one frees a finished transfer. */
void xfer_put(struct xfer *x);

/*
 * Wait until chunk idx is present (true), or the transfer failed or `deadline` (ic_now() seconds)
 * passed (false).  Call with x->mu held.
 */
bool xfer_wait_chunk(struct xfer *x, uint32_t idx, double deadline);

/* Wait for the manifest.  Returns 0, or -1 with err (the transfer failed or timed out). */
int xfer_wait_manifest(struct xfer *x, double deadline, struct xerr *err);

/* pthread_cond_timedwait until an absolute ic_now() time.  Call with x->mu held. */
void xfer_timedwait(struct xfer *x, double deadline);

#endif

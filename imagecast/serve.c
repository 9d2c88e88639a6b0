/*
 * serve.c - request handlers: manifests and chunks for peers, fetches and admin commands for
 * local clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "proto.h"
#include "serve.h"
#include "spec.h"
#include "tree.h"
#include "util.h"
#include "xfer.h"

#define IC_REQ_MAX (8u << 20)
#define IC_WF_HEAD_START 0.3 /* seconds; see wf_enter() */

/* The published image's manifest, formatted, or NULL when it is not published (err set). */
static char *published_manifest(struct icd *d, const char *digest, long *len)
{
	struct ic_manifest *m = NULL;
	char *text = NULL;

	if (ic_store_lookup(&d->store, digest, &m, NULL) != 1)
		return NULL;
	*len = ic_manifest_format(m, &text);
	ic_manifest_free(m);
	return *len < 0 ? NULL : text;
}

static void do_get_manifest(struct icd *d, struct ic_conn *c, const char *body)
{
	struct ic_spec spec;
	struct xfer *x = NULL;
	struct xerr err;
	char *text = NULL;
	long len = 0;

	if (ic_spec_parse(body, &spec, &err) < 0) {
		ic_send_error(c, "%s", err.msg);
		return;
	}
	text = published_manifest(d, spec.digest, &len);
	if (!text) {
		/* Our own Prolog may not have asked yet: the first child's request starts us. */
		if (xfer_get(d, &spec, &x, &err) < 0 ||
		    xfer_wait_manifest(x, ic_now() + d->fetch_s, &err) < 0) {
			ic_send_error(c, "%s", err.msg);
			goto out;
		}
		pthread_mutex_lock(&x->mu);
		len = ic_manifest_format(x->m, &text);
		pthread_mutex_unlock(&x->mu);
		if (len < 0) {
			ic_send_error(c, "node %s: out of memory", d->node);
			goto out;
		}
	}
	(void)ic_send(c, IC_MANIFEST, text, (size_t)len);
out:
	free(text);
	xfer_put(x);
	ic_spec_clear(&spec);
}

/* Parse "a-b,c-d" into a bitmap of n chunks.  Returns 0 or -1 (EINVAL). */
static int parse_want(const char *s, bool *want, uint32_t n)
{
	while (s && *s && *s != '\n') {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			return -1;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		if (a > b || b >= n)
			return -1;
		for (unsigned long i = a; i <= b; i++)
			want[i] = true;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Whole-file mode: wait until the image is complete here.  Call with x->mu held. */
static int whole_file_ready(struct xfer *x, double deadline)
{
	while (x->state != XF_DONE) {
		if (x->state == XF_FAILED || ic_now() >= deadline)
			return -1;
		xfer_timedwait(x, deadline);
	}
	return 0;
}

/*
 * Whole-file mode: wait for this child's turn; the lowest position waiting goes first when the
 * node is free.  Returns 0 (turn taken: call wf_leave), or -1 at the deadline.
 */
static int wf_enter(struct icd *d, long position, double deadline)
{
	/*
	 * The job's Prologs start together, so the children reach us within moments of each other;
	 * a short head start lets the child with the biggest subtree be served first even when
	 * another came a little earlier.
	 */
	double not_before = position > 0 ? ic_now() + IC_WF_HEAD_START : 0;
	int rc = -1;

	pthread_mutex_lock(&d->wf_lock);
	if (d->wf_nwaiting == sizeof(d->wf_waiting) / sizeof(d->wf_waiting[0]))
		position = -1; /* too many waiters to order: first come, first served */
	else
		d->wf_waiting[d->wf_nwaiting++] = position;
	for (;;) {
		bool first = true;

		for (size_t i = 0; i < d->wf_nwaiting; i++)
			if (d->wf_waiting[i] < position)
				first = false;
		if (!d->wf_busy && first && ic_now() >= not_before) {
			d->wf_busy = true;
			rc = 0;
			break;
		}
		if (ic_now() >= deadline)
			break;
		{
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000 * 1000 * 1000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000 * 1000 * 1000;
			}
			(void)pthread_cond_timedwait(&d->wf_cv, &d->wf_lock, &ts);
		}
	}
	for (size_t i = 0; i < d->wf_nwaiting; i++)
		if (d->wf_waiting[i] == position) {
			d->wf_waiting[i] = d->wf_waiting[--d->wf_nwaiting];
			break;
		}
	pthread_mutex_unlock(&d->wf_lock);
	return rc;
}

static void wf_leave(struct icd *d)
{
	pthread_mutex_lock(&d->wf_lock);
	d->wf_busy = false;
	pthread_cond_broadcast(&d->wf_cv);
	pthread_mutex_unlock(&d->wf_lock);
}

/* Serve the wanted chunks of a published image straight from its files. */
static void serve_published(struct icd *d, struct ic_conn *c, const char *digest,
                            const char *wantstr, bool whole, long position)
{
	bool turn = false;
	struct ic_manifest *m = NULL;
	int fds[IC_MAX_FILES];
	bool *want = NULL;
	char path[PATH_MAX];

	for (size_t i = 0; i < IC_MAX_FILES; i++)
		fds[i] = -1;
	if (ic_store_lookup(&d->store, digest, &m, NULL) != 1) {
		ic_send_error(c, "image %s is not on node %s", digest, d->node);
		goto out;
	}
	want = calloc(m->nchunks ? m->nchunks : 1, sizeof(*want));
	if (!want || parse_want(wantstr, want, m->nchunks) < 0) {
		ic_send_error(c, "node %s: bad chunk list", d->node);
		goto out;
	}
	for (size_t i = 0; i < m->nfiles; i++) {
		if (ic_store_path(&d->store, "images", digest, m->files[i].role, path,
		                  sizeof(path)) < 0 ||
		    (fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			ic_send_error(c, "image %s on node %s: %s: %s", m->name, d->node, path,
			              strerror(errno));
			goto out;
		}
	}
	if (whole) {
		if (wf_enter(d, position, ic_now() + d->fetch_s) < 0) {
			ic_send_error(c, "node %s: timed out waiting for a turn", d->node);
			goto out;
		}
		turn = true;
	}
	for (uint32_t idx = 0; idx < m->nchunks; idx++) {
		size_t fi;
		uint64_t off;
		uint32_t len;

		if (!want[idx] || ic_manifest_chunk(m, idx, &fi, &off, &len) < 0)
			continue;
		if (ic_send_chunk(c, idx, fds[fi], off, len) < 0)
			goto out; /* the child went away */
	}
	(void)ic_send(c, IC_END, NULL, 0);
	(void)ic_store_touch(&d->store, digest);
out:
	if (turn)
		wf_leave(d);
	for (size_t i = 0; i < IC_MAX_FILES; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(want);
	ic_manifest_free(m);
}

/* Serve chunks of a transfer in flight as they arrive: this is the pipeline. */
static void serve_xfer(struct icd *d, struct ic_conn *c, struct xfer *x, const char *wantstr,
                       bool whole, long position)
{
	double deadline = ic_now() + d->fetch_s;
	bool *want = NULL, turn = false;

	if (xfer_wait_manifest(x, deadline, NULL) < 0) {
		pthread_mutex_lock(&x->mu);
		ic_send_error(c, "%s", x->err[0] ? x->err : "no manifest");
		pthread_mutex_unlock(&x->mu);
		return;
	}
	want = calloc(x->m->nchunks ? x->m->nchunks : 1, sizeof(*want));
	if (!want || parse_want(wantstr, want, x->m->nchunks) < 0) {
		ic_send_error(c, "node %s: bad chunk list", d->node);
		goto out;
	}
	pthread_mutex_lock(&x->mu);
	if (whole) {
		if (whole_file_ready(x, deadline) < 0) {
			ic_send_error(c, "%s", x->err[0] ? x->err : "timed out");
			pthread_mutex_unlock(&x->mu);
			goto out;
		}
		pthread_mutex_unlock(&x->mu);
		if (wf_enter(d, position, deadline) < 0) {
			ic_send_error(c, "node %s: timed out waiting for a turn", d->node);
			goto out;
		}
		turn = true;
		pthread_mutex_lock(&x->mu);
	}
	for (uint32_t idx = 0; idx < x->m->nchunks; idx++) {
		size_t fi;
		uint64_t off;
		uint32_t len;
		int fd, rc;

		if (!want[idx])
			continue;
		/*
		 * While we wait for our own source (which may be re-attaching), tell the child we
		 * are alive, so that it gives up only on a node that is really stuck.
		 */
		while (!xfer_wait_chunk(x, idx, ic_now() + d->stall_ms / 2000.0)) {
			int sent;

			if (x->state == XF_FAILED || ic_now() >= deadline) {
				ic_send_error(c, "%s",
				              x->err[0] ? x->err : "timed out waiting for a chunk");
				pthread_mutex_unlock(&x->mu);
				goto out;
			}
			pthread_mutex_unlock(&x->mu);
			sent = ic_send(c, IC_PROGRESS, NULL, 0);
			pthread_mutex_lock(&x->mu);
			if (sent < 0) {
				pthread_mutex_unlock(&x->mu);
				goto out;
			}
		}
		ic_manifest_chunk(x->m, idx, &fi, &off, &len);
		fd = x->fds[fi];
		pthread_mutex_unlock(&x->mu);
		/* The fds live as long as x, which our reference keeps. */
		rc = ic_send_chunk(c, idx, fd, off, len);
		pthread_mutex_lock(&x->mu);
		if (rc < 0) {
			xverbose("image %s: child %s went away: %s", x->spec.name, c->peer,
			         strerror(errno));
			pthread_mutex_unlock(&x->mu);
			goto out;
		}
	}
	pthread_mutex_unlock(&x->mu);
	(void)ic_send(c, IC_END, NULL, 0);
out:
	if (turn)
		wf_leave(d);
	free(want);
}

/*
 * Start our transfer for a child's GET_CHUNKS that carries the fetch request.  Our own Prolog may
 * not have asked yet, and in two-tree the children of our second tree ask us for chunks without
 * asking for the manifest (they have it from their other parent): without this they would find
 * nothing here and re-attach to an ancestor, which then feeds more children than its link can.
 * Returns the transfer (a reference: xfer_put), or NULL (the caller answers as before).
 */
static struct xfer *start_for_child(struct icd *d, const char *text, const char *digest)
{
	struct ic_spec spec;
	struct xfer *x = NULL;
	struct xerr err;

	if (ic_spec_parse(text, &spec, &err) < 0) {
		xverbose("GET_CHUNKS with a bad fetch request: %s", err.msg);
		return NULL;
	}
	if (strcmp(spec.digest, digest) == 0 && xfer_get(d, &spec, &x, &err) < 0) {
		xverbose("GET_CHUNKS cannot start a transfer: %s", err.msg);
		x = NULL;
	}
	ic_spec_clear(&spec);
	return x;
}

static void do_get_chunks(struct icd *d, struct ic_conn *c, char *body)
{
	char digest[IC_DIGEST_LEN + 1] = "", mode[16] = "pipe";
	const char *want = NULL;
	char *request = strstr(body, "\n" IC_CHUNKS_SPEC_SEP);
	long position = -1;
	struct xfer *x;

	/* The optional fetch request after the separator (proto.h). */
	if (request) {
		*request = '\0';
		request += 1 + strlen(IC_CHUNKS_SPEC_SEP);
	}
	/* strtok_r: a session per thread, and two-tree's two pulls come at once. */
	char *save = NULL;
	for (char *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "digest %71s", digest) == 1 ||
		    sscanf(line, "mode %15s", mode) == 1 ||
		    sscanf(line, "position %ld", &position) == 1)
			continue;
		if (strncmp(line, "want ", 5) == 0)
			want = line + 5;
	}
	if (ic_valid_digest(digest) < 0 || !want) {
		ic_send_error(c, "node %s: GET_CHUNKS needs a digest and a chunk list", d->node);
		return;
	}
	x = xfer_find(d, digest);
	if (!x && request && ic_store_lookup(&d->store, digest, NULL, NULL) != 1)
		x = start_for_child(d, request, digest);
	if (x) {
		serve_xfer(d, c, x, want, strcmp(mode, "whole") == 0, position);
		xfer_put(x);
		return;
	}
	serve_published(d, c, digest, want, strcmp(mode, "whole") == 0, position);
}

/* Where a published image's files are: "<cache>/images/<hex>". */
static void image_dir(struct icd *d, const char *digest, char *buf, size_t len)
{
	if (ic_store_path(&d->store, "images", digest, NULL, buf, len) < 0)
		snprintf(buf, len, "?");
}

static void reply_done(struct icd *d, struct ic_conn *c, const struct ic_spec *spec, uint64_t net,
                       double secs)
{
	char dir[PATH_MAX], msg[PATH_MAX + 256];
	int n;

	if (spec->pin && ic_store_pin(&d->store, spec->digest, spec->pin) < 0) {
		ic_send_error(c, "image %s on node %s: cannot take lease %s: %s", spec->name,
		              d->node, spec->pin, strerror(errno));
		return;
	}
	(void)ic_store_touch(&d->store, spec->digest);
	image_dir(d, spec->digest, dir, sizeof(dir));
	n = snprintf(msg, sizeof(msg), "path %s\nnode %s\nbytes_net %" PRIu64 "\nseconds %.3f\n",
	             dir, d->node, net, secs);
	/* A cut DONE would give the Prolog a wrong image directory, or none. */
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		ic_send_error(c, "image %s on node %.64s: reply too long", spec->name, d->node);
		return;
	}
	(void)ic_send(c, IC_DONE, msg, (size_t)n);
}

static void do_fetch(struct icd *d, struct ic_conn *c, const char *body)
{
	struct ic_spec spec;
	struct xfer *x = NULL;
	struct xerr err;
	double t0 = ic_now();

	if (ic_spec_parse(body, &spec, &err) < 0) {
		ic_send_error(c, "%s", err.msg);
		return;
	}
	if (!spec.store) {
		spec.store = strdup(d->store_dir);
		if (!spec.store) {
			ic_send_error(c, "out of memory");
			goto out;
		}
	}
	/* Cache hit: answer at once. */
	x = xfer_find(d, spec.digest);
	if (!x && ic_store_lookup(&d->store, spec.digest, NULL, NULL) == 1) {
		reply_done(d, c, &spec, 0, ic_now() - t0);
		goto out;
	}
	if (!x && xfer_get(d, &spec, &x, &err) < 0) {
		ic_send_error(c, "%s", err.msg);
		goto out;
	}
	pthread_mutex_lock(&x->mu);
	for (;;) {
		char msg[512];
		uint64_t total = x->m ? x->m->total_bytes : 0;

		if (x->state == XF_DONE || x->state == XF_FAILED)
			break;
		snprintf(msg, sizeof(msg),
		         "have %" PRIu64 "\ntotal %" PRIu64 "\nnet %" PRIu64 "\nsource %s\n",
		         x->bytes_have, total, x->bytes_net, x->source);
		pthread_mutex_unlock(&x->mu);
		if (ic_send(c, IC_PROGRESS, msg, strlen(msg)) < 0)
			goto put; /* the client left; the transfer goes on for the others */
		pthread_mutex_lock(&x->mu);
		xfer_timedwait(x, ic_now() + 0.5);
	}
	if (x->state == XF_FAILED) {
		ic_send_error(c, "%s", x->err);
		pthread_mutex_unlock(&x->mu);
		goto put;
	}
	uint64_t net = x->bytes_net;
	pthread_mutex_unlock(&x->mu);
	reply_done(d, c, &spec, net, ic_now() - t0);
put:
	xfer_put(x);
out:
	ic_spec_clear(&spec);
}

/* "status" and "list": the cache, then (status) the transfers in flight. */
static void do_status(struct icd *d, struct ic_conn *c, bool transfers)
{
	struct ic_store_entry *v = NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	long n = ic_store_list(&d->store, &v);
	long long used = ic_store_used(&d->store);

	if (!f || n < 0) {
		ic_send_error(c, "node %s: cannot list the cache: %s", d->node, strerror(errno));
		if (f)
			fclose(f);
		free(buf);
		free(v);
		return;
	}
	if (transfers)
		fprintf(f, "node %s cache %s used %lld max %" PRIu64 "\n", d->node, d->store.dir,
		        used, d->store.max_bytes);
	for (long i = 0; i < n; i++)
		fprintf(f, "image %s %s %" PRIu64 " %lld %d %s\n", v[i].name, v[i].digest,
		        v[i].bytes, (long long)v[i].last_use, v[i].pins,
		        v[i].partial ? "partial" : "cached");
	if (transfers) {
		pthread_mutex_lock(&d->lock);
		for (struct xfer *x = d->xfers; x; x = x->next) {
			pthread_mutex_lock(&x->mu);
			fprintf(f, "transfer %s %s %" PRIu64 " %" PRIu64 " %.1f %s %s\n",
			        x->spec.name, x->spec.digest, x->bytes_have,
			        x->m ? x->m->total_bytes : 0, ic_now() - x->started,
			        x->state == XF_DONE     ? "done"
			        : x->state == XF_FAILED ? "failed"
			                                : "running",
			        x->source[0] ? x->source : "-");
			pthread_mutex_unlock(&x->mu);
		}
		pthread_mutex_unlock(&d->lock);
	}
	fclose(f);
	(void)ic_send(c, IC_REPLY, buf, size);
	free(buf);
	free(v);
}

static void do_command(struct icd *d, struct ic_conn *c, const char *body)
{
	char verb[16] = "", digest[IC_DIGEST_LEN + 2] = "", holder[130] = "";
	struct xerr err;
	int n = sscanf(body, "%15s %72s %129s", verb, digest, holder);

	if (n >= 1 && strcmp(verb, "status") == 0)
		return do_status(d, c, true);
	if (n >= 1 && strcmp(verb, "list") == 0)
		return do_status(d, c, false);
	if (n < 2 || ic_valid_digest(digest) < 0) {
		ic_send_error(c, "usage: status | list | evict|verify DIGEST | pin|unpin DIGEST "
		                 "HOLDER");
		return;
	}
	if (strcmp(verb, "evict") == 0) {
		if (ic_store_evict(&d->store, digest, &err) < 0)
			return ic_send_error(c, "node %s: %s", d->node, err.msg);
		xinfo("image %s evicted on request", digest);
	} else if (strcmp(verb, "verify") == 0) {
		if (ic_store_verify(&d->store, digest, &err) < 0)
			return ic_send_error(c, "node %s: %s", d->node, err.msg);
	} else if (strcmp(verb, "pin") == 0 || strcmp(verb, "unpin") == 0) {
		int rc = n < 3            ? -1
		         : verb[0] == 'p' ? ic_store_pin(&d->store, digest, holder)
		                          : ic_store_unpin(&d->store, digest, holder);

		if (rc < 0)
			return ic_send_error(c, "node %s: %s %s %s: %s", d->node, verb, digest,
			                     holder, n < 3 ? "no holder" : strerror(errno));
	} else {
		return ic_send_error(c, "unknown command '%s'", verb);
	}
	(void)ic_send(c, IC_REPLY, "ok\n", 3);
}

void serve_conn(struct icd *d, struct ic_conn *c, bool local)
{
	struct xerr err;
	unsigned type;
	char *body = NULL;

	if (local) {
		struct ucred cr;
		socklen_t len = sizeof(cr);

		/* The socket is 0600 root; check anyway, in case its directory was loosened. */
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
			ic_send_error(c, "imagecastd: local clients must be root");
			goto out;
		}
	}
	c->t->set_timeout(c, d->stall_ms);
	if (ic_recv(c, &type, &body, NULL, IC_REQ_MAX, &err) < 0) {
		xverbose("%s: %s", c->peer, err.msg);
		goto out;
	}
	/* Sending waits on the network, not on the peer: generous timeout for large chunks. */
	c->t->set_timeout(c, (int)d->fetch_s * 1000);
	/* Peers fetch manifests and chunks; only local root clients run commands. */
	if (local && (type == IC_GET_MANIFEST || type == IC_GET_CHUNKS))
		ic_send_error(c, "%s is a peer request", ic_frame_name(type));
	else if (!local && type == IC_COMMAND)
		ic_send_error(c, "commands are for local clients only");
	else if (type == IC_GET_MANIFEST)
		do_get_manifest(d, c, body);
	else if (type == IC_GET_CHUNKS)
		do_get_chunks(d, c, body);
	else if (type == IC_FETCH)
		do_fetch(d, c, body);
	else if (type == IC_COMMAND)
		do_command(d, c, body);
	else
		ic_send_error(c, "unexpected %s request", ic_frame_name(type));
out:
	free(body);
	ic_conn_close(c);
}

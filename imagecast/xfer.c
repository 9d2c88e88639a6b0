/*
 * xfer.c - the transfer engine: manifest, resume, delta, pipelined pull with re-attach, publish.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/blob.h"
#include "lib/log.h"
#include "mcache.h"
#include "proto.h"
#include "transport.h"
#include "tree.h"
#include "util.h"
#include "xfer.h"

#define IC_MANIFEST_MAX (64u << 20)

void xfer_timedwait(struct xfer *x, double deadline)
{
	struct timespec ts;
	double s = floor(deadline);

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((deadline - s) * 1e9);
	(void)pthread_cond_timedwait(&x->cv, &x->mu, &ts);
}

bool xfer_wait_chunk(struct xfer *x, uint32_t idx, double deadline)
{
	while (x->state != XF_FAILED && !(x->have && x->have[idx])) {
		if (ic_now() >= deadline)
			return false;
		xfer_timedwait(x, deadline);
	}
	return x->state != XF_FAILED || (x->have && x->have[idx]);
}

int xfer_wait_manifest(struct xfer *x, double deadline, struct xerr *err)
{
	int rc = 0;

	pthread_mutex_lock(&x->mu);
	while (x->state == XF_STARTING && ic_now() < deadline)
		xfer_timedwait(x, deadline);
	if (x->state == XF_FAILED) {
		errno = EIO;
		rc = xerr_set(err, "%s", x->err);
	} else if (x->state == XF_STARTING) {
		errno = ETIMEDOUT;
		rc = xerr_set(err, "image %s on node %s: no manifest yet (timed out)", x->spec.name,
		              x->d->node);
	}
	pthread_mutex_unlock(&x->mu);
	return rc;
}

static void xfer_free(struct xfer *x)
{
	for (size_t i = 0; x->m && i < x->m->nfiles; i++)
		if (x->fds[i] >= 0)
			close(x->fds[i]);
	ic_manifest_free(x->m);
	free(x->have);
	free(x->checked);
	ic_spec_clear(&x->spec);
	pthread_cond_destroy(&x->cv);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

struct xfer *xfer_find(struct icd *d, const char *digest)
{
	struct xfer *x;

	pthread_mutex_lock(&d->lock);
	for (x = d->xfers; x; x = x->next)
		if (strcmp(x->spec.digest, digest) == 0 && x->state != XF_FAILED)
			break;
	if (x)
		x->refs++;
	pthread_mutex_unlock(&d->lock);
	return x;
}

void xfer_put(struct xfer *x)
{
	struct icd *d;
	struct xfer **pp;
	bool last;

	if (!x)
		return;
	d = x->d;
	pthread_mutex_lock(&d->lock);
	last = --x->refs == 0;
	if (last)
		for (pp = &d->xfers; *pp; pp = &(*pp)->next)
			if (*pp == x) {
				*pp = x->next;
				break;
			}
	pthread_mutex_unlock(&d->lock);
	if (last)
		xfer_free(x);
}

/* Record a failure (first one wins) and wake everyone.  Returns -1. */
static int fail(struct xfer *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct xfer *x, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&x->mu);
	if (!x->err[0])
		snprintf(x->err, sizeof(x->err), "image %s (%s) on node %.64s: %s", x->spec.name,
		         x->spec.digest, x->d->node, msg);
	pthread_mutex_unlock(&x->mu);
	return -1;
}

/* The store this transfer reads when it must: the request's, else the daemon's. */
static const char *store_of(const struct xfer *x)
{
	return x->spec.store ? x->spec.store : x->d->store_dir;
}

/*
 * Sources to pull from, best first: the tree parent, then its ancestors up to the root; a node
 * whose parent died or stalls re-attaches one level up.  Returns the count written to out.
 */
static size_t sources(const struct xfer *x, int tree, long *out, size_t max)
{
	unsigned n = (unsigned)x->spec.nnodes;
	size_t count = 0;
	long p = x->rank;

	/* For two-tree: the ancestors in tree `tree` (0 or 1). */
	while (count < max) {
		if (x->spec.shape == IC_CAST_TWO_TREE)
			p = ic_two_tree_parent(n, (unsigned)p, tree);
		else
			p = ic_tree_parent(x->spec.shape, n, (unsigned)p);
		if (p < 0)
			break;
		out[count++] = p;
	}
	return count;
}

/* Connect and authenticate to rank r.  Returns the connection, or NULL with err. */
static struct ic_conn *dial(struct xfer *x, long r, struct xerr *err)
{
	struct ic_conn *c = NULL;

	if (ic_tcp_connect(x->spec.nodes[r], x->d->port, x->d->connect_ms, &c, err) < 0)
		return NULL;
	c->t->set_timeout(c, x->d->stall_ms);
	if (ic_auth_connect(c, &x->d->auth, err) < 0) {
		ic_conn_close(c);
		return NULL;
	}
	return c;
}

/*
 * Ask rank r for the manifest.  Returns it, or NULL with err and errno (EREMOTEIO when the source
 * answered with an error of its own rather than being unreachable).
 */
static struct ic_manifest *manifest_from_peer(struct xfer *x, long r, struct xerr *err)
{
	struct ic_manifest *m = NULL;
	struct ic_conn *c;
	char *req = NULL, *text = NULL;
	uint32_t len;
	long rlen;
	int e;

	c = dial(x, r, err);
	if (!c)
		return NULL;
	rlen = ic_spec_format(&x->spec, &req);
	if (rlen < 0) {
		xerr_set(err, "out of memory");
		goto out;
	}
	/* The source may be hashing the store for the manifest: allow it the fetch timeout. */
	c->t->set_timeout(c, (int)x->d->fetch_s * 1000);
	if (ic_send(c, IC_GET_MANIFEST, req, (size_t)rlen) < 0) {
		xerr_set(err, "%s: %s", c->peer, strerror(errno));
		goto out;
	}
	if (ic_recv_expect(c, IC_MANIFEST, &text, &len, IC_MANIFEST_MAX, err) < 0)
		goto out;
	if (ic_manifest_parse(text, len, &m, err) < 0)
		goto out;
	if (strcmp(m->digest, x->spec.digest) != 0 || m->chunk_bytes != x->spec.chunk_bytes) {
		xerr_set(err, "%s sent a manifest for %s", c->peer, m->digest);
		ic_manifest_free(m);
		m = NULL;
	}
out:
	e = errno; /* EREMOTEIO tells the caller the source itself failed */
	free(req);
	free(text);
	ic_conn_close(c);
	errno = e;
	return m;
}

/*
 * Store chunk idx, which passed ic_manifest_check_chunk, and wake the servers waiting for it.
 * Returns 0 or -1 + errno.
 */
static int put_chunk(struct xfer *x, uint32_t idx, const uint8_t *data, uint32_t len, bool net)
{
	size_t fi;
	uint64_t off;
	size_t done = 0;

	if (ic_manifest_chunk(x->m, idx, &fi, &off, NULL) < 0)
		return -1;
	while (done < len) {
		ssize_t n = pwrite(x->fds[fi], data + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	/* Start the write-back now, so that the fdatasync before publishing finds little to do. */
	(void)sync_file_range(x->fds[fi], (off64_t)off, len, SYNC_FILE_RANGE_WRITE);
	pthread_mutex_lock(&x->mu);
	if (!x->have[idx]) {
		x->have[idx] = true;
		x->bytes_have += len;
		if (net && !x->bytes_net)
			x->first_byte = ic_now();
		if (net)
			x->bytes_net += len;
		x->last_byte = ic_now();
	}
	x->checked[idx] = true;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return 0;
}

/*
 * "a-b,c-c" ranges of the chunks still missing (only those of one parity when parity >= 0: the
 * two trees of two-tree carry the even and the odd chunks), into a new string (free()); NULL on
 * ENOMEM.
 */
static char *wanted(struct xfer *x, int parity, uint32_t *count)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	uint32_t n = 0;
	bool first = true;

	if (!f)
		return NULL;
	pthread_mutex_lock(&x->mu);
	for (uint32_t c = 0; c < x->m->nchunks; c++) {
		uint32_t e = c;
		if (x->have[c] || (parity >= 0 && (int)(c % 2) != parity))
			continue;
		while (parity < 0 && e + 1 < x->m->nchunks && !x->have[e + 1])
			e++;
		fprintf(f, first ? "%u-%u" : ",%u-%u", c, e);
		first = false;
		n += e - c + 1;
		c = e;
	}
	pthread_mutex_unlock(&x->mu);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*count = n;
	return buf;
}

/* Position of our rank among r's children (for whole-file turns), or -1. */
static long child_position(const struct xfer *x, long r)
{
	unsigned kids[64];
	long n = ic_tree_children(x->spec.shape, (unsigned)x->spec.nnodes, (unsigned)r, kids, 64);

	for (long i = 0; i < n && i < 64; i++)
		if ((long)kids[i] == x->rank)
			return i;
	return -1;
}

/*
 * Pull every missing chunk from rank r.  Returns 0 when nothing is missing any more, or -1 with
 * err (the caller moves on to another source).
 */
static int pull_from(struct xfer *x, long r, int parity, uint8_t *buf, struct xerr *err)
{
	struct ic_conn *c = NULL;
	char *want = NULL, *req = NULL, *spec = NULL;
	uint32_t missing = 0;
	int rc = -1;

	want = wanted(x, parity, &missing);
	if (!want) {
		xerr_set(err, "out of memory");
		return -1;
	}
	if (missing == 0) {
		free(want);
		return 0;
	}
	c = dial(x, r, err);
	if (!c)
		goto out;
	/* With our fetch request, so that a source that has not started yet starts (serve.c). */
	if (ic_spec_format(&x->spec, &spec) < 0 ||
	    asprintf(&req, "digest %s\nmode %s\nposition %ld\nwant %s\n%s%s", x->spec.digest,
	             x->spec.shape == XENVM_CAST_BINOMIAL_WHOLE_FILE ? "whole" : "pipe",
	             child_position(x, r), want, IC_CHUNKS_SPEC_SEP, spec) < 0) {
		req = NULL;
		xerr_set(err, "out of memory");
		goto out;
	}
	if (x->spec.shape == XENVM_CAST_BINOMIAL_WHOLE_FILE)
		c->t->set_timeout(c, (int)x->d->fetch_s * 1000); /* waits for the parent's copy */
	if (ic_send(c, IC_GET_CHUNKS, req, strlen(req)) < 0) {
		xerr_set(err, "%s: %s", c->peer, strerror(errno));
		goto out;
	}
	pthread_mutex_lock(&x->mu);
	snprintf(x->source, sizeof(x->source), "%s", x->spec.nodes[r]);
	pthread_mutex_unlock(&x->mu);
	for (;;) {
		unsigned type;
		uint32_t len, idx, clen;
		char *text = NULL;

		if (ic_recv_hdr(c, &type, &len, err) < 0)
			goto out;
		if (type == IC_END && len == 0) {
			uint32_t left = 0;
			char *still = wanted(x, parity, &left);

			free(still);
			if (!still) {
				xerr_set(err, "out of memory");
				goto out;
			}
			if (left > 0) {
				/* Never trust END alone: a file with a hole fails at publish. */
				xerr_set(err, "%s: END with %u of the chunks asked for not sent",
				         c->peer, left);
				goto out;
			}
			break;
		}
		if (type == IC_PROGRESS && len == 0)
			continue; /* the source waits for its own source: keep-alive */
		if (type != IC_CHUNK) {
			/* ERROR (or junk): read the text for the message. */
			if (len <= 4096 && (text = malloc(len + 1)) != NULL &&
			    c->t->recv(c, text, len) == 0) {
				text[len] = '\0';
				xerr_set(err, "%s: %s", c->peer, text);
			} else {
				xerr_set(err, "%s: unexpected %s frame", c->peer,
				         ic_frame_name(type));
			}
			free(text);
			goto out;
		}
		if (len < 4 || len - 4 > x->m->chunk_bytes || c->t->recv(c, &idx, 4) < 0) {
			xerr_set(err, "%s: bad CHUNK frame", c->peer);
			goto out;
		}
		idx = ntohl(idx);
		if (ic_manifest_chunk(x->m, idx, NULL, NULL, &clen) < 0 || clen != len - 4) {
			xerr_set(err, "%s: chunk %u has the wrong length", c->peer, idx);
			goto out;
		}
		if (c->t->recv(c, buf, clen) < 0) {
			xerr_set(err, "%s: %s", c->peer,
			         errno == ETIMEDOUT ? "stalled (no data within the stall timeout)"
			                            : strerror(errno));
			goto out;
		}
		if (ic_manifest_check_chunk(x->m, idx, buf, clen) < 0) {
			/* A corrupt copy upstream: take it from someone else. */
			xerr_set(err, "%s: chunk %u fails its sha256", c->peer, idx);
			goto out;
		}
		if (put_chunk(x, idx, buf, clen, true) < 0) {
			fail(x, "writing chunk %u: %s", idx, strerror(errno));
			xerr_set(err, "writing chunk %u: %s", idx, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(want);
	free(req);
	free(spec);
	ic_conn_close(c);
	return rc;
}

/* Copy every missing chunk from the store (root, or the last resort).  Returns 0 or -1. */
static int fill_from_store(struct xfer *x, uint8_t *buf)
{
	char path[PATH_MAX];
	struct xenvm_blob *b = NULL;
	struct xerr berr;
	int rc = -1;

	pthread_mutex_lock(&x->mu);
	snprintf(x->source, sizeof(x->source), "store:%s", store_of(x));
	pthread_mutex_unlock(&x->mu);
	for (size_t fi = 0; fi < x->m->nfiles; fi++) {
		const struct ic_file *f = &x->m->files[fi];
		int n;

		/* The store comes with the request: a cut path could name another file. */
		if (f->path[0] == '/')
			n = snprintf(path, sizeof(path), "%s", f->path);
		else
			n = snprintf(path, sizeof(path), "%s/%s", store_of(x), f->path);
		if (n < 0 || (size_t)n >= sizeof(path))
			return fail(x, "%s/%s: path too long", store_of(x), f->path);
		/* whole or chunked in the store (lib/blob.h) */
		if (xenvm_blob_open(store_of(x), f->path, &b, &berr) < 0)
			return fail(x, "%s", berr.msg);
		for (uint32_t c = f->first_chunk; c < f->first_chunk + f->nchunks; c++) {
			uint64_t off;
			uint32_t len;
			bool present;

			pthread_mutex_lock(&x->mu);
			present = x->have[c];
			pthread_mutex_unlock(&x->mu);
			if (present || ic_manifest_chunk(x->m, c, NULL, &off, &len) < 0)
				continue;
			if (xenvm_blob_pread(b, buf, len, off) != (ssize_t)len) {
				fail(x, "reading %s: %s", path, strerror(errno ? errno : EIO));
				goto out;
			}
			if (ic_manifest_check_chunk(x->m, c, buf, len) < 0) {
				errno = EBADMSG;
				fail(x, "%s changed in the store while it was read (chunk %u)",
				     path, c);
				goto out;
			}
			if (put_chunk(x, c, buf, len, false) < 0) {
				fail(x, "writing the cache: %s", strerror(errno));
				goto out;
			}
		}
		xenvm_blob_close(b);
		b = NULL;
	}
	rc = 0;
out:
	xenvm_blob_close(b);
	return rc;
}

static bool store_readable(const struct xfer *x)
{
	return access(store_of(x), R_OK | X_OK) == 0;
}

/*
 * Pull the missing chunks (of one parity, or all with parity -1) from the sources, re-attaching
 * up the tree when one dies or stalls, the store being the last resort.  Returns 0, or -1 with the
 * failure recorded in x (and *keep_partial set when the chunks held so far are worth keeping).
 */
static int pull_all(struct xfer *x, int parity, double deadline, int *keep_partial)
{
	struct xerr err = {.msg = ""};
	long src[64];
	size_t nsrc = sources(x, parity < 0 ? 0 : parity, src, 64), i = 0;
	uint8_t *buf = malloc(x->m->chunk_bytes);
	double delay = 0.2;
	int rc = -1;

	if (!buf || nsrc == 0) {
		fail(x, "%s", nsrc ? "out of memory" : "no source");
		goto out;
	}
	for (;;) {
		bool failed;

		if (pull_from(x, src[i], parity, buf, &err) == 0)
			break;
		pthread_mutex_lock(&x->mu);
		failed = x->err[0] != 0;
		pthread_mutex_unlock(&x->mu);
		if (failed)
			goto out; /* a local fault (disk), or the other tree's pull failed */
		xwarn("image %s: source %s: %s; re-attaching to %s", x->spec.name,
		      x->spec.nodes[src[i]], err.msg, x->spec.nodes[src[(i + 1) % nsrc]]);
		i = (i + 1) % nsrc;
		if (i == 0) {
			/* Every source failed once: back off, then the store as last resort. */
			if (ic_now() + delay >= deadline) {
				if (store_readable(x) && fill_from_store(x, buf) == 0)
					break;
				*keep_partial = 1;
				fail(x, "no source left (last: %s)", err.msg);
				goto out;
			}
			usleep((useconds_t)(delay * 1e6));
			delay = delay < 2 ? delay * 2 : 2;
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

struct pull_job {
	struct xfer *x;
	double deadline;
	int keep_partial;
	int rc;
};

/* The odd chunks' pull of a two-tree transfer. */
static void *pull_thread(void *arg)
{
	struct pull_job *j = arg;

	j->rc = pull_all(j->x, 1, j->deadline, &j->keep_partial);
	return NULL;
}

/*
 * Manifest from the store: the cached one (mcache.h) when the files are unchanged since they were
 * last hashed, else hashing every file (and caching the result).  *hit tells which.  Returns 0, or
 * -1 with the failure recorded.
 */
static int manifest_from_store(struct xfer *x, struct ic_manifest **out, bool *hit)
{
	struct xerr err = {.msg = ""};
	char *key = NULL;
	double t0 = ic_now();
	int rc = -1;

	*hit = false;
	if (ic_manifest_new(x->spec.name, x->spec.digest, x->spec.chunk_bytes, x->spec.files,
	                    x->spec.nfiles, out, &err) < 0)
		goto out;
	if (ic_mcache_load(&x->d->store, *out, store_of(x)) == 1) {
		*hit = true;
		xverbose("image %s: manifest from the cache of store manifests in %.3fs",
		         x->spec.name, ic_now() - t0);
		rc = 0;
		goto out;
	}
	/* The key before the read: a file changed meanwhile leaves a stale, not a wrong, entry. */
	if (ic_mcache_key(*out, store_of(x), &key) < 0)
		key = NULL; /* a missing file: hashing names it */
	if (ic_manifest_hash_store(*out, store_of(x), &err) < 0)
		goto out;
	if (key && ic_mcache_save(&x->d->store, *out, key) < 0)
		xwarn("image %s: cannot cache its manifest: %s", x->spec.name, strerror(errno));
	xverbose("image %s: store hashed for the manifest in %.3fs", x->spec.name, ic_now() - t0);
	rc = 0;
out:
	if (rc < 0) {
		int e = errno;

		ic_manifest_free(*out);
		*out = NULL;
		fail(x, "%s", err.msg);
		errno = e;
	}
	free(key);
	return rc;
}

/* If the image is already published, make x serve it.  Returns 0, or -1 if it is not. */
static int adopt_published(struct xfer *x)
{
	struct ic_manifest *m = NULL;
	char path[PATH_MAX];
	int fds[IC_MAX_FILES];
	bool *have;

	if (ic_store_lookup(&x->d->store, x->spec.digest, &m, NULL) != 1)
		return -1;
	have = calloc(m->nchunks ? m->nchunks : 1, sizeof(*have));
	for (size_t i = 0; i < m->nfiles; i++) {
		fds[i] = -1;
		if (have && ic_store_path(&x->d->store, "images", m->digest, m->files[i].role, path,
		                          sizeof(path)) == 0)
			fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			for (size_t j = 0; j <= i; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			free(have);
			ic_manifest_free(m);
			return -1;
		}
	}
	for (uint32_t c = 0; c < m->nchunks; c++)
		have[c] = true;
	pthread_mutex_lock(&x->mu);
	x->m = m;
	x->have = have;
	memcpy(x->fds, fds, m->nfiles * sizeof(int));
	x->bytes_have = m->total_bytes;
	snprintf(x->source, sizeof(x->source), "cache");
	pthread_mutex_unlock(&x->mu);
	return 0;
}

/*
 * Check the chunks that an earlier run (resume) or other images (delta) provided, which store.c
 * checked by their sha256, against the midstates as well, so that their files need no second
 * read at publish; a chunk that fails is fetched again.  Without midstates nothing is marked, and
 * the files are read again at publish.
 */
static void check_present(const struct ic_manifest *m, const int *fds, bool *have, bool *checked,
                          uint8_t *buf)
{
	for (uint32_t c = 0; m->mids && c < m->nchunks; c++) {
		size_t fi;
		uint64_t off;
		uint32_t len;

		if (!have[c] || ic_manifest_chunk(m, c, &fi, &off, &len) < 0)
			continue;
		if (pread(fds[fi], buf, len, (off_t)off) == (ssize_t)len &&
		    ic_manifest_check_chunk(m, c, buf, len) == 0)
			checked[c] = true;
		else
			have[c] = false;
	}
}

/* The whole transfer.  Returns 0 once published, or -1 with x->err set. */
static int run(struct xfer *x)
{
	struct icd *d = x->d;
	struct ic_manifest *m = NULL;
	struct xerr err = {.msg = ""};
	long src[64];
	size_t nsrc = sources(x, 0, src, 64);
	double deadline = x->started + d->fetch_s;
	uint8_t *buf = NULL;
	bool verified[IC_MAX_FILES] = {false};
	bool *have = NULL, *checked = NULL;
	int fds[IC_MAX_FILES];
	uint64_t resumed = 0, seeded = 0;
	bool cached_manifest = false;
	int rc = -1, keep_partial = 0;

	/* 0. Published meanwhile (a transfer that just ended): serve and report that copy. */
	if (adopt_published(x) == 0)
		return 0;

	for (size_t i = 0; i < IC_MAX_FILES; i++)
		fds[i] = -1;

	/* 1. The manifest: the root hashes the store; the others ask up the tree. */
	if (nsrc == 0) {
		if (manifest_from_store(x, &m, &cached_manifest) < 0)
			goto out;
	} else {
		for (double delay = 0.2; !m; delay = delay < 2 ? delay * 2 : 2) {
			for (size_t i = 0; i < nsrc && !m; i++) {
				m = manifest_from_peer(x, src[i], &err);
				/* The source answered with a failure of its own (the image is not
				 * in the store, its digest is wrong): no other source does better.
				 */
				if (!m && errno == EREMOTEIO) {
					fail(x, "from %s: %s", x->spec.nodes[src[i]], err.msg);
					goto out;
				}
				if (!m)
					xwarn("image %s: manifest from %s: %s", x->spec.name,
					      x->spec.nodes[src[i]], err.msg);
			}
			if (!m && ic_now() + delay >= deadline) {
				if (store_readable(x) &&
				    manifest_from_store(x, &m, &cached_manifest) == 0)
					break;
				fail(x, "no source answered (last: %s)", err.msg);
				goto out;
			}
			if (!m)
				usleep((useconds_t)(delay * 1e6));
		}
	}

	x->t_manifest = ic_now();
	/* 2. Room, resume and delta. */
	if (ic_store_make_room(&d->store, m->total_bytes, m->digest, &err) < 0) {
		fail(x, "%s", err.msg);
		goto out;
	}
	have = calloc(m->nchunks ? m->nchunks : 1, sizeof(*have));
	checked = calloc(m->nchunks ? m->nchunks : 1, sizeof(*checked));
	buf = malloc(m->chunk_bytes);
	if (!have || !checked || !buf) {
		fail(x, "out of memory");
		goto out;
	}
	if (ic_store_partial_open(&d->store, m, fds, have, &resumed, &seeded, &err) < 0) {
		fail(x, "%s", err.msg);
		goto out;
	}
	check_present(m, fds, have, checked, buf);
	x->t_open = ic_now();
	pthread_mutex_lock(&x->mu);
	x->m = m;
	x->have = have;
	x->checked = checked;
	memcpy(x->fds, fds, sizeof(fds));
	for (uint32_t c = 0; c < m->nchunks; c++)
		if (have[c]) {
			uint32_t len = 0;

			ic_manifest_chunk(m, c, NULL, NULL, &len);
			x->bytes_have += len;
		}
	x->bytes_resumed = resumed;
	x->bytes_seeded = seeded;
	x->state = XF_RUNNING;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	m = NULL;
	have = checked = NULL; /* owned by x now */
	if (resumed || seeded)
		xinfo("image %s: %" PRIu64 " bytes resumed from a partial copy, %" PRIu64
		      " bytes copied from cached images (delta), of %" PRIu64,
		      x->spec.name, resumed, seeded, x->m->total_bytes);
	/* 3. The chunks: from the store at the root; up one tree, or both trees at once. */
	if (nsrc == 0) {
		if (fill_from_store(x, buf) < 0)
			goto out;
	} else if (x->spec.shape == IC_CAST_TWO_TREE) {
		struct pull_job odd = {.x = x, .deadline = deadline};
		pthread_t tid;
		int even;

		if (pthread_create(&tid, NULL, pull_thread, &odd) != 0) {
			fail(x, "cannot start a thread");
			goto out;
		}
		even = pull_all(x, 0, deadline, &keep_partial);
		pthread_join(tid, NULL);
		keep_partial |= odd.keep_partial;
		if (even < 0 || odd.rc < 0)
			goto out;
	} else if (pull_all(x, -1, deadline, &keep_partial) < 0) {
		goto out;
	}

	/* 4. Verify and publish. */
	for (size_t i = 0; i < x->m->nfiles; i++) {
		const struct ic_file *f = &x->m->files[i];

		/*
		 * Every chunk of the file checked against the midstates means the chain from the
		 * initial value ended in the file's sha256: no second read.  (An empty file has no
		 * chunk to prove it; publishing hashes it, which costs nothing.)
		 */
		verified[i] = x->m->mids && f->nchunks > 0;
		pthread_mutex_lock(&x->mu);
		for (uint32_t c = f->first_chunk; verified[i] && c < f->first_chunk + f->nchunks;
		     c++)
			verified[i] = x->checked[c];
		pthread_mutex_unlock(&x->mu);
	}
	if (ic_store_publish(&d->store, x->m, x->fds, verified, &err) < 0) {
		fail(x, "%s", err.msg);
		goto out;
	}
	rc = 0;
out:
	/* A cached manifest the store no longer matches must not be used again. */
	if (rc < 0 && cached_manifest)
		(void)ic_mcache_drop(&d->store, x->spec.digest, x->spec.chunk_bytes);
	if (rc < 0 && !keep_partial)
		ic_store_partial_remove(&d->store, x->spec.digest);
	ic_manifest_free(m);
	free(have);
	free(checked);
	free(buf);
	return rc;
}

static void *xfer_main(void *arg)
{
	struct xfer *x = arg;
	int rc = run(x);

	pthread_mutex_lock(&x->mu);
	x->finished = ic_now();
	x->state = rc == 0 ? XF_DONE : XF_FAILED;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	if (rc == 0)
		xinfo("image %s (%s): published in %.2fs (first chunk at %.2fs, last at %.2fs), "
		      "%" PRIu64 " bytes over the network from %s",
		      x->spec.name, x->spec.digest, x->finished - x->started,
		      x->first_byte > 0 ? x->first_byte - x->started : 0,
		      x->last_byte > 0 ? x->last_byte - x->started : 0, x->bytes_net, x->source);
	else
		xerror("%s", x->err);
	{
		/* Wall-clock marks, to line the nodes of one broadcast up with each other. */
		struct timespec now;
		double wall;

		clock_gettime(CLOCK_REALTIME, &now);
		wall = (double)now.tv_sec + now.tv_nsec / 1e9;
		xverbose("image %s: timeline (seconds after start) manifest %.3f open %.3f",
		         x->spec.name, x->t_manifest > 0 ? x->t_manifest - x->started : 0,
		         x->t_open > 0 ? x->t_open - x->started : 0);
		xverbose("image %s: timeline (wall clock) start %.3f first %.3f last %.3f end %.3f",
		         x->spec.name, wall - (x->finished - x->started),
		         x->first_byte > 0 ? wall - (x->finished - x->first_byte) : 0,
		         x->last_byte > 0 ? wall - (x->finished - x->last_byte) : 0, wall);
	}
	xfer_put(x);
	return NULL;
}

int xfer_get(struct icd *d, const struct ic_spec *spec, struct xfer **out, struct xerr *err)
{
	struct xfer *x;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t tid;
	char *text = NULL;
	long rank, len;
	int e;

	if (!d || !spec || !out) {
		return xerr_errno(err, EINVAL, "internal error: bad arguments");
	}
	rank = ic_spec_rank(spec, d->node);
	if (rank < 0) {
		return xerr_errno(err, EINVAL,
		                  "image %s: node %s is not in the request's node list", spec->name,
		                  d->node);
	}
	pthread_mutex_lock(&d->lock);
	for (x = d->xfers; x; x = x->next)
		if (strcmp(x->spec.digest, spec->digest) == 0 && x->state != XF_FAILED)
			break;
	if (x) {
		x->refs++;
		pthread_mutex_unlock(&d->lock);
		*out = x;
		return 0;
	}
	x = calloc(1, sizeof(*x));
	len = ic_spec_format(spec, &text);
	if (!x || len < 0 || ic_spec_parse(text, &x->spec, err) < 0) {
		pthread_mutex_unlock(&d->lock);
		free(text);
		free(x);
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	free(text);
	/* The lease is the requester's, not the transfer's. */
	free(x->spec.pin);
	x->spec.pin = NULL;
	x->d = d;
	x->rank = rank;
	x->refs = 2; /* the requester's and the thread's */
	x->started = ic_now();
	for (size_t i = 0; i < IC_MAX_FILES; i++)
		x->fds[i] = -1;
	pthread_mutex_init(&x->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&tid, &ta, xfer_main, x);
	pthread_attr_destroy(&ta);
	if (e) {
		pthread_mutex_unlock(&d->lock);
		xfer_free(x);
		errno = e;
		return xerr_set(err, "cannot start a transfer: %s", strerror(e));
	}
	x->next = d->xfers;
	d->xfers = x;
	pthread_mutex_unlock(&d->lock);
	xinfo("image %s (%s): transfer started, rank %ld of %zu, shape %s", spec->name,
	      spec->digest, rank, spec->nnodes, ic_shape_name(spec->shape));
	*out = x;
	return 0;
}

/*
 * yamldoc_load.c - reading one YAML file into a document, within bounds (see yamldoc.h).
 *
 * The file is opened non-blocking and must be a regular file, so a FIFO or a device at the path
 * is refused at once instead of blocking the caller.  It is read whole (at most max_bytes) and
 * parsed twice: a streaming pass over libyaml's events counts nesting and nodes and stops at the
 * first excess, cheaply, before any DOM is built; only a file within bounds is then composed.
 * Both passes read through a handler that checks the time budget and the cancel flag between
 * chunks, so no parse outlives its budget by more than one chunk's work.
 */
#include "yamldoc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bytes handed to libyaml per read: small enough that the budget is checked often. */
#define CHUNK 16384
/* Events between two looks at the clock in the counting pass. */
#define EVENTS_PER_CHECK 512

const struct ydoc_limits ydoc_default_limits = {
    .max_bytes = YDOC_MAX_BYTES_DEFAULT,
    .max_depth = YDOC_MAX_DEPTH_DEFAULT,
    .max_nodes = YDOC_MAX_NODES_DEFAULT,
    .max_ms = YDOC_MAX_MS_DEFAULT,
    .cancel = NULL,
};

/* The file's bytes as libyaml reads them, and why reading was refused (0: it was not). */
struct source {
	const unsigned char *buf;
	size_t len, pos;
	const struct ydoc_limits *lim;
	struct timespec deadline;
	int stop; /* ETIMEDOUT or ECANCELED once the handler refused */
};

static bool past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* True (and src->stop set) when the load must end: cancelled, or out of time. */
static bool must_stop(struct source *src)
{
	if (src->stop)
		return true;
	if (src->lim->cancel && atomic_load(src->lim->cancel))
		src->stop = ECANCELED;
	else if (src->lim->max_ms && past(&src->deadline))
		src->stop = ETIMEDOUT;
	return src->stop != 0;
}

/* libyaml's read handler: 1 with the next chunk, or 0 (a reader error) when the load must end. */
static int read_chunk(void *data, unsigned char *buffer, size_t size, size_t *size_read)
{
	struct source *src = data;
	size_t n = src->len - src->pos;

	if (must_stop(src))
		return 0;
	if (n > size)
		n = size;
	if (n > CHUNK)
		n = CHUNK;
	memcpy(buffer, src->buf + src->pos, n);
	src->pos += n;
	*size_read = n;
	return 1;
}

/* Report why the load stopped, libyaml's own error otherwise.  Returns -1 with errno set. */
static int parser_error(const struct ydoc *d, const yaml_parser_t *p, const struct source *src,
                        struct xerr *err)
{
	const char *problem = p->problem ? p->problem : "unknown YAML error";

	if (src->stop == ETIMEDOUT) {
		xerr_set(err, "%s: parsing took longer than %u ms; stopped at byte %zu of %zu",
		         d->file, src->lim->max_ms, src->pos, src->len);
		errno = ETIMEDOUT;
		return -1;
	}
	if (src->stop) {
		xerr_set(err, "%s: load cancelled", d->file);
		errno = src->stop;
		return -1;
	}
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		xerr_set(err, "%s: out of memory", d->file);
		errno = ENOMEM;
		return -1;
	case YAML_READER_ERROR:
		if (p->problem_value != -1)
			xerr_set(err, "%s: byte %zu: %s (#%X)", d->file, p->problem_offset, problem,
			         (unsigned)p->problem_value);
		else
			xerr_set(err, "%s: byte %zu: %s", d->file, p->problem_offset, problem);
		break;
	default:
		if (p->context)
			xerr_set(err, "%s:%zu:%zu: %s (%s at %zu:%zu)", d->file,
			         p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
			         p->context, p->context_mark.line + 1, p->context_mark.column + 1);
		else
			xerr_set(err, "%s:%zu:%zu: %s", d->file, p->problem_mark.line + 1,
			         p->problem_mark.column + 1, problem);
		break;
	}
	errno = EINVAL;
	return -1;
}

/*
 * The whole regular file at `path`, at most lim->max_bytes, into *buf (malloc'ed, *len bytes).
 * Returns 0, or -1 with err filled and errno: the open/fstat/read error, EINVAL (not a regular
 * file), EFBIG (too large), ENOMEM.
 */
static int read_file(const char *path, const struct ydoc_limits *lim, unsigned char **buf,
                     size_t *len, struct xerr *err)
{
	unsigned char *p = NULL;
	size_t cap, n = 0;
	struct stat st;
	int fd, rc = -1, saved;

	/* O_NONBLOCK: opening a FIFO (or a tty) for reading must not wait for a writer. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		saved = errno;
		xerr_set(err, "%s: cannot open: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		xerr_set(err, "%s: cannot stat: %s", path, strerror(saved));
		errno = saved;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		xerr_set(err, "%s: not a regular file", path);
		errno = EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > lim->max_bytes)
		goto too_big;
	/* one byte more than the bound, to notice a file that grew while it was read */
	cap = (size_t)st.st_size + 1;
	p = malloc(cap);
	if (!p) {
		xerr_set(err, "%s: out of memory", path);
		errno = ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			unsigned char *bigger;

			if ((uint64_t)n > lim->max_bytes)
				goto too_big;
			bigger = realloc(p, cap * 2);
			if (!bigger) {
				xerr_set(err, "%s: out of memory", path);
				errno = ENOMEM;
				goto out;
			}
			p = bigger;
			cap *= 2;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			saved = errno;
			xerr_set(err, "%s: cannot read: %s", path, strerror(saved));
			errno = saved;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if ((uint64_t)n > lim->max_bytes)
		goto too_big;
	*buf = p;
	*len = n;
	p = NULL;
	rc = 0;
	goto out;
too_big:
	xerr_set(err, "%s: larger than %llu bytes: refused", path,
	         (unsigned long long)lim->max_bytes);
	errno = EFBIG;
out:
	saved = errno;
	free(p);
	close(fd);
	errno = saved;
	return rc;
}

/*
 * The counting pass: libyaml's events, with nesting and nodes bounded.  Returns 0, or -1 with err
 * filled (at the event that went over, or libyaml's error) and errno set.
 */
static int check_bounds(const struct ydoc *d, struct source *src, struct xerr *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	uint64_t nodes = 0, events = 0;
	unsigned depth = 0;
	int rc = -1;

	if (!yaml_parser_initialize(&parser)) {
		xerr_set(err, "%s: out of memory", d->file);
		errno = ENOMEM;
		return -1;
	}
	yaml_parser_set_input(&parser, read_chunk, src);
	for (;;) {
		yaml_event_type_t type;
		yaml_mark_t at;

		if (!yaml_parser_parse(&parser, &ev)) {
			parser_error(d, &parser, src, err);
			goto out;
		}
		type = ev.type;
		at = ev.start_mark;
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			break;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > src->lim->max_depth) {
				xerr_set(err, "%s:%zu:%zu: nested deeper than %u levels: refused",
				         d->file, at.line + 1, at.column + 1, src->lim->max_depth);
				errno = EINVAL;
				goto out;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		if (type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
		    type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++nodes > src->lim->max_nodes) {
				xerr_set(err, "%s:%zu:%zu: more than %llu YAML nodes: refused",
				         d->file, at.line + 1, at.column + 1,
				         (unsigned long long)src->lim->max_nodes);
				errno = EINVAL;
				goto out;
			}
		}
		if (++events % EVENTS_PER_CHECK == 0 && must_stop(src)) {
			parser_error(d, &parser, src, err);
			goto out;
		}
	}
	rc = 0;
out:
	yaml_parser_delete(&parser);
	return rc;
}

/* Compose the single document of src into d.  Returns 0, or -1 with err filled and errno set. */
static int compose(struct ydoc *d, struct source *src, struct xerr *err)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int rc = -1;

	if (!yaml_parser_initialize(&parser)) {
		xerr_set(err, "%s: out of memory", d->file);
		errno = ENOMEM;
		return -1;
	}
	yaml_parser_set_input(&parser, read_chunk, src);
	if (!yaml_parser_load(&parser, &d->doc)) { /* libyaml freed the partial document */
		parser_error(d, &parser, src, err);
		goto out;
	}
	d->have_doc = true;
	if (!yaml_document_get_root_node(&d->doc)) { /* empty stream */
		rc = 0;
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		parser_error(d, &parser, src, err);
		goto out;
	}
	if (yaml_document_get_root_node(&extra)) {
		yaml_mark_t m = yaml_document_get_root_node(&extra)->start_mark;

		yaml_document_delete(&extra);
		xerr_set(err, "%s:%zu:%zu: only one YAML document is allowed", d->file, m.line + 1,
		         m.column + 1);
		errno = EINVAL;
		goto out;
	}
	yaml_document_delete(&extra);
	rc = 0;
out:
	yaml_parser_delete(&parser);
	return rc;
}

int ydoc_load_limited(struct ydoc *d, const char *path, const struct ydoc_limits *lim,
                      struct xerr *err)
{
	struct source src = {0};
	unsigned char *buf = NULL;
	int rc = -1, saved;

	if (!d || !path)
		return xerr_errno(err, EINVAL, "ydoc_load: invalid argument");
	if (!lim)
		lim = &ydoc_default_limits;
	d->have_doc = false;
	d->file = strdup(path);
	if (!d->file) {
		errno = ENOMEM;
		xerr_set(err, "%s: out of memory", path);
		goto out;
	}
	src.lim = lim;
	clock_gettime(CLOCK_MONOTONIC, &src.deadline);
	src.deadline.tv_sec += lim->max_ms / 1000;
	src.deadline.tv_nsec += (long)(lim->max_ms % 1000) * 1000000L;
	if (src.deadline.tv_nsec >= 1000000000L) {
		src.deadline.tv_sec++;
		src.deadline.tv_nsec -= 1000000000L;
	}
	if (read_file(path, lim, &buf, &src.len, err) < 0)
		goto out;
	src.buf = buf;
	if (check_bounds(d, &src, err) < 0)
		goto out;
	src.pos = 0;
	if (compose(d, &src, err) < 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}

int ydoc_load(struct ydoc *d, const char *path, struct xerr *err)
{
	return ydoc_load_limited(d, path, &ydoc_default_limits, err);
}

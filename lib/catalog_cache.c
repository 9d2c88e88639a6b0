/*
 * catalog_cache.c - a catalog that follows its file: xenvm_catalog_cache_get() stats the file and
 * reloads it when (device, inode, size, mtime, ctime) changed, keeping the last good catalog when
 * the new file does not load, and reporting each bad state of the file once.
 *
 * Not thread-safe: callers serialise (slurmctld calls job_submit with its job write lock held).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"

/* seen.size of a file that could not be stat'ed (a real file never has a negative size). */
#define SEEN_MISSING ((off_t)-1)

/* Returns 0, or -1 with errno EINVAL (NULL argument) or ENOMEM. */
int xenvm_catalog_cache_init(struct xenvm_catalog_cache *cc, const char *path)
{
	if (!cc || !path || !*path) {
		errno = EINVAL;
		return -1;
	}
	memset(cc, 0, sizeof(*cc));
	cc->path = strdup(path);
	if (!cc->path) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static void remember(struct xenvm_catalog_cache *cc, const struct stat *st)
{
	memset(&cc->seen, 0, sizeof(cc->seen));
	if (st) {
		cc->seen.dev = st->st_dev;
		cc->seen.ino = st->st_ino;
		cc->seen.size = st->st_size;
		cc->seen.mtime = st->st_mtim;
		cc->seen.ctime = st->st_ctim;
	} else {
		cc->seen.size = SEEN_MISSING;
	}
	cc->have_seen = true;
}

static bool same_ts(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool unchanged(const struct xenvm_catalog_cache *cc, const struct stat *st)
{
	return cc->have_seen && cc->seen.size != SEEN_MISSING && cc->seen.dev == st->st_dev &&
	       cc->seen.ino == st->st_ino && cc->seen.size == st->st_size &&
	       same_ts(cc->seen.mtime, st->st_mtim) && same_ts(cc->seen.ctime, st->st_ctim);
}

/*
 * Returns the current catalog, valid until the next call or xenvm_catalog_cache_fini(); NULL
 * when no good copy was ever loaded (errno EINVAL for a NULL cc, else ENOENT).  *reload_failed is
 * true, and *reload_err filled, only on the call that first saw a new state of the file that does
 * not load (or a file that went missing).
 */
const struct xenvm_catalog *xenvm_catalog_cache_get(struct xenvm_catalog_cache *cc,
                                                    bool *reload_failed, struct xerr *reload_err)
{
	struct xenvm_catalog *fresh = NULL;
	struct stat st, after;
	int e;

	if (reload_failed)
		*reload_failed = false;
	if (!cc || !cc->path) {
		errno = EINVAL;
		return NULL;
	}
	if (stat(cc->path, &st) < 0) {
		e = errno;
		if (!cc->have_seen || cc->seen.size != SEEN_MISSING) {
			remember(cc, NULL);
			if (reload_failed)
				*reload_failed = true;
			xerr_set(reload_err, "%s: cannot open: %s", cc->path, strerror(e));
		}
		goto done;
	}
	if (unchanged(cc, &st))
		goto done;
	remember(cc, &st);
	if (xenvm_catalog_load(cc->path, &fresh, reload_err) < 0) {
		if (reload_failed)
			*reload_failed = true;
	} else {
		xenvm_catalog_free(cc->current);
		cc->current = fresh;
	}
	/* written while we read it: look again next time rather than trust what was read */
	if (stat(cc->path, &after) < 0 || !unchanged(cc, &after))
		cc->have_seen = false;
done:
	if (!cc->current)
		errno = ENOENT;
	return cc->current;
}

/* Frees the catalog and the path; cc may be initialised again.  NULL is a no-op. */
void xenvm_catalog_cache_fini(struct xenvm_catalog_cache *cc)
{
	if (!cc)
		return;
	xenvm_catalog_free(cc->current);
	free(cc->path);
	memset(cc, 0, sizeof(*cc));
}

/* catalog_live.c - the catalog loaded by a thread of its own; see catalog_live.h. */
#include "catalog_live.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

#define POLL_MS_DEFAULT 1000

/* The state of the file last looked at. */
struct file_state {
	bool known;
	bool missing;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct xenvm_catalog_live {
	char *path;
	struct xenvm_catalog_limits limits;
	uint32_t poll_ms;

	pthread_mutex_t lock; /* guards current, stats, poked and wakes; never held while parsing */
	pthread_cond_t wake;  /* the thread: poke or stop; start(): a load attempt ended */
	struct xenvm_catalog *current;
	struct xenvm_catalog_live_stats stats;
	bool poked;

	atomic_bool stop; /* also the loader's cancel flag */
	pthread_t thread;
	struct file_state seen; /* the thread's own */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool same_ts(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* The file's state; missing (errno set) when it cannot be stat'ed. */
static struct file_state state_of(const char *path)
{
	struct file_state f = {.known = true};
	struct stat st;

	if (stat(path, &st) < 0) {
		f.missing = true;
		return f;
	}
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	f.size = st.st_size;
	f.mtime = st.st_mtim;
	f.ctime = st.st_ctim;
	return f;
}

static bool same_state(const struct file_state *a, const struct file_state *b)
{
	if (!a->known || !b->known || a->missing != b->missing)
		return false;
	return a->missing || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	                      same_ts(a->mtime, b->mtime) && same_ts(a->ctime, b->ctime));
}

/* Put `fresh` in force; the old catalog goes when its last reader puts it. */
static void swap_in(struct xenvm_catalog_live *lv, struct xenvm_catalog *fresh)
{
	struct xenvm_catalog *old;
	uint64_t t0 = now_ns(), dt;

	pthread_mutex_lock(&lv->lock);
	old = lv->current;
	lv->current = fresh;
	dt = now_ns() - t0;
	if (dt > lv->stats.max_swap_ns)
		lv->stats.max_swap_ns = dt;
	lv->stats.loads++;
	pthread_mutex_unlock(&lv->lock);
	xenvm_catalog_put(old);
}

/* One look at the file: load it if it changed.  Runs on the reload thread only. */
static void check_file(struct xenvm_catalog_live *lv)
{
	struct file_state now = state_of(lv->path), after;
	struct xenvm_catalog *fresh = NULL;
	struct xenvm_catalog_limits lim = lv->limits;
	struct xerr err;
	uint64_t t0, us;
	int rc, e;

	if (same_state(&now, &lv->seen))
		return;
	lv->seen = now;
	if (now.missing) {
		e = errno;
		xerror("%s: cannot open: %s (keeping the last good catalog)", lv->path,
		       strerror(e));
		pthread_mutex_lock(&lv->lock);
		lv->stats.attempts++;
		lv->stats.failures++;
		pthread_mutex_unlock(&lv->lock);
		return;
	}
	pthread_mutex_lock(&lv->lock);
	lv->stats.attempts++;
	lv->stats.loading = true;
	pthread_mutex_unlock(&lv->lock);
	xinfo("catalog %s changed: loading it (jobs use the catalog in force meanwhile)", lv->path);
	lim.cancel = &lv->stop;
	t0 = now_ns();
	rc = xenvm_catalog_load_limited(lv->path, &lim, &fresh, &err);
	e = errno;
	us = (now_ns() - t0) / 1000;
	if (rc == 0) {
		swap_in(lv, fresh);
		xinfo("catalog %s: %zu images, loaded in %llu ms", lv->path, fresh->n_images,
		      (unsigned long long)(us / 1000));
	} else if (e != ECANCELED) {
		xerror("%s (after %llu ms; keeping the last good catalog)", err.msg,
		       (unsigned long long)(us / 1000));
	}
	pthread_mutex_lock(&lv->lock);
	lv->stats.loading = false;
	lv->stats.last_load_us = us;
	if (rc < 0)
		lv->stats.failures++;
	pthread_mutex_unlock(&lv->lock);
	/* written while it was read: look again at the next poll rather than trust the read */
	after = state_of(lv->path);
	if (!same_state(&after, &lv->seen))
		lv->seen.known = false;
}

static void *reload_thread(void *arg)
{
	struct xenvm_catalog_live *lv = arg;

	while (!atomic_load(&lv->stop)) {
		struct timespec until;

		check_file(lv);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += lv->poll_ms / 1000;
		until.tv_nsec += (long)(lv->poll_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&lv->lock);
		pthread_cond_broadcast(&lv->wake); /* start() waits for the first attempt */
		while (!lv->poked && !atomic_load(&lv->stop) &&
		       pthread_cond_timedwait(&lv->wake, &lv->lock, &until) != ETIMEDOUT)
			;
		lv->poked = false;
		pthread_mutex_unlock(&lv->lock);
	}
	return NULL;
}

int xenvm_catalog_live_start(const struct xenvm_catalog_live_opts *opts,
                             struct xenvm_catalog_live **out, struct xerr *err)
{
	struct xenvm_catalog_live *lv;
	pthread_condattr_t ca;
	struct timespec until;
	int rc;

	if (!opts || !opts->path || !*opts->path || !out)
		return xerr_errno(err, EINVAL, "xenvm_catalog_live_start: invalid argument");
	lv = calloc(1, sizeof(*lv));
	if (!lv || !(lv->path = strdup(opts->path))) {
		free(lv);
		return xerr_errno(err, ENOMEM, "%s: out of memory", opts->path);
	}
	lv->limits = opts->limits;
	lv->poll_ms = opts->poll_ms ? opts->poll_ms : POLL_MS_DEFAULT;
	atomic_init(&lv->stop, false);
	pthread_mutex_init(&lv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lv->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&lv->thread, NULL, reload_thread, lv);
	if (rc) {
		pthread_cond_destroy(&lv->wake);
		pthread_mutex_destroy(&lv->lock);
		free(lv->path);
		free(lv);
		errno = rc;
		return xerr_set(err, "%s: cannot start the catalog's reload thread: %s", opts->path,
		                strerror(rc));
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += opts->start_wait_ms / 1000;
	until.tv_nsec += (long)(opts->start_wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lv->lock);
	while ((lv->stats.attempts == 0 || lv->stats.loading) && !lv->current &&
	       pthread_cond_timedwait(&lv->wake, &lv->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&lv->lock);
	*out = lv;
	return 0;
}

struct xenvm_catalog *xenvm_catalog_live_get(struct xenvm_catalog_live *lv, bool *loading)
{
	struct xenvm_catalog *cat;

	if (loading)
		*loading = false;
	if (!lv) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&lv->lock);
	cat = xenvm_catalog_ref(lv->current);
	if (loading)
		*loading = lv->stats.loading;
	pthread_mutex_unlock(&lv->lock);
	if (!cat)
		errno = ENOENT;
	return cat;
}

void xenvm_catalog_live_poke(struct xenvm_catalog_live *lv)
{
	if (!lv)
		return;
	pthread_mutex_lock(&lv->lock);
	lv->poked = true;
	pthread_cond_broadcast(&lv->wake);
	pthread_mutex_unlock(&lv->lock);
}

struct xenvm_catalog_live_stats xenvm_catalog_live_stats(struct xenvm_catalog_live *lv)
{
	struct xenvm_catalog_live_stats s = {0};

	if (!lv)
		return s;
	pthread_mutex_lock(&lv->lock);
	s = lv->stats;
	pthread_mutex_unlock(&lv->lock);
	return s;
}

void xenvm_catalog_live_stop(struct xenvm_catalog_live *lv)
{
	if (!lv)
		return;
	atomic_store(&lv->stop, true);
	pthread_mutex_lock(&lv->lock);
	pthread_cond_broadcast(&lv->wake);
	pthread_mutex_unlock(&lv->lock);
	pthread_join(lv->thread, NULL);
	xenvm_catalog_put(lv->current);
	pthread_cond_destroy(&lv->wake);
	pthread_mutex_destroy(&lv->lock);
	free(lv->path);
	free(lv);
}

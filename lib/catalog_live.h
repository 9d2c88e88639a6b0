/*
 * catalog_live.h - the catalog as slurmctld holds it: loaded by a thread of its own, off the
 * path of job submission.
 *
 * A reload thread stats images.yaml every poll interval and, when (device, inode, size, mtime,
 * ctime) changed, loads it within bounds (xenvm_catalog_load_limited: regular files only, size,
 * nesting, nodes, time) into a new catalog, then swaps it in under a mutex held only for the
 * pointer swap.  A submission takes a reference under the same mutex and never waits for a parse:
 * whatever the file is (a FIFO, 60 MB of nesting, a half-written copy), jobs see the last good
 * catalog until a better one has loaded.  A file that fails to load is logged once per change.
 */
#ifndef XENVM_CATALOG_LIVE_H
#define XENVM_CATALOG_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "error.h"

struct xenvm_catalog_live;

struct xenvm_catalog_live_opts {
	const char *path;
	struct xenvm_catalog_limits limits; /* .cancel is ignored: stop() cancels a load */
	uint32_t poll_ms;                   /* between two stat()s of the file (1000 if 0) */
	uint32_t start_wait_ms;             /* how long start() waits for the first load */
};

/* What the thread has done, for logs, tests and benchmarks. */
struct xenvm_catalog_live_stats {
	uint64_t attempts;     /* loads started */
	uint64_t loads;        /* loads that replaced the catalog */
	uint64_t failures;     /* loads that kept the last good catalog */
	bool loading;          /* a load is under way */
	uint64_t last_load_us; /* duration of the last load (good or bad) */
	uint64_t max_swap_ns;  /* longest time the mutex was held to swap a catalog in */
};

/*
 * Start the reload thread and wait up to opts->start_wait_ms for its first load (so a good
 * catalog is usually in force when start returns; a slow one keeps loading in the background).
 * Returns 0 and *out, or -1 with err filled and errno EINVAL (bad arguments), ENOMEM, or
 * pthread_create's error.  A catalog that does not load is not an error here (it is logged).
 */
int xenvm_catalog_live_start(const struct xenvm_catalog_live_opts *opts,
                             struct xenvm_catalog_live **out, struct xerr *err);

/*
 * A reference to the catalog in force (release it with xenvm_catalog_put()), or NULL with errno
 * ENOENT (none has loaded yet; *loading, if not NULL, says whether one is being loaded) or
 * EINVAL.  Never waits for a load: the mutex is held only for pointer swaps.
 */
struct xenvm_catalog *xenvm_catalog_live_get(struct xenvm_catalog_live *lv, bool *loading);

/* Ask the thread to look at the file now instead of at the next poll.  NULL is a no-op. */
void xenvm_catalog_live_poke(struct xenvm_catalog_live *lv);

/* A copy of the counters.  Never fails (zeros for NULL). */
struct xenvm_catalog_live_stats xenvm_catalog_live_stats(struct xenvm_catalog_live *lv);

/*
 * Stop the thread (cancelling a load under way), drop the reference to the catalog in force
 * and free lv.  References taken with _get stay valid until put.  NULL is a no-op.
 */
void xenvm_catalog_live_stop(struct xenvm_catalog_live *lv);

#endif

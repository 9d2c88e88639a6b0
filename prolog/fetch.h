/*
 * fetch.h - get the job's image into this node's cache through imagecastd.
 *
 * Runs `imagecast fetch` (the CLI is the one client of imagecastd's local socket; the Prolog
 * does not speak that protocol itself) with the job's node list, so the Prologs of all the
 * job's nodes join one broadcast, and pins the image for the job until its Epilog.
 */
#ifndef XENVM_PROLOG_FETCH_H
#define XENVM_PROLOG_FETCH_H

#include <stdint.h>

#include "lib/config.h"
#include "lib/error.h"

struct fetch_result {
	char dir[4096]; /* <cache.dir>/images/<hex>: kernel, initrd, rootdisk, manifest */
	int64_t bytes;  /* received over the network (0: cache hit), -1 unknown */
	uint32_t ms;    /* wall time of the fetch */
};

/*
 * Is imagecastd answering on its local socket?  0, or -1 with errno and err (a node fault:
 * the daemon is part of the node).
 */
int fetch_daemon_check(const struct xenvm_config *cfg, struct xerr *err);

/*
 * Fetch image `name` pinned at `digest` for job `jobid` over `nodelist`, within
 * timeouts.fetch.  imagecast is `imagecast_path`.  Returns 0 with *res filled, or -1 with err
 * holding imagecast's own message and errno: ETIMEDOUT, ENOSPC (the node's disk is full: a
 * node fault), EIO (any other failure, e.g. the image is missing from the store).
 */
int fetch_image(const struct xenvm_config *cfg, const char *imagecast_path, const char *name,
                const char *digest, const char *nodelist, uint32_t jobid, struct fetch_result *res,
                struct xerr *err);

#endif

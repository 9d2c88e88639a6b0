/*
 * pkey.h - put a job's port GUIDs into its partition where the site's subnet manager reads
 * partitions, and take them out again.
 *
 * A small interface so that a site with another subnet manager (UFM, a fabric API) adds one
 * file next to pkey_opensm.c.  Both calls are idempotent: adding a job twice leaves one entry,
 * removing an absent job is success (the Epilog can run twice).
 */
#ifndef XENIB_PKEY_H
#define XENIB_PKEY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct xenib_pkey_ops {
	/*
	 * Make `guids` (n >= 1 port GUIDs of node `node`'s VFs) full members of partition `pkey`
	 * (0x0001..0x7fff) for job `jobid`, replacing what that node had given before.  Every node
	 * of a job adds its own GUIDs; the subnet manager merges definitions of one pkey.
	 * Returns 0, or -1 with errno and err.
	 */
	int (*add)(void *ctx, uint32_t jobid, const char *node, uint16_t pkey,
	           const uint64_t *guids, size_t n, struct xerr *err);
	/* Remove node `node`'s membership for job `jobid`.  Returns 0, or -1 with errno and err. */
	int (*remove)(void *ctx, uint32_t jobid, const char *node, struct xerr *err);
};

/* OpenSM: one line per job in its partitions file (see pkey_opensm.c). */
struct xenib_opensm {
	const char *partitions; /* ib.partitions_file, e.g. /etc/opensm/partitions.conf */
	const char *pid_file;   /* ib.opensm_pid_file, or NULL: do not signal */
};

extern const struct xenib_pkey_ops xenib_pkey_opensm; /* ctx: struct xenib_opensm * */

/*
 * The line node `node` writes for job `jobid`:
 * "xenvm_job_<jobid>_<node>=0x<pkey>, ipoib : 0x<guid>=full, ... ;\n".  `node` is 1..63 of
 * [A-Za-z0-9._-] (what a partition name may hold).  Returns the malloc'ed line, or NULL with
 * errno EINVAL/ENOMEM.
 */
char *xenib_opensm_line(uint32_t jobid, const char *node, uint16_t pkey, const uint64_t *guids,
                        size_t n);

#endif

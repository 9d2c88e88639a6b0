/*
 * partition.c - keep a job's partition membership equal to the VFs this node gave it
 * (see xenib_partition_sync in xenib.h).
 *
 * Derived from the pool state rather than kept alongside it, so there is one truth: whatever the
 * pool says the job holds on this node is what the subnet manager is told.
 */
#include "xenib.h"

#include <errno.h>
#include <stdlib.h>

#include "guid.h"
#include "pkey.h"

/* Returns 0, or -1 with errno and err. */
int xenib_partition_sync(struct xenib_pool *pool, const struct xenib_pkey_ops *ops, void *ctx,
                         uint32_t jobid, uint16_t pkey, struct xerr *err)
{
	const struct xenib_params *p = xenib_pool_params(pool);
	struct xenib_slot_status *s = NULL;
	uint64_t *guids = NULL;
	size_t n = 0, used = 0;
	int rc = -1, saved;

	if (!p || !ops || !ops->add || !ops->remove || jobid == 0 || pkey == 0 || pkey > 0x7fff) {
		return xerr_errno(err, EINVAL, "xenib_partition_sync: invalid argument");
	}
	if (xenib_pool_status(pool, &s, &n, err) < 0)
		return -1;
	guids = calloc(n + 1, sizeof(*guids));
	if (!guids) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i].state != XENIB_FREE && s[i].jobid == jobid && s[i].vf.pf != (unsigned)-1)
			guids[used++] =
			    xenib_guid(p->guid_prefix, p->node, s[i].vf.slot, XENIB_PORT_GUID);
	if (used)
		rc = ops->add(ctx, jobid, p->node, pkey, guids, used, err);
	else
		rc = ops->remove(ctx, jobid, p->node, err);
out:
	saved = errno;
	free(guids);
	free(s);
	errno = saved;
	return rc;
}

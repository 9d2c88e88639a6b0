/* jobib.c - see jobib.h. */
#include "node/jobib.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jobstate.h"
#include "lib/log.h"
#include "xenib/pkey.h"
#include "xenib/xenib.h"

const char *xvm_job_ib_root(void)
{
	const char *r = getenv("XENVM_SYSFS_ROOT");

	return r && r[0] == '/' ? r : "/";
}

void xvm_job_ib_params(struct xenib_params *p, const struct xenvm_config *cfg, const char *root,
                       const char *node)
{
	*p = (struct xenib_params){.root = root,
	                           .state_dir = cfg->state_dir,
	                           .devices = cfg->ib.devices,
	                           .n_devices = cfg->ib.n_devices,
	                           .vfs_per_device = cfg->ib.vfs_per_device,
	                           .guid_prefix = cfg->ib.guid_prefix,
	                           .node = node};
}

bool xvm_job_ib_alive(uint32_t jobid, void *state_dir)
{
	return xenvm_job_present(state_dir, jobid);
}

/* Open the node's pool.  Returns 0 and *pool, or -1 with errno and err (xenib_pool_open's). */
static int open_pool(const struct xenvm_config *cfg, const char *node, struct xenib_params *p,
                     struct xenib_pool **pool, struct xerr *err)
{
	*pool = NULL;
	xvm_job_ib_params(p, cfg, xvm_job_ib_root(), node);
	if (xenib_pool_open(p, pool, err) < 0) {
		int saved = errno;
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		xerr_set(err, "IB VF pool (%s: ib.devices): %s", cfg->path, msg);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Partitions: both ib.partitions_file and ib.pkey set (xenvm.yaml(5)).  0, or -1 with err. */
static int sync_partition(const struct xenvm_config *cfg, struct xenib_pool *pool, uint32_t jobid,
                          struct xerr *err)
{
	struct xenib_opensm sm = {0};

	if (!cfg->ib.partitions_file || !cfg->ib.pkey)
		return 0;
	sm.partitions = cfg->ib.partitions_file;
	sm.pid_file = cfg->ib.opensm_pid_file;
	return xenib_partition_sync(pool, &xenib_pkey_opensm, &sm, jobid, cfg->ib.pkey, err);
}

/* The fallback for a VM without a VF; `why` says why it has none.  The fault, err filled. */
static enum xvm_fault no_vf(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                            int why_errno, const char *why, struct xvm_job_ib *out,
                            struct xerr *err)
{
	snprintf(out->why, sizeof(out->why), "%s", why);
	switch (cfg->ib.fallback) {
	case XENVM_IB_FALLBACK_RXE:
		out->rxe = true;
		xinfo("job %" PRIu32 ": %s: the guest gets Soft-RoCE (ib.fallback: rxe)", jobid,
		      why);
		return XVM_FAULT_NONE;
	case XENVM_IB_FALLBACK_TCP:
		xinfo("job %" PRIu32 ": %s: no verbs device in the guest (ib.fallback: tcp)", jobid,
		      why);
		return XVM_FAULT_NONE;
	default:
		errno = why_errno;
		xerr_set(
		    err,
		    "node %s: %s, and the site does not allow a fallback (%s: ib.fallback: none)",
		    node, why, cfg->path);
		return XVM_FAULT_JOB;
	}
}

enum xvm_fault xvm_job_ib_reserve(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                                  const char *vm, bool image_ib, struct xvm_job_ib *out,
                                  struct xerr *err)
{
	struct xenib_params p;
	struct xenib_pool *pool = NULL;
	struct xenib_assignment a;
	enum xvm_fault fault = XVM_FAULT_NODE;
	unsigned freed = 0;
	char why[256];
	int saved;

	memset(out, 0, sizeof(*out));
	if (!image_ib) {
		snprintf(out->why, sizeof(out->why),
		         "the image has no verbs support (attributes.ib)");
		return XVM_FAULT_NONE;
	}
	if (open_pool(cfg, node, &p, &pool, err) < 0)
		goto out;
	/* VFs of jobs whose state is gone (an Epilog that never ran) come back first. */
	if (xenib_recover(pool, xvm_job_ib_alive, cfg->state_dir, &freed, err) < 0)
		goto out;
	if (freed)
		xwarn("job %" PRIu32 ": recovered %u VF(s) of jobs no longer on this node", jobid,
		      freed);
	if (xenib_alloc(pool, jobid, vm, &a, err) < 0) {
		saved = errno;
		if (saved != ENOSPC && saved != ENODEV)
			goto out; /* the pool is broken: the node's fault */
		snprintf(why, sizeof(why), "%s",
		         saved == ENOSPC ? "every InfiniBand VF of this node is in use"
		                         : "this node has no SR-IOV InfiniBand VF");
		fault = no_vf(cfg, node, jobid, saved, why, out, err);
		goto out;
	}
	out->vf = true;
	snprintf(out->bdf, sizeof(out->bdf), "%s", a.bdf);
	snprintf(out->pf, sizeof(out->pf), "%s", a.pf);
	out->vf_index = a.vf;
	out->node_guid = a.node_guid;
	out->port_guid = a.port_guid;
	xinfo("job %" PRIu32 ": VF %s (%s vf%u, port GUID %016" PRIx64 ") leased to %s", jobid,
	      a.bdf, a.pf, a.vf, a.port_guid, vm);
	fault = XVM_FAULT_NONE;
out:
	if (pool)
		xenib_pool_close(pool);
	return fault;
}

int xvm_job_ib_commit(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                      const char *vm, const struct xvm_job_ib *ib, struct xerr *err)
{
	struct xenib_params p;
	struct xenib_pool *pool = NULL;
	int rc = -1;

	if (!ib->vf)
		return 0;
	if (open_pool(cfg, node, &p, &pool, err) < 0 || xenib_commit(pool, jobid, vm, err) < 0 ||
	    sync_partition(cfg, pool, jobid, err) < 0)
		goto out;
	rc = 0;
out:
	if (pool)
		xenib_pool_close(pool);
	return rc;
}

int xvm_job_ib_attach(const struct xenvm_config *cfg, const struct xvm_job_ib *ib, struct xerr *err)
{
	if (!ib->vf || cfg->driver == XENVM_DRIVER_XEN)
		return 0;
	if (xenib_pci_bind(xvm_job_ib_root(), ib->bdf, "vfio-pci", err) < 0 ||
	    xenib_pci_check_bound(xvm_job_ib_root(), ib->bdf, "vfio-pci", err) < 0)
		return -1;
	return 0;
}

int xvm_job_ib_release(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                       unsigned *released, struct xerr *err)
{
	struct xenib_params p;
	struct xenib_pool *pool = NULL;
	struct xenib_slot_status *slots = NULL;
	size_t n = 0;
	unsigned got = 0, freed = 0;
	int rc = -1;

	if (released)
		*released = 0;
	if (open_pool(cfg, node, &p, &pool, err) < 0)
		goto out;
	if (xenib_pool_status(pool, &slots, &n, err) < 0)
		goto out;
	/* The host's driver takes the VF back before the slot is free for the next job. */
	for (size_t i = 0; i < n; i++)
		if (slots[i].state != XENIB_FREE && slots[i].jobid == jobid &&
		    xenib_pci_return(xvm_job_ib_root(), slots[i].vf.bdf, err) < 0)
			goto out;
	if (xenib_release_job(pool, jobid, &got, err) < 0 ||
	    sync_partition(cfg, pool, jobid, err) < 0)
		goto out;
	if (xenib_recover(pool, xvm_job_ib_alive, cfg->state_dir, &freed, err) < 0)
		goto out;
	if (released)
		*released = got + freed;
	if (got)
		xinfo("job %" PRIu32 ": %u VF(s) released", jobid, got);
	rc = 0;
out:
	free(slots);
	if (pool)
		xenib_pool_close(pool);
	return rc;
}

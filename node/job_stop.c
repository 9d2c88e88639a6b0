/*
 * job_stop.c - xvm_job_stop (jobvm.h) in phases: the orderly shutdown of the VM in the job's
 * state directory, then whatever the driver still finds by name (job_recover.c), then the
 * job's network pin (netpin.h: by job id, so also after a crash), then its guest address, then -
 * only once no VM of the job is left - its VFs.  Every failure
 * here is the node's (something of the job survives), so the phases return 0 or -1.
 */
#include "node/jobvm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "node/guestnet.h"
#include "node/jobib.h"
#include "node/netpin.h"

/* The orderly way: the guest syncs and powers off.  No VM there (or no directory) is fine. */
static void shutdown_recorded(const struct xvm_driver *drv, const struct xenvm_config *cfg,
                              uint32_t jobid)
{
	char jobdir[4096], vmdir[4200];
	struct xvm *vm = NULL;
	struct xerr e;

	if (xenvm_job_dir(cfg->state_dir, jobid, jobdir, sizeof(jobdir)) < 0)
		return; /* cannot name it: the VM is found by name below */
	snprintf(vmdir, sizeof(vmdir), "%s/%s", jobdir, XVM_JOB_VM);
	if (drv->attach(vmdir, &vm, &e) < 0)
		return;
	/* A failure here is not final: the VM is found by name and killed next. */
	if (drv->shutdown(vm, cfg->timeouts.shutdown_grace_s * 1000u, &e) < 0 &&
	    drv->destroy(vm, &e) < 0)
		xerror("job %" PRIu32 ": VM %s: %s", jobid, vmdir, e.msg);
	drv->release(vm);
}

/* The address claim.  A failure is logged: a stale claim only refuses this job's id again. */
static void release_address(const struct xenvm_config *cfg, uint32_t jobid)
{
	if (xenvm_guest_addr_release_job(cfg->state_dir, jobid) < 0)
		xwarn("job %" PRIu32 ": releasing its guest address: %s", jobid, strerror(errno));
}

/* The job's VFs.  0, or -1 with errno and err: a VF the pool cannot take back. */
static int release_vfs(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                       struct xerr *err)
{
	struct xerr e;
	int saved;

	if (xvm_job_ib_release(cfg, node, jobid, NULL, &e) < 0) {
		saved = errno;
		xerr_set(err, "job %" PRIu32 ": %s", jobid, e.msg);
		errno = saved;
		return -1;
	}
	return 0;
}

int xvm_job_stop(const struct xvm_driver *drv, const struct xenvm_config *cfg, const char *node,
                 uint32_t jobid, struct xerr *err)
{
	shutdown_recorded(drv, cfg, jobid);
	/* A VF still in a guest must not go to the next job: no VM left, or no release. */
	if (xvm_job_recover(drv, jobid, NULL, err) < 0)
		return -1;
	/* After the VMs: a pin removed before its VM would leave the guest unpinned. */
	if (cfg->network.pin && xvm_netpin_remove(jobid, err) < 0)
		return -1;
	release_address(cfg, jobid);
	return release_vfs(cfg, node, jobid, err);
}

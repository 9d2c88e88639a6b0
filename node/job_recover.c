/*
 * job_recover.c - xvm_job_recover (jobvm.h): a job's VMs found by name, killed.
 *
 * Processes carry the job id in their names (vm/driver.h), so this needs no state directory:
 * it is how the Epilog finds what a crash left, after the directory is gone or when the orderly
 * stop failed.
 */
#include "node/jobvm.h"

#include <errno.h>
#include <inttypes.h>

#include "lib/log.h"

#define RECOVER_BATCH 16

int xvm_job_recover(const struct xvm_driver *drv, uint32_t jobid, unsigned *killed,
                    struct xerr *err)
{
	struct xvm_info found[RECOVER_BATCH];
	struct xerr e;
	int n, rc = 0, saved = 0;

	if (killed)
		*killed = 0;
	n = drv->list_job(jobid, found, RECOVER_BATCH, &e);
	if (n < 0)
		return xerr_set(err, "job %" PRIu32 ": listing its VMs: %s", jobid, e.msg);
	/* More than a batch: the rest is reported as surviving; the Epilog's next run gets them. */
	for (int i = 0; i < n; i++) {
		if (i >= RECOVER_BATCH) {
			saved = EBUSY;
			rc = xerr_set(err, "job %" PRIu32 ": %d VMs found, %d killed", jobid, n,
			              RECOVER_BATCH);
			break;
		}
		xwarn("job %" PRIu32 ": VM %s (pid %d) still running: killing it", jobid,
		      found[i].name, (int)found[i].pid);
		if (drv->kill_info(&found[i], &e) < 0) {
			if (!saved) {
				saved = errno;
				xerr_set(err, "job %" PRIu32 ": cannot kill VM %s: %s", jobid,
				         found[i].name, e.msg);
			}
			rc = -1;
			continue;
		}
		if (killed)
			(*killed)++;
	}
	if (rc < 0)
		errno = saved;
	return rc;
}

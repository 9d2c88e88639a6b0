/*
 * ctx_slurmstepd.c - slurmstepd (S_CTX_REMOTE): the job's tasks on a node.
 *
 * user_init reads what the Prolog recorded for the job on this node.  Slurm does not send errors
 * from user_init back to srun, so a problem found there is kept and raised again in task_init,
 * where it fails the task with the reason on the user's stderr.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_path.h"
#include "log.h"
#include "xspank.h"

static char *pending_error;

static void set_pending(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_pending(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(pending_error);
	pending_error = strdup(buf);
}

int xspank_slurmstepd_user_init(spank_t sp)
{
	char path[PATH_MAX];
	struct xenvm_config *cfg = NULL;
	struct xerr err;
	uint32_t jobid = 0;
	spank_err_t rc;

	rc = spank_get_item(sp, S_JOB_ID, &jobid);
	if (rc != ESPANK_SUCCESS) {
		xerror("cannot get the job id: %s", spank_strerror(rc));
		return -1;
	}
	if (!xenvm_config_path(xspank.args.config, path, sizeof(path)) ||
	    xenvm_config_load(path, true, &cfg, &err) < 0) {
		/* Only a VM job needs the configuration; remember the fault for task_init. */
		set_pending("site configuration: %s", err.msg);
		return 0;
	}
	if (xenvm_job_record_read(cfg->state_dir, jobid, &xspank.job, &err) == 0)
		xspank.have_job = true;
	else if (errno != ENOENT)
		set_pending("%s", err.msg);
	xenvm_config_free(cfg);
	if (xspank.have_job && xspank.job.error)
		set_pending("VM for job %u on %s: %s", (unsigned)jobid, xspank.job.node,
		            xspank.job.error);
	return 0;
}

int xspank_slurmstepd_task_init(spank_t sp)
{
	/* A job without a VM request runs as it would without this plugin. */
	if (!xspank.have_job && !(pending_error && xspank.opts.have_image))
		return 0;
	if (pending_error) {
		fprintf(stderr, "xenvm: %s\n", pending_error);
		fflush(stderr);
		xerror("%s", pending_error);
		return -1;
	}
	return 0;
}
